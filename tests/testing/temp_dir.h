// Scratch directories for tests, unique per process and test.
#ifndef SEAMLESS_TESTS_TESTING_TEMP_DIR_H_
#define SEAMLESS_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace seamless {
namespace testing {

// An empty directory named after the running gtest test and `suffix`; emptied if it exists.
std::string TestTempDir(const std::string& suffix = "");

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_TEMP_DIR_H_
