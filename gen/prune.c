/*
** prune.c -- compact rules, their canonical form, and the pruning steps
** shared by a single run and by `taso-gen merge`.
**
** Steps, in order (each count goes into the provenance, docs/generator.md):
**   1. renaming: candidates are put in canonical form (inputs renamed and
**      ops reordered, tsoG_crule_canon) and identical forms kept once;
**   2. common subgraph: a candidate is dropped when an op that reads at
**      least one value appears in both patterns on identical operands
**      (recursively, from the inputs side): it is the composition of a
**      smaller candidate with that op;
**   3. trivially implied: dropped when (a) source and target are the same
**      pattern, (b) the candidate is the reverse of another kept one
**      (equal op counts; the one with the smaller canonical bytes stays),
**      (c) it is composite: its outputs split into two groups computed by
**      disjoint parts of the source and of the target (each part is a
**      smaller candidate, or the same on both sides), (d) it follows by
**      congruence: each output pair is made by the same operator from
**      operands of equal values (for ewadd and ewmul also swapped, unless
**      the candidate is commutativity itself), so smaller candidates on
**      the operands imply it (values: field evaluation, modeval.c);
**   4. float check: both sides are instantiated with tsoR_instantiate for
**      every combination of the configured input shapes that makes them
**      well-formed, and compared with tsoI_compare (reference kernels);
**      a rule that differs for any of them, or fits none, is dropped.
** The survivors are sorted by (source ops, target ops, canonical bytes).
**
** Invariant: the result depends only on the set of canonical forms fed in
** (and the number fed, for the first count), never on the feeding order;
** so shards merged in any order give what one run gives.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "graph/graph.h"
#include "gen.h"

/* ---- conversions ------------------------------------------------------ */

static tsoR_Ref ref_to(uint8_t b) {
  tsoR_Ref r;
  memset(&r, 0, sizeof r);
  if (b < TSO_G_REF_OP) {
    r.kind = TSO_REF_INPUT;
    r.idx = b;
  } else {
    r.kind = TSO_REF_OP;
    r.idx = (uint8_t)((b - TSO_G_REF_OP) / 2);
    r.slot = (uint8_t)((b - TSO_G_REF_OP) % 2);
  }
  return r;
}

static void pat_to(const tsoG_Config *c, const tsoG_CPat *cp, tsoR_Pattern *p) {
  p->nops = cp->nops;
  p->nout = cp->nout;
  for (int j = 0; j < cp->nops; j++) {
    const tsoG_Inst *ki = &c->inst[cp->inst[j]];
    tsoR_Op *o = &p->ops[j];
    o->op = ki->op;
    o->nin = ki->nin;
    o->nout = ki->nout;
    o->p = ki->p;
    for (int i = 0; i < ki->nin; i++) o->in[i] = ref_to(cp->in[j][i]);
  }
  for (int i = 0; i < cp->nout; i++) p->out[i] = ref_to(cp->out[i]);
}

tso_status tsoG_crule_to_rule(const tsoG_Config *c, const tsoG_CRule *cr, tsoR_Rule *r) {
  memset(r, 0, sizeof *r);
  r->nin = cr->nin;
  r->status = TSO_RULE_CANDIDATE;
  for (int i = 0; i < cr->nin; i++) {
    r->in_kind[i] = cr->in_kind[i];
    r->in_rank[i] = cr->in_rank[i];
  }
  pat_to(c, &cr->src, &r->src);
  pat_to(c, &cr->dst, &r->dst);
  return TSO_OK;
}

static int ref_from(const tsoR_Ref *f, int nin, int at, uint8_t *b) {
  if (f->kind == TSO_REF_INPUT && f->idx < nin && !f->slot) *b = f->idx;
  else if (f->kind == TSO_REF_OP && f->idx < at && f->slot < 2) *b = (uint8_t)(TSO_G_REF_OP + 2 * f->idx + f->slot);
  else return -1;
  return 0;
}

static int pat_from(const tsoG_Config *c, const tsoR_Pattern *p, int nin, tsoG_CPat *cp) {
  if (p->nops > TSO_RULE_MAX_OPS || p->nout > TSO_RULE_MAX_OUT) return -1;
  cp->nops = p->nops;
  cp->nout = p->nout;
  for (int j = 0; j < p->nops; j++) {
    const tsoR_Op *o = &p->ops[j];
    int k = tsoG_inst_find(c, o->op, &o->p);
    if (k < 0 || o->nin != c->inst[k].nin || o->nout != c->inst[k].nout) return -1;
    cp->inst[j] = (uint8_t)k;
    for (int i = 0; i < o->nin; i++)
      if (ref_from(&o->in[i], nin, j, &cp->in[j][i])) return -1;
  }
  for (int i = 0; i < p->nout; i++)
    if (ref_from(&p->out[i], nin, p->nops, &cp->out[i])) return -1;
  return 0;
}

tso_status tsoG_crule_from_rule(const tsoG_Config *c, const tsoR_Rule *r, tsoG_CRule *cr, char *err) {
  tsoG_crule_clear(cr);
  if (r->nin > TSO_RULE_MAX_IN) return tsoO_fail(err, TSO_ERR_INVALID, "rule %u: too many inputs", r->id);
  cr->nin = r->nin;
  for (int i = 0; i < r->nin; i++) {
    cr->in_kind[i] = r->in_kind[i];
    cr->in_rank[i] = r->in_rank[i];
  }
  if (pat_from(c, &r->src, r->nin, &cr->src) || pat_from(c, &r->dst, r->nin, &cr->dst) ||
      r->src.nout != r->dst.nout)
    return tsoO_fail(err, TSO_ERR_INVALID, "rule %u: not a rule of this generator configuration", r->id);
  return TSO_OK;
}

/* ---- canonical form ------------------------------------------------- */

void tsoG_cpat_clear(tsoG_CPat *p) {
  memset(p, 0, sizeof *p);
  memset(p->in, TSO_G_REF_NONE, sizeof p->in);
  memset(p->out, TSO_G_REF_NONE, sizeof p->out);
}

void tsoG_crule_clear(tsoG_CRule *r) {
  memset(r, 0, sizeof *r);
  tsoG_cpat_clear(&r->src);
  tsoG_cpat_clear(&r->dst);
}

static uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t v[2] = {a, b};
  return XXH3_64bits(v, sizeof v);
}

/* Name-free hashes of the ops of p: inputs count only by kind. */
static void namefree(const tsoG_CRule *r, const tsoG_CPat *p, uint64_t *h) {
  for (int j = 0; j < p->nops; j++) {
    uint64_t x = mix(0x6f70, p->inst[j]);
    for (int i = 0; i < 2; i++) {
      uint8_t b = p->in[j][i];
      uint64_t y = b == TSO_G_REF_NONE ? 0
                   : b < TSO_G_REF_OP ? mix(0x696e, r->in_kind[b])
                                      : mix(h[(b - TSO_G_REF_OP) / 2], (b - TSO_G_REF_OP) % 2);
      x = mix(x, y);
    }
    h[j] = x;
  }
}

/* The hash of ref b of pattern p given op hashes h and input names. */
static uint64_t ref_hash(uint8_t b, const uint64_t *h, const int *name) {
  if (b == TSO_G_REF_NONE) return 0;
  if (b < TSO_G_REF_OP) return (uint64_t)(name ? name[b] : b) + 1;
  return mix(h[(b - TSO_G_REF_OP) / 2], (uint64_t)(b - TSO_G_REF_OP) % 2 + 0x10);
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

static uint8_t remap_ref(uint8_t b, const int *name, const int *remap) {
  if (b < TSO_G_REF_OP) return (uint8_t)name[b];
  return (uint8_t)(TSO_G_REF_OP + 2 * remap[(b - TSO_G_REF_OP) / 2] + (b - TSO_G_REF_OP) % 2);
}

/* Renames pattern p's inputs through name[] and puts its ops in the least
** topological order by named key; remap[old op] = new op. */
static void norm_pat(const tsoG_CPat *p, int nin_used, const int *name, tsoG_CPat *q, int *remap) {
  uint64_t key[TSO_RULE_MAX_OPS];
  (void)nin_used;
  for (int j = 0; j < p->nops; j++) {
    uint64_t x = mix(0x6b, p->inst[j]);
    for (int i = 0; i < 2; i++) x = mix(x, ref_hash(p->in[j][i], key, name));
    key[j] = x;
  }
  int placed[TSO_RULE_MAX_OPS] = {0};
  tsoG_cpat_clear(q);
  q->nops = p->nops;
  q->nout = p->nout;
  for (int pos = 0; pos < p->nops; pos++) {
    int best = -1;
    for (int j = 0; j < p->nops; j++) {
      if (placed[j]) continue;
      int ready = 1;
      for (int i = 0; i < 2; i++) {
        uint8_t b = p->in[j][i];
        if (b != TSO_G_REF_NONE && b >= TSO_G_REF_OP && !placed[(b - TSO_G_REF_OP) / 2]) ready = 0;
      }
      if (ready && (best < 0 || key[j] < key[best])) best = j;
    }
    placed[best] = 1;
    remap[best] = pos;
  }
  for (int j = 0; j < p->nops; j++) {
    int nj = remap[j];
    q->inst[nj] = p->inst[j];
    for (int i = 0; i < 2; i++) {
      uint8_t b = p->in[j][i];
      if (b != TSO_G_REF_NONE) b = remap_ref(b, name, remap);
      q->in[nj][i] = b;
    }
  }
}


/* The rule r with inputs renamed through name[] and both patterns
** normalized; outputs sorted by the source's refs. */
static void renamed(const tsoG_CRule *r, const int *name, tsoG_CRule *o) {
  int rs[TSO_RULE_MAX_OPS], rd[TSO_RULE_MAX_OPS];
  tsoG_crule_clear(o);
  o->nin = r->nin;
  for (int i = 0; i < r->nin; i++) {
    o->in_kind[name[i]] = r->in_kind[i];
    o->in_rank[name[i]] = r->in_rank[i];
  }
  norm_pat(&r->src, r->nin, name, &o->src, rs);
  norm_pat(&r->dst, r->nin, name, &o->dst, rd);
  uint8_t so[TSO_RULE_MAX_OUT], dout[TSO_RULE_MAX_OUT];
  int n = r->src.nout;
  for (int i = 0; i < n; i++) {
    so[i] = remap_ref(r->src.out[i], name, rs);
    dout[i] = remap_ref(r->dst.out[i], name, rd);
  }
  for (int i = 1; i < n; i++) /* insertion sort of the output pairs by source ref */
    for (int j = i; j > 0 && so[j - 1] > so[j]; j--) {
      uint8_t t = so[j];
      so[j] = so[j - 1];
      so[j - 1] = t;
      t = dout[j];
      dout[j] = dout[j - 1];
      dout[j - 1] = t;
    }
  for (int i = 0; i < n; i++) {
    o->src.out[i] = so[i];
    o->dst.out[i] = dout[i];
  }
}

/* Permutes a[lo..hi) to the next lexicographic permutation; 0 at the end
** (then a[lo..hi) is sorted again). */
static int next_perm(int *a, int lo, int hi) {
  int i = hi - 2;
  while (i >= lo && a[i] >= a[i + 1]) i--;
  if (i < lo) {
    for (int x = lo, y = hi - 1; x < y; x++, y--) {
      int t = a[x];
      a[x] = a[y];
      a[y] = t;
    }
    return 0;
  }
  int j = hi - 1;
  while (a[j] <= a[i]) j--;
  int t = a[i];
  a[i] = a[j];
  a[j] = t;
  for (int x = i + 1, y = hi - 1; x < y; x++, y--) {
    t = a[x];
    a[x] = a[y];
    a[y] = t;
  }
  return 1;
}

#define CANON_MAX_PERMS 40320

void tsoG_crule_canon(const tsoG_CRule *in, tsoG_CRule *out) {
  uint64_t hs[TSO_RULE_MAX_OPS], hd[TSO_RULE_MAX_OPS], sig[TSO_RULE_MAX_IN];
  int n = in->nin;
  tsoG_CRule r = *in;
  namefree(&r, &r.src, hs);
  namefree(&r, &r.dst, hd);
  /* a renaming-invariant signature per input: kind, rank, and its uses */
  for (int x = 0; x < n; x++) {
    uint64_t uses[2 * 2 * TSO_RULE_MAX_OPS + TSO_RULE_MAX_OUT + 1];
    int nu = 0;
    for (int side = 0; side < 2; side++) {
      const tsoG_CPat *p = side ? &r.dst : &r.src;
      const uint64_t *h = side ? hd : hs;
      for (int j = 0; j < p->nops; j++)
        for (int i = 0; i < 2; i++)
          if (p->in[j][i] == x) uses[nu++] = mix(mix((uint64_t)side, h[j]), (uint64_t)i);
    }
    for (int i = 0; i < r.dst.nout; i++)
      if (r.dst.out[i] == x) uses[nu++] = mix(0x6f7574, ref_hash(r.src.out[i], hs, NULL));
    qsort(uses, (size_t)nu, sizeof uses[0], cmp_u64);
    uint64_t s = mix(r.in_kind[x], r.in_rank[x]);
    for (int i = 0; i < nu; i++) s = mix(s, uses[i]);
    sig[x] = s;
  }
  /* order[pos] = old input at new position pos; ties are permuted */
  int order[TSO_RULE_MAX_IN];
  for (int x = 0; x < n; x++) order[x] = x;
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && (sig[order[j - 1]] > sig[order[j]] ||
                              (sig[order[j - 1]] == sig[order[j]] && order[j - 1] > order[j]));
         j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  int gstart[TSO_RULE_MAX_IN + 1], ng = 0;
  for (int i = 0; i < n; i++)
    if (i == 0 || sig[order[i]] != sig[order[i - 1]]) gstart[ng++] = i;
  gstart[ng] = n;
  int first = 1, count = 0;
  tsoG_CRule best, cur;
  memset(&best, 0, sizeof best);
  for (;;) {
    int name[TSO_RULE_MAX_IN];
    for (int pos = 0; pos < n; pos++) name[order[pos]] = pos;
    renamed(&r, name, &cur);
    if (first || memcmp(&cur, &best, sizeof cur) < 0) best = cur;
    first = 0;
    if (++count >= CANON_MAX_PERMS) break;
    int g = ng - 1; /* odometer over the groups' permutations */
    while (g >= 0 && !next_perm(order, gstart[g], gstart[g + 1])) g--;
    if (g < 0) break;
  }
  *out = best;
}

/* ---- predicates ------------------------------------------------------ */

static int eq_op(const tsoG_Config *c, const tsoG_CPat *a, int i, const tsoG_CPat *b, int j);

static int eq_ref(const tsoG_Config *c, const tsoG_CPat *a, uint8_t x, const tsoG_CPat *b, uint8_t y) {
  if (x < TSO_G_REF_OP || y < TSO_G_REF_OP) return x == y;
  if ((x - TSO_G_REF_OP) % 2 != (y - TSO_G_REF_OP) % 2) return 0;
  return eq_op(c, a, (x - TSO_G_REF_OP) / 2, b, (y - TSO_G_REF_OP) / 2);
}

static int eq_op(const tsoG_Config *c, const tsoG_CPat *a, int i, const tsoG_CPat *b, int j) {
  if (a->inst[i] != b->inst[j]) return 0;
  for (int k = 0; k < c->inst[a->inst[i]].nin; k++)
    if (!eq_ref(c, a, a->in[i][k], b, b->in[j][k])) return 0;
  return 1;
}

/* 1 if an op reading at least one value is in both patterns. */
static int has_common(const tsoG_Config *c, const tsoG_CRule *r) {
  for (int i = 0; i < r->src.nops; i++) {
    if (c->inst[r->src.inst[i]].nin == 0) continue;
    for (int j = 0; j < r->dst.nops; j++)
      if (eq_op(c, &r->src, i, &r->dst, j)) return 1;
  }
  return 0;
}

static int uf_find(int *p, int x) {
  while (p[x] != x) x = p[x] = p[p[x]];
  return x;
}

static void uf_union(int *p, int a, int b) {
  a = uf_find(p, a);
  b = uf_find(p, b);
  if (a != b) p[a < b ? b : a] = a < b ? a : b;
}

/* Joins, in outs[], the outputs of pattern p that its connected parts
** compute together. */
static void join_parts(const tsoG_Config *c, const tsoG_CPat *p, int *outs) {
  int comp[TSO_RULE_MAX_OPS];
  for (int j = 0; j < p->nops; j++) comp[j] = j;
  for (int j = 0; j < p->nops; j++)
    for (int i = 0; i < c->inst[p->inst[j]].nin; i++)
      if (p->in[j][i] >= TSO_G_REF_OP) uf_union(comp, j, (p->in[j][i] - TSO_G_REF_OP) / 2);
  for (int a = 0; a < p->nout; a++)
    for (int b = a + 1; b < p->nout; b++) {
      uint8_t x = p->out[a], y = p->out[b];
      if (x >= TSO_G_REF_OP && y >= TSO_G_REF_OP &&
          uf_find(comp, (x - TSO_G_REF_OP) / 2) == uf_find(comp, (y - TSO_G_REF_OP) / 2))
        uf_union(outs, a, b);
    }
}

/* 1 if the outputs split into groups computed by disjoint parts of both
** patterns (rule (c) of the header). */
static int is_composite(const tsoG_Config *c, const tsoG_CRule *r) {
  int outs[TSO_RULE_MAX_OUT];
  if (r->src.nout < 2) return 0;
  for (int i = 0; i < r->src.nout; i++) outs[i] = i;
  join_parts(c, &r->src, outs);
  join_parts(c, &r->dst, outs);
  for (int i = 1; i < r->src.nout; i++)
    if (uf_find(outs, i) != uf_find(outs, 0)) return 1;
  return 0;
}

/* ---- values of a rule's tensors (for the congruence step) ------------ */

/* Field values of both patterns of r on random inputs: hin[i] for input i,
** hop[side][op][slot] for op outputs. The input shapes are the first
** combination of configured shapes (by kind) that both patterns accept.
** 0, or -1 when none does. */
static int rule_values(const tsoG_Config *c, const tsoG_ModCtx *m, uint64_t *buf, const tsoG_CRule *r,
                       uint64_t *hin, uint64_t hop[2][TSO_RULE_MAX_OPS][2]) {
  tsoG_Meta shapes[TSO_IN_SCALAR + 1][TSO_G_MAX_INPUTS], im[TSO_RULE_MAX_IN];
  tsoG_Meta om[2][TSO_RULE_MAX_OPS][2];
  int ns[TSO_IN_SCALAR + 1] = {0}, choice[TSO_RULE_MAX_IN] = {0}, found = 0;
  for (int i = 0; i < c->ninputs; i++) {
    const tsoG_Meta *x = &c->in[i].m;
    int dup = 0;
    for (int k = 0; k < ns[x->kind]; k++) dup |= !memcmp(&shapes[x->kind][k], x, sizeof *x);
    if (!dup) shapes[x->kind][ns[x->kind]++] = *x;
  }
  for (int i = 0; i < r->nin; i++)
    if (r->in_kind[i] > TSO_IN_SCALAR || !ns[r->in_kind[i]]) return -1;
  for (int iter = 0; iter < 4096 && !found; iter++) {
    for (int i = 0; i < r->nin; i++) im[i] = shapes[r->in_kind[i]][choice[i]];
    found = 1;
    for (int side = 0; side < 2 && found; side++) {
      const tsoG_CPat *p = side ? &r->dst : &r->src;
      for (int j = 0; j < p->nops && found; j++) {
        tsoG_Meta in[2];
        int k = p->inst[j];
        for (int a = 0; a < c->inst[k].nin; a++) {
          uint8_t b = p->in[j][a];
          in[a] = b < TSO_G_REF_OP ? im[b] : om[side][(b - TSO_G_REF_OP) / 2][(b - TSO_G_REF_OP) % 2];
        }
        found = tsoG_infer(c, k, in, om[side][j]) == c->inst[k].nout;
      }
    }
    if (found) break;
    int i = 0;
    for (; i < r->nin; i++) {
      if (++choice[i] < ns[r->in_kind[i]]) break;
      choice[i] = 0;
    }
    if (i == r->nin) break;
  }
  if (!found) return -1;
  /* values: inputs first, then every op output, in buf */
  uint64_t *v[TSO_RULE_MAX_IN], *ov[2][TSO_RULE_MAX_OPS][2];
  size_t at = 0;
  for (int i = 0; i < r->nin; i++) {
    uint64_t st = mix(c->seed ^ 0x636f6e67ull, mix((uint64_t)i, XXH3_64bits(&im[i], sizeof im[i])));
    v[i] = buf + at;
    at += TSO_G_MAX_NUMEL;
    for (int e = 0; e < im[i].numel; e++) {
      st = mix(st, (uint64_t)e);
      v[i][e] = (st >> 3) % TSO_G_P;
    }
    hin[i] = tsoG_mod_hash(v[i], &im[i]);
  }
  for (int side = 0; side < 2; side++) {
    const tsoG_CPat *p = side ? &r->dst : &r->src;
    for (int j = 0; j < p->nops; j++) {
      int k = p->inst[j];
      const uint64_t *in[2] = {NULL, NULL};
      tsoG_Meta inm[2];
      for (int a = 0; a < c->inst[k].nin; a++) {
        uint8_t b = p->in[j][a];
        if (b < TSO_G_REF_OP) in[a] = v[b], inm[a] = im[b];
        else in[a] = ov[side][(b - TSO_G_REF_OP) / 2][(b - TSO_G_REF_OP) % 2],
             inm[a] = om[side][(b - TSO_G_REF_OP) / 2][(b - TSO_G_REF_OP) % 2];
      }
      for (int s = 0; s < c->inst[k].nout; s++) {
        ov[side][j][s] = buf + at;
        at += TSO_G_MAX_NUMEL;
      }
      uint64_t *const out[2] = {ov[side][j][0], c->inst[k].nout > 1 ? ov[side][j][1] : NULL};
      tsoG_mod_eval(m, c, k, in, inm, out, om[side][j]);
      for (int s = 0; s < c->inst[k].nout; s++) hop[side][j][s] = tsoG_mod_hash(ov[side][j][s], &om[side][j][s]);
    }
  }
  return 0;
}

/* Values needed per rule: inputs and op outputs of both sides. */
#define VAL_SLOTS (TSO_RULE_MAX_IN + 2 * 2 * TSO_RULE_MAX_OPS)

static uint64_t val_of(uint8_t b, const uint64_t *hin, uint64_t hop[TSO_RULE_MAX_OPS][2]) {
  return b < TSO_G_REF_OP ? hin[b] : hop[(b - TSO_G_REF_OP) / 2][(b - TSO_G_REF_OP) % 2];
}

/* 1 if every output pair is made by the same operator (and slot) from
** operands of equal values, in order or, for a commutative operator,
** swapped (then the rule must be more than the commutativity itself):
** the rule follows by congruence from smaller equalities. */
static int is_congruent(const tsoG_Config *c, const tsoG_CRule *r, const uint64_t *hin,
                        uint64_t hop[2][TSO_RULE_MAX_OPS][2]) {
  for (int i = 0; i < r->src.nout; i++) {
    uint8_t a = r->src.out[i], b = r->dst.out[i];
    if (a < TSO_G_REF_OP || b < TSO_G_REF_OP || (a - TSO_G_REF_OP) % 2 != (b - TSO_G_REF_OP) % 2) return 0;
    int x = (a - TSO_G_REF_OP) / 2, y = (b - TSO_G_REF_OP) / 2, k = r->src.inst[x];
    if (k != r->dst.inst[y]) return 0;
    int nin = c->inst[k].nin, straight = 1, cross = 0;
    for (int t = 0; t < nin; t++)
      if (val_of(r->src.in[x][t], hin, hop[0]) != val_of(r->dst.in[y][t], hin, hop[1])) straight = 0;
    int fam = c->inst[k].fam;
    if (!straight && nin == 2 && (fam == TSO_G_ADD || fam == TSO_G_MUL) && (r->src.nops > 1 || r->dst.nops > 1))
      cross = val_of(r->src.in[x][0], hin, hop[0]) == val_of(r->dst.in[y][1], hin, hop[1]) &&
              val_of(r->src.in[x][1], hin, hop[0]) == val_of(r->dst.in[y][0], hin, hop[1]);
    if (!straight && !cross) return 0;
  }
  return 1;
}

/* ---- the float check ------------------------------------------------- */

/* 1 if every instantiation of r over the configured shapes that is
** well-formed computes the same values on both sides (and there is one). */
static int float_ok(const tsoG_Config *c, const tsoR_Rule *r, uint64_t seed, char *note, size_t nn) {
  tsoO_Shape shapes[TSO_IN_SCALAR + 1][TSO_G_MAX_INPUTS];
  int ns[TSO_IN_SCALAR + 1] = {0};
  char err[TSO_ERRMAX];
  for (int i = 0; i < c->ninputs; i++) {
    const tsoG_Meta *m = &c->in[i].m;
    tsoO_Shape s;
    memset(&s, 0, sizeof s);
    s.rank = m->rank;
    for (int d = 0; d < m->rank; d++) s.d[d] = m->d[d];
    int dup = 0;
    for (int k = 0; k < ns[m->kind]; k++) dup |= !memcmp(&shapes[m->kind][k], &s, sizeof s);
    if (!dup) shapes[m->kind][ns[m->kind]++] = s;
  }
  if (tsoR_check(r, err) != TSO_OK) {
    snprintf(note, nn, "ill-formed: %s", err);
    return 0;
  }
  int choice[TSO_RULE_MAX_IN] = {0}, ok = 0;
  for (int i = 0; i < r->nin; i++)
    if (r->in_kind[i] > TSO_IN_SCALAR || !ns[r->in_kind[i]]) {
      snprintf(note, nn, "input x%d: no shape of its kind", i);
      return 0;
    }
  for (int iter = 0; iter < 4096 && ok < 16; iter++) {
    tsoO_Shape in[TSO_RULE_MAX_IN];
    for (int i = 0; i < r->nin; i++) in[i] = shapes[r->in_kind[i]][choice[i]];
    tsoI_Graph *ga = NULL, *gb = NULL;
    if (tsoR_instantiate(r, 0, in, &ga, err) == TSO_OK && tsoR_instantiate(r, 1, in, &gb, err) == TSO_OK) {
      tsoI_CompareResult cr;
      memset(&cr, 0, sizeof cr);
      tso_status st = tsoI_compare(ga, gb, seed + (uint64_t)iter, 1e-3, 1e-4, &cr);
      if (st != TSO_OK || cr.unchecked) {
        snprintf(note, nn, "float check: %s", cr.note[0] ? cr.note : tso_status_str(st));
        tsoI_free(ga);
        tsoI_free(gb);
        return 0;
      }
      ok++;
    }
    tsoI_free(ga);
    tsoI_free(gb);
    int i = 0; /* odometer */
    for (; i < r->nin; i++) {
      if (++choice[i] < ns[r->in_kind[i]]) break;
      choice[i] = 0;
    }
    if (i == r->nin) break;
  }
  if (!ok) snprintf(note, nn, "no configured shapes instantiate both sides");
  return ok > 0;
}

/* ---- the pruner ------------------------------------------------------ */

struct tsoG_Pruner {
  const tsoG_Config *c;
  int keep_all;         /* keep every distinct form (shards) */
  pthread_mutex_t lock;
  uint64_t *hs;         /* canonical hashes of every distinct form: open addressing, 0 empty */
  size_t hn, hcap;
  tsoG_CRule *r;        /* kept canonical forms */
  size_t n, cap;
  uint32_t *tab;        /* index of r: index + 1, 0 empty */
  size_t tcap;          /* power of two */
  uint64_t fed;
  int failed;
};

tsoG_Pruner *tsoG_pruner_new(const tsoG_Config *c, int keep_all) {
  tsoG_Pruner *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->c = c;
  p->keep_all = keep_all;
  p->tcap = p->hcap = 1024;
  p->tab = calloc(p->tcap, sizeof *p->tab);
  p->hs = calloc(p->hcap, sizeof *p->hs);
  if (!p->tab || !p->hs) {
    free(p->tab);
    free(p->hs);
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

void tsoG_pruner_free(tsoG_Pruner *p) {
  if (!p) return;
  pthread_mutex_destroy(&p->lock);
  free(p->r);
  free(p->tab);
  free(p->hs);
  free(p);
}

/* The 64-bit hash of a canonical form (never 0). */
static uint64_t rule_hash(const tsoG_CRule *r) { return XXH3_64bits(r, sizeof *r) | 1; }

/* Index of r among the kept forms, or -1; *slot gets where it would go. */
static long find(const tsoG_Pruner *p, const tsoG_CRule *r, size_t *slot) {
  size_t m = p->tcap - 1, i = (size_t)rule_hash(r) & m;
  while (p->tab[i]) {
    const tsoG_CRule *q = &p->r[p->tab[i] - 1];
    if (!memcmp(q, r, sizeof *r)) return (long)(p->tab[i] - 1);
    i = (i + 1) & m;
  }
  if (slot) *slot = i;
  return -1;
}

static int grow_tab(tsoG_Pruner *p) {
  size_t ncap = p->tcap * 2;
  uint32_t *nt = calloc(ncap, sizeof *nt);
  if (!nt) return -1;
  for (size_t k = 0; k < p->n; k++) {
    size_t i = (size_t)rule_hash(&p->r[k]) & (ncap - 1);
    while (nt[i]) i = (i + 1) & (ncap - 1);
    nt[i] = (uint32_t)(k + 1);
  }
  free(p->tab);
  p->tab = nt;
  p->tcap = ncap;
  return 0;
}

/* Inserts h into the set of hashes; 1 if new, 0 if present, -1 on failure. */
static int hs_insert(tsoG_Pruner *p, uint64_t h) {
  size_t m = p->hcap - 1, i = (size_t)(h * 0x9E3779B97F4A7C15ull >> 17) & m;
  while (p->hs[i]) {
    if (p->hs[i] == h) return 0;
    i = (i + 1) & m;
  }
  p->hs[i] = h;
  p->hn++;
  if (p->hn * 2 > p->hcap) {
    size_t ncap = p->hcap * 2;
    uint64_t *nh = calloc(ncap, sizeof *nh);
    if (!nh) return -1;
    for (size_t k = 0; k < p->hcap; k++) {
      uint64_t x = p->hs[k];
      if (!x) continue;
      size_t j = (size_t)(x * 0x9E3779B97F4A7C15ull >> 17) & (ncap - 1);
      while (nh[j]) j = (j + 1) & (ncap - 1);
      nh[j] = x;
    }
    free(p->hs);
    p->hs = nh;
    p->hcap = ncap;
  }
  return 1;
}

/* Adds canonical form k (hash h) under the lock. */
static int insert_locked(tsoG_Pruner *p, const tsoG_CRule *k, uint64_t h, int keep) {
  int isnew = hs_insert(p, h);
  if (isnew <= 0) return isnew;
  if (!keep) return 0;
  size_t slot = 0;
  if (find(p, k, &slot) >= 0) return 0; /* cannot happen unless hashes collide */
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    tsoG_CRule *nr = realloc(p->r, cap * sizeof *nr);
    if (!nr) return -1;
    p->r = nr;
    p->cap = cap;
  }
  if (p->n >= UINT32_MAX - 1) return -1;
  p->r[p->n] = *k;
  p->tab[slot] = (uint32_t)(p->n + 1);
  p->n++;
  if (p->n * 2 > p->tcap && grow_tab(p)) return -1;
  return 0;
}

tso_status tsoG_pruner_add(tsoG_Pruner *p, const tsoG_CRule *cr, size_t n) {
  enum { BATCH = 64 };
  tsoG_CRule k[BATCH];
  uint64_t h[BATCH];
  uint8_t keep[BATCH];
  for (size_t at = 0; at < n; at += BATCH) {
    size_t m = n - at < BATCH ? n - at : BATCH;
    for (size_t i = 0; i < m; i++) { /* outside the lock */
      tsoG_crule_canon(&cr[at + i], &k[i]);
      h[i] = rule_hash(&k[i]);
      keep[i] = (uint8_t)(p->keep_all || !has_common(p->c, &k[i]));
    }
    pthread_mutex_lock(&p->lock);
    p->fed += m;
    for (size_t i = 0; i < m && !p->failed; i++)
      if (insert_locked(p, &k[i], h[i], keep[i]) < 0) p->failed = 1;
    int failed = p->failed;
    pthread_mutex_unlock(&p->lock);
    if (failed) return TSO_ERR_NOMEM;
  }
  return TSO_OK;
}

static int cmp_final(const void *x, const void *y) {
  const tsoG_CRule *a = x, *b = y;
  if (a->src.nops != b->src.nops) return a->src.nops < b->src.nops ? -1 : 1;
  if (a->dst.nops != b->dst.nops) return a->dst.nops < b->dst.nops ? -1 : 1;
  return memcmp(a, b, sizeof *a);
}

/* The reverse of r (target -> source) in canonical form; 0, or -1 when it
** is not a valid rule (the target has an input among its outputs). */
static int reverse_of(const tsoG_CRule *r, tsoG_CRule *out) {
  tsoG_CRule v = *r;
  for (int i = 0; i < r->dst.nout; i++)
    if (r->dst.out[i] < TSO_G_REF_OP) return -1;
  v.src = r->dst;
  v.dst = r->src;
  tsoG_crule_canon(&v, out);
  return 0;
}

/* ---- the last steps, on several threads ------------------------------ */

typedef struct Fin {
  tsoG_Pruner *p;
  const tsoG_ModCtx *mod;
  uint8_t *drop;        /* step 3: 0 kept, 1 common subgraph, 2 same, 3 reverse, 4 composite, 5 congruent */
  uint8_t *fail;        /* step 4: 1 dropped by the float check */
  char (*note)[TSO_ERRMAX + 64];
  size_t n;
  int step;
  atomic_size_t next;
  int nomem;
} Fin;

/* Step 3 for rule i (the lookups only read the index). */
static uint8_t implied_kind(Fin *f, size_t i, uint64_t *vbuf) {
  tsoG_Pruner *p = f->p;
  const tsoG_Config *c = p->c;
  const tsoG_CRule *r = &p->r[i];
  if (r->src.nops == r->dst.nops && !memcmp(&r->src, &r->dst, sizeof r->src)) return 2;
  if (r->src.nops == r->dst.nops) {
    tsoG_CRule rv;
    long j;
    if (!reverse_of(r, &rv) && (j = find(p, &rv, NULL)) >= 0 && (size_t)j != i && f->drop[j] != 1 &&
        memcmp(&rv, r, sizeof rv) < 0)
      return 3;
  }
  if (is_composite(c, r)) return 4;
  uint64_t hin[TSO_RULE_MAX_IN], hop[2][TSO_RULE_MAX_OPS][2];
  if (!rule_values(c, f->mod, vbuf, r, hin, hop) && is_congruent(c, r, hin, hop)) return 5;
  return 0;
}

static void *fin_worker(void *arg) {
  Fin *f = arg;
  uint64_t *vbuf = f->step == 3 ? malloc((size_t)VAL_SLOTS * TSO_G_MAX_NUMEL * sizeof *vbuf) : NULL;
  if (f->step == 3 && !vbuf) {
    f->nomem = 1;
    return NULL;
  }
  for (;;) {
    size_t i0 = atomic_fetch_add(&f->next, 64);
    if (i0 >= f->n) break;
    size_t i1 = i0 + 64 < f->n ? i0 + 64 : f->n;
    for (size_t i = i0; i < i1; i++) {
      if (f->step == 3) {
        if (!f->drop[i]) f->drop[i] = implied_kind(f, i, vbuf);
      } else {
        tsoR_Rule rr;
        tsoG_crule_to_rule(f->p->c, &f->p->r[i], &rr);
        f->fail[i] = !float_ok(f->p->c, &rr, f->p->c->seed ^ 0x666c6f6174ull, f->note[i], sizeof f->note[i]);
      }
    }
  }
  free(vbuf);
  return NULL;
}

/* Runs step f->step over f->n rules with `jobs` threads. */
static void fin_run(Fin *f, int jobs) {
  pthread_t th[256];
  int nth = 0;
  atomic_init(&f->next, 0);
  for (int t = 0; t < jobs - 1 && t < 255; t++)
    if (!pthread_create(&th[nth], NULL, fin_worker, f)) nth++;
  fin_worker(f);
  for (int t = 0; t < nth; t++) pthread_join(th[t], NULL);
}

tso_status tsoG_pruner_finish(tsoG_Pruner *p, tsoR_Set *out, tsoG_PruneStats *st, int jobs, int quiet, char *err) {
  const tsoG_Config *c = p->c;
  Fin f;
  tsoG_ModCtx mod;
  memset(st, 0, sizeof *st);
  memset(&f, 0, sizeof f);
  if (p->failed) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory pruning");
  if (jobs < 1) jobs = 1;
  st->before = p->fed;
  st->renamed = p->hn;
  f.p = p;
  f.mod = &mod;
  f.n = p->n;
  if (!(f.drop = calloc(p->n ? p->n : 1, 1))) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory pruning");
  if (tsoG_mod_init(&mod, c)) {
    free(f.drop);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory pruning");
  }
  for (size_t i = 0; i < p->n; i++) /* step 2 (done on the way in unless keep_all) */
    if (p->keep_all && has_common(c, &p->r[i])) f.drop[i] = 1;
  for (size_t i = 0; i < p->n; i++) st->common += !f.drop[i];
  f.step = 3;
  fin_run(&f, jobs);
  tsoG_mod_free(&mod);
  if (f.nomem) {
    free(f.drop);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory pruning");
  }
  size_t nk = 0;
  for (size_t i = 0; i < p->n; i++) {
    switch (f.drop[i]) {
    case 0: p->r[nk++] = p->r[i]; break;
    case 2: st->same++; break;
    case 3: st->reverse++; break;
    case 4: st->split++; break;
    case 5: st->congruent++; break;
    default: break;
    }
  }
  st->implied = nk;
  free(f.drop);
  f.drop = NULL;
  if (nk > 1) qsort(p->r, nk, sizeof *p->r, cmp_final);
  p->n = nk; /* the index is stale from here on */
  f.n = nk;
  f.step = 4;
  f.fail = calloc(nk ? nk : 1, 1);
  f.note = calloc(nk ? nk : 1, sizeof *f.note);
  if (!f.fail || !f.note) {
    free(f.fail);
    free(f.note);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory pruning");
  }
  fin_run(&f, jobs);
  tso_status s = TSO_OK;
  for (size_t i = 0; i < nk && !s; i++) {
    tsoR_Rule rr;
    tsoG_crule_to_rule(c, &p->r[i], &rr);
    if (f.fail[i]) {
      st->float_fail++;
      if (!quiet) {
        char txt[1024];
        if (tsoR_format(&rr, txt, sizeof txt) != TSO_OK) snprintf(txt, sizeof txt, "(unformattable)");
        fprintf(stderr, "taso-gen: dropped by the float check: %s: %s\n", txt, f.note[i]);
      }
      continue;
    }
    if ((s = tsoR_set_add(out, &rr))) break;
    st->final++;
  }
  free(f.fail);
  free(f.note);
  if (s) return tsoO_fail(err, s, "out of memory collecting rules");
  return TSO_OK;
}

tso_status tsoG_pruner_dump(tsoG_Pruner *p, tsoR_Set *out, uint64_t *fed, char *err) {
  if (p->failed) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory pruning");
  qsort(p->r, p->n, sizeof *p->r, cmp_final);
  for (size_t i = 0; i < p->n; i++) {
    tsoR_Rule rr;
    tsoG_crule_to_rule(p->c, &p->r[i], &rr);
    tso_status s = tsoR_set_add(out, &rr);
    if (s) return tsoO_fail(err, s, "out of memory collecting candidates");
  }
  p->n = 0; /* sorted in place: the index is stale */
  *fed = p->fed;
  return TSO_OK;
}
