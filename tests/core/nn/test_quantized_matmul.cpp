// kernels::quantized_matmul: exact integer arithmetic where the rounding is exact, the documented error bound
// against a float64 product otherwise, the AVX2 and portable paths bit for bit, ragged shapes, strides, bias,
// accumulation, thread counts, and rows that are zero or not finite.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/testing.h"
#include "random_values.h"
#include "bmx/core/nn/quantized_matmul.h"

namespace k = bmx::kernels;

namespace {

using bmx::test::gaussian;

struct Product {
  std::vector<float> y;
  int64_t ldy;
};

Product run(const std::vector<float>& x, int64_t ldx, const k::QuantizedMatrix& w, int64_t M, const float* bias,
            bool accumulate, float fill = 0.5f) {
  Product p{std::vector<float>(std::size_t(M * (w.rows + 3)), fill), w.rows + 3};  // ldy > N
  k::quantized_matmul(x.data(), ldx, w, p.y.data(), p.ldy, M, bias, accumulate);
  return p;
}

}  // namespace

TEST_CASE("quantized_matmul is exact when both operands are 14-bit integers") {
  // Each row holds one element of magnitude 8191 (so the scale is 1 and rounding is exact) and small integers
  // elsewhere, placed so that every partial sum stays below 2^24 and is exact in float32 too.
  const int64_t M = 13, N = 21, K = 70;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(-40, 40);
  std::vector<float> x(static_cast<std::size_t>(M * K)), w(static_cast<std::size_t>(N * K));
  std::vector<float> bias(static_cast<std::size_t>(N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < K; ++c) x[std::size_t(m * K + c)] = c == 0 ? (m % 2 ? 8191.f : -8191.f) : float(small(rng));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < K; ++c) w[std::size_t(n * K + c)] = c == 1 ? -8191.f : (c == 0 ? 1.f : float(small(rng)));
  for (auto& b : bias) b = float(small(rng));
  const auto q = k::QuantizedMatrix::from_rows(w.data(), K, N, K);
  CHECK(q.cols_padded == 96);
  CHECK(q.dequantized() == w);
  for (bool portable : {false, true}) {
    k::testing::force_isa(portable ? k::Isa::scalar : k::detected_isa());
    const auto p = run(x, K, q, M, bias.data(), /*accumulate=*/true, 3.f);
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        int64_t s = 0;
        for (int64_t c = 0; c < K; ++c) s += int64_t(x[std::size_t(m * K + c)]) * int64_t(w[std::size_t(n * K + c)]);
        CHECK(p.y[std::size_t(m * p.ldy + n)] == float(s) + bias[std::size_t(n)] + 3.f);
      }
      for (int64_t n = N; n < p.ldy; ++n) CHECK(p.y[std::size_t(m * p.ldy + n)] == 3.f);  // past N: untouched
    }
  }
  k::testing::force_isa(k::detected_isa());
}

TEST_CASE("quantized_matmul stays within the rounding bound of the float64 product") {
  for (int64_t K : {1, 31, 32, 33, 100, 1024}) {
    CAPTURE(K);
    const int64_t M = 17, N = 37, ldx = K + 5;
    auto x = gaussian(std::size_t(M * ldx), 1 + std::uint32_t(K));
    auto w = gaussian(std::size_t(N * K), 2 + std::uint32_t(K), 0.05f);
    x[3] = 40.f;  // an outlier in row 0 coarsens that row's steps
    const auto bias = gaussian(std::size_t(N), 3);
    const auto q = k::QuantizedMatrix::from_rows(w.data(), K, N, K);
    const auto wq = q.dequantized();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < K; ++c)  // each weight within half a step of its row
        CHECK(std::fabs(wq[std::size_t(n * K + c)] - w[std::size_t(n * K + c)]) <= 0.501f * q.scale[std::size_t(n)]);
    const auto p = run(x, ldx, q, M, bias.data(), false);
    double worst = 0;
    for (int64_t m = 0; m < M; ++m) {
      float xmax = 0.f;
      for (int64_t c = 0; c < K; ++c) xmax = std::max(xmax, std::fabs(x[std::size_t(m * ldx + c)]));
      const double sx = xmax / 8191.0;
      for (int64_t n = 0; n < N; ++n) {
        double exact = bias[std::size_t(n)], bound = 0, mag = 0;
        const double sw = q.scale[std::size_t(n)];
        for (int64_t c = 0; c < K; ++c) {
          const double a = x[std::size_t(m * ldx + c)], b = w[std::size_t(n * K + c)];
          exact += a * b;
          // Half a step each (and a little for the float product v * (1 / step) that is rounded).
          bound += 0.501 * (std::fabs(a) * sw + std::fabs(b) * sx) + 0.26 * sx * sw;
          mag += std::fabs(a * b);
        }
        const double err = std::fabs(p.y[std::size_t(m * p.ldy + n)] - exact);
        CHECK(err <= bound + 1e-6 * (mag + std::fabs(exact)));
        worst = std::max(worst, err / (mag + 1e-30));
      }
    }
    CHECK(worst < 2e-3);  // relative to sum |x w|: the bound is not vacuous
  }
}

TEST_CASE("AVX2 and portable paths agree bit for bit; results do not depend on the thread count") {
  for (int64_t M : {1, 5, 6, 7, 20}) {
    for (int64_t N : {1, 15, 16, 17, 40}) {
      for (int64_t K : {3, 64, 65}) {
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        const auto x = gaussian(std::size_t(M * K), std::uint32_t(M * 100 + N * 10 + K));
        const auto w = gaussian(std::size_t(N * K), std::uint32_t(M + N + K), 0.1f);
        const auto bias = gaussian(std::size_t(N), 5);
        const auto q = k::QuantizedMatrix::from_rows(w.data(), K, N, K);
        std::vector<Product> results;
        for (bool portable : {false, true})
          for (int threads : {1, 2}) {
            k::testing::force_isa(portable ? k::Isa::scalar : k::detected_isa());
            k::set_threads(threads);
            results.push_back(run(x, K, q, M, bias.data(), true));
          }
        for (const auto& r : results) CHECK(r.y == results[0].y);
      }
    }
  }
  k::testing::force_isa(k::detected_isa());
  k::set_threads(0);
}

TEST_CASE("zero rows give the bias; a row with inf or NaN gives NaN in that row only") {
  const int64_t M = 5, N = 18, K = 40;
  auto x = gaussian(std::size_t(M * K), 11);
  const auto w = gaussian(std::size_t(N * K), 12);
  const auto bias = gaussian(std::size_t(N), 13);
  for (int64_t c = 0; c < K; ++c) x[std::size_t(1 * K + c)] = 0.f;
  x[std::size_t(2 * K + 5)] = std::numeric_limits<float>::infinity();
  x[std::size_t(3 * K + 9)] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t c = 0; c < K; ++c) x[std::size_t(4 * K + c)] = c % 3 ? 0.f : 1e-38f;  // 1 / step would overflow
  const auto q = k::QuantizedMatrix::from_rows(w.data(), K, N, K);
  for (bool portable : {false, true}) {
    k::testing::force_isa(portable ? k::Isa::scalar : k::detected_isa());
    const auto p = run(x, K, q, M, bias.data(), false);
    for (int64_t n = 0; n < N; ++n) {
      CHECK(std::isfinite(p.y[std::size_t(n)]));
      CHECK(p.y[std::size_t(1 * p.ldy + n)] == bias[std::size_t(n)]);
      CHECK(p.y[std::size_t(4 * p.ldy + n)] == bias[std::size_t(n)]);
      CHECK(std::isnan(p.y[std::size_t(2 * p.ldy + n)]));
      CHECK(std::isnan(p.y[std::size_t(3 * p.ldy + n)]));
    }
  }
  k::testing::force_isa(k::detected_isa());
}

namespace {

// The level quantized_matmul picks when the kernels run at `isa`, and the product it gives there.
struct LevelRun {
  std::string level;
  std::vector<float> y;
};

LevelRun run_at(k::Isa isa, const std::vector<float>& x, int64_t ldx, const k::QuantizedMatrix& w, int64_t M,
                int64_t ldy, const float* bias, bool accumulate) {
  k::testing::force_isa(isa);
  LevelRun r{k::quantized_matmul_level(), std::vector<float>(std::size_t(M * ldy), -2.5f)};
  k::quantized_matmul(x.data(), ldx, w, r.y.data(), ldy, M, bias, accumulate);
  return r;
}

bool has_level(const char* name) {
  bool found = false;
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    found = found || std::string(k::quantized_matmul_level()) == name;
  }
  k::testing::force_isa(k::detected_isa());
  return found;
}

}  // namespace

TEST_CASE("the int16 level follows the kernels' level, forced lower included") {
  k::testing::force_isa(k::Isa::scalar);
  CHECK(std::string(k::quantized_matmul_level()) == "portable");
  for (k::Isa isa : k::available_isas()) {
    CAPTURE(k::isa_name(isa));
    k::testing::force_isa(isa);
    const std::string level = k::quantized_matmul_level();
    if (isa == k::Isa::avx2 || isa == k::Isa::avx2_bf16_emulated) CHECK(level == "avx2");
    if (isa == k::Isa::avx512 || isa == k::Isa::avx512_bf16) CHECK((level == "avx512-vnni" || level == "avx2"));
  }
  k::testing::force_isa(k::detected_isa());
}

TEST_CASE("AVX-512 VNNI, AVX2 and portable levels give the same bits on ragged shapes") {
  if (!has_level("avx512-vnni")) {
    MESSAGE("this CPU has no AVX-512 VNNI: only the AVX2 and portable levels are compared");
  }
  // M around the 6-row tile and the 12-row micro-tile, N around the 16-column panel and the 32-column
  // micro-tile, K with odd tails, one chunk and several; a strided x and y.
  int compared = 0;
  for (int64_t M : {1, 5, 6, 7, 11, 12, 13, 19, 25})
    for (int64_t N : {1, 15, 16, 17, 31, 32, 33, 48, 50})
      for (int64_t K : {1, 3, 31, 33, 65, 100, 257}) {
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        const int64_t ldx = K + 3, ldy = N + 5;
        const auto x = gaussian(std::size_t(M * ldx), std::uint32_t(M * 1000 + N * 10 + K));
        const auto w = gaussian(std::size_t(N * K), std::uint32_t(M + 7 * N + 13 * K), 0.1f);
        const auto bias = gaussian(std::size_t(N), std::uint32_t(N));
        const auto q = k::QuantizedMatrix::from_rows(w.data(), K, N, K);
        const bool accumulate = (M + N + K) % 2 == 0;
        const float* b = (M + K) % 3 ? bias.data() : nullptr;
        const LevelRun ref = run_at(k::Isa::scalar, x, ldx, q, M, ldy, b, accumulate);
        REQUIRE(ref.level == "portable");
        for (k::Isa isa : k::available_isas()) {
          const LevelRun got = run_at(isa, x, ldx, q, M, ldy, b, accumulate);
          if (got.level == "portable") continue;
          CAPTURE(got.level);
          CHECK(std::memcmp(got.y.data(), ref.y.data(), ref.y.size() * sizeof(float)) == 0);
          ++compared;
        }
      }
  k::testing::force_isa(k::detected_isa());
  if (k::detected_isa() != k::Isa::scalar) CHECK(compared > 0);
}

TEST_CASE("full-scale rows: 32 products of +-8191 squared fill the int32 chunk sums exactly at every level") {
  // Every element +-1, so every rounded value is +-8191 and a chunk's sum reaches 32 * 8191^2 = 2^31 - 524256
  // where the signs agree: a saturating or narrower accumulation would show.
  const int64_t M = 14, N = 35, K = 1024;
  std::mt19937 rng(99);
  std::vector<float> x(static_cast<std::size_t>(M * K)), w(static_cast<std::size_t>(N * K));
  for (auto& v : x) v = rng() % 5 ? 1.f : -1.f;
  for (auto& v : w) v = rng() % 7 ? 1.f : -1.f;
  for (int64_t c = 0; c < K; ++c) w[std::size_t(c)] = x[std::size_t(c)];  // row 0 of W = row 0 of x: all +8191^2
  const auto q = k::QuantizedMatrix::from_rows(w.data(), K, N, K);
  const LevelRun ref = run_at(k::Isa::scalar, x, K, q, M, N, nullptr, false);
  CHECK(ref.y[0] == doctest::Approx(double(K)).epsilon(1e-5));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t c = 0; c < K; ++c) s += double(x[std::size_t(m * K + c)]) * w[std::size_t(n * K + c)];
      CHECK(ref.y[std::size_t(m * N + n)] == doctest::Approx(s).epsilon(1e-4).scale(1.0));
    }
  for (k::Isa isa : k::available_isas()) {
    const LevelRun got = run_at(isa, x, K, q, M, N, nullptr, false);
    CAPTURE(got.level);
    CHECK(std::memcmp(got.y.data(), ref.y.data(), ref.y.size() * sizeof(float)) == 0);
  }
  k::testing::force_isa(k::detected_isa());
}
