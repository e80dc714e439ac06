// The molecular graph shared by the SELFIES encoder and decoder (selfies' MolecularGraph): atoms in SMILES /
// creation order, directed bonds kept in the order a SMILES writer visits them. Plus a reader and writer for
// the Kekulé SMILES subset RDKit writes (bracket atoms, ring closures, branches, '.', '/' '\' bonds).
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace bmx::selfies::detail {

struct Atom {
  char element[3] = {0, 0, 0};
  int isotope = -1;     // -1: none
  int chirality = 0;    // 0 none, 1 '@', 2 '@@'
  int h_count = -1;     // -1: bare organic-subset atom (no H count given); else the bracket H count
  int charge = 0;
  int capacity = 0;     // bonding capacity under the default constraints, minus explicit H
  int text_pos = 0;     // where the atom was read (character of the SMILES or symbol of the SELFIES)
  std::string_view element_view() const { return {element, element[1] ? 2u : 1u}; }
};

struct Bond {
  int src = 0, dst = 0;
  int order = 1;
  char stereo = 0;      // 0, '/' or '\\' (single bonds only)
  bool ring = false;    // ring-closure bond: stored twice, once from each end
  int partner = -1;     // for a ring bond: the index of the same bond seen from the other end
};

// Out-bonds per atom. An atom never has more bonds than its capacity (<= 8), checked where they are added.
constexpr int kMaxOut = 8;

struct Graph {
  std::vector<Atom> atoms;
  std::vector<Bond> bonds;
  std::vector<std::array<int, kMaxOut>> out;  // bond indices; -1 = ring-opening placeholder while parsing
  std::vector<unsigned char> n_out;
  std::vector<int> bond_count;                // total bond order per atom
  std::vector<int> roots;                     // first atom of each fragment

  void clear();
  int add_atom(const Atom& atom, bool root);
  // Returns false when src already has kMaxOut out-bonds.
  bool add_bond(int src, int dst, int order, char stereo);
  bool add_ring_bond(int a, int b, int order, char a_stereo, char b_stereo, int a_pos, int b_pos);
  // Index of a bond between a and b seen from a (chain bonds are only stored from the earlier atom), or -1.
  int find_bond(int a, int b) const;
  void set_order(int bond, int order);

 private:
  bool insert_out(int atom, int bond, int pos);
};

// Appends the atom as selfies writes it: bare element, or the bracket body (isotope, element, chirality,
// H count, "H0" for an organic-subset bracket atom without H, charge as +n/-n).
void append_atom_text(const Atom& atom, bool brackets, std::string& out);

// Reads a SMILES; throws InputError naming the problem and the character position. Aromatic atoms and ':'
// bonds are refused (SELFIES needs Kekulé input; RDKit's kekuleSmiles output never has them).
void read_smiles(std::string_view smiles, Graph& graph);

// Writes the graph depth-first from each root, out-bonds in stored order (atoms come out in index order).
void write_smiles(const Graph& graph, std::string& out);

}  // namespace bmx::selfies::detail
