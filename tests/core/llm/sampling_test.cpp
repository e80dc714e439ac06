// Logits processors and probabilities against vectors/qwen3/sampling.jsonl (198 cases, 1e-6).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "bmx/core/llm/sampling.h"
#include "shared.h"

using nlohmann::json;

TEST_CASE("sampling: processed logits and probabilities equal the vectors") {
  int n = 0;
  for (auto& line : bmx::test::read_lines(bmx::test::shared_file("vectors/qwen3/sampling.jsonl"))) {
    const auto v = json::parse(line);
    INFO(v["case"].get<std::string>());
    const auto& s = v["settings"];
    bmx::SamplingParams p;
    p.temperature = s["temperature"];
    p.top_k = s["top_k"];
    p.top_p = s["top_p"];
    if (!s["min_p"].is_null()) p.min_p = s["min_p"].get<double>();
    p.repetition_penalty = s["repetition_penalty"];
    if (s.contains("min_tokens_to_keep")) p.min_tokens_to_keep = s["min_tokens_to_keep"];
    CHECK(p.greedy() == v["greedy"].get<bool>());
    const auto logits = v["logits"].get<std::vector<float>>();
    const auto prev = v["previous_ids"].get<std::vector<bmx::TokenId>>();

    auto processed = logits;
    bmx::process_logits(processed, prev, p);
    const auto& ref = v["processed_logits"];
    REQUIRE(processed.size() == ref.size());
    const bool tie_order_sensitive = v["tie_order_sensitive"].get<bool>();
    std::vector<float> kept_values, ref_values;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (std::isfinite(processed[i])) kept_values.push_back(processed[i]);
      if (!ref[i].is_null()) ref_values.push_back(ref[i].get<float>());
      if (tie_order_sensitive) continue;  // which of equal scores a filter drops differs by sort; checked below
      if (ref[i].is_null()) {
        CHECK(processed[i] == -std::numeric_limits<float>::infinity());
      } else {
        CHECK(std::abs(processed[i] - ref[i].get<float>()) <= 1e-6f * std::max(1.0f, std::abs(ref[i].get<float>())));
      }
    }
    // Every case, tied or not: the same number of scores survive, with the same values (as a sorted multiset).
    std::sort(kept_values.begin(), kept_values.end());
    std::sort(ref_values.begin(), ref_values.end());
    REQUIRE(kept_values.size() == ref_values.size());
    for (size_t i = 0; i < ref_values.size(); ++i)
      CHECK(std::abs(kept_values[i] - ref_values[i]) <= 1e-6f * std::max(1.0f, std::abs(ref_values[i])));

    const auto probs = bmx::next_token_probs(logits, prev, p);
    const auto ref_probs = v["probs"].get<std::vector<double>>();
    std::vector<bmx::TokenId> kept;
    for (size_t i = 0; i < probs.size(); ++i) {
      CHECK(std::abs(probs[i] - ref_probs[i]) <= 1e-6);
      if (probs[i] > 0) kept.push_back(bmx::TokenId(i));
    }
    // The file follows the bmx tie rule (stable sort), so kept ids match exactly in every case.
    CHECK(kept == v["kept_ids"].get<std::vector<bmx::TokenId>>());

    // Draws only ever pick kept ids, and greedy draws the argmax.
    std::mt19937_64 rng(n);
    for (int k = 0; k < 20; ++k) {
      const bmx::TokenId id = bmx::sample_token(logits, prev, p, rng);
      CHECK(std::binary_search(kept.begin(), kept.end(), id));
    }
    ++n;
  }
  CHECK(n == 198);
}

TEST_CASE("sampling: draws follow the probabilities and the seed") {
  std::vector<float> logits{0.0f, std::log(3.0f), -std::numeric_limits<float>::infinity(), 0.0f};
  bmx::SamplingParams p;
  p.temperature = 1.0;
  std::mt19937_64 rng(7);
  std::vector<int> count(4, 0);
  for (int i = 0; i < 20000; ++i) ++count[size_t(bmx::sample_token(logits, {}, p, rng))];
  CHECK(count[2] == 0);
  CHECK(std::abs(count[1] / 20000.0 - 0.6) < 0.02);
  CHECK(std::abs(count[0] / 20000.0 - 0.2) < 0.02);
  std::mt19937_64 a(42), b(42);
  for (int i = 0; i < 50; ++i) CHECK(bmx::sample_token(logits, {}, p, a) == bmx::sample_token(logits, {}, p, b));
}
