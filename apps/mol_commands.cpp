// bmx mol encode | decode | refine | eval: molecules with 3D coordinates <-> MolStrucTok tokens, checked
// SD files out. Batches stream: records are read in chunks, processed on --threads, written in input order.
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>

#include <cctype>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bmx/core/io/output_file.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/parallel.h"
#include "bmx/core/util/progress.h"
#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/fragments.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/mol3d/roundtrip.h"
#include "bmx/mol3d/sdf_writer.h"
#include "bmx/core/io/json_sax.h"
#include "commands.h"
#include "encode_records.h"
#include "measure.h"

namespace bmx::app {
namespace {

using nlohmann::ordered_json;

struct CommonOptions {
  std::string model;
  int threads = 0;
  bool quiet = false;
  int max_atoms = mol3d::kDefaultMaxAtoms;
  int thread_count() const { return bmx::thread_count(threads); }  // the one -t rule of every command
};

void add_common(CLI::App* cmd, CommonOptions& o, bool uses_model = true) {
  if (uses_model)
    cmd->add_option("--model", o.model,
                    "MolStrucTok checkpoint (default: the one installed with bmx, or $BMX_MOLSTRUCTOK)");
  cmd->add_option("-t,--threads", o.threads, "Worker threads (default: all cores; more than the cores are capped)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-atoms", o.max_atoms,
                  "Refuse molecules with more atoms, hydrogens included (default " +
                      std::to_string(mol3d::kDefaultMaxAtoms) +
                      "; refinement's memory and time grow with the square of the atoms)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("-q,--quiet", o.quiet, "No progress on stderr");
}

// Molecule files on the command line, read as one stream of records.
struct FileInputs {
  std::vector<std::string> inputs;
  std::string format;
};

void add_file_inputs(CLI::App* cmd, FileInputs& f) {
  cmd->add_option("inputs", f.inputs, "Input files ('-' for stdin, see --format)")->required();
  cmd->add_option("-f,--format", f.format,
                  "Input format when it cannot be told from the name (sdf, mol2, xyz, or any Open Babel format; "
                  "stdin is read as SDF unless given)");
}

mol3d::ReadOptions read_options(const FileInputs& f, const CommonOptions& o) {
  mol3d::ReadOptions ro;
  ro.format = f.format;
  ro.max_atoms = o.max_atoms;
  return ro;
}

mol3d::MolStrucTok load_model(const CommonOptions& o) {
  mol3d::silence_rdkit_logs();  // bmx reports every problem itself, one line per record
  return mol3d::MolStrucTok(o.model.empty() ? mol3d::default_checkpoint() : o.model);
}

// A bad record is one line on stderr, as its message says it (naming file, record and problem).
template <typename Item, typename Result>
void report_failure(const Item&, const Result& res) {
  std::fprintf(stderr, "bmx: %s\n", res.error.c_str());
}

// run_batch over a reader's records; a record the reader could not make is reported as it said.
template <typename Result, typename Work, typename Emit>
BatchCount for_each_record(mol3d::MolReader& reader, int threads, Progress& progress, Work work, Emit emit) {
  return run_batch<mol3d::MolRecord, Result>(
      [&](mol3d::MolRecord& r) { return reader.next(r); }, threads, progress,
      [&](mol3d::MolRecord& r, Result& res) {  // work may take the molecule (refine edits it)
        if (!r.ok()) {
          res.error = r.error;
          return;
        }
        try {
          work(r, res);
        } catch (const std::exception& e) {
          res.error = r.where() + ": " + e.what();
        }
      },
      emit, report_failure<mol3d::MolRecord, Result>);
}

// The exit status of a batch, as for bmx prot: 1 when any record failed (each was reported), after every good
// record was written.
// `written`: records in the output (-1: every good one, as for JSON lines); with none written the output file
// was removed, and the message says so.
int report_failures(const BatchCount& c, const char* what, long written = -1, const std::string& output = {}) {
  if (c.failed) {
    const std::size_t w = written < 0 ? c.total - c.failed : std::size_t(written);
    if (w == 0)
      std::fprintf(stderr, "bmx: %zu of %zu %s failed (reported above); 0 written%s\n", c.failed, c.total, what,
                   output.empty() || output == "-" ? "" : (", nothing written to " + output).c_str());
    else
      std::fprintf(stderr, "bmx: %zu of %zu %s failed (reported above); %zu written\n", c.failed, c.total, what, w);
  }
  return c.failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------
struct EncodeOptions : CommonOptions, FileInputs {
  std::string output, shard;
};

int run_encode(const EncodeOptions& o) {
  OutputFile out(o.output, o.inputs);  // before anything is read: an output that is an input is refused
  auto model = load_model(o);
  mol3d::MolReader reader(shard_inputs(o.inputs, o.shard), read_options(o, o));
  Progress progress("encode", 0, "molecules", !o.quiet);
  struct Result {
    std::string line, error;
  };
  auto count = for_each_record<Result>(
      reader, o.thread_count(), progress,
      [&](mol3d::MolRecord& r, Result& res) {
          auto e = model.encode(*r.mol);
          const ordered_json j = mol_encode_json(r, e);
          res.line = j.dump();
      },
      [&](mol3d::MolRecord&, Result& res) { out.stream() << res.line << '\n'; });
  progress.finish();
  out.commit();  // every good record is kept, as the batch rule says; a write error is an error
  return report_failures(count, "molecules");
}

// ---------------------------------------------------------------------------------------------------------
struct RefineFlags {
  std::string forcefield = "mmff94";
  int max_iters = 2000;  // the reference's 200 leaves some decoded molecules unconverged; converged ones stop early
  bool no_uff = false;
};

void add_refine_flags(CLI::App* cmd, RefineFlags& f) {
  cmd->add_option("--ff", f.forcefield, "Force field: mmff94 (reference), mmff94s or uff")
      ->check(CLI::IsMember({"mmff94", "mmff94s", "uff"}));
  cmd->add_option("--max-iters", f.max_iters, "Refinement iterations (default 2000; the reference uses 200)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-uff", f.no_uff, "Leave molecules MMFF has no parameters for unrefined instead of using UFF");
}

forcefield::RefineOptions refine_options(const RefineFlags& f, const CommonOptions& o) {
  forcefield::RefineOptions r;
  r.force_field = forcefield::parse_force_field(f.forcefield);
  r.max_iters = f.max_iters;
  r.uff_fallback = !f.no_uff;
  r.max_atoms = o.max_atoms;
  return r;
}

// The batch summary's line on refinement: how many molecules stopped before converging.
void report_unconverged(int unconverged, int refined, int max_iters) {
  if (unconverged)
    std::fprintf(stderr, "bmx: %d of %d refined molecules not converged after %d iterations (raise --max-iters)\n",
                 unconverged, refined, max_iters);
}

// ---------------------------------------------------------------------------------------------------------
struct DecodeOptions : CommonOptions {
  std::string tokens, input, output;
  bool no_refine = false;
  RefineFlags refine;
};

// One decode job: a token string and a name, from a bare line, a wrapped line or a JSON line of `bmx mol encode`.
struct TokenLine {
  std::string name, tokens, where;
  std::vector<int> atom_order;  // from a JSON line of `bmx mol encode`: input atom of each token atom
};

// The decode jobs, one per non-blank line: the argument first, then -i FILE (- for stdin), read as they are needed.
class TokenLineReader {
 public:
  explicit TokenLineReader(const DecodeOptions& o) : argument_(o.tokens) {
    if (o.tokens.empty() && o.input.empty())
      throw InputError("nothing to decode: give a token string or -i FILE (- for stdin)");
    if (o.input.empty()) return;
    source_ = o.input == "-" ? "stdin" : o.input;
    if (o.input == "-") {
      in_ = &std::cin;
    } else {
      file_.open(o.input);
      if (!file_) throw InputError(o.input + ": cannot open");
      in_ = &file_;
    }
  }

  bool next(TokenLine& t) {
    if (!argument_.empty()) {
      const std::string line = std::move(argument_);
      argument_.clear();
      if (parse(line, "argument", 1, t)) return true;
    }
    for (std::string line; in_ && std::getline(*in_, line);)
      if (parse(line, source_, ++lineno_, t)) return true;
    return false;
  }

 private:
  // A bare or wrapped token string, or a JSON line of `bmx mol encode`; false for a blank line.
  bool parse(const std::string& line, const std::string& file, int lineno, TokenLine& t) {
    std::string s = line;
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    const size_t start = s.find_first_not_of(" \t");
    if (start == std::string::npos) return false;
    s = s.substr(start);
    t = TokenLine{};
    t.where = file + ":" + std::to_string(lineno);
    if (s[0] == '{') {
      try {
        auto j = parse_json(s);
        if (j.contains("struct_sfi")) t.tokens = j["struct_sfi"].get<std::string>();
        else if (j.contains("tokens")) t.tokens = j["tokens"].get<std::string>();
        if (j.contains("name")) t.name = j["name"].get<std::string>();
        if (j.contains("atom_order") && j["atom_order"].is_array()) t.atom_order = j["atom_order"].get<std::vector<int>>();
      } catch (const std::exception&) {
        t.tokens.clear();
      }
      if (t.tokens.empty()) t.where += ": JSON line without a struct_sfi or tokens string";
    } else {
      t.tokens = s;
    }
    if (t.name.empty()) t.name = "mol" + std::to_string(count_ + 1);
    ++count_;
    return true;
  }

  std::string argument_, source_;
  std::ifstream file_;
  std::istream* in_ = nullptr;
  int lineno_ = 0, count_ = 0;
};

void add_note(std::string& notes, const std::string& note) {
  if (!note.empty()) notes += (notes.empty() ? "" : "\n") + note;
}

void print_notes(const std::string& notes, bool quiet) {
  if (quiet || notes.empty()) return;
  std::istringstream in(notes);
  for (std::string line; std::getline(in, line);) std::fprintf(stderr, "bmx: %s\n", line.c_str());
}

int run_decode(const DecodeOptions& o) {
  // The output first: one that is the input is refused before anything is read or written.
  mol3d::SdfWriter writer(o.output, o.input.empty() ? std::vector<std::string>{} : std::vector<std::string>{o.input});
  auto model = load_model(o);
  TokenLineReader lines(o);
  auto ropts = refine_options(o.refine, o);
  Progress progress("decode", 0, "molecules", !o.quiet && !o.input.empty());
  struct Result {
    std::string record, error, note;
    bool refined = false, unconverged = false;
  };
  int refined = 0, unconverged = 0;
  auto count = run_batch<TokenLine, Result>(
      [&](TokenLine& t) { return lines.next(t); }, o.thread_count(), progress,
      [&](TokenLine& job, Result& res) {
        try {
          std::optional<forcefield::RefineOptions> refine;
          if (!o.no_refine) refine = ropts;
          auto d = mol_decode_record(model, job.tokens, job.name, job.where, job.atom_order, o.max_atoms, refine);
          res.record = std::move(d.record);
          res.note = std::move(d.note);
          res.refined = d.refined;
          res.unconverged = d.unconverged;
        } catch (const std::exception& e) {
          res.error = job.where + " (" + job.name + "): " + e.what();
        }
      },
      [&](const TokenLine&, Result& res) {
        print_notes(res.note, o.quiet);
        refined += res.refined;
        unconverged += res.unconverged;
        writer.write_record(res.record);
      },
      report_failure<TokenLine, Result>);
  const int written = writer.finish();
  progress.finish();
  report_unconverged(unconverged, refined, ropts.max_iters);
  return report_failures(count, "token strings", written, o.output);
}

// An SD field holding an energy, score or minimisation state of the coordinates
// (r_mmffld_Potential_Energy-OPLS_2005, b_mmffld_Minimization_Converged-OPLS_2005, minimizedAffinity,
// bmx_energy_after, ...): stale once the coordinates are refined.
bool is_stale_energy_field(const std::string& key) {
  std::string k;
  for (char c : key) k += char(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : {"energy", "affinity", "potential", "enthalpy", "strain", "mmffld", "minimiz", "converged",
                        "derivative", "bmx_refinement", "bmx_dropped_fields", "bmx_hydrogens_added"})
    if (k.find(w) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------------------
struct RefineCmdOptions : CommonOptions, FileInputs {
  std::string output;
  RefineFlags refine;
};

int run_refine(const RefineCmdOptions& o) {
  mol3d::silence_rdkit_logs();
  mol3d::SdfWriter writer(o.output, o.inputs);  // before anything is read: an output that is an input is refused
  mol3d::MolReader reader(o.inputs, read_options(o, o));
  auto ropts = refine_options(o.refine, o);
  Progress progress("refine", 0, "molecules", !o.quiet);
  struct Result {
    std::string record, error, note;
    bool refined = false, unconverged = false;
  };
  int refined = 0, unconverged = 0;
  auto count = for_each_record<Result>(
      reader, o.thread_count(), progress,
      [&](mol3d::MolRecord& r, Result& res) {
        // The input's energy fields (docking or force-field energies, a previous bmx refinement) describe the
        // coordinates before this refinement: dropped, and listed in bmx_dropped_fields.
        mol3d::SdFields fields;
        std::string dropped;
        for (const auto& [key, value] : r.fields)
          if (is_stale_energy_field(key)) dropped += (dropped.empty() ? "" : " ") + key;
          else fields.emplace_back(key, value);
        if (!dropped.empty()) fields.emplace_back("bmx_dropped_fields", dropped);
        if (r.hydrogens_added > 0) {
          fields.emplace_back("bmx_hydrogens_added", std::to_string(r.hydrogens_added));
          res.note = r.where() + ": " + std::to_string(r.hydrogens_added) +
                     " hydrogens added with 3D coordinates (the input had none for them)";
        }
        auto rr = forcefield::refine(*r.mol, ropts);
        res.refined = rr.status != forcefield::RefineStatus::no_parameters;
        res.unconverged = rr.status == forcefield::RefineStatus::not_converged;
        add_refine_fields(rr, fields);
        add_note(res.note, v3000_note(*r.mol, r.where()));
        res.record = mol3d::sdf_record(*r.mol, r.name, fields, r.where());
      },
      [&](mol3d::MolRecord&, Result& res) {
        print_notes(res.note, o.quiet);
        refined += res.refined;
        unconverged += res.unconverged;
        writer.write_record(res.record);
      });
  const int written = writer.finish();
  progress.finish();
  report_unconverged(unconverged, refined, ropts.max_iters);
  return report_failures(count, "molecules", written, o.output);
}

// ---------------------------------------------------------------------------------------------------------
struct EvalOptions : CommonOptions, FileInputs {
  bool json = false;
  std::string output;
  RefineFlags refine;
};

struct EvalRow {
  std::string name, error, refinement;
  int atoms = 0;
  mol3d::RoundTripMetrics decoded, refined;
  int codes_total = 0, codes_same = 0;
};

// encode -> decode -> (metrics) -> refine -> (metrics); the decoded geometry re-encoded gives the same codes?
EvalRow evaluate(const mol3d::MolStrucTok& model, const mol3d::MolRecord& r, const forcefield::RefineOptions& ro) {
  EvalRow row;
  row.name = r.name;
  auto e = model.encode(*r.mol);
  row.atoms = static_cast<int>(e.codes.size());
  auto d = model.decode_detail(e.struct_sfi, ro.max_atoms);
  // Stereo is compared as a reader of the written SD file sees it (E/Z and R/S from the file's bond block and
  // parity as RDKit reads them), so a file that loses E/Z shows here.
  // A molecule RDKit cannot read back (failed sanitization) is compared as it is in memory.
  auto compare_written = [&](const RDKit::ROMol& m) {
    std::unique_ptr<RDKit::RWMol> back;
    try {
      back = mol3d::mol_from_molblock(mol3d::sdf_record(m, r.name, {}, r.where()), r.where());
    } catch (const std::exception&) {
      return mol3d::compare_round_trip(*r.mol, m, e.atom_order);
    }
    return mol3d::compare_round_trip(*r.mol, *back, e.atom_order, /*decoded_as_tagged=*/true);
  };
  row.decoded = compare_written(*d.mol);
  try {
    // What a user asks is whether encode(decode(t)) gives t back: with the same SELFIES the token positions
    // correspond (even where a symmetric molecule is traversed from the mirror-image atom); otherwise atoms
    // are matched through the decoded order (decoded atom k sits at token position k).
    auto again = model.encode(*d.mol);
    row.codes_total = static_cast<int>(again.codes.size());
    const bool same_string = again.selfies == e.selfies;
    for (size_t k = 0; k < again.codes.size(); ++k)
      if (again.codes[k] == e.codes.at(same_string ? k : again.atom_order[k])) ++row.codes_same;
  } catch (const std::exception&) {
    row.codes_total = row.atoms;  // the decoded molecule could not be encoded: no code agrees
  }
  RDKit::RWMol refined(*d.mol);
  auto rr = forcefield::refine(refined, ro);
  row.refinement = forcefield::describe(rr);
  row.refined = compare_written(refined);
  return row;
}

// printf into a stream (the eval table goes to an OutputFile).
void print_to(std::ostream& out, const char* format, ...) {
  char buf[1024];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  if (n > 0) out.write(buf, std::min<std::streamsize>(n, sizeof buf - 1));
}

int run_eval(const EvalOptions& o) {
  // -o FILE: the table (or JSON lines) goes there instead of stdout, as with the other commands.
  OutputFile out(o.output, o.inputs);
  std::ostream& os = out.stream();
  auto model = load_model(o);
  mol3d::MolReader reader(o.inputs, read_options(o, o));
  auto ro = refine_options(o.refine, o);
  Progress progress("eval", 0, "molecules", !o.quiet);
  std::vector<double> rmsd_dec, rmsd_ref, bond_mean, bond_max;
  int stereo_total = 0, stereo_kept = 0, stereo_kept_ref = 0, codes_total = 0,
      codes_same = 0, same_graph = 0;
  if (!o.json)
    print_to(os, "%-28s %-28s %5s %9s %9s %9s %9s %7s %7s  %s\n", "file:record", "name", "atoms", "rmsd_dec", "rmsd_ref", "bond_dev",
                "bond_max", "stereo", "codes", "refinement");
  auto count = for_each_record<EvalRow>(
      reader, o.thread_count(), progress, [&](mol3d::MolRecord& r, EvalRow& row) { row = evaluate(model, r, ro); },
      [&](mol3d::MolRecord& r, EvalRow& row) {
        rmsd_dec.push_back(row.decoded.heavy_rmsd);
        rmsd_ref.push_back(row.refined.heavy_rmsd);
        bond_mean.push_back(row.decoded.bond_dev_mean);
        bond_max.push_back(row.decoded.bond_dev_max);
        stereo_total += row.decoded.stereo_centres;
        stereo_kept += row.decoded.stereo_kept;
        stereo_kept_ref += row.refined.stereo_kept;
        codes_total += row.codes_total;
        codes_same += row.codes_same;
        same_graph += row.decoded.same_graph;
        if (o.json) {
          ordered_json j;
          j["name"] = row.name;
          j["file"] = r.file;
          j["record"] = r.index;
          j["atoms"] = row.atoms;
          j["heavy_rmsd_decoded"] = row.decoded.heavy_rmsd;
          j["heavy_rmsd_refined"] = row.refined.heavy_rmsd;
          j["bond_dev_mean"] = row.decoded.bond_dev_mean;
          j["bond_dev_max"] = row.decoded.bond_dev_max;
          j["stereo_centres"] = row.decoded.stereo_centres;
          j["stereo_kept_decoded"] = row.decoded.stereo_kept;
          j["stereo_kept_refined"] = row.refined.stereo_kept;
          j["same_graph"] = row.decoded.same_graph;
          j["codes_reencoded_same"] = row.codes_same;
          j["codes_reencoded_total"] = row.codes_total;
          j["refinement"] = row.refinement;
          os << j.dump() << '\n';
        } else {
          std::string stereo = std::to_string(row.decoded.stereo_kept) + "/" + std::to_string(row.decoded.stereo_centres);
          char codes[32];
          std::snprintf(codes, sizeof codes, "%.0f%%", row.codes_total ? 100.0 * row.codes_same / row.codes_total : 100.0);
          // file:record tells apart two records with one name; a long path keeps its tail.
          std::string place = (r.file == "-" ? std::string("stdin") : std::filesystem::path(r.file).filename().string()) +
                              ":" + std::to_string(r.index);
          print_to(os, "%-28s %-28.28s %5d %9.3f %9.3f %9.4f %9.4f %7s %7s  %s\n", place.c_str(), row.name.c_str(), row.atoms,
                      row.decoded.heavy_rmsd, row.refined.heavy_rmsd, row.decoded.bond_dev_mean,
                      row.decoded.bond_dev_max, stereo.c_str(), codes, row.refinement.c_str());
        }
      });
  progress.finish();
  const int total = static_cast<int>(count.total), failed = static_cast<int>(count.failed), ok = total - failed;
  double pct_stereo = stereo_total ? 100.0 * stereo_kept / stereo_total : 100.0;
  double pct_stereo_ref = stereo_total ? 100.0 * stereo_kept_ref / stereo_total : 100.0;
  double pct_codes = codes_total ? 100.0 * codes_same / codes_total : 100.0;
  if (o.json) {
    ordered_json s;
    s["summary"] = {{"molecules", total}, {"evaluated", ok}, {"failed", failed},
                    {"heavy_rmsd_decoded_mean", mean(rmsd_dec)}, {"heavy_rmsd_decoded_median", median(rmsd_dec)},
                    {"heavy_rmsd_refined_mean", mean(rmsd_ref)}, {"heavy_rmsd_refined_median", median(rmsd_ref)},
                    {"bond_dev_mean", mean(bond_mean)}, {"bond_dev_max_mean", mean(bond_max)},
                    {"stereo_centres", stereo_total}, {"stereo_kept_decoded_pct", pct_stereo},
                    {"stereo_kept_refined_pct", pct_stereo_ref}, {"same_graph", same_graph},
                    {"codes_reencoded_same_pct", pct_codes}};
    os << s.dump() << '\n';
  } else {
    print_to(os, "\nsummary: %d molecules evaluated, %d failed\n", ok, failed);
    print_to(os, "  heavy-atom RMSD to input, decoded:  mean %.3f A, median %.3f A\n", mean(rmsd_dec), median(rmsd_dec));
    print_to(os, "  heavy-atom RMSD to input, refined:  mean %.3f A, median %.3f A\n", mean(rmsd_ref), median(rmsd_ref));
    print_to(os, "  bond-length deviation, decoded:      mean %.4f A, mean of per-molecule max %.4f A\n", mean(bond_mean),
                mean(bond_max));
    print_to(os, "  stereo kept (centres + double bonds): %.1f%% decoded, %.1f%% refined (%d in all)\n", pct_stereo,
                pct_stereo_ref, stereo_total);
    print_to(os, "  same bond graph after decoding:       %d of %d\n", same_graph, ok);
    print_to(os, "  codes unchanged when the decoded geometry is re-encoded: %.1f%%\n", pct_codes);
  }
  out.commit();
  return failed ? 1 : 0;
}

}  // namespace

void add_mol_commands(CLI::App& app, CLI::App& bench) {
  auto* mol = app.add_subcommand("mol", "Molecules with 3D coordinates <-> MolStrucTok tokens, MMFF refinement");
  mol->require_subcommand(1);

  static EncodeOptions enc;
  auto* e = mol->add_subcommand("encode", "Molecule files with 3D coordinates -> MolStrucTok tokens (JSON lines)");
  e->footer("Reads SDF, MOL (V2000/V3000), MOL2, XYZ and anything Open Babel reads (bonds are perceived for XYZ).\n"
            "One JSON line per molecule: name, file, record, smiles, selfies, struct_sfi, codes, tokens (the wrapped\n"
            "<|mol_3d_start|>...<|mol_3d_end|> form), atom_order, hydrogens_added. Missing hydrogens are added with\n"
            "3D coordinates (the model was trained on all-H molecules); 2D-only records are refused. Bad records are\n"
            "reported on stderr, one line each, and every good one is written; exit status 1 if any failed.\n"
            "Example: bmx mol encode ligands.sdf -o ligands.jsonl");
  add_file_inputs(e, enc);
  e->add_option("-o,--output", enc.output, "Output JSON lines (default: stdout)");
  e->add_option("--shard", enc.shard, "I/N: only the inputs I, I+N, I+2N, ... (0-based, in the order given), for "
                                      "job arrays (e.g. Slurm: --shard $SLURM_ARRAY_TASK_ID/N)");
  add_common(e, enc);
  e->callback([] { exit_status = run_encode(enc); });

  static DecodeOptions dec;
  auto* d = mol->add_subcommand("decode", "MolStrucTok tokens -> 3D SD file, refined with MMFF94");
  d->footer("Input: one token string (bare struct_sfi or the wrapped form) or -i FILE with one per line; JSON lines\n"
            "of `bmx mol encode` work too. Each molecule is refined with MMFF94 (UFF where MMFF has no parameters)\n"
            "unless --no-refine; the tokens, the refinement status and the energies are written as SD fields.\n"
            "A bad token string is reported with the token at fault; the others are written.\n"
            "Example: bmx mol decode '[H 3][O 26][H 304]' -o water.sdf");
  d->add_option("tokens", dec.tokens, "One token string");
  d->add_option("-i,--input", dec.input, "File with one token string or JSON object per line ('-' for stdin)");
  d->add_option("-o,--output", dec.output, "Output SD file (default: stdout, also '-')");
  d->add_flag("--no-refine", dec.no_refine, "Write the decoded geometry as it is");
  add_refine_flags(d, dec.refine);
  add_common(d, dec);
  d->callback([] { exit_status = run_decode(dec); });

  static RefineCmdOptions ref;
  auto* r = mol->add_subcommand("refine", "Refine 3D molecules with MMFF94 (RDKit; UFF where MMFF has no parameters)");
  add_file_inputs(r, ref);
  r->add_option("-o,--output", ref.output, "Output SD file (default: stdout, also '-')");
  add_refine_flags(r, ref.refine);
  add_common(r, ref, /*uses_model=*/false);
  r->callback([] { exit_status = run_refine(ref); });

  static EvalOptions ev;
  auto* v = mol->add_subcommand("eval", "Round trip of each molecule (encode -> decode -> refine) with its errors");
  v->footer("Per molecule: heavy-atom RMSD to the input after superposition, before and after refinement; bond-length\n"
            "deviation (mean and max); stereo centres and double bonds kept; the bond graph kept; codes unchanged when\n"
            "the decoded geometry is encoded again. Then a summary over all molecules.");
  add_file_inputs(v, ev);
  v->add_flag("--json", ev.json, "One JSON object per molecule, then a summary object");
  v->add_option("-o,--output", ev.output, "Output file for the table or JSON lines (default: stdout, also '-')");
  add_refine_flags(v, ev.refine);
  add_common(v, ev);
  v->callback([] { exit_status = run_eval(ev); });

  add_mol_bench(bench);
}

}  // namespace bmx::app
