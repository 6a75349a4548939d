/*
** ops_tensor.c -- element-wise arithmetic and data-movement operators:
** ONNX attribute parsing and writing, shape and type inference, and the
** reference kernels of Add Sub Mul Div Pow, scalar-mul, Relu Sigmoid Tanh
** Erf Sqrt, Transpose Concat Split Reshape Flatten Squeeze Unsqueeze
** Identity Dropout Constant Pad Shape Gather Slice, and the opaque
** placeholder. Also the numpy broadcasting rule, tsoO_broadcast_shape.
**
** Invariants:
**   - parse() accepts only the attribute names its opset defines (up to
**     21, and down to the first opset whose form of the operator it
**     implements exactly: 1 for most, 2 Pad, 5 Reshape, 7 Dropout, 9 Erf)
**     and refuses, with TSO_ERR_UNSUPPORTED, whatever it could get wrong;
**     for every p that parse() produces, parse(emit(p)) == p.
**   - Below opset 7 Add Sub Mul Div Pow do not broadcast like numpy: B is
**     broadcast to A only with broadcast=1, aligned at 'axis' or at the
**     end. parse() records that in p->axis.legacy (BC_* below, never 0
**     below opset 7, always 0 from 7 on), so a node with legacy != 0 is
**     neither numpy-broadcasting nor commutative.
**   - infer() reads input data only through non-NULL pointers; what it
**     cannot determine becomes an unknown rank (-1) or dimension (-1),
**     never an error.
**   - An optional input is absent when its index is >= nin or it has neither
**     a type nor data (dtype TSO_DT_UNDEFINED, data NULL: how the graph hands
**     over a missing input). A required argument input (Reshape's shape,
**     Slice's starts/ends, Pad's pads, Unsqueeze's axes) of unknown type is
**     merely unknown. At eval time every present input has data.
**   - eval() moves elements of tsoO_dtype_size() bytes, so data movement
**     works for every fixed-size dtype. Add/Sub/Mul/Div/scalar-mul compute
**     float32, float64 and every 8..64-bit integer type (wrapping; division
**     truncates toward zero; a division by zero is refused); Pow computes a
**     float32 base with a float or integer exponent and an int32/int64 base
**     with an int32/int64/float32/float64 exponent, the result of the
**     base's type;
**     the unary operators are float32 only.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"


#define OPSET_MAX 21
#define SSTR 128                 /* room for a shape string */
#define ALLOWZERO(p) ((p)->reshape.allowzero)
#define NSIZES_MAX ((int)(sizeof ((tsoO_Params *)0)->split.sizes / sizeof(int32_t)))
#define NPADS_MAX (2 * TSO_MAX_RANK)

/* ======================================================================
** Attribute helpers (parse and emit)
** ====================================================================== */

/* Fails unless opset is in [lo, OPSET_MAX], the range whose forms of the
** operator this file knows, or an attribute is not one of `names`
** (NULL-terminated, NULL for none). */
static tso_status parse_begin(int opset, int lo, const tsoO_Attr *a, int na,
                              const char *const *names, const char *op, char *err) {
  if (opset < lo || opset > OPSET_MAX)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: opset %d not handled (only %d..%d)", op,
                     opset, lo, OPSET_MAX);
  for (int i = 0; i < na; i++) {
    int ok = 0;
    for (int j = 0; names && names[j] && !ok; j++)
      ok = a[i].name && strcmp(a[i].name, names[j]) == 0;
    if (!ok)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' not handled at opset %d",
                       op, a[i].name ? a[i].name : "(null)", opset);
  }
  return TSO_OK;
}

/* Reads INT attribute `name` into *v (def when absent); refuses another
** kind and values outside [lo, hi]. */
static tso_status attr_int(const tsoO_Attr *a, int na, const char *name, int64_t def, int64_t lo,
                           int64_t hi, int64_t *v, const char *op, char *err) {
  const tsoO_Attr *t = tsoO_attr_find(a, na, name);
  *v = def;
  if (!t) return TSO_OK;
  if (t->kind != TSO_ATTR_INT)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' must be an int", op, name);
  if (t->i < lo || t->i > hi)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: %s=%lld outside [%lld, %lld]", op, name,
                     (long long)t->i, (long long)lo, (long long)hi);
  *v = t->i;
  return TSO_OK;
}

/* Reads FLOAT attribute `name` into *v (def when absent). */
static tso_status attr_float(const tsoO_Attr *a, int na, const char *name, float def, float *v,
                             const char *op, char *err) {
  const tsoO_Attr *t = tsoO_attr_find(a, na, name);
  *v = def;
  if (!t) return TSO_OK;
  if (t->kind != TSO_ATTR_FLOAT)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' must be a float", op, name);
  *v = t->f;
  return TSO_OK;
}

/* Finds INTS attribute `name`: *n = -1 when absent; refuses another kind,
** more than max values and values outside int32. */
static tso_status attr_ints(const tsoO_Attr *a, int na, const char *name, int max,
                            const int64_t **v, int *n, const char *op, char *err) {
  const tsoO_Attr *t = tsoO_attr_find(a, na, name);
  *n = -1;
  *v = NULL;
  if (!t) return TSO_OK;
  if (t->kind != TSO_ATTR_INTS || t->n < 0 || (t->n > 0 && !t->ints))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' must be a list of ints", op,
                     name);
  if (t->n > max)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: %d values in '%s', at most %d handled", op,
                     t->n, name, max);
  for (int i = 0; i < t->n; i++)
    if (t->ints[i] < INT32_MIN || t->ints[i] > INT32_MAX)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: %s[%d]=%lld out of range", op, name, i,
                       (long long)t->ints[i]);
  *n = t->n;
  *v = t->ints;
  return TSO_OK;
}

/* Clears `out` and fails for an opset outside [lo, OPSET_MAX]. */
static tso_status emit_begin(tsoO_AttrSet *out, int opset, int lo) {
  memset(out, 0, sizeof *out);
  return opset < lo || opset > OPSET_MAX ? TSO_ERR_UNSUPPORTED : TSO_OK;
}

/* Appends an attribute slot of the given kind, NULL when the set is full. */
static tso_attr *put(tsoO_AttrSet *o, const char *name, tso_attr_kind kind) {
  if (o->n >= TSO_MAX_ATTRS) return NULL;
  tso_attr *t = &o->a[o->n++];
  memset(t, 0, sizeof *t);
  t->name = name;
  t->kind = kind;
  return t;
}

/* Appends an INT attribute. */
static tso_status put_int(tsoO_AttrSet *o, const char *name, int64_t v) {
  tso_attr *t = put(o, name, TSO_ATTR_INT);
  if (!t) return TSO_ERR_LIMIT;
  t->i = v;
  return TSO_OK;
}

/* Appends a FLOAT attribute. */
static tso_status put_float(tsoO_AttrSet *o, const char *name, float v) {
  tso_attr *t = put(o, name, TSO_ATTR_FLOAT);
  if (!t) return TSO_ERR_LIMIT;
  t->f = v;
  return TSO_OK;
}

/* Appends a STRING attribute (s must be static). */
static tso_status put_str(tsoO_AttrSet *o, const char *name, const char *s) {
  tso_attr *t = put(o, name, TSO_ATTR_STRING);
  if (!t) return TSO_ERR_LIMIT;
  t->s = s;
  return TSO_OK;
}

/* Appends an INTS attribute whose values are copied into o->pool. */
static tso_status put_ints(tsoO_AttrSet *o, const char *name, const int32_t *v, int n) {
  int cap = (int)(sizeof o->pool / sizeof o->pool[0]);
  if (n < 0 || o->npool + n > cap) return TSO_ERR_LIMIT;
  tso_attr *t = put(o, name, TSO_ATTR_INTS);
  if (!t) return TSO_ERR_LIMIT;
  int64_t *dst = o->pool + o->npool;
  for (int i = 0; i < n; i++) dst[i] = v[i];
  o->npool += n;
  t->n = n;
  t->ints = dst;
  return TSO_OK;
}

/* ======================================================================
** Inference and evaluation helpers
** ====================================================================== */

/* 1 when optional input i is absent (see the banner). */
static int absent(int nin, const tsoO_Value *in, int i) {
  return i >= nin || (in[i].dtype == TSO_DT_UNDEFINED && in[i].data == NULL);
}

/* 1 when optional input i is absent during evaluation. */
static int eval_absent(int nin, const tsoO_Value *in, int i) {
  return i >= nin || in[i].data == NULL;
}

/* Fails with TSO_ERR_INVALID when the arities are outside the bounds. */
static tso_status arity(int nin, int inlo, int inhi, int nout, int outlo, int outhi,
                        const char *op, char *err) {
  if (nin < inlo || nin > inhi || nout < outlo || nout > outhi)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s: %d inputs and %d outputs (expected %d..%d, %d..%d)",
                     op, nin, nout, inlo, inhi, outlo, outhi);
  return TSO_OK;
}

/* A shape of the given rank (-1: unknown) whose dimensions are unknown. */
static tsoO_Shape unknown_shape(int rank) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.d[i] = -1;
  return s;
}

/* Sets an output's type and shape, refusing absurd dimensions or element
** counts (TSO_ERR_LIMIT). Dimensions past the rank are zeroed. */
static tso_status set_out(tsoO_Value *o, int dtype, const tsoO_Shape *s, const char *op,
                          char *err) {
  tsoO_Shape c;
  char b[SSTR];
  memset(&c, 0, sizeof c);
  c.rank = s->rank;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] > TSO_MAX_DIM)
      return tsoO_fail(err, TSO_ERR_LIMIT, "%s: output dimension %lld too large", op,
                       (long long)s->d[i]);
    c.d[i] = s->d[i] < 0 ? -1 : s->d[i];
  }
  if (tsoO_shape_known(&c) && tsoO_numel(&c) < 0)
    return tsoO_fail(err, TSO_ERR_LIMIT, "%s: output %s has too many elements", op,
                     tsoO_shape_str(&c, b, sizeof b));
  o->dtype = dtype;
  o->shape = c;
  return TSO_OK;
}

/* Fails (UNSUPPORTED) for a dtype whose elements have no fixed size;
** dtype 0 (unknown) passes. */
static tso_status movable(int dtype, const char *op, char *err) {
  if (dtype != TSO_DT_UNDEFINED && tsoO_dtype_size(dtype) == 0)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s not handled", op,
                     tsoO_dtype_name(dtype));
  return TSO_OK;
}

/* Normalizes axis into [0, rank) (negative counts from the back). */
static tso_status norm_axis(int64_t axis, int rank, const char *op, int64_t *out, char *err) {
  if (axis < -(int64_t)rank || axis >= rank)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axis %lld outside [%d, %d]", op, (long long)axis,
                     -rank, rank - 1);
  *out = axis < 0 ? axis + rank : axis;
  return TSO_OK;
}

/* Product of dims[lo, hi), -1 if one is unknown, TSO_MAX_NUMEL + 1 when larger. */
static int64_t dim_product(const tsoO_Shape *s, int lo, int hi) {
  int64_t n = 1;
  int unknown = 0;
  for (int i = lo; i < hi; i++) {
    if (s->d[i] < 0) unknown = 1;
    else if (s->d[i] == 0) return 0;
    else if (n > TSO_MAX_NUMEL / s->d[i]) n = TSO_MAX_NUMEL + 1;
    else n *= s->d[i];
  }
  return unknown ? -1 : n;
}

/* Row-major element strides of a known shape. */
static void strides_of(const tsoO_Shape *s, int64_t *st) {
  int64_t k = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = k;
    k *= s->d[i];
  }
}

/* An integer argument input (starts, pads, axes, a shape...): n values,
** -1 if the count is unknown; data NULL when the values are unknown. */
typedef struct IntArg {
  int64_t n;
  int dtype;
  const void *data;
} IntArg;

/* Reads the description of a rank-0/1 int32/int64 argument input. Wrong
** types or ranks and more than max values are TSO_ERR_SHAPE. */
static tso_status int_arg(const tsoO_Value *v, int64_t max, const char *op, const char *what,
                          IntArg *a, char *err) {
  char b[SSTR];
  a->n = -1;
  a->dtype = v->dtype;
  a->data = NULL;
  if (v->dtype != TSO_DT_INT64 && v->dtype != TSO_DT_INT32 && v->dtype != TSO_DT_UNDEFINED)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s must be int64 or int32, not %s", op, what,
                     tsoO_dtype_name(v->dtype));
  if (v->shape.rank > 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s must be 1-D, has shape %s", op, what,
                     tsoO_shape_str(&v->shape, b, sizeof b));
  if (v->shape.rank == 0) a->n = 1;
  else if (v->shape.rank == 1) a->n = v->shape.d[0];
  if (a->n > max)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %lld values in %s, at most %lld allowed", op,
                     (long long)a->n, what, (long long)max);
  if (a->n >= 0 && v->data && v->dtype != TSO_DT_UNDEFINED) a->data = v->data;
  return TSO_OK;
}

/* Value k of a readable integer argument. */
static int64_t int_at(const IntArg *a, int64_t k) {
  if (a->dtype == TSO_DT_INT32) return ((const int32_t *)a->data)[k];
  return ((const int64_t *)a->data)[k];
}

/* Reads a list of distinct axes from an argument input (or parameters)
** and normalizes them into [0, rank), marking them in mask. */
static tso_status axes_mask(const IntArg *a, const int32_t *pa, int n, int rank, const char *op,
                            unsigned *mask, int64_t *ax, char *err) {
  *mask = 0;
  for (int i = 0; i < n; i++) {
    int64_t v = pa ? pa[i] : int_at(a, i);
    tso_status st = norm_axis(v, rank, op, &ax[i], err);
    if (st) return st;
    if (*mask & (1u << ax[i]))
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axis %lld repeated", op, (long long)v);
    *mask |= 1u << ax[i];
  }
  return TSO_OK;
}

/* Fails (TSO_ERR_ARG) unless a value has a known shape and, when it has
** elements, data; eval()'s guard against a caller that skipped infer(). */
static tso_status need(const tsoO_Value *v, const char *op, char *err) {
  int64_t n = tsoO_numel(&v->shape);
  if (n < 0 || (n > 0 && !v->data) || tsoO_dtype_size(v->dtype) == 0)
    return tsoO_fail(err, TSO_ERR_ARG, "%s: value without known shape, type or data", op);
  return TSO_OK;
}

/* An odometer over a dense output of rank r that also follows up to two
** strided inputs: off[j] is the element offset into input j. */
typedef struct Walk {
  int r;
  int64_t dim[TSO_MAX_RANK], idx[TSO_MAX_RANK], st[2][TSO_MAX_RANK], off[2];
} Walk;

/* Advances the walk by one output element. */
static void walk_next(Walk *w) {
  for (int d = w->r - 1; d >= 0; d--) {
    w->off[0] += w->st[0][d];
    w->off[1] += w->st[1][d];
    if (++w->idx[d] < w->dim[d]) return;
    w->off[0] -= w->st[0][d] * w->dim[d];
    w->off[1] -= w->st[1][d] * w->dim[d];
    w->idx[d] = 0;
  }
}

/* Copies the strided view (dims, element strides st, start offset off) of
** src densely into dst; elements are esz bytes. */
static void copy_view(char *dst, const char *src, size_t esz, int r, const int64_t *dims,
                      const int64_t *st, int64_t off) {
  Walk w;
  memset(&w, 0, sizeof w);
  w.r = r;
  int64_t n = 1;
  for (int i = 0; i < r; i++) {
    w.dim[i] = dims[i];
    w.st[0][i] = st[i];
    n *= dims[i];
  }
  w.off[0] = off;
  for (int64_t k = 0; k < n; k++, walk_next(&w))
    memcpy(dst + (size_t)k * esz, src + (size_t)w.off[0] * esz, esz);
}

/* Copies input 0 to output 0 byte for byte (reshaping operators). */
static tso_status eval_copy(int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                            const char *op, char *err) {
  tso_status st;
  if (nin < 1 || nout < 1) return tsoO_fail(err, TSO_ERR_ARG, "%s: missing value", op);
  if ((st = need(&in[0], op, err)) || (st = need(&out[0], op, err))) return st;
  int64_t n = tsoO_numel(&in[0].shape);
  if (n != tsoO_numel(&out[0].shape) || in[0].dtype != out[0].dtype)
    return tsoO_fail(err, TSO_ERR_ARG, "%s: output does not match input", op);
  if (n > 0) memcpy(out[0].data, in[0].data, (size_t)n * tsoO_dtype_size(in[0].dtype));
  return TSO_OK;
}

/* ======================================================================
** OPAQUE, CONSTANT, SCALAR_MUL's missing ONNX form
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

/* ======================================================================
** Element-wise arithmetic
** ====================================================================== */

/* Numpy multidirectional broadcasting of a and b into *out (which may be
** a or b): an unknown rank gives an unknown rank, an unknown dimension
** against 1 stays unknown and against n > 1 (or 0) becomes n. Shapes that
** do not broadcast are TSO_ERR_SHAPE, with both named in err (may be NULL). */
tso_status tsoO_broadcast_shape(const tsoO_Shape *a, const tsoO_Shape *b, tsoO_Shape *out,
                                char *err) {
  tsoO_Shape s;
  char b1[SSTR], b2[SSTR];
  if (a->rank < 0 || b->rank < 0) {
    *out = unknown_shape(-1);
    return TSO_OK;
  }
  s = unknown_shape(a->rank > b->rank ? a->rank : b->rank);
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
  char b1[SSTR], b2[SSTR];
  int off = BCAST(p) == BC_AXIS ? BCAST_AXIS(p) : a->rank - b->rank;
  if (off < 0 || off + b->rank > a->rank)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: B %s does not fit in A %s at axis %d", name,
                     tsoO_shape_str(b, b1, sizeof b1), tsoO_shape_str(a, b2, sizeof b2), off);
  *out = unknown_shape(a->rank);
  for (int i = 0; i < a->rank; i++)
    out->d[i] = i >= off && i < off + b->rank ? b->d[i - off] : 1;
  return TSO_OK;
}

/* The output shape of a binary operator under its broadcasting mode. */
static tso_status binary_shape(int op, const tsoO_Params *p, const tsoO_Shape *a,
                               const tsoO_Shape *b, tsoO_Shape *s, char *err) {
  const char *name = tsoO_info(op)->name;
  char m[TSO_ERRMAX], b1[SSTR], b2[SSTR];
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
  char b[SSTR];
  int dt = 0;
  tso_status st = arity(nin, 2, 2, nout, 1, 1, name, err);
  if (st || (st = binary_type(op, in, &dt, err))) return st;
  if (op == TSO_OP_SCALAR_MUL) {
    if (in[1].shape.rank > 0)
      return tsoO_fail(err, TSO_ERR_SHAPE, "smul: the scalar has shape %s, not []",
                       tsoO_shape_str(&in[1].shape, b, sizeof b));
    s = in[0].shape;
  } else if ((st = binary_shape(op, p, &in[0].shape, &in[1].shape, &s, err))) {
    return st;
  }
  return set_out(&out[0], dt, &s, name, err);
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
                              int nout, tsoO_Value *out, Walk *w, char *err) {
  const char *name = tsoO_info(op)->name;
  tsoO_Shape sh[2], tmp;
  tso_status st = arity(nin, 2, 2, nout, 1, 1, name, err);
  if (st || (st = need(&in[0], name, err)) || (st = need(&in[1], name, err)) ||
      (st = need(&out[0], name, err)))
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
    for (int64_t k = 0; k < n; k++, walk_next(&w)) {                             \
      T u = x_[w.off[0]], v = y_[w.off[1]];                                      \
      z_[k] = EXPR;                                                              \
    }                                                                            \
  } while (0)

/* Reference kernel of Add, Sub, Mul, Div and scalar-mul. */
static tso_status binary_eval(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                              int nout, tsoO_Value *out, char *err) {
  const char *name = tsoO_info(op)->name;
  Walk w;
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
  Walk w;
  int bad = 0, bt = in[0].dtype, et = in[1].dtype;
  tso_status st = binary_walk(op, p, nin, in, nout, out, &w, err);
  if (st) return st;
  if (out[0].dtype != bt || !bt || !et || !pow_types(bt, et))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pow: %s base with %s exponent not handled",
                     tsoO_dtype_name(bt), tsoO_dtype_name(et));
  int64_t n = tsoO_numel(&out[0].shape);
  const void *x = in[0].data;
  for (int64_t k = 0; k < n; k++, walk_next(&w)) {
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
  tso_status st = parse_begin(opset, elem_first(op), a, na, old ? legacy : NULL, name, err);
  if (st || !old) return st;
  if ((st = attr_int(a, na, "broadcast", 0, 0, 1, &bc, name, err)) ||
      (st = attr_int(a, na, "axis", 0, bc ? 0 : INT64_MIN, bc ? TSO_MAX_RANK - 1 : INT64_MAX,
                     &ax, name, err)))
    return st;
  BCAST(p) = !bc ? BC_EQUAL : tsoO_attr_find(a, na, "axis") ? BC_AXIS : BC_SUFFIX;
  if (BCAST(p) == BC_AXIS) BCAST_AXIS(p) = (int32_t)ax;
  return TSO_OK;
}

/* Writes a binary operator's legacy 'broadcast' and 'axis' below opset 7;
** numpy broadcasting cannot be written there, nor a legacy mode from 7 on. */
static tso_status emit_elem(int op, const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, elem_first(op));
  if (st || !is_binary(op)) return st;
  int bc = BCAST(p);
  if (bc < BC_NUMPY || bc > BC_AXIS || (opset < 7) != (bc != BC_NUMPY)) return TSO_ERR_UNSUPPORTED;
  if (bc == BC_SUFFIX || bc == BC_AXIS) st = put_int(out, "broadcast", 1);
  if (!st && bc == BC_AXIS) st = put_int(out, "axis", BCAST_AXIS(p));
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

/* Inference of the float unary operators: same shape, float32 only. */
static tso_status unary_infer(int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                              int nout, tsoO_Value *out, char *err) {
  const char *name = tsoO_info(op)->name;
  tso_status st = arity(nin, 1, 1, nout, 1, 1, name, err);
  (void)p;
  if (st) return st;
  if (in[0].dtype != TSO_DT_FLOAT && in[0].dtype != TSO_DT_UNDEFINED)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s not handled", name,
                     tsoO_dtype_name(in[0].dtype));
  return set_out(&out[0], in[0].dtype, &in[0].shape, name, err);
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
  tso_status st = arity(nin, 1, 1, nout, 1, 1, name, err);
  (void)p;
  if (st || (st = need(&in[0], name, err)) || (st = need(&out[0], name, err))) return st;
  int64_t n = tsoO_numel(&in[0].shape);
  if (in[0].dtype != TSO_DT_FLOAT || out[0].dtype != TSO_DT_FLOAT ||
      n != tsoO_numel(&out[0].shape))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: needs float32 input and output", name);
  const float *x = in[0].data;
  float *y = out[0].data;
  for (int64_t k = 0; k < n; k++) y[k] = fun1(op, x[k]);
  return TSO_OK;
}

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

/* ======================================================================
** Identity and Dropout
** ====================================================================== */

/* Identity: output = input, any fixed-size type. */
tso_status tsoO_parse_IDENTITY(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                               int opset, char *err) {
  (void)p; (void)nin; (void)nout;
  return parse_begin(opset, 1, a, na, NULL, "identity", err);
}

/* Identity has no attributes. */
tso_status tsoO_emit_IDENTITY(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p;
  return emit_begin(out, opset, 1);
}

/* Identity: the output is the input's type and shape. */
tso_status tsoO_infer_IDENTITY(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               tsoO_Value *out, char *err) {
  (void)p;
  tso_status st = arity(nin, 1, 1, nout, 1, 1, "identity", err);
  if (st || (st = movable(in[0].dtype, "identity", err))) return st;
  return set_out(&out[0], in[0].dtype, &in[0].shape, "identity", err);
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
  tso_status st = parse_begin(opset, 7, a, na, opset < 12 ? old : now, "dropout", err);
  (void)nin;
  if (st) return st;
  if (opset < 10 && nout > 1)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "dropout: mask output before opset 10");
  if ((st = attr_int(a, na, "is_test", 1, 0, 1, &v, "dropout", err))) return st;
  if (v == 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "dropout: training mode (is_test=0)");
  if ((st = attr_int(a, na, "seed", 0, INT64_MIN, INT64_MAX, &v, "dropout", err)) ||
      (st = attr_float(a, na, "ratio", 0.5f, &r, "dropout", err)))
    return st;
  if (!(r >= 0.0f && r < 1.0f))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "dropout: ratio %g outside [0, 1)", (double)r);
  p->dropout.ratio = r;
  return TSO_OK;
}

/* Writes 'ratio' below opset 12 when it is not the default 0.5; from 12 on
** the ratio is an input and nothing is written. */
tso_status tsoO_emit_DROPOUT(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, 7);
  if (!st && opset < 12 && p->dropout.ratio != 0.5f) st = put_float(out, "ratio", p->dropout.ratio);
  return st;
}

/* Reads a constant training_mode: *on 1 when true, 0 when false or absent,
** -1 when unknown. */
static tso_status dropout_training(int nin, const tsoO_Value *in, int *on, char *err) {
  char b[SSTR];
  *on = 0;
  if (absent(nin, in, 2)) return TSO_OK;
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
  if (absent(nin, in, 1) || !in[1].data || tsoO_numel(&in[1].shape) != 1) return 0;
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
  tso_status st = arity(nin, 1, 3, nout, 1, 2, "dropout", err);
  if (st || (st = movable(in[0].dtype, "dropout", err))) return st;
  if (!absent(nin, in, 1) && in[1].shape.rank > 0 && tsoO_numel(&in[1].shape) != 1 &&
      tsoO_shape_known(&in[1].shape))
    return tsoO_fail(err, TSO_ERR_SHAPE, "dropout: ratio must be a scalar");
  if ((st = dropout_training(nin, in, &on, err))) return st;
  if (on == 1 && !dropout_ratio_zero(nin, in))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "dropout: training_mode is true and the ratio is not a constant 0");
  if ((st = set_out(&out[0], in[0].dtype, &in[0].shape, "dropout", err))) return st;
  if (nout > 1) st = set_out(&out[1], TSO_DT_BOOL, &in[0].shape, "dropout", err);
  return st;
}

/* Dropout at inference, or in training mode with ratio 0: copies the
** input; the mask is all true. Training with another ratio draws random
** numbers and is TSO_ERR_UNSUPPORTED. */
tso_status tsoO_eval_DROPOUT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  (void)p;
  if (!eval_absent(nin, in, 2) && *(const uint8_t *)in[2].data && !dropout_ratio_zero(nin, in))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "dropout: training_mode is true and the ratio is not 0");
  tso_status st = eval_copy(nin, in, nout, out, "dropout", err);
  if (st || nout < 2) return st;
  if ((st = need(&out[1], "dropout", err))) return st;
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
  tso_status st = parse_begin(opset, 1, a, na, names, "transpose", err);
  if (st || (st = attr_ints(a, na, "perm", TSO_MAX_RANK, &v, &n, "transpose", err))) return st;
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
  tso_status st = emit_begin(out, opset, 1);
  if (!st && p->transpose.n > 0) st = put_ints(out, "perm", p->transpose.perm, p->transpose.n);
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
  tso_status st = arity(nin, 1, 1, nout, 1, 1, "transpose", err);
  if (st || (st = movable(in[0].dtype, "transpose", err))) return st;
  int r = in[0].shape.rank;
  if (r < 0) {
    if (p->transpose.n > 0 && !is_perm(p->transpose.perm, p->transpose.n))
      return tsoO_fail(err, TSO_ERR_SHAPE, "transpose: invalid perm parameters");
    s = unknown_shape(p->transpose.n > 0 ? p->transpose.n : -1);
  } else {
    if ((st = transpose_perm(p, r, perm, err))) return st;
    s = unknown_shape(r);
    for (int i = 0; i < r; i++) s.d[i] = in[0].shape.d[perm[i]];
  }
  return set_out(&out[0], in[0].dtype, &s, "transpose", err);
}

/* Transpose: a strided copy. */
tso_status tsoO_eval_TRANSPOSE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               tsoO_Value *out, char *err) {
  int32_t perm[TSO_MAX_RANK];
  int64_t ist[TSO_MAX_RANK], st2[TSO_MAX_RANK], dims[TSO_MAX_RANK];
  tso_status st = arity(nin, 1, 1, nout, 1, 1, "transpose", err);
  if (st || (st = need(&in[0], "transpose", err)) || (st = need(&out[0], "transpose", err)))
    return st;
  int r = in[0].shape.rank;
  if ((st = transpose_perm(p, r, perm, err))) return st;
  strides_of(&in[0].shape, ist);
  for (int i = 0; i < r; i++) {
    dims[i] = in[0].shape.d[perm[i]];
    st2[i] = ist[perm[i]];
    if (out[0].shape.rank != r || out[0].shape.d[i] != dims[i])
      return tsoO_fail(err, TSO_ERR_ARG, "transpose: output shape does not match");
  }
  copy_view(out[0].data, in[0].data, tsoO_dtype_size(in[0].dtype), r, dims, st2, 0);
  return TSO_OK;
}

/* Concat: 'axis' (required from opset 4, default 1 before; negative
** counts from the back). */
tso_status tsoO_parse_CONCAT(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                             int opset, char *err) {
  static const char *const names[] = {"axis", NULL};
  int64_t v;
  (void)nin; (void)nout;
  tso_status st = parse_begin(opset, 1, a, na, names, "concat", err);
  if (st) return st;
  if (opset >= 4 && !tsoO_attr_find(a, na, "axis"))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "concat: attribute 'axis' missing");
  if ((st = attr_int(a, na, "axis", 1, INT32_MIN, INT32_MAX, &v, "concat", err))) return st;
  p->axis.axis = (int32_t)v;
  return TSO_OK;
}

/* Writes 'axis' (always: it has no default). */
tso_status tsoO_emit_CONCAT(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, 1);
  return st ? st : put_int(out, "axis", p->axis.axis);
}

/* Concat: inputs of one type and rank, equal except along the axis, whose
** dimension is the sum. */
tso_status tsoO_infer_CONCAT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                             tsoO_Value *out, char *err) {
  char b1[SSTR], b2[SSTR];
  int dt = 0, r = -1, first = -1;
  int64_t axis = 0;
  tso_status st = arity(nin, 1, TSO_VARIADIC, nout, 1, 1, "concat", err);
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
  tsoO_Shape s = unknown_shape(r);
  if (r == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "concat: inputs are scalars");
  if (r > 0) {
    if ((st = norm_axis(p->axis.axis, r, "concat", &axis, err))) return st;
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
  return set_out(&out[0], dt, &s, "concat", err);
}

/* Concat: for each slab above the axis, each input's block in turn. */
tso_status tsoO_eval_CONCAT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  int64_t axis = 0, sum = 0;
  tso_status st = arity(nin, 1, TSO_VARIADIC, nout, 1, 1, "concat", err);
  if (st || (st = need(&out[0], "concat", err))) return st;
  const tsoO_Shape *os = &out[0].shape;
  if ((st = norm_axis(p->axis.axis, os->rank, "concat", &axis, err))) return st;
  size_t esz = tsoO_dtype_size(out[0].dtype);
  for (int i = 0; i < nin; i++) {
    if ((st = need(&in[i], "concat", err))) return st;
    int ok = in[i].dtype == out[0].dtype && in[i].shape.rank == os->rank;
    for (int k = 0; ok && k < os->rank; k++) ok = k == axis || in[i].shape.d[k] == os->d[k];
    if (!ok) return tsoO_fail(err, TSO_ERR_ARG, "concat: input %d does not match the output", i);
    sum += in[i].shape.d[axis];
  }
  if (sum != os->d[axis]) return tsoO_fail(err, TSO_ERR_ARG, "concat: axis sizes do not add up");
  int64_t outer = dim_product(os, 0, (int)axis), inner = dim_product(os, (int)axis + 1, os->rank);
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
  tso_status st = parse_begin(opset, 1, a, na, opset < 13 ? v11 : opset < 18 ? v13 : v18, "split",
                              err);
  if (st || (st = attr_int(a, na, "axis", 0, INT32_MIN, INT32_MAX, &axis, "split", err)) ||
      (st = attr_ints(a, na, "split", NSIZES_MAX, &v, &n, "split", err)) ||
      (st = attr_int(a, na, "num_outputs", 0, 1, INT32_MAX, &parts, "split", err)))
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
  tso_status st = emit_begin(out, opset, 1);
  if (!st && p->split.axis != 0) st = put_int(out, "axis", p->split.axis);
  if (st) return st;
  if (p->split.nsizes > 0)
    return opset < 13 ? put_ints(out, "split", p->split.sizes, p->split.nsizes)
                      : TSO_ERR_UNSUPPORTED;
  if (opset >= 18 && p->split.sizes[0] > 0) st = put_int(out, "num_outputs", p->split.sizes[0]);
  return st;
}

/* Checks the split parameters against the arities: *src gets 0 for sizes
** in the parameters, 1 for a 'split' input, 2 for equal parts. */
static tso_status split_source(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                               int *src, char *err) {
  int ns = p->split.nsizes, has_in = !absent(nin, in, 1);
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
static tso_status split_len(const tsoO_Params *p, int src, const IntArg *sz, int64_t d, int nout,
                            int i, int64_t *len, char *err) {
  *len = -1;
  if (src == 0) *len = p->split.sizes[i];
  else if (src == 2) return d >= 0 ? equal_part(d, nout, i, len, err) : TSO_OK;
  else if (sz->data) *len = int_at(sz, i);
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
  char b[SSTR];
  int src = 0;
  int64_t axis = 0, total = 0, len;
  IntArg sz = {0, 0, NULL};
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = arity(nin, 1, 2, nout, 1, TSO_VARIADIC, "split", err);
  if (st || (st = movable(in[0].dtype, "split", err)) ||
      (st = split_source(p, nin, in, nout, &src, err)))
    return st;
  if (src == 1 && (st = int_arg(&in[1], INT64_MAX, "split", "'split'", &sz, err))) return st;
  if (src == 1 && sz.n >= 0 && sz.n != nout)
    return tsoO_fail(err, TSO_ERR_SHAPE, "split: %lld sizes for %d outputs", (long long)sz.n,
                     nout);
  if (is->rank >= 0 && (st = norm_axis(p->split.axis, is->rank, "split", &axis, err))) return st;
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
    if ((st = set_out(&out[i], in[0].dtype, &s, "split", err))) return st;
  }
  return TSO_OK;
}

/* Split: each output's part is read from the output shapes. */
tso_status tsoO_eval_SPLIT(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                           tsoO_Value *out, char *err) {
  int64_t axis = 0, sum = 0;
  tso_status st = arity(nin, 1, 2, nout, 1, TSO_VARIADIC, "split", err);
  if (st || (st = need(&in[0], "split", err))) return st;
  const tsoO_Shape *is = &in[0].shape;
  if ((st = norm_axis(p->split.axis, is->rank, "split", &axis, err))) return st;
  for (int j = 0; j < nout; j++) {
    if ((st = need(&out[j], "split", err))) return st;
    int ok = out[j].dtype == in[0].dtype && out[j].shape.rank == is->rank;
    for (int k = 0; ok && k < is->rank; k++) ok = k == axis || out[j].shape.d[k] == is->d[k];
    if (!ok) return tsoO_fail(err, TSO_ERR_ARG, "split: output %d does not match the input", j);
    sum += out[j].shape.d[axis];
  }
  if (sum != is->d[axis]) return tsoO_fail(err, TSO_ERR_ARG, "split: parts do not add up");
  size_t esz = tsoO_dtype_size(in[0].dtype);
  int64_t outer = dim_product(is, 0, (int)axis), inner = dim_product(is, (int)axis + 1, is->rank);
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
  tso_status st = parse_begin(opset, 5, a, na, opset >= 14 ? names : NULL, "reshape", err);
  if (st || (st = attr_int(a, na, "allowzero", 0, 0, 1, &v, "reshape", err))) return st;
  ALLOWZERO(p) = (int32_t)v;
  return TSO_OK;
}

/* Writes 'allowzero' when set (which needs opset 14). */
tso_status tsoO_emit_RESHAPE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, 5);
  if (st || !ALLOWZERO(p)) return st;
  return opset >= 14 ? put_int(out, "allowzero", ALLOWZERO(p)) : TSO_ERR_UNSUPPORTED;
}

/* The output shape of a reshape: 0 copies the input's dimension (unless
** allowzero), one -1 takes what is left of the element count. */
static tso_status reshape_shape(const tsoO_Params *p, const tsoO_Value *in, tsoO_Shape *s,
                                char *err) {
  char b1[SSTR], b2[SSTR];
  IntArg sh;
  int neg = -1, zero = 0, az = ALLOWZERO(p);
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = int_arg(&in[1], INT64_MAX, "reshape", "the shape", &sh, err);
  if (st) return st;
  if (az != 0 && az != 1) return tsoO_fail(err, TSO_ERR_SHAPE, "reshape: allowzero=%d", az);
  if (sh.n > TSO_MAX_RANK)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "reshape: rank %lld output", (long long)sh.n);
  *s = unknown_shape((int)sh.n);
  if (!sh.data) return TSO_OK;
  for (int i = 0; i < s->rank; i++) {
    int64_t v = int_at(&sh, i);
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
  int64_t total = is->rank >= 0 ? dim_product(is, 0, is->rank) : -1;
  if (neg >= 0) s->d[neg] = 1;
  int64_t prod = dim_product(s, 0, s->rank);
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
  tso_status st = arity(nin, 2, 2, nout, 1, 1, "reshape", err);
  if (st || (st = movable(in[0].dtype, "reshape", err)) ||
      (st = reshape_shape(p, in, &s, err)))
    return st;
  return set_out(&out[0], in[0].dtype, &s, "reshape", err);
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
  tso_status st = parse_begin(opset, 1, a, na, names, "flatten", err);
  if (st || (st = attr_int(a, na, "axis", 1, INT32_MIN, INT32_MAX, &v, "flatten", err))) return st;
  p->axis.axis = (int32_t)v;
  return TSO_OK;
}

/* Writes 'axis' unless it is the default 1. */
tso_status tsoO_emit_FLATTEN(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, 1);
  if (!st && p->axis.axis != 1) st = put_int(out, "axis", p->axis.axis);
  return st;
}

/* Flatten: [d0*..*d(axis-1), d(axis)*..*d(r-1)], axis in [-r, r]. */
tso_status tsoO_infer_FLATTEN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                              tsoO_Value *out, char *err) {
  int64_t axis = 0;
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = arity(nin, 1, 1, nout, 1, 1, "flatten", err);
  if (st || (st = movable(in[0].dtype, "flatten", err))) return st;
  tsoO_Shape s = unknown_shape(2);
  if (is->rank >= 0) {
    axis = p->axis.axis < 0 ? (int64_t)p->axis.axis + is->rank : p->axis.axis;
    if (axis < 0 || axis > is->rank)
      return tsoO_fail(err, TSO_ERR_SHAPE, "flatten: axis %d outside [%d, %d]", p->axis.axis,
                       -is->rank, is->rank);
    s.d[0] = dim_product(is, 0, (int)axis);
    s.d[1] = dim_product(is, (int)axis, is->rank);
  }
  return set_out(&out[0], in[0].dtype, &s, "flatten", err);
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
  tso_status st = parse_begin(opset, 1, a, na, opset < 13 ? names : NULL, op, err);
  if (st || (st = attr_ints(a, na, "axes", TSO_MAX_RANK, &v, &n, op, err))) return st;
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
  tso_status st = emit_begin(out, opset, 1);
  if (st || !p->axes.has_axes) return st;
  return opset < 13 ? put_ints(out, "axes", p->axes.axes, p->axes.naxes) : TSO_ERR_UNSUPPORTED;
}

/* The axes of a squeeze/unsqueeze: *src 0 none, 1 parameters, 2 input
** (a: its description; values readable when a->data). Unsqueeze's axes
** input is required, so it is never read as absent. */
static tso_status find_axes(const tsoO_Params *p, int nin, const tsoO_Value *in, int unsq,
                            int *src, IntArg *a, char *err) {
  const char *op = unsq ? "unsqueeze" : "squeeze";
  int has_in = unsq ? nin > 1 : !absent(nin, in, 1);
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
  return int_arg(&in[1], TSO_MAX_RANK, op, "axes", a, err);
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
  char b[SSTR];
  int src;
  unsigned mask = 0;
  int64_t ax[TSO_MAX_RANK];
  IntArg a = {0, 0, NULL};
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = arity(nin, 1, 2, nout, 1, 1, "squeeze", err);
  if (st || (st = movable(in[0].dtype, "squeeze", err)) ||
      (st = find_axes(p, nin, in, 0, &src, &a, err)))
    return st;
  tsoO_Shape s = unknown_shape(-1);
  if (is->rank >= 0 && a.n > is->rank)
    return tsoO_fail(err, TSO_ERR_SHAPE, "squeeze: %lld axes for %s", (long long)a.n,
                     tsoO_shape_str(is, b, sizeof b));
  if (is->rank >= 0 && src == 2 && !a.data) {
    if (a.n >= 0) s = unknown_shape(is->rank - (int)a.n);
  } else if (is->rank >= 0 && (src != 0 || tsoO_shape_known(is))) {
    if (src != 0 &&
        (st = axes_mask(&a, src == 1 ? p->axes.axes : NULL, (int)a.n, is->rank, "squeeze", &mask,
                        ax, err)))
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
  return set_out(&out[0], in[0].dtype, &s, "squeeze", err);
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
  IntArg a = {0, 0, NULL};
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = arity(nin, 1, 2, nout, 1, 1, "unsqueeze", err);
  if (st || (st = movable(in[0].dtype, "unsqueeze", err)) ||
      (st = find_axes(p, nin, in, 1, &src, &a, err)))
    return st;
  if (src == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "unsqueeze: no axes");
  tsoO_Shape s = unknown_shape(-1);
  if (is->rank >= 0 && a.n >= 0) {
    int r = is->rank + (int)a.n;
    if (r > TSO_MAX_RANK)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "unsqueeze: rank %d output", r);
    s = unknown_shape(r);
    if (src == 1 || a.data) {
      if ((st = axes_mask(&a, src == 1 ? p->axes.axes : NULL, (int)a.n, r, "unsqueeze", &mask,
                          ax, err)))
        return st;
      for (int i = 0, j = 0; i < r; i++) s.d[i] = (mask >> i) & 1u ? 1 : is->d[j++];
    }
  }
  return set_out(&out[0], in[0].dtype, &s, "unsqueeze", err);
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
  tso_status st = parse_begin(opset, 2, a, na, opset < 11 ? v2 : v11, "pad", err);
  if (st) return st;
  if (m && (m->kind != TSO_ATTR_STRING || !m->s))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: 'mode' must be a string");
  for (int i = 0; m && i < 3; i++)
    if (strcmp(m->s, padmodes[i]) == 0) mode = i;
  if (mode < 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pad: mode '%s' not handled", m->s);
  if (opset < 11) {
    if ((st = attr_ints(a, na, "pads", NPADS_MAX, &v, &n, "pad", err)) ||
        (st = attr_float(a, na, "value", 0.0f, &value, "pad", err)))
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
  tso_status st = emit_begin(out, opset, 2);
  if (st) return st;
  if (p->pad.mode < 0 || p->pad.mode > 2) return TSO_ERR_UNSUPPORTED;
  if (p->pad.mode && (st = put_str(out, "mode", padmodes[p->pad.mode]))) return st;
  if (opset >= 11) return p->pad.npads || fbits(p->pad.value) ? TSO_ERR_UNSUPPORTED : TSO_OK;
  if (p->pad.npads <= 0) return TSO_ERR_UNSUPPORTED;
  if ((st = put_ints(out, "pads", p->pad.pads, p->pad.npads))) return st;
  return fbits(p->pad.value) ? put_float(out, "value", p->pad.value) : TSO_OK;
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
  char b[SSTR];
  int r = in[0].shape.rank, np = p->pad.npads, has_ax = !absent(nin, in, 3);
  int64_t ax[TSO_MAX_RANK], nax = r;
  unsigned mask = r > 0 ? (1u << r) - 1 : 0;
  IntArg pa, aa = {0, 0, NULL};
  tso_status st;
  memset(pl, 0, sizeof *pl);
  if (p->pad.mode < 0 || p->pad.mode > 2 || np < 0 || np > NPADS_MAX || np % 2)
    return tsoO_fail(err, TSO_ERR_SHAPE, "pad: invalid parameters");
  if (np > 0) {
    if (!absent(nin, in, 1) || has_ax)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: pads both as parameters and as inputs");
    if (r >= 0 && np != 2 * r)
      return tsoO_fail(err, TSO_ERR_SHAPE, "pad: %d pads for %s", np,
                       tsoO_shape_str(&in[0].shape, b, sizeof b));
    for (int i = 0; i < r; i++) pl->b[i] = p->pad.pads[i], pl->e[i] = p->pad.pads[i + r];
    pl->known = mask;
    return TSO_OK;
  }
  if (nin < 2) return tsoO_fail(err, TSO_ERR_SHAPE, "pad: no pads");
  if ((st = int_arg(&in[1], NPADS_MAX, "pad", "pads", &pa, err)) ||
      (has_ax && (st = int_arg(&in[3], TSO_MAX_RANK, "pad", "axes", &aa, err))))
    return st;
  if (r < 0 || (has_ax && !aa.data)) return TSO_OK;
  if (has_ax) {
    nax = aa.n;
    if ((st = axes_mask(&aa, NULL, (int)nax, r, "pad", &mask, ax, err))) return st;
  } else {
    for (int i = 0; i < r; i++) ax[i] = i;
  }
  if (pa.n >= 0 && pa.n != 2 * nax)
    return tsoO_fail(err, TSO_ERR_SHAPE, "pad: %lld pads for %lld axes", (long long)pa.n,
                     (long long)nax);
  pl->known = ((r > 0 ? (1u << r) - 1 : 0) & ~mask) | (pa.data ? mask : 0);
  for (int i = 0; pa.data && i < nax; i++) {
    pl->b[ax[i]] = int_at(&pa, i);
    pl->e[ax[i]] = int_at(&pa, i + nax);
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
  char b[SSTR];
  unsigned char fill[8];
  PadPlan pl;
  const tsoO_Shape *is = &in[0].shape;
  tso_status st = arity(nin, 1, 4, nout, 1, 1, "pad", err);
  if (st || (st = movable(in[0].dtype, "pad", err)) || (st = pad_plan(p, nin, in, &pl, err)) ||
      (st = pad_fill(in[0].dtype, p->pad.value, fill, err)))
    return st;
  if (!absent(nin, in, 2)) {
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
  tsoO_Shape s = unknown_shape(is->rank);
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
  return set_out(&out[0], in[0].dtype, &s, "pad", err);
}

/* Pad: for each output element, the source element by mode, or the value. */
tso_status tsoO_eval_PAD(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                         tsoO_Value *out, char *err) {
  unsigned char fill[8];
  int64_t ist[TSO_MAX_RANK], idx[TSO_MAX_RANK] = {0};
  PadPlan pl;
  tso_status st = arity(nin, 1, 4, nout, 1, 1, "pad", err);
  if (st || (st = need(&in[0], "pad", err)) || (st = need(&out[0], "pad", err)) ||
      (st = pad_plan(p, nin, in, &pl, err)) ||
      (st = pad_fill(in[0].dtype, p->pad.value, fill, err)))
    return st;
  const tsoO_Shape *is = &in[0].shape, *os = &out[0].shape;
  int r = is->rank, mode = p->pad.mode;
  size_t esz = tsoO_dtype_size(in[0].dtype);
  int ok = os->rank == r && out[0].dtype == in[0].dtype && pl.known == (r ? (1u << r) - 1 : 0);
  for (int i = 0; ok && i < r; i++) ok = os->d[i] == is->d[i] + pl.b[i] + pl.e[i];
  if (!ok) return tsoO_fail(err, TSO_ERR_ARG, "pad: output shape does not match");
  if (!eval_absent(nin, in, 2)) {
    if (in[2].dtype != in[0].dtype)
      return tsoO_fail(err, TSO_ERR_ARG, "pad: constant_value type does not match");
    memcpy(fill, in[2].data, esz);
  }
  strides_of(is, ist);
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
  tso_status st = parse_begin(opset, 1, a, na, opset >= 15 ? names : NULL, "shape", err);
  if (st || (st = attr_int(a, na, "start", 0, INT64_MIN, INT64_MAX, &s, "shape", err)) ||
      (st = attr_int(a, na, "end", 0, INT64_MIN, INT64_MAX, &e, "shape", err)))
    return st;
  p->shape.start = clamp32(s);
  p->shape.end = clamp32(e);
  p->shape.has_end = tsoO_attr_find(a, na, "end") != NULL;
  return TSO_OK;
}

/* Writes 'start' and 'end' when set (which needs opset 15). */
tso_status tsoO_emit_SHAPE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, 1);
  if (st || (!p->shape.start && !p->shape.has_end)) return st;
  if (opset < 15) return TSO_ERR_UNSUPPORTED;
  if (p->shape.start && (st = put_int(out, "start", p->shape.start))) return st;
  return p->shape.has_end ? put_int(out, "end", p->shape.end) : TSO_OK;
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
  tso_status st = arity(nin, 1, 1, nout, 1, 1, "shape", err);
  if (st) return st;
  if (p->shape.has_end != 0 && p->shape.has_end != 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "shape: invalid parameters");
  tsoO_Shape s = unknown_shape(1);
  if (in[0].shape.rank >= 0) {
    shape_range(p, in[0].shape.rank, &lo, &hi);
    s.d[0] = hi - lo;
  }
  return set_out(&out[0], TSO_DT_INT64, &s, "shape", err);
}

/* Shape: writes the dimensions; the input's data is not read. */
tso_status tsoO_eval_SHAPE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                           tsoO_Value *out, char *err) {
  int64_t lo, hi;
  tso_status st = arity(nin, 1, 1, nout, 1, 1, "shape", err);
  if (st || (st = need(&out[0], "shape", err))) return st;
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
  tso_status st = parse_begin(opset, 1, a, na, names, "gather", err);
  if (st || (st = attr_int(a, na, "axis", 0, INT32_MIN, INT32_MAX, &v, "gather", err))) return st;
  p->axis.axis = (int32_t)v;
  return TSO_OK;
}

/* Writes 'axis' unless 0. */
tso_status tsoO_emit_GATHER(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tso_status st = emit_begin(out, opset, 1);
  if (!st && p->axis.axis != 0) st = put_int(out, "axis", p->axis.axis);
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
  char b[SSTR];
  int64_t axis = 0;
  const tsoO_Shape *ds = &in[0].shape, *qs = &in[1].shape;
  tso_status st = arity(nin, 2, 2, nout, 1, 1, "gather", err);
  if (st || (st = movable(in[0].dtype, "gather", err))) return st;
  if (in[1].dtype != TSO_DT_INT64 && in[1].dtype != TSO_DT_INT32 && in[1].dtype)
    return tsoO_fail(err, TSO_ERR_SHAPE, "gather: indices are %s, not int32/int64",
                     tsoO_dtype_name(in[1].dtype));
  if (ds->rank == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "gather: data is a scalar");
  tsoO_Shape s = unknown_shape(-1);
  if (ds->rank > 0) {
    if ((st = norm_axis(p->axis.axis, ds->rank, "gather", &axis, err))) return st;
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
    s = unknown_shape(ds->rank - 1 + qs->rank);
    int k = 0;
    for (int i = 0; i < axis; i++) s.d[k++] = ds->d[i];
    for (int i = 0; i < qs->rank; i++) s.d[k++] = qs->d[i];
    for (int i = (int)axis + 1; i < ds->rank; i++) s.d[k++] = ds->d[i];
  }
  return set_out(&out[0], in[0].dtype, &s, "gather", err);
}

/* Gather: one block of the inner dimensions per (outer, index) pair. */
tso_status tsoO_eval_GATHER(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  int64_t axis = 0;
  tso_status st = arity(nin, 2, 2, nout, 1, 1, "gather", err);
  if (st || (st = need(&in[0], "gather", err)) || (st = need(&out[0], "gather", err))) return st;
  const tsoO_Shape *ds = &in[0].shape;
  int64_t n = tsoO_numel(&in[1].shape);
  if ((st = norm_axis(p->axis.axis, ds->rank, "gather", &axis, err))) return st;
  if (n < 0 || (n > 0 && !in[1].data) ||
      (in[1].dtype != TSO_DT_INT64 && in[1].dtype != TSO_DT_INT32))
    return tsoO_fail(err, TSO_ERR_ARG, "gather: indices unusable");
  size_t esz = tsoO_dtype_size(in[0].dtype);
  int64_t d = ds->d[axis], outer = dim_product(ds, 0, (int)axis),
          inner = dim_product(ds, (int)axis + 1, ds->rank);
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
  tso_status st = parse_begin(opset, 1, a, na, opset < 10 ? v1 : NULL, "slice", err);
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
  tso_status st = emit_begin(out, opset, 1);
  int n = SL_N(p);
  if (st) return st;
  if ((opset < 10) != (n > 0) || n < 0 || n > TSO_MAX_RANK) return TSO_ERR_UNSUPPORTED;
  if (n == 0) return TSO_OK;
  if ((st = put_ints(out, "starts", SL_STARTS(p), n)) || (st = put_ints(out, "ends", SL_ENDS(p), n)))
    return st;
  return SL_HAS_AXES(p) ? put_ints(out, "axes", SL_AXES(p), n) : TSO_OK;
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
  IntArg a[4] = {{0, 0, NULL}, {0, 0, NULL}, {0, 0, NULL}, {0, 0, NULL}};
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
    a[0] = (IntArg){n, TSO_DT_INT32, SL_STARTS(p)};
    a[1] = (IntArg){n, TSO_DT_INT32, SL_ENDS(p)};
    a[2] = (IntArg){n, TSO_DT_INT32, has_ax ? SL_AXES(p) : NULL};
  } else {
    if (nin < 3) return tsoO_fail(err, TSO_ERR_SHAPE, "slice: starts and ends are required");
    for (int i = 0; i < 4; i++) {
      if (i >= 2 && absent(nin, in, i + 1)) continue;
      if ((st = int_arg(&in[i + 1], TSO_MAX_RANK, "slice", what[i], &a[i], err))) return st;
      if (a[i].n >= 0 && n >= 0 && a[i].n != n)
        return tsoO_fail(err, TSO_ERR_SHAPE, "slice: %s has %lld values, not %lld", what[i],
                         (long long)a[i].n, (long long)n);
      if (a[i].n >= 0) n = a[i].n;
      readable &= a[i].data != NULL;
    }
    has_ax = !absent(nin, in, 3);
  }
  if (r < 0) return TSO_OK;
  for (int i = 0; i < r; i++) pl->start[i] = 0, pl->step[i] = 1, pl->len[i] = is->d[i];
  if (n > r) return tsoO_fail(err, TSO_ERR_SHAPE, "slice: %lld axes for rank %d", (long long)n, r);
  if (n < 0 || (has_ax && !a[2].data)) {
    for (int i = 0; i < r; i++) pl->len[i] = -1;
    return TSO_OK;
  }
  for (int i = 0; i < n; i++) ax[i] = i;
  if (has_ax && (st = axes_mask(&a[2], NULL, (int)n, r, "slice", &mask, ax, err))) return st;
  for (int i = 0; i < n; i++) {
    int64_t step = a[3].data ? int_at(&a[3], i) : 1, d = is->d[ax[i]];
    if (a[3].data && step == 0) return tsoO_fail(err, TSO_ERR_SHAPE, "slice: step 0");
    if (attrs && d >= INT32_MAX) /* the parameters were clamped to int32 */
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "slice: dimension %lld with attribute bounds",
                       (long long)d);
    if (!readable || d < 0) pl->len[ax[i]] = -1;
    else slice_axis(int_at(&a[0], i), int_at(&a[1], i), step, d, &pl->start[ax[i]],
                    &pl->step[ax[i]], &pl->len[ax[i]]);
  }
  return TSO_OK;
}

/* Slice: per axis, the elements start, start+step, ... before end. */
tso_status tsoO_infer_SLICE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                            tsoO_Value *out, char *err) {
  SlicePlan pl;
  int lo = SL_N(p) ? 1 : 3;
  tso_status st = arity(nin, lo, lo == 1 ? 1 : 5, nout, 1, 1, "slice", err);
  if (st || (st = movable(in[0].dtype, "slice", err)) || (st = slice_plan(p, nin, in, &pl, err)))
    return st;
  tsoO_Shape s = unknown_shape(in[0].shape.rank);
  for (int i = 0; i < s.rank; i++) s.d[i] = pl.len[i];
  return set_out(&out[0], in[0].dtype, &s, "slice", err);
}

/* Slice: a strided copy. */
tso_status tsoO_eval_SLICE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                           tsoO_Value *out, char *err) {
  SlicePlan pl;
  int64_t ist[TSO_MAX_RANK], vst[TSO_MAX_RANK], off = 0;
  int lo = SL_N(p) ? 1 : 3;
  tso_status st = arity(nin, lo, lo == 1 ? 1 : 5, nout, 1, 1, "slice", err);
  if (st || (st = need(&in[0], "slice", err)) || (st = need(&out[0], "slice", err))) return st;
  for (int i = 1; i < nin; i++)
    if (!eval_absent(nin, in, i) && (st = need(&in[i], "slice", err))) return st;
  if ((st = slice_plan(p, nin, in, &pl, err))) return st;
  int r = in[0].shape.rank;
  strides_of(&in[0].shape, ist);
  for (int i = 0; i < r; i++) {
    if (out[0].shape.rank != r || pl.len[i] != out[0].shape.d[i])
      return tsoO_fail(err, TSO_ERR_ARG, "slice: output shape does not match");
    off += pl.start[i] * ist[i];
    vst[i] = pl.step[i] * ist[i];
  }
  copy_view(out[0].data, in[0].data, tsoO_dtype_size(in[0].dtype), r, pl.len, vst, off);
  return TSO_OK;
}
