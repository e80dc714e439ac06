#include "bmx/core/nn.h"

#include <ATen/ATen.h>

namespace bmx::nn {

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return at::linear(x, weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  auto xf = x.to(at::kFloat);
  auto y = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (y * weight.to(at::kFloat)).to(x.scalar_type());
}

at::Tensor layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps) {
  return at::layer_norm(x, {x.size(-1)}, weight.defined() ? c10::optional<at::Tensor>(weight) : c10::nullopt,
                        bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt, eps);
}

at::Tensor batch_norm_eval(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const at::Tensor& running_mean, const at::Tensor& running_var, double eps) {
  return (x - running_mean) * at::rsqrt(running_var + eps) * weight + bias;
}

at::Tensor swiglu(const at::Tensor& gate, const at::Tensor& up) { return at::silu(gate) * up; }

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& positions, int64_t rotary_dims, double theta,
                        bool adjacent_pairs) {
  const int64_t half = rotary_dims / 2;
  auto inv_freq = at::pow(theta, at::arange(0, rotary_dims, 2, at::kDouble) / double(rotary_dims)).reciprocal();
  auto pos = positions.to(at::kDouble);
  if (pos.dim() == 1) pos = pos.unsqueeze(0);                       // [B, S]
  auto freqs = pos.unsqueeze(-1) * inv_freq;                        // [B, S, half]
  auto cos = at::cos(freqs).to(x.scalar_type()).unsqueeze(1);      // [B, 1, S, half]
  auto sin = at::sin(freqs).to(x.scalar_type()).unsqueeze(1);
  auto rot = x.narrow(-1, 0, rotary_dims);
  at::Tensor out;
  if (adjacent_pairs) {
    auto pairs = rot.unflatten(-1, {half, 2});
    auto x1 = pairs.select(-1, 0), x2 = pairs.select(-1, 1);
    out = at::stack({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1).flatten(-2);
  } else {
    auto x1 = rot.narrow(-1, 0, half), x2 = rot.narrow(-1, half, half);
    out = at::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
  }
  if (rotary_dims == x.size(-1)) return out;
  return at::cat({out, x.narrow(-1, rotary_dims, x.size(-1) - rotary_dims)}, -1);
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scale, bool kv_tiled) {
  const int64_t groups = q.size(1) / k.size(1);
  auto expand = [&](const at::Tensor& t) {
    if (groups == 1) return t;
    return kv_tiled ? t.repeat({1, groups, 1, 1}) : t.repeat_interleave(groups, 1);
  };
  auto kk = expand(k), vv = expand(v);
  auto scores = at::matmul(q, kk.transpose(-2, -1)) * scale;
  if (mask.defined()) scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  return at::matmul(at::softmax(scores, -1), vv);
}

}  // namespace bmx::nn
