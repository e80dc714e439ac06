// bmx serve: reading request bodies. Every problem is an ApiError (HTTP status + one line for the client), sent
// back in OpenAI's error shape ({"error": {"message", "type", "param", "code"}}); nothing a client sends reaches a
// library's internals (a nlohmann exception text, a crash, an unbounded allocation).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bmx::app::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string param;  // the request field at fault, or ""
  int retry_after = 0;  // seconds, for 503
  ApiError(int status, const std::string& message, std::string param = {})
      : std::runtime_error(message), status(status), param(std::move(param)) {}
};

// OpenAI's "type" for an HTTP status: invalid_request_error, authentication_error, not_found_error, ...
const char* error_type(int status);
// {"error": {"message", "type", "param", "code"}} as text.
std::string error_body(int status, const std::string& message, const std::string& param = {});

// The body as a JSON object; 400 naming the byte where parsing failed, or that it is not an object.
nlohmann::json parse_body(const std::string& body);

// Optional fields of `j`, checked: the wrong JSON type or a value outside [lo, hi] is a 400 naming the field.
std::optional<double> number_field(const nlohmann::json& j, const char* name, double lo, double hi);
std::optional<int64_t> integer_field(const nlohmann::json& j, const char* name, int64_t lo, int64_t hi);
std::optional<bool> bool_field(const nlohmann::json& j, const char* name);
std::optional<std::string> string_field(const nlohmann::json& j, const char* name, size_t max_bytes = 1 << 24);
// A required string field.
std::string required_string(const nlohmann::json& j, const char* name);
// `stop`: a string or an array of at most `max` non-empty strings.
std::vector<std::string> stop_field(const nlohmann::json& j, size_t max = 16);

// What /v1/chat/completions and /v1/completions share, checked.
struct SamplingRequest {
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<int64_t> top_k, max_tokens, seed;
  int n = 1;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
};
// `vocab`: the model's vocabulary size (top_k's bound); `max_n`: the most choices one request may ask for.
SamplingRequest sampling_request(const nlohmann::json& j, int64_t vocab, int max_n);

// The messages of a chat request as {role, content} objects (content: a string, or OpenAI's array of
// {"type": "text", "text"} parts, joined).
nlohmann::ordered_json chat_messages(const nlohmann::json& j);

}  // namespace bmx::app::serve
