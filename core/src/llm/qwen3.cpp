#include "bmx/core/llm/qwen3.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

#include "bmx/core/io/safetensors.h"
#include "bmx/core/util/error.h"
#include "projection_list.h"
#include "quantized_model_impl.h"
#include "qwen3_graph.h"

namespace bmx {
namespace {

// Whether a floating tensor holds NaN or inf: a value is non-finite exactly when its exponent bits are all set.
// Read in place on the stored bits (no float32 copy, no ATen call per tensor: the 145 norms of a 4B model took
// 3-5 ms through at::isfinite, this takes well under one).
template <typename Bits>
bool exponents_finite(const at::Tensor& t, Bits exponent) {
  const Bits* p = static_cast<const Bits*>(t.data_ptr());
  Bits worst = 0;
  for (int64_t i = 0, n = t.numel(); i < n; ++i) worst = std::max<Bits>(worst, Bits(p[i] & exponent));
  return worst != exponent;
}

bool all_finite(const at::Tensor& t) {
  if (t.numel() == 0) return true;
  if (t.is_contiguous()) {
    if (t.scalar_type() == at::kBFloat16) return exponents_finite<uint16_t>(t, 0x7f80);
    if (t.scalar_type() == at::kHalf) return exponents_finite<uint16_t>(t, 0x7c00);
    if (t.scalar_type() == at::kFloat) return exponents_finite<uint32_t>(t, 0x7f800000u);
  }
  return at::isfinite(t).all().item<bool>();
}

void check_finite(const SafetensorsCheckpoint* ckpt, const std::string& name, const at::Tensor& t) {
  if (!all_finite(t)) fail_input(ckpt ? ckpt->file_of(name) : std::string("model"), name, "holds NaN or inf values");
}

// A checkpoint with more layers than config.json names would run silently truncated.
void check_layer_count(const SafetensorsCheckpoint& ckpt, int64_t num_layers, const std::string& config_path) {
  const std::string prefix = "model.layers.";
  for (const auto& name : ckpt.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t dot = name.find('.', prefix.size());
    const std::string index = name.substr(prefix.size(), dot == std::string::npos ? std::string::npos : dot - prefix.size());
    if (index.empty() || index.size() > 9 || index.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoll(index) >= num_layers)
      fail_input(config_path, "num_hidden_layers is " + std::to_string(num_layers) + " but " + ckpt.file_of(name) +
                                  " holds " + name);
  }
}

}  // namespace

Qwen3Model load_qwen3(const std::string& dir, FileAccess access) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail_input(dir, "model folder does not exist");
  const auto config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) fail_input(dir, "no config.json in the model folder");
  Qwen3Model m;
  m.config = read_qwen3_config(config_path);
  m.generation = read_generation_config(dir, m.config);
  auto ckpt = std::make_shared<SafetensorsCheckpoint>(dir, access);
  m.checkpoint = ckpt;
  m.weight_bytes = ckpt->weight_bytes();
  const auto& c = m.config;
  const int64_t V = c.vocab_size, H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t q_out = c.num_heads * D, kv_out = c.num_kv_heads * D;
  // A folder written by bmx quantize holds the projections rounded (quantized_model.h): used in place too.
  const std::optional<kernels::BlockFormat> stored = detail::stored_block_format(*ckpt);
  auto projection = [&](const std::string& name, int64_t rows, int64_t cols) {
    if (stored) return detail::stored_projection(*ckpt, *stored, name, rows, cols);
    nn::Projection p;
    p.weight = ckpt->get(name, {rows, cols});
    // Memory read into the process is ours to rearrange (a mapping of the page cache stays as the file has it):
    // long rows into pair tiles. Down projection, one core: 30-33 -> 35-38 GB/s.
    if (ckpt->access() == FileAccess::read) nn::use_pair_tiles(p);
    return p;
  };
  m.embed_tokens = ckpt->get("model.embed_tokens.weight", {V, H});
  m.norm = ckpt->get("model.norm.weight", {H});
  if (c.tie_word_embeddings) {
    // A stray lm_head.weight is ignored, as transformers ties on load.
    m.lm_head = stored ? projection("model.embed_tokens.weight", V, H)
                       : nn::Projection{m.embed_tokens, nn::WeightOrder::rows, {}, {}};
  } else {
    if (!ckpt->contains("lm_head.weight") && !stored)
      fail_input(dir, "lm_head.weight", "tensor is missing (config.json has tie_word_embeddings false)");
    m.lm_head = projection("lm_head.weight", V, H);
  }
  if (stored) m.weights_format = kernels::format_name(*stored);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Qwen3Layer l;
    l.input_norm = ckpt->get(p + "input_layernorm.weight", {H});
    l.q_proj = projection(p + "self_attn.q_proj.weight", q_out, H);
    l.k_proj = projection(p + "self_attn.k_proj.weight", kv_out, H);
    l.v_proj = projection(p + "self_attn.v_proj.weight", kv_out, H);
    l.q_norm = ckpt->get(p + "self_attn.q_norm.weight", {D});
    l.k_norm = ckpt->get(p + "self_attn.k_norm.weight", {D});
    l.o_proj = projection(p + "self_attn.o_proj.weight", H, q_out);
    l.post_attention_norm = ckpt->get(p + "post_attention_layernorm.weight", {H});
    l.gate_proj = projection(p + "mlp.gate_proj.weight", I, H);
    l.up_proj = projection(p + "mlp.up_proj.weight", I, H);
    l.down_proj = projection(p + "mlp.down_proj.weight", H, I);
    // The norms are small (H or D values): checked in full, since a NaN there spreads to every output.
    check_finite(ckpt.get(), p + "input_layernorm.weight", l.input_norm);
    check_finite(ckpt.get(), p + "post_attention_layernorm.weight", l.post_attention_norm);
    check_finite(ckpt.get(), p + "self_attn.q_norm.weight", l.q_norm);
    check_finite(ckpt.get(), p + "self_attn.k_norm.weight", l.k_norm);
    m.layers.push_back(std::move(l));
  }
  check_finite(ckpt.get(), "model.norm.weight", m.norm);
  check_layer_count(*ckpt, c.num_layers, config_path);
  return m;
}


void check_finite_weights(const Qwen3Model& model) {
  const SafetensorsCheckpoint* ckpt = model.checkpoint.get();
  auto scan = [&](const std::string& name, const at::Tensor& t) {
    // In slices of rows, so a 600 MB embedding is not converted to float32 at once.
    if (t.dim() == 0) return check_finite(ckpt, name, t);
    const int64_t rows = t.size(0), per_row = std::max<int64_t>(1, t.numel() / std::max<int64_t>(rows, 1));
    const int64_t step = std::max<int64_t>(1, (int64_t(1) << 22) / per_row);
    for (int64_t r = 0; r < rows; r += step) check_finite(ckpt, name, t.narrow(0, r, std::min(step, rows - r)));
  };
  auto scan_projection = [&](const std::string& name, const nn::Projection& w) {
    if (!w.quantized()) scan(name, w.weight);
  };
  scan("model.embed_tokens.weight", model.embed_tokens);
  for_each_projection(model, [&](const std::string& name, const nn::Projection& w) {
    // The tied LM head is the embedding, scanned above; a quantized projection was read in full when it was
    // rounded (quantize_weights refuses NaN and inf).
    if (&w != &model.lm_head || !model.config.tie_word_embeddings) scan_projection(name, w);
  });
}

void quantize_weights(Qwen3Model& model, kernels::BlockFormat f) {
  const SafetensorsCheckpoint* ckpt = model.checkpoint.get();
  // Rounding rounded weights again would stack both formats' errors; a folder holds one format.
  if (model.lm_head.quantized() && model.lm_head.blocks.format != f)
    fail_input(ckpt ? ckpt->dir() : std::string("model"),
               std::string("the weights are stored as ") + kernels::format_name(model.lm_head.blocks.format) +
                   "; " + kernels::format_name(f) + " must be made from the BF16 model (bmx quantize)");
  auto round = [&](const std::string& name, nn::Projection& w) {
    if (w.quantized()) return;
    try {
      nn::quantize(w, f);
    } catch (const std::domain_error& e) {
      fail_input(ckpt ? ckpt->file_of(name) : std::string("model"), name, e.what());
    }
  };
  for_each_projection(model, round);
  model.weights_format = kernels::format_name(f);
}

uint64_t decode_bytes_per_token(const Qwen3Model& model) {
  auto bytes = [](const at::Tensor& t) { return uint64_t(t.numel()) * t.element_size(); };
  uint64_t sum = bytes(model.norm) + uint64_t(model.config.hidden_size) * model.embed_tokens.element_size();
  for (const Qwen3Layer& l : model.layers)
    sum += bytes(l.input_norm) + bytes(l.q_norm) + bytes(l.k_norm) + bytes(l.post_attention_norm);
  for_each_projection(model, [&](const std::string&, const nn::Projection& w) { sum += w.bytes(); });
  return sum;
}

void check_finite_logits(const Qwen3Model& model, const float* logits, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(logits[i])) continue;
    const std::string dir = model.checkpoint ? model.checkpoint->dir() : std::string("the model");
    check_finite_weights(model);  // throws naming the tensor when one is broken
    throw InputError(dir + ": the model computed NaN or inf logits although its weights are finite: the model "
                           "folder does not hold a working network");
  }
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
