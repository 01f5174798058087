// Which BLAS library serves LibTorch's CPU matrix products. Debian's LibTorch links the
// `libblas.so.3` alternative: with only the reference BLAS installed, matmuls run ~40x slower.
#ifndef SEAMLESS_CORE_BASE_BLAS_CHECK_H_
#define SEAMLESS_CORE_BASE_BLAS_CHECK_H_

#include <string>

namespace seamless {

struct BlasInfo {
  std::string library_path;   // resolved path of the library providing sgemm_, or empty
  bool is_reference = false;  // the slow Netlib reference implementation
  bool is_optimized = false;  // OpenBLAS, BLIS, MKL
};

BlasInfo DetectBlas();

// Logs a warning with the fix when the reference BLAS is in use; once per process.
void WarnIfReferenceBlas();

// OpenBLAS's kernel set ("Haswell", "SkylakeX", ...), or empty when OpenBLAS is not loaded.
std::string OpenBlasCoreName();

// NOTE [OpenBLAS core detection]: Debian's OpenBLAS 0.3.21 does not recognise some current
// virtualised Xeons (cpuid reports a bare "Intel(R) Xeon(R) Processor") and falls back to its
// SSE3 "Prescott" kernels: matrix products then run several times slower than the CPU allows.
// It picks its kernels when the library loads, before main(), from OPENBLAS_CORETYPE. So when
// OpenBLAS is on Prescott, OPENBLAS_CORETYPE is unset and the CPU has AVX2 or AVX-512, this
// sets OPENBLAS_CORETYPE (SkylakeX or Haswell) and re-executes the process (/proc/self/exe,
// same argv). Returns only when nothing needed doing (or the re-exec failed). Setting
// OPENBLAS_CORETYPE yourself (for example "Prescott") turns this off.
void UseFastOpenBlasKernels(char** argv);

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_BLAS_CHECK_H_
