/*
** ops_gen.c -- the operators that exist only inside the optimizer's
** generator: Enlarge (a conv kernel zero-padded to a larger window) and the
** constant kernels (identity conv kernel, identity matrix, all-ones,
** average-pool kernel). Shape inference and float reference kernels; none
** has an ONNX form, so parse() and emit() refuse with TSO_ERR_UNSUPPORTED.
** (Scalar-mul, generator-only too, is element-wise: ops_elem.c.)
**
** Invariants: they follow the float operators' conventions of ops_nn.c
** (see ops_impl.h): float32 only, and eval() re-runs infer() on its inputs
** and checks each output buffer against it before computing. The constants
** take no inputs; their shape is p->cgen, validated by infer().
*/
#include "ops_impl.h"

#define SHS(v, b) tsoO_shape_str(&(v)->shape, (b), sizeof(b))

/* Shared parse of the operators without an ONNX form. */
static tso_status no_onnx(const char *op, char *err) {
  return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s has no ONNX form", op);
}

/* Generator-only: no ONNX form to parse or emit. */
tso_status tsoO_parse_ENLARGE(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset,
                              char *err) {
  (void)p; (void)a; (void)na; (void)nin; (void)nout; (void)opset;
  return no_onnx("enlarge", err);
}

/* See tsoO_parse_ENLARGE. */
tso_status tsoO_emit_ENLARGE(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {
  (void)p; (void)opset;
  tsoO_emit_clear(out);
  return TSO_ERR_UNSUPPORTED;
}

/* Conv kernel [M, C, kh, kw] -> [M, C, p->enlarge.kh, p->enlarge.kw]; the
** target is at least the source and differs by an even amount. */
tso_status tsoO_infer_ENLARGE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                              char *err) {
  static const char op[] = "enlarge";
  char b[TSO_SHAPESTR];
  tso_status st;
  const tsoO_Value *x = &in[0];
  if ((st = tsoO_check_arity(nin, 1, nout, 1, op, err)) || (st = tsoO_check_float(x, "kernel", op, err)))
    return st;
  if (p->enlarge.kh < 1 || p->enlarge.kw < 1)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid target %dx%d", op, (int)p->enlarge.kh,
                     (int)p->enlarge.kw);
  if (x->shape.rank >= 0 && x->shape.rank != 4)
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: kernel %s must be 4-D", op, SHS(x, b));
  int64_t kh = tsoO_dim(x, 2), kw = tsoO_dim(x, 3);
  if ((kh >= 0 && (kh > p->enlarge.kh || (p->enlarge.kh - kh) % 2)) ||
      (kw >= 0 && (kw > p->enlarge.kw || (p->enlarge.kw - kw) % 2)))
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: kernel %s cannot be centred in %dx%d", op, SHS(x, b),
                     (int)p->enlarge.kh, (int)p->enlarge.kw);
  int64_t d[4] = {tsoO_dim(x, 0), tsoO_dim(x, 1), p->enlarge.kh, p->enlarge.kw};
  tsoO_set_float_out(out, 4, d);
  return tsoO_check_out_size(out, op, err);
}

/* Zero-pads every kh x kw tap plane symmetrically. */
tso_status tsoO_eval_ENLARGE(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout, tsoO_Value *out,
                             char *err) {
  tso_status st;
  if ((st = tsoO_eval_begin(tsoO_infer_ENLARGE, p, nin, in, nout, out, 1, "enlarge", err))) return st;
  const tsoO_Shape *s = &in[0].shape;
  int64_t planes = s->d[0] * s->d[1], kh = s->d[2], kw = s->d[3], th = p->enlarge.kh, tw = p->enlarge.kw;
  int64_t oh = (th - kh) / 2, ow = (tw - kw) / 2;
  const float *x = in[0].data;
  float *y = out[0].data;
  for (int64_t i = 0; i < planes * th * tw; i++) y[i] = 0.0f;
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) y[(pl * th + i + oh) * tw + j + ow] = x[(pl * kh + i) * kw + j];
  return TSO_OK;
}

/* Kinds of generator constants. */
enum { CG_IKERNEL, CG_IMATRIX, CG_ONES, CG_POOL };
static const char *const cg_names[] = {"const_ikernel", "const_imatrix", "const_ones", "const_pool"};

/* Validates p->cgen for constant kind k and sets the output shape. */
static tso_status cgen_infer(int k, const tsoO_Params *p, int nin, int nout, tsoO_Value *out, char *err) {
  const char *op = cg_names[k];
  int r = p->cgen.rank;
  const int32_t *d = p->cgen.dims;
  tso_status st;
  int64_t dd[TSO_MAX_RANK];
  if ((st = tsoO_check_arity(nin, 0, nout, 1, op, err))) return st;
  if (nin != 0) return tsoO_fail(err, TSO_ERR_ARG, "%s: takes no inputs", op);
  if (r < 0 || r > TSO_MAX_RANK) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid rank %d", op, r);
  for (int i = 0; i < r; i++) {
    if (d[i] < 1) return tsoO_fail(err, TSO_ERR_SHAPE, "%s: dimension %d is %d", op, i, (int)d[i]);
    dd[i] = d[i];
  }
  int ok = 1;
  if (k == CG_IKERNEL || k == CG_POOL) ok = r == 4 && d[0] == d[1];
  if (k == CG_IKERNEL) ok = ok && (d[2] & 1) && (d[3] & 1);
  if (k == CG_IMATRIX) ok = r == 2 && d[0] == d[1];
  tsoO_set_float_out(out, r, dd);
  if (!ok) {
    char b[TSO_SHAPESTR];
    return tsoO_fail(err, TSO_ERR_SHAPE, "%s: invalid shape %s", op, SHS(out, b));
  }
  return tsoO_check_out_size(out, op, err);
}

/* Fills the constant of kind k into out[0]. */
static tso_status cgen_eval(int k, tsoO_InferFn infer, const tsoO_Params *p, int nin, const tsoO_Value *in,
                            int nout, tsoO_Value *out, char *err) {
  tso_status st;
  if ((st = tsoO_eval_begin(infer, p, nin, in, nout, out, 0, cg_names[k], err))) return st;
  const tsoO_Shape *s = &out[0].shape;
  float *y = out[0].data;
  int64_t n = tsoO_numel(s);
  for (int64_t i = 0; i < n; i++) y[i] = k == CG_ONES ? 1.0f : 0.0f;
  if (k == CG_IMATRIX) {
    for (int64_t i = 0; i < s->d[0]; i++) y[i * s->d[0] + i] = 1.0f;
  } else if (k == CG_IKERNEL || k == CG_POOL) {
    int64_t c = s->d[0], kh = s->d[2], kw = s->d[3];
    for (int64_t ch = 0; ch < c; ch++) {
      float *pl = y + (ch * c + ch) * kh * kw;
      if (k == CG_IKERNEL) pl[(kh / 2) * kw + kw / 2] = 1.0f;
      else
        for (int64_t i = 0; i < kh * kw; i++) pl[i] = 1.0f / (float)(kh * kw);
    }
  }
  return TSO_OK;
}

/* The four functions of the constant generator EN of kind K. */
#define CGEN_OP(EN, K)                                                                                  \
  tso_status tsoO_parse_##EN(tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset, \
                             char *err) {                                                              \
    (void)p; (void)a; (void)na; (void)nin; (void)nout; (void)opset;                                    \
    return no_onnx(cg_names[K], err);                                                                  \
  }                                                                                                    \
  tso_status tsoO_emit_##EN(const tsoO_Params *p, int opset, tsoO_AttrSet *out) {                      \
    (void)p; (void)opset;                                                                              \
    tsoO_emit_clear(out);                                                                              \
    return TSO_ERR_UNSUPPORTED;                                                                        \
  }                                                                                                    \
  tso_status tsoO_infer_##EN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,            \
                             tsoO_Value *out, char *err) {                                             \
    (void)in;                                                                                          \
    return cgen_infer(K, p, nin, nout, out, err);                                                      \
  }                                                                                                    \
  tso_status tsoO_eval_##EN(const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,             \
                            tsoO_Value *out, char *err) {                                              \
    return cgen_eval(K, tsoO_infer_##EN, p, nin, in, nout, out, err);                                  \
  }

/* Identity conv kernel [C, C, kh, kw] (kh, kw odd): 1 at the centre tap
** where output channel == input channel. */
CGEN_OP(CONST_IKERNEL, CG_IKERNEL)
/* Identity matrix [n, n]. */
CGEN_OP(CONST_IMATRIX, CG_IMATRIX)
/* All ones, any shape. */
CGEN_OP(CONST_ONES, CG_ONES)
/* Average-pool kernel [C, C, kh, kw]: 1/(kh*kw) where output == input
** channel; a conv with it is average pooling with SAME padding and
** count_include_pad. */
CGEN_OP(CONST_POOL, CG_POOL)
