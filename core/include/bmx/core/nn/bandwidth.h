// How fast this machine reads main memory: the ceiling of a memory-bound decode step, which must read every
// weight once per token. A probe that under-measures makes a decoder look faster than the hardware allows, so
// the probe reads the way STREAM does: every kernel thread, one contiguous slice each, a buffer far larger than
// the caches, huge pages where the kernel gives them, the widest loads the CPU has, best of several passes.
#pragma once

#include <cstddef>
#include <vector>

namespace bmx::kernels {

// Read bandwidth in GB/s (1e9 bytes/s) of a fresh buffer of `bytes` (default 1 GiB), best of `repeats` passes.
double measure_read_bandwidth_gbs(std::size_t bytes = std::size_t(1) << 30, int repeats = 8);

// The same probe reading existing memory, e.g. memory-mapped weights (the pages a decode step reads, with their
// page size); [data, data + bytes) trimmed to whole cache lines; 0 when fewer than a few KiB remain.
double measure_read_bandwidth_gbs(const void* data, std::size_t bytes, int repeats = 8);

struct MemoryRange {
  const void* data;
  std::size_t bytes;
};
// Several ranges read one after another in each pass: the best rate of reading any one of them. For the copies of a
// matrix a benchmark cycles through, together larger than the caches, each then comes from memory as in the
// benchmark, where one range probed on its own could be read from cache. Each range is trimmed to whole cache
// lines, and skipped when under a few KiB; 0 when none is left.
double measure_read_bandwidth_gbs(const std::vector<MemoryRange>& ranges, int repeats = 8);

// Bytes of the largest cache level, one instance as Linux lists it for CPU 0 (else as glibc says; 32 MiB when
// neither says): a model whose per-token reads are not far above it is served partly from cache, and no
// memory-bandwidth ceiling applies to it.
std::size_t last_level_cache_bytes();

}  // namespace bmx::kernels
