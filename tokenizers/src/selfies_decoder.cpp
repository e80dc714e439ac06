// SELFIES -> SMILES as selfies v2.2.0 `decoder` derives it, with the attribution of atoms to symbols.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bmx/core/error.h"
#include "bmx/tokenizers/selfies.h"
#include "selfies_alphabet.h"
#include "smiles_graph.h"

namespace bmx::selfies {

using detail::Atom;
using detail::Graph;

namespace {

enum class Kind { branch, ring, epsilon, atom, invalid };

struct Symbol {
  Kind kind = Kind::invalid;
  int order = 1;        // bond order requested by the symbol
  int length = 0;       // number of index symbols after a branch or ring symbol
  char stereo = 0;      // atom: stereo of the incoming bond; ring: stereo at the earlier atom
  char stereo2 = 0;     // ring: stereo at the later atom
  Atom atom;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char stereo_of(char c) { return (c == '/' || c == '\\') ? c : char(0); }

int order_of(char c) { return c == '=' ? 2 : c == '#' ? 3 : 1; }

// "[Branch1]", "[=Branch2]", "[#Branch3]".
bool parse_branch(std::string_view s, Symbol& out) {
  size_t k = 1;
  if (s.size() < 3) return false;
  if (s[k] == '=' || s[k] == '#') out.order = order_of(s[k++]);
  if (s.substr(k).size() != 8 || s.substr(k, 6) != "Branch" || s[k + 6] < '1' || s[k + 6] > '3' || s[k + 7] != ']')
    return false;
  out.length = s[k + 6] - '0';
  out.kind = Kind::branch;
  return true;
}

// "[RingL]", "[=RingL]", "[#RingL]", and the stereo forms "[xyRingL]" with x, y in - / \ (not both -).
bool parse_ring(std::string_view s, Symbol& out) {
  const size_t n = s.size();
  if (n < 7 || s.substr(n - 6, 4) != "Ring" || s[n - 2] < '1' || s[n - 2] > '3') return false;
  const std::string_view prefix = s.substr(1, n - 7);
  auto stereo_char = [](char c) { return c == '-' || c == '/' || c == '\\'; };
  if (prefix.empty()) {
  } else if (prefix.size() == 1 && (prefix[0] == '=' || prefix[0] == '#')) {
    out.order = order_of(prefix[0]);
  } else if (prefix.size() == 2 && stereo_char(prefix[0]) && stereo_char(prefix[1]) && prefix != "--") {
    out.stereo = stereo_of(prefix[0]);
    out.stereo2 = stereo_of(prefix[1]);
  } else {
    return false;
  }
  out.length = s[n - 2] - '0';
  out.kind = Kind::ring;
  return true;
}

// selfies' SELFIES_ATOM_PATTERN: [ bond? isotope? Element chirality? (H digit)? ([+-][1-9]+)? ]
bool parse_atom(std::string_view s, Symbol& out) {
  const size_t n = s.size();
  if (n < 3 || s[0] != '[' || s[n - 1] != ']') return false;
  const size_t end = n - 1;
  size_t k = 1;
  char bond = 0;
  if (s[k] == '=' || s[k] == '#' || s[k] == '/' || s[k] == '\\') bond = s[k++];
  const size_t body = k;
  Atom& a = out.atom;
  size_t d = k;
  while (d < end && is_digit(s[d])) ++d;
  const size_t iso_digits = d - k;
  if (iso_digits > 6) return false;
  int isotope = -1;
  if (iso_digits) {
    isotope = 0;
    for (; k < d; ++k) isotope = isotope * 10 + (s[k] - '0');
  }
  if (k >= end || s[k] < 'A' || s[k] > 'Z') return false;
  const size_t e0 = k++;
  if (k < end && s[k] >= 'a' && s[k] <= 'z') ++k;
  const std::string_view element = s.substr(e0, k - e0);
  int chirality = 0;
  if (k < end && s[k] == '@') {
    chirality = 1;
    if (++k < end && s[k] == '@') chirality = 2, ++k;
  }
  int h_count = 0;
  if (k < end && s[k] == 'H') {
    if (k + 1 >= end || !is_digit(s[k + 1])) return false;
    h_count = s[k + 1] - '0';
    k += 2;
  }
  int charge = 0;
  if (k < end && (s[k] == '+' || s[k] == '-')) {
    const char sign = s[k++];
    const size_t c0 = k;
    while (k < end && s[k] >= '1' && s[k] <= '9') charge = charge * 10 + (s[k++] - '0');
    if (k == c0 || k - c0 > 6) return false;
    if (sign == '-') charge = -charge;
  }
  if (k != end) return false;

  out.order = order_of(bond);
  out.stereo = stereo_of(bond);
  a.element[0] = element[0];
  a.element[1] = element.size() > 1 ? element[1] : 0;
  if (detail::is_organic_subset(s.substr(body, end - body))) {
    a.capacity = detail::default_capacity(element, 0);
  } else {
    if (!detail::is_element(element)) return false;
    a.isotope = isotope;
    a.chirality = chirality;
    a.h_count = h_count;
    a.charge = charge;
    a.capacity = detail::default_capacity(element, charge) - h_count;
    if (a.capacity < 0) return false;  // e.g. [CH5]
  }
  out.kind = Kind::atom;
  return true;
}

// Classifies a symbol in the order selfies' decoder does (branch, ring, epsilon, atom).
Symbol classify(std::string_view s) {
  Symbol out;
  const size_t n = s.size();
  const size_t a = n >= 4 ? n - 4 : 0, b = n >= 2 ? n - 2 : 0;
  const std::string_view tag = b > a ? s.substr(a, b - a) : std::string_view();
  if (tag == "ch") {
    if (!parse_branch(s, out)) out.kind = Kind::invalid;
  } else if (tag == "ng") {
    if (!parse_ring(s, out)) out.kind = Kind::invalid;
  } else if (s.find("eps") != std::string_view::npos) {
    out.kind = Kind::epsilon;
  } else if (!parse_atom(s, out)) {
    out.kind = Kind::invalid;
  }
  return out;
}

// Splits into bracket symbols; `fragment_starts` receives the symbol index at which each fragment begins.
void tokenize(std::string_view s, std::vector<std::string_view>& symbols, std::vector<int>* fragment_starts) {
  symbols.clear();
  if (fragment_starts) fragment_starts->assign(1, 0);
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (s[i] == '[') {
      size_t j = i + 1;
      while (j < n && s[j] != ']' && s[j] != '[') ++j;
      if (j == n || s[j] == '[')
        throw InputError("SELFIES: unclosed '[' at character " + std::to_string(i) + " (symbol " +
                         std::to_string(symbols.size()) + ")");
      symbols.push_back(s.substr(i, j + 1 - i));
      i = j + 1;
    } else if (s[i] == '.') {
      if (fragment_starts) fragment_starts->push_back(static_cast<int>(symbols.size()));
      ++i;
    } else {
      throw InputError(std::string("SELFIES: unexpected character '") + s[i] + "' at character " +
                       std::to_string(i) + " (symbols are written [..], fragments separated by '.')");
    }
  }
}

struct RingBond {
  int left, right, order;
  char left_stereo, right_stereo;
};

}  // namespace

void split_views(std::string_view selfies, std::vector<std::string_view>& symbols, std::vector<int>& fragment_starts) {
  tokenize(selfies, symbols, &fragment_starts);
}

int index_symbol_count(std::string_view symbol) {
  Symbol s;
  return parse_branch(symbol, s) || parse_ring(symbol, s) ? s.length : 0;
}

std::vector<std::string> split(const std::string& selfies) {
  std::vector<std::string_view> views;
  tokenize(selfies, views, nullptr);
  return {views.begin(), views.end()};
}

Decoded decode(const std::string& selfies) {
  thread_local std::vector<std::string_view> symbols;
  thread_local std::vector<int> fragment_starts;
  thread_local std::vector<int> seq;  // split indices of the symbols of one fragment, [nop] left out
  thread_local std::vector<RingBond> rings;
  thread_local Graph g;
  tokenize(selfies, symbols, &fragment_starts);
  g.clear();
  rings.clear();

  Decoded result;
  result.creates_atom.assign(symbols.size(), false);
  result.atom_symbol.reserve(symbols.size());

  struct Frame {
    int64_t max;    // symbols this (sub)derivation may consume
    int64_t used;   // symbols consumed so far (index symbols read past the end count, as in selfies)
    int state;      // bonds the previous atom may still form; -1: derivation stopped
    int prev;       // previous atom
  };
  thread_local std::vector<Frame> frames;

  for (size_t f = 0; f < fragment_starts.size(); ++f) {
    const int first = fragment_starts[f];
    const int last = f + 1 < fragment_starts.size() ? fragment_starts[f + 1] : static_cast<int>(symbols.size());
    seq.clear();
    for (int k = first; k < last; ++k)
      if (symbols[k] != "[nop]") seq.push_back(k);
    size_t p = 0;
    auto read_index = [&](int length) {
      int q = 0;
      for (int k = 0; k < length; ++k) q = q * 16 + (p < seq.size() ? detail::index_value(symbols[seq[p++]]) : 0);
      return q;
    };
    frames.assign(1, {INT64_MAX, 0, 0, -1});
    while (!frames.empty()) {
      Frame& fr = frames.back();
      if (fr.state < 0 || fr.used >= fr.max || p >= seq.size()) {
        while (fr.used < fr.max && p < seq.size()) ++p, ++fr.used;  // the rest of a stopped (sub)chain
        const int64_t used = fr.used;
        frames.pop_back();
        if (!frames.empty()) frames.back().used += used;
        continue;
      }
      const int index = seq[p++];
      ++fr.used;
      const Symbol sym = classify(symbols[index]);
      const int state = fr.state;
      switch (sym.kind) {
        case Kind::invalid:
          throw InputError("SELFIES symbol " + std::to_string(index) + " '" + std::string(symbols[index]) +
                           "': invalid symbol");
        case Kind::branch: {
          if (state <= 1) break;  // no room for a branch: ignored, the next symbols are read normally
          const int init = std::min(state - 1, sym.order);
          const int q = read_index(sym.length);
          fr.used += sym.length;
          fr.state = state - init;
          const int prev = fr.prev;
          frames.push_back({int64_t(q) + 1, 0, init, prev});  // fr is invalid from here on
          break;
        }
        case Kind::ring: {
          if (state == 0) break;  // nothing to close from: ignored, index symbols not consumed
          const int order = std::min(sym.order, state);
          fr.state = state - order == 0 ? -1 : state - order;
          const int q = read_index(sym.length);
          fr.used += sym.length;
          rings.push_back({std::max(0, fr.prev - (q + 1)), fr.prev, order, sym.stereo, sym.stereo2});
          break;
        }
        case Kind::epsilon:
          fr.state = state == 0 ? 0 : -1;
          break;
        case Kind::atom: {
          const int cap = sym.atom.capacity;
          const int order = state == 0 ? 0 : std::min({sym.order, state, cap});
          fr.state = cap - order == 0 ? -1 : cap - order;
          if (order == 0 && state != 0) {  // capacity 0 after a bonded atom: not added, derivation stops
            fr.prev = -1;
            break;
          }
          Atom atom = sym.atom;
          atom.text_pos = index;
          const int a = g.add_atom(atom, order == 0);
          if (order > 0 && !g.add_bond(fr.prev, a, order, sym.stereo))
            throw std::logic_error("SELFIES decoder: bond capacity exceeded");
          result.creates_atom[index] = true;
          result.atom_symbol.push_back(index);
          fr.prev = a;
          break;
        }
      }
    }
  }

  // Ring bonds are formed after every fragment is derived, in the order they were read.
  thread_local std::vector<int> rings_made;
  rings_made.assign(g.atoms.size(), 0);
  for (const RingBond& r : rings) {
    if (r.left == r.right) continue;
    const int left_free = g.atoms[r.left].capacity - g.bond_count[r.left];
    const int right_free = g.atoms[r.right].capacity - g.bond_count[r.right];
    if (left_free <= 0 || right_free <= 0) continue;
    const int order = std::min({r.order, left_free, right_free});
    const int existing = g.find_bond(r.left, r.right);
    if (existing >= 0) {
      g.set_order(existing, std::min(order + g.bonds[existing].order, 3));
    } else {
      if (!g.add_ring_bond(r.left, r.right, order, r.left_stereo, r.right_stereo, rings_made[r.left],
                           rings_made[r.right]))
        throw std::logic_error("SELFIES decoder: bond capacity exceeded");
      ++rings_made[r.left];
      ++rings_made[r.right];
    }
  }
  result.smiles.reserve(selfies.size());
  detail::write_smiles(g, result.smiles);
  return result;
}

}  // namespace bmx::selfies
