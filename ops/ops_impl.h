/*
** ops_impl.h -- helpers internal to the ops module (prefix tsoO_), defined
** once in ops_util.c and shared by the operator files ops_elem.c,
** ops_tensor.c, ops_nn.c and ops_gen.c: reading ONNX attributes in
** parse(), writing them in emit(), arities, optional inputs, output shapes,
** axes and integer argument inputs in infer() and eval(), and the checks of
** the float-only operators. Only files in ops/ include it; what the rest of
** the library may use is in ops.h.
**
** Conventions the helpers keep:
**   - A helper that takes `op` and `err` and fails returns the failure's
**     tso_status and writes one message starting with the operator name
**     into err (TSO_ERRMAX bytes; err may be NULL). Attribute refusals are
**     TSO_ERR_UNSUPPORTED: what this library could get wrong is refused,
**     never guessed.
**   - The attribute readers set *v to its default before anything else, so
**     a caller never sees an uninitialized value, even on failure.
**   - The emitters append to a tsoO_AttrSet whose names are static strings
**     and whose arrays live in its own pool; a full set is TSO_ERR_LIMIT.
**   - Where ops_tensor.c and ops_nn.c have always differed (what counts as
**     an absent input, how arities are checked), both forms are here under
**     distinct names: tsoO_absent / tsoO_given, tsoO_arity /
**     tsoO_check_arity.
*/
#ifndef TSO_OPS_IMPL_H
#define TSO_OPS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"

#define TSO_OPSET_MAX 21   /* newest opset whose operator forms ops_elem.c and ops_tensor.c know */
#define TSO_SHAPESTR 160   /* room for any shape formatted by tsoO_shape_str */

/* ---- parse: ONNX attributes -> tsoO_Params ---- */

/* The first attribute of a[0..na) whose name is not one of `names`
** (NULL-terminated; NULL for no names at all), or NULL when every one is
** known. */
const tsoO_Attr *tsoO_attr_unknown(const tsoO_Attr *a, int na, const char *const *names);
/* Fails (TSO_ERR_UNSUPPORTED) unless opset is in [lo, TSO_OPSET_MAX], the
** range whose forms of operator op the caller knows, and every attribute
** is one of `names` (see tsoO_attr_unknown). */
tso_status tsoO_parse_begin(int opset, int lo, const tsoO_Attr *a, int na,
                            const char *const *names, const char *op, char *err);
/* Reads INT attribute `name` into *v (def when absent); refuses another
** kind and values outside [lo, hi]. */
tso_status tsoO_attr_int(const tsoO_Attr *a, int na, const char *name, int64_t def, int64_t lo,
                         int64_t hi, int64_t *v, const char *op, char *err);
/* Reads FLOAT attribute `name` into *v (def when absent); refuses another
** kind. */
tso_status tsoO_attr_float(const tsoO_Attr *a, int na, const char *name, float def, float *v,
                           const char *op, char *err);
/* Finds INTS attribute `name`: *v points at its values and *n counts them,
** *n = -1 and *v = NULL when absent; refuses another kind, more than max
** values and values outside int32. */
tso_status tsoO_attr_ints(const tsoO_Attr *a, int na, const char *name, int max,
                          const int64_t **v, int *n, const char *op, char *err);

/* ---- emit: tsoO_Params -> ONNX attributes ---- */

/* Empties the set o (no attributes, empty pools). */
void tsoO_emit_clear(tsoO_AttrSet *o);
/* Empties out, then fails (TSO_ERR_UNSUPPORTED) for an opset outside
** [lo, TSO_OPSET_MAX]. */
tso_status tsoO_emit_begin(tsoO_AttrSet *out, int opset, int lo);
/* Appends an INT attribute; TSO_ERR_LIMIT when the set is full. */
tso_status tsoO_put_int(tsoO_AttrSet *o, const char *name, int64_t v);
/* Appends a FLOAT attribute; TSO_ERR_LIMIT when the set is full. */
tso_status tsoO_put_float(tsoO_AttrSet *o, const char *name, float v);
/* Appends a STRING attribute (s must be static); TSO_ERR_LIMIT when the
** set is full. */
tso_status tsoO_put_str(tsoO_AttrSet *o, const char *name, const char *s);
/* Appends an INTS attribute whose n values are copied into o->pool;
** TSO_ERR_LIMIT when the set or its pool is full or n < 0. */
tso_status tsoO_put_ints(tsoO_AttrSet *o, const char *name, const int32_t *v, int n);

/* ---- infer and eval: inputs, outputs, axes ---- */

/* 1 when optional input i is absent in the sense of ops_elem.c and
** ops_tensor.c: i >= nin, or it has neither a type nor data (dtype
** TSO_DT_UNDEFINED, data NULL), whatever its rank. */
int tsoO_absent(int nin, const tsoO_Value *in, int i);
/* 1 when optional input i is given in the sense of ops_nn.c: i < nin and
** it is not exactly the all-zero value of ops.h (dtype TSO_DT_UNDEFINED,
** data NULL and rank 0). Stricter about absence than tsoO_absent: an input
** of unknown type and rank (dtype 0, rank -1, no data) is given here, but
** absent for tsoO_absent. */
int tsoO_given(int nin, const tsoO_Value *in, int i);
/* 1 when input i exists and carries data (at eval time: it is given). */
int tsoO_has_data(int nin, const tsoO_Value *in, int i);
/* Fails (TSO_ERR_INVALID) when nin is outside [inlo, inhi] or nout outside
** [outlo, outhi]. */
tso_status tsoO_arity(int nin, int inlo, int inhi, int nout, int outlo, int outhi,
                      const char *op, char *err);
/* Fails (TSO_ERR_ARG) unless v has a known shape, a fixed-size dtype and,
** when it has elements, data: eval()'s guard against a caller that skipped
** infer(). */
tso_status tsoO_need(const tsoO_Value *v, const char *op, char *err);
/* A shape of the given rank (-1: unknown) whose dimensions are all unknown;
** dimensions past the rank are zero. */
tsoO_Shape tsoO_unknown_shape(int rank);
/* Sets output o's type and shape s (unknown dimensions become -1, those
** past the rank 0), refusing a dimension above TSO_MAX_DIM or more than
** TSO_MAX_NUMEL elements (TSO_ERR_LIMIT, o unchanged). */
tso_status tsoO_set_out(tsoO_Value *o, int dtype, const tsoO_Shape *s, const char *op, char *err);
/* axis normalized into [0, rank) (negative counts from the back), or -1
** when it is outside [-rank, rank). */
int tsoO_axis_index(int64_t axis, int rank);
/* Normalizes axis into *out like tsoO_axis_index; an axis outside
** [-rank, rank) is TSO_ERR_SHAPE, *out unchanged. */
tso_status tsoO_norm_axis(int64_t axis, int rank, const char *op, int64_t *out, char *err);

/* ---- shapes and integer argument inputs ---- */

/* Product of s->d[lo, hi): -1 if one of them is unknown, 0 if one is 0,
** TSO_MAX_NUMEL + 1 when it would be larger. */
int64_t tsoO_dim_product(const tsoO_Shape *s, int lo, int hi);
/* Row-major element strides of a known shape into st[0..s->rank). */
void tsoO_strides(const tsoO_Shape *s, int64_t *st);

/* An integer argument input (starts, pads, axes, a shape...) as
** tsoO_int_arg describes it. */
typedef struct tsoO_IntArg {
  int64_t n;        /* number of values, -1 when unknown */
  int dtype;        /* TSO_DT_INT32, TSO_DT_INT64, or 0 when unknown */
  const void *data; /* the values, NULL when they are not known */
} tsoO_IntArg;

/* Describes v, a rank-0/1 int32/int64 argument input named `what`, in *a
** (values readable when a->data is set: v has data and a known type).
** Another type or rank, or more than max values, is TSO_ERR_SHAPE. */
tso_status tsoO_int_arg(const tsoO_Value *v, int64_t max, const char *op, const char *what,
                        tsoO_IntArg *a, char *err);
/* Value k of a readable integer argument (a->data set, k < a->n). */
int64_t tsoO_int_at(const tsoO_IntArg *a, int64_t k);
/* Reads n axes, from pa when it is not NULL, else from the readable
** argument a, normalizes them into ax[0..n) for a rank-`rank` tensor and
** marks them in *mask (bit i for axis i). An axis out of range or repeated
** is TSO_ERR_SHAPE. */
tso_status tsoO_axes_mask(const tsoO_IntArg *a, const int32_t *pa, int n, int rank,
                          const char *op, unsigned *mask, int64_t *ax, char *err);

/* ---- the float operators (ops_nn.c, ops_gen.c) ----
** These compute float32 only; every eval() first re-runs infer() on its
** actual inputs (tsoO_eval_begin), so a kernel never indexes outside its
** buffers. */

/* Fails with TSO_ERR_ARG for fewer than min_in inputs or no output, and
** with TSO_ERR_UNSUPPORTED for more than max_out outputs: the defensive
** check of the arities the table promises (tsoO_arity checks exact
** ranges instead). */
tso_status tsoO_check_arity(int nin, int min_in, int nout, int max_out, const char *op, char *err);
/* Fails unless v, the input named `what`, is float32 or of still unknown
** type (TSO_ERR_UNSUPPORTED) with a rank in [-1, TSO_MAX_RANK]
** (TSO_ERR_SHAPE). */
tso_status tsoO_check_float(const tsoO_Value *v, const char *what, const char *op, char *err);
/* Dimension i of v, or -1 when the rank or that dimension is unknown. */
int64_t tsoO_dim(const tsoO_Value *v, int i);
/* Sets out to a float32 tensor of the given rank (-1: unknown) and
** dimensions d (NULL for rank <= 0), unchecked (see tsoO_check_out_size). */
void tsoO_set_float_out(tsoO_Value *out, int rank, const int64_t *d);
/* Refuses (TSO_ERR_LIMIT) an output with a dimension above TSO_MAX_DIM or
** more than TSO_MAX_NUMEL elements. */
tso_status tsoO_check_out_size(const tsoO_Value *out, const char *op, char *err);
/* The common start of a float eval(): 1..4 outputs, each with a buffer;
** the first nreq inputs carry data; an optional input without data must be
** absent (tsoO_given is 0), and an input with data has a known dtype and
** shape; infer() succeeds on the inputs and every output's shape is the
** inferred one. Failures are TSO_ERR_ARG, or infer()'s. */
tso_status tsoO_eval_begin(tsoO_InferFn infer, const tsoO_Params *p, int nin, const tsoO_Value *in,
                           int nout, tsoO_Value *out, int nreq, const char *op, char *err);

/* ---- eval: walking a dense output ---- */

/* An odometer over a dense output of rank r that also follows up to two
** strided inputs. Zero it, then set r, dim and st; off[j] is then the
** element offset into input j of the output element being visited. */
typedef struct tsoO_Walk {
  int r;                       /* output rank */
  int64_t dim[TSO_MAX_RANK];   /* output dimensions */
  int64_t idx[TSO_MAX_RANK];   /* index of the current output element */
  int64_t st[2][TSO_MAX_RANK]; /* element strides of input j per output dim (0: broadcast) */
  int64_t off[2];              /* element offset into input j */
} tsoO_Walk;

/* Advances the walk by one output element (wrapping to the first after
** the last). Inline: it runs once per element in the kernels. */
static inline void tsoO_walk_next(tsoO_Walk *w) {
  for (int d = w->r - 1; d >= 0; d--) {
    w->off[0] += w->st[0][d];
    w->off[1] += w->st[1][d];
    if (++w->idx[d] < w->dim[d]) return;
    w->off[0] -= w->st[0][d] * w->dim[d];
    w->off[1] -= w->st[1][d] * w->dim[d];
    w->idx[d] = 0;
  }
}

/* Copies the strided view of src (r dimensions dims, element strides st,
** starting at element off) densely into dst; elements are esz bytes. */
void tsoO_copy_view(char *dst, const char *src, size_t esz, int r, const int64_t *dims,
                    const int64_t *st, int64_t off);

#endif /* TSO_OPS_IMPL_H */
