#!/usr/bin/env bash
# bench_models.sh -- generates the benchmark models, runs taso-opt on each
# and checks the result independently in onnxruntime. Prints one line per
# model with node counts, time and the largest errors seen by both checks.
#   bench_models.sh TASO_OPT SOURCE_DIR WORK_DIR [MODEL,...]
set -u
opt=$1 src=$2 work=$3 only=${4:-}
mkdir -p "$work"
fails=0
args=(--out "$work")
[ -n "$only" ] && args+=(--only "$only")
python3 "$src/bench/make_models.py" "${args[@]}" >"$work/make.log" 2>&1 || { cat "$work/make.log"; exit 1; }
printf "%-16s %7s %7s %9s %12s %12s %12s\n" model before after seconds taso_maxabs ort_maxabs ort_maxrel
for m in "$work"/*.onnx; do
  case "$m" in *.opt.onnx) continue ;; esac
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
