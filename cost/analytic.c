/*
** analytic.c -- the roofline backend "analytic".
**
** The time of an operator is
**     max(FLOPs / peak FLOP rate, bytes moved / memory bandwidth) + overhead
** with FLOPs and bytes counted from the key's shapes (tsoC_analytic_counts)
** and the machine constants of a tsoC_Roofline. It is deterministic: the
** same key always gives the same time, on every machine, which is what
** tests need, and it covers every operator of the table, which is what the
** measuring backends fall back on for the operators they lack.
**
** Counting rules (per output element unless said otherwise):
**   conv2d       2 x (input channels per group) x kh x kw, +1 with bias, +1 fused relu
**   matmul/gemm  2 x K (gemm: +2 with C, for alpha and beta)
**   add/sub/mul/div/smul 1; pow 10
**   relu, sqrt 1; sigmoid, tanh, erf 10 (a rational approximation)
**   max/avg pool kh x kw; global average pool, reducemean 1 per input element
**   batchnorm 2 (a folded scale and shift); layernorm 8; softmax 13
**     (max, exp counted as 10, sum, scale)
**   data movement (transpose, concat, split, pad, slice, gather, layout
**     conversions) 0 FLOPs
** Bytes: every present input and every output once, at its element size.
** Operators that move no data at run time (tsoC_key_is_free) cost 0.
**
** Default constants (tsoC_roofline_init), for one core of a current x86
** server running AVX2 FMA code, calibrated against oneDNN on a Zen 3 core
** (taso-cost measure of the benchmark models, one thread): convolutions and
** matrix products ran at a median 104 GFLOP/s (p10 84), so 96 GFLOP/s; the
** memory-bound operators at a median 50 GB/s (p10 8) -- activations mostly
** stay in the caches between operators -- so 40 GB/s; 2 us per operator,
** about what a library primitive's call costs. With them the analytic
** totals of ResNet-50, ResNeXt-50, Inception-v3 and NASNet-A were within
** 11% of the measured ones. They are in the backend's version string, so a
** changed constant is visible in every report; taso-cost --peak-gflops,
** --mem-gbs and --overhead-us override them.
*/
#include <stdlib.h>
#include <string.h>

#include "cost/cost.h"

typedef struct Analytic {
  tsoC_Backend base;
  tsoC_Roofline r;
} Analytic;

void tsoC_roofline_init(tsoC_Roofline *r) {
  r->peak_gflops = 96.0;
  r->mem_gbs = 40.0;
  r->overhead_us = 2.0;
}

static double numel(const tsoC_Tensor *t) {
  if (t->flags & TSOC_T_ABSENT) return 0.0;
  double n = 1.0;
  for (int i = 0; i < t->shape.rank; i++) n *= (double)t->shape.d[i];
  return n;
}

static double nbytes(const tsoC_Tensor *t) {
  return numel(t) * (double)tsoO_dtype_size(t->dtype);
}

void tsoC_analytic_counts(const tsoC_Key *k, double *flops, double *bytes) {
  double f = 0.0, b = 0.0;
  *flops = *bytes = 0.0;
  if (tsoC_key_is_free(k)) return;
  for (int i = 0; i < k->nin; i++) b += nbytes(&k->in[i]);
  for (int j = 0; j < k->nout; j++) b += nbytes(&k->out[j]);
  double out = k->nout > 0 ? numel(&k->out[0]) : 0.0;
  const tsoC_Tensor *in = k->in;
  switch (k->op) {
  case TSO_OP_CONV2D:
    if (k->nin >= 2 && in[1].shape.rank == 4) {
      double taps = (double)in[1].shape.d[1] * (double)in[1].shape.d[2] * (double)in[1].shape.d[3];
      f = out * 2.0 * taps;
      if (k->nin > 2 && !(in[2].flags & TSOC_T_ABSENT)) f += out;
      if (k->p.win.act == TSO_ACT_RELU) f += out;
    }
    break;
  case TSO_OP_MATMUL: {
    int r = in[0].shape.rank;
    double kk = r >= 1 ? (double)in[0].shape.d[r - 1] : 1.0;
    f = out * 2.0 * kk;
    break;
  }
  case TSO_OP_GEMM: {
    double kk = (double)in[0].shape.d[k->p.gemm.trans_a ? 0 : 1];
    f = out * 2.0 * kk;
    if (k->nin > 2 && !(in[2].flags & TSOC_T_ABSENT)) f += 2.0 * out;
    break;
  }
  case TSO_OP_ADD: case TSO_OP_SUB: case TSO_OP_MUL: case TSO_OP_DIV: case TSO_OP_SCALAR_MUL:
  case TSO_OP_RELU: case TSO_OP_SQRT:
    f = out;
    break;
  case TSO_OP_POW: case TSO_OP_SIGMOID: case TSO_OP_TANH: case TSO_OP_ERF:
    f = 10.0 * out;
    break;
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL:
    f = out * (double)k->p.win.kh * (double)k->p.win.kw;
    break;
  case TSO_OP_GLOBALAVGPOOL: case TSO_OP_REDUCEMEAN:
    f = numel(&in[0]);
    break;
  case TSO_OP_BATCHNORM:
    f = 2.0 * out;
    break;
  case TSO_OP_LAYERNORM:
    f = 8.0 * numel(&in[0]);
    break;
  case TSO_OP_SOFTMAX:
    f = 13.0 * out;
    break;
  default:
    break;
  }
  *flops = f;
  *bytes = b;
}

static int an_supports(tsoC_Backend *be, const tsoC_Key *k, char *why) {
  (void)be;
  if (k->op == TSO_OP_OPAQUE || !tsoO_info(k->op)) {
    tsoO_fail(why, TSO_ERR_UNSUPPORTED, "opaque operator");
    return 0;
  }
  return 1;
}

static tso_status an_estimate(tsoC_Backend *be, const tsoC_Key *k, double *ms, char *err) {
  const Analytic *a = (const Analytic *)be;
  (void)err;
  double f, b;
  if (tsoC_key_is_free(k)) {
    *ms = 0.0;
    return TSO_OK;
  }
  tsoC_analytic_counts(k, &f, &b);
  double tf = a->r.peak_gflops > 0.0 ? f / (a->r.peak_gflops * 1e9) : 0.0;
  double tb = a->r.mem_gbs > 0.0 ? b / (a->r.mem_gbs * 1e9) : 0.0;
  *ms = (tf > tb ? tf : tb) * 1e3 + a->r.overhead_us * 1e-3;
  return TSO_OK;
}

static void an_destroy(tsoC_Backend *be) { free(be); }

static const tsoC_BackendVt analytic_vt = {
  "analytic", an_supports, an_estimate, NULL, NULL, NULL, NULL, an_destroy,
};

tsoC_Backend *tsoC_analytic_create(const tsoC_Roofline *r) {
  Analytic *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->base.vt = &analytic_vt;
  if (r) a->r = *r;
  else tsoC_roofline_init(&a->r);
  tsoC_measure_opts_init(&a->base.mo);
  tsoC_cpu_device(a->base.device, sizeof a->base.device);
  snprintf(a->base.version, sizeof a->base.version, "roofline %g GFLOP/s, %g GB/s, %g us per op",
           a->r.peak_gflops, a->r.mem_gbs, a->r.overhead_us);
  return &a->base;
}
