#!/usr/bin/env python3
"""The independent oracle over the ONNX backend test suite.

For every model of Debian's libonnx-testdata (model.onnx plus
test_data_set_*/input_*.pb), run `taso-opt` on it, then run the original and
the optimized model in onnxruntime (all ORT graph optimizations off) on the
test's own inputs and compare every output, paired by name. A model that
taso-opt refuses, whose output names change, or whose outputs differ is a
failure. A model that onnxruntime itself cannot run (the original) still goes
through taso-opt, which must accept it (exit 0); only the comparison is
skipped, and such models are counted apart.

    ort_suite.py TASO_OPT DATA_ROOT WORK_DIR [--json FILE] [--limit N]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
except ImportError as e:  # the test setup installs them; say so and skip
    print(f"ort_suite: skipped: {e} (scripts/setup.sh installs onnx, onnxruntime and numpy)")
    sys.exit(77)


def load_inputs(case_dir, model):
    """Inputs of the first test data set, keyed by graph input name."""
    sets = sorted(glob.glob(os.path.join(case_dir, "test_data_set_*")))
    if not sets:
        return None
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    feeds = {}
    files = sorted(glob.glob(os.path.join(sets[0], "input_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
    for k, path in enumerate(files):
        if k >= len(inputs):
            return None
        with open(path, "rb") as f:
            data = f.read()
        kind = inputs[k].type.WhichOneof("value")
        if kind == "tensor_type":
            t = onnx.TensorProto()
            t.ParseFromString(data)
            feeds[inputs[k].name] = numpy_helper.to_array(t)
        elif kind == "sequence_type":
            t = onnx.SequenceProto()
            t.ParseFromString(data)
            feeds[inputs[k].name] = numpy_helper.to_list(t)
        elif kind == "optional_type":
            t = onnx.OptionalProto()
            t.ParseFromString(data)
            feeds[inputs[k].name] = numpy_helper.to_optional(t)
        else:
            return None
    return feeds


def run(path, feeds):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 4
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in s.get_inputs()}
    return [o.name for o in s.get_outputs()], s.run(None, {k: v for k, v in feeds.items() if k in wanted})


def same(a, b, rtol=1e-3, atol=1e-4):
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return repr(a) == repr(b), 0.0
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, float("inf")
    if a.dtype.kind == "c" or a.dtype.kind == "f":
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        np.seterr(invalid="ignore", over="ignore")
        nan = np.isnan(a64) | np.isnan(b64)
        if not np.array_equal(np.isnan(a64), np.isnan(b64)):
            return False, float("inf")
        d = np.abs(a64 - b64)[~nan & np.isfinite(a64)]
        if not np.array_equal(a64[~np.isfinite(a64) & ~nan], b64[~np.isfinite(a64) & ~nan]):
            return False, float("inf")
        ok = bool(np.all(d <= atol + rtol * np.abs(a64[~nan & np.isfinite(a64)]))) if d.size else True
        return ok, float(d.max()) if d.size else 0.0
    return bool(np.array_equal(a, b)), 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("taso_opt")
    ap.add_argument("root")
    ap.add_argument("work")
    ap.add_argument("--json")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    models = sorted(glob.glob(os.path.join(a.root, "**", "model.onnx"), recursive=True))
    if a.limit:
        models = models[: a.limit]
    if not models:
        print(f"ort_suite: no models under {a.root}")
        return 77
    # skipped_ort: onnxruntime cannot run the original; taso-opt still ran on it (exit 0)
    counts = {"models": len(models), "passed": 0, "skipped_ort": 0, "failed": 0}
    failed, not_compared, worst = [], [], 0.0
    out = os.path.join(a.work, "opt.onnx")
    for path in models:
        case = os.path.dirname(path)
        name = os.path.relpath(case, a.root)
        model = onnx.load(path, load_external_data=False)
        feeds = load_inputs(case, model)
        try:
            names, want = run(path, feeds or {})
        except Exception:  # ORT cannot run the original: no oracle, but taso-opt must still accept it
            names = None
        if os.path.exists(out):
            os.unlink(out)
        # analytic costs: deterministic and fast (measured costs are for opt_bench.sh)
        p = subprocess.run([a.taso_opt, "--quiet", "--seed", "1", "--backend", "analytic", "--cost-db",
                            os.path.join(a.work, "costs.sqlite"), path, out], capture_output=True, text=True)
        if p.returncode != 0:
            counts["failed"] += 1
            failed.append(f"{name}: taso-opt exit {p.returncode}: {p.stderr.strip()}"
                          + (" (onnxruntime cannot run the original)" if names is None else ""))
            continue
        if names is None:
            counts["skipped_ort"] += 1
            not_compared.append(name)
            continue
        try:
            names2, got = run(out, feeds or {})
        except Exception as e:
            counts["failed"] += 1
            failed.append(f"{name}: onnxruntime cannot run the optimized model: {str(e).splitlines()[0]}")
            continue
        if names2 != names or len(set(names)) != len(names):
            counts["failed"] += 1
            failed.append(f"{name}: output names differ: {names} vs {names2}")
            continue
        got = dict(zip(names2, got))
        bad = []
        for n, x in zip(names, want):
            good, d = same(x, got[n])
            if not good:
                bad.append(n)
            worst = max(worst, d)
        if bad:
            counts["failed"] += 1
            failed.append(f"{name}: outputs differ in onnxruntime: {', '.join(bad)}")
        else:
            counts["passed"] += 1
    for f in failed:
        print("FAIL:", f)
    counts["max_abs_err"] = worst
    print("ort_suite: %(models)d models: %(passed)d same outputs in onnxruntime, %(failed)d failed, "
          "%(skipped_ort)d accepted by taso-opt but not compared (onnxruntime cannot run the original); "
          "max abs err %(max_abs_err)g" % counts)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(counts, failures=failed, not_compared=not_compared), f, indent=1)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
