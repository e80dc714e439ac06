// Token records from text in any of the forms BioMatrix users have: JSON lines of `bmx prot encode`, BioMatrix's
// vq_indices.csv (pid, indices, protein_sequence), or one record of bare codes or <S n> tokens, wrapped or not,
// with an optional <|prot_aa_start|>...<|prot_aa_end|> segment naming the residues.
#pragma once
#include <string>
#include <vector>

#include "bmx/prot3d/token_record.h"

namespace bmx::prot3d {

// Records in input order. A record that cannot be read (not JSON, no tokens, a code outside [0, codebook_size), a
// letter that is not a residue) comes back with `error` set, naming `where` and its line, and the others are read. Throws InputError only when the text as a whole is unusable (a CSV without an indices or pid column).
// Records without an id are "decoded", without a chain "A".
std::vector<TokenRecord> read_token_records(const std::string& text, const std::string& where, int codebook_size);

}  // namespace bmx::prot3d
