#include "vectors.h"

#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <stdexcept>

#include "shared.h"

namespace bmx::test {

const std::vector<nlohmann::json>& public_records() {
  static const std::vector<nlohmann::json> r = shared_jsonl("vectors/molstructok/public.jsonl");
  return r;
}

const std::vector<nlohmann::json>& decode_only_records() {
  static const std::vector<nlohmann::json> r = shared_jsonl("vectors/molstructok/decode_only.jsonl");
  return r;
}

const mol3d::MolStrucTok& model() {
  static const mol3d::MolStrucTok m(shared_file("models/molstructok/molstructok_vqvae.bin").string());
  return m;
}

std::unique_ptr<RDKit::RWMol> read_molblock(const std::string& molblock) {
  std::unique_ptr<RDKit::RWMol> m(RDKit::MolBlockToMol(molblock, false, false));
  if (!m) throw std::runtime_error("RDKit cannot read molblock");
  m->updatePropertyCache(false);
  return m;
}

std::unique_ptr<RDKit::RWMol> from_smiles_3d(const std::string& smiles) {
  std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(smiles));
  if (!m) throw std::runtime_error("bad SMILES " + smiles);
  RDKit::MolOps::addHs(*m);
  RDKit::DGeomHelpers::EmbedParameters p = RDKit::DGeomHelpers::ETKDGv3;
  p.randomSeed = 42;
  if (RDKit::DGeomHelpers::EmbedMolecule(*m, p) < 0) throw std::runtime_error("cannot embed " + smiles);
  return m;
}

std::string rdkit_smiles(const RDKit::ROMol& mol) { return RDKit::MolToSmiles(mol); }

mol3d::AtomDescriptor descriptor_from_json(const nlohmann::json& row) {
  return {row.at(0).get<double>(), row.at(1).get<double>(), row.at(2).get<double>(), row.at(3).get<double>()};
}

}  // namespace bmx::test
