// bmx serve with the official `openai` client library (npm, run by Node): what users of OpenAI-compatible servers
// run. The package is installed once into the build tree (npm install; CI has the registry).
#include <gemmi/mmread.hpp>  // before doctest: gemmi redefines CHECK
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "serve_support.h"
#include "shared.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace bmx::test;

namespace {

fs::path openai_package() {
  const fs::path dir = BMX_SERVE_NODE_DIR;
  if (fs::exists(dir / "node_modules" / "openai" / "package.json")) return dir;
  fs::create_directories(dir);
  if (!fs::exists(dir / "package.json")) std::ofstream(dir / "package.json") << R"({"private": true, "type": "module"})";
  std::string out;
  const int status =
      run("cd " + shell_quote(dir.string()) + " && npm install --no-audit --no-fund --loglevel=error openai@4", &out, true);
  INFO(out);
  REQUIRE(status == 0);
  return dir;
}

}  // namespace

TEST_CASE("bmx serve with the openai npm client: chat, stream, completion, n, the bmx extension, errors") {
  const fs::path node_dir = openai_package();
  const fs::path model = tiny_serve_model();
  ServeProcess s("-m " + shell_quote(model.string()) + " --parallel 4 -t 2 --api-key k3y --gcp-vqvae " +
                     shell_quote(shared_file("vectors/gcp/tiny_model").string()),
                 "openai");
  // The script next to its node_modules, so that `import 'openai'` resolves.
  fs::copy_file(fs::path(BMX_SERVE_TEST_DIR) / "openai_client.mjs", node_dir / "openai_client.mjs",
                fs::copy_options::overwrite_existing);
  std::string out;
  const int status = run("node " + shell_quote((node_dir / "openai_client.mjs").string()) + " " +
                             shell_quote(s.url() + "/v1") + " k3y tiny_biomatrix",
                         &out, true);
  INFO(out);
  REQUIRE(status == 0);
  const json r = json::parse(out.substr(out.find('{')));

  // The client's view agrees with curl's view of the same greedy request.
  const json body = {{"messages", {{{"role", "user"}, {"content", "Hello there"}}}}, {"max_tokens", 12}, {"temperature", 0}};
  const auto direct = http("POST", s.url() + "/v1/chat/completions", body.dump(), "-H 'Authorization: Bearer k3y'");
  REQUIRE(direct.status == 200);
  const json d = direct.json();
  CHECK(r["chat"]["content"] == d["choices"][0]["message"]["content"]);
  CHECK(r["chat"]["finish"] == d["choices"][0]["finish_reason"]);
  CHECK(r["chat"]["usage"] == d["usage"]);
  CHECK(r["chat_stream"] == r["chat"]["content"]);
  CHECK(r["completion"].is_string());
  CHECK(r["n"] == 2);
  CHECK(r["error"]["status"] == 400);
  CHECK(r["error"]["type"] == "invalid_request_error");

  // The bmx extension: a fold of 8 residues comes back as a PDB that gemmi reads, one residue per letter.
  const json& fold = r["fold"];
  INFO(fold.dump().substr(0, 3000));
  REQUIRE(fold.is_object());
  CHECK(fold["decodable"] == true);
  CHECK(fold["length_match"] == true);
  std::string pdb_name;
  for (const auto& [name, text] : fold["files"].items())
    if (name.size() > 4 && name.substr(name.size() - 4) == ".pdb") pdb_name = name;
  REQUIRE(!pdb_name.empty());
  const fs::path pdb = scratch_dir("serve_openai") / pdb_name;
  std::ofstream(pdb) << fold["files"][pdb_name].get<std::string>();
  gemmi::Structure st = gemmi::read_structure_file(pdb.string());
  REQUIRE(!st.models.empty());
  REQUIRE(!st.models[0].chains.empty());
  const auto& residues = st.models[0].chains[0].residues;
  REQUIRE(residues.size() == 8);
  CHECK(residues[0].name == "MET");
  CHECK(residues[7].name == "LYS");
}
