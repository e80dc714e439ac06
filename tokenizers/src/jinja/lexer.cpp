#include "jinja/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "jinja/error.h"
#include "unicode.h"

namespace bmx::jinja {

std::vector<Segment> lex_template(const std::string& src) {
  std::vector<Segment> out;
  size_t i = 0, n = src.size();
  int line = 1;
  auto count_lines = [&](size_t a, size_t b) {
    for (size_t k = a; k < b; ++k)
      if (src[k] == '\n') ++line;
  };
  bool strip_next = false;  // a "-" closed the previous tag
  bool trim_newline = false;  // the previous tag was a block/comment (trim_blocks)
  while (i < n) {
    size_t open = src.find('{', i);
    while (open != std::string::npos && open + 1 < n && src[open + 1] != '{' && src[open + 1] != '%' &&
           src[open + 1] != '#')
      open = src.find('{', open + 1);
    if (open == std::string::npos || open + 1 >= n) open = n;
    std::string text = src.substr(i, open - i);
    int text_line = line;
    count_lines(i, open);
    if (strip_next) {
      size_t k = 0;
      while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      text.erase(0, k);
    } else if (trim_newline && !text.empty() && text[0] == '\n') {
      text.erase(0, 1);
    } else if (trim_newline && text.size() >= 2 && text[0] == '\r' && text[1] == '\n') {
      text.erase(0, 2);
    }
    strip_next = trim_newline = false;
    if (open == n) {
      if (!text.empty()) out.push_back({Segment::Text, text, text_line});
      break;
    }
    char kind = src[open + 1];
    size_t body = open + 2;
    bool minus_left = body < n && src[body] == '-';
    bool plus_left = body < n && src[body] == '+';
    if (minus_left || plus_left) ++body;
    if (minus_left) {
      size_t k = text.size();
      while (k > 0 && std::isspace(static_cast<unsigned char>(text[k - 1]))) --k;
      text.resize(k);
    } else if (kind != '{' && !plus_left) {
      // lstrip_blocks: blanks between the start of a line and a block or comment tag are removed.
      size_t k = open;
      while (k > i && (src[k - 1] == ' ' || src[k - 1] == '\t')) --k;
      if (k == 0 || src[k - 1] == '\n') {
        size_t t = text.size();
        while (t > 0 && (text[t - 1] == ' ' || text[t - 1] == '\t')) --t;
        text.resize(t);
      }
    }
    if (!text.empty()) out.push_back({Segment::Text, text, text_line});
    std::string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t end = src.find(close, body);
    if (end == std::string::npos) fail(line, "unclosed '{" + std::string(1, kind) + "'");
    size_t inner_end = end;
    bool minus_right = end > body && src[end - 1] == '-';
    bool plus_right = end > body && src[end - 1] == '+';
    if (minus_right || plus_right) --inner_end;
    int tag_line = line;
    count_lines(open, end + 2);
    if (kind != '#') out.push_back({kind == '{' ? Segment::Expr : Segment::Stmt, src.substr(body, inner_end - body), tag_line});
    i = end + 2;
    if (minus_right) strip_next = true;
    else if (kind != '{' && !plus_right) trim_newline = true;
  }
  return out;
}

namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// An integer or float literal at s[i]; "_" separates digits as in Python. Returns the end.
size_t lex_number(const std::string& s, size_t i, int line, std::vector<Tok>& out) {
  const size_t n = s.size();
  size_t j = i;
  while (j < n && (is_digit(s[j]) || s[j] == '_')) ++j;
  bool is_float = false;
  if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
    is_float = true;
    ++j;
    while (j < n && is_digit(s[j])) ++j;
  }
  if (j < n && (s[j] == 'e' || s[j] == 'E')) {
    size_t k = j + 1;
    if (k < n && (s[k] == '+' || s[k] == '-')) ++k;
    if (k < n && is_digit(s[k])) {
      is_float = true;
      j = k;
      while (j < n && is_digit(s[j])) ++j;
    }
  }
  std::string num;
  for (size_t k = i; k < j; ++k)
    if (s[k] != '_') num += s[k];
  Tok t{is_float ? Tok::Float : Tok::Int, num};
  // Python reads 1e999 as inf; integers are 64-bit here, where Python's have no bound.
  errno = 0;
  if (is_float) t.f = std::strtod(num.c_str(), nullptr);
  else t.i = std::strtoll(num.c_str(), nullptr, 10);
  if (!is_float && errno == ERANGE) fail(line, "integer " + num.substr(0, 30) + " is beyond 64 bits (the limit)");
  out.push_back(t);
  return j;
}

// The \x, \u and \U escapes at s[j] (the letter): appends the code point as UTF-8, returns the last digit.
size_t lex_hex_escape(const std::string& s, size_t j, int line, std::string& v) {
  const char e = s[j];
  size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
  if (j + len >= s.size()) fail(line, "bad escape in string literal");
  uint32_t cp = 0;
  for (size_t d = 1; d <= len; ++d) {
    const char h = s[j + d];
    const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F'   ? h - 'A' + 10 : -1;
    if (digit < 0) fail(line, std::string("bad \\") + e + " escape in string literal: not hex");
    cp = cp * 16 + uint32_t(digit);
  }
  if (cp > 0x10FFFF) fail(line, "bad \\U escape in string literal: beyond U+10FFFF");
  unicode::append_utf8(v, cp);
  return j + len;
}

// A quoted string literal at s[i] with Python's escapes. Returns the end.
size_t lex_string(const std::string& s, size_t i, int line, std::vector<Tok>& out) {
  const size_t n = s.size();
  const char quote = s[i];
  std::string v;
  size_t j = i + 1;
  for (;; ++j) {
    if (j >= n) fail(line, "unterminated string literal");
    if (s[j] == quote) break;
    if (s[j] == '\\' && j + 1 < n) {
      char e = s[++j];
      switch (e) {
        case 'n': v += '\n'; break;
        case 't': v += '\t'; break;
        case 'r': v += '\r'; break;
        case '0': v += '\0'; break;
        case 'b': v += '\b'; break;
        case 'f': v += '\f'; break;
        case '\\': v += '\\'; break;
        case '\'': v += '\''; break;
        case '"': v += '"'; break;
        case 'x': case 'u': case 'U': j = lex_hex_escape(s, j, line, v); break;
        default: v += '\\'; v += e;  // Python keeps unknown escapes
      }
      continue;
    }
    v += s[j];
  }
  out.push_back({Tok::Str, v});
  return j + 1;
}

}  // namespace

std::vector<Tok> lex_expr(const std::string& s, int line) {
  std::vector<Tok> out;
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Tok::Name, s.substr(i, j - i)});
      i = j;
      continue;
    }
    if (is_digit(c)) {
      i = lex_number(s, i, line, out);
      continue;
    }
    if (c == '\'' || c == '"') {
      i = lex_string(s, i, line, out);
      continue;
    }
    static const char* ops2[] = {"==", "!=", "<=", ">=", "//", "**"};
    bool two = false;
    for (const char* op : ops2)
      if (s.compare(i, 2, op) == 0) {
        out.push_back({Tok::Op, op});
        i += 2;
        two = true;
        break;
      }
    if (two) continue;
    if (std::string("()[]{}.,:|+-*/%~<>=!").find(c) != std::string::npos) {
      out.push_back({Tok::Op, std::string(1, c)});
      ++i;
      continue;
    }
    fail(line, std::string("unexpected character '") + c + "'");
  }
  out.push_back({Tok::End, ""});
  return out;
}

}  // namespace bmx::jinja
