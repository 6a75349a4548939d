/*
** candidates.c -- confirmation of fingerprint buckets and candidate pairs.
**
** A bucket is a run of entries with one fingerprint. Each of its graphs is
** evaluated exactly (exact.c: GMP, real relu and max, exact division) on
** fresh random inputs; graphs whose exact outputs are equal as multisets,
** byte for byte in canonical form, form a class. A fingerprint collision,
** or a pair that is equal for the polynomial stand-ins of relu and max
** but not for the real operators, lands in different classes and never
** pairs up. Every pair of graphs in a class is a candidate: the graph with
** more ops is the source (ties: the larger code), and the output mapping
** pairs outputs of equal value.
**
** Two graphs whose outputs are the same expressions up to the order of
** the operands of ewadd and ewmul are equal by commutativity alone: the
** second one takes the first one's exact outputs instead of being
** evaluated again (an exact identity, so nothing is assumed).
**
** Invariant: the candidates come out in bucket order, and within a
** bucket in an order fixed by the codes, whatever the number of threads.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "gen.h"

/* Longest normalized expression text of one output (4 ops, shared
** subterms written out). */
#define EXPR_MAX 512

/* One graph of a bucket during confirmation. */
typedef struct BG {
  uint64_t code;
  tsoG_Graph g;
  char *expr[2 * TSO_G_MAX_OPS];      /* normalized expression of each output */
  uint64_t ekey;                      /* order-free hash of the expressions, 0 if none */
  uint64_t sig;                       /* combined exact output hashes */
  uint8_t *out[2 * TSO_G_MAX_OPS];    /* canonical exact bytes of each output */
  size_t len[2 * TSO_G_MAX_OPS];
  uint64_t oh[2 * TSO_G_MAX_OPS];     /* their hashes */
  int map[2 * TSO_G_MAX_OPS];         /* output i equals output map[i] of the class representative */
} BG;

/* Candidates of one bucket. */
typedef struct BRes {
  tsoG_CRule *r;
  size_t n, cap;
  uint64_t classes, split_off, unrep, cand, pairs, twins;
  int failed;
} BRes;

typedef struct Shared {
  const tsoG_Config *c;
  tsoG_Pruner *pr;
  const tsoG_Entry *e;
  const size_t *start;                /* bucket b: entries start[b] .. start[b+1] */
  size_t nb;
  BRes *res;
  atomic_size_t next;
  atomic_size_t done;
} Shared;

static int push_rule(BRes *r, const tsoG_CRule *cr) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    tsoG_CRule *nr = realloc(r->r, cap * sizeof *nr);
    if (!nr) return -1;
    r->r = nr;
    r->cap = cap;
  }
  r->r[r->n++] = *cr;
  return 0;
}

/* Ref byte of tensor t of g, with pattern input numbers from inmap. */
static uint8_t ref_of(const tsoG_Config *c, const tsoG_Graph *g, int t, const int *inmap) {
  if (t < c->ninputs) return (uint8_t)inmap[t];
  return (uint8_t)(TSO_G_REF_OP + 2 * g->prod[t] + g->slot[t]);
}

/* Fills pattern p from graph g. */
static void pat_of(const tsoG_Config *c, const tsoG_Graph *g, const int *inmap, tsoG_CPat *p) {
  p->nops = (uint8_t)g->nops;
  for (int j = 0; j < g->nops; j++) {
    const tsoG_Inst *ki = &c->inst[g->inst[j]];
    p->inst[j] = g->inst[j];
    for (int i = 0; i < ki->nin; i++) p->in[j][i] = ref_of(c, g, g->arg[j][i], inmap);
  }
}

/* The candidate src -> dst (outputs paired through their maps to the
** class representative). 0, or -1 when it exceeds the rule format. */
static int make_rule(const tsoG_Config *c, const BG *s, const BG *d, tsoG_CRule *cr) {
  int inmap[TSO_G_MAX_INPUTS], nin = 0;
  tsoG_crule_clear(cr);
  if (s->g.nout > TSO_RULE_MAX_OUT || s->g.nops > TSO_RULE_MAX_OPS || d->g.nops > TSO_RULE_MAX_OPS) return -1;
  uint8_t used[TSO_G_MAX_INPUTS] = {0};
  const BG *both[2] = {s, d};
  for (int side = 0; side < 2; side++) {
    const tsoG_Graph *g = &both[side]->g;
    for (int j = 0; j < g->nops; j++)
      for (int i = 0; i < c->inst[g->inst[j]].nin; i++)
        if (g->arg[j][i] < c->ninputs) used[g->arg[j][i]] = 1;
    for (int i = 0; i < g->nout; i++)
      if (g->out[i] < c->ninputs) used[g->out[i]] = 1;
  }
  for (int i = 0; i < c->ninputs; i++) {
    inmap[i] = -1;
    if (!used[i]) continue;
    if (nin >= TSO_RULE_MAX_IN) return -1;
    cr->in_kind[nin] = c->in[i].m.kind;
    cr->in_rank[nin] = c->in[i].m.rank;
    inmap[i] = nin++;
  }
  cr->nin = (uint8_t)nin;
  pat_of(c, &s->g, inmap, &cr->src);
  pat_of(c, &d->g, inmap, &cr->dst);
  cr->src.nout = cr->dst.nout = (uint8_t)s->g.nout;
  uint8_t taken[2 * TSO_G_MAX_OPS] = {0};
  for (int i = 0; i < s->g.nout; i++) {
    cr->src.out[i] = ref_of(c, &s->g, s->g.out[i], inmap);
    int j;
    for (j = 0; j < d->g.nout; j++)
      if (!taken[j] && d->map[j] == s->map[i]) break;
    if (j == d->g.nout) return -1; /* cannot happen: both map onto the representative */
    taken[j] = 1;
    cr->dst.out[i] = ref_of(c, &d->g, d->g.out[j], inmap);
  }
  return 0;
}

static int cmp_sig(const void *x, const void *y) {
  const BG *a = *(const BG *const *)x, *b = *(const BG *const *)y;
  if (a->sig != b->sig) return a->sig < b->sig ? -1 : 1;
  return a->code < b->code ? -1 : a->code > b->code;
}

/* Maps the outputs of g onto those of the representative r (equal bytes);
** 0, or -1 if the multisets differ. */
static int map_outputs(BG *g, const BG *r) {
  uint8_t taken[2 * TSO_G_MAX_OPS] = {0};
  if (g->g.nout != r->g.nout) return -1;
  for (int i = 0; i < g->g.nout; i++) {
    int j;
    for (j = 0; j < r->g.nout; j++)
      if (!taken[j] && g->oh[i] == r->oh[j] && g->len[i] == r->len[j] && !memcmp(g->out[i], r->out[j], g->len[i]))
        break;
    if (j == r->g.nout) return -1;
    taken[j] = 1;
    g->map[i] = j;
  }
  return 0;
}

static void free_bg(BG *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 2 * TSO_G_MAX_OPS; k++) free(b[i].out[k]), free(b[i].expr[k]);
  free(b);
}

/* Writes the expression of tensor t of g to buf (at *pos, capacity n), in
** prefix form with the operands of ewadd and ewmul sorted: two tensors
** with equal texts are equal by commutativity alone. -1 if too long. */
static int expr_of(const tsoG_Config *c, const tsoG_Graph *g, int t, char *buf, size_t n, size_t *pos) {
  if (t < c->ninputs) {
    int k = snprintf(buf + *pos, n - *pos, "i%d", t);
    if (k < 0 || (size_t)k >= n - *pos) return -1;
    *pos += (size_t)k;
    return 0;
  }
  int j = g->prod[t];
  const tsoG_Inst *ki = &c->inst[g->inst[j]];
  char a[2][EXPR_MAX];
  size_t la[2] = {0, 0};
  for (int i = 0; i < ki->nin; i++) {
    a[i][0] = 0;
    if (expr_of(c, g, g->arg[j][i], a[i], sizeof a[i], &la[i])) return -1;
  }
  int swap = ki->nin == 2 && (ki->fam == TSO_G_ADD || ki->fam == TSO_G_MUL) && strcmp(a[0], a[1]) > 0;
  int k = snprintf(buf + *pos, n - *pos, "(%d %s %s).%d", g->inst[j], ki->nin > 0 ? a[swap] : "",
                   ki->nin > 1 ? a[!swap] : "", g->slot[t]);
  if (k < 0 || (size_t)k >= n - *pos) return -1;
  *pos += (size_t)k;
  return 0;
}

/* Fills g->expr for every output; 0, or -1 (too long or no memory: then
** the graph is simply evaluated). */
static int exprs(const tsoG_Config *c, BG *g) {
  for (int k = 0; k < g->g.nout; k++) {
    char buf[EXPR_MAX];
    size_t len = 0;
    buf[0] = 0;
    if (expr_of(c, &g->g, g->g.out[k], buf, sizeof buf, &len) || !(g->expr[k] = malloc(len + 1))) return -1;
    memcpy(g->expr[k], buf, len + 1);
  }
  uint64_t h[2 * TSO_G_MAX_OPS];
  for (int k = 0; k < g->g.nout; k++) h[k] = XXH3_64bits(g->expr[k], strlen(g->expr[k]));
  g->ekey = tsoG_fp_combine(h, g->g.nout) | 1;
  return 0;
}

/* 1 if the outputs of g are, as a multiset, the same expressions as h's
** (then g's exact outputs are h's); map[k] gets h's output equal to g's
** output k. */
static int same_exprs(const BG *h, const BG *g, int *map) {
  uint8_t taken[2 * TSO_G_MAX_OPS] = {0};
  if (h->g.nout != g->g.nout || !h->ekey || !g->ekey || h->ekey != g->ekey) return 0;
  for (int k = 0; k < g->g.nout; k++) {
    int m;
    for (m = 0; m < h->g.nout; m++)
      if (!taken[m] && !strcmp(h->expr[m], g->expr[k])) break;
    if (m == h->g.nout) return 0;
    taken[m] = 1, map[k] = m;
  }
  return 1;
}

/* Order by expression key, then position. */
static int cmp_ekey(const void *x, const void *y) {
  const BG *a = *(const BG *const *)x, *b = *(const BG *const *)y;
  if (a->ekey != b->ekey) return a->ekey < b->ekey ? -1 : 1;
  return a < b ? -1 : a > b;
}

/* Confirms one bucket into res. */
static void do_bucket(const tsoG_Config *c, tsoG_Exact *x, const tsoG_Entry *e, size_t n, BRes *res) {
  BG *b = calloc(n, sizeof *b);
  BG **ord = calloc(n, sizeof *ord);
  if (!b || !ord) goto fail;
  for (size_t i = 0; i < n; i++) { /* decode; expressions */
    BG *g = &b[i];
    g->code = e[i].code;
    if (tsoG_decode(c, g->code, &g->g)) goto fail;
    if (exprs(c, g)) g->ekey = 0;
    ord[i] = g;
  }
  qsort(ord, n, sizeof *ord, cmp_ekey);
  for (size_t i = 0; i < n; i++) { /* exact outputs: evaluated, or a twin's */
    BG *g = ord[i];
    const BG *twin = NULL;
    int map[2 * TSO_G_MAX_OPS];
    for (size_t j = i; j-- > 0 && ord[j]->ekey == g->ekey && g->ekey;)
      if (same_exprs(ord[j], g, map)) {
        twin = ord[j];
        break;
      }
    if (!twin && tsoG_exact_eval(x, &g->g)) goto fail;
    if (twin) res->twins++;
    uint64_t h[2 * TSO_G_MAX_OPS];
    for (int k = 0; k < g->g.nout; k++) {
      size_t len;
      const uint8_t *p = twin ? twin->out[map[k]] : tsoG_exact_out_bytes(x, k, &len);
      if (twin) len = twin->len[map[k]];
      if (!(g->out[k] = malloc(len ? len : 1))) goto fail;
      memcpy(g->out[k], p, len);
      g->len[k] = len;
      g->oh[k] = h[k] = XXH3_64bits(p, len);
    }
    g->sig = tsoG_fp_combine(h, g->g.nout);
  }
  qsort(ord, n, sizeof *ord, cmp_sig);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && ord[j]->sig == ord[i]->sig) j++;
    /* members [i, j): same signature; confirm each against ord[i] byte for byte */
    BG *rep = ord[i];
    for (int k = 0; k < rep->g.nout; k++) rep->map[k] = k;
    size_t m = 1;
    BG *cls[64];
    BG **members = j - i <= 64 ? cls : malloc((j - i) * sizeof *members);
    if (!members) goto fail;
    members[0] = rep;
    for (size_t k = i + 1; k < j; k++) {
      if (map_outputs(ord[k], rep)) {
        res->split_off++;
        continue;
      }
      members[m++] = ord[k];
    }
    if (m < 2) {
      res->split_off += m;
    } else {
      res->classes++;
      size_t hub = 0; /* the class representative: fewest ops, then smallest code */
      for (size_t q = 1; q < m; q++)
        if (members[q]->g.nops < members[hub]->g.nops ||
            (members[q]->g.nops == members[hub]->g.nops && members[q]->code < members[hub]->code))
          hub = q;
      res->pairs += m * (m - 1) / 2;
      for (size_t p = 0; p < m; p++)
        for (size_t q = p + 1; q < m; q++) {
          if (!c->all_pairs && p != hub && q != hub) continue; /* implied through the representative */
          const BG *s = members[p], *d = members[q];
          if (d->g.nops > s->g.nops || (d->g.nops == s->g.nops && d->code > s->code)) {
            const BG *t = s;
            s = d;
            d = t;
          }
          tsoG_CRule cr;
          if (make_rule(c, s, d, &cr)) {
            res->unrep++;
            continue;
          }
          if (push_rule(res, &cr)) {
            if (members != cls) free(members);
            goto fail;
          }
        }
    }
    if (members != cls) free(members);
    i = j;
  }
  free(ord);
  free_bg(b, n);
  return;
fail:
  res->failed = 1;
  free(ord);
  if (b) free_bg(b, n);
}

static void *worker(void *arg) {
  Shared *sh = arg;
  tsoG_Exact *x = tsoG_exact_new(sh->c);
  for (;;) {
    size_t b = atomic_fetch_add(&sh->next, 1);
    if (b >= sh->nb) break;
    if (!x) {
      sh->res[b].failed = 1;
      continue;
    }
    BRes *r = &sh->res[b];
    do_bucket(sh->c, x, sh->e + sh->start[b], sh->start[b + 1] - sh->start[b], r);
    if (!r->failed && r->n && tsoG_pruner_add(sh->pr, r->r, r->n)) r->failed = 1;
    r->cand = r->n;
    free(r->r);
    r->r = NULL;
    r->n = r->cap = 0;
    atomic_fetch_add(&sh->done, 1);
  }
  tsoG_exact_free(x);
  return NULL;
}

tso_status tsoG_confirm(const tsoG_Config *c, const tsoG_Entry *e, size_t n, int jobs, tsoG_Pruner *pr,
                        tsoG_ConfirmStats *st, char *err) {
  Shared sh;
  memset(&sh, 0, sizeof sh);
  size_t nb = 0;
  for (size_t i = 0; i < n;) { /* buckets of >= 2 entries */
    size_t j = i + 1;
    while (j < n && e[j].fp == e[i].fp) j++;
    if (j - i >= 2) nb++;
    i = j;
  }
  size_t *start = malloc((nb + 1) * sizeof *start);
  tsoG_Entry *be = NULL;
  if (!start) goto nomem;
  size_t tot = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && e[j].fp == e[i].fp) j++;
    if (j - i >= 2) tot += j - i;
    i = j;
  }
  /* the buckets, contiguous, so that start[] indexes them */
  if (!(be = malloc((tot ? tot : 1) * sizeof *be))) goto nomem;
  nb = tot = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && e[j].fp == e[i].fp) j++;
    if (j - i >= 2) {
      start[nb++] = tot;
      for (size_t k = i; k < j; k++) {
        if ((e[k].code >> 61) != TSO_G_CODE_PSEUDO) st->shared++;
        be[tot++] = e[k];
      }
    }
    i = j;
  }
  start[nb] = tot;
  st->buckets += nb;
  sh.c = c;
  sh.pr = pr;
  sh.e = be;
  sh.start = start;
  sh.nb = nb;
  if (!(sh.res = calloc(nb ? nb : 1, sizeof *sh.res))) goto nomem;
  atomic_init(&sh.next, 0);
  atomic_init(&sh.done, 0);
  if (jobs < 1) jobs = 1;
  pthread_t th[256];
  int nth = 0;
  for (int t = 0; t < jobs - 1 && t < 255; t++)
    if (!pthread_create(&th[nth], NULL, worker, &sh)) nth++;
  worker(&sh);
  for (int t = 0; t < nth; t++) pthread_join(th[t], NULL);
  int failed = 0;
  for (size_t b = 0; b < nb; b++) {
    failed |= sh.res[b].failed;
    st->classes += sh.res[b].classes;
    st->split_off += sh.res[b].split_off;
    st->unrepresentable += sh.res[b].unrep;
    st->candidates += sh.res[b].cand;
    st->pairs += sh.res[b].pairs;
    st->twins += sh.res[b].twins;
    free(sh.res[b].r);
  }
  free(sh.res);
  free(be);
  free(start);
  if (failed) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory confirming buckets");
  return TSO_OK;
nomem:
  free(be);
  free(start);
  return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory confirming buckets");
}
