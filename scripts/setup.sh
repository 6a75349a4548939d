#!/usr/bin/env bash
# setup.sh -- installs everything taso needs on Debian (bookworm) and builds
# it. Idempotent: a second run only rebuilds what changed.
#   scripts/setup.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

need_apt=()
for p in build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libxxhash-dev \
         libonnx-dev libonnx-testdata libgmp-dev libz3-dev libdnnl-dev libsqlite3-dev python3 python3-pip; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Python packages for tests and benchmarks only (the library does not use them).
if ! python3 -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
  echo "setup: installing Python packages: onnx onnxruntime numpy"
  python3 -m pip install -q onnx onnxruntime numpy 2>/dev/null ||
    python3 -m pip install -q --break-system-packages onnx onnxruntime numpy
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTASO_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
