#include "bmx/core/util/progress.h"

#include <cstdio>
#include <unistd.h>

namespace bmx {

Progress::Progress(std::string label, std::size_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()), last_(start_) {}

Progress::~Progress() { finish(); }

void Progress::tick(std::size_t n) {
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  auto every = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_ < every) return;
  last_ = now;
  draw(false);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (enabled_ && done_.load() > 0) draw(true);
}

void Progress::draw(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::size_t done = done_.load();
  double rate = secs > 0 ? done / secs : 0.0;
  std::string count = total_ ? std::to_string(done) + "/" + std::to_string(total_) : std::to_string(done);
  std::fprintf(stderr, "%s%s: %s %s (%.1f/s, %.1f s)%s", tty_ ? "\r" : "", label_.c_str(), count.c_str(),
               unit_.c_str(), rate, secs, (final || !tty_) ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace bmx
