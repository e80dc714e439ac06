// BF16 weights in pair tiles: the layout round trip and the product against a float64 reference at every level,
// for decode (one x row, split where the level splits it), a few rows, and prefill, with special values in x.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/pair_tiles.h"
#include "bmx/core/nn/projection.h"
#include "bmx/core/nn/testing.h"
#include "restore_kernels.h"

namespace k = bmx::kernels;

namespace {

using Restore = bmx::test::RestoreKernels;

std::vector<uint16_t> random_bf16(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  std::vector<uint16_t> w(static_cast<std::size_t>(n));
  for (auto& v : w) v = k::float_to_bf16(nd(rng));
  return w;
}

std::vector<float> random_x(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

// y [M, N] of x [M, K] (row stride ldx) against W [N, K] in rows, in float64 (x rounded to bf16 where the level
// rounds it), with each sum's magnitude.
struct Reference {
  std::vector<double> y, mag;
};
Reference reference(const std::vector<float>& x, int64_t ldx, const std::vector<uint16_t>& w, const std::vector<float>& bias,
                    int64_t M, int64_t N, int64_t K, bool rounded) {
  Reference r{std::vector<double>(std::size_t(M * N)), std::vector<double>(std::size_t(M * N))};
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias[std::size_t(n)], mag = std::fabs(s);
      for (int64_t j = 0; j < K; ++j) {
        float xv = x[std::size_t(m * ldx + j)];
        if (rounded) xv = k::bf16_to_float(k::float_to_bf16(xv));
        const double p = double(xv) * k::bf16_to_float(w[std::size_t(n * K + j)]);
        s += p;
        mag += std::fabs(p);
      }
      r.y[std::size_t(m * N + n)] = s;
      r.mag[std::size_t(m * N + n)] = mag;
    }
  return r;
}

std::vector<uint16_t> tiled(std::vector<uint16_t> w, int64_t N, int64_t K) {
  k::to_pair_tiles_in_place(w.data(), N, K);
  return w;
}

}  // namespace

TEST_CASE("pair tiles: the layout, its round trip and its shape rules") {
  const int64_t N = 32, K = 6;
  std::vector<uint16_t> w(std::size_t(N * K));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = uint16_t(i);
  const std::vector<uint16_t> t = tiled(w, N, K);
  // Line j of tile 1 holds (W[16 + r][2j], W[16 + r][2j + 1]) for r = 0..15.
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t j = 0; j < K / 2; ++j) {
      CHECK(t[std::size_t(16 * K + (j * 16 + r) * 2)] == w[std::size_t((16 + r) * K + 2 * j)]);
      CHECK(t[std::size_t(16 * K + (j * 16 + r) * 2 + 1)] == w[std::size_t((16 + r) * K + 2 * j + 1)]);
    }
  std::vector<uint16_t> back(w.size()), out_of_place(w.size());
  k::pair_tiles_to_rows(t.data(), N, K, back.data());
  CHECK(back == w);
  k::rows_to_pair_tiles(w.data(), N, K, out_of_place.data());
  CHECK(out_of_place == t);
  const std::vector<uint16_t> big = random_bf16(48 * 4610, 3);
  std::vector<uint16_t> big_back(big.size());
  k::pair_tiles_to_rows(tiled(big, 48, 4610).data(), 48, 4610, big_back.data());
  CHECK(big_back == big);

  CHECK_THROWS_AS(k::to_pair_tiles_in_place(w.data(), 24, 8), std::invalid_argument);  // rows not a multiple of 16
  CHECK_THROWS_AS(k::to_pair_tiles_in_place(w.data(), 16, 7), std::invalid_argument);  // odd columns
  CHECK_THROWS_AS(k::rows_to_pair_tiles(w.data(), 8, 6, back.data()), std::invalid_argument);
  CHECK_THROWS_AS(k::pair_tiles_to_rows(t.data(), 16, 5, back.data()), std::invalid_argument);
  float y[16];
  CHECK_THROWS_AS(k::matmul_pair_tiles(y, 7, w.data(), y, 16, 1, 16, 7), std::invalid_argument);

  Restore restore;
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    INFO(k::isa_name(isa));
    const bool has_kernel = isa != k::Isa::scalar;
    const bool all = isa == k::Isa::avx512_bf16;
    CHECK(k::pair_tiles_pay(k::WeightType::bf16, 2560, 9728) == has_kernel);  // the down projection
    CHECK(k::pair_tiles_pay(k::WeightType::bf16, 9728, 2560) == all);         // short rows: AVX-512 BF16 only
    CHECK(k::pair_tiles_pay(k::WeightType::bf16, 16, 2) == all);
    CHECK(!k::pair_tiles_pay(k::WeightType::bf16, 16, 0));
    CHECK(!k::pair_tiles_pay(k::WeightType::f16, 2560, 9728));
    CHECK(!k::pair_tiles_pay(k::WeightType::bf16, 2568, 9728));
    CHECK(!k::pair_tiles_pay(k::WeightType::bf16, 2560, 9729));
  }
}

TEST_CASE("pair tiles: the product equals the float64 one at every level, decode to prefill") {
  Restore restore;
  const int64_t N = 48;
  for (int64_t K : {int64_t(4608), int64_t(4610), int64_t(70)}) {  // whole groups of 32; a tail past them; short
    const std::vector<uint16_t> w = random_bf16(N * K, unsigned(K));
    const std::vector<uint16_t> t = tiled(w, N, K);
    std::vector<float> bias = random_x(N, 5);
    for (int64_t M : {int64_t(1), int64_t(2), int64_t(3), int64_t(5), int64_t(16), int64_t(17), int64_t(40)}) {
      const int64_t ldx = K + 3, ldy = N + 2;
      const std::vector<float> x = random_x(M * ldx, unsigned(M * 7 + K));
      for (k::Isa isa : k::available_isas())
        for (k::Precision precision : {k::Precision::float32, k::Precision::bf16_activations})
          for (int threads : {1, 2}) {
            k::testing::force_isa(isa);
            k::set_precision(precision);
            k::set_threads(threads);
            const Reference ref = reference(x, ldx, w, bias, M, N, K, k::rounds_activations(M));
            std::vector<float> y(std::size_t(M * ldy), -777.0f);
            k::matmul_pair_tiles(x.data(), ldx, t.data(), y.data(), ldy, M, N, K, bias.data());
            int bad = 0;
            for (int64_t m = 0; m < M; ++m) {
              for (int64_t n = 0; n < N; ++n) {
                const double err = std::fabs(y[std::size_t(m * ldy + n)] - ref.y[std::size_t(m * N + n)]);
                if (!(err <= 1e-5 * ref.mag[std::size_t(m * N + n)])) ++bad;
              }
              for (int64_t n = N; n < ldy; ++n) bad += y[std::size_t(m * ldy + n)] != -777.0f;  // padding untouched
            }
            INFO(k::isa_name(isa) << ", M " << M << ", K " << K << ", " << threads << " threads, precision "
                                  << int(precision));
            CHECK(bad == 0);
          }
    }
  }
}

TEST_CASE("pair tiles: one x row keeps float32 meaning (special values, values bf16 cannot carry)") {
  Restore restore;
  const int64_t N = 16, K = 4610;
  std::vector<uint16_t> ones(std::size_t(N * K), k::float_to_bf16(1.0f));
  const std::vector<uint16_t> t = tiled(ones, N, K);
  std::vector<float> y(N);
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    INFO(k::isa_name(isa));
    // 1 + 2^-10 is not a bf16: a product on x rounded to bf16 would give exactly K.
    std::vector<float> x(std::size_t(K), 1.0f + 0x1p-10f);
    k::matmul_pair_tiles(x.data(), K, t.data(), y.data(), N, 1, N, K);
    for (float v : y) CHECK(v == doctest::Approx(double(K) * (1.0 + 0x1p-10)).epsilon(1e-6));
    for (int64_t at : {int64_t(5), K - 1}) {  // in the split's groups, and in the tail past them
      INFO("special value at " << at);
      std::vector<float> s(std::size_t(K), 0.5f);
      s[std::size_t(at)] = std::numeric_limits<float>::infinity();
      k::matmul_pair_tiles(s.data(), K, t.data(), y.data(), N, 1, N, K);
      for (float v : y) CHECK(std::isinf(v));
      s[std::size_t(at)] = std::numeric_limits<float>::quiet_NaN();
      k::matmul_pair_tiles(s.data(), K, t.data(), y.data(), N, 1, N, K);
      for (float v : y) CHECK(std::isnan(v));
      s[std::size_t(at)] = std::numeric_limits<float>::max();  // bf16 rounds it to infinity
      k::matmul_pair_tiles(s.data(), K, t.data(), y.data(), N, 1, N, K);
      for (float v : y) CHECK(double(v) == doctest::Approx(double(std::numeric_limits<float>::max()) + 0.5 * (K - 1)).epsilon(1e-6));
    }
  }
}

TEST_CASE("pair tiles in a projection: the same products, and rounding reads the rows") {
  namespace nn = bmx::nn;
  const int64_t N = 32, K = 4610;
  at::manual_seed(3);
  nn::Projection rows, tiles;
  rows.weight = (at::randn({N, K}) * 0.05).to(at::kBFloat16);
  tiles.weight = rows.weight.clone();
  REQUIRE(nn::use_pair_tiles(tiles) == k::pair_tiles_pay(k::WeightType::bf16, N, K));
  if (tiles.order != nn::WeightOrder::pair_tiles) return;  // a level without a tile GEMV
  CHECK(!at::equal(tiles.weight, rows.weight));
  CHECK(!nn::use_pair_tiles(tiles));  // once
  nn::Projection odd_cols, short_rows;
  odd_cols.weight = (at::randn({32, 63})).to(at::kBFloat16);
  CHECK(!nn::use_pair_tiles(odd_cols));
  CHECK(odd_cols.order == nn::WeightOrder::rows);
  short_rows.weight = (at::randn({32, 64})).to(at::kBFloat16);
  CHECK(nn::use_pair_tiles(short_rows) == k::pair_tiles_pay(k::WeightType::bf16, 32, 64));
  for (int64_t M : {int64_t(1), int64_t(20)}) {
    const at::Tensor x = at::randn({M, K});
    at::Tensor a = at::empty({M, N}), b = at::empty({M, N});
    nn::project(x.data_ptr<float>(), M, rows, a.data_ptr<float>());
    nn::project(x.data_ptr<float>(), M, tiles, b.data_ptr<float>());
    CHECK((a - b).abs().max().item<double>() <= 1e-5 * a.abs().max().item<double>());
  }
  nn::quantize(rows, k::BlockFormat::q8_0);
  nn::quantize(tiles, k::BlockFormat::q8_0);
  CHECK(tiles.order == nn::WeightOrder::rows);
  const auto bytes = [](const nn::Projection& p) {
    const auto& b = p.blocks;
    return std::vector<uint8_t>(b.quants, b.quants + b.rows * k::quant_bytes_per_row(b.format, b.cols));
  };
  CHECK(bytes(rows) == bytes(tiles));
}

TEST_CASE("pair tiles in several products at once: project_many and matmul_many as one product each") {
  namespace nn = bmx::nn;
  Restore restore;
  at::manual_seed(5);
  // q/k/v-like: three projections of one x, two in tiles and one in rows. The tiles are made whatever the level's
  // policy (pair_tiles_pay), so that every level's path for them runs: its tile GEMV in the shared pass, or, at
  // the scalar level, matmul_pair_tiles apart.
  const int64_t K = 320;
  const int64_t outs[3] = {64, 32, 48};
  for (k::Isa isa : k::available_isas())
    for (k::Precision precision : {k::Precision::float32, k::Precision::bf16_activations}) {
      k::testing::force_isa(isa);
      k::set_precision(precision);
      INFO(k::isa_name(isa) << ", precision " << int(precision));
      nn::Projection rows[3], mixed[3];
      for (int i = 0; i < 3; ++i) {
        rows[i].weight = (at::randn({outs[i], K}) * 0.05).to(at::kBFloat16);
        mixed[i].weight = rows[i].weight.clone();
        if (i == 1) continue;
        k::to_pair_tiles_in_place(static_cast<uint16_t*>(mixed[i].weight.data_ptr()), outs[i], K);
        mixed[i].order = nn::WeightOrder::pair_tiles;
      }
      for (int64_t M : {int64_t(1), int64_t(3), int64_t(8), int64_t(20)}) {
        const at::Tensor x = at::randn({M, K});
        at::Tensor one[3], many[3];
        for (int i = 0; i < 3; ++i) {
          one[i] = at::empty({M, outs[i]});
          many[i] = at::full({M, outs[i]}, -7.0f);
          nn::project(x.data_ptr<float>(), M, rows[i], one[i].data_ptr<float>());
        }
        nn::project_many(x.data_ptr<float>(), M, {{&mixed[0], many[0].data_ptr<float>()},
                                                  {&mixed[1], many[1].data_ptr<float>()},
                                                  {&mixed[2], many[2].data_ptr<float>()}});
        for (int i = 0; i < 3; ++i) {
          INFO("M " << M << ", projection " << i);
          CHECK((one[i] - many[i]).abs().max().item<double>() <= 1e-5 * one[i].abs().max().item<double>());
        }
      }
    }
  float x[4] = {}, y[16];
  uint16_t w[16 * 4] = {};
  k::MatmulJob bad{x, 3, w, 3, k::WeightType::bf16, y, 16, 1, 16, 3, nullptr, true};  // odd K in tiles
  CHECK_THROWS_AS(k::matmul_many(&bad, 1), std::invalid_argument);
}
