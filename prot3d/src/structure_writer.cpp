#include "bmx/prot3d/structure_writer.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <set>
#include <sstream>

#include <gemmi/model.hpp>
#include <gemmi/align.hpp>
#include <gemmi/to_cif.hpp>
#include <gemmi/to_mmcif.hpp>
#include <gemmi/to_pdb.hpp>

#include "bmx/core/io/output_file.h"
#include "bmx/core/util/error.h"

namespace bmx::prot3d {
namespace {

using namespace bmx::vec3;

std::string lower_extension(const std::string& path) {
  const std::size_t slash = path.find_last_of('/'), dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {};
  std::string ext = path.substr(dot);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext;
}

// PDB's coordinate columns are "%8.3f": from -999.999 to 9999.999. A wider value runs into its neighbour and the
// file no longer says where the atom is, so PDB output refuses it and points to mmCIF, which has no width limit.
void check_fits_pdb(const gemmi::Structure& st) {
  // Atom serials have 5 columns: up to 43770015 in hybrid-36.
  std::size_t atoms = 0;
  for (const gemmi::Chain& ch : st.models[0].chains)
    for (const gemmi::Residue& r : ch.residues) atoms += r.atoms.size();
  if (atoms > 43770015)
    throw InputError("more than 43770015 atoms do not fit the PDB format's serial numbers; write mmCIF instead");
  for (const gemmi::Chain& ch : st.models[0].chains) {
    if (ch.name.size() > 2)
      throw InputError("chain " + ch.name + ": the PDB format holds chain names of at most 2 characters; write mmCIF "
                       "instead (an output named .cif, or --format cif)");
    for (const gemmi::Residue& r : ch.residues) {
      // Residue numbers have 4 columns: gemmi writes -999..9999 as digits and up to 1223055 in upper-case
      // hybrid-36; beyond, the number would wrap to another one silently.
      if (r.seqid.num.value < -999 || r.seqid.num.value > 1223055)
        throw InputError("chain " + ch.name + " residue " + r.seqid.str() + ": the residue number does not fit the "
                         "PDB format's 4 columns (-999 to 1223055 with hybrid-36); write mmCIF instead (an output "
                         "named .cif, or --format cif)");
      for (const gemmi::Atom& a : r.atoms)
        for (double x : {a.pos.x, a.pos.y, a.pos.z})
          if (x >= 9999.9995 || x <= -999.9995) {
            char v[64];
            std::snprintf(v, sizeof v, "%.3f", x);
            throw InputError("chain " + ch.name + " residue " + r.seqid.str() + " atom " + a.name + ": coordinate " +
                             v + " does not fit the PDB format's 8-character field (-999.999 to 9999.999); write "
                             "mmCIF instead (an output named .cif, or --format cif)");
          }
    }
  }
}

gemmi::Atom make_atom(const char* name, const char* element, const Vec3& p, int serial) {
  gemmi::Atom a;
  a.name = name;
  a.element = gemmi::Element(element);
  a.pos = gemmi::Position(p[0], p[1], p[2]);
  a.occ = 1.0f;
  a.b_iso = 0.0f;
  a.serial = serial;
  return a;
}

gemmi::Structure build(const std::vector<BackboneChain>& chains, const WriteOptions& opt) {
  gemmi::Structure st;
  st.name = chains.empty() || chains[0].id.empty() ? "bmx" : chains[0].id;
  if (!opt.title.empty()) st.info["_struct.title"] = opt.title;
  gemmi::Model model("1");
  std::set<std::string> used;
  for (const BackboneChain& c : chains)
    if (!c.chain.empty() && c.chain != " ") used.insert(c.chain);
  int serial = 0;
  for (const BackboneChain& bc : chains) {
    if (bc.coords.size() != bc.residues.size())
      throw InputError("chain " + chain_label(bc.chain) + ": " + std::to_string(bc.coords.size()) +
                       " coordinate rows for " + std::to_string(bc.residues.size()) + " residues");
    std::string name = bc.chain;
    if (name.empty() || name == " ") {  // mmCIF needs a chain id: take the first free letter
      for (char ch = 'A'; ch <= 'Z'; ++ch)
        if (!used.count(std::string(1, ch))) {
          name = std::string(1, ch);
          break;
        }
      used.insert(name);
    }
    for (const gemmi::Chain& existing : model.chains)
      if (existing.name == name) throw InputError("chain " + name + " appears twice in one output structure");
    gemmi::Chain chain(name);
    for (std::size_t i = 0; i < bc.residues.size(); ++i) {
      const Residue& r = bc.residues[i];
      if (opt.observed_only && !r.observed) continue;
      const auto& x = bc.coords[i];
      for (const Vec3& p : x)
        if (!finite(p))
          throw InputError("chain " + name + " residue " + to_string(r.id) +
                           ": coordinates are not finite (NaN is never written)");
      gemmi::Residue res;
      res.name = r.name.empty() || r.name.size() > 3 ? three_letter_code(r.one_letter) : r.name;
      res.seqid = gemmi::SeqId(r.id.number, r.id.icode == '\0' ? ' ' : r.id.icode);
      res.het_flag = 'A';
      res.entity_type = gemmi::EntityType::Polymer;
      res.atoms.push_back(make_atom("N", "N", x[0], ++serial));
      res.atoms.push_back(make_atom("CA", "C", x[1], ++serial));
      res.atoms.push_back(make_atom("C", "C", x[2], ++serial));
      if (opt.add_oxygen) {
        Vec3 o;
        if (r.observed && i < bc.oxygen.size() && finite(bc.oxygen[i])) {
          o = bc.oxygen[i];
        } else {
          const bool has_next = i + 1 < bc.residues.size() && !(opt.observed_only && !bc.residues[i + 1].observed);
          o = ideal_oxygen(x[0], x[1], x[2], has_next ? &bc.coords[i + 1][0] : nullptr);
        }
        res.atoms.push_back(make_atom("O", "O", o, ++serial));
      }
      if (opt.add_cb && res.name != "GLY") res.atoms.push_back(make_atom("CB", "C", ideal_cb(x[0], x[1], x[2]), ++serial));
      chain.residues.push_back(std::move(res));
    }
    model.chains.push_back(std::move(chain));
  }
  st.models.push_back(std::move(model));
  // One polymer entity per chain, with its sequence: DSSP and other mmCIF readers find polymers through
  // entity_poly(_seq) and label ids.
  int entity_no = 0;
  for (gemmi::Chain& ch : st.models[0].chains) {
    gemmi::Entity ent(std::to_string(++entity_no));
    ent.subchains = {ch.name};
    ent.entity_type = gemmi::EntityType::Polymer;
    ent.polymer_type = gemmi::PolymerType::PeptideL;
    for (gemmi::Residue& r : ch.residues) {
      r.subchain = ch.name;
      r.entity_id = ent.name;
      ent.full_sequence.push_back(r.name);
    }
    st.entities.push_back(std::move(ent));
  }
  gemmi::assign_label_seq_id(st, false);
  st.info["_entry.id"] = st.name;
  st.spacegroup_hm = "P 1";  // no crystal: the PDB's convention for a model (CRYST1 1 1 1 ... P 1)
  return st;
}

// mkdssp (libcifpp) builds polymers from _pdbx_poly_seq_scheme and wants peptide chem_comp types; gemmi 0.5.7
// writes neither.
void add_poly_seq_scheme(const gemmi::Structure& st, gemmi::cif::Block& block) {
  gemmi::cif::Table comps = block.find("_chem_comp.", {"id", "type"});
  for (auto row : comps) row[1] = gemmi::cif::quote("L-peptide linking");
  gemmi::cif::Loop& loop = block.init_mmcif_loop(
      "_pdbx_poly_seq_scheme.", {"asym_id", "entity_id", "seq_id", "mon_id", "ndb_seq_num", "pdb_seq_num",
                                 "auth_seq_num", "pdb_mon_id", "auth_mon_id", "pdb_strand_id", "pdb_ins_code", "hetero"});
  for (const gemmi::Chain& ch : st.models[0].chains)
    for (const gemmi::Residue& r : ch.residues) {
      const std::string seq = std::to_string(r.label_seq.value);
      const std::string num = std::to_string(r.seqid.num.value);
      const std::string icode = r.seqid.icode == ' ' || r.seqid.icode == '\0' ? "." : std::string(1, r.seqid.icode);
      auto v = [](const std::string& x) { return x.empty() ? std::string(".") : x; };
      loop.add_row({v(r.subchain), v(r.entity_id), seq, r.name, seq, num, num, r.name, r.name, ch.name, icode, "n"});
    }
}

}  // namespace

std::string three_letter_code(char c) {
  switch (c) {
    case 'A': return "ALA"; case 'R': return "ARG"; case 'N': return "ASN"; case 'D': return "ASP";
    case 'C': return "CYS"; case 'Q': return "GLN"; case 'E': return "GLU"; case 'G': return "GLY";
    case 'H': return "HIS"; case 'I': return "ILE"; case 'L': return "LEU"; case 'K': return "LYS";
    case 'M': return "MET"; case 'F': return "PHE"; case 'P': return "PRO"; case 'S': return "SER";
    case 'T': return "THR"; case 'W': return "TRP"; case 'Y': return "TYR"; case 'V': return "VAL";
    case 'B': return "ASX"; case 'Z': return "GLX"; case 'U': return "SEC"; case 'O': return "PYL";
    default: return "UNK";
  }
}

Vec3 ideal_oxygen(const Vec3& n, const Vec3& ca, const Vec3& c, const Vec3* next_n) {
  if (next_n && finite(*next_n) && norm(sub(*next_n, c)) < 2.0) {
    // In the peptide plane, bisecting the outer angle between C->CA and C->N(next).
    const Vec3 d = unit(add(unit(sub(c, ca)), unit(sub(c, *next_n))));
    if (norm(d) > 0.5) return add(c, scale(d, 1.231));
  }
  // No bonded next residue: in the N-CA-C plane, trans to N (psi = 180 is as good a guess as any).
  return place(n, ca, c, 1.231, 120.5 * M_PI / 180.0, 0.0);
}

Vec3 ideal_cb(const Vec3& n, const Vec3& ca, const Vec3& c) {
  const Vec3 b = sub(ca, n), cc = sub(c, ca);
  const Vec3 a = cross(b, cc);
  return add(add(add(scale(a, -0.58273431), scale(b, 0.56802827)), scale(cc, -0.54067466)), ca);
}

std::string backbones_to_string(const std::vector<BackboneChain>& chains, StructureFormat format,
                                const WriteOptions& options) {
  gemmi::Structure st = build(chains, options);
  std::ostringstream os;
  if (format == StructureFormat::mmcif) {
    gemmi::MmcifOutputGroups groups(true);
    groups.entity_poly = true;
    groups.group_pdb = true;
    gemmi::cif::Document doc = gemmi::make_mmcif_document(st, groups);
    add_poly_seq_scheme(st, doc.blocks[0]);
    doc.blocks[0].set_pair("_audit_conform.dict_name", "mmcif_pdbx.dic");
    gemmi::cif::write_cif_to_stream(os, doc);
  } else {
    check_fits_pdb(st);
    // HEADER holds a 4-character PDB id in columns 63-66: a longer id (an AlphaFold name, a file stem) would run
    // past them, so it goes to no HEADER and the id is left to the file name.
    if (st.name.size() > 4) st.info.erase("_entry.id");
    gemmi::write_pdb(st, os);
  }
  return os.str();
}

StructureFormat output_format(const std::string& path, StructureFormat requested) {
  if (requested != StructureFormat::from_extension) return requested;
  if (path.empty() || path == "-") return StructureFormat::pdb;
  const std::string ext = lower_extension(path);
  if (ext == ".pdb" || ext == ".ent") return StructureFormat::pdb;
  if (ext == ".cif" || ext == ".mmcif") return StructureFormat::mmcif;
  throw InputError(path + ": " + (ext.empty() ? std::string("no extension") : "unknown extension " + ext) +
                   " for a structure file: name it .pdb or .cif, or give the format (--format pdb|cif)");
}

void write_backbones(std::ostream& out, const std::vector<BackboneChain>& chains, StructureFormat format,
                     const WriteOptions& options) {
  out << backbones_to_string(chains, format == StructureFormat::from_extension ? StructureFormat::pdb : format,
                             options);
}

void write_backbones(const std::string& path, const std::vector<BackboneChain>& chains, const WriteOptions& options,
                     const std::vector<std::string>& inputs) {
  const StructureFormat f = output_format(path, options.format);
  const std::string text = backbones_to_string(chains, f, options);  // refused before anything is opened
  write_output_file(path, text, inputs);
}

}  // namespace bmx::prot3d
