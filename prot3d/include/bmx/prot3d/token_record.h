// One protein chain as GCP-VQVAE structure tokens: what `bmx prot encode` writes per chain and what decoding reads
// back, with enough of the chain (sequence, residue ids) to write the decoded structure like the original.
// Reading: read_token_records.h; writing: write_token_records.h.
#pragma once
#include <string>
#include <vector>

#include "bmx/prot3d/backbone.h"
#include "bmx/prot3d/encoding.h"
#include "bmx/prot3d/residue_id.h"

namespace bmx::prot3d {

// A graph position that got no token (spec §1 step 12).
struct UntokenizedPosition {
  ResidueId residue;
  std::string name;  // the HETATM or partial residue that sat there (e.g. "MSE"); empty for a numbering gap
};

struct TokenRecord {
  std::string id;        // structure id (file stem or entry id)
  std::string chain;     // chain name as in the file; empty for a blank chain id
  std::string file;      // the structure file it was encoded from; empty when unknown
  std::vector<int> tokens;            // one code per tokenized residue, in chain order
  std::string sequence;               // one letter per token; empty when unknown
  std::vector<ResidueId> residues;    // author id of each token's residue; empty when unknown
  std::vector<std::string> names;     // 3-letter name of each token's residue as in the input (NLE, HIP, ...);
                                      // empty when unknown (names then follow the sequence's letters)
  std::size_t positions = 0;          // graph positions after gap filling: tokens + untokenized (0: unknown)
  std::vector<UntokenizedPosition> untokenized;
  int windows = 1;                    // encoder windows (bmx prot encode --window)
  std::vector<std::string> notes;     // what the reader said about the chain (HETATM amino acids, imputed residues)

  // Set by read_token_records: the record's place ("file:line") for messages, and why it could not be read
  // (a complete message naming the place; the other fields are then unset).
  std::string where, error;
  bool ok() const { return error.empty(); }
};

// The record of an encoded chain: its tokens with the letters and author ids of their residues.
TokenRecord token_record(const BackboneChain& chain, const Encoding& encoding);

// BioMatrix's protein id in vq_indices.csv: "1abc_chain_id_A" ("_" for a blank chain id).
std::string protein_id(const std::string& id, const std::string& chain);

// The decoded backbone as a chain to write: the record's id and chain, residues numbered by the record's ids
// (else 1..n) and named by its sequence (else X, written UNK). Decoded chains have no imputed positions. Throws
// InputError when the sequence or the ids do not number one per token (the caller names the record).
BackboneChain decoded_chain(const TokenRecord& record, const Decoding& decoding);

}  // namespace bmx::prot3d
