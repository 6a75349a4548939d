/*
** taso_bench.c -- `taso-bench MODEL.onnx`: the measured end-to-end latency
** of a model on the GPU (the cuda backend's executor, cost/cuda_exec.cu)
** next to the latency the cost model predicts for it (the sum of the
** per-operator costs, tsoC_graph_cost, the figure taso-opt minimizes), and
** their ratio: how far the additive cost model is from a real run. With
** --backend onednn or analytic it prints the prediction only.
**
** Uses the internal API (onnx/, graph/, cost/). Exit codes are listed in
** usage(); they are part of the interface.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_bind.h"
#include "cli_util.h"
#include "cost/cost.h"
#include "cost/cuda.h"
#include "onnx/onnx.h"

enum {
  EXIT_OK = 0,       /* done */
  EXIT_USAGE = 1,    /* bad command line */
  EXIT_INPUT = 2,    /* the model could not be read, or its shapes inferred */
  EXIT_DB = 3,       /* the cost database could not be opened, read or written */
  EXIT_BACKEND = 4,  /* the backend is not available in this build or on this machine */
  EXIT_RUN = 5,      /* the model could not be run on the GPU, out of memory, internal failure */
  EXIT_CHECK = 6     /* --check: the GPU's outputs differ from the reference kernels' */
};

#define MAX_BINDS 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: taso-bench MODEL.onnx [options]\n"
          "\n"
          "Prints the latency the cost model predicts for MODEL (the sum of its operators'\n"
          "costs, as taso-opt and taso-cost compute it) and, with the cuda backend, the\n"
          "latency measured by running the whole model on the GPU, and their ratio.\n"
          "\n"
          "options:\n"
          "  --backend NAME     cuda (the default when a GPU is present; cuda:tf32, cuda:fp16,\n"
          "                     cuda:bf16 let cuDNN and cuBLAS use tensor cores), onednn or\n"
          "                     analytic (the default without a GPU: onednn when built with it);\n"
          "                     with onednn or analytic only the predicted cost is printed\n"
          "  --runs N           timed runs of the whole model (default 20); the median is kept\n"
          "  --warmup N         untimed runs first (default 3)\n"
          "  --shape NAME=DIMS  bind a symbolic dimension (batch=1) or the whole shape of an\n"
          "                     input (input=1x3x224x224); repeatable\n"
          "  --cost-db FILE     the cost database (default $XDG_CACHE_HOME/taso/costs.sqlite,\n"
          "                     or ~/.cache/taso/costs.sqlite, as taso-opt and taso-cost)\n"
          "  --no-store         do not write new measurements to the database\n"
          "  --budget SECONDS   measuring time allowed for the prediction (default: no limit)\n"
          "  --check            also compare the GPU's outputs with the reference kernels on\n"
          "                     the same random inputs (slow for large models)\n"
          "  --rtol X, --atol X tolerance of --check (defaults 1e-3 and 1e-4 with fp32 math,\n"
          "                     1e-2 and 1e-2 with the tensor-core modes)\n"
          "  --seed N           seed of the random inputs (default 1)\n"
          "  --verbose          one line per node: predicted cost, source, implementation\n"
          "  --json             the result as one JSON object\n"
          "  --version          print the version and exit\n"
          "  --help             print this help and exit\n"
          "\n"
          "exit status:\n"
          "  0  done\n"
          "  1  bad command line\n"
          "  2  the model could not be read or its shapes inferred\n"
          "  3  the cost database could not be opened, read or written\n"
          "  4  the backend is not available (built without it, or no GPU)\n"
          "  5  the model could not be run on the GPU, or another failure\n"
          "  6  --check: the GPU's outputs differ from the reference kernels'\n");
}

typedef struct Opts {
  const char *model, *db_path, *backend;
  tsoX_Bind binds[2 * MAX_BINDS];
  char names[MAX_BINDS][128];
  int nbinds, nnames;
  int runs, warmup, no_store, check, verbose, json;
  double budget_s, rtol, atol;
  uint64_t seed;
} Opts;

#ifdef TASO_HAVE_CUDA
/* splitmix64 */
static uint64_t next_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Random data for graph input t, as the numerical check makes it: floats
** uniform in [-1, 1), integers and booleans in {0, 1}. NULL on failure. */
static void *random_input(const tsoI_Tensor *t, uint64_t seed, size_t *nbytes) {
  int64_t n = tsoO_numel(&t->shape);
  size_t es = tsoO_dtype_size(t->dtype);
  *nbytes = n > 0 ? (size_t)n * es : 0;
  void *p = calloc(*nbytes ? *nbytes : 1, 1);
  if (!p || n < 0 || !es) {
    free(p);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = next_rand(&seed);
    switch (t->dtype) {
    case TSO_DT_FLOAT: ((float *)p)[i] = (float)((double)(r >> 11) * 0x1.0p-53 * 2.0 - 1.0); break;
    case TSO_DT_DOUBLE: ((double *)p)[i] = (double)(r >> 11) * 0x1.0p-53 * 2.0 - 1.0; break;
    case TSO_DT_INT64: ((int64_t *)p)[i] = (int64_t)(r & 1); break;
    case TSO_DT_INT32: ((int32_t *)p)[i] = (int32_t)(r & 1); break;
    case TSO_DT_BOOL: case TSO_DT_UINT8: case TSO_DT_INT8: ((uint8_t *)p)[i] = (uint8_t)(r & 1); break;
    default: break;
    }
  }
  return p;
}
#endif

/* Writes s as a JSON string literal. */
static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* The result of --check. */
typedef struct Check {
  int ran, outputs, bad;
  double max_abs, max_rel;
  char note[TSO_ERRMAX];
} Check;

#ifdef TASO_HAVE_CUDA
/* Runs the reference evaluator on the same inputs and compares each graph
** output with the GPU's. */
static tso_status check_outputs(tsoI_Graph *g, tsoC_CudaExec *x, void *const *inputs, const Opts *o, Check *ck,
                                char *err) {
  tsoO_Value *vals = calloc((size_t)g->nt + 1, sizeof *vals);
  tso_status st = TSO_OK;
  if (!vals) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < g->ninputs && !st; i++) {
    const tsoI_Tensor *t = &g->t[g->inputs[i]];
    size_t nb = (size_t)tsoO_numel(&t->shape) * tsoO_dtype_size(t->dtype);
    tsoO_Value *v = &vals[g->inputs[i]];
    v->dtype = t->dtype;
    v->shape = t->shape;
    if (!(v->data = malloc(nb ? nb : 1))) st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    else memcpy(v->data, inputs[i], nb);
  }
  if (!st && tsoI_eval(g, vals, 0, NULL, NULL) != TSO_OK) {
    snprintf(ck->note, sizeof ck->note, "the reference kernels could not run the model: %.180s", g->err);
    tsoI_eval_free(g, vals, 1);
    free(vals);
    return TSO_OK;
  }
  ck->ran = !st;
  for (int j = 0; !st && j < g->noutputs; j++) {
    const tsoI_Tensor *t = &g->t[g->outputs[j]];
    const tsoO_Value *ref = &vals[g->outputs[j]];
    int64_t n = tsoO_numel(&t->shape);
    size_t nb = n > 0 ? (size_t)n * tsoO_dtype_size(t->dtype) : 0;
    void *got = malloc(nb ? nb : 1);
    if (!got) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      break;
    }
    if ((st = tsoC_cuda_exec_get_output(x, j, got, nb, err)) != TSO_OK) {
      free(got);
      break;
    }
    ck->outputs++;
    if (!ref->data && nb) {
      ck->bad++;
      snprintf(ck->note, sizeof ck->note, "output '%s' has no reference value", t->name);
    } else if (t->dtype == TSO_DT_FLOAT) {
      const float *a = ref->data, *b = got;
      int64_t worst = -1;
      for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), rel = d / fmax(fabs((double)a[i]), 1e-30);
        if (a[i] != a[i] && b[i] != b[i]) continue; /* NaN equals NaN */
        if (!(d <= o->atol + o->rtol * fabs((double)a[i]))) {
          if (worst < 0) worst = i;
        }
        if (!(d <= ck->max_abs)) ck->max_abs = d;
        if (d > o->atol && !(rel <= ck->max_rel)) ck->max_rel = rel;
      }
      if (worst >= 0) {
        ck->bad++;
        snprintf(ck->note, sizeof ck->note, "output '%s' element %lld: reference %g, GPU %g", t->name,
                 (long long)worst, (double)a[worst], (double)b[worst]);
      }
    } else if (nb && memcmp(ref->data, got, nb)) {
      ck->bad++;
      snprintf(ck->note, sizeof ck->note, "output '%s' differs", t->name);
    }
    free(got);
  }
  tsoI_eval_free(g, vals, 1);
  free(vals);
  return st;
}
#endif

static int bench(Opts *o) {
  char err[TSO_ERRMAX] = "", why[TSO_ERRMAX] = "", dbp[4096];
  tsoX_Model *xm = NULL;
  tsoC_Backend *be = NULL, *fb = NULL;
  tsoC_Db *db = NULL;
  tsoC_NodeCost *nc = NULL;
  int32_t *order = NULL;
  void **inputs = NULL;
  int rc = EXIT_OK, gpu = 0, ninputs = 0;
  tso_status st;
#ifdef TASO_HAVE_CUDA
  tsoC_CudaExec *ex = NULL;
#endif
  tsoC_MeasureOpts mo;
  tsoC_measure_opts_init(&mo);
  int defaulted = !o->backend;
  if (!o->backend)
    o->backend = tsoC_cuda_probe(why, sizeof why) ? "cuda" : tsoC_have_onednn() ? "onednn" : "analytic";
  if (!strncmp(o->backend, "cuda", 4) && (o->backend[4] == 0 || o->backend[4] == ':')) {
    if (o->backend[4] == ':' && (mo.gpu_math = tsoC_math_parse(o->backend + 5)) < 0) {
      fprintf(stderr, "taso-bench: error: unknown GPU math '%s' (expected fp32, tf32, fp16 or bf16)\n",
              o->backend + 5);
      return EXIT_USAGE;
    }
    if (!(be = tsoC_cuda_create(&mo, err))) {
      fprintf(stderr, "taso-bench: error: --backend %s: %s\n", o->backend, err);
      return EXIT_BACKEND;
    }
    gpu = 1;
  } else if (!strcmp(o->backend, "onednn")) {
    if (!(be = tsoC_onednn_create(&mo, err))) {
      fprintf(stderr, "taso-bench: error: --backend onednn: %s\n", err);
      return EXIT_BACKEND;
    }
  } else if (!strcmp(o->backend, "analytic")) {
    be = tsoC_analytic_create(NULL);
  } else {
    fprintf(stderr, "taso-bench: error: unknown backend '%s' (expected cuda, onednn or analytic)\n", o->backend);
    return EXIT_USAGE;
  }
  if (o->rtol < 0) o->rtol = mo.gpu_math == TSOC_MATH_FP32 ? 1e-3 : 1e-2;
  if (o->atol < 0) o->atol = mo.gpu_math == TSOC_MATH_FP32 ? 1e-4 : 1e-2;
  if (!be || !(fb = tsoC_analytic_create(NULL))) {
    fprintf(stderr, "taso-bench: error: out of memory\n");
    rc = EXIT_RUN;
    goto end;
  }
  if ((st = tsoX_load_file(o->model, o->binds, o->nbinds, &xm, err)) != TSO_OK) {
    fprintf(stderr, "taso-bench: error: %s: %s\n", o->model, err);
    rc = st == TSO_ERR_NOMEM ? EXIT_RUN : st == TSO_ERR_ARG ? EXIT_USAGE : EXIT_INPUT;
    goto end;
  }
  tsoI_Graph *g = tsoX_graph(xm);
  if ((st = tsoI_check(g)) != TSO_OK || (st = tsoI_infer(g)) != TSO_OK) {
    fprintf(stderr, "taso-bench: error: %s: %s\n", o->model, g->err);
    rc = st == TSO_ERR_NOMEM ? EXIT_RUN : EXIT_INPUT;
    goto end;
  }
  /* the prediction */
  const char *path = o->db_path;
  if (strcmp(o->backend, "analytic")) {
    if (!path) path = cli_default_db(dbp, sizeof dbp, 1); /* (NULL: in memory) */
    if ((st = tsoC_db_open(path, 0, &db, err)) != TSO_OK) {
      fprintf(stderr, "taso-bench: error: %s\n", err);
      rc = st == TSO_ERR_NOMEM ? EXIT_RUN : EXIT_DB;
      goto end;
    }
  }
  nc = calloc(g->nn > 0 ? (size_t)g->nn : 1, sizeof *nc);
  order = malloc((g->nn > 0 ? (size_t)g->nn : 1) * sizeof *order);
  if (!nc || !order) {
    fprintf(stderr, "taso-bench: error: out of memory\n");
    rc = EXIT_RUN;
    goto end;
  }
  tsoC_GraphOpts go;
  memset(&go, 0, sizeof go);
  go.budget_s = o->budget_s;
  go.no_store = o->no_store;
  go.fallback = fb;
  double predicted = 0.0;
  if ((st = tsoC_graph_cost(g, be, db, &go, &predicted, nc, err)) != TSO_OK) {
    fprintf(stderr, "taso-bench: error: %s\n", err);
    rc = st == TSO_ERR_IO ? EXIT_DB : EXIT_RUN;
    goto end;
  }
  int count[5] = {0};
  int32_t nord = tsoI_topo(g, order);
  if (nord < 0) {
    fprintf(stderr, "taso-bench: error: %s\n", g->err);
    rc = EXIT_INPUT;
    goto end;
  }
  for (int32_t i = 0; i < nord; i++) {
    int s = nc[order[i]].source;
    count[s >= 0 && s < 5 ? s : 0]++;
  }
  /* the measurement */
  double measured = 0.0, fastest = 0.0;
  Check ck;
  memset(&ck, 0, sizeof ck);
#ifdef TASO_HAVE_CUDA
  tsoC_ExecStats es;
  memset(&es, 0, sizeof es);
  if (gpu) {
    if ((st = tsoC_cuda_exec_create(be, g, &ex, err)) != TSO_OK) {
      fprintf(stderr, "taso-bench: error: %s: %s%s\n", o->model, err,
              st == TSO_ERR_SHAPE ? " (bind symbolic dimensions with --shape)" : "");
      rc = st == TSO_ERR_SHAPE ? EXIT_INPUT : EXIT_RUN;
      goto end;
    }
    ninputs = g->ninputs;
    inputs = calloc((size_t)ninputs + 1, sizeof *inputs);
    if (!inputs) {
      fprintf(stderr, "taso-bench: error: out of memory\n");
      rc = EXIT_RUN;
      goto end;
    }
    for (int i = 0; i < ninputs; i++) {
      size_t nb = 0;
      if (!(inputs[i] = random_input(&g->t[g->inputs[i]], o->seed * 1000003u + (uint64_t)i, &nb)) ||
          (st = tsoC_cuda_exec_set_input(ex, i, inputs[i], nb, err)) != TSO_OK) {
        fprintf(stderr, "taso-bench: error: input '%s': %s\n", g->t[g->inputs[i]].name,
                inputs[i] ? err : "no data of its type");
        rc = EXIT_RUN;
        goto end;
      }
    }
    if ((st = tsoC_cuda_exec_time(ex, o->warmup, o->runs, &measured, &fastest, err)) != TSO_OK) {
      fprintf(stderr, "taso-bench: error: %s: %s\n", o->model, err);
      rc = EXIT_RUN;
      goto end;
    }
    tsoC_cuda_exec_stats(ex, &es);
    if (o->check && (st = check_outputs(g, ex, inputs, o, &ck, err)) != TSO_OK) {
      fprintf(stderr, "taso-bench: error: --check: %s\n", err);
      rc = EXIT_RUN;
      goto end;
    }
  }
#else
  (void)gpu;
#endif
  double ratio = predicted > 0.0 && measured > 0.0 ? measured / predicted : 0.0;
  tsoC_Key *k = malloc(sizeof *k);
  if (!k) {
    rc = EXIT_RUN;
    goto end;
  }
  if (o->json) {
    printf("{\"model\":");
    json_str(o->model);
    printf(",\"backend\":");
    json_str(o->backend);
    printf(",\"device\":");
    json_str(be->device);
    printf(",\"version\":");
    json_str(be->version);
    printf(",\"predicted_ms\":%.9g,\"sources\":{\"measured\":%d,\"cached\":%d,\"analytic\":%d,\"free\":%d,\"none\":%d}",
           predicted, count[TSOC_SRC_MEASURED], count[TSOC_SRC_CACHED], count[TSOC_SRC_ANALYTIC],
           count[TSOC_SRC_FREE], count[TSOC_SRC_NONE]);
    if (gpu) {
      printf(",\"measured_ms\":%.9g,\"min_ms\":%.9g,\"runs\":%d,\"warmup\":%d,\"ratio\":%.9g", measured, fastest,
             o->runs, o->warmup, ratio);
#ifdef TASO_HAVE_CUDA
      printf(",\"executor\":{\"nodes\":%d,\"gpu\":%d,\"host\":%d,\"alias\":%d,\"const\":%d,\"buffers\":%d,"
             "\"activation_bytes\":%.0f,\"naive_bytes\":%.0f,\"constant_bytes\":%.0f,\"host_ops\":",
             es.nodes, es.gpu_nodes, es.host_nodes, es.free_nodes, es.const_nodes, es.buffers, es.act_bytes,
             es.naive_bytes, es.const_bytes);
      json_str(es.host_ops);
      putchar('}');
#endif
      if (o->check) {
        printf(",\"check\":{\"ran\":%s,\"outputs\":%d,\"mismatches\":%d,\"max_abs_err\":%.9g,\"max_rel_err\":%.9g,"
               "\"rtol\":%g,\"atol\":%g,\"seed\":%llu,\"note\":",
               ck.ran ? "true" : "false", ck.outputs, ck.bad, ck.max_abs, ck.max_rel, o->rtol, o->atol,
               (unsigned long long)o->seed);
        json_str(ck.note);
        putchar('}');
      }
    }
    if (o->verbose) {
      printf(",\"nodes\":[");
      for (int32_t i = 0; i < nord; i++) {
        int32_t id = order[i];
        const tsoO_Info *oi = tsoO_info(g->n[id].op);
        printf("%s{\"node\":%d,\"op\":", i ? "," : "", (int)id);
        json_str(oi ? oi->name : "?");
        printf(",\"predicted_ms\":%.9g,\"source\":\"%s\"", nc[id].ms, tsoC_source_name(nc[id].source));
#ifdef TASO_HAVE_CUDA
        if (ex) {
          printf(",\"impl\":");
          json_str(tsoC_cuda_exec_impl(ex, id));
        }
#endif
        putchar('}');
      }
      putchar(']');
    }
    printf("}\n");
  } else {
    printf("taso-bench %s: %s on %s\n", tso_version(), o->model, o->backend);
    printf("  device     %s\n  version    %s\n", be->device, be->version);
    printf("  predicted  %.4f ms: the sum of %d operator costs (%d measured, %d cached, %d analytic, %d free, "
           "%d not costed)\n",
           predicted, (int)nord, count[TSOC_SRC_MEASURED], count[TSOC_SRC_CACHED], count[TSOC_SRC_ANALYTIC],
           count[TSOC_SRC_FREE], count[TSOC_SRC_NONE]);
    if (!gpu)
      printf("  measured   not measured: end-to-end runs need --backend cuda%s%s%s\n", defaulted ? " (" : "",
             defaulted ? why : "", defaulted ? ")" : "");
#ifdef TASO_HAVE_CUDA
    if (gpu) {
      printf("  executor   %d nodes: %d on the GPU, %d on the host%s%s%s, %d aliases, %d constants\n", es.nodes,
             es.gpu_nodes, es.host_nodes, es.host_ops[0] ? " (" : "", es.host_ops, es.host_ops[0] ? ")" : "",
             es.free_nodes, es.const_nodes);
      printf("  memory     activations %.1f MiB in %d buffers (%.1f MiB without reuse), constants %.1f MiB\n",
             es.act_bytes / 1048576.0, es.buffers, es.naive_bytes / 1048576.0, es.const_bytes / 1048576.0);
      printf("  measured   %.4f ms, median of %d runs (fastest %.4f ms; %d warm-up runs)\n", measured, o->runs,
             fastest, o->warmup);
      printf("  ratio      measured / predicted = %.3f\n", ratio);
      if (o->check) {
        if (!ck.ran) printf("  check      not run: %s\n", ck.note);
        else
          printf("  check      %s: %d output(s) against the reference kernels (seed %llu), max abs err %.3g, "
                 "max rel err %.3g (rtol %g, atol %g)%s%s\n",
                 ck.bad ? "FAILED" : "passed", ck.outputs, (unsigned long long)o->seed, ck.max_abs, ck.max_rel,
                 o->rtol, o->atol, ck.note[0] ? "\n             " : "", ck.note);
      }
    }
#endif
    if (o->verbose) {
      printf("\n%5s  %-10s %10s  %-8s  %-28s %s\n", "node", "op", "ms", "source", "implementation", "signature");
      for (int32_t i = 0; i < nord; i++) {
        int32_t id = order[i];
        const tsoO_Info *oi = tsoO_info(g->n[id].op);
        char text[TSOC_TEXT_MAX] = "";
        if (tsoC_key_from_node(g, id, NULL, k, NULL) == TSO_OK) tsoC_key_text(k, text, sizeof text);
        const char *impl = "";
#ifdef TASO_HAVE_CUDA
        if (ex) impl = tsoC_cuda_exec_impl(ex, id);
#endif
        printf("%5d  %-10s %10.4f  %-8s  %-28s %s\n", (int)id, oi ? oi->name : "?", nc[id].ms,
               tsoC_source_name(nc[id].source), impl, text);
      }
    }
  }
  free(k);
  if (ck.bad) rc = EXIT_CHECK;
end:
#ifdef TASO_HAVE_CUDA
  tsoC_cuda_exec_free(ex);
#endif
  for (int i = 0; inputs && i < ninputs; i++) free(inputs[i]);
  free(inputs);
  free(nc);
  free(order);
  tsoC_db_close(db);
  tsoX_free(xm);
  tsoC_backend_free(be);
  tsoC_backend_free(fb);
  return rc;
}

int main(int argc, char **argv) {
  static Opts o;
  o.runs = 20;
  o.warmup = 3;
  o.seed = 1;
  o.rtol = o.atol = -1.0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return EXIT_OK;
    } else if (!strcmp(a, "--version")) {
      printf("taso-bench %s (CUDA backend: %s, oneDNN backend: %s)\n", tso_version(), tsoC_have_cuda() ? "yes" : "no",
             tsoC_have_onednn() ? "yes" : "no");
      return EXIT_OK;
    } else if (!strcmp(a, "--no-store")) {
      o.no_store = 1;
    } else if (!strcmp(a, "--check")) {
      o.check = 1;
    } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
      o.verbose = 1;
    } else if (!strcmp(a, "--json")) {
      o.json = 1;
    } else if (!strcmp(a, "--backend") || !strcmp(a, "--runs") || !strcmp(a, "--warmup") || !strcmp(a, "--shape") ||
               !strcmp(a, "--cost-db") || !strcmp(a, "--budget") || !strcmp(a, "--rtol") || !strcmp(a, "--atol") ||
               !strcmp(a, "--seed")) {
      if (!val) {
        fprintf(stderr, "taso-bench: error: %s needs a value (see --help)\n", a);
        return EXIT_USAGE;
      }
      i++;
      double v = 0.0;
      if (!strcmp(a, "--backend")) {
        o.backend = val;
      } else if (!strcmp(a, "--cost-db")) {
        o.db_path = val;
      } else if (!strcmp(a, "--shape")) {
        if (cli_add_shape("taso-bench", val, o.binds, &o.nbinds, o.names, &o.nnames, MAX_BINDS) != 0)
          return EXIT_USAGE;
      } else if (cli_parse_num(val, &v) != 0) {
        fprintf(stderr, "taso-bench: error: %s needs a non-negative number, not '%s'\n", a, val);
        return EXIT_USAGE;
      } else if (!strcmp(a, "--runs") || !strcmp(a, "--warmup") || !strcmp(a, "--seed")) {
        if (v != floor(v) || v > 1e9 || (!strcmp(a, "--runs") && v < 1)) {
          fprintf(stderr, "taso-bench: error: %s needs a whole number%s, not '%s'\n", a,
                  !strcmp(a, "--runs") ? " >= 1" : "", val);
          return EXIT_USAGE;
        }
        if (!strcmp(a, "--runs")) o.runs = (int)v;
        else if (!strcmp(a, "--warmup")) o.warmup = (int)v;
        else o.seed = (uint64_t)v;
      } else if (!strcmp(a, "--budget")) {
        o.budget_s = v;
      } else if (!strcmp(a, "--rtol")) {
        o.rtol = v;
      } else {
        o.atol = v;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "taso-bench: error: unknown option '%s' (see --help)\n", a);
      return EXIT_USAGE;
    } else if (!o.model) {
      o.model = a;
    } else {
      fprintf(stderr, "taso-bench: error: too many arguments (see --help)\n");
      return EXIT_USAGE;
    }
  }
  if (!o.model) {
    fprintf(stderr, "taso-bench: error: expected a model: taso-bench MODEL.onnx (see --help)\n");
    return EXIT_USAGE;
  }
  return bench(&o);
}
