// The modality grammar as a per-row decoding rule. Outside segments the answer is free text, except that end
// markers never stand alone and the answer cannot end before the segments its task asks for. Inside a segment a
// character-level automaton of the modality's tokens (with the SELFIES derivation for selfies and mol3d) is
// walked together with the vocabulary trie, so one pass finds every token that keeps the segment valid.
#include "bmx/tokenizers/modality_constraint.h"

#include <algorithm>
#include <climits>
#include <deque>
#include <limits>

#include "modality_vocabulary.h"

namespace bmx {

namespace {

using selfies::detail::Derivation;
using selfies::detail::Role;

enum class Phase : uint8_t {
  between,  // before a token (or before the end marker)
  lt,       // "<"            (prot)
  tag,      // "<S" / "<A"    (prot)
  space,    // "<S " / "<A " (prot); mol3d: "[SYM " of an atom, a code digit comes next
  digits,   // prot3d / mol3d: at least one code digit
  close,    // the closing '>' or ']' comes next
  symbol,   // selfies / mol3d: inside "[SYM"
  minus,    // mol3d: "[SYM " of a symbol without an atom: "-1]" comes next
  one,      // mol3d: "[SYM -"
};

struct Cursor {
  Phase phase = Phase::between;
  bool index_trie = false;   // symbol phase: the symbol must spell a branch/ring length
  int32_t node = 0;          // symbol phase: node of the symbol trie
  int32_t value = 0;         // code digits read
  int32_t symbol = -1;       // mol3d: the symbol before its code
  int32_t unfed = -1;        // a symbol completed but not yet fed to the derivation (fed lazily)
  bool unfed_index_trie = false;
  int32_t count = 0;         // modality tokens completed in this segment
  const Derivation* der = nullptr;
};

class ModalityConstraint final : public TokenConstraint {
 public:
  ModalityConstraint(std::shared_ptr<const ModalityVocabulary> v, const AnswerConstraint& a)
      : v_(std::move(v)),
        required_(a.required),
        done_(a.required.size(), false),
        max_lead_in_(a.max_lead_in),
        structure_codebook_(std::clamp(a.structure_codebook, 1, kProt3dCodebookSize)) {}

  void mask(std::vector<float>& scores, int64_t remaining) override {
    if (finished_) return;
    if (in_segment_ && !broken_) {
      mask_segment(scores, remaining);
    } else {
      mask_text(scores, remaining);
    }
  }

  void accept(TokenId id) override {
    if (finished_) return;
    const auto start = modality_of(v_->start_id, id), end = modality_of(v_->end_id, id);
    const bool terminator = std::find(v_->end_of_answer.begin(), v_->end_of_answer.end(), id) != v_->end_of_answer.end();
    if (in_segment_) {
      if (end || start || terminator) {
        if (end && *end == modality_ && !broken_ && closable(cur_) && requirement_ >= 0) done_[size_t(requirement_)] = true;
        in_segment_ = false;
      } else if (!broken_) {
        for (char c : text_of(id))
          if (!advance(cur_, c)) {
            broken_ = true;  // only after --no-constrain-like misuse: stop guiding this segment
            break;
          }
        settle();
      }
    }
    if (in_segment_) return;
    if (start) {
      open(*start);
    } else if (terminator) {
      finished_ = true;
    } else if (!end) {
      ++lead_in_;
    }
  }

 private:
  static std::optional<Modality> modality_of(const std::array<TokenId, kModalityCount>& ids, TokenId id) {
    for (int m = 0; m < kModalityCount; ++m)
      if (ids[size_t(m)] == id) return Modality(m);
    return std::nullopt;
  }
  const std::string& text_of(TokenId id) const {
    static const std::string none;
    return id >= 0 && id < int64_t(v_->texts.size()) ? v_->texts[size_t(id)] : none;
  }

  void open(Modality m) {
    in_segment_ = true;
    broken_ = false;
    modality_ = m;
    requirement_ = pending_requirement(m);
    length_ = requirement_ >= 0 && required_[size_t(requirement_)].length ? *required_[size_t(requirement_)].length : -1;
    der_ = Derivation();
    cur_ = Cursor{};
    cur_.der = &der_;
  }

  int pending_requirement(Modality m) const {
    for (size_t k = 0; k < required_.size(); ++k)
      if (!done_[k] && required_[k].modality == m) return int(k);
    return -1;
  }

  const SymbolTrie& trie(bool index) const { return index ? v_->index_symbols : v_->all_symbols; }

  // Feeds a completed symbol to a copy of the derivation (the copy lives until the next mask/accept).
  void feed_unfed(Cursor& c) {
    if (c.unfed < 0) return;
    const auto& e = trie(c.unfed_index_trie).symbols[size_t(c.unfed)];
    Derivation& d = arena_.emplace_back(*c.der);
    d.feed(e.text, e.symbol);
    c.der = &d;
    c.unfed = -1;
  }

  // The accepted state owns its derivation.
  void settle() {
    feed_unfed(cur_);
    if (cur_.der != &der_) der_ = *cur_.der;
    cur_.der = &der_;
    arena_.clear();
  }

  void complete_symbol(Cursor& c, int32_t symbol, bool index_trie) {
    c.unfed = symbol;
    c.unfed_index_trie = index_trie;
    c.phase = Phase::between;
    ++c.count;
  }

  // One character of segment content; false when no valid segment continues with it.
  bool advance(Cursor& c, char ch) {
    feed_unfed(c);
    const bool room = length_ < 0 || c.count < length_;
    switch (modality_) {
      case Modality::prot3d:
      case Modality::prot_aa: {
        const char tag = modality_ == Modality::prot3d ? 'S' : 'A';
        switch (c.phase) {
          case Phase::between: return ch == '<' && room && (c.phase = Phase::lt, true);
          case Phase::lt: return ch == tag && (c.phase = Phase::tag, true);
          case Phase::tag: return ch == ' ' && (c.phase = Phase::space, true);
          case Phase::space:
            if (modality_ == Modality::prot_aa) return ch >= 'A' && ch <= 'Z' && (c.phase = Phase::close, true);
            if (ch < '0' || ch > '9') return false;
            c.value = ch - '0';
            c.phase = Phase::digits;
            return c.value < structure_codebook_;
          case Phase::digits:
            if (ch == '>') return c.phase = Phase::between, ++c.count, true;
            if (ch < '0' || ch > '9' || c.value == 0) return false;  // no leading zeros
            c.value = c.value * 10 + (ch - '0');
            return c.value < structure_codebook_;
          case Phase::close: return ch == '>' && (c.phase = Phase::between, ++c.count, true);
          default: return false;
        }
      }
      case Modality::selfies:
      case Modality::mol3d: {
        const bool mol3d = modality_ == Modality::mol3d;
        switch (c.phase) {
          case Phase::between:
            if (ch != '[' || c.der->stopped()) return false;
            c.phase = Phase::symbol;
            c.index_trie = c.der->pending_index() > 0;
            c.node = 0;
            return true;
          case Phase::symbol: {
            const SymbolTrie& t = trie(c.index_trie);
            if (ch == (mol3d ? ' ' : ']')) {
              const int32_t s = t.nodes[size_t(c.node)].symbol;
              if (s < 0) return false;
              const auto& e = t.symbols[size_t(s)];
              const Role role = c.der->role_of(e.text, e.symbol);
              if (role == Role::invalid || role == Role::nop) return false;
              if (!mol3d) return complete_symbol(c, s, c.index_trie), true;
              c.symbol = s;
              c.phase = role == Role::atom ? Phase::space : Phase::minus;
              return true;
            }
            c.node = t.step(c.node, ch);
            return c.node >= 0;
          }
          case Phase::minus: return ch == '-' && (c.phase = Phase::one, true);
          case Phase::one: return ch == '1' && (c.phase = Phase::close, true);
          case Phase::space:
            if (ch < '0' || ch > '9') return false;
            c.value = ch - '0';
            c.phase = Phase::digits;
            return true;
          case Phase::digits:
            if (ch == ']') return complete_symbol(c, c.symbol, c.index_trie), true;
            if (ch < '0' || ch > '9' || c.value == 0) return false;
            c.value = c.value * 10 + (ch - '0');
            return c.value <= kMol3dMaxCode;
          case Phase::close: return ch == ']' && (complete_symbol(c, c.symbol, c.index_trie), true);
          default: return false;
        }
      }
      case Modality::smiles:
        if (!is_smiles_char(ch)) return false;
        c.count = 1;
        return true;
    }
    return false;
  }

  // Derivation counts after the lazily fed symbol.
  void derivation_after(const Cursor& c, int* pending, int* atoms) const {
    *pending = c.der->pending_index();
    *atoms = c.der->fragment_atoms();
    if (c.unfed < 0) return;
    const auto& e = trie(c.unfed_index_trie).symbols[size_t(c.unfed)];
    const Role role = c.der->role_of(e.text, e.symbol);
    if (*pending > 0) {
      --*pending;
    } else if (role == Role::branch || role == Role::ring) {
      *pending = e.symbol.length;
    }
    if (role == Role::atom) ++*atoms;
  }

  // Fewest tokens that finish the segment from `c`, its end marker included (an upper bound that each
  // character of the cheapest completion lowers by one, so a segment that fits the budget always can go on).
  int64_t finish_cost(const Cursor& c, Modality m, int length) const {
    const bool mid = c.phase != Phase::between;
    int64_t partial = 0;
    switch (c.phase) {
      case Phase::between: break;
      case Phase::lt: partial = 4; break;
      case Phase::tag: partial = 3; break;
      case Phase::space: partial = 2; break;
      case Phase::digits: partial = 1; break;
      case Phase::close: partial = 1; break;
      case Phase::minus: partial = 3; break;
      case Phase::one: partial = 2; break;
      case Phase::symbol:
        // The symbol's rest, then "]" (selfies) or a code and "]" (mol3d: " -1]" at most).
        partial = trie(c.index_trie).min_rest[size_t(c.node)] + (m == Modality::mol3d ? 4 : 1);
        break;
    }
    int64_t content = 0;
    switch (m) {
      case Modality::prot3d:
      case Modality::prot_aa: {
        const int per = m == Modality::prot3d ? v_->cost_structure : v_->cost_residue;
        const int64_t after = c.count + (mid ? 1 : 0);
        content = length >= 0 ? std::max<int64_t>(length - after, 0) * per : (after == 0 ? per : 0);
        break;
      }
      case Modality::smiles: content = c.count == 0 ? 1 : 0; break;
      case Modality::selfies:
      case Modality::mol3d: {
        const bool mol3d = m == Modality::mol3d;
        int pending = 0, atoms = 0;
        if (c.der) derivation_after(c, &pending, &atoms);
        const int index = mol3d ? v_->cost_mol3d_index : v_->cost_selfies_index;
        const int atom = mol3d ? v_->cost_mol3d_atom : v_->cost_selfies_atom;
        // A symbol being written may turn out to be a branch or ring that needs up to 3 length symbols.
        content = int64_t(pending + (c.phase == Phase::symbol ? 3 : 0)) * index + (atoms == 0 ? atom : 0);
        break;
      }
    }
    return partial + content + 1;
  }

  // Tokens the required segments not yet written need (start marker, content, end marker), except `skip`.
  int64_t others_cost(int skip) const {
    int64_t total = 0;
    for (size_t k = 0; k < required_.size(); ++k) {
      if (done_[k] || int(k) == skip) continue;
      Cursor fresh;
      const int length = required_[k].length ? *required_[k].length : -1;
      total += 1 + finish_cost(fresh, required_[k].modality, length);
    }
    return total;
  }

  bool closable(const Cursor& c) const {
    if (c.phase != Phase::between) return false;
    if (length_ >= 0 && c.count != length_) return false;
    if (modality_ == Modality::selfies || modality_ == Modality::mol3d) {
      int pending = 0, atoms = 0;
      derivation_after(c, &pending, &atoms);
      return pending == 0 && atoms > 0;
    }
    return c.count > 0;
  }

  void collect(int32_t node, const Cursor& c, int64_t budget, std::vector<int32_t>& out) {
    const auto& nodes = v_->trie.nodes;
    for (int32_t k = nodes[size_t(node)].first_child; k >= 0; k = nodes[size_t(k)].next_sibling) {
      Cursor n = c;
      if (!advance(n, char(nodes[size_t(k)].byte))) continue;
      if (nodes[size_t(k)].token >= 0 && finish_cost(n, modality_, length_) <= budget) out.push_back(nodes[size_t(k)].token);
      if (nodes[size_t(k)].first_child >= 0) collect(k, n, budget, out);
    }
  }

  static void keep_only(std::vector<float>& scores, const std::vector<int32_t>& allowed) {
    std::vector<float> kept(allowed.size());
    for (size_t k = 0; k < allowed.size(); ++k) kept[k] = scores[size_t(allowed[k])];
    std::fill(scores.begin(), scores.end(), -std::numeric_limits<float>::infinity());
    for (size_t k = 0; k < allowed.size(); ++k) scores[size_t(allowed[k])] = kept[k];
  }

  void mask_segment(std::vector<float>& scores, int64_t remaining) {
    const int64_t others = others_cost(requirement_);
    const int64_t limit = int64_t(scores.size());
    // After this token: `remaining - 1` tokens for the rest of the segment and the other requirements.
    const int64_t budget = remaining - 1 - others;
    allowed_.clear();
    auto gather = [&](int64_t b) {
      if (modality_ == Modality::smiles) {
        if (b >= 1)
          for (int32_t id : v_->smiles_tokens) allowed_.push_back(id);
      } else {
        collect(0, cur_, b, allowed_);
        arena_.clear();
      }
      if (closable(cur_) && b >= 0) allowed_.push_back(int32_t(v_->end_id[size_t(modality_)]));
    };
    gather(budget);
    if (allowed_.empty()) gather(INT64_MAX / 4);  // the budget cannot be met: keep the segment valid at least
    allowed_.erase(std::remove_if(allowed_.begin(), allowed_.end(), [&](int32_t id) { return id >= limit; }),
                   allowed_.end());
    if (allowed_.empty()) return;  // nothing in range: leave the scores (cannot happen with a BioMatrix vocabulary)
    keep_only(scores, allowed_);
  }

  void mask_text(std::vector<float>& scores, int64_t remaining) {
    const float ninf = -std::numeric_limits<float>::infinity();
    const int64_t limit = int64_t(scores.size());
    auto set = [&](int64_t id, float x) {
      if (id >= 0 && id < limit) scores[size_t(id)] = x;
    };
    for (int64_t id : v_->end_id) set(id, ninf);  // an end marker outside a segment is always an error
    const int64_t all = others_cost(-1);
    if (all == 0) {  // nothing required (any more): free text; a segment opens only where it can also close
      for (int m = 0; m < kModalityCount; ++m)
        if (1 + finish_cost(Cursor{}, Modality(m), -1) > remaining) set(v_->start_id[size_t(m)], ninf);
      return;
    }
    // Something is still required: the answer may not end, and it must leave room to write what it needs.
    for (int64_t id : v_->end_of_answer) set(id, ninf);
    std::array<bool, kModalityCount> open_ok{};
    bool any = false;
    for (int m = 0; m < kModalityCount; ++m) {
      const int r = pending_requirement(Modality(m));
      const int length = r >= 0 && required_[size_t(r)].length ? *required_[size_t(r)].length : -1;
      const int64_t need = 1 + finish_cost(Cursor{}, Modality(m), length) + (r >= 0 ? others_cost(r) : all);
      open_ok[size_t(m)] = need <= remaining && (r >= 0 || lead_in_ < max_lead_in_);
      any |= open_ok[size_t(m)] && r >= 0;
    }
    const bool text_ok = remaining - 1 >= all && lead_in_ < max_lead_in_;
    if (!text_ok && !any)  // out of room: open what is required anyway and write as much as fits
      for (int m = 0; m < kModalityCount; ++m) open_ok[size_t(m)] = pending_requirement(Modality(m)) >= 0;
    if (text_ok) {
      for (int m = 0; m < kModalityCount; ++m)
        if (!open_ok[size_t(m)]) set(v_->start_id[size_t(m)], ninf);
      return;
    }
    allowed_.clear();
    for (int m = 0; m < kModalityCount; ++m)
      if (open_ok[size_t(m)] && v_->start_id[size_t(m)] < limit) allowed_.push_back(int32_t(v_->start_id[size_t(m)]));
    if (!allowed_.empty()) keep_only(scores, allowed_);
  }

  std::shared_ptr<const ModalityVocabulary> v_;
  std::vector<SegmentRequirement> required_;
  std::vector<bool> done_;
  int64_t max_lead_in_ = 0, lead_in_ = 0;
  int structure_codebook_ = kProt3dCodebookSize;
  bool finished_ = false, in_segment_ = false, broken_ = false;
  Modality modality_ = Modality::smiles;
  int requirement_ = -1, length_ = -1;
  Derivation der_;
  Cursor cur_;
  std::deque<Derivation> arena_;
  std::vector<int32_t> allowed_;
};

}  // namespace

std::unique_ptr<TokenConstraint> make_modality_constraint(std::shared_ptr<const ModalityVocabulary> vocabulary,
                                                          const AnswerConstraint& answer) {
  return std::make_unique<ModalityConstraint>(std::move(vocabulary), answer);
}

}  // namespace bmx
