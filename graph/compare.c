/*
** compare.c -- the numerical check: two graphs that should compute the
** same function are evaluated on the same random inputs and their outputs
** compared within a tolerance.
**
** Opaque nodes are matched between the two graphs by their source node
** (origin). Their outputs get the same pseudo-random values in both graphs
** (a function of the seed, origin and slot), and their inputs are compared
** too: an opaque node whose inputs agree computes the same outputs, so the
** check stays sound without knowing what the operator does.
**
** Symbolic input dimensions that nobody bound need a size for the check:
** 1 when the graph accepts it, else (MatMul [b, n] x [4, 4] needs n = 4)
** the smallest size among the graph's known dimensions that shape
** inference accepts for all of them, then 1 again for every dimension that
** does not need it. Dimensions of one name share a size. The note says
** which sizes were used.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "graph.h"

/* splitmix64: a small, well-mixed generator for reproducible test data. */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Fills v (dtype and concrete shape set) with random data from state s:
** floats uniform in [-1, 1), integers in {0, 1}, booleans random. Returns
** 0, or -1 on an unsupported dtype or allocation failure. */
static int fill_random(tsoO_Value *v, uint64_t s) {
  int64_t ne = tsoO_numel(&v->shape);
  size_t es = tsoO_dtype_size(v->dtype);
  if (ne < 0 || !es) return -1;
  v->data = calloc(ne ? (size_t)ne : 1, es);
  if (!v->data) return -1;
  for (int64_t i = 0; i < ne; i++) {
    uint64_t r = next(&s);
    switch (v->dtype) {
    case TSO_DT_FLOAT: ((float *)v->data)[i] = (float)((double)(r >> 11) * 0x1.0p-53 * 2.0 - 1.0); break;
    case TSO_DT_DOUBLE: ((double *)v->data)[i] = (double)(r >> 11) * 0x1.0p-53 * 2.0 - 1.0; break;
    case TSO_DT_INT64: ((int64_t *)v->data)[i] = (int64_t)(r & 1); break;
    case TSO_DT_INT32: ((int32_t *)v->data)[i] = (int32_t)(r & 1); break;
    case TSO_DT_BOOL: case TSO_DT_UINT8: case TSO_DT_INT8: ((uint8_t *)v->data)[i] = (uint8_t)(r & 1); break;
    default: memset((char *)v->data + (size_t)i * es, 0, es); break;
    }
  }
  return 0;
}

typedef struct Sym Sym;
static int64_t sym_named(const Sym *sy, const tsoI_Graph *a, const char *name);

typedef struct OpqCtx {
  uint64_t seed;
  const Sym *sy;         /* the sizes of symbolic dims */
  const tsoI_Graph *a;   /* the graph they were chosen on */
} OpqCtx;

/* The output of an opaque node: random, the same in both graphs. A dim
** of its declared shape named like a symbolic input dim takes that dim's
** size; other unknown dims leave it without a value. */
static int opaque_value(void *ud, const tsoI_Graph *g, int32_t node, int slot, tsoO_Value *val) {
  const OpqCtx *c = ud;
  const tsoI_Tensor *t = &g->t[TSO_OUT(g, &g->n[node], slot)];
  for (int k = 0; k < val->shape.rank; k++)
    if (val->shape.d[k] < 0 && t->dimsym[k]) val->shape.d[k] = sym_named(c->sy, c->a, t->dimsym[k]);
  if (!tsoO_shape_known(&val->shape)) return -1;
  uint64_t key[3] = {c->seed, (uint64_t)(int64_t)g->n[node].origin, (uint64_t)slot};
  return fill_random(val, XXH3_64bits(key, sizeof key));
}

/* Largest errors between two values of the same type; returns 1 if they
** agree within tolerance. Shapes must be equal. */
static int close_enough(const tsoO_Value *a, const tsoO_Value *b, double rtol, double atol,
                        double *maxabs, double *maxrel) {
  if (a->dtype != b->dtype || a->shape.rank != b->shape.rank) return 0;
  for (int i = 0; i < a->shape.rank; i++)
    if (a->shape.d[i] != b->shape.d[i]) return 0;
  int64_t ne = tsoO_numel(&a->shape);
  size_t es = tsoO_dtype_size(a->dtype);
  int ok = 1;
  for (int64_t i = 0; i < ne; i++) {
    double x, y;
    if (a->dtype == TSO_DT_FLOAT) { x = ((const float *)a->data)[i]; y = ((const float *)b->data)[i]; }
    else if (a->dtype == TSO_DT_DOUBLE) { x = ((const double *)a->data)[i]; y = ((const double *)b->data)[i]; }
    else {
      if (memcmp((const char *)a->data + (size_t)i * es, (const char *)b->data + (size_t)i * es, es)) {
        *maxabs = INFINITY;
        ok = 0;
      }
      continue;
    }
    if (isnan(x) || isnan(y)) {
      if (!(isnan(x) && isnan(y))) { ok = 0; *maxabs = INFINITY; }
      continue;
    }
    if (x == y) continue; /* also equal infinities */
    double d = fabs(x - y), rel = d / (fabs(x) > 1e-30 ? fabs(x) : 1e-30);
    if (d > *maxabs) *maxabs = d;
    if (rel > *maxrel && fabs(x) > atol) *maxrel = rel;
    if (!(d <= atol + rtol * fabs(x))) ok = 0;
  }
  return ok;
}

/* The node of g with the given origin (an opaque node), or -1. */
static int32_t by_origin(const tsoI_Graph *g, int32_t origin) {
  for (int32_t i = 0; i < g->nn; i++)
    if (!(g->n[i].flags & TSO_N_DEAD) && g->n[i].op == TSO_OP_OPAQUE && g->n[i].origin == origin) return i;
  return -1;
}

/* ---- sizes of unbound symbolic dims ---------------------------------------- */

#define SYM_MAX_TRIES 48                 /* shape inferences spent on the choice at most */
#define SYM_MAX_NUMEL ((int64_t)1 << 20) /* elements of one input at most (the check stays cheap) */

/* The unbound symbolic dims of a graph's non-constant inputs, in groups
** that share a size: one per name, one per unnamed dim. */
struct Sym {
  int ng;            /* groups */
  int *grp;          /* per input i, dim k: its group at [i * TSO_MAX_RANK + k], or -1 */
  int64_t *val;      /* per group: the size */
  int32_t *first;    /* per group: index into grp of its first dim (for its name) */
};

/* The name of group g, or NULL when it is an unnamed dim. */
static const char *sym_name(const Sym *sy, const tsoI_Graph *a, int g) {
  int32_t f = sy->first[g];
  return a->t[a->inputs[f / TSO_MAX_RANK]].dimsym[f % TSO_MAX_RANK];
}

/* The size of the symbolic dim called name, or -1 when no input has one. */
static int64_t sym_named(const Sym *sy, const tsoI_Graph *a, const char *name) {
  for (int g = 0; g < sy->ng; g++) {
    const char *nm = sym_name(sy, a, g);
    if (nm && !strcmp(nm, name)) return sy->val[g];
  }
  return -1;
}

static void sym_free(Sym *sy) {
  free(sy->grp);
  free(sy->val);
  free(sy->first);
}

/* Groups the symbolic dims of a's inputs (all of known rank). 0, or -1 on
** allocation failure. */
static int sym_init(Sym *sy, const tsoI_Graph *a) {
  size_t n = (size_t)a->ninputs * TSO_MAX_RANK + 1;
  memset(sy, 0, sizeof *sy);
  sy->grp = malloc(n * sizeof *sy->grp);
  sy->val = malloc(n * sizeof *sy->val);
  sy->first = malloc(n * sizeof *sy->first);
  if (!sy->grp || !sy->val || !sy->first) return -1;
  for (int32_t i = 0; i < a->ninputs; i++) {
    const tsoI_Tensor *t = &a->t[a->inputs[i]];
    for (int k = 0; k < TSO_MAX_RANK; k++) {
      int32_t at = i * TSO_MAX_RANK + k;
      sy->grp[at] = -1;
      if ((t->flags & TSO_T_CONST) || k >= t->shape.rank || t->shape.d[k] >= 0) continue;
      int g = 0;
      if (t->dimsym[k])
        for (; g < sy->ng; g++) {
          const char *nm = sym_name(sy, a, g);
          if (nm && !strcmp(nm, t->dimsym[k])) break;
        }
      else g = sy->ng;
      if (g == sy->ng) {
        sy->first[g] = at;
        sy->val[g] = 1;
        sy->ng++;
      }
      sy->grp[at] = g;
    }
  }
  return 0;
}

/* Input i of a with its symbolic dims at their group's size. */
static tsoO_Shape sym_shape(const Sym *sy, const tsoI_Graph *a, int32_t i) {
  tsoO_Shape s = a->t[a->inputs[i]].shape;
  for (int k = 0; k < s.rank; k++)
    if (sy->grp[i * TSO_MAX_RANK + k] >= 0) s.d[k] = sy->val[sy->grp[i * TSO_MAX_RANK + k]];
  return s;
}

/* 1 when shape inference accepts a with the sizes of sy (and no input
** gets more than SYM_MAX_NUMEL elements), 0 when not, -1 when it cannot
** tell (out of memory). */
static int sym_fits(const Sym *sy, const tsoI_Graph *a) {
  for (int32_t i = 0; i < a->ninputs; i++) {
    tsoO_Shape s = sym_shape(sy, a, i);
    if (!(a->t[a->inputs[i]].flags & TSO_T_CONST) && tsoO_numel(&s) > SYM_MAX_NUMEL) return 0;
  }
  tsoI_Graph *c = tsoI_clone_shallow(a);
  if (!c) return -1;
  for (int32_t i = 0; i < a->ninputs; i++) {
    tsoI_Tensor *t = &c->t[c->inputs[i]];
    if (t->flags & TSO_T_CONST) continue;
    t->shape = sym_shape(sy, a, i);
    for (int k = 0; k < TSO_MAX_RANK; k++) t->dimsym[k] = NULL;
  }
  tso_status st = tsoI_infer(c);
  tsoI_free(c);
  return st == TSO_OK ? 1 : st == TSO_ERR_NOMEM ? -1 : 0;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
  return (p > q) - (p < q);
}

/* Chooses the sizes (see the banner) and describes them in desc (n bytes). */
static void sym_choose(Sym *sy, const tsoI_Graph *a, char *desc, size_t n) {
  int fit = sym_fits(sy, a), tries = 1;
  if (fit != 0) { /* 1 fits (or out of memory: keep 1, the evaluation will say) */
    snprintf(desc, n, "symbolic dims set to 1");
    return;
  }
  /* candidates: the distinct known dimensions > 1 of the graph, ascending */
  size_t nc = 0, cap = (size_t)a->nt * TSO_MAX_RANK + 1;
  int64_t *cand = malloc(cap * sizeof *cand);
  for (int32_t t = 0; cand && t < a->nt; t++)
    for (int k = 0; k < a->t[t].shape.rank; k++)
      if (a->t[t].shape.d[k] > 1) cand[nc++] = a->t[t].shape.d[k];
  if (cand) qsort(cand, nc, sizeof *cand, cmp_i64);
  int64_t v = 0;
  for (size_t j = 0; cand && j < nc && tries < SYM_MAX_TRIES && fit == 0; j++) {
    if (cand[j] == v) continue;
    v = cand[j];
    for (int g = 0; g < sy->ng; g++) sy->val[g] = v;
    fit = sym_fits(sy, a);
    tries++;
  }
  free(cand);
  if (fit != 1) {
    for (int g = 0; g < sy->ng; g++) sy->val[g] = 1;
    snprintf(desc, n, "symbolic dims set to 1 (no size tried fits the graph's shapes: bind them)");
    return;
  }
  for (int g = 0; g < sy->ng && tries < SYM_MAX_TRIES; g++, tries++) { /* back to 1 where it fits */
    sy->val[g] = 1;
    if (sym_fits(sy, a) != 1) sy->val[g] = v;
  }
  size_t w = (size_t)snprintf(desc, n, "symbolic dims set to ");
  for (int g = 0; g < sy->ng && w < n; g++) {
    int32_t f = sy->first[g];
    const tsoI_Tensor *t = &a->t[a->inputs[f / TSO_MAX_RANK]];
    const char *nm = sym_name(sy, a, g);
    if (nm) w += (size_t)snprintf(desc + w, n - w, "%s%s=%lld", g ? ", " : "", nm, (long long)sy->val[g]);
    else
      w += (size_t)snprintf(desc + w, n - w, "%s'%s' dim %d=%lld", g ? ", " : "", t->name, f % TSO_MAX_RANK,
                            (long long)sy->val[g]);
  }
  if (w < n) snprintf(desc + w, n - w, " (all 1 does not fit the graph's shapes)");
}

tso_status tsoI_compare(tsoI_Graph *a, tsoI_Graph *b, uint64_t seed, double rtol, double atol,
                        tsoI_CompareResult *r) {
  memset(r, 0, sizeof *r);
  r->seed = seed;
  if (a->ninputs != b->ninputs || a->noutputs != b->noutputs)
    return tsoO_fail(r->note, TSO_ERR_MISMATCH, "the graphs have different inputs or outputs");
  tsoO_Value *va = calloc((size_t)a->nt + 1, sizeof *va), *vb = calloc((size_t)b->nt + 1, sizeof *vb);
  tso_status st = TSO_OK;
  Sym syms;
  char symdesc[TSO_ERRMAX] = "";
  memset(&syms, 0, sizeof syms);
  if (!va || !vb) { st = tsoO_fail(r->note, TSO_ERR_NOMEM, "out of memory"); goto done; }
  for (int32_t i = 0; i < a->ninputs; i++) {
    const tsoI_Tensor *t = &a->t[a->inputs[i]];
    if (!(t->flags & TSO_T_CONST) && t->shape.rank < 0) {
      (void)tsoO_fail(r->note, TSO_OK, "input '%s' has an unknown rank", t->name);
      goto done;
    }
  }
  if (sym_init(&syms, a) != 0) { st = tsoO_fail(r->note, TSO_ERR_NOMEM, "out of memory"); goto done; }
  if (syms.ng) {
    r->symbolic_set = 1;
    sym_choose(&syms, a, symdesc, sizeof symdesc);
  }
  for (int32_t i = 0; i < a->ninputs; i++) {
    const tsoI_Tensor *t = &a->t[a->inputs[i]];
    if (t->flags & TSO_T_CONST) continue; /* an input with a default (initializer): use it */
    tsoO_Value v = {t->dtype, sym_shape(&syms, a, i), NULL};
    if (fill_random(&v, seed ^ XXH3_64bits(&i, sizeof i)) != 0) {
      (void)tsoO_fail(r->note, TSO_OK, "input '%s' of type %s cannot be generated", t->name,
               tsoO_dtype_name(t->dtype));
      goto done;
    }
    va[a->inputs[i]] = v;
    vb[b->inputs[i]] = v; /* shared buffer: freed once, through va */
  }
  OpqCtx oc = {seed, &syms, a};
  tso_status ea = tsoI_eval(a, va, 0, opaque_value, &oc);
  if (ea == TSO_ERR_NOMEM || ea == TSO_ERR_INVALID) { st = tsoO_fail(r->note, ea, "%s", a->err); goto done; }
  tso_status eb = tsoI_eval(b, vb, 0, opaque_value, &oc);
  if (eb == TSO_ERR_NOMEM || eb == TSO_ERR_INVALID) { st = tsoO_fail(r->note, eb, "%s", b->err); goto done; }
  r->ran = 1;
  for (int32_t i = 0; i < a->noutputs; i++) {
    const tsoO_Value *x = &va[a->outputs[i]], *y = &vb[b->outputs[i]];
    int ex = x->data || tsoO_numel(&x->shape) == 0, ey = y->data || tsoO_numel(&y->shape) == 0;
    if (ex && !ey) {
      r->mismatches++;
      (void)tsoO_fail(r->note, TSO_OK, "output '%s' is computable in the original only: %s",
               a->t[a->outputs[i]].name, b->err);
      continue;
    }
    if (!ex) {
      r->unchecked++;
      if (!r->note[0]) (void)tsoO_fail(r->note, TSO_OK, "%s", a->err);
      continue;
    }
    double ma = 0, mr = 0;
    if (close_enough(x, y, rtol, atol, &ma, &mr)) r->checked++;
    else {
      char sx[64], sy[64];
      r->mismatches++;
      if (x->shape.rank != y->shape.rank ||
          memcmp(x->shape.d, y->shape.d, (size_t)(x->shape.rank > 0 ? x->shape.rank : 0) * sizeof x->shape.d[0]))
        (void)tsoO_fail(r->note, TSO_OK, "output %d ('%s') has shape %s against %s", (int)i, a->t[a->outputs[i]].name,
                        tsoO_shape_str(&x->shape, sx, sizeof sx), tsoO_shape_str(&y->shape, sy, sizeof sy));
      else
        (void)tsoO_fail(r->note, TSO_OK, "output %d ('%s') differs (max abs error %g)", (int)i,
                        a->t[a->outputs[i]].name, ma);
    }
    if (ma > r->max_abs) r->max_abs = ma;
    if (mr > r->max_rel) r->max_rel = mr;
  }
  /* opaque nodes of a must see the same inputs in b */
  for (int32_t i = 0; i < a->nn; i++) {
    const tsoI_Node *na = &a->n[i];
    if ((na->flags & TSO_N_DEAD) || na->op != TSO_OP_OPAQUE) continue;
    int32_t j = by_origin(b, na->origin);
    if (j < 0) continue; /* removed as dead in b: it cannot influence b's outputs */
    const tsoI_Node *nb = &b->n[j];
    for (int k = 0; k < na->nin && k < nb->nin; k++) {
      int32_t ta = TSO_IN(a, na, k), tb = TSO_IN(b, nb, k);
      if (ta < 0 || tb < 0 || !va[ta].data || !vb[tb].data) continue;
      double ma = 0, mr = 0;
      if (!close_enough(&va[ta], &vb[tb], rtol, atol, &ma, &mr)) {
        r->mismatches++;
        (void)tsoO_fail(r->note, TSO_OK, "the input '%s' of an opaque node differs", a->t[ta].name);
      }
    }
  }
  if (r->mismatches) st = TSO_ERR_MISMATCH;
done:
  if (symdesc[0]) { /* the sizes go after the reason (which callers may cut short) */
    char why[TSO_ERRMAX];
    snprintf(why, sizeof why, "%s", r->note);
    (void)tsoO_fail(r->note, TSO_OK, "%s%s%s", why, why[0] ? "; " : "", symdesc);
  }
  sym_free(&syms);
  if (va) {
    for (int32_t i = 0; i < b->ninputs && vb; i++) vb[b->inputs[i]].data = NULL;
    tsoI_eval_free(a, va, 1);
  }
  if (vb) tsoI_eval_free(b, vb, 0);
  free(va);
  free(vb);
  return st;
}
