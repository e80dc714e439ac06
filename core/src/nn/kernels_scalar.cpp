// Portable fallback: plain loops, float32 accumulation in four partial sums.
#include "kernels_impl.h"

namespace bmx::kernels::detail {

namespace {

template <WeightType WT>
float to_float(uint16_t h) {
  if constexpr (WT == WeightType::bf16) return bf16_bits_to_float(h);
  else return f16_to_float(h);
}

template <WeightType WT>
void range(const Problem& p, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint16_t* w = p.w + n * p.ldw;
    for (int64_t m = 0; m < p.M; ++m) {
      const float* x = p.x + m * p.ldx;
      float s[4] = {0, 0, 0, 0};
      int64_t k = 0;
      for (; k + 4 <= p.K; k += 4)
        for (int j = 0; j < 4; ++j) s[j] += x[k + j] * to_float<WT>(w[k + j]);
      for (; k < p.K; ++k) s[0] += x[k] * to_float<WT>(w[k]);
      float v = (s[0] + s[1]) + (s[2] + s[3]);
      p.y[m * p.ldy + n] = p.bias ? v + p.bias[n] : v;
    }
  }
}

void range_any(const Problem& p, int64_t n0, int64_t n1) {
  if (p.wtype == WeightType::bf16) range<WeightType::bf16>(p, n0, n1);
  else range<WeightType::f16>(p, n0, n1);
}

}  // namespace

IsaKernels scalar_kernels() {
  IsaKernels k;
  k.gemv = range_any;
  k.gemm = range_any;
  k.gemv_max_rows = 1 << 30;
  k.gemv_chunk = 16;
  return k;
}

}  // namespace bmx::kernels::detail
