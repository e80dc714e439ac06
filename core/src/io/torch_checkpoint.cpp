#include "bmx/core/io/torch_checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "bmx/core/util/error.h"
#include "bmx/core/io/zip.h"

namespace bmx {
namespace {

struct DtypeInfo {
  const char* storage;
  at::ScalarType type;
  int64_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"Float", at::kFloat, 4},   {"Double", at::kDouble, 8}, {"Half", at::kHalf, 2},
    {"BFloat16", at::kBFloat16, 2}, {"Long", at::kLong, 8}, {"Int", at::kInt, 4},
    {"Short", at::kShort, 2},   {"Char", at::kChar, 1},     {"Byte", at::kByte, 1},
    {"Bool", at::kBool, 1},
};

const DtypeInfo* find_dtype(const std::string& storage) {
  for (auto& d : kDtypes)
    if (storage == d.storage) return &d;
  return nullptr;
}

}  // namespace

TorchCheckpoint::TorchCheckpoint(const std::string& path) : path_(path), zip_(std::make_unique<ZipArchive>(path)) {
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

TorchCheckpoint::~TorchCheckpoint() = default;
TorchCheckpoint::TorchCheckpoint(TorchCheckpoint&&) noexcept = default;

at::Tensor TorchCheckpoint::tensor(const TensorRef& ref, const std::string& name) const {
  const DtypeInfo* dt = find_dtype(ref.dtype);
  if (!dt) fail_input(path_, "tensor '" + name + "': unsupported storage type " + ref.dtype + "Storage");
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
  const int64_t available = static_cast<int64_t>(raw.size() / static_cast<size_t>(dt->bytes));
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
  if (empty) return at::empty(ref.sizes, at::TensorOptions().dtype(dt->type));
  int64_t last = 0;
  if (ref.offset < 0 || __builtin_add_overflow(ref.offset, extent, &last) || last >= ref.storage_numel)
    bad("view (offset " + std::to_string(ref.offset) + ", " + std::to_string(numel) +
        " elements) lies outside its storage of " + std::to_string(ref.storage_numel) + " elements");
  // A view may repeat storage elements (stride 0, as expand() makes); it is materialised, so it may not be larger
  // than its storage or 2^26 elements, whichever is more.
  if (numel > std::max<int64_t>(ref.storage_numel, int64_t{1} << 26))
    bad("view of " + std::to_string(numel) + " elements repeats its storage of " + std::to_string(ref.storage_numel) +
        " elements (stride 0)");
  // Only the elements the view spans are copied, so that many small views of one large storage stay small.
  auto span = at::empty({extent + 1}, at::TensorOptions().dtype(dt->type));
  std::memcpy(span.data_ptr(), raw.data() + ref.offset * dt->bytes, static_cast<size_t>((extent + 1) * dt->bytes));
  return span.as_strided(ref.sizes, ref.strides, 0).contiguous();
}

std::vector<std::pair<std::string, at::Tensor>> TorchCheckpoint::tensors(const PyValue& node,
                                                                         const std::vector<std::string>& skip) const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  auto join = [](const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; };
  std::function<void(const PyValue&, const std::string&)> walk = [&](const PyValue& v, const std::string& key) {
    switch (v.kind) {
      case PyValue::Kind::Tensor: out.emplace_back(key, tensor(*v.tensor, key)); break;
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

std::map<std::string, at::Tensor> load_state_dict(const std::string& path) {
  TorchCheckpoint ck(path);
  std::map<std::string, at::Tensor> out;
  for (auto& [k, t] : ck.tensors()) out.emplace(k, t);
  return out;
}

}  // namespace bmx
