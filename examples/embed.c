/*
** embed.c -- how a compiler embeds libtaso: build a small graph by hand,
** evaluate it, optimize it (with the numerical check) and save it as ONNX.
**
**   example_embed OUT.onnx
*/
#include <stdio.h>
#include <stdlib.h>

#include "taso/taso.h"

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != TSO_OK) {                                                \
      fprintf(stderr, "example_embed: %s: %s\n", #call, tso_errmsg(ctx));  \
      tso_model_free(m);                                                   \
      tso_ctx_free(ctx);                                                   \
      return 1;                                                            \
    }                                                                      \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: example_embed OUT.onnx\n");
    return 2;
  }
  tso_ctx *ctx = tso_ctx_create();
  tso_model *m = NULL;
  if (!ctx) return 1;
  CHECK(tso_model_create(ctx, 17, &m));

  /* y = Relu(Conv(x, w) + b), passed through an Identity an exporter left */
  const int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3}, bd[1] = {3};
  float w[3 * 2 * 3 * 3], b[3] = {0.1f, -0.2f, 0.3f};
  for (int i = 0; i < 54; i++) w[i] = (float)((i * 7) % 11 - 5) / 10.0f;
  CHECK(tso_model_add_input(m, "x", TSO_DT_FLOAT, 4, xd));
  CHECK(tso_model_add_constant(m, "w", TSO_DT_FLOAT, 4, wd, w, sizeof w));
  CHECK(tso_model_add_constant(m, "b", TSO_DT_FLOAT, 1, bd, b, sizeof b));
  const int64_t pads[4] = {1, 1, 1, 1};
  const tso_attr conv_attrs[1] = {{.name = "pads", .kind = TSO_ATTR_INTS, .n = 4, .ints = pads}};
  const char *conv_in[3] = {"x", "w", "b"}, *conv_out[1] = {"c"};
  CHECK(tso_model_add_node(m, "Conv", conv_in, 3, conv_out, 1, conv_attrs, 1));
  const char *relu_in[1] = {"c"}, *relu_out[1] = {"r"};
  CHECK(tso_model_add_node(m, "Relu", relu_in, 1, relu_out, 1, NULL, 0));
  const char *id_in[1] = {"r"}, *id_out[1] = {"y"};
  CHECK(tso_model_add_node(m, "Identity", id_in, 1, id_out, 1, NULL, 0));
  CHECK(tso_model_add_output(m, "y"));

  /* evaluate with the reference kernels */
  float x[50], y[75];
  for (int i = 0; i < 50; i++) x[i] = (float)(i % 7) - 3.0f;
  const void *ins[1] = {x};
  void *outs[1] = {y};
  CHECK(tso_model_eval(m, ins, outs));
  printf("y[0..3] = %g %g %g %g\n", y[0], y[1], y[2], y[3]);

  /* optimize: here the Identity goes; the result is checked numerically */
  tso_opt_options opt;
  tso_opt_options_init(&opt);
  tso_opt_report rep;
  CHECK(tso_optimize(m, &opt, &rep));
  printf("nodes %d -> %d, check max abs err %g (seed %llu)\n", rep.nodes_before, rep.nodes_after,
         rep.max_abs_err, (unsigned long long)rep.seed);
  CHECK(tso_model_save(m, argv[1]));
  printf("wrote %s\n", argv[1]);
  tso_model_free(m);
  tso_ctx_free(ctx);
  return 0;
}
