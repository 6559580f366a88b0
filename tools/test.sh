#!/usr/bin/env bash
# Builds (tools/build.sh), then runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh "$@"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
