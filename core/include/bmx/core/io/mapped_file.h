// A whole file mapped read-only (safetensors shards, torch.save zip archives): the bytes stay where the page
// cache has them, nothing is copied. Errors are InputError naming the file.
#pragma once
#include <cstddef>
#include <string>

namespace bmx {

struct MappedFile {
  const unsigned char* data = nullptr;
  size_t size = 0;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
};

}  // namespace bmx
