#include "tokenizer_json.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "bmx/core/util/error.h"
#include "bmx/core/io/json_file.h"
#include "bmx/core/io/json_sax.h"
#include "bmx/core/io/read_file.h"
#include "added_token_fields.h"

namespace bmx {
namespace {

using json = nlohmann::json;

class Reader : public nlohmann::json_sax<json> {
public:
  Reader(TokenizerJson& out, const std::function<void()>& vocab_read) : out_(out), vocab_read_(vocab_read) {}

  bool null() override { return mode_ == Vocab ? vocab_value(-1) : value(json()); }
  bool boolean(bool v) override {
    if (mode_ == Vocab) return vocab_value(-1);
    if (mode_ == AddedElement && added_.flag(v)) return true;
    return value(v);
  }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Vocab) return vocab_value(v);
    if (mode_ == AddedElement && added_.integer(v)) return true;
    return value(v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Vocab) return vocab_value(v > uint64_t(INT64_MAX) ? -1 : int64_t(v));
    if (mode_ == AddedElement && v <= uint64_t(INT64_MAX) && added_.integer(int64_t(v))) return true;
    return value(v);
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (mode_ == Vocab) return vocab_value(-1);
    return value(v);
  }
  bool string(string_t& v) override {
    if (mode_ == Vocab) return vocab_value(-1);
    if (mode_ == AddedElement && added_.text(std::move(v))) return true;
    if (mode_ == Merges) {
      size_t sp = v.find(' ');
      if (sp == std::string::npos || v.find(' ', sp + 1) != std::string::npos) {
        problem("merge " + std::to_string(out_.merges.size()) + " \"" + v +
                "\" is not two symbols separated by one space");
        push_merge({});
      } else {
        const std::string_view s(v);
        const auto left = keep(out_.merge_text, s.substr(0, sp));
        push_merge({left, keep(out_.merge_text, s.substr(sp + 1))});
      }
      return true;
    }
    if (mode_ == MergePair) {
      pair_.push_back(std::move(v));
      return true;
    }
    return value(std::move(v));
  }
  bool binary(binary_t&) override { return value(json()); }

  bool start_object(std::size_t) override {
    if (!deeper()) return false;
    if (mode_ == Vocab || mode_ == Merges || mode_ == MergePair) {
      problem(mode_ == Vocab ? "vocab values must be integer ids" : "merges must be strings or [left, right] pairs");
      ++skip_depth_;
      mode_stack_.push_back(mode_);
      mode_ = Skip;
      return true;
    }
    if (mode_ == Skip) {
      ++skip_depth_;
      return true;
    }
    if (path_is({"model"}) && pending_key_ == "vocab") {
      mode_stack_.push_back(mode_);
      if (out_.has_vocab) {  // the table handed on at its end never changes again (serde refuses it too)
        problem("model.vocab appears twice");
        ++skip_depth_;
        mode_ = Skip;
        return true;
      }
      out_.has_vocab = true;
      mode_ = Vocab;
      return true;
    }
    if (mode_ == Tree && added_list_ && stack_.back() == added_list_) {
      added_.clear();
      mode_ = AddedElement;
      return true;
    }
    if (mode_ == AddedElement) to_tree();
    return open(json::object());
  }
  bool key(string_t& k) override {
    if (mode_ == Vocab) {
      vocab_key_ = keep(out_.vocab_text, k);
      return true;
    }
    if (mode_ == Skip) return true;
    if (mode_ == AddedElement) {
      if (added_.key(k)) return true;
      to_tree();
    }
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    --depth_;
    if (mode_ == Skip) return close_skip();
    if (mode_ == Vocab) {
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      if (vocab_read_) vocab_read_();
      return true;
    }
    if (mode_ == AddedElement) {
      mode_ = Tree;
      if (!out_.added_problem.empty()) return true;
      AddedToken t;
      out_.added_problem = added_token_from(std::move(added_), t);
      if (out_.added_problem.empty()) out_.added.push_back(std::move(t));
      return true;
    }
    return close();
  }
  bool start_array(std::size_t) override {
    if (!deeper()) return false;
    if (mode_ == Skip) {
      ++skip_depth_;
      return true;
    }
    if (mode_ == Merges) {
      mode_stack_.push_back(mode_);
      mode_ = MergePair;
      pair_.clear();
      return true;
    }
    if (mode_ == Vocab || mode_ == MergePair) {
      problem(mode_ == Vocab ? "vocab values must be integer ids" : "merges must be strings or [left, right] pairs");
      mode_stack_.push_back(mode_);
      mode_ = Skip;
      ++skip_depth_;
      return true;
    }
    if (mode_ == AddedElement) to_tree();
    if (path_is({"model"}) && pending_key_ == "merges") {
      mode_stack_.push_back(mode_);
      if (out_.has_merges) {  // the merges published never change (serde refuses a repeated key too)
        problem("model.merges appears twice");
        ++skip_depth_;
        mode_ = Skip;
        return true;
      }
      out_.has_merges = true;
      mode_ = Merges;
      return true;
    }
    return open(json::array());
  }
  bool end_array() override {
    --depth_;
    if (mode_ == Skip) return close_skip();
    if (mode_ == MergePair) {
      if (pair_.size() != 2) {
        problem("merge " + std::to_string(out_.merges.size()) + " is not a [left, right] pair");
        push_merge({});
      } else {
        const auto left = keep(out_.merge_text, pair_[0]);
        push_merge({left, keep(out_.merge_text, pair_[1])});
      }
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      return true;
    }
    if (mode_ == Merges) {
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      out_.merges_read.publish(out_.merges.size(), /*complete=*/true);
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    error_ = json_error_text(ex);
    return false;
  }

  const std::string& error() const { return error_; }
  bool too_deep() const { return too_deep_; }

private:
  // AddedElement: an object in the top-level added_tokens array, taken into added_ field by field until it holds
  // something an added token does not (to_tree).
  enum Mode { Tree, Vocab, Merges, MergePair, Skip, AddedElement };

  // The tree is copied and printed by recursive code later: a file nested deeper than any tokenizer is
  // refused here, where parsing is iterative.
  bool deeper() {
    if (++depth_ <= kMaxJsonDepth) return true;
    error_ = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)";
    too_deep_ = true;
    return false;
  }

  void problem(const std::string& p) {
    if (out_.problem.empty()) out_.problem = p;
  }
  bool vocab_value(int64_t id) {
    if (id < 0) problem("vocab entry \"" + std::string(out_.key(vocab_key_)) + "\" has no non-negative integer id");
    out_.vocab.push_back({vocab_key_, id});
    return true;
  }
  // Merges are published to the resolving thread in steps of 4096 (151k in a Qwen-family file).
  void push_merge(std::pair<TokenizerJson::Text, TokenizerJson::Text> m) {
    out_.merges.push_back(m);
    if (out_.merges_stream && out_.merges.size() % 4096 == 0) out_.merges_read.publish(out_.merges.size());
  }
  // Copies a string of one of the tables into its arena.
  TokenizerJson::Text keep(BigString& arena, std::string_view s) {
    if (arena.size() + s.size() > UINT32_MAX) {
      problem(&arena == &out_.vocab_text ? "the vocabulary holds more than 4 GiB of text"
                                         : "the merges hold more than 4 GiB of text");
      return {};
    }
    TokenizerJson::Text t{uint32_t(arena.size()), uint32_t(s.size())};
    arena.append(s);
    return t;
  }
  bool close_skip() {
    if (--skip_depth_ == 0) {
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      if (mode_ == Vocab) out_.vocab.push_back({vocab_key_, -1});
    }
    return true;
  }
  // Path of object keys from the root to the container on top of the stack.
  bool path_is(std::initializer_list<const char*> keys) const {
    if (keys_.size() != keys.size()) return false;
    size_t i = 0;
    for (const char* k : keys)
      if (keys_[i++] != k) return false;
    return true;
  }
  // A value under the top-level "added_tokens" key: the tokens read before (a repeated key) no longer count.
  bool added_slot() const { return stack_.size() == 1 && stack_.back()->is_object() && pending_key_ == "added_tokens"; }
  json* insert(json v) {
    if (added_slot()) {
      out_.added.clear();
      out_.added_problem.clear();
    }
    if (stack_.empty()) {
      out_.rest = std::move(v);
      return &out_.rest;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    json& slot = top[pending_key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(json v) {
    if (mode_ == Skip) return true;
    if (mode_ == AddedElement) to_tree();
    if (mode_ == MergePair) {
      problem("merges must be strings or [left, right] pairs");
      pair_.emplace_back();
      return true;
    }
    if (mode_ == Merges) {
      problem("merges must be strings or [left, right] pairs");
      push_merge({});
      return true;
    }
    insert(std::move(v));
    if (added_list_ && stack_.back() == added_list_) take_added();
    return true;
  }
  bool open(json v) {
    std::string k = stack_.empty() || stack_.back()->is_array() ? std::string("[]") : pending_key_;
    const bool added = added_slot() && v.is_array();
    json* p = insert(std::move(v));
    if (added) added_list_ = p;
    if (!stack_.empty()) keys_.push_back(k);
    stack_.push_back(p);
    return true;
  }
  bool close() {
    const json* done = stack_.back();
    stack_.pop_back();
    if (!keys_.empty() && keys_.size() >= stack_.size()) keys_.resize(stack_.empty() ? 0 : stack_.size() - 1);
    if (done == added_list_) added_list_ = nullptr;
    else if (added_list_ && !stack_.empty() && stack_.back() == added_list_) take_added();
    return true;
  }
  // An element of added_tokens that is not an added token's plain fields goes on as a tree: the object of its
  // fields so far, opened as it would have been at its start, with the key awaiting a value.
  void to_tree() {
    std::string awaited(added_.pending_key());
    mode_ = Tree;
    open(added_.to_json());
    pending_key_ = std::move(awaited);
  }
  // The element just completed in the top-level added_tokens array as a tree becomes an AddedToken and leaves
  // the tree (16k small trees kept until loading were ~10 MB of first-touch memory). A bad element is kept as
  // the message load() reports when it reaches the added tokens, so errors come in the same order as before.
  void take_added() {
    json a = std::move(added_list_->back());
    added_list_->get_ref<json::array_t&>().pop_back();
    if (!out_.added_problem.empty()) return;
    try {
      AddedToken t;
      out_.added_problem = added_token_from(added_token_fields(a), t, &a);
      if (out_.added_problem.empty()) out_.added.push_back(std::move(t));
    } catch (const json::exception& e) {
      out_.added_problem = "a field has the wrong type: " + json_error_text(e);
    }
  }

  TokenizerJson& out_;
  const std::function<void()>& vocab_read_;
  Mode mode_ = Tree;
  std::vector<Mode> mode_stack_;
  std::vector<json*> stack_;
  json* added_list_ = nullptr;  // the top-level added_tokens array while it is read
  AddedTokenFields added_;
  std::vector<std::string> keys_;
  std::string pending_key_, error_;
  TokenizerJson::Text vocab_key_;
  std::vector<std::string> pair_;
  int skip_depth_ = 0;
  int depth_ = 0;
  bool too_deep_ = false;
};

// The highest id under model.vocab (values) and added_tokens[].id.
struct MaxIdScan : nlohmann::json_sax<json> {
  struct Level {
    std::string key;  // the key this container sits under ("[]" inside an array)
    bool array;
  };
  std::vector<Level> stack;
  std::string last_key;
  int64_t max_id = -1;
  std::string error;
  bool too_deep = false;

  bool in_vocab() const {
    return stack.size() == 3 && !stack[2].array && stack[1].key == "model" && stack[2].key == "vocab";
  }
  bool in_added_token() const { return stack.size() == 3 && stack[1].key == "added_tokens" && stack[1].array; }
  bool id(int64_t v) {
    if (in_vocab() || (in_added_token() && last_key == "id")) max_id = std::max(max_id, v);
    return true;
  }
  bool open(bool array) {
    if (stack.size() >= size_t(kMaxJsonDepth)) {
      error = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)";
      too_deep = true;
      return false;
    }
    stack.push_back({!stack.empty() && stack.back().array ? "[]" : last_key, array});
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return id(v); }
  bool number_unsigned(number_unsigned_t v) override { return id(int64_t(v)); }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(false); }
  bool key(string_t& k) override {
    last_key = k;
    return true;
  }
  bool end_object() override {
    stack.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return open(true); }
  bool end_array() override {
    stack.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    error = json_error_text(ex);
    return false;
  }
};

// The values of some top-level keys of an object, as a tree; everything else (the 16k entries of
// added_tokens_decoder in BioMatrix's tokenizer_config.json) is only checked as JSON, never built.
class TopLevelKeys : public nlohmann::json_sax<json> {
public:
  explicit TopLevelKeys(std::initializer_list<const char*> keys) : keys_(keys) {}
  json picked = json::object();
  bool top_is_object = false;

  bool null() override { return scalar([&] { return builder_->null(); }); }
  bool boolean(bool v) override { return scalar([&] { return builder_->boolean(v); }); }
  bool number_integer(number_integer_t v) override { return scalar([&] { return builder_->number_integer(v); }); }
  bool number_unsigned(number_unsigned_t v) override { return scalar([&] { return builder_->number_unsigned(v); }); }
  bool number_float(number_float_t v, const string_t& s) override {
    return scalar([&] { return builder_->number_float(v, s); });
  }
  bool string(string_t& v) override { return scalar([&] { return builder_->string(v); }); }
  bool binary(binary_t& v) override { return scalar([&] { return builder_->binary(v); }); }
  bool start_object(std::size_t n) override {
    if (!deeper()) return false;
    if (depth_ == 1) {
      top_is_object = true;
      return true;
    }
    return !builder_ || builder_->start_object(n);
  }
  bool key(string_t& k) override {
    if (depth_ == 1) {
      builder_.reset();
      for (const char* want : keys_)
        if (k == want) {
          json& slot = picked[k];  // a repeated key: the last one counts, as in a full parse
          slot = json();
          builder_.emplace(slot, true);
        }
      return true;
    }
    return !builder_ || builder_->key(k);
  }
  bool end_object() override { return close([&] { return builder_->end_object(); }); }
  bool start_array(std::size_t n) override {
    if (!deeper()) return false;
    if (depth_ == 1) return true;
    return !builder_ || builder_->start_array(n);
  }
  bool end_array() override { return close([&] { return builder_->end_array(); }); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    error = json_error_text(ex);
    return false;
  }
  std::string error;
  bool too_deep = false;

private:
  // The picked values are trees that later code walks recursively: refused past the depth limit.
  bool deeper() {
    if (++depth_ <= kMaxJsonDepth) return true;
    error = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)";
    too_deep = true;
    return false;
  }
  template <class F>
  bool scalar(F f) {
    if (depth_ == 0 || !builder_) return true;
    return f();
  }
  template <class F>
  bool close(F f) {
    --depth_;
    if (depth_ == 0 || !builder_) return true;
    return f();
  }
  std::initializer_list<const char*> keys_;
  std::optional<nlohmann::detail::json_sax_dom_parser<json>> builder_;
  int depth_ = 0;
};

}  // namespace

int64_t scan_tokenizer_size(const std::string& path) {
  BigString bytes = read_big_file(path);
  MaxIdScan scan;
  if (!sax_parse_in_place(bytes, scan))
    fail_input(path, scan.too_deep ? scan.error : "not valid JSON: " + scan.error);
  return scan.max_id + 1;
}


void read_tokenizer_json(const std::string& path, TokenizerJson& out, const std::function<void()>& vocab_read) {
  BigString text = read_big_file(path);
  // Reserved to what the file could hold (an entry takes at least 6 bytes of JSON, a string at least its own
  // length), up to 4M entries (16x the largest vocabularies): nothing is copied as the tables grow, and reserved
  // pages never written cost nothing.
  const size_t entries = std::min<size_t>(text.size() / 6, size_t(1) << 22);
  out.vocab.reserve(entries);
  // Each arena holds less text than the file; the vocabulary's is about 40 % of a Qwen-family file.
  out.vocab_text.reserve(std::min<size_t>(text.size(), entries * 16));
  // The merges are published while they are read only when nothing can move them: every entry takes at least
  // two bytes of the file ("1,"), and their text is less than the file. Up to 64 MB files (512 MB reserved).
  const size_t most_merges = text.size() / 2 + 1;
  out.merges_stream = most_merges <= (size_t(1) << 25);
  out.merges.reserve(out.merges_stream ? most_merges : entries);
  out.merge_text.reserve(out.merges_stream ? text.size() : std::min<size_t>(text.size(), entries * 16));
  // However the parse ends, the merges are complete: a thread waiting on them goes on.
  struct Complete {
    TokenizerJson& out;
    ~Complete() { out.merges_read.publish(out.merges.size(), /*complete=*/true); }
  } complete{out};
  Reader reader(out, vocab_read);
  // The parser is iterative (hostile nesting cannot exhaust the stack); the handler bounds the depth.
  if (!sax_parse_in_place(text, reader) || !reader.error().empty()) {
    if (reader.too_deep()) fail_input(path, reader.error());
    fail_input(path, "not valid JSON: " + (reader.error().empty() ? std::string("parse error") : reader.error()));
  }
}

nlohmann::json read_tokenizer_config(const std::string& path, std::initializer_list<const char*> keys) {
  BigString text = read_big_file(path);
  TopLevelKeys picker(keys);
  if (!sax_parse_in_place(text, picker)) {
    if (picker.too_deep) fail_input(path, picker.error);
    fail_input(path, "not valid JSON: " + picker.error);
  }
  if (!picker.top_is_object) fail_input(path, "top level is not an object");
  return std::move(picker.picked);
}

}  // namespace bmx
