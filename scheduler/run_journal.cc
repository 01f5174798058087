#include "scheduler/run_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

nlohmann::json EventsJson(const JournalEvents& events, nlohmann::json line) {
  line["takes"] = nlohmann::json::array();
  for (const auto& [uid, record] : events.takes) line["takes"].push_back({uid, record});
  line["drops"] = nlohmann::json::array();
  for (const auto& [uid, reason] : events.drops) line["drops"].push_back({uid, reason});
  return line;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunJournal>> RunJournal::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open the journal ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<RunJournal>(new RunJournal(path, fd));
}

RunJournal::~RunJournal() {
  if (fd_ >= 0) close(fd_);
}

absl::Status RunJournal::Append(const std::string& lines) {
  size_t at = 0;
  while (at < lines.size()) {
    const ssize_t n = write(fd_, lines.data() + at, lines.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(
          absl::StrCat("cannot write the journal ", path_, ": ", std::strerror(errno)));
    }
    at += size_t(n);
  }
  if (fdatasync(fd_) != 0) {
    return absl::DataLossError(
        absl::StrCat("cannot sync the journal ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status RunJournal::RecordStep(int64_t step, const JournalEvents& events,
                                    const std::vector<JournalSample>& samples) {
  std::string lines = EventsJson(events, {{"type", "step"}, {"step", step}}).dump() + "\n";
  for (const JournalSample& s : samples) {
    lines += nlohmann::json{{"type", "sample"},
                            {"step", step},
                            {"uid", s.uid},
                            {"record", s.record},
                            {"sample", s.sample},
                            {"min_version", s.min_version},
                            {"max_version", s.max_version},
                            {"reward", s.reward}}
                 .dump();
    lines += "\n";
  }
  return Append(lines);
}

absl::Status RunJournal::Commit(int64_t step) {
  return Append(nlohmann::json{{"type", "commit"}, {"step", step}}.dump() + "\n");
}

absl::Status RunJournal::Resume(int64_t steps_committed) {
  return Append(nlohmann::json{{"type", "resume"}, {"steps", steps_committed}}.dump() + "\n");
}

absl::Status RunJournal::End(int64_t steps, const JournalEvents& events,
                             const std::vector<std::string>& pending) {
  nlohmann::json line = EventsJson(events, {{"type", "end"}, {"steps", steps}});
  line["pending"] = pending;
  return Append(line.dump() + "\n");
}

}  // namespace seamless
