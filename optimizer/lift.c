/*
** lift.c -- bias-lifted variants of rules that involve convolutions.
**
** Generator convolutions have no bias, but an imported Conv often has one,
** and every Conv has one once BatchNormalization is folded into it. A rule
** about bias-free convolutions (conv + relu fusion, merging two
** convolutions that share an input) then never matches. For such a rule a
** *lifted* variant is derived: every source conv2d gets a bias input b_k
** (a new pattern input of rank 1), and every target conv2d gets the bias
** of the source conv whose kernel it uses -- through enlarge, and through
** a concat on axis 0 of kernels, which becomes a concat of their biases.
** A rule that does not have this shape gets no variant.
**
** A lifted rule is not proven: the search validates it numerically, on the
** actual shapes of its first match, before it applies it (and never uses
** it when the two sides differ), and the final numerical check of the
** whole graph still runs. Lifted rules keep the id of the rule they come
** from (tsoR_Rule.id), so reports name the shipped rule.
**
** Reversed rules: a shipped rule rewrites a graph into the smallest one of
** its equivalence class (that is how the generator pairs graphs), so on
** its own it only ever shrinks graphs -- it splits a merged matmul back
** into two, never the other way. The reversed rule (target -> source) is
** just as proven (the proof is of an equality) and is what merges
** parallel operators. A reversed rule is made where the target can be
** matched (it has operators, its outputs are computed by them and it reads
** every input) and where it merges: the reversed source has more matmuls
** and convolutions than the reversed target.
** Reversed rules keep their rule's id too.
*/
#include <stdlib.h>
#include <string.h>

#include "optimizer/optimizer.h"

/* Inserts a copy of op at position pos of pattern pt, renumbering refs. */
static int insert_op(tsoR_Pattern *pt, int pos, const tsoR_Op *op) {
  if (pt->nops >= TSO_RULE_MAX_OPS) return -1;
  for (int k = pt->nops; k > pos; k--) pt->ops[k] = pt->ops[k - 1];
  pt->ops[pos] = *op;
  pt->nops++;
  for (int k = 0; k < pt->nops; k++) {
    if (k == pos) continue;
    for (int i = 0; i < pt->ops[k].nin; i++)
      if (pt->ops[k].in[i].kind == TSO_REF_OP && pt->ops[k].in[i].idx >= pos) pt->ops[k].in[i].idx++;
  }
  for (int i = 0; i < pt->nout; i++)
    if (pt->out[i].kind == TSO_REF_OP && pt->out[i].idx >= pos) pt->out[i].idx++;
  return 0;
}

/* The bias ref for a target kernel ref kr, or kind NONE. May insert a
** concat of biases before op `before` (which then moves one further). */
static tsoR_Ref bias_for(tsoR_Rule *r, const int *bias_of_src, tsoR_Ref kr, int *before, int depth) {
  tsoR_Ref none;
  memset(&none, 0, sizeof none);
  if (depth > 4) return none;
  if (kr.kind == TSO_REF_INPUT) {
    int found = -1, n = 0;
    for (int k = 0; k < r->src.nops; k++) {
      const tsoR_Op *o = &r->src.ops[k];
      if (o->op == TSO_OP_CONV2D && o->nin == 3 && o->in[1].kind == TSO_REF_INPUT && o->in[1].idx == kr.idx) {
        found = bias_of_src[k];
        n++;
      }
    }
    if (n != 1 || found < 0) return none;
    tsoR_Ref b = {TSO_REF_INPUT, (uint8_t)found, 0, 0};
    return b;
  }
  if (kr.kind != TSO_REF_OP) return none;
  const tsoR_Op *o = &r->dst.ops[kr.idx];
  if (o->op == TSO_OP_ENLARGE) return bias_for(r, bias_of_src, o->in[0], before, depth + 1);
  if (o->op == TSO_OP_CONCAT && o->p.axis.axis == 0 && !o->p.axis.legacy && o->nin <= TSO_RULE_MAX_OPIN) {
    tsoR_Op c;
    memset(&c, 0, sizeof c);
    c.op = TSO_OP_CONCAT;
    c.nin = o->nin;
    c.nout = 1;
    c.p.axis.axis = 0;
    tsoR_Ref ins[TSO_RULE_MAX_OPIN];
    int nin = o->nin;
    tsoR_Ref parts[TSO_RULE_MAX_OPIN];
    for (int i = 0; i < nin; i++) parts[i] = o->in[i];
    for (int i = 0; i < nin; i++) {
      ins[i] = bias_for(r, bias_of_src, parts[i], before, depth + 1);
      if (ins[i].kind == TSO_REF_NONE) return none;
    }
    for (int i = 0; i < nin; i++) c.in[i] = ins[i];
    int pos = *before;
    if (insert_op(&r->dst, pos, &c)) return none;
    (*before)++;
    tsoR_Ref b = {TSO_REF_OP, (uint8_t)pos, 0, 0};
    return b;
  }
  return none;
}

int tsoS_lift_rule(const tsoR_Rule *r, tsoR_Rule *out) {
  *out = *r;
  int bias_of_src[TSO_RULE_MAX_OPS];
  int nconv = 0;
  for (int k = 0; k < r->src.nops; k++) {
    bias_of_src[k] = -1;
    const tsoR_Op *o = &r->src.ops[k];
    if (o->op != TSO_OP_CONV2D) continue;
    if (o->nin != 2 || out->nin >= TSO_RULE_MAX_IN) return -1;
    int bi = out->nin++;
    out->in_kind[bi] = TSO_IN_ANY;
    out->in_rank[bi] = 1;
    out->src.ops[k].nin = 3;
    out->src.ops[k].in[2] = (tsoR_Ref){TSO_REF_INPUT, (uint8_t)bi, 0, 0};
    bias_of_src[k] = bi;
    nconv++;
  }
  if (!nconv) return -1;
  unsigned used = 0;
  for (int d = 0; d < out->dst.nops; d++) {
    tsoR_Op *o = &out->dst.ops[d];
    if (o->op != TSO_OP_CONV2D) continue;
    if (o->nin != 2) return -1;
    int at = d;
    tsoR_Ref b = bias_for(out, bias_of_src, o->in[1], &at, 0);
    if (b.kind == TSO_REF_NONE) return -1;
    d = at; /* the conv moved past any inserted concat */
    o = &out->dst.ops[d];
    o->nin = 3;
    o->in[2] = b;
    if (b.kind == TSO_REF_INPUT) used |= 1u << b.idx;
    else
      for (int i = 0; i < out->dst.ops[b.idx].nin; i++) used |= 1u << out->dst.ops[b.idx].in[i].idx;
  }
  for (int k = 0; k < r->src.nops; k++)
    if (bias_of_src[k] >= 0 && !(used & (1u << bias_of_src[k]))) return -1; /* a bias would be lost */
  char err[TSO_ERRMAX];
  return tsoR_check(out, err) == TSO_OK ? 0 : -1;
}

int tsoS_lift_rules(tsoR_Set *s, unsigned char **lifted) {
  uint32_t n = s->n;
  *lifted = NULL;
  for (uint32_t i = 0; i < n; i++) {
    tsoR_Rule lr;
    if (tsoS_lift_rule(&s->r[i], &lr) != 0) continue;
    uint32_t id = s->r[i].id;
    if (tsoR_set_add(s, &lr) != TSO_OK) return -1;
    s->r[s->n - 1].id = id;
  }
  unsigned char *l = calloc((size_t)s->n + 1, 1);
  if (!l) return -1;
  for (uint32_t i = n; i < s->n; i++) l[i] = 1;
  *lifted = l;
  return (int)(s->n - n);
}

/* ---- reversed rules ---------------------------------------------------------- */

/* 1 when every output of pattern pt is computed by one of its ops and it
** reads every one of the rule's nin inputs: what a source pattern needs. */
static int can_be_source(const tsoR_Pattern *pt, int nin) {
  if (pt->nops == 0) return 0;
  for (int i = 0; i < pt->nout; i++)
    if (pt->out[i].kind != TSO_REF_OP) return 0;
  unsigned used = 0;
  for (int k = 0; k < pt->nops; k++)
    for (int i = 0; i < pt->ops[k].nin; i++)
      if (pt->ops[k].in[i].kind == TSO_REF_INPUT) used |= 1u << pt->ops[k].in[i].idx;
  return used == (nin >= 32 ? ~0u : (1u << nin) - 1);
}

/* Operators of pattern pt that are matmuls or convolutions. */
static int heavy_ops(const tsoR_Pattern *pt) {
  int n = 0;
  for (int k = 0; k < pt->nops; k++) n += pt->ops[k].op == TSO_OP_MATMUL || pt->ops[k].op == TSO_OP_CONV2D;
  return n;
}

int tsoS_reverse_rule(const tsoR_Rule *r, tsoR_Rule *out) {
  if (!can_be_source(&r->dst, r->nin)) return -1;
  /* only where it merges: the reversed source has more matmuls or convs
  ** than its target (every other reversed rule only grows the graph, and
  ** matching them all costs more search time than they ever gave back) */
  if (heavy_ops(&r->dst) <= heavy_ops(&r->src)) return -1;
  *out = *r;
  out->src = r->dst;
  out->dst = r->src;
  char err[TSO_ERRMAX];
  return tsoR_check(out, err) == TSO_OK ? 0 : -1;
}

int tsoS_reverse_rules(tsoR_Set *s) {
  uint32_t n = s->n;
  for (uint32_t i = 0; i < n; i++) {
    tsoR_Rule rr;
    if (tsoS_reverse_rule(&s->r[i], &rr) != 0) continue;
    uint32_t id = s->r[i].id;
    if (tsoR_set_add(s, &rr) != TSO_OK) return -1;
    s->r[s->n - 1].id = id;
  }
  return (int)(s->n - n);
}
