#include "core/model/device.h"

#include <ATen/Context.h>

#include "absl/strings/str_cat.h"

namespace seamless {

absl::StatusOr<at::Device> ParseDevice(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name == "auto") {
    return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  }
  if (name.rfind("cuda", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", name, "': expected cpu, cuda, cuda:N or auto"));
  }
  if (!at::hasCUDA()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device '", name, "': ",
        kGpuBuild ? "no CUDA device is visible"
                  : "this build has no CUDA (configure with -DSEAMLESS_GPU=ON and a CUDA "
                    "LibTorch)"));
  }
  try {
    at::Device device(name);
    if (device.has_index() && device.index() >= at::detail::getCUDAHooks().getNumGPUs()) {
      return absl::InvalidArgumentError(absl::StrCat("device '", name, "': no such GPU"));
    }
    return device;
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", name, "': ", e.what_without_backtrace()));
  }
}

}  // namespace seamless
