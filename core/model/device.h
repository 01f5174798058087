// Which device tensors live on: "cpu" (the default) or "cuda[:N]" in GPU builds
// (-DSEAMLESS_GPU=ON with a CUDA LibTorch).
#ifndef SEAMLESS_CORE_MODEL_DEVICE_H_
#define SEAMLESS_CORE_MODEL_DEVICE_H_

#include <ATen/ATen.h>

#include <string>

#include "absl/status/statusor.h"

namespace seamless {

// Parses "cpu", "cuda", "cuda:1", or "auto" (CUDA when this build and machine have it).
// Asking for CUDA where it is missing is an error that says why.
absl::StatusOr<at::Device> ParseDevice(const std::string& name);

// True when this binary was built with the GPU option.
constexpr bool kGpuBuild =
#ifdef SEAMLESS_GPU
    true;
#else
    false;
#endif

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_DEVICE_H_
