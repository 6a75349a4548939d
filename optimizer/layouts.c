/*
** layouts.c -- lowering the layouts the search chose to standard ONNX.
**
** The search stores some tensors in a layout other than the default
** (tsoI_Tensor.layout); values stay logical throughout, so the graph
** computes the same whatever the layouts. Before export each such tensor
** t is made explicit:
**   - its physical form P is built: the input of the transpose that
**     produced t when that transpose is a view (tsoL_transpose_is_view),
**     else a Transpose node of t (pre-folded later when t is a constant);
**   - a reader that takes the layout in ONNX reads P instead: Gemm
**     operands A and B with transA / transB flipped, a 2-D MatMul by
**     becoming a Gemm (alpha 1, no C) with the flag set;
**   - every other reader keeps reading the logical t. In particular NHWC
**     has no standard ONNX form (Conv is defined on NCHW tensors): a tensor
**     the search stored as NHWC is written as the NCHW value it is, and the
**     runtime picks its own internal layout.
** A P nobody reads is removed with the dead nodes; a producing transpose
** nobody reads any more goes the same way. Afterwards every layout is 0.
*/
#include <string.h>

#include "optimizer/optimizer.h"

/* The physical form of t (layout l != default): a tensor id, -1 on
** allocation failure. */
static int32_t physical(tsoI_Graph *g, int32_t t, int l) {
  int r = g->t[t].shape.rank, order[TSO_MAX_RANK];
  int32_t pr = g->t[t].producer;
  if (pr >= 0 && g->n[pr].op == TSO_OP_TRANSPOSE && g->n[pr].nin == 1) {
    const tsoI_Node *nd = &g->n[pr];
    int32_t x = TSO_IN(g, nd, 0);
    int perm[TSO_MAX_RANK];
    for (int i = 0; i < r; i++) perm[i] = nd->p.transpose.n > 0 ? nd->p.transpose.perm[i] : r - 1 - i;
    if (x >= 0 && g->t[x].layout == TSO_LAYOUT_DEFAULT && tsoL_transpose_is_view(perm, r, TSO_LAYOUT_DEFAULT, l))
      return x;
  }
  if (tsoL_order(l, r, order)) return -1;
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  p.transpose.n = r;
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = r;
  for (int i = 0; i < r; i++) {
    p.transpose.perm[i] = order[i];
    s.d[i] = g->t[t].shape.d[order[i]];
  }
  int32_t y = tsoI_add_tensor(g, "", g->t[t].dtype, &s);
  if (y < 0 || tsoI_add_node(g, TSO_OP_TRANSPOSE, &p, &t, 1, &y, 1) < 0) return -1;
  return y;
}

int tsoS_lower_layouts(tsoI_Graph *g, char *err) {
  int lowered = 0;
  int32_t nt = g->nt;
  for (int32_t t = 0; t < nt; t++) {
    int l = g->t[t].layout;
    if (l == TSO_LAYOUT_DEFAULT) continue;
    g->t[t].layout = TSO_LAYOUT_DEFAULT;
    if (l != TSO_LAYOUT_COLMAJOR || g->t[t].shape.rank != 2) continue; /* no ONNX form: written logical */
    int32_t P = -2, nn = g->nn;
    for (int32_t i = 0; i < nn; i++) {
      tsoI_Node *nd = &g->n[i];
      if ((nd->flags & TSO_N_DEAD) || (nd->op != TSO_OP_GEMM && nd->op != TSO_OP_MATMUL)) continue;
      for (int k = 0; k < 2 && k < nd->nin; k++) {
        if (TSO_IN(g, nd, k) != t) continue;
        int32_t other = TSO_IN(g, nd, 1 - k);
        if (nd->op == TSO_OP_MATMUL && (other < 0 || g->t[other].shape.rank != 2)) continue;
        if (P == -2 && (P = physical(g, t, l)) < 0) goto oom;
        nd = &g->n[i]; /* physical() may have moved the node array */
        if (nd->op == TSO_OP_MATMUL) {
          memset(&nd->p, 0, sizeof nd->p);
          nd->op = TSO_OP_GEMM;
          nd->p.gemm.alpha = 1.0f;
          nd->p.gemm.beta = 1.0f;
        }
        TSO_IN(g, nd, k) = P;
        if (k == 0) nd->p.gemm.trans_a = !nd->p.gemm.trans_a;
        else nd->p.gemm.trans_b = !nd->p.gemm.trans_b;
        lowered++;
      }
    }
  }
  if (lowered) {
    tsoI_uses(g);
    tsoI_remove_dead(g);
  }
  return lowered;
oom:
  (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  return -1;
}
