// bmx bench mol: MolStrucTok throughput on a fixed molecule set (default: the public reference vectors'
// inputs), encode, decode without refinement, decode with MMFF94, side by side with 1 and N threads.
#include <GraphMol/RWMol.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bmx/core/util/error.h"
#include "bmx/core/util/parallel.h"
#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/core/io/json_sax.h"
#include "commands.h"
#include "measure.h"

namespace bmx::app {
namespace {

struct BenchOptions {
  std::vector<std::string> inputs;
  std::string model;
  int threads = 1;
  double seconds = 1.0;
  bool json = false;
};

std::string default_bench_input() {
  const char* env = std::getenv("BMX_SHARED");
  std::filesystem::path shared = env && *env ? env : "../shared";
  return (shared / "vectors/molstructok/public.jsonl").string();
}

// Molecules of the bench set: a JSONL file with input_molblock fields (the reference vectors), or molecule files.
std::vector<std::unique_ptr<RDKit::RWMol>> load_set(const std::vector<std::string>& inputs) {
  std::vector<std::unique_ptr<RDKit::RWMol>> mols;
  for (const auto& path : inputs) {
    if (path.size() > 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0) {
      std::ifstream in(path);
      if (!in) throw InputError(path + ": cannot open (pass molecule files or a JSONL with input_molblock fields, or set BMX_SHARED to the shared folder)");
      int lineno = 0;
      for (std::string line; std::getline(in, line);) {
        ++lineno;
        auto j = parse_json(line);
        // The reference's own bench set: the records it round-trips (it fails on the others).
        if (!j.contains("input_molblock") || j.contains("encode_error") || j.contains("decode_error")) continue;
        mols.push_back(mol3d::mol_from_molblock(j["input_molblock"].get<std::string>(),
                                                path + ":" + std::to_string(lineno)));
      }
    } else {
      for (auto& r : mol3d::read_molecules(path))
        if (r.ok()) mols.push_back(std::move(r.mol));
    }
  }
  return mols;
}

// Items per second of wall time, and per second of this process's CPU time: on a shared machine the second
// is what the code costs, the first what a user waits.
struct Rate {
  double wall = 0, cpu = 0;
};

// Runs fn over all items (in parallel) repeatedly until `seconds` have passed.
Rate rate(size_t items, int threads, double seconds, const std::function<void(size_t)>& fn) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  double cpu0 = cpu_seconds();
  size_t done = 0;
  double elapsed = 0.0;
  do {
    parallel_for(items, threads, fn);
    done += items;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  return {done / elapsed, done / std::max(1e-9, cpu_seconds() - cpu0)};
}

// The Python reference, one thread, this machine class, same 273 molecules (issue figures).
constexpr double kReferenceEncode = 344, kReferenceDecode = 358, kReferenceDecodeRefine = 50;

struct Figures {
  Rate encode, decode, decode_refine;  // mol/s
};

int run_bench(const BenchOptions& o) {
  auto inputs = o.inputs.empty() ? std::vector<std::string>{default_bench_input()} : o.inputs;
  mol3d::silence_rdkit_logs();
  auto all = load_set(inputs);
  mol3d::MolStrucTok model(o.model.empty() ? mol3d::default_checkpoint() : o.model);

  // The set is the molecules that encode (the reference's own set: those that round-trip).
  std::vector<const RDKit::RWMol*> mols;
  std::vector<std::string> tokens;
  size_t atoms = 0;
  for (auto& m : all) {
    try {
      auto e = model.encode(*m);
      model.decode(e.struct_sfi);
      mols.push_back(m.get());
      tokens.push_back(e.struct_sfi);
      atoms += e.codes.size();
    } catch (const std::exception&) {
    }
  }
  if (mols.empty()) throw InputError("bench mol: no molecule in the input encodes");
  const double mean_atoms = double(atoms) / mols.size();
  forcefield::RefineOptions ro;

  auto measure = [&](int threads) {
    Figures f;
    f.encode = rate(mols.size(), threads, o.seconds, [&](size_t i) { model.encode(*mols[i]); });
    f.decode = rate(mols.size(), threads, o.seconds, [&](size_t i) { model.decode(tokens[i]); });
    f.decode_refine = rate(mols.size(), threads, o.seconds, [&](size_t i) {
      auto m = model.decode(tokens[i]);
      forcefield::refine(*m, ro);
    });
    return f;
  };
  const int threads = thread_count(o.threads);  // the one -t rule: 0 = all cores, more than the cores capped
  Figures one = measure(1);
  Figures many = threads > 1 ? measure(threads) : one;

  struct Row {
    const char* key;
    const char* label;
    Rate one, many;
    double reference;
  };
  const Row rows[] = {{"encode", "encode", one.encode, many.encode, kReferenceEncode},
                      {"decode", "decode (no refinement)", one.decode, many.decode, kReferenceDecode},
                      {"decode_refine", "decode + MMFF94", one.decode_refine, many.decode_refine,
                       kReferenceDecodeRefine}};
  if (o.json) {
    nlohmann::ordered_json j;
    j["molecules"] = mols.size();
    j["skipped"] = all.size() - mols.size();
    j["mean_atoms"] = mean_atoms;
    j["threads"] = threads;
    for (const auto& r : rows) {
      std::string k = r.key;
      j[k + "_mol_s"] = r.one.wall;
      j[k + "_atoms_s"] = r.one.wall * mean_atoms;
      j[k + "_mol_cpu_s"] = r.one.cpu;
      j[k + "_vs_reference"] = r.one.wall / r.reference;
      if (threads > 1) {
        j[k + "_mol_s_threads"] = r.many.wall;
        j[k + "_speedup"] = r.many.wall / r.one.wall;
      }
    }
    std::cout << j.dump() << '\n';
    return 0;
  }
  std::printf("bmx bench mol: %zu molecules (mean %.1f atoms; %zu of the input skipped: they do not encode)\n",
              mols.size(), mean_atoms, all.size() - mols.size());
  std::printf("%-24s %10s %12s %11s %12s", "1 thread", "mol/s", "atoms/s", "mol/CPU-s", "x reference");
  if (threads > 1) std::printf("  %2d threads: %8s %8s", threads, "mol/s", "speedup");
  std::printf("\n");
  for (const auto& r : rows) {
    std::printf("%-24s %10.0f %12.0f %11.0f %11.1fx", r.label, r.one.wall, r.one.wall * mean_atoms, r.one.cpu,
                r.one.wall / r.reference);
    if (threads > 1) std::printf("  %12s %8.0f %7.2fx", "", r.many.wall, r.many.wall / r.one.wall);
    std::printf("\n");
  }
  std::printf("(reference: the Python implementation, 1 thread: %.0f / %.0f / %.0f mol/s)\n", kReferenceEncode,
              kReferenceDecode, kReferenceDecodeRefine);
  return 0;
}

}  // namespace

void add_mol_bench(CLI::App& bench) {
  static BenchOptions o;
  auto* b = bench.add_subcommand("mol",
                                 "MolStrucTok speed: mol/s and atoms/s for encode, decode without refinement and "
                                 "decode with MMFF94 refinement, with 1 thread and with --threads side by side");
  b->add_option("inputs", o.inputs,
                "Molecule files or a JSONL with input_molblock fields (default: "
                "$BMX_SHARED/vectors/molstructok/public.jsonl, BMX_SHARED defaulting to ../shared)");
  b->add_option("--model", o.model, "MolStrucTok checkpoint (default: installed)");
  b->add_option("-t,--threads", o.threads, "Threads for the second column (default 1: single thread only; 0: all cores)")
      ->check(CLI::NonNegativeNumber);
  b->add_option("--seconds", o.seconds, "Minimum time per measurement (default 1)")->check(CLI::PositiveNumber);
  b->add_flag("--json", o.json, "One JSON object with the same figures");
  b->callback([] { exit_status = run_bench(o); });
}

}  // namespace bmx::app
