// GCP-VQVAE structure-token decoding as bmx extract needs it, behind plain types: the program itself has no
// libtorch (torch_part.h), so bmx extract gets this from bmx_torch.so when an answer holds a protein structure;
// what is linked with libtorch (bmx run, generate, the Python module) makes it directly.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bmx/prot3d/encoding.h"

namespace bmx::prot3d {
class GcpVqvae;
}

namespace bmx::app {

struct ProteinModel {
  std::shared_ptr<const prot3d::GcpVqvae> gcp;  // the model (encoding too, on the libtorch side)
  int codebook_size = 0;
  // Structure tokens -> N/CA/C per residue; InputError for tokens the model refuses.
  std::function<prot3d::Decoding(const std::vector<int>&)> decode;
};

using ProteinModelLoader = std::function<ProteinModel(const std::string& dir)>;

// The GCP-VQVAE model directory `dir` loaded (libtorch: protein_model.cpp is in bmx_torch.so, not in bmx).
ProteinModel load_protein_model(const std::string& dir);

}  // namespace bmx::app
