#!/usr/bin/env bash
# run-tests.sh -- sets up, builds and runs the test suite: every test of the
# release build (labels quick and full), then the quick tier again in an
# AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
jobs=$(nproc)
(cd build && ctest --output-on-failure -j"$jobs" -L 'quick|full')
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTASO_WERROR=ON -DTASO_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" -L quick)
