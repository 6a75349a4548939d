/*
** cuda.cu -- the backend "cuda": operators timed on an NVIDIA GPU (built
** only when the CUDA toolkit, cuDNN and cuBLAS are found; TASO_HAVE_CUDA).
**
** An operator instance (a key) becomes a CuOp holding every implementation
** this build has for it (cuda_impl.h): the project's own kernels
** (cuda_kern.cu) and the library calls (cuda_lib.cu). Which one runs is
** decided by timing: the candidates (for a convolution, the variants of
** the three fastest algorithms cudnnFindConvolutionForwardAlgorithmEx
** reports) each run once to warm up and to prove they work, then
** CHOICE_RUNS times between two CUDA events; the fastest wins. The choice
** is remembered per signature for the backend's lifetime, so that the
** measurement stored in the cost database, a later tsoC_backend_run and
** the executor (cuda_exec.cu) all use the same implementation;
** tsoC_cuda_choice names it, tsoC_cuda_impls lists the alternatives, and
** tsoC_cuda_run_impl runs any of them (tests check that all agree).
**
** Timing: the measurement driver of measure.c does warm-up, batching,
** repeats and the estimate; a sample here is `reps` executions enqueued
** back to back on the backend's stream between two CUDA events, the time
** the GPU took (cudaEventElapsedTime), so the CPU clock and the CPU's
** scheduling do not enter it. Launch overhead does, when the operator is
** shorter than a launch: that is what an executor pays too.
**
** Buffers are filled once with pseudo-random data on the device (floats in
** [-1, 1), positive where the operator needs it, valid Gather indices).
**
** Device and version strings: the device string names the GPU, its compute
** capability, SM count and memory, the driver and runtime versions and
** the cuDNN and cuBLAS versions; the version string repeats the library
** versions and adds the math mode and the method, so the cost database,
** keyed by (device, backend, version), never mixes GPUs, drivers,
** libraries or math modes.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/cuda_impl.h"

#define METHOD_VERSION 1 /* bump when what is timed changes */
#define CHOICE_RUNS 5    /* timed runs of each candidate when choosing */

typedef struct CuChoice {
  uint64_t hash;                /* signature hash */
  char name[TSOC_IMPL_MAX];     /* the chosen implementation */
} CuChoice;

typedef struct CudaBackend {
  tsoC_Backend base;
  CuCtx c;
} CudaBackend;

struct tsoC_Prepared {
  CuOp *op;
  void *in[TSOC_MAX_IN];
  void *out[TSOC_MAX_OUT];
};

/* ---- errors, context ------------------------------------------------------------- */

tso_status tsoC_cu_fail(char *err, cudaError_t e, const char *what) {
  tso_status st = e == cudaErrorMemoryAllocation ? TSO_ERR_NOMEM : TSO_ERR_INVALID;
  return tsoO_fail(err, st, "CUDA %s: %s", what, cudaGetErrorString(e));
}

#define CU(call, what)                                 \
  do {                                                 \
    cudaError_t e_ = (call);                           \
    if (e_ != cudaSuccess) return tsoC_cu_fail(err, e_, what); \
  } while (0)

tso_status tsoC_cu_ws(CuCtx *c, size_t n, char *err) {
  if (n <= c->ws_cap) return TSO_OK;
  if (c->emu) return TSO_OK;
  CU(cudaStreamSynchronize(c->s), "synchronize");
  if (c->ws) cudaFree(c->ws);
  c->ws = NULL;
  c->ws_cap = 0;
  size_t cap = (n + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
  CU(cudaMalloc(&c->ws, cap), "workspace");
  c->ws_cap = cap;
  return TSO_OK;
}

static const char *choice_get(const CuCtx *c, uint64_t h) {
  for (size_t i = 0; i < c->nchoice; i++)
    if (c->choice[i].hash == h) return c->choice[i].name;
  return NULL;
}

static void choice_put(CuCtx *c, uint64_t h, const char *name) {
  for (size_t i = 0; i < c->nchoice; i++)
    if (c->choice[i].hash == h) {
      snprintf(c->choice[i].name, sizeof c->choice[i].name, "%s", name);
      return;
    }
  if (c->nchoice == c->capchoice) {
    size_t cap = c->capchoice ? 2 * c->capchoice : 64;
    CuChoice *p = (CuChoice *)realloc(c->choice, cap * sizeof *p);
    if (!p) return; /* (not remembered: chosen again next time) */
    c->choice = p;
    c->capchoice = cap;
  }
  c->choice[c->nchoice].hash = h;
  snprintf(c->choice[c->nchoice].name, sizeof c->choice[c->nchoice].name, "%s", name);
  c->nchoice++;
}

static void ctx_free(CuCtx *c);

void tsoC_cu_ctx_free(CuCtx *c) {
  if (!c) return;
  ctx_free(c);
  free(c);
}

CuCtx *tsoC_cu_ctx_emu(void) {
  CuCtx *c = (CuCtx *)calloc(1, sizeof *c);
  if (c) c->emu = 1;
  return c;
}

static void ctx_free(CuCtx *c) {
  if (!c->emu) {
    if (c->ws) cudaFree(c->ws);
    if (c->e0) cudaEventDestroy(c->e0);
    if (c->e1) cudaEventDestroy(c->e1);
    if (c->lt) cublasLtDestroy(c->lt);
    if (c->blas) cublasDestroy(c->blas);
    if (c->dnn) cudnnDestroy(c->dnn);
    if (c->s) cudaStreamDestroy(c->s);
  }
  free(c->choice);
  memset(c, 0, sizeof *c);
}

/* ---- operators -------------------------------------------------------------------- */

static int64_t key_hash(const tsoC_Key *k) {
  tsoC_Sig *s = (tsoC_Sig *)malloc(sizeof *s);
  int64_t h = 0;
  if (s && tsoC_key_sig(k, s) == TSO_OK) h = (int64_t)s->hash;
  free(s);
  return h;
}

/* Builds op for k; scratch allocated when alloc. */
static tso_status cuop_build(CuCtx *c, const tsoC_Key *k, CuOp **out, int alloc, char *err) {
  *out = NULL;
  const tsoO_Info *oi = tsoO_info(k->op);
  if (!oi || k->op == TSO_OP_OPAQUE) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "opaque operator");
  if (k->nout < 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "no outputs");
  for (int i = 0; i < k->nin; i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT) && cu_numel(&k->in[i]) == 0)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "an empty tensor");
  for (int j = 0; j < k->nout; j++)
    if (cu_numel(&k->out[j]) == 0) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "an empty tensor");
  CuOp *op = (CuOp *)calloc(1, sizeof *op);
  if (!op) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  op->k = *k;
  op->emu = c->emu;
  op->chosen = -1;
  char ek[TSO_ERRMAX] = "", el[TSO_ERRMAX] = "";
  tso_status sl = tsoC_cul_build(c, op, el);
  if (tsoC_cuk_plan(k, &op->kp, ek) == TSO_OK && op->nvar < TSOC_IMPLS_MAX) {
    op->has_kernel = 1;
    Variant *v = &op->var[op->nvar++];
    memset(v, 0, sizeof *v);
    v->kind = V_KERNEL;
    snprintf(v->name, sizeof v->name, "kernel");
  }
  if (op->nvar == 0) {
    tso_status st = sl == TSO_ERR_NOMEM ? TSO_ERR_NOMEM : TSO_ERR_UNSUPPORTED;
    /* the library's reason, unless it only says it has nothing for this operator */
    tsoO_fail(err, st, "%s: %s", oi->name, strncmp(el, "no ", 3) && el[0] ? el : ek);
    tsoC_cul_release(op);
    free(op);
    return st;
  }
  size_t sb = op->has_kernel ? op->kp.scratch : 0, lb = tsoC_cul_scratch(op);
  op->scratch_bytes = sb > lb ? sb : lb;
  if (alloc && op->scratch_bytes) {
    if (c->emu) {
      op->scratch = calloc(1, op->scratch_bytes);
      if (!op->scratch) {
        tsoC_cuop_free(op);
        return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      }
    } else {
      cudaError_t e = cudaMalloc(&op->scratch, op->scratch_bytes);
      if (e != cudaSuccess) op->scratch = NULL;
      else e = cudaMemsetAsync(op->scratch, 0, op->scratch_bytes, c->s);
      if (e != cudaSuccess) {
        tsoC_cuop_free(op);
        return tsoC_cu_fail(err, e, "scratch");
      }
    }
  }
  *out = op;
  return TSO_OK;
}

tso_status tsoC_cuop_create(CuCtx *c, const tsoC_Key *k, CuOp **out, char *err) {
  return cuop_build(c, k, out, 1, err);
}

void tsoC_cuop_free(CuOp *op) {
  if (!op) return;
  tsoC_cul_release(op);
  if (op->scratch) {
    if (op->emu) free(op->scratch);
    else cudaFree(op->scratch);
  }
  free(op);
}

static int find_var(const CuOp *op, const char *name) {
  for (int i = 0; i < op->nvar; i++)
    if (!strcmp(op->var[i].name, name)) return i;
  return -1;
}

tso_status tsoC_cuop_run(CuCtx *c, CuOp *op, int v, const void *const *in, void *const *out, char *err) {
  if (v < 0 || v >= op->nvar) return tsoO_fail(err, TSO_ERR_ARG, "no implementation %d", v);
  const Variant *var = &op->var[v];
  if (var->kind != V_KERNEL) return tsoC_cul_run(c, op, var, in, out, err);
  for (int i = 0; i < op->kp.n; i++) {
    const KStep *s = &op->kp.s[i];
    void *p[CU_NREF];
    for (int j = 0; j < CU_NREF; j++) {
      const KRef *r = &s->r[j];
      char *base = r->kind == R_IN ? (char *)(uintptr_t)in[r->idx]
                   : r->kind == R_OUT ? (char *)out[r->idx]
                   : r->kind == R_SCR ? (char *)op->scratch
                                      : NULL;
      int es = s->kind == KS_GATHER && j == 2 ? 0 : s->esize;
      p[j] = base ? base + r->off * es : NULL;
    }
    if (c->emu) {
      tsoC_cuk_emulate(s, p);
    } else {
      cudaError_t e = tsoC_cuk_launch(s, p, c->s);
      if (e != cudaSuccess) return tsoC_cu_fail(err, e, "kernel launch");
    }
  }
  return TSO_OK;
}

/* Runs variant v once (checked), then CHOICE_RUNS times timed; *ms per run. */
static tso_status time_variant(CuCtx *c, CuOp *op, int v, const void *const *in, void *const *out, double *ms,
                               char *err) {
  tso_status st = tsoC_cuop_run(c, op, v, in, out, err);
  if (st) return st;
  CU(cudaStreamSynchronize(c->s), "synchronize");
  CU(cudaEventRecord(c->e0, c->s), "event");
  for (int i = 0; i < CHOICE_RUNS && !st; i++) st = tsoC_cuop_run(c, op, v, in, out, err);
  CU(cudaEventRecord(c->e1, c->s), "event");
  CU(cudaEventSynchronize(c->e1), "synchronize");
  if (st) return st;
  float t = 0.0f;
  CU(cudaEventElapsedTime(&t, c->e0, c->e1), "event time");
  *ms = (double)t / CHOICE_RUNS;
  return TSO_OK;
}

tso_status tsoC_cuop_choose(CuCtx *c, CuOp *op, const void *const *in, void *const *out, char *err) {
  if (op->chosen >= 0) return TSO_OK;
  uint64_t h = (uint64_t)key_hash(&op->k);
  const char *known = choice_get(c, h);
  if (known && (op->chosen = find_var(op, known)) >= 0) return TSO_OK;
  if (op->nvar == 1 || c->emu) {
    op->chosen = 0;
    return TSO_OK;
  }
  int keep[TSOC_IMPLS_MAX];
  char e2[TSO_ERRMAX];
  if (tsoC_cul_conv_search(c, op, in, out, keep, e2) != TSO_OK)
    for (int i = 0; i < op->nvar; i++) keep[i] = 1; /* no search: time them all */
  double best = INFINITY;
  tso_status last = TSO_ERR_UNSUPPORTED;
  snprintf(e2, sizeof e2, "no implementation ran");
  for (int i = 0; i < op->nvar; i++) {
    double ms = INFINITY;
    if (!keep[i]) continue;
    tso_status st = time_variant(c, op, i, in, out, &ms, e2);
    if (st) {
      last = st;
      if (st != TSO_ERR_UNSUPPORTED) break; /* a failure of the device, not a refusal */
      continue;
    }
    if (ms < best) {
      best = ms;
      op->chosen = i;
    }
  }
  if (op->chosen < 0) return tsoO_fail(err, last, "%s", e2);
  choice_put(c, h, op->var[op->chosen].name);
  return TSO_OK;
}

/* ---- device buffers of a key ---------------------------------------------------- */

static void free_buffers(CuCtx *c, void **in, int nin, void **out, int nout) {
  for (int i = 0; i < nin; i++)
    if (in[i]) c->emu ? free(in[i]) : (void)cudaFree(in[i]);
  for (int j = 0; j < nout; j++)
    if (out[j]) c->emu ? free(out[j]) : (void)cudaFree(out[j]);
}

/* Allocates k's inputs and outputs on the device; fills the inputs with
** random data (fill) or copies them from host[] (host != NULL). */
static tso_status key_buffers(CuCtx *c, const tsoC_Key *k, void **in, void **out, int fill, const void *const *host,
                              char *err) {
  memset(in, 0, TSOC_MAX_IN * sizeof *in);
  memset(out, 0, TSOC_MAX_OUT * sizeof *out);
  uint64_t seed = 0x7A50C057u ^ (uint64_t)key_hash(k);
  for (int i = 0; i < k->nin; i++) {
    const tsoC_Tensor *t = &k->in[i];
    size_t nb = cu_bytes(t);
    if (!nb) continue;
    cudaError_t e = cudaMalloc(&in[i], nb);
    if (e != cudaSuccess) {
      in[i] = NULL;
      free_buffers(c, in, k->nin, out, k->nout);
      return tsoC_cu_fail(err, e, "input buffer");
    }
    if (host) {
      if (!host[i]) {
        free_buffers(c, in, k->nin, out, k->nout);
        return tsoO_fail(err, TSO_ERR_ARG, "input %d: no buffer", i);
      }
      e = cudaMemcpyAsync(in[i], host[i], nb, cudaMemcpyHostToDevice, c->s);
      if (e == cudaSuccess) e = cudaStreamSynchronize(c->s);
    } else if (fill) {
      int positive = (k->op == TSO_OP_SQRT && i == 0) || (k->op == TSO_OP_DIV && i == 1) ||
                     (k->op == TSO_OP_POW && i == 0) || (k->op == TSO_OP_BATCHNORM && i == 4);
      int64_t range = k->op == TSO_OP_GATHER && i == 1 ? k->in[0].shape.d[k->p.axis.axis < 0
                                                                              ? k->p.axis.axis + k->in[0].shape.rank
                                                                              : k->p.axis.axis]
                                                       : 0;
      e = tsoC_cuk_fill(in[i], cu_numel(t), t->dtype, positive, range, seed + (uint64_t)i, c->s);
    }
    if (e != cudaSuccess) {
      free_buffers(c, in, k->nin, out, k->nout);
      return tsoC_cu_fail(err, e, "input data");
    }
  }
  for (int j = 0; j < k->nout; j++) {
    cudaError_t e = cudaMalloc(&out[j], cu_bytes(&k->out[j]) ? cu_bytes(&k->out[j]) : 1);
    if (e != cudaSuccess) {
      out[j] = NULL;
      free_buffers(c, in, k->nin, out, k->nout);
      return tsoC_cu_fail(err, e, "output buffer");
    }
  }
  return TSO_OK;
}

/* ---- the backend functions ---------------------------------------------------------- */

static int cu_supports(tsoC_Backend *be, const tsoC_Key *k, char *why) {
  CuCtx *c = &((CudaBackend *)be)->c;
  CuOp *op = NULL;
  tso_status st = cuop_build(c, k, &op, 0, why);
  tsoC_cuop_free(op);
  return st == TSO_OK;
}

static void cu_release(tsoC_Backend *be, tsoC_Prepared *pp) {
  CuCtx *c = &((CudaBackend *)be)->c;
  if (!pp) return;
  cudaStreamSynchronize(c->s);
  if (pp->op) free_buffers(c, pp->in, pp->op->k.nin, pp->out, pp->op->k.nout);
  tsoC_cuop_free(pp->op);
  free(pp);
}

static tso_status cu_prepare(tsoC_Backend *be, const tsoC_Key *k, tsoC_Prepared **out, char *err) {
  CuCtx *c = &((CudaBackend *)be)->c;
  *out = NULL;
  tsoC_Prepared *pp = (tsoC_Prepared *)calloc(1, sizeof *pp);
  if (!pp) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  tso_status st = tsoC_cuop_create(c, k, &pp->op, err);
  if (!st) st = key_buffers(c, k, pp->in, pp->out, 1, NULL, err);
  if (st) {
    tsoC_cuop_free(pp->op);
    free(pp);
    return st;
  }
  st = tsoC_cuop_choose(c, pp->op, (const void *const *)pp->in, pp->out, err);
  if (!st && cudaStreamSynchronize(c->s) != cudaSuccess) st = tsoO_fail(err, TSO_ERR_INVALID, "CUDA: synchronize");
  if (st) {
    cu_release(be, pp);
    return st;
  }
  *out = pp;
  return TSO_OK;
}

static tso_status cu_sample(tsoC_Backend *be, tsoC_Prepared *pp, int reps, double *seconds, char *err) {
  CuCtx *c = &((CudaBackend *)be)->c;
  tso_status st = TSO_OK;
  *seconds = 0.0;
  CU(cudaEventRecord(c->e0, c->s), "event");
  for (int i = 0; i < reps && !st; i++)
    st = tsoC_cuop_run(c, pp->op, pp->op->chosen, (const void *const *)pp->in, pp->out, err);
  CU(cudaEventRecord(c->e1, c->s), "event");
  CU(cudaEventSynchronize(c->e1), "synchronize");
  if (st) return st;
  float ms = 0.0f;
  CU(cudaEventElapsedTime(&ms, c->e0, c->e1), "event time");
  *seconds = (double)ms * 1e-3;
  return TSO_OK;
}

/* Runs variant `impl` (NULL: the chosen one) of k on host buffers. */
static tso_status run_host(CuCtx *c, const tsoC_Key *k, const char *impl, const void *const *in, void *const *out,
                           char *err) {
  CuOp *op = NULL;
  void *din[TSOC_MAX_IN], *dout[TSOC_MAX_OUT];
  tso_status st = tsoC_cuop_create(c, k, &op, err);
  if (st) return st;
  if ((st = key_buffers(c, k, din, dout, 0, in, err))) {
    tsoC_cuop_free(op);
    return st;
  }
  if (impl) {
    op->chosen = find_var(op, impl);
    if (op->chosen < 0) st = tsoO_fail(err, TSO_ERR_ARG, "no implementation '%s' for this operator", impl);
  } else {
    st = tsoC_cuop_choose(c, op, (const void *const *)din, dout, err);
  }
  if (!st) st = tsoC_cuop_run(c, op, op->chosen, (const void *const *)din, dout, err);
  if (!st) {
    cudaError_t e = cudaStreamSynchronize(c->s);
    if (e != cudaSuccess) st = tsoC_cu_fail(err, e, "execution");
  }
  for (int j = 0; !st && j < k->nout; j++) {
    if (!out[j]) {
      st = tsoO_fail(err, TSO_ERR_ARG, "output %d: no buffer", j);
      break;
    }
    cudaError_t e = cudaMemcpyAsync(out[j], dout[j], cu_bytes(&k->out[j]), cudaMemcpyDeviceToHost, c->s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(c->s);
    if (e != cudaSuccess) st = tsoC_cu_fail(err, e, "copy back");
  }
  free_buffers(c, din, k->nin, dout, k->nout);
  tsoC_cuop_free(op);
  return st;
}

static tso_status cu_run(tsoC_Backend *be, const tsoC_Key *k, const void *const *in, void *const *out, char *err) {
  return run_host(&((CudaBackend *)be)->c, k, NULL, in, out, err);
}

static void cu_destroy(tsoC_Backend *be) {
  CudaBackend *b = (CudaBackend *)be;
  if (!b) return;
  ctx_free(&b->c);
  free(b);
}

static const tsoC_BackendVt cuda_vt = {
  "cuda", cu_supports, NULL, cu_prepare, cu_sample, cu_release, cu_run, cu_destroy,
};

CuCtx *tsoC_cu_ctx(tsoC_Backend *be, char *err) {
  if (!be || be->vt != &cuda_vt) {
    tsoO_fail(err, TSO_ERR_ARG, "not a cuda backend");
    return NULL;
  }
  return &((CudaBackend *)be)->c;
}

/* ---- creation -------------------------------------------------------------------------- */

int tsoC_have_cuda(void) { return 1; }

int tsoC_cuda_probe(char *msg, size_t n) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count < 1) {
    if (msg && n)
      snprintf(msg, n, "no CUDA GPU found (cudaGetDeviceCount: %s)",
               e != cudaSuccess ? cudaGetErrorString(e) : "no device");
    return 0;
  }
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
    if (msg && n) snprintf(msg, n, "no CUDA GPU found (cudaGetDeviceProperties failed)");
    return 0;
  }
  if (msg && n) snprintf(msg, n, "%s", p.name);
  return 1;
}

/* "13.0" from CUDA's 1000 * major + 10 * minor. */
static void cuda_ver(char *buf, size_t n, int v) { snprintf(buf, n, "%d.%d", v / 1000, (v % 1000) / 10); }

/* "9.19.0" from major * 10000 + minor * 100 + patch (cuDNN 9, cuBLAS). */
static void lib_ver(char *buf, size_t n, size_t v) {
  snprintf(buf, n, "%d.%d.%d", (int)(v / 10000), (int)(v / 100 % 100), (int)(v % 100));
}

static tso_status ctx_init(CuCtx *c, int math, char *err) {
  memset(c, 0, sizeof *c);
  c->math = math;
  CU(cudaSetDevice(0), "device");
  /* a blocking stream: plain cudaMemcpy and cudaMemset (legacy default stream) stay ordered with it */
  CU(cudaStreamCreateWithFlags(&c->s, cudaStreamDefault), "stream");
  CU(cudaEventCreate(&c->e0), "event");
  CU(cudaEventCreate(&c->e1), "event");
  cudnnStatus_t ds = cudnnCreate(&c->dnn);
  if (ds != CUDNN_STATUS_SUCCESS) {
    c->dnn = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "cuDNN: %s", cudnnGetErrorString(ds));
  }
  if (cudnnSetStream(c->dnn, c->s) != CUDNN_STATUS_SUCCESS)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "cuDNN: stream");
  cublasStatus_t bs = cublasCreate(&c->blas);
  if (bs != CUBLAS_STATUS_SUCCESS) {
    c->blas = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "cuBLAS: %s", cublasGetStatusString(bs));
  }
  if (cublasSetStream(c->blas, c->s) != CUBLAS_STATUS_SUCCESS)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "cuBLAS: stream");
  bs = cublasLtCreate(&c->lt);
  if (bs != CUBLAS_STATUS_SUCCESS) {
    c->lt = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "cuBLASLt: %s", cublasGetStatusString(bs));
  }
  return TSO_OK;
}

tsoC_Backend *tsoC_cuda_create(const tsoC_MeasureOpts *mo, char *err) {
  char why[TSO_ERRMAX];
  if (!tsoC_cuda_probe(why, sizeof why)) {
    tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", why);
    return NULL;
  }
  CudaBackend *b = (CudaBackend *)calloc(1, sizeof *b);
  if (!b) {
    tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    return NULL;
  }
  b->base.vt = &cuda_vt;
  if (mo) b->base.mo = *mo;
  else tsoC_measure_opts_init(&b->base.mo);
  int math = b->base.mo.gpu_math;
  if (math < TSOC_MATH_FP32 || math > TSOC_MATH_BF16) {
    free(b);
    tsoO_fail(err, TSO_ERR_ARG, "unknown GPU math mode %d", math);
    return NULL;
  }
  if (ctx_init(&b->c, math, err) != TSO_OK) {
    cu_destroy(&b->base);
    return NULL;
  }
  cudaDeviceProp p;
  int drv = 0, rt = 0, bv = 0;
  char sdrv[16], srt[16], sdnn[24], sblas[24], slt[24];
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) memset(&p, 0, sizeof p);
  cudaDriverGetVersion(&drv);
  cudaRuntimeGetVersion(&rt);
  cublasGetVersion(b->c.blas, &bv);
  cuda_ver(sdrv, sizeof sdrv, drv);
  cuda_ver(srt, sizeof srt, rt);
  lib_ver(sdnn, sizeof sdnn, cudnnGetVersion());
  lib_ver(sblas, sizeof sblas, (size_t)bv);
  lib_ver(slt, sizeof slt, cublasLtGetVersion());
  snprintf(b->base.device, sizeof b->base.device,
           "%.96s (sm_%d%d, %d SMs, %.0f GiB), driver %s, CUDA runtime %s, cuDNN %s, cuBLAS %s", p.name, p.major,
           p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / 1073741824.0, sdrv, srt, sdnn, sblas);
  snprintf(b->base.version, sizeof b->base.version,
           "CUDA runtime %s; cuDNN %s; cuBLAS %s; cuBLASLt %s; math %s; clock cuda-events; method %d", srt, sdnn,
           sblas, slt, tsoC_math_name(math), METHOD_VERSION);
  return &b->base;
}

/* ---- the extras of cuda.h ------------------------------------------------------------- */

tso_status tsoC_cuda_impls(tsoC_Backend *be, const tsoC_Key *k, char names[][TSOC_IMPL_MAX], int *n, char *err) {
  *n = 0;
  CuCtx *c = tsoC_cu_ctx(be, err);
  if (!c) return TSO_ERR_ARG;
  CuOp *op = NULL;
  tso_status st = cuop_build(c, k, &op, 0, err);
  if (st) return st;
  for (int i = 0; i < op->nvar; i++)
    if (names) snprintf(names[i], TSOC_IMPL_MAX, "%s", op->var[i].name);
  *n = op->nvar;
  tsoC_cuop_free(op);
  return TSO_OK;
}

tso_status tsoC_cuda_choice(tsoC_Backend *be, const tsoC_Key *k, char *buf, size_t n, char *err) {
  CuCtx *c = tsoC_cu_ctx(be, err);
  if (!c) return TSO_ERR_ARG;
  const char *known = choice_get(c, (uint64_t)key_hash(k));
  if (!known) {
    tsoC_Prepared *pp = NULL;
    tso_status st = cu_prepare(be, k, &pp, err);
    if (st) return st;
    snprintf(buf, n, "%s", pp->op->var[pp->op->chosen].name);
    cu_release(be, pp);
    return TSO_OK;
  }
  snprintf(buf, n, "%s", known);
  return TSO_OK;
}

tso_status tsoC_cuda_run_impl(tsoC_Backend *be, const tsoC_Key *k, const char *impl, const void *const *in,
                              void *const *out, char *err) {
  CuCtx *c = tsoC_cu_ctx(be, err);
  if (!c) return TSO_ERR_ARG;
  if (!impl) return tsoO_fail(err, TSO_ERR_ARG, "no implementation named");
  return run_host(c, k, impl, in, out, err);
}

/* Runs variant v of op on host buffers (outputs allocated by the caller). */
static tso_status emu_run(CuCtx *c, CuOp *op, int v, const void *const *in, void *const *out, char *err) {
  if (op->scratch_bytes) memset(op->scratch, 0, op->scratch_bytes);
  return tsoC_cuop_run(c, op, v, in, out, err);
}

tso_status tsoC_cuda_emulate(const tsoC_Key *k, const char *impl, const void *const *in, void *const *out,
                             char *err) {
  CuCtx c;
  memset(&c, 0, sizeof c);
  c.emu = 1;
  CuOp *op = NULL;
  tso_status st = cuop_build(&c, k, &op, 1, err);
  if (st) return st;
  for (int i = 0; i < k->nin; i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT) && !in[i]) st = tsoO_fail(err, TSO_ERR_ARG, "input %d: no buffer", i);
  for (int j = 0; j < k->nout; j++)
    if (!out[j]) st = tsoO_fail(err, TSO_ERR_ARG, "output %d: no buffer", j);
  if (!st && impl) {
    int v = find_var(op, impl);
    st = v < 0 ? tsoO_fail(err, TSO_ERR_ARG, "no implementation '%s' for this operator", impl)
               : emu_run(&c, op, v, in, out, err);
  } else if (!st) {
    /* every implementation; each must agree with the first */
    void *alt[TSOC_MAX_OUT] = {0};
    st = emu_run(&c, op, 0, in, out, err);
    for (int j = 0; !st && j < k->nout; j++)
      if (!(alt[j] = malloc(cu_bytes(&k->out[j]) ? cu_bytes(&k->out[j]) : 1)))
        st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    for (int v = 1; !st && v < op->nvar; v++) {
      if ((st = emu_run(&c, op, v, in, alt, err))) break;
      for (int j = 0; !st && j < k->nout; j++) {
        int64_t n = cu_numel(&k->out[j]);
        if (k->out[j].dtype != TSO_DT_FLOAT) {
          if (memcmp(out[j], alt[j], cu_bytes(&k->out[j])))
            st = tsoO_fail(err, TSO_ERR_MISMATCH, "%s and %s differ", op->var[0].name, op->var[v].name);
          continue;
        }
        const float *a = (const float *)out[j], *b = (const float *)alt[j];
        for (int64_t i = 0; i < n && !st; i++)
          if (!(fabsf(a[i] - b[i]) <= 1e-5f * fmaxf(1.0f, fabsf(a[i]))) && !(a[i] != a[i] && b[i] != b[i]))
            st = tsoO_fail(err, TSO_ERR_MISMATCH, "%s and %s differ at output %d element %lld: %g vs %g",
                           op->var[0].name, op->var[v].name, j, (long long)i, (double)a[i], (double)b[i]);
      }
    }
    for (int j = 0; j < TSOC_MAX_OUT; j++) free(alt[j]);
  }
  tsoC_cuop_free(op);
  ctx_free(&c);
  return st;
}
