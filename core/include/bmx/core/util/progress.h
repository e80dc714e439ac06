// Progress of long batch work on stderr: "label: 120/288 (41.7 mol/s)", redrawn in place on a terminal,
// printed every few seconds otherwise, silent when disabled. total 0: unknown (streams), only the count.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace bmx {

class Progress {
 public:
  Progress(std::string label, std::size_t total, std::string unit = "items", bool enabled = true);
  ~Progress();
  void tick(std::size_t n = 1);  // thread-safe
  void finish();

 private:
  void draw(bool final);
  std::string label_, unit_;
  std::size_t total_;
  std::atomic<std::size_t> done_{0};
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
  std::mutex mu_;
};

}  // namespace bmx
