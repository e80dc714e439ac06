// The BF16/F16-weight matrix products against a float64 reference, at every instruction-set level this
// machine runs, for odd shapes, strides, thread counts and both activation precisions.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bmx/core/nn/bandwidth.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/testing.h"
#include "restore_kernels.h"
#include "bmx/core/util/thread_pool.h"

namespace k = bmx::kernels;

namespace {

using Restore = bmx::test::RestoreKernels;

uint16_t random_f16(std::mt19937& rng) {
  // Exponents 8..21 (values 2^-7 .. 2^7), random mantissa and sign; one in 16 is zero or subnormal.
  uint32_t r = rng();
  if ((r & 15) == 0) return uint16_t((r >> 4) & 0x83FF);
  return uint16_t(((r >> 4) & 0x8000) | ((8 + (r >> 8) % 14) << 10) | ((r >> 16) & 0x3FF));
}

struct Data {
  int64_t M, N, K, ldx, ldw, ldy;
  std::vector<float> x, bias;
  std::vector<uint16_t> w;
};

Data make(int64_t M, int64_t N, int64_t K, k::WeightType wt, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Data d{M, N, K, K + 3, K + 5, N + 2, {}, {}, {}};
  d.x.resize(std::size_t(M * d.ldx));
  for (auto& v : d.x) v = nd(rng);
  d.w.resize(std::size_t(N * d.ldw));
  for (auto& v : d.w) v = wt == k::WeightType::bf16 ? k::float_to_bf16(nd(rng) * 0.1f) : random_f16(rng);
  d.bias.resize(std::size_t(N));
  for (auto& v : d.bias) v = nd(rng);
  return d;
}

// Checks y against sum_k x·w in float64 (x rounded to bf16 when the kernel does so): |Δ| ≤ 1e-5·Σ|x·w|.
void check(const Data& d, k::WeightType wt, bool with_bias, const std::string& what) {
  std::vector<float> y(std::size_t(d.M * d.ldy), -777.0f);
  k::matmul(d.x.data(), d.ldx, d.w.data(), d.ldw, wt, y.data(), d.ldy, d.M, d.N, d.K,
            with_bias ? d.bias.data() : nullptr);
  const bool rounded = k::rounds_activations(d.M, wt);
  int bad = 0;
  double worst = 0;
  for (int64_t m = 0; m < d.M; ++m) {
    for (int64_t n = 0; n < d.N; ++n) {
      double s = with_bias ? d.bias[n] : 0.0, mag = std::fabs(s);
      for (int64_t j = 0; j < d.K; ++j) {
        float xv = d.x[m * d.ldx + j];
        if (rounded) xv = k::bf16_to_float(k::float_to_bf16(xv));
        const uint16_t h = d.w[n * d.ldw + j];
        const double wv = wt == k::WeightType::bf16 ? k::bf16_to_float(h) : k::f16_to_float(h);
        s += double(xv) * wv;
        mag += std::fabs(double(xv) * wv);
      }
      const double got = y[m * d.ldy + n], err = std::fabs(got - s);
      worst = std::max(worst, err / (mag + 1e-30));
      if (!(err <= 1e-5 * mag + 1e-30)) ++bad;
    }
    // Padding columns of y stay untouched.
    for (int64_t n = d.N; n < d.ldy; ++n)
      if (y[m * d.ldy + n] != -777.0f) ++bad;
  }
  INFO(what << " worst relative error " << worst);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("bf16 and f16 conversions") {
  CHECK(k::float_to_bf16(1.0f) == 0x3F80);
  CHECK(k::float_to_bf16(-2.0f) == 0xC000);
  CHECK(k::float_to_bf16(1.00390625f) == 0x3F80);   // halfway 1 + 2^-8: ties to even (down)
  CHECK(k::float_to_bf16(1.01171875f) == 0x3F82);   // halfway 1 + 3·2^-8: ties to even (up)
  CHECK(k::float_to_bf16(1.0f + 0.0079f) == 0x3F81);
  CHECK(std::isnan(k::bf16_to_float(k::float_to_bf16(NAN))));
  CHECK(k::bf16_to_float(0x4049) == 3.140625f);
  CHECK(k::f16_to_float(0x3C00) == 1.0f);
  CHECK(k::f16_to_float(0xC000) == -2.0f);
  CHECK(k::f16_to_float(0x7BFF) == 65504.0f);
  CHECK(k::f16_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(k::f16_to_float(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(std::isinf(k::f16_to_float(0x7C00)));
  CHECK(std::signbit(k::f16_to_float(0x8000)));
}

TEST_CASE("the detected level and the override") {
  Restore restore;
  const auto levels = k::available_isas();
  REQUIRE(!levels.empty());
  CHECK(levels.front() == k::Isa::scalar);
  CHECK(std::find(levels.begin(), levels.end(), k::detected_isa()) != levels.end());
  for (k::Isa i : levels) CHECK(int(i) <= int(k::detected_isa()) + (i == k::Isa::avx2_bf16_emulated));
  CHECK(k::active_isa() == k::detected_isa());
  for (k::Isa i : levels) {
    k::testing::force_isa(i);
    CHECK(k::active_isa() == i);
  }
  if (k::detected_isa() != k::Isa::avx512_bf16)
    CHECK_THROWS_AS(k::testing::force_isa(k::Isa::avx512_bf16), std::invalid_argument);
  MESSAGE("levels on this machine: " << levels.size() << ", best " << std::string(k::isa_name(k::detected_isa())));
}

TEST_CASE("matmul equals the float64 product at every level, odd shapes") {
  Restore restore;
  const std::vector<int64_t> Ms = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 19, 22, 33, 34};  // GEMV, GEMM and their tails
  const std::vector<int64_t> Ns = {1, 3, 37, 130};
  const std::vector<int64_t> Ks = {1, 7, 31, 33, 67, 300};
  unsigned seed = 1;
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    for (k::Precision prec : {k::Precision::float32, k::Precision::bf16_activations}) {
    k::set_precision(prec);
    if (prec == k::Precision::bf16_activations && !k::rounds_activations(512)) continue;  // nothing changes
    for (k::WeightType wt : {k::WeightType::bf16, k::WeightType::f16}) {
      for (int threads : {1, 3}) {
        k::set_threads(threads);
        for (int64_t M : Ms)
          for (int64_t N : Ns)
            for (int64_t K : Ks) {
              Data d = make(M, N, K, wt, seed++);
              check(d, wt, (seed & 1) != 0,
                    std::string(k::isa_name(isa)) + (wt == k::WeightType::bf16 ? " bf16" : " f16") + " threads " +
                        std::to_string(threads) + " M" + std::to_string(M) + " N" + std::to_string(N) + " K" +
                        std::to_string(K) + (prec == k::Precision::float32 ? "" : " bf16-activations"));
            }
      }
    }
    }
  }
}

TEST_CASE("one-row GEMV with long rows (the down projection's path: several rows per pass) at every level") {
  Restore restore;
  unsigned seed = 1000;
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    for (k::WeightType wt : {k::WeightType::bf16, k::WeightType::f16})
      for (int64_t N : {1, 7, 8, 9, 17, 67})
        for (int64_t K : {4096, 4097, 9731}) {
          Data d = make(1, N, K, wt, seed++);
          check(d, wt, (seed & 1) != 0,
                std::string(k::isa_name(isa)) + " N" + std::to_string(N) + " K" + std::to_string(K));
        }
  }
}

TEST_CASE("one-row GEMV with long rows keeps float32 x: low bits, infinities and values near the float limit") {
  Restore restore;
  const int64_t N = 9;
  // Long rows: the AVX-512 BF16 level multiplies x split in two bf16 parts, 32 values at a time and then the
  // K % 32 tail; the special value sits in the vector part (K = 4608) or in the tail (K = 4609).
  for (int64_t K : {4608, 4609}) {
    const std::size_t at = std::size_t(K - 1);
    const std::vector<uint16_t> ones(std::size_t(N * K), k::float_to_bf16(1.0f));
    const std::vector<uint16_t> small(std::size_t(N * K), k::float_to_bf16(std::ldexp(1.0f, -8)));
    for (k::Isa isa : k::available_isas()) {
      k::testing::force_isa(isa);
      INFO(k::isa_name(isa) << ", K " << K);
      std::vector<float> y(static_cast<std::size_t>(N));
      // 1 + 2^-10 is 1 in bf16: a GEMV on x rounded to bf16 gives K, on x's remainder too K·(1 + 2^-10).
      std::vector<float> x(std::size_t(K), 1.0f + std::ldexp(1.0f, -10));
      k::matmul(x.data(), K, ones.data(), K, k::WeightType::bf16, y.data(), N, 1, N, K);
      for (float v : y) CHECK(v == float(K) * (1.0f + std::ldexp(1.0f, -10)));
      // An infinity stays an infinity (split, it would be inf + NaN).
      x[at] = INFINITY;
      k::matmul(x.data(), K, ones.data(), K, k::WeightType::bf16, y.data(), N, 1, N, K);
      for (float v : y) CHECK((std::isinf(v) && v > 0));
      // FLT_MAX rounds to infinity in bf16: the float path keeps the sum finite.
      x[at] = std::numeric_limits<float>::max();
      k::matmul(x.data(), K, small.data(), K, k::WeightType::bf16, y.data(), N, 1, N, K);
      const double want =
          double(std::numeric_limits<float>::max()) / 256.0 + double(K - 1) * (1.0 + std::ldexp(1.0, -10)) / 256.0;
      for (float v : y) CHECK(v == doctest::Approx(want).epsilon(1e-6));
      x[at] = NAN;
      k::matmul(x.data(), K, ones.data(), K, k::WeightType::bf16, y.data(), N, 1, N, K);
      for (float v : y) CHECK(std::isnan(v));
    }
  }
}

TEST_CASE("prefill-sized GEMM (M = 512) at every level and both precisions") {
  Restore restore;
  k::set_threads(2);
  bool rounded_somewhere = false;
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    for (k::Precision prec : {k::Precision::float32, k::Precision::bf16_activations}) {
      k::set_precision(prec);
      rounded_somewhere |= k::rounds_activations(512);
      for (k::WeightType wt : {k::WeightType::bf16, k::WeightType::f16}) {
        // K = 700 spans several cache blocks of K and ends odd; N = 133 leaves partial panels.
        Data d = make(512, 133, 700, wt, 99);
        check(d, wt, true, std::string(k::isa_name(isa)) + " M512 precision " + std::to_string(int(prec)));
        Data e = make(61, 40, 257, wt, 7);
        check(e, wt, false, std::string(k::isa_name(isa)) + " M61 precision " + std::to_string(int(prec)));
      }
    }
  }
  // The bf16-activation GEMM is exercised wherever it exists (the AVX2 emulation at least, on x86-64).
  if (k::detected_isa() != k::Isa::scalar) CHECK(rounded_somewhere);
  k::set_precision(k::Precision::float32);
  CHECK(!k::rounds_activations(512));
}

TEST_CASE("bf16 activations really are rounded (the reference would notice otherwise)") {
  Restore restore;
  bool tested = false;
  for (k::Isa isa : k::available_isas()) {
    k::testing::force_isa(isa);
    k::set_precision(k::Precision::bf16_activations);
    if (!k::rounds_activations(64)) continue;
    tested = true;
    // x = 1 + 2^-10 rounds to 1 in bf16; W = 1: the bf16 path gives K, float32 would give K·(1 + 2^-10).
    const int64_t M = 64, N = 32, K = 64;
    std::vector<float> x(M * K, 1.0f + std::ldexp(1.0f, -10)), y(M * N);
    std::vector<uint16_t> w(N * K, k::float_to_bf16(1.0f));
    k::matmul(x.data(), K, w.data(), K, k::WeightType::bf16, y.data(), N, M, N, K);
    CHECK(y[0] == float(K));
    k::set_precision(k::Precision::float32);
    k::matmul(x.data(), K, w.data(), K, k::WeightType::bf16, y.data(), N, M, N, K);
    CHECK(y[0] == doctest::Approx(K * (1.0 + std::ldexp(1.0, -10))).epsilon(1e-7));
  }
  if (k::detected_isa() != k::Isa::scalar) CHECK(tested);
}

TEST_CASE("thread pool runs every task exactly once") {
  for (int n : {1, 2, 5}) {
    bmx::ThreadPool pool(n);
    CHECK(pool.size() == n);
    for (int64_t tasks : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(std::size_t(tasks + 1));
      std::atomic<int> bad_thread{0};
      pool.run(tasks, [&](int64_t t, int th) {
        hits[std::size_t(t)].fetch_add(1);
        if (th < 0 || th >= n) bad_thread.fetch_add(1);
      });
      int wrong = 0;
      for (int64_t t = 0; t < tasks; ++t) wrong += hits[std::size_t(t)].load() != 1;
      CHECK(wrong == 0);
      CHECK(bad_thread.load() == 0);
    }
    // A nested run executes serially on the calling thread instead of deadlocking.
    std::atomic<int> inner{0};
    pool.run(4, [&](int64_t, int) { pool.run(3, [&](int64_t, int) { inner.fetch_add(1); }); });
    CHECK(inner.load() == 12);
  }
}

TEST_CASE("thread pool's contiguous schedule: each thread its own run in order, then the ends of others") {
  for (int n : {1, 2, 3, 5}) {
    bmx::ThreadPool pool(n);
    for (int64_t tasks : {0, 1, 2, 7, 64, 1001}) {
      INFO(n << " threads, " << tasks << " tasks");
      std::vector<std::atomic<int>> hits(std::size_t(tasks + 1));
      std::vector<std::vector<int64_t>> ran{std::size_t(n)};  // each thread's tasks in the order it ran them
      pool.run(tasks, [&](int64_t t, int th) {
        hits[std::size_t(t)].fetch_add(1);
        ran[std::size_t(th)].push_back(t);
        if (t % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));  // uneven tasks
      }, bmx::Schedule::contiguous);
      int wrong = 0;
      for (int64_t t = 0; t < tasks; ++t) wrong += hits[std::size_t(t)].load() != 1;
      CHECK(wrong == 0);
      auto share_of = [&](int64_t t) {
        int i = 0;
        while (t >= tasks * (i + 1) / n) ++i;
        return i;
      };
      for (int th = 0; th < n; ++th) {
        // Its own share's tasks: from the share's start, consecutive, in order. Others': from their ends down.
        int64_t own_next = tasks * th / n;
        std::vector<int64_t> last_taken(std::size_t(n), INT64_MAX);
        bool own_in_order = true, others_from_end = true;
        for (int64_t t : ran[std::size_t(th)]) {
          const int s = share_of(t);
          if (s == th) {
            own_in_order &= t == own_next++;
          } else {
            others_from_end &= t < last_taken[std::size_t(s)];
            last_taken[std::size_t(s)] = t;
          }
        }
        CHECK(own_in_order);
        CHECK(others_from_end);
      }
    }
  }
}

TEST_CASE("thread pool timing: the runs' wall time and the threads' waiting inside them") {
  bmx::ThreadPool pool(2);
  using std::chrono::milliseconds;
  pool.run(2, [](int64_t, int) {});  // untimed: not counted
  pool.set_timing(true);
  // Two runs of two tasks: one thread sleeps 30 ms, the other 5 ms, so each run lasts >= 30 ms and the other
  // thread waits ~25 ms of it (a dynamic schedule gives each thread one task when both start at once; the caller
  // could take both, so the sleeps are told apart by task, and only the totals' bounds are checked).
  for (int r = 0; r < 2; ++r)
    pool.run(2, [](int64_t t, int) { std::this_thread::sleep_for(milliseconds(t == 0 ? 30 : 5)); });
  pool.set_timing(false);
  pool.run(2, [](int64_t, int) { std::this_thread::sleep_for(milliseconds(20)); });  // not counted
  const bmx::PoolTimes t = pool.take_times();
  CHECK(t.runs == 2);
  CHECK(t.run_s >= 0.060);
  CHECK(t.run_s < 1.0);
  // Thread time is 2 x wall; the tasks fill 70 ms of it, so at least 2 x 60 - 70 = 50 ms is waiting, and
  // never more than the thread time less the tasks.
  CHECK(t.waiting_s >= 0.045);
  CHECK(t.waiting_s <= 2 * t.run_s - 0.069);
  const bmx::PoolTimes again = pool.take_times();  // taken: starts from zero
  CHECK(again.runs == 0);
  CHECK(again.run_s == 0);
}

TEST_CASE("read bandwidth probe returns a plausible figure at every instruction-set level") {
  Restore restore;
  for (auto isa : k::available_isas()) {  // each level reads with its own load width
    k::testing::force_isa(isa);
    INFO(k::isa_name(isa));
    const double gbs = k::measure_read_bandwidth_gbs(std::size_t(64) << 20, 2);
    MESSAGE(std::string(k::isa_name(isa)) << " read bandwidth (64 MiB buffer): " << gbs << " GB/s");
    CHECK(gbs > 0.1);
    CHECK(gbs < 10000.0);
  }
  // Linux reports the cache sizes; the ceiling's "fits in cache" rule depends on it.
  CHECK(k::last_level_cache_bytes() >= (std::size_t(256) << 10));
}

TEST_CASE("the read probe reads every line exactly once at every level (a skipped line would over-measure)") {
  Restore restore;
  // Words chosen so that any line missed or read twice changes the xor of everything.
  std::vector<uint64_t> words(std::size_t(8 * 37) + 8);
  auto* base = reinterpret_cast<uint64_t*>((reinterpret_cast<std::uintptr_t>(words.data()) + 63) & ~std::uintptr_t(63));
  for (std::size_t i = 0; i < 8 * 37; ++i) base[i] = 0x9E3779B97F4A7C15ull * (i + 1) ^ (uint64_t(1) << (i % 64));
  for (auto isa : k::available_isas()) {
    k::testing::force_isa(isa);
    for (std::size_t lines = 0; lines <= 37; ++lines) {
      INFO(k::isa_name(isa) << ", " << lines << " lines");
      uint64_t want = 0;
      for (std::size_t i = 0; i < 8 * lines; ++i) want ^= base[i];
      CHECK(k::testing::fold_lines(base, lines, false) == want);
      CHECK(k::testing::fold_lines(base, lines, true) == want);
    }
  }
}

TEST_CASE("the last-level cache is one instance as Linux lists it, not glibc's figure") {
  CHECK(k::testing::cache_size_bytes("32768K\n") == (std::size_t(32) << 20));
  CHECK(k::testing::cache_size_bytes("1024K") == (std::size_t(1) << 20));
  CHECK(k::testing::cache_size_bytes("8M") == (std::size_t(8) << 20));
  CHECK(k::testing::cache_size_bytes("512") == 512);
  for (const char* bad : {"", "K", "12Q", "-5K", "32768K junk", "99999999999999999999999K"}) {
    INFO(bad);
    CHECK(k::testing::cache_size_bytes(bad) == 0);
  }
  // Where the machine has an L3 (index3 on x86), that is the figure: glibc's sysconf says 384 MiB for the
  // 32 MiB L3 of a Zen 4 guest, and a 2.3 GB-per-token model would then count as cache-resident.
  std::ifstream level("/sys/devices/system/cpu/cpu0/cache/index3/level"), size("/sys/devices/system/cpu/cpu0/cache/index3/size");
  int lv = 0;
  std::string text;
  if (level >> lv && lv == 3 && std::getline(size, text) && k::testing::cache_size_bytes(text) > 0)
    CHECK(k::last_level_cache_bytes() == k::testing::cache_size_bytes(text));
}

TEST_CASE("read bandwidth probe on a small scratch buffer (ordinary heap memory, still read with aligned loads)") {
  Restore restore;
  for (auto isa : k::available_isas()) {
    k::testing::force_isa(isa);
    INFO(k::isa_name(isa));
    for (std::size_t bytes : {std::size_t(0), std::size_t(4096), std::size_t(100) << 10}) {
      const double gbs = k::measure_read_bandwidth_gbs(bytes, 1);
      CHECK(gbs > 0.0);
      CHECK(gbs < 10000.0);
    }
  }
}

TEST_CASE("read bandwidth probe over existing memory") {
  std::vector<float> buf(std::size_t(16) << 20, 1.0f);  // 64 MiB
  // An unaligned start and length are trimmed to whole lines, never read past the end.
  const double gbs = k::measure_read_bandwidth_gbs(reinterpret_cast<const char*>(buf.data()) + 3, buf.size() * 4 - 7, 2);
  CHECK(gbs > 0.1);
  CHECK(gbs < 10000.0);
  CHECK(k::measure_read_bandwidth_gbs(buf.data(), 100, 1) == 0.0);  // too small to measure
  // Several ranges in turn: the ones too small to time are skipped, not counted as instant reads.
  const char* bytes = reinterpret_cast<const char*>(buf.data());
  const double several = k::measure_read_bandwidth_gbs({{bytes, 100}, {bytes + 4096, std::size_t(32) << 20},
                                                        {bytes + (std::size_t(40) << 20), 1}}, 2);
  CHECK(several > 0.1);
  CHECK(several < 10000.0);
  CHECK(k::measure_read_bandwidth_gbs(std::vector<k::MemoryRange>{{bytes, 100}, {bytes + 200, 64}}, 1) == 0.0);
  CHECK(k::measure_read_bandwidth_gbs(std::vector<k::MemoryRange>{}, 1) == 0.0);
}

TEST_CASE("matmul_many equals one matmul per job (decode-sized jobs share a pass, prefill-sized run alone)") {
  Restore restore;
  for (auto isa : k::available_isas()) {
    k::testing::force_isa(isa);
    k::set_threads(2);
    INFO(k::isa_name(isa));
    std::vector<Data> data;
    const int64_t shapes[][3] = {{1, 300, 70}, {1, 67, 129}, {3, 130, 64}, {40, 90, 33}};
    for (auto& s : shapes) data.push_back(make(s[0], s[1], s[2], data.size() % 2 ? k::WeightType::f16 : k::WeightType::bf16, 7u + unsigned(data.size())));
    std::vector<std::vector<float>> many(data.size()), one(data.size());
    std::vector<k::MatmulJob> jobs;
    for (size_t i = 0; i < data.size(); ++i) {
      const Data& d = data[i];
      const auto wt = i % 2 ? k::WeightType::f16 : k::WeightType::bf16;
      many[i].assign(std::size_t(d.M * d.ldy), -1.0f);
      one[i].assign(std::size_t(d.M * d.ldy), -1.0f);
      const float* bias = i == 1 ? d.bias.data() : nullptr;
      jobs.push_back({d.x.data(), d.ldx, d.w.data(), d.ldw, wt, many[i].data(), d.ldy, d.M, d.N, d.K, bias});
      k::matmul(d.x.data(), d.ldx, d.w.data(), d.ldw, wt, one[i].data(), d.ldy, d.M, d.N, d.K, bias);
    }
    k::matmul_many(jobs.data(), int(jobs.size()));
    for (size_t i = 0; i < data.size(); ++i) CHECK(many[i] == one[i]);
  }
}

TEST_CASE("matmul_many: jobs of one x (q/k/v, gate/up) share its conversion and still equal one matmul each") {
  Restore restore;
  for (auto isa : k::available_isas()) {
    k::testing::force_isa(isa);
    for (k::Precision prec : {k::Precision::float32, k::Precision::bf16_activations}) {
      k::set_precision(prec);
      // One x row of long K (split into bf16 parts where the level splits it), and 3 rows (rounded under bf16
      // activations); three weight matrices of different heights on the same x, and an f16 one that must not
      // take the BF16 jobs' form of x.
      for (int64_t M : {1, 3}) {
        INFO(k::isa_name(isa) << ", M " << M << (prec == k::Precision::float32 ? "" : ", bf16 activations"));
        const int64_t K = 4100;
        const Data base = make(M, 16, K, k::WeightType::bf16, 90u + unsigned(M));
        std::vector<Data> ws;
        for (int64_t N : {48, 16, 32}) ws.push_back(make(M, N, K, k::WeightType::bf16, 100u + unsigned(N)));
        ws.push_back(make(M, 24, K, k::WeightType::f16, 200u));
        std::vector<std::vector<float>> many(ws.size()), one(ws.size());
        std::vector<k::MatmulJob> jobs;
        for (size_t i = 0; i < ws.size(); ++i) {
          const Data& d = ws[i];
          const auto wt = i == 3 ? k::WeightType::f16 : k::WeightType::bf16;
          many[i].assign(std::size_t(M * d.ldy), -1.0f);
          one[i].assign(std::size_t(M * d.ldy), -1.0f);
          jobs.push_back({base.x.data(), base.ldx, d.w.data(), d.ldw, wt, many[i].data(), d.ldy, M, d.N, K});
          k::matmul(base.x.data(), base.ldx, d.w.data(), d.ldw, wt, one[i].data(), d.ldy, M, d.N, K);
        }
        k::matmul_many(jobs.data(), int(jobs.size()));
        for (size_t i = 0; i < ws.size(); ++i) CHECK(many[i] == one[i]);
      }
    }
  }
}

TEST_CASE("set_isa runs a level this CPU runs by its name, and refuses others") {
  Restore restore;
  for (k::Isa isa : k::available_isas()) {
    const auto named = k::isa_from_name(k::isa_name(isa));
    REQUIRE(named.has_value());
    CHECK(*named == isa);
    k::set_isa(*named);
    CHECK(k::active_isa() == isa);
  }
  CHECK(!k::isa_from_name("avx3").has_value());
  CHECK(!k::isa_from_name("").has_value());
  if (k::detected_isa() != k::Isa::avx512_bf16) CHECK_THROWS_AS(k::set_isa(k::Isa::avx512_bf16), std::invalid_argument);
}

TEST_CASE("the start-up check passes every level this CPU runs") {
  for (k::Isa isa : k::available_isas()) {
    INFO(std::string(k::isa_name(isa)));
    CHECK(k::kernels_agree(isa));
  }
}
