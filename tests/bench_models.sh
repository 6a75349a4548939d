#!/usr/bin/env bash
# bench_models.sh -- generates the benchmark models, runs taso-opt on each
# and checks the result independently in onnxruntime. Prints one line per
# model with node counts, time and the largest errors seen by both checks.
#   bench_models.sh TASO_OPT SOURCE_DIR WORK_DIR [MODEL,...] [--opset N]
# MODEL,...: only these models (default: all); --opset: build them at ONNX
# opset N, 13..17 (default 17, make_models.py's). Use one WORK_DIR per opset.
# Exit 77 (skipped) when python3 cannot import onnx, onnxruntime and numpy.
set -u
opt=$1 src=$2 work=$3
shift 3
only= opset=
while [ $# -gt 0 ]; do
  case "$1" in
    --opset) opset=${2:?--opset needs a value}; shift 2 ;;
    --opset=*) opset=${1#--opset=}; shift ;;
    *) only=$1; shift ;;
  esac
done
if ! why=$(python3 -c 'import numpy, onnx, onnxruntime' 2>&1); then
  echo "bench_models: skipped: ${why##*$'\n'}"
  exit 77
fi
mkdir -p "$work"
fails=0
args=(--out "$work")
[ -n "$only" ] && args+=(--only "$only")
[ -n "$opset" ] && args+=(--opset "$opset")
python3 "$src/bench/make_models.py" "${args[@]}" >"$work/make.log" 2>&1 || { cat "$work/make.log"; exit 1; }
# the models of this run only (WORK_DIR may hold others from earlier runs)
models=()
if [ -n "$only" ]; then
  IFS=, read -ra names <<<"$only"
  for n in "${names[@]}"; do [ -n "$n" ] && models+=("$work/$n.onnx"); done
else
  for m in "$work"/*.onnx; do
    case "$m" in *.opt.onnx) ;; *) models+=("$m") ;; esac
  done
fi
# make_models.py must have written them at the opset asked for
if [ -n "$opset" ] && ! python3 - "$opset" "${models[@]}" <<'PY'
import sys, onnx
want = int(sys.argv[1])
bad = 0
for p in sys.argv[2:]:
    m = onnx.load(p, load_external_data=False)
    got = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
    if got != [want]:
        print("FAIL: %s: opset %s, expected %d" % (p, got, want))
        bad += 1
sys.exit(1 if bad else 0)
PY
then
  exit 1
fi
printf "%-16s %7s %7s %9s %12s %12s %12s\n" model before after seconds taso_maxabs ort_maxabs ort_maxrel
for m in "${models[@]}"; do
  name=$(basename "$m" .onnx)
  o="$work/$name.opt.onnx"
  rm -f "$o"
  # analytic costs keep this test fast and deterministic; bench/opt_bench.sh measures
  if ! "$opt" --json --seed 1 --backend analytic --cost-db "$work/costs.sqlite" "$m" "$o" \
      >"$work/$name.json" 2>"$work/$name.err"; then
    echo "FAIL: taso-opt $name: $(cat "$work/$name.err")"; fails=$((fails + 1)); continue
  fi
  if ! python3 "$src/bench/ort_compare.py" "$m" "$o" --seed 5 --json >"$work/$name.ort.json" 2>"$work/$name.ort.err"; then
    echo "FAIL: onnxruntime disagrees on $name: $(tail -3 "$work/$name.ort.err")"; fails=$((fails + 1))
  fi
  python3 - "$name" "$work/$name.json" "$work/$name.ort.json" <<'PY'
import json, sys
name, a, b = sys.argv[1:]
t = json.load(open(a))
try:
    o = json.load(open(b))
    oa = max(x["max_abs"] for x in o["outputs"])
    orr = max(x["max_rel"] for x in o["outputs"])
except Exception:
    oa = orr = None
fmt = lambda v: "-" if v is None else "%.3g" % v
print("%-16s %7d %7d %9.2f %12s %12s %12s" % (name, t["nodes_before"], t["nodes_after"], t["seconds"]["total"],
      fmt(t["check"]["max_abs_err"]), fmt(oa), fmt(orr)))
if t["check"]["status"] != "passed":
    print("FAIL: %s: check %s: %s" % (name, t["check"]["status"], t["check"]["note"]))
    sys.exit(1)
PY
  [ $? -eq 0 ] || fails=$((fails + 1))
done
if [ $fails -ne 0 ]; then echo "bench_models: $fails failure(s)"; exit 1; fi
echo "bench_models: ok"
