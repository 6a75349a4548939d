/*
** config.c -- the generator's configuration: its input tensors, its
** operator instances and the shape rule of each instance.
**
** The invariant kept here: tsoG_infer() accepts an application only if the
** float reference kernel of the same operator with the instance's
** parameters (tsoO_info(op)->infer) accepts it too and gives the same
** shapes, and only within the generator's restrictions (kinds must match:
** a conv reads an activation and a kernel; no tensor above
** TSO_G_MAX_NUMEL elements). The rationale of every choice is in
** docs/generator.md.
*/
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "gen.h"

tsoG_Meta tsoG_meta(int kind, int rank, const int32_t *d) {
  tsoG_Meta m;
  memset(&m, 0, sizeof m);
  m.kind = (uint8_t)kind;
  m.rank = (uint8_t)rank;
  m.numel = 1;
  for (int i = 0; i < rank; i++) {
    m.d[i] = d[i];
    m.numel *= d[i];
  }
  return m;
}

void tsoG_config_empty(tsoG_Config *c, const char *name, int max_ops, uint64_t seed) {
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  c->max_ops = max_ops;
  c->seed = seed;
  c->trials = 3;
  c->range = 999;
  c->pseudo = 1;
}

int tsoG_config_input(tsoG_Config *c, const char *name, int kind, int rank, const int32_t *d) {
  if (c->ninputs >= TSO_G_MAX_INPUTS || rank < 0 || rank > 4) return -1;
  tsoG_Input *in = &c->in[c->ninputs];
  memset(in, 0, sizeof *in);
  snprintf(in->name, sizeof in->name, "%s", name);
  in->m = tsoG_meta(kind, rank, d);
  if (in->m.numel > TSO_G_MAX_NUMEL) return -1;
  return c->ninputs++;
}

/* Window parameters of the generator's convs and pools: stride 1,
** dilation 1, SAME_UPPER padding, group 1 for convs (0 for pools, as
** ops_nn.c wants); k 0 means "from the kernel". */
static void win_params(tsoO_Params *p, int k) {
  p->win.kh = p->win.kw = k;
  p->win.sh = p->win.sw = 1;
  p->win.dh = p->win.dw = 1;
  p->win.group = k == 0;
  p->win.pad_mode = TSO_PAD_SAME_UPPER;
}

int tsoG_config_inst(tsoG_Config *c, int fam, int arg, const tsoG_Meta *cm) {
  if (c->ninst >= TSO_G_MAX_INST || fam < 0 || fam >= TSO_G_NFAM) return -1;
  tsoG_Inst *k = &c->inst[c->ninst];
  memset(k, 0, sizeof *k);
  k->fam = (uint8_t)fam;
  k->nin = 1;
  k->nout = 1;
  const char *nm = "?";
  switch (fam) {
  case TSO_G_CONV: { /* arg: kh * 10 + kw, + 100 for a fused relu */
    int kh = arg % 100 / 10, kw = arg % 10;
    if ((kh != 1 && kh != 3) || (kw != 1 && kw != 3) || arg / 100 > 1) return -1;
    k->op = TSO_OP_CONV2D, k->nin = 2, k->relu = arg >= 100;
    win_params(&k->p, 0);
    k->p.win.kh = kh, k->p.win.kw = kw;
    if (k->relu) k->p.win.act = TSO_ACT_RELU;
    snprintf(k->name, sizeof k->name, "conv%dx%d%s", kh, kw, k->relu ? "_relu" : "");
    return c->ninst++;
  }
  case TSO_G_MATMUL: k->op = TSO_OP_MATMUL, k->nin = 2, nm = "matmul"; break;
  case TSO_G_ADD: k->op = TSO_OP_ADD, k->nin = 2, nm = "ewadd"; break;
  case TSO_G_MUL: k->op = TSO_OP_MUL, k->nin = 2, nm = "ewmul"; break;
  case TSO_G_SMUL: k->op = TSO_OP_SCALAR_MUL, k->nin = 2, nm = "smul"; break;
  case TSO_G_RELU: k->op = TSO_OP_RELU, nm = "relu"; break;
  case TSO_G_TRANSPOSE:
    k->op = TSO_OP_TRANSPOSE, nm = "transpose";
    k->p.transpose.n = 2, k->p.transpose.perm[0] = 1, k->p.transpose.perm[1] = 0;
    break;
  case TSO_G_CONCAT:
    if (arg < 0 || arg > 3) return -1;
    k->op = TSO_OP_CONCAT, k->nin = 2, k->axis = (int8_t)arg, nm = "concat";
    k->p.axis.axis = arg;
    break;
  case TSO_G_SPLIT:
    if (arg < 0 || arg > 3) return -1;
    k->op = TSO_OP_SPLIT, k->nout = 2, k->axis = (int8_t)arg, nm = "split";
    k->p.split.axis = arg, k->p.split.nsizes = 0, k->p.split.sizes[0] = 2;
    break;
  case TSO_G_MAXPOOL: k->op = TSO_OP_MAXPOOL, nm = "maxpool"; win_params(&k->p, 3); break;
  case TSO_G_AVGPOOL:
    k->op = TSO_OP_AVGPOOL, nm = "avgpool";
    win_params(&k->p, 3);
    k->p.win.count_include_pad = 1;
    break;
  case TSO_G_ENLARGE: k->op = TSO_OP_ENLARGE, nm = "enlarge"; k->p.enlarge.kh = k->p.enlarge.kw = 3; break;
  case TSO_G_CONST: {
    if (!cm || (arg != TSO_OP_CONST_IKERNEL && arg != TSO_OP_CONST_IMATRIX && arg != TSO_OP_CONST_ONES &&
                arg != TSO_OP_CONST_POOL))
      return -1;
    k->op = (uint16_t)arg, k->nin = 0, k->cm = *cm;
    nm = tsoO_info(arg)->name;
    k->p.cgen.rank = cm->rank;
    for (int i = 0; i < cm->rank; i++) k->p.cgen.dims[i] = cm->d[i];
    /* the shapes the float kernels accept */
    tsoO_Value out[1];
    char err[TSO_ERRMAX];
    memset(out, 0, sizeof out);
    if (tsoO_info(arg)->infer(&k->p, 0, NULL, 1, out, err) != TSO_OK) return -1;
    if (cm->numel > TSO_G_MAX_NUMEL) return -1;
    break;
  }
  default: return -1;
  }
  if (fam == TSO_G_CONCAT || fam == TSO_G_SPLIT) snprintf(k->name, sizeof k->name, "%s%d", nm, arg);
  else snprintf(k->name, sizeof k->name, "%s", nm);
  return c->ninst++;
}

void tsoG_config_default(tsoG_Config *c, int max_ops, uint64_t seed) {
  static const int32_t m44[] = {4, 4}, act[] = {2, 4, 4, 4};
  static const int32_t k33[] = {4, 4, 3, 3}, k11[] = {4, 4, 1, 1}, k13[] = {4, 4, 1, 3}, k31[] = {4, 4, 3, 1};
  tsoG_config_empty(c, "default", max_ops, seed);
  tsoG_config_input(c, "A", TSO_IN_MATRIX, 2, m44);
  tsoG_config_input(c, "B", TSO_IN_MATRIX, 2, m44);
  tsoG_config_input(c, "C", TSO_IN_MATRIX, 2, m44);
  tsoG_config_input(c, "X", TSO_IN_ACT4, 4, act);
  tsoG_config_input(c, "Y", TSO_IN_ACT4, 4, act);
  tsoG_config_input(c, "K", TSO_IN_KERNEL, 4, k33);
  tsoG_config_input(c, "L", TSO_IN_KERNEL, 4, k33);
  tsoG_config_input(c, "P", TSO_IN_KERNEL, 4, k11);
  tsoG_config_input(c, "Q", TSO_IN_KERNEL, 4, k13);
  tsoG_config_input(c, "R", TSO_IN_KERNEL, 4, k31);
  tsoG_config_input(c, "s", TSO_IN_SCALAR, 0, NULL);
  static const int ksz[4] = {11, 33, 13, 31};
  for (int relu = 0; relu < 2; relu++)
    for (int i = 0; i < 4; i++) tsoG_config_inst(c, TSO_G_CONV, ksz[i] + 100 * relu, NULL);
  tsoG_config_inst(c, TSO_G_MATMUL, 0, NULL);
  tsoG_config_inst(c, TSO_G_ADD, 0, NULL);
  tsoG_config_inst(c, TSO_G_MUL, 0, NULL);
  tsoG_config_inst(c, TSO_G_SMUL, 0, NULL);
  tsoG_config_inst(c, TSO_G_RELU, 0, NULL);
  tsoG_config_inst(c, TSO_G_TRANSPOSE, 0, NULL);
  tsoG_config_inst(c, TSO_G_CONCAT, 0, NULL);
  tsoG_config_inst(c, TSO_G_CONCAT, 1, NULL);
  tsoG_config_inst(c, TSO_G_SPLIT, 0, NULL);
  tsoG_config_inst(c, TSO_G_SPLIT, 1, NULL);
  tsoG_config_inst(c, TSO_G_MAXPOOL, 0, NULL);
  tsoG_config_inst(c, TSO_G_AVGPOOL, 0, NULL);
  tsoG_config_inst(c, TSO_G_ENLARGE, 0, NULL);
  tsoG_Meta ik = tsoG_meta(TSO_IN_KERNEL, 4, k33), im = tsoG_meta(TSO_IN_MATRIX, 2, m44);
  tsoG_config_inst(c, TSO_G_CONST, TSO_OP_CONST_IKERNEL, &ik);
  tsoG_config_inst(c, TSO_G_CONST, TSO_OP_CONST_IMATRIX, &im);
  tsoG_config_inst(c, TSO_G_CONST, TSO_OP_CONST_ONES, &im);
  tsoG_config_inst(c, TSO_G_CONST, TSO_OP_CONST_POOL, &ik);
}

/* 1 if a and b have the same kind and shape. */
static int same(const tsoG_Meta *a, const tsoG_Meta *b) {
  if (a->kind != b->kind || a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i]) return 0;
  return 1;
}

/* The conv kernel sizes the generator uses. */
static int conv_size_ok(int32_t kh, int32_t kw) {
  return (kh == 1 || kh == 3) && (kw == 1 || kw == 3);
}

int tsoG_infer(const tsoG_Config *c, int k, const tsoG_Meta *in, tsoG_Meta *out) {
  const tsoG_Inst *ki = &c->inst[k];
  const tsoG_Meta *a = &in[0], *b = &in[1];
  int32_t d[4];
  switch (ki->fam) {
  case TSO_G_CONV:
    if (a->kind != TSO_IN_ACT4 || b->kind != TSO_IN_KERNEL || a->d[1] != b->d[1] || b->d[2] != ki->p.win.kh ||
        b->d[3] != ki->p.win.kw)
      return 0;
    d[0] = a->d[0], d[1] = b->d[0], d[2] = a->d[2], d[3] = a->d[3];
    out[0] = tsoG_meta(TSO_IN_ACT4, 4, d);
    break;
  case TSO_G_MATMUL:
    if (a->kind != TSO_IN_MATRIX || b->kind != TSO_IN_MATRIX || a->d[1] != b->d[0]) return 0;
    d[0] = a->d[0], d[1] = b->d[1];
    out[0] = tsoG_meta(TSO_IN_MATRIX, 2, d);
    break;
  case TSO_G_ADD:
  case TSO_G_MUL:
    if (!same(a, b)) return 0;
    out[0] = *a;
    break;
  case TSO_G_SMUL:
    if (a->kind == TSO_IN_SCALAR || b->kind != TSO_IN_SCALAR) return 0;
    out[0] = *a;
    break;
  case TSO_G_RELU: out[0] = *a; break;
  case TSO_G_TRANSPOSE:
    if (a->kind != TSO_IN_MATRIX) return 0;
    d[0] = a->d[1], d[1] = a->d[0];
    out[0] = tsoG_meta(TSO_IN_MATRIX, 2, d);
    break;
  case TSO_G_CONCAT:
    if (a->kind != b->kind || a->rank != b->rank || a->rank <= ki->axis) return 0;
    for (int i = 0; i < a->rank; i++) {
      if (i != ki->axis && a->d[i] != b->d[i]) return 0;
      d[i] = i == ki->axis ? a->d[i] + b->d[i] : a->d[i];
    }
    out[0] = tsoG_meta(a->kind, a->rank, d);
    break;
  case TSO_G_SPLIT:
    if (a->rank <= ki->axis || a->d[ki->axis] % 2) return 0;
    for (int i = 0; i < a->rank; i++) d[i] = i == ki->axis ? a->d[i] / 2 : a->d[i];
    out[0] = out[1] = tsoG_meta(a->kind, a->rank, d);
    break;
  case TSO_G_MAXPOOL:
  case TSO_G_AVGPOOL:
    if (a->kind != TSO_IN_ACT4) return 0;
    out[0] = *a;
    break;
  case TSO_G_ENLARGE:
    if (a->kind != TSO_IN_KERNEL || !conv_size_ok(a->d[2], a->d[3]) || (a->d[2] == 3 && a->d[3] == 3)) return 0;
    d[0] = a->d[0], d[1] = a->d[1], d[2] = d[3] = 3;
    out[0] = tsoG_meta(TSO_IN_KERNEL, 4, d);
    break;
  case TSO_G_CONST: out[0] = ki->cm; break;
  default: return 0;
  }
  if (out[0].numel > TSO_G_MAX_NUMEL) return 0;
  return ki->nout;
}

int tsoG_inst_find(const tsoG_Config *c, int op, const tsoO_Params *p) {
  for (int k = 0; k < c->ninst; k++)
    if (c->inst[k].op == op && !memcmp(&c->inst[k].p, p, sizeof *p)) return k;
  return -1;
}

uint64_t tsoG_config_hash(const tsoG_Config *c) {
  XXH3_state_t *s = XXH3_createState();
  uint64_t h = 0;
  if (!s) return 0;
  XXH3_64bits_reset(s);
  int32_t hdr[6] = {c->ninputs, c->ninst, c->trials, c->range, c->pseudo, c->all_pairs};
  XXH3_64bits_update(s, hdr, sizeof hdr);
  for (int i = 0; i < c->ninputs; i++) XXH3_64bits_update(s, &c->in[i].m, sizeof c->in[i].m);
  for (int k = 0; k < c->ninst; k++) {
    const tsoG_Inst *ki = &c->inst[k];
    uint8_t b[6] = {(uint8_t)ki->op, (uint8_t)(ki->op >> 8), ki->fam, ki->nin, ki->nout, (uint8_t)ki->axis};
    XXH3_64bits_update(s, b, sizeof b);
    XXH3_64bits_update(s, &ki->cm, sizeof ki->cm);
    XXH3_64bits_update(s, &ki->p, sizeof ki->p);
  }
  h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}
