// The merges of a BPE model as a table: (left id, right id) -> (rank, merged id), looked up for every pair of
// adjacent symbols of every word the tokenizer encodes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "bmx/core/util/big_allocator.h"

namespace bmx {

// Open-addressing map (left id, right id) -> (rank, merged id).
class MergeTable {
public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n + n / 2) cap <<= 1;  // load at most 2/3: the table is fresh memory, which costs at start-up
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }
  bool insert(int32_t a, int32_t b, uint32_t rank, int32_t merged) {
    uint64_t key = pack(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = {key, rank, merged};
        return true;
      }
      if (slots_[i].key == key) return false;  // a repeated merge keeps its first (lowest) rank
    }
  }
  // Returns false when the pair does not merge.
  bool find(int32_t a, int32_t b, uint32_t& rank, int32_t& merged) const {
    uint64_t key = pack(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        rank = s.rank;
        merged = s.merged;
        return true;
      }
      if (s.key == kEmpty) return false;
    }
  }

private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  struct Slot {
    uint64_t key = kEmpty;
    uint32_t rank = 0;
    int32_t merged = 0;
  };
  static uint64_t pack(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static size_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return size_t(k);
  }
  BigVector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace bmx
