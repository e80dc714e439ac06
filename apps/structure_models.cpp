#include "structure_models.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "bmx/core/util/error.h"
#include "bmx/core/io/user_config.h"
#include "bmx/mol3d/molstructok.h"

namespace bmx::app {

namespace fs = std::filesystem;

const char* const kGcpVqvaeHelp =
    "GCP-VQVAE model directory (config_vqvae.yaml, config_gcpnet_encoder.yaml, config_geometric_decoder.yaml, "
    "checkpoints/best_valid.pth); default MODEL/gcp_vqvae/ next to a decoder model, else $BMX_GCP_VQVAE, else "
    "\"gcp_vqvae\" in the bmx config file ($BMX_CONFIG or ~/.config/bmx/config.json)";

std::string gcp_vqvae_dir(const std::string& flag, const std::string& llm_model) {
  if (!flag.empty()) return flag;
  if (!llm_model.empty() && fs::is_directory(fs::path(llm_model) / "gcp_vqvae"))
    return (fs::path(llm_model) / "gcp_vqvae").string();
  if (const char* env = std::getenv("BMX_GCP_VQVAE"); env && *env) return env;
  if (std::string configured = user_config_value("gcp_vqvae"); !configured.empty()) return configured;
  throw UnsupportedError(
      "no GCP-VQVAE model: download the released GCP-VQVAE Large model directory (the one BioMatrix uses: "
      "config_vqvae.yaml, config_gcpnet_encoder.yaml, config_geometric_decoder.yaml and checkpoints/best_valid.pth) "
      "and pass --gcp-vqvae DIR (bmx prot: --model DIR), put it in MODEL/gcp_vqvae/, set BMX_GCP_VQVAE=DIR, or put "
      "{\"gcp_vqvae\": \"DIR\"} in " + user_config_file());
}

std::string molstructok_checkpoint(const std::string& flag, const std::string& llm_model) {
  if (!flag.empty()) return flag;
  const fs::path dir = fs::path(llm_model) / "molstructok";
  if (llm_model.empty() || !fs::is_directory(dir)) return mol3d::default_checkpoint();
  if (fs::exists(dir / "molstructok_vqvae.bin")) return (dir / "molstructok_vqvae.bin").string();
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt"))
      found.push_back(e.path());
  }
  if (found.size() != 1)
    throw InputError(dir.string() + ": expected one MolStrucTok checkpoint (molstructok_vqvae.bin, or a single "
                     ".bin/.pt/.pth/.ckpt file), found " + std::to_string(found.size()));
  return found[0].string();
}

}  // namespace bmx::app
