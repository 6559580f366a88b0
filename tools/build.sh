#!/usr/bin/env bash
# Installs the Debian packages qflash needs (only the missing ones), then
# configures and builds a Release build into build/ (binaries in build/bin/).
# Extra arguments are passed to cmake's configure step, e.g. -DQFLASH_SANITIZE=address.
# BUILD_DIR overrides the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config liburing-dev libdeflate-dev libzstd-dev
          libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev qemu-utils gdisk fdisk
          util-linux nginx python3 openssl dmsetup zstd fuse3 libfuse3-dev e2fsprogs)
# The fuzz build (tools/test.sh --fuzz) needs clang and libFuzzer's runtime.
[[ " $* " == *" -DQFLASH_FUZZ=ON "* ]] && packages+=(clang libclang-rt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir="${BUILD_DIR:-build}"
if [ ! -f "$build_dir/build.ninja" ] || (($#)); then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
fi
cmake --build "$build_dir" -- --quiet
