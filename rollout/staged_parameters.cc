#include "rollout/staged_parameters.h"

#include <ATen/ATen.h>
#include <c10/util/accumulate.h>

#include <algorithm>

#include "core/model/mimo_model.h"

namespace seamless {
namespace {

int64_t Numel(const StageableParameter& p) { return c10::multiply_integers(p.shape); }

}  // namespace

std::vector<StageableParameter> StageableParameters(MimoModel& model) {
  std::vector<StageableParameter> out;
  std::vector<const void*> storages;  // buffer i mirrors storages[i]
  std::vector<int64_t> first_offset;  // the lowest storage offset a parameter of it has
  for (auto& item : model->named_parameters()) {
    const at::Tensor& p = item.value();
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat || !p.is_contiguous()) continue;
    const void* storage = p.storage().unsafeGetStorageImpl();
    auto it = std::find(storages.begin(), storages.end(), storage);
    const auto buffer = static_cast<int64_t>(it - storages.begin());
    if (it == storages.end()) {
      storages.push_back(storage);
      first_offset.push_back(p.storage_offset());
    }
    first_offset[buffer] = std::min(first_offset[buffer], p.storage_offset());
    out.push_back({item.key(), p.sizes().vec(), buffer, p.storage_offset()});
  }
  for (StageableParameter& p : out) p.offset -= first_offset[p.buffer];
  return out;
}

StagedParameters StagedParameters::Allocate(const std::vector<StageableParameter>& params) {
  std::vector<int64_t> elements;  // each buffer's extent
  for (const StageableParameter& p : params) {
    if (p.buffer >= static_cast<int64_t>(elements.size())) elements.resize(p.buffer + 1, 0);
    elements[p.buffer] = std::max(elements[p.buffer], p.offset + Numel(p));
  }
  std::vector<at::Tensor> buffers;
  buffers.reserve(elements.size());
  for (int64_t n : elements)
    buffers.push_back(at::empty({n}, at::TensorOptions().dtype(at::kFloat)));
  StagedParameters out;
  for (const StageableParameter& p : params) {
    out.tensors.emplace(p.name, buffers[p.buffer].narrow(0, p.offset, Numel(p)).view(p.shape));
  }
  return out;
}

DecodeTargets StagedParameters::Targets() {
  DecodeTargets out;
  for (auto& [name, t] : tensors) out[name] = {t.data_ptr<float>(), t.sizes().vec()};
  return out;
}

}  // namespace seamless
