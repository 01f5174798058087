#include "rollout/staged_parameters.h"

#include <ATen/ATen.h>

#include "core/model/mimo_model.h"

namespace seamless {

std::vector<StageableParameter> StageableParameters(MimoModel& model) {
  std::vector<StageableParameter> out;
  for (auto& item : model->named_parameters()) {
    const at::Tensor& p = item.value();
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat || !p.is_contiguous()) continue;
    out.push_back({item.key(), p.sizes().vec()});
  }
  return out;
}

StagedParameters StagedParameters::Allocate(const std::vector<StageableParameter>& params) {
  StagedParameters out;
  for (const StageableParameter& p : params) {
    out.tensors.emplace(p.name, at::empty(p.shape, at::TensorOptions().dtype(at::kFloat)));
  }
  return out;
}

DecodeTargets StagedParameters::Targets() {
  DecodeTargets out;
  for (auto& [name, t] : tensors) out[name] = {t.data_ptr<float>(), t.sizes().vec()};
  return out;
}

}  // namespace seamless
