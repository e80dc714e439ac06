#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/RWMol.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "bmx/mol3d/roundtrip.h"
#include "shared.h"

using namespace bmx;

namespace {

// L-alanine from the molecule corpus: one stereo centre.
std::unique_ptr<RDKit::RWMol> alanine() {
  auto path = test::shared_file("data/molecules/l_alanine_stereo.mol").string();
  return std::unique_ptr<RDKit::RWMol>(RDKit::MolFileToMol(path, true, false));
}

// The decoded side: atoms permuted (decoded k = input order[k]), coordinates moved rigidly or mirrored.
std::unique_ptr<RDKit::RWMol> permuted(const RDKit::ROMol& in, const std::vector<int>& order, double zsign) {
  std::vector<unsigned> perm(order.begin(), order.end());
  std::unique_ptr<RDKit::RWMol> out(new RDKit::RWMol(in));
  std::unique_ptr<RDKit::ROMol> ren(RDKit::MolOps::renumberAtoms(in, perm));
  out.reset(new RDKit::RWMol(*ren));
  auto& conf = out->getConformer();
  for (unsigned i = 0; i < out->getNumAtoms(); ++i) {
    auto p = conf.getAtomPos(i);
    conf.setAtomPos(i, RDGeom::Point3D(-p.y + 2.0, p.x - 1.0, zsign * p.z + 0.5));
  }
  return out;
}

}  // namespace

TEST_CASE("round-trip metrics: a rigidly moved, renumbered copy is perfect; its mirror image loses stereo") {
  auto in = alanine();
  REQUIRE(in);
  const int n = in->getNumAtoms();
  std::vector<int> order(n);
  for (int k = 0; k < n; ++k) order[k] = (k * 5 + 3) % n;  // a permutation (n = 13 is prime to 5)
  REQUIRE(n % 5 != 0);

  auto same = permuted(*in, order, 1.0);
  auto m = mol3d::compare_round_trip(*in, *same, order);
  CHECK(m.heavy_rmsd == doctest::Approx(0.0).epsilon(1e-9));
  CHECK(m.bond_dev_max == doctest::Approx(0.0).epsilon(1e-9));
  CHECK(m.same_graph);
  CHECK(m.stereo_centres == 1);
  CHECK(m.stereo_kept == 1);

  auto mirror = permuted(*in, order, -1.0);
  auto mm = mol3d::compare_round_trip(*in, *mirror, order);
  CHECK(mm.bond_dev_max == doctest::Approx(0.0).epsilon(1e-9));  // bond lengths survive a mirror
  CHECK(mm.stereo_kept == 0);
  CHECK(mm.heavy_rmsd > 0.1);
}
