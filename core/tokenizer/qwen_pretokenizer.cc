#include "core/tokenizer/qwen_pretokenizer.h"

#include "core/tokenizer/unicode.h"

namespace seamless {

const char kQwenSplitPattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

namespace {

using unicode::CharClass;

// Class per ASCII byte: the hot path never touches the Unicode tables for ASCII.
struct AsciiClasses {
  CharClass c[128];
  constexpr AsciiClasses() : c() {
    for (int i = 0; i < 128; ++i) {
      if ((i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z')) {
        c[i] = unicode::kLetter;
      } else if (i >= '0' && i <= '9') {
        c[i] = unicode::kNumber;
      } else if (i == ' ' || (i >= 0x09 && i <= 0x0d)) {
        c[i] = unicode::kSpace;
      } else {
        c[i] = unicode::kOther;
      }
    }
  }
};
constexpr AsciiClasses kAscii;

struct Char {
  CharClass cls;
  uint32_t len;
};

inline Char At(const unsigned char* p, const unsigned char* end) {
  if (*p < 0x80) return {kAscii.c[*p], 1};
  const unicode::Decoded d = unicode::DecodeUtf8(p, end);
  if (d.cp == unicode::kInvalid) return {unicode::kOther, 1};
  return {unicode::ClassOf(d.cp), d.len};
}

inline const unsigned char* SkipClass(const unsigned char* p, const unsigned char* end,
                                      CharClass cls) {
  while (p < end) {
    if (*p < 0x80) {
      if (kAscii.c[*p] != cls) break;
      ++p;
      continue;
    }
    const Char c = At(p, end);
    if (c.cls != cls) break;
    p += c.len;
  }
  return p;
}

inline bool IsCrLf(unsigned char b) { return b == '\r' || b == '\n'; }
inline unsigned char Lower(unsigned char b) { return b | 0x20; }

// Length of a case-insensitive contraction after the apostrophe at p[0], or 0.
size_t Contraction(const unsigned char* p, const unsigned char* end) {
  const ptrdiff_t left = end - p;
  if (left < 2) return 0;
  const unsigned char c1 = Lower(p[1]);
  // U+017F LATIN SMALL LETTER LONG S case-folds to 's'.
  if (p[1] == 0xc5 && left >= 3 && p[2] == 0xbf) return 3;
  if (p[1] >= 0x80) return 0;
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (left >= 3 && p[2] < 0x80) {
    const unsigned char c2 = Lower(p[2]);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
      return 3;
    }
  }
  return 0;
}

}  // namespace

size_t QwenPieceEnd(absl::string_view text, size_t pos) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const auto* p = begin + pos;

  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (*p == '\'') {
    if (size_t n = Contraction(p, end)) return pos + n;
  }
  const Char c0 = At(p, end);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.cls == unicode::kLetter) return SkipClass(p, end, unicode::kLetter) - begin;
  if (c0.cls != unicode::kNumber && !IsCrLf(*p) && p + c0.len < end &&
      At(p + c0.len, end).cls == unicode::kLetter) {
    return SkipClass(p + c0.len, end, unicode::kLetter) - begin;
  }
  // \p{N}
  if (c0.cls == unicode::kNumber) return pos + c0.len;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  {
    const unsigned char* q = p;
    if (*q == ' ' && q + 1 < end) ++q;
    if (q < end && At(q, end).cls == unicode::kOther) {
      q = SkipClass(q, end, unicode::kOther);
      while (q < end && IsCrLf(*q)) ++q;
      return q - begin;
    }
  }
  // Only whitespace is left here. Find its run, the last CR/LF in it and its last character.
  const unsigned char* q = p;
  const unsigned char* last_newline = nullptr;
  const unsigned char* last_char = p;
  while (q < end) {
    const Char c = At(q, end);
    if (c.cls != unicode::kSpace) break;
    if (IsCrLf(*q)) last_newline = q;
    last_char = q;
    q += c.len;
  }
  // \s*[\r\n]+ : up to and including the run's last CR/LF.
  if (last_newline != nullptr) return last_newline + 1 - begin;
  // \s+(?!\S) : the whole run at the end of the text, else all but its last character;
  // \s+ : a single whitespace character before a non-space one.
  if (q == end || last_char == p) return q - begin;
  return last_char - begin;
}

std::vector<std::string> QwenPreTokenize(absl::string_view text) {
  std::vector<std::string> pieces;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = QwenPieceEnd(text, pos);
    pieces.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}

}  // namespace seamless
