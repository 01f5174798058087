// seamless bench rollout: the rollout engine's figures, all on one model in one process.
//
//   continuous_vs_static         tokens/s with slot refill ÷ static batches (each batch runs
//                                until its longest member ends), long-tailed answer lengths
//   decode_flops_vs_matmul_peak  decode FLOP/s at batch 64 ÷ the fp32 matmul ceiling
//   mtp_acceptance, mtp_speedup  MTP drafts accepted, and tokens/s with MTP ÷ without (batch 1)
//   weight_swap_ms               loading the default model's weights into a serving engine
#include <cstdio>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/bench_util.h"
#include "bench/benches.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/device.h"
#include "core/model/model_files.h"
#include "core/model/model_loading.h"
#include "learner/collective.h"
#include "learner/sft.h"
#include "nlohmann/json.hpp"
#include "rollout/continuous_batcher.h"

namespace seamless {
namespace {

struct RunResult {
  double seconds = 0;
  int64_t tokens = 0;
  BatcherStats stats;
  double tokens_per_s() const { return tokens / std::max(seconds, 1e-9); }
};

// Generates `requests` to completion with a fresh batcher; times everything but creation.
absl::StatusOr<RunResult> RunRequests(MimoModel& model, EngineOptions options,
                                      const std::vector<GroupRequest>& requests) {
  options.max_queued_samples = 1 << 20;
  ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(model, options, /*eos_id=*/-1));
  for (const GroupRequest& r : requests) RETURN_IF_ERROR(batcher->Add(r));
  std::vector<RolloutSample> finished;
  RunResult out;
  const auto start = std::chrono::steady_clock::now();
  while (batcher->HasWork()) {
    RETURN_IF_ERROR(batcher->Step(&finished));
  }
  out.seconds = SecondsSince(start);
  for (const auto& s : finished) out.tokens += static_cast<int64_t>(s.tokens.size());
  out.stats = batcher->stats();
  return out;
}

std::vector<int32_t> RandomPrompt(std::mt19937& rng, int64_t len, int64_t vocab) {
  std::uniform_int_distribution<int32_t> id(3, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> p(len);
  for (auto& t : p) t = id(rng);
  return p;
}

GroupRequest Request(const std::string& id, std::vector<int32_t> prompt, int64_t max_new,
                     double temperature, uint64_t seed) {
  GroupRequest r;
  r.group_id = id;
  r.prompt = std::move(prompt);
  r.sampling.max_new_tokens = max_new;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  return r;
}

// "count from N:" -> " N+1 N+2 ...": text a small model learns to continue almost
// deterministically, as SFT makes a policy confident on its task's format.
std::string CountingText(int64_t from, int64_t numbers) {
  std::string text;
  for (int64_t i = 1; i <= numbers; ++i) absl::StrAppend(&text, " ", from + i);
  return text;
}

// Trains the default model (with its MTP layer, MTP loss weight 0.3) by SFT on counting
// sequences, so the benchmark has a drafter that learned something, as MiMo's did in SFT.
absl::StatusOr<MimoModel> TrainMtpModel(const Tokenizer& tokenizer, int64_t steps,
                                        const at::Device& device) {
  std::vector<RolloutSequence> data;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> start(0, 9000);
  for (int i = 0; i < 2000; ++i) {
    const int64_t from = start(rng);
    RolloutSequence seq;
    ASSIGN_OR_RETURN(seq.prompt_ids, tokenizer.Encode(absl::StrCat("count from ", from, ":")));
    ASSIGN_OR_RETURN(seq.response_ids, tokenizer.Encode(CountingText(from, 24)));
    data.push_back(std::move(seq));
  }
  MimoModel model = CreateDefaultModel(/*seed=*/3);
  model->to(device);
  SftConfig config;
  config.steps = steps;
  config.batch_size = 16;
  auto collective = SingleRankCollective();
  ASSIGN_OR_RETURN(auto trainer,
                   SftTrainer::Create(model, config, collective.get(), std::move(data)));
  for (int64_t step = 0; step < steps; ++step) {
    ASSIGN_OR_RETURN(StepOutcome outcome, trainer->Step());
    if ((step + 1) % 50 == 0 || step + 1 == steps) {
      std::printf("  SFT step %lld/%lld", static_cast<long long>(step) + 1,
                  static_cast<long long>(steps));
      for (const auto& [k, v] : outcome.metrics) {
        if (k.find("loss") != std::string::npos) std::printf("  %s %.3f", k.c_str(), v);
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  model->eval();
  return model;
}

}  // namespace

absl::Status RunBenchRollout(const std::vector<std::string>& args) {
  std::string model_name = "default", mtp_model_name, device_name = "cpu";
  int64_t requests = 256, batch = 64, prompt_len = 24, short_len = 32, long_factor = 8;
  int64_t decode_context = 128, mtp_tokens = 256, mtp_train_steps = 300;
  int64_t kv_block_tokens = EngineOptions().kv_block_tokens;
  double long_share = 0.1;
  FlagSet flags(
      "seamless bench rollout [flags]",
      "The rollout engine's figures on one model in one process: continuous vs static\n"
      "batching on long-tailed lengths, decode FLOP/s vs the matmul ceiling at batch 64,\n"
      "MTP acceptance and speed-up at batch 1, and weight swap time. Prints readable\n"
      "lines, then one JSON line.");
  flags.AddString("model", &model_name, "Model directory or 'default'");
  flags.AddString("mtp-model", &mtp_model_name,
                  "Model whose MTP layer was trained (e.g. an SFT checkpoint); empty: train one "
                  "here by SFT on counting sequences (--mtp-train-steps)");
  flags.AddInt("mtp-train-steps", &mtp_train_steps, "SFT steps when --mtp-model is empty");
  flags.AddString("device", &device_name, "cpu, cuda, cuda:N or auto");
  flags.AddInt("requests", &requests, "Requests in the continuous-vs-static comparison");
  flags.AddInt("batch", &batch, "Running sequences (KV slots)");
  flags.AddInt("prompt-len", &prompt_len, "Prompt tokens per request");
  flags.AddInt("short-len", &short_len, "Answer length of most requests");
  flags.AddInt("long-factor", &long_factor, "Long answers are this many times longer");
  flags.AddDouble("long-share", &long_share, "Share of requests with a long answer");
  flags.AddInt("decode-context", &decode_context,
               "Context length around which decode FLOP/s is measured");
  flags.AddInt("mtp-tokens", &mtp_tokens, "Tokens generated per MTP measurement");
  flags.AddInt("kv-block-tokens", &kv_block_tokens,
               "Tokens per KV cache block (512 on the default model: one block per sequence, "
               "the contiguous layout as a baseline)");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  ASSIGN_OR_RETURN(at::Device device, ParseDevice(device_name));
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(model_name));
  MimoModel model = loaded.model;
  model->to(device);
  const ModelConfig& c = model->config();
  const int64_t vocab = c.vocab_size;
  std::printf("model: %s on %s, %lld parameters\n", model_name.c_str(), device.str().c_str(),
              static_cast<long long>(c.ParameterCount()));
  std::mt19937 rng(1234);

  // 1. Continuous vs static batching on a long-tailed length distribution.
  std::vector<GroupRequest> tail;
  std::bernoulli_distribution is_long(long_share);
  int64_t long_count = 0;
  for (int64_t i = 0; i < requests; ++i) {
    const bool long_answer = is_long(rng);
    long_count += long_answer;
    tail.push_back(Request(absl::StrCat("r", i), RandomPrompt(rng, prompt_len, vocab),
                           long_answer ? short_len * long_factor : short_len, 1.0, i));
  }
  EngineOptions plain;
  plain.max_running = batch;
  plain.speculative = Speculative::kOff;
  plain.kv_block_tokens = kv_block_tokens;
  EngineOptions fixed = plain;
  fixed.continuous = false;
  ASSIGN_OR_RETURN(RunResult static_run, RunRequests(model, fixed, tail));
  ASSIGN_OR_RETURN(RunResult continuous_run, RunRequests(model, plain, tail));
  const double continuous_vs_static = continuous_run.tokens_per_s() / static_run.tokens_per_s();
  std::printf("continuous batching:  %8.0f tokens/s, %lld steps (%lld requests, %lld long)\n",
              continuous_run.tokens_per_s(),
              static_cast<long long>(continuous_run.stats.decode_steps),
              static_cast<long long>(requests), static_cast<long long>(long_count));
  std::printf("static batching:      %8.0f tokens/s, %lld steps\n", static_run.tokens_per_s(),
              static_cast<long long>(static_run.stats.decode_steps));
  std::printf("continuous / static:  %8.2f\n", continuous_vs_static);

  // 2. Decode FLOP/s at a full batch vs the matmul ceiling, measured in alternation. Every
  //    sequence starts at decode_context/2 tokens and decodes decode_context/2 more, so the
  //    mean context is ~3/4 decode_context.
  MatmulPeak peak(device);
  const int64_t half = decode_context / 2;
  std::vector<GroupRequest> full;
  for (int64_t i = 0; i < batch; ++i) {
    full.push_back(Request(absl::StrCat("d", i), RandomPrompt(rng, half, vocab), half, 1.0, i));
  }
  double decode_flops = 0;
  for (int64_t step = 1; step < half; ++step) {  // token 0 comes from the prefill
    decode_flops += batch * DecodeTokenFlops(c, half + step);
  }
  double best_matmul = 1e30, best_decode = 1e30;
  for (int round = 0; round < 3; ++round) {
    best_matmul = std::min(best_matmul, peak.MeasureSeconds());
    EngineOptions one_batch = plain;
    one_batch.prefill_tokens_per_step = 1 << 30;
    ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(model, one_batch, -1));
    for (const auto& r : full) RETURN_IF_ERROR(batcher->Add(r));
    std::vector<RolloutSample> finished;
    RETURN_IF_ERROR(batcher->Step(&finished));  // admission (prefill) and the first decode
    const auto start = std::chrono::steady_clock::now();
    while (batcher->HasWork()) RETURN_IF_ERROR(batcher->Step(&finished));
    SyncDevice(device);
    best_decode = std::min(best_decode, SecondsSince(start));
  }
  // The timed steps are decode steps 2..half-1 of the first (admission) step's batch.
  const double decode_flops_timed = decode_flops - batch * DecodeTokenFlops(c, half + 1);
  const double matmul_gflops = peak.flops() / best_matmul / 1e9;
  const double decode_gflops = decode_flops_timed / best_decode / 1e9;
  const double decode_tps = double(batch) * (half - 2) / best_decode;
  const double decode_ratio = decode_gflops / matmul_gflops;
  std::printf("fp32 matmul ceiling:  %8.1f GFLOP/s\n", matmul_gflops);
  std::printf("decode b%lld:          %8.0f tokens/s, %.1f GFLOP/s, %.2f of the ceiling\n",
              static_cast<long long>(batch), decode_tps, decode_gflops, decode_ratio);

  // 3. MTP speculative decoding at batch 1, on a model whose MTP layer was trained.
  MimoModel mtp_model{nullptr};
  std::string mtp_source = mtp_model_name;
  std::vector<std::vector<int32_t>> mtp_prompts;
  ASSIGN_OR_RETURN(auto char_tokenizer, LoadTokenizerOrDefault("default"));
  if (!mtp_model_name.empty()) {
    ASSIGN_OR_RETURN(LoadedModel other, LoadModelOrDefault(mtp_model_name));
    mtp_model = other.model;
    mtp_model->to(device);
    for (int i = 0; i < 4; ++i) mtp_prompts.push_back(RandomPrompt(rng, prompt_len, vocab));
  } else {
    std::printf("training an MTP drafter: SFT of the default model on counting sequences\n");
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(mtp_model, TrainMtpModel(*char_tokenizer, mtp_train_steps, device));
    mtp_source = absl::StrCat("default + ", mtp_train_steps, " SFT steps (counting)");
    std::printf("  trained in %.1f s\n", SecondsSince(start));
    for (int64_t from : {1234, 50, 7007, 321}) {
      ASSIGN_OR_RETURN(auto ids, char_tokenizer->Encode(absl::StrCat("count from ", from, ":")));
      mtp_prompts.push_back(ids);
    }
  }
  nlohmann::json mtp = nullptr;
  if (mtp_model->config().num_nextn_predict_layers > 0) {
    std::vector<GroupRequest> one;
    for (size_t i = 0; i < mtp_prompts.size(); ++i) {
      one.push_back(Request(absl::StrCat("m", i), mtp_prompts[i], mtp_tokens, 1.0, 100 + i));
    }
    EngineOptions b1;
    b1.max_running = 1;
    b1.speculative = Speculative::kOff;
    b1.kv_block_tokens = kv_block_tokens;
    EngineOptions b1_spec = b1;
    b1_spec.speculative = Speculative::kOn;
    double best_plain = 1e30, best_spec = 1e30;
    RunResult spec_run;
    for (int round = 0; round < 3; ++round) {
      ASSIGN_OR_RETURN(RunResult p, RunRequests(mtp_model, b1, one));
      ASSIGN_OR_RETURN(RunResult s, RunRequests(mtp_model, b1_spec, one));
      best_plain = std::min(best_plain, p.seconds / p.tokens);
      best_spec = std::min(best_spec, s.seconds / s.tokens);
      spec_run = s;
    }
    const double acceptance =
        double(spec_run.stats.accepted_tokens) / std::max<int64_t>(1, spec_run.stats.draft_tokens);
    const double speedup = best_plain / best_spec;
    std::printf("MTP (%s) b1:  acceptance %.3f, %.0f vs %.0f tokens/s, speed-up %.2f\n",
                mtp_source.c_str(), acceptance, 1 / best_spec, 1 / best_plain, speedup);
    mtp = {{"model", mtp_source},
           {"temperature", 1.0},
           {"acceptance", acceptance},
           {"tokens_per_s", 1 / best_spec},
           {"tokens_per_s_without", 1 / best_plain},
           {"speedup", speedup}};
  }

  // 4. Weight swap: prepare (validate, convert, copy to the device) and apply, against a plain
  //    copy of the same bytes.
  ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(model));
  int64_t bytes = 0;
  for (const auto& [name, t] : weights) bytes += static_cast<int64_t>(t.data.size());
  std::vector<char> src(bytes, 1), dst(bytes);
  const double copy_s = BestSeconds(device, 5, [&] { std::memcpy(dst.data(), src.data(), bytes); });
  double prepare_s = 1e30, apply_s = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(PreparedWeights prepared, PrepareWeights(model, weights, "bench"));
    prepare_s = std::min(prepare_s, SecondsSince(start));
    start = std::chrono::steady_clock::now();
    ApplyPreparedWeights(prepared);
    SyncDevice(device);
    apply_s = std::min(apply_s, SecondsSince(start));
  }
  const double swap_ms = (prepare_s + apply_s) * 1e3;
  std::printf(
      "weight swap:          %.2f ms (%.1f MB: prepare %.2f ms beside generation, "
      "pause %.2f ms), plain copy %.2f ms, ratio %.1f\n",
      swap_ms, bytes / 1e6, prepare_s * 1e3, apply_s * 1e3, copy_s * 1e3,
      (prepare_s + apply_s) / copy_s);

  nlohmann::json out = {{"bench", "rollout"},
                        {"device", device.str()},
                        {"batch", batch},
                        {"continuous_tokens_per_s", continuous_run.tokens_per_s()},
                        {"static_tokens_per_s", static_run.tokens_per_s()},
                        {"continuous_vs_static", continuous_vs_static},
                        {"matmul_gflops", matmul_gflops},
                        {"decode_tokens_per_s_b64", decode_tps},
                        {"decode_gflops", decode_gflops},
                        {"decode_flops_vs_matmul_peak", decode_ratio},
                        {"mtp", mtp},
                        {"mtp_acceptance", mtp.is_null() ? nlohmann::json() : mtp["acceptance"]},
                        {"mtp_speedup", mtp.is_null() ? nlohmann::json() : mtp["speedup"]},
                        {"weight_bytes", bytes},
                        {"weight_swap_ms", swap_ms},
                        {"weight_swap_pause_ms", apply_s * 1e3},
                        {"plain_copy_ms", copy_s * 1e3},
                        {"weight_swap_vs_copy", (prepare_s + apply_s) / copy_s}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
