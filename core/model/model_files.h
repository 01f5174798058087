// Loading and saving a model directory the way Hugging Face lays it out: config.json plus
// model.safetensors (or shards with model.safetensors.index.json).
#ifndef SEAMLESS_CORE_MODEL_MODEL_FILES_H_
#define SEAMLESS_CORE_MODEL_MODEL_FILES_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/mimo_model.h"
#include "core/tensors/raw_tensor.h"
#include "core/tensors/tensor_provider.h"

namespace seamless {

// Every parameter of `model` as bytes of `dtype`, keyed by its Hugging Face name.
absl::StatusOr<RawTensorMap> ExportWeights(MimoModel& model, DType dtype = DType::kF32);

// Copies `weights` into the model's parameters, converting dtypes. Every parameter must be
// present with its exact shape; a tensor the model does not have is an error, except the
// ones HF checkpoints carry harmlessly (rotary inv_freq, a tied lm_head). `source` names the
// file or stream in errors.
absl::Status ImportWeights(MimoModel& model, const RawTensorMap& weights,
                           const std::string& source);
// The same from `weights` a tensor at a time, each copied into its parameter once checked
// (resuming from a checkpoint file holds one tensor, not the file). Not all-or-nothing: on an
// error the parameters copied so far keep their new values.
absl::Status ImportWeights(MimoModel& model, const TensorProvider& weights,
                           const std::string& source);

// Weights checked and converted, ready to be copied into a model in one pass. Preparing is
// the slow part (validation, dtype conversion, host-to-device copy) and touches nothing the
// model uses, so a server can prepare new weights while it keeps serving the old ones, then
// apply them between two steps.
struct PreparedWeights {
  std::vector<std::pair<at::Tensor, at::Tensor>> assignments;  // (parameter, new value)
  // (parameter, new storage of its dtype, shape and device): swapped in instead of copied;
  // once applied, each second holds the parameter's previous storage (the next spare).
  std::vector<std::pair<at::Tensor, at::Tensor>> swaps;
  int64_t bytes = 0;
};
// The checks every weight import makes of one tensor against its parameter: the shape, a
// float dtype (F32, F16, BF16), the byte count; errors name `source` and the tensor.
absl::Status CheckWeightTensor(const at::Tensor& param, const RawTensor& raw,
                               const std::string& name, const std::string& source);
// An error naming the first tensor of `weights` outside `used` that the model has no
// parameter for (a leftover rotary inv_freq, or lm_head.weight of a tied model, is harmless).
absl::Status CheckNoUnexpectedTensors(MimoModel& model, const RawTensorMap& weights,
                                      const std::set<std::string>& used, const std::string& source);
// `only`: prepare just this parameter (the other tensors of `weights` are not checked).
absl::StatusOr<PreparedWeights> PrepareWeights(MimoModel& model, const RawTensorMap& weights,
                                               const std::string& source,
                                               const std::string& only = "");
// Copies prepared values into their parameters and swaps the swaps in; cannot fail half-way
// on shapes or names.
void ApplyPreparedWeights(PreparedWeights& prepared);

// OK when the fp32 parameters of `config` fit in `available` bytes (0: unknown, not checked);
// otherwise RESOURCE_EXHAUSTED naming `what` with the parameter count and both sizes.
// LoadModelDir checks it (against MemAvailable) before reading or allocating anything.
absl::Status CheckModelFitsMemory(const ModelConfig& config, uint64_t available,
                                  const std::string& what);

// config.json + safetensors -> model (fp32, CPU).
absl::StatusOr<MimoModel> LoadModelDir(const std::string& dir);
// model -> config.json + safetensors in `dtype`; shards past `max_shard_bytes`.
absl::Status SaveModelDir(MimoModel& model, const std::string& dir, DType dtype = DType::kF32,
                          uint64_t max_shard_bytes = 5ull << 30);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_MODEL_FILES_H_
