#include "bmx/core/llm/generation.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "bmx/core/llm/qwen3.h"
#include "bmx/core/llm/testing.h"
#include "bmx/core/util/error.h"

namespace bmx {

GenerationOptions default_generation_options(const Qwen3Model& model) {
  const auto& g = model.generation;
  GenerationOptions o;
  if (g.do_sample) {
    o.sampling.temperature = g.temperature;
    o.sampling.top_k = g.top_k;
    o.sampling.top_p = g.top_p;
    o.sampling.min_p = g.min_p;
  }
  o.sampling.repetition_penalty = g.repetition_penalty;
  if (g.max_new_tokens > 0) o.max_new_tokens = g.max_new_tokens;
  o.eos_token_ids = g.eos_token_ids;
  if (g.pad_token_id >= 0) o.pad_token_id = g.pad_token_id;
  return o;
}

const char* to_string(FinishReason r) {
  switch (r) {
    case FinishReason::eos: return "eos";
    case FinishReason::stop_string: return "stop_string";
    case FinishReason::max_new_tokens: return "max_new_tokens";
    case FinishReason::context_limit: return "context_limit";
  }
  return "?";
}

namespace {

// use_cache false: the whole sequence again each step (testing::generate_without_cache).
std::vector<Generation> generate_rows(const Qwen3Model& model, const std::vector<std::vector<TokenId>>& prompts,
                                      const GenerationOptions& o, const TokenCallback& on_token, bool use_cache) {
  const int64_t B = int64_t(prompts.size());
  std::vector<Generation> out(prompts.size());
  if (B == 0) return out;
  const int64_t V = model.config.vocab_size;
  const int64_t ctx = o.context_length > 0 ? o.context_length : model.config.max_position_embeddings;
  int64_t maxlen = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[size_t(b)];
    const std::string what = B > 1 ? "prompt " + std::to_string(b + 1) : "prompt";
    if (p.empty()) throw InputError(what + " is empty: give at least one token");
    for (TokenId id : p)
      if (id < 0 || id >= V)
        throw InputError(what + ": token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                         std::to_string(V - 1) + ")");
    if (int64_t(p.size()) >= ctx)
      throw InputError(what + " has " + std::to_string(p.size()) + " tokens, which leaves no room in the context of " +
                       std::to_string(ctx) + " tokens (max_position_embeddings of config.json)");
    maxlen = std::max<int64_t>(maxlen, int64_t(p.size()));
  }
  const int64_t budget = std::max<int64_t>(o.max_new_tokens, 0);
  if (budget == 0) return out;
  int64_t steps = 0;  // most new tokens any row can get
  for (auto& p : prompts) steps = std::max(steps, std::min(budget, ctx - int64_t(p.size())));

  // Left padding; positions from the mask so each real token keeps its unpadded position.
  auto ids = at::full({B, maxlen}, o.pad_token_id, at::kLong);
  auto mask = at::zeros({B, maxlen}, at::kLong);
  bool padded = false;
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[size_t(b)];
    const int64_t off = maxlen - int64_t(p.size());
    padded |= off > 0;
    ids[b].narrow(0, off, int64_t(p.size())).copy_(at::tensor(p, at::kLong));
    mask[b].narrow(0, off, int64_t(p.size())).fill_(1);
  }
  auto positions = positions_from_mask(mask);
  KVCache cache;
  if (use_cache) cache = make_kv_cache(model.config, B, maxlen + steps);
  auto logits = qwen3_forward(model, ids, positions, padded ? mask : at::Tensor(), use_cache ? &cache : nullptr,
                              /*last_only=*/true);

  std::vector<std::vector<TokenId>> history(prompts.begin(), prompts.end());
  std::vector<char> done(size_t(B), 0);
  std::vector<std::unique_ptr<TokenConstraint>> rules(static_cast<size_t>(B));
  if (o.constraint)
    for (int64_t b = 0; b < B; ++b) rules[size_t(b)] = o.constraint(size_t(b));
  std::mt19937_64 rng(o.seed);
  const int64_t limit = o.vocab_limit > 0 ? std::min(o.vocab_limit, V) : V;
  auto last_pos = positions.select(1, maxlen - 1).clone();
  for (int64_t step = 0;; ++step) {
    auto scores_all = logits.select(1, 0).to(at::kFloat).contiguous();  // [B, V]
    const float* sp = scores_all.data_ptr<float>();
    // Broken weights (the large matrices are not scanned at load) are refused here rather than sampled as token 0
    // forever. A NaN or inf anywhere in a layer's matrices turns the whole hidden state non-finite, and every row
    // of the LM head enters the logits: the first step's logits, checked in full (one pass over B x V floats,
    // once), cover every weight but the embedding rows of tokens not yet seen. Such a row, fed later, makes the
    // hidden state and so every logit NaN: one logit per row and step finds it, at no measurable cost.
    for (int64_t b = 0; b < B; ++b)
      if (!done[size_t(b)]) check_finite_logits(model, sp + b * V, step == 0 ? V : 1);
    std::vector<TokenId> next(size_t(B), o.pad_token_id);
    for (int64_t b = 0; b < B; ++b) {
      if (done[size_t(b)]) continue;
      auto& g = out[size_t(b)];
      std::vector<float> scores(sp + b * V, sp + b * V + limit);  // padding rows never produced
      TokenConstraint* rule = rules[size_t(b)].get();
      if (rule) rule->mask(scores, std::min(budget - int64_t(g.ids.size()), ctx - int64_t(history[size_t(b)].size())));
      const float top = scores[size_t(argmax(scores))];
      if (!std::isfinite(top)) throw std::logic_error("generate: the constraint allowed no token");
      double sum = 0;  // log-softmax of the chosen token at temperature 1, for ranking samples
      for (float x : scores) sum += std::isfinite(x) ? std::exp(double(x) - top) : 0.0;
      const std::vector<float> raw = scores;
      const TokenId id = sample_token(std::move(scores), history[size_t(b)], o.sampling, rng);
      g.logprobs.push_back(float(double(raw[size_t(id)]) - top - std::log(sum)));
      if (rule) rule->accept(id);
      next[size_t(b)] = id;
      g.ids.push_back(id);
      history[size_t(b)].push_back(id);
      if (on_token) on_token(size_t(b), id);
      const int64_t len = int64_t(prompts[size_t(b)].size() + g.ids.size());
      if (std::find(o.eos_token_ids.begin(), o.eos_token_ids.end(), id) != o.eos_token_ids.end()) {
        g.finish = FinishReason::eos;
      } else if (o.stop && o.stop(size_t(b), g.ids)) {
        g.finish = FinishReason::stop_string;
      } else if (int64_t(g.ids.size()) >= budget) {
        g.finish = FinishReason::max_new_tokens;
      } else if (len >= ctx) {
        g.finish = FinishReason::context_limit;
      } else {
        continue;
      }
      done[size_t(b)] = 1;
    }
    if (std::all_of(done.begin(), done.end(), [](char d) { return d != 0; })) break;
    auto next_ids = at::tensor(next, at::kLong).view({B, 1});
    last_pos = last_pos + 1;
    mask = at::cat({mask, at::ones({B, 1}, at::kLong)}, 1);
    if (use_cache) {
      logits = qwen3_forward(model, next_ids, last_pos.view({B, 1}), padded ? mask : at::Tensor(), &cache, true);
    } else {
      ids = at::cat({ids, next_ids}, 1);
      logits = qwen3_forward(model, ids, positions_from_mask(mask), padded ? mask : at::Tensor(), nullptr, true);
    }
  }
  return out;
}

}  // namespace

std::vector<Generation> generate(const Qwen3Model& model, const std::vector<std::vector<TokenId>>& prompts,
                                 const GenerationOptions& options, const TokenCallback& on_token) {
  return generate_rows(model, prompts, options, on_token, /*use_cache=*/true);
}

std::vector<Generation> testing::generate_without_cache(const Qwen3Model& model,
                                                        const std::vector<std::vector<TokenId>>& prompts,
                                                        const GenerationOptions& options) {
  return generate_rows(model, prompts, options, {}, /*use_cache=*/false);
}

}  // namespace bmx
