#include "bmx/core/io/zip.h"

#include <cstring>

#include "bmx/core/util/error.h"
#include "bmx/core/io/mapped_file.h"

namespace bmx {
namespace {

uint16_t u16(const char* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint32_t u32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t u64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

constexpr uint32_t kEndOfCentralDir = 0x06054b50, kZip64EndLocator = 0x07064b50, kZip64End = 0x06064b50,
                   kCentralHeader = 0x02014b50, kLocalHeader = 0x04034b50;

}  // namespace

ZipArchive::ZipArchive(const std::string& path)
    : path_(path), file_(std::make_unique<MappedFile>(path)), data_(reinterpret_cast<const char*>(file_->data)),
      size_(file_->size) {
  if (size_ < 22)
    fail_input(path, "not a zip archive (torch.save format): file is " + std::to_string(size_) + " bytes");

  // The end-of-central-directory record sits within the last 64 KiB (+22) of the file.
  const char* eocd = nullptr;
  for (size_t back = 22; back <= std::min<size_t>(size_, 65557); ++back) {
    const char* p = data_ + size_ - back;
    if (u32(p) == kEndOfCentralDir) { eocd = p; break; }
  }
  if (!eocd) fail_input(path, "not a zip archive (torch.save format) or truncated: no end-of-central-directory");
  uint64_t count = u16(eocd + 10), cd_size = u32(eocd + 12), cd_offset = u32(eocd + 16);
  if (eocd - data_ >= 20 && u32(eocd - 20) == kZip64EndLocator) {
    uint64_t z64 = u64(eocd - 20 + 8);
    if (z64 > size_ || size_ - z64 < 56 || u32(data_ + z64) != kZip64End) fail_input(path, "corrupt zip64 directory");
    count = u64(data_ + z64 + 32);
    cd_size = u64(data_ + z64 + 40);
    cd_offset = u64(data_ + z64 + 48);
  }
  if (cd_offset > size_ || cd_size > size_ - cd_offset)
    fail_input(path, "truncated zip: central directory lies past the end of the file");

  const char* p = data_ + cd_offset;
  const char* end = p + cd_size;
  for (uint64_t n = 0; n < count; ++n) {
    if (end - p < 46 || u32(p) != kCentralHeader) fail_input(path, "corrupt zip central directory");
    uint16_t method = u16(p + 10);
    uint64_t csize = u32(p + 20), usize = u32(p + 24), local = u32(p + 42);
    uint16_t name_len = u16(p + 28), extra_len = u16(p + 30), comment_len = u16(p + 32);
    if (end - p < 46 + name_len + extra_len + comment_len) fail_input(path, "corrupt zip central directory");
    std::string name(p + 46, name_len);
    // zip64 extra field: the 0xFFFFFFFF values follow in the order usize, csize, local offset.
    const char* x = p + 46 + name_len;
    const char* xend = x + extra_len;
    while (x + 4 <= xend) {
      uint16_t id = u16(x), len = u16(x + 2);
      if (xend - (x + 4) < len) fail_input(path, "corrupt zip central directory (extra field)");
      if (id == 0x0001) {
        const char *q = x + 4, *qend = q + len;
        auto next = [&](uint64_t& v) {
          if (v != 0xFFFFFFFFu) return;
          if (qend - q < 8) fail_input(path, "corrupt zip64 extra field");
          v = u64(q);
          q += 8;
        };
        next(usize);
        next(csize);
        next(local);
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    if (local > size_ || size_ - local < 30 || u32(data_ + local) != kLocalHeader) {
      entries_[name] = {UINT64_MAX - 1, usize};  // reported as truncated when read
      continue;
    }
    uint64_t data_off = local + 30 + u16(data_ + local + 26) + u16(data_ + local + 28);
    entries_[name] = {data_off, method == 0 ? usize : UINT64_MAX};
  }
}

ZipArchive::~ZipArchive() = default;

std::string_view ZipArchive::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail_input(path_, "zip entry '" + name + "' is missing");
  auto [off, len] = it->second;
  if (len == UINT64_MAX) fail_input(path_, "zip entry '" + name + "' is compressed (torch.save stores entries)");
  if (off > size_ || len > size_ - off)
    fail_input(path_, "truncated file: zip entry '" + name + "' needs " + std::to_string(len) +
                          " bytes past the end of the file");
  return {data_ + off, static_cast<size_t>(len)};
}

}  // namespace bmx
