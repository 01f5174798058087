// seamless init-model / inspect-model: write the embedded default, look inside a directory.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/base/config.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/tensors/safetensors.h"
#include "tools/subcommand.h"

namespace seamless {

absl::Status RunInitModel(const std::vector<std::string>& args) {
  std::string out;
  int64_t seed = 0;
  FlagSet flags("seamless init-model --out DIR [--seed N]",
                "Writes the embedded default model (randomly initialised from --seed) as a\n"
                "Hugging Face directory: config.json, model.safetensors and the tokenizer.");
  flags.AddString("out", &out, "Directory to create");
  flags.AddInt("seed", &seed, "Initialisation seed");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (out.empty()) return absl::InvalidArgumentError("--out is required");
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
