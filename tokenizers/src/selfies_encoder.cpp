// SMILES -> SELFIES as selfies v2.2.0 `encoder` does it (strict: semantic constraints checked).
#include <algorithm>
#include <string>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/selfies.h"
#include "selfies_alphabet.h"
#include "smiles_graph.h"

namespace bmx::selfies {

using detail::Bond;
using detail::Graph;

namespace {

void append_bond(const Bond& b, bool show_stereo, std::string& out) {
  if (b.order == 2) out += '=';
  else if (b.order == 3) out += '#';
  else if (show_stereo && b.stereo) out += b.stereo;
}

// selfies inverts '@'/'@@' when writing ring closures before branches changes the neighbour order parity.
bool should_invert_chirality(const Graph& g, int atom) {
  const int n = g.n_out[atom];
  int perm[detail::kMaxOut];
  int m = 0;
  for (int k = 0; k < n; ++k) {  // ring closures (partner earlier)
    const Bond& b = g.bonds[g.out[atom][k]];
    if (b.ring && b.src > b.dst) perm[m++] = k;
  }
  const int opening = m;
  for (int k = 0; k < n; ++k) {  // ring openings, by partner index
    const Bond& b = g.bonds[g.out[atom][k]];
    if (b.ring && b.src < b.dst) perm[m++] = k;
  }
  std::stable_sort(perm + opening, perm + m,
                   [&](int x, int y) { return g.bonds[g.out[atom][x]].dst < g.bonds[g.out[atom][y]].dst; });
  for (int k = 0; k < n; ++k)  // branches and the chain
    if (!g.bonds[g.out[atom][k]].ring) perm[m++] = k;
  int inversions = 0;
  for (int i = 0; i < m; ++i)
    for (int j = i + 1; j < m; ++j) inversions += perm[i] > perm[j];
  return inversions % 2 != 0;
}

// Writes the chain starting at `root` (entered through bond `bond_into`, -1 for a fragment root) and returns
// the number of symbols written.
int write_chain(const Graph& g, int bond_into, int root, std::string& out) {
  int count = 0;
  int cur = root;
  for (;;) {
    out += '[';
    if (bond_into >= 0) append_bond(g.bonds[bond_into], true, out);
    detail::append_atom_text(g.atoms[cur], false, out);
    out += ']';
    ++count;
    const int n = g.n_out[cur];
    int next = -1;
    for (int k = 0; k < n; ++k) {
      const int b = g.out[cur][k];
      const Bond& bond = g.bonds[b];
      if (bond.ring) {
        if (bond.src < bond.dst) continue;  // opening: written where the ring closes
        const Bond& opened = g.bonds[bond.partner];
        const int q = bond.src - bond.dst - 1;
        const int len = detail::index_length(q);
        out += '[';
        if (bond.order != 1 || (!opened.stereo && !bond.stereo)) {
          append_bond(opened, false, out);
        } else {
          out += opened.stereo ? opened.stereo : '-';
          out += bond.stereo ? bond.stereo : '-';
        }
        out += "Ring";
        out += static_cast<char>('0' + len);
        out += ']';
        detail::append_index_symbols(q, out);
        count += 1 + len;
      } else if (k == n - 1) {
        next = b;
      } else {
        const size_t at = out.size();
        const int branch = write_chain(g, b, bond.dst, out);
        thread_local std::string head;
        head.assign(1, '[');
        append_bond(bond, false, head);
        head += "Branch";
        const size_t digit_at = head.size();
        head += "1]";
        const int len = detail::append_index_symbols(branch - 1, head);
        head[digit_at] = static_cast<char>('0' + len);
        out.insert(at, head);
        count += branch + 1 + len;
      }
    }
    if (next < 0) return count;
    bond_into = next;
    cur = g.bonds[next].dst;
  }
}

}  // namespace

std::string encode(const std::string& smiles) {
  thread_local Graph g;
  detail::read_smiles(smiles, g);
  for (size_t a = 0; a < g.atoms.size(); ++a) {
    const auto& atom = g.atoms[a];
    if (g.bond_count[a] > atom.capacity) {
      std::string text;
      detail::append_atom_text(atom, true, text);
      throw InputError("SMILES '" + smiles + "': atom " + text + " at character " + std::to_string(atom.text_pos) +
                       " has " + std::to_string(g.bond_count[a]) + " bonds, more than the " +
                       std::to_string(std::max(atom.capacity, 0)) +
                       " SELFIES allows (violates the semantic constraints)");
    }
  }
  for (size_t a = 0; a < g.atoms.size(); ++a) {
    auto& atom = g.atoms[a];
    if (!atom.chirality) continue;
    bool has_ring = false;
    for (int k = 0; k < g.n_out[a]; ++k) has_ring |= g.bonds[g.out[a][k]].ring;
    if (has_ring && should_invert_chirality(g, static_cast<int>(a))) atom.chirality = 3 - atom.chirality;
  }
  std::string out;
  out.reserve(smiles.size() * 3 + 16);
  for (size_t r = 0; r < g.roots.size(); ++r) {
    if (r) out += '.';
    write_chain(g, -1, g.roots[r], out);
  }
  return out;
}

}  // namespace bmx::selfies
