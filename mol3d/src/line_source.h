// Lines of a text file, plain or gzip-compressed (GzipFile reads both), or of stdin for "-".
#pragma once
#include <memory>
#include <string>

#include "bmx/core/io/gzip_file.h"

namespace bmx::mol3d {

class LineSource {
 public:
  explicit LineSource(const std::string& path);  // throws InputError when it cannot be opened
  ~LineSource();
  LineSource(const LineSource&) = delete;
  LineSource& operator=(const LineSource&) = delete;

  // Next line without its end-of-line characters ("\n", "\r\n"); false at the end of the file.
  bool next(std::string& line);
  // Number of the line last returned, counting from 1.
  long line_number() const { return line_no_; }
  // Puts one line back; the next call to next() returns it again.
  void unread(std::string line);

 private:
  std::unique_ptr<GzipFile> file_;
  long line_no_ = 0;
  bool has_pushed_ = false;
  std::string pushed_;
};

}  // namespace bmx::mol3d
