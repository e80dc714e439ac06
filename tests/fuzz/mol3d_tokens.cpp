// MolStrucTok token strings ("<|mol_3d_start|>[C 12][=O 3]...<|mol_3d_end|>"): parse, describe every token, and
// run the SELFIES they spell through the SELFIES decoder, as `bmx mol decode` does before the network.
#include "bmx/mol3d/struct_tokens.h"
#include "bmx/tokenizers/selfies.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(bmx::fuzz::as_text(data, size));
  return bmx::fuzz::run_input([&] {
    const auto tokens = bmx::mol3d::parse_struct_tokens(text);
    for (size_t i = 0; i < tokens.size(); ++i) {
      BMX_FUZZ_CHECK(tokens[i].offset < text.size() && text[tokens[i].offset] == '[');
      BMX_FUZZ_CHECK(tokens[i].code >= -1 && tokens[i].code <= 511);
      (void)bmx::mol3d::describe_token(tokens, i);
    }
    const auto decoded = bmx::selfies::decode(bmx::mol3d::selfies_of(tokens));
    BMX_FUZZ_CHECK(decoded.atom_symbol.size() <= tokens.size());
  });
}
