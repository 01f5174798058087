// `seamless rollout-worker`: serves RolloutService over gRPC with Prometheus metrics.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/metrics/http_server.h"
#include "core/model/device.h"
#include "core/model/model_loading.h"
#include "core/service/grpc_server.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_engine.h"
#include "rollout/rollout_service.h"
#include "core/base/flags.h"
#include "tools/subcommand.h"

namespace seamless {

absl::Status RunRolloutWorker(const std::vector<std::string>& args) {
  std::string listen, model_name = "default", metrics_listen, device_name = "cpu";
  EngineOptions options;
  FlagSet flags("seamless rollout-worker --listen HOST:PORT [--model DIR] [flags]",
                "Serves RolloutService: continuous batching over a paged KV cache, MTP\n"
                "speculative decoding (exact), abort by id or launch sequence, versioned weight\n"
                "loading while generating. Prints 'listening on HOST:PORT' once ready.");
  flags.AddString("listen", &listen, "gRPC address to serve on (port 0 picks a free port)");
  flags.AddString("model", &model_name,
                  "Hugging Face model directory (config.json + safetensors, tokenizer files "
                  "optional) or 'default' for the embedded model");
  flags.AddString("metrics-listen", &metrics_listen,
                  "Serve Prometheus metrics on http://HOST:PORT/metrics (empty: off)");
  flags.AddString("device", &device_name, "cpu, cuda, cuda:N or auto");
  flags.AddInt("max-running", &options.max_running, "Sequences decoded together (KV slots)");
  flags.AddInt("max-len", &options.max_len, "Prompt + response tokens per sequence; 0: model's");
  flags.AddInt("max-queued", &options.max_queued_samples,
               "Samples waiting for a slot before RESOURCE_EXHAUSTED");
  flags.AddInt("prefill-tokens-per-step", &options.prefill_tokens_per_step,
               "Prompt tokens prefilled between two decode steps");
  flags.AddString("speculative", &options.speculative, "MTP speculative decoding: auto, on, off");
  flags.AddInt("kv-cache-tokens", &options.kv_cache_tokens,
               "KV cache pool in tokens, shared by all sequences; 0: max-running x "
               "min(max-len + 2, 4096), at least max-len + 2");
  flags.AddInt("kv-block-tokens", &options.kv_block_tokens, "Tokens per KV cache block");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (listen.empty()) return absl::InvalidArgumentError("--listen HOST:PORT is required");
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(at::Device device, ParseDevice(device_name));

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
                metrics_listen.substr(0, metrics_listen.rfind(':')).c_str(), metrics_server->port());
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
