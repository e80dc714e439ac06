// torch.save checkpoints (zip + pickle, e.g. checkpoints/best_valid.pth of a GCP-VQVAE folder): open, unpickle,
// materialise every tensor. TorchCheckpoint maps a path: each input is written to a scratch file first.
#include <ATen/ATen.h>

#include "bmx/core/io/torch_checkpoint.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bmx::fuzz::scratch_file("checkpoint.pth", bmx::fuzz::as_text(data, size));
  return bmx::fuzz::run_input([&] {
    const bmx::TorchCheckpoint ckpt(path);
    (void)ckpt.root().repr();
    for (const auto& [name, t] : ckpt.tensors()) {
      if (t.is_floating_point()) (void)t.sum().item<double>();
    }
  });
}
