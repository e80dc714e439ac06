// The Qwen3 decoder (specs/qwen3_runtime.md §3): weights used in place from the safetensors (mapped, or read into
// memory whole: FileAccess), compute in float32. The forward runs on plain float buffers: projections through
// bmx::kernels (BF16/F16 weights as stored; F32 through ATen), norms, RoPE, attention and SwiGLU as own loops on
// the kernels' threads (kernels::set_threads), so a decode step makes no ATen call per layer.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "bmx/core/io/mapped_file.h"
#include "bmx/core/llm/kv_cache.h"
#include "bmx/core/llm/model_config.h"
#include "bmx/core/nn/projection.h"

namespace bmx {

class SafetensorsCheckpoint;

struct Qwen3Layer {
  at::Tensor input_norm, q_norm, k_norm, post_attention_norm;
  nn::Projection q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
};

struct Qwen3Model {
  Qwen3Config config;
  GenerationConfig generation;
  at::Tensor embed_tokens, norm;
  nn::Projection lm_head;                  // its weight is embed_tokens when tied
  std::vector<Qwen3Layer> layers;
  uint64_t weight_bytes = 0;               // bytes of tensor data in the checkpoint files
  std::string weights_format = "as stored";  // or "q8_0" / "q4_0" after quantize_weights
  std::shared_ptr<const SafetensorsCheckpoint> checkpoint;
};

// Loads config.json, generation_config.json and the safetensors of `dir` (the tokenizer files are the tokenizer's:
// bmx::Tokenizer). Every tensor is checked against the config (one-line InputError naming tensor and file), the
// checkpoint holds no layer beyond num_hidden_layers, and the norm weights (small) are finite. The large matrices
// are not scanned at load (seconds for a 4B model): generation checks its logits instead
// (check_finite_logits). `access`: how the safetensors are brought into memory (FileAccess; automatic reads them
// when they fit, which decodes faster, see mapped_file.h).
Qwen3Model load_qwen3(const std::string& dir, FileAccess access = FileAccess::map);

// Rounds every projection (attention, feed-forward, LM head; not the embedding lookup or the norms) to `f` in
// memory: 8-bit (q8_0) or 4-bit (q4_0) weights with one scale per block of 32 (bmx/core/nn/block_quant.h).
// Decoding then reads about 1/2 (q8_0) or 1/4 (q4_0) of the BF16 bytes per token. Every weight is read, so a
// NaN or inf is refused here (InputError naming tensor and file).
void quantize_weights(Qwen3Model& model, kernels::BlockFormat f);

// Bytes of weights one decoded token reads: every projection (in its current form), the norms, one embedding row.
uint64_t decode_bytes_per_token(const Qwen3Model& model);

// Throws InputError naming the first tensor (and its file) that holds NaN or inf; reads every weight.
void check_finite_weights(const Qwen3Model& model);

// Non-finite logits mean broken weights (NaN in a matrix) or a model that overflows: throws InputError naming
// the model folder and, found by check_finite_weights, the tensor. `n` floats at `logits`.
void check_finite_logits(const Qwen3Model& model, const float* logits, int64_t n);

// One forward step. ids, positions: int64 [B, T]. key_mask: undefined (every key real) or bool/int
// [B, past + T] (1 = real token; 0 = padding, never attended to). With a cache, k/v of the T new tokens are
// appended after cache->length and attention covers the whole cache; without, only these T tokens.
// Returns float32 logits [B, T, V], or [B, 1, V] for the last position when last_only.
at::Tensor qwen3_forward(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& key_mask = {}, KVCache* cache = nullptr, bool last_only = false);

// Positions for left-padded rows as transformers' generate() derives them: cumsum(mask) - 1, pads at 1.
at::Tensor positions_from_mask(const at::Tensor& mask);

}  // namespace bmx
