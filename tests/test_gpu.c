/*
** test_gpu.c -- tests of the CUDA backend and of the GPU executor (label
** gpu; the --emulate mode is in the quick tier).
**
**   test_gpu [SEED]            on the GPU. Every supported operator on
**                              random shapes and layouts: every one of its
**                              implementations (each cuDNN convolution
**                              algorithm, cuBLAS and every cuBLASLt
**                              candidate, the own kernels, cuDNN's
**                              pooling/activation/softmax/batch norm) and
**                              the backend's chosen one against the
**                              reference kernel within a per-operator
**                              tolerance; measurements; whole small graphs
**                              through the executor against graph/eval.c;
**                              graph costs. Without a GPU it prints
**                              "SKIP: no CUDA GPU: <reason>" and exits 77.
**   test_gpu --emulate [SEED]  the same operators and graphs on the host
**                              emulation (cost/cuda.h): the index
**                              arithmetic of every kernel and the
**                              geometry passed to cuBLAS and cuDNN, on any
**                              machine. Exits 77 in a build without CUDA.
**
** Invariant: every check prints what failed; the program returns 0 only
** when all passed. The seed of the random shapes and data is printed.
*/
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/cost.h"
#include "cost/cuda.h"

#define SKIP 77

#ifdef TASO_HAVE_CUDA

static int nfail, ncheck;
static char err[TSO_ERRMAX];

#include "check.h"

/* ---- random numbers ---------------------------------------------------------------- */

static uint64_t rng;
static uint64_t next_u64(void) {
  uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static float frand(void) { return (float)((double)(next_u64() >> 11) * 0x1p-53 * 2.0 - 1.0); } /* [-1, 1) */
static int irand(int lo, int hi) { return lo + (int)(next_u64() % (uint64_t)(hi - lo + 1)); }        /* [lo, hi] */

/* ---- operator cases --------------------------------------------------------------------- */

typedef struct Case {
  char name[96];
  tsoC_Key k;
  double tol;  /* |got - ref| <= tol * max(1, |ref|) */
} Case;

#define MAX_CASES 160
static Case cases[MAX_CASES];
static int ncases;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static void set_t(tsoC_Tensor *t, int dtype, int rank, const int64_t *d) {
  memset(t, 0, sizeof *t);
  t->dtype = dtype;
  t->shape.rank = rank;
  for (int i = 0; i < rank; i++) t->shape.d[i] = d[i];
}

static tsoC_Key *new_case(double tol, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static tsoC_Key *new_case(double tol, const char *fmt, ...) {
  if (ncases >= MAX_CASES) return NULL;
  Case *c = &cases[ncases];
  memset(c, 0, sizeof *c);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->name, sizeof c->name, fmt, ap);
  va_end(ap);
  c->tol = tol;
  return &c->k;
}

/* Infers the outputs and keeps the case (returns it; NULL when it does
** not infer, which is a bug here, reported). */
static tsoC_Key *keep_case(tsoC_Key *k) {
  if (!k) return NULL;
  char e[TSO_ERRMAX];
  if (tsoC_key_infer(k, e) != TSO_OK) {
    printf("FAIL case '%s' does not infer: %s\n", cases[ncases].name, e);
    nfail++;
    return NULL;
  }
  ncases++;
  return k;
}

static void win_defaults(tsoO_Params *p) {
  p->win.sh = p->win.sw = p->win.dh = p->win.dw = p->win.group = 1;
}

static void conv_case(int n, int c, int h, int w, int m, int kh, int kw, int s, int pad, int same, int g, int dil,
                      int bias, int relu, int nhwc) {
  tsoC_Key *k = new_case(5e-3, "conv %dx%dx%dx%d m%d k%dx%d s%d p%d%s g%d d%d%s%s%s", n, c, h, w, m, kh, kw, s, pad,
                         same ? " same" : "", g, dil, bias ? " bias" : "", relu ? " relu" : "", nhwc ? " nhwc" : "");
  if (!k) return;
  k->op = TSO_OP_CONV2D;
  k->nin = bias ? 3 : 2;
  win_defaults(&k->p);
  k->p.win.sh = k->p.win.sw = s;
  k->p.win.dh = k->p.win.dw = dil;
  k->p.win.group = g;
  k->p.win.act = relu ? TSO_ACT_RELU : TSO_ACT_NONE;
  if (same) k->p.win.pad_mode = TSO_PAD_SAME_UPPER;
  else k->p.win.pt = k->p.win.pl = k->p.win.pb = k->p.win.pr = pad;
  set_t(&k->in[0], TSO_DT_FLOAT, 4, D(n, c, h, w));
  set_t(&k->in[1], TSO_DT_FLOAT, 4, D(m, c / g, kh, kw));
  k->in[1].flags = TSOC_T_CONST;
  if (bias) {
    set_t(&k->in[2], TSO_DT_FLOAT, 1, D(m));
    k->in[2].flags = TSOC_T_CONST;
  }
  if (nhwc) k->in[0].layout = TSO_LAYOUT_NHWC;
  if (keep_case(k) && nhwc) k->out[0].layout = TSO_LAYOUT_NHWC;
}

static void binary_case(int op, int ra, const int64_t *a, int rb, const int64_t *b, double tol) {
  tsoC_Key *k = new_case(tol, "%s rank %d x rank %d", tsoO_info(op)->name, ra, rb);
  if (!k) return;
  k->op = op;
  k->nin = 2;
  set_t(&k->in[0], TSO_DT_FLOAT, ra, a);
  set_t(&k->in[1], TSO_DT_FLOAT, rb, b);
  keep_case(k);
}

static void matmul_case(int ra, const int64_t *a, int la, int rb, const int64_t *b, int lb, int ly) {
  tsoC_Key *k = new_case(1e-4, "matmul rank %d (%s) x rank %d (%s) -> %s", ra, tsoL_name(la), rb, tsoL_name(lb),
                         tsoL_name(ly));
  if (!k) return;
  k->op = TSO_OP_MATMUL;
  k->nin = 2;
  set_t(&k->in[0], TSO_DT_FLOAT, ra, a);
  set_t(&k->in[1], TSO_DT_FLOAT, rb, b);
  k->in[0].layout = la;
  k->in[1].layout = lb;
  if (keep_case(k)) k->out[0].layout = ly;
}

static void gemm_case(int m, int kk, int n, int ta, int tb, float alpha, float beta, int crank, const int64_t *cd,
                      int la) {
  tsoC_Key *k = new_case(1e-4, "gemm %dx%dx%d ta%d tb%d a%g b%g C rank %d%s", m, kk, n, ta, tb, (double)alpha,
                         (double)beta, crank, la ? " A colmajor" : "");
  if (!k) return;
  k->op = TSO_OP_GEMM;
  k->nin = crank >= 0 ? 3 : 2;
  k->p.gemm.trans_a = ta;
  k->p.gemm.trans_b = tb;
  k->p.gemm.alpha = alpha;
  k->p.gemm.beta = beta;
  set_t(&k->in[0], TSO_DT_FLOAT, 2, ta ? D(kk, m) : D(m, kk));
  set_t(&k->in[1], TSO_DT_FLOAT, 2, tb ? D(n, kk) : D(kk, n));
  k->in[0].layout = la;
  k->in[1].flags = TSOC_T_CONST;
  if (crank >= 0) {
    set_t(&k->in[2], TSO_DT_FLOAT, crank, cd);
    k->in[2].flags = TSOC_T_CONST;
  }
  keep_case(k);
}

static void pool_case(int op, int n, int c, int h, int kh, int s, int pad, int same, int ceil, int incl, int dil,
                      int nhwc) {
  tsoC_Key *k = new_case(1e-5, "%s %dx%dx%d k%d s%d p%d%s%s%s d%d%s", tsoO_info(op)->name, n, c, h, kh, s, pad,
                         same ? " same" : "", ceil ? " ceil" : "", incl ? " incl" : "", dil, nhwc ? " nhwc" : "");
  if (!k) return;
  k->op = op;
  k->nin = 1;
  win_defaults(&k->p);
  k->p.win.group = 0; /* (a convolution's) */
  k->p.win.kh = k->p.win.kw = kh;
  k->p.win.sh = k->p.win.sw = s;
  k->p.win.dh = k->p.win.dw = dil;
  k->p.win.ceil_mode = ceil;
  k->p.win.count_include_pad = incl;
  if (same) k->p.win.pad_mode = TSO_PAD_SAME_UPPER;
  else k->p.win.pt = k->p.win.pl = k->p.win.pb = k->p.win.pr = pad;
  set_t(&k->in[0], TSO_DT_FLOAT, 4, D(n, c, h, h + 1));
  k->in[0].layout = nhwc ? TSO_LAYOUT_NHWC : 0;
  if (keep_case(k) && nhwc) k->out[0].layout = TSO_LAYOUT_NHWC;
}

static void unary_case(int op, int rank, const int64_t *d, int layout) {
  tsoC_Key *k = new_case(1e-5, "%s rank %d %s", tsoO_info(op)->name, rank, tsoL_name(layout));
  if (!k) return;
  k->op = op;
  k->nin = 1;
  set_t(&k->in[0], TSO_DT_FLOAT, rank, d);
  k->in[0].layout = layout;
  if (keep_case(k)) k->out[0].layout = layout;
}

/* The operator cases: fixed ones for the corners, random ones for the rest. */
static void make_cases(void) {
  ncases = 0;
  /* convolutions */
  conv_case(1, 8, 12, 12, 16, 3, 3, 1, 1, 0, 1, 1, 1, 1, 0);
  conv_case(2, 8, 9, 7, 12, 3, 3, 2, 1, 0, 4, 1, 1, 0, 0);     /* grouped, strided */
  conv_case(1, 16, 10, 10, 16, 3, 3, 1, 1, 0, 16, 1, 0, 1, 0); /* depthwise */
  conv_case(1, 4, 10, 10, 8, 3, 3, 2, 0, 1, 1, 1, 1, 0, 0);    /* SAME, asymmetric pads: pre-padded */
  conv_case(1, 4, 11, 11, 8, 3, 3, 1, 2, 0, 1, 2, 0, 0, 0);    /* dilated */
  conv_case(1, 8, 10, 10, 16, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1);   /* 1x1, NHWC */
  conv_case(2, 3, 16, 16, 8, 5, 5, 2, 2, 0, 1, 1, 0, 0, 0);
  for (int i = 0; i < 6; i++) {
    int g = irand(0, 2) == 0 ? 2 : 1, c = 2 * irand(1, 6), kh = 2 * irand(0, 2) + 1, dil = irand(0, 3) == 0 ? 2 : 1;
    int ek = (kh - 1) * dil + 1;
    conv_case(irand(1, 2), c, irand(ek, 14), irand(ek, 14), 2 * irand(1, 8), kh, kh, irand(1, 2), irand(0, kh / 2),
              irand(0, 3) == 0, g, dil, irand(0, 1), irand(0, 1), irand(0, 3) == 0);
  }
  /* matrix products */
  matmul_case(2, D(6, 5), 0, 2, D(5, 7), 0, 0);
  matmul_case(2, D(6, 5), TSO_LAYOUT_COLMAJOR, 2, D(5, 7), 0, 0);
  matmul_case(2, D(6, 5), 0, 2, D(5, 7), TSO_LAYOUT_COLMAJOR, 0);
  matmul_case(2, D(6, 5), TSO_LAYOUT_COLMAJOR, 2, D(5, 7), TSO_LAYOUT_COLMAJOR, TSO_LAYOUT_COLMAJOR);
  matmul_case(3, D(2, 8, 16), 0, 2, D(16, 12), 0, 0); /* batch folded into the rows */
  matmul_case(4, D(2, 3, 5, 7), 0, 4, D(2, 3, 7, 4), 0, 0);
  matmul_case(3, D(3, 5, 7), 0, 3, D(1, 7, 4), 0, 0); /* B broadcast as a whole */
  matmul_case(2, D(5, 7), 0, 3, D(3, 7, 4), 0, 0);   /* A broadcast as a whole */
  matmul_case(1, D(7), 0, 2, D(7, 4), 0, 0);
  matmul_case(2, D(5, 7), 0, 1, D(7), 0, 0);
  matmul_case(3, D(2, 5, 7), TSO_LAYOUT_COLMAJOR, 3, D(2, 7, 3), 0, TSO_LAYOUT_COLMAJOR);
  matmul_case(2, D(1, 9), 0, 2, D(9, 1), 0, 0);
  for (int i = 0; i < 4; i++) {
    int m = irand(1, 40), kk = irand(1, 40), n = irand(1, 40), b = irand(1, 3);
    matmul_case(3, D(b, m, kk), irand(0, 1) ? TSO_LAYOUT_COLMAJOR : 0, 3, D(b, kk, n),
                irand(0, 1) ? TSO_LAYOUT_COLMAJOR : 0, irand(0, 2) == 0 ? TSO_LAYOUT_COLMAJOR : 0);
  }
  gemm_case(3, 16, 10, 0, 1, 0.5f, 2.0f, 1, D(10), 0);
  gemm_case(4, 8, 6, 1, 0, 1.0f, 1.0f, 2, D(1, 6), 0);
  gemm_case(4, 8, 6, 0, 0, 1.0f, 1.0f, 2, D(4, 1), 0);
  gemm_case(4, 8, 6, 1, 1, 1.5f, -1.0f, 2, D(4, 6), 0);
  gemm_case(5, 8, 6, 0, 0, 1.0f, 1.0f, 0, D(0), TSO_LAYOUT_COLMAJOR);
  gemm_case(5, 8, 6, 0, 0, 2.0f, 0.0f, 1, D(6), 0);
  gemm_case(5, 8, 6, 0, 1, 1.0f, 1.0f, -1, D(0), 0);
  {
    int m = irand(1, 33), kk = irand(1, 33), n = irand(1, 33);
    gemm_case(m, kk, n, irand(0, 1), irand(0, 1), 1.0f, 1.0f, 1, D(n), 0);
  }
  /* pooling */
  pool_case(TSO_OP_MAXPOOL, 1, 16, 11, 3, 2, 0, 0, 1, 0, 1, 0);
  pool_case(TSO_OP_MAXPOOL, 2, 8, 12, 3, 2, 1, 0, 0, 0, 1, 1);
  pool_case(TSO_OP_MAXPOOL, 1, 4, 9, 2, 2, 0, 1, 0, 0, 1, 0);
  pool_case(TSO_OP_MAXPOOL, 1, 4, 13, 3, 1, 2, 0, 0, 0, 2, 0);
  pool_case(TSO_OP_AVGPOOL, 1, 16, 11, 3, 1, 1, 0, 0, 0, 1, 0);
  pool_case(TSO_OP_AVGPOOL, 1, 16, 11, 3, 1, 1, 0, 0, 1, 1, 1);
  pool_case(TSO_OP_AVGPOOL, 2, 4, 10, 3, 2, 1, 0, 1, 1, 1, 0);
  pool_case(TSO_OP_AVGPOOL, 1, 4, 8, 2, 2, 0, 1, 0, 0, 1, 0);
  for (int i = 0; i < 3; i++) {
    int kh = irand(1, 4), pad = irand(0, kh - 1), avg = irand(0, 1);
    pool_case(avg ? TSO_OP_AVGPOOL : TSO_OP_MAXPOOL, irand(1, 2), irand(1, 9), irand(kh + 1, 15), kh, irand(1, 3), pad,
              0, irand(0, 1), avg && irand(0, 1), 1, irand(0, 1));
  }
  unary_case(TSO_OP_GLOBALAVGPOOL, 4, D(2, 16, 7, 7), 0);
  unary_case(TSO_OP_GLOBALAVGPOOL, 4, D(1, 8, 5, 6), TSO_LAYOUT_NHWC);
  /* element-wise */
  static const int un[] = {TSO_OP_RELU, TSO_OP_SIGMOID, TSO_OP_TANH, TSO_OP_ERF, TSO_OP_SQRT};
  for (int i = 0; i < 5; i++) {
    unary_case(un[i], 3, D(2, 5, 33), 0);
    unary_case(un[i], 4, D(1, 6, 5, 4), TSO_LAYOUT_NHWC);
  }
  unary_case(TSO_OP_RELU, 2, D(4, 7), TSO_LAYOUT_COLMAJOR);
  binary_case(TSO_OP_ADD, 4, D(1, 16, 5, 5), 4, D(1, 16, 1, 1), 1e-6);
  binary_case(TSO_OP_MUL, 1, D(16), 3, D(2, 4, 16), 1e-6);
  binary_case(TSO_OP_SUB, 1, D(8), 2, D(4, 8), 1e-6);
  binary_case(TSO_OP_DIV, 2, D(4, 8), 0, D(0), 1e-6);
  binary_case(TSO_OP_POW, 3, D(2, 3, 4), 1, D(4), 1e-5);
  binary_case(TSO_OP_ADD, 3, D(3, 1, 5), 2, D(4, 1), 1e-6);
  binary_case(TSO_OP_SCALAR_MUL, 3, D(2, 3, 7), 0, D(0), 1e-6);
  for (int i = 0; i < 3; i++) {
    int64_t a[4], b[4];
    for (int d = 0; d < 4; d++) {
      int64_t e = irand(1, 5);
      a[d] = irand(0, 2) == 0 ? 1 : e;
      b[d] = irand(0, 2) == 0 ? 1 : e;
    }
    int rb = irand(1, 4);
    binary_case(TSO_OP_ADD + irand(0, 3), 4, a, rb, b + (4 - rb), 1e-5);
  }
  /* normalization, softmax, reductions */
  for (int r = 2; r <= 4; r++) {
    tsoC_Key *k = new_case(1e-5, "batchnorm rank %d%s", r, r == 4 ? " nhwc" : "");
    if (!k) break;
    k->op = TSO_OP_BATCHNORM;
    k->nin = 5;
    k->p.norm.epsilon = r == 3 ? 1e-3f : 1e-5f;
    set_t(&k->in[0], TSO_DT_FLOAT, r, D(2, 6, 5, 4));
    if (r == 4) k->in[0].layout = TSO_LAYOUT_NHWC;
    for (int i = 1; i < 5; i++) {
      set_t(&k->in[i], TSO_DT_FLOAT, 1, D(6));
      k->in[i].flags = TSOC_T_CONST;
    }
    if (keep_case(k) && r == 4) k->out[0].layout = TSO_LAYOUT_NHWC;
  }
  for (int v = 0; v < 4; v++) {
    tsoC_Key *k = new_case(1e-5, "softmax variant %d", v);
    if (!k) break;
    k->op = TSO_OP_SOFTMAX;
    k->nin = 1;
    k->p.axis.axis = v == 0 ? -1 : v == 1 ? 1 : v == 2 ? 0 : 1;
    k->p.axis.legacy = v == 3;
    set_t(&k->in[0], TSO_DT_FLOAT, 3, v == 0 ? D(2, 4, 100) : D(3, 37, 5));
    keep_case(k);
  }
  for (int v = 0; v < 4; v++) {
    tsoC_Key *k = new_case(1e-4, "layernorm variant %d", v);
    if (!k) break;
    k->op = TSO_OP_LAYERNORM;
    k->nin = v == 1 ? 2 : 3;
    k->nout = v == 2 ? 3 : 1;
    k->p.norm.axis = v == 3 ? 1 : -1;
    k->p.norm.epsilon = 1e-5f;
    set_t(&k->in[0], TSO_DT_FLOAT, 3, D(2, 3, 64));
    if (v == 3) {
      set_t(&k->in[1], TSO_DT_FLOAT, 2, D(3, 64));
      set_t(&k->in[2], TSO_DT_FLOAT, 2, D(1, 64)); /* broadcast inside the normalized dims */
    } else {
      set_t(&k->in[1], TSO_DT_FLOAT, 1, D(64));
      if (k->nin > 2) set_t(&k->in[2], TSO_DT_FLOAT, 1, D(64));
    }
    keep_case(k);
  }
  for (int v = 0; v < 4; v++) {
    tsoC_Key *k = new_case(1e-5, "reducemean variant %d", v);
    if (!k) break;
    k->op = TSO_OP_REDUCEMEAN;
    k->nin = 1;
    k->p.axes.keepdims = v != 1;
    if (v < 3) {
      k->p.axes.naxes = v == 2 ? 2 : 1;
      k->p.axes.axes[0] = v == 2 ? 0 : -1;
      k->p.axes.axes[1] = 2;
      k->p.axes.has_axes = 1;
    }
    set_t(&k->in[0], TSO_DT_FLOAT, 4, D(2, 3, 5, 7));
    keep_case(k);
  }
  /* data movement */
  {
    tsoC_Key *k = new_case(0, "concat axis 1");
    k->op = TSO_OP_CONCAT;
    k->nin = 3;
    k->p.axis.axis = 1;
    set_t(&k->in[0], TSO_DT_FLOAT, 4, D(1, 8, 4, 4));
    set_t(&k->in[1], TSO_DT_FLOAT, 4, D(1, 16, 4, 4));
    set_t(&k->in[2], TSO_DT_FLOAT, 4, D(1, 3, 4, 4));
    keep_case(k);
    k = new_case(0, "concat axis -1, int64");
    k->op = TSO_OP_CONCAT;
    k->nin = 2;
    k->p.axis.axis = -1;
    set_t(&k->in[0], TSO_DT_INT64, 2, D(3, 2));
    set_t(&k->in[1], TSO_DT_INT64, 2, D(3, 5));
    keep_case(k);
    k = new_case(0, "concat axis 1, NHWC");
    k->op = TSO_OP_CONCAT;
    k->nin = 2;
    k->p.axis.axis = 1;
    set_t(&k->in[0], TSO_DT_FLOAT, 4, D(2, 3, 4, 5));
    set_t(&k->in[1], TSO_DT_FLOAT, 4, D(2, 6, 4, 5));
    k->in[0].layout = k->in[1].layout = TSO_LAYOUT_NHWC;
    if (keep_case(k)) k->out[0].layout = TSO_LAYOUT_NHWC;
    k = new_case(0, "split axis 2 in 3");
    k->op = TSO_OP_SPLIT;
    k->nin = 1;
    k->nout = 3;
    k->p.split.axis = 2;
    k->p.split.nsizes = 3;
    k->p.split.sizes[0] = 2;
    k->p.split.sizes[1] = 5;
    k->p.split.sizes[2] = 1;
    set_t(&k->in[0], TSO_DT_FLOAT, 3, D(3, 4, 8));
    keep_case(k);
    k = new_case(0, "transpose 0 2 1 3");
    k->op = TSO_OP_TRANSPOSE;
    k->nin = 1;
    k->p.transpose.n = 4;
    k->p.transpose.perm[0] = 0;
    k->p.transpose.perm[1] = 2;
    k->p.transpose.perm[2] = 1;
    k->p.transpose.perm[3] = 3;
    set_t(&k->in[0], TSO_DT_FLOAT, 4, D(2, 6, 4, 8));
    keep_case(k);
    k = new_case(0, "transpose reversed");
    k->op = TSO_OP_TRANSPOSE;
    k->nin = 1;
    set_t(&k->in[0], TSO_DT_FLOAT, 3, D(3, 5, 7));
    keep_case(k);
    tsoO_Shape s4 = {4, {1, 16, 5, 5}};
    k = new_case(0, "identity NCHW to NHWC");
    tsoC_key_conversion(k, &s4, TSO_DT_FLOAT, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_NHWC);
    ncases++;
    k = new_case(0, "identity colmajor to default");
    tsoO_Shape s2 = {2, {7, 9}};
    tsoC_key_conversion(k, &s2, TSO_DT_FLOAT, TSO_LAYOUT_COLMAJOR, TSO_LAYOUT_DEFAULT);
    ncases++;
    for (int mode = 0; mode < 3; mode++) {
      k = new_case(0, "pad mode %d", mode);
      k->op = TSO_OP_PAD;
      k->nin = 1;
      k->p.pad.mode = mode;
      k->p.pad.npads = 6;
      int32_t pads[6] = {0, 1, 2, 1, 2, mode == 0 ? -1 : 1};
      memcpy(k->p.pad.pads, pads, sizeof pads);
      k->p.pad.value = mode == 0 ? 0.5f : 0.0f;
      set_t(&k->in[0], TSO_DT_FLOAT, 3, D(2, 4, 5));
      keep_case(k);
    }
    k = new_case(0, "enlarge 3x3 to 5x5");
    k->op = TSO_OP_ENLARGE;
    k->nin = 1;
    k->p.enlarge.kh = k->p.enlarge.kw = 5;
    set_t(&k->in[0], TSO_DT_FLOAT, 4, D(4, 3, 3, 3));
    keep_case(k);
    for (int ax = 0; ax < 2; ax++) {
      k = new_case(0, "gather axis %d", ax);
      k->op = TSO_OP_GATHER;
      k->nin = 2;
      k->p.axis.axis = ax;
      set_t(&k->in[0], TSO_DT_FLOAT, 3, D(10, 6, 4));
      set_t(&k->in[1], ax ? TSO_DT_INT32 : TSO_DT_INT64, 2, D(2, 3));
      keep_case(k);
    }
  }
}

/* ---- running a case --------------------------------------------------------------------- */

static int64_t numel(const tsoC_Tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->shape.rank; i++) n *= t->shape.d[i];
  return n;
}

/* Copies between the logical (row-major) order and t's layout. */
static void relayout(const tsoC_Tensor *t, const void *src, void *dst, int to_logical) {
  int64_t st[TSO_MAX_RANK], idx[TSO_MAX_RANK] = {0}, n = numel(t);
  int r = t->shape.rank;
  size_t es = tsoO_dtype_size(t->dtype);
  tsoL_strides(t->layout, r, t->shape.d, st);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int j = 0; j < r; j++) off += idx[j] * st[j];
    if (to_logical) memcpy((char *)dst + i * (int64_t)es, (const char *)src + off * (int64_t)es, es);
    else memcpy((char *)dst + off * (int64_t)es, (const char *)src + i * (int64_t)es, es);
    for (int j = r - 1; j >= 0; j--) {
      if (++idx[j] < t->shape.d[j]) break;
      idx[j] = 0;
    }
  }
}

/* A case's data: inputs (logical and in the key's layouts) and the
** reference outputs. */
typedef struct Data {
  void *log_in[TSOC_MAX_IN], *phys_in[TSOC_MAX_IN], *ref[TSOC_MAX_OUT], *got[TSOC_MAX_OUT], *tmp[TSOC_MAX_OUT];
} Data;

static void data_free(Data *d) {
  for (int i = 0; i < TSOC_MAX_IN; i++) free(d->log_in[i]), free(d->phys_in[i]);
  for (int j = 0; j < TSOC_MAX_OUT; j++) free(d->ref[j]), free(d->got[j]), free(d->tmp[j]);
  memset(d, 0, sizeof *d);
}

/* Random inputs and the reference outputs; 0 on failure (reported). */
static int data_make(const Case *c, Data *d) {
  const tsoC_Key *k = &c->k;
  const tsoO_Info *oi = tsoO_info(k->op);
  tsoO_Value in[TSOC_MAX_IN], out[TSOC_MAX_OUT];
  memset(d, 0, sizeof *d);
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  for (int i = 0; i < k->nin; i++) {
    const tsoC_Tensor *t = &k->in[i];
    if (t->flags & TSOC_T_ABSENT) continue;
    int64_t n = numel(t);
    size_t es = tsoO_dtype_size(t->dtype), nb = (size_t)(n > 0 ? n : 1) * es;
    int positive = (k->op == TSO_OP_SQRT && i == 0) || (k->op == TSO_OP_DIV && i == 1) ||
                   (k->op == TSO_OP_POW && i == 0) || (k->op == TSO_OP_BATCHNORM && i == 4);
    d->log_in[i] = calloc(1, nb);
    d->phys_in[i] = calloc(1, nb);
    for (int64_t j = 0; j < n; j++) {
      if (t->dtype == TSO_DT_FLOAT) ((float *)d->log_in[i])[j] = positive ? 0.5f + 0.5f * (frand() + 1.0f) : frand();
      else if (k->op == TSO_OP_GATHER && i == 1) {
        int ax = k->p.axis.axis < 0 ? k->p.axis.axis + k->in[0].shape.rank : k->p.axis.axis;
        int64_t v = (int64_t)irand(0, (int)k->in[0].shape.d[ax] - 1) - (j % 2 ? k->in[0].shape.d[ax] : 0);
        if (t->dtype == TSO_DT_INT64) ((int64_t *)d->log_in[i])[j] = v; /* (negative indices count from the end) */
        else ((int32_t *)d->log_in[i])[j] = (int32_t)v;
      } else if (t->dtype == TSO_DT_INT64) ((int64_t *)d->log_in[i])[j] = irand(-100, 100);
    }
    relayout(t, d->log_in[i], d->phys_in[i], 0);
    in[i].dtype = t->dtype;
    in[i].shape = t->shape;
    in[i].data = d->log_in[i];
  }
  for (int j = 0; j < k->nout; j++) {
    size_t nb = (size_t)(numel(&k->out[j]) > 0 ? numel(&k->out[j]) : 1) * tsoO_dtype_size(k->out[j].dtype);
    d->ref[j] = calloc(1, nb);
    d->got[j] = calloc(1, nb);
    d->tmp[j] = calloc(1, nb);
    out[j].dtype = k->out[j].dtype;
    out[j].shape = k->out[j].shape;
    out[j].data = d->ref[j];
  }
  char e[TSO_ERRMAX] = "";
  if (oi->eval(&k->p, k->nin, in, k->nout, out, e) != TSO_OK) {
    printf("FAIL %s: the reference kernel refuses it: %s\n", c->name, e);
    nfail++;
    return 0;
  }
  return 1;
}

/* Compares d->got (in the key's layouts) with the reference; returns the
** worst error relative to max(1, |ref|) (exact types: 0 or 1). */
static double worst_error(const Case *c, Data *d) {
  const tsoC_Key *k = &c->k;
  double worst = 0.0;
  for (int j = 0; j < k->nout; j++) {
    const tsoC_Tensor *t = &k->out[j];
    int64_t n = numel(t);
    relayout(t, d->got[j], d->tmp[j], 1);
    if (t->dtype != TSO_DT_FLOAT) {
      if (memcmp(d->tmp[j], d->ref[j], (size_t)n * tsoO_dtype_size(t->dtype))) worst = 1.0;
      continue;
    }
    const float *a = d->ref[j], *b = d->tmp[j];
    for (int64_t i = 0; i < n; i++) {
      if (a[i] != a[i] && b[i] != b[i]) continue;
      double e = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)a[i]));
      if (!(e <= worst)) worst = e;
    }
  }
  return worst;
}

/* Emulated: every emulated implementation of every case against the reference. */
static void test_emulated_ops(void) {
  int ran = 0;
  for (int ci = 0; ci < ncases; ci++) {
    const Case *c = &cases[ci];
    Data d;
    if (!data_make(c, &d)) {
      data_free(&d);
      continue;
    }
    err[0] = 0;
    tso_status st = tsoC_cuda_emulate(&c->k, NULL, (const void *const *)d.phys_in, d.got, err);
    CHECK(st == TSO_OK, "emulated %s", c->name);
    if (st == TSO_OK) {
      double w = worst_error(c, &d);
      double tol = c->tol > 0 ? fmin(c->tol, 1e-4) : 0.0;
      CHECK(w <= tol, "emulated %s: differs from the reference by %g (tolerance %g)", c->name, w, tol);
      ran++;
    }
    data_free(&d);
  }
  printf("test_gpu: %d operator cases emulated\n", ran);
}

/* On the GPU: every implementation, and the chosen one. */
static void test_gpu_ops(tsoC_Backend *be) {
  int impls = 0, refused = 0;
  char names[TSOC_IMPLS_MAX][TSOC_IMPL_MAX], chosen[TSOC_IMPL_MAX];
  for (int ci = 0; ci < ncases; ci++) {
    const Case *c = &cases[ci];
    Data d;
    int n = 0, ok = 0;
    err[0] = 0;
    CHECK(tsoC_backend_supports(be, &c->k, err), "%s supported", c->name);
    if (tsoC_cuda_impls(be, &c->k, names, &n, err) != TSO_OK || !data_make(c, &d)) {
      CHECK(0, "%s: no implementations", c->name);
      continue;
    }
    for (int v = 0; v < n; v++) {
      err[0] = 0;
      tso_status st = tsoC_cuda_run_impl(be, &c->k, names[v], (const void *const *)d.phys_in, d.got, err);
      if (st == TSO_ERR_UNSUPPORTED) {
        printf("test_gpu: %s: %s refuses it (%s)\n", c->name, names[v], err);
        refused++;
        continue;
      }
      CHECK(st == TSO_OK, "%s with %s runs", c->name, names[v]);
      if (st) continue;
      double w = worst_error(c, &d);
      CHECK(w <= c->tol, "%s with %s: differs from the reference by %g (tolerance %g)", c->name, names[v], w, c->tol);
      ok++;
      impls++;
    }
    CHECK(ok > 0, "%s: at least one implementation runs", c->name);
    err[0] = 0;
    CHECK(tsoC_backend_run(be, &c->k, (const void *const *)d.phys_in, d.got, err) == TSO_OK &&
              worst_error(c, &d) <= c->tol,
          "%s: the chosen implementation agrees", c->name);
    CHECK(tsoC_cuda_choice(be, &c->k, chosen, sizeof chosen, err) == TSO_OK, "%s: a choice", c->name);
    int known = 0;
    for (int v = 0; v < n; v++) known |= !strcmp(names[v], chosen);
    CHECK(known, "%s: the choice '%s' is one of its implementations", c->name, chosen);
    data_free(&d);
  }
  printf("test_gpu: %d operator cases, %d implementation runs checked, %d refusals\n", ncases, impls, refused);
}

/* ---- graphs through the executor ---------------------------------------------------------- */

static int32_t cst(tsoI_Graph *g, int rank, const int64_t *d, float scale) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = rank;
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= s.d[i] = d[i];
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = scale * frand();
  int32_t t = tsoI_add_const(g, "", TSO_DT_FLOAT, &s, v, (size_t)n * sizeof *v, 1);
  free(v);
  return t;
}

static int32_t op1(tsoI_Graph *g, int op, const tsoO_Params *p, const int32_t *in, int nin) {
  int32_t out = -1;
  tsoI_add_op(g, op, p, in, nin, 1, &out);
  return out;
}

/* x -> conv+bias+relu -> batchnorm -> maxpool -> conv (SAME, stride 2) ->
** global average pool -> flatten -> gemm -> softmax. */
static tsoI_Graph *graph_cnn(void) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape xs = {4, {2, 3, 16, 16}};
  tsoO_Params p;
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &xs), t;
  memset(&p, 0, sizeof p);
  win_defaults(&p);
  p.win.pt = p.win.pl = p.win.pb = p.win.pr = 1;
  p.win.act = TSO_ACT_RELU;
  int32_t c1[3] = {x, cst(g, 4, D(8, 3, 3, 3), 0.5f), cst(g, 1, D(8), 0.1f)};
  t = op1(g, TSO_OP_CONV2D, &p, c1, 3);
  memset(&p, 0, sizeof p);
  p.norm.epsilon = 1e-5f;
  int32_t bn[5] = {t, cst(g, 1, D(8), 1.0f), cst(g, 1, D(8), 1.0f), cst(g, 1, D(8), 0.1f), -1};
  {
    tsoO_Shape s = {1, {8}};
    float v[8];
    for (int i = 0; i < 8; i++) v[i] = 0.5f + 0.5f * (frand() + 1.0f);
    bn[4] = tsoI_add_const(g, "", TSO_DT_FLOAT, &s, v, sizeof v, 1);
  }
  t = op1(g, TSO_OP_BATCHNORM, &p, bn, 5);
  memset(&p, 0, sizeof p);
  win_defaults(&p);
  p.win.group = 0;
  p.win.kh = p.win.kw = 2;
  p.win.sh = p.win.sw = 2;
  t = op1(g, TSO_OP_MAXPOOL, &p, &t, 1);
  memset(&p, 0, sizeof p);
  win_defaults(&p);
  p.win.sh = p.win.sw = 2;
  p.win.pad_mode = TSO_PAD_SAME_UPPER;
  int32_t c2[2] = {t, cst(g, 4, D(16, 8, 3, 3), 0.3f)};
  t = op1(g, TSO_OP_CONV2D, &p, c2, 2);
  t = op1(g, TSO_OP_GLOBALAVGPOOL, NULL, &t, 1);
  memset(&p, 0, sizeof p);
  p.axis.axis = 1;
  t = op1(g, TSO_OP_FLATTEN, &p, &t, 1);
  memset(&p, 0, sizeof p);
  p.gemm.alpha = p.gemm.beta = 1.0f;
  p.gemm.trans_b = 1;
  int32_t gm[3] = {t, cst(g, 2, D(10, 16), 0.5f), cst(g, 1, D(10), 0.1f)};
  t = op1(g, TSO_OP_GEMM, &p, gm, 3);
  memset(&p, 0, sizeof p);
  p.axis.axis = -1;
  t = op1(g, TSO_OP_SOFTMAX, &p, &t, 1);
  tsoI_mark_output(g, t);
  return g;
}

/* x [2, 8, 32] -> matmul W + b -> layernorm -> split in q, k -> reshape to
** heads -> transpose -> q k^T -> softmax -> concat with itself; also a
** second output read before the end. */
static tsoI_Graph *graph_attention(void) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape xs = {3, {2, 8, 32}};
  tsoO_Params p;
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &xs), t;
  int32_t mm[2] = {x, cst(g, 2, D(32, 64), 0.2f)};
  t = op1(g, TSO_OP_MATMUL, NULL, mm, 2);
  int32_t ad[2] = {t, cst(g, 1, D(64), 0.1f)};
  t = op1(g, TSO_OP_ADD, NULL, ad, 2);
  memset(&p, 0, sizeof p);
  p.norm.axis = -1;
  p.norm.epsilon = 1e-5f;
  int32_t ln[3] = {t, cst(g, 1, D(64), 1.0f), cst(g, 1, D(64), 0.1f)};
  t = op1(g, TSO_OP_LAYERNORM, &p, ln, 3);
  tsoI_mark_output(g, t);
  memset(&p, 0, sizeof p);
  p.split.axis = 2;
  int32_t parts[2];
  p.split.nsizes = 2;
  p.split.sizes[0] = p.split.sizes[1] = 32;
  tsoI_add_op(g, TSO_OP_SPLIT, &p, &t, 1, 2, parts);
  int32_t heads[2];
  for (int h = 0; h < 2; h++) {
    tsoO_Shape ss = {1, {4}};
    int64_t shape[4] = {2, 8, 4, 8};
    int32_t sh = tsoI_add_const(g, "", TSO_DT_INT64, &ss, shape, sizeof shape, 1);
    int32_t rin[2] = {parts[h], sh};
    memset(&p, 0, sizeof p);
    int32_t r = op1(g, TSO_OP_RESHAPE, &p, rin, 2);
    memset(&p, 0, sizeof p);
    p.transpose.n = 4;
    p.transpose.perm[0] = 0;
    p.transpose.perm[1] = 2;
    p.transpose.perm[2] = h ? 3 : 1;
    p.transpose.perm[3] = h ? 1 : 3;
    heads[h] = op1(g, TSO_OP_TRANSPOSE, &p, &r, 1); /* q [2,4,8,8], k^T [2,4,8,8] */
  }
  t = op1(g, TSO_OP_MATMUL, NULL, heads, 2);
  int32_t sc[2] = {t, -1};
  {
    tsoO_Shape s0 = {0, {0}};
    float v = 0.35f;
    sc[1] = tsoI_add_const(g, "", TSO_DT_FLOAT, &s0, &v, sizeof v, 1);
  }
  t = op1(g, TSO_OP_MUL, NULL, sc, 2);
  memset(&p, 0, sizeof p);
  p.axis.axis = -1;
  t = op1(g, TSO_OP_SOFTMAX, &p, &t, 1);
  memset(&p, 0, sizeof p);
  p.axis.axis = 1;
  int32_t cc[2] = {t, t};
  t = op1(g, TSO_OP_CONCAT, &p, cc, 2);
  tsoI_mark_output(g, t);
  return g;
}

/* A chain of element-wise operators (buffers must be reused), with a Pad
** whose pads are an input (the host runs it) and a Slice. */
static tsoI_Graph *graph_chain(void) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape xs = {2, {64, 96}};
  tsoO_Params p;
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &xs), t = x;
  for (int i = 0; i < 12; i++) {
    int32_t in[2] = {t, cst(g, 1, D(96), 0.5f)};
    t = op1(g, i % 3 == 2 ? TSO_OP_TANH : TSO_OP_ADD, NULL, in, i % 3 == 2 ? 1 : 2);
  }
  tsoO_Shape ps = {1, {4}};
  int64_t pads[4] = {1, 0, 2, 3};
  int32_t pin[2] = {t, tsoI_add_const(g, "", TSO_DT_INT64, &ps, pads, sizeof pads, 1)};
  memset(&p, 0, sizeof p);
  t = op1(g, TSO_OP_PAD, &p, pin, 2);
  t = op1(g, TSO_OP_SIGMOID, NULL, &t, 1);
  tsoI_mark_output(g, t);
  return g;
}

/* Runs graph g through executor x and through the reference evaluator on
** the same random inputs; checks the outputs agree. */
static void check_graph(tsoI_Graph *g, tsoC_CudaExec *x, const char *name, double rtol, double atol) {
  tsoO_Value *vals = calloc((size_t)g->nt, sizeof *vals);
  for (int i = 0; i < g->ninputs; i++) {
    tsoI_Tensor *t = &g->t[g->inputs[i]];
    int64_t n = tsoO_numel(&t->shape);
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t j = 0; j < n; j++) v[j] = frand();
    CHECK(tsoC_cuda_exec_set_input(x, i, v, (size_t)n * sizeof *v, err) == TSO_OK, "%s: input", name);
    vals[g->inputs[i]] = (tsoO_Value){t->dtype, t->shape, v};
  }
  CHECK(tsoC_cuda_exec_run(x, err) == TSO_OK, "%s: run", name);
  CHECK(tsoI_eval(g, vals, 0, NULL, NULL) == TSO_OK, "%s: reference", name);
  for (int j = 0; j < g->noutputs; j++) {
    tsoI_Tensor *t = &g->t[g->outputs[j]];
    int64_t n = tsoO_numel(&t->shape);
    float *got = calloc((size_t)n, sizeof *got);
    const float *ref = vals[g->outputs[j]].data;
    CHECK(tsoC_cuda_exec_get_output(x, j, got, (size_t)n * sizeof *got, err) == TSO_OK, "%s: output %d", name, j);
    double worst = 0.0;
    int64_t at = -1;
    for (int64_t i = 0; ref && i < n; i++) {
      double d = fabs((double)got[i] - (double)ref[i]);
      if (!(d <= atol + rtol * fabs((double)ref[i])) && !(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    CHECK(ref && at < 0, "%s: output %d differs from graph/eval.c: element %lld, %g vs %g", name, j, (long long)at,
          at >= 0 ? (double)got[at] : 0.0, at >= 0 && ref ? (double)ref[at] : 0.0);
    free(got);
  }
  tsoI_eval_free(g, vals, 1);
  free(vals);
}

static void test_graphs(tsoC_Backend *be) {
  tsoI_Graph *(*make[3])(void) = {graph_cnn, graph_attention, graph_chain};
  static const char *const names[3] = {"cnn", "attention", "chain"};
  for (int i = 0; i < 3; i++) {
    tsoI_Graph *g = make[i]();
    CHECK(tsoI_infer(g) == TSO_OK, "%s infers: %s", names[i], g->err);
    tsoC_CudaExec *x = NULL;
    err[0] = 0;
    tso_status st = be ? tsoC_cuda_exec_create(be, g, &x, err) : tsoC_cuda_exec_create_emulated(g, &x, err);
    CHECK(st == TSO_OK, "%s: executor", names[i]);
    if (st == TSO_OK) {
      check_graph(g, x, names[i], be ? 1e-3 : 1e-4, be ? 1e-4 : 1e-5);
      check_graph(g, x, names[i], be ? 1e-3 : 1e-4, be ? 1e-4 : 1e-5); /* a second run, other data */
      tsoC_ExecStats es;
      tsoC_cuda_exec_stats(x, &es);
      printf("test_gpu: graph %s: %d nodes (%d gpu, %d host%s%s, %d alias, %d const), %d buffers, "
             "%.0f of %.0f bytes\n",
             names[i], es.nodes, es.gpu_nodes, es.host_nodes, es.host_ops[0] ? ": " : "", es.host_ops, es.free_nodes,
             es.const_nodes, es.buffers, es.act_bytes, es.naive_bytes);
      CHECK(es.gpu_nodes > 0 && es.act_bytes <= es.naive_bytes, "%s: statistics", names[i]);
      if (i == 2) {
        CHECK(es.host_nodes == 1 && strstr(es.host_ops, "pad"), "chain: the pad with an input runs on the host");
        CHECK(es.buffers <= 3, "chain: %d buffers for a chain (liveness reuse)", es.buffers);
      }
      if (i == 1) CHECK(es.free_nodes >= 2, "attention: reshapes are aliases");
      double med = 0.0, mn = 0.0;
      CHECK(tsoC_cuda_exec_time(x, 1, 3, &med, &mn, err) == TSO_OK && mn <= med && (be == NULL || med > 0.0),
            "%s: timing", names[i]);
      for (int32_t n = 0; n < g->nn; n++)
        CHECK(tsoC_cuda_exec_impl(x, n)[0], "%s: node %d has an implementation", names[i], (int)n);
    }
    tsoC_cuda_exec_free(x);
    if (be && i == 0) { /* the graph's predicted cost on the GPU */
      tsoC_NodeCost *nc = calloc((size_t)g->nn, sizeof *nc);
      double total = 0.0;
      CHECK(tsoC_graph_cost(g, be, NULL, NULL, &total, nc, err) == TSO_OK && total > 0.0, "cnn: graph cost");
      int measured = 0;
      for (int32_t n = 0; n < g->nn; n++) measured += nc[n].source == TSOC_SRC_MEASURED;
      CHECK(measured >= 6, "cnn: %d operators measured on the GPU", measured);
      free(nc);
    }
    tsoI_free(g);
  }
}

static void test_backend(tsoC_Backend *be) {
  CHECK(!strcmp(tsoC_backend_name(be), "cuda"), "name");
  CHECK(strstr(be->device, "sm_") && strstr(be->device, "driver") && strstr(be->device, "cuDNN") &&
            strstr(be->device, "cuBLAS") && strstr(be->device, "runtime"),
        "device string: %s", be->device);
  CHECK(strstr(be->version, "math fp32") && strstr(be->version, "method"), "version string: %s", be->version);
  printf("test_gpu: device %s\ntest_gpu: version %s\n", be->device, be->version);
  /* measured: a convolution and a product */
  tsoC_Entry e;
  for (int ci = 0; ci < ncases; ci++) {
    if (cases[ci].k.op != TSO_OP_CONV2D && cases[ci].k.op != TSO_OP_MATMUL) continue;
    err[0] = 0;
    CHECK(tsoC_backend_measure(be, &cases[ci].k, &e, err) == TSO_OK && e.ms > 0.0 && isfinite(e.ms) && e.repeats >= 3,
          "%s measured: %g ms, %d samples", cases[ci].name, e.ms, e.repeats);
    if (cases[ci].k.op == TSO_OP_MATMUL) break;
  }
  /* the math modes are different backends (other version strings) */
  tsoC_Backend *tf = tsoC_backend_create("cuda:tf32", err);
  CHECK(tf && strstr(tf->version, "math tf32"), "cuda:tf32");
  tsoC_backend_free(tf);
  CHECK(!tsoC_backend_create("cuda:fp8", err) && strstr(err, "fp8"), "an unknown math mode is refused");
  /* what is not supported says why */
  tsoC_Key k;
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_CONV2D;
  k.nin = 2;
  win_defaults(&k.p);
  set_t(&k.in[0], TSO_DT_DOUBLE, 4, D(1, 4, 8, 8));
  set_t(&k.in[1], TSO_DT_DOUBLE, 4, D(4, 4, 3, 3));
  tsoC_key_infer(&k, err);
  err[0] = 0;
  CHECK(!tsoC_backend_supports(be, &k, err) && err[0], "float64 conv is not supported");
}

#endif /* TASO_HAVE_CUDA */

int main(int argc, char **argv) {
#ifndef TASO_HAVE_CUDA
  char why[TSO_ERRMAX];
  (void)argc;
  (void)argv;
  tsoC_cuda_probe(why, sizeof why);
  printf("SKIP: no CUDA GPU: %s\n", why);
  return SKIP;
#else
  int emulate = 0;
  uint64_t seed = 0x7A50C0DEu;
  char why[TSO_ERRMAX];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--emulate")) emulate = 1;
    else seed = strtoull(argv[i], NULL, 10);
  }
  rng = seed;
  if (emulate) {
    printf("test_gpu: seed %llu (host emulation)\n", (unsigned long long)seed);
    make_cases();
    test_emulated_ops();
    test_graphs(NULL);
  } else {
    if (!tsoC_cuda_probe(why, sizeof why)) {
      printf("SKIP: no CUDA GPU: %s\n", why);
      return SKIP;
    }
    printf("test_gpu: seed %llu\n", (unsigned long long)seed);
    make_cases();
    tsoC_MeasureOpts mo;
    tsoC_measure_opts_init(&mo);
    mo.min_repeats = 5;
    mo.span_ms = 20;
    mo.max_ms = 200;
    mo.warmup_ms = 2;
    tsoC_Backend *be = tsoC_cuda_create(&mo, err);
    CHECK(be != NULL, "cuda backend");
    if (!be) return 1;
    test_backend(be);
    test_gpu_ops(be);
    test_graphs(be);
    tsoC_backend_free(be);
  }
  printf("test_gpu: %d checks, %d failed\n", ncheck, nfail);
  return nfail ? 1 : 0;
#endif
}
