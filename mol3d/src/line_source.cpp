#include "line_source.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "bmx/core/util/error.h"

namespace bmx::mol3d {

LineSource::LineSource(const std::string& path) {
  gzFile f = nullptr;
  if (path == "-") {
    int fd = ::dup(0);
    if (fd >= 0) f = gzdopen(fd, "rb");
  } else {
    f = gzopen(path.c_str(), "rb");
  }
  if (!f) fail_input(path, std::string("cannot open: ") + std::strerror(errno));
  gzbuffer(f, 1 << 16);
  gz_ = f;
}

LineSource::~LineSource() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

void LineSource::unread(std::string line) {
  pushed_ = std::move(line);
  has_pushed_ = true;
  --line_no_;
}

bool LineSource::next(std::string& line) {
  if (has_pushed_) {
    line = std::move(pushed_);
    has_pushed_ = false;
    ++line_no_;
    return true;
  }
  line.clear();
  char buf[4096];
  bool got = false;
  auto f = static_cast<gzFile>(gz_);
  while (gzgets(f, buf, sizeof buf)) {
    got = true;
    std::size_t n = std::strlen(buf);
    line.append(buf, n);
    if (n > 0 && buf[n - 1] == '\n') break;
  }
  if (!got) return false;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  ++line_no_;
  return true;
}

}  // namespace bmx::mol3d
