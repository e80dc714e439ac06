// The MolStrucTok token string: `[SYMBOL code]` per SELFIES symbol (code -1 for symbols that create no atom),
// '.' between fragments, optionally wrapped in <|mol_3d_start|> ... <|mol_3d_end|> (spec molstructok.md §1).
#pragma once
#include <string>
#include <vector>

namespace bmx::mol3d {

inline constexpr const char* kMol3dStart = "<|mol_3d_start|>";
inline constexpr const char* kMol3dEnd = "<|mol_3d_end|>";

struct StructToken {
  std::string symbol;          // SELFIES symbol with brackets, e.g. "[=N]"
  int code = -1;               // -1: creates no atom
  std::size_t offset = 0;      // character offset of '[' in the input (0-based)
  bool starts_fragment = false;  // a '.' precedes it
};

// Parses a bare or wrapped token string. Whitespace between tokens is allowed; anything else outside the
// tokens (other than one wrapper pair and '.') is an error. Throws InputError with a one-line message naming
// the problem, the token number (1-based) and character position: empty string, unbalanced bracket, empty
// token, missing or non-integer code, extra fields, code outside -1..max_code.
std::vector<StructToken> parse_struct_tokens(const std::string& text, int max_code = 511);

// The SELFIES string of parsed tokens (symbols concatenated, '.' kept).
std::string selfies_of(const std::vector<StructToken>& tokens);

// "[C 12]": symbol given with or without brackets.
std::string format_struct_token(const std::string& symbol, int code);

// Text for error messages: "token 3 '[=N -1]' (character 12)".
std::string describe_token(const std::vector<StructToken>& tokens, std::size_t index);

}  // namespace bmx::mol3d
