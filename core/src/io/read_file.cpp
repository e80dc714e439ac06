#include "bmx/core/io/read_file.h"

#include <fstream>
#include <sstream>

#include "bmx/core/util/error.h"

namespace bmx {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace bmx
