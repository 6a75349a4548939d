/*
** test_api.c -- the public API: contexts and messages, building a model
** by hand, evaluation, optimization with the check, the check's refusal
** of a wrong result (through the internal hook of api/testhook.h), save
** and load back, and errors on bad arguments and bad input.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/testhook.h"
#include "taso/taso.h"

static int failures;
#define EXPECT(c)                                                       \
  do {                                                                  \
    if (!(c)) {                                                         \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #c);  \
      failures++;                                                       \
    }                                                                   \
  } while (0)

/* y = Relu(a + b) through an Identity and a dead Tanh branch. */
static tso_model *build(tso_ctx *ctx) {
  tso_model *m = NULL;
  const int64_t d[2] = {2, 3};
  const float bias[6] = {0.5f, -0.5f, 1, -1, 2, -2};
  if (tso_model_create(ctx, 17, &m) != TSO_OK) return NULL;
  const char *add_in[2] = {"a", "b"}, *add_out[1] = {"s"};
  const char *relu_in[1] = {"s"}, *relu_out[1] = {"r"};
  const char *id_in[1] = {"r"}, *id_out[1] = {"y"};
  const char *tanh_in[1] = {"a"}, *tanh_out[1] = {"dead"};
  if (tso_model_add_input(m, "a", TSO_DT_FLOAT, 2, d) != TSO_OK ||
      tso_model_add_constant(m, "b", TSO_DT_FLOAT, 2, d, bias, sizeof bias) != TSO_OK ||
      tso_model_add_node(m, "Add", add_in, 2, add_out, 1, NULL, 0) != TSO_OK ||
      tso_model_add_node(m, "Relu", relu_in, 1, relu_out, 1, NULL, 0) != TSO_OK ||
      tso_model_add_node(m, "Identity", id_in, 1, id_out, 1, NULL, 0) != TSO_OK ||
      tso_model_add_node(m, "Tanh", tanh_in, 1, tanh_out, 1, NULL, 0) != TSO_OK ||
      tso_model_add_output(m, "y") != TSO_OK) {
    fprintf(stderr, "build: %s\n", tso_errmsg(ctx));
    tso_model_free(m);
    return NULL;
  }
  return m;
}

static void test_basics(void) {
  EXPECT(strcmp(tso_version(), "0.1.0") == 0);
  EXPECT(tso_version_number() == TSO_VERSION_NUMBER);
  for (int s = 0; s <= TSO_ERR_LIMIT; s++) EXPECT(strlen(tso_status_str((tso_status)s)) > 0);
  tso_ctx_free(NULL);
  tso_model_free(NULL);
  EXPECT(strcmp(tso_errmsg(NULL), "no context") == 0);
  tso_ctx *ctx = tso_ctx_create();
  EXPECT(tso_errcode(ctx) == TSO_OK);
  EXPECT(tso_ctx_bind_shape(ctx, "x=1x3x224x224") == TSO_OK);
  EXPECT(tso_ctx_bind_shape(ctx, "batch=4") == TSO_OK);
  EXPECT(tso_ctx_bind_shape(ctx, "nonsense") == TSO_ERR_ARG);
  EXPECT(strstr(tso_errmsg(ctx), "NAME=DIMS") != NULL);
  EXPECT(tso_ctx_bind_shape(ctx, "x=1xfoo") == TSO_ERR_ARG);
  EXPECT(tso_ctx_bind_shape(ctx, "=3") == TSO_ERR_ARG);
  /* DIMS are strict: no empty dimension, separator at either end, 0, sign or overflow */
  const char *bad[] = {"x=2x3x", "x=x2", "x=2xx3", "x=", "x=0", "x=2x0", "x=-1", "x=+2", "x= 2",
                       "x=99999999999999999999999", "x=1x2x3x4x5x6x7x8x9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) EXPECT(tso_ctx_bind_shape(ctx, bad[i]) == TSO_ERR_ARG);
  EXPECT(tso_ctx_bind_shape(ctx, "x=2x3x") == TSO_ERR_ARG && strstr(tso_errmsg(ctx), "dimension 2 is empty"));
  EXPECT(tso_ctx_bind_shape(ctx, "x=2,3") == TSO_OK);
  tso_ctx_free(ctx);
}

/* A context and the model of build() in it; NULL (and no context) on failure. */
static tso_model *built(tso_ctx **ctx) {
  *ctx = tso_ctx_create();
  tso_model *m = build(*ctx);
  EXPECT(m != NULL);
  if (!m) tso_ctx_free(*ctx);
  return m;
}

static void test_build_eval_optimize(void) {
  tso_ctx *ctx;
  tso_model *m = built(&ctx);
  if (!m) return;
  int dt, rank;
  int64_t dims[TSO_MAX_RANK];
  EXPECT(tso_model_tensor_shape(m, "y", &dt, &rank, dims) == TSO_OK);
  EXPECT(dt == TSO_DT_FLOAT && rank == 2 && dims[0] == 2 && dims[1] == 3);
  const float a[6] = {1, 1, -3, 0.5f, -1, 3};
  float y[6];
  const void *ins[1] = {a};
  void *outs[1] = {y};
  EXPECT(tso_model_eval(m, ins, outs) == TSO_OK);
  const float want[6] = {1.5f, 0.5f, 0, 0, 1, 1};
  for (int i = 0; i < 6; i++) EXPECT(fabsf(y[i] - want[i]) < 1e-6f);

  tso_model_stats st;
  tso_model_stats_get(m, &st);
  EXPECT(st.nodes == 4 && st.inputs == 1 && st.outputs == 1 && st.initializers == 1 && st.opaque_nodes == 0);
  tso_opt_options o;
  tso_opt_options_init(&o);
  o.seed = 42;
  tso_opt_report rep;
  EXPECT(tso_optimize(m, &o, &rep) == TSO_OK);
  EXPECT(rep.nodes_before == 4 && rep.nodes_after == 2);
  EXPECT(rep.dead_removed == 1 && rep.noops_removed == 1);
  EXPECT(rep.check_run == 1 && rep.outputs_checked == 1 && rep.outputs_unchecked == 0);
  EXPECT(rep.max_abs_err == 0 && rep.seed == 42);
  memset(y, 0, sizeof y);
  EXPECT(tso_model_eval(m, ins, outs) == TSO_OK);
  for (int i = 0; i < 6; i++) EXPECT(fabsf(y[i] - want[i]) < 1e-6f);

  /* save, load back, same function */
  char path[] = "/tmp/taso_test_api_XXXXXX";
  int fd = mkstemp(path);
  EXPECT(fd >= 0);
  if (fd >= 0) close(fd);
  EXPECT(tso_model_save(m, path) == TSO_OK);
  tso_model *m2 = NULL;
  EXPECT(tso_model_load(ctx, path, &m2) == TSO_OK);
  if (m2) {
    float y2[6];
    void *outs2[1] = {y2};
    EXPECT(tso_model_eval(m2, ins, outs2) == TSO_OK);
    for (int i = 0; i < 6; i++) EXPECT(y2[i] == y[i]);
    tso_model_stats_get(m2, &st);
    EXPECT(st.nodes == 2);
  }
  tso_model_free(m2);
  unlink(path);
  tso_model_free(m);
  tso_ctx_free(ctx);
}

/* Breaks a candidate as a wrong rewrite would: its first output becomes
** the first input of the node that computes it (Relu(s) -> s). */
static int perturbed;
static void perturb(tsoI_Graph *g) {
  int32_t p = g->t[g->outputs[0]].producer;
  if (p >= 0 && g->n[p].nin > 0 && TSO_IN(g, &g->n[p], 0) >= 0) g->outputs[0] = TSO_IN(g, &g->n[p], 0);
  perturbed++;
}

/* A result that fails the check is refused: TSO_ERR_MISMATCH with the
** reason, and the model is left as it was (what taso-opt then does not
** write: exit 3). */
static void test_check_refuses(void) {
  tso_ctx *ctx;
  tso_model *m = built(&ctx);
  if (!m) return;
  const float a[6] = {1, 1, -3, 0.5f, -1, 3}, want[6] = {1.5f, 0.5f, 0, 0, 1, 1};
  float y[6];
  const void *ins[1] = {a};
  void *outs[1] = {y};
  tso_opt_options o;
  tso_opt_options_init(&o);
  o.seed = 5;
  tso_opt_report rep;
  tsoA_test_perturb = perturb;
  perturbed = 0;
  EXPECT(tso_optimize(m, &o, &rep) == TSO_ERR_MISMATCH);
  EXPECT(perturbed > 0);
  EXPECT(tso_errcode(ctx) == TSO_ERR_MISMATCH);
  EXPECT(strstr(tso_errmsg(ctx), "output 0 ('y') differs") != NULL);
  tso_model_stats st;
  tso_model_stats_get(m, &st);
  EXPECT(st.nodes == 4); /* unchanged: the Identity and the dead Tanh are still there */
  EXPECT(tso_model_eval(m, ins, outs) == TSO_OK);
  for (int i = 0; i < 6; i++) EXPECT(fabsf(y[i] - want[i]) < 1e-6f);
  /* without a check the hook is not called */
  o.skip_check = 1;
  perturbed = 0;
  tso_model *m2 = build(ctx);
  EXPECT(m2 && tso_optimize(m2, &o, &rep) == TSO_OK && perturbed == 0);
  tso_model_free(m2);
  tsoA_test_perturb = NULL;
  /* and without the hook the same model optimizes */
  o.skip_check = 0;
  EXPECT(tso_optimize(m, &o, &rep) == TSO_OK && rep.nodes_after == 2 && rep.outputs_checked == 1);
  tso_model_free(m);
  tso_ctx_free(ctx);
}

static void test_errors(void) {
  tso_ctx *ctx = tso_ctx_create();
  tso_model *m = NULL;
  EXPECT(tso_model_load(ctx, "/nonexistent/model.onnx", &m) != TSO_OK && m == NULL);
  EXPECT(strlen(tso_errmsg(ctx)) > 0);
  const char garbage[] = "\x0a\xff\xff\xff\xff\x0f this is not protobuf";
  EXPECT(tso_model_load_buffer(ctx, garbage, sizeof garbage, NULL, &m) == TSO_ERR_PARSE && m == NULL);
  EXPECT(tso_errcode(ctx) == TSO_ERR_PARSE);

  EXPECT(tso_model_create(ctx, 17, &m) == TSO_OK);
  const int64_t d[1] = {4};
  EXPECT(tso_model_add_input(m, "x", TSO_DT_FLOAT, 1, d) == TSO_OK);
  EXPECT(tso_model_add_input(m, "x", TSO_DT_FLOAT, 1, d) == TSO_ERR_INVALID); /* defined twice */
  EXPECT(tso_model_add_input(m, "", TSO_DT_FLOAT, 1, d) == TSO_ERR_ARG);
  EXPECT(tso_model_add_input(m, "z", TSO_DT_FLOAT, 9, d) == TSO_ERR_ARG);
  const char *in[1] = {"nowhere"}, *out[1] = {"y"};
  EXPECT(tso_model_add_node(m, "Relu", in, 1, out, 1, NULL, 0) == TSO_ERR_INVALID);
  EXPECT(strstr(tso_errmsg(ctx), "nowhere") != NULL);
  const char *in2[1] = {"x"};
  EXPECT(tso_model_add_node(m, "NoSuchOp", in2, 1, out, 1, NULL, 0) == TSO_ERR_UNSUPPORTED);
  const float data[3] = {1, 2, 3};
  EXPECT(tso_model_add_constant(m, "c", TSO_DT_FLOAT, 1, d, data, sizeof data) != TSO_OK); /* 4 declared */
  EXPECT(tso_model_add_output(m, "nothing") == TSO_ERR_INVALID);
  tso_model_free(m);
  tso_ctx_free(ctx);
}

int main(void) {
  test_basics();
  test_build_eval_optimize();
  test_check_refuses();
  test_errors();
  if (failures) {
    fprintf(stderr, "test_api: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_api: ok\n");
  return 0;
}
