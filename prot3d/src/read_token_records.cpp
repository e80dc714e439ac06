#include "bmx/prot3d/read_token_records.h"

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bmx/core/io/json_file.h"
#include "bmx/core/io/json_sax.h"
#include "bmx/core/util/error.h"
#include "bmx/prot3d/token_text.h"
#include "bmx/tokenizers/modality.h"

namespace bmx::prot3d {
namespace {

using nlohmann::json;

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

// A record read by `read` (which throws InputError naming its place), or the same record carrying the error.
template <typename Read>
TokenRecord read_record(const std::string& where, Read read) {
  TokenRecord r;
  r.where = where;
  try {
    read(r);
  } catch (const InputError& e) {  // its message names the place
    r = TokenRecord{};
    r.where = where;
    r.error = e.what();
  } catch (const std::exception& e) {
    r = TokenRecord{};
    r.where = where;
    r.error = where + ": " + e.what();
  }
  if (r.ok() && r.id.empty()) r.id = "decoded";
  if (r.ok() && r.chain.empty()) r.chain = "A";
  return r;
}

void read_json_record(const std::string& line, int codebook, TokenRecord& r) {
  const std::string& w = r.where;
  json j;
  try {
    j = parse_json(line);
  } catch (const json::parse_error& e) {  // the parser's own words: where and what ("parse error at byte 2: ...")
    throw InputError(w + ": not JSON: " + json_error_text(e));
  }
  if (!j.is_object()) throw InputError(w + ": not a JSON object");
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
  // Author ids only when there is one per token: anything else cannot say which residue a token belongs to.
  if (j.contains("residues") && j["residues"].is_array() && j["residues"].size() == r.tokens.size())
    for (const auto& id : j["residues"])
      r.residues.push_back(parse_residue_id(id.is_string() ? id.get<std::string>() : id.dump(), w));
  if (j.contains("residue_names") && j["residue_names"].is_array() && j["residue_names"].size() == r.tokens.size())
    for (const auto& n : j["residue_names"]) {
      std::string name = n.is_string() ? n.get<std::string>() : std::string();
      if (name.size() > 3 || name.find_first_of(" \t") != std::string::npos) name.clear();  // 3-letter names only
      r.names.push_back(name);
    }
  if (j.contains("id") && j["id"].is_string()) r.id = j["id"];
  if (j.contains("chain") && j["chain"].is_string()) r.chain = j["chain"];
  if (j.contains("file") && j["file"].is_string()) r.file = j["file"];
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

// "1abc_chain_id_A" -> id "1abc", chain "A" ("_" is a blank chain id, written as A).
void split_protein_id(const std::string& pid, TokenRecord& r) {
  const std::string sep = "_chain_id_";
  const std::size_t p = pid.rfind(sep);
  if (p == std::string::npos) {
    r.id = pid;
    return;
  }
  r.id = pid.substr(0, p);
  r.chain = pid.substr(p + sep.size());
  if (r.chain == "_") r.chain = "A";
}

std::vector<TokenRecord> read_json_lines(const std::string& text, const std::string& where, int codebook) {
  std::vector<TokenRecord> out;
  std::istringstream lines(text);
  std::string line;
  for (int no = 1; std::getline(lines, line); ++no)
    if (!blank(line))
      out.push_back(read_record(where + ":" + std::to_string(no),
                                [&](TokenRecord& r) { read_json_record(line, codebook, r); }));
  return out;
}

std::vector<TokenRecord> read_vq_indices_csv(std::istream& in, const std::string& header_line,
                                             const std::string& where, int codebook) {
  const std::vector<std::string> header = split_csv_line(header_line);
  const auto col = [&](const std::string& n) {
    auto it = std::find(header.begin(), header.end(), n);
    if (it == header.end()) throw InputError(where + ": CSV without a " + n + " column");
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t ci = col("indices"), cp = col("pid");
  const auto seq_it = std::find(header.begin(), header.end(), "protein_sequence");
  std::vector<TokenRecord> out;
  std::string line;
  for (int no = 2; std::getline(in, line); ++no) {
    if (blank(line)) continue;
    out.push_back(read_record(where + ":" + std::to_string(no), [&](TokenRecord& r) {
      const std::vector<std::string> f = split_csv_line(line);
      if (f.size() < header.size())
        throw InputError(r.where + ": " + std::to_string(f.size()) + " fields, expected " +
                         std::to_string(header.size()));
      split_protein_id(f[cp], r);
      r.tokens = parse_struct_tokens(f[ci], codebook, r.where);
      if (seq_it != header.end() && !f[seq_it - header.begin()].empty())
        r.sequence = parse_aa_sequence(f[seq_it - header.begin()], r.where);
    }));
  }
  return out;
}

// One record: bare codes or <S n> tokens; an <|prot_aa|> segment anywhere in the text names the residues.
TokenRecord read_bare_tokens(const std::string& text, const std::string& where, int codebook) {
  return read_record(where, [&](TokenRecord& r) {
    std::string s = text;
    const std::string_view aa_start = start_marker(Modality::prot_aa), aa_end = end_marker(Modality::prot_aa);
    const std::size_t a0 = s.find(aa_start), a1 = s.find(aa_end);
    if (a0 != std::string::npos && (a1 == std::string::npos || a1 < a0))
      throw InputError(where + ": " + std::string(aa_start) + " at character " + std::to_string(a0) +
                       " is never closed by " + std::string(aa_end) + " (a cut-off segment?)");
    if (a0 != std::string::npos && a1 != std::string::npos && a1 > a0) {
      const std::size_t length = a1 + aa_end.size() - a0;
      r.sequence = parse_aa_sequence(s.substr(a0, length), where);
      s.erase(a0, length);
    }
    r.tokens = parse_struct_tokens(s, codebook, where);
  });
}

}  // namespace

std::vector<TokenRecord> read_token_records(const std::string& text, const std::string& where, int codebook_size) {
  std::istringstream in(text);
  std::string first;
  while (std::getline(in, first) && blank(first)) {}
  const std::size_t fc = first.find_first_not_of(" \t");
  if (fc != std::string::npos && first[fc] == '{') return read_json_lines(text, where, codebook_size);
  if (first.rfind("pid,", 0) == 0) return read_vq_indices_csv(in, first, where, codebook_size);
  return {read_bare_tokens(text, where, codebook_size)};
}

}  // namespace bmx::prot3d
