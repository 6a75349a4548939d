/*
** test_graph.c -- unit tests of the graph IR: the builder and the errors it
** refuses (arity, writing an input, a tensor written twice, bad ids and
** ops, constant data of the wrong size), topological order, cycle
** detection, the canonical hash (independent of build order, sensitive to
** operators, operand order and sharing), clone, dead-node and no-op
** removal, compaction and the well-formedness check. Inference, evaluation
** and the numerical check are tested elsewhere (test_onnx, test_opt,
** test_api, the conformance suite).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"

static int failures;
#define EXPECT(c)                                                   \
  do {                                                              \
    if (!(c)) {                                                     \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #c); \
      failures++;                                                   \
    }                                                               \
  } while (0)

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

static int32_t op1(tsoI_Graph *g, int op, int32_t a, int32_t b) {
  int32_t in[2] = {a, b}, out;
  const tsoO_Info *oi = tsoO_info(op);
  int nin = oi->min_in;
  if (tsoI_add_op(g, op, NULL, in, nin, 1, &out) < 0) return -1;
  return out;
}

/* y = relu(x0 + x1) * x1, built in two different node orders */
static tsoI_Graph *build_a(int flip) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape s = shp(2, 2, 3, 0, 0);
  int32_t x0 = tsoI_add_input(g, "x0", TSO_DT_FLOAT, &s);
  int32_t x1 = tsoI_add_input(g, "x1", TSO_DT_FLOAT, &s);
  int32_t y;
  if (!flip) {
    int32_t a = op1(g, TSO_OP_ADD, x0, x1);
    int32_t r = op1(g, TSO_OP_RELU, a, -1);
    y = op1(g, TSO_OP_MUL, r, x1);
  } else {
    /* declare the tensors first and add the nodes from last to first */
    int32_t a = tsoI_add_tensor(g, "a", 0, NULL), r = tsoI_add_tensor(g, "r", 0, NULL);
    y = tsoI_add_tensor(g, "y", 0, NULL);
    int32_t in3[2] = {x1, r}; /* commuted operands */
    tsoI_add_node(g, TSO_OP_MUL, NULL, in3, 2, &y, 1);
    tsoI_add_node(g, TSO_OP_RELU, NULL, &a, 1, &r, 1);
    int32_t in1[2] = {x1, x0};
    tsoI_add_node(g, TSO_OP_ADD, NULL, in1, 2, &a, 1);
  }
  tsoI_mark_output(g, y);
  return g;
}

static void test_topo_and_hash(void) {
  tsoI_Graph *a = build_a(0), *b = build_a(1);
  EXPECT(tsoI_check(a) == TSO_OK);
  EXPECT(tsoI_check(b) == TSO_OK);
  int32_t order[8];
  EXPECT(tsoI_topo(b, order) == 3);
  EXPECT(b->n[order[0]].op == TSO_OP_ADD && b->n[order[2]].op == TSO_OP_MUL);
  EXPECT(tsoI_hash(a) == tsoI_hash(b)); /* isomorphic, built in another order */
  /* a different graph hashes differently: sub instead of mul */
  tsoI_Graph *c = build_a(0);
  c->n[2].op = TSO_OP_SUB;
  EXPECT(tsoI_hash(a) != tsoI_hash(c));
  /* inputs are told apart by position: swapping non-commutative operands changes the hash */
  tsoI_Graph *d = build_a(0);
  int32_t t0 = TSO_IN(d, &d->n[2], 0);
  TSO_IN(d, &d->n[2], 0) = TSO_IN(d, &d->n[2], 1);
  TSO_IN(d, &d->n[2], 1) = t0;
  d->n[2].op = TSO_OP_SUB;
  EXPECT(tsoI_hash(c) != tsoI_hash(d));
  /* clone hashes the same and is independent */
  tsoI_Graph *e = tsoI_clone(a);
  EXPECT(e && tsoI_hash(e) == tsoI_hash(a));
  e->n[1].op = TSO_OP_TANH;
  EXPECT(tsoI_hash(e) != tsoI_hash(a) && a->n[1].op == TSO_OP_RELU);
  tsoI_free(a); tsoI_free(b); tsoI_free(c); tsoI_free(d); tsoI_free(e);
}

static void test_shared_vs_duplicated(void) {
  /* relu(x) used twice vs relu(x) computed twice: not the same graph */
  tsoO_Shape s = shp(1, 4, 0, 0, 0);
  tsoI_Graph *a = tsoI_new(), *b = tsoI_new();
  int32_t xa = tsoI_add_input(a, "x", TSO_DT_FLOAT, &s), xb = tsoI_add_input(b, "x", TSO_DT_FLOAT, &s);
  int32_t ra = op1(a, TSO_OP_RELU, xa, -1);
  tsoI_mark_output(a, op1(a, TSO_OP_ADD, ra, ra));
  int32_t rb1 = op1(b, TSO_OP_RELU, xb, -1), rb2 = op1(b, TSO_OP_RELU, xb, -1);
  tsoI_mark_output(b, op1(b, TSO_OP_ADD, rb1, rb2));
  EXPECT(tsoI_hash(a) != tsoI_hash(b));
  tsoI_free(a);
  tsoI_free(b);
}

static void test_cycle(void) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape s = shp(1, 4, 0, 0, 0);
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &s);
  int32_t a = tsoI_add_tensor(g, "a", 0, NULL), b = tsoI_add_tensor(g, "b", 0, NULL);
  int32_t in1[2] = {x, b}, in2[1] = {a};
  EXPECT(tsoI_add_node(g, TSO_OP_ADD, NULL, in1, 2, &a, 1) >= 0);
  EXPECT(tsoI_add_node(g, TSO_OP_RELU, NULL, in2, 1, &b, 1) >= 0);
  tsoI_mark_output(g, b);
  EXPECT(tsoI_check(g) == TSO_ERR_INVALID);
  EXPECT(strstr(g->err, "cycle") != NULL);
  int32_t order[4];
  EXPECT(tsoI_topo(g, order) == -1);
  tsoI_free(g);
}

static void test_builder_errors(void) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape s = shp(1, 4, 0, 0, 0);
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &s);
  int32_t y = tsoI_add_tensor(g, "y", 0, NULL);
  int32_t in2[2] = {x, x};
  EXPECT(tsoI_add_node(g, TSO_OP_RELU, NULL, in2, 2, &y, 1) < 0); /* arity */
  EXPECT(tsoI_add_node(g, TSO_OP_RELU, NULL, &x, 1, &x, 1) < 0);  /* writes an input */
  EXPECT(tsoI_add_node(g, TSO_OP_RELU, NULL, &x, 1, &y, 1) >= 0);
  EXPECT(tsoI_add_node(g, TSO_OP_RELU, NULL, &x, 1, &y, 1) < 0);  /* written twice */
  int32_t bad = 99;
  EXPECT(tsoI_add_node(g, TSO_OP_RELU, NULL, &bad, 1, &y, 1) < 0);
  EXPECT(tsoI_add_node(g, 999, NULL, &x, 1, &y, 1) < 0);
  float d[3] = {1, 2, 3};
  EXPECT(tsoI_add_const(g, "c", TSO_DT_FLOAT, &s, d, sizeof d, 1) < 0); /* 4 elements declared */
  tsoI_free(g);
}

static void test_dead_and_noops(void) {
  /* x -> relu -> identity -> y (output);  x -> tanh (dead);  identity kept
  ** name y as output. Also Dropout whose mask is unused. */
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape s = shp(2, 2, 2, 0, 0);
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &s);
  int32_t r = op1(g, TSO_OP_RELU, x, -1);
  int32_t dead = op1(g, TSO_OP_TANH, x, -1);
  (void)dead;
  int32_t dr[2];
  int32_t inr[1] = {r};
  tsoI_add_op(g, TSO_OP_DROPOUT, NULL, inr, 1, 2, dr);
  int32_t y = tsoI_add_tensor(g, "y", 0, NULL);
  tsoI_add_node(g, TSO_OP_IDENTITY, NULL, &dr[0], 1, &y, 1);
  tsoI_mark_output(g, y);
  /* a second output fed straight by an identity of the input: must stay */
  int32_t z = tsoI_add_tensor(g, "z", 0, NULL);
  tsoI_add_node(g, TSO_OP_IDENTITY, NULL, &x, 1, &z, 1);
  tsoI_mark_output(g, z);
  EXPECT(tsoI_check(g) == TSO_OK);
  uint64_t h0 = tsoI_hash(g);
  EXPECT(tsoI_remove_dead(g) == 1);
  EXPECT(tsoI_hash(g) == h0); /* dead nodes do not count */
  EXPECT(tsoI_remove_noops(g) == 2); /* dropout and the first identity */
  EXPECT(tsoI_compact(g) == TSO_OK);
  EXPECT(tsoI_check(g) == TSO_OK);
  EXPECT(g->nn == 2);
  int32_t yo = g->outputs[0];
  EXPECT(strcmp(g->t[yo].name, "y") == 0);
  EXPECT(g->t[yo].producer >= 0 && g->n[g->t[yo].producer].op == TSO_OP_RELU);
  EXPECT(strcmp(g->t[g->outputs[1]].name, "z") == 0);
  tsoI_free(g);
}

int main(void) {
  test_topo_and_hash();
  test_shared_vs_duplicated();
  test_cycle();
  test_builder_errors();
  test_dead_and_noops();
  if (failures) {
    fprintf(stderr, "test_graph: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_graph: ok\n");
  return 0;
}
