#include "learner/checkpoint_location.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

TEST(ConfineCheckpointDirTest, NamesUnderTheRootAreJoinedAndOthersRefused) {
  const std::string root = testing::TestTempDir() + "/ckpt";
  std::filesystem::create_directories(root);
  EXPECT_EQ(*ConfineCheckpointDir(root, ""), root);
  EXPECT_EQ(*ConfineCheckpointDir(root, "manual/step_5"), root + "/manual/step_5");
  EXPECT_EQ(*ConfineCheckpointDir(root, root + "/x"), root + "/x");
  for (const std::string bad : {"../elsewhere", "a/../../b", "/tmp/elsewhere", "/etc", "a/.."}) {
    auto path = ConfineCheckpointDir(root, bad);
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(path.status().message().find(bad), std::string::npos) << path.status();
  }
  // A symlink under the root that points out of it does not lead out.
  std::filesystem::create_directory_symlink("/tmp", root + "/out");
  EXPECT_EQ(ConfineCheckpointDir(root, "out/x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConfineCheckpointDir("", "x").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace seamless
