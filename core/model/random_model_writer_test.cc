#include "core/model/random_model_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/base/file_util.h"
#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/tensors/safetensors.h"
#include "nlohmann/json.hpp"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

ModelConfig Config() {
  ModelConfig c = TinyTestConfig();
  c.vocab_size = 3000;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_attention_heads = 4;
  c.tie_word_embeddings = false;
  return c;
}

RandomModelOptions Options(DType dtype, uint64_t seed) {
  RandomModelOptions o;
  o.dtype = dtype;
  o.seed = seed;
  return o;
}

TEST(RandomModelWriterTest, LoadsWithHfInitialisation) {
  const ModelConfig c = Config();
  const std::string dir = testing::TestTempDir();
  std::vector<std::string> progress;
  RandomModelOptions o = Options(DType::kF32, 7);
  uint64_t last_done = 0, last_total = 0;
  o.progress = [&](const std::string& name, uint64_t done, uint64_t total) {
    progress.push_back(name);
    last_done = done;
    last_total = total;
  };
  ASSERT_TRUE(WriteRandomModelDir(c, dir, o).ok());
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(last_total, RandomModelBytes(c, DType::kF32));
  auto model = LoadModelDir(dir);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(progress.size(), (*model)->named_parameters().size());
  int64_t total = 0;
  for (const auto& item : (*model)->named_parameters()) {
    const std::string& name = item.key();
    const at::Tensor& p = item.value();
    total += p.numel();
    if (name.find("norm") != std::string::npos) {
      EXPECT_TRUE(p.eq(1).all().item<bool>()) << name;
    } else if (name.size() > 4 && name.substr(name.size() - 4) == "bias") {
      EXPECT_TRUE(p.eq(0).all().item<bool>()) << name;
    } else {
      EXPECT_NEAR(p.mean().item<double>(), 0.0, 0.004) << name;
      EXPECT_NEAR(p.std().item<double>(), 0.02, 0.002) << name;
    }
  }
  EXPECT_EQ(total, c.ParameterCount());
  auto config = nlohmann::json::parse(*ReadFileToString(dir + "/config.json"));
  EXPECT_EQ(config["torch_dtype"], "float32");
}

TEST(RandomModelWriterTest, DeterministicFromTheSeedAlone) {
  const ModelConfig c = Config();
  const std::string a = testing::TestTempDir("a"), b = testing::TestTempDir("b"),
                    sharded = testing::TestTempDir("sharded"), other = testing::TestTempDir("c");
  ASSERT_TRUE(WriteRandomModelDir(c, a, Options(DType::kBF16, 3)).ok());
  ASSERT_TRUE(WriteRandomModelDir(c, b, Options(DType::kBF16, 3)).ok());
  EXPECT_EQ(*ReadFileToString(a + "/model.safetensors"),
            *ReadFileToString(b + "/model.safetensors"));
  RandomModelOptions small_shards = Options(DType::kBF16, 3);
  small_shards.max_shard_bytes = 64 << 10;
  ASSERT_TRUE(WriteRandomModelDir(c, sharded, small_shards).ok());
  EXPECT_TRUE(FileExists(sharded + "/model.safetensors.index.json"));
  EXPECT_FALSE(FileExists(sharded + "/model.safetensors"));
  EXPECT_EQ(*ReadSafetensorsDir(sharded), *ReadSafetensorsDir(a)) << "same weights in shards";
  ASSERT_TRUE(WriteRandomModelDir(c, other, Options(DType::kBF16, 4)).ok());
  EXPECT_FALSE(ReadSafetensorsDir(other)->at("model.embed_tokens.weight") ==
               ReadSafetensorsDir(a)->at("model.embed_tokens.weight"));
  auto config = nlohmann::json::parse(*ReadFileToString(a + "/config.json"));
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
}

TEST(RandomModelWriterTest, RewritingReplacesEarlierShards) {
  const ModelConfig c = Config();
  const std::string dir = testing::TestTempDir();
  RandomModelOptions sharded = Options(DType::kF32, 1);
  sharded.max_shard_bytes = 64 << 10;
  ASSERT_TRUE(WriteRandomModelDir(c, dir, sharded).ok());
  ASSERT_TRUE(WriteRandomModelDir(c, dir, Options(DType::kBF16, 2)).ok());
  EXPECT_FALSE(FileExists(dir + "/model.safetensors.index.json"));
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    files += f.path().extension() == ".safetensors";
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(ReadSafetensorsDir(dir)->at("model.norm.weight").dtype, DType::kBF16);
}

TEST(RandomModelWriterTest, RefusesOtherDtypesAndBadConfigs) {
  EXPECT_FALSE(WriteRandomModelDir(Config(), testing::TestTempDir(), Options(DType::kI32, 0)).ok());
  ModelConfig bad = Config();
  bad.num_attention_heads = 5;
  EXPECT_THAT(WriteRandomModelDir(bad, testing::TestTempDir(), Options(DType::kF32, 0)).message(),
              ::testing::HasSubstr("num_attention_heads"));
}

}  // namespace
}  // namespace seamless
