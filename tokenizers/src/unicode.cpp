#include "unicode.h"

#include <algorithm>
#include <vector>

#include "unicode_tables.h"

namespace bmx::unicode {
namespace ud = bmx::unicode_data;

namespace {

// Direct tables for the Basic Multilingual Plane, binary search above it.
struct BmpTables {
  std::vector<uint8_t> cls = std::vector<uint8_t>(0x10000, 0);
  std::vector<uint8_t> nfc_relevant = std::vector<uint8_t>(0x10000, 0);
  BmpTables() {
    for (int i = 0; i < ud::class_range_count; ++i)
      for (uint32_t cp = ud::class_ranges[i].first; cp <= ud::class_ranges[i].last && cp < 0x10000; ++cp)
        cls[cp] = ud::class_ranges[i].cls;
    for (int i = 0; i < ud::nfc_relevant_count; ++i)
      for (uint32_t cp = ud::nfc_relevant_ranges[i].first; cp <= ud::nfc_relevant_ranges[i].last && cp < 0x10000;
           ++cp)
        nfc_relevant[cp] = 1;
  }
};
const BmpTables& bmp() {
  static const BmpTables t;
  return t;
}

template <typename R>
const R* find_range(const R* table, int count, uint32_t cp) {
  const R* end = table + count;
  const R* it = std::upper_bound(table, end, cp, [](uint32_t c, const R& r) { return c < r.first; });
  if (it == table) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

uint8_t ccc(uint32_t cp) {
  if (cp < 0x300) return 0;
  const auto* r = find_range(ud::ccc_ranges, ud::ccc_range_count, cp);
  return r ? r->ccc : 0;
}

constexpr uint32_t SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
constexpr uint32_t LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= SBase && cp < SBase + SCount) {
    uint32_t s = cp - SBase;
    out.push_back(LBase + s / NCount);
    out.push_back(VBase + (s % NCount) / TCount);
    if (s % TCount) out.push_back(TBase + s % TCount);
    return;
  }
  const auto* end = ud::decompositions + ud::decomposition_count;
  const auto* it = std::lower_bound(ud::decompositions, end, cp,
                                    [](const ud::Decomposition& d, uint32_t c) { return d.cp < c; });
  if (it != end && it->cp == cp) {
    out.insert(out.end(), ud::decomp_pool + it->offset, ud::decomp_pool + it->offset + it->length);
    return;
  }
  out.push_back(cp);
}

// 0 when the pair does not compose.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
    return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
  if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
    return a + (b - TBase);
  const auto* end = ud::compositions + ud::composition_count;
  const auto* it = std::lower_bound(ud::compositions, end, std::make_pair(a, b),
                                    [](const ud::Composition& c, const std::pair<uint32_t, uint32_t>& k) {
                                      return c.first != k.first ? c.first < k.first : c.second < k.second;
                                    });
  if (it != end && it->first == a && it->second == b) return it->composed;
  return 0;
}

}  // namespace

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

Class char_class(uint32_t cp) {
  if (cp < 0x10000) return Class(bmp().cls[cp]);
  const auto* r = find_range(ud::class_ranges, ud::class_range_count, cp);
  return r ? Class(r->cls) : Other;
}

bool is_whitespace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20;
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool may_change_under_nfc(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, n = s.size();
  while (i < n) {
    if (p[i] < 0xCC) {  // below U+0300 nothing decomposes, combines or composes as a second element
      ++i;
      continue;
    }
    uint32_t cp = next_cp(s, i);
    if (cp < 0x10000 ? bmp().nfc_relevant[cp] != 0
                     : find_range(ud::nfc_relevant_ranges, ud::nfc_relevant_count, cp) != nullptr)
      return true;
  }
  return false;
}

std::string nfc(std::string_view s) {
  if (!may_change_under_nfc(s)) return std::string(s);
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) decompose(next_cp(s, i), cps);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (ccc(cps[i]) == 0) { ++i; continue; }
    size_t j = i;
    while (j < cps.size() && ccc(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j, [](uint32_t a, uint32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  size_t starter = SIZE_MAX;  // index in out of the last starter
  int last_ccc = -1;          // ccc of the last character appended after the starter (-1: none)
  for (uint32_t cp : cps) {
    int c = ccc(cp);
    if (starter != SIZE_MAX) {
      bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= c);
      if (!blocked) {
        if (uint32_t composed = compose(out[starter], cp)) {
          out[starter] = composed;
          continue;
        }
      }
    }
    if (c == 0) {
      starter = out.size();
      last_ccc = -1;
    } else {
      last_ccc = c;
    }
    out.push_back(cp);
  }
  std::string result;
  result.reserve(s.size());
  for (uint32_t cp : out) append_utf8(result, cp);
  return result;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0, n = bytes.size();
  static const char replacement[] = "\xEF\xBF\xBD";
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) { out += char(c); ++i; continue; }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      out += replacement;
      ++i;
      continue;
    }
    size_t j = i + 1, k = 0;
    for (; k < need && j < n; ++k, ++j) {
      unsigned char b = p[j];
      if (k == 0 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) break;
    }
    if (k == need) {
      out.append(bytes.data() + i, need + 1);
    } else {
      out += replacement;  // the valid prefix i..j is one maximal invalid subsequence
    }
    i = j;
  }
  return out;
}

}  // namespace bmx::unicode
