// `seamless rollout-worker`: serves RolloutService over gRPC with Prometheus metrics.
#include "rollout/rollout_worker_main.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/base/config.h"
#include "core/base/flags.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/metrics/http_server.h"
#include "core/model/device.h"
#include "core/model/model_loading.h"
#include "core/service/grpc_server.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_engine.h"
#include "rollout/rollout_service.h"
#include "rollout/worker_config.h"

namespace seamless {

absl::Status RunRolloutWorker(const std::vector<std::string>& args) {
  std::string listen, model_name = "default", metrics_listen, config_file;
  bool print_config = false;
  // Flags start from the defaults and override the config file's keys where given.
  RolloutWorkerConfig flag_values;
  EngineOptions& f = flag_values.engine;
  std::string speculative = "auto";
  FlagSet flags("seamless rollout-worker --listen HOST:PORT [--model DIR] [--config FILE] [flags]",
                "Serves RolloutService: continuous batching over a paged KV cache, MTP\n"
                "speculative decoding (exact), abort by id or launch sequence, versioned weight\n"
                "loading while generating. Prints 'listening on HOST:PORT' once ready.");
  flags.AddString("config", &config_file, "YAML/JSON with the keys below (flags override)");
  flags.AddBool("print-config", &print_config, "Print the resolved config and exit");
  flags.AddString("listen", &listen, "gRPC address to serve on (port 0 picks a free port)");
  flags.AddString("model", &model_name,
                  "Hugging Face model directory (config.json + safetensors, tokenizer files "
                  "optional) or 'default' for the embedded model");
  flags.AddString("metrics-listen", &metrics_listen,
                  "Serve Prometheus metrics on http://HOST:PORT/metrics (empty: off)");
  flags.AddString("device", &flag_values.device, "cpu, cuda, cuda:N or auto");
  flags.AddInt("max-running", &f.max_running, "Sequences decoded together (KV slots)");
  flags.AddInt("max-len", &f.max_len, "Prompt + response tokens per sequence; 0: model's");
  flags.AddInt("max-queued", &f.max_queued_samples,
               "Samples waiting for a slot before RESOURCE_EXHAUSTED");
  flags.AddInt("prefill-tokens-per-step", &f.prefill_tokens_per_step,
               "Prompt tokens prefilled between two decode steps");
  flags.AddString("speculative", &speculative, "MTP speculative decoding: auto, on, off");
  flags.AddInt("kv-cache-tokens", &f.kv_cache_tokens,
               "KV cache pool in tokens, shared by all sequences; 0: max-running x "
               "min(max-len + 2, 4096), at least max-len + 2");
  flags.AddInt("kv-block-tokens", &f.kv_block_tokens, "Tokens per KV cache block");
  flags.SetEpilog("config keys:\n" + DescribeConfig(RolloutWorkerConfig()));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  RolloutWorkerConfig config;
  if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  EngineOptions& options = config.engine;
  if (flags.WasSet("device")) config.device = flag_values.device;
  if (flags.WasSet("max-running")) options.max_running = f.max_running;
  if (flags.WasSet("max-len")) options.max_len = f.max_len;
  if (flags.WasSet("max-queued")) options.max_queued_samples = f.max_queued_samples;
  if (flags.WasSet("prefill-tokens-per-step")) {
    options.prefill_tokens_per_step = f.prefill_tokens_per_step;
  }
  if (flags.WasSet("speculative")) {
    ASSIGN_OR_RETURN(options.speculative,
                     ParseConfigEnum<Speculative>("--speculative", speculative));
  }
  if (flags.WasSet("kv-cache-tokens")) options.kv_cache_tokens = f.kv_cache_tokens;
  if (flags.WasSet("kv-block-tokens")) options.kv_block_tokens = f.kv_block_tokens;
  if (print_config) {
    std::fputs(ConfigToYaml(config).c_str(), stdout);
    return absl::OkStatus();
  }
  if (listen.empty()) return absl::InvalidArgumentError("--listen HOST:PORT is required");
  RETURN_IF_ERROR(ValidateConfig(config));  // again: the flags may have changed it
  ASSIGN_OR_RETURN(at::Device device, ParseDevice(config.device));

  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(model_name));
  loaded.model->to(device);
  const Tokenizer* tokenizer = loaded.tokenizer.get();
  Detokenizer detokenize = [tokenizer](const std::vector<int32_t>& ids) {
    auto text = tokenizer->Decode(ids);
    return text.ok() ? *text : std::string();
  };
  ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(loaded.model, options,
                                                           tokenizer->eos_id(), detokenize));
  SLOG(INFO) << "model " << model_name << " on " << device.str() << ": "
             << batcher->options().max_running << " slots x " << batcher->max_len()
             << " tokens, KV cache " << batcher->kv_blocks_total() << " blocks of "
             << options.kv_block_tokens << " tokens (" << batcher->kv_cache_bytes() / (1 << 20)
             << " MiB), speculative " << (batcher->speculative() ? "on" : "off");

  MetricsRegistry metrics;
  std::unique_ptr<HttpServer> metrics_server;
  if (!metrics_listen.empty()) {
    ASSIGN_OR_RETURN(metrics_server, HttpServer::StartMetrics(metrics_listen, &metrics));
    std::printf("metrics on http://%s:%d/metrics\n",
                metrics_listen.substr(0, metrics_listen.rfind(':')).c_str(),
                metrics_server->port());
  }
  std::unique_ptr<RolloutEngine> engine = RolloutEngine::Start(std::move(batcher), &metrics);
  GrpcServer* server_ptr = nullptr;
  RolloutGrpcService service(engine.get(), [&server_ptr](bool serving) {
    if (server_ptr) server_ptr->SetServing("seamless.RolloutService", serving);
  });
  ASSIGN_OR_RETURN(auto server, GrpcServer::Start(listen, {&service}));
  server_ptr = server.get();
  server->SetServing("seamless.RolloutService", true);
  std::printf("rollout-worker listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(),
              server->port());
  std::fflush(stdout);

  const int signal = WaitForTerminationSignal();
  SLOG(INFO) << "signal " << signal << ": shutting down";
  server->Shutdown();
  server_ptr = nullptr;
  engine.reset();
  return absl::OkStatus();
}

}  // namespace seamless
