// bmx quantize's folders (core/llm/quantized_model.h): what is saved loads back memory-mapped and computes the very
// logits of the model rounded in memory; a file that does not match its config.json, of another version, or with
// a broken scale is refused naming file and tensor.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "bmx/core/io/safetensors.h"
#include "bmx/core/llm/quantized_model.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/util/error.h"
#include "common.h"
#include "shared.h"

namespace fs = std::filesystem;
namespace k = bmx::kernels;
using bmx::test::tiny_model_dir;

namespace {

at::Tensor logits_of(const bmx::Qwen3Model& m) {
  const std::vector<int64_t> prompt{1, 5, 9, 2, 7, 3, 11, 4};
  const int64_t T = int64_t(prompt.size());
  return bmx::qwen3_forward(m, at::tensor(prompt, at::kLong).view({1, T}), at::arange(T, at::kLong).view({1, T}));
}

std::string saved(const std::string& model, k::BlockFormat f) {
  const fs::path out = bmx::test::scratch_dir("quantized_model") / (model + "-" + k::format_name(f));
  fs::remove_all(out);
  bmx::Qwen3Model m = bmx::load_qwen3(tiny_model_dir(model));
  bmx::quantize_weights(m, f);
  bmx::save_quantized_model(m, tiny_model_dir(model), out.string());
  return out.string();
}

// Rewrites DIR/model.safetensors after `edit` changed its tensors or metadata.
void rewrite(const std::string& dir, const std::function<void(std::map<std::string, at::Tensor>&,
                                                              std::map<std::string, std::string>&)>& edit) {
  const std::string path = dir + "/model.safetensors";
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::string> meta;
  {
    bmx::SafetensorsFile f(path);
    for (auto& [name, e] : f.entries()) tensors[name] = f.tensor(name).clone();
    meta = f.metadata();
  }
  edit(tensors, meta);
  std::vector<bmx::SafetensorsSpec> specs;
  for (auto& [name, t] : tensors) {
    const std::string dtype = t.scalar_type() == at::kByte ? "U8" : t.scalar_type() == at::kHalf ? "F16"
                              : t.scalar_type() == at::kBFloat16 ? "BF16" : "F32";
    specs.push_back({name, dtype, t.sizes().vec()});
  }
  meta.erase("format");
  bmx::write_safetensors(path, specs, [&](const std::string& n) { return tensors.at(n); }, meta);
}

}  // namespace

TEST_CASE("save_quantized_model: the folder loads mapped and gives the logits of the model rounded in memory") {
  for (const std::string model : {"tiny-tied", "tiny-untied-sharded"})
    for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0}) {
      CAPTURE(model);
      CAPTURE(k::format_name(f));
      bmx::Qwen3Model rounded = bmx::load_qwen3(tiny_model_dir(model));
      bmx::quantize_weights(rounded, f);
      const std::string dir = saved(model, f);
      bmx::Qwen3Model loaded = bmx::load_qwen3(dir);
      CHECK(loaded.weights_format == k::format_name(f));
      CHECK(loaded.layers[1].down_proj.quantized());
      CHECK(loaded.lm_head.quantized());
      CHECK(!loaded.layers[1].down_proj.weight.defined());  // no BF16 copy kept, none read
      CHECK(bmx::decode_bytes_per_token(loaded) == bmx::decode_bytes_per_token(rounded));
      // Mapped, the file's rows are used as they are; the model rounded in memory is in the kernels' order
      // (tiles where AVX-512 VNNI runs): the same integer block sums, added in another float order.
      CHECK(loaded.layers[1].down_proj.blocks.order == k::BlockOrder::rows);
      CHECK(rounded.layers[1].down_proj.blocks.order == k::preferred_block_order());
      CHECK(at::allclose(logits_of(loaded), logits_of(rounded), 1e-4, 1e-4));
      // Read into memory, the folder is rearranged in place into that order: the very same logits.
      bmx::Qwen3Model read = bmx::load_qwen3(dir, bmx::FileAccess::read);
      CHECK(read.layers[1].down_proj.blocks.order == k::preferred_block_order());
      CHECK(at::equal(logits_of(read), logits_of(rounded)));
      // The tokenizer and generation files come along; the source weights (shards, index) do not.
      CHECK(fs::exists(dir + "/config.json"));
      CHECK(fs::exists(dir + "/generation_config.json"));
      CHECK(!fs::exists(dir + "/model.safetensors.index.json"));
      CHECK(bmx::SafetensorsCheckpoint(dir).metadata().at("bmx.weights") == k::format_name(f));
      // Rounding again to the same format changes nothing; to the other one is refused (errors would stack).
      bmx::quantize_weights(read, f);
      CHECK(at::equal(logits_of(read), logits_of(rounded)));
      const k::BlockFormat other = f == k::BlockFormat::q8_0 ? k::BlockFormat::q4_0 : k::BlockFormat::q8_0;
      const std::string stored_as = std::string("stored as ") + k::format_name(f);
      CHECK_THROWS_WITH_AS(bmx::quantize_weights(loaded, other), doctest::Contains(stored_as.c_str()), bmx::InputError);
    }
}

TEST_CASE("save_quantized_model: never into the model folder or a folder that holds files") {
  bmx::Qwen3Model m = bmx::load_qwen3(tiny_model_dir("tiny-tied"));
  bmx::quantize_weights(m, k::BlockFormat::q8_0);
  CHECK_THROWS_WITH_AS(bmx::save_quantized_model(m, tiny_model_dir("tiny-tied"), tiny_model_dir("tiny-tied")),
                       doctest::Contains("is the model folder itself"), bmx::InputError);
  const std::string dir = saved("tiny-tied", k::BlockFormat::q8_0);
  CHECK_THROWS_WITH_AS(bmx::save_quantized_model(m, tiny_model_dir("tiny-tied"), dir),
                       doctest::Contains("not empty"), bmx::InputError);
}

TEST_CASE("load_qwen3: a quantized file that does not match its model is refused by name") {
  SUBCASE("config.json of another shape") {
    const std::string dir = saved("tiny-tied", k::BlockFormat::q8_0);
    nlohmann::json c = nlohmann::json::parse(bmx::test::read_file(dir + "/config.json"));
    c["intermediate_size"] = c["intermediate_size"].get<int>() + 64;
    std::ofstream(dir + "/config.json") << c.dump();
    CHECK_THROWS_WITH_AS(bmx::load_qwen3(dir), doctest::Contains("model.layers.0.mlp.gate_proj.weight.q8_0: U8 ["),
                         bmx::InputError);
  }
  SUBCASE("another format version") {
    const std::string dir = saved("tiny-tied", k::BlockFormat::q4_0);
    rewrite(dir, [](auto&, auto& meta) { meta["bmx.weights_version"] = "7"; });
    CHECK_THROWS_WITH_AS(bmx::load_qwen3(dir), doctest::Contains("format version '7'"), bmx::InputError);
  }
  SUBCASE("an unknown format") {
    const std::string dir = saved("tiny-tied", k::BlockFormat::q4_0);
    rewrite(dir, [](auto&, auto& meta) { meta["bmx.weights"] = "q3_k"; });
    CHECK_THROWS_WITH_AS(bmx::load_qwen3(dir), doctest::Contains("unknown quantized weight format 'q3_k'"),
                         bmx::InputError);
  }
  SUBCASE("a missing scale tensor") {
    const std::string dir = saved("tiny-untied-sharded", k::BlockFormat::q8_0);
    rewrite(dir, [](auto& t, auto&) { t.erase("lm_head.weight.scales"); });
    CHECK_THROWS_WITH_AS(bmx::load_qwen3(dir), doctest::Contains("lm_head.weight.scales: tensor is missing"),
                         bmx::InputError);
  }
  SUBCASE("a NaN scale") {
    const std::string dir = saved("tiny-tied", k::BlockFormat::q8_0);
    rewrite(dir, [](auto& t, auto&) {
      at::Tensor& s = t.at("model.layers.1.self_attn.v_proj.weight.scales");
      static_cast<uint16_t*>(s.data_ptr())[5] = 0x7e00;  // f16 NaN
    });
    CHECK_THROWS_WITH_AS(bmx::load_qwen3(dir),
                         doctest::Contains("model.layers.1.self_attn.v_proj.weight.scales: holds NaN or inf scales"),
                         bmx::InputError);
  }
}
