// Generation behaviour: eos ids and stop criteria end a row, padded vocabulary rows are never produced under a
// vocabulary limit, the context limit is enforced, sampling is seeded. With a tokenizer (text_generation.h): stop
// strings across token boundaries, the tokenizer's eos and size.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "bmx/core/llm/generation.h"
#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/text_generation.h"
#include "common.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::test::tiny_model;

namespace {
using bmx::TokenId;

std::vector<TokenId> prompt_of(int64_t n, int64_t vocab) {
  std::vector<TokenId> p;
  for (int64_t i = 0; i < n; ++i) p.push_back(TokenId((i * 37 + 11) % vocab));
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
  CHECK(out[0].ids == std::vector<TokenId>(free_run.begin(), free_run.begin() + long(first) + 1));
  // The second row is independent of the first one finishing.
  bmx::GenerationOptions alone = o;
  CHECK(bmx::generate(m, {prompt_of(9, 500)}, alone)[0].ids == out[1].ids);
}

TEST_CASE("generation: a stop criterion ends a row after the token it accepted") {
  const auto& m = tiny_model("tiny-tied");
  bmx::GenerationOptions o;
  o.max_new_tokens = 20;
  const auto prompt = prompt_of(5, 900);
  const auto free_run = bmx::generate(m, {prompt, prompt_of(7, 900)}, o);
  std::vector<std::pair<size_t, size_t>> asked;  // (row, tokens so far)
  o.stop = [&](size_t row, const std::vector<TokenId>& ids) {
    asked.emplace_back(row, ids.size());
    return row == 0 && ids.size() == 8;
  };
  auto out = bmx::generate(m, {prompt, prompt_of(7, 900)}, o);
  CHECK(out[0].finish == bmx::FinishReason::stop_string);
  CHECK(out[0].ids == std::vector<TokenId>(free_run[0].ids.begin(), free_run[0].ids.begin() + 8));
  CHECK(out[1].ids == free_run[1].ids);  // the other row goes on
  CHECK(out[1].finish == bmx::FinishReason::max_new_tokens);
  CHECK(std::count(asked.begin(), asked.end(), std::make_pair(size_t(0), size_t(8))) == 1);
  CHECK(std::count_if(asked.begin(), asked.end(), [](auto& a) { return a.first == 0 && a.second > 8; }) == 0);
}

TEST_CASE("text generation: stop strings match across token boundaries") {
  const auto& m = tiny_model("tiny-tied");
  bmx::GenerationOptions o;
  o.max_new_tokens = 20;
  const bmx::Detokenize decode = [](const std::vector<TokenId>& ids) {
    std::string s;
    for (auto id : ids) s += std::to_string(id) + ",";
    return s;
  };
  const auto prompt = prompt_of(5, 900);
  const auto free_run = bmx::generate(m, {prompt}, o)[0].ids;
  // A stop string made of the tail of token 6 and the head of token 7.
  const std::string a = std::to_string(free_run[6]), b = std::to_string(free_run[7]);
  const std::string stop = a.substr(a.size() - 1) + "," + b + ",";
  o.stop = bmx::stop_at_strings({stop}, decode);
  auto out = bmx::generate(m, {prompt}, o)[0];
  CHECK(out.finish == bmx::FinishReason::stop_string);
  CHECK(out.ids.size() <= 8);
  CHECK(std::equal(out.ids.begin(), out.ids.end(), free_run.begin()));
  const std::string text = decode(out.ids);
  CHECK(text.size() >= stop.size());
  CHECK(text.compare(text.size() - stop.size(), std::string::npos, stop) == 0);
  CHECK(!bmx::stop_at_strings({}, decode));
  CHECK(!bmx::stop_at_strings({""}, decode));
}

TEST_CASE("text generation: the tokenizer adds its eos and its size to the folder's settings") {
  // tiny-tied with the Qwen3 tokenizer files: generation_config.json names eos 7 and 8, tokenizer_config.json
  // <|im_end|> (151645), which the tokenizer knows.
  auto dir = bmx::test::scratch_dir("qwen3_text_generation");
  for (auto& e : fs::directory_iterator(bmx::test::tiny_model_dir("tiny-tied")))
    fs::copy_file(e.path(), dir / e.path().filename());
  const auto tok_dir = bmx::test::shared_file("models/tokenizers/qwen3/tokenizer.json").parent_path();
  fs::copy_file(tok_dir / "tokenizer.json", dir / "tokenizer.json");
  fs::copy_file(tok_dir / "tokenizer_config.json", dir / "tokenizer_config.json");
  fs::permissions(dir / "generation_config.json", fs::perms::owner_write, fs::perm_options::add);
  fs::remove(dir / "generation_config.json");
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": [7, 8], "max_new_tokens": 12, "stop_strings": ["END"]})";
  const auto m = bmx::load_qwen3(dir.string());
  CHECK(m.generation.eos_token_ids == std::vector<TokenId>{7, 8});  // core reads no tokenizer file
  const auto tok = bmx::Tokenizer::from_dir(dir);
  CHECK(bmx::eos_token_ids(m, tok) == std::vector<TokenId>{7, 8, 151645});
  CHECK(bmx::vocab_limit(m, tok) == 1024);  // the tokenizer has more ids than the model has rows
  const auto o = bmx::text_generation_options(m, tok);
  CHECK(o.eos_token_ids == std::vector<TokenId>{7, 8, 151645});
  CHECK(o.pad_token_id == 7);
  CHECK(o.max_new_tokens == 12);
  CHECK(!o.stop);  // stop strings are the caller's: the folder's and its own (stop_at_strings)
  // The tokenizer's eos is in the list generate() stops at.
  bmx::GenerationOptions g = o;
  const auto free_run = bmx::generate(m, {prompt_of(6, 1000)}, bmx::GenerationOptions{})[0].ids;
  g.eos_token_ids.push_back(free_run[3]);
  CHECK(bmx::generate(m, {prompt_of(6, 1000)}, g)[0].finish == bmx::FinishReason::eos);
}

TEST_CASE("generation: padded vocabulary rows are never produced under a vocabulary limit") {
  const auto& m = tiny_model("tiny-padded-vocab");
  std::vector<std::vector<TokenId>> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back(prompt_of(3 + 5 * i, 997 - i));
  bmx::GenerationOptions o;
  o.max_new_tokens = 32;
  // Without a limit every row counts (as the vectors want): this model does pick padding ids.
  bool any_padding = false;
  for (auto& g : bmx::generate(m, prompts, o))
    for (auto id : g.ids) any_padding |= id >= 1000;
  REQUIRE(any_padding);
  // A tokenizer defining ids 0..999 (bmx::vocab_limit) makes rows 1000..1087 padding.
  auto po = bmx::default_generation_options(m);
  po.vocab_limit = 1000;
  po.max_new_tokens = 32;
  po.eos_token_ids.clear();
  for (double temp : {0.0, 1.5}) {
    po.sampling.temperature = temp;
    po.sampling.top_k = 0;
    for (auto& g : bmx::generate(m, prompts, po)) {
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
  std::vector<TokenId> streamed;
  o.seed = 1;
  bmx::generate(m, {prompt_of(7, 700)}, o, [&](size_t, TokenId id) { streamed.push_back(id); });
  CHECK(streamed == a);
}
