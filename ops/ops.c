/*
** ops.c -- the operator table built from ops.def, and helpers shared by
** the operator files (dtypes, shapes, attributes, errors).
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "ops.h"

static const tsoO_Info optable[] = {
#define X(id, en, nm, ox, a, b, c, d, fl) \
  {id, nm, ox, a, b, c, d, fl, tsoO_parse_##en, tsoO_emit_##en, tsoO_infer_##en, tsoO_eval_##en},
#include "ops.def"
#undef X
};

#define NOPS ((int)(sizeof optable / sizeof optable[0]))

/* ---- the ids are on disk: pin them ---------------------------------------
** Rule files and the cost database store operator ids, so ops.def is
** append-only. These pins are a second copy of the ids, kept by hand: a
** renumbered, removed or reused row stops the build. Appending a row means
** adding its PIN and raising the count; nothing else here should change. */
#define PIN(en, id) _Static_assert(TSO_OP_##en == (id), "ops.def: the id of " #en " changed; ids are on disk (append only)")
PIN(OPAQUE, 1);
PIN(CONV2D, 2);         /* generator */
PIN(MATMUL, 3);         /* generator */
PIN(GEMM, 4);
PIN(ADD, 5);            /* generator */
PIN(SUB, 6);
PIN(MUL, 7);            /* generator */
PIN(DIV, 8);
PIN(POW, 9);
PIN(SCALAR_MUL, 10);    /* generator */
PIN(RELU, 11);          /* generator */
PIN(SIGMOID, 12);       /* generator */
PIN(TANH, 13);          /* generator */
PIN(ERF, 14);
PIN(SQRT, 15);
PIN(TRANSPOSE, 16);     /* generator */
PIN(CONCAT, 17);        /* generator */
PIN(SPLIT, 18);         /* generator */
PIN(MAXPOOL, 19);       /* generator */
PIN(AVGPOOL, 20);       /* generator */
PIN(GLOBALAVGPOOL, 21);
PIN(ENLARGE, 22);       /* generator */
PIN(CONST_IKERNEL, 23); /* generator */
PIN(CONST_IMATRIX, 24); /* generator */
PIN(CONST_ONES, 25);    /* generator */
PIN(CONST_POOL, 26);    /* generator */
PIN(BATCHNORM, 27);
PIN(RESHAPE, 28);
PIN(FLATTEN, 29);
PIN(SQUEEZE, 30);
PIN(UNSQUEEZE, 31);
PIN(SOFTMAX, 32);
PIN(REDUCEMEAN, 33);
PIN(LAYERNORM, 34);
PIN(IDENTITY, 35);
PIN(DROPOUT, 36);
PIN(CONSTANT, 37);
PIN(PAD, 38);
PIN(SHAPE, 39);
PIN(GATHER, 40);
PIN(SLICE, 41);
#undef PIN

enum { /* counted from ops.def itself */
  OPS_ROWS = 0
#define X(id, en, nm, ox, a, b, c, d, fl) +1
#include "ops.def"
#undef X
  ,
  OPS_ID_SUM = 0
#define X(id, en, nm, ox, a, b, c, d, fl) +(id)
#include "ops.def"
#undef X
  ,
  OPS_ID_SQSUM = 0
#define X(id, en, nm, ox, a, b, c, d, fl) +(id) * (id)
#include "ops.def"
#undef X
  ,
  OPS_ID_OUTSIDE = 0 /* rows whose id is not in 1..OPS_ROWS */
#define X(id, en, nm, ox, a, b, c, d, fl) +((id) < 1 || (id) > OPS_ROWS)
#include "ops.def"
#undef X
};
_Static_assert(OPS_ROWS == 41, "ops.def gained or lost a row: append only, then add its PIN above and raise this count");
/* the ids are 1..N, each once (same count, sum and sum of squares as 1..N),
** and the last row holds the largest (TSO_OP__END is one past it) */
_Static_assert(OPS_ID_OUTSIDE == 0 && OPS_ID_SUM == OPS_ROWS * (OPS_ROWS + 1) / 2 &&
                   OPS_ID_SQSUM == OPS_ROWS * (OPS_ROWS + 1) * (2 * OPS_ROWS + 1) / 6,
               "ops.def: the ids are not 1..N, each once");
_Static_assert(TSO_OP__END == OPS_ROWS + 1, "ops.def: the last row must hold the largest id");
/* The generator's operator set (TSO_OPF_GEN) as a bit mask of ids: changing
** it changes what the generator enumerates, so data/rules.bin must be
** regenerated; update the mask in the same change. */
_Static_assert((0ull
#define X(id, en, nm, ox, a, b, c, d, fl) | ((id) < 64 && ((fl) & TSO_OPF_GEN) ? 1ull << ((id) & 63) : 0ull)
#include "ops.def"
#undef X
                ) == 0x7df3cacull,
               "ops.def: the generator's operator set (TSO_OPF_GEN) changed: regenerate data/rules.bin, then update this mask");

/* id -> row; built once, ids are small. */
static const tsoO_Info *byid[TSO_OP__END];
static int byid_ready;

static void build_index(void) {
  /* Idempotent and race-free in effect: every thread writes the same values. */
  for (int i = 0; i < NOPS; i++) byid[optable[i].id] = &optable[i];
  byid_ready = 1;
}

const tsoO_Info *tsoO_info(int op) {
  if (op <= 0 || op >= TSO_OP__END) return NULL;
  if (!byid_ready) build_index();
  return byid[op];
}

int tsoO_from_onnx(const char *op_type) {
  if (!op_type || !*op_type) return TSO_OP_NONE;
  for (int i = 0; i < NOPS; i++)
    if (optable[i].onnx[0] && strcmp(optable[i].onnx, op_type) == 0) return optable[i].id;
  return TSO_OP_NONE;
}

uint64_t tsoO_table_hash(void) {
  XXH3_state_t *st = XXH3_createState();
  if (!st) return 0;
  XXH3_64bits_reset(st);
  for (int i = 0; i < NOPS; i++) {
    const tsoO_Info *o = &optable[i];
    int32_t nums[6] = {o->id, o->min_in, o->max_in, o->min_out, o->max_out, (int32_t)o->flags};
    XXH3_64bits_update(st, nums, sizeof nums);
    XXH3_64bits_update(st, o->name, strlen(o->name) + 1);
    XXH3_64bits_update(st, o->onnx, strlen(o->onnx) + 1);
  }
  uint32_t psize = (uint32_t)sizeof(tsoO_Params);
  XXH3_64bits_update(st, &psize, sizeof psize);
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

size_t tsoO_dtype_size(int dtype) {
  switch (dtype) {
  case TSO_DT_FLOAT: case TSO_DT_INT32: case TSO_DT_UINT32: return 4;
  case TSO_DT_UINT8: case TSO_DT_INT8: case TSO_DT_BOOL: return 1;
  case TSO_DT_UINT16: case TSO_DT_INT16: case TSO_DT_FLOAT16: case TSO_DT_BFLOAT16: return 2;
  case TSO_DT_INT64: case TSO_DT_DOUBLE: case TSO_DT_UINT64: return 8;
  default: return 0;
  }
}

const char *tsoO_dtype_name(int dtype) {
  switch (dtype) {
  case TSO_DT_FLOAT: return "float32";
  case TSO_DT_UINT8: return "uint8";
  case TSO_DT_INT8: return "int8";
  case TSO_DT_UINT16: return "uint16";
  case TSO_DT_INT16: return "int16";
  case TSO_DT_INT32: return "int32";
  case TSO_DT_INT64: return "int64";
  case TSO_DT_STRING: return "string";
  case TSO_DT_BOOL: return "bool";
  case TSO_DT_FLOAT16: return "float16";
  case TSO_DT_DOUBLE: return "float64";
  case TSO_DT_UINT32: return "uint32";
  case TSO_DT_UINT64: return "uint64";
  case TSO_DT_BFLOAT16: return "bfloat16";
  default: return "undefined";
  }
}

int64_t tsoO_numel(const tsoO_Shape *s) {
  if (s->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] < 0) return -1;
    if (s->d[i] == 0) n = 0;
    else if (n > TSO_MAX_NUMEL / s->d[i]) return -1;
    else n *= s->d[i];
  }
  return n;
}

int tsoO_shape_known(const tsoO_Shape *s) {
  if (s->rank < 0) return 0;
  for (int i = 0; i < s->rank; i++)
    if (s->d[i] < 0) return 0;
  return 1;
}

char *tsoO_shape_str(const tsoO_Shape *s, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  if (s->rank < 0) { snprintf(buf, n, "?"); return buf; }
  if (s->rank == 0) { snprintf(buf, n, "[]"); return buf; }
  for (int i = 0; i < s->rank && k < n; i++) {
    int w = s->d[i] < 0 ? snprintf(buf + k, n - k, "%s?", i ? "x" : "")
                        : snprintf(buf + k, n - k, "%s%lld", i ? "x" : "", (long long)s->d[i]);
    if (w < 0) break;
    k += (size_t)w;
  }
  return buf;
}

const tsoO_Attr *tsoO_attr_find(const tsoO_Attr *a, int na, const char *name) {
  for (int i = 0; i < na; i++)
    if (a[i].name && strcmp(a[i].name, name) == 0) return &a[i];
  return NULL;
}

tso_status tsoO_fail(char *err, tso_status st, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, TSO_ERRMAX, fmt, ap);
    va_end(ap);
  }
  return st;
}
