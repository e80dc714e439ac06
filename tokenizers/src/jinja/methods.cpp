// Python methods that chat templates call on strings (s.startswith(...)) and dicts (d.items()), as
// tables name -> function, one per receiver type.
#include <cctype>
#include <string_view>
#include <unordered_map>

#include "jinja/builtins.h"
#include "jinja/error.h"
#include "jinja/limits.h"
#include "jinja/subscript.h"
#include "jinja/text.h"

namespace bmx::jinja {
namespace {

using Method = Value (*)(const Value& self, const std::vector<Value>& args, int line);
using Positional = std::vector<Value>;  // tests and methods take positional arguments only

const std::string& str(const Value& self) { return self.j.get_ref<const std::string&>(); }

const std::string& str_arg(const Value& v, int line, const char* what) {
  if (!v.is_string()) fail(line, std::string(what) + " needs a string");
  return v.j.get_ref<const std::string&>();
}

// The optional `chars` argument of strip and the separator of split: null when absent or not a string.
const std::string* opt_str(const Positional& args, size_t k) {
  return args.size() > k && args[k].is_string() ? &args[k].j.get_ref<const std::string&>() : nullptr;
}

// startswith / endswith take one string or a list of them.
bool has_affix(const Value& self, const Positional& args, int line, const char* name, bool prefix) {
  const std::string& s = str(self);
  if (args.empty()) fail(line, std::string(name) + "() needs an argument");
  std::vector<std::string> affixes;
  if (args[0].kind == Value::Json && args[0].j.is_array())
    for (auto& x : args[0].j) affixes.push_back(x.get<std::string>());
  else affixes.push_back(str_arg(args[0], line, name));
  for (auto& p : affixes) {
    if (prefix ? s.compare(0, p.size(), p) == 0
               : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)
      return true;
  }
  return false;
}
Value startswith(const Value& self, const Positional& args, int line) {
  return Value::of(has_affix(self, args, line, "startswith", true));
}
Value endswith(const Value& self, const Positional& args, int line) {
  return Value::of(has_affix(self, args, line, "endswith", false));
}

Value strip(const Value& self, const Positional& args, int) { return Value::of(strip_chars(str(self), opt_str(args, 0), true, true)); }
Value lstrip(const Value& self, const Positional& args, int) { return Value::of(strip_chars(str(self), opt_str(args, 0), true, false)); }
Value rstrip(const Value& self, const Positional& args, int) { return Value::of(strip_chars(str(self), opt_str(args, 0), false, true)); }
Value upper(const Value& self, const Positional&, int) { return Value::of(ascii_upper(str(self))); }
Value lower(const Value& self, const Positional&, int) { return Value::of(ascii_lower(str(self))); }
Value title_method(const Value& self, const Positional&, int) { return Value::of(title(str(self))); }
Value capitalize_method(const Value& self, const Positional&, int) { return Value::of(capitalize(str(self))); }

// s.split(sep, maxsplit) with Python's rules: without sep, runs of whitespace separate and ends are dropped.
ojson split_on(const std::string& s, const std::string& sep, int64_t maxsplit, int line) {
  if (sep.empty()) fail(line, "split() with an empty separator");
  ojson parts = ojson::array();
  size_t start = 0;
  while (true) {
    size_t k = maxsplit == 0 ? std::string::npos : s.find(sep, start);
    if (k == std::string::npos) {
      parts.push_back(s.substr(start));
      break;
    }
    parts.push_back(s.substr(start, k - start));
    start = k + sep.size();
    if (maxsplit > 0) --maxsplit;
  }
  return parts;
}
ojson split_on_space(const std::string& s, int64_t maxsplit) {
  ojson parts = ojson::array();
  size_t i = 0;
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    if (maxsplit == 0) {
      parts.push_back(strip_chars(s.substr(i), nullptr, false, true));
      break;
    }
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    parts.push_back(s.substr(i, j - i));
    if (maxsplit > 0) --maxsplit;
    i = j;
  }
  return parts;
}
Value split(const Value& self, const Positional& args, int line) {
  const std::string* sep = opt_str(args, 0);
  int64_t maxsplit = args.size() > 1 ? as_int(args[1], line, "maxsplit") : -1;
  return made(Value::of(sep ? split_on(str(self), *sep, maxsplit, line) : split_on_space(str(self), maxsplit)), line);
}

Value replace_method(const Value& self, const Positional& args, int line) {
  if (args.size() < 2) fail(line, "replace() needs two arguments");
  std::string from = to_str(args[0]), to = to_str(args[1]);
  int64_t count = args.size() > 2 ? as_int(args[2], line, "replace count") : -1;
  return made(Value::of(replace_all(str(self), from, to, count, line)), line);
}

Value find(const Value& self, const Positional& args, int line) {
  size_t k = str(self).find(str_arg(args.at(0), line, "find()"));
  return Value::of(k == std::string::npos ? int64_t(-1) : int64_t(k));
}

Value count(const Value& self, const Positional& args, int line) {
  const std::string& s = str(self);
  const std::string& sub = str_arg(args.at(0), line, "count()");
  int64_t c = 0;
  for (size_t k = s.find(sub); !sub.empty() && k != std::string::npos; k = s.find(sub, k + sub.size())) ++c;
  return Value::of(c);
}

const std::unordered_map<std::string_view, Method> kStringMethods = {
    {"startswith", startswith}, {"endswith", endswith}, {"strip", strip},
    {"lstrip", lstrip},         {"rstrip", rstrip},     {"upper", upper},
    {"lower", lower},           {"title", title_method}, {"capitalize", capitalize_method},
    {"split", split},           {"replace", replace_method}, {"find", find},
    {"count", count},
};

// items() as a list of [key, value] pairs, which for-loops unpack.
Value items(const Value& self, const Positional&, int) {
  ojson r = ojson::array();
  for (auto it = self.j.begin(); it != self.j.end(); ++it) r.push_back(ojson::array({it.key(), it.value()}));
  return Value::of(r);
}
Value keys(const Value& self, const Positional&, int) {
  ojson r = ojson::array();
  for (auto it = self.j.begin(); it != self.j.end(); ++it) r.push_back(ojson(it.key()));
  return Value::of(r);
}
Value values(const Value& self, const Positional&, int) {
  ojson r = ojson::array();
  for (auto it = self.j.begin(); it != self.j.end(); ++it) r.push_back(it.value());
  return Value::of(r);
}
Value get(const Value& self, const Positional& args, int line) {
  if (args.empty()) fail(line, "get() needs a key");
  Value v = item(self, args[0]);
  if (v.is_undefined()) return args.size() > 1 ? args[1] : Value::of(nullptr);
  return v;
}

const std::unordered_map<std::string_view, Method> kDictMethods = {
    {"items", items}, {"keys", keys}, {"values", values}, {"get", get},
};

}  // namespace

Value call_method(const Value& self, const std::string& name, const std::vector<Value>& args, int line) {
  const std::unordered_map<std::string_view, Method>* table = nullptr;
  if (self.is_string()) table = &kStringMethods;
  else if (self.kind == Value::Json && self.j.is_object()) table = &kDictMethods;
  if (table) {
    auto it = table->find(name);
    if (it != table->end()) return it->second(self, args, line);
  }
  fail(line, "unknown method " + name + "()");
}

}  // namespace bmx::jinja
