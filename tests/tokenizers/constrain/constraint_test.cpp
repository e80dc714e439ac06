// The modality constraint (tokenizers/modality_constraint.h): it never refuses a token of a grammatical
// answer (so greedy output is unchanged where the model follows the grammar), and whatever it lets through
// parses as well-formed segments that decode: mol3d codes exactly on the atoms the SELFIES derivation makes,
// exact lengths where asked, segments closed before the budget runs out.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "bmx/tokenizers/segments.h"
#include "bmx/tokenizers/selfies.h"
#include "shared.h"

using namespace bmx;

namespace {

const Tokenizer& biomatrix() {
  static const Tokenizer tok = Tokenizer::from_dir(test::shared_file("models/tokenizers/biomatrix/tokenizer.json").parent_path());
  return tok;
}

std::shared_ptr<const ModalityVocabulary> vocabulary() {
  static const auto v = analyse_vocabulary(biomatrix(), {});
  return v;
}

// Feeds `ids` through a fresh constraint; returns the index of the first token the mask refuses, or -1.
int first_refused(const std::vector<int32_t>& ids, const AnswerConstraint& a, int64_t budget = 100000) {
  auto rule = make_modality_constraint(vocabulary(), a);
  std::vector<float> scores(size_t(biomatrix().vocab_size()));
  for (size_t k = 0; k < ids.size(); ++k) {
    std::fill(scores.begin(), scores.end(), 0.0f);
    rule->mask(scores, budget - int64_t(k));
    if (!std::isfinite(scores[size_t(ids[k])])) return int(k);
    rule->accept(ids[k]);
  }
  return -1;
}

// Draws tokens at random among those the constraint allows, up to `budget` tokens or the end of the answer.
std::string random_answer(const AnswerConstraint& a, int64_t budget, std::mt19937_64& rng, bool prefer_ending) {
  auto rule = make_modality_constraint(vocabulary(), a);
  const int32_t V = biomatrix().vocab_size();
  const int32_t im_end = *biomatrix().token_to_id("<|im_end|>");
  std::vector<int32_t> out;
  std::vector<float> scores(static_cast<size_t>(V));
  std::uniform_real_distribution<float> u(0, 1);
  for (int64_t k = 0; k < budget; ++k) {
    std::fill(scores.begin(), scores.end(), 0.0f);
    rule->mask(scores, budget - k);
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < V; ++id)
      if (std::isfinite(scores[size_t(id)])) allowed.push_back(id);
    REQUIRE(!allowed.empty());
    int32_t id = allowed[size_t(u(rng) * float(allowed.size())) % allowed.size()];
    // Random picks over 168k ids almost never close anything: lean towards markers and the end of turn.
    if (prefer_ending && u(rng) < 0.3f)
      for (int32_t c : allowed)
        if (c == im_end || (c >= 151669 && c <= 151678)) id = c;
    out.push_back(id);
    rule->accept(id);
    if (id == im_end) break;
  }
  return biomatrix().decode(out);
}

void check_decodable(const std::string& answer, const AnswerConstraint& a) {
  const ParsedAnswer p = parse_answer(answer);
  CAPTURE(answer);
  CHECK(p.stray_markers.empty());
  std::vector<int> found(a.required.size(), 0);
  for (const Segment& s : p.segments) {
    CAPTURE(to_string(s.modality));
    CHECK(s.well_formed());
    for (size_t k = 0; k < a.required.size(); ++k)
      if (a.required[k].modality == s.modality && !found[k]) {
        found[k] = 1;
        if (a.required[k].length) CHECK(s.tokens->size() == size_t(*a.required[k].length));
        break;
      }
    if (s.modality == Modality::mol3d && s.well_formed()) {
      const selfies::Decoded d = selfies::decode(s.selfies);
      REQUIRE(d.creates_atom.size() == s.codes.size());
      for (size_t k = 0; k < s.codes.size(); ++k) CHECK(d.creates_atom[k] == (s.codes[k] >= 0));
      CHECK(s.n_atoms > 0);
    }
    if (s.modality == Modality::selfies && s.well_formed()) CHECK(!selfies::decode(s.selfies).atom_symbol.empty());
  }
  for (int f : found) CHECK(f == 1);
}

}  // namespace

TEST_CASE("a tokenizer without BioMatrix control tokens is refused in one line") {
  const Tokenizer qwen = Tokenizer::from_dir(test::shared_file("models/tokenizers/qwen3/tokenizer.json").parent_path());
  try {
    analyse_vocabulary(qwen, {});
    FAIL("accepted the plain Qwen3 tokenizer");
  } catch (const InputError& e) {
    const std::string what = e.what();
    CHECK(what.find("<|mol_smi_start|>") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
}

TEST_CASE("every token of the well-formed answers in answers.jsonl is allowed") {
  int checked = 0;
  for (const auto& r : test::shared_jsonl("vectors/biomatrix/answers.jsonl")) {
    bool clean = r["stray_markers"].empty();
    for (const auto& s : r["segments"]) clean &= s["well_formed"].get<bool>();
    if (!clean) continue;
    CAPTURE(r["id"].get<std::string>());
    const auto ids = biomatrix().encode(r["answer"].get<std::string>());
    CHECK(first_refused(ids, {}) == -1);
    // The same answers with their segments required (and lengths where the task fixes them).
    AnswerConstraint a;
    for (const auto& s : r["segments"]) {
      SegmentRequirement q;
      q.modality = *modality_from_string(s["modality"].get<std::string>());
      if (s["n_tokens"].is_number()) q.length = s["n_tokens"].get<int>();
      a.required.push_back(q);
    }
    CHECK(first_refused(ids, a) == -1);
    ++checked;
  }
  CHECK(checked == 27);
}

TEST_CASE("every MolStrucTok encoding of the vectors passes as mol3d and its SELFIES as selfies") {
  int n = 0;
  for (const auto& r : test::shared_jsonl("vectors/molstructok/public.jsonl")) {
    if (!r.contains("struct_sfi")) continue;  // molecules the reference could not encode
    // Salts: '.' between fragments is outside the answer grammar (vectors/biomatrix rule 4), so never generated
    // (the reference's struct_sfi of them even drops the '.').
    if (r["selfies"].get<std::string>().find('.') != std::string::npos) continue;
    const std::string name = r["name"].dump();
    CAPTURE(name);
    const std::string sfi = r["struct_sfi"].get<std::string>();
    const auto ids = biomatrix().encode("Here it is: " + wrap_segment(Modality::mol3d, sfi) + "<|im_end|>");
    CHECK(first_refused(ids, {{{Modality::mol3d, std::nullopt}}}) == -1);
    const auto ids1 = biomatrix().encode(wrap_segment(Modality::selfies, r["selfies"].get<std::string>()));
    CHECK(first_refused(ids1, {{{Modality::selfies, std::nullopt}}}) == -1);
    ++n;
  }
  CHECK(n == 273);
}

TEST_CASE("inside a segment only that modality's tokens; codes follow the derivation") {
  auto allowed_after = [](const std::string& prefix, const std::string& next, const AnswerConstraint& a = {}) {
    auto ids = biomatrix().encode(prefix);
    const auto nid = biomatrix().encode(next);
    REQUIRE(nid.size() == 1);
    ids.push_back(nid[0]);
    return first_refused(ids, a) == -1;
  };
  CHECK(allowed_after("<|mol_3d_start|>[H 3]", "[C 0]"));
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3]", "[C -1]"));          // [C] here makes an atom
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3]", "[C]"));             // a 1D SELFIES token in a 3D segment
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3]", "<S 5>"));
  CHECK(allowed_after("<|mol_3d_start|>[H 3][C 0][Branch1 -1]", "[C -1]"));  // the branch length
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3][C 0][Branch1 -1]", "[C 5]"));
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3][C 0][Branch1 -1]", "<|mol_3d_end|>"));  // length still owed
  CHECK(allowed_after("<|mol_3d_start|>[H 3]", "<|mol_3d_end|>"));
  CHECK_FALSE(allowed_after("<|mol_3d_start|>", "<|mol_3d_end|>"));       // empty
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3][H 4]", "[C 0]"));      // H-H: the derivation has stopped
  CHECK(allowed_after("<|mol_3d_start|>[H 3][H 4]", "<|mol_3d_end|>"));
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3]", "<|im_end|>"));
  CHECK_FALSE(allowed_after("<|mol_3d_start|>[H 3]", "<|prot_aa_start|>"));
  CHECK(allowed_after("<|prot_aa_start|>", "<A W>"));
  CHECK_FALSE(allowed_after("<|prot_aa_start|>", "<S 1>"));
  CHECK_FALSE(allowed_after("<|prot_3d_start|>", "<A W>"));
  CHECK_FALSE(allowed_after("Text ", "<|prot_3d_end|>"));                 // a stray end marker
  // Exact length: fold of a 3-residue input.
  const AnswerConstraint fold{{{Modality::prot3d, 3}}};
  CHECK_FALSE(allowed_after("<|prot_3d_start|><S 1><S 2>", "<|prot_3d_end|>", fold));
  CHECK(allowed_after("<|prot_3d_start|><S 1><S 2><S 3>", "<|prot_3d_end|>", fold));
  CHECK_FALSE(allowed_after("<|prot_3d_start|><S 1><S 2><S 3>", "<S 4>", fold));
  CHECK_FALSE(allowed_after("Sure.", "<|im_end|>", fold));                 // the required segment is owed
  // A smaller structure codebook (the tiny GCP-VQVAE has 512 codes): <S 511> is the last code.
  AnswerConstraint small;
  small.structure_codebook = 512;
  CHECK(allowed_after("<|prot_3d_start|>", "<S 511>", small));
  CHECK_FALSE(allowed_after("<|prot_3d_start|>", "<S 512>", small));
}

TEST_CASE("a joint token the vocabulary lacks may be spelled in BPE pieces") {
  // [Si 3] is not in the stand-in vocabulary (Si has 160 codes there); it is spelled "[", "Si", " ", "3", "]".
  const auto ids = biomatrix().encode("<|mol_3d_start|>[H 3][Si 3]<|mol_3d_end|>");
  CHECK(ids.size() > 4);
  CHECK(first_refused(ids, {}) == -1);
  // A malformed spelling in pieces is refused at the piece that breaks it.
  CHECK(first_refused(biomatrix().encode("<|mol_3d_start|>[H 3][Si 03]"), {}) >= 0);
}

TEST_CASE("answers drawn at random under the constraint always decode, even when the budget cuts them") {
  std::mt19937_64 rng(7);
  const std::vector<AnswerConstraint> tasks = {
      {{{Modality::mol3d, std::nullopt}}},
      {{{Modality::selfies, std::nullopt}}},
      {{{Modality::prot3d, 12}}},
      {{{Modality::prot_aa, 9}}},
      {{{Modality::prot_aa, std::nullopt}, {Modality::prot3d, std::nullopt}}},
      {{{Modality::smiles, std::nullopt}}},
      {},
  };
  for (size_t t = 0; t < tasks.size(); ++t)
    for (int64_t budget : {14, 20, 40, 90}) {
      CAPTURE(t);
      CAPTURE(budget);
      for (int trial = 0; trial < 3; ++trial) check_decodable(random_answer(tasks[t], budget, rng, trial > 0), tasks[t]);
    }
}
