#include "learner/token_logprobs.h"

#include <algorithm>

namespace seamless {

PackedSequences PackSequences(const std::vector<const RolloutSequence*>& sequences,
                              const at::Device& device) {
  PackedSequences p;
  const int64_t batch = int64_t(sequences.size());
  int64_t longest = 2;  // MTP rows need T >= 2
  for (const RolloutSequence* s : sequences) {
    longest = std::max<int64_t>(longest, int64_t(s->prompt_ids.size() + s->response_ids.size()));
  }
  at::Tensor ids = at::zeros({batch, longest}, at::kLong);
  int64_t* id = ids.data_ptr<int64_t>();
  std::vector<int64_t> rows, targets, mtp_rows, mtp_targets;
  for (int64_t b = 0; b < batch; ++b) {
    const RolloutSequence& s = *sequences[b];
    const int64_t prompt = int64_t(s.prompt_ids.size());
    int64_t t = 0;
    for (int32_t x : s.prompt_ids) id[b * longest + t++] = x;
    for (int32_t x : s.response_ids) id[b * longest + t++] = x;
    p.total_tokens += t;
    for (size_t j = 0; j < s.response_ids.size(); ++j) {
      const int64_t pos = prompt + int64_t(j);
      rows.push_back(b * longest + pos - 1);
      targets.push_back(s.response_ids[j]);
      if (pos >= 2) {
        mtp_rows.push_back(b * (longest - 1) + pos - 2);
        mtp_targets.push_back(s.response_ids[j]);
      }
    }
    p.response_lengths.push_back(int64_t(s.response_ids.size()));
  }
  auto to_tensor = [&](const std::vector<int64_t>& v) {
    return at::tensor(at::ArrayRef<int64_t>(v), at::kLong).to(device);
  };
  p.input_ids = ids.to(device);
  p.rows = to_tensor(rows);
  p.targets = to_tensor(targets);
  p.mtp_rows = to_tensor(mtp_rows);
  p.mtp_targets = to_tensor(mtp_targets);
  return p;
}

PackedSequences PackSequencesInRow(const std::vector<const RolloutSequence*>& sequences,
                                   const at::Device& device) {
  PackedSequences p;
  std::vector<int64_t> ids, rows, targets;
  for (const RolloutSequence* s : sequences) {
    const int64_t start = int64_t(ids.size()), prompt = int64_t(s->prompt_ids.size());
    ids.insert(ids.end(), s->prompt_ids.begin(), s->prompt_ids.end());
    ids.insert(ids.end(), s->response_ids.begin(), s->response_ids.end());
    for (size_t j = 0; j < s->response_ids.size(); ++j) {
      rows.push_back(start + prompt + int64_t(j) - 1);
      targets.push_back(s->response_ids[j]);
    }
    p.response_lengths.push_back(int64_t(s->response_ids.size()));
    p.segment_lengths.push_back(int64_t(ids.size()) - start);
  }
  p.total_tokens = int64_t(ids.size());
  auto to_tensor = [&](const std::vector<int64_t>& v) {
    return at::tensor(at::ArrayRef<int64_t>(v), at::kLong).to(device);
  };
  p.input_ids = to_tensor(ids).view({1, -1});
  p.rows = to_tensor(rows);
  p.targets = to_tensor(targets);
  p.mtp_rows = to_tensor({});
  p.mtp_targets = to_tensor({});
  return p;
}

TokenLogProbs LogProbsOfTargets(MimoModel& model, const at::Tensor& hidden, const at::Tensor& rows,
                                const at::Tensor& targets, double temperature, bool with_entropy) {
  at::Tensor flat = hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows);
  at::Tensor logits = model->Logits(flat);
  if (temperature != 1.0) logits = logits / temperature;
  at::Tensor logp_all = at::log_softmax(logits, -1);
  TokenLogProbs out;
  out.logp = logp_all.gather(1, targets.unsqueeze(1)).squeeze(1);
  if (with_entropy) out.entropy = -(logp_all.exp() * logp_all).sum(-1);
  return out;
}

TokenLogProbs ResponseLogProbs(MimoModel& model, const PackedSequences& packed, double temperature,
                               bool with_entropy) {
  at::Tensor hidden = model->Hidden(packed.input_ids);
  return LogProbsOfTargets(model, hidden, packed.rows, packed.targets, temperature, with_entropy);
}

}  // namespace seamless
