// Tiny float32 dense layers and nearest-codeword search as plain loops, for networks too small for ATen:
// a 64-wide MLP on one molecule's atoms costs less than ATen's per-op dispatch. Hot loops are compiled
// for x86-64-v3 (AVX2 + FMA) and chosen at run time, with a portable fallback.
#pragma once
#include <cstddef>
#include <vector>

namespace bmx {

// y = x W^T + b for row-major x [rows, in]; optional ReLU. Weights are kept transposed ([in][out]) so that
// the inner loop runs over outputs and vectorises without reordering any sum.
struct DenseF32 {
  int in = 0, out = 0;
  std::vector<float> wt;    // [in][out]
  std::vector<float> bias;  // [out]

  // From PyTorch layout: weight [out][in], bias [out] (bias may be null).
  static DenseF32 from_linear(const float* weight, const float* bias, int out, int in);
  // Folds an eval-mode BatchNorm1d that follows this layer into it (computed in double, stored as float):
  // y' = (y - mean) / sqrt(var + eps) * gamma + beta.
  void fold_batch_norm(const float* gamma, const float* beta, const float* mean, const float* var, double eps);
  void forward(const float* x, std::size_t rows, float* y, bool relu) const;
};

// Nearest codeword by squared L2 distance with the expansion |z|^2 + |e_k|^2 - 2 z.e_k in float32 (the form
// PyTorch VQ layers use, so ties and near-ties resolve the same way); first index wins ties. A row with NaN
// gets index 0, as torch.argmin does.
struct NearestF32 {
  int dim = 0, size = 0;
  std::vector<float> blocked;  // codebook as [size/8][dim][8] for 8-wide dot products
  std::vector<float> norms;    // |e_k|^2
  float max_norm = 0.f;        // max_k |e_k|^2
  // Pruning: codewords projected on `proj_dim` orthonormal directions of most codebook variance give lower
  // bounds of distances, so exact distances are needed only for a few blocks (same result as a full scan).
  int proj_dim = 0;                 // 8, or 0: full scan
  std::vector<float> basis;         // [dim][proj_dim]
  std::vector<float> proj_blocked;  // [size/8][proj_dim][8]
  std::vector<float> proj_norms;    // [size/8 * 8], +inf past size

  NearestF32() = default;
  NearestF32(const float* codebook, int size, int dim);  // codebook [size][dim]
  // For each row of z [rows][dim]: best index, its distance, and the runner-up (index, distance).
  // Output pointers other than best may be null.
  void search(const float* z, std::size_t rows, int* best, float* best_distance, int* second,
              float* second_distance) const;
  // The same by computing every distance (for checks).
  void search_exhaustive(const float* z, std::size_t rows, int* best, float* best_distance, int* second,
                         float* second_distance) const;
};

}  // namespace bmx
