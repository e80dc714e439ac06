// SELFIES both ways: the input as SMILES through the encoder (and what it gives back through the decoder), and the
// input as SELFIES through the decoder. Every string the encoder writes must decode.
#include "bmx/tokenizers/selfies.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(bmx::fuzz::as_text(data, size));
  bmx::fuzz::run_input([&] {
    const std::string sf = bmx::selfies::encode(text);
    try {
      (void)bmx::selfies::decode(sf);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "SELFIES written by the encoder does not decode: %s\n", e.what());
      BMX_FUZZ_CHECK(false);
    }
  });
  bmx::fuzz::run_input([&] {
    const auto d = bmx::selfies::decode(text);
    const auto symbols = bmx::selfies::split(text);
    BMX_FUZZ_CHECK(d.creates_atom.size() <= symbols.size());
    for (int k : d.atom_symbol) BMX_FUZZ_CHECK(k >= 0 && static_cast<size_t>(k) < symbols.size());
  });
  return 0;
}
