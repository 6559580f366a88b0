#!/usr/bin/env bash
# Installs what the tests run (only the missing packages), builds
# (tools/build.sh), then runs every test through ctest.
#   tools/test.sh            Release build in build/
#   tools/test.sh --asan     the whole suite under ASan+UBSan, in build-asan/
#   tools/test.sh --tsan     the engine and worker tests under TSan, in build-tsan/
#   tools/test.sh --fuzz     every libFuzzer target for FUZZ_SECONDS (60) each,
#                            clang build in build-fuzz/; findings land in build-fuzz/findings/
# Other arguments go to cmake's configure step (see tools/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=""
case "${1:-}" in
  --asan|--tsan|--fuzz) mode="$1"; shift ;;
esac

# Only the tests need these: the oracle (qemu-img/qemu-io), partitioning
# tools, mounts and file systems, the HTTP servers, the FUSE drive,
# compressors, and groff to check the man pages.
packages=(qemu-utils gdisk fdisk util-linux mount e2fsprogs nginx python3 openssl dmsetup zstd fuse3 curl time
          groff-base xz-utils bzip2 gzip zip bmap-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "test.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

case "$mode" in
  "")
    tools/build.sh "$@"
    ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
    ;;
  --asan)
    export BUILD_DIR="${BUILD_DIR:-build-asan}"
    export BUILD_TYPE="${BUILD_TYPE:-Debug}"  # compiles in half the time; the suite stays quick
    tools/build.sh -DQFLASH_SANITIZE=address,undefined -DQFLASH_BENCH=OFF "$@"
    export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
    export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
    # The install tests build programs outside the tree against libqflash,
    # which under ASan would need the sanitizer runtime: they run in the
    # normal pass.
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" -E "^Installed\\."
    ;;
  --tsan)
    export BUILD_DIR="${BUILD_DIR:-build-tsan}"
    tools/build.sh -DQFLASH_SANITIZE=thread -DQFLASH_BENCH=OFF "$@"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" \
          -R "${TSAN_TESTS:-Engine|Worker|Mass|Write|Fault|Smoke}"
    ;;
  --fuzz)
    export BUILD_DIR="${BUILD_DIR:-build-fuzz}"
    CC=clang CXX=clang++ tools/build.sh -DQFLASH_FUZZ=ON -DQFLASH_BENCH=OFF \
      -DQFLASH_SANITIZE=fuzzer-no-link,address,undefined "$@"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
    tests/fuzz/make_seeds.sh "$BUILD_DIR/tests/fuzz/seeds"
    seconds="${FUZZ_SECONDS:-60}"
    findings="$BUILD_DIR/findings"
    mkdir -p "$findings"
    ran=0
    for fuzzer in "$BUILD_DIR"/bin/fuzz_*; do
      name="$(basename "$fuzzer")"
      corpus="$BUILD_DIR/corpus/$name"
      mkdir -p "$corpus"
      dirs=("$corpus" "$BUILD_DIR/tests/fuzz/seeds/$name")
      [ -d "tests/fuzz/regressions/$name" ] && dirs+=("tests/fuzz/regressions/$name")
      echo "fuzz: $name for ${seconds}s"
      # New inputs go to corpus/ (kept between runs); seeds and regressions are read only.
      "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -print_final_stats=1 -artifact_prefix="$findings/$name-" "${dirs[@]}" 2>"$corpus.log" ||
        { tail -n 60 "$corpus.log"; echo "fuzz: $name found a failure, see $findings/"; exit 1; }
      grep -E "^(stat::number_of_executed_units|#[0-9]+.*DONE)" "$corpus.log" | tail -n 2 || true
      ran=$((ran + 1))
    done
    # A failing fuzzer exits above, so reaching here means all of them passed.
    echo "fuzz: $ran passed, 0 failed"
    ;;
esac
