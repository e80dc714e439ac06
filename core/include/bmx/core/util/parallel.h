// Work split over threads for batches of independent records (molecules, chains), and the one batch loop that
// every batch command runs: per-record errors, input order kept, batches of any size streamed.
#pragma once
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <system_error>
#include <type_traits>
#include <vector>

#include "bmx/core/util/progress.h"

namespace bmx {

// Number of hardware threads (at least 1).
int hardware_threads();

// The one rule for every command's -t/--threads: <= 0 means all hardware threads, and more than the hardware has
// is capped to it (extra threads only contend: --threads 10000 once made a 0.5 s command take 51 s).
int thread_count(int requested);

// Calls fn(i) for i in [0, n) on `threads` threads (<= 0: all cores). Items are handed out dynamically in
// order. fn must handle per-record errors itself (an escaping exception terminates). Work inside fn should
// be single-threaded: the parallelism is across records.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

// f() on a thread of its own when the machine has more than one core and a thread can be had; otherwise on the
// thread that asks for the result, when it does (get()). Like any std::async future, the one returned waits for
// a running f when it is destroyed, so what f reads must outlive it.
template <typename F>
std::future<std::invoke_result_t<F>> start_async(F f) {
  if (hardware_threads() > 1) {
    try {
      return std::async(std::launch::async, f);
    } catch (const std::system_error&) {  // no thread to be had
    }
  }
  return std::async(std::launch::deferred, std::move(f));
}

// How a batch went: records seen, and those that failed (each was handed to `fail` as it came).
struct BatchCount {
  std::size_t total = 0, failed = 0;
};

// The batch loop of bmx mol and bmx prot. Records come from `next(item)` (false: no more) in chunks of 64 per
// thread, so only one chunk is held however long the input; `work(item, result)` runs on a chunk's records in
// parallel (progress ticks as each finishes); then, in input order, `emit(item, result)` for every record that
// went through and `fail(item, result)` for every one that did not. A record failed when work set result.error
// or threw (result.error is then what()): one bad record never stops the batch, and the caller decides what a
// failure prints. Result must be default-constructible with a std::string `error`.
template <typename Item, typename Result, typename Next, typename Work, typename Emit, typename Fail>
BatchCount run_batch(Next next, int threads, Progress& progress, Work work, Emit emit, Fail fail) {
  const std::size_t chunk = 64 * static_cast<std::size_t>(threads > 0 ? threads : hardware_threads());
  std::vector<Item> items(chunk);
  std::vector<Result> results(chunk);
  BatchCount count;
  while (true) {
    std::size_t n = 0;
    while (n < chunk && next(items[n])) ++n;
    if (n == 0) break;
    parallel_for(n, threads, [&](std::size_t i) {
      results[i] = Result{};
      try {
        work(items[i], results[i]);
      } catch (const std::exception& e) {
        results[i].error = e.what();
      }
      progress.tick();
    });
    for (std::size_t i = 0; i < n; ++i) {
      ++count.total;
      if (results[i].error.empty()) {
        emit(items[i], results[i]);
      } else {
        ++count.failed;
        fail(items[i], results[i]);
      }
    }
    if (n < chunk) break;
  }
  return count;
}

}  // namespace bmx
