#include "tokenizer_json.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bmx/core/util/error.h"
#include "bmx/core/io/json_file.h"
#include "bmx/core/io/read_file.h"

namespace bmx {
namespace {

using json = nlohmann::json;

constexpr int kMaxJsonDepth = 512;

class Reader : public nlohmann::json_sax<json> {
public:
  explicit Reader(TokenizerJson& out) : out_(out) {}

  bool null() override { return value(json()); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Vocab) return vocab_value(v);
    return value(v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Vocab) return vocab_value(v > uint64_t(INT64_MAX) ? -1 : int64_t(v));
    return value(v);
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (mode_ == Vocab) return vocab_value(-1);
    return value(v);
  }
  bool string(string_t& v) override {
    if (mode_ == Vocab) return vocab_value(-1);
    if (mode_ == Merges) {
      size_t sp = v.find(' ');
      if (sp == std::string::npos || v.find(' ', sp + 1) != std::string::npos) {
        problem("merge " + std::to_string(out_.merges.size()) + " \"" + v +
                "\" is not two symbols separated by one space");
        out_.merges.emplace_back();
      } else {
        out_.merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
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
      out_.has_vocab = true;
      mode_stack_.push_back(mode_);
      mode_ = Vocab;
      return true;
    }
    return open(json::object());
  }
  bool key(string_t& k) override {
    if (mode_ == Vocab) {
      vocab_key_ = std::move(k);
      return true;
    }
    if (mode_ == Skip) return true;
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    --depth_;
    if (mode_ == Skip) return close_skip();
    if (mode_ == Vocab) {
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
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
    if (path_is({"model"}) && pending_key_ == "merges") {
      out_.has_merges = true;
      mode_stack_.push_back(mode_);
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
        out_.merges.emplace_back();
      } else {
        out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      }
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      return true;
    }
    if (mode_ == Merges) {
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error_ = std::string(json_error_text(ex)) + " (byte " + std::to_string(position) + ")";
    return false;
  }

  const std::string& error() const { return error_; }
  bool too_deep() const { return too_deep_; }

private:
  enum Mode { Tree, Vocab, Merges, MergePair, Skip };

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
    if (id < 0) problem("vocab entry \"" + vocab_key_ + "\" has no non-negative integer id");
    out_.vocab.emplace_back(std::move(vocab_key_), id);
    return true;
  }
  bool close_skip() {
    if (--skip_depth_ == 0) {
      mode_ = mode_stack_.back();
      mode_stack_.pop_back();
      if (mode_ == Vocab) out_.vocab.emplace_back(std::move(vocab_key_), -1);
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
  json* insert(json v) {
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
    if (mode_ == MergePair) {
      problem("merges must be strings or [left, right] pairs");
      pair_.emplace_back();
      return true;
    }
    if (mode_ == Merges) {
      problem("merges must be strings or [left, right] pairs");
      out_.merges.emplace_back();
      return true;
    }
    insert(std::move(v));
    return true;
  }
  bool open(json v) {
    std::string k = stack_.empty() || stack_.back()->is_array() ? std::string("[]") : pending_key_;
    json* p = insert(std::move(v));
    if (!stack_.empty()) keys_.push_back(k);
    stack_.push_back(p);
    return true;
  }
  bool close() {
    stack_.pop_back();
    if (!keys_.empty() && keys_.size() >= stack_.size()) keys_.resize(stack_.empty() ? 0 : stack_.size() - 1);
    return true;
  }

  TokenizerJson& out_;
  Mode mode_ = Tree;
  std::vector<Mode> mode_stack_;
  std::vector<json*> stack_;
  std::vector<std::string> keys_;
  std::string pending_key_, vocab_key_, error_;
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
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error = std::string(json_error_text(ex)) + " (byte " + std::to_string(position) + ")";
    return false;
  }
};

}  // namespace

int64_t scan_tokenizer_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, "cannot open file");
  MaxIdScan scan;
  if (!json::sax_parse(in, &scan)) fail_input(path, scan.too_deep ? scan.error : "not valid JSON: " + scan.error);
  return scan.max_id + 1;
}

TokenizerJson read_tokenizer_json(const std::string& path) {
  const std::string text = read_file(path);
  TokenizerJson out;
  Reader reader(out);
  if (!json::sax_parse(text, &reader) || !reader.error().empty()) {
    if (reader.too_deep()) fail_input(path, reader.error());
    fail_input(path, "not valid JSON: " + (reader.error().empty() ? std::string("parse error") : reader.error()));
  }
  return out;
}

}  // namespace bmx
