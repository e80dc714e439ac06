#include "bmx/mol3d/struct_tokens.h"

#include <cctype>
#include <optional>
#include <string_view>

#include "bmx/core/util/error.h"

namespace bmx::mol3d {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string quote(const std::string& s, std::size_t max = 40) {
  return "'" + (s.size() > max ? s.substr(0, max) + "..." : s) + "'";
}

[[noreturn]] void fail_at(std::size_t token, std::size_t pos, const std::string& msg) {
  throw InputError("struct_sfi token " + std::to_string(token) + " (character " + std::to_string(pos + 1) +
                   "): " + msg);
}

// `code` and `whole` (the token) are views: strings are built only for the message.
void check_code(long long value, std::string_view code, std::string_view whole, std::size_t number,
                std::size_t pos, int max_code) {
  if (value < -1 || value > max_code)
    fail_at(number, pos, "code " + std::string(code) + " of " + quote(std::string(whole)) + " is outside 0.." +
                             std::to_string(max_code) + " (-1 marks symbols that create no atom)");
}

// A token that is not in the exact form (match_mol3d_token): split on whitespace, so that "[C  1]", "[C +1]" or
// "[C 01]" still decode and a broken token gets a message saying what is wrong with it. `close` is its ']'.
StructToken lenient_token(const std::string& text, std::size_t i, std::size_t close, std::size_t number,
                          int max_code) {
  // Fields split on whitespace, as views; strings are built only for error messages.
  std::string_view inner = std::string_view(text).substr(i + 1, close - i - 1);
  std::string_view field[3];
  std::size_t nfields = 0;
  for (std::size_t k = 0; k < inner.size();) {
    while (k < inner.size() && is_space(inner[k])) ++k;
    std::size_t s0 = k;
    while (k < inner.size() && !is_space(inner[k])) ++k;
    if (k > s0) {
      if (nfields < 3) field[nfields] = inner.substr(s0, k - s0);
      ++nfields;
    }
  }
  auto whole = [&] { return text.substr(i, close - i + 1); };
  if (nfields == 0) fail_at(number, i, "empty token " + quote(whole()));
  if (nfields == 1) fail_at(number, i, "token " + quote(whole()) + " has no code (expected [SYMBOL code])");
  if (nfields > 2)
    fail_at(number, i, "token " + quote(whole()) + " has " + std::to_string(nfields) +
                           " fields (expected [SYMBOL code])");
  const std::string_view f = field[1];
  std::size_t k = 0;
  bool negative = false;
  if (f[0] == '-' || f[0] == '+') {
    negative = f[0] == '-';
    k = 1;
  }
  if (k == f.size()) fail_at(number, i, "code " + quote(std::string(f)) + " of " + quote(whole()) + " is not an integer");
  long long value = 0;
  for (; k < f.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(f[k])))
      fail_at(number, i, "code " + quote(std::string(f)) + " of " + quote(whole()) + " is not an integer");
    if (value < 1000000000) value = value * 10 + (f[k] - '0');
  }
  if (negative) value = -value;
  check_code(value, f, whole(), number, i, max_code);
  StructToken t;
  t.symbol.reserve(field[0].size() + 2);
  t.symbol += '[';
  t.symbol += field[0];
  t.symbol += ']';
  t.code = int(value);
  return t;
}

}  // namespace

std::vector<StructToken> parse_struct_tokens(const std::string& text, int max_code) {
  std::vector<StructToken> tokens;
  const std::size_t n = text.size();
  const std::string_view start = start_marker(Modality::mol3d), end = end_marker(Modality::mol3d);
  std::size_t i = 0;
  bool wrapped = false, closed = false, dot = false;
  while (i < n) {
    char c = text[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    std::size_t number = tokens.size() + 1;
    if (closed) fail_at(number, i, "text after " + kMol3dEnd + ": " + quote(text.substr(i)));
    if (start_marker_at(text, i) == Modality::mol3d) {
      if (wrapped || !tokens.empty()) fail_at(number, i, kMol3dStart + " not at the start");
      wrapped = true;
      i += start.size();
      continue;
    }
    if (end_marker_at(text, i) == Modality::mol3d) {
      if (!wrapped) fail_at(number, i, kMol3dEnd + " without " + kMol3dStart);
      if (dot) fail_at(number, i, "'.' at the end (a fragment separator needs a fragment after it)");
      closed = true;
      i += end.size();
      continue;
    }
    if (c == '.') {
      if (tokens.empty()) fail_at(number, i, "'.' before the first token (a fragment separator needs a fragment before it)");
      if (dot) fail_at(number, i, "two '.' in a row (empty fragment)");
      dot = true;
      ++i;
      continue;
    }
    if (c == ']') fail_at(number, i, "unbalanced ']'");
    if (c != '[') fail_at(number, i, "unexpected text " + quote(text.substr(i, 20)) + " outside [SYMBOL code] tokens");
    StructToken t;
    std::size_t next;
    if (std::optional<Mol3dToken> m = match_mol3d_token(text, i)) {
      const std::size_t code_at = i + 2 + m->symbol.size();  // after '[', the symbol and the space
      check_code(m->code, std::string_view(text).substr(code_at, i + m->length - 1 - code_at),
                 std::string_view(text).substr(i, m->length), number, i, max_code);
      t.symbol.reserve(m->symbol.size() + 2);
      t.symbol += '[';
      t.symbol += m->symbol;
      t.symbol += ']';
      t.code = m->code;
      next = i + m->length;
    } else {
      std::size_t close = i + 1;
      while (close < n && text[close] != ']' && text[close] != '[') ++close;
      if (close >= n || text[close] != ']')
        fail_at(number, i, "unbalanced '[': " + quote(text.substr(i, close - i)) + " is not closed by ']'");
      t = lenient_token(text, i, close, number, max_code);
      next = close + 1;
    }
    t.offset = i;
    t.starts_fragment = dot;
    dot = false;
    tokens.push_back(std::move(t));
    i = next;
  }
  if (wrapped && !closed) fail_at(tokens.size() + 1, n, kMol3dStart + " without " + kMol3dEnd);
  if (dot) fail_at(tokens.size() + 1, n, "'.' at the end (a fragment separator needs a fragment after it)");
  if (tokens.empty())
    throw InputError(text.empty() ? "empty struct_sfi: no [SYMBOL code] tokens"
                                  : "struct_sfi " + quote(text) + " has no [SYMBOL code] tokens");
  return tokens;
}

std::string selfies_of(const std::vector<StructToken>& tokens) {
  std::string s;
  for (const StructToken& t : tokens) {
    if (t.starts_fragment) s += '.';
    s += t.symbol;
  }
  return s;
}

std::string describe_token(const std::vector<StructToken>& tokens, std::size_t index) {
  const StructToken& t = tokens[index];
  return "struct_sfi token " + std::to_string(index + 1) + " (character " + std::to_string(t.offset + 1) + ") '" +
         mol3d_token(t.symbol, t.code) + "'";
}

}  // namespace bmx::mol3d
