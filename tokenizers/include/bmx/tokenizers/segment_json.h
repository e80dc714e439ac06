// A parsed segment as JSON, with the field names and presence rules of vectors/biomatrix/README.md (the fields
// a modality does not have are left out), so that what bmx writes can be compared with the vectors field by field.
#pragma once
#include <nlohmann/json.hpp>

#include "bmx/tokenizers/segments.h"

namespace bmx {

// modality, start, end, content_start, content_end, content, tokens, n_tokens, foreign, well_formed, problems,
// then selfies (selfies, mol3d), codes (mol3d, prot3d), n_atoms (mol3d), sequence (prot_aa).
nlohmann::ordered_json segment_json(const Segment& s);

}  // namespace bmx
