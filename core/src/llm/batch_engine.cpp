#include "bmx/core/llm/batch_engine.h"

#include <ATen/ATen.h>
#if defined(__GLIBC__)
#include <malloc.h>  // malloc_trim
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>

#include "bmx/core/llm/qwen3.h"
#include "bmx/core/util/error.h"
#include "qwen3_graph.h"

namespace bmx {

at::Tensor qwen3_forward_rows(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                              const std::vector<KVCache*>& caches, bool last_only) {
  detail::Qwen3Graph g(model, ids, positions, {}, nullptr, caches);  // h = embed(ids)
  for (size_t il = 0; il < model.layers.size(); ++il) {              // the layers of qwen3_forward
    const Qwen3Layer& l = model.layers[il];
    detail::build_norm(g, l.input_norm);
    detail::build_attn(g, l, il);
    detail::build_residual_norm(g, l.post_attention_norm);
    detail::build_ffn(g, l);
    detail::build_residual(g);
  }
  for (KVCache* c : caches) c->length += g.T;
  return detail::build_logits(g, model, last_only);
}

struct BatchEngine::Slot {
  KVCache cache;  // batch 1, capacity slot_context; memory committed only as it fills
  bool active = false;
  uint64_t id = 0;
  BatchRequest request;
  int64_t prefilled = 0;         // prompt tokens in the cache
  std::vector<TokenId> history;  // prompt and new tokens (repetition penalty)
  Generation generation;
  std::unique_ptr<TokenConstraint> rule;
  std::mt19937_64 rng;
  TokenId next = -1;  // chosen and not yet in the cache
};

namespace {

// A server that has gone idle gives back to the system what glibc keeps of the memory its requests freed (logits,
// sampling buffers, responses: glibc returns little of a heap or of a thread's arena by itself), so that its
// resident memory returns to its idle level. After this long idle: a busy server does not trim between requests.
constexpr std::chrono::milliseconds kIdleTrimDelay{200};

void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

KVCache slot_cache(const Qwen3Config& c, int64_t capacity) {
  KVCache cache;  // at::empty: a slot's pages are committed as its sequence grows, not for the whole context
  for (int64_t i = 0; i < c.num_layers; ++i) {
    cache.k.push_back(at::empty({1, c.num_kv_heads, capacity, c.head_dim}, at::kFloat));
    cache.v.push_back(at::empty({1, c.num_kv_heads, capacity, c.head_dim}, at::kFloat));
  }
  return cache;
}

}  // namespace

BatchEngine::BatchEngine(const Qwen3Model& model, const BatchEngineOptions& options) : model_(model), options_(options) {
  if (options_.slots < 1) throw InputError("--parallel must be at least 1");
  if (options_.slot_context < 2) throw InputError("the context of a slot must hold at least 2 tokens");
  options_.prefill_chunk = std::max<int64_t>(options_.prefill_chunk, 1);
  for (int i = 0; i < options_.slots; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->cache = slot_cache(model.config, options_.slot_context);
  }
  stats_.slots = options_.slots;
  thread_ = std::thread([this] { run(); });
}

BatchEngine::~BatchEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t BatchEngine::submit(BatchRequest request) {
  const int64_t V = model_.config.vocab_size, ctx = options_.slot_context;
  if (request.prompt.empty()) throw InputError("the prompt is empty: give at least one token");
  for (TokenId id : request.prompt)
    if (id < 0 || id >= V)
      throw InputError("token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");
  if (int64_t(request.prompt.size()) >= ctx)
    throw InputError("the prompt has " + std::to_string(request.prompt.size()) +
                     " tokens, which leaves no room in the context of " + std::to_string(ctx) + " tokens per slot");
  std::lock_guard<std::mutex> lock(mutex_);
  if (int64_t(queue_.size()) + stats_.busy_slots >= int64_t(options_.slots) + options_.max_queue) return 0;
  const uint64_t id = next_id_++;
  queue_.push_back({id, std::move(request)});
  stats_.queued = int(queue_.size());
  wake_.notify_all();
  return id;
}

void BatchEngine::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_.push_back(id);
  wake_.notify_all();
}

BatchStats BatchEngine::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void BatchEngine::run() {
  bool ran = false;  // since the heap was last trimmed
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const auto work = [&] { return stop_ || !queue_.empty() || !cancelled_.empty() || stats_.busy_slots > 0; };
      if (ran && !wake_.wait_for(lock, kIdleTrimDelay, work)) {
        lock.unlock();
        release_free_heap();
        ran = false;
        continue;
      }
      wake_.wait(lock, work);
      if (stop_) break;
    }
    ran = step() || ran;
  }
  // Shutting down: every request still here ends as cancelled.
  Generation none;
  for (auto& s : slots_)
    if (s->active && s->request.on_done) s->request.on_done(s->generation, "cancelled");
  for (auto& p : queue_)
    if (p.request.on_done) p.request.on_done(none, "cancelled");
}

bool BatchEngine::step() {
  // Cancellations and admissions under the lock; callbacks outside it.
  std::vector<Pending> dropped;
  std::vector<Slot*> freed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (uint64_t id : cancelled_) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if (it->id == id) {
          dropped.push_back(std::move(*it));
          queue_.erase(it);
          break;
        }
      for (auto& s : slots_)
        if (s->active && s->id == id) freed.push_back(s.get());
    }
    cancelled_.clear();
    stats_.cancelled += dropped.size() + freed.size();
    stats_.requests += dropped.size() + freed.size();
  }
  const Generation none;
  for (auto& p : dropped)
    if (p.request.on_done) p.request.on_done(none, "cancelled");
  for (Slot* s : freed) {  // the slot is free before the client hears of it (it may submit again at once)
    auto on_done = std::move(s->request.on_done);
    s->request = {};
    s->rule.reset();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s->active = false;
      --stats_.busy_slots;
    }
    if (on_done) on_done(s->generation, "cancelled");
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& s : slots_) {
      if (s->active || queue_.empty()) continue;
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      s->active = true;
      s->id = p.id;
      s->request = std::move(p.request);
      s->prefilled = 0;
      s->cache.length = 0;
      s->history = s->request.prompt;
      s->generation = Generation{};
      s->rule = s->request.options.constraint ? s->request.options.constraint(0) : nullptr;
      s->rng.seed(s->request.options.seed);
      s->next = -1;
      ++stats_.busy_slots;
    }
    stats_.queued = int(queue_.size());
  }

  const int64_t V = model_.config.vocab_size, ctx = options_.slot_context;
  auto finish = [&](Slot& s, const std::string& error) {  // the slot is free before the client hears of it
    auto on_done = std::move(s.request.on_done);
    s.request = {};
    s.rule.reset();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s.active = false;
      --stats_.busy_slots;
      ++stats_.requests;
      stats_.generated_tokens += s.generation.ids.size();
    }
    if (on_done) on_done(s.generation, error);
  };
  // The next token of slot s from its last-position logits (generate()'s per-row rule, with the slot's generator).
  auto choose = [&](Slot& s, const float* logits) {
    const GenerationOptions& o = s.request.options;
    auto& g = s.generation;
    check_finite_logits(model_, logits, g.ids.empty() ? V : 1);
    const int64_t limit = o.vocab_limit > 0 ? std::min(o.vocab_limit, V) : V;
    const int64_t budget = std::max<int64_t>(o.max_new_tokens, 0);
    std::vector<float> scores(logits, logits + limit);
    if (s.rule) s.rule->mask(scores, std::min(budget - int64_t(g.ids.size()), ctx - int64_t(s.history.size())));
    const float top = scores[size_t(argmax(scores))];
    if (!std::isfinite(top)) throw std::logic_error("batch engine: the constraint allowed no token");
    double sum = 0;
    for (float x : scores) sum += std::isfinite(x) ? std::exp(double(x) - top) : 0.0;
    const std::vector<float> raw = scores;
    const TokenId id = sample_token(std::move(scores), s.history, o.sampling, s.rng);
    g.logprobs.push_back(float(double(raw[size_t(id)]) - top - std::log(sum)));
    if (s.rule) s.rule->accept(id);
    g.ids.push_back(id);
    s.history.push_back(id);
    if (s.request.on_token) s.request.on_token(id);
    if (std::find(o.eos_token_ids.begin(), o.eos_token_ids.end(), id) != o.eos_token_ids.end()) {
      g.finish = FinishReason::eos;
    } else if (o.stop && o.stop(0, g.ids)) {
      g.finish = FinishReason::stop_string;
    } else if (int64_t(g.ids.size()) >= budget) {
      g.finish = FinishReason::max_new_tokens;
    } else if (int64_t(s.history.size()) >= ctx) {
      g.finish = FinishReason::context_limit;
    } else {
      s.next = id;
      return;
    }
    finish(s, "");
  };

  bool ran = false;
  const auto t0 = std::chrono::steady_clock::now();
  // Decode: every slot with a token to feed, one forward.
  std::vector<Slot*> rows;
  for (auto& s : slots_)
    if (s->active && s->next >= 0) rows.push_back(s.get());
  if (!rows.empty()) {
    ran = true;
    const int64_t B = int64_t(rows.size());
    auto ids = at::empty({B, 1}, at::kLong), pos = at::empty({B, 1}, at::kLong);
    std::vector<KVCache*> caches;
    int64_t* idp = ids.data_ptr<int64_t>();
    int64_t* posp = pos.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) {
      idp[b] = int64_t(rows[size_t(b)]->next);
      posp[b] = rows[size_t(b)]->cache.length;
      caches.push_back(&rows[size_t(b)]->cache);
      rows[size_t(b)]->next = -1;
    }
    try {
      auto logits = qwen3_forward_rows(model_, ids, pos, caches, true).contiguous();
      const float* lp = logits.data_ptr<float>();
      for (int64_t b = 0; b < B; ++b) {
        Slot& s = *rows[size_t(b)];
        try {
          choose(s, lp + b * V);
        } catch (const std::exception& e) {
          finish(s, e.what());
        }
      }
    } catch (const std::exception& e) {
      for (Slot* s : rows) finish(*s, e.what());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.decode_steps;
    stats_.decode_seconds += seconds_since(t0);
  }
  // Prefill: one chunk of the earliest admitted slot still reading its prompt.
  Slot* p = nullptr;
  for (auto& s : slots_)
    if (s->active && s->prefilled < int64_t(s->request.prompt.size()) && (!p || s->id < p->id)) p = s.get();
  if (p) {
    ran = true;
    const auto& prompt = p->request.prompt;
    const int64_t n = std::min<int64_t>(options_.prefill_chunk, int64_t(prompt.size()) - p->prefilled);
    auto ids = at::empty({1, n}, at::kLong);
    auto pos = at::arange(p->prefilled, p->prefilled + n, at::kLong).view({1, n});
    std::copy(prompt.begin() + p->prefilled, prompt.begin() + p->prefilled + n, ids.data_ptr<int64_t>());
    try {
      auto logits = qwen3_forward_rows(model_, ids, pos, {&p->cache}, true).contiguous();
      p->prefilled += n;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.prompt_tokens += uint64_t(n);
      }
      if (p->prefilled == int64_t(prompt.size())) {
        if (p->request.options.max_new_tokens <= 0) {
          finish(*p, "");
        } else {
          choose(*p, logits.data_ptr<float>());
        }
      }
    } catch (const std::exception& e) {
      finish(*p, e.what());
    }
  }
  if (ran) {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.busy_seconds += seconds_since(t0);
  }
  return ran;
}

}  // namespace bmx
