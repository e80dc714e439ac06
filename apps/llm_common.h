// Pieces shared by the decoder commands (llm_commands.cpp, llm_bench.cpp, llm_random_model.cpp).
#pragma once
#include <CLI/CLI.hpp>

namespace bmx::app {

void add_llm_bench(CLI::App& bench);       // llm_bench.cpp: bmx bench llm
void add_random_model(CLI::App& dev);      // llm_random_model.cpp: bmx dev random-model
// Threads for ATen and the kernels (n <= 0: all hardware threads).
void set_llm_threads(int n);

}  // namespace bmx::app
