#include "learner/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/base/file_util.h"
#include "core/model/model_config.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

namespace fs = std::filesystem;

RawTensor Floats(std::vector<float> v) {
  RawTensor t;
  t.dtype = DType::kF32;
  t.shape = {int64_t(v.size())};
  t.data.assign(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  return t;
}

CheckpointState State(int64_t step) {
  CheckpointState s;
  s.step = step;
  s.policy_version = step * 2;
  s.skipped_updates = 1;
  s.optimizer_step = step * 3;
  s.rng_state = std::string("\x00\x01\xff rng", 7);
  s.config_yaml = "lr: 0.1\n";
  return s;
}

absl::StatusOr<std::string> Save(const std::string& root, int64_t step, int64_t keep = 3) {
  RawTensorMap w{{"w", Floats({float(step), 2})}};
  RawTensorMap o{{"exp_avg.w", Floats({0.5, float(step)})}};
  return SaveCheckpoint(root, ModelConfig(), w, o, State(step), keep,
                        {{"seamless_tokenizer.json", "{}"}});
}

// One tensor of a checkpoint file, read as the importers read it.
RawTensor Get(const TensorProvider& file, const std::string& name) {
  RawTensor out;
  absl::Status read = file.With(name, "checkpoint", [&](const RawTensor& raw) {
    out = raw;
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return out;
}

TEST(CheckpointTest, RoundTripsEverything) {
  const std::string root = testing::TestTempDir();
  auto path = Save(root, 4);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, root + "/step_00000004");
  EXPECT_EQ(*ReadFileToString(root + "/latest"), "step_00000004\n");
  for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors",
                        "trainer_state.json", "learner_config.yaml", "seamless_tokenizer.json"}) {
    EXPECT_TRUE(FileExists(*path + "/" + f)) << f;
  }
  auto loaded = LoadLatestCheckpoint(root);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  const CheckpointContents& c = **loaded;
  EXPECT_EQ(c.state.step, 4);
  EXPECT_EQ(c.state.policy_version, 8);
  EXPECT_EQ(c.state.skipped_updates, 1);
  EXPECT_EQ(c.state.optimizer_step, 12);
  EXPECT_EQ(c.state.rng_state, State(4).rng_state);
  EXPECT_EQ(c.state.config_yaml, "lr: 0.1\n");
  EXPECT_EQ(Get(*c.weights, "w"), Floats({4, 2}));
  EXPECT_EQ(Get(*c.optimizer, "exp_avg.w"), Floats({0.5, 4}));
  EXPECT_EQ(c.weights->Names(), std::vector<std::string>{"w"});
}

TEST(CheckpointTest, EmptyRootHasNoCheckpoint) {
  auto loaded = LoadLatestCheckpoint(testing::TestTempDir());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST(CheckpointTest, CorruptNewestFallsBackToPreviousComplete) {
  const std::string root = testing::TestTempDir();
  ASSERT_TRUE(Save(root, 1).ok());
  ASSERT_TRUE(Save(root, 2).ok());
  // Flip a byte of the newest weights: the checksum catches it.
  const std::string file = root + "/step_00000002/model.safetensors";
  std::string bytes = *ReadFileToString(file);
  bytes[bytes.size() - 1] ^= 1;
  ASSERT_TRUE(WriteFileAtomically(file, bytes).ok());
  auto direct = LoadCheckpoint(root + "/step_00000002");
  EXPECT_FALSE(direct.ok());
  EXPECT_NE(direct.status().message().find("checksum"), std::string::npos) << direct.status();
  auto loaded = LoadLatestCheckpoint(root);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->state.step, 1);
}

TEST(CheckpointTest, TruncatedOrUnfinishedCheckpointsAreSkipped) {
  const std::string root = testing::TestTempDir();
  ASSERT_TRUE(Save(root, 1).ok());
  ASSERT_TRUE(Save(root, 2).ok());
  fs::resize_file(root + "/step_00000002/optimizer.safetensors", 10);
  // A crash between the rename and the manifest cannot happen (the manifest is written
  // before the rename), but a directory without one must still be ignored.
  ASSERT_TRUE(MakeDirectories(root + "/step_00000003").ok());
  ASSERT_TRUE(MakeDirectories(root + "/.tmp-step_00000004-1").ok());
  auto loaded = LoadLatestCheckpoint(root);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->state.step, 1);
}

TEST(CheckpointTest, NothingUsableIsAnError) {
  const std::string root = testing::TestTempDir();
  ASSERT_TRUE(Save(root, 1).ok());
  fs::remove(root + "/step_00000001/trainer_state.json");
  auto loaded = LoadLatestCheckpoint(root);
  EXPECT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("no usable checkpoint"), std::string::npos);
}

TEST(CheckpointTest, KeepsTheNewest) {
  const std::string root = testing::TestTempDir();
  for (int64_t step = 1; step <= 4; ++step) ASSERT_TRUE(Save(root, step, /*keep=*/2).ok());
  EXPECT_FALSE(fs::exists(root + "/step_00000001"));
  EXPECT_FALSE(fs::exists(root + "/step_00000002"));
  EXPECT_TRUE(fs::exists(root + "/step_00000003"));
  EXPECT_TRUE(fs::exists(root + "/step_00000004"));
}

}  // namespace
}  // namespace seamless
