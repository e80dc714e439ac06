// core/util/big_allocator.h: every block, small (operator new) or large (its own huge-page mapping), is cache-line
// aligned, writable to its last byte, and given back (the ASan build checks the pairing of new and delete).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "bmx/core/util/big_allocator.h"

TEST_CASE("big_allocate: cache-line aligned blocks of every size, writable to the end") {
  for (std::size_t bytes : {std::size_t(1), std::size_t(17), std::size_t(4096), std::size_t(65536) + 8,
                            (std::size_t(1) << 20) - 1, std::size_t(1) << 20, (std::size_t(3) << 20) + 5}) {
    CAPTURE(bytes);
    void* p = bmx::big_allocate(bytes);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    if (bytes >= (std::size_t(1) << 20)) CHECK(reinterpret_cast<std::uintptr_t>(p) % (std::size_t(2) << 20) == 0);
    std::memset(p, 0xAB, bytes);
    CHECK(static_cast<unsigned char*>(p)[bytes - 1] == 0xAB);
    bmx::big_free(p, bytes);
  }
  bmx::BigVector<int> v(1000, 7);  // through the allocator type, as the tokenizer's tables use it
  CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % 64 == 0);
  CHECK(v[999] == 7);
}
