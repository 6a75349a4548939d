/*
** cuda_impl.h -- internals shared by the CUDA files (C++/CUDA only; prefix
** cu* for file-internal types, tsoC_cu* for what crosses files).
**
** The pieces:
**   cuda.cu       the context (device, stream, cuDNN/cuBLAS/cuBLASLt
**                 handles, shared workspace), the operator object CuOp
**                 (every implementation of one operator instance, and the
**                 timed choice among them), the backend "cuda", the probe;
**   cuda_kern.cu  the project's own kernels as plans of steps (KPlan); each
**                 step's per-element code is __host__ __device__, so the
**                 host emulation runs the very code the GPU runs;
**   cuda_lib.cu   the library implementations: cuDNN convolutions (the
**                 algorithm searched), pooling, activations, batch norm and
**                 softmax; cuBLAS and cuBLASLt matrix products; and their
**                 host emulation (convolutions and products only);
**   cuda_exec.cu  the executor of whole graphs.
**
** Invariants:
**   - a CuOp is a pure function of its key and of the context's math: its
**     implementation list (Variant) is built without running anything, so
**     a name from tsoC_cuda_impls means the same thing in every process;
**   - the choice among implementations is made by timing them once per
**     signature and context (TsoCuChoice cache); the backend's
**     measurements and the executor use the same choice;
**   - operands are dense in the key's layouts; kernels index them through
**     explicit element strides (layouts/layouts.h), never through a
**     layout switch;
**   - nothing aborts: every CUDA, cuDNN and cuBLAS status is checked and
**     turned into a tso_status and a message.
*/
#ifndef TSO_COST_CUDA_IMPL_H
#define TSO_COST_CUDA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime.h>
#include <cudnn.h>
#include <cublas_v2.h>
#include <cublasLt.h>

extern "C" {
#include "cost/cost.h"
}
#include "cost/cuda.h"

#define KR TSO_MAX_RANK               /* dims of a kernel's index space */
#define CU_STEPS_MAX (TSOC_MAX_IN + 2) /* kernel launches of one plan */
#define CU_NREF 6                     /* operands of one step */
#define CU_CONV_WS_MAX ((size_t)256 << 20) /* workspace of one convolution algorithm, at most */
#define CU_LT_WS_MAX ((size_t)32 << 20)    /* workspace offered to cuBLASLt */
#define CU_LT_ALGOS 4                 /* cuBLASLt heuristic candidates kept */

/* ---- own kernels (cuda_kern.cu) ------------------------------------------------ */

/* What an operand of a step refers to: an input or output of the operator,
** or its scratch buffer; off is in elements of the step's element type. */
enum { R_NONE = 0, R_IN = 1, R_OUT = 2, R_SCR = 3 };
typedef struct KRef {
  int kind;            /* R_* */
  int idx;             /* input or output index */
  int64_t off;         /* element offset */
} KRef;

/* A strided n-d index space over up to three operands. */
typedef struct KGeo {
  int rank;            /* dims used (coalesced: adjacent dims merged where every operand allows) */
  int64_t n;           /* elements */
  int64_t dim[KR];     /* extents */
  int64_t st[3][KR];   /* element strides of operands 0 (written), 1 and 2 (read); 0 broadcasts */
  int64_t aux;         /* K_BN: channels (the add vector follows the mul vector) */
} KGeo;

/* Pad (and enlarge): out index -> in index per dim. */
typedef struct KPad {
  int rank;
  int mode;            /* TSO_PADMODE_* */
  float value;         /* constant mode */
  int64_t n;           /* output elements */
  int64_t odim[KR], idim[KR], beg[KR]; /* output and input extents, pads before (may be < 0) */
  int64_t ost[KR], ist[KR];            /* element strides */
} KPad;

/* Gather: out [outer, nidx, inner] from data [outer, d, inner]. */
typedef struct KGather {
  int64_t n, inner, nidx, d;
  int idx64;           /* indices are int64 (else int32) */
} KGather;

/* 2-D pooling over [N, C, H, W] in any layout (strides). */
typedef struct KPool {
  int64_t n, c, ih, iw, oh, ow;
  int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  int is_max, incl;    /* max pooling; average counts the pads */
  int64_t xs[4], ys[4];/* strides of x and y over n, c, h, w */
} KPool;

/* Mean over the reduced dims; the output is dense, in the order of the
** kept dims. */
typedef struct KRed {
  int64_t nout, cnt;   /* output elements, elements averaged per output */
  int ro, rr;          /* kept and reduced dims */
  int64_t odim[KR], ost[KR]; /* kept extents and their x strides */
  int64_t rdim[KR], rst[KR]; /* reduced extents and their x strides */
} KRed;

/* Row operators: softmax over `len` elements `inner` apart (rows = outer *
** inner), layer normalization over `len` contiguous elements. */
typedef struct KRow {
  int64_t rows, len, inner;
  float eps;
  int trank;           /* layernorm: the normalized dims ... */
  int64_t tdim[KR];    /* ... their extents */
  int64_t sst[KR], bst[KR]; /* ... the strides of scale and bias over them (0: broadcast) */
  int contig;          /* scale (and bias) are dense over the normalized dims */
  int has_bias;
} KRow;

/* Kinds of steps and element-wise functions. */
enum { KS_EW, KS_COPY, KS_PAD, KS_GATHER, KS_POOL, KS_REDUCE, KS_SOFTMAX, KS_LNORM, KS_BNPREP };
enum { K_RELU, K_SIGMOID, K_TANH, K_ERF, K_SQRT, K_ADD, K_SUB, K_MUL, K_DIV, K_POW, K_BN };

/* One kernel launch. Operands r[]: KS_EW y, a, b; KS_COPY y, a; KS_PAD y,
** x; KS_GATHER y, data, indices; KS_POOL y, x; KS_REDUCE y, x; KS_SOFTMAX
** y, x; KS_LNORM y, x, scale, bias, mean, invstd; KS_BNPREP params
** (2C floats), scale, bias, mean, var. */
typedef struct KStep {
  int kind;            /* KS_* */
  int op;              /* KS_EW: K_* */
  int esize;           /* KS_COPY, KS_GATHER: element bytes (1, 2, 4, 8); else 4 */
  KRef r[CU_NREF];
  union {
    KGeo g;            /* KS_EW, KS_COPY */
    KPad pad;
    KGather gat;
    KPool pool;
    KRed red;
    KRow row;          /* KS_SOFTMAX, KS_LNORM; KS_BNPREP uses rows (channels) and eps */
  } u;
} KStep;

typedef struct KPlan {
  int n;               /* steps */
  KStep s[CU_STEPS_MAX];
  size_t scratch;      /* bytes of scratch the steps use */
} KPlan;

/* The own-kernel implementation of k; TSO_ERR_UNSUPPORTED with a reason
** when there is none. */
tso_status tsoC_cuk_plan(const tsoC_Key *k, KPlan *p, char *err);
/* A copy of src (shape/strides as given) into dst with broadcasting:
** dims[0..r), element strides of the destination and the source (0 on
** broadcast dims). Appends one step to p. */
void tsoC_cuk_copy_step(KPlan *p, int esize, KRef dst, KRef src, int r, const int64_t *dims, const int64_t *dst_st,
                        const int64_t *src_st);
/* A constant-mode pad of x (rank r, dims idim, strides ist) into y (odim,
** ost) with pads before beg[]. Appends one step to p. */
void tsoC_cuk_pad_step(KPlan *p, KRef y, KRef x, int r, const int64_t *idim, const int64_t *ist, const int64_t *odim,
                       const int64_t *ost, const int64_t *beg);
/* Launches step s on stream st with operand pointers ptr[CU_NREF]. */
cudaError_t tsoC_cuk_launch(const KStep *s, void *const *ptr, cudaStream_t st);
/* Runs step s on the host (the same per-element code). */
void tsoC_cuk_emulate(const KStep *s, void *const *ptr);
/* Fills n elements of type dtype at device pointer p with deterministic
** pseudo-random values from seed: floats uniform in [-1, 1) (positive: in
** [0.5, 1.5)), integers uniform in [0, range) (range 0: zeros). */
cudaError_t tsoC_cuk_fill(void *p, int64_t n, int dtype, int positive, int64_t range, uint64_t seed, cudaStream_t st);

/* ---- library implementations (cuda_lib.cu) -------------------------------------- */

/* A convolution as cuDNN sees it. */
typedef struct ConvGeo {
  int n, c, h, w;      /* input as cuDNN gets it (after pre-padding) */
  int k, r, s;         /* output channels, kernel size */
  int oh, ow;
  int g;               /* groups */
  int sh, sw, dh, dw;  /* stride, dilation */
  int ph, pw;          /* symmetric pads passed to cuDNN */
  int pre;             /* 1: asymmetric pads: the input is padded into scratch first */
  int nhwc_x, nhwc_y;  /* activation layouts */
  int bias, relu;
} ConvGeo;

/* A matrix product as one strided-batched column-major BLAS call:
** C[b](m x n, ldc) = alpha op(A[b]) op(B[b]) + beta C[b]. */
typedef struct GemmGeo {
  int ta, tb;          /* cublasOperation_t of the first and second operand */
  int64_t m, n, k;
  int64_t lda, ldb, ldc;
  int64_t sa, sb, sc;  /* batch strides, elements (0: the same matrix for every batch) */
  int64_t batch;
  int a_in, b_in;      /* key inputs that are the first and second operand */
  float alpha, beta;   /* beta != 0 only with prefill */
  int prefill;         /* 1: C (Gemm's third input) is copied into the output first */
  int bias_ok;         /* 1: C is a vector along m with beta 1: a cuBLASLt bias epilogue can add it */
} GemmGeo;

/* Implementation kinds. */
enum { V_KERNEL, V_CONV, V_ACT, V_POOL, V_BN, V_SOFTMAX, V_CUBLAS, V_LT };

typedef struct Variant {
  int kind;            /* V_* */
  int algo;            /* V_CONV: cudnnConvolutionFwdAlgo_t; V_LT: heuristic index */
  int fused;           /* V_CONV: bias and relu by cudnnConvolutionBiasActivationForward; V_LT: bias epilogue */
  size_t ws;           /* workspace bytes */
  char name[TSOC_IMPL_MAX];
} Variant;

typedef struct CuCtx CuCtx;

/* One operator instance with all its implementations. */
typedef struct CuOp {
  tsoC_Key k;
  int emu;             /* built for the host emulation */
  int nvar, chosen;    /* implementations; the one in use (-1: not chosen yet) */
  Variant var[TSOC_IMPLS_MAX];
  int has_kernel;      /* kp is valid */
  KPlan kp;            /* the own-kernel implementation */
  KPlan pre;           /* steps a library call needs first (conv pre-padding, Gemm's C) */
  ConvGeo cg;
  GemmGeo gg;
  int lib;             /* which library state below is set up (V_* or -1) */
  cudnnTensorDescriptor_t xd, yd, bd;
  cudnnFilterDescriptor_t wd;
  cudnnConvolutionDescriptor_t cd;
  cudnnActivationDescriptor_t ad, adid;
  cudnnPoolingDescriptor_t pd;
  cublasLtMatmulDesc_t lop, lopb;
  cublasLtMatrixLayout_t la, lb, lc;
  cublasLtMatmulAlgo_t lalgo[CU_LT_ALGOS], lalgob[CU_LT_ALGOS];
  void *scratch;       /* device (host when emulated) */
  size_t scratch_bytes;
  size_t lib_scratch;  /* bytes of scratch after the kernel plan's: conv's zero bias, pre-padded input */
} CuOp;

/* Fills op's library implementations (descriptors and Variants); op->k,
** op->emu and the kernel plan are set. UNSUPPORTED when the libraries
** have nothing for k (not an error: the kernel may be enough). */
tso_status tsoC_cul_build(CuCtx *c, CuOp *op, char *err);
/* Releases the library state of op. */
void tsoC_cul_release(CuOp *op);
/* Runs library implementation v of op (ptr: in[], out[] resolved). */
tso_status tsoC_cul_run(CuCtx *c, CuOp *op, const Variant *v, const void *const *in, void *const *out, char *err);
/* Conv only: the cuDNN search (FindEx) on the given buffers; marks in
** keep[] (per variant) the variants of the fastest algorithms it found. */
tso_status tsoC_cul_conv_search(CuCtx *c, CuOp *op, const void *const *in, void *const *out, int *keep, char *err);
/* Scratch bytes of the library implementations (after the kernel plan's). */
size_t tsoC_cul_scratch(const CuOp *op);

/* ---- the context and operators (cuda.cu) ----------------------------------------- */

struct CuCtx {
  int emu;             /* 1: host emulation, no GPU */
  int device;
  int math;            /* TSOC_MATH_* */
  cudaStream_t s;
  cudnnHandle_t dnn;
  cublasHandle_t blas;
  cublasLtHandle_t lt;
  cudaEvent_t e0, e1;
  void *ws;            /* shared workspace */
  size_t ws_cap;
  struct CuChoice *choice; /* signature hash -> chosen implementation name */
  size_t nchoice, capchoice;
};

/* Makes sure the shared workspace holds n bytes. */
tso_status tsoC_cu_ws(CuCtx *c, size_t n, char *err);
/* Builds op for key k (copied). */
tso_status tsoC_cuop_create(CuCtx *c, const tsoC_Key *k, CuOp **out, char *err);
void tsoC_cuop_free(CuOp *op);
/* Enqueues implementation v of op on the context's stream (host pointers
** and synchronous when emulated). */
tso_status tsoC_cuop_run(CuCtx *c, CuOp *op, int v, const void *const *in, void *const *out, char *err);
/* Chooses op's implementation (the context's remembered choice for this
** signature, else the fastest on these buffers, which it may overwrite). */
tso_status tsoC_cuop_choose(CuCtx *c, CuOp *op, const void *const *in, void *const *out, char *err);
/* The context of a backend made by tsoC_cuda_create; NULL (and
** TSO_ERR_ARG in err) for any other backend. */
CuCtx *tsoC_cu_ctx(struct tsoC_Backend *be, char *err);
/* A context of the host emulation (no GPU), and freeing one (either kind;
** NULL is fine). */
CuCtx *tsoC_cu_ctx_emu(void);
void tsoC_cu_ctx_free(CuCtx *c);
/* A failed CUDA runtime call as a status and message. */
tso_status tsoC_cu_fail(char *err, cudaError_t e, const char *what);

/* Bytes and elements of a key tensor. */
static inline int64_t cu_numel(const tsoC_Tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->shape.rank; i++) n *= t->shape.d[i];
  return n;
}
static inline size_t cu_bytes(const tsoC_Tensor *t) {
  return (t->flags & TSOC_T_ABSENT) ? 0 : (size_t)cu_numel(t) * tsoO_dtype_size(t->dtype);
}

#endif /* TSO_COST_CUDA_IMPL_H */
