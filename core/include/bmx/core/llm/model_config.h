// What a Hugging Face model folder says about a Qwen3 decoder: config.json (the network) and
// generation_config.json (how to generate). See specs/qwen3_runtime.md §1, §4. The tokenizer files are not read
// here: the runtime is ids in, logits out, and what only the tokenizer knows (its eos token, its size, stop
// strings as text) is added by bmx::tokenizers (bmx/tokenizers/text_generation.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bmx/core/llm/token.h"

namespace bmx {

struct Qwen3Config {
  int64_t vocab_size = 0;         // V: rows of embedding and LM head
  int64_t hidden_size = 0;        // H
  int64_t intermediate_size = 0;  // I
  int64_t num_layers = 0;         // L
  int64_t num_heads = 0;          // Nq
  int64_t num_kv_heads = 0;       // Nkv
  int64_t head_dim = 0;           // D (from config, else H / Nq)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  int64_t max_position_embeddings = 0;  // context limit used by generation
  std::string dtype;                    // torch_dtype / dtype, informative
  TokenId bos_token_id = -1;
  std::vector<TokenId> eos_token_ids;   // from config.json (fallback for generation)
};

// Reads and checks config.json; refuses other architectures, rope scaling and sliding windows with an
// UnsupportedError naming the file and field.
Qwen3Config read_qwen3_config(const std::string& config_json);

// Generation settings with transformers' GenerationConfig defaults (top_k 50, max_length 20, ...).
struct GenerationConfig {
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  std::optional<double> min_p;
  double repetition_penalty = 1.0;
  int64_t max_new_tokens = -1;  // -1: not given (then max_length - prompt length applies)
  int64_t max_length = 20;
  std::vector<TokenId> eos_token_ids;
  TokenId pad_token_id = -1;  // given, else the first eos id (as transformers' generate()); -1: neither
  TokenId bos_token_id = -1;
  std::vector<std::string> stop_strings;  // read here as part of the file; applied by the tokenizers layer
};

// The generation settings of a model folder: generation_config.json when present (eos falling back to
// config.json's). This file stays in core although it names stop strings: it belongs to the model folder, not to
// the tokenizer (transformers writes it next to config.json with GenerationConfig), and all but stop_strings are
// ids and numbers that the runtime applies without a tokenizer.
GenerationConfig read_generation_config(const std::string& model_dir, const Qwen3Config& config);

}  // namespace bmx
