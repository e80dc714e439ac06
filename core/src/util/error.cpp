#include "bmx/core/util/error.h"

namespace bmx {

std::string where(const std::string& file, const std::string& record) {
  std::string s = file;
  if (!record.empty()) s += (s.empty() ? "" : ":") + record;
  return s;
}

void fail_input(const std::string& file, const std::string& message) {
  throw InputError(file.empty() ? message : file + ": " + message);
}

void fail_input(const std::string& file, const std::string& record, const std::string& message) {
  std::string w = where(file, record);
  throw InputError(w.empty() ? message : w + ": " + message);
}

}  // namespace bmx
