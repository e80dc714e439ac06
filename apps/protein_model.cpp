#include "protein_model.h"

#include "bmx/prot3d/gcp_vqvae.h"

namespace bmx::app {

ProteinModel load_protein_model(const std::string& dir) {
  ProteinModel m;
  auto gcp = std::make_shared<const prot3d::GcpVqvae>(prot3d::GcpVqvae::load(dir));
  m.gcp = gcp;
  m.codebook_size = int(gcp->codebook_size());
  m.decode = [gcp](const std::vector<int>& tokens) { return gcp->decode(tokens); };
  return m;
}

}  // namespace bmx::app
