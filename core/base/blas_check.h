// Which BLAS library serves LibTorch's CPU matrix products. Debian's LibTorch links the
// `libblas.so.3` alternative: with only the reference BLAS installed, matmuls run ~40x slower.
#ifndef SEAMLESS_CORE_BASE_BLAS_CHECK_H_
#define SEAMLESS_CORE_BASE_BLAS_CHECK_H_

#include <string>

namespace seamless {

struct BlasInfo {
  std::string library_path;  // resolved path of the library providing sgemm_, or empty
  bool is_reference = false;  // the slow Netlib reference implementation
  bool is_optimized = false;  // OpenBLAS, BLIS, MKL
};

BlasInfo DetectBlas();

// Logs a warning with the fix when the reference BLAS is in use; once per process.
void WarnIfReferenceBlas();

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_BLAS_CHECK_H_
