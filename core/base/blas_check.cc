#include "core/base/blas_check.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <mutex>

#include "core/base/log.h"

namespace seamless {

BlasInfo DetectBlas() {
  BlasInfo info;
  void* symbol = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info dl;
  if (symbol == nullptr || dladdr(symbol, &dl) == 0 || dl.dli_fname == nullptr) return info;
  char resolved[PATH_MAX];
  info.library_path = realpath(dl.dli_fname, resolved) ? resolved : dl.dli_fname;
  const std::string& p = info.library_path;
  info.is_optimized = p.find("openblas") != std::string::npos ||
                      p.find("blis") != std::string::npos || p.find("mkl") != std::string::npos;
  info.is_reference = !info.is_optimized && p.find("/blas/") != std::string::npos;
  return info;
}

void WarnIfReferenceBlas() {
  static std::once_flag once;
  std::call_once(once, [] {
    BlasInfo info = DetectBlas();
    if (info.is_reference) {
      SLOG(WARNING) << "LibTorch is using the reference BLAS (" << info.library_path
                   << "): matrix products run ~40x slower. Fix: apt-get install "
                      "libopenblas0-pthread (scripts/setup.sh does this).";
    }
  });
}

}  // namespace seamless
