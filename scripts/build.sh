#!/usr/bin/env bash
# Configures and builds Seamless into build/ (Release, Ninja, ccache). Used by demo.sh and
# test.sh; run it alone after editing code. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SEAMLESS_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-Release} "$@" >/dev/null
echo "build: compiling with $jobs jobs (first build takes a few minutes)"
cmake --build build -j "$jobs"
