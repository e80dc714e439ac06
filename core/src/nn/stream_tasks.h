// How a streaming product (one or a few x rows against W read from memory: decode's GEMVs, BF16 or block-quantized)
// is cut into tasks for the pool. Each thread takes its own run of tasks in order (Schedule::contiguous) and helps
// with the end of the other runs when its own is done, so a task's size sets only how long the thread that finishes
// last runs alone at the end of a product, while the memory serves one core.
#pragma once
#include <algorithm>
#include <cstdint>

namespace bmx::kernels::detail {

#ifndef BMX_STREAM_TASK_BYTES
#define BMX_STREAM_TASK_BYTES (256 << 10)
#endif
// 256 KiB of W per task. With 256 rows per task (1.25 MiB at K = 2560, 4.75 MiB for the down projection), the
// threads of a 4B BF16 decode (2 threads) waited for each other 1.6-2.3 % of their time; with 256 KiB, 0.7 %.
constexpr int64_t kStreamTaskBytes = BMX_STREAM_TASK_BYTES;

// Rows per task: about kStreamTaskBytes of W, a multiple of `granule` rows (the kernel's rows per pass, a tile),
// at least one granule, at most `most` rows.
inline int64_t stream_task_rows(int64_t row_bytes, int64_t granule, int64_t most) {
  const int64_t rows = std::min(most, kStreamTaskBytes / std::max<int64_t>(row_bytes, 1));
  return std::max(granule, rows / granule * granule);
}

}  // namespace bmx::kernels::detail
