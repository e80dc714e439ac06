#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <doctest/doctest.h>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/math_threads.h"

TEST_CASE("set_math_threads gives bmx's kernels the threads, ATen's OpenMP pool and the BLAS one") {
  bmx::set_math_threads(2);
  CHECK(at::get_num_threads() == 1);
  CHECK(bmx::kernels::threads() == 2);
  const int blas = bmx::math_threads();
  CHECK((blas == 1 || blas == 0));  // 0: a BLAS other than OpenBLAS, left as it is
  bmx::set_math_threads(1);
  CHECK(at::get_num_threads() == 1);
  CHECK(bmx::kernels::threads() == 1);
  // Products still run and agree with a plain sum of products.
  auto a = at::randn({37, 64}, at::kDouble), b = at::randn({64, 29}, at::kDouble);
  bmx::set_math_threads(2);
  auto c = at::mm(a, b);
  CHECK(at::allclose(c, (a.unsqueeze(2) * b.unsqueeze(0)).sum(1)));
}
