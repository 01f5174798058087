// The learner's parameters as flat, sharded buffers (ZeRO / FSDP's FlatParameter), for
// `learner.trainer.sharding`:
//   none       every rank holds full weights, gradients and AdamW state;
//   optimizer  full weights and gradients, AdamW state for this rank's slice only (ZeRO-1);
//   gradients  full weights, gradients and AdamW state of the slice only (ZeRO-2);
//   full       weights too: a group's weights exist in full only while its unit runs (ZeRO-3).
//
// The model's parameters are split into groups, one per unit of the forward pass (the
// embedding, each decoder layer, the final norm and head, each MTP layer). A group's
// parameters are laid end to end in one flat float32 buffer, padded to a multiple of the
// world size and cut into equal chunks; rank r owns chunk r. Under `none`, `optimizer` and
// `gradients` the module's parameter tensors are views into the group's full buffer, so the
// modules run unchanged; under `full` they are empty until Materialize() gathers the group.
//
// AdamW is element-wise, so each rank updating its chunk gives the unsharded update exactly;
// only the gradient norm's summation order differs (one float64 sum per rank, all-reduced).
#ifndef SEAMLESS_LEARNER_FLAT_PARAMETERS_H_
#define SEAMLESS_LEARNER_FLAT_PARAMETERS_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/capacity_plan.h"
#include "core/model/mimo_model.h"
#include "core/tensors/raw_tensor.h"
#include "core/tensors/tensor_provider.h"
#include "learner/collective.h"
#include "learner/learner_config.h"
#include "learner/tensor_cursor.h"

namespace seamless {

// Sharding (none | optimizer | gradients | full) is core/model/capacity_plan.h's, which
// accounts for the same layout.

// Bytes this rank holds, by component (seamless_learner_memory_bytes{component}).
struct ParameterMemory {
  int64_t weights = 0;    // float32 master weights held (full buffers or chunks)
  int64_t gradients = 0;  // float32 gradient buffers held
  int64_t optimizer = 0;  // AdamW moments
  int64_t buffers = 0;    // peak of gathered or cast copies alive at once (full / bf16)
};

class FlatGroup {
 public:
  struct Member {
    std::string name;  // Hugging Face name
    at::Tensor param;  // the module's parameter (a view, empty, or bound to a gathered copy)
    std::vector<int64_t> shape;
    int64_t offset = 0;  // in the flat buffer
    int64_t numel = 0;
  };

  FlatGroup(std::string name, std::vector<Member> members, bool trainable, int rank, int world,
            Sharding sharding);

  // Gradient buffers and AdamW moments (trainable groups), after every group took over its
  // weights.
  void AllocateState();

  const std::string& name() const { return name_; }
  bool trainable() const { return trainable_; }
  const std::vector<Member>& members() const { return members_; }
  int64_t numel() const { return numel_; }
  int64_t chunk() const { return chunk_; }
  int64_t padded() const { return chunk_ * world_; }

  // This rank's chunk of the master weights, gradients and moments ([chunk] float32).
  at::Tensor& shard() { return shard_; }
  at::Tensor& shard_grad() { return shard_grad_; }
  at::Tensor& exp_avg() { return exp_avg_; }
  at::Tensor& exp_avg_sq() { return exp_avg_sq_; }
  // Full buffers where this sharding keeps them (undefined otherwise).
  at::Tensor& full() { return full_; }
  at::Tensor& full_grad() { return full_grad_; }
  at::ScalarType master_dtype() const { return master_; }

  // Points the module's parameters at the whole group in `dtype` (gathering it under `full`,
  // casting it for bf16). Returns the bytes of the temporary copy made (0 if none).
  absl::StatusOr<int64_t> Materialize(Collective& collective, at::ScalarType dtype);
  // Elements [begin, begin + numel) of member `member`'s weights in `dtype`: a view where this
  // rank holds the whole buffer, else summed over ranks from each rank's part (every rank
  // must ask for the same pieces in the same order). Lets the vocabulary-sized matrices be
  // used a slice of rows at a time under full sharding.
  absl::StatusOr<at::Tensor> GatherPiece(Collective& collective, size_t member, int64_t begin,
                                         int64_t numel, at::ScalarType dtype);
  // The same for the AdamW moments (exp_avg or exp_avg_sq) of a single-member group.
  absl::StatusOr<at::Tensor> GatherStatePiece(Collective& collective, bool exp_avg, int64_t begin,
                                              int64_t numel);
  // Undoes Materialize: parameters back to views of the full buffer, or empty under `full`.
  void Release();
  // Adds the gradients of this group's members (one per member, undefined = zero) to this
  // rank's gradient: into the full gradient, or reduce-scattered into the chunk.
  absl::Status AccumulateGradients(Collective& collective, const std::vector<at::Tensor>& grads);
  // The same for a piece of one member's gradient: `grad` holds the member's flat elements
  // [begin, begin + grad.numel()). Under gradient sharding every rank must pass the same
  // pieces in the same order; the piece is summed over ranks and this rank keeps its part.
  // (The vocabulary-sized matrices are reduced so, a slice of rows at a time, so that their
  // whole gradient never exists at once.)
  absl::Status AccumulateGradientPiece(Collective& collective, size_t member, int64_t begin,
                                       const at::Tensor& grad);
  // After the AdamW step on the chunk: refresh the full buffer from every rank's chunk
  // (optimizer and gradients sharding).
  absl::Status GatherUpdatedWeights(Collective& collective);
  // The whole flat buffer of master weights, gathered if needed (exports, checkpoints).
  absl::StatusOr<at::Tensor> GatherFull(Collective& collective);
  // Gathers a chunk-sized tensor of every rank into the whole padded buffer.
  absl::StatusOr<at::Tensor> GatherChunks(Collective& collective, const at::Tensor& chunk);

 private:
  void BindViews(const at::Tensor& flat);
  // Flat elements [start, start + numel) of the buffer whose rank-local chunk is `chunk`: each
  // rank fills in the part it holds (zeros elsewhere) and the sum over ranks is the whole range.
  absl::StatusOr<at::Tensor> SumChunkRange(Collective& collective, const at::Tensor& chunk,
                                           int64_t start, int64_t numel);

  std::string name_;
  std::vector<Member> members_;
  bool trainable_;
  int rank_, world_;
  Sharding sharding_;
  at::ScalarType master_ = at::kFloat;  // the parameters' dtype (float32; float64 in tests)
  int64_t numel_ = 0, chunk_ = 0;
  at::Tensor full_, full_grad_;                           // [padded]
  at::Tensor shard_, shard_grad_, exp_avg_, exp_avg_sq_;  // [chunk]
  bool bound_elsewhere_ = false;                          // parameters point at a temporary copy
};

// Every parameter of a MimoModel in groups, with the sharded AdamW over them.
class ShardedParameters {
 public:
  // Takes over `model`'s parameters: their storage moves into the groups' buffers (the
  // model's tensors become views, or empty under `full`). MTP layers are frozen when
  // `freeze_mtp`: they have no gradient or optimizer state.
  static absl::StatusOr<std::unique_ptr<ShardedParameters>> Create(MimoModel& model,
                                                                   Sharding sharding,
                                                                   bool freeze_mtp,
                                                                   Collective* collective);

  Sharding sharding() const { return sharding_; }
  std::vector<FlatGroup>& groups() { return groups_; }
  FlatGroup* Find(const std::string& group_name);

  // Zeroes every gradient buffer.
  void ZeroGradients();
  // Sums the full gradients over ranks (none / optimizer), after the last micro-batch.
  absl::Status ReduceGradients();
  // Global L2 norm of this rank's gradient chunks, all-reduced (float64).
  absl::StatusOr<double> GradNorm();
  void ClipGradients(double norm, double max_norm);
  // AdamW on every rank's chunk (torch.optim.AdamW's order of operations), then gathers the
  // updated weights where the sharding keeps full copies.
  absl::Status AdamWStep(const OptimizerConfig& config, double lr);
  int64_t optimizer_step() const { return step_; }
  void set_optimizer_step(int64_t step) { step_ = step; }

  // Consolidated state, named as the unsharded learner's (HF names; exp_avg.NAME ...). Every
  // rank must call these together (they gather); only rank 0's result is complete.
  absl::StatusOr<RawTensorMap> ExportWeights(DType dtype);
  absl::StatusOr<RawTensorMap> ExportOptimizerState();
  // The same tensors streamed one group at a time (see tensor_cursor.h).
  std::unique_ptr<TensorCursor> OpenWeights();
  std::unique_ptr<TensorCursor> OpenOptimizerState();
  // Loads consolidated state (any world size wrote it): each rank keeps its chunk.
  absl::Status ImportWeights(const TensorProvider& weights);
  absl::Status ImportOptimizerState(const TensorProvider& state, int64_t step);
  // Makes every rank hold rank 0's weights and moments.
  absl::Status BroadcastFromRank0();

  ParameterMemory memory() const;
  void NoteBufferBytes(int64_t live_bytes);  // tracks the peak of temporary copies
  int64_t trainable_parameters() const;

 private:
  ShardedParameters(Sharding sharding, Collective* collective)
      : sharding_(sharding), collective_(collective) {}

  Sharding sharding_;
  Collective* collective_;
  std::vector<FlatGroup> groups_;
  int64_t step_ = 0;
  int64_t peak_buffers_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_FLAT_PARAMETERS_H_
