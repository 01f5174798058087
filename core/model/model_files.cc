#include "core/model/model_files.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/model/torch_raw_tensor.h"
#include "core/tensors/safetensors.h"

namespace seamless {
namespace {

std::string ShapeText(at::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

absl::StatusOr<RawTensorMap> ExportWeights(MimoModel& model, DType dtype) {
  RawTensorMap out;
  for (const auto& item : model->named_parameters()) {
    ASSIGN_OR_RETURN(RawTensor raw, TensorToRaw(item.value(), dtype));
    out.emplace(item.key(), std::move(raw));
  }
  return out;
}

absl::Status CheckWeightTensor(const at::Tensor& param, const RawTensor& raw,
                               const std::string& name, const std::string& source) {
  if (!param.sizes().equals(raw.shape)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": tensor '", name, "' has shape ",
                                                   ShapeText(raw.shape), ", the model needs ",
                                                   ShapeText(param.sizes())));
  }
  if (raw.dtype != DType::kF32 && raw.dtype != DType::kF16 && raw.dtype != DType::kBF16) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": tensor '", name, "' has dtype ",
                                                   DTypeName(raw.dtype),
                                                   "; weights must be F32, F16 or BF16"));
  }
  if (uint64_t(raw.NumElements()) * DTypeSize(raw.dtype) != raw.data.size()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": tensor '", name, "' has ",
                                                   raw.data.size(), " bytes for its shape"));
  }
  return absl::OkStatus();
}

namespace {

template <typename Names>
absl::Status CheckNoUnexpectedNames(MimoModel& model, const Names& names,
                                    const std::set<std::string>& used, const std::string& source) {
  for (const std::string& name : names) {
    if (used.count(name)) continue;
    const bool harmless = absl::EndsWith(name, "rotary_emb.inv_freq") ||
                          (name == "lm_head.weight" && model->config().tie_word_embeddings);
    if (!harmless) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": unexpected tensor '", name, "' (not part of this model)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckNoUnexpectedTensors(MimoModel& model, const RawTensorMap& weights,
                                      const std::set<std::string>& used,
                                      const std::string& source) {
  std::vector<std::string> names;
  names.reserve(weights.size());
  for (const auto& item : weights) names.push_back(item.first);
  return CheckNoUnexpectedNames(model, names, used, source);
}

absl::StatusOr<PreparedWeights> PrepareWeights(MimoModel& model, const RawTensorMap& weights,
                                               const std::string& source, const std::string& only) {
  at::NoGradGuard no_grad;
  PreparedWeights prepared;
  std::set<std::string> used;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (!only.empty() && name != only) continue;
    auto found = weights.find(name);
    if (found == weights.end()) {
      return absl::NotFoundError(absl::StrCat(source, ": missing tensor '", name, "'"));
    }
    const RawTensor& raw = found->second;
    at::Tensor& param = item.value();
    RETURN_IF_ERROR(CheckWeightTensor(param, raw, name, source));
    ASSIGN_OR_RETURN(at::Tensor value, RawToTensor(raw));
    try {
      value = value.to(param.device(), param.dtype());
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat(source, ": tensor '", name, "': ", e.what_without_backtrace()));
    }
    prepared.bytes += static_cast<int64_t>(value.numel() * value.element_size());
    prepared.assignments.emplace_back(param, std::move(value));
    used.insert(name);
  }
  if (only.empty()) {
    RETURN_IF_ERROR(CheckNoUnexpectedTensors(model, weights, used, source));
  }
  return prepared;
}

void ApplyPreparedWeights(PreparedWeights& prepared) {
  at::NoGradGuard no_grad;
  for (const auto& [param, value] : prepared.assignments) {
    at::Tensor target = param;  // shares storage with the model's parameter
    target.copy_(value);
  }
  for (auto& [param, value] : prepared.swaps) {
    at::Tensor previous = param.detach();  // a second handle on the old storage
    at::Tensor target = param;
    target.set_data(value);
    // Caches keyed by (data pointer, version), such as FusedParameters, must see a change
    // even when the storage swapped in is one the parameter had before.
    target.unsafeGetTensorImpl()->bump_version();
    value = std::move(previous);
  }
}

absl::Status ImportWeights(MimoModel& model, const RawTensorMap& weights,
                           const std::string& source) {
  ASSIGN_OR_RETURN(PreparedWeights prepared, PrepareWeights(model, weights, source));
  ApplyPreparedWeights(prepared);
  return absl::OkStatus();
}

absl::Status ImportWeights(MimoModel& model, const TensorProvider& weights,
                           const std::string& source) {
  at::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    at::Tensor param = item.value();
    RETURN_IF_ERROR(weights.With(name, source, [&](const RawTensor& raw) -> absl::Status {
      RETURN_IF_ERROR(CheckWeightTensor(param, raw, name, source));
      ASSIGN_OR_RETURN(at::Tensor value, BorrowTensor(raw));
      try {
        param.copy_(value);
      } catch (const c10::Error& e) {
        return absl::InternalError(
            absl::StrCat(source, ": tensor '", name, "': ", e.what_without_backtrace()));
      }
      return absl::OkStatus();
    }));
    used.insert(name);
  }
  return CheckNoUnexpectedNames(model, weights.Names(), used, source);
}

namespace {

// Loads `weights` into a fresh model a tensor at a time, freeing each file tensor once it is
// copied: the peak is the model plus the file's bytes, not also a converted copy of them
// (PrepareWeights' all-or-nothing swap is for live models; a fresh one has nothing to keep).
absl::Status ImportIntoFreshModel(MimoModel& model, RawTensorMap& weights,
                                  const std::string& source) {
  at::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    auto found = weights.find(item.key());
    if (found == weights.end()) {
      return absl::NotFoundError(absl::StrCat(source, ": missing tensor '", item.key(), "'"));
    }
    RawTensorMap one;
    one.insert(weights.extract(found));
    // The shape and dtype checks and their messages are PrepareWeights', on one tensor.
    ASSIGN_OR_RETURN(PreparedWeights prepared, PrepareWeights(model, one, source, item.key()));
    ApplyPreparedWeights(prepared);
    // A NaN or inf weight makes every log-prob NaN: refuse the model, naming the tensor,
    // instead of generating garbage (one read of each tensor while it is in cache).
    if (!at::isfinite(item.value()).all().item<bool>()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": tensor '", item.key(), "' holds NaN or infinite values"));
    }
  }
  RETURN_IF_ERROR(CheckNoUnexpectedTensors(model, weights, {}, source));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckModelFitsMemory(const ModelConfig& config, uint64_t available,
                                  const std::string& what) {
  if (available == 0) return absl::OkStatus();  // unknown: nothing to check against
  // MimoModel holds fp32 parameters; the checkpoint's bytes come on top while importing.
  const uint64_t bytes = uint64_t(config.ParameterCount()) * 4;
  if (bytes <= available) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s: %d parameters need %.1f GiB in fp32, %.1f GiB available (MemAvailable); refused "
      "before allocating",
      what, config.ParameterCount(), bytes / double(1 << 30), available / double(1 << 30)));
}

absl::StatusOr<MimoModel> LoadModelDir(const std::string& dir) {
  ASSIGN_OR_RETURN(ModelConfig config, ReadHfConfig(dir + "/config.json"));
  RETURN_IF_ERROR(CheckModelFitsMemory(config, MachineAvailableBytes(), dir + "/config.json"));
  ASSIGN_OR_RETURN(RawTensorMap weights, ReadSafetensorsDir(dir));
  try {
    MimoModel model(config);
    RETURN_IF_ERROR(ImportIntoFreshModel(model, weights, dir));
    weights.clear();
    ReleaseFreedMemory();
    return model;
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat(dir, ": building the model failed: ", e.what_without_backtrace()));
  }
}

absl::Status SaveModelDir(MimoModel& model, const std::string& dir, DType dtype,
                          uint64_t max_shard_bytes) {
  ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(model, dtype));
  RETURN_IF_ERROR(WriteSafetensorsDir(dir, weights, max_shard_bytes));
  return WriteHfConfig(model->config(), dir + "/config.json");
}

}  // namespace seamless
