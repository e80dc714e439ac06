#include "bmx/core/util/big_allocator.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace bmx {
namespace {

constexpr std::size_t kBig = std::size_t(1) << 20;
constexpr std::size_t kLine = 64;  // small blocks are cache-line aligned too (the bandwidth probe reads whole lines)
constexpr std::size_t kHuge = std::size_t(2) << 20;

std::size_t mapped_size(std::size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }

}  // namespace

void* big_allocate(std::size_t bytes) {
  if (bytes < kBig) return ::operator new(bytes, std::align_val_t(kLine));
  const std::size_t size = mapped_size(bytes);
  if (size < bytes) throw std::bad_alloc();
  // Map 2 MiB more than needed and trim to a 2 MiB boundary: huge pages need aligned ranges.
  void* raw = ::mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t end = start + size + kHuge;
  if (end > aligned + size) ::munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, size, MADV_HUGEPAGE);  // advice only: without huge pages the mapping still works
  return p;
}

void big_free(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  if (bytes < kBig) {
    ::operator delete(p, std::align_val_t(kLine));
    return;
  }
  ::munmap(p, mapped_size(bytes));
}

}  // namespace bmx
