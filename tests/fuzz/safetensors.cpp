// safetensors files (model.safetensors of a downloaded model folder): header checks, then every tensor read and
// summed so that a view outside the file would be touched. SafetensorsFile maps a path: each input is written to
// a scratch file first.
#include <ATen/ATen.h>

#include "bmx/core/io/safetensors.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bmx::fuzz::scratch_file("model.safetensors", bmx::fuzz::as_text(data, size));
  return bmx::fuzz::run_input([&] {
    const bmx::SafetensorsFile file(path);
    for (const auto& [name, entry] : file.entries()) {
      BMX_FUZZ_CHECK(entry.begin <= entry.end && entry.end <= size);
      const at::Tensor t = file.tensor(name);
      if (t.is_floating_point() || t.scalar_type() == at::kLong || t.scalar_type() == at::kInt)
        (void)t.sum().item<double>();
    }
  });
}
