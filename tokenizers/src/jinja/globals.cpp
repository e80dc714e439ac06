// The global functions chat templates call: namespace(), range(), raise_exception() and dict(), as a
// table name -> function. They are reached only when no variable of that name is set.
#include <string_view>
#include <unordered_map>

#include "jinja/builtins.h"
#include "jinja/error.h"

namespace bmx::jinja {
namespace {

using Global = Value (*)(const Args& args, int line);

// namespace(d, k=v): the mutable object that `set ns.k = ...` writes across loop scopes.
Value make_namespace(const Args& args, int) {
  Value v;
  v.kind = Value::Namespace;
  v.ns = std::make_shared<ojson>(ojson::object());
  for (auto& a : args.positional)
    if (a.kind == Value::Json && a.j.is_object()) v.ns->update(a.j);
  for (auto& kv : args.keyword) (*v.ns)[kv.first] = kv.second.kind == Value::Json ? kv.second.j : ojson();
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
  ojson r = ojson::array();
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) r.push_back(i);
  return Value::of(r);
}

// What transformers provides for templates to reject a conversation; the message has no line, as there.
Value raise_exception(const Args& args, int) {
  const std::vector<Value>& a = args.positional;
  throw InputError("chat template: " + (a.empty() ? std::string("error") : to_str(a[0])));
}

Value dict(const Args& args, int) {
  ojson r = ojson::object();
  for (auto& kv : args.keyword) r[kv.first] = kv.second.kind == Value::Json ? kv.second.j : ojson();
  return Value::of(r);
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
