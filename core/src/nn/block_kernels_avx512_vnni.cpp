// AVX-512 VNNI block-quantized products: vpdpbusd multiplies 64 unsigned weight bytes with 64 signed bytes of
// x and adds each group of four into an int32 lane, so one instruction covers two blocks of 32. The weights'
// stored bytes are offsets (q8_0: value + 128, q4_0: value + 8), which is what vpdpbusd's unsigned operand
// wants; the offset's contribution (offset * the block's sum of x) is subtracted once per row at the end.
#include <immintrin.h>

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#define BMX_BLOCK_KERNELS_GENERIC
#include "block_kernels_impl.h"

namespace {

using bmx::kernels::BlockFormat;
using bmx::kernels::detail::BlockProblem;

// The weight stream is prefetched this far ahead: the hardware prefetchers alone left decode waiting on the W loads
// (perf: most samples at the load). Measured on the 4B shape, Zen 4, 2 threads, alternating runs: q8_0 tg64
// 4.4-5.8 -> 4.9-6.3 tok/s, q4_0 6.6-8.4 -> 7.7-9.0 (1024 bytes: in between; 4096: no better). The BF16 GEMV
// tried the same way got slower, so it has none.
#ifndef BMX_BLOCK_PREFETCH
#define BMX_BLOCK_PREFETCH 2048
#endif
constexpr int kPrefetchBytes = BMX_BLOCK_PREFETCH;
// The tiles' stream (BlockOrder::tiles) is prefetched 4 KiB ahead into L2: 4B q8_0 rounded at load, tg48 at ~80
// GB/s, 2 alternations (measured with a first, less unrolled version of the tile kernel): 12.8-13.1 tok/s with 4
// or 8 KiB into L2 against 10.4-10.7 with 2 KiB into L1, and 10.7-11.5 with none.
constexpr int kTilePrefetch = 4096;
constexpr int kPass = 8;  // rows of x sharing one load of a W row: 8 accumulators of 32 registers

inline float hsum(__m512 v) {
  __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Two blocks of W as 64 unsigned bytes in element order.
template <BlockFormat F>
inline __m512i load_pair(const uint8_t* row, int64_t pair) {
  if constexpr (F == BlockFormat::q8_0) {
    return _mm512_loadu_si512(row + 64 * pair);
  } else {
    // The 32 bytes twice, the upper copy shifted to its high nibbles: [b0 low nibbles, b1 low, b0 high,
    // b1 high], then reordered to [b0 low, b0 high, b1 low, b1 high]: elements in order.
    const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * pair)));
    const __m512i v = _mm512_and_si512(_mm512_mask_srli_epi16(both, __mmask32(0xFFFF0000u), both, 4),
                                       _mm512_set1_epi8(0x0F));
    return _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
  }
}

// sum_b sw[b] * t[b] over a row's blocks.
inline float scale_dot(const uint16_t* sw, const float* t, int64_t nb) {
  __m512 acc = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 16 <= nb; b += 16)
    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sw + b))),
                          _mm512_loadu_ps(t + b), acc);
  float s = hsum(acc);
  for (; b < nb; ++b) s += _cvtsh_ss(sw[b]) * t[b];
  return s;
}

template <BlockFormat F, int MB>
inline void rows_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  constexpr float kOffset = F == BlockFormat::q8_0 ? 128.0f : 8.0f;
  const int64_t nb = p.x.blocks, pairs = nb / 2, ldq = p.x.cols_padded;
  const int64_t row_bytes = F == BlockFormat::q8_0 ? ldq : ldq / 2;
  const uint8_t* wq = p.w.quants + n * row_bytes;
  const uint16_t* ws = p.w.scales + n * nb;
  // Lanes 0-7 hold block 2j's partial sums, lanes 8-15 block 2j+1's.
  const __m512i halves = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc[MB];
  for (int m = 0; m < MB; ++m) acc[m] = _mm512_setzero_ps();
  for (int64_t j = 0; j < pairs; ++j) {
    if constexpr (kPrefetchBytes > 0)
      _mm_prefetch(reinterpret_cast<const char*>(wq) + (F == BlockFormat::q8_0 ? 64 : 32) * j + kPrefetchBytes, _MM_HINT_T0);
    const __m512i w = load_pair<F>(wq, j);
    int32_t sw_bits;
    __builtin_memcpy(&sw_bits, ws + 2 * j, 4);
    const __m128 sw = _mm_cvtph_ps(_mm_cvtsi32_si128(sw_bits));
    for (int m = 0; m < MB; ++m) {
      const int8_t* xq = p.x.q + (m0 + m) * ldq + 64 * j;
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512(xq));
      const __m128 sx = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(p.x.scale + (m0 + m) * nb + 2 * j)));
      const __m512 s = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(_mm_mul_ps(sw, sx)));
      acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), s, acc[m]);
    }
  }
  for (int m = 0; m < MB; ++m) {
    float v = hsum(acc[m]) - kOffset * scale_dot(ws, p.x.offset_term + (m0 + m) * nb, nb);
    if (p.bias) v += p.bias[n];
    p.y[(m0 + m) * p.ldy + n] = v;
  }
}

// A tile of 16 W rows (BlockOrder::tiles) against MB rows of x: per block, the tile's 4-byte groups each meet
// one 4-byte group of x broadcast, so vpdpbusd sums 16 rows at once and a block costs one conversion and one
// scale multiply for all of them. Four int32 chains of two per block (vpdpbusd's latency); blocks overlap out of
// order.
template <BlockFormat F, int MB>
inline void tile_of_x(const BlockProblem& p, int64_t n, int64_t m0) {
  constexpr float kOffset = F == BlockFormat::q8_0 ? 128.0f : 8.0f;
  constexpr int kGroups = 8;  // 4-element groups of a block; q4_0 stores two per byte (low, high nibble)
  constexpr int kBlockBytes = F == BlockFormat::q8_0 ? 512 : 256;  // one block of the tile
  const int64_t nb = p.x.blocks, ldq = p.x.cols_padded;
  const uint8_t* wt = p.w.quants + n * (F == BlockFormat::q8_0 ? ldq : ldq / 2);
  const uint16_t* st = p.w.scales + n * nb;
  __m512 acc[MB], corr[MB];
  for (int m = 0; m < MB; ++m) acc[m] = corr[m] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = wt + b * kBlockBytes;
#pragma GCC unroll 8
    for (int l = 0; l < kBlockBytes; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(wb) + l + kTilePrefetch, _MM_HINT_T1);
    __m512i w[kGroups];
    if constexpr (F == BlockFormat::q8_0) {
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g) w[g] = _mm512_loadu_si512(wb + 64 * g);
    } else {
      const __m512i low = _mm512_set1_epi8(0x0F);
#pragma GCC unroll 4
      for (int h = 0; h < 4; ++h) {
        const __m512i v = _mm512_loadu_si512(wb + 64 * h);
        w[h] = _mm512_and_si512(v, low);                             // elements 4h .. 4h+3
        w[h + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);   // elements 16+4h .. 16+4h+3
      }
    }
    const __m512 sw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(st + b * 16)));
#pragma GCC unroll 4
    for (int m = 0; m < MB; ++m) {
      const int8_t* xb = p.x.q + (m0 + m) * ldq + 32 * b;
      // x's group g broadcast to every lane (a load-op broadcast, not through a general register)
      auto xg = [xb](int g) { return _mm512_broadcastd_epi32(_mm_loadu_si32(xb + 4 * g)); };
      __m512i d[4];
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) d[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[c], xg(c));
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) d[c] = _mm512_dpbusd_epi32(d[c], w[c + 4], xg(c + 4));
      const __m512i dot = _mm512_add_epi32(_mm512_add_epi32(d[0], d[1]), _mm512_add_epi32(d[2], d[3]));
      const float* xs = p.x.scale + (m0 + m) * nb;
      const float* xo = p.x.offset_term + (m0 + m) * nb;
      acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(sw, _mm512_set1_ps(xs[b])), acc[m]);
      corr[m] = _mm512_fmadd_ps(sw, _mm512_set1_ps(xo[b]), corr[m]);
    }
  }
  const __m512 bias = p.bias ? _mm512_loadu_ps(p.bias + n) : _mm512_setzero_ps();
  for (int m = 0; m < MB; ++m)
    _mm512_storeu_ps(p.y + (m0 + m) * p.ldy + n, _mm512_add_ps(_mm512_fnmadd_ps(corr[m], _mm512_set1_ps(kOffset), acc[m]), bias));
}

// x's rounding for the products, 32 values in two vectors: decoding rounds every x it multiplies, on one thread
// while the others wait (the portable loop was 1-2 % of q8_0 decode, and as much again idle on the others).
bool quantize_block(const float* x, int8_t* q, float* scale, float* offset_term) {
  const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
  constexpr int kNonFinite = 0x01 | 0x08 | 0x10 | 0x80;  // quiet NaN, +inf, -inf, signalling NaN
  if (_mm512_fpclass_ps_mask(a, kNonFinite) | _mm512_fpclass_ps_mask(b, kNonFinite)) return false;
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
  const float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
  const __m512 vinv = _mm512_set1_ps(inv);
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
  const __m512i qa = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(a, vinv), kNearest)), lo), hi);
  const __m512i qb = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(b, vinv), kNearest)), lo), hi);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(qa));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(qb));
  *scale = d;
  *offset_term = d * float(_mm512_reduce_add_epi32(_mm512_add_epi32(qa, qb)));
  return true;
}

struct Avx512Vnni {
  static constexpr int kRowsPerPass = kPass;
  static constexpr int kTilePass = 4;  // rows of x per pass over a tile: 8 W vectors, 4 chains, 4 × 2 sums: 21 registers
  template <BlockFormat F, int MB>
  static void tile(const BlockProblem& p, int64_t n, int64_t m0) { tile_of_x<F, MB>(p, n, m0); }
  template <BlockFormat F, int MB>
  static void rows(const BlockProblem& p, int64_t n, int64_t m0) { rows_of_x<F, MB>(p, n, m0); }
};

}  // namespace

#pragma GCC pop_options

namespace bmx::kernels::detail {

BlockKernels avx512_vnni_block_kernels() {
  BlockKernels k;
  k.q8_0 = block_range<Avx512Vnni, BlockFormat::q8_0>;
  k.q4_0 = block_range<Avx512Vnni, BlockFormat::q4_0>;
  k.q8_0_tiles = tiles_range<Avx512Vnni, BlockFormat::q8_0>;
  k.q4_0_tiles = tiles_range<Avx512Vnni, BlockFormat::q4_0>;
  k.quantize_block = quantize_block;
  k.name = "avx512-vnni";
  return k;
}

}  // namespace bmx::kernels::detail
