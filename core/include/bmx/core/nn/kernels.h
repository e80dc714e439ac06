// Hot kernels of the decoder runtime: y = x·Wᵀ with W in BF16 or F16 exactly as stored in safetensors
// (row-major [N, K], memory-mapped, never copied or repacked as a whole) and x, y in float32. (BF16 weights the
// process owns may be rearranged in place into pair tiles: pair_tiles.h.)
//   M <= 16 (decode): a streaming GEMV, memory-bound; W is read once, at memory bandwidth.
//   M > 16 (prefill): a cache-blocked GEMM that converts/packs one small block of W at a time
//   (a per-thread scratch of ~64-128 KiB: no second copy of the weights).
// The instruction set is chosen at run time: AVX-512 BF16 (vdpbf16ps) > AVX-512F > AVX2+FMA > scalar.
// Work is split over N on a persistent thread pool (set_threads).
#pragma once
#include <cstdint>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bmx {
class ThreadPool;
}

namespace bmx::kernels {

enum class WeightType { bf16, f16 };

// Instruction-set levels, ordered. avx2_bf16_emulated exists for tests only: the AVX2 kernels, except that
// the bf16-activation GEMM runs the packed vdpbf16ps algorithm with the dot product emulated in AVX2, so its
// data layout is checked on machines without AVX-512.
enum class Isa { scalar, avx2, avx2_bf16_emulated, avx512, avx512_bf16 };

const char* isa_name(Isa isa);
Isa detected_isa();                    // the best level this CPU (and OS) supports
// AVX-512 with VNNI (vpdpbusd, vpdpwssd): the integer dot products of the q8_0/q4_0 and int16 kernels.
bool cpu_has_avx512_vnni();
Isa active_isa();                      // the level in use (detected unless a test forced another)
// Whether the `isa` level's GEMV, GEMM and bf16-pair GEMM agree with a float64 loop on small problems with
// ragged edges. The detected level is checked this way on first use (~25 ms, once per process): a level that
// disagrees (a CPU the code was never run on) is passed over for the next lower one, with a line on stderr,
// rather than trusted.
bool kernels_agree(Isa isa);
std::vector<Isa> available_isas();     // every level this CPU can run, scalar first
// Runs the kernels at another level this CPU can run from now on, e.g. `bmx bench llm --isa avx2` measures an
// AVX2 machine's code paths on an AVX-512 one. std::invalid_argument when the CPU cannot run it, or when it
// disagrees with the reference sums here (kernels_agree).
void set_isa(Isa isa);
// The level isa_name() calls `name`, or nullopt.
std::optional<Isa> isa_from_name(const std::string& name);

// How the large-M (prefill) GEMM treats the activations:
//   float32: x is used in float32; results equal a float64 product within float32 rounding (default).
//   bf16_activations: x is rounded to BF16 once per call and multiplied with vdpbf16ps (float32
//   accumulation), twice the arithmetic rate of float32 FMA; what llama.cpp does. Only changes anything on
//   CPUs with AVX-512 BF16. It applies to every product of M >= 2 rows: prefill, and the GEMV of several
//   sequences decoded together, which is bound by that arithmetic, not by memory (4B, 8 sequences, 2 threads,
//   ~80 GB/s: 30 -> 45 tok/s). One x row (one sequence's decode, memory-bound) is never rounded: with AVX-512
//   BF16, one x row of K > 4096 (the down projection) is multiplied as two bf16 parts, hi + lo, each product
//   exact, which carries x to 2^-16 of its magnitude (float32 sums, as the float GEMV); x with a NaN, infinity
//   or |x| >= 2^127 takes the float GEMV.
enum class Precision { float32, bf16_activations };
void set_precision(Precision p);
Precision precision();
// Whether a matmul of M rows with weights of type wtype rounds x to BF16 at the current level and precision
// (only BF16 weights take the vdpbf16ps paths; M = 1 never does).
bool rounds_activations(int64_t M, WeightType wtype = WeightType::bf16);

// Threads used by the kernels (the caller counts as one). n <= 0: all hardware threads (the default).
// The workers spin ~100 µs after each product before sleeping, so that back-to-back products of a decode
// step do not pay a wake-up; other multi-threaded code running in between (ATen's own intra-op threads)
// competes with that spin, so a decoder is best run with at::set_num_threads(1) for its small ATen ops, or
// with its other loops on thread_pool().
void set_threads(int n);
int threads();
// The kernels' pool, for other hot loops of the runtime (attention, norms) to share the same threads;
// valid until the next set_threads().
ThreadPool& thread_pool();

// y[m, n] = sum_k x[m, k] · W[n, k] (+ bias[n]) for m < M, n < N.
// x: float32 [M, K] with row stride ldx; w: 16-bit [N, K] with row stride ldw (elements); y: float32
// [M, N] with row stride ldy; bias: float32 [N] or null. Pointers need no alignment.
void matmul(const float* x, int64_t ldx, const uint16_t* w, int64_t ldw, WeightType wtype, float* y,
            int64_t ldy, int64_t M, int64_t N, int64_t K, const float* bias = nullptr);

// Several independent products, e.g. the q/k/v or gate/up projections of one layer. Small-M products (decode)
// share one pass over the threads, which saves a synchronisation per product; larger ones run one after the
// other as matmul() (or matmul_pair_tiles()).
struct MatmulJob {
  const float* x;
  int64_t ldx;
  const uint16_t* w;
  int64_t ldw;
  WeightType wtype;
  float* y;
  int64_t ldy;
  int64_t M, N, K;
  const float* bias = nullptr;
  // w: BF16 in pair tiles (pair_tiles.h; ldw unused): N a multiple of 16 and K even, else std::invalid_argument.
  bool pair_tiles = false;
};
void matmul_many(const MatmulJob* jobs, int count);

// BF16 conversions (round to nearest even; NaN stays NaN).
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);
float f16_to_float(uint16_t h);

}  // namespace bmx::kernels
