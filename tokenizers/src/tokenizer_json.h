// Reads tokenizer.json in one streaming pass: the two large tables (model.vocab, model.merges) go straight
// into flat vectors, everything else into a small JSON tree. About three times faster than building the
// full tree for the 150k-entry vocabularies of Qwen-family tokenizers.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bmx {

struct TokenizerJson {
  nlohmann::json rest;  // the file without model.vocab and model.merges
  bool has_vocab = false, has_merges = false;
  std::vector<std::pair<std::string, int64_t>> vocab;  // in file order
  std::vector<std::pair<std::string, std::string>> merges;  // rank order; "a b" strings are split here
  std::string problem;  // first structural problem in vocab/merges (empty when none)
};

// Throws bmx::InputError naming `path` when the file cannot be read or is not valid JSON.
TokenizerJson read_tokenizer_json(const std::string& path);

// Highest id + 1 of model.vocab and added_tokens, keeping nothing of the file: for tools that need only the
// size (bmx bench llm, bmx dev random-model), where building the tokenizer would cost its memory. Same errors.
int64_t scan_tokenizer_size(const std::string& path);

}  // namespace bmx
