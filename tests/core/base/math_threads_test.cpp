#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "bmx/core/nn/float_matmul.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/math_threads.h"

TEST_CASE("set_math_threads gives bmx's kernels the threads, ATen's OpenMP pool and the BLAS one") {
  // setup.sh installs OpenBLAS as the BLAS (libopenblas0-pthread): its thread count must be found and set.
  bmx::set_math_threads(2);
  CHECK(at::get_num_threads() == 1);
  CHECK(bmx::kernels::threads() == 2);
  CHECK(bmx::math_threads() == 1);
  bmx::set_math_threads(1);
  CHECK(at::get_num_threads() == 1);
  CHECK(bmx::kernels::threads() == 1);
  CHECK(bmx::math_threads() == 1);
}

TEST_CASE("float32 products on the kernels' threads equal a float64 sum of products") {
  // The products that set_math_threads splits over the kernels' threads, against a plain loop (not ATen).
  const int64_t m = 37, k = 64, n = 29;
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<float> a(size_t(m * k)), b(size_t(n * k)), c(size_t(m * n));
  for (float& x : a) x = g(rng);
  for (float& x : b) x = g(rng);
  for (int threads : {1, 2}) {
    bmx::set_math_threads(threads);
    bmx::kernels::float_matmul(a.data(), k, b.data(), k, c.data(), n, m, n, k);  // c = a b^T
    double worst = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t t = 0; t < k; ++t) s += double(a[size_t(i * k + t)]) * double(b[size_t(j * k + t)]);
        worst = std::max(worst, std::abs(s - double(c[size_t(i * n + j)])));
      }
    CAPTURE(threads);
    CHECK(worst < 1e-4);
  }
}
