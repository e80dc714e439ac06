#include "bmx/core/util/thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BMX_PAUSE() _mm_pause()
#else
#define BMX_PAUSE() std::this_thread::yield()
#endif

namespace bmx {

namespace {
// Workers spin this long after a job before sleeping: in a decode step the gap between two matrix products
// (a norm, RoPE, attention) is usually shorter, and a futex wake-up costs more than the spin.
constexpr auto kSpin = std::chrono::microseconds(100);

// One thread's share of a Schedule::contiguous run: tasks [front, end), packed in one word so that the owner
// taking from the front and a helper taking from the end never both get the last task.
struct alignas(64) Share {
  std::atomic<uint64_t> span{0};

  static uint64_t pack(uint32_t front, uint32_t end) { return uint64_t(end) << 32 | front; }
  void set(int64_t front, int64_t end) { span.store(pack(uint32_t(front), uint32_t(end)), std::memory_order_relaxed); }
  int64_t left() const {
    const uint64_t v = span.load(std::memory_order_relaxed);
    return int64_t(v >> 32) - int64_t(uint32_t(v));
  }
  // The next task from the front (from_end: the last one), or -1 when none is left.
  int64_t take(bool from_end) {
    uint64_t v = span.load(std::memory_order_relaxed);
    for (;;) {
      const uint32_t front = uint32_t(v), end = uint32_t(v >> 32);
      if (front >= end) return -1;
      const uint64_t next = from_end ? pack(front, end - 1) : pack(front + 1, end);
      if (span.compare_exchange_weak(v, next, std::memory_order_relaxed)) return from_end ? end - 1 : front;
    }
  }
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One thread's time in the tasks of the current run, when the run is timed.
struct alignas(64) BusyTime {
  int64_t ns = 0;
};
}  // namespace

struct ThreadPool::State {
  int n = 1;
  std::vector<std::thread> workers;
  // The current job; written by the caller before `generation` is bumped (release), read after (acquire).
  const std::function<void(int64_t, int)>* fn = nullptr;
  int64_t tasks = 0;
  Schedule schedule = Schedule::dynamic;
  std::atomic<int64_t> next{0};    // Schedule::dynamic
  std::vector<Share> shares;       // Schedule::contiguous: one per thread
  std::atomic<int> pending{0};
  std::atomic<uint64_t> generation{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> busy{false};
  bool timed = false;              // the current run: written by the caller before `generation` is bumped
  std::atomic<bool> timing{false};
  std::vector<BusyTime> busy_time;  // per thread, for a timed run
  PoolTimes times;
  std::mutex mutex;
  std::condition_variable cv;

  void work(int thread) {
    if (schedule == Schedule::dynamic) {
      for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) (*fn)(t, thread);
      return;
    }
    for (int64_t t; (t = shares[std::size_t(thread)].take(false)) >= 0;) (*fn)(t, thread);
    for (;;) {  // then help: the end of the largest share left
      Share* most = nullptr;
      int64_t most_left = 0;
      for (Share& s : shares)
        if (const int64_t l = s.left(); l > most_left) most = &s, most_left = l;
      if (!most) return;
      if (const int64_t t = most->take(true); t >= 0) (*fn)(t, thread);
    }
  }

  void timed_work(int thread) {
    if (!timed) return work(thread);
    const int64_t t0 = now_ns();
    work(thread);
    busy_time[std::size_t(thread)].ns = now_ns() - t0;
  }

  void worker_loop(int thread) {
    uint64_t seen = 0;
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      for (unsigned i = 0; generation.load(std::memory_order_acquire) == seen && !stop.load(); ++i) {
        BMX_PAUSE();
        if ((i & 255) == 255 && std::chrono::steady_clock::now() - start > kSpin) {
          std::unique_lock<std::mutex> lock(mutex);
          sleepers.fetch_add(1);
          cv.wait(lock, [&] { return generation.load() != seen || stop.load(); });
          sleepers.fetch_sub(1);
          break;
        }
      }
      if (stop.load()) return;
      seen = generation.load(std::memory_order_acquire);
      timed_work(thread);
      pending.fetch_sub(1, std::memory_order_release);
    }
  }
};

ThreadPool::ThreadPool(int threads) : state_(std::make_unique<State>()) {
  state_->n = threads < 1 ? 1 : threads;
  state_->shares = std::vector<Share>(std::size_t(state_->n));
  state_->busy_time = std::vector<BusyTime>(std::size_t(state_->n));
  for (int t = 1; t < state_->n; ++t) state_->workers.emplace_back([s = state_.get(), t] { s->worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop.store(true);
  }
  state_->cv.notify_all();
  for (auto& w : state_->workers) w.join();
}

int ThreadPool::size() const { return state_->n; }

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t, int)>& fn, Schedule schedule) {
  State& s = *state_;
  if (tasks <= 0) return;
  bool expected = false;
  if (s.n == 1 || tasks == 1 || !s.busy.compare_exchange_strong(expected, true)) {
    for (int64_t t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  s.fn = &fn;
  s.tasks = tasks;
  s.schedule = tasks > int64_t(UINT32_MAX) ? Schedule::dynamic : schedule;  // a Share counts in 32 bits
  s.next.store(0, std::memory_order_relaxed);
  for (int i = 0; i < s.n; ++i) s.shares[std::size_t(i)].set(tasks * i / s.n, tasks * (i + 1) / s.n);
  s.pending.store(s.n - 1, std::memory_order_relaxed);
  s.timed = s.timing.load(std::memory_order_relaxed);
  const int64_t t_start = s.timed ? now_ns() : 0;
  s.generation.fetch_add(1);  // seq_cst: pairs with the sleepers/generation checks of the workers
  if (s.sleepers.load() > 0) {
    { std::lock_guard<std::mutex> lock(s.mutex); }
    s.cv.notify_all();
  }
  s.timed_work(0);
  // Spin briefly, then yield: on a loaded machine a worker that lost its core gets it back sooner.
  for (unsigned i = 0; s.pending.load(std::memory_order_acquire) > 0; ++i) {
    if (i < 4096) BMX_PAUSE();
    else std::this_thread::yield();
  }
  if (s.timed) {
    const int64_t wall = now_ns() - t_start;
    int64_t busy_ns = 0;
    for (const BusyTime& b : s.busy_time) busy_ns += b.ns;
    ++s.times.runs;
    s.times.run_s += double(wall) * 1e-9;
    s.times.waiting_s += double(int64_t(s.n) * wall - busy_ns) * 1e-9;
  }
  s.busy.store(false);
}

void ThreadPool::set_timing(bool on) { state_->timing.store(on, std::memory_order_relaxed); }

PoolTimes ThreadPool::take_times() {
  const PoolTimes t = state_->times;
  state_->times = PoolTimes{};
  return t;
}

}  // namespace bmx
