// Finds the final answer in a model's math response: the last `\boxed{...}` (nested braces
// allowed), else the text after the last answer marker ("####", "Answer:", ...).
#ifndef SEAMLESS_REWARD_ANSWER_EXTRACTION_H_
#define SEAMLESS_REWARD_ANSWER_EXTRACTION_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seamless {

// Answers longer than this are treated as garbage: no real final answer is a page long, and
// bounding it keeps normalisation and evaluation cheap on adversarial input.
inline constexpr size_t kMaxAnswerChars = 1000;

// The argument of the last `\boxed{...}` or `\fbox{...}` in `text` (also `\boxed 5`), or
// nullopt when there is none or its braces do not balance. Linear in the text length.
// `*found` (optional) tells whether a box command was present at all.
std::optional<std::string_view> ExtractBoxed(std::string_view text, bool* found = nullptr);

// The rest of the line after the last occurrence of any of `markers` (trimmed, a final '.'
// and surrounding `$` dropped), or nullopt.
std::optional<std::string_view> ExtractAfterMarker(std::string_view text,
                                                   const std::vector<std::string>& markers);

// Boxed first; markers only when there is no box command (a broken last box is no answer,
// not a reason to look elsewhere). Empty or over-long results are nullopt.
std::optional<std::string_view> ExtractFinalAnswer(std::string_view text,
                                                   const std::vector<std::string>& markers);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_ANSWER_EXTRACTION_H_
