// Shared helpers for the MolStrucTok tests: the public vectors and the model, loaded once.
#pragma once
#include <GraphMol/RWMol.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/mol3d/molstructok.h"

namespace bmx::test {

const std::vector<nlohmann::json>& public_records();
const std::vector<nlohmann::json>& decode_only_records();
const mol3d::MolStrucTok& model();
// V2000 molblock with hydrogens kept, not sanitized (only the property cache updated). The reference encoded
// MMFF-optimised molecules, whose aromatic flags follow MMFF's aromaticity model (RDKit's MMFF setup changes
// them in place); the Kekulé bonds of the molblock without RDKit's aromaticity perception reproduce its
// canonical order on every record, a sanitized read differs on 4 (2-pyridone, zidovudine, sofosbuvir, nci_5).
std::unique_ptr<RDKit::RWMol> read_molblock(const std::string& molblock);
std::unique_ptr<RDKit::RWMol> from_smiles_3d(const std::string& smiles);  // explicit H, ETKDG + fixed seed
std::string rdkit_smiles(const RDKit::ROMol& mol);  // RDKit canonical SMILES, default options
// A descriptor as the vectors store it: [r, theta, |phi|, sign phi].
mol3d::AtomDescriptor descriptor_from_json(const nlohmann::json& row);

}  // namespace bmx::test
