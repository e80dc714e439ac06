#include "llm_common.h"

#include <filesystem>

#include "bmx/core/util/error.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/chat_template.h"
#include "bmx/tokenizers/tasks.h"

namespace bmx::app {

void apply_runtime_options(const LlmOptions& o) {
  set_llm_threads(o.threads);
  if (o.bf16_prefill) kernels::set_precision(kernels::Precision::bf16_activations);
}

void add_sampling_flags(CLI::App* c, LlmOptions& o) {
  c->add_option("-n,--max-new-tokens", o.max_new_tokens, "New tokens at most (default: generation_config.json, else 256)");
  c->add_option("--temp,--temperature", o.temp, "Temperature; 0 = greedy (default: generation_config.json, greedy without it)");
  c->add_option("--top-k", o.top_k, "Top-k when sampling (0 = off; transformers' default 50)");
  c->add_option("--top-p", o.top_p, "Nucleus sampling threshold (1 = off)");
  c->add_option("--min-p", o.min_p, "Min-p filter (relative to the most probable token)");
  c->add_option("--repeat-penalty,--repetition-penalty", o.repeat_penalty, "Repetition penalty (1 = off)");
  c->add_option("-s,--seed", o.seed, "Random seed for sampling (default 0)");
  c->add_option("--stop", o.stop, "Stop string (repeatable); the string stays in the output");
  c->add_option("-c,--ctx", o.ctx, "Context limit in tokens (default: max_position_embeddings)");
  c->add_option("-t,--threads", o.threads, "Threads (default: all cores)");
  c->add_flag("--bf16-prefill", o.bf16_prefill,
              "Prefill with activations rounded to BF16 (faster on AVX-512 BF16 CPUs, as llama.cpp; not exact)");
  c->add_flag("--no-constrain", o.no_constrain,
              "Sample without the modality grammar (with a BioMatrix tokenizer, segments then may not decode)");
}

void apply_constraint(GenerationOptions& g, const Tokenizer& tok, const LlmOptions& o, const AnswerConstraint& answer) {
  if (o.no_constrain || !missing_control_tokens(tok).empty()) return;
  auto vocabulary = analyse_vocabulary(tok, g.eos_token_ids);
  g.constraint = [vocabulary, answer](size_t) { return make_modality_constraint(vocabulary, answer); };
}

void apply_sampling_flags(GenerationOptions& g, const Qwen3Model& m, const LlmOptions& o) {
  if (o.max_new_tokens) g.max_new_tokens = *o.max_new_tokens;
  if (o.temp) {
    g.sampling.temperature = *o.temp;
    // Sampling asked for on the command line on a greedy model: transformers' defaults for the filters.
    if (*o.temp > 0 && !m.generation.do_sample) {
      g.sampling.top_k = m.generation.top_k;
      g.sampling.top_p = m.generation.top_p;
      g.sampling.min_p = m.generation.min_p;
    }
  }
  if (o.top_k) g.sampling.top_k = *o.top_k;
  if (o.top_p) g.sampling.top_p = *o.top_p;
  if (o.min_p) g.sampling.min_p = *o.min_p;
  if (o.repeat_penalty) g.sampling.repetition_penalty = *o.repeat_penalty;
  if (o.seed) g.seed = uint64_t(*o.seed);
  if (o.ctx) g.context_length = *o.ctx;
  for (auto& s : o.stop) g.stop_strings.push_back(s);
  if (g.sampling.top_p < 0 || g.sampling.top_p > 1) throw InputError("--top-p must lie in [0, 1]");
  if (g.sampling.repetition_penalty <= 0) throw InputError("--repeat-penalty must be positive");
  if (g.sampling.min_p && (*g.sampling.min_p < 0 || *g.sampling.min_p > 1)) throw InputError("--min-p must lie in [0, 1]");
  if (g.max_new_tokens < 0) throw InputError("--max-new-tokens must not be negative");
}

GenerationOptions generation_options(const Qwen3Model& m, const LlmOptions& o) {
  auto g = default_generation_options(m);
  apply_sampling_flags(g, m, o);
  return g;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir, const char* why) {
  if (!std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json"))
    throw InputError(dir + ": no tokenizer.json in the model folder; " + why);
  return std::make_unique<Tokenizer>(Tokenizer::from_dir(dir));
}

std::vector<int32_t> to32(const std::vector<int64_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); }
std::vector<int64_t> to64(const std::vector<int32_t>& v) { return std::vector<int64_t>(v.begin(), v.end()); }

nlohmann::ordered_json message(const std::string& role, const std::string& content) {
  nlohmann::ordered_json m;
  m["role"] = role;
  m["content"] = content;
  return m;
}

std::string render(const Tokenizer& tok, const nlohmann::ordered_json& messages, bool no_think) {
  if (tok.chat_template().empty()) throw InputError("the model folder has no chat template (tokenizer_config.json)");
  ChatTemplate tmpl(tok.chat_template());
  ChatInput in;
  in.messages = messages;
  in.add_generation_prompt = true;
  if (no_think) in.enable_thinking = false;
  in.bos_token = tok.bos_token();
  in.eos_token = tok.eos_token();
  in.pad_token = tok.pad_token();
  return render_chat(tmpl, in);
}

}  // namespace bmx::app
