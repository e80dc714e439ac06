// Internal to quantized_matmul: the packed layout and the problem every instruction-set level's kernel solves.
// Included by quantized_matmul_<isa>.cpp after their `#pragma GCC target`, so it defines no inline function and
// instantiates no std:: template (an inline copy compiled for AVX-512 could become the one the linker keeps for
// the whole program).
#pragma once
#include <cstdint>

namespace bmx::kernels::detail {

constexpr int kInt16TileRows = 6;   // rows of x per tile of the packed x
constexpr int kInt16PanelRows = 16; // rows of W per panel (columns of y)
constexpr int kInt16Chunk = 16;     // pairs (32 products) summed in int32 before the float add

// One product in the packed form. x: [tiles][pairs][6] int16 pairs (rows past M are zero) and a scale per row;
// W: [panels][pairs][16] and a scale per row. Every level computes, for each output, the int32 sum of each
// chunk of 16 pairs, converts it to float and adds it to a float32 sum that starts at 0, chunk after chunk;
// then y = fma(sum, sx * sw, bias), plus the old y when accumulating. The integer sums are exact, so every level
// gives the same bits.
struct Int16Problem {
  const int32_t* xq = nullptr;
  const float* xs = nullptr;
  const int32_t* wq = nullptr;
  const float* ws = nullptr;
  int64_t M = 0, N = 0, pairs = 0;  // pairs: a multiple of kInt16Chunk
  const float* bias = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;
  bool accumulate = false;
};

// Computes the outputs of x tiles [t0, t1) against W panels [p0, p1) completely.
void int16_range_avx512_vnni(const Int16Problem& p, int64_t t0, int64_t t1, int64_t p0, int64_t p1);

}  // namespace bmx::kernels::detail
