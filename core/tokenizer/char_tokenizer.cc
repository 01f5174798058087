#include "core/tokenizer/char_tokenizer.h"

#include "absl/strings/str_cat.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {

std::string CharTokenizer::DefaultAlphabet() {
  std::string alphabet = "\n\t";
  for (char c = ' '; c <= '~'; ++c) alphabet.push_back(c);
  return alphabet;
}

CharTokenizer::CharTokenizer(std::string alphabet) : alphabet_(std::move(alphabet)) {
  id_of_byte_.fill(-1);
  for (size_t i = 0; i < alphabet_.size(); ++i) {
    id_of_byte_[static_cast<uint8_t>(alphabet_[i])] = kFirstChar + static_cast<int32_t>(i);
  }
}

absl::StatusOr<std::vector<int32_t>> CharTokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int32_t id = id_of_byte_[static_cast<uint8_t>(text[i])];
    if (id < 0) {
      return absl::InvalidArgumentError(absl::StrCat("character tokenizer: byte 0x",
                                                     absl::Hex(static_cast<uint8_t>(text[i])),
                                                     " at offset ", i, " is not in its alphabet"));
    }
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<std::string> CharTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id >= kFirstChar && id < vocab_size()) {
      text.push_back(alphabet_[id - kFirstChar]);
    } else if (id == kBos || id == kEos || id == kPad) {
      continue;  // special tokens have no text
    } else {
      return absl::InvalidArgumentError(absl::StrCat("character tokenizer: id ", id, " at index ",
                                                     i, " is outside [0, ", vocab_size(), ")"));
    }
  }
  return text;
}

std::string CharTokenizer::ToJson() const {
  nlohmann::json j = {{"type", "seamless_char"}, {"alphabet", alphabet_}};
  return j.dump(2) + "\n";
}

absl::StatusOr<CharTokenizer> CharTokenizer::FromJson(const std::string& json_text,
                                                      const std::string& file) {
  RETURN_IF_ERROR(Annotate(CheckJsonLimits(json_text), file));
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": not a JSON object"));
  }
  if (!j.contains("type") || j["type"] != "seamless_char") {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": field 'type' must be \"seamless_char\""));
  }
  if (!j.contains("alphabet") || !j["alphabet"].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": missing string field 'alphabet'"));
  }
  std::string alphabet = j["alphabet"].get<std::string>();
  std::array<bool, 256> seen{};
  for (size_t i = 0; i < alphabet.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(alphabet[i]);
    if (c >= 0x80 || seen[c]) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": field 'alphabet': character ", i, " is non-ASCII or repeated"));
    }
    seen[c] = true;
  }
  return CharTokenizer(std::move(alphabet));
}

}  // namespace seamless
