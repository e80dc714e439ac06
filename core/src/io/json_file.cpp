#include "bmx/core/io/json_file.h"

#include "bmx/core/io/json_sax.h"
#include "bmx/core/io/read_file.h"
#include "bmx/core/util/error.h"

namespace bmx {

std::string json_error_text(const std::exception& e) {
  std::string s = e.what();
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t end = s.find("] ");
    if (end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

nlohmann::json read_json_file(const std::string& path) {
  std::string text = read_file(path);
  nlohmann::json j;
  JsonTreeBuilder<nlohmann::json> builder(j);
  try {
    sax_parse_in_place(text, builder);
  } catch (const nlohmann::json::exception& e) {  // nlohmann's messages are one line (control bytes escaped)
    fail_input(path, "not valid JSON: " + json_error_text(e));
  }
  if (builder.too_deep())
    fail_input(path, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)");
  return j;
}

}  // namespace bmx
