// The building blocks every network in bmx is made of: the Qwen3 decoder, the MolStrucTok VQ-VAE and the
// GCP-VQVAE all call these, so each exists once. Tensors are ATen CPU tensors; shapes are [..., features].
// The Qwen3 decoder's token-by-token path works on raw float rows instead of tensors (no ATen call per
// token): it shares linear's kernels (bmx::kernels) and rms_norm's loop (float32 rms_norm here runs it);
// its attention is the per-query-row form of `attention` below, for the KV cache.
#pragma once
#include <ATen/core/Tensor.h>

namespace bmx::nn {

// y = x W^T + b (W: [out, in], b optional/undefined). W may be stored in another dtype than x (BF16 weights
// with float32 activations); the result has x's dtype.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// x / sqrt(mean(x^2) + eps) * weight, over the last dimension (computed in float32).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// Standard LayerNorm over the last dimension; weight/bias may be undefined.
at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps);

// BatchNorm1d in eval mode on [N, C]: (x - mean) / sqrt(var + eps) * weight + bias.
at::Tensor batch_norm_eval(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const at::Tensor& running_mean, const at::Tensor& running_var, double eps = 1e-5);

// gate <- silu(gate) * up, in place (gate may be a view, e.g. half of a fused projection). Float32 rows run on
// the kernels' threads.
void swiglu_(at::Tensor& gate, const at::Tensor& up);

// Rotary position embedding, "rotate half" convention (Hugging Face Llama/Qwen), applied to the first
// `rotary_dims` features of x [batch, heads, seq, head_dim] (rotary_dims <= head_dim, even; the rest passes
// through). positions: int64 [batch, seq] or [seq].
// adjacent_pairs: rotate (x[2m], x[2m+1]) with frequency m instead (x-transformers / GPT-J convention, GCP-VQVAE).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& positions, int64_t rotary_dims, double theta,
                        bool adjacent_pairs = false);

// Scaled dot-product attention with grouped-query heads: q [B, Hq, S, D], k/v [B, Hkv, T, D], Hq % Hkv == 0.
// mask: undefined, or bool [B or 1, 1, S, T] (true = may attend; hidden keys get the lowest finite score, so a
// fully hidden row is finite, never NaN). scale multiplies q·k.
// Query head h reads kv head h / (Hq/Hkv) (Llama); kv_tiled: kv head h % Hkv instead (x-transformers GQA).
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scale, bool kv_tiled = false);

}  // namespace bmx::nn
