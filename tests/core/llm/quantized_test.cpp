// quantize_weights (q8_0, q4_0) on the tiny reference models: the next-token choice agrees with the float64
// reference wherever the reference's top-1 lead is clear of the rounding, logits stay within a bound that q8_0
// keeps tighter than q4_0, and a decoded token reads about 1/2 (q8_0) or 1/4 (q4_0) of the stored bytes.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "bmx/core/util/error.h"

#include "bmx/core/llm/qwen3.h"
#include "bmx/core/nn/block_quant.h"
#include "common.h"

using bmx::test::logits_vectors;
using bmx::test::tiny_model_dir;
namespace k = bmx::kernels;

namespace {

struct Deviation {
  double max_abs = 0;   // largest |logit - reference| over the last positions
  double range = 0;     // largest |reference logit|
  int clear = 0, agreed = 0;  // positions whose reference lead is clear, and of those the ones whose argmax agrees
};

Deviation compare(k::BlockFormat f, double clear_lead) {
  Deviation d;
  std::map<std::string, bmx::Qwen3Model> models;
  for (auto& v : logits_vectors()) {
    if (v["kind"] != "single") continue;
    const std::string name = v["model"];
    if (!models.count(name)) {
      models[name] = bmx::load_qwen3(tiny_model_dir(name));
      bmx::quantize_weights(models[name], f);
    }
    const bmx::Qwen3Model& m = models[name];
    auto prompt = v["input_ids"].get<std::vector<bmx::TokenId>>();
    const int64_t T = int64_t(prompt.size());
    auto logits = bmx::qwen3_forward(m, at::tensor(prompt, at::kLong).view({1, T}), at::arange(T, at::kLong).view({1, T}));
    const auto ref = v["last_logits"].get<std::vector<double>>();
    auto last = logits[0][T - 1].to(at::kDouble).contiguous();
    const double* p = last.data_ptr<double>();
    size_t best = 0, second = 1;
    if (ref[1] > ref[0]) std::swap(best, second);
    for (size_t i = 0; i < ref.size(); ++i) {
      d.max_abs = std::max(d.max_abs, std::abs(p[i] - ref[i]));
      d.range = std::max(d.range, std::abs(ref[i]));
      if (i < 2) continue;
      if (ref[i] > ref[best]) second = best, best = i;
      else if (ref[i] > ref[second]) second = i;
    }
    if (ref[best] - ref[second] > clear_lead) {
      ++d.clear;
      d.agreed += last.argmax().item<int64_t>() == int64_t(best);
    }
  }
  return d;
}

}  // namespace

TEST_CASE("quantize_weights: agreement with the reference and the bound of each format") {
  const Deviation q8 = compare(k::BlockFormat::q8_0, 0.05);
  const Deviation q4 = compare(k::BlockFormat::q4_0, 0.5);
  MESSAGE("q8_0: max |dlogit| " << q8.max_abs << " of " << q8.range << ", top-1 " << q8.agreed << "/" << q8.clear);
  MESSAGE("q4_0: max |dlogit| " << q4.max_abs << " of " << q4.range << ", top-1 " << q4.agreed << "/" << q4.clear);
  // The tiny random models amplify rounding (3 layers of random weights, H 96): weights rounded to q8_0 and
  // multiplied in float32 move their logits by ~0.27 of ~11 already; the 8-bit x adds as much again.
  CHECK(q8.clear >= 20);
  CHECK(q8.agreed == q8.clear);  // every next token whose reference lead is over 0.05
  CHECK(q8.max_abs < 0.1 * q8.range);
  CHECK(q8.max_abs < q4.max_abs);
  CHECK(q4.max_abs < q4.range);
  CHECK(q4.agreed * 2 > q4.clear);
}

TEST_CASE("quantize_weights: bytes per token, format name, and a NaN weight named") {
  bmx::Qwen3Model m = bmx::load_qwen3(tiny_model_dir("tiny-untied-sharded"));
  const uint64_t stored = bmx::decode_bytes_per_token(m);
  // What the projections take as stored (BF16) and as q8_0 (rows padded to 64 values, an f16 scale per 32).
  uint64_t bf16 = 0, q8 = 0;
  auto count = [&](const bmx::nn::Projection& w) {
    bf16 += uint64_t(w.weight.numel()) * 2;
    q8 += uint64_t(w.out_features()) * uint64_t(k::padded_cols(w.in_features()) + 2 * k::scales_per_row(w.in_features()));
  };
  for (const auto& l : m.layers)
    for (const auto* w : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj}) count(*w);
  count(m.lm_head);
  bmx::quantize_weights(m, k::BlockFormat::q8_0);
  CHECK(m.weights_format == "q8_0");
  CHECK(m.layers[0].q_proj.quantized());
  CHECK(m.lm_head.quantized());
  CHECK(bmx::decode_bytes_per_token(m) == stored - bf16 + q8);

  bmx::Qwen3Model broken = bmx::load_qwen3(tiny_model_dir("tiny-tied"));
  at::Tensor w = broken.layers[0].up_proj.weight.clone();
  w[3][5] = std::nanf("");
  broken.layers[0].up_proj.weight = w;
  CHECK_THROWS_WITH_AS(bmx::quantize_weights(broken, k::BlockFormat::q4_0),
                       doctest::Contains("model.layers.0.mlp.up_proj.weight: row 3 holds NaN or inf values"),
                       bmx::InputError);
}
