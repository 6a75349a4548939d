#!/usr/bin/env bash
# test_gpu_cli.sh -- without a GPU, --backend cuda fails cleanly: taso-opt
# (exit 1), taso-cost (exit 4) and taso-bench (exit 4) print one error line
# that says why ("no CUDA GPU found (...)", or that the build has no CUDA),
# write nothing, and do not crash; taso-bench without a GPU still predicts
# with the other backends. Skipped (77) on a machine with a GPU, where
# test_gpu covers the backend.
#   test_gpu_cli.sh TASO_OPT TASO_COST TASO_BENCH SOURCE_DIR WORK_DIR
set -u
opt=$1 cost=$2 bench=$3 src=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
if "$bench" --version | grep -q "CUDA backend: yes" && { nvidia-smi -L >/dev/null 2>&1 || [ -e /dev/nvidia0 ]; }; then
  echo "SKIP: a GPU is present (test_gpu covers the backend)"
  exit 77
fi
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ex="$src/data/example.onnx"
export XDG_CACHE_HOME="$work/cache"
# one line on standard error, nothing on standard output, the expected status
clean_failure() { # expected-status what command...
  local want=$1 what=$2; shift 2
  "$@" >"$work/out.txt" 2>"$work/err.txt"
  local got=$?
  [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want"
  [ "$got" -lt 128 ] || fail "$what: killed by a signal"
  [ "$(wc -l <"$work/err.txt")" -eq 1 ] || { fail "$what: expected one error line"; cat "$work/err.txt"; }
  [ ! -s "$work/out.txt" ] || { fail "$what: wrote to standard output"; cat "$work/out.txt"; }
  grep -Eq "error: --backend cuda[^ ]*: (no CUDA GPU found \(cudaGetDeviceCount: .+\)|this taso was built without CUDA)" \
    "$work/err.txt" || { fail "$what: the message does not say why"; cat "$work/err.txt"; }
}
clean_failure 1 "taso-opt --backend cuda" "$opt" --backend cuda "$ex" "$work/a.onnx"
[ ! -e "$work/a.onnx" ] || fail "taso-opt wrote an output"
clean_failure 1 "taso-opt --backend cuda:fp16" "$opt" --backend cuda:fp16 "$ex" "$work/a.onnx"
clean_failure 4 "taso-cost --backend cuda" "$cost" measure "$ex" --backend cuda
clean_failure 4 "taso-bench --backend cuda" "$bench" "$ex" --backend cuda
# a bad math mode is a usage error
"$opt" --backend cuda:fp8 "$ex" "$work/a.onnx" 2>"$work/err.txt"
[ $? -eq 1 ] && grep -q "not 'cuda:fp8'" "$work/err.txt" || fail "taso-opt --backend cuda:fp8"
# taso-bench predicts without a GPU
"$bench" "$ex" --backend analytic --json >"$work/b.json" 2>"$work/err.txt" || fail "taso-bench analytic: $(cat "$work/err.txt")"
python3 - "$work/b.json" <<'PY' || fail "taso-bench --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["backend"] == "analytic" and d["predicted_ms"] > 0 and "measured_ms" not in d, d
PY
"$bench" --help | grep -q -- "--runs" || fail "taso-bench --help"
"$opt" --help | grep -q "cuda" || fail "taso-opt --help names cuda"
if [ $fails -ne 0 ]; then echo "test_gpu_cli: $fails failure(s)"; exit 1; fi
echo "test_gpu_cli: ok"
