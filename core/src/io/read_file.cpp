#include "bmx/core/io/read_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "bmx/core/util/error.h"

namespace bmx {

namespace {

template <class String>
String read_whole(const std::string& path) {
  // A folder opens as an empty stream on Linux: say what it is rather than read it as an empty file.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail_input(path, "is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, std::string("cannot open file: ") + std::strerror(errno));
  // Read straight into the string, sized from stat (a stream copy grew and copied 6.7 MB tokenizer.json files
  // several times); a file that grows meanwhile is still read to its end.
  String out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    out.reserve(size_t(st.st_size) + 64);  // room for a parser's padding (json_sax.h) without a copy
    out.resize(size_t(st.st_size));
  }
  in.read(out.data(), std::streamsize(out.size()));
  out.resize(size_t(in.gcount()));
  if (!in.eof()) {
    char chunk[1 << 16];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) out.append(chunk, size_t(in.gcount()));
  }
  if (in.bad()) fail_input(path, "read error");
  return out;
}

}  // namespace

std::string read_file(const std::string& path) { return read_whole<std::string>(path); }
BigString read_big_file(const std::string& path) { return read_whole<BigString>(path); }

}  // namespace bmx
