/*
** text.c -- escaping for one-line messages and the DIMS parser
** (util/text.h says what each does).
*/
#include <stdio.h>
#include <string.h>

#include "util/text.h"

int tsoU_utf8_seq(const unsigned char *s, unsigned long *cp) {
  unsigned c = s[0];
  int n;
  unsigned long v, min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, v = c & 0x1Fu, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, v = c & 0x0Fu, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, v = c & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  for (int k = 1; k < n; k++) {
    if ((s[k] & 0xC0u) != 0x80u) return 0; /* also stops at the terminating NUL */
    v = (v << 6) | (s[k] & 0x3Fu);
  }
  if (v < min || v > 0x10FFFFul || (v >= 0xD800ul && v <= 0xDFFFul)) return 0;
  *cp = v;
  return n;
}

size_t tsoU_escape(char *dst, size_t n, const char *src) {
  const unsigned char *s = (const unsigned char *)src;
  size_t k = 0;
  if (!n) return 0;
  while (*s) {
    char e[12];
    const char *piece = e;
    size_t len;
    unsigned long cp = 0;
    int adv = 1;
    if (*s == '\n') {
      piece = "\\n", len = 2;
    } else if (*s == '\r') {
      piece = "\\r", len = 2;
    } else if (*s == '\t') {
      piece = "\\t", len = 2;
    } else if (*s < 0x20 || *s == 0x7F) {
      len = (size_t)snprintf(e, sizeof e, "\\x%02X", (unsigned)*s);
    } else if (*s < 0x80) {
      piece = (const char *)s, len = 1;
    } else if ((adv = tsoU_utf8_seq(s, &cp)) == 0) {
      adv = 1;
      len = (size_t)snprintf(e, sizeof e, "\\x%02X", (unsigned)*s);
    } else if (cp <= 0x9F || cp == 0x2028 || cp == 0x2029) {
      len = (size_t)snprintf(e, sizeof e, "\\u%04lX", cp);
    } else {
      piece = (const char *)s, len = (size_t)adv;
    }
    if (k + len >= n) break;
    memcpy(dst + k, piece, len);
    k += len;
    s += adv;
  }
  dst[k] = 0;
  return k;
}

int tsoU_parse_dims(const char *v, int64_t *d, int *rank, int maxrank, int64_t maxdim, char *why, size_t nwhy) {
  char scratch[80];
  if (!why || !nwhy) why = scratch, nwhy = sizeof scratch;
  *rank = 0;
  if (!*v) {
    snprintf(why, nwhy, "no dimensions");
    return -1;
  }
  for (int k = 0;; k++) { /* k: index of the dimension at v, from 0 as in the other messages */
    const char *p = v;
    int64_t x = 0;
    int big = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
      int digit = *p - '0';
      if (big || x > (maxdim - digit) / 10) big = 1; /* x * 10 + digit > maxdim */
      else x = x * 10 + digit;
    }
    int sep = *p == 'x' || *p == 'X' || *p == ',';
    if (p == v && (!*p || sep)) {
      snprintf(why, nwhy, "dimension %d is empty", k);
      return -1;
    }
    if (p == v || (*p && !sep)) {
      snprintf(why, nwhy, "dimension %d is not a positive integer", k);
      return -1;
    }
    if (big) {
      snprintf(why, nwhy, "dimension %d is larger than %lld", k, (long long)maxdim);
      return -1;
    }
    if (x == 0) {
      snprintf(why, nwhy, "dimension %d is 0 (dimensions are at least 1)", k);
      return -1;
    }
    if (*rank >= maxrank) {
      snprintf(why, nwhy, "more than %d dimensions", maxrank);
      return -1;
    }
    d[(*rank)++] = x;
    if (!*p) return 0;
    v = p + 1; /* past the separator: a dimension must follow */
  }
}
