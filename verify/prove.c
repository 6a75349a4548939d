/*
** prove.c -- one proof per rule. First the independent float check: the
** rule is evaluated with the reference kernels on random well-formed
** shapes (inputs of one shape class share a shape); a rule it refutes is
** false and goes no further. Then Z3: the rule's two patterns become terms over
** fresh input constants, with what their well-formedness says about
** shapes, and for every output `axioms and source != target` must be unsat
** within the rule's time-out. A rule not proven gets a wider counterexample
** search (more shapes, then a Z3 model with MBQI) to tell refuted from
** unknown. A rule is also proven under finer shape classes where it can
** be (tsoV_prove_rule in verify.h): the finest classes it is proven with
** are what it ships with.
**
** Invariants: Z3_L_UNDEF is never a proof; nothing here exits. Rules are
** proven in chunks of consecutive rules that share one Z3 context whose
** solver holds the axioms at its base level (they are internalized once);
** each rule is checked in a pushed scope. Chunks are cut by position, so a
** rule always meets the same Z3 history and results do not depend on the
** number of threads.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph/graph.h"
#include "verify/z3enc.h"

void tsoV_options_default(tsoV_Options *o) {
  memset(o, 0, sizeof *o);
  o->timeout_ms = 2000;
  o->refute_ms = 0; /* off: a model only explains an unknown, and its search can outlive its time-out */
  o->jobs = 0;
  o->seed = 1;
  o->float_shapes = 3;
  o->refine = 1;
}

tso_status tsoV_proven_set(const tsoR_Set *in, const tsoV_Result *res, tsoR_Set *out) {
  for (uint32_t i = 0; i < in->n; i++) {
    if (res[i].status != TSO_RULE_PROVEN) continue;
    tsoR_Rule r = in->r[i];
    r.status = TSO_RULE_PROVEN;
    if (res[i].refined) memcpy(r.in_kind, res[i].in_kind, sizeof r.in_kind);
    tso_status st = tsoR_set_add(out, &r);
    if (st) return st;
  }
  return TSO_OK;
}

void tsoV_results_free(tsoV_Result *res, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(res[i].model);
    res[i].model = NULL;
  }
}

/* ---- shapes where both sides are well-formed ----------------------- */

/* Shape classes of a rule: input i has class cls[i]; class c has rank
** crank[c]. Inputs of one (kind byte, rank) share a class; classes are
** numbered in order of first use. */
typedef struct Classes {
  int n;
  int cls[TSO_RULE_MAX_IN];
  int crank[TSO_RULE_MAX_IN];
} Classes;

static void classes_of(const tsoR_Rule *r, Classes *c) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < r->nin; i++) {
    int k = 0;
    while (k < i && !(r->in_kind[k] == r->in_kind[i] && r->in_rank[k] == r->in_rank[i])) k++;
    if (k < i) c->cls[i] = c->cls[k];
    else {
      c->cls[i] = c->n;
      c->crank[c->n++] = r->in_rank[i];
    }
  }
}

/* Both sides instantiate with these shapes. */
static int shapes_ok(const tsoR_Rule *r, const tsoO_Shape *sh) {
  char err[TSO_ERRMAX];
  for (int side = 0; side < 2; side++) {
    tsoI_Graph *g = NULL;
    if (tsoR_instantiate(r, side, sh, &g, err) != TSO_OK) return 0;
    tsoI_free(g);
  }
  return 1;
}

static void fill_shapes(const tsoR_Rule *r, const Classes *c, int64_t dims[][TSO_MAX_RANK], tsoO_Shape *sh) {
  for (int i = 0; i < r->nin; i++) {
    memset(&sh[i], 0, sizeof sh[i]);
    sh[i].rank = r->in_rank[i];
    for (int a = 0; a < sh[i].rank; a++) sh[i].d[a] = dims[c->cls[i]][a];
  }
}

/* Values worth trying as dims: those the rule's constants, enlarges and
** kernel shapes name, then small sizes. */
static int dim_values(const tsoR_Rule *r, int *v) {
  int n = 0;
  for (int side = 0; side < 2; side++) {
    const tsoR_Pattern *pt = side ? &r->dst : &r->src;
    for (int k = 0; k < pt->nops; k++) {
      const tsoR_Op *o = &pt->ops[k];
      int32_t cand[TSO_MAX_RANK + 2];
      int nc = 0;
      const tsoO_Info *oi = tsoO_info(o->op);
      if (oi && (oi->flags & TSO_OPF_CONST))
        for (int i = 0; i < o->p.cgen.rank && i < TSO_MAX_RANK; i++) cand[nc++] = o->p.cgen.dims[i];
      if (o->op == TSO_OP_ENLARGE) cand[nc++] = o->p.enlarge.kh, cand[nc++] = o->p.enlarge.kw;
      if (o->op == TSO_OP_CONV2D || o->op == TSO_OP_MAXPOOL || o->op == TSO_OP_AVGPOOL)
        cand[nc++] = o->p.win.kh, cand[nc++] = o->p.win.kw;
      for (int i = 0; i < nc; i++) {
        int seen = 0;
        for (int j = 0; j < n; j++) seen |= v[j] == cand[i];
        if (!seen && cand[i] > 0 && cand[i] <= 64 && n < 24) v[n++] = cand[i];
      }
    }
  }
  static const int base[] = {4, 2, 3, 1, 6, 5};
  for (int i = 0; i < 6; i++) {
    int seen = 0;
    for (int j = 0; j < n; j++) seen |= v[j] == base[i];
    if (!seen) v[n++] = base[i];
  }
  return n;
}

/* Shape inference of one side with the operators' infer() only (no graph):
** unknown dims (-1) are allowed and never fail. 0, or -1 when some op
** refuses its inputs (or makes an empty tensor). */
static int side_infer(const tsoR_Rule *r, int side, const tsoO_Shape *sh) {
  const tsoR_Pattern *pt = side ? &r->dst : &r->src;
  tsoO_Shape outs[TSO_RULE_MAX_OPS][16];
  char err[TSO_ERRMAX];
  for (int k = 0; k < pt->nops; k++) {
    const tsoR_Op *o = &pt->ops[k];
    tsoO_Value in[TSO_RULE_MAX_OPIN], out[16];
    if (o->nout > 16) return -1;
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    for (int i = 0; i < o->nin; i++) {
      const tsoR_Ref *f = &o->in[i];
      in[i].dtype = TSO_DT_FLOAT;
      in[i].shape = f->kind == TSO_REF_INPUT ? sh[f->idx] : outs[f->idx][f->slot];
    }
    if (tsoO_info(o->op)->infer(&o->p, o->nin, in, o->nout, out, err) != TSO_OK) return -1;
    for (int sl = 0; sl < o->nout; sl++) {
      outs[k][sl] = out[sl].shape;
      for (int i = 0; i < out[sl].shape.rank; i++)
        if (out[sl].shape.d[i] == 0) return -1;
    }
  }
  return 0;
}

typedef struct Search {
  const tsoR_Rule *r;
  Classes c;
  const tsoR_Rule *base; /* or NULL: r refines base's classes, and a solution must tell them apart */
  Classes bc;            /* base's classes */
  int ndims, cls[TSO_RULE_MAX_IN * TSO_MAX_RANK], axis[TSO_RULE_MAX_IN * TSO_MAX_RANK];
  int vals[32], nv;
  int order[TSO_RULE_MAX_IN * TSO_MAX_RANK][32]; /* value order of each dim */
  int64_t dims[TSO_RULE_MAX_IN][TSO_MAX_RANK];
  int budget;
  tsoO_Shape *out;
  int want, found;
} Search;

/* 1 when shapes sh tell r's classes from base's: two inputs that share a
** class in base but not in r have different shapes (always 1 without a
** base). */
static int distinguishes(const Search *s, const tsoO_Shape *sh) {
  if (!s->base) return 1;
  for (int i = 0; i < s->r->nin; i++)
    for (int j = 0; j < i; j++)
      if (s->bc.cls[i] == s->bc.cls[j] && s->c.cls[i] != s->c.cls[j] && memcmp(&sh[i], &sh[j], sizeof sh[i]))
        return 1;
  return 0;
}

/* Depth-first search over the class dims, each partial assignment checked
** with the unassigned dims unknown. 1 when a new solution was added. */
static int dfs(Search *s, int i) {
  tsoO_Shape sh[TSO_RULE_MAX_IN];
  if (s->budget-- <= 0) return 0;
  fill_shapes(s->r, &s->c, s->dims, sh);
  if (side_infer(s->r, 0, sh) || side_infer(s->r, 1, sh)) return 0;
  if (i == s->ndims) {
    for (int f = 0; f < s->found; f++)
      if (!memcmp(&s->out[f * s->r->nin], sh, (size_t)s->r->nin * sizeof sh[0])) return 0;
    if (!distinguishes(s, sh) || !shapes_ok(s->r, sh)) return 0;
    memcpy(&s->out[s->found * s->r->nin], sh, (size_t)s->r->nin * sizeof sh[0]);
    s->found++;
    return 1;
  }
  for (int j = 0; j < s->nv; j++) {
    s->dims[s->cls[i]][s->axis[i]] = s->vals[s->order[i][j]];
    if (dfs(s, i + 1)) return 1;
    if (s->budget <= 0) break;
  }
  s->dims[s->cls[i]][s->axis[i]] = -1;
  return 0;
}

/* Finds up to want distinct well-formed shape assignments into out[]
** (want x nin shapes); returns how many. The first uses the preferred
** value order; the others shuffle it (seeded), for variety. With a base
** (a rule with the same patterns and coarser classes), only assignments
** that base's classes do not allow count. */
static int find_shapes(const tsoR_Rule *r, const tsoR_Rule *base, uint64_t seed, int want, tsoO_Shape *out) {
  Search *s = calloc(1, sizeof *s);
  if (!s) return 0;
  uint64_t rs = seed ^ 0x5eed5eedull;
  s->r = r, s->out = out, s->want = want, s->base = base;
  classes_of(r, &s->c);
  if (base) classes_of(base, &s->bc);
  s->nv = dim_values(r, s->vals);
  /* With a base, the classes split off an earlier class of base come last
  ** and start from the second preferred value: the first assignment then
  ** tells them apart when the patterns let it, and backtracking varies them
  ** first. */
  int split_off[TSO_RULE_MAX_IN] = {0}, bof[TSO_RULE_MAX_IN];
  for (int i = 0; base && i < r->nin; i++) bof[s->c.cls[i]] = s->bc.cls[i];
  for (int k = 0; base && k < s->c.n; k++)
    for (int k2 = 0; k2 < k; k2++) split_off[k] |= bof[k2] == bof[k];
  for (int last = 0; last < 2; last++)
    for (int k = 0; k < s->c.n; k++)
      for (int a = 0; a < s->c.crank[k] && split_off[k] == last; a++) s->cls[s->ndims] = k, s->axis[s->ndims++] = a;
  for (int attempt = 0; attempt < want + 4 && s->found < want; attempt++) {
    for (int i = 0; i < s->ndims; i++) {
      for (int j = 0; j < s->nv; j++) s->order[i][j] = split_off[s->cls[i]] ? (j + 1) % s->nv : j;
      if (attempt > 0)
        for (int j = s->nv - 1; j > 0; j--) {
          int q = tsoV_randint(&rs, j + 1), t = s->order[i][j];
          s->order[i][j] = s->order[i][q], s->order[i][q] = t;
        }
    }
    for (int k = 0; k < TSO_RULE_MAX_IN; k++)
      for (int a = 0; a < TSO_MAX_RANK; a++) s->dims[k][a] = -1;
    s->budget = 4000;
    dfs(s, 0);
    if (!s->ndims) break; /* no dims: one assignment only */
    if (base && !s->found) break; /* the patterns likely tie the split classes: do not insist */
  }
  int n = s->found;
  free(s);
  return n;
}

tso_status tsoV_find_shapes(const tsoR_Rule *r, uint64_t seed, int k, tsoO_Shape *shapes) {
  tsoO_Shape *all = malloc((size_t)(k + 1) * TSO_RULE_MAX_IN * sizeof *all);
  if (!all) return TSO_ERR_NOMEM;
  int n = find_shapes(r, NULL, seed, k + 1, all);
  if (n > k) memcpy(shapes, &all[k * r->nin], (size_t)r->nin * sizeof *shapes);
  free(all);
  return n > k ? TSO_OK : TSO_ERR_SHAPE;
}

static void shapes_str(const tsoR_Rule *r, const tsoO_Shape *sh, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < r->nin && len + 1 < n; i++) {
    char b[64];
    int w = snprintf(buf + len, n - len, "%sx%d=%s", i ? " " : "", i, tsoO_shape_str(&sh[i], b, sizeof b));
    if (w < 0) break;
    len += (size_t)w;
  }
}

/* tsoV_float_check, on shapes that base's classes do not allow when base
** is not NULL (see find_shapes). */
static tso_status float_check(const tsoR_Rule *r, const tsoR_Rule *base, uint64_t seed, int sets, int *nsets,
                              char *note, size_t n) {
  char err[TSO_ERRMAX], sb[160];
  tso_status st = TSO_OK;
  *nsets = 0;
  if (sets < 1) sets = 1;
  tsoO_Shape *all = malloc((size_t)sets * TSO_RULE_MAX_IN * sizeof *all);
  if (!all) return TSO_ERR_NOMEM;
  int found = find_shapes(r, base, seed, sets, all);
  if (!found) {
    free(all);
    snprintf(note, n, "no shapes found where both sides are well-formed");
    return TSO_ERR_SHAPE;
  }
  for (int s = 0; s < found; s++) {
    tsoI_Graph *ga = NULL, *gb = NULL;
    const tsoO_Shape *sh = &all[s * r->nin];
    if ((st = tsoR_instantiate(r, 0, sh, &ga, err)) || (st = tsoR_instantiate(r, 1, sh, &gb, err))) {
      tsoI_free(ga);
      snprintf(note, n, "%s", err);
      break;
    }
    tsoI_CompareResult cr;
    st = tsoI_compare(ga, gb, seed + (uint64_t)s * 7919u, 1e-3, 1e-4, &cr);
    tsoI_free(ga);
    tsoI_free(gb);
    if (st == TSO_OK && cr.unchecked) {
      st = TSO_ERR_UNSUPPORTED;
      snprintf(note, n, "float check: %d outputs could not be computed (%s)", cr.unchecked, cr.note);
    }
    if (st != TSO_OK) {
      shapes_str(r, sh, sb, sizeof sb);
      if (st == TSO_ERR_MISMATCH)
        snprintf(note, n, "float counterexample at %s (seed %llu): %s", sb, (unsigned long long)cr.seed, cr.note);
      else if (st != TSO_ERR_UNSUPPORTED)
        snprintf(note, n, "float check failed at %s: %s", sb, cr.note);
      break;
    }
    (*nsets)++;
  }
  free(all);
  return st;
}

tso_status tsoV_float_check(const tsoR_Rule *r, uint64_t seed, int sets, int *nsets, char *note, size_t n) {
  return float_check(r, NULL, seed, sets, nsets, note, n);
}

/* ---- the Z3 encoding of a rule ----------------------------------------- */

typedef struct Enc {
  tsoV_Z3 *z;
  Z3_ast in[TSO_RULE_MAX_IN];
  Z3_ast out[2][TSO_RULE_MAX_OUT];
} Enc;

/* Rank of input 0 of every op of both sides, from an instantiation. */
static tso_status op_ranks(const tsoR_Rule *r, const tsoO_Shape *sh, int ranks[2][TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN]) {
  char err[TSO_ERRMAX];
  for (int side = 0; side < 2; side++) {
    tsoI_Graph *g = NULL;
    tso_status st = tsoR_instantiate(r, side, sh, &g, err);
    if (st) return st;
    const tsoR_Pattern *pt = side ? &r->dst : &r->src;
    for (int k = 0; k < pt->nops; k++)
      for (int i = 0; i < TSO_RULE_MAX_OPIN; i++) {
        ranks[side][k][i] = -1;
        if (k < g->nn && i < g->n[k].nin) {
          int32_t t = TSO_IN(g, &g->n[k], i);
          if (t >= 0) ranks[side][k][i] = g->t[t].shape.rank;
        }
      }
    tsoI_free(g);
  }
  return TSO_OK;
}

/* dim(a, t) as a Z3 term. */
static Z3_ast dim_term(tsoV_Z3 *z, Z3_ast t, int a) { return tsoV_z3_field(z, tsoV_z3_shape(z, t), 1 + a); }

static void assert_eq(tsoV_Z3 *z, Z3_solver s, Z3_ast a, Z3_ast b) {
  if (!z->failed && a && b) Z3_solver_assert(z->c, s, Z3_mk_eq(z->c, a, b));
}

/* Asserts what the well-formedness of rule op o (inputs in[], of ranks
** rk[]) says about its inputs' shapes: conv's kernel_shape and channels,
** matmul's inner dims, concat's other dims, broadcasting of element-wise
** operands, non-empty split parts. */
static void wf_facts(tsoV_Z3 *z, Z3_solver s, const tsoR_Op *o, const Z3_ast *in, const int *rk) {
  Z3_context c = z->c;
  switch (o->op) {
  case TSO_OP_CONV2D:
    if (o->nin < 2 || rk[0] != 4 || rk[1] != 4) return;
    if (o->p.win.kh > 0) {
      assert_eq(z, s, dim_term(z, in[1], 2), Z3_mk_int(c, o->p.win.kh, z->I));
      assert_eq(z, s, dim_term(z, in[1], 3), Z3_mk_int(c, o->p.win.kw, z->I));
    }
    if (o->p.win.group >= 1) {
      Z3_ast m[2] = {dim_term(z, in[1], 1), Z3_mk_int(c, o->p.win.group, z->I)};
      if (m[0]) assert_eq(z, s, dim_term(z, in[0], 1), o->p.win.group == 1 ? m[0] : Z3_mk_mul(c, 2, m));
    }
    return;
  case TSO_OP_MATMUL:
    if (rk[0] == 2 && rk[1] == 2) assert_eq(z, s, dim_term(z, in[0], 1), dim_term(z, in[1], 0));
    return;
  case TSO_OP_ADD: case TSO_OP_MUL:
    /* operands of one rank broadcast: along each axis equal, or one is 1 */
    if (o->nin == 2 && rk[0] == rk[1] && !o->p.axis.legacy)
      for (int a = 0; a < rk[0] && a < TSO_MAX_RANK; a++) {
        Z3_ast dx = dim_term(z, in[0], a), dy = dim_term(z, in[1], a), one = Z3_mk_int(c, 1, z->I);
        if (!dx || !dy) return;
        Z3_ast alt[3] = {Z3_mk_eq(c, dx, dy), Z3_mk_eq(c, dx, one), Z3_mk_eq(c, dy, one)};
        Z3_solver_assert(c, s, Z3_mk_or(c, 3, alt));
      }
    return;
  case TSO_OP_SPLIT: {
    /* equal parts: none may be empty */
    int r = rk[0], axis = o->p.split.axis < 0 ? o->p.split.axis + r : o->p.split.axis;
    if (o->p.split.nsizes == 0 && axis >= 0 && axis < r && axis < TSO_MAX_RANK) {
      Z3_ast d = dim_term(z, in[0], axis);
      if (d) Z3_solver_assert(c, s, Z3_mk_ge(c, d, Z3_mk_int(c, o->nout, z->I)));
    }
    return;
  }
  case TSO_OP_CONCAT: {
    int r = rk[0], axis = o->p.axis.axis < 0 ? o->p.axis.axis + r : o->p.axis.axis;
    for (int i = 1; i < o->nin; i++)
      for (int b = 0; b < r && b < TSO_MAX_RANK; b++)
        if (b != axis && rk[i] == r) assert_eq(z, s, dim_term(z, in[0], b), dim_term(z, in[i], b));
    return;
  }
  default: return;
  }
}

/* Builds the terms of both sides and asserts the input facts. */
static int encode_rule(Enc *e, Z3_solver s, const tsoR_Rule *r, const int ranks[2][TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN]) {
  tsoV_Z3 *z = e->z;
  Z3_context c = z->c;
  Classes cl;
  classes_of(r, &cl);
  Z3_ast dims[TSO_RULE_MAX_IN][TSO_MAX_RANK];
  for (int k = 0; k < cl.n; k++)
    for (int a = 0; a < cl.crank[k]; a++) {
      char nm[32];
      snprintf(nm, sizeof nm, "dim.class%d.%d", k, a);
      dims[k][a] = Z3_mk_const(c, Z3_mk_string_symbol(c, nm), z->I);
      if (z->failed) return -1;
      Z3_solver_assert(c, s, Z3_mk_ge(c, dims[k][a], Z3_mk_int(c, 1, z->I)));
    }
  for (int i = 0; i < r->nin; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "x%d", i);
    e->in[i] = Z3_mk_const(c, Z3_mk_string_symbol(c, nm), z->T);
    Z3_ast sh = tsoV_z3_mkshape(z, Z3_mk_int(c, r->in_rank[i], z->I), dims[cl.cls[i]], r->in_rank[i]);
    if (!sh || z->failed) return -1;
    Z3_solver_assert(c, s, Z3_mk_eq(c, tsoV_z3_shape(z, e->in[i]), sh));
  }
  for (int side = 0; side < 2; side++) {
    const tsoR_Pattern *pt = side ? &r->dst : &r->src;
    Z3_ast outs[TSO_RULE_MAX_OPS][16];
    for (int k = 0; k < pt->nops; k++) {
      const tsoR_Op *o = &pt->ops[k];
      tsoO_Params p = o->p;
      if (o->nout > 16 || tsoV_canon_params(o->op, o->nin, o->nout, ranks[side][k][0], &p)) {
        z->failed = 1;
        snprintf(z->msg, sizeof z->msg, "op %d (%s): parameters cannot be encoded", k, tsoO_info(o->op)->name);
        return -1;
      }
      int words[32], nw = tsoV_encoded_words(o->op, words);
      Z3_ast args[40];
      for (int i = 0; i < nw; i++) args[i] = Z3_mk_int(c, p.raw[words[i]], z->I);
      for (int i = 0; i < o->nin; i++) {
        const tsoR_Ref *f = &o->in[i];
        args[nw + i] = f->kind == TSO_REF_INPUT ? e->in[f->idx] : outs[f->idx][f->slot];
      }
      for (int sl = 0; sl < o->nout; sl++) {
        Z3_func_decl d = tsoV_z3_func(z, o->op, &p, o->nin, o->nout, sl);
        if (!d) return -1;
        outs[k][sl] = Z3_mk_app(c, d, (unsigned)(nw + o->nin), args);
        if (z->failed) return -1;
      }
    }
    for (int i = 0; i < pt->nout; i++) {
      const tsoR_Ref *f = &pt->out[i];
      e->out[side][i] = f->kind == TSO_REF_INPUT ? e->in[f->idx] : outs[f->idx][f->slot];
    }
    /* Well-formedness facts: a rule only applies where both of its
    ** patterns are well-formed, so what that implies of the shapes holds. */
    for (int k = 0; k < pt->nops; k++) {
      const tsoR_Op *o = &pt->ops[k];
      Z3_ast in[TSO_RULE_MAX_OPIN];
      for (int i = 0; i < o->nin; i++) {
        const tsoR_Ref *f = &o->in[i];
        in[i] = f->kind == TSO_REF_INPUT ? e->in[f->idx] : outs[f->idx][f->slot];
      }
      wf_facts(z, s, o, in, ranks[side][k]);
    }
  }
  return z->failed ? -1 : 0;
}

/* Sets the time-out of s. */
static void set_timeout(tsoV_Z3 *z, Z3_solver s, unsigned ms) {
  Z3_params p = Z3_mk_params(z->c);
  if (!p || z->failed) return;
  Z3_params_inc_ref(z->c, p);
  Z3_params_set_uint(z->c, p, Z3_mk_string_symbol(z->c, "timeout"), ms ? ms : 1);
  Z3_solver_set_params(z->c, s, p);
  Z3_params_dec_ref(z->c, p);
}

/* A Z3 context with the axioms asserted at the base level of its solver;
** rules are checked in pushed scopes, so the quantifiers are internalized
** once for a chunk of rules. */
typedef struct Session {
  tsoV_Z3 z;
  Z3_solver s;
  int open;
} Session;

static void session_close(Session *ss) {
  if (!ss->open) return;
  if (ss->s) Z3_solver_dec_ref(ss->z.c, ss->s);
  tsoV_z3_close(&ss->z);
  memset(ss, 0, sizeof *ss);
}

/* Opens a session with the axioms marked in use (NULL: all). 0 or -1
** (note set). */
static int session_open(Session *ss, const tsoV_Axioms *ax, int mbqi, double qi, const unsigned char *use,
                        char *note, size_t n) {
  char err[TSO_ERRMAX];
  memset(ss, 0, sizeof *ss);
  if (tsoV_z3_open(&ss->z, err)) {
    snprintf(note, n, "%s", err);
    return -1;
  }
  ss->open = 1;
  ss->s = tsoV_z3_solver(&ss->z, 0, mbqi, qi);
  if (ss->s) tsoV_z3_assert_axioms(&ss->z, ss->s, ax, -1, use);
  /* One check of the axioms alone internalizes them, so that the first
  ** rule's time-out is not spent on it (the answer does not matter). */
  if (ss->s && !ss->z.failed) {
    set_timeout(&ss->z, ss->s, 5000);
    Z3_solver_check(ss->z.c, ss->s);
  }
  if (!ss->s || ss->z.failed) {
    snprintf(note, n, "%s", ss->z.msg[0] ? ss->z.msg : "Z3 failure");
    session_close(ss);
    return -1;
  }
  return 0;
}

/* Checks rule r in the session: proven outputs into res->outputs; the
** first output not proven into *failed_out (-1 if all were). Returns -1
** on a Z3 error (res->note set; the session must then be closed). With
** only >= 0, checks that output alone. */
static int session_check(Session *ss, const tsoR_Rule *r, const int ranks[2][TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN],
                         unsigned timeout_ms, int only, tsoV_Result *res, int *failed_out, int keep_model) {
  tsoV_Z3 *z = &ss->z;
  Z3_solver s = ss->s;
  double t0 = tsoV_now();
  Enc e;
  memset(&e, 0, sizeof e);
  e.z = z;
  *failed_out = -1;
  Z3_solver_push(z->c, s);
  if (z->failed || encode_rule(&e, s, r, ranks)) goto z3fail;
  for (int i = 0; i < r->src.nout; i++) {
    if (only >= 0 && i != only) continue;
    double left = (double)timeout_ms - (tsoV_now() - t0) * 1000.0;
    if (left < 1) {
      *failed_out = i;
      res->why = TSO_V_WHY_TIMEOUT;
      snprintf(res->note, sizeof res->note, "output %d: time-out (%u ms)", i, timeout_ms);
      break;
    }
    set_timeout(z, s, (unsigned)left);
    Z3_solver_push(z->c, s);
    Z3_solver_assert(z->c, s, Z3_mk_not(z->c, Z3_mk_eq(z->c, e.out[0][i], e.out[1][i])));
    if (z->failed) goto z3fail;
    Z3_lbool v = Z3_solver_check(z->c, s);
    if (z->failed) goto z3fail;
    if (v == Z3_L_FALSE) {
      res->outputs++;
      Z3_solver_pop(z->c, s, 1);
      continue;
    }
    *failed_out = i;
    if (v == Z3_L_TRUE) {
      res->why = TSO_V_WHY_MODEL;
      snprintf(res->note, sizeof res->note,
               "output %d: not implied by the axioms: Z3 found a model of them where source != target (a "
               "counter-model of the axioms, not a proof that the operators disagree)",
               i);
      if (keep_model) {
        Z3_model m = Z3_solver_get_model(z->c, s);
        if (m) {
          Z3_model_inc_ref(z->c, m);
          const char *txt = Z3_model_to_string(z->c, m);
          if (txt) {
            res->model = malloc(strlen(txt) + 1);
            if (res->model) strcpy(res->model, txt);
          }
          Z3_model_dec_ref(z->c, m);
        }
      }
    } else {
      const char *why = Z3_solver_get_reason_unknown(z->c, s);
      int to = why && (strstr(why, "timeout") || strstr(why, "canceled"));
      if (!to && (tsoV_now() - t0) * 1000.0 >= (double)timeout_ms * 0.98) to = 1;
      res->why = to ? TSO_V_WHY_TIMEOUT : TSO_V_WHY_INCOMPLETE;
      snprintf(res->note, sizeof res->note, "output %d: unknown (%s)", i, to ? "time-out" : why ? why : "?");
    }
    Z3_solver_pop(z->c, s, 1);
    break;
  }
  if (z->failed) goto z3fail;
  Z3_solver_pop(z->c, s, 1);
  return 0;
z3fail:
  res->why = TSO_V_WHY_ERROR;
  snprintf(res->note, sizeof res->note, "%s", z->msg[0] ? z->msg : "Z3 failure");
  return -1;
}

/* The Z3 part in a fresh context with only the axioms that can fire for
** r's operators (a single rule, or the model search). */
static int z3_check(const tsoV_Axioms *ax, const tsoR_Rule *r, const int ranks[2][TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN],
                    unsigned timeout_ms, int mbqi, double qi, int only, tsoV_Result *res, int *failed_out,
                    int keep_model) {
  Session ss;
  uint64_t ops = 0;
  *failed_out = -1;
  for (int side = 0; side < 2; side++) {
    const tsoR_Pattern *pt = side ? &r->dst : &r->src;
    for (int k = 0; k < pt->nops; k++) ops |= pt->ops[k].op < 64 ? (uint64_t)1 << pt->ops[k].op : 0;
  }
  unsigned char *use = malloc((size_t)ax->n + 1);
  if (!use) {
    snprintf(res->note, sizeof res->note, "out of memory");
    res->why = TSO_V_WHY_ERROR;
    return -1;
  }
  tsoV_relevant_axioms(ax, ops, use);
  int rc = session_open(&ss, ax, mbqi, qi, use, res->note, sizeof res->note);
  free(use);
  if (rc) {
    res->why = TSO_V_WHY_ERROR;
    return -1;
  }
  rc = session_check(&ss, r, ranks, timeout_ms, only, res, failed_out, keep_model);
  session_close(&ss);
  return rc;
}

/* ---- finer shape classes ------------------------------------------------ */

/* A partition of a rule's inputs into groups: input i is in group grp[i].
** Normalized (part_norm), groups are numbered in order of first use, so
** two partitions are equal exactly when their bytes are. */
typedef struct Part {
  int n;                    /* groups */
  int grp[TSO_RULE_MAX_IN]; /* group of each input; 0 beyond the inputs */
} Part;

/* Renumbers the groups of p (numbers 0..nin) in order of first use. */
static void part_norm(Part *p, int nin) {
  int map[TSO_RULE_MAX_IN + 1], n = 0;
  for (int g = 0; g <= TSO_RULE_MAX_IN; g++) map[g] = -1;
  for (int i = 0; i < nin; i++) {
    if (map[p->grp[i]] < 0) map[p->grp[i]] = n++;
    p->grp[i] = map[p->grp[i]];
  }
  p->n = n;
}

/* out = r with the shape classes of p, a refinement of r's classes: each
** group's kind byte is its members' role with, as subclass, the index of
** the group among the groups of that role and rank in order of first use
** (so a partition equal to the generator's classes gives its bytes). */
static void part_apply(const tsoR_Rule *r, const Part *p, tsoR_Rule *out) {
  int sub[TSO_RULE_MAX_IN + 1];
  *out = *r;
  for (int g = 0; g <= TSO_RULE_MAX_IN; g++) sub[g] = -1;
  for (int i = 0; i < r->nin; i++) {
    int g = p->grp[i], role = tsoR_in_role(r->in_kind[i]);
    if (sub[g] < 0) {
      /* g is first used here: count the groups of this role and rank before it */
      sub[g] = 0;
      for (int j = 0; j < i; j++) {
        int first = 1;
        for (int k = 0; k < j; k++) first &= p->grp[k] != p->grp[j];
        sub[g] += first && tsoR_in_role(r->in_kind[j]) == role && r->in_rank[j] == r->in_rank[i];
      }
    }
    out->in_kind[i] = tsoR_in_kind(role, sub[g]);
  }
}

/* The refinement of one rule. */
typedef struct Refine {
  const tsoV_Axioms *ax;
  const tsoR_Rule *r;
  const tsoV_Options *o;
  Session *ss;              /* the chunk's session, or NULL (or closed): fresh contexts */
  const int (*ranks)[TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN]; /* op_ranks() of r */
  double deadline;          /* tsoV_now() after which no attempt starts */
  Part orig, fin;           /* r's classes; the finest partition tried */
  int multi;                /* some class of rank > 0 has several members: worth trying */
} Refine;

/* Sets f up for rule r: its classes, and the finest partition (every input
** its own class, but a class of rank 0 is never split: its members' shapes
** are all equal anyway). All the attempts get o->timeout_ms together. */
static void refine_start(Refine *f, const tsoV_Axioms *ax, const tsoR_Rule *r, const tsoV_Options *o, Session *ss,
                         const int ranks[2][TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN]) {
  Classes cl;
  int size[TSO_RULE_MAX_IN] = {0};
  memset(f, 0, sizeof *f);
  f->ax = ax, f->r = r, f->o = o, f->ss = ss, f->ranks = ranks;
  f->deadline = tsoV_now() + o->timeout_ms / 1000.0;
  classes_of(r, &cl);
  for (int i = 0; i < r->nin; i++) f->orig.grp[i] = cl.cls[i], size[cl.cls[i]]++;
  f->orig.n = cl.n;
  for (int i = 0; i < r->nin; i++) {
    f->multi |= size[cl.cls[i]] > 1 && r->in_rank[i] > 0;
    f->fin.grp[i] = i;
    if (!r->in_rank[i])
      for (int j = 0; j < i; j++)
        if (cl.cls[j] == cl.cls[i]) {
          f->fin.grp[i] = f->fin.grp[j];
          break;
        }
  }
  part_norm(&f->fin, r->nin);
}

/* 1 when r with the classes of p (finer than those of base, a partition r
** is proven with) is proven: the float check on shapes that base's classes
** do not allow, then Z3 within what is left of the time (its wall time in
** *ms, 0 when not asked). */
static int refined_proven(Refine *f, const Part *p, const Part *base, double *ms) {
  char note[TSO_ERRMAX];
  int nsets = 0, failed = -1, zr;
  tsoR_Rule cand, coarse;
  if (ms) *ms = 0;
  if (tsoV_now() >= f->deadline) return 0;
  part_apply(f->r, p, &cand);
  part_apply(f->r, base, &coarse);
  if (float_check(&cand, &coarse, f->o->seed, f->o->float_shapes, &nsets, note, sizeof note) != TSO_OK) return 0;
  double left = (f->deadline - tsoV_now()) * 1000.0;
  if (left < 1) return 0;
  tsoV_Result tmp;
  memset(&tmp, 0, sizeof tmp);
  double tz = tsoV_now();
  if (f->ss && f->ss->open) {
    zr = session_check(f->ss, &cand, f->ranks, (unsigned)left, -1, &tmp, &failed, 0);
    if (zr) session_close(f->ss);
  } else {
    zr = z3_check(f->ax, &cand, f->ranks, (unsigned)left, 0, f->o->qi_threshold, -1, &tmp, &failed, 0);
  }
  free(tmp.model);
  if (ms) *ms = (tsoV_now() - tz) * 1000.0;
  return !zr && failed < 0;
}

/* After the finest partition failed, and r was proven with its own
** classes: one member at a time split off its class (inputs in order),
** kept when proven. 1 with the result in *cur when anything was split. */
static int refine_greedy(Refine *f, Part *cur) {
  const tsoR_Rule *r = f->r;
  int got = 0;
  *cur = f->orig;
  for (int i = 0; i < r->nin; i++) {
    int members = 0;
    for (int j = 0; j < r->nin; j++) members += cur->grp[j] == cur->grp[i];
    if (members < 2 || !r->in_rank[i]) continue;
    Part cand = *cur;
    cand.grp[i] = cur->n;
    part_norm(&cand, r->nin);
    if (!memcmp(&cand, &f->fin, sizeof cand)) continue; /* tried first */
    if (refined_proven(f, &cand, cur, NULL)) {
      *cur = cand;
      got = 1;
    }
  }
  return got;
}

/* Appends " {x0} {x1 x2}" (the groups of p) to note, when it all fits. */
static void part_note(const Part *p, int nin, char *note, size_t n) {
  size_t len = strlen(note);
  if (len + 5 * (size_t)nin + 1 > n) return; /* " {xI}" at most per input */
  for (int g = 0; g < p->n; g++) {
    int first = 1;
    for (int i = 0; i < nin; i++)
      if (p->grp[i] == g) {
        len += (size_t)snprintf(note + len, n - len, " %sx%d", first ? "{" : "", i);
        first = 0;
      }
    note[len++] = '}', note[len] = 0;
  }
}

/* Records partition p in res: the kind bytes, and the groups in the note. */
static void refine_result(const Refine *f, const Part *p, tsoV_Result *res) {
  tsoR_Rule rc;
  part_apply(f->r, p, &rc);
  res->refined = 1;
  memcpy(res->in_kind, rc.in_kind, sizeof res->in_kind);
  size_t len = strlen(res->note);
  snprintf(res->note + len, sizeof res->note - len, "; finer shape classes:");
  part_note(p, f->r->nin, res->note, sizeof res->note);
}

static void prove_rule(const tsoV_Axioms *ax, const tsoR_Rule *r, const tsoV_Options *o, Session *ss,
                       tsoV_Result *res);

/* r has no shapes under its own classes (the generator gives all inputs of
** one role one shape, so a 1x1 and a 3x3 kernel can share a class): proves
** it with its finest classes instead, where each input may have a shape of
** its own. 1 with the result in *res when that is proven; a rule proven
** with finer classes holds with any coarser ones that have shapes. */
static int prove_finest(const tsoV_Axioms *ax, const tsoR_Rule *r, const tsoV_Options *o, Session *ss,
                        tsoV_Result *res) {
  Refine f;
  tsoR_Rule fine;
  tsoV_Result sub;
  refine_start(&f, ax, r, o, ss, NULL); /* the partitions only: ranks are not used */
  if (!f.multi) return 0;               /* nothing to split */
  part_apply(r, &f.fin, &fine);
  prove_rule(ax, &fine, o, ss, &sub);   /* fine is its own finest: no further split */
  if (sub.status != TSO_RULE_PROVEN) {
    free(sub.model);
    return 0;
  }
  *res = sub;
  refine_result(&f, &f.fin, res);
  return 1;
}

/* Proves r; with a session (ss non-NULL and open) the Z3 part runs in
** it, else in a fresh context. A session broken by a Z3 error is closed. */
static void prove_rule(const tsoV_Axioms *ax, const tsoR_Rule *r, const tsoV_Options *o, Session *ss,
                       tsoV_Result *res) {
  char err[TSO_ERRMAX];
  double t0 = tsoV_now();
  memset(res, 0, sizeof *res);
  res->status = TSO_RULE_UNKNOWN;
  if (tsoR_check(r, err)) {
    res->why = TSO_V_WHY_INVALID;
    snprintf(res->note, sizeof res->note, "malformed rule: %s", err);
    goto out;
  }
  tsoO_Shape sh[TSO_RULE_MAX_IN];
  int ranks[2][TSO_RULE_MAX_OPS][TSO_RULE_MAX_OPIN];
  if (tsoV_find_shapes(r, o->seed, 0, sh) || op_ranks(r, sh, ranks)) {
    if (o->refine && r->status != TSO_RULE_PROVEN && prove_finest(ax, r, o, ss, res)) goto out;
    res->why = TSO_V_WHY_ILLFORMED;
    snprintf(res->note, sizeof res->note, "no shapes found where both sides are well-formed");
    goto out;
  }
  /* The independent float check first: a rule it refutes is false, and
  ** Z3 would only spend its time-out on it. */
  int nsets = 0;
  char note[sizeof res->note];
  tso_status fst = tsoV_float_check(r, o->seed, o->float_shapes, &nsets, note, sizeof note);
  if (fst == TSO_ERR_MISMATCH) {
    res->status = TSO_RULE_REFUTED;
    res->why = TSO_V_WHY_EVAL;
    snprintf(res->note, sizeof res->note, "%s", note);
    goto out;
  }
  if (r->nin == 0) {
    /* A fact about constants: the axioms cannot derive it, but exact
    ** evaluation decides it (closed.c). Undecided ones go on to Z3. */
    int d = tsoV_closed_decide(r, res->note, sizeof res->note);
    if (d != 0 && (d < 0 || fst == TSO_OK)) {
      res->status = d > 0 ? TSO_RULE_PROVEN : TSO_RULE_REFUTED;
      res->why = d > 0 ? TSO_V_WHY_PROVEN : TSO_V_WHY_EVAL;
      res->outputs = d > 0 ? r->src.nout : 0;
      goto out;
    }
  }
  int failed = -1, zr;
  Refine f;
  int refining = 0;
  if (o->refine && r->status != TSO_RULE_PROVEN && fst == TSO_OK) {
    refine_start(&f, ax, r, o, ss, ranks);
    refining = f.multi;
  }
  /* The finest classes first: a rule proven with them is proven with its
  ** own (a special case of the same formulas), so Z3 need not be asked
  ** twice. */
  if (refining && refined_proven(&f, &f.fin, &f.orig, &res->ms)) {
    res->status = TSO_RULE_PROVEN;
    res->why = TSO_V_WHY_PROVEN;
    res->outputs = r->src.nout;
    snprintf(res->note, sizeof res->note, "proven (%d outputs), float check on %d shape sets", res->outputs, nsets);
    refine_result(&f, &f.fin, res);
    goto out;
  }
  double tz = tsoV_now();
  if (ss && ss->open) {
    zr = session_check(ss, r, ranks, o->timeout_ms, -1, res, &failed, o->keep_models);
    if (zr) session_close(ss);
  } else {
    zr = z3_check(ax, r, ranks, o->timeout_ms, 0, o->qi_threshold, -1, res, &failed, o->keep_models);
  }
  res->ms = (tsoV_now() - tz) * 1000.0;
  if (zr) goto out; /* Z3 error: unknown, never proven */
  if (failed < 0) {
    if (fst == TSO_OK) {
      res->status = TSO_RULE_PROVEN;
      res->why = TSO_V_WHY_PROVEN;
      snprintf(res->note, sizeof res->note, "proven (%d outputs), float check on %d shape sets", res->outputs,
               nsets);
      Part cur;
      if (refining && refine_greedy(&f, &cur)) refine_result(&f, &cur, res);
    } else {
      res->status = TSO_RULE_UNKNOWN;
      res->why = TSO_V_WHY_FLOAT;
      snprintf(res->note, sizeof res->note, "proven, but the float check could not run: %.270s", note);
    }
    goto out;
  }
  /* not proven: look for a counterexample on more shapes (broadcasting
  ** and odd sizes hide in the corners) */
  if (tsoV_float_check(r, o->seed + 1, 4 * o->float_shapes + 4, &nsets, note, sizeof note) == TSO_ERR_MISMATCH) {
    res->status = TSO_RULE_REFUTED;
    res->why = TSO_V_WHY_EVAL;
    snprintf(res->note, sizeof res->note, "%s", note);
    goto out;
  }
  if (r->nin == 0) {
    /* A closed rule that exact evaluation could not decide (relu, max
    ** pooling, ... are not exact in the field) and that the axioms, which
    ** are about operators, not values, do not imply. Reported, not shipped. */
    res->why = TSO_V_WHY_CONSTANT;
    snprintf(res->note, sizeof res->note,
             "no inputs: equal in float on %d evaluations, but neither implied by the axioms nor decided by exact "
             "evaluation",
             nsets);
    goto out;
  }
  if (o->refute_ms && res->why != TSO_V_WHY_MODEL) {
    tsoV_Result m;
    int f2 = -1;
    memset(&m, 0, sizeof m);
    if (!z3_check(ax, r, ranks, o->refute_ms, 1, 0, failed, &m, &f2, o->keep_models) && m.why == TSO_V_WHY_MODEL) {
      free(res->model);
      *res = (tsoV_Result){.outputs = res->outputs, .ms = res->ms, .model = m.model};
      res->why = TSO_V_WHY_MODEL;
      snprintf(res->note, sizeof res->note, "%s", m.note);
    } else {
      free(m.model);
    }
  }
  /* A Z3 model shows that the axioms do not imply the rule, not that the
  ** rule is false (relu(relu(x)) = relu(x) has one): refuted means a
  ** concrete counterexample, found by evaluation above. */
  res->status = TSO_RULE_UNKNOWN;
out:
  res->total_ms = (tsoV_now() - t0) * 1000.0;
}

tso_status tsoV_prove_rule(const tsoV_Axioms *ax, const tsoR_Rule *r, const tsoV_Options *o, tsoV_Result *res) {
  prove_rule(ax, r, o, NULL, res);
  return TSO_OK;
}

/* ---- many rules, many threads ------------------------------------------ */

typedef struct Pool {
  const tsoV_Axioms *ax;
  const tsoR_Set *in;
  const tsoV_Options *o;
  tsoV_Result *res;
  atomic_size_t next;
  pthread_mutex_t mu;
  tsoV_Counts *c;
  double t0, last;
  int tty;
} Pool;

static void progress(Pool *p, int final) {
  const tsoV_Counts *c = p->c;
  double now = tsoV_now();
  if (p->o->quiet) return;
  if (!final && now - p->last < (p->tty ? 0.2 : 10.0)) return;
  p->last = now;
  fprintf(stderr, "%staso-verify: %llu/%llu rules: %llu proven (%llu with finer shape classes), %llu refuted, %llu "
          "unknown [%.1f s]%s",
          p->tty ? "\r" : "", (unsigned long long)c->done, (unsigned long long)c->total,
          (unsigned long long)c->proven, (unsigned long long)c->refined, (unsigned long long)c->refuted,
          (unsigned long long)c->unknown, now - p->t0, p->tty && !final ? "" : "\n");
  fflush(stderr);
}

/* Rules are proven in chunks of consecutive rules, each chunk in a fresh
** session: whichever thread takes a chunk, its rules meet the same Z3
** history, so the results do not depend on --jobs. */
#define CHUNK 32

static void *worker(void *arg) {
  Pool *p = arg;
  for (;;) {
    size_t c0 = atomic_fetch_add(&p->next, 1) * CHUNK;
    if (c0 >= p->in->n) break;
    Session ss;
    char note[TSO_ERRMAX];
    memset(&ss, 0, sizeof ss);
    for (size_t i = c0; i < c0 + CHUNK && i < p->in->n; i++) {
      /* a session closed by a Z3 error is reopened for the next rule */
      if (!ss.open) session_open(&ss, p->ax, 0, p->o->qi_threshold, NULL, note, sizeof note);
      prove_rule(p->ax, &p->in->r[i], p->o, ss.open ? &ss : NULL, &p->res[i]);
      pthread_mutex_lock(&p->mu);
      tsoV_Counts *c = p->c;
      c->done++;
      switch (p->res[i].status) {
      case TSO_RULE_PROVEN: c->proven++; break;
      case TSO_RULE_REFUTED: c->refuted++; break;
      default: c->unknown++; break;
      }
      if (p->res[i].why == TSO_V_WHY_FLOAT) c->float_fail++;
      if (p->res[i].why == TSO_V_WHY_ILLFORMED) c->illformed++;
      if (p->res[i].why == TSO_V_WHY_CONSTANT) c->constant++;
      if (p->res[i].refined) c->refined++;
      progress(p, 0);
      pthread_mutex_unlock(&p->mu);
    }
    session_close(&ss);
  }
  return NULL;
}

tso_status tsoV_prove_set(const tsoV_Axioms *ax, const tsoR_Set *in, const tsoV_Options *o, tsoV_Result *res,
                          tsoV_Counts *c, char *err) {
  Pool p;
  memset(&p, 0, sizeof p);
  memset(c, 0, sizeof *c);
  c->total = in->n;
  p.ax = ax, p.in = in, p.o = o, p.res = res, p.c = c;
  atomic_init(&p.next, 0);
  p.t0 = p.last = tsoV_now();
  p.tty = isatty(2);
  if (pthread_mutex_init(&p.mu, NULL)) return tsoO_fail(err, TSO_ERR_NOMEM, "cannot make a mutex");
  int jobs = o->jobs > 0 ? o->jobs : tsoV_ncores();
  size_t chunks = (in->n + CHUNK - 1) / CHUNK;
  if ((size_t)jobs > chunks) jobs = chunks ? (int)chunks : 1;
  pthread_t th[256];
  int started = 0;
  for (int j = 1; j < jobs && j < 256; j++) {
    if (pthread_create(&th[started], NULL, worker, &p)) break;
    started++;
  }
  worker(&p);
  for (int j = 0; j < started; j++) pthread_join(th[j], NULL);
  progress(&p, 1);
  pthread_mutex_destroy(&p.mu);
  return TSO_OK;
}
