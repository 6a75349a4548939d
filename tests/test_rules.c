/*
** test_rules.c -- unit tests of the rules module: sets, the well-formedness
** check, the binary file (round trip, determinism, every reader error,
** truncation at every offset, random damage), the text form (every
** generator operator, multi-output rules, errors with columns, whole sets
** with provenance), instantiation and evaluation of both sides.
**
** usage: test_rules [TASO_RULES TMPDIR]
** With the path of the taso-rules program and a scratch folder it also
** checks the command line: dump | parse rewrites a file byte for byte, and
** the exit codes.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <xxhash.h>

#include "graph/graph.h"
#include "rules/rules.h"


static int failures;
#define EXPECT(c)                                                      \
  do {                                                                 \
    if (!(c)) {                                                        \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #c); \
      failures++;                                                      \
    }                                                                  \
  } while (0)
/* st failed with a message containing sub */
#define EXPECT_ERR(st, err, sub)                                                                     \
  do {                                                                                             \
    if ((st) == TSO_OK || !strstr((err), (sub))) {                                                 \
      fprintf(stderr, "%s:%d: expected an error with '%s', got %d '%s'\n", __FILE__, __LINE__, (sub), \
              (int)(st), (err));                                                                   \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

/* ---- building rules by hand ------------------------------------------ */

static tsoR_Ref RX(int i) {
  tsoR_Ref f = {TSO_REF_INPUT, (uint8_t)i, 0, 0};
  return f;
}

static tsoR_Ref RO(int k, int s) {
  tsoR_Ref f = {TSO_REF_OP, (uint8_t)k, (uint8_t)s, 0};
  return f;
}

static void rule_init(tsoR_Rule *r, int status, int nin, const int *kinds, const int *ranks) {
  memset(r, 0, sizeof *r);
  r->status = (uint8_t)status;
  r->nin = (uint8_t)nin;
  for (int i = 0; i < nin; i++) {
    r->in_kind[i] = (uint8_t)kinds[i];
    r->in_rank[i] = (uint8_t)ranks[i];
  }
}

/* Appends an op; returns its params for the caller to fill. */
static tsoO_Params *op_add(tsoR_Pattern *pt, int op, int nout, int nin, const tsoR_Ref *in) {
  tsoR_Op *o = &pt->ops[pt->nops++];
  o->op = (uint16_t)op;
  o->nin = (uint8_t)nin;
  o->nout = (uint8_t)nout;
  for (int i = 0; i < nin; i++) o->in[i] = in[i];
  return &o->p;
}

static void out_add(tsoR_Pattern *pt, tsoR_Ref f) { pt->out[pt->nout++] = f; }

/* conv2d parameters as the generator makes them */
static void conv_params(tsoO_Params *p, int act) {
  p->win.sh = p->win.sw = p->win.dh = p->win.dw = 1;
  p->win.group = 1;
  p->win.pad_mode = TSO_PAD_SAME_UPPER;
  p->win.act = act;
}

/* ewadd(x0, x1) => ewadd(x1, x0) */
static void rule_commute(tsoR_Rule *r) {
  static const int k[2] = {TSO_IN_MATRIX, TSO_IN_MATRIX}, rk[2] = {2, 2};
  rule_init(r, TSO_RULE_PROVEN, 2, k, rk);
  op_add(&r->src, TSO_OP_ADD, 1, 2, (tsoR_Ref[]){RX(0), RX(1)});
  out_add(&r->src, RO(0, 0));
  op_add(&r->dst, TSO_OP_ADD, 1, 2, (tsoR_Ref[]){RX(1), RX(0)});
  out_add(&r->dst, RO(0, 0));
}

/* matmul(x0,x1) + matmul(x0,x2) => matmul(x0, x1 + x2) */
static void rule_distrib(tsoR_Rule *r) {
  static const int k[3] = {TSO_IN_MATRIX, TSO_IN_MATRIX, TSO_IN_MATRIX}, rk[3] = {2, 2, 2};
  rule_init(r, TSO_RULE_PROVEN, 3, k, rk);
  op_add(&r->src, TSO_OP_MATMUL, 1, 2, (tsoR_Ref[]){RX(0), RX(1)});
  op_add(&r->src, TSO_OP_MATMUL, 1, 2, (tsoR_Ref[]){RX(0), RX(2)});
  op_add(&r->src, TSO_OP_ADD, 1, 2, (tsoR_Ref[]){RO(0, 0), RO(1, 0)});
  out_add(&r->src, RO(2, 0));
  op_add(&r->dst, TSO_OP_ADD, 1, 2, (tsoR_Ref[]){RX(1), RX(2)});
  op_add(&r->dst, TSO_OP_MATMUL, 1, 2, (tsoR_Ref[]){RX(0), RO(0, 0)});
  out_add(&r->dst, RO(1, 0));
}

/* matmul(x0,x2), matmul(x1,x2) => split(matmul(concat(x0,x1), x2)): two outputs */
static void rule_multi(tsoR_Rule *r) {
  static const int k[3] = {TSO_IN_MATRIX, TSO_IN_MATRIX, TSO_IN_MATRIX}, rk[3] = {2, 2, 2};
  rule_init(r, TSO_RULE_PROVEN, 3, k, rk);
  op_add(&r->src, TSO_OP_MATMUL, 1, 2, (tsoR_Ref[]){RX(0), RX(2)});
  op_add(&r->src, TSO_OP_MATMUL, 1, 2, (tsoR_Ref[]){RX(1), RX(2)});
  out_add(&r->src, RO(0, 0));
  out_add(&r->src, RO(1, 0));
  op_add(&r->dst, TSO_OP_CONCAT, 1, 2, (tsoR_Ref[]){RX(0), RX(1)})->axis.axis = 0;
  op_add(&r->dst, TSO_OP_MATMUL, 1, 2, (tsoR_Ref[]){RO(0, 0), RX(2)});
  tsoO_Params *p = op_add(&r->dst, TSO_OP_SPLIT, 2, 1, (tsoR_Ref[]){RO(1, 0)});
  p->split.axis = 0;
  p->split.sizes[0] = 2; /* two equal parts */
  out_add(&r->dst, RO(2, 0));
  out_add(&r->dst, RO(2, 1));
}

/* relu(conv2d(x0, x1)) => conv2d{act=relu}(x0, x1) */
static void rule_fuse(tsoR_Rule *r) {
  static const int k[2] = {TSO_IN_ACT4, TSO_IN_KERNEL}, rk[2] = {4, 4};
  rule_init(r, TSO_RULE_PROVEN, 2, k, rk);
  conv_params(op_add(&r->src, TSO_OP_CONV2D, 1, 2, (tsoR_Ref[]){RX(0), RX(1)}), TSO_ACT_NONE);
  op_add(&r->src, TSO_OP_RELU, 1, 1, (tsoR_Ref[]){RO(0, 0)});
  out_add(&r->src, RO(1, 0));
  conv_params(op_add(&r->dst, TSO_OP_CONV2D, 1, 2, (tsoR_Ref[]){RX(0), RX(1)}), TSO_ACT_RELU);
  out_add(&r->dst, RO(0, 0));
}

static void prov_init(tsoR_Provenance *pv) {
  memset(pv, 0, sizeof *pv);
  strcpy(pv->tool, "taso-gen 0.1.0");
  strcpy(pv->options, "--max-ops 3 --label \"a b\"\t\\x\n\x01\xe9");
  pv->seed = 0xfedcba9876543210ull;
  for (int i = 0; i < 8; i++) pv->counts[i] = (uint64_t)i * 1000003u + (i == 7 ? UINT64_MAX - 7 : 0);
  pv->seconds = 183.25;
}

/* The text lines of many rules, in canonical form (tsoR_format prints
** each exactly so); together they use every generator operator. */
static const char *const lines[] = {
    "r0 proven x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0",
    "r1 proven x0:act4 x1:kernel | conv2d(x0,x1) ; relu(%0) -> %1 => conv2d{act=relu}(x0,x1) -> %0",
    "r2 proven x0:matrix x1:matrix x2:matrix | matmul(x0,x2) ; matmul(x1,x2) -> %0 %1 => "
    "concat{axis=0}(x0,x1) ; matmul(%0,x2) ; split:2{axis=0,sizes=[3,3]}(%1) -> %2.0 %2.1",
    "r3 proven x0:matrix x1:matrix x2:matrix | matmul(x0,x1) ; matmul(%0,x2) -> %1 => matmul(x1,x2) ; "
    "matmul(x0,%0) -> %1",
    "r4 proven x0:act4 x1:act4 x2:act4 | ewadd(x0,x1) ; ewmul(%0,x2) -> %1 => ewmul(x0,x2) ; ewmul(x1,x2) ; "
    "ewadd(%0,%1) -> %2",
    "r5 proven x0:matrix x1:matrix x2:scalar | matmul(x0,x1) ; smul(%0,x2) -> %1 => smul(x1,x2) ; matmul(x0,%0) "
    "-> %1",
    "r6 proven x0:matrix | transpose{perm=[1,0]}(x0) ; relu(%0) -> %1 => relu(x0) ; transpose{perm=[1,0]}(%0) "
    "-> %1",
    "r7 proven x0:matrix | transpose(x0) ; transpose(%0) -> %1 => x0",
    "r8 proven x0:matrix x1:matrix | concat{axis=1}(x0,x1) ; split:2{axis=1,parts=2}(%0) -> %1.0 %1.1 => x0 x1",
    "r9 proven x0:act4 | maxpool{kernel=3x3}(x0) ; relu(%0) -> %1 => relu(x0) ; maxpool{kernel=3x3}(%0) -> %1",
    "r10 proven x0:act4 | avgpool{kernel=3x3,count_include_pad=1}(x0) -> %0 => "
    "const_pool{dims=4x4x3x3}() ; conv2d(x0,%0) -> %1",
    "r11 proven x0:act4 x1:kernel | conv2d(x0,x1) -> %0 => enlarge{kernel=3x3}(x1) ; conv2d(x0,%0) -> %1",
    "r12 proven x0:act4 | const_ikernel{dims=4x4x3x3}() ; conv2d(x0,%0) -> %1 => x0",
    "r13 proven x0:matrix | const_imatrix{dims=4x4}() ; matmul(x0,%0) -> %1 => x0",
    "r14 candidate x0:matrix | const_ones{dims=2x4}() ; ewmul(x0,%0) -> %1 => x0",
    "r15 refuted x0:act4 x1:kernel | conv2d{stride=2x2,pad=explicit,pads=[1,0,1,0],dil=2x1,group=2}(x0,x1) -> "
    "%0 => conv2d{kernel=3x3,pad=valid,group=0,act=7}(x0,x1) -> %0",
    "r16 unknown x0:act4 | maxpool{kernel=2x2,stride=2x2,pad=valid,ceil_mode=1}(x0) ; "
    "avgpool{kernel=3x1,pad=same_lower,dil=1x2}(%0) -> %1 => avgpool{kernel=3x1,pad=same_lower}(x0) -> %0",
    "r17 proven x0:any/3 x1:matrix/3 | gemm{trans_b=1,w2=1065353216,w3=-4}(x0,x1) ; "
    "sigmoid(%0) ; tanh(%1) -> %2 => tanh(x0) -> %0",
    "r18 proven x0:act4 | split:3{axis=1,w3=5}(x0) ; concat{axis=1}(%0.2,%0.0,%0.1) -> %1 => "
    "split:3{axis=2,sizes=[1,1,2],w6=9}(x0) ; ewadd(%0.0,%0.1) -> %1",
    "r19 proven x0:act4 | maxpool:2{kernel=3x3}(x0) -> %0.1 => relu(x0) -> %0",
    "r20 proven x0:act4 x1:act4 | ewadd(x0,x1) ; relu(%0) ; relu(%0) -> %1 %2 => ewadd(x1,x0) ; relu(%0) -> %1 %1",
    "r21 proven | const_ones{dims=2}() ; const_ones{dims=2}() ; ewadd(%0,%1) -> %2 => "
    "const_ones{dims=2}() ; smul(%0,%0) -> %1",
};
#define NLINES ((int)(sizeof lines / sizeof lines[0]))

/* Parses every line into s (with provenance); 0 on success. */
static int make_set(tsoR_Set *s) {
  char err[TSO_ERRMAX];
  memset(s, 0, sizeof *s);
  prov_init(&s->prov);
  for (int i = 0; i < NLINES; i++) {
    tsoR_Rule r;
    tso_status st = tsoR_parse_text(lines[i], &r, err);
    if (st) {
      fprintf(stderr, "line %d: %s\n", i, err);
      return -1;
    }
    if (tsoR_set_add(s, &r)) return -1;
  }
  return 0;
}

/* ---- tests ----------------------------------------------------------- */

static void test_set(void) {
  tsoR_Set s;
  tsoR_Rule r;
  memset(&s, 0, sizeof s);
  rule_commute(&r);
  for (int i = 0; i < 40; i++) {
    r.id = 999;
    EXPECT(tsoR_set_add(&s, &r) == TSO_OK);
  }
  EXPECT(s.n == 40 && s.cap >= 40);
  for (uint32_t i = 0; i < s.n; i++) EXPECT(s.r[i].id == i);
  tsoR_set_free(&s);
  EXPECT(s.n == 0 && s.cap == 0 && s.r == NULL);
  tsoR_set_free(&s); /* twice is fine */
  tsoR_set_free(NULL);
}

/* Applies a damage to a copy of a good rule and expects tsoR_check to
** refuse it with a message containing sub. */
#define BAD(code, sub)                                      \
  do {                                                      \
    tsoR_Rule r = good;                                     \
    code;                                                   \
    EXPECT_ERR(tsoR_check(&r, err), err, sub);              \
    EXPECT(tsoR_check(&r, err) == TSO_ERR_INVALID);         \
  } while (0)

static void test_check(void) {
  char err[TSO_ERRMAX];
  tsoR_Rule good, r2;
  rule_distrib(&good);
  EXPECT(tsoR_check(&good, err) == TSO_OK);
  rule_multi(&r2);
  EXPECT(tsoR_check(&r2, err) == TSO_OK);
  rule_fuse(&r2);
  EXPECT(tsoR_check(&r2, err) == TSO_OK);
  BAD(r.status = 4, "unknown status");
  BAD(r.nin = 9, "pattern inputs");
  BAD(r.pad_[1] = 1, "padding");
  BAD(r.in_kind[1] = 5, "unknown kind 5 (role 5)");
  BAD(r.in_kind[1] = 255, "unknown kind 255 (role 7)");
  {
    /* any subclass of a known role is a kind */
    tsoR_Rule r = good;
    r.in_kind[1] = tsoR_in_kind(TSO_IN_MATRIX, TSO_IN_MAX_SUB);
    EXPECT(tsoR_check(&r, err) == TSO_OK);
    r.in_kind[1] = tsoR_in_kind(TSO_IN_SCALAR, 1);
    EXPECT(tsoR_check(&r, err) == TSO_OK);
  }
  BAD(r.in_rank[0] = 9, "rank 9");
  BAD(r.in_kind[5] = 1, "unused input slot 5");
  BAD(r.src.pad_[0] = 1, "padding");
  BAD(r.src.nops = 7, "7 ops");
  BAD(r.dst.nout = 0, "0 outputs");
  BAD(r.dst.nout = 5, "5 outputs");
  BAD(r.src.ops[0].op = 0, "operator id 0");
  BAD(r.src.ops[0].op = 200, "operator id 200");
  BAD(r.src.ops[0].op = TSO_OP_OPAQUE, "cannot appear");
  BAD(r.src.ops[0].op = TSO_OP_CONSTANT, "cannot appear");
  BAD(r.src.ops[0].nin = 1, "matmul with 1 inputs");
  BAD(r.src.ops[0].nout = 2, "matmul with 2 outputs");
  BAD(r.src.ops[1].in[1] = RX(3), "input x3, the rule has 3 inputs");
  BAD(r.src.ops[1].in[1].slot = 1, "input x2 with output slot 1");
  BAD(r.src.ops[1].in[1] = RO(1, 0), "op 1 is not an earlier op");
  BAD(r.src.ops[2].in[1] = RO(1, 1), "op 1 has no output 1");
  BAD(r.src.ops[2].in[1].kind = TSO_REF_NONE, "missing");
  BAD(r.src.ops[2].in[1].kind = 7, "unknown ref kind 7");
  BAD(r.src.ops[2].in[1].pad_ = 1, "padding byte");
  BAD(r.src.ops[2].in[3] = RX(0), "unused input 3");
  BAD(r.src.ops[4].p.raw[3] = 1, "unused op 4");
  BAD(r.src.out[1] = RX(0), "unused output 1");
  BAD(r.src.out[0] = RO(3, 0), "op 3 is not an earlier op");
  BAD(out_add(&r.src, RO(2, 0)), "the source has 2 outputs, the target 1");
  BAD((out_add(&r.src, RO(2, 0)), r.src.out[0] = RX(0), out_add(&r.dst, RO(1, 0))),
      "source output 0 is a pattern input");
  BAD((out_add(&r.src, RO(2, 0)), out_add(&r.dst, RO(1, 0))), "the same value");
  BAD(r.src.out[0] = RO(1, 0), "none of its outputs is used");
  BAD((r.dst.ops[0].in[1] = RX(1), r.src.ops[1].in[1] = RX(1)), "x2 is used by neither side");
  BAD(memset(&r.src, 0, sizeof r.src), "outputs");
  /* an empty source with an output is refused too */
  BAD((memset(&r.src, 0, sizeof r.src), out_add(&r.src, RX(0))), "source pattern has no ops");
  /* an input used by one side only is fine, and so is a target with no op */
  tsoR_Rule r;
  rule_init(&r, TSO_RULE_PROVEN, 2, (int[]){1, 1}, (int[]){2, 2});
  op_add(&r.src, TSO_OP_CONCAT, 1, 2, (tsoR_Ref[]){RX(0), RX(1)});
  op_add(&r.src, TSO_OP_SPLIT, 2, 1, (tsoR_Ref[]){RO(0, 0)})->split.sizes[0] = 2;
  out_add(&r.src, RO(1, 0));
  out_add(&r.dst, RX(0));
  EXPECT(tsoR_check(&r, err) == TSO_OK);
}

/* Patches the checksum after a change so that the reader goes past it. */
static void fix_sum(uint8_t *b, size_t len) {
  uint64_t h = XXH64(b, len - 8, 0);
  for (int i = 0; i < 8; i++) b[len - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
}

static void store_le(uint8_t *b, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int same_prov(const tsoR_Provenance *a, const tsoR_Provenance *b) {
  return !strcmp(a->tool, b->tool) && !strcmp(a->options, b->options) && a->seed == b->seed &&
         !memcmp(a->counts, b->counts, sizeof a->counts) && !memcmp(&a->seconds, &b->seconds, sizeof a->seconds);
}

static int same_rules(const tsoR_Set *a, const tsoR_Set *b) {
  return a->n == b->n && (a->n == 0 || !memcmp(a->r, b->r, a->n * sizeof *a->r));
}

static void test_binary(void) {
  char err[TSO_ERRMAX];
  tsoR_Set s, t;
  uint8_t *buf, *buf2;
  size_t len, len2;
  EXPECT(make_set(&s) == 0);
  EXPECT(tsoR_serialize(&s, &buf, &len, err) == TSO_OK);
  EXPECT(tsoR_serialize(&s, &buf2, &len2, err) == TSO_OK);
  EXPECT(len == len2 && !memcmp(buf, buf2, len)); /* deterministic */
  free(buf2);
  EXPECT(memcmp(buf, "\x89TSR\r\n\x1a\n", 8) == 0);
  EXPECT(tsoR_parse(buf, len, &t, err) == TSO_OK);
  EXPECT(same_rules(&s, &t) && same_prov(&s.prov, &t.prov));
  EXPECT(tsoR_serialize(&t, &buf2, &len2, err) == TSO_OK);
  EXPECT(len == len2 && !memcmp(buf, buf2, len)); /* parse -> serialize: same bytes */
  free(buf2);
  tsoR_set_free(&t);

  /* an empty set */
  tsoR_Set e;
  memset(&e, 0, sizeof e);
  EXPECT(tsoR_serialize(&e, &buf2, &len2, err) == TSO_OK);
  EXPECT(tsoR_parse(buf2, len2, &t, err) == TSO_OK && t.n == 0);
  free(buf2);

  /* the writer refuses what the reader would */
  tsoR_Set bad = s;
  tsoR_Rule *copy = malloc(s.n * sizeof *copy);
  memcpy(copy, s.r, s.n * sizeof *copy);
  bad.r = copy;
  copy[3].status = 9;
  EXPECT_ERR(tsoR_serialize(&bad, &buf2, &len2, err), err, "invalid rule 3: unknown status");
  copy[3].status = 0;
  memset(bad.prov.tool, 'a', sizeof bad.prov.tool);
  EXPECT_ERR(tsoR_serialize(&bad, &buf2, &len2, err), err, "not NUL-terminated");
  free(copy);

  /* where the first rule starts, for crafted damage */
  size_t prov = 1 + strlen(s.prov.tool) + 2 + strlen(s.prov.options) + 8 + 64 + 8;
  size_t rule0 = 44 + prov;
  uint8_t *c = malloc(len + 16);
  tso_status st;

  /* not a rule file, in its several kinds */
  EXPECT_ERR(tsoR_parse("", 0, &t, err), err, "empty");
  EXPECT_ERR(tsoR_parse("hello, world", 12, &t, err), err, "not a rule file (bad magic)");
  EXPECT_ERR(tsoR_parse("# taso rules\nr0 proven", 22, &t, err), err, "looks like the text form");
  memcpy(c, buf, len);
  memmove(c + 4, c + 5, len - 5); /* \r\n -> \n */
  EXPECT_ERR(tsoR_parse(c, len - 1, &t, err), err, "text-mode");
  memcpy(c, buf, len);
  c[0] &= 0x7f;
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "high bit");

  /* truncation at every offset */
  for (size_t k = 0; k < len; k++) {
    memcpy(c, buf, k);
    st = tsoR_parse(c, k, &t, err);
    EXPECT(st != TSO_OK);
    if (k == 0) EXPECT(strstr(err, "empty"));
    else if (!strstr(err, "truncated")) {
      fprintf(stderr, "cut at %zu: %s\n", k, err);
      failures++;
    }
  }
  /* trailing bytes */
  memcpy(c, buf, len);
  c[len] = 0;
  EXPECT_ERR(tsoR_parse(c, len + 1, &t, err), err, "trailing bytes: 1 after the end");
  /* a newer version */
  memcpy(c, buf, len);
  c[8] = 2;
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "unsupported format version 2");
  /* byte order and sentinels */
  memcpy(c, buf, len);
  store_le(c + 12, 0x78563412u, 4);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "wrong byte order");
  memcpy(c, buf, len);
  c[16] ^= 1;
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "floating-point sentinel");
  memcpy(c, buf, len);
  c[13] ^= 1;
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "integer sentinel");
  memcpy(c, buf, len);
  store_le(c + 24, 10, 8);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "file size 10 is impossible");
  /* checksum */
  memcpy(c, buf, len);
  c[rule0 + 3] ^= 0x40;
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "checksum mismatch");
  memcpy(c, buf, len);
  c[len - 1] ^= 1;
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "checksum mismatch");
  /* another operator table */
  memcpy(c, buf, len);
  c[32] ^= 0x5a;
  fix_sum(c, len);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "made with another operator table");
  EXPECT(strstr(err, "regenerate it") != NULL);
  /* flags */
  memcpy(c, buf, len);
  c[10] = 1;
  fix_sum(c, len);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "unsupported flags");
  /* huge counts */
  memcpy(c, buf, len);
  store_le(c + 40, 0xffffffffu, 4);
  fix_sum(c, len);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "rule count 4294967295 too large for a file");
  memcpy(c, buf, len);
  c[44] = 200; /* tool name length */
  fix_sum(c, len);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "invalid provenance");
  /* an invalid rule, named by its number */
  memcpy(c, buf, len);
  c[rule0] = 7; /* status of rule 0 */
  fix_sum(c, len);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "invalid rule 0: unknown status 7");
  /* one rule fewer than the count says: the last one runs into the checksum */
  memcpy(c, buf, len);
  store_le(c + 40, s.n + 1, 4);
  fix_sum(c, len);
  EXPECT_ERR(tsoR_parse(c, len, &t, err), err, "truncated: rule 22 of 23 runs past the end");
  /* junk between the last rule and the checksum */
  memcpy(c, buf, len - 8);
  c[len - 8] = 0;
  store_le(c + 24, len + 1, 8);
  fix_sum(c, len + 1);
  EXPECT_ERR(tsoR_parse(c, len + 1, &t, err), err, "trailing bytes: 1 after the last rule");

  /* random damage: never a crash; with the checksum intact it is always
  ** refused; with it recomputed the file may read, and then it rewrites
  ** to exactly the damaged bytes (the encoding is canonical) */
  uint64_t seed = (uint64_t)time(NULL);
  printf("random damage seed %llu\n", (unsigned long long)seed);
  rng_state = seed | 1;
  int accepted = 0;
  for (int it = 0; it < 20000; it++) {
    memcpy(c, buf, len);
    int flips = 1 + (int)(rnd() % 3);
    for (int f = 0; f < flips; f++) {
      size_t at = it & 1 ? rule0 + rnd() % (len - 8 - rule0) : rnd() % len;
      c[at] ^= (uint8_t)(1u << (rnd() % 8));
    }
    if (!memcmp(c, buf, len)) continue;
    if (it % 4 == 0) {
      EXPECT(tsoR_parse(c, len, &t, err) != TSO_OK);
      continue;
    }
    fix_sum(c, len);
    if (tsoR_parse(c, len, &t, err) != TSO_OK) continue;
    accepted++;
    EXPECT(tsoR_serialize(&t, &buf2, &len2, err) == TSO_OK);
    EXPECT(len2 == len && !memcmp(buf2, c, len));
    free(buf2);
    tsoR_set_free(&t);
  }
  printf("random damage: %d damaged files still valid, all rewritten byte for byte\n", accepted);
  free(c);
  free(buf);
  tsoR_set_free(&s);
}

static void test_files(const char *dir) {
  char err[TSO_ERRMAX], path[512];
  tsoR_Set s, t;
  EXPECT(make_set(&s) == 0);
  snprintf(path, sizeof path, "%s/test_rules.bin", dir);
  EXPECT(tsoR_write(&s, path, err) == TSO_OK);
  EXPECT(tsoR_write(&s, path, err) == TSO_OK); /* replaces */
  EXPECT(tsoR_read(path, &t, err) == TSO_OK);
  EXPECT(same_rules(&s, &t) && same_prov(&s.prov, &t.prov));
  tsoR_set_free(&t);
  snprintf(path, sizeof path, "%s/no/such/dir/x.bin", dir);
  EXPECT(tsoR_write(&s, path, err) == TSO_ERR_IO);
  EXPECT_ERR(tsoR_read(path, &t, err), err, "cannot open");
  EXPECT(tsoR_read(path, &t, err) == TSO_ERR_IO);
  tsoR_set_free(&s);
}

static void test_text(void) {
  char err[TSO_ERRMAX], buf[4096];
  tsoR_Rule r, q;
  /* every canonical line: parse, format back to the same text, parse to the same bytes */
  for (int i = 0; i < NLINES; i++) {
    tso_status st = tsoR_parse_text(lines[i], &r, err);
    if (st) {
      fprintf(stderr, "line %d: %s\n", i, err);
      failures++;
      continue;
    }
    EXPECT(tsoR_format(&r, buf, sizeof buf) == TSO_OK);
    if (strcmp(buf, lines[i])) {
      fprintf(stderr, "format changed line %d:\n  %s\n  %s\n", i, lines[i], buf);
      failures++;
    }
    EXPECT(tsoR_parse_text(buf, &q, err) == TSO_OK && !memcmp(&r, &q, sizeof r));
  }
  /* rules built by hand print as documented and parse back to their bytes */
  void (*mk[4])(tsoR_Rule *) = {rule_commute, rule_fuse, rule_distrib, rule_multi};
  const char *want[4] = {
      lines[0],
      "r0 proven x0:act4 x1:kernel | conv2d(x0,x1) ; relu(%0) -> %1 => conv2d{act=relu}(x0,x1) -> %0",
      "r0 proven x0:matrix x1:matrix x2:matrix | matmul(x0,x1) ; matmul(x0,x2) ; ewadd(%0,%1) -> %2 => "
      "ewadd(x1,x2) ; matmul(x0,%0) -> %1",
      "r0 proven x0:matrix x1:matrix x2:matrix | matmul(x0,x2) ; matmul(x1,x2) -> %0 %1 => "
      "concat{axis=0}(x0,x1) ; matmul(%0,x2) ; split:2{axis=0,parts=2}(%1) -> %2.0 %2.1"};
  for (int i = 0; i < 4; i++) {
    mk[i](&r);
    EXPECT(tsoR_format(&r, buf, sizeof buf) == TSO_OK);
    if (strcmp(buf, want[i])) {
      fprintf(stderr, "rule %d prints as\n  %s\nnot\n  %s\n", i, buf, want[i]);
      failures++;
    }
    EXPECT(tsoR_parse_text(buf, &q, err) == TSO_OK && !memcmp(&r, &q, sizeof r));
  }
  /* every parameter word survives, whatever its value */
  rule_fuse(&r);
  for (int k = 0; k < 32; k++) r.dst.ops[0].p.raw[k] = (int32_t)(k * 7919 - 100000);
  r.dst.ops[0].p.raw[12] = 2; /* pad mode by name */
  EXPECT(tsoR_format(&r, buf, sizeof buf) == TSO_OK);
  EXPECT(tsoR_parse_text(buf, &q, err) == TSO_OK && !memcmp(&r, &q, sizeof r));
  for (int op = TSO_OP_CONV2D; op < TSO_OP__END; op++) {
    const tsoO_Info *oi = tsoO_info(op);
    if (oi->min_in > 1 || oi->max_in < 1 || op == TSO_OP_CONSTANT) continue;
    tsoR_Rule u;
    rule_init(&u, TSO_RULE_CANDIDATE, 1, (int[]){0}, (int[]){4});
    tsoO_Params *p = op_add(&u.src, op, oi->min_out, 1, (tsoR_Ref[]){RX(0)});
    for (int k = 0; k < 32; k++) p->raw[k] = (int32_t)(rnd() % 7) - 2;
    out_add(&u.src, RO(0, 0));
    out_add(&u.dst, RX(0));
    EXPECT(tsoR_format(&u, buf, sizeof buf) == TSO_OK);
    if (tsoR_parse_text(buf, &q, err) != TSO_OK || memcmp(&u, &q, sizeof u)) {
      fprintf(stderr, "%s: %s\n  %s\n", oi->name, buf, err);
      failures++;
    }
  }
  /* a split whose part count is not positive prints as raw words, and reads back */
  {
    tsoR_Rule u;
    rule_init(&u, TSO_RULE_CANDIDATE, 1, (int[]){0}, (int[]){4});
    tsoO_Params *p = op_add(&u.src, TSO_OP_SPLIT, 1, 1, (tsoR_Ref[]){RX(0)});
    p->split.sizes[0] = -1;
    out_add(&u.src, RO(0, 0));
    out_add(&u.dst, RX(0));
    EXPECT(tsoR_format(&u, buf, sizeof buf) == TSO_OK && !strstr(buf, "parts="));
    EXPECT(tsoR_parse_text(buf, &q, err) == TSO_OK && !memcmp(&u, &q, sizeof u));
  }
  /* a small buffer is refused, never overrun */
  rule_multi(&r);
  EXPECT(tsoR_format(&r, buf, 20) == TSO_ERR_LIMIT && strlen(buf) < 20);
  /* blanks and line ends are free */
  EXPECT(tsoR_parse_text("  r0   proven  x0:matrix x1:matrix|ewadd( x0 , x1 )->%0=>ewadd(x1,x0)  ->  %0 \r\n", &r,
                         err) == TSO_OK);
  rule_commute(&q);
  EXPECT(!memcmp(&r, &q, sizeof r));
  /* errors name the column */
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | matmull(x0,x0) -> %0 => x0", &r, err), err,
             "column 23: unknown operator 'matmull'");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:act4 | maxpool{kernal=3x3}(x0) -> %0 => x0", &r, err), err,
             "column 29: unknown parameter 'kernal' for maxpool");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:act4 | maxpool{pad=sane}(x0) -> %0 => x0", &r, err), err,
             "column 33: unknown value 'sane' for pad");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:act4 | maxpool{kernel=3}(x0) -> %0 => x0", &r, err), err,
             "expected 2 values");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:act4 | maxpool{kernel=3x3,w0=3}(x0) -> %0 => x0", &r, err), err,
             "repeats or overlaps");
  EXPECT_ERR(tsoR_parse_text("r0 proven x1:matrix | relu(x1) -> %0 => x1", &r, err), err,
             "column 11: expected input x0 here");
  EXPECT_ERR(tsoR_parse_text("r0 proved x0:matrix | relu(x0) -> %0 => x0", &r, err), err, "column 4: expected a status");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix relu(x0) -> %0 => x0", &r, err), err, "column 21");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:blob | relu(x0) -> %0 => x0", &r, err), err, "unknown input kind");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:any | relu(x0) -> %0 => x0", &r, err), err, "rank is missing");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu(x0) %0 => x0", &r, err), err, "expected '->'");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu(x0) -> %0 => x0 junk", &r, err), err, "column 44");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu(x0) -> %0 x0", &r, err), err, "expected '=>'");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu(x0) -> %0 => x0 x0", &r, err), err,
             "invalid rule: the source has 1 outputs, the target 2");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu(x0) -> %1 => x0", &r, err), err, "invalid rule");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu(x0) -> %0 => x0 %", &r, err), err, "expected a number");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | relu{axis=99999999999}(x0) -> %0 => x0", &r, err), err,
             "unknown parameter");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix | concat{axis=99999999999}(x0) -> %0 => x0", &r, err), err,
             "out of range");
  EXPECT_ERR(tsoR_parse_text("", &r, err), err, "column 1: expected the rule label");
}

/* Subclasses of input kinds (kind byte = role | subclass << 3): their
** text form, both round trips, and the errors. */
static void test_subclasses(void) {
  char err[TSO_ERRMAX], buf[4096];
  const char *const sub_lines[] = {
      "r0 proven x0:matrix x1:matrix.1 x2:matrix.1 | concat{axis=1}(x1,x2) ; matmul(x0,%0) ; "
      "split:2{axis=1,parts=2}(%1) -> %2.0 %2.1 => matmul(x0,x2) ; matmul(x0,x1) -> %1 %0",
      "r1 proven x0:kernel x1:act4 x2:kernel.1 | conv2d{kernel=3x3}(x1,x0) ; conv2d{kernel=3x3}(x1,x2) ; "
      "concat{axis=1}(%1,%0) -> %2 => concat{axis=0}(x2,x0) ; conv2d{kernel=3x3}(x1,%0) -> %1",
      "r2 proven x0:any.2/3 x1:matrix.31/3 x2:scalar.1 x3:scalar | ewadd(x0,x1) ; smul(%0,x2) ; smul(%1,x3) "
      "-> %2 => x0",
  };
  tsoR_Set s, t;
  memset(&s, 0, sizeof s);
  memset(&t, 0, sizeof t);
  for (int i = 0; i < 3; i++) {
    tsoR_Rule r, q;
    EXPECT(tsoR_parse_text(sub_lines[i], &r, err) == TSO_OK);
    EXPECT(tsoR_format(&r, buf, sizeof buf) == TSO_OK && !strcmp(buf, sub_lines[i]));
    EXPECT(tsoR_parse_text(buf, &q, err) == TSO_OK && !memcmp(&r, &q, sizeof r));
    EXPECT(tsoR_set_add(&s, &r) == TSO_OK);
  }
  tsoR_Rule r;
  EXPECT(tsoR_parse_text(sub_lines[0], &r, err) == TSO_OK);
  EXPECT(r.in_kind[0] == TSO_IN_MATRIX && r.in_kind[1] == 9 && r.in_kind[2] == 9 && r.in_rank[1] == 2);
  EXPECT(tsoR_in_role(r.in_kind[1]) == TSO_IN_MATRIX && tsoR_in_sub(r.in_kind[1]) == 1);
  EXPECT(tsoR_parse_text(sub_lines[2], &r, err) == TSO_OK);
  EXPECT(r.in_kind[0] == tsoR_in_kind(TSO_IN_ANY, 2) && r.in_rank[0] == 3 && r.in_kind[1] == 249 &&
         r.in_kind[2] == 12 && r.in_rank[2] == 0);
  /* the binary file keeps the kind bytes */
  uint8_t *bin = NULL;
  size_t len = 0;
  EXPECT(tsoR_serialize(&s, &bin, &len, err) == TSO_OK);
  EXPECT(bin && tsoR_parse(bin, len, &t, err) == TSO_OK && t.n == 3 && !memcmp(s.r, t.r, 3 * sizeof *s.r));
  free(bin);
  /* a numeric kind reads as its role and subclass (the writer names them) */
  EXPECT(tsoR_parse_text("r0 proven x0:matrix x1:9 | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0", &r, err) == TSO_OK);
  EXPECT(r.in_kind[1] == 9 && r.in_rank[1] == 2);
  EXPECT(tsoR_format(&r, buf, sizeof buf) == TSO_OK && strstr(buf, "x1:matrix.1 |"));
  EXPECT(tsoR_parse_text("r0 proven x0:matrix x1:1.1 | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0", &r, err) == TSO_OK);
  EXPECT(r.in_kind[1] == 9);
  /* errors */
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix.32 | relu(x0) -> %0 => x0", &r, err), err,
             "column 21: 32 is out of range [0, 31]");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:9.1 | relu(x0) -> %0 => x0", &r, err), err,
             "a subclass after kind 9, which has one");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:matrix. | relu(x0) -> %0 => x0", &r, err), err, "expected a number");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:any.1 | relu(x0) -> %0 => x0", &r, err), err, "rank is missing");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:13 | relu(x0) -> %0 => x0", &r, err), err, "rank is missing");
  EXPECT_ERR(tsoR_parse_text("r0 proven x0:13/2 | relu(x0) -> %0 => x0", &r, err), err, "unknown kind 13 (role 5)");
  tsoR_set_free(&s);
  tsoR_set_free(&t);
}

/* Damaged text lines: never a crash; what still parses formats and
** parses back to the same bytes. */
static void test_text_damage(void) {
  static const char alphabet[] = " x%0123456789.,;:{}()[]=>-|#ra_\"\\\t\r\n\x80";
  char err[TSO_ERRMAX], buf[8192], out[8192];
  tsoR_Rule r, q;
  int accepted = 0;
  for (int i = 0; i < NLINES; i++) {
    size_t n = strlen(lines[i]);
    for (size_t k = 0; k < n; k++) { /* every prefix */
      memcpy(buf, lines[i], k);
      buf[k] = 0;
      if (tsoR_parse_text(buf, &r, err) == TSO_OK) accepted++;
    }
    for (int it = 0; it < 400; it++) {
      memcpy(buf, lines[i], n + 1);
      int edits = 1 + (int)(rnd() % 3);
      for (int e = 0; e < edits; e++) {
        size_t at = rnd() % n;
        buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
      }
      if (tsoR_parse_text(buf, &r, err) != TSO_OK) continue;
      accepted++;
      EXPECT(tsoR_format(&r, out, sizeof out) == TSO_OK);
      EXPECT(tsoR_parse_text(out, &q, err) == TSO_OK && !memcmp(&r, &q, sizeof r));
    }
  }
  printf("damaged text: %d variants still parse, all round-trip\n", accepted);
}

static void test_text_set(void) {
  char err[TSO_ERRMAX];
  tsoR_Set s, t;
  const double secs[] = {183.25, 0.1, 1e300, -0.0, 0.0, 5e-324, NAN, INFINITY};
  EXPECT(make_set(&s) == 0);
  for (int i = 0; i < (int)(sizeof secs / sizeof secs[0]); i++) {
    char *text = NULL;
    size_t tlen = 0;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    s.prov.seconds = secs[i];
    if (i == 1) s.prov.options[0] = 0;
    FILE *f = open_memstream(&text, &tlen);
    EXPECT(f && tsoR_write_text(&s, f, err) == TSO_OK);
    fclose(f);
    if (i == 0) EXPECT(strstr(text, "\n# seconds: 183.25\n") && strstr(text, "\n# rules: 22\n"));
    EXPECT(tsoR_parse_text_set(text, tlen, &t, err) == TSO_OK);
    EXPECT(same_rules(&s, &t) && same_prov(&s.prov, &t.prov));
    EXPECT(tsoR_serialize(&s, &a, &alen, err) == TSO_OK && tsoR_serialize(&t, &b, &blen, err) == TSO_OK);
    EXPECT(alen == blen && !memcmp(a, b, alen));
    free(a);
    free(b);
    tsoR_set_free(&t);
    if (i == 0) {
      /* a rule line lost: the header count says so */
      char *cut = strstr(text, "\nr21 ");
      EXPECT(cut != NULL);
      if (cut) EXPECT_ERR(tsoR_parse_text_set(text, (size_t)(cut - text) + 1, &t, err), err,
                          "the header says 22 rules, the text has 21");
      /* an error names the line */
      char *bad = strstr(text, "r3 proven");
      if (bad) bad[3] = 'X';
      EXPECT_ERR(tsoR_parse_text_set(text, tlen, &t, err), err, "line 12: column 4");
    }
    free(text);
  }
  const char *dup = "# seed: 1\n# seed: 2\n";
  EXPECT_ERR(tsoR_parse_text_set(dup, strlen(dup), &t, err), err, "line 2: column 3: 'seed' given twice");
  const char *bq = "# tool: \"abc\n";
  EXPECT_ERR(tsoR_parse_text_set(bq, strlen(bq), &t, err), err, "unterminated string");
  const char *longtool = "# tool: \"0123456789012345678901234567890123\"\n";
  EXPECT_ERR(tsoR_parse_text_set(longtool, strlen(longtool), &t, err), err, "longer than 31 bytes");
  const char *free_comments = "# a note: anything\n\n#\n# counts of this and that\n";
  EXPECT(tsoR_parse_text_set(free_comments, strlen(free_comments), &t, err) == TSO_OK && t.n == 0);
  tsoR_set_free(&s);
}

/* Evaluates side of r on the inputs; returns malloc'd copies of the outputs. */
static int eval_side(const tsoR_Rule *r, int side, const tsoO_Shape *shapes, float *const *in, float **outs,
                     int64_t *outn) {
  char err[TSO_ERRMAX];
  tsoI_Graph *g;
  if (tsoR_instantiate(r, side, shapes, &g, err) != TSO_OK) {
    fprintf(stderr, "instantiate side %d: %s\n", side, err);
    return -1;
  }
  tsoO_Value *vals = calloc((size_t)g->nt, sizeof *vals);
  for (int i = 0; i < g->ninputs; i++) vals[g->inputs[i]] = (tsoO_Value){TSO_DT_FLOAT, shapes[i], in[i]};
  int rc = 0;
  if (tsoI_eval(g, vals, 0, NULL, NULL) != TSO_OK) {
    fprintf(stderr, "eval side %d: %s\n", side, g->err);
    rc = -1;
  }
  for (int i = 0; rc == 0 && i < g->noutputs; i++) {
    const tsoO_Value *v = &vals[g->outputs[i]];
    outn[i] = tsoO_numel(&v->shape);
    outs[i] = malloc((size_t)outn[i] * sizeof(float) + 1);
    memcpy(outs[i], v->data, (size_t)outn[i] * sizeof(float));
  }
  tsoI_eval_free(g, vals, 0);
  free(vals);
  tsoI_free(g);
  return rc;
}

/* Both sides of r on random inputs of the given shapes agree within tol. */
static void check_equal_sides(const tsoR_Rule *r, const tsoO_Shape *shapes, double tol) {
  float *in[TSO_RULE_MAX_IN] = {0}, *a[TSO_RULE_MAX_OUT] = {0}, *b[TSO_RULE_MAX_OUT] = {0};
  int64_t an[TSO_RULE_MAX_OUT], bn[TSO_RULE_MAX_OUT];
  for (int i = 0; i < r->nin; i++) {
    int64_t n = tsoO_numel(&shapes[i]);
    in[i] = malloc((size_t)n * sizeof(float) + 1);
    for (int64_t k = 0; k < n; k++) in[i][k] = (float)((double)(rnd() % 2001) / 1000.0 - 1.0);
  }
  int ok = eval_side(r, 0, shapes, in, a, an) == 0 && eval_side(r, 1, shapes, in, b, bn) == 0;
  EXPECT(ok);
  for (int i = 0; ok && i < r->src.nout; i++) {
    EXPECT(an[i] == bn[i] && an[i] > 0);
    double worst = 0;
    for (int64_t k = 0; k < an[i] && an[i] == bn[i]; k++) worst = fmax(worst, fabs((double)a[i][k] - b[i][k]));
    if (worst > tol) {
      fprintf(stderr, "output %d differs by %g\n", i, worst);
      failures++;
    }
  }
  for (int i = 0; i < TSO_RULE_MAX_OUT; i++) {
    free(a[i]);
    free(b[i]);
  }
  for (int i = 0; i < r->nin; i++) free(in[i]);
}

static tsoO_Shape shp(int rank, int64_t a, int64_t b, int64_t c, int64_t d) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = rank;
  s.d[0] = a;
  s.d[1] = b;
  s.d[2] = c;
  s.d[3] = d;
  return s;
}

static void test_instantiate(void) {
  char err[TSO_ERRMAX];
  tsoR_Rule r;
  tsoI_Graph *g;
  uint64_t seed = (uint64_t)time(NULL) * 2654435761u;
  printf("instantiate seed %llu\n", (unsigned long long)seed);
  rng_state = seed | 1;
  rule_commute(&r);
  tsoO_Shape m34[3] = {shp(2, 3, 4, 0, 0), shp(2, 3, 4, 0, 0), shp(2, 3, 4, 0, 0)};
  check_equal_sides(&r, m34, 0.0);
  rule_distrib(&r);
  tsoO_Shape mm[3] = {shp(2, 3, 5, 0, 0), shp(2, 5, 4, 0, 0), shp(2, 5, 4, 0, 0)};
  check_equal_sides(&r, mm, 1e-5);
  rule_multi(&r);
  tsoO_Shape mc[3] = {shp(2, 3, 5, 0, 0), shp(2, 3, 5, 0, 0), shp(2, 5, 4, 0, 0)};
  check_equal_sides(&r, mc, 1e-5);
  rule_fuse(&r);
  tsoO_Shape cv[2] = {shp(4, 2, 3, 6, 5), shp(4, 4, 3, 3, 3)};
  check_equal_sides(&r, cv, 1e-5);
  /* text rules with constants and identity targets */
  const int from_text[] = {7, 8, 10, 11, 12, 13};
  tsoO_Shape act[2] = {shp(4, 2, 4, 5, 5), shp(4, 4, 4, 1, 1)};
  tsoO_Shape mat[2] = {shp(2, 3, 4, 0, 0), shp(2, 3, 4, 0, 0)};
  for (int i = 0; i < (int)(sizeof from_text / sizeof from_text[0]); i++) {
    EXPECT(tsoR_parse_text(lines[from_text[i]], &r, err) == TSO_OK);
    check_equal_sides(&r, r.in_kind[0] == TSO_IN_ACT4 ? act : mat, 1e-5);
  }
  /* shapes the pattern cannot take */
  rule_distrib(&r);
  tsoO_Shape bad[3] = {shp(2, 3, 5, 0, 0), shp(2, 6, 4, 0, 0), shp(2, 6, 4, 0, 0)};
  EXPECT(tsoR_instantiate(&r, 0, bad, &g, err) == TSO_ERR_SHAPE && g == NULL);
  EXPECT(strlen(err) > 0);
  tsoO_Shape rank3[3] = {shp(3, 3, 5, 1, 0), shp(2, 5, 4, 0, 0), shp(2, 5, 4, 0, 0)};
  EXPECT_ERR(tsoR_instantiate(&r, 1, rank3, &g, err), err, "x0 has rank 3");
  EXPECT(tsoR_instantiate(&r, 2, mm, &g, err) == TSO_ERR_ARG);
  r.status = 9;
  EXPECT(tsoR_instantiate(&r, 0, mm, &g, err) == TSO_ERR_INVALID);
  /* the graph: inputs x0.., outputs in order */
  rule_multi(&r);
  EXPECT(tsoR_instantiate(&r, 1, mc, &g, err) == TSO_OK);
  if (g) {
    EXPECT(g->ninputs == 3 && g->noutputs == 2 && g->nn == 3);
    EXPECT(!strcmp(g->t[g->inputs[2]].name, "x2"));
    EXPECT(g->t[g->outputs[1]].shape.rank == 2 && g->t[g->outputs[1]].shape.d[0] == 3);
    tsoI_free(g);
  }
}

/* ---- the command line ------------------------------------------------ */

static int run(const char *cmd) {
  int rc = system(cmd);
  return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static int same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  int same = fa && fb;
  while (same) {
    int x = fgetc(fa), y = fgetc(fb);
    if (x != y) same = 0;
    if (x == EOF) break;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

static void test_cli(const char *exe, const char *dir) {
  char err[TSO_ERRMAX], cmd[4096], bin[1024], bin2[1024], txt[1024];
  tsoR_Set s;
  EXPECT(make_set(&s) == 0);
  snprintf(bin, sizeof bin, "%s/cli.bin", dir);
  snprintf(bin2, sizeof bin2, "%s/cli2.bin", dir);
  snprintf(txt, sizeof txt, "%s/cli.txt", dir);
  EXPECT(tsoR_write(&s, bin, err) == TSO_OK);
  tsoR_set_free(&s);
  snprintf(cmd, sizeof cmd, "'%s' dump '%s' > '%s'", exe, bin, txt);
  EXPECT(run(cmd) == 0);
  snprintf(cmd, sizeof cmd, "'%s' parse '%s' -o '%s'", exe, txt, bin2);
  EXPECT(run(cmd) == 0);
  EXPECT(same_file(bin, bin2));
  snprintf(cmd, sizeof cmd, "'%s' dump '%s' | '%s' parse - -o '%s.pipe'", exe, bin, exe, bin2);
  EXPECT(run(cmd) == 0);
  snprintf(cmd, sizeof cmd, "%s.pipe", bin2);
  EXPECT(same_file(bin, cmd));
  snprintf(cmd, sizeof cmd, "'%s' stats '%s' > '%s/stats.txt'", exe, bin, dir);
  EXPECT(run(cmd) == 0);
  snprintf(cmd, sizeof cmd, "grep -q 'multi-output rules: 3' '%s/stats.txt'", dir);
  EXPECT(run(cmd) == 0);
  snprintf(cmd, sizeof cmd, "'%s' --help > /dev/null", exe);
  EXPECT(run(cmd) == 0);
  snprintf(cmd, sizeof cmd, "'%s' 2> /dev/null", exe);
  EXPECT(run(cmd) == 1);
  snprintf(cmd, sizeof cmd, "'%s' frob x 2> /dev/null", exe);
  EXPECT(run(cmd) == 1);
  snprintf(cmd, sizeof cmd, "'%s' parse '%s' 2> /dev/null", exe, txt);
  EXPECT(run(cmd) == 1);
  snprintf(cmd, sizeof cmd, "'%s' dump '%s' 2> /dev/null", exe, txt); /* text is not a rule file */
  EXPECT(run(cmd) == 2);
  snprintf(cmd, sizeof cmd, "'%s' stats '%s/none.bin' 2> /dev/null", exe, dir);
  EXPECT(run(cmd) == 2);
  snprintf(cmd, sizeof cmd, "'%s' parse '%s' -o '%s/x.bin' 2> /dev/null", exe, bin, dir); /* binary is not text */
  EXPECT(run(cmd) == 2);
  snprintf(cmd, sizeof cmd, "'%s' parse '%s' -o '%s/no/dir/x.bin' 2> /dev/null", exe, txt, dir);
  EXPECT(run(cmd) == 4);
  snprintf(cmd, sizeof cmd, "'%s' dump '%s' 2>&1 >/dev/null | grep -q 'looks like the text form'", exe, txt);
  EXPECT(run(cmd) == 0);
}

int main(int argc, char **argv) {
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  rng_state = 0x9e3779b97f4a7c15ull;
  if (argc > 2) mkdir(dir, 0755);
  test_set();
  test_check();
  test_binary();
  test_files(dir);
  test_text();
  test_subclasses();
  test_text_damage();
  test_text_set();
  test_instantiate();
  if (argc > 1) test_cli(argv[1], dir);
  else printf("taso-rules not given: command-line checks skipped\n");
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_rules: all passed\n");
  return 0;
}
