// The SELFIES derivation of selfies v2.2.0, one symbol at a time: which symbols create atoms, which are read
// as branch/ring lengths, which are skipped. The decoder builds its graph from these steps and the constrained
// decoder asks what the next symbol would be, so both follow one implementation of the grammar.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "smiles_graph.h"

namespace bmx::selfies::detail {

enum class SymbolKind { branch, ring, epsilon, atom, invalid };

struct Symbol {
  SymbolKind kind = SymbolKind::invalid;
  int order = 1;        // bond order requested by the symbol
  int length = 0;       // number of index symbols after a branch or ring symbol
  char stereo = 0;      // atom: stereo of the incoming bond; ring: stereo at the earlier atom
  char stereo2 = 0;     // ring: stereo at the later atom
  Atom atom;
};

// Classifies a bracketed symbol ("[=N]") in the order selfies' decoder does (branch, ring, epsilon, atom).
Symbol classify(std::string_view symbol);

// What a symbol did.
enum class Role {
  nop,      // [nop]: left out before the derivation
  atom,     // created an atom
  index,    // read as a digit of a branch or ring length
  branch,   // opened a branch (its index symbols follow)
  ring,     // made a ring bond (its index symbols follow)
  ignored,  // reached but changed no atom: a branch or ring without room, [epsilon], an atom that ended the chain
  skipped,  // after its (sub)derivation stopped: never read
  invalid,  // reached and not a SELFIES symbol
};

struct RingBond {
  int left, right, order;
  char left_stereo, right_stereo;
};

struct Step {
  Role role = Role::nop;
  int atom = -1;        // atom: its index (counted over all fragments)
  int bonded_to = -1;   // atom: the atom it bonds to (-1: starts a chain)
  int bond_order = 0;   // atom: order of that bond
  std::optional<RingBond> ring;  // the ring bond whose last index symbol this was
};

class Derivation {
 public:
  Derivation() { start_fragment(); }
  // A '.' (or the start): a new top-level derivation with no previous atom.
  void start_fragment();
  // Feeds the next symbol of the fragment. `symbol` is classify(text); `text` is needed for [nop] and index values.
  Step feed(std::string_view text, const Symbol& symbol);
  Step feed(std::string_view text) { return feed(text, classify(text)); }
  // The role the next symbol would get, without feeding it.
  Role role_of(std::string_view text, const Symbol& symbol) const;
  // The ring bond of a ring symbol whose index symbols never came (missing digits count 0, as in selfies).
  std::optional<RingBond> finish_fragment();

  int atoms() const { return atoms_; }
  int pending_index() const { return pending_; }          // index symbols still to be read
  bool stopped() const;                                    // every further symbol of the fragment is skipped
  int fragment_atoms() const { return fragment_atoms_; }

 private:
  struct Frame {
    int64_t max;   // symbols this (sub)derivation may consume
    int64_t used;  // symbols consumed so far (index symbols count)
    int state;     // bonds the previous atom may still form; 0 at the start (no atom), -1: stopped
    int prev;      // previous atom, -1: none
  };
  // The frame the next symbol goes to once exhausted branches are closed, and its `used`, without popping.
  std::size_t active_frame(int64_t* used) const;
  void close_exhausted();
  Role role_in(const Frame& fr, std::string_view text, const Symbol& s) const;

  std::vector<Frame> frames_;
  int atoms_ = 0, fragment_atoms_ = 0;
  int pending_ = 0;           // index symbols still to read
  int index_value_ = 0;       // digits read so far
  bool pending_is_ring_ = false;
  int branch_init_ = 0, pending_prev_ = -1;
  RingBond pending_ring_{};
};

}  // namespace bmx::selfies::detail
