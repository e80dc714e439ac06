#include "smiles_graph.h"

#include <algorithm>
#include <cstdlib>

#include "bmx/core/util/error.h"
#include "selfies_alphabet.h"

namespace bmx::selfies::detail {

void Graph::clear() {
  atoms.clear();
  bonds.clear();
  out.clear();
  n_out.clear();
  bond_count.clear();
  roots.clear();
}

int Graph::add_atom(const Atom& atom, bool root) {
  const int index = static_cast<int>(atoms.size());
  atoms.push_back(atom);
  out.emplace_back();
  n_out.push_back(0);
  bond_count.push_back(0);
  if (root) roots.push_back(index);
  return index;
}

bool Graph::insert_out(int atom, int bond, int pos) {
  auto& list = out[atom];
  const int count = n_out[atom];
  if (pos < 0 || pos == count) {
    if (count == kMaxOut) return false;
    list[count] = bond;
    n_out[atom] = static_cast<unsigned char>(count + 1);
  } else if (list[pos] == -1) {
    list[pos] = bond;
  } else {
    if (count == kMaxOut) return false;
    std::copy_backward(list.begin() + pos, list.begin() + count, list.begin() + count + 1);
    list[pos] = bond;
    n_out[atom] = static_cast<unsigned char>(count + 1);
  }
  return true;
}

bool Graph::add_bond(int src, int dst, int order, char stereo) {
  const int b = static_cast<int>(bonds.size());
  bonds.push_back({src, dst, order, stereo, false, -1});
  if (!insert_out(src, b, -1)) return false;
  bond_count[src] += order;
  bond_count[dst] += order;
  return true;
}

bool Graph::add_ring_bond(int a, int b, int order, char a_stereo, char b_stereo, int a_pos, int b_pos) {
  const int ab = static_cast<int>(bonds.size());
  bonds.push_back({a, b, order, a_stereo, true, ab + 1});
  bonds.push_back({b, a, order, b_stereo, true, ab});
  if (!insert_out(a, ab, a_pos) || !insert_out(b, ab + 1, b_pos)) return false;
  bond_count[a] += order;
  bond_count[b] += order;
  return true;
}

int Graph::find_bond(int a, int b) const {
  // Chain bonds are stored from their lower-index atom, ring bonds from both: scan the lower atom.
  const int lo = std::min(a, b), hi = std::max(a, b);
  for (int k = 0; k < n_out[lo]; ++k) {
    const int bond = out[lo][k];
    if (bond >= 0 && bonds[bond].dst == hi) return bond;
  }
  return -1;
}

void Graph::set_order(int bond, int order) {
  Bond& b = bonds[bond];
  const int delta = order - b.order;
  b.order = order;
  if (b.partner >= 0) bonds[b.partner].order = order;
  bond_count[b.src] += delta;
  bond_count[b.dst] += delta;
}

namespace {

void append_int(int v, std::string& out) {
  char buf[12];
  int n = 0;
  unsigned u = v < 0 ? 0u - static_cast<unsigned>(v) : static_cast<unsigned>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) out += '-';
  while (n) out += buf[--n];
}

void append_bond_char(const Bond& b, std::string& out) {
  if (b.order == 2) out += '=';
  else if (b.order == 3) out += '#';
  else if (b.stereo) out += b.stereo;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || is_lower(c); }

// Lower-case symbols selfies' SMILES reader treats as aromatic (its AROMATIC_SUBSET).
bool is_aromatic_symbol(std::string_view s) {
  static constexpr std::string_view kAromatic[] = {"b", "al", "c", "si", "n", "p", "as", "o", "s", "se", "te"};
  for (auto a : kAromatic)
    if (a == s) return true;
  return false;
}

[[noreturn]] void fail_at(std::string_view smiles, size_t pos, const std::string& problem) {
  throw InputError("SMILES '" + std::string(smiles) + "': " + problem + " at character " + std::to_string(pos));
}

// Parses "[...]" (selfies' SMILES_BRACKETED_ATOM_PATTERN); false when it does not match.
bool parse_bracket_atom(std::string_view t, Atom& atom, bool& aromatic) {
  size_t i = 1;
  const size_t end = t.size() - 1;  // position of ']'
  auto digits = [&](size_t& k) {
    const size_t start = k;
    while (k < end && is_digit(t[k])) ++k;
    return k - start;
  };
  size_t k = i;
  // At most 6 isotope digits, the limit the SELFIES grammar has (selfies_derivation.cpp): what the encoder
  // writes must decode, and 7+ digits would overflow the int.
  const size_t iso_digits = digits(k);
  if (iso_digits > 6) return false;
  if (iso_digits) {
    atom.isotope = 0;
    for (size_t j = i; j < k; ++j) atom.isotope = atom.isotope * 10 + (t[j] - '0');
  }
  if (k >= end || !is_alpha(t[k])) return false;
  size_t e0 = k++;
  if (k < end && is_lower(t[k])) ++k;
  std::string element(t.substr(e0, k - e0));
  aromatic = is_lower(element[0]) && is_aromatic_symbol(element);
  element[0] = static_cast<char>(element[0] >= 'a' ? element[0] - 'a' + 'A' : element[0]);
  if (!is_element(element)) return false;
  if (k < end && t[k] == '@') {
    atom.chirality = 1;
    if (++k < end && t[k] == '@') atom.chirality = 2, ++k;
  }
  atom.h_count = 0;
  if (k < end && t[k] == 'H') {
    ++k;
    atom.h_count = 1;
    if (k < end && is_digit(t[k])) atom.h_count = t[k++] - '0';
  }
  if (k < end && (t[k] == '+' || t[k] == '-')) {
    const char sign = t[k];
    size_t d = k + 1;
    if (d < end && is_digit(t[d])) {
      size_t d1 = d;
      digits(d1);
      if (d1 - d > 6) return false;
      atom.charge = std::atoi(std::string(t.substr(d, d1 - d)).c_str());
      k = d1;
    } else {
      while (k < end && t[k] == sign) ++k, ++atom.charge;
    }
    // SELFIES writes charges as [+-][1-9]+ (selfies' own grammar): a charge with a 0 digit (+10, "+" x 20) could be
    // written but never read back, so it is refused here, where the position can be named.
    if (std::to_string(atom.charge).find('0') != std::string::npos) return false;
    if (sign == '-') atom.charge = -atom.charge;
  }
  if (k < end && t[k] == ':') {  // atom class: read and dropped, as selfies does
    size_t d = k + 1;
    if (!digits(d)) return false;
    k = d;
  }
  if (k != end) return false;
  atom.element[0] = element[0];
  atom.element[1] = element.size() > 1 ? element[1] : 0;
  return true;
}

}  // namespace

void append_atom_text(const Atom& a, bool brackets, std::string& out) {
  if (a.isotope < 0 && a.chirality == 0 && a.h_count < 0 && a.charge == 0) {
    out += a.element_view();
    return;
  }
  if (brackets) out += '[';
  if (a.isotope >= 0) append_int(a.isotope, out);
  out += a.element_view();
  if (a.chirality) out += a.chirality == 1 ? "@" : "@@";
  if (a.h_count > 0) {
    out += 'H';
    append_int(a.h_count, out);
  } else if (a.h_count == 0 && a.isotope < 0 && a.chirality == 0 && a.charge == 0 &&
             is_organic_subset(a.element_view())) {
    out += "H0";
  }
  if (a.charge) {
    out += a.charge > 0 ? '+' : '-';
    append_int(std::abs(a.charge), out);
  }
  if (brackets) out += ']';
}

void read_smiles(std::string_view s, Graph& g) {
  g.clear();
  if (s.empty()) throw InputError("SMILES is empty");
  struct RingOpen {
    int atom = -1;
    int pos = 0;
    char bond = 0;
    size_t at = 0;
  };
  RingOpen rings[100];
  std::vector<int> prev_stack;
  std::vector<size_t> branch_at;
  const size_t n = s.size();
  size_t i = 0;
  auto bond_order = [](char c) { return c == '=' ? 2 : c == '#' ? 3 : 1; };
  auto stereo_of = [](char c) { return (c == '/' || c == '\\') ? c : char(0); };
  auto too_many_bonds = [&](int atom) {
    fail_at(s, g.atoms[atom].text_pos, "atom has more bonds than SELFIES allows (violates the semantic constraints)");
  };

  while (i < n) {  // one fragment per pass
    const size_t fragment_at = i;
    const size_t first_atom = g.atoms.size();
    prev_stack.assign(1, -1);
    branch_at.clear();
    int open_rings = 0;
    bool chain_start = true;
    while (i < n) {
      if (s[i] == '.') {
        ++i;
        break;
      }
      char bond = 0;
      size_t bond_at = i;
      if (s[i] == '-' || s[i] == '/' || s[i] == '\\' || s[i] == ':' || s[i] == '=' || s[i] == '#') {
        bond = s[i++];
        if (bond == ':') fail_at(s, bond_at, "aromatic bond ':' (SELFIES needs a Kekulé SMILES)");
        if (i == n) fail_at(s, bond_at, "hanging bond");
      }
      const size_t at = i;
      const char c = s[i];
      if (is_alpha(c) || c == '[') {
        Atom atom;
        atom.text_pos = static_cast<int>(at);
        if (c == '[') {
          const size_t close = s.find(']', i + 1);
          if (close == std::string_view::npos) fail_at(s, at, "unclosed '['");
          bool aromatic = false;
          if (!parse_bracket_atom(s.substr(i, close + 1 - i), atom, aromatic))
            fail_at(s, at, "invalid atom '" + std::string(s.substr(i, close + 1 - i)) + "'");
          if (aromatic)
            fail_at(s, at, "aromatic atom '" + std::string(s.substr(i, close + 1 - i)) +
                               "' (SELFIES needs a Kekulé SMILES)");
          i = close + 1;
        } else {
          size_t len = (s.substr(i, 2) == "Br" || s.substr(i, 2) == "Cl") ? 2 : 1;
          std::string_view sym = s.substr(i, len);
          if (!is_organic_subset(sym)) {
            if (is_aromatic_symbol(sym)) fail_at(s, at, "aromatic atom '" + std::string(sym) + "' (SELFIES needs a Kekulé SMILES)");
            fail_at(s, at, "invalid atom symbol '" + std::string(sym) + "'");
          }
          atom.element[0] = sym[0];
          atom.element[1] = len == 2 ? sym[1] : 0;
          i += len;
        }
        atom.capacity = default_capacity(atom.element_view(), atom.charge) - std::max(atom.h_count, 0);
        const int prev = prev_stack.back();
        const int index = g.add_atom(atom, prev < 0);
        if (prev >= 0 && !g.add_bond(prev, index, bond_order(bond), stereo_of(bond))) too_many_bonds(prev);
        prev_stack.back() = index;
        chain_start = false;
        continue;
      }
      if (c != '(' && c != ')' && c != '%' && !is_digit(c))
        fail_at(s, at, std::string("unrecognized character '") + c + "'");
      if (chain_start) fail_at(s, at, "SMILES chain begins with non-atom");
      const int prev = prev_stack.back();
      if (c == '(' || c == ')') {
        if (bond) fail_at(s, bond_at, "hanging bond");
        if (c == '(') {
          branch_at.push_back(at);
          prev_stack.push_back(prev);
          chain_start = true;
        } else {
          if (branch_at.empty()) fail_at(s, at, "hanging ')'");
          branch_at.pop_back();
          prev_stack.pop_back();
        }
        ++i;
        continue;
      }
      int num;
      if (c == '%') {
        if (i + 2 >= n || !is_digit(s[i + 1]) || !is_digit(s[i + 2])) fail_at(s, at, "invalid ring number");
        num = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
        i += 3;
      } else {
        num = c - '0';
        i += 1;
      }
      RingOpen& r = rings[num];
      if (r.atom < 0) {
        if (g.n_out[prev] == kMaxOut) too_many_bonds(prev);
        g.out[prev][g.n_out[prev]] = -1;  // placeholder: the ring bond takes this place in the out-bond order
        r = {prev, g.n_out[prev]++, bond, at};
        ++open_rings;
        continue;
      }
      const int latom = r.atom;
      if (latom == prev) fail_at(s, at, "ring bond from an atom to itself");
      if (g.find_bond(latom, prev) >= 0) fail_at(s, r.at, "ring bond between already-bonded atoms");
      char lb = r.bond, rb = bond;
      const bool ok = !lb || !rb || lb == rb || (stereo_of(lb) && stereo_of(rb));
      if (!ok) fail_at(s, r.at, "mismatched ring bonds");
      if (!g.add_ring_bond(latom, prev, std::max(bond_order(lb), bond_order(rb)), stereo_of(lb), stereo_of(rb),
                           r.pos, -1))
        too_many_bonds(prev);
      r.atom = -1;
      --open_rings;
    }
    if (g.atoms.size() == first_atom) fail_at(s, fragment_at, "empty SMILES fragment");
    if (!branch_at.empty()) fail_at(s, branch_at.back(), "unclosed '('");
    if (open_rings) {
      for (int k = 0; k < 100; ++k)
        if (rings[k].atom >= 0) fail_at(s, rings[k].at, "unclosed ring bond " + std::to_string(k));
    }
  }
}

void write_smiles(const Graph& g, std::string& out) {
  struct Frame {
    int atom;
    int next;
    bool close;
  };
  thread_local std::vector<Frame> stack;
  thread_local std::vector<int> ring_number;
  thread_local std::vector<int> pending;  // ring numbers just closed: reused only from the next atom on
  stack.clear();
  pending.clear();
  ring_number.assign(g.bonds.size(), 0);
  bool in_use[100] = {};
  auto write_atom = [&](int atom) {
    append_atom_text(g.atoms[atom], true, out);
    for (int num : pending) in_use[num] = false;
    pending.clear();
  };
  for (size_t r = 0; r < g.roots.size(); ++r) {
    if (r) out += '.';
    stack.push_back({g.roots[r], 0, false});
    write_atom(g.roots[r]);
    while (!stack.empty()) {
      Frame& f = stack.back();
      const int total = g.n_out[f.atom];
      if (f.next == total) {
        if (f.close) out += ')';
        stack.pop_back();
        continue;
      }
      const int b = g.out[f.atom][f.next++];
      const Bond& bond = g.bonds[b];
      if (bond.ring) {
        append_bond_char(bond, out);
        const int id = std::min(b, bond.partner);
        int num = ring_number[id];
        if (num == 0) {
          num = 1;
          while (num < 100 && in_use[num]) ++num;
          if (num == 100) throw InputError("SMILES writer: more than 99 ring bonds open at once");
          in_use[num] = true;
          ring_number[id] = num;
        } else {
          pending.push_back(num);
        }
        if (num >= 10) out += '%';
        append_int(num, out);
      } else {
        const bool branch = f.next < total;
        if (branch) out += '(';
        append_bond_char(bond, out);
        const int dst = bond.dst;
        stack.push_back({dst, 0, branch});  // f is invalid from here on
        write_atom(dst);
      }
    }
  }
}

}  // namespace bmx::selfies::detail
