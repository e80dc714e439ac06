// The MolStrucTok multi-head decoder's MLP (Linear-BatchNorm-ReLU, Linear-BatchNorm-ReLU, Linear; spec
// molstructok.md §5) in float32 without libtorch. Each Linear's sums are taken in double and rounded once (the
// same bits on every machine; PyTorch's float32 sums depend on the BLAS kernel the CPU gets), each eval-mode
// BatchNorm as ATen computes it. It runs once per code at load time, so its rounding is that of every decoded atom.
#pragma once
#include <vector>

namespace bmx::mol3d {

struct LinearF32 {
  int in = 0, out = 0;
  const float* weight = nullptr;  // [out][in]
  const float* bias = nullptr;    // [out]
};

struct BatchNormF32 {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* mean = nullptr;
  const float* var = nullptr;
  float eps = 1e-5f;
};

// x [rows][layers[0].in] -> [rows][layers[2].out].
std::vector<float> decoder_mlp(const std::vector<float>& x, int rows, const LinearF32 (&linear)[3],
                               const BatchNormF32 (&norm)[2]);

}  // namespace bmx::mol3d
