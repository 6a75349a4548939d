/*
** fuse.c -- the fusions the generated rules cannot express, as separate
** passes around the search.
**
** BatchNormalization and Gemm are not generator operators, so no rule of
** data/rules.bin mentions them; these two fusions are written by hand:
**   - pre pass (before the search): Conv [+ bias] -> BatchNormalization
**     (inference form, constant scale/bias/mean/var) becomes one Conv with
**     the kernel scaled per output channel and a new bias; the search then
**     sees Conv -> Relu chains (which the rule set fuses);
**   - pre pass: a MatMul of a 3-D or higher activation by a 2-D constant
**     weight (the projections of a transformer) becomes Reshape to 2-D ->
**     MatMul [-> Add of a bias vector] -> Reshape back: the rules are
**     about matrices, so this is what lets them see these products (two
**     projections of one activation share the one Reshape);
**   - post pass (after the search): MatMul of two 2-D operands -> Add of a
**     tensor broadcastable to the product becomes one Gemm.
** Both keep the name of the value they replace (the new node writes the
** old output tensor), only ever fold a value that nothing else reads, and
** leave the replaced nodes dead for tsoI_compact.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optimizer/optimizer.h"

/* 1 if t is a float constant with data and the given rank (-1: any). */
static int fconst(const tsoI_Tensor *t, int rank) {
  return (t->flags & TSO_T_CONST) && t->data && t->dtype == TSO_DT_FLOAT && t->shape.rank >= 0 &&
         tsoO_shape_known(&t->shape) && (rank < 0 || t->shape.rank == rank);
}

/* 1 when tensor t is read by exactly one live node, is no graph output and
** no opaque node captures it (nuses must be fresh). */
static int single_use(const tsoI_Graph *g, int32_t t) {
  return g->t[t].nuses == 1 && !(g->t[t].flags & TSO_T_OUTPUT);
}

/* Moves tensor y from its producer (made dead) to nothing, so that a new
** node may write it. */
static void release(tsoI_Graph *g, int32_t y) {
  tsoI_Tensor *t = &g->t[y];
  if (t->producer >= 0) {
    const tsoI_Node *p = &g->n[t->producer];
    /* the dead producer keeps a fresh tensor in that slot: ids stay valid
    ** (the shape is copied: adding a tensor may move g->t) */
    tsoO_Shape s = t->shape;
    int32_t f = tsoI_add_tensor(g, "", t->dtype, &s);
    if (f >= 0) {
      t = &g->t[y];
      TSO_OUT(g, p, t->slot) = f;
      g->t[f].producer = t->producer;
      g->t[f].slot = t->slot;
    }
  }
  t->producer = -1;
  t->slot = 0;
  t->flags &= ~(uint32_t)(TSO_T_CONST | TSO_T_OWNED);
  t->data = NULL;
  t->nbytes = 0;
}

int tsoS_fuse_conv_bn(tsoI_Graph *g, char *err) {
  int folds = 0;
  tsoI_uses(g);
  int32_t nn = g->nn;
  for (int32_t i = 0; i < nn; i++) {
    const tsoI_Node *bn = &g->n[i];
    if ((bn->flags & TSO_N_DEAD) || bn->op != TSO_OP_BATCHNORM || bn->nin != 5 || bn->nout != 1) continue;
    int32_t x = TSO_IN(g, bn, 0);
    if (x < 0 || g->t[x].producer < 0 || !single_use(g, x)) continue;
    int32_t ci = g->t[x].producer;
    const tsoI_Node *cv = &g->n[ci];
    if ((cv->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || cv->op != TSO_OP_CONV2D || cv->p.win.act != TSO_ACT_NONE)
      continue;
    int32_t w = TSO_IN(g, cv, 1), b = cv->nin > 2 ? TSO_IN(g, cv, 2) : -1;
    if (w < 0 || !fconst(&g->t[w], 4)) continue;
    int64_t M = g->t[w].shape.d[0];
    if (b >= 0 && (!fconst(&g->t[b], 1) || g->t[b].shape.d[0] != M)) continue;
    int ok = 1;
    for (int k = 1; k < 5 && ok; k++) {
      int32_t t = TSO_IN(g, bn, k);
      ok = t >= 0 && fconst(&g->t[t], 1) && g->t[t].shape.d[0] == M;
    }
    if (!ok || g->t[x].dtype != TSO_DT_FLOAT) continue;
    const float *W = g->t[w].data, *B0 = b >= 0 ? g->t[b].data : NULL;
    const float *sc = g->t[TSO_IN(g, bn, 1)].data, *be = g->t[TSO_IN(g, bn, 2)].data;
    const float *mu = g->t[TSO_IN(g, bn, 3)].data, *var = g->t[TSO_IN(g, bn, 4)].data;
    double eps = bn->p.norm.epsilon;
    int64_t per = tsoO_numel(&g->t[w].shape) / (M > 0 ? M : 1);
    float *W2 = malloc((size_t)(M * per) * sizeof *W2 + 1), *B2 = malloc((size_t)M * sizeof *B2 + 1);
    if (!W2 || !B2) {
      free(W2);
      free(B2);
      (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      return -1;
    }
    for (int64_t m = 0; m < M; m++) {
      double s = (double)sc[m] / sqrt((double)var[m] + eps);
      for (int64_t k = 0; k < per; k++) W2[m * per + k] = (float)((double)W[m * per + k] * s);
      B2[m] = (float)(((B0 ? (double)B0[m] : 0.0) - (double)mu[m]) * s + (double)be[m]);
    }
    tsoO_Shape ws = g->t[w].shape, bs;
    memset(&bs, 0, sizeof bs);
    bs.rank = 1;
    bs.d[0] = M;
    int32_t nw = tsoI_add_const(g, "", TSO_DT_FLOAT, &ws, W2, (size_t)(M * per) * sizeof *W2, 1);
    int32_t nb = nw >= 0 ? tsoI_add_const(g, "", TSO_DT_FLOAT, &bs, B2, (size_t)M * sizeof *B2, 1) : -1;
    free(W2);
    free(B2);
    if (nb < 0) {
      (void)tsoO_fail(err, TSO_ERR_NOMEM, "%s", g->err);
      return -1;
    }
    bn = &g->n[i];
    cv = &g->n[ci];
    int32_t y = TSO_OUT(g, bn, 0);
    int32_t in[3] = {TSO_IN(g, cv, 0), nw, nb};
    tsoO_Params p = cv->p;
    g->n[i].flags |= TSO_N_DEAD;
    g->n[ci].flags |= TSO_N_DEAD;
    release(g, y);
    if (tsoI_add_node(g, TSO_OP_CONV2D, &p, in, 3, &y, 1) < 0) {
      (void)tsoO_fail(err, TSO_ERR_NOMEM, "%s", g->err);
      return -1;
    }
    folds++;
  }
  return folds;
}

int tsoS_fuse_matmul_add(tsoI_Graph *g, char *err) {
  int fused = 0;
  tsoI_uses(g);
  int32_t nn = g->nn;
  for (int32_t i = 0; i < nn; i++) {
    const tsoI_Node *ad = &g->n[i];
    if ((ad->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || ad->op != TSO_OP_ADD || ad->nin != 2 || ad->p.axis.legacy)
      continue;
    for (int side = 0; side < 2; side++) {
      int32_t mo = TSO_IN(g, ad, side), c = TSO_IN(g, ad, 1 - side);
      if (mo < 0 || c < 0 || g->t[mo].producer < 0 || !single_use(g, mo)) continue;
      int32_t mi = g->t[mo].producer;
      const tsoI_Node *mm = &g->n[mi];
      if ((mm->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || mm->op != TSO_OP_MATMUL) continue;
      const tsoI_Tensor *A = &g->t[TSO_IN(g, mm, 0)], *B = &g->t[TSO_IN(g, mm, 1)], *C = &g->t[c];
      const tsoI_Tensor *Y = &g->t[TSO_OUT(g, ad, 0)];
      if (A->dtype != TSO_DT_FLOAT || B->dtype != TSO_DT_FLOAT || C->dtype != TSO_DT_FLOAT) continue;
      if (A->shape.rank != 2 || B->shape.rank != 2 || !tsoO_shape_known(&A->shape) || !tsoO_shape_known(&B->shape))
        continue;
      int64_t M = A->shape.d[0], N = B->shape.d[1];
      if (Y->shape.rank != 2 || Y->shape.d[0] != M || Y->shape.d[1] != N) continue;
      /* C must broadcast to [M, N] one way */
      if (C->shape.rank < 0 || C->shape.rank > 2 || !tsoO_shape_known(&C->shape)) continue;
      int ok = 1;
      for (int k = 0; k < C->shape.rank; k++) {
        int64_t want = k == C->shape.rank - 1 ? N : M, d = C->shape.d[k];
        if (d != 1 && d != want) ok = 0;
      }
      if (!ok) continue;
      tsoO_Params p;
      memset(&p, 0, sizeof p);
      p.gemm.alpha = 1.0f;
      p.gemm.beta = 1.0f;
      int32_t in[3] = {TSO_IN(g, mm, 0), TSO_IN(g, mm, 1), c};
      int32_t y = TSO_OUT(g, ad, 0);
      g->n[i].flags |= TSO_N_DEAD;
      g->n[mi].flags |= TSO_N_DEAD;
      release(g, y);
      int32_t id = tsoI_add_node(g, TSO_OP_GEMM, &p, in, 3, &y, 1);
      if (id < 0) {
        (void)tsoO_fail(err, TSO_ERR_NOMEM, "%s", g->err);
        return -1;
      }
      fused++;
      break;
    }
  }
  return fused;
}

/* A new int64 shape constant holding d[0..r). */
static int32_t shape_const(tsoI_Graph *g, int r, const int64_t *d) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = 1;
  s.d[0] = r;
  return tsoI_add_const(g, "", TSO_DT_INT64, &s, d, (size_t)r * sizeof *d, 1);
}

/* y = Reshape(x, shape of y): y keeps its id (and name), x is new. */
static int32_t reshape_into(tsoI_Graph *g, int32_t x, int32_t y) {
  tsoO_Shape ys = g->t[y].shape;
  int32_t sc = shape_const(g, ys.rank, ys.d);
  if (sc < 0) return -1;
  release(g, y);
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  int32_t in[2] = {x, sc};
  return tsoI_add_node(g, TSO_OP_RESHAPE, &p, in, 2, &y, 1);
}

int tsoS_flatten_matmuls(tsoI_Graph *g, char *err) {
  int done = 0;
  tsoI_uses(g);
  int32_t nn = g->nn, nt0 = g->nt;
  int32_t *flat = malloc(((size_t)nt0 + 1) * sizeof *flat); /* activation -> its 2-D reshape */
  if (!flat) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory"), -1;
  for (int32_t t = 0; t < nt0; t++) flat[t] = -1;
  for (int32_t i = 0; i < nn; i++) {
    const tsoI_Node *mm = &g->n[i];
    if ((mm->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || mm->op != TSO_OP_MATMUL) continue;
    int32_t a = TSO_IN(g, mm, 0), b = TSO_IN(g, mm, 1), y = TSO_OUT(g, mm, 0);
    if (a < 0 || b < 0 || a >= nt0 || y >= nt0) continue;
    const tsoI_Tensor *A = &g->t[a], *B = &g->t[b];
    if (A->dtype != TSO_DT_FLOAT || A->shape.rank < 3 || !tsoO_shape_known(&A->shape) || !fconst(B, 2)) continue;
    if (g->t[y].shape.rank != A->shape.rank || !tsoO_shape_known(&g->t[y].shape)) continue;
    int r = A->shape.rank;
    int64_t m = 1, K = A->shape.d[r - 1], N = B->shape.d[1];
    for (int k = 0; k < r - 1; k++) m *= A->shape.d[k];
    if (B->shape.d[0] != K) continue;
    /* the activation, flattened once */
    if (flat[a] < 0) {
      int64_t d2[2] = {m, K};
      tsoO_Shape s2;
      memset(&s2, 0, sizeof s2);
      s2.rank = 2;
      s2.d[0] = m;
      s2.d[1] = K;
      int32_t sc = shape_const(g, 2, d2), a2 = sc < 0 ? -1 : tsoI_add_tensor(g, "", TSO_DT_FLOAT, &s2);
      tsoO_Params p;
      memset(&p, 0, sizeof p);
      int32_t in[2] = {a, sc};
      if (a2 < 0 || tsoI_add_node(g, TSO_OP_RESHAPE, &p, in, 2, &a2, 1) < 0) goto oom;
      flat[a] = a2;
    }
    tsoO_Shape s2;
    memset(&s2, 0, sizeof s2);
    s2.rank = 2;
    s2.d[0] = m;
    s2.d[1] = N;
    int32_t y2 = tsoI_add_tensor(g, "", TSO_DT_FLOAT, &s2);
    if (y2 < 0) goto oom;
    int32_t in[2] = {flat[a], b};
    tsoO_Params p;
    memset(&p, 0, sizeof p);
    int32_t out = y;
    /* a bias vector added to the product goes in the 2-D form too */
    int32_t ai = -1, c = -1;
    if (single_use(g, y))
      for (int32_t j = 0; j < nn && ai < 0; j++) {
        const tsoI_Node *ad = &g->n[j];
        if ((ad->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || ad->op != TSO_OP_ADD || ad->nin != 2 || ad->p.axis.legacy)
          continue;
        for (int side = 0; side < 2; side++) {
          int32_t o = TSO_IN(g, ad, 1 - side);
          if (TSO_IN(g, ad, side) != y || o < 0 || !fconst(&g->t[o], 1) || g->t[o].shape.d[0] != N) continue;
          if (TSO_OUT(g, ad, 0) >= nt0) continue;
          ai = j;
          c = o;
          break;
        }
      }
    g->n[i].flags |= TSO_N_DEAD;
    if (ai >= 0) {
      out = TSO_OUT(g, &g->n[ai], 0);
      g->n[ai].flags |= TSO_N_DEAD;
      int32_t z2 = tsoI_add_tensor(g, "", TSO_DT_FLOAT, &s2);
      int32_t in2[2] = {y2, c};
      if (z2 < 0 || tsoI_add_node(g, TSO_OP_MATMUL, &p, in, 2, &y2, 1) < 0 ||
          tsoI_add_node(g, TSO_OP_ADD, &p, in2, 2, &z2, 1) < 0 || reshape_into(g, z2, out) < 0)
        goto oom;
    } else if (tsoI_add_node(g, TSO_OP_MATMUL, &p, in, 2, &y2, 1) < 0 || reshape_into(g, y2, out) < 0) {
      goto oom;
    }
    done++;
  }
  free(flat);
  return done;
oom:
  free(flat);
  (void)tsoO_fail(err, TSO_ERR_NOMEM, "%s", g->err);
  return -1;
}
