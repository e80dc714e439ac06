// Issues 16.2, 16.5 and 17 at the library: fragments of a salt feel each other, the atom types are RDKit's,
// degenerate or oversized molecules are refused instead of giving NaN or running away.
#include <GraphMol/Conformer.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "bmx/core/util/error.h"
#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/molecule_io.h"
#include "shared.h"

using bmx::forcefield::RefineOptions;

namespace {

std::unique_ptr<RDKit::RWMol> corpus(const std::string& file) {
  auto recs = bmx::mol3d::read_molecules((bmx::test::shared_dir() / "data/molecules" / file).string());
  REQUIRE(recs.size() == 1);
  REQUIRE(recs[0].ok());
  return std::move(recs[0].mol);
}

// Closest approach of two atoms of different fragments minus the sum of their covalent radii + 0.4 Å.
double clearance(const RDKit::ROMol& m) {
  std::vector<int> frag;
  RDKit::MolOps::getMolFrags(m, frag);
  const auto* t = RDKit::PeriodicTable::getTable();
  double worst = 1e9;
  for (unsigned i = 0; i < m.getNumAtoms(); ++i)
    for (unsigned j = i + 1; j < m.getNumAtoms(); ++j)
      if (frag[i] != frag[j])
        worst = std::min(worst, (m.getConformer().getAtomPos(i) - m.getConformer().getAtomPos(j)).length() -
                                    (t->getRcovalent(m.getAtomWithIdx(i)->getAtomicNum()) +
                                     t->getRcovalent(m.getAtomWithIdx(j)->getAtomicNum()) + 0.4));
  return worst;
}

// Moves the single-atom fragment (the counter-ion) to `d` Å from the first atom of another fragment.
void put_ion_near(RDKit::ROMol& m, double d) {
  std::vector<int> frag;
  RDKit::MolOps::getMolFrags(m, frag);
  for (unsigned i = 0; i < m.getNumAtoms(); ++i) {
    int count = 0;
    for (int f : frag) count += f == frag[i];
    if (count != 1) continue;
    unsigned near = 0;
    while (frag[near] == frag[i]) ++near;
    m.getConformer().setAtomPos(i, m.getConformer().getAtomPos(near) + RDGeom::Point3D(d, 0, 0));
    return;
  }
  FAIL("no single-atom fragment");
}

}  // namespace

TEST_CASE("a counter-ion placed on top of the cation is pushed off by the inter-fragment terms") {
  for (const char* file : {"methylammonium_chloride_salt.mol", "sodium_acetate_salt.mol"}) {
    INFO(file);
    auto m = corpus(file);
    put_ion_near(*m, 1.0);  // closer than any bound
    REQUIRE(clearance(*m) < 0);
    RDKit::RWMol ignored(*m);
    RefineOptions rdkit_default;
    rdkit_default.ignore_interfrag_interactions = true;
    bmx::forcefield::refine(ignored, rdkit_default);
    // With RDKit's default nothing moves the ion: it is still inside the bound.
    CHECK(clearance(ignored) < 0);
    auto r = bmx::forcefield::refine(*m);  // bmx's default: inter-fragment vdW and electrostatics
    CHECK(r.status == bmx::forcefield::RefineStatus::converged);
    CHECK(clearance(*m) >= 0);
  }
}

TEST_CASE("MMFF atom types are reported as RDKit's typer gives them") {
  auto m = corpus("cdk2_9.mol");
  auto r = bmx::forcefield::refine(*m);
  REQUIRE(r.atom_types.size() == m->getNumAtoms());
  RDKit::MMFF::MMFFMolProperties props(*m);
  for (unsigned i = 0; i < m->getNumAtoms(); ++i) CHECK(r.atom_types[i] == std::to_string(int(props.getMMFFAtomType(i))));
  CHECK(bmx::forcefield::atom_types_line(r).find(' ') != std::string::npos);
}

TEST_CASE("refine refuses degenerate geometry and molecules over the atom limit; nothing non-finite comes out") {
  auto m = corpus("cdk2_9.mol");
  {
    RDKit::RWMol one_point(*m);
    for (auto& p : one_point.getConformer().getPositions()) p = RDGeom::Point3D(1, 1, 1);
    CHECK_THROWS_WITH_AS(bmx::forcefield::refine(one_point), doctest::Contains("all 29 atoms at one point"),
                         bmx::InputError);
    CHECK_THROWS_AS(bmx::forcefield::energy(one_point, bmx::forcefield::ForceField::mmff94), bmx::InputError);
  }
  {
    RDKit::RWMol far(*m);
    far.getConformer().getAtomPos(3).y = 1e300;
    CHECK_THROWS_WITH_AS(bmx::forcefield::refine(far), doctest::Contains("atom 4 has a coordinate of 1e+300"),
                         bmx::InputError);
    far.getConformer().getAtomPos(3).y = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(bmx::forcefield::refine(far), doctest::Contains("non-finite"), bmx::InputError);
  }
  RefineOptions small;
  small.max_atoms = 28;
  CHECK_THROWS_WITH_AS(bmx::forcefield::refine(*m, small), doctest::Contains("29 atoms, more than the limit of 28"),
                       bmx::InputError);
  small.max_atoms = 29;
  auto r = bmx::forcefield::refine(*m, small);
  CHECK(std::isfinite(r.energy_after));
}
