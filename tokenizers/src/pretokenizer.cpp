#include "pretokenizer.h"

#include "unicode.h"

namespace bmx::pretok {

const char* const qwen2_pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

// ASCII flags: letter, number, whitespace.
enum : uint8_t { L = 1, N = 2, S = 4 };
struct AsciiTable {
  uint8_t f[128] = {};
  constexpr AsciiTable() {
    for (int c = 'a'; c <= 'z'; ++c) f[c] = L;
    for (int c = 'A'; c <= 'Z'; ++c) f[c] = L;
    for (int c = '0'; c <= '9'; ++c) f[c] = N;
    for (int c = 9; c <= 13; ++c) f[c] = S;
    f[' '] = S;
  }
};
constexpr AsciiTable ascii;

struct Cp {
  uint32_t cp;
  uint8_t flags;
  uint8_t len;
};

inline Cp at(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, ascii.f[c], 1};
  size_t j = i;
  uint32_t cp = unicode::next_cp(s, j);
  auto cls = unicode::char_class(cp);
  uint8_t f = cls == unicode::Letter ? L : cls == unicode::Number ? N : 0;
  if (unicode::is_whitespace(cp)) f |= S;
  return {cp, f, uint8_t(j - i)};
}

inline size_t letters_from(std::string_view s, size_t i) {
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (!(ascii.f[c] & L)) break;
      ++i;
      continue;
    }
    Cp x = at(s, i);
    if (!(x.flags & L)) break;
    i += x.len;
  }
  return i;
}

inline bool is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// The case-insensitive forms of the contraction letters (Unicode simple case folding adds U+017F for s).
inline char fold(uint32_t cp) {
  if (cp < 0x80) return char(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
  return cp == 0x17F ? 's' : 0;
}

}  // namespace

size_t qwen2_match(std::string_view s, size_t pos) {
  const size_t n = s.size();
  Cp c0 = at(s, pos);
  size_t p1 = pos + c0.len;

  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c0.cp == '\'' && p1 < n) {
    Cp c1 = at(s, p1);
    char a = fold(c1.cp);
    size_t p2 = p1 + c1.len;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return p2;
    if ((a == 'r' || a == 'v' || a == 'l') && p2 < n) {
      Cp c2 = at(s, p2);
      char b = fold(c2.cp);
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p2 + c2.len;
    }
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.flags & L) return letters_from(s, p1);
  if (!(c0.flags & N) && !is_crlf(c0.cp) && p1 < n) {
    Cp c1 = at(s, p1);
    if (c1.flags & L) return letters_from(s, p1 + c1.len);
  }
  // \p{N}
  if (c0.flags & N) return p1;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t q = SIZE_MAX;
  if (!(c0.flags & (L | N | S))) {
    q = p1;
  } else if (c0.cp == ' ' && p1 < n) {
    Cp c1 = at(s, p1);
    if (!(c1.flags & (L | N | S))) q = p1 + c1.len;
  }
  if (q != SIZE_MAX) {
    while (q < n) {
      Cp c = at(s, q);
      if (c.flags & (L | N | S)) break;
      q += c.len;
    }
    while (q < n && (s[q] == '\r' || s[q] == '\n')) ++q;
    return q;
  }
  // c0 is whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
  size_t end = pos, last_crlf_end = 0, last_start = pos;
  while (end < n) {
    Cp c = at(s, end);
    if (!(c.flags & S)) break;
    last_start = end;
    end += c.len;
    if (is_crlf(c.cp)) last_crlf_end = end;
  }
  if (last_crlf_end) return last_crlf_end;
  if (end == n) return end;
  if (last_start > pos) return last_start;  // leave the last space to the word that follows
  return end;
}

}  // namespace bmx::pretok
