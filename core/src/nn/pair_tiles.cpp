// Pair tiles: the layout's conversions and its product (the tile GEMV at small M; at large M the GEMMs pack their
// panels from the tiles; at a level without a tile GEMV each task's rows are put back in row order).
#include "bmx/core/nn/pair_tiles.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

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

bool pair_tiles_pay(WeightType wt, int64_t rows, int64_t cols) {
  const detail::IsaKernels& ks = detail::active_kernels();
  return wt == WeightType::bf16 && rows > 0 && rows % kPairTileRows == 0 && cols > 0 && cols % 2 == 0 &&
         ks.tiles_gemv != nullptr && cols >= ks.tiles_min_cols;
}

void rows_to_pair_tiles(const uint16_t* rows, int64_t n_rows, int64_t cols, uint16_t* tiles) {
  check_shape("rows_to_pair_tiles", n_rows, cols);
  for (int64_t t = 0; t < n_rows; t += kPairTileRows) move_tile(rows + t * cols, tiles + t * cols, cols, true);
}

void pair_tiles_to_rows(const uint16_t* tiles, int64_t n_rows, int64_t cols, uint16_t* rows) {
  check_shape("pair_tiles_to_rows", n_rows, cols);
  for (int64_t t = 0; t < n_rows; t += kPairTileRows) move_tile(tiles + t * cols, rows + t * cols, cols, false);
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

void matmul_pair_tiles(const float* x, int64_t ldx, const uint16_t* tiles, float* y, int64_t ldy, int64_t M,
                       int64_t N, int64_t K, const float* bias) {
  check_shape("matmul_pair_tiles", N, K);
  if (M <= 0 || N <= 0) return;
  const detail::IsaKernels& ks = detail::active_kernels();
  const bool small_m = M <= ks.gemv_max_rows, tile_kernel = small_m && ks.tiles_gemv;
  detail::Problem p{{x, ldx, tiles, K, WeightType::bf16, y, ldy, M, N, K, bias}};
  std::vector<uint32_t> pairs;
  const detail::RangeFn fn =
      detail::prepare_product(ks, p, pairs, tile_kernel ? detail::Layout::pair_tiles : detail::Layout::rows);
  const int64_t chunk = small_m ? detail::gemv_task_rows(ks, K) : detail::tile_chunk(ks.gemm_chunk);
  // Prefill at a level with tiles: the GEMMs pack their panels from the tiles (Problem::w_in_tiles).
  p.w_in_tiles = !small_m && ks.tiles_gemv;
  detail::run_in_tasks(p, chunk, small_m, [&](int64_t n0, int64_t n1) {
    if (tile_kernel || p.w_in_tiles) return fn(p, n0, n1);
    // A level without a tile GEMV (scalar): each task's rows put back in row order for the row kernels.
    thread_local std::vector<uint16_t> in_rows;
    in_rows.resize(std::size_t((n1 - n0) * K));
    pair_tiles_to_rows(tiles + n0 * K, n1 - n0, K, in_rows.data());
    detail::Problem part = p;
    part.w = in_rows.data();
    part.y = y + n0;
    part.bias = bias ? bias + n0 : nullptr;
    part.N = n1 - n0;
    fn(part, 0, n1 - n0);
  });
}

}  // namespace bmx::kernels
