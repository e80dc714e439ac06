#include "bmx/core/llm/model_config.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bmx/core/io/json_file.h"
#include "bmx/core/util/error.h"

namespace bmx {
namespace {

// A token id as written: read in 64 bits and clamped, so 2^32 + 2 is not taken for id 2 (the range against the
// vocabulary is checked by check_id).
TokenId as_id(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return TokenId(std::min<uint64_t>(v.get<uint64_t>(), uint64_t(INT32_MAX)));
  return TokenId(std::clamp<int64_t>(v.get<int64_t>(), INT32_MIN, INT32_MAX));
}

// int or list of ints (eos_token_id); null/absent -> empty.
std::vector<TokenId> id_list(const nlohmann::json& v) {
  std::vector<TokenId> out;
  if (v.is_number_integer()) out.push_back(as_id(v));
  if (v.is_array())
    for (auto& x : v)
      if (x.is_number_integer()) out.push_back(as_id(x));
  return out;
}

// Sizes far beyond any released decoder, so products of two of them stay far from int64 overflow and a
// lying config is refused before anything is sized by it.
constexpr int64_t kMaxSize = int64_t(1) << 24;

int64_t positive(const nlohmann::json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_number_integer()) fail_input(file, "missing integer field " + key);
  const auto v = j[key].get<int64_t>();
  if (v <= 0) fail_input(file, key + " must be positive, got " + j[key].dump());
  if (v > kMaxSize) fail_input(file, key + " " + std::to_string(v) + " is beyond " + std::to_string(kMaxSize) + " (the limit)");
  return v;
}

// An optional number: `fallback` when absent or null, else a finite JSON number or an error naming the key.
double number(const nlohmann::json& j, const std::string& key, double fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) fail_input(file, key + " must be a number, got " + j[key].dump());
  return j[key].get<double>();
}

bool flag(const nlohmann::json& j, const std::string& key, bool fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) fail_input(file, key + " must be true or false, got " + j[key].dump());
  return j[key].get<bool>();
}

std::string text(const nlohmann::json& j, const std::string& key, const std::string& fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) fail_input(file, key + " must be a string, got " + j[key].dump());
  return j[key].get<std::string>();
}

// A config file whose top level is an array or a number would make every lookup throw a library error.
nlohmann::json read_object(const std::string& file) {
  auto j = read_json_file(file);
  if (!j.is_object()) fail_input(file, "top level is not a JSON object");
  return j;
}

// Every id the runtime may feed back or stop on must index a row of the embedding.
void check_id(TokenId id, const char* key, const Qwen3Config& c, const std::string& file) {
  if (id < 0 || id >= c.vocab_size)
    fail_input(file, std::string(key) + " " + std::to_string(id) + " is outside the vocabulary (vocab_size " +
                         std::to_string(c.vocab_size) + ")");
}

}  // namespace

Qwen3Config read_qwen3_config(const std::string& file) {
  const auto j = read_object(file);
  const std::string type = text(j, "model_type", "", file);
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
  c.rms_norm_eps = number(j, "rms_norm_eps", 1e-6, file);
  c.rope_theta = number(j, "rope_theta", 10000.0, file);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& rs = j["rope_scaling"];
    if (!rs.is_object()) fail_input(file, "rope_scaling must be an object or null");
    const std::string rt = text(rs, "rope_type", text(rs, "type", "?", file), file);
    if (rt != "default")
      throw UnsupportedError(file + ": rope_scaling of type '" + rt + "' is not supported (plain RoPE only)");
  }
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const auto& rp = j["rope_parameters"];
    const std::string rt = text(rp, "rope_type", "default", file);
    if (rt != "default")
      throw UnsupportedError(file + ": rope_parameters.rope_type '" + rt + "' is not supported (plain RoPE only)");
    c.rope_theta = number(rp, "rope_theta", c.rope_theta, file);
  }
  // eps <= 0 divides by zero in every norm and theta <= 1 gives no rotation (0 gives inf, then NaN): the
  // network would run and print nothing useful, so they are refused here.
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1))
    fail_input(file, "rms_norm_eps must be in (0, 1), got " + nlohmann::json(c.rms_norm_eps).dump());
  if (!(c.rope_theta > 1 && c.rope_theta < 1e12))
    fail_input(file, "rope_theta must be in (1, 1e12), got " + nlohmann::json(c.rope_theta).dump());
  if (flag(j, "use_sliding_window", false, file))
    throw UnsupportedError(file + ": use_sliding_window is true; sliding-window attention is not supported");
  if (flag(j, "attention_bias", false, file))
    throw UnsupportedError(file + ": attention_bias is true; Qwen3 projections without bias only");
  const std::string act = text(j, "hidden_act", "silu", file);
  if (act != "silu") throw UnsupportedError(file + ": hidden_act '" + act + "' is not supported (silu only)");
  c.tie_word_embeddings = flag(j, "tie_word_embeddings", false, file);
  c.max_position_embeddings = j.contains("max_position_embeddings") && !j["max_position_embeddings"].is_null()
                                  ? positive(j, "max_position_embeddings", file)
                                  : int64_t(32768);
  c.dtype = j.contains("torch_dtype") && j["torch_dtype"].is_string() ? j["torch_dtype"].get<std::string>()
            : j.contains("dtype") && j["dtype"].is_string()       ? j["dtype"].get<std::string>()
                                                                   : "";
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_token_id = as_id(j["bos_token_id"]);
  if (j.contains("eos_token_id")) c.eos_token_ids = id_list(j["eos_token_id"]);
  for (TokenId id : c.eos_token_ids) check_id(id, "eos_token_id", c, file);
  if (c.bos_token_id != -1) check_id(c.bos_token_id, "bos_token_id", c, file);
  return c;
}

GenerationConfig read_generation_config(const std::string& dir, const Qwen3Config& config) {
  namespace fs = std::filesystem;
  GenerationConfig g;
  g.eos_token_ids = config.eos_token_ids;
  g.bos_token_id = config.bos_token_id;
  const auto gpath = fs::path(dir) / "generation_config.json";
  if (fs::exists(gpath)) {
    const std::string file = gpath.string();
    const auto j = read_object(file);
    auto num = [&](const char* k, double& v) { v = number(j, k, v, file); };
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
      if (j.contains(k) && j[k].is_number_integer()) v = as_id(j[k]);
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
    // The same ranges as the sampling flags (apps/llm_common.cpp): a model folder is untrusted input too.
    auto bad = [&](const char* key, const std::string& want) {
      fail_input(file, std::string(key) + " must be " + want + ", got " + j[key].dump());
    };
    if (g.temperature < 0) bad("temperature", "at least 0");
    if (!(g.top_p >= 0 && g.top_p <= 1)) bad("top_p", "in [0, 1]");
    if (g.min_p && !(*g.min_p >= 0 && *g.min_p <= 1)) bad("min_p", "in [0, 1]");
    if (!(g.repetition_penalty > 0)) bad("repetition_penalty", "positive");
    if (g.top_k < 0) bad("top_k", "at least 0");
    for (TokenId id : g.eos_token_ids) check_id(id, "eos_token_id", config, file);
    if (g.pad_token_id != -1) check_id(g.pad_token_id, "pad_token_id", config, file);
    if (g.bos_token_id != -1 && j.contains("bos_token_id")) check_id(g.bos_token_id, "bos_token_id", config, file);
  }
  if (g.pad_token_id < 0 && !g.eos_token_ids.empty()) g.pad_token_id = g.eos_token_ids.front();
  return g;
}

}  // namespace bmx
