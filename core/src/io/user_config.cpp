#include "bmx/core/io/user_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bmx/core/io/json_file.h"
#include "bmx/core/util/error.h"

namespace bmx {

std::string user_config_file() {
  if (const char* p = std::getenv("BMX_CONFIG"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    return (std::filesystem::path(x) / "bmx" / "config.json").string();
  if (const char* h = std::getenv("HOME"); h && *h)
    return (std::filesystem::path(h) / ".config" / "bmx" / "config.json").string();
  return "";
}

std::string user_config_value(const std::string& key) {
  const std::string file = user_config_file();
  if (file.empty()) return "";
  if (!std::ifstream(file)) return "";  // no config file: nothing set
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) throw InputError(file + ": expected a JSON object of settings");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (!it->is_string()) throw InputError(file + ": \"" + key + "\" must be a string (a path)");
  return it->get<std::string>();
}

}  // namespace bmx
