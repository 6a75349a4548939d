/*
** prefold.c -- weight pre-folding and lowering to standard ONNX.
**
** After the search, the nodes it made that read only constants (kernels
** concatenated or enlarged for a merged convolution, generator constants,
** a scalar times a weight, ...) are computed once with the reference
** kernels and their outputs become initializers. Then what ONNX cannot
** say is lowered: a conv with a fused relu becomes Conv + Relu (the value
** keeps its tensor, the Conv gets a fresh one), smul becomes Mul (a
** rank-0 operand broadcasts), enlarge of a non-constant kernel becomes a
** zero Pad, and new convolutions and poolings with SAME padding get the
** explicit pads of their actual shapes. The invariant at the end: every
** live node is an operator with an ONNX form.
*/
#include <stdlib.h>
#include <string.h>

#include "optimizer/optimizer.h"

int tsoS_prefold(tsoI_Graph *g, char *err) {
  int32_t *order = malloc(((size_t)g->nn + 1) * sizeof *order);
  if (!order) {
    (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    return -1;
  }
  int32_t cnt = tsoI_topo(g, order);
  if (cnt < 0) {
    free(order);
    (void)tsoO_fail(err, TSO_ERR_INVALID, "%s", g->err);
    return -1;
  }
  int folded = 0;
  for (int32_t k = 0; k < cnt; k++) {
    tsoI_Node *nd = &g->n[order[k]];
    const tsoO_Info *oi = tsoO_info(nd->op);
    if ((nd->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || nd->op == TSO_OP_OPAQUE || nd->op == TSO_OP_CONSTANT ||
        !oi || !oi->eval)
      continue;
    if (nd->origin >= 0 && oi->onnx[0]) continue; /* the model's own nodes stay as they were written */
    int ok = nd->nout <= 8 && nd->nin <= 16;
    for (int i = 0; i < nd->nin && ok; i++) {
      int32_t t = TSO_IN(g, nd, i);
      ok = t < 0 || ((g->t[t].flags & TSO_T_CONST) && (g->t[t].data || !g->t[t].nbytes));
    }
    for (int i = 0; i < nd->nout && ok; i++) {
      const tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, i)];
      ok = !(t->flags & TSO_T_OUTPUT) && t->shape.rank >= 0 && tsoO_numel(&t->shape) >= 0 &&
           tsoO_dtype_size(t->dtype) > 0;
    }
    if (!ok) continue;
    tsoO_Value in[16], out[8];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    for (int i = 0; i < nd->nin; i++) {
      int32_t t = TSO_IN(g, nd, i);
      if (t < 0) continue;
      in[i].dtype = g->t[t].dtype;
      in[i].shape = g->t[t].shape;
      in[i].data = (void *)(uintptr_t)g->t[t].data;
    }
    for (int i = 0; i < nd->nout && ok; i++) {
      const tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, i)];
      size_t nb = (size_t)tsoO_numel(&t->shape) * tsoO_dtype_size(t->dtype);
      out[i].dtype = t->dtype;
      out[i].shape = t->shape;
      if (!(out[i].data = tsoI_alloc(g, nb ? nb : 1))) {
        free(order);
        (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
        return -1;
      }
    }
    char e2[TSO_ERRMAX];
    if (oi->eval(&nd->p, nd->nin, in, nd->nout, out, e2) != TSO_OK) continue; /* stays a node */
    for (int i = 0; i < nd->nout; i++) {
      tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, i)];
      t->data = out[i].data;
      t->nbytes = (size_t)tsoO_numel(&t->shape) * tsoO_dtype_size(t->dtype);
      t->flags |= TSO_T_CONST | TSO_T_OWNED;
      t->producer = -1;
      t->slot = 0;
      t->origin = -1;
    }
    nd->flags |= TSO_N_DEAD;
    folded++;
  }
  free(order);
  return folded;
}

/* Gives node nd's output slot 0 a fresh tensor and returns the old one
** (now without a producer), or -1 on allocation failure. */
static int32_t detach_out(tsoI_Graph *g, int32_t node) {
  int32_t y = TSO_OUT(g, &g->n[node], 0);
  tsoO_Shape s = g->t[y].shape;
  int32_t z = tsoI_add_tensor(g, "", g->t[y].dtype, &s);
  if (z < 0) return -1;
  TSO_OUT(g, &g->n[node], 0) = z;
  g->t[z].producer = node;
  g->t[z].slot = 0;
  g->t[y].producer = -1;
  g->t[y].slot = 0;
  return y;
}

/* A Reshape of a Reshape reads the first one's input instead (the first
** then goes when nothing else reads it): the flattening pre pass leaves
** such chains between the 2-D products and the reshapes of the model. The
** outer shape must be static, with no 0 (copy a dim of the input). */
static int collapse_reshapes(tsoI_Graph *g) {
  int n = 0;
  for (int32_t i = 0; i < g->nn; i++) {
    tsoI_Node *nd = &g->n[i];
    if ((nd->flags & TSO_N_DEAD) || nd->op != TSO_OP_RESHAPE || nd->nin != 2) continue;
    int32_t x = TSO_IN(g, nd, 0), sh = TSO_IN(g, nd, 1);
    if (x < 0 || sh < 0 || g->t[x].producer < 0) continue;
    const tsoI_Node *in = &g->n[g->t[x].producer];
    const tsoI_Tensor *s = &g->t[sh];
    if ((in->flags & TSO_N_DEAD) || in->op != TSO_OP_RESHAPE || !(s->flags & TSO_T_CONST) || !s->data ||
        s->dtype != TSO_DT_INT64 || s->shape.rank != 1)
      continue;
    const int64_t *d = s->data;
    int zero = 0;
    for (int64_t k = 0; k < s->shape.d[0]; k++) zero |= d[k] == 0;
    if (zero || !tsoO_shape_known(&g->t[TSO_OUT(g, nd, 0)].shape)) continue;
    TSO_IN(g, nd, 0) = TSO_IN(g, in, 0);
    n++;
  }
  return n;
}

int tsoS_lower(tsoI_Graph *g, char *err) {
  int lowered = collapse_reshapes(g);
  if (lowered) {
    tsoI_uses(g);
    tsoI_remove_dead(g);
  }
  int32_t nn = g->nn;
  for (int32_t i = 0; i < nn; i++) {
    tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    const tsoO_Info *oi = tsoO_info(nd->op);
    switch (nd->op) {
    case TSO_OP_CONV2D: case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: {
      /* explicit pads for the windows the optimizer wrote with SAME */
      if (nd->origin < 0 && nd->p.win.pad_mode != TSO_PAD_EXPLICIT && nd->p.win.pad_mode != TSO_PAD_VALID) {
        const tsoI_Tensor *x = &g->t[TSO_IN(g, nd, 0)];
        int64_t kh = nd->p.win.kh, kw = nd->p.win.kw;
        if (nd->op == TSO_OP_CONV2D) {
          const tsoI_Tensor *w = &g->t[TSO_IN(g, nd, 1)];
          kh = w->shape.rank == 4 ? w->shape.d[2] : -1;
          kw = w->shape.rank == 4 ? w->shape.d[3] : -1;
        }
        if (x->shape.rank == 4 && x->shape.d[2] > 0 && x->shape.d[3] > 0 && kh > 0 && kw > 0) {
          int64_t pads[4];
          tsoC_win_pads(&nd->p, x->shape.d[2], x->shape.d[3], kh, kw, pads);
          nd->p.win.pad_mode = TSO_PAD_EXPLICIT;
          nd->p.win.pt = (int32_t)pads[0];
          nd->p.win.pl = (int32_t)pads[1];
          nd->p.win.pb = (int32_t)pads[2];
          nd->p.win.pr = (int32_t)pads[3];
          lowered++;
        }
      }
      if (nd->op == TSO_OP_CONV2D && nd->p.win.act == TSO_ACT_RELU) {
        nd->p.win.act = TSO_ACT_NONE;
        int32_t y = detach_out(g, i);
        if (y < 0) goto oom;
        int32_t z = TSO_OUT(g, &g->n[i], 0);
        if (tsoI_add_node(g, TSO_OP_RELU, NULL, &z, 1, &y, 1) < 0) goto oom;
        lowered++;
      }
      break;
    }
    case TSO_OP_SCALAR_MUL: {
      memset(&nd->p, 0, sizeof nd->p);
      nd->op = TSO_OP_MUL;
      lowered++;
      break;
    }
    case TSO_OP_ENLARGE: {
      int32_t x = TSO_IN(g, nd, 0);
      const tsoI_Tensor *tx = &g->t[x], *ty = &g->t[TSO_OUT(g, nd, 0)];
      if (tx->shape.rank != 4 || ty->shape.rank != 4)
        return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "enlarge of a kernel of unknown shape cannot be written"), -1;
      int64_t oh = (ty->shape.d[2] - tx->shape.d[2]) / 2, ow = (ty->shape.d[3] - tx->shape.d[3]) / 2;
      int64_t pads[8] = {0, 0, oh, ow, 0, 0, ty->shape.d[2] - tx->shape.d[2] - oh, ty->shape.d[3] - tx->shape.d[3] - ow};
      tsoO_Shape ps;
      memset(&ps, 0, sizeof ps);
      ps.rank = 1;
      ps.d[0] = 8;
      int32_t pt = tsoI_add_const(g, "", TSO_DT_INT64, &ps, pads, sizeof pads, 1);
      if (pt < 0) goto oom;
      int32_t y = detach_out(g, i);
      if (y < 0) goto oom;
      g->n[i].flags |= TSO_N_DEAD;
      tsoO_Params p;
      memset(&p, 0, sizeof p);
      p.pad.mode = TSO_PADMODE_CONSTANT;
      int32_t in[2] = {x, pt};
      if (tsoI_add_node(g, TSO_OP_PAD, &p, in, 2, &y, 1) < 0) goto oom;
      lowered++;
      break;
    }
    default:
      if (nd->op != TSO_OP_OPAQUE && (!oi || !oi->onnx[0]))
        return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "operator '%s' was not pre-folded and has no ONNX form",
                         oi ? oi->name : "?"),
               -1;
      break;
    }
  }
  return lowered;
oom:
  (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  return -1;
}
