// The one translation unit that compiles gemmi's (non-inline) PDB and mmCIF writers. No other file of bmx may
// define GEMMI_WRITE_IMPLEMENTATION, or the bmx executable gets duplicate symbols.
#define GEMMI_WRITE_IMPLEMENTATION
#include <gemmi/to_mmcif.hpp>
#include <gemmi/to_pdb.hpp>
