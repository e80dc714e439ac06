// bmx bench serve: aggregate decode tokens/s of bmx serve's continuous-batching engine with 1, 4, 8 (--streams)
// concurrent streams, beside single-stream generate() (what bmx bench llm's tg measures) in the same run. Decoding
// reads every weight once per step, so streams that share a step share that read: the aggregate rate grows with
// the streams until compute, not memory, is the limit.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>

#include "bmx/core/llm/batch_engine.h"
#include "bmx/core/llm/generation.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/nn/kernels.h"
#include "commands.h"
#include "llm_common.h"

namespace bmx::app {
namespace {

struct BenchServeOptions {
  std::string model, weights;
  FileAccess access = FileAccess::automatic;  // --mmap / --no-mmap
  int threads = 0, prompt = 32, tokens = 64;
  bool bf16_prefill = false;
  std::vector<int> streams = {1, 4, 8};
};

std::vector<TokenId> random_prompt(int n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TokenId> p(static_cast<size_t>(n), 0);
  for (auto& id : p) id = TokenId(rng() % uint64_t(std::min<int64_t>(vocab, 1000)));
  return p;
}

void run_bench_serve(const BenchServeOptions& o) {
  set_llm_threads(o.threads);
  apply_bf16_prefill(o.bf16_prefill);
  LlmOptions lo;
  lo.model = o.model;
  lo.weights = o.weights;
  lo.access = o.access;
  lo.quiet = true;
  check_model_folder(o.model);
  const Qwen3Model model = load_decoder(lo);
  const int64_t V = model.config.vocab_size;

  // Single stream through generate(): prefill, then -n tokens; the decode rate excludes the prefill.
  GenerationOptions g;
  g.max_new_tokens = o.tokens;
  g.eos_token_ids = {};
  const auto prompt = random_prompt(o.prompt, V, 1);
  using clock = std::chrono::steady_clock;
  clock::time_point first;
  bool seen = false;
  generate(model, {prompt}, g, [&](size_t, TokenId) {
    if (!seen) first = clock::now(), seen = true;
  });
  const double single = double(o.tokens - 1) / std::chrono::duration<double>(clock::now() - first).count();
  std::printf("bmx bench serve: %s, %d prompt + %d new tokens per stream; %s activations where several streams "
              "decode together\n", o.model.c_str(), o.prompt, o.tokens,
              kernels::rounds_activations(2) ? "bf16" : "float32");
  std::printf("%-10s %14s %14s %10s\n", "streams", "tok/s (all)", "tok/s (each)", "x single");
  std::printf("%-10s %14.2f %14.2f %10.2f   (generate, one stream)\n", "llm", single, single, 1.0);

  for (int n : o.streams) {
    BatchEngineOptions eo;
    eo.slots = n;
    eo.slot_context = o.prompt + o.tokens + 1;
    BatchEngine engine(model, eo);
    std::mutex m;
    std::condition_variable cv;
    int done = 0;
    for (int i = 0; i < n; ++i) {
      BatchRequest r;
      r.prompt = random_prompt(o.prompt, V, uint64_t(i + 1));
      r.options = g;
      r.on_done = [&](const Generation&, const std::string&) {
        std::lock_guard<std::mutex> lock(m);
        ++done;
        cv.notify_all();
      };
      engine.submit(std::move(r));
    }
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return done == n; });
    const BatchStats s = engine.stats();
    // Decode steps only: each stream's first token comes from its prefill.
    const double rate = double(s.generated_tokens - uint64_t(n)) / s.decode_seconds;
    std::printf("%-10d %14.2f %14.2f %10.2f\n", n, rate, rate / n, rate / single);
  }
}

}  // namespace

void add_serve_bench(CLI::App& bench) {
  auto o = std::make_shared<BenchServeOptions>();
  auto* c = bench.add_subcommand("serve", "bmx serve's continuous batching: aggregate decode tokens/s at 1, 4, 8 "
                                          "concurrent streams beside single-stream generate()");
  c->add_option("-m,--model", o->model, "Decoder model folder (e.g. from bmx dev random-model --like qwen3-4b)")->required();
  c->add_option("--streams", o->streams, "Concurrent streams, e.g. 1,4,8")->delimiter(',')->check(CLI::Range(1, 256));
  c->add_option("-p,--prompt", o->prompt, "Prompt tokens per stream")->check(CLI::Range(1, 100000));
  c->add_option("-n,--tokens", o->tokens, "New tokens per stream")->check(CLI::Range(2, 100000));
  add_threads_flag(c, o->threads);
  add_bf16_prefill_flag(c, o->bf16_prefill);
  add_weights_flag(c, o->weights, o->access);
  c->callback([o] { run_bench_serve(*o); });
}

}  // namespace bmx::app
