#!/usr/bin/env python3
"""A model over 2 GB through taso-opt (external data).

Builds MODEL.onnx whose external data file MODEL.onnx.data is over 2 GiB
without spending the disk: the file is sparse (truncate, then a few writes),
so the big weight is almost all holes. Three initializers live in it:

    W_big    float32[2^29 + 2^20]  offset 0           (2.15 GB, mostly zeros)
    W_small  float32[512]          offset > 2^31      (2 KiB: stays external)
    W_tiny   float32[4]            offset > 2^31 + 4K (16 B: comes back inline)

and the graph reads elements from each, so a wrong offset shows up in the
outputs:  Z = Gather(W_big, I),  Y = Add(X, W_small),  T = Add(X4, W_tiny).
W_big has known non-zero values at the start, around byte 2^31, and at its
last element; I indexes exactly those.

Then taso-opt IN OUT runs on it and the test checks:
  - exit status 0;
  - OUT.onnx.data exists; every external tensor of OUT names it, sits at a
    64-byte aligned offset, does not overlap another, ends inside the file,
    and its length is its shape's byte size; the file ends at the last
    tensor; at least one offset is past 2^31 and the total is over 2^31;
  - tensors under 1024 bytes are inline, the others external;
  - every initializer of OUT holds the same bytes as the input's one of the
    same name (compared in chunks through numpy memmaps);
  - when onnxruntime is importable: IN and OUT give the same outputs for the
    chosen inputs (and those outputs are the values written, so the input
    model itself was read right). Without onnxruntime that part is skipped.

    test_bigdata.py TASO_OPT WORK_DIR [--keep]

Everything big is removed at the end, also on failure (--keep leaves it).
Exit: 0 pass, 1 fail, 77 skipped (no numpy/onnx, or not enough disk).
"""
import os
import shutil
import signal
import subprocess
import sys
import time

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"test_bigdata: skipped: {e}")
    sys.exit(77)

N_BIG = (1 << 29) + (1 << 20)          # float32 elements: 2,151,677,952 bytes
OFF_SMALL = N_BIG * 4 + 4096           # past W_big (which ends at 2^31 + 2^22)
OFF_TINY = OFF_SMALL + 4096
DATA_SIZE = OFF_TINY + 16 + 4096       # a tail of zeros that nothing refers to
MARK = 1 << 29                         # element index whose bytes sit at 2^31
PROBES = [0, 1, 1000, MARK - 1, MARK, MARK + 7, N_BIG - 2, N_BIG - 1]


def probe_value(i):
    return float(i % 1000003) + 0.5


def external(t, location, offset, length):
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v


def write_input(path):
    """The model and its sparse data file; returns the expected outputs."""
    data = path + ".data"
    small = (np.arange(512, dtype=np.float32) * 0.25 - 17.0)
    tiny = np.array([3.5, -2.0, 1e6, 7.25], dtype=np.float32)
    with open(data, "wb") as f:
        f.truncate(DATA_SIZE)
        for i in PROBES:
            f.seek(4 * i)
            f.write(np.float32(probe_value(i)).tobytes())
        f.seek(OFF_SMALL)
        f.write(small.tobytes())
        f.seek(OFF_TINY)
        f.write(tiny.tobytes())
    loc = os.path.basename(data)
    wb = helper.make_tensor_value_info
    inits = []
    for name, shape, off, n in (("W_big", [N_BIG], 0, N_BIG * 4), ("W_small", [512], OFF_SMALL, 2048),
                                ("W_tiny", [4], OFF_TINY, 16)):
        t = TensorProto()
        t.name, t.data_type = name, TensorProto.FLOAT
        t.dims.extend(shape)
        external(t, loc, off, n)
        inits.append(t)
    nodes = [helper.make_node("Gather", ["W_big", "I"], ["Z"], name="gather"),
             helper.make_node("Add", ["X", "W_small"], ["Y"], name="add_small"),
             helper.make_node("Add", ["X4", "W_tiny"], ["T"], name="add_tiny")]
    g = helper.make_graph(nodes, "bigdata",
                          [wb("I", TensorProto.INT64, [len(PROBES)]), wb("X", TensorProto.FLOAT, [512]),
                           wb("X4", TensorProto.FLOAT, [4])],
                          [wb("Z", TensorProto.FLOAT, [len(PROBES)]), wb("Y", TensorProto.FLOAT, [512]),
                           wb("T", TensorProto.FLOAT, [4])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="test_bigdata")
    m.ir_version = 8
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    feeds = {"I": np.array(PROBES, dtype=np.int64),
             "X": np.linspace(-1, 1, 512, dtype=np.float32),
             "X4": np.array([1, 2, 3, 4], dtype=np.float32)}
    want = {"Z": np.array([probe_value(i) for i in PROBES], dtype=np.float32),
            "Y": feeds["X"] + small, "T": feeds["X4"] + tiny}
    return feeds, want


def ext_info(t):
    kv = {e.key: e.value for e in t.external_data}
    return kv.get("location"), int(kv.get("offset", "0")), int(kv["length"]) if "length" in kv else None


def nbytes(t):
    n = 1
    for d in t.dims:
        n *= d
    return n * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize


def tensor_bytes(t, folder):
    """A uint8 view of t's data: a memmap of its external file, or its raw_data."""
    if t.data_location == TensorProto.EXTERNAL:
        loc, off, n = ext_info(t)
        n = nbytes(t) if n is None else n
        if n == 0:
            return np.zeros(0, np.uint8)
        return np.memmap(os.path.join(folder, loc), dtype=np.uint8, mode="r", offset=off, shape=(n,))
    if t.HasField("raw_data"):
        return np.frombuffer(t.raw_data, dtype=np.uint8)
    return np.frombuffer(numpy_helper.to_array(t).tobytes(), dtype=np.uint8)


def same_bytes(a, b, chunk=64 << 20):
    if a.shape != b.shape:
        return False
    for s in range(0, a.shape[0], chunk):
        if not np.array_equal(a[s:s + chunk], b[s:s + chunk]):
            return False
    return True


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def check_output(inp, out):
    """The structure of OUT and its data file, and its bytes against IN's."""
    folder = os.path.dirname(out)
    data = out + ".data"
    check(os.path.isfile(data), f"{data} was not written")
    size = os.path.getsize(data)
    mi = onnx.load(inp, load_external_data=False)
    mo = onnx.load(out, load_external_data=False)
    spans, total = [], 0
    for t in mo.graph.initializer:
        n = nbytes(t)
        if t.data_location == TensorProto.EXTERNAL:
            loc, off, length = ext_info(t)
            check(loc == os.path.basename(data), f"{t.name}: location {loc!r}, expected {os.path.basename(data)!r}")
            check(off % 64 == 0, f"{t.name}: offset {off} is not 64-byte aligned")
            check(length == n, f"{t.name}: length {length}, its shape needs {n}")
            check(off + n <= size, f"{t.name}: ends at {off + n}, past the data file's {size} bytes")
            check(not t.HasField("raw_data"), f"{t.name}: external and raw_data both")
            check(n >= 1024, f"{t.name}: {n} bytes went external (the minimum is 1024)")
            spans.append((off, off + n, t.name))
            total += n
        else:
            check(n < 1024, f"{t.name}: {n} bytes stayed inline in a model with external data")
    spans.sort()
    for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
        check(a1 <= b0, f"{an} [{a0},{a1}) overlaps {bn} [{b0},{b1})")
    check(spans and spans[-1][1] == size, f"the data file has {size} bytes, its last tensor ends at "
          f"{spans[-1][1] if spans else 0}")
    check(total > (1 << 31), f"only {total} bytes of external data")
    check(any(s[0] >= (1 << 31) for s in spans), "no tensor sits past 2^31 in the data file")
    byname = {t.name: t for t in mi.graph.initializer}
    check(sorted(byname) == sorted(t.name for t in mo.graph.initializer),
          "the initializers differ: %s vs %s" % (sorted(byname), sorted(t.name for t in mo.graph.initializer)))
    for t in mo.graph.initializer:
        check(same_bytes(tensor_bytes(byname[t.name], os.path.dirname(inp)), tensor_bytes(t, folder)),
              f"{t.name}: the output's bytes differ from the input's")
    return size, spans


def check_ort(inp, out, feeds, want):
    try:
        import onnxruntime as ort
    except ImportError as e:
        print(f"test_bigdata: onnxruntime check skipped: {e}")
        return
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    res = {}
    for which, path in (("input", inp), ("output", out)):
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        names = [o.name for o in s.get_outputs()]
        res[which] = dict(zip(names, s.run(None, feeds)))
        del s
    check(sorted(res["input"]) == sorted(res["output"]),
          f"output names differ: {sorted(res['input'])} vs {sorted(res['output'])}")
    for k, v in want.items():
        check(np.array_equal(res["input"][k], v), f"onnxruntime reads the input model wrong: {k}")
        check(np.array_equal(res["output"][k], v), f"the output model gives another {k} in onnxruntime")
    print("test_bigdata: onnxruntime gives the same outputs for the input and the output model")


def main():
    if len(sys.argv) < 3:
        print("usage: test_bigdata.py TASO_OPT WORK_DIR [--keep]")
        return 1
    opt, work, keep = sys.argv[1], sys.argv[2], "--keep" in sys.argv[3:]
    os.makedirs(work, exist_ok=True)
    need = N_BIG * 4 + (512 << 20)     # the output is written for real
    free = shutil.disk_usage(work).free
    if free < need:
        print(f"test_bigdata: skipped: {free} bytes free in {work}, {need} needed")
        return 77
    inp, out = os.path.join(work, "big.onnx"), os.path.join(work, "big.opt.onnx")
    files = [inp, inp + ".data", out, out + ".data"]
    t0 = time.time()
    # a ctest time-out or ^C still removes the big files (SIGKILL cannot be caught)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda n, f: sys.exit(128 + n))
    try:
        for f in files:
            if os.path.exists(f):
                os.unlink(f)
        feeds, want = write_input(inp)
        st = os.stat(inp + ".data")
        print(f"test_bigdata: input data {st.st_size} bytes, {st.st_blocks * 512} on disk")
        t1 = time.time()
        p = subprocess.run([opt, "--quiet", "--seed", "1", "--backend", "analytic", "--cost-db",
                            os.path.join(work, "costs.sqlite"), inp, out], capture_output=True, text=True)
        t2 = time.time()
        check(p.returncode == 0, f"taso-opt exit {p.returncode}: {p.stderr.strip()}")
        size, spans = check_output(inp, out)
        print(f"test_bigdata: taso-opt {t2 - t1:.1f} s; output data {size} bytes: " +
              ", ".join(f"{n}@{a}" for a, _, n in spans))
        check_ort(inp, out, feeds, want)
    except Fail as e:
        print(f"test_bigdata: FAIL: {e}")
        return 1
    finally:
        if not keep:
            for f in files:
                if os.path.exists(f):
                    os.unlink(f)
    print(f"test_bigdata: ok ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
