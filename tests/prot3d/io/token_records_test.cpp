// Token records: residue ids, reading every input form with per-record errors, writing JSON lines and
// vq_indices.csv, and turning a record plus its decoded backbone into a chain. Self-contained (no ../shared).
#include <doctest/doctest.h>

#include "bmx/core/util/error.h"
#include "bmx/prot3d/read_token_records.h"
#include "bmx/prot3d/token_record.h"
#include "bmx/prot3d/write_token_records.h"

using namespace bmx::prot3d;

TEST_CASE("residue ids: number and insertion code, as files write them") {
  CHECK(to_string(ResidueId{52, ' '}) == "52");
  CHECK(to_string(ResidueId{52, 'A'}) == "52A");
  CHECK(to_string(ResidueId{-3, ' '}) == "-3");
  CHECK(parse_residue_id("52A") == ResidueId{52, 'A'});
  CHECK(parse_residue_id("-3") == ResidueId{-3, ' '});
  CHECK_THROWS_AS(parse_residue_id("52AB", "f:2"), bmx::InputError);
  CHECK_THROWS_AS(parse_residue_id("A", "f:2"), bmx::InputError);
}

TEST_CASE("JSON lines: each bad line is its own error, naming file and line; the good ones are read") {
  const std::string text =
      "{\"id\": \"1abc\", \"chain\": \"B\", \"tokens\": [1, 2, 3], \"sequence\": \"MKV\", \"residues\": [\"5\", \"6\", \"6A\"]}\n"
      "\n"
      "{not json}\n"
      "{\"tokens\": [1, 600]}\n"
      "{\"struct\": \"<|prot_3d_start|><S 7><|prot_3d_end|>\", \"aa\": \"<|prot_aa_start|><A G><|prot_aa_end|>\"}\n";
  const std::vector<TokenRecord> recs = read_token_records(text, "t.jsonl", 512);
  REQUIRE(recs.size() == 4);
  CHECK(recs[0].ok());
  CHECK(recs[0].id == "1abc");
  CHECK(recs[0].chain == "B");
  CHECK(recs[0].tokens == std::vector<int>{1, 2, 3});
  CHECK(recs[0].sequence == "MKV");
  CHECK(recs[0].residues == std::vector<ResidueId>{{5, ' '}, {6, ' '}, {6, 'A'}});
  CHECK(recs[1].error.find("t.jsonl:3: not JSON") == 0);
  CHECK(recs[2].error.find("t.jsonl:4: token 600") == 0);
  CHECK(recs[3].ok());
  CHECK(recs[3].id == "decoded");  // no id, no chain: the defaults
  CHECK(recs[3].chain == "A");
  CHECK(recs[3].sequence == "G");
  CHECK(recs[3].where == "t.jsonl:5");
}

TEST_CASE("vq_indices.csv: rows are records, a short row an error; a CSV without indices is unusable") {
  const std::string csv = "pid,indices,protein_sequence\n1abc_chain_id_A,4 5,MK\n2xyz_chain_id__,9,\nshort\n";
  const std::vector<TokenRecord> recs = read_token_records(csv, "v.csv", 4096);
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].id == "1abc");
  CHECK(recs[0].tokens == std::vector<int>{4, 5});
  CHECK(recs[0].sequence == "MK");
  CHECK(recs[1].id == "2xyz");
  CHECK(recs[1].chain == "A");  // a blank chain id is written as A
  CHECK(recs[1].sequence.empty());
  CHECK(recs[2].error.find("v.csv:4: 1 fields, expected 3") == 0);
  CHECK_THROWS_AS(read_token_records("pid,codes\nx,1\n", "v.csv", 4096), bmx::InputError);
}

TEST_CASE("bare tokens are one record; a residue segment may come along") {
  const auto recs = read_token_records("<|prot_aa_start|><A M><A K><|prot_aa_end|><S 3><S 4>", "tokens", 4096);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].tokens == std::vector<int>{3, 4});
  CHECK(recs[0].sequence == "MK");
  const auto bad = read_token_records("3 4 x", "tokens", 4096);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].error.find("tokens: ") == 0);
}

TEST_CASE("an encoded chain's record: written as bmx prot encode does and read back") {
  BackboneChain chain;
  chain.id = "1abc";
  chain.chain = "";  // blank chain id
  const char* names[] = {"ALA", "MSE", "", "GLY"};
  const char letters[] = {'A', 'X', 'X', 'G'};
  for (int i = 0; i < 4; ++i) {
    Residue r;
    r.name = names[i];
    r.one_letter = letters[i];
    r.id = {10 + i, i == 3 ? 'B' : ' '};
    r.observed = i == 0 || i == 3;
    chain.residues.push_back(r);
  }
  Encoding e;
  e.tokens = {17, 42};
  e.positions = {0, 3};
  TokenRecord rec = token_record(chain, e);
  rec.file = "in/1abc.pdb";
  CHECK(rec.sequence == "AG");
  CHECK(rec.positions == 4);
  REQUIRE(rec.untokenized.size() == 2);
  const std::string line = token_record_json(rec);
  CHECK(line.rfind("{\"id\":\"1abc\",\"file\":\"in/1abc.pdb\",\"chain\":\"\",\"pid\":\"1abc_chain_id__\"", 0) == 0);
  CHECK(line.find("\"residues\":[\"10\",\"13B\"]") != std::string::npos);
  CHECK(line.find("\"length\":4,\"imputed\":2,\"untokenized\":[\"11 MSE\",\"12 gap\"],\"windows\":1}") !=
        std::string::npos);
  CHECK(vq_indices_csv_row(rec) == "1abc_chain_id__,17 42,AG\n");

  const auto back = read_token_records(line + "\n", "r.jsonl", 4096);
  REQUIRE(back.size() == 1);
  CHECK(back[0].tokens == rec.tokens);
  CHECK(back[0].sequence == rec.sequence);
  CHECK(back[0].residues == rec.residues);
  CHECK(back[0].chain == "A");

  // Decoded: numbered like the encoded residues, named by the sequence.
  Decoding d;
  d.n_ca_c.assign(2, {Vec3{0, 0, 0}, Vec3{1, 0, 0}, Vec3{2, 0, 0}});
  const BackboneChain out = decoded_chain(back[0], d);
  REQUIRE(out.size() == 2);
  CHECK(out.residues[1].id == ResidueId{13, 'B'});
  CHECK(out.sequence() == "AG");
  TokenRecord wrong = back[0];
  wrong.sequence = "AGV";
  CHECK_THROWS_AS(decoded_chain(wrong, d), bmx::InputError);
  wrong = back[0];
  wrong.residues.clear();
  wrong.sequence.clear();
  CHECK(decoded_chain(wrong, d).residues[1].id == ResidueId{2, ' '});  // 1..n without ids
  CHECK(decoded_chain(wrong, d).sequence() == "XX");
}
