// input_limits.h: the one geometry and size check every reader format and every molecule consumer applies.
#include <GraphMol/Conformer.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "bmx/mol3d/input_limits.h"
#include "bmx/mol3d/molecule_io.h"
#include "shared.h"

using bmx::mol3d::geometry_problem;

namespace {

std::vector<RDGeom::Point3D> grid(int n, double spacing) {
  std::vector<RDGeom::Point3D> x;
  for (int i = 0; x.size() < std::size_t(n); ++i)
    for (int j = 0; j < 10 && x.size() < std::size_t(n); ++j)
      for (int k = 0; k < 10 && x.size() < std::size_t(n); ++k) x.emplace_back(i * spacing, j * spacing, k * spacing);
  return x;
}

}  // namespace

TEST_CASE("geometry_problem names the first problem and passes every molecule of the corpus") {
  CHECK(geometry_problem(grid(50, 1.0)).empty());
  CHECK(geometry_problem(std::vector<RDGeom::Point3D>(4, RDGeom::Point3D(2, 2, 2))) == "all 4 atoms at one point");
  auto x = grid(50, 1.0);
  x[31] = x[7] + RDGeom::Point3D(0.05, 0, 0);
  CHECK(geometry_problem(x) == "atoms 8 and 32 coincide (0.050 Å apart)");
  x = grid(50, 1.0);
  x[3].z = std::numeric_limits<double>::quiet_NaN();
  CHECK(geometry_problem(x) == "atom 4 has a non-finite coordinate");
  x[3].z = -2e5;
  CHECK(geometry_problem(x).find("atom 4 has a coordinate of -200000 Å") == 0);
  x[3].z = 9.99e4;  // within the limit
  CHECK(geometry_problem(x).empty());
  // Pairs that straddle grid cells are found too (0.099 Å apart across a cell boundary).
  x = grid(20, 1.0);
  x[19] = RDGeom::Point3D(x[5].x - 0.0495, x[5].y + 0.0495, x[5].z - 0.0495);
  CHECK(geometry_problem(x).find("coincide") != std::string::npos);
  // Bonded atoms too close for a bond (but not coincident).
  std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol("CC"));
  auto* conf = new RDKit::Conformer(2);
  conf->setAtomPos(1, RDGeom::Point3D(0.2, 0, 0));
  m->addConformer(conf, true);
  CHECK(geometry_problem(*m) == "bonded atoms 1 and 2 are 0.200 Å apart (a bond is at least 0.3 Å)");
  for (const auto& rec : bmx::mol3d::read_molecules((bmx::test::shared_dir() / "data/molecules/egfr_4.sdf").string()))
    if (rec.ok()) CHECK(geometry_problem(*rec.mol).empty());
}

TEST_CASE("the coincidence check is not quadratic: 100,000 atoms") {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(0, 1000);  // sparse: no pair within 0.1 Å, so every atom is checked
  std::vector<RDGeom::Point3D> x(100000);
  for (auto& p : x) p = RDGeom::Point3D(u(rng), u(rng), u(rng));
  const auto t0 = std::chrono::steady_clock::now();
  geometry_problem(x);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // All pairs would be 5e9 distances (minutes even unloaded); the grid takes ~0.05 s. The bound is far from both
  // so that a busy machine or a sanitizer build (3-10x slower) never fails it: it catches the complexity, not speed.
  CHECK(s < 30.0);
}

TEST_CASE("atom_count_problem states the count, the limit and the flag") {
  CHECK(bmx::mol3d::atom_count_problem(1000, 1000).empty());
  CHECK(bmx::mol3d::atom_count_problem(5, 0).empty());
  CHECK(bmx::mol3d::atom_count_problem(1001, 1000) == "1001 atoms, more than the limit of 1000 (--max-atoms raises it)");
}
