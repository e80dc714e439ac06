#include "serve/completions.h"

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <random>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "bmx/tokenizers/tasks.h"
#include "bmx/tokenizers/text_generation.h"
#include "llm_common.h"
#include "serve/api_request.h"
#include "serve/structures.h"

namespace bmx::app::serve {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// One choice of a request as the engine fills it (under Job::m).
struct Choice {
  uint64_t engine_id = 0;
  std::vector<TokenId> ids;  // new tokens, eos left out (its text is not part of the answer)
  bool done = false;
  Generation generation;
  std::string error;
  std::string sent;  // text already streamed
};

// What the engine's callbacks (engine thread) and the client's thread share.
struct Job {
  std::mutex m;
  std::condition_variable cv;
  std::vector<Choice> choices;
  bool all_done() const {
    for (const auto& c : choices)
      if (!c.done) return false;
    return true;
  }
};

std::string random_hex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += digits[rng() % 16];
  return s;
}

// Bytes of `s` without a trailing incomplete UTF-8 sequence (a token may end inside a character).
size_t complete_utf8(const std::string& s) {
  size_t i = s.size(), back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return s.size();
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  const size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (lead >= 0xC0 && back < need) return i - 1;
  return s.size();
}

// Where the answer ends: the first stop string (OpenAI's answers leave it out).
size_t stop_at(const std::string& text, const std::vector<std::string>& stops) {
  size_t end = text.size();
  for (const auto& s : stops) end = std::min(end, text.find(s));
  return end;
}

// Bytes at the end of `text` that may be the start of a stop string (held back while streaming).
size_t stop_holdback(const std::string& text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const auto& s : stops)
    for (size_t k = std::min(s.size() - 1, text.size()); k > hold; --k)
      if (text.compare(text.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  return hold;
}

// OpenAI's stop strings end the answer where one first occurs anywhere in the text, also inside a token (bmx
// generate's --stop ends a row once its text ends with one): each step decodes enough of the last tokens to hold
// the longest stop string (every token is at least one byte of text).
StopCriterion stop_anywhere(std::vector<std::string> stops, const Tokenizer& tok) {
  size_t longest = 0;
  for (const auto& s : stops) longest = std::max(longest, s.size());
  return [stops = std::move(stops), &tok, longest](size_t, const std::vector<TokenId>& ids) {
    const size_t n = std::min(ids.size(), longest + 1);
    const std::string tail = tok.decode(std::vector<TokenId>(ids.end() - std::ptrdiff_t(n), ids.end()));
    for (const auto& s : stops)
      if (tail.find(s) != std::string::npos) return true;
    return false;
  };
}

// `n` at most: one request takes at most this many slots (and queue places) at once.
constexpr int kMaxChoices = 16;

// How often a request waiting for its tokens asks whether its client is still there (a closed connection frees
// its slots within this time).
constexpr std::chrono::milliseconds kClientCheck{50};

const char* finish_reason(FinishReason f) {
  return f == FinishReason::eos || f == FinishReason::stop_string ? "stop" : "length";
}

std::string model_name(const std::string& dir) {
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

}  // namespace

CompletionService::CompletionService(const ServeOptions& o, StructureService& structures) : structures_(structures) {
  check_model_folder(o.model);
  LlmOptions lo;
  lo.model = o.model;
  lo.weights = o.weights;
  lo.access = o.access;
  lo.quiet = true;
  model_ = load_decoder(lo);
  tok_ = load_tokenizer(o.model, "bmx serve takes text and needs the model's tokenizer");
  base_ = text_generation_options(model_, *tok_);
  if (missing_control_tokens(*tok_).empty()) vocabulary_ = analyse_vocabulary(*tok_, base_.eos_token_ids);
  model_dir_ = o.model;
  model_id_ = o.alias.empty() ? model_name(o.model) : o.alias;
  BatchEngineOptions eo;
  eo.slots = o.parallel;
  eo.max_queue = o.max_queue;
  const int64_t per_slot = o.ctx_size > 0 ? o.ctx_size / o.parallel : 4096;
  eo.slot_context = std::min<int64_t>(per_slot, model_.config.max_position_embeddings);
  if (eo.slot_context < 2)
    throw InputError("--ctx-size " + std::to_string(o.ctx_size) + " leaves less than 2 tokens to each of the " +
                     std::to_string(o.parallel) + " slots");
  engine_ = std::make_unique<BatchEngine>(model_, eo);
}

CompletionService::~CompletionService() = default;

void CompletionService::handle(const httplib::Request& req, httplib::Response& res, bool chat) {
  const json j = parse_body(req.body);
  const SamplingRequest s = sampling_request(j, model_.config.vocab_size, kMaxChoices);
  const std::time_t created = std::time(nullptr);

  // The prompt: a chat rendered with the model's template, a completion prompt as it is, or a bmx task.
  BmxRequest bmx = parse_bmx_request(j);
  std::string prompt;
  AnswerConstraint answer;
  if (bmx.task) {
    TaskText t = structures_.task_prompt(bmx);
    ojson messages = ojson::array();
    messages.push_back(message("user", t.prompt.user_turn));
    prompt = render(*tok_, messages, bmx.no_think);
    answer = t.prompt.constraint;
    bmx.user_turn = t.prompt.user_turn;
    bmx.expected_length = t.prompt.expected_length;
    bmx.required = t.outputs;
  } else if (chat) {
    bool no_think = bmx.no_think;
    if (const auto it = j.find("chat_template_kwargs"); it != j.end() && it->is_object())
      if (auto think = bool_field(*it, "enable_thinking")) no_think = !*think;
    const ojson messages = chat_messages(j);
    prompt = render(*tok_, messages, no_think);
    for (const auto& m : messages)
      if (m["role"] == "user") bmx.user_turn = m["content"].get<std::string>();
  } else {
    const auto it = j.find("prompt");
    if (it != j.end() && it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
      prompt = (*it)[0].get<std::string>();
    } else if (it != j.end() && it->is_string()) {
      prompt = it->get<std::string>();
    } else {
      throw ApiError(400, "'prompt' must be a string (or an array of one string)", "prompt");
    }
    bmx.user_turn = prompt;
  }
  const std::vector<TokenId> ids = tok_->encode(prompt, /*add_special_tokens=*/!chat && !bmx.task);
  const int64_t ctx = slot_context();
  const char* prompt_param = chat || bmx.task ? "messages" : "prompt";
  if (ids.empty()) throw ApiError(400, "the prompt is empty", prompt_param);
  if (int64_t(ids.size()) >= ctx)
    throw ApiError(400,
                   "the prompt has " + std::to_string(ids.size()) + " tokens, which leaves no room for new tokens in " +
                       "the context of " + std::to_string(ctx) + " tokens per slot (--ctx-size / --parallel)",
                   prompt_param);

  LlmOptions lo;  // the request's fields as the command-line flags: one rule for defaults and overrides
  lo.temp = s.temperature;
  lo.top_p = s.top_p;
  lo.top_k = s.top_k;
  lo.min_p = s.min_p;
  lo.repeat_penalty = s.repetition_penalty;
  lo.max_new_tokens = s.max_tokens;
  GenerationOptions g = base_;
  if (bmx.task) {  // the preset's sampling under the request's fields
    g.sampling.temperature = bmx.sampling.temperature;
    g.sampling.top_p = bmx.sampling.top_p;
    g.sampling.top_k = 0;
    g.sampling.min_p.reset();
  }
  apply_sampling_flags(g, model_, lo);
  std::vector<std::string> stops = model_.generation.stop_strings;
  stops.insert(stops.end(), s.stop.begin(), s.stop.end());
  if (!stops.empty()) g.stop = stop_anywhere(stops, *tok_);
  if (bmx.constrain && vocabulary_) {  // the modality grammar, with the task's required segments
    auto vocabulary = vocabulary_;
    g.constraint = [vocabulary, answer](size_t) { return make_modality_constraint(vocabulary, answer); };
  }
  const uint64_t seed = s.seed ? uint64_t(*s.seed) : std::random_device{}();

  auto job = std::make_shared<Job>();
  job->choices.resize(size_t(s.n));
  const std::vector<TokenId> eos = g.eos_token_ids;
  auto cancel_all = [this, job] {
    std::vector<uint64_t> ids_to_cancel;
    {
      std::lock_guard<std::mutex> lock(job->m);
      for (auto& c : job->choices)
        if (!c.done && c.engine_id) ids_to_cancel.push_back(c.engine_id);
    }
    for (uint64_t id : ids_to_cancel) engine_->cancel(id);
  };
  for (size_t i = 0; i < size_t(s.n); ++i) {
    BatchRequest r;
    r.prompt = ids;
    r.options = g;
    r.options.seed = seed + i;
    r.on_token = [job, i, eos](TokenId id) {
      if (std::find(eos.begin(), eos.end(), id) != eos.end()) return;
      std::lock_guard<std::mutex> lock(job->m);
      job->choices[i].ids.push_back(id);
      job->cv.notify_all();
    };
    r.on_done = [job, i](const Generation& gen, const std::string& error) {
      std::lock_guard<std::mutex> lock(job->m);
      job->choices[i].done = true;
      job->choices[i].generation = gen;
      job->choices[i].error = error;
      job->cv.notify_all();
    };
    uint64_t id = 0;
    try {
      id = engine_->submit(std::move(r));
    } catch (const InputError& e) {
      cancel_all();
      throw ApiError(400, e.what(), prompt_param);
    }
    if (id == 0) {
      cancel_all();
      ApiError e(503, "the server is busy: every slot is taken and the queue is full; retry later");
      e.retry_after = 1;
      throw e;
    }
    std::lock_guard<std::mutex> lock(job->m);
    job->choices[i].engine_id = id;
  }

  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + random_hex(24);
  const size_t prompt_tokens = ids.size();
  auto text_of = [this, stops](const std::vector<TokenId>& t) {
    std::string text = tok_->decode(t);
    text.resize(stop_at(text, stops));
    return text;
  };
  auto usage = [prompt_tokens](const Job& jb) {
    size_t completion = 0;
    for (const auto& c : jb.choices) completion += c.generation.ids.size();
    ojson u;
    u["prompt_tokens"] = prompt_tokens;
    u["completion_tokens"] = completion;
    u["total_tokens"] = prompt_tokens + completion;
    return u;
  };
  const std::string object = chat ? "chat.completion" : "text_completion";
  // Copied into the stream's provider, which runs after this function has returned: values only.
  auto head = [id, created, object, model = model_id_](const char* suffix) {
    ojson r;
    r["id"] = id;
    r["object"] = object + suffix;
    r["created"] = created;
    r["model"] = model;
    return r;
  };

  if (!s.stream) {
    // httplib 0.11 tells a handler nothing of its client, so a handler that waited for the choices would hold
    // their slots until they end, client gone or not. The provider of a chunked response can ask: between waits
    // it checks the connection (sink.is_writable() peeks at the socket, and a closed one reads end-of-file), and
    // a client that left cancels its choices at once (the releaser). The body is the one JSON object, written
    // whole once every choice is done. The status line goes out before it (200): a choice that fails is reported
    // as OpenAI's error object in the body, as in a stream.
    auto body = [=]() -> std::string {
      ojson r = head("");
      r["choices"] = ojson::array();
      for (size_t i = 0; i < job->choices.size(); ++i) {
        const Choice& c = job->choices[i];
        if (!c.error.empty()) return error_body(500, "generation failed: " + c.error);
        ojson ch;
        ch["index"] = i;
        const std::string text = text_of(c.ids);
        if (chat) {
          ch["message"] = ojson{{"role", "assistant"}, {"content", text}};
        } else {
          ch["text"] = text;
        }
        ch["logprobs"] = nullptr;
        ch["finish_reason"] = finish_reason(c.generation.finish);
        if (bmx.extract && bmx.active()) ch["bmx"] = structures_.extract(text, bmx);
        r["choices"].push_back(ch);
      }
      r["usage"] = usage(*job);
      return r.dump(-1, ' ', false, json::error_handler_t::replace);
    };
    res.set_chunked_content_provider(
        "application/json",
        [job, body](size_t, httplib::DataSink& sink) -> bool {
          std::string out;
          try {  // nothing may escape into the HTTP thread
            for (;;) {
              {
                std::unique_lock<std::mutex> lock(job->m);
                if (job->cv.wait_for(lock, kClientCheck, [&] { return job->all_done(); })) break;
              }
              if (!sink.is_writable()) return false;  // the client is gone: the releaser cancels its choices
            }
            out = body();
          } catch (const std::exception& e) {
            out = error_body(500, std::string("internal error: ") + e.what());
          }
          if (!sink.write(out.data(), out.size())) return false;
          sink.done();
          return true;
        },
        [cancel_all](bool) { cancel_all(); });
    return;
  }

  // Server-sent events: one chunk per new piece of text of a choice, then its finish_reason, [DONE] at the end.
  // A client that goes away (a write fails) cancels its choices: their slots are free at the next step.
  auto chunk = [head, chat, object](size_t index, const std::string& text, const char* finish, bool first) {
    ojson r = head(".chunk");
    if (!chat) r["object"] = object;
    ojson ch;
    ch["index"] = index;
    if (chat) {
      ojson delta = ojson::object();
      if (first) delta["role"] = "assistant";
      if (!text.empty() || first) delta["content"] = text;
      ch["delta"] = delta;
    } else {
      ch["text"] = text;
    }
    ch["logprobs"] = nullptr;
    ch["finish_reason"] = finish ? json(finish) : json(nullptr);
    r["choices"] = ojson::array({ch});
    return "data: " + r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  };
  const bool include_usage = s.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [=](size_t, httplib::DataSink& sink) mutable -> bool {
       try {  // nothing may escape into the HTTP thread
        std::vector<char> finished(job->choices.size(), 0), started(job->choices.size(), 0);
        std::vector<size_t> seen(job->choices.size(), 0);  // tokens of each choice looked at
        for (;;) {
          std::vector<std::vector<TokenId>> ids_now(job->choices.size());
          std::vector<char> done_now(job->choices.size(), 0);
          {
            std::unique_lock<std::mutex> lock(job->m);
            job->cv.wait_for(lock, kClientCheck, [&] {
              for (size_t i = 0; i < job->choices.size(); ++i)
                if (!finished[i] && (job->choices[i].done || job->choices[i].ids.size() > seen[i])) return true;
              return false;
            });
            for (size_t i = 0; i < job->choices.size(); ++i) {
              ids_now[i] = job->choices[i].ids;
              done_now[i] = job->choices[i].done;
              seen[i] = ids_now[i].size();
            }
          }
          std::string out;
          for (size_t i = 0; i < job->choices.size(); ++i) {
            if (finished[i]) continue;
            Choice& c = job->choices[i];  // `sent` is this thread's alone
            std::string text = tok_->decode(ids_now[i]);
            const size_t end = stop_at(text, stops);
            size_t visible = end;
            if (!done_now[i] && end == text.size())
              visible = std::min(complete_utf8(text), text.size() - stop_holdback(text, stops));
            if (visible > c.sent.size() && text.compare(0, c.sent.size(), c.sent) == 0) {
              out += chunk(i, text.substr(c.sent.size(), visible - c.sent.size()), nullptr, !started[i]);
              started[i] = 1;
              c.sent = text.substr(0, visible);
            } else if (!started[i]) {
              out += chunk(i, "", nullptr, true);
              started[i] = 1;
            }
            if (done_now[i]) {
              if (c.error == "cancelled") {
                // the client is gone (or the server stops): nothing more to say
              } else if (!c.error.empty()) {
                out += "data: " + error_body(500, "generation failed: " + c.error) + "\n\n";
              } else {
                out += chunk(i, "", finish_reason(c.generation.finish), false);
                if (bmx.extract && bmx.active()) {
                  ojson r = head(".chunk");
                  r["choices"] = ojson::array({ojson{{"index", i}, {"bmx", structures_.extract(c.sent, bmx)}}});
                  out += "data: " + r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
                }
              }
              finished[i] = 1;
            }
          }
          if (!out.empty() && !sink.write(out.data(), out.size())) return false;
          if (out.empty() && !sink.is_writable()) return false;
          if (std::all_of(finished.begin(), finished.end(), [](char f) { return f != 0; })) break;
        }
        std::string tail;
        if (include_usage) {
          ojson r = head(".chunk");
          if (!chat) r["object"] = object;
          r["choices"] = ojson::array();
          r["usage"] = usage(*job);
          tail += "data: " + r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
        }
        tail += "data: [DONE]\n\n";
        sink.write(tail.data(), tail.size());
        sink.done();
        return true;
       } catch (const std::exception& e) {
        const std::string event = "data: " + error_body(500, std::string("internal error: ") + e.what()) + "\n\n";
        sink.write(event.data(), event.size());
        return false;
       }
      },
      [cancel_all](bool) { cancel_all(); });
}

}  // namespace bmx::app::serve
