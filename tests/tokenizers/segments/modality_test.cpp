// modality.h and parse_answer on hand-made edge cases the vectors do not hold.
#include <doctest/doctest.h>

#include <climits>

#include "bmx/tokenizers/modality.h"
#include "bmx/tokenizers/segments.h"

using namespace bmx;
using P = SegmentProblem;

TEST_CASE("names and markers round-trip for the five modalities") {
  for (int k = 0; k < kModalityCount; ++k) {
    const Modality m = static_cast<Modality>(k);
    CHECK(modality_from_string(to_string(m)) == m);
    const std::string text = "x" + std::string(start_marker(m)) + std::string(end_marker(m));
    CHECK(start_marker_at(text, 1) == m);
    CHECK(!end_marker_at(text, 1));
    CHECK(end_marker_at(text, 1 + start_marker(m).size()) == m);
    CHECK(!start_marker_at(text, 0));
  }
  CHECK(!modality_from_string("mol_3d"));
  CHECK(start_marker(Modality::mol3d) == "<|mol_3d_start|>");
  CHECK(end_marker(Modality::prot_aa) == "<|prot_aa_end|>");
  CHECK(!start_marker_at("<|mol_3d_sta", 0));  // cut off at the end of the text
  CHECK(!start_marker_at("<|mol_3d_start|>", 99));
  CHECK(terminator_at("a<|im_end|>", 1) == 10);
  CHECK(terminator_at("<|endoftext|>", 0) == 13);
  CHECK(terminator_at("<|im_end", 0) == 0);
}

TEST_CASE("mol3d tokens: rule 4's grammar, greedy, codes clamped") {
  auto t = match_mol3d_token("x[=N 12]", 1);
  REQUIRE(t);
  CHECK(t->symbol == "=N");
  CHECK(t->code == 12);
  CHECK(t->in_range);
  CHECK(t->length == 7);
  CHECK(match_mol3d_token("[Branch1 -1]", 0)->code == -1);
  CHECK(match_mol3d_token("[C 511]", 0)->in_range);
  CHECK(!match_mol3d_token("[C 512]", 0)->in_range);
  CHECK(!match_mol3d_token("[C -2]", 0)->in_range);
  CHECK(match_mol3d_token("[C -0]", 0)->code == 0);  // -?(0|...) allows it
  auto huge = match_mol3d_token("[C 99999999999999999999999999]", 0);
  REQUIRE(huge);
  CHECK(huge->code == INT_MAX);
  CHECK(!huge->in_range);
  CHECK(huge->length == 30);
  CHECK(match_mol3d_token("[C -99999999999999999999999999]", 0)->code == INT_MIN);
  CHECK(match_mol3d_token("[N+1 122]", 0)->symbol == "N+1");
  CHECK(match_mol3d_token("[C\xce\xb1 5]", 0)->symbol == "C\xce\xb1");  // non-ASCII is symbol text
  for (const char* no : {"[C  1]", "[C 1 2]", "[C 01]", "[C1]", "[C]", "[ 1]", "[C 1", "[C -]", "[C +1]", "[C\t1]",
                         "[C 1 ]", "[[C 1]", "[C\xc2\xa0" "1]", "C 1]", ""}) {
    INFO(no);
    CHECK(!match_mol3d_token(no, 0));
  }
  CHECK(!match_mol3d_token("[C 1]", 5));
}

TEST_CASE("SELFIES symbols, residue and structure tokens") {
  CHECK(match_selfies_symbol("[C]", 0) == 3);
  CHECK(match_selfies_symbol("[=Branch1]x", 0) == 10);
  CHECK(match_selfies_symbol("[C[N]", 0) == 0);
  CHECK(match_selfies_symbol("[C[N]", 2) == 3);
  for (const char* no : {"[]", "[C", "[C 1]", "[C\n]", "[C\xe3\x80\x80]", "[C\x1c]", "C]"}) {
    INFO(no);
    CHECK(match_selfies_symbol(no, 0) == 0);
  }
  CHECK(match_residue_token("<A M>", 0) == 'M');
  CHECK(match_residue_token("..<A Z>", 2) == 'Z');
  for (const char* no : {"<A m>", "<A MK>", "<A M", "<A  M>", "<AM>", "<A 1>"}) {
    INFO(no);
    CHECK(!match_residue_token(no, 0));
  }
  auto s = match_structure_token("<S 4095>", 0);
  REQUIRE(s);
  CHECK(s->code == 4095);
  CHECK(s->in_range);
  CHECK(s->length == 8);
  CHECK(match_structure_token("<S 0>", 0)->code == 0);
  CHECK(!match_structure_token("<S 4096>", 0)->in_range);
  auto huge = match_structure_token("<S 123456789012345678901234567890>", 0);
  REQUIRE(huge);
  CHECK(huge->code == INT_MAX);
  CHECK(!huge->in_range);
  for (const char* no : {"<S 01>", "<S -1>", "<S >", "<S 1", "<S 1 >", "<S  1>", "<S x>"}) {
    INFO(no);
    CHECK(!match_structure_token(no, 0));
  }
  for (char c : std::string("AZaz09()[]=#$:/\\.+-@%*")) CHECK(is_smiles_char(c));
  for (char c : std::string(" \n,;!?<>|&^~'\"{}_")) CHECK(!is_smiles_char(c));
  CHECK(!is_smiles_char('\xce'));
}

TEST_CASE("writers") {
  CHECK(mol3d_token("[=N]", 12) == "[=N 12]");
  CHECK(mol3d_token("Branch1", -1) == "[Branch1 -1]");
  std::string out = "x";
  append_mol3d_token(out, "[C]", 511);
  append_mol3d_token(out, "H", INT_MIN);
  CHECK(out == "x[C 511][H -2147483648]");
  CHECK(residue_token('M') == "<A M>");
  CHECK(structure_token(4012) == "<S 4012>");
  CHECK(wrap_segment(Modality::prot3d, "<S 1>") == "<|prot_3d_start|><S 1><|prot_3d_end|>");
  CHECK(wrap_segment(Modality::smiles, "") == "<|mol_smi_start|><|mol_smi_end|>");
  // What the writers write, the matchers read back.
  const std::string t = mol3d_token("#C", 6);
  CHECK(match_mol3d_token(t, 0)->length == t.size());
  CHECK(match_structure_token(structure_token(7), 0)->code == 7);
  CHECK(match_residue_token(residue_token('W'), 0) == 'W');
}

TEST_CASE("parse_answer: edge cases") {
  CHECK(parse_answer("").segments.empty());
  CHECK(parse_answer("no markers, <| not one |>, <|im_end|>").segments.empty());

  SUBCASE("a start marker at the end of the text opens an empty, unclosed segment") {
    const std::string a = "done <|mol_smi_start|>";
    ParsedAnswer p = parse_answer(a);
    REQUIRE(p.segments.size() == 1);
    CHECK(p.segments[0].start == 5);
    CHECK(p.segments[0].content_start == a.size());
    CHECK(p.segments[0].end == a.size());
    CHECK(p.segments[0].problems == std::vector<P>{P::unclosed, P::empty});
    CHECK(!p.segments[0].tokens);
  }
  SUBCASE("an end marker at the end of the text outside a segment is stray") {
    ParsedAnswer p = parse_answer("x<|prot_3d_end|>");
    CHECK(p.segments.empty());
    REQUIRE(p.stray_markers.size() == 1);
    CHECK(p.stray_markers[0].marker == "<|prot_3d_end|>");
    CHECK(p.stray_markers[0].start == 1);
    CHECK(p.stray_markers[0].end == 16);
  }
  SUBCASE("byte offsets in UTF-8 text") {
    const std::string a = "\xce\xb1-helix \xe2\x80\x93 <|prot_aa_start|><A M><A K><|prot_aa_end|> \xc2\xb0";
    ParsedAnswer p = parse_answer(a);
    REQUIRE(p.segments.size() == 1);
    CHECK(p.segments[0].start == 13);
    CHECK(p.segments[0].content_start == 30);
    CHECK(p.segments[0].content == "<A M><A K>");
    CHECK(p.segments[0].end == 55);
    CHECK(p.segments[0].sequence == "MK");
    CHECK(p.segments[0].well_formed());
  }
  SUBCASE("two segments back to back") {
    ParsedAnswer p = parse_answer("<|mol_smi_start|>CCO<|mol_smi_end|><|mol_sfi_start|>[C][C][O]<|mol_sfi_end|>");
    REQUIRE(p.segments.size() == 2);
    CHECK(p.segments[0].end == p.segments[1].start);
    CHECK(p.segments[1].selfies == "[C][C][O]");
    CHECK(p.segments[1].tokens->size() == 3);
    CHECK((p.segments[0].well_formed() && p.segments[1].well_formed()));
  }
  SUBCASE("a start inside a segment ends it there and opens the next") {
    ParsedAnswer p = parse_answer("<|mol_3d_start|>[H 3]<|mol_3d_start|>[C 0]<|mol_3d_end|>");
    REQUIRE(p.segments.size() == 2);
    CHECK(p.segments[0].end == 21);
    CHECK(p.segments[0].problems == std::vector<P>{P::unclosed, P::nested_start});
    CHECK(p.segments[1].start == 21);
    CHECK(p.segments[1].codes == std::vector<int>{0});
    CHECK(p.segments[1].well_formed());
  }
  SUBCASE("problems come in the README's order, all at once") {
    ParsedAnswer p = parse_answer("<|prot_3d_start|><S 5000> x<|prot_aa_start|>");
    REQUIRE(p.segments.size() == 2);
    CHECK(p.segments[0].problems == std::vector<P>{P::unclosed, P::nested_start, P::foreign_token, P::code_out_of_range});
    CHECK(p.segments[0].foreign == std::vector<std::string>{" x"});
    CHECK(p.segments[0].codes == std::vector<int>{5000});
    CHECK(p.segments[1].problems == std::vector<P>{P::unclosed, P::empty});
  }
  SUBCASE("a mismatched end closes the segment; a terminator leaves it unclosed") {
    ParsedAnswer p = parse_answer("<|mol_sfi_start|>[C]<|mol_3d_end|>then <|mol_sfi_start|>[O]<|endoftext|>");
    REQUIRE(p.segments.size() == 2);
    CHECK(p.segments[0].problems == std::vector<P>{P::mismatched_end});
    CHECK(p.segments[0].end == 34);
    CHECK(p.segments[1].problems == std::vector<P>{P::unclosed});
    CHECK(p.segments[1].content == "[O]");
    CHECK(p.stray_markers.empty());
  }
  SUBCASE("SMILES: the sorted set of foreign characters, one entry per code point") {
    ParsedAnswer p = parse_answer("<|mol_smi_start|>C\xc3\xa9 C;C C\xc3\xa9<|mol_smi_end|>");
    REQUIRE(p.segments.size() == 1);
    CHECK(p.segments[0].foreign == std::vector<std::string>{" ", ";", "\xc3\xa9"});
    CHECK(!p.segments[0].tokens);
  }
  SUBCASE("mol3d: out-of-range codes are still tokens; foreign runs are maximal") {
    ParsedAnswer p = parse_answer("<|mol_3d_start|>[H 3][C 99999999999] [C 01][#N -1]<|mol_3d_end|>");
    REQUIRE(p.segments.size() == 1);
    const Segment& s = p.segments[0];
    CHECK(*s.tokens == std::vector<std::string>{"[H 3]", "[C 99999999999]", "[#N -1]"});
    CHECK(s.foreign == std::vector<std::string>{" [C 01]"});
    CHECK(s.codes == std::vector<int>{3, INT_MAX, -1});
    CHECK(s.n_atoms == 2);
    CHECK(s.selfies == "[H][C][#N]");
    CHECK(s.problems == std::vector<P>{P::foreign_token, P::code_out_of_range});
  }
}
