/*
** cli_util.h -- small helpers the command-line tools share (prefix cli_).
** Compiled into each tool; nothing here is part of libtaso.
*/
#ifndef TSO_CLI_UTIL_H
#define TSO_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The default cost database path, $XDG_CACHE_HOME/taso/costs.sqlite or
** ~/.cache/taso/costs.sqlite, into buf (n bytes). With mkdirs, every
** missing folder of it is created. Returns buf, or NULL when no home is
** known, the path does not fit or a folder cannot be made. */
const char *cli_default_db(char *buf, size_t n, int mkdirs);

/* Parses "1x3x224x224" (or "8"; ',' also separates) into d[0..*rank):
** 1..maxrank dims, each 1..maxdim, strictly (tsoU_parse_dims of
** util/text.h: no sign, space, empty dim, leading or trailing separator).
** 0, or -1 when malformed. */
int cli_parse_dims(const char *v, int64_t *d, int *rank, int maxrank, int64_t maxdim);

/* Parses a non-negative number (the whole string). 0, or -1. */
int cli_parse_num(const char *s, double *out);

/* Prints "TOOL: KIND: MESSAGE\n" on standard error, MESSAGE formatted
** from fmt and escaped (util/text.h): one line whatever the file names
** and model names in it contain. KIND is "error", "warning" or "note". */
void cli_msg(const char *tool, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* s escaped (util/text.h) into buf (n bytes); returns buf. */
const char *cli_esc(const char *s, char *buf, size_t n);

#endif /* TSO_CLI_UTIL_H */
