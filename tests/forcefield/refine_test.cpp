// Refinement against the MolStrucTok reference's MMFF step (shared/vectors/molstructok/public.jsonl) and the
// molecules MMFF cannot type.
#include <doctest/doctest.h>

#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <atomic>
#include <cmath>
#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/core/util/parallel.h"
#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/molecule_io.h"
#include "records.h"
#include "shared.h"

using bmx::forcefield::ForceField;
using bmx::forcefield::RefineOptions;
using bmx::forcefield::RefineStatus;
using nlohmann::json;

namespace {

using bmx::test::Case;
using bmx::test::decoded_case;

std::vector<json> vectors() { return bmx::test::vector_records(); }

double max_deviation(const RDKit::ROMol& mol, const json& coords) {
  double worst = 0;
  const auto& conf = mol.getConformer();
  for (unsigned i = 0; i < mol.getNumAtoms(); ++i) {
    const auto& p = conf.getAtomPos(i);
    worst = std::max({worst, std::abs(p.x - coords[i][0].get<double>()), std::abs(p.y - coords[i][1].get<double>()),
                      std::abs(p.z - coords[i][2].get<double>())});
  }
  return worst;
}

Case file_case(const std::string& file) {
  auto recs = bmx::mol3d::read_molecules(bmx::test::shared_file("data/molecules/" + file).string());
  REQUIRE(recs.size() == 1);
  REQUIRE(recs[0].ok());
  Case c;
  c.name = file;
  c.mol = std::move(recs[0].mol);
  return c;
}

}  // namespace

// How far refinement moves when the start moves by the vectors' rounding (decoded_coords have 6 decimals):
// where the MMFF surface is flat (free rotors, symmetric tops), BFGS paths from starts 1e-6 A apart end
// up to ~1e-2 A apart at the same energy, so no implementation can promise 1e-3 A there.
double start_sensitivity(const json& rec, const RDKit::ROMol& refined) {
  double worst = 0;
  for (int probe = 0; probe < 3; ++probe) {
    Case p = decoded_case(rec);
    auto& conf = p.mol->getConformer();
    for (unsigned i = 0; i < p.mol->getNumAtoms(); ++i) {
      double s = ((i + probe) % 3 == 0 ? 1e-6 : -5e-7);
      conf.getAtomPos(i)[probe] += s;
    }
    bmx::forcefield::refine(*p.mol);
    for (unsigned i = 0; i < p.mol->getNumAtoms(); ++i)
      worst = std::max(worst, (conf.getAtomPos(i) - refined.getConformer().getAtomPos(i)).length());
  }
  return worst;
}

TEST_CASE("MMFF94 parity with the reference on every converged public record") {
  auto recs = vectors();
  int checked = 0, within = 0, flat = 0;
  double worst_xyz = 0, worst_e = 0;
  for (const auto& rec : recs) {
    if (rec["mmff_return"].get<int>() != 0) continue;
    Case c = decoded_case(rec);
    INFO(c.name);
    // Same graph as the reference's decoded molecule.
    CHECK(RDKit::MolToSmiles(*c.mol, /*doIsomericSmiles=*/false) == rec["decoded_smiles"].get<std::string>());
    auto res = bmx::forcefield::refine(*c.mol);
    CHECK(res.status == RefineStatus::converged);
    CHECK(res.force_field == ForceField::mmff94);
    CHECK(res.energy_after <= res.energy_before);
    double dx = max_deviation(*c.mol, rec["mmff_coords"]);
    double de = std::abs(res.energy_after - rec["mmff_energy"].get<double>());
    CHECK(de < 1e-3);
    if (dx < 1e-3) {
      ++within;
    } else {
      double sensitivity = start_sensitivity(rec, *c.mol);
      INFO("deviation " << dx << " A; moving the start by 1e-6 A moves the result " << sensitivity << " A");
      CHECK(sensitivity > 1e-4);  // only flat surfaces may miss 1e-3 A
      CHECK(dx < 0.05);
      ++flat;
    }
    // The energy of the refined conformer, computed afresh, is the one reported.
    CHECK(std::abs(bmx::forcefield::energy(*c.mol, ForceField::mmff94) - res.energy_after) < 1e-6);
    worst_xyz = std::max(worst_xyz, dx);
    worst_e = std::max(worst_e, de);
    ++checked;
  }
  MESSAGE("MMFF94 parity over " << checked << " records: " << within << " within 1e-3 A, " << flat
                                << " on flat surfaces; max coordinate deviation " << worst_xyz
                                << " A, max energy deviation " << worst_e << " kcal/mol");
  CHECK(checked >= 200);
  CHECK(within >= 0.95 * checked);
}

TEST_CASE("records the reference could not refine: not converged after 200 iterations, no parameters") {
  int not_converged = 0, no_params = 0;
  for (const auto& rec : vectors()) {
    int ret = rec["mmff_return"].get<int>();
    if (ret == 0) continue;
    Case c = decoded_case(rec);
    INFO(c.name);
    RefineOptions strict;
    strict.uff_fallback = false;
    auto before = c.mol->getConformer().getPositions();
    auto res = bmx::forcefield::refine(*c.mol, strict);
    if (ret == 1) {
      ++not_converged;
      CHECK(res.status == RefineStatus::not_converged);
      CHECK(res.energy_after < res.energy_before);
    } else {
      ++no_params;
      CHECK(res.status == RefineStatus::no_parameters);
      CHECK(std::isnan(res.energy_after));
      CHECK(res.message.find("MMFF94: no parameters") != std::string::npos);
      // Left exactly as decoded.
      const auto& after = c.mol->getConformer().getPositions();
      for (std::size_t i = 0; i < after.size(); ++i) CHECK((after[i] - before[i]).length() == 0.0);
      // With the fallback, UFF refines it.
      Case again = decoded_case(rec);
      auto fb = bmx::forcefield::refine(*again.mol);
      CHECK(fb.status != RefineStatus::no_parameters);
      CHECK(fb.force_field == ForceField::uff);
      CHECK(fb.energy_after < fb.energy_before);
      CHECK(fb.message.find("UFF used") != std::string::npos);
    }
  }
  CHECK(not_converged >= 1);
  CHECK(no_params >= 1);
}

TEST_CASE("UFF takes over where MMFF has no parameters: Se and B; Si has MMFF parameters") {
  for (const auto* file : {"ebselen_se.mol", "phenylboronic_acid_b.mol"}) {
    INFO(file);
    Case c = file_case(file);
    Case strict_case = file_case(file);
    RefineOptions strict;
    strict.uff_fallback = false;
    auto before = strict_case.mol->getConformer().getPositions();
    auto none = bmx::forcefield::refine(*strict_case.mol, strict);
    CHECK(none.status == RefineStatus::no_parameters);
    CHECK(none.force_field == ForceField::mmff94);
    CHECK(none.message.find("MMFF94: no parameters for") != std::string::npos);
    CHECK(std::isnan(bmx::forcefield::energy(*strict_case.mol, ForceField::mmff94)));
    const auto& after = strict_case.mol->getConformer().getPositions();
    for (std::size_t i = 0; i < after.size(); ++i) CHECK((after[i] - before[i]).length() == 0.0);

    auto res = bmx::forcefield::refine(*c.mol);
    CHECK(res.status == RefineStatus::converged);
    CHECK(res.force_field == ForceField::uff);
    CHECK(res.message.find("UFF used") != std::string::npos);
    CHECK(std::isfinite(res.energy_before));
    CHECK(res.energy_after < res.energy_before);
    CHECK(std::abs(bmx::forcefield::energy(*c.mol, ForceField::uff) - res.energy_after) < 1e-6);
  }
  // Aromatic Se has no exact UFF type in RDKit's typer: the generic Se type is used and said so.
  Case se = file_case("ebselen_se.mol");
  auto r = bmx::forcefield::refine(*se.mol);
  CHECK(r.message.find("Se3+2") != std::string::npos);

  // MMFF94 types silicon (the reference refines TBDMS ethers with it): no fallback there.
  Case si = file_case("tbdms_ether_si.mol");
  auto rs = bmx::forcefield::refine(*si.mol);
  CHECK(rs.force_field == ForceField::mmff94);
  CHECK(rs.status == RefineStatus::converged);
  CHECK(rs.energy_after < rs.energy_before);
  // UFF can be asked for directly.
  Case si_uff = file_case("tbdms_ether_si.mol");
  RefineOptions uff;
  uff.force_field = ForceField::uff;
  auto ru = bmx::forcefield::refine(*si_uff.mol, uff);
  CHECK(ru.force_field == ForceField::uff);
  CHECK(ru.status == RefineStatus::converged);
  CHECK(ru.energy_after < ru.energy_before);
}

TEST_CASE("MMFF94s differs from MMFF94 at delocalised nitrogens and agrees elsewhere") {
  // MMFF94s changes out-of-plane and torsion terms only around conjugated trivalent nitrogens, so the
  // aminopurine of cdk2 record 2 (planar NH2 in MMFF94s) moves; alprazolam (no such N) does not.
  auto read = [](const std::string& file, std::size_t k) {
    auto recs = bmx::mol3d::read_molecules(bmx::test::shared_file("data/molecules/" + file).string());
    REQUIRE(recs.size() > k);
    REQUIRE(recs[k].ok());
    return std::move(recs[k].mol);
  };
  RefineOptions s;
  s.force_field = ForceField::mmff94s;
  auto amine94 = read("cdk2_5.sdf", 1), amine94s = read("cdk2_5.sdf", 1);
  CHECK(std::abs(bmx::forcefield::energy(*amine94, ForceField::mmff94) -
                 bmx::forcefield::energy(*amine94, ForceField::mmff94s)) > 0.1);
  auto r94 = bmx::forcefield::refine(*amine94);
  auto r94s = bmx::forcefield::refine(*amine94s, s);
  CHECK(r94.force_field == ForceField::mmff94);
  CHECK(r94s.force_field == ForceField::mmff94s);
  CHECK(r94s.energy_after < r94s.energy_before);
  double moved = 0;
  for (unsigned i = 0; i < amine94->getNumAtoms(); ++i)
    moved = std::max(moved, (amine94->getConformer().getAtomPos(i) - amine94s->getConformer().getAtomPos(i)).length());
  CHECK(moved > 0.05);

  auto plain94 = read("bzr_noH_5.sdf", 0), plain94s = read("bzr_noH_5.sdf", 0);
  auto p94 = bmx::forcefield::refine(*plain94);
  auto p94s = bmx::forcefield::refine(*plain94s, s);
  CHECK(p94.energy_before == doctest::Approx(p94s.energy_before).epsilon(1e-12));
  CHECK(p94.energy_after == doctest::Approx(p94s.energy_after).epsilon(1e-12));
}

TEST_CASE("iteration count: fewer iterations stop earlier at a higher energy") {
  Case few = file_case("cdk2_7.mol"), many = file_case("cdk2_7.mol");
  RefineOptions o;
  o.max_iters = 3;
  auto r3 = bmx::forcefield::refine(*few.mol, o);
  o.max_iters = 2000;
  auto rn = bmx::forcefield::refine(*many.mol, o);
  CHECK(r3.status == RefineStatus::not_converged);
  CHECK(rn.status == RefineStatus::converged);
  CHECK(r3.energy_before == doctest::Approx(rn.energy_before));
  CHECK(r3.energy_after < r3.energy_before);
  CHECK(rn.energy_after < r3.energy_after);
}

TEST_CASE("refinement from many threads gives the single-thread results") {
  auto recs = vectors();
  std::vector<Case> serial, parallel;
  for (const auto& rec : recs) {
    serial.push_back(decoded_case(rec));
    parallel.push_back(decoded_case(rec));
  }
  std::vector<double> e_serial(recs.size()), e_parallel(recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) e_serial[i] = bmx::forcefield::refine(*serial[i].mol).energy_after;
  std::atomic<int> failures{0};
  bmx::parallel_for(recs.size(), 4, [&](std::size_t i) {
    try {
      e_parallel[i] = bmx::forcefield::refine(*parallel[i].mol).energy_after;
    } catch (...) {
      ++failures;
    }
  });
  CHECK(failures == 0);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    INFO(serial[i].name);
    if (std::isnan(e_serial[i])) {
      CHECK(std::isnan(e_parallel[i]));
      continue;
    }
    CHECK(e_parallel[i] == e_serial[i]);
    CHECK(max_deviation(*parallel[i].mol, [&] {
            json j = json::array();
            for (const auto& p : serial[i].mol->getConformer().getPositions()) j.push_back({p.x, p.y, p.z});
            return j;
          }()) == 0.0);
  }
}

TEST_CASE("bad input: no conformer, NaN coordinates, unknown force field name") {
  Case c = file_case("methane.mol");
  c.mol->getConformer().getAtomPos(0).x = std::nan("");
  c.mol->setProp("_Name", std::string("decoded#3"));
  CHECK_THROWS_WITH_AS(bmx::forcefield::refine(*c.mol), doctest::Contains("decoded#3"), bmx::InputError);
  RDKit::RWMol bare(*c.mol);
  bare.clearConformers();
  CHECK_THROWS_AS(bmx::forcefield::refine(bare), bmx::InputError);
  CHECK(bmx::forcefield::parse_force_field("MMFF94s") == ForceField::mmff94s);
  CHECK(bmx::forcefield::parse_force_field("uff") == ForceField::uff);
  CHECK_THROWS_AS(bmx::forcefield::parse_force_field("amber"), bmx::InputError);
  CHECK(std::string(bmx::forcefield::name(RefineStatus::not_converged)) == "not_converged");
}
