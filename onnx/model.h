/*
** model.h -- the inside of a tsoX_Model, shared by the files of onnx/ only.
**
** The model keeps the unpacked ModelProto for its whole life: the graph
** borrows strings and constant data from it, and export writes back every
** part of it that the graph does not describe. Per source node and per
** source initializer it keeps what import saw (operator, parameters,
** captured names, data pointer), so export can tell an untouched node or
** constant from a changed one and reuse the original proto only for the
** former.
*/
#ifndef TSO_ONNX_MODEL_H
#define TSO_ONNX_MODEL_H

#include "onnx/onnx.h"
#include "onnx/onnx.pb-c.h"

#define TSOX_STR_(x) #x
#define TSOX_STR(x) TSOX_STR_(x)
#define TSOX_VERSION_STR \
  TSOX_STR(TSO_VERSION_MAJOR) "." TSOX_STR(TSO_VERSION_MINOR) "." TSOX_STR(TSO_VERSION_PATCH)

/* ---- string -> int32 map (open addressing, keys borrowed) ---- */

typedef struct tsoX_Map {
  const char **key;   /* borrowed keys, NULL for empty slots */
  int32_t *val;       /* values */
  uint64_t *hash;     /* full hashes, to skip most string compares */
  size_t cap, n;      /* slots (a power of two) and entries */
} tsoX_Map;

/* Initialises an empty map sized for about `expect` entries; 0 or -1 (OOM). */
int tsoX_map_init(tsoX_Map *mp, size_t expect);
void tsoX_map_free(tsoX_Map *mp);
/* The value of key, or -1. */
int32_t tsoX_map_get(const tsoX_Map *mp, const char *key);
/* Inserts key -> val: 0 inserted, 1 already present (left unchanged), -1 OOM. */
int tsoX_map_put(tsoX_Map *mp, const char *key, int32_t val);

/* ---- what import saw ---- */

typedef struct tsoX_Src {   /* one per graph.node[i] */
  int32_t op;               /* table operator, or TSO_OP_OPAQUE */
  int32_t ncap;             /* subgraph captures (implicit inputs) */
  const char **cap;         /* their names, borrowed from the proto */
  char *type;               /* "domain::Type" (malloc'd) or NULL: op_type then */
  tsoO_Params p;            /* parameters as parsed */
} tsoX_Src;

typedef struct tsoX_Init {  /* one per initializer, then per sparse initializer */
  const Onnx__TensorProto *tp; /* the proto (for sparse ones: the values tensor) */
  const void *data;         /* the data the graph got (to detect replacement) */
  size_t nbytes;
  int32_t dtype;
  int32_t sparse;           /* 1: from sparse_initializer, written back as is */
  int32_t unused;           /* 1: nothing read it at import (kept on export) */
  int32_t external;         /* 1: its data came from an external file */
  tsoO_Shape shape;
} tsoX_Init;

typedef struct tsoX_Mapping { /* an external data file mapped into memory */
  char *loc;                /* location as written in the model */
  void *addr;               /* mmap'd, NULL for an empty file */
  size_t len;
} tsoX_Mapping;

struct tsoX_Model {
  Onnx__ModelProto *mp;     /* unpacked with protobuf-c's default allocator */
  tsoI_Graph *g;            /* the graph */
  int opset;                /* default-domain opset */
  int external;             /* 1: some tensor used external data */
  char *dir;                /* folder of external data, or NULL */
  int32_t nsrc;             /* = graph.node count */
  tsoX_Src *src;
  int32_t ninit;            /* initializers + sparse initializers */
  tsoX_Init *init;
  int nreasons;             /* opaque reasons */
  char **reasons;
  int nmaps;                /* external data mappings */
  tsoX_Mapping *maps;
  tsoX_Map reserved;        /* names defined inside subgraphs (never generated) */
  void **bufs;              /* converted constant data the graph borrows */
  size_t nbufs, capbufs;
  uint64_t ext_threshold;   /* save() goes external above this many constant bytes; 0: the default */
};

/* ---- helpers (common.c) ---- */

/* protobuf-c unpacks nested messages recursively: deeper input is refused
** before it can exhaust the stack (real models nest a few dozen levels). */
#define TSOX_MAX_NESTING 200
/* TSO_ERR_LIMIT when buf (a message of type d) nests deeper than that. */
tso_status tsoX_check_nesting(const ProtobufCMessageDescriptor *d, const void *buf, size_t len, char *err);
/* 1 if domain is the default ONNX domain ("" / "ai.onnx" / NULL). */
int tsoX_default_domain(const char *domain);
/* Element type and shape of tp, with limits checked (what: for messages). */
tso_status tsoX_tensor_meta(const Onnx__TensorProto *tp, const char *what, int *dtype,
                            tsoO_Shape *shape, char *err);
/* The data of tp: *data points into tp or a mapped file (borrowed) when
** *owned is NULL, else into the malloc'd *owned that the caller frees.
** *ext is set to 1 for external data. m may be NULL (no external data). */
tso_status tsoX_tensor_data(tsoX_Model *m, const Onnx__TensorProto *tp, const char *what, int dtype,
                            const tsoO_Shape *shape, const void **data, size_t *nbytes, void **owned,
                            int *ext, char *err);
/* Hands malloc'd buffer p to the model (freed with it); 0, or -1 on OOM
** (p is then freed). */
int tsoX_keep(tsoX_Model *m, void *p);
/* Frees the model's own parts except the graph and the proto. */
void tsoX_model_release(tsoX_Model *m);
/* Sets the constant bytes above which tsoX_save() writes external data for
** a model that did not use it (0: TSOX_EXTERNAL_THRESHOLD, the default).
** For tests, which cannot afford 1.8 GB models; not part of any public API. */
void tsoX_set_external_threshold(tsoX_Model *m, uint64_t bytes);

#endif /* TSO_ONNX_MODEL_H */
