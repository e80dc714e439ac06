// A torch.save checkpoint (zip: <archive>/data.pkl + <archive>/data/<n>) read without libtorch: the pickled tree,
// and each tensor's elements checked against its storage and copied out as float32. What must start without
// libtorch (bmx mol: the MolStrucTok checkpoint) reads it this way; TorchCheckpoint (torch_checkpoint.h) makes
// at::Tensors on the same checks.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bmx/core/io/pickle.h"

namespace bmx {

class ZipArchive;

// A tensor's elements as float32, contiguous (row-major).
struct FloatTensor {
  std::vector<int64_t> sizes;
  std::vector<float> values;
};

// Where a tensor's elements lie in the mapped archive, after every check (one InputError line naming file and
// tensor otherwise: truncated storage, a view outside it, sizes that overflow, an unknown storage type).
struct TensorSpan {
  const char* first = nullptr;  // element at the view's offset
  int64_t elements = 0;         // storage elements from `first` that the view spans (0 for an empty view)
  int64_t numel = 0;            // elements of the view
  int element_bytes = 0;
  bool empty = false;           // some size is 0
};

class CheckpointArchive {
 public:
  explicit CheckpointArchive(const std::string& path);  // throws InputError naming the file
  ~CheckpointArchive();
  CheckpointArchive(CheckpointArchive&&) noexcept;

  const std::string& path() const { return path_; }
  const PyValue& root() const { return *root_; }

  // The checked span of `ref` (`name` is used in errors).
  TensorSpan span(const TensorRef& ref, const std::string& name) const;
  // Float, Double, Half and BFloat16 tensors to float32 (doubles rounded to nearest, the others exact);
  // InputError for other storage types.
  FloatTensor float_tensor(const TensorRef& ref, const std::string& name) const;

  // Every tensor under `node` (dicts nested with '.'-joined keys, lists/tuples by index), in file order.
  // Subtrees whose key is in `skip` (e.g. "optimizer") are not visited.
  std::vector<std::pair<std::string, const TensorRef*>> tensor_refs(const PyValue& node,
                                                                    const std::vector<std::string>& skip = {}) const;

 private:
  std::string path_;
  std::unique_ptr<ZipArchive> zip_;
  std::string prefix_;  // archive folder, e.g. "pytorch_model/"
  PyValuePtr root_;
};

// Size in bytes of one element of a torch storage type ("Float", "BFloat16", ...); 0 when unknown.
int storage_element_bytes(const std::string& dtype);

}  // namespace bmx
