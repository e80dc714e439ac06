// bmx.Tokenizer, bmx.Model, bmx.extract: the decoder side. Model.generate uses the pieces of `bmx generate`
// (apps/llm_common.h: the folder's defaults, sampling values checked as the flags are, the modality constraint);
// Model.run runs `bmx run` itself, in this process, so that its summary.json is the result; the Model's decoder and
// tokenizer serve every run, and the structure tokenizers a run loads are kept for the next (run_models.h).
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.h"
#include "bmx/core/llm/generation.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/chat_template.h"
#include "bmx/tokenizers/segment_json.h"
#include "bmx/tokenizers/segments.h"
#include "bmx/core/io/json_sax.h"
#include "commands.h"
#include "llm_common.h"
#include "run_models.h"

namespace py = pybind11;

namespace bmx::python {
namespace {

std::shared_ptr<Tokenizer> tokenizer_of(const std::string& dir) {
  app::check_model_folder(dir, /*need_config=*/false);
  return app::load_tokenizer(dir, "bmx.Tokenizer needs the model folder's tokenizer.json");
}

std::string chat_text(const Tokenizer& tok, const std::string& messages_json, bool add_generation_prompt,
                      std::optional<bool> enable_thinking, const std::string& tools_json) {
  if (tok.chat_template().empty()) throw InputError("the model folder has no chat template (tokenizer_config.json)");
  ChatTemplate tmpl(tok.chat_template(), tok.config_file());
  ChatInput in;
  in.messages = parse_json<nlohmann::ordered_json>(messages_json);
  in.add_generation_prompt = add_generation_prompt;
  in.enable_thinking = enable_thinking;
  if (!tools_json.empty()) in.tools = parse_json<nlohmann::ordered_json>(tools_json);
  in.bos_token = tok.bos_token();
  in.eos_token = tok.eos_token();
  in.pad_token = tok.pad_token();
  return render_chat(tmpl, in);
}

// Sampling settings by the names of the command-line flags (llama.cpp's), checked as the flags are.
struct Sampling {
  std::optional<int64_t> max_new_tokens, top_k, seed, ctx;
  std::optional<double> temperature, top_p, min_p, repeat_penalty;
  std::vector<std::string> stop;
  bool constrain = true, think = true;
};

struct PyModel {
  // mmap: true maps the weights, false reads them into memory, None decides by the memory free (--mmap, --no-mmap).
  PyModel(const std::string& dir, int threads, std::optional<bool> mmap) {
    app::check_model_folder(dir);
    options.model = dir;
    options.threads = threads;
    if (mmap) options.access = *mmap ? FileAccess::map : FileAccess::read;
    options.quiet = true;
    app::apply_runtime_options(options);
    model = std::make_unique<Qwen3Model>(app::load_decoder(options));
    tok = app::load_tokenizer_if_present(dir);
    kept.model_dir = dir;
    kept.decoder = model.get();
    kept.tokenizer = tok.get();
  }

  // The sampling settings as the command line's flags, parsed by its parser: the same checks and messages
  // ("--temp: -1 is not a number in [0, inf)").
  app::LlmOptions flags(const Sampling& s) const {
    std::vector<std::string> args{"generate"};
    auto number = [&](const char* flag, const auto& value) {
      if (!value) return;
      char buf[64];
      if constexpr (std::is_integral_v<std::decay_t<decltype(*value)>>)
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(*value));
      else
        std::snprintf(buf, sizeof buf, "%.17g", double(*value));
      args.push_back(std::string(flag) + "=" + buf);
    };
    number("--max-new-tokens", s.max_new_tokens);
    number("--top-k", s.top_k);
    number("--seed", s.seed);
    number("--ctx", s.ctx);
    number("--temp", s.temperature);
    number("--top-p", s.top_p);
    number("--min-p", s.min_p);
    number("--repeat-penalty", s.repeat_penalty);
    for (const std::string& stop : s.stop) args.push_back("--stop=" + stop);
    app::LlmOptions o = options;
    CLI::App parser("generate");
    app::add_sampling_flags(&parser, o);
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      parser.parse(int(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      throw InputError(e.what());
    }
    o.no_constrain = !s.constrain;
    o.no_think = !s.think;
    return o;
  }

  // The prompt's text to ids (chat: through the chat template, one user turn after an optional system message),
  // generated with the folder's defaults and `s` over them; `on_text` gets the text as it becomes final.
  py::dict generate(const std::string& prompt, bool chat, const std::string& system, const Sampling& s,
                    const std::function<void(const std::string&)>& on_text) const {
    if (!tok) throw InputError(options.model + ": no tokenizer.json: bmx.Model.generate needs text in and out");
    const app::LlmOptions o = flags(s);
    std::vector<TokenId> ids;
    std::string text;
    Generation out;
    {
      py::gil_scoped_release release;
      if (chat || !system.empty()) {
        auto msgs = nlohmann::ordered_json::array();
        if (!system.empty()) msgs.push_back(app::message("system", system));
        msgs.push_back(app::message("user", prompt));
        ids = tok->encode(app::render(*tok, msgs, o.no_think));
      } else {
        ids = tok->encode(prompt);
      }
      GenerationOptions g = app::generation_options(*model, tok.get(), o);
      app::check_prompt_fits(ids.size(), g, *model);
      app::apply_constraint(g, *tok, o);
      // The text as it becomes final: tokens wait only while their bytes end inside a UTF-8 character.
      std::vector<TokenId> pending;
      const std::vector<TokenId> hidden = g.eos_token_ids;
      auto emit = [&](bool final) {
        if (pending.empty()) return;
        const std::string t = tok->decode(pending);
        if (!final && t.size() >= 3 && t.compare(t.size() - 3, 3, "\xEF\xBF\xBD") == 0) return;
        text += t;
        pending.clear();
        if (on_text) {
          py::gil_scoped_acquire acquire;
          on_text(t);
        }
      };
      out = bmx::generate(*model, {ids}, g, [&](size_t, TokenId id) {
              if (std::find(hidden.begin(), hidden.end(), id) != hidden.end()) return;
              pending.push_back(id);
              emit(false);
            })[0];
      emit(true);
    }
    py::dict d;
    d["text"] = text;
    d["finish"] = std::string(to_string(out.finish));
    d["prompt_tokens"] = ids.size();
    d["new_tokens"] = out.ids.size();
    return d;
  }

  // `bmx run ARGS...` in this process with this Model's decoder and tokenizer (-m is this folder); its exit status.
  // A flag CLI11 refuses is an InputError with its message. One run at a time: the kept structure tokenizers
  // load on first use, and the exit status is the command line's global.
  int run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"bmx", "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<const char*> raw;
    for (const auto& a : argv) raw.push_back(a.c_str());
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> one_run(run_mutex);
    CLI::App app("bmx");
    app::add_run_commands(app, &kept);
    app::exit_status = 0;
    // The run sets the maths threads from its -t; generate() goes on with the Model's own.
    struct Restore {
      const app::LlmOptions& o;
      ~Restore() { app::apply_runtime_options(o); }
    } restore{options};
    try {
      app.parse(int(raw.size()), raw.data());
    } catch (const CLI::ParseError& e) {
      throw InputError(std::string("bmx run: ") + e.what());
    }
    return app::exit_status;
  }

  app::LlmOptions options;
  std::unique_ptr<Qwen3Model> model;
  std::unique_ptr<Tokenizer> tok;
  app::RunModels kept;
  std::mutex run_mutex;
};

}  // namespace

void add_llm(py::module_& m) {
  py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "_Tokenizer")
      .def(py::init(&tokenizer_of), py::arg("model_dir"))
      .def("encode", [](const Tokenizer& t, const std::string& text, bool special) { return t.encode(text, special); },
           py::arg("text"), py::arg("add_special_tokens") = true)
      .def("decode", [](const Tokenizer& t, const std::vector<TokenId>& ids, bool skip) { return t.decode(ids, skip); },
           py::arg("ids"), py::arg("skip_special_tokens") = false)
      .def("apply_chat_template", &chat_text)
      .def("token_to_id", &Tokenizer::token_to_id)
      .def("id_to_token", &Tokenizer::id_to_token)
      .def_property_readonly("vocab_size", &Tokenizer::vocab_size)
      .def_property_readonly("eos_token", &Tokenizer::eos_token)
      .def_property_readonly("eos_id", &Tokenizer::eos_id);

  py::class_<Sampling>(m, "_Sampling")
      .def(py::init<>())
      .def_readwrite("max_new_tokens", &Sampling::max_new_tokens)
      .def_readwrite("top_k", &Sampling::top_k)
      .def_readwrite("seed", &Sampling::seed)
      .def_readwrite("ctx", &Sampling::ctx)
      .def_readwrite("temperature", &Sampling::temperature)
      .def_readwrite("top_p", &Sampling::top_p)
      .def_readwrite("min_p", &Sampling::min_p)
      .def_readwrite("repeat_penalty", &Sampling::repeat_penalty)
      .def_readwrite("stop", &Sampling::stop)
      .def_readwrite("constrain", &Sampling::constrain)
      .def_readwrite("think", &Sampling::think);

  py::class_<PyModel>(m, "_Model")
      .def(py::init<const std::string&, int, std::optional<bool>>(), py::arg("model_dir"), py::arg("threads"),
           py::arg("mmap"))
      .def("generate", &PyModel::generate)
      .def("run", &PyModel::run, "bmx run with these arguments (-m this folder), in this process; its exit status");
  m.def("_extract", [](const std::string& answer) {
    const ParsedAnswer parsed = parse_answer(answer);
    nlohmann::ordered_json j;
    j["segments"] = nlohmann::ordered_json::array();
    for (const Segment& s : parsed.segments) j["segments"].push_back(segment_json(s));
    j["stray_markers"] = nlohmann::ordered_json::array();
    for (const StrayMarker& s : parsed.stray_markers)
      j["stray_markers"].push_back({{"marker", s.marker}, {"start", s.start}, {"end", s.end}});
    return j.dump();
  });
}

}  // namespace bmx::python
