// End to end: `bmx tokenize`, `bmx detokenize` and `bmx bench tokenize` against the reference vectors.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shared.h"

using json = nlohmann::json;

namespace {
std::string quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
}  // namespace

TEST_CASE("bmx tokenize / detokenize: stdin lines and --jsonl give the reference ids and texts") {
  auto dir = bmx::test::scratch_dir("bpe_cli");
  auto model = bmx::test::shared_file("models/tokenizers/biomatrix");
  auto lines = bmx::test::read_lines(bmx::test::shared_file("vectors/tokenizer/biomatrix.jsonl"));
  // Records with a text: all of them through --jsonl, the single-line ones also as plain lines.
  std::vector<json> records, plain;
  for (const auto& l : lines) {
    auto r = json::parse(l);
    if (!r.contains("text")) continue;
    records.push_back(r);
    const std::string& t = r["text"].get_ref<const std::string&>();
    if (t.find_first_of("\r\n") == std::string::npos && !t.empty() && plain.size() < 200) plain.push_back(r);
  }
  REQUIRE(records.size() > 1000);
  {
    std::ofstream f(dir / "texts.jsonl", std::ios::binary), g(dir / "plain.txt", std::ios::binary);
    for (const auto& r : records) f << r["text"].dump() << "\n";
    for (const auto& r : plain) g << r["text"].get<std::string>() << "\n";
  }
  auto exe = quote(bmx::test::bmx_exe());
  std::string out;
  REQUIRE(bmx::test::run(exe + " tokenize --jsonl --model " + quote(model) + " < " + quote(dir / "texts.jsonl") +
                             " > " + quote(dir / "ids.jsonl"),
                         &out) == 0);
  auto got = bmx::test::read_lines(dir / "ids.jsonl");
  REQUIRE(got.size() == records.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (json::parse(got[i]) != records[i]["ids"] && ++bad <= 3) FAIL_CHECK("record " << i << ": " << got[i]);
  CHECK(bad == 0);

  REQUIRE(bmx::test::run(exe + " tokenize --model " + quote(model) + " < " + quote(dir / "plain.txt"), &out) == 0);
  std::istringstream plain_out(out);
  std::string line;
  size_t k = 0;
  for (; std::getline(plain_out, line); ++k) {
    REQUIRE(k < plain.size());
    CHECK(json::parse(line) == plain[k]["ids"]);
  }
  CHECK(k == plain.size());

  // detokenize, one JSON array per line, text as JSON strings (--jsonl) with and without skipping.
  for (bool skip : {false, true}) {
    REQUIRE(bmx::test::run(exe + " detokenize --jsonl " + (skip ? "--skip-special " : "") + "--model " +
                               quote(model) + " < " + quote(dir / "ids.jsonl"),
                           &out) == 0);
    std::istringstream texts(out);
    size_t n = 0;
    for (; std::getline(texts, line); ++n) {
      REQUIRE(n < records.size());
      CHECK(json::parse(line) == records[n][skip ? "decoded_skip_special" : "decoded"]);
    }
    CHECK(n == records.size());
  }
}

TEST_CASE("bmx tokenize TEXT, --pieces, detokenize IDS and errors") {
  auto qwen3 = quote(bmx::test::shared_file("models/tokenizers/qwen3"));
  auto exe = quote(bmx::test::bmx_exe());
  std::string out;
  REQUIRE(bmx::test::run(exe + " tokenize --model " + qwen3 + " 'Hello world'", &out) == 0);
  CHECK(out == "[9707,1879]\n");
  REQUIRE(bmx::test::run(exe + " tokenize --model " + qwen3 + " '' < /dev/null", &out) == 0);
  CHECK(out == "[]\n");  // an empty TEXT is a text, not "read stdin"
  REQUIRE(bmx::test::run(exe + " tokenize -m " + qwen3 + " 'Hello world'", &out) == 0);  // -m as on generate
  CHECK(out == "[9707,1879]\n");
  REQUIRE(bmx::test::run(exe + " detokenize -m " + qwen3 + " '[9707, 1879]'", &out) == 0);
  CHECK(out == "Hello world\n");
  REQUIRE(bmx::test::run(exe + " tokenize --pieces --model " + qwen3 + " 'Hello world'", &out) == 0);
  CHECK(out == "[\"Hello\",\"\xC4\xA0world\"]\n");
  REQUIRE(bmx::test::run(exe + " detokenize --model " + qwen3 + " '[9707, 1879, 151645]'", &out) == 0);
  CHECK(out == "Hello world<|im_end|>\n");
  REQUIRE(bmx::test::run(exe + " detokenize --skip-special --model " + qwen3 + " '9707 1879 151645'", &out) == 0);
  CHECK(out == "Hello world\n");
  CHECK(bmx::test::run(exe + " detokenize --model " + qwen3 + " '9707 x'", &out, true) != 0);
  CHECK(out.find("'x' is not a token id") != std::string::npos);
  CHECK(bmx::test::run(exe + " detokenize --model " + qwen3 + " '[9707, 999999]'", &out, true) != 0);
  CHECK(out.find("999999") != std::string::npos);
  // A folder with nothing but tokenizer.json (no tokenizer_config.json, no model files).
  auto only = bmx::test::scratch_dir("bpe_cli_only_json");
  std::filesystem::copy_file(bmx::test::shared_file("models/tokenizers/qwen3/tokenizer.json"), only / "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(bmx::test::run(exe + " tokenize --pieces --model " + quote(only) + " 'Hello<|im_end|> world'", &out) == 0);
  CHECK(out == "[\"Hello\",\"<|im_end|>\",\"\xC4\xA0world\"]\n");
  REQUIRE(bmx::test::run(exe + " detokenize --skip-special --model " + quote(only) + " '[9707, 151645, 1879]'", &out) == 0);
  CHECK(out == "Hello world\n");
  auto empty = bmx::test::scratch_dir("bpe_cli_empty");
  CHECK(bmx::test::run(exe + " tokenize --model " + quote(empty) + " x", &out, true) != 0);
  CHECK(out.find("tokenizer.json") != std::string::npos);
  CHECK(bmx::test::run(exe + " tokenize -m " + quote(empty / "missing") + " x", &out, true) != 0);
  CHECK(out.find("missing: no such model folder") != std::string::npos);
  CHECK(out.find("QizhiPei/BioMatrix-4B-SFT") != std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}

TEST_CASE("bmx bench tokenize --json reports MB/s for each model") {
  auto dir = bmx::test::scratch_dir("bpe_bench");
  {
    std::ofstream f(dir / "doc.txt");
    for (int i = 0; i < 200; ++i) f << "The quick brown fox jumps over the lazy dog " << i << ".\nint main() { return 0; }\n";
  }
  auto exe = quote(bmx::test::bmx_exe());
  std::string out;
  REQUIRE(bmx::test::run(exe + " bench tokenize --json --passes 1 --model " +
                             quote(bmx::test::shared_file("models/tokenizers/qwen3")) + " --model " +
                             quote(bmx::test::shared_file("models/tokenizers/biomatrix")) + " " + quote(dir / "doc.txt"),
                         &out) == 0);
  auto r = json::parse(out);
  REQUIRE(r.is_array());
  REQUIRE(r.size() == 2);
  for (const auto& m : r) {
    CHECK(m["encode_mb_per_s"].get<double>() > 0);
    CHECK(m["bytes"].get<size_t>() == std::filesystem::file_size(dir / "doc.txt"));
    CHECK(m["tokens"].get<size_t>() > 1000);
  }
  CHECK(r[0]["tokens"] == r[1]["tokens"]);  // no BioMatrix token in this text
}

TEST_CASE("bmx bench tokenize: default corpus from files every Debian system has, both tokenizers") {
  auto exe = quote(bmx::test::bmx_exe());
  std::string out;
  REQUIRE(bmx::test::run(exe + " bench tokenize --json --passes 1 --max-mb 1 --model " +
                             quote(bmx::test::shared_file("models/tokenizers/qwen3")) + " --model " +
                             quote(bmx::test::shared_file("models/tokenizers/biomatrix")),
                         &out) == 0);
  auto r = json::parse(out);
  REQUIRE(r.size() == 2);
  CHECK(r[0]["bytes"].get<size_t>() > 500000);  // license texts and C headers are on every Debian system
  for (const auto& m : r) {
    CHECK(m["documents"].get<size_t>() > 10);
    CHECK(m["tokens"].get<size_t>() > m["bytes"].get<size_t>() / 8);
    // Speed itself is read from `bmx bench tokenize`, not asserted: test machines are shared and noisy.
    CHECK(m["cold_encode_mb_per_cpu_s"].get<double>() > 0);
    CHECK(m["encode_mb_per_cpu_s"].get<double>() > 0);
  }
}
