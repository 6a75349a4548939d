#!/usr/bin/env bash
# test_cli.sh -- end-to-end tests of taso-opt: help and usage errors (strict
# --shape DIMS), the bundled example (checked again in onnxruntime when it
# is installed), the JSON summary, malformed inputs: each must give one
# clear error line (names with a newline or bytes that are not UTF-8
# escaped), a documented non-zero exit status and no output file; symbolic
# dims and their hints, and the warning (even with --quiet) when the
# numerical check could not compare every output. (Exit 3, the check's
# refusal, needs a broken optimizer: test_api reaches it through a hook.)
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
grep -A2 -- "--no-fusion" "$work/out.txt" | tr '\n' ' ' | grep "BatchNormalization" | grep "2-D" | grep -q "Gemm" ||
  fail "--help: --no-fusion does not name its three passes"
expect_exit 1 "no arguments" "$opt"
expect_exit 1 "unknown option" "$opt" --frobnicate a b
expect_exit 1 "bad --shape" "$opt" --shape nonsense "$src/data/example.onnx" "$work/x.onnx"
# DIMS are strict: each case one error line saying what is wrong, exit 1, nothing written
for s in "x=2x3x:dimension 2 is empty" "x=x2:dimension 0 is empty" "x=2xx3:dimension 1 is empty" \
         "x=:no dimensions" "x=0:dimension 0 is 0" "x=2x-3:dimension 1 is not a positive integer" \
         "x=+2:dimension 0 is not a positive integer" "x=99999999999999999999:dimension 0 is larger than" \
         "x=1x1x1x1x1x1x1x1x1:more than 8 dimensions"; do
  spec=${s%%:*} why=${s#*:}
  rm -f "$work/x.onnx"
  expect_exit 1 "--shape $spec" "$opt" --shape "$spec" "$src/data/example.onnx" "$work/x.onnx"
  [ "$(wc -l <"$work/err.txt")" -eq 1 ] && grep -q "^taso-opt: error: --shape: .*$why" "$work/err.txt" ||
    { fail "--shape $spec: expected one line saying '$why'"; cat "$work/err.txt"; }
  [ ! -e "$work/x.onnx" ] || fail "--shape $spec: an output file was written"
done
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
for b in truncated garbage empty cycle dangling types absurd_dim bad_init twice no_output newline_name bad_utf8; do
  [ -e "$work/$b.onnx" ] || { fail "malformed $b: not made"; continue; }
  rm -f "$work/bad.out.onnx"
  expect_exit 2 "malformed $b" run_opt "$work/$b.onnx" "$work/bad.out.onnx"
  [ ! -e "$work/bad.out.onnx" ] || fail "malformed $b: an output file was written"
  lines=$(wc -l <"$work/err.txt")
  [ "$lines" -eq 1 ] || { fail "malformed $b: $lines lines on stderr, expected one"; cat "$work/err.txt"; }
  grep -q "^taso-opt: error: " "$work/err.txt" || fail "malformed $b: no 'error:' line"
done
expect_exit 2 "newline in a name" run_opt "$work/newline_name.onnx" "$work/bad.out.onnx"
grep -qF "reads 'no\nwhere'" "$work/err.txt" || { fail "newline in a name: not escaped as \\n"; cat "$work/err.txt"; }
expect_exit 2 "name not UTF-8" run_opt "$work/bad_utf8.onnx" "$work/bad.out.onnx"
grep -qF "reads 'bad\xFFname'" "$work/err.txt" || { fail "name not UTF-8: not escaped as \\xFF"; cat "$work/err.txt"; }
! LC_ALL=C grep -q $'\xff' "$work/err.txt" || fail "name not UTF-8: a raw 0xFF byte on stderr"

# symbolic dimensions: kept with a note, or bound with --shape; the opaque Abs survives
expect_exit 0 "symbolic" run_opt --seed 2 "$work/symbolic.onnx" "$work/sym.opt.onnx"
grep -q "dimension 0 is symbolic ('batch')" "$work/err.txt" || { fail "symbolic: no note"; cat "$work/err.txt"; }
grep -q "note: symbolic dims set to 1$" "$work/out.txt" || { fail "symbolic: the check does not say (just) how it bound the dim"; cat "$work/out.txt"; }
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
# an unnamed symbolic dim: the hint binds the whole input, and that binding works
expect_exit 0 "unnamed dim" run_opt --seed 2 "$work/unnamed_dim.onnx" "$work/un.opt.onnx"
grep -q "dimension 0 is symbolic (unnamed).*bind the whole input, e.g. --shape x=1x4$" "$work/err.txt" ||
  { fail "unnamed dim: no whole-shape hint"; cat "$work/err.txt"; }
expect_exit 0 "unnamed dim, hint followed" run_opt --seed 2 --shape x=1x4 "$work/unnamed_dim.onnx" "$work/un2.opt.onnx"
[ ! -s "$work/err.txt" ] || { fail "unnamed dim, hint followed: still a note"; cat "$work/err.txt"; }
expect_exit 1 "unnamed dim bound alone" run_opt --shape x=4 "$work/unnamed_dim.onnx" "$work/un3.opt.onnx"
grep -q "e.g. x=1x4" "$work/err.txt" || { fail "unnamed dim bound alone: no whole-shape hint"; cat "$work/err.txt"; }
# a newline in an input's name: each note stays one line
expect_exit 0 "newline in an input name" run_opt --seed 2 "$work/sym_newline.onnx" "$work/nl.opt.onnx"
[ "$(wc -l <"$work/err.txt")" -eq 1 ] && grep -qF "input 'in\nput' dimension 0" "$work/err.txt" ||
  { fail "newline in an input name: the note is not one escaped line"; cat "$work/err.txt"; }
# a dim the check cannot set to 1 (x[b, n] MatMul w[4, 4]): it picks n=4 and compares
expect_exit 0 "symbolic MatMul" run_opt --seed 2 "$work/sym_matmul.onnx" "$work/mm.opt.onnx"
grep -q "check      passed: 1 output(s)" "$work/out.txt" && grep -q "note: symbolic dims set to b=1, n=4" "$work/out.txt" ||
  { fail "symbolic MatMul: the check did not find n=4"; cat "$work/out.txt"; }
! grep -q "warning" "$work/err.txt" || { fail "symbolic MatMul: a warning"; cat "$work/err.txt"; }
# checks that compare less than every output: written, with one warning line even under --quiet
for c in "sym_nofit:partial: 0 of 2 output(s) compared .*symbolic dims set to 1 (no size" \
         "unknown_rank:not run: 0 of 1 output(s) compared .*input 'x' has an unknown rank"; do
  b=${c%%:*} why=${c#*:}
  rm -f "$work/$b.opt.onnx"
  expect_exit 0 "$b --quiet" run_opt --quiet --seed 2 "$work/$b.onnx" "$work/$b.opt.onnx"
  [ -s "$work/$b.opt.onnx" ] || fail "$b: no output"
  [ ! -s "$work/out.txt" ] || fail "$b --quiet: printed something on stdout"
  [ "$(wc -l <"$work/err.txt")" -eq 1 ] && grep -q "^taso-opt: warning: numerical check $why" "$work/err.txt" ||
    { fail "$b --quiet: expected one warning line"; cat "$work/err.txt"; }
  expect_exit 0 "$b --json" run_opt --json --seed 2 "$work/$b.onnx" "$work/$b.opt.onnx"
  grep -q "^taso-opt: warning: numerical check" "$work/err.txt" || fail "$b --json: no warning"
done

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
