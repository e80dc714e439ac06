#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "bmx/core/geom/superpose.h"

using namespace bmx;

namespace {

std::vector<Vec3> random_points(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 5.0);
  std::vector<Vec3> p(n);
  for (auto& x : p) x = {g(rng), g(rng), g(rng)};
  return p;
}

std::vector<Vec3> rotate_translate(const std::vector<Vec3>& p) {
  const double c = std::cos(0.7), s = std::sin(0.7);
  std::vector<Vec3> q;
  for (auto& x : p) q.push_back({c * x[0] - s * x[1] + 3.0, s * x[0] + c * x[1] - 1.0, x[2] + 7.0});
  return q;
}

}  // namespace

TEST_CASE("superpose: rigid motion gives zero RMSD, a mirror image does not") {
  auto p = random_points(40, 1);
  auto q = rotate_translate(p);
  CHECK(superposed_rmsd(p, q) == doctest::Approx(0.0).epsilon(1e-9));
  auto m = p;
  for (auto& x : m) x[2] = -x[2];
  CHECK(superposed_rmsd(m, p) > 1.0);
}

TEST_CASE("superpose: known RMSD of a uniform offset along one point's axis") {
  std::vector<Vec3> a = {{0, 0, 0}, {1, 0, 0}}, b = {{0, 0, 0}, {3, 0, 0}};
  // best fit of two segments of length 1 and 3: centroids coincide, error 1 at each end.
  CHECK(superposed_rmsd(a, b) == doctest::Approx(1.0));
}

TEST_CASE("tm_score: 1 for identical structures, low for unrelated ones, invariant to rigid motion") {
  auto p = random_points(100, 2);
  CHECK(tm_score(p, p) == doctest::Approx(1.0));
  CHECK(tm_score(rotate_translate(p), p) == doctest::Approx(1.0));
  CHECK(tm_score(random_points(100, 3), p) < 0.3);
}
