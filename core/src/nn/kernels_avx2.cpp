// AVX2 + FMA kernels (and the test-only AVX2 emulation of the vdpbf16ps GEMM).
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define BMX_KERNELS_GENERIC
#ifndef BMX_GEMV_MAX  // overridable for tuning experiments
#define BMX_GEMV_MAX 16
#endif
#include "kernels_impl.h"

namespace {

struct Avx2 {
  using F = __m256;
  static constexpr int L = 8;
  static constexpr int kGemvRows = 3;  // 3 W rows × 3 x rows per GEMV tile: 9 accumulators + 3 W + 1 x
  static constexpr int kGemvCols = 3;
  // One x row of K > 4096 (the down projection): one W row at a time, as for short rows, its stream prefetched
  // ahead. From cache 4 rows × 2 accumulators are faster (127 against 78 GB/s, 2 threads, this EPYC with 48 KiB
  // of L1), but decoding streams W from memory: 4B BF16 tg64 --isa avx2 at ~80 GB/s, 7.66-7.82 against
  // 5.62-7.55 tok/s (3 alternations), at ~50 94-98 % of the weights' read rate against 88-96 %. (The AVX-512
  // level keeps 8-row tiles: one row there was 1.5-4 % slower.)
  static constexpr int kGemvLongRows = 1;
  // x rows per pass over a pair tile: 12 accumulators + 2 W + 1 broadcast. 8 sequences decoded together (4B, 2
  // threads, --isa avx2) read 20.1-21.0 tok/s against 22.6-23.3 with the weights in rows (4 rows per pass: 20.3-20.7);
  // one sequence gains more (one thread 3.93-4.04 -> 4.32-4.41 tok/s).
  static constexpr int kTileCols = 3;
  static constexpr int kMR = 6;        // 6 × 16 micro-tile: 12 accumulators + 2 W + 1 broadcast
  static constexpr int64_t kKC = 256;  // packed panel 256 × 16 floats = 16 KiB (L1)
  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  template <WeightType WT>
  static F load_w(const uint16_t* p) {
    return load8_w<WT>(p);
  }
  // 8 bf16 pairs (half a line of a pair tile) as their even and odd columns.
  static void load_pairs(const uint16_t* p, F& even, F& odd) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xFFFF0000u))));
  }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

// vdpbf16ps emulated: each 32-bit lane holds a bf16 pair; lo·lo + hi·hi is added in float32 (exact products).
struct Avx2Pairs : Avx2 {
  using I = __m256i;
  static I load_i(const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static I set1_i(uint32_t v) { return _mm256_set1_epi32(int(v)); }
  static F dp(F acc, I a, I b) {
    const __m256i hi_mask = _mm256_set1_epi32(int(0xFFFF0000u));
    F a_hi = _mm256_castsi256_ps(_mm256_and_si256(a, hi_mask));
    F b_hi = _mm256_castsi256_ps(_mm256_and_si256(b, hi_mask));
    F a_lo = _mm256_castsi256_ps(_mm256_slli_epi32(a, 16));
    F b_lo = _mm256_castsi256_ps(_mm256_slli_epi32(b, 16));
    return _mm256_fmadd_ps(a_lo, b_lo, _mm256_fmadd_ps(a_hi, b_hi, acc));
  }
  static constexpr int kMR = 4;
};

void gemv_bf16(const Problem& p, int64_t n0, int64_t n1) { gemv<Avx2, WeightType::bf16>(p, n0, n1); }
void gemv_f16(const Problem& p, int64_t n0, int64_t n1) { gemv<Avx2, WeightType::f16>(p, n0, n1); }
void gemm_bf16w(const Problem& p, int64_t n0, int64_t n1) { gemm_f32<Avx2, WeightType::bf16>(p, n0, n1); }
void gemm_f16w(const Problem& p, int64_t n0, int64_t n1) { gemm_f32<Avx2, WeightType::f16>(p, n0, n1); }
void tiles_gemv(const Problem& p, int64_t n0, int64_t n1) { pair_tiles_gemv<Avx2>(p, n0, n1); }
void gemm_emulated_pairs(const Problem& p, int64_t n0, int64_t n1) { gemm_pairs<Avx2Pairs>(p, n0, n1); }

void gemv_any(const Problem& p, int64_t n0, int64_t n1) {
  p.wtype == WeightType::bf16 ? gemv_bf16(p, n0, n1) : gemv_f16(p, n0, n1);
}
void gemm_any(const Problem& p, int64_t n0, int64_t n1) {
  p.wtype == WeightType::bf16 ? gemm_bf16w(p, n0, n1) : gemm_f16w(p, n0, n1);
}

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

IsaKernels avx2_kernels() {
  IsaKernels k;
  k.gemv = gemv_any;
  k.gemm = gemm_any;
  k.tiles_gemv = tiles_gemv;
  k.tiles_min_cols = 4097;  // long rows only (pair_tiles.h): with short rows too, 8 sequences ran 16.0-16.5 tok/s
  k.gemv_max_rows = BMX_GEMV_MAX;  // measured: the 3×3 dot tiles beat pack + micro-kernel up to M = 16
  k.gemv_chunk = 96;                // a multiple of the 3-row tile
  k.gemv_granule = 48;              // the 3-row tile and a 16-row pair tile
  k.gemm_chunk = 64;
  return k;
}

IsaKernels avx2_bf16_emulated_kernels() {
  IsaKernels k = avx2_kernels();
  k.gemm_bf16 = gemm_emulated_pairs;
  return k;
}

}  // namespace bmx::kernels::detail
