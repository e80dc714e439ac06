// bmx prot encode | decode | eval: protein structures <-> GCP-VQVAE structure tokens. The science lives in prot3d/
// (reading and preprocessing, the model, token records, the round trip); this file parses flags, runs the batches
// on the shared batch loop (bmx/core/util/parallel.h) and prints. `bmx bench prot` is in bench_prot.cpp.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/core/io/output_file.h"
#include "bmx/core/io/read_file.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/math_threads.h"
#include "bmx/core/util/parallel.h"
#include "bmx/core/util/progress.h"
#include "bmx/prot3d/decode_pieces.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/read_token_records.h"
#include "bmx/prot3d/roundtrip.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/structure_writer.h"
#include "bmx/prot3d/token_text.h"
#include "bmx/prot3d/write_token_records.h"
#include "commands.h"
#include "encode_records.h"
#include "measure.h"
#include "structure_models.h"

namespace bmx::app {
namespace {

namespace fs = std::filesystem;
using namespace bmx::prot3d;

// Threads across chains, and maths threads inside one chain when there are fewer chains than threads. -t goes
// through thread_count, the one rule of every command (--threads 10000 is the hardware's count).
int plan_threads(int threads, std::size_t items) {
  const int total = thread_count(threads);
  const int workers = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(total, items)));
  set_math_threads(std::max(1, total / workers));
  return workers;
}

// run_batch's `next` over records held in memory: their indices, in order.
auto indices(std::size_t n) {
  return [k = std::size_t{0}, n](std::size_t& i) mutable {
    if (k == n) return false;
    i = k++;
    return true;
  };
}

// --format: pdb, cif (or mmcif), or auto / nothing for the file name's extension.
StructureFormat structure_format(const std::string& flag) {
  if (flag == "pdb") return StructureFormat::pdb;
  if (flag == "cif" || flag == "mmcif") return StructureFormat::mmcif;
  if (flag.empty() || flag == "auto") return StructureFormat::from_extension;
  throw InputError("--format must be auto, pdb or cif (got " + flag + ")");
}

ReadOptions read_options(const std::string& chain, const std::string& format, bool window) {
  ReadOptions o;
  o.chain = chain;
  if (window) o.limits.max_len = 0;  // windows lift the wrapper's 1280-residue limit too
  o.format = structure_format(format);
  return o;
}

// --window-overlap against the model's window, once, before any record (not once per chain as each one fails).
void check_overlap(int overlap, int least, const GcpVqvae& model) {
  if (overlap < least || overlap >= model.max_length())
    throw InputError("--window-overlap " + std::to_string(overlap) + ": must be in " + std::to_string(least) + ".." +
                     std::to_string(model.max_length() - 1) + " (the model's window is " +
                     std::to_string(model.max_length()) + " residues)");
}

// One chain of an input file waiting for the model.
struct ChainJob {
  std::string path;
  ChainResult chain;
};

// The chains to encode, from every file. Reading already finds bad records: a file that cannot be read, a protein
// chain that gives no tokens (the reference's filters). Chains that hold no protein (water, ligands, nucleic acid)
// are named but are no failure: a structure file holds them beside its proteins.
struct Inputs {
  std::vector<ChainJob> jobs;
  int files = 0, unreadable = 0, refused = 0, not_protein = 0;
  int failed() const { return unreadable + refused; }
};

Inputs read_inputs(const std::vector<std::string>& paths, const ReadOptions& opt, bool quiet, bool window) {
  Inputs in;
  for (const std::string& path : paths) {
    ++in.files;
    StructureChains sc;
    try {
      sc = read_protein_chains(path, opt);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bmx prot: %s\n", e.what());
      ++in.unreadable;
      continue;
    }
    if (sc.n_models > 1 && !quiet)
      std::fprintf(stderr, "bmx prot: %s: %d models, using the first\n", path.c_str(), sc.n_models);
    for (ChainResult& c : sc.chains) {
      if (c.status == ChainStatus::ok) {
        in.jobs.push_back({path, std::move(c)});
        continue;
      }
      ++(c.status == ChainStatus::not_protein ? in.not_protein : in.refused);
      std::fprintf(stderr, "bmx prot: %s chain %s: skipped: %s%s\n", path.c_str(), chain_label(c.chain).c_str(),
                   c.message.c_str(),
                   c.status == ChainStatus::length_out_of_range && !window
                       ? "; the BioMatrix pipeline drops such chains, --window encodes them"
                       : "");
    }
  }
  return in;
}

// A chain the model could not take: one line naming file, chain and problem, and the way out where there is one.
void report_chain_failure(const char* command, const ChainJob& job, const std::string& error, bool show_way_out,
                          const char* way_out) {
  std::fprintf(stderr, "bmx prot %s: %s chain %s: %s%s%s\n", command, job.path.c_str(),
               chain_label(job.chain.chain).c_str(), error.c_str(), show_way_out ? "; " : "",
               show_way_out ? way_out : "");
}

// ------------------------------------------------------------------------------------------------------------
// encode

struct EncodeArgs {
  std::vector<std::string> inputs;
  std::string model, chain, out, csv, format = "auto", shard;
  bool window = false, quiet = false;
  int threads = 0, overlap = 128;
};

int run_encode(const EncodeArgs& a) {
  const ReadOptions ropt = read_options(a.chain, a.format, a.window);
  // Outputs are opened (and refused when one is an input) before the model is loaded: nothing is lost, no time
  // spent, and a failed run leaves the old files as they were (bmx/core/io/output_file.h).
  OutputFile jsonl_file(a.out, a.inputs);
  std::optional<OutputFile> csv_file;
  if (!a.csv.empty()) {
    if (!a.out.empty() && a.out != "-" && fs::absolute(a.csv).lexically_normal() == fs::absolute(a.out).lexically_normal())
      throw InputError("--csv " + a.csv + " and -o name the same file");
    csv_file.emplace(a.csv, a.inputs);
    csv_file->stream() << vq_indices_csv_header();
  }
  std::ostream& jsonl = jsonl_file.stream();
  const GcpVqvae model = GcpVqvae::load(gcp_vqvae_dir(a.model));
  if (a.window) check_overlap(a.overlap, 0, model);
  const std::vector<std::string> picked = shard_inputs(a.inputs, a.shard);
  if (picked.empty()) {  // a job array with more jobs than files: nothing to do is no failure
    if (!a.quiet)
      std::fprintf(stderr, "bmx prot encode: --shard %s holds none of the %zu input(s)\n", a.shard.c_str(),
                   a.inputs.size());
    jsonl_file.commit();
    if (csv_file) csv_file->commit();
    return 0;
  }
  const Inputs in = read_inputs(picked, ropt, a.quiet, a.window);
  EncodeOptions eopt;
  eopt.window = a.window;
  eopt.window_overlap = a.overlap;
  struct Result {
    TokenRecord record;
    EncodeProblem problem = EncodeProblem::bad_input;
    std::string error;
  };
  std::size_t tokens = 0, windowed = 0;
  Progress progress("encode", in.jobs.size(), "chains", !a.quiet);
  const BatchCount count = run_batch<std::size_t, Result>(
      indices(in.jobs.size()), plan_threads(a.threads, in.jobs.size()), progress,
      [&](std::size_t i, Result& res) {
        const ChainJob& job = in.jobs[i];
        try {
          res.record = prot_chain_record(job.path, job.chain, model.encode(job.chain.backbone, eopt));
        } catch (const EncodeError& e) {
          res.problem = e.problem;
          throw;
        }
      },
      [&](std::size_t i, const Result& res) {
        const TokenRecord& r = res.record;
        tokens += r.tokens.size();
        if (r.windows > 1) {
          ++windowed;
          if (!a.quiet)
            std::fprintf(stderr, "bmx prot encode: %s chain %s: %zu positions encoded in %d overlapping windows\n",
                         in.jobs[i].path.c_str(), chain_label(r.chain).c_str(), r.positions, r.windows);
        }
        jsonl << token_record_json(r) << '\n';
        if (csv_file) csv_file->stream() << vq_indices_csv_row(r);
      },
      [&](std::size_t i, const Result& res) {
        report_chain_failure("encode", in.jobs[i], res.error, res.problem == EncodeProblem::too_long && !a.window,
                             "pass --window to encode overlapping windows");
      });
  progress.finish();
  const std::size_t ok = count.total - count.failed;
  // Files are kept when they hold at least one record (as bmx mol: a run that writes nothing leaves no file).
  if (ok > 0) {
    jsonl_file.commit();
    if (csv_file) csv_file->commit();
  }
  // -q: silent on success, as bmx mol; the summary still comes when something failed.
  if (!a.quiet || ok == 0 || count.failed || in.failed())
    std::fprintf(stderr,
               "bmx prot encode: %zu chain(s) encoded (%zu tokens%s) from %d file(s); %d chain(s) skipped (%d not "
               "protein), %zu failed, %d file(s) unreadable\n",
               ok, tokens, windowed ? (", " + std::to_string(windowed) + " windowed").c_str() : "", in.files,
               in.refused + in.not_protein, in.not_protein, count.failed, in.unreadable);
  if (ok == 0) {
    std::fprintf(stderr, "bmx prot encode: no encodable protein chain in the input\n");
    return 1;
  }
  return count.failed + in.failed() ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------------------
// decode

std::string read_all(const std::string& path) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  return read_file(path);
}

struct DecodeArgs {
  std::string tokens, input, model, sequence, out, format, chain;
  bool cb = false, no_oxygen = false, quiet = false, int16 = false;
  int threads = 0, overlap = 128;
};

int run_decode(const DecodeArgs& a) {
  if (a.out.empty()) throw InputError("bmx prot decode: -o OUT.pdb|OUT.cif (or a folder for several records) is required");
  if (a.tokens.empty() == a.input.empty())
    throw InputError("bmx prot decode: give the tokens either as an argument or with -i FILE (not both)");
  const std::vector<std::string> inputs = a.input.empty() ? std::vector<std::string>{} : std::vector<std::string>{a.input};
  check_not_an_input(a.out, inputs);  // before anything is loaded; each file is checked again as it is written
  const GcpVqvae model = GcpVqvae::load(gcp_vqvae_dir(a.model));
  const DecodeArithmetic arithmetic = a.int16 ? DecodeArithmetic::int16 : DecodeArithmetic::float32;
  const int codebook = static_cast<int>(model.codebook_size());
  std::vector<TokenRecord> recs = a.input.empty() ? read_token_records(a.tokens, "tokens", codebook)
                                                  : read_token_records(read_all(a.input), a.input, codebook);
  if (recs.empty()) throw InputError((a.input.empty() ? "tokens" : a.input) + ": no token records");
  for (const TokenRecord& r : recs)
    if (r.ok() && static_cast<int64_t>(r.tokens.size()) > model.max_length()) {
      check_overlap(a.overlap, 1, model);  // records longer than the window are decoded in overlapping pieces
      break;
    }
  if (!a.sequence.empty()) {
    if (recs.size() != 1) throw InputError("--sequence applies to one record, the input has " + std::to_string(recs.size()));
    const std::string letters = parse_aa_sequence(a.sequence, "--sequence");
    if (recs[0].ok()) recs[0].sequence = letters;
  }
  if (!a.chain.empty())
    for (auto& r : recs)
      if (r.ok()) r.chain = a.chain;
  WriteOptions wopt;
  wopt.add_cb = a.cb;
  wopt.add_oxygen = !a.no_oxygen;
  wopt.format = structure_format(a.format);
  // Records that cannot be read are reported and skipped below; the output's shape (one file or a folder) follows
  // the readable ones, so that one bad line does not stop the good record of a two-line file from being written.
  std::size_t readable = 0;
  for (const TokenRecord& r : recs) readable += r.ok();
  const bool many = readable > 1;
  const bool to_stdout = a.out == "-";
  const bool to_dir = !to_stdout && (fs::is_directory(a.out) || a.out.back() == '/' ||
                                     (many && fs::path(a.out).extension().empty()));
  if (many && !to_dir)
    throw InputError("bmx prot decode: the input has " + std::to_string(readable) + " records and -o " + a.out +
                     " names one " + (to_stdout ? "stream" : "file") +
                     ": give a folder (-o OUT/) to get one file per record, or pick one record");
  // One file: its name says the format (.pdb/.ent, .cif/.mmcif) unless --format does; any other name is refused
  // before the model runs. A folder gets .pdb files unless --format cif.
  if (!to_dir) wopt.format = output_format(a.out, wopt.format);
  if (to_dir && wopt.format == StructureFormat::from_extension) wopt.format = StructureFormat::pdb;
  const std::string ext = wopt.format == StructureFormat::mmcif ? ".cif" : ".pdb";
  if (to_dir) fs::create_directories(a.out);

  // One file per record: records that would share a name (the same id and chain, or no id) get _2, _3, ...
  std::vector<std::string> paths(recs.size(), a.out);
  if (to_dir) {
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      if (!recs[i].ok()) continue;
      const std::string stem = recs[i].id + "_" + chain_label(recs[i].chain);
      const int n = ++seen[stem];
      paths[i] = (fs::path(a.out) / (n == 1 ? stem + ext : stem + "_" + std::to_string(n) + ext)).string();
    }
  }
  struct Result {
    std::string error;
  };
  Progress progress("decode", recs.size(), "chains", !a.quiet && many);
  const BatchCount count = run_batch<std::size_t, Result>(
      indices(recs.size()), plan_threads(a.threads, recs.size()), progress,
      [&](std::size_t i, Result& res) {
        const TokenRecord& r = recs[i];
        if (!r.ok()) {
          res.error = r.error;
          return;
        }
        try {
          const PiecewiseDecoding d = decode_in_pieces(model, r.tokens, a.overlap, arithmetic);
          if (d.pieces > 1 && !a.quiet)
            std::fprintf(stderr,
                         "bmx prot decode: %s: %zu tokens decoded in %d overlapping pieces (largest overlap RMSD "
                         "%.2f A)\n",
                         r.where.c_str(), r.tokens.size(), d.pieces, d.overlap_rmsd);
          const BackboneChain chain = decoded_chain(r, d.decoding);
          if (to_stdout) {
            OutputFile out("-");
            write_backbones(out.stream(), {chain}, wopt.format, wopt);
            out.commit();
          } else {
            write_backbones(paths[i], {chain}, wopt, inputs);
          }
        } catch (const std::exception& e) {
          res.error = r.where + ": " + e.what();
        }
      },
      [](std::size_t, const Result&) {},
      [](std::size_t, const Result& res) { std::fprintf(stderr, "bmx prot decode: %s\n", res.error.c_str()); });
  progress.finish();
  std::size_t unnamed = 0;
  for (const TokenRecord& r : recs) unnamed += r.ok() && r.sequence.empty();
  if (unnamed && !a.quiet)
    std::fprintf(stderr, "bmx prot decode: %zu record(s) without a sequence: residues written as UNK (--sequence)\n",
                 unnamed);
  if (!a.quiet || count.failed)  // -q: silent on success, as bmx mol
    std::fprintf(stderr, "bmx prot decode: %zu of %zu record(s) written to %s\n", count.total - count.failed,
                 count.total, to_stdout ? "stdout" : a.out.c_str());
  return count.failed ? 1 : 0;
}

// ------------------------------------------------------------------------------------------------------------
// eval

struct EvalArgs {
  std::vector<std::string> inputs;
  std::string model, chain, json_out, format = "auto";
  bool window = false, quiet = false, int16 = false;
  int threads = 0;
};

int run_eval(const EvalArgs& a) {
  const ReadOptions ropt = read_options(a.chain, a.format, a.window);
  std::optional<OutputFile> json_file;
  if (!a.json_out.empty()) json_file.emplace(a.json_out, a.inputs);
  const GcpVqvae model = GcpVqvae::load(gcp_vqvae_dir(a.model));
  const DecodeArithmetic arithmetic = a.int16 ? DecodeArithmetic::int16 : DecodeArithmetic::float32;
  const Inputs in = read_inputs(a.inputs, ropt, a.quiet, a.window);
  EncodeOptions eopt;
  eopt.window = a.window;
  struct Result {
    RoundTripMetrics metrics;
    EncodeProblem problem = EncodeProblem::bad_input;
    std::string error;
  };
  std::vector<double> rmsds, tms;
  std::printf("%-40s %-6s %7s %9s %8s\n", "file", "chain", "tokens", "CA-RMSD", "TM-score");
  Progress progress("eval", in.jobs.size(), "chains", !a.quiet);
  const BatchCount count = run_batch<std::size_t, Result>(
      indices(in.jobs.size()), plan_threads(a.threads, in.jobs.size()), progress,
      [&](std::size_t i, Result& res) {
        try {
          res.metrics = round_trip(model, in.jobs[i].chain.backbone, eopt, arithmetic);
        } catch (const EncodeError& e) {
          res.problem = e.problem;
          throw;
        }
      },
      [&](std::size_t i, const Result& res) {
        const ChainJob& job = in.jobs[i];
        const RoundTripMetrics& m = res.metrics;
        std::printf("%-40s %-6s %7zu %9.3f %8.4f%s\n", fs::path(job.path).filename().string().c_str(),
                    chain_label(job.chain.chain).c_str(), m.tokens, m.ca_rmsd, m.tm_score,
                    m.pieces > 1 ? ("  (decoded in " + std::to_string(m.pieces) + " pieces)").c_str() : "");
        rmsds.push_back(m.ca_rmsd);
        tms.push_back(m.tm_score);
        if (json_file)
          json_file->stream() << nlohmann::ordered_json{{"file", job.path},      {"id", job.chain.backbone.id},
                                              {"chain", job.chain.chain}, {"tokens", m.tokens},
                                              {"ca_rmsd", m.ca_rmsd},     {"tm_score", m.tm_score},
                                              {"decoded_pieces", m.pieces}}
                           .dump()
                    << "\n";
      },
      [&](std::size_t i, const Result& res) {
        report_chain_failure("eval", in.jobs[i], res.error, res.problem == EncodeProblem::too_long && !a.window,
                             "pass --window to encode it in windows and decode it in pieces");
      });
  progress.finish();
  if (json_file && !rmsds.empty()) json_file->commit();
  if (rmsds.empty()) {
    std::fprintf(stderr, "bmx prot eval: no chain could be evaluated\n");
    return 1;
  }
  std::printf("%zu chain(s): CA-RMSD mean %.3f median %.3f A; TM-score mean %.4f median %.4f\n", rmsds.size(),
              mean(rmsds), median(rmsds), mean(tms), median(tms));
  return count.failed + in.failed() ? 1 : 0;
}

}  // namespace

void add_prot_commands(CLI::App& app, CLI::App& bench) {
  auto* prot = app.add_subcommand("prot", "Protein structures <-> GCP-VQVAE structure tokens (BioMatrix <S n>)");
  prot->require_subcommand(1);

  {
    auto a = std::make_shared<EncodeArgs>();
    auto* c = prot->add_subcommand("encode", "Structure files (PDB/mmCIF, .gz) -> one JSON line per protein chain");
    c->add_option("inputs", a->inputs, "PDB / mmCIF files (optionally .gz)")->required();
    c->add_option("--model", a->model, kGcpVqvaeHelp);
    c->add_option("--chain", a->chain, "only this chain (_ for a blank chain id)");
    c->add_option("-o,--output", a->out, "JSON lines output (default stdout): id, chain, sequence, tokens, residues, "
                                         "aa, struct, ...");
    c->add_option("--csv", a->csv, "also write BioMatrix's vq_indices.csv (pid, indices, protein_sequence)");
    c->add_option("--shard", a->shard, "I/N: only the inputs I, I+N, I+2N, ... (0-based, in the order given), for job "
                                       "arrays (e.g. Slurm: --shard $SLURM_ARRAY_TASK_ID/N)");
    c->add_flag("--window", a->window, "encode chains longer than the model maximum (512) in overlapping windows "
                                       "instead of refusing them");
    c->add_option("--window-overlap", a->overlap, "residues shared by neighbouring windows")->default_val(128);
    c->add_option("--format", a->format, "input format: auto (by extension), pdb or cif")->default_val("auto");
    c->add_option("-t,--threads", a->threads, "threads (default: all cores)");
    c->add_flag("-q,--quiet", a->quiet, "no progress, notes or summary on stderr (errors only)");
    c->callback([a] { exit_status = run_encode(*a); });
  }
  {
    auto a = std::make_shared<DecodeArgs>();
    auto* c = prot->add_subcommand("decode", "Structure tokens -> N/CA/C backbone (+ ideal O, optional CB) as PDB/mmCIF");
    c->add_option("tokens", a->tokens, "codes (\"12 7 4095\"), or <S n> tokens (wrapped or not)");
    c->add_option("-i,--input", a->input, "file: JSON lines from bmx prot encode, vq_indices.csv, or tokens (- = stdin)");
    c->add_option("--model", a->model, kGcpVqvaeHelp);
    c->add_option("--sequence", a->sequence, "residue letters (plain or <|prot_aa_start|>...) for residue names");
    c->add_option("-o,--output", a->out, "OUT.pdb or OUT.cif (- for stdout, PDB unless --format cif); a folder (OUT/) when the input has several records")->required();
    c->add_option("--format", a->format, "pdb or cif (default: from the output extension)");
    c->add_option("--chain", a->chain, "chain id to write (default: the record's, else A)");
    c->add_option("--window-overlap", a->overlap, "records longer than the model maximum (512; from encode --window) "
                                                  "are decoded in pieces sharing this many residues, superposed on "
                                                  "them into one chain")
        ->default_val(128);
    c->add_flag("--cb", a->cb, "add ideal CB atoms (not on glycine)");
    c->add_flag("--no-oxygen", a->no_oxygen, "write N, CA, C only (no ideal carbonyl O; DSSP needs O)");
    c->add_flag("--int16", a->int16, "decode with 14-bit integer matrix products: ~1.4x faster on AVX2 CPUs; atoms "
                                     "move by a few thousandths of an angstrom (default: float32, as the original)");
    c->add_option("-t,--threads", a->threads, "threads (default: all cores)");
    c->add_flag("-q,--quiet", a->quiet, "no progress, notes or summary on stderr (errors only)");
    c->callback([a] { exit_status = run_decode(*a); });
  }
  {
    auto a = std::make_shared<EvalArgs>();
    auto* c = prot->add_subcommand("eval", "Round trip encode -> decode per chain: CA RMSD after superposition and "
                                           "TM-score against the input");
    c->add_option("inputs", a->inputs, "PDB / mmCIF files (optionally .gz)")->required();
    c->add_option("--model", a->model, kGcpVqvaeHelp);
    c->add_option("--chain", a->chain, "only this chain");
    c->add_option("--json", a->json_out, "also write one JSON line per chain");
    c->add_flag("--window", a->window, "encode long chains in windows; their tokens are decoded in pieces of at most "
                                       "512, each superposed on its own residues");
    c->add_flag("--int16", a->int16, "decode with 14-bit integer matrix products: ~1.4x faster on AVX2 CPUs; atoms "
                                     "move by a few thousandths of an angstrom (default: float32, as the original)");
    c->add_option("--format", a->format, "input format: auto, pdb or cif")->default_val("auto");
    c->add_option("-t,--threads", a->threads, "threads (default: all cores)");
    c->add_flag("-q,--quiet", a->quiet, "no progress, notes or summary on stderr (errors only)");
    c->callback([a] { exit_status = run_eval(*a); });
  }
  add_prot_bench(bench);
}

}  // namespace bmx::app
