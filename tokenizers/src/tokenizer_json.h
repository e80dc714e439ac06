// Reads tokenizer.json in one streaming pass: the two large tables (model.vocab, model.merges) go straight
// into flat vectors, everything else into a small JSON tree. About three times faster than building the
// full tree for the 150k-entry vocabularies of Qwen-family tokenizers.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/core/util/big_allocator.h"
#include "bmx/tokenizers/bpe_tokenizer.h"

namespace bmx {

// How many merges the parser has read, for a second thread that resolves them meanwhile. Published counts only
// grow; the count is complete once the merges array has ended (or the parse has stopped, for whatever reason).
class MergesRead {
public:
  // The count published, once it is above `have` or the merges are complete.
  size_t wait_beyond(size_t have) const {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return count_ > have || complete_; });
    return count_;
  }
  void publish(size_t count, bool complete = false) {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (complete_) return;
      count_ = count;
      complete_ = complete;
    }
    cv_.notify_all();
  }

private:
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  size_t count_ = 0;
  bool complete_ = false;
};

// Each of the two tables keeps its strings back to back in its own arena: a fresh page costs more than parsing
// its bytes (std::string per entry and growing vectors of them made the tables 40 MB of first-touch memory). Apart,
// the vocabulary and its text are complete, and can be handed on, while the merges are still being read.
struct TokenizerJson {
  struct Text {
    uint32_t offset = 0, size = 0;  // into vocab_text or merge_text
  };
  struct VocabEntry {
    Text token;
    int64_t id = -1;
  };
  nlohmann::json rest;  // the file without model.vocab and model.merges
  bool has_vocab = false, has_merges = false;
  BigString vocab_text, merge_text;
  BigVector<VocabEntry> vocab;  // in file order
  BigVector<std::pair<Text, Text>> merges;  // rank order; "a b" strings are split here
  // merges[0, merges_read count) and their text are final, and never move: both are reserved for the most merges
  // the file could hold. (Only the count at completion is published for a file too large to reserve that way.)
  MergesRead merges_read;
  bool merges_stream = false;  // whether counts are published before completion
  std::string problem;  // first structural problem in vocab/merges (empty when none)
  // The top-level added_tokens array, read as it streams by (rest keeps the array, emptied), and the first
  // problem in it, which the loader reports in its turn.
  std::vector<AddedToken> added;
  std::string added_problem;
  std::string_view key(Text t) const { return std::string_view(vocab_text).substr(t.offset, t.size); }
  std::string_view merge_side(Text t) const { return std::string_view(merge_text).substr(t.offset, t.size); }
};

// Reads `path` into `out` (a fresh one). Throws bmx::InputError naming `path` when the file cannot be read or is
// not valid JSON. `vocab_read`, when given, is called on the parsing thread as soon as model.vocab has been read:
// from then on out.vocab and out.vocab_text never change (a second model.vocab is a problem and is skipped), so
// another thread may build on them while the rest of the file is parsed, and resolve the merges as
// out.merges_read publishes them. `out` must not move meanwhile.
void read_tokenizer_json(const std::string& path, TokenizerJson& out, const std::function<void()>& vocab_read = {});

// Highest id + 1 of model.vocab and added_tokens, keeping nothing of the file: for tools that need only the
// size (bmx bench llm, bmx dev random-model), where building the tokenizer would cost its memory. Same errors.
int64_t scan_tokenizer_size(const std::string& path);

// tokenizer_config.json: a tree of only the given top-level keys (absent ones left out); the whole file is still
// checked as JSON. InputError naming `path` as read_json_file does, and when the top level is not an object.
nlohmann::json read_tokenizer_config(const std::string& path, std::initializer_list<const char*> keys);

}  // namespace bmx
