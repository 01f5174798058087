#include "scheduler/scheduler_state.h"

#include "absl/strings/str_cat.h"
#include "core/base/json_limits.h"
#include "nlohmann/json.hpp"

namespace seamless {

std::string SchedulerState::ToJson() const {
  const nlohmann::json j = {
      {"step", step},
      {"policy_version", policy_version},
      {"sampler_epoch", sampler_epoch},
      {"sampler_position", sampler_position},
      {"easy_pool", easy_pool},
      {"next_launch_seq", next_launch_seq},
      {"pending_records", pending_records},
      {"ledger",
       {{"taken", ledger_taken}, {"trained", ledger_trained}, {"dropped", ledger_dropped}}}};
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
    s.next_launch_seq = j.at("next_launch_seq").get<uint64_t>();
    s.pending_records = j.at("pending_records").get<std::vector<int64_t>>();
    // Informational: read when present and well-formed, never a reason to refuse the file.
    auto total = [&](const char* key, int64_t* out) {
      auto ledger = j.find("ledger");
      if (ledger == j.end() || !ledger->is_object()) return;
      auto value = ledger->find(key);
      if (value != ledger->end() && value->is_number_integer()) *out = value->get<int64_t>();
    };
    total("taken", &s.ledger_taken);
    total("trained", &s.ledger_trained);
    total("dropped", &s.ledger_dropped);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("scheduler state: ", e.what()));
  }
  return s;
}

}  // namespace seamless
