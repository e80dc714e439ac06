// Float32 matrix products on the kernels' threads: the output columns are split over kernels::thread_pool() and
// each part is one single-threaded sgemm of the BLAS (OpenBLAS in Debian's libtorch, found at run time).
// set_math_threads leaves the BLAS one thread so that its own workers never start: with their pool and ours on
// two cores, BLAS workers spin-wait after every product on the cores the next loop (attention, SwiGLU) needs,
// measured to double the time of those loops.
#pragma once
#include <cstdint>

namespace bmx::kernels {

// y[m, n] = sum_k x[m, k] W[n, k] (+ bias[n]), or y[m, n] += the same when `accumulate`, for m < M, n < N.
// x [M, K], W [N, K] (a linear layer's weight), y [M, N]: row-major with row strides ldx, ldw, ldy.
void float_matmul(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t M,
                  int64_t N, int64_t K, const float* bias = nullptr, bool accumulate = false);

}  // namespace bmx::kernels
