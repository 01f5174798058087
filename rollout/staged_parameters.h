// A second set of a rollout model's CPU float32 parameters, which the next weight stream is
// decoded into while the first set keeps serving; applying it swaps the two sets, so a new
// version costs one pass over the received bytes and no pause to convert or copy them.
// Costs one more copy of those parameters for the worker's life (the received bytes are not
// kept instead, so the net cost is the fp32 bytes less the wire bytes).
#ifndef SEAMLESS_ROLLOUT_STAGED_PARAMETERS_H_
#define SEAMLESS_ROLLOUT_STAGED_PARAMETERS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensors/float_decoder.h"

namespace seamless {

class MimoModel;

// A parameter that can be staged: its name and shape (CPU, float32, contiguous), and where it
// lies: parameters that share a storage (q|k|v packed end to end, say) share a buffer in every
// staged set too, at the same offsets, so what FusedParameters sees survives a swap.
struct StageableParameter {
  std::string name;
  std::vector<int64_t> shape;
  int64_t buffer = 0;  // which buffer of the set (one per storage the parameters use)
  int64_t offset = 0;  // elements into it
};

// The model's parameters that can be staged (those on an accelerator or of another dtype are
// copied in as before).
std::vector<StageableParameter> StageableParameters(MimoModel& model);

struct StagedParameters {
  // Fresh buffers for `params` (allocated, not touched: pages arrive as the stream writes),
  // each parameter a view at its offset.
  static StagedParameters Allocate(const std::vector<StageableParameter>& params);
  DecodeTargets Targets();

  std::map<std::string, at::Tensor> tensors;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_STAGED_PARAMETERS_H_
