#include "bmx/core/io/torch_checkpoint.h"

#include <ATen/ATen.h>

#include <cstring>
#include <utility>

namespace bmx {
namespace {

at::ScalarType scalar_type(const std::string& storage) {
  static const std::pair<const char*, at::ScalarType> kTypes[] = {
      {"Float", at::kFloat}, {"Double", at::kDouble}, {"Half", at::kHalf}, {"BFloat16", at::kBFloat16},
      {"Long", at::kLong},   {"Int", at::kInt},       {"Short", at::kShort}, {"Char", at::kChar},
      {"Byte", at::kByte},   {"Bool", at::kBool},
  };
  for (auto& [name, type] : kTypes)
    if (storage == name) return type;
  return at::kFloat;  // not reached: CheckpointArchive::span refuses unknown storage types
}

}  // namespace

TorchCheckpoint::TorchCheckpoint(const std::string& path) : archive_(path) {}

TorchCheckpoint::~TorchCheckpoint() = default;
TorchCheckpoint::TorchCheckpoint(TorchCheckpoint&&) noexcept = default;

at::Tensor TorchCheckpoint::tensor(const TensorRef& ref, const std::string& name) const {
  const TensorSpan s = archive_.span(ref, name);  // every check, before any tensor exists
  const at::ScalarType type = scalar_type(ref.dtype);
  if (s.empty) return at::empty(ref.sizes, at::TensorOptions().dtype(type));
  // Only the elements the view spans are copied, so that many small views of one large storage stay small.
  auto span = at::empty({s.elements}, at::TensorOptions().dtype(type));
  std::memcpy(span.data_ptr(), s.first, static_cast<size_t>(s.elements * s.element_bytes));
  return span.as_strided(ref.sizes, ref.strides, 0).contiguous();
}

std::vector<std::pair<std::string, at::Tensor>> TorchCheckpoint::tensors(const PyValue& node,
                                                                         const std::vector<std::string>& skip) const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& [key, ref] : archive_.tensor_refs(node, skip)) out.emplace_back(key, tensor(*ref, key));
  return out;
}

std::map<std::string, at::Tensor> load_state_dict(const std::string& path) {
  TorchCheckpoint ck(path);
  std::map<std::string, at::Tensor> out;
  for (auto& [k, t] : ck.tensors()) out.emplace(k, t);
  return out;
}

}  // namespace bmx
