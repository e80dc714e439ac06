#include "serve_support.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "shared.h"

namespace fs = std::filesystem;

namespace bmx::test {

namespace {
const fs::path& work_dir() {
  static const fs::path dir = scratch_dir("serve_support");
  return dir;
}
}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

ServeProcess::ServeProcess(const std::string& args, const std::string& name) {
  log_ = work_dir() / ("serve_" + name + ".log");
  std::string out;
  run(bmx_exe().string() + " serve " + args + " --port 0 >" + shell_quote(log_.string()) + " 2>&1 & echo $!", &out);
  pid_ = std::stoi(out);
  const std::regex listening("listening on (http://[0-9.]+:[0-9]+)");
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120)) {
    std::smatch m;
    const std::string text = log();
    if (std::regex_search(text, m, listening)) {
      url_ = m[1];
      break;
    }
    if (!alive()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(log());
  REQUIRE(!url_.empty());
  REQUIRE(http("GET", url_ + "/health").status == 200);
}

ServeProcess::~ServeProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200 && alive(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (alive()) ::kill(pid_, SIGKILL);
}

bool ServeProcess::alive() const {
  // The server is a child of the shell popen ran (gone), so it is re-parented: kill 0 tells whether it runs;
  // a zombie (not yet reaped by init) counts as stopped.
  if (::kill(pid_, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
  std::string all;
  std::getline(stat, all);
  const auto close = all.rfind(')');
  return close == std::string::npos || all.size() < close + 3 || all[close + 2] != 'Z';
}

std::string ServeProcess::log() const { return read_file(log_); }

nlohmann::json HttpReply::json() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  INFO(body.substr(0, 2000));
  REQUIRE(!j.is_discarded());
  return j;
}

HttpReply http(const std::string& method, const std::string& url, const std::string& body,
               const std::string& curl_args) {
  static int counter = 0;
  const std::string stem = (work_dir() / ("http_" + std::to_string(++counter))).string();
  std::string cmd = "curl -s -N -X " + method + " -D " + shell_quote(stem + ".headers") + " -o " +
                    shell_quote(stem + ".body") + " -w '%{http_code}' " + curl_args + " ";
  if (!body.empty() || method == "POST") {
    std::ofstream(stem + ".request", std::ios::binary) << body;
    cmd += "-H 'Content-Type: application/json' --data-binary @" + shell_quote(stem + ".request") + " ";
  }
  std::string out;
  run(cmd + shell_quote(url), &out);
  HttpReply r;
  r.status = std::atoi(out.c_str());
  r.body = fs::exists(stem + ".body") ? read_file(stem + ".body") : "";
  r.headers = fs::exists(stem + ".headers") ? read_file(stem + ".headers") : "";
  return r;
}

std::vector<nlohmann::json> sse_events(const std::string& body, bool* done) {
  std::vector<nlohmann::json> out;
  if (done) *done = false;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      if (done) *done = true;
      continue;
    }
    auto j = nlohmann::json::parse(data, nullptr, false);
    INFO(data);
    REQUIRE(!j.is_discarded());
    out.push_back(j);
  }
  return out;
}

fs::path tiny_serve_model() {
  const fs::path dir = work_dir() / "tiny_biomatrix";
  if (fs::exists(dir / "config.json")) return dir;
  std::string out;
  const int status = run(bmx_exe().string() + " dev random-model --like tiny --tokenizer " +
                             shell_quote(shared_file("models/tokenizers/biomatrix").string()) + " -o " +
                             shell_quote(dir.string()),
                         &out, true);
  INFO(out);
  REQUIRE(status == 0);
  return dir;
}

}  // namespace bmx::test
