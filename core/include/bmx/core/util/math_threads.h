// Threads for the maths inside one computation (one chain, one molecule): matrix products and elementwise work.
#pragma once

namespace bmx {

// bmx's own kernels (kernels::set_threads) get `threads` (<= 0: all cores); ATen's OpenMP pool and the BLAS
// (OpenBLAS, when that is the BLAS loaded, found at run time) get 1. Float32 products run on the kernels'
// threads as single-threaded sgemm calls (float_matmul.h), so no other pool's workers spin-wait next to them
// (two pools on few cores measured 2-3x slower for the loops between the products).
void set_math_threads(int threads);

// Threads the BLAS has (1 after set_math_threads; its own default when that was never called; 0 if unknown).
int math_threads();

}  // namespace bmx
