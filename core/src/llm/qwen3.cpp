#include "bmx/core/llm/qwen3.h"
#include "bmx/core/nn/rotary.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <utility>

#include "bmx/core/util/error.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/thread_pool.h"
#include "nn/decoder_ops.h"
#include "bmx/core/nn/nn.h"
#include "bmx/core/io/safetensors.h"

namespace bmx {

Qwen3Model load_qwen3(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail_input(dir, "model folder does not exist");
  const auto config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) fail_input(dir, "no config.json in the model folder");
  Qwen3Model m;
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

namespace {

// A small 1-D weight (norms) as float32, converted without ATen (this runs for every layer of every step).
std::vector<float> floats_of(const at::Tensor& t) {
  std::vector<float> out(size_t(t.numel()));
  const int64_t n = t.numel(), st = t.dim() == 1 ? t.stride(0) : 1;
  if (t.dim() == 1 && t.scalar_type() == at::kBFloat16) {
    auto* p = static_cast<const uint16_t*>(t.data_ptr());
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = kernels::bf16_to_float(p[i * st]);
  } else if (t.dim() == 1 && t.scalar_type() == at::kHalf) {
    auto* p = static_cast<const uint16_t*>(t.data_ptr());
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = kernels::f16_to_float(p[i * st]);
  } else {
    auto f = t.to(at::kFloat).contiguous();
    std::memcpy(out.data(), f.data_ptr<float>(), out.size() * 4);
  }
  return out;
}

// y [M, N] = x [M, K] · Wᵀ, W [N, K] as stored (BF16/F16 through bmx::kernels, other dtypes through ATen).
void project(const float* x, int64_t M, int64_t K, const at::Tensor& w, float* y) {
  const int64_t N = w.size(0);
  const auto st = w.scalar_type();
  if ((st == at::kBFloat16 || st == at::kHalf) && w.stride(1) == 1) {
    kernels::matmul(x, K, static_cast<const uint16_t*>(w.data_ptr()), w.stride(0),
                    st == at::kBFloat16 ? kernels::WeightType::bf16 : kernels::WeightType::f16, y, N, M, N, K);
    return;
  }
  auto xt = at::from_blob(const_cast<float*>(x), {M, K}, at::kFloat);
  auto r = at::linear(xt, w.to(at::kFloat)).contiguous();
  std::memcpy(y, r.data_ptr<float>(), size_t(M * N) * 4);
}

// Several projections of the same x [M, K] (q/k/v, gate/up): one pass over the threads when all weights are
// BF16/F16.
void project_many(const float* x, int64_t M, int64_t K, std::initializer_list<std::pair<const at::Tensor*, float*>> outs) {
  std::vector<kernels::MatmulJob> jobs;
  for (auto& [w, y] : outs) {
    const auto st = w->scalar_type();
    if ((st != at::kBFloat16 && st != at::kHalf) || w->stride(1) != 1) {
      for (auto& [w2, y2] : outs) project(x, M, K, *w2, y2);
      return;
    }
    const int64_t N = w->size(0);
    jobs.push_back({x, K, static_cast<const uint16_t*>(w->data_ptr()), w->stride(0),
                    st == at::kBFloat16 ? kernels::WeightType::bf16 : kernels::WeightType::f16, y, N, M, N, K});
  }
  kernels::matmul_many(jobs.data(), int(jobs.size()));
}

// fn(row) for every row, on the kernels' threads when there is enough work.
template <class F>
void for_rows(int64_t rows, int64_t work_per_row, F&& fn) {
  if (rows == 1 || rows * work_per_row < (int64_t(1) << 15)) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
  kernels::thread_pool().run(rows, [&](int64_t r, int) { fn(r); });
}

// One embedding row (BF16/F16/F32) as float32.
void embedding_row(const at::Tensor& e, int64_t id, float* out) {
  const int64_t H = e.size(1), s0 = e.stride(0), s1 = e.stride(1);
  switch (e.scalar_type()) {
    case at::kBFloat16: {
      auto* p = static_cast<const uint16_t*>(e.data_ptr()) + id * s0;
      for (int64_t i = 0; i < H; ++i) out[i] = kernels::bf16_to_float(p[i * s1]);
      break;
    }
    case at::kHalf: {
      auto* p = static_cast<const uint16_t*>(e.data_ptr()) + id * s0;
      for (int64_t i = 0; i < H; ++i) out[i] = kernels::f16_to_float(p[i * s1]);
      break;
    }
    default: {
      auto row = e[id].to(at::kFloat).contiguous();
      std::memcpy(out, row.data_ptr<float>(), size_t(H) * 4);
    }
  }
}

}  // namespace

// Everything runs on float32 buffers [rows = B·T, features]: the matrix products through bmx::kernels, the
// rest through detail::decoder_ops() on the kernels' threads -- no ATen call per layer.
at::Tensor qwen3_forward(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                         const at::Tensor& key_mask, KVCache* cache, bool last_only) {
  const auto& c = model.config;
  const detail::DecoderOps& ops = detail::decoder_ops();
  const int64_t B = ids.size(0), T = ids.size(1), D = c.head_dim, H = c.hidden_size, I = c.intermediate_size;
  const int64_t Nq = c.num_heads, Nkv = c.num_kv_heads, groups = Nq / Nkv, M = B * T;
  const int64_t past = cache ? cache->length : 0, total = past + T;
  if (cache && (cache->batch() != B || total > cache->capacity()))
    throw std::invalid_argument("qwen3_forward: KV cache of batch " + std::to_string(cache->batch()) +
                                ", capacity " + std::to_string(cache->capacity()) + " cannot take " +
                                std::to_string(B) + " x " + std::to_string(total) + " tokens");
  const float eps = float(c.rms_norm_eps);
  const float scale = float(1.0 / std::sqrt(double(D)));

  auto id64 = ids.to(at::kLong).contiguous();
  auto pos64 = positions.to(at::kLong);
  if (pos64.dim() == 1) pos64 = pos64.unsqueeze(0);
  pos64 = pos64.expand({B, T}).contiguous();
  const int64_t* idp = id64.data_ptr<int64_t>();
  const int64_t* posp = pos64.data_ptr<int64_t>();
  const int64_t vocab = model.embed_tokens.size(0);
  for (int64_t r = 0; r < M; ++r)  // the embedding rows are read unchecked from the mapped file
    if (idp[r] < 0 || idp[r] >= vocab)
      throw InputError("token id " + std::to_string(idp[r]) + " is outside the model's vocabulary (0.." +
                       std::to_string(vocab - 1) + ")");
  std::vector<uint8_t> visible;
  if (key_mask.defined()) {
    auto km = key_mask.to(at::kBool).reshape({B, total}).contiguous();
    visible.assign(km.data_ptr<bool>(), km.data_ptr<bool>() + B * total);
  }

  // RoPE tables per row (bmx/core/nn/rotary.h).
  const int64_t half = D / 2;
  std::vector<float> cosv(size_t(M * half)), sinv(size_t(M * half));
  rotary_tables(posp, M, D, c.rope_theta, cosv.data(), sinv.data());

  std::vector<float> h(size_t(M * H)), a(size_t(M * H)), tmp(size_t(M * H));
  std::vector<float> q(size_t(M * Nq * D)), k(size_t(M * Nkv * D)), v(size_t(M * Nkv * D)), o(size_t(M * Nq * D));
  std::vector<float> g(size_t(M * I)), u(size_t(M * I));
  for (int64_t r = 0; r < M; ++r) embedding_row(model.embed_tokens, idp[r], h.data() + r * H);

  // Keys/values of the layer: the cache, or (without one) a buffer for these T tokens.
  const int64_t cap = cache ? cache->capacity() : T;
  std::vector<float> kbuf, vbuf;
  if (!cache) {
    kbuf.resize(size_t(B * Nkv * T * D));
    vbuf.resize(size_t(B * Nkv * T * D));
  }
  ThreadPool& pool = kernels::thread_pool();
  std::vector<std::vector<float>> scratch(size_t(pool.size()), std::vector<float>(size_t(total)));
  const int64_t tblock = 8;
  const int64_t tblocks = (T + tblock - 1) / tblock;

  auto rope = [&](float* x, int64_t r) {
    rotate_row(x, cosv.data() + r * half, sinv.data() + r * half, D, /*adjacent_pairs=*/false);
  };

  for (size_t li = 0; li < model.layers.size(); ++li) {
    const auto& l = model.layers[li];
    const auto in_w = floats_of(l.input_norm), post_w = floats_of(l.post_attention_norm);
    const auto qn_w = floats_of(l.q_norm), kn_w = floats_of(l.k_norm);
    float* kc = cache ? cache->k[li].data_ptr<float>() : kbuf.data();
    float* vc = cache ? cache->v[li].data_ptr<float>() : vbuf.data();

    for_rows(M, H, [&](int64_t r) { ops.rms_norm(h.data() + r * H, in_w.data(), H, eps, a.data() + r * H); });
    project_many(a.data(), M, H, {{&l.q_proj, q.data()}, {&l.k_proj, k.data()}, {&l.v_proj, v.data()}});
    // QK-norm, RoPE, and k/v into the cache at [b, kv head, past + t].
    for_rows(M, (Nq + Nkv) * D * 4, [&](int64_t r) {
      const int64_t b = r / T, t = r % T;
      for (int64_t j = 0; j < Nq; ++j) {
        float* x = q.data() + (r * Nq + j) * D;
        ops.rms_norm(x, qn_w.data(), D, eps, x);
        rope(x, r);
      }
      for (int64_t j = 0; j < Nkv; ++j) {
        float* x = k.data() + (r * Nkv + j) * D;
        ops.rms_norm(x, kn_w.data(), D, eps, x);
        rope(x, r);
        const int64_t at = ((b * Nkv + j) * cap + past + t) * D;
        std::memcpy(kc + at, x, size_t(D) * 4);
        std::memcpy(vc + at, v.data() + (r * Nkv + j) * D, size_t(D) * 4);
      }
    });
    // Attention: query (b, head j, t) sees keys 0 .. past + t of kv head j / groups that are visible. A task
    // takes every query head of one kv head, so that its keys and values are read from memory once.
    auto attend_task = [&](int64_t task, int thread) {
      const int64_t tb = task % tblocks, kvh = (task / tblocks) % Nkv, b = task / (tblocks * Nkv);
      const float* K = kc + (b * Nkv + kvh) * cap * D;
      const float* V = vc + (b * Nkv + kvh) * cap * D;
      const uint8_t* vis = visible.empty() ? nullptr : visible.data() + b * total;
      for (int64_t t = tb * tblock; t < std::min(T, (tb + 1) * tblock); ++t)
        for (int64_t j = kvh * groups; j < (kvh + 1) * groups; ++j) {
          const int64_t r = b * T + t;
          ops.attend(q.data() + (r * Nq + j) * D, K, V, past + t + 1, D, scale, vis,
                     scratch[size_t(thread)].data(), o.data() + (r * Nq + j) * D);
        }
    };
    const int64_t att_tasks = B * Nkv * tblocks;
    if (att_tasks * groups * total * D < (int64_t(1) << 15)) {
      for (int64_t t = 0; t < att_tasks; ++t) attend_task(t, 0);
    } else {
      pool.run(att_tasks, attend_task);
    }
    project(o.data(), M, Nq * D, l.o_proj, tmp.data());
    for_rows(M, H, [&](int64_t r) {
      ops.add(h.data() + r * H, tmp.data() + r * H, H);
      ops.rms_norm(h.data() + r * H, post_w.data(), H, eps, a.data() + r * H);
    });
    project_many(a.data(), M, H, {{&l.gate_proj, g.data()}, {&l.up_proj, u.data()}});
    for_rows(M, I, [&](int64_t r) { ops.silu_mul(g.data() + r * I, u.data() + r * I, I); });
    project(g.data(), M, I, l.down_proj, tmp.data());
    for_rows(M, H, [&](int64_t r) { ops.add(h.data() + r * H, tmp.data() + r * H, H); });
  }
  if (cache) cache->length = total;

  const int64_t Tout = last_only ? 1 : T, Mout = B * Tout;
  const auto norm_w = floats_of(model.norm);
  for (int64_t r = 0; r < Mout; ++r) {
    const int64_t src = last_only ? r * T + T - 1 : r;
    ops.rms_norm(h.data() + src * H, norm_w.data(), H, eps, a.data() + r * H);
  }
  auto logits = at::empty({B, Tout, c.vocab_size}, at::kFloat);
  project(a.data(), Mout, H, model.lm_head, logits.data_ptr<float>());
  return logits;
}

}  // namespace bmx
