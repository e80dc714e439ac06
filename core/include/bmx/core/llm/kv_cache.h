// Keys and values of every layer for the tokens seen so far (after QK-norm and RoPE), preallocated to a
// capacity so that decoding appends without reallocating.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "bmx/core/llm/model_config.h"

namespace bmx {

struct KVCache {
  std::vector<at::Tensor> k, v;  // per layer: float32 [batch, Nkv, capacity, D]
  int64_t length = 0;            // positions filled (same for every row; left padding keeps rows aligned)
  int64_t capacity() const;
  int64_t batch() const;
  uint64_t bytes() const;
};

KVCache make_kv_cache(const Qwen3Config& config, int64_t batch, int64_t capacity);

}  // namespace bmx
