// What the machine's memory allows: the one place that reads /proc/meminfo and the cgroup's limit, so that every
// choice between a private copy and a shared mapping (model weights) follows the same rule.
#pragma once
#include <cstdint>

namespace bmx {

// Bytes this process can still take without pushing anything out but the page cache: MemAvailable of
// /proc/meminfo, capped by the cgroup v2 limit (memory.max - memory.current) when there is one. 0 when unknown.
uint64_t available_memory();

// Whether `bytes` of private memory fit in `available` with room to spare for everything else (a quarter of it,
// at least 2 GiB): a 4B model's 8 GB of BF16 weights fit on a 16 GB machine, not on an 8 GB one.
bool fits_in_memory(uint64_t bytes, uint64_t available);

// Bytes of this process's anonymous memory in transparent huge pages (AnonHugePages of /proc/self/smaps_rollup);
// 0 when unknown.
uint64_t huge_page_bytes();

}  // namespace bmx
