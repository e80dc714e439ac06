#include "selfies_derivation.h"

#include <algorithm>
#include <string_view>

#include "selfies_alphabet.h"

namespace bmx::selfies::detail {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char stereo_of(char c) { return (c == '/' || c == '\\') ? c : char(0); }

int order_of(char c) { return c == '=' ? 2 : c == '#' ? 3 : 1; }

// "[Branch1]", "[=Branch2]", "[#Branch3]".
bool parse_branch(std::string_view s, Symbol& out) {
  size_t k = 1;
  if (s.size() < 3) return false;
  if (s[k] == '=' || s[k] == '#') out.order = order_of(s[k++]);
  if (s.substr(k).size() != 8 || s.substr(k, 6) != "Branch" || s[k + 6] < '1' || s[k + 6] > '3' || s[k + 7] != ']')
    return false;
  out.length = s[k + 6] - '0';
  out.kind = SymbolKind::branch;
  return true;
}

// "[RingL]", "[=RingL]", "[#RingL]", and the stereo forms "[xyRingL]" with x, y in - / \ (not both -).
bool parse_ring(std::string_view s, Symbol& out) {
  const size_t n = s.size();
  if (n < 7 || s.substr(n - 6, 4) != "Ring" || s[n - 2] < '1' || s[n - 2] > '3') return false;
  const std::string_view prefix = s.substr(1, n - 7);
  auto stereo_char = [](char c) { return c == '-' || c == '/' || c == '\\'; };
  if (prefix.empty()) {
  } else if (prefix.size() == 1 && (prefix[0] == '=' || prefix[0] == '#')) {
    out.order = order_of(prefix[0]);
  } else if (prefix.size() == 2 && stereo_char(prefix[0]) && stereo_char(prefix[1]) && prefix != "--") {
    out.stereo = stereo_of(prefix[0]);
    out.stereo2 = stereo_of(prefix[1]);
  } else {
    return false;
  }
  out.length = s[n - 2] - '0';
  out.kind = SymbolKind::ring;
  return true;
}

// selfies' SELFIES_ATOM_PATTERN: [ bond? isotope? Element chirality? (H digit)? ([+-][1-9]+)? ]
bool parse_atom(std::string_view s, Symbol& out) {
  const size_t n = s.size();
  if (n < 3 || s[0] != '[' || s[n - 1] != ']') return false;
  const size_t end = n - 1;
  size_t k = 1;
  char bond = 0;
  if (s[k] == '=' || s[k] == '#' || s[k] == '/' || s[k] == '\\') bond = s[k++];
  const size_t body = k;
  Atom& a = out.atom;
  size_t d = k;
  while (d < end && is_digit(s[d])) ++d;
  const size_t iso_digits = d - k;
  if (iso_digits > 6) return false;
  int isotope = -1;
  if (iso_digits) {
    isotope = 0;
    for (; k < d; ++k) isotope = isotope * 10 + (s[k] - '0');
  }
  if (k >= end || s[k] < 'A' || s[k] > 'Z') return false;
  const size_t e0 = k++;
  if (k < end && s[k] >= 'a' && s[k] <= 'z') ++k;
  const std::string_view element = s.substr(e0, k - e0);
  int chirality = 0;
  if (k < end && s[k] == '@') {
    chirality = 1;
    if (++k < end && s[k] == '@') chirality = 2, ++k;
  }
  int h_count = 0;
  if (k < end && s[k] == 'H') {
    if (k + 1 >= end || !is_digit(s[k + 1])) return false;
    h_count = s[k + 1] - '0';
    k += 2;
  }
  int charge = 0;
  if (k < end && (s[k] == '+' || s[k] == '-')) {
    const char sign = s[k++];
    const size_t c0 = k;
    while (k < end && s[k] >= '1' && s[k] <= '9') ++k;
    if (k == c0 || k - c0 > 6) return false;  // counted before summing: 7+ digits would overflow an int
    for (size_t j = c0; j < k; ++j) charge = charge * 10 + (s[j] - '0');
    if (sign == '-') charge = -charge;
  }
  if (k != end) return false;

  out.order = order_of(bond);
  out.stereo = stereo_of(bond);
  a.element[0] = element[0];
  a.element[1] = element.size() > 1 ? element[1] : 0;
  if (detail::is_organic_subset(s.substr(body, end - body))) {
    a.capacity = detail::default_capacity(element, 0);
  } else {
    if (!detail::is_element(element)) return false;
    a.isotope = isotope;
    a.chirality = chirality;
    a.h_count = h_count;
    a.charge = charge;
    a.capacity = detail::default_capacity(element, charge) - h_count;
    if (a.capacity < 0) return false;  // e.g. [CH5]
  }
  out.kind = SymbolKind::atom;
  return true;
}

}  // namespace

Symbol classify(std::string_view s) {
  Symbol out;
  const size_t n = s.size();
  const size_t a = n >= 4 ? n - 4 : 0, b = n >= 2 ? n - 2 : 0;
  const std::string_view tag = b > a ? s.substr(a, b - a) : std::string_view();
  if (tag == "ch") {
    if (!parse_branch(s, out)) out.kind = SymbolKind::invalid;
  } else if (tag == "ng") {
    if (!parse_ring(s, out)) out.kind = SymbolKind::invalid;
  } else if (s.find("eps") != std::string_view::npos) {
    out.kind = SymbolKind::epsilon;
  } else if (!parse_atom(s, out)) {
    out.kind = SymbolKind::invalid;
  }
  return out;
}


void Derivation::start_fragment() {
  frames_.assign(1, {INT64_MAX, 0, 0, -1});
  pending_ = 0;
  fragment_atoms_ = 0;
}

bool Derivation::stopped() const {
  int64_t used = 0;
  return pending_ == 0 && active_frame(&used) == 0 && frames_[0].state < 0;
}

std::size_t Derivation::active_frame(int64_t* used) const {
  // A branch whose budget is spent hands its count to the branch around it, which may then be spent too.
  std::size_t k = frames_.size() - 1;
  int64_t u = frames_[k].used;
  while (k > 0 && u >= frames_[k].max) {
    --k;
    u += frames_[k].used;
  }
  *used = u;
  return k;
}

void Derivation::close_exhausted() {
  while (frames_.size() > 1 && frames_.back().used >= frames_.back().max) {
    const int64_t used = frames_.back().used;
    frames_.pop_back();
    frames_.back().used += used;
  }
}

Role Derivation::role_in(const Frame& fr, std::string_view text, const Symbol& s) const {
  if (fr.state < 0) return Role::skipped;
  switch (s.kind) {
    case SymbolKind::invalid: return Role::invalid;
    case SymbolKind::branch: return fr.state <= 1 ? Role::ignored : Role::branch;
    case SymbolKind::ring: return fr.state == 0 ? Role::ignored : Role::ring;
    case SymbolKind::epsilon: return Role::ignored;
    case SymbolKind::atom:
      // An atom of capacity 0 after a bonded atom is not added; the chain stops there.
      return fr.state != 0 && s.atom.capacity == 0 ? Role::ignored : Role::atom;
  }
  return Role::invalid;
}

Role Derivation::role_of(std::string_view text, const Symbol& s) const {
  if (text == "[nop]") return Role::nop;
  if (pending_ > 0) return Role::index;
  int64_t used = 0;
  return role_in(frames_[active_frame(&used)], text, s);
}

Step Derivation::feed(std::string_view text, const Symbol& s) {
  Step step;
  if (text == "[nop]") return step;
  if (pending_ > 0) {
    step.role = Role::index;
    index_value_ = index_value_ * 16 + index_value(text);
    if (--pending_ == 0) {
      if (pending_is_ring_) {
        step.ring = pending_ring_;
        step.ring->left = std::max(0, pending_prev_ - (index_value_ + 1));
      } else {
        frames_.push_back({int64_t(index_value_) + 1, 0, branch_init_, pending_prev_});
      }
    }
    return step;
  }
  close_exhausted();
  Frame& fr = frames_.back();
  ++fr.used;
  step.role = role_in(fr, text, s);
  const int state = fr.state;
  switch (step.role) {
    case Role::branch:
      branch_init_ = std::min(state - 1, s.order);
      fr.state = state - branch_init_;
      break;
    case Role::ring: {
      const int order = std::min(s.order, state);
      fr.state = state - order == 0 ? -1 : state - order;
      pending_ring_ = {0, fr.prev, order, s.stereo, s.stereo2};
      break;
    }
    case Role::ignored:
      if (s.kind == SymbolKind::epsilon) fr.state = state == 0 ? 0 : -1;
      if (s.kind == SymbolKind::atom) fr.state = -1, fr.prev = -1;
      break;
    case Role::atom: {
      const int cap = s.atom.capacity;
      const int order = state == 0 ? 0 : std::min({s.order, state, cap});
      fr.state = cap - order == 0 ? -1 : cap - order;
      step.atom = atoms_++;
      ++fragment_atoms_;
      step.bonded_to = order > 0 ? fr.prev : -1;
      step.bond_order = order;
      fr.prev = step.atom;
      break;
    }
    default:
      break;
  }
  if (step.role == Role::branch || step.role == Role::ring) {
    // Index symbols are read at once whatever the branch budget; they count against this frame.
    pending_ = s.length;
    index_value_ = 0;
    pending_is_ring_ = step.role == Role::ring;
    pending_prev_ = fr.prev;
    fr.used += s.length;
  }
  return step;
}

std::optional<RingBond> Derivation::finish_fragment() {
  if (pending_ == 0 || !pending_is_ring_) {
    pending_ = 0;
    return std::nullopt;
  }
  for (; pending_ > 0; --pending_) index_value_ *= 16;
  RingBond r = pending_ring_;
  r.left = std::max(0, pending_prev_ - (index_value_ + 1));
  return r;
}

}  // namespace bmx::selfies::detail
