#include "added_token_fields.h"

namespace bmx {
namespace {

constexpr const char* kFlagNames[AddedTokenFields::kFlags] = {"special", "normalized", "lstrip", "rstrip",
                                                             "single_word"};
constexpr int kId = -2, kContent = -3;

}  // namespace

bool AddedTokenFields::key(std::string_view k) {
  if (awaiting_) return false;
  if (k == "id") {
    if (seen_id_) return false;
    seen_id_ = true;
    pending_ = kId;
  } else if (k == "content") {
    if (seen_content_) return false;
    seen_content_ = true;
    pending_ = kContent;
  } else {
    int f = 0;
    while (f < kFlags && k != kFlagNames[f]) ++f;
    if (f == kFlags || seen_flag_[f]) return false;
    seen_flag_[f] = true;
    pending_ = f;
  }
  awaiting_ = true;
  return true;
}

bool AddedTokenFields::integer(int64_t v) {
  if (!awaiting_ || pending_ != kId) return false;
  id = v;
  awaiting_ = false;
  return true;
}

bool AddedTokenFields::text(std::string&& v) {
  if (!awaiting_ || pending_ != kContent) return false;
  content = std::move(v);
  awaiting_ = false;
  return true;
}

bool AddedTokenFields::flag(bool v) {
  if (!awaiting_ || pending_ < 0) return false;
  flags[pending_] = v;
  awaiting_ = false;
  return true;
}

std::string_view AddedTokenFields::pending_key() const {
  if (!awaiting_) return {};
  return pending_ == kId ? "id" : pending_ == kContent ? "content" : kFlagNames[pending_];
}

nlohmann::json AddedTokenFields::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (id) j["id"] = *id;
  if (content) j["content"] = *content;
  for (int f = 0; f < kFlags; ++f)
    if (flags[f]) j[kFlagNames[f]] = *flags[f];
  return j;
}

std::string added_token_from(AddedTokenFields&& f, AddedToken& out, const nlohmann::json* tree) {
  if (!f.id || !f.content)
    return "added token without integer id and string content: " + (tree ? *tree : f.to_json()).dump().substr(0, 80);
  // Read as 64 bits: an id of 2^32 + 1 would otherwise wrap to 1 and pass.
  if (*f.id < 0 || *f.id > 50'000'000) return "added token id " + std::to_string(*f.id) + " out of range";
  out.id = TokenId(*f.id);
  out.content = std::move(*f.content);
  using F = AddedTokenFields;
  out.special = f.flags[F::kSpecial].value_or(false);
  out.normalized = f.flags[F::kNormalized].value_or(!out.special);
  out.lstrip = f.flags[F::kLstrip].value_or(false);
  out.rstrip = f.flags[F::kRstrip].value_or(false);
  out.single_word = f.flags[F::kSingleWord].value_or(false);
  return {};
}

AddedTokenFields added_token_fields(const nlohmann::json& a) {
  AddedTokenFields f;
  if (!a.is_object()) return f;
  if (a.contains("id") && a["id"].is_number_integer()) f.id = a["id"].get<int64_t>();
  if (a.contains("content") && a["content"].is_string()) f.content = a["content"].get<std::string>();
  if (!f.id || !f.content || *f.id < 0 || *f.id > 50'000'000) return f;
  for (int k = 0; k < AddedTokenFields::kFlags; ++k)
    if (a.contains(kFlagNames[k])) f.flags[k] = a[kFlagNames[k]].get<bool>();
  return f;
}

}  // namespace bmx
