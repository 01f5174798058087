// The LibTorch headers every torch-using target shares as one precompiled header
// (seamless_torch_pch in core/CMakeLists.txt). Narrow on purpose: no torch/torch.h.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
