/*
** match.c -- pattern matching and in-place rewriting.
**
** Matching is a backtracking walk over the source pattern's ops in their
** (topological) order: op k is tried on the consumers of a value that is
** already bound (an earlier op's output or a bound pattern input), or on
** every node of its operator when nothing it reads is bound yet. Inputs of
** commutative operators are tried in both orders. A structural match is
** then checked: the shape classes of the rule's inputs, values internal to
** the pattern that are used outside it, the target's shape inference on
** the actual shapes, and cycles (a pattern input computed from a matched
** node).
**
** Rewriting appends the target's nodes and hands each source output's
** tensor (same id, same name) to its new producer, the matched producer
** getting a fresh tensor; only a source output whose target is a pattern
** input (or a target value already claimed) has its uses redirected. The
** invariant kept: after tsoS_apply with a journal, tsoS_undo restores the
** graph byte for byte (sizes, nodes, edges, tensors, outputs), so the
** search can try a rewrite, hash and cost it, and take it back without
** copying the graph.
*/
#include <stdlib.h>
#include <string.h>

#include "optimizer/optimizer.h"

static const char NONAME[] = "";

/* ---- the index ------------------------------------------------------------ */

void tsoS_index_free(tsoS_Index *ix) {
  if (!ix) return;
  free(ix->cstart);
  free(ix->cons);
  free(ix->pos);
  free(ix->opstart);
  free(ix->byop);
  free(ix->mark);
  memset(ix, 0, sizeof *ix);
}

tso_status tsoS_index_build(tsoS_Index *ix, tsoI_Graph *g, char *err) {
  tsoS_index_free(ix);
  int32_t nt = g->nt, nn = g->nn;
  int64_t nedges = 0;
  for (int32_t i = 0; i < nn; i++)
    if (!(g->n[i].flags & TSO_N_DEAD)) nedges += g->n[i].nin;
  ix->nt = nt;
  ix->nn = nn;
  ix->cstart = calloc((size_t)nt + 2, sizeof *ix->cstart);
  ix->cons = malloc(((size_t)nedges + 1) * sizeof *ix->cons);
  ix->pos = malloc(((size_t)nn + 1) * sizeof *ix->pos);
  ix->opstart = calloc((size_t)TSO_OP__END + 2, sizeof *ix->opstart);
  ix->byop = malloc(((size_t)nn + 1) * sizeof *ix->byop);
  ix->mark = calloc((size_t)nn + 1, sizeof *ix->mark);
  int32_t *order = malloc(((size_t)nn + 1) * sizeof *order);
  int32_t *fill = calloc((size_t)nt + 1, sizeof *fill);
  if (!ix->cstart || !ix->cons || !ix->pos || !ix->opstart || !ix->byop || !ix->mark || !order || !fill) {
    free(order);
    free(fill);
    tsoS_index_free(ix);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  for (int32_t i = 0; i < nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) >= 0) ix->cstart[TSO_IN(g, nd, k) + 1]++;
    ix->opstart[nd->op + 1]++;
  }
  for (int32_t t = 0; t < nt; t++) ix->cstart[t + 1] += ix->cstart[t];
  for (int op = 0; op <= TSO_OP__END; op++) ix->opstart[op + 1] += ix->opstart[op];
  int32_t *ofill = calloc((size_t)TSO_OP__END + 1, sizeof *ofill);
  if (!ofill) {
    free(order);
    free(fill);
    tsoS_index_free(ix);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  for (int32_t i = 0; i < nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    ix->pos[i] = -1;
    if (nd->flags & TSO_N_DEAD) continue;
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      if (t >= 0) ix->cons[ix->cstart[t] + fill[t]++] = i;
    }
    ix->byop[ix->opstart[nd->op] + ofill[nd->op]++] = i;
  }
  free(ofill);
  free(fill);
  int32_t cnt = tsoI_topo(g, order);
  if (cnt < 0) {
    free(order);
    tsoS_index_free(ix);
    return tsoO_fail(err, TSO_ERR_INVALID, "%s", g->err);
  }
  for (int32_t k = 0; k < cnt; k++) ix->pos[order[k]] = k;
  free(order);
  return TSO_OK;
}

/* ---- helpers ---------------------------------------------------------------- */

/* The value view of tensor t: type, shape and data when it is known. */
static tsoO_Value view(const tsoI_Graph *g, int32_t t) {
  tsoO_Value v;
  memset(&v, 0, sizeof v);
  if (t < 0) return v;
  const tsoI_Tensor *x = &g->t[t];
  v.dtype = x->dtype;
  v.shape = x->shape;
  if (x->flags & TSO_T_CONST) v.data = (void *)(uintptr_t)x->data;
  return v;
}

static int same_shape(const tsoO_Shape *a, const tsoO_Shape *b) {
  if (a->rank != b->rank || a->rank < 0) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i]) return 0;
  return 1;
}

/* 1 when t is a float tensor of fully known shape. */
static int usable(const tsoI_Tensor *t) {
  return t->dtype == TSO_DT_FLOAT && t->shape.rank >= 0 && tsoO_shape_known(&t->shape);
}

static int norm_axis(int32_t a, int rank) {
  return a < 0 ? a + rank : a;
}

/* Output tensor of the node matched to source op k, slot s. */
static int32_t src_out(const tsoI_Graph *g, const tsoS_Match *m, int k, int s) {
  return TSO_OUT(g, &g->n[m->node[k]], s);
}

/* Input i of node nd as the pattern sees it (swapped for commutative ops). */
static int32_t node_in(const tsoI_Graph *g, const tsoI_Node *nd, int i, int swapped) {
  return TSO_IN(g, nd, swapped && i < 2 ? 1 - i : i);
}

tso_status tsoS_infer_node(tsoI_Graph *g, int32_t node, char *err) {
  tsoI_Node *nd = &g->n[node];
  const tsoO_Info *oi = tsoO_info(nd->op);
  if (!oi || !oi->infer || nd->op == TSO_OP_OPAQUE)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "node %d: no shape inference", (int)node);
  tsoO_Value sin[8], sout[8];
  tsoO_Value *in = nd->nin <= 8 ? sin : malloc((size_t)nd->nin * sizeof *in);
  tsoO_Value *out = nd->nout <= 8 ? sout : malloc((size_t)nd->nout * sizeof *out);
  tso_status st = TSO_OK;
  if (!in || !out) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < nd->nin; i++) in[i] = view(g, TSO_IN(g, nd, i));
  for (int i = 0; i < nd->nout; i++) {
    memset(&out[i], 0, sizeof out[i]);
    out[i].shape.rank = -1;
  }
  char e2[TSO_ERRMAX] = "";
  if ((st = oi->infer(&nd->p, nd->nin, in, nd->nout, out, e2)) != TSO_OK) {
    st = tsoO_fail(err, st, "%s: %s", oi->name, e2);
    goto done;
  }
  for (int i = 0; i < nd->nout; i++) {
    tsoI_Tensor *t = &g->t[TSO_OUT(g, nd, i)];
    t->dtype = out[i].dtype;
    t->shape = out[i].shape;
    for (int k = 0; k < TSO_MAX_RANK; k++) t->dimsym[k] = NULL;
  }
done:
  if (in != sin) free(in);
  if (out != sout) free(out);
  return st;
}

/* ---- parameters ------------------------------------------------------------- */

/* 1 when node nd, read with inputs possibly swapped, computes what pattern
** op po computes as far as parameters go. Parameters are compared exactly,
** after normalization of what ONNX can write in several ways: window
** pads are compared resolved for the actual sizes (explicit pads equal to
** SAME's match SAME), a conv kernel size 0 in the pattern means "from the
** kernel", negative axes are normalized, and Split sizes are compared as
** the actual output sizes. */
static int params_match(const tsoI_Graph *g, const tsoI_Node *nd, const tsoR_Op *po) {
  const tsoO_Params *a = &po->p, *b = &nd->p;
  switch (po->op) {
  case TSO_OP_CONV2D: case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: {
    const tsoI_Tensor *x = &g->t[TSO_IN(g, nd, 0)];
    if (x->shape.rank != 4) return 0;
    int64_t kh = b->win.kh, kw = b->win.kw;
    if (po->op == TSO_OP_CONV2D) {
      const tsoI_Tensor *k = &g->t[TSO_IN(g, nd, 1)];
      if (k->shape.rank != 4) return 0;
      kh = k->shape.d[2];
      kw = k->shape.d[3];
      if (a->win.kh && (a->win.kh != kh || a->win.kw != kw)) return 0;
      if (a->win.group != b->win.group || a->win.act != b->win.act) return 0;
    } else if (a->win.kh != b->win.kh || a->win.kw != b->win.kw) {
      return 0;
    }
    if (a->win.sh != b->win.sh || a->win.sw != b->win.sw || a->win.dh != b->win.dh || a->win.dw != b->win.dw ||
        a->win.ceil_mode != b->win.ceil_mode || a->win.count_include_pad != b->win.count_include_pad)
      return 0;
    int64_t pa[4], pb[4];
    tsoC_win_pads(a, x->shape.d[2], x->shape.d[3], kh, kw, pa);
    tsoC_win_pads(b, x->shape.d[2], x->shape.d[3], kh, kw, pb);
    return !memcmp(pa, pb, sizeof pa);
  }
  case TSO_OP_CONCAT: {
    const tsoI_Tensor *y = &g->t[TSO_OUT(g, nd, 0)];
    if (y->shape.rank < 0 || a->axis.legacy != b->axis.legacy) return 0;
    return norm_axis(a->axis.axis, y->shape.rank) == norm_axis(b->axis.axis, y->shape.rank);
  }
  case TSO_OP_SPLIT: {
    const tsoI_Tensor *x = &g->t[TSO_IN(g, nd, 0)];
    if (x->shape.rank < 0 || norm_axis(a->split.axis, x->shape.rank) != norm_axis(b->split.axis, x->shape.rank))
      return 0;
    tsoO_Value in[1], out[TSO_RULE_MAX_OUT + 1];
    if (nd->nout > TSO_RULE_MAX_OUT + 1) return 0;
    in[0] = view(g, TSO_IN(g, nd, 0));
    in[0].data = NULL;
    memset(out, 0, sizeof out);
    char e2[TSO_ERRMAX];
    if (tsoO_info(TSO_OP_SPLIT)->infer(a, 1, in, nd->nout, out, e2) != TSO_OK) return 0;
    for (int i = 0; i < nd->nout; i++)
      if (!same_shape(&out[i].shape, &g->t[TSO_OUT(g, nd, i)].shape)) return 0;
    return 1;
  }
  case TSO_OP_TRANSPOSE: {
    const tsoI_Tensor *x = &g->t[TSO_IN(g, nd, 0)];
    int r = x->shape.rank;
    if (r < 0) return 0;
    for (int i = 0; i < r; i++) {
      int pa = a->transpose.n ? a->transpose.perm[i] : r - 1 - i;
      int pb = b->transpose.n ? b->transpose.perm[i] : r - 1 - i;
      if (pa != pb) return 0;
    }
    return 1;
  }
  default:
    return !memcmp(a, b, sizeof *a);
  }
}

/* ---- matching ---------------------------------------------------------------- */

typedef struct M {
  tsoI_Graph *g;
  tsoS_Index *ix;
  const tsoR_Rule *r;
  tsoS_MatchFn fn;
  void *ud;
  tsoS_MatchStats *st;
  tsoS_Match cur;
  int32_t *stack;    /* scratch for the cycle check (capacity nn) */
  int nvalid;
  int stop;
} M;

/* Shapes of the target's ops for the current match: tsoO_Value per op output. */
typedef struct TShapes {
  tsoO_Value v[TSO_RULE_MAX_OPS][TSO_RULE_MAX_OUT + 4];
} TShapes;

/* Infers the target pattern of r on the match's input shapes; TSO_OK with
** the shapes of every target op output in ts, or why not. Broadcasting
** element-wise ops must see equal shapes (the generator never broadcasts). */
static tso_status target_shapes(const tsoI_Graph *g, const tsoR_Rule *r, const tsoS_Match *m, TShapes *ts,
                                char *err) {
  const tsoR_Pattern *pt = &r->dst;
  memset(ts, 0, sizeof *ts);
  for (int k = 0; k < pt->nops; k++) {
    const tsoR_Op *o = &pt->ops[k];
    const tsoO_Info *oi = tsoO_info(o->op);
    tsoO_Value in[TSO_RULE_MAX_OPIN];
    if (!oi || !oi->infer || o->nout > TSO_RULE_MAX_OUT + 4)
      return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "target op %d cannot be inferred", k);
    for (int i = 0; i < o->nin; i++) {
      const tsoR_Ref *f = &o->in[i];
      if (f->kind == TSO_REF_INPUT) {
        in[i] = view(g, m->in[f->idx]);
        in[i].data = NULL; /* shapes only: no folding here */
      } else {
        in[i] = ts->v[f->idx][f->slot];
      }
    }
    if ((oi->flags & TSO_OPF_BROADCAST) && o->nin == 2 && !same_shape(&in[0].shape, &in[1].shape))
      return tsoO_fail(err, TSO_ERR_SHAPE, "target %s would broadcast", oi->name);
    for (int s = 0; s < o->nout; s++) ts->v[k][s].shape.rank = -1;
    char e2[TSO_ERRMAX] = "";
    tso_status st = oi->infer(&o->p, o->nin, in, o->nout, ts->v[k], e2);
    if (st != TSO_OK) return tsoO_fail(err, TSO_ERR_SHAPE, "target %s: %s", oi->name, e2);
    for (int s = 0; s < o->nout; s++)
      if (ts->v[k][s].shape.rank < 0 || !tsoO_shape_known(&ts->v[k][s].shape))
        return tsoO_fail(err, TSO_ERR_SHAPE, "target %s: output shape not determined", oi->name);
  }
  return TSO_OK;
}

/* 1 if node n is one of the matched nodes. */
static int matched(const M *s, int32_t n) {
  for (int k = 0; k < s->r->src.nops; k++)
    if (s->cur.node[k] == n) return 1;
  return 0;
}

/* Index of the source output that is (op k, slot sl), or -1. */
static int src_output_index(const tsoR_Rule *r, int k, int sl) {
  for (int i = 0; i < r->src.nout; i++)
    if (r->src.out[i].kind == TSO_REF_OP && r->src.out[i].idx == k && r->src.out[i].slot == sl) return i;
  return -1;
}

/* 1 when target output i is a value the rewrite cannot hand its tensor
** to: a pattern input, or a target value already taken by an earlier
** output. Such a source output has its uses redirected instead. */
static int redirected(const tsoR_Rule *r, int i) {
  const tsoR_Ref *d = &r->dst.out[i];
  if (d->kind != TSO_REF_OP) return 1;
  for (int j = 0; j < i; j++)
    if (!memcmp(&r->dst.out[j], d, sizeof *d)) return 1;
  return 0;
}

/* 1 when some pattern input depends on a matched node (the rewrite would
** then make the input depend on the target that reads it). */
static int makes_cycle(M *s) {
  tsoI_Graph *g = s->g;
  tsoS_Index *ix = s->ix;
  int32_t minpos = INT32_MAX;
  for (int k = 0; k < s->r->src.nops; k++)
    if (ix->pos[s->cur.node[k]] < minpos) minpos = ix->pos[s->cur.node[k]];
  if (++ix->stamp == 0) {
    memset(ix->mark, 0, (size_t)ix->nn * sizeof *ix->mark);
    ix->stamp = 1;
  }
  int32_t sp = 0;
  for (int i = 0; i < s->r->nin; i++) {
    int32_t p = g->t[s->cur.in[i]].producer;
    if (p >= 0 && ix->pos[p] >= minpos && ix->mark[p] != ix->stamp) {
      ix->mark[p] = ix->stamp;
      s->stack[sp++] = p;
    }
  }
  while (sp > 0) {
    int32_t n = s->stack[--sp];
    if (matched(s, n)) return 1;
    const tsoI_Node *nd = &g->n[n];
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      int32_t p = t >= 0 ? g->t[t].producer : -1;
      if (p >= 0 && ix->pos[p] >= minpos && ix->mark[p] != ix->stamp) {
        ix->mark[p] = ix->stamp;
        s->stack[sp++] = p;
      }
    }
  }
  return 0;
}

/* Checks a structural match; calls the callback when it is valid. */
static void finish(M *s) {
  tsoI_Graph *g = s->g;
  const tsoR_Rule *r = s->r;
  tsoS_MatchStats *st = s->st;
  st->found++;
  /* shape classes: ranks, float, same kind -> same shape */
  for (int i = 0; i < r->nin; i++) {
    int32_t t = s->cur.in[i];
    if (t < 0 || !usable(&g->t[t]) || g->t[t].shape.rank != r->in_rank[i]) {
      st->shape_class++;
      return;
    }
    for (int j = 0; j < i; j++)
      if (r->in_kind[j] == r->in_kind[i] && r->in_rank[j] == r->in_rank[i] &&
          !same_shape(&g->t[s->cur.in[j]].shape, &g->t[t].shape)) {
        st->shape_class++;
        return;
      }
  }
  for (int k = 0; k < r->src.nops; k++) {
    const tsoI_Node *nd = &g->n[s->cur.node[k]];
    for (int sl = 0; sl < nd->nout; sl++)
      if (!usable(&g->t[TSO_OUT(g, nd, sl)])) {
        st->shape_class++;
        return;
      }
    /* the generator never broadcasts: neither may a matched element-wise op */
    if ((tsoO_info(nd->op)->flags & TSO_OPF_BROADCAST) && nd->nin == 2 &&
        !same_shape(&g->t[TSO_IN(g, nd, 0)].shape, &g->t[TSO_IN(g, nd, 1)].shape)) {
      st->shape_class++;
      return;
    }
  }
  /* values internal to the pattern must not be used outside it; outputs
  ** whose uses get redirected must not be graph outputs or captured */
  for (int k = 0; k < r->src.nops; k++) {
    const tsoI_Node *nd = &g->n[s->cur.node[k]];
    for (int sl = 0; sl < nd->nout; sl++) {
      int32_t t = TSO_OUT(g, nd, sl);
      int oi = src_output_index(r, k, sl);
      if (oi < 0) {
        if (g->t[t].flags & TSO_T_OUTPUT) goto external;
        for (int32_t c = s->ix->cstart[t]; c < s->ix->cstart[t + 1]; c++)
          if (!matched(s, s->ix->cons[c])) goto external;
      } else if (redirected(r, oi)) {
        if (g->t[t].flags & TSO_T_OUTPUT) goto external;
        for (int32_t c = s->ix->cstart[t]; c < s->ix->cstart[t + 1]; c++)
          if (g->n[s->ix->cons[c]].op == TSO_OP_OPAQUE) goto external;
      }
    }
  }
  /* the target on the actual shapes */
  {
    TShapes ts;
    char e2[TSO_ERRMAX];
    if (target_shapes(g, r, &s->cur, &ts, e2) != TSO_OK) {
      st->target_shape++;
      return;
    }
    for (int i = 0; i < r->dst.nout; i++) {
      const tsoR_Ref *d = &r->dst.out[i];
      const tsoI_Tensor *so = &g->t[src_out(g, &s->cur, r->src.out[i].idx, r->src.out[i].slot)];
      const tsoO_Shape *sh = d->kind == TSO_REF_INPUT ? &g->t[s->cur.in[d->idx]].shape : &ts.v[d->idx][d->slot].shape;
      int dt = d->kind == TSO_REF_INPUT ? g->t[s->cur.in[d->idx]].dtype : ts.v[d->idx][d->slot].dtype;
      if (!same_shape(sh, &so->shape) || dt != so->dtype) {
        st->target_shape++;
        return;
      }
    }
  }
  if (makes_cycle(s)) {
    st->cycle++;
    return;
  }
  st->valid++;
  s->nvalid++;
  if (s->fn && s->fn(s->ud, &s->cur)) s->stop = 1;
  return;
external:
  st->external_use++;
}

/* 1 when node nd can stand for pattern op po (operator, arities, kernels). */
static int node_fits(const tsoI_Graph *g, const tsoI_Node *nd, const tsoR_Op *po) {
  if ((nd->flags & (TSO_N_DEAD | TSO_N_NOKERNEL)) || nd->op != po->op || nd->nout != po->nout) return 0;
  if (tsoO_info(nd->op)->flags & TSO_OPF_BARRIER) return 0;
  if (nd->nin == po->nin) return 1;
  /* Split with its sizes as a constant second input (opset 13+) */
  if (nd->op == TSO_OP_SPLIT && po->nin == 1 && nd->nin == 2) {
    int32_t t = TSO_IN(g, nd, 1);
    return t < 0 || (g->t[t].flags & TSO_T_CONST);
  }
  return 0;
}

static void try_op(M *s, int j) {
  const tsoR_Rule *r = s->r;
  if (j == r->src.nops) {
    finish(s);
    return;
  }
  tsoI_Graph *g = s->g;
  tsoS_Index *ix = s->ix;
  const tsoR_Op *po = &r->src.ops[j];
  int32_t anchor = -1;
  for (int i = 0; i < po->nin && anchor < 0; i++)
    if (po->in[i].kind == TSO_REF_OP) anchor = src_out(g, &s->cur, po->in[i].idx, po->in[i].slot);
  for (int i = 0; i < po->nin && anchor < 0; i++)
    if (po->in[i].kind == TSO_REF_INPUT && s->cur.in[po->in[i].idx] >= 0) anchor = s->cur.in[po->in[i].idx];
  const int32_t *list;
  int32_t nlist;
  if (anchor >= 0) {
    list = ix->cons + ix->cstart[anchor];
    nlist = ix->cstart[anchor + 1] - ix->cstart[anchor];
  } else {
    list = ix->byop + ix->opstart[po->op];
    nlist = ix->opstart[po->op + 1] - ix->opstart[po->op];
  }
  const tsoO_Info *oi = tsoO_info(po->op);
  for (int32_t c = 0; c < nlist && !s->stop; c++) {
    int32_t n = list[c];
    if (c > 0 && list[c - 1] == n) continue; /* a node reading the anchor twice */
    const tsoI_Node *nd = &g->n[n];
    if (!node_fits(g, nd, po) || matched(s, n)) continue;
    int nperm = (oi->flags & TSO_OPF_COMMUTATIVE) && po->nin == 2 && !nd->p.axis.legacy &&
                        TSO_IN(g, nd, 0) != TSO_IN(g, nd, 1)
                    ? 2
                    : 1;
    for (int perm = 0; perm < nperm && !s->stop; perm++) {
      int32_t saved[TSO_RULE_MAX_IN];
      memcpy(saved, s->cur.in, sizeof saved);
      int ok = 1;
      for (int i = 0; i < po->nin && ok; i++) {
        int32_t t = node_in(g, nd, i, perm);
        const tsoR_Ref *f = &po->in[i];
        if (t < 0) ok = 0;
        else if (f->kind == TSO_REF_OP) ok = t == src_out(g, &s->cur, f->idx, f->slot);
        else if (s->cur.in[f->idx] >= 0) ok = s->cur.in[f->idx] == t;
        else s->cur.in[f->idx] = t;
      }
      if (ok && params_match(g, nd, po)) {
        s->cur.node[j] = n;
        if (perm) s->cur.swap |= 1u << j;
        try_op(s, j + 1);
        s->cur.swap &= ~(1u << j);
        s->cur.node[j] = -1;
      }
      memcpy(s->cur.in, saved, sizeof saved);
    }
  }
}

int tsoS_find_matches(tsoI_Graph *g, tsoS_Index *ix, const tsoR_Rule *r, uint32_t rid, tsoS_MatchFn fn, void *ud,
                      tsoS_MatchStats *st, char *err) {
  tsoS_MatchStats scratch;
  memset(&scratch, 0, sizeof scratch);
  M s;
  memset(&s, 0, sizeof s);
  s.g = g;
  s.ix = ix;
  s.r = r;
  s.fn = fn;
  s.ud = ud;
  s.st = st ? st : &scratch;
  s.cur.rule = rid;
  for (int k = 0; k < TSO_RULE_MAX_OPS; k++) s.cur.node[k] = s.cur.bias[k] = -1;
  for (int i = 0; i < TSO_RULE_MAX_IN; i++) s.cur.in[i] = -1;
  if (r->src.nops < 1 || ix->nn != g->nn || ix->nt != g->nt) {
    (void)tsoO_fail(err, TSO_ERR_ARG, "the index does not describe this graph");
    return -1;
  }
  for (int k = 0; k < r->src.nops; k++) /* an operator the graph lacks: no match (the common case) */
    if (r->src.ops[k].op >= TSO_OP__END || ix->opstart[r->src.ops[k].op + 1] == ix->opstart[r->src.ops[k].op])
      return 0;
  s.stack = malloc(((size_t)g->nn + 1) * sizeof *s.stack);
  if (!s.stack) {
    (void)tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    return -1;
  }
  try_op(&s, 0);
  free(s.stack);
  return s.nvalid;
}

/* ---- rewriting --------------------------------------------------------------- */

enum { J_EDGE = 1, J_TENSOR = 2, J_NODE = 3, J_OUTPUT = 4 };

typedef struct tsoS_JEntry {
  int kind;           /* J_* */
  int32_t id;         /* edge index, tensor id, node id or output index */
  int32_t old;        /* J_EDGE, J_OUTPUT: the previous value; J_NODE: the flags */
  tsoI_Tensor t;      /* J_TENSOR: the previous tensor */
} tsoS_JEntry;

void tsoS_journal_free(tsoS_Journal *j) {
  if (!j) return;
  free(j->e);
  memset(j, 0, sizeof *j);
}

static int jpush(tsoS_Journal *j, int kind, int32_t id, int32_t old, const tsoI_Tensor *t) {
  if (!j) return 0;
  if (j->n == j->cap) {
    int nc = j->cap ? 2 * j->cap : 32;
    tsoS_JEntry *e = realloc(j->e, (size_t)nc * sizeof *e);
    if (!e) return -1;
    j->e = e;
    j->cap = nc;
  }
  tsoS_JEntry *e = &j->e[j->n++];
  e->kind = kind;
  e->id = id;
  e->old = old;
  if (t) e->t = *t;
  return 0;
}

/* Appends an unnamed tensor of unknown type. */
static int32_t add_tensor(tsoI_Graph *g) {
  if (g->nt == g->capt) {
    int32_t nc = g->capt ? 2 * g->capt : 16;
    tsoI_Tensor *t = realloc(g->t, (size_t)nc * sizeof *t);
    if (!t) return -1;
    g->t = t;
    g->capt = nc;
  }
  tsoI_Tensor *t = &g->t[g->nt];
  memset(t, 0, sizeof *t);
  t->name = NONAME;
  t->shape.rank = -1;
  t->producer = -1;
  t->origin = -1;
  return g->nt++;
}

void tsoS_undo(tsoI_Graph *g, tsoS_Journal *j) {
  for (int i = j->n - 1; i >= 0; i--) {
    const tsoS_JEntry *e = &j->e[i];
    switch (e->kind) {
    case J_EDGE: g->e[e->id] = e->old; break;
    case J_TENSOR: g->t[e->id] = e->t; break;
    case J_NODE: g->n[e->id].flags = (uint16_t)e->old; break;
    case J_OUTPUT: g->outputs[e->id] = e->old; break;
    default: break;
    }
  }
  j->n = 0;
  g->nt = j->nt;
  g->nn = j->nn;
  g->ne = j->ne;
  g->noutputs = j->noutputs;
}

/* Redirects every use of tensor `from` to `to` (journaled). */
static int redirect(tsoI_Graph *g, int32_t from, int32_t to, int32_t first_new, tsoS_Journal *j) {
  for (int32_t i = 0; i < first_new; i++) {
    tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) == from) {
        if (jpush(j, J_EDGE, (int32_t)(nd->in + (uint32_t)k), from, NULL)) return -1;
        TSO_IN(g, nd, k) = to;
      }
  }
  for (int32_t i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == from) {
      if (jpush(j, J_OUTPUT, i, from, NULL) || jpush(j, J_TENSOR, to, 0, &g->t[to]) ||
          jpush(j, J_TENSOR, from, 0, &g->t[from]))
        return -1;
      g->outputs[i] = to;
      g->t[to].flags |= TSO_T_OUTPUT;
      g->t[from].flags &= ~TSO_T_OUTPUT;
    }
  return 0;
}

tso_status tsoS_apply(tsoI_Graph *g, const tsoR_Rule *r, const tsoS_Match *m, tsoS_Journal *j, int32_t *new_nodes,
                      int *nnew, char *err) {
  if (j) {
    j->n = 0;
    j->nt = g->nt;
    j->nn = g->nn;
    j->ne = g->ne;
    j->noutputs = g->noutputs;
  }
  if (nnew) *nnew = 0;
  const tsoR_Pattern *dp = &r->dst;
  int32_t first_new = g->nn;
  /* which target op output writes which source output's tensor */
  int32_t claim[TSO_RULE_MAX_OPS][TSO_RULE_MAX_OUT + 4];
  for (int k = 0; k < TSO_RULE_MAX_OPS; k++)
    for (int s = 0; s < TSO_RULE_MAX_OUT + 4; s++) claim[k][s] = -1;
  for (int i = 0; i < r->src.nout; i++) {
    if (redirected(r, i)) continue;
    const tsoR_Ref *d = &dp->out[i];
    if (d->slot >= TSO_RULE_MAX_OUT + 4) return tsoO_fail(err, TSO_ERR_LIMIT, "target op has too many outputs");
    claim[d->idx][d->slot] = src_out(g, m, r->src.out[i].idx, r->src.out[i].slot);
  }
  /* detach the claimed tensors from their matched producers */
  for (int k = 0; k < dp->nops; k++)
    for (int s = 0; s < TSO_RULE_MAX_OUT + 4; s++) {
      int32_t S = claim[k][s];
      if (S < 0) continue;
      int32_t f = add_tensor(g);
      if (f < 0) goto oom;
      tsoI_Tensor *ts = &g->t[S];
      const tsoI_Node *p = &g->n[ts->producer];
      if (jpush(j, J_EDGE, (int32_t)(p->out + (uint32_t)ts->slot), S, NULL) || jpush(j, J_TENSOR, S, 0, ts)) goto oom;
      TSO_OUT(g, p, ts->slot) = f;
      g->t[f].producer = ts->producer;
      g->t[f].slot = ts->slot;
      g->t[f].dtype = ts->dtype;
      g->t[f].shape = ts->shape;
      ts->producer = -1;
      ts->slot = 0;
      ts->flags &= ~(uint32_t)(TSO_T_CONST | TSO_T_OWNED); /* a folded value is recomputed by its new producer */
      ts->data = NULL;
      ts->nbytes = 0;
    }
  /* the target's nodes */
  int32_t outs[TSO_RULE_MAX_OPS][TSO_RULE_MAX_OUT + 4];
  for (int k = 0; k < dp->nops; k++) {
    const tsoR_Op *o = &dp->ops[k];
    int32_t in[TSO_RULE_MAX_OPIN];
    for (int i = 0; i < o->nin; i++) {
      const tsoR_Ref *f = &o->in[i];
      in[i] = f->kind == TSO_REF_INPUT ? m->in[f->idx] : outs[f->idx][f->slot];
    }
    for (int s = 0; s < o->nout; s++) {
      if (s < TSO_RULE_MAX_OUT + 4 && claim[k][s] >= 0) outs[k][s] = claim[k][s];
      else if ((outs[k][s] = add_tensor(g)) < 0) goto oom;
    }
    int32_t id = tsoI_add_node(g, o->op, &o->p, in, o->nin, outs[k], o->nout);
    if (id < 0) {
      tso_status st = tsoO_fail(err, strstr(g->err, "memory") ? TSO_ERR_NOMEM : TSO_ERR_INVALID, "%s", g->err);
      if (j) tsoS_undo(g, j);
      return st;
    }
    tso_status st = tsoS_infer_node(g, id, err);
    if (st != TSO_OK) {
      if (j) tsoS_undo(g, j);
      return st;
    }
    if (new_nodes) new_nodes[*nnew] = id;
    if (nnew) (*nnew)++;
  }
  /* redirected outputs: uses move to the target value */
  for (int i = 0; i < r->src.nout; i++) {
    if (!redirected(r, i)) continue;
    const tsoR_Ref *d = &dp->out[i];
    int32_t to = d->kind == TSO_REF_INPUT ? m->in[d->idx] : outs[d->idx][d->slot];
    int32_t from = src_out(g, m, r->src.out[i].idx, r->src.out[i].slot);
    if (redirect(g, from, to, first_new, j)) goto oom;
  }
  for (int k = 0; k < r->src.nops; k++) {
    tsoI_Node *nd = &g->n[m->node[k]];
    if (jpush(j, J_NODE, m->node[k], nd->flags, NULL)) goto oom;
    nd->flags |= TSO_N_DEAD;
  }
  return TSO_OK;
oom:
  if (j) tsoS_undo(g, j);
  return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
}
