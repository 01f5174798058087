#include "tests/testing/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace seamless {
namespace testing {

std::string TestTempDir(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
  std::string dir = std::filesystem::temp_directory_path() /
                    ("seamless_" + std::to_string(getpid()) + "_" + name + suffix);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace testing
}  // namespace seamless
