#include "bmx/mol3d/molstructok.h"

#include <GraphMol/Conformer.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/RWMol.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <memory>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <utility>

#include "bmx/core/util/error.h"
#include "bmx/mol3d/canonical_order.h"
#include "bmx/mol3d/input_limits.h"
#include "bmx/mol3d/struct_tokens.h"
#include "bmx/tokenizers/modality.h"
#include "bmx/tokenizers/selfies.h"
#include "vq_network.h"

namespace bmx::mol3d {

namespace fs = std::filesystem;

std::string default_checkpoint() {
  const char* name = "molstructok_vqvae.bin";
  std::vector<std::string> tried;
  auto found = [&](const fs::path& p) {
    tried.push_back(p.string());
    std::error_code ec;
    return fs::is_regular_file(p, ec);
  };
  if (const char* env = std::getenv("BMX_MOLSTRUCTOK"); env && *env) {
    if (found(env)) return env;
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && found(exe.parent_path() / ".." / "share" / "bmx" / name))
    return fs::weakly_canonical(exe.parent_path() / ".." / "share" / "bmx" / name).string();
#ifdef BMX_DATA_DIR
  if (found(fs::path(BMX_DATA_DIR) / name)) return (fs::path(BMX_DATA_DIR) / name).string();
#endif
#ifdef BMX_SOURCE_DATA_DIR
  if (found(fs::path(BMX_SOURCE_DATA_DIR) / name)) return (fs::path(BMX_SOURCE_DATA_DIR) / name).string();
#endif
  if (const char* env = std::getenv("BMX_DATA_DIR"); env && *env) {
    if (found(fs::path(env) / name)) return (fs::path(env) / name).string();
  }
  std::string list;
  for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
  throw UnsupportedError("MolStrucTok checkpoint " + std::string(name) + " not found (looked in: " + list +
                         "); pass the model path or set BMX_MOLSTRUCTOK");
}

namespace {

// focus[i] = the largest j < i bonded to atom i, -1 if none (atom indices mapped by new_index if given).
std::vector<int> focus_of(const RDKit::ROMol& mol, const std::vector<int>* new_index) {
  std::vector<int> focus(mol.getNumAtoms(), -1);
  for (const RDKit::Bond* b : mol.bonds()) {
    int a = int(b->getBeginAtomIdx()), c = int(b->getEndAtomIdx());
    if (new_index) {
      a = (*new_index)[a];
      c = (*new_index)[c];
    }
    if (a > c) std::swap(a, c);
    if (a < c && a > focus[c]) focus[c] = a;
  }
  return focus;
}

}  // namespace

MolStrucTok::MolStrucTok(const std::string& checkpoint)
    : checkpoint_(checkpoint), net_(std::make_unique<VqNetwork>(checkpoint)) {}
MolStrucTok::~MolStrucTok() = default;
MolStrucTok::MolStrucTok(MolStrucTok&&) noexcept = default;
MolStrucTok& MolStrucTok::operator=(MolStrucTok&&) noexcept = default;

int MolStrucTok::codebook_size() const { return net_->codebook_size(); }

std::vector<int> MolStrucTok::codes_of(const std::vector<AtomDescriptor>& descriptors) const {
  std::vector<CodeChoice> c = net_->encode(descriptors);
  std::vector<int> out(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) out[i] = c[i].code;
  return out;
}

AtomDescriptor MolStrucTok::descriptor_of(int code) const {
  if (code < 0 || code >= codebook_size())
    throw InputError("code " + std::to_string(code) + " is outside 0.." + std::to_string(codebook_size() - 1));
  return net_->decode(code);
}

Encoding MolStrucTok::encode(const RDKit::ROMol& mol) const {
  const int n = int(mol.getNumAtoms());
  if (n == 0) throw InputError("molecule has no atoms");
  if (mol.getNumConformers() == 0) throw InputError("molecule has no coordinates (no conformer)");
  // The readers check this already; molecules made elsewhere (SMILES conformers, callers) get the same check.
  if (std::string p = geometry_problem(mol); !p.empty()) throw InputError("degenerate geometry: " + p);
  const RDKit::Conformer& conf = mol.getConformer();
  bool flat = true;
  for (int i = 0; i < n; ++i)
    if (conf.getAtomPos(i).z != 0.0) flat = false;
  if (!conf.is3D() && flat && n > 1)
    throw InputError("molecule has 2D coordinates only (conformer flagged 2D, all z = 0); 3D coordinates are needed");

  Encoding e;
  CanonicalOrder co = canonical_order(mol);
  e.smiles = std::move(co.smiles);
  e.atom_order = std::move(co.atom_order);
  try {
    e.selfies = selfies::encode(e.smiles);
  } catch (const std::exception& ex) {
    throw InputError("SELFIES cannot encode " + e.smiles + ": " + ex.what());
  }

  std::vector<std::string_view> symbols;
  std::vector<int> fragment_starts;
  selfies::split_views(e.selfies, symbols, fragment_starts);
  std::vector<bool> starts_fragment(symbols.size());
  for (int f : fragment_starts)
    if (f > 0 && std::size_t(f) < symbols.size()) starts_fragment[std::size_t(f)] = true;
  // Which symbols create atoms: in encoder output every symbol is an atom except branch/ring symbols, the
  // index symbols that follow them and [nop]. The SELFIES decoder's attribution is the reference's
  // definition; it is consulted if the structural count disagrees.
  std::vector<bool> creates(symbols.size());
  int atoms = 0;
  for (std::size_t i = 0, skip = 0; i < symbols.size(); ++i) {
    if (skip > 0) {
      --skip;
      continue;
    }
    if (int k = selfies::index_symbol_count(symbols[i])) {
      skip = std::size_t(k);
      continue;
    }
    if (symbols[i] == "[nop]") continue;
    creates[i] = true;
    ++atoms;
  }
  if (atoms != n) {
    selfies::Decoded d = selfies::decode(e.selfies);
    atoms = 0;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      creates[i] = i < d.creates_atom.size() && d.creates_atom[i];
      atoms += creates[i];
    }
    if (atoms != n)
      throw InputError("SELFIES " + e.selfies + " spells " + std::to_string(atoms) + " atoms, the molecule has " +
                       std::to_string(n));
  }

  std::vector<int> new_index(n);
  for (int k = 0; k < n; ++k) new_index[e.atom_order[k]] = k;
  std::vector<Vec3> pos(n);
  for (int k = 0; k < n; ++k) {
    const RDGeom::Point3D& p = conf.getAtomPos(e.atom_order[k]);
    pos[k] = {p.x, p.y, p.z};
  }
  e.reference_atoms = reference_atoms_from_focus(focus_of(mol, &new_index));
  e.descriptors = descriptors(pos, e.reference_atoms);
  std::vector<CodeChoice> choice = net_->encode(e.descriptors);
  e.codes.resize(n);
  e.code_distance.resize(n);
  e.code_margin.resize(n);
  for (int k = 0; k < n; ++k) {
    e.codes[k] = choice[k].code;
    e.code_distance[k] = choice[k].distance;
    e.code_margin[k] = choice[k].runner_up_distance - choice[k].distance;
  }

  e.struct_sfi.reserve(symbols.size() * 8);
  for (std::size_t i = 0, a = 0; i < symbols.size(); ++i) {
    if (starts_fragment[i]) {
      e.struct_sfi += '.';
      ++e.num_fragments;
    }
    append_mol3d_token(e.struct_sfi, symbols[i], creates[i] ? e.codes[a++] : -1);
  }
  e.tokens = wrap_segment(Modality::mol3d, e.struct_sfi);
  return e;
}

Decoding MolStrucTok::decode_detail(const std::string& text, int max_atoms) const {
  std::vector<StructToken> tokens = parse_struct_tokens(text, codebook_size() - 1);
  {
    std::size_t atoms = 0;  // one code per atom: refused before SELFIES, RDKit and the network see them
    for (const auto& t : tokens) atoms += t.code >= 0;
    if (std::string p = atom_count_problem(atoms, max_atoms); !p.empty()) throw InputError("struct_sfi: " + p);
  }
  Decoding out;
  out.selfies = selfies_of(tokens);
  selfies::Decoded dec;
  try {
    dec = selfies::decode(out.selfies);
  } catch (const std::exception& ex) {
    // The SELFIES decoder names the symbol by its index in split(selfies), i.e. the token index.
    std::string what = ex.what();
    std::size_t at = what.find("symbol ");
    if (at != std::string::npos) {
      std::size_t index = 0, k = at + 7, digits = 0;
      for (; k < what.size() && std::isdigit(static_cast<unsigned char>(what[k])); ++k, ++digits)
        index = index * 10 + std::size_t(what[k] - '0');
      std::size_t q = what.find('\'', k);
      if (digits > 0 && index < tokens.size() && q != std::string::npos &&
          what.compare(q + 1, tokens[index].symbol.size(), tokens[index].symbol) == 0)
        throw InputError(describe_token(tokens, index) + ": invalid SELFIES symbol " + tokens[index].symbol);
    }
    throw InputError("struct_sfi: " + what);
  }
  if (dec.creates_atom.size() != tokens.size())
    throw InputError("struct_sfi: SELFIES decoder attributed " + std::to_string(dec.creates_atom.size()) +
                     " symbols for " + std::to_string(tokens.size()) + " tokens");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    bool creates = dec.creates_atom[i];
    if (creates && tokens[i].code < 0)
      throw InputError(describe_token(tokens, i) + ": the symbol creates an atom but carries code -1");
    if (!creates && tokens[i].code >= 0)
      throw InputError(describe_token(tokens, i) +
                       ": the symbol creates no atom here (branch/ring/index symbol, or one SELFIES drops) but "
                       "carries code " + std::to_string(tokens[i].code) + "; codes and atoms do not line up");
    if (creates) out.codes.push_back(tokens[i].code);
  }
  if (out.codes.empty()) throw InputError("struct_sfi '" + text + "' spells no atoms");

  RDKit::SmilesParserParams params;
  params.sanitize = false;
  params.removeHs = false;
  params.allowCXSMILES = false;
  params.parseName = false;
  try {
    out.mol.reset(RDKit::SmilesToMol(dec.smiles, params));
  } catch (const std::exception& ex) {
    throw InputError("struct_sfi: RDKit cannot read the decoded SMILES " + dec.smiles + ": " + ex.what());
  }
  if (!out.mol) throw InputError("struct_sfi: RDKit cannot read the decoded SMILES " + dec.smiles);
  const int n = int(out.mol->getNumAtoms());
  if (n != int(out.codes.size()))
    throw InputError("struct_sfi: decoded molecule has " + std::to_string(n) + " atoms but the string carries " +
                     std::to_string(out.codes.size()) + " codes");
  try {
    RDKit::MolOps::sanitizeMol(*out.mol);
  } catch (const std::exception&) {
    out.sanitized = false;  // kept as parsed, as the reference does
  }

  out.reference_atoms = reference_atoms_from_focus(focus_of(*out.mol, nullptr));
  out.descriptors.resize(n);
  for (int i = 0; i < n; ++i) out.descriptors[i] = net_->decode(out.codes[i]);
  std::vector<Vec3> x = reconstruct(out.descriptors, out.reference_atoms);
  auto conf = std::make_unique<RDKit::Conformer>(n);
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(x[i][0]) || !std::isfinite(x[i][1]) || !std::isfinite(x[i][2]))
      throw InputError("struct_sfi: atom " + std::to_string(i + 1) + " gets non-finite coordinates");
    conf->setAtomPos(i, RDGeom::Point3D(x[i][0], x[i][1], x[i][2]));
  }
  conf->set3D(true);
  out.mol->addConformer(conf.release(), true);
  for (const auto& t : tokens)
    if (t.starts_fragment) {  // only a '.' makes fragments: the single-fragment path stays as it was
      separate_fragments(*out.mol);
      break;
    }
  return out;
}

}  // namespace bmx::mol3d
