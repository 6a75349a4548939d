#!/usr/bin/env python3
"""Write the taso benchmark models as ONNX files.

Every model is built node by node with onnx.helper, the way a framework
exporter would emit it (Conv and BatchNormalization kept separate, Dropout
and Identity left in, reshape targets partly computed at run time, ...), so
the optimizer sees realistic, un-optimized input.  Weights are random but
reproducible: each model draws from numpy's default_rng seeded with a fixed
number derived from the model name, and every file is byte-identical from one
run to the next.

Usage:
    python3 bench/make_models.py                   # all models -> bench/models/
    python3 bench/make_models.py --out DIR --only resnet50,bert_base
    python3 bench/make_models.py --opset 13        # any opset 13..17
    python3 bench/make_models.py --example data/example.onnx   # small example only
    python3 bench/make_models.py --check           # also run checker + onnxruntime

See bench/README.md for what each model contains and what was simplified.
"""

import argparse
import contextlib
import math
import os
import sys
import time
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_OPSET, MAX_OPSET = 13, 17
# Oldest IR version that carries each opset (keeps the files loadable by older
# runtimes and independent of the installed onnx package's defaults).
IR_FOR_OPSET = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8}
PRODUCER = ("taso-bench", "1")
INT64_MAX = np.iinfo(np.int64).max


# --------------------------------------------------------------------------
# graph builder with shape tracking
# --------------------------------------------------------------------------

def _pool_out(size, k, s, p0, p1, ceil=False, d=1):
    span = size + p0 + p1 - (d * (k - 1) + 1)
    if ceil:
        out = -(-span // s) + 1
        # last window must start inside the (left-padded) input
        if (out - 1) * s >= size + p0:
            out -= 1
        return out
    return span // s + 1


def _bcast(a, b):
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError("cannot broadcast %s and %s" % (a, b))
        out.append(max(x, y))
    return tuple(out)


def _array_stats(arr):
    if arr.size == 0:
        return 0.0, 0.0
    a = arr.astype(np.float64)
    return float(a.mean()), float(np.mean(a * a))


def same_pads(size, k, s):
    """TensorFlow 'SAME' padding: (begin, end, out)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


class Builder:
    """Accumulates nodes/initializers and tracks every tensor's static shape."""

    def __init__(self, name, opset, seed):
        self.name = name
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.inputs = []
        self.outputs = []
        self.shape = {}
        self.dtype = {}
        self._names = set()
        self._scope = []
        self.n_params = 0      # trainable-equivalent parameters
        self.n_stats = 0       # BatchNorm running mean / variance elements
        self.st = {}           # tensor -> estimated (mean, mean square), see _stats
        self.bn_var = {}       # running_var initializer -> its mean value

    # ---- naming -----------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, name):
        self._scope.append(str(name))
        try:
            yield
        finally:
            self._scope.pop()

    def _unique(self, base):
        name, i = base, 1
        while name in self._names:
            name = "%s_%d" % (base, i)
            i += 1
        self._names.add(name)
        return name

    def node_name(self, op_type):
        return self._unique("/" + "/".join(self._scope + [op_type]))

    def param_name(self, leaf):
        return self._unique(".".join(self._scope + [leaf]))

    # ---- tensors ----------------------------------------------------------
    def input(self, name, shape, elem=TensorProto.FLOAT):
        self._names.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, elem, list(shape)))
        self.shape[name] = tuple(shape)
        self.dtype[name] = elem
        self.st[name] = (0.0, 1.0 / 3.0)      # uniform [-1, 1] test inputs
        return name

    def output(self, tensor, name=None):
        """Declare a graph output, optionally renaming the tensor to `name`."""
        if name is not None and name != tensor:
            assert name not in self._names, name
            self._names.add(name)
            for n in self.nodes:
                for lst in (n.input, n.output):
                    for i, t in enumerate(lst):
                        if t == tensor:
                            lst[i] = name
            for d in (self.shape, self.dtype, self.st):
                d[name] = d.pop(tensor)
            tensor = name
        self.outputs.append(helper.make_tensor_value_info(
            tensor, self.dtype.get(tensor, TensorProto.FLOAT), list(self.shape[tensor])))
        return tensor

    def param(self, leaf, arr, stat=False):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        name = self.param_name(leaf)
        self.inits.append(numpy_helper.from_array(arr, name))
        self.shape[name] = arr.shape
        self.dtype[name] = TensorProto.FLOAT
        self.st[name] = _array_stats(arr)
        if stat:
            self.n_stats += arr.size
        else:
            self.n_params += arr.size
        return name

    def normal(self, shape, std):
        return self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)

    def uniform(self, shape, lo, hi):
        return self.rng.uniform(lo, hi, size=shape).astype(np.float32)

    def op(self, op_type, inputs, shape, n_out=1, elem=TensorProto.FLOAT, out_shapes=None,
           **attrs):
        """Append one node; returns its output name (or list if n_out > 1)."""
        nname = self.node_name(op_type)
        outs = [self._unique(nname + "_output_%d" % i) for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=nname, **attrs))
        shapes = out_shapes if out_shapes is not None else [shape] * n_out
        stats = self._stats(op_type, list(inputs), attrs)
        for o, s in zip(outs, shapes):
            self.shape[o] = tuple(s)
            self.dtype[o] = elem
            self.st[o] = stats
        return outs[0] if n_out == 1 else outs

    def _stats(self, op_type, ins, attrs):
        """Rough estimate of (E[y], E[y^2]) of a node's output, expectation
        over the random weights with inputs uniform in [-1,1].  It only serves
        to pick BatchNormalization running variances close to what the input
        will show, so that the untrained networks keep activations O(1)
        through their whole depth, as a trained network would."""
        st = [self.st.get(i, (0.0, 1.0)) for i in ins]
        mu = [a for a, _ in st]
        m = [b for _, b in st]
        if op_type == "Conv":
            w = self.shape[ins[1]]
            bias = st[2] if len(st) > 2 else (0.0, 0.0)
            return bias[0], w[1] * w[2] * w[3] * m[1] * m[0] + bias[1]
        if op_type == "Gemm":
            bias = st[2] if len(st) > 2 else (0.0, 0.0)
            return bias[0], self.shape[ins[1]][1] * m[1] * m[0] + bias[1]
        if op_type == "MatMul":
            return 0.0, self.shape[ins[0]][-1] * m[0] * m[1]
        if op_type in ("Add", "Sub"):
            if ins[0] == ins[1]:
                return (2.0 * mu[0], 4.0 * m[0]) if op_type == "Add" else (0.0, 0.0)
            sign = 1.0 if op_type == "Add" else -1.0
            return mu[0] + sign * mu[1], m[0] + m[1] + 2.0 * sign * mu[0] * mu[1]
        if op_type == "Mul":
            return mu[0] * mu[1], m[0] * m[1]
        if op_type == "Relu":
            # Gaussian with the tracked mean and variance, rectified
            var = max(m[0] - mu[0] ** 2, 1e-12)
            sd = math.sqrt(var)
            z = mu[0] / sd
            cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
            pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
            return mu[0] * cdf + sd * pdf, (mu[0] ** 2 + var) * cdf + mu[0] * sd * pdf
        if op_type == "BatchNormalization":
            v = self.bn_var[ins[4]]
            return (mu[1] * mu[0] / math.sqrt(v) + mu[2],
                    m[1] * m[0] / v + m[2] + 2.0 * mu[1] * mu[2] * mu[0] / math.sqrt(v))
        if op_type == "AveragePool":
            if attrs["kernel_shape"][0] == 1:
                return st[0]
            return mu[0], mu[0] ** 2 + 0.6 * (m[0] - mu[0] ** 2)
        if op_type == "MaxPool":
            return mu[0] + 0.5 * math.sqrt(max(m[0] - mu[0] ** 2, 0.0)), 1.5 * m[0]
        if op_type == "GlobalAveragePool":
            return mu[0], mu[0] ** 2 + 0.3 * (m[0] - mu[0] ** 2)
        if op_type == "Concat" and all(i in self.shape for i in ins):
            ax = attrs["axis"]
            sz = [self.shape[i][ax] for i in ins]
            tot = max(sum(sz), 1)
            return (sum(a * n for a, n in zip(mu, sz)) / tot,
                    sum(a * n for a, n in zip(m, sz)) / tot)
        if op_type in ("Sigmoid", "Tanh", "LayerNormalization", "Softmax"):
            return 0.0, 1.0
        return st[0] if st else (0.0, 1.0)

    def const(self, value, dtype=np.int64):
        """A Constant node, as exporters emit for shapes, axes and scalars."""
        arr = np.array(value, dtype=dtype)
        nname = self.node_name("Constant")
        out = self._unique(nname + "_output_0")
        self.nodes.append(helper.make_node(
            "Constant", [], [out], name=nname, value=numpy_helper.from_array(arr, "value")))
        self.shape[out] = arr.shape
        self.dtype[out] = helper.np_dtype_to_tensor_dtype(arr.dtype)
        self.st[out] = _array_stats(arr)
        return out

    # ---- element-wise -----------------------------------------------------
    def binary(self, op_type, a, b):
        return self.op(op_type, [a, b], _bcast(self.shape[a], self.shape[b]))

    def add(self, a, b):
        return self.binary("Add", a, b)

    def mul(self, a, b):
        return self.binary("Mul", a, b)

    def unary(self, op_type, x, **attrs):
        return self.op(op_type, [x], self.shape[x], **attrs)

    def relu(self, x):
        return self.unary("Relu", x)

    def identity(self, x):
        return self.unary("Identity", x)

    def dropout(self, x, ratio=None):
        if ratio is None:
            return self.unary("Dropout", x)
        return self.op("Dropout", [x, self.const(ratio, np.float32)], self.shape[x])

    # ---- convolution / normalization / pooling --------------------------------
    def conv(self, x, cout, k, stride=1, pads=None, group=1, bias=False, std=None,
             dilation=1):
        n, cin, h, w = self.shape[x]
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        if pads is None:
            pads = (kh // 2 * dilation, kw // 2 * dilation) * 2
        assert cin % group == 0 and cout % group == 0
        fan_in = cin // group * kh * kw
        if std is None:
            std = math.sqrt(2.0 / fan_in)          # He / Kaiming normal
        wname = self.param("weight", self.normal((cout, cin // group, kh, kw), std))
        ins = [x, wname]
        if bias:
            ins.append(self.param("bias", self.normal((cout,), 0.01)))
        oh = _pool_out(h, kh, sh, pads[0], pads[2], d=dilation)
        ow = _pool_out(w, kw, sw, pads[1], pads[3], d=dilation)
        attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=list(pads),
                     dilations=[dilation, dilation], group=group)
        return self.op("Conv", ins, (n, cout, oh, ow), **attrs)

    def batchnorm(self, x, eps=1e-5, gamma=(0.8, 1.2)):
        c = self.shape[x][1]
        g = self.param("weight", self.uniform((c,), *gamma))
        b = self.param("bias", self.normal((c,), 0.05))
        # running statistics close to what the input will actually show
        scale = self.st.get(x, (0.0, 1.0))[1]
        m = self.param("running_mean", self.normal((c,), 0.05 * math.sqrt(scale)), stat=True)
        var = self.uniform((c,), 0.7, 1.4) * np.float32(scale)
        v = self.param("running_var", var, stat=True)
        self.bn_var[v] = float(np.mean(var, dtype=np.float64))
        return self.op("BatchNormalization", [x, g, b, m, v], self.shape[x], epsilon=eps,
                       momentum=0.9)

    def pool(self, op_type, x, k, stride, pads=(0, 0, 0, 0), ceil=False,
             count_include_pad=None):
        n, c, h, w = self.shape[x]
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=list(pads))
        if ceil:
            attrs["ceil_mode"] = 1
        if count_include_pad is not None:
            attrs["count_include_pad"] = int(count_include_pad)
        oh = _pool_out(h, k, stride, pads[0], pads[2], ceil)
        ow = _pool_out(w, k, stride, pads[1], pads[3], ceil)
        return self.op(op_type, [x], (n, c, oh, ow), **attrs)

    def maxpool(self, x, k, stride, pads=(0, 0, 0, 0), ceil=False):
        return self.pool("MaxPool", x, k, stride, pads, ceil)

    def avgpool(self, x, k, stride, pads=(0, 0, 0, 0), count_include_pad=False):
        return self.pool("AveragePool", x, k, stride, pads,
                         count_include_pad=1 if count_include_pad else None)

    def gap(self, x):
        n, c = self.shape[x][:2]
        return self.op("GlobalAveragePool", [x], (n, c, 1, 1))

    def flatten(self, x):
        s = self.shape[x]
        return self.op("Flatten", [x], (s[0], int(np.prod(s[1:]))), axis=1)

    def concat(self, xs, axis):
        s = list(self.shape[xs[0]])
        ax = axis % len(s)
        s[ax] = sum(self.shape[t][ax] for t in xs)
        return self.op("Concat", list(xs), tuple(s), axis=axis,
                       elem=self.dtype.get(xs[0], TensorProto.FLOAT))

    def gemm(self, x, nout, std=None, bias=True):
        """nn.Linear as exported for 2-D input: Gemm(x, W[out,in], b, transB=1)."""
        n, nin = self.shape[x]
        if std is None:
            std = 1.0 / math.sqrt(nin)
        w = self.param("weight", self.normal((nout, nin), std))
        ins = [x, w]
        if bias:
            ins.append(self.param("bias", self.normal((nout,), 0.01)))
        return self.op("Gemm", ins, (n, nout), alpha=1.0, beta=1.0, transB=1)

    # ---- tensor manipulation -------------------------------------------------
    def matmul(self, a, b):
        sa, sb = self.shape[a], self.shape[b]
        batch = _bcast(sa[:-2], sb[:-2])
        assert sa[-1] == sb[-2], (sa, sb)
        return self.op("MatMul", [a, b], batch + (sa[-2], sb[-1]))

    def linear(self, x, nout, std=None):
        """nn.Linear on N-D input: MatMul(x, W^T stored [in,out]) + Add(bias)."""
        nin = self.shape[x][-1]
        if std is None:
            std = 1.0 / math.sqrt(nin)
        w = self.param("weight", self.normal((nin, nout), std))
        y = self.matmul(x, w)
        b = self.param("bias", self.normal((nout,), 0.02))
        return self.add(y, b)

    def transpose(self, x, perm):
        s = self.shape[x]
        return self.op("Transpose", [x], tuple(s[p] for p in perm), perm=list(perm))

    def reshape(self, x, target, shape_tensor=None):
        """Reshape to `target` (static); the target tensor is a Constant unless
        a run-time computed shape tensor is supplied."""
        if shape_tensor is None:
            shape_tensor = self.const(list(target))
        return self.op("Reshape", [x, shape_tensor], tuple(target))

    def unsqueeze(self, x, axes):
        s = list(self.shape[x])
        for a in sorted(a % (len(s) + len(axes)) for a in axes):
            s.insert(a, 1)
        return self.op("Unsqueeze", [x, self.const(list(axes))], tuple(s),
                       elem=self.dtype.get(x, TensorProto.FLOAT))

    def squeeze(self, x, axes):
        s = self.shape[x]
        ax = {a % len(s) for a in axes}
        return self.op("Squeeze", [x, self.const(list(axes))],
                       tuple(d for i, d in enumerate(s) if i not in ax))

    def split(self, x, axis, sizes):
        s = list(self.shape[x])
        shapes = []
        for n in sizes:
            t = list(s)
            t[axis] = n
            shapes.append(tuple(t))
        return self.op("Split", [x, self.const(list(sizes))], None, n_out=len(sizes),
                       out_shapes=shapes, axis=axis)

    def shape_of(self, x):
        return self.op("Shape", [x], (len(self.shape[x]),), elem=TensorProto.INT64)

    def gather_scalar(self, data, index):
        return self.op("Gather", [data, self.const(index)], (), elem=TensorProto.INT64, axis=0)

    def layernorm(self, x, eps=1e-12):
        """LayerNormalization (opset >= 17) or the decomposition older exporters emit."""
        d = self.shape[x][-1]
        g = self.param("weight", self.uniform((d,), 0.9, 1.1))
        b = self.param("bias", self.normal((d,), 0.02))
        if self.opset >= 17:
            return self.op("LayerNormalization", [x, g, b], self.shape[x], axis=-1,
                           epsilon=eps)
        s = self.shape[x]
        red = s[:-1] + (1,)
        mean = self.op("ReduceMean", [x], red, axes=[-1], keepdims=1)
        xc = self.binary("Sub", x, mean)
        sq = self.binary("Pow", xc, self.const(2.0, np.float32))
        var = self.op("ReduceMean", [sq], red, axes=[-1], keepdims=1)
        ve = self.add(var, self.const(eps, np.float32))
        std = self.unary("Sqrt", ve)
        y = self.binary("Div", xc, std)
        return self.add(self.mul(y, g), b)

    # ---- finish -------------------------------------------------------------
    def model(self, doc=""):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                                  initializer=self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name=PRODUCER[0], producer_version=PRODUCER[1],
                              doc_string=doc)
        m.ir_version = IR_FOR_OPSET[self.opset]
        m.model_version = 1
        return m


def conv_bn(b, x, cout, k, stride=1, pads=None, group=1, relu=True, eps=1e-5,
            gamma=(0.8, 1.2), name="conv"):
    """Conv (no bias) -> BatchNormalization [-> Relu]  (PyTorch style names)."""
    with b.scope(name):
        y = b.conv(x, cout, k, stride, pads, group)
    with b.scope(name.replace("conv", "bn") if "conv" in name else name + ".bn"):
        y = b.batchnorm(y, eps=eps, gamma=gamma)
    if relu:
        with b.scope(name):
            y = b.relu(y)
    return y


def classifier(b, x, ncls=1000, drop=False):
    with b.scope("classifier"):
        y = b.flatten(b.gap(x))
        if drop:
            y = b.dropout(y)
    with b.scope("fc"):
        return b.gemm(y, ncls)


# --------------------------------------------------------------------------
# ResNet-50 v1.5 and ResNeXt-50 32x4d
# --------------------------------------------------------------------------

def _resnet(name, opset, seed, groups, width_per_group):
    b = Builder(name, opset, seed)
    x = b.input("input", (1, 3, 224, 224))
    y = conv_bn(b, x, 64, 7, 2, (3, 3, 3, 3), name="conv1")
    with b.scope("maxpool"):
        y = b.maxpool(y, 3, 2, (1, 1, 1, 1))
    cin = 64
    for li, (planes, blocks, stride) in enumerate(
            [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
        width = planes * width_per_group // 64 * groups
        cout = planes * 4
        for bi in range(blocks):
            s = stride if bi == 0 else 1
            with b.scope("layer%d.%d" % (li, bi)):
                t = conv_bn(b, y, width, 1, 1, name="conv1")
                # v1.5: the stride sits on the 3x3 convolution
                t = conv_bn(b, t, width, 3, s, group=groups, name="conv2")
                # small gamma on the last BN keeps the residual stream O(1)
                t = conv_bn(b, t, cout, 1, 1, relu=False, gamma=(0.2, 0.4), name="conv3")
                if s != 1 or cin != cout:
                    with b.scope("downsample"):
                        sc = conv_bn(b, y, cout, 1, s, relu=False, name="0")
                else:
                    sc = y
                y = b.relu(b.add(t, sc))
            cin = cout
    b.output(classifier(b, y), "logits")
    return b


def build_resnet50(opset, seed):
    return _resnet("resnet50", opset, seed, groups=1, width_per_group=64)


def build_resnext50(opset, seed):
    return _resnet("resnext50", opset, seed, groups=32, width_per_group=4)


# --------------------------------------------------------------------------
# Inception-v3 (no auxiliary head)
# --------------------------------------------------------------------------

def build_inception_v3(opset, seed):
    b = Builder("inception_v3", opset, seed)
    eps = 1e-3

    def cbr(x, cout, k, stride=1, pads=(0, 0, 0, 0), name="conv"):
        with b.scope(name):
            return conv_bn(b, x, cout, k, stride, pads, eps=eps, name="conv")

    def p(kh, kw):
        return (kh // 2, kw // 2, kh // 2, kw // 2)

    def avg_branch(x, cout, name):
        with b.scope(name):
            t = b.avgpool(x, 3, 1, (1, 1, 1, 1), count_include_pad=True)
        return cbr(t, cout, 1, name=name)

    def block_a(x, pool_features):
        b1 = cbr(x, 64, 1, name="branch1x1")
        b5 = cbr(x, 48, 1, name="branch5x5_1")
        b5 = cbr(b5, 64, 5, pads=p(5, 5), name="branch5x5_2")
        b3 = cbr(x, 64, 1, name="branch3x3dbl_1")
        b3 = cbr(b3, 96, 3, pads=p(3, 3), name="branch3x3dbl_2")
        b3 = cbr(b3, 96, 3, pads=p(3, 3), name="branch3x3dbl_3")
        bp = avg_branch(x, pool_features, "branch_pool")
        return b.concat([b1, b5, b3, bp], 1)

    def block_b(x):
        b3 = cbr(x, 384, 3, 2, name="branch3x3")
        bd = cbr(x, 64, 1, name="branch3x3dbl_1")
        bd = cbr(bd, 96, 3, pads=p(3, 3), name="branch3x3dbl_2")
        bd = cbr(bd, 96, 3, 2, name="branch3x3dbl_3")
        with b.scope("branch_pool"):
            bp = b.maxpool(x, 3, 2)
        return b.concat([b3, bd, bp], 1)

    def block_c(x, c7):
        b1 = cbr(x, 192, 1, name="branch1x1")
        b7 = cbr(x, c7, 1, name="branch7x7_1")
        b7 = cbr(b7, c7, (1, 7), pads=p(1, 7), name="branch7x7_2")
        b7 = cbr(b7, 192, (7, 1), pads=p(7, 1), name="branch7x7_3")
        bd = cbr(x, c7, 1, name="branch7x7dbl_1")
        bd = cbr(bd, c7, (7, 1), pads=p(7, 1), name="branch7x7dbl_2")
        bd = cbr(bd, c7, (1, 7), pads=p(1, 7), name="branch7x7dbl_3")
        bd = cbr(bd, c7, (7, 1), pads=p(7, 1), name="branch7x7dbl_4")
        bd = cbr(bd, 192, (1, 7), pads=p(1, 7), name="branch7x7dbl_5")
        bp = avg_branch(x, 192, "branch_pool")
        return b.concat([b1, b7, bd, bp], 1)

    def block_d(x):
        b3 = cbr(x, 192, 1, name="branch3x3_1")
        b3 = cbr(b3, 320, 3, 2, name="branch3x3_2")
        b7 = cbr(x, 192, 1, name="branch7x7x3_1")
        b7 = cbr(b7, 192, (1, 7), pads=p(1, 7), name="branch7x7x3_2")
        b7 = cbr(b7, 192, (7, 1), pads=p(7, 1), name="branch7x7x3_3")
        b7 = cbr(b7, 192, 3, 2, name="branch7x7x3_4")
        with b.scope("branch_pool"):
            bp = b.maxpool(x, 3, 2)
        return b.concat([b3, b7, bp], 1)

    def block_e(x):
        b1 = cbr(x, 320, 1, name="branch1x1")
        b3 = cbr(x, 384, 1, name="branch3x3_1")
        b3 = b.concat([cbr(b3, 384, (1, 3), pads=p(1, 3), name="branch3x3_2a"),
                       cbr(b3, 384, (3, 1), pads=p(3, 1), name="branch3x3_2b")], 1)
        bd = cbr(x, 448, 1, name="branch3x3dbl_1")
        bd = cbr(bd, 384, 3, pads=p(3, 3), name="branch3x3dbl_2")
        bd = b.concat([cbr(bd, 384, (1, 3), pads=p(1, 3), name="branch3x3dbl_3a"),
                       cbr(bd, 384, (3, 1), pads=p(3, 1), name="branch3x3dbl_3b")], 1)
        bp = avg_branch(x, 192, "branch_pool")
        return b.concat([b1, b3, bd, bp], 1)

    x = b.input("input", (1, 3, 299, 299))
    y = cbr(x, 32, 3, 2, name="Conv2d_1a_3x3")             # 149
    y = cbr(y, 32, 3, name="Conv2d_2a_3x3")                # 147
    y = cbr(y, 64, 3, pads=p(3, 3), name="Conv2d_2b_3x3")  # 147
    with b.scope("maxpool1"):
        y = b.maxpool(y, 3, 2)                             # 73
    y = cbr(y, 80, 1, name="Conv2d_3b_1x1")
    y = cbr(y, 192, 3, name="Conv2d_4a_3x3")               # 71
    with b.scope("maxpool2"):
        y = b.maxpool(y, 3, 2)                             # 35
    for nm, pf in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        with b.scope(nm):
            y = block_a(y, pf)
    with b.scope("Mixed_6a"):
        y = block_b(y)                                     # 17
    for nm, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        with b.scope(nm):
            y = block_c(y, c7)
    with b.scope("Mixed_7a"):
        y = block_d(y)                                     # 8
    for nm in ("Mixed_7b", "Mixed_7c"):
        with b.scope(nm):
            y = block_e(y)
    assert b.shape[y] == (1, 2048, 8, 8), b.shape[y]
    b.output(classifier(b, y, drop=True), "logits")
    return b


# --------------------------------------------------------------------------
# SqueezeNet 1.1
# --------------------------------------------------------------------------

def build_squeezenet11(opset, seed):
    b = Builder("squeezenet11", opset, seed)

    def conv_relu(x, cout, k, stride=1, pads=None, name="conv"):
        with b.scope(name):
            return b.relu(b.conv(x, cout, k, stride, pads, bias=True))

    def fire(x, s, e1, e3):
        sq = conv_relu(x, s, 1, name="squeeze")
        return b.concat([conv_relu(sq, e1, 1, name="expand1x1"),
                         conv_relu(sq, e3, 3, name="expand3x3")], 1)

    x = b.input("input", (1, 3, 224, 224))
    with b.scope("features"):
        y = conv_relu(x, 64, 3, 2, (0, 0, 0, 0), name="0")          # 111
        idx = 2
        plan = ["M", (16, 64), (16, 64), "M", (32, 128), (32, 128), "M",
                (48, 192), (48, 192), (64, 256), (64, 256)]
        for item in plan:
            with b.scope(str(idx)):
                if item == "M":
                    y = b.maxpool(y, 3, 2, ceil=True)
                else:
                    y = fire(y, item[0], item[1], item[1])
            idx += 1
    assert b.shape[y] == (1, 512, 13, 13), b.shape[y]
    with b.scope("classifier"):
        y = b.dropout(y)
        with b.scope("1"):
            y = b.relu(b.conv(y, 1000, 1, bias=True, std=math.sqrt(1.0 / 512)))
        y = b.flatten(b.gap(y))
    b.output(y, "logits")
    return b


# --------------------------------------------------------------------------
# NASNet-A mobile (4 @ 1056)
# --------------------------------------------------------------------------

def build_nasnet_mobile(opset, seed):
    b = Builder("nasnet_mobile", opset, seed)
    eps = 1e-3
    num_filters = 44           # penultimate filters 1056 = 24 * 44
    cells_per_stack = 4

    def bn(x):
        with b.scope("bn"):
            return b.batchnorm(x, eps=eps)

    def sep_conv(x, cout, k, stride):
        """NASNet separable block, stacked twice:
        (relu -> depthwise kxk -> pointwise 1x1 -> BN) x 2; stride on the first."""
        y = x
        for i in range(2):
            s = stride if i == 0 else 1
            with b.scope("separable_%d" % (i + 1)):
                y = b.relu(y)
                c, h, w = b.shape[y][1:]
                p0, p1, _ = same_pads(h, k, s)
                q0, q1, _ = same_pads(w, k, s)
                with b.scope("depthwise"):
                    y = b.conv(y, c, k, s, (p0, q0, p1, q1), group=c,
                               std=math.sqrt(2.0 / (k * k)))
                with b.scope("pointwise"):
                    y = b.conv(y, cout, 1, 1, (0, 0, 0, 0), std=math.sqrt(1.0 / c))
                y = bn(y)
        return y

    def pool(kind, x, stride):
        h, w = b.shape[x][2:]
        p0, p1, _ = same_pads(h, 3, stride)
        q0, q1, _ = same_pads(w, 3, stride)
        if kind == "max":
            return b.maxpool(x, 3, stride, (p0, q0, p1, q1))
        # TF 'SAME' average pooling does not count the padding
        return b.avgpool(x, 3, stride, (p0, q0, p1, q1), count_include_pad=False)

    def relu_conv_bn(x, cout):
        y = b.relu(x)
        with b.scope("conv"):
            y = b.conv(y, cout, 1, 1, (0, 0, 0, 0))
        return bn(y)

    def factorized_reduction(x, cout):
        """Halve the spatial size of the previous cell's output: two 1x1
        convolutions on stride-2 samples offset by one pixel, concatenated."""
        y = b.relu(x)
        n, c, h, w = b.shape[y]
        with b.scope("path1"):
            p1 = b.avgpool(y, 1, 2)
            with b.scope("conv"):
                p1 = b.conv(p1, cout // 2, 1, 1, (0, 0, 0, 0))
        with b.scope("path2"):
            padded = b.op("Pad", [y, b.const([0, 0, 0, 0, 0, 0, 1, 1])], (n, c, h + 1, w + 1),
                          mode="constant")
            shifted = b.op("Slice", [padded, b.const([1, 1]), b.const([INT64_MAX, INT64_MAX]),
                                     b.const([2, 3])], (n, c, h, w))
            p2 = b.avgpool(shifted, 1, 2)
            with b.scope("conv"):
                p2 = b.conv(p2, cout - cout // 2, 1, 1, (0, 0, 0, 0))
        return bn(b.concat([p1, p2], 1))

    def cell_base(cur, prev, filters):
        if prev is None:
            prev = cur
        with b.scope("prev_1x1"):
            if b.shape[prev][2] != b.shape[cur][2]:
                prev = factorized_reduction(prev, filters)
            elif b.shape[prev][1] != filters:
                prev = relu_conv_bn(prev, filters)
        with b.scope("cur_1x1"):
            cur = relu_conv_bn(cur, filters)
        return cur, prev

    def normal_cell(cur, prev, filters):
        h, p = cell_base(cur, prev, filters)
        comb = []
        with b.scope("comb_iter_0"):
            with b.scope("left"):
                l = sep_conv(h, filters, 5, 1)
            with b.scope("right"):
                r = sep_conv(p, filters, 3, 1)
            comb.append(b.add(l, r))
        with b.scope("comb_iter_1"):
            with b.scope("left"):
                l = sep_conv(p, filters, 5, 1)
            with b.scope("right"):
                r = sep_conv(p, filters, 3, 1)
            comb.append(b.add(l, r))
        with b.scope("comb_iter_2"):
            with b.scope("left"):
                l = pool("avg", h, 1)
            comb.append(b.add(l, p))
        with b.scope("comb_iter_3"):
            with b.scope("left"):
                l = pool("avg", p, 1)
            with b.scope("right"):
                r = pool("avg", p, 1)
            comb.append(b.add(l, r))
        with b.scope("comb_iter_4"):
            with b.scope("left"):
                l = sep_conv(h, filters, 3, 1)
            comb.append(b.add(l, h))
        return b.concat([p] + comb, 1)

    def reduction_cell(cur, prev, filters):
        h, p = cell_base(cur, prev, filters)
        with b.scope("comb_iter_0"):
            with b.scope("left"):
                l = sep_conv(h, filters, 5, 2)
            with b.scope("right"):
                r = sep_conv(p, filters, 7, 2)
            c0 = b.add(l, r)
        with b.scope("comb_iter_1"):
            with b.scope("left"):
                l = pool("max", h, 2)
            with b.scope("right"):
                r = sep_conv(p, filters, 7, 2)
            c1 = b.add(l, r)
        with b.scope("comb_iter_2"):
            with b.scope("left"):
                l = pool("avg", h, 2)
            with b.scope("right"):
                r = sep_conv(p, filters, 5, 2)
            c2 = b.add(l, r)
        with b.scope("comb_iter_3"):
            with b.scope("right"):
                r = pool("avg", c0, 1)
            c3 = b.add(c1, r)
        with b.scope("comb_iter_4"):
            with b.scope("left"):
                l = sep_conv(c0, filters, 3, 1)
            with b.scope("right"):
                r = pool("max", h, 2)
            c4 = b.add(l, r)
        return b.concat([c1, c2, c3, c4], 1)

    x = b.input("input", (1, 3, 224, 224))
    with b.scope("conv0"):
        y = b.conv(x, 32, 3, 2, (0, 0, 0, 0))                # 111 ('VALID')
        y = bn(y)
    outputs = [y]
    with b.scope("cell_stem_0"):
        outputs.append(reduction_cell(outputs[-1], None, num_filters // 4))       # 56
    with b.scope("cell_stem_1"):
        outputs.append(reduction_cell(outputs[-1], outputs[-2], num_filters // 2))  # 28
    filters = num_filters
    cell = 0
    for stack in range(3):
        if stack > 0:
            filters *= 2
            with b.scope("reduction_cell_%d" % (stack - 1)):
                outputs.append(reduction_cell(outputs[-1], outputs[-2], filters))
        for i in range(cells_per_stack):
            # previous input = output two cells back; for the first normal cell
            # after a reduction that is the last cell *before* the reduction,
            # brought to the new resolution by a factorized reduction
            with b.scope("cell_%d" % cell):
                outputs.append(normal_cell(outputs[-1], outputs[-2], filters))
            cell += 1
    y = outputs[-1]
    assert b.shape[y] == (1, 1056, 7, 7), b.shape[y]
    y = b.relu(y)
    b.output(classifier(b, y, drop=True), "logits")
    return b


# --------------------------------------------------------------------------
# NasRNN (the NAS-discovered recurrent cell, TASO's NasRNN benchmark)
# --------------------------------------------------------------------------

def build_nasrnn(opset, seed, steps=5, hidden=512):
    b = Builder("nasrnn", opset, seed)
    x = b.input("x", (steps, 1, hidden))      # [seq, batch, feature], as nn.RNN
    h = b.input("h0", (1, hidden))
    # shared (recurrent) weights: 8 input projections (Gemm, transB) and 8
    # hidden projections (MatMul with a pre-transposed weight)
    wx, bx, wh = [], [], []
    # scales: x is uniform in [-1,1] (mean square 1/3) and h in (-1,1) is
    # mostly small, so pre-activations come out with unit-order variance
    with b.scope("cell"):
        for i in range(8):
            with b.scope("x_proj%d" % i):
                wx.append(b.param("weight", b.normal((hidden, hidden), math.sqrt(3.0 / hidden))))
                bx.append(b.param("bias", b.normal((hidden,), 0.1)))
            with b.scope("h_proj%d" % i):
                wh.append(b.param("weight", b.normal((hidden, hidden), 2.0 / math.sqrt(hidden))))
    xs = b.split(x, 0, [1] * steps)
    ys = []
    for t in range(steps):
        with b.scope("step%d" % t):
            xt = b.squeeze(xs[t], [0])
            a = []
            for i in range(8):
                with b.scope("gate%d" % i):
                    gx = b.op("Gemm", [xt, wx[i], bx[i]], (1, hidden), transB=1)
                    a.append(b.add(gx, b.matmul(h, wh[i])))
            u = b.unary
            m0 = b.add(u("Relu", a[0]), u("Sigmoid", a[3]))
            m1 = b.add(u("Sigmoid", a[1]), u("Tanh", a[2]))
            m2 = b.mul(u("Sigmoid", a[4]), u("Tanh", a[5]))
            m3 = b.mul(u("Sigmoid", a[6]), u("Relu", a[7]))
            m4 = b.add(u("Sigmoid", m1), u("Tanh", m2))
            m5 = b.mul(u("Tanh", m0), u("Tanh", m3))
            m6 = b.mul(u("Tanh", m4), u("Tanh", m5))
            h = u("Tanh", m6)
            ys.append(b.unsqueeze(h, [0]))
    with b.scope("output"):
        y = b.concat(ys, 0)
        hn = b.identity(h)
    b.output(y, "output")
    b.output(hn, "h_n")
    return b


# --------------------------------------------------------------------------
# BERT encoders
# --------------------------------------------------------------------------

def _bert(name, opset, seed, layers, hidden, heads, seq, ffn=None):
    ffn = ffn or 4 * hidden
    dh = hidden // heads
    b = Builder(name, opset, seed)
    x = b.input("embeddings", (1, seq, hidden))
    with b.scope("embeddings"):
        x = b.dropout(b.layernorm(x), ratio=0.1)
    for li in range(layers):
        with b.scope("encoder.layer.%d" % li):
            with b.scope("attention.self"):
                # target shape [batch, seq, heads, head_dim], batch and seq read
                # from the tensor at run time (PyTorch exporter style)
                shp = b.shape_of(x)
                bsz = b.unsqueeze(b.gather_scalar(shp, 0), [0])
                sl = b.unsqueeze(b.gather_scalar(shp, 1), [0])
                tgt = b.concat([bsz, sl, b.const([heads]), b.const([dh])], 0)
                heads_shape = (1, seq, heads, dh)

                def proj(nm, perm):
                    with b.scope(nm):
                        t = b.linear(x, hidden)
                        t = b.reshape(t, heads_shape, tgt)
                        return b.transpose(t, perm)

                q = proj("query", (0, 2, 1, 3))
                k = proj("key", (0, 2, 3, 1))
                v = proj("value", (0, 2, 1, 3))
                s = b.matmul(q, k)
                s = b.binary("Div", s, b.const(math.sqrt(dh), np.float32))
                pr = b.op("Softmax", [s], b.shape[s], axis=-1)
                pr = b.dropout(pr)
                c = b.matmul(pr, v)
                c = b.transpose(c, (0, 2, 1, 3))
                c = b.reshape(c, (1, seq, hidden))
            with b.scope("attention.output"):
                with b.scope("dense"):
                    o = b.linear(c, hidden)
                o = b.dropout(o)
                with b.scope("LayerNorm"):
                    x = b.layernorm(b.add(o, x))
            with b.scope("intermediate.dense"):
                f = b.linear(x, ffn)
            with b.scope("intermediate.gelu"):
                # exact GELU as exported from torch: x * 0.5 * (1 + erf(x / sqrt(2)))
                e = b.unary("Erf", b.binary("Div", f, b.const(math.sqrt(2.0), np.float32)))
                e = b.add(e, b.const(1.0, np.float32))
                f = b.mul(b.mul(f, e), b.const(0.5, np.float32))
            with b.scope("output"):
                with b.scope("dense"):
                    o = b.linear(f, hidden, std=1.0 / math.sqrt(ffn))
                o = b.dropout(o)
                with b.scope("LayerNorm"):
                    x = b.layernorm(b.add(o, x))
    with b.scope("last_hidden_state"):
        x = b.identity(x)
    b.output(x, "last_hidden_state")
    return b


def build_bert_base(opset, seed):
    return _bert("bert_base", opset, seed, layers=12, hidden=768, heads=12, seq=128)


def build_bert_taso(opset, seed):
    return _bert("bert_taso", opset, seed, layers=8, hidden=1024, heads=16, seq=64)


# --------------------------------------------------------------------------
# small example model (bundled as data/example.onnx)
# --------------------------------------------------------------------------

def build_example(opset, seed):
    b = Builder("example", opset, seed)
    x = b.input("input", (1, 3, 32, 32))
    y = conv_bn(b, x, 16, 3, name="conv1")
    y = b.identity(y)
    left = conv_bn(b, y, 16, 3, name="conv_left")
    right = conv_bn(b, y, 16, 1, name="conv_right")
    with b.scope("dead"):
        # nothing consumes this branch: dead-code elimination removes it
        b.relu(b.conv(right, 8, 1))
    y = b.concat([left, right], 1)
    y = conv_bn(b, y, 32, 3, 2, name="conv2")
    b.output(classifier(b, y, ncls=10), "logits")
    return b


MODELS = {
    "resnet50": (build_resnet50, "ResNet-50 v1.5, 224x224"),
    "resnext50": (build_resnext50, "ResNeXt-50 32x4d, 224x224"),
    "inception_v3": (build_inception_v3, "Inception-v3 without aux head, 299x299"),
    "squeezenet11": (build_squeezenet11, "SqueezeNet 1.1, 224x224"),
    "nasnet_mobile": (build_nasnet_mobile, "NASNet-A mobile 4@1056, 224x224"),
    "nasrnn": (build_nasrnn, "NAS RNN cell unrolled 5 steps, hidden 512"),
    "bert_base": (build_bert_base, "BERT-base encoder, 12x768, 12 heads, seq 128"),
    "bert_taso": (build_bert_taso, "BERT encoder, 8x1024, 16 heads, seq 64"),
}


def model_seed(name):
    return zlib.crc32(("taso-bench/" + name).encode())


def build(name, opset):
    fn = build_example if name == "example" else MODELS[name][0]
    desc = "small example model" if name == "example" else MODELS[name][1]
    b = fn(opset, model_seed(name))
    doc = "taso benchmark model '%s': %s; random weights (seed %d)" % (
        name, desc, model_seed(name))
    return b, b.model(doc)


# --------------------------------------------------------------------------
# checking
# --------------------------------------------------------------------------

def check(path, model):
    """onnx checker (full) + one onnxruntime run with finite outputs."""
    onnx.checker.check_model(path, full_check=True)
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        feeds[i.name] = rng.uniform(-1, 1, size=i.shape).astype(np.float32)
    t = time.perf_counter()
    outs = sess.run(None, feeds)
    dt = time.perf_counter() - t
    stats = []
    for o, v in zip(sess.get_outputs(), outs):
        if not np.all(np.isfinite(v)):
            raise RuntimeError("%s: output %s is not finite" % (path, o.name))
        stats.append("%s%s std=%.3g max=%.3g" % (o.name, list(v.shape), float(v.std()),
                                                 float(np.abs(v).max())))
    return dt, stats


def fmt_size(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


def write(name, path, opset, do_check):
    t0 = time.perf_counter()
    b, model = build(name, opset)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = model.SerializeToString()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    dt = time.perf_counter() - t0
    print("%-14s nodes=%5d  params=%11s (%.2fM)  bn_stats=%7d  size=%9s  build=%.2fs" % (
        name, len(model.graph.node), "{:,}".format(b.n_params), b.n_params / 1e6,
        b.n_stats, fmt_size(len(data)), dt), flush=True)
    if do_check:
        rt, stats = check(path, model)
        print("    check ok: ort %.3fs; %s" % (rt, "; ".join(stats)), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="models: " + ", ".join(MODELS))
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "models"),
                    help="output folder (default: bench/models/)")
    ap.add_argument("--only", default=None,
                    help="comma-separated model names to build (default: all)")
    ap.add_argument("--opset", type=int, default=17,
                    help="ONNX opset, %d..%d (default 17)" % (MIN_OPSET, MAX_OPSET))
    ap.add_argument("--example", metavar="PATH", default=None,
                    help="write the small example model to PATH; the benchmark "
                         "models are then only built if --only is also given")
    ap.add_argument("--check", action="store_true",
                    help="run onnx.checker (full) and onnxruntime on every file written")
    args = ap.parse_args(argv)

    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        ap.error("--opset must be in %d..%d" % (MIN_OPSET, MAX_OPSET))
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in MODELS]
        if bad:
            ap.error("unknown model(s): %s (known: %s)" % (", ".join(bad), ", ".join(MODELS)))
    else:
        names = [] if args.example else list(MODELS)

    if args.example:
        write("example", args.example, args.opset, args.check)
    for n in names:
        write(n, os.path.join(args.out, n + ".onnx"), args.opset, args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
