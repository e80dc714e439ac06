// The BioMatrix modality grammar as a decoding constraint (issue 14 §3): inside a segment only that modality's
// tokens (mol3d ones following the SELFIES derivation, so code-bearing and -1 tokens stand where they must),
// exact lengths where the task knows them, segments the task asks for opened and closed, and room kept to
// close a segment validly before the token budget runs out. Tokens are matched as text through a trie of the
// vocabulary, so a modality token that the vocabulary spells with several BPE pieces is allowed too.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "bmx/core/llm/token_constraint.h"
#include "bmx/tokenizers/modality.h"

namespace bmx {

class Tokenizer;

// What one answer must contain. Segments the answer opens of its own accord follow the grammar as well.
struct SegmentRequirement {
  Modality modality = Modality::mol3d;
  std::optional<int> length;  // exact number of tokens (fold: one <S n> per residue), else any non-empty
};
struct AnswerConstraint {
  std::vector<SegmentRequirement> required;  // each opened and closed once, in any order, before the answer ends
  // Text tokens allowed before the required segments are opened (a short lead-in sentence, a <think> block):
  // past that the answer must open one of them.
  int64_t max_lead_in = 128;
  // <S n> codes the structure decoder in use knows: n < structure_codebook (a smaller GCP-VQVAE than Large).
  int structure_codebook = kProt3dCodebookSize;
};

// The vocabulary analysed once per tokenizer (token texts, trie, SELFIES symbols). Throws InputError when the
// tokenizer has no BioMatrix control tokens (e.g. the plain Qwen3 tokenizer).
class ModalityVocabulary;
std::shared_ptr<const ModalityVocabulary> analyse_vocabulary(const Tokenizer& tokenizer,
                                                             const std::vector<TokenId>& end_of_answer_ids);

std::unique_ptr<TokenConstraint> make_modality_constraint(std::shared_ptr<const ModalityVocabulary> vocabulary,
                                                          const AnswerConstraint& answer);

}  // namespace bmx
