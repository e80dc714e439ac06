// BPE encode/decode of any text with BioMatrix's tokenizer (loaded once from the reference folder). Input: text;
// its bytes also serve as token ids for decode (ids past the vocabulary included). decode(encode(text)) must give
// back the NFC text for valid UTF-8; checked here for ASCII text, where NFC is the identity.
#include <algorithm>
#include <cstring>
#include <memory>

#include "bmx/tokenizers/bpe_tokenizer.h"
#include "fuzz_support.h"

namespace {
const bmx::Tokenizer& tokenizer() {
  static const auto tok = std::make_unique<bmx::Tokenizer>(
      bmx::Tokenizer::from_file(bmx::fuzz::shared_file("models/tokenizers/biomatrix/tokenizer.json")));
  return *tok;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& tok = tokenizer();
  const std::string text(bmx::fuzz::as_text(data, size));
  bmx::fuzz::run_input([&] {
    const auto ids = tok.encode(text, /*add_special_tokens=*/true);
    const std::string back = tok.decode(ids);
    const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) BMX_FUZZ_CHECK(back == text);
    (void)tok.decode(ids, /*skip_special_tokens=*/true);
  });
  bmx::fuzz::run_input([&] {
    std::vector<bmx::TokenId> ids(size / 4);
    for (size_t i = 0; i < ids.size(); ++i) {
      int32_t v;
      std::memcpy(&v, data + 4 * i, 4);
      ids[i] = v % (tok.vocab_size() + 16);  // mostly valid ids, some past the end, some negative
    }
    (void)tok.decode(ids);
  });
  return 0;
}
