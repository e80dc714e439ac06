#include "bmx/prot3d/write_token_records.h"

#include <nlohmann/json.hpp>

#include "bmx/prot3d/structure_writer.h"
#include "bmx/prot3d/token_text.h"

namespace bmx::prot3d {

std::string token_record_json(const TokenRecord& r) {
  using ojson = nlohmann::ordered_json;  // keys in the order written: id and chain first
  ojson residues = ojson::array(), untokenized = ojson::array();
  for (const ResidueId& id : r.residues) residues.push_back(to_string(id));
  for (const UntokenizedPosition& u : r.untokenized)
    untokenized.push_back(to_string(u.residue) + " " + (u.name.empty() ? std::string("gap") : u.name));
  ojson j;
  j["id"] = r.id;
  j["file"] = r.file;
  j["chain"] = r.chain;
  j["pid"] = protein_id(r.id, r.chain);
  j["sequence"] = r.sequence;
  j["tokens"] = r.tokens;
  j["residues"] = residues;
  // The input's residue names, only where one is not the standard name of its letter (NLE, HIP, MSE as ATOM...):
  // decoding writes them instead of UNK.
  bool nonstandard = false;
  for (std::size_t i = 0; i < r.names.size() && i < r.sequence.size(); ++i)
    nonstandard |= !r.names[i].empty() && r.names[i] != three_letter_code(r.sequence[i]);
  if (nonstandard && r.names.size() == r.tokens.size()) j["residue_names"] = r.names;
  j["aa"] = format_aa_segment(r.sequence);
  j["struct"] = format_struct_segment(r.tokens);
  j["length"] = r.positions;
  j["imputed"] = r.positions - r.tokens.size();
  j["untokenized"] = untokenized;
  j["windows"] = r.windows;
  if (!r.notes.empty()) j["notes"] = r.notes;
  return j.dump();
}

std::string vq_indices_csv_header() { return "pid,indices,protein_sequence\n"; }

std::string vq_indices_csv_row(const TokenRecord& r) {
  std::string row = protein_id(r.id, r.chain) + ",";
  for (std::size_t i = 0; i < r.tokens.size(); ++i) row += (i ? " " : "") + std::to_string(r.tokens[i]);
  return row + "," + r.sequence + "\n";
}

}  // namespace bmx::prot3d
