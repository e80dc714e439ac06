#include "bmx/prot3d/token_text.h"

#include <cctype>
#include <regex>

#include "bmx/core/error.h"

namespace bmx::prot3d {
namespace {

const std::string kAaStart = "<|prot_aa_start|>", kAaEnd = "<|prot_aa_end|>";
const std::string k3dStart = "<|prot_3d_start|>", k3dEnd = "<|prot_3d_end|>";

void erase_all(std::string& s, const std::string& what) {
  for (std::size_t p; (p = s.find(what)) != std::string::npos;) s.replace(p, what.size(), " ");
}

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw InputError(where.empty() ? msg : where + ": " + msg);
}

}  // namespace

std::string format_aa_segment(const std::string& sequence) {
  std::string s = kAaStart;
  for (char c : sequence) {
    s += "<A ";
    s += c;
    s += '>';
  }
  return s + kAaEnd;
}

std::string format_struct_segment(const std::vector<int>& tokens) {
  std::string s = k3dStart;
  for (int t : tokens) s += "<S " + std::to_string(t) + ">";
  return s + k3dEnd;
}

std::vector<int> parse_struct_tokens(const std::string& text, int codebook_size, const std::string& where) {
  std::string s = text;
  erase_all(s, k3dStart);
  erase_all(s, k3dEnd);
  std::vector<int> out;
  const bool wrapped = s.find("<S ") != std::string::npos;
  std::size_t i = 0;
  auto code = [&](long v, std::size_t at) {
    if (v < 0 || v >= codebook_size)
      fail(where, "structure code " + std::to_string(v) + " at character " + std::to_string(at) + " is outside 0.." +
                      std::to_string(codebook_size - 1));
    out.push_back(static_cast<int>(v));
  };
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c) || (!wrapped && (c == ',' || c == '[' || c == ']'))) {
      ++i;
      continue;
    }
    if (wrapped) {
      static const std::regex tok("<S (-?[0-9]+)>");
      std::smatch m;
      const std::string rest = s.substr(i, 16);
      if (!std::regex_search(rest, m, tok, std::regex_constants::match_continuous))
        fail(where, "expected <S n> at character " + std::to_string(i) + ": '" + s.substr(i, 12) + "'");
      code(std::stol(m[1]), i);
      i += m.length(0);
    } else {
      std::size_t j = i;
      if (s[j] == '-') ++j;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j == i || (s[i] == '-' && j == i + 1))
        fail(where, "expected a structure code at character " + std::to_string(i) + ": '" + s.substr(i, 12) + "'");
      if (j - i > 9) fail(where, "number too long at character " + std::to_string(i));
      code(std::stol(s.substr(i, j - i)), i);
      i = j;
    }
  }
  if (out.empty()) fail(where, "no structure tokens");
  return out;
}

std::string parse_aa_sequence(const std::string& text, const std::string& where) {
  std::string s = text;
  erase_all(s, kAaStart);
  erase_all(s, kAaEnd);
  std::string seq;
  if (s.find("<A ") != std::string::npos) {
    static const std::regex tok("<A ([A-Za-z])>");
    std::size_t i = 0;
    while (i < s.size()) {
      if (std::isspace(static_cast<unsigned char>(s[i]))) { ++i; continue; }
      std::smatch m;
      const std::string rest = s.substr(i, 5);
      if (!std::regex_search(rest, m, tok, std::regex_constants::match_continuous))
        fail(where, "expected <A X> at character " + std::to_string(i));
      seq += static_cast<char>(std::toupper(static_cast<unsigned char>(m.str(1)[0])));
      i += 5;
    }
  } else {
    for (char c : s) {
      if (std::isspace(static_cast<unsigned char>(c))) continue;
      if (!std::isalpha(static_cast<unsigned char>(c))) fail(where, std::string("not a residue letter: '") + c + "'");
      seq += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  if (seq.empty()) fail(where, "empty sequence");
  return seq;
}

}  // namespace bmx::prot3d
