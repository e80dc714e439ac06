// The global functions chat templates call: namespace(), range(), raise_exception() and dict(), as a
// table name -> function. They are reached only when no variable of that name is set.
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "jinja/builtins.h"
#include "jinja/error.h"
#include "jinja/limits.h"

namespace bmx::jinja {
namespace {

using Global = Value (*)(const Args& args, int line);

// namespace(d, k=v): the mutable object that `set ns.k = ...` writes across loop scopes.
Value make_namespace(const Args& args, int line) {
  Value v;
  v.kind = Value::Namespace;
  v.ns = std::make_shared<ojson>(ojson::object());
  for (auto& a : args.positional)
    if (a.kind == Value::Json && a.j.is_object()) v.ns->update(a.j);
  for (auto& kv : args.keyword) (*v.ns)[kv.first] = kv.second.kind == Value::Json ? kv.second.j : ojson();
  made(Value::of(*v.ns), line);
  return v;
}

Value range(const Args& args, int line) {
  const std::vector<Value>& a = args.positional;
  int64_t start = 0, stop, step = 1;
  if (a.size() == 1) stop = as_int(a[0], line, "range");
  else if (a.size() >= 2) {
    start = as_int(a[0], line, "range");
    stop = as_int(a[1], line, "range");
    if (a.size() > 2) step = as_int(a[2], line, "range");
  } else fail(line, "range() needs arguments");
  if (step == 0) fail(line, "range() step cannot be zero");
  // The length first, in 128 bits so range(-2**63, 2**63-1) cannot overflow; range(10**9) is refused
  // before anything is allocated.
  __int128 span = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  __int128 n = span <= 0 ? 0 : (span + (step > 0 ? step : -__int128(step)) - 1) / (step > 0 ? step : -__int128(step));
  check_item_count(n > INT64_MAX ? INT64_MAX : int64_t(n), line);
  ojson r = ojson::array();
  for (int64_t k = 0, i = start; k < int64_t(n); ++k, i += step) r.push_back(i);
  return made(Value::of(std::move(r)), line);
}

// What transformers provides for templates to reject a conversation; the message has no line, as there.
Value raise_exception(const Args& args, int) {
  const std::vector<Value>& a = args.positional;
  throw InputError("chat template: " + (a.empty() ? std::string("error") : to_str(a[0])));
}

Value dict(const Args& args, int line) {
  ojson r = ojson::object();
  for (auto& kv : args.keyword) r[kv.first] = kv.second.kind == Value::Json ? kv.second.j : ojson();
  return made(Value::of(std::move(r)), line);
}

const std::unordered_map<std::string_view, Global> kGlobals = {
    {"namespace", make_namespace}, {"range", range}, {"raise_exception", raise_exception}, {"dict", dict},
};

}  // namespace

Value call_global(const std::string& name, const Args& args, int line) {
  auto it = kGlobals.find(name);
  if (it == kGlobals.end()) fail(line, "unknown function " + name + "()");
  return it->second(args, line);
}

}  // namespace bmx::jinja
