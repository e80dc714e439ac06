// bmx serve end to end: the built server on a free loopback port with a tiny random BioMatrix model, driven with
// curl (the OpenAI endpoints, streaming, errors, limits, continuous batching) and stopped at the end.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "serve_support.h"
#include "shared.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace bmx::test;

namespace {

std::string gcp_flag() { return " --gcp-vqvae " + shell_quote(shared_file("vectors/gcp/tiny_model").string()); }

// One server for most tests: 8 slots (the batching test runs 8 requests together).
ServeProcess& server() {
  static std::unique_ptr<ServeProcess> s = std::make_unique<ServeProcess>(
      "-m " + shell_quote(tiny_serve_model().string()) + " --parallel 8 -t 2" + gcp_flag(), "main");
  return *s;
}

json chat_body(const std::string& content, int max_tokens, json extra = json::object()) {
  json b = {{"model", "tiny"}, {"messages", json::array({{{"role", "user"}, {"content", content}}})},
            {"max_tokens", max_tokens}};
  b.update(extra);
  return b;
}

HttpReply post(const std::string& path, const json& body, const std::string& args = {}) {
  return http("POST", server().url() + path, body.dump(), args);
}

double metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

// The error shape of OpenAI: {"error": {"message", "type", "param", "code"}}.
void check_error(const HttpReply& r, int status, const std::string& type, const std::string& words = {}) {
  INFO(r.body);
  CHECK(r.status == status);
  const json j = r.json();
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["type"] == type);
  CHECK(j["error"]["message"].is_string());
  CHECK(j["error"].contains("param"));
  if (!words.empty()) CHECK(j["error"]["message"].get<std::string>().find(words) != std::string::npos);
}

}  // namespace

TEST_CASE("bmx serve: /health, /v1/models, loopback by default") {
  ServeProcess& s = server();
  CHECK(s.url().rfind("http://127.0.0.1:", 0) == 0);
  auto r = http("GET", s.url() + "/health");
  CHECK(r.status == 200);
  CHECK(r.json()["status"] == "ok");
  r = http("GET", s.url() + "/v1/models");
  CHECK(r.status == 200);
  const json m = r.json();
  CHECK(m["object"] == "list");
  REQUIRE(m["data"].size() == 1);
  CHECK(m["data"][0]["id"] == "tiny_biomatrix");
  CHECK(m["data"][0]["object"] == "model");
}

TEST_CASE("bmx serve: chat and completion, whole and streamed, give the same greedy text; usage and finish_reason") {
  const json greedy = {{"temperature", 0}};
  auto r = post("/v1/chat/completions", chat_body("Hello there", 12, greedy));
  INFO(r.body);
  REQUIRE(r.status == 200);
  const json c = r.json();
  CHECK(c["object"] == "chat.completion");
  CHECK(c["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  REQUIRE(c["choices"].size() == 1);
  const std::string text = c["choices"][0]["message"]["content"];
  CHECK(c["choices"][0]["message"]["role"] == "assistant");
  const std::string finish = c["choices"][0]["finish_reason"];
  CHECK((finish == "stop" || finish == "length"));
  const int completion = c["usage"]["completion_tokens"];
  CHECK(c["usage"]["prompt_tokens"].get<int>() > 2);
  CHECK(c["usage"]["total_tokens"] == c["usage"]["prompt_tokens"].get<int>() + completion);
  CHECK(completion >= 1);
  CHECK(completion <= 12);
  if (finish == "length") CHECK(completion == 12);

  // The same request again: greedy decoding is deterministic.
  r = post("/v1/chat/completions", chat_body("Hello there", 12, greedy));
  CHECK(r.json()["choices"][0]["message"]["content"] == text);

  // Streamed: role first, the deltas add up to the same text, a finish_reason, usage on request, [DONE] last.
  r = post("/v1/chat/completions",
           chat_body("Hello there", 12, {{"temperature", 0}, {"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  REQUIRE(r.status == 200);
  CHECK(r.headers.find("text/event-stream") != std::string::npos);
  bool done = false;
  const auto events = sse_events(r.body, &done);
  CHECK(done);
  REQUIRE(events.size() >= 3);
  CHECK(events[0]["object"] == "chat.completion.chunk");
  CHECK(events[0]["choices"][0]["delta"]["role"] == "assistant");
  std::string streamed, stream_finish;
  for (const json& e : events) {
    if (e["choices"].empty()) continue;
    const json& ch = e["choices"][0];
    if (ch["delta"].contains("content")) streamed += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) stream_finish = ch["finish_reason"];
  }
  CHECK(streamed == text);
  CHECK(stream_finish == finish);
  CHECK(events.back()["choices"].empty());
  CHECK(events.back()["usage"]["completion_tokens"] == completion);

  // /v1/completions: prompt as it is (no template), 5 tokens.
  r = post("/v1/completions", {{"prompt", "The protein"}, {"max_tokens", 5}, {"temperature", 0}});
  REQUIRE(r.status == 200);
  const json t = r.json();
  CHECK(t["object"] == "text_completion");
  const std::string ctext = t["choices"][0]["text"];
  if (t["choices"][0]["finish_reason"] == "length") CHECK(t["usage"]["completion_tokens"] == 5);
  r = post("/v1/completions", {{"prompt", "The protein"}, {"max_tokens", 5}, {"temperature", 0}, {"stream", true}});
  std::string cstreamed;
  for (const json& e : sse_events(r.body, &done))
    if (!e["choices"].empty()) cstreamed += e["choices"][0]["text"].get<std::string>();
  CHECK(done);
  CHECK(cstreamed == ctext);
}

TEST_CASE("bmx serve: n choices, seeds, stop strings") {
  // Temperature 20: the tiny random model's logits are so peaked that it repeats its input at temperature 1.
  auto r = post("/v1/completions", {{"prompt", "Once"}, {"max_tokens", 10}, {"temperature", 20}, {"seed", 11}, {"n", 3}});
  REQUIRE(r.status == 200);
  const json a = r.json();
  REQUIRE(a["choices"].size() == 3);
  std::set<std::string> distinct;
  for (int i = 0; i < 3; ++i) {
    CHECK(a["choices"][i]["index"] == i);
    distinct.insert(a["choices"][i]["text"].get<std::string>());
  }
  CHECK(distinct.size() >= 2);  // each choice its own seed
  // Same seed, same choices; another seed, another text.
  r = post("/v1/completions", {{"prompt", "Once"}, {"max_tokens", 10}, {"temperature", 20}, {"seed", 11}, {"n", 3}});
  CHECK(r.json()["choices"] == a["choices"]);
  r = post("/v1/completions", {{"prompt", "Once"}, {"max_tokens", 10}, {"temperature", 20}, {"seed", 12}});
  CHECK(r.json()["choices"][0]["text"] != a["choices"][0]["text"]);

  // Stop strings: the (seeded) text cut before the first occurrence of the stop string, finish_reason "stop".
  const json base = {{"prompt", "Stop test"}, {"max_tokens", 24}, {"temperature", 20}, {"seed", 3}};
  r = post("/v1/completions", base);
  const std::string full = r.json()["choices"][0]["text"];
  INFO(full);
  size_t at = full.size() / 3;  // two ASCII bytes past the first third: a stop string that is valid UTF-8
  while (at + 1 < full.size() && (static_cast<unsigned char>(full[at]) >= 0x80 || static_cast<unsigned char>(full[at + 1]) >= 0x80 ||
                                  full[at] == ' '))
    ++at;
  REQUIRE(at + 1 < full.size());
  const std::string stop = full.substr(at, 2);
  const auto cut = full.find(stop);
  for (bool stream : {false, true}) {
    json body = base;
    body["stop"] = {stop};
    body["stream"] = stream;
    r = post("/v1/completions", body);
    REQUIRE(r.status == 200);
    std::string text, finish;
    if (stream) {
      for (const json& e : sse_events(r.body)) {
        text += e["choices"][0]["text"].get<std::string>();
        if (!e["choices"][0]["finish_reason"].is_null()) finish = e["choices"][0]["finish_reason"];
      }
    } else {
      text = r.json()["choices"][0]["text"];
      finish = r.json()["choices"][0]["finish_reason"];
    }
    CHECK(text == full.substr(0, cut));
    CHECK(finish == "stop");
  }
}

TEST_CASE("bmx serve: continuous batching gives a request the same tokens alone and among 7 others") {
  const json probe = {{"prompt", "Batching probe"}, {"max_tokens", 24}, {"temperature", 20}, {"seed", 42}};
  const auto alone = post("/v1/completions", probe);
  REQUIRE(alone.status == 200);
  const std::string expected = alone.json()["choices"][0]["text"];

  // The probe among 7 others of other lengths and seeds, sent together (one shell, eight curls in parallel).
  const fs::path dir = scratch_dir("serve_batch");
  std::string script;
  for (int i = 0; i < 8; ++i) {
    json body = i == 3 ? probe
                       : json{{"prompt", std::string(size_t(5 + 7 * i), 'x') + " other " + std::to_string(i)},
                              {"max_tokens", 10 + 5 * i},
                              {"temperature", 20},
                              {"seed", i}};
    const fs::path req = dir / ("req" + std::to_string(i) + ".json");
    std::ofstream(req) << body.dump();
    script += "curl -s -o " + shell_quote((dir / ("out" + std::to_string(i) + ".json")).string()) +
              " -H 'Content-Type: application/json' --data-binary @" + shell_quote(req.string()) + " " +
              shell_quote(server().url() + "/v1/completions") + " & ";
  }
  const std::string before = http("GET", server().url() + "/metrics").body;
  REQUIRE(run("bash -c " + shell_quote(script + "wait")) == 0);
  for (int i = 0; i < 8; ++i) {
    const json j = json::parse(read_file(dir / ("out" + std::to_string(i) + ".json")));
    REQUIRE(j["choices"].size() == 1);
    if (i == 3) CHECK(j["choices"][0]["text"] == expected);
  }
  // The 8 requests shared decode steps: fewer batched forwards than tokens generated.
  const std::string after = http("GET", server().url() + "/metrics").body;
  const double steps = metric(after, "bmx_decode_steps_total") - metric(before, "bmx_decode_steps_total");
  const double tokens = metric(after, "bmx_tokens_generated_total") - metric(before, "bmx_tokens_generated_total");
  INFO(after);
  CHECK(tokens > 0);
  CHECK(steps < tokens);
}

TEST_CASE("bmx serve: every bad request is a 400/404 in OpenAI's error shape") {
  check_error(http("POST", server().url() + "/v1/chat/completions", "{\"messages\": [}"), 400, "invalid_request_error",
              "not valid JSON");
  check_error(http("POST", server().url() + "/v1/chat/completions", "[1, 2]"), 400, "invalid_request_error");
  // Valid JSON nested past the limit: refused for its nesting, not as a syntax error at byte 0.
  check_error(http("POST", server().url() + "/v1/chat/completions", std::string(600, '[') + std::string(600, ']')),
              400, "invalid_request_error", "nested deeper than 512 levels");
  check_error(post("/v1/chat/completions", {{"max_tokens", 4}}), 400, "invalid_request_error", "messages");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"temperature", -1}})), 400, "invalid_request_error",
              "temperature");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"temperature", "hot"}})), 400, "invalid_request_error",
              "temperature");
  check_error(post("/v1/chat/completions", chat_body("hi", -5)), 400, "invalid_request_error", "max_tokens");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"max_tokens", 1e300}})), 400, "invalid_request_error");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"n", 100000}})), 400, "invalid_request_error",
              "1 to 16 choices");  // the cap, said
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"n", 17}})), 400, "invalid_request_error", "1 to 16");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"n", 0}})), 400, "invalid_request_error", "'n' is 0");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"top_p", 1.5}})), 400, "invalid_request_error", "top_p");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"stop", 7}})), 400, "invalid_request_error", "stop");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"seed", "x"}})), 400, "invalid_request_error", "seed");
  check_error(post("/v1/chat/completions", {{"messages", {{{"role", "robot"}, {"content", "x"}}}}}), 400,
              "invalid_request_error", "robot");
  check_error(post("/v1/completions", {{"prompt", 5}}), 400, "invalid_request_error", "prompt");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"bmx", {{"task", "no-such-task"}}}})), 400,
              "invalid_request_error", "no-such-task");
  check_error(post("/v1/chat/completions", chat_body("hi", 4, {{"bmx", {{"task", "fold"}, {"inputs", {{"sequence", "MK1"}}}}}})),
              400, "invalid_request_error");
  check_error(http("GET", server().url() + "/v1/nothing"), 404, "not_found_error");
  CHECK(server().alive());
  CHECK(http("GET", server().url() + "/health").status == 200);
}

TEST_CASE("bmx serve: API key, body cap, context limit, full queue (503), a client that leaves frees its slot") {
  // (--bf16-prefill as well: the flag generate, chat and run take, here with the server's requests answered.)
  ServeProcess s("-m " + shell_quote(tiny_serve_model().string()) +
                     " --parallel 1 --queue 0 --ctx-size 3000 --api-key sesame --max-body 65536 -t 2 --bf16-prefill",
                 "limits");
  const std::string auth = "-H 'Authorization: Bearer sesame'";
  const std::string chat = s.url() + "/v1/chat/completions";
  const std::string hi = chat_body("hi", 2).dump();
  check_error(http("POST", chat, hi), 401, "authentication_error");
  check_error(http("POST", chat, hi, "-H 'Authorization: Bearer wrong'"), 401, "authentication_error");
  CHECK(http("POST", chat, hi, auth).status == 200);
  CHECK(http("GET", s.url() + "/health").status == 200);  // as llama-server: health needs no key
  check_error(http("GET", s.url() + "/metrics"), 401, "authentication_error");

  // A body over --max-body: 413 in the error shape.
  const std::string big = chat_body(std::string(70000, 'a'), 2).dump();
  const auto r413 = http("POST", chat, big, auth);
  CHECK(r413.status == 413);
  CHECK(r413.json()["error"]["type"] == "invalid_request_error");

  // A prompt over the slot's context (3000 tokens): 400 naming the numbers.
  std::string words;
  for (int i = 0; i < 3200; ++i) words += " a";
  const auto r400 = http("POST", chat, chat_body(words, 2).dump(), auth);
  check_error(r400, 400, "invalid_request_error", "3000 tokens");

  // One slot, no queue: a long stream holds the slot, a second request is refused with 503 + Retry-After. The
  // stream's client then goes away: its slot is free again at once (cancelled, not run to its end).
  const fs::path dir = scratch_dir("serve_limits");
  const std::string long_body = chat_body("long", 2500, {{"stream", true}, {"bmx", {{"constrain", false}}}}).dump();
  std::ofstream(dir / "long.json") << long_body;
  std::string pid;
  run("curl -s -N " + auth + " -H 'Content-Type: application/json' --data-binary @" +
          shell_quote((dir / "long.json").string()) + " " + shell_quote(chat) + " > " +
          shell_quote((dir / "long.out").string()) + " 2>/dev/null & echo $!",
      &pid);
  auto metrics = [&] { return http("GET", s.url() + "/metrics", {}, auth).body; };
  bool busy = false;
  for (int i = 0; i < 200 && !busy; ++i) {
    busy = metric(metrics(), "bmx_slots_busy") == 1;
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(busy);
  const auto r503 = http("POST", chat, hi, auth);
  check_error(r503, 503, "unavailable_error");
  CHECK(r503.headers.find("Retry-After: 1") != std::string::npos);
  run("kill " + pid);
  bool freed = false;
  std::string m;
  for (int i = 0; i < 150 && !freed; ++i) {
    m = metrics();
    freed = metric(m, "bmx_slots_busy") == 0 && metric(m, "bmx_requests_cancelled_total") >= 1;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  INFO(m);
  CHECK(freed);
  CHECK(http("POST", chat, hi, auth).status == 200);  // the slot serves again

  // The same with a whole (not streamed) answer: httplib 0.11 tells a handler nothing of its client, yet the slot
  // must not be held for the 2500 tokens of a client that is gone. Greedy: the tiny model repeats itself, no eos.
  const double cancelled_before = metric(metrics(), "bmx_requests_cancelled_total");
  std::ofstream(dir / "whole.json") << chat_body("long", 2500, {{"temperature", 0}, {"bmx", {{"constrain", false}}}}).dump();
  run("curl -s " + auth + " -H 'Content-Type: application/json' --data-binary @" +
          shell_quote((dir / "whole.json").string()) + " " + shell_quote(chat) + " > " +
          shell_quote((dir / "whole.out").string()) + " 2>/dev/null & echo $!",
      &pid);
  busy = false;
  for (int i = 0; i < 200 && !busy; ++i) {
    m = metrics();
    busy = metric(m, "bmx_slots_busy") == 1;
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(busy);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // decoding, the client waiting for its body
  CHECK(http("POST", chat, hi, auth).status == 503);              // the slot is still its
  run("kill " + pid);
  const auto left = std::chrono::steady_clock::now();
  freed = false;
  for (int i = 0; i < 150 && !freed; ++i) {
    m = metrics();
    freed = metric(m, "bmx_slots_busy") == 0 && metric(m, "bmx_requests_cancelled_total") == cancelled_before + 1;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - left).count();
  INFO(m);
  CHECK(freed);  // cancelled, not run to its end
  CHECK(seconds < 3);
  const auto again = http("POST", chat, hi, auth);  // and serves the next client at once
  CHECK(again.status == 200);
  CHECK(again.json()["choices"][0]["message"]["role"] == "assistant");
  CHECK(again.headers.find("Content-Type: application/json") != std::string::npos);
  CHECK(m.find("# TYPE bmx_tokens_generated_total counter") != std::string::npos);
  CHECK(m.find("bmx_queue_depth 0") != std::string::npos);
  CHECK(m.find("bmx_http_requests_total{route=\"/v1/chat/completions\",status=\"503\"} 2") != std::string::npos);
}
