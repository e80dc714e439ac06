// The MolStrucTok token string: `[SYMBOL code]` per SELFIES symbol (code -1 for symbols that create no atom),
// '.' between fragments, optionally wrapped in <|mol_3d_start|> ... <|mol_3d_end|> (spec molstructok.md §1).
#pragma once
#include <string>
#include <vector>

#include "bmx/tokenizers/modality.h"

namespace bmx::mol3d {

// The segment markers as strings (modality.h holds them; these are for concatenation).
inline const std::string kMol3dStart{start_marker(Modality::mol3d)};
inline const std::string kMol3dEnd{end_marker(Modality::mol3d)};

struct StructToken {
  std::string symbol;          // SELFIES symbol with brackets, e.g. "[=N]"
  int code = -1;               // -1: creates no atom
  std::size_t offset = 0;      // character offset of '[' in the input (0-based)
  bool starts_fragment = false;  // a '.' precedes it
};

// Parses a bare or wrapped token string (tokens as modality.h matches them; it also writes them: mol3d_token).
// Whitespace between tokens is allowed, and inside a token around the fields; anything else outside the
// tokens (other than one wrapper pair and '.') is an error. Throws InputError with a one-line message naming
// the problem, the token number (1-based) and character position: empty string, unbalanced bracket, empty
// token, missing or non-integer code, extra fields, code outside -1..max_code.
std::vector<StructToken> parse_struct_tokens(const std::string& text, int max_code = 511);

// The SELFIES string of parsed tokens (symbols concatenated, '.' kept).
std::string selfies_of(const std::vector<StructToken>& tokens);

// Text for error messages: "token 3 '[=N -1]' (character 12)".
std::string describe_token(const std::vector<StructToken>& tokens, std::size_t index);

}  // namespace bmx::mol3d
