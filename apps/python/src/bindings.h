// The pieces of the `bmx._bmx` extension module, one file per area; module.cpp calls each to add its classes.
#pragma once
#include <pybind11/pybind11.h>

namespace bmx::python {

void add_mol(pybind11::module_& m);   // mol.cpp: MolStrucTok, MolEncoding
void add_prot(pybind11::module_& m);  // prot.cpp: GcpVqvae, ProtEncoding, ProtDecoding
void add_llm(pybind11::module_& m);   // llm.cpp: Tokenizer, Model, extract

}  // namespace bmx::python
