// Runs a command line for end-to-end tests and captures what it prints.
#ifndef SEAMLESS_TESTS_TESTING_SUBPROCESS_H_
#define SEAMLESS_TESTS_TESTING_SUBPROCESS_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace seamless {
namespace testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `command` through /bin/sh with `input` on stdin.
CommandResult RunCommand(const std::string& command, const std::string& input = "");

// The last non-empty line of `out` (a command's closing JSON line, say), without its newline.
std::string LastLine(const std::string& out);
// LastLine parsed as JSON (what `seamless train` and the benches end with); throws on bad JSON.
nlohmann::json LastJsonLine(const std::string& out);

// The `seamless` binary under test ($SEAMLESS_BINARY, set by ctest).
std::string SeamlessBinary();
// The source tree, for test data ($SEAMLESS_SOURCE_DIR, set by ctest; "." otherwise).
std::string SourceDir();
// The tokenizer reference's npm packages ($SEAMLESS_NPM_DIR, set by ctest; "build/npm" otherwise).
std::string NpmDir();
// The lines of a test data file, without their newlines.
std::vector<std::string> ReadLines(const std::string& path);

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_SUBPROCESS_H_
