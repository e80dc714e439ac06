// The command line end to end: `bmx generate --ids ... --print-ids` equals the greedy vectors, errors are one
// line, `bmx dev random-model` writes a loadable (sharded) checkpoint. Needs the bmx target built.
#include "bmx/core/llm/generation.h"
#include "bmx/core/nn/block_quant.h"
#include "bmx/core/nn/pair_tiles.h"
#include "bmx/core/util/memory_info.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/text_generation.h"
#include "common.h"
// after ATen (via common.h): glog defines CHECK too, doctest's must win
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

#include "shared.h"

namespace fs = std::filesystem;
using namespace bmx::test;

namespace {
std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}
}  // namespace

TEST_CASE("cli: bmx generate --ids --print-ids reproduces the greedy vectors (stopping at eos)") {
  int n = 0;
  for (auto& v : logits_vectors()) {
    if (v["kind"] != "single") continue;
    const std::string name = v["case"];
    if (name.back() != '3' && name.back() != '6') continue;  // a few cases of every model keep this quick
    INFO(name);
    const auto& model = tiny_model(v["model"]);
    auto expected = v["greedy_new_ids"].get<std::vector<int64_t>>();
    for (size_t i = 0; i < expected.size(); ++i)
      if (std::count(model.generation.eos_token_ids.begin(), model.generation.eos_token_ids.end(), expected[i])) {
        expected.resize(i + 1);
        break;
      }
    std::string out;
    const std::string cmd = bmx_exe().string() + " generate --model " + tiny_model_dir(v["model"]) + " --ids \"" +
                            join(v["input_ids"].get<std::vector<int64_t>>()) + "\" --print-ids -n 32 --threads 1";
    REQUIRE(run(cmd, &out) == 0);
    CHECK(out == join(expected) + "\n");
    ++n;
  }
  CHECK(n == 6);
}

TEST_CASE("cli: errors are one line with a non-zero exit") {
  std::string out;
  const std::string base = bmx_exe().string() + " generate --model " + tiny_model_dir("tiny-tied");
  CHECK(run(base + " --ids \"1 2 abc\" --print-ids", &out, true) != 0);
  CHECK(out.find("'abc' is not a token id") != std::string::npos);
  CHECK(run(base + " --ids \"1 2 99999\" --print-ids", &out, true) != 0);
  CHECK(out.find("99999") != std::string::npos);
  // A prompt that fills the context: the message says which limit it was, -c or the model's config.
  CHECK(run(base + " --ids \"1 2 3\" --print-ids --ctx 3", &out, true) != 0);
  CHECK(out.find("the prompt has 3 tokens, which leaves no room in the context of 3 tokens (-c 3)") != std::string::npos);
  CHECK(out.find("max_position_embeddings") == std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(tiny_model("tiny-tied").config.max_position_embeddings == 512);
  std::vector<int64_t> long_prompt(512, 7);
  CHECK(run(base + " --ids \"" + join(long_prompt) + "\" --print-ids", &out, true) != 0);
  CHECK(out.find("context of 512 tokens (max_position_embeddings of config.json)") != std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(run(base + " --ids \"1 2 3\" --print-ids -c -1", &out, true) != 0);
  CHECK(out.find("--ctx: -1 is not a number in [0, inf)") != std::string::npos);
  CHECK(run(base + " --prompt hello", &out, true) != 0);
  CHECK(out.find("tokenizer.json") != std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  // Reaching the context limit stops with a message, keeping what was generated.
  CHECK(run(base + " --ids \"1 2 3\" --print-ids --ctx 8 -n 32", &out, true) == 0);
  CHECK(out.find("context limit of 8 tokens (-c 8)") != std::string::npos);
}

TEST_CASE("cli: a missing model folder is one line naming it and where BioMatrix's weights come from") {
  const std::string missing = (scratch_dir("qwen3_missing_model") / "BioMatrix-4B").string();
  const std::string tok = shared_file("models/tokenizers/qwen3/tokenizer.json").parent_path().string();
  for (const std::string& args :
       {"generate -m " + missing + " -p hi", "chat -m " + missing, "bench llm -m " + missing,
        "run -m " + missing + " --task fold --sequence MKV -o " + missing + "_out", "tokenize -m " + missing + " hi",
        "detokenize --model " + missing + " 1", "extract - -o " + missing + "_x -m " + missing,
        "bench tokenize -m " + missing, "bench constrain -m " + missing, "generate -m " + tok + " -p hi"}) {
    INFO(args);
    std::string out;
    CHECK(run("echo | " + bmx_exe().string() + " " + args, &out, true) != 0);
    INFO(out);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK(out.rfind("bmx: ", 0) == 0);
    CHECK(out.find(args.rfind("generate -m " + tok, 0) == 0 ? tok + ": no config.json" : missing + ": no such model folder") !=
          std::string::npos);
    CHECK(out.find("QizhiPei/BioMatrix-4B-SFT") != std::string::npos);
    CHECK(out.find("QizhiPei/BioMatrix-1.7B-SFT") != std::string::npos);
    CHECK(out.find("huggingface-cli download") != std::string::npos);
    CHECK(out.find("Directory does not exist") == std::string::npos);
  }
}

namespace {
// A tiny random model with the Qwen3 tokenizer and its chat template, made once per test run.
std::string tiny_chat_model() {
  static const std::string dir = [] {
    const auto d = scratch_dir("qwen3_chat_model") / "model";
    const auto tok = shared_file("models/tokenizers/qwen3/tokenizer.json").parent_path();
    std::string out;
    if (run(bmx_exe().string() + " dev random-model --like tiny --tokenizer " + tok.string() + " -o " + d.string(), &out,
            true) != 0)
      throw std::runtime_error("bmx dev random-model failed: " + out);
    return d.string();
  }();
  return dir;
}

struct Chat {
  int status;
  std::string out, err;
};

// `bmx chat` with `input` on stdin (printf format), stdout and stderr apart.
Chat chat(const std::string& input, const std::string& flags) {
  const auto err_file = fs::path(tiny_chat_model()).parent_path() / "stderr.txt";
  Chat c;
  c.status = run("printf '" + input + "' | " + bmx_exe().string() + " chat -m " + tiny_chat_model() + " " + flags +
                     " 2>" + err_file.string(),
                 &c.out);
  c.err = read_file(err_file);
  return c;
}
}  // namespace

TEST_CASE("cli: bmx chat's commands /help /reset /exit never reach the model") {
  // -n 0: each turn sent to the model prints one empty answer line, so stdout counts the turns. One "hello" turn
  // renders to 9 tokens, two turns to 20: with -c 16 a second turn fits only after /reset.
  SUBCASE("/help lists the commands; /reset clears; /exit ends before the last line") {
    const Chat c = chat("/help\nhello\n/reset\nhello\n/exit\nhello\n", "-n 0 -c 16 -t 1");
    INFO(c.err);
    CHECK(c.status == 0);
    CHECK(c.out == "\n\n");  // two turns: /help, /reset, /exit and the line after /exit were not sent
    for (const char* cmd : {"/help", "/reset", "/exit", "/quit"}) CHECK(c.err.find(cmd) != std::string::npos);
    CHECK(c.err.find("conversation cleared") != std::string::npos);
    CHECK(c.err.find("context") == std::string::npos);
  }
  SUBCASE("without /reset the history grows: the second turn exceeds -c 16, said with the flag") {
    const Chat c = chat("hello\nhello\n/quit\n", "-n 0 -c 16 -t 1 -q");
    CHECK(c.status == 0);
    CHECK(c.out == "\n");
    CHECK(c.err == "bmx: the prompt has 20 tokens, which leaves no room in the context of 16 tokens (-c 16); /reset to "
                   "start again\n");
  }
  SUBCASE("an unknown command is refused; // sends a line that starts with /") {
    const Chat c = chat("/bogus\n//etc\n/bye\n", "-n 0 -t 1 -q");
    CHECK(c.status == 0);
    CHECK(c.out == "\n");
    CHECK(c.err.find("unknown command /bogus") != std::string::npos);
  }
}

TEST_CASE("cli: bmx dev random-model writes a checkpoint the runtime loads (single file and shards)") {
  auto dir = scratch_dir("qwen3_random_model");
  std::string out;
  REQUIRE(run(bmx_exe().string() + " dev random-model --like tiny -o " + (dir / "plain").string(), &out, true) == 0);
  auto m = bmx::load_qwen3((dir / "plain").string());
  CHECK(m.config.vocab_size == 1024);
  CHECK(fs::exists(dir / "plain" / "model.safetensors"));
  bmx::GenerationOptions o;
  o.max_new_tokens = 8;
  CHECK(bmx::generate(m, {{1, 2, 3}}, o)[0].ids.size() == 8);

  // With the Qwen3 tokenizer: 151,669 ids -> 151,680 rows for tiny (padding rows); small shards force an index.
  const auto tok = shared_file("models/tokenizers/qwen3/tokenizer.json").parent_path();
  REQUIRE(run(bmx_exe().string() + " dev random-model --like tiny --shard-gib 0.01 --tokenizer " + tok.string() +
                  " -o " + (dir / "tok").string(),
              &out, true) == 0);
  CHECK(fs::exists(dir / "tok" / "model.safetensors.index.json"));
  CHECK(fs::exists(dir / "tok" / "tokenizer.json"));
  auto t = bmx::load_qwen3((dir / "tok").string());
  CHECK(t.config.vocab_size == 151680);
  CHECK(t.checkpoint != nullptr);
  const auto qwen = bmx::Tokenizer::from_dir(dir / "tok");
  CHECK(bmx::vocab_limit(t, qwen) == 151669);
  auto g = bmx::text_generation_options(t, qwen);
  CHECK(g.vocab_limit == 151669);
  g.max_new_tokens = 4;
  CHECK(bmx::generate(t, {{9707, 11, 1879}}, g)[0].ids.size() <= 4);
  // The same seed writes the same weights.
  REQUIRE(run(bmx_exe().string() + " dev random-model --like tiny -o " + (dir / "again").string(), &out, true) == 0);
  CHECK(read_file(dir / "plain" / "model.safetensors") == read_file(dir / "again" / "model.safetensors"));
}

TEST_CASE("cli: llama.cpp-style short flags, and bmx bench llm --json") {
  // -m -n -t --temp 0 on generate give the greedy continuation of the long-form call.
  const auto v = logits_vectors()[4];
  REQUIRE(v["kind"] == "single");
  const auto expected = v["greedy_new_ids"].get<std::vector<int64_t>>();
  std::string out;
  const std::string ids = join(v["input_ids"].get<std::vector<int64_t>>());
  REQUIRE(run(bmx_exe().string() + " generate -m " + tiny_model_dir(v["model"]) + " --ids \"" + ids +
                  "\" -n 3 -t 1 --temp 0 -s 5 --print-ids",
              &out) == 0);
  CHECK(out == join({expected[0], expected[1], expected[2]}) + "\n");

  // One JSON object with the speed, bandwidth and memory figures.
  REQUIRE(run(bmx_exe().string() + " bench llm -m " + tiny_model_dir("tiny-tied") + " -p 16 -n 4 -t 2 --json", &out) == 0);
  auto j = nlohmann::json::parse(out);
  CHECK(j["pp"] == 16);
  CHECK(j["tg"] == 4);
  CHECK(j["threads"] == 2);
  CHECK(j["pp_tokens_per_s"].get<double>() > 0);
  CHECK(j["tg_tokens_per_s"].get<double>() > 0);
  CHECK(j["tg_read_gbs"].get<double>() > 0);
  // Where the decode steps' time went: shares of the wall time and of the threads' time.
  CHECK(j["tg_parallel_share"].get<double>() > 0);
  CHECK(j["tg_parallel_share"].get<double>() <= 1.0);
  CHECK(j["tg_waiting_share"].get<double>() >= 0);
  CHECK(j["tg_waiting_share"].get<double>() < 1.0);
  // A tiny model decodes from cache: no memory ceiling is claimed (or probed) for it.
  CHECK(j["ceiling_applies"] == false);
  CHECK_FALSE(j.contains("read_bandwidth_gbs"));
  CHECK_FALSE(j.contains("tg_fraction_of_ceiling"));
  CHECK_FALSE(j.contains("weights_read_gbs"));
  CHECK(j["peak_rss_gib"].get<double>() > 0);
  // The default: read into memory when the files fit (a tiny model does, wherever a few GiB are free).
  CHECK(j["weights_access"] == (bmx::fits_in_memory(j["weight_bytes"].get<uint64_t>(), bmx::available_memory())
                                    ? "read" : "map"));
  CHECK_FALSE(j.contains("weights_order"));  // BF16: no block order
  // Weights rounded at load are kept in the order the kernels read fastest (16-row tiles with AVX-512 VNNI).
  REQUIRE(run(bmx_exe().string() + " bench llm -m " + tiny_model_dir("tiny-tied") +
                  " -p 4 -n 2 -t 1 --weights q8_0 --agreement 0 --json", &out) == 0);
  CHECK(nlohmann::json::parse(out)["weights_order"] ==
        bmx::kernels::order_name(bmx::kernels::preferred_block_order()));

  // --mmap maps the files, --no-mmap reads them (llama.cpp's flags); the two together are refused. The greedy
  // continuation is the same either way.
  REQUIRE(run(bmx_exe().string() + " bench llm -m " + tiny_model_dir("tiny-tied") + " -p 4 -n 2 -t 1 --mmap --json",
              &out) == 0);
  CHECK(nlohmann::json::parse(out)["weights_access"] == "map");
  CHECK(nlohmann::json::parse(out)["projections_in_pair_tiles"] == "none");  // a mapping keeps the file's rows
  CHECK_FALSE(nlohmann::json::parse(out).contains("tg_parallel_share"));  // one thread: nothing to split
  REQUIRE(run(bmx_exe().string() + " bench llm -m " + tiny_model_dir("tiny-tied") + " -p 4 -n 2 -t 1 --no-mmap --json",
              &out) == 0);
  CHECK(nlohmann::json::parse(out)["weights_access"] == "read");
  // Read into memory: in pair tiles where this CPU's level keeps them (tiny-tied: q_proj [128, 64], rows of 64).
  CHECK(nlohmann::json::parse(out)["projections_in_pair_tiles"] ==
        (bmx::kernels::pair_tiles_pay(bmx::kernels::WeightType::bf16, 128, 64) ? "all" : "none"));
  for (const char* access : {"--mmap", "--no-mmap"}) {
    CAPTURE(access);
    REQUIRE(run(bmx_exe().string() + " generate -m " + tiny_model_dir(v["model"]) + " --ids \"" + ids +
                    "\" -n 3 -t 1 --temp 0 --print-ids " + access,
                &out) == 0);
    CHECK(out == join({expected[0], expected[1], expected[2]}) + "\n");
  }
  CHECK(run(bmx_exe().string() + " generate -m " + tiny_model_dir(v["model"]) + " --ids 1 --mmap --no-mmap", &out,
            true) != 0);
  CHECK(out.find("--mmap excludes --no-mmap") != std::string::npos);

  // --isa runs a lower level this CPU runs (an AVX2 machine's code paths, measured here), and names the levels
  // when it is not one.
  REQUIRE(run(bmx_exe().string() + " bench llm -m " + tiny_model_dir("tiny-tied") + " -p 8 -n 2 -t 1 --isa scalar --json",
              &out) == 0);
  CHECK(nlohmann::json::parse(out)["isa"] == "scalar");
  for (const char* bad : {"avx3", "\"\"", "AVX2"}) {  // an unknown name, an empty one, the wrong case
    CAPTURE(bad);
    CHECK(run(bmx_exe().string() + " bench llm -m " + tiny_model_dir("tiny-tied") + " -p 8 -n 2 --isa " + bad, &out,
              true) != 0);
    CHECK(out.find("is not a kernel level (scalar, avx2") != std::string::npos);
  }
  // bench kernels takes the same flag (one helper for both commands).
  CHECK(run(bmx_exe().string() + " bench kernels --isa avx3", &out, true) != 0);
  CHECK(out.find("is not a kernel level (scalar, avx2") != std::string::npos);
}
