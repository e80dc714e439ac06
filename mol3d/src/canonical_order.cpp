#include "bmx/mol3d/canonical_order.h"

#include <GraphMol/ROMol.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include "bmx/core/error.h"

namespace bmx::mol3d {

CanonicalOrder canonical_order(const RDKit::ROMol& mol) {
  RDKit::SmilesWriteParams params;
  params.doIsomericSmiles = false;
  params.doKekule = true;
  params.canonical = true;
  CanonicalOrder out;
  try {
    out.smiles = RDKit::MolToSmiles(mol, params);
  } catch (const std::exception& e) {
    throw InputError(std::string("cannot write canonical SMILES: ") + e.what());
  }
  // The writer stores the output order on the molecule as a computed property.
  std::vector<unsigned int> order;
  bool found = false;
  try {
    found = mol.getPropIfPresent(RDKit::common_properties::_smilesAtomOutputOrder, order);
  } catch (const std::exception&) {  // stored as vector<int> by some RDKit versions
    std::vector<int> signed_order;
    found = mol.getPropIfPresent(RDKit::common_properties::_smilesAtomOutputOrder, signed_order);
    order.assign(signed_order.begin(), signed_order.end());
  }
  if (!found || order.size() != mol.getNumAtoms())
    throw InputError("RDKit did not report the SMILES atom output order");
  out.atom_order.assign(order.begin(), order.end());
  return out;
}

}  // namespace bmx::mol3d
