// bmx dev random-model: a Qwen3 checkpoint with random BF16 weights in Hugging Face layout (config.json,
// generation_config.json, tokenizer files, safetensors sharded when large), so tests and benchmarks need
// no download. Shapes are the real ones of Qwen3-4B / Qwen3-1.7B, or a tiny model.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "bmx/core/io/output_file.h"
#include "bmx/core/io/read_file.h"
#include "bmx/core/util/error.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/llm/model_config.h"
#include "bmx/core/io/safetensors.h"
#include "bmx/tokenizers/text_generation.h"
#include "llm_common.h"

namespace bmx::app {
namespace {

namespace fs = std::filesystem;

struct RandomModelOptions {
  std::string like = "tiny", tokenizer, out;
  uint64_t seed = 0;
  double shard_gib = 2.0;
};

struct Shape {
  int64_t V, H, I, L, Nq, Nkv, D, max_pos;
  double theta;
};

Shape shape_of(const std::string& like) {
  if (like == "qwen3-4b") return {151936, 2560, 9728, 36, 32, 8, 128, 32768, 1e6};
  if (like == "qwen3-1.7b") return {151936, 2048, 6144, 28, 16, 8, 128, 40960, 1e6};
  if (like == "tiny") return {1024, 64, 128, 2, 4, 2, 32, 4096, 1e6};
  throw InputError("--like " + like + ": choose qwen3-4b, qwen3-1.7b or tiny");
}

// Uniform values of standard deviation `stddev` (mean `mean`), deterministic per (seed, tensor), as BF16.
at::Tensor random_bf16(const std::vector<int64_t>& shape, double mean, double stddev, uint64_t seed) {
  auto t = at::empty(shape, at::kBFloat16);
  auto* p = static_cast<uint16_t*>(t.data_ptr());
  const float a = float(stddev * std::sqrt(3.0)), m = float(mean);
  at::parallel_for(0, t.numel(), 1 << 18, [&](int64_t b, int64_t e) {
    uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t(b) * 0xD1B54A32D192ED03ull) ^ 0x2545F4914F6CDD1Dull;
    for (int64_t i = b; i < e; ++i) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      const float u = float(s >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;  // [-1, 1)
      p[i] = kernels::float_to_bf16(m + a * u);
    }
  });
  return t;
}

void write_json(const fs::path& p, const nlohmann::ordered_json& j) { write_output_file(p.string(), j.dump(2) + "\n"); }

// The model is written into a hidden folder beside the output and moved into place only when every file is
// complete, so a failure (full disk, no memory) leaves no half-written model folder behind.
class StagingFolder {
 public:
  explicit StagingFolder(const fs::path& out) : out_(out) {
    std::error_code ec;
    if (fs::exists(out_, ec) && !fs::is_directory(out_, ec)) throw InputError(out_.string() + ": not a folder");
    const fs::path parent = out_.has_parent_path() ? out_.parent_path() : fs::path(".");
    if (!fs::create_directories(parent, ec) && ec)
      throw InputError(parent.string() + ": cannot create the folder: " + ec.message());
    dir_ = parent / ("." + out_.filename().string() + ".partial-" + std::to_string(::getpid()));
    fs::remove_all(dir_, ec);
    if (!fs::create_directory(dir_, ec)) throw InputError(dir_.string() + ": cannot create the folder: " + ec.message());
  }
  ~StagingFolder() {
    std::error_code ec;
    if (!done_) fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

  // Moves the files into the output folder (created when absent, else each file replaced).
  void commit() {
    std::error_code ec;
    if (!fs::exists(out_, ec)) {
      fs::rename(dir_, out_, ec);
      if (ec) throw InputError(out_.string() + ": cannot move the model into place: " + ec.message());
    } else {
      for (auto& e : fs::directory_iterator(dir_)) {
        fs::rename(e.path(), out_ / e.path().filename(), ec);
        if (ec) throw InputError((out_ / e.path().filename()).string() + ": cannot move into place: " + ec.message());
      }
      fs::remove(dir_, ec);
    }
    done_ = true;
  }

 private:
  fs::path out_, dir_;
  bool done_ = false;
};

void write_random_model(const RandomModelOptions& o, const fs::path& out);

void run_random_model(const RandomModelOptions& o) {
  fs::path target = fs::path(o.out).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "dir/" -> "dir"
  StagingFolder staging(target);
  try {
    write_random_model(o, staging.dir());
  } catch (const c10::Error& e) {
    // ATen's errors carry a C++ stack trace over many lines: one line in bmx's words instead.
    std::string msg = e.what_without_backtrace();
    msg = msg.substr(0, msg.find('\n'));
    throw InputError(o.out + ": cannot make the random model: " + msg);
  } catch (const std::bad_alloc&) {
    throw InputError(o.out + ": cannot make the random model: out of memory");
  }
  staging.commit();
}

void write_random_model(const RandomModelOptions& o, const fs::path& out) {
  Shape s = shape_of(o.like);
  int64_t tok_size = 0;
  nlohmann::json tok_config;
  if (!o.tokenizer.empty()) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                          "special_tokens_map.json", "added_tokens.json"}) {
      const fs::path src = fs::path(o.tokenizer) / f;
      if (fs::exists(src)) write_output_file((out / f).string(), read_file(src.string()));
    }
    tok_size = tokenizer_size(o.tokenizer);
    if (tok_size == 0) throw InputError(o.tokenizer + ": no tokenizer.json");
    // The loader's bound on vocab_size (core/llm/model_config.cpp): a larger model could not be read back.
    if (tok_size > (int64_t(1) << 24))
      throw InputError(o.tokenizer + ": the tokenizer has " + std::to_string(tok_size) +
                       " ids, more than a decoder's vocabulary may have (16777216)");
    // Rows for every tokenizer id (multiple of 128); the real shapes keep their 151,936 when that is enough.
    s.V = std::max(s.V, (tok_size + 127) / 128 * 128);
  }
  // Special ids: Qwen's when the tokenizer has them, else the last ids of a tiny vocabulary.
  TokenId bos = s.V > 151643 ? 151643 : 1, eos = bos;
  std::vector<TokenId> eos_ids{eos};
  if (tok_size > 151645) eos_ids.push_back(151645);  // <|im_end|> ends chat turns

  nlohmann::ordered_json cfg;
  cfg["architectures"] = {"Qwen3ForCausalLM"};
  cfg["attention_bias"] = false;
  cfg["attention_dropout"] = 0.0;
  cfg["bos_token_id"] = bos;
  cfg["eos_token_id"] = eos;
  cfg["head_dim"] = s.D;
  cfg["hidden_act"] = "silu";
  cfg["hidden_size"] = s.H;
  cfg["initializer_range"] = 0.02;
  cfg["intermediate_size"] = s.I;
  cfg["max_position_embeddings"] = s.max_pos;
  cfg["max_window_layers"] = s.L;
  cfg["model_type"] = "qwen3";
  cfg["num_attention_heads"] = s.Nq;
  cfg["num_hidden_layers"] = s.L;
  cfg["num_key_value_heads"] = s.Nkv;
  cfg["rms_norm_eps"] = 1e-6;
  cfg["rope_scaling"] = nullptr;
  cfg["rope_theta"] = s.theta;
  cfg["sliding_window"] = nullptr;
  cfg["tie_word_embeddings"] = true;
  cfg["torch_dtype"] = "bfloat16";
  cfg["use_cache"] = true;
  cfg["use_sliding_window"] = false;
  cfg["vocab_size"] = s.V;
  write_json(out / "config.json", cfg);
  nlohmann::ordered_json gen;
  gen["bos_token_id"] = bos;
  gen["do_sample"] = false;
  gen["eos_token_id"] = eos_ids.size() == 1 ? nlohmann::ordered_json(eos) : nlohmann::ordered_json(eos_ids);
  gen["max_new_tokens"] = 2048;
  write_json(out / "generation_config.json", gen);

  // Tensors in model order; scales keep activations and logits in a sane range.
  std::vector<SafetensorsSpec> specs;
  std::map<std::string, std::pair<double, double>> dist;  // name -> (mean, stddev)
  auto add = [&](const std::string& name, std::vector<int64_t> shape, double mean, double sd) {
    specs.push_back({name, "BF16", shape});
    dist[name] = {mean, sd};
  };
  add("model.embed_tokens.weight", {s.V, s.H}, 0, 1.0);
  for (int64_t i = 0; i < s.L; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const double in_sd = 1.0 / std::sqrt(double(s.H));
    add(p + "input_layernorm.weight", {s.H}, 1.0, 0.05);
    add(p + "self_attn.q_proj.weight", {s.Nq * s.D, s.H}, 0, in_sd);
    add(p + "self_attn.k_proj.weight", {s.Nkv * s.D, s.H}, 0, in_sd);
    add(p + "self_attn.v_proj.weight", {s.Nkv * s.D, s.H}, 0, in_sd);
    add(p + "self_attn.q_norm.weight", {s.D}, 1.0, 0.05);
    add(p + "self_attn.k_norm.weight", {s.D}, 1.0, 0.05);
    add(p + "self_attn.o_proj.weight", {s.H, s.Nq * s.D}, 0, 0.5 / std::sqrt(double(s.Nq * s.D * s.L)));
    add(p + "post_attention_layernorm.weight", {s.H}, 1.0, 0.05);
    add(p + "mlp.gate_proj.weight", {s.I, s.H}, 0, in_sd);
    add(p + "mlp.up_proj.weight", {s.I, s.H}, 0, in_sd);
    add(p + "mlp.down_proj.weight", {s.H, s.I}, 0, 0.5 / std::sqrt(double(s.I * s.L)));
  }
  add("model.norm.weight", {s.H}, 1.0, 0.05);

  // Shards of at most shard_gib (model order), a single model.safetensors when everything fits.
  const uint64_t limit = uint64_t(o.shard_gib * double(1ull << 30));
  std::vector<std::vector<SafetensorsSpec>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (auto& sp : specs) {
    uint64_t bytes = 2;
    for (auto d : sp.shape) bytes *= uint64_t(d);
    if (in_shard > 0 && in_shard + bytes > limit) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(sp);
    in_shard += bytes;
    total += bytes;
  }
  std::map<std::string, uint64_t> seeds;
  for (size_t i = 0; i < specs.size(); ++i) seeds[specs[i].name] = o.seed * 1000003ull + i;
  auto make = [&](const std::string& name) {
    const auto& sp = *std::find_if(specs.begin(), specs.end(), [&](auto& x) { return x.name == name; });
    return random_bf16(sp.shape, dist[name].first, dist[name].second, seeds[name]);
  };
  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = nlohmann::ordered_json::object();
  const size_t n = shards.size();
  for (size_t k = 0; k < n; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", k + 1, n);
    const std::string file = n == 1 ? "model.safetensors" : name;
    std::fprintf(stderr, "writing %s (%zu tensors)\n", (fs::path(o.out) / file).c_str(), shards[k].size());
    write_safetensors((out / file).string(), shards[k], make);
    for (auto& sp : shards[k]) index["weight_map"][sp.name] = file;
  }
  if (n > 1) write_json(out / "model.safetensors.index.json", index);
  std::fprintf(stderr, "%s: %s-shaped model, %lld ids (%lld from the tokenizer), %.2f GB of BF16 weights\n",
               o.out.c_str(), o.like.c_str(), (long long)s.V, (long long)tok_size, double(total) / 1e9);
}

}  // namespace

void add_random_model(CLI::App& dev) {
  auto o = std::make_shared<RandomModelOptions>();
  auto* c = dev.add_subcommand("random-model", "Write a random-weight Qwen3 model in Hugging Face layout (BF16)");
  c->add_option("--like", o->like, "Shape: qwen3-4b, qwen3-1.7b or tiny")->check(CLI::IsMember({"qwen3-4b", "qwen3-1.7b", "tiny"}));
  c->add_option("--tokenizer", o->tokenizer, "Folder with tokenizer.json (+ tokenizer_config.json) to copy; sets the vocabulary size")
      ->check(CLI::ExistingDirectory);
  c->add_option("-o,--output", o->out, "Output folder")->required();
  c->add_option("--seed", o->seed, "Seed of the weights");
  c->add_option("--shard-gib", o->shard_gib, "Largest shard in GiB")->check(CLI::PositiveNumber);
  c->callback([o] { run_random_model(*o); });
}

}  // namespace bmx::app
