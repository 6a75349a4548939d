/*
** fileio.c -- whole-file reading and atomic writing (see fileio.h).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/ops.h"
#include "util/fileio.h"

tso_status tsoU_read_file(const char *path, uint64_t max, uint8_t **buf, size_t *len, char *err) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return tsoO_fail(err, TSO_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  uint8_t *b = NULL;
  size_t n = 0, cap = 0;
  tso_status st = TSO_OK;
  for (;;) {
    if (n == cap) {
      if ((uint64_t)cap >= max) {
        st = tsoO_fail(err, TSO_ERR_LIMIT, "'%s' is larger than %llu bytes", path, (unsigned long long)max);
        break;
      }
      size_t nc = cap ? cap * 2 : (size_t)1 << 16;
      uint8_t *nb = realloc(b, nc);
      if (!nb) {
        st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory reading '%s'", path);
        break;
      }
      b = nb;
      cap = nc;
    }
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (r == 0) {
      if (ferror(f)) st = tsoO_fail(err, TSO_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (st != TSO_OK) {
    free(b);
    return st;
  }
  *buf = b;
  *len = n;
  return TSO_OK;
}

int tsoU_write_all(int fd, const void *p, size_t n) {
  const unsigned char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int tsoU_temp_beside(const char *path, char **tmp) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  int dirlen = slash ? (int)(slash - path) : 1;
  const char *dir = slash ? path : ".";
  if (slash == path) dirlen = 1; /* "/name" */
  size_t n = strlen(path) + 16;
  if (!(*tmp = malloc(n))) {
    errno = ENOMEM;
    return -1;
  }
  snprintf(*tmp, n, "%.*s/.%s.XXXXXX", dirlen, dir, name);
  int fd = mkstemp(*tmp);
  if (fd < 0) {
    int er = errno;
    free(*tmp);
    *tmp = NULL;
    errno = er;
  }
  return fd;
}

int tsoU_finish_temp(int fd, const char *final) {
  struct stat sb;
  mode_t mode = stat(final, &sb) == 0 ? (sb.st_mode & 07777) : 0644;
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
    int er = errno;
    close(fd);
    errno = er;
    return -1;
  }
  return close(fd);
}

tso_status tsoU_write_atomic(const char *path, const void *buf, size_t len, char *err) {
  char *tmp = NULL;
  int fd = tsoU_temp_beside(path, &tmp);
  if (fd < 0) return tsoO_fail(err, TSO_ERR_IO, "cannot create a temporary file beside '%s': %s", path, strerror(errno));
  int er = 0;
  if (tsoU_write_all(fd, buf, len) != 0) {
    er = errno;
    close(fd);
  } else if (tsoU_finish_temp(fd, path) != 0 || rename(tmp, path) != 0) {
    er = errno;
  }
  if (er) {
    unlink(tmp);
    free(tmp);
    return tsoO_fail(err, TSO_ERR_IO, "cannot write '%s': %s", path, strerror(er));
  }
  free(tmp);
  return TSO_OK;
}
