// The atom order MolStrucTok tokens follow: the order in which RDKit writes the atoms of the canonical
// Kekulé, non-isomeric SMILES (spec molstructok.md §3). Depends on the RDKit version (vectors: 2022.09).
#pragma once
#include <string>
#include <vector>

namespace RDKit {
class ROMol;
}

namespace bmx::mol3d {

struct CanonicalOrder {
  std::string smiles;           // MolToSmiles(mol, canonical, kekuleSmiles=true, isomericSmiles=false)
  std::vector<int> atom_order;  // atom_order[k] = index in the input of the k-th atom written
};

// Throws InputError when RDKit cannot write the molecule (e.g. it cannot be kekulized).
CanonicalOrder canonical_order(const RDKit::ROMol& mol);

}  // namespace bmx::mol3d
