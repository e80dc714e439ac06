// Test state of the kernels: a test that forces a level, a precision or a thread count restores the defaults.
#pragma once
#include "bmx/core/nn/kernels.h"
#include "bmx/core/nn/testing.h"

namespace bmx::test {

// Restores the detected level, float32 precision and all threads when a test ends.
struct RestoreKernels {
  ~RestoreKernels() {
    kernels::testing::force_isa(kernels::detected_isa());
    kernels::set_precision(kernels::Precision::float32);
    kernels::set_threads(0);
  }
};

}  // namespace bmx::test
