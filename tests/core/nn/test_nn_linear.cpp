// nn::linear dispatches float32 × BF16/F16-weight products to bmx::kernels; the result must equal the
// float64 product and keep ATen's shapes and semantics (batch dims, bias, strided inputs).
#include <doctest/doctest.h>

#include <ATen/ATen.h>

#include "bmx/core/nn/nn.h"

namespace {

void check_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  at::Tensor y = bmx::nn::linear(x, w, b);
  at::Tensor ref = at::linear(x.to(at::kDouble), w.to(at::kDouble),
                              b.defined() ? c10::optional<at::Tensor>(b.to(at::kDouble)) : c10::nullopt);
  CHECK(y.scalar_type() == at::kFloat);
  REQUIRE(y.sizes() == ref.sizes());
  const double mag = at::linear(x.abs().to(at::kDouble), w.abs().to(at::kDouble)).abs().max().item<double>();
  const double err = (y.to(at::kDouble) - ref).abs().max().item<double>();
  INFO("max error " << err << " of magnitude " << mag);
  CHECK(err <= 1e-5 * mag + 1e-6);
}

}  // namespace

TEST_CASE("nn::linear with BF16 and F16 weights") {
  at::manual_seed(3);
  for (auto dt : {at::kBFloat16, at::kHalf}) {
    at::Tensor w = at::randn({45, 77}).mul(0.1).to(dt);
    at::Tensor b = at::randn({45});
    check_linear(at::randn({1, 77}), w, {});
    check_linear(at::randn({2, 3, 77}), w, b);
    check_linear(at::randn({600, 77}), w, b);                       // prefill-sized M
    check_linear(at::randn({77, 5}).t(), w, b);                      // x with a non-unit inner stride
    check_linear(at::randn({4, 90}).narrow(1, 5, 77), w, {});       // x rows with a stride > K
    check_linear(at::randn({3, 77}), at::randn({45, 100}).to(dt).narrow(1, 10, 77), b);  // strided W rows
    check_linear(at::randn({7}).narrow(0, 0, 7).expand({2, 7}).contiguous().view({2, 7}),
                 at::randn({3, 7}).to(dt), b.narrow(0, 0, 3).to(dt));  // bias in the weight dtype
  }
  // float32 weights still go through ATen.
  at::Tensor wf = at::randn({8, 16});
  check_linear(at::randn({5, 16}), wf, {});
}
