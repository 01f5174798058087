#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build, check the lock annotations
# (scripts/check_thread_safety.sh), format and lint (scripts/lint.sh), and run every test.
# Under CI (CI=true) or with SEAMLESS_SANITIZER_PASS=1 the suite runs a second time, built by
# clang with AddressSanitizer and UBSan in build-clang-asan/ (every TU, -Werror=thread-safety),
# with the libFuzzer targets of fuzz/ (20,000 inputs each from their seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# The lock annotations, checked by clang's -Wthread-safety over the TUs that lock (no second
# build: clang parses them with build/compile_commands.json's flags).
scripts/check_thread_safety.sh build
scripts/lint.sh build
(cd build && ctest --output-on-failure -j "${SEAMLESS_TEST_JOBS:-2}")

if [[ "${CI:-}" == "true" || "${SEAMLESS_SANITIZER_PASS:-0}" == "1" ]]; then
  echo "test: sanitizer pass (clang, AddressSanitizer + UBSan)"
  # clang builds it: about 3x faster than GCC with the sanitizers here, and it checks the lock
  # annotations of every translation unit as it goes (CMakeLists.txt).
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-clang-asan -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEAMLESS_SANITIZE=ON >/dev/null
  cmake --build build-clang-asan -j "$(nproc)"
  # Leak checking is off: LibTorch and protobuf keep process-lifetime singletons. Tests
  # labelled "slow" (whole training runs of real processes) run in the first pass only: under
  # ASan they would take most of CI's time and exercise no code the other tests do not.
  (cd build-clang-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure -j "${SEAMLESS_TEST_JOBS:-2}" -LE slow)
fi
