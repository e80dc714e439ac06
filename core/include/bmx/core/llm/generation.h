// Autoregressive generation with the Qwen3 decoder, on ids: several prompts at once (left padding, positions from
// the mask), prefill then token by token through the KV cache, stop on eos ids, a stop criterion, max_new_tokens
// or the context limit. Text (stop strings, the tokenizer's eos and size) is added by the layer that knows the
// tokenizer: bmx/tokenizers/text_generation.h.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "bmx/core/llm/sampling.h"
#include "bmx/core/llm/token.h"
#include "bmx/core/llm/token_constraint.h"

namespace bmx {

struct Qwen3Model;

// Asked after each new token of a row that did not end with eos: true ends the row (FinishReason::stop_string).
// `new_ids` are the row's new tokens so far, the last one included (transformers' StoppingCriteria).
using StopCriterion = std::function<bool(size_t row, const std::vector<TokenId>& new_ids)>;

struct GenerationOptions {
  SamplingParams sampling;               // temperature 0 = greedy
  int64_t max_new_tokens = 256;
  std::vector<TokenId> eos_token_ids;    // any ends a row (the eos token is part of the output)
  TokenId pad_token_id = 0;              // left padding of shorter prompts
  StopCriterion stop;                    // empty: none
  int64_t context_length = 0;            // 0: the model's max_position_embeddings
  int64_t vocab_limit = 0;               // ids >= this are never produced (padding rows); 0: all V
  uint64_t seed = 0;
  ConstraintFactory constraint;          // empty: unconstrained; else one rule per row, applied before sampling
};

// The options generation_config.json asks for (core/llm/model_config.h), before command-line overrides. With the
// model's tokenizer, bmx::text_generation_options adds its eos id and vocabulary limit to these.
GenerationOptions default_generation_options(const Qwen3Model& model);

enum class FinishReason { eos, stop_string, max_new_tokens, context_limit };
const char* to_string(FinishReason r);

struct Generation {
  std::vector<TokenId> ids;     // new tokens only
  std::vector<float> logprobs;  // per new token: its log-probability under the model (temperature 1, after the constraint)
  FinishReason finish = FinishReason::max_new_tokens;
};

// Called for each new token of each row as soon as it is chosen (streaming).
using TokenCallback = std::function<void(size_t row, TokenId id)>;

// Generates a continuation of every prompt. A prompt that does not leave room for one new token in the
// context throws InputError; rows reaching the context limit finish with FinishReason::context_limit.
std::vector<Generation> generate(const Qwen3Model& model, const std::vector<std::vector<TokenId>>& prompts,
                                 const GenerationOptions& options, const TokenCallback& on_token = {});

}  // namespace bmx
