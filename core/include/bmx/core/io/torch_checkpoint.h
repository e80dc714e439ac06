// Reads PyTorch checkpoints written by torch.save (zip format: <archive>/data.pkl + <archive>/data/<n>)
// without Python and whatever device they were saved from: every tensor comes back as a CPU tensor.
// Nested dicts (model / optimizer / config...), numpy scalars and arbitrary objects are unpickled as
// PyValue trees; only tensors that are asked for are read. The reading and its checks are CheckpointArchive's
// (checkpoint_archive.h, no libtorch); this adds the at::Tensors.
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bmx/core/io/checkpoint_archive.h"
#include "bmx/core/io/pickle.h"

namespace bmx {

class TorchCheckpoint {
 public:
  explicit TorchCheckpoint(const std::string& path);  // throws InputError naming the file
  ~TorchCheckpoint();
  TorchCheckpoint(TorchCheckpoint&&) noexcept;

  const std::string& path() const { return archive_.path(); }
  const PyValue& root() const { return archive_.root(); }

  // Materialises one tensor (copied out of the archive, contiguous, CPU). `name` is used in errors:
  // a truncated storage or a view outside its storage is an InputError naming file and tensor.
  at::Tensor tensor(const TensorRef& ref, const std::string& name) const;

  // Every tensor under `node` (dicts nested with '.'-joined keys, lists/tuples by index), in file order.
  // Subtrees whose key is in `skip` (e.g. "optimizer") are not visited.
  std::vector<std::pair<std::string, at::Tensor>> tensors(const PyValue& node,
                                                          const std::vector<std::string>& skip = {}) const;
  // Same, from the root.
  std::vector<std::pair<std::string, at::Tensor>> tensors() const { return tensors(root()); }

 private:
  CheckpointArchive archive_;
};

// name -> tensor map of a plain state_dict checkpoint (the MolStrucTok form).
std::map<std::string, at::Tensor> load_state_dict(const std::string& path);

}  // namespace bmx
