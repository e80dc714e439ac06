#include "bmx/core/llm/model_config.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "bmx/core/io/json_file.h"
#include "bmx/core/util/error.h"

namespace bmx {
namespace {

// int or list of ints (eos_token_id); null/absent -> empty.
std::vector<TokenId> id_list(const nlohmann::json& v) {
  std::vector<TokenId> out;
  if (v.is_number_integer()) out.push_back(v.get<TokenId>());
  if (v.is_array())
    for (auto& x : v)
      if (x.is_number_integer()) out.push_back(x.get<TokenId>());
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
  const auto j = read_json_file(file);
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
    const auto j = read_json_file(gpath.string());
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
    auto id = [&](const char* k, TokenId& v) {
      if (j.contains(k) && j[k].is_number_integer()) v = j[k].get<TokenId>();
    };
    id("pad_token_id", g.pad_token_id);
    id("bos_token_id", g.bos_token_id);
    if (j.contains("eos_token_id") && !id_list(j["eos_token_id"]).empty()) g.eos_token_ids = id_list(j["eos_token_id"]);
    if (j.contains("stop_strings")) {
      if (j["stop_strings"].is_string()) g.stop_strings.push_back(j["stop_strings"]);
      if (j["stop_strings"].is_array())
        for (auto& s : j["stop_strings"])
          if (s.is_string()) g.stop_strings.push_back(s);
    }
  }
  if (g.pad_token_id < 0 && !g.eos_token_ids.empty()) g.pad_token_id = g.eos_token_ids.front();
  return g;
}

}  // namespace bmx
