// `seamless init-model --like` and `seamless plan`, as a user runs them (small shapes only;
// the published ones are tried by hand, see README "Real-size models").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

// A small config.json in HF's layout.
std::string WriteConfig(const std::string& dir, int vocab) {
  std::string path = dir + "/small_config.json";
  const std::string text = R"({"model_type": "qwen2", "vocab_size": )" + std::to_string(vocab) +
                           R"(, "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
      "max_position_embeddings": 256, "bos_token_id": 1, "eos_token_id": 2})";
  EXPECT_TRUE(WriteFileAtomically(path, text).ok());
  return path;
}

TEST(ModelSizeCliTest, PlanSaysMimo7bFitsEightGpusFullySharded) {
  auto r = RunCommand(Bin() +
                      " plan --like mimo-7b --gpus 8 --gpu-memory 141GiB "
                      "--sharding full --precision bf16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fits: yes"));
  EXPECT_THAT(r.out, HasSubstr("x 4 B fp32 master / 4 ranks"));
  const nlohmann::json j = LastJsonLine(r.out);
  EXPECT_TRUE(j["fits"].get<bool>());
  for (const char* key : {"weights_gib", "gradients_gib", "optimizer_gib", "buffers_gib",
                          "activations_gib", "total_gib"}) {
    EXPECT_GT(j["learner"][key].get<double>(), 0) << key;
  }
  EXPECT_GT(j["rollout"]["kv_tokens"].get<int64_t>(), 32768);
}

// Unsharded, MiMo-7B's 16 B/param of state (117 GiB) plus activations just fits an H200's
// 141 GiB (one layer cast to bf16 at a time, no whole bf16 copy) but not an H100's 80.
TEST(ModelSizeCliTest, PlanSaysUnshardedMimo7bDoesNotFitAnH100AndWhy) {
  auto r = RunCommand(Bin() +
                      " plan --like mimo-7b --gpus 8 --gpu-memory 80GiB "
                      "--sharding none --precision bf16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("DOES NOT FIT"));
  EXPECT_THAT(r.out, HasSubstr("GiB per rank, 80.0 GiB available"));
  EXPECT_THAT(r.out, HasSubstr("full ("));
  EXPECT_FALSE(LastJsonLine(r.out)["fits"].get<bool>());
}

TEST(ModelSizeCliTest, PlanRejectsBadFlags) {
  auto both = RunCommand(Bin() + " plan --like mimo-7b --model /tmp");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.err, HasSubstr("one of --model DIR or --like NAME"));
  auto size = RunCommand(Bin() + " plan --like mimo-7b --gpu-memory lots");
  EXPECT_THAT(size.err, HasSubstr("size 'lots'"));
  auto split =
      RunCommand(Bin() + " plan --like mimo-7b --gpus 2 --learner-gpus 2 --rollout-gpus 1");
  EXPECT_THAT(split.err, HasSubstr("together they have 2 GPUs"));
}

TEST(ModelSizeCliTest, InitModelLikeAConfigThenGenerateAndPlanIt) {
  const std::string dir = testing::TestTempDir();
  const std::string config = WriteConfig(dir, 128);
  // The default model directory carries the character tokenizer (100 ids).
  ASSERT_EQ(RunCommand(Bin() + " init-model --out " + dir + "/default").exit_code, 0);
  auto r = RunCommand(Bin() + " init-model --like " + config + " --out " + dir +
                      "/m --dtype f32 --mtp-layers 1 --seed 3 --tokenizer " + dir + "/default");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("the files agree with ModelConfig::ParameterCount"));
  EXPECT_TRUE(FileExists(dir + "/m/seamless_tokenizer.json"));
  auto gen =
      RunCommand(Bin() + " generate --model " + dir + "/m --max-new-tokens 3 --temperature 0 1+1=");
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto inspect = RunCommand(Bin() + " inspect-model --model " + dir + "/m");
  EXPECT_THAT(inspect.out, HasSubstr("model.mtp_layers.0.input_proj.weight"));
  EXPECT_THAT(inspect.out, HasSubstr("F32"));
  auto plan = RunCommand(Bin() + " plan --model " + dir + "/m --gpu-memory 4GiB");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_TRUE(LastJsonLine(plan.out)["fits"].get<bool>());
}

TEST(ModelSizeCliTest, InitModelRefusesATokenizerPastTheVocabulary) {
  const std::string dir = testing::TestTempDir();
  const std::string config = WriteConfig(dir, 50);
  ASSERT_EQ(RunCommand(Bin() + " init-model --out " + dir + "/default").exit_code, 0);
  auto r = RunCommand(Bin() + " init-model --like " + config + " --out " + dir + "/m --tokenizer " +
                      dir + "/default");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir + "/default/seamless_tokenizer.json: ids go up to 99"));
  EXPECT_THAT(r.err, HasSubstr("key 'vocab_size' is 50, so ids must be in [0, 49]"));
  EXPECT_FALSE(FileExists(dir + "/m/config.json")) << "nothing written";
}

TEST(ModelSizeCliTest, InitModelWithoutLikeStillWritesTheDefault) {
  const std::string dir = testing::TestTempDir();
  auto r = RunCommand(Bin() + " init-model --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(FileExists(dir + "/seamless_tokenizer.json"));
  auto bad = RunCommand(Bin() + " init-model --out " + dir + " --like qwen9");
  EXPECT_THAT(bad.err, HasSubstr("not a known model (qwen2.5-0.5b, qwen2.5-1.5b, mimo-7b)"));
}

}  // namespace
}  // namespace seamless
