#!/usr/bin/env bash
# test_verify_cli.sh -- taso-verify end to end on four candidates: a true
# rule, a false one, a fact about constants and a rule that needs finer
# shape classes. Checks what is written and reported, that the output does
# not depend on --jobs, --check on a good and on a forged file, and the
# exit codes of bad input and an unwritable output, and that Z3 running
# out of its memory cap is an unknown, not the end of the run.
#   test_verify_cli.sh TASO_VERIFY TASO_RULES WORK_DIR
set -eu
v=$1 r=$2 d=$3
rm -rf "$d" && mkdir -p "$d"
fail() { echo "FAIL: $*"; exit 1; }
cat > "$d/cand.txt" <<'RULES'
r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0
r1 candidate x0:matrix x1:matrix | ewadd(x0,x1) ; relu(%0) -> %1 => relu(x0) ; relu(x1) ; ewadd(%0,%1) -> %2
r2 candidate | const_ones{dims=4x4}() ; ewadd(%0,%0) ; ewadd(%1,%1) -> %2 => const_ones{dims=4x4}() ; matmul(%0,%0) -> %1
r3 candidate x0:act4 x1:kernel x2:kernel | conv2d{kernel=1x1}(x0,x2) ; conv2d{kernel=3x3}(x0,x1) ; concat{axis=1}(%0,%1) -> %2 => enlarge{kernel=3x3}(x2) ; concat{axis=0}(%0,x1) ; conv2d{kernel=3x3}(x0,%1) -> %2
RULES
"$r" parse "$d/cand.txt" -o "$d/cand.bin"
"$v" "$d/cand.bin" -o "$d/a.bin" --report "$d/a.report.txt" --jobs 2 --quiet 2>/dev/null
"$v" "$d/cand.bin" -o "$d/b.bin" --report "$d/b.report.txt" --jobs 1 --no-validate --quiet 2>/dev/null
cmp "$d/a.bin" "$d/b.bin" || fail "--jobs changed the rule file"
"$r" dump "$d/a.bin" > "$d/a.txt"
[ "$(grep -c '^r[0-9]* proven ' "$d/a.txt")" -eq 3 ] || fail "expected 3 proven rules: $(cat "$d/a.txt")"
grep -q 'relu' "$d/a.txt" && fail "the false rule (relu over add) was written"
grep -q '^# proven 3 (2 of them with finer shape classes' "$d/a.report.txt" || fail "report header: $(head -5 "$d/a.report.txt")"
grep -q '^r1 refuted counterexample: float counterexample' "$d/a.report.txt" || fail "r1 not reported refuted"
grep -q 'x2:kernel\.1' "$d/a.txt" || fail "the conv merge did not get finer classes"
grep -q '^# options: .* z3=[0-9]' "$d/a.txt" || fail "no Z3 version in the provenance"
"$v" --check "$d/a.bin" --quiet 2>/dev/null || fail "--check of a proven file failed"
# Z3 left 1 MB: every proof gives up (memout); the run goes on, nothing Z3
# had to prove ships, the fact about constants (exact evaluation) still does
"$v" "$d/cand.bin" -o "$d/m.bin" --report "$d/m.report.txt" --z3-memory-mb 1 --no-validate --quiet 2>/dev/null ||
  fail "Z3 running out of memory ended the run"
grep -q '^r0 unknown incomplete: .*memout' "$d/m.report.txt" || fail "memout is not reported as unknown"
[ "$("$r" dump "$d/m.bin" | grep -c '^r[0-9]* proven ')" -eq 1 ] || fail "rules proven without Z3"
# a false rule forged as proven: --check refuses it
sed -e 's/^r1 candidate/r1 proven/' "$d/cand.txt" | grep '^r1' > "$d/forged.txt"
"$r" parse "$d/forged.txt" -o "$d/forged.bin"
set +e
"$v" --check "$d/forged.bin" --quiet 2>/dev/null; [ $? -eq 3 ] || fail "--check accepted a false rule"
"$v" "$d/missing.bin" -o "$d/x.bin" --no-validate --quiet 2>/dev/null; [ $? -eq 2 ] || fail "a missing input is not exit 2"
head -c 40 "$d/cand.bin" > "$d/trunc.bin"
"$v" "$d/trunc.bin" -o "$d/x.bin" --no-validate --quiet 2>/dev/null; [ $? -eq 2 ] || fail "a truncated input is not exit 2"
"$v" "$d/cand.bin" -o "$d/no/such/dir/x.bin" --report "$d/x.report.txt" --no-validate --quiet 2>/dev/null
[ $? -eq 4 ] || fail "an unwritable output is not exit 4"
"$v" --bogus 2>/dev/null; [ $? -eq 1 ] || fail "--bogus is not a usage error"
[ ! -e "$d/x.bin" ] || fail "a failed run wrote a rule file"
echo "test_verify_cli: ok"
