// Internal to the Qwen3 forward (qwen3.cpp) and nn::attention: the per-row float32 loops between the matrix
// products -- RMSNorm, SwiGLU, residual adds and attention of one query row (or of 4). They run on plain float buffers (no ATen
// call per token); AVX2+FMA versions are used when the CPU has them, portable loops otherwise.
#pragma once
#include <cstdint>

namespace bmx::detail {

struct DecoderOps {
  // y = (x / sqrt(mean(x²) + eps)) · w over n values (y may be x), as transformers: r in float32, x·r, then ·w.
  void (*rms_norm)(const float* x, const float* w, int64_t n, float eps, float* y);
  // g = silu(g) · u, silu(z) = z / (1 + exp(-z)).
  void (*silu_mul)(float* g, const float* u, int64_t n);
  // h += d.
  void (*add)(float* h, const float* d, int64_t n);
  // One query row q [D] against keys/values 0..nk-1 (rows of K and V, D floats apart). visible: null (all
  // keys visible) or one byte per key (0 = hidden). Softmax in float32 of (q·k)·scale; hidden keys weigh
  // exactly 0. A row with no visible key (a left-pad position) gives zeros. scratch: nk floats.
  void (*attend)(const float* q, const float* K, const float* V, int64_t nk, int64_t D, float scale,
                 const uint8_t* visible, float* scratch, float* out);
  // The same for up to 4 query rows at once (prefill-like work: every key and value is read once for the 4):
  // rows q + r·ldq (r < rows <= 4), keys given transposed (key j is column j of Kt [D][ldkt]; ldkt is a multiple
  // of 16 and the columns from nk on are zero), values V + j·ldv, results out + r·ldo. scratch: 4·ldkt floats.
  void (*attend_rows)(const float* q, int64_t ldq, int64_t rows, const float* Kt, int64_t ldkt, const float* V,
                      int64_t ldv, int64_t nk, int64_t D, float scale, const uint8_t* visible, float* scratch,
                      float* out, int64_t ldo);
};

const DecoderOps& decoder_ops();

}  // namespace bmx::detail
