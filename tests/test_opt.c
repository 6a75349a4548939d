/*
** test_opt.c -- the optimizer: matcher and rewriter (every hand-written
** rule keeps the outputs of a small graph; undo restores the graph), the
** search (known better graphs under the analytic backend, alpha, budget,
** determinism), the fusion passes, pre-folding and lowering, and the
** fallback when a wrong rule slips into the rule set.
**   test_opt [WORK_DIR]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cost/cost.h"
#include "graph/graph.h"
#include "optimizer/optimizer.h"
#include "rules/rules.h"
#include "taso/taso.h"

static int fails = 0;
#define CHECK(c)                                                       \
  do {                                                                 \
    if (!(c)) {                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
      fails++;                                                         \
    }                                                                  \
  } while (0)

/* The hand-written rule set (docs/rules-format.md, text form). */
static const char RULES[] =
    "r0 proven x0:matrix x1:matrix | ewadd(x0,x1) -> %0 => ewadd(x1,x0) -> %0\n"
    "r1 proven x0:any/2 x1:matrix x2:matrix | matmul(x0,x1) ; matmul(x0,x2) -> %0 %1 => concat{axis=1}(x1,x2) ; "
    "matmul(x0,%0) ; split:2{axis=1,parts=2}(%1) -> %2.0 %2.1\n"
    "r2 proven x0:act4 x1:kernel x2:kernel | conv2d(x0,x1) ; conv2d(x0,x2) -> %0 %1 => concat{axis=0}(x1,x2) ; "
    "conv2d(x0,%0) ; split:2{axis=1,parts=2}(%1) -> %2.0 %2.1\n"
    "r3 proven x0:act4 x1:kernel x2:any/4 | conv2d(x0,x1) ; conv2d(x0,x2) -> %0 %1 => enlarge{kernel=3x3}(x2) ; "
    "concat{axis=0}(x1,%0) ; conv2d(x0,%1) ; split:2{axis=1,parts=2}(%2) -> %3.0 %3.1\n"
    "r4 proven x0:act4 x1:kernel | conv2d(x0,x1) ; relu(%0) -> %1 => conv2d{act=relu}(x0,x1) -> %0\n"
    "r5 proven x0:act4 | split:2{axis=1,parts=2}(x0) ; concat{axis=1}(%0.0,%0.1) -> %1 => x0\n"
    "r6 proven x0:any/2 | split:2{axis=1,parts=2}(x0) ; concat{axis=1}(%0.0,%0.1) -> %1 => x0\n"
    "r7 proven x0:act4 x1:kernel x2:any/4 | conv2d{act=relu}(x0,x1) ; conv2d{act=relu}(x0,x2) -> %0 %1 => "
    "enlarge{kernel=3x3}(x2) ; concat{axis=0}(x1,%0) ; conv2d{act=relu}(x0,%1) ; split:2{axis=1,parts=2}(%2) -> "
    "%3.0 %3.1\n"
    "r8 proven x0:matrix x1:matrix x2:matrix | matmul(x0,x1) ; matmul(x0,x2) ; ewadd(%0,%1) -> %2 => "
    "ewadd(x1,x2) ; matmul(x0,%0) -> %1\n";

/* A deliberately wrong rule: drops a relu. */
static const char WRONG[] = "r9 proven x0:act4 | relu(x0) -> %0 => x0\n";

static tsoR_Set rules;

/* ---- graph building --------------------------------------------------------- */

static uint64_t rng = 0x1234567;
static float frand(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(rng >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

static tsoO_Shape shp(int r, const int64_t *d) {
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  s.rank = r;
  for (int i = 0; i < r; i++) s.d[i] = d[i];
  return s;
}

static int32_t input(tsoI_Graph *g, const char *name, int r, const int64_t *d) {
  tsoO_Shape s = shp(r, d);
  return tsoI_add_input(g, name, TSO_DT_FLOAT, &s);
}

/* A float constant of random values in [lo, hi). */
static int32_t rconst(tsoI_Graph *g, int r, const int64_t *d, float lo, float hi) {
  tsoO_Shape s = shp(r, d);
  int64_t n = tsoO_numel(&s);
  float *v = malloc((size_t)n * sizeof *v + 1);
  for (int64_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * (frand() + 1.0f) / 2.0f;
  int32_t t = tsoI_add_const(g, "", TSO_DT_FLOAT, &s, v, (size_t)n * sizeof *v, 1);
  free(v);
  return t;
}

/* A node with one output; returns the output tensor. */
static int32_t op(tsoI_Graph *g, int o, const tsoO_Params *p, const int32_t *in, int nin) {
  int32_t out;
  int32_t id = tsoI_add_op(g, o, p, in, nin, 1, &out);
  if (id < 0) fprintf(stderr, "builder: %s\n", g->err);
  return out;
}

static int32_t op2(tsoI_Graph *g, int o, int32_t a, int32_t b) {
  int32_t in[2] = {a, b};
  return op(g, o, NULL, in, 2);
}

static tsoO_Params conv_p(int act) {
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = p.win.group = 1;
  p.win.pad_mode = TSO_PAD_SAME_UPPER;
  p.win.act = act;
  return p;
}

static int32_t conv(tsoI_Graph *g, int32_t x, int32_t w, int32_t b) {
  tsoO_Params p = conv_p(0);
  int32_t in[3] = {x, w, b};
  return op(g, TSO_OP_CONV2D, &p, in, b >= 0 ? 3 : 2);
}

static int32_t unary(tsoI_Graph *g, int o, int32_t x) {
  return op(g, o, NULL, &x, 1);
}

static int32_t concat(tsoI_Graph *g, int axis, int32_t a, int32_t b) {
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  p.axis.axis = axis;
  int32_t in[2] = {a, b};
  return op(g, TSO_OP_CONCAT, &p, in, 2);
}

static int live(const tsoI_Graph *g, int o) {
  int n = 0;
  for (int32_t i = 0; i < g->nn; i++) n += !(g->n[i].flags & TSO_N_DEAD) && g->n[i].op == o;
  return n;
}

static int live_all(const tsoI_Graph *g) {
  int n = 0;
  for (int32_t i = 0; i < g->nn; i++) n += !(g->n[i].flags & TSO_N_DEAD);
  return n;
}

/* Prefold + lower + compact + infer a copy of g; NULL on failure. */
static tsoI_Graph *finished(tsoI_Graph *g) {
  char err[TSO_ERRMAX];
  tsoI_Graph *h = tsoI_clone(g);
  if (!h) return NULL;
  if (tsoS_lower_layouts(h, err) < 0 || tsoS_prefold(h, err) < 0 || tsoS_lower(h, err) < 0 || tsoI_compact(h) != TSO_OK || tsoI_check(h) != TSO_OK ||
      tsoI_infer(h) != TSO_OK) {
    fprintf(stderr, "finish: %s %s\n", err, h->err);
    tsoI_free(h);
    return NULL;
  }
  return h;
}

/* 1 when a and b agree on random inputs. */
static int agree(tsoI_Graph *a, tsoI_Graph *b) {
  tsoI_CompareResult cr;
  tso_status st = tsoI_compare(a, b, 99, 1e-3, 1e-4, &cr);
  if (st != TSO_OK || !cr.ran || cr.unchecked) fprintf(stderr, "compare: %s (%s)\n", tso_status_str(st), cr.note);
  return st == TSO_OK && cr.ran && !cr.unchecked;
}

/* ---- 1. every rule on a small graph ------------------------------------------- */

typedef struct First {
  tsoS_Match m;
  int n;
} First;

static int take_first(void *ud, const tsoS_Match *m) {
  First *f = ud;
  if (f->n++ == 0) f->m = *m;
  return 0;
}

/* Applies rule r (index in `set`) once to g and checks that the outputs do
** not change and that undo restores the graph exactly. Returns matches. */
static int apply_rule(tsoI_Graph *g, const tsoR_Set *set, uint32_t r, int expect_matches) {
  char err[TSO_ERRMAX];
  CHECK(tsoI_infer(g) == TSO_OK);
  tsoS_Index ix;
  memset(&ix, 0, sizeof ix);
  CHECK(tsoS_index_build(&ix, g, err) == TSO_OK);
  First f;
  memset(&f, 0, sizeof f);
  int n = tsoS_find_matches(g, &ix, &set->r[r], r, take_first, &f, NULL, err);
  if (n != expect_matches) fprintf(stderr, "rule %u: %d matches, expected %d\n", r, n, expect_matches);
  CHECK(n == expect_matches);
  if (n > 0) {
    /* journaled apply + undo restores the graph */
    uint64_t h0 = tsoI_hash(g);
    int32_t nn = g->nn, nt = g->nt;
    tsoI_Node *copy = malloc((size_t)nn * sizeof *copy);
    memcpy(copy, g->n, (size_t)nn * sizeof *copy);
    tsoS_Journal j;
    memset(&j, 0, sizeof j);
    CHECK(tsoS_apply(g, &set->r[r], &f.m, &j, NULL, NULL, err) == TSO_OK);
    tsoS_undo(g, &j);
    tsoS_journal_free(&j);
    CHECK(g->nn == nn && g->nt == nt && tsoI_hash(g) == h0 && !memcmp(copy, g->n, (size_t)nn * sizeof *copy));
    free(copy);
    /* permanent apply on a copy: same outputs */
    tsoI_Graph *h = tsoI_clone(g);
    CHECK(tsoS_apply(h, &set->r[r], &f.m, NULL, NULL, NULL, err) == TSO_OK);
    CHECK(tsoI_compact(h) == TSO_OK && tsoI_check(h) == TSO_OK && tsoI_infer(h) == TSO_OK);
    tsoI_Graph *fin = finished(h);
    CHECK(fin != NULL);
    if (fin) {
      CHECK(agree(g, fin));
      for (int32_t i = 0; i < fin->nn; i++) CHECK(tsoO_info(fin->n[i].op)->onnx[0] != 0);
    }
    tsoI_free(fin);
    tsoI_free(h);
  }
  tsoS_index_free(&ix);
  return n;
}

static void test_each_rule(void) {
  int64_t m46[2] = {4, 6}, x816[2] = {8, 16}, w164[2] = {16, 4}, a[4] = {1, 4, 6, 6}, k3[4] = {4, 4, 3, 3},
          k1[4] = {4, 4, 1, 1};
  tsoI_Graph *g;
  /* r0 commutativity */
  g = tsoI_new();
  int32_t A = input(g, "a", 2, m46), B = input(g, "b", 2, m46);
  tsoI_mark_output(g, op2(g, TSO_OP_ADD, A, B));
  apply_rule(g, &rules, 0, 2); /* both operand orders are tried */
  tsoI_free(g);
  /* r1 matmul merge: two matmuls sharing an input */
  g = tsoI_new();
  int32_t X = input(g, "x", 2, x816), W1 = rconst(g, 2, w164, -1, 1), W2 = rconst(g, 2, w164, -1, 1);
  tsoI_mark_output(g, op2(g, TSO_OP_MATMUL, X, W1));
  tsoI_mark_output(g, op2(g, TSO_OP_MATMUL, X, W2));
  apply_rule(g, &rules, 1, 2); /* (W1, W2) and (W2, W1) */
  tsoI_free(g);
  /* r1 refused: the weights have different shapes (shape classes) */
  g = tsoI_new();
  int64_t w165[2] = {16, 5};
  X = input(g, "x", 2, x816);
  W1 = rconst(g, 2, w164, -1, 1);
  W2 = rconst(g, 2, w165, -1, 1);
  tsoI_mark_output(g, op2(g, TSO_OP_MATMUL, X, W1));
  tsoI_mark_output(g, op2(g, TSO_OP_MATMUL, X, W2));
  apply_rule(g, &rules, 1, 0);
  tsoI_free(g);
  /* r2 conv merge of two 3x3 convs sharing an input */
  g = tsoI_new();
  int32_t x = input(g, "x", 4, a), K1 = rconst(g, 4, k3, -1, 1), K2 = rconst(g, 4, k3, -1, 1);
  tsoI_mark_output(g, conv(g, x, K1, -1));
  tsoI_mark_output(g, conv(g, x, K2, -1));
  apply_rule(g, &rules, 2, 2);
  tsoI_free(g);
  /* r3 3x3 + 1x1 sharing an input: enlarge + concat + split */
  g = tsoI_new();
  x = input(g, "x", 4, a);
  K1 = rconst(g, 4, k3, -1, 1);
  K2 = rconst(g, 4, k1, -1, 1);
  tsoI_mark_output(g, conv(g, x, K1, -1));
  tsoI_mark_output(g, conv(g, x, K2, -1));
  apply_rule(g, &rules, 3, 1); /* the other order would enlarge a 3x3 kernel to 3x3 and concat a 1x1: refused */
  tsoI_free(g);
  /* r4 conv + relu; a conv whose output is also used elsewhere does not match */
  g = tsoI_new();
  x = input(g, "x", 4, a);
  K1 = rconst(g, 4, k3, -1, 1);
  int32_t c = conv(g, x, K1, -1);
  tsoI_mark_output(g, unary(g, TSO_OP_RELU, c));
  apply_rule(g, &rules, 4, 1);
  tsoI_mark_output(g, c);
  apply_rule(g, &rules, 4, 0);
  tsoI_free(g);
  /* r5 split then concat of the halves; the concat is read by a relu */
  g = tsoI_new();
  x = input(g, "x", 4, a);
  tsoO_Params sp;
  memset(&sp, 0, sizeof sp);
  sp.split.axis = 1;
  sp.split.sizes[0] = 2;
  int32_t parts[2];
  tsoI_add_op(g, TSO_OP_SPLIT, &sp, &x, 1, 2, parts);
  tsoI_mark_output(g, unary(g, TSO_OP_RELU, concat(g, 1, parts[0], parts[1])));
  apply_rule(g, &rules, 5, 1);
  tsoI_free(g);
  /* r8 matmul distributivity: x*W1 + x*W2 = x*(W1+W2) (square weights: one shape class) */
  g = tsoI_new();
  int64_t sq[2] = {8, 8};
  X = input(g, "x", 2, sq);
  W1 = rconst(g, 2, sq, -1, 1);
  W2 = rconst(g, 2, sq, -1, 1);
  tsoI_mark_output(g, op2(g, TSO_OP_ADD, op2(g, TSO_OP_MATMUL, X, W1), op2(g, TSO_OP_MATMUL, X, W2)));
  apply_rule(g, &rules, 8, 2);
  tsoI_free(g);
}

/* Cycles: matmul(x, W1) feeds the other matmul's left operand through a
** relu: merging them would make the merged matmul read its own output. */
static void test_cycle(void) {
  int64_t sq[2] = {8, 8};
  tsoI_Graph *g = tsoI_new();
  int32_t X = input(g, "x", 2, sq), W1 = rconst(g, 2, sq, -1, 1), W2 = rconst(g, 2, sq, -1, 1);
  int32_t y1 = op2(g, TSO_OP_MATMUL, X, W1);
  int32_t y2 = op2(g, TSO_OP_MATMUL, unary(g, TSO_OP_RELU, y1), W2);
  tsoI_mark_output(g, y1);
  tsoI_mark_output(g, y2);
  /* rule: matmul(x0,x1) ; matmul(x2,x1) with x2 = relu(first output) would be a cycle */
  tsoR_Set s;
  memset(&s, 0, sizeof s);
  char err[TSO_ERRMAX];
  const char *t = "r0 proven x0:matrix x1:matrix x2:matrix | matmul(x0,x1) ; matmul(x2,x1) -> %0 %1 => "
                  "concat{axis=0}(x0,x2) ; matmul(%0,x1) ; split:2{axis=0,parts=2}(%1) -> %2.0 %2.1\n";
  CHECK(tsoR_parse_text_set(t, strlen(t), &s, err) == TSO_OK);
  /* same weights needed for a structural match: rebuild with W2 = W1 */
  tsoI_free(g);
  g = tsoI_new();
  X = input(g, "x", 2, sq);
  W1 = rconst(g, 2, sq, -1, 1);
  (void)W2;
  y1 = op2(g, TSO_OP_MATMUL, X, W1);
  y2 = op2(g, TSO_OP_MATMUL, unary(g, TSO_OP_RELU, y1), W1);
  tsoI_mark_output(g, y1);
  tsoI_mark_output(g, y2);
  CHECK(tsoI_infer(g) == TSO_OK);
  tsoS_Index ix;
  memset(&ix, 0, sizeof ix);
  CHECK(tsoS_index_build(&ix, g, err) == TSO_OK);
  tsoS_MatchStats ms;
  memset(&ms, 0, sizeof ms);
  int n = tsoS_find_matches(g, &ix, &s.r[0], 0, NULL, NULL, &ms, err);
  CHECK(n == 0);
  CHECK(ms.cycle >= 1);
  tsoS_index_free(&ix);
  tsoI_free(g);
  tsoR_set_free(&s);
  /* a pattern input computed by the first matched node itself */
  memset(&s, 0, sizeof s);
  t = "r0 proven x0:matrix x1:matrix | relu(x0) ; relu(x1) -> %0 %1 => relu(x0) ; relu(x1) -> %0 %1\n";
  CHECK(tsoR_parse_text_set(t, strlen(t), &s, err) == TSO_OK);
  g = tsoI_new();
  X = input(g, "x", 2, sq);
  y1 = unary(g, TSO_OP_RELU, X);
  tsoI_mark_output(g, y1);
  tsoI_mark_output(g, unary(g, TSO_OP_RELU, y1));
  CHECK(tsoI_infer(g) == TSO_OK);
  memset(&ix, 0, sizeof ix);
  CHECK(tsoS_index_build(&ix, g, err) == TSO_OK);
  memset(&ms, 0, sizeof ms);
  CHECK(tsoS_find_matches(g, &ix, &s.r[0], 0, NULL, NULL, &ms, err) == 0);
  CHECK(ms.cycle == 2);
  tsoS_index_free(&ix);
  tsoI_free(g);
  tsoR_set_free(&s);
}

/* An opaque node is never matched, and a rewrite never needs one. */
static void test_barrier(void) {
  int64_t a[4] = {1, 4, 6, 6}, k3[4] = {4, 4, 3, 3};
  tsoI_Graph *g = tsoI_new();
  int32_t x = input(g, "x", 4, a), K = rconst(g, 4, k3, -1, 1);
  int32_t c = conv(g, x, K, -1);
  int32_t o;
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  p.opaque.nexplicit = 1;
  tsoI_add_op(g, TSO_OP_OPAQUE, &p, &c, 1, 1, &o);
  g->t[o].dtype = TSO_DT_FLOAT;
  g->t[o].shape = g->t[c].shape;
  tsoI_mark_output(g, unary(g, TSO_OP_RELU, o));
  apply_rule(g, &rules, 4, 0);
  tsoI_free(g);
}

/* ---- 2. the search ---------------------------------------------------------------- */

static tsoC_Backend *roofline(double overhead_us) {
  tsoC_Roofline r;
  tsoC_roofline_init(&r);
  r.overhead_us = overhead_us;
  return tsoC_analytic_create(&r);
}

/* Two matmuls sharing an input, their outputs concatenated. */
static tsoI_Graph *matmul_graph(void) {
  int64_t xs[2] = {64, 128}, ws[2] = {128, 32};
  tsoI_Graph *g = tsoI_new();
  int32_t X = input(g, "x", 2, xs), W1 = rconst(g, 2, ws, -1, 1), W2 = rconst(g, 2, ws, -1, 1);
  int32_t c = concat(g, 1, op2(g, TSO_OP_MATMUL, X, W1), op2(g, TSO_OP_MATMUL, X, W2));
  tsoI_mark_output(g, unary(g, TSO_OP_TANH, c));
  tsoI_infer(g);
  return g;
}

/* A 3x3 and a 1x1 conv sharing an input, each with a relu, concatenated. */
static tsoI_Graph *conv_graph(void) {
  int64_t a[4] = {1, 8, 8, 8}, k3[4] = {4, 8, 3, 3}, k1[4] = {4, 8, 1, 1};
  tsoI_Graph *g = tsoI_new();
  int32_t x = input(g, "x", 4, a), K1 = rconst(g, 4, k3, -1, 1), K2 = rconst(g, 4, k1, -1, 1);
  int32_t y1 = unary(g, TSO_OP_RELU, conv(g, x, K1, -1)), y2 = unary(g, TSO_OP_RELU, conv(g, x, K2, -1));
  tsoI_mark_output(g, unary(g, TSO_OP_TANH, concat(g, 1, y1, y2)));
  tsoI_infer(g);
  return g;
}

static tso_status run_search(tsoI_Graph *g, tsoC_Backend *be, double alpha, int budget, tsoI_Graph **best,
                             tsoS_Result *res) {
  char err[TSO_ERRMAX];
  tsoS_Options o;
  tsoS_options_init(&o);
  o.be = be;
  o.alpha = alpha;
  o.budget = budget;
  tso_status st = tsoS_search(g, &rules, &o, best, res, err);
  if (st != TSO_OK) fprintf(stderr, "search: %s\n", err);
  return st;
}

static void test_search_matmul(void) {
  tsoI_Graph *g = matmul_graph(), *best = NULL;
  tsoC_Backend *be = tsoC_analytic_create(NULL);
  tsoS_Result res;
  CHECK(run_search(g, be, 1.05, 1000, &best, &res) == TSO_OK);
  CHECK(best && tsoI_infer(best) == TSO_OK);
  if (best) {
    tsoI_Graph *fin = finished(best);
    CHECK(fin != NULL);
    if (fin) {
      CHECK(live(fin, TSO_OP_MATMUL) == 1);
      CHECK(live(fin, TSO_OP_SPLIT) == 0 && live(fin, TSO_OP_CONCAT) == 0);
      CHECK(live_all(fin) == 2); /* matmul, tanh */
      CHECK(agree(g, fin));
    }
    tsoI_free(fin);
  }
  CHECK(res.cost_after < res.cost_before);
  CHECK(res.nsteps == 2 && res.steps[0].rule == 1 && res.steps[1].rule == 6);
  printf("search matmul: %.4f -> %.4f ms, %lld expanded, %lld kept, %lld pruned, %lld duplicates\n", res.cost_before,
         res.cost_after, (long long)res.expanded, (long long)res.kept, (long long)res.pruned_alpha,
         (long long)res.duplicates);
  tsoS_result_free(&res);
  tsoI_free(best);
  tsoC_backend_free(be);
  tsoI_free(g);
}

static void test_search_conv(void) {
  tsoI_Graph *g = conv_graph(), *best = NULL;
  tsoC_Backend *be = roofline(20.0); /* launch-bound, as on a GPU: fewer kernels win */
  tsoS_Result res;
  CHECK(run_search(g, be, 1.05, 1000, &best, &res) == TSO_OK);
  if (best) {
    CHECK(tsoI_infer(best) == TSO_OK);
    CHECK(live(best, TSO_OP_CONV2D) == 1 && live(best, TSO_OP_RELU) == 0 && live(best, TSO_OP_SPLIT) == 0);
    tsoI_Graph *fin = finished(best);
    CHECK(fin != NULL);
    if (fin) {
      CHECK(live(fin, TSO_OP_CONV2D) == 1 && live(fin, TSO_OP_RELU) == 1 && live(fin, TSO_OP_CONCAT) == 0 &&
            live(fin, TSO_OP_ENLARGE) == 0);
      CHECK(live_all(fin) == 3); /* Conv, Relu, Tanh */
      CHECK(agree(g, fin));
    }
    tsoI_free(fin);
  }
  CHECK(res.cost_after < res.cost_before);
  printf("search conv: %.4f -> %.4f ms in %d rewrites, %lld expanded, %lld kept, %lld pruned, %lld duplicates\n",
         res.cost_before, res.cost_after, res.nsteps, (long long)res.expanded, (long long)res.kept,
         (long long)res.pruned_alpha, (long long)res.duplicates);
  double best_cost = res.cost_after;
  tsoS_result_free(&res);
  tsoI_free(best);
  best = NULL;
  /* alpha 1: only strictly improving rewrites are explored; the merge
  ** step costs more than the graph it comes from, so the best graph is
  ** out of reach (the conv+relu fusions alone are found) */
  CHECK(run_search(g, be, 1.0, 1000, &best, &res) == TSO_OK);
  CHECK(res.cost_after > best_cost && res.cost_after < res.cost_before);
  CHECK(res.pruned_alpha > 0);
  int64_t kept1 = res.kept;
  tsoS_result_free(&res);
  tsoI_free(best);
  best = NULL;
  /* a larger alpha keeps more */
  CHECK(run_search(g, be, 1.5, 1000, &best, &res) == TSO_OK);
  CHECK(res.kept >= kept1 && res.cost_after <= best_cost + 1e-12);
  tsoS_result_free(&res);
  tsoI_free(best);
  best = NULL;
  /* budget: at most that many graphs expanded */
  CHECK(run_search(g, be, 1.05, 1, &best, &res) == TSO_OK);
  CHECK(res.expanded == 1 && res.stopped_by == 1 && res.nsteps <= 1);
  tsoS_result_free(&res);
  tsoI_free(best);
  best = NULL;
  CHECK(run_search(g, be, 1.05, 3, &best, &res) == TSO_OK);
  CHECK(res.expanded == 3 && res.nsteps <= 3);
  tsoS_result_free(&res);
  tsoI_free(best);
  best = NULL;
  /* replay of the steps gives the same graph */
  CHECK(run_search(g, be, 1.05, 1000, &best, &res) == TSO_OK);
  tsoI_Graph *rp = NULL;
  char err[TSO_ERRMAX];
  CHECK(tsoS_replay(g, &rules, &res, res.nsteps, &rp, err) == TSO_OK);
  CHECK(rp && best && tsoI_hash(rp) == tsoI_hash(best));
  tsoI_free(rp);
  tsoS_result_free(&res);
  tsoI_free(best);
  tsoC_backend_free(be);
  tsoI_free(g);
}

/* ---- 3. fusion passes ----------------------------------------------------------------- */

/* ---- layouts ------------------------------------------------------------------- */

/* X @ transpose(B) with B a graph input, then tanh: storing the transpose's
** result column-major makes it a view, and the MatMul becomes a Gemm with
** transB that reads B itself. */
static void test_layouts(void) {
  /* what the operators declare */
  CHECK(tsoL_supported(TSO_OP_GEMM, 0, 1, 2, 2) & TSO_LAYOUT_BIT(TSO_LAYOUT_COLMAJOR));
  CHECK(tsoL_supported(TSO_OP_MATMUL, 0, 0, 2, 2) & TSO_LAYOUT_BIT(TSO_LAYOUT_COLMAJOR));
  CHECK(tsoL_supported(TSO_OP_MATMUL, 0, 0, 3, 3) == TSO_LAYOUT_BIT(TSO_LAYOUT_DEFAULT)); /* no trans flags in ONNX */
  CHECK(tsoL_supported(TSO_OP_MATMUL, 0, 1, 2, 3) == TSO_LAYOUT_BIT(TSO_LAYOUT_DEFAULT)); /* 2-D weight of a 3-D MatMul */
  CHECK(tsoL_supported(TSO_OP_MATMUL, 1, 0, 2, 2) == TSO_LAYOUT_BIT(TSO_LAYOUT_DEFAULT));
  CHECK(tsoL_supported(TSO_OP_CONV2D, 0, 0, 4, 4) & TSO_LAYOUT_BIT(TSO_LAYOUT_NHWC));
  CHECK(tsoL_supported(TSO_OP_CONV2D, 0, 1, 4, 4) == TSO_LAYOUT_BIT(TSO_LAYOUT_DEFAULT)); /* weights */
  CHECK(tsoL_supported(TSO_OP_SOFTMAX, 0, 0, 2, 2) == TSO_LAYOUT_BIT(TSO_LAYOUT_DEFAULT));
  int p10[2] = {1, 0}, p01[2] = {0, 1}, p0231[4] = {0, 2, 3, 1};
  CHECK(tsoL_transpose_is_view(p10, 2, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_COLMAJOR));
  CHECK(tsoL_transpose_is_view(p01, 2, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_DEFAULT));
  CHECK(!tsoL_transpose_is_view(p10, 2, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_DEFAULT));
  CHECK(!tsoL_transpose_is_view(p01, 2, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_COLMAJOR));
  CHECK(tsoL_transpose_is_view(p0231, 4, TSO_LAYOUT_NHWC, TSO_LAYOUT_DEFAULT));
  CHECK(!tsoL_transpose_is_view(p0231, 4, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_DEFAULT));
  int64_t v1[2] = {1, 512}, m2[2] = {4, 512}, n1[4] = {1, 1, 7, 7};
  CHECK(tsoL_same_storage(2, v1, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_COLMAJOR)); /* a row vector either way */
  CHECK(!tsoL_same_storage(2, m2, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_COLMAJOR));
  CHECK(tsoL_same_storage(4, n1, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_NHWC)); /* one channel */

  int64_t xs[2] = {64, 128}, bs[2] = {96, 128};
  tsoI_Graph *g = tsoI_new();
  int32_t X = input(g, "x", 2, xs), B = input(g, "b", 2, bs);
  int32_t bt = unary(g, TSO_OP_TRANSPOSE, B);
  tsoI_mark_output(g, unary(g, TSO_OP_TANH, op2(g, TSO_OP_MATMUL, X, bt)));
  CHECK(tsoI_infer(g) == TSO_OK);
  /* a stored layout is part of the structural hash */
  uint64_t h0 = tsoI_hash(g);
  g->t[bt].layout = TSO_LAYOUT_COLMAJOR;
  CHECK(tsoI_hash(g) != h0);
  g->t[bt].layout = TSO_LAYOUT_DEFAULT;
  CHECK(tsoI_hash(g) == h0);

  tsoC_Backend *be = tsoC_analytic_create(NULL);
  tsoI_Graph *best = NULL;
  tsoS_Result res;
  CHECK(run_search(g, be, 1.05, 100, &best, &res) == TSO_OK);
  int moves = 0;
  for (int i = 0; i < res.nsteps; i++) moves += res.steps[i].rule == TSO_S_LAYOUT;
  CHECK(moves == 1 && res.nsteps == 1 && res.steps[0].tensor == bt && res.steps[0].layout == TSO_LAYOUT_COLMAJOR);
  CHECK(res.layout_moves > 0 && res.cost_after < res.cost_before);
  if (best) {
    CHECK(best->t[bt].layout == TSO_LAYOUT_COLMAJOR);
    tsoI_Graph *fin = finished(best);
    CHECK(fin != NULL);
    if (fin) {
      CHECK(live(fin, TSO_OP_TRANSPOSE) == 0 && live(fin, TSO_OP_MATMUL) == 0 && live(fin, TSO_OP_GEMM) == 1);
      for (int32_t i = 0; i < fin->nn; i++)
        if (!(fin->n[i].flags & TSO_N_DEAD) && fin->n[i].op == TSO_OP_GEMM) {
          CHECK(fin->n[i].p.gemm.trans_b == 1 && fin->n[i].p.gemm.trans_a == 0);
          CHECK(TSO_IN(fin, &fin->n[i], 1) == B);
        }
      for (int32_t t = 0; t < fin->nt; t++) CHECK(fin->t[t].layout == TSO_LAYOUT_DEFAULT);
      CHECK(agree(g, fin));
    }
    tsoI_free(fin);
  }
  /* the replayed path gives the same stored layouts */
  tsoI_Graph *rep = NULL;
  char err[TSO_ERRMAX];
  CHECK(tsoS_replay(g, &rules, &res, res.nsteps, &rep, err) == TSO_OK);
  if (rep && best) CHECK(tsoI_hash(rep) == tsoI_hash(best));
  tsoI_free(rep);
  printf("layouts: %.4f -> %.4f ms, %lld layout moves evaluated\n", res.cost_before, res.cost_after,
         (long long)res.layout_moves);
  tsoS_result_free(&res);
  tsoI_free(best);
  best = NULL;
  /* without layouts the transpose stays */
  tsoS_Options o;
  tsoS_options_init(&o);
  o.be = be;
  o.no_layouts = 1;
  CHECK(tsoS_search(g, &rules, &o, &best, &res, err) == TSO_OK);
  CHECK(res.layout_moves == 0 && res.nsteps == 0);
  if (best) CHECK(live(best, TSO_OP_TRANSPOSE) == 1);
  tsoS_result_free(&res);
  tsoI_free(best);
  tsoC_backend_free(be);
  tsoI_free(g);
}

/* The flattening pre pass: two projections of one 3-D activation (one
** with a bias) become 2-D products sharing one Reshape; the reshape chains
** it leaves collapse when lowered. */
static void test_flatten(void) {
  int64_t xs[3] = {2, 3, 8}, ws[2] = {8, 6}, bs[1] = {6};
  tsoI_Graph *g = tsoI_new();
  int32_t X = input(g, "x", 3, xs), W1 = rconst(g, 2, ws, -1, 1), W2 = rconst(g, 2, ws, -1, 1);
  int32_t B = rconst(g, 1, bs, -1, 1);
  int32_t y1 = op2(g, TSO_OP_ADD, op2(g, TSO_OP_MATMUL, X, W1), B), y2 = op2(g, TSO_OP_MATMUL, X, W2);
  tsoI_mark_output(g, y1);
  tsoI_mark_output(g, unary(g, TSO_OP_TANH, y2));
  CHECK(tsoI_infer(g) == TSO_OK);
  tsoI_Graph *h = tsoI_clone(g);
  char err[TSO_ERRMAX];
  CHECK(tsoS_flatten_matmuls(h, err) == 2);
  CHECK(tsoI_compact(h) == TSO_OK && tsoI_check(h) == TSO_OK && tsoI_infer(h) == TSO_OK);
  CHECK(live(h, TSO_OP_RESHAPE) == 3 && live(h, TSO_OP_MATMUL) == 2 && live(h, TSO_OP_ADD) == 1);
  for (int32_t i = 0; i < h->nn; i++)
    if (!(h->n[i].flags & TSO_N_DEAD) && (h->n[i].op == TSO_OP_MATMUL || h->n[i].op == TSO_OP_ADD))
      CHECK(h->t[TSO_OUT(h, &h->n[i], 0)].shape.rank == 2);
  CHECK(!strcmp(h->t[h->outputs[0]].name, g->t[g->outputs[0]].name)); /* outputs keep their names */
  CHECK(agree(g, h));
  /* Reshape of a Reshape: one Reshape once lowered */
  int64_t ss[2] = {6, 8}, s2[2] = {3, 16};
  tsoI_Graph *r = tsoI_new();
  int32_t x = input(r, "x", 3, xs);
  tsoO_Shape sv = shp(1, (int64_t[]){2});
  int32_t c1 = tsoI_add_const(r, "", TSO_DT_INT64, &sv, ss, sizeof ss, 1), c2 = tsoI_add_const(r, "", TSO_DT_INT64, &sv, s2, sizeof s2, 1);
  tsoI_mark_output(r, unary(r, TSO_OP_TANH, op2(r, TSO_OP_RESHAPE, op2(r, TSO_OP_RESHAPE, x, c1), c2)));
  CHECK(tsoI_infer(r) == TSO_OK);
  tsoI_Graph *fin = finished(r);
  CHECK(fin && live(fin, TSO_OP_RESHAPE) == 1 && agree(r, fin));
  tsoI_free(fin);
  tsoI_free(r);
  tsoI_free(h);
  tsoI_free(g);
}

/* Counts the valid matches of one rule (a tsoS_MatchFn), keeping the first. */
typedef struct Found {
  int n;
  tsoS_Match m;
} Found;
static int found_one(void *ud, const tsoS_Match *m) {
  Found *f = ud;
  if (f->n++ == 0) f->m = *m;
  return 0;
}

/* With the shipped rules: (1) two matmuls of one activation by two weights
** of one shape -- not square, not the activation's shape -- concatenated:
** the search merges them on a launch-bound cost model (the refined shape
** classes let the rule apply); (2) the same two matmuls as separate
** outputs: a reversed rule (every shipped rule points at the smaller
** graph) rewrites them into one matmul and a split, and the result
** computes the same. */
static void test_shipped_merge(const char *path) {
  tsoR_Set shipped;
  memset(&shipped, 0, sizeof shipped);
  char err[TSO_ERRMAX];
  if (tsoR_read(path, &shipped, err) != TSO_OK) {
    fprintf(stderr, "shipped rules: %s\n", err);
    fails++;
    return;
  }
  uint32_t n0 = shipped.n;
  CHECK(tsoS_reverse_rules(&shipped) > 0 && shipped.n > n0);
  int64_t xs[2] = {16, 32}, ws[2] = {32, 24};
  tsoC_Backend *be = roofline(20.0);
  /* (1) */
  tsoI_Graph *g = tsoI_new();
  int32_t X = input(g, "x", 2, xs), W1 = rconst(g, 2, ws, -1, 1), W2 = rconst(g, 2, ws, -1, 1);
  tsoI_mark_output(g, unary(g, TSO_OP_TANH, concat(g, 1, op2(g, TSO_OP_MATMUL, X, W1), op2(g, TSO_OP_MATMUL, X, W2))));
  CHECK(tsoI_infer(g) == TSO_OK);
  tsoS_Options o;
  tsoS_options_init(&o);
  o.be = be;
  o.budget = 200;
  tsoI_Graph *best = NULL;
  tsoS_Result res;
  CHECK(tsoS_search(g, &shipped, &o, &best, &res, err) == TSO_OK);
  if (best) {
    tsoI_Graph *fin = finished(best);
    CHECK(fin && live(fin, TSO_OP_MATMUL) == 1 && live(fin, TSO_OP_CONCAT) == 0 && agree(g, fin));
    tsoI_free(fin);
  }
  CHECK(res.cost_after < res.cost_before);
  printf("shipped merge: %.4f -> %.4f ms in %d rewrites\n", res.cost_before, res.cost_after, res.nsteps);
  tsoS_result_free(&res);
  tsoI_free(best);
  tsoI_free(g);
  /* (2) */
  g = tsoI_new();
  X = input(g, "x", 2, xs);
  W1 = rconst(g, 2, ws, -1, 1);
  W2 = rconst(g, 2, ws, -1, 1);
  tsoI_mark_output(g, unary(g, TSO_OP_TANH, op2(g, TSO_OP_MATMUL, X, W1)));
  tsoI_mark_output(g, unary(g, TSO_OP_RELU, op2(g, TSO_OP_MATMUL, X, W2)));
  CHECK(tsoI_infer(g) == TSO_OK);
  tsoS_Index ix;
  memset(&ix, 0, sizeof ix);
  CHECK(tsoS_index_build(&ix, g, err) == TSO_OK);
  int merged = 0;
  for (uint32_t r = n0; r < shipped.n && !merged; r++) {
    const tsoR_Rule *rr = &shipped.r[r];
    if (rr->src.nops != 2 || rr->src.ops[0].op != TSO_OP_MATMUL || rr->src.ops[1].op != TSO_OP_MATMUL) continue;
    Found f;
    memset(&f, 0, sizeof f);
    if (tsoS_find_matches(g, &ix, rr, r, found_one, &f, NULL, err) <= 0) continue;
    tsoI_Graph *h = tsoI_clone(g);
    CHECK(h && tsoS_apply(h, rr, &f.m, NULL, NULL, NULL, err) == TSO_OK);
    if (h && tsoI_compact(h) == TSO_OK && tsoI_infer(h) == TSO_OK) {
      merged = live(h, TSO_OP_MATMUL) == 1 && live(h, TSO_OP_SPLIT) == 1;
      CHECK(agree(g, h));
    }
    tsoI_free(h);
  }
  CHECK(merged);
  tsoS_index_free(&ix);
  tsoC_backend_free(be);
  tsoI_free(g);
  tsoR_set_free(&shipped);
}

static void test_fuse_conv_bn(void) {
  int64_t a[4] = {1, 4, 6, 6}, k3[4] = {5, 4, 3, 3}, c5[1] = {5};
  for (int with_bias = 0; with_bias < 2; with_bias++) {
    tsoI_Graph *g = tsoI_new();
    int32_t x = input(g, "x", 4, a), K = rconst(g, 4, k3, -1, 1);
    int32_t b = with_bias ? rconst(g, 1, c5, -1, 1) : -1;
    int32_t c = conv(g, x, K, b);
    tsoO_Params p;
    memset(&p, 0, sizeof p);
    p.norm.epsilon = 1e-5f;
    int32_t in[5] = {c, rconst(g, 1, c5, 0.5f, 2), rconst(g, 1, c5, -1, 1), rconst(g, 1, c5, -1, 1),
                     rconst(g, 1, c5, 0.1f, 2)};
    tsoI_mark_output(g, unary(g, TSO_OP_RELU, op(g, TSO_OP_BATCHNORM, &p, in, 5)));
    CHECK(tsoI_infer(g) == TSO_OK);
    tsoI_Graph *h = tsoI_clone(g);
    char err[TSO_ERRMAX];
    CHECK(tsoS_fuse_conv_bn(h, err) == 1);
    CHECK(tsoI_compact(h) == TSO_OK && tsoI_check(h) == TSO_OK && tsoI_infer(h) == TSO_OK);
    CHECK(live(h, TSO_OP_BATCHNORM) == 0 && live(h, TSO_OP_CONV2D) == 1);
    CHECK(agree(g, h));
    tsoI_free(h);
    tsoI_free(g);
  }
}

static void test_fuse_matmul_add(void) {
  int64_t xs[2] = {6, 8}, ws[2] = {8, 5}, bs[1] = {5}, full[2] = {6, 5}, col[2] = {6, 1};
  for (int kind = 0; kind < 3; kind++) {
    tsoI_Graph *g = tsoI_new();
    int32_t X = input(g, "x", 2, xs), W = rconst(g, 2, ws, -1, 1);
    int32_t B = kind == 0 ? rconst(g, 1, bs, -1, 1) : kind == 1 ? input(g, "c", 2, full) : rconst(g, 2, col, -1, 1);
    tsoI_mark_output(g, op2(g, TSO_OP_ADD, op2(g, TSO_OP_MATMUL, X, W), B));
    CHECK(tsoI_infer(g) == TSO_OK);
    tsoI_Graph *h = tsoI_clone(g);
    char err[TSO_ERRMAX];
    CHECK(tsoS_fuse_matmul_add(h, err) == 1);
    CHECK(tsoI_compact(h) == TSO_OK && tsoI_check(h) == TSO_OK && tsoI_infer(h) == TSO_OK);
    CHECK(live(h, TSO_OP_GEMM) == 1 && live_all(h) == 1);
    CHECK(agree(g, h));
    tsoI_free(h);
    tsoI_free(g);
  }
  /* a 3-D matmul is not a Gemm */
  int64_t x3[3] = {2, 6, 8}, bs5[1] = {5};
  tsoI_Graph *g = tsoI_new();
  int32_t X = input(g, "x", 3, x3), W = rconst(g, 2, ws, -1, 1), B = rconst(g, 1, bs5, -1, 1);
  tsoI_mark_output(g, op2(g, TSO_OP_ADD, op2(g, TSO_OP_MATMUL, X, W), B));
  CHECK(tsoI_infer(g) == TSO_OK);
  char err[TSO_ERRMAX];
  CHECK(tsoS_fuse_matmul_add(g, err) == 0);
  tsoI_free(g);
}

/* Bias-lifted rules: conv (with bias) + relu fuses, and the lifted merge
** keeps the outputs. */
static void test_lifted(void) {
  tsoR_Set s;
  memset(&s, 0, sizeof s);
  char err[TSO_ERRMAX];
  CHECK(tsoR_parse_text_set(RULES, strlen(RULES), &s, err) == TSO_OK);
  uint32_t n0 = s.n;
  unsigned char *lifted = NULL;
  int nl = tsoS_lift_rules(&s, &lifted);
  CHECK(nl >= 3); /* r2, r3, r4, r7 */
  int64_t a[4] = {1, 4, 6, 6}, k3[4] = {4, 4, 3, 3}, k1[4] = {4, 4, 1, 1}, c4[1] = {4};
  for (uint32_t r = n0; r < s.n; r++) {
    char txt[1024];
    tsoR_format(&s.r[r], txt, sizeof txt);
    tsoI_Graph *g = tsoI_new();
    int32_t x = input(g, "x", 4, a);
    int id = (int)s.r[r].id;
    if (id == 4) {
      tsoI_mark_output(g, unary(g, TSO_OP_RELU, conv(g, x, rconst(g, 4, k3, -1, 1), rconst(g, 1, c4, -1, 1))));
      apply_rule(g, &s, r, 1);
    } else if (id == 2 || id == 3) {
      int32_t K2 = rconst(g, 4, id == 2 ? k3 : k1, -1, 1);
      tsoI_mark_output(g, conv(g, x, rconst(g, 4, k3, -1, 1), rconst(g, 1, c4, -1, 1)));
      tsoI_mark_output(g, conv(g, x, K2, rconst(g, 1, c4, -1, 1)));
      apply_rule(g, &s, r, id == 2 ? 2 : 1);
    }
    tsoI_free(g);
  }
  free(lifted);
  tsoR_set_free(&s);
}

/* ---- 4. the public API: determinism, fallback, export ------------------------------------ */

static const char *work = "/tmp";

static void write_text(const char *path, const char *a, const char *b) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  fputs(a, f);
  if (b) fputs(b, f);
  fclose(f);
}

/* A model with conv/BN/relu branches sharing an input and a matmul head. */
static tso_model *api_model(tso_ctx *ctx) {
  tso_model *m = NULL;
  if (tso_model_create(ctx, 17, &m) != TSO_OK) return NULL;
  int64_t xd[4] = {1, 8, 8, 8}, k3[4] = {4, 8, 3, 3}, k1[4] = {4, 8, 1, 1}, c4[1] = {4};
  tso_model_add_input(m, "x", TSO_DT_FLOAT, 4, xd);
  float buf[4 * 8 * 9];
  for (int i = 0; i < 4 * 8 * 9; i++) buf[i] = frand();
  tso_model_add_constant(m, "k3", TSO_DT_FLOAT, 4, k3, buf, sizeof(float) * 4 * 8 * 9);
  for (int i = 0; i < 4 * 8; i++) buf[i] = frand();
  tso_model_add_constant(m, "k1", TSO_DT_FLOAT, 4, k1, buf, sizeof(float) * 4 * 8);
  const char *bnn[4] = {"s", "b", "mu", "var"};
  for (int br = 0; br < 2; br++)
    for (int k = 0; k < 4; k++) {
      char name[16];
      snprintf(name, sizeof name, "%s%d", bnn[k], br);
      for (int i = 0; i < 4; i++) buf[i] = k == 3 ? 0.5f + (frand() + 1) / 2 : frand();
      tso_model_add_constant(m, name, TSO_DT_FLOAT, 1, c4, buf, sizeof(float) * 4);
    }
  int64_t one = 1, pads[4] = {1, 1, 1, 1};
  tso_attr ca[1] = {{"pads", TSO_ATTR_INTS, 0, 0, NULL, 4, pads, NULL}};
  (void)one;
  const char *i1[2] = {"x", "k3"}, *i2[2] = {"x", "k1"};
  const char *o1[1] = {"c1"}, *o2[1] = {"c2"};
  tso_model_add_node(m, "Conv", i1, 2, o1, 1, ca, 1);
  tso_model_add_node(m, "Conv", i2, 2, o2, 1, NULL, 0);
  const char *b1[5] = {"c1", "s0", "b0", "mu0", "var0"}, *b2[5] = {"c2", "s1", "b1", "mu1", "var1"};
  const char *bo1[1] = {"n1"}, *bo2[1] = {"n2"};
  tso_model_add_node(m, "BatchNormalization", b1, 5, bo1, 1, NULL, 0);
  tso_model_add_node(m, "BatchNormalization", b2, 5, bo2, 1, NULL, 0);
  const char *r1[1] = {"n1"}, *r2[1] = {"n2"}, *ro1[1] = {"r1"}, *ro2[1] = {"r2"};
  tso_model_add_node(m, "Relu", r1, 1, ro1, 1, NULL, 0);
  tso_model_add_node(m, "Relu", r2, 1, ro2, 1, NULL, 0);
  const char *cc[2] = {"r1", "r2"}, *co[1] = {"cat"};
  int64_t ax = 1;
  tso_attr aa[1] = {{"axis", TSO_ATTR_INT, ax, 0, NULL, 0, NULL, NULL}};
  tso_model_add_node(m, "Concat", cc, 2, co, 1, aa, 1);
  const char *ti[1] = {"cat"}, *to[1] = {"y"};
  tso_model_add_node(m, "Tanh", ti, 1, to, 1, NULL, 0);
  tso_model_add_output(m, "y");
  return m;
}

static int read_all(const char *path, unsigned char **buf, long *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  *buf = malloc((size_t)*len + 1);
  size_t r = fread(*buf, 1, (size_t)*len, f);
  fclose(f);
  return r == (size_t)*len ? 0 : -1;
}

static void test_api(void) {
  char rpath[512], o1[512], o2[512], wpath[512];
  snprintf(rpath, sizeof rpath, "%s/test_opt_rules.txt", work);
  snprintf(wpath, sizeof wpath, "%s/test_opt_wrong.txt", work);
  snprintf(o1, sizeof o1, "%s/test_opt_1.onnx", work);
  snprintf(o2, sizeof o2, "%s/test_opt_2.onnx", work);
  write_text(rpath, RULES, NULL);
  write_text(wpath, RULES, WRONG);
  /* determinism: two runs give the same bytes; the result passes the check */
  for (int run = 0; run < 2; run++) {
    tso_ctx *ctx = tso_ctx_create();
    rng = 77;
    tso_model *m = api_model(ctx);
    CHECK(m != NULL);
    tso_opt_options o;
    tso_opt_options_init(&o);
    o.rules_path = rpath;
    o.backend = "analytic";
    tso_opt_report rep;
    tso_status st = tso_optimize(m, &o, &rep);
    if (st != TSO_OK) fprintf(stderr, "optimize: %s\n", tso_errmsg(ctx));
    CHECK(st == TSO_OK);
    CHECK(rep.bn_folded == 2 && rep.nsteps >= 1 && rep.check_run && !rep.fallback);
    CHECK(rep.cost_after < rep.cost_before);
    CHECK(tso_model_save(m, run ? o2 : o1) == TSO_OK);
    if (run == 0)
      printf("api: %d -> %d nodes, cost %.4f -> %.4f ms, %d rewrites\n", rep.nodes_before, rep.nodes_after,
             rep.cost_before, rep.cost_after, rep.nsteps);
    tso_model_free(m);
    tso_ctx_free(ctx);
  }
  unsigned char *a = NULL, *b = NULL;
  long la = 0, lb = 0;
  CHECK(read_all(o1, &a, &la) == 0 && read_all(o2, &b, &lb) == 0);
  CHECK(la == lb && a && b && !memcmp(a, b, (size_t)la));
  free(a);
  free(b);
  /* the output loads back, has only standard operators, and computes the same */
  {
    tso_ctx *ctx = tso_ctx_create();
    tso_model *m = NULL;
    CHECK(tso_model_load(ctx, o1, &m) == TSO_OK);
    tso_model_stats s;
    tso_model_stats_get(m, &s);
    CHECK(s.opaque_nodes == 0);
    tso_model_free(m);
    tso_ctx_free(ctx);
  }
  /* a wrong rule is caught by the check, named, and a passing result is written */
  {
    tso_ctx *ctx = tso_ctx_create();
    rng = 77;
    tso_model *m = api_model(ctx);
    tso_opt_options o;
    tso_opt_options_init(&o);
    o.rules_path = wpath;
    o.backend = "analytic";
    tso_opt_report rep;
    tso_status st = tso_optimize(m, &o, &rep);
    if (st != TSO_OK) fprintf(stderr, "optimize (wrong rule): %s\n", tso_errmsg(ctx));
    CHECK(st == TSO_OK);
    CHECK(rep.fallback == 1 && rep.culprit_rule == 9);
    CHECK(rep.check_run && rep.outputs_checked == 1);
    for (int i = 0; i < rep.nsteps; i++) CHECK(rep.steps[i].rule != 9);
    printf("wrong rule: %s\n", rep.fallback_note);
    tso_model_free(m);
    tso_ctx_free(ctx);
  }
  /* no rules: the passes only */
  {
    tso_ctx *ctx = tso_ctx_create();
    rng = 77;
    tso_model *m = api_model(ctx);
    tso_opt_options o;
    tso_opt_options_init(&o);
    o.backend = "analytic";
    tso_opt_report rep;
    CHECK(tso_optimize(m, &o, &rep) == TSO_OK);
    CHECK(rep.nsteps == 0 && rep.rules_loaded == 0 && rep.bn_folded == 2);
    tso_model_free(m);
    tso_ctx_free(ctx);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) work = argv[1];
  (void)mkdir(work, 0755);
  char err[TSO_ERRMAX];
  if (tsoR_parse_text_set(RULES, strlen(RULES), &rules, err) != TSO_OK) {
    fprintf(stderr, "rules: %s\n", err);
    return 1;
  }
  test_each_rule();
  test_cycle();
  test_barrier();
  test_lifted();
  test_search_matmul();
  test_search_conv();
  test_layouts();
  test_flatten();
  if (argc > 2) test_shipped_merge(argv[2]);
  test_fuse_conv_bn();
  test_fuse_matmul_add();
  test_api();
  tsoR_set_free(&rules);
  if (fails) {
    printf("test_opt: %d failure(s)\n", fails);
    return 1;
  }
  printf("test_opt: ok\n");
  return 0;
}
