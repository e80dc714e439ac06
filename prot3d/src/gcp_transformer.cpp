// The x-transformers block stack shared by the GCP-VQVAE encoder and decoder (spec §4.2): pre-norm with unit-
// offset gammas, GQA with tiled kv heads, qk-norm with logit scale 10, rotary on the first 32 dims after the
// qk-norm (adjacent pairs), SwiGLU feed-forward with a biased input projection.
#include <ATen/ATen.h>

#include "bmx/core/nn/float_matmul.h"
#include "bmx/core/nn/nn.h"
#include "gcp_internal.h"

namespace bmx::prot3d {

namespace {

at::Tensor l2_normalize(const at::Tensor& x) { return x / x.norm(2, -1, true).clamp_min(1e-12); }

kernels::QuantizedMatrix quantized(const at::Tensor& weight) {  // weight [out, in]
  const auto w = weight.to(at::kFloat).contiguous();
  return kernels::QuantizedMatrix::from_rows(w.data_ptr<float>(), w.size(1), w.size(0), w.size(1));
}

// x · Wᵀ (+ bias), W [out, in] in float32 or rounded for the integer kernel (q). accumulate_into: add the
// product to this tensor instead of returning a new one.
at::Tensor product(const at::Tensor& x, const at::Tensor& w, const kernels::QuantizedMatrix* q,
                   const at::Tensor& bias = {}, at::Tensor* accumulate_into = nullptr) {
  if (!q && x.scalar_type() != at::kFloat) {  // float64 models: ATen
    auto y = bias.defined() ? at::addmm(bias, x, w.t()) : at::mm(x, w.t());
    return accumulate_into ? accumulate_into->add_(y) : y;
  }
  const int64_t N = q ? q->rows : w.size(0);
  auto xc = x.stride(-1) == 1 ? x : x.contiguous();
  auto y = accumulate_into ? *accumulate_into : at::empty({x.size(0), N}, x.options());
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  if (q)
    kernels::quantized_matmul(xc.data_ptr<float>(), xc.stride(0), *q, y.data_ptr<float>(), y.stride(0), x.size(0), b,
                              accumulate_into != nullptr);
  else
    kernels::float_matmul(xc.data_ptr<float>(), xc.stride(0), w.data_ptr<float>(), w.stride(0), y.data_ptr<float>(),
                          y.stride(0), x.size(0), N, w.size(1), b, accumulate_into != nullptr);
  return y;
}

}  // namespace

QuantizedTransformer::QuantizedTransformer(const TransformerWeights& w)
    : project_in(quantized(w.project_in)), project_out(quantized(w.project_out)) {
  for (const auto& L : w.layers)
    layers.push_back({quantized(L.qkv), quantized(L.out), quantized(L.ff_in), quantized(L.ff_out)});
}

at::Tensor transformer_forward(const TransformerWeights& w, const at::Tensor& input, const at::Tensor& valid,
                               const QuantizedTransformer* qt) {
  const auto& sh = w.shape;
  const int64_t n = input.size(0), dh = sh.dim_head;
  auto x = qt ? product(input, {}, &qt->project_in) : nn::linear(input, w.project_in);
  auto positions = at::arange(n, at::TensorOptions().dtype(at::kLong));
  at::Tensor key_mask, query_masked;
  if (valid.defined()) {
    key_mask = valid.view({1, 1, 1, n});
    query_masked = valid.logical_not().view({n, 1});
  }
  const double scale = sh.qk_norm ? 10.0 : 1.0 / std::sqrt(double(dh));
  const int64_t nq = sh.heads * dh, nkv = sh.kv_heads * dh;
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const auto& L = w.layers[l];
    const QuantizedTransformer::Layer* Q = qt ? &qt->layers[l] : nullptr;
    auto y = nn::layer_norm(x, L.attn_norm, {}, 1e-5);
    auto qkv = product(y, L.qkv, Q ? &Q->qkv : nullptr);  // [n, q + k + v]
    auto q = qkv.narrow(1, 0, nq).view({n, sh.heads, dh}).transpose(0, 1).unsqueeze(0);  // [1, H, n, dh]
    auto k = qkv.narrow(1, nq, nkv).view({n, sh.kv_heads, dh}).transpose(0, 1).unsqueeze(0);
    auto v = qkv.narrow(1, nq + nkv, nkv).view({n, sh.kv_heads, dh}).transpose(0, 1).unsqueeze(0);
    if (sh.qk_norm) {
      q = l2_normalize(q);
      k = l2_normalize(k);
    }
    if (sh.rotary) {
      q = nn::apply_rotary(q, positions, dh / 2, 10000.0, /*adjacent_pairs=*/true);
      k = nn::apply_rotary(k, positions, dh / 2, 10000.0, /*adjacent_pairs=*/true);
    }
    auto o = nn::attention(q, k, v, key_mask, scale, /*kv_tiled=*/true);                  // [1, H, n, dh]
    o = o.squeeze(0).transpose(0, 1).reshape({n, nq});
    if (query_masked.defined()) {  // the attention branch is zeroed at masked queries
      o = product(o, L.out, Q ? &Q->out : nullptr);
      x.add_(o.masked_fill_(query_masked, 0.0));
    } else {
      product(o, L.out, Q ? &Q->out : nullptr, {}, &x);
    }
    y = nn::layer_norm(x, L.ff_norm, {}, 1e-5);
    // SwiGLU in place: the second half of the projection becomes silu(gate) * up and feeds the output product
    // as a strided view.
    auto ag = product(y, L.ff_in, Q ? &Q->ff_in : nullptr, L.ff_in_b);
    const int64_t ff = ag.size(-1) / 2;
    auto up = ag.narrow(-1, 0, ff), gate = ag.narrow(-1, ff, ff);
    nn::swiglu_(gate, up);
    product(gate, L.ff_out, Q ? &Q->ff_out : nullptr, {}, &x);
  }
  x = nn::layer_norm(x, w.final_norm, {}, 1e-5);
  return qt ? product(x, {}, &qt->project_out) : nn::linear(x, w.project_out);
}

}  // namespace bmx::prot3d
