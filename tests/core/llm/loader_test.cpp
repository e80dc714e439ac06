// Loading checks: config fields, generation config, sharded/tied layouts, mmap without copies, and one-line
// errors naming tensor and file for broken checkpoints (broken copies made in scratch_dir).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <cmath>
#include <limits>

#include "bmx/core/util/error.h"
#include "bmx/core/io/safetensors.h"
#include "bmx/core/util/memory_info.h"
#include "bmx/core/llm/generation.h"
#include "bmx/core/nn/pair_tiles.h"
#include "common.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::test::tiny_model_dir;

namespace {

fs::path copy_model(const std::string& name, const std::string& scratch) {
  auto dir = bmx::test::scratch_dir(scratch);
  for (auto& e : fs::directory_iterator(tiny_model_dir(name))) {
    fs::copy_file(e.path(), dir / e.path().filename());
    fs::permissions(dir / e.path().filename(), fs::perms::owner_write, fs::perm_options::add);
  }
  return dir;
}

// Rewrites a safetensors file through `edit` (which may drop or replace entries).
void rewrite(const fs::path& file,
             const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  {
    bmx::SafetensorsFile f(file.string());
    for (auto& [name, e] : f.entries()) tensors.emplace_back(name, f.tensor(name).clone());
  }
  edit(tensors);
  bmx::write_safetensors(file.string(), tensors);
}

std::string load_error(const fs::path& dir) {
  try {
    bmx::load_qwen3(dir.string());
  } catch (const bmx::InputError& e) {  // bad files: input errors, one line each
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.what();
  } catch (const bmx::UnsupportedError& e) {  // valid files bmx does not run: named as such, one line
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.what();
  }
  return "";
}

void write_text(const fs::path& p, const std::string& s) {
  fs::remove(p);
  std::ofstream(p) << s;
}

// The load error of DIR after its config.json became `config` with `from` replaced by `to`.
std::string config_edit_error(const fs::path& dir, std::string config, const std::string& from, const std::string& to) {
  const auto at = config.find(from);
  REQUIRE(at != std::string::npos);
  config.replace(at, from.size(), to);
  write_text(dir / "config.json", config);
  return load_error(dir);
}

}  // namespace

TEST_CASE("load: configs, tied and untied heads, sharded files, weights mapped in place") {
  const auto& tied = bmx::test::tiny_model("tiny-tied");
  CHECK(tied.config.vocab_size == 1024);
  CHECK(tied.config.head_dim == 32);
  CHECK(tied.config.num_heads * tied.config.head_dim == 128);
  CHECK(tied.layers.size() == 2);
  CHECK(tied.lm_head.weight.data_ptr() == tied.embed_tokens.data_ptr());
  CHECK((tied.embed_tokens.scalar_type() == at::kBFloat16));
  CHECK(tied.generation.eos_token_ids == std::vector<bmx::TokenId>{2});
  CHECK(tied.generation.max_new_tokens == 32);
  CHECK(tied.generation.top_k == 50);  // transformers' default when absent

  const auto& sharded = bmx::test::tiny_model("tiny-untied-sharded");
  CHECK(sharded.lm_head.weight.data_ptr() != sharded.embed_tokens.data_ptr());
  CHECK(sharded.config.rms_norm_eps == doctest::Approx(1e-5));
  CHECK(sharded.config.rope_theta == doctest::Approx(1e4));
  CHECK(sharded.layers.size() == 3);
  const auto& padded = bmx::test::tiny_model("tiny-padded-vocab");
  CHECK(padded.generation.eos_token_ids == std::vector<bmx::TokenId>{998, 999});
  CHECK(padded.config.num_kv_heads == 1);

  // Weights are views of the mapping: the embedding's bytes lie inside the file's mapped range.
  const auto file = fs::path(tiny_model_dir("tiny-tied")) / "model.safetensors";
  bmx::SafetensorsFile f(file.string());
  auto a = f.tensor("model.embed_tokens.weight"), b = f.tensor("model.embed_tokens.weight");
  CHECK(a.data_ptr() == b.data_ptr());
  CHECK(f.metadata().at("format") == "pt");
  uint64_t data = 0;
  for (auto& [n, e] : f.entries()) data += e.end - e.begin;
  CHECK(data + 8 < fs::file_size(file));
  CHECK(tied.weight_bytes == data);
}

TEST_CASE("load: safetensors round trip and a header length that is not a multiple of 8") {
  auto dir = bmx::test::scratch_dir("qwen3_roundtrip");
  auto t = at::arange(12, at::kFloat).view({3, 4}).to(at::kBFloat16);
  auto h = at::arange(5, at::kFloat).to(at::kHalf);
  bmx::write_safetensors((dir / "a.safetensors").string(), {{"t", t}, {"h", h}});
  bmx::SafetensorsFile f((dir / "a.safetensors").string());
  CHECK(f.tensor("t").equal(t));
  CHECK(f.tensor("h").equal(h));
  // Hand-written header of odd length: data starts unaligned and is still read correctly.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  if (header.size() % 2 == 0) header += " ";
  std::ofstream out(dir / "odd.safetensors", std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  float vals[2] = {1.5f, -2.0f};
  out.write(reinterpret_cast<const char*>(vals), 8);
  out.close();
  bmx::SafetensorsFile odd((dir / "odd.safetensors").string());
  CHECK(odd.tensor("x")[1].item<float>() == -2.0f);
}

TEST_CASE("load errors: truncated shard, missing tensor, wrong shape, wrong dtype name tensor and file") {
  {
    auto dir = copy_model("tiny-untied-sharded", "qwen3_truncated");
    const auto shard = dir / "model-00002-of-00002.safetensors";
    fs::resize_file(shard, fs::file_size(shard) - 100);
    const auto msg = load_error(dir);
    CHECK(msg.find("model-00002-of-00002.safetensors") != std::string::npos);
    CHECK(msg.find("truncated") != std::string::npos);
    CHECK(msg.find("model.") != std::string::npos);  // the tensor whose data is cut
    CHECK(msg.find('\n') == std::string::npos);
  }
  {
    auto dir = copy_model("tiny-tied", "qwen3_missing");
    rewrite(dir / "model.safetensors", [](auto& ts) {
      ts.erase(std::remove_if(ts.begin(), ts.end(), [](auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }),
               ts.end());
    });
    const auto msg = load_error(dir);
    CHECK(msg.find("model.layers.1.mlp.up_proj.weight") != std::string::npos);
    CHECK(msg.find("model.safetensors") != std::string::npos);
    CHECK(msg.find("missing") != std::string::npos);
  }
  {
    auto dir = copy_model("tiny-tied", "qwen3_shape");
    rewrite(dir / "model.safetensors", [](auto& ts) {
      for (auto& [n, t] : ts)
        if (n == "model.layers.0.self_attn.k_proj.weight") t = t.narrow(0, 0, 32).contiguous();
    });
    const auto msg = load_error(dir);
    CHECK(msg.find("model.layers.0.self_attn.k_proj.weight") != std::string::npos);
    CHECK(msg.find("[32, 64]") != std::string::npos);
    CHECK(msg.find("[64, 64]") != std::string::npos);
  }
  {
    auto dir = copy_model("tiny-tied", "qwen3_dtype");
    rewrite(dir / "model.safetensors", [](auto& ts) {
      for (auto& [n, t] : ts)
        if (n == "model.norm.weight") t = t.to(at::kLong);
    });
    const auto msg = load_error(dir);
    CHECK(msg.find("model.norm.weight") != std::string::npos);
    CHECK(msg.find("I64") != std::string::npos);
  }
  {
    auto dir = copy_model("tiny-untied-sharded", "qwen3_nohead");
    rewrite(dir / "model-00002-of-00002.safetensors", [](auto& ts) {
      ts.erase(std::remove_if(ts.begin(), ts.end(), [](auto& p) { return p.first == "lm_head.weight"; }), ts.end());
    });
    const auto msg = load_error(dir);  // the index still names it: the shard lacks it
    CHECK(msg.find("lm_head.weight") != std::string::npos);
    CHECK(msg.find("model-00002-of-00002.safetensors") != std::string::npos);
  }
  {
    auto dir = copy_model("tiny-tied", "qwen3_f32");  // F32 and F16 checkpoints load as well
    rewrite(dir / "model.safetensors", [](auto& ts) {
      for (auto& [n, t] : ts) t = n.find("mlp") != std::string::npos ? t.to(at::kHalf) : t.to(at::kFloat);
    });
    auto m = bmx::load_qwen3(dir.string());
    const auto& ref = bmx::test::tiny_model("tiny-tied");
    auto ids = at::tensor(std::vector<int64_t>{1, 5, 9, 700}, at::kLong).view({1, 4});
    auto pos = at::arange(4, at::kLong).view({1, 4});
    auto a = bmx::qwen3_forward(m, ids, pos), b = bmx::qwen3_forward(ref, ids, pos);
    CHECK((a - b).abs().max().item<float>() < 1e-4f);  // bf16 -> f16 of these weights is exact or close
  }
}

TEST_CASE("load errors: other architectures and unsupported options are refused with the field named") {
  auto dir = copy_model("tiny-tied", "qwen3_arch");
  const auto config = bmx::test::read_file(dir / "config.json");
  auto with = [&](const std::string& from, const std::string& to) { return config_edit_error(dir, config, from, to); };
  auto msg = with("\"model_type\": \"qwen3\"", "\"model_type\": \"llama\"");
  CHECK(msg.find("llama") != std::string::npos);
  CHECK(msg.find("config.json") != std::string::npos);
  CHECK(with("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}").find("yarn") !=
        std::string::npos);
  CHECK(with("\"use_sliding_window\": false", "\"use_sliding_window\": true").find("sliding") != std::string::npos);
  msg = with("\"vocab_size\": 1024", "\"vocab_size\": 1000");
  CHECK(msg.find("model.embed_tokens.weight") != std::string::npos);
  CHECK(msg.find("[1000, 64]") != std::string::npos);
  msg = with("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");
  CHECK(msg.find("lm_head.weight") != std::string::npos);
  // Newer files: rope_parameters instead of rope_theta.
  write_text(dir / "config.json", config);
  auto s = config;
  s.replace(s.find("\"rope_theta\": 1000000.0"), 23, "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000000.0}");
  write_text(dir / "config.json", s);
  CHECK(bmx::load_qwen3(dir.string()).config.rope_theta == 1e6);
}

TEST_CASE("generation config: defaults, eos list, sampling fields; tokenizer files are not read") {
  auto dir = copy_model("tiny-tied", "qwen3_genconf");
  write_text(dir / "generation_config.json",
             R"({"do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0,
                 "eos_token_id": [7, 8], "max_new_tokens": 12, "stop_strings": ["END"]})");
  // The tokenizer's eos is the tokenizer's to add (bmx/tokenizers/text_generation.h): core ignores this file.
  write_text(dir / "tokenizer_config.json",
             R"({"eos_token": "<|im_end|>", "added_tokens_decoder": {"9": {"content": "<|im_end|>", "special": true}}})");
  auto m = bmx::load_qwen3(dir.string());
  CHECK(m.generation.do_sample);
  CHECK(m.generation.temperature == doctest::Approx(0.6));
  CHECK(m.generation.top_k == 20);
  CHECK(m.generation.min_p.has_value());
  CHECK(m.generation.eos_token_ids == std::vector<bmx::TokenId>{7, 8});
  CHECK(m.generation.pad_token_id == 7);
  CHECK(m.generation.stop_strings == std::vector<std::string>{"END"});
  // Without generation_config.json: config.json's eos, transformers' defaults.
  fs::remove(dir / "generation_config.json");
  fs::remove(dir / "tokenizer_config.json");
  m = bmx::load_qwen3(dir.string());
  CHECK(!m.generation.do_sample);
  CHECK(m.generation.eos_token_ids == std::vector<bmx::TokenId>{2});
  CHECK(m.generation.max_new_tokens == -1);
  CHECK(m.generation.max_length == 20);
}

// Issue 17: a model folder is untrusted input. Each nonsensical config value or checkpoint is one line naming
// the file and the key or tensor, before anything is sized by it.
TEST_CASE("load errors: nonsensical config values name the file and key") {
  auto dir = copy_model("tiny-tied", "qwen3_config_values");
  const auto config = bmx::test::read_file(dir / "config.json");
  auto with = [&](const std::string& from, const std::string& to) { return config_edit_error(dir, config, from, to); };
  const std::string file = (dir / "config.json").string();
  write_text(dir / "config.json", "[1, 2, 3]");
  CHECK(load_error(dir) == file + ": top level is not a JSON object");
  CHECK(with("\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": -1") == file + ": rms_norm_eps must be in (0, 1), got -1.0");
  CHECK(with("\"rms_norm_eps\": 1e-06", "\"rms_norm_eps\": \"small\"") ==
        file + ": rms_norm_eps must be a number, got \"small\"");
  CHECK(with("\"rope_theta\": 1000000.0", "\"rope_theta\": 0") == file + ": rope_theta must be in (1, 1e12), got 0.0");
  CHECK(with("\"hidden_size\": 64", "\"hidden_size\": -64") == file + ": hidden_size must be positive, got -64");
  CHECK(with("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000000") ==
        file + ": num_hidden_layers 1000000000 is beyond 16777216 (the limit)");
  CHECK(with("\"max_position_embeddings\": 512", "\"max_position_embeddings\": -7") ==
        file + ": max_position_embeddings must be positive, got -7");
  CHECK(with("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": \"yes\"") ==
        file + ": tie_word_embeddings must be true or false, got \"yes\"");
  CHECK(with("\"eos_token_id\": 2", "\"eos_token_id\": 5000") ==
        file + ": eos_token_id 5000 is outside the vocabulary (vocab_size 1024)");
  // Fewer layers than the checkpoint holds: the rest would be ignored silently.
  CHECK(with("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1") ==
        file + ": num_hidden_layers is 1 but " + (dir / "model.safetensors").string() +
            " holds model.layers.1.input_layernorm.weight");
  write_text(dir / "config.json", config);
  CHECK(load_error(dir).empty());

  const std::string gen = (dir / "generation_config.json").string();
  write_text(dir / "generation_config.json", R"({"do_sample": true, "top_p": 2.5})");
  CHECK(load_error(dir) == gen + ": top_p must be in [0, 1], got 2.5");
  write_text(dir / "generation_config.json", R"({"eos_token_id": 4294967298})");  // 2^32 + 2, not id 2
  CHECK(load_error(dir) == gen + ": eos_token_id 2147483647 is outside the vocabulary (vocab_size 1024)");
  write_text(dir / "generation_config.json", R"({"temperature": -1})");
  CHECK(load_error(dir) == gen + ": temperature must be at least 0, got -1");
  write_text(dir / "generation_config.json", R"({"pad_token_id": 1024})");
  CHECK(load_error(dir) == gen + ": pad_token_id 1024 is outside the vocabulary (vocab_size 1024)");
  write_text(dir / "generation_config.json", "7");
  CHECK(load_error(dir) == gen + ": top level is not a JSON object");
  write_text(dir / "generation_config.json", std::string(100000, '[') + std::string(100000, ']'));
  CHECK(load_error(dir) == gen + ": JSON nested deeper than 512 levels (the limit)");
  write_text(dir / "generation_config.json", "{\"a\": tru}");
  CHECK(load_error(dir).find("[json.exception") == std::string::npos);
  CHECK(load_error(dir).find(gen + ": not valid JSON: ") == 0);
}

namespace {

// A safetensors file written byte by byte from a header, for layouts write_safetensors never makes.
void write_raw_safetensors(const fs::path& p, const std::string& header, size_t data_bytes) {
  fs::remove(p);
  std::ofstream out(p, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << std::string(data_bytes, '\0');
}

std::string safetensors_error(const fs::path& p) {
  try {
    bmx::SafetensorsFile f(p.string());
  } catch (const bmx::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("load errors: safetensors ranges that overlap, leave the file or overflow") {
  auto dir = bmx::test::scratch_dir("safetensors_ranges");
  const auto f = dir / "x.safetensors";
  const std::string p = f.string();
  write_raw_safetensors(f, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16);
  CHECK(safetensors_error(f) == p + ":b: data_offsets [8, 16) overlap those of a [0, 16)");
  write_raw_safetensors(f, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16);
  CHECK(safetensors_error(f).empty());  // adjacent, not overlapping
  write_raw_safetensors(f, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}})", 16);
  CHECK(safetensors_error(f).find(p + ":a: truncated file") == 0);
  // 2^62 x 4 x 2 bytes wraps to 0 in 64 bits: refused as a shape, not read as an empty tensor.
  write_raw_safetensors(f, R"({"a":{"dtype":"BF16","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", 0);
  CHECK(safetensors_error(f) == p + ":a: shape [4611686018427387904, 4] is larger than any file");
  write_raw_safetensors(f, R"({"a":{"dtype":"F32","shape":"big","data_offsets":[0,0]}})", 0);
  CHECK(safetensors_error(f) == p + ":a: bad header entry: no shape list");
  write_raw_safetensors(f, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 0);
  CHECK(safetensors_error(f) == p + ":a: bad header entry: data_offsets must be 2 non-negative integers");
  write_raw_safetensors(f, R"({"a":)", 0);
  CHECK(safetensors_error(f).find(p + ": bad safetensors header: ") == 0);
  CHECK(safetensors_error(f).find("json.exception") == std::string::npos);
}

TEST_CASE("NaN weights: norms refused at load, matrices at the first logits, naming the tensor") {
  {
    auto dir = copy_model("tiny-tied", "qwen3_nan_norm");
    rewrite(dir / "model.safetensors", [](auto& ts) {
      for (auto& [n, t] : ts)
        if (n == "model.layers.1.self_attn.k_norm.weight") t[3] = std::nanf("");
    });
    CHECK(load_error(dir) == (dir / "model.safetensors").string() +
                                 ":model.layers.1.self_attn.k_norm.weight: holds NaN or inf values");
  }
  {
    auto dir = copy_model("tiny-tied", "qwen3_nan_matrix");
    rewrite(dir / "model.safetensors", [](auto& ts) {
      for (auto& [n, t] : ts)
        if (n == "model.layers.0.mlp.down_proj.weight") t.fill_(std::numeric_limits<float>::infinity());
    });
    auto m = bmx::load_qwen3(dir.string());  // the large matrices are not scanned at load
    bmx::GenerationOptions o = bmx::default_generation_options(m);
    o.max_new_tokens = 4;
    try {
      bmx::generate(m, {{1, 5, 9}}, o);
      FAIL("generated from inf weights");
    } catch (const bmx::InputError& e) {
      CHECK(std::string(e.what()) ==
            (dir / "model.safetensors").string() + ":model.layers.0.mlp.down_proj.weight: holds NaN or inf values");
    }
  }
  {
    // Untied: the embedding row of a token the model generates later, fed back at the second step.
    const auto& clean = bmx::test::tiny_model("tiny-untied-sharded");
    bmx::GenerationOptions o = bmx::default_generation_options(clean);
    o.max_new_tokens = 3;
    o.eos_token_ids.clear();
    const auto free_run = bmx::generate(clean, {{1, 5, 9}}, o)[0].ids;
    REQUIRE(free_run.size() == 3);
    auto dir = copy_model("tiny-untied-sharded", "qwen3_nan_embedding_row");
    std::string shard;
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") {
        bmx::SafetensorsFile f(e.path().string());
        if (f.contains("model.embed_tokens.weight")) shard = e.path().string();
      }
    REQUIRE(!shard.empty());
    rewrite(shard, [&](auto& ts) {
      for (auto& [n, t] : ts)
        if (n == "model.embed_tokens.weight") t[free_run[0]][7] = std::nanf("");
    });
    auto m = bmx::load_qwen3(dir.string());
    CHECK(bmx::generate(m, {{1, 5, 9}}, [&] { auto p = o; p.max_new_tokens = 1; return p; }())[0].ids[0] == free_run[0]);
    try {
      bmx::generate(m, {{1, 5, 9}}, o);
      FAIL("generated past a NaN embedding row");
    } catch (const bmx::InputError& e) {
      CHECK(std::string(e.what()) == shard + ":model.embed_tokens.weight: holds NaN or inf values");
    }
  }
}

// A projection's weights in row order, whichever order the loader left them in.
at::Tensor in_rows(const bmx::nn::Projection& p) {
  if (p.order == bmx::nn::WeightOrder::rows) return p.weight;
  at::Tensor rows = at::empty_like(p.weight);
  bmx::kernels::pair_tiles_to_rows(static_cast<const uint16_t*>(p.weight.data_ptr()), p.weight.size(0),
                                   p.weight.size(1), static_cast<uint16_t*>(rows.data_ptr()));
  return rows;
}

TEST_CASE("load: weights read into memory decode as mapped ones, single file and shards") {
  for (const char* name : {"tiny-tied", "tiny-untied-sharded"}) {
    CAPTURE(name);
    const auto mapped = bmx::load_qwen3(tiny_model_dir(name), bmx::FileAccess::map);
    const auto read = bmx::load_qwen3(tiny_model_dir(name), bmx::FileAccess::read);
    const auto chosen = bmx::load_qwen3(tiny_model_dir(name), bmx::FileAccess::automatic);
    CHECK(mapped.checkpoint->access() == bmx::FileAccess::map);
    CHECK(read.checkpoint->access() == bmx::FileAccess::read);
    // A tiny model fits wherever a few GiB are free; the rule decides on a starved machine.
    const bool fits = bmx::fits_in_memory(read.weight_bytes, bmx::available_memory());
    CHECK(chosen.checkpoint->access() == (fits ? bmx::FileAccess::read : bmx::FileAccess::map));
    CHECK(read.weight_bytes == mapped.weight_bytes);
    // Other memory, the same values.
    CHECK(read.embed_tokens.data_ptr() != mapped.embed_tokens.data_ptr());
    CHECK(at::equal(read.embed_tokens, mapped.embed_tokens));
    // Memory the process owns may hold them in pair tiles (pair_tiles_pay): the same values, summed in another order.
    for (bmx::nn::Projection bmx::Qwen3Layer::*p : {&bmx::Qwen3Layer::q_proj, &bmx::Qwen3Layer::o_proj, &bmx::Qwen3Layer::down_proj}) {
      const auto& r = read.layers.back().*p;
      CHECK(r.order == (bmx::kernels::pair_tiles_pay(bmx::kernels::WeightType::bf16, r.weight.size(0), r.weight.size(1))
                            ? bmx::nn::WeightOrder::pair_tiles : bmx::nn::WeightOrder::rows));
      CHECK(at::equal(in_rows(r), (mapped.layers.back().*p).weight));
    }
    const auto ids = at::arange(1, 9, at::kLong).reshape({1, 8});
    const auto pos = at::arange(0, 8, at::kLong).reshape({1, 8});
    for (int64_t T : {int64_t(8), int64_t(1)}) {  // prefill, one decode step
      const at::Tensor a = bmx::qwen3_forward(read, ids.narrow(1, 0, T), pos.narrow(1, 0, T));
      const at::Tensor b = bmx::qwen3_forward(mapped, ids.narrow(1, 0, T), pos.narrow(1, 0, T));
      CHECK((a - b).abs().max().item<double>() <= 1e-5 * b.abs().max().item<double>());
    }
  }
}

TEST_CASE("checkpoint_file_bytes: the files the checkpoint loads, and nothing else in the folder") {
  for (const char* name : {"tiny-tied", "tiny-untied-sharded"}) {
    CAPTURE(name);
    const auto dir = copy_model(name, std::string("file_bytes_") + name);
    uint64_t expected = 0;
    for (const bmx::MappedFile* f : bmx::SafetensorsCheckpoint(dir.string()).files()) expected += f->size;
    REQUIRE(expected > 0);
    // A stray safetensors file beside the checkpoint (an old export, a quantized copy) is not loaded: not counted.
    std::ofstream(dir / "stray.safetensors") << std::string(12345, 'x');
    CHECK(bmx::checkpoint_file_bytes(dir.string()) == expected);
  }
  const auto empty = bmx::test::scratch_dir("file_bytes_empty");
  CHECK_THROWS_WITH_AS(bmx::checkpoint_file_bytes(empty.string()), doctest::Contains("no model.safetensors"),
                       bmx::InputError);
  const auto broken = copy_model("tiny-untied-sharded", "file_bytes_broken");
  std::ofstream(broken / "model.safetensors.index.json") << "{\"weight_map\": 3}";
  CHECK_THROWS_WITH_AS(bmx::checkpoint_file_bytes(broken.string()), doctest::Contains("no weight_map object"),
                       bmx::InputError);
}
