// bmx.GcpVqvae: protein structures <-> GCP-VQVAE structure tokens, with the records of `bmx prot encode`
// (apps/encode_records.h). Coordinates cross as numpy arrays (tokens x 3 atoms x 3, in Å).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "bmx/core/util/error.h"
#include "bmx/prot3d/decode_pieces.h"
#include "bmx/prot3d/gcp_vqvae.h"
#include "bmx/prot3d/structure_reader.h"
#include "bmx/prot3d/structure_writer.h"
#include "bmx/prot3d/token_text.h"
#include "bmx/prot3d/write_token_records.h"
#include "encode_records.h"
#include "structure_models.h"

namespace py = pybind11;

namespace bmx::python {
namespace {

using namespace bmx::prot3d;

struct ProtEncoding {
  TokenRecord record;
  std::vector<int> positions;
  std::vector<double> coords;  // N, CA, C of each tokenized residue as the model saw them (9 per token)
  std::string json;
};

struct ProtDecoding {
  std::vector<int> tokens;
  std::string sequence;
  std::vector<double> coords;  // 9 per token
  std::string pdb, mmcif;
  int pieces = 1;
};

py::array_t<double> backbone_array(const std::vector<double>& c) {
  return py::array_t<double>({py::ssize_t(c.size() / 9), py::ssize_t(3), py::ssize_t(3)}, c.data());
}

struct PyGcpVqvae {
  explicit PyGcpVqvae(const std::optional<std::string>& dir) : model(GcpVqvae::load(app::gcp_vqvae_dir(dir.value_or("")))) {}
  GcpVqvae model;
};

// Every chain of `path` as `bmx prot encode` reads it: the encodings of the accepted chains in file order, and one
// line for each chain that gave none (the reader's or the model's reason; chains without protein are left out).
std::pair<std::vector<ProtEncoding>, std::vector<std::pair<std::string, std::string>>> encode_path(const GcpVqvae& model, const std::string& path,
                                                                         const std::string& chain, bool window,
                                                                         int overlap) {
  ReadOptions ro;
  ro.chain = chain;
  if (window) ro.limits.max_len = 0;
  const StructureChains sc = read_protein_chains(path, ro);
  EncodeOptions eo;
  eo.window = window;
  eo.window_overlap = overlap;
  std::vector<ProtEncoding> out;
  std::vector<std::pair<std::string, std::string>> skipped;  // chain label, message
  for (const ChainResult& c : sc.chains) {
    const std::string place = path + " chain " + chain_label(c.chain) + ": ";
    if (c.status == ChainStatus::not_protein) continue;
    if (c.status != ChainStatus::ok) {
      skipped.emplace_back(chain_label(c.chain), place + "skipped: " + c.message);
      continue;
    }
    try {
      ProtEncoding e;
      const Encoding enc = model.encode(c.backbone, eo);
      e.record = app::prot_chain_record(path, c, enc);
      e.positions = enc.positions;
      for (int p : enc.positions)
        for (const Vec3& a : c.backbone.coords.at(std::size_t(p))) e.coords.insert(e.coords.end(), a.begin(), a.end());
      e.json = token_record_json(e.record);
      out.push_back(std::move(e));
    } catch (const std::exception& e) {
      skipped.emplace_back(chain_label(c.chain), place + e.what());
    }
  }
  return {std::move(out), std::move(skipped)};
}

ProtDecoding decode_tokens(const GcpVqvae& model, const std::vector<int>& tokens, const std::string& sequence,
                           const std::string& chain, int overlap) {
  ProtDecoding out;
  TokenRecord r;
  r.id = "decoded";
  r.chain = chain;
  r.tokens = tokens;
  if (!sequence.empty()) r.sequence = parse_aa_sequence(sequence, "sequence");
  if (tokens.empty()) throw InputError("tokens: no structure tokens");
  for (int t : tokens)
    if (t < 0 || t >= model.codebook_size())
      throw InputError("tokens: code " + std::to_string(t) + " outside 0.." + std::to_string(model.codebook_size() - 1));
  const PiecewiseDecoding d = decode_in_pieces(model, tokens, overlap);
  const BackboneChain bb = decoded_chain(r, d.decoding);
  out.tokens = tokens;
  out.sequence = bb.sequence();
  out.pieces = d.pieces;
  for (const auto& res : d.decoding.n_ca_c)
    for (const Vec3& a : res) out.coords.insert(out.coords.end(), a.begin(), a.end());
  out.pdb = backbones_to_string({bb}, StructureFormat::pdb);
  out.mmcif = backbones_to_string({bb}, StructureFormat::mmcif);
  return out;
}

}  // namespace

void add_prot(py::module_& m) {
  py::class_<ProtEncoding>(m, "ProtEncoding", "One protein chain as GCP-VQVAE structure tokens (a JSON line of "
                                              "`bmx prot encode`)")
      .def_property_readonly("id", [](const ProtEncoding& e) { return e.record.id; })
      .def_property_readonly("chain", [](const ProtEncoding& e) { return e.record.chain; })
      .def_property_readonly("file", [](const ProtEncoding& e) { return e.record.file; })
      .def_property_readonly("sequence", [](const ProtEncoding& e) { return e.record.sequence; })
      .def_property_readonly("tokens",
                             [](const ProtEncoding& e) { return py::array_t<int>(e.record.tokens.size(), e.record.tokens.data()); })
      .def_property_readonly("positions", [](const ProtEncoding& e) { return py::array_t<int>(e.positions.size(), e.positions.data()); })
      .def_property_readonly("residues", [](const ProtEncoding& e) {
        std::vector<std::string> ids;
        for (const auto& r : e.record.residues) ids.push_back(to_string(r));
        return ids;
      })
      .def_property_readonly("n_ca_c", [](const ProtEncoding& e) { return backbone_array(e.coords); })
      .def_property_readonly("struct_tokens", [](const ProtEncoding& e) { return format_struct_segment(e.record.tokens); })
      .def_property_readonly("windows", [](const ProtEncoding& e) { return e.record.windows; })
      .def_property_readonly("notes", [](const ProtEncoding& e) { return e.record.notes; })
      .def("to_json", [](const ProtEncoding& e) { return e.json; }, "The JSON line `bmx prot encode` writes")
      .def("__repr__", [](const ProtEncoding& e) {
        return "<ProtEncoding " + e.record.id + " chain " + chain_label(e.record.chain) + ": " +
               std::to_string(e.record.tokens.size()) + " tokens>";
      });

  py::class_<ProtDecoding>(m, "ProtDecoding", "Backbone decoded from structure tokens")
      .def_property_readonly("tokens", [](const ProtDecoding& d) { return py::array_t<int>(d.tokens.size(), d.tokens.data()); })
      .def_readonly("sequence", &ProtDecoding::sequence)
      .def_property_readonly("n_ca_c", [](const ProtDecoding& d) { return backbone_array(d.coords); })
      .def_readonly("pdb", &ProtDecoding::pdb)
      .def_readonly("mmcif", &ProtDecoding::mmcif)
      .def_readonly("pieces", &ProtDecoding::pieces)
      .def("__repr__", [](const ProtDecoding& d) { return "<ProtDecoding " + std::to_string(d.tokens.size()) + " residues>"; });

  py::class_<PyGcpVqvae>(m, "_GcpVqvae")
      .def(py::init<const std::optional<std::string>&>(), py::arg("model_dir"))
      .def_property_readonly("max_length", [](const PyGcpVqvae& g) { return g.model.max_length(); })
      .def_property_readonly("codebook_size", [](const PyGcpVqvae& g) { return g.model.codebook_size(); })
      .def("encode",
           [](const PyGcpVqvae& g, const std::string& path, const std::string& chain, bool window, int overlap) {
             py::gil_scoped_release release;
             return encode_path(g.model, path, chain, window, overlap);
           },
           py::arg("path"), py::arg("chain"), py::arg("window"), py::arg("overlap"))
      .def("parse_tokens",
           [](const PyGcpVqvae& g, const std::string& text) {
             return parse_struct_tokens(text, int(g.model.codebook_size()), "tokens");
           })
      .def("decode",
           [](const PyGcpVqvae& g, const std::vector<int>& tokens, const std::string& sequence, const std::string& chain,
              int overlap) {
             py::gil_scoped_release release;
             return decode_tokens(g.model, tokens, sequence, chain, overlap);
           },
           py::arg("tokens"), py::arg("sequence"), py::arg("chain"), py::arg("overlap"));
}

}  // namespace bmx::python
