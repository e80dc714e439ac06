// Run-time choice of the instruction set, the thread split over N, and the bandwidth probe.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/pair_tiles.h"
#include "bmx/core/nn/testing.h"
#include "bmx/core/util/parallel.h"
#include "bmx/core/util/thread_pool.h"
#include "kernels_impl.h"
#include "product_impl.h"

namespace bmx::kernels {

namespace {

Isa detect() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (avx512 && __builtin_cpu_supports("avx512bf16")) return Isa::avx512_bf16;
  if (avx512) return Isa::avx512;
  if (avx2) return Isa::avx2;
#endif
  return Isa::scalar;
}

const detail::IsaKernels& kernels_for(Isa isa);
Isa verified(Isa isa);

bool detect_avx512_vnni() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

const Isa g_detected = detect();
std::atomic<Isa> g_active{g_detected};
std::once_flag g_checked;  // the detected level is checked on first use, not in every program's start-up
std::atomic<Precision> g_precision{Precision::float32};

std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
int g_threads = 0;

ThreadPool& pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) {
    if (g_threads <= 0) g_threads = int(std::max(1u, std::thread::hardware_concurrency()));
    g_pool = std::make_unique<ThreadPool>(g_threads);
  }
  return *g_pool;
}

const detail::IsaKernels& kernels_for(Isa isa) {
  static const detail::IsaKernels table[] = {detail::scalar_kernels(), detail::avx2_kernels(),
                                             detail::avx2_bf16_emulated_kernels(), detail::avx512_kernels(),
                                             detail::avx512_bf16_kernels()};
  return table[int(isa)];
}

// Whether the GEMV of M rows (2 <= M <= gemv_max_rows) multiplies x rounded to bf16 pairs.
bool small_m_rounds(const detail::IsaKernels& ks, int64_t M, WeightType wtype) {
  return ks.pairs_gemv && wtype == WeightType::bf16 && M >= 2 && M <= ks.gemv_max_rows &&
         g_precision.load() == Precision::bf16_activations;
}

// x's M rows as bf16 pairs (p.xpairs, p.ldxp set): ceil(K/2) words a row, the odd tail padded with 0. A prefill's
// rows are shared out on the pool; a decode batch's few are quicker on this thread than a hand-off.
void round_to_pairs(const detail::IsaKernels& ks, detail::Problem& p, std::vector<uint32_t>& pairs) {
  const int64_t kp = (p.K + 1) / 2;
  pairs.resize(std::size_t(p.M * kp));
  const auto row = [&](int64_t m, int) {
    (ks.to_pairs ? ks.to_pairs : detail::to_pairs_portable)(p.x + m * p.ldx, p.K, pairs.data() + m * kp);
  };
  if (p.M > ks.gemv_max_rows) {
    pool().run(p.M, row);
  } else {
    for (int64_t m = 0; m < p.M; ++m) row(m, 0);
  }
  p.xpairs = pairs.data();
  p.ldxp = kp;
}

// The GEMV for p (M <= gemv_max_rows) in `layout`: with bf16_x (small_m_rounds), the level's kernel on x rounded
// to bf16 pairs; else the level's split-x kernel for one x row of BF16 weights (in rows only from
// K >= split_x.min_k), x split into `pairs` (p.xpairs, p.ldxp set), when x allows it; else the plain GEMV of that
// layout.
detail::RangeFn small_m_kernel(const detail::IsaKernels& ks, detail::Problem& p, std::vector<uint32_t>& pairs,
                               detail::Layout layout, bool bf16_x) {
  const bool tiles = layout == detail::Layout::pair_tiles;
  if (bf16_x && p.K > 0) {
    round_to_pairs(ks, p, pairs);
    return tiles ? ks.pairs_gemv.tiles : ks.pairs_gemv.rows;
  }
  const detail::RangeFn plain = tiles ? ks.tiles_gemv : ks.gemv;
  const detail::RangeFn split = tiles ? ks.split_x.tiles : ks.split_x.gemv;
  if (!split || p.M != 1 || p.wtype != WeightType::bf16 || (!tiles && p.K < ks.split_x.min_k)) return plain;
  const int64_t kp = (p.K + 1) / 2;
  pairs.resize(std::size_t(2 * kp));
  if (!ks.split_x.split(p.x, p.K, pairs.data())) return plain;
  p.xpairs = pairs.data();
  p.ldxp = kp;
  return split;
}

enum class Path { rows, bf16_pairs, pair_tiles, pair_tiles_bf16 };

// One small problem at `isa` against float64 sums: the row kernels, the kernels on bf16-rounded activations (the
// GEMM, or the GEMV of several rows), or the GEMV on pair tiles (BF16 W, N a multiple of 16, K even) with x as is
// or rounded.
bool agrees(const detail::IsaKernels& ks, WeightType wt, int64_t M, int64_t N, int64_t K, Path path) {
  const bool bf16_pairs = path == Path::bf16_pairs || path == Path::pair_tiles_bf16;
  uint32_t state = 12345u + uint32_t(M * 131 + N * 7 + K);
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return float(int32_t(state >> 8) % 2001 - 1000) / 1000.0f;
  };
  std::vector<float> x(static_cast<size_t>(M * K)), bias(static_cast<size_t>(N)), y(static_cast<size_t>(M * N), -7.0f);
  std::vector<uint16_t> w(size_t(N * K));
  for (auto& v : x) v = next();
  for (auto& v : bias) v = next();
  for (auto& v : w) {
    float f = next();
    if (wt == WeightType::bf16) {
      v = float_to_bf16(f);
    } else {  // an f16 of f: its bf16 bits are exact in f16's range here
      float g = bf16_to_float(float_to_bf16(f));
      uint32_t u;
      std::memcpy(&u, &g, 4);
      const uint32_t sign = (u >> 16) & 0x8000u;
      const int exp = int((u >> 23) & 0xFF) - 127 + 15;
      v = (u & 0x7FFFFFFFu) == 0 || exp <= 0 ? uint16_t(sign) : uint16_t(sign | (exp << 10) | ((u >> 13) & 0x3FFu));
    }
  }
  auto wval = [&](int64_t n, int64_t k) {
    uint16_t h = w[size_t(n * K + k)];
    return wt == WeightType::bf16 ? bf16_to_float(h) : f16_to_float(h);
  };
  std::vector<uint32_t> pairs;
  detail::Problem p{{x.data(), K, w.data(), K, wt, y.data(), N, M, N, K, bias.data()}};
  std::vector<uint16_t> tiles;
  if (path == Path::pair_tiles || path == Path::pair_tiles_bf16) {  // (x split where the level splits one row)
    tiles.resize(w.size());
    rows_to_pair_tiles(w.data(), N, K, tiles.data());
    p.w = tiles.data();
    small_m_kernel(ks, p, pairs, detail::Layout::pair_tiles, bf16_pairs)(p, 0, N);
  } else if (bf16_pairs && M <= ks.gemv_max_rows) {
    small_m_kernel(ks, p, pairs, detail::Layout::rows, true)(p, 0, N);
  } else if (bf16_pairs) {
    const int64_t kp = (K + 1) / 2;
    pairs.assign(size_t(M * kp), 0);
    for (int64_t m = 0; m < M; ++m) detail::to_pairs_portable(x.data() + m * K, K, pairs.data() + m * kp);
    p.xpairs = pairs.data();
    p.ldxp = kp;
    ks.gemm_bf16(p, 0, N);
  } else {
    (M <= ks.gemv_max_rows ? small_m_kernel(ks, p, pairs, detail::Layout::rows, false) : ks.gemm)(p, 0, N);
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double sum = bias[size_t(n)], mag = std::abs(bias[size_t(n)]);
      for (int64_t k = 0; k < K; ++k) {
        double xv = x[size_t(m * K + k)];
        if (bf16_pairs) xv = bf16_to_float(float_to_bf16(float(xv)));
        sum += xv * wval(n, k);
        mag += std::abs(xv * wval(n, k));
      }
      const double got = y[size_t(m * N + n)];
      if (!(std::abs(got - sum) <= 1e-5 * mag + 1e-6)) return false;
    }
  return true;
}

Isa verified(Isa isa) {
  while (isa != Isa::scalar && !kernels_agree(isa)) {
    Isa lower = isa == Isa::avx512_bf16 ? Isa::avx512 : isa == Isa::avx512 ? Isa::avx2 : Isa::scalar;
    std::fprintf(stderr, "bmx: kernels: the %s level disagrees with the reference sums on this CPU; using %s\n",
                 isa_name(isa), isa_name(lower));
    isa = lower;
  }
  return isa;
}

bool runs_on(Isa isa, Isa best) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2:
    case Isa::avx2_bf16_emulated: return best != Isa::scalar;
    case Isa::avx512: return best == Isa::avx512 || best == Isa::avx512_bf16;
    case Isa::avx512_bf16: return best == Isa::avx512_bf16;
  }
  return false;
}

struct Scratch {
  void* p = nullptr;
  std::size_t cap = 0;
  ~Scratch() { std::free(p); }
};

}  // namespace

bool cpu_has_avx512_vnni() {
  static const bool has = detect_avx512_vnni();
  return has;
}

namespace detail {

void to_pairs_portable(const float* x, int64_t K, uint32_t* dst) {
  for (int64_t j = 0; j < K / 2; ++j)
    dst[j] = uint32_t(float_to_bf16(x[2 * j])) | (uint32_t(float_to_bf16(x[2 * j + 1])) << 16);
  if (K & 1) dst[K / 2] = float_to_bf16(x[K - 1]);
}

void* thread_scratch(std::size_t bytes) {
  thread_local Scratch s;
  if (s.cap < bytes) {
    std::free(s.p);
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    s.p = std::aligned_alloc(64, rounded);
    if (!s.p) throw std::bad_alloc();
    s.cap = rounded;
  }
  return s.p;
}

}  // namespace detail

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx2_bf16_emulated: return "avx2-bf16-emulated";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512-bf16";
  }
  return "?";
}

bool kernels_agree(Isa isa) {
  const detail::IsaKernels& ks = kernels_for(isa);
  const int64_t g = std::min<int64_t>(ks.gemv_max_rows, 24);  // the scalar level has no GEMM switch
  // Ragged shapes: odd K (short and long rows), N off every tile width, M on both sides of the GEMV/GEMM
  // switch and of a tile.
  const int64_t shapes[][3] = {{1, 37, 70},      {1, 19, 4133},     {2, 64, 129},
                               {g, 33, 255},     {g + 1, 67, 300},  {g + 13, 129, 517}};
  for (WeightType wt : {WeightType::bf16, WeightType::f16})
    for (const auto& s : shapes) {
      if (s[0] <= 0) continue;
      if (!agrees(ks, wt, s[0], s[1], s[2], Path::rows)) return false;
      if (wt == WeightType::bf16 && ks.gemm_bf16 && s[0] > g && !agrees(ks, wt, s[0], s[1], s[2], Path::bf16_pairs))
        return false;
      if (wt == WeightType::bf16 && ks.pairs_gemv && s[0] >= 2 && s[0] <= g &&
          !agrees(ks, wt, s[0], s[1], s[2], Path::bf16_pairs))
        return false;
    }
  // Pair tiles: one x row (split where the level splits it) with a tail past the last group of 32, a pass cut
  // short, and full passes.
  if (ks.tiles_gemv) {
    const int64_t tile_shapes[][3] = {{1, 32, 4134}, {1, 16, 70}, {std::min<int64_t>(g, 5), 48, 130}, {g, 32, 66}};
    for (const auto& s : tile_shapes) {
      if (!agrees(ks, WeightType::bf16, s[0], s[1], s[2], Path::pair_tiles)) return false;
      if (ks.pairs_gemv && s[0] >= 2 && !agrees(ks, WeightType::bf16, s[0], s[1], s[2], Path::pair_tiles_bf16))
        return false;
    }
  }
  return true;
}

Isa detected_isa() { return g_detected; }
Isa active_isa() {
  std::call_once(g_checked, [] {
    Isa expected = g_detected;  // a level forced before first use stays forced
    g_active.compare_exchange_strong(expected, verified(g_detected));
  });
  return g_active.load();
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx2_bf16_emulated, Isa::avx512, Isa::avx512_bf16})
    if (runs_on(i, g_detected)) out.push_back(i);
  return out;
}

namespace {

void use_level(Isa isa) {
  if (!runs_on(isa, g_detected))
    throw std::invalid_argument(std::string("this CPU cannot run the ") + isa_name(isa) + " level");
  g_active.store(isa);
}

}  // namespace

// Tests force a level unchecked: they compare it with the reference themselves.
void testing::force_isa(Isa isa) { use_level(isa); }

void set_isa(Isa isa) {
  if (runs_on(isa, g_detected) && !kernels_agree(isa))
    throw std::invalid_argument(std::string("the ") + isa_name(isa) + " level disagrees with the reference sums on this CPU");
  use_level(isa);
}

std::optional<Isa> isa_from_name(const std::string& name) {
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx2_bf16_emulated, Isa::avx512, Isa::avx512_bf16})
    if (name == isa_name(i)) return i;
  return std::nullopt;
}

void set_precision(Precision p) { g_precision.store(p); }
Precision precision() { return g_precision.load(); }

bool rounds_activations(int64_t M, WeightType wtype) {
  const detail::IsaKernels& ks = kernels_for(active_isa());
  if (M <= ks.gemv_max_rows) return small_m_rounds(ks, M, wtype);
  return wtype == WeightType::bf16 && ks.gemm_bf16 && precision() == Precision::bf16_activations;
}

void set_threads(int n) {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  const int want = thread_count(n);
  if (want == g_threads && g_pool) return;  // keep the running workers
  g_threads = want;
  g_pool.reset();
}

ThreadPool& thread_pool() { return pool(); }

int threads() {
  pool();
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  return g_threads;
}

uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float bf16_to_float(uint16_t h) { return detail::bf16_bits_to_float(h); }

float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, u;
  if (exp == 0x1F) {
    u = sign | 0x7F800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while (!(man & 0x400u));
      u = sign | (uint32_t(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
    }
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace detail {

const IsaKernels& active_kernels() { return kernels_for(active_isa()); }

RangeFn prepare_product(const IsaKernels& ks, Problem& p, std::vector<uint32_t>& pairs, Layout layout) {
  if (layout == Layout::pair_tiles || p.M <= ks.gemv_max_rows)
    return small_m_kernel(ks, p, pairs, layout, small_m_rounds(ks, p.M, p.wtype));
  if (rounds_activations(p.M, p.wtype) && p.K > 0) {
    round_to_pairs(ks, p, pairs);
    return ks.gemm_bf16;
  }
  return ks.gemm;
}

}  // namespace detail

void matmul(const float* x, int64_t ldx, const uint16_t* w, int64_t ldw, WeightType wtype, float* y,
            int64_t ldy, int64_t M, int64_t N, int64_t K, const float* bias) {
  if (M <= 0 || N <= 0) return;
  detail::Problem p{{x, ldx, w, ldw, wtype, y, ldy, M, N, K, bias}};
  const detail::IsaKernels& ks = kernels_for(active_isa());
  const bool small_m = M <= ks.gemv_max_rows;
  std::vector<uint32_t> pairs;
  const detail::RangeFn fn = detail::prepare_product(ks, p, pairs);
  detail::run_in_tasks(p, small_m ? detail::gemv_task_rows(ks, K) : ks.gemm_chunk, small_m,
                       [&](int64_t n0, int64_t n1) { fn(p, n0, n1); });
}


void matmul_many(const MatmulJob* jobs, int count) {
  const detail::IsaKernels& ks = kernels_for(active_isa());
  // The products sharing the pass, and the pieces of rows handed out: a piece names its product, since a decode
  // step's products come in a few hundred pieces (a copy of the product in each was ~10 µs per call on one thread).
  struct Product {
    detail::Problem p;
    detail::RangeFn fn;
    detail::Layout layout;
  };
  struct Piece {
    int product;
    int64_t n0, n1;
  };
  std::vector<Product> products;
  std::vector<Piece> pieces;
  std::vector<std::vector<uint32_t>> pairs(std::size_t(std::max(count, 0)));  // each job's split x, if any
  for (int i = 0; i < count; ++i) {
    const MatmulJob& j = jobs[i];
    if (j.M <= 0 || j.N <= 0) continue;
    if (j.pair_tiles && (j.wtype != WeightType::bf16 || j.N % kPairTileRows != 0 || j.K % 2 != 0))
      throw std::invalid_argument("matmul_many: pair tiles need BF16 weights, N a multiple of 16 and an even K, not [" +
                                  std::to_string(j.N) + ", " + std::to_string(j.K) + "]");
    if (j.M > ks.gemv_max_rows || (j.pair_tiles && !ks.tiles_gemv)) {
      if (j.pair_tiles) matmul_pair_tiles(j.x, j.ldx, j.w, j.y, j.ldy, j.M, j.N, j.K, j.bias);
      else matmul(j.x, j.ldx, j.w, j.ldw, j.wtype, j.y, j.ldy, j.M, j.N, j.K, j.bias);
      continue;
    }
    detail::Problem p{j};
    const detail::Layout layout = j.pair_tiles ? detail::Layout::pair_tiles : detail::Layout::rows;
    // Products of one x (q/k/v, gate/up) in the same layout share its conversion and kernel: which kernel (and
    // which form of x) depends only on x, its shape, the weight type and the layout.
    const auto same_x = std::find_if(products.begin(), products.end(), [&](const Product& q) {
      return q.p.x == j.x && q.p.ldx == j.ldx && q.p.M == j.M && q.p.K == j.K && q.p.wtype == j.wtype &&
             q.layout == layout;
    });
    detail::RangeFn fn;
    if (same_x != products.end()) {
      p.xpairs = same_x->p.xpairs;
      p.ldxp = same_x->p.ldxp;
      fn = same_x->fn;
    } else {
      fn = small_m_kernel(ks, p, pairs[std::size_t(i)], layout, small_m_rounds(ks, p.M, p.wtype));
    }
    products.push_back({p, fn, layout});
    const int64_t chunk = detail::gemv_task_rows(ks, j.K);
    pieces.reserve(pieces.size() + std::size_t((j.N + chunk - 1) / chunk));
    for (int64_t n = 0; n < j.N; n += chunk) pieces.push_back({int(products.size()) - 1, n, std::min(j.N, n + chunk)});
  }
  if (pieces.empty()) return;
  pool().run(int64_t(pieces.size()), [&](int64_t t, int) {
    const Piece& c = pieces[size_t(t)];
    const Product& product = products[std::size_t(c.product)];
    product.fn(product.p, c.n0, c.n1);
  }, Schedule::contiguous);
}

}  // namespace bmx::kernels
