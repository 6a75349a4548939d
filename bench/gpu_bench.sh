#!/usr/bin/env bash
# gpu_bench.sh -- the GPU figures of the benchmark models: for each model,
# taso-opt with the cuda cost backend (operators measured on the GPU), then
# taso-bench on the original and on the optimized model: the end-to-end
# latency measured by the GPU executor (median of RUNS runs) and the
# latency the cost model predicts (the sum of the measured operator costs).
# Prints a Markdown table (for docs/benchmarks.md): model, measured
# original and optimized ms, speed-up, predicted original and optimized ms,
# and the prediction error ((predicted - measured) / measured) of each.
# Needs a machine with an NVIDIA GPU and taso built with the CUDA backend.
#
# usage: bench/gpu_bench.sh [options] [-- extra taso-opt options]
#   --build DIR       folder with taso-opt and taso-bench (default: build)
#   --models DIR      folder of the models (default bench/models); missing models are
#                     written by bench/make_models.py
#   --only a,b        models to use (default: all eight benchmark models)
#   --budget N        taso-opt search budget (default 1000)
#   --math M          fp32 (default), tf32, fp16 or bf16 (--backend cuda:M)
#   --runs N          taso-bench timed runs per model (default 50)
#   --cost-db FILE    cost database (default: taso's default, shared with taso-opt/taso-cost)
#   --check           taso-bench --check: the GPU's outputs against the reference kernels
#   --out DIR         where outputs and reports go (default: a fresh temporary folder)
# example:
#   bench/gpu_bench.sh --only resnet50,bert_base --runs 100
# Exit status: 0 done, 1 bad usage or no GPU, 2 a run failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
models_dir="$here/models"
only="resnet50,resnext50,inception_v3,squeezenet11,nasnet_mobile,nasrnn,bert_base,bert_taso"
budget=1000
math=fp32
runs=50
costdb=""
check=""
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --models) models_dir=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --math) math=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --cost-db) costdb=$2; shift 2 ;;
    --check) check=--check; shift ;;
    --out) out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_bench.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
opt="$build/taso-opt"
bench="$build/taso-bench"
[ -x "$opt" ] && [ -x "$bench" ] || { echo "gpu_bench.sh: no taso-opt and taso-bench in $build (give --build DIR)" >&2; exit 1; }
"$bench" --version | grep -q "CUDA backend: yes" ||
  { echo "gpu_bench.sh: $bench was built without the CUDA backend (needs the CUDA toolkit, cuDNN, cuBLAS)" >&2; exit 1; }
python3 -c "import json" || exit 1
backend=cuda
[ "$math" = fp32 ] || backend="cuda:$math"
[ -n "$out" ] || out=$(mktemp -d /tmp/gpu_bench.XXXXXX)
mkdir -p "$out" "$models_dir"
common=()
[ -n "$costdb" ] && common+=(--cost-db "$costdb")

fails=0
IFS=, read -r -a names <<<"$only"
header_done=0
for name in "${names[@]}"; do
  m="$models_dir/$name.onnx"
  if [ ! -f "$m" ]; then
    python3 "$here/make_models.py" --only "$name" --out "$models_dir" >"$out/make.$name.log" 2>&1 ||
      { echo "gpu_bench.sh: cannot make $name (see $out/make.$name.log)" >&2; fails=$((fails + 1)); continue; }
  fi
  o="$out/$name.opt.onnx"
  # the original first: its operators are measured (and the GPU's absence found) before the search
  st=0
  "$bench" "$m" --backend "$backend" --runs "$runs" --json $check "${common[@]}" >"$out/$name.in.json" \
    2>"$out/$name.in.err" || st=$?
  if [ $st -ne 0 ]; then
    echo "gpu_bench.sh: taso-bench $name: $(tail -1 "$out/$name.in.err")" >&2
    [ $st -eq 4 ] && exit 1 # no GPU: nothing else will run either
    fails=$((fails + 1))
    continue
  fi
  if [ $header_done -eq 0 ]; then
    python3 - "$out/$name.in.json" "$runs" "$budget" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("device:   %s" % d["device"])
print("version:  %s" % d["version"])
print("settings: taso-opt --backend %s --budget %s; taso-bench median of %s runs" % (d["backend"], sys.argv[3], sys.argv[2]))
print()
print("| model | measured original (ms) | measured optimized (ms) | speed-up | predicted original (ms) "
      "| predicted optimized (ms) | prediction error original / optimized |")
print("|---|---:|---:|---:|---:|---:|---:|")
PY
    header_done=1
  fi
  if ! "$opt" --backend "$backend" --budget "$budget" --seed 1 --quiet --report "$out/$name.report.json" \
      "${common[@]}" "${extra[@]}" "$m" "$o" 2>"$out/$name.opt.err"; then
    echo "| $name | taso-opt failed: $(tail -1 "$out/$name.opt.err") |"
    fails=$((fails + 1))
    continue
  fi
  if ! "$bench" "$o" --backend "$backend" --runs "$runs" --json $check "${common[@]}" >"$out/$name.out.json" \
      2>"$out/$name.out.err"; then
    echo "| $name | taso-bench on the optimized model failed: $(tail -1 "$out/$name.out.err") |"
    fails=$((fails + 1))
    continue
  fi
  python3 - "$name" "$out/$name.in.json" "$out/$name.out.json" <<'PY' || fails=$((fails + 1))
import json, sys
name, fa, fb = sys.argv[1:]
a, b = json.load(open(fa)), json.load(open(fb))
def err(d):
    return 100.0 * (d["predicted_ms"] - d["measured_ms"]) / d["measured_ms"]
print("| %s | %.3f | %.3f | %.2fx | %.3f | %.3f | %+.0f%% / %+.0f%% |" % (
    name, a["measured_ms"], b["measured_ms"], a["measured_ms"] / b["measured_ms"], a["predicted_ms"],
    b["predicted_ms"], err(a), err(b)))
for d, side in ((a, "original"), (b, "optimized")):
    ex = d.get("executor", {})
    if ex.get("host"):
        print("<!-- %s %s: %d node(s) ran on the host: %s -->" % (name, side, ex["host"], ex["host_ops"]))
    if "check" in d and d["check"]["mismatches"]:
        print("<!-- %s %s: --check FAILED: %s -->" % (name, side, d["check"]["note"]))
        sys.exit(1)
PY
done
echo
echo "reports: $out/*.json"
[ $fails -eq 0 ] || { echo "gpu_bench.sh: $fails failure(s)" >&2; exit 2; }
