#include "bmx/core/nn/nn.h"

#include <ATen/ATen.h>

#include <limits>
#include <vector>

#include "bmx/core/nn/float_matmul.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/rotary.h"
#include "bmx/core/util/thread_pool.h"
#include "decoder_ops.h"

namespace bmx::nn {

namespace {

// float32 activations on CPU with BF16/F16 weights (ATen's CPU BF16 matmul is slow and would need a float32 copy
// of the weights) or float32 weights go to bmx's kernels; everything else stays on ATen.
bool use_kernels(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const auto wt = weight.scalar_type();
  return x.device().is_cpu() && weight.device().is_cpu() && x.scalar_type() == at::kFloat &&
         (wt == at::kBFloat16 || wt == at::kHalf || wt == at::kFloat) && weight.dim() == 2 && x.dim() >= 1 &&
         x.size(-1) == weight.size(1) && weight.stride(1) == 1 && weight.stride(0) >= 1 && !x.requires_grad() &&
         !weight.requires_grad() &&
         (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0) && bias.device().is_cpu()));
}

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (use_kernels(x, weight, bias)) {
    const int64_t N = weight.size(0), K = weight.size(1);
    at::Tensor x2 = x.reshape({-1, K});
    if (x2.stride(1) != 1 || (x2.size(0) > 1 && x2.stride(0) < K)) x2 = x2.contiguous();
    const int64_t M = x2.size(0), ldx = M > 1 ? x2.stride(0) : K;
    const at::Tensor b = bias.defined() ? bias.to(at::kFloat).contiguous() : at::Tensor();
    const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
    at::Tensor y = at::empty({M, N}, x.options());
    if (weight.scalar_type() == at::kFloat)
      kernels::float_matmul(x2.data_ptr<float>(), ldx, weight.data_ptr<float>(), weight.stride(0),
                            y.data_ptr<float>(), N, M, N, K, bp);
    else
      kernels::matmul(x2.data_ptr<float>(), ldx, static_cast<const uint16_t*>(weight.data_ptr()), weight.stride(0),
                      weight.scalar_type() == at::kBFloat16 ? kernels::WeightType::bf16 : kernels::WeightType::f16,
                      y.data_ptr<float>(), N, M, N, K, bp);
    auto shape = x.sizes().vec();
    shape.back() = N;
    return y.view(shape);
  }
  // Weights stored in another dtype (BF16/F16 checkpoints used in place) are widened to the compute dtype of x.
  const auto& w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
  at::Tensor b;
  if (bias.defined()) b = bias.scalar_type() == x.scalar_type() ? bias : bias.to(x.scalar_type());
  return at::linear(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // float32 rows go through the decoder's own loop: one implementation of the norm for every caller.
  if (x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() >= 1 && x.size(-1) > 0 &&
      weight.numel() == x.size(-1) && !x.requires_grad()) {
    const int64_t n = x.size(-1);
    at::Tensor xc = x.contiguous(), wc = weight.to(at::kFloat).contiguous();
    at::Tensor y = at::empty_like(xc);
    const auto& ops = detail::decoder_ops();
    const float* xp = xc.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    for (int64_t r = 0, rows = xc.numel() / n; r < rows; ++r)
      ops.rms_norm(xp + r * n, wc.data_ptr<float>(), n, float(eps), yp + r * n);
    return y;
  }
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

void swiglu_(at::Tensor& gate, const at::Tensor& up) {
  TORCH_CHECK(gate.sizes() == up.sizes(), "swiglu_: gate and up must have the same shape");
  const bool rows = gate.dim() == 2 && gate.device().is_cpu() && gate.scalar_type() == at::kFloat &&
                    up.scalar_type() == at::kFloat && gate.stride(1) == 1 && up.stride(1) == 1 &&
                    !gate.requires_grad() && !up.requires_grad();
  if (!rows) {
    gate.copy_(at::silu(gate) * up);
    return;
  }
  float* g = gate.data_ptr<float>();
  const float* u = up.data_ptr<float>();
  const int64_t n = gate.size(0), width = gate.size(1), ldg = gate.stride(0), ldu = up.stride(0);
  const auto& ops = detail::decoder_ops();
  kernels::thread_pool().run(n, [&](int64_t r, int) { ops.silu_mul(g + r * ldg, u + r * ldu, width); });
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& positions, int64_t rotary_dims, double theta,
                        bool adjacent_pairs) {
  TORCH_CHECK(x.dim() == 4 && rotary_dims % 2 == 0 && rotary_dims <= x.size(-1),
              "apply_rotary: x must be [batch, heads, seq, dim] with an even rotary_dims <= dim");
  const int64_t B = x.size(0), H = x.size(1), S = x.size(2), D = x.size(3), half = rotary_dims / 2;
  auto pos = positions.to(at::kLong).contiguous();
  TORCH_CHECK(pos.numel() == S || pos.numel() == B * S, "apply_rotary: positions must be [seq] or [batch, seq]");
  const bool per_batch = pos.numel() == B * S && B > 1;
  auto out = x.clone(at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "apply_rotary", [&] {
    std::vector<scalar_t> cosv(size_t(pos.numel() * half)), sinv(size_t(pos.numel() * half));
    rotary_tables(pos.data_ptr<int64_t>(), pos.numel(), rotary_dims, theta, cosv.data(), sinv.data());
    scalar_t* o = out.data_ptr<scalar_t>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t r = (per_batch ? b * S : 0) + s;
          rotate_row(o + ((b * H + h) * S + s) * D, cosv.data() + r * half, sinv.data() + r * half, rotary_dims,
                     adjacent_pairs);
        }
  });
  return out;
}

namespace {

// Float32 attention of one sequence on the kernels' threads: each task takes 4 query rows of one head through
// decoder_ops().attend_rows, keys transposed once per kv head. No [S, T] score tensor, no ATen call per step.
// Returns an undefined tensor when the inputs are not of that form (the ATen path below takes them).
at::Tensor attention_rows(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                          double scale, bool kv_tiled) {
  const bool plain = q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu() &&
                     q.scalar_type() == at::kFloat && k.scalar_type() == at::kFloat && v.scalar_type() == at::kFloat &&
                     q.size(0) == 1 && k.size(0) == 1 && v.size(0) == 1 && k.size(1) > 0 &&
                     q.size(1) % k.size(1) == 0 && v.size(1) == k.size(1) && v.size(2) == k.size(2) && k.size(3) == q.size(3) &&
                     v.size(3) == q.size(3) && !q.requires_grad() && !k.requires_grad() && !v.requires_grad();
  // Masks that hide the same keys from every query row; a mask that hides every key keeps ATen's behaviour.
  if (!plain || (mask.defined() && (mask.size(0) != 1 || mask.size(2) != 1 || !mask.any().item<bool>())))
    return {};
  const int64_t Hq = q.size(1), S = q.size(2), D = q.size(3), Hkv = k.size(1), T = k.size(2);
  const int64_t groups = Hq / Hkv, ldkt = (T + 15) / 16 * 16;
  auto kt = at::zeros({Hkv, D, ldkt}, q.options());
  kt.narrow(2, 0, T).copy_(k[0].transpose(1, 2));
  const auto qs = q[0].stride(-1) == 1 ? q[0] : q[0].contiguous();  // [Hq, S, D]
  const auto vs = v[0].stride(-1) == 1 ? v[0] : v[0].contiguous();  // [Hkv, T, D]
  std::vector<uint8_t> visible;
  if (mask.defined()) {
    const auto m = mask.reshape({T}).to(at::kByte).contiguous();
    visible.assign(m.data_ptr<uint8_t>(), m.data_ptr<uint8_t>() + T);
  }
  auto out = at::empty({1, S, Hq, D}, q.options());  // heads interleaved per row: [S, Hq·D] for the projection
  const float* qp = qs.data_ptr<float>();
  const float* kp = kt.data_ptr<float>();
  const float* vp = vs.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const auto& ops = detail::decoder_ops();
  const int64_t blocks = (S + 3) / 4;
  kernels::thread_pool().run(Hq * blocks, [&](int64_t task, int) {
    thread_local std::vector<float> scratch;
    scratch.resize(static_cast<size_t>(4 * ldkt));
    const int64_t h = task / blocks, i0 = task % blocks * 4, g = kv_tiled ? h % Hkv : h / groups;
    ops.attend_rows(qp + h * qs.stride(0) + i0 * qs.stride(1), qs.stride(1), std::min<int64_t>(4, S - i0),
                    kp + g * D * ldkt, ldkt, vp + g * vs.stride(0), vs.stride(1), T, D, static_cast<float>(scale),
                    visible.empty() ? nullptr : visible.data(), scratch.data(), op + (i0 * Hq + h) * D, Hq * D);
  });
  return out.permute({0, 2, 1, 3});
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                     double scale, bool kv_tiled) {
  if (auto out = attention_rows(q, k, v, mask, scale, kv_tiled); out.defined()) return out;
  // x-transformers' GQA pairs query head j with kv head j % Hkv: tile the kv heads so that the grouped path
  // below (query head j with kv head j / groups) applies.
  if (kv_tiled && q.size(1) != k.size(1)) {
    const int64_t reps = q.size(1) / k.size(1);
    return attention(q, k.repeat({1, reps, 1, 1}), v.repeat({1, reps, 1, 1}), mask, scale, false);
  }
  // Grouped-query heads without copying k/v: query head j uses kv head j / groups, so the queries of one kv
  // head are consecutive and fold into its row dimension.
  const int64_t B = q.size(0), Hq = q.size(1), S = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), T = k.size(2), groups = Hq / Hkv;
  auto qg = q.reshape({B, Hkv, groups * S, D});
  auto scores = at::matmul(qg, k.transpose(-2, -1)) * scale;  // [B, Hkv, groups*S, T]
  if (mask.defined()) {
    // Hidden keys get the lowest finite value (as transformers): a row with every key hidden (a left pad
    // position) gives finite garbage instead of NaN, which would leak into cached values.
    auto hidden = mask.logical_not().unsqueeze(2);  // [B or 1, 1, 1, S, T]
    scores = scores.view({B, Hkv, groups, S, T})
                 .masked_fill(hidden, std::numeric_limits<float>::lowest())
                 .view({B, Hkv, groups * S, T});
  }
  return at::matmul(at::softmax(scores, -1), v).view({B, Hq, S, v.size(3)});
}

}  // namespace bmx::nn
