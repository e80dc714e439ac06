#include "bmx/core/io/gzip_file.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "bmx/core/util/error.h"

namespace bmx {

GzipFile::GzipFile(const std::string& path) : path_(path) {
  gzFile f = nullptr;
  errno = 0;
  if (path == "-") {
    const int fd = ::dup(0);
    if (fd >= 0) f = gzdopen(fd, "rb");
  } else {
    f = gzopen(path.c_str(), "rb");
  }
  if (!f) fail_input(path == "-" ? "stdin" : path, std::string("cannot open: ") +
                                                       (errno ? std::strerror(errno) : "out of memory"));
  gzbuffer(f, 1 << 16);
  gz_ = f;
}

GzipFile::~GzipFile() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

void GzipFile::fail_stream() {
  int err = Z_OK;
  const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
  const std::string name = path_ == "-" ? "stdin" : path_;
  if (err == Z_ERRNO) fail_input(name, std::string("read error: ") + std::strerror(errno));
  fail_input(name, std::string("damaged gzip data (") + (msg && *msg ? msg : "zlib error") + ")");
}

// zlib ends a read quietly when the compressed data stops before the gzip trailer and only leaves Z_BUF_ERROR
// ("unexpected end of file") behind: that is a truncated file, not the end of one.
void GzipFile::check_end() {
  int err = Z_OK;
  gzerror(static_cast<gzFile>(gz_), &err);
  if (err == Z_BUF_ERROR)
    fail_input(path_ == "-" ? "stdin" : path_,
               "truncated gzip data: the compressed stream ends before its end marker and CRC check, so the file is "
               "incomplete (download or copy it again)");
  if (err != Z_OK) fail_stream();
}

std::size_t GzipFile::read(char* buf, std::size_t n) {
  if (n == 0) return 0;
  const int got = gzread(static_cast<gzFile>(gz_), buf, static_cast<unsigned>(std::min<std::size_t>(n, INT_MAX)));
  if (got < 0) fail_stream();
  if (got == 0) check_end();
  return static_cast<std::size_t>(got);
}

bool GzipFile::read_line(std::string& line) {
  line.clear();
  char buf[4096];
  auto f = static_cast<gzFile>(gz_);
  while (gzgets(f, buf, sizeof buf)) {
    const std::size_t n = std::strlen(buf);
    line.append(buf, n);
    if (n > 0 && buf[n - 1] == '\n') return true;
  }
  check_end();
  return !line.empty();
}

std::string read_text_file(const std::string& path) {
  GzipFile f(path);
  std::string text;
  char buf[1 << 16];
  while (const std::size_t n = f.read(buf, sizeof buf)) text.append(buf, n);
  return text;
}

}  // namespace bmx
