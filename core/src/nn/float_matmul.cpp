#include "bmx/core/nn/float_matmul.h"

#include <dlfcn.h>

#include <algorithm>
#include <climits>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/math_threads.h"
#include "bmx/core/util/thread_pool.h"

namespace bmx::kernels {

namespace {

// cblas_sgemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

Sgemm blas_sgemm() {
  static const Sgemm f = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  return f;
}

// Whether the BLAS runs its own threads (set_math_threads was not called): then it gets the whole product, since
// two of our threads calling a multi-threaded OpenBLAS at once would contend for its one set of workers.
bool blas_threaded() { return math_threads() > 1; }

// Columns [n0, n1) of the product, on the calling thread.
void columns(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t M, int64_t n0,
             int64_t n1, int64_t K, const float* bias, bool accumulate) {
  const int64_t N = n1 - n0;
  if (bias)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = n0; n < n1; ++n) y[m * ldy + n] = accumulate ? y[m * ldy + n] + bias[n] : bias[n];
  const float beta = accumulate || bias ? 1.f : 0.f;
  const Sgemm sgemm = blas_sgemm();
  const bool fits = std::max({M, N, K, ldx, ldw, ldy}) <= INT_MAX;
  if (sgemm && fits && K > 0) {
    sgemm(kRowMajor, kNoTrans, kTrans, int(M), int(N), int(K), 1.f, x, int(ldx), w + n0 * ldw, int(ldw), beta,
          y + n0, int(ldy));
    return;
  }
  for (int64_t m = 0; m < M; ++m)  // no CBLAS in the process: plain loops, same result up to rounding
    for (int64_t n = n0; n < n1; ++n) {
      float s = 0.f;
      for (int64_t k = 0; k < K; ++k) s += x[m * ldx + k] * w[n * ldw + k];
      y[m * ldy + n] = beta != 0.f ? y[m * ldy + n] + s : s;
    }
}

}  // namespace

void float_matmul(const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy, int64_t M,
                  int64_t N, int64_t K, const float* bias, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  ThreadPool& pool = thread_pool();
  // One part per thread (each sgemm packs x once), in whole 16-column blocks; small products stay in one piece.
  const int64_t parts =
      M * N * K < (int64_t(1) << 21) || blas_threaded() ? 1 : std::min<int64_t>(pool.size(), (N + 15) / 16);
  const int64_t per = ((N + parts - 1) / parts + 15) & ~int64_t(15);
  pool.run((N + per - 1) / per, [&](int64_t part, int) {
    const int64_t n0 = part * per;
    columns(x, ldx, w, ldw, y, ldy, M, n0, std::min(N, n0 + per), K, bias, accumulate);
  });
}

}  // namespace bmx::kernels
