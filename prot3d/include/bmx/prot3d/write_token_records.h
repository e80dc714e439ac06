// Token records as `bmx prot encode` writes them: one JSON line per chain, and BioMatrix's vq_indices.csv.
// read_token_records reads both back.
#pragma once
#include <string>

#include "bmx/prot3d/token_record.h"

namespace bmx::prot3d {

// One JSON object, keys in this order: id, file, chain, pid, sequence, tokens, residues ("52", "52A"), aa and
// struct (the wrapped BioMatrix segments), length (graph positions), imputed (positions without a token),
// untokenized ("185 MSE", "101 gap"), windows, and notes when there are any. No newline.
std::string token_record_json(const TokenRecord& record);

// vq_indices.csv: the header line, and one row per record (pid, space-separated codes, sequence). With newlines.
std::string vq_indices_csv_header();
std::string vq_indices_csv_row(const TokenRecord& record);

}  // namespace bmx::prot3d
