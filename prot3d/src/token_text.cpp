#include "bmx/prot3d/token_text.h"

#include <cctype>
#include <string_view>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/modality.h"

namespace bmx::prot3d {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw InputError(where.empty() ? msg : where + ": " + msg);
}

// m's start and end markers in the text: each start must be closed by an end before the next start, and an end
// must close a start. Between them the tokens are read as if the markers were whitespace, so a record may hold the
// wrapped segment or a bare one. An unclosed start is what a generation cut off mid-segment leaves: reading it as
// a complete (shorter) chain would be silently wrong, so it is refused with its position.
struct Markers {
  Modality m;
  std::string where;
  std::size_t open = std::string_view::npos;  // position of the start marker not yet closed
  // Length of the marker at pos (0: none), checking the pairing.
  std::size_t at(std::string_view s, std::size_t pos) {
    if (start_marker_at(s, pos) == m) {
      if (open != std::string_view::npos)
        fail(where, std::string(start_marker(m)) + " at character " + std::to_string(pos) + " opens a second segment "
                        "before the one at character " + std::to_string(open) + " is closed by " +
                        std::string(end_marker(m)));
      open = pos;
      return start_marker(m).size();
    }
    if (end_marker_at(s, pos) == m) {
      if (open == std::string_view::npos)
        fail(where, std::string(end_marker(m)) + " at character " + std::to_string(pos) + " has no " +
                        std::string(start_marker(m)) + " before it");
      open = std::string_view::npos;
      return end_marker(m).size();
    }
    return 0;
  }
  void finish() const {
    if (open != std::string_view::npos)
      fail(where, std::string(start_marker(m)) + " at character " + std::to_string(open) + " is never closed by " +
                      std::string(end_marker(m)) + " (a cut-off segment?)");
  }
};

// End of the integer -?[0-9]+ at pos (pos when there is none).
std::size_t integer_end(std::string_view s, std::size_t pos) {
  std::size_t j = pos < s.size() && s[pos] == '-' ? pos + 1 : pos;
  const std::size_t digits = j;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  return j == digits ? pos : j;
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
  Markers markers{Modality::prot3d, where};
  std::size_t i = 0;
  while (i < s.size()) {
    if (std::size_t m = markers.at(s, i)) {
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
  markers.finish();
  if (out.empty()) fail(where, "no structure tokens");
  return out;
}

std::string parse_aa_sequence(const std::string& text, const std::string& where) {
  const std::string_view s = text;
  const bool tokens = s.find("<A ") != std::string_view::npos;
  std::string seq;
  Markers markers{Modality::prot_aa, where};
  for (std::size_t i = 0; i < s.size();) {
    if (std::size_t m = markers.at(s, i)) {
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
  markers.finish();
  if (seq.empty()) fail(where, "empty sequence");
  return seq;
}

}  // namespace bmx::prot3d
