/*
** rules.c -- rule sets, the well-formedness check of one rule, and
** instantiation of one side of a rule as a graph.
**
** The invariant kept here is the one every other rules/ file relies on: a
** rule that passes tsoR_check() has every count within its array, every
** ref pointing at a pattern input or at an output of an earlier op of the
** same pattern, and every byte that no count covers equal to zero. So two
** well-formed rules are equal exactly when their bytes are, and the file
** and text forms can drop what no count covers.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "rules.h"

/* ---- sets ------------------------------------------------------------ */

tso_status tsoR_set_add(tsoR_Set *s, const tsoR_Rule *r) {
  if (s->n == UINT32_MAX) return TSO_ERR_LIMIT;
  if (s->n == s->cap) {
    uint32_t cap = s->cap ? s->cap : 16;
    if (cap > UINT32_MAX / 2) cap = UINT32_MAX;
    else if (s->cap) cap = s->cap * 2;
    uint64_t bytes = (uint64_t)cap * sizeof *s->r;
    if ((size_t)bytes != bytes) return TSO_ERR_NOMEM; /* 32-bit hosts */
    tsoR_Rule *nr = realloc(s->r, (size_t)bytes);
    if (!nr) return TSO_ERR_NOMEM;
    s->r = nr;
    s->cap = cap;
  }
  s->r[s->n] = *r;
  s->r[s->n].id = s->n;
  s->n++;
  return TSO_OK;
}

void tsoR_set_free(tsoR_Set *s) {
  if (!s) return;
  free(s->r);
  memset(s, 0, sizeof *s);
}

/* ---- checks ---------------------------------------------------------- */

/* 1 if the n bytes at p are all zero. */
static int all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

/* Checks one ref read by op `at` of pattern pt (at = pt->nops for the
** pattern's outputs): it must name an input of the rule or an output of an
** earlier op. `what` says where the ref is, for the message. */
static tso_status check_ref(const tsoR_Rule *r, const tsoR_Pattern *pt, int at, const tsoR_Ref *f,
                            const char *side, const char *what, char *err) {
  if (f->pad_) return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: padding byte is not zero", side, what);
  switch (f->kind) {
  case TSO_REF_INPUT:
    if (f->idx >= r->nin)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: input x%d, the rule has %d inputs", side, what, f->idx,
                       r->nin);
    if (f->slot)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: input x%d with output slot %d", side, what, f->idx,
                       f->slot);
    return TSO_OK;
  case TSO_REF_OP:
    if (f->idx >= at)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: op %d is not an earlier op", side, what, f->idx);
    if (f->slot >= pt->ops[f->idx].nout)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: op %d has no output %d", side, what, f->idx, f->slot);
    return TSO_OK;
  case TSO_REF_NONE:
    return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: missing", side, what);
  default:
    return tsoO_fail(err, TSO_ERR_INVALID, "%s %s: unknown ref kind %d", side, what, f->kind);
  }
}

/* Checks one pattern; sets bit i of *used for every input xi it reads. */
static tso_status check_pattern(const tsoR_Rule *r, const tsoR_Pattern *pt, const char *side, unsigned *used,
                                char *err) {
  char what[48];
  tso_status st;
  if (pt->pad_[0] || pt->pad_[1])
    return tsoO_fail(err, TSO_ERR_INVALID, "%s pattern: padding bytes are not zero", side);
  if (pt->nops > TSO_RULE_MAX_OPS)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s pattern: %d ops, at most %d", side, pt->nops, TSO_RULE_MAX_OPS);
  if (pt->nout < 1 || pt->nout > TSO_RULE_MAX_OUT)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s pattern: %d outputs, 1 to %d allowed", side, pt->nout,
                     TSO_RULE_MAX_OUT);
  unsigned char live[TSO_RULE_MAX_OPS] = {0};
  for (int k = 0; k < pt->nops; k++) {
    const tsoR_Op *o = &pt->ops[k];
    const tsoO_Info *oi = tsoO_info(o->op);
    if (!oi || o->op == TSO_OP_OPAQUE || o->op == TSO_OP_CONSTANT)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s op %d: operator id %d cannot appear in a rule", side, k, o->op);
    int maxin = oi->max_in < TSO_RULE_MAX_OPIN ? oi->max_in : TSO_RULE_MAX_OPIN;
    if (o->nin < oi->min_in || o->nin > maxin)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s op %d: %s with %d inputs (%d to %d allowed)", side, k, oi->name,
                       o->nin, oi->min_in, maxin);
    if (o->nout < oi->min_out || o->nout > oi->max_out)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s op %d: %s with %d outputs (%d to %d allowed)", side, k,
                       oi->name, o->nout, oi->min_out, oi->max_out);
    for (int i = 0; i < TSO_RULE_MAX_OPIN; i++) {
      const tsoR_Ref *f = &o->in[i];
      if (i >= o->nin) {
        if (!all_zero(f, sizeof *f))
          return tsoO_fail(err, TSO_ERR_INVALID, "%s op %d: unused input %d is not zero", side, k, i);
        continue;
      }
      snprintf(what, sizeof what, "op %d input %d", k, i);
      if ((st = check_ref(r, pt, k, f, side, what, err))) return st;
      if (f->kind == TSO_REF_INPUT) *used |= 1u << f->idx;
      else live[f->idx] = 1;
    }
  }
  for (int k = pt->nops; k < TSO_RULE_MAX_OPS; k++)
    if (!all_zero(&pt->ops[k], sizeof pt->ops[k]))
      return tsoO_fail(err, TSO_ERR_INVALID, "%s pattern: unused op %d is not zero", side, k);
  for (int i = 0; i < TSO_RULE_MAX_OUT; i++) {
    const tsoR_Ref *f = &pt->out[i];
    if (i >= pt->nout) {
      if (!all_zero(f, sizeof *f))
        return tsoO_fail(err, TSO_ERR_INVALID, "%s pattern: unused output %d is not zero", side, i);
      continue;
    }
    snprintf(what, sizeof what, "output %d", i);
    if ((st = check_ref(r, pt, pt->nops, f, side, what, err))) return st;
    if (f->kind == TSO_REF_INPUT) *used |= 1u << f->idx;
    else live[f->idx] = 1;
  }
  for (int k = 0; k < pt->nops; k++)
    if (!live[k])
      return tsoO_fail(err, TSO_ERR_INVALID, "%s op %d (%s): none of its outputs is used", side, k,
                       tsoO_info(pt->ops[k].op)->name);
  return TSO_OK;
}

tso_status tsoR_check(const tsoR_Rule *r, char *err) {
  tso_status st;
  unsigned used = 0;
  if (r->status > TSO_RULE_UNKNOWN) return tsoO_fail(err, TSO_ERR_INVALID, "unknown status %d", r->status);
  if (r->nin > TSO_RULE_MAX_IN)
    return tsoO_fail(err, TSO_ERR_INVALID, "%d pattern inputs, at most %d", r->nin, TSO_RULE_MAX_IN);
  if (r->pad_[0] || r->pad_[1]) return tsoO_fail(err, TSO_ERR_INVALID, "padding bytes are not zero");
  for (int i = 0; i < TSO_RULE_MAX_IN; i++) {
    if (i >= r->nin) {
      if (r->in_kind[i] || r->in_rank[i])
        return tsoO_fail(err, TSO_ERR_INVALID, "unused input slot %d is not zero", i);
      continue;
    }
    if (tsoR_in_role(r->in_kind[i]) > TSO_IN_SCALAR)
      return tsoO_fail(err, TSO_ERR_INVALID, "input x%d: unknown kind %d (role %d)", i, r->in_kind[i],
                       tsoR_in_role(r->in_kind[i]));
    if (r->in_rank[i] > TSO_MAX_RANK)
      return tsoO_fail(err, TSO_ERR_INVALID, "input x%d: rank %d, at most %d", i, r->in_rank[i], TSO_MAX_RANK);
  }
  if ((st = check_pattern(r, &r->src, "source", &used, err))) return st;
  if ((st = check_pattern(r, &r->dst, "target", &used, err))) return st;
  if (r->src.nops < 1) return tsoO_fail(err, TSO_ERR_INVALID, "the source pattern has no ops");
  if (r->src.nout != r->dst.nout)
    return tsoO_fail(err, TSO_ERR_INVALID, "the source has %d outputs, the target %d", r->src.nout, r->dst.nout);
  for (int i = 0; i < r->src.nout; i++) {
    const tsoR_Ref *f = &r->src.out[i];
    if (f->kind != TSO_REF_OP)
      return tsoO_fail(err, TSO_ERR_INVALID, "source output %d is a pattern input, not an op output", i);
    for (int j = 0; j < i; j++)
      if (!memcmp(f, &r->src.out[j], sizeof *f))
        return tsoO_fail(err, TSO_ERR_INVALID, "source outputs %d and %d are the same value", j, i);
  }
  for (int i = 0; i < r->nin; i++)
    if (!(used & (1u << i))) return tsoO_fail(err, TSO_ERR_INVALID, "input x%d is used by neither side", i);
  return TSO_OK;
}

/* ---- instantiation --------------------------------------------------- */

tso_status tsoR_instantiate(const tsoR_Rule *r, int side, const tsoO_Shape *in_shapes, struct tsoI_Graph **out,
                            char *err) {
  char name[16];
  tso_status st;
  *out = NULL;
  if (side != 0 && side != 1) return tsoO_fail(err, TSO_ERR_ARG, "side %d: 0 (source) or 1 (target)", side);
  if ((st = tsoR_check(r, err))) return st;
  for (int i = 0; i < r->nin; i++)
    if (in_shapes[i].rank != r->in_rank[i])
      return tsoO_fail(err, TSO_ERR_SHAPE, "input x%d has rank %d, the rule expects %d", i, (int)in_shapes[i].rank,
                       r->in_rank[i]);
  const tsoR_Pattern *pt = side ? &r->dst : &r->src;
  tsoI_Graph *g = tsoI_new();
  if (!g) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  /* outs[k][s]: the tensor of output s of op k; an op may have more
  ** outputs than a pattern (split), so they are kept per op. */
  int32_t *outs[TSO_RULE_MAX_OPS] = {0};
  for (int i = 0; i < r->nin; i++) {
    snprintf(name, sizeof name, "x%d", i);
    if (tsoI_add_input(g, name, TSO_DT_FLOAT, &in_shapes[i]) < 0) goto graph_fail;
  }
  for (int k = 0; k < pt->nops; k++) {
    const tsoR_Op *o = &pt->ops[k];
    int32_t in[TSO_RULE_MAX_OPIN];
    for (int i = 0; i < o->nin; i++) {
      const tsoR_Ref *f = &o->in[i];
      in[i] = f->kind == TSO_REF_INPUT ? g->inputs[f->idx] : outs[f->idx][f->slot];
    }
    if (!(outs[k] = malloc((size_t)o->nout * sizeof *outs[k]))) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if (tsoI_add_op(g, o->op, &o->p, in, o->nin, o->nout, outs[k]) < 0) goto graph_fail;
  }
  for (int i = 0; i < pt->nout; i++) {
    const tsoR_Ref *f = &pt->out[i];
    int32_t t = f->kind == TSO_REF_INPUT ? g->inputs[f->idx] : outs[f->idx][f->slot];
    if (tsoI_mark_output(g, t) < 0) goto graph_fail;
  }
  if ((st = tsoI_infer(g)) != TSO_OK) {
    st = tsoO_fail(err, TSO_ERR_SHAPE, "%s", g->err);
    goto fail;
  }
  for (int i = 0; i < g->noutputs; i++) {
    const tsoI_Tensor *t = &g->t[g->outputs[i]];
    if (t->shape.rank < 0 || !tsoO_shape_known(&t->shape)) {
      st = tsoO_fail(err, TSO_ERR_SHAPE, "%s output %d: shape not inferred", side ? "target" : "source", i);
      goto fail;
    }
  }
  for (int k = 0; k < TSO_RULE_MAX_OPS; k++) free(outs[k]);
  *out = g;
  return TSO_OK;
graph_fail:
  st = tsoO_fail(err, strstr(g->err, "out of memory") ? TSO_ERR_NOMEM : TSO_ERR_INVALID, "%s", g->err);
fail:
  for (int k = 0; k < TSO_RULE_MAX_OPS; k++) free(outs[k]);
  tsoI_free(g);
  return st;
}
