// bmx extract: a BioMatrix answer (a file, or - for stdin) to structure files and summary.json (answer_files.h).
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "answer_files.h"
#include "bmx/core/util/error.h"
#include "bmx/core/io/read_file.h"
#include "bmx/mol3d/molecule_io.h"
#include "commands.h"
#include "llm_common.h"
#include "structure_models.h"
#include "torch_part.h"

namespace bmx::app {
namespace {

struct ExtractArgs {
  std::string answer, out, prompt, prompt_file, gcp_vqvae, molstructok, model;
  bool no_3d = false;
  int threads = 0;
};

std::string read_input(const std::string& path) {
  if (path != "-") return read_file(path);
  std::stringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

int run_extract(const ExtractArgs& a) {
  if (!a.model.empty()) check_model_folder(a.model, false);
  mol3d::silence_rdkit_logs();  // problems are reported per segment, in one line each
  const std::string answer = read_input(a.answer);
  const std::string prompt = a.prompt_file.empty() ? a.prompt : read_file(a.prompt_file);
  ExtractSettings settings;
  settings.no_3d = a.no_3d;
  settings.inputs = {a.answer};
  if (!a.prompt_file.empty()) settings.inputs.push_back(a.prompt_file);
  // GCP-VQVAE needs libtorch: bmx_torch.so is loaded only when the answer holds a protein structure.
  const int threads = a.threads;
  StructureDecoders decoders(molstructok_checkpoint(a.molstructok, a.model),
                             [&] { return gcp_vqvae_dir(a.gcp_vqvae, a.model); },
                             [threads](const std::string& dir) {
                               const TorchPart& torch = torch_part("bmx extract (a protein structure segment)");
                               torch.set_math_threads(threads);
                               return torch.load_protein_model(dir);
                             });
  return extract_to_folder("bmx extract", answer, prompt, a.out, decoders, settings);
}

}  // namespace

void add_extract_commands(CLI::App& app) {
  auto a = std::make_shared<ExtractArgs>();
  auto* c = app.add_subcommand("extract", "A BioMatrix answer -> SDF / PDB + mmCIF / FASTA files per segment and "
                                          "summary.json (every segment listed, with its problems)");
  c->add_option("answer", a->answer, "Answer text file ('-' = stdin), as the model wrote it")->required();
  c->add_option("-o,--output", a->out, "Output folder: segNN_<modality>.<ext> and summary.json")->required();
  auto* p = c->add_option("--prompt", a->prompt, "The prompt (user turn): its protein sequence names the residues "
                                                  "of a structure of the same length");
  c->add_option("--prompt-file", a->prompt_file, "The prompt, from a file")->excludes(p)->check(CLI::ExistingFile);
  c->add_flag("--no-3d", a->no_3d, "SMILES/SELFIES segments: 2D depiction only (no ETKDG conformer, no MMFF94)");
  c->add_option("-m,--model", a->model, "Decoder model folder whose molstructok/ and gcp_vqvae/ decode the segments "
                                        "(as bmx run; optional)");
  c->add_option("--gcp-vqvae", a->gcp_vqvae, kGcpVqvaeHelp);
  c->add_option("--molstructok", a->molstructok,
                "MolStrucTok checkpoint (default: MODEL/molstructok/, else the one installed with bmx, or "
                "$BMX_MOLSTRUCTOK)");
  c->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  c->callback([a] { exit_status = run_extract(*a); });
}

}  // namespace bmx::app
