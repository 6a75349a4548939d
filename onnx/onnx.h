/*
** onnx.h -- ONNX import and export (internal API, prefix tsoX_).
**
** A tsoX_Model is an ONNX ModelProto unpacked with protobuf-c, the graph IR
** built from it, and the maps from IR origins (tsoI_Node.origin,
** tsoI_Tensor.origin) back to the protos they came from. Export rebuilds the
** ModelProto from the (possibly changed) graph while everything that the IR
** does not model (metadata, functions, training info, unknown fields,
** attributes of opaque nodes, ...) is written back untouched, so that for an
** unchanged graph export(import(bytes)) == bytes.
**
** Invariants:
**   - the graph may borrow constant data from the model (raw_data of
**     initializers, mapped external data files): the model outlives it;
**   - node origin i always names graph.node[i] of the source model, tensor
**     origin i names graph.initializer[i] (i >= ninit: sparse_initializer);
**   - no function here exits or aborts on bad input: a status and a one-line
**     message in `err` (TSO_ERRMAX bytes) instead.
** Little-endian hosts only (raw_data is used in place).
*/
#ifndef TSO_ONNX_H
#define TSO_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

/* A shape binding given before import. */
typedef struct tsoX_Bind {
  const char *name;   /* a graph input (whole=1) or a symbolic dim_param (whole=0) */
  int whole;          /* 1: shape is the input's full shape; 0: value is the dim's size */
  tsoO_Shape shape;   /* whole=1 */
  int64_t value;      /* whole=0 */
} tsoX_Bind;

typedef struct tsoX_Model tsoX_Model;

/* The default-domain opset used for models made from scratch (opset 0). */
#define TSOX_DEFAULT_OPSET 17
/* Above this many bytes of constant data, save() writes external data. */
#define TSOX_EXTERNAL_THRESHOLD ((uint64_t)1800 * 1000 * 1000)
/* With external data, tensors of at least this many bytes go to the data file. */
#define TSOX_EXTERNAL_MIN_BYTES 1024

/* Loads an ONNX file; external data files are looked up in its folder. */
tso_status tsoX_load_file(const char *path, const tsoX_Bind *b, int nb, tsoX_Model **out, char *err);
/* Loads a model from memory (buf is not kept). dir: folder of external
** data files, or NULL when there is none. Errors: TSO_ERR_PARSE (not ONNX),
** TSO_ERR_INVALID (malformed graph), TSO_ERR_LIMIT (absurd sizes),
** TSO_ERR_IO (external data), TSO_ERR_ARG (a binding that matches nothing
** or contradicts the model), TSO_ERR_NOMEM. A name may be bound twice (as a
** whole shape and as a dim size) when the caller cannot tell which is
** meant: it is an error only if no binding of that name matched. */
tso_status tsoX_load(const void *buf, size_t len, const char *dir, const tsoX_Bind *b, int nb,
                     tsoX_Model **out, char *err);
/* An empty model (ir_version 8, default-domain opset `opset`, 0 = default)
** with an empty graph, for graphs built by hand. NULL on allocation failure. */
tsoX_Model *tsoX_new(int opset);
/* The model's graph (never NULL for a model returned by load/new). */
tsoI_Graph *tsoX_graph(tsoX_Model *m);
/* Replaces (and frees) the graph; g may borrow data from the model. */
void tsoX_set_graph(tsoX_Model *m, tsoI_Graph *g);
/* The default-domain opset. */
int tsoX_opset(const tsoX_Model *m);
/* "Type" or "domain::Type" of source node `origin`, or NULL if out of range. */
const char *tsoX_node_type(const tsoX_Model *m, int32_t origin);
/* One line per table operator kept opaque at import, e.g.
** "Conv 'conv3': 3-D convolution not supported". Returns the count; *msgs
** (may be NULL) stays valid while the model lives. */
int tsoX_opaque_reasons(const tsoX_Model *m, const char *const **msgs);
/* The model as ONNX bytes (malloc'd, *len bytes); constant data is always
** inline (no external data). */
tso_status tsoX_serialize(tsoX_Model *m, uint8_t **buf, size_t *len, char *err);
/* Writes the model to `path` atomically (a temporary file in the same
** folder, fsync, rename): never a partial file, nothing left behind on
** failure. External data goes to "<file name>.data" beside it (written the
** same way) when the loaded model used external data or the constants pass
** TSOX_EXTERNAL_THRESHOLD bytes. */
tso_status tsoX_save(tsoX_Model *m, const char *path, char *err);
/* Frees the model and its graph; NULL is fine. */
void tsoX_free(tsoX_Model *m);
/* Decodes a serialized TensorProto (the ONNX test data .pb files) into a
** value with malloc'd data; *name (may be NULL) receives a malloc'd copy of
** its name ("" if none). */
tso_status tsoX_read_tensor(const void *buf, size_t len, tsoO_Value *val, char **name, char *err);

#endif /* TSO_ONNX_H */
