// Work split over threads for batches of independent records (molecules, chains).
#pragma once
#include <cstddef>
#include <functional>

namespace bmx {

// Number of hardware threads (at least 1).
int hardware_threads();

// Calls fn(i) for i in [0, n) on `threads` threads (<= 0: all cores). Items are handed out dynamically in
// order. fn must handle per-record errors itself (an escaping exception terminates). Work inside fn should
// be single-threaded: the parallelism is across records.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

}  // namespace bmx
