#include "jinja/limits.h"

#include <ctime>

#include "jinja/error.h"

namespace bmx::jinja {
namespace {

thread_local RenderBudget* current = nullptr;

// CPU seconds of this thread: what a runaway template costs, whatever else the machine runs (a wall-clock limit
// would refuse a normal template on a loaded server, or in a sanitizer build, and pass a runaway on an idle one
// no better).
double now_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Depth-first size with the nesting checked on the way down, so the walk itself stays shallow.
size_t size_of(const ojson& j, int depth, int line) {
  check_nesting(depth, line, "lists and dicts");
  size_t n = 16;
  if (j.is_string()) return n + j.get_ref<const std::string&>().size();
  if (j.is_array()) {
    for (const auto& x : j) n += size_of(x, depth + 1, line);
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) n += it.key().size() + size_of(it.value(), depth + 1, line);
  }
  return n;
}

}  // namespace

void check_string_size(size_t bytes, int line) {
  if (bytes > Limits::kStringBytes)
    fail(line, "a string of " + std::to_string(bytes) + " bytes is over the limit of " +
                   std::to_string(Limits::kStringBytes) + " bytes");
}

void check_item_count(int64_t n, int line) {
  if (n > Limits::kItems)
    fail(line, "a list of " + std::to_string(n) + " items is over the limit of " + std::to_string(Limits::kItems) +
                   " items");
}

void check_nesting(int depth, int line, const char* what) {
  if (depth > Limits::kNesting)
    fail(line, std::string(what) + " nested more than " + std::to_string(Limits::kNesting) + " deep (the limit)");
}

size_t checked_size(const ojson& j, int line) { return size_of(j, 1, line); }

Value made(Value v, int line) {
  if (v.kind != Value::Json) return v;
  if (v.j.is_string()) check_string_size(v.j.get_ref<const std::string&>().size(), line);
  if (v.j.is_array() || v.j.is_object()) check_item_count(int64_t(v.j.size()), line);
  size_t bytes = checked_size(v.j, line);
  if (current) current->add_bytes(bytes, line);
  return v;
}

RenderBudget::RenderBudget() : outer_(current), start_(now_seconds()) { current = this; }
RenderBudget::~RenderBudget() { current = outer_; }

void RenderBudget::add_bytes(size_t n, int line) {
  bytes_ += n;
  if (bytes_ > Limits::kMadeBytes)
    fail(line, "the template built more than " + std::to_string(Limits::kMadeBytes >> 20) +
                   " MiB of strings and lists (the limit)");
}

void RenderBudget::add_iteration(int line) {
  if (++iterations_ > Limits::kIterations)
    fail(line, "more than " + std::to_string(Limits::kIterations) + " loop iterations (the limit)");
  check_time(line);  // a clock read is ~20 ns, an iteration far more
}

void RenderBudget::check_time(int line) {
  if (now_seconds() - start_ > Limits::kSeconds)
    fail(line, "rendering took more than " + std::to_string(int(Limits::kSeconds)) + " s of CPU time (the limit)");
}

}  // namespace bmx::jinja
