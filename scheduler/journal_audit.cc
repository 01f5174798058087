#include "scheduler/journal_audit.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/json_lines.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

constexpr size_t kMaxProblems = 20;

// One step's lines, as read.
struct StepLines {
  std::vector<std::pair<std::string, int64_t>> takes;
  std::vector<std::pair<std::string, std::string>> drops;
  std::vector<std::pair<std::string, int32_t>> samples;  // uid, index in the group
  bool committed = false;
};

struct Journal {
  std::map<int64_t, StepLines> steps;
  StepLines end;  // takes and drops after the last step
  std::vector<std::string> pending;
  bool ended = false;
  int64_t resumes = 0, voided = 0;
};

absl::Status ReadEvents(const std::string& where, const nlohmann::json& line, StepLines* into) {
  if (!line.contains("takes") || !line["takes"].is_array() || !line.contains("drops") ||
      !line["drops"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": needs arrays takes and drops"));
  }
  for (const auto& t : line["takes"]) {
    into->takes.emplace_back(t.at(0).get<std::string>(), t.at(1).get<int64_t>());
  }
  for (const auto& d : line["drops"]) {
    into->drops.emplace_back(d.at(0).get<std::string>(), d.at(1).get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ReadLine(const std::string& where, const nlohmann::json& line, Journal* j) {
  const std::string type = line.value("type", "");
  if (type == "step") {
    StepLines& step = j->steps[line.at("step").get<int64_t>()];
    return ReadEvents(where, line, &step);
  }
  if (type == "sample") {
    j->steps[line.at("step").get<int64_t>()].samples.emplace_back(line.at("uid").get<std::string>(),
                                                                  line.at("sample").get<int32_t>());
    return absl::OkStatus();
  }
  if (type == "commit") {
    j->steps[line.at("step").get<int64_t>()].committed = true;
    return absl::OkStatus();
  }
  if (type == "resume") {
    const int64_t kept = line.at("steps").get<int64_t>();
    ++j->resumes;
    // The learner's checkpoint covers the steps before `kept`, committed or not in here.
    for (auto it = j->steps.begin(); it != j->steps.lower_bound(kept); ++it) {
      it->second.committed = true;
    }
    for (auto it = j->steps.lower_bound(kept); it != j->steps.end();) {
      ++j->voided;
      it = j->steps.erase(it);
    }
    // What an earlier end line said happened after the last step is void too: the resumed
    // run takes those prompts again from the restored sampler.
    j->end = StepLines();
    j->pending.clear();
    j->ended = false;
    return absl::OkStatus();
  }
  if (type == "end") {
    j->ended = true;
    j->end = StepLines();
    RETURN_IF_ERROR(ReadEvents(where, line, &j->end));
    j->pending = line.at("pending").get<std::vector<std::string>>();
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": unknown type \"", type, "\" (step, sample, commit, resume, end)"));
}

// The checks, over what stands.
class Checker {
 public:
  explicit Checker(JournalAudit* audit) : audit_(audit) {}

  void Problem(int64_t* counter, const std::string& what) {
    ++*counter;
    if (audit_->problems.size() < kMaxProblems) audit_->problems.push_back(what);
  }
  void Events(const StepLines& s, const std::string& when) {
    for (const auto& [uid, record] : s.takes) {
      if (!taken_.insert(uid).second)
        Problem(&audit_->duplicated, absl::StrCat(uid, " taken twice, ", when));
    }
    for (const auto& [uid, reason] : s.drops) {
      if (!dropped_.insert(uid).second) Problem(&audit_->duplicated, uid + " dropped twice");
    }
  }
  void Samples(int64_t step, const StepLines& s) {
    std::set<std::string> groups;
    for (const auto& [uid, index] : s.samples) {
      groups.insert(uid);
      if (!sample_lines_.insert({uid, index}).second) {
        Problem(&audit_->duplicated,
                absl::StrCat(uid, " sample ", index, " twice (step ", step, ")"));
      }
    }
    for (const std::string& uid : groups) {
      auto [it, fresh] = trained_.emplace(uid, step);
      if (!fresh && it->second != step) {
        Problem(&audit_->duplicated,
                absl::StrCat(uid, " trained in step ", it->second, " and step ", step));
      }
    }
    audit_->samples += int64_t(s.samples.size());
  }
  void Finish(const std::vector<std::string>& pending) {
    const std::set<std::string> waiting(pending.begin(), pending.end());
    for (const std::string& uid : taken_) {
      const int outcomes =
          int(trained_.count(uid)) + int(dropped_.count(uid)) + int(waiting.count(uid));
      if (outcomes == 0) Problem(&audit_->lost, uid + " taken, never trained, dropped or pending");
      if (outcomes > 1) Problem(&audit_->duplicated, uid + " has two outcomes");
    }
    auto known = [&](const std::string& uid, const char* what) {
      if (!taken_.count(uid))
        Problem(&audit_->unknown, absl::StrCat(uid, " ", what, " but never taken"));
    };
    for (const auto& [uid, step] : trained_) known(uid, "trained");
    for (const std::string& uid : dropped_) known(uid, "dropped");
    for (const std::string& uid : waiting) known(uid, "pending");
    audit_->taken = int64_t(taken_.size());
    audit_->trained = int64_t(trained_.size());
    audit_->dropped = int64_t(dropped_.size());
    audit_->pending = int64_t(waiting.size());
  }

 private:
  JournalAudit* audit_;
  std::set<std::string> taken_, dropped_;
  std::map<std::string, int64_t> trained_;  // uid -> step
  std::set<std::pair<std::string, int32_t>> sample_lines_;
};

}  // namespace

void JournalAudit::ToJson(nlohmann::json* out) const {
  *out = {{"lost", lost},        {"duplicated", duplicated},
          {"unknown", unknown},  {"uncommitted", uncommitted},
          {"steps", steps},      {"samples", samples},
          {"taken", taken},      {"trained", trained},
          {"dropped", dropped},  {"pending", pending},
          {"resumes", resumes},  {"voided_steps", voided_steps},
          {"ended", ended},      {"clean", clean()},
          {"problems", problems}};
}

absl::StatusOr<JournalAudit> AuditJournal(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  Journal journal;
  RETURN_IF_ERROR(ForEachJsonLine(
      text, path, [&](const std::string& where, const nlohmann::json& line) -> absl::Status {
        try {
          return ReadLine(where, line, &journal);
        } catch (const nlohmann::json::exception& e) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": ", e.what()));
        }
      }));
  JournalAudit audit;
  audit.resumes = journal.resumes;
  audit.voided_steps = journal.voided;
  audit.ended = journal.ended;
  Checker check(&audit);
  for (const auto& [step, lines] : journal.steps) {
    check.Events(lines, absl::StrCat("before step ", step));
    check.Samples(step, lines);
    if (lines.committed) {
      ++audit.steps;
    } else {
      check.Problem(&audit.uncommitted, absl::StrCat("step ", step, " never committed"));
    }
  }
  check.Events(journal.end, "after the last step");
  check.Finish(journal.pending);
  return audit;
}

}  // namespace seamless
