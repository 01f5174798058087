#include "core/tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "core/tokenizer/qwen_pretokenizer.h"
#include "core/tokenizer/unicode.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using json = nlohmann::json;

constexpr uint8_t kPresent = 1, kSpecial = 2;
// Ids beyond this are refused: a corrupt file must not make us allocate gigabytes.
constexpr int64_t kMaxId = int64_t{1} << 24;

// GPT-2's byte-to-character map: printable Latin-1 bytes stand for themselves, the other 68
// bytes for U+0100 onwards, so every token is printable text.
struct ByteLevelMap {
  std::array<uint32_t, 256> char_of_byte;
  std::array<int16_t, 0x144> byte_of_char;  // -1: not a byte-level character
  ByteLevelMap() {
    byte_of_char.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
      char_of_byte[b] = printable ? uint32_t(b) : next++;
      byte_of_char[char_of_byte[b]] = int16_t(b);
    }
  }
};
const ByteLevelMap& ByteLevel() {
  static const ByteLevelMap* map = new ByteLevelMap();
  return *map;
}

// What the reference's ByteLevel decoder makes of one token: its byte-level characters mapped
// back to bytes, or, when any character is not one, the token's own UTF-8.
std::string TokenBytes(absl::string_view token, bool* all_byte_level) {
  std::string bytes;
  const auto* p = reinterpret_cast<const unsigned char*>(token.data());
  const auto* end = p + token.size();
  while (p < end) {
    const unicode::Decoded d = unicode::DecodeUtf8(p, end);
    if (d.cp == unicode::kInvalid || d.cp >= 0x144 || ByteLevel().byte_of_char[d.cp] < 0) {
      *all_byte_level = false;
      return std::string(token);
    }
    bytes.push_back(char(ByteLevel().byte_of_char[d.cp]));
    p += d.len;
  }
  *all_byte_level = true;
  return bytes;
}

absl::Status FieldError(const std::string& file, const std::string& field,
                        const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": field '", field, "': ", what));
}

// A bool option that may be absent (then `fallback`).
absl::StatusOr<bool> OptionalBool(const json& obj, const char* key, bool fallback,
                                  const std::string& file, const std::string& path) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) return FieldError(file, path + "." + key, "must be true or false");
  return obj[key].get<bool>();
}

// A string option that must be absent, null or one of `allowed`.
absl::Status RequireString(const json& obj, const char* key, std::vector<std::string> allowed,
                           const std::string& file, const std::string& path) {
  if (!obj.contains(key) || obj[key].is_null()) {
    if (std::find(allowed.begin(), allowed.end(), "") != allowed.end()) return absl::OkStatus();
    return FieldError(file, path + "." + key, "missing");
  }
  const json& v = obj[key];
  if (v.is_string() &&
      std::find(allowed.begin(), allowed.end(), v.get<std::string>()) != allowed.end()) {
    return absl::OkStatus();
  }
  return FieldError(
      file, path + "." + key,
      absl::StrCat("unsupported value ", v.dump(), " (supported: \"", allowed.front(), "\")"));
}

bool IsSpaceAt(absl::string_view text, size_t pos, size_t* len) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const unicode::Decoded d =
      unicode::DecodeUtf8(p, reinterpret_cast<const unsigned char*>(text.data()) + text.size());
  *len = d.len;
  return d.cp != unicode::kInvalid && unicode::ClassOf(d.cp) == unicode::kSpace;
}

}  // namespace

void HfTokenizer::AddedMatcher::Build() {
  std::stable_sort(tokens.begin(), tokens.end(), [](const AddedToken* a, const AddedToken* b) {
    return a->content.size() > b->content.size();
  });
  first_byte.fill(false);
  for (const AddedToken* t : tokens) first_byte[uint8_t(t->content[0])] = true;
  single_first_byte = -1;
  if (!tokens.empty() && std::count(first_byte.begin(), first_byte.end(), true) == 1) {
    single_first_byte = uint8_t(tokens[0]->content[0]);
  }
}

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::Load(const std::string& dir) {
  const std::string tokenizer_file = dir + "/tokenizer.json";
  const std::string config_file = dir + "/tokenizer_config.json";
  ASSIGN_OR_RETURN(std::string tokenizer_json, ReadFileToString(tokenizer_file));
  std::string config_json;
  if (FileExists(config_file)) {
    ASSIGN_OR_RETURN(config_json, ReadFileToString(config_file));
  }
  return FromJson(tokenizer_json, tokenizer_file, config_json, config_file);
}

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::FromJson(
    absl::string_view tokenizer_json, const std::string& tokenizer_file,
    absl::string_view config_json, const std::string& config_file) {
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  RETURN_IF_ERROR(t->Parse(tokenizer_json, tokenizer_file, config_json, config_file));
  return t;
}

absl::Status HfTokenizer::Parse(absl::string_view tokenizer_json, const std::string& file,
                                absl::string_view config_json, const std::string& config_file) {
  RETURN_IF_ERROR(Annotate(CheckJsonLimits(tokenizer_json), file));
  const json root = json::parse(tokenizer_json.begin(), tokenizer_json.end(), nullptr,
                                /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError(file + ": not valid JSON");
  if (!root.is_object()) return absl::InvalidArgumentError(file + ": not a JSON object");

  // The model.
  if (!root.contains("model") || !root["model"].is_object()) {
    return FieldError(file, "model", "missing or not an object");
  }
  const json& model = root["model"];
  if (!model.contains("type") || !model["type"].is_string()) {
    return FieldError(file, "model.type", "missing (expected \"BPE\")");
  }
  if (model["type"] != "BPE") {
    return FieldError(file, "model.type",
                      absl::StrCat("unsupported model type ", model["type"].dump(),
                                   " (only byte-level \"BPE\" is implemented)"));
  }
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    return FieldError(file, "model.dropout", "BPE dropout is not supported (must be null)");
  }
  ASSIGN_OR_RETURN(bool byte_fallback, OptionalBool(model, "byte_fallback", false, file, "model"));
  if (byte_fallback) {
    return FieldError(file, "model.byte_fallback", "not supported with byte-level BPE");
  }
  ASSIGN_OR_RETURN(ignore_merges_, OptionalBool(model, "ignore_merges", false, file, "model"));
  RETURN_IF_ERROR(RequireString(model, "continuing_subword_prefix", {"", ""}, file, "model"));
  RETURN_IF_ERROR(RequireString(model, "end_of_word_suffix", {"", ""}, file, "model"));

  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return FieldError(file, "model.vocab", "missing or not an object of token -> id");
  }
  std::vector<std::string> model_tokens;
  int64_t max_id = -1;
  vocab_.reserve(model["vocab"].size());
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= kMaxId) {
      return FieldError(file, "model.vocab",
                        absl::StrCat("token ", json(it.key()).dump(), " has id ", it.value().dump(),
                                     " (ids are integers in [0, ", kMaxId, "))"));
    }
    const int64_t id = it.value().get<int64_t>();
    max_id = std::max(max_id, id);
    if (size_t(id) >= model_tokens.size()) model_tokens.resize(id + 1);
    model_tokens[id] = it.key();
    vocab_[it.key()] = int32_t(id);
  }

  std::array<int32_t, 256> byte_ids;
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    unicode::AppendUtf8(ByteLevel().char_of_byte[b], &ch);
    auto it = vocab_.find(ch);
    if (it == vocab_.end()) {
      return FieldError(file, "model.vocab",
                        absl::StrCat("no token for byte 0x", absl::Hex(b, absl::kZeroPad2), " (",
                                     json(ch).dump(), "): not a byte-level BPE vocabulary"));
    }
    byte_ids[b] = it->second;
  }

  if (!model.contains("merges") || !model["merges"].is_array()) {
    return FieldError(file, "model.merges", "missing or not an array");
  }
  const json& merges_json = model["merges"];
  std::vector<BpeModel::Merge> merges;
  merges.reserve(merges_json.size());
  std::string merged_token;
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const json& m = merges_json[i];
    const std::string field = absl::StrCat("model.merges[", i, "]");
    std::string left, right;
    if (m.is_string()) {
      // "a b": exactly one space, as the reference requires.
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return FieldError(file, field,
                          absl::StrCat(m.dump(), " is not two tokens separated by one space"));
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return FieldError(file, field, "expected \"a b\" or [\"a\", \"b\"]");
    }
    auto l = vocab_.find(left), r = vocab_.find(right);
    if (l == vocab_.end() || r == vocab_.end()) {
      return FieldError(file, field,
                        absl::StrCat("token ", json(l == vocab_.end() ? left : right).dump(),
                                     " is not in model.vocab"));
    }
    merged_token = left + right;
    auto mid = vocab_.find(merged_token);
    if (mid == vocab_.end()) {
      return FieldError(
          file, field,
          absl::StrCat("merged token ", json(merged_token).dump(), " is not in model.vocab"));
    }
    merges.push_back({l->second, r->second, mid->second});
  }
  bpe_ = std::make_unique<BpeModel>(byte_ids, merges);

  // Added tokens.
  if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
    if (!root["added_tokens"].is_array()) {
      return FieldError(file, "added_tokens", "must be an array");
    }
    const json& list = root["added_tokens"];
    for (size_t i = 0; i < list.size(); ++i) {
      const json& a = list[i];
      const std::string field = absl::StrCat("added_tokens[", i, "]");
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string()) {
        return FieldError(file, field, "expected an object with integer 'id' and string 'content'");
      }
      auto token = std::make_unique<AddedToken>();
      token->content = a["content"].get<std::string>();
      const int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= kMaxId) {
        return FieldError(file, field + ".id", absl::StrCat("id ", id, " out of range"));
      }
      if (token->content.empty()) return FieldError(file, field + ".content", "empty token");
      token->id = int32_t(id);
      ASSIGN_OR_RETURN(token->special, OptionalBool(a, "special", false, file, field));
      ASSIGN_OR_RETURN(token->lstrip, OptionalBool(a, "lstrip", false, file, field));
      ASSIGN_OR_RETURN(token->rstrip, OptionalBool(a, "rstrip", false, file, field));
      // The reference's default: special tokens match the raw text.
      ASSIGN_OR_RETURN(token->normalized,
                       OptionalBool(a, "normalized", !token->special, file, field));
      ASSIGN_OR_RETURN(bool single_word, OptionalBool(a, "single_word", false, file, field));
      if (single_word) return FieldError(file, field + ".single_word", "true is not supported");
      max_id = std::max(max_id, id);
      added_by_content_[token->content] = token->id;
      (token->normalized ? normalized_added_ : raw_added_).tokens.push_back(token.get());
      added_.push_back(std::move(token));
    }
  }
  raw_added_.Build();
  normalized_added_.Build();

  // The pipeline around the model: exactly the Qwen one.
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    const json& n = root["normalizer"];
    const json* nfc = &n;
    if (n.is_object() && n.value("type", "") == "Sequence" && n.contains("normalizers") &&
        n["normalizers"].is_array() && n["normalizers"].size() == 1) {
      nfc = &n["normalizers"][0];
    }
    if (!nfc->is_object() || nfc->value("type", "") != "NFC") {
      return FieldError(
          file, "normalizer",
          absl::StrCat("unsupported normalizer ", n.dump().substr(0, 200), " (only NFC or none)"));
    }
    nfc_ = true;
  }
  {
    const char* kField = "pre_tokenizer";
    if (!root.contains(kField) || !root[kField].is_object()) {
      return FieldError(file, kField, "missing; expected the Qwen Split + ByteLevel sequence");
    }
    const json& pt = root[kField];
    if (pt.value("type", "") != "Sequence" || !pt.contains("pretokenizers") ||
        !pt["pretokenizers"].is_array() || pt["pretokenizers"].size() != 2) {
      return FieldError(file, kField,
                        "unsupported: expected a Sequence of [Split, ByteLevel] (the Qwen "
                        "pre-tokenizer)");
    }
    const json& split = pt["pretokenizers"][0];
    const json& byte_level = pt["pretokenizers"][1];
    if (!split.is_object() || split.value("type", "") != "Split" || !split.contains("pattern") ||
        !split["pattern"].is_object() || !split["pattern"].contains("Regex") ||
        split["pattern"]["Regex"] != std::string(kQwenSplitPattern)) {
      return FieldError(file, "pre_tokenizer.pretokenizers[0]",
                        "unsupported: only a Split on the Qwen regex pattern is implemented");
    }
    if (split.value("behavior", "") != "Isolated" || split.value("invert", false)) {
      return FieldError(file, "pre_tokenizer.pretokenizers[0].behavior",
                        "unsupported: only \"Isolated\" without invert");
    }
    if (!byte_level.is_object() || byte_level.value("type", "") != "ByteLevel" ||
        byte_level.value("add_prefix_space", false) || byte_level.value("use_regex", true)) {
      return FieldError(file, "pre_tokenizer.pretokenizers[1]",
                        "unsupported: expected ByteLevel without add_prefix_space or use_regex");
    }
  }
  if (!root.contains("decoder") || !root["decoder"].is_object() ||
      root["decoder"].value("type", "") != "ByteLevel") {
    return FieldError(file, "decoder", "unsupported: only the ByteLevel decoder");
  }
  if (root.contains("post_processor") && !root["post_processor"].is_null() &&
      (!root["post_processor"].is_object() ||
       root["post_processor"].value("type", "") != "ByteLevel")) {
    return FieldError(file, "post_processor",
                      "unsupported: only ByteLevel or none (ids are not post-processed)");
  }

  // Each id's bytes, for decoding; added tokens override model tokens of the same id.
  std::vector<const std::string*> spelling(max_id + 1, nullptr);
  flags_.assign(max_id + 1, 0);
  for (size_t id = 0; id < model_tokens.size(); ++id) {
    if (vocab_.count(model_tokens[id]) && vocab_[model_tokens[id]] == int32_t(id)) {
      spelling[id] = &model_tokens[id];
      flags_[id] = kPresent;
    }
  }
  for (const auto& a : added_) {
    spelling[a->id] = &a->content;
    flags_[a->id] = kPresent | (a->special ? kSpecial : 0);
  }
  token_offsets_.assign(1, 0);
  for (size_t id = 0; id < spelling.size(); ++id) {
    if (spelling[id] != nullptr) {
      bool all_byte_level = false;
      const std::string bytes = TokenBytes(*spelling[id], &all_byte_level);
      pool_ += bytes;
      if (ignore_merges_ && all_byte_level && !(flags_[id] & kSpecial)) {
        bytes_to_id_.emplace(bytes, int32_t(id));
      }
    }
    token_offsets_.push_back(uint32_t(pool_.size()));
  }

  // tokenizer_config.json: the special token roles and the chat template.
  auto resolve = [&](const std::string& token) -> std::optional<int32_t> {
    auto a = added_by_content_.find(token);
    if (a != added_by_content_.end()) return a->second;
    auto v = vocab_.find(token);
    if (v != vocab_.end()) return v->second;
    return std::nullopt;
  };
  has_chat_tokens_ = resolve("<|im_start|>").has_value() && resolve("<|im_end|>").has_value();
  if (auto e = resolve("<|endoftext|>")) eos_id_ = *e;
  if (!config_json.empty()) {
    RETURN_IF_ERROR(Annotate(CheckJsonLimits(config_json), config_file));
    const json config = json::parse(config_json.begin(), config_json.end(), nullptr,
                                    /*allow_exceptions=*/false);
    if (config.is_discarded() || !config.is_object()) {
      return absl::InvalidArgumentError(config_file + ": not a JSON object");
    }
    for (auto [key, target] : {std::pair<const char*, int32_t*>{"eos_token", &eos_id_},
                               {"bos_token", &bos_id_},
                               {"pad_token", &pad_id_}}) {
      if (!config.contains(key) || config[key].is_null()) continue;
      const json& v = config[key];
      std::string token;
      if (v.is_string()) {
        token = v.get<std::string>();
      } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
        token = v["content"].get<std::string>();
      } else {
        return FieldError(config_file, key, "expected a token string or {\"content\": ...}");
      }
      auto id = resolve(token);
      if (!id) {
        return FieldError(config_file, key,
                          absl::StrCat("token ", json(token).dump(), " is not in ", file));
      }
      *target = *id;
    }
    std::string chat_template;
    if (config.contains("chat_template") && config["chat_template"].is_string()) {
      chat_template = config["chat_template"].get<std::string>();
    } else if (config.contains("chat_template") && config["chat_template"].is_array()) {
      for (const json& t : config["chat_template"]) {
        if (t.is_object() && t.value("name", "") == "default" && t.contains("template") &&
            t["template"].is_string()) {
          chat_template = t["template"].get<std::string>();
        }
      }
    }
    if (absl::StrContains(chat_template, "enable_thinking") ||
        absl::StrContains(chat_template, "reasoning_content")) {
      chat_style_ = ChatStyle::kQwen3;
    }
  }
  return absl::OkStatus();
}

template <typename SegmentFn>
void HfTokenizer::SplitAdded(const AddedMatcher& matcher, absl::string_view text,
                             std::vector<int32_t>* ids, SegmentFn segment) const {
  size_t seg_start = 0, pos = 0;
  const char* data = text.data();
  while (pos < text.size()) {
    // Next candidate position.
    size_t p = pos;
    if (matcher.single_first_byte >= 0) {
      const void* hit = std::memchr(data + pos, matcher.single_first_byte, text.size() - pos);
      if (hit == nullptr) break;
      p = static_cast<const char*>(hit) - data;
    } else {
      while (p < text.size() && !matcher.first_byte[uint8_t(data[p])]) ++p;
      if (p == text.size()) break;
    }
    const AddedToken* match = nullptr;
    for (const AddedToken* t : matcher.tokens) {
      if (t->content.size() <= text.size() - p &&
          std::memcmp(data + p, t->content.data(), t->content.size()) == 0) {
        match = t;
        break;
      }
    }
    if (match == nullptr) {
      pos = p + 1;
      continue;
    }
    size_t start = p, stop = p + match->content.size(), len = 0;
    if (match->lstrip) {
      while (start > seg_start) {
        size_t b = start - 1;
        while (b > seg_start && (uint8_t(data[b]) & 0xc0) == 0x80) --b;
        if (!IsSpaceAt(text, b, &len) || b + len != start) break;
        start = b;
      }
    }
    if (match->rstrip) {
      while (stop < text.size() && IsSpaceAt(text, stop, &len)) stop += len;
    }
    if (seg_start < start) segment(text.substr(seg_start, start - seg_start));
    ids->push_back(match->id);
    seg_start = pos = stop;
  }
  if (seg_start < text.size()) segment(text.substr(seg_start));
}

void HfTokenizer::EncodeModel(absl::string_view text, std::vector<int32_t>* ids) const {
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = QwenPieceEnd(text, pos);
    const absl::string_view piece = text.substr(pos, end - pos);
    pos = end;
    if (ignore_merges_) {
      auto it = bytes_to_id_.find(piece);
      if (it != bytes_to_id_.end()) {
        ids->push_back(it->second);
        continue;
      }
    }
    bpe_->Encode(piece, ids);
  }
}

void HfTokenizer::EncodeNormalized(absl::string_view text, std::vector<int32_t>* ids) const {
  std::string normalized;
  if (nfc_ && !unicode::IsNfcQuick(text)) {
    unicode::AppendNfc(text, &normalized);
    text = normalized;
  }
  if (normalized_added_.empty()) {
    EncodeModel(text, ids);
  } else {
    SplitAdded(normalized_added_, text, ids,
               [&](absl::string_view segment) { EncodeModel(segment, ids); });
  }
}

void HfTokenizer::EncodeTo(absl::string_view text, std::vector<int32_t>* ids) const {
  SplitAdded(raw_added_, text, ids,
             [&](absl::string_view segment) { EncodeNormalized(segment, ids); });
}

absl::StatusOr<std::vector<int32_t>> HfTokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  EncodeTo(text, &ids);
  return ids;
}

absl::StatusOr<std::string> HfTokenizer::DecodeBytes(const std::vector<int32_t>& ids) const {
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size() || !(flags_[id] & kPresent)) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer: id ", id, " at index ", i,
                                                     " is not in the vocabulary (size ",
                                                     vocab_size(), ")"));
    }
    bytes.append(pool_, token_offsets_[id], token_offsets_[id + 1] - token_offsets_[id]);
  }
  return bytes;
}

absl::StatusOr<std::string> HfTokenizer::Decode(const std::vector<int32_t>& ids) const {
  ASSIGN_OR_RETURN(std::string bytes, DecodeBytes(ids));
  if (unicode::IsValidUtf8(bytes)) return bytes;
  std::string text;
  unicode::AppendUtf8Lossy(bytes, &text);
  return text;
}

absl::StatusOr<std::string> HfTokenizer::FormatChat(const std::vector<ChatMessage>& messages,
                                                    const ChatOptions& options) const {
  if (!has_chat_tokens_) {
    return absl::FailedPreconditionError(
        "tokenizer has no <|im_start|>/<|im_end|> tokens: not a ChatML tokenizer");
  }
  return seamless::FormatChat(messages, chat_style_, options);
}

std::optional<int32_t> HfTokenizer::TokenToId(absl::string_view token) const {
  auto a = added_by_content_.find(token);
  if (a != added_by_content_.end()) return a->second;
  auto v = vocab_.find(token);
  if (v != vocab_.end()) return v->second;
  return std::nullopt;
}

bool HfTokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < vocab_size() && (flags_[id] & kSpecial);
}

}  // namespace seamless
