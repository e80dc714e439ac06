// The Unicode pieces the tokenizer needs: UTF-8 decoding, \p{L} / \p{N} / \s classes, NFC.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace bmx::unicode {

// Decodes one code point at s[i] and advances i. Invalid bytes decode as U+FFFD, one byte each (input
// text is expected to be valid UTF-8; this only keeps the scanner total).
inline uint32_t next_cp(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[i];
  if (c < 0x80) { ++i; return c; }
  size_t n = s.size();
  if (c >= 0xC2 && c < 0xE0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
    uint32_t cp = ((c & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
    i += 2; return cp;
  }
  if (c >= 0xE0 && c < 0xF0 && i + 2 < n && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
    uint32_t cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) { i += 3; return cp; }
  }
  if (c >= 0xF0 && c < 0xF5 && i + 3 < n && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80 &&
      (p[i + 3] & 0xC0) == 0x80) {
    uint32_t cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) | (p[i + 3] & 0x3Fu);
    if (cp >= 0x10000 && cp < 0x110000) { i += 4; return cp; }
  }
  ++i;
  return 0xFFFD;
}

void append_utf8(std::string& out, uint32_t cp);

// Regex classes of the pre-tokenizer.
enum Class : uint8_t { Other = 0, Letter = 1, Number = 2 };
Class char_class(uint32_t cp);
// Unicode White_Space (what \s matches in Oniguruma and Rust regex).
bool is_whitespace(uint32_t cp);

// Unicode Normalization Form C. Text without any code point that NFC can touch is returned unchanged
// cheaply (the common case).
bool may_change_under_nfc(std::string_view s);
std::string nfc(std::string_view s);

// Replaces each maximal invalid UTF-8 subsequence with one U+FFFD (Rust from_utf8_lossy / WHATWG).
std::string utf8_lossy(std::string_view bytes);

}  // namespace bmx::unicode
