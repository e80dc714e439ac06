// From last-position logits to the next token, in transformers' processor order (specs/qwen3_runtime.md §5):
// repetition penalty -> temperature -> top-k -> top-p -> min-p -> softmax -> draw. Temperature <= 0 means
// greedy: repetition penalty, then argmax (lowest id on ties), the filters ignored.
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "bmx/core/llm/token.h"

namespace bmx {

struct SamplingParams {
  double temperature = 0.0;           // <= 0: greedy
  int64_t top_k = 0;                  // 0: off
  double top_p = 1.0;                 // 1: off
  std::optional<double> min_p;        // nullopt: off (0 is enabled and removes nothing)
  double repetition_penalty = 1.0;    // 1: off
  int64_t min_tokens_to_keep = 1;
  bool greedy() const { return temperature <= 0.0; }
};

// Each distinct id of `previous` once: negative scores times penalty, others divided by it.
void apply_repetition_penalty(std::vector<float>& scores, const std::vector<TokenId>& previous, double penalty);
void apply_temperature(std::vector<float>& scores, double temperature);
// Scores strictly below the k-th largest become -inf (ties with it are kept).
void apply_top_k(std::vector<float>& scores, int64_t top_k, int64_t min_tokens_to_keep = 1);
// Removes the low tail whose cumulative probability is <= 1 - top_p (stable ascending sort: among equal
// scores the lower id is removed first).
void apply_top_p(std::vector<float>& scores, double top_p, int64_t min_tokens_to_keep = 1);
// Removes tokens with probability < min_p * max probability.
void apply_min_p(std::vector<float>& scores, double min_p, int64_t min_tokens_to_keep = 1);

// All enabled processors in order, in place. In greedy mode only the repetition penalty.
void process_logits(std::vector<float>& scores, const std::vector<TokenId>& previous, const SamplingParams& p);

// softmax (float32 result; -inf -> 0).
std::vector<float> softmax(const std::vector<float>& scores);
// The token with the highest score (the first on ties, as torch.argmax).
TokenId argmax(const std::vector<float>& scores);
// The probabilities the next token is drawn from (one-hot at the argmax when greedy).
std::vector<float> next_token_probs(std::vector<float> scores, const std::vector<TokenId>& previous,
                                    const SamplingParams& p);

// Picks the next token: argmax when greedy, else a draw from next_token_probs with `rng`.
TokenId sample_token(std::vector<float> scores, const std::vector<TokenId>& previous, const SamplingParams& p,
                     std::mt19937_64& rng);

}  // namespace bmx
