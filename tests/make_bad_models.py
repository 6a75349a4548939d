#!/usr/bin/env python3
"""Writes malformed ONNX models, and a few good ones, for the CLI tests.

Each malformed model is wrong in one way a user's file can be: a cycle, a
dangling name (also one with a newline in it, and one with bytes that are
not UTF-8: the error must still be one line), mismatched element types, an
absurd dimension, initializer data that does not match its shape, a name
written twice, a graph output nothing defines. (Truncated and garbage files
are made by the shell test itself.)

The good ones: symbolic.onnx (a named symbolic dim, an Identity, an opaque
Abs), unnamed_dim.onnx (an unnamed symbolic dim), sym_newline.onnx (a
symbolic dim of an input whose name has a newline), sym_matmul.onnx (a dim
the check cannot set to 1), sym_nofit.onnx (dims no size fits: the check
compares nothing) and unknown_rank.onnx (an input of unknown rank: the check
cannot run).
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
    bad["newline_name"] = model([helper.make_node("Add", ["x", "no\nwhere"], ["y"])], [x], [y])
    # not malformed: a symbolic batch dimension, an Identity and an opaque
    # operator (Abs is outside the table)
    sym = model([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["i"]),
                 helper.make_node("Abs", ["i"], ["y"])],
                [vi("x", ["batch", 3])], [vi("y", ["batch", 3])])
    bad["symbolic"] = sym
    bad["unnamed_dim"] = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [None, 4])], [vi("y", None)])
    bad["sym_newline"] = model([helper.make_node("Relu", ["in\nput"], ["y"])], [vi("in\nput", ["batch", 3])],
                               [vi("y", None)])
    w4 = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.25 * i for i in range(16)])
    bad["sym_matmul"] = model([helper.make_node("MatMul", ["x", "w"], ["y"])], [vi("x", ["b", "n"])],
                              [vi("y", None)], [w4])
    w3 = helper.make_tensor("w3", TensorProto.FLOAT, [3, 2], [1.0] * 6)
    w5 = helper.make_tensor("w5", TensorProto.FLOAT, [5, 2], [1.0] * 10)
    bad["sym_nofit"] = model([helper.make_node("MatMul", ["x", "w3"], ["y3"]),
                              helper.make_node("MatMul", ["x", "w5"], ["y5"])],
                             [vi("x", ["n"])], [vi("y3", None), vi("y5", None)], [w3, w5])
    bad["unknown_rank"] = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", None)], [vi("y", None)])
    for name, m in bad.items():
        with open(f"{out}/{name}.onnx", "wb") as f:
            f.write(m.SerializeToString())
    # a name that is not UTF-8 (protobuf will not set one): patched into
    # the bytes, same length so no length prefix changes
    m = model([helper.make_node("Add", ["x", "bad#name"], ["y"])], [x], [y]).SerializeToString()
    assert m.count(b"bad#name") == 1
    with open(f"{out}/bad_utf8.onnx", "wb") as f:
        f.write(m.replace(b"bad#name", b"bad\xffname"))


if __name__ == "__main__":
    main(sys.argv[1])
