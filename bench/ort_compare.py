#!/usr/bin/env python3
"""Independent oracle: do two ONNX models compute the same function?

    python3 bench/ort_compare.py ORIGINAL.onnx OPTIMIZED.onnx
        [--seed S] [--rtol 1e-3] [--atol 1e-4] [--dim NAME=VALUE ...]
        [--test-data [DIR]] [--json]

Both models run in onnxruntime on the CPU with every graph optimization
disabled (ORT_DISABLE_ALL), so that onnxruntime's own rewrites cannot hide a
difference, on the same seeded random inputs:
  float inputs  uniform in [-1, 1]
  int inputs    small non-negative integers (0..2)
  bool inputs   random
  string inputs short random strings
  symbolic / unknown dimensions are bound to 1 unless --dim NAME=VALUE.
--test-data feeds the input_*.pb files of an ONNX backend test directory
instead (default: ORIGINAL's directory/test_data_set_0); that stored data is
also used automatically when the original fails on the random inputs and the
directory exists (indices out of range, shapes passed as data, ...).

Outputs are matched by name, or by position when the names differ.  An
output passes when |opt - orig| <= atol + rtol * |orig| everywhere (NaN
matches NaN, inf matches the same inf); integer, bool and string outputs must
be equal.  Shapes and element types must match.

Exit status: 0 PASS, 1 mismatch (FAIL), 2 error (a model cannot be read or
loaded, the optimized model cannot run, inputs do not correspond, ...),
3 skipped: the original model itself cannot be run by onnxruntime (or is
non-deterministic), with the reason.
"""

import argparse
import glob
import json
import os
import sys

import numpy as np

EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_SKIP = 0, 1, 2, 3
RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
              "Bernoulli", "Multinomial"}


class Abort(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


# --------------------------------------------------------------------------
# reading models and building inputs
# --------------------------------------------------------------------------

def load_proto(path, what):
    import onnx
    if not os.path.isfile(path):
        raise Abort(EXIT_ERROR, "%s model %s: no such file" % (what, path))
    try:
        # external data (if any) stays on disk; onnxruntime reads it itself
        return onnx.load(path, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - any parse failure is fatal here
        raise Abort(EXIT_ERROR, "%s model %s cannot be parsed: %s" % (what, path, _short(e)))


def _short(e, n=600):
    s = ("%s: %s" % (type(e).__name__, e)).strip()
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n] + " ..."


def graph_inputs(model):
    """Real inputs (not initializers) with their TypeProto, in order."""
    inits = {t.name for t in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in inits]


def _np_dtype(elem):
    from onnx import helper
    if elem == 16:  # BFLOAT16 has no numpy type
        raise ValueError("bfloat16 inputs are not supported")
    return helper.tensor_dtype_to_np_dtype(elem)


def _dims(tensor_type, dim_values, name):
    if not tensor_type.HasField("shape"):
        raise ValueError("input %s has no shape (unknown rank)" % name)
    out = []
    for d in tensor_type.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            out.append(d.dim_value)
        elif d.HasField("dim_param") and d.dim_param in dim_values:
            out.append(dim_values[d.dim_param])
        else:
            out.append(1)
    return out


def random_tensor(rng, elem, shape):
    dt = np.dtype(_np_dtype(elem))
    if dt.kind == "f":
        return rng.uniform(-1.0, 1.0, size=shape).astype(dt)
    if dt.kind in "iu":
        return rng.integers(0, 3, size=shape).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind == "c":
        return (rng.uniform(-1, 1, size=shape) + 1j * rng.uniform(-1, 1, size=shape)).astype(dt)
    if dt.kind in "OSU":
        letters = np.array(list("abcdefgh"))
        flat = ["".join(rng.choice(letters, size=int(rng.integers(1, 6))))
                for _ in range(int(np.prod(shape, dtype=np.int64)))]
        return np.array(flat, dtype=object).reshape(shape)
    raise ValueError("unsupported element type %s" % dt)


def random_value(rng, type_proto, dim_values, name):
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        tt = type_proto.tensor_type
        return random_tensor(rng, tt.elem_type, _dims(tt, dim_values, name))
    if kind == "sequence_type":
        return [random_value(rng, type_proto.sequence_type.elem_type, dim_values, name)
                for _ in range(2)]
    if kind == "optional_type":
        return random_value(rng, type_proto.optional_type.elem_type, dim_values, name)
    raise ValueError("input %s has unsupported type %s" % (name, kind))


def make_feeds(inputs, seed, dim_values):
    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in inputs:
        feeds[vi.name] = random_value(rng, vi.type, dim_values, vi.name)
    return feeds


def load_test_data(directory, inputs):
    """input_N.pb files of an ONNX backend test data set: the N-th file
    belongs to the N-th real input and is read as a TensorProto,
    SequenceProto or OptionalProto according to that input's type."""
    from onnx import numpy_helper, TensorProto, SequenceProto, OptionalProto
    files = sorted(glob.glob(os.path.join(directory, "input_*.pb")),
                   key=lambda f: int(os.path.basename(f)[6:-3]))
    if not files:
        raise Abort(EXIT_ERROR, "no input_*.pb files in %s" % directory)
    if len(files) > len(inputs):
        raise Abort(EXIT_ERROR, "%d input files for %d model inputs" % (len(files), len(inputs)))
    feeds = {}
    for f, vi in zip(files, inputs):
        kind = vi.type.WhichOneof("value")
        proto, conv = {"sequence_type": (SequenceProto, numpy_helper.to_list),
                       "optional_type": (OptionalProto, numpy_helper.to_optional)}.get(
                           kind, (TensorProto, numpy_helper.to_array))
        p = proto()
        with open(f, "rb") as fh:
            p.ParseFromString(fh.read())
        feeds[vi.name] = conv(p)
    return feeds


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------

def make_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 4   # errors are reported by us
    so.intra_op_num_threads = 0
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run(sess, feeds):
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(names, feeds)


def _as_array(v):
    return v if isinstance(v, np.ndarray) else np.asarray(v)


def compare_arrays(a, b, rtol, atol):
    """Returns (ok, max_abs, max_rel, note); max_rel is over elements whose
    reference magnitude is non-zero (a relative error is meaningless at 0),
    the note also gives the worst ratio error / (atol + rtol*|orig|)."""
    a, b = _as_array(a), _as_array(b)
    if a.shape != b.shape:
        return False, None, None, "shape %s vs %s" % (list(a.shape), list(b.shape))
    if a.dtype != b.dtype:
        return False, None, None, "dtype %s vs %s" % (a.dtype, b.dtype)
    if a.size == 0:
        return True, 0.0, 0.0, ""
    if a.dtype.kind in "fc":
        a64 = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
        b64 = b.astype(a64.dtype)
        both_nan = np.isnan(a64) & np.isnan(b64)
        same_inf = np.isinf(a64) & (a64 == b64)
        special = both_nan | same_inf
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a64 - b64)
            diff = np.where(special, 0.0, diff)
            diff = np.where(np.isnan(diff), np.inf, diff)
            mag = np.abs(a64)
            tol = atol + rtol * np.where(special, 0.0, mag)
            bad = diff > tol
            rel = np.where(mag > 0, diff / np.where(mag > 0, mag, 1.0), 0.0)
            ratio = float((diff / tol).max()) if (atol > 0 or rtol > 0) else float(diff.max())
        max_abs = float(diff.max())
        max_rel = float(rel.max())
        nbad = int(bad.sum())
        note = "worst %.3g of tolerance" % ratio
        if nbad:
            note = "%d of %d elements out of tolerance, %s" % (nbad, a.size, note)
        return nbad == 0, max_abs, max_rel, note
    if a.dtype.kind in "OSU":
        eq = np.array([x == y for x, y in zip(a.ravel().tolist(), b.ravel().tolist())])
        nbad = int((~eq).sum())
        return nbad == 0, None, None, "" if nbad == 0 else "%d strings differ" % nbad
    eq = a == b
    nbad = int((~eq).sum())
    if a.dtype.kind == "b":
        max_abs = float(nbad > 0)
    else:
        max_abs = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
    return nbad == 0, max_abs, (0.0 if nbad == 0 else None), \
        "" if nbad == 0 else "%d of %d elements differ" % (nbad, a.size)


def compare_values(a, b, rtol, atol):
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)):
            return False, None, None, "sequence vs tensor"
        if len(a) != len(b):
            return False, None, None, "sequence length %d vs %d" % (len(a), len(b))
        ok, mabs, mrel, notes = True, 0.0, 0.0, []
        for i, (x, y) in enumerate(zip(a, b)):
            o, ab, rl, nt = compare_values(x, y, rtol, atol)
            ok = ok and o
            mabs = None if (ab is None or mabs is None) else max(mabs, ab)
            mrel = None if (rl is None or mrel is None) else max(mrel, rl)
            if nt:
                notes.append("[%d] %s" % (i, nt))
        return ok, mabs, mrel, "; ".join(notes)
    if a is None or b is None:
        return (a is None and b is None), 0.0, 0.0, "" if a is None and b is None else \
            "empty optional vs value"
    return compare_arrays(a, b, rtol, atol)


def same_results(x, y):
    """Bitwise-equal run results (NaN equal to NaN)."""
    for a, b in zip(x, y):
        if isinstance(a, list):
            if not isinstance(b, list) or len(a) != len(b) or not same_results(a, b):
                return False
            continue
        a, b = _as_array(a), _as_array(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            if not np.array_equal(a, b, equal_nan=True):
                return False
        elif not np.array_equal(a, b):
            return False
    return True


# --------------------------------------------------------------------------

def compare(args):
    report = {"original": args.original, "optimized": args.optimized, "seed": args.seed,
              "rtol": args.rtol, "atol": args.atol, "outputs": []}
    dim_values = {}
    for d in args.dim or []:
        if "=" not in d:
            raise Abort(EXIT_ERROR, "--dim expects NAME=VALUE, got %r" % d)
        k, v = d.split("=", 1)
        try:
            dim_values[k.strip()] = int(v)
        except ValueError:
            raise Abort(EXIT_ERROR, "--dim %s: value is not an integer" % d)

    orig_proto = load_proto(args.original, "original")
    opt_proto = load_proto(args.optimized, "optimized")
    orig_inputs = graph_inputs(orig_proto)
    opt_inputs = graph_inputs(opt_proto)

    # ---- original: must load and run, else the case is skipped --------------
    try:
        sess_a = make_session(args.original)
    except Exception as e:  # noqa: BLE001
        raise Abort(EXIT_SKIP, "original not runnable: onnxruntime cannot load it: %s" % _short(e))
    default_tdir = os.path.join(os.path.dirname(os.path.abspath(args.original)),
                                "test_data_set_0")
    feeds = None
    if args.test_data is None:
        # seeded random inputs; when the original cannot run on them (indices
        # out of range, shapes given as data, ...) and the model sits in an
        # ONNX backend test directory, its stored test inputs are used instead
        try:
            feeds = make_feeds(orig_inputs, args.seed, dim_values)
            names_a, outs_a = run(sess_a, feeds)
        except Exception as e:  # noqa: BLE001
            if not glob.glob(os.path.join(default_tdir, "input_*.pb")):
                what = "cannot make its inputs" if feeds is None else \
                    "onnxruntime fails to run it"
                raise Abort(EXIT_SKIP, "original not runnable: %s: %s" % (what, _short(e)))
            report["random_inputs_failed"] = _short(e, 300)
            feeds = None
    if feeds is None:
        tdir = args.test_data or default_tdir
        try:
            feeds = load_test_data(tdir, orig_inputs)
        except Abort:
            raise
        except Exception as e:  # noqa: BLE001
            raise Abort(EXIT_ERROR, "cannot read test data in %s: %s" % (tdir, _short(e)))
        report["inputs_from"] = tdir
        try:
            names_a, outs_a = run(sess_a, feeds)
        except Exception as e:  # noqa: BLE001
            raise Abort(EXIT_SKIP, "original not runnable: onnxruntime fails to run it "
                        "(on test data %s): %s" % (tdir, _short(e)))
    report["inputs"] = [{"name": k, "shape": list(_as_array(v).shape) if not isinstance(v, list)
                         else "sequence[%d]" % len(v),
                         "dtype": str(_as_array(v).dtype) if not isinstance(v, list) else "seq"}
                        for k, v in feeds.items()]
    if any(n.op_type in RANDOM_OPS for n in orig_proto.graph.node):
        _, again = run(sess_a, feeds)
        if not same_results(outs_a, again):
            raise Abort(EXIT_SKIP, "original not runnable: its outputs are non-deterministic")

    # ---- optimized: any failure from here on is an error ---------------------
    try:
        sess_b = make_session(args.optimized)
    except Exception as e:  # noqa: BLE001
        raise Abort(EXIT_ERROR, "onnxruntime cannot load the optimized model: %s" % _short(e))
    opt_names = [vi.name for vi in opt_inputs]
    feeds_b = {}
    if set(opt_names) <= set(feeds):
        feeds_b = {n: feeds[n] for n in opt_names}
        dropped = [n for n in feeds if n not in set(opt_names)]
    elif len(opt_names) == len(orig_inputs):
        feeds_b = {nb: feeds[va.name] for nb, va in zip(opt_names, orig_inputs)}
        dropped = []
        report["inputs_matched_by_position"] = True
    else:
        raise Abort(EXIT_ERROR, "inputs do not correspond: original %s, optimized %s" % (
            [v.name for v in orig_inputs], opt_names))
    if dropped:
        report["inputs_unused_by_optimized"] = dropped
    try:
        names_b, outs_b = run(sess_b, feeds_b)
    except Exception as e:  # noqa: BLE001
        raise Abort(EXIT_ERROR, "onnxruntime fails to run the optimized model: %s" % _short(e))

    # ---- match outputs --------------------------------------------------------
    ok_all = True
    by_name = dict(zip(names_b, outs_b))
    all_named = all(n in by_name for n in names_a)
    if not all_named and len(names_a) != len(names_b):
        report["error"] = "output count differs (%d vs %d) and names do not match: %s vs %s" % (
            len(names_a), len(names_b), names_a, names_b)
        ok_all = False
    else:
        if len(names_b) != len(names_a):
            report["extra_optimized_outputs"] = [n for n in names_b if n not in set(names_a)]
        for i, (na, va) in enumerate(zip(names_a, outs_a)):
            if all_named:
                nb, vb = na, by_name[na]
            else:
                nb, vb = names_b[i], outs_b[i]
            ok, mabs, mrel, note = compare_values(va, vb, args.rtol, args.atol)
            ok_all = ok_all and ok
            report["outputs"].append({"name": na, "optimized_name": nb, "ok": ok,
                                      "max_abs": mabs, "max_rel": mrel, "note": note})
    report["result"] = "PASS" if ok_all else "FAIL"
    return report


def fmt_err(v):
    return "-" if v is None else "%.3e" % v


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Compare two ONNX models' outputs in onnxruntime (CPU, no graph "
                    "optimizations) on the same seeded random inputs.",
        epilog="exit status: 0 pass, 1 mismatch, 2 error, 3 original not runnable (skipped)")
    ap.add_argument("original")
    ap.add_argument("optimized")
    ap.add_argument("--seed", type=int, default=0, help="input RNG seed (default 0)")
    ap.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance (1e-3)")
    ap.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance (1e-4)")
    ap.add_argument("--dim", action="append", metavar="NAME=VALUE",
                    help="bind a symbolic input dimension (default: 1); repeatable")
    ap.add_argument("--test-data", nargs="?", const="", default=None, metavar="DIR",
                    help="feed input_*.pb from an ONNX backend test data set "
                         "(default DIR: ORIGINAL's directory/test_data_set_0)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args(argv)

    try:
        rep = compare(args)
        code = EXIT_PASS if rep["result"] == "PASS" else EXIT_FAIL
    except Abort as e:
        rep = {"original": args.original, "optimized": args.optimized, "seed": args.seed,
               "result": "SKIP" if e.code == EXIT_SKIP else "ERROR", "reason": e.msg}
        code = e.code
    except Exception as e:  # noqa: BLE001 - last resort: report, exit 2
        rep = {"original": args.original, "optimized": args.optimized, "seed": args.seed,
               "result": "ERROR", "reason": _short(e)}
        code = EXIT_ERROR
    rep["exit_status"] = code

    if args.json:
        print(json.dumps(rep, indent=None, sort_keys=False))
        return code

    if "inputs" in rep:
        src = rep.get("inputs_from")
        if rep.get("random_inputs_failed"):
            print("original failed on random inputs (%s); using its test data" %
                  rep["random_inputs_failed"])
        print("inputs (%s):" % ("test data %s" % src if src else "seed %d" % args.seed))
        for i in rep["inputs"]:
            print("  %-24s %-8s %s" % (i["name"], i["dtype"], i["shape"]))
        if rep.get("inputs_matched_by_position"):
            print("  (input names differ: fed to the optimized model by position)")
        if rep.get("inputs_unused_by_optimized"):
            print("  (not inputs of the optimized model: %s)" %
                  ", ".join(rep["inputs_unused_by_optimized"]))
    if rep.get("outputs"):
        print("outputs:")
    for o in rep.get("outputs", []):
        label = o["name"] if o["name"] == o["optimized_name"] else \
            "%s (optimized: %s)" % (o["name"], o["optimized_name"])
        print("  %-4s %-40s max_abs=%-10s max_rel=%-10s %s" % (
            "ok" if o["ok"] else "BAD", label, fmt_err(o["max_abs"]), fmt_err(o["max_rel"]),
            o["note"]))
    if rep.get("extra_optimized_outputs"):
        print("  (extra outputs of the optimized model, ignored: %s)" %
              ", ".join(rep["extra_optimized_outputs"]))
    if rep.get("error"):
        print("  " + rep["error"])
    if rep["result"] == "PASS":
        print("PASS (rtol=%g atol=%g seed=%d)" % (args.rtol, args.atol, args.seed))
    elif rep["result"] == "FAIL":
        print("FAIL (rtol=%g atol=%g seed=%d)" % (args.rtol, args.atol, args.seed))
    elif rep["result"] == "SKIP":
        print("SKIP: %s" % rep["reason"])
    else:
        print("ERROR: %s" % rep["reason"])
    return code


if __name__ == "__main__":
    sys.exit(main())
