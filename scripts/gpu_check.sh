#!/usr/bin/env bash
# The GPU path, checked on a CUDA machine that has PyTorch (with its CUDA LibTorch and NCCL)
# but none of our Debian packages: unpacks Debian 12's .debs (gRPC, protobuf, Abseil,
# yaml-cpp, nlohmann-json, GoogleTest, Boost headers) from .gpu/debs into a private sysroot,
# builds with -DSEAMLESS_GPU=ON against PyTorch's LibTorch, then runs the CUDA checks.
#
#   mkdir -p .gpu/debs && (cd .gpu/debs && apt-get download $(cat ../../scripts/gpu_debs.txt))
#   scripts/gpu_check.sh [OUT_DIR]       # on the GPU machine
#
# Everything it prints also goes to OUT_DIR/gpu_check.log.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-/tmp}}
mkdir -p "$OUT_DIR"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
step() { echo; echo "== $* ($(date +%T))"; }

SYSROOT=/tmp/seamless-sysroot
step "unpack $(ls .gpu/debs/*.deb | wc -l) Debian packages into $SYSROOT"
mkdir -p "$SYSROOT"
for f in .gpu/debs/*.deb; do dpkg -x "$f" "$SYSROOT"; done
export PATH="$SYSROOT/usr/bin:$PATH"
export LD_LIBRARY_PATH="$SYSROOT/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"

step "toolchain"
nvidia-smi -L || true
TORCH_CMAKE=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$TORCH_LIB:$LD_LIBRARY_PATH"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
g++ --version | head -1; cmake --version | head -1

# NCCL: the copy PyTorch itself loads (its nvidia-nccl wheel) when there is one, so that one
# libnccl serves both; else /usr/local/cuda's.
NCCL_ARGS=()
NCCL_PY=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__) if nvidia.nccl.__file__ else list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)
if [[ -n "$NCCL_PY" && -f "$NCCL_PY/include/nccl.h" ]]; then
  NCCL_LIB=$(ls "$NCCL_PY"/lib/libnccl.so* | head -1)
  NCCL_ARGS=(-DNCCL_INCLUDE_DIR="$NCCL_PY/include" -DNCCL_LIBRARY="$NCCL_LIB")
  export LD_LIBRARY_PATH="$NCCL_PY/lib:$LD_LIBRARY_PATH"
  echo "NCCL from PyTorch's wheel: $NCCL_LIB"
fi

step "configure (SEAMLESS_GPU=ON)"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEAMLESS_GPU=ON \
  -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$SYSROOT/usr" -DCMAKE_LIBRARY_ARCHITECTURE=x86_64-linux-gnu \
  -DProtobuf_PROTOC_EXECUTABLE="$SYSROOT/usr/bin/protoc" "${NCCL_ARGS[@]}" \
  -DCMAKE_EXE_LINKER_FLAGS="-L$SYSROOT/usr/lib/x86_64-linux-gnu -Wl,-rpath-link,$SYSROOT/usr/lib/x86_64-linux-gnu" \
  || exit 1   # (gRPC's CMake files name re2 as -lre2 under /usr/lib: hence the -L)

step "build"
targets=(seamless seamless_model_test seamless_rollout_generator_test seamless_learner_test
         ${SEAMLESS_GPU_EXTRA_TARGETS:-})
cmake --build build-gpu -j "$(nproc)" --target "${targets[@]}" -- -k 0 || exit 1

step "CPU unit tests of the CUDA build"
build-gpu/core/seamless_model_test --gtest_brief=1 || echo "FAILED: model tests"
build-gpu/rollout/seamless_rollout_generator_test --gtest_brief=1 || echo "FAILED: generator tests"
build-gpu/learner/seamless_learner_test --gtest_brief=1 || echo "FAILED: learner tests"

step "generation on CUDA (MTP speculative on and off: same greedy tokens)"
for spec in on off; do
  build-gpu/seamless generate --device cuda --temperature 0 --max-new-tokens 24 --speculative $spec "12+30=" || echo "FAILED: generate $spec"
done

step "bench model on CUDA"
build-gpu/seamless bench model --device cuda --decode-steps 32 || echo "FAILED: bench model"
step "bench rollout on CUDA"
build-gpu/seamless bench rollout --device cuda --requests 256 || echo "FAILED: bench rollout"
if [[ -n "${SEAMLESS_GPU_EXTRA_CHECKS:-}" ]]; then
  step "extra checks"
  bash -c "$SEAMLESS_GPU_EXTRA_CHECKS" || echo "FAILED: extra checks"
fi
step "done"
