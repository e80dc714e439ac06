#include "bmx/tokenizers/segment_json.h"

namespace bmx {

nlohmann::ordered_json segment_json(const Segment& s) {
  using json = nlohmann::ordered_json;
  json j;
  j["modality"] = to_string(s.modality);
  j["start"] = s.start;
  j["end"] = s.end;
  j["content_start"] = s.content_start;
  j["content_end"] = s.content_end;
  j["content"] = s.content;
  j["tokens"] = s.tokens ? json(*s.tokens) : json(nullptr);
  j["n_tokens"] = s.tokens ? json(s.tokens->size()) : json(nullptr);
  j["foreign"] = s.foreign;
  j["well_formed"] = s.well_formed();
  json problems = json::array();
  for (SegmentProblem p : s.problems) problems.push_back(to_string(p));
  j["problems"] = std::move(problems);
  if (s.modality == Modality::selfies || s.modality == Modality::mol3d) j["selfies"] = s.selfies;
  if (s.modality == Modality::mol3d || s.modality == Modality::prot3d) j["codes"] = s.codes;
  if (s.modality == Modality::mol3d) j["n_atoms"] = s.n_atoms;
  if (s.modality == Modality::prot_aa) j["sequence"] = s.sequence;
  return j;
}

}  // namespace bmx
