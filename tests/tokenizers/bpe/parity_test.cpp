// Encode/decode parity with the Hugging Face reference on every record of the tokenizer vectors.
#include <doctest/doctest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "bmx/tokenizers/bpe_tokenizer.h"
#include "shared.h"

namespace {

const bmx::Tokenizer& tokenizer(const std::string& name) {
  static const bmx::Tokenizer qwen3 = bmx::Tokenizer::from_dir(bmx::test::shared_file("models/tokenizers/qwen3"));
  static const bmx::Tokenizer biomatrix =
      bmx::Tokenizer::from_dir(bmx::test::shared_file("models/tokenizers/biomatrix"));
  return name == "qwen3" ? qwen3 : biomatrix;
}

std::string show(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

void check_file(const std::string& name) {
  const auto& tok = tokenizer(name);
  auto lines = bmx::test::read_lines(bmx::test::shared_file("vectors/tokenizer/" + name + ".jsonl"));
  size_t records = 0, encoded = 0, failures = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto r = nlohmann::json::parse(lines[i]);
    ++records;
    auto want = r["ids"].get<std::vector<int32_t>>();
    std::string where = name + ".jsonl:" + std::to_string(i + 1) + " (" + r["cat"].get<std::string>() + ")";
    if (r.contains("text")) {
      ++encoded;
      auto got = tok.encode(r["text"].get<std::string>());
      if (got != want && ++failures <= 10) FAIL_CHECK(where << " encode: got " << show(got) << " want " << show(want));
    }
    std::string d = tok.decode(want, false), ds = tok.decode(want, true);
    if (d != r["decoded"].get<std::string>() && ++failures <= 10) FAIL_CHECK(where << " decode: got " << d);
    if (ds != r["decoded_skip_special"].get<std::string>() && ++failures <= 10)
      FAIL_CHECK(where << " decode skip_special: got " << ds);
  }
  CHECK(failures == 0);
  MESSAGE(name << ": " << records << " records, " << encoded << " encoded, " << failures << " failures");
  CHECK(records > 1000);
}

}  // namespace

TEST_CASE("qwen3 tokenizer: ids and decodes identical to Hugging Face on every vector") { check_file("qwen3"); }

TEST_CASE("biomatrix tokenizer: ids and decodes identical to Hugging Face on every vector") { check_file("biomatrix"); }

TEST_CASE("encode from several threads at once gives the same ids (shared word cache)") {
  auto tok = bmx::Tokenizer::from_dir(bmx::test::shared_file("models/tokenizers/biomatrix"));
  auto lines = bmx::test::read_lines(bmx::test::shared_file("vectors/tokenizer/biomatrix.jsonl"));
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> want;
  for (const auto& l : lines) {
    auto r = nlohmann::json::parse(l);
    if (!r.contains("text")) continue;
    texts.push_back(r["text"].get<std::string>());
    want.push_back(r["ids"].get<std::vector<int32_t>>());
  }
  std::vector<size_t> wrong(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < texts.size(); ++k) {
        size_t i = (k * 7 + t * 331) % texts.size();  // different orders per thread
        if (tok.encode(texts[i]) != want[i]) ++wrong[t];
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == std::vector<size_t>(4, 0));
}
