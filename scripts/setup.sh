#!/usr/bin/env bash
# Installs, from Debian 12 packages, whatever Seamless needs and is missing.
# Idempotent: packages already present are not touched. Runs apt-get directly
# as root and through sudo otherwise; fails with one clear line when it cannot.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  # clang: the thread-safety check over the GCC build's TUs, the sanitizer build (with its
  # runtime), format and lint (scripts/lint.sh)
  clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14
  libtorch-dev libgloo-dev libopenblas0-pthread
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libboost-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev nlohmann-json3-dev
  bubblewrap python3 procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "setup: error: missing packages (${missing[*]}) and not root, and sudo is not installed" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get update -qq; then
  echo "setup: error: 'apt-get update' failed; check the network and /etc/apt/sources.list" >&2
  exit 1
fi
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/seamless-setup-apt.log 2>&1; then
  tail -20 /tmp/seamless-setup-apt.log >&2
  echo "setup: error: 'apt-get install ${missing[*]}' failed (log: /tmp/seamless-setup-apt.log)" >&2
  exit 1
fi
echo "setup: done"
