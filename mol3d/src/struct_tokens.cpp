#include "bmx/mol3d/struct_tokens.h"

#include <cctype>
#include <cstring>

#include "bmx/core/error.h"

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

}  // namespace

std::vector<StructToken> parse_struct_tokens(const std::string& text, int max_code) {
  std::vector<StructToken> tokens;
  const std::size_t n = text.size();
  const std::size_t ls = std::strlen(kMol3dStart), le = std::strlen(kMol3dEnd);
  std::size_t i = 0;
  bool wrapped = false, closed = false, dot = false;
  while (i < n) {
    char c = text[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    std::size_t number = tokens.size() + 1;
    if (closed) fail_at(number, i, "text after " + std::string(kMol3dEnd) + ": " + quote(text.substr(i)));
    if (text.compare(i, ls, kMol3dStart) == 0) {
      if (wrapped || !tokens.empty()) fail_at(number, i, std::string(kMol3dStart) + " not at the start");
      wrapped = true;
      i += ls;
      continue;
    }
    if (text.compare(i, le, kMol3dEnd) == 0) {
      if (!wrapped) fail_at(number, i, std::string(kMol3dEnd) + " without " + kMol3dStart);
      if (dot) fail_at(number, i, "'.' at the end (a fragment separator needs a fragment after it)");
      closed = true;
      i += le;
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
    std::size_t close = i + 1;
    while (close < n && text[close] != ']' && text[close] != '[') ++close;
    if (close >= n || text[close] != ']')
      fail_at(number, i, "unbalanced '[': " + quote(text.substr(i, close - i)) + " is not closed by ']'");
    std::string inner = text.substr(i + 1, close - i - 1);
    std::string whole = text.substr(i, close - i + 1);
    // Split on whitespace.
    std::vector<std::string> fields;
    for (std::size_t k = 0; k < inner.size();) {
      while (k < inner.size() && is_space(inner[k])) ++k;
      std::size_t s = k;
      while (k < inner.size() && !is_space(inner[k])) ++k;
      if (k > s) fields.push_back(inner.substr(s, k - s));
    }
    if (fields.empty()) fail_at(number, i, "empty token " + quote(whole));
    if (fields.size() == 1) fail_at(number, i, "token " + quote(whole) + " has no code (expected [SYMBOL code])");
    if (fields.size() > 2)
      fail_at(number, i, "token " + quote(whole) + " has " + std::to_string(fields.size()) +
                             " fields (expected [SYMBOL code])");
    const std::string& f = fields[1];
    std::size_t k = 0;
    bool negative = false;
    if (f[0] == '-' || f[0] == '+') {
      negative = f[0] == '-';
      k = 1;
    }
    if (k == f.size()) fail_at(number, i, "code " + quote(f) + " of " + quote(whole) + " is not an integer");
    long long value = 0;
    for (; k < f.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(f[k])))
        fail_at(number, i, "code " + quote(f) + " of " + quote(whole) + " is not an integer");
      if (value < 1000000000) value = value * 10 + (f[k] - '0');
    }
    if (negative) value = -value;
    if (value < -1 || value > max_code)
      fail_at(number, i, "code " + f + " of " + quote(whole) + " is outside 0.." + std::to_string(max_code) +
                             " (-1 marks symbols that create no atom)");
    StructToken t;
    t.symbol = "[" + fields[0] + "]";
    t.code = int(value);
    t.offset = i;
    t.starts_fragment = dot;
    dot = false;
    tokens.push_back(std::move(t));
    i = close + 1;
  }
  if (wrapped && !closed) fail_at(tokens.size() + 1, n, std::string(kMol3dStart) + " without " + kMol3dEnd);
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

std::string format_struct_token(const std::string& symbol, int code) {
  std::size_t b = !symbol.empty() && symbol.front() == '[' ? 1 : 0;
  std::size_t e = symbol.size() > b && symbol.back() == ']' ? symbol.size() - 1 : symbol.size();
  std::string s = "[";
  s.append(symbol, b, e - b);
  s += ' ';
  s += std::to_string(code);
  s += ']';
  return s;
}

std::string describe_token(const std::vector<StructToken>& tokens, std::size_t index) {
  const StructToken& t = tokens[index];
  return "struct_sfi token " + std::to_string(index + 1) + " (character " + std::to_string(t.offset + 1) + ") '" +
         format_struct_token(t.symbol, t.code) + "'";
}

}  // namespace bmx::mol3d
