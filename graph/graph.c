/*
** graph.c -- the graph IR: arena, builder, topological order, canonical
** hash, clone, well-formedness check, dead-node and no-op removal.
**
** Tensors and nodes are addressed by int32 id; the only place ids change is
** tsoI_compact(). Names and owned constant data live in the arena, which is
** freed as a whole with the graph.
*/
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "graph.h"

/* ---- arena ------------------------------------------------------------- */

struct tsoI_Arena {
  struct tsoI_Arena *next; /* older chunk */
  size_t used, cap;        /* bytes used / available in mem */
  _Alignas(16) unsigned char mem[];
};

#define ARENA_CHUNK ((size_t)64 * 1024)

void *tsoI_alloc(tsoI_Graph *g, size_t n) {
  n = (n + 15) & ~(size_t)15;
  tsoI_Arena *a = g->arena;
  if (!a || a->cap - a->used < n) {
    size_t cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
    tsoI_Arena *c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->used = 0;
    c->cap = cap;
    if (a && n > ARENA_CHUNK / 4) { /* big block: keep the current chunk on top */
      c->next = a->next;
      a->next = c;
    } else {
      c->next = a;
      g->arena = c;
    }
    a = c;
  }
  void *p = a->mem + a->used;
  a->used += n;
  memset(p, 0, n);
  return p;
}

const char *tsoI_strdup(tsoI_Graph *g, const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *d = tsoI_alloc(g, n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---- lifetime ------------------------------------------------------------ */

tsoI_Graph *tsoI_new(void) {
  tsoI_Graph *g = calloc(1, sizeof *g);
  return g;
}

void tsoI_free(tsoI_Graph *g) {
  if (!g) return;
  for (tsoI_Arena *a = g->arena, *nx; a; a = nx) {
    nx = a->next;
    free(a);
  }
  free(g->t);
  free(g->n);
  free(g->e);
  free(g->inputs);
  free(g->outputs);
  free(g);
}

/* Grows *arr (element size sz) to hold at least need elements. */
static int grow(void **arr, int32_t *cap, int64_t need, size_t sz) {
  if (need <= *cap) return 1;
  if (need > INT32_MAX / 2) return 0;
  int64_t nc = *cap ? *cap : 16;
  while (nc < need) nc *= 2;
  void *p = realloc(*arr, (size_t)nc * sz);
  if (!p) return 0;
  *arr = p;
  *cap = (int32_t)nc;
  return 1;
}

static int grow_edges(tsoI_Graph *g, uint32_t extra) {
  uint64_t need = (uint64_t)g->ne + extra;
  if (need <= g->cape) return 1;
  if (need > UINT32_MAX / 4) return 0;
  uint64_t nc = g->cape ? g->cape : 64;
  while (nc < need) nc *= 2;
  int32_t *p = realloc(g->e, (size_t)nc * sizeof *p);
  if (!p) return 0;
  g->e = p;
  g->cape = (uint32_t)nc;
  return 1;
}

/* A graph with g's arrays copied; names and data still point into g. */
static tsoI_Graph *copy_arrays(const tsoI_Graph *g) {
  tsoI_Graph *c = tsoI_new();
  if (!c) return NULL;
  if (!grow((void **)&c->t, &c->capt, g->nt, sizeof *c->t) ||
      !grow((void **)&c->n, &c->capn, g->nn, sizeof *c->n) || !grow_edges(c, g->ne) ||
      !grow((void **)&c->inputs, &c->capinputs, g->ninputs, sizeof *c->inputs) ||
      !grow((void **)&c->outputs, &c->capoutputs, g->noutputs, sizeof *c->outputs)) {
    tsoI_free(c);
    return NULL;
  }
  if (g->nt) memcpy(c->t, g->t, (size_t)g->nt * sizeof *c->t);
  if (g->nn) memcpy(c->n, g->n, (size_t)g->nn * sizeof *c->n);
  if (g->ne) memcpy(c->e, g->e, (size_t)g->ne * sizeof *c->e);
  if (g->ninputs) memcpy(c->inputs, g->inputs, (size_t)g->ninputs * sizeof *c->inputs);
  if (g->noutputs) memcpy(c->outputs, g->outputs, (size_t)g->noutputs * sizeof *c->outputs);
  c->nt = g->nt;
  c->nn = g->nn;
  c->ne = g->ne;
  c->ninputs = g->ninputs;
  c->noutputs = g->noutputs;
  return c;
}

tsoI_Graph *tsoI_clone_shallow(const tsoI_Graph *g) {
  tsoI_Graph *c = copy_arrays(g);
  if (!c) return NULL;
  for (int32_t i = 0; i < c->nt; i++) c->t[i].flags &= ~TSO_T_OWNED; /* borrowed from g */
  return c;
}

tsoI_Graph *tsoI_clone(const tsoI_Graph *g) {
  tsoI_Graph *c = copy_arrays(g);
  if (!c) return NULL;
  for (int32_t i = 0; i < c->nt; i++) {
    tsoI_Tensor *t = &c->t[i];
    if (!(t->name = tsoI_strdup(c, t->name))) goto oom;
    for (int k = 0; k < TSO_MAX_RANK; k++)
      if (t->dimsym[k] && !(t->dimsym[k] = tsoI_strdup(c, t->dimsym[k]))) goto oom;
    if ((t->flags & TSO_T_OWNED) && t->data) {
      void *d = tsoI_alloc(c, t->nbytes);
      if (!d) goto oom;
      memcpy(d, t->data, t->nbytes);
      t->data = d;
    }
  }
  return c;
oom:
  tsoI_free(c);
  return NULL;
}

/* ---- builder ------------------------------------------------------------- */

static int32_t fail(tsoI_Graph *g, const char *msg, const char *what) {
  tsoO_fail(g->err, TSO_ERR_INVALID, "%s%s%s", msg, what ? " " : "", what ? what : "");
  return -1;
}

int32_t tsoI_add_tensor(tsoI_Graph *g, const char *name, int dtype, const tsoO_Shape *shape) {
  if (!grow((void **)&g->t, &g->capt, (int64_t)g->nt + 1, sizeof *g->t))
    return fail(g, "out of memory", NULL);
  tsoI_Tensor *t = &g->t[g->nt];
  memset(t, 0, sizeof *t);
  if (!(t->name = tsoI_strdup(g, name))) return fail(g, "out of memory", NULL);
  t->dtype = dtype;
  if (shape) t->shape = *shape;
  else t->shape.rank = -1;
  if (t->shape.rank > TSO_MAX_RANK) return fail(g, "rank above 8 for tensor", name);
  t->producer = -1;
  t->origin = -1;
  return g->nt++;
}

int32_t tsoI_add_input(tsoI_Graph *g, const char *name, int dtype, const tsoO_Shape *shape) {
  int32_t id = tsoI_add_tensor(g, name, dtype, shape);
  if (id < 0) return -1;
  if (!grow((void **)&g->inputs, &g->capinputs, (int64_t)g->ninputs + 1, sizeof *g->inputs))
    return fail(g, "out of memory", NULL);
  g->t[id].flags |= TSO_T_INPUT;
  g->inputs[g->ninputs++] = id;
  return id;
}

int32_t tsoI_add_const(tsoI_Graph *g, const char *name, int dtype, const tsoO_Shape *shape,
                       const void *data, size_t nbytes, int copy) {
  int64_t ne = shape ? tsoO_numel(shape) : -1;
  size_t es = tsoO_dtype_size(dtype);
  if (ne < 0 || (es && (uint64_t)ne * es != nbytes))
    return fail(g, "constant data does not match its shape:", name);
  int32_t id = tsoI_add_tensor(g, name, dtype, shape);
  if (id < 0) return -1;
  tsoI_Tensor *t = &g->t[id];
  if (copy) {
    void *d = tsoI_alloc(g, nbytes ? nbytes : 1);
    if (!d) return fail(g, "out of memory", NULL);
    if (nbytes) memcpy(d, data, nbytes);
    t->data = d;
    t->flags |= TSO_T_OWNED;
  } else {
    t->data = data;
  }
  t->nbytes = nbytes;
  t->flags |= TSO_T_CONST;
  return id;
}

int32_t tsoI_add_node(tsoI_Graph *g, int op, const tsoO_Params *p, const int32_t *in, int nin,
                      const int32_t *out, int nout) {
  const tsoO_Info *oi = tsoO_info(op);
  if (!oi) return fail(g, "unknown operator id", NULL);
  if (nin < oi->min_in || nin > oi->max_in || nout < oi->min_out || nout > oi->max_out ||
      nin > UINT16_MAX || nout > UINT16_MAX) {
    tsoO_fail(g->err, TSO_ERR_INVALID, "%s takes %d..%d inputs and %d..%d outputs, not %d and %d",
              oi->name, oi->min_in, oi->max_in, oi->min_out, oi->max_out, nin, nout);
    return -1;
  }
  for (int i = 0; i < nin; i++)
    if (in[i] < -1 || in[i] >= g->nt) return fail(g, "node input is not a tensor of the graph", oi->name);
  for (int i = 0; i < nout; i++) {
    if (out[i] < 0 || out[i] >= g->nt) return fail(g, "node output is not a tensor of the graph", oi->name);
    const tsoI_Tensor *t = &g->t[out[i]];
    if (t->producer >= 0 || (t->flags & TSO_T_INPUT) || ((t->flags & TSO_T_CONST) && t->producer < 0))
      return fail(g, "tensor is written twice:", t->name);
    for (int k = 0; k < i; k++)
      if (out[k] == out[i]) return fail(g, "tensor is written twice:", t->name);
  }
  if (!grow((void **)&g->n, &g->capn, (int64_t)g->nn + 1, sizeof *g->n) ||
      !grow_edges(g, (uint32_t)(nin + nout)))
    return fail(g, "out of memory", NULL);
  int32_t id = g->nn++;
  tsoI_Node *nd = &g->n[id];
  memset(nd, 0, sizeof *nd);
  nd->op = (uint16_t)op;
  nd->nin = (uint16_t)nin;
  nd->nout = (uint16_t)nout;
  nd->origin = -1;
  if (p) nd->p = *p;
  nd->in = g->ne;
  for (int i = 0; i < nin; i++) g->e[g->ne++] = in[i];
  nd->out = g->ne;
  for (int i = 0; i < nout; i++) {
    g->e[g->ne++] = out[i];
    g->t[out[i]].producer = id;
    g->t[out[i]].slot = i;
  }
  return id;
}

int32_t tsoI_add_op(tsoI_Graph *g, int op, const tsoO_Params *p, const int32_t *in, int nin,
                    int nout, int32_t *outs) {
  int32_t tmp[64];
  int32_t *o = outs ? outs : tmp;
  if (!outs && nout > 64) return fail(g, "too many outputs", NULL);
  for (int i = 0; i < nout; i++)
    if ((o[i] = tsoI_add_tensor(g, "", 0, NULL)) < 0) return -1;
  return tsoI_add_node(g, op, p, in, nin, o, nout);
}

int tsoI_mark_output(tsoI_Graph *g, int32_t t) {
  if (t < 0 || t >= g->nt) return fail(g, "output is not a tensor of the graph", NULL);
  if (!grow((void **)&g->outputs, &g->capoutputs, (int64_t)g->noutputs + 1, sizeof *g->outputs))
    return fail(g, "out of memory", NULL);
  g->t[t].flags |= TSO_T_OUTPUT;
  g->outputs[g->noutputs++] = t;
  return 0;
}

int32_t tsoI_find(const tsoI_Graph *g, const char *name) {
  for (int32_t i = 0; i < g->nt; i++)
    if (strcmp(g->t[i].name, name) == 0) return i;
  return -1;
}

/* ---- analysis ------------------------------------------------------------ */

void tsoI_uses(tsoI_Graph *g) {
  for (int32_t i = 0; i < g->nt; i++) g->t[i].nuses = 0;
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      if (t >= 0) g->t[t].nuses++;
    }
  }
  for (int32_t i = 0; i < g->noutputs; i++) g->t[g->outputs[i]].nuses++;
}

int32_t tsoI_topo(tsoI_Graph *g, int32_t *order) {
  /* Kahn's algorithm over live nodes. Consumers are found through a CSR
  ** index built here; the ready set is a min-heap on node id so that the
  ** order is deterministic and stays close to the file order. */
  int32_t nn = g->nn, cnt = 0, live = 0;
  int32_t *indeg = calloc((size_t)nn + 1, sizeof *indeg);
  int32_t *start = calloc((size_t)g->nt + 1, sizeof *start);
  int32_t *heap = malloc(((size_t)nn + 1) * sizeof *heap);
  int32_t *cons = NULL;
  int64_t nedges = 0;
  if (!indeg || !start || !heap) goto oom;
  for (int32_t i = 0; i < nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    live++;
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      if (t >= 0 && g->t[t].producer >= 0 && !(g->n[g->t[t].producer].flags & TSO_N_DEAD)) {
        indeg[i]++;
        start[t + 1]++;
        nedges++;
      }
    }
  }
  for (int32_t t = 0; t < g->nt; t++) start[t + 1] += start[t];
  cons = malloc(((size_t)nedges + 1) * sizeof *cons);
  if (!cons) goto oom;
  {
    int32_t *fill = calloc((size_t)g->nt + 1, sizeof *fill);
    if (!fill) goto oom;
    for (int32_t i = 0; i < nn; i++) {
      const tsoI_Node *nd = &g->n[i];
      if (nd->flags & TSO_N_DEAD) continue;
      for (int k = 0; k < nd->nin; k++) {
        int32_t t = TSO_IN(g, nd, k);
        if (t >= 0 && g->t[t].producer >= 0 && !(g->n[g->t[t].producer].flags & TSO_N_DEAD))
          cons[start[t] + fill[t]++] = i;
      }
    }
    free(fill);
  }
  int32_t hn = 0;
#define HPUSH(v)                                                             \
  do {                                                                       \
    int32_t j_ = hn++;                                                       \
    heap[j_] = (v);                                                          \
    while (j_ > 0 && heap[(j_ - 1) / 2] > heap[j_]) {                        \
      int32_t p_ = (j_ - 1) / 2, s_ = heap[p_];                              \
      heap[p_] = heap[j_];                                                   \
      heap[j_] = s_;                                                         \
      j_ = p_;                                                               \
    }                                                                        \
  } while (0)
  for (int32_t i = 0; i < nn; i++)
    if (!(g->n[i].flags & TSO_N_DEAD) && indeg[i] == 0) HPUSH(i);
  while (hn > 0) {
    int32_t v = heap[0];
    heap[0] = heap[--hn];
    for (int32_t j = 0;;) { /* sift down */
      int32_t l = 2 * j + 1, r = l + 1, m = j;
      if (l < hn && heap[l] < heap[m]) m = l;
      if (r < hn && heap[r] < heap[m]) m = r;
      if (m == j) break;
      int32_t s = heap[m];
      heap[m] = heap[j];
      heap[j] = s;
      j = m;
    }
    order[cnt++] = v;
    const tsoI_Node *nd = &g->n[v];
    for (int k = 0; k < nd->nout; k++) {
      int32_t t = TSO_OUT(g, nd, k);
      for (int32_t c = start[t]; c < start[t + 1]; c++)
        if (--indeg[cons[c]] == 0) HPUSH(cons[c]);
    }
  }
#undef HPUSH
  if (cnt < live) {
    int32_t bad = -1;
    for (int32_t i = 0; i < nn && bad < 0; i++)
      if (!(g->n[i].flags & TSO_N_DEAD) && indeg[i] > 0) bad = i;
    const tsoI_Node *nd = &g->n[bad];
    const char *nm = nd->nout ? g->t[TSO_OUT(g, nd, 0)].name : "";
    tsoO_fail(g->err, TSO_ERR_INVALID, "the graph has a cycle through node %d (%s, output '%s')",
              bad, tsoO_info(nd->op)->name, nm);
    cnt = -1;
  }
  free(indeg);
  free(start);
  free(heap);
  free(cons);
  return cnt;
oom:
  free(indeg);
  free(start);
  free(heap);
  free(cons);
  tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory");
  return -1;
}

tso_status tsoI_check(tsoI_Graph *g) {
  for (int32_t i = 0; i < g->nt; i++) {
    const tsoI_Tensor *t = &g->t[i];
    if (t->producer < -1 || t->producer >= g->nn)
      return tsoO_fail(g->err, TSO_ERR_INVALID, "tensor '%s' has a bad producer", t->name);
    if (t->shape.rank > TSO_MAX_RANK || t->shape.rank < -1)
      return tsoO_fail(g->err, TSO_ERR_INVALID, "tensor '%s' has a bad rank", t->name);
    if ((t->flags & TSO_T_CONST) && t->producer < 0 && !t->data && t->nbytes)
      return tsoO_fail(g->err, TSO_ERR_INVALID, "constant '%s' has no data", t->name);
    if (t->producer >= 0) {
      const tsoI_Node *nd = &g->n[t->producer];
      if (t->slot < 0 || t->slot >= nd->nout || TSO_OUT(g, nd, t->slot) != i)
        return tsoO_fail(g->err, TSO_ERR_INVALID, "tensor '%s' and its producer disagree", t->name);
      if (t->flags & TSO_T_INPUT)
        return tsoO_fail(g->err, TSO_ERR_INVALID, "graph input '%s' is also written by a node", t->name);
    }
  }
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    const tsoO_Info *oi = tsoO_info(nd->op);
    if (!oi) return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d has an unknown operator id %d", i, nd->op);
    if (nd->nin < oi->min_in || nd->nin > oi->max_in || nd->nout < oi->min_out || nd->nout > oi->max_out)
      return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d (%s) has a bad number of inputs or outputs", i,
                       oi->name);
    if ((uint64_t)nd->in + nd->nin > g->ne || (uint64_t)nd->out + nd->nout > g->ne)
      return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d has edges outside the pool", i);
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      if (t < -1 || t >= g->nt)
        return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d (%s) reads a tensor id out of range", i, oi->name);
      if (t >= 0 && g->t[t].producer >= 0 && (g->n[g->t[t].producer].flags & TSO_N_DEAD))
        return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d (%s) reads '%s', made by a removed node", i,
                         oi->name, g->t[t].name);
      if (t >= 0 && g->t[t].producer < 0 && !(g->t[t].flags & (TSO_T_INPUT | TSO_T_CONST)))
        return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d (%s) reads '%s', which nothing defines", i,
                         oi->name, g->t[t].name);
    }
    for (int k = 0; k < nd->nout; k++) {
      int32_t t = TSO_OUT(g, nd, k);
      if (t < 0 || t >= g->nt || g->t[t].producer != i || g->t[t].slot != k)
        return tsoO_fail(g->err, TSO_ERR_INVALID, "node %d (%s) has an inconsistent output %d", i, oi->name, k);
    }
  }
  for (int32_t i = 0; i < g->noutputs; i++) {
    int32_t t = g->outputs[i];
    if (t < 0 || t >= g->nt) return tsoO_fail(g->err, TSO_ERR_INVALID, "graph output %d is out of range", i);
    const tsoI_Tensor *ot = &g->t[t];
    if (ot->producer < 0 && !(ot->flags & (TSO_T_INPUT | TSO_T_CONST)))
      return tsoO_fail(g->err, TSO_ERR_INVALID, "graph output '%s' is not computed by anything", ot->name);
    if (ot->producer >= 0 && (g->n[ot->producer].flags & TSO_N_DEAD))
      return tsoO_fail(g->err, TSO_ERR_INVALID, "graph output '%s' is made by a removed node", ot->name);
  }
  for (int32_t i = 0; i < g->ninputs; i++)
    if (g->inputs[i] < 0 || g->inputs[i] >= g->nt)
      return tsoO_fail(g->err, TSO_ERR_INVALID, "graph input %d is out of range", i);
  int32_t *order = malloc(((size_t)g->nn + 1) * sizeof *order);
  if (!order) return tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory");
  int32_t r = tsoI_topo(g, order);
  free(order);
  return r < 0 ? (strstr(g->err, "memory") ? TSO_ERR_NOMEM : TSO_ERR_INVALID) : TSO_OK;
}

/* ---- canonical hash ---------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) {
  uint64_t b[2] = {h, v};
  return XXH3_64bits(b, sizeof b);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Hash of a tensor's type: dtype and shape. */
static uint64_t type_hash(const tsoI_Tensor *t) {
  uint64_t h = XXH3_64bits(&t->dtype, sizeof t->dtype);
  h = mix(h, (uint64_t)(int64_t)t->shape.rank);
  for (int i = 0; i < t->shape.rank && i < TSO_MAX_RANK; i++) h = mix(h, (uint64_t)t->shape.d[i]);
  return h;
}

int tsoI_hasher_init(tsoI_Hasher *hs, const tsoI_Graph *g) {
  memset(hs, 0, sizeof *hs);
  hs->nleaf = g->nt;
  hs->leaf = calloc((size_t)g->nt + 1, sizeof *hs->leaf);
  if (!hs->leaf) return -1;
  /* a leaf hashes its role: input position, or constant content; and its type */
  for (int32_t i = 0; i < g->ninputs; i++) hs->leaf[g->inputs[i]] = mix(0x1A5A, (uint64_t)i);
  for (int32_t i = 0; i < g->nt; i++) {
    const tsoI_Tensor *t = &g->t[i];
    if (t->producer < 0 && (t->flags & TSO_T_CONST) && !(t->flags & TSO_T_INPUT))
      hs->leaf[i] = mix(0xC0C0, t->data ? XXH3_64bits(t->data, t->nbytes) : 0);
    if (t->producer < 0) hs->leaf[i] = mix(hs->leaf[i], type_hash(t));
  }
  return 0;
}

void tsoI_hasher_free(tsoI_Hasher *hs) {
  free(hs->leaf);
  free(hs->th);
  free(hs->nh);
  free(hs->ms);
  free(hs->reach);
  free(hs->order);
  memset(hs, 0, sizeof *hs);
}

uint64_t tsoI_hasher_hash(tsoI_Hasher *hs, tsoI_Graph *g) {
  /* Bottom-up: leaves as computed at init, a node hashes its operator,
  ** parameters and input hashes (sorted for commutative operators), an
  ** output hashes (node, slot). The graph hash covers the outputs in order
  ** plus the sorted multiset of the hashes of the nodes the outputs depend
  ** on, so that shared and duplicated computations differ while
  ** unreachable nodes do not count. */
  if ((size_t)g->nt + 1 > hs->capt) {
    size_t nc = 2 * ((size_t)g->nt + 1);
    uint64_t *th = realloc(hs->th, nc * sizeof *th);
    if (th) hs->th = th;
    unsigned char *r = realloc(hs->reach, nc);
    if (r) hs->reach = r;
    if (!th || !r) return 0;
    hs->capt = nc;
  }
  if ((size_t)g->nn + 1 > hs->capn) {
    size_t nc = 2 * ((size_t)g->nn + 1);
    uint64_t *nh = realloc(hs->nh, nc * sizeof *nh), *ms = nh ? realloc(hs->ms, nc * sizeof *ms) : NULL;
    if (nh) hs->nh = nh;
    if (ms) hs->ms = ms;
    int32_t *o = ms ? realloc(hs->order, nc * sizeof *o) : NULL;
    if (o) hs->order = o;
    if (!nh || !ms || !o) return 0;
    hs->capn = nc;
  }
  uint64_t *th = hs->th, *nh = hs->nh;
  for (int32_t i = 0; i < g->nt; i++) {
    th[i] = i < hs->nleaf && g->t[i].producer < 0 ? hs->leaf[i] : 0;
    if (g->t[i].producer < 0 && g->t[i].layout) th[i] = mix(th[i], 0x1A70u + (uint64_t)g->t[i].layout);
  }
  int32_t cnt = tsoI_topo(g, hs->order);
  if (cnt < 0) return 0;
  for (int32_t k = 0; k < cnt; k++) {
    const tsoI_Node *nd = &g->n[hs->order[k]];
    const tsoO_Info *oi = tsoO_info(nd->op);
    uint64_t ins[64];
    int nin = nd->nin < 64 ? nd->nin : 64;
    for (int i = 0; i < nin; i++) {
      int32_t t = TSO_IN(g, nd, i);
      ins[i] = t >= 0 ? th[t] : 0x0ABC;
    }
    /* legacy (opset < 7) broadcasting is one-sided: those operands do not commute */
    if (oi && (oi->flags & TSO_OPF_COMMUTATIVE) && nin >= 2 && !nd->p.axis.legacy)
      qsort(ins, 2, sizeof ins[0], cmp_u64);
    uint64_t v = XXH3_64bits(&nd->p, sizeof nd->p);
    v = mix(v, nd->op);
    v = mix(v, ((uint64_t)nd->nin << 16) | nd->nout);
    if (nd->op == TSO_OP_OPAQUE) v = mix(v, (uint64_t)(int64_t)nd->origin); /* opaque: identity is the source node */
    for (int i = 0; i < nin; i++) v = mix(v, ins[i]);
    nh[hs->order[k]] = v;
    for (int i = 0; i < nd->nout; i++) {
      int32_t t = TSO_OUT(g, nd, i);
      th[t] = mix(v, (uint64_t)i + 1);
      if (g->t[t].layout) th[t] = mix(th[t], 0x1A70u + (uint64_t)g->t[t].layout); /* a stored layout is a different plan */
    }
  }
  /* only nodes an output depends on count: walk back from the outputs */
  memset(hs->reach, 0, (size_t)g->nt + 1);
  for (int32_t i = 0; i < g->noutputs; i++) hs->reach[g->outputs[i]] = 1;
  int32_t nms = 0;
  for (int32_t k = cnt - 1; k >= 0; k--) {
    const tsoI_Node *nd = &g->n[hs->order[k]];
    int used = 0;
    for (int i = 0; i < nd->nout && !used; i++) used = hs->reach[TSO_OUT(g, nd, i)];
    if (!used) continue;
    hs->ms[nms++] = nh[hs->order[k]];
    for (int i = 0; i < nd->nin; i++)
      if (TSO_IN(g, nd, i) >= 0) hs->reach[TSO_IN(g, nd, i)] = 1;
  }
  qsort(hs->ms, (size_t)nms, sizeof *hs->ms, cmp_u64);
  uint64_t h = XXH3_64bits(hs->ms, (size_t)nms * sizeof *hs->ms);
  for (int32_t i = 0; i < g->noutputs; i++) h = mix(h, th[g->outputs[i]]);
  return mix(h, (uint64_t)g->noutputs);
}

uint64_t tsoI_hash(tsoI_Graph *g) {
  tsoI_Hasher hs;
  if (tsoI_hasher_init(&hs, g) != 0) return 0;
  uint64_t h = tsoI_hasher_hash(&hs, g);
  tsoI_hasher_free(&hs);
  return h;
}

/* ---- transformations ------------------------------------------------------ */

void tsoI_replace_uses(tsoI_Graph *g, int32_t from, int32_t to) {
  for (int32_t i = 0; i < g->nn; i++) {
    tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) == from) TSO_IN(g, nd, k) = to;
  }
  for (int32_t i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == from) {
      g->outputs[i] = to;
      g->t[to].flags |= TSO_T_OUTPUT;
      g->t[from].flags &= ~TSO_T_OUTPUT;
    }
}

int tsoI_remove_dead(tsoI_Graph *g) {
  unsigned char *live = calloc((size_t)g->nn + 1, 1);
  int32_t *stack = malloc(((size_t)g->nn + 1) * sizeof *stack);
  int removed = 0;
  if (!live || !stack) goto done;
  int32_t sp = 0;
  for (int32_t i = 0; i < g->noutputs; i++) {
    int32_t p = g->t[g->outputs[i]].producer;
    if (p >= 0 && !live[p] && !(g->n[p].flags & TSO_N_DEAD)) {
      live[p] = 1;
      stack[sp++] = p;
    }
  }
  while (sp > 0) {
    const tsoI_Node *nd = &g->n[stack[--sp]];
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      int32_t p = t >= 0 ? g->t[t].producer : -1;
      if (p >= 0 && !live[p]) {
        live[p] = 1;
        stack[sp++] = p;
      }
    }
  }
  for (int32_t i = 0; i < g->nn; i++)
    if (!live[i] && !(g->n[i].flags & TSO_N_DEAD)) {
      g->n[i].flags |= TSO_N_DEAD;
      removed++;
    }
done:
  free(live);
  free(stack);
  return removed;
}

/* 1 if tensor t is read as an implicit (subgraph) input of a live opaque
** node: such a name is referenced inside a subgraph and must not change. */
static int captured(const tsoI_Graph *g, int32_t t) {
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if ((nd->flags & TSO_N_DEAD) || nd->op != TSO_OP_OPAQUE) continue;
    for (int k = nd->p.opaque.nexplicit; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) == t) return 1;
  }
  return 0;
}

static int same_shape(const tsoO_Shape *a, const tsoO_Shape *b) {
  if (a->rank < 0 || a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] < 0 || a->d[i] != b->d[i]) return 0;
  return 1;
}

/* 1 if every element of a constant int64/int32 tensor is zero. */
static int all_zero(const tsoI_Tensor *t) {
  if (!t->data) return 0;
  const unsigned char *p = t->data;
  for (size_t i = 0; i < t->nbytes; i++)
    if (p[i]) return 0;
  return 1;
}

/* Which input of node nd passes through unchanged, or -1 if nd is not a
** no-op. Needs shapes: a node is a no-op when its output has the shape of
** that input and the operator only moves data. */
static int noop_input(const tsoI_Graph *g, const tsoI_Node *nd) {
  if (nd->nout < 1 || nd->nin < 1) return -1;
  int32_t x = TSO_IN(g, nd, 0), y = TSO_OUT(g, nd, 0);
  if (x < 0) return -1;
  const tsoI_Tensor *tx = &g->t[x], *ty = &g->t[y];
  switch (nd->op) {
  case TSO_OP_IDENTITY:
    return 0;
  case TSO_OP_DROPOUT: {
    if (nd->nout > 1 && g->t[TSO_OUT(g, nd, 1)].nuses > 0) return -1; /* mask used */
    if (nd->nin >= 3) {                                               /* training_mode */
      int32_t tm = TSO_IN(g, nd, 2);
      if (tm >= 0 && !all_zero(&g->t[tm])) return -1;
    }
    return 0;
  }
  case TSO_OP_RESHAPE: case TSO_OP_FLATTEN: case TSO_OP_SQUEEZE: case TSO_OP_UNSQUEEZE:
    return same_shape(&tx->shape, &ty->shape) && tx->dtype == ty->dtype ? 0 : -1;
  case TSO_OP_TRANSPOSE: {
    if (tx->shape.rank < 0) return -1;
    for (int i = 0; i < nd->p.transpose.n; i++)
      if (nd->p.transpose.perm[i] != i) return -1;
    if (nd->p.transpose.n == 0 && tx->shape.rank > 1) return -1; /* default: reverse */
    return 0;
  }
  case TSO_OP_CONCAT:
    return nd->nin == 1 ? 0 : -1;
  case TSO_OP_SPLIT:
    return nd->nout == 1 && same_shape(&tx->shape, &ty->shape) ? 0 : -1;
  case TSO_OP_PAD: { /* all pads zero: from the attribute form or a constant input */
    if (!same_shape(&tx->shape, &ty->shape)) return -1;
    if (nd->p.pad.npads > 0) {
      for (int i = 0; i < nd->p.pad.npads; i++)
        if (nd->p.pad.pads[i]) return -1;
      return 0;
    }
    int32_t pt = nd->nin >= 2 ? TSO_IN(g, nd, 1) : -1;
    return pt >= 0 && all_zero(&g->t[pt]) ? 0 : -1;
  }
  case TSO_OP_SLICE: { /* same shape and every step 1 (absent steps are 1) */
    if (!same_shape(&tx->shape, &ty->shape)) return -1;
    int32_t st = nd->nin >= 5 ? TSO_IN(g, nd, 4) : -1;
    if (st < 0) return 0;
    const tsoI_Tensor *ts = &g->t[st];
    if (!ts->data || (ts->dtype != TSO_DT_INT64 && ts->dtype != TSO_DT_INT32)) return -1;
    size_t es = tsoO_dtype_size(ts->dtype);
    for (size_t i = 0; i < ts->nbytes / es; i++) {
      int64_t v = es == 8 ? ((const int64_t *)ts->data)[i] : ((const int32_t *)ts->data)[i];
      if (v != 1) return -1;
    }
    return 0;
  }
  default:
    return -1;
  }
}

int tsoI_remove_noops(tsoI_Graph *g) {
  int removed = 0;
  tsoI_uses(g);
  for (int32_t i = 0; i < g->nn; i++) {
    tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    if (noop_input(g, nd) != 0) continue;
    int32_t x = TSO_IN(g, nd, 0), y = TSO_OUT(g, nd, 0);
    if (captured(g, y) || captured(g, x)) continue;
    tsoI_Tensor *ty = &g->t[y], *tx = &g->t[x];
    if (!(ty->flags & TSO_T_OUTPUT)) {
      tsoI_replace_uses(g, y, x);
    } else if (tx->producer >= 0 && !(tx->flags & (TSO_T_OUTPUT | TSO_T_INPUT))) {
      /* y is a graph output: keep its name; x's producer now writes y. */
      const tsoI_Node *px = &g->n[tx->producer];
      int32_t slot = tx->slot;
      tsoI_replace_uses(g, x, y);
      nd->flags |= TSO_N_DEAD; /* before moving: y's producer changes */
      TSO_OUT(g, px, slot) = y;
      ty->producer = tx->producer;
      ty->slot = slot;
      tx->producer = -1;
      tx->slot = 0;
      removed++;
      continue;
    } else {
      continue; /* output fed by an input, constant or another output: keep */
    }
    nd->flags |= TSO_N_DEAD;
    ty->producer = -1;
    removed++;
  }
  if (removed) tsoI_remove_dead(g);
  return removed;
}

tso_status tsoI_compact(tsoI_Graph *g) {
  int32_t *nmap = malloc(((size_t)g->nn + 1) * sizeof *nmap);
  int32_t *tmap = malloc(((size_t)g->nt + 1) * sizeof *tmap);
  unsigned char *used = calloc((size_t)g->nt + 1, 1);
  int32_t *ne = malloc(((size_t)g->ne + 1) * sizeof *ne);
  if (!nmap || !tmap || !used || !ne) {
    free(nmap); free(tmap); free(used); free(ne);
    return tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory");
  }
  for (int32_t i = 0; i < g->ninputs; i++) used[g->inputs[i]] = 1;
  for (int32_t i = 0; i < g->noutputs; i++) used[g->outputs[i]] = 1;
  int32_t nn = 0;
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) { nmap[i] = -1; continue; }
    nmap[i] = nn++;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) >= 0) used[TSO_IN(g, nd, k)] = 1;
    for (int k = 0; k < nd->nout; k++) used[TSO_OUT(g, nd, k)] = 1;
  }
  int32_t nt = 0;
  for (int32_t i = 0; i < g->nt; i++) tmap[i] = used[i] ? nt++ : -1;
  for (int32_t i = 0; i < g->nt; i++)
    if (tmap[i] >= 0) {
      tsoI_Tensor t = g->t[i];
      if (t.producer >= 0) t.producer = nmap[t.producer];
      g->t[tmap[i]] = t;
    }
  uint32_t ecount = 0;
  for (int32_t i = 0; i < g->nn; i++) {
    if (nmap[i] < 0) continue;
    tsoI_Node nd = g->n[i];
    uint32_t oin = nd.in, oout = nd.out;
    nd.in = ecount;
    for (int k = 0; k < nd.nin; k++) {
      int32_t t = g->e[oin + (uint32_t)k];
      ne[ecount++] = t >= 0 ? tmap[t] : -1;
    }
    nd.out = ecount;
    for (int k = 0; k < nd.nout; k++) ne[ecount++] = tmap[g->e[oout + (uint32_t)k]];
    g->n[nmap[i]] = nd;
  }
  memcpy(g->e, ne, (size_t)ecount * sizeof *ne);
  for (int32_t i = 0; i < g->ninputs; i++) g->inputs[i] = tmap[g->inputs[i]];
  for (int32_t i = 0; i < g->noutputs; i++) g->outputs[i] = tmap[g->outputs[i]];
  g->nn = nn;
  g->nt = nt;
  g->ne = ecount;
  free(nmap); free(tmap); free(used); free(ne);
  return TSO_OK;
}
