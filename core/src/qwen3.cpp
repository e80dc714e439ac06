#include "bmx/core/qwen3.h"

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>

#include "bmx/core/error.h"
#include "bmx/core/nn.h"
#include "bmx/core/safetensors.h"

namespace bmx {

Qwen3Model load_qwen3(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail_input(dir, "model folder does not exist");
  const auto config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) fail_input(dir, "no config.json in the model folder");
  Qwen3Model m;
  m.dir = dir;
  m.config = read_qwen3_config(config_path);
  m.generation = read_generation_config(dir, m.config);
  m.tokenizer_size = std::min(read_tokenizer_size(dir), m.config.vocab_size);
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

at::Tensor qwen3_forward(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& key_mask, KVCache* cache, bool last_only) {
  const auto& c = model.config;
  const int64_t B = ids.size(0), T = ids.size(1), D = c.head_dim;
  const int64_t past = cache ? cache->length : 0, total = past + T;
  if (cache && (cache->batch() != B || total > cache->capacity()))
    throw std::invalid_argument("qwen3_forward: KV cache of batch " + std::to_string(cache->batch()) +
                                ", capacity " + std::to_string(cache->capacity()) + " cannot take " +
                                std::to_string(B) + " x " + std::to_string(total) + " tokens");
  auto pos = positions.to(at::kLong);

  // Query t (absolute index past + t) sees keys s <= past + t that are real tokens.
  at::Tensor mask;
  if (T > 1) {
    auto q_idx = at::arange(past, total, at::kLong).unsqueeze(1);
    auto k_idx = at::arange(0, total, at::kLong).unsqueeze(0);
    mask = (k_idx <= q_idx).view({1, 1, T, total});
  }
  if (key_mask.defined()) {
    auto km = key_mask.to(at::kBool).view({B, 1, 1, total});
    mask = mask.defined() ? mask.logical_and(km) : km;
  }

  auto h = at::embedding(model.embed_tokens, ids.to(at::kLong)).to(at::kFloat);  // [B, T, H]
  const double scale = 1.0 / std::sqrt(double(D));
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const auto& l = model.layers[i];
    auto a = nn::rms_norm(h, l.input_norm, c.rms_norm_eps);
    auto q = nn::linear(a, l.q_proj).view({B, T, c.num_heads, D});
    auto k = nn::linear(a, l.k_proj).view({B, T, c.num_kv_heads, D});
    auto v = nn::linear(a, l.v_proj).view({B, T, c.num_kv_heads, D}).transpose(1, 2);
    q = nn::rms_norm(q, l.q_norm, c.rms_norm_eps).transpose(1, 2);  // [B, Nq, T, D]
    k = nn::rms_norm(k, l.k_norm, c.rms_norm_eps).transpose(1, 2);  // [B, Nkv, T, D]
    q = nn::apply_rotary(q, pos, D, c.rope_theta);
    k = nn::apply_rotary(k, pos, D, c.rope_theta);
    if (cache) {
      cache->k[i].narrow(2, past, T).copy_(k);
      cache->v[i].narrow(2, past, T).copy_(v);
      k = cache->k[i].narrow(2, 0, total);
      v = cache->v[i].narrow(2, 0, total);
    }
    auto o = nn::attention(q, k, v, mask, scale);                       // [B, Nq, T, D]
    o = o.transpose(1, 2).reshape({B, T, c.num_heads * D});
    h = h + nn::linear(o, l.o_proj);
    auto x = nn::rms_norm(h, l.post_attention_norm, c.rms_norm_eps);
    h = h + nn::linear(nn::swiglu(nn::linear(x, l.gate_proj), nn::linear(x, l.up_proj)), l.down_proj);
  }
  if (cache) cache->length = total;
  if (last_only) h = h.narrow(1, T - 1, 1);
  h = nn::rms_norm(h, model.norm, c.rms_norm_eps);
  return nn::linear(h, model.lm_head);
}

}  // namespace bmx
