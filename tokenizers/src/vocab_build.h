// The model vocabulary's map and the merges' ids, built on a second thread beside the parser of tokenizer.json:
// the map as soon as model.vocab has been read, the merges' ids as the parser publishes the merges. Loading
// BioMatrix's tokenizer, both used to follow the parse (12 and 15 ms); now they end a few ms after it.
#pragma once
#include <cstddef>
#include <string>

#include "bmx/core/util/big_allocator.h"
#include "tokenizer_json.h"
#include "vocab_map.h"

namespace bmx {

// A merge's tokens: the two it joins and the one it makes (-1 where not in the vocabulary).
struct MergeIds {
  TokenId left, right, merged;
};

// The ids of merges[from, to), whose texts start at `text` (merge_text's bytes, read without its size, which the
// parser may be changing). Looked up in batches, three keys per merge: left, right and the two joined.
void look_up_merges(const TokenizerJson& file, const char* text, const VocabMap& vocab, size_t from, size_t to,
                    MergeIds* out);

// The model vocabulary's map, with its highest id and its first problem (reported in its turn by the loader), and
// the merges' ids when they could be looked up (empty after a problem).
struct VocabBuild {
  VocabMap map;
  TokenId max_id = -1;
  std::string problem;
  BigVector<MergeIds> merges;
};

// Reads only file.vocab, and takes file.vocab_text, which read_tokenizer_json no longer touches once it has
// handed the vocabulary on. Then looks the merges up as file.merges_read publishes them, until they are complete.
VocabBuild build_vocab(TokenizerJson& file);

}  // namespace bmx
