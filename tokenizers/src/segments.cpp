#include "bmx/tokenizers/segments.h"

#include <cstring>
#include <set>

#include "unicode.h"

namespace bmx {
namespace {

// What content analysis found, before it becomes problems in the README's order.
struct Flags {
  bool unclosed = false, nested_start = false, mismatched_end = false;
  bool foreign_token = false, code_out_of_range = false;
};

// SMILES has no added tokens: only characters outside the alphabet are foreign, reported as their sorted set
// (code points, so a non-ASCII character is one entry; UTF-8 byte order is code point order).
void check_smiles(Segment& s, Flags& f) {
  std::set<std::string> bad;
  const std::string_view c = s.content;
  for (std::size_t i = 0; i < c.size();) {
    const std::size_t at = i;
    if (static_cast<unsigned char>(c[i]) < 0x80) {
      ++i;
      if (is_smiles_char(c[at])) continue;
    } else {
      unicode::next_cp(c, i);
    }
    bad.emplace(c.substr(at, i - at));
  }
  s.foreign.assign(bad.begin(), bad.end());
  f.foreign_token = !bad.empty();
}

// The other modalities: tokens matched greedily left to right, the maximal runs between them are foreign.
void check_tokens(Segment& s, Flags& f) {
  const std::string_view c = s.content;
  std::vector<std::string>& tokens = s.tokens.emplace();
  std::size_t run = 0;  // start of the current foreign run
  auto flush = [&](std::size_t at) {
    if (at > run) s.foreign.emplace_back(c.substr(run, at - run));
  };
  for (std::size_t i = 0; i < c.size();) {
    std::size_t length = 0;
    switch (s.modality) {
      case Modality::selfies:
        if ((length = match_selfies_symbol(c, i)) > 0) s.selfies.append(c.substr(i, length));
        break;
      case Modality::mol3d:
        if (auto t = match_mol3d_token(c, i)) {
          length = t->length;
          s.selfies.append("[").append(t->symbol).append("]");
          s.codes.push_back(t->code);
          s.n_atoms += t->code >= 0;
          f.code_out_of_range |= !t->in_range;
        }
        break;
      case Modality::prot_aa:
        if (auto letter = match_residue_token(c, i)) {
          length = 5;
          s.sequence += *letter;
        }
        break;
      case Modality::prot3d:
        if (auto t = match_structure_token(c, i)) {
          length = t->length;
          s.codes.push_back(t->code);
          f.code_out_of_range |= !t->in_range;
        }
        break;
      case Modality::smiles:
        break;
    }
    if (length == 0) {
      ++i;
      continue;
    }
    flush(i);
    tokens.emplace_back(c.substr(i, length));
    i += length;
    run = i;
  }
  flush(c.size());
  f.foreign_token = !s.foreign.empty();
}

Segment close_segment(std::string_view answer, Modality m, std::size_t start, std::size_t content_start,
                      std::size_t content_end, std::size_t end, Flags f) {
  Segment s;
  s.modality = m;
  s.start = start;
  s.end = end;
  s.content_start = content_start;
  s.content_end = content_end;
  s.content = std::string(answer.substr(content_start, content_end - content_start));
  if (m == Modality::smiles)
    check_smiles(s, f);
  else
    check_tokens(s, f);
  using P = SegmentProblem;
  if (f.unclosed) s.problems.push_back(P::unclosed);
  if (f.nested_start) s.problems.push_back(P::nested_start);
  if (f.mismatched_end) s.problems.push_back(P::mismatched_end);
  if (s.content.empty()) s.problems.push_back(P::empty);
  if (f.foreign_token) s.problems.push_back(P::foreign_token);
  if (f.code_out_of_range) s.problems.push_back(P::code_out_of_range);
  return s;
}

}  // namespace

const char* to_string(SegmentProblem p) {
  switch (p) {
    case SegmentProblem::unclosed: return "unclosed";
    case SegmentProblem::nested_start: return "nested_start";
    case SegmentProblem::mismatched_end: return "mismatched_end";
    case SegmentProblem::empty: return "empty";
    case SegmentProblem::foreign_token: return "foreign_token";
    case SegmentProblem::code_out_of_range: return "code_out_of_range";
  }
  return "?";
}

ParsedAnswer parse_answer(std::string_view answer) {
  ParsedAnswer out;
  struct Open {
    Modality modality;
    std::size_t start, content_start;
  };
  std::optional<Open> open;
  // Ends the open segment (if any) with its content up to `content_end` and its text up to `end`.
  auto close = [&](std::size_t content_end, std::size_t end, const Flags& f) {
    if (!open) return;
    out.segments.push_back(close_segment(answer, open->modality, open->start, open->content_start, content_end, end, f));
    open.reset();
  };
  Flags unclosed;
  unclosed.unclosed = true;
  Flags nested = unclosed;
  nested.nested_start = true;

  const std::size_t n = answer.size();
  std::size_t pos = 0;
  while (pos < n) {
    // Every marker and terminator starts with '<'.
    const void* lt = std::memchr(answer.data() + pos, '<', n - pos);
    if (!lt) break;
    pos = static_cast<std::size_t>(static_cast<const char*>(lt) - answer.data());
    if (auto m = start_marker_at(answer, pos)) {
      close(pos, pos, nested);  // segments never nest: the new marker opens the next one
      const std::size_t length = start_marker(*m).size();
      open = Open{*m, pos, pos + length};
      pos += length;
    } else if (auto m = end_marker_at(answer, pos)) {
      const std::size_t length = end_marker(*m).size();
      if (open) {
        Flags f;
        f.mismatched_end = *m != open->modality;
        close(pos, pos + length, f);
      } else {
        out.stray_markers.push_back({std::string(end_marker(*m)), pos, pos + length});
      }
      pos += length;
    } else if (std::size_t length = terminator_at(answer, pos)) {
      close(pos, pos, unclosed);
      pos += length;
    } else {
      ++pos;
    }
  }
  close(n, n, unclosed);
  return out;
}

}  // namespace bmx
