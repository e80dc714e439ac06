#include "bmx/core/util/memory_info.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace bmx {
namespace {

// The value of "Key:   123 kB" in a /proc file, in bytes; 0 when absent.
uint64_t proc_kib_field(const char* path, const char* key) {
  std::FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char line[256];
  uint64_t out = 0;
  const std::size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
      unsigned long long kib = 0;
      if (std::sscanf(line + n + 1, "%llu", &kib) == 1) out = uint64_t(kib) * 1024;
      break;
    }
  std::fclose(f);
  return out;
}

// One number from a cgroup file; false for "max", absence or anything else.
bool cgroup_number(const std::string& path, uint64_t& value) {
  std::ifstream in(path);
  unsigned long long v = 0;
  if (!(in >> v)) return false;
  value = v;
  return true;
}

// This process's cgroup v2 folder ("0::/path" in /proc/self/cgroup), or empty.
std::string cgroup_folder() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  return {};
}

}  // namespace

uint64_t available_memory() {
  uint64_t avail = proc_kib_field("/proc/meminfo", "MemAvailable");
  const std::string cg = cgroup_folder();
  uint64_t limit = 0, used = 0;
  if (!cg.empty() && cgroup_number(cg + "/memory.max", limit) && cgroup_number(cg + "/memory.current", used)) {
    const uint64_t room = limit > used ? limit - used : 0;
    avail = avail ? std::min(avail, room) : room;
  }
  return avail;
}

bool fits_in_memory(uint64_t bytes, uint64_t available) {
  const uint64_t spare = std::max<uint64_t>(uint64_t(2) << 30, available / 4);
  return available > spare && bytes <= available - spare;
}

uint64_t huge_page_bytes() { return proc_kib_field("/proc/self/smaps_rollup", "AnonHugePages"); }

}  // namespace bmx
