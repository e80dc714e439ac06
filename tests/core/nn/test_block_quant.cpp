// kernels::BlockMatrix / matmul_blocks (q8_0, q4_0): the rounding error of each format within its documented
// bound, known values, the products against a float64 loop on every instruction-set level this CPU can run
// (within the bound that rounding x to 8 bits gives), ragged shapes, bias, strides and non-finite rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bmx/core/nn/block_quant.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/testing.h"
#include "random_values.h"

namespace k = bmx::kernels;

namespace {

using bmx::test::gaussian;

// Largest magnitude of W's block holding element (n, k).
float block_amax(const std::vector<float>& w, int64_t cols, int64_t n, int64_t k) {
  float a = 0;
  for (int64_t j = k / 32 * 32; j < std::min(cols, k / 32 * 32 + 32); ++j) a = std::max(a, std::fabs(w[std::size_t(n * cols + j)]));
  return a;
}

struct ForcedIsa {
  explicit ForcedIsa(k::Isa isa) { k::testing::force_isa(isa); }
  ~ForcedIsa() { k::testing::force_isa(k::detected_isa()); }
};

}  // namespace

TEST_CASE("block formats: rounding error within the bound of each format") {
  const int64_t rows = 7, cols = 100;  // ragged: 4 blocks, the last one 4 wide, padded to 128
  auto w = gaussian(std::size_t(rows * cols), 1);
  w[5] = 40.f;  // a block with an outlier keeps its other values coarse but within bound
  for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0}) {
    CAPTURE(k::format_name(f));
    const k::BlockMatrix m = k::quantize_rows(f, w.data(), cols, rows, cols);
    CHECK(m.quants.size() == std::size_t(rows * k::quant_bytes_per_row(f, cols)));
    CHECK(m.scales.size() == std::size_t(rows * 4));
    const auto d = m.dequantized();
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t kk = 0; kk < cols; ++kk) {
        const float amax = block_amax(w, cols, n, kk);
        // q8_0: half a step of amax/127; q4_0: one step of amax/8 (the side opposite the extreme has 7 levels).
        const float bound = f == k::BlockFormat::q8_0 ? 0.5f * amax / 127 * 1.002f + 1e-7f : amax / 8 * 1.002f;
        REQUIRE(std::fabs(d[std::size_t(n * cols + kk)] - w[std::size_t(n * cols + kk)]) <= bound);
      }
  }
}

TEST_CASE("block formats: known values") {
  std::vector<float> w(32, 0.f);
  w[0] = 1.f;
  w[1] = -0.5f;
  w[31] = 0.25f;
  const auto q8 = k::quantize_rows(k::BlockFormat::q8_0, w.data(), 32, 1, 32);
  CHECK(q8.quants[0] == 128 + 127);
  CHECK(q8.quants[1] == 128 - 64);  // -0.5 * 127 = -63.5 -> the f16 scale is a hair under 1/127: -64
  CHECK(q8.quants[2] == 128);
  CHECK(k::f16_to_float(q8.scales[0]) == doctest::Approx(1.0 / 127).epsilon(1e-3));
  CHECK(q8.scales[1] == 0);  // the padding block
  const auto q4 = k::quantize_rows(k::BlockFormat::q4_0, w.data(), 32, 1, 32);
  CHECK(k::f16_to_float(q4.scales[0]) == -0.125f);  // the extreme, 1, maps to -8
  CHECK((q4.quants[0] & 0x0F) == 0);                // 1 / -0.125 = -8 -> nibble 0
  CHECK((q4.quants[1] & 0x0F) == 8 + 4);            // -0.5 -> 4
  CHECK((q4.quants[15] >> 4) == 8 - 2);             // element 31: 0.25 -> -2
  CHECK(q4.dequantized()[31] == 0.25f);
  CHECK_THROWS_AS(k::parse_block_format("q5_k"), std::invalid_argument);
  CHECK(k::parse_block_format("q8") == k::BlockFormat::q8_0);
}

TEST_CASE("block order: tiles interleave 16 rows 4 bytes at a time, and back to rows exactly") {
  for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0})
    for (int64_t rows : {5, 16, 37, 48})
      for (int64_t cols : {64, 70, 300}) {
        CAPTURE(k::format_name(f));
        CAPTURE(rows);
        CAPTURE(cols);
        const auto w = gaussian(std::size_t(rows * cols), uint32_t(rows + cols));
        const k::BlockMatrix m = k::quantize_rows(f, w.data(), cols, rows, cols);
        const k::BlockMatrix t = k::reordered(m.view(), k::BlockOrder::tiles);
        CHECK(t.order == k::BlockOrder::tiles);
        REQUIRE(t.quants.size() == m.quants.size());
        REQUIRE(t.scales.size() == m.scales.size());
        // The layout, element by element: tile T, block b, 4-byte group g, row r.
        const int64_t rb = k::quant_bytes_per_row(f, cols), nb = k::scales_per_row(cols), groups = rb / nb / 4;
        int64_t wrong = 0;
        for (int64_t T = 0; T < rows / 16; ++T)
          for (int64_t b = 0; b < nb; ++b) {
            for (int64_t r = 0; r < 16; ++r) {
              wrong += t.scales[std::size_t(T * 16 * nb + b * 16 + r)] != m.scales[std::size_t((T * 16 + r) * nb + b)];
              for (int64_t g = 0; g < groups; ++g)
                for (int64_t i = 0; i < 4; ++i)
                  wrong += t.quants[std::size_t(T * 16 * rb + ((b * groups + g) * 16 + r) * 4 + i)] !=
                           m.quants[std::size_t((T * 16 + r) * rb + (b * groups + g) * 4 + i)];
            }
          }
        CHECK(wrong == 0);
        // The rows after the last whole tile stay in place.
        const int64_t tail = rows / 16 * 16;
        CHECK(std::equal(t.quants.begin() + tail * rb, t.quants.end(), m.quants.begin() + tail * rb));
        CHECK(t.dequantized() == m.dequantized());
        const k::BlockMatrix back = k::reordered(t.view(), k::BlockOrder::rows);
        CHECK(back.quants == m.quants);
        CHECK(back.scales == m.scales);
        k::BlockMatrix in_place = t;
        k::reorder(in_place, k::BlockOrder::rows);
        CHECK(in_place.quants == m.quants);
      }
  // In place only on the matrix's own bytes.
  const auto w = gaussian(32 * 64, 1);
  k::BlockMatrix m = k::quantize_rows(k::BlockFormat::q8_0, w.data(), 64, 32, 64);
  std::vector<uint8_t> other(m.quants.size());
  CHECK_THROWS_AS(k::reorder_in_place(m.view(), other.data(), m.scales.data(), k::BlockOrder::tiles), std::invalid_argument);
}

TEST_CASE("x rounding: every level rounds x bit for bit as the portable loop, ties and non-finite blocks included") {
  const int64_t cols = 32 * 9 + 7;  // 9 whole blocks and a short one
  auto x = gaussian(std::size_t(cols), 21);
  for (int64_t k = 0; k < 32; ++k) x[std::size_t(k)] = float(k - 16) * 0.5f;  // block 0: step 16/127, many near-ties
  for (int64_t k = 32; k < 64; ++k) x[std::size_t(k)] = float(2 * (k - 48) + 1) / 254.0f * 127.0f / 31.0f;
  for (int64_t k = 64; k < 96; ++k) x[std::size_t(k)] = 0.0f;             // block 2: all zero (scale 0)
  x[std::size_t(100)] = std::numeric_limits<float>::infinity();             // block 3: inf
  x[std::size_t(140)] = std::numeric_limits<float>::quiet_NaN();            // block 4: NaN
  x[std::size_t(160)] = -1e30f;                                             // block 5: huge, finite
  k::testing::force_isa(k::Isa::scalar);
  const auto want = k::testing::round_activations(x.data(), cols);
  k::testing::force_isa(k::detected_isa());
  for (k::Isa isa : k::available_isas()) {
    ForcedIsa forced(isa);
    CAPTURE(k::block_kernels_name());
    const auto got = k::testing::round_activations(x.data(), cols);
    CHECK(got.q == want.q);
    REQUIRE(got.scale.size() == want.scale.size());
    for (std::size_t b = 0; b < want.scale.size(); ++b) {
      CAPTURE(b);
      CHECK(std::memcmp(&got.scale[b], &want.scale[b], 4) == 0);  // NaN included
      CHECK(std::memcmp(&got.offset_term[b], &want.offset_term[b], 4) == 0);
    }
  }
  CHECK(std::isinf(want.scale[3]));
  CHECK(std::isnan(want.scale[4]));
  CHECK(want.scale[2] == 0.0f);
}

TEST_CASE("matmul_blocks: every level against a float64 product, within the 8-bit rounding of x") {
  // {1, 300, 4096}: more rows than one piece of work (about 512 KiB of weights), so several threads share the matrix.
  const int64_t shapes[][3] = {{1, 70, 2560}, {1, 33, 100}, {4, 64, 4133}, {8, 40, 256}, {13, 31, 320}, {40, 17, 192},
                               {1, 300, 4096}};
  for (k::Isa isa : k::available_isas()) {
    ForcedIsa forced(isa);
    CAPTURE(k::block_kernels_name());
    for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0})
      for (const auto& s : shapes) {
        const int64_t M = s[0], N = s[1], K = s[2], ldx = K + 5, ldy = N + 3;
        CAPTURE(M);
        CAPTURE(N);
        CAPTURE(K);
        const auto w = gaussian(std::size_t(N * K), 7 + uint32_t(K), 0.05f);
        const auto x = gaussian(std::size_t(M * ldx), 11 + uint32_t(M));
        const auto bias = gaussian(std::size_t(N), 3);
        const k::BlockMatrix rows = k::quantize_rows(f, w.data(), K, N, K);
        const auto wd = rows.dequantized();
        for (k::BlockOrder order : {k::BlockOrder::rows, k::BlockOrder::tiles}) {
        CAPTURE(int(order));
        const k::BlockMatrix m = k::reordered(rows.view(), order);
        std::vector<float> y(std::size_t(M * ldy), 99.f);
        k::matmul_blocks(x.data(), ldx, m.view(), y.data(), ldy, M, bias.data());
        for (int64_t mm = 0; mm < M; ++mm)
          for (int64_t n = 0; n < N; ++n) {
            double want = bias[std::size_t(n)], bound = 0;
            for (int64_t b = 0; b * 32 < K; ++b) {
              double xmax = 0;
              for (int64_t kk = 32 * b; kk < std::min(K, 32 * b + 32); ++kk)
                xmax = std::max(xmax, double(std::fabs(x[std::size_t(mm * ldx + kk)])));
              for (int64_t kk = 32 * b; kk < std::min(K, 32 * b + 32); ++kk) {
                const double wv = wd[std::size_t(n * K + kk)];
                want += wv * x[std::size_t(mm * ldx + kk)];
                bound += std::fabs(wv) * 0.5 * xmax / 127;  // x is off by at most half its block's step
              }
            }
            const double got = y[std::size_t(mm * ldy + n)];
            REQUIRE(std::fabs(got - want) <= bound * 1.01 + 1e-4 * (1 + std::fabs(want)));
          }
        for (int64_t mm = 0; mm < M; ++mm)  // the gap between rows of y is not written
          for (int64_t n = N; n < ldy && mm + 1 < M; ++n) REQUIRE(y[std::size_t(mm * ldy + n)] == 99.f);
        }
      }
  }
}

TEST_CASE("matmul_blocks: exact on integer values every level (block sums are exact integers)") {
  // Each block of W holds one value that sets its scale to exactly 1 (q8_0: 127; q4_0: -8) and small integers
  // otherwise; so does each block of x (127). Both then round to themselves, every block's dot product is an exact
  // integer, and all sums stay below 2^24: every level must give the integer product exactly. One unit off in
  // one block (a carry in a lane reduction, a lost lane) shows here, where the float64 bounds above hide it.
  std::mt19937 rng(17);
  for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0})
    for (int64_t K : {64, 100, 512, 2560, 2752})  // blocks: 2, 4, 16, 80, 86 (AVX2 decode: steps of 4 and a tail)
      for (int64_t M : {1, 3, 6}) {
        const int64_t N = 35;  // two tiles and 3 rows after them
        std::uniform_int_distribution<int> wv(f == k::BlockFormat::q8_0 ? -30 : -7, f == k::BlockFormat::q8_0 ? 30 : 7),
            xv(-20, 20);
        std::vector<float> w(std::size_t(N * K)), x(std::size_t(M * K));
        for (int64_t i = 0; i < N * K; ++i)
          w[std::size_t(i)] = float(i % K % 32 == 0 ? (f == k::BlockFormat::q8_0 ? 127 : -8) : wv(rng));
        for (int64_t i = 0; i < M * K; ++i) x[std::size_t(i)] = float(i % K % 32 == 1 ? 127 : xv(rng));
        const k::BlockMatrix rows = k::quantize_rows(f, w.data(), K, N, K);
        for (k::Isa isa : k::available_isas())
        for (k::BlockOrder order : {k::BlockOrder::rows, k::BlockOrder::tiles}) {
          ForcedIsa forced(isa);
          CAPTURE(k::block_kernels_name());
          CAPTURE(int(order));
          const k::BlockMatrix m = k::reordered(rows.view(), order);
          CAPTURE(K);
          CAPTURE(M);
          std::vector<float> y(std::size_t(M * N));
          k::matmul_blocks(x.data(), K, m.view(), y.data(), N, M);
          for (int64_t mm = 0; mm < M; ++mm)
            for (int64_t n = 0; n < N; ++n) {
              int64_t want = 0;
              for (int64_t kk = 0; kk < K; ++kk)
                want += int64_t(w[std::size_t(n * K + kk)]) * int64_t(x[std::size_t(mm * K + kk)]);
              REQUIRE(double(y[std::size_t(mm * N + n)]) == double(want));
            }
        }
      }
}

TEST_CASE("matmul_blocks: levels agree with each other closely, and a non-finite x row gives non-finite y") {
  const int64_t M = 3, N = 50, K = 2560;
  const auto w = gaussian(std::size_t(N * K), 5, 0.05f);
  auto x = gaussian(std::size_t(M * K), 6);
  x[std::size_t(K + 7)] = std::numeric_limits<float>::quiet_NaN();  // row 1
  for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0}) {
    const k::BlockMatrix m = k::quantize_rows(f, w.data(), K, N, K);
    std::vector<std::vector<float>> results;
    for (k::Isa isa : k::available_isas()) {
      ForcedIsa forced(isa);
      std::vector<float> y(std::size_t(M * N));
      k::matmul_blocks(x.data(), K, m.view(), y.data(), N, M);
      for (int64_t n = 0; n < N; ++n) {
        REQUIRE(std::isfinite(y[std::size_t(n)]));
        REQUIRE_FALSE(std::isfinite(y[std::size_t(N + n)]));
        REQUIRE(std::isfinite(y[std::size_t(2 * N + n)]));
      }
      results.push_back(y);
    }
    for (const auto& r : results)
      for (std::size_t i = 0; i < r.size(); ++i)
        if (std::isfinite(results[0][i])) REQUIRE(r[i] == doctest::Approx(results[0][i]).epsilon(1e-4));
  }
}

TEST_CASE("matmul_blocks: the best level this CPU has is the one in use (none fell back after its start-up check)") {
  __builtin_cpu_init();
  const bool vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  for (k::Isa isa : k::available_isas()) {
    ForcedIsa forced(isa);
    const std::string want = isa == k::Isa::scalar                                   ? "scalar"
                             : (isa == k::Isa::avx512 || isa == k::Isa::avx512_bf16) && vnni ? "avx512-vnni"
                                                                                      : "avx2";
    CHECK(std::string(k::block_kernels_name()) == want);
  }
}

TEST_CASE("matmul_blocks_many: the same products as one matmul_blocks each (x rounded once for all)") {
  const int64_t M = 5, K = 200;
  const auto x = gaussian(std::size_t(M * K), 21);
  const auto wa = gaussian(std::size_t(70 * K), 22, 0.05f), wb = gaussian(std::size_t(33 * K), 23, 0.05f);
  for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0}) {
    const auto a = k::quantize_rows(f, wa.data(), K, 70, K), b = k::quantize_rows(f, wb.data(), K, 33, K);
    std::vector<float> ya(std::size_t(M * 70)), yb(std::size_t(M * 33)), ra(ya.size()), rb(yb.size());
    const k::BlockJob jobs[] = {{a.view(), ya.data(), 70}, {b.view(), yb.data(), 33}};
    k::matmul_blocks_many(x.data(), K, M, jobs, 2);
    k::matmul_blocks(x.data(), K, a.view(), ra.data(), 70, M);
    k::matmul_blocks(x.data(), K, b.view(), rb.data(), 33, M);
    CHECK(ya == ra);
    CHECK(yb == rb);
    const auto c = k::quantize_rows(f, wa.data(), K, 70, K - 32);  // another width
    const k::BlockJob mixed[] = {{a.view(), ya.data(), 70}, {c.view(), ya.data(), 70}};
    CHECK_THROWS_AS(k::matmul_blocks_many(x.data(), K, M, mixed, 2), std::invalid_argument);
  }
}
