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

typedef struct OpqCtx { uint64_t seed; } OpqCtx;

static int opaque_value(void *ud, const tsoI_Graph *g, int32_t node, int slot, tsoO_Value *val) {
  const OpqCtx *c = ud;
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

tso_status tsoI_compare(tsoI_Graph *a, tsoI_Graph *b, uint64_t seed, double rtol, double atol,
                        tsoI_CompareResult *r) {
  memset(r, 0, sizeof *r);
  r->seed = seed;
  if (a->ninputs != b->ninputs || a->noutputs != b->noutputs)
    return tsoO_fail(r->note, TSO_ERR_MISMATCH, "the graphs have different inputs or outputs");
  tsoO_Value *va = calloc((size_t)a->nt + 1, sizeof *va), *vb = calloc((size_t)b->nt + 1, sizeof *vb);
  tso_status st = TSO_OK;
  if (!va || !vb) { st = tsoO_fail(r->note, TSO_ERR_NOMEM, "out of memory"); goto done; }
  for (int32_t i = 0; i < a->ninputs; i++) {
    const tsoI_Tensor *t = &a->t[a->inputs[i]];
    if (t->flags & TSO_T_CONST) continue; /* an input with a default (initializer): use it */
    tsoO_Value v = {t->dtype, t->shape, NULL};
    if (v.shape.rank < 0) {
      (void)tsoO_fail(r->note, TSO_OK, "input '%s' has an unknown rank", t->name);
      goto done;
    }
    for (int k = 0; k < v.shape.rank; k++)
      if (v.shape.d[k] < 0) { v.shape.d[k] = 1; r->symbolic_set = 1; } /* unbound: 1 for the check */
    if (fill_random(&v, seed ^ XXH3_64bits(&i, sizeof i)) != 0) {
      (void)tsoO_fail(r->note, TSO_OK, "input '%s' of type %s cannot be generated", t->name,
               tsoO_dtype_name(t->dtype));
      goto done;
    }
    va[a->inputs[i]] = v;
    vb[b->inputs[i]] = v; /* shared buffer: freed once, through va */
  }
  OpqCtx oc = {seed};
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
  if (va) {
    for (int32_t i = 0; i < b->ninputs && vb; i++) vb[b->inputs[i]].data = NULL;
    tsoI_eval_free(a, va, 1);
  }
  if (vb) tsoI_eval_free(b, vb, 0);
  free(va);
  free(vb);
  return st;
}
