// Each file of apps/ adds its subcommands to the one `bmx` command. `bench` and `dev` are the parent
// commands of `bmx bench ...` and `bmx dev ...`.
#pragma once
#include <CLI/CLI.hpp>

namespace bmx::app {

// What `bmx` returns: a command sets it (1 when some records of a batch failed; they were reported).
inline int exit_status = 0;

void add_mol_commands(CLI::App& app, CLI::App& bench);              // mol_commands.cpp
void add_mol_bench(CLI::App& bench);                                // bench_mol.cpp
void add_prot_commands(CLI::App& app, CLI::App& bench);             // prot_commands.cpp
void add_tokenize_commands(CLI::App& app, CLI::App& bench);         // tokenize_commands.cpp
void add_llm_commands(CLI::App& app, CLI::App& bench, CLI::App& dev);  // llm_commands.cpp
void add_kernel_bench(CLI::App& bench);                              // bench_kernels.cpp

}  // namespace bmx::app
