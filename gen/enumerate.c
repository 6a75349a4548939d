/*
** enumerate.c -- depth-first search over all acyclic graphs of up to
** max_ops operator applications, each graph visited exactly once.
**
** A graph is a set of distinct operator applications ("ops") over the
** configured inputs and each other's outputs, with no cycle; its outputs
** are the op outputs that no op of the graph reads. The search builds a
** graph one op at a time; each step evaluates the new op only (its inputs'
** values are kept from the earlier steps) and hashes its outputs.
**
** Canonical order. Each op has a key independent of the order it was
** built in: (instance, structural hash of input 0, of input 1), where the
** structural hash of an input tensor is its input number + 1 and that of
** an op output is a hash of (its op's key, slot). A new op a is accepted
** only if (1) no op of the graph is identical to it (same instance, same
** input tensors) and (2) every op b in the maximal suffix of ops that a
** does not read directly has key(b) < key(a).
**
** Claim: every graph is built by exactly one accepted sequence.
** Proof. A sequence of ops is a word over the alphabet of ops; two ops are
** dependent when one reads an output of the other, independent otherwise.
** The orders in which a graph can be built are its topological orders,
** and any two of them are connected by swaps of adjacent ops with no edge
** between them (adjacent ops in a topological order are comparable only
** through a direct edge, since nothing lies between them): they form one
** trace of the trace monoid (Cartier-Foata, Mazurkiewicz). Graph ops are
** distinct (condition 1), so the keys, which are injective on the ops of a
** graph whenever the structural hashes are injective on its tensors (this
** is checked at every step, see below), totally order its letters. By
** Anisimov and Knuth (1979), a trace has exactly one lexicographically
** least word, and a word is that least word iff it has no factor b.u.a
** with key(a) < key(b) where a is independent of b and of every letter of
** u. Condition 2 is exactly the absence of such a factor ending at the
** last letter; the factors of a prefix were checked when the prefix was
** built, and every prefix of a least word is a least word, so the search,
** which extends only accepted prefixes, reaches every least word and only
** least words: each graph once. A structural hash collision between two
** tensors of one graph (probability about 2^-64 per pair) would break the
** injectivity; it is detected and the run fails instead of miscounting.
**
** Work units: the nodes at depth 1 (which visit only their own graph) and
** at depth 2 (which visit their graph and its whole subtree), numbered in
** search order; walkers share them through a claim function, evaluating
** only the prefixes of the units they run.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "gen.h"

typedef struct Tn {
  tsoG_Meta m;
  const uint64_t *v;    /* field values (inputs: the context's; ops: the walker's buffers) */
  uint64_t vh;          /* value hash */
  uint64_t sh;          /* structural hash */
  int8_t prod;          /* producing op, -1 for inputs */
  int8_t inmatch;       /* input with the same value, or -1 */
} Tn;

typedef struct Op {
  uint8_t inst, nin, nout, a, b; /* instance, arity, input tensor ids */
  uint8_t first;        /* tensor id of output 0 */
  uint8_t evaluated;    /* values computed */
  uint64_t ka, kb;      /* key: structural hashes of the inputs */
} Op;

struct tsoG_Enum {
  const tsoG_Config *c;
  const tsoG_ModCtx *m;
  int nt, nops;
  Tn t[TSO_G_MAX_T];
  Op op[TSO_G_MAX_OPS];
  uint8_t uses[TSO_G_MAX_T];
  uint64_t *buf;        /* values of op outputs: 2 * TSO_G_MAX_OPS slots of TSO_G_MAX_NUMEL */
  int collision;
  tsoG_VisitFn visit;
  void *vud;
  uint64_t ngraphs;
};

tsoG_Enum *tsoG_enum_new(const tsoG_Config *c, const tsoG_ModCtx *m) {
  tsoG_Enum *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->c = c;
  e->m = m;
  e->buf = malloc((size_t)2 * TSO_G_MAX_OPS * TSO_G_MAX_NUMEL * sizeof(uint64_t));
  if (!e->buf) {
    free(e);
    return NULL;
  }
  e->nt = c->ninputs;
  for (int i = 0; i < c->ninputs; i++) {
    Tn *t = &e->t[i];
    t->m = c->in[i].m;
    t->v = m ? m->in[i] : NULL;
    t->vh = m ? m->in_hash[i] : 0;
    t->sh = (uint64_t)i + 1;
    t->prod = -1;
    t->inmatch = (int8_t)i;
  }
  return e;
}

void tsoG_enum_free(tsoG_Enum *e) {
  if (!e) return;
  free(e->buf);
  free(e);
}

/* Key order: instance, then the inputs' structural hashes. */
static int key_cmp(const Op *x, const Op *y) {
  if (x->inst != y->inst) return x->inst < y->inst ? -1 : 1;
  if (x->ka != y->ka) return x->ka < y->ka ? -1 : 1;
  if (x->kb != y->kb) return x->kb < y->kb ? -1 : 1;
  return 0;
}

/* Tries to append op (inst k, inputs a, b): shape rule, no duplicate,
** canonical order. On success the op and its output tensors (structure
** and metas, no values) are pushed and 1 is returned. */
static int push(tsoG_Enum *e, int k, int a, int b) {
  const tsoG_Config *c = e->c;
  const tsoG_Inst *ki = &c->inst[k];
  tsoG_Meta im[2], om[2];
  if (e->nops >= TSO_G_MAX_OPS) return 0;
  if (ki->nin > 0) im[0] = e->t[a].m;
  if (ki->nin > 1) im[1] = e->t[b].m;
  int nout = tsoG_infer(c, k, im, om);
  if (!nout || e->nt + nout > TSO_G_MAX_T) return 0;
  Op o;
  memset(&o, 0, sizeof o);
  o.inst = (uint8_t)k, o.nin = ki->nin, o.nout = (uint8_t)nout;
  o.a = ki->nin > 0 ? (uint8_t)a : 0;
  o.b = ki->nin > 1 ? (uint8_t)b : 0;
  o.ka = ki->nin > 0 ? e->t[a].sh : 0;
  o.kb = ki->nin > 1 ? e->t[b].sh : 0;
  for (int j = 0; j < e->nops; j++) /* (1) no duplicate op */
    if (e->op[j].inst == o.inst && e->op[j].a == o.a && e->op[j].b == o.b) return 0;
  for (int j = e->nops - 1; j >= 0; j--) { /* (2) lexicographic normal form */
    const Op *p = &e->op[j];
    int reads = 0;
    for (int s = 0; s < p->nout; s++) {
      int t = p->first + s;
      if ((o.nin > 0 && o.a == t) || (o.nin > 1 && o.b == t)) reads = 1;
    }
    if (reads) break;
    if (key_cmp(p, &o) >= 0) return 0;
  }
  o.first = (uint8_t)e->nt;
  for (int s = 0; s < nout; s++) {
    Tn *t = &e->t[e->nt + s];
    uint64_t key[4] = {o.inst, o.ka, o.kb, (uint64_t)s};
    t->m = om[s];
    t->sh = XXH3_64bits_withSeed(key, sizeof key, 0x5354525543ull) | ((uint64_t)1 << 63);
    t->prod = (int8_t)e->nops;
    t->inmatch = -1;
    t->v = e->buf + (size_t)(o.first + s - c->ninputs) * TSO_G_MAX_NUMEL;
    for (int u = 0; u < e->nt + s; u++)
      if (e->t[u].sh == t->sh) e->collision = 1;
  }
  e->op[e->nops++] = o;
  e->nt += nout;
  if (o.nin > 0) e->uses[o.a]++;
  if (o.nin > 1) e->uses[o.b]++;
  for (int s = 0; s < nout; s++) e->uses[o.first + s] = 0;
  return 1;
}

static void pop(tsoG_Enum *e) {
  Op *o = &e->op[--e->nops];
  e->nt -= o->nout;
  if (o->nin > 0) e->uses[o->a]--;
  if (o->nin > 1) e->uses[o->b]--;
}

/* Computes the values of op j (its inputs are evaluated). */
static void eval_op(tsoG_Enum *e, int j) {
  Op *o = &e->op[j];
  const tsoG_Config *c = e->c;
  const uint64_t *in[2] = {NULL, NULL};
  tsoG_Meta im[2], om[2];
  uint64_t *out[2] = {NULL, NULL};
  if (o->nin > 0) in[0] = e->t[o->a].v, im[0] = e->t[o->a].m;
  if (o->nin > 1) in[1] = e->t[o->b].v, im[1] = e->t[o->b].m;
  for (int s = 0; s < o->nout; s++) {
    Tn *t = &e->t[o->first + s];
    out[s] = (uint64_t *)(uintptr_t)t->v;
    om[s] = t->m;
  }
  tsoG_mod_eval(e->m, c, o->inst, in, im, out, om);
  for (int s = 0; s < o->nout; s++) {
    Tn *t = &e->t[o->first + s];
    t->vh = tsoG_mod_hash(t->v, &t->m);
    t->inmatch = -1;
    for (int i = 0; i < c->ninputs; i++)
      if (e->m->in_hash[i] == t->vh && !memcmp(&c->in[i].m, &t->m, sizeof t->m)) t->inmatch = (int8_t)i;
  }
  o->evaluated = 1;
}

/* The compact code of the current graph: 3 bits of op count at the top,
** then 15 bits per op (instance, input a, input b: 5 bits each). */
static uint64_t code_of(const tsoG_Enum *e) {
  uint64_t code = (uint64_t)e->nops << 61;
  for (int j = 0; j < e->nops; j++) {
    const Op *o = &e->op[j];
    uint64_t f = (uint64_t)o->inst << 10 | (uint64_t)o->a << 5 | o->b;
    code |= f << (15 * j);
  }
  return code;
}

/* Visits the current graph (every op evaluated). */
static void visit(tsoG_Enum *e) {
  uint64_t h[2 * TSO_G_MAX_OPS];
  int ins[2 * TSO_G_MAX_OPS];
  int n = 0, allin = 1;
  for (int t = e->c->ninputs; t < e->nt; t++) {
    if (e->uses[t]) continue;
    h[n] = e->t[t].vh;
    ins[n] = e->t[t].inmatch;
    if (ins[n] < 0) allin = 0;
    n++;
  }
  tsoG_Visit v;
  v.fp = tsoG_fp_combine(h, n);
  v.code = code_of(e);
  v.nops = e->nops;
  v.has_pseudo = 0;
  v.pcode = 0;
  if (allin && e->c->pseudo && n <= TSO_RULE_MAX_OUT) {
    /* sorted input ids: the zero-op graph whose outputs are those inputs */
    for (int i = 1; i < n; i++)
      for (int j = i; j > 0 && ins[j - 1] > ins[j]; j--) {
        int x = ins[j];
        ins[j] = ins[j - 1];
        ins[j - 1] = x;
      }
    uint64_t pc = (uint64_t)n;
    for (int i = 0; i < n; i++) pc |= (uint64_t)ins[i] << (3 + 5 * i);
    v.pcode = pc;
    v.has_pseudo = 1;
  }
  e->ngraphs++;
  e->visit(e->vud, &v);
}

/* Kinds (bit TSO_IN_*) operand i of a family can read: a quick filter
** before the shape rule (tsoG_infer decides). */
static unsigned kind_mask(int fam, int i) {
  enum { M = 1u << TSO_IN_MATRIX, A = 1u << TSO_IN_ACT4, K = 1u << TSO_IN_KERNEL, S = 1u << TSO_IN_SCALAR };
  switch (fam) {
  case TSO_G_CONV: return i ? K : A;
  case TSO_G_MATMUL: case TSO_G_TRANSPOSE: return M;
  case TSO_G_SMUL: return i ? S : M | A | K;
  case TSO_G_CONCAT: case TSO_G_SPLIT: return M | A | K;
  case TSO_G_MAXPOOL: case TSO_G_AVGPOOL: return A;
  case TSO_G_ENLARGE: return K;
  default: return M | A | K | S;
  }
}

/* 1 if operand a may suit instance k as its first input (kinds only). */
static inline int kind0_ok(const tsoG_Enum *e, int k, int a) {
  const tsoG_Inst *ki = &e->c->inst[k];
  return ki->nin == 0 || (kind_mask(ki->fam, 0) >> e->t[a].m.kind & 1);
}

/* 1 if operands a (and b) may suit instance k (kinds only). */
static inline int kinds_ok(const tsoG_Enum *e, int k, int a, int b) {
  const tsoG_Inst *ki = &e->c->inst[k];
  if (!kind0_ok(e, k, a)) return 0;
  if (ki->nin > 1) {
    if (!(kind_mask(ki->fam, 1) >> e->t[b].m.kind & 1)) return 0;
    if ((ki->fam == TSO_G_ADD || ki->fam == TSO_G_MUL || ki->fam == TSO_G_CONCAT) &&
        e->t[a].m.kind != e->t[b].m.kind)
      return 0;
  }
  return 1;
}

/* Every application of every instance over the current tensors, in
** order: runs BODY for each one pushed (and pops it afterwards). */
#define FOR_EACH_APP(e, BODY)                                                      \
  do {                                                                             \
    const tsoG_Config *c_ = (e)->c;                                                \
    for (int k_ = 0; k_ < c_->ninst; k_++) {                                       \
      int nin_ = c_->inst[k_].nin, nt_ = (e)->nt;                                  \
      int na_ = nin_ > 0 ? nt_ : 1, nb_ = nin_ > 1 ? nt_ : 1;                      \
      for (int a_ = 0; a_ < na_; a_++) {                                           \
        if (!kind0_ok((e), k_, a_)) continue;                                      \
        for (int b_ = 0; b_ < nb_; b_++) {                                         \
          if (!kinds_ok((e), k_, a_, b_) || !push((e), k_, a_, b_)) continue;      \
          BODY;                                                                    \
          pop(e);                                                                  \
        }                                                                          \
      }                                                                            \
    }                                                                              \
  } while (0)

/* Visits every graph extending the current one (not the current one). */
static void dfs(tsoG_Enum *e) {
  if (e->nops >= e->c->max_ops) return;
  FOR_EACH_APP(e, {
    eval_op(e, e->nops - 1);
    visit(e);
    dfs(e);
  });
}

int64_t tsoG_enum_run(tsoG_Enum *e, tsoG_ClaimFn claim, void *cud, tsoG_VisitFn visitfn, void *vud,
                      uint64_t *ngraphs) {
  int64_t u = 0, mine = claim ? claim(cud) : -1;
  e->visit = visitfn;
  e->vud = vud;
  e->ngraphs = 0;
  e->collision = 0;
  const tsoG_Config *c = e->c;
  int stop = 0;
  for (int k = 0; k < c->ninst && !stop; k++) {
    int nin = c->inst[k].nin, na = nin > 0 ? e->nt : 1, nb = nin > 1 ? e->nt : 1;
    for (int a = 0; a < na && !stop; a++)
      for (int b = 0; b < nb && !stop && kind0_ok(e, k, a); b++) {
        if (!kinds_ok(e, k, a, b) || !push(e, k, a, b)) continue;
        if (u == mine) {
          eval_op(e, 0);
          visit(e);
          mine = claim(cud);
        }
        u++;
        if (c->max_ops >= 2) {
          FOR_EACH_APP(e, {
            if (u == mine) {
              if (!e->op[0].evaluated) eval_op(e, 0);
              eval_op(e, 1);
              visit(e);
              dfs(e);
              mine = claim(cud);
            }
            u++;
          });
        }
        e->op[0].evaluated = 0;
        pop(e);
        if (mine == -1) stop = 1;
      }
  }
  if (ngraphs) *ngraphs += e->ngraphs;
  if (e->collision) return -1;
  return u;
}

uint64_t tsoG_code(int nops, const uint8_t (*ops)[3]) {
  uint64_t code = (uint64_t)nops << 61;
  for (int j = 0; j < nops && j < TSO_G_MAX_OPS; j++)
    code |= ((uint64_t)(ops[j][0] & 31) << 10 | (uint64_t)(ops[j][1] & 31) << 5 | (ops[j][2] & 31)) << (15 * j);
  return code;
}

int tsoG_decode(const tsoG_Config *c, uint64_t code, tsoG_Graph *g) {
  memset(g, 0, sizeof *g);
  int nops = (int)(code >> 61);
  g->nt = c->ninputs;
  for (int i = 0; i < c->ninputs; i++) {
    g->m[i] = c->in[i].m;
    g->prod[i] = -1;
  }
  if (nops == TSO_G_CODE_PSEUDO) {
    int n = (int)(code & 7);
    if (n < 1 || n > TSO_RULE_MAX_OUT) return -1;
    g->nout = n;
    for (int i = 0; i < n; i++) {
      int id = (int)((code >> (3 + 5 * i)) & 31);
      if (id >= c->ninputs) return -1;
      g->out[i] = (uint8_t)id;
    }
    return 0;
  }
  if (nops > TSO_G_MAX_OPS) return -1;
  uint8_t used[TSO_G_MAX_T] = {0};
  for (int j = 0; j < nops; j++) {
    uint64_t f = (code >> (15 * j)) & 0x7FFF;
    int k = (int)(f >> 10), a = (int)((f >> 5) & 31), b = (int)(f & 31);
    if (k >= c->ninst) return -1;
    const tsoG_Inst *ki = &c->inst[k];
    tsoG_Meta im[2], om[2];
    if ((ki->nin > 0 && a >= g->nt) || (ki->nin > 1 && b >= g->nt)) return -1;
    if (ki->nin > 0) im[0] = g->m[a], used[a] = 1;
    if (ki->nin > 1) im[1] = g->m[b], used[b] = 1;
    int nout = tsoG_infer(c, k, im, om);
    if (!nout || g->nt + nout > TSO_G_MAX_T) return -1;
    g->inst[j] = (uint8_t)k;
    g->arg[j][0] = (uint8_t)a;
    g->arg[j][1] = (uint8_t)b;
    g->first_out[j] = (uint8_t)g->nt;
    for (int s = 0; s < nout; s++) {
      g->m[g->nt] = om[s];
      g->prod[g->nt] = (int8_t)j;
      g->slot[g->nt] = (uint8_t)s;
      g->nt++;
    }
  }
  g->nops = nops;
  for (int t = c->ninputs; t < g->nt; t++)
    if (!used[t]) g->out[g->nout++] = (uint8_t)t;
  return 0;
}

/* Appends the text of tensor t of g to buf (at *pos). */
static void tens_str(const tsoG_Config *c, const tsoG_Graph *g, int t, char *buf, size_t n, size_t *pos) {
  if (*pos >= n) return;
  if (t < c->ninputs) {
    *pos += (size_t)snprintf(buf + *pos, n - *pos, "%s", c->in[t].name);
    return;
  }
  int j = g->prod[t];
  const tsoG_Inst *ki = &c->inst[g->inst[j]];
  *pos += (size_t)snprintf(buf + *pos, n - *pos, "%s(", ki->name);
  for (int i = 0; i < ki->nin; i++) {
    if (i && *pos < n) *pos += (size_t)snprintf(buf + *pos, n - *pos, ",");
    tens_str(c, g, g->arg[j][i], buf, n, pos);
  }
  if (*pos < n) *pos += (size_t)snprintf(buf + *pos, n - *pos, ")");
  if (ki->nout > 1 && *pos < n) *pos += (size_t)snprintf(buf + *pos, n - *pos, "[%d]", g->slot[t]);
}

void tsoG_graph_str(const tsoG_Config *c, const tsoG_Graph *g, char *buf, size_t n) {
  size_t pos = 0;
  if (!n) return;
  buf[0] = 0;
  for (int i = 0; i < g->nout && pos < n; i++) {
    if (i) pos += (size_t)snprintf(buf + pos, n - pos, "; ");
    if (pos < n) tens_str(c, g, g->out[i], buf, n, &pos);
  }
}
