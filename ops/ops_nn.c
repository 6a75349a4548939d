/*
** ops_nn.c -- neural-network operators: Conv, MatMul, Gemm, MaxPool,
** AveragePool, GlobalAveragePool, BatchNormalization, Softmax, ReduceMean,
** LayerNormalization. (The generator-only Enlarge and constant kernels are
** in ops_gen.c; the helpers shared with it, tsoO_eval_begin and the other
** float-operator checks, in ops_util.c.)
**
** For each operator: parse (ONNX attributes -> tsoO_Params), emit (the
** reverse), infer (validation, dtype and shape) and eval (float kernels).
**
** Invariants:
**   - parameters are canonical: defaults are stored explicitly (strides and
**     dilations 1, conv group 1, pool group 0, ReduceMean keepdims 1,
**     epsilons 1e-5, LayerNorm axis -1, Gemm alpha/beta 1), so equal
**     operators compare equal byte-wise, and parse(emit(p)) == p for every
**     p that ONNX can express at the given opset;
**   - infer never fails on unknown ranks or dims (-1): it computes what is
**     still determined and leaves the rest unknown;
**   - eval first re-runs infer on the actual inputs and checks the output
**     buffer against it, so a kernel never indexes outside its buffers;
**   - only float32 data is computed; infer refuses other dtypes.
**
** Absent optional inputs are those at index >= nin, or passed as a zeroed
** tsoO_Value (dtype undefined, rank 0, no data): see tsoO_given, stricter
** than the tsoO_absent of ops_tensor.c. A present input of unknown dtype is
** taken as float (it is checked again by eval).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"

#define OPSET_LATEST (1 << 20)   /* opset 0 means "current": newer than any */
#define SHS(v, b) tsoO_shape_str(&(v)->shape, (b), sizeof(b))

/* ===================================================================== */
/* Helpers of this file                                                  */
/* ===================================================================== */

/* The opset to reason about: 0 or less stands for the latest one. */
static int eff_opset(int opset) { return opset <= 0 ? OPSET_LATEST : opset; }

/* Product of dims [lo, hi) of a fully known shape. */
static int64_t prod(const tsoO_Shape *s, int lo, int hi) {
  int64_t n = 1;
  for (int i = lo; i < hi; i++) n *= s->d[i];
  return n;
}

/* ===================================================================== */
/* Attribute parsing and emission                                        */
/* ===================================================================== */

/* Refuses (TSO_ERR_UNSUPPORTED) any attribute whose name is not in the
** NULL-terminated list; unlike tsoO_parse_begin, at any opset. */
static tso_status attrs_known(const tsoO_Attr *a, int na, const char *const *names, const char *op, char *err) {
  const tsoO_Attr *u = tsoO_attr_unknown(a, na, names);
  if (u)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: unknown attribute '%s'", op, u->name ? u->name : "(null)");
  return TSO_OK;
}

/* tsoO_attr_int (an int attribute in [lo, hi]; def when absent), with this
** file's wording of the out-of-range refusal. */
static tso_status attr_int(const tsoO_Attr *a, int na, const char *name, int64_t def, int64_t lo, int64_t hi,
                           int64_t *v, const char *op, char *err) {
  tso_status st = tsoO_attr_int(a, na, name, def, INT64_MIN, INT64_MAX, v, op, err);
  if (st || !tsoO_attr_find(a, na, name) || (*v >= lo && *v <= hi)) return st;
  int64_t bad = *v;
  *v = def;
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' = %lld is not supported (range %lld..%lld)", op,
                   name, (long long)bad, (long long)lo, (long long)hi);
}

/* A boolean int attribute (any non-zero is 1) into an int32; def when absent. */
static tso_status attr_bool(const tsoO_Attr *a, int na, const char *name, int def, int32_t *v, const char *op,
                            char *err) {
  int64_t x;
  tso_status st = tsoO_attr_int(a, na, name, def, INT64_MIN, INT64_MAX, &x, op, err);
  *v = x != 0;
  return st;
}

/* A list of exactly n ints in [lo, hi] into dst; *found tells if present.
** (tsoO_attr_ints reads a list of any length up to a maximum instead.) */
static tso_status attr_fixed_ints(const tsoO_Attr *a, int na, const char *name, int n, int64_t lo, int64_t hi,
                                  int32_t *dst, int *found, const char *op, char *err) {
  const tsoO_Attr *at = tsoO_attr_find(a, na, name);
  *found = 0;
  if (!at) return TSO_OK;
  if (at->kind != TSO_ATTR_INTS || at->n < 0 || (at->n > 0 && !at->ints))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' must be a list of ints", op, name);
  if (at->n != n)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "%s: attribute '%s' has %d values, expected %d (only 2 spatial dims are supported)", op,
                     name, at->n, n);
  for (int i = 0; i < n; i++) {
    if (at->ints[i] < lo || at->ints[i] > hi)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute '%s' value %lld is not supported", op, name,
                       (long long)at->ints[i]);
    dst[i] = (int32_t)at->ints[i];
  }
  *found = 1;
  return TSO_OK;
}

/* ===================================================================== */
/* Window geometry (Conv, MaxPool, AveragePool)                          */
/* ===================================================================== */

static const char *const pad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

/* Reads kernel_shape, strides, dilations, pads and auto_pad into p->win;
** kernel_shape is required when need_kernel. */
static tso_status parse_win(const char *op, tsoO_Params *p, const tsoO_Attr *a, int na, int need_kernel,
                            char *err) {
  int32_t v[4];
  int found;
  tso_status st;
  if ((st = attr_fixed_ints(a, na, "kernel_shape", 2, 1, INT32_MAX, v, &found, op, err))) return st;
  if (found) {
    p->win.kh = v[0];
    p->win.kw = v[1];
  } else if (need_kernel) {
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute 'kernel_shape' is required", op);
  }
  p->win.sh = p->win.sw = p->win.dh = p->win.dw = 1;
  if ((st = attr_fixed_ints(a, na, "strides", 2, 1, INT32_MAX, v, &found, op, err))) return st;
  if (found) { p->win.sh = v[0]; p->win.sw = v[1]; }
  if ((st = attr_fixed_ints(a, na, "dilations", 2, 1, INT32_MAX, v, &found, op, err))) return st;
  if (found) { p->win.dh = v[0]; p->win.dw = v[1]; }
  if ((st = attr_fixed_ints(a, na, "pads", 4, 0, INT32_MAX, v, &found, op, err))) return st;
  if (found) { p->win.pt = v[0]; p->win.pl = v[1]; p->win.pb = v[2]; p->win.pr = v[3]; }
  const tsoO_Attr *ap = tsoO_attr_find(a, na, "auto_pad");
  if (ap) {
    int mode = -1;
    if (ap->kind != TSO_ATTR_STRING || !ap->s)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute 'auto_pad' must be a string", op);
    for (int i = 0; i < 4; i++)
      if (strcmp(ap->s, pad_names[i]) == 0) mode = i;
    if (mode < 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: auto_pad '%s' is not supported", op, ap->s);
    p->win.pad_mode = mode;
    if (mode != TSO_PAD_EXPLICIT && (p->win.pt | p->win.pl | p->win.pb | p->win.pr))
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: explicit pads together with auto_pad %s", op, ap->s);
  }
  return TSO_OK;
}

/* Validates the window parameters; kind: 0 conv, 1 max pool, 2 avg pool. */
static tso_status win_check(const char *op, const tsoO_Params *p, int kind, char *err) {
  const int32_t *pads = &p->win.pt;
  if (p->win.sh < 1 || p->win.sw < 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: non-positive stride %dx%d", op, (int)p->win.sh, (int)p->win.sw);
  if (p->win.dh < 1 || p->win.dw < 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: non-positive dilation %dx%d", op, (int)p->win.dh, (int)p->win.dw);
  if (p->win.pad_mode < TSO_PAD_EXPLICIT || p->win.pad_mode > TSO_PAD_VALID)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid pad mode %d", op, (int)p->win.pad_mode);
  for (int i = 0; i < 4; i++) {
    if (pads[i] < 0) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: negative pad %d", op, (int)pads[i]);
    if (pads[i] && p->win.pad_mode != TSO_PAD_EXPLICIT)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: explicit pads with an automatic pad mode", op);
  }
  if (kind == 0) {
    if (p->win.kh < 0 || p->win.kw < 0 || (p->win.kh == 0) != (p->win.kw == 0))
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid kernel_shape %dx%d", op, (int)p->win.kh, (int)p->win.kw);
    if (p->win.group < 1) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: bad group %d", op, (int)p->win.group);
    if (p->win.act != TSO_ACT_NONE && p->win.act != TSO_ACT_RELU)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid fused activation %d", op, (int)p->win.act);
    if (p->win.ceil_mode || p->win.count_include_pad)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: pooling parameters set on a convolution", op);
    return TSO_OK;
  }
  if (p->win.kh < 1 || p->win.kw < 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid kernel_shape %dx%d", op, (int)p->win.kh, (int)p->win.kw);
  if (p->win.group || p->win.act)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: convolution parameters set on a pooling", op);
  if ((p->win.ceil_mode & ~1) || (p->win.count_include_pad & ~1) || (kind == 1 && p->win.count_include_pad))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid ceil_mode/count_include_pad", op);
  return TSO_OK;
}

/* Emits the window attributes shared by conv and pools (kernel_shape only
** when set). Returns nonzero when the set overflowed. */
static int emit_win(const tsoO_Params *p, tsoO_AttrSet *o) {
  int bad = 0;
  int32_t v[4];
  if (p->win.kh) { v[0] = p->win.kh; v[1] = p->win.kw; bad |= tsoO_put_ints(o, "kernel_shape", v, 2); }
  if (p->win.sh != 1 || p->win.sw != 1) {
    v[0] = p->win.sh;
    v[1] = p->win.sw;
    bad |= tsoO_put_ints(o, "strides", v, 2);
  }
  if (p->win.pt | p->win.pl | p->win.pb | p->win.pr) bad |= tsoO_put_ints(o, "pads", &p->win.pt, 4);
  if (p->win.pad_mode != TSO_PAD_EXPLICIT) bad |= tsoO_put_str(o, "auto_pad", pad_names[p->win.pad_mode]);
  if (p->win.dh != 1 || p->win.dw != 1) {
    v[0] = p->win.dh;
    v[1] = p->win.dw;
    bad |= tsoO_put_ints(o, "dilations", v, 2);
  }
  return bad;
}

/* One spatial axis of a window operator. */
typedef struct Axis {
  int64_t in;     /* input size, -1 unknown */
  int64_t k;      /* kernel taps, -1 unknown */
  int64_t s, d;   /* stride, dilation */
  int64_t p0, p1; /* pads before/after (SAME: resolved from the sizes) */
  int64_t out;    /* output size, -1 unknown */
} Axis;

/* Resolves the output size and SAME pads of one axis. Unknown in or k
** leave out -1 unless it is still determined (SAME needs only in). For
** pools (pool=1) explicit pads must be smaller than the dilated window;
** ceil_mode drops a last window that would start in the right padding. */
static tso_status axis_resolve(const char *op, const char *nm, int mode, int ceil_mode, int pool, Axis *x,
                               char *err) {
  x->out = -1;
  int64_t ek = x->k < 0 ? -1 : (x->k - 1) * x->d + 1;
  if (mode == TSO_PAD_SAME_UPPER || mode == TSO_PAD_SAME_LOWER) {
    if (x->in < 0) return TSO_OK;
    x->out = (x->in + x->s - 1) / x->s;
    if (ek < 0) return TSO_OK;
    int64_t tot = (x->out - 1) * x->s + ek - x->in;
    if (tot < 0) tot = 0;
    x->p0 = mode == TSO_PAD_SAME_UPPER ? tot / 2 : tot - tot / 2;
    x->p1 = tot - x->p0;
    return TSO_OK;
  }
  if (mode == TSO_PAD_VALID) x->p0 = x->p1 = 0;
  if (ek < 0) return TSO_OK;
  if (pool && (x->p0 >= ek || x->p1 >= ek))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s pads %lld,%lld must be smaller than the window %lld", op, nm,
                     (long long)x->p0, (long long)x->p1, (long long)ek);
  if (x->in < 0) return TSO_OK;
  int64_t tot = x->in + x->p0 + x->p1;
  if (tot < ek)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s window %lld is larger than the padded input %lld", op, nm,
                     (long long)ek, (long long)tot);
  int64_t span = tot - ek;
  x->out = span / x->s + 1;
  if (ceil_mode && mode == TSO_PAD_EXPLICIT && span % x->s) {
    x->out++;
    if ((x->out - 1) * x->s >= x->in + x->p0) x->out--;
  }
  return TSO_OK;
}

/* Fills the two axes of p's window for input sizes ih, iw and kernel
** sizes kh, kw (each may be -1), and resolves them. */
static tso_status win_axes(const char *op, const tsoO_Params *p, int64_t ih, int64_t iw, int64_t kh, int64_t kw,
                           int pool, Axis *h, Axis *w, char *err) {
  tso_status st;
  *h = (Axis){ih, kh, p->win.sh, p->win.dh, p->win.pt, p->win.pb, -1};
  *w = (Axis){iw, kw, p->win.sw, p->win.dw, p->win.pl, p->win.pr, -1};
  if ((st = axis_resolve(op, "height", p->win.pad_mode, p->win.ceil_mode, pool, h, err))) return st;
  return axis_resolve(op, "width", p->win.pad_mode, p->win.ceil_mode, pool, w, err);
}

/* The first output index o in [0, n) whose tap position o*s + off >= 0. */
static int64_t first_in(int64_t off, int64_t s) { return off >= 0 ? 0 : (-off + s - 1) / s; }

/* One past the last output index (capped at n) whose tap position
** o*s + off < size. */
static int64_t end_in(int64_t off, int64_t s, int64_t size, int64_t n) {
  if (size - 1 - off < 0) return 0;
  int64_t e = (size - 1 - off) / s + 1;
  return e < n ? e : n;
}

/* ===================================================================== */
/* CONV2D                                                                */
/* ===================================================================== */

/* Conv geometry; -1 for what the inputs leave unknown. */
typedef struct ConvPlan {
  int64_t n, c, m, cg; /* batch, input channels, output channels, input channels per group */
  int rank;            /* output rank: 4, or -1 when not determined */
  Axis h, w;
} ConvPlan;

/* Validates p and the inputs X [N,C,H,W], W [M,C/group,kh,kw], B [M] and
** computes the geometry. */
static tso_status conv_plan(const tsoO_Params *p, int nin, const tsoO_Value *in, ConvPlan *cp, char *err) {
  static const char op[] = "Conv";
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tso_status st;
  if ((st = win_check(op, p, 0, err))) return st;
  const tsoO_Value *x = &in[0], *w = &in[1];
  if ((st = tsoO_check_float(x, "X", op, err)) || (st = tsoO_check_float(w, "W", op, err))) return st;
  int hasb = tsoO_given(nin, in, 2);
  if (hasb && (st = tsoO_check_float(&in[2], "B", op, err))) return st;
  int xr = x->shape.rank, wr = w->shape.rank;
  if (xr >= 0 && xr != 4)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: only 2-D convolution is supported, X is %s", op, SHS(x, b1));
  if (wr >= 0 && wr != 4)
    return tsoO_fail(err, xr == 4 ? TSO_ERR_SHAPE : TSO_ERR_UNSUPPORTED, "%s: W %s does not match X %s", op,
                     SHS(w, b1), SHS(x, b2));
  int64_t g = p->win.group, kh = tsoO_dim(w, 2), kw = tsoO_dim(w, 3);
  cp->n = tsoO_dim(x, 0);
  cp->c = tsoO_dim(x, 1);
  cp->m = tsoO_dim(w, 0);
  cp->cg = tsoO_dim(w, 1);
  cp->rank = (xr == 4 || wr == 4 || p->win.kh) ? 4 : -1;
  if (p->win.kh) {
    if ((kh >= 0 && kh != p->win.kh) || (kw >= 0 && kw != p->win.kw))
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: kernel_shape %dx%d does not match W %s", op, (int)p->win.kh,
                       (int)p->win.kw, SHS(w, b1));
    kh = p->win.kh;
    kw = p->win.kw;
  }
  if (cp->c >= 0 && cp->cg >= 0 && cp->c != cp->cg * g)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: X %s has %lld channels, W %s with group %lld expects %lld", op,
                     SHS(x, b1), (long long)cp->c, SHS(w, b2), (long long)g, (long long)(cp->cg * g));
  if (cp->c >= 0 && cp->c % g)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: X %s channels are not divisible by group %lld", op, SHS(x, b1),
                     (long long)g);
  if (cp->m >= 0 && cp->m % g)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: W %s output channels are not divisible by group %lld", op,
                     SHS(w, b1), (long long)g);
  if (cp->cg < 0 && cp->c >= 0) cp->cg = cp->c / g;
  if (hasb) {
    const tsoO_Value *b = &in[2];
    if (b->shape.rank >= 0 && b->shape.rank != 1)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: bias %s must be 1-D", op, SHS(b, b1));
    int64_t bm = tsoO_dim(b, 0);
    if (bm >= 0 && cp->m >= 0 && bm != cp->m)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: bias %s does not match W %s", op, SHS(b, b1), SHS(w, b2));
    if (cp->m < 0) cp->m = bm;
  }
  return win_axes(op, p, tsoO_dim(x, 2), tsoO_dim(x, 3), kh, kw, 0, &cp->h, &cp->w, err);
}

/* Conv attributes: kernel_shape (optional), strides, pads, auto_pad,
** dilations, group. */
tso_status tsoO_parse_CONV2D(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset, char *err) {
  static const char *const names[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
  tso_status st;
  int64_t g;
  (void)nin; (void)opset;
  if (nout != 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "Conv: %d outputs", nout);
  if ((st = attrs_known(a, na, names, "Conv", err))) return st;
  if ((st = parse_win("Conv", p, a, na, 0, err))) return st;
  if ((st = attr_int(a, na, "group", 1, 1, INT32_MAX, &g, "Conv", err))) return st;
  p->win.group = (int32_t)g;
  return TSO_OK;
}

/* A conv with a fused ReLU is not one ONNX node: UNSUPPORTED (lowered first). */
tso_status tsoO_emit_CONV2D(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)opset;
  tsoO_emit_clear(out);
  if (p->win.act != TSO_ACT_NONE || win_check("Conv", p, 0, NULL)) return TSO_ERR_UNSUPPORTED;
  int bad = emit_win(p, out);
  if (p->win.group != 1) bad |= tsoO_put_int(out, "group", p->win.group);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* Output [N, M, OH, OW]. */
tso_status tsoO_infer_CONV2D(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                             char *err) {
  ConvPlan cp;
  tso_status st;
  if ((st = tsoO_check_arity(nin, 2, nout, 1, "Conv", err)) || (st = conv_plan(p, nin, in, &cp, err))) return st;
  int64_t d[4] = {cp.n, cp.m, cp.h.out, cp.w.out};
  tsoO_set_float_out(out, cp.rank, d);
  return tsoO_check_out_size(out, "Conv", err);
}

/* Adds weight wv times the input plane x, shifted by kernel tap (ki, kj),
** into the output plane y. Only output positions whose tap falls inside
** the input are visited; the innermost loop runs over contiguous output
** columns (and over whole planes when rows are contiguous in both). */
static void conv_tap(float *restrict y, const float *restrict x, float wv, int64_t ki, int64_t kj, const ConvPlan *cp) {
  const Axis *h = &cp->h, *w = &cp->w;
  int64_t offh = ki * h->d - h->p0, offw = kj * w->d - w->p0;
  int64_t oh0 = first_in(offh, h->s), oh1 = end_in(offh, h->s, h->in, h->out);
  int64_t ow0 = first_in(offw, w->s), ow1 = end_in(offw, w->s, w->in, w->out);
  if (oh0 >= oh1 || ow0 >= ow1) return;
  if (h->s == 1 && w->s == 1 && offw == 0 && ow0 == 0 && ow1 == w->out && w->out == w->in) {
    const float *xs = x + (oh0 + offh) * w->in;
    float *ys = y + oh0 * w->out;
    int64_t n = (oh1 - oh0) * w->out;
    for (int64_t i = 0; i < n; i++) ys[i] += wv * xs[i];
    return;
  }
  for (int64_t oh = oh0; oh < oh1; oh++) {
    const float *xs = x + (oh * h->s + offh) * w->in + (ow0 * w->s + offw);
    float *ys = y + oh * w->out + ow0;
    int64_t n = ow1 - ow0;
    if (w->s == 1) {
      for (int64_t i = 0; i < n; i++) ys[i] += wv * xs[i];
    } else {
      for (int64_t i = 0; i < n; i++) ys[i] += wv * xs[i * w->s];
    }
  }
}

/* Direct convolution: loops n, output channel (group implied), input
** channel of its group, kernel tap, output row, output column. */
tso_status tsoO_eval_CONV2D(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                            char *err) {
  ConvPlan cp;
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_CONV2D, p, nin, in, nout, out, 2, "Conv", err))) return st;
  if ((st = conv_plan(p, nin, in, &cp, err))) return st;
  const float *x = in[0].data, *w = in[1].data;
  const float *b = tsoO_has_data(nin, in, 2) ? (const float *)in[2].data : NULL;
  float *y = out[0].data;
  int64_t plane_in = cp.h.in * cp.w.in, plane_out = cp.h.out * cp.w.out, taps = cp.h.k * cp.w.k;
  int64_t mg = cp.m / p->win.group;
  for (int64_t n = 0; n < cp.n; n++) {
    for (int64_t mo = 0; mo < cp.m; mo++) {
      int64_t g = mo / mg;
      float *yp = y + (n * cp.m + mo) * plane_out;
      float bias = b ? b[mo] : 0.0f;
      for (int64_t i = 0; i < plane_out; i++) yp[i] = bias;
      for (int64_t c = 0; c < cp.cg; c++) {
        const float *xp = x + (n * cp.c + g * cp.cg + c) * plane_in;
        const float *wp = w + (mo * cp.cg + c) * taps;
        for (int64_t ki = 0; ki < cp.h.k; ki++)
          for (int64_t kj = 0; kj < cp.w.k; kj++) conv_tap(yp, xp, wp[ki * cp.w.k + kj], ki, kj, &cp);
      }
      if (p->win.act == TSO_ACT_RELU)
        for (int64_t i = 0; i < plane_out; i++) yp[i] = yp[i] > 0.0f ? yp[i] : 0.0f;
    }
  }
  return TSO_OK;
}

/* ===================================================================== */
/* MAXPOOL, AVGPOOL                                                      */
/* ===================================================================== */

/* Pool geometry: x [N, C, H, W]. */
typedef struct PoolPlan {
  int64_t n, c;
  Axis h, w;
} PoolPlan;

/* Validates p (kind 1 max, 2 avg) and X, and computes the geometry. */
static tso_status pool_plan(const char *op, const tsoO_Params *p, int kind, const tsoO_Value *x, PoolPlan *pp,
                            char *err) {
  char b[TSO_SHAPESTR];
  tso_status st;
  if ((st = win_check(op, p, kind, err)) || (st = tsoO_check_float(x, "X", op, err))) return st;
  if (x->shape.rank >= 0 && x->shape.rank != 4)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: only 2-D pooling is supported, X is %s", op, SHS(x, b));
  pp->n = tsoO_dim(x, 0);
  pp->c = tsoO_dim(x, 1);
  return win_axes(op, p, tsoO_dim(x, 2), tsoO_dim(x, 3), p->win.kh, p->win.kw, 1, &pp->h, &pp->w, err);
}

/* Shape inference shared by the two pools: [N, C, OH, OW]. */
static tso_status pool_infer(const char *op, const tsoO_Params *p, int kind, int nin, const tsoO_Value *in,
                             int nout, tsoO_Value *out, char *err) {
  PoolPlan pp;
  tso_status st;
  if ((st = tsoO_check_arity(nin, 1, nout, 1, op, err)) || (st = pool_plan(op, p, kind, &in[0], &pp, err))) return st;
  int64_t d[4] = {pp.n, pp.c, pp.h.out, pp.w.out};
  tsoO_set_float_out(out, 4, d);
  return tsoO_check_out_size(out, op, err);
}

/* Taps [*k0, *k1) of a window starting at position start whose position
** start + k*dil lies in [lo, hi). */
static void tap_range(int64_t start, int64_t dil, int64_t k, int64_t lo, int64_t hi, int64_t *k0, int64_t *k1) {
  *k0 = first_in(start - lo, dil);
  *k1 = end_in(start - lo, dil, hi - lo, k);
  if (*k0 > *k1) *k0 = *k1;
}

/* Pools every N*C plane of x into y: max (pads count as -inf) or average
** (divided by the taps inside the input, or inside input plus pads when
** count_include_pad). A window with no tap inside the input gives -inf
** (max) or 0 (average without count_include_pad). */
static void pool_run(const tsoO_Params *p, const PoolPlan *pp, int is_max, const float *x, float *y) {
  const Axis *h = &pp->h, *w = &pp->w;
  int64_t planes = pp->n * pp->c;
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * h->in * w->in;
    float *yp = y + pl * h->out * w->out;
    for (int64_t oh = 0; oh < h->out; oh++) {
      int64_t hs = oh * h->s - h->p0, ki0, ki1, hp0, hp1;
      tap_range(hs, h->d, h->k, 0, h->in, &ki0, &ki1);
      tap_range(hs, h->d, h->k, -h->p0, h->in + h->p1, &hp0, &hp1);
      for (int64_t ow = 0; ow < w->out; ow++) {
        int64_t ws = ow * w->s - w->p0, kj0, kj1, wp0, wp1;
        tap_range(ws, w->d, w->k, 0, w->in, &kj0, &kj1);
        tap_range(ws, w->d, w->k, -w->p0, w->in + w->p1, &wp0, &wp1);
        float acc = is_max ? -INFINITY : 0.0f;
        for (int64_t ki = ki0; ki < ki1; ki++) {
          int64_t base = (hs + ki * h->d) * w->in + ws;
          for (int64_t kj = kj0; kj < kj1; kj++) {
            float v = xp[base + kj * w->d];
            if (is_max) acc = (v > acc || v != v) ? v : acc;
            else acc += v;
          }
        }
        if (!is_max) {
          int64_t cnt = p->win.count_include_pad ? (hp1 - hp0) * (wp1 - wp0) : (ki1 - ki0) * (kj1 - kj0);
          acc = cnt > 0 ? acc / (float)cnt : 0.0f;
        }
        yp[oh * w->out + ow] = acc;
      }
    }
  }
}

/* MaxPool: no Indices output, storage_order 0; ceil_mode and dilations
** from opset 10. */
tso_status tsoO_parse_MAXPOOL(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset, char *err) {
  static const char *const names[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                      "storage_order", "strides", NULL};
  static const char op[] = "MaxPool";
  tso_status st;
  int64_t so;
  (void)nin;
  if (nout != 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: the Indices output is not supported", op);
  if ((st = attrs_known(a, na, names, op, err)) || (st = parse_win(op, p, a, na, 1, err))) return st;
  if ((st = attr_int(a, na, "storage_order", 0, 0, 1, &so, op, err))) return st;
  if (so) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: storage_order=1 is not supported", op);
  if ((st = attr_bool(a, na, "ceil_mode", 0, &p->win.ceil_mode, op, err))) return st;
  if (eff_opset(opset) < 10 && (p->win.ceil_mode || p->win.dh != 1 || p->win.dw != 1))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: ceil_mode and dilations need opset >= 10", op);
  return TSO_OK;
}

/* Writes kernel_shape always; ceil_mode/dilations need opset >= 10. */
tso_status tsoO_emit_MAXPOOL(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  tsoO_emit_clear(out);
  if (win_check("MaxPool", p, 1, NULL)) return TSO_ERR_UNSUPPORTED;
  if (eff_opset(opset) < 10 && (p->win.ceil_mode || p->win.dh != 1 || p->win.dw != 1)) return TSO_ERR_UNSUPPORTED;
  int bad = emit_win(p, out);
  if (p->win.ceil_mode) bad |= tsoO_put_int(out, "ceil_mode", 1);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* Output [N, C, OH, OW]; X must be 4-D float. */
tso_status tsoO_infer_MAXPOOL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                              char *err) {
  return pool_infer("MaxPool", p, 1, nin, in, nout, out, err);
}

/* Window maximum; padding never wins (it counts as -inf). */
tso_status tsoO_eval_MAXPOOL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                             char *err) {
  PoolPlan pp;
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_MAXPOOL, p, nin, in, nout, out, 1, "MaxPool", err))) return st;
  if ((st = pool_plan("MaxPool", p, 1, &in[0], &pp, err))) return st;
  pool_run(p, &pp, 1, in[0].data, out[0].data);
  return TSO_OK;
}

/* AveragePool: count_include_pad from opset 7, ceil_mode from 10,
** dilations from 19. */
tso_status tsoO_parse_AVGPOOL(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset, char *err) {
  static const char *const names[] = {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape",
                                      "pads", "strides", NULL};
  static const char op[] = "AveragePool";
  tso_status st;
  int os = eff_opset(opset);
  (void)nin;
  if (nout != 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: %d outputs", op, nout);
  if ((st = attrs_known(a, na, names, op, err)) || (st = parse_win(op, p, a, na, 1, err))) return st;
  if ((st = attr_bool(a, na, "ceil_mode", 0, &p->win.ceil_mode, op, err))) return st;
  if ((st = attr_bool(a, na, "count_include_pad", 0, &p->win.count_include_pad, op, err))) return st;
  if ((os < 7 && p->win.count_include_pad) || (os < 10 && p->win.ceil_mode) ||
      (os < 19 && (p->win.dh != 1 || p->win.dw != 1)))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: attribute not available at opset %d", op, opset);
  return TSO_OK;
}

/* Writes kernel_shape always; refuses attributes the opset lacks. */
tso_status tsoO_emit_AVGPOOL(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  int os = eff_opset(opset);
  tsoO_emit_clear(out);
  if (win_check("AveragePool", p, 2, NULL)) return TSO_ERR_UNSUPPORTED;
  if ((os < 7 && p->win.count_include_pad) || (os < 10 && p->win.ceil_mode) ||
      (os < 19 && (p->win.dh != 1 || p->win.dw != 1)))
    return TSO_ERR_UNSUPPORTED;
  int bad = emit_win(p, out);
  if (p->win.ceil_mode) bad |= tsoO_put_int(out, "ceil_mode", 1);
  if (p->win.count_include_pad) bad |= tsoO_put_int(out, "count_include_pad", 1);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* Output [N, C, OH, OW]; X must be 4-D float. */
tso_status tsoO_infer_AVGPOOL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                              char *err) {
  return pool_infer("AveragePool", p, 2, nin, in, nout, out, err);
}

/* Window mean over the taps inside the input (plus the pads when
** count_include_pad). */
tso_status tsoO_eval_AVGPOOL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                             char *err) {
  PoolPlan pp;
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_AVGPOOL, p, nin, in, nout, out, 1, "AveragePool", err))) return st;
  if ((st = pool_plan("AveragePool", p, 2, &in[0], &pp, err))) return st;
  pool_run(p, &pp, 0, in[0].data, out[0].data);
  return TSO_OK;
}

/* ===================================================================== */
/* GLOBALAVGPOOL                                                         */
/* ===================================================================== */

/* No attributes. */
tso_status tsoO_parse_GLOBALAVGPOOL(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset,
                                    char *err) {
  static const char *const names[] = {NULL};
  (void)p; (void)nin; (void)nout; (void)opset;
  return attrs_known(a, na, names, "GlobalAveragePool", err);
}

/* No attributes to write. */
tso_status tsoO_emit_GLOBALAVGPOOL(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p; (void)opset;
  tsoO_emit_clear(out);
  return TSO_OK;
}

/* X of rank >= 3 -> [N, C, 1, ...]. */
tso_status tsoO_infer_GLOBALAVGPOOL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                    tsoO_Value *out, char *err) {
  static const char op[] = "GlobalAveragePool";
  char b[TSO_SHAPESTR];
  tso_status st;
  (void)p;
  if ((st = tsoO_check_arity(nin, 1, nout, 1, op, err)) || (st = tsoO_check_float(&in[0], "X", op, err))) return st;
  int r = in[0].shape.rank;
  if (r < 0) {
    tsoO_set_float_out(out, -1, NULL);
    return TSO_OK;
  }
  if (r < 3) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: X %s needs rank >= 3", op, SHS(&in[0], b));
  int64_t d[TSO_MAX_RANK];
  for (int i = 0; i < r; i++) d[i] = i < 2 ? in[0].shape.d[i] : 1;
  tsoO_set_float_out(out, r, d);
  return TSO_OK;
}

/* Mean of each N*C plane, summed in double. */
tso_status tsoO_eval_GLOBALAVGPOOL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                   tsoO_Value *out, char *err) {
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_GLOBALAVGPOOL, p, nin, in, nout, out, 1, "GlobalAveragePool", err))) return st;
  const tsoO_Shape *s = &in[0].shape;
  int64_t planes = s->d[0] * s->d[1], size = prod(s, 2, s->rank);
  const float *x = in[0].data;
  float *y = out[0].data;
  for (int64_t i = 0; i < planes; i++) {
    double acc = 0.0;
    for (int64_t j = 0; j < size; j++) acc += x[i * size + j];
    y[i] = (float)(acc / (double)size);
  }
  return TSO_OK;
}

/* ===================================================================== */
/* MATMUL                                                                */
/* ===================================================================== */

/* y[m x n] = a[m x k] * b[k x n], i-k-j order (contiguous inner loop). */
static void mm(const float *restrict a, const float *restrict b, float *restrict y, int64_t m, int64_t k,
               int64_t n) {
  for (int64_t i = 0; i < m; i++) {
    float *yr = y + i * n;
    for (int64_t j = 0; j < n; j++) yr[j] = 0.0f;
    for (int64_t kk = 0; kk < k; kk++) {
      float av = a[i * k + kk];
      const float *br = b + kk * n;
      for (int64_t j = 0; j < n; j++) yr[j] += av * br[j];
    }
  }
}

/* MatMul geometry after 1-D promotion: batch dims broadcast, per operand
** element strides of each batch dim (0 where it is broadcast). */
typedef struct MMPlan {
  int rank;                 /* output rank, -1 unknown */
  int nb;                   /* batch dims */
  int64_t m, k, n;          /* matrix sizes, -1 unknown */
  int64_t bd[TSO_MAX_RANK]; /* broadcast batch dims */
  int64_t sa[TSO_MAX_RANK], sb[TSO_MAX_RANK]; /* strides of A and B per batch dim */
  int64_t out[TSO_MAX_RANK]; /* output dims */
} MMPlan;

/* Broadcasts two dims (numpy); -2 when they conflict. */
static int64_t bcast_dim(int64_t a, int64_t b) {
  if (a == 1) return b;
  if (b == 1) return a;
  if (a < 0) return b;
  if (b < 0) return a;
  return a == b ? a : -2;
}

/* Validates A and B and computes the numpy matmul shape. */
static tso_status mm_plan(const tsoO_Value *a, const tsoO_Value *b, MMPlan *mp, char *err) {
  static const char op[] = "MatMul";
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tso_status st;
  if ((st = tsoO_check_float(a, "A", op, err)) || (st = tsoO_check_float(b, "B", op, err))) return st;
  memset(mp, 0, sizeof *mp);
  int ra = a->shape.rank, rb = b->shape.rank;
  if (ra == 0 || rb == 0)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: scalar operand (A %s, B %s)", op, SHS(a, b1), SHS(b, b2));
  mp->rank = -1;
  mp->m = mp->k = mp->n = -1;
  if (ra < 0 || rb < 0) {
    /* Inner dims can still be checked when both are known. */
    return TSO_OK;
  }
  int64_t ka = a->shape.d[ra - 1], kb = rb == 1 ? b->shape.d[0] : b->shape.d[rb - 2];
  if (ka >= 0 && kb >= 0 && ka != kb)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: inner dimensions differ (A %s, B %s)", op, SHS(a, b1), SHS(b, b2));
  mp->k = ka >= 0 ? ka : kb;
  mp->m = ra == 1 ? 1 : a->shape.d[ra - 2];
  mp->n = rb == 1 ? 1 : b->shape.d[rb - 1];
  int na = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
  mp->nb = na > nbb ? na : nbb;
  /* Strides of the batch dims in each operand (row-major, matrix last). */
  int64_t stra = mp->m * mp->k, strb = mp->k * mp->n;
  for (int i = mp->nb - 1; i >= 0; i--) {
    int ia = i - (mp->nb - na), ib = i - (mp->nb - nbb);
    int64_t da = ia >= 0 ? a->shape.d[ia] : 1, db = ib >= 0 ? b->shape.d[ib] : 1;
    int64_t d = bcast_dim(da, db);
    if (d == -2)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: batch dimensions do not broadcast (A %s, B %s)", op, SHS(a, b1),
                       SHS(b, b2));
    mp->bd[i] = d;
    mp->sa[i] = da == 1 ? 0 : stra;
    mp->sb[i] = db == 1 ? 0 : strb;
    stra *= da;
    strb *= db;
  }
  int r = 0;
  for (int i = 0; i < mp->nb; i++) mp->out[r++] = mp->bd[i];
  if (ra > 1) mp->out[r++] = mp->m;
  if (rb > 1) mp->out[r++] = mp->n;
  mp->rank = r;
  return TSO_OK;
}

/* No attributes. */
tso_status tsoO_parse_MATMUL(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset, char *err) {
  static const char *const names[] = {NULL};
  (void)p; (void)nin; (void)nout; (void)opset;
  return attrs_known(a, na, names, "MatMul", err);
}

/* No attributes to write. */
tso_status tsoO_emit_MATMUL(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p; (void)opset;
  tsoO_emit_clear(out);
  return TSO_OK;
}

/* numpy matmul: 1-D operands promoted and the added dim removed, batch
** dims broadcast. */
tso_status tsoO_infer_MATMUL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                             char *err) {
  MMPlan mp;
  tso_status st;
  (void)p;
  if ((st = tsoO_check_arity(nin, 2, nout, 1, "MatMul", err)) || (st = mm_plan(&in[0], &in[1], &mp, err))) return st;
  tsoO_set_float_out(out, mp.rank, mp.out);
  return tsoO_check_out_size(out, "MatMul", err);
}

/* One i-k-j matrix product per broadcast batch index. */
tso_status tsoO_eval_MATMUL(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                            char *err) {
  MMPlan mp;
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_MATMUL, p, nin, in, nout, out, 2, "MatMul", err))) return st;
  if ((st = mm_plan(&in[0], &in[1], &mp, err))) return st;
  const float *a = in[0].data, *b = in[1].data;
  float *y = out[0].data;
  int64_t nbatch = 1;
  for (int i = 0; i < mp.nb; i++) nbatch *= mp.bd[i];
  for (int64_t bi = 0; bi < nbatch; bi++) {
    int64_t rest = bi, oa = 0, ob = 0;
    for (int i = mp.nb - 1; i >= 0; i--) {
      int64_t idx = rest % mp.bd[i];
      rest /= mp.bd[i];
      oa += idx * mp.sa[i];
      ob += idx * mp.sb[i];
    }
    mm(a + oa, b + ob, y + bi * mp.m * mp.n, mp.m, mp.k, mp.n);
  }
  return TSO_OK;
}

/* ===================================================================== */
/* GEMM                                                                  */
/* ===================================================================== */

/* Gemm: alpha, beta (default 1), transA, transB; 'broadcast' (opset < 7)
** is accepted and implied. */
tso_status tsoO_parse_GEMM(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset, char *err) {
  static const char *const names[] = {"alpha", "beta", "broadcast", "transA", "transB", NULL};
  static const char op[] = "Gemm";
  tso_status st;
  int64_t bc;
  (void)nin; (void)nout; (void)opset;
  if ((st = attrs_known(a, na, names, op, err))) return st;
  if ((st = tsoO_attr_float(a, na, "alpha", 1.0f, &p->gemm.alpha, op, err))) return st;
  if ((st = tsoO_attr_float(a, na, "beta", 1.0f, &p->gemm.beta, op, err))) return st;
  if ((st = attr_bool(a, na, "transA", 0, &p->gemm.trans_a, op, err))) return st;
  if ((st = attr_bool(a, na, "transB", 0, &p->gemm.trans_b, op, err))) return st;
  return attr_int(a, na, "broadcast", 0, 0, 1, &bc, op, err);
}

/* Omits defaults; below opset 7 writes broadcast=1 so that C may broadcast. */
tso_status tsoO_emit_GEMM(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  int bad = 0;
  tsoO_emit_clear(out);
  if ((p->gemm.trans_a & ~1) || (p->gemm.trans_b & ~1)) return TSO_ERR_UNSUPPORTED;
  if (p->gemm.alpha != 1.0f) bad |= tsoO_put_float(out, "alpha", p->gemm.alpha);
  if (p->gemm.beta != 1.0f) bad |= tsoO_put_float(out, "beta", p->gemm.beta);
  if (p->gemm.trans_a) bad |= tsoO_put_int(out, "transA", 1);
  if (p->gemm.trans_b) bad |= tsoO_put_int(out, "transB", 1);
  if (eff_opset(opset) < 7) bad |= tsoO_put_int(out, "broadcast", 1);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* Gemm geometry: A' [M, K], B' [K, N], C broadcast to [M, N]. */
typedef struct GemmPlan {
  int64_t m, k, n;
  int hasc;
  int64_t cm, cn; /* C's extents along M and N (1 when broadcast) */
} GemmPlan;

/* Validates A, B (2-D) and C (unidirectionally broadcastable to [M, N]). */
static tso_status gemm_plan(const tsoO_Params *p, int nin, const tsoO_Value *in, GemmPlan *gp, char *err) {
  static const char op[] = "Gemm";
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tso_status st;
  const tsoO_Value *a = &in[0], *b = &in[1];
  if ((p->gemm.trans_a & ~1) || (p->gemm.trans_b & ~1))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid transA/transB", op);
  if ((st = tsoO_check_float(a, "A", op, err)) || (st = tsoO_check_float(b, "B", op, err))) return st;
  if ((a->shape.rank >= 0 && a->shape.rank != 2) || (b->shape.rank >= 0 && b->shape.rank != 2))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: A %s and B %s must be 2-D", op, SHS(a, b1), SHS(b, b2));
  int ta = p->gemm.trans_a, tb = p->gemm.trans_b;
  gp->m = tsoO_dim(a, ta ? 1 : 0);
  int64_t ka = tsoO_dim(a, ta ? 0 : 1), kb = tsoO_dim(b, tb ? 1 : 0);
  gp->n = tsoO_dim(b, tb ? 0 : 1);
  if (ka >= 0 && kb >= 0 && ka != kb)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: inner dimensions differ (A %s transA=%d, B %s transB=%d)", op,
                     SHS(a, b1), ta, SHS(b, b2), tb);
  gp->k = ka >= 0 ? ka : kb;
  gp->hasc = tsoO_given(nin, in, 2);
  gp->cm = gp->cn = 1;
  if (!gp->hasc) return TSO_OK;
  const tsoO_Value *c = &in[2];
  if ((st = tsoO_check_float(c, "C", op, err))) return st;
  int rc = c->shape.rank;
  if (rc > 2) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: C %s has rank > 2", op, SHS(c, b1));
  if (rc < 0) return TSO_OK;
  int64_t cm = rc == 2 ? c->shape.d[0] : 1, cn = rc >= 1 ? c->shape.d[rc - 1] : 1;
  if ((cm >= 0 && cm != 1 && gp->m >= 0 && cm != gp->m) || (cn >= 0 && cn != 1 && gp->n >= 0 && cn != gp->n))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: C %s does not broadcast to %lldx%lld", op, SHS(c, b1),
                     (long long)gp->m, (long long)gp->n);
  if (gp->m < 0 && cm > 1) gp->m = cm;
  if (gp->n < 0 && cn > 1) gp->n = cn;
  gp->cm = cm;
  gp->cn = cn;
  return TSO_OK;
}

/* Output [M, N]. */
tso_status tsoO_infer_GEMM(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                           char *err) {
  GemmPlan gp;
  tso_status st;
  if ((st = tsoO_check_arity(nin, 2, nout, 1, "Gemm", err)) || (st = gemm_plan(p, nin, in, &gp, err))) return st;
  int64_t d[2] = {gp.m, gp.n};
  tsoO_set_float_out(out, 2, d);
  return tsoO_check_out_size(out, "Gemm", err);
}

/* Y = alpha * A' B' + beta * C, accumulated in float. */
tso_status tsoO_eval_GEMM(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                          char *err) {
  GemmPlan gp;
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_GEMM, p, nin, in, nout, out, 2, "Gemm", err))) return st;
  if ((st = gemm_plan(p, nin, in, &gp, err))) return st;
  const float *a = in[0].data, *b = in[1].data;
  const float *c = tsoO_has_data(nin, in, 2) ? (const float *)in[2].data : NULL;
  float *y = out[0].data;
  int64_t m = gp.m, k = gp.k, n = gp.n;
  for (int64_t i = 0; i < m; i++) {
    float *yr = y + i * n;
    if (p->gemm.trans_b) {
      for (int64_t j = 0; j < n; j++) {
        float acc = 0.0f;
        for (int64_t kk = 0; kk < k; kk++)
          acc += (p->gemm.trans_a ? a[kk * m + i] : a[i * k + kk]) * b[j * k + kk];
        yr[j] = acc;
      }
    } else {
      for (int64_t j = 0; j < n; j++) yr[j] = 0.0f;
      for (int64_t kk = 0; kk < k; kk++) {
        float av = p->gemm.trans_a ? a[kk * m + i] : a[i * k + kk];
        const float *br = b + kk * n;
        for (int64_t j = 0; j < n; j++) yr[j] += av * br[j];
      }
    }
    for (int64_t j = 0; j < n; j++) {
      float cv = c ? c[(gp.cm == 1 ? 0 : i) * gp.cn + (gp.cn == 1 ? 0 : j)] : 0.0f;
      yr[j] = p->gemm.alpha * yr[j] + (c ? p->gemm.beta * cv : 0.0f);
    }
  }
  return TSO_OK;
}

/* ===================================================================== */
/* BATCHNORM                                                             */
/* ===================================================================== */

/* BatchNormalization in inference mode: epsilon (momentum ignored);
** training_mode=1, spatial=0, is_test=0 (opset < 7) or more than one
** output are unsupported. */
tso_status tsoO_parse_BATCHNORM(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset,
                                char *err) {
  static const char *const names[] = {"consumed_inputs", "epsilon", "is_test", "momentum", "spatial",
                                      "training_mode", NULL};
  static const char op[] = "BatchNormalization";
  tso_status st;
  int64_t v;
  float mom;
  (void)nin;
  if (nout != 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: training outputs are not supported", op);
  if ((st = attrs_known(a, na, names, op, err))) return st;
  if ((st = tsoO_attr_float(a, na, "epsilon", 1e-5f, &p->norm.epsilon, op, err))) return st;
  if ((st = tsoO_attr_float(a, na, "momentum", 0.9f, &mom, op, err))) return st;
  if ((st = attr_int(a, na, "training_mode", 0, 0, 1, &v, op, err))) return st;
  if (v) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: training_mode=1 is not supported", op);
  if ((st = attr_int(a, na, "spatial", 1, INT64_MIN, INT64_MAX, &v, op, err))) return st;
  if (!v) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: spatial=0 is not supported", op);
  if ((st = attr_int(a, na, "is_test", eff_opset(opset) < 7 ? 0 : 1, INT64_MIN, INT64_MAX, &v, op, err))) return st;
  if (!v) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: is_test=0 (training) is not supported", op);
  return TSO_OK;
}

/* epsilon when not 1e-5; below opset 7 the required is_test=1. */
tso_status tsoO_emit_BATCHNORM(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  int bad = 0;
  tsoO_emit_clear(out);
  if (p->norm.epsilon != 1e-5f) bad |= tsoO_put_float(out, "epsilon", p->norm.epsilon);
  if (eff_opset(opset) < 7) bad |= tsoO_put_int(out, "is_test", 1);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* X [N, C, ...]; scale, B, mean, var [C]; output like X. */
tso_status tsoO_infer_BATCHNORM(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                                char *err) {
  static const char op[] = "BatchNormalization";
  static const char *const what[] = {"X", "scale", "B", "mean", "var"};
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tso_status st;
  if ((st = tsoO_check_arity(nin, 5, nout, 1, op, err))) return st;
  if (p->norm.axis != 0 || p->norm.epsilon != p->norm.epsilon)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid parameters", op);
  for (int i = 0; i < 5; i++)
    if ((st = tsoO_check_float(&in[i], what[i], op, err))) return st;
  const tsoO_Value *x = &in[0];
  if (x->shape.rank >= 0 && x->shape.rank < 2)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: X %s needs rank >= 2", op, SHS(x, b1));
  int64_t c = tsoO_dim(x, 1);
  for (int i = 1; i < 5; i++) {
    const tsoO_Value *v = &in[i];
    if (v->shape.rank >= 0 && (v->shape.rank != 1 || (c >= 0 && v->shape.d[0] >= 0 && v->shape.d[0] != c)))
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s %s does not match the channels of X %s", op, what[i],
                       SHS(v, b1), SHS(x, b2));
  }
  tsoO_set_float_out(out, x->shape.rank, x->shape.d);
  return TSO_OK;
}

/* y = (x - mean) * scale / sqrt(var + epsilon) + B, per channel. */
tso_status tsoO_eval_BATCHNORM(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                               char *err) {
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_BATCHNORM, p, nin, in, nout, out, 5, "BatchNormalization", err))) return st;
  const tsoO_Shape *s = &in[0].shape;
  const float *x = in[0].data, *sc = in[1].data, *bi = in[2].data, *mu = in[3].data, *var = in[4].data;
  float *y = out[0].data;
  int64_t nb = s->d[0], c = s->d[1], size = prod(s, 2, s->rank);
  for (int64_t ch = 0; ch < c; ch++) {
    double mul = (double)sc[ch] / sqrt((double)var[ch] + (double)p->norm.epsilon);
    double add = (double)bi[ch] - (double)mu[ch] * mul;
    for (int64_t n = 0; n < nb; n++) {
      const float *xp = x + (n * c + ch) * size;
      float *yp = y + (n * c + ch) * size;
      for (int64_t i = 0; i < size; i++) yp[i] = (float)(xp[i] * mul + add);
    }
  }
  return TSO_OK;
}

/* ===================================================================== */
/* SOFTMAX                                                               */
/* ===================================================================== */

/* axis: default 1 and legacy 2-D coercion below opset 13, -1 from 13. */
tso_status tsoO_parse_SOFTMAX(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset,
                              char *err) {
  static const char *const names[] = {"axis", NULL};
  tso_status st;
  int64_t ax;
  (void)nin; (void)nout;
  p->axis.legacy = eff_opset(opset) < 13;
  if ((st = attrs_known(a, na, names, "Softmax", err))) return st;
  if ((st = attr_int(a, na, "axis", p->axis.legacy ? 1 : -1, -TSO_MAX_RANK, TSO_MAX_RANK - 1, &ax, "Softmax", err)))
    return st;
  p->axis.axis = (int32_t)ax;
  return TSO_OK;
}

/* Legacy and new semantics agree for axis -1, so that one converts across
** opset 13; other axes only emit at an opset of the same flavour. */
tso_status tsoO_emit_SOFTMAX(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  int legacy_opset = eff_opset(opset) < 13;
  tsoO_emit_clear(out);
  if (p->axis.legacy & ~1) return TSO_ERR_UNSUPPORTED;
  if (p->axis.legacy != legacy_opset && p->axis.axis != -1) return TSO_ERR_UNSUPPORTED;
  int def = legacy_opset ? 1 : -1;
  if (p->axis.axis != def) return tsoO_put_int(out, "axis", p->axis.axis) ? TSO_ERR_LIMIT : TSO_OK;
  return TSO_OK;
}

/* Softmax geometry: outer x len x inner, normalized along len. */
static tso_status softmax_plan(const tsoO_Params *p, const tsoO_Value *x, int64_t *outer, int64_t *len,
                               int64_t *inner, char *err) {
  char b[TSO_SHAPESTR];
  int r = x->shape.rank;
  if (p->axis.legacy & ~1) return tsoO_fail(err, TSO_ERR_SHAPE, "Softmax: invalid legacy flag");
  if (r < 0) return TSO_OK;
  int ax = tsoO_axis_index(p->axis.axis, r);
  if (ax < 0)
    return tsoO_fail(err, TSO_ERR_SHAPE, "Softmax: axis %d out of range for X %s", (int)p->axis.axis, SHS(x, b));
  if (!tsoO_shape_known(&x->shape)) return TSO_OK;
  *outer = prod(&x->shape, 0, ax);
  *len = p->axis.legacy ? prod(&x->shape, ax, r) : x->shape.d[ax];
  *inner = p->axis.legacy ? 1 : prod(&x->shape, ax + 1, r);
  return TSO_OK;
}

/* Output like X. */
tso_status tsoO_infer_SOFTMAX(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                              char *err) {
  tso_status st;
  int64_t o, l, i;
  if ((st = tsoO_check_arity(nin, 1, nout, 1, "Softmax", err)) ||
      (st = tsoO_check_float(&in[0], "X", "Softmax", err)) || (st = softmax_plan(p, &in[0], &o, &l, &i, err)))
    return st;
  tsoO_set_float_out(out, in[0].shape.rank, in[0].shape.d);
  return TSO_OK;
}

/* exp(x - max) / sum, the sum in double. */
tso_status tsoO_eval_SOFTMAX(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                             char *err) {
  tso_status st;
  int64_t outer = 0, len = 0, inner = 0;
  if ((st = tsoO_eval_begin(tsoO_infer_SOFTMAX, p, nin, in, nout, out, 1, "Softmax", err))) return st;
  if ((st = softmax_plan(p, &in[0], &outer, &len, &inner, err))) return st;
  const float *x = in[0].data;
  float *y = out[0].data;
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      const float *xp = x + o * len * inner + i;
      float *yp = y + o * len * inner + i;
      float mx = -INFINITY;
      for (int64_t j = 0; j < len; j++) mx = xp[j * inner] > mx ? xp[j * inner] : mx;
      double sum = 0.0;
      for (int64_t j = 0; j < len; j++) {
        float e = expf(xp[j * inner] - mx);
        yp[j * inner] = e;
        sum += e;
      }
      for (int64_t j = 0; j < len; j++) yp[j * inner] = (float)(yp[j * inner] / sum);
    }
  }
  return TSO_OK;
}

/* ===================================================================== */
/* REDUCEMEAN                                                            */
/* ===================================================================== */

/* keepdims (default 1); axes attribute below opset 18, second input from
** 18 (then noop_with_empty_axes too). */
tso_status tsoO_parse_REDUCEMEAN(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset,
                                 char *err) {
  static const char *const names[] = {"axes", "keepdims", "noop_with_empty_axes", NULL};
  static const char op[] = "ReduceMean";
  tso_status st;
  int new_form = eff_opset(opset) >= 18;
  (void)nout;
  if ((st = attrs_known(a, na, names, op, err))) return st;
  if ((st = attr_bool(a, na, "keepdims", 1, &p->axes.keepdims, op, err))) return st;
  if ((st = attr_bool(a, na, "noop_with_empty_axes", 0, &p->axes.noop_empty, op, err))) return st;
  const tsoO_Attr *ax = tsoO_attr_find(a, na, "axes");
  if (new_form && ax) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: 'axes' is an input from opset 18", op);
  if (!new_form && nin > 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: axes input before opset 18", op);
  if (!new_form && p->axes.noop_empty)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: noop_with_empty_axes needs opset 18", op);
  if (!ax) return TSO_OK;
  if (ax->kind != TSO_ATTR_INTS || ax->n < 0 || ax->n > TSO_MAX_RANK || (ax->n && !ax->ints))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: 'axes' must be a list of at most %d ints", op, TSO_MAX_RANK);
  for (int i = 0; i < ax->n; i++) {
    if (ax->ints[i] < -TSO_MAX_RANK || ax->ints[i] >= TSO_MAX_RANK)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: axis %lld out of range", op, (long long)ax->ints[i]);
    p->axes.axes[i] = (int32_t)ax->ints[i];
  }
  p->axes.naxes = ax->n;
  p->axes.has_axes = ax->n > 0;
  return TSO_OK;
}

/* Attribute axes cannot be written at opset >= 18 (they must become an
** input first), nor noop_with_empty_axes below 18. */
tso_status tsoO_emit_REDUCEMEAN(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  int new_form = eff_opset(opset) >= 18, bad = 0;
  tsoO_emit_clear(out);
  if ((p->axes.keepdims & ~1) || (p->axes.noop_empty & ~1) || p->axes.naxes < 0 || p->axes.naxes > TSO_MAX_RANK ||
      p->axes.has_axes != (p->axes.naxes > 0))
    return TSO_ERR_UNSUPPORTED;
  if (new_form ? p->axes.has_axes : p->axes.noop_empty) return TSO_ERR_UNSUPPORTED;
  if (p->axes.has_axes) bad |= tsoO_put_ints(out, "axes", p->axes.axes, p->axes.naxes);
  if (!p->axes.keepdims) bad |= tsoO_put_int(out, "keepdims", 0);
  if (p->axes.noop_empty) bad |= tsoO_put_int(out, "noop_with_empty_axes", 1);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* ReduceMean geometry: red[i] is 1 for each reduced dim of X. */
typedef struct RedPlan {
  int known; /* 0: the axes are not known yet */
  int noop;  /* 1: the output is X unchanged */
  int red[TSO_MAX_RANK];
} RedPlan;

/* Finds the reduced axes from the params or the constant axes input. */
static tso_status red_plan(const tsoO_Params *p, int nin, const tsoO_Value *in, RedPlan *rp, char *err) {
  static const char op[] = "ReduceMean";
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tso_status st;
  int32_t axes[TSO_MAX_RANK];
  int64_t nax = 0;
  const tsoO_Value *x = &in[0];
  memset(rp, 0, sizeof *rp);
  if ((p->axes.keepdims & ~1) || (p->axes.noop_empty & ~1) || p->axes.naxes < 0 || p->axes.naxes > TSO_MAX_RANK ||
      p->axes.has_axes != (p->axes.naxes > 0))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid parameters", op);
  if ((st = tsoO_check_float(x, "data", op, err))) return st;
  if (p->axes.has_axes) {
    if (tsoO_given(nin, in, 1)) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axes given twice", op);
    nax = p->axes.naxes;
    memcpy(axes, p->axes.axes, sizeof axes);
  } else if (tsoO_given(nin, in, 1)) {
    const tsoO_Value *av = &in[1];
    if (av->dtype != TSO_DT_INT64 && av->dtype != TSO_DT_UNDEFINED)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: axes input is %s, expected int64", op,
                       tsoO_dtype_name(av->dtype));
    if (av->shape.rank >= 0 && av->shape.rank != 1)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axes input %s must be 1-D", op, SHS(av, b1));
    nax = tsoO_dim(av, 0);
    if (nax > TSO_MAX_RANK) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axes input %s too long", op, SHS(av, b1));
    if (nax < 0 || (nax > 0 && (!av->data || av->dtype != TSO_DT_INT64))) return TSO_OK; /* not known yet */
    for (int i = 0; i < nax; i++) {
      int64_t v = ((const int64_t *)av->data)[i];
      axes[i] = (int32_t)(v < -TSO_MAX_RANK ? -TSO_MAX_RANK - 1 : v > TSO_MAX_RANK ? TSO_MAX_RANK : v);
    }
  }
  int r = x->shape.rank;
  if (nax == 0) {
    rp->known = 1;
    rp->noop = p->axes.noop_empty;
    for (int i = 0; i < TSO_MAX_RANK; i++) rp->red[i] = !rp->noop && i < r;
    return TSO_OK;
  }
  if (r < 0) return TSO_OK;
  for (int i = 0; i < nax; i++) {
    int a = tsoO_axis_index(axes[i], r);
    if (a < 0 || rp->red[a])
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axis %d is out of range or repeated for data %s", op, (int)axes[i],
                       SHS(x, b2));
    rp->red[a] = 1;
  }
  rp->known = 1;
  return TSO_OK;
}

/* Reduced dims become 1 (keepdims) or disappear. */
tso_status tsoO_infer_REDUCEMEAN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                                 char *err) {
  RedPlan rp;
  tso_status st;
  if ((st = tsoO_check_arity(nin, 1, nout, 1, "ReduceMean", err)) || (st = red_plan(p, nin, in, &rp, err))) return st;
  const tsoO_Shape *s = &in[0].shape;
  int64_t d[TSO_MAX_RANK];
  int r = 0;
  if (s->rank < 0 || (!rp.known && !p->axes.keepdims)) {
    tsoO_set_float_out(out, -1, NULL);
    return TSO_OK;
  }
  for (int i = 0; i < s->rank; i++) {
    if (!rp.known) d[r++] = s->d[i] == 1 ? 1 : -1;
    else if (!rp.red[i]) d[r++] = s->d[i];
    else if (p->axes.keepdims) d[r++] = 1;
  }
  tsoO_set_float_out(out, r, d);
  return TSO_OK;
}

/* Sums into a double buffer with an odometer over X, then divides. */
tso_status tsoO_eval_REDUCEMEAN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                                char *err) {
  RedPlan rp;
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_REDUCEMEAN, p, nin, in, nout, out, 1, "ReduceMean", err))) return st;
  if ((st = red_plan(p, nin, in, &rp, err))) return st;
  if (!rp.known) return tsoO_fail(err, TSO_ERR_ARG, "ReduceMean: axes are not known");
  const tsoO_Shape *s = &in[0].shape;
  const float *x = in[0].data;
  float *y = out[0].data;
  int64_t total = tsoO_numel(s), nout_el = tsoO_numel(&out[0].shape), cnt = 1;
  if (rp.noop) {
    if (total > 0) memcpy(y, x, (size_t)total * sizeof *x);
    return TSO_OK;
  }
  /* Output strides per input dim, 0 on reduced dims. */
  int64_t ost[TSO_MAX_RANK], idx[TSO_MAX_RANK] = {0}, acc = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    ost[i] = rp.red[i] ? 0 : acc;
    if (rp.red[i]) cnt *= s->d[i];
    else acc *= s->d[i];
  }
  double *sum = calloc(nout_el > 0 ? (size_t)nout_el : 1, sizeof *sum);
  if (!sum) return tsoO_fail(err, TSO_ERR_NOMEM, "ReduceMean: out of memory");
  int64_t off = 0;
  for (int64_t e = 0; e < total; e++) {
    sum[off] += x[e];
    for (int i = s->rank - 1; i >= 0; i--) {
      off += ost[i];
      if (++idx[i] < s->d[i]) break;
      off -= ost[i] * s->d[i];
      idx[i] = 0;
    }
  }
  for (int64_t i = 0; i < nout_el; i++) y[i] = (float)(sum[i] / (double)cnt);
  free(sum);
  return TSO_OK;
}

/* ===================================================================== */
/* LAYERNORM                                                             */
/* ===================================================================== */

/* LayerNormalization (opset 17): axis (default -1), epsilon (1e-5),
** stash_type 1 only; outputs Y and the optional Mean and InvStdDev. */
tso_status tsoO_parse_LAYERNORM(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset,
                                char *err) {
  static const char *const names[] = {"axis", "epsilon", "stash_type", NULL};
  static const char op[] = "LayerNormalization";
  tso_status st;
  int64_t ax, stash;
  (void)nin;
  if (eff_opset(opset) < 17) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: needs opset >= 17", op);
  if (nout < 1 || nout > 3) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: %d outputs", op, nout);
  if ((st = attrs_known(a, na, names, op, err))) return st;
  if ((st = attr_int(a, na, "axis", -1, -TSO_MAX_RANK, TSO_MAX_RANK - 1, &ax, op, err))) return st;
  if ((st = tsoO_attr_float(a, na, "epsilon", 1e-5f, &p->norm.epsilon, op, err))) return st;
  if ((st = attr_int(a, na, "stash_type", 1, 1, 1, &stash, op, err))) return st;
  p->norm.axis = (int32_t)ax;
  return TSO_OK;
}

/* axis and epsilon when not default; nothing below opset 17. */
tso_status tsoO_emit_LAYERNORM(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  int bad = 0;
  tsoO_emit_clear(out);
  if (eff_opset(opset) < 17) return TSO_ERR_UNSUPPORTED;
  if (p->norm.axis != -1) bad |= tsoO_put_int(out, "axis", p->norm.axis);
  if (p->norm.epsilon != 1e-5f) bad |= tsoO_put_float(out, "epsilon", p->norm.epsilon);
  return bad ? TSO_ERR_LIMIT : TSO_OK;
}

/* Element strides of v broadcast (unidirectionally, numpy) to shape s;
** 0 on broadcast dims. Returns 0 if v does not broadcast (known dims). */
static int bcast_strides(const tsoO_Shape *v, const tsoO_Shape *s, int64_t *st) {
  if (v->rank > s->rank) return 0;
  int64_t acc = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    int j = i - (s->rank - v->rank);
    int64_t dv = j >= 0 ? v->d[j] : 1;
    if (dv >= 0 && dv != 1 && s->d[i] >= 0 && dv != s->d[i]) return 0;
    st[i] = dv == 1 ? 0 : acc;
    if (dv > 0) acc *= dv;
  }
  return 1;
}

/* X, Scale and optional B broadcastable to X; Y like X; Mean and InvStdDev
** (float32: stash_type 1) like X with the normalized dimensions 1. */
tso_status tsoO_infer_LAYERNORM(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                                char *err) {
  static const char op[] = "LayerNormalization";
  char b1[TSO_SHAPESTR], b2[TSO_SHAPESTR];
  tso_status st;
  int64_t strd[TSO_MAX_RANK], d[TSO_MAX_RANK];
  if ((st = tsoO_check_arity(nin, 2, nout, 3, op, err))) return st;
  if (p->norm.epsilon != p->norm.epsilon) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: epsilon is NaN", op);
  const tsoO_Value *x = &in[0];
  if ((st = tsoO_check_float(x, "X", op, err)) || (st = tsoO_check_float(&in[1], "Scale", op, err))) return st;
  int hasb = tsoO_given(nin, in, 2);
  if (hasb && (st = tsoO_check_float(&in[2], "B", op, err))) return st;
  int r = x->shape.rank;
  if (r >= 0) {
    if (tsoO_axis_index(p->norm.axis, r) < 0)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: axis %d out of range for X %s", op, (int)p->norm.axis, SHS(x, b1));
    for (int i = 1; i < (hasb ? 3 : 2); i++)
      if (in[i].shape.rank >= 0 && !bcast_strides(&in[i].shape, &x->shape, strd))
        return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s %s does not broadcast to X %s", op, i == 1 ? "Scale" : "B",
                         SHS(&in[i], b1), SHS(x, b2));
  }
  tsoO_set_float_out(out, r, x->shape.d);
  int ax = r > 0 ? tsoO_axis_index(p->norm.axis, r) : 0;
  for (int i = 0; i < r; i++) d[i] = i < ax ? x->shape.d[i] : 1;
  for (int k = 1; k < nout; k++) tsoO_set_float_out(&out[k], r, d);
  return TSO_OK;
}

/* Per row over the normalized dims: mean and variance in double, then
** (x - mean) / sqrt(var + epsilon) * scale + B; Mean and InvStdDev get the
** row's mean and 1 / sqrt(var + epsilon). */
tso_status tsoO_eval_LAYERNORM(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                               char *err) {
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_LAYERNORM, p, nin, in, nout, out, 2, "LayerNormalization", err))) return st;
  float *stat[2] = {nout > 1 ? (float *)out[1].data : NULL, nout > 2 ? (float *)out[2].data : NULL};
  const tsoO_Shape *s = &in[0].shape;
  int r = s->rank, ax = tsoO_axis_index(p->norm.axis, r), hasb = tsoO_has_data(nin, in, 2);
  int64_t ss[TSO_MAX_RANK] = {0}, sb[TSO_MAX_RANK] = {0}, idx[TSO_MAX_RANK] = {0}, osc = 0, ob = 0;
  bcast_strides(&in[1].shape, s, ss);
  if (hasb) bcast_strides(&in[2].shape, s, sb);
  const float *x = in[0].data, *sc = in[1].data, *bi = hasb ? (const float *)in[2].data : NULL;
  float *y = out[0].data;
  int64_t rows = prod(s, 0, ax), len = prod(s, ax, r);
  for (int64_t row = 0; row < rows; row++) {
    const float *xp = x + row * len;
    float *yp = y + row * len;
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < len; j++) mean += xp[j];
    mean /= (double)len;
    for (int64_t j = 0; j < len; j++) var += (xp[j] - mean) * (xp[j] - mean);
    var /= (double)len;
    double inv = 1.0 / sqrt(var + (double)p->norm.epsilon);
    if (stat[0]) stat[0][row] = (float)mean;
    if (stat[1]) stat[1][row] = (float)inv;
    for (int64_t j = 0; j < len; j++) {
      double v = (xp[j] - mean) * inv * sc[osc];
      yp[j] = (float)(bi ? v + bi[ob] : v);
      for (int i = r - 1; i >= 0; i--) { /* odometer over X: Scale and B offsets */
        osc += ss[i];
        ob += sb[i];
        if (++idx[i] < s->d[i]) break;
        osc -= ss[i] * s->d[i];
        ob -= sb[i] * s->d[i];
        idx[i] = 0;
      }
    }
  }
  return TSO_OK;
}
