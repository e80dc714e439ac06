// bmx generate / bmx chat: the Qwen3 decoder from the command line, streaming text (or ids) to stdout.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "answer_files.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/math_threads.h"
#include "bmx/core/llm/generation.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "commands.h"
#include "llm_common.h"
#include "structure_models.h"

namespace bmx::app {

void set_llm_threads(int n) {
  // The decoder runs its own loops on the kernels' threads and ATen only does small work: the same set-up as every
  // other command, under the one thread rule (thread_count: <= 0 all cores, capped to the hardware).
  set_math_threads(n);
}

namespace {

std::vector<TokenId> parse_ids(const std::string& text) {
  std::vector<TokenId> ids;
  std::string s = text;
  for (char& ch : s)
    if (ch == ',' || ch == '[' || ch == ']') ch = ' ';
  std::istringstream in(s);
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != tok.size()) throw InputError("--ids: '" + tok + "' is not a token id");
    if (v < std::numeric_limits<TokenId>::min() || v > std::numeric_limits<TokenId>::max())
      throw InputError("--ids: token id " + tok + " is outside the vocabulary");
    ids.push_back(TokenId(v));
  }
  if (ids.empty()) throw InputError("--ids: no token ids given");
  return ids;
}

// Prints the generated text as it becomes final. Tokens wait only while their bytes end inside a UTF-8 character
// (decoded as a trailing U+FFFD); once they decode cleanly they are printed and dropped, so each token is decoded
// a bounded number of times, not the whole output again per token.
class TextStream {
 public:
  TextStream(const Tokenizer& tok, std::vector<TokenId> hidden) : tok_(tok), hidden_(std::move(hidden)) {}
  void add(TokenId id) {
    if (std::find(hidden_.begin(), hidden_.end(), id) != hidden_.end()) return;  // eos is not shown
    pending_.push_back(id);
    emit(false);
  }
  void finish() { emit(true); }
  const std::string& text() const { return text_; }

 private:
  void emit(bool final) {
    if (pending_.empty()) return;
    const std::string t = tok_.decode(pending_);
    static const std::string fffd = "\xEF\xBF\xBD";
    if (!final && t.size() >= 3 && t.compare(t.size() - 3, 3, fffd) == 0) return;
    std::fwrite(t.data(), 1, t.size(), stdout);
    std::fflush(stdout);
    text_ += t;
    pending_.clear();
  }
  const Tokenizer& tok_;
  std::vector<TokenId> hidden_;
  std::vector<TokenId> pending_;  // tokens not printed yet
  std::string text_;
};

void report(const Generation& g, int64_t prompt_tokens, double prefill_s, double decode_s) {
  const double n = double(g.ids.size());
  std::fprintf(stderr, "[%lld prompt tokens, %lld new; prefill %.1f tok/s, decode %.2f tok/s; stop: %s]\n",
               (long long)prompt_tokens, (long long)g.ids.size(), prefill_s > 0 ? prompt_tokens / prefill_s : 0.0,
               n > 1 && decode_s > 0 ? (n - 1) / decode_s : 0.0, to_string(g.finish));
}

void run_generate(const LlmOptions& o) {
  check_model_folder(o.model);
  apply_runtime_options(o);
  auto model = load_decoder(o);
  // Even --ids --print-ids takes the tokenizer when the folder has one: its eos ends a turn, its size bounds the ids.
  std::unique_ptr<Tokenizer> tok = load_tokenizer_if_present(o.model);
  std::vector<TokenId> prompt;
  if (!o.ids.empty()) {
    prompt = parse_ids(o.ids);
  } else {
    if (!tok) tok = load_tokenizer(o.model, "use --ids and --print-ids");
    if (o.chat || !o.system.empty()) {
      auto msgs = nlohmann::ordered_json::array();
      if (!o.system.empty()) msgs.push_back(message("system", o.system));
      msgs.push_back(message("user", o.prompt));
      prompt = tok->encode(render(*tok, msgs, o.no_think));
    } else {
      prompt = tok->encode(o.prompt);
    }
  }
  if (!o.print_ids && !tok) tok = load_tokenizer(o.model, "use --print-ids to print token ids");
  auto g = generation_options(model, tok.get(), o);
  check_prompt_fits(prompt.size(), g, model);
  if (tok) apply_constraint(g, *tok, o);
  std::optional<TextStream> text;
  if (!o.print_ids) text.emplace(*tok, g.eos_token_ids);
  const auto t0 = std::chrono::steady_clock::now();
  auto t1 = t0;
  bool first = true;
  auto out = generate(model, {prompt}, g, [&](size_t, TokenId id) {
    if (first) t1 = std::chrono::steady_clock::now();
    if (o.print_ids) {
      std::printf(first ? "%lld" : " %lld", (long long)id);
      std::fflush(stdout);
    } else {
      text->add(id);
    }
    first = false;
  });
  const auto t2 = std::chrono::steady_clock::now();
  if (text) text->finish();
  std::printf("\n");
  check_stdout_written();
  if (out[0].finish == FinishReason::context_limit) {
    const ContextLimit c = context_limit(g, model);
    std::fprintf(stderr, "bmx: stopped at the context limit of %lld tokens (%s)\n", (long long)c.tokens, c.source.c_str());
  }
  if (!o.quiet)
    report(out[0], int64_t(prompt.size()), std::chrono::duration<double>(t1 - t0).count(),
           std::chrono::duration<double>(t2 - t1).count());
  if (!o.extract.empty()) {  // the answer's segments to files, as bmx extract does
    mol3d::silence_rdkit_logs();
    set_math_threads(o.threads);
    StructureDecoders decoders(molstructok_checkpoint({}, o.model), [&o] { return gcp_vqvae_dir({}, o.model); });
    exit_status = extract_to_folder("bmx generate", text->text(), o.prompt, o.extract, decoders, {});
  }
}

// The chat's own commands (llama.cpp's and Ollama's names); none of them reaches the model.
constexpr const char* kChatHelp =
    "  /help, /?          this list\n"
    "  /reset, /clear     forget the conversation (the --system message stays)\n"
    "  /exit, /quit, /bye end the chat (as do an empty line and Ctrl-D)\n"
    "  a line starting with / is a command; start it with // to send one /\n";

void run_chat(const LlmOptions& o) {
  check_model_folder(o.model);
  apply_runtime_options(o);
  auto model = load_decoder(o);
  auto tok = load_tokenizer(o.model, "bmx chat needs the tokenizer");
  auto g = generation_options(model, tok.get(), o);
  if (!o.max_new_tokens && model.generation.max_new_tokens <= 0) g.max_new_tokens = 2048;
  apply_constraint(g, *tok, o);
  const auto fresh = [&o] {
    auto m = nlohmann::ordered_json::array();
    if (!o.system.empty()) m.push_back(message("system", o.system));
    return m;
  };
  auto msgs = fresh();
  if (!o.quiet)
    std::fprintf(stderr, "bmx chat: %s (%lld layers). /help lists the commands; /exit, an empty line or Ctrl-D ends.\n",
                 o.model.c_str(), (long long)model.config.num_layers);
  for (;;) {
    if (!o.quiet) std::fprintf(stderr, "> ");
    std::string line;
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (line[0] == '/' && line.compare(0, 2, "//") != 0) {
      std::string cmd = line.substr(0, line.find_first_of(" \t"));
      if (cmd == "/exit" || cmd == "/quit" || cmd == "/bye") break;
      if (cmd == "/reset" || cmd == "/clear") {
        msgs = fresh();
        if (!o.quiet) std::fprintf(stderr, "bmx chat: conversation cleared\n");
      } else if (cmd == "/help" || cmd == "/?") {
        std::fprintf(stderr, "%s", kChatHelp);
      } else {
        std::fprintf(stderr, "bmx chat: unknown command %s (/help lists them; // sends a line starting with /)\n",
                     cmd.c_str());
      }
      continue;
    }
    if (line.compare(0, 2, "//") == 0) line.erase(0, 1);
    msgs.push_back(message("user", line));
    const auto prompt = tok->encode(render(*tok, msgs, o.no_think));
    TextStream text(*tok, g.eos_token_ids);
    try {
      check_prompt_fits(prompt.size(), g, model);
      auto out = generate(model, {prompt}, g, [&](size_t, TokenId id) { text.add(id); });
      text.finish();
      std::printf("\n");
      std::fflush(stdout);
      if (out[0].finish == FinishReason::context_limit) {
        const ContextLimit c = context_limit(g, model);
        std::fprintf(stderr, "bmx: the conversation reached the context limit of %lld tokens (%s); /reset to start "
                     "again\n", (long long)c.tokens, c.source.c_str());
      }
    } catch (const InputError& e) {
      std::fprintf(stderr, "bmx: %s; /reset to start again\n", e.what());
      msgs.erase(msgs.size() - 1);
      continue;
    }
    msgs.push_back(message("assistant", text.text()));
    check_stdout_written();  // an answer lost to a full disk or closed pipe ends the chat with a non-zero exit
  }
  check_stdout_written();
}

}  // namespace

void add_llm_commands(CLI::App& app, CLI::App& bench, CLI::App& dev) {
  auto opts = std::make_shared<LlmOptions>();
  auto* gen = app.add_subcommand("generate", "Generate a continuation with a Qwen3/BioMatrix model (streams to stdout)");
  gen->add_option("-m,--model", opts->model, kModelHelp)->required();
  auto* p = gen->add_option("-p,--prompt", opts->prompt, "Prompt text");
  auto* i = gen->add_option("--ids", opts->ids, "Prompt as token ids, e.g. \"1 2 3\"");
  p->excludes(i);
  gen->add_flag("--chat", opts->chat, "Wrap the prompt in the model's chat template (one user turn)");
  gen->add_option("--system", opts->system, "System message (implies --chat)");
  gen->add_flag("--no-think", opts->no_think, "Pass enable_thinking=false to the chat template");
  gen->add_flag("--print-ids", opts->print_ids, "Print the new token ids instead of text");
  add_sampling_flags(gen, *opts);
  gen->add_option("-o,--output,--extract", opts->extract, "Write the answer's segments as files + summary.json into "
                                                        "this folder (as bmx extract, bmx run -o)")->excludes("--print-ids");
  gen->add_flag("-q,--quiet", opts->quiet, "No timing line on stderr");
  gen->callback([opts, gen, p, i] {
    if (p->count() == 0 && i->count() == 0) throw CLI::ValidationError("generate", "give --prompt or --ids");
    if (i->count() && (opts->chat || !opts->system.empty()))
      throw CLI::ValidationError("generate", "--chat/--system need --prompt text");
    run_generate(*opts);
  });

  auto copts = std::make_shared<LlmOptions>();
  auto* chat = app.add_subcommand("chat", "Interactive multi-turn chat with a model that has a chat template (one "
                                          "user turn per stdin line; /help, /reset, /exit)");
  chat->add_option("-m,--model", copts->model, kModelHelp)->required();
  chat->add_option("--system", copts->system, "System message");
  chat->add_flag("--no-think", copts->no_think, "Pass enable_thinking=false to the chat template");
  chat->add_flag("-q,--quiet", copts->quiet, "No banner or '> ' prompt on stderr");
  add_sampling_flags(chat, *copts);
  chat->callback([copts] { run_chat(*copts); });

  add_quantize_command(app);
  add_llm_bench(bench);
  add_random_model(dev);
}

}  // namespace bmx::app
