// The Unicode the Hugging Face tokenizer needs, from tables generated into the repository
// (gen_unicode_tables.py -> unicode_tables.inc) rather than from ICU: the pre-tokenizer asks
// one table lookup per character on its hot path, and NFC runs only on text that its quick
// check cannot pass. Invalid UTF-8 is never an error here: each bad byte is a one-byte
// "character" of class kOther that NFC copies through unchanged, so byte-level BPE still
// encodes and decodes it losslessly.
#ifndef SEAMLESS_CORE_TOKENIZER_UNICODE_H_
#define SEAMLESS_CORE_TOKENIZER_UNICODE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace seamless {
namespace unicode {

// The classes of the Qwen pre-tokenizer regex. kSpace is Oniguruma's \s: U+0009-000D, U+0085
// and the Zs, Zl, Zp categories.
enum CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

// The Unicode version of the generated tables.
const char* TablesVersion();

namespace internal {
extern const uint16_t kPropsStage1[];
extern const uint8_t kPropsStage2[];
constexpr uint8_t kNfcMaybeBit = 4;
inline uint8_t Props(uint32_t cp) {
  if (cp >= 0x110000) return 0;
  return kPropsStage2[(uint32_t(kPropsStage1[cp >> 8]) << 8) | (cp & 0xff)];
}
}  // namespace internal

// Stands for one invalid byte in place of a code point.
constexpr uint32_t kInvalid = 0xffffffff;

// Decodes the UTF-8 sequence at p (p < end). Overlong forms, surrogates and values beyond
// U+10FFFF are invalid: {kInvalid, 1}.
struct Decoded {
  uint32_t cp;
  uint32_t len;
};
inline Decoded DecodeUtf8(const unsigned char* p, const unsigned char* end) {
  const unsigned b0 = p[0];
  if (b0 < 0x80) return {b0, 1};
  const ptrdiff_t left = end - p;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    if (left >= 2 && (p[1] & 0xc0) == 0x80) return {((b0 & 0x1fu) << 6) | (p[1] & 0x3fu), 2};
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    if (left >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
      const uint32_t cp = ((b0 & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
      if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) return {cp, 3};
    }
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (left >= 4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80) {
      const uint32_t cp =
          ((b0 & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
      if (cp >= 0x10000 && cp <= 0x10ffff) return {cp, 4};
    }
  }
  return {kInvalid, 1};
}

inline CharClass ClassOf(uint32_t cp) { return static_cast<CharClass>(internal::Props(cp) & 3); }

uint8_t CombiningClass(uint32_t cp);

void AppendUtf8(uint32_t cp, std::string* out);

// True when `text` is certainly in NFC already (the quick check; all ASCII is).
bool IsNfcQuick(absl::string_view text);

// Appends NFC(text) to *out. Invalid bytes are copied through and block composition across
// them, as a starter that composes with nothing would.
void AppendNfc(absl::string_view text, std::string* out);

// Appends `bytes` with every maximal invalid UTF-8 subsequence replaced by U+FFFD, exactly as
// Rust's String::from_utf8_lossy (which the reference decoder uses).
void AppendUtf8Lossy(absl::string_view bytes, std::string* out);

bool IsValidUtf8(absl::string_view text);

}  // namespace unicode
}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_UNICODE_H_
