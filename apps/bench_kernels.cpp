// bmx bench kernels: speed of the BF16-weight GEMV/GEMM kernels on Qwen3-4B-sized matrices, side by side
// with ATen on the same data, and the memory read bandwidth that bounds decoding.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/core/nn/block_quant.h"
#include "bmx/core/nn/bandwidth.h"
#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/pair_tiles.h"
#include "commands.h"
#include "isa_flag.h"

namespace bmx::app {

namespace {

namespace k = bmx::kernels;

// Best time of at least min_reps calls and at least min_seconds in all (after one warm-up call).
double best_seconds(const std::function<void()>& f, int min_reps, double min_seconds, bool warm_up = true) {
  if (warm_up) f();
  double best = 1e30, total = 0;
  for (int r = 0; r < min_reps || (total < min_seconds && r < 1000); ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

// Random BF16 weights of a trained-model-like range (|w| ~ 1e-3..1e-1), written straight into the tensor.
at::Tensor random_bf16(int64_t rows, int64_t cols, uint64_t seed) {
  at::Tensor w = at::empty({rows, cols}, at::kBFloat16);
  auto* p = static_cast<uint16_t*>(w.data_ptr());
  const int64_t n = rows * cols;
  at::parallel_for(0, n, 1 << 20, [&](int64_t b, int64_t e) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + uint64_t(b) * 0xD1B54A32D192ED03ull + 1;
    for (int64_t i = b; i < e; ++i) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      p[i] = uint16_t((s & 0x8000u) | ((117u + (s >> 16) % 7u) << 7) | ((s >> 24) & 0x7Fu));
    }
  });
  return w;
}

struct Row {
  std::string name;
  std::string unit;
  double ours = 0, aten = 0;
  double speedup_vs_bf16 = 0;  // block-quantized GEMV rows: time of the BF16 GEMV / time of this one
};

constexpr int64_t kBatchRows = 8;

void run_bench(int threads, bool json, bool quick, bool aten, const std::string& only, std::optional<k::Isa> isa) {
  k::set_threads(threads);
  use_isa_flag(isa);
  // The batched rows' activations: bf16 where the CPU multiplies them natively, as bmx bench llm's auto.
  const k::Precision batch_precision =
      k::active_isa() == k::Isa::avx512_bf16 ? k::Precision::bf16_activations : k::Precision::float32;
  at::set_num_threads(k::threads());
  // The ceiling: the best of every probe in the run (the host's rate drifts within minutes): a scratch buffer, and
  // the copies a from-memory row cycles through, read in turn just before and after it is timed, best of any one
  // copy (a call reads one copy; the best call is the row's figure). Regions of memory on this kind of virtual
  // machine read at different rates: a 2-thread scratch probe alone gave 40 GB/s while the GEMVs read their own
  // copies at 42-47, and 105-119 % "of read bandwidth" was printed.
  double bw = k::measure_read_bandwidth_gbs();
  std::vector<Row> rows;
  const double min_s = quick ? 0.05 : 0.3;
  // Best seconds of `call` streaming the copies in `buffers` from memory, with those copies probed just before and
  // after (into the ceiling).
  auto from_memory = [&](const std::vector<k::MemoryRange>& buffers, const std::function<void()>& call) {
    bw = std::max(bw, k::measure_read_bandwidth_gbs(buffers, 4));
    const double t = best_seconds(call, 10, min_s);
    bw = std::max(bw, k::measure_read_bandwidth_gbs(buffers, 4));
    return t;
  };

  struct Shape {
    int64_t n, k;
    const char* what;
  };
  for (Shape s : {Shape{9728, 2560, "gate/up"}, Shape{2560, 9728, "down"}, Shape{151936, 2560, "lm head"}}) {
    if (only == "gemm") break;
    // Enough copies of W to exceed the caches several times over, used in turn, so that every call
    // streams its weights from memory as a decode step does.
    const double bytes = double(s.n) * double(s.k) * 2;
    const int copies = int(std::max(1.0, std::ceil(double(std::size_t(256) << 20) / bytes)));
    std::vector<at::Tensor> ws;
    for (int c = 0; c < copies; ++c) ws.push_back(random_bf16(s.n, s.k, uint64_t(s.n * 31 + s.k + c)));
    at::Tensor x = at::randn({1, s.k});
    at::Tensor y = at::empty({1, s.n});
    std::vector<k::MemoryRange> bf16_buffers;
    for (const at::Tensor& w : ws) bf16_buffers.push_back({w.data_ptr(), std::size_t(bytes)});
    int turn = 0;
    const double ours = from_memory(bf16_buffers, [&] {
      const at::Tensor& w = ws[std::size_t(turn++ % copies)];
      k::matmul(x.data_ptr<float>(), s.k, static_cast<const uint16_t*>(w.data_ptr()), s.k, k::WeightType::bf16,
                y.data_ptr<float>(), s.n, 1, s.n, s.k);
    });
    at::Tensor xb = x.to(at::kBFloat16);
    const double t_aten =
        aten ? best_seconds([&] { at::matmul(xb, ws[std::size_t(turn++ % copies)].t()); }, 2, min_s) : 0.0;
    rows.push_back({"GEMV 1x" + std::to_string(s.k) + " . " + std::to_string(s.n) + "x" + std::to_string(s.k) +
                        "^T (" + s.what + ")",
                    "GB/s", bytes / ours / 1e9, aten ? bytes / t_aten / 1e9 : 0.0});
    // Several sequences decoded together (8 x rows, the activations of bmx bench llm's auto precision): W is read
    // once for all of them, so this row also streams from memory, unless the arithmetic cannot keep up.
    at::Tensor x8 = at::randn({kBatchRows, s.k});
    at::Tensor y8 = at::empty({kBatchRows, s.n});
    auto batch_row = [&](const std::string& name, const std::function<void(const at::Tensor&)>& product,
                         const std::vector<at::Tensor>& mats, const std::vector<k::MemoryRange>& buffers) {
      const k::Precision before = k::precision();
      k::set_precision(batch_precision);
      const bool rounded = k::rounds_activations(kBatchRows);
      const double t = from_memory(buffers, [&] { product(mats[std::size_t(turn++ % copies)]); });
      k::set_precision(before);
      rows.push_back({name + ", " + std::to_string(kBatchRows) + " x rows (" + (rounded ? "bf16" : "float32") +
                          " activations)",
                      "GB/s", bytes / t / 1e9, 0.0});
    };
    batch_row("  same", [&](const at::Tensor& w) {
      k::matmul(x8.data_ptr<float>(), s.k, static_cast<const uint16_t*>(w.data_ptr()), s.k, k::WeightType::bf16,
                y8.data_ptr<float>(), s.n, kBatchRows, s.n, s.k);
    }, ws, bf16_buffers);
    // Long rows as the decoder keeps them when it owns the memory: in pair tiles (pair_tiles.h).
    if (k::pair_tiles_pay(k::WeightType::bf16, s.n, s.k)) {
      std::vector<at::Tensor> tiled;
      std::vector<k::MemoryRange> tiled_buffers;
      for (const at::Tensor& w : ws) {
        tiled.push_back(w.clone());
        k::to_pair_tiles_in_place(static_cast<uint16_t*>(tiled.back().data_ptr()), s.n, s.k);
        tiled_buffers.push_back({tiled.back().data_ptr(), std::size_t(bytes)});
      }
      const double t = from_memory(tiled_buffers, [&] {
        const at::Tensor& w = tiled[std::size_t(turn++ % copies)];
        k::matmul_pair_tiles(x.data_ptr<float>(), s.k, static_cast<const uint16_t*>(w.data_ptr()),
                             y.data_ptr<float>(), s.n, 1, s.n, s.k);
      });
      Row r{"  same, BF16 in pair tiles", "GB/s", bytes / t / 1e9, 0.0};
      r.speedup_vs_bf16 = ours / t;
      rows.push_back(r);
      batch_row("  same, in pair tiles", [&](const at::Tensor& w) {
        k::matmul_pair_tiles(x8.data_ptr<float>(), s.k, static_cast<const uint16_t*>(w.data_ptr()),
                             y8.data_ptr<float>(), s.n, kBatchRows, s.n, s.k);
      }, tiled, tiled_buffers);
    }
    // The same rows with W small enough to stay in the last-level cache (half of it, in whole pieces of 512 rows so
    // that both threads get the same work): the kernel's own rate, which the memory rate above can only approach
    // where this one is well above it.
    const int64_t cached_rows = std::min<int64_t>(
        s.n, std::max<int64_t>(512, int64_t(k::last_level_cache_bytes() / 2 / std::size_t(s.k * 2)) / 512 * 512));
    const std::string in_cache = "  same, " + std::to_string(cached_rows) + " rows in cache";
    {
      const at::Tensor& w = ws[0];
      const double t = best_seconds(
          [&] {
            k::matmul(x.data_ptr<float>(), s.k, static_cast<const uint16_t*>(w.data_ptr()), s.k, k::WeightType::bf16,
                      y.data_ptr<float>(), s.n, 1, cached_rows, s.k);
          },
          10, min_s);
      rows.push_back({in_cache, "GB/s", double(cached_rows) * double(s.k) * 2 / t / 1e9, 0.0});
    }
    // The same product with 8- and 4-bit weights: fewer bytes per step, what a quantized decode reads.
    for (k::BlockFormat f : {k::BlockFormat::q8_0, k::BlockFormat::q4_0}) {
      // As many copies as fill the same 256 MiB at their own size, as the BF16 rows do: with the BF16 rows' count,
      // q4_0's copies of gate/up held 84 MiB, under 3x a 32 MiB L3. (One core here read 41-43 GB/s for q8_0 from
      // memory either way.)
      std::vector<k::BlockMatrix> qs{k::quantize_rows(f, static_cast<const uint16_t*>(ws[0].data_ptr()), s.k,
                                                      k::WeightType::bf16, s.n, s.k)};
      k::reorder(qs[0], k::preferred_block_order());  // in the order the decoder keeps them
      const double qbytes = double(qs[0].quants.size() + 2 * qs[0].scales.size());
      const int qcopies = int(std::max(1.0, std::ceil(double(std::size_t(256) << 20) / qbytes)));
      while (int(qs.size()) < qcopies) qs.push_back(qs[0]);
      std::vector<k::MemoryRange> q_buffers;
      for (const k::BlockMatrix& q : qs) {
        q_buffers.push_back({q.quants.data(), q.quants.size()});
        q_buffers.push_back({q.scales.data(), 2 * q.scales.size()});
      }
      const double tq = from_memory(q_buffers, [&] {
        k::matmul_blocks(x.data_ptr<float>(), s.k, qs[std::size_t(turn++ % qcopies)].view(), y.data_ptr<float>(), s.n, 1);
      });
      Row r{std::string("  same, ") + k::format_name(f) + " weights (" + k::block_kernels_name() + ")", "GB/s",
            qbytes / tq / 1e9, 0.0};
      r.speedup_vs_bf16 = ours / tq;
      rows.push_back(r);
      k::BlockMatrixView cached = qs[0].view();
      cached.rows = cached_rows;
      const double tc = best_seconds(
          [&] { k::matmul_blocks(x.data_ptr<float>(), s.k, cached, y.data_ptr<float>(), s.n, 1); }, 10, min_s);
      rows.push_back({in_cache + ", " + k::format_name(f), "GB/s",
                      qbytes * double(cached_rows) / double(s.n) / tc / 1e9, 0.0});
    }
  }

  if (only != "gemv") {
    const int64_t M = 512, N = 9728, K = 2560;
    at::Tensor w = random_bf16(N, K, 7);
    at::Tensor x = at::randn({M, K});
    at::Tensor y = at::empty({M, N});
    const double flop = 2.0 * M * N * K;
    auto ours = [&] {
      k::matmul(x.data_ptr<float>(), K, static_cast<const uint16_t*>(w.data_ptr()), K, k::WeightType::bf16,
                y.data_ptr<float>(), N, M, N, K);
    };
    at::Tensor xb = x.to(at::kBFloat16);
    // ATen's CPU BF16 matmul takes tens of seconds here: one call, no warm-up.
    const double aten_bf16 = aten ? best_seconds([&] { at::matmul(xb, w.t()); }, 1, 0, false) : 0.0;
    k::set_precision(k::Precision::float32);
    const double t32 = best_seconds(ours, 2, min_s);
    rows.push_back({"GEMM 512x2560 . 9728x2560^T, float32 activations", "GFLOP/s", flop / t32 / 1e9,
                    aten ? flop / aten_bf16 / 1e9 : 0.0});
    k::set_precision(k::Precision::bf16_activations);
    const double t16 = best_seconds(ours, 2, min_s);
    k::set_precision(k::Precision::float32);
    rows.push_back({"GEMM 512x2560 . 9728x2560^T, bf16 activations", "GFLOP/s", flop / t16 / 1e9,
                    aten ? flop / aten_bf16 / 1e9 : 0.0});
    if (aten) {
      at::Tensor wf = w.to(at::kFloat);  // ATen's best case: a float32 copy of the weights (2x the memory)
      const double aten_f32 = best_seconds([&] { at::matmul(x, wf.t()); }, 2, min_s);
      rows.push_back({"  (ATen float32 on a float32 copy of W, for reference)", "GFLOP/s", flop / aten_f32 / 1e9,
                      flop / aten_f32 / 1e9});
    }
  }

  if (json) {
    nlohmann::json j;
    j["isa"] = k::isa_name(k::active_isa());
    j["threads"] = k::threads();
    j["read_bandwidth_gbs"] = bw;
    for (const Row& r : rows)
      j["results"].push_back({{"name", r.name}, {"unit", r.unit}, {"bmx", r.ours},
                              {"aten", aten && r.aten > 0 ? nlohmann::json(r.aten) : nlohmann::json()},
                              {"speedup_vs_bf16", r.speedup_vs_bf16 > 0 ? nlohmann::json(r.speedup_vs_bf16) : nlohmann::json()}});
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("bmx kernels: %s, %d threads; read bandwidth %.1f GB/s (best probe: a scratch buffer and each row's own matrices)\n", k::isa_name(k::active_isa()),
              k::threads(), bw);
  std::printf("%-62s %10s %10s %7s %s\n", "", "bmx", "ATen bf16", "ratio", "");
  for (const Row& r : rows) {
    std::string extra;
    if (r.unit == "GB/s") extra = "(" + std::to_string(int(100 * r.ours / bw + 0.5)) + "% of read bandwidth)";
    if (r.speedup_vs_bf16 > 0) {
      char b[64];
      std::snprintf(b, sizeof b, ", %.2fx the BF16 GEMV's speed in rows", r.speedup_vs_bf16);
      extra.insert(extra.size() - 1, b);
    }
    if (aten && r.aten > 0)
      std::printf("%-62s %10.1f %10.1f %7.2f %s %s\n", r.name.c_str(), r.ours, r.aten, r.ours / r.aten,
                  r.unit.c_str(), extra.c_str());
    else
      std::printf("%-62s %10.1f %10s %7s %s %s\n", r.name.c_str(), r.ours, "-", "-", r.unit.c_str(), extra.c_str());
  }
}

}  // namespace

void add_kernel_bench(CLI::App& bench) {
  auto* cmd = bench.add_subcommand(
      "kernels",
      "Speed of the BF16-weight GEMV (decode) and GEMM (prefill) kernels on Qwen3-4B-sized matrices next to "
      "ATen on the same data, and the memory read bandwidth");
  auto threads = std::make_shared<int>(0);
  auto json = std::make_shared<bool>(false);
  auto quick = std::make_shared<bool>(false);
  auto no_aten = std::make_shared<bool>(false);
  auto only = std::make_shared<std::string>("all");
  auto isa = std::make_shared<std::optional<k::Isa>>();
  cmd->add_option("-t,--threads", *threads, "Threads (default: all cores)");
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->add_flag("--quick", *quick, "Fewer repetitions");
  cmd->add_flag("--no-aten", *no_aten, "Skip the ATen comparison (its BF16 GEMM alone takes ~30 s)");
  cmd->add_option("--only", *only, "Run only the GEMV or the GEMM part")
      ->check(CLI::IsMember({"all", "gemv", "gemm"}));
  add_isa_flag(cmd, *isa);
  cmd->callback([=] { run_bench(*threads, *json, *quick, !*no_aten, *only, *isa); });
}

}  // namespace bmx::app
