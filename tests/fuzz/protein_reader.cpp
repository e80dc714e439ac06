// PDB / mmCIF reading (gemmi + bmx's chain preprocessing), plain or gzip. The reader takes only paths: each input
// is written to a scratch file first; the reader itself tells mmCIF ("data_") and gzip apart from PDB.
#include <cmath>

#include "bmx/prot3d/structure_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = bmx::fuzz::as_text(data, size);
  const bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const std::string path = bmx::fuzz::scratch_file(gz ? "input.pdb.gz" : "input.pdb", text);
  return bmx::fuzz::run_input([&] {
    const auto chains = bmx::prot3d::read_protein_chains(path);
    for (const auto& c : chains.chains) {
      if (c.status != bmx::prot3d::ChainStatus::ok) continue;
      // An accepted chain is complete and finite: every residue has N/CA/C, no NaN reaches the encoder.
      const auto& b = c.backbone;
      BMX_FUZZ_CHECK(!b.residues.empty());
      BMX_FUZZ_CHECK(b.coords.size() == b.residues.size());
      for (const auto& atoms : b.coords)
        for (const auto& p : atoms) BMX_FUZZ_CHECK(std::isfinite(p[0]) && std::isfinite(p[1]) && std::isfinite(p[2]));
    }
    (void)chains.n_ok();
  });
}
