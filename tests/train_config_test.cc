// `seamless train` carries every setting to its role: each key of config.yaml is changed from
// its default (by its C++ type, so a key added later is covered without touching this test),
// `seamless train --print-config` writes each role's config file, and each role, started
// with that file as train starts it, resolves exactly the values train put there. And train
// refuses bad settings, data and models before anything starts.
#include "scheduler/train_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;
using testing::RunCommand;

using testing::LastJsonLine;

std::string Bin() { return testing::SeamlessBinary(); }

// Changes every field from its value by type: bools flip, integers + 1, reals halve (0 ->
// 0.25), lists grow, strings and enums take the next valid value of their key (a string
// without one gets a suffix, an enum the next value of its table). Keys that
// train sets itself, and data paths, keep their value.
class Perturb {
 public:
  explicit Perturb(std::string prefix = "") : prefix_(std::move(prefix)) {}

  template <typename T>
  void operator()(const char* key, T& field, const char* /*help*/) {
    const std::string path = prefix_.empty() ? key : prefix_ + "." + key;
    static const std::set<std::string> kKept = {
        "model", "train_data", "val_data", "sft.data", "learner.model", "learner.checkpoint_dir",
        "learner.rollout_workers", "learner.resume",
        // Keep the run light: --print-config starts nothing, but train checks memory.
        "rollout_workers", "reward_servers", "learner_ranks"};
    if (kKept.count(path)) return;
    static const std::map<std::string, std::string> kNext = {
        {"learner.trainer.sharding", "full"},
        {"learner.trainer.precision", "bf16"},
        {"learner.trainer.grpo.loss_agg_mode", "seq-mean-token-sum"},
        {"learner.trainer.grpo.old_logprobs", "recompute"},
        {"learner.trainer.optim.schedule", "constant"},
        {"learner.publish_dtype", "BF16"},
        {"learner.backend", "nccl"},
        {"learner.device", "cuda:1"},
        {"rollout.device", "cuda:0"},
        {"rollout.speculative", "off"},
        {"reward.code.mode", "strict"},
        {"reward.code.comparison", "exact"},
        {"sft.schedule", "cosine"},
        {"task.solution_style", "steps"}};
    if constexpr (internal::HasVisitFields<T>::value) {
      Perturb nested(path);
      field.VisitFields(nested);
    } else if constexpr (std::is_same_v<T, bool>) {
      field = !field;
    } else if constexpr (internal::HasConfigEnumNames<T>::value) {
      // The value named for the key, else the next one of the enum's table.
      auto it = kNext.find(path);
      if (it != kNext.end()) {
        field = *EnumFromString<T>(it->second);
      } else {
        auto names = ConfigEnumNames(field);
        for (size_t i = 0; i < names.size(); ++i) {
          if (names[i].value == field) {
            field = names[(i + 1) % names.size()].value;
            break;
          }
        }
      }
    } else if constexpr (std::is_integral_v<T>) {
      field = field + 1;
    } else if constexpr (std::is_floating_point_v<T>) {
      field = field == 0 ? T(0.25) : field / 2;
    } else if constexpr (std::is_same_v<T, std::string>) {
      auto it = kNext.find(path);
      field = it != kNext.end() ? it->second : field + "_x";
    } else {  // a list
      if constexpr (std::is_same_v<typename T::value_type, std::string>) {
        field.push_back("</x>");
      } else if constexpr (std::is_floating_point_v<typename T::value_type>) {
        for (auto& v : field) v /= 2;
        field.push_back(0.5);
      } else {
        field.push_back(7);
      }
    }
  }

 private:
  std::string prefix_;
};

// The first line where two YAML texts differ, for a readable failure.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::vector<std::string> a = absl::StrSplit(want, '\n'), b = absl::StrSplit(got, '\n');
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "<end>", y = i < b.size() ? b[i] : "<end>";
    if (x != y) return absl::StrCat("line ", i + 1, ": want '", x, "', got '", y, "'");
  }
  return "";
}

TEST(TrainConfigTest, EveryKeyReachesItsRole) {
  const std::string dir = testing::TestTempDir("carriage");
  TrainConfig config;
  Perturb perturb;
  config.VisitFields(perturb);
  const std::string config_path = dir + "/train.yaml";
  ASSERT_TRUE(WriteFileAtomically(config_path, ConfigToYaml(config)).ok());

  auto r = RunCommand(Bin() + " train --config " + config_path + " --out " + dir +
                      "/run --print-config");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json printed = LastJsonLine(r.out);
  const std::string run = dir + "/run";
  {
    auto read = ReadFileToString(run + "/config.yaml");
    ASSERT_TRUE(read.ok()) << read.status();
    const std::string& resolved = *read;
    EXPECT_EQ(resolved, ConfigToYaml(config)) << FirstDifference(ConfigToYaml(config), resolved);
  }

  // What each role's file must hold: its section as given, plus what train decides.
  LearnerConfig learner = config.learner;
  learner.model = run + "/sft_model";  // sft.steps > 0: the learner starts from the warm start
  learner.checkpoint_dir = run + "/checkpoints";
  learner.resume = false;
  learner.rollout_workers = "";  // known once the workers listen (written again then)
  auto run_id = ReadFileToString(run + "/run_id");  // the run's, made by train
  ASSERT_TRUE(run_id.ok()) << run_id.status();
  learner.run_id = std::string(absl::StripAsciiWhitespace(*run_id));
  EXPECT_FALSE(learner.run_id.empty());
  const std::map<std::string, std::pair<std::string, std::string>> roles = {
      {"rollout", {ConfigToYaml(config.rollout), "rollout-worker"}},
      {"reward", {ConfigToYaml(config.reward), "reward-server"}},
      {"scheduler", {ConfigToYaml(config.scheduler), "scheduler"}},
      {"learner", {ConfigToYaml(learner), "learner"}}};
  for (const auto& [role, expected] : roles) {
    SCOPED_TRACE(role);
    const std::string file = printed["roles"][role].get<std::string>();
    auto text = ReadFileToString(file);
    ASSERT_TRUE(text.ok()) << file;
    EXPECT_EQ(*text, expected.first) << FirstDifference(expected.first, *text);
    // The role reads the file as train starts it (`ROLE --config FILE`) and resolves it
    // unchanged: nothing is dropped, renamed or defaulted on the way.
    auto role_run =
        RunCommand(Bin() + " " + expected.second + " --config " + file + " --print-config");
    ASSERT_EQ(role_run.exit_code, 0) << role_run.err;
    EXPECT_EQ(role_run.out, expected.first) << FirstDifference(expected.first, role_run.out);
  }

  // The keys that were dropped before (rollout.*) and the learner's sharding keys, by name.
  const YAML::Node rollout = YAML::Load(
      RunCommand(Bin() + " rollout-worker --config " + run + "/rollout.yaml --print-config").out);
  EXPECT_EQ(rollout["continuous"].as<bool>(), false);
  EXPECT_EQ(rollout["share_prefill"].as<bool>(), false);
  EXPECT_EQ(rollout["prefill_tokens_per_step"].as<int64_t>(), 2049);
  EXPECT_EQ(rollout["kv_cache_tokens"].as<int64_t>(), 1);
  EXPECT_EQ(rollout["kv_block_tokens"].as<int64_t>(), 17);
  EXPECT_EQ(rollout["device"].as<std::string>(), "cuda:0");
  const YAML::Node learner_printed = YAML::Load(
      RunCommand(Bin() + " learner --config " + run + "/learner.yaml --print-config").out);
  const YAML::Node trainer = learner_printed["trainer"];
  EXPECT_EQ(trainer["sharding"].as<std::string>(), "full");
  EXPECT_EQ(trainer["precision"].as<std::string>(), "bf16");
  EXPECT_EQ(trainer["activation_checkpointing"].as<bool>(), true);
  EXPECT_EQ(trainer["max_tokens_per_micro_batch"].as<int64_t>(), 1);
  EXPECT_EQ(learner_printed["device"].as<std::string>(), "cuda:1");
  EXPECT_EQ(learner_printed["backend"].as<std::string>(), "nccl");

  // The SFT warm start's file (`seamless sft --config`): the sft section's keys.
  const YAML::Node sft = YAML::LoadFile(printed["roles"]["sft"].get<std::string>());
  EXPECT_EQ(sft["steps"].as<int64_t>(), config.sft.steps);
  EXPECT_EQ(sft["batch_size"].as<int64_t>(), config.sft.batch_size);
  EXPECT_DOUBLE_EQ(sft["mtp_loss_weight"].as<double>(), config.sft.mtp_loss_weight);
  EXPECT_DOUBLE_EQ(sft["optim"]["lr"].as<double>(), config.sft.lr);
  EXPECT_EQ(sft["optim"]["warmup_steps"].as<int64_t>(), config.sft.warmup_steps);
  EXPECT_EQ(sft["optim"]["schedule"].as<std::string>(), EnumToString(config.sft.schedule));
  EXPECT_EQ(sft["seed"].as<uint64_t>(), config.seed);
}

TEST(TrainConfigTest, BadSettingsAreRefusedBeforeAnythingStarts) {
  const std::string dir = testing::TestTempDir("bad_settings");
  struct Case {
    std::string yaml, message;
  };
  const std::vector<Case> cases = {
      {"learner:\n  trainer:\n    sharding: zero3\n",
       "learner.trainer.sharding is 'zero3'; valid values: none | optimizer | gradients | full"},
      {"scheduler:\n  group_size: 1\n", "scheduler.group_size is 1; valid range [2, 4096]"},
      {"learner_ranks: 0\n", "learner_ranks is 0; valid range [1, 64]"},
      {"rollout:\n  max_running: 0\n", "rollout.max_running must be at least 1"},
      {"scheduler:\n  sampling:\n    top_p: 1.5\n",
       "scheduler.sampling.top_p 1.5 must be in (0, 1]"},
      {"learner:\n  model: /somewhere\n", "learner.model is set by seamless train"},
      {"rollout:\n  kv_cache_tokenz: 4096\n", "bad.yaml:2"},
      // Modes are parsed at load and ranges checked there, at the key's line.
      {"learner:\n  trainer:\n    grpo:\n      old_logprobs: cached\n",
       "bad.yaml:4: learner.trainer.grpo.old_logprobs is 'cached'; valid values: rollout | "
       "recompute"},
      {"rollout:\n  speculative: maybe\n",
       "bad.yaml:2: rollout.speculative is 'maybe'; valid values: auto | on | off"},
      {"scheduler:\n  batch_groups: 0\n",
       "bad.yaml:2: scheduler.batch_groups is 0; valid range [1, 1000000]"},
      {"reward:\n  runner:\n    processes: 0\n",
       "bad.yaml:3: reward.runner.processes is 0; valid range [1, 4096]"},
      // The probes of issue 15, each refused at its line with its range.
      {"reward:\n  runner:\n    memory_bytes: 0\n",
       "bad.yaml:3: reward.runner.memory_bytes is 0; valid range [16777216, 1099511627776]"},
      {"reward:\n  runner:\n    time_limit_seconds: 0\n",
       "bad.yaml:3: reward.runner.time_limit_seconds is 0; valid range [0.001, 86400]"},
      {"learner:\n  trainer:\n    optim:\n      lr: -1\n",
       "bad.yaml:4: learner.trainer.optim.lr is -1; valid range [1e-12, 10]"},
      {"scheduler:\n  lease_seconds: 1e300\n",
       "bad.yaml:2: scheduler.lease_seconds is 1e+300; valid range [0.001, 1000000]"},
      {"rollout_workers: 1000\n", "bad.yaml:1: rollout_workers is 1000; valid range [1, 256]"},
      // Hundreds of GiB of activations for the built-in task (23 GB and running before).
      {"sft:\n  batch_size: 100000\n", "the SFT warm start needs"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    ASSERT_TRUE(WriteFileAtomically(absl::StrCat(dir, "/bad.yaml"), c.yaml).ok());
    auto r =
        RunCommand(absl::StrCat(Bin(), " train --config ", dir, "/bad.yaml --out ", dir, "/run"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_FALSE(FileExists(dir + "/run")) << "nothing may start (no run directory)";
  }
}

// Each role checks its own file the same way (as `ROLE --config FILE` starts it).
TEST(TrainConfigTest, EachRoleRefusesABadSettingAtItsLine) {
  const std::string dir = testing::TestTempDir("role_settings");
  struct Case {
    std::string role, yaml, message;
  };
  const std::vector<Case> cases = {
      {"scheduler", "steps: 3\nmax_staleness: -1\n",
       "role.yaml:2: max_staleness is -1; valid range [0, 1000000]"},
      {"reward-server", "runner:\n  time_limit_seconds: 0\n",
       "role.yaml:2: runner.time_limit_seconds is 0; valid range [0.001, 86400]"},
      {"learner", "trainer:\n  sharding: zero3\n",
       "role.yaml:2: trainer.sharding is 'zero3'; valid values: none | optimizer | gradients | "
       "full"},
      {"rollout-worker", "max_running: 0\n", "role.yaml:1: max_running must be at least 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.role);
    ASSERT_TRUE(WriteFileAtomically(dir + "/role.yaml", c.yaml).ok());
    auto r = RunCommand(Bin() + " " + c.role + " --config " + dir + "/role.yaml --print-config");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr(c.message));
  }
}

// A model directory with a config.json and the character tokenizer, but no weights: what
// train refuses must be refused before it would load them.
std::string WriteModelDir(const std::string& dir, const std::string& config_json) {
  EXPECT_EQ(RunCommand(Bin() + " init-model --out " + dir + "/default").exit_code, 0);
  std::string model = dir + "/model";
  EXPECT_TRUE(MakeDirectories(model).ok());
  EXPECT_TRUE(WriteFileAtomically(model + "/config.json", config_json).ok());
  auto tokenizer = ReadFileToString(dir + "/default/seamless_tokenizer.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  if (tokenizer.ok()) {
    EXPECT_TRUE(WriteFileAtomically(model + "/seamless_tokenizer.json", *tokenizer).ok());
  }
  return model;
}

std::string VerlLine(const std::string& prompt) {
  return nlohmann::json{{"data_source", "test"},
                        {"prompt", prompt},
                        {"ability", "math"},
                        {"reward_model", {{"ground_truth", "2"}}},
                        {"extra_info", nlohmann::json::object()}}
             .dump() +
         "\n";
}

TEST(TrainConfigTest, OversizedModelIsRefusedBeforeLoadingWithTheNumbers) {
  const std::string dir = testing::TestTempDir("oversized");
  // ~70B parameters: hundreds of GiB in fp32, more than any machine this runs on has free.
  const std::string model = WriteModelDir(dir, R"({"model_type": "qwen2", "vocab_size": 152064,
      "hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
      "num_attention_heads": 64, "num_key_value_heads": 8, "max_position_embeddings": 4096,
      "bos_token_id": 1, "eos_token_id": 2})");
  ASSERT_TRUE(WriteFileAtomically(dir + "/train.jsonl", VerlLine("1+1=")).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/c.yaml", "sft:\n  steps: 0\n").ok());
  auto r = RunCommand(Bin() + " train --config " + dir + "/c.yaml --model " + model +
                      " --train-data " + dir + "/train.jsonl --out " + dir + "/run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(model + ": "));
  EXPECT_THAT(r.err, HasSubstr("GiB available"));
  EXPECT_THAT(r.err, HasSubstr("; try "));
  EXPECT_FALSE(FileExists(dir + "/run"));

  // Rollout workers that fit and a learner that does not: the learner's numbers and a way out.
  const std::string mid = WriteModelDir(dir + "/mid", R"({"model_type": "qwen2",
      "vocab_size": 1000, "hidden_size": 1024, "intermediate_size": 4096,
      "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 4,
      "max_position_embeddings": 4096, "bos_token_id": 1, "eos_token_id": 2})");
  ASSERT_TRUE(WriteFileAtomically(dir + "/mid.yaml",
                                  "sft:\n  steps: 0\nrollout:\n  device: cuda\n  "
                                  "kv_cache_tokens: 64\nlearner:\n  trainer:\n    "
                                  "micro_batch_size: 1000000\n    mini_batch_groups: 1000000\n"
                                  "scheduler:\n  batch_groups: 1000000\n")
                  .ok());
  auto m = RunCommand(Bin() + " train --config " + dir + "/mid.yaml --model " + mid +
                      " --train-data " + dir + "/train.jsonl --out " + dir + "/run");
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_THAT(m.err, HasSubstr("the learner needs"));
  EXPECT_THAT(m.err, HasSubstr("GiB per rank"));
  EXPECT_THAT(m.err, HasSubstr("refused before loading the model"));
  EXPECT_FALSE(FileExists(dir + "/run"));
}

TEST(TrainConfigTest, DataPastTheContextOrTheVocabularyNamesFileAndLine) {
  const std::string dir = testing::TestTempDir("bad_data");
  ASSERT_TRUE(WriteFileAtomically(dir + "/c.yaml", "sft:\n  steps: 0\n").ok());
  // The default model: a 512-token context, the character tokenizer.
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/long.jsonl", VerlLine("1+1=") + VerlLine(std::string(600, '1')))
          .ok());
  auto r = RunCommand(Bin() + " train --config " + dir + "/c.yaml --train-data " + dir +
                      "/long.jsonl --out " + dir + "/run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir + "/long.jsonl:2: the prompt is 60"));
  EXPECT_THAT(r.err, HasSubstr("tokens a rollout sequence may hold"));
  EXPECT_FALSE(FileExists(dir + "/run"));

  // A model whose vocabulary is smaller than the tokenizer's ids ('z' is past 50).
  const std::string model = WriteModelDir(dir, R"({"model_type": "qwen2", "vocab_size": 50,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256,
      "bos_token_id": 1, "eos_token_id": 2})");
  ASSERT_TRUE(WriteFileAtomically(dir + "/vocab.jsonl", VerlLine("1+1=") + VerlLine("zzz")).ok());
  auto v = RunCommand(Bin() + " train --config " + dir + "/c.yaml --model " + model +
                      " --train-data " + dir + "/vocab.jsonl --out " + dir + "/run");
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_THAT(v.err, HasSubstr(dir + "/vocab.jsonl:2: prompt: token id "));
  EXPECT_THAT(v.err, HasSubstr("outside the model's vocabulary [0, 49]"));
  EXPECT_FALSE(FileExists(dir + "/run"));
}

}  // namespace
}  // namespace seamless
