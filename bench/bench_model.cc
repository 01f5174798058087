// seamless bench model: benchmarks that print figures. Human-readable lines first, then one
// final line of JSON for scripts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "bench/benches.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/device.h"
#include "core/model/kv_cache.h"
#include "core/model/model_loading.h"
#include "core/model/parameter_layout.h"
#include "core/model/transformer_layers.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

at::Device g_device(at::kCPU);

at::TensorOptions Longs() { return at::TensorOptions().dtype(at::kLong).device(g_device); }

void Progress(const std::string& what) { std::fprintf(stderr, "bench model: %s\n", what.c_str()); }

// Best decode tokens/s over `reps` runs. Each run prefills `prompt_len` tokens untimed, then
// times `steps` decode steps alone. (Timing prefill + decode and subtracting a separately
// timed prefill, as this did before, let the noise of two large timings swamp the small
// difference: at batch 64 the difference came out <= 0 and the clamp to 1e-9 s printed
// 512000000000 tokens/s.)
double DecodeTokensPerSecond(MimoModel& model, int64_t batch, int64_t prompt_len, int64_t steps,
                             int reps) {
  c10::InferenceMode inference;
  const int64_t vocab = model->config().vocab_size;
  KvCache cache(model->config(), batch, prompt_len + steps + 1,
                at::TensorOptions().dtype(at::kFloat).device(g_device));
  std::vector<int64_t> slots(batch);
  for (int64_t b = 0; b < batch; ++b) slots[b] = b;
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    for (int64_t b = 0; b < batch; ++b) cache.Reset(b);
    at::Tensor prompt = at::randint(3, std::min<int64_t>(90, vocab), {batch, prompt_len}, Longs());
    at::Tensor hidden = model->HiddenIncremental(prompt, cache, slots);
    at::Tensor next = model->Logits(hidden.select(1, -1)).argmax(-1).view({batch, 1});
    SyncDevice(g_device);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      hidden = model->HiddenIncremental(next, cache, slots);
      next = model->Logits(hidden.squeeze(1)).argmax(-1).view({batch, 1});
    }
    SyncDevice(g_device);
    best = std::min(best, SecondsSince(start));
  }
  return double(batch) * steps / best;
}

// The memory-bandwidth ceiling: best GB/s (10^9 bytes) of summing `buffer` (much larger than
// any cache), on every core (intra-op threads raised to the core count for the measurement).
double ReadBandwidthGBs(const at::Tensor& buffer, int reps) {
  c10::InferenceMode inference;
  const int threads = at::get_num_threads();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (g_device.is_cpu()) at::set_num_threads(cores);
  const double s = BestSeconds(g_device, reps, [&] { at::sum(buffer); });
  if (g_device.is_cpu()) at::set_num_threads(threads);
  return double(buffer.numel()) * buffer.element_size() / s / 1e9;
}

// Bytes of parameters the main model reads for one decode token: every matrix of the decoder
// blocks, the norms, and the LM head in full (the tied embedding is that same matrix; an
// untied embedding contributes one row, neglected). MTP layers are not read.
int64_t DecodeWeightBytes(const ModelConfig& c, int64_t element_bytes) {
  int64_t n = 0;
  for (const ParameterSpec& p : ParameterLayout(c)) {
    if (p.layer >= c.num_hidden_layers) continue;                                   // MTP
    if (!c.tie_word_embeddings && p.name == "model.embed_tokens.weight") continue;  // one row
    n += p.NumElements();
  }
  return n * element_bytes;
}

struct Sizes {
  int64_t batch, seq_len, decode_steps, decode_steps_b64, prompt_len, rounds;
};

absl::Status BenchModel(const std::string& model_name, Sizes z) {
  Progress("loading " + model_name);
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(model_name));
  MimoModel& model = loaded.model;
  model->to(g_device);
  const ModelConfig& c = model->config();
  const bool big = c.ParameterCount() > 100'000'000;
  // Defaults (0) scale with the model so that a 0.5B model on two cores takes minutes.
  if (z.batch <= 0) z.batch = big ? 2 : 64;
  if (z.seq_len <= 0) z.seq_len = big ? 128 : 256;
  if (z.decode_steps <= 0) z.decode_steps = big ? 16 : 64;
  if (z.decode_steps_b64 <= 0) z.decode_steps_b64 = big ? 4 : z.decode_steps;
  if (z.prompt_len <= 0) z.prompt_len = big ? 8 : 32;
  if (z.rounds <= 0) z.rounds = big ? 3 : 8;
  const int64_t element_bytes = model->parameters()[0].element_size();
  std::printf("model: %s on %s, %lld parameters, %lld threads\n", model_name.c_str(),
              g_device.str().c_str(), static_cast<long long>(c.ParameterCount()),
              static_cast<long long>(at::get_num_threads()));
  std::fflush(stdout);

  // The ceiling and the forward are measured in alternation. The headline ratio is best
  // forward over best matmul (each side's least disturbed run on a shared machine); the
  // per-round ratios are printed too, to show how noisy the machine was.
  MatmulPeak peak(g_device);
  c10::InferenceMode inference;
  const int64_t id_max = std::min<int64_t>(90, c.vocab_size);
  at::Tensor ids = at::randint(3, id_max, {z.batch, z.seq_len}, Longs());
  const double flops = ForwardFlops(c, z.batch, z.seq_len);
  double matmul_s = 1e30, forward_s = 1e30;
  std::vector<double> ratios;
  for (int round = 0; round < z.rounds; ++round) {
    Progress(absl::StrFormat("full forward b%d x %d, round %d of %d", z.batch, z.seq_len, round + 1,
                             z.rounds));
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
  const double forward_tps = double(z.batch) * z.seq_len / forward_s;
  const double forward_gflops = flops / forward_s / 1e9;
  std::printf("full forward b%lld x %lld tokens:   %8.0f tokens/s, %.1f GFLOP/s\n",
              static_cast<long long>(z.batch), static_cast<long long>(z.seq_len), forward_tps,
              forward_gflops);
  std::fflush(stdout);
  Progress("full forward b1");
  at::Tensor one = at::randint(3, id_max, {1, z.seq_len}, Longs());
  const double forward1_s = BestSeconds(g_device, 2, [&] { model->Logits(model->Hidden(one)); });
  std::printf("full forward b1 x %lld tokens:     %8.0f tokens/s\n",
              static_cast<long long>(z.seq_len), z.seq_len / forward1_s);

  // The LM head alone at batch 1: one matrix-vector product over vocab x hidden.
  const at::Tensor row = at::randn({1, c.hidden_size}, at::TensorOptions().device(g_device));
  const double head_s = BestSeconds(g_device, 5, [&] { model->Logits(row); });
  const double head_gbs = double(c.vocab_size) * c.hidden_size * element_bytes / head_s / 1e9;
  // The same product as a matrix-vector call (BLAS gemv), what a one-row GEMM could be.
  const at::Tensor head_weight =
      c.tie_word_embeddings ? model->model->embed_tokens->weight : model->lm_head->weight;
  const at::Tensor vec = row.view({-1});
  const double mv_s = BestSeconds(g_device, 5, [&] { at::mv(head_weight, vec); });
  const double mv_gbs = double(c.vocab_size) * c.hidden_size * element_bytes / mv_s / 1e9;

  // Batch-1 decode against the bandwidth ceiling, measured in alternation like the forward:
  // a shared machine's bandwidth changes by 2x from one minute to the next.
  const int64_t step_bytes = DecodeWeightBytes(c, element_bytes);
  const at::Tensor buffer =
      at::ones({int64_t{1} << 28}, at::TensorOptions().dtype(at::kFloat).device(g_device));
  double bandwidth = 0, decode_b1 = 0;
  std::vector<double> roofline_ratios;
  for (int round = 0; round < z.rounds; ++round) {
    Progress(absl::StrFormat("memory bandwidth and decode b1 (%d steps), round %d of %d",
                             z.decode_steps, round + 1, z.rounds));
    const double bw = ReadBandwidthGBs(buffer, 3);
    const double tps = DecodeTokensPerSecond(model, 1, z.prompt_len, z.decode_steps, 1);
    roofline_ratios.push_back(double(step_bytes) * tps / 1e9 / bw);
    bandwidth = std::max(bandwidth, bw);
    decode_b1 = std::max(decode_b1, tps);
  }
  std::sort(roofline_ratios.begin(), roofline_ratios.end());
  const double roofline = double(step_bytes) * decode_b1 / 1e9 / bandwidth;
  std::printf("memory read bandwidth:             %8.1f GB/s (sum over 1 GiB, %u threads)\n",
              bandwidth, std::max(1u, std::thread::hardware_concurrency()));
  std::printf(
      "LM head b1 (%lld x %lld):          %8.1f GB/s of weights read (as at::mv: %.1f "
      "GB/s)\n",
      static_cast<long long>(c.vocab_size), static_cast<long long>(c.hidden_size), head_gbs,
      mv_gbs);
  std::printf("incremental decode b1:             %8.1f tokens/s (%.2f GB of weights per token)\n",
              decode_b1, step_bytes / 1e9);
  std::printf(
      "decode b1 vs memory roofline:      %8.2f (best decode x bytes / best bandwidth; "
      "per round: median %.2f, range %.2f-%.2f)%s\n",
      roofline, roofline_ratios[roofline_ratios.size() / 2], roofline_ratios.front(),
      roofline_ratios.back(),
      step_bytes < (int64_t{256} << 20) ? "; the weights fit in caches: not a roofline" : "");
  std::fflush(stdout);
  Progress(absl::StrFormat("incremental decode b64, %d steps", z.decode_steps_b64));
  const double decode_b64 =
      DecodeTokensPerSecond(model, 64, z.prompt_len, z.decode_steps_b64, big ? 2 : 3);
  std::printf("incremental decode b64:            %8.1f tokens/s\n", decode_b64);
  const double ratio = forward_gflops / matmul_gflops;
  std::printf(
      "model FLOP/s vs matmul ceiling:    %8.2f (full forward, b%lld; per round: median "
      "%.2f, range %.2f-%.2f)\n",
      ratio, static_cast<long long>(z.batch), paired_median, ratios.front(), ratios.back());

  nlohmann::json out = {
      {"bench", "model"},
      {"parameters", c.ParameterCount()},
      {"threads", at::get_num_threads()},
      {"device", g_device.str()},
      {"matmul_gflops", matmul_gflops},
      {"forward_batch", z.batch},
      {"forward_seq_len", z.seq_len},
      {"forward_tokens_per_s", forward_tps},
      {"forward_tokens_per_s_b1", z.seq_len / forward1_s},
      {"forward_gflops", forward_gflops},
      {"memory_bandwidth_gbs", bandwidth},
      {"lm_head_b1_gbs", head_gbs},
      {"lm_head_b1_mv_gbs", mv_gbs},
      {"decode_weight_bytes_per_token", step_bytes},
      {"decode_tokens_per_s_b1", decode_b1},
      {"decode_tokens_per_s_b64", decode_b64},
      {"decode_b1_vs_memory_roofline", roofline},
      {"decode_b1_vs_memory_roofline_paired_median", roofline_ratios[roofline_ratios.size() / 2]},
      {"model_flops_vs_matmul_peak", ratio},
      {"model_flops_vs_matmul_paired_median", paired_median}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBenchModel(const std::vector<std::string>& args) {
  std::string model = "default", device_name = "cpu";
  Sizes z{0, 0, 0, 0, 0, 0};
  FlagSet flags("seamless bench model [flags]",
                "model: fp32 matmul GFLOP/s (the ceiling), full-forward tokens/s, the memory\n"
                "read bandwidth (the decode ceiling), incremental decode tokens/s at batch 1\n"
                "and 64, the model's FLOP/s as a share of the matmul ceiling, and batch-1\n"
                "decode as a share of the bandwidth roofline (weight bytes per token x\n"
                "tokens/s / bandwidth). Sizes left at 0 scale with the model (models over\n"
                "100M parameters get small ones). Prints readable lines, then one JSON line.");
  flags.AddString("model", &model, "Model directory or 'default'");
  flags.AddInt("batch", &z.batch, "Sequences in the full-forward measurement (0: 64, big: 2)");
  flags.AddInt("seq-len", &z.seq_len, "Tokens per sequence in the full forward (0: 256, big: 128)");
  flags.AddInt("decode-steps", &z.decode_steps, "Decode steps timed at batch 1 (0: 64, big: 16)");
  flags.AddInt("decode-steps-b64", &z.decode_steps_b64,
               "Decode steps timed at batch 64 (0: as --decode-steps, big: 4)");
  flags.AddInt("prompt-len", &z.prompt_len, "Prompt tokens before decoding (0: 32, big: 8)");
  flags.AddInt("rounds", &z.rounds, "Rounds of matmul vs full forward (0: 8, big: 3)");
  flags.AddString("device", &device_name, "cpu, cuda, cuda:N or auto");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  ASSIGN_OR_RETURN(g_device, ParseDevice(device_name));
  return BenchModel(model, z);
}

}  // namespace seamless
