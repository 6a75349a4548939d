#!/bin/sh
# make_rules.sh -- rebuilds the shipped rule set from scratch:
#
#   taso-verify --validate-axioms --redundancy  (stops here if any axiom fails;
#                                        -> data/axioms.report.txt)
#   taso-gen --max-ops N                 -> candidates (a temporary file)
#   taso-verify candidates -o data/rules.bin --report data/rules.report.txt
#   taso-rules dump data/rules.bin       -> data/rules.txt
#
# usage: bench/make_rules.sh [BUILD_DIR [MAX_OPS [JOBS]]]   (defaults: build 3 all cores)
# Run from anywhere; writes into the repository's data/. Every step is
# deterministic (no wall times are recorded), so a rerun gives the same bytes.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$here/$build ;; esac
maxops=${2:-3}
jobs=${3:-0}
for t in taso-gen taso-verify taso-rules; do
  if [ ! -x "$build/$t" ]; then
    echo "make_rules.sh: $build/$t not found (build it first: cmake --build $build)" >&2
    exit 1
  fi
done
jobarg=""
[ "$jobs" != 0 ] && jobarg="--jobs $jobs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== validating the axioms (exhaustive, dims <= 3) and looking for redundant ones" >&2
if ! "$build/taso-verify" --validate-axioms --redundancy $jobarg --quiet > "$tmp/validate.log" 2> "$tmp/validate.err"
then
  cat "$tmp/validate.err" >&2
  grep '^FAIL' "$tmp/validate.log" >&2 || true
  echo "make_rules.sh: an axiom failed its validation; no rule file written" >&2
  exit 3
fi
mkdir -p "$here/data"
{
  echo "# taso-verify --validate-axioms --redundancy (written by bench/make_rules.sh)"
  # the summary without its wall time, so that a rerun gives the same bytes
  grep 'axioms validated' "$tmp/validate.err" | sed -e 's/^taso-verify: //' -e 's/ in [0-9.]* s$//'
  cat "$tmp/validate.log"
} > "$here/data/axioms.report.txt"

echo "== generating candidates (max-ops $maxops)" >&2
"$build/taso-gen" --max-ops "$maxops" -o "$tmp/candidates.bin" $jobarg --quiet

echo "== proving" >&2
"$build/taso-verify" "$tmp/candidates.bin" -o "$here/data/rules.bin" --report "$here/data/rules.report.txt" \
  --no-validate $jobarg

"$build/taso-rules" dump "$here/data/rules.bin" > "$here/data/rules.txt"
echo "== wrote data/rules.bin, data/rules.txt, data/rules.report.txt, data/axioms.report.txt" >&2
