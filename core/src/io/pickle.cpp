#include "bmx/core/io/pickle.h"

#include <cstring>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "bmx/core/util/error.h"

namespace bmx {
namespace {

PyValuePtr new_value(PyValue::Kind k) {
  auto v = std::make_shared<PyValue>();
  v->kind = k;
  return v;
}

// Deeper than any state dict torch.save writes (a few levels), far below what recursion over the tree (the
// walkers, the destructors of nested shared_ptrs) can take on a thread's stack.
constexpr int kMaxNesting = 1000;

bool holds_values(const PyValue& v) { return !v.items.empty() || !v.dict.empty() || v.state; }

class Unpickler {
 public:
  Unpickler(const std::string& data, std::string what) : d_(data), what_(std::move(what)) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  // Values the result does not keep (all of them when unpickling failed) are emptied one by one, so that no
  // cycle a hostile stream made leaks and no deep chain is destroyed recursively.
  ~Unpickler() {
    for (auto& v : created_)
      if (!kept_.count(v.get())) {
        v->items.clear();
        v->dict.clear();
        v->state.reset();
      }
  }

  // The value STOP returns, checked to be a tree or DAG of at most kMaxNesting levels.
  PyValuePtr result() {
    PyValuePtr v = run();
    check_shape(v);
    return v;
  }

  PyValuePtr run() {
    while (true) {
      if (pos_ >= d_.size()) fail("stream ends before STOP");
      const size_t at = pos_;
      const uint8_t op = static_cast<uint8_t>(d_[pos_++]);
      switch (op) {
        case 0x80: pos_ += 1; break;                    // PROTO
        case 0x95: pos_ += 8; break;                    // FRAME
        case '.': return pop();                         // STOP (result() checks what it returns)
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': stack_.push_back(make(PyValue::Kind::None)); break;
        case 0x88: case 0x89: {                         // NEWTRUE / NEWFALSE
          auto v = make(PyValue::Kind::Bool); v->b = op == 0x88; stack_.push_back(v); break;
        }
        case 'J': push_int(static_cast<int32_t>(read_u(4))); break;  // BININT
        case 'K': push_int(read_u(1)); break;                        // BININT1
        case 'M': push_int(read_u(2)); break;                        // BININT2
        case 0x8a: push_long(read_u(1)); break;                      // LONG1
        case 0x8b: push_long(read_u(4)); break;                      // LONG4
        case 'G': {                                                  // BINFLOAT (big-endian)
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(take(1)[0]);
          auto v = make(PyValue::Kind::Float);
          std::memcpy(&v->f, &bits, 8);
          stack_.push_back(v);
          break;
        }
        case 'X': push_str(PyValue::Kind::String, read_u(4)); break;     // BINUNICODE
        case 0x8c: push_str(PyValue::Kind::String, read_u(1)); break;    // SHORT_BINUNICODE
        case 0x8d: push_str(PyValue::Kind::String, read_u(8)); break;    // BINUNICODE8
        case 'T': push_str(PyValue::Kind::Bytes, read_u(4)); break;      // BINSTRING
        case 'U': push_str(PyValue::Kind::Bytes, read_u(1)); break;      // SHORT_BINSTRING
        case 'B': push_str(PyValue::Kind::Bytes, read_u(4)); break;      // BINBYTES
        case 'C': push_str(PyValue::Kind::Bytes, read_u(1)); break;      // SHORT_BINBYTES
        case 0x8e: push_str(PyValue::Kind::Bytes, read_u(8)); break;     // BINBYTES8
        case 0x96: push_str(PyValue::Kind::Bytes, read_u(8)); break;     // BYTEARRAY8
        case ']': stack_.push_back(make(PyValue::Kind::List)); break;    // EMPTY_LIST
        case ')': stack_.push_back(make(PyValue::Kind::Tuple)); break;   // EMPTY_TUPLE
        case '}': stack_.push_back(make(PyValue::Kind::Dict)); break;    // EMPTY_DICT
        case 0x8f: stack_.push_back(make(PyValue::Kind::List)); break;   // EMPTY_SET (kept as a list)
        case 't': case 0x91: {                                           // TUPLE / FROZENSET
          auto v = make(op == 't' ? PyValue::Kind::Tuple : PyValue::Kind::List);
          v->items = pop_mark();
          stack_.push_back(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {                               // TUPLE1..3
          size_t n = op - 0x84;
          need(n);
          auto v = make(PyValue::Kind::Tuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          stack_.push_back(v);
          break;
        }
        case 'l': {                                                      // LIST
          auto v = make(PyValue::Kind::List); v->items = pop_mark(); stack_.push_back(v); break;
        }
        case 'd': {                                                      // DICT
          auto items = pop_mark();
          auto v = make(PyValue::Kind::Dict);
          for (size_t k = 0; k + 1 < items.size(); k += 2) v->dict.emplace_back(items[k], items[k + 1]);
          stack_.push_back(v);
          break;
        }
        case 'a': {                                                      // APPEND
          auto x = pop();
          top()->items.push_back(x);
          break;
        }
        case 'e': case 0x90: {                                           // APPENDS / ADDITEMS
          auto items = pop_mark();
          auto& t = top()->items;
          t.insert(t.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                                      // SETITEM
          auto v = pop(), k = pop();
          set_item(top(), k, v);
          break;
        }
        case 'u': {                                                      // SETITEMS
          auto items = pop_mark();
          auto d = top();
          for (size_t k = 0; k + 1 < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
          break;
        }
        case 'q': memo_[read_u(1)] = top(); break;                      // BINPUT
        case 'r': memo_[read_u(4)] = top(); break;                      // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;                  // MEMOIZE
        case 'h': stack_.push_back(memo(read_u(1))); break;             // BINGET
        case 'j': stack_.push_back(memo(read_u(4))); break;             // LONG_BINGET
        case 'c': {                                                      // GLOBAL "module\nname\n"
          std::string module = read_line(), name = read_line();
          auto v = make(PyValue::Kind::Global);
          v->s = module + "." + name;
          stack_.push_back(v);
          break;
        }
        case 0x93: {                                                     // STACK_GLOBAL
          auto name = pop(), module = pop();
          auto v = make(PyValue::Kind::Global);
          v->s = module->s + "." + name->s;
          stack_.push_back(v);
          break;
        }
        case 'R': {                                                      // REDUCE
          auto args = pop(), fn = pop();
          stack_.push_back(reduce(*fn, *args));
          break;
        }
        case 0x81: {                                                     // NEWOBJ
          auto args = pop(), cls = pop();
          stack_.push_back(reduce(*cls, *args));
          break;
        }
        case 'b': {                                                      // BUILD
          auto st = pop();
          build(top(), st);
          break;
        }
        case 'Q': {                                                      // BINPERSID
          auto pid = pop();
          stack_.push_back(persistent(*pid));
          break;
        }
        case '0': pop(); break;                                          // POP
        case '1': pop_mark(); break;                                     // POP_MARK
        case '2': stack_.push_back(top()); break;                        // DUP
        default: {
          std::ostringstream os;
          os << "unsupported pickle opcode 0x" << std::hex << int(op) << " at byte " << std::dec << at;
          fail(os.str());
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { fail_input(what_, msg); }

  PyValuePtr make(PyValue::Kind k) {
    created_.push_back(new_value(k));
    return created_.back();
  }

  // One iterative depth-first pass over what `root` reaches: a value that contains itself (Python allows it,
  // no checkpoint needs it, and every walker would loop forever) or nesting beyond kMaxNesting is refused.
  // The values reached are those kept.
  void check_shape(const PyValuePtr& root) {
    enum class Mark : uint8_t { open, done };
    std::unordered_map<const PyValue*, Mark> mark;
    struct Frame {
      const PyValue* v;
      size_t next;  // index into the value's children: items, then dict keys and values, then state
    };
    auto child = [](const PyValue* v, size_t i) -> const PyValue* {
      if (i < v->items.size()) return v->items[i].get();
      i -= v->items.size();
      if (i < 2 * v->dict.size()) return (i % 2 ? v->dict[i / 2].second : v->dict[i / 2].first).get();
      i -= 2 * v->dict.size();
      return i == 0 ? v->state.get() : nullptr;
    };
    auto children = [](const PyValue* v) { return v->items.size() + 2 * v->dict.size() + (v->state ? 1 : 0); };
    std::vector<Frame> path{{root.get(), 0}};
    mark[root.get()] = Mark::open;
    while (!path.empty()) {
      Frame& f = path.back();
      if (f.next == children(f.v)) {
        mark[f.v] = Mark::done;
        path.pop_back();
        continue;
      }
      const PyValue* c = child(f.v, f.next++);
      if (!c || !holds_values(*c)) {
        if (c) kept_.insert(c);
        continue;
      }
      auto it = mark.find(c);
      if (it != mark.end()) {
        if (it->second == Mark::open) fail("a container holds itself (a cycle no checkpoint has)");
        continue;
      }
      if (int(path.size()) >= kMaxNesting)
        fail("values nested deeper than " + std::to_string(kMaxNesting) + " levels");
      mark[c] = Mark::open;
      path.push_back({c, 0});
    }
    for (const auto& [v, m] : mark) kept_.insert(v);
  }

  std::string_view take(size_t n) {
    if (n > d_.size() - pos_) fail("truncated pickle stream");
    std::string_view s(d_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t read_u(int n) {
    auto s = take(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(s[k]);
    return v;
  }
  std::string read_line() {
    auto nl = d_.find('\n', pos_);
    if (nl == std::string::npos) fail("truncated pickle stream");
    std::string s = d_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return s;
  }
  void push_int(int64_t v) {
    auto p = make(PyValue::Kind::Int);
    p->i = v;
    stack_.push_back(p);
  }
  void push_long(uint64_t n) {
    auto s = take(n);
    if (n > 8) fail("integer wider than 64 bits");
    int64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<uint8_t>(s[k]);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(s[n - 1]) & 0x80)) v -= int64_t(1) << (8 * n);  // sign
    push_int(v);
  }
  void push_str(PyValue::Kind k, uint64_t n) {
    auto v = make(k);
    v->s = std::string(take(n));
    stack_.push_back(v);
  }
  void need(size_t n) const {
    size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail("pickle stack underflow");
  }
  PyValuePtr pop() {
    need(1);
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyValuePtr top() {
    need(1);
    return stack_.back();
  }
  std::vector<PyValuePtr> pop_mark() {
    if (marks_.empty()) fail("pickle MARK missing");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyValuePtr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  PyValuePtr memo(uint64_t k) const {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail("pickle memo key " + std::to_string(k) + " missing");
    return it->second;
  }
  void set_item(const PyValuePtr& d, const PyValuePtr& k, const PyValuePtr& v) {
    if (d->kind == PyValue::Kind::Dict) {
      d->dict.emplace_back(k, v);
    } else if (d->kind == PyValue::Kind::Object) {  // OrderedDict-like objects
      d->dict.emplace_back(k, v);
    } else {
      fail("SETITEM on a " + d->repr(0));
    }
  }

  // Objects torch.save and numpy emit become plain values; anything else is kept as an Object.
  PyValuePtr reduce(const PyValue& fn, const PyValue& args) {
    const std::string& f = fn.s;
    if (f == "collections.OrderedDict" || f == "builtins.dict") return make(PyValue::Kind::Dict);
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      if (args.items.size() < 4 || !args.items[0]->is(PyValue::Kind::Storage)) fail("malformed tensor record");
      auto t = make(PyValue::Kind::Tensor);
      t->tensor = std::make_shared<TensorRef>(*args.items[0]->tensor);
      // Offset, sizes and strides are integers (a tuple of anything else would read as zeros); their values are
      // checked against the storage when the tensor is read (TorchCheckpoint::tensor).
      const auto ints = [&](const PyValue& v, std::vector<int64_t>& out) {
        if (!v.is(PyValue::Kind::Tuple) && !v.is(PyValue::Kind::List)) fail("malformed tensor record (sizes)");
        for (auto& s : v.items) {
          if (!s->is(PyValue::Kind::Int)) fail("malformed tensor record: size or stride " + s->repr(0));
          out.push_back(s->i);
        }
      };
      if (!args.items[1]->is(PyValue::Kind::Int)) fail("malformed tensor record: offset " + args.items[1]->repr(0));
      t->tensor->offset = args.items[1]->i;
      ints(*args.items[2], t->tensor->sizes);
      ints(*args.items[3], t->tensor->strides);
      return t;
    }
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      if (args.items.empty()) fail("malformed parameter record");
      return args.items[0];
    }
    if (f == "builtins.set" || f == "builtins.frozenset" || f == "builtins.list") {
      auto v = make(PyValue::Kind::List);
      if (!args.items.empty()) v->items = args.items[0]->items;
      return v;
    }
    if (f == "numpy.core.multiarray.scalar" || f == "numpy._core.multiarray.scalar") return numpy_scalar(args);
    auto o = make(PyValue::Kind::Object);
    o->s = f;
    o->items = args.items;
    return o;
  }

  void build(const PyValuePtr& obj, const PyValuePtr& st) {
    if (obj->kind == PyValue::Kind::Dict && st->kind == PyValue::Kind::Dict) {
      for (auto& kv : st->dict) obj->dict.push_back(kv);
      return;
    }
    obj->state = st;  // tensors' BUILD (metadata dicts) and objects' __setstate__
  }

  // numpy.core.multiarray.scalar(dtype, bytes): dtype is numpy.dtype('<f8', ...), kept as an Object.
  PyValuePtr numpy_scalar(const PyValue& args) {
    if (args.items.size() < 2) fail("malformed numpy scalar");
    const PyValue& dt = *args.items[0];
    std::string code = !dt.items.empty() ? dt.items[0]->s : "";
    const std::string& raw = args.items[1]->s;
    auto v = make(PyValue::Kind::Float);
    if (code == "f8" && raw.size() == 8) { std::memcpy(&v->f, raw.data(), 8); return v; }
    if (code == "f4" && raw.size() == 4) { float x; std::memcpy(&x, raw.data(), 4); v->f = x; return v; }
    if ((code == "i8" || code == "u8") && raw.size() == 8) {
      v->kind = PyValue::Kind::Int; std::memcpy(&v->i, raw.data(), 8); return v;
    }
    if ((code == "i4" || code == "u4") && raw.size() == 4) {
      int32_t x; std::memcpy(&x, raw.data(), 4);
      v->kind = PyValue::Kind::Int; v->i = code == "u4" ? int64_t(uint32_t(x)) : x; return v;
    }
    if (code == "b1" && raw.size() == 1) { v->kind = PyValue::Kind::Bool; v->b = raw[0] != 0; return v; }
    auto o = make(PyValue::Kind::Object);  // other dtypes: keep raw bytes
    o->s = "numpy.scalar:" + code;
    o->items = args.items;
    return o;
  }

  // torch.save's persistent id: ('storage', <StorageClass global>, key, location, numel).
  PyValuePtr persistent(const PyValue& pid) {
    if (pid.items.size() < 5 || pid.items[0]->s != "storage") fail("unsupported persistent id " + pid.repr());
    auto v = make(PyValue::Kind::Storage);
    auto ref = std::make_shared<TensorRef>();
    std::string cls = pid.items[1]->s;  // "torch.FloatStorage"
    auto dot = cls.rfind('.');
    std::string name = dot == std::string::npos ? cls : cls.substr(dot + 1);
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0) name.resize(name.size() - 7);
    ref->dtype = name;
    ref->storage_key = pid.items[2]->s;
    ref->location = pid.items[3]->s;
    if (!pid.items[4]->is(PyValue::Kind::Int)) fail("storage size is not an integer: " + pid.items[4]->repr(0));
    ref->storage_numel = pid.items[4]->i;
    v->tensor = ref;
    return v;
  }

  const std::string& d_;
  std::string what_;
  std::vector<PyValuePtr> created_;             // every value made, for the teardown in ~Unpickler
  std::unordered_set<const PyValue*> kept_;     // those the result reaches
  size_t pos_ = 0;
  std::vector<PyValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, PyValuePtr> memo_;
};

}  // namespace

const PyValue* PyValue::get(const std::string& key) const {
  for (auto& [k, v] : dict)
    if (k->kind == Kind::String && k->s == key) return v.get();
  return nullptr;
}

std::string PyValue::repr(int depth) const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return b ? "True" : "False";
    case Kind::Int: return std::to_string(i);
    case Kind::Float: { std::ostringstream os; os << f; return os.str(); }
    case Kind::String: return "'" + s + "'";
    case Kind::Bytes: return "bytes[" + std::to_string(s.size()) + "]";
    case Kind::Global: return s;
    case Kind::Object: return "<" + s + " object>";
    case Kind::Tensor: return "tensor(" + tensor->dtype + ")";
    case Kind::Storage: return "storage(" + tensor->dtype + ")";
    case Kind::Dict: return "dict[" + std::to_string(dict.size()) + "]";
    case Kind::List: case Kind::Tuple: {
      std::string out = kind == Kind::List ? "[" : "(";
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += ", ";
        if (depth <= 0 || k >= 6) { out += "..."; break; }
        out += items[k]->repr(depth - 1);
      }
      return out + (kind == Kind::List ? "]" : ")");
    }
  }
  return "?";
}

PyValuePtr unpickle(const std::string& data, const std::string& what) {
  Unpickler u(data, what);
  return u.result();
}

}  // namespace bmx
