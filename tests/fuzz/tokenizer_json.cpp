// tokenizer.json of a model folder: load it, then encode and decode a fixed text with it. Input: the whole file.
// Tokenizer::from_file takes only a path, so each input is written to a scratch file first.
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bmx::fuzz::scratch_file("tokenizer.json", bmx::fuzz::as_text(data, size));
  return bmx::fuzz::run_input([&] {
    const auto tok = bmx::Tokenizer::from_file(path);
    const std::string text = "Hello <|im_start|>user\n CCO ñ 中文 \xf0\x9f\x98\x80  x\n\n<|mol_3d_start|>[C 1]";
    const auto ids = tok.encode(text);
    (void)tok.decode(ids);
    (void)tok.decode(ids, /*skip_special_tokens=*/true);
    const int32_t n = tok.vocab_size();
    for (int32_t id : {0, 1, n - 1, n, -1}) (void)tok.id_to_token(id);
    (void)tok.token_to_id("<|im_end|>");
  });
}
