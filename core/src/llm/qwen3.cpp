#include "bmx/core/llm/qwen3.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <utility>

#include "bmx/core/io/safetensors.h"
#include "bmx/core/util/error.h"
#include "qwen3_graph.h"

namespace bmx {

Qwen3Model load_qwen3(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail_input(dir, "model folder does not exist");
  const auto config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) fail_input(dir, "no config.json in the model folder");
  Qwen3Model m;
  m.config = read_qwen3_config(config_path);
  m.generation = read_generation_config(dir, m.config);
  auto ckpt = std::make_shared<SafetensorsCheckpoint>(dir);
  m.checkpoint = ckpt;
  m.weight_bytes = ckpt->weight_bytes();
  const auto& c = m.config;
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t q_out = c.num_heads * D, kv_out = c.num_kv_heads * D;
  m.embed_tokens = ckpt->get("model.embed_tokens.weight", {V, H});
  m.norm = ckpt->get("model.norm.weight", {H});
  if (c.tie_word_embeddings) {
    m.lm_head = m.embed_tokens;  // a stray lm_head.weight is ignored, as transformers ties on load
  } else {
    if (!ckpt->contains("lm_head.weight"))
      fail_input(dir, "lm_head.weight", "tensor is missing (config.json has tie_word_embeddings false)");
    m.lm_head = ckpt->get("lm_head.weight", {V, H});
  }
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Qwen3Layer l;
    l.input_norm = ckpt->get(p + "input_layernorm.weight", {H});
    l.q_proj = ckpt->get(p + "self_attn.q_proj.weight", {q_out, H});
    l.k_proj = ckpt->get(p + "self_attn.k_proj.weight", {kv_out, H});
    l.v_proj = ckpt->get(p + "self_attn.v_proj.weight", {kv_out, H});
    l.q_norm = ckpt->get(p + "self_attn.q_norm.weight", {D});
    l.k_norm = ckpt->get(p + "self_attn.k_norm.weight", {D});
    l.o_proj = ckpt->get(p + "self_attn.o_proj.weight", {H, q_out});
    l.post_attention_norm = ckpt->get(p + "post_attention_layernorm.weight", {H});
    l.gate_proj = ckpt->get(p + "mlp.gate_proj.weight", {I, H});
    l.up_proj = ckpt->get(p + "mlp.up_proj.weight", {I, H});
    l.down_proj = ckpt->get(p + "mlp.down_proj.weight", {H, I});
    m.layers.push_back(std::move(l));
  }
  return m;
}

at::Tensor positions_from_mask(const at::Tensor& mask) {
  auto m = mask.to(at::kLong);
  auto p = m.cumsum(-1) - 1;
  return p.masked_fill(m == 0, 1);
}

// The steps are in qwen3_graph.cpp; this is the architecture (specs/qwen3_runtime.md §3) in their terms.
at::Tensor qwen3_forward(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& key_mask, KVCache* cache, bool last_only) {
  detail::Qwen3Graph g(model, ids, positions, key_mask, cache);  // h = embed(ids)
  for (size_t il = 0; il < model.layers.size(); ++il) {
    const Qwen3Layer& l = model.layers[il];
    detail::build_norm(g, l.input_norm);                    // a = norm(h)
    detail::build_attn(g, l, il);                           // out = attn(a)
    detail::build_residual_norm(g, l.post_attention_norm);  // h += out; a = norm(h)
    detail::build_ffn(g, l);                                // out = ffn(a)
    detail::build_residual(g);                              // h += out
  }
  if (cache) cache->length = g.total;
  return detail::build_logits(g, model, last_only);
}

}  // namespace bmx
