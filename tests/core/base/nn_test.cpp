#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "bmx/core/nn/nn.h"

using namespace bmx;

TEST_CASE("rms_norm and layer_norm against hand computation") {
  auto x = at::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({1, 4});
  auto w = at::tensor({1.0f, 1.0f, 2.0f, 0.5f});
  auto y = nn::rms_norm(x, w, 1e-6);
  double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
  CHECK(y[0][2].item<float>() == doctest::Approx(3.0 / rms * 2.0).epsilon(1e-6));
  auto ln = nn::layer_norm(x, {}, {}, 1e-5);
  CHECK(ln.mean().item<float>() == doctest::Approx(0.0).epsilon(1e-6));
  // (x - 2.5) / sqrt(var + eps) with the biased variance 1.25
  CHECK(ln[0][0].item<float>() == doctest::Approx(-1.5 / std::sqrt(1.25 + 1e-5)).epsilon(1e-6));
  CHECK(ln[0][3].item<float>() == doctest::Approx(1.5 / std::sqrt(1.25 + 1e-5)).epsilon(1e-6));
}

TEST_CASE("batch_norm_eval and linear") {
  auto x = at::tensor({2.0f, 4.0f}).reshape({1, 2});
  auto y = nn::batch_norm_eval(x, at::tensor({1.0f, 2.0f}), at::tensor({0.0f, 1.0f}), at::tensor({1.0f, 2.0f}),
                               at::tensor({4.0f, 1.0f}), 0.0);
  CHECK(y[0][0].item<float>() == doctest::Approx(0.5));
  CHECK(y[0][1].item<float>() == doctest::Approx(5.0));
  auto l = nn::linear(x, at::tensor({1.0f, 1.0f, 0.0f, 2.0f}).reshape({2, 2}), at::tensor({1.0f, 0.0f}));
  CHECK(l[0][0].item<float>() == doctest::Approx(7.0));
  CHECK(l[0][1].item<float>() == doctest::Approx(8.0));
}

TEST_CASE("rotary: position 0 is identity, rotation preserves norms, partial dims pass through") {
  auto x = at::randn({1, 2, 3, 8});
  auto pos = at::arange(3, at::kLong);
  auto y = nn::apply_rotary(x, pos, 8, 10000.0);
  CHECK(at::allclose(y.select(2, 0), x.select(2, 0)));
  CHECK(at::allclose(y.norm(2, -1), x.norm(2, -1), 1e-5, 1e-5));
  auto z = nn::apply_rotary(x, pos, 4, 10000.0);
  CHECK(at::equal(z.narrow(-1, 4, 4), x.narrow(-1, 4, 4)));
  // position 1, first pair: angle 1 rad for frequency index 0.
  float a = x[0][0][1][0].item<float>(), b = x[0][0][1][2].item<float>();
  CHECK(z[0][0][1][0].item<float>() == doctest::Approx(a * std::cos(1.0) - b * std::sin(1.0)).epsilon(1e-5));
}

TEST_CASE("attention: GQA equals repeated heads, mask excludes keys") {
  auto q = at::randn({1, 4, 3, 8}), k = at::randn({1, 2, 3, 8}), v = at::randn({1, 2, 3, 8});
  auto out = nn::attention(q, k, v, {}, 0.5);
  auto ref = nn::attention(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), {}, 0.5);
  CHECK(at::allclose(out, ref));
  auto causal = at::ones({3, 3}, at::kBool).tril().view({1, 1, 3, 3});
  auto masked = nn::attention(q, k, v, causal, 0.5);
  // the first query may only see the first key: its output is that key's value.
  CHECK(at::allclose(masked.select(2, 0).select(1, 0), v.select(2, 0).select(1, 0), 1e-5, 1e-6));
}

TEST_CASE("rotary with adjacent pairs (x-transformers): (x0, x1) rotate together, the rest passes through") {
  auto x = at::randn({1, 2, 3, 8}, at::kDouble);
  auto pos = at::arange(3, at::kLong);
  auto y = nn::apply_rotary(x, pos, 4, 10000.0, /*adjacent_pairs=*/true);
  CHECK(at::equal(y.narrow(-1, 4, 4), x.narrow(-1, 4, 4)));
  CHECK(at::allclose(y.select(2, 0), x.select(2, 0)));
  // position 2: pair m = 0 (dims 0, 1) turns by 2 rad, pair m = 1 (dims 2, 3) by 2 * 10000^(-2/4) rad.
  for (int m = 0; m < 2; ++m) {
    const double th = 2.0 * std::pow(10000.0, -2.0 * m / 4.0);
    double a = x[0][1][2][2 * m].item<double>(), b = x[0][1][2][2 * m + 1].item<double>();
    CHECK(y[0][1][2][2 * m].item<double>() == doctest::Approx(a * std::cos(th) - b * std::sin(th)).epsilon(1e-12));
    CHECK(y[0][1][2][2 * m + 1].item<double>() == doctest::Approx(b * std::cos(th) + a * std::sin(th)).epsilon(1e-12));
  }
}

TEST_CASE("attention with tiled kv heads: query head h reads kv head h % Hkv") {
  auto q = at::randn({1, 4, 3, 8}), k = at::randn({1, 2, 3, 8}), v = at::randn({1, 2, 3, 8});
  auto out = nn::attention(q, k, v, {}, 0.5, /*kv_tiled=*/true);
  for (int h = 0; h < 4; ++h) {
    auto one = nn::attention(q.narrow(1, h, 1), k.narrow(1, h % 2, 1), v.narrow(1, h % 2, 1), {}, 0.5);
    CHECK(at::allclose(out.narrow(1, h, 1), one, 1e-5, 1e-6));
  }
  CHECK_FALSE(at::allclose(out, nn::attention(q, k, v, {}, 0.5), 1e-3, 1e-3));
}

// softmax(scale q·kᵀ) v in float64 with query head h reading kv head h % Hkv (tiled) or h / (Hq / Hkv).
static at::Tensor attention_f64(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& key_visible, double scale, bool tiled) {
  const int64_t Hq = q.size(1), Hkv = k.size(1);
  std::vector<at::Tensor> heads;
  for (int64_t h = 0; h < Hq; ++h) {
    const int64_t g = tiled ? h % Hkv : h / (Hq / Hkv);
    auto s = at::matmul(q[0][h].to(at::kDouble), k[0][g].to(at::kDouble).t()) * scale;
    if (key_visible.defined()) s = s.masked_fill(key_visible.logical_not().view({1, -1}), -INFINITY);
    heads.push_back(at::matmul(at::softmax(s, -1), v[0][g].to(at::kDouble)));
  }
  return at::stack(heads).unsqueeze(0);
}

TEST_CASE("attention of one sequence (the threaded row kernel) equals a float64 softmax, any shape") {
  for (int64_t D : {64, 24, 20}) {  // 16-column blocks, an 8-column tail, and the portable loop
    for (int64_t S : {1, 5, 37}) {
      CAPTURE(D);
      CAPTURE(S);
      const int64_t T = S + 4;
      auto q = at::randn({1, 8, S, D}), k = at::randn({1, 2, T, D}), v = at::randn({1, 2, T, D});
      for (bool tiled : {false, true}) {
        auto out = nn::attention(q, k, v, {}, 0.3, tiled);
        CHECK(at::allclose(out.to(at::kDouble), attention_f64(q, k, v, {}, 0.3, tiled), 1e-5, 1e-5));
      }
      // A key mask shared by every query row; v given as a strided view (as the projections produce it).
      auto visible = at::rand({T}) > 0.3;
      visible[0] = true;
      auto v_strided = at::randn({1, T, 2, 2 * D}).narrow(3, 0, D).transpose(1, 2);
      auto out = nn::attention(q, k, v_strided, visible.view({1, 1, 1, T}), 0.3, true);
      CHECK(at::allclose(out.to(at::kDouble), attention_f64(q, k, v_strided, visible, 0.3, true), 1e-5, 1e-5));
    }
  }
  // Every key hidden: every query gets the plain mean of the values, finite (the lowest-finite-score rule).
  auto q = at::randn({1, 2, 3, 8}), k = at::randn({1, 2, 5, 8}), v = at::randn({1, 2, 5, 8});
  auto none = nn::attention(q, k, v, at::zeros({1, 1, 1, 5}, at::kBool), 1.0);
  CHECK(at::allclose(none.select(2, 1), v.mean(2), 1e-5, 1e-6));
}

TEST_CASE("swiglu_: gate <- silu(gate) * up in place, on halves of one projection and in float64") {
  auto ag = at::randn({37, 2 * 40}) * 4;
  const auto want = at::silu(ag.narrow(1, 40, 40).to(at::kDouble)) * ag.narrow(1, 0, 40).to(at::kDouble);
  auto gate = ag.narrow(1, 40, 40);
  nn::swiglu_(gate, ag.narrow(1, 0, 40));
  CHECK(at::allclose(ag.narrow(1, 40, 40).to(at::kDouble), want, 1e-5, 1e-6));
  auto g64 = at::randn({3, 5}, at::kDouble), u64 = at::randn({3, 5}, at::kDouble);
  const auto want64 = at::silu(g64) * u64;
  nn::swiglu_(g64, u64);
  CHECK(at::allclose(g64, want64, 1e-12, 1e-14));
}
