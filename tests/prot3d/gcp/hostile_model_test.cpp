// Issue 17: a GCP-VQVAE model folder is untrusted input. Config sizes are checked against the checkpoint before
// anything is allocated from them (num_layers: 1000000000 once allocated until the kernel killed bmx), and broken
// weights (NaN, inf, a codebook whose codes are all one) are refused at load, naming file and tensor.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "bmx/core/io/torch_checkpoint.h"
#include "bmx/core/util/error.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "shared.h"

using namespace bmx;
using namespace bmx::prot3d;
namespace fs = std::filesystem;

namespace {

fs::path tiny_model() { return test::shared_file("vectors/gcp/tiny_model"); }

// A copy of the tiny model folder (checkpoint copied, so that it can be damaged).
fs::path model_copy(const std::string& name) {
  const fs::path dir = test::scratch_dir("gcp_hostile_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir / "checkpoints");
  for (const char* f : {"config_vqvae.yaml", "config_gcpnet_encoder.yaml", "config_geometric_decoder.yaml"})
    fs::copy_file(tiny_model() / f, dir / f);
  fs::copy_file(tiny_model() / "checkpoints/best_valid.pth", dir / "checkpoints/best_valid.pth");
  return dir;
}

void edit_config(const fs::path& dir, const std::string& file, const std::string& from, const std::string& to) {
  std::string text = test::read_file(dir / file);
  const auto pos = text.find(from);
  REQUIRE_MESSAGE(pos != std::string::npos, from);
  text.replace(pos, from.size(), to);
  std::ofstream(dir / file, std::ios::trunc) << text;
}

// Rewrites the float32 values of one state_dict tensor in place: torch.save stores entries uncompressed, so the
// bytes sit in the archive at the entry's data offset (after its local header) plus the view's offset.
void patch_tensor(const fs::path& dir, const std::string& name, const std::function<void(float*, int64_t)>& edit) {
  const fs::path ckpt = dir / "checkpoints/best_valid.pth";
  TensorRef ref;
  std::string prefix;
  {
    // Stored names may carry torch.compile's "_orig_mod." (the loader removes it).
    TorchCheckpoint ck(ckpt.string());
    const PyValue* t = nullptr;
    for (const auto& [k, v] : ck.root().get("model_state_dict")->dict) {
      std::string key = k->s;
      for (std::size_t p; (p = key.find("_orig_mod.")) != std::string::npos;) key.erase(p, 10);
      if (key == name) t = v.get();
    }
    REQUIRE(t != nullptr);
    ref = *t->tensor;
  }
  REQUIRE(ref.dtype == "Float");
  std::string bytes = test::read_file(ckpt);
  const std::string entry = "/data/" + ref.storage_key;
  std::size_t header = std::string::npos;
  for (std::size_t p = bytes.find(std::string("PK\x03\x04", 4)); p != std::string::npos;
       p = bytes.find(std::string("PK\x03\x04", 4), p + 4)) {
    uint16_t name_len, extra_len;
    std::memcpy(&name_len, &bytes[p + 26], 2);
    std::memcpy(&extra_len, &bytes[p + 28], 2);
    const std::string entry_name = bytes.substr(p + 30, name_len);
    if (entry_name.size() > entry.size() && entry_name.compare(entry_name.size() - entry.size(), entry.size(), entry) == 0) {
      header = p + 30 + name_len + extra_len;
      break;
    }
  }
  REQUIRE(header != std::string::npos);
  int64_t numel = 1;
  for (int64_t s : ref.sizes) numel *= s;
  std::vector<float> values(static_cast<std::size_t>(numel));
  std::memcpy(values.data(), &bytes[header + ref.offset * 4], values.size() * 4);
  edit(values.data(), numel);
  std::memcpy(&bytes[header + ref.offset * 4], values.data(), values.size() * 4);
  std::ofstream(ckpt, std::ios::binary | std::ios::trunc) << bytes;
}

std::string load_error(const fs::path& dir) {
  try {
    GcpVqvae::load(dir.string());
  } catch (const InputError& e) {
    return e.what();
  }
  return "(loaded)";
}

}  // namespace

TEST_CASE("config sizes are checked against the checkpoint before anything is allocated") {
  SUBCASE("a billion GCPNet layers: refused at once, naming config file, key and the checkpoint's count") {
    const fs::path dir = model_copy("layers");
    edit_config(dir, "config_gcpnet_encoder.yaml", "      num_layers: 2\n      dropout",
                "      num_layers: 1000000000\n      dropout");
    const auto t0 = std::chrono::steady_clock::now();
    const std::string msg = load_error(dir);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(msg == (dir / "config_gcpnet_encoder.yaml").string() +
                     ":encoder.kwargs.model_cfg.num_layers: 1000000000, but the checkpoint " +
                     (dir / "checkpoints/best_valid.pth").string() +
                     " has 2 GCPNet interaction layers (encoder.interaction_layers.N)");
    CHECK(seconds < 60.0);  // allocating a billion layers first would run out of memory or take minutes
  }
  SUBCASE("transformer depth, codebook and widths name the checkpoint's numbers") {
    struct Case {
      const char *file, *from, *to, *expected;
    };
    const Case cases[] = {
        {"config_geometric_decoder.yaml", "depth: 2", "depth: 1000000000",
         "depth: 1000000000, but the checkpoint"},
        {"config_geometric_decoder.yaml", "depth: 2", "depth: 3", "has 2 decoder transformer blocks"},
        {"config_vqvae.yaml", "    encoder:\n      freeze_parameters: false\n      dimension: 64\n      ff_mult: 4\n      depth: 2",
         "    encoder:\n      freeze_parameters: false\n      dimension: 64\n      ff_mult: 4\n      depth: 99999999999",
         "model.vqvae.encoder.depth: 99999999999, but the checkpoint"},
        {"config_vqvae.yaml", "codebook_size: 512", "codebook_size: 4096", "has 512 codes"},
        {"config_vqvae.yaml", "      dim: 32\n", "      dim: 1048576\n", "has 32 code dimensions"},
        {"config_gcpnet_encoder.yaml", "chi_hidden_dim: 8", "chi_hidden_dim: 16",
         "chi_hidden_dim: 16, but the checkpoint"},
        {"config_gcpnet_encoder.yaml", "num_message_layers: 4", "num_message_layers: 400000", "has 4 message layers"},
        {"config_gcpnet_encoder.yaml", "num_feedforward_layers: 2", "num_feedforward_layers: 3",
         "has 2 feed-forward layers"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.to);
      const fs::path dir = model_copy("sizes");
      edit_config(dir, c.file, c.from, c.to);
      const std::string msg = load_error(dir);
      CHECK_MESSAGE(msg.find(c.expected) != std::string::npos, msg);
      CHECK(msg.find(c.file) != std::string::npos);
    }
  }
  SUBCASE("sizes no checkpoint confirms have sane bounds") {
    struct Case {
      const char *file, *from, *to, *expected;
    };
    const Case cases[] = {
        {"config_vqvae.yaml", "codebook_size: 512", "codebook_size: 1", "codebook_size: 1 is less than 2"},
        {"config_vqvae.yaml", "codebook_size: 512", "codebook_size: 0", "codebook_size: 0 is less than 2"},
        {"config_vqvae.yaml", "max_length: 512", "max_length: 4000000000", "model.max_length: 4000000000 is outside"},
        {"config_gcpnet_encoder.yaml", "- knn_16", "- knn_100000", "k must be in 1..1024"},
        {"config_geometric_decoder.yaml", "heads: 4", "heads: 1000000", "heads: 1000000 is outside"},
        {"config_gcpnet_encoder.yaml", "      num_layers: 2\n      dropout", "      num_layers: 0\n      dropout",
         "num_layers: 0 is less than 1"},
        {"config_geometric_decoder.yaml", "pos_scale_factor: 1.0", "pos_scale_factor: .nan", "pos_scale_factor"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.to);
      const fs::path dir = model_copy("bounds");
      edit_config(dir, c.file, c.from, c.to);
      const std::string msg = load_error(dir);
      CHECK_MESSAGE(msg.find(c.expected) != std::string::npos, msg);
      CHECK(msg.find(c.file) != std::string::npos);
    }
  }
}

TEST_CASE("broken weights are refused at load, naming file and tensor") {
  const std::string cb = "vqvae.vector_quantizer._codebook.embed";
  SUBCASE("one NaN in a decoder matrix") {
    const fs::path dir = model_copy("nan");
    patch_tensor(dir, "vqvae.decoder.decoder_stack.attn_layers.layers.2.1.to_q.weight",
                 [](float* v, int64_t) { v[17] = std::numeric_limits<float>::quiet_NaN(); });
    const std::string msg = load_error(dir);
    CHECK(msg.find("best_valid.pth") != std::string::npos);
    CHECK(msg.find("vqvae.decoder.decoder_stack.attn_layers.layers.2.1.to_q.weight: 1 of 16384 weights are NaN or "
                   "infinite") != std::string::npos);
  }
  SUBCASE("infinities in the codebook and in a GCPNet norm") {
    const fs::path dir = model_copy("inf");
    patch_tensor(dir, cb, [](float* v, int64_t) {
      v[0] = std::numeric_limits<float>::infinity();
      v[40] = -std::numeric_limits<float>::infinity();
    });
    CHECK(load_error(dir).find(cb + ": 2 of 16384 weights are NaN or infinite") != std::string::npos);
  }
  SUBCASE("a codebook whose codes are all the same: every residue would get one token") {
    const fs::path dir = model_copy("flat");
    patch_tensor(dir, cb, [](float* v, int64_t n) {
      for (int64_t i = 0; i < n; ++i) v[i] = v[i % 32];  // every row a copy of row 0
    });
    CHECK(load_error(dir).find(cb + ": all 512 codes are identical") != std::string::npos);
    // Two distinct codes are enough to load.
    patch_tensor(dir, cb, [](float* v, int64_t) { v[32 * 7 + 3] += 1.0f; });
    CHECK(load_error(dir) == "(loaded)");
  }
}

TEST_CASE("the weight checks cost a small part of loading") {
  // Every weight is checked (one vectorised min/max pass per tensor). Measured on the tiny model here; the same
  // per-byte ratio holds for Large, where loading is dominated by reading and copying the same bytes.
  const std::string dir = tiny_model().string();
  GcpVqvae::load(dir);  // warm the page cache
  double load = 1e9, check = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    GcpVqvae::load(dir);
    load = std::min(load, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    TorchCheckpoint ck(dir + "/checkpoints/best_valid.pth");
    auto tensors = ck.tensors(*ck.root().get("model_state_dict"));
    t0 = std::chrono::steady_clock::now();
    bool finite = true;
    for (auto& [name, t] : tensors)
      if (t.is_floating_point() && t.numel() > 0) {
        const auto [lo, hi] = at::aminmax(t);
        finite &= std::isfinite(lo.item<double>()) && std::isfinite(hi.item<double>());
      }
    check = std::min(check, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    CHECK(finite);
  }
  MESSAGE("tiny model: load " << load * 1e3 << " ms, weight checks " << check * 1e3 << " ms (" << 100 * check / load
                              << " %)");
  CHECK(check < 0.25 * load);  // loose: a shared CI machine; the figure is in the report
}
