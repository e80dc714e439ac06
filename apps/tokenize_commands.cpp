// bmx tokenize / detokenize / bench tokenize: text <-> ids with a Hugging Face tokenizer folder.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/core/io/read_file.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/core/io/json_sax.h"
#include "commands.h"
#include "llm_common.h"
#include "measure.h"

namespace bmx::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct TokenizeOptions {
  std::string model;
  std::optional<std::string> text;  // absent: read stdin
  bool jsonl = false;
  bool pieces = false;
};

struct DetokenizeOptions {
  std::string model;
  std::optional<std::string> ids;  // absent: read stdin
  bool skip_special = false;
  bool jsonl = false;
};

struct BenchOptions {
  std::vector<std::string> models;
  std::vector<std::string> files;
  int passes = 3;
  double max_mb = 5.0;
  bool json = false;
};

// Wall time and this thread's CPU time (the CPU figure stays meaningful on a loaded machine).
class Timer {
public:
  Timer() : wall0_(std::chrono::steady_clock::now()), cpu0_(thread_cpu_seconds()) {}
  double wall() const { return seconds_since(wall0_); }
  double cpu() const { return thread_cpu_seconds() - cpu0_; }

private:
  std::chrono::steady_clock::time_point wall0_;
  double cpu0_;
};

void print_line(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

// The stdin lines of tokenize and detokenize as a batch (the rule of every bmx batch): a bad line is one line on
// stderr naming it, the others go on, and the exit status is 1 when any failed.
class LineBatch {
public:
  std::string next_line() { return "<stdin>:" + std::to_string(++lines_); }
  template <class F>
  void run(const std::string& where, F&& f) {
    try {
      f();
    } catch (const InputError& e) {
      ++failed_;
      const std::string msg = e.what();
      // Errors raised without the place (from the tokenizer) get it here.
      std::fprintf(stderr, "bmx: %s\n", msg.rfind(where + ":", 0) == 0 ? msg.c_str() : (where + ": " + msg).c_str());
    }
  }
  void finish() const {
    check_stdout_written();
    if (!failed_) return;
    std::fflush(stdout);
    std::fprintf(stderr, "bmx: %zu of %zu lines failed (reported above); %zu written\n", failed_, lines_, lines_ - failed_);
    exit_status = 1;
  }

private:
  std::size_t lines_ = 0, failed_ = 0;
};

std::string encode_line(const Tokenizer& tok, const std::string& text, bool pieces) {
  auto ids = tok.encode(text);
  if (!pieces) return json(ids).dump();
  json out = json::array();
  for (TokenId id : ids) out.push_back(tok.id_to_token(id).value_or(""));
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

void run_tokenize(const TokenizeOptions& o) {
  check_model_folder(o.model, false);
  Tokenizer tok = Tokenizer::from_dir(o.model);
  if (o.text) {
    print_line(encode_line(tok, *o.text, o.pieces));
    check_stdout_written();
    return;
  }
  // A batch: a bad line is reported (file:line: problem) and skipped, every good line is tokenized, and the exit
  // status says whether any failed.
  std::string line;
  LineBatch batch;
  while (std::getline(std::cin, line)) {
    const std::string where = batch.next_line();
    batch.run(where, [&] {
      std::string text = line;
      if (o.jsonl) {
        json v;
        try {
          v = parse_json(line);
        } catch (const json::exception&) {
          fail_input(where, "not a JSON string");
        }
        if (!v.is_string()) fail_input(where, "not a JSON string");
        text = v.get<std::string>();
      } else if (!text.empty() && text.back() == '\r') {
        text.pop_back();
      }
      print_line(encode_line(tok, text, o.pieces));
      std::fflush(stdout);
    });
  }
  batch.finish();
}

// "[1, 2, 3]" or "1 2 3" / "1,2,3".
std::vector<TokenId> parse_ids(const std::string& s, const std::string& where) {
  std::string t = s;
  size_t a = t.find_first_not_of(" \t\r\n");
  if (a != std::string::npos && t[a] == '[') {
    try {
      json v = parse_json(t);
      std::vector<TokenId> ids;
      for (const auto& x : v) {
        if (!x.is_number_integer()) throw json::type_error::create(302, "not an integer", nullptr);
        ids.push_back(x.get<TokenId>());
      }
      return ids;
    } catch (const json::exception&) {
      fail_input(where, "not a JSON array of integer ids");
    }
  }
  for (char& c : t)
    if (c == ',') c = ' ';
  std::istringstream in(t);
  std::vector<TokenId> ids;
  std::string word;
  while (in >> word) {
    try {
      size_t used = 0;
      long long v = std::stoll(word, &used);
      if (used != word.size() || v < std::numeric_limits<TokenId>::min() || v > std::numeric_limits<TokenId>::max())
        throw std::invalid_argument("id");
      ids.push_back(TokenId(v));
    } catch (const std::exception&) {
      fail_input(where, "'" + word + "' is not a token id");
    }
  }
  return ids;
}

void check_ids(const Tokenizer& tok, const std::vector<TokenId>& ids, const std::string& where) {
  for (TokenId id : ids)
    if (!tok.id_to_token(id))
      fail_input(where, "token id " + std::to_string(id) + " is not in the vocabulary (size " +
                            std::to_string(tok.vocab_size()) + ")");
}

void run_detokenize(const DetokenizeOptions& o) {
  check_model_folder(o.model, false);
  Tokenizer tok = Tokenizer::from_dir(o.model);
  auto emit = [&](const std::vector<TokenId>& ids) {
    std::string text = tok.decode(ids, o.skip_special);
    print_line(o.jsonl ? json(text).dump() : text);
  };
  if (o.ids) {
    auto ids = parse_ids(*o.ids, "IDS");
    check_ids(tok, ids, "IDS");
    emit(ids);
    check_stdout_written();
    return;
  }
  std::string line;
  LineBatch batch;
  while (std::getline(std::cin, line)) {
    const std::string where = batch.next_line();
    batch.run(where, [&] {
      auto ids = parse_ids(line, where);
      check_ids(tok, ids, where);
      emit(ids);
      std::fflush(stdout);
    });
  }
  batch.finish();
}

// Default speed corpus: prose (license texts) and C headers of this machine, in a fixed order.
std::vector<std::string> default_corpus(double max_mb, std::vector<std::string>& names) {
  std::vector<std::string> docs;
  size_t total = 0, limit = size_t(max_mb * 1e6);
  auto add_dir = [&](const fs::path& dir, bool headers_only, size_t share) {
    if (!fs::is_directory(dir)) return;
    std::vector<fs::path> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      if (headers_only && it->path().extension() != ".h") continue;
      files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    size_t taken = 0;
    for (const auto& f : files) {
      if (total >= limit || taken >= share) break;
      std::string d;
      try {
        d = read_file(f.string());
      } catch (const InputError&) {
        continue;  // an unreadable system file is simply not part of the default corpus
      }
      if (d.empty() || d.size() > 200000) continue;
      total += d.size();
      taken += d.size();
      names.push_back(f.string());
      docs.push_back(std::move(d));
    }
  };
  add_dir("/usr/share/common-licenses", false, limit / 2);
  add_dir("/usr/share/doc/libc6", false, limit / 8);
  add_dir("/usr/include/linux", true, limit / 4);
  add_dir("/usr/include", true, limit);
  return docs;
}

void run_bench(const BenchOptions& o) {
  for (const auto& model : o.models) check_model_folder(model, false);
  std::vector<std::string> docs, names;
  if (o.files.empty()) {
    docs = default_corpus(o.max_mb, names);
  } else {
    for (const auto& f : o.files) docs.push_back(read_file(f));
  }
  size_t bytes = 0;
  for (const auto& d : docs) bytes += d.size();
  if (bytes == 0) throw InputError("bench tokenize: empty corpus");
  json results = json::array();
  for (const auto& model : o.models) {
    Timer load_timer;
    Tokenizer tok = Tokenizer::from_dir(model);
    double load_s = load_timer.wall();
    // Cold pass: an empty word cache (what a one-shot `bmx tokenize` sees); then warm passes, best kept.
    size_t tokens = 0;
    Timer cold_timer;
    for (const auto& d : docs) tokens += tok.encode(d).size();
    double cold_s = cold_timer.wall(), cold_cpu = cold_timer.cpu();
    double best = 1e30, best_cpu = 1e30;
    for (int pass = 0; pass < o.passes; ++pass) {
      Timer t;
      for (const auto& d : docs) tok.encode(d);
      best = std::min(best, t.wall());
      best_cpu = std::min(best_cpu, t.cpu());
    }
    std::vector<std::vector<TokenId>> all;
    for (const auto& d : docs) all.push_back(tok.encode(d));
    Timer dec_timer;
    size_t out_bytes = 0;
    for (const auto& ids : all) out_bytes += tok.decode(ids).size();
    double dec_s = dec_timer.wall();
    auto mbps = [&](double s) { return bytes / std::max(s, 1e-9) / 1e6; };
    json r = {{"model", model},
              {"documents", docs.size()},
              {"bytes", bytes},
              {"tokens", tokens},
              {"load_s", load_s},
              {"encode_s", best},
              {"encode_mb_per_s", mbps(best)},
              {"encode_mb_per_cpu_s", mbps(best_cpu)},
              {"encode_tokens_per_s", tokens / std::max(best, 1e-9)},
              {"cold_encode_mb_per_s", mbps(cold_s)},
              {"cold_encode_mb_per_cpu_s", mbps(cold_cpu)},
              {"decode_mb_per_s", out_bytes / std::max(dec_s, 1e-9) / 1e6}};
    results.push_back(r);
  }
  if (o.json) {
    print_line((results.size() == 1 ? results[0] : results).dump());
    return;
  }
  std::printf("corpus: %zu documents, %.2f MB (%s); one thread\n", docs.size(), bytes / 1e6,
              o.files.empty() ? "license texts + C headers of this machine" : "given files");
  std::printf("encode: cold = first pass with an empty word cache, warm = best of %d further passes; "
              "MB per second of wall time and of CPU time\n", o.passes);
  std::printf("%-40s %9s %9s %9s %9s %12s %9s %7s\n", "model", "cold", "cold cpu", "warm", "warm cpu",
              "warm tok/s", "decode", "load s");
  for (const auto& r : results)
    std::printf("%-40s %9.2f %9.2f %9.2f %9.2f %12.0f %9.1f %7.2f\n", r["model"].get<std::string>().c_str(),
                r["cold_encode_mb_per_s"].get<double>(), r["cold_encode_mb_per_cpu_s"].get<double>(),
                r["encode_mb_per_s"].get<double>(), r["encode_mb_per_cpu_s"].get<double>(),
                r["encode_tokens_per_s"].get<double>(), r["decode_mb_per_s"].get<double>(),
                r["load_s"].get<double>());
  std::printf("tokens: %zu\n", results[0]["tokens"].get<size_t>());
}

}  // namespace

void add_tokenize_commands(CLI::App& app, CLI::App& bench) {
  auto topt = std::make_shared<TokenizeOptions>();
  auto* t = app.add_subcommand("tokenize",
                               "Text to token ids with a Hugging Face tokenizer folder (tokenizer.json). Without "
                               "TEXT, one input per stdin line, one JSON array of ids per output line.");
  t->add_option("-m,--model", topt->model, "Folder with tokenizer.json (a model folder or tokenizer files only)")
      ->required();
  t->add_option("text", topt->text, "Text to tokenize (default: stdin lines)");
  t->add_flag("--jsonl", topt->jsonl, "Each stdin line is a JSON string (for inputs with newlines)");
  t->add_flag("--pieces", topt->pieces, "Print the token strings instead of ids");
  t->callback([topt] { run_tokenize(*topt); });

  auto dopt = std::make_shared<DetokenizeOptions>();
  auto* d = app.add_subcommand("detokenize",
                               "Token ids to text. IDS as \"1 2 3\" or \"[1,2,3]\"; without IDS, one JSON array "
                               "per stdin line, one text per output line.");
  d->add_option("-m,--model", dopt->model, "Folder with tokenizer.json")->required();
  d->add_option("ids", dopt->ids, "Token ids (default: stdin lines)");
  d->add_flag("--skip-special", dopt->skip_special, "Drop special tokens (skip_special_tokens=True)");
  d->add_flag("--jsonl", dopt->jsonl, "Print each text as a JSON string (keeps newlines on one line)");
  d->callback([dopt] { run_detokenize(*dopt); });

  auto bopt = std::make_shared<BenchOptions>();
  auto* b = bench.add_subcommand("tokenize",
                                 "Encode speed on one thread (MB/s). Default corpus: license texts and C headers of "
                                 "this machine; several --model folders are measured side by side.");
  b->add_option("-m,--model", bopt->models, "Tokenizer folder (repeat to compare)")->required()->allow_extra_args(false);
  b->add_option("files", bopt->files, "Documents to encode (default: a corpus from this machine)");
  b->add_option("--passes", bopt->passes, "Warm passes after the cold one (the best is reported)")->check(CLI::Range(1, 100));
  b->add_option("--max-mb", bopt->max_mb, "Size of the default corpus in MB")->check(CLI::Range(0.01, 100.0));
  b->add_flag("--json", bopt->json, "Print one JSON object (an array for several models)");
  b->callback([bopt] { run_bench(*bopt); });
}

}  // namespace bmx::app
