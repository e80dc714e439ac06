#include "line_source.h"

#include "bmx/core/io/gzip_file.h"

namespace bmx::mol3d {

// Plain or gzip text through core's one gzip reader, which refuses a .gz cut short (bmx/core/io/gzip_file.h).
LineSource::LineSource(const std::string& path) : file_(std::make_unique<GzipFile>(path)) {}

LineSource::~LineSource() = default;

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
  if (!file_->read_line(line)) return false;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  ++line_no_;
  return true;
}

}  // namespace bmx::mol3d
