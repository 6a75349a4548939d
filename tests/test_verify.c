/*
** test_verify.c -- unit tests of the verifier: the axiom table parses and
** every axiom has triggers; correct rules are proven; wrong rules (concat
** associative across different axes, relu commuting with add, a swapped
** concat interchange) are refuted or unknown and never selected for the
** output; a wrong axiom is caught by the validation; a time-out is
** reported as unknown, never proven; a Z3 error is recorded, the process
** goes on; the exact kernels agree with the float reference kernels; the
** encoding tells different parameters apart; shape classes are refined
** where the rule is still proven (matmul merge: {x0} {x1 x2}) and only
** there (split after concat); docs/axioms.md is the generated text.
**
** usage: test_verify [SOURCE_DIR]   (with it, docs/axioms.md is compared)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "rules/rules.h"
#include "verify/verify.h"
#include "verify/z3enc.h"

static int failures;
#define EXPECT(c)                                                        \
  do {                                                                   \
    if (!(c)) {                                                          \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #c);   \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static tsoV_Axioms ax;

/* Parses a rule from its text form (aborts the test on a parse error). */
static tsoR_Rule rule(const char *text) {
  tsoR_Rule r;
  char err[TSO_ERRMAX];
  if (tsoR_parse_text(text, &r, err)) {
    fprintf(stderr, "cannot parse test rule: %s\n  %s\n", err, text);
    exit(1);
  }
  return r;
}

static tsoV_Options opts(void) {
  tsoV_Options o;
  tsoV_options_default(&o);
  o.quiet = 1;
  o.jobs = 1;
  return o;
}

static int prove(const char *text, tsoV_Result *res) {
  tsoR_Rule r = rule(text);
  tsoV_Options o = opts();
  EXPECT(tsoV_prove_rule(&ax, &r, &o, res) == TSO_OK);
  free(res->model);
  res->model = NULL;
  return res->status;
}

static void test_table(void) {
  EXPECT(ax.n > 100);
  for (int i = 0; i < ax.n; i++) {
    const tsoV_Axiom *a = &ax.a[i];
    EXPECT(a->ntrig >= 1);
    EXPECT(a->math && a->math[0]);
    for (int j = 0; j < i; j++) EXPECT(strcmp(a->name, ax.a[j].name) != 0);
  }
  /* operator classes come from the ops.def flags */
  int relu_concat = 0, sig_concat = 0;
  for (int i = 0; i < ax.n; i++) {
    relu_concat |= !strcmp(ax.a[i].name, "unary-concat[relu]");
    sig_concat |= !strcmp(ax.a[i].name, "unary-concat[sigmoid]");
  }
  EXPECT(relu_concat && sig_concat);
  /* bad texts are refused with a message, never accepted */
  tsoV_Axiom a;
  char err[TSO_ERRMAX];
  EXPECT(tsoV_axiom_parse("t", "g", "m", NULL, "relu(x) = ", "", &a, err) != TSO_OK);
  EXPECT(tsoV_axiom_parse("t", "g", "m", NULL, "nosuchop(x) = x", "", &a, err) != TSO_OK);
  EXPECT(tsoV_axiom_parse("t", "g", "m", NULL, "concat{axis=a}(x, y) -> x", "", &a, err) == TSO_OK);
  EXPECT(tsoV_axiom_parse("t", "g", "m", NULL, "relu(x) -> y", "", &a, err) != TSO_OK); /* y unbound */
  EXPECT(tsoV_axiom_parse("t", "g", "m", NULL, "concat{axis=x}(x, y) = y", "", &a, err) != TSO_OK);
}

static void test_correct_rules(void) {
  tsoV_Result res;
  /* commutativity, associativity */
  EXPECT(prove("r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0", &res) == TSO_RULE_PROVEN);
  EXPECT(prove("r0 candidate x0:matrix x1:matrix x2:matrix | ewadd(x0,x1) ; ewadd(%0,x2) -> %1 => "
               "ewadd(x2,x1) ; ewadd(%0,x0) -> %1",
               &res) == TSO_RULE_PROVEN);
  /* two matmuls sharing an operand merged through concat and split */
  EXPECT(prove("r0 candidate x0:matrix x1:matrix x2:matrix | matmul(x0,x1) ; matmul(x0,x2) -> %0 %1 => "
               "concat{axis=1}(x1,x2) ; matmul(x0,%0) ; split:2{axis=1,parts=2}(%1) -> %2.0 %2.1",
               &res) == TSO_RULE_PROVEN);
  EXPECT(res.outputs == 2);
  /* two convs sharing an input merged along the output channels */
  EXPECT(prove("r0 candidate x0:act4 x1:kernel x2:kernel | conv2d{kernel=3x3}(x0,x1) ; conv2d{kernel=3x3}(x0,x2) "
               "-> %0 %1 => concat{axis=0}(x1,x2) ; conv2d{kernel=3x3}(x0,%0) ; split:2{axis=1,parts=2}(%1) -> %2.0 %2.1",
               &res) == TSO_RULE_PROVEN);
  /* the fused relu, the enlarged kernel, the identity kernel, pooling as a conv */
  EXPECT(prove("r0 candidate x0:act4 x1:kernel | conv2d{kernel=3x3}(x0,x1) ; relu(%0) -> %1 => "
               "conv2d{kernel=3x3,act=relu}(x0,x1) -> %0",
               &res) == TSO_RULE_PROVEN);
  EXPECT(prove("r0 candidate x0:act4 x1:kernel | enlarge{kernel=3x3}(x1) ; conv2d{kernel=3x3}(x0,%0) -> %1 => "
               "conv2d{kernel=1x1}(x0,x1) -> %0",
               &res) == TSO_RULE_PROVEN);
  EXPECT(prove("r0 candidate x0:act4 | const_ikernel{dims=4x4x3x3}() ; conv2d{kernel=3x3}(x0,%0) -> %1 => x0", &res) ==
         TSO_RULE_PROVEN);
  EXPECT(prove("r0 candidate x0:act4 | avgpool{kernel=3x3,count_include_pad=1}(x0) -> %0 => "
               "const_pool{dims=4x4x3x3}() ; conv2d(x0,%0) -> %1",
               &res) == TSO_RULE_PROVEN);
  /* transpose of a product, scalar multiplication moved through matmul */
  EXPECT(prove("r0 candidate x0:matrix x1:matrix | matmul(x0,x1) ; transpose(%0) -> %1 => "
               "transpose(x1) ; transpose(x0) ; matmul(%0,%1) -> %2",
               &res) == TSO_RULE_PROVEN);
  EXPECT(prove("r0 candidate x0:matrix x1:matrix x2:scalar | matmul(x0,x1) ; smul(%0,x2) -> %1 => "
               "smul(x1,x2) ; matmul(x0,%0) -> %1",
               &res) == TSO_RULE_PROVEN);
  /* split after concat: the halves are the operands when they have one shape */
  EXPECT(prove("r0 candidate x0:matrix x1:matrix | concat{axis=0}(x0,x1) ; split:2{axis=0,parts=2}(%0) -> %1.0 %1.1 "
               "=> x0 x1",
               &res) == TSO_RULE_PROVEN);
}

/* Rules that must never be proven, and the selection of the output. */
static void test_wrong_rules(void) {
  const char *wrong[] = {
      /* concat is not associative across different axes */
      "r0 candidate x0:matrix x1:matrix x2:matrix | concat{axis=1}(x0,x1) ; concat{axis=0}(%0,x2) -> %1 => "
      "concat{axis=0}(x1,x2) ; concat{axis=1}(x0,%0) -> %1",
      /* ... nor is it when the operands are of different classes */
      "r0 candidate x0:matrix x1:any/2 x2:scalar/2 | concat{axis=1}(x0,x1) ; concat{axis=0}(%0,x2) -> %1 => "
      "concat{axis=0}(x1,x2) ; concat{axis=1}(x0,%0) -> %1",
      /* relu does not commute with add */
      "r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) ; relu(%0) -> %1 => relu(x0) ; relu(x1) ; ewadd(%0,%1) -> %2",
      /* the interchange law with two operands swapped */
      "r0 candidate x0:matrix x1:matrix x2:matrix x3:matrix | concat{axis=1}(x0,x1) ; concat{axis=1}(x2,x3) ; "
      "concat{axis=0}(%0,%1) -> %2 => concat{axis=0}(x0,x3) ; concat{axis=0}(x1,x2) ; concat{axis=1}(%0,%1) -> %2",
      /* split after concat of operands of different classes */
      "r0 candidate x0:matrix x1:any/2 | concat{axis=0}(x0,x1) ; split:2{axis=0,parts=2}(%0) -> %1.0 %1.1 => x0 x1",
      /* ... also when the classes are subclasses of one role */
      "r0 candidate x0:matrix x1:matrix.1 | concat{axis=0}(x0,x1) ; split:2{axis=0,parts=2}(%0) -> %1.0 %1.1 => x0 x1",
  };
  int n = (int)(sizeof wrong / sizeof wrong[0]);
  tsoR_Set in, out;
  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  for (int i = 0; i < n; i++) {
    tsoR_Rule r = rule(wrong[i]);
    EXPECT(tsoR_set_add(&in, &r) == TSO_OK);
  }
  tsoR_Rule good = rule("r0 candidate x0:matrix x1:matrix | ewmul(x0,x1) -> %0 => ewmul(x1,x0) -> %0");
  EXPECT(tsoR_set_add(&in, &good) == TSO_OK);
  tsoV_Options o = opts();
  o.jobs = 2;
  o.keep_models = 1;
  tsoV_Result *res = calloc(in.n, sizeof *res);
  tsoV_Counts c;
  char err[TSO_ERRMAX];
  EXPECT(res && tsoV_prove_set(&ax, &in, &o, res, &c, err) == TSO_OK);
  for (int i = 0; i < n; i++) {
    EXPECT(res[i].status == TSO_RULE_REFUTED || res[i].status == TSO_RULE_UNKNOWN);
    EXPECT(res[i].note[0] != 0);
  }
  EXPECT(res[2].status == TSO_RULE_REFUTED); /* relu and add: a float counterexample */
  EXPECT(res[3].status == TSO_RULE_REFUTED);
  EXPECT(res[n].status == TSO_RULE_PROVEN);
  EXPECT(c.proven == 1 && c.total == (uint64_t)n + 1);
  EXPECT(tsoV_proven_set(&in, res, &out) == TSO_OK);
  EXPECT(out.n == 1);
  EXPECT(out.n == 1 && out.r[0].status == TSO_RULE_PROVEN && !memcmp(&out.r[0].src, &good.src, sizeof good.src));
  tsoV_results_free(res, in.n);
  free(res);
  tsoR_set_free(&in);
  tsoR_set_free(&out);
}

/* A deliberately wrong axiom is caught by the exact validation. */
static void test_wrong_axiom(void) {
  tsoV_Axiom a;
  tsoV_ValOptions vo;
  tsoV_ValStats st;
  char err[TSO_ERRMAX];
  tsoV_val_options_default(&vo);
  vo.max_dim = 2, vo.random = 5, vo.float_every = 0;
  EXPECT(tsoV_axiom_parse("relu-add", "test", "relu(x + y) = relu(x) + relu(y)", NULL,
                          "relu(ewadd(x, y)) = ewadd(relu(x), relu(y))", "", &a, err) == TSO_OK);
  EXPECT(tsoV_validate_axiom(&a, &vo, &st) == TSO_ERR_MISMATCH);
  EXPECT(st.failures > 0 && strstr(st.fail, "differ"));
  EXPECT(tsoV_axiom_parse("concat-assoc-axes", "test", "[[x | y]₁ | z]₀ = [x | [y | z]₀]₁", NULL,
                          "concat{axis=0}(concat{axis=1}(x, y), z) = concat{axis=1}(x, concat{axis=0}(y, z))", "",
                          &a, err) == TSO_OK);
  EXPECT(tsoV_validate_axiom(&a, &vo, &st) == TSO_ERR_MISMATCH);
  /* split after concat without its side condition */
  EXPECT(tsoV_axiom_parse("split-concat-unguarded", "test", "split₀([x | y]ₐ) = x", NULL,
                          "split.0{axis=a,parts=2}(concat{axis=a}(x, y)) -> x", "", &a, err) == TSO_OK);
  EXPECT(tsoV_validate_axiom(&a, &vo, &st) == TSO_ERR_MISMATCH);
  /* a wrong shape axiom */
  EXPECT(tsoV_axiom_parse("shape-matmul-wrong", "test", "[m, k] @ [k, n] is [m, k]", NULL,
                          "rank(x) = 2 & rank(y) = 2 => shape(matmul(x, y)) = dims(dim(0, x), dim(1, x))", "", &a,
                          err) == TSO_OK);
  EXPECT(tsoV_validate_axiom(&a, &vo, &st) == TSO_ERR_MISMATCH);
  /* and the correct ones pass */
  for (int i = 0; i < ax.n; i++)
    if (!strcmp(ax.a[i].name, "split-concat-first") || !strcmp(ax.a[i].name, "conv-relu") ||
        !strcmp(ax.a[i].name, "shape-concat")) {
      EXPECT(tsoV_validate_axiom(&ax.a[i], &vo, &st) == TSO_OK);
      EXPECT(st.checked > 10);
    }
}

/* Redundancy: an axiom that follows from the others is reported, one the
** others do not imply is not. */
static void test_redundancy(void) {
  char err[TSO_ERRMAX];
  int seen = 0;
  for (int i = 0; i < ax.n; i++) {
    int red = -1, expect;
    /* smul-conv-w follows from the rest of the table (Z3 shows it in a few
    ** ms); nothing else says that + commutes */
    if (!strcmp(ax.a[i].name, "smul-conv-w")) expect = 1;
    else if (!strcmp(ax.a[i].name, "ew-comm[ewadd]")) expect = 0;
    else continue;
    seen++;
    EXPECT(tsoV_redundant(&ax, i, 5000, &red, err) == TSO_OK);
    if (red != expect) fprintf(stderr, "redundancy of %s: %d, expected %d\n", ax.a[i].name, red, expect);
    EXPECT(red == expect);
  }
  EXPECT(seen == 2);
}

/* A time-out is reported as unknown, never as proven. The axioms get an
** extra one that never stops producing terms (relu(x) = relu(tanh(x)) keeps
** matching its own right side), and the rule relu(relu(x)) = relu(x), true
** but not implied by the axioms, keeps Z3 busy until the time-out. */
static void test_timeout(void) {
  tsoV_Axioms ax2;
  tsoV_Axiom loop;
  char err[TSO_ERRMAX];
  memset(&ax2, 0, sizeof ax2);
  for (int i = 0; i < ax.n; i++) EXPECT(tsoV_axioms_add(&ax2, &ax.a[i]) == TSO_OK);
  EXPECT(tsoV_axiom_parse("loop", "test", "a matching loop", NULL, "relu(x) = relu(tanh(x))", "", &loop, err) == TSO_OK);
  EXPECT(tsoV_axioms_add(&ax2, &loop) == TSO_OK);
  tsoR_Rule r = rule("r0 candidate x0:matrix | relu(x0) ; relu(%0) -> %1 => relu(x0) -> %0");
  tsoV_Options o = opts();
  tsoV_Result res;
  o.timeout_ms = 300;
  o.refute_ms = 0;
  o.qi_threshold = 1e9; /* let the loop run: Z3's default thresholds would cut it */
  double t0 = tsoV_now();
  EXPECT(tsoV_prove_rule(&ax2, &r, &o, &res) == TSO_OK);
  double secs = tsoV_now() - t0;
  EXPECT(res.status == TSO_RULE_UNKNOWN);
  EXPECT(res.why == TSO_V_WHY_TIMEOUT);
  EXPECT(secs < 10.0);
  if (res.why != TSO_V_WHY_TIMEOUT) fprintf(stderr, "time-out test: %s\n", res.note);
  free(res.model);
  /* the same rule and a proven one through the set prover (one session) */
  tsoR_Set in;
  memset(&in, 0, sizeof in);
  tsoR_Rule good = rule("r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0");
  EXPECT(tsoR_set_add(&in, &r) == TSO_OK && tsoR_set_add(&in, &good) == TSO_OK);
  tsoV_Result rs[2];
  tsoV_Counts c;
  memset(rs, 0, sizeof rs);
  EXPECT(tsoV_prove_set(&ax2, &in, &o, rs, &c, err) == TSO_OK);
  EXPECT(rs[0].status == TSO_RULE_UNKNOWN && rs[0].why == TSO_V_WHY_TIMEOUT);
  EXPECT(rs[1].status == TSO_RULE_PROVEN);
  tsoV_results_free(rs, 2);
  tsoR_set_free(&in);
  tsoV_axioms_free(&ax2);
}

/* Z3 errors are recorded by the error handler; the process goes on. */
static void test_z3_errors(void) {
  tsoV_Z3 z;
  char err[TSO_ERRMAX];
  EXPECT(tsoV_z3_open(&z, err) == TSO_OK);
  Z3_ast t = Z3_mk_const(z.c, Z3_mk_string_symbol(z.c, "t"), z.T);
  Z3_ast i = Z3_mk_int(z.c, 1, z.I);
  EXPECT(!tsoV_z3_failed(&z));
  Z3_mk_eq(z.c, t, i); /* a sort error */
  EXPECT(tsoV_z3_failed(&z));
  EXPECT(strstr(z.msg, "Z3 error") != NULL);
  /* builders refuse to go on once an error was recorded */
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  EXPECT(tsoV_z3_func(&z, TSO_OP_RELU, &p, 1, 1, 0) == NULL);
  tsoV_z3_close(&z);
  /* a fresh context works */
  EXPECT(tsoV_z3_open(&z, err) == TSO_OK);
  EXPECT(tsoV_z3_func(&z, TSO_OP_RELU, &p, 1, 1, 0) != NULL);
  EXPECT(!tsoV_z3_failed(&z));
  /* a second context opened and closed meanwhile (a counter-model search
  ** inside a session) leaves the first one's errors recorded */
  tsoV_Z3 z2;
  EXPECT(tsoV_z3_open(&z2, err) == TSO_OK);
  tsoV_z3_close(&z2);
  t = Z3_mk_const(z.c, Z3_mk_string_symbol(z.c, "t"), z.T);
  i = Z3_mk_int(z.c, 1, z.I);
  Z3_mk_eq(z.c, t, i);
  EXPECT(tsoV_z3_failed(&z));
  tsoV_z3_close(&z);
}

/* Different parameters give different functions; equal ones the same. */
static void test_encoding(void) {
  tsoV_Z3 z;
  char err[TSO_ERRMAX];
  tsoO_Params a, b;
  EXPECT(tsoV_z3_open(&z, err) == TSO_OK);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.transpose.n = 2, a.transpose.perm[0] = 1, a.transpose.perm[1] = 0;
  b.transpose.n = 2, b.transpose.perm[0] = 0, b.transpose.perm[1] = 1;
  EXPECT(tsoV_z3_func(&z, TSO_OP_TRANSPOSE, &a, 1, 1, 0) != tsoV_z3_func(&z, TSO_OP_TRANSPOSE, &b, 1, 1, 0));
  b = a;
  EXPECT(tsoV_z3_func(&z, TSO_OP_TRANSPOSE, &a, 1, 1, 0) == tsoV_z3_func(&z, TSO_OP_TRANSPOSE, &b, 1, 1, 0));
  /* split slots are different functions */
  memset(&a, 0, sizeof a);
  a.split.sizes[0] = 2;
  EXPECT(tsoV_z3_func(&z, TSO_OP_SPLIT, &a, 1, 2, 0) != tsoV_z3_func(&z, TSO_OP_SPLIT, &a, 1, 2, 1));
  /* conv dilation is not an integer argument: it is in the name */
  memset(&a, 0, sizeof a);
  a.win.sh = a.win.sw = a.win.dh = a.win.dw = a.win.group = 1;
  b = a;
  b.win.dh = 2;
  EXPECT(tsoV_z3_func(&z, TSO_OP_CONV2D, &a, 2, 1, 0) != tsoV_z3_func(&z, TSO_OP_CONV2D, &b, 2, 1, 0));
  EXPECT(!tsoV_z3_failed(&z));
  tsoV_z3_close(&z);
  /* canonical parameters */
  memset(&a, 0, sizeof a);
  EXPECT(tsoV_canon_params(TSO_OP_TRANSPOSE, 1, 1, 2, &a) == TSO_OK);
  EXPECT(a.transpose.n == 2 && a.transpose.perm[0] == 1 && a.transpose.perm[1] == 0);
  memset(&a, 0, sizeof a);
  a.win.kh = a.win.kw = 3;
  EXPECT(tsoV_canon_params(TSO_OP_CONV2D, 2, 1, 4, &a) == TSO_OK && a.win.kh == 0);
  memset(&a, 0, sizeof a);
  a.axis.axis = -1;
  EXPECT(tsoV_canon_params(TSO_OP_CONCAT, 2, 1, 4, &a) == TSO_OK && a.axis.axis == 3);
}

/* The exact kernels agree with the float reference kernels on small
** integer inputs (exact in float) for the linear and layout operators. */
static void test_kernels(void) {
  struct {
    int op, nin, nout;
    int r0, d0[4], r1, d1[4];
    tsoO_Params p;
  } cases[8];
  memset(cases, 0, sizeof cases);
  int n = 0;
  /* conv 3x3 SAME stride 2, conv 1x1 VALID with dilation, matmul batched, add broadcast, concat, split, enlarge, transpose */
  cases[n].op = TSO_OP_CONV2D, cases[n].nin = 2, cases[n].nout = 1, cases[n].r0 = 4, cases[n].r1 = 4;
  memcpy(cases[n].d0, (int[4]){2, 3, 5, 4}, sizeof(int[4]));
  memcpy(cases[n].d1, (int[4]){4, 3, 3, 3}, sizeof(int[4]));
  cases[n].p.win.sh = 2, cases[n].p.win.sw = 1, cases[n].p.win.dh = cases[n].p.win.dw = 1, cases[n].p.win.group = 1;
  cases[n++].p.win.pad_mode = TSO_PAD_SAME_LOWER;
  cases[n].op = TSO_OP_CONV2D, cases[n].nin = 2, cases[n].nout = 1, cases[n].r0 = 4, cases[n].r1 = 4;
  memcpy(cases[n].d0, (int[4]){1, 4, 5, 5}, sizeof(int[4]));
  memcpy(cases[n].d1, (int[4]){2, 2, 2, 2}, sizeof(int[4]));
  cases[n].p.win.sh = cases[n].p.win.sw = 1, cases[n].p.win.dh = cases[n].p.win.dw = 2, cases[n].p.win.group = 2;
  cases[n].p.win.pt = 1, cases[n++].p.win.pr = 1;
  cases[n].op = TSO_OP_MATMUL, cases[n].nin = 2, cases[n].nout = 1, cases[n].r0 = 3, cases[n].r1 = 2;
  memcpy(cases[n].d0, (int[4]){2, 3, 4, 0}, sizeof(int[4]));
  memcpy(cases[n++].d1, (int[4]){4, 5, 0, 0}, sizeof(int[4]));
  cases[n].op = TSO_OP_ADD, cases[n].nin = 2, cases[n].nout = 1, cases[n].r0 = 3, cases[n].r1 = 2;
  memcpy(cases[n].d0, (int[4]){2, 3, 4, 0}, sizeof(int[4]));
  memcpy(cases[n++].d1, (int[4]){1, 4, 0, 0}, sizeof(int[4]));
  cases[n].op = TSO_OP_CONCAT, cases[n].nin = 2, cases[n].nout = 1, cases[n].r0 = 3, cases[n].r1 = 3;
  memcpy(cases[n].d0, (int[4]){2, 3, 4, 0}, sizeof(int[4]));
  memcpy(cases[n].d1, (int[4]){2, 1, 4, 0}, sizeof(int[4]));
  cases[n++].p.axis.axis = 1;
  cases[n].op = TSO_OP_SPLIT, cases[n].nin = 1, cases[n].nout = 2, cases[n].r0 = 3;
  memcpy(cases[n].d0, (int[4]){2, 5, 4, 0}, sizeof(int[4]));
  cases[n].p.split.axis = 1, cases[n++].p.split.sizes[0] = 2;
  cases[n].op = TSO_OP_ENLARGE, cases[n].nin = 1, cases[n].nout = 1, cases[n].r0 = 4;
  memcpy(cases[n].d0, (int[4]){2, 3, 1, 3}, sizeof(int[4]));
  cases[n].p.enlarge.kh = 3, cases[n++].p.enlarge.kw = 5;
  cases[n].op = TSO_OP_TRANSPOSE, cases[n].nin = 1, cases[n].nout = 1, cases[n].r0 = 3;
  memcpy(cases[n].d0, (int[4]){2, 3, 4, 0}, sizeof(int[4]));
  cases[n].p.transpose.n = 3, cases[n].p.transpose.perm[0] = 2, cases[n].p.transpose.perm[1] = 0;
  cases[n++].p.transpose.perm[2] = 1;
  for (int c = 0; c < n; c++) {
    tsoO_Value in[2], out[2];
    char err[TSO_ERRMAX];
    uint64_t *min[2] = {0}, *mout[2] = {0};
    tsoO_Shape ish[2], osh[2];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    for (int i = 0; i < cases[c].nin; i++) {
      in[i].dtype = TSO_DT_FLOAT;
      in[i].shape.rank = i ? cases[c].r1 : cases[c].r0;
      for (int k = 0; k < in[i].shape.rank; k++) in[i].shape.d[k] = i ? cases[c].d1[k] : cases[c].d0[k];
      int64_t ne = tsoO_numel(&in[i].shape);
      in[i].data = malloc((size_t)ne * sizeof(float));
      min[i] = malloc((size_t)ne * sizeof(uint64_t));
      for (int64_t k = 0; k < ne; k++) {
        int v = (int)((k * 7 + i * 3) % 5) - 2;
        ((float *)in[i].data)[k] = (float)v;
        min[i][k] = v < 0 ? TSO_V_P - (uint64_t)(-v) : (uint64_t)v;
      }
      ish[i] = in[i].shape;
    }
    const tsoO_Info *oi = tsoO_info(cases[c].op);
    EXPECT(oi->infer(&cases[c].p, cases[c].nin, in, cases[c].nout, out, err) == TSO_OK);
    for (int s = 0; s < cases[c].nout; s++) {
      osh[s] = out[s].shape;
      int64_t ne = tsoO_numel(&osh[s]);
      out[s].data = malloc((size_t)ne * sizeof(float));
      mout[s] = malloc((size_t)ne * sizeof(uint64_t));
    }
    EXPECT(oi->eval(&cases[c].p, cases[c].nin, in, cases[c].nout, out, err) == TSO_OK);
    EXPECT(tsoV_mod_eval(cases[c].op, &cases[c].p, cases[c].nin, (const uint64_t *const *)min, ish, cases[c].nout,
                         mout, osh, err) == TSO_OK);
    for (int s = 0; s < cases[c].nout; s++) {
      int64_t ne = tsoO_numel(&osh[s]), bad = 0;
      for (int64_t k = 0; k < ne; k++) {
        float f = ((float *)out[s].data)[k];
        uint64_t m = f < 0 ? TSO_V_P - (uint64_t)(-f) : (uint64_t)f;
        bad += m != mout[s][k];
      }
      if (bad) fprintf(stderr, "kernel case %d (%s) output %d: %lld values differ\n", c, oi->name, s, (long long)bad);
      EXPECT(bad == 0);
      free(out[s].data);
      free(mout[s]);
    }
    for (int i = 0; i < cases[c].nin; i++) {
      free(in[i].data);
      free(min[i]);
    }
  }
}

/* The float check and the shape search respect the shape classes. */
static void test_float_check(void) {
  tsoR_Rule r = rule("r0 candidate x0:matrix x1:matrix | concat{axis=0}(x0,x1) ; split:2{axis=0,parts=2}(%0) -> "
                     "%1.0 %1.1 => x0 x1");
  tsoO_Shape sh[TSO_RULE_MAX_IN];
  char note[256];
  int n;
  EXPECT(tsoV_find_shapes(&r, 1, 0, sh) == TSO_OK);
  EXPECT(sh[0].rank == 2 && sh[0].d[0] == sh[1].d[0] && sh[0].d[1] == sh[1].d[1]);
  EXPECT(tsoV_float_check(&r, 1, 4, &n, note, sizeof note) == TSO_OK && n == 4);
  r = rule("r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) ; relu(%0) -> %1 => relu(x0) ; relu(x1) ; ewadd(%0,%1) -> %2");
  EXPECT(tsoV_float_check(&r, 1, 2, &n, note, sizeof note) == TSO_ERR_MISMATCH);
  EXPECT(strstr(note, "counterexample") != NULL);
}

/* Proves text (a candidate) with refinement; returns the result (model
** freed) and the rule with the classes it got in *out. */
static tsoV_Result prove_refined(const char *text, tsoR_Rule *out) {
  tsoV_Result res;
  tsoV_Options o = opts();
  *out = rule(text);
  EXPECT(tsoV_prove_rule(&ax, out, &o, &res) == TSO_OK);
  free(res.model);
  res.model = NULL;
  if (res.refined) memcpy(out->in_kind, res.in_kind, sizeof out->in_kind);
  return res;
}

/* Source and target of r agree in float on the given shapes. */
static int sides_equal(const tsoR_Rule *r, const tsoO_Shape *sh) {
  char err[TSO_ERRMAX];
  tsoI_Graph *a = NULL, *b = NULL;
  tsoI_CompareResult cr;
  if (tsoR_instantiate(r, 0, sh, &a, err) || tsoR_instantiate(r, 1, sh, &b, err)) {
    fprintf(stderr, "instantiation failed: %s\n", err);
    tsoI_free(a);
    return 0;
  }
  tso_status st = tsoI_compare(a, b, 7, 1e-4, 1e-5, &cr);
  tsoI_free(a);
  tsoI_free(b);
  return st == TSO_OK && !cr.unchecked;
}

static tsoO_Shape shape2(int64_t a, int64_t b) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = 2, s.d[0] = a, s.d[1] = b;
  return s;
}

/* Shape classes are refined where the rule is still proven, and only there. */
static void test_refine(void) {
  tsoR_Rule r;
  tsoV_Result res;
  char err[TSO_ERRMAX];
  /* two matmuls sharing an operand, merged: x0 is free, x1 and x2 stay one class */
  const char *merge = "r0 candidate x0:matrix x1:matrix x2:matrix | matmul(x0,x1) ; matmul(x0,x2) -> %0 %1 => "
                      "concat{axis=1}(x1,x2) ; matmul(x0,%0) ; split:2{axis=1,parts=2}(%1) -> %2.0 %2.1";
  res = prove_refined(merge, &r);
  EXPECT(res.status == TSO_RULE_PROVEN && res.refined && res.outputs == 2);
  EXPECT(r.in_kind[0] == TSO_IN_MATRIX && r.in_kind[1] == tsoR_in_kind(TSO_IN_MATRIX, 1) &&
         r.in_kind[2] == r.in_kind[1]);
  EXPECT(strstr(res.note, "{x0} {x1 x2}") != NULL);
  EXPECT(tsoR_check(&r, err) == TSO_OK);
  /* ... which is right on non-square shapes (BERT's projections: 128x768 by 768x64) */
  tsoO_Shape sh[3] = {shape2(3, 5), shape2(5, 2), shape2(5, 2)};
  EXPECT(sides_equal(&r, sh));
  sh[0] = shape2(6, 4), sh[1] = sh[2] = shape2(4, 3);
  EXPECT(sides_equal(&r, sh));
  /* and is proven again with its stored classes, and not refined further */
  tsoV_Options o = opts();
  r.status = TSO_RULE_PROVEN;
  EXPECT(tsoV_prove_rule(&ax, &r, &o, &res) == TSO_OK && res.status == TSO_RULE_PROVEN && !res.refined);
  free(res.model);
  /* the same direction reversed (the form the generator writes) */
  res = prove_refined("r0 candidate x0:matrix x1:matrix x2:matrix | concat{axis=1}(x1,x2) ; matmul(x0,%0) ; "
                      "split:2{axis=1,parts=2}(%1) -> %2.0 %2.1 => matmul(x0,x2) ; matmul(x0,x1) -> %1 %0",
                      &r);
  EXPECT(res.status == TSO_RULE_PROVEN && res.refined && r.in_kind[0] == TSO_IN_MATRIX &&
         r.in_kind[1] == tsoR_in_kind(TSO_IN_MATRIX, 1) && r.in_kind[2] == r.in_kind[1]);
  /* split in halves after concat: the halves are the operands only when they have one shape */
  res = prove_refined("r0 candidate x0:matrix x1:matrix | concat{axis=0}(x0,x1) ; split:2{axis=0,parts=2}(%0) -> "
                      "%1.0 %1.1 => x0 x1",
                      &r);
  EXPECT(res.status == TSO_RULE_PROVEN && !res.refined && r.in_kind[0] == r.in_kind[1]);
  /* merged convolutions split in halves keep their kernels together ... */
  res = prove_refined("r0 candidate x0:act4 x1:kernel x2:kernel | conv2d{kernel=3x3}(x0,x1) ; "
                      "conv2d{kernel=3x3}(x0,x2) -> %0 %1 => concat{axis=0}(x1,x2) ; conv2d{kernel=3x3}(x0,%0) ; "
                      "split:2{axis=1,parts=2}(%1) -> %2.0 %2.1",
                      &r);
  EXPECT(res.status == TSO_RULE_PROVEN && !res.refined && r.in_kind[1] == TSO_IN_KERNEL &&
         r.in_kind[2] == TSO_IN_KERNEL);
  /* ... but concatenated outputs need not: the kernels may have different output channels */
  res = prove_refined("r0 candidate x0:kernel x1:act4 x2:kernel | conv2d{kernel=3x3}(x1,x0) ; "
                      "conv2d{kernel=3x3}(x1,x2) ; concat{axis=1}(%1,%0) -> %2 => concat{axis=0}(x2,x0) ; "
                      "conv2d{kernel=3x3}(x1,%0) -> %1",
                      &r);
  EXPECT(res.status == TSO_RULE_PROVEN && res.refined && r.in_kind[0] == TSO_IN_KERNEL &&
         r.in_kind[2] == tsoR_in_kind(TSO_IN_KERNEL, 1));
  /* greedy: the finest classes fail (x1, x2 must match), one member split off holds */
  res = prove_refined("r0 candidate x0:matrix x1:matrix x2:matrix x3:scalar x4:scalar | matmul(x0,x1) ; "
                      "matmul(x0,x2) ; smul(%0,x3) ; smul(%1,x4) -> %2 %3 => concat{axis=1}(x1,x2) ; "
                      "matmul(x0,%0) ; split:2{axis=1,parts=2}(%1) ; smul(%2.0,x3) ; smul(%2.1,x4) -> %3 %4",
                      &r);
  EXPECT(res.status == TSO_RULE_PROVEN && res.refined && r.in_kind[0] == TSO_IN_MATRIX &&
         r.in_kind[1] == tsoR_in_kind(TSO_IN_MATRIX, 1) && r.in_kind[2] == r.in_kind[1]);
  EXPECT(r.in_kind[3] == TSO_IN_SCALAR && r.in_kind[4] == TSO_IN_SCALAR); /* rank 0: never split */
  /* refinement off: the classes stay */
  r = rule(merge);
  o.refine = 0;
  EXPECT(tsoV_prove_rule(&ax, &r, &o, &res) == TSO_OK && res.status == TSO_RULE_PROVEN && !res.refined);
  free(res.model);
  /* the prover of sets ships the refined classes, whatever the number of threads */
  tsoR_Set in, out1, out2;
  memset(&in, 0, sizeof in);
  memset(&out1, 0, sizeof out1);
  memset(&out2, 0, sizeof out2);
  r = rule(merge);
  EXPECT(tsoR_set_add(&in, &r) == TSO_OK);
  r = rule("r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0");
  EXPECT(tsoR_set_add(&in, &r) == TSO_OK);
  for (int jobs = 1; jobs <= 2; jobs++) {
    tsoV_Result rs[2];
    tsoV_Counts c;
    memset(rs, 0, sizeof rs);
    o = opts();
    o.jobs = jobs;
    EXPECT(tsoV_prove_set(&ax, &in, &o, rs, &c, err) == TSO_OK);
    EXPECT(c.proven == 2 && c.refined == 2);
    EXPECT(tsoV_proven_set(&in, rs, jobs == 1 ? &out1 : &out2) == TSO_OK);
    tsoV_results_free(rs, 2);
  }
  EXPECT(out1.n == 2 && out2.n == 2 && !memcmp(out1.r, out2.r, 2 * sizeof *out1.r));
  EXPECT(out1.n == 2 && out1.r[0].in_kind[1] == tsoR_in_kind(TSO_IN_MATRIX, 1) &&
         out1.r[1].in_kind[1] == tsoR_in_kind(TSO_IN_MATRIX, 1));
  tsoR_set_free(&in);
  tsoR_set_free(&out1);
  tsoR_set_free(&out2);
}

/* A rule with no shapes under its own classes (a 1x1 and a 3x3 kernel in
** one class) is proven with each input in a class of its own. */
static void test_illformed_refined(void) {
  tsoR_Rule r;
  char err[TSO_ERRMAX];
  const char *merge = "r0 candidate x0:act4 x1:kernel x2:kernel | conv2d{kernel=1x1}(x0,x2) ; "
                      "conv2d{kernel=3x3}(x0,x1) ; concat{axis=1}(%0,%1) -> %2 => enlarge{kernel=3x3}(x2) ; "
                      "concat{axis=0}(%0,x1) ; conv2d{kernel=3x3}(x0,%1) -> %2";
  tsoV_Result res = prove_refined(merge, &r);
  EXPECT(res.status == TSO_RULE_PROVEN && res.refined);
  EXPECT(r.in_kind[1] != r.in_kind[2] && tsoR_in_role(r.in_kind[1]) == TSO_IN_KERNEL &&
         tsoR_in_role(r.in_kind[2]) == TSO_IN_KERNEL);
  EXPECT(tsoR_check(&r, err) == TSO_OK);
  /* false in the same form (the 1x1 conv is not enlarged): still not proven */
  res = prove_refined("r0 candidate x0:act4 x1:kernel x2:kernel | conv2d{kernel=1x1}(x0,x2) ; "
                      "conv2d{kernel=3x3}(x0,x1) ; concat{axis=1}(%0,%1) -> %2 => conv2d{kernel=1x1}(x0,x2) ; "
                      "conv2d{kernel=3x3}(x0,x1) ; concat{axis=1}(%1,%0) -> %2",
                      &r);
  EXPECT(res.status != TSO_RULE_PROVEN);
  /* refinement off: ill-formed, unknown */
  tsoV_Options o = opts();
  o.refine = 0;
  r = rule(merge);
  EXPECT(tsoV_prove_rule(&ax, &r, &o, &res) == TSO_OK && res.status == TSO_RULE_UNKNOWN &&
         res.why == TSO_V_WHY_ILLFORMED);
  free(res.model);
}

/* Rules without inputs (facts about the constants) are decided by exact
** evaluation: true ones proven, false ones refuted, and ones with an
** operator the field does not compute exactly left unknown. */
static void test_closed(void) {
  tsoV_Result res;
  char note[TSO_ERRMAX];
  /* (1 + 1) + (1 + 1) = ones(4x4) @ ones(4x4): every entry 4 */
  const char *four = "r0 candidate | const_ones{dims=4x4}() ; ewadd(%0,%0) ; ewadd(%1,%1) -> %2 => "
                     "const_ones{dims=4x4}() ; matmul(%0,%0) -> %1";
  EXPECT(prove(four, &res) == TSO_RULE_PROVEN && strstr(res.note, "exact evaluation"));
  /* 1 + 1 = ones @ ones is false (2 against 4) */
  EXPECT(prove("r0 candidate | const_ones{dims=4x4}() ; ewadd(%0,%0) -> %1 => const_ones{dims=4x4}() ; "
               "matmul(%0,%0) -> %1",
               &res) == TSO_RULE_REFUTED);
  tsoR_Rule r = rule("r0 candidate | const_ones{dims=4x4}() ; ewadd(%0,%0) -> %1 => const_ones{dims=4x4}() ; "
                     "matmul(%0,%0) -> %1");
  EXPECT(tsoV_closed_decide(&r, note, sizeof note) == -1);
  /* the identity matrix with its column halves swapped is the one with its row halves swapped, not the identity */
  r = rule("r0 candidate | const_imatrix{dims=4x4}() ; split:2{axis=1,parts=2}(%0) ; concat{axis=1}(%1.1,%1.0) -> %2 "
           "=> const_imatrix{dims=4x4}() ; split:2{axis=0,parts=2}(%0) ; concat{axis=0}(%1.1,%1.0) -> %2");
  EXPECT(tsoV_closed_decide(&r, note, sizeof note) == 1);
  r = rule("r0 candidate | const_imatrix{dims=4x4}() ; split:2{axis=1,parts=2}(%0) ; concat{axis=1}(%1.1,%1.0) -> %2 "
           "=> const_imatrix{dims=4x4}() -> %0");
  EXPECT(tsoV_closed_decide(&r, note, sizeof note) == -1);
  /* the average-pool kernel (entries 1/9) against the identity kernel, through a 3x3 conv of ones */
  r = rule("r0 candidate | const_pool{dims=4x4x3x3}() ; const_ones{dims=1x4x3x3}() ; conv2d{kernel=3x3}(%1,%0) -> %2 "
           "=> const_ikernel{dims=4x4x3x3}() ; const_ones{dims=1x4x3x3}() ; conv2d{kernel=3x3}(%1,%0) -> %2");
  EXPECT(tsoV_closed_decide(&r, note, sizeof note) == -1); /* 4/9 at the corners: not 1 */
  /* relu is a polynomial stand-in in the field: not decided there */
  r = rule("r0 candidate | const_ones{dims=4x4}() ; relu(%0) -> %1 => const_ones{dims=4x4}() -> %0");
  EXPECT(tsoV_closed_decide(&r, note, sizeof note) == 0);
  /* a rule with inputs is not this function's */
  r = rule("r0 candidate x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0");
  EXPECT(tsoV_closed_decide(&r, note, sizeof note) == 0);
}

/* docs/axioms.md is exactly what --axioms-md writes. */
static void test_docs(const char *srcdir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/axioms.md", srcdir);
  FILE *f = fopen(path, "rb");
  EXPECT(f != NULL);
  if (!f) return;
  char *want = NULL, *have = NULL;
  size_t nw = 0, nh = 0;
  FILE *m = open_memstream(&want, &nw);
  EXPECT(m && tsoV_axioms_markdown(&ax, m) == TSO_OK);
  if (m) fclose(m);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  have = malloc((size_t)len + 1);
  nh = have ? fread(have, 1, (size_t)len, f) : 0;
  fclose(f);
  int same = want && have && nh == nw && !memcmp(want, have, nw);
  if (!same) fprintf(stderr, "docs/axioms.md is out of date: run taso-verify --axioms-md docs/axioms.md\n");
  EXPECT(same);
  free(want);
  free(have);
}

int main(int argc, char **argv) {
  char err[TSO_ERRMAX];
  if (tsoV_axioms_load(&ax, err)) {
    fprintf(stderr, "axioms: %s\n", err);
    return 1;
  }
  test_table();
  test_correct_rules();
  test_wrong_rules();
  test_wrong_axiom();
  test_redundancy();
  test_timeout();
  test_z3_errors();
  test_encoding();
  test_kernels();
  test_float_check();
  test_refine();
  test_illformed_refined();
  test_closed();
  if (argc > 1) test_docs(argv[1]);
  if (failures) fprintf(stderr, "test_verify: %d failures\n", failures);
  else printf("test_verify: ok (%d axioms)\n", ax.n);
  tsoV_axioms_free(&ax);
  return failures ? 1 : 0;
}
