// The Qwen2 pre-tokenizer split, written out as a scanner instead of a regex engine:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Alternatives are tried in order at each position, as a backtracking engine (Oniguruma) does. Every
// character is matched by some alternative, so the matches tile the text (the Isolated split behaviour).
#pragma once
#include <string_view>

namespace bmx::pretok {

// The pattern string in tokenizer.json this scanner implements.
extern const char* const qwen2_pattern;

// Byte length of the match starting at s[pos] (pos < s.size()).
size_t qwen2_match(std::string_view s, size_t pos);

}  // namespace bmx::pretok
