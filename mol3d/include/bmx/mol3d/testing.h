// Hooks for bmx's own tests, not API: slower reference paths that the fast ones are held against. They may
// change or go with any release.
#pragma once
#include "bmx/mol3d/canonical_order.h"

namespace bmx::mol3d::testing {

// canonical_order() by calling RDKit's MolToSmiles itself, which also stores _smilesAtomOutputOrder on `mol`.
// canonical_order takes a shorter path through the same RDKit functions for connected molecules and must
// give the same SMILES and order.
CanonicalOrder canonical_order_via_mol_to_smiles(const RDKit::ROMol& mol);

}  // namespace bmx::mol3d::testing
