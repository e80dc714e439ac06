#include "bmx/mol3d/conformer.h"

#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SanitException.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/fragments.h"
#include "bmx/tokenizers/selfies.h"

namespace bmx::mol3d {

std::unique_ptr<RDKit::RWMol> molecule_from_smiles(const std::string& smiles, const std::string& where,
                                                   const ConformerOptions& options) {
  if (smiles.empty()) throw InputError(where + ": empty SMILES");
  // Parse first, sanitize second: RDKit's own message says what is chemically wrong.
  RDKit::SmilesParserParams params;
  params.sanitize = false;
  params.removeHs = false;
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(RDKit::SmilesToMol(smiles, params));
  } catch (const std::exception& e) {
    throw InputError(where + ": RDKit cannot parse the SMILES: " + e.what());
  }
  if (!mol) throw InputError(where + ": RDKit cannot parse the SMILES '" + smiles + "'");
  if (mol->getNumAtoms() == 0) throw InputError(where + ": the SMILES has no atoms");
  try {
    RDKit::MolOps::sanitizeMol(*mol);
  } catch (const RDKit::MolSanitizeException& e) {
    throw InputError(where + ": RDKit sanitization failed: " + e.what());
  }
  if (!options.embed_3d) {
    RDDepict::compute2DCoords(*mol);
    return mol;
  }
  RDKit::MolOps::addHs(*mol);
  RDKit::DGeomHelpers::EmbedParameters embed = RDKit::DGeomHelpers::ETKDGv3;
  embed.randomSeed = static_cast<int>(options.seed);
  int conf = RDKit::DGeomHelpers::EmbedMolecule(*mol, embed);
  if (conf < 0) {  // strained or large molecules: random starting coordinates embed where the eigenvalues do not
    embed.useRandomCoords = true;
    conf = RDKit::DGeomHelpers::EmbedMolecule(*mol, embed);
  }
  if (conf < 0) throw InputError(where + ": RDKit ETKDG found no 3D conformer for '" + smiles + "'");
  // ETKDG embeds each fragment about the origin: a salt's ions land on the other fragment's atoms.
  separate_fragments(*mol);
  return mol;
}

std::string smiles_from_selfies(const std::string& selfies, const std::string& where) {
  try {
    return selfies::decode(selfies).smiles;
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
}

}  // namespace bmx::mol3d
