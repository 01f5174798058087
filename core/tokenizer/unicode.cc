#include "core/tokenizer/unicode.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace seamless {
namespace unicode {
namespace internal {

struct DecompEntry {
  uint32_t cp;
  uint32_t offset;
  uint32_t length;
};
struct CompEntry {
  uint64_t key;  // first << 21 | second
  uint32_t composite;
};

#include "core/tokenizer/unicode_tables.inc"

}  // namespace internal

namespace {

using internal::kComp;
using internal::kDecomp;
using internal::kDecompPool;

// Hangul syllables decompose and compose algorithmically (Unicode §3.12).
constexpr uint32_t kSBase = 0xac00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11a7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void Decompose(uint32_t cp, std::vector<uint32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = kDecomp + sizeof(kDecomp) / sizeof(kDecomp[0]);
  const auto* it = std::lower_bound(
      kDecomp, end, cp, [](const internal::DecompEntry& e, uint32_t c) { return e.cp < c; });
  if (it != end && it->cp == cp) {
    out->insert(out->end(), kDecompPool + it->offset, kDecompPool + it->offset + it->length);
  } else {
    out->push_back(cp);
  }
}

// The primary composite of (a, b), or 0.
uint32_t Compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  if (a >= (1u << 21) || b >= (1u << 21)) return 0;
  const uint64_t key = (uint64_t(a) << 21) | b;
  const auto* end = kComp + sizeof(kComp) / sizeof(kComp[0]);
  const auto* it = std::lower_bound(
      kComp, end, key, [](const internal::CompEntry& e, uint64_t k) { return e.key < k; });
  return (it != end && it->key == key) ? it->composite : 0;
}

// Combining class, with invalid bytes (carried as kInvalid - byte) as starters.
uint8_t Ccc(uint32_t cp) { return cp >= 0x110000 ? 0 : CombiningClass(cp); }

}  // namespace

const char* TablesVersion() { return internal::kUnicodeVersion; }

uint8_t CombiningClass(uint32_t cp) {
  if (cp >= 0x110000) return 0;
  return internal::kCccStage2[(uint32_t(internal::kCccStage1[cp >> 8]) << 8) | (cp & 0xff)];
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xc0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xe0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(char(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(char(0xf0 | (cp >> 18)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(char(0x80 | (cp & 0x3f)));
  }
}

bool IsNfcQuick(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  uint8_t last_ccc = 0;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      last_ccc = 0;
      continue;
    }
    const Decoded d = DecodeUtf8(p, end);
    p += d.len;
    if (d.cp == kInvalid) {
      last_ccc = 0;
      continue;
    }
    if (internal::Props(d.cp) & internal::kNfcMaybeBit) return false;
    const uint8_t ccc = CombiningClass(d.cp);
    if (ccc != 0 && ccc < last_ccc) return false;
    last_ccc = ccc;
  }
  return true;
}

void AppendNfc(absl::string_view text, std::string* out) {
  // Decompose (invalid bytes travel as 0x80000000 | byte), reorder, recompose.
  constexpr uint32_t kByteTag = 0x80000000u;
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const Decoded d = DecodeUtf8(p, end);
    if (d.cp == kInvalid) {
      cps.push_back(kByteTag | *p);
    } else {
      Decompose(d.cp, &cps);
    }
    p += d.len;
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (Ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && Ccc(cps[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(cps.begin() + i, cps.begin() + j,
                       [](uint32_t a, uint32_t b) { return Ccc(a) < Ccc(b); });
    }
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> composed;
  composed.reserve(cps.size());
  ptrdiff_t starter = -1;
  uint8_t last_ccc = 0;
  for (uint32_t cp : cps) {
    const uint8_t ccc = Ccc(cp);
    if (starter >= 0 && !(cp & kByteTag) && !(composed[starter] & kByteTag)) {
      const bool adjacent = ptrdiff_t(composed.size()) - 1 == starter;
      const bool blocked = !adjacent && (last_ccc == 0 || last_ccc >= ccc);
      if (!blocked) {
        const uint32_t c = Compose(composed[starter], cp);
        if (c != 0) {
          composed[starter] = c;
          continue;
        }
      }
    }
    if (ccc == 0) starter = ptrdiff_t(composed.size());
    composed.push_back(cp);
    last_ccc = ccc;
  }
  for (uint32_t cp : composed) {
    if (cp & kByteTag) {
      out->push_back(char(cp & 0xff));
    } else {
      AppendUtf8(cp, out);
    }
  }
}

void AppendUtf8Lossy(absl::string_view bytes, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    const Decoded d = DecodeUtf8(p, end);
    if (d.cp != kInvalid) {
      out->append(reinterpret_cast<const char*>(p), d.len);
      p += d.len;
      continue;
    }
    // The maximal subpart of a well-formed sequence becomes one U+FFFD (Unicode §3.9, what
    // Rust's Utf8Chunks does): the lead byte plus each continuation byte that is still allowed.
    const unsigned b0 = p[0];
    size_t need = 0;
    unsigned lo = 0x80, hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 == 0xe0) lo = 0xa0;
      if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 == 0xf0) lo = 0x90;
      if (b0 == 0xf4) hi = 0x8f;
    }
    size_t n = 1;
    for (size_t k = 0; k < need && p + n < end; ++k) {
      const unsigned b = p[n];
      if (b < lo || b > hi) break;
      lo = 0x80;
      hi = 0xbf;
      ++n;
    }
    out->append("\xef\xbf\xbd");
    p += n;
  }
}

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const Decoded d = DecodeUtf8(p, end);
    if (d.cp == kInvalid) return false;
    p += d.len;
  }
  return true;
}

}  // namespace unicode
}  // namespace seamless
