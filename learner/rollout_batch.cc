#include "learner/rollout_batch.h"

#include "absl/strings/str_cat.h"

namespace seamless {

int64_t RolloutBatch::NumSequences() const {
  int64_t n = 0;
  for (const auto& g : groups) n += int64_t(g.sequences.size());
  return n;
}

int64_t RolloutBatch::NumResponseTokens() const {
  int64_t n = 0;
  for (const auto& g : groups) {
    for (const auto& s : g.sequences) n += int64_t(s.response_ids.size());
  }
  return n;
}

absl::Status ValidateBatch(const RolloutBatch& batch, int64_t vocab_size, int64_t max_length) {
  for (const auto& g : batch.groups) {
    for (size_t i = 0; i < g.sequences.size(); ++i) {
      const RolloutSequence& s = g.sequences[i];
      const std::string where = absl::StrCat("group '", g.group_id, "' sample ", i);
      if (s.prompt_ids.empty()) return absl::InvalidArgumentError(where + ": empty prompt");
      const int64_t len = int64_t(s.prompt_ids.size() + s.response_ids.size());
      if (len > max_length) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", len, " tokens exceed the context of ", max_length));
      }
      for (const auto* ids : {&s.prompt_ids, &s.response_ids}) {
        for (int32_t id : *ids) {
          if (id < 0 || id >= vocab_size) {
            return absl::InvalidArgumentError(
                absl::StrCat(where, ": token id ", id, " outside the vocabulary of ", vocab_size));
          }
        }
      }
      if (!s.behaviour_logprobs.empty() && s.behaviour_logprobs.size() != s.response_ids.size()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.behaviour_logprobs.size(),
                                                       " behaviour log-probs for ",
                                                       s.response_ids.size(), " response tokens"));
      }
    }
  }
  return absl::OkStatus();
}

RolloutBatch BatchFromProto(const std::vector<TrainBatchPart>& parts) {
  RolloutBatch batch;
  if (!parts.empty()) {  // the first part carries the step's identity
    batch.step = parts[0].step();
    batch.run_id = parts[0].run_id();
    batch.commit_state = parts[0].commit_state();
  }
  for (const TrainBatchPart& part : parts) {
    for (const TrainGroup& pg : part.groups()) {
      RolloutGroup g;
      g.group_id = pg.group_id();
      for (const ScoredSample& scored : pg.samples()) {
        const Sample& s = scored.sample();
        RolloutSequence seq;
        seq.prompt_ids.assign(s.prompt_token_ids().begin(), s.prompt_token_ids().end());
        seq.response_ids.assign(s.response_token_ids().begin(), s.response_token_ids().end());
        seq.behaviour_logprobs.assign(s.response_logprobs().begin(), s.response_logprobs().end());
        seq.reward = scored.reward();
        g.sequences.push_back(std::move(seq));
      }
      batch.groups.push_back(std::move(g));
    }
  }
  return batch;
}

TrainBatchPart BatchToProto(const RolloutBatch& batch) {
  TrainBatchPart part;
  part.set_step(batch.step);
  part.set_run_id(batch.run_id);
  part.set_commit_state(batch.commit_state);
  part.set_last(true);
  for (const RolloutGroup& g : batch.groups) {
    TrainGroup* pg = part.add_groups();
    pg->set_group_id(g.group_id);
    for (size_t i = 0; i < g.sequences.size(); ++i) {
      const RolloutSequence& seq = g.sequences[i];
      ScoredSample* scored = pg->add_samples();
      scored->set_reward(float(seq.reward));
      Sample* s = scored->mutable_sample();
      s->set_group_id(g.group_id);
      s->set_index_in_group(int32_t(i));
      s->mutable_prompt_token_ids()->Add(seq.prompt_ids.begin(), seq.prompt_ids.end());
      s->mutable_response_token_ids()->Add(seq.response_ids.begin(), seq.response_ids.end());
      s->mutable_response_logprobs()->Add(seq.behaviour_logprobs.begin(),
                                          seq.behaviour_logprobs.end());
    }
  }
  return part;
}

}  // namespace seamless
