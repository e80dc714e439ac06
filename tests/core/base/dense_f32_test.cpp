// DenseF32 and NearestF32 against plain double-precision references; the pruned nearest-code search
// against the exhaustive one (same indices and distances, ties included).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "bmx/core/nn/dense_f32.h"

using bmx::DenseF32;
using bmx::NearestF32;

namespace {

// A codebook like a trained VQ one: most variance in a few directions, some dead (zero) codes, some exact
// duplicates (ties), sizes not a multiple of 8.
std::vector<float> codebook(int size, int dim, int rank, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> dirs(std::size_t(rank) * dim);
  for (float& v : dirs) v = g(rng);
  std::vector<float> e(std::size_t(size) * dim);
  for (int k = 0; k < size; ++k) {
    for (int d = 0; d < dim; ++d) {
      float v = 0.05f * g(rng);
      for (int r = 0; r < rank; ++r) v += dirs[std::size_t(r) * dim + d] * g(rng) / float(r + 1);
      e[std::size_t(k) * dim + d] = v;
    }
  }
  for (int k = 0; k < size; k += 37)
    for (int d = 0; d < dim; ++d) e[std::size_t(k) * dim + d] = 0.f;
  for (int k = 5; k + 3 < size; k += 41)
    for (int d = 0; d < dim; ++d) e[std::size_t(k + 3) * dim + d] = e[std::size_t(k) * dim + d];
  return e;
}

}  // namespace

TEST_CASE("pruned nearest-code search equals the exhaustive scan") {
  for (int size : {512, 300, 17}) {
    for (int rank : {4, 64}) {
      const int dim = 64;
      std::vector<float> e = codebook(size, dim, rank, std::uint32_t(size * 7 + rank));
      NearestF32 q(e.data(), size, dim);
      CHECK(q.proj_dim == 8);
      std::mt19937 rng(99);
      std::normal_distribution<float> g(0.f, 1.f);
      const std::size_t rows = 400;
      std::vector<float> z(rows * dim);
      for (std::size_t r = 0; r < rows; ++r) {
        int near = int(rng() % unsigned(size));
        for (int d = 0; d < dim; ++d) {
          float base = r % 3 == 0 ? e[std::size_t(near) * dim + d] : 0.f;  // on or near a codeword
          z[r * dim + d] = base + (r % 3 == 0 ? 1e-3f : 1.f) * g(rng);
        }
        if (r % 50 == 7)  // exactly on a duplicated codeword: a tie the first index must win
          for (int d = 0; d < dim; ++d) z[r * dim + d] = e[std::size_t(5) * dim + d];
      }
      for (std::size_t r = 13; r < rows; r += 50) {  // midway between two codewords: a near tie
        std::size_t a = r % std::size_t(size), c = (r * 7 + 3) % std::size_t(size);
        for (int d = 0; d < dim; ++d) z[r * dim + d] = 0.5f * (e[a * dim + d] + e[c * dim + d]);
      }
      for (int d = 0; d < dim; ++d) z[11 * dim + d] = std::numeric_limits<float>::quiet_NaN();
      std::vector<int> b1(rows), s1(rows), b2(rows), s2(rows);
      std::vector<float> d1(rows), t1(rows), d2(rows), t2(rows);
      q.search(z.data(), rows, b1.data(), d1.data(), s1.data(), t1.data());
      q.search_exhaustive(z.data(), rows, b2.data(), d2.data(), s2.data(), t2.data());
      int mismatches = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        bool same = b1[r] == b2[r] && s1[r] == s2[r] &&
                    (std::isnan(d2[r]) ? std::isnan(d1[r]) : d1[r] == d2[r]) &&
                    (std::isnan(t2[r]) ? std::isnan(t1[r]) : t1[r] == t2[r]);
        mismatches += !same;
      }
      INFO("size " << size << " rank " << rank);
      CHECK(mismatches == 0);
      CHECK(b1[11] == 0);  // NaN row: index 0, as torch.argmin
      // Ties: the duplicate pair (5, 8) resolves to the lower index.
      if (size > 8) CHECK(b1[7] == 5);
      // The exhaustive scan against double precision: the chosen distance is the least up to rounding.
      for (std::size_t r = 0; r < rows; r += 13) {
        if (r == 11) continue;
        double best = 1e300;
        for (int k = 0; k < size; ++k) {
          double s = 0;
          for (int d = 0; d < dim; ++d) {
            double t = double(z[r * dim + d]) - e[std::size_t(k) * dim + d];
            s += t * t;
          }
          best = std::min(best, s);
        }
        CHECK(std::abs(double(d2[r]) - best) <= 1e-4 * (1.0 + best) + 1e-4);
      }
    }
  }
}

TEST_CASE("DenseF32 forward equals x W^T + b, with and without ReLU") {
  for (int out : {16, 64, 10}) {
    const int in = 37;
    std::mt19937 rng(out);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<float> w(std::size_t(out) * in), b(out), x(std::size_t(7) * in);
    for (float& v : w) v = g(rng);
    for (float& v : b) v = g(rng);
    for (float& v : x) v = g(rng);
    DenseF32 layer = DenseF32::from_linear(w.data(), b.data(), out, in);
    for (bool relu : {false, true}) {
      std::vector<float> y(std::size_t(7) * out);
      layer.forward(x.data(), 7, y.data(), relu);
      for (int r = 0; r < 7; ++r)
        for (int o = 0; o < out; ++o) {
          double s = b[o];
          for (int i = 0; i < in; ++i) s += double(x[std::size_t(r) * in + i]) * w[std::size_t(o) * in + i];
          if (relu && s < 0) s = 0;
          CHECK(std::abs(y[std::size_t(r) * out + o] - s) <= 1e-4 * (1 + std::abs(s)));
        }
    }
  }
}
