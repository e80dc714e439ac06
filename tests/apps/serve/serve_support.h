// Helpers of the bmx serve tests: the server started on a free loopback port (port 0, the port read from its
// start-up line) and stopped at the end, HTTP through curl, server-sent events split into their JSON chunks.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bmx::test {

class ServeProcess {
 public:
  // Starts `bmx serve ARGS --port 0` and waits (up to 120 s) for its "listening on" line and /health.
  explicit ServeProcess(const std::string& args, const std::string& name);
  ~ServeProcess();  // SIGTERM, then waits for the process
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  const std::string& url() const { return url_; }
  int pid() const { return pid_; }
  bool alive() const;
  std::string log() const;

 private:
  int pid_ = 0;
  std::string url_;
  std::filesystem::path log_;
};

struct HttpReply {
  int status = 0;
  std::string body, headers;
  nlohmann::json json() const;  // the body parsed (fails the test when it is not JSON)
};

// curl METHOD URL [with BODY as application/json] plus `curl_args` (e.g. -H 'Authorization: Bearer k').
HttpReply http(const std::string& method, const std::string& url, const std::string& body = {},
               const std::string& curl_args = {});
// The JSON of every "data: {...}" event; `done` tells whether "data: [DONE]" ended the stream.
std::vector<nlohmann::json> sse_events(const std::string& body, bool* done = nullptr);

// A tiny random BioMatrix-tokenizer model, made once per test program.
std::filesystem::path tiny_serve_model();
std::string shell_quote(const std::string& s);

}  // namespace bmx::test
