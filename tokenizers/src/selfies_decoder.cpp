// SELFIES -> SMILES as selfies v2.2.0 `decoder` derives it, with the attribution of atoms to symbols.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/selfies.h"
#include "selfies_alphabet.h"
#include "selfies_derivation.h"
#include "smiles_graph.h"

namespace bmx::selfies {

using detail::Atom;
using detail::Graph;

namespace {

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

}  // namespace

void split_views(std::string_view selfies, std::vector<std::string_view>& symbols, std::vector<int>& fragment_starts) {
  tokenize(selfies, symbols, &fragment_starts);
}

int index_symbol_count(std::string_view symbol) {
  const detail::Symbol s = detail::classify(symbol);
  return s.kind == detail::SymbolKind::branch || s.kind == detail::SymbolKind::ring ? s.length : 0;
}

std::vector<std::string> split(const std::string& selfies) {
  std::vector<std::string_view> views;
  tokenize(selfies, views, nullptr);
  return {views.begin(), views.end()};
}

Decoded decode(const std::string& selfies) {
  thread_local std::vector<std::string_view> symbols;
  thread_local std::vector<int> fragment_starts;
  thread_local std::vector<detail::RingBond> rings;
  thread_local Graph g;
  tokenize(selfies, symbols, &fragment_starts);
  g.clear();
  rings.clear();

  Decoded result;
  result.creates_atom.assign(symbols.size(), false);
  result.atom_symbol.reserve(symbols.size());

  detail::Derivation derivation;
  for (size_t f = 0; f < fragment_starts.size(); ++f) {
    const int first = fragment_starts[f];
    const int last = f + 1 < fragment_starts.size() ? fragment_starts[f + 1] : static_cast<int>(symbols.size());
    derivation.start_fragment();
    for (int index = first; index < last; ++index) {
      const detail::Symbol sym = detail::classify(symbols[index]);
      const detail::Step step = derivation.feed(symbols[index], sym);
      if (step.ring) rings.push_back(*step.ring);
      if (step.role == detail::Role::invalid)
        throw InputError("SELFIES symbol " + std::to_string(index) + " '" + std::string(symbols[index]) +
                         "': invalid symbol");
      if (step.role != detail::Role::atom) continue;
      Atom atom = sym.atom;
      atom.text_pos = index;
      const int a = g.add_atom(atom, step.bonded_to < 0);
      if (step.bonded_to >= 0 && !g.add_bond(step.bonded_to, a, step.bond_order, sym.stereo))
        throw std::logic_error("SELFIES decoder: bond capacity exceeded");
      result.creates_atom[index] = true;
      result.atom_symbol.push_back(index);
    }
    if (auto ring = derivation.finish_fragment()) rings.push_back(*ring);
  }

  // Ring bonds are formed after every fragment is derived, in the order they were read.
  thread_local std::vector<int> rings_made;
  rings_made.assign(g.atoms.size(), 0);
  for (const detail::RingBond& r : rings) {
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
