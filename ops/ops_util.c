/*
** ops_util.c -- the helpers declared in ops_impl.h, each defined once for
** all the operator files: attribute readers for parse(), attribute writers
** for emit(), the arity, optional-input, output-shape, axis and
** integer-argument helpers of infer() and eval(), strided copies, and the
** checks of the float operators (ops_nn.c, ops_gen.c). The contracts are
** in ops_impl.h.
**
** Invariants: no helper keeps state or allocates; a failing helper writes
** one message, prefixed with the operator name, into err when err is not
** NULL, and leaves its outputs at their defaults (attribute readers) or
** untouched (the others, except where ops_impl.h says otherwise).
*/
#include <string.h>

#include "ops_impl.h"

/* ======================================================================
** parse: attribute readers
** ====================================================================== */

const tsoO_Attr *tsoO_attr_unknown(const tsoO_Attr *a, int na, const char *const *names) {
  for (int i = 0; i < na; i++) {
    int ok = 0;
    for (int j = 0; names && names[j] && !ok; j++)
      ok = a[i].name && strcmp(a[i].name, names[j]) == 0;
    if (!ok) return &a[i];
  }
  return NULL;
}

tso_status tsoO_parse_begin(int opset, int lo, const tsoO_Attr *a, int na,
                            const char *const *names, const char *op, char *err) {
  if (opset < lo || opset > TSO_OPSET_MAX)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: opset %d not handled (only %d..%d)", op,
                     opset, lo, TSO_OPSET_MAX);
  const tsoO_Attr *u = tsoO_attr_unknown(a, na, names);
  if (u)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' not handled at opset %d",
                     op, u->name ? u->name : "(null)", opset);
  return TSO_OK;
}

tso_status tsoO_attr_int(const tsoO_Attr *a, int na, const char *name, int64_t def, int64_t lo,
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

tso_status tsoO_attr_float(const tsoO_Attr *a, int na, const char *name, float def, float *v,
                           const char *op, char *err) {
  const tsoO_Attr *t = tsoO_attr_find(a, na, name);
  *v = def;
  if (!t) return TSO_OK;
  if (t->kind != TSO_ATTR_FLOAT)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' must be a float", op, name);
  *v = t->f;
  return TSO_OK;
}

tso_status tsoO_attr_ints(const tsoO_Attr *a, int na, const char *name, int max,
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

/* ======================================================================
** emit: attribute writers
** ====================================================================== */

void tsoO_emit_clear(tsoO_AttrSet *o) { memset(o, 0, sizeof *o); }

tso_status tsoO_emit_begin(tsoO_AttrSet *out, int opset, int lo) {
  tsoO_emit_clear(out);
  return opset < lo || opset > TSO_OPSET_MAX ? TSO_ERR_UNSUPPORTED : TSO_OK;
}

/* Appends a zeroed attribute slot of the given name and kind, NULL when
** the set is full. */
static tso_attr *put(tsoO_AttrSet *o, const char *name, tso_attr_kind kind) {
  if (o->n >= TSO_MAX_ATTRS) return NULL;
  tso_attr *t = &o->a[o->n++];
  memset(t, 0, sizeof *t);
  t->name = name;
  t->kind = kind;
  return t;
}

tso_status tsoO_put_int(tsoO_AttrSet *o, const char *name, int64_t v) {
  tso_attr *t = put(o, name, TSO_ATTR_INT);
  if (!t) return TSO_ERR_LIMIT;
  t->i = v;
  return TSO_OK;
}

tso_status tsoO_put_float(tsoO_AttrSet *o, const char *name, float v) {
  tso_attr *t = put(o, name, TSO_ATTR_FLOAT);
  if (!t) return TSO_ERR_LIMIT;
  t->f = v;
  return TSO_OK;
}

tso_status tsoO_put_str(tsoO_AttrSet *o, const char *name, const char *s) {
  tso_attr *t = put(o, name, TSO_ATTR_STRING);
  if (!t) return TSO_ERR_LIMIT;
  t->s = s;
  return TSO_OK;
}

tso_status tsoO_put_ints(tsoO_AttrSet *o, const char *name, const int32_t *v, int n) {
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
** infer and eval: inputs, outputs, axes
** ====================================================================== */

int tsoO_absent(int nin, const tsoO_Value *in, int i) {
  return i >= nin || (in[i].dtype == TSO_DT_UNDEFINED && in[i].data == NULL);
}

int tsoO_given(int nin, const tsoO_Value *in, int i) {
  if (i >= nin) return 0;
  const tsoO_Value *v = &in[i];
  return !(v->dtype == TSO_DT_UNDEFINED && v->data == NULL && v->shape.rank == 0);
}

int tsoO_has_data(int nin, const tsoO_Value *in, int i) {
  return i < nin && in[i].data != NULL;
}

tso_status tsoO_arity(int nin, int inlo, int inhi, int nout, int outlo, int outhi,
                      const char *op, char *err) {
  if (nin < inlo || nin > inhi || nout < outlo || nout > outhi)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s: %d inputs and %d outputs (expected %d..%d, %d..%d)",
                     op, nin, nout, inlo, inhi, outlo, outhi);
  return TSO_OK;
}

tso_status tsoO_need(const tsoO_Value *v, const char *op, char *err) {
  int64_t n = tsoO_numel(&v->shape);
  if (n < 0 || (n > 0 && !v->data) || tsoO_dtype_size(v->dtype) == 0)
    return tsoO_fail(err, TSO_ERR_ARG, "%s: value without known shape, type or data", op);
  return TSO_OK;
}

tsoO_Shape tsoO_unknown_shape(int rank) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.d[i] = -1;
  return s;
}

tso_status tsoO_set_out(tsoO_Value *o, int dtype, const tsoO_Shape *s, const char *op, char *err) {
  tsoO_Shape c;
  char b[TSO_SHAPESTR];
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

int tsoO_axis_index(int64_t axis, int rank) {
  if (axis < -(int64_t)rank || axis >= rank) return -1;
  return (int)(axis < 0 ? axis + rank : axis);
}

tso_status tsoO_norm_axis(int64_t axis, int rank, const char *op, int64_t *out, char *err) {
  int k = tsoO_axis_index(axis, rank);
  if (k < 0)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axis %lld outside [%d, %d]", op, (long long)axis,
                     -rank, rank - 1);
  *out = k;
  return TSO_OK;
}

/* ======================================================================
** Shapes, integer argument inputs, strided copies
** ====================================================================== */

int64_t tsoO_dim_product(const tsoO_Shape *s, int lo, int hi) {
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

void tsoO_strides(const tsoO_Shape *s, int64_t *st) {
  int64_t k = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = k;
    k *= s->d[i];
  }
}

tso_status tsoO_int_arg(const tsoO_Value *v, int64_t max, const char *op, const char *what,
                        tsoO_IntArg *a, char *err) {
  char b[TSO_SHAPESTR];
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

int64_t tsoO_int_at(const tsoO_IntArg *a, int64_t k) {
  if (a->dtype == TSO_DT_INT32) return ((const int32_t *)a->data)[k];
  return ((const int64_t *)a->data)[k];
}

tso_status tsoO_axes_mask(const tsoO_IntArg *a, const int32_t *pa, int n, int rank,
                          const char *op, unsigned *mask, int64_t *ax, char *err) {
  *mask = 0;
  for (int i = 0; i < n; i++) {
    int64_t v = pa ? pa[i] : tsoO_int_at(a, i);
    tso_status st = tsoO_norm_axis(v, rank, op, &ax[i], err);
    if (st) return st;
    if (*mask & (1u << ax[i]))
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axis %lld repeated", op, (long long)v);
    *mask |= 1u << ax[i];
  }
  return TSO_OK;
}

void tsoO_copy_view(char *dst, const char *src, size_t esz, int r, const int64_t *dims,
                    const int64_t *st, int64_t off) {
  tsoO_Walk w;
  memset(&w, 0, sizeof w);
  w.r = r;
  int64_t n = 1;
  for (int i = 0; i < r; i++) {
    w.dim[i] = dims[i];
    w.st[0][i] = st[i];
    n *= dims[i];
  }
  w.off[0] = off;
  for (int64_t k = 0; k < n; k++, tsoO_walk_next(&w))
    memcpy(dst + (size_t)k * esz, src + (size_t)w.off[0] * esz, esz);
}

/* ======================================================================
** The float operators (ops_nn.c, ops_gen.c)
** ====================================================================== */

tso_status tsoO_check_arity(int nin, int min_in, int nout, int max_out, const char *op, char *err) {
  if (nin < min_in) return tsoO_fail(err, TSO_ERR_ARG, "%s: needs %d inputs, got %d", op, min_in, nin);
  if (nout < 1) return tsoO_fail(err, TSO_ERR_ARG, "%s: needs an output", op);
  if (nout > max_out)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: only %d output(s) supported, got %d", op,
                     max_out, nout);
  return TSO_OK;
}

tso_status tsoO_check_float(const tsoO_Value *v, const char *what, const char *op, char *err) {
  if (v->dtype != TSO_DT_FLOAT && v->dtype != TSO_DT_UNDEFINED)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: input %s is %s; only float32 is supported", op,
                     what, tsoO_dtype_name(v->dtype));
  if (v->shape.rank < -1 || v->shape.rank > TSO_MAX_RANK)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: input %s has invalid rank %d", op, what,
                     (int)v->shape.rank);
  return TSO_OK;
}

int64_t tsoO_dim(const tsoO_Value *v, int i) {
  return (v->shape.rank > i && i >= 0) ? v->shape.d[i] : -1;
}

void tsoO_set_float_out(tsoO_Value *out, int rank, const int64_t *d) {
  memset(&out->shape, 0, sizeof out->shape);
  out->dtype = TSO_DT_FLOAT;
  out->shape.rank = rank;
  for (int i = 0; i < rank; i++) out->shape.d[i] = d[i];
}

tso_status tsoO_check_out_size(const tsoO_Value *out, const char *op, char *err) {
  char b[TSO_SHAPESTR];
  for (int i = 0; i < out->shape.rank; i++)
    if (out->shape.d[i] > TSO_MAX_DIM)
      return tsoO_fail(err, TSO_ERR_LIMIT, "%s: output dimension %lld is too large", op,
                       (long long)out->shape.d[i]);
  if (tsoO_shape_known(&out->shape) && tsoO_numel(&out->shape) < 0)
    return tsoO_fail(err, TSO_ERR_LIMIT, "%s: output %s has too many elements", op,
                     tsoO_shape_str(&out->shape, b, sizeof b));
  return TSO_OK;
}

/* 1 if two shapes are identical. */
static int shape_eq(const tsoO_Shape *a, const tsoO_Shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i]) return 0;
  return 1;
}

tso_status tsoO_eval_begin(tsoO_InferFn infer, const tsoO_Params *p, int nin, const tsoO_Value *in,
                           int nout, tsoO_Value *out, int nreq, const char *op, char *err) {
  tsoO_Value tmp[4];
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  if (nout < 1 || nout > 4 || !out)
    return tsoO_fail(err, TSO_ERR_ARG, "%s: no output buffer", op);
  for (int k = 0; k < nout; k++)
    if (!out[k].data) return tsoO_fail(err, TSO_ERR_ARG, "%s: no buffer for output %d", op, k);
  for (int i = 0; i < nin; i++) {
    if (i < nreq && !in[i].data)
      return tsoO_fail(err, TSO_ERR_ARG, "%s: input %d has no data", op, i);
    if (!in[i].data && tsoO_given(nin, in, i)) /* never drop a given optional input silently */
      return tsoO_fail(err, TSO_ERR_ARG,
                       "%s: optional input %d has no data (pass absent inputs as zeroed values)", op, i);
    if (in[i].data && (in[i].dtype == TSO_DT_UNDEFINED || !tsoO_shape_known(&in[i].shape)))
      return tsoO_fail(err, TSO_ERR_ARG, "%s: input %d has data but no known dtype and shape", op,
                       i);
  }
  memset(tmp, 0, sizeof tmp);
  tso_status st = infer(p, nin, in, nout, tmp, err);
  if (st) return st;
  for (int k = 0; k < nout; k++)
    if (!shape_eq(&tmp[k].shape, &out[k].shape))
      return tsoO_fail(err, TSO_ERR_ARG, "%s: output %d buffer is %s, expected %s", op, k,
                       tsoO_shape_str(&out[k].shape, b1, sizeof b1),
                       tsoO_shape_str(&tmp[k].shape, b2, sizeof b2));
  return TSO_OK;
}
