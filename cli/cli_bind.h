/*
** cli_bind.h -- the `--shape NAME=DIMS` option of the tools that use the
** internal API (taso-cost, taso-bench): one binding of a graph input's
** whole shape, plus one of a symbolic dimension when DIMS is one number;
** the importer uses whichever matches. Header-only (static inline).
*/
#ifndef TSO_CLI_BIND_H
#define TSO_CLI_BIND_H

#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "onnx/onnx.h"

/* Adds the bindings of `val` (NAME=DIMS) to binds[*nbinds] (room for two
** more needed) with the name copied into names[*nnames] (128 bytes each,
** at most maxnames). 0, or -1 after printing "TOOL: error: ..." . */
static inline int cli_add_shape(const char *tool, const char *val, tsoX_Bind *binds, int *nbinds,
                                char (*names)[128], int *nnames, int maxnames) {
  const char *eq = strchr(val, '=');
  size_t n = eq ? (size_t)(eq - val) : 0;
  tsoO_Shape s;
  int r = 0;
  memset(&s, 0, sizeof s);
  if (!eq || n == 0 || n >= 128 || cli_parse_dims(eq + 1, s.d, &r, TSO_MAX_RANK, TSO_MAX_DIM) != 0) {
    fprintf(stderr, "%s: error: bad --shape '%s': expected NAME=DIMS, e.g. input=1x3x224x224 or batch=1\n", tool,
            val);
    return -1;
  }
  s.rank = r;
  if (*nnames >= maxnames) {
    fprintf(stderr, "%s: error: too many --shape bindings\n", tool);
    return -1;
  }
  char *name = names[(*nnames)++];
  memcpy(name, val, n);
  name[n] = 0;
  tsoX_Bind *b = &binds[(*nbinds)++];
  memset(b, 0, sizeof *b);
  b->name = name;
  b->whole = 1;
  b->shape = s;
  if (s.rank == 1) {
    b = &binds[(*nbinds)++];
    memset(b, 0, sizeof *b);
    b->name = name;
    b->value = s.d[0];
  }
  return 0;
}

#endif /* TSO_CLI_BIND_H */
