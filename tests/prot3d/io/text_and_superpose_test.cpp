// Token text forms (biomatrix_format.md §3) and the structure comparison used by `bmx prot eval`.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "bmx/core/util/error.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/core/geom/superpose.h"
#include "bmx/prot3d/token_text.h"
#include "shared.h"

using namespace bmx::prot3d;
using bmx::superposed_rmsd;
using bmx::tm_score;

TEST_CASE("protein token segments are written and read in every accepted form") {
  CHECK(format_struct_segment({4012, 153, 0}) == "<|prot_3d_start|><S 4012><S 153><S 0><|prot_3d_end|>");
  CHECK(format_aa_segment("MRA") == "<|prot_aa_start|><A M><A R><A A><|prot_aa_end|>");
  const std::vector<int> want = {4012, 153, 0};
  CHECK(parse_struct_tokens("<|prot_3d_start|><S 4012><S 153><S 0><|prot_3d_end|>") == want);
  CHECK(parse_struct_tokens("<S 4012> <S 153><S 0>") == want);
  CHECK(parse_struct_tokens("4012 153 0") == want);
  CHECK(parse_struct_tokens("[4012, 153, 0]\n") == want);
  CHECK_THROWS_AS(parse_struct_tokens("4012 153 4096"), bmx::InputError);          // outside the codebook
  CHECK_THROWS_AS(parse_struct_tokens("<S 12><S x>"), bmx::InputError);
  CHECK_THROWS_AS(parse_struct_tokens("12 ab"), bmx::InputError);
  CHECK_THROWS_AS(parse_struct_tokens("<|prot_3d_start|><|prot_3d_end|>"), bmx::InputError);
  CHECK(parse_struct_tokens("511 3", 512) == std::vector<int>{511, 3});
  CHECK_THROWS_AS(parse_struct_tokens("512", 512), bmx::InputError);
  CHECK(parse_aa_sequence("<|prot_aa_start|><A M><A R><A A><|prot_aa_end|>") == "MRA");
  CHECK(parse_aa_sequence("mra\n") == "MRA");
  CHECK_THROWS_AS(parse_aa_sequence("MR1"), bmx::InputError);
}

TEST_CASE("superposed RMSD and TM-score") {
  const StructureChains sc = read_protein_chains(bmx::test::shared_file("data/proteins/1aki.pdb").string());
  std::vector<Vec3> ca;
  for (const auto& r : sc.chains.at(0).backbone.coords) ca.push_back(r[1]);
  // A rigid motion changes neither.
  const double c = std::cos(0.7), s = std::sin(0.7);
  std::vector<Vec3> moved;
  for (const Vec3& p : ca) moved.push_back({c * p[0] - s * p[1] + 5, s * p[0] + c * p[1] - 3, p[2] + 11});
  CHECK(superposed_rmsd(moved, ca) < 1e-6);
  CHECK(tm_score(moved, ca) == doctest::Approx(1.0).epsilon(1e-9));
  // Noise of 1 Å per coordinate: RMSD about sqrt(3), TM-score between 0.5 and 0.95.
  std::mt19937 rng(7);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<Vec3> noisy = moved;
  for (Vec3& p : noisy)
    for (double& x : p) x += n(rng);
  const double rmsd = superposed_rmsd(noisy, ca);
  CHECK(rmsd > 1.4);
  CHECK(rmsd < 2.0);
  const double tm = tm_score(noisy, ca);
  CHECK(tm > 0.5);
  CHECK(tm < 0.95);
  // The mirror image has the same distances but cannot be superposed.
  std::vector<Vec3> mirror;
  for (const Vec3& p : ca) mirror.push_back({-p[0], p[1], p[2]});
  CHECK(superposed_rmsd(mirror, ca) > 5.0);
  CHECK(tm_score(mirror, ca) < 0.5);
  // A structure that is half right: TM-score finds the right half (the plain global fit would blur both halves).
  std::vector<Vec3> half = ca;
  for (std::size_t i = half.size() / 2; i < half.size(); ++i) half[i] = {half[i][0] + 30, half[i][1], half[i][2]};
  CHECK(tm_score(half, ca) > 0.45);
  CHECK_THROWS(superposed_rmsd({}, {}));
}
