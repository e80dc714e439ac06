#include "bmx/core/io/checkpoint_archive.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "bmx/core/io/zip.h"
#include "bmx/core/util/error.h"

namespace bmx {
namespace {

struct StorageType {
  const char* name;
  int bytes;
};

constexpr StorageType kStorageTypes[] = {
    {"Float", 4}, {"Double", 8}, {"Half", 2}, {"BFloat16", 2}, {"Long", 8},
    {"Int", 4},   {"Short", 2},  {"Char", 1}, {"Byte", 1},     {"Bool", 1},
};

// IEEE binary16 to float32 (exact: every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  int exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf, NaN
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exponent = 1;
      while (!(mantissa & 0x400)) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ff;
      bits = sign | uint32_t(exponent + 127 - 15) << 23 | (mantissa << 13);
    }
  } else {
    bits = sign | uint32_t(exponent + 127 - 15) << 23 | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float element_as_float(const char* p, const std::string& dtype) {
  if (dtype == "Float") {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  if (dtype == "Double") {
    double d;
    std::memcpy(&d, p, 8);
    return static_cast<float>(d);
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  if (dtype == "Half") return half_to_float(h);
  const uint32_t bits = uint32_t(h) << 16;  // BFloat16: the top half of a float
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

int storage_element_bytes(const std::string& dtype) {
  for (const StorageType& t : kStorageTypes)
    if (dtype == t.name) return t.bytes;
  return 0;
}

CheckpointArchive::CheckpointArchive(const std::string& path)
    : path_(path), zip_(std::make_unique<ZipArchive>(path)) {
  // The archive folder is the first path component (torch.save names it after the file stem).
  std::string pkl;
  for (auto& [name, where] : zip_->entries()) {
    auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix_ = name.substr(0, slash + 1);
      pkl = name;
      break;
    }
  }
  if (pkl.empty()) fail_input(path, "not a torch.save checkpoint: no <archive>/data.pkl entry");
  auto bytes = zip_->entry(pkl);
  root_ = unpickle(std::string(bytes), path + ":" + pkl);
}

CheckpointArchive::~CheckpointArchive() = default;
CheckpointArchive::CheckpointArchive(CheckpointArchive&&) noexcept = default;

TensorSpan CheckpointArchive::span(const TensorRef& ref, const std::string& name) const {
  const int element_bytes = storage_element_bytes(ref.dtype);
  if (!element_bytes) fail_input(path_, "tensor '" + name + "': unsupported storage type " + ref.dtype + "Storage");
  const std::string entry = prefix_ + "data/" + ref.storage_key;
  if (!zip_->has(entry)) fail_input(path_, "tensor '" + name + "': storage " + entry + " is missing");
  std::string_view raw;
  try {
    raw = zip_->entry(entry);
  } catch (const InputError&) {
    fail_input(path_, "tensor '" + name + "': storage " + entry + " is truncated");
  }
  // Everything below is checked with overflow-safe arithmetic before any tensor exists: a lying pickle must end
  // here as one line naming file and tensor, never in c10 ("Storage size calculation overflowed", an enforce in
  // alloc_cpu) or in a multi-terabyte allocation.
  const auto bad = [&](const std::string& problem) {
    fail_input(path_, "tensor '" + name + "' (storage " + entry + "): " + problem);
  };
  const int64_t available = static_cast<int64_t>(raw.size() / static_cast<size_t>(element_bytes));
  if (ref.storage_numel < 0) bad("negative storage size " + std::to_string(ref.storage_numel));
  if (available < ref.storage_numel)
    bad("holds " + std::to_string(available) + " elements, the pickle says " + std::to_string(ref.storage_numel));
  if (ref.sizes.size() != ref.strides.size()) bad("sizes and strides differ in length");
  if (ref.sizes.size() > 64) bad(std::to_string(ref.sizes.size()) + " dimensions");
  int64_t numel = 1, extent = 0;  // elements of the view; offset of its last element from its first
  bool empty = false;
  for (size_t d = 0; d < ref.sizes.size(); ++d) {
    if (ref.sizes[d] < 0) bad("negative size " + std::to_string(ref.sizes[d]));
    if (ref.strides[d] < 0) bad("negative stride " + std::to_string(ref.strides[d]));
    if (ref.sizes[d] == 0) empty = true;
  }
  // c10 multiplies every size, zeros included, when it makes even an empty tensor.
  int64_t nonzero = 1;
  for (int64_t n : ref.sizes)
    if (n != 0 && __builtin_mul_overflow(nonzero, n, &nonzero)) bad("sizes overflow 64 bits");
  for (size_t d = 0; d < ref.sizes.size() && !empty; ++d) {
    int64_t span = 0;
    if (__builtin_mul_overflow(numel, ref.sizes[d], &numel) ||
        __builtin_mul_overflow(ref.sizes[d] - 1, ref.strides[d], &span) ||
        __builtin_add_overflow(extent, span, &extent))
      bad("sizes and strides overflow 64 bits");
  }
  TensorSpan out;
  out.element_bytes = element_bytes;
  if (empty) {
    out.empty = true;
    return out;
  }
  int64_t last = 0;
  if (ref.offset < 0 || __builtin_add_overflow(ref.offset, extent, &last) || last >= ref.storage_numel)
    bad("view (offset " + std::to_string(ref.offset) + ", " + std::to_string(numel) +
        " elements) lies outside its storage of " + std::to_string(ref.storage_numel) + " elements");
  // A view may repeat storage elements (stride 0, as expand() makes); it is materialised, so it may not be larger
  // than its storage or 2^26 elements, whichever is more.
  if (numel > std::max<int64_t>(ref.storage_numel, int64_t{1} << 26))
    bad("view of " + std::to_string(numel) + " elements repeats its storage of " + std::to_string(ref.storage_numel) +
        " elements (stride 0)");
  out.first = raw.data() + ref.offset * element_bytes;
  out.elements = extent + 1;
  out.numel = numel;
  return out;
}

FloatTensor CheckpointArchive::float_tensor(const TensorRef& ref, const std::string& name) const {
  const TensorSpan s = span(ref, name);
  if (ref.dtype != "Float" && ref.dtype != "Double" && ref.dtype != "Half" && ref.dtype != "BFloat16")
    fail_input(path_, "tensor '" + name + "' holds " + ref.dtype + " values, expected floating point");
  FloatTensor out;
  out.sizes = ref.sizes;
  if (s.empty) return out;
  out.values.resize(static_cast<size_t>(s.numel));
  // Row-major walk of the view: `index` counts each dimension, `at` is the storage offset from `first`.
  const size_t dims = ref.sizes.size();
  std::vector<int64_t> index(dims, 0);
  int64_t at = 0;
  for (int64_t k = 0; k < s.numel; ++k) {
    out.values[static_cast<size_t>(k)] = element_as_float(s.first + at * s.element_bytes, ref.dtype);
    for (size_t d = dims; d-- > 0;) {
      if (++index[d] < ref.sizes[d]) {
        at += ref.strides[d];
        break;
      }
      at -= (ref.sizes[d] - 1) * ref.strides[d];
      index[d] = 0;
    }
  }
  return out;
}

std::vector<std::pair<std::string, const TensorRef*>> CheckpointArchive::tensor_refs(
    const PyValue& node, const std::vector<std::string>& skip) const {
  std::vector<std::pair<std::string, const TensorRef*>> out;
  auto join = [](const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; };
  std::function<void(const PyValue&, const std::string&)> walk = [&](const PyValue& v, const std::string& key) {
    switch (v.kind) {
      case PyValue::Kind::Tensor: out.emplace_back(key, v.tensor.get()); break;
      case PyValue::Kind::Dict: case PyValue::Kind::Object:
        for (auto& [k, child] : v.dict) {
          std::string ks = k->kind == PyValue::Kind::String ? k->s : k->repr(0);
          if (std::find(skip.begin(), skip.end(), ks) != skip.end()) continue;
          walk(*child, join(key, ks));
        }
        break;
      case PyValue::Kind::List: case PyValue::Kind::Tuple:
        for (size_t k = 0; k < v.items.size(); ++k) walk(*v.items[k], join(key, std::to_string(k)));
        break;
      default: break;
    }
  };
  walk(node, "");
  return out;
}

}  // namespace bmx
