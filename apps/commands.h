// Each file of apps/ adds its subcommands to the one `bmx` command. `bench` and `dev` are the parent
// commands of `bmx bench ...` and `bmx dev ...`.
#pragma once
#include <CLI/CLI.hpp>

namespace bmx::app {

void add_mol_commands(CLI::App& app, CLI::App& bench);
void add_prot_commands(CLI::App& app, CLI::App& bench);
void add_llm_commands(CLI::App& app, CLI::App& bench, CLI::App& dev);

}  // namespace bmx::app
