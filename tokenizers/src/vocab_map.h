// Model vocabulary, token text -> id: open addressing over entries whose texts are ranges of one arena, the one
// the vocabulary was read into (an unordered_map of 150k std::string nodes was ~10 MB of first-touch memory, and
// a copy of the texts 1.5 MB more). The first of repeated keys wins.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>

#include "bmx/core/util/big_allocator.h"
#include "bmx/tokenizers/bpe_tokenizer.h"

namespace bmx {

class VocabMap {
public:
  struct Entry {
    uint32_t offset, size;  // into the arena
    TokenId id;
    uint32_t hash;
  };
  VocabMap() = default;
  // Keys are ranges of `text`, which the map keeps.
  explicit VocabMap(BigString text) : text_(std::move(text)) {}

  void reserve(size_t n) {
    entries_.reserve(n);
    rehash(capacity_for(n));
  }
  // The key text_[offset, offset + size). Returns false when the key is already there (or the range is not in the
  // arena, which the reader never hands out).
  bool insert(uint32_t offset, uint32_t size, TokenId id) {
    if (size_t(offset) + size > text_.size()) return false;
    if (slots_.empty() || (entries_.size() + 1) * 3 > slots_.size() * 2) rehash(capacity_for(entries_.size() + 1) * 2);
    const std::string_view key(text_.data() + offset, size);
    const uint32_t h = hash(key);
    size_t i = h & mask_;
    for (; slots_[i]; i = (i + 1) & mask_)
      if (same(slots_[i], h, key)) return false;
    entries_.push_back({offset, size, id, h});
    slots_[i] = slot(h, entries_.size() - 1);
    return true;
  }
  // -1 when absent.
  TokenId find(std::string_view key) const { return slots_.empty() ? -1 : find(key, hash(key)); }
  // find() for up to kBatch keys at once, their reads overlapped: a lookup reads a slot, an entry and a text, each
  // a cache miss in tables of megabytes, and one lookup after another the misses were most of building the
  // merge table (three lookups per merge).
  static constexpr size_t kBatch = 32;
  void find_many(const std::string_view* keys, size_t n, TokenId* ids) const {
    if (slots_.empty() || n > kBatch) {
      for (size_t i = 0; i < n; ++i) ids[i] = find(keys[i]);
      return;
    }
    uint32_t h[kBatch];
    for (size_t i = 0; i < n; ++i) {
      h[i] = hash(keys[i]);
      __builtin_prefetch(&slots_[h[i] & mask_]);
    }
    for (size_t i = 0; i < n; ++i) {
      const uint64_t s = slots_[h[i] & mask_];
      if (s && uint32_t(s >> 32) == h[i]) __builtin_prefetch(&entries_[uint32_t(s) - 1]);
    }
    for (size_t i = 0; i < n; ++i) {
      const uint64_t s = slots_[h[i] & mask_];
      if (s && uint32_t(s >> 32) == h[i]) __builtin_prefetch(text_.data() + entries_[uint32_t(s) - 1].offset);
    }
    for (size_t i = 0; i < n; ++i) ids[i] = find(keys[i], h[i]);
  }
  const BigVector<Entry>& entries() const { return entries_; }
  std::string_view key(const Entry& e) const { return std::string_view(text_).substr(e.offset, e.size); }
  // A range of the arena, inserted or not (for messages about an entry refused).
  std::string_view text(uint32_t offset, uint32_t size) const { return std::string_view(text_).substr(offset, size); }

private:
  static size_t capacity_for(size_t n) {
    size_t cap = 16;
    while (cap * 2 < n * 3) cap <<= 1;
    return cap;
  }
  static uint32_t hash(std::string_view s) {
    const size_t h = std::hash<std::string_view>{}(s);
    return uint32_t(h ^ (h >> 32));
  }
  // A slot holds the hash beside the entry index, so that a probe past another key reads no entry.
  static uint64_t slot(uint32_t h, size_t index) { return uint64_t(h) << 32 | uint32_t(index + 1); }
  bool same(uint64_t s, uint32_t h, std::string_view key) const {
    if (uint32_t(s >> 32) != h) return false;
    const Entry& e = entries_[uint32_t(s) - 1];
    return e.size == key.size() && std::memcmp(text_.data() + e.offset, key.data(), key.size()) == 0;
  }
  TokenId find(std::string_view key, uint32_t h) const {
    for (size_t i = h & mask_; slots_[i]; i = (i + 1) & mask_)
      if (same(slots_[i], h, key)) return entries_[uint32_t(slots_[i]) - 1].id;
    return -1;
  }
  void rehash(size_t cap) {
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (size_t k = 0; k < entries_.size(); ++k) {
      size_t i = entries_[k].hash & mask_;
      while (slots_[i]) i = (i + 1) & mask_;
      slots_[i] = slot(entries_[k].hash, k);
    }
  }
  BigString text_;
  BigVector<Entry> entries_;
  BigVector<uint64_t> slots_;  // hash << 32 | (entry index + 1); 0 is empty
  size_t mask_ = 0;
};

}  // namespace bmx
