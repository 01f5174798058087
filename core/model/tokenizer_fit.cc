#include "core/model/tokenizer_fit.h"

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"

namespace seamless {
namespace {

// "config.json:4" for the line that holds "vocab_size", or the bare file name.
std::string KeyLocation(const std::string& file, const std::string& key) {
  auto text = ReadFileToString(file);
  if (!text.ok()) return file;
  const size_t at = text->find(absl::StrCat("\"", key, "\""));
  if (at == std::string::npos) return file;
  int64_t line = 1;
  for (size_t i = 0; i < at; ++i) line += (*text)[i] == '\n';
  return absl::StrCat(file, ":", line);
}

}  // namespace

std::string TokenizerFileIn(const std::string& model_dir) {
  const std::string own = model_dir + "/seamless_tokenizer.json";
  return FileExists(own) ? own : model_dir + "/tokenizer.json";
}

absl::Status CheckTokenizerFitsModel(const Tokenizer& tokenizer, const std::string& tokenizer_file,
                                     int64_t vocab_size, const std::string& config_file) {
  const int64_t ids = tokenizer.vocab_size();
  if (ids <= vocab_size) return absl::OkStatus();
  const int32_t last = static_cast<int32_t>(ids - 1);
  std::string token;
  if (auto text = tokenizer.Decode({last}); text.ok()) {
    token = absl::StrCat(" ('", text->size() > 40 ? text->substr(0, 40) + "..." : *text, "')");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      tokenizer_file.empty() ? "the tokenizer" : tokenizer_file, ": ids go up to ", last, token,
      ", past the model's vocabulary: ",
      config_file.empty() ? "the model config" : KeyLocation(config_file, "vocab_size"),
      ": key 'vocab_size' is ", vocab_size, ", so ids must be in [0, ", vocab_size - 1,
      "]; use the model's own tokenizer, or a model with vocab_size >= ", ids));
}

}  // namespace seamless
