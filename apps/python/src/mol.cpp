// bmx.MolStrucTok: molecules with 3D coordinates <-> MolStrucTok tokens, with the JSON line and the SD record of
// `bmx mol encode|decode` (apps/encode_records.h), so that Python and the command line agree record for record.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.h"
#include "bmx/core/util/error.h"
#include "bmx/core/util/parallel.h"
#include "bmx/forcefield/refine.h"
#include "bmx/mol3d/molecule_io.h"
#include "bmx/mol3d/molstructok.h"
#include "encode_records.h"

namespace py = pybind11;

namespace bmx::python {
namespace {

// One molecule to encode, as the Python side handed it over: a path, or a molblock (from a string or from an
// rdkit Mol, then with its conformer's coordinates at full precision).
struct MolInput {
  std::string path, molblock, label;
  std::vector<double> coords;  // 3 per atom, or empty: the molblock's own
};

struct MolEncoding {
  std::string name, file, smiles, selfies, struct_sfi, tokens, json;
  int record = 0, hydrogens_added = 0, num_fragments = 1;
  std::vector<int> codes, atom_order;
  std::vector<float> code_margin;
  std::vector<std::string> notes;
};

MolEncoding encoding_of(const mol3d::MolStrucTok& model, const mol3d::MolRecord& r) {
  const mol3d::Encoding e = model.encode(*r.mol);
  MolEncoding out;
  out.json = app::mol_encode_json(r, e).dump();
  out.name = r.name;
  out.file = r.file;
  out.record = r.index;
  out.smiles = e.smiles;
  out.selfies = e.selfies;
  out.struct_sfi = e.struct_sfi;
  out.tokens = e.tokens;
  out.codes = e.codes;
  out.atom_order = e.atom_order;
  out.code_margin = e.code_margin;
  out.hydrogens_added = r.hydrogens_added;
  out.num_fragments = e.num_fragments;
  out.notes = r.notes;
  return out;
}

// A molblock held in memory through the checks and completion every record of a file gets
// (mol3d::complete_molecule, as MolReader runs them), so that `encode` accepts or refuses it as `bmx mol encode`
// does a file holding it; the coordinates of an rdkit Mol are set at full precision first.
mol3d::MolRecord record_of(const MolInput& in, int max_atoms) {
  mol3d::MolRecord r;
  r.file = in.label;
  r.index = 1;
  auto fail = [&](const std::string& problem) { throw InputError(in.label + ": " + problem); };
  r.mol = mol3d::mol_from_molblock(in.molblock, in.label);
  RDKit::RWMol& mol = *r.mol;
  // RDKit flags a conformer 2D as the molblock's header says (the reader's "flagged 2D").
  const bool flagged_2d = mol.getNumConformers() > 0 && !mol.getConformer().is3D();
  if (!in.coords.empty() && mol.getNumConformers() > 0) {
    if (in.coords.size() != 3 * std::size_t(mol.getNumAtoms()))
      fail(std::to_string(in.coords.size() / 3) + " coordinates for " + std::to_string(mol.getNumAtoms()) + " atoms");
    RDKit::Conformer& conf = mol.getConformer();
    for (unsigned i = 0; i < mol.getNumAtoms(); ++i)
      conf.setAtomPos(i, RDGeom::Point3D(in.coords[3 * i], in.coords[3 * i + 1], in.coords[3 * i + 2]));
  }
  mol3d::ReadOptions ro;
  ro.max_atoms = max_atoms;
  if (std::string p = mol3d::complete_molecule(mol, flagged_2d, ro, r); !p.empty()) fail(p);
  mol.getProp(RDKit::common_properties::_Name, r.name);
  if (r.name.empty()) r.name = in.label;
  return r;
}

// Every record of a file, each read and checked by the reader of `bmx mol encode`.
std::vector<mol3d::MolRecord> file_records(const std::string& path, int max_atoms, std::size_t at_most = SIZE_MAX) {
  mol3d::ReadOptions ro;
  ro.max_atoms = max_atoms;
  mol3d::MolReader reader({path}, ro);
  std::vector<mol3d::MolRecord> records;
  for (mol3d::MolRecord r; records.size() < at_most && reader.next(r);) records.push_back(std::move(r));
  return records;
}

MolEncoding encode_input(const mol3d::MolStrucTok& model, const MolInput& in, int max_atoms) {
  if (in.path.empty()) return encoding_of(model, record_of(in, max_atoms));
  auto records = file_records(in.path, max_atoms, 2);
  if (records.size() != 1)
    throw InputError(in.path + ": holds more than one molecule; MolStrucTok.encode takes one (encode_file reads "
                     "every record)");
  if (!records[0].ok()) throw InputError(records[0].error);
  try {
    return encoding_of(model, records[0]);
  } catch (const std::exception& e) {
    throw InputError(records[0].where() + ": " + e.what());
  }
}

// One outcome of a batch: the encoding, or the one-line error of that item.
using Outcome = std::pair<std::optional<MolEncoding>, std::string>;

// Items on bmx's thread pool (thread_count: the one -t rule), without the GIL.
template <typename Fn>
std::vector<Outcome> run_items(std::size_t n, int threads, Fn fn) {
  std::vector<Outcome> out(n);
  py::gil_scoped_release release;
  parallel_for(n, thread_count(threads), [&](std::size_t i) {
    try {
      out[i].first = fn(i);
    } catch (const std::exception& e) {
      out[i].second = e.what();
    }
  });
  return out;
}

struct PyMolStrucTok {
  explicit PyMolStrucTok(const std::optional<std::string>& checkpoint, int max_atoms)
      : model(checkpoint && !checkpoint->empty() ? *checkpoint : mol3d::default_checkpoint()), max_atoms(max_atoms) {}
  mol3d::MolStrucTok model;
  int max_atoms;
};

py::array_t<float> float_array(const std::vector<float>& v) { return py::array_t<float>(v.size(), v.data()); }
py::array_t<int> int_array(const std::vector<int>& v) { return py::array_t<int>(v.size(), v.data()); }

}  // namespace

void add_mol(py::module_& m) {
  py::class_<MolInput>(m, "_MolInput")
      .def(py::init([](std::string path, std::string molblock, std::string label, py::object coords) {
             MolInput in{std::move(path), std::move(molblock), std::move(label), {}};
             if (!coords.is_none()) {
               auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(coords);
               if (!a || a.ndim() != 2 || a.shape(1) != 3) throw InputError(in.label + ": coordinates must be N x 3");
               in.coords.assign(a.data(), a.data() + a.size());
             }
             return in;
           }),
           py::arg("path"), py::arg("molblock"), py::arg("label"), py::arg("coords"));

  py::class_<MolEncoding>(m, "MolEncoding", "One molecule as MolStrucTok tokens (the JSON line of `bmx mol encode`)")
      .def_readonly("name", &MolEncoding::name)
      .def_readonly("file", &MolEncoding::file)
      .def_readonly("record", &MolEncoding::record)
      .def_readonly("smiles", &MolEncoding::smiles)
      .def_readonly("selfies", &MolEncoding::selfies)
      .def_readonly("struct_sfi", &MolEncoding::struct_sfi)
      .def_readonly("tokens", &MolEncoding::tokens)
      .def_property_readonly("codes", [](const MolEncoding& e) { return int_array(e.codes); })
      .def_property_readonly("atom_order", [](const MolEncoding& e) { return int_array(e.atom_order); })
      .def_property_readonly("code_margin", [](const MolEncoding& e) { return float_array(e.code_margin); })
      .def_readonly("hydrogens_added", &MolEncoding::hydrogens_added)
      .def_readonly("num_fragments", &MolEncoding::num_fragments)
      .def_readonly("notes", &MolEncoding::notes)
      .def("to_json", [](const MolEncoding& e) { return e.json; }, "The JSON line `bmx mol encode` writes")
      .def("__repr__", [](const MolEncoding& e) {
        return "<MolEncoding " + e.name + ": " + std::to_string(e.codes.size()) + " atoms, " + e.struct_sfi.substr(0, 60) +
               (e.struct_sfi.size() > 60 ? "...>" : ">");
      });

  py::class_<PyMolStrucTok>(m, "_MolStrucTok")
      .def(py::init<const std::optional<std::string>&, int>(), py::arg("checkpoint"), py::arg("max_atoms"))
      .def_property_readonly("checkpoint", [](const PyMolStrucTok& t) { return t.model.checkpoint(); })
      .def_property_readonly("codebook_size", [](const PyMolStrucTok& t) { return t.model.codebook_size(); })
      .def("encode", [](const PyMolStrucTok& t, const MolInput& in) {
             py::gil_scoped_release release;
             return encode_input(t.model, in, t.max_atoms);
           })
      .def("encode_many",
           [](const PyMolStrucTok& t, const std::vector<MolInput>& items, int threads) {
             return run_items(items.size(), threads,
                              [&](std::size_t i) { return encode_input(t.model, items[i], t.max_atoms); });
           })
      .def("encode_file",
           [](const PyMolStrucTok& t, const std::string& path, int threads) {
             std::vector<mol3d::MolRecord> records;
             {
               py::gil_scoped_release release;
               records = file_records(path, t.max_atoms);
             }
             return run_items(records.size(), threads, [&](std::size_t i) {
               const mol3d::MolRecord& r = records[i];
               if (!r.ok()) throw InputError(r.error);
               try {
                 return encoding_of(t.model, r);
               } catch (const std::exception& e) {
                 throw InputError(r.where() + ": " + e.what());
               }
             });
           })
      .def("encode_file_lines",
           [](const PyMolStrucTok& t, const std::string& path, int threads) {
             // bmx.dask's workers: per record (record number, the JSON line or "", the error or ""), without a
             // Python object per field.
             std::vector<std::tuple<int, std::string, std::string>> out;
             py::gil_scoped_release release;
             std::vector<mol3d::MolRecord> records = file_records(path, t.max_atoms);
             out.resize(records.size());
             parallel_for(records.size(), thread_count(threads), [&](std::size_t i) {
               const mol3d::MolRecord& r = records[i];
               std::get<0>(out[i]) = r.index;
               if (!r.ok()) {
                 std::get<2>(out[i]) = r.error;
                 return;
               }
               try {
                 std::get<1>(out[i]) = app::mol_encode_json(r, t.model.encode(*r.mol)).dump();
               } catch (const std::exception& e) {
                 std::get<2>(out[i]) = r.where() + ": " + e.what();
               }
             });
             return out;
           })
      .def("decode",
           [](const PyMolStrucTok& t, const std::string& tokens, const std::optional<std::string>& refine, int max_iters,
              const std::string& name) {
             std::optional<forcefield::RefineOptions> ro;
             if (refine) {
               ro.emplace();
               ro->force_field = forcefield::parse_force_field(*refine);
               ro->max_iters = max_iters;
               ro->max_atoms = t.max_atoms;
             }
             py::gil_scoped_release release;
             try {
               const auto d = app::mol_decode_record(t.model, tokens, name, "tokens", {}, t.max_atoms, ro);
               return std::make_pair(d.record, d.note);
             } catch (const InputError& e) {
               throw InputError(std::string("tokens: ") + e.what());  // the place, as the command line names it
             }
           },
           py::arg("tokens"), py::arg("refine"), py::arg("max_iters"), py::arg("name"));
}

}  // namespace bmx::python
