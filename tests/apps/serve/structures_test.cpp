// bmx serve without a decoder: the structure tokenizer endpoints, checked by reading what they return with RDKit
// and gemmi. Requests carry texts, never paths.
#include <GraphMol/FileParsers/MolSupplier.h>
#include <gemmi/mmread.hpp>  // before doctest: gemmi redefines CHECK
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "serve_support.h"
#include "shared.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace bmx::test;

namespace {
std::string examples(const std::string& name) { return read_file(fs::path(BMX_SERVE_TEST_DIR) / "../../../data/examples" / name); }
}  // namespace

TEST_CASE("bmx serve without -m: molecules and proteins to tokens and back; completions need a model") {
  ServeProcess s("-t 2 --gcp-vqvae " + shell_quote(shared_file("vectors/gcp/tiny_model").string()), "structures");
  auto post = [&](const std::string& path, const json& body) { return http("POST", s.url() + path, body.dump()); };

  // Molecule: SDF text -> MolStrucTok tokens -> a refined SD record RDKit reads with the same atoms.
  auto r = post("/v1/mol/encode", {{"text", examples("aspirin.sdf")}});
  INFO(r.body.substr(0, 2000));
  REQUIRE(r.status == 200);
  const json enc = r.json();
  REQUIRE(enc["molecules"].size() == 1);
  const json& mol = enc["molecules"][0];
  CHECK(mol["num_atoms"] == 21);  // aspirin with its hydrogens
  CHECK(mol["file"] == "request");
  r = post("/v1/mol/decode", {{"tokens", mol["tokens"]}});
  REQUIRE(r.status == 200);
  const std::string sdf = r.json()["sdf"];
  auto stream = std::make_unique<std::istringstream>(sdf);
  RDKit::ForwardSDMolSupplier sup(stream.get(), false, true, false);
  std::unique_ptr<RDKit::ROMol> m(sup.next());
  REQUIRE(m);
  CHECK(m->getNumAtoms() == 21);

  // Protein: PDB text -> GCP-VQVAE tokens -> PDB with the residues of the sequence.
  r = post("/v1/prot/encode", {{"text", examples("trp-cage.pdb")}});
  INFO(r.body.substr(0, 2000));
  REQUIRE(r.status == 200);
  const json chains = r.json()["chains"];
  REQUIRE(chains.size() == 1);
  const std::string sequence = chains[0]["sequence"];
  CHECK(sequence.size() == 20);
  r = post("/v1/prot/decode", {{"tokens", chains[0]["tokens"]}, {"sequence", sequence}});
  REQUIRE(r.status == 200);
  const json dec = r.json();
  CHECK(dec["decodable"] == true);
  std::string pdb_name;
  for (const auto& [name, text] : dec["files"].items())
    if (name.size() > 4 && name.substr(name.size() - 4) == ".pdb") pdb_name = name;
  REQUIRE(!pdb_name.empty());
  const fs::path pdb = scratch_dir("serve_structures") / pdb_name;
  std::ofstream(pdb) << dec["files"][pdb_name].get<std::string>();
  gemmi::Structure st = gemmi::read_structure_file(pdb.string());
  REQUIRE(st.models.size() >= 1);
  const auto& residues = st.models[0].chains.at(0).residues;
  REQUIRE(residues.size() == 20);
  CHECK(residues[0].name == "ASN");  // trp-cage: NLYIQWLKDGGPSSGRPPPS

  // A path is only text: the server never reads a file a client names.
  r = post("/v1/mol/encode", {{"text", (fs::path(BMX_SERVE_TEST_DIR) / "../../../data/examples/aspirin.sdf").string()}});
  CHECK(r.status == 200);
  CHECK(!r.json()["molecules"][0].contains("tokens"));
  CHECK(r.body.find("bmx-serve-") == std::string::npos);  // nor names its private folder
  // Bad input: a 400 with a message, and the server stays up.
  r = post("/v1/prot/encode", {{"text", "not a structure"}, {"format", "cif"}});
  CHECK(r.status == 400);
  CHECK(r.json()["error"]["type"] == "invalid_request_error");
  r = post("/v1/mol/encode", {{"text", "x"}, {"format", "../../etc/passwd"}});
  CHECK(r.status == 400);
  r = post("/v1/mol/decode", {{"tokens", "[C 99999999]"}});
  CHECK(r.status == 200);
  CHECK(r.json()["molecules"][0].contains("error"));
  r = post("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  CHECK(r.status == 404);
  CHECK(r.json()["error"]["message"].get<std::string>().find("-m MODEL") != std::string::npos);
  CHECK(s.alive());
}
