#include "bmx/core/util/parallel.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

namespace bmx {

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int thread_count(int requested) {
  const int hw = hardware_threads();
  return requested <= 0 ? hw : std::min(requested, hw);
}

void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn) {
  threads = thread_count(threads);
  threads = static_cast<int>(std::min<std::size_t>(threads, std::max<std::size_t>(n, 1)));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  try {
    for (int t = 0; t < threads - 1; ++t) pool.emplace_back(worker);
  } catch (const std::system_error&) {  // fewer threads to be had: the ones made (and this one) do the work
  }
  worker();
  for (auto& th : pool) th.join();
}

}  // namespace bmx
