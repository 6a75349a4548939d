/*
** validate.c -- every axiom checked against the operator kernels, exactly,
** on every combination of shapes (rank <= 4, dims 1..3) and parameters (the
** small domains of params.c) that the operators accept, plus random larger
** shapes; and the redundancy of each axiom against the others (Z3).
**
** The search assigns the integer variables first, then the tensor
** variables in the order they appear. After each assignment every
** operator of the axiom whose parameters are known is re-inferred with the
** operators' own infer(), unassigned tensors being of unknown shape; infer
** never fails on what it does not know, so a failure is final and prunes
** the search. A complete assignment is checked as the axiom promises (see
** docs/axioms.md): where the guard holds and the left side is well-formed
** the right side must be well-formed and equal (for '=' axioms also the
** other way round); a shape axiom's two shapes must be equal. Values are
** random elements of GF(2^61 - 1) (modeval.c); every k-th check is also
** repeated in float with the reference kernels on an instantiated rule.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "verify/z3enc.h"

void tsoV_val_options_default(tsoV_ValOptions *o) {
  memset(o, 0, sizeof *o);
  o->max_dim = 3;
  o->max_rank = 4;
  o->random = 100;
  o->random_dim = 6;
  o->float_every = 64;
  o->seed = 1;
}

/* Values of the integer domains. */
static int domain(int d, int32_t *v) {
  static const int32_t axis[] = {0, 1, 2, 3}, stride[] = {1, 2}, pad[] = {0, 1, 2, 3}, act[] = {0, 1},
                       parts[] = {2, 3}, ksize[] = {1, 2, 3}, dim[] = {0, 1, 2, 3}, rank[] = {0, 1, 2, 3, 4},
                       boolean[] = {0, 1};
  const int32_t *src;
  int n;
  switch (d) {
  case TSO_VD_AXIS: src = axis, n = 4; break;
  case TSO_VD_STRIDE: src = stride, n = 2; break;
  case TSO_VD_PAD: src = pad, n = 4; break;
  case TSO_VD_ACT: src = act, n = 2; break;
  case TSO_VD_PARTS: src = parts, n = 2; break;
  case TSO_VD_KSIZE: src = ksize, n = 3; break;
  case TSO_VD_DIM: src = dim, n = 4; break;
  case TSO_VD_RANK: src = rank, n = 5; break;
  default: src = boolean, n = 2; break;
  }
  memcpy(v, src, (size_t)n * sizeof *v);
  return n;
}

enum { N_UNKNOWN = 0, N_OK = 1, N_BAD = 2 };

typedef struct VS {
  const tsoV_Axiom *a;
  const tsoV_ValOptions *o;
  tsoV_ValStats *st;
  int nvar;                          /* integer variables first, then tensor variables */
  int var[2 * TSO_V_MAX_VARS];       /* id: 0..7 tensor, 8.. integer */
  unsigned mask[TSO_V_MAX_NODES];    /* variables below each node (bits as var ids) */
  int post[TSO_V_MAX_NODES], npost;  /* used APP/TVAR nodes, children first */
  unsigned used_side[TSO_V_MAX_NODES]; /* 1 under lhs, 2 under rhs, 4 under the guard */
  unsigned assigned;                 /* variable bits assigned */
  tsoO_Shape tsh[TSO_V_MAX_VARS];    /* tensor variable shapes */
  int32_t ival[TSO_V_MAX_VARS];      /* integer variable values */
  uint8_t state[TSO_V_MAX_NODES];    /* N_* */
  tsoO_Shape sh[TSO_V_MAX_NODES];    /* node shapes (may hold unknowns) */
  tsoO_Params pp[TSO_V_MAX_NODES];   /* node parameters with the variables set */
  uint64_t *val[TSO_V_MAX_NODES];    /* values of the last full evaluation */
  tsoO_Shape *shapes;                /* the tensor domain */
  int nshapes;
  uint64_t rng;
  int same_as[TSO_V_MAX_VARS];       /* a same(x, y) guard on two variables: y takes x's shape; -1 */
  int random_phase;
  int stop;                          /* a failure was recorded: stop searching */
} VS;

static unsigned node_mask(VS *v, int k) {
  const tsoV_Node *n = &v->a->n[k];
  unsigned m = 0;
  if (n->kind == TSO_VN_TVAR) m |= 1u << n->val;
  if (n->kind == TSO_VN_IVAR) m |= 1u << (8 + n->val);
  if (n->kind == TSO_VN_APP)
    for (int w = 0; w < 32; w++)
      if (n->pvar[w] >= 0) m |= 1u << (8 + n->pvar[w]);
  for (int i = 0; i < n->nin; i++) m |= node_mask(v, n->a[i]);
  v->mask[k] = m;
  return m;
}

/* Post-order of the tensor terms below k (once each), recording the sides. */
static void walk(VS *v, int k, unsigned side, unsigned *seenvars, int *order, int *norder) {
  const tsoV_Node *n = &v->a->n[k];
  for (int i = 0; i < n->nin; i++) walk(v, n->a[i], side, seenvars, order, norder);
  int vid = -1;
  if (n->kind == TSO_VN_TVAR) vid = n->val;
  if (n->kind == TSO_VN_IVAR) vid = 8 + n->val;
  if (vid >= 0 && !(*seenvars & (1u << vid))) {
    *seenvars |= 1u << vid;
    order[(*norder)++] = vid;
  }
  if (n->kind == TSO_VN_APP)
    for (int w = 0; w < 32; w++)
      if (n->pvar[w] >= 0 && !(*seenvars & (1u << (8 + n->pvar[w])))) {
        *seenvars |= 1u << (8 + n->pvar[w]);
        order[(*norder)++] = 8 + n->pvar[w];
      }
  if ((n->kind == TSO_VN_APP || n->kind == TSO_VN_TVAR)) {
    if (!v->used_side[k]) v->post[v->npost++] = k;
    v->used_side[k] |= side;
  }
}

static void setup(VS *v) {
  const tsoV_Axiom *a = v->a;
  unsigned seen = 0;
  int order[2 * TSO_V_MAX_VARS], no = 0;
  for (int k = 0; k < a->nn; k++) node_mask(v, k);
  walk(v, a->lhs, 1, &seen, order, &no);
  walk(v, a->rhs, 2, &seen, order, &no);
  for (int i = 0; i < a->na; i++) {
    walk(v, a->g[i].l, 4, &seen, order, &no);
    walk(v, a->g[i].r, 4, &seen, order, &no);
    if (a->g[i].x >= 0) walk(v, a->g[i].x, 4, &seen, order, &no);
  }
  v->nvar = 0;
  for (int i = 0; i < no; i++)
    if (order[i] >= 8) v->var[v->nvar++] = order[i];
  for (int i = 0; i < no; i++)
    if (order[i] < 8) v->var[v->nvar++] = order[i];
  /* same(x, y) on two variables: the later one only takes the earlier's shape */
  for (int i = 0; i < TSO_V_MAX_VARS; i++) v->same_as[i] = -1;
  for (int i = 0; i < a->na; i++) {
    const tsoV_Atom *g = &a->g[i];
    if (g->kind != TSO_VA_SAME || a->n[g->l].kind != TSO_VN_TVAR || a->n[g->r].kind != TSO_VN_TVAR) continue;
    int x = a->n[g->l].val, y = a->n[g->r].val, px = -1, py = -1;
    for (int k = 0; k < v->nvar; k++) {
      if (v->var[k] == x) px = k;
      if (v->var[k] == y) py = k;
    }
    if (x != y && px >= 0 && py >= 0) {
      if (px < py) v->same_as[y] = x;
      else v->same_as[x] = y;
    }
  }
}

/* Re-infers node k (APP or TVAR) from the current assignment. */
static void infer_node(VS *v, int k) {
  const tsoV_Node *n = &v->a->n[k];
  char err[TSO_ERRMAX];
  if (n->kind == TSO_VN_TVAR) {
    if (v->assigned & (1u << n->val)) v->sh[k] = v->tsh[n->val], v->state[k] = N_OK;
    else memset(&v->sh[k], 0, sizeof v->sh[k]), v->sh[k].rank = -1, v->state[k] = N_OK;
    return;
  }
  if ((v->mask[k] >> 8) & ~(v->assigned >> 8)) {
    v->state[k] = N_UNKNOWN;
    return;
  }
  tsoO_Params *p = &v->pp[k];
  *p = n->p;
  for (int w = 0; w < 32; w++)
    if (n->pvar[w] >= 0) p->raw[w] = v->ival[n->pvar[w]];
  tsoO_Value in[4], out[32];
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  for (int i = 0; i < n->nin; i++) {
    int c = n->a[i];
    if (v->state[c] == N_BAD) {
      v->state[k] = N_BAD;
      return;
    }
    in[i].dtype = TSO_DT_FLOAT;
    in[i].shape = v->sh[c];
    if (v->state[c] == N_UNKNOWN) in[i].shape.rank = -1;
  }
  const tsoO_Info *oi = tsoO_info(n->op);
  if (n->nout > 32 || oi->infer(p, n->nin, in, n->nout, out, err) != TSO_OK) {
    v->state[k] = N_BAD;
    return;
  }
  v->sh[k] = out[n->slot].shape;
  v->state[k] = N_OK;
  for (int i = 0; i < v->sh[k].rank; i++)
    if (v->sh[k].d[i] == 0) v->state[k] = N_BAD; /* empty tensors are out of scope */
}

/* Integer value of node k (expressions over variables and shapes);
** returns 0 when a tensor below is not well-formed. */
static int ival_of(VS *v, int k, int64_t *out) {
  const tsoV_Node *n = &v->a->n[k];
  int64_t x, y;
  switch (n->kind) {
  case TSO_VN_INT: *out = n->val; return 1;
  case TSO_VN_IVAR: *out = v->ival[n->val]; return 1;
  case TSO_VN_DIM:
    if (!ival_of(v, n->a[0], &x) || v->state[n->a[1]] != N_OK || v->sh[n->a[1]].rank < 0) return 0;
    *out = x >= 0 && x < v->sh[n->a[1]].rank ? v->sh[n->a[1]].d[x] : 0;
    return 1;
  case TSO_VN_RANK:
    if (v->state[n->a[0]] != N_OK || v->sh[n->a[0]].rank < 0) return 0;
    *out = v->sh[n->a[0]].rank;
    return 1;
  case TSO_VN_ADD: case TSO_VN_SUB: case TSO_VN_MUL: case TSO_VN_DIV:
    if (!ival_of(v, n->a[0], &x) || !ival_of(v, n->a[1], &y)) return 0;
    if (n->kind == TSO_VN_ADD) *out = x + y;
    else if (n->kind == TSO_VN_SUB) *out = x - y;
    else if (n->kind == TSO_VN_MUL) *out = x * y;
    else {
      if (y == 0) return 0;
      /* Z3's div: floor for a positive divisor */
      int64_t q = x / y;
      if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
      *out = q;
    }
    return 1;
  default: return 0;
  }
}

/* A shape value: [0] rank, [1..8] dims (0 beyond the rank). */
static int sval_of(VS *v, int k, int64_t *s) {
  const tsoV_Node *n = &v->a->n[k];
  int64_t x, y;
  memset(s, 0, (1 + TSO_MAX_RANK) * sizeof *s);
  switch (n->kind) {
  case TSO_VN_SHAPE: {
    int t = n->a[0];
    if (v->state[t] != N_OK || v->sh[t].rank < 0) return 0;
    s[0] = v->sh[t].rank;
    for (int i = 0; i < v->sh[t].rank; i++) s[1 + i] = v->sh[t].d[i];
    return 1;
  }
  case TSO_VN_SETDIM:
    if (!sval_of(v, n->a[0], s) || !ival_of(v, n->a[1], &x) || !ival_of(v, n->a[2], &y)) return 0;
    if (x >= 0 && x < TSO_MAX_RANK) s[1 + x] = y;
    return 1;
  case TSO_VN_DIMS:
    s[0] = n->nin;
    for (int i = 0; i < n->nin; i++)
      if (!ival_of(v, n->a[i], &s[1 + i])) return 0;
    return 1;
  case TSO_VN_TUPLE:
    for (int i = 0; i < n->nin; i++)
      if (!ival_of(v, n->a[i], &s[i])) return 0;
    return 1;
  case TSO_VN_BCAST: {
    int64_t r[1 + TSO_MAX_RANK];
    if (!sval_of(v, n->a[0], s) || !sval_of(v, n->a[1], r)) return 0;
    for (int i = 1; i <= TSO_MAX_RANK; i++)
      if (s[i] == 1) s[i] = r[i];
    return 1;
  }
  default: return 0;
  }
}

/* Guard atom i: 1 true, 0 false. */
static int atom_true(VS *v, int i) {
  const tsoV_Atom *g = &v->a->g[i];
  int64_t l, r;
  if (g->kind == TSO_VA_SAME || g->kind == TSO_VA_ALIKE) {
    int64_t ax = -1;
    if (v->state[g->l] != N_OK || v->state[g->r] != N_OK) return 0;
    if (g->kind == TSO_VA_ALIKE && !ival_of(v, g->x, &ax)) return 0;
    const tsoO_Shape *a = &v->sh[g->l], *b = &v->sh[g->r];
    if (a->rank < 0 || a->rank != b->rank) return 0;
    for (int j = 0; j < a->rank; j++)
      if (j != ax && a->d[j] != b->d[j]) return 0;
    return 1;
  }
  if (!ival_of(v, g->l, &l) || !ival_of(v, g->r, &r)) return 0;
  switch (g->kind) {
  case TSO_VA_EQ: return l == r;
  case TSO_VA_NE: return l != r;
  case TSO_VA_LT: return l < r;
  default: return l <= r;
  }
}

/* After variable bit `bit` was assigned: re-infers the nodes that depend
** on it; returns 1 when the branch can be pruned. */
static int step(VS *v, unsigned bit) {
  const tsoV_Axiom *a = v->a;
  for (int i = 0; i < v->npost; i++) {
    int k = v->post[i];
    if (v->mask[k] & bit) infer_node(v, k);
  }
  for (int i = 0; i < v->npost; i++) {
    int k = v->post[i];
    if (a->n[k].kind == TSO_VN_APP && v->state[k] != N_UNKNOWN && !((v->mask[k] >> 8) & ~(v->assigned >> 8))) {
      /* non-canonical parameters: the same operator is written another way */
      tsoO_Params canon = v->pp[k];
      const tsoV_Node *n = &a->n[k];
      int r0 = n->nin && v->state[n->a[0]] == N_OK ? v->sh[n->a[0]].rank : -1;
      if (r0 >= 0 || n->nin == 0) {
        if (tsoV_canon_params(n->op, n->nin, n->nout, r0, &canon) != TSO_OK || memcmp(&canon, &v->pp[k], sizeof canon))
          return 1;
      }
    }
  }
  int lt = a->kind == TSO_VX_SHAPE ? a->n[a->lhs].a[0] : a->lhs;
  int lbad = v->state[lt] == N_BAD;
  int rbad = a->kind == TSO_VX_SHAPE ? 1 : v->state[a->rhs] == N_BAD;
  if (lbad && (a->oriented || rbad || a->kind == TSO_VX_SHAPE)) return 1;
  for (int i = 0; i < a->na; i++) {
    unsigned m = v->mask[a->g[i].l] | v->mask[a->g[i].r] | (a->g[i].x >= 0 ? v->mask[a->g[i].x] : 0);
    if ((m & v->assigned) == m && !atom_true(v, i)) return 1;
  }
  return 0;
}

static void describe(VS *v, char *buf, size_t n) {
  const tsoV_Axiom *a = v->a;
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < a->ntv && len < n; i++) {
    char b[64];
    int w = snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", a->tv[i], tsoO_shape_str(&v->tsh[i], b, sizeof b));
    if (w > 0) len += (size_t)w;
  }
  for (int i = 0; i < a->niv && len < n; i++) {
    int w = snprintf(buf + len, n - len, " %s=%d", a->iv[i], (int)v->ival[i]);
    if (w > 0) len += (size_t)w;
  }
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(VS *v, const char *fmt, ...) {
  char what[256], where[300];
  va_list ap;
  v->st->failures++;
  if (v->stop) return;
  v->stop = 1;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  describe(v, where, sizeof where);
  snprintf(v->st->fail, sizeof v->st->fail, "%s at %s", what, where);
}

static void free_vals(VS *v) {
  for (int k = 0; k < TSO_V_MAX_NODES; k++) {
    free(v->val[k]);
    v->val[k] = NULL;
  }
}

/* Computes the values of the nodes below k (all well-formed). 0 or -1. */
static int eval_node(VS *v, int k) {
  const tsoV_Node *n = &v->a->n[k];
  char err[TSO_ERRMAX];
  if (v->val[k]) return 0;
  int64_t ne = 1;
  for (int i = 0; i < v->sh[k].rank; i++) ne *= v->sh[k].d[i];
  if (n->kind == TSO_VN_TVAR) {
    /* the same variable has the same values wherever it appears */
    for (int j = 0; j < v->npost; j++) {
      int o = v->post[j];
      if (o != k && v->a->n[o].kind == TSO_VN_TVAR && v->a->n[o].val == n->val && v->val[o]) {
        v->val[k] = malloc((size_t)ne * sizeof(uint64_t) + 8);
        if (!v->val[k]) return -1;
        memcpy(v->val[k], v->val[o], (size_t)ne * sizeof(uint64_t));
        return 0;
      }
    }
    if (!(v->val[k] = malloc((size_t)ne * sizeof(uint64_t) + 8))) return -1;
    for (int64_t i = 0; i < ne; i++) v->val[k][i] = tsoV_rand(&v->rng) % TSO_V_P;
    return 0;
  }
  const uint64_t *in[4];
  tsoO_Shape ish[4], osh[32];
  uint64_t *out[32];
  tsoO_Value vin[4], vout[32];
  memset(vin, 0, sizeof vin);
  memset(vout, 0, sizeof vout);
  for (int i = 0; i < n->nin; i++) {
    if (eval_node(v, n->a[i])) return -1;
    in[i] = v->val[n->a[i]];
    ish[i] = v->sh[n->a[i]];
    vin[i].dtype = TSO_DT_FLOAT;
    vin[i].shape = ish[i];
  }
  if (tsoO_info(n->op)->infer(&v->pp[k], n->nin, vin, n->nout, vout, err)) return -1;
  int ok = 0;
  for (int s = 0; s < n->nout; s++) {
    osh[s] = vout[s].shape;
    int64_t m = 1;
    for (int i = 0; i < osh[s].rank; i++) m *= osh[s].d[i];
    out[s] = malloc((size_t)m * sizeof(uint64_t) + 8);
    if (!out[s]) ok = -1;
  }
  if (!ok && tsoV_mod_eval(n->op, &v->pp[k], n->nin, in, ish, n->nout, out, osh, err)) ok = -1;
  for (int s = 0; s < n->nout; s++) {
    if (s == n->slot && !ok) v->val[k] = out[s];
    else free(out[s]);
  }
  return ok;
}

/* Converts the axiom instance into a rule (src = lhs, dst = rhs) for the
** float cross-check; -1 when it does not fit. */
static int pattern_of(VS *v, int k, tsoR_Pattern *pt, tsoR_Ref *ref) {
  const tsoV_Node *n = &v->a->n[k];
  memset(ref, 0, sizeof *ref);
  if (n->kind == TSO_VN_TVAR) {
    ref->kind = TSO_REF_INPUT;
    ref->idx = (uint8_t)n->val;
    return 0;
  }
  tsoR_Ref in[4];
  for (int i = 0; i < n->nin; i++)
    if (pattern_of(v, n->a[i], pt, &in[i])) return -1;
  for (int j = 0; j < pt->nops; j++) {
    tsoR_Op *o = &pt->ops[j];
    if (o->op == n->op && o->nin == n->nin && o->nout == n->nout && !memcmp(&o->p, &v->pp[k], sizeof o->p) &&
        !memcmp(o->in, in, (size_t)n->nin * sizeof in[0])) {
      *ref = (tsoR_Ref){TSO_REF_OP, (uint8_t)j, n->slot, 0};
      return 0;
    }
  }
  if (pt->nops >= TSO_RULE_MAX_OPS || n->nin > TSO_RULE_MAX_OPIN) return -1;
  tsoR_Op *o = &pt->ops[pt->nops];
  memset(o, 0, sizeof *o);
  o->op = n->op;
  o->nin = n->nin;
  o->nout = n->nout;
  o->p = v->pp[k];
  memcpy(o->in, in, (size_t)n->nin * sizeof in[0]);
  *ref = (tsoR_Ref){TSO_REF_OP, (uint8_t)pt->nops, n->slot, 0};
  pt->nops++;
  return 0;
}

static void float_check(VS *v) {
  const tsoV_Axiom *a = v->a;
  tsoR_Rule r;
  char err[TSO_ERRMAX];
  memset(&r, 0, sizeof r);
  r.nin = a->ntv;
  for (int i = 0; i < a->ntv; i++) r.in_rank[i] = (uint8_t)v->tsh[i].rank, r.in_kind[i] = TSO_IN_ANY;
  r.src.nout = r.dst.nout = 1;
  if (pattern_of(v, a->lhs, &r.src, &r.src.out[0]) || pattern_of(v, a->rhs, &r.dst, &r.dst.out[0])) return;
  if (tsoR_check(&r, err)) return; /* e.g. a variable only in the guard */
  tsoI_Graph *ga = NULL, *gb = NULL;
  if (tsoR_instantiate(&r, 0, v->tsh, &ga, err) || tsoR_instantiate(&r, 1, v->tsh, &gb, err)) {
    tsoI_free(ga);
    fail(v, "the reference kernels refuse the instance: %s", err);
    return;
  }
  tsoI_CompareResult cr;
  tso_status st = tsoI_compare(ga, gb, v->rng, 1e-3, 1e-4, &cr);
  tsoI_free(ga);
  tsoI_free(gb);
  v->st->floats++;
  if (st == TSO_ERR_MISMATCH) fail(v, "float check: %s", cr.note);
  else if (st) fail(v, "float check could not run: %s", cr.note);
}

/* A complete assignment. */
static void check(VS *v) {
  const tsoV_Axiom *a = v->a;
  v->st->visited++;
  for (int i = 0; i < a->na; i++)
    if (!atom_true(v, i)) return;
  if (a->kind == TSO_VX_SHAPE) {
    int64_t l[1 + TSO_MAX_RANK], r[1 + TSO_MAX_RANK];
    if (v->state[a->n[a->lhs].a[0]] != N_OK) return;
    v->st->checked++;
    if (v->random_phase) v->st->random++;
    if (!sval_of(v, a->lhs, l) || !sval_of(v, a->rhs, r)) {
      fail(v, "the shape expression cannot be evaluated");
      return;
    }
    if (memcmp(l, r, sizeof l)) fail(v, "shape has rank %lld dims %lld,%lld,%lld,%lld, the axiom says rank %lld dims %lld,%lld,%lld,%lld",
                                    (long long)l[0], (long long)l[1], (long long)l[2], (long long)l[3], (long long)l[4],
                                    (long long)r[0], (long long)r[1], (long long)r[2], (long long)r[3], (long long)r[4]);
    return;
  }
  int lok = v->state[a->lhs] == N_OK, rok = v->state[a->rhs] == N_OK;
  if (!lok && !rok) return;
  if (!lok && a->oriented) return;
  v->st->checked++;
  if (v->random_phase) v->st->random++;
  if (lok && !rok) {
    fail(v, "the left side is well-formed, the right side is not");
    return;
  }
  if (!lok) {
    fail(v, "the right side is well-formed, the left side is not");
    return;
  }
  const tsoO_Shape *ls = &v->sh[a->lhs], *rs = &v->sh[a->rhs];
  int same = ls->rank == rs->rank;
  for (int i = 0; same && i < ls->rank; i++) same = ls->d[i] == rs->d[i];
  if (!same) {
    char b1[64], b2[64];
    fail(v, "shapes differ: %s and %s", tsoO_shape_str(ls, b1, sizeof b1), tsoO_shape_str(rs, b2, sizeof b2));
    return;
  }
  if (eval_node(v, a->lhs) || eval_node(v, a->rhs)) {
    free_vals(v);
    fail(v, "exact evaluation failed");
    return;
  }
  int64_t ne = 1;
  for (int i = 0; i < ls->rank; i++) ne *= ls->d[i];
  if (memcmp(v->val[a->lhs], v->val[a->rhs], (size_t)ne * sizeof(uint64_t))) fail(v, "values differ (exactly)");
  free_vals(v);
  if (v->o->float_every > 0 && (v->random_phase || v->st->checked % (uint64_t)v->o->float_every == 0))
    float_check(v);
}

static void assign(VS *v, int lv, int value_idx) {
  int id = v->var[lv];
  if (id < 8) v->tsh[id] = v->shapes[value_idx];
  else v->ival[id - 8] = value_idx;
  v->assigned |= 1u << id;
}

static void search(VS *v, int lv) {
  if (v->stop) return;
  if (lv == v->nvar) {
    check(v);
    return;
  }
  int id = v->var[lv];
  unsigned bit = 1u << id, saved = v->assigned;
  if (id < 8 && v->same_as[id] >= 0) {
    v->tsh[id] = v->tsh[v->same_as[id]];
    v->assigned |= bit;
    if (!step(v, bit)) search(v, lv + 1);
  } else if (id < 8) {
    for (int s = 0; s < v->nshapes && !v->stop; s++) {
      v->assigned = saved;
      assign(v, lv, s);
      if (!step(v, bit)) search(v, lv + 1);
    }
  } else {
    int32_t vals[8];
    int nv = domain(v->a->idom[id - 8], vals);
    for (int i = 0; i < nv && !v->stop; i++) {
      v->assigned = saved;
      assign(v, lv, vals[i]);
      if (!step(v, bit)) search(v, lv + 1);
    }
  }
  v->assigned = saved;
  /* the nodes that depend on this variable are re-inferred by the next step */
  for (int i = 0; i < v->npost; i++)
    if (v->mask[v->post[i]] & bit) infer_node(v, v->post[i]);
}

/* One random assignment with larger dims; 1 when it reached a check. */
static int random_try(VS *v) {
  v->assigned = 0;
  for (int i = 0; i < v->npost; i++) infer_node(v, v->post[i]);
  for (int lv = 0; lv < v->nvar; lv++) {
    int id = v->var[lv], ok = 0;
    unsigned bit = 1u << id;
    for (int t = 0; t < 60 && !ok; t++) {
      if (id < 8) {
        tsoO_Shape s;
        memset(&s, 0, sizeof s);
        int base = -1;
        for (int j = 0; j < v->a->ntv; j++)
          if ((v->assigned & (1u << j)) && tsoV_randint(&v->rng, 2)) base = j;
        if (base >= 0 && t < 40) {
          s = v->tsh[base];
          if (s.rank > 0 && tsoV_randint(&v->rng, 2)) s.d[tsoV_randint(&v->rng, s.rank)] = 1 + tsoV_randint(&v->rng, v->o->random_dim);
        } else {
          s.rank = tsoV_randint(&v->rng, v->o->max_rank + 1);
          for (int d = 0; d < s.rank; d++) s.d[d] = 1 + tsoV_randint(&v->rng, v->o->random_dim);
        }
        int64_t ne = 1;
        for (int d = 0; d < s.rank; d++) ne *= s.d[d];
        if (ne > 4096) continue;
        v->tsh[id] = s;
      } else {
        int32_t vals[8];
        int nv = domain(v->a->idom[id - 8], vals);
        v->ival[id - 8] = vals[tsoV_randint(&v->rng, nv)];
      }
      v->assigned |= bit;
      if (!step(v, bit)) ok = 1;
      else v->assigned &= ~bit;
    }
    if (!ok) return 0;
  }
  uint64_t before = v->st->checked;
  check(v);
  return v->st->checked > before;
}

tso_status tsoV_validate_axiom(const tsoV_Axiom *a, const tsoV_ValOptions *o, tsoV_ValStats *st) {
  VS *v = calloc(1, sizeof *v);
  double t0 = tsoV_now();
  memset(st, 0, sizeof *st);
  if (!v) return TSO_ERR_NOMEM;
  v->a = a, v->o = o, v->st = st;
  v->rng = o->seed ^ 0xA5A5A5A5ull;
  for (const char *p = a->name; *p; p++) v->rng = (v->rng ^ (unsigned char)*p) * 0x100000001B3ull;
  /* the tensor domain: every shape of rank <= max_rank with dims 1..max_dim */
  int cap = 0;
  for (int r = 0, m = 1; r <= o->max_rank; r++, m *= o->max_dim) cap += m;
  v->shapes = calloc((size_t)cap, sizeof *v->shapes);
  if (!v->shapes) {
    free(v);
    return TSO_ERR_NOMEM;
  }
  for (int r = 0; r <= o->max_rank; r++) {
    int64_t d[TSO_MAX_RANK];
    for (int i = 0; i < r; i++) d[i] = 1;
    for (;;) {
      tsoO_Shape *s = &v->shapes[v->nshapes++];
      s->rank = r;
      for (int i = 0; i < r; i++) s->d[i] = d[i];
      int i = r - 1;
      while (i >= 0 && d[i] == o->max_dim) d[i--] = 1;
      if (i < 0) break;
      d[i]++;
    }
  }
  setup(v);
  v->assigned = 0;
  for (int i = 0; i < v->npost; i++) infer_node(v, v->post[i]);
  if (!step(v, 0)) search(v, 0);
  v->random_phase = 1;
  for (int t = 0; t < o->random * 50 && st->random < (uint64_t)o->random && !v->stop; t++) random_try(v);
  free_vals(v);
  free(v->shapes);
  free(v);
  st->seconds = tsoV_now() - t0;
  return st->failures ? TSO_ERR_MISMATCH : TSO_OK;
}

/* ---- all axioms, threads ---------------------------------------------- */

typedef struct VPool {
  const tsoV_Axioms *ax;
  const tsoV_ValOptions *o;
  tsoV_ValStats *st;
  atomic_int next;
  pthread_mutex_t mu;
  FILE *log;
  int done;
} VPool;

static void *vworker(void *arg) {
  VPool *p = arg;
  for (;;) {
    int i = atomic_fetch_add(&p->next, 1);
    if (i >= p->ax->n) break;
    tsoV_validate_axiom(&p->ax->a[i], p->o, &p->st[i]);
    pthread_mutex_lock(&p->mu);
    p->done++;
    if (p->log) {
      const tsoV_ValStats *s = &p->st[i];
      if (s->failures)
        fprintf(p->log, "FAIL %-34s %s\n", p->ax->a[i].name, s->fail);
      else if (!p->o->quiet)
        fprintf(p->log, "ok   %-34s %10llu checked (%llu random, %llu float) %7.2f s [%d/%d]\n", p->ax->a[i].name,
                (unsigned long long)s->checked, (unsigned long long)s->random, (unsigned long long)s->floats,
                s->seconds, p->done, p->ax->n);
      fflush(p->log);
    }
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

tso_status tsoV_validate_all(const tsoV_Axioms *ax, const tsoV_ValOptions *o, tsoV_ValStats *st, FILE *log) {
  VPool p;
  memset(&p, 0, sizeof p);
  p.ax = ax, p.o = o, p.st = st, p.log = log;
  atomic_init(&p.next, 0);
  if (pthread_mutex_init(&p.mu, NULL)) return TSO_ERR_NOMEM;
  int jobs = o->jobs > 0 ? o->jobs : tsoV_ncores();
  pthread_t th[256];
  int started = 0;
  for (int j = 1; j < jobs && j < 256; j++) {
    if (pthread_create(&th[started], NULL, vworker, &p)) break;
    started++;
  }
  vworker(&p);
  for (int j = 0; j < started; j++) pthread_join(th[j], NULL);
  pthread_mutex_destroy(&p.mu);
  for (int i = 0; i < ax->n; i++)
    if (st[i].failures) return TSO_ERR_MISMATCH;
  return TSO_OK;
}

/* ---- redundancy --------------------------------------------------------- */

tso_status tsoV_redundant(const tsoV_Axioms *ax, int i, unsigned timeout_ms, int *redundant, char *err) {
  tsoV_Z3 z;
  tso_status st;
  *redundant = 0;
  if ((st = tsoV_z3_open(&z, err))) return st;
  Z3_solver s = tsoV_z3_solver(&z, timeout_ms, 0, 0);
  if (s) {
    const tsoV_Axiom *a = &ax->a[i];
    Z3_ast tv[TSO_V_MAX_VARS], iv[TSO_V_MAX_VARS];
    tsoV_z3_assert_axioms(&z, s, ax, i, NULL);
    for (int k = 0; k < a->ntv && !z.failed; k++) {
      char nm[16];
      snprintf(nm, sizeof nm, "sk.t%d", k);
      tv[k] = Z3_mk_const(z.c, Z3_mk_string_symbol(z.c, nm), z.T);
    }
    for (int k = 0; k < a->niv && !z.failed; k++) {
      char nm[16];
      snprintf(nm, sizeof nm, "sk.i%d", k);
      iv[k] = Z3_mk_const(z.c, Z3_mk_string_symbol(z.c, nm), z.I);
    }
    Z3_ast g = z.failed ? NULL : tsoV_z3_guard(&z, a, tv, iv);
    Z3_ast c = g ? tsoV_z3_concl(&z, a, tv, iv) : NULL;
    if (c) {
      Z3_solver_assert(z.c, s, g);
      Z3_solver_assert(z.c, s, Z3_mk_not(z.c, c));
      if (!z.failed && Z3_solver_check(z.c, s) == Z3_L_FALSE && !z.failed) *redundant = 1;
    }
    Z3_solver_dec_ref(z.c, s);
  }
  st = z.failed ? tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", z.msg) : TSO_OK;
  tsoV_z3_close(&z);
  return st;
}
