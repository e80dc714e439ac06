#include "code_decoder.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace bmx::mol3d {
namespace {

// y[r][o] = bias[o] + sum over i of x[r][i] * w[o][i], summed in double (each product of two floats is exact
// there) and rounded to float once: the same bits on every machine, and closer to the exact sum than any float32
// order (a 300-atom chain decodes within the reference's tolerance; PyTorch's own result depends on the BLAS kernel
// the CPU gets).
void linear_scalar(const float* x, int rows, const LinearF32& l, float* y) {
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < l.out; ++o) {
      double acc = l.bias[o];
      for (int i = 0; i < l.in; ++i) acc += double(x[r * l.in + i]) * double(l.weight[o * l.in + i]);
      y[r * l.out + o] = float(acc);
    }
}

// The same sums, four outputs side by side (each output's additions in the same order).
__attribute__((target("avx2"))) void linear_avx2(const float* x, int rows, const LinearF32& l, float* y) {
  std::vector<double> wt(std::size_t(l.in) * l.out);  // [in][out]
  for (int o = 0; o < l.out; ++o)
    for (int i = 0; i < l.in; ++i) wt[std::size_t(i) * l.out + o] = l.weight[o * l.in + i];
  const int wide = l.out / 4 * 4;
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + std::size_t(r) * l.in;
    for (int o = 0; o < wide; o += 4) {
      __m256d acc = _mm256_cvtps_pd(_mm_loadu_ps(l.bias + o));
      for (int i = 0; i < l.in; ++i)
        acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_set1_pd(xr[i]), _mm256_loadu_pd(&wt[std::size_t(i) * l.out + o])));
      _mm_storeu_ps(y + std::size_t(r) * l.out + o, _mm256_cvtpd_ps(acc));
    }
    for (int o = wide; o < l.out; ++o) {
      double acc = l.bias[o];
      for (int i = 0; i < l.in; ++i) acc += double(xr[i]) * double(l.weight[o * l.in + i]);
      y[std::size_t(r) * l.out + o] = float(acc);
    }
  }
}

void linear(const float* x, int rows, const LinearF32& l, float* y) {
  if (__builtin_cpu_supports("avx2")) linear_avx2(x, rows, l, y);
  else linear_scalar(x, rows, l, y);
}

// PyTorch's eval-mode BatchNorm (ATen's AVX2/AVX-512 kernel): alpha = gamma / sqrt(var + eps),
// beta = bias - mean * alpha and x * alpha + beta, both fused; then ReLU.
void batch_norm_relu(float* h, int rows, int channels, const BatchNormF32& bn) {
  for (int c = 0; c < channels; ++c) {
    const float invstd = 1.f / std::sqrt(bn.var[c] + bn.eps);
    const float alpha = invstd * bn.gamma[c];
    const float beta = std::fma(-bn.mean[c], alpha, bn.beta[c]);
    for (int r = 0; r < rows; ++r) {
      float& v = h[std::size_t(r) * channels + c];
      v = std::max(std::fma(v, alpha, beta), 0.f);
    }
  }
}

}  // namespace

std::vector<float> decoder_mlp(const std::vector<float>& x, int rows, const LinearF32 (&linear_layers)[3],
                               const BatchNormF32 (&norm)[2]) {
  std::vector<float> a(std::size_t(rows) * linear_layers[0].out), b(std::size_t(rows) * linear_layers[1].out),
      y(std::size_t(rows) * linear_layers[2].out);
  linear(x.data(), rows, linear_layers[0], a.data());
  batch_norm_relu(a.data(), rows, linear_layers[0].out, norm[0]);
  linear(a.data(), rows, linear_layers[1], b.data());
  batch_norm_relu(b.data(), rows, linear_layers[1].out, norm[1]);
  linear(b.data(), rows, linear_layers[2], y.data());
  return y;
}

}  // namespace bmx::mol3d
