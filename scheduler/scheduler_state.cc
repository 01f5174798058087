#include "scheduler/scheduler_state.h"

#include "absl/strings/str_cat.h"
#include "core/base/json_limits.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

nlohmann::json LedgerJson(const LedgerSummary& s) {
  return {{"taken", s.taken},
          {"taken_from_easy_pool", s.taken_from_easy_pool},
          {"trained", s.trained},
          {"dropped", s.dropped},
          {"requeues", s.requeues},
          {"dropped_by_reason", s.dropped_by_reason},
          {"requeued_by_reason", s.requeued_by_reason}};
}

LedgerSummary LedgerFromJson(const nlohmann::json& j) {
  LedgerSummary s;
  s.taken = j.at("taken").get<int64_t>();
  s.taken_from_easy_pool = j.at("taken_from_easy_pool").get<int64_t>();
  s.trained = j.at("trained").get<int64_t>();
  s.dropped = j.at("dropped").get<int64_t>();
  s.requeues = j.at("requeues").get<int64_t>();
  s.dropped_by_reason = j.at("dropped_by_reason").get<std::map<std::string, int64_t>>();
  s.requeued_by_reason = j.at("requeued_by_reason").get<std::map<std::string, int64_t>>();
  return s;
}

}  // namespace

std::string SchedulerState::ToJson() const {
  nlohmann::json pending_json = nlohmann::json::array();
  for (const PendingPrompt& p : pending) {
    pending_json.push_back({{"uid", p.uid}, {"record", p.record}, {"easy", p.from_easy_pool}});
  }
  const nlohmann::json j = {{"step", step},
                            {"policy_version", policy_version},
                            {"sampler_epoch", sampler_epoch},
                            {"sampler_position", sampler_position},
                            {"easy_pool", easy_pool},
                            {"easy_takes", easy_takes},
                            {"next_launch_seq", next_launch_seq},
                            {"pending", pending_json},
                            {"ledger", LedgerJson(ledger)}};
  return j.dump(1);
}

absl::StatusOr<SchedulerState> SchedulerState::FromJson(std::string_view text) {
  const absl::Status limits = CheckJsonLimits(absl::string_view(text.data(), text.size()));
  if (!limits.ok()) return absl::DataLossError(limits.message());
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::DataLossError("not valid JSON");
  SchedulerState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.policy_version = j.at("policy_version").get<int64_t>();
    s.sampler_epoch = j.at("sampler_epoch").get<int64_t>();
    s.sampler_position = j.at("sampler_position").get<int64_t>();
    s.easy_pool = j.at("easy_pool").get<std::vector<int64_t>>();
    s.easy_takes = j.at("easy_takes").get<int64_t>();
    s.next_launch_seq = j.at("next_launch_seq").get<uint64_t>();
    for (const auto& p : j.at("pending")) {
      s.pending.push_back({p.at("uid").get<std::string>(), p.at("record").get<int64_t>(),
                           p.at("easy").get<bool>()});
    }
    s.ledger = LedgerFromJson(j.at("ledger"));
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("scheduler state: ", e.what()));
  }
  return s;
}

}  // namespace seamless
