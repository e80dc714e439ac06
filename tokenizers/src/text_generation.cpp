#include "bmx/tokenizers/text_generation.h"

#include <algorithm>
#include <filesystem>

#include "bmx/core/llm/qwen3.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "tokenizer_json.h"

namespace bmx {

std::vector<TokenId> eos_token_ids(const Qwen3Model& model, const Tokenizer& tok) {
  std::vector<TokenId> ids = model.generation.eos_token_ids;
  if (const auto eos = tok.eos_id(); eos && std::find(ids.begin(), ids.end(), *eos) == ids.end()) ids.push_back(*eos);
  return ids;
}

int64_t vocab_limit(const Qwen3Model& model, const Tokenizer& tok) {
  return std::min<int64_t>(tok.vocab_size(), model.config.vocab_size);
}

int64_t tokenizer_size(const std::string& model_dir) {
  const auto path = std::filesystem::path(model_dir) / "tokenizer.json";
  return std::filesystem::exists(path) ? scan_tokenizer_size(path.string()) : 0;
}

GenerationOptions text_generation_options(const Qwen3Model& model, const Tokenizer& tok) {
  GenerationOptions o = default_generation_options(model);
  o.eos_token_ids = eos_token_ids(model, tok);
  // Padding is the first eos id when generation_config.json names no pad (transformers' generate()); when only
  // the tokenizer names an eos, that is the first.
  if (model.generation.pad_token_id < 0 && !o.eos_token_ids.empty()) o.pad_token_id = o.eos_token_ids.front();
  o.vocab_limit = vocab_limit(model, tok);
  return o;
}

StopCriterion stop_at_strings(std::vector<std::string> stops, Detokenize detokenize) {
  stops.erase(std::remove(stops.begin(), stops.end(), std::string()), stops.end());
  if (stops.empty()) return {};
  size_t longest = 0;
  for (auto& s : stops) longest = std::max(longest, s.size());
  return [stops = std::move(stops), longest, detokenize = std::move(detokenize)](size_t,
                                                                                 const std::vector<TokenId>& ids) {
    // Every token decodes to at least one byte, so the last longest+2 tokens hold any stop string that ends
    // the text (the extra ones absorb a multi-byte character split at the start of the tail).
    const size_t n = std::min(ids.size(), longest + 2);
    const std::string tail = detokenize(std::vector<TokenId>(ids.end() - long(n), ids.end()));
    for (auto& s : stops)
      if (tail.size() >= s.size() && tail.compare(tail.size() - s.size(), s.size(), s) == 0) return true;
    return false;
  };
}

StopCriterion stop_at_strings(std::vector<std::string> stops, const Tokenizer& tok) {
  return stop_at_strings(std::move(stops), [&tok](const std::vector<TokenId>& ids) { return tok.decode(ids); });
}

}  // namespace bmx
