// The decoder and tokenizer commands on hostile input (issue 17), run as a user runs them: sampling flags out of
// range, batches with bad lines, outputs that cannot be written, a model folder whose files lie.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/tokenizers/bpe_tokenizer.h"
#include "shared.h"

namespace fs = std::filesystem;
using bmx::test::run;

namespace {

std::string bmx_cmd() { return bmx::test::bmx_exe().string(); }
std::string tiny() { return bmx::test::shared_file("vectors/qwen3/models/tiny-tied/config.json").parent_path().string(); }
std::string tokenizer_dir() { return bmx::test::shared_file("models/tokenizers/biomatrix/tokenizer.json").parent_path().string(); }

void write_file(const fs::path& p, const std::string& text) {
  fs::remove(p);
  std::ofstream(p, std::ios::binary) << text;
}

size_t lines_of(const std::string& s) { return size_t(std::count(s.begin(), s.end(), '\n')); }

// A tiny random model with the BioMatrix tokenizer, made once per run by bmx itself.
const std::string& tiny_with_tokenizer() {
  static const std::string dir = [] {
    const auto d = bmx::test::scratch_dir("apps_llm_model") / "m";
    std::string out;
    REQUIRE(run(bmx_cmd() + " dev random-model --like tiny --tokenizer " + tokenizer_dir() + " -o " + d.string(), &out, true) == 0);
    return d.string();
  }();
  return dir;
}

}  // namespace

TEST_CASE("sampling flags: NaN, inf and out-of-range values are refused the same way by every command") {
  const std::vector<std::string> commands = {
      "generate -m " + tiny() + " --ids \"1 2\" --print-ids -n 2",
      "chat -m " + tiny(),
      "run -m " + tiny() + " --task caption --selfies [C][C][O]",
  };
  const std::vector<std::pair<std::string, std::string>> flags = {
      {"--temp nan", "--temp: nan is not a number in [0, inf)"},
      {"--temp inf", "--temp: inf is not a number in [0, inf)"},
      {"--temp -1", "--temp: -1 is not a number in [0, inf)"},
      {"--top-p nan", "--top-p: nan is not a number in [0, 1]"},
      {"--top-p 1.5", "--top-p: 1.5 is not a number in [0, 1]"},
      {"--min-p nan", "--min-p: nan is not a number in [0, 1]"},
      {"--repeat-penalty nan", "--repeat-penalty: nan is not a number in (0, inf)"},
      {"--repeat-penalty 0", "--repeat-penalty: 0 is not a number in (0, inf)"},
      {"-c -7", "--ctx: -7 is not a number in [0, inf)"},
      {"-n -3", "--max-new-tokens: -3 is not a number in [0, inf)"},
      {"--top-k -1", "--top-k: -1 is not a number in [0, inf)"},
      {"-t -2", "--threads: -2 is not a number in [0, inf)"},
  };
  for (const auto& c : commands)
    for (const auto& [flag, message] : flags) {
      std::string out;
      INFO(c << " " << flag);
      CHECK(run(bmx_cmd() + " " + c + " " + flag + " </dev/null", &out, true) != 0);
      CHECK(out.find(message) != std::string::npos);
    }
  std::string out;
  CHECK(run(bmx_cmd() + " bench llm -m " + tiny() + " -t nan", &out, true) != 0);
  CHECK(out.find("--threads: nan is not a number in [0, inf)") != std::string::npos);
}

TEST_CASE("generate --threads 10000 is capped to the cores: same tokens, no slowdown") {
  std::string one, many;
  const std::string base = bmx_cmd() + " generate -m " + tiny() + " --ids \"1 5 9\" --print-ids -n 16 -q";
  REQUIRE(run(base + " --threads 1", &one) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run(base + " --threads 10000", &many) == 0);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(many == one);
  CHECK(s < 20);  // 10,000 threads took 51 s for a 0.5 s run before the cap
}

TEST_CASE("tokenize --jsonl and detokenize: each bad line reported, the others written, exit 1") {
  const auto dir = bmx::test::scratch_dir("apps_llm_batches");
  const auto tok = bmx::Tokenizer::from_dir(tokenizer_dir());
  auto ids_json = [&](const std::string& text) { return nlohmann::json(tok.encode(text)).dump(); };

  write_file(dir / "in.jsonl", "\"hello\"\nnot json\n\"world\"\n5\n\"!\"\n");
  std::string out, err;
  CHECK(run(bmx_cmd() + " tokenize -m " + tokenizer_dir() + " --jsonl < " + (dir / "in.jsonl").string() + " 2>" +
                (dir / "err.txt").string(), &out) == 1);
  CHECK(out == ids_json("hello") + "\n" + ids_json("world") + "\n" + ids_json("!") + "\n");
  err = bmx::test::read_file(dir / "err.txt");
  CHECK(err.find("<stdin>:2: not a JSON string") != std::string::npos);
  CHECK(err.find("<stdin>:4: not a JSON string") != std::string::npos);
  CHECK(err.find("2 of 5 lines failed") != std::string::npos);
  CHECK(lines_of(err) == 3);

  write_file(dir / "ids.txt", ids_json("hello") + "\nabc\n[99999999]\n" + ids_json("world") + "\n");
  CHECK(run(bmx_cmd() + " detokenize -m " + tokenizer_dir() + " < " + (dir / "ids.txt").string() + " 2>" +
                (dir / "err.txt").string(), &out) == 1);
  CHECK(out == "hello\nworld\n");
  err = bmx::test::read_file(dir / "err.txt");
  CHECK(err.find("<stdin>:2: 'abc' is not a token id") != std::string::npos);
  CHECK(err.find("<stdin>:3: token id 99999999 is not in the vocabulary") != std::string::npos);
  CHECK(lines_of(err) == 3);

  // All good: exit 0, nothing on stderr.
  write_file(dir / "good.jsonl", "\"a\"\n\"b\"\n");
  CHECK(run(bmx_cmd() + " tokenize -m " + tokenizer_dir() + " --jsonl < " + (dir / "good.jsonl").string() + " 2>" +
                (dir / "err.txt").string(), &out) == 0);
  CHECK(bmx::test::read_file(dir / "err.txt").empty());
}

TEST_CASE("lost output is a non-zero exit: stdout on /dev/full, -o that is not a folder") {
  std::string out;
  CHECK(run(bmx_cmd() + " generate -m " + tiny() + " --ids \"1 2\" --print-ids -n 4 -q > /dev/full", &out, true) != 0);
  CHECK(run(bmx_cmd() + " generate -m " + tiny() + " --ids \"1 2\" --print-ids -n 4 -q 2>&1 >/dev/full", &out) != 0);
  CHECK(out.find("stdout: write failed") != std::string::npos);
  CHECK(run(bmx_cmd() + " tokenize -m " + tokenizer_dir() + " hello 2>&1 >/dev/full", &out) != 0);
  CHECK(out.find("stdout: write failed") != std::string::npos);
  const auto& model = tiny_with_tokenizer();
  // bmx chat: an answer lost to stdout ends the chat with the same line, not a silent next turn.
  CHECK(run("printf 'hi\\nagain\\n' | " + bmx_cmd() + " chat -m " + model + " -n 2 -q 2>&1 >/dev/full", &out) != 0);
  CHECK(out.find("stdout: write failed") != std::string::npos);
  CHECK(run(bmx_cmd() + " generate -m " + model + " -p hi -n 2 -q -o /dev/full", &out, true) != 0);
  CHECK(out.find("/dev/full: not a folder") != std::string::npos);
  CHECK(lines_of(out) <= 2);  // the streamed text line, then the error
  const auto dir = bmx::test::scratch_dir("apps_llm_extract");
  write_file(dir / "answer.txt", "<|prot_aa_start|>MKV<|prot_aa_end|>");
  CHECK(run(bmx_cmd() + " extract " + (dir / "answer.txt").string() + " -o /dev/full", &out, true) != 0);
  CHECK(out.find("/dev/full: not a folder") != std::string::npos);
  CHECK(lines_of(out) == 1);
}

TEST_CASE("dev random-model: a failure is one line and leaves no folder; success loads") {
  const auto dir = bmx::test::scratch_dir("apps_llm_random_model");
  std::string out;
  // A tokenizer folder whose tokenizer.json is broken fails after files were copied: nothing is left.
  fs::create_directories(dir / "badtok");
  write_file(dir / "badtok" / "tokenizer.json", "{\"model\": ");
  CHECK(run(bmx_cmd() + " dev random-model --like tiny --tokenizer " + (dir / "badtok").string() + " -o " +
                (dir / "m1").string(), &out, true) != 0);
  CHECK(lines_of(out) == 1);
  CHECK(out.find("tokenizer.json") != std::string::npos);
  CHECK(!fs::exists(dir / "m1"));
  for (auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".partial") == std::string::npos);
  CHECK(run(bmx_cmd() + " dev random-model --like tiny -o /dev/full/m", &out, true) != 0);
  CHECK(lines_of(out) == 1);
  CHECK(out.find("c10") == std::string::npos);
  // The good one: the folder is complete and generates.
  CHECK(run(bmx_cmd() + " dev random-model --like tiny -o " + (dir / "m2").string(), &out, true) == 0);
  CHECK(run(bmx_cmd() + " generate -m " + (dir / "m2").string() + " --ids \"1 2\" --print-ids -n 3 -q", &out) == 0);
  CHECK(std::count(out.begin(), out.end(), ' ') == 2);
}

TEST_CASE("a model folder's hostile files: chat template, tokenizer.json, config.json; one line each") {
  const auto src = fs::path(tiny_with_tokenizer());
  const auto dir = bmx::test::scratch_dir("apps_llm_hostile") / "m";
  fs::create_directories(dir);
  for (auto& e : fs::directory_iterator(src)) fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
  auto config = nlohmann::json::parse(bmx::test::read_file(src / "tokenizer_config.json"));
  std::string out;
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"{{ range(1000000000) }}", "a list of 1000000000 items is over the limit of 1000000 items"},
      {"{{ 'abc' * 10000000000 }}", "over the limit of 16777216 bytes"},
      {"{{ 2 ** 100000000000 }}", "integer overflow in '**'"},
      {"{{ " + std::string(10000, '(') + "1" + std::string(10000, ')') + " }}", "expressions nested more than 200 deep"},
  };
  for (const auto& [tmpl, limit] : hostile) {
    config["chat_template"] = tmpl;
    write_file(dir / "tokenizer_config.json", config.dump());
    INFO(tmpl.substr(0, 40));
    CHECK(run(bmx_cmd() + " generate -m " + dir.string() + " --chat -p hi -n 1 -q", &out, true) != 0);
    CHECK(out.find((dir / "tokenizer_config.json").string() + ": chat template: line 1: ") != std::string::npos);
    CHECK(out.find(limit) != std::string::npos);
    CHECK(lines_of(out) == 1);
  }
  fs::copy_file(src / "tokenizer_config.json", dir / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  write_file(dir / "tokenizer.json", std::string(100000, '[') + std::string(100000, ']'));
  CHECK(run(bmx_cmd() + " tokenize -m " + dir.string() + " hello", &out, true) != 0);
  CHECK(out.find((dir / "tokenizer.json").string() + ": JSON nested deeper than 512 levels (the limit)") != std::string::npos);
  write_file(dir / "tokenizer.json", "{\"model\": {\"vocab\": {\"a\xff\": 0}}}");
  CHECK(run(bmx_cmd() + " tokenize -m " + dir.string() + " hello", &out, true) != 0);
  CHECK(out.find("json.exception") == std::string::npos);
  CHECK(lines_of(out) == 1);
  fs::copy_file(src / "tokenizer.json", dir / "tokenizer.json", fs::copy_options::overwrite_existing);
  write_file(dir / "config.json", "[1, 2]");
  CHECK(run(bmx_cmd() + " generate -m " + dir.string() + " -p hi -n 1 -q", &out, true) != 0);
  CHECK(out == "bmx: " + (dir / "config.json").string() + ": top level is not a JSON object\n");
}
