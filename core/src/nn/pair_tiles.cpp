// Pair tiles: the layout's conversions and its product (the tile GEMV at small M; at large M, or at a level without
// a tile GEMV, each task's rows are put back in row order for the row kernels).
#include "bmx/core/nn/pair_tiles.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bmx/core/util/thread_pool.h"
#include "product_impl.h"

namespace bmx::kernels {
namespace {

void check_shape(const char* what, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0 || rows % kPairTileRows != 0 || cols % 2 != 0)
    throw std::invalid_argument(std::string(what) + ": pair tiles need rows in multiples of 16 and an even number of "
                                "columns, not [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
}

// One tile between the orders, as 32-bit words (a column pair): rows[r][j] <-> tile[j][r].
void move_tile(const uint16_t* src, uint16_t* dst, int64_t cols, bool to_tiles) {
  const int64_t kp = cols / 2;
  for (int64_t r = 0; r < kPairTileRows; ++r)
    for (int64_t j = 0; j < kp; ++j) {
      const int64_t in_rows = r * cols + 2 * j, in_tile = (j * kPairTileRows + r) * 2;
      if (to_tiles) std::memcpy(dst + in_tile, src + in_rows, 4);
      else std::memcpy(dst + in_rows, src + in_tile, 4);
    }
}

}  // namespace

namespace detail {

void tiles_to_rows(const uint16_t* tiles, int64_t rows, int64_t cols, uint16_t* out) {
  for (int64_t t = 0; t < rows; t += kPairTileRows) move_tile(tiles + t * cols, out + t * cols, cols, false);
}

void rows_to_tiles(const uint16_t* rows_in, int64_t rows, int64_t cols, uint16_t* tiles) {
  for (int64_t t = 0; t < rows; t += kPairTileRows) move_tile(rows_in + t * cols, tiles + t * cols, cols, true);
}

}  // namespace detail

bool pair_tiles_pay(WeightType wt, int64_t rows, int64_t cols) {
  return wt == WeightType::bf16 && rows > 0 && rows % kPairTileRows == 0 && cols >= kPairTilesMinCols &&
         cols % 2 == 0 && detail::active_kernels().tiles_gemv != nullptr;
}

void to_pair_tiles_in_place(uint16_t* w, int64_t rows, int64_t cols) {
  check_shape("to_pair_tiles_in_place", rows, cols);
  thread_pool().run(rows / kPairTileRows, [&](int64_t t, int) {
    thread_local std::vector<uint16_t> rows_copy;
    uint16_t* tile = w + t * kPairTileRows * cols;
    rows_copy.assign(tile, tile + kPairTileRows * cols);
    move_tile(rows_copy.data(), tile, cols, true);
  });
}

void pair_tiles_to_rows(const uint16_t* tiles, int64_t rows, int64_t cols, uint16_t* out) {
  check_shape("pair_tiles_to_rows", rows, cols);
  detail::tiles_to_rows(tiles, rows, cols, out);
}

void matmul_pair_tiles(const float* x, int64_t ldx, const uint16_t* tiles, float* y, int64_t ldy, int64_t M,
                       int64_t N, int64_t K, const float* bias) {
  check_shape("matmul_pair_tiles", N, K);
  if (M <= 0 || N <= 0) return;
  const detail::IsaKernels& ks = detail::active_kernels();
  ThreadPool& tp = thread_pool();
  detail::Problem p{{x, ldx, tiles, K, WeightType::bf16, y, ldy, M, N, K, bias}};
  std::vector<uint32_t> pairs;
  if (M <= ks.gemv_max_rows && ks.tiles_gemv) {
    detail::RangeFn fn = ks.tiles_gemv;
    if (M == 1 && ks.split_x.tiles) {
      const int64_t kp = K / 2;
      pairs.resize(std::size_t(2 * kp));
      if (ks.split_x.split(x, K, pairs.data())) {
        p.xpairs = pairs.data();
        p.ldxp = kp;
        fn = ks.split_x.tiles;
      }
    }
    const int64_t chunk = (ks.gemv_chunk + kPairTileRows - 1) / kPairTileRows * kPairTileRows;
    const int64_t tasks = (N + chunk - 1) / chunk;
    if (tasks == 1 || M * N * std::max<int64_t>(K, 1) < (int64_t(1) << 16)) {
      fn(p, 0, N);
      return;
    }
    tp.run(tasks, [&](int64_t t, int) { fn(p, t * chunk, std::min(N, (t + 1) * chunk)); }, Schedule::contiguous);
    return;
  }
  // Prefill (compute-bound: the copy back to rows is a small part of each task), or a level without a tile GEMV.
  detail::Problem rows = p;
  const detail::RangeFn fn = detail::prepare_product(ks, rows, pairs);
  const bool small_m = M <= ks.gemv_max_rows;
  const int64_t chunk = std::max<int64_t>(kPairTileRows, (small_m ? ks.gemv_chunk : ks.gemm_chunk) / kPairTileRows * kPairTileRows);
  const int64_t tasks = (N + chunk - 1) / chunk;
  tp.run(tasks, [&](int64_t t, int) {
    thread_local std::vector<uint16_t> in_rows;
    const int64_t n0 = t * chunk, n = std::min(N, n0 + chunk) - n0;
    in_rows.resize(std::size_t(n * K));
    detail::tiles_to_rows(tiles + n0 * K, n, K, in_rows.data());
    detail::Problem part = rows;
    part.w = in_rows.data();
    part.ldw = K;
    part.y = y + n0;
    part.bias = bias ? bias + n0 : nullptr;
    part.N = n;
    fn(part, 0, n);
  }, small_m ? Schedule::contiguous : Schedule::dynamic);
}

}  // namespace bmx::kernels
