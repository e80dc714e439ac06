#include "llm_common.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "bmx/core/util/error.h"
#include "bmx/core/nn/block_quant.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/chat_template.h"
#include "bmx/tokenizers/tasks.h"
#include "bmx/tokenizers/text_generation.h"

namespace bmx::app {

void apply_bf16_prefill(bool bf16_prefill) {
  if (bf16_prefill) kernels::set_precision(kernels::Precision::bf16_activations);
}

void apply_runtime_options(const LlmOptions& o) {
  set_llm_threads(o.threads);
  apply_bf16_prefill(o.bf16_prefill);
}

void add_bf16_prefill_flag(CLI::App* c, bool& bf16_prefill) {
  c->add_flag("--bf16-prefill", bf16_prefill,
              "Round activations to BF16 in every product of several rows: the prefill, and decoding several "
              "sequences at once (--samples, serve's slots); about 1.5x those on AVX-512 BF16 CPUs, as llama.cpp; "
              "not exact");
}

namespace {

// The range of a number flag, checked as CLI11 parses it, so generate, chat, run and bench refuse the same values
// the same way ("--temp: nan is not a number in [0, inf)"). NaN passes every comparison and CLI::Range lets it
// through; here a value must be finite and inside [lo, hi] (or (lo, hi] when lo_open).
CLI::Validator number_in(double lo, double hi, bool lo_open = false) {
  const std::string range = std::string(lo_open ? "(" : "[") + (lo == -1e300 ? "-inf" : CLI::detail::to_string(lo)) +
                            ", " + (hi == 1e300 ? "inf)" : CLI::detail::to_string(hi) + "]");
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool ok = end != text.c_str() && *end == '\0' && std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
        return ok ? std::string() : text + " is not a number in " + range;
      },
      "NUMBER in " + range);
}

}  // namespace

void add_threads_flag(CLI::App* c, int& threads) {
  c->add_option("-t,--threads", threads, "Threads (default or 0: all cores; more than the cores is capped to them)")
      ->check(number_in(0, 1e300));
}

void add_weights_flag(CLI::App* c, std::string& weights, FileAccess& access) {
  c->add_option("--weights", weights,
                "Round the decoder's projections at load: q8_0 (8-bit, one scale per block of 32; ~1/2 the bytes per "
                "token of BF16) or q4_0 (4-bit; ~1/4). Default: the weights as stored")
      ->check(CLI::IsMember({"q8_0", "q4_0", "q8", "q4"}));
  auto* map = c->add_flag_callback("--mmap", [&access] { access = FileAccess::map; },
                                   "Map the weights from the page cache: a faster start, one copy shared by every "
                                   "process, slower decoding on some machines. Default: read them into memory "
                                   "when they fit (with room to spare), else map them");
  auto* read = c->add_flag_callback("--no-mmap", [&access] { access = FileAccess::read; },
                                    "Read the weights into memory (as llama.cpp's --no-mmap); refused when they do "
                                    "not fit");
  map->excludes(read);
}

Qwen3Model load_decoder(const LlmOptions& o) {
  // Weights rounded at load are read once, into the rounded copy: no use reading them in first.
  const FileAccess access = o.access == FileAccess::automatic && !o.weights.empty() ? FileAccess::map : o.access;
  Qwen3Model m = load_qwen3(o.model, access);
  if (!o.weights.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    quantize_weights(m, kernels::parse_block_format(o.weights));
    if (!o.quiet)
      std::fprintf(stderr, "bmx: weights rounded to %s in %.1f s (%s kernels)\n", m.weights_format.c_str(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                   kernels::block_kernels_name());
  }
  return m;
}

void add_sampling_flags(CLI::App* c, LlmOptions& o) {
  add_weights_flag(c, o.weights, o.access);
  const double inf = 1e300;
  c->add_option("-n,--max-new-tokens", o.max_new_tokens, "New tokens at most (default: generation_config.json, else 256)")
      ->check(number_in(0, inf));
  c->add_option("--temp,--temperature", o.temp, "Temperature; 0 = greedy (default: generation_config.json, greedy without it)")
      ->check(number_in(0, inf));
  c->add_option("--top-k", o.top_k, "Top-k when sampling (0 = off; transformers' default 50)")->check(number_in(0, inf));
  c->add_option("--top-p", o.top_p, "Nucleus sampling threshold (1 = off)")->check(number_in(0, 1));
  c->add_option("--min-p", o.min_p, "Min-p filter (relative to the most probable token)")->check(number_in(0, 1));
  c->add_option("--repeat-penalty,--repetition-penalty", o.repeat_penalty, "Repetition penalty (1 = off)")
      ->check(number_in(0, inf, /*lo_open=*/true));
  c->add_option("-s,--seed", o.seed, "Random seed for sampling (default 0)");
  c->add_option("--stop", o.stop, "Stop string (repeatable); the string stays in the output");
  c->add_option("-c,--ctx", o.ctx, "Context limit in tokens, prompt included (default or 0: max_position_embeddings "
                                   "of config.json)")
      ->check(number_in(0, inf));
  add_threads_flag(c, o.threads);
  add_bf16_prefill_flag(c, o.bf16_prefill);
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
  if (o.ctx) g.context_length = *o.ctx;  // ranges: checked as the flags are parsed (add_sampling_flags)
}

ContextLimit context_limit(const GenerationOptions& g, const Qwen3Model& m) {
  if (g.context_length > 0) return {g.context_length, "-c " + std::to_string(g.context_length)};
  return {m.config.max_position_embeddings, "max_position_embeddings of config.json"};
}

void check_prompt_fits(std::size_t prompt_tokens, const GenerationOptions& g, const Qwen3Model& m) {
  const ContextLimit c = context_limit(g, m);
  if (static_cast<int64_t>(prompt_tokens) >= c.tokens)
    throw InputError("the prompt has " + std::to_string(prompt_tokens) + " tokens, which leaves no room in the context of " +
                     std::to_string(c.tokens) + " tokens (" + c.source + ")");
}

void apply_stop_strings(GenerationOptions& g, const Qwen3Model& m, const Tokenizer* tok, const LlmOptions& o) {
  std::vector<std::string> stops = m.generation.stop_strings;
  stops.insert(stops.end(), o.stop.begin(), o.stop.end());
  if (stops.empty()) return;
  if (!tok) throw InputError("stop strings need the model's tokenizer.json");
  g.stop = stop_at_strings(std::move(stops), *tok);
}

GenerationOptions generation_options(const Qwen3Model& m, const Tokenizer* tok, const LlmOptions& o) {
  auto g = tok ? text_generation_options(m, *tok) : default_generation_options(m);
  apply_sampling_flags(g, m, o);
  apply_stop_strings(g, m, tok, o);
  return g;
}

}  // namespace bmx::app
