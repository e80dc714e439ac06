#include "bmx/core/llm/model_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"

namespace bmx {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_input(path, "cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    fail_input(path, std::string("bad JSON: ") + e.what());
  }
}

// int or list of ints (eos_token_id); null/absent -> empty.
std::vector<int64_t> id_list(const nlohmann::json& v) {
  std::vector<int64_t> out;
  if (v.is_number_integer()) out.push_back(v.get<int64_t>());
  if (v.is_array())
    for (auto& x : v)
      if (x.is_number_integer()) out.push_back(x.get<int64_t>());
  return out;
}

int64_t positive(const nlohmann::json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_number_integer()) fail_input(file, "missing integer field " + key);
  const auto v = j[key].get<int64_t>();
  if (v <= 0) fail_input(file, key + " must be positive, got " + std::to_string(v));
  return v;
}

}  // namespace

Qwen3Config read_qwen3_config(const std::string& file) {
  const auto j = read_json(file);
  const std::string type = j.value("model_type", "");
  if (type != "qwen3") {
    std::string arch = j.contains("architectures") ? j["architectures"].dump() : "none";
    throw UnsupportedError(file + ": model_type '" + type + "' (architectures " + arch +
                           ") is not supported; bmx runs Qwen3 decoders (model_type qwen3)");
  }
  Qwen3Config c;
  c.vocab_size = positive(j, "vocab_size", file);
  c.hidden_size = positive(j, "hidden_size", file);
  c.intermediate_size = positive(j, "intermediate_size", file);
  c.num_layers = positive(j, "num_hidden_layers", file);
  c.num_heads = positive(j, "num_attention_heads", file);
  c.num_kv_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                       ? positive(j, "num_key_value_heads", file)
                       : c.num_heads;
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = positive(j, "head_dim", file);
  } else {
    if (c.hidden_size % c.num_heads) fail_input(file, "hidden_size not divisible by num_attention_heads");
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.num_heads % c.num_kv_heads)
    fail_input(file, "num_attention_heads " + std::to_string(c.num_heads) +
                         " is not a multiple of num_key_value_heads " + std::to_string(c.num_kv_heads));
  if (c.head_dim % 2) fail_input(file, "head_dim must be even for RoPE");
  c.rms_norm_eps = j.value("rms_norm_eps", 1e-6);
  c.rope_theta = j.value("rope_theta", 10000.0);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& rs = j["rope_scaling"];
    const std::string rt = rs.value("rope_type", rs.value("type", std::string("?")));
    if (rt != "default")
      throw UnsupportedError(file + ": rope_scaling of type '" + rt + "' is not supported (plain RoPE only)");
  }
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const auto& rp = j["rope_parameters"];
    const std::string rt = rp.value("rope_type", std::string("default"));
    if (rt != "default")
      throw UnsupportedError(file + ": rope_parameters.rope_type '" + rt + "' is not supported (plain RoPE only)");
    c.rope_theta = rp.value("rope_theta", c.rope_theta);
  }
  if (j.value("use_sliding_window", false))
    throw UnsupportedError(file + ": use_sliding_window is true; sliding-window attention is not supported");
  if (j.value("attention_bias", false))
    throw UnsupportedError(file + ": attention_bias is true; Qwen3 projections without bias only");
  const std::string act = j.value("hidden_act", "silu");
  if (act != "silu") throw UnsupportedError(file + ": hidden_act '" + act + "' is not supported (silu only)");
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  c.max_position_embeddings = j.value("max_position_embeddings", int64_t(32768));
  c.dtype = j.contains("torch_dtype") && j["torch_dtype"].is_string() ? j["torch_dtype"].get<std::string>()
            : j.contains("dtype") && j["dtype"].is_string()       ? j["dtype"].get<std::string>()
                                                                   : "";
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_token_id = j["bos_token_id"];
  if (j.contains("eos_token_id")) c.eos_token_ids = id_list(j["eos_token_id"]);
  return c;
}

GenerationConfig read_generation_config(const std::string& dir, const Qwen3Config& config) {
  namespace fs = std::filesystem;
  GenerationConfig g;
  g.eos_token_ids = config.eos_token_ids;
  g.bos_token_id = config.bos_token_id;
  const auto gpath = fs::path(dir) / "generation_config.json";
  if (fs::exists(gpath)) {
    const auto j = read_json(gpath.string());
    const std::string f = gpath.string();
    auto num = [&](const char* k, double& v) {
      if (j.contains(k) && j[k].is_number()) v = j[k].get<double>();
    };
    auto integer = [&](const char* k, int64_t& v) {
      if (j.contains(k) && j[k].is_number_integer()) v = j[k].get<int64_t>();
    };
    if (j.contains("do_sample") && j["do_sample"].is_boolean()) g.do_sample = j["do_sample"];
    num("temperature", g.temperature);
    integer("top_k", g.top_k);
    num("top_p", g.top_p);
    if (j.contains("min_p") && j["min_p"].is_number()) g.min_p = j["min_p"].get<double>();
    num("repetition_penalty", g.repetition_penalty);
    integer("max_new_tokens", g.max_new_tokens);
    integer("max_length", g.max_length);
    integer("pad_token_id", g.pad_token_id);
    integer("bos_token_id", g.bos_token_id);
    if (j.contains("eos_token_id") && !id_list(j["eos_token_id"]).empty()) g.eos_token_ids = id_list(j["eos_token_id"]);
    if (j.contains("stop_strings")) {
      if (j["stop_strings"].is_string()) g.stop_strings.push_back(j["stop_strings"]);
      if (j["stop_strings"].is_array())
        for (auto& s : j["stop_strings"])
          if (s.is_string()) g.stop_strings.push_back(s);
    }
  }
  const auto tpath = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(tpath)) {
    const auto j = read_json(tpath.string());
    std::string eos;
    if (j.contains("eos_token")) {
      if (j["eos_token"].is_string()) eos = j["eos_token"];
      if (j["eos_token"].is_object()) eos = j["eos_token"].value("content", "");
    }
    if (!eos.empty() && j.contains("added_tokens_decoder") && j["added_tokens_decoder"].is_object())
      for (auto& [id, tok] : j["added_tokens_decoder"].items())
        if (tok.is_object() && tok.value("content", "") == eos) {
          const int64_t v = std::stoll(id);
          if (std::find(g.eos_token_ids.begin(), g.eos_token_ids.end(), v) == g.eos_token_ids.end())
            g.eos_token_ids.push_back(v);
        }
  }
  if (g.pad_token_id < 0 && !g.eos_token_ids.empty()) g.pad_token_id = g.eos_token_ids.front();
  return g;
}

namespace {

// Highest token id in tokenizer.json (model.vocab values, added_tokens[].id) without building the document tree:
// the file is megabytes and the tokenizer parses it again for itself.
struct MaxIdScan : nlohmann::json_sax<nlohmann::json> {
  struct Level {
    std::string key;  // the key this container sits under ("[]" inside an array)
    bool array;
  };
  std::vector<Level> stack;
  std::string last_key;
  int64_t max_id = -1;

  bool in_vocab() const {
    return stack.size() == 3 && !stack[2].array && stack[1].key == "model" && stack[2].key == "vocab";
  }
  bool in_added_token() const { return stack.size() == 3 && stack[1].key == "added_tokens" && stack[1].array; }
  bool id(int64_t v) {
    if (in_vocab() || (in_added_token() && last_key == "id")) max_id = std::max(max_id, v);
    return true;
  }
  bool open(bool array) {
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
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = e.what();
    return false;
  }
  std::string error;
};

}  // namespace

int64_t read_tokenizer_size(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "tokenizer.json";
  if (!std::filesystem::exists(path)) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path.string(), "cannot open");
  MaxIdScan scan;
  if (!nlohmann::json::sax_parse(in, &scan)) fail_input(path.string(), "bad JSON: " + scan.error);
  return scan.max_id + 1;
}

}  // namespace bmx
