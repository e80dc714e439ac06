#include "serve/api_request.h"

#include <cmath>

#include "bmx/core/io/json_file.h"
#include "bmx/core/io/json_sax.h"

namespace bmx::app::serve {

using nlohmann::json;

const char* error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string error_body(int status, const std::string& message, const std::string& param) {
  json e;
  e["message"] = message;
  e["type"] = error_type(status);
  e["param"] = param.empty() ? json(nullptr) : json(param);
  e["code"] = status;
  return json{{"error", e}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_body(const std::string& body) {
  json j;
  try {
    j = parse_json(body);
  } catch (const json::parse_error& e) {  // the parser's own words: where and what, or the nesting limit
    throw ApiError(400, "the request body is not valid JSON: " + json_error_text(e));
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object");
  return j;
}

namespace {
const json* field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}
std::string range_text(double lo, double hi) {
  auto num = [](double x) {
    std::string s = json(x).dump();
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
  };
  return "[" + num(lo) + ", " + num(hi) + "]";
}
}  // namespace

std::optional<double> number_field(const json& j, const char* name, double lo, double hi) {
  const json* f = field(j, name);
  if (!f) return std::nullopt;
  if (!f->is_number()) throw ApiError(400, std::string("'") + name + "' must be a number", name);
  const double v = f->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw ApiError(400, std::string("'") + name + "' is " + f->dump() + ", outside " + range_text(lo, hi), name);
  return v;
}

std::optional<int64_t> integer_field(const json& j, const char* name, int64_t lo, int64_t hi) {
  const json* f = field(j, name);
  if (!f) return std::nullopt;
  if (!f->is_number_integer())
    throw ApiError(400, std::string("'") + name + "' must be an integer", name);
  if (f->is_number_unsigned() ? f->get<uint64_t>() > uint64_t(hi) : (f->get<int64_t>() < lo || f->get<int64_t>() > hi))
    throw ApiError(400, std::string("'") + name + "' is " + f->dump() + ", outside " + range_text(double(lo), double(hi)),
                   name);
  return f->get<int64_t>();
}

std::optional<bool> bool_field(const json& j, const char* name) {
  const json* f = field(j, name);
  if (!f) return std::nullopt;
  if (!f->is_boolean()) throw ApiError(400, std::string("'") + name + "' must be true or false", name);
  return f->get<bool>();
}

std::optional<std::string> string_field(const json& j, const char* name, size_t max_bytes) {
  const json* f = field(j, name);
  if (!f) return std::nullopt;
  if (!f->is_string()) throw ApiError(400, std::string("'") + name + "' must be a string", name);
  if (f->get_ref<const std::string&>().size() > max_bytes)
    throw ApiError(400, std::string("'") + name + "' is longer than " + std::to_string(max_bytes) + " bytes", name);
  return f->get<std::string>();
}

std::string required_string(const json& j, const char* name) {
  auto s = string_field(j, name);
  if (!s) throw ApiError(400, std::string("'") + name + "' is required", name);
  return *s;
}

std::vector<std::string> stop_field(const json& j, size_t max) {
  const json* f = field(j, "stop");
  if (!f) return {};
  std::vector<std::string> out;
  if (f->is_string()) {
    out.push_back(f->get<std::string>());
  } else if (f->is_array()) {
    if (f->size() > max) throw ApiError(400, "'stop' has more than " + std::to_string(max) + " strings", "stop");
    for (const json& s : *f) {
      if (!s.is_string()) throw ApiError(400, "'stop' must be a string or an array of strings", "stop");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw ApiError(400, "'stop' must be a string or an array of strings", "stop");
  }
  for (const auto& s : out)
    if (s.empty() || s.size() > 1000) throw ApiError(400, "a 'stop' string must have 1 to 1000 bytes", "stop");
  return out;
}

SamplingRequest sampling_request(const json& j, int64_t vocab, int max_n) {
  SamplingRequest r;
  r.temperature = number_field(j, "temperature", 0, 100);
  r.top_p = number_field(j, "top_p", 0, 1);
  r.min_p = number_field(j, "min_p", 0, 1);
  r.repetition_penalty = number_field(j, "repetition_penalty", 1e-6, 100);
  r.top_k = integer_field(j, "top_k", 0, vocab);
  r.max_tokens = integer_field(j, "max_completion_tokens", 0, int64_t(1) << 30);
  if (auto m = integer_field(j, "max_tokens", 0, int64_t(1) << 30)) r.max_tokens = m;
  r.seed = integer_field(j, "seed", INT64_MIN, INT64_MAX);
  const int64_t n = integer_field(j, "n", INT64_MIN, INT64_MAX).value_or(1);
  if (n < 1 || n > max_n)
    throw ApiError(400, "'n' is " + std::to_string(n) + ": a request may ask for 1 to " + std::to_string(max_n) +
                            " choices", "n");
  r.n = int(n);
  r.stop = stop_field(j);
  r.stream = bool_field(j, "stream").value_or(false);
  if (const auto it = j.find("stream_options"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw ApiError(400, "'stream_options' must be an object", "stream_options");
    r.include_usage = bool_field(*it, "include_usage").value_or(false);
  }
  return r;
}

nlohmann::ordered_json chat_messages(const json& j) {
  const auto it = j.find("messages");
  if (it == j.end() || !it->is_array() || it->empty())
    throw ApiError(400, "'messages' must be a non-empty array of {role, content}", "messages");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const json& m : *it) {
    if (!m.is_object()) throw ApiError(400, "each message must be an object with 'role' and 'content'", "messages");
    const std::string role = required_string(m, "role");
    if (role != "system" && role != "user" && role != "assistant" && role != "developer")
      throw ApiError(400, "message role '" + role + "' is not one of system, developer, user, assistant", "messages");
    std::string content;
    const auto c = m.find("content");
    if (c == m.end() || c->is_null()) {
      content = "";
    } else if (c->is_string()) {
      content = c->get<std::string>();
    } else if (c->is_array()) {
      for (const json& part : *c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          throw ApiError(400, "message content parts must be {\"type\": \"text\", \"text\": ...}", "messages");
        content += part["text"].get<std::string>();
      }
    } else {
      throw ApiError(400, "message 'content' must be a string or an array of text parts", "messages");
    }
    nlohmann::ordered_json o;
    o["role"] = role == "developer" ? "system" : role;
    o["content"] = content;
    out.push_back(o);
  }
  return out;
}

}  // namespace bmx::app::serve
