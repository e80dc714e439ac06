// vectors/biomatrix/answers.jsonl: 45 BioMatrix answers with the parse the README's rules give, field by field.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "bmx/tokenizers/segment_json.h"
#include "bmx/tokenizers/segments.h"
#include "bmx/tokenizers/selfies.h"
#include "shared.h"

using json = nlohmann::json;

TEST_CASE("answers.jsonl: every segment and stray marker as the vectors expect") {
  const std::vector<json> records = bmx::test::shared_jsonl("vectors/biomatrix/answers.jsonl");
  REQUIRE(records.size() == 45);
  int segments = 0, malformed = 0, decoded = 0;
  for (const json& r : records) {
    const std::string answer = r["answer"];
    INFO(r["id"].get<std::string>());
    CHECK(answer.size() == r["answer_bytes"].get<std::size_t>());
    const bmx::ParsedAnswer parsed = bmx::parse_answer(answer);
    REQUIRE(parsed.segments.size() == r["segments"].size());
    bool bad = false;
    for (std::size_t k = 0; k < parsed.segments.size(); ++k) {
      const bmx::Segment& s = parsed.segments[k];
      const json& want = r["segments"][k];
      const json ours = bmx::segment_json(s);
      // Every field the record has (segment_json leaves out what a modality does not have, as the file does).
      for (const char* field : {"modality", "start", "end", "content_start", "content_end", "content", "tokens",
                                "n_tokens", "foreign", "well_formed", "problems", "selfies", "codes", "n_atoms",
                                "sequence"}) {
        if (!want.contains(field)) continue;
        INFO("segment " << k << " field " << field);
        REQUIRE(ours.contains(field));
        CHECK(ours[field] == want[field]);
      }
      for (const auto& item : ours.items()) CHECK_MESSAGE(want.contains(item.key()), item.key());
      bad |= !s.well_formed();
      ++segments;
      if (!want.contains("decoded_smiles")) continue;
      // Our SELFIES decoder on the segment's SELFIES writes selfies 2.2's SMILES exactly, atoms in the same
      // order (no canonicalisation needed); a mol3d segment decodes to exactly n_atoms atoms, [H] included.
      REQUIRE(s.well_formed());
      const bmx::selfies::Decoded d = bmx::selfies::decode(s.selfies);
      if (s.modality == bmx::Modality::mol3d) CHECK(d.atom_symbol.size() == std::size_t(s.n_atoms));
      CHECK(d.smiles == want["decoded_smiles"].get<std::string>());
      ++decoded;
    }
    malformed += bad || !parsed.stray_markers.empty();
    REQUIRE(parsed.stray_markers.size() == r["stray_markers"].size());
    for (std::size_t k = 0; k < parsed.stray_markers.size(); ++k) {
      const json& want = r["stray_markers"][k];
      CHECK(parsed.stray_markers[k].marker == want["marker"].get<std::string>());
      CHECK(parsed.stray_markers[k].start == want["start"].get<std::size_t>());
      CHECK(parsed.stray_markers[k].end == want["end"].get<std::size_t>());
    }
  }
  CHECK(segments == 48);
  CHECK(decoded == 10);
  CHECK(malformed == 18);  // the README: 18 answers are malformed on purpose
}
