#include "qwen3_graph.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/rotary.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/thread_pool.h"
#include "nn/decoder_ops.h"

namespace bmx::detail {
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

Qwen3Graph::Qwen3Graph(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                       const at::Tensor& key_mask, KVCache* kv, const std::vector<KVCache*>& rows)
    : c(model.config), ops(decoder_ops()), cache(kv), row_caches(rows) {
  B = ids.size(0);
  T = ids.size(1);
  M = B * T;
  past = cache ? cache->length : 0;
  total = past + T;
  if (!row_caches.empty()) {  // per-row caches: `total` is the longest row (the attention scratch size)
    if (int64_t(row_caches.size()) != B || cache || key_mask.defined())
      throw std::invalid_argument("qwen3_forward_rows: one cache per row, no shared cache or mask");
    past = 0;
    total = T;
    for (KVCache* rc : row_caches) {
      if (rc->batch() != 1 || rc->length + T > rc->capacity())
        throw std::invalid_argument("qwen3_forward_rows: a row's KV cache (capacity " + std::to_string(rc->capacity()) +
                                    ") cannot take " + std::to_string(rc->length + T) + " tokens");
      total = std::max(total, rc->length + T);
    }
  }
  if (cache && (cache->batch() != B || total > cache->capacity()))
    throw std::invalid_argument("qwen3_forward: KV cache of batch " + std::to_string(cache->batch()) +
                                ", capacity " + std::to_string(cache->capacity()) + " cannot take " +
                                std::to_string(B) + " x " + std::to_string(total) + " tokens");
  const int64_t D = c.head_dim, H = c.hidden_size, I = c.intermediate_size, Nq = c.num_heads, Nkv = c.num_kv_heads;
  eps = float(c.rms_norm_eps);
  scale = float(1.0 / std::sqrt(double(D)));

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
  if (key_mask.defined()) {
    auto km = key_mask.to(at::kBool).reshape({B, total}).contiguous();
    visible.assign(km.data_ptr<bool>(), km.data_ptr<bool>() + B * total);
  }

  // RoPE tables per row (bmx/core/nn/rotary.h).
  const int64_t half = D / 2;
  cosv.resize(size_t(M * half));
  sinv.resize(size_t(M * half));
  rotary_tables(posp, M, D, c.rope_theta, cosv.data(), sinv.data());

  h.resize(size_t(M * H));
  a.resize(size_t(M * H));
  out.resize(size_t(M * H));
  q.resize(size_t(M * Nq * D));
  k.resize(size_t(M * Nkv * D));
  v.resize(size_t(M * Nkv * D));
  o.resize(size_t(M * Nq * D));
  gate.resize(size_t(M * I));
  up.resize(size_t(M * I));
  for (int64_t r = 0; r < M; ++r) embedding_row(model.embed_tokens, idp[r], h.data() + r * H);

  cap = cache ? cache->capacity() : T;
  if (!cache && row_caches.empty()) {
    kbuf.resize(size_t(B * Nkv * T * D));
    vbuf.resize(size_t(B * Nkv * T * D));
  }
  scratch.assign(size_t(kernels::thread_pool().size()), std::vector<float>(size_t(total)));
}

void build_norm(Qwen3Graph& g, const at::Tensor& weight) {
  const auto w = floats_of(weight);
  const int64_t H = g.c.hidden_size;
  for_rows(g.M, H, [&](int64_t r) { g.ops.rms_norm(g.h.data() + r * H, w.data(), H, g.eps, g.a.data() + r * H); });
}

void build_attn(Qwen3Graph& g, const Qwen3Layer& l, size_t il) {
  const auto& c = g.c;
  const DecoderOps& ops = g.ops;
  const int64_t D = c.head_dim, Nq = c.num_heads, Nkv = c.num_kv_heads, groups = Nq / Nkv;
  const int64_t T = g.T, total = g.total, cap = g.cap, half = D / 2;
  const auto qn_w = floats_of(l.q_norm), kn_w = floats_of(l.k_norm);
  float* kc = g.cache ? g.cache->k[il].data_ptr<float>() : g.kbuf.data();
  float* vc = g.cache ? g.cache->v[il].data_ptr<float>() : g.vbuf.data();
  // Row b's keys and values [Nkv, cap, D]: in the shared cache, or in its own (continuous batching).
  auto k_row = [&](int64_t b) {
    return g.row_caches.empty() ? kc + b * Nkv * cap * D : g.row_caches[size_t(b)]->k[il].data_ptr<float>();
  };
  auto v_row = [&](int64_t b) {
    return g.row_caches.empty() ? vc + b * Nkv * cap * D : g.row_caches[size_t(b)]->v[il].data_ptr<float>();
  };
  float *q = g.q.data(), *k = g.k.data(), *v = g.v.data(), *o = g.o.data();
  auto rope = [&](float* x, int64_t r) {
    rotate_row(x, g.cosv.data() + r * half, g.sinv.data() + r * half, D, /*adjacent_pairs=*/false);
  };

  nn::project_many(g.a.data(), g.M, {{&l.q_proj, q}, {&l.k_proj, k}, {&l.v_proj, v}});
  // QK-norm, RoPE, and k/v into the cache at [b, kv head, past + t].
  for_rows(g.M, (Nq + Nkv) * D * 4, [&](int64_t r) {
    const int64_t b = r / T, t = r % T;
    for (int64_t j = 0; j < Nq; ++j) {
      float* x = q + (r * Nq + j) * D;
      ops.rms_norm(x, qn_w.data(), D, g.eps, x);
      rope(x, r);
    }
    for (int64_t j = 0; j < Nkv; ++j) {
      float* x = k + (r * Nkv + j) * D;
      ops.rms_norm(x, kn_w.data(), D, g.eps, x);
      rope(x, r);
      const int64_t at = (j * g.cap_of(b) + g.past_of(b) + t) * D;
      std::memcpy(k_row(b) + at, x, size_t(D) * 4);
      std::memcpy(v_row(b) + at, v + (r * Nkv + j) * D, size_t(D) * 4);
    }
  });
  // Attention: query (b, head j, t) sees keys 0 .. past + t of kv head j / groups that are visible. A task
  // takes every query head of one kv head, so that its keys and values are read from memory once.
  const int64_t tblock = 8;
  const int64_t tblocks = (T + tblock - 1) / tblock;
  auto attend_task = [&](int64_t task, int thread) {
    const int64_t tb = task % tblocks, kvh = (task / tblocks) % Nkv, b = task / (tblocks * Nkv);
    const float* K = k_row(b) + kvh * g.cap_of(b) * D;
    const float* V = v_row(b) + kvh * g.cap_of(b) * D;
    const int64_t past_b = g.past_of(b);
    const uint8_t* vis = g.visible.empty() ? nullptr : g.visible.data() + b * total;
    for (int64_t t = tb * tblock; t < std::min(T, (tb + 1) * tblock); ++t)
      for (int64_t j = kvh * groups; j < (kvh + 1) * groups; ++j) {
        const int64_t r = b * T + t;
        ops.attend(q + (r * Nq + j) * D, K, V, past_b + t + 1, D, g.scale, vis, g.scratch[size_t(thread)].data(),
                   o + (r * Nq + j) * D);
      }
  };
  const int64_t att_tasks = g.B * Nkv * tblocks;
  if (att_tasks * groups * total * D < (int64_t(1) << 15)) {
    for (int64_t t = 0; t < att_tasks; ++t) attend_task(t, 0);
  } else {
    kernels::thread_pool().run(att_tasks, attend_task);
  }
  nn::project(o, g.M, l.o_proj, g.out.data());
}

void build_residual_norm(Qwen3Graph& g, const at::Tensor& weight) {
  const auto w = floats_of(weight);
  const int64_t H = g.c.hidden_size;
  for_rows(g.M, H, [&](int64_t r) {
    g.ops.add(g.h.data() + r * H, g.out.data() + r * H, H);
    g.ops.rms_norm(g.h.data() + r * H, w.data(), H, g.eps, g.a.data() + r * H);
  });
}

void build_ffn(Qwen3Graph& g, const Qwen3Layer& l) {
  const int64_t I = g.c.intermediate_size;
  nn::project_many(g.a.data(), g.M, {{&l.gate_proj, g.gate.data()}, {&l.up_proj, g.up.data()}});
  for_rows(g.M, I, [&](int64_t r) { g.ops.silu_mul(g.gate.data() + r * I, g.up.data() + r * I, I); });
  nn::project(g.gate.data(), g.M, l.down_proj, g.out.data());
}

void build_residual(Qwen3Graph& g) {
  const int64_t H = g.c.hidden_size;
  for_rows(g.M, H, [&](int64_t r) { g.ops.add(g.h.data() + r * H, g.out.data() + r * H, H); });
}

at::Tensor build_logits(Qwen3Graph& g, const Qwen3Model& model, bool last_only) {
  const int64_t H = g.c.hidden_size, T = g.T;
  const int64_t Tout = last_only ? 1 : T, Mout = g.B * Tout;
  const auto norm_w = floats_of(model.norm);
  for (int64_t r = 0; r < Mout; ++r) {
    const int64_t src = last_only ? r * T + T - 1 : r;
    g.ops.rms_norm(g.h.data() + src * H, norm_w.data(), H, g.eps, g.a.data() + r * H);
  }
  auto logits = at::empty({g.B, Tout, g.c.vocab_size}, at::kFloat);
  nn::project(g.a.data(), Mout, model.lm_head, logits.data_ptr<float>());
  return logits;
}

}  // namespace bmx::detail
