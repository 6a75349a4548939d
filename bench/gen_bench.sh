#!/usr/bin/env bash
# gen_bench.sh -- the rule generator's benchmark: wall time, CPU time, peak
# memory and the counts at every stage, per graph size, on 2 cores; and
# the check that 4 shards merged give the file one run gives.
#
#   bench/gen_bench.sh [BUILD_DIR] [SIZE...]      (default: build-gen 2 3)
#   GEN_BENCH_JOBS=2  threads (default 2: the targets are for 2 cores)
#   GEN_BENCH_SHARDS=3  graph size of the shard check (0: skip)
#
# Targets (docs/generator.md): size 3 under 18 s wall and 0.7 GiB on 2
# cores with no rule dropped by the float check; size 4 under 30 min and
# 4 GiB. Size 4 runs only when asked for (bench/gen_bench.sh build-gen 4).
# Prints a table; exits 1 if a run fails or the shard check differs (the
# timing targets are reported, not enforced: the machine may be shared).
set -u
BUILD=${1:-build-gen}
shift || true
SIZES=${*:-2 3}
JOBS=${GEN_BENCH_JOBS:-2}
SHARDS=${GEN_BENCH_SHARDS:-3}
GEN=$BUILD/taso-gen
[ -x "$GEN" ] || { echo "gen_bench: $GEN not found (build the taso-gen target)" >&2; exit 1; }
OUT=$(mktemp -d /tmp/gen_bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
PIN=""
if command -v taskset >/dev/null && [ "$(nproc)" -gt "$JOBS" ]; then
  PIN="taskset -c 0-$((JOBS - 1))"
fi
status=0
printf '# taso-gen benchmark: %s, jobs %s, %s cores online, load %s\n' "$(date -u +%F)" "$JOBS" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %10s %10s | %s\n' size wall_s cpu_s peak_MiB "counts[0..7]"
for n in $SIZES; do
  f=$OUT/g$n.bin
  log=$OUT/g$n.log
  /usr/bin/time -f '%e %U %S %M' -o "$OUT/time$n" $PIN "$GEN" --max-ops "$n" -o "$f" --jobs "$JOBS" 2>"$log"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "gen_bench: size $n failed (exit $rc):" >&2
    tail -3 "$log" >&2
    status=1
    continue
  fi
  read -r wall user sys rss <"$OUT/time$n"
  counts=$(grep -E '^\s+\[[0-7]\]' "$log" | awk '{print $NF}' | tr '\n' ' ')
  printf '%-4s %10s %10.2f %10.1f | %s\n' "$n" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)" "$counts"
  grep -E '^  (buckets |graphs equal|pairs within|implied:|phases:)' "$log" | sed 's/^/     /'
done
if [ "$SHARDS" != 0 ]; then
  one=$OUT/one.bin
  "$GEN" --max-ops "$SHARDS" -o "$one" --jobs "$JOBS" --quiet || status=1
  for i in 0 1 2 3; do
    "$GEN" --max-ops "$SHARDS" --shard "$i/4" -o "$OUT/s$i.bin" --jobs "$JOBS" --quiet || status=1
  done
  "$GEN" merge -o "$OUT/merged.bin" "$OUT/s3.bin" "$OUT/s1.bin" "$OUT/s0.bin" "$OUT/s2.bin" --quiet || status=1
  if cmp -s "$one" "$OUT/merged.bin"; then
    echo "shards: 4 shards of size $SHARDS merged = one run (byte-identical, $(stat -c %s "$one") bytes)"
  else
    echo "shards: 4 shards of size $SHARDS merged DIFFER from one run" >&2
    status=1
  fi
fi
exit $status
