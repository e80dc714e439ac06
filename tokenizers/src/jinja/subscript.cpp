#include "jinja/subscript.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "jinja/error.h"
#include "jinja/text.h"

namespace bmx::jinja {

Value attribute(const Value& obj, const std::string& name) {
  if (obj.kind == Value::Namespace) {
    auto it = obj.ns->find(name);
    return it == obj.ns->end() ? Value{} : Value::of(*it);
  }
  if (obj.kind == Value::Json) {
    if (obj.j.is_object()) {
      auto it = obj.j.find(name);
      if (it != obj.j.end()) return Value::of(*it);
    } else if (obj.j.is_array() && !name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      size_t k = std::stoul(name);
      if (k < obj.j.size()) return Value::of(obj.j[k]);
    }
  }
  return Value{};
}

Value item(const Value& obj, const Value& key) {
  if (obj.kind == Value::Namespace && key.is_string()) return attribute(obj, key.j.get<std::string>());
  if (obj.kind != Value::Json || key.kind != Value::Json) return Value{};
  if (obj.j.is_object()) {
    if (!key.j.is_string()) return Value{};
    auto it = obj.j.find(key.j.get<std::string>());
    return it == obj.j.end() ? Value{} : Value::of(*it);
  }
  if (obj.j.is_array() || obj.j.is_string()) {
    if (!key.j.is_number_integer()) return Value{};
    int64_t k = key.j.get<int64_t>();
    if (obj.j.is_array()) {
      int64_t len = int64_t(obj.j.size());
      if (k < 0) k += len;
      if (k < 0 || k >= len) return Value{};
      return Value::of(obj.j[size_t(k)]);
    }
    auto cps = code_points(obj.j.get_ref<const std::string&>());
    int64_t len = int64_t(cps.size());
    if (k < 0) k += len;
    if (k < 0 || k >= len) return Value{};
    return Value::of(cps[size_t(k)]);
  }
  return Value{};
}

Value slice(const Value& obj, std::optional<int64_t> a, std::optional<int64_t> b, std::optional<int64_t> st,
            int line) {
  int64_t step = st.value_or(1);
  if (step == 0) fail(line, "slice step cannot be zero");
  bool is_str = obj.is_string();
  std::vector<ojson> items;
  if (is_str) {
    for (auto& c : code_points(obj.j.get<std::string>())) items.push_back(c);
  } else if (obj.kind == Value::Json && obj.j.is_array()) {
    items.assign(obj.j.begin(), obj.j.end());
  } else {
    fail(line, "cannot slice this value");
  }
  int64_t len = int64_t(items.size());
  auto norm = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + len : *v;
    return std::clamp(x, lo, hi);
  };
  int64_t start, stop;
  if (step > 0) {
    start = norm(a, 0, 0, len);
    stop = norm(b, len, 0, len);
  } else {
    start = norm(a, len - 1, -1, len - 1);
    stop = norm(b, -1, -1, len - 1);
  }
  ojson res = ojson::array();
  std::string sres;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (is_str) sres += items[size_t(i)].get<std::string>();
    else res.push_back(items[size_t(i)]);
  }
  return is_str ? Value::of(sres) : Value::of(res);
}

}  // namespace bmx::jinja
