/*
** taso_rules.c -- `taso-rules`: inspect and convert rule files.
**
**   taso-rules dump FILE           the rules as text, one per line
**   taso-rules stats FILE          counts by status, size, operator
**   taso-rules parse TEXT -o FILE  text back to a binary rule file
**
** `dump` and `parse` are inverse: dump | parse rewrites the file byte for
** byte. Exit codes are documented in usage(); they are part of the
** interface.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "taso/taso.h"


enum {
  EXIT_OK = 0,      /* done */
  EXIT_USAGE = 1,   /* bad command line */
  EXIT_INPUT = 2,   /* the input cannot be read, is corrupt or invalid */
  EXIT_OUTPUT = 4,  /* the output cannot be written */
  EXIT_INTERNAL = 5 /* out of memory */
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: taso-rules dump FILE\n"
          "       taso-rules stats FILE\n"
          "       taso-rules parse TEXT -o FILE\n"
          "\n"
          "Inspects and converts taso rule files (docs/rules-format.md).\n"
          "\n"
          "commands:\n"
          "  dump FILE           print the rules of FILE as text, one rule per line, after a\n"
          "                      header comment block giving the provenance\n"
          "  stats FILE          print counts: rules by status, by number of source and\n"
          "                      target ops, by operator, multi-output rules\n"
          "  parse TEXT -o FILE  read the text form (TEXT '-' reads standard input) and write\n"
          "                      it as a binary rule file, replaced atomically; the output of\n"
          "                      dump parses back to the same bytes\n"
          "\n"
          "options:\n"
          "  -o FILE, --output FILE  the file that parse writes\n"
          "  --version               print the version and exit\n"
          "  --help                  print this help and exit\n"
          "\n"
          "exit status:\n"
          "  0  done\n"
          "  1  bad command line\n"
          "  2  the input cannot be read, is not a rule file, is corrupt or invalid\n"
          "  4  the output cannot be written\n"
          "  5  out of memory\n");
}

static int fail_input(tso_status st, const char *msg) {
  fprintf(stderr, "taso-rules: error: %s\n", msg);
  return st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_INPUT;
}

/* Reads all of path ('-': standard input) into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len, char *err) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) {
    snprintf(err, TSO_ERRMAX, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n == cap) {
      char *nb = cap < ((size_t)1 << 31) ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        free(buf);
        buf = NULL;
        snprintf(err, TSO_ERRMAX, "'%s' is too large", path);
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) {
        snprintf(err, TSO_ERRMAX, "cannot read '%s': %s", path, strerror(errno));
        free(buf);
        buf = NULL;
      }
      break;
    }
  }
  if (!buf && !err[0]) snprintf(err, TSO_ERRMAX, "out of memory");
  if (f != stdin) fclose(f);
  *len = n;
  return buf;
}

static int cmd_dump(const char *path) {
  char err[TSO_ERRMAX];
  tsoR_Set s;
  tso_status st = tsoR_read(path, &s, err);
  if (st) return fail_input(st, err);
  st = tsoR_write_text(&s, stdout, err);
  tsoR_set_free(&s);
  if (st) {
    fprintf(stderr, "taso-rules: error: cannot write the text: %s\n", err);
    return st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_OUTPUT;
  }
  return EXIT_OK;
}

/* Prints s with control and non-ASCII bytes as \xHH, so one field stays on one line. */
static void put_escaped(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c >= 0x7f || c == '\\') printf("\\x%02x", c);
    else putchar(c);
  }
}

/* Meaning of the provenance counts, by tool (docs/rules-format.md). */
static const char *const gen_counts[8] = {"graphs enumerated",    "distinct fingerprints",
                                          "graphs sharing a print", "candidate pairs",
                                          "distinct up to renaming", "without common subgraph",
                                          "not trivially implied",  "rules written"};
static const char *const verify_counts[8] = {"candidates read", "proven (written)", "refuted", "unknown",
                                             "proven, failed float check", "unknown: ill-formed", "unknown: constants only",
                                             "axioms"};

static int cmd_stats(const char *path) {
  static const char *const status_names[] = {"candidate", "proven", "refuted", "unknown"};
  char err[TSO_ERRMAX];
  tsoR_Set s;
  tso_status st = tsoR_read(path, &s, err);
  if (st) return fail_input(st, err);
  const tsoR_Provenance *pv = &s.prov;
  const char *const *names = !strncmp(pv->tool, "taso-gen", 8) ? gen_counts
                             : !strncmp(pv->tool, "taso-verify", 11) ? verify_counts : NULL;
  printf("file: %s\ntool: ", path);
  put_escaped(pv->tool[0] ? pv->tool : "(none)");
  printf("\noptions: ");
  put_escaped(pv->options);
  printf("\nseed: %llu\nseconds: %.3f\ncounts:", (unsigned long long)pv->seed, pv->seconds);
  for (int i = 0; i < 8; i++) printf(" %llu", (unsigned long long)pv->counts[i]);
  printf("\n");
  for (int i = 0; names && i < 8; i++)
    if (names[i]) printf("  %-26s %llu\n", names[i], (unsigned long long)pv->counts[i]);
  uint32_t by_status[4] = {0}, by_src[TSO_RULE_MAX_OPS + 1] = {0}, by_dst[TSO_RULE_MAX_OPS + 1] = {0};
  uint32_t by_size[TSO_RULE_MAX_OPS + 1][TSO_RULE_MAX_OPS + 1] = {{0}}, by_out[TSO_RULE_MAX_OUT + 1] = {0};
  uint32_t op_src[TSO_OP__END] = {0}, op_dst[TSO_OP__END] = {0}, op_any[TSO_OP__END] = {0};
  for (uint32_t i = 0; i < s.n; i++) {
    const tsoR_Rule *r = &s.r[i]; /* passed tsoR_check when read: counts are in range */
    unsigned char in_src[TSO_OP__END] = {0}, in_dst[TSO_OP__END] = {0};
    by_status[r->status]++;
    by_src[r->src.nops]++;
    by_dst[r->dst.nops]++;
    by_size[r->src.nops][r->dst.nops]++;
    by_out[r->src.nout]++;
    for (int k = 0; k < r->src.nops; k++) in_src[r->src.ops[k].op] = 1;
    for (int k = 0; k < r->dst.nops; k++) in_dst[r->dst.ops[k].op] = 1;
    for (int op = 0; op < TSO_OP__END; op++) {
      op_src[op] += in_src[op];
      op_dst[op] += in_dst[op];
      op_any[op] += in_src[op] | in_dst[op];
    }
  }
  printf("rules: %u\nby status:", s.n);
  for (int i = 0; i < 4; i++) printf("%s %s %u", i ? "," : "", status_names[i], by_status[i]);
  printf("\nby source ops:");
  for (int k = 0, c = 0; k <= TSO_RULE_MAX_OPS; k++)
    if (by_src[k]) printf("%s %d: %u", c++ ? "," : "", k, by_src[k]);
  printf("\nby target ops:");
  for (int k = 0, c = 0; k <= TSO_RULE_MAX_OPS; k++)
    if (by_dst[k]) printf("%s %d: %u", c++ ? "," : "", k, by_dst[k]);
  printf("\nby size (source ops -> target ops):");
  for (int a = 0, c = 0; a <= TSO_RULE_MAX_OPS; a++)
    for (int b = 0; b <= TSO_RULE_MAX_OPS; b++)
      if (by_size[a][b]) printf("%s %d->%d: %u", c++ ? "," : "", a, b, by_size[a][b]);
  printf("\nby outputs:");
  for (int k = 1, c = 0; k <= TSO_RULE_MAX_OUT; k++)
    if (by_out[k]) printf("%s %d: %u", c++ ? "," : "", k, by_out[k]);
  printf("\nmulti-output rules: %u\n", s.n - by_out[1]);
  int types = 0;
  for (int op = 1; op < TSO_OP__END; op++) types += op_any[op] != 0;
  printf("operator types occurring: %d\n", types);
  if (types) printf("  %-16s %8s %8s %8s\n", "operator", "rules", "source", "target");
  for (int op = 1; op < TSO_OP__END; op++)
    if (op_any[op])
      printf("  %-16s %8u %8u %8u\n", tsoO_info(op)->name, op_any[op], op_src[op], op_dst[op]);
  tsoR_set_free(&s);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "taso-rules: error: cannot write standard output\n");
    return EXIT_OUTPUT;
  }
  return EXIT_OK;
}

static int cmd_parse(const char *text, const char *out) {
  char err[TSO_ERRMAX] = "";
  size_t len;
  tsoR_Set s;
  char *buf = slurp(text, &len, err);
  if (!buf) return fail_input(TSO_ERR_IO, err);
  tso_status st = tsoR_parse_text_set(buf, len, &s, err);
  free(buf);
  if (st) {
    fprintf(stderr, "taso-rules: error: %s: %s\n", strcmp(text, "-") ? text : "<stdin>", err);
    return st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_INPUT;
  }
  st = tsoR_write(&s, out, err);
  tsoR_set_free(&s);
  if (st) {
    fprintf(stderr, "taso-rules: error: %s\n", err);
    return st == TSO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_OUTPUT;
  }
  return EXIT_OK;
}

int main(int argc, char **argv) {
  const char *args[3] = {NULL, NULL, NULL}, *out = NULL;
  int nargs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return EXIT_OK;
    } else if (!strcmp(a, "--version")) {
      printf("taso-rules %s\n", tso_version());
      return EXIT_OK;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "taso-rules: error: %s needs a file name\n", a);
        return EXIT_USAGE;
      }
      out = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "taso-rules: error: unknown option '%s' (see --help)\n", a);
      return EXIT_USAGE;
    } else if (nargs < 3) {
      args[nargs++] = a;
    } else {
      fprintf(stderr, "taso-rules: error: too many arguments (see --help)\n");
      return EXIT_USAGE;
    }
  }
  if (!nargs) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = args[0];
  int is_parse = !strcmp(cmd, "parse");
  if (strcmp(cmd, "dump") && strcmp(cmd, "stats") && !is_parse) {
    fprintf(stderr, "taso-rules: error: unknown command '%s' (dump, stats or parse; see --help)\n", cmd);
    return EXIT_USAGE;
  }
  if (nargs != 2) {
    fprintf(stderr, "taso-rules: error: %s takes one file (see --help)\n", cmd);
    return EXIT_USAGE;
  }
  if (is_parse != (out != NULL)) {
    fprintf(stderr, "taso-rules: error: %s\n",
            is_parse ? "parse needs the output file: -o FILE" : "-o is only for parse");
    return EXIT_USAGE;
  }
  if (!strcmp(cmd, "dump")) return cmd_dump(args[1]);
  if (!strcmp(cmd, "stats")) return cmd_stats(args[1]);
  return cmd_parse(args[1], out);
}
