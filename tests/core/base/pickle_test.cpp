// The unpickler against hostile streams: a list that holds itself and nesting deeper than any checkpoint are
// refused with one line naming the stream (every walker over the values, and their destructors, would otherwise
// recurse without end); ordinary nesting and shared (memoised) values still read.
#include <doctest/doctest.h>

#include <string>

#include "bmx/core/io/pickle.h"
#include "bmx/core/util/error.h"

using namespace bmx;

namespace {

std::string refusal(const std::string& stream) {
  try {
    unpickle(stream, "x.pkl");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("unpickle: a container holding itself is refused") {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: l = []; l.append(l)
  CHECK(refusal(std::string("\x80\x02]q\x00h\x00" "a.", 9)).find("x.pkl: a container holds itself") == 0);
  // Two lists holding each other: a = []; b = [a]; a.append(b); return a
  const std::string two = std::string("\x80\x02]q\x00]q\x01h\x00" "a0h\x01" "a.", 16);
  CHECK_MESSAGE(refusal(two).find("holds itself") != std::string::npos, refusal(two));
}

TEST_CASE("unpickle: nesting deeper than 1000 levels is refused, built bottom-up or top-down") {
  const int n = 200000;
  std::string bottom_up = "\x80\x02" + std::string(n, ']') + std::string(n - 1, 'a') + ".";
  CHECK(refusal(bottom_up).find("nested deeper than 1000 levels") != std::string::npos);
  // Top-down through the memo: l0 = []; l1 = []; l0.append(l1); l2 = []; l1.append(l2); ...
  std::string top_down = "\x80\x02]r";
  top_down.append(4, '\0');
  for (uint32_t i = 1; i < 5000; ++i) {
    top_down += "]r";
    top_down.append(reinterpret_cast<const char*>(&i), 4);
    const uint32_t parent = i - 1;
    top_down += "j";
    top_down.append(reinterpret_cast<const char*>(&parent), 4);
    top_down += "j";
    top_down.append(reinterpret_cast<const char*>(&i), 4);
    top_down += "a0";  // parent.append(child), then drop the parent from the stack
  }
  top_down += "0j";
  const uint32_t zero = 0;
  top_down.append(reinterpret_cast<const char*>(&zero), 4);
  top_down += ".";
  CHECK_MESSAGE(refusal(top_down).find("nested deeper than 1000 levels") != std::string::npos, refusal(top_down));
}

TEST_CASE("unpickle: ordinary nesting and shared values read") {
  const int n = 500;
  auto v = unpickle("\x80\x02" + std::string(n, ']') + std::string(n - 1, 'a') + ".", "x.pkl");
  int depth = 1;
  for (const PyValue* p = v.get(); !p->items.empty(); p = p->items[0].get()) ++depth;
  CHECK(depth == n);
  // s = []; [s, s]: one list reached twice is not a cycle.
  auto shared = unpickle(std::string("\x80\x02]q\x00(h\x00h\x00l.", 12), "x.pkl");
  REQUIRE(shared->items.size() == 2);
  CHECK(shared->items[0].get() == shared->items[1].get());
}
