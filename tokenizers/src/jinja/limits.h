// Bounds on what a template may ask for. Chat templates come from model folders, which are untrusted
// input: unbounded, 10,000 nested '(' overflow the stack, range(10**9) or 'a' * 10**10 exhaust memory and
// 2 ** 10**11 never ends. Real chat templates stay far below every limit (Qwen3's nests about ten deep and
// loops over the messages); each refusal is a one-line error naming the limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "jinja/value.h"

namespace bmx::jinja {

struct Limits {
  static constexpr int kNesting = 200;                        // tags in tags, expressions in expressions, lists in lists
  static constexpr int64_t kItems = 1'000'000;                // one list, range() or loop
  static constexpr size_t kStringBytes = size_t(16) << 20;    // one string, the output included
  static constexpr int64_t kIterations = 1'000'000;           // loop iterations in one rendering
  static constexpr size_t kMadeBytes = size_t(1) << 30;       // strings and lists built in one rendering
  static constexpr double kSeconds = 10;                      // CPU time of one rendering
  static constexpr int kIndent = 64;                          // tojson(indent=N)
};

// Fails (naming the limit) when a string of `bytes` would be too long; used before building one.
void check_string_size(size_t bytes, int line);

// Fails when a list of `n` items would be too long; used before building one.
void check_item_count(int64_t n, int line);

// Fails when nesting reaches `depth` > Limits::kNesting; `what` says what nests ("expressions", "tags").
void check_nesting(int depth, int line, const char* what);

// Checks a value a template has just built (its size, item count, nesting) and counts its bytes against
// the rendering's Limits::kMadeBytes. Returns the value, so builders can end with `return made(...)`.
Value made(Value v, int line);

// The bytes a value holds, roughly (strings' bytes plus 16 per node); fails when it nests too deep.
size_t checked_size(const ojson& j, int line);

// The running totals of one rendering on this thread: bytes built, loop iterations, time. Render
// opens one; the counting functions above find it, so operators and filters need no extra argument.
class RenderBudget {
public:
  RenderBudget();
  ~RenderBudget();
  RenderBudget(const RenderBudget&) = delete;
  RenderBudget& operator=(const RenderBudget&) = delete;

  void add_bytes(size_t n, int line);
  void add_iteration(int line);  // also checks the clock
  void check_time(int line);

private:
  RenderBudget* outer_;
  size_t bytes_ = 0;
  int64_t iterations_ = 0;
  double start_;
};

}  // namespace bmx::jinja
