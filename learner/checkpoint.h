// Crash-safe training checkpoints.
//
// Layout under a checkpoint root:
//   step_00000012/                 one complete checkpoint
//     config.json model.safetensors  the policy, HF layout (LoadModelDir / a rollout worker
//                                    loads it as a model directory), plus tokenizer files
//     optimizer.safetensors          AdamW moments exp_avg.NAME / exp_avg_sq.NAME (F32)
//     learner_config.yaml            the resolved config the run used
//     trainer_state.json             step, versions, RNG, and every file's size and checksum
//   latest                           "step_00000012\n"
// A checkpoint is written into a temporary directory, every file and the directory are
// fsynced, the directory is renamed into place, then `latest` is replaced the same way. A
// crash leaves either the old or the new checkpoint; a leftover temporary is ignored.
// Loading validates sizes and checksums and falls back to the newest older complete
// checkpoint, saying why.
#ifndef SEAMLESS_LEARNER_CHECKPOINT_H_
#define SEAMLESS_LEARNER_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/model_config.h"
#include "core/tensors/raw_tensor.h"
#include "core/tensors/safetensors_file_reader.h"
#include "core/tensors/safetensors_writer.h"

namespace seamless {

struct CheckpointState {
  int64_t step = 0;
  int64_t policy_version = 0;
  int64_t skipped_updates = 0;
  int64_t optimizer_step = 0;
  std::string rng_state;    // the trainer's own generator (text), opaque here
  std::string config_yaml;  // snapshot of the resolved config
  // The run this checkpoint belongs to, as the scheduler told the learner in the step's
  // TrainStep (run_state.json: the run id, the scheduler's commit state of the step, the
  // step's answer for a replayed TrainStep as JSON). Empty for a learner driven without them.
  std::string run_id;
  std::string commit_state;
  std::string last_result_json;
};

struct CheckpointContents {
  std::string path;
  CheckpointState state;
  // The two tensor files, checked whole (size and checksum) and opened, not read: importing
  // from them holds one tensor at a time (a 0.5B checkpoint is 6 GB, more than a rank's own
  // state under sharding).
  std::unique_ptr<SafetensorsFileReader> weights;
  std::unique_ptr<SafetensorsFileReader> optimizer;
};

// Tensors of one checkpoint file, produced one at a time (in name order) as they are written,
// so that neither the weights nor the optimizer state is ever copied whole.
struct StreamedTensors {
  std::vector<TensorEntry> entries;
  TensorFiller fill;
};
StreamedTensors StreamMap(const RawTensorMap& tensors);  // over a map that exists

absl::StatusOr<std::string> SaveCheckpoint(
    const std::string& root, const ModelConfig& config, const StreamedTensors& weights,
    const StreamedTensors& optimizer, const CheckpointState& state, int64_t keep,
    const std::map<std::string, std::string>& extra_files = {});

// Writes a checkpoint of `weights` (the policy, every parameter) and `optimizer` state, then
// keeps the `keep` newest. `extra_files` (name -> bytes) go beside the weights (tokenizer).
// Returns the checkpoint's directory.
absl::StatusOr<std::string> SaveCheckpoint(
    const std::string& root, const ModelConfig& config, const RawTensorMap& weights,
    const RawTensorMap& optimizer, const CheckpointState& state, int64_t keep,
    const std::map<std::string, std::string>& extra_files = {});

// The newest complete, valid checkpoint under `root`; nullopt when there is none at all.
// Invalid ones are reported (SLOG WARNING) and skipped.
absl::StatusOr<std::optional<CheckpointContents>> LoadLatestCheckpoint(const std::string& root);

// Reads and validates one checkpoint directory.
absl::StatusOr<CheckpointContents> LoadCheckpoint(const std::string& dir);

// FNV-1a 64 of bytes, as 16 hex digits.
std::string Fnv1a64Hex(const std::string& bytes);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_CHECKPOINT_H_
