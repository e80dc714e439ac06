// A small persistent pool of worker threads for the hot kernels (GEMV/GEMM): a decoded token calls a few
// hundred matrix products of well under a millisecond each, so threads must not be created per call.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

namespace bmx {

// How ThreadPool::run hands out its tasks.
enum class Schedule {
  // One at a time, in order, to whichever thread asks next: threads interleave.
  dynamic,
  // Each thread first takes its own share, a contiguous run of the tasks, in order; a thread done with its own
  // takes tasks from the end of the largest share left. For tasks that stream memory in order (the decode
  // GEMVs): each core's prefetchers then follow one long run instead of restarting at every task, and no
  // thread idles at the end while another has work.
  contiguous,
};

class ThreadPool {
public:
  // threads counts the calling thread: a pool of n starts n - 1 workers.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // Calls fn(task, thread) for every task in [0, tasks), handed out over the pool's threads as `schedule`
  // says (thread in [0, size()), the caller is thread 0); returns when all are done. fn must not throw.
  // Not reentrant: one run at a time per pool (a nested call from inside fn runs serially).
  void run(int64_t tasks, const std::function<void(int64_t task, int thread)>& fn,
           Schedule schedule = Schedule::dynamic);

private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bmx
