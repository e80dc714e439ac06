// Backbone chains to PDB or mmCIF files through gemmi. Residue names come from the residues' names or, failing
// that, their one-letter codes (X is UNK); chain ids and author numbering are kept. Missing carbonyl O (and, on
// request, CB) atoms are placed by ideal geometry so that DSSP and viewers accept the file. Coordinates that are
// not finite are refused: NaN is never written.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "bmx/prot3d/backbone.h"
#include "bmx/prot3d/structure_format.h"

namespace bmx::prot3d {

struct WriteOptions {
  StructureFormat format = StructureFormat::from_extension;
  bool add_oxygen = true;     // O of every residue: the chain's own O where known, else ideal geometry
  bool add_cb = false;        // ideal CB on every residue except glycine
  bool observed_only = false; // leave out imputed positions
  std::string title;          // written as a TITLE / _struct.title when not empty
};

// The format `path` is written in: `requested` unless it is from_extension; then .pdb/.ent is PDB, .cif/.mmcif is
// mmCIF (any case), stdout ("-" or "") is PDB, and any other name is an InputError naming the path and --format
// (a decoded chain written as PDB under "x.xyz" is a file no reader of that name understands).
StructureFormat output_format(const std::string& path, StructureFormat requested);

// Writes all chains into one model through bmx::OutputFile: an output that is one of `inputs` is refused, the file
// is written to a temporary and renamed into place, and write errors (a full disk) are InputErrors naming the
// path; a refused structure leaves no file. Throws InputError on non-finite coordinates, a duplicate chain name,
// an unknown extension (output_format), or PDB coordinates wider than its columns (see backbones_to_string).
void write_backbones(const std::string& path, const std::vector<BackboneChain>& chains, const WriteOptions& options = {},
                     const std::vector<std::string>& inputs = {});
// The same text to a stream the caller owns (from_extension writes PDB).
void write_backbones(std::ostream& out, const std::vector<BackboneChain>& chains, StructureFormat format,
                     const WriteOptions& options = {});
// PDB output refuses a coordinate outside -999.999..9999.999 (its 8-character columns would run together) with a
// message naming chain, residue and atom and pointing to mmCIF; mmCIF has no width limit. bmx does not switch
// format behind the user's back: the file keeps the name and format asked for, or is not written.
std::string backbones_to_string(const std::vector<BackboneChain>& chains, StructureFormat format,
                                const WriteOptions& options = {});

// Three-letter residue name for a one-letter code (the 20 standard; B ASX, Z GLX, U SEC, O PYL; else UNK).
std::string three_letter_code(char one_letter);

// Ideal-geometry atoms from N, CA, C: the carbonyl O (from the next residue's N when there is one, else trans to N)
// and the CB of an L-amino acid.
Vec3 ideal_oxygen(const Vec3& n, const Vec3& ca, const Vec3& c, const Vec3* next_n);
Vec3 ideal_cb(const Vec3& n, const Vec3& ca, const Vec3& c);

}  // namespace bmx::prot3d
