// Python values as read from a pickle stream (protocols 2-5, the opcodes torch.save and numpy emit).
// Plain data: what Python built is kept as a tree; objects of unknown classes keep their class name,
// constructor arguments and state so that callers can look inside or skip them.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bmx {

// A tensor as torch.save describes it: a view into one storage of the archive (not yet read).
struct TensorRef {
  std::string storage_key;  // zip entry data/<key>
  std::string dtype;        // storage class name without "Storage": Float, Long, BFloat16, Half, ...
  std::string location;     // "cpu", "cuda:0", ...: ignored, everything is read to the CPU
  int64_t storage_numel = 0;
  int64_t offset = 0;       // in elements
  std::vector<int64_t> sizes, strides;
};

struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Global, Object, Tensor, Storage };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;  // String, Bytes, Global ("module.name"), Object (class "module.name")
  std::vector<std::shared_ptr<PyValue>> items;  // List, Tuple, Object constructor args
  std::vector<std::pair<std::shared_ptr<PyValue>, std::shared_ptr<PyValue>>> dict;  // Dict, in insertion order
  std::shared_ptr<PyValue> state;  // Object: what BUILD set
  std::shared_ptr<TensorRef> tensor;  // Tensor, Storage

  bool is(Kind k) const { return kind == k; }
  // Dict lookup by string key; nullptr when absent or not a dict.
  const PyValue* get(const std::string& key) const;
  std::string repr(int depth = 2) const;  // short description for error messages
};

using PyValuePtr = std::shared_ptr<PyValue>;

// Unpickles `data`. persistent_load turns a BINPERSID tuple into a value (torch.save storages).
// `what` names the stream in errors ("model.bin:data.pkl").
PyValuePtr unpickle(const std::string& data, const std::string& what);

}  // namespace bmx
