// Internal to the kernels: the problem description shared by every instruction-set file, and the generic
// kernel templates each of them instantiates with its own vector traits.
//
// This header is included by kernels_<isa>.cpp AFTER `#pragma GCC target(...)`. Everything it defines lives
// in an anonymous namespace, and it must not instantiate any std:: template: an inline function compiled for
// AVX-512 in one file could otherwise be the copy the linker keeps for the whole program.
#pragma once
#include <cstdint>
#include <cstring>

#ifdef BMX_KERNELS_GENERIC
#include <immintrin.h>
#endif

#include "bmx/core/nn/kernels.h"

namespace bmx::kernels::detail {

// One product as the caller describes it (MatmulJob: x, W, y with their strides, M, N, K, bias), plus what the
// bf16-activation GEMM needs.
struct Problem : MatmulJob {
  const uint32_t* xpairs = nullptr;  // bf16_activations GEMM only: [M, ceil(K/2)] pairs (x[2j] low, x[2j+1] high)
  int64_t ldxp = 0;
  // The GEMMs only: BF16 W in pair tiles (pair_tiles.h; K even, ranges on tile bounds), packed from them directly.
  bool w_in_tiles = false;
};

// Each function computes y[0:M, n0:n1] completely (bias included).
using RangeFn = void (*)(const Problem&, int64_t n0, int64_t n1);

// The GEMV of one x row of K >= min_k against BF16 W with x split in two bf16 parts (Problem::xpairs: hi,
// then lo at ldxp), and the split itself (false: x holds values it cannot carry; IsaKernels::gemv then).
struct SplitXGemv {
  RangeFn gemv = nullptr;
  RangeFn tiles = nullptr;  // the same for W in pair tiles (pair_tiles.h), any K
  bool (*split)(const float* x, int64_t K, uint32_t* dst) = nullptr;
  int64_t min_k = 0;
  explicit operator bool() const { return gemv != nullptr; }
};

// The GEMV of 2 .. gemv_max_rows x rows rounded to bf16 pairs (Problem::xpairs), BF16 W, for
// Precision::bf16_activations: W in rows, W in pair tiles.
struct PairsGemv {
  RangeFn rows = nullptr;
  RangeFn tiles = nullptr;
  explicit operator bool() const { return rows != nullptr; }
};

struct IsaKernels {
  RangeFn gemv = nullptr;       // M <= gemv_max_rows
  RangeFn gemm = nullptr;       // larger M, float32 activations
  RangeFn gemm_bf16 = nullptr;  // larger M, bf16 activation pairs (null where not worth it)
  // Row of x -> bf16 pairs (ceil(K/2) words, the odd tail padded with 0); null: the portable loop.
  void (*to_pairs)(const float* x, int64_t K, uint32_t* dst) = nullptr;
  SplitXGemv split_x;                 // one x row of long K, BF16 W (empty where the level has none)
  PairsGemv pairs_gemv;               // several x rows as bf16 pairs, BF16 W (empty where the level has none)
  // BF16 W in pair tiles (pair_tiles.h), M <= gemv_max_rows, rows [n0, n1) on tile bounds; null: the rows of each
  // task are put back in row order for gemv.
  RangeFn tiles_gemv = nullptr;
  int64_t tiles_min_cols = 0;  // rows at least this long are kept in pair tiles (pair_tiles_pay)
  int64_t gemv_max_rows = 0;
  int64_t gemv_chunk = 64;      // rows of W per task at most (gemv_task_rows)
  int64_t gemv_granule = 16;    // a task's rows are a multiple of this: a tile, and the level's rows per pass
  int64_t gemm_chunk = 64;      // columns of y per task
};

IsaKernels scalar_kernels();
IsaKernels avx2_kernels();
IsaKernels avx2_bf16_emulated_kernels();
IsaKernels avx512_kernels();
IsaKernels avx512_bf16_kernels();

// A per-thread scratch buffer of at least `bytes` (64-byte aligned), reused across calls.
void* thread_scratch(std::size_t bytes);
// x[0, K) rounded to bf16 (nearest even) as pairs (k, k+1) in uint32: the portable form of IsaKernels::to_pairs.
void to_pairs_portable(const float* x, int64_t K, uint32_t* dst);

inline float bf16_bits_to_float(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace bmx::kernels::detail

#ifdef BMX_KERNELS_GENERIC  // the templates, for the kernels_<isa>.cpp files
namespace {

using bmx::kernels::WeightType;
using bmx::kernels::detail::Problem;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

#ifndef BMX_PREFETCH_AHEAD
#define BMX_PREFETCH_AHEAD 0
#endif
constexpr int64_t kPrefetchAhead = BMX_PREFETCH_AHEAD;  // extra elements beyond the next tile
constexpr int64_t kSmallM = 64;  // GEMM loop order switch (see gemm_f32)
constexpr int64_t kRowPrefetch = 2048;  // elements (4 KiB of 16-bit weights): the one-row GEMV's prefetch distance
constexpr int64_t kGemvLongK = 4096;  // one-row GEMV: x beyond 16 KiB shares L1 badly with the W stream

template <WeightType WT>
inline float w_to_float(uint16_t h) {
  if constexpr (WT == WeightType::bf16) return bmx::kernels::detail::bf16_bits_to_float(h);
  else return bmx::kernels::f16_to_float(h);
}


// ---- Packing helpers (AVX2 instructions; every file that includes this part enables AVX2).
// In-register transpose of 8 rows of 8 32-bit values: r[j] becomes (r0[j], r1[j], ..., r7[j]).
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
    r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
  }
}

template <WeightType WT>
inline __m256 load8_w(const uint16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (WT == WeightType::bf16)
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  else
    return _mm256_cvtph_ps(h);
}

// dst[k·NR + i] = float(W row i, column k) for i < NR (rows >= rows_valid are zero), k < kc.
template <WeightType WT, int NR>
inline void pack_panel_f32(const uint16_t* src, int64_t ldw, int rows_valid, int64_t kc, float* dst) {
  int64_t k = 0;
  if (rows_valid == NR) {
    for (; k + 8 <= kc; k += 8)
      for (int g = 0; g < NR; g += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = load8_w<WT>(src + (g + i) * ldw + k);
        transpose8x8(r);
        for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (k + j) * NR + g, r[j]);
      }
  }
  for (int i = 0; i < NR; ++i)
    for (int64_t kk = k; kk < kc; ++kk) dst[kk * NR + i] = i < rows_valid ? w_to_float<WT>(src[i * ldw + kk]) : 0.0f;
}

// dst[q·NR + i] = bf16 pair (W[i][2q], W[i][2q+1]) for i < NR (rows >= rows_valid are zero), q < ceil(kc/2).
template <int NR>
inline void pack_panel_pairs(const uint16_t* src, int64_t ldw, int rows_valid, int64_t kc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  int64_t q = 0;
  if (rows_valid == NR) {
    for (; 2 * q + 16 <= kc; q += 8)
      for (int g = 0; g < NR; g += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i)
          r[i] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + (g + i) * ldw + 2 * q)));
        transpose8x8(r);
        for (int j = 0; j < 8; ++j) _mm256_storeu_ps(reinterpret_cast<float*>(dst + (q + j) * NR + g), r[j]);
      }
  }
  for (int i = 0; i < NR; ++i) {
    const uint16_t* row = src + i * ldw;
    for (int64_t qq = q; qq < kp; ++qq) {
      uint32_t v = 0;
      if (i < rows_valid) {
        v = row[2 * qq];
        if (2 * qq + 1 < kc) v |= uint32_t(row[2 * qq + 1]) << 16;
      }
      dst[qq * NR + i] = v;
    }
  }
}

// The GEMMs' panels packed from pair tiles (16 rows × 64-byte lines of column pairs, pair_tiles.h) instead of rows:
// the rows [n, n + rows_valid) (whole tiles) of W [., K] in tiles, columns [k0, k0 + kc) (both even). A tile's line
// is already 16 rows of one column pair, so the pairs panel copies lines; the float32 panel splits each line into
// its even and odd columns (a bf16 is a float32's high half). Rows past rows_valid are zero.
constexpr int64_t kTileLine = 32;  // 16-bit values in a tile's 64-byte line: 16 rows × a column pair
template <int NR>
inline void pack_panel_pairs_from_tiles(const uint16_t* tiles, int64_t K, int64_t n, int rows_valid, int64_t k0,
                                        int64_t kc, uint32_t* dst) {
  for (int64_t q = 0; q < kc / 2; ++q)
    for (int g = 0; g < NR; g += 16) {
      if (g < rows_valid) std::memcpy(dst + q * NR + g, tiles + (n + g) * K + (k0 / 2 + q) * kTileLine, 64);
      else std::memset(dst + q * NR + g, 0, 64);
    }
}
template <int NR>
inline void pack_panel_f32_from_tiles(const uint16_t* tiles, int64_t K, int64_t n, int rows_valid, int64_t k0,
                                      int64_t kc, float* dst) {
  for (int64_t q = 0; q < kc / 2; ++q)
    for (int g = 0; g < NR; g += 16) {
      float* even = dst + 2 * q * NR + g;
      float* odd = even + NR;
      if (g >= rows_valid) {
        std::memset(even, 0, 64);
        std::memset(odd, 0, 64);
        continue;
      }
      const uint16_t* line = tiles + (n + g) * K + (k0 / 2 + q) * kTileLine;
      for (int r = 0; r < 16; ++r) {
        even[r] = bmx::kernels::detail::bf16_bits_to_float(line[2 * r]);
        odd[r] = bmx::kernels::detail::bf16_bits_to_float(line[2 * r + 1]);
      }
    }
}

// ---- GEMV: R rows of W against C rows of x, dot products along K. W is read once from memory per R-row
// tile; the C rows of x stay in L1/L2.
template <class V, WeightType WT, int R, int C, bool Prefetch = true>
inline void dot_tile(const Problem& p, int64_t n, int64_t m) {
  using F = typename V::F;
  constexpr int L = V::L;
  // 64 bytes of each row per step. With one x row the FMA chains, not memory, would set the pace (R chains
  // of 4-cycle FMAs): the step is then four vectors, with R·S accumulators, 4 for one row, else 8. More only
  // spill registers: 8 rows × 4 accumulators (32) read W from cache 3-10 % slower than 8 × 1 with AVX-512,
  // and with AVX2 4 × 4 and 8 × 4 were 10-30 % slower than 4 × 2.
  constexpr int S = C == 1 ? (R == 1 ? 4 : R >= 8 ? 1 : 8 / R) : 1;
  constexpr int kStep = C == 1 ? 4 * L : (32 > L ? 32 : L);
  const int64_t K = p.K;
  const uint16_t* w[R];
  const float* x[C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) w[r] = p.w + (n + r) * p.ldw;
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) x[c] = p.x + (m + c) * p.ldx;
  F acc[R][C][S];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c)
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s) acc[r][c][s] = V::zero();
  int64_t k = 0;
  // The same bytes of the next R-row tile are prefetched meanwhile (an R·K·2-byte lookahead): rows are
  // short (5 KiB for K = 2560) and the hardware prefetchers ramp up too slowly on them. Prefetching past
  // the end of W is harmless.
  for (; k + kStep <= K; k += kStep) {
    if constexpr (Prefetch) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) __builtin_prefetch(w[r] + R * p.ldw + k + kPrefetchAhead, 0, 3);
    }
    // One row of W against one row of x (decode): its stream 4 KiB ahead into L2, on top of the hardware
    // prefetchers. 4B BF16 tg64, 2 threads, Zen 4, 5 alternations: 5.78-8.33 against 5.47-7.87 tok/s, higher in
    // each pair. 2 KiB ahead into L1 was no better; the long rows' tiles got slower with any prefetch.
    if constexpr (!Prefetch && R == 1 && C == 1) {
#pragma GCC unroll 2
      for (int e = 0; e < kStep; e += 32) __builtin_prefetch(w[0] + k + kRowPrefetch + e, 0, 2);
    }
#pragma GCC unroll 4
    for (int u = 0; u < kStep; u += L) {
      F wv[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) wv[r] = V::template load_w<WT>(w[r] + k + u);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        F xv = V::load(x[c] + k + u);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r][c][(u / L) % S] = V::fma(wv[r], xv, acc[r][c][(u / L) % S]);
      }
    }
  }
  for (; k + L <= K; k += L) {
    F wv[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) wv[r] = V::template load_w<WT>(w[r] + k);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      F xv = V::load(x[c] + k);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r][c][0] = V::fma(wv[r], xv, acc[r][c][0]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      F a = acc[r][c][0];
      for (int s = 1; s < S; ++s) a = V::add(a, acc[r][c][s]);
      float sum = V::hsum(a);
      for (int64_t kk = k; kk < K; ++kk) sum += x[c][kk] * w_to_float<WT>(w[r][kk]);
      if (p.bias) sum += p.bias[n + r];
      p.y[(m + c) * p.ldy + n + r] = sum;
    }
}

template <class V, WeightType WT, int R>
inline void dot_rows(const Problem& p, int64_t n) {
  constexpr int CM = V::kGemvCols;
  int64_t m = 0;
  for (; m + CM <= p.M; m += CM) dot_tile<V, WT, R, CM>(p, n, m);
  switch (p.M - m) {
    case 1: dot_tile<V, WT, R, 1>(p, n, m); break;
    case 2: if constexpr (CM > 2) dot_tile<V, WT, R, 2>(p, n, m); break;
    case 3: if constexpr (CM > 3) dot_tile<V, WT, R, 3>(p, n, m); break;
    default: break;
  }
}

template <class V, WeightType WT>
void gemv(const Problem& p, int64_t n0, int64_t n1) {
  constexpr int R = V::kGemvRows;
  int64_t n = n0;
  if (p.M == 1) {
    // One x row (decode): W row after row, one sequential stream left to the hardware prefetcher. Measured
    // on Zen 3 (2 threads, 50 MB matrices): about twice the rate of 3-row tiles with software prefetch.
    if (p.K <= kGemvLongK) {
      for (; n < n1; ++n) dot_tile<V, WT, 1, 1, false>(p, n, 0);
      return;
    }
    // A long x (the down projection's 9728 floats, 38 KiB) does not stay in L1 next to the W stream: several
    // rows per pass cut its reloads from L2 (down projection 21 -> 35 GB/s on Zen 3, 2 threads, 8 rows; 2 and 4
    // rows gave 26 and 32; for short rows one row at a time stays best). V::kGemvLongRows rows per pass: 8 at
    // the AVX-512 level, 1 at the AVX2 level, where with the one-row prefetch above one row now reads memory
    // faster.
    constexpr int LR = V::kGemvLongRows;
    for (; n + LR <= n1; n += LR) dot_tile<V, WT, LR, 1, false>(p, n, 0);
    for (; n < n1; ++n) dot_tile<V, WT, 1, 1, false>(p, n, 0);
    return;
  }
  for (; n + R <= n1; n += R) dot_rows<V, WT, R>(p, n);
  switch (n1 - n) {
    case 1: dot_rows<V, WT, 1>(p, n); break;
    case 2: if constexpr (R > 2) dot_rows<V, WT, 2>(p, n); break;
    case 3: if constexpr (R > 3) dot_rows<V, WT, 3>(p, n); break;
    default: break;
  }
}

// ---- GEMV on BF16 W in pair tiles (pair_tiles.h): line j of a 16-row tile holds (W[r][2j], W[r][2j+1]) for its
// rows r as 32-bit words. One stream serves 16 rows, each x pair is broadcast to every lane, and no horizontal sums
// remain: one core streamed the down projection (K = 9728) at 35-38 GB/s this way, against 30-33 for 8 rows at a
// time in row order (standalone, same data, 5 alternations). Pairs split into their even and odd columns exactly
// (a bf16 is a float32's high half).
// Bytes ahead into L2, as the one-row GEMV's stream (standalone, one core: 2 KiB read 35.6-37.2 GB/s against
// 35.1-37.6, no better).
constexpr int64_t kTilePrefetch = 4096;

template <class V, int MB>
inline void pair_tile_line(const Problem& p, const uint16_t* line, int64_t j, int64_t m0,
                           typename V::F (&acc)[MB][16 / V::L][2]) {
  constexpr int L = V::L;
#pragma GCC unroll 2
  for (int v = 0; v < 16 / L; ++v) {
    typename V::F even, odd;
    V::load_pairs(line + v * 2 * L, even, odd);
#pragma GCC unroll 8
    for (int m = 0; m < MB; ++m) {
      const float* x = p.x + (m0 + m) * p.ldx + 2 * j;
      acc[m][v][0] = V::fma(even, V::set1(x[0]), acc[m][v][0]);
      acc[m][v][1] = V::fma(odd, V::set1(x[1]), acc[m][v][1]);
    }
  }
}

// y[m0 .. m0 + MB, n .. n + 16) for the tile of rows n (K even).
template <class V, int MB>
inline void pair_tile_dot(const Problem& p, int64_t n, int64_t m0) {
  using F = typename V::F;
  constexpr int L = V::L, NV = 16 / L;
  constexpr int C = MB * NV * 2;          // accumulators a line feeds
  constexpr int U = C >= 8 ? 1 : 8 / C;   // lines per step: at least 8 independent FMA chains
  const int64_t kp = p.K / 2;
  const uint16_t* t = p.w + n * p.K;
  F acc[U][MB][NV][2];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 8
    for (int m = 0; m < MB; ++m)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[u][m][v][0] = acc[u][m][v][1] = V::zero();
  int64_t j = 0;
  for (; j + U <= kp; j += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u)
      __builtin_prefetch(reinterpret_cast<const char*>(t + (j + u) * kTileLine) + kTilePrefetch, 0, 2);
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) pair_tile_line<V, MB>(p, t + (j + u) * kTileLine, j + u, m0, acc[u]);
  }
  for (; j < kp; ++j) pair_tile_line<V, MB>(p, t + j * kTileLine, j, m0, acc[0]);
  alignas(64) float sums[16];
  for (int m = 0; m < MB; ++m) {
    for (int v = 0; v < NV; ++v) {
      F s = V::add(acc[0][m][v][0], acc[0][m][v][1]);
      for (int u = 1; u < U; ++u) s = V::add(s, V::add(acc[u][m][v][0], acc[u][m][v][1]));
      V::store(sums + v * L, s);
    }
    float* y = p.y + (m0 + m) * p.ldy + n;
    for (int r = 0; r < 16; ++r) y[r] = sums[r] + (p.bias ? p.bias[n + r] : 0.0f);
  }
}

// The last `rows` (< MB) rows of x from m0.
template <class V, int MB>
inline void pair_tile_rest(const Problem& p, int64_t n, int64_t m0, int64_t rows) {
  if constexpr (MB > 0) {
    if (rows == MB) pair_tile_dot<V, MB>(p, n, m0);
    else pair_tile_rest<V, MB - 1>(p, n, m0, rows);
  }
}

template <class V>
void pair_tiles_gemv(const Problem& p, int64_t n0, int64_t n1) {
  constexpr int CM = V::kTileCols;
  for (int64_t n = n0; n < n1; n += 16) {
    int64_t m = 0;
    for (; m + CM <= p.M; m += CM) pair_tile_dot<V, CM>(p, n, m);
    if (m < p.M) pair_tile_rest<V, CM - 1>(p, n, m, p.M - m);
  }
}

// ---- GEMM, float32 activations. A block of W (nb rows × kc) is converted to float32 and packed as panels
// of NR = 2·L columns, k-major ([panel][k][NR]), so that the micro-kernel multiplies MR broadcast values of x
// with two vectors of W per k. W is thus converted exactly once per call.

// y[m, 0:nvalid] += acc[m] for the MR rows of a micro-tile (NR = 2·L columns, fewer in the last panel).
template <class V, int MR>
inline void add_tile(const typename V::F (&acc)[MR][2], float* y, int64_t ldy, int nvalid) {
  constexpr int L = V::L, NR = 2 * V::L;
  if (nvalid == NR) {
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      V::store(y + m * ldy, V::add(V::load(y + m * ldy), acc[m][0]));
      V::store(y + m * ldy + L, V::add(V::load(y + m * ldy + L), acc[m][1]));
    }
  } else {
    alignas(64) float tmp[NR];
    for (int m = 0; m < MR; ++m) {
      V::store(tmp, acc[m][0]);
      V::store(tmp + L, acc[m][1]);
      for (int j = 0; j < nvalid; ++j) y[m * ldy + j] += tmp[j];
    }
  }
}

// y rows m..m+MR (MR <= V::kMR), columns of one panel (nvalid <= NR); accumulates into y.
template <class V, int MR>
inline void ukernel_f32(const float* x, int64_t ldx, const float* wp, int64_t kc, float* y, int64_t ldy,
                        int nvalid) {
  using F = typename V::F;
  constexpr int L = V::L, NR = 2 * V::L;
  F acc[MR][2];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = V::zero();
  for (int64_t k = 0; k < kc; ++k) {
    F w0 = V::load(wp + k * NR), w1 = V::load(wp + k * NR + L);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      F xb = V::set1(x[m * ldx + k]);
      acc[m][0] = V::fma(w0, xb, acc[m][0]);
      acc[m][1] = V::fma(w1, xb, acc[m][1]);
    }
  }
  add_tile<V, MR>(acc, y, ldy, nvalid);
}

template <class V, int MR>
inline void ukernel_f32_tail(int mr, const float* x, int64_t ldx, const float* wp, int64_t kc, float* y,
                             int64_t ldy, int nvalid) {
  if constexpr (MR > 0) {
    if (mr == MR) ukernel_f32<V, MR>(x, ldx, wp, kc, y, ldy, nvalid);
    else ukernel_f32_tail<V, MR - 1>(mr, x, ldx, wp, kc, y, ldy, nvalid);
  }
}

inline void init_y(const Problem& p, int64_t n0, int64_t n1) {
  for (int64_t m = 0; m < p.M; ++m) {
    float* y = p.y + m * p.ldy;
    for (int64_t n = n0; n < n1; ++n) y[n] = p.bias ? p.bias[n] : 0.0f;
  }
}

template <class V, WeightType WT>
void gemm_f32(const Problem& p, int64_t n0, int64_t n1) {
  constexpr int NR = 2 * V::L, MR = V::kMR;
  constexpr int64_t KC = V::kKC;
  const int64_t nb = n1 - n0, panels = (nb + NR - 1) / NR;
  float* pack = static_cast<float*>(bmx::kernels::detail::thread_scratch(sizeof(float) * panels * NR * KC));
  init_y(p, n0, n1);
  // Large M: every panel of the range shares one pass over a K block of x (x is the big operand).
  // Small M: one panel at a time along all of K, so that W rows are read sequentially from memory.
  const int64_t group = p.M <= kSmallM ? 1 : panels;
  for (int64_t g0 = 0; g0 < panels; g0 += group)
  for (int64_t k0 = 0; k0 < p.K; k0 += KC) {
    const int64_t kc = imin(KC, p.K - k0);
    for (int64_t j = g0; j < g0 + group && j < panels; ++j) {
      const int rows_valid = int(imin(NR, n1 - n0 - j * NR));
      if (p.w_in_tiles)
        pack_panel_f32_from_tiles<NR>(p.w, p.K, n0 + j * NR, rows_valid, k0, kc, pack + j * NR * kc);
      else
        pack_panel_f32<WT, NR>(p.w + (n0 + j * NR) * p.ldw + k0, p.ldw, rows_valid, kc, pack + j * NR * kc);
    }
    for (int64_t j = g0; j < g0 + group && j < panels; ++j) {
      const int nvalid = int(imin(NR, n1 - n0 - j * NR));
      const float* wp = pack + j * NR * kc;
      float* ycol = p.y + n0 + j * NR;
      int64_t m = 0;
      for (; m + MR <= p.M; m += MR)
        ukernel_f32<V, MR>(p.x + m * p.ldx + k0, p.ldx, wp, kc, ycol + m * p.ldy, p.ldy, nvalid);
      if (m < p.M)
        ukernel_f32_tail<V, MR - 1>(int(p.M - m), p.x + m * p.ldx + k0, p.ldx, wp, kc, ycol + m * p.ldy,
                                    p.ldy, nvalid);
    }
  }
}

// ---- GEMM, bf16 activation pairs (vdpbf16ps, or its emulation). W pairs are packed [panel][k/2][NR] as
// 32-bit words (W[n][2j] low, W[n][2j+1] high), x pairs are broadcast; B::dp(acc, w, x) adds
// w.lo·x.lo + w.hi·x.hi to each float32 lane.
template <class B, int MR>
inline void ukernel_pairs(const uint32_t* xp, int64_t ldxp, const uint32_t* wp, int64_t kp, float* y,
                          int64_t ldy, int nvalid) {
  using F = typename B::F;
  using I = typename B::I;
  constexpr int L = B::L, NR = 2 * B::L;
  F acc[MR][2];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = B::zero();
  for (int64_t j = 0; j < kp; ++j) {
    I w0 = B::load_i(wp + j * NR), w1 = B::load_i(wp + j * NR + L);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      I xb = B::set1_i(xp[m * ldxp + j]);
      acc[m][0] = B::dp(acc[m][0], w0, xb);
      acc[m][1] = B::dp(acc[m][1], w1, xb);
    }
  }
  add_tile<B, MR>(acc, y, ldy, nvalid);
}

template <class B, int MR>
inline void ukernel_pairs_tail(int mr, const uint32_t* xp, int64_t ldxp, const uint32_t* wp, int64_t kp,
                               float* y, int64_t ldy, int nvalid) {
  if constexpr (MR > 0) {
    if (mr == MR) ukernel_pairs<B, MR>(xp, ldxp, wp, kp, y, ldy, nvalid);
    else ukernel_pairs_tail<B, MR - 1>(mr, xp, ldxp, wp, kp, y, ldy, nvalid);
  }
}

template <class B>
void gemm_pairs(const Problem& p, int64_t n0, int64_t n1) {
  constexpr int NR = 2 * B::L, MR = B::kMR;
  constexpr int64_t KC = B::kKC;  // even
  const int64_t nb = n1 - n0, panels = (nb + NR - 1) / NR;
  uint32_t* pack =
      static_cast<uint32_t*>(bmx::kernels::detail::thread_scratch(sizeof(uint32_t) * panels * NR * (KC / 2)));
  init_y(p, n0, n1);
  const int64_t group = p.M <= kSmallM ? 1 : panels;  // as in gemm_f32
  for (int64_t g0 = 0; g0 < panels; g0 += group)
  for (int64_t k0 = 0; k0 < p.K; k0 += KC) {
    const int64_t kc = imin(KC, p.K - k0), kp = (kc + 1) / 2;
    for (int64_t j = g0; j < g0 + group && j < panels; ++j) {
      const int rows_valid = int(imin(NR, n1 - n0 - j * NR));
      if (p.w_in_tiles)
        pack_panel_pairs_from_tiles<NR>(p.w, p.K, n0 + j * NR, rows_valid, k0, kc, pack + j * NR * kp);
      else
        pack_panel_pairs<NR>(p.w + (n0 + j * NR) * p.ldw + k0, p.ldw, rows_valid, kc, pack + j * NR * kp);
    }
    const uint32_t* xk = p.xpairs + k0 / 2;
    for (int64_t j = g0; j < g0 + group && j < panels; ++j) {
      const int nvalid = int(imin(NR, n1 - n0 - j * NR));
      const uint32_t* wp = pack + j * NR * kp;
      float* ycol = p.y + n0 + j * NR;
      int64_t m = 0;
      for (; m + MR <= p.M; m += MR)
        ukernel_pairs<B, MR>(xk + m * p.ldxp, p.ldxp, wp, kp, ycol + m * p.ldy, p.ldy, nvalid);
      if (m < p.M)
        ukernel_pairs_tail<B, MR - 1>(int(p.M - m), xk + m * p.ldxp, p.ldxp, wp, kp, ycol + m * p.ldy, p.ldy,
                                      nvalid);
    }
  }
}

}  // namespace
#endif  // BMX_KERNELS_GENERIC
