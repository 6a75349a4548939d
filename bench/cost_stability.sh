#!/usr/bin/env bash
# cost_stability.sh -- are measured operator costs stable from one run to the
# next? Measures every operator of each benchmark model RUNS times (default
# 2), each run into a fresh cost database, then compares the runs operator
# by operator (one row per distinct operator instance, i.e. per database
# key) and prints the distribution of the relative differences
#     |a - b| / min(a, b)      (a, b: the same operator's cost in two runs)
# as median, p90 and max, the share of operators within 10%, the same
# weighted by time, and the difference of the model totals.
#
# usage: bench/cost_stability.sh [options] [-- extra taso-cost measure options]
#   --taso-cost PATH  the taso-cost binary (default: $TASO_COST, build/taso-cost, build-cost/taso-cost)
#   --models DIR      folder of the models (default bench/models); models that are
#                     missing there are written by bench/make_models.py
#   --only a,b        models to use (default: all benchmark models)
#   --runs N          runs per model (default 2; with more, every pair is compared)
#   --out DIR         where the databases go (default: a fresh temporary folder)
# example:
#   bench/cost_stability.sh --only resnet50,squeezenet11
# Exit status: 0 done, 1 bad usage, 2 a run failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tc=${TASO_COST:-}
models_dir="$here/models"
only="resnet50,resnext50,inception_v3,squeezenet11,nasnet_mobile,nasrnn,bert_base,bert_taso"
runs=2
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --taso-cost) tc=$2; shift 2 ;;
    --models) models_dir=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cost_stability.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
if [ -z "$tc" ]; then
  for c in "$root/build/taso-cost" "$root/build-cost/taso-cost"; do
    if [ -x "$c" ]; then tc=$c; break; fi
  done
fi
if [ -z "$tc" ] || [ ! -x "$tc" ]; then
  echo "cost_stability.sh: taso-cost not found; build it or pass --taso-cost PATH" >&2
  exit 1
fi
case "$runs" in ''|*[!0-9]*) echo "cost_stability.sh: --runs needs a number" >&2; exit 1 ;; esac
if [ "$runs" -lt 2 ]; then echo "cost_stability.sh: --runs must be at least 2" >&2; exit 1; fi
if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/taso-cost-stability.XXXXXX"); fi
mkdir -p "$out" "$models_dir"

missing=()
IFS=, read -r -a names <<< "$only"
for m in "${names[@]}"; do
  [ -f "$models_dir/$m.onnx" ] || missing+=("$m")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "writing models: ${missing[*]}"
  (IFS=,; python3 "$here/make_models.py" --out "$models_dir" --only "${missing[*]}") >/dev/null
fi

echo "taso-cost: $tc ($("$tc" --version))"
echo "databases: $out"
for m in "${names[@]}"; do
  for r in $(seq 1 "$runs"); do
    db="$out/$m.run$r.sqlite"
    rm -f "$db" "$db-wal" "$db-shm"
    t0=$(date +%s.%N)
    if ! "$tc" measure "$models_dir/$m.onnx" --cost-db "$db" --quiet "${extra[@]}" > "$out/$m.run$r.txt" 2>&1; then
      echo "cost_stability.sh: run $r of $m failed:" >&2
      cat "$out/$m.run$r.txt" >&2
      exit 2
    fi
    t1=$(date +%s.%N)
    "$tc" dump --cost-db "$db" --tsv > "$out/$m.run$r.tsv"
    printf '%-14s run %d: %s (%s s)\n' "$m" "$r" "$(tail -n1 "$out/$m.run$r.txt" | cut -d';' -f1)" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')"
  done
done

python3 - "$out" "$runs" "${names[@]}" <<'EOF'
import csv, itertools, sys

out, runs, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def load(path):
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[(r["backend"], r["sig_hash"], r["signature"])] = (float(r["ms"]), r["op"], r["signature"])
    return rows

def q(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

print()
print("%-14s %5s %8s %8s %8s %8s %9s %9s" % ("model", "ops", "median", "p90", "max", "<=10%", "w<=10%", "total"))
alld = []
worst = []
for m in names:
    data = [load("%s/%s.run%d.tsv" % (out, m, r)) for r in range(1, runs + 1)]
    diffs, within_w, tot_w, tdiff = [], 0.0, 0.0, 0.0
    for a, b in itertools.combinations(data, 2):
        keys = sorted(set(a) & set(b))
        ta = sum(a[k][0] for k in keys)
        tb = sum(b[k][0] for k in keys)
        tdiff = max(tdiff, abs(ta - tb) / min(ta, tb))
        for k in keys:
            x, y = a[k][0], b[k][0]
            d = abs(x - y) / min(x, y)
            diffs.append(d)
            w = (x + y) / 2
            tot_w += w
            within_w += w if d <= 0.10 else 0.0
            worst.append((d, m, a[k][1], x, y, a[k][2]))
    alld += diffs
    n = len(data[0])
    print("%-14s %5d %7.1f%% %7.1f%% %7.1f%% %7.1f%% %8.1f%% %8.1f%%" % (
        m, n, 100 * q(diffs, 0.5), 100 * q(diffs, 0.9), 100 * max(diffs),
        100 * sum(d <= 0.10 for d in diffs) / len(diffs), 100 * within_w / tot_w, 100 * tdiff))
if len(names) > 1:
    print("%-14s %5d %7.1f%% %7.1f%% %7.1f%% %7.1f%%" % (
        "all", len(alld), 100 * q(alld, 0.5), 100 * q(alld, 0.9), 100 * max(alld),
        100 * sum(d <= 0.10 for d in alld) / len(alld)))
print()
print("columns: relative difference |a-b|/min(a,b) of each operator between runs; <=10%: share of")
print("operators within 10%; w<=10%: the same weighted by time; total: difference of the model totals")
print()
print("largest differences:")
for d, m, op, x, y, sig in sorted(worst, reverse=True)[:8]:
    print("  %6.1f%%  %-12s %9.4f %9.4f ms  %s" % (100 * d, m, x, y, sig[:90]))
EOF
