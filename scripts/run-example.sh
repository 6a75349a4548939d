#!/usr/bin/env bash
# run-example.sh -- sets up, builds and runs taso-opt on the bundled example
# model data/example.onnx, writing build/example.opt.onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
./build/taso-opt data/example.onnx build/example.opt.onnx "$@"
