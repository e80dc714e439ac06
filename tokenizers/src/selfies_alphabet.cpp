#include "selfies_alphabet.h"

#include <array>

namespace bmx::selfies::detail {

namespace {

// Sorted, for binary search. Mirrors selfies.constants.ELEMENTS exactly.
constexpr std::array<std::string_view, 114> kElements = {
    "Ac", "Ag", "Al", "Am", "Ar", "As", "At", "Au", "B",  "Ba", "Be", "Bh", "Bi", "Bk", "Br", "C",  "Ca", "Cd", "Ce",
    "Cf", "Cl", "Cm", "Cn", "Co", "Cr", "Cs", "Cu", "Db", "Ds", "Dy", "Er", "Es", "Eu", "F",  "Fe", "Fl", "Fm", "Fr",
    "Ga", "Gd", "Ge", "H",  "He", "Hf", "Hg", "Ho", "Hs", "I",  "In", "Ir", "K",  "Kr", "La", "Li", "Lr", "Lu", "Lv",
    "Md", "Mg", "Mn", "Mo", "Mt", "N",  "Na", "Nb", "Nd", "Ne", "Ni", "No", "Np", "O",  "Os", "P",  "Pa", "Pb", "Pd",
    "Pm", "Po", "Pr", "Pt", "Pu", "Ra", "Rb", "Re", "Rf", "Rg", "Rh", "Rn", "Ru", "S",  "Sb", "Sc", "Se", "Sg", "Si",
    "Sm", "Sn", "Sr", "Ta", "Tb", "Tc", "Te", "Th", "Ti", "Tl", "Tm", "U",  "V",  "W",  "Xe", "Y",  "Yb", "Zn", "Zr"};

constexpr std::array<std::string_view, 16> kIndexAlphabet = {
    "[C]", "[Ring1]", "[Ring2]", "[Branch1]", "[=Branch1]", "[#Branch1]", "[Branch2]", "[=Branch2]",
    "[#Branch2]", "[O]", "[N]", "[=N]", "[=C]", "[#C]", "[S]", "[P]"};

}  // namespace

namespace {

// Element symbols as a bitmap over (first letter A-Z) x (no second letter, a-z): one lookup per test.
struct ElementTable {
  bool known[26 * 27] = {};
  static int slot(std::string_view s) { return (s[0] - 'A') * 27 + (s.size() == 2 ? s[1] - 'a' + 1 : 0); }
  ElementTable() {
    for (auto e : kElements) known[slot(e)] = true;
  }
};

const ElementTable kElementTable;

}  // namespace

bool is_element(std::string_view s) {
  if (s.empty() || s.size() > 2 || s[0] < 'A' || s[0] > 'Z') return false;
  if (s.size() == 2 && (s[1] < 'a' || s[1] > 'z')) return false;
  return kElementTable.known[ElementTable::slot(s)];
}

bool is_organic_subset(std::string_view s) {
  if (s.size() == 1) {
    switch (s[0]) {
      case 'B': case 'C': case 'N': case 'O': case 'S': case 'P': case 'F': case 'I': return true;
      default: return false;
    }
  }
  return s == "Cl" || s == "Br";
}

int default_capacity(std::string_view e, int charge) {
  if (charge < -1 || charge > 1) return 8;
  const int c = charge + 1;  // column: -1, 0, +1
  if (e.size() == 1) {
    switch (e[0]) {
      case 'H': case 'F': case 'I': return charge == 0 ? 1 : 8;
      case 'B': { constexpr int t[3] = {4, 3, 2}; return t[c]; }
      case 'O': { constexpr int t[3] = {1, 2, 3}; return t[c]; }
      case 'N': { constexpr int t[3] = {2, 3, 4}; return t[c]; }
      case 'C': { constexpr int t[3] = {3, 4, 3}; return t[c]; }
      case 'P': { constexpr int t[3] = {6, 5, 4}; return t[c]; }
      case 'S': { constexpr int t[3] = {5, 6, 5}; return t[c]; }
      default: return 8;
    }
  }
  if (e == "Cl" || e == "Br") return charge == 0 ? 1 : 8;
  return 8;
}

int index_value(std::string_view symbol) {
  for (int k = 0; k < 16; ++k)
    if (kIndexAlphabet[k] == symbol) return k;
  return 0;
}

int append_index_symbols(int q, std::string& out) {
  if (q <= 0) {
    out += kIndexAlphabet[0];
    return 1;
  }
  int digits[8];
  int n = 0;
  for (; q > 0; q /= 16) digits[n++] = q % 16;
  for (int k = n - 1; k >= 0; --k) out += kIndexAlphabet[digits[k]];
  return n;
}

int index_length(int q) {
  int n = 1;
  for (; q >= 16; q /= 16) ++n;
  return n;
}

}  // namespace bmx::selfies::detail
