#!/usr/bin/env bash
# Installs the Debian packages building qflash needs (only the missing ones),
# then configures and builds a Release build into build/ (programs in build/bin/).
#   tools/build.sh               the programs, libqflash, the tests and the benchmarks
#   tools/build.sh --tools-only  only the programs and libqflash (no test or benchmark
#                                packages, nothing but qflash, qflash-mass, libqflash)
# Extra arguments are passed to cmake's configure step, e.g. -DQFLASH_SANITIZE=address.
# BUILD_DIR overrides the build directory, BUILD_TYPE the build type.
# The packages only the tests run (qemu-utils, nginx, FUSE, ...) are tools/test.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."

tools_only=0
if [ "${1:-}" = "--tools-only" ]; then
  tools_only=1
  shift
fi

# To build the programs; ca-certificates is what HTTPS images need at run time.
packages=(build-essential cmake ninja-build pkg-config liburing-dev libdeflate-dev libzstd-dev
          libcurl4-openssl-dev libmount-dev liblzma-dev libbz2-dev libisal-dev libexpat1-dev libssl-dev
          ca-certificates)
# To build the tests and benchmarks (running them needs tools/test.sh's packages too).
((tools_only)) || packages+=(libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev libfuse3-dev)
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
options=()
if ((tools_only)); then
  options+=(-DQFLASH_TESTS=OFF -DQFLASH_BENCH=OFF)
elif grep -qs "^QFLASH_TESTS:BOOL=OFF" "$build_dir/CMakeCache.txt"; then
  options+=(-DQFLASH_TESTS=ON -DQFLASH_BENCH=ON)  # a tools-only build dir, now wanted whole
fi
# ccache, where it is installed (build.sh does not install it), makes rebuilds
# and other checkouts cheap; paths are taken relative to the checkout.
if command -v ccache >/dev/null && [ ! -f "$build_dir/build.ninja" ]; then
  options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
if [ ! -f "$build_dir/build.ninja" ] || (($#)) || ((${#options[@]})); then
  echo "build.sh: configuring $build_dir/ (${BUILD_TYPE:-Release})"
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
        "${options[@]}" "$@" >/dev/null
fi
echo "build.sh: building in $build_dir/ (minutes: --tools-only compiles about 50 files, the full build about 100)"
# On a terminal ninja keeps its progress on one line; elsewhere it stays quiet.
quiet=(--quiet)
[ -t 1 ] && quiet=()
cmake --build "$build_dir" -- "${quiet[@]}"
echo "build.sh: done; the programs are $build_dir/bin/qflash and $build_dir/bin/qflash-mass" \
     "(cmake --install $build_dir installs them, see README)"
