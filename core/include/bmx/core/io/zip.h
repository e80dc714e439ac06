// Read-only access to the stored (uncompressed) entries of a zip file, as torch.save writes them.
// The file is memory-mapped; entries are views into the map.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace bmx {

struct MappedFile;

class ZipArchive {
 public:
  explicit ZipArchive(const std::string& path);  // throws InputError on a file that is not a readable zip
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  // The bytes of a stored entry; InputError if missing, compressed or outside the file (truncated).
  std::string_view entry(const std::string& name) const;
  const std::map<std::string, std::pair<uint64_t, uint64_t>>& entries() const { return entries_; }

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  const char* data_ = nullptr;  // file_'s bytes
  size_t size_ = 0;
  // name -> (offset of data, size); compressed entries store size = UINT64_MAX.
  std::map<std::string, std::pair<uint64_t, uint64_t>> entries_;
};

}  // namespace bmx
