#!/usr/bin/env python3
"""Writes malformed ONNX models (and symbolic.onnx, a good one) for the CLI tests.

Each is wrong in one way a user's file can be: a cycle, a dangling name,
mismatched element types, an absurd dimension, initializer data that does
not match its shape, a name written twice. (Truncated and garbage files are
made by the shell test itself.)
"""
import sys

import onnx
from onnx import TensorProto, helper


def model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def vi(name, dims, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, dims)


def short_tensor(name, dims, nbytes):
    """A float initializer whose raw data is shorter than its shape says."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = b"\0" * nbytes
    return t


def main(out):
    x = vi("x", [2, 3])
    y = vi("y", [2, 3])
    bad = {
        "cycle": model([helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Add", ["x", "a"], ["b"])],
                       [x], [vi("b", [2, 3])]),
        "dangling": model([helper.make_node("Add", ["x", "nowhere"], ["y"])], [x], [y]),
        "types": model([helper.make_node("Add", ["x", "i"], ["y"])], [x, vi("i", [2, 3], TensorProto.INT64)], [y]),
        "absurd_dim": model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2, 10**15])], [y]),
        "bad_init": model([helper.make_node("Add", ["x", "w"], ["y"])], [x], [y],
                          [short_tensor("w", [2, 3], 8)]),
        "twice": model([helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Tanh", ["x"], ["y"])], [x], [y]),
        "no_output": model([helper.make_node("Relu", ["x"], ["r"])], [x], [vi("missing", [2, 3])]),
    }
    # not malformed: a symbolic batch dimension, an Identity, an opaque
    # operator (Abs is outside the table) and a custom-domain operator
    sym = model([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["i"]),
                 helper.make_node("Abs", ["i"], ["y"])],
                [vi("x", ["batch", 3])], [vi("y", ["batch", 3])])
    bad["symbolic"] = sym
    for name, m in bad.items():
        with open(f"{out}/{name}.onnx", "wb") as f:
            f.write(m.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1])
