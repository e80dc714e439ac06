#include "bmx/core/io/read_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bmx/core/util/error.h"

namespace bmx {

std::string read_file(const std::string& path) {
  // A folder opens as an empty stream on Linux: say what it is rather than read it as an empty file.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail_input(path, "is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, std::string("cannot open file: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail_input(path, "read error");
  return ss.str();
}

}  // namespace bmx
