#include "bmx/core/nn/block_quant.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "bmx/core/nn/testing.h"
#include "bmx/core/util/thread_pool.h"
#include "block_kernels_impl.h"
#include "stream_tasks.h"

namespace bmx::kernels {
namespace {

// float -> f16, round to nearest even; magnitudes beyond f16's range saturate to its largest finite value (a
// block scale must stay finite), NaN stays NaN.
uint16_t float_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return uint16_t(sign | 0x7E00u);
  if (a >= 0x477FF000u) return uint16_t(sign | 0x7BFFu);  // rounds to >= 65520: saturate at 65504
  if (a < 0x38800000u) {                                    // below f16's smallest normal: subnormal or zero
    const float scaled = std::fabs(f) * 16777216.0f;        // units of 2^-24, f16's smallest subnormal
    return uint16_t(sign | uint16_t(std::nearbyint(scaled)));
  }
  const uint32_t rounded = a + 0x0FFFu + ((a >> 13) & 1u);
  return uint16_t(sign | uint16_t(((rounded >> 13) - ((127 - 15) << 10)) & 0x7FFFu));
}

// One row of `cols` source values -> quants and scales of `f`.
// false when the row holds NaN or inf (nothing is written then: no scale could represent it).
template <class Source>
bool quantize_row(BlockFormat f, Source value, int64_t cols, uint8_t* q, uint16_t* s) {
  const int64_t blocks = scales_per_row(cols);
  for (int64_t b = 0; b < blocks; ++b) {
    float v[32];
    for (int i = 0; i < 32; ++i) {
      const int64_t k = 32 * b + i;
      v[i] = k < cols ? value(k) : 0.0f;
      if (!std::isfinite(v[i])) return false;
    }
    if (f == BlockFormat::q8_0) {
      float amax = 0;
      for (float x : v) amax = std::max(amax, std::fabs(x));
      s[b] = float_to_f16(amax / 127.0f);
      const float d = f16_to_float(s[b]);
      for (int i = 0; i < 32; ++i) {
        const float r = d > 0 ? std::nearbyint(v[i] / d) : 0.0f;
        q[32 * b + i] = uint8_t(int(std::clamp(r, -127.0f, 127.0f)) + 128);
      }
    } else {
      float extreme = 0;  // the value of largest magnitude, with its sign: it maps to -8 exactly
      for (float x : v)
        if (std::fabs(x) > std::fabs(extreme)) extreme = x;
      s[b] = float_to_f16(extreme / -8.0f);
      const float d = f16_to_float(s[b]);
      uint8_t* bytes = q + 16 * b;
      for (int i = 0; i < 16; ++i) {
        auto nib = [&](float x) {
          const float r = d != 0 ? std::nearbyint(x / d) : 0.0f;
          return uint8_t(int(std::clamp(r, -8.0f, 7.0f)) + 8);
        };
        bytes[i] = uint8_t(nib(v[i]) | (nib(v[i + 16]) << 4));
      }
    }
  }
  return true;
}

template <class RowSource>
BlockMatrix quantize_all(BlockFormat f, int64_t rows, int64_t cols, RowSource row_value) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("quantize_rows: negative shape");
  BlockMatrix m;
  m.format = f;
  m.rows = rows;
  m.cols = cols;
  const int64_t qb = quant_bytes_per_row(f, cols), sb = scales_per_row(cols);
  m.quants.assign(std::size_t(rows * qb), 0);
  m.scales.assign(std::size_t(rows * sb), 0);
  const int64_t chunk = 64;
  std::atomic<int64_t> bad_row{rows};
  thread_pool().run((rows + chunk - 1) / chunk, [&](int64_t t, int) {
    for (int64_t n = t * chunk; n < std::min(rows, (t + 1) * chunk); ++n)
      if (!quantize_row(f, row_value(n), cols, m.quants.data() + n * qb, m.scales.data() + n * sb)) {
        int64_t seen = bad_row.load();
        while (n < seen && !bad_row.compare_exchange_weak(seen, n)) {
        }
      }
  });
  if (bad_row.load() < rows) throw std::domain_error("row " + std::to_string(bad_row.load()) + " holds NaN or inf values");
  return m;
}

// x rows -> 8 bits per block of 32 (scale max|x| / 127). A row with a non-finite value gets that value as its
// scale and zero quants, so the products come out non-finite instead of silently finite.
// `quantize_block`: the level's own loop for whole, finite blocks (bit for bit the same), or null.
void quantize_activations(const float* x, int64_t ldx, int64_t M, int64_t cols, detail::QuantizeBlockFn quantize_block,
                          std::vector<int8_t>& q, std::vector<float>& scale, std::vector<float>& offset_term) {
  const int64_t cp = padded_cols(cols), nb = scales_per_row(cols);
  q.assign(std::size_t(M * cp), 0);
  scale.assign(std::size_t(M * nb), 0.0f);
  offset_term.assign(std::size_t(M * nb), 0.0f);
  auto one_row = [&](int64_t m, int) {
    const float* xr = x + m * ldx;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t k0 = 32 * b, k1 = std::min(cols, k0 + 32);
      const std::size_t at = std::size_t(m * nb + b);
      if (quantize_block && k1 - k0 == 32 &&
          quantize_block(xr + k0, q.data() + m * cp + k0, &scale[at], &offset_term[at]))
        continue;
      float amax = 0;
      for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(xr[k]));
      for (int64_t k = k0; k < k1; ++k)
        if (!std::isfinite(xr[k])) amax = xr[k];
      if (!std::isfinite(amax)) {
        scale[std::size_t(m * nb + b)] = amax;
        continue;
      }
      const float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
      int32_t sum = 0;
      for (int64_t k = k0; k < k1; ++k) {
        const int v = int(std::nearbyint(xr[k] * inv));
        q[std::size_t(m * cp + k)] = int8_t(std::clamp(v, -127, 127));
        sum += q[std::size_t(m * cp + k)];
      }
      scale[std::size_t(m * nb + b)] = d;
      offset_term[std::size_t(m * nb + b)] = d * float(sum);
    }
  };
  if (M * cols < (int64_t(1) << 16)) {
    for (int64_t m = 0; m < M; ++m) one_row(m, 0);
  } else {
    thread_pool().run(M, one_row);
  }
}

enum class BlockLevel { scalar, avx2, avx512_vnni };

const detail::BlockKernels& block_kernels_for(BlockLevel level) {
  static const detail::BlockKernels table[] = {detail::scalar_block_kernels(), detail::avx2_block_kernels(),
                                               detail::avx512_vnni_block_kernels()};
  return table[int(level)];
}

// W in tiles at a level with no kernel for them (a level forced after load, or a test): each tile copied back
// to 16 rows, then the rows' kernel. The last rows % 16 rows lie row after row already.
void run_tiles_as_rows(detail::BlockRangeFn rows_fn, const detail::BlockProblem& p, int64_t n0, int64_t n1) {
  const int64_t full = p.w.rows / kTileRows * kTileRows;
  thread_local std::vector<uint8_t> q;
  thread_local std::vector<uint16_t> s;
  q.resize(std::size_t(kTileRows * quant_bytes_per_row(p.w.format, p.w.cols)));
  s.resize(std::size_t(kTileRows * scales_per_row(p.w.cols)));
  int64_t n = n0;
  for (; n < std::min(n1, full); n += kTileRows) {
    detail::tile_to_rows(p.w, n / kTileRows, q.data(), s.data());
    detail::BlockProblem t = p;
    t.w.quants = q.data();
    t.w.scales = s.data();
    t.w.rows = kTileRows;
    t.w.order = BlockOrder::rows;
    t.y = p.y + n;
    t.bias = p.bias ? p.bias + n : nullptr;
    rows_fn(t, 0, std::min(kTileRows, n1 - n));
  }
  if (n < n1) rows_fn(p, n, n1);
}

void run_problem(const detail::BlockKernels& ks, const detail::BlockProblem& p, int64_t n0, int64_t n1) {
  const bool q8 = p.w.format == BlockFormat::q8_0;
  const detail::BlockRangeFn rows_fn = q8 ? ks.q8_0 : ks.q4_0;
  if (p.w.order == BlockOrder::rows) return rows_fn(p, n0, n1);
  if (n0 % kTileRows != 0) throw std::logic_error("block product: a range of tiled rows starts inside a tile");
  if (const detail::BlockRangeFn tiles_fn = q8 ? ks.q8_0_tiles : ks.q4_0_tiles) return tiles_fn(p, n0, n1);
  run_tiles_as_rows(rows_fn, p, n0, n1);
}

// Rows of W per piece of work (stream_tasks.h). Pieces of 32 rows (40 KiB of q4_0 at K = 2560) handed out alternately
// to the threads had left 4B decoding 15-35 % slower on Zen 4 (2 threads, tg64: q4_0 8.3-9.7 -> 10.7-11.9 tok/s with
// 128 rows and 11.4-11.6 with 512; q8_0 6.0-6.5 -> 7.4-7.6 with 512 KiB); each thread's own run in order
// (Schedule::contiguous) then gave q8_0 tg64 at ~80 GB/s 13.0-13.4 -> 13.9-14.1 tok/s, 3 alternations.
int64_t rows_per_piece(const BlockMatrixView& w) {
  const int64_t row_bytes = quant_bytes_per_row(w.format, w.cols) + int64_t(sizeof(uint16_t)) * scales_per_row(w.cols);
  return detail::stream_task_rows(row_bytes, kTileRows, w.rows);
}

// The products of one x with several matrices of the same width (q/k/v, gate/up): x is rounded once, and every
// matrix's rows are handed out in one pass over the threads.
void multiply_many(const detail::BlockKernels& ks, const float* x, int64_t ldx, int64_t M, const BlockJob* jobs,
                   int count, const float* bias, bool threaded) {
  if (count <= 0 || M <= 0) return;
  const int64_t cols = jobs[0].w.cols;
  for (int j = 1; j < count; ++j)
    if (jobs[j].w.cols != cols) throw std::invalid_argument("matmul_blocks_many: matrices of different widths");
  std::vector<int8_t> q;
  std::vector<float> scale, offset_term;
  quantize_activations(x, ldx, M, cols, ks.quantize_block, q, scale, offset_term);
  std::vector<detail::BlockProblem> problems(static_cast<std::size_t>(count));
  struct Piece {
    int job;
    int64_t n0, n1;
  };
  std::vector<Piece> pieces;
  int64_t work = 0;
  for (int j = 0; j < count; ++j) {
    detail::BlockProblem& p = problems[std::size_t(j)];
    p.w = jobs[j].w;
    p.x = {M, padded_cols(cols), scales_per_row(cols), q.data(), scale.data(), offset_term.data()};
    p.y = jobs[j].y;
    p.ldy = jobs[j].ldy;
    p.bias = bias;
    const int64_t chunk = rows_per_piece(p.w);
    for (int64_t n = 0; n < p.w.rows; n += chunk) pieces.push_back({j, n, std::min(p.w.rows, n + chunk)});
    work += M * p.w.rows * std::max<int64_t>(cols, 1);
  }
  auto run_piece = [&](int64_t t, int) {
    const Piece& c = pieces[std::size_t(t)];
    run_problem(ks, problems[std::size_t(c.job)], c.n0, c.n1);
  };
  if (!threaded || pieces.size() == 1 || work < (int64_t(1) << 16)) {
    for (std::size_t t = 0; t < pieces.size(); ++t) run_piece(int64_t(t), 0);
    return;
  }
  thread_pool().run(int64_t(pieces.size()), run_piece, Schedule::contiguous);
}

void multiply(const detail::BlockKernels& ks, const float* x, int64_t ldx, const BlockMatrixView& w, float* y,
              int64_t ldy, int64_t M, const float* bias, bool threaded) {
  const BlockJob job{w, y, ldy};
  multiply_many(ks, x, ldx, M, &job, 1, bias, threaded);
}

// A level agrees when it matches the portable loop on ragged problems of both formats. The integer block sums
// are exact at every level; only the float32 order of adding blocks differs, hence the small tolerance.
bool level_agrees(BlockLevel level) {
  uint32_t state = 2024u;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return float(int32_t(state >> 8) % 2001 - 1000) / 1000.0f;
  };
  const int64_t shapes[][3] = {{1, 37, 70}, {3, 19, 4133}, {8, 33, 64}, {9, 17, 300}, {17, 5, 129}};
  for (BlockFormat f : {BlockFormat::q8_0, BlockFormat::q4_0})
    for (const auto& s : shapes) {
      const int64_t M = s[0], N = s[1], K = s[2];
      std::vector<float> w(std::size_t(N * K)), x(std::size_t(M * K)), bias(static_cast<std::size_t>(N));
      for (auto& v : w) v = next();
      for (auto& v : x) v = next();
      for (auto& v : bias) v = next();
      const BlockMatrix bm = quantize_rows(f, w.data(), K, N, K);
      std::vector<float> want(std::size_t(M * N)), got(std::size_t(M * N));
      multiply(block_kernels_for(BlockLevel::scalar), x.data(), K, bm.view(), want.data(), N, M, bias.data(), false);
      for (BlockOrder order : {BlockOrder::rows, BlockOrder::tiles}) {
        multiply(block_kernels_for(level), x.data(), K, reordered(bm.view(), order).view(), got.data(), N, M,
                 bias.data(), false);
        for (std::size_t i = 0; i < want.size(); ++i)
          if (!(std::fabs(got[i] - want[i]) <= 1e-4f * (1.0f + std::fabs(want[i])) * std::sqrt(float(K))))
            return false;
      }
    }
  return true;
}

// The level for the decoder's current kernel level (kernels::active_isa, which tests may force), passed over for
// the next lower one when it disagrees with the portable loop on this CPU.
BlockLevel active_level() {
  static std::once_flag once;
  static bool agrees[3] = {true, true, true};
  std::call_once(once, [] {
    for (BlockLevel l : {BlockLevel::avx2, BlockLevel::avx512_vnni}) {
      if (l == BlockLevel::avx2 && detected_isa() == Isa::scalar) continue;
      if (l == BlockLevel::avx512_vnni && !cpu_has_avx512_vnni()) continue;
      agrees[int(l)] = level_agrees(l);
      if (!agrees[int(l)])
        std::fprintf(stderr, "bmx: kernels: the %s block level disagrees with the portable loop on this CPU; not used\n",
                     block_kernels_for(l).name);
    }
  });
  BlockLevel want = BlockLevel::scalar;
  switch (active_isa()) {
    case Isa::scalar: want = BlockLevel::scalar; break;
    case Isa::avx2:
    case Isa::avx2_bf16_emulated: want = BlockLevel::avx2; break;
    case Isa::avx512:
    case Isa::avx512_bf16: want = cpu_has_avx512_vnni() ? BlockLevel::avx512_vnni : BlockLevel::avx2; break;
  }
  while (want != BlockLevel::scalar && !agrees[int(want)]) want = BlockLevel(int(want) - 1);
  return want;
}

}  // namespace

const char* format_name(BlockFormat f) { return f == BlockFormat::q8_0 ? "q8_0" : "q4_0"; }

BlockFormat parse_block_format(const std::string& name) {
  if (name == "q8_0" || name == "q8") return BlockFormat::q8_0;
  if (name == "q4_0" || name == "q4") return BlockFormat::q4_0;
  throw std::invalid_argument("unknown weight format '" + name + "' (choose q8_0 or q4_0)");
}

int64_t padded_cols(int64_t cols) { return (cols + 63) / 64 * 64; }
int64_t scales_per_row(int64_t cols) { return padded_cols(cols) / kQuantBlock; }
int64_t quant_bytes_per_row(BlockFormat f, int64_t cols) {
  return f == BlockFormat::q8_0 ? padded_cols(cols) : padded_cols(cols) / 2;
}

std::vector<float> BlockMatrix::dequantized() const {
  if (order != BlockOrder::rows) return reordered(view(), BlockOrder::rows).dequantized();
  std::vector<float> out(std::size_t(rows * cols));
  const int64_t qb = quant_bytes_per_row(format, cols), sb = scales_per_row(cols);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) {
      const uint8_t* row = quants.data() + n * qb;
      int v;
      if (format == BlockFormat::q8_0) {
        v = int(row[k]) - 128;
      } else {
        const uint8_t byte = row[(k / 32) * 16 + (k % 16)];
        v = int((k % 32) < 16 ? (byte & 0x0F) : (byte >> 4)) - 8;
      }
      out[std::size_t(n * cols + k)] = f16_to_float(scales[std::size_t(n * sb + k / 32)]) * float(v);
    }
  return out;
}

BlockMatrix quantize_rows(BlockFormat f, const uint16_t* w, int64_t ldw, WeightType wtype, int64_t rows, int64_t cols) {
  return quantize_all(f, rows, cols, [=](int64_t n) {
    const uint16_t* r = w + n * ldw;
    return [=](int64_t k) { return wtype == WeightType::bf16 ? bf16_to_float(r[k]) : f16_to_float(r[k]); };
  });
}

BlockMatrix quantize_rows(BlockFormat f, const float* w, int64_t ldw, int64_t rows, int64_t cols) {
  return quantize_all(f, rows, cols, [=](int64_t n) {
    const float* r = w + n * ldw;
    return [=](int64_t k) { return r[k]; };
  });
}

void matmul_blocks(const float* x, int64_t ldx, const BlockMatrixView& w, float* y, int64_t ldy, int64_t M,
                   const float* bias) {
  if (M <= 0 || w.rows <= 0) return;
  multiply(block_kernels_for(active_level()), x, ldx, w, y, ldy, M, bias, true);
}

void matmul_blocks_many(const float* x, int64_t ldx, int64_t M, const BlockJob* jobs, int count) {
  multiply_many(block_kernels_for(active_level()), x, ldx, M, jobs, count, nullptr, true);
}

BlockOrder preferred_block_order() {
  return active_level() == BlockLevel::scalar ? BlockOrder::rows : BlockOrder::tiles;
}

namespace testing {

RoundedRow round_activations(const float* x, int64_t cols) {
  RoundedRow r;
  quantize_activations(x, cols, 1, cols, block_kernels_for(active_level()).quantize_block, r.q, r.scale, r.offset_term);
  return r;
}

}  // namespace testing

const char* block_kernels_name() { return block_kernels_for(active_level()).name; }

}  // namespace bmx::kernels
