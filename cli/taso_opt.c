/*
** taso_opt.c -- `taso-opt in.onnx out.onnx`: load, optimize, check
** numerically against the original, write atomically, summarize.
**
** Uses only the public API (taso.h). Exit codes are documented in
** usage() and in the README; they are part of the interface.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taso/taso.h"

enum {
  EXIT_OK = 0,       /* written */
  EXIT_USAGE = 1,    /* bad command line */
  EXIT_INPUT = 2,    /* the input could not be read or is not a valid model */
  EXIT_CHECK = 3,    /* the numerical check failed: nothing written */
  EXIT_OUTPUT = 4,   /* the output could not be written */
  EXIT_INTERNAL = 5  /* out of memory or another internal failure */
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: taso-opt [options] IN.onnx OUT.onnx\n"
          "\n"
          "Optimizes an ONNX model and writes a model that computes the same function.\n"
          "The result is compared with the original on random inputs before it is written;\n"
          "on a mismatch nothing is written. The output file is replaced atomically.\n"
          "\n"
          "options:\n"
          "  --shape NAME=DIMS  bind a symbolic dimension (batch=1) or the whole shape of\n"
          "                     an input (input=1x3x224x224); repeatable\n"
          "  --seed N           seed of the numerical check's random inputs (default: from\n"
          "                     the clock; always printed)\n"
          "  --rtol X           relative tolerance of the check (default 1e-3)\n"
          "  --atol X           absolute tolerance of the check (default 1e-4)\n"
          "  --no-check         skip the numerical check (not recommended)\n"
          "  --json             print the summary as JSON on standard output\n"
          "  --quiet            print nothing but errors\n"
          "  --version          print the version and exit\n"
          "  --help             print this help and exit\n"
          "\n"
          "exit status:\n"
          "  0  the optimized model was written\n"
          "  1  bad command line\n"
          "  2  the input could not be read or is not a valid ONNX model\n"
          "  3  the numerical check failed; nothing was written\n"
          "  4  the output could not be written\n"
          "  5  out of memory or another internal failure\n");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int exit_for(tso_status st, int writing) {
  switch (st) {
  case TSO_OK: return EXIT_OK;
  case TSO_ERR_NOMEM: return EXIT_INTERNAL;
  case TSO_ERR_MISMATCH: return EXIT_CHECK;
  case TSO_ERR_IO: return writing ? EXIT_OUTPUT : EXIT_INPUT;
  case TSO_ERR_ARG: return writing ? EXIT_OUTPUT : EXIT_USAGE;
  default: return writing ? EXIT_OUTPUT : EXIT_INPUT;
  }
}

/* Writes s as a JSON string literal. */
static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c == '\n') printf("\\n");
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0)) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  int quiet = 0, json = 0;
  tso_opt_options opt;
  tso_opt_options_init(&opt);
  opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
  opt.seed %= 1000000007ull;
  tso_ctx *ctx = tso_ctx_create();
  if (!ctx) {
    fprintf(stderr, "taso-opt: error: out of memory\n");
    return EXIT_INTERNAL;
  }
  int rc = EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      tso_ctx_free(ctx);
      return EXIT_OK;
    } else if (!strcmp(a, "--version")) {
      printf("taso-opt %s\n", tso_version());
      tso_ctx_free(ctx);
      return EXIT_OK;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      quiet = 1;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--no-check")) {
      opt.skip_check = 1;
    } else if (!strcmp(a, "--shape") || !strcmp(a, "--seed") || !strcmp(a, "--rtol") || !strcmp(a, "--atol")) {
      if (!val) {
        fprintf(stderr, "taso-opt: error: %s needs a value (see --help)\n", a);
        rc = EXIT_USAGE;
        goto end;
      }
      i++;
      if (!strcmp(a, "--shape")) {
        if (tso_ctx_bind_shape(ctx, val) != TSO_OK) {
          fprintf(stderr, "taso-opt: error: %s\n", tso_errmsg(ctx));
          rc = EXIT_USAGE;
          goto end;
        }
      } else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-') {
          fprintf(stderr, "taso-opt: error: --seed needs a non-negative integer, not '%s'\n", val);
          rc = EXIT_USAGE;
          goto end;
        }
        opt.seed = s;
      } else if (parse_double(val, !strcmp(a, "--rtol") ? &opt.rtol : &opt.atol) != 0) {
        fprintf(stderr, "taso-opt: error: %s needs a non-negative number, not '%s'\n", a, val);
        rc = EXIT_USAGE;
        goto end;
      }
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "taso-opt: error: unknown option '%s' (see --help)\n", a);
      rc = EXIT_USAGE;
      goto end;
    } else if (!in) {
      in = a;
    } else if (!out) {
      out = a;
    } else {
      fprintf(stderr, "taso-opt: error: too many arguments (see --help)\n");
      rc = EXIT_USAGE;
      goto end;
    }
  }
  if (!in || !out) {
    fprintf(stderr, "taso-opt: error: expected IN.onnx OUT.onnx (see --help)\n");
    rc = EXIT_USAGE;
    goto end;
  }

  double t0 = now();
  tso_model *m = NULL;
  tso_status st = tso_model_load(ctx, in, &m);
  if (st != TSO_OK) {
    fprintf(stderr, "taso-opt: error: %s: %s\n", in, tso_errmsg(ctx));
    rc = exit_for(st, 0);
    goto end;
  }
  double t1 = now();
  const char *warnings = tso_model_warnings(m);
  if (!quiet && !json && *warnings) {
    for (const char *p = warnings; *p;) {
      const char *nl = strchr(p, '\n');
      int n = nl ? (int)(nl - p) : (int)strlen(p);
      fprintf(stderr, "taso-opt: note: %.*s\n", n, p);
      p += n + (nl ? 1 : 0);
    }
  }
  tso_model_stats ms;
  tso_model_stats_get(m, &ms);
  const char *const *types = NULL;
  int ntypes = tso_model_opaque_types(m, &types);
  char opaque[1024] = "none";
  if (ntypes) {
    size_t k = 0;
    opaque[0] = 0;
    for (int i = 0; i < ntypes && k + 2 < sizeof opaque; i++) {
      int w = snprintf(opaque + k, sizeof opaque - k, "%s%s", i ? ", " : "", types[i]);
      if (w < 0) break;
      k += (size_t)w;
    }
  }
  /* tso_optimize runs the check; its time is part of "optimize" */
  tso_opt_report rep;
  st = tso_optimize(m, &opt, &rep);
  double t2 = now();
  if (st != TSO_OK) {
    if (st == TSO_ERR_MISMATCH)
      fprintf(stderr, "taso-opt: error: numerical check failed (seed %llu): %s; nothing written\n",
              (unsigned long long)opt.seed, tso_errmsg(ctx));
    else
      fprintf(stderr, "taso-opt: error: %s: %s\n", in, tso_errmsg(ctx));
    rc = exit_for(st, 0);
    tso_model_free(m);
    goto end;
  }
  st = tso_model_save(m, out);
  double t3 = now();
  if (st != TSO_OK) {
    fprintf(stderr, "taso-opt: error: cannot write %s: %s\n", out, tso_errmsg(ctx));
    rc = exit_for(st, 1);
    tso_model_free(m);
    goto end;
  }
  const char *check = opt.skip_check ? "skipped (--no-check)"
                      : !rep.check_run ? "not run"
                      : rep.outputs_unchecked ? "partial"
                                              : "passed";
  if (json) {
    printf("{\"input\":");
    json_str(in);
    printf(",\"output\":");
    json_str(out);
    printf(",\"nodes_before\":%d,\"nodes_after\":%d,\"dead_removed\":%d,\"noops_removed\":%d",
           rep.nodes_before, rep.nodes_after, rep.dead_removed, rep.noops_removed);
    printf(",\"opaque_nodes\":%d,\"opaque_types\":[", ms.opaque_nodes);
    for (int i = 0; i < ntypes; i++) {
      if (i) putchar(',');
      json_str(types[i]);
    }
    printf("],\"check\":{\"status\":\"%s\",\"seed\":%llu,\"outputs_checked\":%d,\"outputs_unchecked\":%d,"
           "\"max_abs_err\":%.9g,\"max_rel_err\":%.9g,\"rtol\":%g,\"atol\":%g,\"note\":",
           check, (unsigned long long)opt.seed, rep.outputs_checked, rep.outputs_unchecked, rep.max_abs_err,
           rep.max_rel_err, opt.rtol, opt.atol);
    json_str(rep.check_note);
    printf("},\"warnings\":");
    json_str(warnings);
    printf(",\"seconds\":{\"load\":%.3f,\"optimize_and_check\":%.3f,\"write\":%.3f,\"total\":%.3f}}\n", t1 - t0,
           t2 - t1, t3 - t2, t3 - t0);
  } else if (!quiet) {
    printf("taso-opt %s: %s -> %s\n", tso_version(), in, out);
    printf("  nodes      %d -> %d  (%d dead, %d no-op removed)\n", rep.nodes_before, rep.nodes_after,
           rep.dead_removed, rep.noops_removed);
    printf("  opaque     %d node(s): %s\n", ms.opaque_nodes, opaque);
    if (opt.skip_check)
      printf("  check      skipped (--no-check)\n");
    else
      printf("  check      %s: %d output(s) compared on random inputs (seed %llu), max abs err %.3g, "
             "max rel err %.3g (rtol %g, atol %g)%s%s\n",
             check, rep.outputs_checked, (unsigned long long)opt.seed, rep.max_abs_err, rep.max_rel_err,
             opt.rtol, opt.atol, rep.check_note[0] ? "\n             note: " : "", rep.check_note);
    printf("  time       load %.2f s, optimize+check %.2f s, write %.2f s, total %.2f s\n", t1 - t0, t2 - t1,
           t3 - t2, t3 - t0);
  }
  tso_model_free(m);
end:
  tso_ctx_free(ctx);
  return rc;
}
