/*
** layouts.c -- the layouts each operator supports (see layouts.h for the
** contract). One switch over the operator table: an operator not named
** here reads and writes the default layout only.
*/
#include "layouts/layouts.h"

#include "ops/ops.h"

unsigned tsoL_supported(int op, int io, int k, int rank, int maxrank) {
  const unsigned def = TSO_LAYOUT_BIT(TSO_LAYOUT_DEFAULT);
  unsigned all = 0;
  for (int l = 0; l < TSO_LAYOUT__COUNT; l++)
    if (tsoL_valid(l, rank)) all |= TSO_LAYOUT_BIT(l);
  switch (op) {
  case TSO_OP_MATMUL:
    /* ONNX MatMul has no transpose flags: only a 2-D one becomes a Gemm */
    return io == 0 && k < 2 && rank == 2 && maxrank == 2 ? def | TSO_LAYOUT_BIT(TSO_LAYOUT_COLMAJOR) : def;
  case TSO_OP_GEMM:
    return io == 0 && k < 2 && rank == 2 ? def | TSO_LAYOUT_BIT(TSO_LAYOUT_COLMAJOR) : def;
  case TSO_OP_TRANSPOSE:
    return io == 1 ? all : def;
  case TSO_OP_CONV2D:
    return k == 0 && rank == 4 ? def | TSO_LAYOUT_BIT(TSO_LAYOUT_NHWC) : def;
  default: {
    const tsoO_Info *oi = tsoO_info(op);
    if (oi && (oi->flags & TSO_OPF_UNARY) && (oi->flags & TSO_OPF_ELEMWISE)) return all;
    return def;
  }
  }
}

int tsoL_transpose_is_view(const int *perm, int rank, int from, int to) {
  int of[16], ot[16];
  if (rank < 0 || rank > 16 || tsoL_order(from, rank, of) || tsoL_order(to, rank, ot)) return 0;
  /* output dim j is input dim perm[j]; the output's physical order, read in
  ** input dims, must be the input's physical order */
  for (int i = 0; i < rank; i++)
    if (perm[ot[i]] != of[i]) return 0;
  return 1;
}
