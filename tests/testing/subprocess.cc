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

// $name, or `fallback` where it is not set.
std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

std::string SeamlessBinary() { return EnvOr("SEAMLESS_BINARY", "build/seamless"); }
std::string SourceDir() { return EnvOr("SEAMLESS_SOURCE_DIR", "."); }
std::string NpmDir() { return EnvOr("SEAMLESS_NPM_DIR", "build/npm"); }

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
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
