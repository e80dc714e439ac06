// A model's answer cut into segments (tokenizers' answer parser, vectors/biomatrix/README.md "Parsing rules"):
// offsets must lie inside the answer, in order, and the content must be the text between the markers.
#include "bmx/tokenizers/segments.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = bmx::fuzz::as_text(data, size);
  return bmx::fuzz::run_input([&] {
    const auto parsed = bmx::parse_answer(text);
    size_t previous_end = 0;
    for (const auto& s : parsed.segments) {
      BMX_FUZZ_CHECK(previous_end <= s.start);
      BMX_FUZZ_CHECK(s.start <= s.content_start && s.content_start <= s.content_end && s.content_end <= s.end);
      BMX_FUZZ_CHECK(s.end <= text.size());
      BMX_FUZZ_CHECK(s.content == text.substr(s.content_start, s.content_end - s.content_start));
      BMX_FUZZ_CHECK(s.n_atoms >= 0 && static_cast<size_t>(s.n_atoms) <= s.codes.size());
      previous_end = s.end;
    }
    for (const auto& m : parsed.stray_markers) BMX_FUZZ_CHECK(m.start < m.end && m.end <= text.size());
  });
}
