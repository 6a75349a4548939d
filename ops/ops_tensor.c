/*
** ops_tensor.c -- data-movement operators: ONNX attribute parsing and
** writing, shape and type inference, and the reference kernels of
** Transpose Concat Split Reshape Flatten Squeeze Unsqueeze Identity Dropout
** Constant Pad Shape Gather Slice, and the opaque placeholder. The
** element-wise operators are in ops_elem.c, the shared helpers in
** ops_util.c.
**
** Invariants:
**   - parse() accepts only the attribute names its opset defines (up to
**     TSO_OPSET_MAX, and down to the first opset whose form of the
**     operator it implements exactly: 1 for most, 2 Pad, 5 Reshape, 7
**     Dropout) and refuses, with TSO_ERR_UNSUPPORTED, whatever it could get
**     wrong; for every p that parse() produces, parse(emit(p)) == p.
**   - infer() reads input data only through non-NULL pointers; what it
**     cannot determine becomes an unknown rank (-1) or dimension (-1),
**     never an error.
**   - An optional input is absent when its index is >= nin or it has neither
**     a type nor data (dtype TSO_DT_UNDEFINED, data NULL: how the graph hands
**     over a missing input; tsoO_absent). A required argument input
**     (Reshape's shape, Slice's starts/ends, Pad's pads, Unsqueeze's axes)
**     of unknown type is merely unknown. At eval time every present input
**     has data.
**   - eval() moves elements of tsoO_dtype_size() bytes, so data movement
**     works for every fixed-size dtype.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops_impl.h"

#define ALLOWZERO(p) ((p)->reshape.allowzero)
#define NSIZES_MAX ((int)(sizeof ((tsoO_Params *)0)->split.sizes / sizeof(int32_t)))
#define NPADS_MAX (2 * TSO_MAX_RANK)

/* ======================================================================
** Inference and evaluation helpers
** ====================================================================== */

/* Fails (UNSUPPORTED) for a dtype whose elements have no fixed size;
** dtype 0 (unknown) passes. */
static tso_status movable(int dtype, const char *op, char *err) {
  if (dtype != TSO_DT_UNDEFINED && tsoO_dtype_size(dtype) == 0)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s not handled", op,
                     tsoO_dtype_name(dtype));
  return TSO_OK;
}

/* Copies input 0 to output 0 byte for byte (reshaping operators). */
static tso_status eval_copy(int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                            const char *op, char *err) {
  tso_status st;
  if (nin < 1 || nout < 1) return tsoO_fail(err, TSO_ERR_ARG, "%s: missing value", op);
  if ((st = tsoO_need(&in[0], op, err)) || (st = tsoO_need(&out[0], op, err))) return st;
  int64_t n = tsoO_numel(&in[0].shape);
  if (n != tsoO_numel(&out[0].shape) || in[0].dtype != out[0].dtype)
    return tsoO_fail(err, TSO_ERR_ARG, "%s: output does not match input", op);
  if (n > 0) memcpy(out[0].data, in[0].data, (size_t)n * tsoO_dtype_size(in[0].dtype));
  return TSO_OK;
}

/* ======================================================================
** OPAQUE and CONSTANT
** ====================================================================== */

/* Opaque nodes are handled by the graph code: nothing here applies. */
tso_status tsoO_parse_OPAQUE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                             int opset, char *err) {
  (void)p; (void)a; (void)na; (void)nin; (void)nout; (void)opset;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "opaque: no parameters to parse");
}

/* See tsoO_parse_OPAQUE. */
tso_status tsoO_emit_OPAQUE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p; (void)opset; (void)out;
  return TSO_ERR_UNSUPPORTED;
}

/* See tsoO_parse_OPAQUE. */
tso_status tsoO_infer_OPAQUE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "opaque: no shape inference");
}

/* See tsoO_parse_OPAQUE. */
tso_status tsoO_eval_OPAQUE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "opaque: no kernel");
}

/* Constant: the importer turns 'value' (or value_*) into tensor data
** itself, so any attributes are accepted and no parameter is set. */
tso_status tsoO_parse_CONSTANT(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                               int opset, char *err) {
  (void)p; (void)a; (void)na; (void)nin; (void)nout; (void)opset; (void)err;
  return TSO_OK;
}

/* Constant: no parameters; the exporter writes the tensor as 'value'. */
tso_status tsoO_emit_CONSTANT(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p; (void)opset;
  memset(out, 0, sizeof *out);
  return TSO_OK;
}

/* Constant: the output tensor already carries its shape and data. */
tso_status tsoO_infer_CONSTANT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               tsoO_Value *out, char *err) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "constant: its tensor carries shape and data");
}

/* See tsoO_infer_CONSTANT. */
tso_status tsoO_eval_CONSTANT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  (void)p; (void)nin; (void)in; (void)nout; (void)out;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "constant: its tensor carries shape and data");
}

/* ======================================================================
** Identity and Dropout
** ====================================================================== */

/* Identity: output = input, any fixed-size type. */
tso_status tsoO_parse_IDENTITY(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                               int opset, char *err) {
  (void)p; (void)nin; (void)nout;
  return tsoO_parse_begin(opset, 1, a, na, NULL, "identity", err);
}

/* Identity has no attributes. */
tso_status tsoO_emit_IDENTITY(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p;
  return tsoO_emit_begin(out, opset, 1);
}

/* Identity: the output is the input's type and shape. */
tso_status tsoO_infer_IDENTITY(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               tsoO_Value *out, char *err) {
  (void)p;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, "identity", err);
  if (st || (st = movable(in[0].dtype, "identity", err))) return st;
  return tsoO_set_out(&out[0], in[0].dtype, &in[0].shape, "identity", err);
}

/* Identity: copies the input. */
tso_status tsoO_eval_IDENTITY(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  (void)p;
  return eval_copy(nin, in, nout, out, "identity", err);
}

/* Dropout, inference only: opset < 12 'ratio' (and a legacy 'is_test',
** which must not be 0); opset >= 12 'seed' (ignored: inference draws
** nothing), ratio and training_mode are inputs. Before opset 10 the mask
** had the input's type: a two-output node there is refused. */
tso_status tsoO_parse_DROPOUT(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                              int opset, char *err) {
  static const char *const old[] = {"ratio", "is_test", NULL}, *const now[] = {"seed", NULL};
  int64_t v;
  float r;
  tso_status st = tsoO_parse_begin(opset, 7, a, na, opset < 12 ? old : now, "dropout", err);
  (void)nin;
  if (st) return st;
  if (opset < 10 && nout > 1)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "dropout: mask output before opset 10");
  if ((st = tsoO_attr_int(a, na, "is_test", 1, 0, 1, &v, "dropout", err))) return st;
  if (v == 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "dropout: training mode (is_test=0)");
  if ((st = tsoO_attr_int(a, na, "seed", 0, INT64_MIN, INT64_MAX, &v, "dropout", err)) ||
      (st = tsoO_attr_float(a, na, "ratio", 0.5f, &r, "dropout", err)))
    return st;
  if (!(r >= 0.0f && r < 1.0f))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "dropout: ratio %g outside [0, 1)", (double)r);
  p->dropout.ratio = r;
  return TSO_OK;
}

/* Writes 'ratio' below opset 12 when it is not the default 0.5; from 12 on
** the ratio is an input and nothing is written. */
tso_status tsoO_emit_DROPOUT(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 7);
  if (!st && opset < 12 && p->dropout.ratio != 0.5f)
    st = tsoO_put_float(out, "ratio", p->dropout.ratio);
  return st;
}

/* Reads a constant training_mode: *on 1 when true, 0 when false or absent,
** -1 when unknown. */
static tso_status dropout_training(int nin, const tsoO_Value *in, int *on, char *err) {
  char b[TSO_SHAPESTR];
  *on = 0;
  if (tsoO_absent(nin, in, 2)) return TSO_OK;
  const tsoO_Value *t = &in[2];
  if (t->dtype != TSO_DT_BOOL && t->dtype != TSO_DT_UNDEFINED)
    return tsoO_fail(err, TSO_ERR_SHAPE, "dropout: training_mode must be bool, not %s",
                     tsoO_dtype_name(t->dtype));
  if (t->shape.rank >= 0 && tsoO_numel(&t->shape) != 1 && tsoO_shape_known(&t->shape))
    return tsoO_fail(err, TSO_ERR_SHAPE, "dropout: training_mode has shape %s, not []",
                     tsoO_shape_str(&t->shape, b, sizeof b));
  if (!t->data || t->dtype != TSO_DT_BOOL || tsoO_numel(&t->shape) != 1) *on = -1;
  else *on = *(const uint8_t *)t->data != 0;
  return TSO_OK;
}

/* 1 when Dropout's ratio input is a constant 0 (float32 or float64): then
** training mode keeps every element, which is computed exactly. */
static int dropout_ratio_zero(int nin, const tsoO_Value *in) {
  if (tsoO_absent(nin, in, 1) || !in[1].data || tsoO_numel(&in[1].shape) != 1) return 0;
  if (in[1].dtype == TSO_DT_FLOAT) return *(const float *)in[1].data == 0.0f;
  if (in[1].dtype == TSO_DT_DOUBLE) return *(const double *)in[1].data == 0.0;
  return 0;
}

/* Dropout: output 0 is the input; the optional mask output is bool of the
** same shape. A constant true training_mode is TSO_ERR_UNSUPPORTED unless
** the ratio is a constant 0. */
tso_status tsoO_infer_DROPOUT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  int on;
  (void)p;
  tso_status st = tsoO_arity(nin, 1, 3, nout, 1, 2, "dropout", err);
  if (st || (st = movable(in[0].dtype, "dropout", err))) return st;
  if (!tsoO_absent(nin, in, 1) && in[1].shape.rank > 0 && tsoO_numel(&in[1].shape) != 1 &&
      tsoO_shape_known(&in[1].shape))
    return tsoO_fail(err, TSO_ERR_SHAPE, "dropout: ratio must be a scalar");
  if ((st = dropout_training(nin, in, &on, err))) return st;
  if (on == 1 && !dropout_ratio_zero(nin, in))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "dropout: training_mode is true and the ratio is not a constant 0");
  if ((st = tsoO_set_out(&out[0], in[0].dtype, &in[0].shape, "dropout", err))) return st;
  if (nout > 1) st = tsoO_set_out(&out[1], TSO_DT_BOOL, &in[0].shape, "dropout", err);
  return st;
}

/* Dropout at inference, or in training mode with ratio 0: copies the
** input; the mask is all true. Training with another ratio draws random
** numbers and is TSO_ERR_UNSUPPORTED. */
tso_status tsoO_eval_DROPOUT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  (void)p;
  if (tsoO_has_data(nin, in, 2) && *(const uint8_t *)in[2].data && !dropout_ratio_zero(nin, in))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "dropout: training_mode is true and the ratio is not 0");
  tso_status st = eval_copy(nin, in, nout, out, "dropout", err);
  if (st || nout < 2) return st;
  if ((st = tsoO_need(&out[1], "dropout", err))) return st;
  if (out[1].dtype != TSO_DT_BOOL || tsoO_numel(&out[1].shape) != tsoO_numel(&in[0].shape))
    return tsoO_fail(err, TSO_ERR_ARG, "dropout: mask output does not match the input");
  memset(out[1].data, 1, (size_t)tsoO_numel(&out[1].shape));
  return TSO_OK;
}

/* ======================================================================
** Transpose, Concat, Split
** ====================================================================== */

/* Checks that perm[0..n) is a permutation of 0..n-1. */
static int is_perm(const int32_t *perm, int n) {
  unsigned seen = 0;
  for (int i = 0; i < n; i++) {
    if (perm[i] < 0 || perm[i] >= n || (seen & (1u << perm[i]))) return 0;
    seen |= 1u << perm[i];
  }
  return 1;
}

/* Transpose: optional 'perm', a permutation of 0..n-1 with n <= TSO_MAX_RANK;
** absent means reversing the axes (transpose.n = 0). */
tso_status tsoO_parse_TRANSPOSE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                                int opset, char *err) {
  static const char *const names[] = {"perm", NULL};
  const int64_t *v;
  int n;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, names, "transpose", err);
  if (st || (st = tsoO_attr_ints(a, na, "perm", TSO_MAX_RANK, &v, &n, "transpose", err))) return st;
  if (n < 0) return TSO_OK;
  for (int i = 0; i < n; i++) p->transpose.perm[i] = (int32_t)v[i];
  if (n == 0 || !is_perm(p->transpose.perm, n)) {
    memset(&p->transpose, 0, sizeof p->transpose);
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "transpose: 'perm' is not a permutation");
  }
  p->transpose.n = n;
  return TSO_OK;
}

/* Writes 'perm' unless it is the default reversal (n = 0). */
tso_status tsoO_emit_TRANSPOSE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  if (!st && p->transpose.n > 0) st = tsoO_put_ints(out, "perm", p->transpose.perm, p->transpose.n);
  return st;
}

/* The permutation of a transpose of a rank-r input (r known). */
static tso_status transpose_perm(const tsoO_Params *p, int r, int32_t *perm, char *err) {
  int n = p->transpose.n;
  if (n < 0 || n > TSO_MAX_RANK || (n > 0 && !is_perm(p->transpose.perm, n)))
    return tsoO_fail(err, TSO_ERR_SHAPE, "transpose: invalid perm parameters");
  if (n > 0 && n != r)
    return tsoO_fail(err, TSO_ERR_SHAPE, "transpose: perm of length %d for an input of rank %d",
                     n, r);
  for (int i = 0; i < r; i++) perm[i] = n > 0 ? p->transpose.perm[i] : r - 1 - i;
  return TSO_OK;
}

/* Transpose: out.d[i] = in.d[perm[i]]. */
tso_status tsoO_infer_TRANSPOSE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                tsoO_Value *out, char *err) {
  int32_t perm[TSO_MAX_RANK];
  tsoO_Shape s;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, "transpose", err);
  if (st || (st = movable(in[0].dtype, "transpose", err))) return st;
  int r = in[0].shape.rank;
  if (r < 0) {
    if (p->transpose.n > 0 && !is_perm(p->transpose.perm, p->transpose.n))
      return tsoO_fail(err, TSO_ERR_SHAPE, "transpose: invalid perm parameters");
    s = tsoO_unknown_shape(p->transpose.n > 0 ? p->transpose.n : -1);
  } else {
    if ((st = transpose_perm(p, r, perm, err))) return st;
    s = tsoO_unknown_shape(r);
    for (int i = 0; i < r; i++) s.d[i] = in[0].shape.d[perm[i]];
  }
  return tsoO_set_out(&out[0], in[0].dtype, &s, "transpose", err);
}

/* Transpose: a strided copy. */
tso_status tsoO_eval_TRANSPOSE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               tsoO_Value *out, char *err) {
  int32_t perm[TSO_MAX_RANK];
  int64_t ist[TSO_MAX_RANK], st2[TSO_MAX_RANK], dims[TSO_MAX_RANK];
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, "transpose", err);
  if (st || (st = tsoO_need(&in[0], "transpose", err)) ||
      (st = tsoO_need(&out[0], "transpose", err)))
    return st;
  int r = in[0].shape.rank;
  if ((st = transpose_perm(p, r, perm, err))) return st;
  tsoO_strides(&in[0].shape, ist);
  for (int i = 0; i < r; i++) {
    dims[i] = in[0].shape.d[perm[i]];
    st2[i] = ist[perm[i]];
    if (out[0].shape.rank != r || out[0].shape.d[i] != dims[i])
      return tsoO_fail(err, TSO_ERR_ARG, "transpose: output shape does not match");
  }
  tsoO_copy_view(out[0].data, in[0].data, tsoO_dtype_size(in[0].dtype), r, dims, st2, 0);
  return TSO_OK;
}

/* Concat: 'axis' (required from opset 4, default 1 before; negative
** counts from the back). */
tso_status tsoO_parse_CONCAT(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                             int opset, char *err) {
  static const char *const names[] = {"axis", NULL};
  int64_t v;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, names, "concat", err);
  if (st) return st;
  if (opset >= 4 && !tsoO_attr_find(a, na, "axis"))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "concat: attribute 'axis' missing");
  if ((st = tsoO_attr_int(a, na, "axis", 1, INT32_MIN, INT32_MAX, &v, "concat", err))) return st;
  p->axis.axis = (int32_t)v;
  return TSO_OK;
}

/* Writes 'axis' (always: it has no default). */
tso_status tsoO_emit_CONCAT(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  return st ? st : tsoO_put_int(out, "axis", p->axis.axis);
}

/* Concat: inputs of one type and rank, equal except along the axis, whose
** dimension is the sum. */
tso_status tsoO_infer_CONCAT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  int dt = 0, r = -1, first = -1;
  int64_t axis = 0;
  tso_status st = tsoO_arity(nin, 1, TSO_VARIADIC, nout, 1, 1, "concat", err);
  if (st) return st;
  for (int i = 0; i < nin; i++) {
    if (in[i].dtype && dt && in[i].dtype != dt)
      return tsoO_fail(err, TSO_ERR_SHAPE, "concat: input types %s and %s differ",
                       tsoO_dtype_name(dt), tsoO_dtype_name(in[i].dtype));
    if (in[i].dtype) dt = in[i].dtype;
    if (in[i].shape.rank < 0) continue;
    if (first >= 0 && in[i].shape.rank != r)
      return tsoO_fail(err, TSO_ERR_SHAPE, "concat: inputs of shapes %s and %s differ in rank",
                       tsoO_shape_str(&in[first].shape, b1, sizeof b1),
                       tsoO_shape_str(&in[i].shape, b2, sizeof b2));
    if (first < 0) first = i, r = in[i].shape.rank;
  }
  if ((st = movable(dt, "concat", err))) return st;
  tsoO_Shape s = tsoO_unknown_shape(r);
  if (r == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "concat: inputs are scalars");
  if (r > 0) {
    if ((st = tsoO_norm_axis(p->axis.axis, r, "concat", &axis, err))) return st;
    int64_t sum = 0;
    for (int i = 0; i < nin; i++) {
      const tsoO_Shape *x = &in[i].shape;
      if (x->rank < 0 || x->d[axis] < 0 || sum < 0) sum = -1;
      else sum += x->d[axis];
      for (int k = 0; k < r && x->rank >= 0; k++) {
        if (k == axis || x->d[k] < 0) continue;
        if (s.d[k] >= 0 && s.d[k] != x->d[k])
          return tsoO_fail(err, TSO_ERR_SHAPE, "concat: shapes %s and %s differ off axis %lld",
                           tsoO_shape_str(&in[first].shape, b1, sizeof b1),
                           tsoO_shape_str(x, b2, sizeof b2), (long long)axis);
        s.d[k] = x->d[k];
      }
    }
    s.d[axis] = sum;
  }
  return tsoO_set_out(&out[0], dt, &s, "concat", err);
}

/* Concat: for each slab above the axis, each input's block in turn. */
tso_status tsoO_eval_CONCAT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  int64_t axis = 0, sum = 0;
  tso_status st = tsoO_arity(nin, 1, TSO_VARIADIC, nout, 1, 1, "concat", err);
  if (st || (st = tsoO_need(&out[0], "concat", err))) return st;
  const tsoO_Shape *os = &out[0].shape;
  if ((st = tsoO_norm_axis(p->axis.axis, os->rank, "concat", &axis, err))) return st;
  size_t esz = tsoO_dtype_size(out[0].dtype);
  for (int i = 0; i < nin; i++) {
    if ((st = tsoO_need(&in[i], "concat", err))) return st;
    int ok = in[i].dtype == out[0].dtype && in[i].shape.rank == os->rank;
    for (int k = 0; ok && k < os->rank; k++) ok = k == axis || in[i].shape.d[k] == os->d[k];
    if (!ok) return tsoO_fail(err, TSO_ERR_ARG, "concat: input %d does not match the output", i);
    sum += in[i].shape.d[axis];
  }
  if (sum != os->d[axis]) return tsoO_fail(err, TSO_ERR_ARG, "concat: axis sizes do not add up");
  int64_t outer = tsoO_dim_product(os, 0, (int)axis),
          inner = tsoO_dim_product(os, (int)axis + 1, os->rank);
  char *dst = out[0].data;
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < nin; i++) {
      size_t nb = (size_t)(in[i].shape.d[axis] * inner) * esz;
      memcpy(dst, (const char *)in[i].data + (size_t)o * nb, nb);
      dst += nb;
    }
  return TSO_OK;
}

/* Split: 'axis' (default 0); below opset 13 an optional 'split' attribute
** (at most 24 sizes, one per output) kept in split.sizes; from 13 on (and
** at opset 1) the sizes are an optional input; opset 18 'num_outputs'. Without sizes the
** input is cut into nout parts, a count kept in sizes[0] (with nsizes 0)
** so that opset 18 can write num_outputs; sizes[0] stays 0 when the node
** has a 'split' input (nin >= 2). */
tso_status tsoO_parse_SPLIT(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                            int opset, char *err) {
  static const char *const v11[] = {"axis", "split", NULL}, *const v13[] = {"axis", NULL},
                           *const v18[] = {"axis", "num_outputs", NULL};
  const int64_t *v;
  int n;
  int64_t axis, parts;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, opset < 13 ? v11 : opset < 18 ? v13 : v18,
                                   "split", err);
  if (st || (st = tsoO_attr_int(a, na, "axis", 0, INT32_MIN, INT32_MAX, &axis, "split", err)) ||
      (st = tsoO_attr_ints(a, na, "split", NSIZES_MAX, &v, &n, "split", err)) ||
      (st = tsoO_attr_int(a, na, "num_outputs", 0, 1, INT32_MAX, &parts, "split", err)))
    return st;
  if (n >= 0 && n != nout)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "split: %d sizes for %d outputs", n, nout);
  for (int i = 0; i < n; i++)
    if (v[i] < 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "split: negative size");
  if (parts && nin >= 2)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "split: both 'num_outputs' and a 'split' input");
  if (parts && parts != nout)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "split: num_outputs=%lld for %d outputs",
                     (long long)parts, nout);
  p->split.axis = (int32_t)axis;
  for (int i = 0; i < n; i++) p->split.sizes[i] = (int32_t)v[i];
  if (n >= 0) p->split.nsizes = n;
  else if (nin < 2) p->split.sizes[0] = nout;
  return TSO_OK;
}

/* Writes 'axis', the 'split' sizes (opset < 13 only: from 13 on they must
** be an input, which emit cannot create: TSO_ERR_UNSUPPORTED) and, from
** opset 18, 'num_outputs' for an equal split whose count is known. */
tso_status tsoO_emit_SPLIT(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  if (!st && p->split.axis != 0) st = tsoO_put_int(out, "axis", p->split.axis);
  if (st) return st;
  if (p->split.nsizes > 0)
    return opset < 13 ? tsoO_put_ints(out, "split", p->split.sizes, p->split.nsizes)
                      : TSO_ERR_UNSUPPORTED;
  if (opset >= 18 && p->split.sizes[0] > 0)
    st = tsoO_put_int(out, "num_outputs", p->split.sizes[0]);
  return st;
}

/* Checks the split parameters against the arities: *src gets 0 for sizes
** in the parameters, 1 for a 'split' input, 2 for equal parts. */
static tso_status split_source(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               int *src, char *err) {
  int ns = p->split.nsizes, has_in = !tsoO_absent(nin, in, 1);
  if (ns < 0 || ns > NSIZES_MAX || (ns > 0 && ns != nout))
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: %d sizes for %d outputs", ns, nout);
  if (ns > 0 && has_in)
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: sizes both as parameters and as an input");
  if (ns == 0 && p->split.sizes[0] != 0 && (has_in || p->split.sizes[0] != nout))
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: %d equal parts for %d outputs%s",
                     p->split.sizes[0], nout, has_in ? " and a 'split' input" : "");
  for (int i = 0; i < ns; i++)
    if (p->split.sizes[i] < 0) return tsoO_fail(err, TSO_ERR_SHAPE, "split: negative size");
  *src = ns > 0 ? 0 : has_in ? 1 : 2;
  return TSO_OK;
}

/* Size of part i of an equal split of d (known) into n parts: ceil(d/n)
** each, the last one smaller; a split whose last part would be empty or
** negative is refused (runtimes disagree on it). */
static tso_status equal_part(int64_t d, int n, int i, int64_t *len, char *err) {
  int64_t c = (d + n - 1) / n, last = d - c * (n - 1);
  if (d % n != 0 && last < 1)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "split: %lld into %d parts is ambiguous",
                     (long long)d, n);
  *len = i == n - 1 ? last : c;
  return TSO_OK;
}

/* Length along the axis of output i of a split of d (-1: unknown) from
** source src (see split_source); -1 when unknown. */
static tso_status split_len(const tsoO_Params *p, int src, const tsoO_IntArg *sz, int64_t d,
                            int nout, int i, int64_t *len, char *err) {
  *len = -1;
  if (src == 0) *len = p->split.sizes[i];
  else if (src == 2) return d >= 0 ? equal_part(d, nout, i, len, err) : TSO_OK;
  else if (sz->data) *len = tsoO_int_at(sz, i);
  if (*len < -1 || (src == 1 && *len < 0 && sz->data))
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: negative size %lld", (long long)*len);
  if (*len > TSO_MAX_DIM)
    return tsoO_fail(err, TSO_ERR_LIMIT, "split: size %lld too large", (long long)*len);
  return TSO_OK;
}

/* Split: every output is the input with the axis dimension replaced by its
** part; the parts must add up to the input's dimension. */
tso_status tsoO_infer_SPLIT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  char b[TSO_SHAPESTR];
  int src = 0;
  int64_t axis = 0, total = 0, len;
  tsoO_IntArg sz = {0, 0, NULL};
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = tsoO_arity(nin, 1, 2, nout, 1, TSO_VARIADIC, "split", err);
  if (st || (st = movable(in[0].dtype, "split", err)) ||
      (st = split_source(p, nin, in, nout, &src, err)))
    return st;
  if (src == 1 && (st = tsoO_int_arg(&in[1], INT64_MAX, "split", "'split'", &sz, err))) return st;
  if (src == 1 && sz.n >= 0 && sz.n != nout)
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: %lld sizes for %d outputs", (long long)sz.n,
                     nout);
  if (is->rank >= 0 && (st = tsoO_norm_axis(p->split.axis, is->rank, "split", &axis, err)))
    return st;
  int64_t d = is->rank >= 0 ? is->d[axis] : -1;
  for (int i = 0; i < nout; i++) {
    if ((st = split_len(p, src, &sz, d, nout, i, &len, err))) return st;
    total = len < 0 || total < 0 ? -1 : total + len;
  }
  if (total >= 0 && d >= 0 && total != d)
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: sizes add up to %lld, input %s has %lld",
                     (long long)total, tsoO_shape_str(is, b, sizeof b), (long long)d);
  tsoO_Shape s = *is;
  for (int i = 0; i < nout; i++) {
    if ((st = split_len(p, src, &sz, d, nout, i, &len, err))) return st;
    if (is->rank >= 0) s.d[axis] = len;
    if ((st = tsoO_set_out(&out[i], in[0].dtype, &s, "split", err))) return st;
  }
  return TSO_OK;
}

/* Split: each output's part is read from the output shapes. */
tso_status tsoO_eval_SPLIT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                           tsoO_Value *out, char *err) {
  int64_t axis = 0, sum = 0;
  tso_status st = tsoO_arity(nin, 1, 2, nout, 1, TSO_VARIADIC, "split", err);
  if (st || (st = tsoO_need(&in[0], "split", err))) return st;
  const tsoO_Shape *is = &in[0].shape;
  if ((st = tsoO_norm_axis(p->split.axis, is->rank, "split", &axis, err))) return st;
  for (int j = 0; j < nout; j++) {
    if ((st = tsoO_need(&out[j], "split", err))) return st;
    int ok = out[j].dtype == in[0].dtype && out[j].shape.rank == is->rank;
    for (int k = 0; ok && k < is->rank; k++) ok = k == axis || out[j].shape.d[k] == is->d[k];
    if (!ok) return tsoO_fail(err, TSO_ERR_ARG, "split: output %d does not match the input", j);
    sum += out[j].shape.d[axis];
  }
  if (sum != is->d[axis]) return tsoO_fail(err, TSO_ERR_ARG, "split: parts do not add up");
  size_t esz = tsoO_dtype_size(in[0].dtype);
  int64_t outer = tsoO_dim_product(is, 0, (int)axis),
          inner = tsoO_dim_product(is, (int)axis + 1, is->rank);
  size_t row = (size_t)(is->d[axis] * inner) * esz, off = 0;
  for (int j = 0; j < nout; j++) {
    size_t nb = (size_t)(out[j].shape.d[axis] * inner) * esz;
    for (int64_t o = 0; o < outer; o++)
      memcpy((char *)out[j].data + (size_t)o * nb, (const char *)in[0].data + (size_t)o * row + off,
             nb);
    off += nb;
  }
  return TSO_OK;
}

/* ======================================================================
** Reshape, Flatten, Squeeze, Unsqueeze
** ====================================================================== */

/* Reshape (the shape is input 1, from opset 5; the 'shape' attribute of
** opsets 1..4 is refused): opset 14 'allowzero' (0 or 1), kept in
** p->reshape.allowzero. */
tso_status tsoO_parse_RESHAPE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                              int opset, char *err) {
  static const char *const names[] = {"allowzero", NULL};
  int64_t v;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 5, a, na, opset >= 14 ? names : NULL, "reshape", err);
  if (st || (st = tsoO_attr_int(a, na, "allowzero", 0, 0, 1, &v, "reshape", err))) return st;
  ALLOWZERO(p) = (int32_t)v;
  return TSO_OK;
}

/* Writes 'allowzero' when set (which needs opset 14). */
tso_status tsoO_emit_RESHAPE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 5);
  if (st || !ALLOWZERO(p)) return st;
  return opset >= 14 ? tsoO_put_int(out, "allowzero", ALLOWZERO(p)) : TSO_ERR_UNSUPPORTED;
}

/* The output shape of a reshape: 0 copies the input's dimension (unless
** allowzero), one -1 takes what is left of the element count. */
static tso_status reshape_shape(const tsoO_Params *p, const tsoO_Value *in, tsoO_Shape *s,
                                char *err) {
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tsoO_IntArg sh;
  int neg = -1, zero = 0, az = ALLOWZERO(p);
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = tsoO_int_arg(&in[1], INT64_MAX, "reshape", "the shape", &sh, err);
  if (st) return st;
  if (az != 0 && az != 1) return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: allowzero=%d", az);
  if (sh.n > TSO_MAX_RANK)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "reshape: rank %lld output", (long long)sh.n);
  *s = tsoO_unknown_shape((int)sh.n);
  if (!sh.data) return TSO_OK;
  for (int i = 0; i < s->rank; i++) {
    int64_t v = tsoO_int_at(&sh, i);
    if (v < -1 || (v == -1 && neg >= 0))
      return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: invalid target dimension %lld", (long long)v);
    if (v > TSO_MAX_DIM)
      return tsoO_fail(err, TSO_ERR_LIMIT, "reshape: dimension %lld too large", (long long)v);
    if (v == -1) neg = i;
    else if (v == 0 && !az) {
      if (is->rank >= 0 && i >= is->rank)
        return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: 0 at %d copies nothing from %s", i,
                         tsoO_shape_str(is, b1, sizeof b1));
      s->d[i] = is->rank >= 0 ? is->d[i] : -1;
    } else s->d[i] = v;
    zero |= v == 0;
  }
  if (az && zero && neg >= 0)
    return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: allowzero with both 0 and -1");
  int64_t total = is->rank >= 0 ? tsoO_dim_product(is, 0, is->rank) : -1;
  if (neg >= 0) s->d[neg] = 1;
  int64_t prod = tsoO_dim_product(s, 0, s->rank);
  if (neg >= 0) {
    s->d[neg] = -1;
    if (total < 0 || prod < 0) return TSO_OK;
    if (prod == 0 || total % prod != 0)
      return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: %s cannot become %s",
                       tsoO_shape_str(is, b1, sizeof b1), tsoO_shape_str(s, b2, sizeof b2));
    s->d[neg] = total / prod;
  } else if (total >= 0 && prod >= 0 && total != prod) {
    return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: %s cannot become %s",
                     tsoO_shape_str(is, b1, sizeof b1), tsoO_shape_str(s, b2, sizeof b2));
  }
  return TSO_OK;
}

/* Reshape: the output shape comes from a constant shape input; without it
** only the rank (from the shape input's length) may be known. */
tso_status tsoO_infer_RESHAPE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  tsoO_Shape s;
  tso_status st = tsoO_arity(nin, 2, 2, nout, 1, 1, "reshape", err);
  if (st || (st = movable(in[0].dtype, "reshape", err)) ||
      (st = reshape_shape(p, in, &s, err)))
    return st;
  return tsoO_set_out(&out[0], in[0].dtype, &s, "reshape", err);
}

/* Reshape: the data does not move. */
tso_status tsoO_eval_RESHAPE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  (void)p;
  return eval_copy(nin, in, nout, out, "reshape", err);
}

/* Flatten: 'axis' (default 1, negative counts from the back). */
tso_status tsoO_parse_FLATTEN(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                              int opset, char *err) {
  static const char *const names[] = {"axis", NULL};
  int64_t v;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, names, "flatten", err);
  if (st || (st = tsoO_attr_int(a, na, "axis", 1, INT32_MIN, INT32_MAX, &v, "flatten", err)))
    return st;
  p->axis.axis = (int32_t)v;
  return TSO_OK;
}

/* Writes 'axis' unless it is the default 1. */
tso_status tsoO_emit_FLATTEN(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  if (!st && p->axis.axis != 1) st = tsoO_put_int(out, "axis", p->axis.axis);
  return st;
}

/* Flatten: [d0*..*d(axis-1), d(axis)*..*d(r-1)], axis in [-r, r]. */
tso_status tsoO_infer_FLATTEN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  int64_t axis = 0;
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, "flatten", err);
  if (st || (st = movable(in[0].dtype, "flatten", err))) return st;
  tsoO_Shape s = tsoO_unknown_shape(2);
  if (is->rank >= 0) {
    axis = p->axis.axis < 0 ? (int64_t)p->axis.axis + is->rank : p->axis.axis;
    if (axis < 0 || axis > is->rank)
      return tsoO_fail(err, TSO_ERR_SHAPE, "flatten: axis %d outside [%d, %d]", p->axis.axis,
                       -is->rank, is->rank);
    s.d[0] = tsoO_dim_product(is, 0, (int)axis);
    s.d[1] = tsoO_dim_product(is, (int)axis, is->rank);
  }
  return tsoO_set_out(&out[0], in[0].dtype, &s, "flatten", err);
}

/* Flatten: the data does not move. */
tso_status tsoO_eval_FLATTEN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  (void)p;
  return eval_copy(nin, in, nout, out, "flatten", err);
}

/* Squeeze and Unsqueeze: 'axes' attribute below opset 13 (at most
** TSO_MAX_RANK, kept in p->axes with has_axes 1), an input from 13 on.
** An empty Squeeze 'axes' reads as absent; Unsqueeze needs axes. */
static tso_status parse_axes(tsoO_Params *p, const tsoO_Attr *a, int na, int opset, int unsq,
                             char *err) {
  static const char *const names[] = {"axes", NULL};
  const char *op = unsq ? "unsqueeze" : "squeeze";
  const int64_t *v;
  int n;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, opset < 13 ? names : NULL, op, err);
  if (st || (st = tsoO_attr_ints(a, na, "axes", TSO_MAX_RANK, &v, &n, op, err))) return st;
  if (unsq && opset < 13 && n <= 0)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "unsqueeze: 'axes' missing or empty");
  if (n <= 0) return TSO_OK;
  for (int i = 0; i < n; i++) p->axes.axes[i] = (int32_t)v[i];
  p->axes.naxes = n;
  p->axes.has_axes = 1;
  return TSO_OK;
}

/* Writes 'axes' (attribute form, opset < 13; from 13 on the axes must be
** an input, which emit cannot create: TSO_ERR_UNSUPPORTED). */
static tso_status emit_axes(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  if (st || !p->axes.has_axes) return st;
  return opset < 13 ? tsoO_put_ints(out, "axes", p->axes.axes, p->axes.naxes) : TSO_ERR_UNSUPPORTED;
}

/* The axes of a squeeze/unsqueeze: *src 0 none, 1 parameters, 2 input
** (a: its description; values readable when a->data). Unsqueeze's axes
** input is required, so it is never read as absent. */
static tso_status find_axes(const tsoO_Params *p, int nin, const tsoO_Value *in, int unsq,
                            int *src, tsoO_IntArg *a, char *err) {
  const char *op = unsq ? "unsqueeze" : "squeeze";
  int has_in = unsq ? nin > 1 : !tsoO_absent(nin, in, 1);
  *src = 0;
  if (p->axes.has_axes && has_in)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axes both as parameters and as an input", op);
  if (p->axes.naxes < 0 || p->axes.naxes > TSO_MAX_RANK || (!p->axes.has_axes && p->axes.naxes))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid axes parameters", op);
  if (p->axes.has_axes) {
    *src = 1;
    a->n = p->axes.naxes;
    return TSO_OK;
  }
  if (!has_in) return TSO_OK;
  *src = 2;
  return tsoO_int_arg(&in[1], TSO_MAX_RANK, op, "axes", a, err);
}

/* Squeeze: drops the listed axes (each of size 1), or every size-1 axis. */
tso_status tsoO_parse_SQUEEZE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                              int opset, char *err) {
  (void)nin; (void)nout;
  return parse_axes(p, a, na, opset, 0, err);
}

/* See parse_axes. */
tso_status tsoO_emit_SQUEEZE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  return emit_axes(p, opset, out);
}

/* Squeeze: without axes every dimension of size 1 goes, so an unknown
** dimension leaves the output rank unknown. */
tso_status tsoO_infer_SQUEEZE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  char b[TSO_SHAPESTR];
  int src;
  unsigned mask = 0;
  int64_t ax[TSO_MAX_RANK];
  tsoO_IntArg a = {0, 0, NULL};
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = tsoO_arity(nin, 1, 2, nout, 1, 1, "squeeze", err);
  if (st || (st = movable(in[0].dtype, "squeeze", err)) ||
      (st = find_axes(p, nin, in, 0, &src, &a, err)))
    return st;
  tsoO_Shape s = tsoO_unknown_shape(-1);
  if (is->rank >= 0 && a.n > is->rank)
    return tsoO_fail(err, TSO_ERR_SHAPE, "squeeze: %lld axes for %s", (long long)a.n,
                     tsoO_shape_str(is, b, sizeof b));
  if (is->rank >= 0 && src == 2 && !a.data) {
    if (a.n >= 0) s = tsoO_unknown_shape(is->rank - (int)a.n);
  } else if (is->rank >= 0 && (src != 0 || tsoO_shape_known(is))) {
    if (src != 0 &&
        (st = tsoO_axes_mask(&a, src == 1 ? p->axes.axes : NULL, (int)a.n, is->rank, "squeeze",
                             &mask, ax, err)))
      return st;
    s.rank = 0;
    for (int i = 0; i < is->rank; i++) {
      int drop = src ? (int)((mask >> i) & 1u) : is->d[i] == 1;
      if (drop && is->d[i] >= 0 && is->d[i] != 1)
        return tsoO_fail(err, TSO_ERR_SHAPE, "squeeze: axis %d of %s is not 1", i,
                         tsoO_shape_str(is, b, sizeof b));
      if (!drop) s.d[s.rank++] = is->d[i];
    }
  }
  return tsoO_set_out(&out[0], in[0].dtype, &s, "squeeze", err);
}

/* Squeeze: the data does not move. */
tso_status tsoO_eval_SQUEEZE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  (void)p;
  return eval_copy(nin, in, nout, out, "squeeze", err);
}

/* Unsqueeze: inserts size-1 axes at the listed output positions. */
tso_status tsoO_parse_UNSQUEEZE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                                int opset, char *err) {
  (void)nin; (void)nout;
  return parse_axes(p, a, na, opset, 1, err);
}

/* See parse_axes. */
tso_status tsoO_emit_UNSQUEEZE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  return emit_axes(p, opset, out);
}

/* Unsqueeze: output rank r + naxes, axes in [-(r+n), r+n-1]. */
tso_status tsoO_infer_UNSQUEEZE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                tsoO_Value *out, char *err) {
  int src;
  unsigned mask;
  int64_t ax[TSO_MAX_RANK];
  tsoO_IntArg a = {0, 0, NULL};
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = tsoO_arity(nin, 1, 2, nout, 1, 1, "unsqueeze", err);
  if (st || (st = movable(in[0].dtype, "unsqueeze", err)) ||
      (st = find_axes(p, nin, in, 1, &src, &a, err)))
    return st;
  if (src == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "unsqueeze: no axes");
  tsoO_Shape s = tsoO_unknown_shape(-1);
  if (is->rank >= 0 && a.n >= 0) {
    int r = is->rank + (int)a.n;
    if (r > TSO_MAX_RANK)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "unsqueeze: rank %d output", r);
    s = tsoO_unknown_shape(r);
    if (src == 1 || a.data) {
      if ((st = tsoO_axes_mask(&a, src == 1 ? p->axes.axes : NULL, (int)a.n, r, "unsqueeze",
                               &mask, ax, err)))
        return st;
      for (int i = 0, j = 0; i < r; i++) s.d[i] = (mask >> i) & 1u ? 1 : is->d[j++];
    }
  }
  return tsoO_set_out(&out[0], in[0].dtype, &s, "unsqueeze", err);
}

/* Unsqueeze: the data does not move. */
tso_status tsoO_eval_UNSQUEEZE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               tsoO_Value *out, char *err) {
  (void)p;
  return eval_copy(nin, in, nout, out, "unsqueeze", err);
}

/* ======================================================================
** Pad
** ====================================================================== */

static const char *const padmodes[] = {"constant", "reflect", "edge"};

/* Pad: 'mode' constant (default), reflect or edge; below opset 11 'pads'
** (required: 2*rank values, begins then ends, at most 16) and 'value';
** from 11 on pads, constant_value and (opset 18) axes are inputs. Opset 1
** ('paddings', in another order) is refused. */
tso_status tsoO_parse_PAD(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                          int opset, char *err) {
  static const char *const v2[] = {"mode", "pads", "value", NULL}, *const v11[] = {"mode", NULL};
  const tsoO_Attr *m = tsoO_attr_find(a, na, "mode");
  const int64_t *v = NULL;
  int n = 0, mode = m ? -1 : TSO_PADMODE_CONSTANT;
  float value = 0.0f;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 2, a, na, opset < 11 ? v2 : v11, "pad", err);
  if (st) return st;
  if (m && (m->kind != TSO_ATTR_STRING || !m->s))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: 'mode' must be a string");
  for (int i = 0; m && i < 3; i++)
    if (strcmp(m->s, padmodes[i]) == 0) mode = i;
  if (mode < 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: mode '%s' not handled", m->s);
  if (opset < 11) {
    if ((st = tsoO_attr_ints(a, na, "pads", NPADS_MAX, &v, &n, "pad", err)) ||
        (st = tsoO_attr_float(a, na, "value", 0.0f, &value, "pad", err)))
      return st;
    if (n <= 0 || n % 2)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: 'pads' missing, empty or odd");
  }
  p->pad.mode = mode;
  p->pad.value = value;
  p->pad.npads = n;
  for (int i = 0; i < n; i++) p->pad.pads[i] = (int32_t)v[i];
  return TSO_OK;
}

/* 1 when a float's bits are not all zero (so -0.0 counts as set). */
static int fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u != 0;
}

/* Writes 'mode' unless constant; 'pads' and 'value' need opset < 11 (from
** 11 on they are inputs, which emit cannot create: TSO_ERR_UNSUPPORTED). */
tso_status tsoO_emit_PAD(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 2);
  if (st) return st;
  if (p->pad.mode < 0 || p->pad.mode > 2) return TSO_ERR_UNSUPPORTED;
  if (p->pad.mode && (st = tsoO_put_str(out, "mode", padmodes[p->pad.mode]))) return st;
  if (opset >= 11) return p->pad.npads || fbits(p->pad.value) ? TSO_ERR_UNSUPPORTED : TSO_OK;
  if (p->pad.npads <= 0) return TSO_ERR_UNSUPPORTED;
  if ((st = tsoO_put_ints(out, "pads", p->pad.pads, p->pad.npads))) return st;
  return fbits(p->pad.value) ? tsoO_put_float(out, "value", p->pad.value) : TSO_OK;
}

/* Pads per dimension of a known-rank input: b[] before, e[] after; bit i
** of known is set where dimension i's pads are known. */
typedef struct PadPlan {
  int64_t b[TSO_MAX_RANK], e[TSO_MAX_RANK];
  unsigned known;
} PadPlan;

/* Resolves the pads from the parameters or the pads/axes inputs. */
static tso_status pad_plan(const tsoO_Params *p, int nin, const tsoO_Value *in, PadPlan *pl,
                           char *err) {
  char b[TSO_SHAPESTR];
  int r = in[0].shape.rank, np = p->pad.npads, has_ax = !tsoO_absent(nin, in, 3);
  int64_t ax[TSO_MAX_RANK], nax = r;
  unsigned mask = r > 0 ? (1u << r) - 1 : 0;
  tsoO_IntArg pa, aa = {0, 0, NULL};
  tso_status st;
  memset(pl, 0, sizeof *pl);
  if (p->pad.mode < 0 || p->pad.mode > 2 || np < 0 || np > NPADS_MAX || np % 2)
    return tsoO_fail(err, TSO_ERR_SHAPE, "pad: invalid parameters");
  if (np > 0) {
    if (!tsoO_absent(nin, in, 1) || has_ax)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: pads both as parameters and as inputs");
    if (r >= 0 && np != 2 * r)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: %d pads for %s", np,
                       tsoO_shape_str(&in[0].shape, b, sizeof b));
    for (int i = 0; i < r; i++) pl->b[i] = p->pad.pads[i], pl->e[i] = p->pad.pads[i + r];
    pl->known = mask;
    return TSO_OK;
  }
  if (nin < 2) return tsoO_fail(err, TSO_ERR_SHAPE, "pad: no pads");
  if ((st = tsoO_int_arg(&in[1], NPADS_MAX, "pad", "pads", &pa, err)) ||
      (has_ax && (st = tsoO_int_arg(&in[3], TSO_MAX_RANK, "pad", "axes", &aa, err))))
    return st;
  if (r < 0 || (has_ax && !aa.data)) return TSO_OK;
  if (has_ax) {
    nax = aa.n;
    if ((st = tsoO_axes_mask(&aa, NULL, (int)nax, r, "pad", &mask, ax, err))) return st;
  } else {
    for (int i = 0; i < r; i++) ax[i] = i;
  }
  if (pa.n >= 0 && pa.n != 2 * nax)
    return tsoO_fail(err, TSO_ERR_SHAPE, "pad: %lld pads for %lld axes", (long long)pa.n,
                     (long long)nax);
  pl->known = ((r > 0 ? (1u << r) - 1 : 0) & ~mask) | (pa.data ? mask : 0);
  for (int i = 0; pa.data && i < nax; i++) {
    pl->b[ax[i]] = tsoO_int_at(&pa, i);
    pl->e[ax[i]] = tsoO_int_at(&pa, i + nax);
    if (pl->b[ax[i]] < -TSO_MAX_DIM || pl->b[ax[i]] > TSO_MAX_DIM ||
        pl->e[ax[i]] < -TSO_MAX_DIM || pl->e[ax[i]] > TSO_MAX_DIM)
      return tsoO_fail(err, TSO_ERR_LIMIT, "pad: pads too large");
  }
  return TSO_OK;
}

/* Converts the 'value' parameter to one element of dtype into buf. */
static tso_status pad_fill(int dtype, float v, unsigned char *buf, char *err) {
  const char *tn = tsoO_dtype_name(dtype);
  double d = v;
  int integral = d == floor(d) && isfinite(d);
  memset(buf, 0, 8);
  if (!fbits(v) || dtype == TSO_DT_UNDEFINED) return TSO_OK;
  switch (dtype) {
  case TSO_DT_FLOAT: memcpy(buf, &v, 4); return TSO_OK;
  case TSO_DT_DOUBLE: memcpy(buf, &d, 8); return TSO_OK;
  case TSO_DT_BOOL: buf[0] = v != 0.0f; return TSO_OK;
  default: break;
  }
  if (!integral || d < -9.2e18 || d > 9.2e18) dtype = 0;
#define PUT(T, LO, HI) if (d >= (LO) && d <= (HI)) { T x = (T)d; memcpy(buf, &x, sizeof x); return TSO_OK; } break
  switch (dtype) {
  case TSO_DT_INT8: PUT(int8_t, INT8_MIN, INT8_MAX);
  case TSO_DT_UINT8: PUT(uint8_t, 0, UINT8_MAX);
  case TSO_DT_INT16: PUT(int16_t, INT16_MIN, INT16_MAX);
  case TSO_DT_UINT16: PUT(uint16_t, 0, UINT16_MAX);
  case TSO_DT_INT32: PUT(int32_t, INT32_MIN, INT32_MAX);
  case TSO_DT_UINT32: PUT(uint32_t, 0, UINT32_MAX);
  case TSO_DT_INT64: PUT(int64_t, -9.2e18, 9.2e18);
  case TSO_DT_UINT64: PUT(uint64_t, 0, 9.2e18);
  default: break;
  }
#undef PUT
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: value %g not representable as %s", d, tn);
}

/* Pad: each dimension grows by its pads (negative pads crop, constant mode
** only); reflect needs pads below the dimension, edge a non-empty one. */
tso_status tsoO_infer_PAD(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                          tsoO_Value *out, char *err) {
  char b[TSO_SHAPESTR];
  unsigned char fill[8];
  PadPlan pl;
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = tsoO_arity(nin, 1, 4, nout, 1, 1, "pad", err);
  if (st || (st = movable(in[0].dtype, "pad", err)) || (st = pad_plan(p, nin, in, &pl, err)) ||
      (st = pad_fill(in[0].dtype, p->pad.value, fill, err)))
    return st;
  if (!tsoO_absent(nin, in, 2)) {
    const tsoO_Value *c = &in[2];
    if (c->dtype && in[0].dtype && c->dtype != in[0].dtype)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: constant_value is %s, data %s",
                       tsoO_dtype_name(c->dtype), tsoO_dtype_name(in[0].dtype));
    if (tsoO_shape_known(&c->shape) && tsoO_numel(&c->shape) != 1)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: constant_value has shape %s",
                       tsoO_shape_str(&c->shape, b, sizeof b));
    if (fbits(p->pad.value))
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: value both as parameter and as input");
  }
  tsoO_Shape s = tsoO_unknown_shape(is->rank);
  for (int i = 0; i < is->rank; i++) {
    int64_t d = is->d[i], lo = pl.b[i], hi = pl.e[i];
    if (!((pl.known >> i) & 1u)) continue;
    if (p->pad.mode != TSO_PADMODE_CONSTANT && (lo < 0 || hi < 0))
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: negative pads in %s mode",
                       padmodes[p->pad.mode]);
    if (d < 0) continue;
    if (d + lo + hi < 0)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: pads %lld,%lld on axis %d of %s", (long long)lo,
                       (long long)hi, i, tsoO_shape_str(is, b, sizeof b));
    if ((p->pad.mode == TSO_PADMODE_REFLECT && (lo > d - 1 || hi > d - 1) && (lo || hi)) ||
        (p->pad.mode == TSO_PADMODE_EDGE && d == 0 && (lo || hi)))
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: %s pads %lld,%lld on axis %d of %s",
                       padmodes[p->pad.mode], (long long)lo, (long long)hi, i,
                       tsoO_shape_str(is, b, sizeof b));
    s.d[i] = d + lo + hi;
  }
  return tsoO_set_out(&out[0], in[0].dtype, &s, "pad", err);
}

/* Pad: for each output element, the source element by mode, or the value. */
tso_status tsoO_eval_PAD(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                         tsoO_Value *out, char *err) {
  unsigned char fill[8];
  int64_t ist[TSO_MAX_RANK], idx[TSO_MAX_RANK] = {0};
  PadPlan pl;
  tso_status st = tsoO_arity(nin, 1, 4, nout, 1, 1, "pad", err);
  if (st || (st = tsoO_need(&in[0], "pad", err)) || (st = tsoO_need(&out[0], "pad", err)) ||
      (st = pad_plan(p, nin, in, &pl, err)) ||
      (st = pad_fill(in[0].dtype, p->pad.value, fill, err)))
    return st;
  const tsoO_Shape *is = &in[0].shape, *os = &out[0].shape;
  int r = is->rank, mode = p->pad.mode;
  size_t esz = tsoO_dtype_size(in[0].dtype);
  int ok = os->rank == r && out[0].dtype == in[0].dtype && pl.known == (r ? (1u << r) - 1 : 0);
  for (int i = 0; ok && i < r; i++) ok = os->d[i] == is->d[i] + pl.b[i] + pl.e[i];
  if (!ok) return tsoO_fail(err, TSO_ERR_ARG, "pad: output shape does not match");
  if (tsoO_has_data(nin, in, 2)) {
    if (in[2].dtype != in[0].dtype)
      return tsoO_fail(err, TSO_ERR_ARG, "pad: constant_value type does not match");
    memcpy(fill, in[2].data, esz);
  }
  tsoO_strides(is, ist);
  int64_t n = tsoO_numel(os);
  for (int64_t k = 0; k < n; k++) {
    int64_t off = 0;
    int outside = 0;
    for (int i = 0; i < r; i++) {
      int64_t j = idx[i] - pl.b[i], d = is->d[i];
      if (j < 0 || j >= d) {
        if (mode == TSO_PADMODE_CONSTANT) outside = 1;
        else if (mode == TSO_PADMODE_EDGE) j = j < 0 ? 0 : d - 1;
        else j = j < 0 ? -j : 2 * (d - 1) - j;
      }
      off += j * ist[i];
    }
    memcpy((char *)out[0].data + (size_t)k * esz,
           outside ? (const void *)fill : (const char *)in[0].data + (size_t)off * esz, esz);
    for (int i = r - 1; i >= 0 && ++idx[i] == os->d[i]; i--) idx[i] = 0;
  }
  return TSO_OK;
}

/* ======================================================================
** Shape, Gather, Slice
** ====================================================================== */

/* Clamps v into int32 (enough for indices into a rank <= 8 shape). */
static int32_t clamp32(int64_t v) {
  return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* Shape: opset 15 'start' (default 0) and 'end' (default: the rank), kept
** clamped to int32, which selects the same dimensions. */
tso_status tsoO_parse_SHAPE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                            int opset, char *err) {
  static const char *const names[] = {"start", "end", NULL};
  int64_t s, e;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, opset >= 15 ? names : NULL, "shape", err);
  if (st || (st = tsoO_attr_int(a, na, "start", 0, INT64_MIN, INT64_MAX, &s, "shape", err)) ||
      (st = tsoO_attr_int(a, na, "end", 0, INT64_MIN, INT64_MAX, &e, "shape", err)))
    return st;
  p->shape.start = clamp32(s);
  p->shape.end = clamp32(e);
  p->shape.has_end = tsoO_attr_find(a, na, "end") != NULL;
  return TSO_OK;
}

/* Writes 'start' and 'end' when set (which needs opset 15). */
tso_status tsoO_emit_SHAPE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  if (st || (!p->shape.start && !p->shape.has_end)) return st;
  if (opset < 15) return TSO_ERR_UNSUPPORTED;
  if (p->shape.start && (st = tsoO_put_int(out, "start", p->shape.start))) return st;
  return p->shape.has_end ? tsoO_put_int(out, "end", p->shape.end) : TSO_OK;
}

/* The dimensions [*lo, *hi) of a rank-r shape that Shape returns. */
static void shape_range(const tsoO_Params *p, int r, int64_t *lo, int64_t *hi) {
  int64_t s = p->shape.start, e = p->shape.has_end ? p->shape.end : r;
  s = s < 0 ? s + r : s;
  e = e < 0 ? e + r : e;
  *lo = s < 0 ? 0 : s > r ? r : s;
  *hi = e < *lo ? *lo : e > r ? r : e;
}

/* Shape: a 1-D int64 tensor of the (selected) input dimensions. */
tso_status tsoO_infer_SHAPE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  int64_t lo, hi;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, "shape", err);
  if (st) return st;
  if (p->shape.has_end != 0 && p->shape.has_end != 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "shape: invalid parameters");
  tsoO_Shape s = tsoO_unknown_shape(1);
  if (in[0].shape.rank >= 0) {
    shape_range(p, in[0].shape.rank, &lo, &hi);
    s.d[0] = hi - lo;
  }
  return tsoO_set_out(&out[0], TSO_DT_INT64, &s, "shape", err);
}

/* Shape: writes the dimensions; the input's data is not read. */
tso_status tsoO_eval_SHAPE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                           tsoO_Value *out, char *err) {
  int64_t lo, hi;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, "shape", err);
  if (st || (st = tsoO_need(&out[0], "shape", err))) return st;
  if (!tsoO_shape_known(&in[0].shape))
    return tsoO_fail(err, TSO_ERR_ARG, "shape: input shape unknown");
  shape_range(p, in[0].shape.rank, &lo, &hi);
  if (out[0].dtype != TSO_DT_INT64 || tsoO_numel(&out[0].shape) != hi - lo)
    return tsoO_fail(err, TSO_ERR_ARG, "shape: output does not match");
  for (int64_t i = lo; i < hi; i++) ((int64_t *)out[0].data)[i - lo] = in[0].shape.d[i];
  return TSO_OK;
}

/* Gather: 'axis' (default 0, negative counts from the back). */
tso_status tsoO_parse_GATHER(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                             int opset, char *err) {
  static const char *const names[] = {"axis", NULL};
  int64_t v;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, names, "gather", err);
  if (st || (st = tsoO_attr_int(a, na, "axis", 0, INT32_MIN, INT32_MAX, &v, "gather", err)))
    return st;
  p->axis.axis = (int32_t)v;
  return TSO_OK;
}

/* Writes 'axis' unless 0. */
tso_status tsoO_emit_GATHER(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  if (!st && p->axis.axis != 0) st = tsoO_put_int(out, "axis", p->axis.axis);
  return st;
}

/* Index k of Gather's indices, wrapped when negative; -1 when outside [0, d). */
static int64_t gather_index(const tsoO_Value *ix, int64_t k, int64_t d) {
  int64_t v = ix->dtype == TSO_DT_INT32 ? ((const int32_t *)ix->data)[k]
                                        : ((const int64_t *)ix->data)[k];
  if (v < 0) v += d;
  return v >= 0 && v < d ? v : -1;
}

/* Gather: data.shape[:axis] + indices.shape + data.shape[axis+1:]; constant
** indices are checked against a known dimension. */
tso_status tsoO_infer_GATHER(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  char b[TSO_SHAPESTR];
  int64_t axis = 0;
  const tsoO_Shape *ds = &in[0].shape, *qs = &in[1].shape;
  tso_status st = tsoO_arity(nin, 2, 2, nout, 1, 1, "gather", err);
  if (st || (st = movable(in[0].dtype, "gather", err))) return st;
  if (in[1].dtype != TSO_DT_INT64 && in[1].dtype != TSO_DT_INT32 && in[1].dtype)
    return tsoO_fail(err, TSO_ERR_SHAPE, "gather: indices are %s, not int32/int64",
                     tsoO_dtype_name(in[1].dtype));
  if (ds->rank == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "gather: data is a scalar");
  tsoO_Shape s = tsoO_unknown_shape(-1);
  if (ds->rank > 0) {
    if ((st = tsoO_norm_axis(p->axis.axis, ds->rank, "gather", &axis, err))) return st;
    int64_t d = ds->d[axis], n = tsoO_numel(qs);
    if (in[1].data && in[1].dtype && d >= 0 && n > 0)
      for (int64_t k = 0; k < n; k++)
        if (gather_index(&in[1], k, d) < 0)
          return tsoO_fail(err, TSO_ERR_SHAPE, "gather: indices[%lld] outside axis %lld of %s",
                           (long long)k, (long long)axis, tsoO_shape_str(ds, b, sizeof b));
  }
  if (ds->rank > 0 && qs->rank >= 0) {
    if (ds->rank - 1 + qs->rank > TSO_MAX_RANK)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "gather: output rank %d",
                       ds->rank - 1 + qs->rank);
    s = tsoO_unknown_shape(ds->rank - 1 + qs->rank);
    int k = 0;
    for (int i = 0; i < axis; i++) s.d[k++] = ds->d[i];
    for (int i = 0; i < qs->rank; i++) s.d[k++] = qs->d[i];
    for (int i = (int)axis + 1; i < ds->rank; i++) s.d[k++] = ds->d[i];
  }
  return tsoO_set_out(&out[0], in[0].dtype, &s, "gather", err);
}

/* Gather: one block of the inner dimensions per (outer, index) pair. */
tso_status tsoO_eval_GATHER(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  int64_t axis = 0;
  tso_status st = tsoO_arity(nin, 2, 2, nout, 1, 1, "gather", err);
  if (st || (st = tsoO_need(&in[0], "gather", err)) || (st = tsoO_need(&out[0], "gather", err)))
    return st;
  const tsoO_Shape *ds = &in[0].shape;
  int64_t n = tsoO_numel(&in[1].shape);
  if ((st = tsoO_norm_axis(p->axis.axis, ds->rank, "gather", &axis, err))) return st;
  if (n < 0 || (n > 0 && !in[1].data) ||
      (in[1].dtype != TSO_DT_INT64 && in[1].dtype != TSO_DT_INT32))
    return tsoO_fail(err, TSO_ERR_ARG, "gather: indices unusable");
  size_t esz = tsoO_dtype_size(in[0].dtype);
  int64_t d = ds->d[axis], outer = tsoO_dim_product(ds, 0, (int)axis),
          inner = tsoO_dim_product(ds, (int)axis + 1, ds->rank);
  if (out[0].dtype != in[0].dtype || tsoO_numel(&out[0].shape) != outer * n * inner)
    return tsoO_fail(err, TSO_ERR_ARG, "gather: output does not match");
  size_t blk = (size_t)inner * esz;
  char *dst = out[0].data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < n; k++, dst += blk) {
      int64_t j = gather_index(&in[1], k, d);
      if (j < 0)
        return tsoO_fail(err, TSO_ERR_SHAPE, "gather: indices[%lld] out of range", (long long)k);
      memcpy(dst, (const char *)in[0].data + (size_t)(o * d + j) * blk, blk);
    }
  return TSO_OK;
}

/* Slice's attribute form (opsets 1..9) lives in p->raw: the number of
** axes n (0 for the input form of opset 10 on), whether 'axes' was given,
** then starts, ends and axes, TSO_MAX_RANK values each. */
#define SL_N(p) ((p)->raw[0])
#define SL_HAS_AXES(p) ((p)->raw[1])
#define SL_STARTS(p) ((p)->raw + 2)
#define SL_ENDS(p) ((p)->raw + 2 + TSO_MAX_RANK)
#define SL_AXES(p) ((p)->raw + 2 + 2 * TSO_MAX_RANK)
_Static_assert(2 + 3 * TSO_MAX_RANK <= sizeof ((tsoO_Params *)0)->raw / sizeof(int32_t),
               "Slice's attribute form does not fit in tsoO_Params");

/* Reads the INTS attribute `name` of the Slice attribute form into dst,
** clamping values to int32 (exact on dimensions below INT32_MAX, which
** slice_plan checks); *n gets the count, -1 when absent. */
static tso_status slice_attr(const tsoO_Attr *a, int na, const char *name, int32_t *dst, int *n,
                             char *err) {
  const tsoO_Attr *t = tsoO_attr_find(a, na, name);
  *n = -1;
  if (!t) return TSO_OK;
  if (t->kind != TSO_ATTR_INTS || t->n < 1 || t->n > TSO_MAX_RANK || !t->ints)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "slice: '%s' must be 1..%d ints", name,
                     TSO_MAX_RANK);
  for (int i = 0; i < t->n; i++) dst[i] = clamp32(t->ints[i]);
  *n = t->n;
  return TSO_OK;
}

/* Slice: from opset 10 on no attributes (starts, ends, axes and steps are
** inputs); below 10 the attributes 'starts' and 'ends' (required, as many
** values, at most TSO_MAX_RANK) and 'axes' (default 0..n-1), step 1. */
tso_status tsoO_parse_SLICE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                            int opset, char *err) {
  static const char *const v1[] = {"starts", "ends", "axes", NULL};
  int ns, ne, nx;
  (void)nin; (void)nout;
  tso_status st = tsoO_parse_begin(opset, 1, a, na, opset < 10 ? v1 : NULL, "slice", err);
  if (st || opset >= 10) return st;
  if ((st = slice_attr(a, na, "starts", SL_STARTS(p), &ns, err)) ||
      (st = slice_attr(a, na, "ends", SL_ENDS(p), &ne, err)) ||
      (st = slice_attr(a, na, "axes", SL_AXES(p), &nx, err))) {
    memset(p, 0, sizeof *p);
    return st;
  }
  if (ns < 0 || ne != ns || (nx >= 0 && nx != ns)) {
    memset(p, 0, sizeof *p);
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "slice: 'starts' and 'ends' (and 'axes') must be given with one length");
  }
  SL_N(p) = ns;
  SL_HAS_AXES(p) = nx > 0;
  return TSO_OK;
}

/* Writes the attribute form below opset 10; from 10 on there are no
** attributes, and the forms cannot be written at each other's opsets. */
tso_status tsoO_emit_SLICE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, 1);
  int n = SL_N(p);
  if (st) return st;
  if ((opset < 10) != (n > 0) || n < 0 || n > TSO_MAX_RANK) return TSO_ERR_UNSUPPORTED;
  if (n == 0) return TSO_OK;
  if ((st = tsoO_put_ints(out, "starts", SL_STARTS(p), n)) ||
      (st = tsoO_put_ints(out, "ends", SL_ENDS(p), n)))
    return st;
  return SL_HAS_AXES(p) ? tsoO_put_ints(out, "axes", SL_AXES(p), n) : TSO_OK;
}

/* A slice per input dimension: first element, step and count (-1 when the
** count is unknown). */
typedef struct SlicePlan {
  int64_t start[TSO_MAX_RANK], step[TSO_MAX_RANK], len[TSO_MAX_RANK];
} SlicePlan;

/* One axis of a slice of a known dimension d, per the ONNX clamping rules. */
static void slice_axis(int64_t b, int64_t e, int64_t step, int64_t d, int64_t *start,
                       int64_t *st, int64_t *len) {
  *start = 0;
  *st = 1;
  *len = 0;
  if (d == 0) return;
  if (step > d + 1) step = d + 1; /* one element at most either way */
  if (step < -(d + 1)) step = -(d + 1);
  b = b < 0 ? b + d : b;
  e = e < 0 ? e + d : e;
  if (step > 0) {
    b = b < 0 ? 0 : b > d ? d : b;
    e = e < 0 ? 0 : e > d ? d : e;
    *len = e > b ? (e - b + step - 1) / step : 0;
  } else {
    b = b < 0 ? 0 : b > d - 1 ? d - 1 : b;
    e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    *len = b > e ? (b - e - step - 1) / -step : 0;
  }
  if (*len > 0) *start = b, *st = step;
}

/* Resolves Slice's inputs (or, in the attribute form, parameters) against
** the data shape into pl (nothing is resolved for an unknown rank); counts
** that depend on unknowns are -1. */
static tso_status slice_plan(const tsoO_Params *p, int nin, const tsoO_Value *in, SlicePlan *pl,
                             char *err) {
  tsoO_IntArg a[4] = {{0, 0, NULL}, {0, 0, NULL}, {0, 0, NULL}, {0, 0, NULL}};
  static const char *const what[4] = {"starts", "ends", "axes", "steps"};
  const tsoO_Shape *is = &in[0].shape;
  int r = is->rank, readable = 1, attrs = SL_N(p) != 0, has_ax;
  int64_t n = -1, ax[TSO_MAX_RANK];
  unsigned mask = 0;
  tso_status st;
  if (SL_N(p) < 0 || SL_N(p) > TSO_MAX_RANK || (SL_HAS_AXES(p) & ~1) || (!attrs && SL_HAS_AXES(p)))
    return tsoO_fail(err, TSO_ERR_SHAPE, "slice: invalid parameters");
  if (attrs) { /* int32 parameters read as int32 argument inputs */
    n = SL_N(p);
    has_ax = SL_HAS_AXES(p);
    a[0] = (tsoO_IntArg){n, TSO_DT_INT32, SL_STARTS(p)};
    a[1] = (tsoO_IntArg){n, TSO_DT_INT32, SL_ENDS(p)};
    a[2] = (tsoO_IntArg){n, TSO_DT_INT32, has_ax ? SL_AXES(p) : NULL};
  } else {
    if (nin < 3) return tsoO_fail(err, TSO_ERR_SHAPE, "slice: starts and ends are required");
    for (int i = 0; i < 4; i++) {
      if (i >= 2 && tsoO_absent(nin, in, i + 1)) continue;
      if ((st = tsoO_int_arg(&in[i + 1], TSO_MAX_RANK, "slice", what[i], &a[i], err))) return st;
      if (a[i].n >= 0 && n >= 0 && a[i].n != n)
        return tsoO_fail(err, TSO_ERR_SHAPE, "slice: %s has %lld values, not %lld", what[i],
                         (long long)a[i].n, (long long)n);
      if (a[i].n >= 0) n = a[i].n;
      readable &= a[i].data != NULL;
    }
    has_ax = !tsoO_absent(nin, in, 3);
  }
  if (r < 0) return TSO_OK;
  for (int i = 0; i < r; i++) pl->start[i] = 0, pl->step[i] = 1, pl->len[i] = is->d[i];
  if (n > r) return tsoO_fail(err, TSO_ERR_SHAPE, "slice: %lld axes for rank %d", (long long)n, r);
  if (n < 0 || (has_ax && !a[2].data)) {
    for (int i = 0; i < r; i++) pl->len[i] = -1;
    return TSO_OK;
  }
  for (int i = 0; i < n; i++) ax[i] = i;
  if (has_ax && (st = tsoO_axes_mask(&a[2], NULL, (int)n, r, "slice", &mask, ax, err))) return st;
  for (int i = 0; i < n; i++) {
    int64_t step = a[3].data ? tsoO_int_at(&a[3], i) : 1, d = is->d[ax[i]];
    if (a[3].data && step == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "slice: step 0");
    if (attrs && d >= INT32_MAX) /* the parameters were clamped to int32 */
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "slice: dimension %lld with attribute bounds",
                       (long long)d);
    if (!readable || d < 0) pl->len[ax[i]] = -1;
    else slice_axis(tsoO_int_at(&a[0], i), tsoO_int_at(&a[1], i), step, d, &pl->start[ax[i]],
                    &pl->step[ax[i]], &pl->len[ax[i]]);
  }
  return TSO_OK;
}

/* Slice: per axis, the elements start, start+step, ... before end. */
tso_status tsoO_infer_SLICE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  SlicePlan pl;
  int lo = SL_N(p) ? 1 : 3;
  tso_status st = tsoO_arity(nin, lo, lo == 1 ? 1 : 5, nout, 1, 1, "slice", err);
  if (st || (st = movable(in[0].dtype, "slice", err)) || (st = slice_plan(p, nin, in, &pl, err)))
    return st;
  tsoO_Shape s = tsoO_unknown_shape(in[0].shape.rank);
  for (int i = 0; i < s.rank; i++) s.d[i] = pl.len[i];
  return tsoO_set_out(&out[0], in[0].dtype, &s, "slice", err);
}

/* Slice: a strided copy. */
tso_status tsoO_eval_SLICE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                           tsoO_Value *out, char *err) {
  SlicePlan pl;
  int64_t ist[TSO_MAX_RANK], vst[TSO_MAX_RANK], off = 0;
  int lo = SL_N(p) ? 1 : 3;
  tso_status st = tsoO_arity(nin, lo, lo == 1 ? 1 : 5, nout, 1, 1, "slice", err);
  if (st || (st = tsoO_need(&in[0], "slice", err)) || (st = tsoO_need(&out[0], "slice", err)))
    return st;
  for (int i = 1; i < nin; i++)
    if (tsoO_has_data(nin, in, i) && (st = tsoO_need(&in[i], "slice", err))) return st;
  if ((st = slice_plan(p, nin, in, &pl, err))) return st;
  int r = in[0].shape.rank;
  tsoO_strides(&in[0].shape, ist);
  for (int i = 0; i < r; i++) {
    if (out[0].shape.rank != r || pl.len[i] != out[0].shape.d[i])
      return tsoO_fail(err, TSO_ERR_ARG, "slice: output shape does not match");
    off += pl.start[i] * ist[i];
    vst[i] = pl.step[i] * ist[i];
  }
  tsoO_copy_view(out[0].data, in[0].data, tsoO_dtype_size(in[0].dtype), r, pl.len, vst, off);
  return TSO_OK;
}
