/*
** onednn.c -- the backend "onednn": operators timed as oneDNN primitives on
** the CPU (built only when oneDNN is found; TASO_HAVE_ONEDNN).
**
** Each supported key becomes one primitive (plan()):
**   conv2d            convolution (auto algorithm; groups; bias; fused relu
**                     as an eltwise post-op)
**   matmul, gemm      matmul (batched with broadcasting; transposed operands
**                     and the column-major layout as strides; Gemm's C as
**                     the bias, alpha as a linear post-op)
**   maxpool, avgpool  pooling_v2; global average pool as pooling (4-D) or
**                     reduction; reducemean as reduction
**   relu, sigmoid, tanh, sqrt, scalar-mul   eltwise; erf is timed as
**                     gelu_erf (the same erf plus two multiply-adds): a
**                     proxy, which run() refuses
**   add, sub, mul, div  binary with broadcasting of the second operand
**                     (the operands of add and mul are swapped if needed)
**   batchnorm         batch normalization, inference, global statistics
**   softmax           softmax_v2, accurate
**   layernorm         layer normalization over the trailing dimensions
**   concat            concat
**   transpose, identity between layouts   reorder
** Everything else, and any element type but float32, is not supported:
** the caller falls back to the analytic model and says so.
**
** Memory formats, as a runtime built on oneDNN runs the operator:
**   - constant inputs (weights) are in whatever format the primitive
**     prefers: a runtime re-packs them once, at load time;
**   - 4-D activations in the default layout are in oneDNN's blocked format
**     for the ISA (nChw8c with AVX2, nChw16c with AVX-512; convolutions
**     choose their own): runtimes keep activations blocked between
**     operators, and several primitives have no fast kernel for plain NCHW
**     (a 3x3 max pooling runs ~50x slower in plain NCHW on AVX2). When a
**     primitive has no blocked implementation, the plain layout is used.
**     MeasureOpts.plain_layouts = 1 times everything in plain NCHW instead;
**     the choice is in the version string, hence in the database key;
**   - every other tensor (NHWC, column-major, 2-D and 3-D activations) is
**     bound in the key's own layout as plain strided memory, so the time is
**     that of the operator in that layout.
** run() takes and returns the caller's plain buffers and reorders them to
** and from the primitive's formats, outside of any timing.
**
** Threads: oneDNN's CPU runtime here is OpenMP. Before creating or
** executing anything, omp_set_num_threads(mo.threads) is called on the
** calling thread (the function is looked up with dlsym in the OpenMP
** runtime that libdnnl loaded, so we do not link one ourselves) and the
** previous value is restored afterwards; the thread count is part of the
** version string, hence of the database key. With another CPU runtime
** (TBB, threadpool) the runtime's default is used and recorded.
**
** Clock: with one thread, oneDNN runs the primitive on the calling thread,
** and a sample is timed with that thread's CPU clock
** (CLOCK_THREAD_CPUTIME_ID): the time it spends descheduled -- other
** processes on an oversubscribed machine, the hypervisor -- is not the
** operator's. Measured at a load average of 6 on 2 cores, a 12 ms matmul
** read 15-20 ms on the wall clock and 12.20-12.28 ms on the thread clock
** (12.4 ms on the quiet machine). With more threads the wall clock is
** used. The clock is in the version string.
*/
#include <dlfcn.h>
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "cost/cost.h"

#define METHOD_VERSION 1 /* bump when what is timed changes (memory binding, estimator) */
#define MAX_BINDS (TSOC_MAX_IN + 8)

typedef struct Onednn {
  tsoC_Backend base;
  dnnl_engine_t eng;
  dnnl_stream_t strm;
  dnnl_format_tag_t blk;  /* the blocked activation format of this ISA (nChw8c, nChw16c) */
  clockid_t clock;        /* what a sample is timed with (see od_sample) */
  int (*omp_get)(void);   /* omp_get_max_threads, or NULL */
  void (*omp_set)(int);   /* omp_set_num_threads, or NULL */
} Onednn;

enum { B_IN, B_OUT, B_AUX };            /* what a primitive argument is bound to */
enum { F_SIGNED, F_POSITIVE };          /* random data: uniform [-1, 1], or [0.5, 1.5] */

typedef struct Bind {
  int arg;                  /* DNNL_ARG_* */
  int kind;                 /* B_* */
  int idx;                  /* key input or output index */
  int fill;                 /* F_* */
  float prescale;           /* run(): the caller's input is multiplied by this first */
  dnnl_memory_desc_t user;  /* the key tensor as the caller stores it */
} Bind;

/* A primitive descriptor and how to bind its arguments. */
typedef struct Plan {
  dnnl_primitive_desc_t pd;
  int nb;
  Bind b[MAX_BINDS];
  int proxy;                /* 1: timing proxy, not the exact operator (run() refuses) */
} Plan;

struct tsoC_Prepared {
  dnnl_primitive_t prim;
  int nargs;
  dnnl_exec_arg_t args[MAX_BINDS];
};

/* ---- helpers ----------------------------------------------------------------- */

static const char *dnnl_msg(dnnl_status_t s) {
  switch (s) {
  case dnnl_success: return "success";
  case dnnl_out_of_memory: return "out of memory";
  case dnnl_invalid_arguments: return "invalid arguments";
  case dnnl_unimplemented: return "no implementation";
  case dnnl_runtime_error: return "runtime error";
  default: return "error";
  }
}

/* Sets the library's thread count for this call; returns what to restore. */
static int th_enter(Onednn *o) {
  if (o->base.mo.threads <= 0 || !o->omp_set || !o->omp_get) return 0;
  int old = o->omp_get();
  if (old != o->base.mo.threads) o->omp_set(o->base.mo.threads);
  return old;
}

static void th_leave(Onednn *o, int old) {
  if (old > 0 && old != o->base.mo.threads) o->omp_set(old);
}

/* A plain strided descriptor of logical dims d[0..r) stored in `layout`;
** rank 0 becomes [1]. */
static int md_plain(dnnl_memory_desc_t *md, int r, const int64_t *d, int layout) {
  dnnl_dims_t dims, strides;
  int64_t st[TSO_MAX_RANK];
  if (r == 0) {
    dims[0] = 1;
    strides[0] = 1;
    return dnnl_memory_desc_init_by_strides(md, 1, dims, dnnl_f32, strides) == dnnl_success ? 0 : -1;
  }
  if (r > TSO_MAX_RANK || tsoL_strides(layout, r, d, st)) return -1;
  for (int i = 0; i < r; i++) {
    dims[i] = d[i];
    strides[i] = st[i];
  }
  return dnnl_memory_desc_init_by_strides(md, r, dims, dnnl_f32, strides) == dnnl_success ? 0 : -1;
}

/* Descriptor of key tensor t. */
static int md_tensor(dnnl_memory_desc_t *md, const tsoC_Tensor *t) {
  return md_plain(md, t->shape.rank, t->shape.d, t->layout);
}

/* t with r - rank leading dimensions of 1 (stride: the whole tensor). */
static int md_expand(dnnl_memory_desc_t *md, const tsoC_Tensor *t, int r) {
  dnnl_dims_t dims, strides;
  int64_t st[TSO_MAX_RANK], total = 1;
  int tr = t->shape.rank, lead = r - tr;
  if (lead < 0 || r > DNNL_MAX_NDIMS || r < 1 || tsoL_strides(t->layout, tr, t->shape.d, st)) return -1;
  for (int i = 0; i < tr; i++) total *= t->shape.d[i] > 0 ? t->shape.d[i] : 1;
  for (int i = 0; i < lead; i++) {
    dims[i] = 1;
    strides[i] = total;
  }
  for (int i = 0; i < tr; i++) {
    dims[lead + i] = t->shape.d[i];
    strides[lead + i] = st[i];
  }
  return dnnl_memory_desc_init_by_strides(md, r, dims, dnnl_f32, strides) == dnnl_success ? 0 : -1;
}

/* The descriptor the primitive gets for activation t: the library's blocked
** format (or `any` when the primitive may choose) for a 4-D, non-constant
** tensor in the default layout unless plain; else t's plain layout. */
static int md_act(Onednn *o, dnnl_memory_desc_t *md, const tsoC_Tensor *t, int plain, int any) {
  if (plain || t->shape.rank != 4 || t->layout != TSO_LAYOUT_DEFAULT || (t->flags & TSOC_T_CONST))
    return md_tensor(md, t);
  dnnl_dims_t d = {t->shape.d[0], t->shape.d[1], t->shape.d[2], t->shape.d[3]};
  return dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, any ? dnnl_format_tag_any : o->blk) == dnnl_success ? 0
                                                                                                             : -1;
}

static int64_t numel(const tsoC_Tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->shape.rank; i++) n *= t->shape.d[i];
  return n;
}

static void bind(Plan *pl, int arg, int kind, int idx, int fill, const dnnl_memory_desc_t *user) {
  Bind *b = &pl->b[pl->nb++];
  memset(b, 0, sizeof *b);
  b->arg = arg;
  b->kind = kind;
  b->idx = idx;
  b->fill = fill;
  b->prescale = 1.0f;
  if (user) b->user = *user;
}

/* Creates pl->pd from an operation descriptor. */
static tso_status make_pd(Onednn *o, Plan *pl, const void *desc, dnnl_primitive_attr_t attr, const char *what,
                          char *err) {
  dnnl_status_t s = dnnl_primitive_desc_create(&pl->pd, desc, attr, o->eng, NULL);
  if (s != dnnl_success) {
    pl->pd = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN %s: %s", what, dnnl_msg(s));
  }
  return TSO_OK;
}

static tso_status bad(char *err, const char *what) { return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", what); }

/* Returns from a plan function when a memory descriptor cannot be made. */
#define MD(expr)                                                              \
  do {                                                                        \
    if ((expr) != 0) return bad(err, "a memory layout oneDNN cannot express"); \
  } while (0)

/* Attributes with one eltwise post-op. */
static dnnl_primitive_attr_t attr_eltwise(dnnl_alg_kind_t alg, float alpha, float beta) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  if (dnnl_post_ops_create(&po) != dnnl_success || dnnl_post_ops_append_eltwise(po, 1.0f, alg, alpha, beta) ||
      dnnl_primitive_attr_set_post_ops(attr, po)) {
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return NULL;
  }
  dnnl_post_ops_destroy(po);
  return attr;
}

static int img_layout(int l) { return l == TSO_LAYOUT_DEFAULT || l == TSO_LAYOUT_NHWC; }

/* ---- plans, one per operator family -------------------------------------------- */

static tso_status plan_conv(Onednn *o, const tsoC_Key *k, Plan *pl, int plain, char *err) {
  const tsoC_Tensor *x = &k->in[0], *w = &k->in[1], *y = &k->out[0];
  const tsoC_Tensor *b = k->nin > 2 && !(k->in[2].flags & TSOC_T_ABSENT) ? &k->in[2] : NULL;
  if (x->shape.rank != 4 || w->shape.rank != 4 || y->shape.rank != 4) return bad(err, "conv2d needs 4-D tensors");
  if (!img_layout(x->layout) || !img_layout(y->layout)) return bad(err, "conv2d layouts must be NCHW or NHWC");
  if (w->layout != TSO_LAYOUT_DEFAULT || (b && b->layout != TSO_LAYOUT_DEFAULT))
    return bad(err, "conv2d weights must be in the default layout");
  int64_t g = k->p.win.group, m = w->shape.d[0];
  if (g < 1 || m % g) return bad(err, "conv2d: bad group");
  dnnl_memory_desc_t src, usrc, wei, wuser, bias, dst, udst;
  MD(md_tensor(&usrc, x));
  MD(md_tensor(&udst, y));
  MD(md_act(o, &src, x, plain, 1));
  MD(md_act(o, &dst, y, plain, 1));
  int64_t wd[5] = {g, m / g, w->shape.d[1], w->shape.d[2], w->shape.d[3]};
  int wr = g > 1 ? 5 : 4;
  MD(md_plain(&wuser, wr, g > 1 ? wd : w->shape.d, TSO_LAYOUT_DEFAULT));
  wei = wuser;
  if (w->flags & TSOC_T_CONST) {
    dnnl_dims_t dd;
    for (int i = 0; i < wr; i++) dd[i] = g > 1 ? wd[i] : w->shape.d[i];
    if (dnnl_memory_desc_init_by_tag(&wei, wr, dd, dnnl_f32, dnnl_format_tag_any)) return bad(err, "conv2d weights");
  }
  if (b) MD(md_tensor(&bias, b));
  int64_t pads[4];
  tsoC_win_pads(&k->p, x->shape.d[2], x->shape.d[3], w->shape.d[2], w->shape.d[3], pads);
  dnnl_dims_t strides = {k->p.win.sh, k->p.win.sw}, dil = {k->p.win.dh - 1, k->p.win.dw - 1};
  dnnl_dims_t pl_ = {pads[0], pads[1]}, pr_ = {pads[2], pads[3]};
  dnnl_convolution_desc_t cd;
  if (dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_auto, &src, &wei,
                                                 b ? &bias : NULL, &dst, strides, dil, pl_, pr_))
    return bad(err, "oneDNN rejects this convolution");
  dnnl_primitive_attr_t attr = NULL;
  if (k->p.win.act == TSO_ACT_RELU && !(attr = attr_eltwise(dnnl_eltwise_relu, 0.0f, 0.0f)))
    return bad(err, "conv2d: relu post-op");
  tso_status st = make_pd(o, pl, &cd, attr, "convolution", err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &usrc);
  bind(pl, DNNL_ARG_WEIGHTS, B_IN, 1, F_SIGNED, &wuser);
  if (b) bind(pl, DNNL_ARG_BIAS, B_IN, 2, F_SIGNED, &bias);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &udst);
  return TSO_OK;
}

static tso_status plan_pool(Onednn *o, const tsoC_Key *k, Plan *pl, int plain, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  if (x->shape.rank != 4 || y->shape.rank != 4) return bad(err, "pooling needs 4-D tensors");
  if (!img_layout(x->layout) || !img_layout(y->layout)) return bad(err, "pooling layouts must be NCHW or NHWC");
  dnnl_memory_desc_t src, usrc, dst, udst;
  MD(md_tensor(&usrc, x));
  MD(md_tensor(&udst, y));
  MD(md_act(o, &src, x, plain, 0));
  MD(md_act(o, &dst, y, plain, 1));
  dnnl_dims_t kern, strides, dil, pl_, pr_;
  dnnl_alg_kind_t alg;
  if (k->op == TSO_OP_GLOBALAVGPOOL) {
    kern[0] = x->shape.d[2];
    kern[1] = x->shape.d[3];
    strides[0] = strides[1] = 1;
    dil[0] = dil[1] = pl_[0] = pl_[1] = pr_[0] = pr_[1] = 0;
    alg = dnnl_pooling_avg_exclude_padding;
  } else {
    const tsoO_Params *p = &k->p;
    int64_t pads[4];
    tsoC_win_pads(p, x->shape.d[2], x->shape.d[3], p->win.kh, p->win.kw, pads);
    kern[0] = p->win.kh;
    kern[1] = p->win.kw;
    strides[0] = p->win.sh;
    strides[1] = p->win.sw;
    dil[0] = p->win.dh - 1;
    dil[1] = p->win.dw - 1;
    pl_[0] = pads[0];
    pl_[1] = pads[1];
    pr_[0] = pads[2];
    pr_[1] = pads[3];
    if (p->win.ceil_mode) { /* the right pad that makes floor division give the ceil output */
      for (int a = 0; a < 2; a++) {
        int64_t ek = (kern[a] - 1) * (dil[a] + 1) + 1;
        pr_[a] = (y->shape.d[2 + a] - 1) * strides[a] + ek - x->shape.d[2 + a] - pl_[a];
        if (pr_[a] < 0) pr_[a] = 0;
      }
      if (p->win.count_include_pad) pl->proxy = 1; /* the extension would count as padding */
    }
    alg = k->op == TSO_OP_MAXPOOL ? dnnl_pooling_max
          : p->win.count_include_pad ? dnnl_pooling_avg_include_padding
                                     : dnnl_pooling_avg_exclude_padding;
  }
  dnnl_pooling_v2_desc_t pd;
  if (dnnl_pooling_v2_forward_desc_init(&pd, dnnl_forward_inference, alg, &src, &dst, strides, kern, dil, pl_, pr_))
    return bad(err, "oneDNN rejects this pooling");
  tso_status st = make_pd(o, pl, &pd, NULL, "pooling", err);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &usrc);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &udst);
  return TSO_OK;
}

/* Reduction by mean over the axes where the output (keepdims form) is 1. */
static tso_status plan_reduce(Onednn *o, const tsoC_Key *k, Plan *pl, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank;
  if (r < 1 || x->layout != TSO_LAYOUT_DEFAULT || y->layout != TSO_LAYOUT_DEFAULT)
    return bad(err, "reduction: default layout only");
  int red[TSO_MAX_RANK] = {0};
  if (k->op == TSO_OP_GLOBALAVGPOOL) {
    for (int i = 2; i < r; i++) red[i] = 1;
  } else if (k->p.axes.naxes > 0) {
    for (int i = 0; i < k->p.axes.naxes && i < TSO_MAX_RANK; i++) {
      int a = k->p.axes.axes[i] < 0 ? k->p.axes.axes[i] + r : k->p.axes.axes[i];
      if (a < 0 || a >= r) return bad(err, "reducemean: bad axis");
      red[a] = 1;
    }
  } else if (k->nin > 1 && !(k->in[1].flags & TSOC_T_ABSENT)) {
    if (!k->p.axes.keepdims || y->shape.rank != r) return bad(err, "reducemean: axes given as an input");
    for (int i = 0; i < r; i++) red[i] = y->shape.d[i] == 1 && x->shape.d[i] != 1;
  } else if (k->p.axes.noop_empty) {
    return bad(err, "reducemean: no-op form");
  } else {
    for (int i = 0; i < r; i++) red[i] = 1;
  }
  int64_t od[TSO_MAX_RANK];
  for (int i = 0; i < r; i++) od[i] = red[i] ? 1 : x->shape.d[i];
  dnnl_memory_desc_t src, dst;
  MD(md_tensor(&src, x));
  MD(md_plain(&dst, r, od, TSO_LAYOUT_DEFAULT));
  dnnl_reduction_desc_t rd;
  if (dnnl_reduction_desc_init(&rd, dnnl_reduction_mean, &src, &dst, 0.0f, 0.0f))
    return bad(err, "oneDNN rejects this reduction");
  tso_status st = make_pd(o, pl, &rd, NULL, "reduction", err);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &src);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &dst);
  return TSO_OK;
}

static tso_status plan_eltwise(Onednn *o, const tsoC_Key *k, Plan *pl, const void *const *data, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  if (x->layout != y->layout) return bad(err, "element-wise operator changing the layout");
  dnnl_alg_kind_t alg = dnnl_eltwise_relu;
  float alpha = 0.0f;
  int fill = F_SIGNED;
  switch (k->op) {
  case TSO_OP_RELU: alg = dnnl_eltwise_relu; break;
  case TSO_OP_SIGMOID: alg = dnnl_eltwise_logistic; break;
  case TSO_OP_TANH: alg = dnnl_eltwise_tanh; break;
  case TSO_OP_SQRT: alg = dnnl_eltwise_sqrt; fill = F_POSITIVE; break;
  case TSO_OP_ERF: alg = dnnl_eltwise_gelu_erf; pl->proxy = 1; break;
  case TSO_OP_SCALAR_MUL:
    alg = dnnl_eltwise_linear;
    alpha = 0.5f;
    if (data && data[1]) alpha = *(const float *)data[1];
    break;
  default: return bad(err, "not an element-wise operator");
  }
  int64_t n = numel(x);
  dnnl_memory_desc_t md;
  MD(md_plain(&md, 1, &n, TSO_LAYOUT_DEFAULT));
  dnnl_eltwise_desc_t ed;
  if (dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &md, alpha, 0.0f))
    return bad(err, "oneDNN rejects this eltwise");
  tso_status st = make_pd(o, pl, &ed, NULL, "eltwise", err);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, fill, &md);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &md);
  return TSO_OK;
}

static tso_status plan_binary(Onednn *o, const tsoC_Key *k, Plan *pl, int plain, char *err) {
  const tsoC_Tensor *y = &k->out[0];
  int ia = 0, ib = 1;
  if (k->p.axis.legacy) return bad(err, "opset < 7 broadcasting");
  int r = y->shape.rank > 0 ? y->shape.rank : 1;
  /* src0 must have the output's shape: swap the operands of add and mul */
  for (int pass = 0; pass < 2; pass++) {
    const tsoC_Tensor *a = &k->in[ia];
    int same = a->shape.rank == y->shape.rank;
    for (int i = 0; same && i < a->shape.rank; i++) same = a->shape.d[i] == y->shape.d[i];
    if (same) break;
    if (pass == 1 || !(k->op == TSO_OP_ADD || k->op == TSO_OP_MUL))
      return bad(err, "the first operand is broadcast (oneDNN broadcasts only the second)");
    ia = 1;
    ib = 0;
  }
  dnnl_alg_kind_t alg = k->op == TSO_OP_ADD ? dnnl_binary_add
                        : k->op == TSO_OP_SUB ? dnnl_binary_sub
                        : k->op == TSO_OP_MUL ? dnnl_binary_mul
                                              : dnnl_binary_div;
  dnnl_memory_desc_t a, ua, b, ub, d, ud;
  MD(md_expand(&ua, &k->in[ia], r));
  MD(md_expand(&ub, &k->in[ib], r));
  MD(md_expand(&ud, y, r));
  a = ua;
  b = ub;
  d = ud;
  if (r == 4 && k->in[ia].shape.rank == 4) { /* full-size 4-D operands: the activation format */
    MD(md_act(o, &a, &k->in[ia], plain, 0));
    MD(md_act(o, &d, y, plain, 0));
    int full = k->in[ib].shape.rank == 4;
    for (int i = 0; full && i < 4; i++) full = k->in[ib].shape.d[i] == y->shape.d[i];
    if (full) MD(md_act(o, &b, &k->in[ib], plain, 0));
  }
  dnnl_binary_desc_t bd;
  if (dnnl_binary_desc_init(&bd, alg, &a, &b, &d)) return bad(err, "oneDNN rejects this binary operation");
  tso_status st = make_pd(o, pl, &bd, NULL, "binary", err);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC_0, B_IN, ia, F_SIGNED, &ua);
  bind(pl, DNNL_ARG_SRC_1, B_IN, ib, k->op == TSO_OP_DIV ? F_POSITIVE : F_SIGNED, &ub);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &ud);
  return TSO_OK;
}

static tso_status plan_bnorm(Onednn *o, const tsoC_Key *k, Plan *pl, int plain, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  if (x->layout != y->layout) return bad(err, "batchnorm changing the layout");
  if (x->shape.rank < 2) return bad(err, "batchnorm needs rank >= 2");
  for (int i = 1; i < 5; i++)
    if (k->in[i].shape.rank != 1 || k->in[i].layout != TSO_LAYOUT_DEFAULT) return bad(err, "batchnorm statistics");
  dnnl_memory_desc_t md, umd, c[4];
  MD(md_tensor(&umd, x));
  MD(md_act(o, &md, x, plain, 0));
  for (int i = 0; i < 4; i++) MD(md_tensor(&c[i], &k->in[i + 1]));
  dnnl_batch_normalization_desc_t bd;
  if (dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_inference, &md, k->p.norm.epsilon,
                                                 dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift))
    return bad(err, "oneDNN rejects this batch normalization");
  tso_status st = make_pd(o, pl, &bd, NULL, "batch normalization", err);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &umd);
  bind(pl, DNNL_ARG_SCALE, B_IN, 1, F_SIGNED, &c[0]);
  bind(pl, DNNL_ARG_SHIFT, B_IN, 2, F_SIGNED, &c[1]);
  bind(pl, DNNL_ARG_MEAN, B_IN, 3, F_SIGNED, &c[2]);
  bind(pl, DNNL_ARG_VARIANCE, B_IN, 4, F_POSITIVE, &c[3]);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &umd);
  return TSO_OK;
}

static tso_status plan_softmax(Onednn *o, const tsoC_Key *k, Plan *pl, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank;
  if (r < 1) return bad(err, "softmax of a scalar");
  if (x->layout != TSO_LAYOUT_DEFAULT || y->layout != TSO_LAYOUT_DEFAULT) return bad(err, "softmax: default layout only");
  int ax = k->p.axis.axis < 0 ? k->p.axis.axis + r : k->p.axis.axis;
  if (ax < 0 || ax >= r) return bad(err, "softmax: bad axis");
  dnnl_memory_desc_t src, dst;
  if (k->p.axis.legacy && ax != r - 1) { /* opset < 13: a 2-D [outer, rest] softmax */
    int64_t d2[2] = {1, 1};
    for (int i = 0; i < r; i++) d2[i < ax ? 0 : 1] *= x->shape.d[i];
    MD(md_plain(&src, 2, d2, TSO_LAYOUT_DEFAULT));
    ax = 1;
  } else {
    MD(md_tensor(&src, x));
  }
  dst = src;
  dnnl_softmax_v2_desc_t sd;
  if (dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference, dnnl_softmax_accurate, &src, &dst, ax))
    return bad(err, "oneDNN rejects this softmax");
  tso_status st = make_pd(o, pl, &sd, NULL, "softmax", err);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &src);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &dst);
  return TSO_OK;
}

static tso_status plan_lnorm(Onednn *o, const tsoC_Key *k, Plan *pl, char *err) {
  const tsoC_Tensor *x = &k->in[0], *sc = &k->in[1];
  const tsoC_Tensor *b = k->nin > 2 && !(k->in[2].flags & TSOC_T_ABSENT) ? &k->in[2] : NULL;
  int r = x->shape.rank;
  if (r < 1) return bad(err, "layernorm of a scalar");
  for (int i = 0; i < k->nin; i++)
    if (k->in[i].layout != TSO_LAYOUT_DEFAULT) return bad(err, "layernorm: default layout only");
  int ax = k->p.norm.axis < 0 ? k->p.norm.axis + r : k->p.norm.axis;
  if (ax < 0 || ax >= r) return bad(err, "layernorm: bad axis");
  int64_t d2[2] = {1, 1};
  for (int i = 0; i < r; i++) d2[i < ax ? 0 : 1] *= x->shape.d[i];
  if (numel(sc) != d2[1] || (b && numel(b) != d2[1])) return bad(err, "layernorm: broadcast scale or bias");
  dnnl_memory_desc_t md, cmd;
  MD(md_plain(&md, 2, d2, TSO_LAYOUT_DEFAULT));
  MD(md_plain(&cmd, 1, &d2[1], TSO_LAYOUT_DEFAULT));
  dnnl_layer_normalization_desc_t ld;
  if (dnnl_layer_normalization_forward_desc_init(&ld, dnnl_forward_inference, &md, NULL, k->p.norm.epsilon,
                                                 dnnl_use_scale | (b ? dnnl_use_shift : 0)))
    return bad(err, "oneDNN rejects this layer normalization");
  tso_status st = make_pd(o, pl, &ld, NULL, "layer normalization", err);
  if (st) return st;
  if (k->nout > 1) pl->proxy = 1; /* oneDNN's statistics are mean and variance, not InvStdDev */
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &md);
  bind(pl, DNNL_ARG_SCALE, B_IN, 1, F_SIGNED, &cmd);
  if (b) bind(pl, DNNL_ARG_SHIFT, B_IN, 2, F_SIGNED, &cmd);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &md);
  return TSO_OK;
}

static tso_status plan_concat(Onednn *o, const tsoC_Key *k, Plan *pl, int plain, char *err) {
  const tsoC_Tensor *y = &k->out[0];
  int r = y->shape.rank;
  if (r < 1) return bad(err, "concat of scalars");
  int ax = k->p.axis.axis < 0 ? k->p.axis.axis + r : k->p.axis.axis;
  if (ax < 0 || ax >= r) return bad(err, "concat: bad axis");
  dnnl_memory_desc_t src[TSOC_MAX_IN], usrc[TSOC_MAX_IN], dst, udst;
  for (int i = 0; i < k->nin; i++) {
    if (k->in[i].flags & TSOC_T_ABSENT) return bad(err, "concat with an absent input");
    MD(md_tensor(&usrc[i], &k->in[i]));
    MD(md_act(o, &src[i], &k->in[i], plain, 0));
  }
  MD(md_tensor(&udst, y));
  MD(md_act(o, &dst, y, plain, 0));
  dnnl_status_t s = dnnl_concat_primitive_desc_create(&pl->pd, &dst, k->nin, ax, src, NULL, o->eng);
  if (s != dnnl_success) {
    pl->pd = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN concat: %s", dnnl_msg(s));
  }
  for (int i = 0; i < k->nin; i++) bind(pl, DNNL_ARG_MULTIPLE_SRC + i, B_IN, i, F_SIGNED, &usrc[i]);
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &udst);
  return TSO_OK;
}

/* Transpose, and Identity between layouts: a reorder. */
static tso_status plan_reorder(Onednn *o, const tsoC_Key *k, Plan *pl, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank;
  dnnl_memory_desc_t src, dst;
  MD(md_tensor(&dst, y));
  if (k->op == TSO_OP_TRANSPOSE && r > 0) {
    int32_t perm[TSO_MAX_RANK];
    int64_t st[TSO_MAX_RANK];
    dnnl_dims_t dims, strides;
    if (k->p.transpose.n != 0 && k->p.transpose.n != r) return bad(err, "transpose: bad perm");
    for (int i = 0; i < r; i++) perm[i] = k->p.transpose.n ? k->p.transpose.perm[i] : r - 1 - i;
    if (tsoL_strides(x->layout, r, x->shape.d, st)) return bad(err, "transpose: layout");
    for (int i = 0; i < r; i++) { /* the input seen through the permutation */
      if (perm[i] < 0 || perm[i] >= r) return bad(err, "transpose: bad perm");
      dims[i] = x->shape.d[perm[i]];
      strides[i] = st[perm[i]];
    }
    if (dnnl_memory_desc_init_by_strides(&src, r, dims, dnnl_f32, strides)) return bad(err, "transpose: layout");
  } else {
    MD(md_tensor(&src, x));
  }
  dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pl->pd, &src, o->eng, &dst, o->eng, NULL);
  if (s != dnnl_success) {
    pl->pd = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN reorder: %s", dnnl_msg(s));
  }
  bind(pl, DNNL_ARG_FROM, B_IN, 0, F_SIGNED, &src);
  bind(pl, DNNL_ARG_TO, B_OUT, 0, F_SIGNED, &dst);
  return TSO_OK;
}

/* MatMul (numpy semantics) and Gemm. */
static tso_status plan_matmul(Onednn *o, const tsoC_Key *k, Plan *pl, char *err) {
  const tsoC_Tensor *a = &k->in[0], *b = &k->in[1], *y = &k->out[0];
  int gemm = k->op == TSO_OP_GEMM;
  int ra = a->shape.rank, rb = b->shape.rank;
  if (ra < 1 || rb < 1) return bad(err, "matmul of a scalar");
  if ((ra == 1 || rb == 1) && (a->layout || b->layout || y->layout))
    return bad(err, "matmul: 1-D operands in the default layout only");
  if (y->layout != TSO_LAYOUT_DEFAULT && y->layout != TSO_LAYOUT_COLMAJOR) return bad(err, "matmul output layout");
  int64_t sa[TSO_MAX_RANK], sb[TSO_MAX_RANK];
  if (tsoL_strides(a->layout, ra, a->shape.d, sa) || tsoL_strides(b->layout, rb, b->shape.d, sb))
    return bad(err, "matmul: layout");
  /* logical [.., M, K] and [.., K, N] with their strides, 1-D promoted */
  int64_t ad[DNNL_MAX_NDIMS], as[DNNL_MAX_NDIMS], bdm[DNNL_MAX_NDIMS], bs[DNNL_MAX_NDIMS];
  int na, nb;
  if (ra == 1) {
    na = 2; ad[0] = 1; ad[1] = a->shape.d[0]; as[0] = a->shape.d[0]; as[1] = 1;
  } else {
    na = ra;
    for (int i = 0; i < ra; i++) { ad[i] = a->shape.d[i]; as[i] = sa[i]; }
  }
  if (rb == 1) {
    nb = 2; bdm[0] = b->shape.d[0]; bdm[1] = 1; bs[0] = 1; bs[1] = 1;
  } else {
    nb = rb;
    for (int i = 0; i < rb; i++) { bdm[i] = b->shape.d[i]; bs[i] = sb[i]; }
  }
  if (gemm) {
    if (ra != 2 || rb != 2) return bad(err, "gemm needs 2-D operands");
    if (k->p.gemm.trans_a) { int64_t t = ad[0]; ad[0] = ad[1]; ad[1] = t; t = as[0]; as[0] = as[1]; as[1] = t; }
    if (k->p.gemm.trans_b) { int64_t t = bdm[0]; bdm[0] = bdm[1]; bdm[1] = t; t = bs[0]; bs[0] = bs[1]; bs[1] = t; }
  }
  int r = na > nb ? na : nb;
  int64_t tota = 1, totb = 1; /* the stride of added leading dims of 1: the whole operand */
  for (int i = 0; i < na; i++) tota *= ad[i];
  for (int i = 0; i < nb; i++) totb *= bdm[i];
  dnnl_dims_t d0, s0, d1, s1, dy;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - na), ib = i - (r - nb);
    d0[i] = ia >= 0 ? ad[ia] : 1;
    s0[i] = ia >= 0 ? as[ia] : tota;
    d1[i] = ib >= 0 ? bdm[ib] : 1;
    s1[i] = ib >= 0 ? bs[ib] : totb;
  }
  for (int i = 0; i < r - 2; i++) dy[i] = d0[i] == 1 ? d1[i] : d0[i];
  dy[r - 2] = d0[r - 2];
  dy[r - 1] = d1[r - 1];
  if (d0[r - 1] != d1[r - 2]) return bad(err, "matmul: inner dimensions differ");
  int64_t ny = 1, nyk = numel(y);
  for (int i = 0; i < r; i++) ny *= dy[i];
  if (ny != nyk) return bad(err, "matmul: output shape");
  dnnl_memory_desc_t src, wuser, wei, dst, bias;
  if (dnnl_memory_desc_init_by_strides(&src, r, d0, dnnl_f32, s0) ||
      dnnl_memory_desc_init_by_strides(&wuser, r, d1, dnnl_f32, s1))
    return bad(err, "matmul: layout");
  wei = wuser;
  if ((b->flags & TSOC_T_CONST) && dnnl_memory_desc_init_by_tag(&wei, r, d1, dnnl_f32, dnnl_format_tag_any))
    return bad(err, "matmul weights");
  {
    int64_t ydims[DNNL_MAX_NDIMS];
    for (int i = 0; i < r; i++) ydims[i] = dy[i];
    int yl = y->layout == TSO_LAYOUT_COLMAJOR && y->shape.rank == r ? TSO_LAYOUT_COLMAJOR : TSO_LAYOUT_DEFAULT;
    if (y->layout == TSO_LAYOUT_COLMAJOR && y->shape.rank != r) return bad(err, "matmul output layout");
    MD(md_plain(&dst, r, ydims, yl));
  }
  const tsoC_Tensor *c = gemm && k->nin > 2 && !(k->in[2].flags & TSOC_T_ABSENT) && k->p.gemm.beta != 0.0f
                             ? &k->in[2] : NULL;
  float alpha = gemm ? k->p.gemm.alpha : 1.0f;
  if (alpha == 0.0f) return bad(err, "gemm with alpha 0");
  if (c) {
    int64_t cd[2] = {1, 1};
    if (c->shape.rank == 2) { cd[0] = c->shape.d[0]; cd[1] = c->shape.d[1]; }
    else if (c->shape.rank == 1) cd[1] = c->shape.d[0];
    if (c->layout != TSO_LAYOUT_DEFAULT) return bad(err, "gemm: C layout");
    MD(md_plain(&bias, 2, cd, TSO_LAYOUT_DEFAULT));
  }
  dnnl_matmul_desc_t md;
  if (dnnl_matmul_desc_init(&md, &src, &wei, c ? &bias : NULL, &dst)) return bad(err, "oneDNN rejects this matmul");
  dnnl_primitive_attr_t attr = NULL;
  if (alpha != 1.0f && !(attr = attr_eltwise(dnnl_eltwise_linear, alpha, 0.0f))) return bad(err, "gemm: alpha");
  tso_status st = make_pd(o, pl, &md, attr, "matmul", err);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (st) return st;
  bind(pl, DNNL_ARG_SRC, B_IN, 0, F_SIGNED, &src);
  bind(pl, DNNL_ARG_WEIGHTS, B_IN, 1, F_SIGNED, &wuser);
  if (c) {
    bind(pl, DNNL_ARG_BIAS, B_IN, 2, F_SIGNED, &bias);
    pl->b[pl->nb - 1].prescale = k->p.gemm.beta / alpha; /* alpha (AB + C beta/alpha) */
  }
  bind(pl, DNNL_ARG_DST, B_OUT, 0, F_SIGNED, &dst);
  return TSO_OK;
}

/* The plan of k's operator family, activations blocked or plain. */
static tso_status plan_family(Onednn *o, const tsoC_Key *k, Plan *pl, int plain, const void *const *data, char *err) {
  tso_status st;
  memset(pl, 0, sizeof *pl);
  switch (k->op) {
  case TSO_OP_CONV2D: st = plan_conv(o, k, pl, plain, err); break;
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: st = plan_pool(o, k, pl, plain, err); break;
  case TSO_OP_GLOBALAVGPOOL:
    st = k->in[0].shape.rank == 4 ? plan_pool(o, k, pl, plain, err) : plan_reduce(o, k, pl, err);
    break;
  case TSO_OP_REDUCEMEAN: st = plan_reduce(o, k, pl, err); break;
  case TSO_OP_RELU: case TSO_OP_SIGMOID: case TSO_OP_TANH: case TSO_OP_SQRT: case TSO_OP_ERF:
  case TSO_OP_SCALAR_MUL:
    st = plan_eltwise(o, k, pl, data, err);
    break;
  case TSO_OP_ADD: case TSO_OP_SUB: case TSO_OP_MUL: case TSO_OP_DIV: st = plan_binary(o, k, pl, plain, err); break;
  case TSO_OP_BATCHNORM: st = plan_bnorm(o, k, pl, plain, err); break;
  case TSO_OP_SOFTMAX: st = plan_softmax(o, k, pl, err); break;
  case TSO_OP_LAYERNORM: st = plan_lnorm(o, k, pl, err); break;
  case TSO_OP_CONCAT: st = plan_concat(o, k, pl, plain, err); break;
  case TSO_OP_TRANSPOSE: st = plan_reorder(o, k, pl, err); break;
  case TSO_OP_IDENTITY:
    st = k->in[0].layout != k->out[0].layout ? plan_reorder(o, k, pl, err)
                                              : bad(err, "identity in one layout moves no data");
    break;
  default: st = plan_matmul(o, k, pl, err); break; /* MATMUL, GEMM */
  }
  if (st && pl->pd) {
    dnnl_primitive_desc_destroy(pl->pd);
    pl->pd = NULL;
  }
  return st;
}

/* 1 when oneDNN picked a reference (unoptimized) implementation. */
static int is_ref(const_dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl) return 0;
  return strncmp(impl, "ref", 3) == 0;
}

/* Checks the element types and builds the plan of k. data: the caller's
** inputs when running (for values that shape the primitive), else NULL. */
static tso_status plan(Onednn *o, const tsoC_Key *k, Plan *pl, const void *const *data, char *err) {
  memset(pl, 0, sizeof *pl);
  const tsoO_Info *oi = tsoO_info(k->op);
  if (!oi || k->op == TSO_OP_OPAQUE) return bad(err, "opaque operator");
  switch (k->op) {
  case TSO_OP_CONV2D: case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: case TSO_OP_GLOBALAVGPOOL: case TSO_OP_REDUCEMEAN:
  case TSO_OP_RELU: case TSO_OP_SIGMOID: case TSO_OP_TANH: case TSO_OP_SQRT: case TSO_OP_ERF: case TSO_OP_SCALAR_MUL:
  case TSO_OP_ADD: case TSO_OP_SUB: case TSO_OP_MUL: case TSO_OP_DIV: case TSO_OP_BATCHNORM: case TSO_OP_SOFTMAX:
  case TSO_OP_LAYERNORM: case TSO_OP_CONCAT: case TSO_OP_TRANSPOSE: case TSO_OP_IDENTITY: case TSO_OP_MATMUL:
  case TSO_OP_GEMM:
    break;
  default:
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "no oneDNN primitive for %s", oi->name);
  }
  if (k->nout < 1) return bad(err, "no outputs");
  for (int i = 0; i < k->nin; i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT) && k->in[i].dtype != TSO_DT_FLOAT && k->op != TSO_OP_REDUCEMEAN)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "element type %s (float32 only)", tsoO_dtype_name(k->in[i].dtype));
  for (int j = 0; j < k->nout; j++)
    if (k->out[j].dtype != TSO_DT_FLOAT)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "element type %s (float32 only)", tsoO_dtype_name(k->out[j].dtype));
  if (k->op == TSO_OP_REDUCEMEAN && k->in[0].dtype != TSO_DT_FLOAT)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "element type %s (float32 only)", tsoO_dtype_name(k->in[0].dtype));
  if (k->nout != 1 && k->op != TSO_OP_LAYERNORM) return bad(err, "more than one output");
  for (int i = 0; i < k->nin; i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT) && numel(&k->in[i]) == 0) return bad(err, "an empty tensor");
  if (numel(&k->out[0]) == 0) return bad(err, "an empty tensor");
  int plain = o->base.mo.plain_layouts != 0;
  tso_status st = plan_family(o, k, pl, plain, data, err);
  if (!plain && st == TSO_ERR_UNSUPPORTED) { /* no blocked implementation: the plain layout */
    plain = 1;
    st = plan_family(o, k, pl, plain, data, err);
  } else if (!plain && st == TSO_OK && is_ref(pl->pd)) {
    /* blocked, but only a reference kernel (a 4-D tensor that is no image,
    ** e.g. attention scores with 12 heads): plain, if it does better */
    Plan *alt = malloc(sizeof *alt);
    char e2[TSO_ERRMAX];
    if (alt && plan_family(o, k, alt, 1, data, e2) == TSO_OK && !is_ref(alt->pd)) {
      dnnl_primitive_desc_destroy(pl->pd);
      *pl = *alt;
    } else if (alt && alt->pd) {
      dnnl_primitive_desc_destroy(alt->pd);
    }
    free(alt);
  }
  if (st) return st;
  /* arguments the primitive wants that are no operator input or output */
  static const int extra[] = {DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_WORKSPACE};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
    int seen = 0;
    for (int j = 0; j < pl->nb; j++) seen |= pl->b[j].arg == extra[i];
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pl->pd, dnnl_query_exec_arg_md, extra[i]);
    if (!seen && md && md->ndims > 0 && pl->nb < MAX_BINDS) bind(pl, extra[i], B_AUX, 0, F_POSITIVE, NULL);
  }
  return TSO_OK;
}

static void plan_free(Plan *pl) {
  if (pl && pl->pd) dnnl_primitive_desc_destroy(pl->pd);
}

/* ---- random data --------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void fill_random(float *p, size_t n, int kind, uint64_t *seed) {
  for (size_t i = 0; i < n; i++) {
    double u = (double)(splitmix(seed) >> 11) * 0x1p-53; /* [0, 1) */
    p[i] = kind == F_POSITIVE ? (float)(0.5 + u) : (float)(2.0 * u - 1.0);
  }
}

/* ---- the backend functions ----------------------------------------------------- */

static int od_supports(tsoC_Backend *be, const tsoC_Key *k, char *why) {
  Onednn *o = (Onednn *)be;
  Plan *pl = malloc(sizeof *pl);
  if (!pl) {
    tsoO_fail(why, TSO_ERR_NOMEM, "out of memory");
    return 0;
  }
  int old = th_enter(o);
  tso_status st = plan(o, k, pl, NULL, why);
  th_leave(o, old);
  plan_free(pl);
  free(pl);
  return st == TSO_OK;
}

static void od_release(tsoC_Backend *be, tsoC_Prepared *pp) {
  (void)be;
  if (!pp) return;
  for (int i = 0; i < pp->nargs; i++)
    if (pp->args[i].memory) dnnl_memory_destroy(pp->args[i].memory);
  if (pp->prim) dnnl_primitive_destroy(pp->prim);
  free(pp);
}

static tso_status od_prepare(tsoC_Backend *be, const tsoC_Key *k, tsoC_Prepared **out, char *err) {
  Onednn *o = (Onednn *)be;
  *out = NULL;
  tsoC_Prepared *pp = calloc(1, sizeof *pp);
  Plan *pl = malloc(sizeof *pl);
  if (!pp || !pl) {
    free(pp);
    free(pl);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  int old = th_enter(o);
  tso_status st = plan(o, k, pl, NULL, err);
  if (!st && dnnl_primitive_create(&pp->prim, pl->pd) != dnnl_success) {
    pp->prim = NULL;
    st = tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN: cannot create the primitive");
  }
  tsoC_Sig sig;
  uint64_t seed = be->mo.seed ^ (tsoC_key_sig(k, &sig) == TSO_OK ? sig.hash : 0);
  for (int i = 0; !st && i < pl->nb; i++) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pl->pd, dnnl_query_exec_arg_md, pl->b[i].arg);
    dnnl_memory_t mem = NULL;
    void *ptr = NULL;
    if (!md || dnnl_memory_create(&mem, md, o->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
        dnnl_memory_get_data_handle(mem, &ptr) != dnnl_success) {
      if (mem) dnnl_memory_destroy(mem);
      st = tsoO_fail(err, TSO_ERR_NOMEM, "oneDNN: cannot allocate %zu bytes",
                     md ? dnnl_memory_desc_get_size(md) : (size_t)0);
      break;
    }
    pp->args[pp->nargs].arg = pl->b[i].arg;
    pp->args[pp->nargs].memory = mem;
    pp->nargs++;
    if (ptr) fill_random(ptr, dnnl_memory_desc_get_size(md) / sizeof(float), pl->b[i].fill, &seed);
  }
  th_leave(o, old);
  plan_free(pl);
  free(pl);
  if (st) {
    od_release(be, pp);
    return st;
  }
  *out = pp;
  return TSO_OK;
}

/* Seconds on o's clock. */
static double clock_now(const Onednn *o) {
  struct timespec ts;
  clock_gettime(o->clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One sample. With one thread the primitive runs on the calling thread,
** and the sample is that thread's CPU time: time spent descheduled (other
** processes on a busy machine, the hypervisor) is not the operator's. With
** more threads, wall time. */
static tso_status od_sample(tsoC_Backend *be, tsoC_Prepared *pp, int reps, double *seconds, char *err) {
  Onednn *o = (Onednn *)be;
  int old = th_enter(o);
  dnnl_status_t s = dnnl_success;
  double t0 = clock_now(o);
  for (int i = 0; i < reps && s == dnnl_success; i++) s = dnnl_primitive_execute(pp->prim, o->strm, pp->nargs, pp->args);
  if (s == dnnl_success) s = dnnl_stream_wait(o->strm);
  *seconds = clock_now(o) - t0;
  th_leave(o, old);
  if (s != dnnl_success) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN execution: %s", dnnl_msg(s));
  return TSO_OK;
}

/* Copies src into dst with a reorder primitive. */
static dnnl_status_t reorder(Onednn *o, dnnl_memory_t src, dnnl_memory_t dst) {
  const dnnl_memory_desc_t *smd, *dmd;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t p = NULL;
  dnnl_status_t s = dnnl_memory_get_memory_desc(src, &smd);
  if (s == dnnl_success) s = dnnl_memory_get_memory_desc(dst, &dmd);
  if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, smd, o->eng, dmd, o->eng, NULL);
  if (s == dnnl_success) s = dnnl_primitive_create(&p, pd);
  if (s == dnnl_success) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    s = dnnl_primitive_execute(p, o->strm, 2, a);
    if (s == dnnl_success) s = dnnl_stream_wait(o->strm);
  }
  if (p) dnnl_primitive_destroy(p);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return s;
}

static tso_status od_run(tsoC_Backend *be, const tsoC_Key *k, const void *const *in, void *const *out, char *err) {
  Onednn *o = (Onednn *)be;
  Plan *pl = malloc(sizeof *pl);
  if (!pl) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  int old = th_enter(o);
  dnnl_memory_t user[MAX_BINDS] = {0}, prim_mem[MAX_BINDS] = {0};
  void *scaled[MAX_BINDS] = {0};
  dnnl_exec_arg_t args[MAX_BINDS];
  dnnl_primitive_t prim = NULL;
  dnnl_status_t s = dnnl_success;
  tso_status st = plan(o, k, pl, in, err);
  if (!st && pl->proxy) st = tsoO_fail(err, TSO_ERR_UNSUPPORTED, "the primitive timed for this key is a proxy");
  if (!st && dnnl_primitive_create(&prim, pl->pd) != dnnl_success) {
    prim = NULL;
    st = tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN: cannot create the primitive");
  }
  for (int i = 0; !st && i < pl->nb; i++) {
    const Bind *b = &pl->b[i];
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pl->pd, dnnl_query_exec_arg_md, b->arg);
    args[i].arg = b->arg;
    if (b->kind == B_AUX) {
      s = dnnl_memory_create(&prim_mem[i], md, o->eng, DNNL_MEMORY_ALLOCATE);
      args[i].memory = prim_mem[i];
      if (s != dnnl_success) break;
      continue;
    }
    void *ptr = b->kind == B_IN ? (void *)(uintptr_t)in[b->idx] : out[b->idx];
    if (!ptr) {
      st = tsoO_fail(err, TSO_ERR_ARG, "%s %d: no buffer", b->kind == B_IN ? "input" : "output", b->idx);
      break;
    }
    if (b->kind == B_IN && b->prescale != 1.0f) {
      size_t n = dnnl_memory_desc_get_size(&b->user) / sizeof(float);
      float *c = malloc(n * sizeof *c);
      if (!c) {
        st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
        break;
      }
      for (size_t j = 0; j < n; j++) c[j] = ((const float *)ptr)[j] * b->prescale;
      scaled[i] = c;
      ptr = c;
    }
    if ((s = dnnl_memory_create(&user[i], &b->user, o->eng, ptr)) != dnnl_success) break;
    if (md && dnnl_memory_desc_equal(md, &b->user)) {
      args[i].memory = user[i];
      continue;
    }
    if ((s = dnnl_memory_create(&prim_mem[i], md, o->eng, DNNL_MEMORY_ALLOCATE)) != dnnl_success) break;
    args[i].memory = prim_mem[i];
    if (b->kind == B_IN && (s = reorder(o, user[i], prim_mem[i])) != dnnl_success) break;
  }
  if (!st && s == dnnl_success) s = dnnl_primitive_execute(prim, o->strm, pl->nb, args);
  if (!st && s == dnnl_success) s = dnnl_stream_wait(o->strm);
  for (int i = 0; !st && s == dnnl_success && i < pl->nb; i++)
    if (pl->b[i].kind == B_OUT && prim_mem[i]) s = reorder(o, prim_mem[i], user[i]);
  if (!st && s != dnnl_success) st = tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN: %s", dnnl_msg(s));
  for (int i = 0; i < pl->nb; i++) {
    if (user[i]) dnnl_memory_destroy(user[i]);
    if (prim_mem[i]) dnnl_memory_destroy(prim_mem[i]);
    free(scaled[i]);
  }
  if (prim) dnnl_primitive_destroy(prim);
  th_leave(o, old);
  plan_free(pl);
  free(pl);
  return st;
}

static void od_destroy(tsoC_Backend *be) {
  Onednn *o = (Onednn *)be;
  if (!o) return;
  if (o->strm) dnnl_stream_destroy(o->strm);
  if (o->eng) dnnl_engine_destroy(o->eng);
  free(o);
}

static const tsoC_BackendVt onednn_vt = {
  "onednn", od_supports, NULL, od_prepare, od_sample, od_release, od_run, od_destroy,
};

int tsoC_have_onednn(void) { return 1; }

static const char *isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
  case dnnl_cpu_isa_sse41: return "sse41";
  case dnnl_cpu_isa_avx: return "avx";
  case dnnl_cpu_isa_avx2: return "avx2";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
  case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  default: return "other";
  }
}

/* Finds the OpenMP runtime's thread functions (already loaded by libdnnl). */
static void find_omp(Onednn *o) {
  void *f = dlsym(RTLD_DEFAULT, "omp_set_num_threads"), *g = dlsym(RTLD_DEFAULT, "omp_get_max_threads");
  if (!f || !g) {
    static const char *const libs[] = {"libgomp.so.1", "libiomp5.so", "libomp.so", NULL};
    for (int i = 0; libs[i] && (!f || !g); i++) {
      void *h = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
      if (!h) continue;
      f = dlsym(h, "omp_set_num_threads");
      g = dlsym(h, "omp_get_max_threads");
      dlclose(h); /* RTLD_NOLOAD: the library stays loaded by libdnnl */
    }
  }
  if (f && g) {
    /* object pointers to function pointers: POSIX guarantees dlsym's results convert */
    memcpy(&o->omp_set, &f, sizeof f);
    memcpy(&o->omp_get, &g, sizeof g);
  }
}

tsoC_Backend *tsoC_onednn_create(const tsoC_MeasureOpts *mo, char *err) {
  Onednn *o = calloc(1, sizeof *o);
  if (!o) {
    tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    return NULL;
  }
  o->base.vt = &onednn_vt;
  o->clock = CLOCK_MONOTONIC;
  if (mo) o->base.mo = *mo;
  else tsoC_measure_opts_init(&o->base.mo);
  if (dnnl_engine_get_count(dnnl_cpu) < 1 || dnnl_engine_create(&o->eng, dnnl_cpu, 0) != dnnl_success) {
    o->eng = NULL;
    od_destroy(&o->base);
    tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN: no CPU engine");
    return NULL;
  }
  if (dnnl_stream_create(&o->strm, o->eng, dnnl_stream_default_flags) != dnnl_success) {
    o->strm = NULL;
    od_destroy(&o->base);
    tsoO_fail(err, TSO_ERR_UNSUPPORTED, "oneDNN: cannot create a stream");
    return NULL;
  }
  const dnnl_version_t *v = dnnl_version();
  char threads[64];
  if (v->cpu_runtime == DNNL_RUNTIME_OMP) {
    find_omp(o);
    if (o->base.mo.threads > 0 && o->omp_set) snprintf(threads, sizeof threads, "%d", o->base.mo.threads);
    if (o->base.mo.threads == 1 && o->omp_set) o->clock = CLOCK_THREAD_CPUTIME_ID;
    else snprintf(threads, sizeof threads, "%d (runtime default)", o->omp_get ? o->omp_get() : 0);
  } else if (v->cpu_runtime == DNNL_RUNTIME_SEQ) {
    snprintf(threads, sizeof threads, "1 (sequential runtime)");
    o->clock = CLOCK_THREAD_CPUTIME_ID;
  } else {
    snprintf(threads, sizeof threads, "runtime default");
  }
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  o->blk = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? dnnl_aBcd16b : dnnl_aBcd8b;
  const char *rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp"
                   : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "seq"
                   : v->cpu_runtime == DNNL_RUNTIME_TBB ? "tbb"
                                                         : "threadpool";
  snprintf(o->base.version, sizeof o->base.version,
           "oneDNN %d.%d.%d (%s, %s, isa %s); threads %s; activations %s; clock %s; method %d", v->major, v->minor,
           v->patch, v->hash ? v->hash : "?", rt, isa_name(isa), threads,
           o->base.mo.plain_layouts ? "plain" : o->blk == dnnl_aBcd16b ? "nChw16c" : "nChw8c",
           o->clock == CLOCK_THREAD_CPUTIME_ID ? "thread-cpu" : "wall", METHOD_VERSION);
  tsoC_cpu_device(o->base.device, sizeof o->base.device);
  return &o->base;
}
