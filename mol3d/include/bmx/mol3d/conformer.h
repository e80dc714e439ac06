// Molecules that come as 1D text (a SMILES or SELFIES answer of the model) given coordinates through RDKit, so
// that they can be written as SD files like the 3D answers: sanitized, hydrogens explicit, one ETKDGv3
// conformer (seeded: the same text gives the same file) ready for MMFF94 refinement (forcefield/refine.h), or
// a 2D depiction when no 3D is wanted.
#pragma once
#include <GraphMol/RWMol.h>

#include <memory>
#include <string>

namespace bmx::mol3d {

struct ConformerOptions {
  bool embed_3d = true;     // false: 2D depiction coordinates, hydrogens left implicit
  unsigned seed = 42;       // ETKDG random seed
};

// Throws InputError naming `where` when RDKit cannot parse or sanitize the SMILES (the message says why, e.g.
// "Explicit valence for atom # 1 C, 5, is greater than permitted") or cannot embed it.
std::unique_ptr<RDKit::RWMol> molecule_from_smiles(const std::string& smiles, const std::string& where,
                                                   const ConformerOptions& options = {});

// The SMILES a SELFIES string decodes to (selfies 2.2 semantics); InputError naming `where` on an invalid symbol.
std::string smiles_from_selfies(const std::string& selfies, const std::string& where);

}  // namespace bmx::mol3d
