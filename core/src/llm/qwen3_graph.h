// Private to core/src/llm: the steps of one Qwen3 forward pass (specs/qwen3_runtime.md §3), cut the way llama.cpp's
// llama-graph cuts its graph (build_norm, build_attn, build_ffn), so that qwen3_forward reads as the architecture:
//
//   h = embed(ids)
//   per layer:  a = norm(h); h += attn(a); a = norm(h); h += ffn(a)
//   logits = lm_head(norm(h))
//
// Every step works on float32 buffers [rows = B·T, features] held by Qwen3Graph: the matrix products through
// bmx::kernels, the rest through detail::decoder_ops() on the kernels' threads -- no ATen call per layer.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "bmx/core/llm/qwen3.h"

namespace bmx::detail {

struct DecoderOps;

// One forward call: its sizes, the residual stream and the scratch buffers the steps share.
struct Qwen3Graph {
  // Checks ids and cache, reads the embedding rows into h, builds the RoPE tables and the key visibility.
  // `row_caches` (continuous batching, bmx/core/llm/batch_engine.h): batch row b has its own cache of batch 1,
  // filled to its own length; key_mask and cache are then unused.
  Qwen3Graph(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& key_mask,
             KVCache* cache, const std::vector<KVCache*>& row_caches = {});

  const Qwen3Config& c;
  const DecoderOps& ops;
  KVCache* cache;  // null: keys and values of these T tokens only (kbuf, vbuf)
  std::vector<KVCache*> row_caches;  // one cache per batch row (each its own length), or empty
  int64_t B, T, M;        // batch, new tokens, rows = B·T
  int64_t past, total;    // tokens before these in the cache; past + T
  int64_t cap;            // key/value slots per (row, kv head): the cache's capacity, else T
  // Row b's cache: past_of(b) tokens before these, cap_of(b) positions per kv head (layout [Nkv, cap, D]).
  int64_t past_of(int64_t b) const { return row_caches.empty() ? past : row_caches[size_t(b)]->length; }
  int64_t cap_of(int64_t b) const { return row_caches.empty() ? cap : row_caches[size_t(b)]->capacity(); }
  float eps, scale;       // RMSNorm epsilon; 1/sqrt(D)
  std::vector<float> cosv, sinv;  // RoPE per row [M, D/2]
  std::vector<uint8_t> visible;   // key visibility [B, total]; empty: every key visible
  std::vector<float> h;           // residual stream [M, H]
  std::vector<float> a;           // normed input of the next step [M, H]
  std::vector<float> out;         // what a step adds to the residual stream [M, H]
  std::vector<float> q, k, v, o;  // attention: [M, Nq·D], [M, Nkv·D], [M, Nkv·D], [M, Nq·D]
  std::vector<float> gate, up;    // feed-forward [M, I]
  std::vector<float> kbuf, vbuf;  // keys/values without a cache [B, Nkv, T, D]
  std::vector<std::vector<float>> scratch;  // per thread: one score row of attention
};

// a = RMSNorm(h; weight), per row.
void build_norm(Qwen3Graph& g, const at::Tensor& weight);
// out = self-attention of layer `il` on a: q/k/v projections, QK-norm, RoPE, k/v into the cache, grouped-query
// attention over every visible key, o_proj.
void build_attn(Qwen3Graph& g, const Qwen3Layer& l, size_t il);
// h += out, then a = RMSNorm(h; weight): one pass over the rows.
void build_residual_norm(Qwen3Graph& g, const at::Tensor& weight);
// out = down(silu(gate(a)) · up(a)) (SwiGLU).
void build_ffn(Qwen3Graph& g, const Qwen3Layer& l);
// h += out.
void build_residual(Qwen3Graph& g);
// Final norm and LM head: float32 logits [B, T, V], or [B, 1, V] of the last position when last_only.
at::Tensor build_logits(Qwen3Graph& g, const Qwen3Model& model, bool last_only);

}  // namespace bmx::detail
