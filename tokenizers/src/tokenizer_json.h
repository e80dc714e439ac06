// Reads tokenizer.json in one streaming pass: the two large tables (model.vocab, model.merges) go straight
// into flat vectors, everything else into a small JSON tree. About three times faster than building the
// full tree for the 150k-entry vocabularies of Qwen-family tokenizers.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/core/util/big_allocator.h"
#include "bmx/tokenizers/bpe_tokenizer.h"

namespace bmx {

// The two tables keep their strings back to back in one arena: a fresh page costs more than parsing its bytes
// (std::string per entry and growing vectors of them made the tables 40 MB of first-touch memory).
struct TokenizerJson {
  struct Text {
    uint32_t offset = 0, size = 0;  // into arena
  };
  struct VocabEntry {
    Text token;
    int64_t id = -1;
  };
  nlohmann::json rest;  // the file without model.vocab and model.merges
  bool has_vocab = false, has_merges = false;
  BigString arena;
  BigVector<VocabEntry> vocab;  // in file order
  BigVector<std::pair<Text, Text>> merges;  // rank order; "a b" strings are split here
  std::string problem;  // first structural problem in vocab/merges (empty when none)
  // The top-level added_tokens array, read as it streams by (rest keeps the array, emptied), and the first
  // problem in it, which the loader reports in its turn.
  std::vector<AddedToken> added;
  std::string added_problem;
  std::string_view text(Text t) const { return std::string_view(arena).substr(t.offset, t.size); }
};

// Throws bmx::InputError naming `path` when the file cannot be read or is not valid JSON.
TokenizerJson read_tokenizer_json(const std::string& path);

// Highest id + 1 of model.vocab and added_tokens, keeping nothing of the file: for tools that need only the
// size (bmx bench llm, bmx dev random-model), where building the tokenizer would cost its memory. Same errors.
// tokenizer_config.json: a tree of only the given top-level keys (absent ones left out); the whole file is still
// checked as JSON. InputError naming `path` as read_json_file does, and when the top level is not an object.
nlohmann::json read_tokenizer_config(const std::string& path, std::initializer_list<const char*> keys);

int64_t scan_tokenizer_size(const std::string& path);

}  // namespace bmx
