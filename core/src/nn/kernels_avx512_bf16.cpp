// AVX-512 BF16 GEMM: vdpbf16ps multiplies bf16 pairs of W with bf16 pairs of x and accumulates in float32,
// 32 multiply-adds per instruction. Used for large M when the precision is bf16_activations; everything
// else at this level is the AVX-512F code.
#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")
#define BMX_KERNELS_GENERIC
#include "kernels_impl.h"

namespace {

struct Avx512Bf16 {
  using F = __m512;
  using I = __m512i;
  static constexpr int L = 16;
  static constexpr int kMR = 12;       // 12 × 32 micro-tile: 24 accumulators + 2 W + 1 broadcast
  static constexpr int64_t kKC = 256;  // packed panel 128 pairs × 32 columns × 4 bytes = 16 KiB (L1)
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static I load_i(const uint32_t* p) { return _mm512_loadu_si512(p); }
  static I set1_i(uint32_t v) { return _mm512_set1_epi32(int(v)); }
  static F dp(F acc, I w, I x) { return _mm512_dpbf16_ps(acc, (__m512bh)w, (__m512bh)x); }
};

void gemm_bf16_pairs(const Problem& p, int64_t n0, int64_t n1) { gemm_pairs<Avx512Bf16>(p, n0, n1); }

// vcvtne2ps2bf16 rounds to nearest even; bf16 values in memory order are exactly the pairs layout.
void to_pairs(const float* x, int64_t K, uint32_t* dst) {
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(x + k));
    _mm512_storeu_si512(dst + k / 2, (__m512i)v);
  }
  bmx::kernels::detail::to_pairs_portable(x + k, K - k, dst + k / 2);  // k is even
}

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

IsaKernels avx512_bf16_kernels() {
  IsaKernels k = avx512_kernels();
  k.gemm_bf16 = gemm_bf16_pairs;
  k.to_pairs = to_pairs;
  return k;
}

}  // namespace bmx::kernels::detail
