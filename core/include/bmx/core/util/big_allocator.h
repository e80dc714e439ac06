// Allocator for large buffers written once from fresh memory (the tokenizer's tables, the bandwidth probe's
// buffer). A block of 1 MiB or more gets its own anonymous mapping, 2 MiB aligned, with transparent huge pages
// requested (MADV_HUGEPAGE; where the kernel gives none it is an ordinary mapping). Loading a tokenizer writes
// ~25 MB of fresh memory, and on a virtual machine a 4 KiB page fault costs 10-25 µs: that was half of
// `bmx tokenize`'s start; one fault per 2 MiB makes it negligible. Smaller blocks come from operator new.
// Every block is at least 64-byte (cache-line) aligned.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace bmx {

void* big_allocate(std::size_t bytes);
void big_free(void* p, std::size_t bytes) noexcept;

template <class T>
struct BigAllocator {
  using value_type = T;
  BigAllocator() = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(big_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { big_free(p, n * sizeof(T)); }
  friend bool operator==(const BigAllocator&, const BigAllocator&) { return true; }
  friend bool operator!=(const BigAllocator&, const BigAllocator&) { return false; }
};

template <class T>
using BigVector = std::vector<T, BigAllocator<T>>;
using BigString = std::basic_string<char, std::char_traits<char>, BigAllocator<char>>;

}  // namespace bmx
