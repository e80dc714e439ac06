#include "bmx/tokenizers/modality.h"

#include <charconv>
#include <climits>

#include "unicode.h"

namespace bmx {
namespace {

struct ModalityText {
  const char* name;
  std::string_view start, end;
};
// Indexed by Modality.
constexpr ModalityText kText[kModalityCount] = {
    {"smiles", "<|mol_smi_start|>", "<|mol_smi_end|>"},
    {"selfies", "<|mol_sfi_start|>", "<|mol_sfi_end|>"},
    {"mol3d", "<|mol_3d_start|>", "<|mol_3d_end|>"},
    {"prot_aa", "<|prot_aa_start|>", "<|prot_aa_end|>"},
    {"prot3d", "<|prot_3d_start|>", "<|prot_3d_end|>"},
};
constexpr std::string_view kTerminators[] = {"<|im_end|>", "<|endoftext|>"};

const ModalityText& text_of(Modality m) { return kText[static_cast<int>(m)]; }

bool starts_with_at(std::string_view text, std::size_t pos, std::string_view what) {
  return pos <= text.size() && text.size() - pos >= what.size() && text.compare(pos, what.size(), what) == 0;
}

// Every marker and terminator begins with "<|": one test rejects almost every position.
bool may_be_marker(std::string_view text, std::size_t pos) {
  return pos + 1 < text.size() && text[pos] == '<' && text[pos + 1] == '|';
}

// Byte length of the character at pos if it is one that Python's str-regex \s matches (the vectors' generator
// is Python): Unicode White_Space plus U+001C..U+001F; else 0.
std::size_t whitespace_length(std::string_view text, std::size_t pos) {
  const unsigned char c = static_cast<unsigned char>(text[pos]);
  if (c < 0x80) return (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) ? 1 : 0;
  std::size_t next = pos;
  const uint32_t cp = unicode::next_cp(text, next);
  return unicode::is_whitespace(cp) ? next - pos : 0;
}

// [^\[\]\s]+ from pos: its length (0 if none).
std::size_t symbol_length(std::string_view text, std::size_t pos) {
  std::size_t i = pos;
  while (i < text.size() && text[i] != '[' && text[i] != ']' && whitespace_length(text, i) == 0) ++i;
  return i - pos;
}

// 0|[1-9][0-9]* from pos: its length (0 if none) and its value, saturated far above every codebook so that
// huge numbers cannot overflow.
std::size_t unsigned_code(std::string_view text, std::size_t pos, long long& value) {
  value = 0;
  if (pos >= text.size() || text[pos] < '0' || text[pos] > '9') return 0;
  if (text[pos] == '0') return 1;
  std::size_t i = pos;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
    if (value <= LLONG_MAX / 100) value = value * 10 + (text[i] - '0');
  return i - pos;
}

int clamp_to_int(long long v) { return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : static_cast<int>(v); }

std::string_view without_brackets(std::string_view symbol) {
  if (!symbol.empty() && symbol.front() == '[') symbol.remove_prefix(1);
  if (!symbol.empty() && symbol.back() == ']') symbol.remove_suffix(1);
  return symbol;
}

}  // namespace

const char* to_string(Modality m) { return text_of(m).name; }

std::optional<Modality> modality_from_string(std::string_view s) {
  for (int k = 0; k < kModalityCount; ++k)
    if (s == kText[k].name) return static_cast<Modality>(k);
  return std::nullopt;
}

std::string_view start_marker(Modality m) { return text_of(m).start; }
std::string_view end_marker(Modality m) { return text_of(m).end; }

std::optional<Modality> start_marker_at(std::string_view text, std::size_t pos) {
  if (!may_be_marker(text, pos)) return std::nullopt;
  for (int k = 0; k < kModalityCount; ++k)
    if (starts_with_at(text, pos, kText[k].start)) return static_cast<Modality>(k);
  return std::nullopt;
}

std::optional<Modality> end_marker_at(std::string_view text, std::size_t pos) {
  if (!may_be_marker(text, pos)) return std::nullopt;
  for (int k = 0; k < kModalityCount; ++k)
    if (starts_with_at(text, pos, kText[k].end)) return static_cast<Modality>(k);
  return std::nullopt;
}

std::size_t terminator_at(std::string_view text, std::size_t pos) {
  if (!may_be_marker(text, pos)) return 0;
  for (std::string_view t : kTerminators)
    if (starts_with_at(text, pos, t)) return t.size();
  return 0;
}

std::optional<Mol3dToken> match_mol3d_token(std::string_view text, std::size_t pos) {
  if (pos >= text.size() || text[pos] != '[') return std::nullopt;
  // The symbol class excludes whitespace, so the greedy symbol is the whole run up to the space.
  const std::size_t sym = symbol_length(text, pos + 1);
  std::size_t i = pos + 1 + sym;
  if (sym == 0 || i >= text.size() || text[i] != ' ') return std::nullopt;
  ++i;
  const bool negative = i < text.size() && text[i] == '-';
  if (negative) ++i;
  long long value = 0;
  const std::size_t digits = unsigned_code(text, i, value);
  i += digits;
  if (digits == 0 || i >= text.size() || text[i] != ']') return std::nullopt;
  Mol3dToken t;
  t.symbol = text.substr(pos + 1, sym);
  t.code = clamp_to_int(negative ? -value : value);
  t.in_range = t.code >= -1 && t.code <= kMol3dMaxCode;
  t.length = i + 1 - pos;
  return t;
}

std::size_t match_selfies_symbol(std::string_view text, std::size_t pos) {
  if (pos >= text.size() || text[pos] != '[') return 0;
  const std::size_t sym = symbol_length(text, pos + 1);
  const std::size_t close = pos + 1 + sym;
  return sym > 0 && close < text.size() && text[close] == ']' ? sym + 2 : 0;
}

std::optional<char> match_residue_token(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, "<A ") || text.size() - pos < 5) return std::nullopt;
  const char letter = text[pos + 3];
  if (letter < 'A' || letter > 'Z' || text[pos + 4] != '>') return std::nullopt;
  return letter;
}

std::optional<StructureToken> match_structure_token(std::string_view text, std::size_t pos) {
  if (!starts_with_at(text, pos, "<S ")) return std::nullopt;
  long long value = 0;
  const std::size_t digits = unsigned_code(text, pos + 3, value);
  const std::size_t close = pos + 3 + digits;
  if (digits == 0 || close >= text.size() || text[close] != '>') return std::nullopt;
  StructureToken t;
  t.code = clamp_to_int(value);
  t.in_range = t.code < kProt3dCodebookSize;
  t.length = close + 1 - pos;
  return t;
}

bool is_smiles_char(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '(': case ')': case '[': case ']': case '=': case '#': case '$': case ':': case '/': case '\\':
    case '.': case '+': case '-': case '@': case '%': case '*':
      return true;
    default:
      return false;
  }
}

void append_mol3d_token(std::string& out, std::string_view symbol, int code) {
  symbol = without_brackets(symbol);
  out += '[';
  out.append(symbol.data(), symbol.size());
  out += ' ';
  char digits[16];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, code).ptr);
  out += ']';
}

std::string mol3d_token(std::string_view symbol, int code) {
  std::string s;
  s.reserve(symbol.size() + 8);
  append_mol3d_token(s, symbol, code);
  return s;
}

std::string residue_token(char letter) { return std::string("<A ") + letter + '>'; }

void append_structure_token(std::string& out, int code) {
  out += "<S ";
  char digits[16];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, code).ptr);
  out += '>';
}

std::string structure_token(int code) {
  std::string s;
  append_structure_token(s, code);
  return s;
}

std::string wrap_segment(Modality m, std::string_view content) {
  const ModalityText& t = text_of(m);
  std::string s;
  s.reserve(t.start.size() + content.size() + t.end.size());
  s.append(t.start).append(content).append(t.end);
  return s;
}

}  // namespace bmx
