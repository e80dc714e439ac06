#include "bmx/core/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "bmx/core/util/big_allocator.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/memory_info.h"
#include "bmx/core/util/parallel.h"

namespace bmx {
namespace {

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(uint64_t(1) << 30));
  return buf;
}

// Reads [0, size) of `fd` into `dst`. Two threads: one core's copy from the page cache runs at ~7 GB/s, and the
// first touch of fresh pages is part of the cost. Pieces of 64 MiB: large enough that a thread streams.
void read_all(int fd, const std::string& path, unsigned char* dst, size_t size) {
  constexpr size_t kPiece = size_t(64) << 20;
  const size_t pieces = (size + kPiece - 1) / kPiece;
  std::vector<std::string> errors(pieces);
  parallel_for(pieces, std::min(2, hardware_threads()), [&](size_t i) {
    size_t at = i * kPiece;
    const size_t end = std::min(size, at + kPiece);
    while (at < end) {
      const ssize_t r = ::pread(fd, dst + at, end - at, off_t(at));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        errors[i] = std::string("cannot read: ") + std::strerror(errno);
        return;
      }
      if (r == 0) {
        errors[i] = "the file shrank to " + std::to_string(at) + " bytes while it was read (it had " +
                    std::to_string(size) + ")";
        return;
      }
      at += size_t(r);
    }
  });
  for (const std::string& e : errors)
    if (!e.empty()) fail_input(path, e);
}

}  // namespace

const char* access_name(FileAccess a) {
  switch (a) {
    case FileAccess::map: return "map";
    case FileAccess::read: return "read";
    case FileAccess::automatic: return "automatic";
  }
  return "?";
}

FileAccess resolve_access(FileAccess a, uint64_t bytes, const std::string& what) {
  if (a == FileAccess::map) return a;
  const uint64_t avail = available_memory();
  if (fits_in_memory(bytes, avail)) return FileAccess::read;
  if (avail == 0 && a == FileAccess::read) return a;  // no /proc/meminfo to go by: as asked
  if (a == FileAccess::automatic) return FileAccess::map;
  throw InputError(what + ": " + gib(bytes) + " do not fit in memory (" + gib(avail) +
                   " available, and a quarter of it, at least 2 GiB, is kept free); map them instead (--mmap)");
}

MappedFile::MappedFile(const std::string& path, FileAccess want) {
  // O_NONBLOCK: a FIFO planted in a model folder would otherwise block the open until a writer came.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_input(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail_input(path, "cannot stat");
  }
  // Only a regular file has the size it claims: a device or FIFO reports 0 (or anything) and reads forever.
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input(path, S_ISDIR(st.st_mode) ? "is a folder, not a file" : "is not a regular file");
  }
  size = size_t(st.st_size);
  try {
    // An explicit read was checked by whoever decided it, for all its files together (SafetensorsCheckpoint):
    // checked again file by file, a later shard could be refused for the memory the earlier ones took.
    access = want == FileAccess::automatic ? resolve_access(want, size, path) : want;
    if (size > 0 && access == FileAccess::read) {
      auto* p = static_cast<unsigned char*>(big_allocate(size));
      try {
        read_all(fd, path, p, size);
      } catch (...) {
        big_free(p, size);
        throw;
      }
      data = p;
    } else if (size > 0) {
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) fail_input(path, std::string("cannot map: ") + std::strerror(errno));
      data = static_cast<const unsigned char*>(p);
    }
  } catch (const std::bad_alloc&) {
    ::close(fd);
    fail_input(path, "no memory for a copy of " + gib(size) + "; map it instead (--mmap)");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (!data) return;
  if (access == FileAccess::read) big_free(const_cast<unsigned char*>(data), size);
  else ::munmap(const_cast<unsigned char*>(data), size);
}

}  // namespace bmx
