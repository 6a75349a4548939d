/*
** params.c -- the per-operator encoding description: which parameter
** words of an operator the Z3 encoding passes as integer arguments (the
** others become part of the function symbol's name), the names axiom texts
** use for them, their defaults and validation domains; and the canonical
** form of rule parameters.
**
** The invariant kept here: the map from an operator's canonical
** parameters to (symbol name, integer arguments) is injective, because
** every parameter word is either an integer argument or printed into the
** name. So two rule ops share a Z3 term exactly when their canonical
** parameters are equal, and "rules compare params exactly" holds in Z3.
*/
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verify/internal.h"

#define W(member) ((int8_t)(offsetof(tsoO_Params, member) / sizeof(int32_t)))

static const char *const pad_names[] = {"explicit", "same", "same_lower", "valid", NULL};
static const char *const act_names[] = {"none", "relu", NULL};

/* Window parameters shared by conv2d and the pools. */
#define P_STRIDE {"sh", W(win.sh), 0, 1, TSO_VD_STRIDE, 1, NULL}, {"sw", W(win.sw), 0, 1, TSO_VD_STRIDE, 1, NULL}
#define P_PAD {"pad", W(win.pad_mode), 0, 1, TSO_VD_PAD, TSO_PAD_SAME_UPPER, pad_names}
#define P_PADS                                                                                             \
  {"pt", W(win.pt), 0, 0, TSO_VD_DIM, 0, NULL}, {"pl", W(win.pl), 0, 0, TSO_VD_DIM, 0, NULL},              \
      {"pb", W(win.pb), 0, 0, TSO_VD_DIM, 0, NULL}, {"pr", W(win.pr), 0, 0, TSO_VD_DIM, 0, NULL}
#define P_DIL {"dh", W(win.dh), 0, 0, TSO_VD_STRIDE, 1, NULL}, {"dw", W(win.dw), 0, 0, TSO_VD_STRIDE, 1, NULL}
#define P_END {NULL, 0, 0, 0, 0, 0, NULL}

/* conv2d: kernel_shape is not named (the canonical form drops it). */
static const tsoV_Param conv_params[] = {
    P_STRIDE, P_PAD, {"act", W(win.act), 0, 1, TSO_VD_ACT, TSO_ACT_NONE, act_names}, P_PADS, P_DIL,
    {"group", W(win.group), 0, 0, TSO_VD_STRIDE, 1, NULL}, P_END};
static const tsoV_Param maxpool_params[] = {
    {"kh", W(win.kh), 0, 1, TSO_VD_KSIZE, 0, NULL}, {"kw", W(win.kw), 0, 1, TSO_VD_KSIZE, 0, NULL},
    P_STRIDE, P_PAD, P_PADS, P_DIL,
    {"ceil", W(win.ceil_mode), 0, 0, TSO_VD_BOOL, 0, NULL}, P_END};
static const tsoV_Param avgpool_params[] = {
    {"kh", W(win.kh), 0, 1, TSO_VD_KSIZE, 0, NULL}, {"kw", W(win.kw), 0, 1, TSO_VD_KSIZE, 0, NULL},
    P_STRIDE, P_PAD, {"cip", W(win.count_include_pad), 0, 1, TSO_VD_BOOL, 0, NULL}, P_PADS, P_DIL,
    {"ceil", W(win.ceil_mode), 0, 0, TSO_VD_BOOL, 0, NULL}, P_END};
static const tsoV_Param concat_params[] = {{"axis", W(axis.axis), 0, 1, TSO_VD_AXIS, 0, NULL}, P_END};
/* split: equal parts only (nsizes 0); parts is sizes[0], the number of outputs. */
static const tsoV_Param split_params[] = {{"axis", W(split.axis), 0, 1, TSO_VD_AXIS, 0, NULL},
                                          {"parts", W(split.sizes), 0, 1, TSO_VD_PARTS, 2, NULL}, P_END};
static const tsoV_Param transpose_params[] = {{"perm", W(transpose.n), 1, 0, TSO_VD_AXIS, 0, NULL}, P_END};
static const tsoV_Param enlarge_params[] = {{"kh", W(enlarge.kh), 0, 1, TSO_VD_KSIZE, 3, NULL},
                                            {"kw", W(enlarge.kw), 0, 1, TSO_VD_KSIZE, 3, NULL}, P_END};
/* The constants: rank and the first four dims (rules of rank > 4 name the
** others in the symbol). */
static const tsoV_Param cgen_params[] = {
    {"rank", W(cgen.rank), 0, 1, TSO_VD_RANK, 0, NULL},   {"d0", W(cgen.dims[0]), 0, 1, TSO_VD_DIM, 0, NULL},
    {"d1", W(cgen.dims[1]), 0, 1, TSO_VD_DIM, 0, NULL},   {"d2", W(cgen.dims[2]), 0, 1, TSO_VD_DIM, 0, NULL},
    {"d3", W(cgen.dims[3]), 0, 1, TSO_VD_DIM, 0, NULL},   P_END};
static const tsoV_Param no_params[] = {P_END};

const tsoV_Param *tsoV_params_of(int op) {
  switch (op) {
  case TSO_OP_CONV2D: return conv_params;
  case TSO_OP_MAXPOOL: return maxpool_params;
  case TSO_OP_AVGPOOL: return avgpool_params;
  case TSO_OP_CONCAT: return concat_params;
  case TSO_OP_SPLIT: return split_params;
  case TSO_OP_TRANSPOSE: return transpose_params;
  case TSO_OP_ENLARGE: return enlarge_params;
  case TSO_OP_CONST_IKERNEL: case TSO_OP_CONST_IMATRIX: case TSO_OP_CONST_ONES: case TSO_OP_CONST_POOL:
    return cgen_params;
  default: return no_params;
  }
}

void tsoV_params_default(int op, tsoO_Params *p) {
  for (const tsoV_Param *d = tsoV_params_of(op); d->name; d++)
    if (!d->list) p->raw[d->word] = d->def;
}

int tsoV_encoded_words(int op, int *words) {
  int n = 0;
  for (const tsoV_Param *d = tsoV_params_of(op); d->name; d++)
    if (d->enc && !d->list) words[n++] = d->word;
  return n;
}

tso_status tsoV_canon_params(int op, int nin, int nout, int in_rank, tsoO_Params *p) {
  (void)nin;
  switch (op) {
  case TSO_OP_CONV2D:
    /* kernel_shape only repeats the kernel's dims where the op is well-formed */
    p->win.kh = p->win.kw = 0;
    return TSO_OK;
  case TSO_OP_TRANSPOSE:
    if (p->transpose.n == 0) {
      if (in_rank < 0 || in_rank > TSO_MAX_RANK) return TSO_ERR_INVALID;
      p->transpose.n = in_rank;
      for (int i = 0; i < in_rank; i++) p->transpose.perm[i] = in_rank - 1 - i;
    }
    return TSO_OK;
  case TSO_OP_CONCAT:
    if (p->axis.axis < 0) {
      if (in_rank < 0) return TSO_ERR_INVALID;
      p->axis.axis += in_rank;
    }
    return TSO_OK;
  case TSO_OP_SPLIT:
    if (p->split.axis < 0) {
      if (in_rank < 0) return TSO_ERR_INVALID;
      p->split.axis += in_rank;
    }
    if (p->split.nsizes == 0 && p->split.sizes[0] == 0) p->split.sizes[0] = nout;
    return TSO_OK;
  case TSO_OP_CONST_IKERNEL: case TSO_OP_CONST_IMATRIX: case TSO_OP_CONST_ONES: case TSO_OP_CONST_POOL:
    for (int i = p->cgen.rank < 0 ? 0 : p->cgen.rank; i < TSO_MAX_RANK; i++) p->cgen.dims[i] = 0;
    return TSO_OK;
  default:
    return TSO_OK;
  }
}

double tsoV_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int tsoV_ncores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}
