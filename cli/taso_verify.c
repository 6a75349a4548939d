/*
** taso_verify.c -- `taso-verify`: proves candidate substitutions with Z3
** against the operator axioms and writes the proven ones.
**
**   taso-verify CANDIDATES -o RULES [--report FILE] [--timeout-ms T] [--jobs J]
**   taso-verify --check RULES       re-proves a shipped rule file
**   taso-verify --validate-axioms   checks every axiom exactly on small shapes
**   taso-verify --axioms-md [FILE]  writes docs/axioms.md
**
** Only rules whose every output is proven (unsat within the time-out) and
** that pass the independent float check are written, with status proven;
** every other candidate is listed in the report with the reason. Exit
** codes are documented in usage(); they are part of the interface.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "verify/verify.h"

/* Whole sets in text form (rules/text.c). */
tso_status tsoR_write_text(const tsoR_Set *s, FILE *f, char *err);

enum {
  EXIT_OK = 0,       /* done */
  EXIT_USAGE = 1,    /* bad command line */
  EXIT_INPUT = 2,    /* the input cannot be read or is invalid */
  EXIT_FAILED = 3,   /* an axiom failed its validation, or --check found a rule not proven */
  EXIT_OUTPUT = 4,   /* the output or report cannot be written */
  EXIT_INTERNAL = 5  /* out of memory, Z3 unusable */
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: taso-verify CANDIDATES -o RULES [options]\n"
          "       taso-verify --check RULES [options]\n"
          "       taso-verify --validate-axioms [options]\n"
          "       taso-verify --axioms-md [FILE]\n"
          "\n"
          "Proves candidate graph substitutions (a rule file from taso-gen) with Z3 against\n"
          "the operator axioms (docs/axioms.md). For every candidate and every output,\n"
          "axioms and (source != target) must be unsatisfiable within the time-out; an\n"
          "unknown or a time-out is never a proof. Proven rules are then evaluated in float\n"
          "with the reference kernels on random well-formed shapes; only rules that pass\n"
          "both are written to RULES, with status proven. The others are listed in the\n"
          "report with the reason (refuted: a counterexample, found by evaluation; unknown:\n"
          "a Z3 model where the axioms hold and the sides differ (not implied), time-out,\n"
          "incomplete, no well-formed shapes). Rules without inputs (facts about the\n"
          "constants) are decided by exact evaluation.\n"
          "\n"
          "commands:\n"
          "  CANDIDATES -o RULES      prove and write RULES (replaced atomically)\n"
          "  --check RULES            re-prove every rule of a shipped file\n"
          "  --validate-axioms        check every axiom exactly on every shape combination\n"
          "                           with dims <= 3 (and random larger ones); with\n"
          "                           --redundancy also report axioms implied by the others\n"
          "  --axioms-md [FILE]       write the axiom documentation (default: stdout)\n"
          "  --list-axioms            one line per axiom: name and pattern\n"
          "\n"
          "options:\n"
          "  -o FILE, --output FILE   the rule file to write\n"
          "  --report FILE            the report (default: RULES with .bin replaced by\n"
          "                           .report.txt; '-' for stdout)\n"
          "  --times FILE             write one line per rule: id, status, reason, Z3 ms, total ms\n"
          "  --timeout-ms T           time-out per rule, all outputs together (default 2000)\n"
          "  --refute-ms T            Z3 model search for rules not proven, to explain them\n"
          "                           in the report (default 0: off; Z3 may overrun T there)\n"
          "  --qi-threshold Q         Z3's E-matching cost thresholds (eager and lazy; default:\n"
          "                           Z3's, 10 and 20); larger follows longer matching chains\n"
          "  --z3-memory-mb M         memory Z3 may use, all threads together (default 2048,\n"
          "                           at most 4095; 0: no cap); a proof above it is unknown\n"
          "                           (memout)\n"
          "  --jobs J                 threads (default: the number of cores)\n"
          "  --seed S                 seed of the float checks (default 1)\n"
          "  --float-shapes N         shape sets of the float check (default 3)\n"
          "  --no-validate            do not validate the axioms before proving\n"
          "  --max-dim D              largest dim of the exhaustive validation (default 3;\n"
          "                           the quick validation before proving uses 2)\n"
          "  --random N               random larger assignments per axiom (default 100)\n"
          "  --redundancy             with --validate-axioms: test each axiom for redundancy\n"
          "  --redundancy-ms T        its time-out per axiom (default 2000)\n"
          "  --record-time            write the wall time into the provenance (otherwise 0,\n"
          "                           so that the output is byte-identical between runs)\n"
          "  --quiet                  no progress line\n"
          "  --version                print the version and exit\n"
          "  --help                   print this help and exit\n"
          "\n"
          "exit status:\n"
          "  0  done (with --check: every rule re-proven)\n"
          "  1  bad command line\n"
          "  2  the input cannot be read or is not a valid rule file\n"
          "  3  an axiom failed its validation (nothing written), or --check found a rule\n"
          "     that is not proven\n"
          "  4  the output or the report cannot be written\n"
          "  5  internal error (out of memory, Z3 unusable)\n");
}

typedef struct Args {
  const char *input, *output, *report, *check, *md, *times;
  int validate, list, no_validate, redundancy, record_time, max_dim, random, md_given;
  unsigned redundancy_ms;
  tsoV_Options o;
} Args;

static int parse_uint(const char *s, unsigned long max, unsigned long *v) {
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-') return -1;
  unsigned long x = strtoul(s, &end, 10);
  if (errno || *end || x > max) return -1;
  *v = x;
  return 0;
}

static int parse_args(int argc, char **argv, Args *a) {
  unsigned long v;
  memset(a, 0, sizeof *a);
  tsoV_options_default(&a->o);
  a->max_dim = -1;
  a->random = -1;
  a->redundancy_ms = 2000;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE                                                              \
  do {                                                                           \
    if (!val) {                                                                  \
      fprintf(stderr, "taso-verify: error: %s needs a value\n", s);              \
      return -1;                                                                 \
    }                                                                            \
    i++;                                                                         \
  } while (0)
#define NUM(max, dst)                                                            \
  do {                                                                           \
    NEEDS_VALUE;                                                                 \
    if (parse_uint(val, (max), &v)) {                                            \
      fprintf(stderr, "taso-verify: error: %s: bad value '%s'\n", s, val);       \
      return -1;                                                                 \
    }                                                                            \
    dst = v;                                                                     \
  } while (0)
    if (!strcmp(s, "-o") || !strcmp(s, "--output")) { NEEDS_VALUE; a->output = val; }
    else if (!strcmp(s, "--report")) { NEEDS_VALUE; a->report = val; }
    else if (!strcmp(s, "--times")) { NEEDS_VALUE; a->times = val; }
    else if (!strcmp(s, "--check")) { NEEDS_VALUE; a->check = val; }
    else if (!strcmp(s, "--validate-axioms")) a->validate = 1;
    else if (!strcmp(s, "--list-axioms")) a->list = 1;
    else if (!strcmp(s, "--axioms-md")) {
      a->md_given = 1;
      if (val && val[0] != '-') { a->md = val; i++; }
    }
    else if (!strcmp(s, "--timeout-ms")) NUM(3600000, a->o.timeout_ms);
    else if (!strcmp(s, "--refute-ms")) NUM(3600000, a->o.refute_ms);
    else if (!strcmp(s, "--qi-threshold")) {
      unsigned long q;
      NUM(1000000000, q);
      a->o.qi_threshold = (double)q;
    }
    else if (!strcmp(s, "--z3-memory-mb")) {
      unsigned long mb;
      NUM(4095, mb);
      tsoV_z3_memory_limit((unsigned)mb);
    }
    else if (!strcmp(s, "--jobs")) NUM(256, a->o.jobs);
    else if (!strcmp(s, "--seed")) NUM(ULONG_MAX, a->o.seed);
    else if (!strcmp(s, "--float-shapes")) NUM(64, a->o.float_shapes);
    else if (!strcmp(s, "--max-dim")) NUM(6, a->max_dim);
    else if (!strcmp(s, "--random")) NUM(100000, a->random);
    else if (!strcmp(s, "--redundancy")) a->redundancy = 1;
    else if (!strcmp(s, "--redundancy-ms")) NUM(3600000, a->redundancy_ms);
    else if (!strcmp(s, "--no-validate")) a->no_validate = 1;
    else if (!strcmp(s, "--record-time")) a->record_time = 1;
    else if (!strcmp(s, "--quiet")) a->o.quiet = 1;
    else if (s[0] == '-' && s[1]) {
      fprintf(stderr, "taso-verify: error: unknown option '%s'\n", s);
      return -1;
    } else if (!a->input) a->input = s;
    else {
      fprintf(stderr, "taso-verify: error: unexpected argument '%s'\n", s);
      return -1;
    }
  }
  int cmds = (a->input != NULL) + (a->check != NULL) + a->validate + a->md_given + a->list;
  if (cmds != 1) {
    fprintf(stderr, "taso-verify: error: %s\n", cmds ? "give one command" : "no command (see --help)");
    return -1;
  }
  if (a->input && !a->output) {
    fprintf(stderr, "taso-verify: error: -o RULES is required\n");
    return -1;
  }
  if (a->max_dim == 0) a->max_dim = 1;
  return 0;
}

/* ---- axiom validation -------------------------------------------------- */

static int validate(const tsoV_Axioms *ax, const Args *a, int quick) {
  tsoV_ValOptions vo;
  tsoV_val_options_default(&vo);
  vo.jobs = a->o.jobs;
  vo.seed = a->o.seed;
  vo.quiet = a->o.quiet;
  if (quick) {
    vo.max_dim = 2, vo.random = 10, vo.float_every = 0, vo.quiet = 1;
  }
  if (a->max_dim > 0) vo.max_dim = a->max_dim;
  if (a->random >= 0) vo.random = a->random;
  tsoV_ValStats *st = calloc((size_t)ax->n, sizeof *st);
  if (!st) {
    fprintf(stderr, "taso-verify: error: out of memory\n");
    return EXIT_INTERNAL;
  }
  double t0 = tsoV_now();
  if (!quick)
    fprintf(stderr, "taso-verify: validating %d axioms (dims 1..%d, ranks 0..%d, %d random, float every %d)\n", ax->n,
            vo.max_dim, vo.max_rank, vo.random, vo.float_every);
  tso_status vs = tsoV_validate_all(ax, &vo, st, quick ? stderr : stdout);
  uint64_t checked = 0, floats = 0;
  int failed = 0;
  for (int i = 0; i < ax->n; i++) checked += st[i].checked, floats += st[i].floats, failed += st[i].failures > 0;
  if (!quick || failed)
    fprintf(stderr, "taso-verify: %d axioms validated, %d failed; %llu checks (%llu in float) in %.1f s\n", ax->n, failed,
            (unsigned long long)checked, (unsigned long long)floats, tsoV_now() - t0);
  int rc = vs == TSO_OK ? EXIT_OK : vs == TSO_ERR_MISMATCH ? EXIT_FAILED : EXIT_INTERNAL;
  if (!quick && a->redundancy && rc == EXIT_OK) {
    int nred = 0;
    char err[TSO_ERRMAX];
    for (int i = 0; i < ax->n; i++) {
      int red = 0;
      if (tsoV_redundant(ax, i, a->redundancy_ms, &red, err)) {
        fprintf(stderr, "taso-verify: error: redundancy of %s: %s\n", ax->a[i].name, err);
        rc = EXIT_INTERNAL;
        break;
      }
      if (red) {
        nred++;
        printf("redundant %s (follows from the other axioms)\n", ax->a[i].name);
      }
    }
    printf("%d of %d axioms shown redundant within %u ms each; kept (they help the search)\n", nred, ax->n,
           a->redundancy_ms);
  }
  free(st);
  return rc;
}

/* ---- the report ---------------------------------------------------------- */

static const char *why_name(int why) {
  static const char *const n[] = {"proven",     "counter-model", "counterexample", "time-out", "incomplete",
                                  "ill-formed", "float-check",   "malformed",      "error",    "constant"};
  return why >= 0 && why <= TSO_V_WHY_CONSTANT ? n[why] : "?";
}

static const char *status_name(int s) {
  return s == TSO_RULE_PROVEN ? "proven" : s == TSO_RULE_REFUTED ? "refuted" : "unknown";
}

/* The last component of a path (reports name files, not where they were). */
static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

static int write_report(const char *path, const char *input, const char *output, const tsoR_Set *in,
                        const tsoV_Result *res, const tsoV_Counts *c, const tsoV_Options *o, uint32_t written) {
  FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
  char line[4096];
  if (!f) {
    fprintf(stderr, "taso-verify: error: cannot write report '%s': %s\n", path, strerror(errno));
    return EXIT_OUTPUT;
  }
  uint64_t why[TSO_V_WHY_CONSTANT + 1] = {0};
  for (uint32_t i = 0; i < in->n; i++) why[res[i].why]++;
  fprintf(f, "# taso-verify report (%s)\n# input: %s (%u rules; made by \"%s\" \"%s\")\n", TSO_V_TOOL,
          base_name(input), in->n, in->prov.tool, in->prov.options);
  if (output) fprintf(f, "# output: %s (%u rules, all proven and float-checked)\n", base_name(output), written);
  fprintf(f, "# proven %llu (%llu of them with finer shape classes than the candidate's), refuted %llu, unknown %llu\n",
          (unsigned long long)c->proven, (unsigned long long)c->refined, (unsigned long long)c->refuted,
          (unsigned long long)c->unknown);
  fprintf(f, "# reasons:");
  for (int w = 0; w <= TSO_V_WHY_CONSTANT; w++)
    if (why[w]) fprintf(f, " %s %llu", why_name(w), (unsigned long long)why[w]);
  fprintf(f, "\n# time-out %u ms per rule, model search %u ms, float check on %d shape sets, seed %llu\n",
          o->timeout_ms, o->refute_ms, o->float_shapes, (unsigned long long)o->seed);
  fprintf(f, "# every rule not written, one per line: id, status, reason, note; then the rule\n");
  for (uint32_t i = 0; i < in->n; i++) {
    if (res[i].status == TSO_RULE_PROVEN) continue;
    fprintf(f, "r%u %s %s: %s\n", in->r[i].id, status_name(res[i].status), why_name(res[i].why), res[i].note);
    if (tsoR_format(&in->r[i], line, sizeof line) == TSO_OK) fprintf(f, "    %s\n", line);
    if (res[i].model) {
      fputs("    model:", f);
      for (const char *p = res[i].model; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1]) fputs("    ", f);
      }
      fputc('\n', f);
    }
  }
  int bad = ferror(f) != 0;
  if (f != stdout) bad |= fclose(f) != 0;
  else fflush(f);
  if (bad) {
    fprintf(stderr, "taso-verify: error: cannot write report '%s'\n", path);
    return EXIT_OUTPUT;
  }
  return EXIT_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Wall time, and the Z3 time of the rules Z3 was asked about (those the
** float check refuted first, or that have no well-formed shapes, are not). */
static void timing_summary(const tsoV_Result *res, uint32_t n, double secs, int jobs) {
  double *t = malloc((n ? n : 1) * sizeof *t), sum = 0;
  uint32_t m = 0;
  if (!t) return;
  for (uint32_t i = 0; i < n; i++)
    if (res[i].ms > 0) t[m++] = res[i].ms, sum += res[i].ms;
  qsort(t, m, sizeof *t, cmp_double);
  fprintf(stderr, "taso-verify: %.1f s with %d jobs", secs, jobs);
  if (m)
    fprintf(stderr, "; Z3 time per rule (%u rules): median %.2f ms, mean %.2f ms, max %.1f ms", m, t[m / 2],
            sum / m, t[m - 1]);
  fputc('\n', stderr);
  free(t);
}

/* ---- proving -------------------------------------------------------------- */

static int prove(const tsoV_Axioms *ax, Args *a) {
  char err[TSO_ERRMAX];
  tsoR_Set in;
  memset(&in, 0, sizeof in);
  const char *path = a->check ? a->check : a->input;
  tso_status st = tsoR_read(path, &in, err);
  if (st) {
    fprintf(stderr, "taso-verify: error: %s: %s\n", path, err);
    return st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_INPUT;
  }
  tsoV_Result *res = calloc(in.n ? in.n : 1, sizeof *res);
  if (!res) {
    tsoR_set_free(&in);
    fprintf(stderr, "taso-verify: error: out of memory\n");
    return EXIT_INTERNAL;
  }
  tsoV_Counts c;
  double t0 = tsoV_now();
  a->o.keep_models = 1;
  if ((st = tsoV_prove_set(ax, &in, &a->o, res, &c, err))) {
    fprintf(stderr, "taso-verify: error: %s\n", err);
    tsoR_set_free(&in);
    free(res);
    return EXIT_INTERNAL;
  }
  double secs = tsoV_now() - t0;
  timing_summary(res, in.n, secs, a->o.jobs > 0 ? a->o.jobs : tsoV_ncores());
  int rc = EXIT_OK;
  tsoR_Set out;
  memset(&out, 0, sizeof out);
  if (a->input) {
    if (tsoV_proven_set(&in, res, &out)) rc = EXIT_INTERNAL;
    snprintf(out.prov.tool, sizeof out.prov.tool, "%s", TSO_V_TOOL);
    snprintf(out.prov.options, sizeof out.prov.options,
             "timeout-ms=%u refute-ms=%u float-shapes=%d axioms=%d/%016llx z3=%s", a->o.timeout_ms, a->o.refute_ms,
             a->o.float_shapes, ax->n, (unsigned long long)ax->hash, tsoV_z3_version());
    out.prov.seed = a->o.seed;
    out.prov.counts[0] = in.n;
    out.prov.counts[1] = c.proven;
    out.prov.counts[2] = c.refuted;
    out.prov.counts[3] = c.unknown;
    out.prov.counts[4] = c.float_fail;
    out.prov.counts[5] = c.illformed;
    out.prov.counts[6] = c.constant;
    out.prov.counts[7] = (uint64_t)ax->n;
    out.prov.seconds = a->record_time ? secs : 0.0;
    if (rc == EXIT_OK && (st = tsoR_write(&out, a->output, err))) {
      fprintf(stderr, "taso-verify: error: %s: %s\n", a->output, err);
      rc = st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_OUTPUT;
    }
  }
  char rpath[4096];
  const char *report = a->report;
  if (!report && a->output) {
    size_t n = strlen(a->output);
    if (n > 4 && !strcmp(a->output + n - 4, ".bin")) snprintf(rpath, sizeof rpath, "%.*s.report.txt", (int)(n - 4), a->output);
    else snprintf(rpath, sizeof rpath, "%s.report.txt", a->output);
    report = rpath;
  }
  if (report && rc == EXIT_OK) rc = write_report(report, path, a->output, &in, res, &c, &a->o, out.n);
  if (a->times && rc == EXIT_OK) {
    FILE *f = fopen(a->times, "w");
    if (!f) {
      fprintf(stderr, "taso-verify: error: cannot write '%s': %s\n", a->times, strerror(errno));
      rc = EXIT_OUTPUT;
    } else {
      fprintf(f, "# id status reason z3_ms total_ms\n");
      for (uint32_t i = 0; i < in.n; i++)
        fprintf(f, "r%u %s %s %.2f %.2f\n", in.r[i].id, status_name(res[i].status), why_name(res[i].why), res[i].ms,
                res[i].total_ms);
      if (fclose(f)) rc = EXIT_OUTPUT;
    }
  }
  if (rc == EXIT_OK && a->check) {
    for (uint32_t i = 0; i < in.n; i++)
      if (res[i].status != TSO_RULE_PROVEN)
        fprintf(stderr, "taso-verify: r%u %s (%s): %s\n", in.r[i].id, status_name(res[i].status), why_name(res[i].why),
                res[i].note);
    if (c.proven != in.n) rc = EXIT_FAILED;
  }
  fprintf(stderr, "taso-verify: %s: %u rules: %llu proven, %llu refuted, %llu unknown%s%s\n", path, in.n,
          (unsigned long long)c.proven, (unsigned long long)c.refuted, (unsigned long long)c.unknown,
          a->input && rc == EXIT_OK ? "; wrote " : "", a->input && rc == EXIT_OK ? a->output : "");
  tsoV_results_free(res, in.n);
  free(res);
  tsoR_set_free(&out);
  tsoR_set_free(&in);
  return rc;
}

int main(int argc, char **argv) {
  Args a;
  char err[TSO_ERRMAX];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return EXIT_OK;
    }
    if (!strcmp(argv[i], "--version")) {
      printf("%s\n", TSO_V_TOOL);
      return EXIT_OK;
    }
  }
  if (parse_args(argc, argv, &a)) {
    fprintf(stderr, "usage: taso-verify CANDIDATES -o RULES | --check RULES | --validate-axioms | --axioms-md [FILE]\n"
                    "(taso-verify --help for the options)\n");
    return EXIT_USAGE;
  }
  tsoV_Axioms ax;
  if (tsoV_axioms_load(&ax, err)) {
    fprintf(stderr, "taso-verify: error: %s\n", err);
    return EXIT_INTERNAL;
  }
  int rc = EXIT_OK;
  if (a.md_given) {
    FILE *f = a.md ? fopen(a.md, "w") : stdout;
    if (!f) {
      fprintf(stderr, "taso-verify: error: cannot write '%s': %s\n", a.md, strerror(errno));
      rc = EXIT_OUTPUT;
    } else {
      if (tsoV_axioms_markdown(&ax, f)) rc = EXIT_OUTPUT;
      if (f != stdout && fclose(f)) rc = EXIT_OUTPUT;
    }
  } else if (a.list) {
    for (int i = 0; i < ax.n; i++) printf("%-36s %s\n", ax.a[i].name, ax.a[i].text);
  } else if (a.validate) {
    rc = validate(&ax, &a, 0);
  } else {
    if (!a.no_validate && a.input) {
      rc = validate(&ax, &a, 1);
      if (rc == EXIT_FAILED) fprintf(stderr, "taso-verify: error: an axiom failed its validation; nothing written\n");
    }
    if (rc == EXIT_OK) rc = prove(&ax, &a);
  }
  tsoV_axioms_free(&ax);
  return rc;
}
