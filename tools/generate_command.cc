// seamless generate: prompts in, JSON lines of samples out.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/config.h"
#include "core/base/json_limits.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/model/device.h"
#include "core/model/model_loading.h"
#include "nlohmann/json.hpp"
#include "rollout/batch_generator.h"
#include "tools/subcommand.h"

namespace seamless {
namespace {

struct GenerateConfig {
  std::string model = "default";
  int64_t num_samples = 1;
  int64_t max_batch = 16;
  Speculative speculative = Speculative::kAuto;
  SamplingOptions sampling;

  template <typename V>
  void VisitFields(V& v) {
    v("model", model, "Hugging Face model directory, or 'default' for the embedded model");
    v("num_samples", num_samples, "Samples per prompt (sample i of all gets seed + i)");
    v("max_batch", max_batch, "Sequences decoded together at most");
    v("speculative", speculative, "MTP speculative decoding: auto (if the model has MTP), on, off");
    v("sampling", sampling, "Sampling parameters");
  }
};

}  // namespace

absl::Status RunGenerate(const std::vector<std::string>& args) {
  GenerateConfig config;
  std::string config_file, model, prompt, device_name = "cpu", speculative;
  int64_t num_samples = config.num_samples, max_new_tokens = config.sampling.max_new_tokens,
          top_k = 0, seed = 0;
  double temperature = config.sampling.temperature, top_p = 1.0;
  FlagSet flags("seamless generate [flags] [PROMPT ...]",
                "Generates continuations of each PROMPT (or of each JSON string read from stdin\n"
                "when no PROMPT is given) and prints one JSON object per sample: prompt_index,\n"
                "sample_index, text, token_ids, logprobs, finish_reason. Flags override the\n"
                "config file, which overrides the defaults.");
  flags.AddString("config", &config_file, "YAML or JSON file with the keys below");
  flags.AddString("model", &model, "Model directory or 'default'");
  flags.AddInt("num-samples", &num_samples, "Samples per prompt");
  flags.AddInt("max-new-tokens", &max_new_tokens, "Generated tokens per sample at most");
  flags.AddDouble("temperature", &temperature, "Softmax temperature; 0 is greedy");
  flags.AddDouble("top-p", &top_p, "Nucleus mass kept, in (0, 1]");
  flags.AddInt("top-k", &top_k, "Keep only the k most likely tokens; 0 keeps all");
  flags.AddInt("seed", &seed, "Random seed of the first sample");
  flags.AddString("device", &device_name, "cpu, cuda, cuda:N or auto");
  flags.AddString("speculative", &speculative, "MTP speculative decoding: auto, on or off");
  flags.SetEpilog("config keys:\n" + DescribeConfig(config));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));

  if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  if (flags.WasSet("model")) config.model = model;
  if (flags.WasSet("num-samples")) config.num_samples = num_samples;
  if (flags.WasSet("max-new-tokens")) config.sampling.max_new_tokens = max_new_tokens;
  if (flags.WasSet("temperature")) config.sampling.temperature = temperature;
  if (flags.WasSet("top-p")) config.sampling.top_p = top_p;
  if (flags.WasSet("top-k")) config.sampling.top_k = top_k;
  if (flags.WasSet("seed")) config.sampling.seed = static_cast<uint64_t>(seed);
  if (flags.WasSet("speculative")) {
    ASSIGN_OR_RETURN(config.speculative,
                     ParseConfigEnum<Speculative>("--speculative", speculative));
  }
  if (config.num_samples <= 0) return absl::InvalidArgumentError("num_samples must be positive");
  RETURN_IF_ERROR(config.sampling.Validate());

  std::vector<std::string> prompts = flags.positional();
  if (prompts.empty()) {
    std::string line;
    for (int line_no = 1; std::getline(std::cin, line); ++line_no) {
      if (line.empty()) continue;
      RETURN_IF_ERROR(Annotate(CheckJsonLimits(line), absl::StrCat("stdin line ", line_no)));
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("stdin line ", line_no, ": expected a JSON string"));
      }
      prompts.push_back(j.get<std::string>());
    }
  }
  if (prompts.empty()) return absl::InvalidArgumentError("no prompt given (see --help)");

  ASSIGN_OR_RETURN(at::Device device, ParseDevice(device_name));
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(config.model));
  loaded.model->to(device);
  std::vector<GenerationRequest> requests;
  for (size_t p = 0; p < prompts.size(); ++p) {
    auto ids = loaded.tokenizer->Encode(prompts[p]);
    if (!ids.ok()) return Annotate(ids.status(), absl::StrCat("prompt ", p));
    for (int64_t s = 0; s < config.num_samples; ++s) {
      GenerationRequest r;
      r.prompt = *ids;
      r.sampling = config.sampling;
      // A distinct seed per sample: equal seeds would give correlated samples across prompts.
      r.sampling.seed = config.sampling.seed + p * config.num_samples + s;
      requests.push_back(std::move(r));
    }
  }
  BatchGenerator generator(loaded.model, config.max_batch,
                           loaded.model->config().max_position_embeddings,
                           loaded.tokenizer->eos_id(), config.speculative);
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::vector<GenerationResult> results, generator.Generate(requests));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    ASSIGN_OR_RETURN(std::string text, loaded.tokenizer->Decode(r.tokens));
    nlohmann::json out = {{"prompt_index", i / config.num_samples},
                          {"sample_index", i % config.num_samples},
                          {"text", text},
                          {"token_ids", r.tokens},
                          {"logprobs", r.logprobs},
                          {"finish_reason", EnumToString(r.finish)}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  SLOG(INFO) << absl::StrFormat("%d samples, %d tokens in %.2f s (%.0f tokens/s)", results.size(),
                                generator.stats().generated_tokens, seconds,
                                generator.stats().generated_tokens / std::max(seconds, 1e-9));
  return absl::OkStatus();
}

}  // namespace seamless
