/*
** import.c -- ONNX ModelProto -> graph IR.
**
** The model is unpacked with protobuf-c and kept whole; the graph is built
** over it in passes: (1) initializers and graph inputs, (2) one tensor per
** node output name, so nodes may come in any order in the file, (3) types
** from value_info and graph outputs, (4) the nodes, (5) the graph outputs.
** Names are resolved through a hash map, never by a scan.
**
** A node of the default domain whose op_type is in the operator table and
** whose attributes parse becomes a table node; any other node (another
** domain, an unknown type, attributes the table does not take, a parse
** failure) becomes an opaque node that export writes back byte for byte.
** An opaque node's inputs are its explicit inputs followed by the outer
** names its subgraphs read (captures), so dead-node removal keeps their
** producers. Every node's origin is its index in graph.node.
**
** Shape inference is not run here: the caller runs tsoI_infer.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/model.h"
#include "util/fileio.h"

typedef struct Imp {
  tsoX_Model *m;
  tsoI_Graph *g;
  const Onnx__GraphProto *G;
  const tsoX_Bind *b;       /* bindings */
  int nb;
  unsigned char *bused;     /* per binding: matched something */
  tsoX_Map names;           /* tensor name -> id */
  int32_t *tprod;           /* per named tensor id: source node, -1 input, -2 initializer */
  int32_t ntprod;
  int32_t *ins, *outs;      /* scratch for one node */
  int32_t capio;
  tso_attr *attrs;          /* scratch attributes */
  size_t capattrs;
  char *err;
} Imp;

/* "node 'name' (Type)" or "node #i (Type)" for messages. */
static const char *node_desc(const Imp *im, int32_t i, char *buf, size_t n) {
  const Onnx__NodeProto *np = im->G->node[i];
  const char *type = tsoX_node_type(im->m, i);
  if (np->name && *np->name) snprintf(buf, n, "node '%s' (%s)", np->name, type);
  else snprintf(buf, n, "node #%d (%s)", (int)i, type);
  return buf;
}

/* What defines tensor t, for messages. */
static const char *definer(const Imp *im, int32_t t, char *buf, size_t n) {
  int32_t p = t >= 0 && t < im->ntprod ? im->tprod[t] : -3;
  if (p == -1) snprintf(buf, n, "a graph input");
  else if (p == -2) snprintf(buf, n, "an initializer");
  else if (p >= 0) node_desc(im, p, buf, n);
  else snprintf(buf, n, "another definition");
  return buf;
}

/* Records tensor t under its name (0), or reports a second definition. */
static tso_status define(Imp *im, const char *name, int32_t t, int32_t by, const char *what) {
  int r = tsoX_map_put(&im->names, name, t);
  if (r < 0) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  if (r == 1) {
    char a[200];
    return tsoO_fail(im->err, TSO_ERR_INVALID, "'%s' is defined twice: by %s and by %s", name,
                     definer(im, tsoX_map_get(&im->names, name), a, sizeof a), what);
  }
  if (t < im->ntprod) im->tprod[t] = by;
  return TSO_OK;
}

/* ---- types and bindings ---------------------------------------------------- */

static tso_status check_binds(Imp *im) {
  for (int i = 0; i < im->nb; i++) {
    const tsoX_Bind *b = &im->b[i];
    if (!b->name || !*b->name) return tsoO_fail(im->err, TSO_ERR_ARG, "a shape binding has no name");
    if (b->whole) {
      if (b->shape.rank < 0 || b->shape.rank > TSO_MAX_RANK)
        return tsoO_fail(im->err, TSO_ERR_ARG, "binding '%s': rank %d is out of range", b->name, b->shape.rank);
      for (int k = 0; k < b->shape.rank; k++)
        if (b->shape.d[k] < 0 || b->shape.d[k] > TSO_MAX_DIM)
          return tsoO_fail(im->err, TSO_ERR_ARG, "binding '%s': dimension %lld is out of range", b->name,
                           (long long)b->shape.d[k]);
    } else if (b->value < 0 || b->value > TSO_MAX_DIM) {
      return tsoO_fail(im->err, TSO_ERR_ARG, "binding '%s': size %lld is out of range", b->name,
                       (long long)b->value);
    }
  }
  return TSO_OK;
}

/* Element type and shape of a ValueInfoProto's type. Non-tensor types and
** missing shapes are unknown. strict: a rank above the limit is an error
** (graph inputs) rather than an unknown shape. */
static tso_status value_type(Imp *im, const Onnx__ValueInfoProto *vi, int strict, int *dtype, tsoO_Shape *s,
                             const char **sym) {
  const char *name = vi->name ? vi->name : "";
  *dtype = 0;
  memset(s, 0, sizeof *s);
  s->rank = -1;
  for (int k = 0; k < TSO_MAX_RANK; k++) sym[k] = NULL;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return TSO_OK;
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  *dtype = tt->has_elem_type ? tt->elem_type : 0;
  if (!tt->shape) return TSO_OK;
  if (tt->shape->n_dim > TSO_MAX_RANK) {
    if (!strict) return TSO_OK;
    return tsoO_fail(im->err, TSO_ERR_LIMIT, "absurd dimension: '%s' has rank %zu (at most %d)", name,
                     tt->shape->n_dim, TSO_MAX_RANK);
  }
  s->rank = (int32_t)tt->shape->n_dim;
  for (int k = 0; k < s->rank; k++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
    s->d[k] = -1;
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (d->dim_value < 0 || d->dim_value > TSO_MAX_DIM)
        return tsoO_fail(im->err, TSO_ERR_LIMIT, "absurd dimension %lld in '%s'", (long long)d->dim_value, name);
      s->d[k] = d->dim_value;
    } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
               *d->dim_param) {
      sym[k] = d->dim_param;
      for (int i = 0; i < im->nb; i++)
        if (!im->b[i].whole && strcmp(im->b[i].name, d->dim_param) == 0) {
          s->d[k] = im->b[i].value;
          sym[k] = NULL;
          im->bused[i] = 1;
        }
    }
  }
  return TSO_OK;
}

/* Applies a whole-shape binding of graph input `name`, if any. */
static tso_status bind_input(Imp *im, const char *name, tsoO_Shape *s, const char **sym) {
  for (int i = 0; i < im->nb; i++) {
    const tsoX_Bind *b = &im->b[i];
    if (!b->whole || strcmp(b->name, name) != 0) continue;
    im->bused[i] = 1;
    if (s->rank >= 0 && s->rank != b->shape.rank) {
      /* one number reads as a dim size too, but an unnamed dim has no name
      ** to bind: say how to bind the whole input */
      char eg[8 * 24] = "";
      size_t w = 0;
      for (int k = 0; k < s->rank && w < sizeof eg; k++)
        w += (size_t)snprintf(eg + w, sizeof eg - w, "%s%lld", k ? "x" : "", (long long)(s->d[k] >= 0 ? s->d[k] : 1));
      return tsoO_fail(im->err, TSO_ERR_ARG, "binding '%s': the model gives it rank %d, the binding rank %d (bind "
                       "the input with all its dims, e.g. %s=%s; a single number binds a named symbolic dim)",
                       name, s->rank, b->shape.rank, name, eg);
    }
    for (int k = 0; s->rank >= 0 && k < s->rank; k++)
      if (s->d[k] >= 0 && s->d[k] != b->shape.d[k])
        return tsoO_fail(im->err, TSO_ERR_ARG,
                         "binding '%s': dimension %d is %lld in the model, %lld in the binding", name, k,
                         (long long)s->d[k], (long long)b->shape.d[k]);
    *s = b->shape;
    for (int k = 0; k < TSO_MAX_RANK; k++) sym[k] = NULL;
  }
  return TSO_OK;
}

static void set_type(tsoI_Tensor *t, int dtype, const tsoO_Shape *s, const char *const *sym) {
  t->dtype = dtype;
  t->shape = *s;
  for (int k = 0; k < TSO_MAX_RANK; k++) t->dimsym[k] = k < s->rank ? sym[k] : NULL;
}

/* ---- initializers and inputs ---------------------------------------------- */

/* Decodes initializer k (dense) into m->init[k]; *owned may receive a
** malloc'd copy of the data the caller releases once the graph has it. */
static tso_status decode_init(Imp *im, int32_t k, const Onnx__TensorProto *tp, void **owned) {
  tsoX_Init *in = &im->m->init[k];
  char what[300];
  snprintf(what, sizeof what, "initializer '%s'", tp->name ? tp->name : "");
  int dtype, ext;
  tso_status st = tsoX_tensor_meta(tp, what, &dtype, &in->shape, im->err);
  if (st != TSO_OK) return st;
  in->dtype = dtype;
  in->tp = tp;
  st = tsoX_tensor_data(im->m, tp, what, dtype, &in->shape, &in->data, &in->nbytes, owned, &ext, im->err);
  in->external = ext;
  return st;
}

/* Densifies sparse initializer k (values at indices) into a malloc'd buffer. */
static tso_status decode_sparse(Imp *im, int32_t k, const Onnx__SparseTensorProto *sp, void **owned) {
  tsoX_Init *in = &im->m->init[k];
  const char *name = sp->values && sp->values->name ? sp->values->name : "";
  char what[300];
  snprintf(what, sizeof what, "sparse initializer '%s'", name);
  if (!sp->values || !sp->indices || !*name)
    return tsoO_fail(im->err, TSO_ERR_INVALID, "%s lacks values, indices or a name", what);
  in->tp = sp->values;
  in->sparse = 1;
  if (sp->n_dims > TSO_MAX_RANK)
    return tsoO_fail(im->err, TSO_ERR_LIMIT, "absurd dimension: %s has rank %zu", what, sp->n_dims);
  in->shape.rank = (int32_t)sp->n_dims;
  for (size_t i = 0; i < sp->n_dims; i++) {
    if (sp->dims[i] < 0 || sp->dims[i] > TSO_MAX_DIM)
      return tsoO_fail(im->err, TSO_ERR_LIMIT, "absurd dimension %lld in %s", (long long)sp->dims[i], what);
    in->shape.d[i] = sp->dims[i];
  }
  int64_t total = tsoO_numel(&in->shape);
  if (total < 0) return tsoO_fail(im->err, TSO_ERR_LIMIT, "absurd dimension: %s is too large", what);
  int vdt, idt, ext;
  tsoO_Shape vs, is;
  tso_status st = tsoX_tensor_meta(sp->values, what, &vdt, &vs, im->err);
  if (st == TSO_OK) st = tsoX_tensor_meta(sp->indices, what, &idt, &is, im->err);
  if (st != TSO_OK) return st;
  in->dtype = vdt;
  size_t es = tsoO_dtype_size(vdt);
  if (!es) return TSO_OK; /* strings: no data */
  int64_t nnz = vs.rank == 1 ? vs.d[0] : -1;
  int coord = is.rank == 2;
  if (nnz < 0 || idt != TSO_DT_INT64 || !(is.rank == 1 || coord) || is.d[0] != nnz ||
      (coord && is.d[1] != in->shape.rank))
    return tsoO_fail(im->err, TSO_ERR_INVALID, "%s: values and indices do not agree", what);
  const void *vd, *id;
  size_t vn, inb;
  void *vo = NULL, *io = NULL;
  st = tsoX_tensor_data(im->m, sp->values, what, vdt, &vs, &vd, &vn, &vo, &ext, im->err);
  if (st == TSO_OK) st = tsoX_tensor_data(im->m, sp->indices, what, idt, &is, &id, &inb, &io, &ext, im->err);
  size_t nb = (size_t)total * es;
  unsigned char *dense = st == TSO_OK ? calloc(nb ? nb : 1, 1) : NULL;
  if (st == TSO_OK && !dense) st = tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  for (int64_t j = 0; st == TSO_OK && j < nnz; j++) {
    const int64_t *ix = (const int64_t *)id;
    int64_t lin = 0;
    if (coord) {
      for (int r = 0; r < in->shape.rank; r++) {
        int64_t c = ix[j * in->shape.rank + r];
        if (c < 0 || c >= in->shape.d[r]) { lin = -1; break; }
        lin = lin * in->shape.d[r] + c;
      }
    } else {
      lin = ix[j];
    }
    if (lin < 0 || lin >= total) {
      st = tsoO_fail(im->err, TSO_ERR_INVALID, "%s: index out of range", what);
      break;
    }
    memcpy(dense + (size_t)lin * es, (const unsigned char *)vd + (size_t)j * es, es);
  }
  free(vo);
  free(io);
  if (st != TSO_OK) {
    free(dense);
    return st;
  }
  *owned = dense;
  in->data = dense;
  in->nbytes = nb;
  return TSO_OK;
}

/* Gives tensor t the constant data of initializer k (borrowed from the
** model, which keeps converted data alive as long as itself). */
static tso_status attach_init(Imp *im, int32_t t, int32_t k, void **owned) {
  tsoI_Tensor *x = &im->g->t[t];
  tsoX_Init *in = &im->m->init[k];
  if (*owned) {
    void *p = *owned;
    *owned = NULL;
    if (tsoX_keep(im->m, p) != 0) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  }
  x->dtype = in->dtype;
  x->shape = in->shape;
  for (int j = 0; j < TSO_MAX_RANK; j++) x->dimsym[j] = NULL;
  x->data = in->data;
  x->nbytes = in->nbytes;
  x->flags |= TSO_T_CONST | (in->external ? TSO_T_EXTERNAL : 0u);
  x->origin = k;
  return TSO_OK;
}

static tso_status build_leaves(Imp *im, int32_t *initt) {
  const Onnx__GraphProto *G = im->G;
  tsoX_Model *m = im->m;
  int32_t nd = (int32_t)G->n_initializer;
  tsoX_Map inits = {0};
  tso_status st = TSO_OK;
  void **owned = calloc((size_t)m->ninit + 1, sizeof *owned);
  if (!owned || tsoX_map_init(&inits, (size_t)m->ninit) != 0) {
    st = tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int32_t k = 0; k < m->ninit; k++) {
    initt[k] = -1;
    st = k < nd ? decode_init(im, k, G->initializer[k], &owned[k])
                : decode_sparse(im, k, G->sparse_initializer[k - nd], &owned[k]);
    if (st != TSO_OK) goto done;
    const char *name = m->init[k].tp->name ? m->init[k].tp->name : "";
    if (!*name) {
      st = tsoO_fail(im->err, TSO_ERR_INVALID, "initializer #%d has no name", (int)k);
      goto done;
    }
    int r = tsoX_map_put(&inits, name, k);
    if (r != 0) {
      st = r < 0 ? tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory")
                 : tsoO_fail(im->err, TSO_ERR_INVALID, "initializer '%s' is defined twice", name);
      goto done;
    }
  }
  /* graph inputs, in order; one that is also an initializer is INPUT|CONST */
  for (size_t i = 0; i < G->n_input; i++) {
    const Onnx__ValueInfoProto *vi = G->input[i];
    const char *name = vi->name ? vi->name : "";
    int dtype;
    tsoO_Shape s;
    const char *sym[TSO_MAX_RANK];
    if (!*name) {
      st = tsoO_fail(im->err, TSO_ERR_INVALID, "graph input #%zu has no name", i);
      goto done;
    }
    int32_t k = tsoX_map_get(&inits, name);
    if (k < 0) {
      if ((st = value_type(im, vi, 1, &dtype, &s, sym)) != TSO_OK) goto done;
      if ((st = bind_input(im, name, &s, sym)) != TSO_OK) goto done;
    } else {
      dtype = m->init[k].dtype;
      s = m->init[k].shape;
      for (int j = 0; j < TSO_MAX_RANK; j++) sym[j] = NULL;
      for (int j = 0; j < im->nb; j++)
        if (im->b[j].whole && strcmp(im->b[j].name, name) == 0) im->bused[j] = 1;
    }
    int32_t t = tsoI_add_input(im->g, name, dtype, &s);
    if (t < 0) {
      st = tsoO_fail(im->err, TSO_ERR_NOMEM, "%s", im->g->err);
      goto done;
    }
    set_type(&im->g->t[t], dtype, &s, sym);
    if ((st = define(im, name, t, -1, "a graph input")) != TSO_OK) goto done;
    if (k >= 0) {
      if (initt[k] >= 0) {
        st = tsoO_fail(im->err, TSO_ERR_INVALID, "graph input '%s' is declared twice", name);
        goto done;
      }
      initt[k] = t;
      if ((st = attach_init(im, t, k, &owned[k])) != TSO_OK) goto done;
    }
  }
  /* the other initializers */
  for (int32_t k = 0; k < m->ninit; k++) {
    if (initt[k] >= 0) continue;
    tsoX_Init *in = &m->init[k];
    const char *name = in->tp->name;
    int32_t t = tsoI_add_tensor(im->g, name, in->dtype, &in->shape);
    if (t < 0) {
      st = tsoO_fail(im->err, TSO_ERR_NOMEM, "%s", im->g->err);
      goto done;
    }
    initt[k] = t;
    if ((st = attach_init(im, t, k, &owned[k])) != TSO_OK) goto done;
    if ((st = define(im, name, t, -2, "an initializer")) != TSO_OK) goto done;
  }
done:
  if (owned)
    for (int32_t k = 0; k < m->ninit; k++) free(owned[k]);
  free(owned);
  tsoX_map_free(&inits);
  return st;
}

/* ---- nodes ------------------------------------------------------------------ */

/* The attribute's type; old models leave `type` out, then the field set tells. */
static int attr_type(const Onnx__AttributeProto *a) {
  if (a->has_type) return (int)a->type;
  if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  if (a->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
  if (a->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
  if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
  if (a->sparse_tensor) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
  if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const char *attr_type_name(int t) {
  switch (t) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "TENSOR";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "STRINGS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
  default: return "UNDEFINED";
  }
}

/* Converts the node's attributes for parse(). Returns the count, or -1 with
** `why` set when one has a kind the table cannot take; *strs receives the
** malloc'd block holding NUL-terminated copies of string attributes. */
static int convert_attrs(Imp *im, const Onnx__NodeProto *np, char **strs, char *why) {
  *strs = NULL;
  if (np->n_attribute > im->capattrs) {
    tso_attr *a = realloc(im->attrs, np->n_attribute * sizeof *a);
    if (!a) {
      snprintf(why, TSO_ERRMAX, "out of memory");
      return -2;
    }
    im->attrs = a;
    im->capattrs = np->n_attribute;
  }
  size_t slen = 0;
  for (size_t i = 0; i < np->n_attribute; i++)
    if (attr_type(np->attribute[i]) == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
      slen += np->attribute[i]->s.len + 1;
  char *sp = slen ? malloc(slen) : NULL;
  if (slen && !sp) {
    snprintf(why, TSO_ERRMAX, "out of memory");
    return -2;
  }
  *strs = sp;
  for (size_t i = 0; i < np->n_attribute; i++) {
    const Onnx__AttributeProto *pa = np->attribute[i];
    tso_attr *a = &im->attrs[i];
    memset(a, 0, sizeof *a);
    a->name = pa->name ? pa->name : "";
    int ty = attr_type(pa);
    switch (ty) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->kind = TSO_ATTR_FLOAT; a->f = pa->f; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->kind = TSO_ATTR_INT; a->i = pa->i; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
      a->kind = TSO_ATTR_STRING;
      if (pa->s.len) memcpy(sp, pa->s.data, pa->s.len);
      sp[pa->s.len] = 0;
      a->s = sp;
      sp += pa->s.len + 1;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      if (pa->n_floats > INT_MAX) goto toolong;
      a->kind = TSO_ATTR_FLOATS;
      a->n = (int)pa->n_floats;
      a->floats = pa->floats;
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
      if (pa->n_ints > INT_MAX) goto toolong;
      a->kind = TSO_ATTR_INTS;
      a->n = (int)pa->n_ints;
      a->ints = pa->ints;
      break;
    default:
      snprintf(why, TSO_ERRMAX, "attribute '%s' of type %s is not supported", a->name, attr_type_name(ty));
      return -1;
    }
  }
  return (int)np->n_attribute;
toolong:
  snprintf(why, TSO_ERRMAX, "an attribute list is too long");
  return -1;
}

/* A Constant node: the output tensor gets the value as constant data.
** Returns the node id, -1 with `why` set to keep it opaque, or -2 with a
** fatal error in *fatal and im->err. */
static int32_t constant_node(Imp *im, int32_t i, const Onnx__NodeProto *np, int32_t out, char *why,
                             tso_status *fatal) {
  tsoI_Graph *g = im->g;
  if (np->n_attribute != 1) {
    snprintf(why, TSO_ERRMAX, "a Constant needs exactly one value attribute, not %zu", np->n_attribute);
    return -1;
  }
  const Onnx__AttributeProto *a = np->attribute[0];
  const char *an = a->name ? a->name : "";
  int ty = attr_type(a);
  int dtype = 0, ext = 0;
  tsoO_Shape s;
  memset(&s, 0, sizeof s);
  const void *data = NULL;
  size_t nb = 0;
  void *owned = NULL;
  if (strcmp(an, "value") == 0 && ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR && a->t) {
    char what[300], d[200];
    snprintf(what, sizeof what, "the value of %s", node_desc(im, i, d, sizeof d));
    if ((*fatal = tsoX_tensor_meta(a->t, what, &dtype, &s, im->err)) != TSO_OK) return -2;
    if (!tsoO_dtype_size(dtype)) {
      snprintf(why, TSO_ERRMAX, "element type %s is not supported", tsoO_dtype_name(dtype));
      return -1;
    }
    if ((*fatal = tsoX_tensor_data(im->m, a->t, what, dtype, &s, &data, &nb, &owned, &ext, im->err)) != TSO_OK)
      return -2;
  } else if (strcmp(an, "value_float") == 0 && ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
    dtype = TSO_DT_FLOAT;
    data = &a->f;
    nb = sizeof a->f;
  } else if (strcmp(an, "value_int") == 0 && ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) {
    dtype = TSO_DT_INT64;
    data = &a->i;
    nb = sizeof a->i;
  } else if (strcmp(an, "value_floats") == 0 && ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) {
    dtype = TSO_DT_FLOAT;
    s.rank = 1;
    s.d[0] = (int64_t)a->n_floats;
    data = a->floats;
    nb = a->n_floats * sizeof(float);
  } else if (strcmp(an, "value_ints") == 0 && ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
    dtype = TSO_DT_INT64;
    s.rank = 1;
    s.d[0] = (int64_t)a->n_ints;
    data = a->ints;
    nb = a->n_ints * sizeof(int64_t);
  } else {
    snprintf(why, TSO_ERRMAX, "attribute '%s' of type %s is not supported", an, attr_type_name(ty));
    return -1;
  }
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  int32_t id = tsoI_add_node(g, TSO_OP_CONSTANT, &p, NULL, 0, &out, 1);
  if (id < 0) {
    free(owned);
    snprintf(why, TSO_ERRMAX, "%s", g->err);
    return -1;
  }
  tsoI_Tensor *t = &g->t[out];
  if (owned && tsoX_keep(im->m, owned) != 0) {
    *fatal = tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
    return -2;
  }
  t->dtype = dtype;
  t->shape = s;
  for (int k = 0; k < TSO_MAX_RANK; k++) t->dimsym[k] = NULL;
  t->data = data;
  t->nbytes = nb;
  t->flags |= TSO_T_CONST | (ext ? TSO_T_EXTERNAL : 0u);
  return id;
}

/* ---- subgraph captures ------------------------------------------------------ */

typedef struct Scope {
  const struct Scope *up;
  tsoX_Map names;           /* names defined at this level */
} Scope;

typedef struct Caps {
  tsoX_Map seen;
  const char **list;
  int32_t n, cap;
} Caps;

static int defined_in(const Scope *s, const char *name) {
  for (; s; s = s->up)
    if (tsoX_map_get(&s->names, name) >= 0) return 1;
  return 0;
}

static tso_status capture(Imp *im, Caps *c, const char *name) {
  int r = tsoX_map_put(&c->seen, name, c->n);
  if (r < 0) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  if (r == 1) return TSO_OK;
  if (c->n == c->cap) {
    int32_t nc = c->cap ? c->cap * 2 : 8;
    const char **l = realloc(c->list, (size_t)nc * sizeof *l);
    if (!l) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
    c->list = l;
    c->cap = nc;
  }
  c->list[c->n++] = name;
  return TSO_OK;
}

static tso_status walk_attrs(Imp *im, const Onnx__NodeProto *np, const Scope *up, Caps *c, int depth);

/* Records in c the names that subgraph sg reads from outside itself. */
static tso_status walk_graph(Imp *im, const Onnx__GraphProto *sg, const Scope *up, Caps *c, int depth) {
  if (depth > 64) return tsoO_fail(im->err, TSO_ERR_LIMIT, "subgraphs nested more than 64 deep");
  Scope sc;
  sc.up = up;
  size_t ndef = sg->n_input + sg->n_initializer + sg->n_sparse_initializer;
  for (size_t i = 0; i < sg->n_node; i++) ndef += sg->node[i]->n_output;
  if (tsoX_map_init(&sc.names, ndef) != 0) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  tso_status st = TSO_OK;
#define DEF(nm)                                                                                \
  do {                                                                                         \
    const char *n_ = (nm);                                                                     \
    if (n_ && *n_ && (tsoX_map_put(&sc.names, n_, 0) < 0 || tsoX_map_put(&im->m->reserved, n_, 0) < 0)) { \
      st = tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");                                 \
      goto done;                                                                               \
    }                                                                                          \
  } while (0)
  for (size_t i = 0; i < sg->n_input; i++) DEF(sg->input[i]->name);
  for (size_t i = 0; i < sg->n_initializer; i++) DEF(sg->initializer[i]->name);
  for (size_t i = 0; i < sg->n_sparse_initializer; i++)
    if (sg->sparse_initializer[i]->values) DEF(sg->sparse_initializer[i]->values->name);
  for (size_t i = 0; i < sg->n_node; i++)
    for (size_t k = 0; k < sg->node[i]->n_output; k++) DEF(sg->node[i]->output[k]);
#undef DEF
  for (size_t i = 0; i < sg->n_node && st == TSO_OK; i++) {
    const Onnx__NodeProto *np = sg->node[i];
    for (size_t k = 0; k < np->n_input && st == TSO_OK; k++)
      if (np->input[k] && *np->input[k] && !defined_in(&sc, np->input[k])) st = capture(im, c, np->input[k]);
    if (st == TSO_OK) st = walk_attrs(im, np, &sc, c, depth + 1);
  }
  for (size_t i = 0; i < sg->n_output && st == TSO_OK; i++) {
    const char *n = sg->output[i]->name;
    if (n && *n && !defined_in(&sc, n)) st = capture(im, c, n);
  }
done:
  tsoX_map_free(&sc.names);
  return st;
}

static tso_status walk_attrs(Imp *im, const Onnx__NodeProto *np, const Scope *up, Caps *c, int depth) {
  for (size_t a = 0; a < np->n_attribute; a++) {
    const Onnx__AttributeProto *pa = np->attribute[a];
    tso_status st = TSO_OK;
    if (pa->g) st = walk_graph(im, pa->g, up, c, depth);
    for (size_t k = 0; k < pa->n_graphs && st == TSO_OK; k++) st = walk_graph(im, pa->graphs[k], up, c, depth);
    if (st != TSO_OK) return st;
  }
  return TSO_OK;
}

/* ---- one node ----------------------------------------------------------------- */

static tso_status grow_io(Imp *im, size_t need) {
  if (need <= (size_t)im->capio) return TSO_OK;
  if (need > INT32_MAX / 2) return tsoO_fail(im->err, TSO_ERR_LIMIT, "a node has too many inputs or outputs");
  int32_t nc = im->capio ? im->capio : 16;
  while ((size_t)nc < need) nc *= 2;
  int32_t *a = realloc(im->ins, (size_t)nc * sizeof *a);
  if (a) im->ins = a;
  int32_t *b = realloc(im->outs, (size_t)nc * sizeof *b);
  if (b) im->outs = b;
  if (!a || !b) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  im->capio = nc;
  return TSO_OK;
}

static tso_status add_reason(Imp *im, int32_t i, const char *why) {
  tsoX_Model *m = im->m;
  const Onnx__NodeProto *np = im->G->node[i];
  size_t n = strlen(why) + 64 + (np->op_type ? strlen(np->op_type) : 0) + (np->name ? strlen(np->name) : 0);
  char *line = malloc(n);
  char **r = realloc(m->reasons, (size_t)(m->nreasons + 1) * sizeof *r);
  if (r) m->reasons = r;
  if (!line || !r) {
    free(line);
    return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  }
  if (np->name && *np->name) snprintf(line, n, "%s '%s': %s", np->op_type, np->name, why);
  else snprintf(line, n, "%s #%d: %s", np->op_type, (int)i, why);
  m->reasons[m->nreasons++] = line;
  return TSO_OK;
}

static tso_status build_node(Imp *im, int32_t i) {
  tsoX_Model *m = im->m;
  tsoI_Graph *g = im->g;
  const Onnx__NodeProto *np = im->G->node[i];
  tsoX_Src *src = &m->src[i];
  const char *op_type = np->op_type ? np->op_type : "";
  char d[256];
  tso_status st;
  int deflt = tsoX_default_domain(np->domain);
  if (!deflt) {
    size_t n = strlen(np->domain) + strlen(op_type) + 3;
    if (!(src->type = malloc(n))) return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
    snprintf(src->type, n, "%s::%s", np->domain, op_type);
  }
  if ((st = grow_io(im, np->n_input > np->n_output ? np->n_input : np->n_output)) != TSO_OK) return st;
  int nin = (int)np->n_input, nout = (int)np->n_output;
  for (int k = 0; k < nin; k++) {
    const char *nm = np->input[k];
    if (!nm || !*nm) {
      im->ins[k] = -1;
      continue;
    }
    if ((im->ins[k] = tsoX_map_get(&im->names, nm)) < 0)
      return tsoO_fail(im->err, TSO_ERR_INVALID, "%s reads '%s', which no node, input or initializer defines",
                       node_desc(im, i, d, sizeof d), nm);
  }
  for (int k = 0; k < nout; k++) {
    const char *nm = np->output[k];
    if (nm && *nm) {
      im->outs[k] = tsoX_map_get(&im->names, nm);
    } else if ((im->outs[k] = tsoI_add_tensor(g, "", 0, NULL)) < 0) {
      return tsoO_fail(im->err, TSO_ERR_NOMEM, "%s", g->err);
    }
  }
  int op = deflt ? tsoO_from_onnx(op_type) : TSO_OP_NONE;
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  int32_t id = -1;
  if (op != TSO_OP_NONE) {
    const tsoO_Info *oi = tsoO_info(op);
    char why[TSO_ERRMAX] = "";
    if (!oi || !oi->parse) {
      snprintf(why, sizeof why, "no parser for this operator");
    } else if (nin < oi->min_in || nin > oi->max_in || nout < oi->min_out || nout > oi->max_out) {
      snprintf(why, sizeof why, "%d inputs and %d outputs (the table takes %d..%d and %d..%d)", nin, nout,
               oi->min_in, oi->max_in, oi->min_out, oi->max_out);
    } else if (op == TSO_OP_CONSTANT) {
      tso_status fatal = TSO_OK;
      id = constant_node(im, i, np, im->outs[0], why, &fatal);
      if (id == -2) return fatal;
    } else {
      char *strs = NULL, perr[TSO_ERRMAX] = "";
      int na = convert_attrs(im, np, &strs, why);
      if (na == -2) {
        free(strs);
        return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
      }
      if (na >= 0) {
        tso_status pr = oi->parse(&p, im->attrs, na, nin, nout, m->opset, perr);
        if (pr != TSO_OK) {
          snprintf(why, sizeof why, "%s", perr[0] ? perr : "its attributes do not parse");
          memset(&p, 0, sizeof p);
        } else if ((id = tsoI_add_node(g, op, &p, im->ins, nin, im->outs, nout)) < 0) {
          snprintf(why, sizeof why, "%s", g->err);
          memset(&p, 0, sizeof p);
        }
      }
      free(strs);
    }
    if (id < 0) {
      if (!why[0]) snprintf(why, sizeof why, "not supported");
      if ((st = add_reason(im, i, why)) != TSO_OK) return st;
      op = TSO_OP_OPAQUE;
    }
  }
  if (id < 0) { /* opaque: explicit inputs, then what its subgraphs capture */
    op = TSO_OP_OPAQUE;
    Caps c;
    memset(&c, 0, sizeof c);
    st = walk_attrs(im, np, NULL, &c, 0);
    if (st == TSO_OK && c.n) st = grow_io(im, (size_t)nin + (size_t)c.n);
    for (int32_t k = 0; st == TSO_OK && k < c.n; k++) {
      int32_t t = tsoX_map_get(&im->names, c.list[k]);
      if (t < 0)
        st = tsoO_fail(im->err, TSO_ERR_INVALID,
                       "a subgraph of %s reads '%s', which no node, input or initializer defines",
                       node_desc(im, i, d, sizeof d), c.list[k]);
      else
        im->ins[nin + k] = t;
    }
    tsoX_map_free(&c.seen);
    if (st != TSO_OK) {
      free(c.list);
      return st;
    }
    src->cap = c.list;
    src->ncap = c.n;
    p.opaque.nexplicit = nin;
    id = tsoI_add_node(g, TSO_OP_OPAQUE, &p, im->ins, nin + c.n, im->outs, nout);
    if (id < 0) return tsoO_fail(im->err, TSO_ERR_INVALID, "%s: %s", node_desc(im, i, d, sizeof d), g->err);
  }
  g->n[id].origin = i;
  src->op = op;
  src->p = p;
  return TSO_OK;
}

/* ---- the whole graph ------------------------------------------------------------ */

/* Types from value_info and graph outputs for tensors written by nodes. */
static tso_status known_types(Imp *im, Onnx__ValueInfoProto *const *vis, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const Onnx__ValueInfoProto *vi = vis[i];
    int32_t t = vi->name ? tsoX_map_get(&im->names, vi->name) : -1;
    if (t < 0 || t >= im->ntprod || im->tprod[t] < 0) continue;
    int dtype;
    tsoO_Shape s;
    const char *sym[TSO_MAX_RANK];
    tso_status st = value_type(im, vi, 0, &dtype, &s, sym);
    if (st != TSO_OK) return st;
    set_type(&im->g->t[t], dtype, &s, sym);
  }
  return TSO_OK;
}

static tso_status build(Imp *im) {
  tsoX_Model *m = im->m;
  const Onnx__GraphProto *G = im->G;
  tso_status st;
  if (G->n_node > INT32_MAX / 4 || G->n_initializer + G->n_sparse_initializer > INT32_MAX / 4)
    return tsoO_fail(im->err, TSO_ERR_LIMIT, "too many nodes or initializers");
  m->nsrc = (int32_t)G->n_node;
  m->ninit = (int32_t)(G->n_initializer + G->n_sparse_initializer);
  m->src = calloc((size_t)m->nsrc + 1, sizeof *m->src);
  m->init = calloc((size_t)m->ninit + 1, sizeof *m->init);
  size_t ntensors = G->n_input + (size_t)m->ninit;
  for (size_t i = 0; i < G->n_node; i++) ntensors += G->node[i]->n_output;
  if (ntensors > INT32_MAX / 4) return tsoO_fail(im->err, TSO_ERR_LIMIT, "too many tensors");
  im->ntprod = (int32_t)ntensors;
  im->tprod = malloc((ntensors + 1) * sizeof *im->tprod);
  int32_t *initt = malloc(((size_t)m->ninit + 1) * sizeof *initt);
  if (!m->src || !m->init || !im->tprod || !initt || tsoX_map_init(&im->names, ntensors) != 0) {
    free(initt);
    return tsoO_fail(im->err, TSO_ERR_NOMEM, "out of memory");
  }
  if ((st = build_leaves(im, initt)) != TSO_OK) goto done;
  /* one tensor per named node output, so nodes may come in any order */
  for (int32_t i = 0; i < m->nsrc; i++) {
    const Onnx__NodeProto *np = G->node[i];
    for (size_t k = 0; k < np->n_output; k++) {
      const char *nm = np->output[k];
      if (!nm || !*nm) continue;
      int32_t t = tsoI_add_tensor(im->g, nm, 0, NULL);
      if (t < 0) {
        st = tsoO_fail(im->err, TSO_ERR_NOMEM, "%s", im->g->err);
        goto done;
      }
      char d[256];
      if ((st = define(im, nm, t, i, node_desc(im, i, d, sizeof d))) != TSO_OK) goto done;
    }
  }
  if ((st = known_types(im, G->value_info, G->n_value_info)) != TSO_OK ||
      (st = known_types(im, G->output, G->n_output)) != TSO_OK)
    goto done;
  for (int32_t i = 0; i < m->nsrc; i++)
    if ((st = build_node(im, i)) != TSO_OK) goto done;
  for (size_t i = 0; i < G->n_output; i++) {
    const char *nm = G->output[i]->name ? G->output[i]->name : "";
    int32_t t = tsoX_map_get(&im->names, nm);
    if (t < 0) {
      st = tsoO_fail(im->err, TSO_ERR_INVALID, "graph output '%s' is not defined by any node, input or initializer",
                     nm);
      goto done;
    }
    if (tsoI_mark_output(im->g, t) != 0) {
      st = tsoO_fail(im->err, TSO_ERR_NOMEM, "%s", im->g->err);
      goto done;
    }
  }
  /* a name may come twice (as a whole shape and as a dim size, when the
  ** caller cannot tell which is meant): it must match something once */
  for (int i = 0; i < im->nb; i++) {
    int used = im->bused[i];
    for (int j = 0; j < im->nb && !used; j++) used = im->bused[j] && strcmp(im->b[j].name, im->b[i].name) == 0;
    if (!used) {
      st = tsoO_fail(im->err, TSO_ERR_ARG, "binding '%s' matches no graph input or symbolic dimension",
                     im->b[i].name);
      goto done;
    }
  }
  tsoI_uses(im->g);
  for (int32_t k = 0; k < m->ninit; k++) m->init[k].unused = im->g->t[initt[k]].nuses == 0;
  if ((st = tsoI_check(im->g)) != TSO_OK) tsoO_fail(im->err, st, "%s", im->g->err);
done:
  free(initt);
  return st;
}

tso_status tsoX_load(const void *buf, size_t len, const char *dir, const tsoX_Bind *b, int nb,
                     tsoX_Model **out, char *err) {
  *out = NULL;
  if ((!buf && len) || nb < 0 || (nb && !b)) return tsoO_fail(err, TSO_ERR_ARG, "bad arguments to tsoX_load");
  if (!len) return tsoO_fail(err, TSO_ERR_PARSE, "not an ONNX model: the input is empty");
  tso_status nst = tsoX_check_nesting(&onnx__model_proto__descriptor, buf, len, err);
  if (nst != TSO_OK) return nst;
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
  if (!mp)
    return tsoO_fail(err, TSO_ERR_PARSE, "not an ONNX model: protobuf decoding failed (truncated or corrupt data)");
  if (!mp->has_ir_version || !mp->graph) {
    const char *why = !mp->has_ir_version ? "no ir_version field" : "no graph";
    onnx__model_proto__free_unpacked(mp, NULL);
    return tsoO_fail(err, TSO_ERR_PARSE, "not an ONNX model: %s", why);
  }
  tsoX_Model *m = calloc(1, sizeof *m);
  Imp im;
  memset(&im, 0, sizeof im);
  im.bused = calloc((size_t)nb + 1, 1);
  if (!m || !im.bused || !(m->g = tsoI_new()) || (dir && !(m->dir = strdup(dir)))) {
    free(im.bused);
    if (m) tsoI_free(m->g);
    free(m);
    onnx__model_proto__free_unpacked(mp, NULL);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  m->mp = mp;
  m->opset = 1; /* IR version 1/2 models without opset_import */
  for (size_t i = 0; i < mp->n_opset_import; i++)
    if (tsoX_default_domain(mp->opset_import[i]->domain) && mp->opset_import[i]->has_version)
      m->opset = (int)(mp->opset_import[i]->version > INT32_MAX ? INT32_MAX : mp->opset_import[i]->version);
  im.m = m;
  im.g = m->g;
  im.G = mp->graph;
  im.b = b;
  im.nb = nb;
  im.err = err;
  err[0] = 0;
  tso_status st = check_binds(&im);
  if (st == TSO_OK) st = build(&im);
  tsoX_map_free(&im.names);
  free(im.tprod);
  free(im.ins);
  free(im.outs);
  free(im.attrs);
  free(im.bused);
  if (st != TSO_OK) {
    tsoX_free(m);
    return st;
  }
  *out = m;
  return TSO_OK;
}

tso_status tsoX_load_file(const char *path, const tsoX_Bind *b, int nb, tsoX_Model **out, char *err) {
  *out = NULL;
  uint8_t *buf;
  size_t len;
  tso_status st = tsoU_read_file(path, UINT64_MAX, &buf, &len, err);
  if (st != TSO_OK) return st;
  /* external data lives beside the file */
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  if (!dir) st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  else st = tsoX_load(buf, len, dir, b, nb, out, err);
  free(dir);
  free(buf);
  return st;
}
