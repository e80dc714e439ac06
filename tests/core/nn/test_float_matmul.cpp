// kernels::float_matmul against a float64 product: split over threads or not, with bias, accumulation and row
// strides, on products small enough for one piece and large enough to be split.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "bmx/core/nn/float_matmul.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/math_threads.h"

namespace k = bmx::kernels;

TEST_CASE("float_matmul equals x W^T (+ bias) (+ y) for any shape, thread count and stride") {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 1.f);
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{5, 17, 9}, Shape{70, 300, 130}, Shape{33, 1000, 257}}) {
    CAPTURE(s.M);
    CAPTURE(s.N);
    CAPTURE(s.K);
    const int64_t ldx = s.K + 2, ldw = s.K + 5, ldy = s.N + 3;
    std::vector<float> x(std::size_t(s.M * ldx)), w(std::size_t(s.N * ldw)), bias(std::size_t(s.N));
    for (float& v : x) v = g(rng);
    for (float& v : w) v = g(rng);
    for (float& v : bias) v = g(rng);
    for (int threads : {1, 2}) {
      bmx::set_math_threads(threads);  // the kernels' pool gets the threads, the BLAS one: products are split
      for (bool with_bias : {false, true})
        for (bool accumulate : {false, true}) {
          std::vector<float> y(std::size_t(s.M * ldy), 0.25f);
          k::float_matmul(x.data(), ldx, w.data(), ldw, y.data(), ldy, s.M, s.N, s.K,
                          with_bias ? bias.data() : nullptr, accumulate);
          double worst = 0;
          for (int64_t m = 0; m < s.M; ++m) {
            for (int64_t n = 0; n < s.N; ++n) {
              double want = (with_bias ? bias[std::size_t(n)] : 0.0) + (accumulate ? 0.25 : 0.0), mag = 1;
              for (int64_t c = 0; c < s.K; ++c) {
                want += double(x[std::size_t(m * ldx + c)]) * w[std::size_t(n * ldw + c)];
                mag += std::fabs(double(x[std::size_t(m * ldx + c)]) * w[std::size_t(n * ldw + c)]);
              }
              worst = std::max(worst, std::fabs(y[std::size_t(m * ldy + n)] - want) / mag);
            }
            for (int64_t n = s.N; n < ldy; ++n) CHECK(y[std::size_t(m * ldy + n)] == 0.25f);  // past N: untouched
          }
          CHECK(worst < 1e-6);
        }
    }
  }
  bmx::set_math_threads(0);  // as the other kernel tests leave it: all cores for the kernels, 1 for ATen and BLAS
}
