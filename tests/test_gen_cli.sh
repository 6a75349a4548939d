#!/usr/bin/env bash
# test_gen_cli.sh -- taso-gen end to end at size 2: --jobs does not change
# the bytes, 3 shards merged in any order equal the single run, usage
# errors and an incomplete shard set are refused; --all-pairs gives more
# candidates than the default star pairing, in a file that reads back.
#   test_gen_cli.sh TASO_GEN WORK_DIR   (taso-rules is taken from TASO_GEN's directory)
set -eu
g=$1 d=$2
rm -rf "$d" && mkdir -p "$d"
"$g" --max-ops 2 -o "$d/a.bin" --quiet
"$g" --max-ops 2 -o "$d/b.bin" --jobs 1 --quiet
cmp "$d/a.bin" "$d/b.bin"
for i in 0 1 2; do "$g" --max-ops 2 --shard $i/3 -o "$d/s$i.bin" --quiet; done
"$g" merge -o "$d/m.bin" "$d/s2.bin" "$d/s0.bin" "$d/s1.bin" --quiet
cmp "$d/a.bin" "$d/m.bin"
# --all-pairs: every pair of a class. At size 2 some classes have 3 or more
# graphs, so count 3 (candidates) must grow (3,048 star pairs); the file
# names its configuration and dumps and parses back to the same bytes.
r=$(dirname "$g")/taso-rules
[ -x "$r" ] || { echo "FAIL: no taso-rules beside $g"; exit 1; }
"$g" --max-ops 2 --all-pairs -o "$d/p.bin" --quiet
"$g" --max-ops 2 --all-pairs -o "$d/p1.bin" --jobs 1 --quiet
cmp "$d/p.bin" "$d/p1.bin"
"$r" dump "$d/a.bin" >"$d/a.txt"
"$r" dump "$d/p.bin" >"$d/p.txt"
c3() { sed -n 's/^# counts: //p' "$1" | cut -d' ' -f4; }
star=$(c3 "$d/a.txt") all=$(c3 "$d/p.txt")
[ -n "$star" ] && [ -n "$all" ] && [ "$all" -gt "$star" ] ||
  { echo "FAIL: --all-pairs gives ${all:-?} candidates, the default ${star:-?}"; exit 1; }
grep -q '^# options: "max-ops=2 config=default-all-pairs:' "$d/p.txt" ||
  { echo "FAIL: --all-pairs file does not name its configuration"; exit 1; }
"$r" parse "$d/p.txt" -o "$d/q.bin"
cmp "$d/p.bin" "$d/q.bin"
set +e
"$g" --max-ops 2 --all-pairs --shard 0/2 -o "$d/x.bin" 2>/dev/null; [ $? -eq 2 ] ||
  { echo "FAIL: --all-pairs with --shard is not a usage error"; exit 1; }
"$g" --bogus 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: --bogus is not a usage error"; exit 1; }
"$g" merge -o "$d/x.bin" "$d/s0.bin" 2>/dev/null; [ $? -eq 1 ] || { echo "FAIL: an incomplete merge was accepted"; exit 1; }
[ ! -e "$d/x.bin" ] || { echo "FAIL: an incomplete merge wrote a file"; exit 1; }
echo "test_gen_cli: ok"
