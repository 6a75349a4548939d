#!/usr/bin/env bash
# opt_bench.sh -- the optimizer's figures on the benchmark models: for each
# model, taso-opt at the given budget (search time, total time, peak RSS,
# predicted cost before and after, rewrites applied), then onnxruntime (CPU,
# ORT_ENABLE_ALL on both sides) latency of in.onnx and out.onnx -- the two
# interleaved, 3 sessions per side round-robin, median of 3 x RUNS runs
# each with the p10..p90 spread -- and the
# largest difference of their outputs on the same random inputs, relative
# to the output's largest magnitude (must be <= 1e-4). Prints a Markdown
# table (for docs/benchmarks.md) and writes every taso-opt report as JSON.
#
# usage: bench/opt_bench.sh [options] [-- extra taso-opt options]
#   --taso-opt PATH   the taso-opt binary (default: $TASO_OPT, build/taso-opt, build-opt/taso-opt)
#   --models DIR      folder of the models (default bench/models); missing models are
#                     written by bench/make_models.py
#   --only a,b        models to use (default: all eight benchmark models)
#   --budget N        search budget (default 1000)
#   --rules FILE      rule file (default: taso-opt's own default, data/rules.bin)
#   --backend NAME    cost backend for taso-opt (default: taso-opt's, onednn when built)
#   --cost-db FILE    cost database (default: taso-opt's default)
#   --runs N          onnxruntime runs per model and side (default 30, at least 20)
#   --threads N       onnxruntime intra-op threads (default 1, like the cost model)
#   --out DIR         where outputs and reports go (default: a fresh temporary folder)
# example:
#   bench/opt_bench.sh --only resnet50,squeezenet11 --runs 20
# Exit status: 0 done, 1 bad usage, 2 a run failed (taso-opt, onnxruntime, or
# outputs differing by more than 1e-4 relative).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
opt=${TASO_OPT:-}
models_dir="$here/models"
only="resnet50,resnext50,inception_v3,squeezenet11,nasnet_mobile,nasrnn,bert_base,bert_taso"
budget=1000
rules=""
backend=""
costdb=""
runs=30
threads=1
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --taso-opt) opt=$2; shift 2 ;;
    --models) models_dir=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --rules) rules=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --cost-db) costdb=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "opt_bench.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
if [ -z "$opt" ]; then
  for c in "$root/build/taso-opt" "$root/build-opt/taso-opt"; do [ -x "$c" ] && { opt=$c; break; }; done
fi
[ -n "$opt" ] && [ -x "$opt" ] || { echo "opt_bench.sh: no taso-opt binary (give --taso-opt PATH)" >&2; exit 1; }
[ "$runs" -ge 20 ] 2>/dev/null || { echo "opt_bench.sh: --runs must be at least 20" >&2; exit 1; }
python3 -c "import onnxruntime, numpy, onnx" 2>/dev/null || { echo "opt_bench.sh: needs python3 with onnxruntime, numpy, onnx" >&2; exit 1; }
[ -n "$out" ] || out=$(mktemp -d /tmp/opt_bench.XXXXXX)
mkdir -p "$out" "$models_dir"

args=(--budget "$budget" --seed 1)
[ -n "$rules" ] && args+=(--rules "$rules")
[ -n "$backend" ] && args+=(--backend "$backend")
[ -n "$costdb" ] && args+=(--cost-db "$costdb")
args+=("${extra[@]}")

echo "taso-opt: $opt ${args[*]}"
echo "machine:  $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); onnxruntime $(python3 -c 'import onnxruntime; print(onnxruntime.__version__)'), $threads thread(s), ORT_ENABLE_ALL, $runs runs"
echo
echo "| model | search (s) | taso-opt total (s) | peak RSS (MB) | predicted before (ms) | predicted after (ms) | rewrites | ORT in.onnx (ms) | ORT out.onnx (ms) | speed-up | max rel diff |"
echo "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
fails=0
IFS=, read -r -a names <<<"$only"
for name in "${names[@]}"; do
  m="$models_dir/$name.onnx"
  if [ ! -f "$m" ]; then
    python3 "$here/make_models.py" --only "$name" --out "$models_dir" >"$out/make.$name.log" 2>&1 ||
      { echo "opt_bench.sh: cannot make $name (see $out/make.$name.log)" >&2; fails=$((fails + 1)); continue; }
  fi
  o="$out/$name.opt.onnx"
  rep="$out/$name.report.json"
  if ! /usr/bin/time -f "%e %M" -o "$out/$name.time" "$opt" "${args[@]}" --quiet --report "$rep" "$m" "$o" \
      2>"$out/$name.err"; then
    echo "| $name | failed: $(tail -1 "$out/$name.err") |"
    fails=$((fails + 1))
    continue
  fi
  if ! python3 - "$name" "$m" "$o" "$rep" "$out/$name.time" "$runs" "$threads" <<'PY'; then
import json, sys, time
import numpy as np
import onnxruntime as ort

name, fin, fout, rep, tfile, runs, threads = sys.argv[1:]
runs, threads = int(runs), int(threads)
r = json.load(open(rep))
wall, rss_kb = open(tfile).read().split()[-2:]

def session(path):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

# Several sessions per side: one onnxruntime session of a model can run a
# few percent faster or slower than another session of the very same file
# (where its buffers landed); NasRNN, identical files: 2.62 against 2.80 ms.
# Timing SESSIONS sessions per side, round-robin, averages that out.
SESSIONS = 3
sa = [session(fin) for _ in range(SESSIONS)]
sb = [session(fout) for _ in range(SESSIONS)]
a, b = sa[0], sb[0]
rng = np.random.default_rng(12345)
feeds = {}
for i in a.get_inputs():
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
    if "float" in i.type:
        feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    elif "int64" in i.type:
        feeds[i.name] = np.zeros(shape, dtype=np.int64)
    else:
        feeds[i.name] = np.zeros(shape, dtype=np.int32)
ya, yb = a.run(None, feeds), b.run(None, feeds)
worst = 0.0
for x, y in zip(ya, yb):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    scale = max(float(np.max(np.abs(x))), 1e-30)
    worst = max(worst, float(np.max(np.abs(x - y))) / scale)
for _ in range(3):  # warm-up
    for x, y in zip(sa, sb):
        x.run(None, feeds)
        y.run(None, feeds)
ta, tb = [], []
for _ in range(runs):  # interleaved, so that drifts of the machine hit both sides
    for x, y in zip(sa, sb):
        t0 = time.perf_counter(); x.run(None, feeds); ta.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter(); y.run(None, feeds); tb.append((time.perf_counter() - t0) * 1e3)

def fmt(t):
    p10, p50, p90 = np.percentile(t, [10, 50, 90])
    return "%.2f (%.2f..%.2f)" % (p50, p10, p90)

def label(x):
    if x["rule"] < 0:
        return "layouts x%d" % x["count"]
    return "r%d%s x%d" % (x["rule"], " (reversed)" if "[reversed]" in x.get("text", "") else "", x["count"])
rw = ", ".join(label(x) for x in r["rewrites"]) or "-"
passes = r["passes"]
extra = []
if passes["bn_folded"]:
    extra.append("%d BN folded" % passes["bn_folded"])
if passes.get("matmuls_flattened"):
    extra.append("%d MatMul made 2-D" % passes["matmuls_flattened"])
if passes["gemm_fused"]:
    extra.append("%d Gemm" % passes["gemm_fused"])
if passes.get("layouts_lowered"):
    extra.append("%d Gemm trans" % passes["layouts_lowered"])
if extra:
    rw += " (+" + ", ".join(extra) + ")"
print("| %s | %.2f | %s | %.0f | %.3f | %.3f | %s | %s | %s | %.3f | %.1e |" % (
    name, r["seconds"]["search"], wall, int(rss_kb) / 1024.0, r["cost"]["before_ms"], r["cost"]["after_ms"],
    rw, fmt(ta), fmt(tb), float(np.median(ta)) / float(np.median(tb)), worst))
sys.exit(0 if worst <= 1e-4 else 3)
PY
    echo "opt_bench.sh: $name: onnxruntime failed or outputs differ by more than 1e-4 relative" >&2
    fails=$((fails + 1))
  fi
done
echo
echo "reports: $out/*.report.json"
[ $fails -eq 0 ] || { echo "opt_bench.sh: $fails failure(s)" >&2; exit 2; }
