/*
** cuda_exec.cu -- the GPU executor: runs a whole graph with the cuda
** backend's implementations, for end-to-end latency and for checking the
** backend against the reference evaluator (graph/eval.c).
**
** Plan, made once at creation:
**   - nodes in topological order (tsoI_topo); each live node is
**       const  its outputs are known before run time (initializers,
**              Constant, folded shape arithmetic): nothing runs;
**       alias  it moves no data (tsoC_key_is_free: reshapes, squeezes,
**              inference Dropout, same-layout Identity): its output is its
**              input's memory;
**       gpu    a CuOp of the backend, with the backend's remembered choice
**              of implementation (or one chosen now, by timing, on
**              buffers filled with random data);
**       host   anything else (Slice, Pad with pads as an input, integer
**              arithmetic, ...): the reference kernel on the host, its
**              inputs copied down and its outputs copied up; counted and
**              named in the statistics, since it costs transfers;
**   - memory: constants and graph inputs get their own allocations, made
**     once; every other tensor gets a place in a set of buffers planned by
**     liveness: a tensor's storage (shared with its aliases) is taken from
**     the free buffers (best fit, else the largest grows, else a new one)
**     before its producer runs and returned after its last reader ran;
**     graph outputs are never reused. The buffers are allocated once.
** A run enqueues every node on the backend's stream; host nodes wait for
** the stream. Timing is by CUDA events around one whole run.
**
** The graph must outlive the executor and must not change.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/cuda_impl.h"

enum { XN_SKIP, XN_CONST, XN_ALIAS, XN_GPU, XN_HOST };

typedef struct XNode {
  int32_t id;            /* graph node */
  int kind;              /* XN_* */
  CuOp *op;              /* XN_GPU */
  void **hbuf;           /* XN_HOST: host buffers, inputs then outputs */
} XNode;

struct tsoC_CudaExec {
  CuCtx *c;
  int own_ctx;           /* c is the executor's (emulation) */
  tsoI_Graph *g;
  XNode *nodes;          /* live nodes in order */
  int32_t nnodes;
  int32_t *root;         /* per tensor: the tensor whose storage it uses */
  void **dptr;           /* per tensor: device address (NULL: none) */
  void **own;            /* allocations: constants, inputs, outputs, buffers */
  int nown;
  const char **impl;     /* per node id */
  tsoC_ExecStats st;
  char err[TSO_ERRMAX];
};

static size_t tbytes(const tsoI_Tensor *t) {
  int64_t n = tsoO_numel(&t->shape);
  return n > 0 ? (size_t)n * tsoO_dtype_size(t->dtype) : 0;
}

static size_t align256(size_t n) { return (n + 255) & ~(size_t)255; }

/* Memory, copies and waiting: on the device, or on the host when the
** context is the emulation's (the executor then runs the whole graph on
** the host with the same plan: tests use it without a GPU). Copies are
** ordered on the context's stream and waited for. */
static cudaError_t mem_alloc(const CuCtx *c, void **p, size_t n) {
  if (!c->emu) return cudaMalloc(p, n ? n : 1);
  *p = calloc(1, n ? n : 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

static void mem_free(const CuCtx *c, void *p) {
  if (c->emu) free(p);
  else cudaFree(p);
}

static cudaError_t mem_sync(const CuCtx *c) { return c->emu ? cudaSuccess : cudaStreamSynchronize(c->s); }

/* Enqueues a copy (kind: cudaMemcpyHostToDevice or DeviceToHost); wait:
** also waits for it. */
static cudaError_t mem_copy(const CuCtx *c, void *dst, const void *src, size_t n, cudaMemcpyKind kind, int wait) {
  if (c->emu) {
    memcpy(dst, src, n);
    return cudaSuccess;
  }
  cudaError_t e = cudaMemcpyAsync(dst, src, n, kind, c->s);
  return e == cudaSuccess && wait ? cudaStreamSynchronize(c->s) : e;
}

/* Random floats in [-1, 1) over n bytes. */
static cudaError_t mem_fill(const CuCtx *c, void *p, size_t n, uint64_t seed) {
  if (!c->emu) return tsoC_cuk_fill(p, (int64_t)(n / 4), TSO_DT_FLOAT, 0, 0, seed, c->s);
  for (size_t i = 0; i < n / 4; i++) {
    uint64_t z = (seed + i) * 0x9E3779B97F4A7C15ull;
    z ^= z >> 31;
    ((float *)p)[i] = (float)((double)(z >> 11) * 0x1p-53 * 2.0 - 1.0);
  }
  return cudaSuccess;
}

void tsoC_cuda_exec_free(tsoC_CudaExec *x) {
  if (!x) return;
  if (x->c) mem_sync(x->c);
  for (int32_t i = 0; x->nodes && i < x->nnodes; i++) {
    tsoC_cuop_free(x->nodes[i].op);
    if (x->nodes[i].hbuf) {
      const tsoI_Node *nd = &x->g->n[x->nodes[i].id];
      for (int k = 0; k < nd->nin + nd->nout; k++) free(x->nodes[i].hbuf[k]);
      free(x->nodes[i].hbuf);
    }
  }
  for (int i = 0; i < x->nown; i++) mem_free(x->c, x->own[i]);
  free(x->own);
  free(x->nodes);
  free(x->root);
  free(x->dptr);
  free(x->impl);
  if (x->own_ctx) tsoC_cu_ctx_free(x->c);
  free(x);
}

/* Allocates n bytes of device memory owned by x. */
static tso_status own_alloc(tsoC_CudaExec *x, size_t n, void **p, char *err) {
  *p = NULL;
  cudaError_t e = mem_alloc(x->c, p, n);
  if (e != cudaSuccess) {
    *p = NULL;
    return tsoC_cu_fail(err, e, "device memory");
  }
  x->own[x->nown++] = *p;
  return TSO_OK;
}

/* 1 when node nd of kind alias can share its input's memory: one output
** read (or only output 0 read), default layouts. */
static int aliasable(const tsoI_Graph *g, const tsoI_Node *nd, const tsoC_Key *k) {
  switch (nd->op) {
  case TSO_OP_RESHAPE: case TSO_OP_FLATTEN: case TSO_OP_SQUEEZE: case TSO_OP_UNSQUEEZE: case TSO_OP_IDENTITY:
  case TSO_OP_DROPOUT: case TSO_OP_TRANSPOSE:
    break;
  default:
    return 0;
  }
  if (nd->nin < 1 || TSO_IN(g, nd, 0) < 0) return 0;
  for (int j = 1; j < nd->nout; j++) {
    int32_t t = TSO_OUT(g, nd, j);
    if (g->t[t].nuses > 0 || (g->t[t].flags & TSO_T_OUTPUT)) return 0;
  }
  return tbytes(&g->t[TSO_IN(g, nd, 0)]) == tbytes(&g->t[TSO_OUT(g, nd, 0)]) && k->in[0].layout == k->out[0].layout;
}

/* Free-buffer pool of the liveness plan. */
typedef struct Pool {
  size_t *size;          /* planned size per buffer */
  int *busy;             /* 1 while a storage uses it */
  int n;
} Pool;

static int pool_take(Pool *p, size_t need) {
  int best = -1, largest = -1;
  for (int i = 0; i < p->n; i++) {
    if (p->busy[i]) continue;
    if (p->size[i] >= need && (best < 0 || p->size[i] < p->size[best])) best = i;
    if (largest < 0 || p->size[i] > p->size[largest]) largest = i;
  }
  if (best < 0 && largest >= 0) { /* grow the largest free buffer */
    best = largest;
    p->size[best] = need;
  }
  if (best < 0) { /* a new buffer (capacity: one per tensor, allocated by the caller) */
    best = p->n++;
    p->size[best] = need;
  }
  p->busy[best] = 1;
  return best;
}

static tso_status exec_create(CuCtx *c, int own_ctx, tsoI_Graph *g, tsoC_CudaExec **out, char *err) {
  *out = NULL;
  tsoC_CudaExec *x = (tsoC_CudaExec *)calloc(1, sizeof *x);
  if (x) {
    x->c = c;
    x->own_ctx = own_ctx;
  } else if (own_ctx) {
    tsoC_cu_ctx_free(c);
  }
  int32_t nt = g->nt, nn = g->nn;
  size_t ntz = (size_t)(nt > 0 ? nt : 1), nnz = (size_t)(nn > 0 ? nn : 1);
  int32_t *order = (int32_t *)malloc(nnz * sizeof *order);
  int32_t *last = (int32_t *)malloc(ntz * sizeof *last), *bufof = (int32_t *)malloc(ntz * sizeof *bufof);
  unsigned char *keep = (unsigned char *)calloc(ntz, 1);
  tsoC_Key *k = (tsoC_Key *)malloc(sizeof *k);
  Pool pool = {(size_t *)calloc(ntz, sizeof(size_t)), (int *)calloc(ntz, sizeof(int)), 0};
  tso_status st = TSO_OK;
  int32_t cnt = 0;
  if (!x || !order || !last || !bufof || !keep || !k || !pool.size || !pool.busy) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  x->c = c;
  x->g = g;
  x->nodes = (XNode *)calloc(nnz, sizeof *x->nodes);
  x->root = (int32_t *)malloc(ntz * sizeof *x->root);
  x->dptr = (void **)calloc(ntz, sizeof *x->dptr);
  x->own = (void **)calloc(2 * ntz + 1, sizeof *x->own);
  x->impl = (const char **)calloc(nnz, sizeof *x->impl);
  if (!x->nodes || !x->root || !x->dptr || !x->own || !x->impl) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  tsoI_uses(g);
  cnt = tsoI_topo(g, order);
  if (cnt < 0) {
    st = tsoO_fail(err, TSO_ERR_INVALID, "%s", g->err);
    goto done;
  }
  for (int32_t t = 0; t < nt; t++) {
    x->root[t] = t;
    last[t] = -1;
    bufof[t] = -1;
    if (g->t[t].flags & (TSO_T_OUTPUT | TSO_T_INPUT)) keep[t] = 1;
  }
  /* classify the nodes */
  for (int32_t i = 0; i < cnt; i++) {
    int32_t id = order[i];
    const tsoI_Node *nd = &g->n[id];
    XNode *xn = &x->nodes[x->nnodes++];
    xn->id = id;
    x->st.nodes++;
    const tsoO_Info *oi = tsoO_info(nd->op);
    if (nd->op == TSO_OP_OPAQUE || !oi) {
      st = tsoO_fail(err, TSO_ERR_UNSUPPORTED, "node %d: an opaque operator cannot run", (int)id);
      goto done;
    }
    int all_const = nd->nout > 0, empty = 0;
    for (int j = 0; j < nd->nout; j++) {
      const tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, j)];
      all_const &= (t->flags & TSO_T_CONST) && t->data;
      empty |= tsoO_numel(&t->shape) == 0;
    }
    if (all_const) {
      xn->kind = XN_CONST;
      x->st.const_nodes++;
      x->impl[id] = "const";
      continue;
    }
    char why[TSO_ERRMAX] = "";
    if ((st = tsoC_key_from_node(g, id, NULL, k, why)) != TSO_OK) {
      st = tsoO_fail(err, st, "node %d (%s): %s", (int)id, oi->name, why);
      goto done;
    }
    if (empty) {
      xn->kind = XN_SKIP;
      x->impl[id] = "empty";
      continue;
    }
    if (tsoC_key_is_free(k) && aliasable(g, nd, k)) {
      xn->kind = XN_ALIAS;
      x->root[TSO_OUT(g, nd, 0)] = x->root[TSO_IN(g, nd, 0)];
      x->st.free_nodes++;
      x->impl[id] = "alias";
      continue;
    }
    if (tsoC_cuop_create(c, k, &xn->op, why) == TSO_OK) {
      xn->kind = XN_GPU;
      x->st.gpu_nodes++;
    } else {
      xn->op = NULL;
      xn->kind = XN_HOST;
      x->st.host_nodes++;
      x->impl[id] = "host";
      size_t used = strlen(x->st.host_ops);
      if (!strstr(x->st.host_ops, oi->name) && used + strlen(oi->name) + 3 < sizeof x->st.host_ops)
        snprintf(x->st.host_ops + used, sizeof x->st.host_ops - used, "%s%s", used ? ", " : "", oi->name);
      xn->hbuf = (void **)calloc((size_t)(nd->nin + nd->nout) + 1, sizeof(void *));
      if (!xn->hbuf) {
        st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
        goto done;
      }
      for (int j = 0; j < nd->nin + nd->nout; j++) {
        int32_t t = j < nd->nin ? TSO_IN(g, nd, j) : TSO_OUT(g, nd, j - nd->nin);
        if (t < 0) continue;
        if (!(xn->hbuf[j] = malloc(tbytes(&g->t[t]) ? tbytes(&g->t[t]) : 1))) {
          st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
          goto done;
        }
      }
    }
  }
  /* last reader of each storage; graph outputs keep theirs */
  for (int32_t i = 0; i < x->nnodes; i++) {
    const XNode *xn = &x->nodes[i];
    const tsoI_Node *nd = &g->n[xn->id];
    if (xn->kind == XN_CONST || xn->kind == XN_SKIP) continue;
    for (int j = 0; j < nd->nin; j++) {
      int32_t t = TSO_IN(g, nd, j);
      if (t >= 0 && last[x->root[t]] < i) last[x->root[t]] = i;
    }
    for (int j = 0; j < nd->nout; j++) {
      int32_t t = TSO_OUT(g, nd, j);
      if (keep[t]) keep[x->root[t]] = 1;
      if (last[x->root[t]] < i) last[x->root[t]] = i; /* written: live at least here */
    }
  }
  /* constants (read at run time or graph outputs) and graph inputs: their own memory */
  for (int32_t t = 0; t < nt; t++) {
    const tsoI_Tensor *tt = &g->t[t];
    if (x->root[t] != t || !tbytes(tt)) continue;
    if ((tt->flags & TSO_T_CONST) && tt->data) {
      if (last[t] < 0 && !(tt->flags & TSO_T_OUTPUT)) continue;
      if ((st = own_alloc(x, tbytes(tt), &x->dptr[t], err))) goto done;
      cudaError_t e = mem_copy(c, x->dptr[t], tt->data, tbytes(tt), cudaMemcpyHostToDevice, 1);
      if (e != cudaSuccess) {
        st = tsoC_cu_fail(err, e, "constant upload");
        goto done;
      }
      x->st.const_bytes += (double)tbytes(tt);
    } else if (tt->flags & TSO_T_INPUT) { /* (random until set: implementations are chosen on it) */
      if ((st = own_alloc(x, tbytes(tt), &x->dptr[t], err))) goto done;
      cudaError_t e = cudaSuccess;
      if (tt->dtype == TSO_DT_FLOAT) e = mem_fill(c, x->dptr[t], tbytes(tt), 0xD1CEu + (uint64_t)t);
      if (e != cudaSuccess) {
        st = tsoC_cu_fail(err, e, "fill");
        goto done;
      }
    }
  }
  /* the rest: buffers by liveness */
  for (int32_t i = 0; i < x->nnodes; i++) {
    const XNode *xn = &x->nodes[i];
    const tsoI_Node *nd = &g->n[xn->id];
    if (xn->kind == XN_GPU || xn->kind == XN_HOST) {
      for (int j = 0; j < nd->nout; j++) {
        int32_t t = TSO_OUT(g, nd, j);
        if (x->root[t] != t || x->dptr[t] || bufof[t] >= 0) continue;
        size_t need = align256(tbytes(&g->t[t]));
        x->st.naive_bytes += (double)need;
        if (keep[t]) { /* a graph output: its own memory */
          if ((st = own_alloc(x, need, &x->dptr[t], err))) goto done;
          continue;
        }
        bufof[t] = pool_take(&pool, need);
      }
    }
    for (int32_t t = 0; t < nt; t++) /* storages whose last use was node i go back */
      if (bufof[t] >= 0 && last[t] == i && !keep[t]) pool.busy[bufof[t]] = 0;
  }
  {
    void **base = (void **)calloc((size_t)pool.n + 1, sizeof *base);
    if (!base) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (int b = 0; b < pool.n && !st; b++) {
      st = own_alloc(x, pool.size[b], &base[b], err);
      if (!st) { /* random floats: implementations are chosen on these buffers */
        cudaError_t e = mem_fill(c, base[b], pool.size[b], 0x5EEDu + (uint64_t)b);
        if (e != cudaSuccess) st = tsoC_cu_fail(err, e, "fill");
      }
      x->st.act_bytes += (double)pool.size[b];
    }
    x->st.buffers = pool.n;
    for (int32_t t = 0; t < nt && !st; t++)
      if (bufof[t] >= 0) x->dptr[t] = base[bufof[t]];
    free(base);
    if (st) goto done;
  }
  for (int32_t t = 0; t < nt; t++) /* aliases */
    if (x->root[t] != t) x->dptr[t] = x->dptr[x->root[t]];
  /* the implementations: the backend's choice, else chosen now */
  for (int32_t i = 0; i < x->nnodes; i++) {
    XNode *xn = &x->nodes[i];
    if (xn->kind != XN_GPU) continue;
    const tsoI_Node *nd = &g->n[xn->id];
    const void *in[TSOC_MAX_IN] = {0};
    void *o[TSOC_MAX_OUT] = {0};
    for (int j = 0; j < nd->nin; j++) in[j] = TSO_IN(g, nd, j) >= 0 ? x->dptr[TSO_IN(g, nd, j)] : NULL;
    for (int j = 0; j < nd->nout; j++) o[j] = x->dptr[TSO_OUT(g, nd, j)];
    char why[TSO_ERRMAX];
    if ((st = tsoC_cuop_choose(c, xn->op, in, o, why)) != TSO_OK) {
      st = tsoO_fail(err, st, "node %d (%s): %s", (int)xn->id, tsoO_info(nd->op)->name, why);
      goto done;
    }
    x->impl[xn->id] = xn->op->var[xn->op->chosen].name;
  }
  {
    cudaError_t e = mem_sync(c);
    if (e != cudaSuccess) st = tsoC_cu_fail(err, e, "synchronize");
  }
done:
  free(order);
  free(last);
  free(bufof);
  free(keep);
  free(k);
  free(pool.size);
  free(pool.busy);
  if (st) {
    tsoC_cuda_exec_free(x);
    return st;
  }
  *out = x;
  return TSO_OK;
}

tso_status tsoC_cuda_exec_create(tsoC_Backend *be, tsoI_Graph *g, tsoC_CudaExec **out, char *err) {
  *out = NULL;
  CuCtx *c = tsoC_cu_ctx(be, err);
  if (!c) return TSO_ERR_ARG;
  return exec_create(c, 0, g, out, err);
}

tso_status tsoC_cuda_exec_create_emulated(tsoI_Graph *g, tsoC_CudaExec **out, char *err) {
  *out = NULL;
  CuCtx *c = tsoC_cu_ctx_emu();
  if (!c) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  return exec_create(c, 1, g, out, err);
}

tso_status tsoC_cuda_exec_set_input(tsoC_CudaExec *x, int i, const void *data, size_t nbytes, char *err) {
  if (i < 0 || i >= x->g->ninputs) return tsoO_fail(err, TSO_ERR_ARG, "no graph input %d", i);
  int32_t t = x->g->inputs[i];
  if (nbytes != tbytes(&x->g->t[t]))
    return tsoO_fail(err, TSO_ERR_ARG, "input '%s': %zu bytes, expected %zu", x->g->t[t].name, nbytes,
                     tbytes(&x->g->t[t]));
  if (!nbytes || !x->dptr[t]) return TSO_OK;
  cudaError_t e = mem_copy(x->c, x->dptr[t], data, nbytes, cudaMemcpyHostToDevice, 1);
  return e == cudaSuccess ? TSO_OK : tsoC_cu_fail(err, e, "input upload");
}

/* Runs host node xn: inputs down, reference kernel, outputs up. */
static tso_status run_host(tsoC_CudaExec *x, XNode *xn, char *err) {
  const tsoI_Graph *g = x->g;
  const tsoI_Node *nd = &g->n[xn->id];
  const tsoO_Info *oi = tsoO_info(nd->op);
  tsoO_Value in[TSOC_MAX_IN + 1], out[TSOC_MAX_OUT + 1];
  if (nd->nin > TSOC_MAX_IN || nd->nout > TSOC_MAX_OUT)
    return tsoO_fail(err, TSO_ERR_LIMIT, "node %d: too many inputs or outputs", (int)xn->id);
  cudaError_t e = mem_sync(x->c);
  for (int j = 0; e == cudaSuccess && j < nd->nin; j++) {
    int32_t t = TSO_IN(g, nd, j);
    memset(&in[j], 0, sizeof in[j]);
    if (t < 0) continue;
    const tsoI_Tensor *tt = &g->t[t];
    in[j].dtype = tt->dtype;
    in[j].shape = tt->shape;
    if ((tt->flags & TSO_T_CONST) && tt->data) {
      in[j].data = (void *)(uintptr_t)tt->data;
    } else {
      in[j].data = xn->hbuf[j];
      if (tbytes(tt)) e = mem_copy(x->c, xn->hbuf[j], x->dptr[t], tbytes(tt), cudaMemcpyDeviceToHost, 1);
    }
  }
  if (e != cudaSuccess) return tsoC_cu_fail(err, e, "copy to the host");
  for (int j = 0; j < nd->nout; j++) {
    const tsoI_Tensor *tt = &g->t[TSO_OUT(g, nd, j)];
    out[j].dtype = tt->dtype;
    out[j].shape = tt->shape;
    out[j].data = xn->hbuf[nd->nin + j];
  }
  char why[TSO_ERRMAX] = "";
  tso_status st = oi->eval(&nd->p, nd->nin, in, nd->nout, out, why);
  if (st) return tsoO_fail(err, st, "node %d (%s) on the host: %s", (int)xn->id, oi->name, why);
  for (int j = 0; j < nd->nout; j++) {
    int32_t t = TSO_OUT(g, nd, j);
    if (!tbytes(&g->t[t]) || !x->dptr[t]) continue;
    e = mem_copy(x->c, x->dptr[t], xn->hbuf[nd->nin + j], tbytes(&g->t[t]), cudaMemcpyHostToDevice, 0);
    if (e != cudaSuccess) return tsoC_cu_fail(err, e, "copy to the device");
  }
  return TSO_OK;
}

/* Enqueues one whole run. */
static tso_status run_once(tsoC_CudaExec *x, char *err) {
  const tsoI_Graph *g = x->g;
  for (int32_t i = 0; i < x->nnodes; i++) {
    XNode *xn = &x->nodes[i];
    const tsoI_Node *nd = &g->n[xn->id];
    tso_status st = TSO_OK;
    if (xn->kind == XN_GPU) {
      const void *in[TSOC_MAX_IN] = {0};
      void *o[TSOC_MAX_OUT] = {0};
      for (int j = 0; j < nd->nin; j++) in[j] = TSO_IN(g, nd, j) >= 0 ? x->dptr[TSO_IN(g, nd, j)] : NULL;
      for (int j = 0; j < nd->nout; j++) o[j] = x->dptr[TSO_OUT(g, nd, j)];
      st = tsoC_cuop_run(x->c, xn->op, xn->op->chosen, in, o, err);
    } else if (xn->kind == XN_HOST) {
      st = run_host(x, xn, err);
    }
    if (st) return st;
  }
  return TSO_OK;
}

tso_status tsoC_cuda_exec_run(tsoC_CudaExec *x, char *err) {
  tso_status st = run_once(x, err);
  cudaError_t e = mem_sync(x->c);
  if (!st && e != cudaSuccess) st = tsoC_cu_fail(err, e, "execution");
  return st;
}

static int cmp_double(const void *a, const void *b) {
  double u = *(const double *)a, v = *(const double *)b;
  return u < v ? -1 : u > v;
}

tso_status tsoC_cuda_exec_time(tsoC_CudaExec *x, int warmup, int runs, double *median_ms, double *min_ms, char *err) {
  if (runs < 1) return tsoO_fail(err, TSO_ERR_ARG, "runs must be at least 1");
  double *t = (double *)malloc((size_t)runs * sizeof *t);
  if (!t) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  tso_status st = TSO_OK;
  for (int i = 0; i < warmup && !st; i++) st = tsoC_cuda_exec_run(x, err);
  for (int i = 0; i < runs && !st; i++) {
    if (x->c->emu) { /* the host's clock */
      double t0 = tsoC_now();
      st = tsoC_cuda_exec_run(x, err);
      t[i] = (tsoC_now() - t0) * 1e3;
      continue;
    }
    cudaError_t e = cudaEventRecord(x->c->e0, x->c->s);
    if (e == cudaSuccess && !(st = run_once(x, err))) e = cudaEventRecord(x->c->e1, x->c->s);
    if (e == cudaSuccess && !st) e = cudaEventSynchronize(x->c->e1);
    float ms = 0.0f;
    if (e == cudaSuccess && !st) e = cudaEventElapsedTime(&ms, x->c->e0, x->c->e1);
    if (!st && e != cudaSuccess) st = tsoC_cu_fail(err, e, "timed run");
    t[i] = ms;
  }
  if (!st) {
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    if (median_ms) *median_ms = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    if (min_ms) *min_ms = t[0];
  }
  free(t);
  return st;
}

tso_status tsoC_cuda_exec_get_output(tsoC_CudaExec *x, int j, void *data, size_t nbytes, char *err) {
  if (j < 0 || j >= x->g->noutputs) return tsoO_fail(err, TSO_ERR_ARG, "no graph output %d", j);
  int32_t t = x->g->outputs[j];
  if (nbytes != tbytes(&x->g->t[t]))
    return tsoO_fail(err, TSO_ERR_ARG, "output '%s': %zu bytes, expected %zu", x->g->t[t].name, nbytes,
                     tbytes(&x->g->t[t]));
  if (!nbytes) return TSO_OK;
  if (!x->dptr[t]) return tsoO_fail(err, TSO_ERR_INVALID, "output '%s' has no value", x->g->t[t].name);
  cudaError_t e = mem_copy(x->c, data, x->dptr[t], nbytes, cudaMemcpyDeviceToHost, 1);
  return e == cudaSuccess ? TSO_OK : tsoC_cu_fail(err, e, "output download");
}

void tsoC_cuda_exec_stats(const tsoC_CudaExec *x, tsoC_ExecStats *st) { *st = x->st; }

const char *tsoC_cuda_exec_impl(const tsoC_CudaExec *x, int32_t node) {
  if (node < 0 || node >= x->g->nn || !x->impl[node]) return "";
  return x->impl[node];
}
