// Segments out of a BioMatrix answer: every wrapped molecule or protein, with byte offsets, its tokens and what
// is wrong with it, following vectors/biomatrix/README.md ("Parsing rules") exactly. Pure text: whether a SMILES
// is chemically valid or a 3D segment decodes is for the caller (mol3d/prot3d).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bmx/tokenizers/modality.h"

namespace bmx {

// In the order the README lists them (a segment's problems are reported in this order).
enum class SegmentProblem { unclosed, nested_start, mismatched_end, empty, foreign_token, code_out_of_range };
const char* to_string(SegmentProblem p);

struct Segment {
  Modality modality = Modality::smiles;
  std::size_t start = 0, end = 0;                  // bytes of the answer, start marker to one past the end marker
  std::size_t content_start = 0, content_end = 0;  // bytes between the markers
  std::string content;
  std::optional<std::vector<std::string>> tokens;  // modality tokens in order; nullopt for smiles (plain BPE text)
  std::vector<std::string> foreign;                // text that is no token (smiles: the sorted set of bad characters)
  std::vector<SegmentProblem> problems;
  bool well_formed() const { return problems.empty(); }

  // What the tokens mean (filled for the modalities that have it, whether or not well formed):
  std::string selfies;      // selfies: tokens joined; mol3d: the SELFIES with the codes dropped
  std::vector<int> codes;   // mol3d: code of every token (-1 kept); prot3d: the n of every <S n>
  int n_atoms = 0;          // mol3d: number of codes >= 0
  std::string sequence;     // prot_aa: the residue letters
};

struct StrayMarker {
  std::string marker;
  std::size_t start = 0, end = 0;
};

struct ParsedAnswer {
  std::vector<Segment> segments;
  std::vector<StrayMarker> stray_markers;
};

ParsedAnswer parse_answer(std::string_view answer);

}  // namespace bmx
