#include "bmx/core/llm/kv_cache.h"

#include <ATen/ATen.h>

namespace bmx {

KVCache make_kv_cache(const Qwen3Config& c, int64_t batch, int64_t capacity) {
  KVCache cache;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    cache.k.push_back(at::zeros({batch, c.num_kv_heads, capacity, c.head_dim}, at::kFloat));
    cache.v.push_back(at::zeros({batch, c.num_kv_heads, capacity, c.head_dim}, at::kFloat));
  }
  return cache;
}

int64_t KVCache::capacity() const { return k.empty() ? 0 : k[0].size(2); }
int64_t KVCache::batch() const { return k.empty() ? 0 : k[0].size(0); }
uint64_t KVCache::bytes() const {
  uint64_t b = 0;
  for (auto& t : k) b += uint64_t(t.numel()) * 4;
  for (auto& t : v) b += uint64_t(t.numel()) * 4;
  return b;
}

}  // namespace bmx
