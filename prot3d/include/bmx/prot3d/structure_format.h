// The two text formats of a protein structure file, for reading and for writing alike.
#pragma once

namespace bmx::prot3d {

// from_extension: a .cif/.mmcif path is mmCIF, anything else PDB; reading also looks through .gz and takes text
// that starts with "data_" as mmCIF.
enum class StructureFormat { from_extension, pdb, mmcif };

}  // namespace bmx::prot3d
