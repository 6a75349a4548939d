/*
** fileio.h -- whole-file reading and atomic writing, shared by the ONNX
** and rule-file modules (internal, prefix tsoU_).
**
** Atomic writes put a temporary file beside the target (same folder, so
** rename() is atomic), fsync it, give it the target's permissions (0644
** for a new file) and rename it over the target; on any failure the
** temporary is removed and the target is untouched.
*/
#ifndef TSO_FILEIO_H
#define TSO_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "taso/taso.h"

/* Reads the whole file into a malloc'd buffer (*buf, *len). Files larger
** than max bytes are refused with TSO_ERR_LIMIT. Errors: TSO_ERR_IO,
** TSO_ERR_NOMEM, with a one-line message in err (TSO_ERRMAX bytes). */
tso_status tsoU_read_file(const char *path, uint64_t max, uint8_t **buf, size_t *len, char *err);
/* Writes all n bytes to fd, retrying on EINTR; 0, or -1 with errno set. */
int tsoU_write_all(int fd, const void *p, size_t n);
/* Creates a temporary file beside `path` ("<dir>/.<name>.XXXXXX"): its fd,
** and its malloc'd name in *tmp; -1 with errno set on failure. */
int tsoU_temp_beside(const char *path, char **tmp);
/* Gives the temporary the permissions of `final` (0644 if it does not
** exist), fsyncs and closes it; 0, or -1 with errno set (fd closed). */
int tsoU_finish_temp(int fd, const char *final);
/* Writes buf to path atomically. */
tso_status tsoU_write_atomic(const char *path, const void *buf, size_t len, char *err);

#endif /* TSO_FILEIO_H */
