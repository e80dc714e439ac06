// The AVX-512 BF16 level: vdpbf16ps multiplies bf16 pairs of W with bf16 pairs of x and accumulates in
// float32, 32 multiply-adds per instruction. Used by the GEMM for large M and the GEMV for several x rows when
// the precision is bf16_activations, and by the one-row GEMV of long rows with x split in two bf16 parts (float32-equivalent,
// any precision); everything else at this level is the AVX-512F code.
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

// One x row split in two bf16 parts, x ≈ hi + lo: hi = x rounded to bf16, lo = the remainder x - hi (exact in
// float32) rounded to bf16, so |x - hi - lo| <= 2^-16·|x|. As pairs: hi at dst[0, kp), lo at dst[kp, 2·kp),
// kp = ceil(K/2), for the whole groups of 32 values only: dot_split multiplies the K % 32 tail with x itself.
// False (dst unusable) when one of those values has |x| not below 2^127 or is NaN: hi could round to infinity
// there and lo be NaN; the float GEMV keeps such values' meaning. vdpbf16ps takes bf16 subnormals as zero, so
// a value below about 2^-118 loses its lo part, or all of it below 2^-126: an absolute error under 2^-126.
bool to_split_pairs(const float* x, int64_t K, uint32_t* dst) {
  const int64_t kp = (K + 1) / 2;
  const __m512 limit = _mm512_set1_ps(0x1p127f);
  __mmask16 bad = 0;
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    const __m512 a = _mm512_loadu_ps(x + k), b = _mm512_loadu_ps(x + k + 16);
    bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(a), limit, _CMP_NLT_UQ) | _mm512_cmp_ps_mask(_mm512_abs_ps(b), limit, _CMP_NLT_UQ);
    const __m512i h = (__m512i)_mm512_cvtne2ps_pbh(b, a);
    // Elements 0-15 (from a) are the low 256 bits, 16-31 (from b) the high; bf16 -> float is a 16-bit shift.
    const __m512 ha = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(h)), 16));
    const __m512 hb = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(h, 1)), 16));
    const __m512bh l = _mm512_cvtne2ps_pbh(_mm512_sub_ps(b, hb), _mm512_sub_ps(a, ha));
    _mm512_storeu_si512(dst + k / 2, h);
    _mm512_storeu_si512(dst + kp + k / 2, (__m512i)l);
  }
  return !bad;
}

// 32 weights as two 256-bit loads. Streaming W from memory on one core here (standalone one-row GEMV, same
// data), one 512-bit load per line read 27 GB/s against 38 for two 256-bit loads.
inline __m512bh load_w32(const uint16_t* p) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
  return (__m512bh)_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// R rows of BF16 W against one x row given split (p.xpairs: hi, then lo at p.ldxp). Each vdpbf16ps multiplies
// 32 weights with 32 parts of x exactly (8-bit by 8-bit significands) and adds in float32; the hi and lo
// sums run in separate accumulators. The K % 32 tail is multiplied with x itself.
template <int R>
inline void dot_split(const Problem& p, int64_t n) {
  const int64_t K = p.K;
  const uint16_t* w[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) w[r] = p.w + (n + r) * p.ldw;
  const uint32_t* xh = p.xpairs;
  const uint32_t* xl = p.xpairs + p.ldxp;
  __m512 hi[R], lo[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) hi[r] = lo[r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    const __m512bh xhv = (__m512bh)_mm512_loadu_si512(xh + k / 2);
    const __m512bh xlv = (__m512bh)_mm512_loadu_si512(xl + k / 2);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512bh wv = load_w32(w[r] + k);
      hi[r] = _mm512_dpbf16_ps(hi[r], wv, xhv);
      lo[r] = _mm512_dpbf16_ps(lo[r], wv, xlv);
    }
  }
  for (int r = 0; r < R; ++r) {
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(hi[r], lo[r]));
    for (int64_t kk = k; kk < K; ++kk) sum += p.x[kk] * bmx::kernels::detail::bf16_bits_to_float(w[r][kk]);
    if (p.bias) sum += p.bias[n + r];
    p.y[n + r] = sum;
  }
}

// The long-row GEMV (one x row of K >= kSplitMinK: the down projection) on split x, 8 W rows per pass as the
// float GEMV. Against that (8 rows, bf16 widened to float32, FMA), a third of the instructions per weight:
// one core's rate from memory (bench kernels -t 1, 2560 x 9728, 3 alternations) 29.2-29.5 -> 32.0-33.6 GB/s;
// 4B tg24 with one thread 4.06-4.28 -> 4.31-4.47 tok/s (median token). At ~80 GB/s two threads need ~40 GB/s
// each, one core's limit here, so there the per-core rate is decode's. Short rows gained nothing (one row:
// 36.6-38.6 against 37.0-37.9 GB/s; slower in cache) and keep float32 x.
constexpr int64_t kSplitMinK = kGemvLongK + 1;
void gemv_split(const Problem& p, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + 8 <= n1; n += 8) dot_split<8>(p, n);
  for (; n < n1; ++n) dot_split<1>(p, n);
}

// A 16-row pair tile against one x row given split: each line's 16 pairs meet the x pair's hi and lo parts
// broadcast (vdpbf16ps takes the pair as one 32-bit word), four lines in flight. Pairs past the split's whole
// groups of 32 values are multiplied with x itself, as float32.
inline void pair_tile_split(const Problem& p, int64_t n) {
  const int64_t kp = p.K / 2, split_pairs = p.K / 32 * 16;  // a multiple of 4
  const uint16_t* t = p.w + n * p.K;
  const uint32_t* xh = p.xpairs;
  const uint32_t* xl = p.xpairs + p.ldxp;
  __m512 hi[4], lo[4];
  for (int u = 0; u < 4; ++u) hi[u] = lo[u] = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j < split_pairs; j += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) __builtin_prefetch(reinterpret_cast<const char*>(t + (j + u) * kTileLine) + kTilePrefetch, 0, 2);
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m512bh w = load_w32(t + (j + u) * kTileLine);
      hi[u] = _mm512_dpbf16_ps(hi[u], w, (__m512bh)_mm512_set1_epi32(int(xh[j + u])));
      lo[u] = _mm512_dpbf16_ps(lo[u], w, (__m512bh)_mm512_set1_epi32(int(xl[j + u])));
    }
  }
  const __m512i odd_mask = _mm512_set1_epi32(int(0xFFFF0000u));
  for (; j < kp; ++j) {
    const __m512i w = (__m512i)load_w32(t + j * kTileLine);
    hi[0] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w, 16)), _mm512_set1_ps(p.x[2 * j]), hi[0]);
    lo[0] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(w, odd_mask)), _mm512_set1_ps(p.x[2 * j + 1]), lo[0]);
  }
  __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(hi[0], lo[0]), _mm512_add_ps(hi[1], lo[1])),
                             _mm512_add_ps(_mm512_add_ps(hi[2], lo[2]), _mm512_add_ps(hi[3], lo[3])));
  if (p.bias) sum = _mm512_add_ps(sum, _mm512_loadu_ps(p.bias + n));
  _mm512_storeu_ps(p.y + n, sum);
}

void pair_tiles_split(const Problem& p, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; n += 16) pair_tile_split(p, n);
}

// ---- Several x rows under Precision::bf16_activations (batched decode): x rounded to bf16 pairs once per call
// (p.xpairs, [M, ldxp]), so each vdpbf16ps multiplies 32 weights with one x row where the float GEMV needs the
// widening and two FMAs. Eight sequences decoded together are bound by that arithmetic, not by memory.

// The K % 32 tail as masked loads: W past K and the odd tail's padding pair half are zero.
inline __m512bh load_w_tail(const uint16_t* p, int64_t rem) {
  return (__m512bh)_mm512_maskz_loadu_epi16(__mmask32((uint64_t(1) << rem) - 1), p);
}
inline __m512bh load_x_tail(const uint32_t* p, int64_t rem) {
  return (__m512bh)_mm512_maskz_loadu_epi32(__mmask16((uint32_t(1) << ((rem + 1) / 2)) - 1), p);
}

// R rows of W (row order) against C rows of x pairs, 32 columns per step; the next R rows are prefetched meanwhile
// (short rows: the hardware prefetchers ramp up too slowly on them, as in dot_tile).
template <int R, int C>
inline void dot_pairs(const Problem& p, int64_t n, int64_t m) {
  const int64_t K = p.K, k32 = K / 32 * 32;
  const uint16_t* w[R];
  const uint32_t* x[C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) w[r] = p.w + (n + r) * p.ldw;
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) x[c] = p.xpairs + (m + c) * p.ldxp;
  __m512 acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  for (int64_t k = 0; k < k32; k += 32) {
    __m512bh wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      __builtin_prefetch(w[r] + R * p.ldw + k, 0, 3);
      wv[r] = load_w32(w[r] + k);
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x[c] + k / 2);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv[r], xv);
    }
  }
  if (const int64_t rem = K - k32) {
    __m512bh wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) wv[r] = load_w_tail(w[r] + k32, rem);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m512bh xv = load_x_tail(x[c] + k32 / 2, rem);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], wv[r], xv);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      p.y[(m + c) * p.ldy + n + r] = _mm512_reduce_add_ps(acc[r][c]) + (p.bias ? p.bias[n + r] : 0.0f);
}

// Up to 8 x rows per pass over R rows of W (R·8 accumulators; the rows come from L1/L2 on a second pass).
template <int R>
inline void dot_pairs_rows(const Problem& p, int64_t n) {
  int64_t m = 0;
  for (; m + 8 <= p.M; m += 8) dot_pairs<R, 8>(p, n, m);
  switch (p.M - m) {
    case 1: dot_pairs<R, 1>(p, n, m); break;
    case 2: dot_pairs<R, 2>(p, n, m); break;
    case 3: dot_pairs<R, 3>(p, n, m); break;
    case 4: dot_pairs<R, 4>(p, n, m); break;
    case 5: dot_pairs<R, 5>(p, n, m); break;
    case 6: dot_pairs<R, 6>(p, n, m); break;
    case 7: dot_pairs<R, 7>(p, n, m); break;
    default: break;
  }
}

// 2 W rows per pass up to 8 x rows, 3 beyond (4B, 2 threads, 3 alternations: 8 sequences 44.0-46.5 tok/s with 2
// rows against 43.4-44.2 with 3; 16 sequences 45.2-47.1 against 52.3-52.8; 4 rows x 4 x rows: 39.0-39.9 at 8).
template <int R>
void gemv_pairs_by(const Problem& p, int64_t n0, int64_t n1) {
  int64_t n = n0;
  for (; n + R <= n1; n += R) dot_pairs_rows<R>(p, n);
  for (; n < n1; ++n) dot_pairs_rows<1>(p, n);
}

void gemv_pairs(const Problem& p, int64_t n0, int64_t n1) {
  if (p.M > 8) gemv_pairs_by<3>(p, n0, n1);
  else gemv_pairs_by<2>(p, n0, n1);
}

// A 16-row pair tile against MB rows of x pairs: each line meets every row's pair broadcast; U lines in flight
// so that at least 8 vdpbf16ps chains run (K is even in tiles: no tail).
template <int MB>
inline void pair_tile_pairs(const Problem& p, int64_t n, int64_t m0) {
  constexpr int U = MB >= 8 ? 1 : (8 + MB - 1) / MB;
  const int64_t kp = p.K / 2;
  const uint16_t* t = p.w + n * p.K;
  const uint32_t* x = p.xpairs + m0 * p.ldxp;
  __m512 acc[U][MB];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) acc[u][m] = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + U <= kp; j += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      __builtin_prefetch(reinterpret_cast<const char*>(t + (j + u) * kTileLine) + kTilePrefetch, 0, 2);
      const __m512bh w = load_w32(t + (j + u) * kTileLine);
#pragma GCC unroll 16
      for (int m = 0; m < MB; ++m)
        acc[u][m] = _mm512_dpbf16_ps(acc[u][m], w, (__m512bh)_mm512_set1_epi32(int(x[m * p.ldxp + j + u])));
    }
  }
  for (; j < kp; ++j) {
    const __m512bh w = load_w32(t + j * kTileLine);
#pragma GCC unroll 16
    for (int m = 0; m < MB; ++m)
      acc[0][m] = _mm512_dpbf16_ps(acc[0][m], w, (__m512bh)_mm512_set1_epi32(int(x[m * p.ldxp + j])));
  }
  const __m512 bias = p.bias ? _mm512_loadu_ps(p.bias + n) : _mm512_setzero_ps();
  for (int m = 0; m < MB; ++m) {
    __m512 s = acc[0][m];
    for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][m]);
    _mm512_storeu_ps(p.y + (m0 + m) * p.ldy + n, _mm512_add_ps(s, bias));
  }
}

template <int MB>
inline void pair_tile_pairs_rest(const Problem& p, int64_t n, int64_t m0, int64_t rows) {
  if constexpr (MB > 0) {
    if (rows == MB) pair_tile_pairs<MB>(p, n, m0);
    else pair_tile_pairs_rest<MB - 1>(p, n, m0, rows);
  }
}

// Up to 16 x rows per pass (16 accumulators + the line): one pass over each tile for any decode batch.
void pair_tiles_pairs(const Problem& p, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; n += 16) {
    int64_t m = 0;
    for (; m + 16 <= p.M; m += 16) pair_tile_pairs<16>(p, n, m);
    if (m < p.M) pair_tile_pairs_rest<15>(p, n, m, p.M - m);
  }
}

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

IsaKernels avx512_bf16_kernels() {
  IsaKernels k = avx512_kernels();
  k.gemm_bf16 = gemm_bf16_pairs;
  k.to_pairs = to_pairs;
  k.split_x = {gemv_split, pair_tiles_split, to_split_pairs, kSplitMinK};
  k.pairs_gemv = {gemv_pairs, pair_tiles_pairs};
  // Every BF16 matrix in tiles, not only long rows (pair_tiles.h). 4B, 2 threads, memory at ~80 GB/s, against long
  // rows only, 3 alternations: tg32 8.96-9.08 against 8.67-9.02 tok/s; 8 sequences 52.8-54.0 against 42.8-43.6,
  // 16 sequences 66.7-68.2 against 54.0-55.9; pp512 89.8-92.4 against 84.2-84.8 (2 alternations).
  k.tiles_min_cols = 2;
  return k;
}

}  // namespace bmx::kernels::detail
