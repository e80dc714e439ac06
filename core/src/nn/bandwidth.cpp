// The read-bandwidth probe behind decode's ceiling. It must not under-measure: a probe below what the hardware
// gives lets a decoder print more than 100 % of "the ceiling" (seen: 112 % with the former 16-byte, 64-task,
// 4 KiB-page probe). So: one contiguous slice per kernel thread (each core's prefetchers follow one stream, as
// STREAM's static schedule), huge pages for the scratch buffer, integer loads as wide as the CPU has (no
// floating-point assists on whatever bits the memory holds), best of several passes, each pass read both with
// the loads alone and with software prefetches ahead into L2 as the decode kernels issue them (two threads on the
// Zen 5 guest here, ~47 GB/s state, 10 alternations: 44.5 GB/s mean with loads alone, 47.9 with prefetches, and
// decode printed 100-102 % of the former).
#include "bmx/core/nn/bandwidth.h"

#include <immintrin.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/testing.h"
#include "bmx/core/util/big_allocator.h"
#include "bmx/core/util/thread_pool.h"

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace bmx::kernels {
namespace {

constexpr std::size_t kLine = 64;
// As far ahead as the decode kernels prefetch their weight streams (kTilePrefetch in kernels_impl.h).
constexpr std::size_t kPrefetchAhead = 4096;

// Prefetches of the four lines at p + kPrefetchAhead into L2 (when the reader prefetches; a prefetch past the
// range's end never faults).
template <bool kPrefetch>
inline void prefetch_ahead(const char* p) {
  if constexpr (kPrefetch)
    for (std::size_t u = 0; u < 4; ++u) _mm_prefetch(p + u * kLine + kPrefetchAhead, _MM_HINT_T1);
}

// Each reader folds [p, p + lines) 64-byte lines into one word, so the loads cannot be optimised away.
#pragma GCC push_options
#pragma GCC target("avx512f")
template <bool kPrefetch>
uint64_t read_lines_avx512(const char* p, std::size_t lines) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 4 <= lines; i += 4) {
    prefetch_ahead<kPrefetch>(p + i * kLine);
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + (i + 0) * kLine));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + (i + 1) * kLine));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + (i + 2) * kLine));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + (i + 3) * kLine));
  }
  for (; i < lines; ++i) a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i * kLine));
  const __m512i s = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, s);
  uint64_t folded = 0;  // xor, not add: any bits may be in memory, and a signed sum could overflow
  for (uint64_t v : lanes) folded ^= v;
  return folded;
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2")
// Four lines per pass. The former pass of two lines with a tail test inside read 26-28 GB/s on one core here
// against 35-39 for this one (bench kernels -t 1 --isa avx2, 3 alternations), and the AVX-512 reader's 39-42.
template <bool kPrefetch>
uint64_t read_lines_avx2(const char* p, std::size_t lines) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 4 <= lines; i += 4) {
    prefetch_ahead<kPrefetch>(p + i * kLine);
    const auto* q = reinterpret_cast<const __m256i*>(p + i * kLine);
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(q));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(q + 1));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(q + 2));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(q + 3));
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(q + 4));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(q + 5));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(q + 6));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(q + 7));
  }
  for (; i < lines; ++i) {
    const auto* q = reinterpret_cast<const __m256i*>(p + i * kLine);
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(q));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(q + 1));
  }
  const __m256i s = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return uint64_t(_mm256_extract_epi64(s, 0) ^ _mm256_extract_epi64(s, 1) ^ _mm256_extract_epi64(s, 2) ^
                  _mm256_extract_epi64(s, 3));
}
#pragma GCC pop_options

template <bool kPrefetch>
uint64_t read_lines_sse2(const char* p, std::size_t lines) {
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (std::size_t i = 0; i < lines; ++i) {
    if (i % 4 == 0) prefetch_ahead<kPrefetch>(p + i * kLine);
    const auto* q = reinterpret_cast<const __m128i*>(p + i * kLine);
    a0 = _mm_xor_si128(a0, _mm_load_si128(q));
    a1 = _mm_xor_si128(a1, _mm_load_si128(q + 1));
    a2 = _mm_xor_si128(a2, _mm_load_si128(q + 2));
    a3 = _mm_xor_si128(a3, _mm_load_si128(q + 3));
  }
  const __m128i s = _mm_xor_si128(_mm_xor_si128(a0, a1), _mm_xor_si128(a2, a3));
  return uint64_t(_mm_cvtsi128_si64(s)) ^ uint64_t(_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s)));
}

using LineReader = uint64_t (*)(const char*, std::size_t);

// The widest loads of the level in use (a test that forces a lower level gets that level's loads).
template <bool kPrefetch>
LineReader line_reader() {
  switch (active_isa()) {
    case Isa::avx512:
    case Isa::avx512_bf16: return read_lines_avx512<kPrefetch>;
    case Isa::avx2:
    case Isa::avx2_bf16_emulated: return read_lines_avx2<kPrefetch>;
    default: return read_lines_sse2<kPrefetch>;
  }
}

// Whole 64-byte lines inside [data, data + bytes).
struct Lines {
  const char* p;
  std::size_t count;
};
Lines whole_lines(const void* data, std::size_t bytes) {
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kLine - 1) / kLine * kLine;
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) / kLine * kLine;
  if (end <= begin) return {nullptr, 0};
  return {reinterpret_cast<const char*>(begin), (end - begin) / kLine};
}

// The best GB/s of reading any one range, `repeats` passes that each read every range in turn, one contiguous slice
// of it per thread, once with loads alone and once with prefetches ahead.
double read_gbs(const std::vector<Lines>& ranges, int repeats) {
  ThreadPool& tp = thread_pool();
  const int64_t slices = threads();
  const LineReader readers[] = {line_reader<false>(), line_reader<true>()};
  std::vector<uint64_t> sink(std::size_t(slices), 0);
  double best = 0;
  // Readers outside ranges: a range read again at once would come from cache where it fits there.
  for (int r = 0; r < std::max(1, repeats); ++r)
    for (const LineReader read : readers)
      for (const Lines& range : ranges) {
        const std::size_t per = range.count / std::size_t(slices);
        if (per == 0) continue;
        const auto t0 = std::chrono::steady_clock::now();
        tp.run(slices, [&](int64_t t, int) { sink[std::size_t(t)] ^= read(range.p + std::size_t(t) * per * kLine, per); });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s > 0) best = std::max(best, double(per * std::size_t(slices) * kLine) / s / 1e9);
      }
  volatile uint64_t keep = 0;
  for (uint64_t v : sink) keep = keep ^ v;
  (void)keep;
  return best;
}

// The probe's buffer: huge pages where the kernel gives them (TLB misses would otherwise cost a part of what is
// measured on a 4 KiB-page buffer).
struct ScratchBuffer {
  std::size_t bytes;
  char* data;
  explicit ScratchBuffer(std::size_t n) : bytes(n), data(static_cast<char*>(big_allocate(n))) {}
  ~ScratchBuffer() { big_free(data, bytes); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
};

}  // namespace

double measure_read_bandwidth_gbs(std::size_t bytes, int repeats) {
  const int64_t slices = threads();
  const std::size_t lines = std::max<std::size_t>(bytes / kLine, 1024) / std::size_t(slices) * std::size_t(slices);
  ScratchBuffer buf(lines * kLine);
  // Pages are first touched by the thread that reads them (their NUMA node, where there are several).
  const std::size_t per = lines / std::size_t(slices);
  thread_pool().run(slices, [&](int64_t t, int) {
    std::memset(buf.data + std::size_t(t) * per * kLine, 1, per * kLine);
  });
  return read_gbs({Lines{buf.data, lines}}, repeats);
}

double measure_read_bandwidth_gbs(const void* data, std::size_t bytes, int repeats) {
  return measure_read_bandwidth_gbs(std::vector<MemoryRange>{{data, bytes}}, repeats);
}

double measure_read_bandwidth_gbs(const std::vector<MemoryRange>& ranges, int repeats) {
  std::vector<Lines> lines;
  for (const MemoryRange& r : ranges) {
    lines.push_back(whole_lines(r.data, r.bytes));
    if (lines.back().count < 64) lines.pop_back();
  }
  if (lines.empty()) return 0;
  read_gbs(lines, 1);  // an untimed pass brings mapped pages in
  return read_gbs(lines, repeats);
}

uint64_t testing::fold_lines(const void* p, std::size_t lines, bool prefetch) {
  return (prefetch ? line_reader<true>() : line_reader<false>())(static_cast<const char*>(p), lines);
}

std::size_t testing::cache_size_bytes(std::string_view text) {
  std::size_t i = 0, value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (std::size_t(1) << 40)) return 0;  // no cache is a TiB: not a size
    value = value * 10 + std::size_t(text[i] - '0');
  }
  if (i == 0) return 0;
  std::size_t unit = 1;
  if (i < text.size()) {
    switch (text[i]) {
      case 'K': unit = std::size_t(1) << 10; break;
      case 'M': unit = std::size_t(1) << 20; break;
      case 'G': unit = std::size_t(1) << 30; break;
      default: return 0;
    }
    ++i;
  }
  while (i < text.size() && (text[i] == '\n' || text[i] == ' ')) ++i;
  return i == text.size() ? value * unit : 0;
}

namespace {

// The largest data or unified cache the kernel lists for CPU 0, the one instance its threads share. glibc's
// sysconf can report far more on virtual machines (384 MiB for a 32 MiB L3 on a Zen 4 guest: the host's whole
// socket), which would take a 2.3 GB per-token model for a cache-resident one.
std::size_t sysfs_last_level_cache() {
  std::size_t best = 0;
  int best_level = 0;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), size_file(dir + "size"), type_file(dir + "type");
    int level = 0;
    std::string size, type;
    if (!(level_file >> level) || !std::getline(size_file, size) || !std::getline(type_file, type)) continue;
    if (type == "Instruction") continue;
    const std::size_t bytes = testing::cache_size_bytes(size);
    if (bytes > 0 && (level > best_level || (level == best_level && bytes > best))) {
      best = bytes;
      best_level = level;
    }
  }
  return best;
}

std::size_t sysconf_last_level_cache() {
  long bytes = 0;
#ifdef _SC_LEVEL4_CACHE_SIZE
  bytes = std::max(bytes, ::sysconf(_SC_LEVEL4_CACHE_SIZE));
#endif
#ifdef _SC_LEVEL3_CACHE_SIZE
  bytes = std::max(bytes, ::sysconf(_SC_LEVEL3_CACHE_SIZE));
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE
  bytes = std::max(bytes, ::sysconf(_SC_LEVEL2_CACHE_SIZE));
#endif
  return bytes > 0 ? std::size_t(bytes) : 0;
}

}  // namespace

std::size_t last_level_cache_bytes() {
  static const std::size_t bytes = [] {
    std::size_t b = sysfs_last_level_cache();
    if (b == 0) b = sysconf_last_level_cache();
    // Unknown (some virtual machines and non-x86 libcs report 0): 32 MiB, larger than most server L3 slices, so
    // that a small model is never compared with a memory ceiling it does not read from.
    return b > 0 ? b : std::size_t(32) << 20;
  }();
  return bytes;
}

}  // namespace bmx::kernels
