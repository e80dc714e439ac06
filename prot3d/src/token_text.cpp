#include "bmx/prot3d/token_text.h"

#include <cctype>
#include <string_view>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/modality.h"

namespace bmx::prot3d {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Length of m's start or end marker at pos, else 0. Markers may stand anywhere in the input and are skipped
// like whitespace (a record may hold the wrapped segment, a bare one, or pieces of both).
std::size_t marker_at(std::string_view s, std::size_t pos, Modality m) {
  if (start_marker_at(s, pos) == m) return start_marker(m).size();
  if (end_marker_at(s, pos) == m) return end_marker(m).size();
  return 0;
}

// End of the integer -?[0-9]+ at pos (pos when there is none).
std::size_t integer_end(std::string_view s, std::size_t pos) {
  std::size_t j = pos < s.size() && s[pos] == '-' ? pos + 1 : pos;
  const std::size_t digits = j;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  return j == digits ? pos : j;
}

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw InputError(where.empty() ? msg : where + ": " + msg);
}

}  // namespace

std::string format_aa_segment(const std::string& sequence) {
  std::string content;
  content.reserve(sequence.size() * 5);
  for (char c : sequence) content += residue_token(c);
  return wrap_segment(Modality::prot_aa, content);
}

std::string format_struct_segment(const std::vector<int>& tokens) {
  std::string content;
  content.reserve(tokens.size() * 8);
  for (int t : tokens) append_structure_token(content, t);
  return wrap_segment(Modality::prot3d, content);
}

std::vector<int> parse_struct_tokens(const std::string& text, int codebook_size, const std::string& where) {
  const std::string_view s = text;
  std::vector<int> out;
  const bool wrapped = s.find("<S ") != std::string_view::npos;
  // `digits` is the number as written (a huge one is reported as given, not as its clamped value).
  auto code = [&](long long v, std::string_view digits, std::size_t at) {
    if (v < 0 || v >= codebook_size)
      fail(where, "structure code " + std::string(digits) + " at character " + std::to_string(at) +
                      " is outside 0.." + std::to_string(codebook_size - 1));
    out.push_back(static_cast<int>(v));
  };
  std::size_t i = 0;
  while (i < s.size()) {
    if (std::size_t m = marker_at(s, i, Modality::prot3d)) {
      i += m;
      continue;
    }
    const char c = s[i];
    if (is_space(c) || (!wrapped && (c == ',' || c == '[' || c == ']'))) {
      ++i;
      continue;
    }
    if (wrapped) {
      if (std::optional<StructureToken> t = match_structure_token(s, i)) {
        code(t->code, s.substr(i + 3, t->length - 4), i);
        i += t->length;
        continue;
      }
      // Beyond the token grammar, "<S 007>" was always read as 7 and "<S -1>" is reported as out of range.
      const std::size_t j = integer_end(s, i + 3);
      if (s.compare(i, 3, "<S ") != 0 || j == i + 3 || j - i - 3 > 12 || j >= s.size() || s[j] != '>')
        fail(where, "expected <S n> at character " + std::to_string(i) + ": '" + std::string(s.substr(i, 12)) + "'");
      code(std::stoll(std::string(s.substr(i + 3, j - i - 3))), s.substr(i + 3, j - i - 3), i);
      i = j + 1;
    } else {
      const std::size_t j = integer_end(s, i);
      if (j == i)
        fail(where, "expected a structure code at character " + std::to_string(i) + ": '" +
                        std::string(s.substr(i, 12)) + "'");
      if (j - i > 9) fail(where, "number too long at character " + std::to_string(i));
      code(std::stoll(std::string(s.substr(i, j - i))), s.substr(i, j - i), i);
      i = j;
    }
  }
  if (out.empty()) fail(where, "no structure tokens");
  return out;
}

std::string parse_aa_sequence(const std::string& text, const std::string& where) {
  const std::string_view s = text;
  const bool tokens = s.find("<A ") != std::string_view::npos;
  std::string seq;
  for (std::size_t i = 0; i < s.size();) {
    if (std::size_t m = marker_at(s, i, Modality::prot_aa)) {
      i += m;
      continue;
    }
    const char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (!tokens) {
      if (!std::isalpha(static_cast<unsigned char>(c))) fail(where, std::string("not a residue letter: '") + c + "'");
      seq += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      ++i;
      continue;
    }
    if (std::optional<char> letter = match_residue_token(s, i)) {
      seq += *letter;
    } else if (s.compare(i, 3, "<A ") == 0 && i + 5 <= s.size() && std::islower(static_cast<unsigned char>(s[i + 3])) &&
               s[i + 4] == '>') {
      seq += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i + 3])));  // "<A m>": read like plain "m"
    } else {
      fail(where, "expected <A X> at character " + std::to_string(i));
    }
    i += 5;
  }
  if (seq.empty()) fail(where, "empty sequence");
  return seq;
}

}  // namespace bmx::prot3d
