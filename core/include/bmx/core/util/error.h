// Errors with the place at fault: file, record or token position. Libraries throw these; apps/ prints
// what() as one line and keeps going (batches) or exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace bmx {

// Something in an input (file, string, record) is wrong. what() is a complete one-line message.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The input is fine but bmx cannot do what was asked (unsupported config, missing model, ...).
struct UnsupportedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "file: message" / "file:record: message"; empty parts are left out.
std::string where(const std::string& file, const std::string& record = {});

[[noreturn]] void fail_input(const std::string& file, const std::string& message);
[[noreturn]] void fail_input(const std::string& file, const std::string& record, const std::string& message);

}  // namespace bmx
