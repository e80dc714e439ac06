#include "jinja/pyformat.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace bmx::jinja {

using ojson = nlohmann::ordered_json;

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  size_t e = s.find('e');
  if (e != std::string::npos) {
    // Python writes 1e-05 / 1e+20: at least two exponent digits, which %g also gives.
    return s;
  }
  if (s.find('.') == std::string::npos && s.find("inf") == std::string::npos) s += ".0";
  return s;
}

void py_repr(std::string& out, const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
      out += q;
      for (char c : s) {
        if (c == q || c == '\\') { out += '\\'; out += c; }
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else out += c;
      }
      out += q;
      return;
    }
    case ojson::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ", ";
        py_repr(out, v[i]);
      }
      out += ']';
      return;
    }
    case ojson::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        py_repr(out, ojson(it.key()));
        out += ": ";
        py_repr(out, it.value());
      }
      out += '}';
      return;
    }
    case ojson::value_t::null: out += "None"; return;
    case ojson::value_t::boolean: out += v.get<bool>() ? "True" : "False"; return;
    case ojson::value_t::number_float: out += float_repr(v.get<double>()); return;
    default: out += v.dump(); return;
  }
}

namespace {

// A JSON string literal with non-ASCII written as is (ensure_ascii=False).
void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

}  // namespace

void py_dumps(std::string& out, const ojson& v, int indent, int depth) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(size_t(indent * d), ' ');
  };
  switch (v.type()) {
    case ojson::value_t::object: {
      if (v.empty()) { out += "{}"; return; }
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        json_string(out, it.key());
        out += ": ";
        py_dumps(out, it.value(), indent, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    case ojson::value_t::array: {
      if (v.empty()) { out += "[]"; return; }
      out += '[';
      bool first = true;
      for (const auto& x : v) {
        if (!first) out += indent >= 0 ? "," : ", ";
        first = false;
        if (indent >= 0) newline(depth + 1);
        py_dumps(out, x, indent, depth + 1);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case ojson::value_t::string: json_string(out, v.get_ref<const std::string&>()); return;
    case ojson::value_t::number_float: out += float_repr(v.get<double>()); return;
    default: out += v.dump(); return;
  }
}

}  // namespace bmx::jinja
