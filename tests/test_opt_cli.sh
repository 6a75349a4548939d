#!/usr/bin/env bash
# test_opt_cli.sh -- taso-opt with rules: a hand-written rule set (text
# form) on the bundled example: rewrites applied and reported (text, JSON
# report, Graphviz), the same bytes from two runs, the search options and
# their errors, the fallback when a wrong rule is in the set, and the
# result checked again in onnxruntime when it is installed.
#   test_opt_cli.sh TASO_OPT SOURCE_DIR WORK_DIR
set -u
opt=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_exit() { # expected-status description command...
  local want=$1 what=$2; shift 2
  "$@" >"$work/out.txt" 2>"$work/err.txt"
  local got=$?
  [ "$got" -eq "$want" ] || { fail "$what: exit $got, expected $want"; cat "$work/err.txt"; }
}
cat >"$work/rules.txt" <<'R'
r0 proven x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0
r1 proven x0:act4 x1:kernel | conv2d(x0,x1) ; relu(%0) -> %1 => conv2d{act=relu}(x0,x1) -> %0
r2 proven x0:act4 x1:kernel x2:kernel | conv2d(x0,x1) ; conv2d(x0,x2) -> %0 %1 => concat{axis=0}(x1,x2) ; conv2d(x0,%0) ; split:2{axis=1,parts=2}(%1) -> %2.0 %2.1
R
cp "$work/rules.txt" "$work/wrong.txt"
echo "r3 proven x0:act4 | relu(x0) -> %0 => x0" >>"$work/wrong.txt"
ex="$src/data/example.onnx"
common=(--backend analytic --seed 7)

expect_exit 0 "rules" "$opt" "${common[@]}" --rules "$work/rules.txt" --report "$work/r.json" --dot "$work/g" "$ex" "$work/a.onnx"
grep -q "rule 1 x" "$work/out.txt" || { fail "rules: rule 1 not reported"; cat "$work/out.txt"; }
grep -q "check      passed" "$work/out.txt" || fail "rules: check did not pass"
[ -s "$work/g.before.dot" ] && [ -s "$work/g.after.dot" ] || fail "--dot: files missing"
python3 - "$work/r.json" <<'PY' || fail "--report: bad JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["check"]["status"] == "passed", d["check"]
assert d["rules"]["loaded"] == 3 and d["search"]["expanded"] >= 1, d["search"]
assert any(r["rule"] == 1 and r["count"] >= 1 and "relu" in r["text"] for r in d["rewrites"]), d["rewrites"]
assert all(s["cost_after_ms"] <= s["cost_before_ms"] * 1.05 for s in d["steps"]), d["steps"]
assert d["cost"]["after_ms"] < d["cost"]["before_ms"], d["cost"]
assert d["passes"]["bn_folded"] >= 1 and not d["fallback"]["used"]
PY
expect_exit 0 "rules again" "$opt" "${common[@]}" --rules "$work/rules.txt" --quiet "$ex" "$work/b.onnx"
cmp -s "$work/a.onnx" "$work/b.onnx" || fail "two runs give different bytes"
expect_exit 0 "--json" "$opt" "${common[@]}" --rules "$work/rules.txt" --json "$ex" "$work/c.onnx"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['steps'] and d['nodes_after'] < d['nodes_before']" \
  "$work/out.txt" || fail "--json: no steps"
expect_exit 0 "--no-rules" "$opt" "${common[@]}" --no-rules "$ex" "$work/d.onnx"
grep -q "passes only" "$work/out.txt" || fail "--no-rules: not said"
expect_exit 0 "--budget 0" "$opt" "${common[@]}" --rules "$work/rules.txt" --budget 0 "$ex" "$work/e.onnx"
expect_exit 0 "--budget 1" "$opt" "${common[@]}" --rules "$work/rules.txt" --budget 1 --json "$ex" "$work/f.onnx"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['search']['expanded']==1 and d['search']['stopped_by']=='budget', d['search']" \
  "$work/out.txt" || fail "--budget 1: not honoured"
expect_exit 0 "--alpha 1 --time-limit" "$opt" "${common[@]}" --rules "$work/rules.txt" --alpha 1 --time-limit 30 "$ex" "$work/h.onnx"
expect_exit 1 "bad --alpha" "$opt" --alpha 0.5 "$ex" "$work/x.onnx"
expect_exit 1 "bad --budget" "$opt" --budget -3 "$ex" "$work/x.onnx"
expect_exit 1 "bad --backend" "$opt" --backend gpu "$ex" "$work/x.onnx"
expect_exit 1 "missing --rules" "$opt" --rules "$work/none.bin" "$ex" "$work/x.onnx"
printf 'not a rule\n' >"$work/bad.txt"
expect_exit 2 "malformed --rules" "$opt" --rules "$work/bad.txt" "$ex" "$work/x.onnx"
[ ! -e "$work/x.onnx" ] || fail "an output was written for a bad command line"
# a wrong rule: caught by the check, named, and a result that passes is written
expect_exit 0 "wrong rule" "$opt" "${common[@]}" --rules "$work/wrong.txt" --report "$work/w.json" "$ex" "$work/w.onnx"
grep -q "rule 3" "$work/err.txt" || { fail "wrong rule: not named on stderr"; cat "$work/err.txt"; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['fallback']['used'] and d['fallback']['culprit_rule']==3 and d['check']['status']=='passed', d['fallback']" \
  "$work/w.json" || fail "wrong rule: report"
if python3 -c "import onnxruntime" 2>/dev/null; then
  for f in a w; do
    python3 "$src/bench/ort_compare.py" "$ex" "$work/$f.onnx" --seed 11 >"$work/ort.txt" 2>&1 ||
      { fail "onnxruntime disagrees on $f.onnx"; cat "$work/ort.txt"; }
  done
fi
if [ $fails -ne 0 ]; then echo "test_opt_cli: $fails failure(s)"; exit 1; fi
echo "test_opt_cli: ok"
