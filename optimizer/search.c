/*
** search.c -- the cost-based search over rewrites.
**
** Best-first: a binary heap of candidates ordered by predicted cost (ties
** by creation order, so the search is deterministic). Expanding a
** candidate enumerates every valid match of every enabled rule on its
** graph; each rewrite is applied in place with a journal, hashed
** (tsoI_hash, canonical and structural: duplicates are dropped), costed
** incrementally -- the parent's cost minus the matched nodes' costs plus
** the new nodes' costs -- and undone. A rewritten graph is queued when its
** cost is below alpha x the best cost so far. The work is bounded by a
** budget of expansions and a time limit.
**
** Memory stays flat: a candidate is (parent, match, cost), about 100
** bytes, never a graph. The graph of a candidate is rebuilt when it is
** expanded: from the graph of the candidate expanded just before when it
** is its parent (one rewrite), else by replaying the candidate's chain of
** rewrites on a copy of the input (node and tensor ids are only ever
** appended, so a match recorded on the parent's graph is valid in the
** replayed one).
**
** Costs: an operator instance's cost is looked up once (a memo keyed by
** the cost signature) from the backend: estimated by a model-based
** backend, else read from the database, else measured -- the new
** instances of one expansion in one batch, with shortened measurement
** settings, within the search's measuring budget -- and stored. A node
** whose inputs are all constants costs nothing: it is pre-folded before
** export. What cannot be measured is estimated by the analytic model.
*/
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "optimizer/optimizer.h"

void tsoS_options_init(tsoS_Options *o) {
  memset(o, 0, sizeof *o);
  o->alpha = 1.05;
  o->budget = 1000;
}

void tsoS_result_free(tsoS_Result *r) {
  if (!r) return;
  free(r->steps);
  free(r->matches);
  r->steps = NULL;
  r->matches = NULL;
  r->nsteps = 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- costs --------------------------------------------------------------- */

typedef struct Coster {
  tsoC_Backend *be;       /* the backend */
  tsoC_Backend *fb;       /* analytic fallback (owned) */
  tsoC_Db *db;            /* database (may be NULL) */
  uint64_t *mk;           /* memo: signature hash (0 = empty slot) -> ms */
  double *mv;
  size_t cap, n;
  tsoC_Key *pk;           /* pending measurements */
  uint64_t *ph;
  int npend, cappend;
  int short_settings;     /* 1: measure with the search's shortened settings */
  double deadline;        /* measuring stops at this CLOCK_MONOTONIC time (0: none) */
  int64_t measured, estimated;
} Coster;

static uint64_t memo_key(uint64_t h) {
  return h ? h : 1;
}

static int memo_get(const Coster *c, uint64_t h, double *ms) {
  h = memo_key(h);
  for (size_t i = (size_t)h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
    if (!c->mk[i]) return 0;
    if (c->mk[i] == h) {
      *ms = c->mv[i];
      return 1;
    }
  }
}

static int memo_put(Coster *c, uint64_t h, double ms) {
  h = memo_key(h);
  if (2 * (c->n + 1) > c->cap) {
    size_t nc = c->cap * 2;
    uint64_t *nk = calloc(nc, sizeof *nk);
    double *nv = malloc(nc * sizeof *nv);
    if (!nk || !nv) {
      free(nk);
      free(nv);
      return -1;
    }
    for (size_t i = 0; i < c->cap; i++) {
      if (!c->mk[i]) continue;
      size_t j = (size_t)c->mk[i] & (nc - 1);
      while (nk[j]) j = (j + 1) & (nc - 1);
      nk[j] = c->mk[i];
      nv[j] = c->mv[i];
    }
    free(c->mk);
    free(c->mv);
    c->mk = nk;
    c->mv = nv;
    c->cap = nc;
  }
  size_t i = (size_t)h & (c->cap - 1);
  while (c->mk[i] && c->mk[i] != h) i = (i + 1) & (c->cap - 1);
  if (!c->mk[i]) c->n++;
  c->mk[i] = h;
  c->mv[i] = ms;
  return 0;
}

static tso_status coster_init(Coster *c, tsoC_Backend *be, tsoC_Db *db, char *err) {
  memset(c, 0, sizeof *c);
  c->be = be;
  c->db = db;
  c->cap = 1024;
  c->mk = calloc(c->cap, sizeof *c->mk);
  c->mv = malloc(c->cap * sizeof *c->mv);
  c->fb = tsoC_analytic_create(NULL);
  if (!c->mk || !c->mv || !c->fb) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  return TSO_OK;
}

static void coster_free(Coster *c) {
  free(c->mk);
  free(c->mv);
  free(c->pk);
  free(c->ph);
  tsoC_backend_free(c->fb);
  memset(c, 0, sizeof *c);
}

/* A layout variant the backend could not time (unsupported, or out of
** measuring time) costs this much: the analytic model does not know how
** slow an unusual layout can be, so such a variant is never chosen. */
#define UNMEASURED_LAYOUT_MS 1e6

/* Estimate by the analytic model (0 when even that fails). */
static double fallback(Coster *c, const tsoC_Key *k) {
  double ms = 0.0;
  for (int i = 0; i < k->nin; i++)
    if (k->in[i].layout != TSO_LAYOUT_DEFAULT) return UNMEASURED_LAYOUT_MS;
  for (int i = 0; i < k->nout; i++)
    if (k->out[i].layout != TSO_LAYOUT_DEFAULT) return UNMEASURED_LAYOUT_MS;
  char e2[TSO_ERRMAX];
  if (c->fb->vt->estimate(c->fb, k, &ms, e2) != TSO_OK) ms = 0.0;
  c->estimated++;
  return ms;
}

/* The cost of one key: 0 with *ms set, 1 when the key is queued for
** measurement (*sig receives its hash), -1 on allocation failure. */
static int key_cost(Coster *c, tsoC_Key *k, double *ms, uint64_t *sig, char *err) {
  tsoC_Sig s;
  char why[TSO_ERRMAX];
  *ms = 0.0;
  if (tsoC_key_is_free(k)) return 0;
  if (tsoC_key_sig(k, &s) != TSO_OK) return 0;
  if (memo_get(c, s.hash, ms)) return 0;
  double v = 0.0;
  if (c->be->vt->estimate) {
    if (c->be->vt->estimate(c->be, k, &v, why) != TSO_OK) v = 0.0;
  } else {
    tsoC_Entry e;
    int found = 0;
    if (c->db && tsoC_db_get(c->db, c->be, &s, &e, &found, why) == TSO_OK && found) {
      v = e.ms;
    } else if (!c->be->vt->supports(c->be, k, why)) {
      v = fallback(c, k);
    } else {
      for (int i = 0; i < c->npend; i++)
        if (c->ph[i] == s.hash) {
          *sig = s.hash;
          return 1;
        }
      if (c->npend == c->cappend) {
        int nc = c->cappend ? 2 * c->cappend : 16;
        tsoC_Key *pk = realloc(c->pk, (size_t)nc * sizeof *pk);
        if (!pk) goto oom;
        c->pk = pk;
        uint64_t *ph = realloc(c->ph, (size_t)nc * sizeof *ph);
        if (!ph) goto oom;
        c->ph = ph;
        c->cappend = nc;
      }
      c->pk[c->npend] = *k;
      c->ph[c->npend++] = s.hash;
      *sig = s.hash;
      return 1;
    }
  }
  if (memo_put(c, s.hash, v)) goto oom;
  *ms = v;
  return 0;
oom:
  (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  return -1;
}

/* Most keys one node's cost is made of: the node and a conversion per
** operand stored in a layout the operator does not support. */
#define NODE_KEYS (1 + 2 * TSOC_MAX_IN)

static int key_maxrank(const tsoC_Key *k) {
  int r = 0;
  for (int i = 0; i < k->nin; i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT) && k->in[i].shape.rank > r) r = k->in[i].shape.rank;
  return r;
}

/* Sets the layouts of operand `i` of key k (io 0 input, 1 output) from
** the tensor's stored layout `l`: kept where the operator supports it,
** else the operand is in the default layout and conversion key *cv is
** filled (returns 1; 0 when no conversion is needed). `want` is the
** layout forced on the operand (-1: none). */
static int operand_layout(const tsoC_Key *k0, tsoC_Tensor *x, int io, int i, int l, int want, tsoC_Key *cv) {
  int use = want >= 0 ? want : l;
  if (want < 0 && !(tsoL_supported(k0->op, io, i, x->shape.rank, key_maxrank(k0)) & TSO_LAYOUT_BIT(l)))
    use = TSO_LAYOUT_DEFAULT;
  x->layout = use;
  if (use == l || (x->flags & TSOC_T_CONST)) return 0; /* constants are converted before run time */
  if (io == 0) tsoC_key_conversion(cv, &x->shape, x->dtype, l, use);
  else tsoC_key_conversion(cv, &x->shape, x->dtype, use, l);
  return 1;
}

/* The cost of live node `node` of g: its own key in the layouts its
** tensors are stored in, plus the conversions where it cannot use them.
** isconst marks the tensors known before run time. Returns the number of
** keys queued for measurement (their hashes in pend[], capacity
** NODE_KEYS), *ms the known part; -1 on allocation failure. */
static int node_cost(Coster *c, const tsoI_Graph *g, const unsigned char *isconst, int32_t node, double *ms,
                     uint64_t *pend, char *err) {
  tsoC_Key k, cv[NODE_KEYS];
  char why[TSO_ERRMAX];
  int ncv = 0, np = 0;
  *ms = 0.0;
  if (tsoC_key_from_node(g, node, NULL, &k, why) != TSO_OK) return 0; /* opaque or unknown shapes: not costed */
  const tsoI_Node *nd = &g->n[node];
  for (int i = 0; i < k.nin && i < nd->nin; i++) {
    int32_t t = TSO_IN(g, nd, i);
    if (t >= 0 && isconst[t]) k.in[i].flags |= TSOC_T_CONST;
  }
  for (int i = 0; i < k.nout; i++)
    if (isconst[TSO_OUT(g, nd, i)]) k.out[i].flags |= TSOC_T_CONST;
  /* an element-wise unary operator, and a conv's activation input, work in
  ** the output's layout */
  const tsoO_Info *oi = tsoO_info(k.op);
  int unary = oi && (oi->flags & TSO_OPF_UNARY) && (oi->flags & TSO_OPF_ELEMWISE) && k.nin == 1 && k.nout == 1;
  for (int i = 0; i < k.nout && i < nd->nout; i++)
    ncv += operand_layout(&k, &k.out[i], 1, i, g->t[TSO_OUT(g, nd, i)].layout, -1, &cv[ncv]);
  for (int i = 0; i < k.nin && i < nd->nin; i++) {
    int32_t t = TSO_IN(g, nd, i);
    if (t < 0 || (k.in[i].flags & TSOC_T_ABSENT)) continue;
    int follow = unary || (k.op == TSO_OP_CONV2D && i == 0 && k.nout == 1);
    ncv += operand_layout(&k, &k.in[i], 0, i, g->t[t].layout, follow ? k.out[0].layout : -1, &cv[ncv]);
  }
  for (int j = -1; j < ncv; j++) {
    double v = 0.0;
    uint64_t sig = 0;
    int r = key_cost(c, j < 0 ? &k : &cv[j], &v, &sig, err);
    if (r < 0) return -1;
    if (r == 1) pend[np++] = sig;
    else *ms += v;
  }
  return np;
}

/* Measures the pending keys (one batch), stores them and memoizes them. */
static tso_status flush(Coster *c, char *err) {
  if (c->npend == 0) return TSO_OK;
  tsoC_Result *res = calloc((size_t)c->npend, sizeof *res);
  if (!res) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  tsoC_MeasureOpts saved = c->be->mo;
  if (c->short_settings) {
    c->be->mo.min_repeats = 5;
    c->be->mo.max_repeats = 40;
    c->be->mo.warmup_ms = 1.0;
    c->be->mo.sample_ms = 0.2;
    c->be->mo.target_ci = 0.05;
    c->be->mo.max_ms = 60.0;
    c->be->mo.span_ms = 0.0;
  }
  int expired = c->deadline > 0.0 && now_s() >= c->deadline;
  tso_status st = TSO_OK;
  if (!expired) st = tsoC_measure_batch(c->be, c->pk, c->npend, c->deadline, res, NULL, NULL, err);
  c->be->mo = saved;
  if (st != TSO_OK) {
    free(res);
    return st;
  }
  tsoC_Key *ok = malloc((size_t)c->npend * sizeof *ok);
  tsoC_Entry *oe = malloc((size_t)c->npend * sizeof *oe);
  int nok = 0;
  if (!ok || !oe) {
    free(ok);
    free(oe);
    free(res);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < c->npend; i++) {
    double v;
    if (!expired && res[i].st == TSO_OK) {
      v = res[i].e.ms;
      ok[nok] = c->pk[i];
      oe[nok++] = res[i].e;
      c->measured++;
    } else {
      v = fallback(c, &c->pk[i]);
    }
    if (memo_put(c, c->ph[i], v)) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      break;
    }
  }
  char e2[TSO_ERRMAX];
  if (st == TSO_OK && nok && c->db) (void)tsoC_db_put(c->db, c->be, nok, ok, oe, e2); /* a cache: failure is not fatal */
  free(ok);
  free(oe);
  free(res);
  c->npend = 0;
  return st;
}

/* A node's cost, measuring what it needs now. */
static tso_status settled_cost(Coster *c, const tsoI_Graph *g, const unsigned char *isconst, int32_t node,
                               double *ms, char *err) {
  uint64_t pend[NODE_KEYS];
  int r = node_cost(c, g, isconst, node, ms, pend, err);
  if (r < 0) return TSO_ERR_NOMEM;
  if (r > 0) {
    tso_status st = flush(c, err);
    if (st != TSO_OK) return st;
    for (int i = 0; i < r; i++) {
      double v = 0.0;
      if (memo_get(c, pend[i], &v)) *ms += v;
    }
  }
  return TSO_OK;
}

/* ---- per-graph state: constants and node costs ------------------------------ */

typedef struct Work {
  tsoI_Graph *g;          /* the materialized graph */
  int32_t cand;           /* the candidate it is the graph of (-1 none) */
  unsigned char *isconst; /* per tensor */
  size_t capc;
  double *ncost;          /* per node */
  size_t capn;
} Work;

static int work_reserve(Work *w) {
  if ((size_t)w->g->nt > w->capc) {
    size_t nc = w->capc ? w->capc : 64;
    while (nc < (size_t)w->g->nt) nc *= 2;
    unsigned char *p = realloc(w->isconst, nc);
    if (!p) return -1;
    w->isconst = p;
    w->capc = nc;
  }
  if ((size_t)w->g->nn > w->capn) {
    size_t nc = w->capn ? w->capn : 64;
    while (nc < (size_t)w->g->nn) nc *= 2;
    double *p = realloc(w->ncost, nc * sizeof *p);
    if (!p) return -1;
    w->ncost = p;
    w->capn = nc;
  }
  return 0;
}

/* Sets isconst for the outputs of node n from its inputs. */
static void const_node(Work *w, int32_t n) {
  const tsoI_Graph *g = w->g;
  const tsoI_Node *nd = &g->n[n];
  int c = nd->op != TSO_OP_OPAQUE;
  for (int k = 0; k < nd->nin && c; k++) {
    int32_t t = TSO_IN(g, nd, k);
    if (t >= 0 && !w->isconst[t]) c = 0;
  }
  for (int k = 0; k < nd->nout; k++) {
    int32_t t = TSO_OUT(g, nd, k);
    w->isconst[t] = (unsigned char)(c || (g->t[t].flags & TSO_T_CONST));
  }
}

/* Fills isconst and ncost for the whole graph (the input of the search). */
static tso_status work_init(Work *w, Coster *c, char *err) {
  tsoI_Graph *g = w->g;
  if (work_reserve(w)) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  for (int32_t t = 0; t < g->nt; t++) w->isconst[t] = (g->t[t].flags & TSO_T_CONST) != 0;
  int32_t *order = malloc(((size_t)g->nn + 1) * sizeof *order);
  if (!order) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  int32_t cnt = tsoI_topo(g, order);
  if (cnt < 0) {
    free(order);
    return tsoO_fail(err, TSO_ERR_INVALID, "%s", g->err);
  }
  for (int32_t k = 0; k < cnt; k++) const_node(w, order[k]);
  free(order);
  /* queue everything unknown, measure it in one batch, then read it back */
  for (int32_t i = 0; i < g->nn; i++) {
    w->ncost[i] = 0.0;
    if (g->n[i].flags & TSO_N_DEAD) continue;
    uint64_t pend[NODE_KEYS];
    if (node_cost(c, g, w->isconst, i, &w->ncost[i], pend, err) < 0) return TSO_ERR_NOMEM;
  }
  tso_status st = flush(c, err);
  if (st != TSO_OK) return st;
  for (int32_t i = 0; i < g->nn; i++)
    if (!(g->n[i].flags & TSO_N_DEAD) && (st = settled_cost(c, g, w->isconst, i, &w->ncost[i], err)) != TSO_OK)
      return st;
  return TSO_OK;
}

/* After nodes were appended: constants and costs of the new nodes. */
static tso_status work_new_nodes(Work *w, Coster *c, const int32_t *nodes, int n, char *err) {
  if (work_reserve(w)) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n; i++) const_node(w, nodes[i]);
  for (int i = 0; i < n; i++) {
    tso_status st = settled_cost(c, w->g, w->isconst, nodes[i], &w->ncost[nodes[i]], err);
    if (st != TSO_OK) return st;
  }
  return TSO_OK;
}

tso_status tsoS_graph_cost(tsoI_Graph *g, tsoC_Backend *be, tsoC_Db *db, double *ms, char *err) {
  Coster c;
  Work w;
  memset(&w, 0, sizeof w);
  *ms = 0.0;
  tso_status st = coster_init(&c, be, db, err);
  if (st == TSO_OK) {
    w.g = g;
    st = work_init(&w, &c, err);
  }
  if (st == TSO_OK) {
    double sum = 0.0;
    for (int32_t i = 0; i < g->nn; i++)
      if (!(g->n[i].flags & TSO_N_DEAD)) sum += w.ncost[i];
    *ms = sum;
  }
  free(w.isconst);
  free(w.ncost);
  coster_free(&c);
  return st;
}

/* ---- candidates ------------------------------------------------------------ */

typedef struct Cand {
  int32_t parent;         /* -1 for the input graph */
  int32_t depth;          /* rewrites from the input */
  double cost;            /* predicted cost, ms */
  tsoS_Match m;           /* the rewrite that made it from its parent */
} Cand;

/* A rewrite evaluated during one expansion, before its cost is settled. */
typedef struct Child {
  tsoS_Match m;
  double cost;            /* known part */
  int npend;
  uint64_t pend[(TSO_RULE_MAX_OPS + 2) * NODE_KEYS];
} Child;

typedef struct S {
  const tsoR_Set *rules;
  const tsoS_Options *o;
  tsoS_Result *res;
  Coster c;
  Work w;
  tsoI_Graph *root;
  Cand *cand;
  int32_t ncand, capcand;
  int32_t *heap;
  int32_t nheap, capheap;
  uint64_t *seen;         /* open addressing, 0 = empty */
  size_t capseen, nseen;
  Child *kids;
  int nkids, capkids;
  tsoS_Journal j;
  tsoS_Index ix;
  double base;            /* cost of the candidate being expanded */
  double deadline;        /* 0: none */
  int timed_out;
  int nmatch;             /* matches seen in this expansion (time checks) */
  unsigned char *valid;   /* per rule to validate: 0 not yet, 1 passed, 2 failed */
  unsigned char *trivial; /* per rule: only swaps commutative operands (see hash_trivial) */
  tso_status st;          /* first failure inside a callback */
  tsoI_Hasher hs;         /* canonical hashes, leaves computed once */
  char *err;
} S;

static int cand_less(const S *s, int32_t a, int32_t b) {
  if (s->cand[a].cost != s->cand[b].cost) return s->cand[a].cost < s->cand[b].cost;
  return a < b;
}

static int heap_push(S *s, int32_t v) {
  if (s->nheap == s->capheap) {
    int32_t nc = s->capheap ? 2 * s->capheap : 256;
    int32_t *h = realloc(s->heap, (size_t)nc * sizeof *h);
    if (!h) return -1;
    s->heap = h;
    s->capheap = nc;
  }
  int32_t i = s->nheap++;
  s->heap[i] = v;
  while (i > 0 && cand_less(s, s->heap[i], s->heap[(i - 1) / 2])) {
    int32_t p = (i - 1) / 2, t = s->heap[p];
    s->heap[p] = s->heap[i];
    s->heap[i] = t;
    i = p;
  }
  return 0;
}

static int32_t heap_pop(S *s) {
  int32_t top = s->heap[0];
  s->heap[0] = s->heap[--s->nheap];
  for (int32_t i = 0;;) {
    int32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->nheap && cand_less(s, s->heap[l], s->heap[m])) m = l;
    if (r < s->nheap && cand_less(s, s->heap[r], s->heap[m])) m = r;
    if (m == i) break;
    int32_t t = s->heap[m];
    s->heap[m] = s->heap[i];
    s->heap[i] = t;
    i = m;
  }
  return top;
}

/* Adds h to the seen set; returns 1 if it was there, -1 on failure. */
static int seen_add(S *s, uint64_t h) {
  if (!h) h = 1;
  if (2 * (s->nseen + 1) > s->capseen) {
    size_t nc = s->capseen ? 2 * s->capseen : 4096;
    uint64_t *n = calloc(nc, sizeof *n);
    if (!n) return -1;
    for (size_t i = 0; i < s->capseen; i++) {
      if (!s->seen[i]) continue;
      size_t k = (size_t)s->seen[i] & (nc - 1);
      while (n[k]) k = (k + 1) & (nc - 1);
      n[k] = s->seen[i];
    }
    free(s->seen);
    s->seen = n;
    s->capseen = nc;
  }
  size_t i = (size_t)h & (s->capseen - 1);
  while (s->seen[i]) {
    if (s->seen[i] == h) return 1;
    i = (i + 1) & (s->capseen - 1);
  }
  s->seen[i] = h;
  s->nseen++;
  return 0;
}

static int32_t cand_add(S *s, int32_t parent, const tsoS_Match *m, double cost) {
  if (s->ncand == s->capcand) {
    int32_t nc = s->capcand ? 2 * s->capcand : 256;
    Cand *c = realloc(s->cand, (size_t)nc * sizeof *c);
    if (!c) return -1;
    s->cand = c;
    s->capcand = nc;
  }
  Cand *c = &s->cand[s->ncand];
  memset(c, 0, sizeof *c);
  c->parent = parent;
  c->depth = parent >= 0 ? s->cand[parent].depth + 1 : 0;
  c->cost = cost;
  if (m) c->m = *m;
  return s->ncand++;
}


/* ---- layout moves ------------------------------------------------------------ */

/* 1 when tensor t may be stored in another layout: a float value of known
** shape computed by a live node; not a graph input or output (their layout
** is the model's interface), not a weight (runtimes lay weights out for
** their kernels when they load them, whatever the file says). */
static int movable(const tsoI_Graph *g, int32_t t) {
  const tsoI_Tensor *x = &g->t[t];
  if (x->dtype != TSO_DT_FLOAT || x->shape.rank < 2 || (x->flags & (TSO_T_INPUT | TSO_T_OUTPUT))) return 0;
  for (int i = 0; i < x->shape.rank; i++)
    if (x->shape.d[i] <= 0) return 0;
  return x->producer >= 0 && !(g->n[x->producer].flags & TSO_N_DEAD) && g->n[x->producer].op != TSO_OP_OPAQUE;
}

/* Nodes whose cost depends on the layout of t: its producer and its
** readers, each once. The readers come from ix when it describes g (the
** graph being expanded), else from a walk over the nodes (replaying a
** chain). Returns the count (at most cap), -1 when more. */
static int layout_nodes(const tsoI_Graph *g, const tsoS_Index *ix, int32_t t, int32_t *out, int cap) {
  int n = 0;
  int32_t pr = g->t[t].producer;
  if (pr >= 0) out[n++] = pr;
  if (ix) {
    /* a node reading t twice is listed twice, next to itself */
    for (int32_t e = ix->cstart[t]; e < ix->cstart[t + 1]; e++) {
      int32_t i = ix->cons[e];
      if (i == pr || (e > ix->cstart[t] && ix->cons[e - 1] == i)) continue;
      if (n == cap) return -1;
      out[n++] = i;
    }
    return n;
  }
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD || i == pr) continue;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) == t) {
        if (n == cap) return -1;
        out[n++] = i;
        break;
      }
  }
  return n;
}

static int node_maxrank(const tsoI_Graph *g, int32_t node) {
  int r = 0;
  const tsoI_Node *nd = &g->n[node];
  for (int k = 0; k < nd->nin; k++) {
    int32_t t = TSO_IN(g, nd, k);
    if (t >= 0 && g->t[t].shape.rank > r) r = g->t[t].shape.rank;
  }
  return r;
}

/* Layouts worth trying for t: those its writer or a reader (other than a
** layout-transparent element-wise one) supports. */
static unsigned layout_mask(const tsoI_Graph *g, const tsoS_Index *ix, int32_t t) {
  const tsoI_Tensor *x = &g->t[t];
  unsigned m = 0;
  if (x->producer >= 0) {
    const tsoO_Info *oi = tsoO_info(g->n[x->producer].op);
    if (oi && !((oi->flags & TSO_OPF_UNARY) && (oi->flags & TSO_OPF_ELEMWISE)))
      m |= tsoL_supported(g->n[x->producer].op, 1, x->slot, x->shape.rank, node_maxrank(g, x->producer));
  }
  for (int32_t e = ix->cstart[t]; e < ix->cstart[t + 1]; e++) {
    const tsoI_Node *nd = &g->n[ix->cons[e]];
    const tsoO_Info *oi = tsoO_info(nd->op);
    if (!oi || ((oi->flags & TSO_OPF_UNARY) && (oi->flags & TSO_OPF_ELEMWISE))) continue;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) == t) m |= tsoL_supported(nd->op, 0, k, x->shape.rank, node_maxrank(g, ix->cons[e]));
  }
  return m & ~TSO_LAYOUT_BIT(x->layout);
}

/* Stores tensor t in `layout` on the work graph and re-costs the nodes
** that read or write it (ix: see layout_nodes). */
static tso_status move_layout(S *s, const tsoS_Index *ix, int32_t t, int layout) {
  int32_t nodes[256];
  tsoI_Graph *g = s->w.g;
  if (t < 0 || t >= g->nt || !tsoL_valid(layout, g->t[t].shape.rank))
    return tsoO_fail(s->err, TSO_ERR_ARG, "layout move: bad tensor %d or layout %d", t, layout);
  g->t[t].layout = layout;
  int n = layout_nodes(g, ix, t, nodes, 256);
  for (int i = 0; i < n; i++) {
    tso_status st = settled_cost(&s->c, g, s->w.isconst, nodes[i], &s->w.ncost[nodes[i]], s->err);
    if (st != TSO_OK) return st;
  }
  return TSO_OK;
}

/* The layout child of the work graph: every tensor, in id order, is
** stored in whichever layout its writer or a reader supports makes the
** graph cheapest (the conversions where the others do not included), a
** move kept only when it makes the graph strictly cheaper; passes repeat
** until none changes anything (at most LAYOUT_PASSES). The moves become a
** chain of candidates of which only the last is queued: one child per
** expansion, where one child per move would queue every subset of a set
** of independent moves. Each move is costed at once (measured if needed).
** The work graph is left as it was. */
#define LAYOUT_PASSES 3
#define LAYOUT_MOVES_MAX 4096

static tso_status layout_moves(S *s, int32_t id, int32_t *best) {
  tsoI_Graph *g = s->w.g;
  int32_t nodes[256];
  double cost = s->base;
  int32_t *mt = malloc(LAYOUT_MOVES_MAX * sizeof *mt);
  int *ml = malloc(LAYOUT_MOVES_MAX * sizeof *ml), *mo = malloc(LAYOUT_MOVES_MAX * sizeof *mo);
  double *mc = malloc(LAYOUT_MOVES_MAX * sizeof *mc);
  int nm = 0;
  tso_status st = TSO_OK;
  if (!mt || !ml || !mo || !mc) {
    st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int pass = 0, changed = 1; pass < LAYOUT_PASSES && changed && !s->timed_out; pass++) {
    changed = 0;
    for (int32_t t = 0; t < g->nt && !s->timed_out && nm < LAYOUT_MOVES_MAX; t++) {
      if (!movable(g, t)) continue;
      unsigned mask = layout_mask(g, &s->ix, t);
      if (!mask) continue;
      int n = layout_nodes(g, &s->ix, t, nodes, 256);
      if (n <= 0) continue;
      int orig = g->t[t].layout, bestl = orig;
      double bestd = 0.0;
      for (int l = 0; l < TSO_LAYOUT__COUNT; l++) {
        if (!(mask & TSO_LAYOUT_BIT(l)) || !tsoL_valid(l, g->t[t].shape.rank)) continue;
        if (tsoL_same_storage(g->t[t].shape.rank, g->t[t].shape.d, orig, l)) continue; /* no real choice */
        if (s->deadline > 0.0 && now_s() >= s->deadline) {
          s->timed_out = 1;
          break;
        }
        s->res->layout_moves++;
        double d = 0.0;
        g->t[t].layout = l;
        for (int i = 0; i < n && st == TSO_OK; i++) {
          double ms = 0.0;
          st = settled_cost(&s->c, g, s->w.isconst, nodes[i], &ms, s->err);
          d += ms - s->w.ncost[nodes[i]];
        }
        g->t[t].layout = orig;
        if (st != TSO_OK) goto done;
        if (d < bestd - 1e-9) {
          bestd = d;
          bestl = l;
        }
      }
      if (bestl == orig) continue;
      mt[nm] = t;
      mo[nm] = orig;
      ml[nm] = bestl;
      if ((st = move_layout(s, &s->ix, t, bestl)) != TSO_OK) goto done; /* updates the nodes' costs */
      cost += bestd;
      mc[nm++] = cost;
      changed = 1;
    }
  }
  if (nm > 0) {
    s->res->generated++;
    uint64_t h = cost < s->o->alpha * s->cand[*best].cost ? tsoI_hasher_hash(&s->hs, g) : 0;
    int dup = h ? seen_add(s, h) : 0;
    if (dup < 0) {
      st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
    } else if (!h) {
      s->res->pruned_alpha++;
    } else if (dup) {
      s->res->duplicates++;
    } else {
      int32_t parent = id;
      for (int k = 0; k < nm && st == TSO_OK; k++) {
        tsoS_Match m;
        memset(&m, 0, sizeof m);
        m.rule = TSO_S_LAYOUT;
        m.in[0] = mt[k];
        m.in[1] = ml[k];
        int32_t c = cand_add(s, parent, &m, mc[k]);
        if (c < 0) st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
        parent = c;
      }
      if (st == TSO_OK && heap_push(s, parent)) st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
      if (st == TSO_OK) {
        s->res->kept++;
        if (cost < s->cand[*best].cost) *best = parent;
      }
    }
  }
  /* the work graph back to the expanded candidate's */
  for (int k = nm - 1; k >= 0; k--) {
    tso_status s2 = move_layout(s, &s->ix, mt[k], mo[k]);
    if (st == TSO_OK) st = s2;
  }
done:
  free(mt);
  free(ml);
  free(mo);
  free(mc);
  return st;
}

/* Applies candidate id's own rewrite on the work graph (its parent's). */
static tso_status step(S *s, int32_t id) {
  int32_t nodes[TSO_RULE_MAX_OPS + 2];
  int n = 0;
  const Cand *c = &s->cand[id];
  if (c->m.rule == TSO_S_LAYOUT) return move_layout(s, NULL, c->m.in[0], c->m.in[1]);
  tso_status st = tsoS_apply(s->w.g, &s->rules->r[c->m.rule], &c->m, NULL, nodes, &n, s->err);
  if (st == TSO_OK) st = work_new_nodes(&s->w, &s->c, nodes, n, s->err);
  return st;
}

/* Makes the work graph the graph of candidate id. */
static tso_status materialize(S *s, int32_t id) {
  if (s->w.cand == id) return TSO_OK;
  tso_status st;
  if (s->w.g && s->w.cand >= 0 && s->cand[id].parent == s->w.cand) {
    if ((st = step(s, id)) != TSO_OK) return st;
    s->w.cand = id;
    return TSO_OK;
  }
  tsoI_free(s->w.g);
  s->w.g = tsoI_clone_shallow(s->root);
  s->w.cand = -1;
  if (!s->w.g) return tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
  if ((st = work_init(&s->w, &s->c, s->err)) != TSO_OK) return st;
  int32_t depth = s->cand[id].depth;
  int32_t *chain = malloc(((size_t)depth + 1) * sizeof *chain);
  if (!chain) return tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
  int32_t k = depth;
  for (int32_t c = id; c > 0; c = s->cand[c].parent) chain[--k] = c;
  for (k = 0; k < depth; k++)
    if ((st = step(s, chain[k])) != TSO_OK) break;
  free(chain);
  if (st == TSO_OK) s->w.cand = id;
  return st;
}

/* 1 when r only swaps the operands of commutative operators: such a
** rewrite always gives a graph of the same canonical hash (the hash sorts
** commutative operands, and the matcher tries both orders), so it can only
** produce duplicates and is skipped. */
static int hash_trivial(const tsoR_Rule *r) {
  if (r->src.nops != r->dst.nops || r->src.nout != r->dst.nout) return 0;
  if (memcmp(r->src.out, r->dst.out, sizeof r->src.out)) return 0;
  for (int k = 0; k < r->src.nops; k++) {
    const tsoR_Op *a = &r->src.ops[k], *b = &r->dst.ops[k];
    if (a->op != b->op || a->nin != b->nin || a->nout != b->nout || memcmp(&a->p, &b->p, sizeof a->p)) return 0;
    if (!memcmp(a->in, b->in, sizeof a->in)) continue;
    const tsoO_Info *oi = tsoO_info(a->op);
    if (!oi || !(oi->flags & TSO_OPF_COMMUTATIVE) || a->nin != 2 || a->p.axis.legacy) return 0;
    if (memcmp(&a->in[0], &b->in[1], sizeof a->in[0]) || memcmp(&a->in[1], &b->in[0], sizeof a->in[0])) return 0;
  }
  return 1;
}

/* Checks a rule that is not proven (a lifted rule) numerically on the
** shapes of its first match: both sides evaluated on the same random
** inputs. Returns 0 when they agree; the verdict is kept for the run. */
static int validate(S *s, const tsoR_Rule *r, const tsoS_Match *m) {
  tsoO_Shape shapes[TSO_RULE_MAX_IN];
  for (int i = 0; i < r->nin; i++) shapes[i] = s->w.g->t[m->in[i]].shape;
  tsoI_Graph *a = NULL, *b = NULL;
  char e2[TSO_ERRMAX];
  int ok = tsoR_instantiate(r, 0, shapes, &a, e2) == TSO_OK && tsoR_instantiate(r, 1, shapes, &b, e2) == TSO_OK;
  if (ok) {
    tsoI_CompareResult cr;
    ok = tsoI_compare(a, b, 0x5EED0F1F7ull, 1e-3, 1e-4, &cr) == TSO_OK && cr.ran && !cr.unchecked;
  }
  tsoI_free(a);
  tsoI_free(b);
  s->valid[m->rule] = ok ? 1 : 2;
  if (!ok) s->res->rules_refuted++;
  return ok ? 0 : -1;
}

/* Evaluates one rewrite of the work graph (a tsoS_MatchFn). */
static int on_match(void *ud, const tsoS_Match *m) {
  S *s = ud;
  tsoI_Graph *g = s->w.g;
  const tsoR_Rule *r = &s->rules->r[m->rule];
  int32_t nodes[TSO_RULE_MAX_OPS + 2];
  int n = 0;
  char e2[TSO_ERRMAX];
  if (s->deadline > 0.0 && (++s->nmatch & 31) == 0 && now_s() >= s->deadline) {
    s->timed_out = 1;
    return 1;
  }
  if (s->o->check_first && s->o->check_first[m->rule] && s->valid[m->rule] != 1) {
    if (s->valid[m->rule] == 2 || validate(s, r, m) != 0) return 0;
  }
  tso_status st = tsoS_apply(g, r, m, &s->j, nodes, &n, e2);
  if (st == TSO_ERR_NOMEM) {
    s->st = tsoO_fail(s->err, st, "%s", e2);
    return 1;
  }
  if (st != TSO_OK) return 0; /* not applicable after all */
  s->res->generated++;
  uint64_t h = tsoI_hasher_hash(&s->hs, g);
  int dup = h ? seen_add(s, h) : -1;
  if (dup != 0) {
    tsoS_undo(g, &s->j);
    if (dup < 0) {
      s->st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
      return 1;
    }
    s->res->duplicates++;
    return 0;
  }
  if (s->nkids == s->capkids) {
    int nc = s->capkids ? 2 * s->capkids : 64;
    Child *k = realloc(s->kids, (size_t)nc * sizeof *k);
    if (!k) {
      tsoS_undo(g, &s->j);
      s->st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
      return 1;
    }
    s->kids = k;
    s->capkids = nc;
  }
  Child *kid = &s->kids[s->nkids];
  memset(kid, 0, sizeof *kid);
  kid->m = *m;
  kid->cost = s->base;
  for (int k = 0; k < r->src.nops; k++) kid->cost -= s->w.ncost[m->node[k]];
  if (work_reserve(&s->w)) {
    tsoS_undo(g, &s->j);
    s->st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
    return 1;
  }
  for (int i = 0; i < n; i++) const_node(&s->w, nodes[i]);
  for (int i = 0; i < n; i++) {
    double ms;
    int rc = node_cost(&s->c, g, s->w.isconst, nodes[i], &ms, kid->pend + kid->npend, e2);
    if (rc < 0) {
      tsoS_undo(g, &s->j);
      s->st = tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
      return 1;
    }
    kid->npend += rc;
    kid->cost += ms;
  }
  tsoS_undo(g, &s->j);
  s->nkids++;
  return 0;
}

/* Expands candidate id: every rewrite of its graph. */
static tso_status expand(S *s, int32_t id, int32_t *best) {
  tso_status st = materialize(s, id);
  if (st != TSO_OK) return st;
  if ((st = tsoS_index_build(&s->ix, s->w.g, s->err)) != TSO_OK) return st;
  s->base = s->cand[id].cost;
  s->nkids = 0;
  for (uint32_t r = 0; r < s->rules->n && !s->timed_out; r++) {
    if ((s->o->disabled && s->o->disabled[r]) || s->trivial[r]) continue;
    if (tsoS_find_matches(s->w.g, &s->ix, &s->rules->r[r], r, on_match, s, &s->res->ms, s->err) < 0)
      return TSO_ERR_NOMEM;
    if (s->st != TSO_OK) return s->st;
  }
  if ((st = flush(&s->c, s->err)) != TSO_OK) return st;
  if (!s->o->no_layouts && !s->timed_out && (st = layout_moves(s, id, best)) != TSO_OK) return st;
  for (int i = 0; i < s->nkids; i++) {
    Child *k = &s->kids[i];
    for (int p = 0; p < k->npend; p++) {
      double ms = 0.0;
      if (!memo_get(&s->c, k->pend[p], &ms)) ms = 0.0;
      k->cost += ms;
    }
    double bestc = s->cand[*best].cost;
    if (k->cost < s->o->alpha * bestc) {
      int32_t c = cand_add(s, id, &k->m, k->cost);
      if (c < 0 || heap_push(s, c)) return tsoO_fail(s->err, TSO_ERR_NOMEM, "out of memory");
      s->res->kept++;
      if (k->cost < bestc) *best = c;
    } else {
      s->res->pruned_alpha++;
    }
  }
  return TSO_OK;
}

/* Clones the work graph and compacts the copy. */
static tso_status take(tsoI_Graph *g, tsoI_Graph **out, char *err) {
  tsoI_Graph *h = tsoI_clone(g);
  if (!h) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  tso_status st = tsoI_compact(h);
  if (st != TSO_OK) {
    tsoI_free(h);
    return tsoO_fail(err, st, "out of memory");
  }
  *out = h;
  return TSO_OK;
}

tso_status tsoS_search(tsoI_Graph *g, const tsoR_Set *rules, const tsoS_Options *o, tsoI_Graph **best,
                       tsoS_Result *res, char *err) {
  double t0 = now_s();
  memset(res, 0, sizeof *res);
  *best = NULL;
  if (!g || !rules || !o || !o->be) return tsoO_fail(err, TSO_ERR_ARG, "tsoS_search: NULL argument");
  S s;
  memset(&s, 0, sizeof s);
  s.rules = rules;
  s.o = o;
  s.res = res;
  s.root = g;
  s.err = err;
  s.w.cand = -1;
  s.deadline = o->time_limit > 0.0 ? t0 + o->time_limit : 0.0;
  tso_status st = coster_init(&s.c, o->be, o->db, err);
  if (st != TSO_OK) goto done;
  s.valid = calloc((size_t)rules->n + 1, 1);
  s.trivial = calloc((size_t)rules->n + 1, 1);
  if (!s.valid || !s.trivial) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (uint32_t r = 0; r < rules->n; r++) s.trivial[r] = (unsigned char)hash_trivial(&rules->r[r]);
  /* the input's own operators are measured with the full settings */
  s.w.g = tsoI_clone_shallow(g);
  if (!s.w.g) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  if ((st = work_init(&s.w, &s.c, err)) != TSO_OK) goto done;
  double c0 = 0.0;
  for (int32_t i = 0; i < s.w.g->nn; i++)
    if (!(s.w.g->n[i].flags & TSO_N_DEAD)) c0 += s.w.ncost[i];
  s.c.short_settings = 1;
  {
    double mb = o->measure_budget_s > 0.0 ? o->measure_budget_s
                : o->time_limit > 0.0   ? o->time_limit / 2
                                        : 30.0;
    s.c.deadline = now_s() + mb;
  }
  int32_t root = cand_add(&s, -1, NULL, c0), bestid = root;
  s.w.cand = root;
  res->cost_before = c0;
  if (root < 0 || heap_push(&s, root) || tsoI_hasher_init(&s.hs, g) || seen_add(&s, tsoI_hasher_hash(&s.hs, s.w.g)) < 0) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  while (s.nheap > 0) {
    if (res->expanded >= o->budget) {
      res->stopped_by = 1;
      break;
    }
    if (s.deadline > 0.0 && now_s() >= s.deadline) {
      res->stopped_by = 2;
      break;
    }
    int32_t id = heap_pop(&s);
    if (s.cand[id].cost > o->alpha * s.cand[bestid].cost) {
      res->pruned_alpha++;
      continue;
    }
    res->expanded++;
    if ((st = expand(&s, id, &bestid)) != TSO_OK) goto done;
    if (s.timed_out) {
      res->stopped_by = 2;
      break;
    }
  }
  /* the path to the best graph */
  {
    const Cand *b = &s.cand[bestid];
    res->cost_after = b->cost;
    res->nsteps = b->depth;
    res->steps = calloc((size_t)b->depth + 1, sizeof *res->steps);
    res->matches = calloc((size_t)b->depth + 1, sizeof *res->matches);
    if (!res->steps || !res->matches) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto done;
    }
    int32_t k = b->depth;
    for (int32_t c = bestid; c > 0; c = s.cand[c].parent) {
      --k;
      res->steps[k].rule = s.cand[c].m.rule;
      res->steps[k].tensor = s.cand[c].m.rule == TSO_S_LAYOUT ? s.cand[c].m.in[0] : -1;
      res->steps[k].layout = s.cand[c].m.rule == TSO_S_LAYOUT ? s.cand[c].m.in[1] : 0;
      res->steps[k].cost_before = s.cand[s.cand[c].parent].cost;
      res->steps[k].cost_after = s.cand[c].cost;
      res->matches[k] = s.cand[c].m;
    }
  }
  if ((st = materialize(&s, bestid)) != TSO_OK) goto done;
  /* the copy handed out owns what the input owned */
  for (int32_t i = 0; i < g->nt && i < s.w.g->nt; i++)
    if ((g->t[i].flags & TSO_T_OWNED) && s.w.g->t[i].data == g->t[i].data) s.w.g->t[i].flags |= TSO_T_OWNED;
  st = take(s.w.g, best, err);
done:
  res->measured = s.c.measured;
  res->estimated = s.c.estimated;
  res->seconds = now_s() - t0;
  if (st != TSO_OK) tsoS_result_free(res);
  tsoI_free(s.w.g);
  free(s.w.isconst);
  free(s.w.ncost);
  free(s.cand);
  free(s.heap);
  free(s.seen);
  free(s.kids);
  free(s.valid);
  free(s.trivial);
  tsoI_hasher_free(&s.hs);
  tsoS_journal_free(&s.j);
  tsoS_index_free(&s.ix);
  coster_free(&s.c);
  return st;
}

tso_status tsoS_replay(tsoI_Graph *g, const tsoR_Set *rules, const tsoS_Result *res, int n, tsoI_Graph **out,
                       char *err) {
  *out = NULL;
  if (n < 0 || n > res->nsteps) return tsoO_fail(err, TSO_ERR_ARG, "replay: %d of %d steps", n, res->nsteps);
  tsoI_Graph *h = tsoI_clone(g);
  if (!h) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    const tsoS_Match *m = &res->matches[i];
    if (m->rule == TSO_S_LAYOUT) {
      if (m->in[0] < 0 || m->in[0] >= h->nt || !tsoL_valid(m->in[1], h->t[m->in[0]].shape.rank)) {
        tsoI_free(h);
        return tsoO_fail(err, TSO_ERR_ARG, "replay: bad layout move");
      }
      h->t[m->in[0]].layout = m->in[1];
      continue;
    }
    if (m->rule >= rules->n) {
      tsoI_free(h);
      return tsoO_fail(err, TSO_ERR_ARG, "replay: rule %u out of range", m->rule);
    }
    tso_status st = tsoS_apply(h, &rules->r[m->rule], m, NULL, NULL, NULL, err);
    if (st != TSO_OK) {
      tsoI_free(h);
      return st;
    }
  }
  tso_status st = take(h, out, err);
  tsoI_free(h);
  return st;
}
