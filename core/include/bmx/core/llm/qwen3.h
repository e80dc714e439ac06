// The Qwen3 decoder (specs/qwen3_runtime.md §3): weights used in place from the memory-mapped safetensors,
// compute in float32. The forward runs on plain float buffers: projections through bmx::kernels (BF16/F16
// weights as stored; F32 through ATen), norms, RoPE, attention and SwiGLU as own loops on the kernels' threads
// (kernels::set_threads), so a decode step makes no ATen call per layer.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "bmx/core/llm/kv_cache.h"
#include "bmx/core/llm/model_config.h"

namespace bmx {

class SafetensorsCheckpoint;

struct Qwen3Layer {
  at::Tensor input_norm, q_proj, k_proj, v_proj, q_norm, k_norm, o_proj;
  at::Tensor post_attention_norm, gate_proj, up_proj, down_proj;
};

struct Qwen3Model {
  Qwen3Config config;
  GenerationConfig generation;
  at::Tensor embed_tokens, norm, lm_head;  // lm_head is embed_tokens when tied
  std::vector<Qwen3Layer> layers;
  uint64_t weight_bytes = 0;               // bytes of tensor data in the checkpoint files
  std::shared_ptr<const SafetensorsCheckpoint> checkpoint;
};

// Loads config.json, generation_config.json and the safetensors of `dir` (the tokenizer files are the tokenizer's:
// bmx::Tokenizer). Every tensor is checked against the config (one-line InputError naming tensor and file).
Qwen3Model load_qwen3(const std::string& dir);

// One forward step. ids, positions: int64 [B, T]. key_mask: undefined (every key real) or bool/int
// [B, past + T] (1 = real token; 0 = padding, never attended to). With a cache, k/v of the T new tokens are
// appended after cache->length and attention covers the whole cache; without, only these T tokens.
// Returns float32 logits [B, T, V], or [B, 1, V] for the last position when last_only.
at::Tensor qwen3_forward(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& key_mask = {}, KVCache* cache = nullptr, bool last_only = false);

// Positions for left-padded rows as transformers' generate() derives them: cumsum(mask) - 1, pads at 1.
at::Tensor positions_from_mask(const at::Tensor& mask);

}  // namespace bmx
