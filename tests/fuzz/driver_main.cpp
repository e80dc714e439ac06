// The plain-program form of a fuzz target (builds without libFuzzer, e.g. gcc in CI): runs
// LLVMFuzzerTestOneInput once on every file of the folders and files given, in name order, so each target's seed
// corpus and its regressions are a CTest test. An argument "shared:REL" is REL inside the reference folder
// ($BMX_SHARED, else the configured default), resolved when the test runs. A crash, a sanitizer report or a failed
// invariant ends the program abnormally; after the last input it prints how many ran and the slowest.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    fs::path path = arg.rfind("shared:", 0) == 0 ? bmx::fuzz::shared_dir() / arg.substr(7) : fs::path(arg);
    if (fs::is_directory(path)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(path))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (fs::is_regular_file(path)) {
      inputs.push_back(path);
    } else {
      std::fprintf(stderr, "%s: no such file or folder\n", path.c_str());
      return 2;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE... (no input found)\n", argv[0]);
    return 2;
  }
  double slowest = 0, total = 0;
  fs::path slowest_input;
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy of exactly the input's size, as libFuzzer hands it over, so ASan sees a read past the end.
    auto* data = new uint8_t[bytes.size() ? bytes.size() : 1];
    std::copy(bytes.begin(), bytes.end(), data);
    const auto t0 = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(data, bytes.size());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    delete[] data;
    total += s;
    if (s > slowest) slowest = s, slowest_input = path;
  }
  std::printf("%zu inputs in %.2f s; slowest %.3f s: %s\n", inputs.size(), total, slowest, slowest_input.c_str());
  return 0;
}
