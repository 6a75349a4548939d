/*
** cli_util.c -- small helpers the command-line tools share (cli_util.h).
*/
#include "cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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
  *rank = 0;
  if (!*v) return -1;
  while (*v) {
    if (*rank >= maxrank) return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || x < 0 || x > maxdim) return -1;
    d[(*rank)++] = x;
    v = end;
    if (*v == 'x' || *v == 'X' || *v == ',') {
      v++;
      if (!*v) return -1;
    } else if (*v) {
      return -1;
    }
  }
  return 0;
}

int cli_parse_num(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0)) return -1;
  *out = v;
  return 0;
}
