// The x-transformers block stack shared by the GCP-VQVAE encoder and decoder (spec §4.2): pre-norm with unit-
// offset gammas, GQA with tiled kv heads, qk-norm with logit scale 10, rotary on the first 32 dims after the
// qk-norm (adjacent pairs), SwiGLU feed-forward with a biased input projection.
#include <ATen/ATen.h>

#include "bmx/core/nn.h"
#include "gcp_internal.h"

namespace bmx::prot3d {

namespace {

at::Tensor l2_normalize(const at::Tensor& x) { return x / x.norm(2, -1, true).clamp_min(1e-12); }

}  // namespace

at::Tensor transformer_forward(const TransformerWeights& w, const at::Tensor& input, const at::Tensor& valid) {
  const auto& sh = w.shape;
  const int64_t n = input.size(0), dh = sh.dim_head;
  auto x = nn::linear(input, w.project_in);
  auto positions = at::arange(n, at::TensorOptions().dtype(at::kLong));
  at::Tensor key_mask, query_masked;
  if (valid.defined()) {
    key_mask = valid.view({1, 1, 1, n});
    query_masked = valid.logical_not().view({n, 1});
  }
  const double scale = sh.qk_norm ? 10.0 : 1.0 / std::sqrt(double(dh));
  const int64_t nq = sh.heads * dh, nkv = sh.kv_heads * dh;
  for (const auto& L : w.layers) {
    auto y = nn::layer_norm(x, L.attn_norm, {}, 1e-5);
    auto qkv = at::mm(y, L.qkv_t);                                                       // [n, q + k + v]
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
    o = at::mm(o.squeeze(0).transpose(0, 1).reshape({n, nq}), L.out_t);
    if (query_masked.defined()) o.masked_fill_(query_masked, 0.0);  // the attention branch is zeroed at masked queries
    x.add_(o);
    y = nn::layer_norm(x, L.ff_norm, {}, 1e-5);
    // SwiGLU in place: the first half of the projection becomes up * silu(gate) and feeds the output product
    // as a strided view.
    auto ag = at::addmm(L.ff_in_b, y, L.ff_in_t);
    const int64_t ff = ag.size(-1) / 2;
    auto up = ag.narrow(-1, 0, ff), gate = ag.narrow(-1, ff, ff);
    up.mul_(at::silu_(gate));
    x.add_(at::mm(up, L.ff_out_t));
  }
  x = nn::layer_norm(x, w.final_norm, {}, 1e-5);
  return nn::linear(x, w.project_out);
}

}  // namespace bmx::prot3d
