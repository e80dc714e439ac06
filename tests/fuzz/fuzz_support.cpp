#include "fuzz_support.h"

#include <unistd.h>

#include <fstream>
#include <system_error>

namespace bmx::fuzz {

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("BMX_SHARED"); env && *env) return env;
  return BMX_SHARED_DEFAULT;
}

std::filesystem::path shared_file(const std::string& relative) {
  auto path = shared_dir() / relative;
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "bmx fuzz: %s is missing (set BMX_SHARED to the reference folder)\n", path.c_str());
    std::abort();
  }
  return path;
}

namespace {
struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("bmx-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};
}  // namespace

std::filesystem::path scratch_dir() {
  static Scratch scratch;
  return scratch.dir;
}

std::string scratch_file(const std::string& name, std::string_view bytes) {
  const std::string path = (scratch_dir() / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "bmx fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

}  // namespace bmx::fuzz
