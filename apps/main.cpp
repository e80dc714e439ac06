#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "torch_part.h"

namespace {

namespace fs = std::filesystem;

// The example inputs shipped with bmx (data/examples): next to the installed program (<prefix>/share/bmx/examples),
// in the install data dir, or in the source tree (a bmx run from its build folder). Empty when none exists.
std::vector<fs::path> example_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "bmx" / "examples");
#ifdef BMX_EXAMPLES_INSTALL_DIR
  dirs.emplace_back(BMX_EXAMPLES_INSTALL_DIR);
#endif
#ifdef BMX_SOURCE_EXAMPLES_DIR
  dirs.emplace_back(BMX_SOURCE_EXAMPLES_DIR);
#endif
  return dirs;
}

std::string examples_dir() {
  for (const fs::path& d : example_dirs()) {
    std::error_code ec;
    if (fs::is_regular_file(d / "aspirin.sdf", ec)) return fs::weakly_canonical(d, ec).string();
  }
  return {};
}

// The commands that need libtorch: registered by bmx_torch.so (apps/plugin/torch_commands.cpp) when one of them
// runs, and listed here for --help otherwise, with the description each command gives itself (checked when the
// plugin registers them, so the two cannot drift apart).
struct TorchCommand {
  const char* parent;  // "" (top level), "bench" or "dev"
  const char* name;
  const char* description;
};

constexpr TorchCommand kTorchCommands[] = {
    {"", "prot", "Protein structures <-> GCP-VQVAE structure tokens (BioMatrix <S n>)"},
    {"", "generate", "Generate a continuation with a Qwen3/BioMatrix model (streams to stdout)"},
    {"", "chat", "Interactive multi-turn chat with a model that has a chat template (one user turn per stdin line; "
                 "/help, /reset, /exit)"},
    {"", "quantize", "Write a copy of a decoder model folder with 8-bit (q8_0) or 4-bit (q4_0) projections, loaded "
                     "memory-mapped by every decoder command (-m DIR)"},
    {"", "run", "One BioMatrix task end to end: prompt from a preset, generation (modality-constrained), answer "
                "segments to SDF / PDB + mmCIF / FASTA and summary.json"},
    {"", "serve", "OpenAI-compatible HTTP server (chat/completions, continuous batching, structure tokenizer "
                  "endpoints, BioMatrix task extension)"},
    {"bench", "prot", "GCP-VQVAE encode/decode speed with random weights of the released shapes"},
    {"bench", "llm", "Decoder speed: prefill pp512 and decode tg128 tokens/s, peak RSS, bandwidth ceiling"},
    {"bench", "kernels", "Speed of the BF16-weight GEMV (decode) and GEMM (prefill) kernels on Qwen3-4B-sized "
                         "matrices next to ATen on the same data, and the memory read bandwidth"},
    {"bench", "serve", "bmx serve's continuous batching: aggregate decode tokens/s at 1, 4, 8 concurrent streams "
                       "beside single-stream generate()"},
    {"bench", "constrain", "Decodable answers with and without the modality constraint, and the mask's cost"},
    {"dev", "random-model", "Write a random-weight Qwen3 model in Hugging Face layout (BF16)"},
};

// The torch command named on the command line ("bmx prot ...", "bmx bench llm ..."), or null. Top-level bmx has
// flags only, so the first word that is not an option is the command, and after bench/dev the next one.
const TorchCommand* torch_command(int argc, char** argv) {
  std::vector<std::string> words;
  for (int k = 1; k < argc && words.size() < 2; ++k)
    if (argv[k][0] != '-') words.emplace_back(argv[k]);
  for (const TorchCommand& c : kTorchCommands) {
    if (!*c.parent && !words.empty() && words[0] == c.name) return &c;
    if (*c.parent && words.size() == 2 && words[0] == c.parent && words[1] == c.name) return &c;
  }
  return nullptr;
}

CLI::App* parent_of(const TorchCommand& c, CLI::App& app, CLI::App& bench, CLI::App& dev) {
  const std::string p = c.parent;
  return p.empty() ? &app : p == "bench" ? &bench : &dev;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bmx: BioMatrix end to end -- molecules and proteins to tokens and back, and the decoder that "
               "reads and writes them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bmx 0.1.0");
  const std::string examples = examples_dir();
  app.footer("Example inputs (aspirin.sdf, trp-cage.pdb): " + (examples.empty() ? std::string("not found") : examples) +
             "\nFirst run: bmx mol encode $(bmx examples)/aspirin.sdf | bmx mol decode -i - -o aspirin_decoded.sdf");
  auto* ex = app.add_subcommand("examples", "Print the folder of the example inputs installed with bmx (aspirin.sdf: a "
                                            "ligand with 3D coordinates and H; trp-cage.pdb: a 20-residue protein)");
  ex->callback([&examples] {
    if (examples.empty()) {
      std::string looked;
      for (const fs::path& d : example_dirs()) looked += (looked.empty() ? "" : ", ") + d.string();
      throw std::runtime_error("no example folder found (looked in " + looked + "); reinstall bmx (cmake --install)");
    }
    std::printf("%s\n", examples.c_str());
  });
  auto* bench = app.add_subcommand("bench", "Measure speed: bmx bench mol|prot|llm");
  bench->require_subcommand(1);
  auto* dev = app.add_subcommand("dev", "Developer tools (random models for tests and benchmarks)");
  dev->require_subcommand(1);
  bmx::app::add_mol_commands(app, *bench);
  bmx::app::add_tokenize_commands(app, *bench);
  bmx::app::add_extract_commands(app);
  // The torch commands (kTorchCommands): the real ones from bmx_torch.so when one of them runs, else a line each
  // for --help. Nothing here loads libtorch otherwise.
  const bmx::app::TorchPart* torch = nullptr;
  if (const TorchCommand* wanted = torch_command(argc, argv)) {
    const std::string name = std::string("bmx ") + (*wanted->parent ? std::string(wanted->parent) + " " : "") +
                             wanted->name;
    try {
      torch = &bmx::app::torch_part(name);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bmx: %s\n", e.what());
      return 1;
    }
    torch->add_commands(app, *bench, *dev);
    for (const TorchCommand& c : kTorchCommands) {
      const CLI::App* parent = parent_of(c, app, *bench, *dev);
      const auto named = parent->get_subcommands([&c](const CLI::App* s) { return s->get_name() == c.name; });
      const CLI::App* got = named.empty() ? nullptr : named.front();
      if (!got || got->get_description() != c.description) {
        std::fprintf(stderr, "bmx: internal error: '%s %s' %s; update kTorchCommands in apps/main.cpp\n", c.parent,
                     c.name, got ? "describes itself differently from its --help line here" : "is not registered");
        return 70;
      }
    }
  } else {
    for (const TorchCommand& c : kTorchCommands)
      parent_of(c, app, *bench, *dev)->add_subcommand(c.name, c.description);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bmx: %s\n", e.what());
    return 1;
  }
  if (bmx::app::exit_status == 0 && torch) return torch->exit_status();
  return bmx::app::exit_status;
}
