// bmx serve: an OpenAI-compatible HTTP server for BioMatrix (llama-server's API and flag names), with continuous
// batching and the structure endpoints. Routes, authentication, errors and metrics are here; the completion
// endpoints in completions.cpp, the structure ones in structures.cpp.
#include <httplib.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "bmx/core/util/error.h"
#include "commands.h"
#include "llm_common.h"
#include "serve/api_request.h"
#include "serve/completions.h"
#include "serve/structures.h"
#include "structure_models.h"

namespace bmx::app {
namespace {

using namespace serve;
using nlohmann::json;

std::atomic<httplib::Server*> running_server{nullptr};

extern "C" void stop_on_signal(int) {
  if (httplib::Server* s = running_server.load()) s->stop();  // shuts the listening socket: listen() returns
}

// Requests and errors by route, for /metrics.
struct HttpCounters {
  std::mutex m;
  std::map<std::pair<std::string, int>, uint64_t> responses;  // (route, status) -> count
  void count(const std::string& route, int status) {
    std::lock_guard<std::mutex> lock(m);
    ++responses[{route, status}];
  }
};

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& param = {}) {
  res.status = status;
  res.set_content(error_body(status, message, param), "application/json");
}

// Equal in time independent of where the strings differ (the API key).
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0;
}

std::string metrics_text(const CompletionService* llm, HttpCounters& http) {
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    o << "# HELP bmx_" << name << ' ' << help << "\n# TYPE bmx_" << name << ' ' << type << "\nbmx_" << name << ' '
      << value << '\n';
  };
  if (llm) {
    const BatchStats s = llm->stats();
    metric("requests_finished_total", "counter", "Engine requests (choices) finished: completed, cancelled or failed",
           double(s.requests));
    metric("requests_cancelled_total", "counter", "Engine requests cancelled (client gone)", double(s.cancelled));
    metric("prompt_tokens_total", "counter", "Prompt tokens prefilled", double(s.prompt_tokens));
    metric("tokens_generated_total", "counter", "Tokens generated", double(s.generated_tokens));
    metric("decode_steps_total", "counter", "Batched decode forwards", double(s.decode_steps));
    metric("queue_depth", "gauge", "Requests waiting for a slot", s.queued);
    metric("slots_busy", "gauge", "Slots decoding or prefilling", s.busy_slots);
    metric("slots_total", "gauge", "Slots (--parallel)", s.slots);
    metric("busy_seconds_total", "counter", "Seconds spent in forwards and sampling", s.busy_seconds);
    metric("tokens_per_second", "gauge", "Generated tokens per second of decoding, over the server's life",
           s.decode_seconds > 0 ? double(s.generated_tokens) / s.decode_seconds : 0.0);
  }
  o << "# HELP bmx_http_requests_total HTTP requests by route and status\n# TYPE bmx_http_requests_total counter\n";
  std::lock_guard<std::mutex> lock(http.m);
  for (const auto& [key, n] : http.responses)
    o << "bmx_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << '\n';
  return o.str();
}

int serve_main(const ServeOptions& o) {
  if (o.parallel < 1 || o.parallel > 256) throw InputError("--parallel must be in [1, 256]");
  if (o.max_queue < 0) throw InputError("--queue must be at least 0");
  if (o.port < 0 || o.port > 65535) throw InputError("--port must be in [0, 65535]");
  if (o.ctx_size < 0) throw InputError("--ctx-size must be at least 0");
  if (o.max_body < 1024) throw InputError("--max-body must be at least 1024 bytes");
  set_llm_threads(o.threads);
  apply_bf16_prefill(o.bf16_prefill);

  StructureService structures(o);
  std::unique_ptr<CompletionService> llm;
  if (!o.model.empty()) llm = std::make_unique<CompletionService>(o, structures);

  httplib::Server http;
  HttpCounters counters;
  const int http_threads = o.http_threads > 0 ? o.http_threads : std::min(512, o.parallel + o.max_queue + 8);
  http.new_task_queue = [http_threads] { return new httplib::ThreadPool(size_t(http_threads)); };
  http.set_payload_max_length(o.max_body);
  http.set_keep_alive_max_count(1000);

  // The API key: every route but /health and /v1/models (as llama-server) needs "Authorization: Bearer KEY".
  http.set_pre_routing_handler([&o](const httplib::Request& req, httplib::Response& res) {
    if (o.api_key.empty() || req.path == "/health" || req.path == "/v1/models" || req.path == "/models")
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (auth.compare(0, prefix.size(), prefix) == 0 && same_secret(auth.substr(prefix.size()), o.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, 401, "invalid or missing API key: send 'Authorization: Bearer <key>'");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      send_error(res, 404, "no endpoint " + req.method + " " + req.path);
    } else if (res.status == 413) {
      send_error(res, 413, "the request body is larger than the server's limit (--max-body)");
    } else {
      send_error(res, res.status, std::string("HTTP error ") + std::to_string(res.status));
    }
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, 500, "internal error");
  });
  // Every handler: ApiError -> its status; InputError (bad input found by a library) -> 400; anything else -> 500.
  auto route = [&counters](std::string name, std::function<void(const httplib::Request&, httplib::Response&)> fn) {
    return [name, fn, &counters](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res);
      } catch (const ApiError& e) {
        send_error(res, e.status, e.what(), e.param);
        if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
      } catch (const InputError& e) {
        send_error(res, 400, e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      }
      // A handler that sets content leaves the status to httplib (-1 here, 200 on the wire).
      counters.count(name, res.status == -1 ? 200 : res.status);
    };
  };
  CompletionService* llm_ptr = llm.get();
  auto need_llm = [llm_ptr]() -> CompletionService& {
    if (!llm_ptr) throw ApiError(404, "this server has no decoder model: start it with bmx serve -m MODEL");
    return *llm_ptr;
  };

  http.Get("/health", route("/health", [](const httplib::Request&, httplib::Response& res) {
             res.set_content(R"({"status":"ok"})", "application/json");
           }));
  auto models = route("/v1/models", [llm_ptr](const httplib::Request&, httplib::Response& res) {
    nlohmann::ordered_json list;
    list["object"] = "list";
    list["data"] = nlohmann::ordered_json::array();
    if (llm_ptr) {
      nlohmann::ordered_json m;
      m["id"] = llm_ptr->model_id();
      m["object"] = "model";
      m["created"] = 0;
      m["owned_by"] = "bmx";
      m["meta"] = {{"n_ctx_slot", llm_ptr->slot_context()}};
      list["data"].push_back(m);
    }
    res.set_content(list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
  });
  http.Get("/v1/models", models);
  http.Get("/models", models);
  http.Get("/metrics", route("/metrics", [llm_ptr, &counters](const httplib::Request&, httplib::Response& res) {
             res.set_content(metrics_text(llm_ptr, counters), "text/plain; version=0.0.4");
           }));
  for (const char* path : {"/v1/chat/completions", "/chat/completions"})
    http.Post(path, route("/v1/chat/completions", [need_llm](const httplib::Request& req, httplib::Response& res) {
                need_llm().handle(req, res, true);
              }));
  for (const char* path : {"/v1/completions", "/completions"})
    http.Post(path, route("/v1/completions", [need_llm](const httplib::Request& req, httplib::Response& res) {
                need_llm().handle(req, res, false);
              }));
  for (const std::string name : {"/v1/mol/encode", "/v1/mol/decode", "/v1/prot/encode", "/v1/prot/decode"})
    http.Post(name, route(name, [name, &structures](const httplib::Request& req, httplib::Response& res) {
                structures.handle(name, req, res);
              }));

  int port = o.port;
  if (port == 0) {
    port = http.bind_to_any_port(o.host);
    if (port < 0) throw InputError("cannot listen on " + o.host + " (any port)");
  } else if (!http.bind_to_port(o.host, port)) {
    throw InputError("cannot listen on " + o.host + ":" + std::to_string(port) + " (in use, or not an address here)");
  }
  running_server = &http;
  std::signal(SIGINT, stop_on_signal);
  std::signal(SIGTERM, stop_on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::fprintf(stderr, "bmx serve: listening on http://%s:%d (%s%s)\n", o.host.c_str(), port,
               llm ? ("model " + llm->model_id() + ", " + std::to_string(o.parallel) + " slots of " +
                      std::to_string(llm->slot_context()) + " tokens")
                         .c_str()
                   : "structure endpoints only",
               o.api_key.empty() ? "" : ", API key required");
  std::fflush(stderr);
  http.listen_after_bind();
  running_server = nullptr;
  std::fprintf(stderr, "bmx serve: stopped\n");
  return 0;
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* c = app.add_subcommand("serve", "OpenAI-compatible HTTP server (chat/completions, continuous batching, "
                                        "structure tokenizer endpoints, BioMatrix task extension)");
  c->add_option("-m,--model", o->model, std::string(kModelHelp) + "; without it only the structure endpoints");
  c->add_option("-a,--alias", o->alias, "Model id in /v1/models and responses (default: the folder's name)");
  c->add_option("--host", o->host, "Address to listen on (default 127.0.0.1: this machine only)");
  c->add_option("--port", o->port, "Port (default 8080; 0: any free port, printed on stderr)");
  c->add_option("--parallel", o->parallel, "Sequences decoded together (slots, default 4; llama-server's -np)");
  c->add_option("-c,--ctx-size", o->ctx_size, "Context of all slots together, in tokens (default: 4096 per slot, at most "
                                              "max_position_embeddings)");
  c->add_option("--queue", o->max_queue, "Requests waiting for a slot before 503 (default 64)");
  c->add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY' (except /health and /v1/models)");
  c->add_option("--max-body", o->max_body, "Largest request body in bytes (default 8 MiB)");
  c->add_option("--threads-http", o->http_threads, "HTTP threads (default: parallel + queue + 8)");
  c->add_option("--gcp-vqvae", o->gcp_vqvae, kGcpVqvaeHelp);
  c->add_option("--molstructok", o->molstructok, "MolStrucTok checkpoint (default: MODEL/molstructok/, else the one "
                                                 "installed with bmx)");
  add_threads_flag(c, o->threads);
  add_bf16_prefill_flag(c, o->bf16_prefill);
  add_weights_flag(c, o->weights, o->access);
  c->callback([o] { exit_status = serve_main(*o); });
}

}  // namespace bmx::app
