// seamless bench model: benchmarks that print figures. Human-readable lines first, then one
// final line of JSON for scripts.
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/device.h"
#include "core/model/kv_cache.h"
#include "core/model/transformer_layers.h"
#include "nlohmann/json.hpp"
#include "tools/bench_util.h"
#include "tools/benches.h"
#include "core/model/model_loading.h"
#include "tools/subcommand.h"

namespace seamless {
namespace {

at::Device g_device(at::kCPU);

at::TensorOptions Longs() { return at::TensorOptions().dtype(at::kLong).device(g_device); }

double DecodeTokensPerSecond(MimoModel& model, int64_t batch, int64_t prompt_len, int64_t steps) {
  c10::InferenceMode inference;
  KvCache cache(model->config(), batch, prompt_len + steps + 1,
                at::TensorOptions().dtype(at::kFloat).device(g_device));
  std::vector<int64_t> slots(batch);
  for (int64_t b = 0; b < batch; ++b) slots[b] = b;
  auto run = [&] {
    for (int64_t b = 0; b < batch; ++b) cache.Reset(b);
    at::Tensor prompt = at::randint(3, 90, {batch, prompt_len}, Longs());
    at::Tensor hidden = model->HiddenIncremental(prompt, cache, slots);
    at::Tensor next = model->Logits(hidden.select(1, -1)).argmax(-1).view({batch, 1});
    for (int64_t s = 0; s < steps; ++s) {
      hidden = model->HiddenIncremental(next, cache, slots);
      next = model->Logits(hidden.squeeze(1)).argmax(-1).view({batch, 1});
    }
  };
  // Time prefill + decode, then subtract a prefill-only run: what remains is decode.
  const double total = BestSeconds(g_device, 2, run);
  const double prefill = BestSeconds(g_device, 2, [&] {
    for (int64_t b = 0; b < batch; ++b) cache.Reset(b);
    at::Tensor prompt = at::randint(3, 90, {batch, prompt_len}, Longs());
    model->Logits(model->HiddenIncremental(prompt, cache, slots).select(1, -1));
  });
  return double(batch) * steps / std::max(total - prefill, 1e-9);
}

absl::Status BenchModel(const std::string& model_name, int64_t batch, int64_t seq_len,
                        int64_t decode_steps) {
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(model_name));
  MimoModel& model = loaded.model;
  model->to(g_device);
  const ModelConfig& c = model->config();
  std::printf("model: %s on %s, %lld parameters, %lld threads\n", model_name.c_str(),
              g_device.str().c_str(),
              static_cast<long long>(c.ParameterCount()),
              static_cast<long long>(at::get_num_threads()));

  // The ceiling and the forward are measured in alternation, 8 rounds. The headline ratio is
  // best forward over best matmul (each side's least disturbed run on a shared machine); the
  // per-round ratios are printed too, to show how noisy the machine was.
  MatmulPeak peak(g_device);
  c10::InferenceMode inference;
  at::Tensor ids = at::randint(3, 90, {batch, seq_len}, Longs());
  const double flops = ForwardFlops(c, batch, seq_len);
  double matmul_s = 1e30, forward_s = 1e30;
  std::vector<double> ratios;
  for (int round = 0; round < 8; ++round) {
    const double m = peak.MeasureSeconds();
    const double f = BestSeconds(g_device, 1, [&] { model->Logits(model->Hidden(ids)); });
    ratios.push_back((flops / f) / (peak.flops() / m));
    matmul_s = std::min(matmul_s, m);
    forward_s = std::min(forward_s, f);
  }
  std::sort(ratios.begin(), ratios.end());
  const double paired_median = ratios[ratios.size() / 2];
  const double matmul_gflops = peak.flops() / matmul_s / 1e9;
  std::printf("fp32 matmul 1024x1024:             %8.1f GFLOP/s (the machine's ceiling)\n",
              matmul_gflops);
  const double forward_tps = double(batch) * seq_len / forward_s;
  const double forward_gflops = flops / forward_s / 1e9;
  std::printf("full forward b%lld x %lld tokens:   %8.0f tokens/s, %.1f GFLOP/s\n",
              static_cast<long long>(batch), static_cast<long long>(seq_len), forward_tps,
              forward_gflops);
  at::Tensor one = at::randint(3, 90, {1, seq_len}, Longs());
  const double forward1_s = BestSeconds(g_device, 3, [&] { model->Logits(model->Hidden(one)); });
  std::printf("full forward b1 x %lld tokens:     %8.0f tokens/s\n",
              static_cast<long long>(seq_len), seq_len / forward1_s);

  const int64_t prompt_len = 32;
  const double decode_b1 = DecodeTokensPerSecond(model, 1, prompt_len, decode_steps);
  std::printf("incremental decode b1:             %8.0f tokens/s\n", decode_b1);
  const double decode_b64 = DecodeTokensPerSecond(model, 64, prompt_len, decode_steps);
  std::printf("incremental decode b64:            %8.0f tokens/s\n", decode_b64);
  const double ratio = forward_gflops / matmul_gflops;
  std::printf("model FLOP/s vs matmul ceiling:    %8.2f (full forward, b%lld; per round: median "
              "%.2f, range %.2f-%.2f)\n",
              ratio, static_cast<long long>(batch), paired_median, ratios.front(), ratios.back());

  nlohmann::json out = {{"bench", "model"},
                        {"parameters", c.ParameterCount()},
                        {"threads", at::get_num_threads()},
                        {"device", g_device.str()},
                        {"matmul_gflops", matmul_gflops},
                        {"forward_batch", batch},
                        {"forward_seq_len", seq_len},
                        {"forward_tokens_per_s", forward_tps},
                        {"forward_tokens_per_s_b1", seq_len / forward1_s},
                        {"forward_gflops", forward_gflops},
                        {"decode_tokens_per_s_b1", decode_b1},
                        {"decode_tokens_per_s_b64", decode_b64},
                        {"model_flops_vs_matmul_peak", ratio},
                        {"model_flops_vs_matmul_paired_median", paired_median}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBenchModel(const std::vector<std::string>& args) {
  std::string model = "default", device_name = "cpu";
  int64_t batch = 64, seq_len = 256, decode_steps = 64;
  FlagSet flags("seamless bench model [flags]",
                "model: fp32 matmul GFLOP/s (the ceiling), full-forward tokens/s, incremental\n"
                "decode tokens/s at batch 1 and 64, and the model's FLOP/s as a share of the\n"
                "matmul ceiling. Prints readable lines, then one JSON line.");
  flags.AddString("model", &model, "Model directory or 'default'");
  flags.AddInt("batch", &batch, "Sequences in the full-forward measurement");
  flags.AddInt("seq-len", &seq_len, "Tokens per sequence in the full-forward measurement");
  flags.AddInt("decode-steps", &decode_steps, "Decode steps timed per measurement");
  flags.AddString("device", &device_name, "cpu, cuda, cuda:N or auto");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  ASSIGN_OR_RETURN(g_device, ParseDevice(device_name));
  return BenchModel(model, batch, seq_len, decode_steps);
}

}  // namespace seamless
