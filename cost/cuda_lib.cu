/*
** cuda_lib.cu -- the implementations that call the libraries: cuDNN
** convolutions, pooling, activations, batch normalization and softmax;
** cuBLAS and cuBLASLt matrix products (MatMul, Gemm).
**
** Convolutions (cuDNN, legacy API of cuDNN 9). Every forward algorithm
** whose workspace query succeeds within CU_CONV_WS_MAX is an
** implementation ("cudnn:<algo>"); with a bias or a fused ReLU each comes
** twice: "+fused" (cudnnConvolutionBiasActivationForward) and "+sep"
** (convolution, cudnnAddTensor, cudnnActivationForward). The search is
** cudnnFindConvolutionForwardAlgorithmEx on the operator's buffers; the
** variants of its three fastest algorithms are then timed with their
** epilogues (cuda.cu). cuDNN's 2-D convolution pads symmetrically: an
** instance with asymmetric pads (SAME with an even total) is padded into
** scratch first and convolved with no padding. The math mode of the
** context is the convolution descriptor's: CUDNN_FMA_MATH for fp32 (no
** tensor cores), CUDNN_DEFAULT_MATH for tf32 (and bf16, which cuDNN's
** legacy API cannot down-convert to), CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
** for fp16.
**
** Matrix products as one strided-batched column-major call. The row-major
** product Y = A B is computed as Y^T = B^T A^T (first operand B), unless
** Y itself is stored column-major (TSO_LAYOUT_COLMAJOR); an operand stored
** column-major, or Gemm's transA/transB, is folded into the call's
** transa/transb and leading dimension, never copied. A batched A times a
** 2-D B folds the batch into the rows (one large product). Batch
** dimensions broadcast only as a whole (an operand's batch is the
** output's, or it is one matrix): partial broadcasting is not supported.
** Gemm's C is copied (broadcast) into Y first and the product added with
** beta; a bias vector with beta 1 may instead be the cuBLASLt BIAS
** epilogue. Implementations: "cublas" (cublasGemmStridedBatchedEx with the
** context's compute type), "cublaslt:i" (the i-th cuBLASLt heuristic
** candidate), "cublaslt-bias:i".
**
** The host emulation (CuCtx.emu) replaces the two library calls it models
** -- cudnnConvolution*Forward and the BLAS products -- by loops that follow
** their documented semantics on exactly the geometry computed here.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/cuda_impl.h"

static const float kOne = 1.0f, kZero = 0.0f;

static tso_status bad(char *err, const char *what) { return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", what); }

static tso_status dnn_fail(char *err, cudnnStatus_t s, const char *what) {
  int v = (int)s;
  tso_status st = v == 4003 || v == 4004 ? TSO_ERR_NOMEM : v >= 5000 ? TSO_ERR_INVALID : TSO_ERR_UNSUPPORTED;
  return tsoO_fail(err, st, "cuDNN %s: %s", what, cudnnGetErrorString(s));
}

static tso_status blas_fail(char *err, cublasStatus_t s, const char *what) {
  tso_status st = s == CUBLAS_STATUS_ALLOC_FAILED ? TSO_ERR_NOMEM
                  : s == CUBLAS_STATUS_EXECUTION_FAILED || s == CUBLAS_STATUS_INTERNAL_ERROR ? TSO_ERR_INVALID
                                                                                              : TSO_ERR_UNSUPPORTED;
  return tsoO_fail(err, st, "%s: %s", what, cublasGetStatusString(s));
}

#define DNN(call, what)                                        \
  do {                                                         \
    cudnnStatus_t s_ = (call);                                 \
    if (s_ != CUDNN_STATUS_SUCCESS) return dnn_fail(err, s_, what); \
  } while (0)

#define BLAS(call, what)                                        \
  do {                                                          \
    cublasStatus_t s_ = (call);                                 \
    if (s_ != CUBLAS_STATUS_SUCCESS) return blas_fail(err, s_, what); \
  } while (0)

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

static void set_name(Variant *v, const char *fmt, const char *a, const char *b) {
  snprintf(v->name, sizeof v->name, fmt, a, b);
}

static Variant *add_var(CuOp *op, int kind) {
  if (op->nvar >= TSOC_IMPLS_MAX) return NULL;
  Variant *v = &op->var[op->nvar++];
  memset(v, 0, sizeof *v);
  v->kind = kind;
  return v;
}

/* Pointers of a plan's operands. */
static void resolve(const KStep *s, const void *const *in, void *const *out, void *scratch, void **p) {
  for (int i = 0; i < CU_NREF; i++) {
    const KRef *r = &s->r[i];
    char *base = r->kind == R_IN ? (char *)(uintptr_t)in[r->idx]
                 : r->kind == R_OUT ? (char *)out[r->idx]
                 : r->kind == R_SCR ? (char *)scratch
                                    : NULL;
    int es = s->kind == KS_GATHER && i == 2 ? 0 : s->esize; /* (indices: offset 0) */
    p[i] = base ? base + r->off * es : NULL;
  }
}

/* Runs the steps of plan p (pre-steps of a library call). */
static tso_status run_plan(CuCtx *c, CuOp *op, const KPlan *p, const void *const *in, void *const *out, char *err) {
  for (int i = 0; i < p->n; i++) {
    void *ptr[CU_NREF];
    resolve(&p->s[i], in, out, op->scratch, ptr);
    if (c->emu) {
      tsoC_cuk_emulate(&p->s[i], ptr);
    } else {
      cudaError_t e = tsoC_cuk_launch(&p->s[i], ptr, c->s);
      if (e != cudaSuccess) return tsoC_cu_fail(err, e, "kernel launch");
    }
  }
  return TSO_OK;
}

/* ===================================================================== */
/* convolution                                                           */
/* ===================================================================== */

static const char *const kAlgoNames[CUDNN_CONVOLUTION_FWD_ALGO_COUNT] = {
    "implicit_gemm", "implicit_precomp_gemm", "gemm", "direct", "fft", "fft_tiling", "winograd", "winograd_nonfused"};

static int img_layout(int l) { return l == TSO_LAYOUT_DEFAULT || l == TSO_LAYOUT_NHWC; }

static tso_status conv_geo(const tsoC_Key *k, ConvGeo *g, int64_t pads[4], char *err) {
  const tsoC_Tensor *x = &k->in[0], *w = &k->in[1], *y = &k->out[0];
  const tsoC_Tensor *b = k->nin > 2 && !(k->in[2].flags & TSOC_T_ABSENT) ? &k->in[2] : NULL;
  memset(g, 0, sizeof *g);
  if (x->shape.rank != 4 || w->shape.rank != 4 || y->shape.rank != 4) return bad(err, "conv2d needs 4-D tensors");
  if (!img_layout(x->layout) || !img_layout(y->layout)) return bad(err, "conv2d layouts must be NCHW or NHWC");
  if (w->layout || (b && (b->layout || b->shape.rank != 1))) return bad(err, "conv2d weights: default layout");
  if (x->dtype != TSO_DT_FLOAT || w->dtype != TSO_DT_FLOAT || y->dtype != TSO_DT_FLOAT ||
      (b && b->dtype != TSO_DT_FLOAT))
    return bad(err, "conv2d: float32 only");
  int64_t grp = k->p.win.group > 0 ? k->p.win.group : 1, m = w->shape.d[0];
  if (m % grp || x->shape.d[1] != w->shape.d[1] * grp) return bad(err, "conv2d: groups");
  int64_t dh = k->p.win.dh > 0 ? k->p.win.dh : 1, dw = k->p.win.dw > 0 ? k->p.win.dw : 1;
  tsoC_win_pads(&k->p, x->shape.d[2], x->shape.d[3], w->shape.d[2], w->shape.d[3], pads);
  g->pre = pads[0] != pads[2] || pads[1] != pads[3];
  int64_t h = x->shape.d[2] + (g->pre ? pads[0] + pads[2] : 0), wd = x->shape.d[3] + (g->pre ? pads[1] + pads[3] : 0);
  int64_t ph = g->pre ? 0 : pads[0], pw = g->pre ? 0 : pads[1];
  int64_t v[] = {x->shape.d[0], x->shape.d[1], h, wd, m, w->shape.d[2], w->shape.d[3], y->shape.d[2], y->shape.d[3],
                 grp, k->p.win.sh, k->p.win.sw, dh, dw, ph, pw};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (!fits_int(v[i])) return bad(err, "conv2d: a dimension beyond cuDNN's int range");
  g->n = (int)v[0];
  g->c = (int)v[1];
  g->h = (int)h;
  g->w = (int)wd;
  g->k = (int)m;
  g->r = (int)v[5];
  g->s = (int)v[6];
  g->oh = (int)v[7];
  g->ow = (int)v[8];
  g->g = (int)grp;
  g->sh = (int)v[10];
  g->sw = (int)v[11];
  g->dh = (int)dh;
  g->dw = (int)dw;
  g->ph = (int)ph;
  g->pw = (int)pw;
  g->nhwc_x = x->layout == TSO_LAYOUT_NHWC;
  g->nhwc_y = y->layout == TSO_LAYOUT_NHWC;
  g->bias = b != NULL;
  g->relu = k->p.win.act == TSO_ACT_RELU;
  if (g->sh < 1 || g->sw < 1) return bad(err, "conv2d: stride");
  /* cuDNN's output size must be the operator's */
  int64_t eh = (int64_t)(g->r - 1) * g->dh + 1, ew = (int64_t)(g->s - 1) * g->dw + 1;
  if ((h + 2 * ph - eh) / g->sh + 1 != g->oh || (wd + 2 * pw - ew) / g->sw + 1 != g->ow)
    return bad(err, "conv2d: cuDNN's output size differs");
  if (y->shape.d[0] != g->n || y->shape.d[1] != g->k) return bad(err, "conv2d: output shape");
  return TSO_OK;
}

static cudnnTensorFormat_t fmt(int nhwc) { return nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW; }

static cudnnMathType_t conv_math(int math) {
  switch (math) {
  case TSOC_MATH_FP16: return CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  case TSOC_MATH_TF32: case TSOC_MATH_BF16: return CUDNN_DEFAULT_MATH;
  default: return CUDNN_FMA_MATH;
  }
}

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

static tso_status build_conv(CuCtx *c, CuOp *op, char *err) {
  ConvGeo *g = &op->cg;
  int64_t pads[4];
  tso_status st = conv_geo(&op->k, g, pads, err);
  if (st) return st;
  size_t pre_bytes = g->pre ? (size_t)g->n * g->c * g->h * g->w * sizeof(float) : 0;
  op->lib_scratch = align256(pre_bytes) + (g->relu && !g->bias ? (size_t)g->k * sizeof(float) : 0);
  if (g->pre) { /* pad x into scratch (offset 0), in x's layout */
    const tsoC_Tensor *x = &op->k.in[0];
    int64_t idim[4], odim[4], ist[4], ost[4], beg[4] = {0, 0, pads[0], pads[1]};
    for (int d = 0; d < 4; d++) idim[d] = odim[d] = x->shape.d[d];
    odim[2] = g->h;
    odim[3] = g->w;
    tsoL_strides(x->layout, 4, idim, ist);
    tsoL_strides(x->layout, 4, odim, ost);
    KRef dst = {R_SCR, 0, 0}, src = {R_IN, 0, 0};
    tsoC_cuk_pad_step(&op->pre, dst, src, 4, idim, ist, odim, ost, beg);
  }
  if (c->emu) { /* the algorithms are cuDNN's business: one emulated convolution per epilogue */
    Variant *v = add_var(op, V_CONV);
    snprintf(v->name, sizeof v->name, "cudnn:emulated%s", g->bias || g->relu ? "+sep" : "");
    if (g->bias || g->relu) {
      v = add_var(op, V_CONV);
      v->fused = 1;
      snprintf(v->name, sizeof v->name, "cudnn:emulated+fused");
    }
    op->lib = V_CONV;
    return TSO_OK;
  }
  op->lib = V_CONV;
  DNN(cudnnCreateTensorDescriptor(&op->xd), "descriptor");
  DNN(cudnnCreateTensorDescriptor(&op->yd), "descriptor");
  DNN(cudnnCreateTensorDescriptor(&op->bd), "descriptor");
  DNN(cudnnCreateFilterDescriptor(&op->wd), "descriptor");
  DNN(cudnnCreateConvolutionDescriptor(&op->cd), "descriptor");
  DNN(cudnnCreateActivationDescriptor(&op->ad), "descriptor");
  DNN(cudnnCreateActivationDescriptor(&op->adid), "descriptor");
  DNN(cudnnSetTensor4dDescriptor(op->xd, fmt(g->nhwc_x), CUDNN_DATA_FLOAT, g->n, g->c, g->h, g->w), "input");
  DNN(cudnnSetTensor4dDescriptor(op->yd, fmt(g->nhwc_y), CUDNN_DATA_FLOAT, g->n, g->k, g->oh, g->ow), "output");
  DNN(cudnnSetTensor4dDescriptor(op->bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g->k, 1, 1), "bias");
  DNN(cudnnSetFilter4dDescriptor(op->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g->k, g->c / g->g, g->r, g->s),
      "filter");
  DNN(cudnnSetConvolution2dDescriptor(op->cd, g->ph, g->pw, g->sh, g->sw, g->dh, g->dw, CUDNN_CROSS_CORRELATION,
                                      CUDNN_DATA_FLOAT),
      "convolution");
  DNN(cudnnSetConvolutionGroupCount(op->cd, g->g), "groups");
  DNN(cudnnSetConvolutionMathType(op->cd, conv_math(c->math)), "math type");
  DNN(cudnnSetActivationDescriptor(op->ad, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0), "activation");
  DNN(cudnnSetActivationDescriptor(op->adid, CUDNN_ACTIVATION_IDENTITY, CUDNN_PROPAGATE_NAN, 0.0), "activation");
  for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; a++) {
    size_t ws = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(c->dnn, op->xd, op->wd, op->cd, op->yd, (cudnnConvolutionFwdAlgo_t)a,
                                                &ws) != CUDNN_STATUS_SUCCESS ||
        ws > CU_CONV_WS_MAX)
      continue;
    for (int f = 0; f < (g->bias || g->relu ? 2 : 1); f++) {
      Variant *v = add_var(op, V_CONV);
      if (!v) break;
      v->algo = a;
      v->fused = f;
      v->ws = ws;
      set_name(v, "cudnn:%s%s", kAlgoNames[a], !(g->bias || g->relu) ? "" : f ? "+fused" : "+sep");
    }
  }
  return TSO_OK;
}

/* y = conv(x, w) with cuDNN's semantics (cross-correlation, symmetric
** pads, groups), then bias and ReLU: the emulation of both epilogues. */
static void emu_conv(const ConvGeo *g, const float *x, const float *w, const float *b, float *y) {
  int64_t cg = g->c / g->g, kg = g->k / g->g;
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t k = 0; k < g->k; k++)
      for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t ow = 0; ow < g->ow; ow++) {
          double acc = 0.0;
          int64_t grp = k / kg;
          for (int64_t cc = 0; cc < cg; cc++)
            for (int64_t r = 0; r < g->r; r++)
              for (int64_t s = 0; s < g->s; s++) {
                int64_t ih = oh * g->sh - g->ph + r * g->dh, iw = ow * g->sw - g->pw + s * g->dw;
                if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
                int64_t ch = grp * cg + cc;
                int64_t xo = g->nhwc_x ? ((n * g->h + ih) * g->w + iw) * g->c + ch
                                       : ((n * g->c + ch) * g->h + ih) * g->w + iw;
                acc += (double)x[xo] * (double)w[((k * cg + cc) * g->r + r) * g->s + s];
              }
          float v = (float)acc + (b ? b[k] : 0.0f);
          if (g->relu && v < 0.0f) v = 0.0f;
          int64_t yo = g->nhwc_y ? ((n * g->oh + oh) * g->ow + ow) * g->k + k
                                 : ((n * g->k + k) * g->oh + oh) * g->ow + ow;
          y[yo] = v;
        }
}

static tso_status run_conv(CuCtx *c, CuOp *op, const Variant *v, const void *const *in, void *const *out, char *err) {
  const ConvGeo *g = &op->cg;
  tso_status st = run_plan(c, op, &op->pre, in, out, err);
  if (st) return st;
  const void *x = g->pre ? op->scratch : in[0], *w = in[1], *b = g->bias ? in[2] : NULL;
  void *y = out[0];
  if (c->emu) {
    emu_conv(g, (const float *)x, (const float *)w, (const float *)b, (float *)y);
    return TSO_OK;
  }
  if (v->ws && (st = tsoC_cu_ws(c, v->ws, err))) return st;
  cudnnConvolutionFwdAlgo_t algo = (cudnnConvolutionFwdAlgo_t)v->algo;
  if (v->fused) {
    size_t zero_at = align256(g->pre ? (size_t)g->n * g->c * g->h * g->w * sizeof(float) : 0);
    const void *bias = b ? b : (const char *)op->scratch + zero_at; /* zeros: ReLU without a bias */
    DNN(cudnnConvolutionBiasActivationForward(c->dnn, &kOne, op->xd, x, op->wd, w, op->cd, algo, c->ws, v->ws, &kZero,
                                              op->yd, y, op->bd, bias, g->relu ? op->ad : op->adid, op->yd, y),
        "fused convolution");
    return TSO_OK;
  }
  DNN(cudnnConvolutionForward(c->dnn, &kOne, op->xd, x, op->wd, w, op->cd, algo, c->ws, v->ws, &kZero, op->yd, y),
      "convolution");
  if (b) DNN(cudnnAddTensor(c->dnn, &kOne, op->bd, b, &kOne, op->yd, y), "bias");
  if (g->relu) DNN(cudnnActivationForward(c->dnn, op->ad, &kOne, op->yd, y, &kZero, op->yd, y), "relu");
  return TSO_OK;
}

tso_status tsoC_cul_conv_search(CuCtx *c, CuOp *op, const void *const *in, void *const *out, int *keep, char *err) {
  for (int i = 0; i < op->nvar; i++) keep[i] = 1;
  if (c->emu || op->lib != V_CONV || op->nvar <= 2) return TSO_OK;
  size_t maxws = 0;
  for (int i = 0; i < op->nvar; i++) maxws = op->var[i].ws > maxws ? op->var[i].ws : maxws;
  tso_status st = tsoC_cu_ws(c, maxws, err);
  if (!st) st = run_plan(c, op, &op->pre, in, out, err);
  if (st) return st;
  cudnnConvolutionFwdAlgoPerf_t perf[2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int got = 0;
  DNN(cudnnFindConvolutionForwardAlgorithmEx(c->dnn, op->xd, op->cg.pre ? op->scratch : in[0], op->wd, in[1], op->cd,
                                             op->yd, out[0], 2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf, c->ws,
                                             c->ws_cap),
      "algorithm search");
  int best[3], nb = 0;
  for (int i = 0; i < got && nb < 3; i++) { /* sorted by time; failures carry a status */
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    int seen = 0;
    for (int j = 0; j < nb; j++) seen |= best[j] == (int)perf[i].algo;
    if (!seen) best[nb++] = (int)perf[i].algo;
  }
  if (nb == 0) return TSO_OK; /* nothing found: every variant is timed */
  for (int i = 0; i < op->nvar; i++) {
    keep[i] = 0;
    for (int j = 0; j < nb; j++) keep[i] |= op->var[i].algo == best[j];
  }
  return TSO_OK;
}

/* ===================================================================== */
/* matrix products                                                       */
/* ===================================================================== */

/* A logical matrix (rows x cols, element (i, j) at i*rs + j*cs) as a
** column-major BLAS operand: its op and leading dimension. 0 when it is
** not expressible (neither dimension walks with stride 1). */
static int blas_operand(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int *op, int64_t *ld) {
  int64_t r1 = rows > 1 ? rows : 1, c1 = cols > 1 ? cols : 1;
  if (rs == 1 || rows == 1) { /* op N: (i, j) at i + j*ld */
    int64_t l = cols == 1 ? r1 : cs;
    if (l >= r1) {
      *op = CUBLAS_OP_N;
      *ld = l;
      return 1;
    }
  }
  if (cs == 1 || cols == 1) { /* op T of a cols x rows column-major matrix: (i, j) at j + i*ld */
    int64_t l = rows == 1 ? c1 : rs;
    if (l >= c1) {
      *op = CUBLAS_OP_T;
      *ld = l;
      return 1;
    }
  }
  return 0;
}

typedef struct MatView {
  int64_t rows, cols, rs, cs; /* the matrix as the product reads it */
  int64_t bstride;            /* batch stride, 0: one matrix for all */
  int nb;                     /* batch dims (left-padded to the output's) */
} MatView;

/* The matrix view of key tensor t (1-D promoted: as a row for the first
** operand, a column for the second), transposed when trans. obd/onb: the
** output's batch dims; 0 if the batch does not broadcast as a whole. */
static int mat_view(const tsoC_Tensor *t, int second, int trans, const int64_t *obd, int onb, MatView *v) {
  int r = t->shape.rank;
  int64_t st[KR];
  if (tsoL_strides(t->layout, r, t->shape.d, st)) return 0;
  if (r == 1) {
    v->rows = second ? t->shape.d[0] : 1;
    v->cols = second ? 1 : t->shape.d[0];
    v->rs = second ? 1 : t->shape.d[0];
    v->cs = second ? t->shape.d[0] : 1;
  } else {
    v->rows = t->shape.d[r - 2];
    v->cols = t->shape.d[r - 1];
    v->rs = st[r - 2];
    v->cs = st[r - 1];
  }
  if (trans) {
    int64_t x = v->rows;
    v->rows = v->cols;
    v->cols = x;
    x = v->rs;
    v->rs = v->cs;
    v->cs = x;
  }
  /* batch: equal to the output's (contiguous blocks of one matrix), or all 1 */
  int tb = r > 2 ? r - 2 : 0, full = 1, ones = 1;
  for (int i = 0; i < onb; i++) {
    int j = i - (onb - tb);
    int64_t d = j >= 0 ? t->shape.d[j] : 1;
    full &= d == obd[i];
    ones &= d == 1;
  }
  if (tb > onb) return 0;
  v->bstride = ones ? 0 : v->rows * v->cols;
  return ones || full;
}

static tso_status gemm_geo(const tsoC_Key *k, GemmGeo *g, int64_t *cdims, int64_t *cst, char *err) {
  const tsoC_Tensor *a = &k->in[0], *b = &k->in[1], *y = &k->out[0];
  int gemm = k->op == TSO_OP_GEMM;
  memset(g, 0, sizeof *g);
  for (int i = 0; i < (gemm ? k->nin : 2); i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT) && k->in[i].dtype != TSO_DT_FLOAT) return bad(err, "float32 only");
  if (y->dtype != TSO_DT_FLOAT) return bad(err, "float32 only");
  if (a->shape.rank < 1 || b->shape.rank < 1) return bad(err, "matmul of a scalar");
  if (gemm && (a->shape.rank != 2 || b->shape.rank != 2)) return bad(err, "gemm needs 2-D operands");
  if ((a->shape.rank == 1 || b->shape.rank == 1) && y->layout) return bad(err, "matmul: 1-D operand, layout of Y");
  /* output: batch dims, M, N and strides */
  int ry = y->shape.rank;
  int onb = (a->shape.rank > 2 || b->shape.rank > 2) ? ry - (a->shape.rank > 1) - (b->shape.rank > 1) : 0;
  if (onb < 0) return bad(err, "matmul: output rank");
  int64_t ys[KR], obd[KR], batch = 1;
  if (tsoL_strides(y->layout, ry, y->shape.d, ys)) return bad(err, "layout");
  for (int i = 0; i < onb; i++) batch *= obd[i] = y->shape.d[i];
  MatView va, vb;
  if (!mat_view(a, 0, gemm && k->p.gemm.trans_a, obd, onb, &va) ||
      !mat_view(b, 1, gemm && k->p.gemm.trans_b, obd, onb, &vb))
    return bad(err, "matmul: batch dimensions broadcast only partly");
  if (va.cols != vb.rows) return bad(err, "matmul: inner dimensions differ");
  int64_t M = va.rows, N = vb.cols, K = va.cols;
  int64_t yrs, ycs; /* Y's matrix strides */
  if (ry >= 2 && a->shape.rank > 1 && b->shape.rank > 1) {
    yrs = ys[ry - 2];
    ycs = ys[ry - 1];
  } else { /* a dimension dropped: Y is [.., N] or [.., M], dense */
    yrs = N;
    ycs = 1;
  }
  int64_t ystride = M * N;
  if (M * N * batch != cu_numel(y)) return bad(err, "matmul: output shape");
  /* one large product: batched A (row-major) times one B into row-major Y */
  if (batch > 1 && vb.bstride == 0 && va.bstride == M * K && va.cs == 1 && va.rs == K && ycs == 1 && yrs == N) {
    M *= batch;
    batch = 1;
  }
  int64_t lda, ldb, m1 = M > 1 ? M : 1, n1 = N > 1 ? N : 1;
  int opa, opb;
  if (ycs == 1 || N == 1) { /* row-major Y: Y^T (N x M, column-major) = B^T A^T */
    g->m = N;
    g->n = M;
    g->ldc = M == 1 ? n1 : yrs;
    if (g->ldc < n1) return bad(err, "matmul: output layout");
    if (!blas_operand(N, K, vb.cs, vb.rs, &opa, &lda) || !blas_operand(K, M, va.cs, va.rs, &opb, &ldb))
      return bad(err, "matmul: operand layout");
    g->a_in = 1;
    g->b_in = 0;
    g->sa = vb.bstride;
    g->sb = va.bstride;
  } else if (yrs == 1 || M == 1) { /* column-major Y: C = A B directly */
    g->m = M;
    g->n = N;
    g->ldc = N == 1 ? m1 : ycs;
    if (g->ldc < m1) return bad(err, "matmul: output layout");
    if (!blas_operand(M, K, va.rs, va.cs, &opa, &lda) || !blas_operand(K, N, vb.rs, vb.cs, &opb, &ldb))
      return bad(err, "matmul: operand layout");
    g->a_in = 0;
    g->b_in = 1;
    g->sa = va.bstride;
    g->sb = vb.bstride;
  } else {
    return bad(err, "matmul: output layout");
  }
  g->k = K;
  g->ta = opa;
  g->tb = opb;
  g->lda = lda;
  g->ldb = ldb;
  g->sc = batch > 1 ? ystride : 0;
  g->batch = batch;
  g->alpha = gemm ? k->p.gemm.alpha : 1.0f;
  int64_t v[] = {g->m, g->n, g->k, g->lda, g->ldb, g->ldc, g->batch};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (!fits_int(v[i])) return bad(err, "matmul: a dimension beyond cuBLAS's int range");
  /* Gemm's C: broadcast into Y first (its strides over Y's logical [M, N]) */
  const tsoC_Tensor *cc = gemm && k->nin > 2 && !(k->in[2].flags & TSOC_T_ABSENT) ? &k->in[2] : NULL;
  if (cc && k->p.gemm.beta != 0.0f) {
    if (cc->layout) return bad(err, "gemm: C layout");
    int rc = cc->shape.rank;
    int64_t cm = rc == 2 ? cc->shape.d[0] : 1, cn = rc >= 1 ? cc->shape.d[rc - 1] : 1;
    cdims[0] = y->shape.d[0];
    cdims[1] = y->shape.d[1];
    cst[0] = cm == 1 ? 0 : cn;
    cst[1] = cn == 1 ? 0 : 1;
    g->prefill = 1;
    g->beta = k->p.gemm.beta;
    /* a bias vector along the call's m (Y's columns in the swapped form) */
    g->bias_ok = g->a_in == 1 && k->p.gemm.beta == 1.0f && cm == 1 && (cn == N || N == 1) && g->batch == 1;
  }
  return TSO_OK;
}

static cublasComputeType_t blas_compute(int math) {
  switch (math) {
  case TSOC_MATH_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
  case TSOC_MATH_FP16: return CUBLAS_COMPUTE_32F_FAST_16F;
  case TSOC_MATH_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
  default: return CUBLAS_COMPUTE_32F;
  }
}

static tso_status lt_layout(cublasLtMatrixLayout_t *l, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                            int64_t stride, char *err) {
  BLAS(cublasLtMatrixLayoutCreate(l, CUDA_R_32F, (uint64_t)rows, (uint64_t)cols, ld), "cuBLASLt layout");
  if (batch > 1) {
    int32_t bc = (int32_t)batch;
    BLAS(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc), "cuBLASLt batch");
    BLAS(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
         "cuBLASLt batch stride");
  }
  return TSO_OK;
}

/* The cuBLASLt operation descriptor (bias: with the BIAS epilogue) and its
** heuristic candidates; adds the variants. */
static tso_status lt_candidates(CuCtx *c, CuOp *op, int bias, char *err) {
  const GemmGeo *g = &op->gg;
  cublasLtMatmulDesc_t *d = bias ? &op->lopb : &op->lop;
  cublasLtMatmulAlgo_t *algos = bias ? op->lalgob : op->lalgo;
  BLAS(cublasLtMatmulDescCreate(d, blas_compute(c->math), CUDA_R_32F), "cuBLASLt descriptor");
  int32_t ta = g->ta, tb = g->tb;
  BLAS(cublasLtMatmulDescSetAttribute(*d, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "cuBLASLt transa");
  BLAS(cublasLtMatmulDescSetAttribute(*d, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "cuBLASLt transb");
  if (bias) {
    uint32_t ep = CUBLASLT_EPILOGUE_BIAS;
    BLAS(cublasLtMatmulDescSetAttribute(*d, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep), "cuBLASLt epilogue");
  }
  cublasLtMatmulPreference_t pref = NULL;
  BLAS(cublasLtMatmulPreferenceCreate(&pref), "cuBLASLt preference");
  uint64_t wsmax = CU_LT_WS_MAX;
  cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsmax,
                                                          sizeof wsmax);
  cublasLtMatmulHeuristicResult_t res[CU_LT_ALGOS];
  int got = 0;
  if (s == CUBLAS_STATUS_SUCCESS)
    s = cublasLtMatmulAlgoGetHeuristic(c->lt, *d, op->la, op->lb, op->lc, op->lc, pref, CU_LT_ALGOS, res, &got);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS) return blas_fail(err, s, "cuBLASLt heuristic");
  for (int i = 0; i < got; i++) {
    if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
    Variant *v = add_var(op, V_LT);
    if (!v) break;
    v->algo = i;
    v->fused = bias;
    v->ws = res[i].workspaceSize;
    algos[i] = res[i].algo;
    char idx[16];
    snprintf(idx, sizeof idx, "%d", i);
    set_name(v, "%s:%s", bias ? "cublaslt-bias" : "cublaslt", idx);
  }
  return TSO_OK;
}

static tso_status build_gemm(CuCtx *c, CuOp *op, char *err) {
  GemmGeo *g = &op->gg;
  int64_t cdims[2], cst[2];
  tso_status st = gemm_geo(&op->k, g, cdims, cst, err);
  if (st) return st;
  if (g->prefill) {
    int64_t ys[2];
    tsoL_strides(op->k.out[0].layout, 2, op->k.out[0].shape.d, ys);
    KRef dst = {R_OUT, 0, 0}, src = {R_IN, 2, 0};
    tsoC_cuk_copy_step(&op->pre, 4, dst, src, 2, cdims, ys, cst);
  }
  op->lib = V_CUBLAS;
  Variant *v = add_var(op, V_CUBLAS);
  snprintf(v->name, sizeof v->name, "cublas");
  if (c->emu) {
    v = add_var(op, V_LT);
    snprintf(v->name, sizeof v->name, "cublaslt:emulated");
    if (g->bias_ok) {
      v = add_var(op, V_LT);
      v->fused = 1;
      snprintf(v->name, sizeof v->name, "cublaslt-bias:emulated");
    }
    return TSO_OK;
  }
  int64_t ar = g->ta == CUBLAS_OP_N ? g->m : g->k, ac = g->ta == CUBLAS_OP_N ? g->k : g->m;
  int64_t br = g->tb == CUBLAS_OP_N ? g->k : g->n, bc = g->tb == CUBLAS_OP_N ? g->n : g->k;
  if ((st = lt_layout(&op->la, ar, ac, g->lda, g->batch, g->sa, err)) ||
      (st = lt_layout(&op->lb, br, bc, g->ldb, g->batch, g->sb, err)) ||
      (st = lt_layout(&op->lc, g->m, g->n, g->ldc, g->batch, g->sc, err)))
    return st;
  char e2[TSO_ERRMAX];
  if (lt_candidates(c, op, 0, e2) == TSO_OK && g->bias_ok) lt_candidates(c, op, 1, e2); /* (cuBLAS remains) */
  return TSO_OK;
}

/* C[b] = alpha op(A[b]) op(B[b]) + beta C[b] (+ bias[i] per row), as a
** column-major strided-batched BLAS call defines it. */
static void emu_gemm(const GemmGeo *g, const float *A, const float *B, float *C, const float *bias, float beta) {
  for (int64_t b = 0; b < g->batch; b++) {
    const float *a = A + b * g->sa, *bb = B + b * g->sb;
    float *cc = C + b * g->sc;
    for (int64_t i = 0; i < g->m; i++)
      for (int64_t j = 0; j < g->n; j++) {
        double acc = 0.0;
        for (int64_t l = 0; l < g->k; l++) {
          float x = g->ta == CUBLAS_OP_N ? a[i + l * g->lda] : a[l + i * g->lda];
          float y = g->tb == CUBLAS_OP_N ? bb[l + j * g->ldb] : bb[j + l * g->ldb];
          acc += (double)x * (double)y;
        }
        float v = g->alpha * (float)acc;
        if (beta != 0.0f) v += beta * cc[i + j * g->ldc];
        if (bias) v += bias[i];
        cc[i + j * g->ldc] = v;
      }
  }
}

static tso_status run_gemm(CuCtx *c, CuOp *op, const Variant *v, const void *const *in, void *const *out, char *err) {
  const GemmGeo *g = &op->gg;
  int bias = v->kind == V_LT && v->fused;
  tso_status st;
  if (g->prefill && !bias && (st = run_plan(c, op, &op->pre, in, out, err))) return st;
  const float *A = (const float *)in[g->a_in], *B = (const float *)in[g->b_in];
  const float *bvec = bias ? (const float *)in[2] : NULL;
  float beta = bias ? 0.0f : g->beta, *C = (float *)out[0];
  if (c->emu) {
    emu_gemm(g, A, B, C, bvec, beta);
    return TSO_OK;
  }
  if (v->kind == V_CUBLAS) {
    BLAS(cublasGemmStridedBatchedEx(c->blas, (cublasOperation_t)g->ta, (cublasOperation_t)g->tb, (int)g->m, (int)g->n,
                                    (int)g->k, &g->alpha, A, CUDA_R_32F, (int)g->lda, g->sa, B, CUDA_R_32F,
                                    (int)g->ldb, g->sb, &beta, C, CUDA_R_32F, (int)g->ldc, g->sc, (int)g->batch,
                                    blas_compute(c->math), CUBLAS_GEMM_DEFAULT),
         "cuBLAS");
    return TSO_OK;
  }
  if (v->ws && (st = tsoC_cu_ws(c, v->ws, err))) return st;
  cublasLtMatmulDesc_t d = bias ? op->lopb : op->lop;
  if (bias)
    BLAS(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bvec, sizeof bvec), "cuBLASLt bias");
  const cublasLtMatmulAlgo_t *algo = bias ? &op->lalgob[v->algo] : &op->lalgo[v->algo];
  BLAS(cublasLtMatmul(c->lt, d, &g->alpha, A, op->la, B, op->lb, &beta, C, op->lc, C, op->lc, algo, c->ws, v->ws, c->s),
       "cuBLASLt");
  return TSO_OK;
}

/* ===================================================================== */
/* pooling, activations, batch normalization, softmax (cuDNN)            */
/* ===================================================================== */

static tso_status build_pool(CuCtx *c, CuOp *op, char *err) {
  const tsoC_Key *k = &op->k;
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int64_t pads[4];
  if (c->emu || k->op == TSO_OP_GLOBALAVGPOOL || x->shape.rank != 4 || k->nout != 1 || !img_layout(x->layout) ||
      !img_layout(y->layout) || x->dtype != TSO_DT_FLOAT)
    return bad(err, "no cuDNN pooling");
  tsoC_win_pads(&k->p, x->shape.d[2], x->shape.d[3], k->p.win.kh, k->p.win.kw, pads);
  if (pads[0] != pads[2] || pads[1] != pads[3] || (k->p.win.dh > 1) || (k->p.win.dw > 1))
    return bad(err, "cuDNN pooling: asymmetric pads or dilation");
  for (int a = 0; a < 2; a++) { /* floor division only (no ceil_mode extension) */
    int64_t in = x->shape.d[2 + a], kk = a ? k->p.win.kw : k->p.win.kh, s = a ? k->p.win.sw : k->p.win.sh;
    if (s < 1 || (in + 2 * pads[a] - kk) / s + 1 != y->shape.d[2 + a]) return bad(err, "cuDNN pooling: output size");
  }
  for (int i = 0; i < 4; i++)
    if (!fits_int(x->shape.d[i])) return bad(err, "cuDNN pooling: size");
  op->lib = V_POOL;
  DNN(cudnnCreateTensorDescriptor(&op->xd), "descriptor");
  DNN(cudnnCreateTensorDescriptor(&op->yd), "descriptor");
  DNN(cudnnCreatePoolingDescriptor(&op->pd), "descriptor");
  DNN(cudnnSetTensor4dDescriptor(op->xd, fmt(x->layout == TSO_LAYOUT_NHWC), CUDNN_DATA_FLOAT, (int)x->shape.d[0],
                                 (int)x->shape.d[1], (int)x->shape.d[2], (int)x->shape.d[3]),
      "input");
  DNN(cudnnSetTensor4dDescriptor(op->yd, fmt(y->layout == TSO_LAYOUT_NHWC), CUDNN_DATA_FLOAT, (int)y->shape.d[0],
                                 (int)y->shape.d[1], (int)y->shape.d[2], (int)y->shape.d[3]),
      "output");
  cudnnPoolingMode_t mode = k->op == TSO_OP_MAXPOOL          ? CUDNN_POOLING_MAX
                            : k->p.win.count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                         : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
  DNN(cudnnSetPooling2dDescriptor(op->pd, mode, CUDNN_PROPAGATE_NAN, k->p.win.kh, k->p.win.kw, (int)pads[0],
                                  (int)pads[1], k->p.win.sh, k->p.win.sw),
      "pooling");
  Variant *v = add_var(op, V_POOL);
  snprintf(v->name, sizeof v->name, "cudnn:pooling");
  return TSO_OK;
}

/* A dense tensor of n elements as cuDNN's [1, 1, 1, n]. */
static tso_status flat_desc(cudnnTensorDescriptor_t *d, int64_t n, char *err) {
  if (!fits_int(n) || n < 1) return bad(err, "cuDNN: size");
  DNN(cudnnCreateTensorDescriptor(d), "descriptor");
  DNN(cudnnSetTensor4dDescriptor(*d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, (int)n), "tensor");
  return TSO_OK;
}

static tso_status build_act(CuCtx *c, CuOp *op, char *err) {
  const tsoC_Key *k = &op->k;
  if (c->emu || k->in[0].layout != k->out[0].layout || k->in[0].dtype != TSO_DT_FLOAT)
    return bad(err, "no cuDNN activation");
  tso_status st = flat_desc(&op->xd, cu_numel(&k->in[0]), err);
  if (st) return st;
  op->lib = V_ACT;
  DNN(cudnnCreateActivationDescriptor(&op->ad), "descriptor");
  cudnnActivationMode_t m = k->op == TSO_OP_RELU      ? CUDNN_ACTIVATION_RELU
                            : k->op == TSO_OP_SIGMOID ? CUDNN_ACTIVATION_SIGMOID
                                                      : CUDNN_ACTIVATION_TANH;
  DNN(cudnnSetActivationDescriptor(op->ad, m, CUDNN_PROPAGATE_NAN, 0.0), "activation");
  Variant *v = add_var(op, V_ACT);
  snprintf(v->name, sizeof v->name, "cudnn:activation");
  return TSO_OK;
}

static tso_status build_bn(CuCtx *c, CuOp *op, char *err) {
  const tsoC_Key *k = &op->k;
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank;
  if (c->emu || r < 2 || r > 4 || x->layout != y->layout || x->dtype != TSO_DT_FLOAT)
    return bad(err, "no cuDNN batch norm");
  if ((double)k->p.norm.epsilon < CUDNN_BN_MIN_EPSILON) return bad(err, "cuDNN batch norm: epsilon");
  for (int i = 1; i < 5; i++)
    if (k->in[i].shape.rank != 1 || k->in[i].dtype != TSO_DT_FLOAT) return bad(err, "cuDNN batch norm: statistics");
  int64_t d[4] = {x->shape.d[0], x->shape.d[1], r > 2 ? x->shape.d[2] : 1, r > 3 ? x->shape.d[3] : 1};
  for (int i = 0; i < 4; i++)
    if (!fits_int(d[i])) return bad(err, "cuDNN batch norm: size");
  op->lib = V_BN;
  DNN(cudnnCreateTensorDescriptor(&op->xd), "descriptor");
  DNN(cudnnCreateTensorDescriptor(&op->bd), "descriptor");
  DNN(cudnnSetTensor4dDescriptor(op->xd, fmt(x->layout == TSO_LAYOUT_NHWC), CUDNN_DATA_FLOAT, (int)d[0], (int)d[1],
                                 (int)d[2], (int)d[3]),
      "input");
  DNN(cudnnDeriveBNTensorDescriptor(op->bd, op->xd, CUDNN_BATCHNORM_SPATIAL), "statistics");
  Variant *v = add_var(op, V_BN);
  snprintf(v->name, sizeof v->name, "cudnn:batchnorm");
  return TSO_OK;
}

static tso_status build_softmax(CuCtx *c, CuOp *op, char *err) {
  const tsoC_Key *k = &op->k;
  const tsoC_Tensor *x = &k->in[0];
  int r = x->shape.rank, ax = k->p.axis.axis < 0 ? k->p.axis.axis + r : k->p.axis.axis;
  if (c->emu || r < 1 || ax < 0 || ax >= r || x->layout || k->out[0].layout) return bad(err, "no cuDNN softmax");
  int64_t outer = 1, len = 1, inner = 1;
  for (int d = 0; d < r; d++) {
    if (d < ax) outer *= x->shape.d[d];
    else if (d == ax || k->p.axis.legacy) len *= x->shape.d[d];
    else inner *= x->shape.d[d];
  }
  if (!fits_int(outer) || !fits_int(len) || !fits_int(inner) || outer * len * inner < 1)
    return bad(err, "cuDNN softmax: size");
  op->lib = V_SOFTMAX;
  DNN(cudnnCreateTensorDescriptor(&op->xd), "descriptor");
  DNN(cudnnSetTensor4dDescriptor(op->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)outer, (int)len, (int)inner, 1),
      "input");
  Variant *v = add_var(op, V_SOFTMAX);
  snprintf(v->name, sizeof v->name, "cudnn:softmax");
  return TSO_OK;
}

/* ===================================================================== */
/* the interface                                                         */
/* ===================================================================== */

tso_status tsoC_cul_build(CuCtx *c, CuOp *op, char *err) {
  op->lib = -1;
  switch (op->k.op) {
  case TSO_OP_CONV2D: return build_conv(c, op, err);
  case TSO_OP_MATMUL: case TSO_OP_GEMM: return build_gemm(c, op, err);
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: return build_pool(c, op, err);
  case TSO_OP_RELU: case TSO_OP_SIGMOID: case TSO_OP_TANH: return build_act(c, op, err);
  case TSO_OP_BATCHNORM: return build_bn(c, op, err);
  case TSO_OP_SOFTMAX: return build_softmax(c, op, err);
  default: return bad(err, "no library implementation");
  }
}

size_t tsoC_cul_scratch(const CuOp *op) { return op->lib_scratch; }

void tsoC_cul_release(CuOp *op) {
  if (op->emu) return;
  if (op->xd) cudnnDestroyTensorDescriptor(op->xd);
  if (op->yd) cudnnDestroyTensorDescriptor(op->yd);
  if (op->bd) cudnnDestroyTensorDescriptor(op->bd);
  if (op->wd) cudnnDestroyFilterDescriptor(op->wd);
  if (op->cd) cudnnDestroyConvolutionDescriptor(op->cd);
  if (op->ad) cudnnDestroyActivationDescriptor(op->ad);
  if (op->adid) cudnnDestroyActivationDescriptor(op->adid);
  if (op->pd) cudnnDestroyPoolingDescriptor(op->pd);
  if (op->lop) cublasLtMatmulDescDestroy(op->lop);
  if (op->lopb) cublasLtMatmulDescDestroy(op->lopb);
  if (op->la) cublasLtMatrixLayoutDestroy(op->la);
  if (op->lb) cublasLtMatrixLayoutDestroy(op->lb);
  if (op->lc) cublasLtMatrixLayoutDestroy(op->lc);
}

tso_status tsoC_cul_run(CuCtx *c, CuOp *op, const Variant *v, const void *const *in, void *const *out, char *err) {
  switch (v->kind) {
  case V_CONV: return run_conv(c, op, v, in, out, err);
  case V_CUBLAS: case V_LT: return run_gemm(c, op, v, in, out, err);
  default: break;
  }
  if (c->emu) return bad(err, "not emulated");
  switch (v->kind) {
  case V_POOL:
    DNN(cudnnPoolingForward(c->dnn, op->pd, &kOne, op->xd, in[0], &kZero, op->yd, out[0]), "pooling");
    return TSO_OK;
  case V_ACT:
    DNN(cudnnActivationForward(c->dnn, op->ad, &kOne, op->xd, in[0], &kZero, op->xd, out[0]), "activation");
    return TSO_OK;
  case V_BN:
    DNN(cudnnBatchNormalizationForwardInference(c->dnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, op->xd, in[0], op->xd,
                                                out[0], op->bd, in[1], in[2], in[3], in[4],
                                                (double)op->k.p.norm.epsilon),
        "batch normalization");
    return TSO_OK;
  case V_SOFTMAX:
    DNN(cudnnSoftmaxForward(c->dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &kOne, op->xd, in[0], &kZero,
                            op->xd, out[0]),
        "softmax");
    return TSO_OK;
  default:
    return bad(err, "unknown implementation");
  }
}
