#include "core/base/dir_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

std::string TempDir() {
  char pattern[] = "/tmp/seamless-dirlock-XXXXXX";
  return mkdtemp(pattern);
}

TEST(DirLockTest, ASecondTakerIsRefusedWithTheHolderNamedUntilTheFirstReleases) {
  const std::string dir = TempDir();
  {
    auto first = DirLock::Acquire(dir, "seamless train");
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = DirLock::Acquire(dir, "seamless train");
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(second.status().message(), HasSubstr(dir));
    EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat(getpid(), " seamless train")));
    DirLock moved = std::move(*first);  // still held after a move
    EXPECT_FALSE(DirLock::Acquire(dir, "again").ok());
  }
  // Released with its holder: the lock file left behind blocks nobody.
  EXPECT_TRUE(FileExists(dir + "/.lock"));
  EXPECT_TRUE(DirLock::Acquire(dir, "next").ok());
}

TEST(DirLockTest, AMissingDirectoryIsAnError) {
  auto lock = DirLock::Acquire("/nonexistent/seamless", "x");
  ASSERT_FALSE(lock.ok());
  EXPECT_THAT(lock.status().message(), HasSubstr("/nonexistent/seamless/.lock"));
}

}  // namespace
}  // namespace seamless
