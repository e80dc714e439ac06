// bmx prot encode | decode | eval, and bmx bench prot: protein structures <-> GCP-VQVAE structure tokens.
// Science lives in prot3d/; this file parses flags, runs batches (threads, progress, per-chain errors) and prints.
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/core/util/math_threads.h"
#include "bmx/core/util/parallel.h"
#include "bmx/core/util/progress.h"
#include "bmx/core/io/read_file.h"
#include "bmx/core/geom/superpose.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/structure_writer.h"
#include "bmx/prot3d/token_text.h"
#include "bmx/tokenizers/modality.h"
#include "commands.h"
#include "measure.h"
#include "structure_models.h"

namespace bmx::app {
namespace {

namespace fs = std::filesystem;
using namespace bmx::prot3d;
using nlohmann::json;

// Threads across chains, and maths threads inside one chain when there are fewer chains than threads.
int plan_threads(int threads, std::size_t items) {
  const int total = threads > 0 ? threads : hardware_threads();
  const int workers = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(total, items)));
  set_math_threads(std::max(1, total / workers));
  return workers;
}

std::string residue_id(const Residue& r) {
  std::string s = std::to_string(r.seq_num);
  if (r.icode != ' ' && r.icode != '\0') s += r.icode;
  return s;
}

std::string pid(const BackboneChain& c) { return c.id + "_chain_id_" + chain_label(c.chain); }

// One chain of an input file waiting for the model.
struct ChainJob {
  std::size_t file = 0;
  std::string path;
  ChainResult chain;
};

struct Inputs {
  std::vector<ChainJob> jobs;
  int files = 0, unreadable = 0, skipped = 0;
};

// Reads every file; reports unreadable files and chains without tokens on stderr and keeps going.
Inputs read_inputs(const std::vector<std::string>& paths, const ReadOptions& opt, bool quiet, bool window) {
  Inputs in;
  for (std::size_t f = 0; f < paths.size(); ++f) {
    ++in.files;
    StructureChains sc;
    try {
      sc = read_protein_chains(paths[f], opt);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bmx prot: %s\n", e.what());
      ++in.unreadable;
      continue;
    }
    if (sc.n_models > 1 && !quiet)
      std::fprintf(stderr, "bmx prot: %s: %d models, using the first\n", paths[f].c_str(), sc.n_models);
    for (ChainResult& c : sc.chains) {
      if (c.status != ChainStatus::ok) {
        std::fprintf(stderr, "bmx prot: %s chain %s: skipped: %s%s\n", paths[f].c_str(), chain_label(c.chain).c_str(),
                     c.message.c_str(),
                     c.status == ChainStatus::length && !window ? "; the BioMatrix pipeline drops such chains, "
                                                                   "--window encodes them" : "");
        ++in.skipped;
        continue;
      }
      in.jobs.push_back({f, paths[f], std::move(c)});
    }
  }
  return in;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out || !(out << text)) throw InputError(path + ": cannot write");
}

// ------------------------------------------------------------------------------------------------------------
// encode

struct EncodeArgs {
  std::vector<std::string> inputs;
  std::string model, chain, out, csv, format = "auto";
  bool window = false, quiet = false;
  int threads = 0, overlap = 128;
};

ReadOptions read_options(const std::string& chain, const std::string& format, bool window) {
  ReadOptions o;
  o.chain = chain;
  if (window) o.limits.max_len = 0;  // windows lift the wrapper's 1280-residue limit too
  if (format == "pdb") o.format = StructureFormat::pdb;
  else if (format == "cif" || format == "mmcif") o.format = StructureFormat::mmcif;
  else if (format != "auto") throw InputError("--format must be auto, pdb or cif (got " + format + ")");
  return o;
}

using ojson = nlohmann::ordered_json;  // keys in the order written: id and chain first

ojson encoded_record(const ChainJob& job, const Encoded& e) {
  const BackboneChain& bb = job.chain.backbone;
  std::string seq;
  ojson residues = ojson::array();
  for (int p : e.positions) {
    seq += bb.residues[p].one_letter;
    residues.push_back(residue_id(bb.residues[p]));
  }
  ojson j;
  j["id"] = bb.id;
  j["file"] = job.path;
  j["chain"] = bb.chain;
  j["pid"] = pid(bb);
  j["sequence"] = seq;
  j["tokens"] = e.tokens;
  j["residues"] = residues;
  j["aa"] = format_aa_segment(seq);
  j["struct"] = format_struct_segment(e.tokens);
  j["length"] = bb.size();               // positions after gap filling (graph nodes)
  j["imputed"] = bb.size() - e.tokens.size();  // positions without a token
  // Which positions those are: "<residue id> <name>", the name being the HETATM residue or partial residue that
  // sat there, or "gap" for a numbering gap.
  ojson untokenized = ojson::array();
  for (std::size_t i = 0, k = 0; i < bb.size(); ++i) {
    if (k < e.positions.size() && e.positions[k] == static_cast<int>(i)) {
      ++k;
      continue;
    }
    const Residue& r = bb.residues[i];
    untokenized.push_back(residue_id(r) + " " + (r.name.empty() ? std::string("gap") : r.name));
  }
  j["untokenized"] = untokenized;
  j["windows"] = e.windows;
  if (!job.chain.notes.empty()) j["notes"] = job.chain.notes;
  return j;
}

int run_encode(const EncodeArgs& a) {
  const ReadOptions ropt = read_options(a.chain, a.format, a.window);
  const GcpVqvae model = GcpVqvae::load(gcp_vqvae_dir(a.model));
  Inputs in = read_inputs(a.inputs, ropt, a.quiet, a.window);
  EncodeOptions eopt;
  eopt.window = a.window;
  eopt.window_overlap = a.overlap;
  std::vector<std::optional<ojson>> records(in.jobs.size());
  std::vector<std::string> errors(in.jobs.size());
  {
    Progress progress("encode", in.jobs.size(), "chains", !a.quiet);
    parallel_for(in.jobs.size(), plan_threads(a.threads, in.jobs.size()), [&](std::size_t i) {
      try {
        records[i] = encoded_record(in.jobs[i], model.encode(in.jobs[i].chain.backbone, eopt));
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
      progress.tick();
    });
  }
  std::ostringstream jsonl, csv;
  csv << "pid,indices,protein_sequence\n";
  std::size_t ok = 0, tokens = 0, windowed = 0, failed = 0;
  for (std::size_t i = 0; i < in.jobs.size(); ++i) {
    const ChainJob& job = in.jobs[i];
    if (!records[i]) {
      std::string msg = errors[i];
      if (!a.window && msg.find("more than the model maximum") != std::string::npos)
        msg += " (pass --window to encode overlapping windows)";
      std::fprintf(stderr, "bmx prot encode: %s chain %s: %s\n", job.path.c_str(),
                   chain_label(job.chain.chain).c_str(), msg.c_str());
      ++failed;
      continue;
    }
    const ojson& r = *records[i];
    ++ok;
    tokens += r["tokens"].size();
    if (r["windows"].get<int>() > 1) {
      ++windowed;
      if (!a.quiet)
        std::fprintf(stderr, "bmx prot encode: %s chain %s: %zu positions encoded in %d overlapping windows\n",
                     job.path.c_str(), chain_label(job.chain.chain).c_str(), r["length"].get<std::size_t>(),
                     r["windows"].get<int>());
    }
    jsonl << r.dump() << "\n";
    std::string idx;
    for (int t : r["tokens"]) idx += (idx.empty() ? "" : " ") + std::to_string(t);
    csv << r["pid"].get<std::string>() << "," << idx << "," << r["sequence"].get<std::string>() << "\n";
  }
  if (a.out.empty() || a.out == "-") std::fwrite(jsonl.str().data(), 1, jsonl.str().size(), stdout);
  else write_text_file(a.out, jsonl.str());
  if (!a.csv.empty()) write_text_file(a.csv, csv.str());
  std::fprintf(stderr,
               "bmx prot encode: %zu chain(s) encoded (%zu tokens%s) from %d file(s); %d chain(s) skipped, %zu "
               "failed, %d file(s) unreadable\n",
               ok, tokens, windowed ? (", " + std::to_string(windowed) + " windowed").c_str() : "", in.files,
               in.skipped, failed, in.unreadable);
  if (ok == 0) {
    std::fprintf(stderr, "bmx prot encode: no encodable protein chain in the input\n");
    return 1;
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------------------
// decode

struct TokenRecord {
  std::string id = "decoded", chain = "A", sequence, where;
  std::vector<int> tokens;
  std::vector<std::pair<int, char>> numbering;  // author numbers of the tokenized residues, when the record has them
};

// "52" / "52A" / "-3" -> (52, ' ') / (52, 'A') / (-3, ' ')
std::pair<int, char> parse_residue_id(const std::string& s, const std::string& where) {
  std::size_t used = 0;
  int num = 0;
  try {
    num = std::stoi(s, &used);
  } catch (const std::exception&) {
    throw InputError(where + ": residue id '" + s + "' is not a number with an optional insertion code");
  }
  if (used + 1 < s.size()) throw InputError(where + ": residue id '" + s + "' is not a number with an optional insertion code");
  return {num, used < s.size() ? s[used] : ' '};
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> f;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) { f.push_back(cur); cur.clear(); }
    else if (c != '\r') cur += c;
  }
  f.push_back(cur);
  return f;
}

// "1abc_chain_id_A" -> ("1abc", "A")
void split_pid(const std::string& pid, TokenRecord& r) {
  const std::string sep = "_chain_id_";
  const std::size_t p = pid.rfind(sep);
  if (p == std::string::npos) { r.id = pid; return; }
  r.id = pid.substr(0, p);
  r.chain = pid.substr(p + sep.size());
  if (r.chain == "_") r.chain = "A";
}

// Token records from bare codes, wrapped tokens, JSON lines (bmx prot encode) or vq_indices.csv.
std::vector<TokenRecord> parse_token_records(const std::string& text, const std::string& where, int codebook) {
  std::vector<TokenRecord> out;
  std::istringstream in(text);
  std::string first;
  while (std::getline(in, first) && first.find_first_not_of(" \t\r") == std::string::npos) {}
  const std::size_t fc = first.find_first_not_of(" \t");
  if (fc != std::string::npos && first[fc] == '{') {  // JSON lines
    std::istringstream lines(text);
    std::string line;
    int no = 0;
    while (std::getline(lines, line)) {
      ++no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string w = where + ":" + std::to_string(no);
      json j;
      try {
        j = json::parse(line);
      } catch (const std::exception& e) {
        throw InputError(w + ": not JSON: " + e.what());
      }
      TokenRecord r;
      r.where = w;
      if (j.contains("tokens") && j["tokens"].is_array()) {
        for (const auto& t : j["tokens"]) {
          if (!t.is_number_integer() || t.get<long>() < 0 || t.get<long>() >= codebook)
            throw InputError(w + ": token " + t.dump() + " is not a code in 0.." + std::to_string(codebook - 1));
          r.tokens.push_back(t.get<int>());
        }
        if (r.tokens.empty()) throw InputError(w + ": no tokens");
      } else if (j.contains("struct") && j["struct"].is_string()) {
        r.tokens = parse_struct_tokens(j["struct"].get<std::string>(), codebook, w);
      } else {
        throw InputError(w + ": neither \"tokens\" nor \"struct\"");
      }
      if (j.contains("sequence") && j["sequence"].is_string() && !j["sequence"].get<std::string>().empty())
        r.sequence = parse_aa_sequence(j["sequence"].get<std::string>(), w);
      else if (j.contains("aa") && j["aa"].is_string())
        r.sequence = parse_aa_sequence(j["aa"].get<std::string>(), w);
      if (j.contains("residues") && j["residues"].is_array() && j["residues"].size() == r.tokens.size())
        for (const auto& id : j["residues"]) r.numbering.push_back(parse_residue_id(id.is_string() ? id.get<std::string>() : id.dump(), w));
      if (j.contains("id") && j["id"].is_string()) r.id = j["id"];
      if (j.contains("chain") && j["chain"].is_string() && !j["chain"].get<std::string>().empty()) r.chain = j["chain"];
      out.push_back(std::move(r));
    }
    return out;
  }
  if (first.rfind("pid,", 0) == 0) {  // BioMatrix vq_indices.csv
    std::vector<std::string> header = split_csv_line(first);
    const auto col = [&](const std::string& n) {
      auto it = std::find(header.begin(), header.end(), n);
      if (it == header.end()) throw InputError(where + ": CSV without a " + n + " column");
      return static_cast<std::size_t>(it - header.begin());
    };
    const std::size_t ci = col("indices"), cp = col("pid");
    const auto seq_it = std::find(header.begin(), header.end(), "protein_sequence");
    std::string line;
    int no = 1;
    while (std::getline(in, line)) {
      ++no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string w = where + ":" + std::to_string(no);
      std::vector<std::string> f = split_csv_line(line);
      if (f.size() < header.size()) throw InputError(w + ": " + std::to_string(f.size()) + " fields, expected " +
                                                     std::to_string(header.size()));
      TokenRecord r;
      r.where = w;
      split_pid(f[cp], r);
      r.tokens = parse_struct_tokens(f[ci], codebook, w);
      if (seq_it != header.end() && !f[seq_it - header.begin()].empty())
        r.sequence = parse_aa_sequence(f[seq_it - header.begin()], w);
      out.push_back(std::move(r));
    }
    return out;
  }
  TokenRecord r;  // one record: bare codes or wrapped tokens (an <|prot_aa|> segment may come along)
  r.where = where;
  std::string s = text;
  const std::string_view aa_start = start_marker(Modality::prot_aa), aa_end = end_marker(Modality::prot_aa);
  const std::size_t a0 = s.find(aa_start), a1 = s.find(aa_end);
  if (a0 != std::string::npos && a1 != std::string::npos && a1 > a0) {
    const std::size_t length = a1 + aa_end.size() - a0;
    r.sequence = parse_aa_sequence(s.substr(a0, length), where);
    s.erase(a0, length);
  }
  r.tokens = parse_struct_tokens(s, codebook, where);
  out.push_back(std::move(r));
  return out;
}

std::string read_all(const std::string& path) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  return read_file(path);
}

// Decoded N/CA/C as a chain numbered like the encoded residues (else 1..n), names from the sequence if known.
BackboneChain decoded_chain(const TokenRecord& r, const std::vector<std::array<Vec3, 3>>& xyz) {
  BackboneChain c;
  c.id = r.id;
  c.chain = r.chain;
  c.coords = xyz;
  for (std::size_t i = 0; i < xyz.size(); ++i) {
    Residue res;
    res.seq_num = r.numbering.empty() ? static_cast<int>(i + 1) : r.numbering[i].first;
    if (!r.numbering.empty()) res.icode = r.numbering[i].second;
    res.one_letter = r.sequence.empty() ? 'X' : r.sequence[i];
    c.residues.push_back(res);
  }
  return c;
}

struct DecodeArgs {
  std::string tokens, input, model, sequence, out, format, chain;
  bool cb = false, no_oxygen = false, quiet = false, int16 = false;
  int threads = 0;
};

int run_decode(const DecodeArgs& a) {
  if (a.out.empty()) throw InputError("bmx prot decode: -o OUT.pdb|OUT.cif (or a folder for several records) is required");
  if (a.tokens.empty() == a.input.empty())
    throw InputError("bmx prot decode: give the tokens either as an argument or with -i FILE (not both)");
  const GcpVqvae model = GcpVqvae::load(gcp_vqvae_dir(a.model));
  const DecodeArithmetic arithmetic = a.int16 ? DecodeArithmetic::int16 : DecodeArithmetic::float32;
  const int codebook = static_cast<int>(model.codebook_size());
  std::vector<TokenRecord> recs = a.input.empty() ? parse_token_records(a.tokens, "tokens", codebook)
                                                  : parse_token_records(read_all(a.input), a.input, codebook);
  if (recs.empty()) throw InputError((a.input.empty() ? "tokens" : a.input) + ": no token records");
  if (!a.sequence.empty()) {
    if (recs.size() != 1) throw InputError("--sequence applies to one record, the input has " + std::to_string(recs.size()));
    recs[0].sequence = parse_aa_sequence(a.sequence, "--sequence");
  }
  if (!a.chain.empty()) for (auto& r : recs) r.chain = a.chain;
  for (const TokenRecord& r : recs)
    if (!r.sequence.empty() && r.sequence.size() != r.tokens.size())
      throw InputError(r.where + ": sequence has " + std::to_string(r.sequence.size()) + " residues but there are " +
                       std::to_string(r.tokens.size()) + " structure tokens");
  WriteOptions wopt;
  wopt.add_cb = a.cb;
  wopt.add_oxygen = !a.no_oxygen;
  if (a.format == "pdb") wopt.format = OutputFormat::pdb;
  else if (a.format == "cif" || a.format == "mmcif") wopt.format = OutputFormat::mmcif;
  else if (!a.format.empty()) throw InputError("--format must be pdb or cif (got " + a.format + ")");
  const bool many = recs.size() > 1;
  const bool to_dir = many || fs::is_directory(a.out) || a.out.back() == '/';
  if (to_dir) fs::create_directories(a.out);
  const std::string ext = wopt.format == OutputFormat::mmcif ? ".cif" : ".pdb";
  if (to_dir && wopt.format == OutputFormat::from_extension) wopt.format = OutputFormat::pdb;

  // One file per record: records that would share a name (the same id and chain, or no id) get _2, _3, ...
  std::vector<std::string> paths(recs.size(), a.out);
  if (to_dir) {
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      const std::string stem = recs[i].id + "_" + chain_label(recs[i].chain);
      const int n = ++seen[stem];
      paths[i] = (fs::path(a.out) / (n == 1 ? stem + ext : stem + "_" + std::to_string(n) + ext)).string();
    }
  }
  std::vector<std::string> errors(recs.size());
  {
    Progress progress("decode", recs.size(), "chains", !a.quiet && many);
    parallel_for(recs.size(), plan_threads(a.threads, recs.size()), [&](std::size_t i) {
      try {
        const TokenRecord& r = recs[i];
        write_backbones(paths[i], {decoded_chain(r, model.decode(r.tokens, arithmetic))}, wopt);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
      progress.tick();
    });
  }
  std::size_t failed = 0, unnamed = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (!errors[i].empty()) {
      std::fprintf(stderr, "bmx prot decode: %s: %s\n", recs[i].where.c_str(), errors[i].c_str());
      ++failed;
    }
    unnamed += recs[i].sequence.empty();
  }
  if (unnamed && !a.quiet)
    std::fprintf(stderr, "bmx prot decode: %zu record(s) without a sequence: residues written as UNK (--sequence)\n",
                 unnamed);
  std::fprintf(stderr, "bmx prot decode: %zu of %zu record(s) written to %s\n", recs.size() - failed, recs.size(),
               a.out.c_str());
  return failed == recs.size() ? 1 : 0;
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
  const GcpVqvae model = GcpVqvae::load(gcp_vqvae_dir(a.model));
  const DecodeArithmetic arithmetic = a.int16 ? DecodeArithmetic::int16 : DecodeArithmetic::float32;
  Inputs in = read_inputs(a.inputs, ropt, a.quiet, a.window);
  EncodeOptions eopt;
  eopt.window = a.window;
  struct Result {
    std::size_t tokens = 0, pieces = 1;
    double rmsd = 0, tm = 0;
    std::string error;
  };
  std::vector<Result> res(in.jobs.size());
  const std::size_t max_tokens = static_cast<std::size_t>(model.max_length());
  {
    Progress progress("eval", in.jobs.size(), "chains", !a.quiet);
    parallel_for(in.jobs.size(), plan_threads(a.threads, in.jobs.size()), [&](std::size_t i) {
      try {
        const BackboneChain& bb = in.jobs[i].chain.backbone;
        const Encoded e = model.encode(bb, eopt);
        // The decoder takes at most max_length tokens: a longer (windowed) chain is decoded in consecutive
        // pieces, each superposed on its own residues; the chain gets the RMS of the piece RMSDs and the
        // residue-weighted mean of their TM-scores.
        const std::size_t n = e.tokens.size();
        const std::size_t pieces = n == 0 ? 1 : (n + max_tokens - 1) / max_tokens;
        double sq = 0, tm = 0;
        for (std::size_t p = 0; p < pieces; ++p) {
          const std::size_t b = p * n / pieces, end = (p + 1) * n / pieces;
          const auto xyz = model.decode(std::vector<int>(e.tokens.begin() + b, e.tokens.begin() + end), arithmetic);
          std::vector<Vec3> ref, dec;
          for (std::size_t k = b; k < end; ++k) {
            ref.push_back(bb.coords[e.positions[k]][1]);
            dec.push_back(xyz[k - b][1]);
          }
          const double r = superposed_rmsd(dec, ref);
          sq += r * r * double(end - b);
          tm += tm_score(dec, ref) * double(end - b);
        }
        res[i].tokens = n;
        res[i].pieces = pieces;
        res[i].rmsd = n ? std::sqrt(sq / double(n)) : 0.0;
        res[i].tm = n ? tm / double(n) : 0.0;
      } catch (const std::exception& ex) {
        res[i].error = ex.what();
      }
      progress.tick();
    });
  }
  std::ostringstream jsonl;
  std::vector<double> rmsds, tms;
  std::printf("%-40s %-6s %7s %9s %8s\n", "file", "chain", "tokens", "CA-RMSD", "TM-score");
  for (std::size_t i = 0; i < in.jobs.size(); ++i) {
    const ChainJob& job = in.jobs[i];
    const std::string label = chain_label(job.chain.chain);
    if (!res[i].error.empty()) {
      if (!a.window && res[i].error.find("more than the model maximum") != std::string::npos)
        res[i].error += " (pass --window to encode it in windows and decode it in pieces)";
      std::fprintf(stderr, "bmx prot eval: %s chain %s: %s\n", job.path.c_str(), label.c_str(), res[i].error.c_str());
      continue;
    }
    std::printf("%-40s %-6s %7zu %9.3f %8.4f%s\n", fs::path(job.path).filename().string().c_str(), label.c_str(),
                res[i].tokens, res[i].rmsd, res[i].tm,
                res[i].pieces > 1 ? ("  (decoded in " + std::to_string(res[i].pieces) + " pieces)").c_str() : "");
    rmsds.push_back(res[i].rmsd);
    tms.push_back(res[i].tm);
    ojson j = {{"file", job.path}, {"id", job.chain.backbone.id}, {"chain", job.chain.chain},
              {"tokens", res[i].tokens}, {"ca_rmsd", res[i].rmsd}, {"tm_score", res[i].tm},
              {"decoded_pieces", res[i].pieces}};
    jsonl << j.dump() << "\n";
  }
  if (!a.json_out.empty()) write_text_file(a.json_out, jsonl.str());
  if (rmsds.empty()) {
    std::fprintf(stderr, "bmx prot eval: no chain could be evaluated\n");
    return 1;
  }
  std::printf("%zu chain(s): CA-RMSD mean %.3f median %.3f A; TM-score mean %.4f median %.4f\n", rmsds.size(),
              mean(rmsds), median(rmsds), mean(tms), median(tms));
  return 0;
}

// ------------------------------------------------------------------------------------------------------------
// bench

// A plausible backbone of n residues (ideal bond geometry; helices and strands in turn), no file needed.
BackboneChain synthetic_chain(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> jitter(-8.0, 8.0);
  BackboneChain c;
  c.id = "synthetic";
  c.chain = "A";
  using bmx::vec3::place;
  const double deg = M_PI / 180.0;
  Vec3 N{0, 1.458, 0}, CA{0, 0, 0}, C{1.525, 0, 0};
  N = place(C, CA, N, 1.458, 111.0 * deg, 0.0);  // any first residue
  for (int i = 0; i < n; ++i) {
    const bool helix = (i / 12) % 2 == 0;
    const double phi = (helix ? -57.0 : -120.0) + jitter(rng), psi = (helix ? -47.0 : 130.0) + jitter(rng);
    if (i > 0) {
      const auto& p = c.coords.back();
      N = place(p[0], p[1], p[2], 1.329, 116.2 * deg, psi * deg);
      CA = place(p[1], p[2], N, 1.458, 121.7 * deg, 180.0 * deg);
      C = place(p[2], N, CA, 1.525, 111.0 * deg, phi * deg);
    }
    c.coords.push_back({N, CA, C});
    Residue r;
    r.one_letter = "ACDEFGHIKLMNPQRSTVWY"[rng() % 20];
    r.seq_num = i + 1;
    c.residues.push_back(r);
  }
  return c;
}

struct BenchArgs {
  std::string arch = "large", lengths = "69,274,477";
  bool json_out = false;
  int threads = 2, repeats = 2;
};

// The original code (mahdip72/vq_encoder_decoder, PyTorch, CPU, float32, Large, 2 threads, every chain padded to
// 512) on this machine class: seconds per chain to encode and to decode.
struct OriginalTiming {
  int length;
  double encode_s, decode_s;
};
constexpr OriginalTiming kOriginalLarge[] = {{69, 6.0, 6.3}, {274, 7.8, 6.0}, {477, 13.7, 6.7}};

const OriginalTiming* original_timing(const std::string& arch, int length, int threads) {
  if (arch != "large" || threads != 2) return nullptr;
  for (const auto& t : kOriginalLarge)
    if (t.length == length) return &t;
  return nullptr;
}

int run_bench(const BenchArgs& a) {
  std::vector<int> lengths;
  {
    std::stringstream ss(a.lengths);
    for (std::string t; std::getline(ss, t, ',');) {
      std::size_t used = 0;
      int L = 0;
      try {
        L = std::stoi(t, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != t.size() || L < 2) throw UnsupportedError("--lengths: '" + t + "' is not a chain length >= 2");
      lengths.push_back(L);
    }
  }
  const int threads = a.threads > 0 ? a.threads : hardware_threads();
  set_math_threads(threads);
  const auto t_load = std::chrono::steady_clock::now();
  const GcpVqvae model = GcpVqvae::random(a.arch, 20251023);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  EncodeOptions eopt;
  eopt.window = true;
  ojson rows = ojson::array();
  double enc_res = 0, enc_s = 0, dec_res = 0, dec_s = 0, dec16_s = 0;
  if (!a.json_out) {
    std::printf("GCP-VQVAE %s, random weights of the released shape, %d thread(s), best of %d\n", a.arch.c_str(),
                threads, std::max(1, a.repeats));
    std::printf("%7s | %8s %8s %7s | %15s %7s | %15s %7s %9s\n", "", "encode", "", "", "decode float32", "",
                "decode int16", "", "");
    std::printf("%7s | %8s %8s %7s | %7s %7s %7s | %7s %7s %7s %9s\n", "length", "s", "res/s", "vs orig", "s",
                "res/s", "vs orig", "s", "res/s", "vs orig", "max dev A");
  }
  bool any_reference = false;
  const DecodeArithmetic arithmetics[] = {DecodeArithmetic::float32, DecodeArithmetic::int16};
  for (int L : lengths) {
    const BackboneChain c = synthetic_chain(L, 1000 + L);
    Encoded e = model.encode(c, eopt);  // warm-up
    for (auto ar : arithmetics) (void)model.decode(e.tokens, ar);
    double te = 1e30, ce = 1e30, td[2] = {1e30, 1e30}, cd[2] = {1e30, 1e30};
    std::vector<std::array<std::array<double, 3>, 3>> decoded[2];
    for (int r = 0; r < std::max(1, a.repeats); ++r) {
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      e = model.encode(c, eopt);
      te = std::min(te, seconds_since(t0));
      ce = std::min(ce, cpu_seconds() - c0);
      for (int k = 0; k < 2; ++k) {  // float32 and int16 side by side in every repeat
        t0 = std::chrono::steady_clock::now();
        c0 = cpu_seconds();
        decoded[k] = model.decode(e.tokens, arithmetics[k]);
        td[k] = std::min(td[k], seconds_since(t0));
        cd[k] = std::min(cd[k], cpu_seconds() - c0);
      }
    }
    double dev = 0;  // same network, same pose: atoms compare directly
    for (std::size_t i = 0; i < decoded[0].size(); ++i)
      for (int atom = 0; atom < 3; ++atom) {
        double d2 = 0;
        for (int x = 0; x < 3; ++x) d2 += std::pow(decoded[0][i][atom][x] - decoded[1][i][atom][x], 2);
        dev = std::max(dev, std::sqrt(d2));
      }
    const double n_dec = static_cast<double>(e.tokens.size());
    enc_res += L, enc_s += te, dec_res += n_dec, dec_s += td[0], dec16_s += td[1];
    ojson row = {{"length", L},
                 {"encode_s", te},
                 {"encode_cpu_s", ce},
                 {"encode_res_per_s", L / te},
                 {"decode_s", td[0]},
                 {"decode_cpu_s", cd[0]},
                 {"decode_res_per_s", n_dec / td[0]},
                 {"decode_int16_s", td[1]},
                 {"decode_int16_cpu_s", cd[1]},
                 {"decode_int16_res_per_s", n_dec / td[1]},
                 {"decode_int16_max_deviation_angstrom", dev}};
    const OriginalTiming* ref = original_timing(a.arch, L, threads);
    char re[32] = "-", rd[32] = "-", rd16[32] = "-";
    if (ref) {
      any_reference = true;
      row["original_encode_s"] = ref->encode_s;
      row["original_decode_s"] = ref->decode_s;
      row["encode_speedup"] = ref->encode_s / te;
      row["decode_speedup"] = ref->decode_s / td[0];
      row["decode_int16_speedup"] = ref->decode_s / td[1];
      std::snprintf(re, sizeof re, "%.1fx", ref->encode_s / te);
      std::snprintf(rd, sizeof rd, "%.1fx", ref->decode_s / td[0]);
      std::snprintf(rd16, sizeof rd16, "%.1fx", ref->decode_s / td[1]);
    }
    rows.push_back(row);
    if (!a.json_out)
      std::printf("%7d | %8.3f %8.1f %7s | %7.3f %7.1f %7s | %7.3f %7.1f %7s %9.4f\n", L, te, L / te, re, td[0],
                  n_dec / td[0], rd, td[1], n_dec / td[1], rd16, dev);
  }
  if (a.json_out) {
    ojson j = {{"arch", a.arch},
               {"threads", threads},
               {"load_s", load_s},
               {"chains", rows},
               {"encode_residues_per_s", enc_res / enc_s},
               {"decode_residues_per_s", dec_res / dec_s},
               {"decode_int16_residues_per_s", dec_res / dec16_s}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("overall: encode %.1f res/s, decode %.1f res/s (float32), %.1f res/s (int16)\n", enc_res / enc_s,
                dec_res / dec_s, dec_res / dec16_s);
    std::printf("vs orig: the original code's seconds per chain (Large, 2 threads, float32, padded to 512: %s) "
                "divided by these%s.\n"
                "encode and decode float32 compute as the original does; decode int16 rounds the decoder's matrix "
                "products to 14-bit integers (bmx prot decode --int16), max dev A: its largest atom deviation "
                "from decode float32.\n",
                "69/274/477 residues: encode 6.0/7.8/13.7 s, decode 6.3/6.0/6.7 s",
                any_reference ? "" : " (only for --arch large, 2 threads, lengths 69, 274 or 477)");
  }
  return 0;
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
    c->add_flag("--window", a->window, "encode chains longer than the model maximum (512) in overlapping windows "
                                       "instead of refusing them");
    c->add_option("--window-overlap", a->overlap, "residues shared by neighbouring windows")->default_val(128);
    c->add_option("--format", a->format, "input format: auto (by extension), pdb or cif")->default_val("auto");
    c->add_option("--threads", a->threads, "threads (default: all cores)");
    c->add_flag("-q,--quiet", a->quiet, "no progress or notes on stderr");
    c->callback([a] { exit_status = run_encode(*a); });
  }
  {
    auto a = std::make_shared<DecodeArgs>();
    auto* c = prot->add_subcommand("decode", "Structure tokens -> N/CA/C backbone (+ ideal O, optional CB) as PDB/mmCIF");
    c->add_option("tokens", a->tokens, "codes (\"12 7 4095\"), or <S n> tokens (wrapped or not)");
    c->add_option("-i,--input", a->input, "file: JSON lines from bmx prot encode, vq_indices.csv, or tokens (- = stdin)");
    c->add_option("--model", a->model, kGcpVqvaeHelp);
    c->add_option("--sequence", a->sequence, "residue letters (plain or <|prot_aa_start|>...) for residue names");
    c->add_option("-o,--output", a->out, "OUT.pdb or OUT.cif; a folder when the input has several records")->required();
    c->add_option("--format", a->format, "pdb or cif (default: from the output extension)");
    c->add_option("--chain", a->chain, "chain id to write (default: the record's, else A)");
    c->add_flag("--cb", a->cb, "add ideal CB atoms (not on glycine)");
    c->add_flag("--no-oxygen", a->no_oxygen, "write N, CA, C only (no ideal carbonyl O; DSSP needs O)");
    c->add_flag("--int16", a->int16, "decode with 14-bit integer matrix products: ~1.4x faster on AVX2 CPUs; atoms "
                                     "move by a few thousandths of an angstrom (default: float32, as the original)");
    c->add_option("--threads", a->threads, "threads (default: all cores)");
    c->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
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
    c->add_option("--threads", a->threads, "threads (default: all cores)");
    c->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
    c->callback([a] { exit_status = run_eval(*a); });
  }
  {
    auto a = std::make_shared<BenchArgs>();
    auto* c = bench.add_subcommand("prot", "GCP-VQVAE encode/decode speed with random weights of the released shapes");
    c->add_option("--arch", a->arch, "large or lite")->default_val("large");
    c->add_option("--lengths", a->lengths, "chain lengths, comma-separated (69, 274 and 477 are compared with the "
                                           "original code's timings)")->default_val("69,274,477");
    c->add_option("--repeats", a->repeats, "timed runs per length (the best counts)")->default_val(2);
    c->add_option("--threads", a->threads, "threads (0: all cores; the original's timings are for 2)")->default_val(2);
    c->add_flag("--json", a->json_out, "one JSON object");
    c->callback([a] { exit_status = run_bench(*a); });
  }
}

}  // namespace bmx::app
