/*
** infer.c -- whole-graph shape and type inference with folding of small
** constant subgraphs.
**
** Nodes are visited in topological order; each table operator's infer()
** sees its inputs' types, shapes and, for tensors whose value is known at
** compile time, their data. Small integer/float results of nodes whose
** inputs are all known (the Shape -> Gather -> Concat -> Reshape chains that
** exporters write) are computed with the reference kernels and attached to
** the output tensor as data (TSO_T_CONST with a producer): the node stays,
** only its value is known. Weight pre-folding of large tensors is the
** optimizer's business, not this pass.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define FOLD_MAX_ELEMS 4096 /* fold results up to this many elements */

/* The value view of tensor t for infer/eval: data only if known. */
static tsoO_Value view(const tsoI_Graph *g, int32_t t) {
  tsoO_Value v;
  memset(&v, 0, sizeof v);
  if (t < 0) return v; /* an absent optional input: the all-zero value */
  const tsoI_Tensor *x = &g->t[t];
  v.dtype = x->dtype;
  v.shape = x->shape;
  if (x->flags & TSO_T_CONST) v.data = (void *)(uintptr_t)x->data;
  return v;
}

/* A short description of node i for messages: its type and first output. */
static void describe(const tsoI_Graph *g, int32_t i, char *buf, size_t n) {
  const tsoI_Node *nd = &g->n[i];
  const tsoO_Info *oi = tsoO_info(nd->op);
  const char *out = nd->nout ? g->t[TSO_OUT(g, nd, 0)].name : "";
  snprintf(buf, n, "%s node writing '%s'", oi && oi->onnx[0] ? oi->onnx : oi ? oi->name : "?", out);
}

/* Tries to compute node nd's outputs now (all inputs known, results small). */
static tso_status fold(tsoI_Graph *g, const tsoI_Node *nd, const tsoO_Info *oi, tsoO_Value *in,
                       tsoO_Value *out) {
  /* Shape needs only its input's shape; everything else needs values */
  for (int k = 0; k < nd->nin; k++)
    if (TSO_IN(g, nd, k) >= 0 && !in[k].data && nd->op != TSO_OP_SHAPE) return TSO_OK;
  for (int k = 0; k < nd->nout; k++) {
    int64_t ne = tsoO_numel(&out[k].shape);
    if (ne < 0 || ne > FOLD_MAX_ELEMS || !tsoO_dtype_size(out[k].dtype)) return TSO_OK;
  }
  for (int k = 0; k < nd->nout; k++) {
    size_t nb = (size_t)tsoO_numel(&out[k].shape) * tsoO_dtype_size(out[k].dtype);
    out[k].data = tsoI_alloc(g, nb ? nb : 1);
    if (!out[k].data) return tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory");
  }
  char err[TSO_ERRMAX];
  if (oi->eval(&nd->p, nd->nin, in, nd->nout, out, err) != TSO_OK) {
    for (int k = 0; k < nd->nout; k++) out[k].data = NULL; /* arena memory: dropped with the graph */
    return TSO_OK;
  }
  for (int k = 0; k < nd->nout; k++) {
    tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, k)];
    t->data = out[k].data;
    t->nbytes = (size_t)tsoO_numel(&out[k].shape) * tsoO_dtype_size(out[k].dtype);
    t->flags |= TSO_T_CONST | TSO_T_OWNED;
  }
  return TSO_OK;
}

tso_status tsoI_infer(tsoI_Graph *g) {
  int32_t *order = malloc(((size_t)g->nn + 1) * sizeof *order);
  tsoO_Value *in = NULL, *out = NULL;
  tso_status st = TSO_OK;
  if (!order) return tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory");
  int32_t cnt = tsoI_topo(g, order);
  if (cnt < 0) {
    free(order);
    return TSO_ERR_INVALID;
  }
  int maxin = 1, maxout = 1;
  for (int32_t i = 0; i < g->nn; i++) {
    if (g->n[i].nin > maxin) maxin = g->n[i].nin;
    if (g->n[i].nout > maxout) maxout = g->n[i].nout;
  }
  in = calloc((size_t)maxin, sizeof *in);
  out = calloc((size_t)maxout, sizeof *out);
  if (!in || !out) {
    st = tsoO_fail(g->err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int32_t k = 0; k < cnt; k++) {
    int32_t id = order[k];
    tsoI_Node *nd = &g->n[id];
    const tsoO_Info *oi = tsoO_info(nd->op);
    nd->flags &= (uint16_t)~TSO_N_NOKERNEL;
    if (nd->op == TSO_OP_OPAQUE || nd->op == TSO_OP_CONSTANT) continue; /* shapes set by the importer */
    for (int i = 0; i < nd->nin; i++) in[i] = view(g, TSO_IN(g, nd, i));
    for (int i = 0; i < nd->nout; i++) {
      memset(&out[i], 0, sizeof out[i]);
      out[i].shape.rank = -1;
    }
    char err[TSO_ERRMAX] = "";
    tso_status r = oi->infer(&nd->p, nd->nin, in, nd->nout, out, err);
    if (r == TSO_ERR_UNSUPPORTED) {
      nd->flags |= TSO_N_NOKERNEL; /* keep what the importer knew of the outputs */
      continue;
    }
    if (r != TSO_OK) {
      char d[160];
      describe(g, id, d, sizeof d);
      st = tsoO_fail(g->err, r, "%s: %s", d, err);
      goto done;
    }
    for (int i = 0; i < nd->nout; i++) {
      tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, i)];
      t->dtype = out[i].dtype;
      if (out[i].shape.rank >= 0 || t->shape.rank < 0) {
        /* keep symbolic names only where the dimension is still unknown */
        for (int j = 0; j < TSO_MAX_RANK; j++)
          if (j >= out[i].shape.rank || out[i].shape.d[j] >= 0) t->dimsym[j] = NULL;
        t->shape = out[i].shape;
      }
      if (!(t->flags & TSO_T_CONST)) t->data = NULL;
    }
    if ((st = fold(g, nd, oi, in, out)) != TSO_OK) goto done;
  }
done:
  free(order);
  free(in);
  free(out);
  return st;
}
