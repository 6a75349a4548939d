/*
** taso_cost.c -- `taso-cost`: pre-measure a model's operators into the
** cost database, and show what a database holds.
**
**   taso-cost measure IN.onnx [options]   per-operator table and total
**   taso-cost dump [options]              every stored measurement
**
** Uses the internal API (onnx/, graph/, cost/). Exit codes are listed in
** usage(); they are part of the interface.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
  EXIT_INTERNAL = 5  /* out of memory or another internal failure */
};

#define MAX_BINDS 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: taso-cost measure IN.onnx [options]\n"
          "       taso-cost dump [options]\n"
          "\n"
          "measure: times every operator of the model on this machine, once per distinct\n"
          "operator instance, and stores the times in the cost database, so that later runs\n"
          "(taso-opt, taso-cost) reuse them. Prints one line per node and the total.\n"
          "dump: prints every measurement of the database, grouped by device, backend and\n"
          "library version (a measurement is only ever used for the same three).\n"
          "\n"
          "options:\n"
          "  --cost-db FILE     the database (default $XDG_CACHE_HOME/taso/costs.sqlite, or\n"
          "                     ~/.cache/taso/costs.sqlite); created when missing\n"
          "  --backend NAME     onednn (measured on the CPU; the default when built with\n"
          "                     oneDNN), cuda (measured on the GPU; cuda:tf32, cuda:fp16,\n"
          "                     cuda:bf16 let cuDNN and cuBLAS use tensor cores; part of the\n"
          "                     database key) or analytic (a roofline estimate, nothing stored)\n"
          "  --shape NAME=DIMS  bind a symbolic dimension (batch=1) or the whole shape of an\n"
          "                     input (input=1x3x224x224); repeatable\n"
          "  --budget SECONDS   stop measuring after this long; the rest is estimated by the\n"
          "                     analytic model and flagged (default: no limit)\n"
          "  --remeasure        measure again what the database already has (and replace it)\n"
          "  --no-store         do not write to the database\n"
          "  --threads N        library threads while measuring (default 1; 0: the runtime's\n"
          "                     default). Part of the database key.\n"
          "  --max-ms MS        measuring time cap per operator (default 1000)\n"
          "  --target-ci X      stop an operator once the 95%% confidence interval of its\n"
          "                     time is within +-X of it (default 0.02)\n"
          "  --peak-gflops X    analytic model: sustained FLOP rate, GFLOP/s (default 96)\n"
          "  --mem-gbs X        analytic model: memory bandwidth, GB/s (default 40)\n"
          "  --overhead-us X    analytic model: fixed cost per operator, us (default 2)\n"
          "  --tsv              tab-separated output (one header line, then rows)\n"
          "  --quiet            measure: print only the total\n"
          "  --version          print the version and exit\n"
          "  --help             print this help and exit\n"
          "\n"
          "sources: measured (timed now), cached (from the database), analytic (the backend\n"
          "does not support the operator, or the budget ran out: the reason is shown),\n"
          "free (moves no data: reshapes, inference Dropout, constants), none (opaque\n"
          "operator or unknown shapes: not costed).\n"
          "\n"
          "exit status:\n"
          "  0  done\n"
          "  1  bad command line\n"
          "  2  the model could not be read or its shapes inferred\n"
          "  3  the cost database could not be opened, read or written\n"
          "  4  the backend is not available (built without oneDNN or CUDA, or no GPU)\n"
          "  5  out of memory or another internal failure\n");
}

static int exit_for_db(tso_status st) { return st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_DB; }

/* Creates every missing folder of path's parent (mkdir -p). */
static int make_parent(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return 0;
  *slash = 0;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

typedef struct Opts {
  const char *cmd, *model, *db_path, *backend;
  tsoX_Bind binds[2 * MAX_BINDS];
  char names[MAX_BINDS][128];
  int nbinds, nnames;
  double budget_s;
  int remeasure, no_store, tsv, quiet;
  tsoC_MeasureOpts mo;
  tsoC_Roofline roof;
} Opts;

/* ---- measure ------------------------------------------------------------------------ */

static void progress(void *ud, int done, int total) {
  (void)ud;
  if (!isatty(2)) return;
  fprintf(stderr, "\rtaso-cost: measuring %d/%d distinct operators...%s", done, total, done == total ? "\n" : "");
  fflush(stderr);
}

static int cmd_measure(Opts *o) {
  char err[TSO_ERRMAX] = "", dbp[4096];
  tsoX_Model *x = NULL;
  tsoC_Backend *be = NULL, *fb = NULL;
  tsoC_Db *db = NULL;
  tsoC_NodeCost *nc = NULL;
  int32_t *order = NULL;
  int rc = EXIT_OK;
  tso_status st;
  if (!o->backend) o->backend = tsoC_have_onednn() ? "onednn" : "analytic";
  int analytic = !strcmp(o->backend, "analytic");
  if (analytic) {
    be = tsoC_analytic_create(&o->roof);
  } else if (!strcmp(o->backend, "onednn")) {
    be = tsoC_onednn_create(&o->mo, err);
    if (!be) {
      fprintf(stderr, "taso-cost: error: backend onednn: %s\n", err);
      return EXIT_BACKEND;
    }
  } else if (!strncmp(o->backend, "cuda", 4) && (o->backend[4] == 0 || o->backend[4] == ':')) {
    if (o->backend[4] == ':' && (o->mo.gpu_math = tsoC_math_parse(o->backend + 5)) < 0) {
      fprintf(stderr, "taso-cost: error: unknown GPU math '%s' (expected fp32, tf32, fp16 or bf16)\n",
              o->backend + 5);
      return EXIT_USAGE;
    }
    be = tsoC_cuda_create(&o->mo, err);
    if (!be) {
      fprintf(stderr, "taso-cost: error: --backend %s: %s\n", o->backend, err);
      return EXIT_BACKEND;
    }
  } else {
    fprintf(stderr, "taso-cost: error: unknown backend '%s' (expected onednn, cuda or analytic)\n", o->backend);
    return EXIT_USAGE;
  }
  if (!be || !(fb = tsoC_analytic_create(&o->roof))) {
    fprintf(stderr, "taso-cost: error: out of memory\n");
    tsoC_backend_free(be);
    return EXIT_INTERNAL;
  }
  if ((st = tsoX_load_file(o->model, o->binds, o->nbinds, &x, err)) != TSO_OK) {
    fprintf(stderr, "taso-cost: error: %s: %s\n", o->model, err);
    rc = st == TSO_ERR_NOMEM ? EXIT_INTERNAL : st == TSO_ERR_ARG ? EXIT_USAGE : EXIT_INPUT;
    goto end;
  }
  tsoI_Graph *g = tsoX_graph(x);
  if ((st = tsoI_check(g)) != TSO_OK || (st = tsoI_infer(g)) != TSO_OK) {
    fprintf(stderr, "taso-cost: error: %s: %s\n", o->model, g->err);
    rc = st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_INPUT;
    goto end;
  }
  /* the database: not needed by the analytic model */
  const char *path = o->db_path;
  if (!analytic) {
    if (!path) {
      if (!cli_default_db(dbp, sizeof dbp, 0)) {
        fprintf(stderr, "taso-cost: error: neither XDG_CACHE_HOME nor HOME is set; give --cost-db FILE\n");
        rc = EXIT_USAGE;
        goto end;
      }
      path = dbp;
    }
    if (make_parent(path) != 0) {
      fprintf(stderr, "taso-cost: error: cannot create the folder of %s: %s\n", path, strerror(errno));
      rc = EXIT_DB;
      goto end;
    }
    if ((st = tsoC_db_open(path, 0, &db, err)) != TSO_OK) {
      fprintf(stderr, "taso-cost: error: %s\n", err);
      rc = exit_for_db(st);
      goto end;
    }
  }
  if (!strcmp(o->backend, "onednn")) { /* a busy machine inflates long CPU operators: say so */
    double load = 0.0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
      if (fscanf(lf, "%lf", &load) != 1) load = 0.0;
      fclose(lf);
    }
    if (cpus > 0 && load > (double)cpus - 0.5)
      fprintf(stderr,
              "taso-cost: note: load average %.1f on %ld cpus: other processes share this machine's caches and "
              "memory bandwidth; memory-bound operators may be measured slower than they are\n",
              load, cpus);
  }
  nc = calloc(g->nn > 0 ? (size_t)g->nn : 1, sizeof *nc);
  order = malloc((g->nn > 0 ? (size_t)g->nn : 1) * sizeof *order);
  if (!nc || !order) {
    fprintf(stderr, "taso-cost: error: out of memory\n");
    rc = EXIT_INTERNAL;
    goto end;
  }
  tsoC_GraphOpts go;
  memset(&go, 0, sizeof go);
  go.budget_s = o->budget_s;
  go.remeasure = o->remeasure;
  go.no_store = o->no_store;
  go.fallback = fb;
  go.progress = o->quiet || o->tsv ? NULL : progress;
  double total = 0.0, t0 = tsoC_now();
  if ((st = tsoC_graph_cost(g, be, db, &go, &total, nc, err)) != TSO_OK) {
    fprintf(stderr, "taso-cost: error: %s\n", err);
    rc = st == TSO_ERR_NOMEM ? EXIT_INTERNAL : st == TSO_ERR_IO ? EXIT_DB : EXIT_INTERNAL;
    goto end;
  }
  double secs = tsoC_now() - t0;
  int32_t nord = tsoI_topo(g, order);
  if (nord < 0) {
    fprintf(stderr, "taso-cost: error: %s\n", g->err);
    rc = EXIT_INPUT;
    goto end;
  }
  int count[5] = {0};
  double by_src[5] = {0};
  tsoC_Key *k = malloc(sizeof *k);
  if (!k) {
    rc = EXIT_INTERNAL;
    goto end;
  }
  if (o->tsv) printf("node\top\tms\tsource\tspread\trepeats\tsig_hash\tsignature\tnote\n");
  else if (!o->quiet) {
    printf("taso-cost %s: %s on %s\n", tso_version(), o->model, be->vt->name);
    printf("  device   %s\n  version  %s\n  database %s\n\n", be->device, be->version,
           analytic ? "(none: analytic estimates are not stored)" : path);
    printf("%5s  %-10s %10s  %-8s %6s %4s  %s\n", "node", "op", "ms", "source", "spread", "n", "signature");
  }
  for (int32_t i = 0; i < nord; i++) {
    int32_t id = order[i];
    const tsoC_NodeCost *c = &nc[id];
    const tsoO_Info *oi = tsoO_info(g->n[id].op);
    char text[TSOC_TEXT_MAX] = "";
    if (tsoC_key_from_node(g, id, NULL, k, NULL) == TSO_OK) tsoC_key_text(k, text, sizeof text);
    else if (g->n[id].op == TSO_OP_OPAQUE && g->n[id].origin >= 0) {
      const char *ty = tsoX_node_type(x, g->n[id].origin);
      snprintf(text, sizeof text, "opaque %s", ty ? ty : "?");
    }
    int s = c->source >= 0 && c->source < 5 ? c->source : 0;
    count[s]++;
    by_src[s] += c->ms;
    const char *name = oi ? oi->name : "?";
    if (o->tsv) {
      printf("%d\t%s\t%.6f\t%s\t%.4f\t%d\t%016llx\t%s\t%s\n", (int)id, name, c->ms, tsoC_source_name(c->source),
             c->spread, (int)c->repeats, (unsigned long long)c->sig_hash, text, c->why);
    } else if (!o->quiet) {
      char spread[16] = "-";
      if (c->repeats > 0) snprintf(spread, sizeof spread, "%.1f%%", 100.0 * c->spread);
      printf("%5d  %-10s %10.4f  %-8s %6s %4d  %s\n", (int)id, name, c->ms, tsoC_source_name(c->source), spread,
             (int)c->repeats, text);
      if (c->why[0]) printf("%5s  %-10s %10s  %-8s %6s %4s    (%s)\n", "", "", "", "", "", "", c->why);
    }
  }
  free(k);
  if (!o->tsv)
    printf("%stotal %.4f ms over %d nodes: %d measured (%.3f ms), %d cached (%.3f ms), %d analytic (%.3f ms), "
           "%d free, %d not costed; %.1f s\n",
           o->quiet ? "" : "\n", total, (int)nord, count[TSOC_SRC_MEASURED], by_src[TSOC_SRC_MEASURED],
           count[TSOC_SRC_CACHED], by_src[TSOC_SRC_CACHED], count[TSOC_SRC_ANALYTIC], by_src[TSOC_SRC_ANALYTIC],
           count[TSOC_SRC_FREE], count[TSOC_SRC_NONE], secs);
end:
  free(nc);
  free(order);
  tsoC_db_close(db);
  tsoX_free(x);
  tsoC_backend_free(be);
  tsoC_backend_free(fb);
  return rc;
}

/* ---- dump --------------------------------------------------------------------------- */

typedef struct DumpState {
  int tsv;
  int rows;
  char device[256], backend[64], version[256];
} DumpState;

static int dump_row(void *ud, const tsoC_DbRow *r) {
  DumpState *d = ud;
  if (d->tsv) {
    printf("%s\t%s\t%s\t%s\t%016llx\t%.6f\t%.4f\t%d\t%d\t%.6f\t%.6f\t%lld\t%s\n", r->device, r->backend, r->version,
           r->op, (unsigned long long)r->sig_hash, r->e.ms, r->e.spread, (int)r->e.repeats, (int)r->e.batch,
           r->e.min_ms, r->e.median_ms, (long long)r->e.measured_at, r->sig_text);
    d->rows++;
    return 0;
  }
  if (strcmp(d->device, r->device) || strcmp(d->backend, r->backend) || strcmp(d->version, r->version)) {
    snprintf(d->device, sizeof d->device, "%s", r->device);
    snprintf(d->backend, sizeof d->backend, "%s", r->backend);
    snprintf(d->version, sizeof d->version, "%s", r->version);
    printf("\nbackend %s\n  device  %s\n  version %s\n", r->backend, r->device, r->version);
    printf("  %-10s %10s %7s %4s %6s  %-19s  %s\n", "op", "ms", "spread", "n", "batch", "measured", "signature");
  }
  char when[32] = "?";
  time_t t = (time_t)r->e.measured_at;
  struct tm tmv;
  if (gmtime_r(&t, &tmv)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tmv);
  printf("  %-10s %10.4f %6.1f%% %4d %6d  %-19s  %s\n", r->op, r->e.ms, 100.0 * r->e.spread, (int)r->e.repeats,
         (int)r->e.batch, when, r->sig_text);
  d->rows++;
  return 0;
}

static int cmd_dump(Opts *o) {
  char err[TSO_ERRMAX] = "", dbp[4096];
  const char *path = o->db_path;
  if (!path) {
    if (!cli_default_db(dbp, sizeof dbp, 0)) {
      fprintf(stderr, "taso-cost: error: neither XDG_CACHE_HOME nor HOME is set; give --cost-db FILE\n");
      return EXIT_USAGE;
    }
    path = dbp;
  }
  if (access(path, F_OK) != 0) {
    fprintf(stderr, "taso-cost: error: no cost database at %s (taso-cost measure creates it)\n", path);
    return EXIT_DB;
  }
  tsoC_Db *db = NULL;
  tso_status st = tsoC_db_open(path, TSOC_DB_READONLY, &db, err);
  if (st != TSO_OK) {
    fprintf(stderr, "taso-cost: error: %s\n", err);
    return exit_for_db(st);
  }
  DumpState d;
  memset(&d, 0, sizeof d);
  d.tsv = o->tsv;
  if (o->tsv)
    printf("device\tbackend\tversion\top\tsig_hash\tms\tspread\trepeats\tbatch\tmin_ms\tmedian_ms\tmeasured_at"
           "\tsignature\n");
  else
    printf("cost database %s (schema %d)\n", path, tsoC_db_schema(db));
  st = tsoC_db_foreach(db, dump_row, &d, err);
  tsoC_db_close(db);
  if (st != TSO_OK) {
    fprintf(stderr, "taso-cost: error: %s\n", err);
    return exit_for_db(st);
  }
  if (!o->tsv) printf("\n%d measurement%s\n", d.rows, d.rows == 1 ? "" : "s");
  return EXIT_OK;
}

/* ---- command line ------------------------------------------------------------------- */

int main(int argc, char **argv) {
  static Opts o;
  tsoC_measure_opts_init(&o.mo);
  tsoC_roofline_init(&o.roof);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return EXIT_OK;
    } else if (!strcmp(a, "--version")) {
      printf("taso-cost %s (oneDNN backend: %s, CUDA backend: %s)\n", tso_version(), tsoC_have_onednn() ? "yes" : "no",
             tsoC_have_cuda() ? "yes" : "no");
      return EXIT_OK;
    } else if (!strcmp(a, "--remeasure")) {
      o.remeasure = 1;
    } else if (!strcmp(a, "--no-store")) {
      o.no_store = 1;
    } else if (!strcmp(a, "--tsv")) {
      o.tsv = 1;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      o.quiet = 1;
    } else if (!strcmp(a, "--cost-db") || !strcmp(a, "--backend") || !strcmp(a, "--shape") ||
               !strcmp(a, "--budget") || !strcmp(a, "--threads") || !strcmp(a, "--max-ms") ||
               !strcmp(a, "--target-ci") || !strcmp(a, "--peak-gflops") || !strcmp(a, "--mem-gbs") ||
               !strcmp(a, "--overhead-us")) {
      if (!val) {
        fprintf(stderr, "taso-cost: error: %s needs a value (see --help)\n", a);
        return EXIT_USAGE;
      }
      i++;
      double v = 0.0;
      if (!strcmp(a, "--cost-db")) {
        o.db_path = val;
      } else if (!strcmp(a, "--backend")) {
        o.backend = val;
      } else if (!strcmp(a, "--shape")) {
        if (cli_add_shape("taso-cost", val, o.binds, &o.nbinds, o.names, &o.nnames, MAX_BINDS) != 0)
          return EXIT_USAGE;
      } else if (cli_parse_num(val, &v) != 0) {
        fprintf(stderr, "taso-cost: error: %s needs a non-negative number, not '%s'\n", a, val);
        return EXIT_USAGE;
      } else if (!strcmp(a, "--budget")) {
        o.budget_s = v;
      } else if (!strcmp(a, "--threads")) {
        if (v != (double)(int)v || v > 4096) {
          fprintf(stderr, "taso-cost: error: --threads needs a whole number, not '%s'\n", val);
          return EXIT_USAGE;
        }
        o.mo.threads = (int)v;
      } else if (!strcmp(a, "--max-ms")) {
        o.mo.max_ms = v;
      } else if (!strcmp(a, "--target-ci")) {
        o.mo.target_ci = v;
      } else if (!strcmp(a, "--peak-gflops") || !strcmp(a, "--mem-gbs")) {
        if (v <= 0.0) {
          fprintf(stderr, "taso-cost: error: %s must be positive\n", a);
          return EXIT_USAGE;
        }
        if (!strcmp(a, "--peak-gflops")) o.roof.peak_gflops = v;
        else o.roof.mem_gbs = v;
      } else {
        o.roof.overhead_us = v;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "taso-cost: error: unknown option '%s' (see --help)\n", a);
      return EXIT_USAGE;
    } else if (!o.cmd) {
      o.cmd = a;
    } else if (!o.model) {
      o.model = a;
    } else {
      fprintf(stderr, "taso-cost: error: too many arguments (see --help)\n");
      return EXIT_USAGE;
    }
  }
  if (!o.cmd) {
    fprintf(stderr, "taso-cost: error: expected a command, measure or dump (see --help)\n");
    return EXIT_USAGE;
  }
  if (!strcmp(o.cmd, "measure")) {
    if (!o.model) {
      fprintf(stderr, "taso-cost: error: measure needs a model: taso-cost measure IN.onnx (see --help)\n");
      return EXIT_USAGE;
    }
    return cmd_measure(&o);
  }
  if (!strcmp(o.cmd, "dump")) {
    if (o.model) {
      fprintf(stderr, "taso-cost: error: dump takes no model (see --help)\n");
      return EXIT_USAGE;
    }
    return cmd_dump(&o);
  }
  fprintf(stderr, "taso-cost: error: unknown command '%s' (expected measure or dump)\n", o.cmd);
  return EXIT_USAGE;
}
