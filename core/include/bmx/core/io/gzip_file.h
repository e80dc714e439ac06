// Text input that may be gzip-compressed (.gz structure and molecule files, or stdin): gzip data is inflated and
// checked to its end, plain files are read unchanged. The one reader for compressed input, so that every command
// refuses the same way a file that is cut short: zlib alone reports a gzip stream that ends before its trailer
// (CRC-32 and length) as an ordinary end of file, and a download cut at a line boundary then reads as a shorter
// file.
#pragma once
#include <cstddef>
#include <string>

namespace bmx {

class GzipFile {
 public:
  // "-" reads stdin. Throws InputError naming the path when it cannot be opened.
  explicit GzipFile(const std::string& path);
  ~GzipFile();
  GzipFile(const GzipFile&) = delete;
  GzipFile& operator=(const GzipFile&) = delete;

  // Up to `n` bytes into `buf`; 0 at the end of the data. Throws InputError naming the file when the gzip data is
  // truncated (no complete trailer) or damaged (a CRC or length mismatch, an invalid deflate stream).
  std::size_t read(char* buf, std::size_t n);
  // Next line, with its '\n' when it has one, into `line` (replaced); false at the end. Throws as read() does.
  bool read_line(std::string& line);

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail_stream();
  void check_end();
  std::string path_;
  void* gz_ = nullptr;
};

// The whole file (gunzipped when it is gzip data), checked as GzipFile::read does.
std::string read_text_file(const std::string& path);

}  // namespace bmx
