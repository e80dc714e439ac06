#include "bmx/core/io/json_file.h"

#include "bmx/core/io/read_file.h"
#include "bmx/core/util/error.h"

namespace bmx {

namespace {

// Parsing is iterative, but copying, comparing and printing a tree recurse: deeper than any real
// config, a file is refused while it is parsed.
constexpr int kMaxDepth = 512;

}  // namespace

std::string json_error_text(const std::exception& e) {
  std::string s = e.what();
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t end = s.find("] ");
    if (end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  bool too_deep = false;
  auto bounded = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth >= kMaxDepth)
      too_deep = true;
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, bounded);
  } catch (const nlohmann::json::exception& e) {  // nlohmann's messages are one line (control bytes escaped)
    fail_input(path, "not valid JSON: " + json_error_text(e));
  }
  if (too_deep) fail_input(path, "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels (the limit)");
  return j;
}

}  // namespace bmx
