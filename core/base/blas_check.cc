#include "core/base/blas_check.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

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

std::string OpenBlasCoreName() {
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (fn == nullptr) return "";
  const char* name = fn();
  return name ? name : "";
}

void UseFastOpenBlasKernels(char** argv) {
  if (getenv("OPENBLAS_CORETYPE") != nullptr) return;
  if (OpenBlasCoreName() != "Prescott") return;
  __builtin_cpu_init();
  const char* core = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                     : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                       : nullptr;
  if (core == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  // Still here: keep running on the slow kernels rather than fail.
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace seamless
