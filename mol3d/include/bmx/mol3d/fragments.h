// Fragments of one molecule (salts: a cation and its counter-ion) kept apart in space. The decoder places a later
// fragment's first atom from the atom written before it, and ETKDG embeds every fragment about the origin, so
// both can put an ion on top of another fragment's atoms.
#pragma once
#include <GraphMol/ROMol.h>

namespace bmx::mol3d {

// Moves the fragments of a multi-fragment molecule apart, each later one (in atom order) rigidly off those before
// it, until no two atoms of different fragments are closer than the sum of their covalent radii (RDKit's periodic
// table) plus `margin` Å. A molecule of one fragment is left as it is.
void separate_fragments(RDKit::ROMol& mol, double margin = 0.5);

}  // namespace bmx::mol3d
