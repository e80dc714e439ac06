// AVX-512F kernels (float32 arithmetic on 16 lanes). Also used by the AVX-512 BF16 level for the GEMV and
// for the float32-activation GEMM.
#include <immintrin.h>

// GCC 12 warns about the deliberately undefined registers inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#define BMX_KERNELS_GENERIC
#ifndef BMX_GEMV_MAX  // overridable for tuning experiments
#define BMX_GEMV_MAX 16
#endif
#include "kernels_impl.h"

namespace {

struct Avx512 {
  using F = __m512;
  static constexpr int L = 16;
  static constexpr int kGemvRows = 4;  // 4 W rows × 4 x rows: 16 accumulators + 4 W + 1 x of 32 registers
  static constexpr int kGemvCols = 4;
  static constexpr int kGemvLongRows = 8;  // one x row of K > 4096: 8 W rows, one accumulator each
  // x rows per pass over a pair tile: 16 accumulators. 8 sequences decoded together (4B, 2 threads): with 4 rows per
  // pass the tiles' second pass made 8 sequences ~10 % slower than the row kernels.
  static constexpr int kTileCols = 8;
  static constexpr int kMR = 12;       // 12 × 32 micro-tile: 24 accumulators + 2 W + 1 broadcast
  static constexpr int64_t kKC = 128;  // packed panel 128 × 32 floats = 16 KiB (L1)
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  template <WeightType WT>
  static F load_w(const uint16_t* p) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (WT == WeightType::bf16)
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    else
      return _mm512_cvtph_ps(h);
  }
  // 16 bf16 pairs (one 64-byte line of a pair tile) as their even and odd columns. Two 256-bit loads: one 512-bit
  // load per line feeding arithmetic streamed 27 against 38 GB/s on one core here.
  static void load_pairs(const uint16_t* p, F& even, F& odd) {
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
                                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16)), 1);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(int(0xFFFF0000u))));
  }
  static float hsum(F v) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

void gemv_any(const Problem& p, int64_t n0, int64_t n1) {
  if (p.wtype == WeightType::bf16) gemv<Avx512, WeightType::bf16>(p, n0, n1);
  else gemv<Avx512, WeightType::f16>(p, n0, n1);
}
void tiles_gemv(const Problem& p, int64_t n0, int64_t n1) { pair_tiles_gemv<Avx512>(p, n0, n1); }
void gemm_any(const Problem& p, int64_t n0, int64_t n1) {
  if (p.wtype == WeightType::bf16) gemm_f32<Avx512, WeightType::bf16>(p, n0, n1);
  else gemm_f32<Avx512, WeightType::f16>(p, n0, n1);
}

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

IsaKernels avx512_kernels() {
  IsaKernels k;
  k.gemv = gemv_any;
  k.gemm = gemm_any;
  k.tiles_gemv = tiles_gemv;
  // Long rows only at AVX-512F: with every matrix in tiles, one sequence ran 8.09-8.44 against 8.47-8.61 tok/s (4B,
  // 2 threads, ~80 GB/s, 3 alternations; 8 sequences gained, 37.5-38.1 against 32.4-33.2). AVX-512 BF16 tiles all.
  k.tiles_min_cols = 4097;
  k.gemv_max_rows = BMX_GEMV_MAX;
  // At most 256 rows per GEMV task (tasks are ~256 KiB of W, stream_tasks.h; the cap matters for short rows only).
  // Fixed 256-row tasks had beaten 64-row ones when tasks were handed out one at a time to any thread (4B BF16 tg64
  // 4.83-5.06 vs 4.46-4.80 tok/s); each thread now runs its own share in order, which is what long runs needed.
  k.gemv_chunk = 256;
  k.gemm_chunk = 128;
  return k;
}

}  // namespace bmx::kernels::detail
