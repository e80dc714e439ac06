#include "bmx/core/llm/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

namespace bmx {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

void apply_repetition_penalty(std::vector<float>& scores, const std::vector<TokenId>& previous, double penalty) {
  if (penalty == 1.0) return;
  const float pen = float(penalty);
  std::unordered_set<TokenId> seen;
  for (TokenId id : previous) {
    if (id < 0 || id >= int64_t(scores.size()) || !seen.insert(id).second) continue;
    float& s = scores[size_t(id)];
    s = s < 0 ? s * pen : s / pen;
  }
}

void apply_temperature(std::vector<float>& scores, double temperature) {
  if (temperature == 1.0) return;
  const float t = float(temperature);
  for (float& s : scores) s = s / t;
}

void apply_top_k(std::vector<float>& scores, int64_t top_k, int64_t min_tokens_to_keep) {
  if (top_k <= 0) return;
  const size_t k = size_t(std::min<int64_t>(std::max(top_k, min_tokens_to_keep), int64_t(scores.size())));
  if (k == 0 || k >= scores.size()) return;
  std::vector<float> sorted = scores;
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float thr = sorted[k - 1];
  for (float& s : scores)
    if (s < thr) s = kNegInf;
}

void apply_top_p(std::vector<float>& scores, double top_p, int64_t min_tokens_to_keep) {
  if (top_p >= 1.0) return;
  // Only the candidates left by earlier filters: -inf scores sort first with probability exactly 0, so they add
  // nothing to the cumulative sum and dropping them changes no bit (top-k usually leaves a few dozen of ~150k).
  std::vector<size_t> order;
  for (size_t i = 0; i < scores.size(); ++i)
    if (scores[i] != kNegInf) order.push_back(i);
  const size_t n = order.size();
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  std::vector<float> sorted(n);
  for (size_t i = 0; i < n; ++i) sorted[i] = scores[order[i]];
  const auto probs = softmax(sorted);
  const float cut = float(1.0 - top_p);
  const size_t keep_from = n > size_t(min_tokens_to_keep) ? n - size_t(min_tokens_to_keep) : 0;
  double cum = 0;  // torch's CPU cumsum accumulates float in double
  for (size_t i = 0; i < n; ++i) {
    cum += probs[i];
    if (float(cum) <= cut && i < keep_from) scores[order[i]] = kNegInf;
  }
}

void apply_min_p(std::vector<float>& scores, double min_p, int64_t min_tokens_to_keep) {
  if (min_p <= 0) return;  // no probability is below 0 (Qwen3's generation_config sets min_p = 0)
  const auto probs = softmax(scores);
  const float top = *std::max_element(probs.begin(), probs.end());
  const float thr = float(min_p) * top;
  // The min_tokens_to_keep most probable tokens stay (stable descending order).
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t keep = std::min(scores.size(), size_t(std::max<int64_t>(min_tokens_to_keep, 0)));
  std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                    [&](size_t a, size_t b) { return probs[a] > probs[b] || (probs[a] == probs[b] && a < b); });
  std::vector<char> protect(scores.size(), 0);
  for (size_t i = 0; i < keep; ++i) protect[order[i]] = 1;
  for (size_t i = 0; i < scores.size(); ++i)
    if (probs[i] < thr && !protect[i]) scores[i] = kNegInf;
}

void process_logits(std::vector<float>& scores, const std::vector<TokenId>& previous, const SamplingParams& p) {
  apply_repetition_penalty(scores, previous, p.repetition_penalty);
  if (p.greedy()) return;
  apply_temperature(scores, p.temperature);
  apply_top_k(scores, p.top_k, p.min_tokens_to_keep);
  apply_top_p(scores, p.top_p, p.min_tokens_to_keep);
  if (p.min_p) apply_min_p(scores, *p.min_p, p.min_tokens_to_keep);
}

std::vector<float> softmax(const std::vector<float>& scores) {
  std::vector<float> out(scores.size(), 0.0f);
  if (scores.empty()) return out;
  const float mx = *std::max_element(scores.begin(), scores.end());
  if (mx == kNegInf) return out;
  double sum = 0;  // -inf entries (filtered out) are exactly 0 and skipped: most of the vocabulary after top-k
  std::vector<double> e(scores.size(), 0.0);
  for (size_t i = 0; i < scores.size(); ++i)
    if (scores[i] != kNegInf) sum += e[i] = std::exp(double(scores[i]) - double(mx));
  for (size_t i = 0; i < scores.size(); ++i)
    if (e[i] != 0.0) out[i] = float(e[i] / sum);
  return out;
}

TokenId argmax(const std::vector<float>& scores) {
  return TokenId(std::max_element(scores.begin(), scores.end()) - scores.begin());  // first maximum
}

std::vector<float> next_token_probs(std::vector<float> scores, const std::vector<TokenId>& previous,
                                    const SamplingParams& p) {
  process_logits(scores, previous, p);
  if (!p.greedy()) return softmax(scores);
  std::vector<float> one_hot(scores.size(), 0.0f);
  if (!scores.empty()) one_hot[size_t(argmax(scores))] = 1.0f;
  return one_hot;
}

TokenId sample_token(std::vector<float> scores, const std::vector<TokenId>& previous, const SamplingParams& p,
                     std::mt19937_64& rng) {
  process_logits(scores, previous, p);
  if (p.greedy()) return argmax(scores);
  const auto probs = softmax(scores);
  double total = 0;
  for (float q : probs) total += q;
  const double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  double cum = 0;
  TokenId last = -1;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0) continue;
    last = TokenId(i);
    cum += probs[i];
    if (u < cum) return last;
  }
  return last >= 0 ? last : argmax(scores);
}

}  // namespace bmx
