#include "serve/structures.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "answer_files.h"
#include "bmx/core/util/error.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/write_token_records.h"
#include "bmx/tokenizers/modality.h"
#include "bmx/core/io/json_sax.h"
#include "encode_records.h"
#include "serve/api_request.h"
#include "structure_models.h"
#include "task_inputs.h"

namespace bmx::app::serve {

namespace fs = std::filesystem;
using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// A message from a library names the private copy's path: the client sent text, so it reads "request".
std::string client_message(std::string message, const std::string& private_dir) {
  for (size_t at; !private_dir.empty() && (at = message.find(private_dir)) != std::string::npos;) {
    size_t end = message.find_first_of(" :,;)'\"", at + private_dir.size());
    if (end == std::string::npos) end = message.size();
    message.replace(at, end - at, "request");
  }
  return message;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "format" of a structure text: one of `allowed` (the file extension the readers go by).
std::string format_field(const json& j, const char* name, const std::string& fallback,
                         const std::vector<std::string>& allowed) {
  const std::string f = string_field(j, name, 16).value_or(fallback);
  for (const auto& a : allowed)
    if (f == a) return f;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw ApiError(400, std::string("'") + name + "' is '" + f + "': choose one of " + list, name);
}

}  // namespace

BmxRequest parse_bmx_request(const json& body) {
  BmxRequest r;
  const auto it = body.find("bmx");
  if (it == body.end() || it->is_null()) return r;
  if (!it->is_object()) throw ApiError(400, "'bmx' must be an object", "bmx");
  const json& b = *it;
  r.present = true;
  r.task = string_field(b, "task", 64);
  if (r.task) {
    try {
      (void)find_task(*r.task);
    } catch (const InputError& e) {
      throw ApiError(400, e.what(), "bmx.task");
    }
  }
  r.constrain = bool_field(b, "constrain").value_or(true);
  r.extract = bool_field(b, "extract").value_or(true);
  r.no_think = !bool_field(b, "enable_thinking").value_or(true);
  if (const auto in = b.find("inputs"); in != b.end() && !in->is_null()) {
    if (!in->is_object()) throw ApiError(400, "'bmx.inputs' must be an object", "bmx.inputs");
    r.inputs = *in;
  } else {
    r.inputs = json::object();
  }
  return r;
}

StructureService::StructureService(const ServeOptions& o) {
  // The private folder for copies of request texts: mode 0700, removed when the server stops.
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (fs::path(tmp && *tmp ? tmp : "/tmp") / "bmx-serve-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw InputError("cannot make a private temporary folder in " + pattern);
  private_dir_ = pattern;
  const std::string model = o.model, gcp_flag = o.gcp_vqvae;
  decoders_ = std::make_unique<StructureDecoders>(molstructok_checkpoint(o.molstructok, o.model),
                                                  [gcp_flag, model] { return gcp_vqvae_dir(gcp_flag, model); });
}

StructureService::~StructureService() {
  std::error_code ec;
  fs::remove_all(private_dir_, ec);
}

std::string StructureService::scratch_file(const std::string& name, const std::string& text) {
  const fs::path p = fs::path(private_dir_) / (std::to_string(++counter_) + "_" + name);
  std::ofstream out(p, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw ApiError(500, "cannot write the server's temporary copy of the request");
  return p.string();
}

TaskText StructureService::task_prompt(BmxRequest& request) {
  const TaskPreset& task = find_task(*request.task);
  const json& in = request.inputs;
  std::vector<InputValue> values;
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> files;
  try {
    if (const auto s = in.find("sequence"); s != in.end()) {
      const json list = s->is_array() ? *s : json::array({*s});
      for (const json& x : list) {
        if (!x.is_string()) throw ApiError(400, "'bmx.inputs.sequence' must be a string or strings", "bmx.inputs");
        values.push_back({InputKind::protein_sequence, x.get<std::string>(), {}, {}});
      }
    }
    if (auto text = string_field(in, "structure")) {
      const std::string fmt = format_field(in, "structure_format", "pdb", {"pdb", "cif"});
      files.push_back(scratch_file("structure." + fmt, *text));
      values.push_back(structure_input(files.back(), string_field(in, "chain", 8).value_or(""), decoders_->gcp_vqvae()));
    }
    if (auto v = string_field(in, "smiles")) values.push_back({InputKind::smiles, *v, {}, {}});
    if (auto v = string_field(in, "selfies")) values.push_back({InputKind::selfies, *v, {}, {}});
    if (auto text = string_field(in, "molecule")) {
      const std::string fmt = format_field(in, "molecule_format", "sdf", {"sdf", "mol", "mol2", "xyz"});
      files.push_back(scratch_file("molecule." + fmt, *text));
      values.push_back(molecule_input(files.back(), decoders_->molstructok(), false));
    }
    if (auto v = string_field(in, "text")) values.push_back({InputKind::text, *v, {}, {}});
    if (auto v = string_field(in, "property", 64)) values.push_back({InputKind::property, *v, {}, {}});
    TaskText t;
    t.prompt = build_task_prompt(task, values, string_field(in, "instruction").value_or(""));
    t.outputs = task.outputs;
    // The decoder knows fewer <S n> codes than the vocabulary has (the tiny test GCP-VQVAE: 512 of 4096).
    if (std::find(task.outputs.begin(), task.outputs.end(), Modality::prot3d) != task.outputs.end())
      t.prompt.constraint.structure_codebook = int(decoders_->gcp_vqvae().codebook_size());
    request.sampling = default_sampling(task, 1);
    for (const auto& f : files) fs::remove(f);
    return t;
  } catch (const InputError& e) {
    for (const auto& f : files) fs::remove(f);
    throw ApiError(400, client_message(e.what(), private_dir_), "bmx.inputs");
  }
}

ojson StructureService::extract(const std::string& answer, const BmxRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  return extract_locked(answer, request);
}

ojson StructureService::extract_locked(const std::string& answer, const BmxRequest& request) {
  const fs::path dir = fs::path(private_dir_) / ("answer_" + std::to_string(++counter_));
  ExtractSettings settings;
  settings.required = request.required;
  settings.expected_length = request.expected_length;
  ojson out;
  try {
    AnswerOutcome outcome = extract_answer(answer, request.user_turn, dir.string(), *decoders_, settings);
    out["decodable"] = outcome.decodable;
    out["valid"] = outcome.valid;
    if (outcome.length_match) out["length_match"] = *outcome.length_match;
    out["summary"] = outcome.summary;
    ojson files = ojson::object();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file()) files[e.path().filename().string()] = read_text(e.path());
    out["files"] = files;
  } catch (const std::exception& e) {
    out["decodable"] = false;
    out["error"] = client_message(e.what(), private_dir_);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

void StructureService::handle(const std::string& route, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  std::lock_guard<std::mutex> lock(mutex_);
  ojson out;
  std::vector<std::string> files;
  auto cleanup = [&] {
    for (const auto& f : files) fs::remove(f);
  };
  try {
    if (route == "/v1/mol/encode") {  // {"text", "format": sdf|mol|mol2|xyz} -> one result per molecule
      const std::string text = required_string(j, "text");
      const std::string fmt = format_field(j, "format", "sdf", {"sdf", "mol", "mol2", "xyz"});
      files.push_back(scratch_file("input." + fmt, text));
      out["molecules"] = ojson::array();
      for (mol3d::MolRecord& rec : mol3d::read_molecules(files.back())) {
        if (!rec.ok()) {
          out["molecules"].push_back({{"record", rec.index}, {"error", client_message(rec.error, private_dir_)}});
          continue;
        }
        rec.file = "request";
        try {
          out["molecules"].push_back(mol_encode_json(rec, decoders_->molstructok().encode(*rec.mol)));
        } catch (const InputError& e) {
          out["molecules"].push_back({{"record", rec.index}, {"error", client_message(e.what(), private_dir_)}});
        }
      }
    } else if (route == "/v1/mol/decode") {  // {"tokens": string or [strings], "refine": bool} -> SDF
      const auto t = j.find("tokens");
      if (t == j.end() || !(t->is_string() || t->is_array()))
        throw ApiError(400, "'tokens' must be a token string or an array of them", "tokens");
      const json list = t->is_array() ? *t : json::array({*t});
      if (list.size() > 1000) throw ApiError(400, "'tokens' has more than 1000 molecules", "tokens");
      std::optional<forcefield::RefineOptions> refine;
      if (bool_field(j, "refine").value_or(true)) refine = forcefield::RefineOptions{};
      std::string sdf;
      out["molecules"] = ojson::array();
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) throw ApiError(400, "'tokens' must hold strings", "tokens");
        const std::string where = "tokens[" + std::to_string(i) + "]";
        try {
          const MolDecodeRecord d = mol_decode_record(decoders_->molstructok(), list[i].get<std::string>(),
                                                      "mol_" + std::to_string(i + 1), where, {},
                                                      mol3d::kDefaultMaxAtoms, refine);
          sdf += d.record;
          out["molecules"].push_back({{"index", i}, {"refined", d.refined}, {"note", d.note}});
        } catch (const InputError& e) {
          out["molecules"].push_back({{"index", i}, {"error", where + ": " + e.what()}});
        }
      }
      out["sdf"] = sdf;
    } else if (route == "/v1/prot/encode") {  // {"text", "format": pdb|cif, "chain"} -> one record per chain
      const std::string text = required_string(j, "text");
      const std::string fmt = format_field(j, "format", "pdb", {"pdb", "cif"});
      files.push_back(scratch_file("input." + fmt, text));
      prot3d::ReadOptions ro;
      ro.chain = string_field(j, "chain", 8).value_or("");
      const prot3d::StructureChains sc = prot3d::read_protein_chains(files.back(), ro);
      out["chains"] = ojson::array();
      for (const prot3d::ChainResult& c : sc.chains) {
        if (c.status != prot3d::ChainStatus::ok) {
          out["chains"].push_back({{"chain", c.chain}, {"skipped", c.message}});
          continue;
        }
        const prot3d::Encoding e = decoders_->gcp_vqvae().encode(c.backbone);
        prot3d::TokenRecord rec = prot_chain_record("request", c, e);
        out["chains"].push_back(parse_json<ojson>(prot3d::token_record_json(rec)));
      }
    } else {  // /v1/prot/decode: {"tokens": "<S n>..." or [codes], "sequence"} -> PDB and mmCIF
      const auto t = j.find("tokens");
      std::string structure;
      if (t != j.end() && t->is_string()) {
        structure = t->get<std::string>();
      } else if (t != j.end() && t->is_array()) {
        if (t->size() > 100000) throw ApiError(400, "'tokens' has more than 100000 codes", "tokens");
        for (const json& c : *t) {
          if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() > 1 << 20)
            throw ApiError(400, "'tokens' must hold non-negative integer codes", "tokens");
          structure += structure_token(int(c.get<int64_t>()));
        }
      } else {
        throw ApiError(400, "'tokens' must be a <S n> token string or an array of codes", "tokens");
      }
      if (structure.find(std::string(start_marker(Modality::prot3d))) == std::string::npos)
        structure = wrap_segment(Modality::prot3d, structure);
      std::string answer;
      if (auto seq = string_field(j, "sequence")) {
        std::string residues;
        for (char c : parse_protein_sequence(*seq, "'sequence'")) residues += residue_token(c);
        answer = wrap_segment(Modality::prot_aa, residues);
      }
      answer += structure;
      BmxRequest r;
      r.required = {Modality::prot3d};
      out = extract_locked(answer, r);
    }
  } catch (const InputError& e) {
    cleanup();
    throw ApiError(400, client_message(e.what(), private_dir_));
  }
  cleanup();
  res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

}  // namespace bmx::app::serve
