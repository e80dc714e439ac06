// The flat MMFF evaluation and minimiser (forcefield/src/mmff_flat.h, internal) held against RDKit's own force
// field on the public vector records: energies and gradients at fixed geometries, and whole minimisations.
#include <doctest/doctest.h>

#include <ForceField/ForceField.h>
#include <GraphMol/ForceFieldHelpers/MMFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/MMFF/Builder.h>
#include <GraphMol/ForceFieldHelpers/UFF/Builder.h>
#include <GraphMol/MolOps.h>

#include <cmath>
#include <memory>
#include <vector>

#include "bmx/forcefield/refine.h"
#include "mmff_flat.h"
#include "records.h"

using bmx::forcefield::MmffTerms;

namespace {

std::vector<double> positions(const RDKit::ROMol& mol) {
  std::vector<double> pos;
  for (const auto& p : mol.getConformer().getPositions()) pos.insert(pos.end(), {p.x, p.y, p.z});
  return pos;
}

struct Rdkit {
  std::unique_ptr<RDKit::MMFF::MMFFMolProperties> props;
  std::unique_ptr<ForceFields::ForceField> ff;
};

// RDKit's MMFF force field as MMFFOptimizeMolecule builds it (nonBondedThresh 100, no interfragment terms),
// or an empty one when MMFF cannot type the molecule.
Rdkit rdkit_ff(RDKit::ROMol& mol, const std::string& variant = "MMFF94",
               std::uint8_t diel_model = RDKit::MMFF::CONSTANT) {
  Rdkit r;
  r.props = std::make_unique<RDKit::MMFF::MMFFMolProperties>(mol, variant);
  if (!r.props->isValid()) return r;
  r.props->setMMFFDielectricModel(diel_model);
  r.ff.reset(RDKit::MMFF::constructForceField(mol, r.props.get(), 100.0, -1, true));
  r.ff->initialize();
  return r;
}

std::size_t num_terms(const MmffTerms& t) {
  return t.bonds.size() + t.angles.size() + t.stretch_bends.size() + t.out_of_planes.size() + t.torsions.size() +
         t.vdw.i.size() + t.electrostatic.i.size();
}

// Compares energy and gradient at the molecule's coordinates; true when both are bit-identical.
bool same_energy_and_gradient(RDKit::ROMol& mol, const std::string& variant, std::uint8_t diel_model) {
  Rdkit r = rdkit_ff(mol, variant, diel_model);
  REQUIRE(r.ff);
  MmffTerms terms;
  REQUIRE(bmx::forcefield::mmff_terms(*r.ff, terms));
  CHECK(num_terms(terms) == r.ff->contribs().size());
  CHECK(terms.num_atoms == static_cast<int>(mol.getNumAtoms()));
  auto pos = positions(mol);

  double e_rdkit = r.ff->calcEnergy();
  double e = bmx::forcefield::mmff_energy(terms, pos.data());
  CHECK(std::abs(e - e_rdkit) <= 1e-8 * std::max(1.0, std::abs(e_rdkit)));

  std::vector<double> g_rdkit(pos.size(), 0.0), g(pos.size(), 0.0);
  r.ff->calcGrad(g_rdkit.data());
  bmx::forcefield::mmff_gradient(terms, pos.data(), g.data());
  double scale = 1.0, worst = 0.0;
  for (double v : g_rdkit) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - g_rdkit[i]));
  CHECK(worst <= 1e-8 * scale);
  return e == e_rdkit && g == g_rdkit;
}

}  // namespace

TEST_CASE("flat MMFF terms: RDKit's energy and gradient at decoded and refined geometries") {
  int checked = 0, identical = 0;
  bool saw_ele = false, saw_oop = false;
  for (const auto& rec : bmx::test::vector_records()) {
    auto c = bmx::test::decoded_case(rec);
    INFO(c.name);
    Rdkit probe = rdkit_ff(*c.mol);
    if (!probe.ff) continue;
    MmffTerms terms;
    REQUIRE(bmx::forcefield::mmff_terms(*probe.ff, terms));
    saw_ele |= !terms.electrostatic.i.empty();
    saw_oop |= !terms.out_of_planes.empty();

    identical += same_energy_and_gradient(*c.mol, "MMFF94", RDKit::MMFF::CONSTANT);
    // The variant and the dielectric model change the oop/torsion parameters and the Coulomb term.
    identical += same_energy_and_gradient(*c.mol, "MMFF94s", RDKit::MMFF::DISTANCE);
    // At the reference's refined geometry, near the minimum where gradients are small.
    const auto& xyz = rec["mmff_coords"];
    if (xyz.is_array() && xyz.size() == c.mol->getNumAtoms()) {
      auto& conf = c.mol->getConformer();
      for (unsigned i = 0; i < xyz.size(); ++i) conf.setAtomPos(i, RDGeom::Point3D(xyz[i][0], xyz[i][1], xyz[i][2]));
      identical += same_energy_and_gradient(*c.mol, "MMFF94", RDKit::MMFF::CONSTANT);
      ++checked;
    }
    checked += 2;
  }
  MESSAGE("flat MMFF energy and gradient: " << identical << " of " << checked << " evaluations bit-identical to RDKit");
  CHECK(checked >= 600);
  CHECK(saw_ele);
  CHECK(saw_oop);
}

TEST_CASE("refine's MMFF minimisation follows RDKit's constructForceField + minimize") {
  int checked = 0, identical = 0, not_converged = 0;
  double worst_xyz = 0, worst_e = 0;
  struct Run {
    const char* variant;
    bmx::forcefield::ForceField ff;
    int max_iters;
  };
  const Run runs[] = {{"MMFF94", bmx::forcefield::ForceField::mmff94, 200},
                      {"MMFF94", bmx::forcefield::ForceField::mmff94, 7},
                      {"MMFF94s", bmx::forcefield::ForceField::mmff94s, 200}};
  for (const auto& rec : bmx::test::vector_records()) {
    for (const auto& run : runs) {
      auto ours = bmx::test::decoded_case(rec);
      auto theirs = bmx::test::decoded_case(rec);
      INFO(ours.name << " " << run.variant << " max_iters " << run.max_iters);
      Rdkit r = rdkit_ff(*theirs.mol, run.variant);
      if (!r.ff) continue;
      int rc = r.ff->minimize(run.max_iters);
      bmx::forcefield::RefineOptions o;
      o.force_field = run.ff;
      o.max_iters = run.max_iters;
      auto res = bmx::forcefield::refine(*ours.mol, o);
      CHECK(res.force_field == run.ff);
      CHECK((res.status == bmx::forcefield::RefineStatus::converged) == (rc == 0));
      not_converged += rc != 0;

      auto a = positions(*ours.mol), b = positions(*theirs.mol);
      double dx = 0;
      for (std::size_t i = 0; i < a.size(); ++i) dx = std::max(dx, std::abs(a[i] - b[i]));
      // RDKit's energy of its result, from a fresh force field (a used one caches distances).
      double e_rdkit = rdkit_ff(*theirs.mol, run.variant).ff->calcEnergy();
      double de = std::abs(res.energy_after - e_rdkit);
      CHECK(dx <= 1e-6);
      CHECK(de <= 1e-8 * std::max(1.0, std::abs(e_rdkit)));
      identical += a == b && res.energy_after == e_rdkit;
      worst_xyz = std::max(worst_xyz, dx);
      worst_e = std::max(worst_e, de);
      ++checked;
    }
  }
  MESSAGE("minimisations: " << identical << " of " << checked << " bit-identical to RDKit's; max coordinate difference "
                            << worst_xyz << " A, max energy difference " << worst_e << " kcal/mol");
  CHECK(checked >= 600);
  CHECK(not_converged >= 1);  // the 7-iteration runs stop early
}

TEST_CASE("two-fragment molecules: interfragment terms left out (or kept) exactly as RDKit does") {
  auto recs = bmx::test::vector_records();
  REQUIRE(recs.size() > 12);
  int checked = 0;
  for (std::size_t k = 0; k + 1 < 12; k += 2) {
    auto a = bmx::test::decoded_case(recs[k]), b = bmx::test::decoded_case(recs[k + 1]);
    INFO(a.name << " + " << b.name);
    // b placed 6 A beside a: well inside the nonbonded threshold.
    for (auto& p : b.mol->getConformer().getPositions()) p.x += 6.0;
    RDKit::RWMol salt(*a.mol);
    salt.insertMol(*b.mol);
    salt.getRingInfo()->reset();  // the inserted atoms' rings are not in it
    RDKit::MolOps::findSSSR(salt);
    REQUIRE(salt.getNumConformers() == 1);
    REQUIRE(salt.getConformer().getNumAtoms() == salt.getNumAtoms());
    std::vector<double> energies;
    for (bool ignore : {true, false}) {
      RDKit::RWMol ours(salt), theirs(salt);
      RDKit::MMFF::MMFFMolProperties props(theirs);
      if (!props.isValid()) break;
      std::unique_ptr<ForceFields::ForceField> ff(RDKit::MMFF::constructForceField(theirs, &props, 100.0, -1, ignore));
      ff->initialize();
      int rc = ff->minimize(200);
      bmx::forcefield::RefineOptions o;
      o.ignore_interfrag_interactions = ignore;
      auto res = bmx::forcefield::refine(ours, o);
      CHECK((res.status == bmx::forcefield::RefineStatus::converged) == (rc == 0));
      CHECK(positions(ours) == positions(theirs));
      energies.push_back(res.energy_after);
      ++checked;
    }
    if (energies.size() == 2) CHECK(energies[0] != energies[1]);  // the interfragment terms mattered
  }
  CHECK(checked >= 8);
}

TEST_CASE("flat MMFF terms: shared geometry (stretch-bend from angle, Coulomb from vdW pairs) changes nothing") {
  int shared_angles = 0, shared_pairs = 0, checked = 0;
  for (const auto& rec : bmx::test::vector_records()) {
    auto c = bmx::test::decoded_case(rec);
    INFO(c.name);
    Rdkit r = rdkit_ff(*c.mol);
    if (!r.ff) continue;
    MmffTerms shared;
    REQUIRE(bmx::forcefield::mmff_terms(*r.ff, shared));
    for (const auto& sb : shared.stretch_bends) shared_angles += sb.angle >= 0;
    shared_pairs += shared.electrostatic.vdw_index.size();
    // The same terms computing everything themselves.
    MmffTerms own = shared;
    for (auto& sb : own.stretch_bends) sb.angle = -1;
    own.electrostatic.vdw_index.clear();
    auto pos = positions(*c.mol);
    CHECK(bmx::forcefield::mmff_energy(own, pos.data()) == bmx::forcefield::mmff_energy(shared, pos.data()));
    std::vector<double> g_own(pos.size(), 0.0), g_shared(pos.size(), 0.0);
    bmx::forcefield::mmff_gradient(own, pos.data(), g_own.data());
    bmx::forcefield::mmff_gradient(shared, pos.data(), g_shared.data());
    CHECK(g_own == g_shared);
    ++checked;
  }
  CHECK(checked >= 200);
  CHECK(shared_angles > 0);
  CHECK(shared_pairs > 0);
}

TEST_CASE("flat MMFF terms refuse force fields they do not reproduce") {
  auto recs = bmx::test::vector_records();
  REQUIRE(!recs.empty());
  auto c = bmx::test::decoded_case(recs.front());
  Rdkit r = rdkit_ff(*c.mol);
  REQUIRE(r.ff);
  MmffTerms terms;
  CHECK(bmx::forcefield::mmff_terms(*r.ff, terms));
  r.ff->fixedPoints().push_back(0);
  CHECK_FALSE(bmx::forcefield::mmff_terms(*r.ff, terms));
  std::unique_ptr<ForceFields::ForceField> uff(RDKit::UFF::constructForceField(*c.mol));
  CHECK_FALSE(bmx::forcefield::mmff_terms(*uff, terms));
}
