// Generation behaviour: eos ids and stop strings end a row, padded vocabulary rows are never produced when
// a tokenizer is smaller than vocab_size, the context limit is enforced, sampling is seeded.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "bmx/core/util/error.h"
#include "bmx/core/llm/generation.h"
#include "common.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::test::tiny_model;

namespace {
std::vector<int64_t> prompt_of(int64_t n, int64_t vocab) {
  std::vector<int64_t> p;
  for (int64_t i = 0; i < n; ++i) p.push_back((i * 37 + 11) % vocab);
  return p;
}
}  // namespace

TEST_CASE("generation: eos ids end a row (eos kept), other rows of the batch go on") {
  const auto& m = tiny_model("tiny-tied");
  bmx::GenerationOptions o;
  o.max_new_tokens = 24;
  const auto prompt = prompt_of(6, 1000);
  const auto free_run = bmx::generate(m, {prompt}, o)[0].ids;
  REQUIRE(free_run.size() == 24);
  o.eos_token_ids = {free_run[5]};
  const auto first = size_t(std::find(free_run.begin(), free_run.end(), free_run[5]) - free_run.begin());
  auto out = bmx::generate(m, {prompt, prompt_of(9, 500)}, o);
  CHECK(out[0].finish == bmx::FinishReason::eos);
  CHECK(out[0].ids == std::vector<int64_t>(free_run.begin(), free_run.begin() + long(first) + 1));
  // The second row is independent of the first one finishing.
  bmx::GenerationOptions alone = o;
  CHECK(bmx::generate(m, {prompt_of(9, 500)}, alone)[0].ids == out[1].ids);
}

TEST_CASE("generation: stop strings match across token boundaries") {
  const auto& m = tiny_model("tiny-tied");
  bmx::GenerationOptions o;
  o.max_new_tokens = 20;
  o.decode = [](const std::vector<int64_t>& ids) {
    std::string s;
    for (auto id : ids) s += std::to_string(id) + ",";
    return s;
  };
  const auto prompt = prompt_of(5, 900);
  const auto free_run = bmx::generate(m, {prompt}, o)[0].ids;
  // A stop string made of the tail of token 6 and the head of token 7.
  const std::string a = std::to_string(free_run[6]), b = std::to_string(free_run[7]);
  o.stop_strings = {a.substr(a.size() - 1) + "," + b + ","};
  auto out = bmx::generate(m, {prompt}, o)[0];
  CHECK(out.finish == bmx::FinishReason::stop_string);
  CHECK(out.ids.size() <= 8);
  CHECK(std::equal(out.ids.begin(), out.ids.end(), free_run.begin()));
  CHECK(o.decode(out.ids).size() >= o.stop_strings[0].size());
  CHECK(o.decode(out.ids).compare(o.decode(out.ids).size() - o.stop_strings[0].size(), std::string::npos,
                                  o.stop_strings[0]) == 0);
}

TEST_CASE("generation: padded vocabulary rows are never produced when the tokenizer is smaller") {
  const auto& m = tiny_model("tiny-padded-vocab");
  std::vector<std::vector<int64_t>> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back(prompt_of(3 + 5 * i, 997 - i));
  bmx::GenerationOptions o;
  o.max_new_tokens = 32;
  // Without a tokenizer every row counts (as the vectors want): this model does pick padding ids.
  bool any_padding = false;
  for (auto& g : bmx::generate(m, prompts, o))
    for (auto id : g.ids) any_padding |= id >= 1000;
  REQUIRE(any_padding);
  // A tokenizer.json defining ids 0..999 makes rows 1000..1087 padding.
  auto dir = bmx::test::scratch_dir("qwen3_padded_tok");
  for (auto& e : fs::directory_iterator(bmx::test::tiny_model_dir("tiny-padded-vocab")))
    fs::copy_file(e.path(), dir / e.path().filename());
  {
    std::ofstream tok(dir / "tokenizer.json");
    tok << R"({"model": {"type": "BPE", "vocab": {)";
    for (int i = 0; i < 998; ++i) tok << (i ? "," : "") << "\"t" << i << "\": " << i;
    tok << R"(}}, "added_tokens": [{"id": 998, "content": "<a>"}, {"id": 999, "content": "<b>"}]})";
  }
  auto padded = bmx::load_qwen3(dir.string());
  CHECK(padded.tokenizer_size == 1000);
  auto po = bmx::default_generation_options(padded);
  CHECK(po.vocab_limit == 1000);
  po.max_new_tokens = 32;
  po.eos_token_ids.clear();
  for (double temp : {0.0, 1.5}) {
    po.sampling.temperature = temp;
    po.sampling.top_k = 0;
    for (auto& g : bmx::generate(padded, prompts, po)) {
      CHECK(g.ids.size() == 32);
      for (auto id : g.ids) CHECK(id < 1000);
    }
  }
}

TEST_CASE("generation: context limit") {
  const auto& m = tiny_model("tiny-tied");  // max_position_embeddings 512
  bmx::GenerationOptions o;
  o.max_new_tokens = 32;
  try {
    bmx::generate(m, {prompt_of(512, 1000)}, o);
    FAIL("a prompt filling the context was accepted");
  } catch (const bmx::InputError& e) {
    CHECK(std::string(e.what()).find("512") != std::string::npos);
    CHECK(std::string(e.what()).find("context") != std::string::npos);
  }
  auto out = bmx::generate(m, {prompt_of(500, 1000), prompt_of(20, 1000)}, o);
  CHECK(out[0].ids.size() == 12);
  CHECK(out[0].finish == bmx::FinishReason::context_limit);
  CHECK(out[1].ids.size() == 32);
  CHECK(out[1].finish == bmx::FinishReason::max_new_tokens);
  o.context_length = 30;  // a smaller limit than the model's
  out = bmx::generate(m, {prompt_of(20, 1000)}, o);
  CHECK(out[0].ids.size() == 10);
  CHECK(out[0].finish == bmx::FinishReason::context_limit);
  CHECK_THROWS_AS(bmx::generate(m, {{1, 2, 5000}}, o), bmx::InputError);
  CHECK_THROWS_AS(bmx::generate(m, {{}}, o), bmx::InputError);
}

TEST_CASE("generation: seeded sampling is reproducible and differs between seeds") {
  const auto& m = tiny_model("tiny-untied-sharded");
  bmx::GenerationOptions o;
  o.max_new_tokens = 24;
  o.sampling.temperature = 1.3;
  o.sampling.top_k = 0;
  o.seed = 1;
  const auto a = bmx::generate(m, {prompt_of(7, 700)}, o)[0].ids;
  CHECK(bmx::generate(m, {prompt_of(7, 700)}, o)[0].ids == a);
  o.seed = 2;
  CHECK(bmx::generate(m, {prompt_of(7, 700)}, o)[0].ids != a);
  // Streaming callback sees every token in order.
  std::vector<int64_t> streamed;
  o.seed = 1;
  bmx::generate(m, {prompt_of(7, 700)}, o, [&](size_t row, int64_t id) { streamed.push_back(id); });
  CHECK(streamed == a);
}
