// Where the tests find ../shared (or $BMX_SHARED). A missing file fails the test: CI has the folder.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace bmx::test {

std::filesystem::path shared_dir();
// Path of a file under shared/; throws (failing the test) when it does not exist.
std::filesystem::path shared_file(const std::string& relative);
// Every line of a text file (for JSONL vectors).
std::vector<std::string> read_lines(const std::filesystem::path& path);
std::string read_file(const std::filesystem::path& path);
// One JSON value per non-empty line (JSONL text, e.g. what bmx writes).
std::vector<nlohmann::json> json_lines(const std::string& text);
// The same for a JSONL file under shared/.
std::vector<nlohmann::json> shared_jsonl(const std::string& relative);
// The built bmx executable, and a scratch folder per test run.
std::filesystem::path bmx_exe();
std::filesystem::path scratch_dir(const std::string& name);
// Runs a shell command; returns exit status, captures stdout (and stderr when merge_stderr).
int run(const std::string& command, std::string* output = nullptr, bool merge_stderr = false);

}  // namespace bmx::test
