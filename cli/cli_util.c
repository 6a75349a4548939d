/*
** cli_util.c -- small helpers the command-line tools share (cli_util.h).
*/
#include "cli_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../util/text.h"

const char *cli_default_db(char *buf, size_t n, int mkdirs) {
  const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
  int w;
  if (x && x[0] == '/') w = snprintf(buf, n, "%s/taso/costs.sqlite", x);
  else if (h && h[0]) w = snprintf(buf, n, "%s/.cache/taso/costs.sqlite", h);
  else return NULL;
  if (w < 0 || (size_t)w >= n) return NULL;
  for (char *p = buf + 1; mkdirs && *p; p++) { /* mkdir -p of the folder */
    if (*p != '/') continue;
    *p = 0;
    int bad = mkdir(buf, 0755) != 0 && errno != EEXIST;
    *p = '/';
    if (bad) return NULL;
  }
  return buf;
}

int cli_parse_dims(const char *v, int64_t *d, int *rank, int maxrank, int64_t maxdim) {
  return tsoU_parse_dims(v, d, rank, maxrank, maxdim, NULL, 0);
}

int cli_parse_num(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0)) return -1;
  *out = v;
  return 0;
}

void cli_msg(const char *tool, const char *kind, const char *fmt, ...) {
  char raw[4096], esc[4 * sizeof raw];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  tsoU_escape(esc, sizeof esc, raw);
  fprintf(stderr, "%s: %s: %s\n", tool, kind, esc);
}

const char *cli_esc(const char *s, char *buf, size_t n) {
  tsoU_escape(buf, n, s ? s : "");
  return buf;
}
