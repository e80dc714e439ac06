// Pieces shared by the decoder commands (llm_commands.cpp, run_commands.cpp, llm_bench.cpp,
// llm_random_model.cpp): the sampling flags and what they mean, tokenizer loading, chat-template rendering.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bmx/core/llm/generation.h"
#include "bmx/tokenizers/modality_constraint.h"

namespace bmx {
struct Qwen3Model;
class Tokenizer;
}  // namespace bmx

namespace bmx::app {

void add_llm_bench(CLI::App& bench);       // llm_bench.cpp: bmx bench llm
void add_random_model(CLI::App& dev);      // llm_random_model.cpp: bmx dev random-model
// Threads for ATen and the kernels (n <= 0: all hardware threads).
void set_llm_threads(int n);

struct LlmOptions {
  std::string model;
  std::string prompt, ids, system;
  bool chat = false, print_ids = false, no_think = false, bf16_prefill = false;
  bool no_constrain = false;  // --no-constrain: sample without the modality grammar
  int threads = 0;
  std::optional<int64_t> max_new_tokens, top_k, seed, ctx;
  std::optional<double> temp, top_p, min_p, repeat_penalty;
  std::vector<std::string> stop;
  std::string extract;  // bmx generate --extract OUTDIR
};

// Threads and prefill precision: every decoder command takes the same flags, so they apply them here, once.
void apply_runtime_options(const LlmOptions& o);
// -n --temp --top-k --top-p --min-p --repeat-penalty -s --stop -c -t --bf16-prefill (llama.cpp's names).
void add_sampling_flags(CLI::App* c, LlmOptions& o);
// The flags given on the command line applied over `g` (the model's defaults, or a task's); InputError for
// values out of range.
void apply_sampling_flags(GenerationOptions& g, const Qwen3Model& m, const LlmOptions& o);
// The modality grammar (tokenizers/modality_constraint.h) for every row, with `answer`'s requirements, unless
// --no-constrain or the tokenizer has no BioMatrix control tokens (a plain Qwen3 model: nothing to constrain).
void apply_constraint(GenerationOptions& g, const Tokenizer& tok, const LlmOptions& o, const AnswerConstraint& answer = {});
// The model's defaults (generation_config.json) with the command-line flags over them.
GenerationOptions generation_options(const Qwen3Model& m, const LlmOptions& o);

// DIR/tokenizer.json, or an InputError that ends with `why` (what to do without one).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const char* why);
std::vector<int32_t> to32(const std::vector<int64_t>& v);
std::vector<int64_t> to64(const std::vector<int32_t>& v);

nlohmann::ordered_json message(const std::string& role, const std::string& content);
// The messages through the model's chat template with the generation prompt (the assistant turn opened).
std::string render(const Tokenizer& tok, const nlohmann::ordered_json& messages, bool no_think);

}  // namespace bmx::app
