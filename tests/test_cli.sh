#!/usr/bin/env bash
# test_cli.sh -- end-to-end tests of taso-opt: help and usage errors, the
# bundled example (checked again in onnxruntime when it is installed), the
# JSON summary, and malformed inputs: each must give one clear error line, a
# documented non-zero exit status and no output file.
#   test_cli.sh TASO_OPT SOURCE_DIR WORK_DIR
set -u
opt=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
# analytic costs and a private cost database: deterministic, hermetic runs
export XDG_CACHE_HOME="$work/cache"
run_opt() { "$opt" --backend analytic "$@"; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect_exit() { # expected-status description command...
  local want=$1 what=$2; shift 2
  "$@" >"$work/out.txt" 2>"$work/err.txt"
  local got=$?
  [ "$got" -eq "$want" ] || { fail "$what: exit $got, expected $want"; cat "$work/err.txt"; }
}

expect_exit 0 "--help" "$opt" --help
grep -q "exit status" "$work/out.txt" || fail "--help does not document the exit status"
expect_exit 1 "no arguments" "$opt"
expect_exit 1 "unknown option" "$opt" --frobnicate a b
expect_exit 1 "bad --shape" "$opt" --shape nonsense "$src/data/example.onnx" "$work/x.onnx"
expect_exit 2 "missing input" run_opt "$work/none.onnx" "$work/x.onnx"

# the bundled example
expect_exit 0 "example" run_opt --seed 7 "$src/data/example.onnx" "$work/example.opt.onnx"
[ -s "$work/example.opt.onnx" ] || fail "example: no output"
grep -q "seed 7" "$work/out.txt" || fail "example: seed not printed"
grep -q "check      passed" "$work/out.txt" || { fail "example: check did not pass"; cat "$work/out.txt"; }
expect_exit 0 "example --json" run_opt --json --seed 3 "$src/data/example.onnx" "$work/example2.opt.onnx"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['check']['status']=='passed' and d['nodes_after'] < d['nodes_before'], d" \
  "$work/out.txt" || fail "example --json: bad JSON summary"
expect_exit 0 "example --quiet" run_opt --quiet "$src/data/example.onnx" "$work/example3.opt.onnx"
[ ! -s "$work/out.txt" ] || fail "--quiet printed something"
cmp -s "$work/example.opt.onnx" "$work/example3.opt.onnx" || fail "output depends on the seed or run"

if python3 -c "import onnxruntime" 2>/dev/null; then
  python3 "$src/bench/ort_compare.py" "$src/data/example.onnx" "$work/example.opt.onnx" --seed 11 \
    >"$work/ort.txt" 2>&1 || { fail "example: onnxruntime disagrees"; cat "$work/ort.txt"; }
else
  echo "note: onnxruntime not installed; the ORT oracle check of the example is skipped"
fi

# malformed inputs: exit 2, one line on stderr, no output file
head -c 200 "$src/data/example.onnx" >"$work/truncated.onnx"
head -c 4096 /dev/urandom >"$work/garbage.onnx"
: >"$work/empty.onnx"
python3 "$src/tests/make_bad_models.py" "$work" || fail "cannot make the malformed models"
for b in truncated garbage empty cycle dangling types absurd_dim bad_init twice no_output; do
  [ -e "$work/$b.onnx" ] || { fail "malformed $b: not made"; continue; }
  rm -f "$work/bad.out.onnx"
  expect_exit 2 "malformed $b" run_opt "$work/$b.onnx" "$work/bad.out.onnx"
  [ ! -e "$work/bad.out.onnx" ] || fail "malformed $b: an output file was written"
  lines=$(wc -l <"$work/err.txt")
  [ "$lines" -eq 1 ] || { fail "malformed $b: $lines lines on stderr, expected one"; cat "$work/err.txt"; }
  grep -q "^taso-opt: error: " "$work/err.txt" || fail "malformed $b: no 'error:' line"
done

# symbolic dimensions: kept with a note, or bound with --shape; the opaque Abs survives
expect_exit 0 "symbolic" run_opt --seed 2 "$work/symbolic.onnx" "$work/sym.opt.onnx"
grep -q "dimension 0 is symbolic ('batch')" "$work/err.txt" || { fail "symbolic: no note"; cat "$work/err.txt"; }
grep -q "symbolic dims set to 1" "$work/out.txt" || fail "symbolic: the check does not say how it bound the dim"
grep -q "opaque     1 node(s): Abs" "$work/out.txt" || { fail "symbolic: opaque Abs not reported"; cat "$work/out.txt"; }
expect_exit 0 "symbolic bound" run_opt --seed 2 --shape batch=4 "$work/symbolic.onnx" "$work/sym2.opt.onnx"
! grep -q "symbolic" "$work/err.txt" || fail "symbolic bound: still a note"
expect_exit 0 "input bound" run_opt --seed 2 --shape x=2x3 "$work/symbolic.onnx" "$work/sym3.opt.onnx"
expect_exit 1 "contradicting binding" run_opt --shape x=2x4 "$work/symbolic.onnx" "$work/sym4.opt.onnx"
expect_exit 1 "binding of nothing" run_opt --shape nosuch=2 "$work/symbolic.onnx" "$work/sym5.opt.onnx"
if python3 -c "import onnxruntime" 2>/dev/null; then
  python3 "$src/bench/ort_compare.py" "$work/symbolic.onnx" "$work/sym.opt.onnx" --seed 3 >"$work/ort.txt" 2>&1 ||
    { fail "symbolic: onnxruntime disagrees"; cat "$work/ort.txt"; }
fi

# external data: read from beside the input, written beside the output
mkdir -p "$work/ext"
python3 -c "
import onnx, sys
m = onnx.load(sys.argv[1])
onnx.save_model(m, sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True,
                location='weights.bin', size_threshold=100)" "$src/data/example.onnx" "$work/ext/m.onnx" ||
  fail "cannot write the external-data model"
expect_exit 0 "external data" run_opt --seed 4 "$work/ext/m.onnx" "$work/ext/out.onnx"
[ -s "$work/ext/out.onnx.data" ] || fail "external data: no out.onnx.data written"
if python3 -c "import onnxruntime" 2>/dev/null; then
  python3 "$src/bench/ort_compare.py" "$work/ext/m.onnx" "$work/ext/out.onnx" --seed 3 >"$work/ort.txt" 2>&1 ||
    { fail "external data: onnxruntime disagrees"; cat "$work/ort.txt"; }
fi
rm "$work/ext/weights.bin"
expect_exit 2 "external data missing" run_opt "$work/ext/m.onnx" "$work/ext/out2.onnx"

# an output that cannot be written: exit 4, nothing left behind
expect_exit 4 "unwritable output" run_opt "$src/data/example.onnx" "$work/no/such/dir/out.onnx"
[ -z "$(ls -A "$work/no" 2>/dev/null)" ] || fail "unwritable output: something was left behind"

if [ $fails -ne 0 ]; then echo "test_cli: $fails failure(s)"; exit 1; fi
echo "test_cli: ok"
