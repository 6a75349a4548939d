/*
** layouts.h -- tensor memory layouts (internal API, prefix tsoL_).
**
** A layout says how a tensor's logical dimensions (always the ONNX order:
** NCHW for images, [..., rows, cols] for matrices) are laid out in memory.
** The graph IR computes in the default layout; the search may choose
** another one per tensor where the consuming operators support it, and the
** layout lowering writes the conversions back as standard ONNX (Transpose,
** Gemm transA/transB).
**
** Invariants:
**   - the ids are written to disk (cost database signatures): append-only,
**     never renumbered, never reused;
**   - TSO_LAYOUT_DEFAULT is 0, so zeroed structures mean "default layout";
**   - every layout is a permutation of the dimensions (no blocking, no
**     padding): tsoL_order() gives it, and a dense tensor of a given shape
**     has the same size in every layout.
*/
#ifndef TSO_LAYOUTS_H
#define TSO_LAYOUTS_H

#include <stdint.h>

typedef enum tsoL_Layout {
  TSO_LAYOUT_DEFAULT = 0,  /* row-major in the logical order (NCHW for 4-D) */
  TSO_LAYOUT_NHWC = 1,     /* 4-D only: channels innermost */
  TSO_LAYOUT_COLMAJOR = 2, /* rank >= 2: the last two dimensions swapped (a transposed matrix) */
  TSO_LAYOUT__COUNT
} tsoL_Layout;

/* Short name of a layout ("NCHW" style names are used by callers that
** know the tensor is an image). */
static inline const char *tsoL_name(int layout) {
  switch (layout) {
  case TSO_LAYOUT_DEFAULT: return "default";
  case TSO_LAYOUT_NHWC: return "nhwc";
  case TSO_LAYOUT_COLMAJOR: return "colmajor";
  default: return "?";
  }
}

/* 1 when `layout` can describe a tensor of rank `rank`. */
static inline int tsoL_valid(int layout, int rank) {
  switch (layout) {
  case TSO_LAYOUT_DEFAULT: return rank >= 0;
  case TSO_LAYOUT_NHWC: return rank == 4;
  case TSO_LAYOUT_COLMAJOR: return rank >= 2;
  default: return 0;
  }
}

/* Physical order of a tensor of rank `rank` in `layout`: order[0] is the
** logical dimension that varies slowest, order[rank-1] the fastest.
** Returns 0 on success, -1 if the layout does not fit the rank. */
static inline int tsoL_order(int layout, int rank, int *order) {
  if (!tsoL_valid(layout, rank)) return -1;
  for (int i = 0; i < rank; i++) order[i] = i;
  if (layout == TSO_LAYOUT_NHWC) {
    order[1] = 2;
    order[2] = 3;
    order[3] = 1;
  } else if (layout == TSO_LAYOUT_COLMAJOR) {
    order[rank - 2] = rank - 1;
    order[rank - 1] = rank - 2;
  }
  return 0;
}

/* Element strides of a dense tensor with logical dims d[0..rank) stored
** in `layout`. Returns 0, or -1 if the layout does not fit the rank. */
static inline int tsoL_strides(int layout, int rank, const int64_t *d, int64_t *strides) {
  int order[16];
  if (rank > 16 || tsoL_order(layout, rank, order)) return -1;
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[order[i]] = s;
    s *= d[order[i]] > 0 ? d[order[i]] : 1;
  }
  return 0;
}

/* 1 when layouts a and b store a tensor of logical dims d[0..rank) in the
** same order in memory (they differ only in where dims of size 1 go, as
** the row and the column-major forms of a [1, K] matrix): no real choice. */
static inline int tsoL_same_storage(int rank, const int64_t *d, int a, int b) {
  int oa[16], ob[16], na = 0, nb = 0, ta[16], tb[16];
  if (rank > 16 || tsoL_order(a, rank, ta) || tsoL_order(b, rank, tb)) return 0;
  for (int i = 0; i < rank; i++) {
    if (d[ta[i]] != 1) oa[na++] = ta[i];
    if (d[tb[i]] != 1) ob[nb++] = tb[i];
  }
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (oa[i] != ob[i]) return 0;
  return 1;
}

/* ---- what each operator supports (layouts.c) ---------------------------- */

/* Bit of a layout in a mask. */
#define TSO_LAYOUT_BIT(l) (1u << (l))

/* The layouts operator `op` reads its input k (io 0) or writes its output k
** (io 1) in, for a tensor of rank `rank` (`maxrank`: the largest rank
** among the operator's inputs), as a mask of TSO_LAYOUT_BIT().
** The default layout is always in it. A layout is declared only where the
** lowering to standard ONNX expresses it without extra work:
**   matmul (2-D) and gemm operands A and B: column-major (Gemm transA /
**     transB); their output: default;
**   transpose output: any (a transpose whose result is stored in the order
**     of its input moves no data; the lowering removes it);
**   conv2d activation input and output: NHWC, the same on both sides
**     (mixed layouts have no fast implementation; ONNX's Conv is defined on
**     NCHW tensors: the lowering keeps the standard NCHW Conv and the
**     runtime chooses its own internal layout; the choice matters to the
**     cost model and to executors that honour it);
**   element-wise unary operators: any layout, the same on both sides.
** Every other operand: default only. A tensor stored in a layout one of
** its readers or its writer does not support costs a conversion there. */
unsigned tsoL_supported(int op, int io, int k, int rank, int maxrank);

/* 1 when a transpose with permutation perm[0..rank) of a tensor stored in
** layout `from` gives a tensor stored in layout `to` without moving data
** (the physical orders coincide). */
int tsoL_transpose_is_view(const int *perm, int rank, int from, int to);

#endif /* TSO_LAYOUTS_H */
