// AdamW with its state in plain named tensors (so checkpoints are safetensors and a resume is
// bitwise), the learning-rate schedule, and global gradient-norm clipping.
#ifndef SEAMLESS_LEARNER_OPTIMIZER_H_
#define SEAMLESS_LEARNER_OPTIMIZER_H_

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/tensors/raw_tensor.h"
#include "core/tensors/tensor_provider.h"
#include "learner/learner_config.h"

namespace seamless {

// Rate for optimizer update `step` (0-based): linear warm-up over warmup_steps updates
// (lr * (step + 1) / warmup_steps), then constant, or cosine from lr down to
// lr * min_lr_ratio at total_steps (and flat after).
double LearningRate(const OptimizerConfig& config, int64_t step);

// One AdamW update of `p` in place, after optimizer update number `step` (1-based) was
// counted: decoupled decay (when `decay`), bias-corrected moments, torch's order of operations.
// Element-wise, so a slice of a parameter updates exactly as the whole would.
void AdamWUpdate(at::Tensor p, const at::Tensor& grad, at::Tensor exp_avg, at::Tensor exp_avg_sq,
                 double lr, bool decay, const OptimizerConfig& config, int64_t step);

// torch.optim.AdamW's update (decoupled decay, bias-corrected moments), same order of
// operations, on the parameters given at construction.
class AdamW {
 public:
  // Weight decay applies to parameters with two or more dimensions (not biases or norms).
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, OptimizerConfig config);

  // One update with rate `lr` from the parameters' .grad() (a missing grad counts as zero).
  void Step(double lr);
  int64_t step() const { return step_; }

  // exp_avg.NAME / exp_avg_sq.NAME as F32 tensors, plus the step count.
  RawTensorMap ExportState() const;
  absl::Status ImportState(const TensorProvider& state, int64_t step);
  // Tensors to broadcast so that all ranks share rank 0's state.
  std::vector<at::Tensor> StateTensors();
  void set_step(int64_t step) { step_ = step; }

  const std::vector<std::pair<std::string, at::Tensor>>& params() const { return params_; }

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  OptimizerConfig config_;
  int64_t step_ = 0;
};

// Sum of squares of `t` in float64, a slice at a time (no float64 copy of the whole).
double SquaredNorm(const at::Tensor& t);
// The global L2 norm of the gradients (float64 accumulation). Non-finite if any element is.
double GradNorm(const std::vector<at::Tensor>& grads);
// Scales the gradients by max_norm / (norm + 1e-6) when norm > max_norm (torch's
// clip_grad_norm_); max_norm <= 0 does nothing.
void ClipGradients(const std::vector<at::Tensor>& grads, double norm, double max_norm);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_OPTIMIZER_H_
