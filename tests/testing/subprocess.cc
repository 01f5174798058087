#include "tests/testing/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/temp_dir.h"

namespace seamless {
namespace testing {
namespace {
std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

CommandResult RunCommand(const std::string& command, const std::string& input) {
  const std::string dir = TestTempDir("_cmd");
  {
    std::ofstream in(dir + "/stdin");
    in << input;
  }
  const std::string full =
      "(" + command + ") <" + dir + "/stdin >" + dir + "/stdout 2>" + dir + "/stderr";
  int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = Slurp(dir + "/stdout");
  result.err = Slurp(dir + "/stderr");
  std::filesystem::remove_all(dir);
  return result;
}

std::string SeamlessBinary() {
  const char* path = std::getenv("SEAMLESS_BINARY");
  return path ? path : "build/seamless";
}

std::string SourceDir() {
  const char* dir = std::getenv("SEAMLESS_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string LastLine(const std::string& out) {
  const size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  const size_t begin = out.rfind('\n', end);
  const size_t start = begin == std::string::npos ? 0 : begin + 1;
  return out.substr(start, end + 1 - start);
}

nlohmann::json LastJsonLine(const std::string& out) { return nlohmann::json::parse(LastLine(out)); }

}  // namespace testing
}  // namespace seamless
