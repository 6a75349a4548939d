/*
** ops_elem.c -- element-wise operators: ONNX attribute parsing and
** writing, shape and type inference, and the reference kernels of the
** binary arithmetic Add Sub Mul Div Pow and the optimizer's scalar-mul, and
** of the unary math Relu Sigmoid Tanh Erf Sqrt. Also the numpy broadcasting
** rule, tsoO_broadcast_shape, and the one-sided broadcasting of Add..Pow
** below opset 7.
**
** Invariants:
**   - parse() accepts only the attribute names its opset defines (up to
**     TSO_OPSET_MAX, and down to the first opset whose form of the operator
**     it implements exactly: 1, or 9 for Erf) and refuses, with
**     TSO_ERR_UNSUPPORTED, whatever it could get wrong; for every p that
**     parse() produces, parse(emit(p)) == p. Scalar-mul has no ONNX form.
**   - Below opset 7 Add Sub Mul Div Pow do not broadcast like numpy: B is
**     broadcast to A only with broadcast=1, aligned at 'axis' or at the
**     end. parse() records that in p->axis.legacy (BC_* below, never 0
**     below opset 7, always 0 from 7 on), so a node with legacy != 0 is
**     neither numpy-broadcasting nor commutative.
**   - infer() never reads input data; what it cannot determine becomes an
**     unknown rank (-1) or dimension (-1), never an error.
**   - Add/Sub/Mul/Div/scalar-mul compute float32, float64 and every
**     8..64-bit integer type (wrapping; division truncates toward zero; a
**     division by zero is refused); Pow computes a float32 base with a
**     float or integer exponent and an int32/int64 base with an
**     int32/int64/float32/float64 exponent, the result of the base's type;
**     the unary operators are float32 only.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops_impl.h"

/* ======================================================================
** Broadcasting and the binary operators
** ====================================================================== */

/* Numpy multidirectional broadcasting of a and b into *out (which may be
** a or b): an unknown rank gives an unknown rank, an unknown dimension
** against 1 stays unknown and against n > 1 (or 0) becomes n. Shapes that
** do not broadcast are TSO_ERR_SHAPE, with both named in err (may be NULL). */
tso_status tsoO_broadcast_shape(const tsoO_Shape *a, const tsoO_Shape *b, tsoO_Shape *out,
                                char *err) {
  tsoO_Shape s;
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  if (a->rank < 0 || b->rank < 0) {
    *out = tsoO_unknown_shape(-1);
    return TSO_OK;
  }
  s = tsoO_unknown_shape(a->rank > b->rank ? a->rank : b->rank);
  for (int k = 0; k < s.rank; k++) {
    int ia = k - (s.rank - a->rank), ib = k - (s.rank - b->rank);
    int64_t x = ia >= 0 ? a->d[ia] : 1, y = ib >= 0 ? b->d[ib] : 1;
    if (x == y || y == 1) s.d[k] = x;
    else if (x == 1) s.d[k] = y;
    else if (x < 0) s.d[k] = y; /* an unknown dim broadcast against y must be y (or 1) */
    else if (y < 0) s.d[k] = x;
    else
      return tsoO_fail(err, TSO_ERR_SHAPE, "shapes %s and %s do not broadcast",
                       tsoO_shape_str(a, b1, sizeof b1), tsoO_shape_str(b, b2, sizeof b2));
  }
  *out = s;
  return TSO_OK;
}

/* Broadcasting of the binary operators below opset 7, kept in
** p->axis.legacy (and the axis of BC_AXIS in p->axis.axis). B is broadcast
** to A: padded with 1s to A's rank, each of its dimensions is 1 or A's, and
** the output has A's shape. The opset 1..6 text allows only B's shape equal
** to a run of A's or a single element ("1-dim expansion doesn't work yet");
** B's 1s are also stretched here, as ONNX's opset 6->7 version converter
** accepts (and as the PyTorch-exported opset-6 test data expect). */
enum {
  BC_NUMPY = 0,  /* opset >= 7: numpy multidirectional broadcasting */
  BC_EQUAL = 1,  /* broadcast=0: A and B have one shape */
  BC_SUFFIX = 2, /* broadcast=1 without axis: B matches A's last dimensions */
  BC_AXIS = 3    /* broadcast=1, axis=k: B matches A's dimensions from k on */
};
#define BCAST(p) ((p)->axis.legacy)
#define BCAST_AXIS(p) ((p)->axis.axis)

/* 1 for the binary operators with an ONNX form. */
static int is_binary(int op) {
  return op == TSO_OP_ADD || op == TSO_OP_SUB || op == TSO_OP_MUL || op == TSO_OP_DIV ||
         op == TSO_OP_POW;
}

/* 1 when Add/Sub/Mul/Div/scalar-mul have a kernel for dtype dt. */
static int arith_type(int dt) {
  switch (dt) {
  case TSO_DT_FLOAT: case TSO_DT_DOUBLE:
  case TSO_DT_INT8: case TSO_DT_INT16: case TSO_DT_INT32: case TSO_DT_INT64:
  case TSO_DT_UINT8: case TSO_DT_UINT16: case TSO_DT_UINT32: case TSO_DT_UINT64: return 1;
  default: return 0;
  }
}

/* 1 when Pow has a kernel for base type a and exponent type b (an unknown
** type, 0, is taken as possible): a float32 base with any exponent of
** arith_type, an int32/int64 base with an int32/int64/float exponent. */
static int pow_types(int a, int b) {
  if (a == TSO_DT_UNDEFINED || a == TSO_DT_FLOAT) return b == TSO_DT_UNDEFINED || arith_type(b);
  if (a == TSO_DT_INT32 || a == TSO_DT_INT64)
    return b == TSO_DT_UNDEFINED || b == TSO_DT_INT32 || b == TSO_DT_INT64 ||
           b == TSO_DT_FLOAT || b == TSO_DT_DOUBLE;
  return 0;
}

/* Checks that the input types are ones op computes; *dt gets the output
** type (0 when it is still unknown). */
static tso_status binary_type(int op, const tsoO_Value *in, int *dt, char *err) {
  const char *name = tsoO_info(op)->name;
  int a = in[0].dtype, b = in[1].dtype;
  if (op == TSO_OP_POW) { /* the output has the base's type */
    *dt = a;
    if (!pow_types(a, b))
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pow: %s base with %s exponent not handled",
                       tsoO_dtype_name(a), tsoO_dtype_name(b));
    return TSO_OK;
  }
  if (a && b && a != b)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: input types %s and %s differ", name,
                     tsoO_dtype_name(a), tsoO_dtype_name(b));
  *dt = a ? a : b;
  if (*dt && !arith_type(*dt))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s not handled", name,
                     tsoO_dtype_name(*dt));
  return TSO_OK;
}

/* B's shape padded with 1s to the rank of A (both known) as legacy mode bc
** aligns it, into *out; TSO_ERR_SHAPE when it does not fit in A. */
static tso_status legacy_pad(const tsoO_Params *p, const tsoO_Shape *a, const tsoO_Shape *b,
                             tsoO_Shape *out, const char *name, char *err) {
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  int off = BCAST(p) == BC_AXIS ? BCAST_AXIS(p) : a->rank - b->rank;
  if (off < 0 || off + b->rank > a->rank)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: B %s does not fit in A %s at axis %d", name,
                     tsoO_shape_str(b, b1, sizeof b1), tsoO_shape_str(a, b2, sizeof b2), off);
  *out = tsoO_unknown_shape(a->rank);
  for (int i = 0; i < a->rank; i++)
    out->d[i] = i >= off && i < off + b->rank ? b->d[i - off] : 1;
  return TSO_OK;
}

/* The output shape of a binary operator under its broadcasting mode. */
static tso_status binary_shape(int op, const tsoO_Params *p, const tsoO_Shape *a,
                               const tsoO_Shape *b, tsoO_Shape *s, char *err) {
  const char *name = tsoO_info(op)->name;
  char m[TSO_ERRMAX], b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  int bc = BCAST(p);
  tsoO_Shape pb;
  tso_status st;
  if (bc < BC_NUMPY || bc > BC_AXIS || (bc != BC_NUMPY && !is_binary(op)) ||
      (bc == BC_AXIS && (BCAST_AXIS(p) < 0 || BCAST_AXIS(p) >= TSO_MAX_RANK)))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid broadcasting parameters", name);
  if (bc == BC_NUMPY) {
    if ((st = tsoO_broadcast_shape(a, b, s, m))) return tsoO_fail(err, st, "%s: %s", name, m);
    return TSO_OK;
  }
  *s = a->rank >= 0 || bc != BC_EQUAL ? *a : *b;
  if (a->rank < 0 || b->rank < 0) return TSO_OK;
  if (bc == BC_EQUAL) pb = *b;
  else if ((st = legacy_pad(p, a, b, &pb, name, err))) return st;
  int ok = pb.rank == a->rank;
  for (int i = 0; ok && i < a->rank; i++) {
    int64_t x = a->d[i], y = pb.d[i];
    if (y < 0 || (y == 1 && bc != BC_EQUAL)) continue; /* B's 1s stretch to A */
    ok = x < 0 || x == y;
    s->d[i] = y;
  }
  if (ok) return TSO_OK;
  return tsoO_fail(err, TSO_ERR_SHAPE, "%s: B %s does not %s A %s (opset < 7, broadcast=%d)",
                   name, tsoO_shape_str(b, b1, sizeof b1),
                   bc == BC_EQUAL ? "have the shape of" : "broadcast to",
                   tsoO_shape_str(a, b2, sizeof b2), bc != BC_EQUAL);
}

/* Inference of the broadcasting binary operators and scalar-mul. */
static tso_status binary_infer(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                               int nout, tsoO_Value *out, char *err) {
  const char *name = tsoO_info(op)->name;
  tsoO_Shape s;
  char b[TSO_SHAPESTR];
  int dt = 0;
  tso_status st = tsoO_arity(nin, 2, 2, nout, 1, 1, name, err);
  if (st || (st = binary_type(op, in, &dt, err))) return st;
  if (op == TSO_OP_SCALAR_MUL) {
    if (in[1].shape.rank > 0)
      return tsoO_fail(err, TSO_ERR_SHAPE, "smul: the scalar has shape %s, not []",
                       tsoO_shape_str(&in[1].shape, b, sizeof b));
    s = in[0].shape;
  } else if ((st = binary_shape(op, p, &in[0].shape, &in[1].shape, &s, err))) {
    return st;
  }
  return tsoO_set_out(&out[0], dt, &s, name, err);
}

/* One float result of a binary op. */
static float fbin(int op, float x, float y) {
  switch (op) {
  case TSO_OP_ADD: return x + y;
  case TSO_OP_SUB: return x - y;
  case TSO_OP_DIV: return x / y;
  default: return x * y; /* MUL, SCALAR_MUL */
  }
}

/* One double result of a binary op. */
static double dbin(int op, double x, double y) {
  switch (op) {
  case TSO_OP_ADD: return x + y;
  case TSO_OP_SUB: return x - y;
  case TSO_OP_DIV: return x / y;
  default: return x * y;
  }
}

/* One signed integer result of a binary op, wrapping modulo 2^64 (which
** narrows to the wrapped result of any narrower type); *bad on a division
** by zero. */
static int64_t ibin(int op, int64_t x, int64_t y, int *bad) {
  uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
  switch (op) {
  case TSO_OP_ADD: return (int64_t)(ux + uy);
  case TSO_OP_SUB: return (int64_t)(ux - uy);
  case TSO_OP_DIV:
    if (y == 0) { *bad = 1; return 0; }
    if (y == -1) return (int64_t)(0 - ux); /* INT64_MIN / -1 wraps */
    return x / y;                          /* C truncates toward zero, as ONNX */
  default: return (int64_t)(ux * uy);
  }
}

/* One unsigned integer result of a binary op, modulo 2^64. */
static uint64_t ubin(int op, uint64_t x, uint64_t y, int *bad) {
  switch (op) {
  case TSO_OP_ADD: return x + y;
  case TSO_OP_SUB: return x - y;
  case TSO_OP_DIV:
    if (y == 0) { *bad = 1; return 0; }
    return x / y;
  default: return x * y;
  }
}

/* Checks the buffers of a binary op and sets up a walk of the output that
** follows both inputs (B padded first under a legacy broadcasting mode). */
static tso_status binary_walk(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                              int nout, tsoO_Value *out, tsoO_Walk *w, char *err) {
  const char *name = tsoO_info(op)->name;
  tsoO_Shape sh[2], tmp;
  tso_status st = tsoO_arity(nin, 2, 2, nout, 1, 1, name, err);
  if (st || (st = tsoO_need(&in[0], name, err)) || (st = tsoO_need(&in[1], name, err)) ||
      (st = tsoO_need(&out[0], name, err)))
    return st;
  sh[0] = in[0].shape;
  sh[1] = in[1].shape;
  if (is_binary(op) && BCAST(p) != BC_NUMPY) {
    if ((st = binary_shape(op, p, &sh[0], &sh[1], &tmp, err))) return st;
    if (BCAST(p) != BC_EQUAL && (st = legacy_pad(p, &in[0].shape, &in[1].shape, &sh[1], name, err)))
      return st;
  }
  const tsoO_Shape *os = &out[0].shape;
  memset(w, 0, sizeof *w);
  w->r = os->rank;
  for (int j = 0; j < 2; j++) {
    const tsoO_Shape *s = &sh[j];
    int64_t k = 1;
    if (s->rank > os->rank) return tsoO_fail(err, TSO_ERR_ARG, "%s: output rank too small", name);
    for (int d = os->rank - 1, i = s->rank - 1; d >= 0; d--, i--) {
      if (i < 0) continue;
      if (s->d[i] != 1 && s->d[i] != os->d[d])
        return tsoO_fail(err, TSO_ERR_ARG, "%s: output shape does not match the inputs", name);
      w->st[j][d] = s->d[i] == 1 ? 0 : k;
      k *= s->d[i];
    }
  }
  for (int d = 0; d < w->r; d++) w->dim[d] = os->d[d];
  return TSO_OK;
}

/* z[k] = EXPR(u, v) over a walk of n elements, u and v the elements of
** in[0] and in[1], all of type T. */
#define BIN_LOOP(T, EXPR)                                                        \
  do {                                                                           \
    const T *x_ = in[0].data, *y_ = in[1].data;                                  \
    T *z_ = out[0].data;                                                         \
    for (int64_t k = 0; k < n; k++, tsoO_walk_next(&w)) {                        \
      T u = x_[w.off[0]], v = y_[w.off[1]];                                      \
      z_[k] = EXPR;                                                              \
    }                                                                            \
  } while (0)

/* Reference kernel of Add, Sub, Mul, Div and scalar-mul. */
static tso_status binary_eval(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                              int nout, tsoO_Value *out, char *err) {
  const char *name = tsoO_info(op)->name;
  tsoO_Walk w;
  int bad = 0, dt = out[0].dtype;
  tso_status st = binary_walk(op, p, nin, in, nout, out, &w, err);
  if (st) return st;
  if (in[0].dtype != dt || in[1].dtype != dt)
    return tsoO_fail(err, TSO_ERR_ARG, "%s: input and output types differ", name);
  int64_t n = tsoO_numel(&out[0].shape);
  switch (dt) {
  case TSO_DT_FLOAT: BIN_LOOP(float, fbin(op, u, v)); break;
  case TSO_DT_DOUBLE: BIN_LOOP(double, dbin(op, u, v)); break;
  case TSO_DT_INT8: BIN_LOOP(int8_t, (int8_t)ibin(op, u, v, &bad)); break;
  case TSO_DT_INT16: BIN_LOOP(int16_t, (int16_t)ibin(op, u, v, &bad)); break;
  case TSO_DT_INT32: BIN_LOOP(int32_t, (int32_t)ibin(op, u, v, &bad)); break;
  case TSO_DT_INT64: BIN_LOOP(int64_t, ibin(op, u, v, &bad)); break;
  case TSO_DT_UINT8: BIN_LOOP(uint8_t, (uint8_t)ubin(op, u, v, &bad)); break;
  case TSO_DT_UINT16: BIN_LOOP(uint16_t, (uint16_t)ubin(op, u, v, &bad)); break;
  case TSO_DT_UINT32: BIN_LOOP(uint32_t, (uint32_t)ubin(op, u, v, &bad)); break;
  case TSO_DT_UINT64: BIN_LOOP(uint64_t, ubin(op, u, v, &bad)); break;
  default:
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s not handled", name,
                     tsoO_dtype_name(dt));
  }
  if (bad) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: integer division by zero", name);
  return TSO_OK;
}

/* ======================================================================
** Pow
** ====================================================================== */

/* Element k of a numeric array of type dt as a double (NaN for a type
** that is not one of arith_type's). */
static double num_at(int dt, const void *v, int64_t k) {
  switch (dt) {
  case TSO_DT_FLOAT: return ((const float *)v)[k];
  case TSO_DT_DOUBLE: return ((const double *)v)[k];
  case TSO_DT_INT8: return ((const int8_t *)v)[k];
  case TSO_DT_INT16: return ((const int16_t *)v)[k];
  case TSO_DT_INT32: return ((const int32_t *)v)[k];
  case TSO_DT_INT64: return (double)((const int64_t *)v)[k];
  case TSO_DT_UINT8: return ((const uint8_t *)v)[k];
  case TSO_DT_UINT16: return ((const uint16_t *)v)[k];
  case TSO_DT_UINT32: return ((const uint32_t *)v)[k];
  case TSO_DT_UINT64: return (double)((const uint64_t *)v)[k];
  default: return NAN;
  }
}

/* x to the power e by squaring, modulo 2^64. */
static uint64_t ipow(uint64_t x, uint64_t e) {
  uint64_t r = 1;
  for (; e; e >>= 1, x *= x)
    if (e & 1u) r *= x;
  return r;
}

/* One integer power x^y of an int32/int64 base (lo, hi: the range of its
** type): an integer exponent by wrapping multiplication, a float one in
** double precision truncated toward zero. *bad on a negative integer
** exponent or a float result that is not finite or out of the range. */
static int64_t int_pow(int64_t x, const tsoO_Value *e, int64_t k, double lo, double hi,
                       int *bad) {
  if (e->dtype == TSO_DT_INT32 || e->dtype == TSO_DT_INT64) {
    int64_t y = e->dtype == TSO_DT_INT32 ? ((const int32_t *)e->data)[k]
                                         : ((const int64_t *)e->data)[k];
    if (y < 0) { *bad = 1; return 0; }
    return (int64_t)ipow((uint64_t)x, (uint64_t)y);
  }
  double r = trunc(pow((double)x, num_at(e->dtype, e->data, k)));
  if (!(r >= lo && r <= hi)) { *bad = 1; return 0; }
  return (int64_t)r;
}

/* Reference kernel of Pow (types: see pow_types). */
static tso_status pow_eval(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                           int nout, tsoO_Value *out, char *err) {
  tsoO_Walk w;
  int bad = 0, bt = in[0].dtype, et = in[1].dtype;
  tso_status st = binary_walk(op, p, nin, in, nout, out, &w, err);
  if (st) return st;
  if (out[0].dtype != bt || !bt || !et || !pow_types(bt, et))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pow: %s base with %s exponent not handled",
                     tsoO_dtype_name(bt), tsoO_dtype_name(et));
  int64_t n = tsoO_numel(&out[0].shape);
  const void *x = in[0].data;
  for (int64_t k = 0; k < n; k++, tsoO_walk_next(&w)) {
    int64_t i = w.off[0], j = w.off[1];
    if (bt == TSO_DT_FLOAT && et == TSO_DT_FLOAT)
      ((float *)out[0].data)[k] = powf(((const float *)x)[i], ((const float *)in[1].data)[j]);
    else if (bt == TSO_DT_FLOAT) /* as numpy: in double precision, rounded once */
      ((float *)out[0].data)[k] =
          (float)pow((double)((const float *)x)[i], num_at(et, in[1].data, j));
    else if (bt == TSO_DT_INT32)
      ((int32_t *)out[0].data)[k] =
          (int32_t)int_pow(((const int32_t *)x)[i], &in[1], j, INT32_MIN, INT32_MAX, &bad);
    else
      ((int64_t *)out[0].data)[k] =
          int_pow(((const int64_t *)x)[i], &in[1], j, -0x1p63, 0x1p63 - 1024.0, &bad);
  }
  if (bad)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "pow: an integer result is undefined (negative integer exponent or out of range)");
  return TSO_OK;
}

/* ======================================================================
** Attributes (parse and emit)
** ====================================================================== */

/* The first opset whose form of element-wise operator op this file
** implements (Erf appeared in 9). */
static int elem_first(int op) { return op == TSO_OP_ERF ? 9 : 1; }

/* Element-wise operators: no attributes (opsets 1..5 also allowed a
** 'consumed_inputs' hint, which is refused), except below opset 7 the
** binary ones: 'broadcast' (0 or 1) and, with broadcast=1, a non-negative
** 'axis' (see BC_*). */
static tso_status parse_elem(int op, tsoO_Params *p, const tsoO_Attr *a, int na, int opset,
                             char *err) {
  static const char *const legacy[] = {"broadcast", "axis", NULL};
  const char *name = tsoO_info(op)->name;
  int64_t bc, ax;
  int old = is_binary(op) && opset < 7;
  tso_status st = tsoO_parse_begin(opset, elem_first(op), a, na, old ? legacy : NULL, name, err);
  if (st || !old) return st;
  if ((st = tsoO_attr_int(a, na, "broadcast", 0, 0, 1, &bc, name, err)) ||
      (st = tsoO_attr_int(a, na, "axis", 0, bc ? 0 : INT64_MIN, bc ? TSO_MAX_RANK - 1 : INT64_MAX,
                     &ax, name, err)))
    return st;
  BCAST(p) = !bc ? BC_EQUAL : tsoO_attr_find(a, na, "axis") ? BC_AXIS : BC_SUFFIX;
  if (BCAST(p) == BC_AXIS) BCAST_AXIS(p) = (int32_t)ax;
  return TSO_OK;
}

/* Writes a binary operator's legacy 'broadcast' and 'axis' below opset 7;
** numpy broadcasting cannot be written there, nor a legacy mode from 7 on. */
static tso_status emit_elem(int op, const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = tsoO_emit_begin(out, opset, elem_first(op));
  if (st || !is_binary(op)) return st;
  int bc = BCAST(p);
  if (bc < BC_NUMPY || bc > BC_AXIS || (opset < 7) != (bc != BC_NUMPY)) return TSO_ERR_UNSUPPORTED;
  if (bc == BC_SUFFIX || bc == BC_AXIS) st = tsoO_put_int(out, "broadcast", 1);
  if (!st && bc == BC_AXIS) st = tsoO_put_int(out, "axis", BCAST_AXIS(p));
  return st;
}

/* The four functions of a binary and of a unary element-wise operator. */
#define ELEMWISE(EN, INFER, EVAL)                                                              \
  tso_status tsoO_parse_##EN(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,   \
                             int opset, char *err) {                                          \
    (void)nin; (void)nout;                                                                    \
    return parse_elem(TSO_OP_##EN, p, a, na, opset, err);                                     \
  }                                                                                           \
  tso_status tsoO_emit_##EN(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {             \
    return emit_elem(TSO_OP_##EN, p, opset, out);                                             \
  }                                                                                           \
  tso_status tsoO_infer_##EN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,   \
                             tsoO_Value *out, char *err) {                                    \
    return INFER(TSO_OP_##EN, p, nin, in, nout, out, err);                                    \
  }                                                                                           \
  tso_status tsoO_eval_##EN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,    \
                            tsoO_Value *out, char *err) {                                     \
    return EVAL(TSO_OP_##EN, p, nin, in, nout, out, err);                                     \
  }

/* ======================================================================
** Unary math
** ====================================================================== */

/* Inference of the float unary operators: same shape, float32 only. */
static tso_status unary_infer(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                              int nout, tsoO_Value *out, char *err) {
  const char *name = tsoO_info(op)->name;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, name, err);
  (void)p;
  if (st) return st;
  if (in[0].dtype != TSO_DT_FLOAT && in[0].dtype != TSO_DT_UNDEFINED)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s not handled", name,
                     tsoO_dtype_name(in[0].dtype));
  return tsoO_set_out(&out[0], in[0].dtype, &in[0].shape, name, err);
}

/* One float result of a unary op. */
static float fun1(int op, float x) {
  switch (op) {
  case TSO_OP_RELU: return x < 0.0f ? 0.0f : x; /* NaN passes through */
  case TSO_OP_SIGMOID: return 1.0f / (1.0f + expf(-x));
  case TSO_OP_TANH: return tanhf(x);
  case TSO_OP_ERF: return erff(x);
  default: return sqrtf(x); /* SQRT */
  }
}

/* Reference kernel of the float unary operators. */
static tso_status unary_eval(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                             int nout, tsoO_Value *out, char *err) {
  const char *name = tsoO_info(op)->name;
  tso_status st = tsoO_arity(nin, 1, 1, nout, 1, 1, name, err);
  (void)p;
  if (st || (st = tsoO_need(&in[0], name, err)) || (st = tsoO_need(&out[0], name, err))) return st;
  int64_t n = tsoO_numel(&in[0].shape);
  if (in[0].dtype != TSO_DT_FLOAT || out[0].dtype != TSO_DT_FLOAT ||
      n != tsoO_numel(&out[0].shape))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: needs float32 input and output", name);
  const float *x = in[0].data;
  float *y = out[0].data;
  for (int64_t k = 0; k < n; k++) y[k] = fun1(op, x[k]);
  return TSO_OK;
}

/* ======================================================================
** The operators
** ====================================================================== */

ELEMWISE(ADD, binary_infer, binary_eval)
ELEMWISE(SUB, binary_infer, binary_eval)
ELEMWISE(MUL, binary_infer, binary_eval)
ELEMWISE(DIV, binary_infer, binary_eval)
ELEMWISE(POW, binary_infer, pow_eval)
ELEMWISE(RELU, unary_infer, unary_eval)
ELEMWISE(SIGMOID, unary_infer, unary_eval)
ELEMWISE(TANH, unary_infer, unary_eval)
ELEMWISE(ERF, unary_infer, unary_eval)
ELEMWISE(SQRT, unary_infer, unary_eval)

/* Scalar-mul exists only inside the optimizer: no ONNX form. */
tso_status tsoO_parse_SCALAR_MUL(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                                 int opset, char *err) {
  (void)p; (void)a; (void)na; (void)nin; (void)nout; (void)opset;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "smul: no ONNX form");
}

/* See tsoO_parse_SCALAR_MUL. */
tso_status tsoO_emit_SCALAR_MUL(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p; (void)opset; (void)out;
  return TSO_ERR_UNSUPPORTED;
}

/* Scalar-mul: input 0 times input 1, a rank-0 tensor of the same type (one
** of Mul's); the output has input 0's shape. */
tso_status tsoO_infer_SCALAR_MUL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                 tsoO_Value *out, char *err) {
  return binary_infer(TSO_OP_SCALAR_MUL, p, nin, in, nout, out, err);
}

/* See tsoO_infer_SCALAR_MUL. */
tso_status tsoO_eval_SCALAR_MUL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                tsoO_Value *out, char *err) {
  return binary_eval(TSO_OP_SCALAR_MUL, p, nin, in, nout, out, err);
}
