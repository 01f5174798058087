#include "core/base/blas_check.h"

#include <gtest/gtest.h>

namespace seamless {
namespace {

// This test links LibTorch (see core/CMakeLists.txt), so sgemm_ must resolve to a library,
// and scripts/setup.sh installs OpenBLAS, which must win over the reference BLAS.
TEST(BlasCheckTest, FindsTheOptimizedBlasThatTorchUses) {
  BlasInfo info = DetectBlas();
  ASSERT_FALSE(info.library_path.empty()) << "sgemm_ not found";
  EXPECT_TRUE(info.is_optimized) << info.library_path;
  EXPECT_FALSE(info.is_reference) << info.library_path;
}

}  // namespace
}  // namespace seamless
