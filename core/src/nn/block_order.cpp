// BlockOrder: moving a block-quantized matrix's bytes between row after row and 16-row tiles.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "bmx/core/nn/block_quant.h"
#include "bmx/core/util/thread_pool.h"
#include "block_kernels_impl.h"

namespace bmx::kernels {
namespace {

// 4-byte groups in one row's block: q8_0 32 bytes, q4_0 16.
int64_t groups_per_block(BlockFormat f) { return f == BlockFormat::q8_0 ? 8 : 4; }

// kTileRows rows between the two orders: to_tiles moves rows (src) into a tile (dst), else a tile into rows.
void move_tile(BlockFormat f, int64_t cols, const uint8_t* src_q, const uint16_t* src_s, uint8_t* dst_q,
               uint16_t* dst_s, bool to_tiles) {
  const int64_t row_bytes = quant_bytes_per_row(f, cols), nb = scales_per_row(cols), groups = groups_per_block(f);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t r = 0; r < kTileRows; ++r) {
        const int64_t in_tile = (b * groups + g) * kTileRows * 4 + r * 4, in_rows = r * row_bytes + (b * groups + g) * 4;
        if (to_tiles) std::memcpy(dst_q + in_tile, src_q + in_rows, 4);
        else std::memcpy(dst_q + in_rows, src_q + in_tile, 4);
      }
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t r = 0; r < kTileRows; ++r) {
      if (to_tiles) dst_s[b * kTileRows + r] = src_s[r * nb + b];
      else dst_s[r * nb + b] = src_s[b * kTileRows + r];
    }
}

}  // namespace

const char* order_name(BlockOrder order) { return order == BlockOrder::tiles ? "16-row tiles" : "rows"; }

namespace detail {

void tile_to_rows(const BlockMatrixView& w, int64_t tile, uint8_t* quants, uint16_t* scales) {
  const int64_t row_bytes = quant_bytes_per_row(w.format, w.cols), nb = scales_per_row(w.cols);
  move_tile(w.format, w.cols, w.quants + tile * kTileRows * row_bytes, w.scales + tile * kTileRows * nb, quants,
            scales, false);
}

}  // namespace detail

BlockMatrixView reorder_in_place(const BlockMatrixView& w, uint8_t* quants, uint16_t* scales, BlockOrder order) {
  if (quants != w.quants || scales != w.scales)
    throw std::invalid_argument("reorder_in_place: the writable bytes are not the matrix's");
  BlockMatrixView out = w;
  out.order = order;
  if (w.order == order) return out;
  const int64_t row_bytes = quant_bytes_per_row(w.format, w.cols), nb = scales_per_row(w.cols);
  const bool to_tiles = order == BlockOrder::tiles;
  thread_pool().run(w.rows / kTileRows, [&](int64_t t, int) {
    thread_local std::vector<uint8_t> q;
    thread_local std::vector<uint16_t> s;
    uint8_t* tile_q = quants + t * kTileRows * row_bytes;
    uint16_t* tile_s = scales + t * kTileRows * nb;
    q.assign(tile_q, tile_q + kTileRows * row_bytes);
    s.assign(tile_s, tile_s + kTileRows * nb);
    move_tile(w.format, w.cols, q.data(), s.data(), tile_q, tile_s, to_tiles);
  });
  return out;
}

void reorder(BlockMatrix& m, BlockOrder order) {
  if (m.quants.size() != std::size_t(m.rows * quant_bytes_per_row(m.format, m.cols)) ||
      m.scales.size() != std::size_t(m.rows * scales_per_row(m.cols)))
    throw std::invalid_argument("reorder: the matrix's buffers do not match its shape");
  m.order = reorder_in_place(m.view(), m.quants.data(), m.scales.data(), order).order;
}

BlockMatrix reordered(const BlockMatrixView& w, BlockOrder order) {
  BlockMatrix m;
  m.format = w.format;
  m.rows = w.rows;
  m.cols = w.cols;
  m.order = w.order;
  m.quants.assign(w.quants, w.quants + w.rows * quant_bytes_per_row(w.format, w.cols));
  m.scales.assign(w.scales, w.scales + w.rows * scales_per_row(w.cols));
  reorder(m, order);
  return m;
}

}  // namespace bmx::kernels
