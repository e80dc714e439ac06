// The BioMatrix modality tokens (specs/biomatrix_format.md §2-3, vectors/biomatrix/README.md rule 4): the five
// segment kinds, their start/end markers, and the grammar of the tokens inside each segment. This is the one
// place that reads and writes `[SYM code]`, `[SYM]`, `<A X>` and `<S n>`: the segment parser, MolStrucTok's and
// GCP-VQVAE's token text and the constrained decoder all use it.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bmx {

enum class Modality { smiles, selfies, mol3d, prot_aa, prot3d };
inline constexpr int kModalityCount = 5;

const char* to_string(Modality m);                                // "smiles", "selfies", "mol3d", "prot_aa", "prot3d"
std::optional<Modality> modality_from_string(std::string_view s);
std::string_view start_marker(Modality m);                         // "<|mol_3d_start|>"
std::string_view end_marker(Modality m);                           // "<|mol_3d_end|>"
// The modality whose start (or end) marker `text` begins with at `pos`, if any.
std::optional<Modality> start_marker_at(std::string_view text, std::size_t pos);
std::optional<Modality> end_marker_at(std::string_view text, std::size_t pos);
// Chat terminators that end an answer: "<|im_end|>", "<|endoftext|>" (length of the one at pos, or 0).
std::size_t terminator_at(std::string_view text, std::size_t pos);

inline constexpr int kMol3dMaxCode = 511;         // MolStrucTok codebook 0..511; -1 = symbol without an atom
inline constexpr int kProt3dCodebookSize = 4096;  // GCP-VQVAE Large: <S 0>..<S 4095>

// One modality token matched at a position: its length in bytes and what it carries. `in_range` is false
// for a code outside the codebook (the token is still a token: the parser reports code_out_of_range).
struct Mol3dToken {
  std::string_view symbol;  // without brackets: "=N" of "[=N 12]"
  int code = -1;
  bool in_range = true;
  std::size_t length = 0;
};
struct StructureToken {
  int code = 0;             // n of <S n> (clamped to INT_MAX when out of range)
  bool in_range = true;
  std::size_t length = 0;
};

// Greedy matches of rule 4's regular expressions at `pos` (nullopt: no token starts there).
std::optional<Mol3dToken> match_mol3d_token(std::string_view text, std::size_t pos);   // \[([^\[\]\s]+) (-?(0|[1-9][0-9]*))\]
std::size_t match_selfies_symbol(std::string_view text, std::size_t pos);              // \[[^\[\]\s]+\] -> length or 0
std::optional<char> match_residue_token(std::string_view text, std::size_t pos);       // <A ([A-Z])> (5 bytes)
std::optional<StructureToken> match_structure_token(std::string_view text, std::size_t pos);  // <S (0|[1-9][0-9]*)>
bool is_smiles_char(char c);  // A-Z a-z 0-9 ( ) [ ] = # $ : / \ . + - @ % *

// Writers.
std::string mol3d_token(std::string_view symbol, int code);  // symbol with or without brackets -> "[C 12]"
// The same appended to `out` (MolStrucTok writes a token per atom in its encode loop: no temporary strings).
void append_mol3d_token(std::string& out, std::string_view symbol, int code);
std::string residue_token(char letter);                      // "<A M>"
std::string structure_token(int code);                       // "<S 12>"
void append_structure_token(std::string& out, int code);
std::string wrap_segment(Modality m, std::string_view content);  // start marker + content + end marker

}  // namespace bmx
