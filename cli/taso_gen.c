/*
** taso_gen.c -- the rule generator's command line.
**
**   taso-gen --max-ops N -o candidates.bin [--jobs J] [--seed S]
**            [--shard i/N] [--record-time] [--quiet] [--filter-bits L]
**            [--all-pairs]
**   taso-gen merge -o OUT SHARD...
**
** Exit codes: 0 success; 1 the run failed (memory, I/O, bad shard files);
** 2 usage error. Errors are one line on standard error, "taso-gen: ...".
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"

static const char usage[] =
    "usage: taso-gen --max-ops N -o FILE [--jobs J] [--seed S] [--shard i/N]\n"
    "                [--record-time] [--quiet] [--filter-bits L] [--all-pairs]\n"
    "       taso-gen merge -o FILE [--jobs J] [--quiet] SHARD...\n"
    "\n"
    "Enumerates every graph of up to N operators (1..4) over the generator's\n"
    "operator set and inputs (docs/generator.md), finds the pairs that compute\n"
    "the same values, prunes redundant ones and writes them to FILE as a rule\n"
    "file whose rules all have status 'candidate'.\n"
    "\n"
    "  --max-ops N      graph size (1..4)\n"
    "  -o FILE          output rule file (written atomically)\n"
    "  --jobs J         threads (default: the number of cores); the output\n"
    "                   does not depend on J\n"
    "  --seed S         random inputs of fingerprints and checks (default 1)\n"
    "  --shard i/N      only fingerprints = i mod N; writes unpruned candidates\n"
    "                   for 'taso-gen merge', which gives the file one run gives\n"
    "  --record-time    store the wall time in the file (else 0, so that the\n"
    "                   same inputs give byte-identical files)\n"
    "  --quiet          no progress line and no summary\n"
    "  --filter-bits L  2^L bits per fingerprint filter plane (default by N)\n"
    "  --all-pairs      every pair of graphs of an exact class is a candidate,\n"
    "                   not only each graph with the class representative;\n"
    "                   the configuration is then 'default-all-pairs' (its own\n"
    "                   hash); not with --shard (merge takes the default only)\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

/* Prints a one-line usage error and returns exit status 2. */
static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "taso-gen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see taso-gen --help)\n");
  va_end(ap);
  return 2;
}

/* Parses a whole unsigned decimal number into *v; 0 or -1. */
static int parse_u64(const char *s, uint64_t *v) {
  char *end;
  if (!s || !*s || *s == '-') return -1;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *v = (uint64_t)x;
  return 0;
}

static void print_summary(const tsoG_Result *r, const char *path, uint32_t nrules) {
  static const char *const names[TSO_G_NCOUNTS] = {
      "graphs enumerated", "distinct fingerprints", "graphs in shared buckets", "candidates before pruning",
      "after renaming of inputs", "after common subgraphs", "after trivially implied", "final (float-checked)"};
  fprintf(stderr, "taso-gen summary:\n");
  for (int i = 0; i < TSO_G_NCOUNTS; i++)
    fprintf(stderr, "  [%d] %-32s %12llu\n", i, names[i], (unsigned long long)r->counts[i]);
  if (r->cs.buckets)
    fprintf(stderr,
            "  buckets %llu, exact classes %llu, graphs split off by the exact check %llu,\n"
            "  graphs equal to another by commutativity alone (not re-evaluated) %llu,\n"
            "  pairs within classes %llu, pairs beyond the rule format %llu, entries kept by pass 2 %llu\n",
            (unsigned long long)r->cs.buckets, (unsigned long long)r->cs.classes,
            (unsigned long long)r->cs.split_off, (unsigned long long)r->cs.twins, (unsigned long long)r->cs.pairs, (unsigned long long)r->cs.unrepresentable,
            (unsigned long long)r->stored);
  if (r->ps.before)
    fprintf(stderr, "  implied: same %llu, reverse %llu, composite %llu, congruent %llu; float check dropped %llu\n",
            (unsigned long long)r->ps.same, (unsigned long long)r->ps.reverse, (unsigned long long)r->ps.split,
            (unsigned long long)r->ps.congruent, (unsigned long long)r->ps.float_fail);
  fprintf(stderr, "  wrote %u rules to %s\n", nrules, path);
  if (r->t_pass1 > 0)
    fprintf(stderr, "  phases: pass 1 %.2f s, pass 2 %.2f s, confirm %.2f s, prune %.2f s\n", r->t_pass1, r->t_pass2,
            r->t_confirm, r->t_prune);
  fprintf(stderr, "  time %.2f s, peak memory %.1f MiB\n", r->seconds, (double)tsoG_peak_rss() / (1024.0 * 1024.0));
}

static int do_merge(int argc, char **argv) {
  const char *out = NULL;
  const char **paths = calloc((size_t)argc, sizeof *paths);
  int n = 0, quiet = 0, jobs = 0;
  if (!paths) {
    fprintf(stderr, "taso-gen: out of memory\n");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-o")) {
      if (++i >= argc) {
        free(paths);
        return bad_usage("%s needs a file name", "-o");
      }
      out = argv[i];
    } else if (!strcmp(argv[i], "--quiet")) {
      quiet = 1;
    } else if (!strcmp(argv[i], "--jobs")) {
      uint64_t v;
      if (i + 1 >= argc || parse_u64(argv[i + 1], &v) || v < 1 || v > 256) {
        free(paths);
        return bad_usage("--jobs needs 1 to 256, got '%s'", i + 1 < argc ? argv[i + 1] : "");
      }
      jobs = (int)v, i++;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(usage, stdout);
      free(paths);
      return 0;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      free(paths);
      return bad_usage("merge: unknown option %s", argv[i]);
    } else {
      paths[n++] = argv[i];
    }
  }
  if (!out || !n) {
    free(paths);
    return bad_usage("%s", "merge needs -o FILE and at least one shard file");
  }
  tsoR_Set set;
  tsoG_Result res;
  char err[TSO_ERRMAX], werr[TSO_ERRMAX];
  memset(&set, 0, sizeof set);
  tso_status st = tsoG_merge(paths, n, jobs, quiet, &set, &res, err);
  free(paths);
  if (st) {
    fprintf(stderr, "taso-gen: %s\n", err);
    tsoR_set_free(&set);
    return 1;
  }
  if ((st = tsoR_write(&set, out, werr))) {
    fprintf(stderr, "taso-gen: %s: %s\n", out, werr);
    tsoR_set_free(&set);
    return 1;
  }
  if (!quiet) print_summary(&res, out, set.n);
  tsoR_set_free(&set);
  return 0;
}

int main(int argc, char **argv) {
  tsoG_Options o;
  tsoG_Config cfg;
  const char *out = NULL;
  uint64_t v;
  int all_pairs = 0;
  memset(&o, 0, sizeof o);
  o.seed = 1;
  o.shard_n = 1;
  if (argc >= 2 && !strcmp(argv[1], "merge")) return do_merge(argc, argv);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--max-ops")) {
      if (parse_u64(val, &v) || v < 1 || v > TSO_G_MAX_OPS) return bad_usage("--max-ops needs 1 to 4, got '%s'", val ? val : "");
      o.max_ops = (int)v, i++;
    } else if (!strcmp(a, "-o")) {
      if (!val) return bad_usage("%s needs a file name", a);
      out = val, i++;
    } else if (!strcmp(a, "--jobs")) {
      if (parse_u64(val, &v) || v < 1 || v > 256) return bad_usage("--jobs needs 1 to 256, got '%s'", val ? val : "");
      o.jobs = (int)v, i++;
    } else if (!strcmp(a, "--seed")) {
      if (parse_u64(val, &v)) return bad_usage("--seed needs an unsigned number, got '%s'", val ? val : "");
      o.seed = v, i++;
    } else if (!strcmp(a, "--filter-bits")) {
      if (parse_u64(val, &v) || v < 12 || v > 36) return bad_usage("--filter-bits needs 12 to 36, got '%s'", val ? val : "");
      o.filter_log2 = (int)v, i++;
    } else if (!strcmp(a, "--shard")) {
      int si, sn;
      char extra;
      if (!val || sscanf(val, "%d/%d%c", &si, &sn, &extra) != 2 || sn < 1 || sn > 1 << 20 || si < 0 || si >= sn)
        return bad_usage("--shard needs i/N with 0 <= i < N, got '%s'", val ? val : "");
      o.shard_i = si, o.shard_n = sn, i++;
    } else if (!strcmp(a, "--record-time")) {
      o.record_time = 1;
    } else if (!strcmp(a, "--quiet")) {
      o.quiet = 1;
    } else if (!strcmp(a, "--all-pairs")) {
      all_pairs = 1;
    } else {
      return bad_usage("unknown argument '%s'", a);
    }
  }
  if (!o.max_ops) return bad_usage("%s", "--max-ops N is required");
  if (!out) return bad_usage("%s", "-o FILE is required");
  if (all_pairs && o.shard_n > 1) return bad_usage("%s", "--all-pairs cannot be combined with --shard");
  if (all_pairs) { /* the default configuration with every pair of a class (its own name and hash) */
    tsoG_config_default(&cfg, o.max_ops, o.seed);
    snprintf(cfg.name, sizeof cfg.name, "default-all-pairs");
    cfg.all_pairs = 1;
    o.cfg = &cfg;
  }
  tsoR_Set set;
  tsoG_Result res;
  char err[TSO_ERRMAX], werr[TSO_ERRMAX];
  memset(&set, 0, sizeof set);
  tso_status st = tsoG_run(&o, &set, &res, err);
  if (st) {
    fprintf(stderr, "taso-gen: %s\n", err);
    tsoR_set_free(&set);
    return 1;
  }
  if ((st = tsoR_write(&set, out, werr))) {
    fprintf(stderr, "taso-gen: %s: %s\n", out, werr);
    tsoR_set_free(&set);
    return 1;
  }
  if (!o.quiet) print_summary(&res, out, set.n);
  tsoR_set_free(&set);
  return 0;
}
