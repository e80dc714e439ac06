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
  const int64_t numel = static_cast<int64_t>(raw.size()) / dt->bytes;
  if (numel < ref.storage_numel)
    fail_input(path_, "tensor '" + name + "': storage " + entry + " holds " + std::to_string(numel) +
                          " elements, the pickle says " + std::to_string(ref.storage_numel));
  if (ref.sizes.size() != ref.strides.size())
    fail_input(path_, "tensor '" + name + "': sizes and strides differ in length");
  int64_t extent = 0;  // one past the last element the view touches
  bool empty = false;
  for (size_t d = 0; d < ref.sizes.size(); ++d) {
    if (ref.sizes[d] < 0 || ref.strides[d] < 0) fail_input(path_, "tensor '" + name + "': negative size or stride");
    if (ref.sizes[d] == 0) empty = true;
    extent += (ref.sizes[d] - 1) * ref.strides[d];
  }
  if (!empty && (ref.offset < 0 || ref.offset + extent + 1 > ref.storage_numel))
    fail_input(path_, "tensor '" + name + "': view lies outside its storage " + entry);
  auto storage = at::empty({ref.storage_numel}, at::TensorOptions().dtype(dt->type));
  std::memcpy(storage.data_ptr(), raw.data(), static_cast<size_t>(ref.storage_numel * dt->bytes));
  if (empty) return at::empty(ref.sizes, storage.options());
  return storage.as_strided(ref.sizes, ref.strides, ref.offset).contiguous();
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
