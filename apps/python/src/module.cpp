// bmx._bmx: the compiled half of the `bmx` Python package (apps/python/bmx/ holds the Python half). bmx's errors
// become Python exceptions with the same one-line message: InputError (a ValueError: something in the input is
// wrong) and UnsupportedError (a RuntimeError: bmx cannot do what was asked, e.g. a missing model).
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "bmx/core/util/error.h"
#include "bmx/mol3d/molecule_io.h"

namespace py = pybind11;

PYBIND11_MODULE(_bmx, m) {
  m.doc() = "bmx: BioMatrix tokenizers and decoder runtime (compiled part; import bmx instead)";
  static py::exception<bmx::InputError> input_error(m, "InputError", PyExc_ValueError);
  static py::exception<bmx::UnsupportedError> unsupported_error(m, "UnsupportedError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const bmx::InputError& e) {
      input_error(e.what());
    } catch (const bmx::UnsupportedError& e) {
      unsupported_error(e.what());
    }
  });
  bmx::mol3d::silence_rdkit_logs();  // bmx says every problem itself, in the exception's one line
  bmx::python::add_mol(m);
  bmx::python::add_prot(m);
  bmx::python::add_llm(m);
}
