// safetensors checkpoints, mapped or read into memory whole (FileAccess): tensors are views of those bytes
// (at::from_blob), never copied one by one, and keep them alive. A checkpoint folder is one model.safetensors or shards listed in
// model.safetensors.index.json.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bmx/core/io/mapped_file.h"

namespace bmx {

// One tensor entry of a safetensors header.
struct SafetensorsEntry {
  std::string dtype;            // "BF16", "F16", "F32", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data buffer
};

class SafetensorsFile {
 public:
  // Maps or reads `path` and checks the header: every entry lies inside the file and its byte size matches
  // shape x dtype. Errors are one line naming file and tensor.
  explicit SafetensorsFile(const std::string& path, FileAccess access = FileAccess::map);
  const std::string& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // The whole file as loaded (read or mapped).
  const MappedFile& bytes() const { return *map_; }
  // The tensor as a view of the file's bytes (copied only when the data is misaligned for its dtype).
  at::Tensor tensor(const std::string& name) const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> map_;
  const unsigned char* data_ = nullptr;  // start of the data buffer
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a Hugging Face checkpoint folder.
class SafetensorsCheckpoint {
 public:
  // `access` is decided once for all the shard files together (automatic: read when they fit in memory).
  explicit SafetensorsCheckpoint(const std::string& dir, FileAccess access = FileAccess::map);
  const std::string& dir() const { return dir_; }
  // map or read: how the files were brought into memory.
  FileAccess access() const { return access_; }
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // The tensor; throws InputError naming tensor and file when it is missing or its shape differs from
  // `shape` (empty = any) or its dtype is not a floating type (BF16, F16, F32).
  at::Tensor get(const std::string& name, const std::vector<int64_t>& shape = {}) const;
  // The tensor, which must have exactly this dtype and shape (any dtype: U8 quantized weights, F16 scales).
  at::Tensor get_exact(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape) const;
  // The "__metadata__" strings of the (first) file.
  const std::map<std::string, std::string>& metadata() const;
  // Bytes of tensor data in all files.
  uint64_t weight_bytes() const;
  // Every file as loaded (read or mapped): the memory decoding streams, for bandwidth probes.
  std::vector<const MappedFile*> files() const;
  // Every tensor name, sorted, and the file that holds one (for messages).
  std::vector<std::string> names() const;
  const std::string& file_of(const std::string& name) const;

 private:
  std::string dir_;
  FileAccess access_ = FileAccess::map;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index in files_

  const SafetensorsFile& file_holding(const std::string& name) const;  // InputError when no file has it
};

// Bytes of the files SafetensorsCheckpoint(dir) would load (the index's shards, else model.safetensors), sized
// without opening them; InputError as the checkpoint would give for a folder with neither or a malformed index.
uint64_t checkpoint_file_bytes(const std::string& dir);

// Writes tensors (CPU; BF16, F16, F32, F64, I64, I32, U8) as one safetensors file, names sorted, header padded to 8.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors);

// Streaming variant for files larger than memory: tensors are produced one at a time by make(name), which
// must return the declared dtype and shape.
struct SafetensorsSpec {
  std::string name;
  std::string dtype;  // "BF16", "F16", "F32", ...
  std::vector<int64_t> shape;
};
// `metadata` goes into "__metadata__" beside {"format": "pt"}.
void write_safetensors(const std::string& path, const std::vector<SafetensorsSpec>& specs,
                       const std::function<at::Tensor(const std::string& name)>& make,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace bmx
