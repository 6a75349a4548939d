/*
** closed.c -- deciding a rule without inputs by exact evaluation.
**
** A rule without inputs states a fact about the constant tensors, such as
** ones(4x4) + ones(4x4) + ones(4x4) + ones(4x4) = ones(4x4) @ ones(4x4).
** The operator axioms speak of operators, not of the values of constants,
** so Z3 cannot derive such a fact; but there is nothing to quantify over:
** both sides are fixed tensors, and evaluating them exactly decides the
** rule.
**
** The evaluation is the axiom validation's arithmetic in GF(p), p = 2^61 -
** 1 (modeval.c), made exact by a bound kept beside every tensor: each of
** its values v is a rational with |v| <= B and d*v an integer, for known
** integers B and d. Two values a (bounds Ba, da) and b (Bb, db) are equal
** exactly when the integer (a - b)*da*db is 0; its magnitude is at most
** (Ba + Bb)*da*db, so when that is below p, a and b are equal exactly when
** their images in GF(p) are. Unequal images always mean unequal values
** (every denominator here is a product of small integers, invertible mod p).
**
** Only operators whose field kernel is the real one take part: relu,
** sigmoid, tanh, max pooling and a conv with a fused relu are replaced by
** polynomials in the field, so a rule with any of them (or with bounds
** that reach p) is left undecided.
*/
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "verify/internal.h"

#define LIMIT ((uint64_t)1 << 62) /* bounds beyond this: undecided */

/* Bounds are >= 1; 0 stands for "too large" and stays 0. */
static uint64_t mulb(uint64_t a, uint64_t b) { return !a || !b || a >= LIMIT / b ? 0 : a * b; }
static uint64_t addb(uint64_t a, uint64_t b) { return !a || !b || a + b >= LIMIT ? 0 : a + b; }

static uint64_t lcm_upto(int n) {
  uint64_t l = 1;
  for (int k = 2; k <= n; k++) {
    uint64_t a = l, b = (uint64_t)k;
    while (b) {
      uint64_t t = a % b;
      a = b, b = t;
    }
    l = mulb(l / a, (uint64_t)k);
    if (!l) return 0;
  }
  return l;
}

typedef struct Side {
  tsoI_Graph *g;
  uint64_t **v;         /* values in GF(p) per tensor, NULL until computed */
  uint64_t *B, *d;      /* bounds per tensor */
} Side;

static void side_free(Side *s) {
  if (s->v)
    for (int32_t t = 0; s->g && t < s->g->nt; t++) free(s->v[t]);
  free(s->v), free(s->B), free(s->d);
  tsoI_free(s->g);
}

/* The bounds of node nd's outputs from its inputs' (all outputs of one
** node get the same ones); 0 when the operator has no exact field kernel or
** a bound is too large. */
static int node_bounds(const Side *s, const tsoI_Node *nd, uint64_t *B, uint64_t *d) {
  const tsoI_Graph *g = s->g;
  int32_t a = nd->nin > 0 ? TSO_IN(g, nd, 0) : -1, b = nd->nin > 1 ? TSO_IN(g, nd, 1) : -1;
  uint64_t Ba = a >= 0 ? s->B[a] : 1, da = a >= 0 ? s->d[a] : 1;
  uint64_t Bb = b >= 0 ? s->B[b] : 1, db = b >= 0 ? s->d[b] : 1;
  switch (nd->op) {
  case TSO_OP_CONST_ONES: case TSO_OP_CONST_IMATRIX: case TSO_OP_CONST_IKERNEL:
    *B = 1, *d = 1;
    break;
  case TSO_OP_CONST_POOL: /* 1/(kh*kw) */
    *B = 1, *d = (uint64_t)(nd->p.cgen.dims[2] * nd->p.cgen.dims[3]);
    break;
  case TSO_OP_ADD:
    *B = addb(Ba, Bb), *d = mulb(da, db);
    break;
  case TSO_OP_MUL: case TSO_OP_SCALAR_MUL:
    *B = mulb(Ba, Bb), *d = mulb(da, db);
    break;
  case TSO_OP_MATMUL: { /* a sum of K products */
    const tsoO_Shape *sa = &g->t[a].shape;
    *B = mulb(mulb(Ba, Bb), (uint64_t)sa->d[sa->rank - 1]), *d = mulb(da, db);
    break;
  }
  case TSO_OP_CONV2D: { /* a sum of cin/group * kh * kw products */
    if (nd->p.win.act != TSO_ACT_NONE || nd->nin > 2) return 0;
    const tsoO_Shape *sw = &g->t[b].shape;
    *B = mulb(mulb(Ba, Bb), (uint64_t)(sw->d[1] * sw->d[2] * sw->d[3])), *d = mulb(da, db);
    break;
  }
  case TSO_OP_AVGPOOL: /* a mean of 1 .. kh*kw taps */
    if (nd->p.win.kh * nd->p.win.kw > 16) return 0;
    *B = Ba, *d = mulb(da, lcm_upto(nd->p.win.kh * nd->p.win.kw));
    break;
  case TSO_OP_TRANSPOSE: case TSO_OP_SPLIT: case TSO_OP_ENLARGE:
    *B = Ba, *d = da;
    break;
  case TSO_OP_CONCAT:
    *B = 1, *d = 1;
    for (int i = 0; i < nd->nin; i++) {
      int32_t t = TSO_IN(g, nd, i);
      if (s->B[t] > *B) *B = s->B[t];
      *d = mulb(*d, s->d[t]);
    }
    break;
  default: return 0; /* relu, sigmoid, tanh, max pooling, ...: polynomial stand-ins */
  }
  return *B && *d;
}

/* Instantiates and evaluates one side; 0 done, 1 undecided, -1 failure. */
static int side_eval(const tsoR_Rule *r, int side, Side *s, char *err) {
  tsoO_Shape none[1] = {{0}};
  memset(s, 0, sizeof *s);
  if (tsoR_instantiate(r, side, none, &s->g, err)) return 1;
  tsoI_Graph *g = s->g;
  s->v = calloc((size_t)g->nt + 1, sizeof *s->v);
  s->B = calloc((size_t)g->nt + 1, sizeof *s->B);
  s->d = calloc((size_t)g->nt + 1, sizeof *s->d);
  if (!s->v || !s->B || !s->d) return -1;
  for (int32_t k = 0; k < g->nn; k++) { /* instantiated in pattern order: topological */
    const tsoI_Node *nd = &g->n[k];
    const uint64_t *in[TSO_RULE_MAX_OPIN];
    uint64_t *out[TSO_RULE_MAX_OUT];
    tsoO_Shape ish[TSO_RULE_MAX_OPIN], osh[TSO_RULE_MAX_OUT];
    uint64_t B, d;
    if (nd->nin > TSO_RULE_MAX_OPIN || nd->nout > TSO_RULE_MAX_OUT) return 1;
    for (int i = 0; i < nd->nin; i++) {
      int32_t t = TSO_IN(g, nd, i);
      if (t < 0 || !s->v[t]) return 1;
      in[i] = s->v[t], ish[i] = g->t[t].shape;
    }
    if (!node_bounds(s, nd, &B, &d)) return 1;
    for (int o = 0; o < nd->nout; o++) {
      int32_t t = TSO_OUT(g, nd, o);
      osh[o] = g->t[t].shape;
      int64_t ne = tsoO_numel(&osh[o]); /* -1 when not known */
      if (ne < 0) return 1;
      if (!(out[o] = s->v[t] = malloc((size_t)(ne + 1) * sizeof(uint64_t)))) return -1;
      s->B[t] = B, s->d[t] = d;
    }
    if (tsoV_mod_eval(nd->op, &nd->p, nd->nin, in, ish, nd->nout, out, osh, err)) return 1;
  }
  return 0;
}

int tsoV_closed_decide(const tsoR_Rule *r, char *note, size_t n) {
  char err[TSO_ERRMAX];
  Side s[2];
  int rc = 0, e0, e1;
  if (r->nin != 0) return 0;
  e0 = side_eval(r, 0, &s[0], err);
  e1 = e0 ? 1 : side_eval(r, 1, &s[1], err);
  if (e0 || e1) {
    side_free(&s[0]);
    if (!e0) side_free(&s[1]);
    snprintf(note, n, "%s", (e0 < 0 || e1 < 0) ? "out of memory" : "not decidable by exact evaluation");
    return 0;
  }
  const tsoI_Graph *g0 = s[0].g, *g1 = s[1].g;
  rc = g0->noutputs == g1->noutputs ? 1 : 0;
  for (int32_t o = 0; rc == 1 && o < g0->noutputs; o++) {
    int32_t a = g0->outputs[o], b = g1->outputs[o];
    const tsoO_Shape *sa = &g0->t[a].shape, *sb = &g1->t[b].shape;
    if (sa->rank != sb->rank || memcmp(sa->d, sb->d, (size_t)sa->rank * sizeof sa->d[0])) {
      snprintf(note, n, "output %d: the two sides have different shapes", (int)o);
      rc = -1;
      break;
    }
    uint64_t dd = mulb(s[0].d[a], s[1].d[b]), bound = dd ? mulb(addb(s[0].B[a], s[1].B[b]), dd) : 0;
    for (int64_t i = 0, ne = tsoO_numel(sa); i < ne; i++)
      if (s[0].v[a][i] != s[1].v[b][i]) {
        snprintf(note, n, "output %d differs at element %lld (exact evaluation)", (int)o, (long long)i);
        rc = -1;
        break;
      }
    if (rc == 1 && (!bound || bound >= TSO_V_P)) {
      snprintf(note, n, "output %d: equal in GF(p), but its values may reach p: not decided", (int)o);
      rc = 0;
    }
  }
  if (rc == 1) snprintf(note, n, "proven by exact evaluation (no inputs: both sides are fixed tensors)");
  side_free(&s[0]);
  side_free(&s[1]);
  return rc;
}
