#include "bmx/core/util/math_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include "bmx/core/nn/kernels.h"
#include "bmx/core/util/parallel.h"

namespace bmx {

namespace {

template <class F>
F blas_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

void set_math_threads(int threads) {
  threads = thread_count(threads);
  at::set_num_threads(1);
  kernels::set_threads(threads);
  if (auto set = blas_symbol<void (*)(int)>("openblas_set_num_threads")) set(1);
}

int math_threads() {
  static const auto get = blas_symbol<int (*)()>("openblas_get_num_threads");  // asked once per product
  return get ? get() : 0;
}

}  // namespace bmx
