#include "bmx/core/io/json_file.h"

#include "bmx/core/io/read_file.h"
#include "bmx/core/util/error.h"

namespace bmx {

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // nlohmann's messages are one line (control bytes escaped)
    fail_input(path, std::string("not valid JSON: ") + e.what());
  }
}

}  // namespace bmx
