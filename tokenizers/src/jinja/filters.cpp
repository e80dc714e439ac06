// Jinja filters (x | name(args)), as a table name -> function. Filters that are also string or dict
// methods share their code with methods.cpp through text.h or call_method.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>
#include <unordered_map>

#include "jinja/builtins.h"
#include "jinja/error.h"
#include "jinja/limits.h"
#include "jinja/pyformat.h"
#include "jinja/text.h"

namespace bmx::jinja {
namespace {

using Filter = Value (*)(const Value& v, const Args& args, int line);

Value length(const Value& v, const Args&, int line) {
  if (v.kind != Value::Json) return Value::of(0);
  if (v.j.is_string()) return Value::of(int64_t(code_points(v.j.get<std::string>()).size()));
  if (v.j.is_array() || v.j.is_object()) return Value::of(int64_t(v.j.size()));
  fail(line, "length of a " + std::string(v.j.type_name()));
}

Value tojson(const Value& v, const Args& args, int line) {
  if (v.kind == Value::Namespace) fail(line, "tojson of a namespace");
  const Value* ind = args.get("indent", 0);
  int64_t indent = ind && ind->kind == Value::Json && ind->j.is_number() ? as_int(*ind, line, "indent") : -1;
  if (indent > Limits::kIndent)
    fail(line, "tojson indent " + std::to_string(indent) + " is over the limit of " + std::to_string(Limits::kIndent));
  std::string s;
  py_dumps(s, v.kind == Value::Json ? v.j : ojson(), int(indent));
  return made(Value::of(std::move(s)), line);
}

Value string(const Value& v, const Args&, int line) { return made(Value::of(to_str(v)), line); }
Value safe(const Value& v, const Args&, int) { return v; }

Value trim(const Value& v, const Args& args, int) {
  const Value* chars = args.get("chars", 0);
  return Value::of(strip_chars(to_str(v), chars && chars->is_string() ? &chars->j.get_ref<const std::string&>() : nullptr, true, true));
}

Value upper(const Value& v, const Args&, int) { return Value::of(ascii_upper(to_str(v))); }
Value lower(const Value& v, const Args&, int) { return Value::of(ascii_lower(to_str(v))); }
Value capitalize_filter(const Value& v, const Args&, int) { return Value::of(capitalize(to_str(v))); }
Value title_filter(const Value& v, const Args&, int) { return Value::of(title(to_str(v))); }

// default(value, boolean=false): the fallback for undefined, or for any falsy value when boolean is set.
Value default_value(const Value& v, const Args& args, int) {
  const Value* dflt = args.get("default_value", 0);
  const Value* boolean = args.get("boolean", 1);
  bool use = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
  return use ? (dflt ? *dflt : Value::of("")) : v;
}

Value join(const Value& v, const Args& args, int line) {
  const Value* sep = args.get("d", 0);
  std::string s, d = sep ? to_str(*sep) : "";
  if (v.kind == Value::Json && v.j.is_array()) {
    bool first = true;
    for (auto& x : v.j) {
      if (!first) s += d;
      first = false;
      s += to_str(Value::of(x));
      check_string_size(s.size(), line);  // a million items joined by a long separator
    }
  }
  return made(Value::of(std::move(s)), line);
}

// first / last of a list or (by code point) a string; undefined when empty.
Value end_item(const Value& v, bool first, int line) {
  if (v.kind == Value::Json && v.j.is_array()) {
    if (v.j.empty()) return Value{};
    return Value::of(first ? v.j.front() : v.j.back());
  }
  if (v.is_string()) {
    auto cps = code_points(v.j.get<std::string>());
    if (cps.empty()) return Value{};
    return Value::of(first ? cps.front() : cps.back());
  }
  fail(line, std::string(first ? "first" : "last") + " of a non-sequence");
}
Value first(const Value& v, const Args&, int line) { return end_item(v, true, line); }
Value last(const Value& v, const Args&, int line) { return end_item(v, false, line); }

Value list(const Value& v, const Args&, int line) {
  if (v.kind == Value::Json && v.j.is_array()) return v;
  if (v.is_string()) {
    ojson r = ojson::array();
    for (auto& c : code_points(v.j.get<std::string>())) r.push_back(c);
    return Value::of(r);
  }
  if (v.kind == Value::Json && v.j.is_object()) return call_method(v, "keys", {}, line);
  fail(line, "list of a non-sequence");
}

Value reverse(const Value& v, const Args&, int line) {
  if (v.is_string()) {
    auto cps = code_points(v.j.get<std::string>());
    std::string r;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) r += *it;
    return Value::of(r);
  }
  if (v.kind == Value::Json && v.j.is_array()) {
    ojson r = ojson::array();
    for (auto it = v.j.rbegin(); it != v.j.rend(); ++it) r.push_back(*it);
    return Value::of(r);
  }
  fail(line, "reverse of a non-sequence");
}

Value items(const Value& v, const Args&, int line) { return call_method(v, "items", {}, line); }

// int / float: numbers convert, strings parse, anything else (and a string that does not parse) is 0.
Value to_int(const Value& v, const Args&, int line) {
  if (v.kind == Value::Json && v.j.is_number()) return Value::of(as_int(v, line, "int"));
  if (v.is_string()) {
    try { return Value::of(int64_t(std::stoll(v.j.get<std::string>()))); } catch (...) { return Value::of(0); }
  }
  return Value::of(0);
}

Value to_float(const Value& v, const Args&, int) {
  if (v.kind == Value::Json && v.j.is_number()) return Value::of(v.j.get<double>());
  if (v.is_string()) {
    try { return Value::of(std::stod(v.j.get<std::string>())); } catch (...) { return Value::of(0.0); }
  }
  return Value::of(0.0);
}

Value abs(const Value& v, const Args&, int line) {
  if (v.kind != Value::Json || !v.j.is_number()) fail(line, "abs of a non-number");
  if (v.j.is_number_float()) return Value::of(std::fabs(v.j.get<double>()));
  if (v.j.get<int64_t>() == INT64_MIN) fail(line, "integer overflow in abs (the limit is 64 bits)");
  return Value::of(std::llabs(v.j.get<int64_t>()));
}

Value replace_filter(const Value& v, const Args& args, int line) {
  const std::vector<Value>& a = args.positional;
  if (a.size() < 2) fail(line, "replace needs two arguments");
  std::string s = to_str(v), from = to_str(a[0]), to = to_str(a[1]);
  int64_t count = a.size() > 2 ? as_int(a[2], line, "replace count") : -1;
  return made(Value::of(replace_all(s, from, to, count, line)), line);
}

Value unique(const Value& v, const Args&, int line) {
  if (v.kind != Value::Json || !v.j.is_array()) fail(line, "unique of a non-list");
  // A set of keys, not a scan of the kept items: unique over range(10**6) would take 10**12 comparisons.
  // Numbers key by value, so 1 and 1.0 are one item (as JSON's == and Python's set see them).
  std::set<std::string> seen;
  ojson r = ojson::array();
  for (auto& x : v.j) {
    const std::string key = x.is_number() && !x.is_boolean() ? "#" + ojson(x.get<double>()).dump() : x.dump();
    if (seen.insert(key).second) r.push_back(x);
  }
  return made(Value::of(std::move(r)), line);
}

const std::unordered_map<std::string_view, Filter> kFilters = {
    {"length", length}, {"count", length},   {"tojson", tojson},
    {"string", string}, {"safe", safe},      {"trim", trim},
    {"upper", upper},   {"lower", lower},    {"capitalize", capitalize_filter},
    {"title", title_filter},                 {"default", default_value},
    {"d", default_value},                    {"join", join},
    {"first", first},   {"last", last},      {"list", list},
    {"reverse", reverse},                    {"items", items},
    {"int", to_int},    {"float", to_float}, {"abs", abs},
    {"replace", replace_filter},             {"unique", unique},
};

}  // namespace

Value call_filter(const std::string& name, const Value& v, const Args& args, int line) {
  auto it = kFilters.find(name);
  if (it == kFilters.end()) fail(line, "unknown filter '" + name + "'");
  return it->second(v, args, line);
}

}  // namespace bmx::jinja
