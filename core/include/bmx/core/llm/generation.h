// Autoregressive generation with the Qwen3 decoder: several prompts at once (left padding, positions from
// the mask), prefill then token by token through the KV cache, stop on eos ids, stop strings,
// max_new_tokens or the context limit.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bmx/core/llm/sampling.h"
#include "bmx/core/llm/token_constraint.h"

namespace bmx {

struct Qwen3Model;
struct GenerationConfig;

struct GenerationOptions {
  SamplingParams sampling;               // temperature 0 = greedy
  int64_t max_new_tokens = 256;
  std::vector<int64_t> eos_token_ids;    // any ends a row (the eos token is part of the output)
  int64_t pad_token_id = 0;              // left padding of shorter prompts
  std::vector<std::string> stop_strings; // need `decode`
  std::function<std::string(const std::vector<int64_t>&)> decode;  // ids -> text, for stop strings
  int64_t context_length = 0;            // 0: the model's max_position_embeddings
  int64_t vocab_limit = 0;               // ids >= this are never produced (padding rows); 0: all V
  uint64_t seed = 0;
  bool use_cache = true;                 // false: recompute the whole sequence each step (for tests)
  ConstraintFactory constraint;          // empty: unconstrained; else one rule per row, applied before sampling
};

// The options a model folder asks for (generation_config.json, tokenizer size), before command-line overrides.
GenerationOptions default_generation_options(const Qwen3Model& model);

enum class FinishReason { eos, stop_string, max_new_tokens, context_limit };
const char* to_string(FinishReason r);

struct Generation {
  std::vector<int64_t> ids;  // new tokens only
  std::vector<float> logprobs;  // per new token: its log-probability under the model (temperature 1, after the constraint)
  FinishReason finish = FinishReason::max_new_tokens;
};

// Called for each new token of each row as soon as it is chosen (streaming).
using TokenCallback = std::function<void(size_t row, int64_t id)>;

// Generates a continuation of every prompt. A prompt that does not leave room for one new token in the
// context throws InputError; rows reaching the context limit finish with FinishReason::context_limit.
std::vector<Generation> generate(const Qwen3Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerationOptions& options, const TokenCallback& on_token = {});

}  // namespace bmx
