/*
** key.c -- operator keys: built from graph nodes, their canonical byte
** signature, its hash, and the readable text form.
**
** Signature encoding (version TSOC_SIG_VERSION), all integers little-endian:
**   u8 version, u16 op, u8 nin, u8 nout,
**   u8 nwords, nwords x i32: the parameter union as 32-bit words with the
**      trailing zero words dropped,
**   then every input and every output:
**      u8 flags (TSOC_T_*); absent inputs stop here; else
**      u8 dtype, u8 layout, u8 rank, rank x i64 dims.
** Invariant: equal keys give equal bytes and different keys different
** bytes; the bytes never depend on the host, on padding or on pointers.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "cost/cost.h"

/* ---- building keys ------------------------------------------------------ */

/* Fills t from graph tensor gt; layout l. TSO_ERR_SHAPE when the shape or
** type is not fully known. */
static tso_status fill_tensor(const tsoI_Graph *g, int32_t id, int layout, tsoC_Tensor *t, const char *what,
                              int idx, char *err) {
  memset(t, 0, sizeof *t);
  if (id < 0) {
    t->flags = TSOC_T_ABSENT;
    t->shape.rank = 0;
    return TSO_OK;
  }
  const tsoI_Tensor *gt = &g->t[id];
  if (!gt->dtype || gt->shape.rank < 0 || !tsoO_shape_known(&gt->shape))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s %d ('%s') has an unknown shape or type", what, idx, gt->name);
  if (!tsoL_valid(layout, gt->shape.rank))
    return tsoO_fail(err, TSO_ERR_ARG, "%s %d ('%s'): layout %s does not fit rank %d", what, idx, gt->name,
                     tsoL_name(layout), (int)gt->shape.rank);
  t->dtype = gt->dtype;
  t->layout = layout;
  t->shape = gt->shape;
  for (int i = t->shape.rank; i < TSO_MAX_RANK; i++) t->shape.d[i] = 0;
  if (gt->flags & TSO_T_CONST) t->flags |= TSOC_T_CONST;
  return TSO_OK;
}

tso_status tsoC_key_from_node(const tsoI_Graph *g, int32_t node, const int32_t *layouts, tsoC_Key *k,
                              char *err) {
  if (!g || !k || node < 0 || node >= g->nn) return tsoO_fail(err, TSO_ERR_ARG, "no node %d", (int)node);
  const tsoI_Node *nd = &g->n[node];
  memset(k, 0, sizeof *k);
  if (nd->flags & TSO_N_DEAD) return tsoO_fail(err, TSO_ERR_ARG, "node %d is dead", (int)node);
  if (nd->op == TSO_OP_OPAQUE || !tsoO_info(nd->op))
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "opaque operator");
  if (nd->nin > TSOC_MAX_IN || nd->nout > TSOC_MAX_OUT)
    return tsoO_fail(err, TSO_ERR_LIMIT, "%d inputs and %d outputs: a key holds at most %d and %d", (int)nd->nin,
                     (int)nd->nout, TSOC_MAX_IN, TSOC_MAX_OUT);
  k->op = nd->op;
  k->nin = nd->nin;
  k->nout = nd->nout;
  k->p = nd->p;
  tso_status st;
  for (int i = 0; i < nd->nin; i++) {
    int32_t t = TSO_IN(g, nd, i);
    if ((st = fill_tensor(g, t, t >= 0 && layouts ? layouts[t] : 0, &k->in[i], "input", i, err))) return st;
  }
  for (int i = 0; i < nd->nout; i++) {
    int32_t t = TSO_OUT(g, nd, i);
    if ((st = fill_tensor(g, t, t >= 0 && layouts ? layouts[t] : 0, &k->out[i], "output", i, err))) return st;
  }
  return TSO_OK;
}

tso_status tsoC_key_infer(tsoC_Key *k, char *err) {
  const tsoO_Info *oi = tsoO_info(k->op);
  if (!oi || !oi->infer || k->op == TSO_OP_OPAQUE) return tsoO_fail(err, TSO_ERR_ARG, "no operator %d", (int)k->op);
  if (k->nin < 0 || k->nin > TSOC_MAX_IN) return tsoO_fail(err, TSO_ERR_ARG, "bad input count %d", (int)k->nin);
  int nout = k->nout > 0 ? k->nout : oi->min_out;
  if (nout < 1 || nout > TSOC_MAX_OUT) return tsoO_fail(err, TSO_ERR_ARG, "bad output count %d", nout);
  tsoO_Value in[TSOC_MAX_IN], out[TSOC_MAX_OUT];
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  for (int i = 0; i < k->nin; i++) {
    if (k->in[i].flags & TSOC_T_ABSENT) continue;
    in[i].dtype = k->in[i].dtype;
    in[i].shape = k->in[i].shape;
  }
  char m[TSO_ERRMAX] = "";
  tso_status st = oi->infer(&k->p, k->nin, in, nout, out, m);
  if (st) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: %s", oi->name, m);
  for (int j = 0; j < nout; j++) {
    if (out[j].shape.rank < 0 || !tsoO_shape_known(&out[j].shape) || !out[j].dtype)
      return tsoO_fail(err, TSO_ERR_SHAPE, "%s: output %d is not determined by the input shapes", oi->name, j);
    tsoC_Tensor *t = &k->out[j];
    t->dtype = out[j].dtype;
    t->shape = out[j].shape;
    for (int i = t->shape.rank; i < TSO_MAX_RANK; i++) t->shape.d[i] = 0;
    t->flags &= TSOC_T_CONST;
  }
  k->nout = nout;
  return TSO_OK;
}

void tsoC_key_conversion(tsoC_Key *k, const tsoO_Shape *s, int dtype, int from, int to) {
  memset(k, 0, sizeof *k);
  k->op = TSO_OP_IDENTITY;
  k->nin = k->nout = 1;
  k->in[0].dtype = k->out[0].dtype = dtype;
  k->in[0].shape = k->out[0].shape = *s;
  for (int i = s->rank; i < TSO_MAX_RANK; i++) k->in[0].shape.d[i] = k->out[0].shape.d[i] = 0;
  k->in[0].layout = from;
  k->out[0].layout = to;
}

void tsoC_win_pads(const tsoO_Params *p, int64_t ih, int64_t iw, int64_t kh, int64_t kw, int64_t pads[4]) {
  int64_t in[2] = {ih, iw}, k[2] = {kh, kw}, s[2] = {p->win.sh, p->win.sw}, d[2] = {p->win.dh, p->win.dw};
  pads[0] = p->win.pt;
  pads[1] = p->win.pl;
  pads[2] = p->win.pb;
  pads[3] = p->win.pr;
  for (int a = 0; a < 2; a++) {
    if (p->win.pad_mode == TSO_PAD_VALID) {
      pads[a] = pads[a + 2] = 0;
    } else if (p->win.pad_mode == TSO_PAD_SAME_UPPER || p->win.pad_mode == TSO_PAD_SAME_LOWER) {
      int64_t st = s[a] > 0 ? s[a] : 1, ek = (k[a] - 1) * (d[a] > 0 ? d[a] : 1) + 1;
      int64_t out = (in[a] + st - 1) / st, tot = (out - 1) * st + ek - in[a];
      if (tot < 0) tot = 0;
      pads[a] = p->win.pad_mode == TSO_PAD_SAME_UPPER ? tot / 2 : tot - tot / 2;
      pads[a + 2] = tot - pads[a];
    }
  }
}

int tsoC_key_is_free(const tsoC_Key *k) {
  int all_const = k->nout > 0, default_layouts = 1;
  for (int j = 0; j < k->nout; j++) all_const &= (k->out[j].flags & TSOC_T_CONST) != 0;
  if (all_const) return 1; /* computed once, before run time */
  for (int i = 0; i < k->nin; i++) default_layouts &= k->in[i].layout == TSO_LAYOUT_DEFAULT;
  for (int j = 0; j < k->nout; j++) default_layouts &= k->out[j].layout == TSO_LAYOUT_DEFAULT;
  switch (k->op) {
  case TSO_OP_CONSTANT: case TSO_OP_CONST_IKERNEL: case TSO_OP_CONST_IMATRIX: case TSO_OP_CONST_ONES:
  case TSO_OP_CONST_POOL: case TSO_OP_SHAPE:
    return 1;
  case TSO_OP_RESHAPE: case TSO_OP_FLATTEN: case TSO_OP_SQUEEZE: case TSO_OP_UNSQUEEZE: case TSO_OP_DROPOUT:
    return default_layouts;
  case TSO_OP_IDENTITY:
    return k->nin == 1 && k->nout == 1 && k->in[0].layout == k->out[0].layout;
  case TSO_OP_TRANSPOSE: { /* stored in the order of its input: a view */
    int r = k->in[0].shape.rank, perm[TSO_MAX_RANK];
    if (k->nin != 1 || k->nout != 1 || r < 0 || r > TSO_MAX_RANK) return 0;
    for (int i = 0; i < r; i++) perm[i] = k->p.transpose.n > 0 ? k->p.transpose.perm[i] : r - 1 - i;
    return tsoL_transpose_is_view(perm, r, k->in[0].layout, k->out[0].layout);
  }
  default:
    return 0;
  }
}

/* ---- signatures ------------------------------------------------------------ */

typedef struct Buf {
  uint8_t *b;
  uint32_t n, cap;
  int over;
} Buf;

static void put_u8(Buf *w, unsigned v) {
  if (w->n >= w->cap) {
    w->over = 1;
    return;
  }
  w->b[w->n++] = (uint8_t)v;
}

static void put_le(Buf *w, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) put_u8(w, (unsigned)((v >> (8 * i)) & 0xffu));
}

/* Encodes one tensor; 0 if it is malformed. */
static int put_tensor(Buf *w, const tsoC_Tensor *t, int may_be_absent) {
  if (t->flags & ~(TSOC_T_ABSENT | TSOC_T_CONST)) return 0;
  put_u8(w, t->flags);
  if (t->flags & TSOC_T_ABSENT) return may_be_absent;
  int r = t->shape.rank;
  if (r < 0 || r > TSO_MAX_RANK || t->dtype <= 0 || t->dtype > 255 || !tsoL_valid(t->layout, r)) return 0;
  put_u8(w, (unsigned)t->dtype);
  put_u8(w, (unsigned)t->layout);
  put_u8(w, (unsigned)r);
  for (int i = 0; i < r; i++) {
    if (t->shape.d[i] < 0) return 0;
    put_le(w, (uint64_t)t->shape.d[i], 8);
  }
  return 1;
}

tso_status tsoC_key_sig(const tsoC_Key *k, tsoC_Sig *s) {
  Buf w = {s->b, 0, TSOC_SIG_MAX, 0};
  s->n = 0;
  s->hash = 0;
  if (!tsoO_info(k->op) || k->nin < 0 || k->nin > TSOC_MAX_IN || k->nout < 0 || k->nout > TSOC_MAX_OUT)
    return TSO_ERR_ARG;
  put_u8(&w, TSOC_SIG_VERSION);
  put_le(&w, (uint64_t)k->op, 2);
  put_u8(&w, (unsigned)k->nin);
  put_u8(&w, (unsigned)k->nout);
  int nw = (int)(sizeof k->p.raw / sizeof k->p.raw[0]);
  while (nw > 0 && k->p.raw[nw - 1] == 0) nw--;
  put_u8(&w, (unsigned)nw);
  for (int i = 0; i < nw; i++) put_le(&w, (uint32_t)k->p.raw[i], 4);
  for (int i = 0; i < k->nin; i++)
    if (!put_tensor(&w, &k->in[i], 1)) return TSO_ERR_ARG;
  for (int j = 0; j < k->nout; j++)
    if (!put_tensor(&w, &k->out[j], 0)) return TSO_ERR_ARG;
  if (w.over) return TSO_ERR_LIMIT;
  s->n = w.n;
  s->hash = XXH3_64bits(s->b, s->n);
  return TSO_OK;
}

/* ---- text ----------------------------------------------------------------- */

typedef struct Txt {
  char *b;
  size_t n, len;
} Txt;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void tx(Txt *t, const char *fmt, ...) {
  if (t->len + 1 >= t->n) return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(t->b + t->len, t->n - t->len, fmt, ap);
  va_end(ap);
  if (w < 0) return;
  t->len += (size_t)w;
  if (t->len >= t->n) { /* truncated: end with "..." */
    t->len = t->n - 1;
    if (t->n > 4) memcpy(t->b + t->n - 4, "...", 4);
  }
}

static const char *dt_short(int dt) {
  switch (dt) {
  case TSO_DT_FLOAT: return "f32";
  case TSO_DT_DOUBLE: return "f64";
  case TSO_DT_FLOAT16: return "f16";
  case TSO_DT_BFLOAT16: return "bf16";
  case TSO_DT_INT8: return "i8";
  case TSO_DT_UINT8: return "u8";
  case TSO_DT_INT16: return "i16";
  case TSO_DT_UINT16: return "u16";
  case TSO_DT_INT32: return "i32";
  case TSO_DT_UINT32: return "u32";
  case TSO_DT_INT64: return "i64";
  case TSO_DT_UINT64: return "u64";
  case TSO_DT_BOOL: return "bool";
  case TSO_DT_STRING: return "str";
  default: return "?";
  }
}

/* A tensor: its shape, "^T" for a column-major matrix, "/nhwc" for NHWC
** when `img` is 0 (conv/pool print the image layout once instead), "(c)"
** for a constant. */
static void tx_tensor(Txt *t, const tsoC_Tensor *x, int img) {
  char b[160];
  if (x->flags & TSOC_T_ABSENT) {
    tx(t, "-");
    return;
  }
  tx(t, "%s", tsoO_shape_str(&x->shape, b, sizeof b));
  if (x->layout == TSO_LAYOUT_COLMAJOR) tx(t, "^T");
  else if (x->layout == TSO_LAYOUT_NHWC && !img) tx(t, "/nhwc");
  if (x->flags & TSOC_T_CONST) tx(t, "(c)");
}

static const char *img_name(int layout) { return layout == TSO_LAYOUT_NHWC ? "NHWC" : "NCHW"; }

/* The image layout of a conv/pool: "NCHW", or "NCHW->NHWC" when the
** output differs. */
static void tx_img(Txt *t, const tsoC_Key *k) {
  tx(t, " %s", img_name(k->in[0].layout));
  if (k->nout > 0 && k->out[0].layout != k->in[0].layout) tx(t, "->%s", img_name(k->out[0].layout));
}

/* Window attributes shared by conv and pools. */
static void tx_win(Txt *t, const tsoO_Params *p, int64_t kh, int64_t kw) {
  tx(t, " k%lldx%lld", (long long)kh, (long long)kw);
  if (p->win.sh == p->win.sw) tx(t, " s%d", (int)p->win.sh);
  else tx(t, " s%dx%d", (int)p->win.sh, (int)p->win.sw);
  static const char *const modes[] = {"", "SAME", "SAME_LOWER", "VALID"};
  if (p->win.pad_mode > 0 && p->win.pad_mode <= 3) tx(t, " p%s", modes[p->win.pad_mode]);
  else if (p->win.pt == p->win.pl && p->win.pt == p->win.pb && p->win.pt == p->win.pr) tx(t, " p%d", (int)p->win.pt);
  else tx(t, " p%d,%d,%d,%d", (int)p->win.pt, (int)p->win.pl, (int)p->win.pb, (int)p->win.pr);
  if (p->win.dh != 1 || p->win.dw != 1) tx(t, " d%dx%d", (int)p->win.dh, (int)p->win.dw);
}

/* Inputs from `from` on as "A, B, C"; outputs likewise. */
static void tx_list(Txt *t, const tsoC_Tensor *x, int from, int n) {
  for (int i = from; i < n; i++) {
    if (i > from) tx(t, ", ");
    tx_tensor(t, &x[i], 0);
  }
}

char *tsoC_key_text(const tsoC_Key *k, char *buf, size_t n) {
  Txt t = {buf, n, 0};
  if (!buf || n == 0) return buf;
  buf[0] = 0;
  const tsoO_Info *oi = tsoO_info(k->op);
  const tsoO_Params *p = &k->p;
  tx(&t, "%s", oi ? oi->name : "?");
  if (!oi) return buf;
  const tsoC_Tensor *in = k->in;
  int have = k->nin > 0 && !(in[0].flags & TSOC_T_ABSENT);
  switch (k->op) {
  case TSO_OP_CONV2D: {
    int64_t kh = k->nin > 1 && in[1].shape.rank == 4 ? in[1].shape.d[2] : p->win.kh;
    int64_t kw = k->nin > 1 && in[1].shape.rank == 4 ? in[1].shape.d[3] : p->win.kw;
    tx_win(&t, p, kh, kw);
    tx(&t, " g%d", (int)p->win.group);
    if (p->win.act == TSO_ACT_RELU) tx(&t, " relu");
    tx(&t, " in ");
    tx_tensor(&t, &in[0], 1);
    if (k->nin > 1) {
      tx(&t, " w ");
      tx_tensor(&t, &in[1], 0);
    }
    if (k->nin > 2 && !(in[2].flags & TSOC_T_ABSENT)) {
      tx(&t, " b ");
      tx_tensor(&t, &in[2], 0);
    }
    tx_img(&t, k);
    break;
  }
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL:
    tx_win(&t, p, p->win.kh, p->win.kw);
    if (p->win.ceil_mode) tx(&t, " ceil");
    if (p->win.count_include_pad) tx(&t, " incl");
    tx(&t, " in ");
    tx_tensor(&t, &in[0], 1);
    tx_img(&t, k);
    break;
  case TSO_OP_MATMUL:
    tx(&t, " a ");
    tx_tensor(&t, &in[0], 0);
    tx(&t, " b ");
    tx_tensor(&t, &in[1], 0);
    if (k->nout > 0 && k->out[0].layout != TSO_LAYOUT_DEFAULT) tx(&t, " out^T");
    break;
  case TSO_OP_GEMM:
    tx(&t, " a ");
    tx_tensor(&t, &in[0], 0);
    if (p->gemm.trans_a) tx(&t, " tA");
    tx(&t, " b ");
    tx_tensor(&t, &in[1], 0);
    if (p->gemm.trans_b) tx(&t, " tB");
    if (k->nin > 2 && !(in[2].flags & TSOC_T_ABSENT)) {
      tx(&t, " c ");
      tx_tensor(&t, &in[2], 0);
    }
    if (p->gemm.alpha != 1.0f) tx(&t, " alpha %g", (double)p->gemm.alpha);
    if (p->gemm.beta != 1.0f) tx(&t, " beta %g", (double)p->gemm.beta);
    if (k->nout > 0 && k->out[0].layout != TSO_LAYOUT_DEFAULT) tx(&t, " out^T");
    break;
  case TSO_OP_BATCHNORM:
    tx(&t, " in ");
    tx_tensor(&t, &in[0], 1);
    tx(&t, " eps %g", (double)p->norm.epsilon);
    if (in[0].shape.rank == 4) tx_img(&t, k);
    break;
  case TSO_OP_LAYERNORM:
    tx(&t, " axis %d eps %g in ", (int)p->norm.axis, (double)p->norm.epsilon);
    tx_list(&t, in, 0, k->nin);
    if (k->nout > 1) tx(&t, " stats");
    break;
  case TSO_OP_SOFTMAX: case TSO_OP_CONCAT:
    tx(&t, " axis %d%s in ", (int)p->axis.axis, k->op == TSO_OP_SOFTMAX && p->axis.legacy ? " legacy" : "");
    tx_list(&t, in, 0, k->nin);
    break;
  case TSO_OP_TRANSPOSE:
    tx(&t, " perm ");
    if (p->transpose.n == 0) tx(&t, "rev");
    for (int i = 0; i < p->transpose.n && i < TSO_MAX_RANK; i++) tx(&t, "%s%d", i ? "," : "", (int)p->transpose.perm[i]);
    tx(&t, " in ");
    tx_list(&t, in, 0, k->nin);
    if (k->nout > 0 && k->out[0].layout != TSO_LAYOUT_DEFAULT) tx(&t, " out %s", tsoL_name(k->out[0].layout));
    break;
  case TSO_OP_IDENTITY:
    tx(&t, " in ");
    tx_list(&t, in, 0, k->nin);
    if (k->nout > 0 && k->nin > 0 && k->out[0].layout != in[0].layout)
      tx(&t, " %s->%s", tsoL_name(in[0].layout), tsoL_name(k->out[0].layout));
    break;
  default: {
    int elementwise = (oi->flags & TSO_OPF_ELEMWISE) != 0;
    if ((k->op >= TSO_OP_ADD && k->op <= TSO_OP_POW) && p->axis.legacy) tx(&t, " bcast%d", (int)p->axis.legacy);
    if (k->op == TSO_OP_DROPOUT) {
      tx(&t, " ratio %g", (double)p->dropout.ratio);
    } else if (k->op == TSO_OP_FLATTEN || k->op == TSO_OP_GATHER) {
      tx(&t, " axis %d", (int)p->axis.axis);
    } else if (k->op == TSO_OP_SPLIT) {
      tx(&t, " axis %d", (int)p->split.axis);
      for (int i = 0; i < p->split.nsizes && i < 24; i++) tx(&t, "%s%d", i ? "," : " sizes ", (int)p->split.sizes[i]);
    } else if (k->op == TSO_OP_REDUCEMEAN) {
      tx(&t, " axes ");
      if (!p->axes.naxes) tx(&t, "%s", k->nin > 1 ? "input" : "all");
      for (int i = 0; i < p->axes.naxes && i < TSO_MAX_RANK; i++) tx(&t, "%s%d", i ? "," : "", (int)p->axes.axes[i]);
      if (p->axes.keepdims) tx(&t, " keep");
    } else if (!elementwise) {
      /* parameters this printer does not name: the non-zero words */
      int nw = (int)(sizeof p->raw / sizeof p->raw[0]);
      while (nw > 0 && p->raw[nw - 1] == 0) nw--;
      if (nw) {
        tx(&t, " p");
        for (int i = 0; i < nw; i++) tx(&t, "%s%d", i ? "," : "", (int)p->raw[i]);
      }
    }
    tx(&t, " in ");
    tx_list(&t, in, 0, k->nin);
    if (!elementwise && k->nout > 0) {
      tx(&t, " out ");
      tx_list(&t, k->out, 0, k->nout);
    }
    break;
  }
  }
  int dt = have ? in[0].dtype : k->nout > 0 ? k->out[0].dtype : 0;
  tx(&t, " %s", dt_short(dt));
  return buf;
}
