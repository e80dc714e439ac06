// Preprocessing (spec §1) of the 4 reference chains against the float64 reference's arrays in vectors/gcp/*.json.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bmx/prot3d/structure_reader.h"
#include "shared.h"

using namespace bmx::prot3d;
using nlohmann::json;

namespace {

json load(const std::string& name) { return json::parse(bmx::test::read_file(bmx::test::shared_file("vectors/gcp/" + name))); }

void check_chain(const std::string& vec, double tol_imputed) {
  const json j = load(vec);
  const std::string file = j["file"];
  const std::string chain = j["chain"];
  ReadOptions opt;
  opt.chain = chain;
  const auto dir = bmx::test::shared_file("vectors/gcp/inputs");
  const auto path = std::filesystem::exists(dir / file) ? dir / file : dir / (file + ".gz");
  StructureChains sc = read_protein_chains(path.string(), opt);
  REQUIRE(sc.chains.size() == 1);
  const ChainResult& cr = sc.chains[0];
  REQUIRE(cr.status == ChainStatus::ok);
  const BackboneChain& bb = cr.backbone;
  const int L = j["length"];
  REQUIRE(static_cast<int>(bb.size()) == L);
  CHECK(bb.sequence() == j["seq"].get<std::string>());
  std::vector<int> expected_pos = j["token_positions"].get<std::vector<int>>();
  CHECK(bb.observed_positions() == expected_pos);
  for (int i = 0; i < L; ++i) CHECK(bb.residues[i].observed == j["valid"][i].get<bool>());

  // Observed atoms are the file's values as float32, exactly.
  double max_raw = 0;
  for (int i = 0; i < L; ++i) {
    const json& row = j["coords_preprocessed"][i];
    for (int a = 0; a < 3; ++a) {
      if (row[a].is_null() || row[a][0].is_null()) {
        CHECK_FALSE(bb.residues[i].observed);
        continue;
      }
      if (a == 0 && i > 0 && !bb.residues[i - 1].observed) continue;  // step 9.4 moves this N
      for (int k = 0; k < 3; ++k) max_raw = std::max(max_raw, std::fabs(bb.coords[i][a][k] - row[a][k].get<double>()));
    }
  }
  CHECK(max_raw < 1e-4);

  // Filled coordinates: the reference recentres on the mean of all 4L atoms.
  double mean[3] = {0, 0, 0};
  for (int i = 0; i < L; ++i)
    for (int k = 0; k < 3; ++k) {
      for (int a = 0; a < 3; ++a) mean[k] += bb.coords[i][a][k];
      mean[k] += bb.oxygen[i][k];
    }
  for (double& m : mean) m /= 4.0 * L;
  double max_valid = 0, max_imputed = 0;
  for (int i = 0; i < L; ++i)
    for (int a = 0; a < 4; ++a) {
      const auto& p = a < 3 ? bb.coords[i][a] : bb.oxygen[i];
      double d = 0;
      for (int k = 0; k < 3; ++k) d = std::max(d, std::fabs(p[k] - mean[k] - j["coords_filled"][i][a][k].get<double>()));
      const bool imputed = !bb.residues[i].observed || (a == 0 && i > 0 && !bb.residues[i - 1].observed);
      (imputed ? max_imputed : max_valid) = std::max(imputed ? max_imputed : max_valid, d);
    }
  INFO(vec << " max valid " << max_valid << " max imputed " << max_imputed);
  CHECK(max_valid < 1e-4);
  CHECK(max_imputed < tol_imputed);
}

}  // namespace

TEST_CASE("preprocessing of the 4 reference chains equals the reference") {
  SUBCASE("1A8O A: HETATM MSE holes imputed, 66 observed of 69") {
    check_chain("1A8O_A.json", 2e-3);
    StructureChains sc = read_protein_chains(bmx::test::shared_file("vectors/gcp/inputs/1A8O.pdb.gz").string());
    REQUIRE(sc.chains.size() == 1);
    int named_holes = 0;
    for (const Residue& r : sc.chains[0].backbone.residues) named_holes += !r.observed && r.name == "MSE";
    CHECK(named_holes == 3);
    CHECK(sc.chains[0].backbone.observed_positions().size() == 66);
  }
  SUBCASE("1aki A: no gaps") { check_chain("1aki_A.json", 1e-4); }
  SUBCASE("7CFN R: mmCIF auth chain ids") { check_chain("7CFN_R.json", 1e-4); }
  SUBCASE("1igy B: numbering-gap rules, 43 imputed") { check_chain("1igy_B.json", 2e-3); }
}

TEST_CASE("impute_backbone leaves complete chains untouched and fills a gap with ideal bonds") {
  std::vector<std::array<Vec3, 4>> x;
  for (int i = 0; i < 6; ++i) {
    double s = 3.8 * i;
    x.push_back({Vec3{s - 1, 0.5, 0}, Vec3{s, 0, 0}, Vec3{s + 1, 0.5, 0}, Vec3{s + 1.2, 1.6, 0}});
  }
  auto y = x;
  std::vector<bool> v = impute_backbone(y);
  CHECK(std::all_of(v.begin(), v.end(), [](bool b) { return b; }));
  CHECK(y == x);
  for (auto& a : y[2]) a = {NAN, NAN, NAN};
  v = impute_backbone(y);
  CHECK_FALSE(v[2]);
  // Step 9.4 ends with ideal bonds inside the imputed residue and to its neighbours; observed CAs never move.
  auto dist = [](const Vec3& p, const Vec3& q) {
    return std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) + (p[2] - q[2]) * (p[2] - q[2]));
  };
  CHECK(dist(y[2][0], y[2][1]) == doctest::Approx(1.458));
  CHECK(dist(y[2][1], y[2][2]) == doctest::Approx(1.525));
  CHECK(dist(y[2][2], y[2][3]) == doctest::Approx(1.231));
  CHECK(dist(y[1][2], y[2][0]) == doctest::Approx(1.329));
  CHECK(dist(y[2][2], y[3][0]) == doctest::Approx(1.329));
  for (int i = 0; i < 6; ++i)
    if (i != 2) CHECK(y[i][1] == x[i][1]);
  for (int a = 0; a < 4; ++a)
    for (int k = 0; k < 3; ++k) CHECK(std::isfinite(y[2][a][k]));
}
