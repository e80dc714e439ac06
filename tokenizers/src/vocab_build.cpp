#include "vocab_build.h"

#include <algorithm>

namespace bmx {

void look_up_merges(const TokenizerJson& file, const char* text, const VocabMap& vocab, size_t from, size_t to,
                    MergeIds* out) {
  constexpr size_t kPerBatch = VocabMap::kBatch / 3;
  std::string joined[kPerBatch];
  std::string_view keys[3 * kPerBatch];
  TokenId found[3 * kPerBatch];
  for (size_t first = from; first < to; first += kPerBatch) {
    const size_t count = std::min(kPerBatch, to - first);
    for (size_t k = 0; k < count; ++k) {
      const auto& [left, right] = file.merges[first + k];
      keys[3 * k] = std::string_view(text + left.offset, left.size);
      keys[3 * k + 1] = std::string_view(text + right.offset, right.size);
      joined[k].assign(keys[3 * k]).append(keys[3 * k + 1]);
      keys[3 * k + 2] = joined[k];
    }
    vocab.find_many(keys, 3 * count, found);
    for (size_t k = 0; k < count; ++k) out[first - from + k] = {found[3 * k], found[3 * k + 1], found[3 * k + 2]};
  }
}

VocabBuild build_vocab(TokenizerJson& file) {
  VocabBuild b;
  b.map = VocabMap(std::move(file.vocab_text));
  b.map.reserve(file.vocab.size());
  for (const auto& [token, id] : file.vocab) {
    if (id > 50'000'000) {
      b.problem = "vocab entry \"" + std::string(b.map.text(token.offset, token.size)) + "\" has id " +
                  std::to_string(id) + " out of range";
      return b;
    }
    b.max_id = std::max<TokenId>(b.max_id, TokenId(id));
    b.map.insert(token.offset, token.size, TokenId(id));
  }
  for (size_t done = 0;;) {
    const size_t published = file.merges_read.wait_beyond(done);
    if (published == done) break;  // complete
    b.merges.resize(published);
    look_up_merges(file, file.merge_text.data(), b.map, done, published, b.merges.data() + done);
    done = published;
  }
  return b;
}

}  // namespace bmx
