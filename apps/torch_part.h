// The part of bmx that needs libtorch (the decoder, GCP-VQVAE and their commands) is bmx_torch.so, beside the
// program, loaded only when such a command runs: libtorch's loading and static initialisers cost ~0.5 s, which
// the commands that need no torch (mol, tokenize, extract, --help) do not pay. One table of functions crosses;
// everything else in bmx_torch.so is hidden (its own copies of the libraries), so state such as exit_status is
// read through the table.
#pragma once
#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

#include "protein_model.h"

namespace bmx::app {

struct TorchPart {
  int abi = 0;           // kTorchPartAbi of the build that made it
  std::size_t size = 0;  // sizeof(TorchPart) there
  // Every torch command (the names in kTorchCommands, main.cpp): prot, generate, chat, run, serve, quantize,
  // bench llm|prot|kernels|constrain, dev random-model.
  void (*add_commands)(CLI::App& app, CLI::App& bench, CLI::App& dev) = nullptr;
  int (*exit_status)() = nullptr;  // the plugin's bmx::app::exit_status after its command ran
  void (*set_math_threads)(int threads) = nullptr;
  ProteinModel (*load_protein_model)(const std::string& dir) = nullptr;
};

// Changed whenever TorchPart or a type crossing it changes.
inline constexpr int kTorchPartAbi = 1;

// bmx_torch.so loaded (once) and its table: next to the program (the build tree), in <prefix>/lib/bmx/ relative
// to it, or in the install's library folder. Throws std::runtime_error, one line naming `needed_by` and where it
// looked, when it is missing or does not load.
const TorchPart& torch_part(const std::string& needed_by);
// Whether torch_part() has loaded it.
bool torch_part_loaded();

}  // namespace bmx::app

// The symbol bmx_torch.so exports (apps/plugin/torch_commands.cpp).
extern "C" const bmx::app::TorchPart* bmx_torch_part();
