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
void add_prot_bench(CLI::App& bench);                               // bench_prot.cpp
void add_tokenize_commands(CLI::App& app, CLI::App& bench);         // tokenize_commands.cpp
void add_llm_commands(CLI::App& app, CLI::App& bench, CLI::App& dev);  // llm_commands.cpp
void add_kernel_bench(CLI::App& bench);                              // bench_kernels.cpp
void add_constrain_bench(CLI::App& bench);                           // bench_constrain.cpp
void add_extract_commands(CLI::App& app);                            // extract_commands.cpp
void add_run_commands(CLI::App& app);                                // run_commands.cpp
void add_serve_commands(CLI::App& app);                              // serve/serve_command.cpp
void add_serve_bench(CLI::App& bench);                               // serve/bench_serve.cpp

}  // namespace bmx::app
