// Protein token text: structure codes in every form people type ("<S 1><S 2>", "1 2 3", "1,2,3", "[1, 2, 3]",
// wrapped or not) and residue segments. What parses must print back to text that parses to the same codes.
#include "bmx/prot3d/token_text.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(bmx::fuzz::as_text(data, size));
  bmx::fuzz::run_input([&] {
    const auto codes = bmx::prot3d::parse_struct_tokens(text, 4096, "fuzz");
    for (int c : codes) BMX_FUZZ_CHECK(c >= 0 && c < 4096);
    BMX_FUZZ_CHECK(bmx::prot3d::parse_struct_tokens(bmx::prot3d::format_struct_segment(codes), 4096) == codes);
  });
  bmx::fuzz::run_input([&] {
    const auto seq = bmx::prot3d::parse_aa_sequence(text, "fuzz");
    for (char c : seq) BMX_FUZZ_CHECK(c >= 'A' && c <= 'Z');
    BMX_FUZZ_CHECK(bmx::prot3d::parse_aa_sequence(bmx::prot3d::format_aa_segment(seq)) == seq);
  });
  return 0;
}
