// The GCP-VQVAE model folder's YAML configs, loaded as `bmx prot` loads a folder (GcpVqvae::load): the input
// replaces one of the three files of the tiny test model (shared/vectors/gcp/tiny_model); which one is named by
// the input's first line ("# config_vqvae.yaml", "# config_gcpnet_encoder.yaml", "# config_geometric_decoder.yaml";
// otherwise the first). The other two files and the checkpoint are the tiny model's, so a config that passes is
// checked against real tensors (issue 17: num_layers 1e9 must be refused before anything is allocated).
// The loader takes a folder: the input is written into a scratch model folder (one file write per input; a config
// that passes also costs a load of the 4.8 MB checkpoint, ~20 ms).
#include <filesystem>
#include <fstream>
#include <iterator>

#include "bmx/prot3d/gcp_vqvae.h"
#include "fuzz_support.h"

namespace fs = std::filesystem;

namespace {
const char* const kFiles[] = {"config_vqvae.yaml", "config_gcpnet_encoder.yaml", "config_geometric_decoder.yaml"};

const fs::path& model_dir() {
  static const fs::path dir = [] {
    const fs::path tiny = bmx::fuzz::shared_file("vectors/gcp/tiny_model");
    const fs::path d = bmx::fuzz::scratch_dir() / "model";
    fs::create_directories(d / "checkpoints");
    fs::create_symlink(tiny / "checkpoints" / "best_valid.pth", d / "checkpoints" / "best_valid.pth");
    return d;
  }();
  return dir;
}
// Puts the tiny model's file back (written, not copied: the reference files are read-only).
void restore(int i) {
  static std::string original[3];
  if (original[i].empty()) {
    std::ifstream in(bmx::fuzz::shared_file("vectors/gcp/tiny_model") / kFiles[i], std::ios::binary);
    original[i].assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bmx::fuzz::scratch_file(std::string("model/") + kFiles[i], original[i]);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = bmx::fuzz::as_text(data, size);
  const fs::path& dir = model_dir();
  int which = 0;
  for (int i = 0; i < 3; ++i)
    if (text.substr(0, text.find('\n')).find(kFiles[i]) != std::string_view::npos) which = i;
  // The file replaced last time gets the tiny model's copy back first (the others are still the tiny model's).
  static int last = -1;
  if (last < 0)
    for (int i = 0; i < 3; ++i) restore(i);
  else if (last != which)
    restore(last);
  last = which;
  bmx::fuzz::scratch_file(std::string("model/") + kFiles[which], text);
  return bmx::fuzz::run_input([&] {
    const auto model = bmx::prot3d::GcpVqvae::load(dir.string());
    BMX_FUZZ_CHECK(model.codebook_size() > 0 && model.max_length() > 0);
  });
}
