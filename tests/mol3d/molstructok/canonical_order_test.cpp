// canonical_order takes a shorter path than MolToSmiles through the same RDKit functions; it must give
// MolToSmiles' SMILES and atom order on every molecule, whatever state RDKit left the molecule in
// (unsanitized, sanitized with SSSR and aromatic flags, stereo perceived from 3D, parsed from SMILES).
#include <GraphMol/Chirality.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <doctest/doctest.h>

#include <filesystem>

#include "bmx/mol3d/canonical_order.h"
#include "bmx/mol3d/testing.h"
#include "shared.h"
#include "vectors.h"

using namespace bmx;

namespace {

int same_as_mol_to_smiles(const RDKit::ROMol& mol, const std::string& what) {
  INFO(what);
  // Separate copies: MolToSmiles leaves properties on the molecule it writes.
  RDKit::RWMol a(mol), b(mol);
  mol3d::CanonicalOrder fast = mol3d::canonical_order(a);
  mol3d::CanonicalOrder full = mol3d::testing::canonical_order_via_mol_to_smiles(b);
  CHECK(fast.smiles == full.smiles);
  CHECK(fast.atom_order == full.atom_order);
  return 1;
}

}  // namespace

TEST_CASE("canonical_order equals MolToSmiles on public inputs in every RDKit state") {
  int n = 0;
  for (const auto& r : test::public_records()) {
    const std::string name = r["name"].get<std::string>();
    const std::string block = r["input_molblock"].get<std::string>();
    n += same_as_mol_to_smiles(*test::read_molblock(block), name + " unsanitized");

    std::unique_ptr<RDKit::RWMol> sanitized(RDKit::MolBlockToMol(block, true, false));
    if (!sanitized) continue;
    n += same_as_mol_to_smiles(*sanitized, name + " sanitized");
    RDKit::MolOps::assignStereochemistryFrom3D(*sanitized);  // chiral tags and E/Z bonds set
    n += same_as_mol_to_smiles(*sanitized, name + " stereo from 3D");
    RDKit::MolOps::Kekulize(*sanitized);  // Kekulé bonds, SSSR ring info kept
    n += same_as_mol_to_smiles(*sanitized, name + " kekulized");

    for (const char* key : {"canonical_smiles", "decoded_smiles"}) {
      if (!r.contains(key) || !r[key].is_string() || r[key].get<std::string>().empty()) continue;
      const std::string smi = r[key].get<std::string>();
      std::unique_ptr<RDKit::RWMol> parsed(RDKit::SmilesToMol(smi));  // aromatic, SSSR, no conformer
      if (parsed) n += same_as_mol_to_smiles(*parsed, name + " " + key + " sanitized");
      RDKit::SmilesParserParams raw;
      raw.sanitize = false;
      raw.removeHs = false;
      std::unique_ptr<RDKit::RWMol> unsanitized(RDKit::SmilesToMol(smi, raw));
      if (unsanitized) {
        unsanitized->updatePropertyCache(false);
        n += same_as_mol_to_smiles(*unsanitized, name + " " + key + " unsanitized");
      }
    }
  }
  MESSAGE(n << " molecules compared");
  CHECK(n > 1500);
}

TEST_CASE("canonical_order equals MolToSmiles on hand-picked hard cases and the molecule files") {
  // Fused and bridged ring systems (SSSR and fast ring perception disagree on ring counts), aromatic
  // heteroatoms with H, charges, isotopes, radicals, atom maps, E/Z and ring stereo, more than 9 rings
  // open, salts (several fragments: MolToSmiles itself).
  const char* smiles[] = {
      "C12C3C4C1C5C2C3C45",  // cubane
      "C1C2CC3CC1CC(C2)C3",  // adamantane
      "c1ccc2c(c1)ccc1ccccc12",
      "c1ccc2cc3ccccc3cc2c1",
      "O=c1[nH]cccc1",
      "c1cc[nH]c1",
      "C[n+]1ccccc1",
      "[13CH3]C(=O)[O-]",
      "[CH2]C",
      "[CH3:1][OH:2]",
      "F/C=C/F",
      "F/C=C\\Cl",
      "C[C@H]1CC[C@@H](C)CC1",
      "N[C@@H](C)C(=O)O",
      "C1CCCCCCCCCCC1",
      "C12C3C4C5C6C7C8C9C%10C%11C1C2C3C4C5C6C7C8C9%10%11",
      "[Na+].[Cl-]",
      "CC(=O)[O-].[NH4+]",
      "O",
      "[H][H]",
      "C#N",
      "[Se]1C=CC=C1",
      "c1ccc2c(c1)[se]c1ccccc12",
      "B1=NB=NB=N1",
      "OP(=O)(O)OP(=O)(O)O",
      "CS(=O)(=O)N",
      "FS(F)(F)(F)(F)F",
  };
  int n = 0;
  for (const char* s : smiles) {
    std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(s));
    REQUIRE_MESSAGE(m, s);
    n += same_as_mol_to_smiles(*m, s);
    RDKit::MolOps::addHs(*m);
    n += same_as_mol_to_smiles(*m, std::string(s) + " with H");
  }
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator(test::shared_file("data/molecules"))) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".mol" && ext != ".sdf") continue;
    for (bool sanitize : {false, true}) {
      std::unique_ptr<RDKit::RWMol> m;
      try {
        m.reset(RDKit::MolFileToMol(entry.path().string(), sanitize, false));
      } catch (const std::exception&) {
        continue;  // the broken files of the set
      }
      if (!m || m->getNumAtoms() == 0) continue;
      m->updatePropertyCache(false);
      n += same_as_mol_to_smiles(*m, entry.path().filename().string() + (sanitize ? " sanitized" : ""));
    }
  }
  MESSAGE(n << " molecules compared");
  CHECK(n > 60);
}
