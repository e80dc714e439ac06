// Internal to the kernels' dispatch: the active level's kernels, the choice of kernel for one product and the split
// of a product into tasks, shared by the row-order products (kernels_dispatch.cpp) and the pair-tile ones
// (pair_tiles.cpp). Not for the kernels_<isa>.cpp files (it instantiates std:: templates).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/pair_tiles.h"
#include "bmx/core/util/thread_pool.h"
#include "kernels_impl.h"
#include "stream_tasks.h"

namespace bmx::kernels::detail {

const IsaKernels& active_kernels();

// How W's bytes are ordered: row after row, or in pair tiles (pair_tiles.h).
enum class Layout { rows, pair_tiles };

// The kernel for the product p at level ks, with what it needs of x made: bf16 pairs of every row where the
// precision rounds activations (on the pool's threads), or the split of one x row where the level splits it.
// Layout::pair_tiles needs M <= gemv_max_rows and a level with tiles_gemv. Call it outside the pool's tasks.
RangeFn prepare_product(const IsaKernels& ks, Problem& p, std::vector<uint32_t>& pairs, Layout layout = Layout::rows);

// A task's rows in pair tiles: `chunk` rounded down to whole tiles, at least one.
inline int64_t tile_chunk(int64_t chunk) { return std::max<int64_t>(kPairTileRows, chunk / kPairTileRows * kPairTileRows); }

// Rows of 16-bit W (K values each) per GEMV task at level ks (stream_tasks.h).
inline int64_t gemv_task_rows(const IsaKernels& ks, int64_t K) {
  return stream_task_rows(2 * K, ks.gemv_granule, ks.gemv_chunk);
}

// fn(n0, n1) over y's columns [0, p.N) in tasks of `chunk` on the kernels' pool: each thread its own run of tasks in
// order for the streaming GEMV (in_order), any order for the GEMM; one call on this thread when p is tiny.
template <class Fn>
void run_in_tasks(const Problem& p, int64_t chunk, bool in_order, Fn&& fn) {
  const int64_t tasks = (p.N + chunk - 1) / chunk;
  if (p.M * p.N * std::max<int64_t>(p.K, 1) < (int64_t(1) << 16) || tasks == 1) {
    fn(int64_t(0), p.N);
    return;
  }
  // GEMV tasks stream W in order: each thread takes a contiguous run of them (4B BF16 tg64, ~80 GB/s: 8.13-8.32
  // -> 8.32-8.45 tok/s, 3 alternations). The GEMM's tasks are compute-bound: any order.
  thread_pool().run(tasks, [&](int64_t t, int) { fn(t * chunk, std::min(p.N, (t + 1) * chunk)); },
                    in_order ? Schedule::contiguous : Schedule::dynamic);
}

}  // namespace bmx::kernels::detail
