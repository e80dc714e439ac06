// The text forms of protein tokens in BioMatrix (specs/biomatrix_format.md §2-3): the residue segment
// <|prot_aa_start|><A M><A K>...<|prot_aa_end|> and the structure segment <|prot_3d_start|><S 12>...<|prot_3d_end|>
// (tokens and markers as bmx/tokenizers/modality.h reads and writes them), plus the looser forms people type.
#pragma once
#include <string>
#include <vector>

namespace bmx::prot3d {

std::string format_aa_segment(const std::string& sequence);
std::string format_struct_segment(const std::vector<int>& tokens);

// Structure codes from any of: "<|prot_3d_start|><S 1><S 2><|prot_3d_end|>", "<S 1><S 2>", "1 2 3", "1,2,3",
// "[1, 2, 3]". Throws InputError (naming `where`) on anything else, or a code outside [0, codebook_size).
std::vector<int> parse_struct_tokens(const std::string& text, int codebook_size = 4096, const std::string& where = {});
// Residue letters from "<|prot_aa_start|><A M>...<|prot_aa_end|>", "<A M><A K>" or plain "MK..." (upper-cased).
std::string parse_aa_sequence(const std::string& text, const std::string& where = {});

}  // namespace bmx::prot3d
