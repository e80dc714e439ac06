// The commands that need no libtorch run without loading it (the dynamic loader's own record, LD_DEBUG=files, lists
// every library a process loads), the torch commands load it from bmx_torch.so, `bmx --help` lists every command,
// and a program without its bmx_torch.so says so in one line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "shared.h"

namespace fs = std::filesystem;

namespace {

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

struct Loaded {
  int status = 0;
  std::string log;  // the loader's lines (stderr) and the command's output
};

// `args` run by the built bmx with the dynamic loader reporting each library it loads.
Loaded run_traced(const std::string& args, const fs::path& exe = bmx::test::bmx_exe()) {
  Loaded r;
  r.status = bmx::test::run("LD_DEBUG=files " + quote(exe) + " " + args + " 2>&1", &r.log);
  return r;
}

// The loader writes "file=NAME [0];  needed by ..." or "file=/PATH/NAME [0];  dynamically loaded by ...".
bool loaded(const Loaded& r, const std::string& library) {
  for (std::size_t at = r.log.find("file="); at != std::string::npos; at = r.log.find("file=", at + 5)) {
    const std::size_t end = r.log.find(' ', at);
    if (r.log.substr(at + 5, end - at - 5).find(library) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("commands that need no torch run without loading libtorch") {
  const fs::path work = bmx::test::scratch_dir("startup_light");
  const fs::path aspirin = fs::path(BMX_SOURCE_EXAMPLES) / "aspirin.sdf";
  std::ofstream(work / "answer.txt") << "<|prot_aa_start|><A M><A K><A T><|prot_aa_end|>";
  const std::string tokenizer = bmx::test::shared_file("models/tokenizers/biomatrix").string();
  const std::string light[] = {
      "--version",
      "--help",
      "bench --help",
      "mol encode " + quote(aspirin) + " -o " + quote(work / "aspirin.jsonl"),
      "mol decode -i " + quote(work / "aspirin.jsonl") + " -o " + quote(work / "aspirin.sdf"),
      "mol refine " + quote(aspirin) + " -o " + quote(work / "refined.sdf"),
      "mol eval " + quote(aspirin),
      "tokenize -m " + quote(tokenizer) + " 'CCO and <|mol_3d_start|>'",
      "extract " + quote(work / "answer.txt") + " -o " + quote(work / "extracted"),
  };
  for (const std::string& args : light) {
    INFO("bmx " << args);
    const Loaded r = run_traced(args);
    INFO(r.log.substr(0, 4000));
    CHECK(r.status == 0);
    CHECK(loaded(r, "libRDKitGraphMol"));  // the trace works: bmx's own libraries are in it
    CHECK_FALSE(loaded(r, "libtorch"));
    CHECK_FALSE(loaded(r, "libc10"));
    CHECK_FALSE(loaded(r, "bmx_torch.so"));
  }
  CHECK(fs::exists(work / "extracted" / "seg01_prot_aa.fasta"));
}

TEST_CASE("torch commands load bmx_torch.so and libtorch when they run, also bmx extract on a protein structure") {
  const fs::path work = bmx::test::scratch_dir("startup_torch");
  std::ofstream(work / "answer.txt") << "<|prot_aa_start|><A M><A K><A T><A A><|prot_aa_end|>"
                                        "<|prot_3d_start|><S 5><S 17><S 300><S 42><|prot_3d_end|>";
  const std::string heavy[] = {
      "prot encode --help",
      "bench kernels --help",
      "dev random-model --help",
      "extract " + quote(work / "answer.txt") + " -o " + quote(work / "extracted") + " --gcp-vqvae " +
          quote(bmx::test::shared_file("vectors/gcp/tiny_model")),
  };
  for (const std::string& args : heavy) {
    INFO("bmx " << args);
    const Loaded r = run_traced(args);
    INFO(r.log.substr(r.log.size() > 4000 ? r.log.size() - 4000 : 0));
    CHECK(r.status == 0);
    CHECK(loaded(r, "bmx_torch.so"));
    CHECK(loaded(r, "libtorch_cpu"));
  }
  CHECK(fs::exists(work / "extracted" / "seg02_prot3d.pdb"));
}

TEST_CASE("bmx --help lists every command; each torch command's own help has the same line") {
  std::string help;
  REQUIRE(bmx::test::run(quote(bmx::test::bmx_exe()) + " --help", &help) == 0);
  std::string bench_help;
  REQUIRE(bmx::test::run(quote(bmx::test::bmx_exe()) + " bench --help", &bench_help) == 0);
  for (const char* c : {"mol", "prot", "tokenize", "detokenize", "generate", "chat", "quantize", "extract", "run",
                        "serve", "examples"})
    CHECK_MESSAGE(help.find("\n  " + std::string(c) + " ") != std::string::npos, c);
  for (const char* c : {"mol", "prot", "llm", "kernels", "constrain", "tokenize"})
    CHECK_MESSAGE(bench_help.find("\n  " + std::string(c) + " ") != std::string::npos, c);
  // With the plugin loaded, main.cpp compares each torch command's description with its --help line (exit 70 on a
  // difference): every one of them is checked here.
  for (const char* c : {"prot", "generate", "chat", "quantize", "run", "serve", "bench prot", "bench llm",
                        "bench kernels", "bench constrain", "dev random-model"}) {
    std::string out;
    const int status = bmx::test::run(quote(bmx::test::bmx_exe()) + " " + c + " --help", &out, true);
    INFO(c << ": " << out.substr(0, 400));
    CHECK(status == 0);
  }
}

TEST_CASE("a bmx without its bmx_torch.so runs the light commands and refuses a torch command in one line") {
  if (fs::exists(BMX_PLUGIN_INSTALLED)) {
    MESSAGE("skipped: an installed " BMX_PLUGIN_INSTALLED " would be found by a bmx copied alone");
    return;
  }
  const fs::path work = bmx::test::scratch_dir("startup_alone");
  const fs::path alone = work / "bin" / "bmx";
  fs::create_directories(alone.parent_path());
  fs::copy_file(bmx::test::bmx_exe(), alone, fs::copy_options::overwrite_existing);
  std::string out;
  CHECK(bmx::test::run(quote(alone) + " --version", &out) == 0);
  CHECK(bmx::test::run(quote(alone) + " mol encode " + quote(fs::path(BMX_SOURCE_EXAMPLES) / "aspirin.sdf"), &out) ==
        0);
  std::string err;
  const int status = bmx::test::run(quote(alone) + " prot encode x.pdb 2>&1 >/dev/null", &err);
  CHECK(status == 1);
  CHECK(err.find("bmx: bmx prot needs the libtorch part of bmx (bmx_torch.so), not found in ") == 0);
  CHECK(err.find('\n') == err.size() - 1);  // one line
}
