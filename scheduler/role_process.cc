#include "scheduler/role_process.h"

#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace seamless {

absl::StatusOr<std::unique_ptr<RoleProcess>> RoleProcess::Start(
    const std::string& name, const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path, const std::vector<std::string>& env) {
  // The log may hold an earlier run's lines (a resumed run appends): read from its end.
  struct stat st;
  const size_t read_offset = stat(log_path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess::Options options;
  options.env = env;
  options.output_path = log_path;
  options.stderr_to_output = true;
  options.die_with_parent = true;  // no role outlives `seamless train`
  absl::StatusOr<ChildProcess> process = ChildProcess::Start(argv, options);
  if (!process.ok()) return process.status();
  return std::unique_ptr<RoleProcess>(
      new RoleProcess(name, log_path, read_offset, std::move(*process)));
}

RoleProcess::RoleProcess(std::string name, std::string log_path, size_t read_offset,
                         ChildProcess process)
    : name_(std::move(name)),
      log_path_(std::move(log_path)),
      read_offset_(read_offset),
      process_(std::move(process)) {}

std::vector<std::string> RoleProcess::NewLines() {
  std::ifstream in(log_path_, std::ios::binary);
  std::vector<std::string> lines;
  if (!in) return lines;
  in.seekg(static_cast<std::streamoff>(read_offset_));
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  read_offset_ += chunk.size();
  partial_ += chunk;
  size_t newline;
  while ((newline = partial_.find('\n')) != std::string::npos) {
    lines.push_back(partial_.substr(0, newline));
    partial_.erase(0, newline + 1);
  }
  return lines;
}

absl::StatusOr<std::string> RoleProcess::WaitForAddress(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const std::string& line : NewLines()) {
      size_t at = line.find("listening on ");
      if (at == std::string::npos) continue;
      int port = 0;
      if (absl::SimpleAtoi(line.substr(line.rfind(':') + 1), &port)) {
        return absl::StrCat("127.0.0.1:", port);
      }
    }
    if (!Running()) {
      return absl::UnavailableError(absl::StrCat(name_, " exited with code ", exit_code(),
                                                 " before listening; see ", log_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(name_, " did not start listening in time; see ", log_path_));
}

}  // namespace seamless
