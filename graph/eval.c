/*
** eval.c -- evaluation of a whole graph with the float reference kernels.
**
** Shapes are inferred again from the actual input values, so a graph whose
** inputs had symbolic dimensions can be evaluated once concrete values are
** given. A value that cannot be computed (an opaque node without a value
** callback, an operator the kernels do not support) stays NULL, and so do
** the values that depend on it; the first reason is kept in g->err.
**
** Ownership: vals[t].data is malloc'd for computed tensors; constants point
** at the graph's data without a copy (flagged in `borrowed`, never freed).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* 1 if vals[t] points at the graph's own constant data (not to be freed). */
static int borrowed(const tsoI_Graph *g, const tsoO_Value *vals, int32_t t) {
  const tsoI_Tensor *x = &g->t[t];
  return (x->flags & TSO_T_CONST) && x->data && vals[t].data == x->data;
}

void tsoI_eval_free(tsoI_Graph *g, tsoO_Value *vals, int free_inputs) {
  for (int32_t t = 0; t < g->nt; t++) {
    if (!vals[t].data || borrowed(g, vals, t)) continue;
    if ((g->t[t].flags & TSO_T_INPUT) && !free_inputs) continue;
    free(vals[t].data);
    vals[t].data = NULL;
  }
}

/* Keeps the first reason a value could not be computed. */
#define note(g, noted, ...)                                 \
  do {                                                      \
    if (!*(noted)) tsoO_fail((g)->err, TSO_OK, __VA_ARGS__); \
    *(noted) = 1;                                           \
  } while (0)

/* Computes node nd into vals; returns TSO_ERR_NOMEM only on allocation
** failure, otherwise TSO_OK (outputs left NULL when not computable). */
static tso_status run_node(tsoI_Graph *g, int32_t id, tsoO_Value *vals, tsoO_Value *in, tsoO_Value *out,
                           tsoI_OpaqueFn opq, void *ud, int *noted) {
  const tsoI_Node *nd = &g->n[id];
  const tsoO_Info *oi = tsoO_info(nd->op);
  const char *oname = nd->nout ? g->t[TSO_OUT(g, nd, 0)].name : "";
  if (nd->op == TSO_OP_CONSTANT) {
    const tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, 0)];
    if (!t->data && t->nbytes) return TSO_OK;
    vals[TSO_OUT(g, nd, 0)] = (tsoO_Value){t->dtype, t->shape, (void *)(uintptr_t)t->data};
    return TSO_OK;
  }
  if (nd->op == TSO_OP_OPAQUE) {
    for (int k = 0; k < nd->nout; k++) {
      int32_t t = TSO_OUT(g, nd, k);
      tsoO_Value v = {g->t[t].dtype, g->t[t].shape, NULL};
      if (!opq || opq(ud, g, id, k, &v) != 0 || !v.data) {
        note(g, noted, "no value for the output '%s' of an opaque node", g->t[t].name);
        continue;
      }
      vals[t] = v;
    }
    return TSO_OK;
  }
  for (int k = 0; k < nd->nin; k++) {
    int32_t t = TSO_IN(g, nd, k);
    if (t < 0) { /* an absent optional input: the all-zero value */
      memset(&in[k], 0, sizeof in[k]);
      continue;
    }
    if (!vals[t].data) {
      if (tsoO_numel(&vals[t].shape) == 0 && vals[t].shape.rank >= 0 && g->t[t].producer < 0) {
        /* empty tensor: fine */
      } else {
        note(g, noted, "'%s' could not be computed (it needs '%s')", oname, g->t[t].name);
        return TSO_OK;
      }
    }
    in[k] = vals[t];
  }
  for (int k = 0; k < nd->nout; k++) {
    memset(&out[k], 0, sizeof out[k]);
    out[k].shape.rank = -1;
  }
  char err[TSO_ERRMAX] = "";
  tso_status r = oi->infer(&nd->p, nd->nin, in, nd->nout, out, err);
  if (r != TSO_OK) {
    note(g, noted, "'%s' could not be computed: %s", oname, err);
    return TSO_OK;
  }
  for (int k = 0; k < nd->nout; k++) {
    int64_t ne = tsoO_numel(&out[k].shape);
    size_t es = tsoO_dtype_size(out[k].dtype);
    if (ne < 0 || !es) {
      note(g, noted, "'%s' has no concrete shape", oname);
      for (int j = 0; j < k; j++) { free(out[j].data); out[j].data = NULL; }
      return TSO_OK;
    }
    out[k].data = calloc((size_t)ne ? (size_t)ne : 1, es);
    if (!out[k].data) {
      for (int j = 0; j < k; j++) free(out[j].data);
      return tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory evaluating '%s'", oname);
    }
  }
  r = oi->eval(&nd->p, nd->nin, in, nd->nout, out, err);
  if (r != TSO_OK) {
    for (int k = 0; k < nd->nout; k++) free(out[k].data);
    if (r == TSO_ERR_NOMEM) return tsoO_fail(g->err, r, "out of memory evaluating '%s'", oname);
    note(g, noted, "'%s' could not be computed: %s", oname, err);
    return TSO_OK;
  }
  for (int k = 0; k < nd->nout; k++) vals[TSO_OUT(g, nd, k)] = out[k];
  return TSO_OK;
}

tso_status tsoI_eval(tsoI_Graph *g, tsoO_Value *vals, int keep_all, tsoI_OpaqueFn opq, void *ud) {
  int32_t *order = malloc(((size_t)g->nn + 1) * sizeof *order);
  int32_t *left = calloc((size_t)g->nt + 1, sizeof *left);
  unsigned char *keep = calloc((size_t)g->nt + 1, 1);
  tsoO_Value *in = NULL, *out = NULL;
  tso_status st = TSO_OK;
  int noted = 0;
  g->err[0] = 0;
  if (!order || !left || !keep) { st = tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory"); goto done; }
  int32_t cnt = tsoI_topo(g, order);
  if (cnt < 0) { st = TSO_ERR_INVALID; goto done; }
  int maxin = 1, maxout = 1;
  for (int32_t k = 0; k < cnt; k++) {
    const tsoI_Node *nd = &g->n[order[k]];
    if (nd->nin > maxin) maxin = nd->nin;
    if (nd->nout > maxout) maxout = nd->nout;
    for (int i = 0; i < nd->nin; i++) {
      int32_t t = TSO_IN(g, nd, i);
      if (t < 0) continue;
      left[t]++;
      if (nd->op == TSO_OP_OPAQUE) keep[t] = 1;
    }
  }
  for (int32_t i = 0; i < g->noutputs; i++) keep[g->outputs[i]] = 1;
  in = calloc((size_t)maxin, sizeof *in);
  out = calloc((size_t)maxout, sizeof *out);
  if (!in || !out) { st = tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory"); goto done; }
  /* constants (initializers) are visible without a copy */
  for (int32_t t = 0; t < g->nt; t++) {
    const tsoI_Tensor *x = &g->t[t];
    if (x->producer < 0 && (x->flags & TSO_T_CONST) && !vals[t].data)
      vals[t] = (tsoO_Value){x->dtype, x->shape, (void *)(uintptr_t)x->data};
  }
  for (int32_t k = 0; k < cnt; k++) {
    int32_t id = order[k];
    if ((st = run_node(g, id, vals, in, out, opq, ud, &noted)) != TSO_OK) goto done;
    if (keep_all) continue;
    const tsoI_Node *nd = &g->n[id];
    for (int i = 0; i < nd->nin; i++) {
      int32_t t = TSO_IN(g, nd, i);
      if (t < 0 || --left[t] > 0 || keep[t] || g->t[t].producer < 0) continue;
      if (vals[t].data && !borrowed(g, vals, t)) free(vals[t].data);
      vals[t].data = NULL;
    }
  }
  for (int32_t i = 0; i < g->noutputs && st == TSO_OK; i++)
    if (!vals[g->outputs[i]].data && tsoO_numel(&vals[g->outputs[i]].shape) != 0) st = TSO_ERR_UNSUPPORTED;
done:
  free(order);
  free(left);
  free(keep);
  free(in);
  free(out);
  return st;
}
