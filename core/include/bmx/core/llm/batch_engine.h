// Continuous batching (what llama-server calls slots, vLLM a running batch): up to `slots` sequences decode
// together, one batched forward per step, so the weights are read once for all of them. A request that arrives
// joins at the next step; a new request's prompt is prefilled in chunks between decode steps, so running streams
// keep flowing. Every slot has its own KV cache (its own length and positions) and its own random generator seeded
// from its request: a request's tokens do not depend on what else is running. Once idle (200 ms without work) it
// returns the heap's free memory to the system (malloc_trim), so that a server's memory falls back to its idle level.
//
// Thread model: one engine thread runs every forward; submit() and cancel() may be called from any thread, and
// the callbacks run on the engine thread (they must be quick: hand the token over to the client's thread).
#pragma once
#include <ATen/core/Tensor.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bmx/core/llm/generation.h"
#include "bmx/core/llm/kv_cache.h"

namespace bmx {

struct Qwen3Model;

// qwen3_forward where batch row b has its own KV cache of batch 1 (`caches[b]`, each filled to its own length;
// the T new tokens of every row are appended to its cache). ids, positions: int64 [B, T]. Returns float32 logits
// [B, T, V], or [B, 1, V] when last_only.
at::Tensor qwen3_forward_rows(const Qwen3Model& model, const at::Tensor& ids, const at::Tensor& positions,
                              const std::vector<KVCache*>& caches, bool last_only = true);

struct BatchEngineOptions {
  int slots = 4;                // sequences decoded together (--parallel)
  int64_t slot_context = 4096;  // tokens per slot, prompt included (the slot's KV cache capacity)
  int max_queue = 64;           // requests waiting for a slot beyond this are refused (submit returns 0)
  int64_t prefill_chunk = 256;  // prompt tokens prefilled between two decode steps
};

// One request: `options` as for generate() (its constraint and stop criterion are asked with row 0; its
// context_length is ignored: the slot's is the limit).
struct BatchRequest {
  std::vector<TokenId> prompt;
  GenerationOptions options;
  // Each new token as soon as it is chosen.
  std::function<void(TokenId)> on_token;
  // Once, at the end: the generation, or `error` (one line) when the request failed.
  std::function<void(const Generation&, const std::string& error)> on_done;
};

struct BatchStats {
  uint64_t requests = 0;        // finished (completed, cancelled or failed)
  uint64_t cancelled = 0;
  uint64_t prompt_tokens = 0;   // prefilled
  uint64_t generated_tokens = 0;
  uint64_t decode_steps = 0;    // batched forwards of the decode phase
  double busy_seconds = 0;      // time spent in forwards and sampling
  double decode_seconds = 0;    // of which decode steps
  int queued = 0, busy_slots = 0, slots = 0;
};

class BatchEngine {
 public:
  // Starts the engine thread. The model must outlive the engine.
  BatchEngine(const Qwen3Model& model, const BatchEngineOptions& options);
  ~BatchEngine();  // cancels what runs and waits for the thread
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  // Queues a request; returns its id, or 0 when the queue is full (nothing is called then). Throws InputError
  // when the prompt is empty, has an id outside the vocabulary or leaves no room in a slot's context.
  uint64_t submit(BatchRequest request);
  // Frees the request's slot (or drops it from the queue) before the next step; on_done is called with
  // error "cancelled". Unknown or finished ids are ignored.
  void cancel(uint64_t id);
  BatchStats stats() const;
  const BatchEngineOptions& options() const { return options_; }

 private:
  struct Slot;
  struct Pending {
    uint64_t id;
    BatchRequest request;
  };
  void run();
  bool step();  // one decode step and one prefill chunk; false when nothing ran

  const Qwen3Model& model_;
  BatchEngineOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::vector<uint64_t> cancelled_;
  std::vector<std::unique_ptr<Slot>> slots_;
  BatchStats stats_;
  uint64_t next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace bmx
