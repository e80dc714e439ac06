#include "answer_files.h"

#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bmx/core/util/error.h"
#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/conformer.h"
#include "bmx/mol3d/molstructok.h"
#include "bmx/core/io/output_file.h"
#include "bmx/mol3d/sdf_writer.h"
#include "bmx/prot3d/structure_writer.h"
#include "bmx/prot3d/token_record.h"
#include "bmx/tokenizers/segment_json.h"
#include "bmx/tokenizers/segments.h"

namespace bmx::app {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

StructureDecoders::StructureDecoders(std::string molstructok_checkpoint, std::function<std::string()> gcp_dir,
                                     ProteinModelLoader load_gcp)
    : molstructok_checkpoint_(std::move(molstructok_checkpoint)), gcp_dir_(std::move(gcp_dir)),
      load_gcp_(std::move(load_gcp)) {}
StructureDecoders::~StructureDecoders() = default;

const mol3d::MolStrucTok& StructureDecoders::molstructok() {
  if (!molstructok_) molstructok_ = std::make_unique<mol3d::MolStrucTok>(molstructok_checkpoint_);
  return *molstructok_;
}

const ProteinModel& StructureDecoders::protein_model() {
  if (!gcp_) gcp_ = load_gcp_(gcp_dir_());
  return *gcp_;
}

void refuse_overwriting_input(const std::string& path, const std::vector<std::string>& inputs) {
  check_not_an_input(path, inputs);
}

void write_json_file(const std::string& path, const ordered_json& j, const std::vector<std::string>& inputs) {
  // NaN cannot reach the file: nlohmann writes non-finite numbers as null.
  // An answer is untrusted text: bytes that are not UTF-8 become U+FFFD rather than an exception mid-write.
  // Through OutputFile: an input is never overwritten, a write error (full disk) is an InputError naming the path,
  // and a failed write leaves no half-written summary.
  write_output_file(path, j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n", inputs);
}

namespace {

// What one segment gave: files, checks, refinement; or the reason it gave none.
struct SegmentResult {
  std::vector<std::string> files;
  ordered_json checks = ordered_json::object();
  ordered_json extra = ordered_json::object();  // modality-specific facts (smiles, residue names, ...)
  std::string error;
  bool valid() const {
    if (!error.empty()) return false;
    for (const auto& [k, v] : checks.items())
      if (v.is_boolean() && !v.get<bool>()) return false;
    return true;
  }
};

class SegmentWriter {
 public:
  SegmentWriter(const ParsedAnswer& parsed, const std::string& prompt, const std::string& outdir,
                StructureDecoders& decoders, const ExtractSettings& settings)
      : parsed_(parsed), prompt_(prompt), outdir_(outdir), decoders_(decoders), settings_(settings) {}

  SegmentResult write(std::size_t index) {
    const Segment& s = parsed_.segments[index];
    SegmentResult r;
    if (!s.well_formed()) {
      std::string why;
      for (SegmentProblem p : s.problems) why += (why.empty() ? "" : ", ") + std::string(to_string(p));
      r.error = "not decoded: the segment is malformed (" + why + ")";
      return r;
    }
    const std::string stem = stem_of(index);
    try {
      switch (s.modality) {
        case Modality::mol3d: mol3d_file(s, stem, r); break;
        case Modality::smiles: molecule_file(s.content, s, stem, r); break;
        case Modality::selfies: molecule_file(mol3d::smiles_from_selfies(s.selfies, "SELFIES"), s, stem, r); break;
        case Modality::prot3d: structure_files(index, stem, r); break;
        case Modality::prot_aa: fasta_file(s, stem, r); break;
      }
    } catch (const std::exception& e) {
      r.error = e.what();
      r.files.clear();
    }
    return r;
  }

 private:
  std::string stem_of(std::size_t index) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "seg%02zu_", index + 1);
    return buf + std::string(to_string(parsed_.segments[index].modality));
  }

  std::string path(const std::string& name) const {
    const std::string p = (fs::path(outdir_) / name).string();
    refuse_overwriting_input(p, settings_.inputs);
    return p;
  }

  void write_text(const std::string& name, const std::string& text, SegmentResult& r) const {
    write_output_file(path(name), text, settings_.inputs);
    r.files.push_back(name);
  }

  // Refines a 3D conformer (MMFF94, UFF where MMFF has no parameters) and says what happened, in the summary
  // and in the SD file.
  static void refine(RDKit::ROMol& mol, SegmentResult& r, mol3d::SdFields& fields) {
    const forcefield::RefineResult rr = forcefield::refine(mol);
    const std::string text = forcefield::describe(rr);
    r.extra["refinement"] = text;
    fields.emplace_back("bmx_refinement", text);
  }

  static void canonical_smiles(const RDKit::ROMol& mol, SegmentResult& r) {
    try {
      std::unique_ptr<RDKit::ROMol> heavy(RDKit::MolOps::removeHs(mol));
      r.extra["smiles"] = RDKit::MolToSmiles(*heavy);
    } catch (const std::exception&) {
      // an unsanitizable molecule has no canonical SMILES; the checks already say it is not valid
    }
  }

  void write_sdf(const RDKit::ROMol& mol, const std::string& stem, const mol3d::SdFields& fields, SegmentResult& r,
                 bool three_d = true) const {
    write_text(stem + ".sdf", mol3d::sdf_record(mol, stem, fields, stem, -1, three_d), r);
  }

  void mol3d_file(const Segment& s, const std::string& stem, SegmentResult& r) {
    mol3d::Decoding d = decoders_.molstructok().decode_detail(s.content);
    r.checks["sanitized"] = d.sanitized;
    r.checks["atoms_match_codes"] = static_cast<int>(d.mol->getNumAtoms()) == s.n_atoms;
    mol3d::SdFields fields{{"bmx_tokens", s.content}};
    refine(*d.mol, r, fields);
    canonical_smiles(*d.mol, r);
    write_sdf(*d.mol, stem, fields, r);
  }

  void molecule_file(const std::string& smiles, const Segment& s, const std::string& stem, SegmentResult& r) {
    mol3d::ConformerOptions opt;
    opt.embed_3d = !settings_.no_3d;
    auto mol = mol3d::molecule_from_smiles(smiles, to_string(s.modality), opt);
    r.checks["sanitized"] = true;  // molecule_from_smiles refuses what RDKit cannot sanitize
    mol3d::SdFields fields{{s.modality == Modality::smiles ? "bmx_smiles" : "bmx_selfies", s.content}};
    if (s.modality == Modality::selfies) r.extra["decoded_smiles"] = smiles;
    if (opt.embed_3d) refine(*mol, r, fields);
    else r.extra["refinement"] = "not refined: 2D depiction (--no-3d)";
    canonical_smiles(*mol, r);
    write_sdf(*mol, stem, fields, r, opt.embed_3d);
  }

  // Residue letters for a prot3d segment of n tokens: the nearest prot_aa segment of the answer with n residues,
  // else the first prot_aa segment of the prompt with n residues, else unknown (X, written UNK).
  std::string residue_names(std::size_t index, std::size_t n, SegmentResult& r) const {
    const auto& segs = parsed_.segments;
    const Segment* best = nullptr;
    std::size_t best_distance = 0, best_index = 0;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const std::size_t distance = i > index ? i - index : index - i;
      if (segs[i].modality == Modality::prot_aa && segs[i].well_formed() && segs[i].sequence.size() == n &&
          (!best || distance < best_distance)) {
        best = &segs[i];
        best_distance = distance;
        best_index = i;
      }
    }
    if (best) {
      r.extra["residue_names"] = "answer segment " + std::to_string(best_index + 1);
      return best->sequence;
    }
    for (const Segment& p : parse_answer(prompt_).segments)
      if (p.modality == Modality::prot_aa && p.well_formed() && p.sequence.size() == n) {
        r.extra["residue_names"] = "prompt";
        return p.sequence;
      }
    r.extra["residue_names"] = "unknown: no sequence of the same length in the answer or the prompt (UNK)";
    return std::string(n, 'X');
  }

  void structure_files(std::size_t index, const std::string& stem, SegmentResult& r) {
    const Segment& s = parsed_.segments[index];
    const ProteinModel& gcp = decoders_.protein_model();
    for (std::size_t i = 0; i < s.codes.size(); ++i)
      if (s.codes[i] >= gcp.codebook_size)
        throw InputError("token " + std::to_string(i + 1) + " <S " + std::to_string(s.codes[i]) +
                         "> is outside the GCP-VQVAE codebook 0.." + std::to_string(gcp.codebook_size - 1));
    const prot3d::Decoding decoded = gcp.decode(s.codes);
    r.checks["residues_match_tokens"] = decoded.n_ca_c.size() == s.codes.size();
    prot3d::TokenRecord record;  // numbered 1..n
    record.id = stem;
    record.chain = "A";
    record.tokens = s.codes;
    record.sequence = residue_names(index, decoded.n_ca_c.size(), r);
    const prot3d::BackboneChain chain = prot3d::decoded_chain(record, decoded);
    for (const char* ext : {".pdb", ".cif"}) {
      prot3d::write_backbones(path(stem + ext), {chain}, {}, settings_.inputs);
      r.files.push_back(stem + ext);
    }
  }

  void fasta_file(const Segment& s, const std::string& stem, SegmentResult& r) const {
    std::string text = ">" + stem + "\n";
    for (std::size_t i = 0; i < s.sequence.size(); i += 60) text += s.sequence.substr(i, 60) + "\n";
    write_text(stem + ".fasta", text, r);
  }

  const ParsedAnswer& parsed_;
  const std::string& prompt_;
  const std::string& outdir_;
  StructureDecoders& decoders_;
  const ExtractSettings& settings_;
};

}  // namespace

void make_output_folder(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(dir + ": not a folder (the output is a folder of files and summary.json)");
  if (!fs::create_directories(dir, ec) && ec) throw InputError(dir + ": cannot create the output folder: " + ec.message());
}

AnswerOutcome extract_answer(const std::string& answer, const std::string& prompt, const std::string& outdir,
                             StructureDecoders& decoders, const ExtractSettings& settings) {
  make_output_folder(outdir);
  const ParsedAnswer parsed = parse_answer(answer);
  SegmentWriter writer(parsed, prompt, outdir, decoders, settings);
  AnswerOutcome out;
  ordered_json segments = ordered_json::array();
  bool all_valid = true;
  std::vector<bool> present(kModalityCount, false);
  for (std::size_t i = 0; i < parsed.segments.size(); ++i) {
    const Segment& s = parsed.segments[i];
    const SegmentResult r = writer.write(i);
    ordered_json j;
    j["index"] = i + 1;
    j.update(segment_json(s));  // the parse, with the field names of vectors/biomatrix/README.md
    j["files"] = r.files;
    j["valid"] = r.valid();
    j["checks"] = r.checks;
    for (const auto& [k, v] : r.extra.items()) j[k] = v;
    if (!r.error.empty()) {
      j["error"] = r.error;
      out.failures.push_back("segment " + std::to_string(i + 1) + " (" + to_string(s.modality) + "): " + r.error);
    } else {
      present[static_cast<int>(s.modality)] = true;
    }
    all_valid = all_valid && r.valid();
    out.written += static_cast<int>(r.files.size());
    // The required segment's length against the input's (fold: residues; inverse-fold: structure tokens).
    if (settings.expected_length && !settings.required.empty() && s.modality == settings.required.front() &&
        s.well_formed() && s.tokens && !out.length_match) {
      out.length_match = static_cast<int>(s.tokens->size()) == *settings.expected_length;
      j["length_match"] = *out.length_match;
    }
    segments.push_back(std::move(j));
  }
  bool have_required = true;
  ordered_json missing = ordered_json::array();
  for (Modality m : settings.required)
    if (!present[static_cast<int>(m)]) {
      have_required = false;
      missing.push_back(to_string(m));
    }
  if (settings.expected_length && !out.length_match) out.length_match = false;
  out.segments = static_cast<int>(parsed.segments.size());
  out.decodable = out.failures.empty() && have_required;
  out.valid = out.decodable && all_valid;

  ordered_json stray = ordered_json::array();
  for (const StrayMarker& m : parsed.stray_markers) stray.push_back({{"marker", m.marker}, {"start", m.start}, {"end", m.end}});
  ordered_json& j = out.summary;
  j["answer"] = answer;
  j["decodable"] = out.decodable;
  j["valid"] = out.valid;
  if (out.length_match) j["length_match"] = *out.length_match;
  if (!missing.empty()) j["missing_outputs"] = missing;
  j["n_segments"] = out.segments;
  j["n_files"] = out.written;
  j["segments"] = segments;
  j["stray_markers"] = stray;
  return out;
}

int extract_to_folder(const std::string& command, const std::string& answer, const std::string& prompt,
                      const std::string& outdir, StructureDecoders& decoders, const ExtractSettings& settings) {
  const AnswerOutcome o = extract_answer(answer, prompt, outdir, decoders, settings);
  ordered_json summary;
  summary["prompt"] = prompt;
  summary.update(o.summary);
  write_json_file((fs::path(outdir) / "summary.json").string(), summary, settings.inputs);
  for (const std::string& f : o.failures) std::fprintf(stderr, "%s: %s\n", command.c_str(), f.c_str());
  std::fprintf(stderr, "%s: %d segment(s), %d file(s) written to %s%s\n", command.c_str(), o.segments, o.written,
               outdir.c_str(), o.failures.empty() ? "" : "; the segments above gave no file (see summary.json)");
  return o.failures.empty() ? 0 : 1;
}

}  // namespace bmx::app
