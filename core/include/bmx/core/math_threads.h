// Threads for the maths inside one computation (one chain, one molecule): matrix products and elementwise work.
#pragma once

namespace bmx {

// BLAS (OpenBLAS, when that is the BLAS loaded, found at run time) and bmx's own kernels (kernels::set_threads)
// get `threads` (<= 0: all cores); ATen's own
// OpenMP pool gets 1. With both pools active on few cores, the OpenMP workers spin-wait after each elementwise op
// while the BLAS workers need those cores (measured 2-3x slower on 2 cores); the matrix products are nearly all
// of the work of a transformer, so they get the threads.
void set_math_threads(int threads);

// Threads BLAS was last given by set_math_threads (or its own default when it was never called; 0 if unknown).
int math_threads();

}  // namespace bmx
