/*
** export.c -- graph IR -> ONNX ModelProto, and atomic saving.
**
** The new ModelProto is a shallow copy of the imported one in which only the
** graph's node, initializer, sparse_initializer, input, output and
** value_info lists are rebuilt; every other field (and every unknown field)
** is the original, so an unchanged graph serializes to the original bytes.
** Within those lists an original proto is reused whenever the IR still
** describes the same thing:
**   - a node whose origin names a source node of the same operator with the
**     same parameters reuses that NodeProto (attributes, name, domain,
**     doc_string); only its input/output name lists are replaced when the
**     IR's names differ. Other nodes are written from the table's emit();
**   - a constant whose origin names an initializer with the same data
**     pointer, type and shape reuses that TensorProto;
**   - a graph input (output) reuses its ValueInfoProto when the IR's type
**     equals (does not contradict) it; value_info entries are kept when their
**     tensor is still written.
** Nodes are written in tsoI_topo order, which is the file order for a file
** that was already sorted.
**
** Everything allocated for one export is recorded in Exp.blocks and freed at
** the end; the model itself is never modified.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/model.h"
#include "util/fileio.h"

typedef struct ExtRef {     /* a tensor written to the external data file */
  const void *data;
  size_t nbytes;
  uint64_t offset;
} ExtRef;

typedef struct Exp {
  tsoX_Model *m;
  tsoI_Graph *g;
  const Onnx__GraphProto *G;  /* the original graph */
  char *err;
  int ext;                    /* 1: large tensors go to the external data file */
  const char *extloc;         /* its location (file name) */
  ExtRef *refs;               /* external tensors, in file order */
  size_t nrefs, caprefs;
  uint64_t extsize;           /* bytes of the data file */
  void **blocks;              /* allocations of this export */
  size_t nblocks, capblocks;
  int oom;
  const char **tname;         /* per tensor: name to write, NULL: not yet named */
  unsigned char *live;        /* per tensor: written by this export */
  tsoX_Map taken;             /* tensor names written */
  tsoX_Map nodenames;         /* node names written or original */
  int64_t gen;                /* counter for generated names */
  Onnx__NodeProto **nodes;    /* output lists */
  size_t nnodes, capnodes;
} Exp;

/* ---- allocation ---------------------------------------------------------- */

static void *ealloc(Exp *e, size_t n) {
  if (e->nblocks == e->capblocks) {
    size_t nc = e->capblocks ? e->capblocks * 2 : 256;
    void **b = realloc(e->blocks, nc * sizeof *b);
    if (!b) {
      e->oom = 1;
      return NULL;
    }
    e->blocks = b;
    e->capblocks = nc;
  }
  void *p = calloc(1, n ? n : 1);
  if (!p) {
    e->oom = 1;
    return NULL;
  }
  e->blocks[e->nblocks++] = p;
  return p;
}

static char *estrdup(Exp *e, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ealloc(e, n);
  if (d) memcpy(d, s, n);
  return d;
}

/* protobuf-c's structs take non-const pointers; export never writes through them. */
static char *unconst(const char *s) { return (char *)(uintptr_t)s; }
static uint8_t *unconst_bytes(const void *p) { return (uint8_t *)(uintptr_t)p; }

static void free_blocks(Exp *e) {
  for (size_t i = 0; i < e->nblocks; i++) free(e->blocks[i]);
  free(e->blocks);
  e->blocks = NULL;
  e->nblocks = e->capblocks = 0;
}

#define OOM_IF(e, cond)                                                            \
  do {                                                                             \
    if ((cond) || (e)->oom) return tsoO_fail((e)->err, TSO_ERR_NOMEM, "out of memory"); \
  } while (0)

/* ---- names ------------------------------------------------------------------ */

/* A fresh name "<prefix><n>" in neither `taken`, the reserved subgraph
** names nor `also` (may be NULL). */
static const char *gen_name(Exp *e, const char *prefix, const tsoX_Map *taken, const tsoX_Map *also) {
  char buf[96];
  for (;;) {
    snprintf(buf, sizeof buf, "%s%lld", prefix, (long long)e->gen++);
    if (tsoX_map_get(taken, buf) < 0 && tsoX_map_get(&e->m->reserved, buf) < 0 &&
        (!also || tsoX_map_get(also, buf) < 0))
      return estrdup(e, buf);
  }
}

/* The name to write for tensor t (named on first use). */
static const char *tensor_name(Exp *e, int32_t t) {
  if (e->tname[t]) return e->tname[t];
  const char *n = gen_name(e, "tso_t", &e->taken, NULL);
  if (!n || tsoX_map_put(&e->taken, n, t) < 0) {
    e->oom = 1;
    return "";
  }
  return e->tname[t] = n;
}

/* Marks the tensors this export writes and gives each its own name where it
** is free; unnamed tensors and later duplicates are named on first use. */
static tso_status plan_tensors(Exp *e) {
  tsoI_Graph *g = e->g;
  tsoX_Model *m = e->m;
  e->tname = ealloc(e, ((size_t)g->nt + 1) * sizeof *e->tname);
  e->live = ealloc(e, (size_t)g->nt + 1);
  OOM_IF(e, !e->tname || !e->live || tsoX_map_init(&e->taken, (size_t)g->nt) != 0);
  tsoI_uses(g);
  for (int32_t i = 0; i < g->ninputs; i++) e->live[g->inputs[i]] = 1;
  for (int32_t i = 0; i < g->noutputs; i++) e->live[g->outputs[i]] = 1;
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    for (int k = 0; k < nd->nin; k++)
      if (TSO_IN(g, nd, k) >= 0) e->live[TSO_IN(g, nd, k)] = 1;
    for (int k = 0; k < nd->nout; k++) e->live[TSO_OUT(g, nd, k)] = 1;
  }
  for (int32_t t = 0; t < g->nt; t++) { /* constants nothing read in the source either */
    const tsoI_Tensor *x = &g->t[t];
    if ((x->flags & TSO_T_CONST) && x->producer < 0 && x->origin >= 0 && x->origin < m->ninit &&
        m->init[x->origin].unused)
      e->live[t] = 1;
  }
  /* inputs and outputs first, so that they keep their names */
  for (int pass = 0; pass < 3; pass++) {
    int32_t n = pass == 0 ? g->ninputs : pass == 1 ? g->noutputs : g->nt;
    for (int32_t i = 0; i < n; i++) {
      int32_t t = pass == 0 ? g->inputs[i] : pass == 1 ? g->outputs[i] : i;
      if (!e->live[t] || e->tname[t] || !g->t[t].name[0]) continue;
      int r = tsoX_map_put(&e->taken, g->t[t].name, t);
      OOM_IF(e, r < 0);
      if (r == 0) e->tname[t] = g->t[t].name;
    }
  }
  return TSO_OK;
}

/* ---- types ---------------------------------------------------------------------- */

/* 1 if vi describes t: exactly (exact=1), or without contradiction. */
static int type_matches(const Onnx__ValueInfoProto *vi, const tsoI_Tensor *t, int exact) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return !exact || (t->dtype == 0 && t->shape.rank < 0);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  int dt = tt->has_elem_type ? tt->elem_type : 0;
  if (exact ? dt != t->dtype : (dt && t->dtype && dt != t->dtype)) return 0;
  if (!tt->shape) return !exact || t->shape.rank < 0;
  if (t->shape.rank < 0) return !exact;
  if ((size_t)t->shape.rank != tt->shape->n_dim) return 0;
  for (int k = 0; k < t->shape.rank; k++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
    int64_t v = t->shape.d[k];
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (exact ? v != d->dim_value : (v >= 0 && v != d->dim_value)) return 0;
    } else if (exact) {
      const char *p = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
                      *d->dim_param ? d->dim_param : NULL;
      if (v >= 0 || (p == NULL) != (t->dimsym[k] == NULL) || (p && strcmp(p, t->dimsym[k]) != 0)) return 0;
    }
  }
  return 1;
}

/* A new ValueInfoProto for tensor t. */
static Onnx__ValueInfoProto *new_value_info(Exp *e, int32_t t) {
  const tsoI_Tensor *x = &e->g->t[t];
  Onnx__ValueInfoProto *vi = ealloc(e, sizeof *vi);
  Onnx__TypeProto *tp = ealloc(e, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = ealloc(e, sizeof *tt);
  if (!vi || !tp || !tt) return NULL;
  *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  vi->name = unconst(tensor_name(e, t));
  vi->type = tp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  if (x->dtype) {
    tt->has_elem_type = 1;
    tt->elem_type = x->dtype;
  }
  if (x->shape.rank >= 0) {
    Onnx__TensorShapeProto *sp = ealloc(e, sizeof *sp);
    Onnx__TensorShapeProto__Dimension **dims = ealloc(e, (size_t)x->shape.rank * sizeof *dims);
    if (!sp || !dims) return NULL;
    *sp = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    sp->n_dim = (size_t)x->shape.rank;
    sp->dim = dims;
    for (int k = 0; k < x->shape.rank; k++) {
      Onnx__TensorShapeProto__Dimension *d = ealloc(e, sizeof *d);
      if (!d) return NULL;
      *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
      if (x->shape.d[k] >= 0) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = x->shape.d[k];
      } else if (x->dimsym[k]) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = unconst(x->dimsym[k]);
      }
      dims[k] = d;
    }
    tt->shape = sp;
  }
  return vi;
}

/* The ValueInfoProto to write for graph input/output t: the original one
** (by name, in `list`) when it still describes t, else a new one. */
static Onnx__ValueInfoProto *io_value_info(Exp *e, int32_t t, Onnx__ValueInfoProto *const *list, size_t n,
                                           const tsoX_Map *byname, int exact) {
  const tsoI_Tensor *x = &e->g->t[t];
  const char *name = tensor_name(e, t);
  int32_t k = tsoX_map_get(byname, x->name);
  if (k >= 0 && (size_t)k < n && type_matches(list[k], x, exact)) {
    if (strcmp(name, x->name) == 0) return list[k];
    Onnx__ValueInfoProto *vi = ealloc(e, sizeof *vi);
    if (!vi) return NULL;
    *vi = *list[k];
    vi->name = unconst(name);
    return vi;
  }
  return new_value_info(e, t);
}

/* ---- tensors -------------------------------------------------------------------- */

/* Makes tp refer to the external data file for (data, nbytes). */
static int make_external(Exp *e, Onnx__TensorProto *tp, const void *data, size_t nbytes) {
  if (e->nrefs == e->caprefs) {
    size_t nc = e->caprefs ? e->caprefs * 2 : 64;
    ExtRef *r = realloc(e->refs, nc * sizeof *r);
    if (!r) return -1;
    e->refs = r;
    e->caprefs = nc;
  }
  uint64_t off = (e->extsize + 63) & ~(uint64_t)63;
  e->refs[e->nrefs++] = (ExtRef){data, nbytes, off};
  e->extsize = off + nbytes;
  Onnx__StringStringEntryProto **kv = ealloc(e, 3 * sizeof *kv);
  if (!kv) return -1;
  const char *keys[3] = {"location", "offset", "length"};
  char vals[3][32];
  snprintf(vals[1], sizeof vals[1], "%llu", (unsigned long long)off);
  snprintf(vals[2], sizeof vals[2], "%zu", nbytes);
  for (int i = 0; i < 3; i++) {
    if (!(kv[i] = ealloc(e, sizeof *kv[i]))) return -1;
    *kv[i] = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    kv[i]->key = unconst(keys[i]);
    kv[i]->value = i == 0 ? unconst(e->extloc) : estrdup(e, vals[i]);
    if (!kv[i]->value) return -1;
  }
  tp->has_raw_data = 0;
  tp->raw_data.len = 0;
  tp->raw_data.data = NULL;
  tp->n_float_data = tp->n_int32_data = tp->n_int64_data = tp->n_double_data = tp->n_uint64_data = 0;
  tp->has_data_location = 1;
  tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  tp->n_external_data = 3;
  tp->external_data = kv;
  return 0;
}

/* Inline data (raw_data) in place of whatever tp held. */
static void make_inline(Onnx__TensorProto *tp, const void *data, size_t nbytes) {
  tp->n_float_data = tp->n_int32_data = tp->n_int64_data = tp->n_double_data = tp->n_uint64_data = 0;
  tp->has_data_location = 0;
  tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
  tp->n_external_data = 0;
  tp->external_data = NULL;
  tp->has_raw_data = 1;
  tp->raw_data.len = nbytes;
  tp->raw_data.data = unconst_bytes(data);
}

/* A new TensorProto named `name` holding t's data. */
static Onnx__TensorProto *new_tensor(Exp *e, const tsoI_Tensor *x, const char *name) {
  Onnx__TensorProto *tp = ealloc(e, sizeof *tp);
  int64_t *dims = ealloc(e, (size_t)(x->shape.rank > 0 ? x->shape.rank : 1) * sizeof *dims);
  if (!tp || !dims) return NULL;
  *tp = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  if (name) tp->name = unconst(name);
  tp->has_data_type = 1;
  tp->data_type = x->dtype;
  tp->n_dims = (size_t)(x->shape.rank > 0 ? x->shape.rank : 0);
  for (int k = 0; k < x->shape.rank; k++) dims[k] = x->shape.d[k];
  tp->dims = dims;
  make_inline(tp, x->data, x->nbytes);
  return tp;
}

/* The initializer to write for constant t into *out (NULL: it stays in
** sparse_initializer). */
static tso_status const_proto(Exp *e, int32_t t, unsigned char *used_init, Onnx__TensorProto **out) {
  const tsoI_Tensor *x = &e->g->t[t];
  const tsoX_Model *m = e->m;
  const char *name = tensor_name(e, t);
  Onnx__TensorProto *tp = NULL;
  int32_t o = x->origin;
  int same = 0;
  *out = NULL;
  OOM_IF(e, 0);
  if (o >= 0 && o < m->ninit && !used_init[o]) {
    const tsoX_Init *in = &m->init[o];
    /* the same data: the same pointer, or an equal copy (a clone's arena) */
    same = in->nbytes == x->nbytes && in->dtype == x->dtype &&
           (in->data == x->data || (in->data && x->data && memcmp(in->data, x->data, x->nbytes) == 0)) &&
           in->shape.rank == x->shape.rank &&
           memcmp(in->shape.d, x->shape.d, (size_t)(x->shape.rank > 0 ? x->shape.rank : 0) * sizeof x->shape.d[0]) == 0 &&
           (!in->sparse || strcmp(name, in->tp->name) == 0);
  }
  int to_ext = e->ext && x->nbytes >= TSOX_EXTERNAL_MIN_BYTES && tsoO_dtype_size(x->dtype);
  if (same) {
    const tsoX_Init *in = &m->init[o];
    used_init[o] = 1;
    if (in->sparse) return TSO_OK; /* written back in sparse_initializer */
    if (strcmp(name, in->tp->name) == 0 && !to_ext && !in->external) {
      *out = (Onnx__TensorProto *)(uintptr_t)in->tp;
      return TSO_OK;
    }
    OOM_IF(e, !(tp = ealloc(e, sizeof *tp)));
    *tp = *in->tp;
    tp->name = unconst(name);
    if (in->external) make_inline(tp, x->data, x->nbytes);
  } else {
    if (!tsoO_dtype_size(x->dtype) || (!x->data && x->nbytes))
      return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED, "constant '%s' of type %s cannot be written", name,
                       tsoO_dtype_name(x->dtype));
    OOM_IF(e, !(tp = new_tensor(e, x, name)));
  }
  OOM_IF(e, to_ext && make_external(e, tp, x->data, x->nbytes) != 0);
  *out = tp;
  return TSO_OK;
}

/* ---- nodes ---------------------------------------------------------------------- */

static int push_node(Exp *e, Onnx__NodeProto *np) {
  if (e->nnodes == e->capnodes) {
    size_t nc = e->capnodes ? e->capnodes * 2 : 64;
    Onnx__NodeProto **a = ealloc(e, nc * sizeof *a);
    if (!a) return -1;
    if (e->nnodes) memcpy(a, e->nodes, e->nnodes * sizeof *a);
    e->nodes = a;
    e->capnodes = nc;
  }
  e->nodes[e->nnodes++] = np;
  return 0;
}

/* Name lists for node nd: inputs 0..nin-1 (trailing absent ones dropped
** when trim), outputs (an unused unnamed output stays "" when the source
** node had "" there). */
static tso_status node_names(Exp *e, const tsoI_Node *nd, int nin, int trim, const Onnx__NodeProto *src,
                             char ***in, size_t *nin_out, char ***out) {
  tsoI_Graph *g = e->g;
  if (trim)
    while (nin > 0 && TSO_IN(g, nd, nin - 1) < 0) nin--;
  *in = ealloc(e, (size_t)(nin ? nin : 1) * sizeof **in);
  *out = ealloc(e, (size_t)(nd->nout ? nd->nout : 1) * sizeof **out);
  OOM_IF(e, !*in || !*out);
  for (int k = 0; k < nin; k++) {
    int32_t t = TSO_IN(g, nd, k);
    (*in)[k] = unconst(t < 0 ? "" : tensor_name(e, t));
  }
  for (int k = 0; k < nd->nout; k++) {
    int32_t t = TSO_OUT(g, nd, k);
    const tsoI_Tensor *x = &g->t[t];
    int keep_empty = src && (size_t)k < src->n_output && !src->output[k][0] && !e->tname[t] && !x->name[0] &&
                     x->nuses == 0 && !(x->flags & TSO_T_OUTPUT);
    (*out)[k] = unconst(keep_empty ? "" : tensor_name(e, t));
  }
  *nin_out = (size_t)nin;
  OOM_IF(e, 0);
  return TSO_OK;
}

static int same_list(char **a, size_t na, char *const *b, size_t nb) {
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i], b[i] ? b[i] : "") != 0) return 0;
  return 1;
}

/* An Identity node that gives captured name `cap` the value of tensor t
** (a subgraph reads `cap`, which the IR now computes as t). */
static tso_status capture_alias(Exp *e, int32_t t, const char *cap) {
  int32_t owner = tsoX_map_get(&e->taken, cap);
  if (owner == t) return TSO_OK;
  if (owner >= 0)
    return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED,
                     "a subgraph reads '%s', but that name now belongs to another tensor", cap);
  Onnx__NodeProto *np = ealloc(e, sizeof *np);
  char **in = ealloc(e, sizeof *in), **out = ealloc(e, sizeof *out);
  OOM_IF(e, !np || !in || !out || tsoX_map_put(&e->taken, cap, t) < 0);
  *np = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  in[0] = unconst(tensor_name(e, t));
  out[0] = unconst(cap);
  np->n_input = np->n_output = 1;
  np->input = in;
  np->output = out;
  np->op_type = unconst("Identity");
  np->name = unconst(gen_name(e, "tso_n", &e->nodenames, NULL));
  OOM_IF(e, !np->name || tsoX_map_put(&e->nodenames, np->name, 0) < 0 || push_node(e, np) != 0);
  return TSO_OK;
}

/* An attribute 'value' holding tensor x (Constant nodes). */
static Onnx__AttributeProto *value_attr(Exp *e, const tsoI_Tensor *x, const Onnx__AttributeProto *orig) {
  Onnx__AttributeProto *a = ealloc(e, sizeof *a);
  if (!a) return NULL;
  if (orig) {
    *a = *orig;
  } else {
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = unconst("value");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  }
  if (!(a->t = new_tensor(e, x, orig && orig->t ? orig->t->name : NULL))) return NULL;
  return a;
}

/* Attributes from the table's emit(). */
static tso_status emit_attrs(Exp *e, const tsoI_Node *nd, Onnx__NodeProto *np) {
  const tsoO_Info *oi = tsoO_info(nd->op);
  tsoO_AttrSet as;
  memset(&as, 0, sizeof as);
  if (nd->op == TSO_OP_CONSTANT) {
    const tsoI_Tensor *x = &e->g->t[TSO_OUT(e->g, nd, 0)];
    if (!(x->flags & TSO_T_CONST) || (!x->data && x->nbytes) || !tsoO_dtype_size(x->dtype))
      return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED, "a Constant node writing '%s' has no value", x->name);
    np->attribute = ealloc(e, sizeof *np->attribute);
    OOM_IF(e, !np->attribute || !(np->attribute[0] = value_attr(e, x, NULL)));
    np->n_attribute = 1;
    return TSO_OK;
  }
  if (!oi->emit || oi->emit(&nd->p, e->m->opset, &as) != TSO_OK)
    return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED, "cannot write the attributes of a %s node for opset %d",
                     oi->name, e->m->opset);
  if (as.n < 0 || as.n > TSO_MAX_ATTRS)
    return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED, "bad attribute count from %s's emit", oi->name);
  np->attribute = ealloc(e, (size_t)(as.n ? as.n : 1) * sizeof *np->attribute);
  OOM_IF(e, !np->attribute);
  np->n_attribute = (size_t)as.n;
  for (int i = 0; i < as.n; i++) {
    const tso_attr *a = &as.a[i];
    Onnx__AttributeProto *pa = ealloc(e, sizeof *pa);
    OOM_IF(e, !pa);
    *pa = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    pa->name = estrdup(e, a->name ? a->name : "");
    pa->has_type = 1;
    switch (a->kind) {
    case TSO_ATTR_INT:
      pa->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
      pa->has_i = 1;
      pa->i = a->i;
      break;
    case TSO_ATTR_FLOAT:
      pa->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
      pa->has_f = 1;
      pa->f = a->f;
      break;
    case TSO_ATTR_STRING: {
      char *s = estrdup(e, a->s ? a->s : "");
      OOM_IF(e, !s);
      pa->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
      pa->has_s = 1;
      pa->s.len = strlen(s);
      pa->s.data = (uint8_t *)s;
      break;
    }
    case TSO_ATTR_INTS:
      pa->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
      pa->n_ints = (size_t)(a->n > 0 ? a->n : 0);
      pa->ints = ealloc(e, (pa->n_ints ? pa->n_ints : 1) * sizeof *pa->ints);
      OOM_IF(e, !pa->ints);
      if (pa->n_ints) memcpy(pa->ints, a->ints, pa->n_ints * sizeof *pa->ints);
      break;
    case TSO_ATTR_FLOATS:
      pa->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
      pa->n_floats = (size_t)(a->n > 0 ? a->n : 0);
      pa->floats = ealloc(e, (pa->n_floats ? pa->n_floats : 1) * sizeof *pa->floats);
      OOM_IF(e, !pa->floats);
      if (pa->n_floats) memcpy(pa->floats, a->floats, pa->n_floats * sizeof *pa->floats);
      break;
    default:
      return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED, "%s's emit wrote an attribute of kind %d", oi->name,
                       (int)a->kind);
    }
    OOM_IF(e, !pa->name);
    np->attribute[i] = pa;
  }
  return TSO_OK;
}

/* Writes node id: the source NodeProto when it still applies, else a new one. */
static tso_status write_node(Exp *e, int32_t id, unsigned char *used_src) {
  tsoI_Graph *g = e->g;
  tsoX_Model *m = e->m;
  const tsoI_Node *nd = &g->n[id];
  const tsoO_Info *oi = tsoO_info(nd->op);
  int32_t o = nd->origin;
  const tsoX_Src *src = o >= 0 && o < m->nsrc && !used_src[o] ? &m->src[o] : NULL;
  /* an opaque node only needs its captures to line up: its explicit input
  ** list is rewritten anyway, everything else is in the proto */
  if (src && src->op != nd->op) src = NULL;
  if (src && nd->op != TSO_OP_OPAQUE && memcmp(&src->p, &nd->p, sizeof nd->p) != 0) src = NULL;
  if (src && nd->op == TSO_OP_OPAQUE && nd->nin - nd->p.opaque.nexplicit != src->ncap) src = NULL;
  tso_status st;
  if (src) {
    used_src[o] = 1;
    const Onnx__NodeProto *np0 = e->G->node[o];
    int nexp = nd->op == TSO_OP_OPAQUE ? nd->p.opaque.nexplicit : nd->nin;
    if (nexp < 0 || nexp > nd->nin) return tsoO_fail(e->err, TSO_ERR_INVALID, "opaque node %d is malformed", id);
    for (int k = nexp; k < nd->nin; k++) /* captured names must still name these tensors */
      if (TSO_IN(g, nd, k) >= 0 && (st = capture_alias(e, TSO_IN(g, nd, k), src->cap[k - nexp])) != TSO_OK)
        return st;
    char **in, **out;
    size_t nin;
    /* keep trailing "" inputs exactly when the source had as many inputs */
    if ((st = node_names(e, nd, nexp, (size_t)nexp != np0->n_input, np0, &in, &nin, &out)) != TSO_OK) return st;
    int ext_const = nd->op == TSO_OP_CONSTANT && (g->t[TSO_OUT(g, nd, 0)].flags & TSO_T_EXTERNAL);
    if (same_list(in, nin, np0->input, np0->n_input) && same_list(out, nd->nout, np0->output, np0->n_output) &&
        !ext_const) {
      OOM_IF(e, push_node(e, (Onnx__NodeProto *)(uintptr_t)np0) != 0);
      return TSO_OK;
    }
    Onnx__NodeProto *np = ealloc(e, sizeof *np);
    OOM_IF(e, !np);
    *np = *np0;
    np->n_input = nin;
    np->input = in;
    np->n_output = nd->nout;
    np->output = out;
    if (ext_const && np0->n_attribute == 1) { /* inline the value */
      np->attribute = ealloc(e, sizeof *np->attribute);
      OOM_IF(e, !np->attribute ||
                    !(np->attribute[0] = value_attr(e, &g->t[TSO_OUT(g, nd, 0)], np0->attribute[0])));
    }
    OOM_IF(e, push_node(e, np) != 0);
    return TSO_OK;
  }
  if (nd->op == TSO_OP_OPAQUE)
    return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED,
                     "an opaque node (writing '%s') has no source node to copy; it cannot be written",
                     nd->nout ? g->t[TSO_OUT(g, nd, 0)].name : "");
  if (!oi->onnx[0])
    return tsoO_fail(e->err, TSO_ERR_UNSUPPORTED, "operator '%s' has no ONNX form; it must be lowered before export",
                     oi->name);
  Onnx__NodeProto *np = ealloc(e, sizeof *np);
  OOM_IF(e, !np);
  *np = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  char **in, **out;
  size_t nin;
  if ((st = node_names(e, nd, nd->nin, 1, NULL, &in, &nin, &out)) != TSO_OK) return st;
  np->n_input = nin;
  np->input = in;
  np->n_output = nd->nout;
  np->output = out;
  np->op_type = unconst(oi->onnx);
  np->name = unconst(gen_name(e, "tso_n", &e->nodenames, NULL));
  OOM_IF(e, !np->name || tsoX_map_put(&e->nodenames, np->name, 0) < 0);
  if ((st = emit_attrs(e, nd, np)) != TSO_OK) return st;
  OOM_IF(e, push_node(e, np) != 0);
  return TSO_OK;
}

/* ---- the model -------------------------------------------------------------------- */

/* Builds the new graph proto into *G2 (arrays owned by e). */
static tso_status build_graph(Exp *e, Onnx__GraphProto *G2) {
  tsoI_Graph *g = e->g;
  tsoX_Model *m = e->m;
  const Onnx__GraphProto *G = e->G;
  tso_status st;
  *G2 = *G;
  if ((st = plan_tensors(e)) != TSO_OK) return st;
  OOM_IF(e, tsoX_map_init(&e->nodenames, G->n_node) != 0);
  for (size_t i = 0; i < G->n_node; i++)
    if (G->node[i]->name && *G->node[i]->name) OOM_IF(e, tsoX_map_put(&e->nodenames, G->node[i]->name, 0) < 0);
  /* nodes */
  int32_t *order = ealloc(e, ((size_t)g->nn + 1) * sizeof *order);
  unsigned char *used_src = ealloc(e, (size_t)m->nsrc + 1);
  OOM_IF(e, !order || !used_src);
  int32_t cnt = tsoI_topo(g, order);
  if (cnt < 0) return tsoO_fail(e->err, TSO_ERR_INVALID, "%s", g->err);
  for (int32_t k = 0; k < cnt; k++)
    if ((st = write_node(e, order[k], used_src)) != TSO_OK) return st;
  G2->n_node = e->nnodes;
  G2->node = e->nodes;
  /* initializers: the source ones in source order, then new ones */
  unsigned char *used_init = ealloc(e, (size_t)m->ninit + 1);
  int32_t *cst = ealloc(e, ((size_t)g->nt + 1) * sizeof *cst);
  Onnx__TensorProto **inits = ealloc(e, ((size_t)g->nt + 1) * sizeof *inits);
  Onnx__SparseTensorProto **sparse = ealloc(e, (G->n_sparse_initializer + 1) * sizeof *sparse);
  OOM_IF(e, !used_init || !cst || !inits || !sparse);
  int32_t ncst = 0;
  for (int32_t t = 0; t < g->nt; t++)
    if (e->live[t] && (g->t[t].flags & TSO_T_CONST) && g->t[t].producer < 0) cst[ncst++] = t;
  /* the source's constants in source order, then new ones by tensor id */
  size_t ninits = 0;
  int32_t *byorig = ealloc(e, ((size_t)m->ninit + 1) * sizeof *byorig);
  unsigned char *done = ealloc(e, (size_t)g->nt + 1);
  OOM_IF(e, !byorig || !done);
  for (int32_t o = 0; o < m->ninit; o++) byorig[o] = -1;
  for (int32_t i = 0; i < ncst; i++) {
    int32_t o = g->t[cst[i]].origin;
    if (o >= 0 && o < m->ninit && byorig[o] < 0) byorig[o] = cst[i];
  }
  for (int32_t pass = 0; pass < 2; pass++)
    for (int32_t i = 0; i < (pass ? ncst : m->ninit); i++) {
      int32_t t = pass ? cst[i] : byorig[i];
      if (t < 0 || done[t]) continue;
      done[t] = 1;
      Onnx__TensorProto *tp;
      if ((st = const_proto(e, t, used_init, &tp)) != TSO_OK) return st;
      if (tp) inits[ninits++] = tp;
    }
  G2->n_initializer = ninits;
  G2->initializer = inits;
  size_t nsparse = 0, nd = G->n_initializer;
  for (size_t i = 0; i < G->n_sparse_initializer; i++)
    if (used_init[nd + i]) sparse[nsparse++] = G->sparse_initializer[i];
  G2->n_sparse_initializer = nsparse;
  G2->sparse_initializer = sparse;
  /* inputs and outputs */
  tsoX_Map inmap = {0}, outmap = {0};
  Onnx__ValueInfoProto **ins = ealloc(e, ((size_t)g->ninputs + 1) * sizeof *ins);
  Onnx__ValueInfoProto **outs = ealloc(e, ((size_t)g->noutputs + 1) * sizeof *outs);
  Onnx__ValueInfoProto **vis = ealloc(e, (G->n_value_info + 1) * sizeof *vis);
  st = TSO_OK;
  if (!ins || !outs || !vis || tsoX_map_init(&inmap, G->n_input) != 0 || tsoX_map_init(&outmap, G->n_output) != 0)
    st = tsoO_fail(e->err, TSO_ERR_NOMEM, "out of memory");
  for (size_t i = 0; st == TSO_OK && i < G->n_input; i++)
    if (G->input[i]->name && tsoX_map_put(&inmap, G->input[i]->name, (int32_t)i) < 0) e->oom = 1;
  for (size_t i = 0; st == TSO_OK && i < G->n_output; i++)
    if (G->output[i]->name && tsoX_map_put(&outmap, G->output[i]->name, (int32_t)i) < 0) e->oom = 1;
  for (int32_t i = 0; st == TSO_OK && i < g->ninputs; i++)
    if (!(ins[i] = io_value_info(e, g->inputs[i], G->input, G->n_input, &inmap,
                                 !(g->t[g->inputs[i]].flags & TSO_T_CONST))))
      e->oom = 1;
  for (int32_t i = 0; st == TSO_OK && i < g->noutputs; i++)
    if (!(outs[i] = io_value_info(e, g->outputs[i], G->output, G->n_output, &outmap, 0))) e->oom = 1;
  tsoX_map_free(&inmap);
  tsoX_map_free(&outmap);
  if (st != TSO_OK) return st;
  OOM_IF(e, 0);
  G2->n_input = (size_t)g->ninputs;
  G2->input = ins;
  G2->n_output = (size_t)g->noutputs;
  G2->output = outs;
  size_t nvi = 0;
  for (size_t i = 0; i < G->n_value_info; i++) {
    const Onnx__ValueInfoProto *vi = G->value_info[i];
    int32_t t = vi->name ? tsoX_map_get(&e->taken, vi->name) : -1;
    if (t >= 0 && e->tname[t] && strcmp(e->tname[t], vi->name) == 0 && type_matches(vi, &g->t[t], 0))
      vis[nvi++] = G->value_info[i];
  }
  G2->n_value_info = nvi;
  G2->value_info = vis;
  OOM_IF(e, 0);
  return TSO_OK;
}

static void exp_done(Exp *e) {
  free_blocks(e);
  free(e->refs);
  tsoX_map_free(&e->taken);
  tsoX_map_free(&e->nodenames);
}

/* Builds the model into a malloc'd buffer. */
static tso_status export_bytes(Exp *e, uint8_t **buf, size_t *len) {
  Onnx__GraphProto G2;
  tso_status st = build_graph(e, &G2);
  if (st != TSO_OK) return st;
  Onnx__ModelProto mp2 = *e->m->mp;
  mp2.graph = &G2;
  size_t n = onnx__model_proto__get_packed_size(&mp2);
  if (n > (size_t)INT32_MAX)
    return tsoO_fail(e->err, TSO_ERR_LIMIT,
                     "the model needs %zu bytes, above protobuf's 2 GB; save it with external data", n);
  if (!(*buf = malloc(n ? n : 1))) return tsoO_fail(e->err, TSO_ERR_NOMEM, "out of memory");
  *len = onnx__model_proto__pack(&mp2, *buf);
  return TSO_OK;
}

static tso_status exp_init(Exp *e, tsoX_Model *m, char *err) {
  memset(e, 0, sizeof *e);
  e->m = m;
  e->g = m ? m->g : NULL;
  e->err = err;
  err[0] = 0;
  if (!m || !m->g || !m->mp || !m->mp->graph) return tsoO_fail(err, TSO_ERR_ARG, "no model to write");
  e->G = m->mp->graph;
  return TSO_OK;
}

tso_status tsoX_serialize(tsoX_Model *m, uint8_t **buf, size_t *len, char *err) {
  Exp e;
  *buf = NULL;
  *len = 0;
  tso_status st = exp_init(&e, m, err);
  if (st == TSO_OK) st = export_bytes(&e, buf, len);
  exp_done(&e);
  return st;
}

/* ---- saving ---------------------------------------------------------------------- */

static tso_status write_external(Exp *e, int fd) {
  static const unsigned char zeros[64];
  uint64_t pos = 0;
  for (size_t i = 0; i < e->nrefs; i++) {
    const ExtRef *r = &e->refs[i];
    if (r->offset > pos && tsoU_write_all(fd, zeros, (size_t)(r->offset - pos)) != 0) return TSO_ERR_IO;
    if (tsoU_write_all(fd, r->data, r->nbytes) != 0) return TSO_ERR_IO;
    pos = r->offset + r->nbytes;
  }
  return TSO_OK;
}

tso_status tsoX_save(tsoX_Model *m, const char *path, char *err) {
  Exp e;
  tso_status st = exp_init(&e, m, err);
  if (st != TSO_OK) return st;
  uint8_t *buf = NULL;
  size_t len = 0;
  char *dir = NULL, *dataname = NULL, *datapath = NULL, *tmpm = NULL, *tmpd = NULL;
  int fdm = -1, fdd = -1;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!*base) {
    st = tsoO_fail(err, TSO_ERR_ARG, "'%s' is not a file name", path);
    goto done;
  }
  dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  size_t bl = strlen(base);
  dataname = malloc(bl + 6);
  if (!dir || !dataname) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  snprintf(dataname, bl + 6, "%s.data", base);
  uint64_t total = 0;
  for (int32_t t = 0; t < m->g->nt; t++)
    if ((m->g->t[t].flags & TSO_T_CONST) && m->g->t[t].producer < 0) total += m->g->t[t].nbytes;
  e.ext = m->external || total > (m->ext_threshold ? m->ext_threshold : TSOX_EXTERNAL_THRESHOLD);
  e.extloc = dataname;
  if ((st = export_bytes(&e, &buf, &len)) != TSO_OK) goto done;
  if (e.nrefs) {
    size_t n = strlen(dir) + strlen(dataname) + 2;
    if (!(datapath = malloc(n))) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto done;
    }
    snprintf(datapath, n, "%s/%s", dir, dataname);
    if ((fdd = tsoU_temp_beside(datapath, &tmpd)) < 0) {
      st = tsoO_fail(err, TSO_ERR_IO, "cannot create a file in '%s': %s", dir, strerror(errno));
      goto done;
    }
    if (write_external(&e, fdd) != TSO_OK || tsoU_finish_temp(fdd, datapath) != 0) {
      fdd = -1;
      st = tsoO_fail(err, TSO_ERR_IO, "cannot write '%s': %s", datapath, strerror(errno));
      goto done;
    }
    fdd = -1;
  }
  if ((fdm = tsoU_temp_beside(path, &tmpm)) < 0) {
    st = tsoO_fail(err, TSO_ERR_IO, "cannot create a file in '%s': %s", dir, strerror(errno));
    goto done;
  }
  if (tsoU_write_all(fdm, buf, len) != 0 || tsoU_finish_temp(fdm, path) != 0) {
    fdm = -1;
    st = tsoO_fail(err, TSO_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    goto done;
  }
  fdm = -1;
  /* data first: the new model must never refer to an old data file */
  if (tmpd && rename(tmpd, datapath) != 0) {
    st = tsoO_fail(err, TSO_ERR_IO, "cannot rename to '%s': %s", datapath, strerror(errno));
    goto done;
  }
  free(tmpd);
  tmpd = NULL;
  if (rename(tmpm, path) != 0) {
    st = tsoO_fail(err, TSO_ERR_IO, "cannot rename to '%s': %s", path, strerror(errno));
    goto done;
  }
  free(tmpm);
  tmpm = NULL;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { /* make the renames durable; failure here loses nothing */
    (void)fsync(dfd);
    close(dfd);
  }
done:
  if (fdd >= 0) close(fdd);
  if (fdm >= 0) close(fdm);
  if (tmpd) unlink(tmpd);
  if (tmpm) unlink(tmpm);
  free(tmpd);
  free(tmpm);
  free(buf);
  free(dir);
  free(dataname);
  free(datapath);
  exp_done(&e);
  return st;
}
