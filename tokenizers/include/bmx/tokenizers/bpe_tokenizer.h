// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (Qwen2/Qwen3 family, BioMatrix).
//
// encode() follows the Rust `tokenizers` library exactly: added tokens are cut out of the raw text first
// (leftmost-longest over all of them, honouring lstrip / rstrip / single_word; `normalized: true` tokens
// are matched after normalization), each remaining piece is NFC-normalized, split with the Qwen2
// pre-tokenizer pattern, mapped to GPT-2 byte symbols and merged by rank (Qwen adds no BOS/EOS).
// decode() joins the bytes of all tokens before UTF-8 decoding; each maximal invalid byte sequence
// becomes one U+FFFD.
//
// BPE options: merges as "a b" strings or ["a", "b"] pairs, ignore_merges honoured. Refused with
// bmx::UnsupportedError: byte_fallback, dropout, word prefixes/suffixes, models other than BPE,
// pre-tokenizers other than the Qwen2 split + ByteLevel, normalizers other than NFC, decoders other
// than ByteLevel, post-processors other than ByteLevel / TemplateProcessing. Missing or malformed files
// throw bmx::InputError naming the file.
// A Tokenizer is immutable after loading except for an internal word cache; encode/decode may be called
// from several threads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bmx/core/llm/token.h"

namespace bmx {

struct AddedToken {
  TokenId id = -1;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

class Tokenizer {
public:
  // Reads DIR/tokenizer.json (and DIR/tokenizer_config.json for eos/pad/bos and the chat template,
  // when present). The only reader of these files: generation takes eos and the vocabulary size from here
  // (bmx/tokenizers/text_generation.h).
  static Tokenizer from_dir(const std::filesystem::path& dir);
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // add_special_tokens applies the post-processor: a TemplateProcessing template adds its tokens (e.g. a
  // BOS); Qwen's ByteLevel post-processor adds none.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = true) const;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const;

  // Token strings as stored in the vocabulary (byte-level symbols, e.g. "Ġthe"), or an added token's content.
  std::optional<TokenId> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(TokenId id) const;
  // Highest id + 1 (model vocabulary and added tokens together).
  int32_t vocab_size() const;
  const std::vector<AddedToken>& added_tokens() const;
  bool is_special(TokenId id) const;

  // From tokenizer_config.json, when the folder had one (empty / nullopt otherwise).
  const std::string& chat_template() const;
  const std::string& config_file() const;  // the tokenizer_config.json read, for messages
  std::optional<TokenId> eos_id() const;
  std::optional<TokenId> pad_id() const;
  std::optional<TokenId> bos_id() const;
  const std::string& eos_token() const;
  const std::string& pad_token() const;
  const std::string& bos_token() const;

  struct Impl;

private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bmx
