// Structure files as task inputs (bmx run --structure/--molecule, and the `bmx` extension of bmx serve, which writes
// a request's text to a private file first): the file tokenized into the InputValue a task preset takes.
#pragma once
#include <string>

#include "bmx/tokenizers/tasks.h"

namespace bmx::mol3d {
class MolStrucTok;
}
namespace bmx::prot3d {
class GcpVqvae;
}

namespace bmx::app {

// GCP-VQVAE codes of the first protein chain of a PDB/mmCIF file (or `chain`) and their residue letters; InputError
// naming the file and why each chain gave none.
InputValue structure_input(const std::string& path, const std::string& chain, const prot3d::GcpVqvae& gcp);
// MolStrucTok tokens of the first molecule of a file (SDF/MOL/MOL2/XYZ, 3D); a note on stderr when the file holds more
// and `note_extra`.
InputValue molecule_input(const std::string& path, const mol3d::MolStrucTok& molstructok, bool note_extra = true);

}  // namespace bmx::app
