// Pieces shared by the decoder commands (llm_commands.cpp, run_commands.cpp, llm_bench.cpp,
// llm_random_model.cpp): the sampling flags and what they mean, tokenizer loading, chat-template rendering.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bmx/core/io/mapped_file.h"
#include "bmx/core/llm/generation.h"
#include "bmx/tokenizers/modality_constraint.h"

namespace bmx {
struct Qwen3Model;
class Tokenizer;
}  // namespace bmx

namespace bmx::app {

void add_llm_bench(CLI::App& bench);       // llm_bench.cpp: bmx bench llm
void add_random_model(CLI::App& dev);      // llm_random_model.cpp: bmx dev random-model
void add_quantize_command(CLI::App& app);  // quantize_command.cpp: bmx quantize

// Where BioMatrix's weights come from, in one sentence (errors about a missing model folder end with it).
extern const char* const kWeightsHint;
// Help of -m/--model on every decoder command.
extern const char* const kModelHelp;
// InputError, one line naming DIR and where the weights come from, unless DIR is a folder (with config.json when
// `need_config`; a tokenizer-only folder does for bmx tokenize).
void check_model_folder(const std::string& dir, bool need_config = true);
// Threads for ATen and the kernels (n <= 0: all hardware threads).
void set_llm_threads(int n);

struct LlmOptions {
  std::string model;
  std::string prompt, ids, system;
  bool chat = false, print_ids = false, no_think = false, bf16_prefill = false;
  bool no_constrain = false;  // --no-constrain: sample without the modality grammar
  bool quiet = false;         // -q: no progress, notes or timing line on stderr (errors still)
  int threads = 0;
  std::optional<int64_t> max_new_tokens, top_k, seed, ctx;
  std::optional<double> temp, top_p, min_p, repeat_penalty;
  std::vector<std::string> stop;
  std::string extract;  // bmx generate --extract OUTDIR
  std::string weights;  // --weights q8_0|q4_0: projections rounded at load; empty: as stored
  FileAccess access = FileAccess::automatic;  // --mmap / --no-mmap
};

// load_qwen3 (the files read into memory or mapped as --mmap / --no-mmap say; by default read when they fit, but
// mapped when --weights rounds them), then the projections rounded to --weights when it is given (with a note on
// stderr unless quiet).
Qwen3Model load_decoder(const LlmOptions& o);
// --weights, --mmap and --no-mmap of every decoder command and bench.
void add_weights_flag(CLI::App* c, std::string& weights, FileAccess& access);

// Threads and prefill precision: every decoder command takes the same flags, so they apply them here, once.
void apply_runtime_options(const LlmOptions& o);
// -t/--threads of every decoder command and bench (thread_count's rule: 0 all cores, capped to the hardware).
void add_threads_flag(CLI::App* c, int& threads);
// --bf16-prefill of every decoder command that decodes (generate, chat, run, serve, bench serve), and its effect:
// the kernels' precision for every product of several rows.
void add_bf16_prefill_flag(CLI::App* c, bool& bf16_prefill);
void apply_bf16_prefill(bool bf16_prefill);
// -n --temp --top-k --top-p --min-p --repeat-penalty -s --stop -c -t --bf16-prefill (llama.cpp's names). Each number
// is checked as it is parsed (finite, in its range), so every command refuses the same values with the same words.
void add_sampling_flags(CLI::App* c, LlmOptions& o);
// The flags given on the command line applied over `g` (the model's defaults, or a task's); InputError for
// values out of range. Stop strings are text: apply_stop_strings.
void apply_sampling_flags(GenerationOptions& g, const Qwen3Model& m, const LlmOptions& o);
// InputError when anything printed to stdout was lost (a full disk, /dev/full): commands that stream their output
// there check it at the end, so a lost output is a non-zero exit.
void check_stdout_written();
// The context limit in force and which setting it is: "-c N" or "max_position_embeddings of config.json".
struct ContextLimit {
  int64_t tokens = 0;
  std::string source;
};
ContextLimit context_limit(const GenerationOptions& g, const Qwen3Model& m);
// InputError when a prompt of `prompt_tokens` leaves no room for a new token, naming the limit and its source.
void check_prompt_fits(std::size_t prompt_tokens, const GenerationOptions& g, const Qwen3Model& m);
// The folder's stop strings (generation_config.json) and --stop, matched through the tokenizer; InputError when
// there are some and no tokenizer (tok null).
void apply_stop_strings(GenerationOptions& g, const Qwen3Model& m, const Tokenizer* tok, const LlmOptions& o);
// The modality grammar (tokenizers/modality_constraint.h) for every row, with `answer`'s requirements, unless
// --no-constrain or the tokenizer has no BioMatrix control tokens (a plain Qwen3 model: nothing to constrain).
void apply_constraint(GenerationOptions& g, const Tokenizer& tok, const LlmOptions& o, const AnswerConstraint& answer = {});
// The model's defaults (generation_config.json, and with its tokenizer: tokenizer eos, vocabulary limit, stop
// strings) with the command-line flags over them. tok may be null (a folder without tokenizer.json).
GenerationOptions generation_options(const Qwen3Model& m, const Tokenizer* tok, const LlmOptions& o);

// DIR/tokenizer.json, or an InputError that ends with `why` (what to do without one).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const char* why);
// DIR/tokenizer.json when the folder has one, else null: generating ids needs no tokenizer, but when there is
// one it says which ids end a turn and which rows are padding.
std::unique_ptr<Tokenizer> load_tokenizer_if_present(const std::string& dir);

nlohmann::ordered_json message(const std::string& role, const std::string& content);
// The messages through the model's chat template with the generation prompt (the assistant turn opened).
std::string render(const Tokenizer& tok, const nlohmann::ordered_json& messages, bool no_think);

}  // namespace bmx::app
