// The Qwen2/Qwen3 pre-tokenizer split, hand-written instead of run through a regex engine.
// It reproduces, match for match, Oniguruma's leftmost-first search of
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
//
// with Split behaviour "Isolated". Every position starts a match of some alternative, so the
// text is cut into consecutive pieces with no gaps. Case-insensitive contractions follow
// Unicode case folding, so "'ſ" (long s, which folds to 's') is a contraction as it is in the
// reference.
#ifndef SEAMLESS_CORE_TOKENIZER_QWEN_PRETOKENIZER_H_
#define SEAMLESS_CORE_TOKENIZER_QWEN_PRETOKENIZER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace seamless {

// The exact pattern string of tokenizer.json this scanner implements.
extern const char kQwenSplitPattern[];

// The end (a byte offset) of the piece that starts at `pos` (< text.size()).
size_t QwenPieceEnd(absl::string_view text, size_t pos);

// All pieces of `text`, for tests and tools.
std::vector<std::string> QwenPreTokenize(absl::string_view text);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TOKENIZER_QWEN_PRETOKENIZER_H_
