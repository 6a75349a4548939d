#!/usr/bin/env bash
# test_gen_cli.sh -- taso-gen end to end at size 2: --jobs does not change
# the bytes, 3 shards merged in any order equal the single run, usage
# errors and an incomplete shard set are refused.
#   test_gen_cli.sh TASO_GEN WORK_DIR
set -eu
g=$1 d=$2
rm -rf "$d" && mkdir -p "$d"
"$g" --max-ops 2 -o "$d/a.bin" --quiet
"$g" --max-ops 2 -o "$d/b.bin" --jobs 1 --quiet
cmp "$d/a.bin" "$d/b.bin"
for i in 0 1 2; do "$g" --max-ops 2 --shard $i/3 -o "$d/s$i.bin" --quiet; done
"$g" merge -o "$d/m.bin" "$d/s2.bin" "$d/s0.bin" "$d/s1.bin" --quiet
cmp "$d/a.bin" "$d/m.bin"
set +e
"$g" --bogus 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: --bogus is not a usage error"; exit 1; }
"$g" merge -o "$d/x.bin" "$d/s0.bin" 2>/dev/null; [ $? -eq 1 ] || { echo "FAIL: an incomplete merge was accepted"; exit 1; }
[ ! -e "$d/x.bin" ] || { echo "FAIL: an incomplete merge wrote a file"; exit 1; }
echo "test_gen_cli: ok"
