/*
** ops.h -- operators: ids, parameters, attribute parsing, shape inference
** and float reference kernels.
**
** Every operator is one row of ops.def. Everything else about an operator
** is found through tsoO_info(op): a table indexed by the stable id, filled
** from ops.def, so that the enum, names, arities, ONNX mapping and function
** pointers can never drift apart.
**
** Invariants:
**   - tsoO_Params is a plain fixed-size union of int32/float fields with no
**     padding; a node's parameters are always fully zeroed before they are
**     set, so they can be hashed and compared byte-wise.
**   - infer() never reads tensor data except of inputs whose data pointer is
**     non-NULL (constants), and validates every parameter it uses.
**   - eval() is only called after infer() succeeded for the same inputs and
**     the caller allocated each output buffer for the inferred shape.
**   - an absent optional input (ONNX name "") is passed as the all-zero
**     value (dtype TSO_DT_UNDEFINED, rank 0, data NULL), or is beyond nin;
**     a present input of unknown type has dtype 0 and rank -1.
*/
#ifndef TSO_OPS_H
#define TSO_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "taso/taso.h"

#define TSO_VARIADIC 1024
#define TSO_ERRMAX 256      /* size of the error buffers passed around */
#define TSO_MAX_DIM ((int64_t)1 << 40) /* larger dimensions are refused as absurd */
#define TSO_MAX_NUMEL ((int64_t)1 << 34) /* elements of one tensor, at most */

/* Operator property flags. */
#define TSO_OPF_GEN         0x0001u /* in the generator's operator set */
#define TSO_OPF_ELEMWISE    0x0002u /* element-wise */
#define TSO_OPF_COMMUTATIVE 0x0004u /* first two inputs commute */
#define TSO_OPF_BROADCAST   0x0008u /* numpy-style broadcasting of inputs */
#define TSO_OPF_UNARY       0x0010u /* one input, same shape out */
#define TSO_OPF_LINEAR      0x0020u /* linear in its first input */
#define TSO_OPF_LAYOUT      0x0040u /* moves data only */
#define TSO_OPF_CONST       0x0080u /* no inputs, produces a constant */
#define TSO_OPF_BARRIER     0x0100u /* rewrites never cross it */
#define TSO_OPF_NOOP_CAND   0x0200u /* may be a no-op for some parameters */

typedef enum tsoO_Op {
  TSO_OP_NONE = 0,
#define X(id, en, name, onnx, a, b, c, d, fl) TSO_OP_##en = id,
#include "ops.def"
#undef X
  TSO_OP__END
} tsoO_Op;

/* Padding modes of conv and pooling. */
enum { TSO_PAD_EXPLICIT = 0, TSO_PAD_SAME_UPPER = 1, TSO_PAD_SAME_LOWER = 2, TSO_PAD_VALID = 3 };
/* Fused activations. */
enum { TSO_ACT_NONE = 0, TSO_ACT_RELU = 1 };
/* Pad modes. */
enum { TSO_PADMODE_CONSTANT = 0, TSO_PADMODE_REFLECT = 1, TSO_PADMODE_EDGE = 2 };

/* Parameters of one node. Which member is used depends on the operator;
** members not used are zero. Keep every member made of int32_t/float only. */
typedef union tsoO_Params {
  struct {                       /* CONV2D, MAXPOOL, AVGPOOL */
    int32_t kh, kw;              /* window / kernel size */
    int32_t sh, sw;              /* strides */
    int32_t pt, pl, pb, pr;      /* explicit pads: top, left, bottom, right */
    int32_t dh, dw;              /* dilations */
    int32_t group;               /* conv groups */
    int32_t act;                 /* TSO_ACT_* fused activation (conv) */
    int32_t pad_mode;            /* TSO_PAD_* */
    int32_t ceil_mode;           /* pooling: ceil instead of floor */
    int32_t count_include_pad;   /* avg pooling: divide by the full window */
  } win;
  struct { int32_t trans_a, trans_b; float alpha, beta; } gemm;
  struct { int32_t axis; int32_t legacy; } axis; /* CONCAT, SOFTMAX (legacy: opset<13 2-D coercion), FLATTEN, GATHER;
                                                    ADD..POW: legacy != 0 is opset<7 one-sided broadcasting (not commutative) */
  struct { int32_t axis, nsizes; int32_t sizes[24]; } split; /* nsizes 0: equal parts or the 'split' input, and sizes[0] = number of outputs (for opset 18 num_outputs) */
  struct { int32_t n; int32_t perm[TSO_MAX_RANK]; } transpose; /* n 0: reverse */
  struct { int32_t naxes; int32_t axes[TSO_MAX_RANK]; int32_t keepdims, noop_empty, has_axes; } axes; /* REDUCEMEAN, SQUEEZE, UNSQUEEZE (attribute form) */
  struct { int32_t axis; float epsilon; } norm; /* LAYERNORM, BATCHNORM (axis unused) */
  struct { int32_t mode; int32_t npads; int32_t pads[2 * TSO_MAX_RANK]; float value; } pad; /* npads 0: from input */
  struct { int32_t start, end, has_end; } shape;
  struct { float ratio; } dropout;
  struct { int32_t allowzero; } reshape;
  struct { int32_t kh, kw; } enlarge;            /* target kernel size */
  struct { int32_t rank; int32_t dims[TSO_MAX_RANK]; } cgen; /* CONST_* generators: output shape */
  struct { int32_t nexplicit; } opaque;          /* inputs beyond nexplicit are implicit (subgraph captures) */
  int32_t raw[32];
} tsoO_Params;

/* A shape: rank -1 when unknown, d[i] -1 when that dimension is unknown. */
typedef struct tsoO_Shape {
  int32_t rank;
  int64_t d[TSO_MAX_RANK];
} tsoO_Shape;

/* A tensor as kernels see it. data is NULL during shape inference unless the
** tensor is a constant; it is row-major, dense, of element type dtype. */
typedef struct tsoO_Value {
  int32_t dtype;
  tsoO_Shape shape;
  void *data;
} tsoO_Value;

/* An attribute as the ONNX importer and the public API hand it over. */
typedef tso_attr tsoO_Attr;

/* Attributes written by emit(): names are static strings, arrays point into pool. */
#define TSO_MAX_ATTRS 12
typedef struct tsoO_AttrSet {
  int n;
  tsoO_Attr a[TSO_MAX_ATTRS];
  int npool;
  int64_t pool[96];
  float fpool[8];
  int nfpool;
} tsoO_AttrSet;

/* Parses ONNX attributes into p (already zeroed). nin/nout: the node's
** arities; opset: the model's default-domain opset. */
typedef tso_status (*tsoO_ParseFn)(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout,
                                   int opset, char *err);
/* Writes p back as ONNX attributes for the given opset. */
typedef tso_status (*tsoO_EmitFn)(const tsoO_Params *p, int opset, tsoO_AttrSet *out);
/* Shape and type inference, with parameter validation. */
typedef tso_status (*tsoO_InferFn)(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                   tsoO_Value *out, char *err);
/* Float reference kernel. */
typedef tso_status (*tsoO_EvalFn)(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                                  tsoO_Value *out, char *err);

typedef struct tsoO_Info {
  int id;
  const char *name;          /* internal name */
  const char *onnx;          /* ONNX op_type, "" if none */
  int min_in, max_in, min_out, max_out;
  unsigned flags;
  tsoO_ParseFn parse;
  tsoO_EmitFn emit;
  tsoO_InferFn infer;
  tsoO_EvalFn eval;
} tsoO_Info;

/* The row of operator op, or NULL for an id outside the table. */
const tsoO_Info *tsoO_info(int op);
/* The operator of an ONNX op_type in the default domain, or TSO_OP_NONE. */
int tsoO_from_onnx(const char *op_type);
/* A 64-bit hash of the whole operator table (ids, names, arities, flags,
** parameter layout): files written with another table are refused. */
uint64_t tsoO_table_hash(void);

/* ---- helpers shared by the operator files ---- */

/* Bytes per element of a dtype, 0 if unknown or not fixed-size. */
size_t tsoO_dtype_size(int dtype);
const char *tsoO_dtype_name(int dtype);
/* Number of elements, or -1 if a dimension is unknown or it overflows TSO_MAX_NUMEL. */
int64_t tsoO_numel(const tsoO_Shape *s);
/* 1 if every dimension is known. */
int tsoO_shape_known(const tsoO_Shape *s);
/* Formats a shape as "1x3x224x224" ("?" for unknown dims, "[]" for scalars). */
char *tsoO_shape_str(const tsoO_Shape *s, char *buf, size_t n);
/* Numpy broadcasting of a and b into *out (may alias a or b); unknown rank
** gives unknown rank; an unknown dim against 1 stays unknown, against n
** becomes n; TSO_ERR_SHAPE naming both shapes otherwise. */
tso_status tsoO_broadcast_shape(const tsoO_Shape *a, const tsoO_Shape *b, tsoO_Shape *out, char *err);
/* Attribute lookup by name, NULL if absent. */
const tsoO_Attr *tsoO_attr_find(const tsoO_Attr *a, int na, const char *name);
/* Formats an error into err (TSO_ERRMAX bytes) and returns st. */
tso_status tsoO_fail(char *err, tso_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Per-operator functions, defined in the ops_*.c files; a NULL entry in the
** table means "not available" and callers treat the node as opaque. */
#define X(id, en, name, onnx, a, b, c, d, fl) \
  tso_status tsoO_parse_##en(tsoO_Params *, const tsoO_Attr *, int, int, int, int, char *); \
  tso_status tsoO_emit_##en(const tsoO_Params *, int, tsoO_AttrSet *); \
  tso_status tsoO_infer_##en(const tsoO_Params *, int, const tsoO_Value *, int, tsoO_Value *, char *); \
  tso_status tsoO_eval_##en(const tsoO_Params *, int, const tsoO_Value *, int, tsoO_Value *, char *);
#include "ops.def"
#undef X

#endif /* TSO_OPS_H */
