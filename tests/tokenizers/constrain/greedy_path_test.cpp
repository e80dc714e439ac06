// Forced greedy paths: a tiny decoder whose weights make greedy decoding walk a chosen token sequence (each
// token's embedding is a unit vector, the next token's lm_head row points at it, attention and MLP write
// nothing). Where the path is grammatical the constrained output must be the same tokens; where it is not, the
// constraint must change it into an answer that parses.
#include <ATen/ATen.h>  // before doctest, whose CHECK must win over glog's
#include <doctest/doctest.h>

#include "bmx/core/llm/generation.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/modality_constraint.h"
#include "bmx/tokenizers/segments.h"
#include "bmx/tokenizers/text_generation.h"
#include "shared.h"

using namespace bmx;

namespace {

const std::string& model_dir() {
  static const std::string dir = [] {
    const auto d = test::scratch_dir("constrain_greedy") / "tiny";
    const std::string tok = test::shared_file("models/tokenizers/biomatrix/tokenizer.json").parent_path().string();
    const int rc = test::run("'" + test::bmx_exe().string() + "' dev random-model --like tiny --tokenizer '" + tok +
                             "' -o '" + d.string() + "' >/dev/null 2>&1");
    REQUIRE(rc == 0);
    return d.string();
  }();
  return dir;
}

const Tokenizer& tokenizer() {
  static const Tokenizer tok = Tokenizer::from_dir(model_dir());
  return tok;
}

// The tiny model rewired so that greedy decoding from path[0] produces path[1], path[2], ...
Qwen3Model path_model(const std::vector<TokenId>& path) {
  Qwen3Model m = load_qwen3(model_dir());
  const int64_t V = m.config.vocab_size, H = m.config.hidden_size;
  REQUIRE(int64_t(path.size()) <= H);
  auto embed = at::zeros({V, H}, at::kFloat), head = at::zeros({V, H}, at::kFloat);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    embed[path[i]][int64_t(i)] = 1.0f;
    head[path[i + 1]][int64_t(i)] = 1.0f;
  }
  m.embed_tokens = embed.to(at::kBFloat16);
  m.lm_head.weight = head.to(at::kBFloat16);
  m.norm = at::ones({H}, at::kBFloat16);
  for (Qwen3Layer& l : m.layers) {
    l.o_proj.weight = at::zeros_like(l.o_proj.weight);
    l.down_proj.weight = at::zeros_like(l.down_proj.weight);
  }
  return m;
}

std::vector<TokenId> ids_of(const std::vector<std::string>& pieces) {
  std::vector<TokenId> ids;
  for (const std::string& p : pieces) {
    const auto id = tokenizer().token_to_id(p);
    REQUIRE_MESSAGE(id.has_value(), p);
    ids.push_back(*id);
  }
  return ids;
}

std::vector<TokenId> greedy(const Qwen3Model& m, TokenId first, const AnswerConstraint* a, int64_t n = 40) {
  GenerationOptions g = text_generation_options(m, tokenizer());
  g.sampling = SamplingParams{};
  g.max_new_tokens = n;
  g.eos_token_ids = {*tokenizer().token_to_id("<|im_end|>")};
  if (a) {
    const auto vocab = analyse_vocabulary(tokenizer(), g.eos_token_ids);
    const AnswerConstraint copy = *a;
    g.constraint = [vocab, copy](size_t) { return make_modality_constraint(vocab, copy); };
  }
  return generate(m, {{first}}, g)[0].ids;
}

std::string text_of(const std::vector<TokenId>& ids) { return tokenizer().decode(ids); }

}  // namespace

TEST_CASE("grammatical greedy paths come out unchanged under the constraint") {
  const std::vector<std::vector<std::string>> paths = {
      {"Ċ", "<|prot_3d_start|>", "<S 5>", "<S 4012>", "<S 77>", "<|prot_3d_end|>", "<|im_end|>"},
      {"Ċ", "<|mol_3d_start|>", "[H 3]", "[O 26]", "[H 304]", "<|mol_3d_end|>", "<|im_end|>"},
      // Formaldehyde, H-C(H)=O, after a lead-in.
      {"Ċ", "Here", "Ġis", ":", "<|mol_3d_start|>", "[H 3]", "[C 0]", "[Branch1 -1]", "[C -1]", "[H 57]", "[=O 9]",
       "<|mol_3d_end|>", "<|im_end|>"},
      {"Ċ", "<|prot_aa_start|>", "<A M>", "<A K>", "<A W>", "<|prot_aa_end|>", "<|prot_3d_start|>", "<S 1>", "<S 2>",
       "<S 3>", "<|prot_3d_end|>", "<|im_end|>"},
  };
  const std::vector<AnswerConstraint> tasks = {
      {{{Modality::prot3d, 3}}},
      {{{Modality::mol3d, std::nullopt}}},
      {{{Modality::mol3d, std::nullopt}}},
      {{{Modality::prot_aa, std::nullopt}, {Modality::prot3d, std::nullopt}}},
  };
  for (size_t k = 0; k < paths.size(); ++k) {
    const auto path = ids_of(paths[k]);
    const Qwen3Model m = path_model(path);
    const auto free = greedy(m, path[0], nullptr);
    const auto constrained = greedy(m, path[0], &tasks[k]);
    const AnswerConstraint none;
    const auto grammar_only = greedy(m, path[0], &none);
    CAPTURE(text_of(free));
    CHECK(free == std::vector<TokenId>(path.begin() + 1, path.end()));  // the model does walk its path
    CHECK(constrained == free);
    CHECK(grammar_only == free);
  }
}

TEST_CASE("a path whose codes do not follow the derivation is cut where the derivation stops") {
  // Methane written as if every H after the branch bonded to C: the derivation stops after [H 9] (the chain goes
  // on from that H, which has no bond left), so [H 8] would be a code on no atom. The constraint closes instead.
  const auto path = ids_of({"Ċ", "<|mol_3d_start|>", "[H 3]", "[C 0]", "[Branch1 -1]", "[C -1]", "[H 57]", "[H 9]",
                            "[H 8]", "<|mol_3d_end|>", "<|im_end|>"});
  const Qwen3Model m = path_model(path);
  const AnswerConstraint mol3d{{{Modality::mol3d, std::nullopt}}};
  const auto constrained = greedy(m, path[0], &mol3d);
  CHECK(greedy(m, path[0], nullptr) == std::vector<TokenId>(path.begin() + 1, path.end()));
  const ParsedAnswer p = parse_answer(text_of(constrained));
  CAPTURE(text_of(constrained));
  REQUIRE(p.segments.size() == 1);
  CHECK(p.segments[0].content == "[H 3][C 0][Branch1 -1][C -1][H 57][H 9]");
  CHECK(p.segments[0].n_atoms == 4);
}

TEST_CASE("an ungrammatical greedy path is changed into one that parses") {
  // Two structure tokens where the fold asks for three, then a residue token inside the structure segment.
  const auto path = ids_of({"Ċ", "<|prot_3d_start|>", "<S 5>", "<A W>", "<S 9>", "<|prot_3d_end|>", "<|im_end|>"});
  const Qwen3Model m = path_model(path);
  const auto free = greedy(m, path[0], nullptr);
  const AnswerConstraint fold{{{Modality::prot3d, 3}}};
  const auto constrained = greedy(m, path[0], &fold, 12);
  CHECK(free == std::vector<TokenId>(path.begin() + 1, path.end()));
  CHECK(constrained != free);
  const ParsedAnswer p = parse_answer(text_of(constrained));
  CAPTURE(text_of(constrained));
  REQUIRE(p.segments.size() >= 1);
  CHECK(p.segments[0].modality == Modality::prot3d);
  CHECK(p.segments[0].well_formed());
  CHECK(p.segments[0].codes.size() == 3);
  CHECK(p.segments[0].codes[0] == 5);
  // The budget is kept: 5 tokens (start, three codes, end) are just enough, and the segment closes in them.
  const auto tight = greedy(m, path[0], &fold, 5);
  const ParsedAnswer q = parse_answer(text_of(tight));
  REQUIRE(q.segments.size() == 1);
  CHECK(q.segments[0].well_formed());
  CHECK(q.segments[0].codes.size() == 3);
}
