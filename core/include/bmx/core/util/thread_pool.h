// A small persistent pool of worker threads for the hot kernels (GEMV/GEMM): a decoded token calls a few
// hundred matrix products of well under a millisecond each, so threads must not be created per call.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

namespace bmx {

class ThreadPool {
public:
  // threads counts the calling thread: a pool of n starts n - 1 workers.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // Calls fn(task, thread) for every task in [0, tasks), handed out dynamically over the pool's threads
  // (thread in [0, size()), the caller is thread 0); returns when all are done. fn must not throw.
  // Not reentrant: one run at a time per pool (a nested call from inside fn runs serially).
  void run(int64_t tasks, const std::function<void(int64_t task, int thread)>& fn);

private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bmx
