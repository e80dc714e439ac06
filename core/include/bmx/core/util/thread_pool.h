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

// Where time went on a pool while timing was on (ThreadPool::set_timing): for a benchmark to say how much of a
// decode step was parallel, and how much of that the threads spent waiting for each other.
struct PoolTimes {
  int64_t runs = 0;        // runs handed to the threads (a run its caller did alone is not counted)
  double run_s = 0;        // wall seconds from the start to the end of those runs
  double waiting_s = 0;    // thread-seconds inside them not spent in tasks: waking, and waiting for the last thread
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

  // Timing of the runs that start while it is on (off by default; on, it costs two clock reads per thread and run).
  // take_times() returns what was timed since the last take_times() and starts again from zero; call both between
  // runs, from the thread that calls run().
  void set_timing(bool on);
  PoolTimes take_times();

private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bmx
