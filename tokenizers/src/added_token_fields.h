// One element of tokenizer.json's added_tokens, taken field by field as the parser streams it: 16k small
// nlohmann objects built and taken apart were 13 ms of loading BioMatrix's tokenizer. The reader hands an
// element that holds anything else (another key, a repeated key, a value of another type, nesting) back to the
// general path as the tree of its fields so far (to_json), so every element is judged by one set of rules
// (added_token_from) and every message stays the same.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bmx/tokenizers/bpe_tokenizer.h"

namespace bmx {

class AddedTokenFields {
public:
  enum Flag { kSpecial, kNormalized, kLstrip, kRstrip, kSingleWord, kFlags };

  void clear() { *this = AddedTokenFields(); }
  // The next key; false when it is not a field of an added token, or is repeated.
  bool key(std::string_view k);
  // The value of the key just read; false when it is not of that field's type.
  bool integer(int64_t v);
  bool text(std::string&& v);
  bool flag(bool v);
  // The fields read so far (those of the key without a value yet left out), as nlohmann would have built them.
  nlohmann::json to_json() const;
  // The name of the key whose value is awaited.
  std::string_view pending_key() const;

  std::optional<int64_t> id;
  std::optional<std::string> content;
  std::optional<bool> flags[kFlags];

private:
  int pending_ = -1;  // -2: id, -1: content or none (see key()), 0..kFlags-1: a flag
  bool awaiting_ = false;
  bool seen_id_ = false, seen_content_ = false, seen_flag_[kFlags] = {};
};

// The loader's rules for an element: id and content required, id in [0, 50M], normalized defaulting to
// !special. Returns the problem (empty when `out` was filled). The element is printed in the message: `tree`
// when it was read as one (its other keys too), else its fields.
std::string added_token_from(AddedTokenFields&& f, AddedToken& out, const nlohmann::json* tree = nullptr);

// The fields of an element read as a tree: id and content where they have their types, the flags only when
// those two are in order (a flag of another type throws nlohmann's type_error, reported after them).
AddedTokenFields added_token_fields(const nlohmann::json& element);

}  // namespace bmx
