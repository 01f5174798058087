// Per-token log-probs of response tokens under the model, with gradients: the packing of
// variable-length sequences into one padded forward and the gather of the positions that
// predict each response token. Shared by GRPO (trainer.h) and SFT (sft.h).
#ifndef SEAMLESS_LEARNER_TOKEN_LOGPROBS_H_
#define SEAMLESS_LEARNER_TOKEN_LOGPROBS_H_

#include <ATen/ATen.h>

#include <vector>

#include "core/model/mimo_model.h"
#include "learner/rollout_batch.h"

namespace seamless {

// Sequences prompt ++ response, right-padded to the longest. Causal attention makes trailing
// padding invisible to real tokens, so rows need no attention mask.
struct PackedSequences {
  at::Tensor input_ids;    // [B, T] int64
  at::Tensor rows;         // [N] flat index b*T + t of the hidden state predicting each
                           //     response token (t = its position - 1)
  at::Tensor targets;      // [N] the response tokens, sequence after sequence
  at::Tensor mtp_rows;     // [M] flat index into MTP rows [B, T-1]: MTP row t predicts
                           //     position t + 2; response tokens at positions >= 2
  at::Tensor mtp_targets;  // [M]
  std::vector<int64_t> response_lengths;
  int64_t total_tokens = 0;  // prompt + response tokens, without padding
  // Set by PackSequencesInRow: the sequences' lengths, laid end to end in one row.
  std::vector<int64_t> segment_lengths;
};

PackedSequences PackSequences(const std::vector<const RolloutSequence*>& sequences,
                              const at::Device& device = at::kCPU);
// The sequences end to end in one row [1, sum of lengths], no padding (no MTP rows): for a
// forward that attends within each sequence only (MimoModel::PackedContext).
PackedSequences PackSequencesInRow(const std::vector<const RolloutSequence*>& sequences,
                                   const at::Device& device = at::kCPU);

struct TokenLogProbs {
  at::Tensor logp;     // [N]
  at::Tensor entropy;  // [N], defined when asked for
};

// log softmax(Logits(hidden[rows]) / temperature)[targets]; `hidden` is [B, T, H].
TokenLogProbs LogProbsOfTargets(MimoModel& model, const at::Tensor& hidden, const at::Tensor& rows,
                                const at::Tensor& targets, double temperature, bool with_entropy);

// Convenience: main-model log-probs of every response token of `packed`.
TokenLogProbs ResponseLogProbs(MimoModel& model, const PackedSequences& packed, double temperature,
                               bool with_entropy);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_TOKEN_LOGPROBS_H_
