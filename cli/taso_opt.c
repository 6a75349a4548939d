/*
** taso_opt.c -- `taso-opt in.onnx out.onnx`: load, optimize, check
** numerically against the original, write atomically, summarize.
**
** Uses the public API (taso.h), and cost/cuda.h's probe only, so that
** `--backend cuda` on a machine without a GPU fails at once, before the
** model is read. Exit codes are documented in usage() and in the README;
** they are part of the interface. Every message on standard error goes
** through cli_msg, which escapes control characters and invalid UTF-8:
** one line, whatever the names in the model contain.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "taso/taso.h"
#include "cli_util.h"
#include "cost/cuda.h"

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
          "  --rules FILE       rule file (rules.bin or its text form); default: the shipped\n"
          "                     data/rules.bin (PREFIX/share/taso/rules.bin, else <exe dir>/../data/\n"
          "                     rules.bin, else the source tree's); without one, only the passes run\n"
          "  --no-rules         do not search with rules (passes and fusions only)\n"
          "  --alpha X          keep rewritten graphs cheaper than X times the best (default 1.05)\n"
          "  --budget N         graphs expanded by the search at most (default 1000)\n"
          "  --time-limit S     stop the search after S seconds (default: none)\n"
          "  --cost-db FILE     cost database (default $XDG_CACHE_HOME/taso/costs.sqlite, or\n"
          "                     ~/.cache/taso/costs.sqlite; in memory when neither is set)\n"
          "  --backend NAME     cost backend: onednn (measured on this CPU; the default when\n"
          "                     built with it), cuda (measured on the GPU: cuDNN, cuBLAS and\n"
          "                     taso's kernels; cuda:tf32, cuda:fp16, cuda:bf16 let the libraries\n"
          "                     use tensor cores) or analytic (a roofline estimate)\n"
          "  --no-fusion        skip the fusion passes: Conv+BatchNormalization folding, 2-D\n"
          "                     MatMul (an N-D activation times a 2-D constant weight, reshaped\n"
          "                     to one 2-D MatMul) and MatMul+Add->Gemm\n"
          "  --no-layouts       keep every tensor in the default layout (no layout search)\n"
          "  --report FILE      write the summary, with every rewrite, as JSON to FILE\n"
          "  --dot PREFIX       write the graph before and after as PREFIX.before.dot and\n"
          "                     PREFIX.after.dot (Graphviz)\n"
          "  --json             print the summary as JSON on standard output\n"
          "  --quiet            print nothing but errors, and the warning of a numerical check\n"
          "                     that could not compare every output\n"
          "  --version          print the version and exit\n"
          "  --help             print this help and exit\n"
          "\n"
          "exit status:\n"
          "  0  the optimized model was written\n"
          "  1  bad command line, or a --backend this build or machine lacks (cuda without\n"
          "     a GPU)\n"
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

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0)) return -1;
  *out = v;
  return 0;
}

/* 1 if path names a readable regular file. */
static int readable(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, R_OK) == 0;
}

#ifndef TASO_RULES_INSTALLED
#define TASO_RULES_INSTALLED "/usr/local/share/taso/rules.bin"
#endif
#ifndef TASO_RULES_SOURCE
#define TASO_RULES_SOURCE ""
#endif

/* The shipped rule file: the install prefix's, then the one beside the
** executable's data folder, then the source tree's. NULL when none. */
static const char *default_rules(char *buf, size_t n) {
  if (readable(TASO_RULES_INSTALLED)) return TASO_RULES_INSTALLED;
  char exe[PATH_MAX];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k > 0) {
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = 0;
      const char *rel[] = {"/../data/rules.bin", "/../share/taso/rules.bin", "/data/rules.bin"};
      for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int w = snprintf(buf, n, "%s%s", exe, rel[i]);
        if (w > 0 && (size_t)w < n && readable(buf)) return buf;
      }
    }
  }
  if (TASO_RULES_SOURCE[0] && readable(TASO_RULES_SOURCE)) return TASO_RULES_SOURCE;
  return NULL;
}

/* Writes s as a JSON string literal to f. */
static void fjson_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fprintf(f, "\\n");
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static const char *stop_name(int s) {
  return s == 1 ? "budget" : s == 2 ? "time limit" : "nothing left to expand";
}

/* Per-rule totals of the applied rewrites, in order of first use. */
typedef struct RuleUse {
  int rule, count;
  double saved;        /* sum of (before - after) */
  const char *text;
} RuleUse;

static int rule_uses(const tso_opt_report *r, RuleUse **out) {
  *out = NULL;
  if (r->nsteps <= 0) return 0;
  RuleUse *u = calloc((size_t)r->nsteps, sizeof *u);
  int n = 0;
  if (!u) return 0;
  for (int i = 0; i < r->nsteps; i++) {
    const tso_opt_step *s = &r->steps[i];
    int k = 0;
    while (k < n && u[k].rule != s->rule) k++;
    if (k == n) {
      u[n].rule = s->rule;
      u[n].text = s->rule < 0 ? "layout: a tensor stored in another layout (the steps name each)" : s->text;
      n++;
    }
    u[k].count++;
    u[k].saved += s->cost_before - s->cost_after;
  }
  *out = u;
  return n;
}

/* The whole summary as one JSON object. */
static void write_json(FILE *f, const char *in, const char *out, const tso_opt_options *opt, const tso_opt_report *rep,
                       const tso_model_stats *ms, const char *const *types, int ntypes, const char *check,
                       const char *warnings, double tload, double topt, double twrite, double ttotal) {
  fprintf(f, "{\"input\":");
  fjson_str(f, in);
  fprintf(f, ",\"output\":");
  fjson_str(f, out);
  fprintf(f, ",\"nodes_before\":%d,\"nodes_after\":%d,\"dead_removed\":%d,\"noops_removed\":%d", rep->nodes_before,
          rep->nodes_after, rep->dead_removed, rep->noops_removed);
  fprintf(f, ",\"opaque_nodes\":%d,\"opaque_types\":[", ms->opaque_nodes);
  for (int i = 0; i < ntypes; i++) {
    if (i) fputc(',', f);
    fjson_str(f, types[i]);
  }
  fprintf(f, "],\"check\":{\"status\":\"%s\",\"seed\":%llu,\"outputs_checked\":%d,\"outputs_unchecked\":%d,"
             "\"max_abs_err\":%.9g,\"max_rel_err\":%.9g,\"rtol\":%g,\"atol\":%g,\"note\":",
          check, (unsigned long long)opt->seed, rep->outputs_checked, rep->outputs_unchecked, rep->max_abs_err,
          rep->max_rel_err, opt->rtol, opt->atol);
  fjson_str(f, rep->check_note);
  fprintf(f, "},\"rules\":{\"file\":");
  if (opt->rules_path) fjson_str(f, opt->rules_path);
  else fprintf(f, "null");
  fprintf(f, ",\"loaded\":%d,\"used\":%d,\"note\":", rep->rules_loaded, rep->rules_used);
  fjson_str(f, rep->rules_note);
  fprintf(f, "},\"cost\":{\"backend\":");
  fjson_str(f, rep->backend);
  fprintf(f, ",\"before_ms\":%.9g,\"after_ms\":%.9g,\"search_before_ms\":%.9g,\"search_after_ms\":%.9g}",
          rep->cost_before, rep->cost_after, rep->search_cost_before, rep->search_cost_after);
  fprintf(f, ",\"search\":{\"alpha\":%g,\"budget\":%d,\"time_limit\":%g,\"expanded\":%lld,\"generated\":%lld,"
             "\"kept\":%lld,\"pruned_alpha\":%lld,\"duplicates\":%lld,\"matches_found\":%lld,"
             "\"matches_refused\":%lld,\"ops_measured\":%lld,\"ops_estimated\":%lld,\"stopped_by\":\"%s\","
             "\"layout_moves\":%lld,\"seconds\":%.3f}",
          opt->alpha, opt->budget, opt->time_limit, (long long)rep->graphs_expanded, (long long)rep->graphs_generated,
          (long long)rep->graphs_kept, (long long)rep->graphs_pruned_alpha, (long long)rep->graphs_duplicates,
          (long long)rep->matches_found, (long long)rep->matches_refused, (long long)rep->ops_measured,
          (long long)rep->ops_estimated, stop_name(rep->search_stopped_by), (long long)rep->layout_moves,
          rep->search_seconds);
  fprintf(f, ",\"passes\":{\"bn_folded\":%d,\"gemm_fused\":%d,\"prefolded\":%d,\"lowered\":%d,"
             "\"layout_steps\":%d,\"layouts_lowered\":%d,\"matmuls_flattened\":%d}",
          rep->bn_folded, rep->gemm_fused, rep->prefolded, rep->lowered, rep->layout_steps, rep->layouts_lowered,
          rep->matmuls_flattened);
  RuleUse *u = NULL;
  int nu = rule_uses(rep, &u);
  fprintf(f, ",\"rewrites\":[");
  for (int i = 0; i < nu; i++) {
    fprintf(f, "%s{\"rule\":%d,\"count\":%d,\"saved_ms\":%.9g,\"text\":", i ? "," : "", u[i].rule, u[i].count,
            u[i].saved);
    fjson_str(f, u[i].text ? u[i].text : "");
    fputc('}', f);
  }
  free(u);
  fprintf(f, "],\"steps\":[");
  for (int i = 0; i < rep->nsteps; i++) {
    fprintf(f, "%s{\"rule\":%d,\"cost_before_ms\":%.9g,\"cost_after_ms\":%.9g", i ? "," : "", rep->steps[i].rule,
            rep->steps[i].cost_before, rep->steps[i].cost_after);
    if (rep->steps[i].rule < 0) {
      fprintf(f, ",\"layout\":");
      fjson_str(f, rep->steps[i].text ? rep->steps[i].text : "");
    }
    fputc('}', f);
  }
  fprintf(f, "],\"fallback\":{\"used\":%s,\"culprit_rule\":%d,\"note\":", rep->fallback ? "true" : "false",
          rep->culprit_rule);
  fjson_str(f, rep->fallback_note);
  fprintf(f, "},\"warnings\":");
  fjson_str(f, warnings);
  fprintf(f, ",\"seconds\":{\"load\":%.3f,\"optimize_and_check\":%.3f,\"search\":%.3f,\"write\":%.3f,\"total\":%.3f}}\n",
          tload, topt, rep->search_seconds, twrite, ttotal);
}

int main(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *report = NULL, *dot = NULL, *rules = NULL, *costdb = NULL;
  int quiet = 0, json = 0, no_rules = 0;
  char rulesbuf[PATH_MAX + 64], dbbuf[PATH_MAX + 64], dotpath[PATH_MAX + 64];
  tso_opt_options opt;
  tso_opt_options_init(&opt);
  opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
  opt.seed %= 1000000007ull;
  tso_ctx *ctx = tso_ctx_create();
  if (!ctx) {
    cli_msg("taso-opt", "error", "out of memory");
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
    } else if (!strcmp(a, "--no-rules")) {
      no_rules = 1;
    } else if (!strcmp(a, "--no-fusion")) {
      opt.no_fusion = 1;
    } else if (!strcmp(a, "--no-layouts")) {
      opt.no_layouts = 1;
    } else if (!strcmp(a, "--rules") || !strcmp(a, "--cost-db") || !strcmp(a, "--backend") ||
               !strcmp(a, "--report") || !strcmp(a, "--dot") || !strcmp(a, "--alpha") || !strcmp(a, "--budget") ||
               !strcmp(a, "--time-limit")) {
      if (!val) {
        cli_msg("taso-opt", "error", "%s needs a value (see --help)", a);
        rc = EXIT_USAGE;
        goto end;
      }
      i++;
      if (!strcmp(a, "--rules")) rules = val;
      else if (!strcmp(a, "--cost-db")) costdb = val;
      else if (!strcmp(a, "--report")) report = val;
      else if (!strcmp(a, "--dot")) dot = val;
      else if (!strcmp(a, "--backend")) {
        int cuda = !strncmp(val, "cuda", 4) && (val[4] == 0 || (val[4] == ':' && tsoC_math_parse(val + 5) >= 0));
        if (strcmp(val, "onednn") && strcmp(val, "analytic") && !cuda) {
          cli_msg("taso-opt", "error", "--backend is onednn, cuda (or cuda:tf32, cuda:fp16, cuda:bf16) or "
                  "analytic, not '%s'", val);
          rc = EXIT_USAGE;
          goto end;
        }
        char why[256];
        if (cuda && !tsoC_cuda_probe(why, sizeof why)) { /* before the model is read */
          cli_msg("taso-opt", "error", "--backend %s: %s", val, why);
          rc = EXIT_USAGE;
          goto end;
        }
        opt.backend = val;
      } else if (!strcmp(a, "--budget")) {
        char *end;
        errno = 0;
        long b = strtol(val, &end, 10);
        if (errno || end == val || *end || b < 0 || b > 100000000) {
          cli_msg("taso-opt", "error", "--budget needs a non-negative integer, not '%s'", val);
          rc = EXIT_USAGE;
          goto end;
        }
        opt.budget = b == 0 ? -1 : (int)b;
      } else {
        double v;
        if (parse_double(val, &v) != 0 || (!strcmp(a, "--alpha") && v < 1.0)) {
          cli_msg("taso-opt", "error", "%s needs a number%s, not '%s'", a,
                  !strcmp(a, "--alpha") ? " >= 1" : " >= 0", val);
          rc = EXIT_USAGE;
          goto end;
        }
        if (!strcmp(a, "--alpha")) opt.alpha = v;
        else opt.time_limit = v;
      }
    } else if (!strcmp(a, "--shape") || !strcmp(a, "--seed") || !strcmp(a, "--rtol") || !strcmp(a, "--atol")) {
      if (!val) {
        cli_msg("taso-opt", "error", "%s needs a value (see --help)", a);
        rc = EXIT_USAGE;
        goto end;
      }
      i++;
      if (!strcmp(a, "--shape")) {
        if (tso_ctx_bind_shape(ctx, val) != TSO_OK) { /* parsed strictly (util/text.h), the reason in the message */
          cli_msg("taso-opt", "error", "--shape: %s", tso_errmsg(ctx));
          rc = EXIT_USAGE;
          goto end;
        }
      } else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-') {
          cli_msg("taso-opt", "error", "--seed needs a non-negative integer, not '%s'", val);
          rc = EXIT_USAGE;
          goto end;
        }
        opt.seed = s;
      } else if (parse_double(val, !strcmp(a, "--rtol") ? &opt.rtol : &opt.atol) != 0) {
        cli_msg("taso-opt", "error", "%s needs a non-negative number, not '%s'", a, val);
        rc = EXIT_USAGE;
        goto end;
      }
    } else if (a[0] == '-' && a[1]) {
      cli_msg("taso-opt", "error", "unknown option '%s' (see --help)", a);
      rc = EXIT_USAGE;
      goto end;
    } else if (!in) {
      in = a;
    } else if (!out) {
      out = a;
    } else {
      cli_msg("taso-opt", "error", "too many arguments (see --help)");
      rc = EXIT_USAGE;
      goto end;
    }
  }
  if (!in || !out) {
    cli_msg("taso-opt", "error", "expected IN.onnx OUT.onnx (see --help)");
    rc = EXIT_USAGE;
    goto end;
  }

  double t0 = now();
  tso_model *m = NULL;
  tso_status st = tso_model_load(ctx, in, &m);
  if (st != TSO_OK) {
    cli_msg("taso-opt", "error", "%s: %s", in, tso_errmsg(ctx));
    rc = exit_for(st, 0);
    goto end;
  }
  double t1 = now();
  const char *warnings = tso_model_warnings(m);
  if (!quiet && !json && *warnings) {
    for (const char *p = warnings; *p;) {
      const char *nl = strchr(p, '\n');
      int n = nl ? (int)(nl - p) : (int)strlen(p);
      cli_msg("taso-opt", "note", "%.*s", n, p);
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
  /* the rules and the cost database */
  const char *rules_note = NULL;
  if (!no_rules) {
    if (!rules) rules = default_rules(rulesbuf, sizeof rulesbuf);
    if (!rules) rules_note = "no rule file found (looked for the shipped data/rules.bin); running the passes without rules";
    else if (!readable(rules)) {
      cli_msg("taso-opt", "error", "cannot read the rule file %s", rules);
      rc = EXIT_USAGE;
      tso_model_free(m);
      goto end;
    }
  } else {
    rules = NULL;
  }
  if (rules_note && !quiet && !json) cli_msg("taso-opt", "note", "%s", rules_note);
  opt.rules_path = rules;
  if (!costdb && (!opt.backend || strcmp(opt.backend, "analytic"))) costdb = cli_default_db(dbbuf, sizeof dbbuf, 1);
  opt.cost_db = costdb;
  if (dot) {
    snprintf(dotpath, sizeof dotpath, "%s.before.dot", dot);
    if (tso_model_write_dot(m, dotpath) != TSO_OK) {
      cli_msg("taso-opt", "error", "cannot write %s", dotpath);
      rc = EXIT_OUTPUT;
      tso_model_free(m);
      goto end;
    }
  }
  /* tso_optimize runs the check; its time is part of "optimize" */
  tso_opt_report rep;
  st = tso_optimize(m, &opt, &rep);
  double t2 = now();
  if (st != TSO_OK) {
    if (st == TSO_ERR_MISMATCH)
      cli_msg("taso-opt", "error", "numerical check failed (seed %llu): %s; nothing written",
              (unsigned long long)opt.seed, tso_errmsg(ctx));
    else
      cli_msg("taso-opt", "error", "%s: %s", in, tso_errmsg(ctx));
    rc = exit_for(st, 0);
    tso_model_free(m);
    goto end;
  }
  st = tso_model_save(m, out);
  double t3 = now();
  if (st != TSO_OK) {
    cli_msg("taso-opt", "error", "cannot write %s: %s", out, tso_errmsg(ctx));
    rc = exit_for(st, 1);
    tso_model_free(m);
    goto end;
  }
  const char *check = opt.skip_check ? "skipped (--no-check)"
                      : !rep.check_run ? "not run"
                      : rep.outputs_unchecked ? "partial"
                                              : "passed";
  if (dot) {
    snprintf(dotpath, sizeof dotpath, "%s.after.dot", dot);
    if (tso_model_write_dot(m, dotpath) != TSO_OK) {
      cli_msg("taso-opt", "error", "cannot write %s", dotpath);
      rc = EXIT_OUTPUT;
      tso_model_free(m);
      goto end;
    }
  }
  if (report) {
    FILE *rf = fopen(report, "w");
    if (rf) write_json(rf, in, out, &opt, &rep, &ms, types, ntypes, check, warnings, t1 - t0, t2 - t1, t3 - t2, t3 - t0);
    if (!rf || fclose(rf) != 0) {
      cli_msg("taso-opt", "error", "cannot write the report %s", report);
      rc = EXIT_OUTPUT;
      tso_model_free(m);
      goto end;
    }
  }
  if (rep.fallback && !quiet && !json) cli_msg("taso-opt", "warning", "%s", rep.fallback_note);
  /* a check that did not compare every output is said even under --quiet
  ** or --json: what was written is not fully verified (--no-check asked
  ** for that, and is not warned about) */
  if (!opt.skip_check && (!rep.check_run || rep.outputs_unchecked))
    cli_msg("taso-opt", "warning", "numerical check %s: %d of %d output(s) compared (seed %llu): %s; written with "
            "%d output(s) unverified", check, rep.outputs_checked, rep.outputs_checked + rep.outputs_unchecked,
            (unsigned long long)opt.seed, rep.check_note[0] ? rep.check_note : "no reason given",
            rep.outputs_unchecked);
  if (json) {
    write_json(stdout, in, out, &opt, &rep, &ms, types, ntypes, check, warnings, t1 - t0, t2 - t1, t3 - t2, t3 - t0);
  } else if (!quiet) {
    char e1[2048], e2[2048];
    printf("taso-opt %s: %s -> %s\n", tso_version(), cli_esc(in, e1, sizeof e1), cli_esc(out, e2, sizeof e2));
    printf("  nodes      %d -> %d  (%d dead, %d no-op removed)\n", rep.nodes_before, rep.nodes_after,
           rep.dead_removed, rep.noops_removed);
    printf("  opaque     %d node(s): %s\n", ms.opaque_nodes, cli_esc(opaque, e1, sizeof e1));
    printf("  rules      %s\n", cli_esc(rep.rules_note, e1, sizeof e1));
    if (rep.rules_loaded)
      printf("  search     %lld graphs expanded, %lld evaluated, %lld kept, %lld pruned by alpha %g, %lld duplicates;\n"
             "             %lld matches (%lld refused by a check), %lld layout choices; stopped: %s; %.2f s\n",
             (long long)rep.graphs_expanded, (long long)rep.graphs_generated, (long long)rep.graphs_kept,
             (long long)rep.graphs_pruned_alpha, opt.alpha, (long long)rep.graphs_duplicates,
             (long long)rep.matches_found, (long long)rep.matches_refused, (long long)rep.layout_moves,
             stop_name(rep.search_stopped_by), rep.search_seconds);
    printf("  passes     %d Conv+BatchNorm folded, %d MatMul made 2-D, %d MatMul+Add -> Gemm, %d constant nodes "
           "pre-folded, %d lowered\n",
           rep.bn_folded, rep.matmuls_flattened, rep.gemm_fused, rep.prefolded, rep.lowered);
    if (rep.layout_steps || rep.layouts_lowered)
      printf("  layouts    %d tensor(s) stored in another layout; %d operand(s) lowered to Gemm transA/transB\n",
             rep.layout_steps, rep.layouts_lowered);
    printf("  cost       %.4f ms -> %.4f ms predicted (%s)", rep.cost_before, rep.cost_after, rep.backend);
    if (rep.cost_before > 0) printf(", %+.1f%%", 100.0 * (rep.cost_after - rep.cost_before) / rep.cost_before);
    printf("\n");
    RuleUse *u = NULL;
    int nu = rule_uses(&rep, &u);
    printf("  rewrites   %d applied%s\n", rep.nsteps, nu ? ":" : "");
    for (int i = 0; i < nu; i++)
      if (u[i].rule < 0)
        printf("             layouts x%d, %.4f ms saved: %s\n", u[i].count, u[i].saved, cli_esc(u[i].text, e1, sizeof e1));
      else
        printf("             rule %d x%d, %.4f ms saved: %s\n", u[i].rule, u[i].count, u[i].saved,
               cli_esc(u[i].text, e1, sizeof e1));
    free(u);
    for (int i = 0; i < rep.nsteps && i < 20; i++)
      if (rep.steps[i].rule < 0)
        printf("             #%d %s: %.4f -> %.4f ms\n", i + 1, cli_esc(rep.steps[i].text, e1, sizeof e1),
               rep.steps[i].cost_before,
               rep.steps[i].cost_after);
      else
        printf("             #%d rule %d: %.4f -> %.4f ms\n", i + 1, rep.steps[i].rule, rep.steps[i].cost_before,
               rep.steps[i].cost_after);
    if (rep.nsteps > 20) printf("             ... (%d more; --report FILE lists every step)\n", rep.nsteps - 20);
    if (rep.fallback) printf("  fallback   %s\n", cli_esc(rep.fallback_note, e1, sizeof e1));
    if (opt.skip_check)
      printf("  check      skipped (--no-check)\n");
    else
      printf("  check      %s: %d output(s) compared on random inputs (seed %llu), max abs err %.3g, "
             "max rel err %.3g (rtol %g, atol %g)%s%s\n",
             check, rep.outputs_checked, (unsigned long long)opt.seed, rep.max_abs_err, rep.max_rel_err,
             opt.rtol, opt.atol, rep.check_note[0] ? "\n             note: " : "", cli_esc(rep.check_note, e1, sizeof e1));
    printf("  time       load %.2f s, optimize+check %.2f s (search %.2f s), write %.2f s, total %.2f s\n", t1 - t0,
           t2 - t1, rep.search_seconds, t3 - t2, t3 - t0);
  }
  tso_model_free(m);
end:
  tso_ctx_free(ctx);
  return rc;
}
