// Where the structure tokenizers are found. GCP-VQVAE: --gcp-vqvae / --model, else MODEL/gcp_vqvae/ of the decoder
// model folder, else $BMX_GCP_VQVAE, else "gcp_vqvae" in the bmx config file. MolStrucTok: the flag, else the
// checkpoint in MODEL/molstructok/, else the one installed with bmx (mol3d::default_checkpoint()).
#pragma once
#include <string>

namespace bmx::app {

extern const char* const kGcpVqvaeHelp;

// `llm_model`: the decoder model folder, or "" where there is none. Throws UnsupportedError saying where the
// released model goes when none is found.
std::string gcp_vqvae_dir(const std::string& flag, const std::string& llm_model = {});
// Throws InputError when MODEL/molstructok/ exists but holds no single checkpoint file.
std::string molstructok_checkpoint(const std::string& flag, const std::string& llm_model = {});

}  // namespace bmx::app
