#include "bmx/core/io/safetensors.h"

#include "bmx/core/io/json_file.h"
#include "bmx/core/io/mapped_file.h"
#include "bmx/core/io/output_file.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <climits>
#include <utility>
#include <vector>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/core/io/json_sax.h"

namespace bmx {


namespace {

// Element size, 0 for unknown dtype strings.
size_t dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "BF16" || d == "F16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

at::ScalarType scalar_type(const std::string& d) {
  if (d == "BF16") return at::kBFloat16;
  if (d == "F16") return at::kHalf;
  if (d == "F32") return at::kFloat;
  if (d == "F64") return at::kDouble;
  if (d == "I64") return at::kLong;
  if (d == "I32") return at::kInt;
  if (d == "I16") return at::kShort;
  if (d == "I8") return at::kChar;
  if (d == "U8") return at::kByte;
  if (d == "BOOL") return at::kBool;
  throw UnsupportedError("safetensors dtype " + d + " is not supported");
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return "BF16";
    case at::kHalf: return "F16";
    case at::kFloat: return "F32";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kByte: return "U8";
    default: throw UnsupportedError("cannot write dtype " + std::string(c10::toString(t)) + " to safetensors");
  }
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path, FileAccess access) : path_(path) {
  map_ = std::make_shared<MappedFile>(path, access);
  const size_t size = map_->size;
  if (size < 8) fail_input(path, "not a safetensors file (shorter than 8 bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | map_->data[i];
  if (n > size - 8) fail_input(path, "truncated: header of " + std::to_string(n) + " bytes, file has " +
                                         std::to_string(size) + " bytes");
  nlohmann::json header;
  try {
    header = parse_json(std::string_view(reinterpret_cast<const char*>(map_->data) + 8, n));
  } catch (const std::exception& e) {
    fail_input(path, "bad safetensors header: " + json_error_text(e));
  }
  if (!header.is_object()) fail_input(path, "bad safetensors header: not a JSON object");
  data_ = map_->data + 8 + n;
  const uint64_t buffer = size - 8 - n;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (v.is_object())
        for (auto& [k, s] : v.items())
          if (s.is_string()) metadata_[k] = s.get<std::string>();
      continue;
    }
    SafetensorsEntry e;
    // Checked field by field, so a lying header gets a message about the header, not the JSON library's.
    if (!v.is_object()) fail_input(path, name, "bad header entry: not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail_input(path, name, "bad header entry: no dtype string");
    e.dtype = v["dtype"].get<std::string>();
    if (!v.contains("shape") || !v["shape"].is_array()) fail_input(path, name, "bad header entry: no shape list");
    for (auto& d : v["shape"]) {
      if (!d.is_number_integer()) fail_input(path, name, "bad header entry: shape " + v["shape"].dump() + " is not a list of integers");
      e.shape.push_back(d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(INT64_MAX) ? -1 : d.get<int64_t>());
    }
    const auto& off = v.contains("data_offsets") ? v["data_offsets"] : nlohmann::json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail_input(path, name, "bad header entry: data_offsets must be 2 non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    const size_t es = dtype_size(e.dtype);
    if (es == 0) fail_input(path, name, "unknown dtype " + e.dtype);
    uint64_t numel = 1;
    for (auto d : e.shape) {
      if (d < 0) fail_input(path, name, "negative dimension in shape " + shape_str(e.shape));
      if (__builtin_mul_overflow(numel, uint64_t(d), &numel) || numel > (uint64_t(1) << 62) / es)
        fail_input(path, name, "shape " + shape_str(e.shape) + " is larger than any file");
    }
    if (e.end < e.begin || e.end - e.begin != numel * es)
      fail_input(path, name, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                 ") do not match " + e.dtype + " " + shape_str(e.shape));
    if (e.end > buffer)
      fail_input(path, name, "truncated file: tensor data ends at byte " + std::to_string(8 + n + e.end) +
                                 " but the file has " + std::to_string(size) + " bytes");
    entries_.emplace(name, std::move(e));
  }
  // Two tensors sharing bytes would alias each other's weights: the format gives each its own range.
  std::vector<std::pair<const std::string*, const SafetensorsEntry*>> by_offset;
  for (auto& [name, e] : entries_)
    if (e.end > e.begin) by_offset.emplace_back(&name, &e);
  std::sort(by_offset.begin(), by_offset.end(), [](auto& a, auto& b) { return a.second->begin < b.second->begin; });
  for (size_t k = 1; k < by_offset.size(); ++k)
    if (by_offset[k].second->begin < by_offset[k - 1].second->end)
      fail_input(path, *by_offset[k].first,
                 "data_offsets [" + std::to_string(by_offset[k].second->begin) + ", " +
                     std::to_string(by_offset[k].second->end) + ") overlap those of " + *by_offset[k - 1].first +
                     " [" + std::to_string(by_offset[k - 1].second->begin) + ", " +
                     std::to_string(by_offset[k - 1].second->end) + ")");
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail_input(path_, name, "no such tensor");
  const auto& e = it->second;
  const auto type = scalar_type(e.dtype);
  void* p = const_cast<unsigned char*>(data_ + e.begin);
  auto keep = map_;
  auto t = at::from_blob(p, e.shape, [keep](void*) {}, at::TensorOptions().dtype(type));
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(e.dtype) != 0) return t.clone();  // unaligned header length
  return t;
}

namespace {

// Bytes of the files together, for the choice between reading and mapping them (a file that cannot be sized
// counts 0: opening it reports the problem).
uint64_t total_file_bytes(const std::vector<std::filesystem::path>& files) {
  uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(f, ec);
    if (!ec) total += n;
  }
  return total;
}

// The shard files model.safetensors.index.json lists, each once, in order of first mention; `file_index` (when
// given) maps each listed file name to its place. InputError for a malformed index or a missing shard.
std::vector<std::filesystem::path> index_shards(const std::filesystem::path& dir, const std::filesystem::path& index,
                                                const nlohmann::json& j, std::map<std::string, size_t>* file_index) {
  if (!j.contains("weight_map") || !j["weight_map"].is_object()) fail_input(index.string(), "no weight_map object");
  std::map<std::string, size_t> seen;
  std::vector<std::filesystem::path> shards;
  for (auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) fail_input(index.string(), name, "weight_map entry is not a file name");
    const std::string f = file.get<std::string>();
    if (seen.count(f)) continue;
    const std::filesystem::path shard = dir / f;
    if (!std::filesystem::exists(shard))
      fail_input(index.string(), name, "shard " + shard.string() + " does not exist");
    seen[f] = shards.size();
    shards.push_back(shard);
  }
  if (file_index) *file_index = std::move(seen);
  return shards;
}

// The files a checkpoint folder loads: the index's shards, else model.safetensors. InputError when it has neither.
std::vector<std::filesystem::path> checkpoint_files(const std::string& dir, std::map<std::string, size_t>* file_index,
                                                    nlohmann::json* index_json) {
  const std::filesystem::path d(dir), index = d / "model.safetensors.index.json";
  if (std::filesystem::exists(index)) {
    nlohmann::json j = read_json_file(index.string());
    auto shards = index_shards(d, index, j, file_index);
    if (index_json) *index_json = std::move(j);
    return shards;
  }
  const std::filesystem::path single = d / "model.safetensors";
  if (!std::filesystem::exists(single))
    fail_input(dir, "no model.safetensors or model.safetensors.index.json in the model folder");
  return {single};
}

}  // namespace

uint64_t checkpoint_file_bytes(const std::string& dir) { return total_file_bytes(checkpoint_files(dir, nullptr, nullptr)); }

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& dir, FileAccess access) : dir_(dir) {
  std::map<std::string, size_t> file_index;  // listed file name -> index in files_ (sharded checkpoints)
  nlohmann::json index;
  // The files first, so that reading or mapping is decided once for all of them.
  const auto files = checkpoint_files(dir, &file_index, &index);
  access_ = resolve_access(access, total_file_bytes(files), "the weights of " + dir);
  for (const auto& f : files) files_.push_back(std::make_unique<SafetensorsFile>(f.string(), access_));
  if (index.is_null()) {  // one model.safetensors
    for (auto& [name, e] : files_[0]->entries()) where_[name] = 0;
    return;
  }
  const std::string index_name = "model.safetensors.index.json";
  for (auto& [name, file] : index["weight_map"].items()) {
    const size_t k = file_index[file.get<std::string>()];
    if (!files_[k]->contains(name)) fail_input(files_[k]->path(), name, "tensor listed in " + index_name + " is missing");
    where_[name] = k;
  }
  // A tensor must live in exactly one shard.
  for (size_t k = 0; k < files_.size(); ++k)
    for (auto& [name, e] : files_[k]->entries()) {
      auto it = where_.find(name);
      if (it != where_.end() && it->second != k)
        fail_input(files_[k]->path(), name, "tensor also present in " + files_[it->second]->path());
    }
}

const SafetensorsFile& SafetensorsCheckpoint::file_holding(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) {
    std::string where = files_.size() == 1 ? files_[0]->path() : dir_ + "/model.safetensors.index.json";
    fail_input(where, name, "tensor is missing");
  }
  return *files_[it->second];
}

at::Tensor SafetensorsCheckpoint::get(const std::string& name, const std::vector<int64_t>& shape) const {
  const SafetensorsFile& f = file_holding(name);
  const auto& e = f.entries().at(name);
  if (e.dtype != "BF16" && e.dtype != "F16" && e.dtype != "F32")
    fail_input(f.path(), name, "dtype " + e.dtype + " is not a weight dtype (BF16, F16 or F32)");
  if (!shape.empty() && e.shape != shape)
    fail_input(f.path(), name, "shape " + shape_str(e.shape) + ", expected " + shape_str(shape));
  return f.tensor(name);
}

at::Tensor SafetensorsCheckpoint::get_exact(const std::string& name, const std::string& dtype,
                                            const std::vector<int64_t>& shape) const {
  const SafetensorsFile& f = file_holding(name);
  const auto& e = f.entries().at(name);
  if (e.dtype != dtype || e.shape != shape)
    fail_input(f.path(), name, e.dtype + " " + shape_str(e.shape) + ", expected " + dtype + " " + shape_str(shape));
  return f.tensor(name);
}

const std::map<std::string, std::string>& SafetensorsCheckpoint::metadata() const { return files_[0]->metadata(); }

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (auto& [name, k] : where_) out.push_back(name);
  return out;
}

const std::string& SafetensorsCheckpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? dir_ : files_[it->second]->path();
}

std::vector<const MappedFile*> SafetensorsCheckpoint::files() const {
  std::vector<const MappedFile*> out;
  for (auto& f : files_) out.push_back(&f->bytes());
  return out;
}

uint64_t SafetensorsCheckpoint::weight_bytes() const {
  uint64_t total = 0;
  for (auto& f : files_)
    for (auto& [n, e] : f->entries()) total += e.end - e.begin;
  return total;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsSpec>& specs,
                       const std::function<at::Tensor(const std::string& name)>& make,
                       const std::map<std::string, std::string>& metadata) {
  auto sorted = specs;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.name < b.name; });
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  for (auto& [k, v] : metadata) header["__metadata__"][k] = v;
  uint64_t offset = 0;
  for (auto& s : sorted) {
    uint64_t bytes = dtype_size(s.dtype);
    if (bytes == 0) throw UnsupportedError("cannot write dtype " + s.dtype + " to safetensors");
    for (auto d : s.shape) bytes *= uint64_t(d);
    header[s.name] = {{"dtype", s.dtype}, {"shape", s.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  // Through OutputFile: written to a temporary and renamed when complete, every write checked (a full disk is an
  // InputError naming the path, not a truncated checkpoint).
  OutputFile file(path);
  std::ostream& out = file.stream();
  const uint64_t n = h.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = (n >> (8 * i)) & 0xff;
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(h.data(), std::streamsize(h.size()));
  for (auto& s : sorted) {
    auto t = make(s.name).contiguous();
    if (dtype_name(t.scalar_type()) != s.dtype || t.sizes().vec() != s.shape)
      fail_input(path, s.name, "tensor does not match its declared " + s.dtype + " " + shape_str(s.shape));
    out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(uint64_t(t.numel()) * t.element_size()));
  }
  file.commit();
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<SafetensorsSpec> specs;
  std::map<std::string, at::Tensor> by_name;
  for (auto& [name, t] : tensors) {
    specs.push_back({name, dtype_name(t.scalar_type()), t.sizes().vec()});
    by_name[name] = t;
  }
  write_safetensors(path, specs, [&](const std::string& name) { return by_name.at(name); });
}

}  // namespace bmx
