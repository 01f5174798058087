// The learner's forward pass unit by unit — the embedding, each decoder layer, the final norm
// with the LM head — each wrapped in a custom autograd function that keeps only its input
// (per-layer activation checkpointing). Its backward gathers the unit's weights again (under
// `full` sharding), recomputes the unit with autograd, and hands the weight gradients to
// ShardedParameters (accumulated, or reduce-scattered at once) before the next unit's turn.
// So at most one unit's weights, activations and gradients exist in full at a time.
//
// Under bf16 precision the gathered weights and the activations are bf16; the float32
// master weights, gradients and AdamW state stay in ShardedParameters, and the log-softmax
// over the vocabulary is computed in float32, as the loss is.
//
// Every rank must run the same number of micro-batches in the same order under `gradients`
// and `full` sharding: each unit's collectives pair up across ranks (the trainer pads with
// an empty micro-batch where a rank has fewer).
#ifndef SEAMLESS_LEARNER_UNIT_FORWARD_H_
#define SEAMLESS_LEARNER_UNIT_FORWARD_H_

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/attention_context.h"
#include "core/model/mimo_model.h"
#include "learner/collective.h"
#include "learner/flat_parameters.h"
#include "learner/token_logprobs.h"

namespace seamless {

class UnitForward {
 public:
  UnitForward(MimoModel& model, ShardedParameters& params, Collective& collective,
              at::ScalarType compute_dtype);
  ~UnitForward();

  // Log-probs (and entropies) of `packed`'s response tokens; their graph's backward
  // recomputes the units and accumulates weight gradients into the ShardedParameters. The
  // object must outlive that backward. Errors inside the backward are thrown as
  // std::runtime_error (autograd's only channel); the trainer turns them into a Status.
  absl::StatusOr<TokenLogProbs> LogProbs(const PackedSequences& packed, double temperature,
                                         bool with_entropy);

  // Peak bytes of saved unit inputs (the checkpointed activations) so far.
  int64_t peak_activation_bytes() const { return peak_activation_bytes_; }

  // One unit of the pass; public for the autograd function in the .cc.
  struct Unit;
  std::vector<at::Tensor> RunUnit(Unit& unit, const at::Tensor& input);
  at::Tensor BackwardUnit(Unit& unit, const at::Tensor& input,
                          const std::vector<at::Tensor>& grad_outputs);

 private:
  std::vector<at::Tensor> Compute(const Unit& unit, const at::Tensor& input);
  at::Tensor BackwardHead(Unit& unit, const at::Tensor& input,
                          const std::vector<at::Tensor>& grad_outputs);
  // The LM head's logits [N, V] for hidden rows `flat`, a slice of vocabulary rows at a time.
  at::Tensor HeadLogits(const at::Tensor& flat);
  // The embedding of `ids`, a slice of vocabulary rows at a time.
  at::Tensor EmbedPiecewise(const at::Tensor& ids);
  absl::Status Materialize(const Unit& unit);
  void Release(const Unit& unit);

  MimoModel& model_;
  ShardedParameters& params_;
  Collective& collective_;
  at::ScalarType dtype_;
  std::vector<std::unique_ptr<Unit>> units_;
  FlatGroup* embed_ = nullptr;   // the input embedding
  FlatGroup* matrix_ = nullptr;  // the LM head's matrix: the embedding when tied, else lm_head
  // State of the current micro-batch, read by the units.
  AttentionContext ctx_;
  at::Tensor ids_, rows_, targets_;
  double temperature_ = 1.0;
  bool with_entropy_ = false;
  int64_t live_buffers_ = 0;
  int64_t activation_bytes_ = 0, peak_activation_bytes_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_UNIT_FORWARD_H_
