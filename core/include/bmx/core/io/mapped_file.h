// A whole file, read-only in memory (safetensors shards, torch.save zip archives): mapped from the page cache, or
// read into private memory when the bytes are streamed over and over (a decoder reads every weight per token).
// Errors are InputError naming the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace bmx {

// How a file's bytes are brought into memory.
enum class FileAccess {
  // A read-only mapping of the page cache: nothing copied at load, and processes reading the same file share one
  // copy (Dask workers on one machine).
  map,
  // Read into private memory, in 2 MiB pages where the kernel gives them. Measured on a 2-core Zen 4 virtual
  // machine: a decoder streams such memory 1.2-1.6x faster than a mapping of the page cache, and steadily (the
  // mapping's per-token time varied 2x). Costs a read at load (~0.6 s for 8 GB when cached) and one copy per
  // process.
  read,
  // read when the files fit in available memory with room to spare (fits_in_memory), else map.
  automatic,
};

// "map", "read" or "automatic" (messages, bench output).
const char* access_name(FileAccess a);

// map or read for `bytes` of files: automatic resolved against available_memory() (map when it is unknown).
// InputError when `read` is asked for and the bytes do not fit, naming `what` and both sizes (a copy past the
// memory would swap or be killed); with the memory unknown, `read` is done as asked.
FileAccess resolve_access(FileAccess a, uint64_t bytes, const std::string& what);

struct MappedFile {
  const unsigned char* data = nullptr;
  size_t size = 0;
  FileAccess access = FileAccess::map;  // as resolved: map or read
  // `access` automatic is resolved for this one file; read is done as asked (resolve_access checks the memory
  // beforehand, for all the files of a model together).
  explicit MappedFile(const std::string& path, FileAccess access = FileAccess::map);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
};

}  // namespace bmx
