#include "torch_part.h"

#include <dlfcn.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

namespace bmx::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPluginFile = "bmx_torch.so";

// Where bmx_torch.so may be: beside the program (a build folder), <prefix>/<libdir>/bmx/ relative to it (an
// installed bmx moved as a whole), and where `cmake --install` put it.
std::vector<fs::path> plugin_candidates() {
  std::vector<fs::path> out;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / kPluginFile);
#ifdef BMX_PLUGIN_RELATIVE_DIR
    out.push_back(exe.parent_path().parent_path() / BMX_PLUGIN_RELATIVE_DIR / kPluginFile);
#endif
  }
#ifdef BMX_PLUGIN_INSTALL_DIR
  out.push_back(fs::path(BMX_PLUGIN_INSTALL_DIR) / kPluginFile);
#endif
  return out;
}

const TorchPart* loaded = nullptr;

}  // namespace

bool torch_part_loaded() { return loaded != nullptr; }

const TorchPart& torch_part(const std::string& needed_by) {
  if (loaded) return *loaded;
  std::string looked;
  for (const fs::path& p : plugin_candidates()) {
    std::error_code ec;
    looked += (looked.empty() ? "" : ", ") + p.string();
    if (!fs::is_regular_file(p, ec)) continue;
    // RTLD_NOW: a library missing from the machine fails here, in one line, not in the middle of a command.
    void* handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      throw std::runtime_error(needed_by + " needs libtorch, through " + p.string() + ", which does not load: " +
                               (why ? why : "unknown error"));
    }
    using Entry = const TorchPart* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "bmx_torch_part"));
    const TorchPart* part = entry ? entry() : nullptr;
    if (!part || part->abi != kTorchPartAbi || part->size != sizeof(TorchPart))
      throw std::runtime_error(p.string() + " is not the bmx_torch.so of this bmx (another version?); reinstall "
                               "bmx (cmake --install)");
    loaded = part;  // never unloaded: its functions and objects live until the process ends
    return *loaded;
  }
  throw std::runtime_error(needed_by + " needs the libtorch part of bmx (" + kPluginFile + "), not found in " +
                           looked + "; reinstall bmx (cmake --install), or run the bmx of a build folder");
}

}  // namespace bmx::app
