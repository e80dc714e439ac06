// core/io/mapped_file.h and core/util/memory_info.h: a file read into memory holds exactly the bytes its mapping
// shows, in every piece the reading threads share out; the choice between reading and mapping follows the stated
// rule; a file that cannot be read, or a copy that cannot fit, is one line naming the file.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bmx/core/io/mapped_file.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/memory_info.h"
#include "shared.h"

namespace fs = std::filesystem;

namespace {

constexpr uint64_t GiB = uint64_t(1) << 30;

// `bytes` of a pattern that differs at every offset of a 64 MiB piece (no piece can stand in for another).
void write_pattern(const fs::path& p, std::size_t bytes) {
  std::vector<char> buf(bytes);
  for (std::size_t i = 0; i < bytes; ++i) buf[i] = char((i * 2654435761u) >> 13);
  std::ofstream(p, std::ios::binary).write(buf.data(), std::streamsize(bytes));
}

}  // namespace

TEST_CASE("fits_in_memory: a quarter of what is available, at least 2 GiB, stays free") {
  CHECK(bmx::fits_in_memory(8 * GiB, 14 * GiB));         // a 4B model's BF16 weights on a 16 GB machine
  CHECK_FALSE(bmx::fits_in_memory(8 * GiB, 7 * GiB));    // ... on an 8 GB one
  CHECK(bmx::fits_in_memory(6 * GiB, 8 * GiB));          // 8 - 2 = 6
  CHECK_FALSE(bmx::fits_in_memory(6 * GiB + 1, 8 * GiB));
  CHECK(bmx::fits_in_memory(30 * GiB, 40 * GiB));        // 40 - 10
  CHECK_FALSE(bmx::fits_in_memory(30 * GiB + 1, 40 * GiB));
  CHECK_FALSE(bmx::fits_in_memory(1, GiB));              // less than the 2 GiB kept free
  CHECK_FALSE(bmx::fits_in_memory(0, 0));                // unknown: never read
  const uint64_t avail = bmx::available_memory();
  CHECK(avail > 0);  // Linux has MemAvailable
  CHECK(avail < (uint64_t(1) << 50));
}

TEST_CASE("MappedFile: read into memory gives the mapping's bytes, for every size") {
  const auto dir = bmx::test::scratch_dir("mapped_file");
  // Empty, one byte, not a page multiple, and past one 64 MiB piece of the reading threads.
  for (std::size_t bytes : {std::size_t(0), std::size_t(1), std::size_t(12345), (std::size_t(64) << 20) + 4097}) {
    CAPTURE(bytes);
    const auto p = dir / ("f" + std::to_string(bytes));
    write_pattern(p, bytes);
    bmx::MappedFile mapped(p.string(), bmx::FileAccess::map), read(p.string(), bmx::FileAccess::read);
    CHECK(mapped.access == bmx::FileAccess::map);
    CHECK(read.access == bmx::FileAccess::read);
    REQUIRE(read.size == bytes);
    REQUIRE(mapped.size == bytes);
    if (bytes > 0) CHECK(std::memcmp(read.data, mapped.data, bytes) == 0);
    if (bytes >= (std::size_t(1) << 20)) CHECK(reinterpret_cast<std::uintptr_t>(read.data) % (std::size_t(2) << 20) == 0);
    // automatic follows the rule (read on any machine with a few GiB free; mapped on a starved one).
    bmx::MappedFile chosen(p.string(), bmx::FileAccess::automatic);
    CHECK(chosen.access == (bmx::fits_in_memory(bytes, bmx::available_memory()) ? bmx::FileAccess::read
                                                                               : bmx::FileAccess::map));
  }
}

TEST_CASE("MappedFile: a folder, a missing file, a copy past the memory: one line naming the file") {
  const auto dir = bmx::test::scratch_dir("mapped_file_errors");
  for (auto access : {bmx::FileAccess::map, bmx::FileAccess::read}) {
    CAPTURE(bmx::access_name(access));
    const std::string missing = (dir / "missing").string() + ": cannot open", folder = dir.string() + ": is a folder, not a file";
    CHECK_THROWS_WITH_AS(bmx::MappedFile((dir / "missing").string(), access), doctest::Contains(missing.c_str()),
                         bmx::InputError);
    CHECK_THROWS_WITH_AS(bmx::MappedFile(dir.string(), access), doctest::Contains(folder.c_str()), bmx::InputError);
    // A FIFO (no writer: an open without O_NONBLOCK would hang) and a character device are refused at once.
    const auto fifo = dir / "fifo";
    fs::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string not_regular = fifo.string() + ": is not a regular file";
    CHECK_THROWS_WITH_AS(bmx::MappedFile(fifo.string(), access), doctest::Contains(not_regular.c_str()),
                         bmx::InputError);
    CHECK_THROWS_WITH_AS(bmx::MappedFile("/dev/zero", access), doctest::Contains("/dev/zero: is not a regular file"),
                         bmx::InputError);
  }
  // More than any machine has: refused when asked to read, mapped when left to choose.
  const uint64_t huge = uint64_t(1) << 60;
  CHECK_THROWS_WITH_AS(bmx::resolve_access(bmx::FileAccess::read, huge, "the weights of m"),
                       doctest::Contains("the weights of m: 1073741824.00 GiB do not fit in memory"), bmx::InputError);
  CHECK_THROWS_WITH_AS(bmx::resolve_access(bmx::FileAccess::read, huge, "w"), doctest::Contains("(--mmap)"),
                       bmx::InputError);
  CHECK(bmx::resolve_access(bmx::FileAccess::automatic, huge, "w") == bmx::FileAccess::map);
  CHECK(bmx::resolve_access(bmx::FileAccess::automatic, 4096, "w") ==
        (bmx::fits_in_memory(4096, bmx::available_memory()) ? bmx::FileAccess::read : bmx::FileAccess::map));
  CHECK(bmx::resolve_access(bmx::FileAccess::map, 4096, "w") == bmx::FileAccess::map);
}
