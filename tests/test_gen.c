/*
** test_gen.c -- the rule generator: enumeration counts against independent
** hand counts (the default configuration's size 1 per instance) and a
** brute-force enumeration, known identities found, known non-identities
** not found, the exact check (hand-made fingerprint collisions are split
** off, never candidates), each pruning step on hand-made candidates, every
** stage count of sizes 1 and 2, shards, determinism.
**
** Quick tier: everything here runs in a few seconds (the default
** configuration at sizes 1 and 2, reduced configurations at size 3).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen/gen.h"
#include "graph/graph.h"

static int failures;

static void fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  failures++;
  fprintf(stderr, "FAIL %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}
#define CHECK(c, ...)                                \
  do {                                               \
    if (!(c)) fail(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

static const int32_t M44[] = {4, 4}, ACT[] = {2, 4, 4, 4}, K33[] = {4, 4, 3, 3};

/* ---- enumeration counts ---------------------------------------------- */

typedef struct Counter {
  uint64_t by_size[TSO_G_MAX_OPS + 1];
  uint64_t *codes;
  size_t n, cap;
} Counter;

static int64_t next_unit;
static int64_t claim_all(void *ud) {
  (void)ud;
  return next_unit++;
}

static void count_visit(void *ud, const tsoG_Visit *v) {
  Counter *c = ud;
  c->by_size[v->nops]++;
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 1024;
    c->codes = realloc(c->codes, c->cap * sizeof *c->codes);
  }
  c->codes[c->n++] = v->code;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Enumerates c on one thread; fills cnt. */
static void enumerate(const tsoG_Config *c, Counter *cnt) {
  tsoG_ModCtx m;
  memset(cnt, 0, sizeof *cnt);
  CHECK(tsoG_mod_init(&m, c) == TSO_OK, "mod_init");
  tsoG_Enum *e = tsoG_enum_new(c, &m);
  uint64_t ng = 0;
  next_unit = 0;
  CHECK(tsoG_enum_run(e, claim_all, NULL, count_visit, cnt, &ng) >= 0, "enum_run");
  tsoG_enum_free(e);
  tsoG_mod_free(&m);
  /* every graph once: codes are canonical, so no code may repeat */
  qsort(cnt->codes, cnt->n, sizeof *cnt->codes, cmp_u64);
  for (size_t i = 1; i < cnt->n; i++) CHECK(cnt->codes[i] != cnt->codes[i - 1], "graph code visited twice");
}

/* Configuration A: k square matrices; ewadd, matmul, relu, the identity
** matrix. */
static void config_a(tsoG_Config *c, int k, int max_ops) {
  static const char *const nm[] = {"A", "B", "C", "D"};
  tsoG_Meta im = tsoG_meta(TSO_IN_MATRIX, 2, M44);
  tsoG_config_empty(c, "test-a", max_ops, 7);
  for (int i = 0; i < k; i++) tsoG_config_input(c, nm[i], TSO_IN_MATRIX, 2, M44);
  tsoG_config_inst(c, TSO_G_ADD, 0, NULL);
  tsoG_config_inst(c, TSO_G_MATMUL, 0, NULL);
  tsoG_config_inst(c, TSO_G_RELU, 0, NULL);
  tsoG_config_inst(c, TSO_G_CONST, TSO_OP_CONST_IMATRIX, &im);
}

/* Configuration B: k square matrices; split in halves along axis 0, ewadd. */
static void config_b(tsoG_Config *c, int k, int max_ops) {
  static const char *const nm[] = {"A", "B", "C", "D"};
  tsoG_config_empty(c, "test-b", max_ops, 7);
  for (int i = 0; i < k; i++) tsoG_config_input(c, nm[i], TSO_IN_MATRIX, 2, M44);
  tsoG_config_inst(c, TSO_G_SPLIT, 0, NULL);
  tsoG_config_inst(c, TSO_G_ADD, 0, NULL);
}

static uint64_t choose2(uint64_t n) { return n * (n - 1) / 2; }

static void test_hand_counts(void) {
  for (int k = 1; k <= 3; k++) {
    tsoG_Config c;
    Counter cnt;
    /* A, size 1: ewadd and matmul take any ordered pair of the k inputs
    ** (k^2 each), relu any input (k), the constant one: T1 = 2k^2 + k + 1.
    ** Size 2: two distinct size-1 ops side by side (an unordered pair,
    ** C(T1, 2)), or a size-1 op f followed by an op reading f's output t
    ** at least once: relu(t) (1), ewadd and matmul over the k + 1 tensors
    ** with t among the operands ((k+1)^2 - k^2 = 2k + 1 each); the
    ** constant reads nothing. T2 = C(T1, 2) + T1 (4k + 3). */
    uint64_t t1 = 2u * (uint64_t)(k * k) + (uint64_t)k + 1, t2 = choose2(t1) + t1 * (4u * (uint64_t)k + 3);
    config_a(&c, k, 2);
    enumerate(&c, &cnt);
    printf("config A, k=%d: %llu + %llu graphs (hand count %llu + %llu)\n", k, (unsigned long long)cnt.by_size[1],
           (unsigned long long)cnt.by_size[2], (unsigned long long)t1, (unsigned long long)t2);
    CHECK(cnt.by_size[1] == t1 && cnt.by_size[2] == t2, "config A, k=%d: %llu/%llu graphs, hand count %llu/%llu", k,
          (unsigned long long)cnt.by_size[1], (unsigned long long)cnt.by_size[2], (unsigned long long)t1,
          (unsigned long long)t2);
    free(cnt.codes);
    /* B, size 1: split each input (k), ewadd any ordered pair (k^2):
    ** T1 = k + k^2. Size 2: independent pairs C(T1, 2); after a split
    ** (outputs s0, s1 of shape 2x4, unlike the 4x4 inputs): ewadd over
    ** {s0, s1}^2 (4) and a split of s0 or s1 (2), so 6k; after an ewadd e
    ** (4x4): ewadd with e among the operands (2k + 1) and split(e) (1),
    ** so k^2 (2k + 2). */
    t1 = (uint64_t)(k + k * k);
    t2 = choose2(t1) + 6u * (uint64_t)k + (uint64_t)(k * k) * (2u * (uint64_t)k + 2);
    config_b(&c, k, 2);
    enumerate(&c, &cnt);
    printf("config B, k=%d: %llu + %llu graphs (hand count %llu + %llu)\n", k, (unsigned long long)cnt.by_size[1],
           (unsigned long long)cnt.by_size[2], (unsigned long long)t1, (unsigned long long)t2);
    CHECK(cnt.by_size[1] == t1 && cnt.by_size[2] == t2, "config B, k=%d: %llu/%llu graphs, hand count %llu/%llu", k,
          (unsigned long long)cnt.by_size[1], (unsigned long long)cnt.by_size[2], (unsigned long long)t1,
          (unsigned long long)t2);
    free(cnt.codes);
  }
}

/* The default configuration at size 1, counted by hand from its inputs
** (docs/generator.md): matrices A, B, C (4x4); activations X, Y
** (2x4x4x4); kernels K, L (4x4x3x3), P (1x1), Q (1x3), R (3x1); the
** scalar s. Every number below comes from that list, not from the
** program; the graphs of each instance are checked separately. */
static void test_default_size1(void) {
  enum { NMAT = 3, NACT = 2, NK33 = 2, NK11 = 1, NK13 = 1, NK31 = 1, NSCAL = 1 };
  enum { NKER = NK33 + NK11 + NK13 + NK31, NONSCALAR = NMAT + NACT + NKER, NALL = NONSCALAR + NSCAL };
  /* conv kh x kw: an activation and a kernel of that size */
  const uint64_t conv33 = NACT * NK33, conv11 = NACT * NK11, conv13 = NACT * NK13, conv31 = NACT * NK31;
  /* ewadd, ewmul: an ordered pair of one kind and shape (the scalar with
  ** itself too; kernels of different sizes never pair) */
  const uint64_t ew = NMAT * NMAT + NACT * NACT + NK33 * NK33 + NK11 * NK11 + NK13 * NK13 + NK31 * NK31 + NSCAL * NSCAL;
  /* concat on axis 0 or 1: an ordered pair of one kind and rank, equal off
  ** the axis: every matrix pair, every activation pair, kernel pairs of one
  ** spatial size (the axes 0 and 1 are the channels); no scalar */
  const uint64_t cat = NMAT * NMAT + NACT * NACT + NK33 * NK33 + NK11 * NK11 + NK13 * NK13 + NK31 * NK31;
  static const struct { const char *name; int which; } inst[] = {
      {"conv1x1", 0}, {"conv3x3", 1}, {"conv1x3", 2}, {"conv3x1", 3}, {"conv1x1_relu", 0}, {"conv3x3_relu", 1},
      {"conv1x3_relu", 2}, {"conv3x1_relu", 3}, {"matmul", 4}, {"ewadd", 5}, {"ewmul", 5}, {"smul", 6},
      {"relu", 7}, {"transpose", 8}, {"concat0", 9}, {"concat1", 9}, {"split0", 10}, {"split1", 10},
      {"maxpool", 11}, {"avgpool", 11}, {"enlarge", 12}};
  const uint64_t by[13] = {
      conv11, conv33, conv13, conv31,
      NMAT * NMAT, /* matmul: [4,4] x [4,4], any ordered pair of matrices */
      ew,
      NONSCALAR,   /* smul: a non-scalar and the scalar */
      NALL,        /* relu: any tensor */
      NMAT,        /* transpose: matrices */
      cat,
      NONSCALAR,   /* split in halves on axis 0 or 1: every non-scalar has even sizes there (4, 2 or 4) */
      NACT,        /* maxpool, avgpool: activations */
      NK11 + NK13 + NK31, /* enlarge: the kernels smaller than 3x3 */
  };
  const uint64_t nconst = 4; /* const_ikernel, const_imatrix, const_ones, const_pool: one graph each */
  /* 20 conv + 9 matmul + 21 ewadd + 21 ewmul + 10 smul + 11 relu + 3 transpose
  ** + 20 concat0 + 20 concat1 + 10 split0 + 10 split1 + 2 maxpool + 2 avgpool
  ** + 3 enlarge + 4 constants */
  const uint64_t total = 2 * (conv11 + conv33 + conv13 + conv31) + NMAT * NMAT + 2 * ew + NONSCALAR + NALL + NMAT +
                         2 * cat + 2 * NONSCALAR + 2 * NACT + NK11 + NK13 + NK31 + nconst;
  tsoG_Config def;
  Counter cnt;
  uint64_t per[TSO_G_MAX_INST] = {0};
  tsoG_config_default(&def, 1, 1);
  enumerate(&def, &cnt);
  for (size_t i = 0; i < cnt.n; i++) {
    tsoG_Graph g;
    if (tsoG_decode(&def, cnt.codes[i], &g) || g.nops != 1) {
      fail(__FILE__, __LINE__, "size-1 code %zu does not decode to one op", i);
      continue;
    }
    per[g.inst[0]]++;
  }
  for (size_t j = 0; j < sizeof inst / sizeof inst[0]; j++) {
    int k = -1;
    for (int q = 0; q < def.ninst; q++)
      if (!strcmp(def.inst[q].name, inst[j].name)) k = q;
    CHECK(k >= 0 && per[k] == by[inst[j].which], "size 1: %s applied %llu ways, hand count %llu", inst[j].name,
          (unsigned long long)(k >= 0 ? per[k] : 0), (unsigned long long)by[inst[j].which]);
  }
  uint64_t consts = 0;
  for (int q = 0; q < def.ninst; q++) consts += def.inst[q].fam == TSO_G_CONST ? per[q] : 0;
  CHECK(consts == nconst, "size 1: %llu constant graphs, hand count %llu", (unsigned long long)consts,
        (unsigned long long)nconst);
  printf("default, size 1: %llu graphs (hand count %llu)\n", (unsigned long long)cnt.by_size[1],
         (unsigned long long)total);
  CHECK(total == 166 && cnt.by_size[1] == total, "default size 1: %llu graphs, hand count %llu (documented 166)",
        (unsigned long long)cnt.by_size[1], (unsigned long long)total);
  free(cnt.codes);
}

/* ---- brute force: every build order, deduplicated by structure ------- */

typedef struct BF {
  const tsoG_Config *c;
  int nt, nops;
  tsoG_Meta m[TSO_G_MAX_T];
  uint64_t sh[TSO_G_MAX_T];              /* structural hash of each tensor */
  uint64_t ops[TSO_G_MAX_OPS];           /* structural hash of each op */
  int inst[TSO_G_MAX_OPS], a[TSO_G_MAX_OPS], b[TSO_G_MAX_OPS];
  uint64_t *keys;                        /* one key per build order */
  size_t n, cap;
  int max_ops;
} BF;

static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 31;
  h = (h ^ c) * 0x165667B19E3779F9ull;
  return h ^ (h >> 29);
}

/* A key of the current op set: the sum of mixed op hashes (a set, so
** order-free), with the op count. */
static void bf_rec(BF *s) {
  if (s->nops) {
    uint64_t key = (uint64_t)s->nops;
    for (int j = 0; j < s->nops; j++) key += mix3(s->ops[j], 0x51, 0x77);
    if (s->n == s->cap) {
      s->cap = s->cap ? 2 * s->cap : 4096;
      s->keys = realloc(s->keys, s->cap * sizeof *s->keys);
    }
    s->keys[s->n++] = key;
  }
  if (s->nops == s->max_ops) return;
  const tsoG_Config *c = s->c;
  for (int k = 0; k < c->ninst; k++) {
    int nin = c->inst[k].nin, na = nin > 0 ? s->nt : 1, nb = nin > 1 ? s->nt : 1;
    for (int a = 0; a < na; a++)
      for (int b = 0; b < nb; b++) {
        tsoG_Meta in[2], out[2];
        if (nin > 0) in[0] = s->m[a];
        if (nin > 1) in[1] = s->m[b];
        int nout = tsoG_infer(c, k, in, out);
        if (!nout) continue;
        uint64_t oh = mix3((uint64_t)k + 1, nin > 0 ? s->sh[a] : 0, nin > 1 ? s->sh[b] : 0);
        int dup = 0;
        for (int j = 0; j < s->nops; j++) dup |= s->ops[j] == oh;
        if (dup) continue;
        s->ops[s->nops] = oh;
        for (int o = 0; o < nout; o++) {
          s->m[s->nt + o] = out[o];
          s->sh[s->nt + o] = mix3(oh, (uint64_t)o + 1, 0xAB);
        }
        s->nops++;
        s->nt += nout;
        bf_rec(s);
        s->nt -= nout;
        s->nops--;
      }
  }
}

static void test_brute_force(void) {
  tsoG_Config cfgs[2];
  config_a(&cfgs[0], 2, 3);
  config_b(&cfgs[1], 2, 3);
  for (int i = 0; i < 2; i++) {
    BF s;
    Counter cnt;
    memset(&s, 0, sizeof s);
    s.c = &cfgs[i];
    s.max_ops = 3;
    s.nt = s.c->ninputs;
    for (int t = 0; t < s.nt; t++) {
      s.m[t] = s.c->in[t].m;
      s.sh[t] = (uint64_t)t + 1;
    }
    bf_rec(&s);
    qsort(s.keys, s.n, sizeof *s.keys, cmp_u64);
    uint64_t distinct = 0;
    for (size_t k = 0; k < s.n; k++) distinct += k == 0 || s.keys[k] != s.keys[k - 1];
    enumerate(&cfgs[i], &cnt);
    uint64_t total = cnt.by_size[1] + cnt.by_size[2] + cnt.by_size[3];
    printf("%s, size <= 3: %llu graphs; brute force: %zu build orders, %llu distinct\n", cfgs[i].name,
           (unsigned long long)total, s.n, (unsigned long long)distinct);
    CHECK(total == distinct, "%s: canonical enumeration %llu graphs, brute force %llu distinct of %zu orders",
          cfgs[i].name, (unsigned long long)total, (unsigned long long)distinct, s.n);
    free(s.keys);
    free(cnt.codes);
  }
}

/* ---- runs and rules --------------------------------------------------- */

/* One run; the rule set in *out. */
static tso_status run(const tsoG_Config *cfg, int max_ops, int jobs, int si, int sn, tsoR_Set *out,
                      tsoG_Result *res) {
  tsoG_Options o;
  tsoG_Result r0;
  char err[TSO_ERRMAX];
  memset(&o, 0, sizeof o);
  memset(out, 0, sizeof *out);
  o.max_ops = max_ops;
  o.jobs = jobs;
  o.seed = cfg ? cfg->seed : 1;
  o.shard_i = si;
  o.shard_n = sn;
  o.quiet = 1;
  o.cfg = cfg;
  tso_status st = tsoG_run(&o, out, res ? res : &r0, err);
  CHECK(st == TSO_OK, "run: %s", err);
  return st;
}

static int same_bytes(const tsoR_Set *a, const tsoR_Set *b) {
  uint8_t *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  char err[TSO_ERRMAX];
  int ok = tsoR_serialize(a, &x, &nx, err) == TSO_OK && tsoR_serialize(b, &y, &ny, err) == TSO_OK && nx == ny &&
           !memcmp(x, y, nx);
  free(x);
  free(y);
  return ok;
}

/* A compact rule built by hand: ops are {instance, ref, ref} with refs as
** in tsoG_CRule (input number, or TSO_G_REF_OP + 2 op + slot). */
typedef struct HOp { int inst; int a, b; } HOp;

static void hpat(const tsoG_Config *c, tsoG_CPat *p, const HOp *ops, int nops, const int *outs, int nout) {
  tsoG_cpat_clear(p);
  p->nops = (uint8_t)nops;
  p->nout = (uint8_t)nout;
  for (int j = 0; j < nops; j++) {
    p->inst[j] = (uint8_t)ops[j].inst;
    if (c->inst[ops[j].inst].nin > 0) p->in[j][0] = (uint8_t)ops[j].a;
    if (c->inst[ops[j].inst].nin > 1) p->in[j][1] = (uint8_t)ops[j].b;
  }
  for (int i = 0; i < nout; i++) p->out[i] = (uint8_t)outs[i];
}

#define OPREF(j, s) (TSO_G_REF_OP + 2 * (j) + (s))

/* 1 if set s holds rule r or its reverse, up to renaming of inputs. */
static int count_renamed(const tsoG_Config *c, const tsoR_Set *s, const tsoG_CRule *r);
static int holds(const tsoG_Config *c, const tsoR_Set *s, const tsoG_CRule *r) { return count_renamed(c, s, r) > 0; }

static int inst_of(const tsoG_Config *c, const char *name) {
  for (int k = 0; k < c->ninst; k++)
    if (!strcmp(c->inst[k].name, name)) return k;
  fail(__FILE__, __LINE__, "no instance %s", name);
  return 0;
}

static void set_inputs(tsoG_CRule *r, int n, int kind, int rank) {
  r->nin = (uint8_t)n;
  for (int i = 0; i < n; i++) r->in_kind[i] = (uint8_t)kind, r->in_rank[i] = (uint8_t)rank;
}

/* r: n inputs of one kind and rank, src -> dst (one output each). */
static void hrule(const tsoG_Config *c, tsoG_CRule *r, int n, int kind, int rank, const HOp *src, int ns, int osrc,
                  const HOp *dst, int nd, int odst) {
  tsoG_crule_clear(r);
  set_inputs(r, n, kind, rank);
  hpat(c, &r->src, src, ns, &osrc, 1);
  hpat(c, &r->dst, dst, nd, &odst, 1);
}

/* Number of rules of s equal to r or its reverse up to renaming of inputs. */
static int count_renamed(const tsoG_Config *c, const tsoR_Set *s, const tsoG_CRule *r) {
  tsoG_CRule want, rev = *r, wantr, got;
  char err[TSO_ERRMAX];
  int n = 0;
  tsoG_crule_canon(r, &want);
  rev.src = r->dst;
  rev.dst = r->src;
  tsoG_crule_canon(&rev, &wantr);
  for (uint32_t i = 0; i < s->n; i++) {
    tsoG_CRule cr;
    if (tsoG_crule_from_rule(c, &s->r[i], &cr, err) != TSO_OK) continue;
    tsoG_crule_canon(&cr, &got);
    n += !memcmp(&got, &want, sizeof got) || !memcmp(&got, &wantr, sizeof got);
  }
  return n;
}

/* Size-2 candidates of the default configuration that a pruning step
** removes (docs/generator.md, Pruning; gen/prune.c):
**   0 common subgraph: relu(a) + b => b + relu(a) (relu(a) is on both
**     sides on the same operand: it is a + b = b + a with a := relu(a));
**   1 implied by congruence: relu(a + b) => relu(b + a) (relu of operands
**     of equal value, by the smaller a + b = b + a);
**   2 composite: (a + b, a * b) => (b + a, b * a) (two outputs computed by
**     disjoint parts: two smaller rules side by side). */
enum { NPRUNED = 3 };
static const char *const pruned_name[NPRUNED] = {"relu(a)+b = b+relu(a) (common subgraph)",
                                                 "relu(a+b) = relu(b+a) (congruence)",
                                                 "(a+b, a*b) = (b+a, b*a) (composite)"};
static void pruned_example(const tsoG_Config *c, int k, tsoG_CRule *r) {
  int add = inst_of(c, "ewadd"), mul = inst_of(c, "ewmul"), relu = inst_of(c, "relu");
  int o1[] = {OPREF(1, 0)}, o01[] = {OPREF(0, 0), OPREF(1, 0)};
  tsoG_crule_clear(r);
  set_inputs(r, 2, TSO_IN_MATRIX, 2);
  if (k == 0) {
    HOp s[] = {{relu, 0, 0}, {add, OPREF(0, 0), 1}}, d[] = {{relu, 0, 0}, {add, 1, OPREF(0, 0)}};
    hpat(c, &r->src, s, 2, o1, 1);
    hpat(c, &r->dst, d, 2, o1, 1);
  } else if (k == 1) {
    HOp s[] = {{add, 0, 1}, {relu, OPREF(0, 0), 0}}, d[] = {{add, 1, 0}, {relu, OPREF(0, 0), 0}};
    hpat(c, &r->src, s, 2, o1, 1);
    hpat(c, &r->dst, d, 2, o1, 1);
  } else {
    HOp s[] = {{add, 0, 1}, {mul, 0, 1}}, d[] = {{add, 1, 0}, {mul, 1, 0}};
    hpat(c, &r->src, s, 2, o01, 2);
    hpat(c, &r->dst, d, 2, o01, 2);
  }
}

/* Each pruning step on hand-made candidates fed to a pruner alone: the
** step that removes them, and the counts of every step. */
static void prune_alone(const tsoG_Config *c, const tsoG_CRule *r, int n, tsoG_PruneStats *st, uint32_t *kept) {
  char err[TSO_ERRMAX];
  tsoR_Set out;
  memset(&out, 0, sizeof out);
  memset(st, 0, sizeof *st);
  tsoG_Pruner *p = tsoG_pruner_new(c, 0);
  CHECK(p && tsoG_pruner_add(p, r, (size_t)n) == TSO_OK, "pruner_add");
  CHECK(p && tsoG_pruner_finish(p, &out, st, 1, 1, err) == TSO_OK, "pruner_finish: %s", err);
  tsoG_pruner_free(p);
  *kept = out.n;
  tsoR_set_free(&out);
}

static void test_prune_steps(void) {
  tsoG_Config def;
  tsoG_PruneStats st;
  uint32_t kept;
  tsoG_config_default(&def, 2, 1);
  int mm = inst_of(&def, "matmul"), ones = inst_of(&def, "const_ones");
  int o1[] = {OPREF(1, 0)}, o0[] = {OPREF(0, 0)};
  /* renaming: (x0 x1) x2 => x0 (x1 x2) and the same with x0, x1, x2
  ** renamed x2, x0, x1 are one rule; its reverse is another form, and
  ** the reverse step keeps one of the two */
  tsoG_CRule r[2];
  HOp l[] = {{mm, 0, 1}, {mm, OPREF(0, 0), 2}}, rr[] = {{mm, 1, 2}, {mm, 0, OPREF(0, 0)}};
  HOp l2[] = {{mm, 2, 0}, {mm, OPREF(0, 0), 1}}, rr2[] = {{mm, 0, 1}, {mm, 2, OPREF(0, 0)}};
  for (int i = 0; i < 2; i++) {
    tsoG_crule_clear(&r[i]);
    set_inputs(&r[i], 3, TSO_IN_MATRIX, 2);
  }
  hpat(&def, &r[0].src, l, 2, o1, 1);
  hpat(&def, &r[0].dst, rr, 2, o1, 1);
  hpat(&def, &r[1].src, l2, 2, o1, 1);
  hpat(&def, &r[1].dst, rr2, 2, o1, 1);
  prune_alone(&def, r, 2, &st, &kept);
  CHECK(st.before == 2 && st.renamed == 1 && st.common == 1 && st.implied == 1 && st.final == 1 && kept == 1,
        "renaming: %llu fed, %llu distinct, %u kept; want 2, 1, 1", (unsigned long long)st.before,
        (unsigned long long)st.renamed, kept);
  r[1].src = r[0].dst; /* its reverse */
  r[1].dst = r[0].src;
  prune_alone(&def, r, 2, &st, &kept);
  CHECK(st.renamed == 2 && st.common == 2 && st.implied == 1 && st.reverse == 1 && kept == 1,
        "reverse: %llu distinct, %llu implied, %llu reverses; want 2, 1, 1", (unsigned long long)st.renamed,
        (unsigned long long)st.implied, (unsigned long long)st.reverse);
  /* the three size-2 examples, each alone: common subgraph (step 2),
  ** congruence and composite (step 3) */
  for (int k = 0; k < NPRUNED; k++) {
    pruned_example(&def, k, &r[0]);
    prune_alone(&def, r, 1, &st, &kept);
    int ok = st.before == 1 && st.renamed == 1 && kept == 0 && st.final == 0;
    if (k == 0) ok = ok && st.common == 0;
    if (k == 1) ok = ok && st.common == 1 && st.implied == 0 && st.congruent == 1;
    if (k == 2) ok = ok && st.common == 1 && st.implied == 0 && st.split == 1;
    CHECK(ok, "%s: counts %llu %llu %llu %llu, congruent %llu, composite %llu, kept %u", pruned_name[k],
          (unsigned long long)st.before, (unsigned long long)st.renamed, (unsigned long long)st.common,
          (unsigned long long)st.implied, (unsigned long long)st.congruent, (unsigned long long)st.split, kept);
  }
  /* identical sides: only possible without an op that reads a value (those
  ** count as a common subgraph): const_ones() => const_ones() */
  HOp c1[] = {{ones, 0, 0}};
  tsoG_crule_clear(&r[0]);
  hpat(&def, &r[0].src, c1, 1, o0, 1);
  hpat(&def, &r[0].dst, c1, 1, o0, 1);
  prune_alone(&def, r, 1, &st, &kept);
  CHECK(st.common == 1 && st.same == 1 && st.implied == 0 && kept == 0, "same sides: %llu common, %llu same, %u kept",
        (unsigned long long)st.common, (unsigned long long)st.same, kept);
}

static void test_identities(void) {
  tsoG_Config def;
  tsoR_Set s1, s2;
  tsoG_Result res;
  tsoG_config_default(&def, 2, 1);
  int add = inst_of(&def, "ewadd"), mm = inst_of(&def, "matmul"), cat0 = inst_of(&def, "concat0");
  int sp0 = inst_of(&def, "split0"), relu = inst_of(&def, "relu"), cat1 = inst_of(&def, "concat1");
  int sp1 = inst_of(&def, "split1"), mp = inst_of(&def, "maxpool");
  tsoG_Result res1;
  run(NULL, 1, 2, 0, 1, &s1, &res1);
  run(NULL, 2, 2, 0, 1, &s2, &res);
  tsoG_CRule r;
  char err[TSO_ERRMAX];
  /* size 1: the 166 graphs (test_default_size1); the candidates are the
  ** commutativity of ewadd and ewmul on pairs of distinct inputs of one
  ** kind and shape: matrices {A,B,C} 3 pairs, activations {X,Y} 1, 3x3
  ** kernels {K,L} 1, so 2 x 5 = 10; up to renaming of inputs one per
  ** operator and kind: 2 x 3 = 6, all kept */
  static const uint64_t want1[TSO_G_NCOUNTS] = {166, 156, 20, 10, 6, 6, 6, 6};
  /* size 2 (docs/benchmarks.md, docs/generator.md) */
  static const uint64_t want2[TSO_G_NCOUNTS] = {18898, 15875, 5659, 3048, 1131, 507, 258, 258};
  for (int i = 0; i < TSO_G_NCOUNTS; i++) {
    CHECK(res1.counts[i] == want1[i] && s1.prov.counts[i] == want1[i], "size 1: count %d is %llu, want %llu", i,
          (unsigned long long)res1.counts[i], (unsigned long long)want1[i]);
    CHECK(res.counts[i] == want2[i] && s2.prov.counts[i] == want2[i], "size 2: count %d is %llu, want %llu", i,
          (unsigned long long)res.counts[i], (unsigned long long)want2[i]);
  }
  /* the trivially implied ones of size 2 by kind; nothing split off, nothing
  ** dropped by the float check */
  CHECK(res.ps.same == 0 && res.ps.reverse == 46 && res.ps.split == 45 && res.ps.congruent == 158 &&
            res.ps.same + res.ps.reverse + res.ps.split + res.ps.congruent == want2[5] - want2[6] &&
            res.ps.float_fail == 0 && res.cs.split_off == 0,
        "size 2: implied same %llu reverse %llu composite %llu congruent %llu (want 0 46 45 158), float %llu, "
        "split off %llu",
        (unsigned long long)res.ps.same, (unsigned long long)res.ps.reverse, (unsigned long long)res.ps.split,
        (unsigned long long)res.ps.congruent, (unsigned long long)res.ps.float_fail,
        (unsigned long long)res.cs.split_off);
  CHECK(s1.n == 6 && s2.n == 258, "%u and %u rules written, want 6 and 258", s1.n, s2.n);
  for (uint32_t i = 0; i < s2.n; i++) {
    CHECK(tsoR_check(&s2.r[i], err) == TSO_OK, "rule %u ill-formed: %s", i, err);
    CHECK(s2.r[i].status == TSO_RULE_CANDIDATE, "rule %u: status %d", i, s2.r[i].status);
  }
  CHECK(!strcmp(s2.prov.tool, "taso-gen 0.1.0") && s2.prov.seconds == 0 && s2.prov.seed == 1, "provenance");
  CHECK(s2.prov.counts[7] == s2.n && s2.prov.counts[0] > s2.prov.counts[1] && s2.prov.counts[3] >= s2.prov.counts[4] &&
            s2.prov.counts[4] >= s2.prov.counts[5] && s2.prov.counts[5] >= s2.prov.counts[6] &&
            s2.prov.counts[6] >= s2.prov.counts[7],
        "counts do not decrease along the pipeline");
  CHECK(!strncmp(s2.prov.options, "max-ops=2 config=default:", 25), "options '%s'", s2.prov.options);

  /* a + b = b + a */
  HOp ab[] = {{add, 0, 1}}, ba[] = {{add, 1, 0}};
  int o0[] = {OPREF(0, 0)}, o1[] = {OPREF(1, 0)};
  tsoG_crule_clear(&r);
  set_inputs(&r, 2, TSO_IN_MATRIX, 2);
  hpat(&def, &r.src, ab, 1, o0, 1);
  hpat(&def, &r.dst, ba, 1, o0, 1);
  CHECK(holds(&def, &s1, &r), "a+b = b+a not found at size 1");
  CHECK(holds(&def, &s2, &r), "a+b = b+a not found at size 2");
  /* A+B = B+A, A+C = C+A, B+C = C+B were three candidates: one rule */
  CHECK(count_renamed(&def, &s1, &r) == 1 && count_renamed(&def, &s2, &r) == 1,
        "a+b = b+a on matrices written %d and %d times at sizes 1 and 2, want once", count_renamed(&def, &s1, &r),
        count_renamed(&def, &s2, &r));
  /* candidates the pruning steps remove (test_prune_steps checks which
  ** step; test_determinism that they were candidates of this run) */
  for (int k = 0; k < NPRUNED; k++) {
    tsoG_CRule pr;
    pruned_example(&def, k, &pr);
    CHECK(!holds(&def, &s2, &pr), "size 2: %s is in the output", pruned_name[k]);
  }

  /* (A B) C = A (B C) */
  HOp l[] = {{mm, 0, 1}, {mm, OPREF(0, 0), 2}}, rr[] = {{mm, 1, 2}, {mm, 0, OPREF(0, 0)}};
  tsoG_crule_clear(&r);
  set_inputs(&r, 3, TSO_IN_MATRIX, 2);
  hpat(&def, &r.src, l, 2, o1, 1);
  hpat(&def, &r.dst, rr, 2, o1, 1);
  CHECK(holds(&def, &s2, &r), "(AB)C = A(BC) not found at size 2");

  /* split(concat(a, b)) = (a, b), on both axes */
  for (int ax = 0; ax < 2; ax++) {
    HOp cs[] = {{ax ? cat1 : cat0, 0, 1}, {ax ? sp1 : sp0, OPREF(0, 0), 0}};
    int so[] = {OPREF(1, 0), OPREF(1, 1)}, dout[] = {0, 1};
    tsoG_crule_clear(&r);
    set_inputs(&r, 2, TSO_IN_ACT4, 4);
    hpat(&def, &r.src, cs, 2, so, 2);
    hpat(&def, &r.dst, NULL, 0, dout, 2);
    CHECK(holds(&def, &s2, &r), "split%d(concat%d(a,b)) = (a,b) not found at size 2", ax, ax);
  }

  /* non-identities at size 2: relu(a+b) != relu(a)+relu(b) needs 3 ops,
  ** checked below; concat along one axis then split along the other is
  ** not the identity */
  for (int ax = 0; ax < 2; ax++) {
    HOp cs[] = {{ax ? cat1 : cat0, 0, 1}, {ax ? sp0 : sp1, OPREF(0, 0), 0}};
    int so[] = {OPREF(1, 0), OPREF(1, 1)}, dout[] = {0, 1};
    tsoG_crule_clear(&r);
    set_inputs(&r, 2, TSO_IN_ACT4, 4);
    hpat(&def, &r.src, cs, 2, so, 2);
    hpat(&def, &r.dst, NULL, 0, dout, 2);
    CHECK(!holds(&def, &s2, &r), "split along another axis than concat taken as the identity");
  }
  (void)relu;
  (void)mp;
  tsoR_set_free(&s1);
  tsoR_set_free(&s2);
}

/* Size 3 on reduced configurations: conv is linear in its kernel; relu
** and max pooling do not distribute over addition. */
static void test_size3(void) {
  tsoG_Config c;
  tsoR_Set s;
  tsoG_config_empty(&c, "test-conv", 3, 5);
  tsoG_config_input(&c, "X", TSO_IN_ACT4, 4, ACT);
  tsoG_config_input(&c, "K", TSO_IN_KERNEL, 4, K33);
  tsoG_config_input(&c, "L", TSO_IN_KERNEL, 4, K33);
  int conv = tsoG_config_inst(&c, TSO_G_CONV, 33, NULL), add = tsoG_config_inst(&c, TSO_G_ADD, 0, NULL);
  run(&c, 3, 2, 0, 1, &s, NULL);
  /* conv(x, w1) + conv(x, w2) = conv(x, w1 + w2) */
  HOp src[] = {{conv, 0, 1}, {conv, 0, 2}, {add, OPREF(0, 0), OPREF(1, 0)}};
  HOp dst[] = {{add, 1, 2}, {conv, 0, OPREF(0, 0)}};
  int o2[] = {OPREF(2, 0)}, o1[] = {OPREF(1, 0)};
  tsoG_CRule r;
  tsoG_crule_clear(&r);
  r.nin = 3;
  r.in_kind[0] = TSO_IN_ACT4, r.in_rank[0] = 4;
  r.in_kind[1] = r.in_kind[2] = TSO_IN_KERNEL, r.in_rank[1] = r.in_rank[2] = 4;
  hpat(&c, &r.src, src, 3, o2, 1);
  hpat(&c, &r.dst, dst, 2, o1, 1);
  CHECK(holds(&c, &s, &r), "conv(x,w1)+conv(x,w2) = conv(x,w1+w2) not found at size 3");
  tsoR_set_free(&s);

  tsoG_config_empty(&c, "test-nonlinear", 3, 5);
  tsoG_config_input(&c, "X", TSO_IN_ACT4, 4, ACT);
  tsoG_config_input(&c, "Y", TSO_IN_ACT4, 4, ACT);
  add = tsoG_config_inst(&c, TSO_G_ADD, 0, NULL);
  int relu = tsoG_config_inst(&c, TSO_G_RELU, 0, NULL), mp = tsoG_config_inst(&c, TSO_G_MAXPOOL, 0, NULL);
  int ap = tsoG_config_inst(&c, TSO_G_AVGPOOL, 0, NULL);
  run(&c, 3, 2, 0, 1, &s, NULL);
  /* f(a + b) != f(a) + f(b) for relu and max pooling; = for avgpool */
  int fs[3] = {relu, mp, ap};
  for (int i = 0; i < 3; i++) {
    HOp lhs[] = {{add, 0, 1}, {fs[i], OPREF(0, 0), 0}};
    HOp rhs[] = {{fs[i], 0, 0}, {fs[i], 1, 0}, {add, OPREF(0, 0), OPREF(1, 0)}};
    int ol[] = {OPREF(1, 0)}, orr[] = {OPREF(2, 0)};
    tsoG_crule_clear(&r);
    set_inputs(&r, 2, TSO_IN_ACT4, 4);
    hpat(&c, &r.src, rhs, 3, orr, 1);
    hpat(&c, &r.dst, lhs, 2, ol, 1);
    int found = holds(&c, &s, &r);
    if (fs[i] == ap) CHECK(found, "avgpool(a)+avgpool(b) = avgpool(a+b) not found");
    else CHECK(!found, "%s(a)+%s(b) = %s(a+b) taken as an identity", c.inst[fs[i]].name, c.inst[fs[i]].name,
               c.inst[fs[i]].name);
    /* and the exact evaluation tells them apart on its own */
    uint8_t gl[2][3] = {{(uint8_t)add, 0, 1}, {(uint8_t)fs[i], 2, 0}};
    uint8_t gr[3][3] = {{(uint8_t)fs[i], 0, 0}, {(uint8_t)fs[i], 1, 0}, {(uint8_t)add, 2, 3}};
    tsoG_Graph g1, g2;
    CHECK(!tsoG_decode(&c, tsoG_code(2, (const uint8_t(*)[3])gl), &g1) &&
              !tsoG_decode(&c, tsoG_code(3, (const uint8_t(*)[3])gr), &g2),
          "decode");
    for (int gmp = 0; gmp < 2; gmp++) {
      c.gmp_only = gmp;
      tsoG_Exact *x = tsoG_exact_new(&c);
      size_t n1, n2;
      CHECK(x && !tsoG_exact_eval(x, &g1), "exact eval");
      const uint8_t *b1 = tsoG_exact_out_bytes(x, 0, &n1);
      uint8_t *c1 = malloc(n1);
      memcpy(c1, b1, n1);
      CHECK(!tsoG_exact_eval(x, &g2), "exact eval");
      const uint8_t *b2 = tsoG_exact_out_bytes(x, 0, &n2);
      int eq = n1 == n2 && !memcmp(c1, b2, n1);
      CHECK(eq == (fs[i] == ap), "%s: exact evaluation (gmp %d) says equal=%d", c.inst[fs[i]].name, gmp, eq);
      free(c1);
      tsoG_exact_free(x);
    }
    c.gmp_only = 0;
  }
  tsoR_set_free(&s);
}

/* ---- confirmation: fingerprint collisions never become candidates ---- */

/* Entry of the graph whose op j is {instance, operand, operand} (tensor
** ids: the default inputs A B C X Y K L P Q R s are 0..10, op j's output
** follows), under the made-up fingerprint fp. */
static tsoG_Entry entry(uint64_t fp, int nops, const uint8_t (*ops)[3]) {
  tsoG_Entry e = {fp, tsoG_code(nops, ops)};
  return e;
}

static int cmp_entry(const void *x, const void *y) {
  const tsoG_Entry *a = x, *b = y;
  if (a->fp != b->fp) return a->fp < b->fp ? -1 : 1;
  return a->code < b->code ? -1 : a->code > b->code;
}

/* Buckets made by hand, as if the fingerprint had collided: graphs that
** differ (exactly, with the real relu and max) must be split off and never
** pair up, on both exact paths (128-bit and GMP); equal graphs in the same
** buckets still must. */
static void test_confirm_collisions(void) {
  tsoG_Config def;
  tsoG_config_default(&def, 3, 1);
  const uint8_t add = (uint8_t)inst_of(&def, "ewadd"), relu = (uint8_t)inst_of(&def, "relu");
  const uint8_t mp = (uint8_t)inst_of(&def, "maxpool"), ap = (uint8_t)inst_of(&def, "avgpool");
  enum { A = 0, B = 1, X = 3, Y = 4, T0 = 11, T1 = 12 };
  /* bucket 1: relu(A+B) | relu(A)+relu(B) (relu is not additive) */
  const uint8_t g1a[2][3] = {{add, A, B}, {relu, T0, 0}};
  const uint8_t g1b[3][3] = {{relu, A, 0}, {relu, B, 0}, {add, T0, T1}};
  /* bucket 2: avgpool(X) | maxpool(X) */
  const uint8_t g2a[1][3] = {{ap, X, 0}}, g2b[1][3] = {{mp, X, 0}};
  /* bucket 3: maxpool(X+Y) | maxpool(X)+maxpool(Y) | avgpool(X+Y) |
  ** avgpool(X)+avgpool(Y) | X+Y | Y+X: two classes (the avgpool pair, the
  ** sum), whichever graph the bucket starts with; the maxpool graphs alone */
  const uint8_t g3a[2][3] = {{add, X, Y}, {mp, T0, 0}};
  const uint8_t g3b[3][3] = {{mp, X, 0}, {mp, Y, 0}, {add, T0, T1}};
  const uint8_t g3c[2][3] = {{add, X, Y}, {ap, T0, 0}};
  const uint8_t g3d[3][3] = {{ap, X, 0}, {ap, Y, 0}, {add, T0, T1}};
  const uint8_t g3e[1][3] = {{add, X, Y}}, g3f[1][3] = {{add, Y, X}};
  /* bucket 4: A+B | B+A (equal by commutativity alone: a twin) */
  const uint8_t g4a[1][3] = {{add, A, B}}, g4b[1][3] = {{add, B, A}};
  /* and a graph alone under its fingerprint: no bucket */
  const uint8_t g5[1][3] = {{relu, A, 0}};
  tsoG_Entry e[] = {entry(0x100, 2, g1a), entry(0x100, 3, g1b), entry(0x200, 1, g2a), entry(0x200, 1, g2b),
                    entry(0x300, 2, g3a), entry(0x300, 3, g3b), entry(0x300, 2, g3c), entry(0x300, 3, g3d),
                    entry(0x300, 1, g3e), entry(0x300, 1, g3f),
                    entry(0x400, 1, g4a), entry(0x400, 1, g4b), entry(0x500, 1, g5)};
  const size_t n = sizeof e / sizeof e[0];
  qsort(e, n, sizeof e[0], cmp_entry);

  /* the rules that must (not) come out, over inputs x0, x1 */
  const int o1[] = {OPREF(1, 0)}, o2[] = {OPREF(2, 0)}, o0[] = {OPREF(0, 0)};
  tsoG_CRule relu_lin, pool_max, mp_lin, ap_lin, comm;
  HOp h1a[] = {{add, 0, 1}, {relu, OPREF(0, 0), 0}}, h1b[] = {{relu, 0, 0}, {relu, 1, 0}, {add, OPREF(0, 0), OPREF(1, 0)}};
  hrule(&def, &relu_lin, 2, TSO_IN_MATRIX, 2, h1b, 3, o2[0], h1a, 2, o1[0]);
  HOp h2a[] = {{ap, 0, 0}}, h2b[] = {{mp, 0, 0}};
  hrule(&def, &pool_max, 1, TSO_IN_ACT4, 4, h2b, 1, o0[0], h2a, 1, o0[0]);
  HOp h3a[] = {{add, 0, 1}, {mp, OPREF(0, 0), 0}}, h3b[] = {{mp, 0, 0}, {mp, 1, 0}, {add, OPREF(0, 0), OPREF(1, 0)}};
  hrule(&def, &mp_lin, 2, TSO_IN_ACT4, 4, h3b, 3, o2[0], h3a, 2, o1[0]);
  HOp h3c[] = {{add, 0, 1}, {ap, OPREF(0, 0), 0}}, h3d[] = {{ap, 0, 0}, {ap, 1, 0}, {add, OPREF(0, 0), OPREF(1, 0)}};
  hrule(&def, &ap_lin, 2, TSO_IN_ACT4, 4, h3d, 3, o2[0], h3c, 2, o1[0]);
  HOp h4a[] = {{add, 0, 1}}, h4b[] = {{add, 1, 0}};
  hrule(&def, &comm, 2, TSO_IN_MATRIX, 2, h4a, 1, o0[0], h4b, 1, o0[0]);

  for (int gmp = 0; gmp < 2; gmp++) {
    char err[TSO_ERRMAX];
    tsoG_ConfirmStats st;
    tsoR_Set got;
    uint64_t fed = 0;
    memset(&st, 0, sizeof st);
    memset(&got, 0, sizeof got);
    def.gmp_only = gmp;
    tsoG_Pruner *pr = tsoG_pruner_new(&def, 1); /* keep every candidate, unpruned */
    CHECK(pr && tsoG_confirm(&def, e, n, 2, pr, &st, err) == TSO_OK, "confirm: %s", err);
    CHECK(tsoG_pruner_dump(pr, &got, &fed, err) == TSO_OK, "dump: %s", err);
    tsoG_pruner_free(pr);
    printf("confirm (gmp %d): buckets %llu, graphs %llu, classes %llu, split off %llu, candidates %llu, twins %llu\n",
           gmp, (unsigned long long)st.buckets, (unsigned long long)st.shared, (unsigned long long)st.classes,
           (unsigned long long)st.split_off, (unsigned long long)st.candidates, (unsigned long long)st.twins);
    /* 4 buckets of 2 + 2 + 6 + 2 graphs; 3 classes of 2 (the avgpool pair,
    ** X+Y and Y+X, A+B and B+A), so 3 pairs and 3 candidates (3 canonical
    ** forms: the two sums have different kinds); split off: both
    ** graphs of buckets 1 and 2, the maxpool pair of bucket 3; twins: Y+X
    ** and B+A (equal to X+Y and A+B by commutativity alone) */
    CHECK(st.buckets == 4 && st.shared == 12, "gmp %d: %llu buckets of %llu graphs, want 4 of 12", gmp,
          (unsigned long long)st.buckets, (unsigned long long)st.shared);
    CHECK(st.split_off == 6, "gmp %d: %llu graphs split off, want 6", gmp, (unsigned long long)st.split_off);
    CHECK(st.classes == 3 && st.pairs == 3 && st.candidates == 3 && fed == 3 && got.n == 3,
          "gmp %d: %llu classes, %llu pairs, %llu candidates (%llu fed, %u forms kept), want 3 each", gmp,
          (unsigned long long)st.classes, (unsigned long long)st.pairs, (unsigned long long)st.candidates,
          (unsigned long long)fed, got.n);
    CHECK(st.twins == 2 && st.unrepresentable == 0, "gmp %d: %llu twins, %llu unrepresentable", gmp,
          (unsigned long long)st.twins, (unsigned long long)st.unrepresentable);
    CHECK(!holds(&def, &got, &relu_lin), "gmp %d: relu(a)+relu(b) = relu(a+b) became a candidate", gmp);
    CHECK(!holds(&def, &got, &pool_max), "gmp %d: maxpool(x) = avgpool(x) became a candidate", gmp);
    CHECK(!holds(&def, &got, &mp_lin), "gmp %d: maxpool(a)+maxpool(b) = maxpool(a+b) became a candidate", gmp);
    CHECK(holds(&def, &got, &ap_lin), "gmp %d: avgpool(a)+avgpool(b) = avgpool(a+b) is not a candidate", gmp);
    CHECK(holds(&def, &got, &comm), "gmp %d: a+b = b+a is not a candidate", gmp);
    tsoR_set_free(&got);
  }
}

/* The fast and the GMP exact evaluators, thread counts, shards: the same
** bytes every time. */
static void test_determinism(void) {
  tsoR_Set a, b, g;
  tsoG_Config def;
  tsoG_Result ra, rb;
  tsoG_config_default(&def, 2, 1);
  run(NULL, 2, 1, 0, 1, &a, &ra);
  run(NULL, 2, 2, 0, 1, &b, &rb);
  CHECK(same_bytes(&a, &b), "--jobs 1 and --jobs 2 differ");
  def.gmp_only = 1;
  run(&def, 2, 2, 0, 1, &g, NULL);
  CHECK(same_bytes(&a, &g), "GMP-only exact evaluation gives another file");
  tsoR_set_free(&b);
  tsoR_set_free(&g);
  /* shards 0..3 of 4, written to files and merged */
  char dir[] = "/tmp/test_gen_XXXXXX", paths[4][64], err[TSO_ERRMAX];
  const char *pp[4];
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  uint64_t cand = 0;
  int in_shard[NPRUNED] = {0};
  for (int i = 0; i < 4; i++) {
    tsoR_Set s;
    snprintf(paths[i], sizeof paths[i], "%s/s%d.bin", dir, i);
    pp[3 - i] = paths[i]; /* merged in another order */
    run(NULL, 2, 2, i, 4, &s, NULL);
    CHECK(s.prov.counts[4] == 0 && s.prov.counts[0] == ra.counts[0], "shard counts");
    cand += s.prov.counts[3];
    for (int k = 0; k < NPRUNED; k++) { /* shards hold the candidates unpruned */
      tsoG_CRule pr;
      pruned_example(&def, k, &pr);
      in_shard[k] += holds(&def, &s, &pr);
    }
    CHECK(tsoR_write(&s, paths[i], err) == TSO_OK, "write shard: %s", err);
    tsoR_set_free(&s);
  }
  CHECK(cand == ra.counts[3], "shards hold %llu candidates, one run %llu", (unsigned long long)cand,
        (unsigned long long)ra.counts[3]);
  for (int k = 0; k < NPRUNED; k++) /* (the same form comes from several buckets: A, B or C renamed) */
    CHECK(in_shard[k] >= 1, "size 2: %s is not a candidate (pruned from the output only if it is one)",
          pruned_name[k]);
  tsoR_Set m;
  tsoG_Result rm;
  memset(&m, 0, sizeof m);
  CHECK(tsoG_merge(pp, 4, 2, 1, &m, &rm, err) == TSO_OK, "merge: %s", err);
  CHECK(same_bytes(&a, &m), "merged shards differ from one run");
  tsoR_set_free(&m);
  /* a missing shard is refused */
  memset(&m, 0, sizeof m);
  CHECK(tsoG_merge(pp, 3, 2, 1, &m, &rm, err) != TSO_OK, "merge of 3 of 4 shards accepted");
  tsoR_set_free(&m);
  for (int i = 0; i < 4; i++) unlink(paths[i]);
  rmdir(dir);
  tsoR_set_free(&a);
}

/* Codes decode back to the graphs they name; rules convert both ways. */
static void test_codes(void) {
  tsoG_Config c;
  tsoG_config_default(&c, 2, 1);
  uint8_t ops[2][3] = {{(uint8_t)inst_of(&c, "concat0"), 0, 1}, {(uint8_t)inst_of(&c, "split0"), 11, 0}};
  tsoG_Graph g;
  CHECK(!tsoG_decode(&c, tsoG_code(2, (const uint8_t(*)[3])ops), &g) && g.nops == 2 && g.nout == 2, "decode");
  char buf[256];
  tsoG_graph_str(&c, &g, buf, sizeof buf);
  CHECK(!strcmp(buf, "split0(concat0(A,B))[0]; split0(concat0(A,B))[1]"), "graph text '%s'", buf);
  uint8_t bad[1][3] = {{(uint8_t)inst_of(&c, "matmul"), 3, 4}}; /* matmul of two activations */
  CHECK(tsoG_decode(&c, tsoG_code(1, (const uint8_t(*)[3])bad), &g) != 0, "ill-typed code decoded");
}

int main(void) {
  test_hand_counts();
  test_default_size1();
  test_brute_force();
  test_codes();
  test_confirm_collisions();
  test_prune_steps();
  test_identities();
  test_size3();
  test_determinism();
  if (failures) {
    fprintf(stderr, "test_gen: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_gen: all passed\n");
  return 0;
}
