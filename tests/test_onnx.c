/*
** test_onnx.c -- unit tests of ONNX import and export (onnx/).
**
** Models are built in C with the generated protobuf-c API, packed, and fed
** to the importer. The central property: export(import(bytes)) == bytes for
** an unchanged graph, including opaque operators of other domains,
** subgraphs that capture outer tensors, raw and typed initializers,
** metadata, symbolic dimensions and unknown fields.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/model.h"

static int failures, checks;

#define CHECK(c)                                                          \
  do {                                                                    \
    checks++;                                                             \
    if (!(c)) {                                                           \
      failures++;                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
    }                                                                     \
  } while (0)

#define CHECK_ST(st, want, err)                                                             \
  do {                                                                                      \
    checks++;                                                                               \
    if ((st) != (want)) {                                                                   \
      failures++;                                                                           \
      fprintf(stderr, "%s:%d: status %d, expected %d (%s)\n", __FILE__, __LINE__, (int)(st), \
              (int)(want), err);                                                            \
    }                                                                                       \
  } while (0)

/* ---- building models with protobuf-c -------------------------------------- */

/* Everything a test builds is allocated here and freed by bfree(). */
static void **blocks;
static size_t nblocks, capblocks;

static void *balloc(size_t n) {
  if (nblocks == capblocks) {
    capblocks = capblocks ? capblocks * 2 : 256;
    blocks = realloc(blocks, capblocks * sizeof *blocks);
    if (!blocks) abort();
  }
  void *p = calloc(1, n ? n : 1);
  if (!p) abort();
  return blocks[nblocks++] = p;
}

static void bfree(void) {
  for (size_t i = 0; i < nblocks; i++) free(blocks[i]);
  nblocks = 0;
}

static char *S(const char *s) {
  char *d = balloc(strlen(s) + 1);
  strcpy(d, s);
  return d;
}

/* A list of n strings from a NULL-terminated vararg-free array. */
static char **names(const char *const *v, size_t *n) {
  size_t k = 0;
  while (v[k]) k++;
  char **out = balloc((k + 1) * sizeof *out);
  for (size_t i = 0; i < k; i++) out[i] = S(v[i]);
  *n = k;
  return out;
}

/* dims: -1 with params[i] set: a dim_param; -1 or -2 otherwise: no info;
** any other value (even a bad one): a dim_value. */
static Onnx__ValueInfoProto *vi(const char *name, int elem, int rank, const int64_t *dims,
                                const char *const *params) {
  Onnx__ValueInfoProto *v = balloc(sizeof *v);
  *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  v->name = S(name);
  Onnx__TypeProto *tp = balloc(sizeof *tp);
  *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  Onnx__TypeProto__Tensor *tt = balloc(sizeof *tt);
  *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  tt->has_elem_type = 1;
  tt->elem_type = elem;
  if (rank >= 0) {
    Onnx__TensorShapeProto *sp = balloc(sizeof *sp);
    *sp = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    sp->n_dim = (size_t)rank;
    sp->dim = balloc(((size_t)rank + 1) * sizeof *sp->dim);
    for (int i = 0; i < rank; i++) {
      Onnx__TensorShapeProto__Dimension *d = balloc(sizeof *d);
      *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
      if (dims[i] != -1 && dims[i] != -2) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      } else if (dims[i] == -1 && params && params[i]) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = S(params[i]);
      }
      sp->dim[i] = d;
    }
    tt->shape = sp;
  }
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->type = tp;
  return v;
}

static Onnx__TensorProto *tensor(const char *name, int dtype, int rank, const int64_t *dims) {
  Onnx__TensorProto *t = balloc(sizeof *t);
  *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  if (name) t->name = S(name);
  t->has_data_type = 1;
  t->data_type = dtype;
  t->n_dims = (size_t)rank;
  t->dims = balloc(((size_t)rank + 1) * sizeof *t->dims);
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  return t;
}

static Onnx__TensorProto *tensor_raw(const char *name, int dtype, int rank, const int64_t *dims, const void *data,
                                     size_t nbytes) {
  Onnx__TensorProto *t = tensor(name, dtype, rank, dims);
  t->has_raw_data = 1;
  t->raw_data.len = nbytes;
  t->raw_data.data = balloc(nbytes);
  memcpy(t->raw_data.data, data, nbytes);
  return t;
}

static Onnx__AttributeProto *attr(const char *name, int type) {
  Onnx__AttributeProto *a = balloc(sizeof *a);
  *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  a->name = S(name);
  a->has_type = 1;
  a->type = (Onnx__AttributeProto__AttributeType)type;
  return a;
}

static Onnx__AttributeProto *attr_ints(const char *name, const int64_t *v, size_t n) {
  Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = n;
  a->ints = balloc((n + 1) * sizeof *a->ints);
  memcpy(a->ints, v, n * sizeof *v);
  return a;
}

static Onnx__AttributeProto *attr_str(const char *name, const char *s) {
  Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.len = strlen(s);
  a->s.data = (uint8_t *)S(s);
  return a;
}

static Onnx__NodeProto *node(const char *type, const char *domain, const char *name, const char *const *in,
                             const char *const *out) {
  Onnx__NodeProto *n = balloc(sizeof *n);
  *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  n->op_type = S(type);
  if (domain) n->domain = S(domain);
  if (name) n->name = S(name);
  n->input = names(in, &n->n_input);
  n->output = names(out, &n->n_output);
  return n;
}

static void add_attr(Onnx__NodeProto *n, Onnx__AttributeProto *a) {
  Onnx__AttributeProto **l = balloc((n->n_attribute + 1) * sizeof *l);
  if (n->n_attribute) memcpy(l, n->attribute, n->n_attribute * sizeof *l);
  l[n->n_attribute++] = a;
  n->attribute = l;
}

/* Appends p to the pointer list (*list, *n). */
static void push(void ***list, size_t *n, void *p) {
  void **l = balloc((*n + 1) * sizeof *l);
  if (*n) memcpy(l, *list, *n * sizeof *l);
  l[(*n)++] = p;
  *list = l;
}
#define PUSH(list, n, p) push((void ***)&(list), &(n), (p))

static Onnx__GraphProto *graph(const char *name) {
  Onnx__GraphProto *g = balloc(sizeof *g);
  *g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
  if (name) g->name = S(name);
  return g;
}

static Onnx__ModelProto *model(Onnx__GraphProto *g, int opset) {
  Onnx__ModelProto *m = balloc(sizeof *m);
  *m = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
  m->has_ir_version = 1;
  m->ir_version = 8;
  Onnx__OperatorSetIdProto *os = balloc(sizeof *os);
  *os = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  os->domain = S("");
  os->has_version = 1;
  os->version = opset;
  PUSH(m->opset_import, m->n_opset_import, os);
  m->graph = g;
  return m;
}

static uint8_t *packm(const Onnx__ModelProto *m, size_t *len) {
  *len = onnx__model_proto__get_packed_size(m);
  uint8_t *b = balloc(*len);
  onnx__model_proto__pack(m, b);
  return b;
}

/* An unknown varint field `num` = v on a message. */
static void add_unknown(ProtobufCMessage *msg, uint32_t num, uint8_t v) {
  ProtobufCMessageUnknownField *f = balloc(sizeof *f);
  f->tag = num;
  f->wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
  f->len = 1;
  f->data = balloc(1);
  f->data[0] = v & 0x7f;
  msg->n_unknown_fields = 1;
  msg->unknown_fields = f;
}

static const int64_t D2x3[] = {2, 3}, D3x4[] = {3, 4}, D4[] = {4}, D2[] = {2}, D1[] = {1};

/* ---- the rich model --------------------------------------------------------- */

/* X[N,3] -> MatMul(W raw) -> Add(B typed) -> Relu -> custom op -> If(captures c) -> Y
** plus Constant, Reshape with an int64 shape, metadata, value_info, an
** unknown field, and an unused initializer. */
static Onnx__ModelProto *rich_model(int ai_onnx) {
  Onnx__GraphProto *g = graph("rich");
  g->doc_string = S("a graph doc");
  const char *nparam[] = {"N", NULL};
  int64_t dx[] = {-1, 3};
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 2, dx, nparam));
  PUSH(g->input, g->n_input, vi("cond", TSO_DT_BOOL, 0, NULL, NULL));
  float w[12];
  for (int i = 0; i < 12; i++) w[i] = (float)i * 0.5f;
  PUSH(g->initializer, g->n_initializer, tensor_raw("W", TSO_DT_FLOAT, 2, D3x4, w, sizeof w));
  Onnx__TensorProto *b = tensor("B", TSO_DT_FLOAT, 1, D4);
  b->n_float_data = 4;
  b->float_data = balloc(4 * sizeof(float));
  for (int i = 0; i < 4; i++) b->float_data[i] = (float)i;
  PUSH(g->initializer, g->n_initializer, b);
  Onnx__TensorProto *shp = tensor("shape", TSO_DT_INT64, 1, D2);
  shp->n_int64_data = 2;
  shp->int64_data = balloc(2 * sizeof(int64_t));
  shp->int64_data[0] = -1;
  shp->int64_data[1] = 2;
  PUSH(g->initializer, g->n_initializer, shp);
  Onnx__TensorProto *i8 = tensor("unused_i8", TSO_DT_INT8, 1, D2);
  i8->n_int32_data = 2;
  i8->int32_data = balloc(2 * sizeof(int32_t));
  i8->int32_data[0] = -3;
  i8->int32_data[1] = 7;
  PUSH(g->initializer, g->n_initializer, i8);

  const char *mm_in[] = {"X", "W", NULL}, *mm_out[] = {"xw", NULL};
  Onnx__NodeProto *mm = node("MatMul", NULL, "mm", mm_in, mm_out);
  mm->doc_string = S("node doc");
  add_unknown(&mm->base, 99, 5);
  PUSH(g->node, g->n_node, mm);
  const char *add_in[] = {"xw", "B", NULL}, *add_out[] = {"xwb", NULL};
  PUSH(g->node, g->n_node, node("Add", "", "add", add_in, add_out));
  const char *relu_in[] = {"xwb", NULL}, *relu_out[] = {"r", NULL};
  /* "ai.onnx" is the default domain for us, not for the ONNX checker */
  PUSH(g->node, g->n_node, node("Relu", ai_onnx ? "ai.onnx" : NULL, "relu", relu_in, relu_out));
  const char *cst_out[] = {"c", NULL}, *none[] = {NULL};
  Onnx__NodeProto *cst = node("Constant", NULL, "const", none, cst_out);
  float cv[2] = {10.0f, 20.0f};
  Onnx__AttributeProto *va = attr("value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  va->t = tensor_raw(NULL, TSO_DT_FLOAT, 1, D2, cv, sizeof cv);
  add_attr(cst, va);
  PUSH(g->node, g->n_node, cst);
  const char *cu_in[] = {"r", "", NULL}, *cu_out[] = {"u", NULL};
  Onnx__NodeProto *cu = node("MyOp", "com.example", "custom", cu_in, cu_out);
  add_attr(cu, attr_str("mode", "fancy"));
  int64_t iv[] = {1, 2, 3};
  add_attr(cu, attr_ints("list", iv, 3));
  PUSH(g->node, g->n_node, cu);
  const char *rs_in[] = {"u", "shape", NULL}, *rs_out[] = {"rs", NULL};
  PUSH(g->node, g->n_node, node("Reshape", NULL, "reshape", rs_in, rs_out));
  /* If: the then branch adds the outer 'c' (a capture), the else branch
  ** returns 'rs' itself (a capture through a subgraph output) */
  Onnx__GraphProto *thn = graph("then");
  const char *ta_in[] = {"rs", "c", NULL}, *ta_out[] = {"t_out", NULL};
  PUSH(thn->node, thn->n_node, node("Add", NULL, "t_add", ta_in, ta_out));
  PUSH(thn->output, thn->n_output, vi("t_out", TSO_DT_FLOAT, -1, NULL, NULL));
  Onnx__GraphProto *els = graph("else");
  const char *ei_in[] = {"rs", NULL}, *ei_out[] = {"e_out", NULL};
  PUSH(els->node, els->n_node, node("Identity", NULL, "e_id", ei_in, ei_out));
  PUSH(els->output, els->n_output, vi("e_out", TSO_DT_FLOAT, -1, NULL, NULL));
  const char *if_in[] = {"cond", NULL}, *if_out[] = {"Y", NULL};
  Onnx__NodeProto *ifn = node("If", NULL, "if", if_in, if_out);
  Onnx__AttributeProto *tb = attr("then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  tb->g = thn;
  Onnx__AttributeProto *eb = attr("else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  eb->g = els;
  add_attr(ifn, tb);
  add_attr(ifn, eb);
  PUSH(g->node, g->n_node, ifn);
  int64_t dy[] = {-1, 2};
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 2, dy, NULL));
  PUSH(g->value_info, g->n_value_info, vi("u", TSO_DT_FLOAT, 2, dx, nparam));
  Onnx__ModelProto *m = model(g, 17);
  Onnx__OperatorSetIdProto *os = balloc(sizeof *os);
  *os = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  os->domain = S("com.example");
  os->has_version = 1;
  os->version = 1;
  PUSH(m->opset_import, m->n_opset_import, os);

  m->producer_name = S("test_onnx");
  m->producer_version = S("1.0");
  m->doc_string = S("model doc");
  m->has_model_version = 1;
  m->model_version = 42;
  Onnx__StringStringEntryProto *kv = balloc(sizeof *kv);
  *kv = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  kv->key = S("author");
  kv->value = S("someone");
  PUSH(m->metadata_props, m->n_metadata_props, kv);
  add_unknown(&m->base, 77, 1);
  return m;
}

static int32_t find_node_by_origin(const tsoI_Graph *g, int32_t origin) {
  for (int32_t i = 0; i < g->nn; i++)
    if (g->n[i].origin == origin) return i;
  return -1;
}

static void test_roundtrip_rich(void) {
  size_t len;
  uint8_t *bytes = packm(rich_model(1), &len);
  tsoX_Model *m = NULL;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st != TSO_OK) {
    bfree();
    return;
  }
  tsoI_Graph *g = tsoX_graph(m);
  CHECK(tsoX_opset(m) == 17);
  CHECK(g->nn == 7);
  CHECK(g->ninputs == 2 && g->noutputs == 1);
  /* symbolic dim */
  const tsoI_Tensor *x = &g->t[g->inputs[0]];
  CHECK(x->shape.rank == 2 && x->shape.d[0] == -1 && x->shape.d[1] == 3);
  CHECK(x->dimsym[0] && strcmp(x->dimsym[0], "N") == 0);
  /* initializers: raw borrowed, typed decoded */
  int32_t w = tsoI_find(g, "W"), b = tsoI_find(g, "B"), i8 = tsoI_find(g, "unused_i8");
  CHECK(w >= 0 && (g->t[w].flags & TSO_T_CONST) && g->t[w].nbytes == 48 && g->t[w].origin == 0);
  CHECK(w >= 0 && ((const float *)g->t[w].data)[3] == 1.5f);
  CHECK(b >= 0 && ((const float *)g->t[b].data)[2] == 2.0f);
  CHECK(i8 >= 0 && g->t[i8].nbytes == 2 && ((const int8_t *)g->t[i8].data)[0] == -3);
  /* the custom-domain op and the If are opaque; If captures 'rs' and 'c' */
  CHECK(strcmp(tsoX_node_type(m, 4), "com.example::MyOp") == 0);
  CHECK(strcmp(tsoX_node_type(m, 0), "MatMul") == 0);
  int32_t cu = find_node_by_origin(g, 4), ifn = find_node_by_origin(g, 6), cn = find_node_by_origin(g, 3);
  CHECK(cu >= 0 && g->n[cu].op == TSO_OP_OPAQUE && g->n[cu].nin == 2 && TSO_IN(g, &g->n[cu], 1) == -1);
  CHECK(ifn >= 0 && g->n[ifn].op == TSO_OP_OPAQUE && g->n[ifn].p.opaque.nexplicit == 1 && g->n[ifn].nin == 3);
  if (ifn >= 0 && g->n[ifn].nin == 3) {
    CHECK(strcmp(g->t[TSO_IN(g, &g->n[ifn], 1)].name, "rs") == 0);
    CHECK(strcmp(g->t[TSO_IN(g, &g->n[ifn], 2)].name, "c") == 0);
  }
  /* the Constant node stays, its output holds the value */
  CHECK(cn >= 0 && g->n[cn].op == TSO_OP_CONSTANT);
  if (cn >= 0) {
    const tsoI_Tensor *c = &g->t[TSO_OUT(g, &g->n[cn], 0)];
    CHECK((c->flags & TSO_T_CONST) && c->dtype == TSO_DT_FLOAT && c->shape.rank == 1 && c->data &&
          ((const float *)c->data)[1] == 20.0f);
  }
  /* value_info typed the opaque output */
  int32_t u = tsoI_find(g, "u");
  CHECK(u >= 0 && g->t[u].dtype == TSO_DT_FLOAT && g->t[u].shape.rank == 2);
  /* dead-node removal keeps what the If reads */
  CHECK(tsoI_remove_dead(g) == 0);
  const char *const *msgs;
  CHECK(tsoX_opaque_reasons(m, &msgs) == 0);
  uint8_t *out;
  size_t olen;
  st = tsoX_serialize(m, &out, &olen, err);
  CHECK_ST(st, TSO_OK, err);
  CHECK(st == TSO_OK && olen == len && memcmp(out, bytes, len) == 0);
  if (st == TSO_OK) free(out);
  /* after shape inference and a clone the bytes are still the same */
  tsoI_Graph *c = tsoI_clone(g);
  CHECK(c != NULL);
  tsoX_set_graph(m, c);
  st = tsoX_serialize(m, &out, &olen, err);
  CHECK_ST(st, TSO_OK, err);
  CHECK(st == TSO_OK && olen == len && memcmp(out, bytes, len) == 0);
  if (st == TSO_OK) free(out);
  tsoX_free(m);
  bfree();
}

/* A table node that cannot be parsed becomes opaque with a reason; a dead
** subgraph producer is kept alive by the capture. */
static void test_opaque_reasons(void) {
  Onnx__GraphProto *g = graph("g");
  int64_t d[] = {1, 1, 4, 4, 4};
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 5, d, NULL));
  PUSH(g->input, g->n_input, vi("Wt", TSO_DT_FLOAT, 5, d, NULL));
  const char *in[] = {"X", "Wt", NULL}, *out[] = {"Y", NULL};
  Onnx__NodeProto *conv = node("Conv", NULL, "conv3", in, out);
  int64_t k[] = {1, 1, 1};
  add_attr(conv, attr_ints("kernel_shape", k, 3));
  PUSH(g->node, g->n_node, conv);
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, -1, NULL, NULL));
  size_t len;
  uint8_t *bytes = packm(model(g, 13), &len);
  tsoX_Model *m;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    const char *const *msgs;
    CHECK(tsoX_opaque_reasons(m, &msgs) == 1);
    CHECK(strncmp(msgs[0], "Conv 'conv3': ", 14) == 0);
    CHECK(tsoX_graph(m)->n[0].op == TSO_OP_OPAQUE);
    uint8_t *o;
    size_t n;
    CHECK(tsoX_serialize(m, &o, &n, err) == TSO_OK && n == len && memcmp(o, bytes, n) == 0);
    free(o);
    tsoX_free(m);
  }
  bfree();
}

/* ---- errors ------------------------------------------------------------------ */

static Onnx__ModelProto *relu_model(const char *in_name, const char *relu_in) {
  Onnx__GraphProto *g = graph("g");
  PUSH(g->input, g->n_input, vi(in_name, TSO_DT_FLOAT, 2, D2x3, NULL));
  const char *in[] = {relu_in, NULL}, *out[] = {"Y", NULL};
  PUSH(g->node, g->n_node, node("Relu", NULL, "relu", in, out));
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 2, D2x3, NULL));
  return model(g, 17);
}

static tso_status load_model(const Onnx__ModelProto *mp, char *err) {
  size_t len;
  uint8_t *bytes = packm(mp, &len);
  tsoX_Model *m = NULL;
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  tsoX_free(m);
  return st;
}

static void test_errors(void) {
  char err[TSO_ERRMAX];
  size_t len;
  uint8_t *bytes = packm(rich_model(1), &len);
  tsoX_Model *m = NULL;
  /* truncation: never a crash, never a half model; one byte short is a parse error */
  CHECK_ST(tsoX_load(bytes, len - 1, NULL, NULL, 0, &m, err), TSO_ERR_PARSE, err);
  CHECK(strncmp(err, "not an ONNX model: ", 19) == 0 && !strchr(err, '\n'));
  for (size_t cut = 0; cut < len; cut++) {
    tso_status st = tsoX_load(bytes, cut, NULL, NULL, 0, &m, err);
    if (st == TSO_OK) tsoX_free(m);
    else CHECK(m == NULL);
  }
  CHECK_ST(tsoX_load(bytes, 0, NULL, NULL, 0, &m, err), TSO_ERR_PARSE, err);
  /* garbage */
  uint8_t junk[256];
  uint32_t seed = 12345;
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < sizeof junk; i++) {
      seed = seed * 1103515245u + 12345u;
      junk[i] = (uint8_t)(seed >> 16);
    }
    tso_status st = tsoX_load(junk, sizeof junk, NULL, NULL, 0, &m, err);
    if (st == TSO_OK) tsoX_free(m);
  }
  /* hostile nesting (graph in attribute in node in graph ...) is refused,
  ** not followed down until the stack runs out */
  size_t cap = 1 << 20, dl = 0;
  uint8_t *deep = malloc(cap), *tmp = malloc(cap);
  for (int level = 0; deep && tmp && level < 20000; level++) {
    /* wrap: Attribute{name="g", g=<G>} -> Node{attribute} -> Graph{node} */
    const uint8_t tags[3] = {(6 << 3) | 2, (5 << 3) | 2, (1 << 3) | 2};
    for (int w = 0; w < 3; w++) {
      size_t k = 0;
      if (w == 0) {
        tmp[k++] = (1 << 3) | 2;
        tmp[k++] = 1;
        tmp[k++] = 'g';
      }
      tmp[k++] = tags[w];
      for (size_t v = dl; ; v >>= 7) {
        tmp[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f) break;
      }
      if (k + dl + 16 > cap) break;
      memcpy(tmp + k, deep, dl);
      memcpy(deep, tmp, k + dl);
      dl += k;
    }
  }
  if (deep && tmp && dl + 16 < cap) {
    size_t k = 0;
    tmp[k++] = 1 << 3; /* ir_version 8 */
    tmp[k++] = 8;
    tmp[k++] = (7 << 3) | 2;
    for (size_t v = dl; ; v >>= 7) {
      tmp[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
      if (v <= 0x7f) break;
    }
    memcpy(tmp + k, deep, dl);
    CHECK_ST(tsoX_load(tmp, k + dl, NULL, NULL, 0, &m, err), TSO_ERR_LIMIT, err);
    CHECK(strstr(err, "nested") != NULL);
  }
  free(deep);
  free(tmp);
  const char text[] = "this is not a model at all";
  CHECK(tsoX_load(text, sizeof text, NULL, NULL, 0, &m, err) != TSO_OK);
  /* a model without a graph */
  Onnx__ModelProto *ng = model(NULL, 17);
  CHECK_ST(load_model(ng, err), TSO_ERR_PARSE, err);
  CHECK(strstr(err, "no graph") != NULL);
  bfree();

  /* dangling input */
  CHECK_ST(load_model(relu_model("X", "nope"), err), TSO_ERR_INVALID, err);
  CHECK(strstr(err, "node 'relu' (Relu) reads 'nope'") != NULL);
  bfree();

  /* a name written twice */
  Onnx__ModelProto *dup = relu_model("X", "X");
  const char *in[] = {"X", NULL}, *out[] = {"Y", NULL};
  PUSH(dup->graph->node, dup->graph->n_node, node("Sigmoid", NULL, "sig", in, out));
  CHECK_ST(load_model(dup, err), TSO_ERR_INVALID, err);
  CHECK(strstr(err, "defined twice") != NULL);
  bfree();
  /* a node writing a graph input */
  Onnx__ModelProto *wi = relu_model("X", "X");
  const char *o2[] = {"X", NULL};
  PUSH(wi->graph->node, wi->graph->n_node, node("Sigmoid", NULL, "sig", in, o2));
  CHECK_ST(load_model(wi, err), TSO_ERR_INVALID, err);
  bfree();
  /* an output nothing defines */
  Onnx__ModelProto *uo = relu_model("X", "X");
  PUSH(uo->graph->output, uo->graph->n_output, vi("Z", TSO_DT_FLOAT, -1, NULL, NULL));
  CHECK_ST(load_model(uo, err), TSO_ERR_INVALID, err);
  CHECK(strstr(err, "'Z'") != NULL);
  bfree();
  /* a cycle */
  Onnx__GraphProto *cg = graph("cyc");
  PUSH(cg->input, cg->n_input, vi("X", TSO_DT_FLOAT, 1, D2, NULL));
  const char *a_in[] = {"X", "b", NULL}, *a_out[] = {"a", NULL}, *b_in[] = {"a", NULL}, *b_out[] = {"b", NULL};
  PUSH(cg->node, cg->n_node, node("Add", NULL, "A", a_in, a_out));
  PUSH(cg->node, cg->n_node, node("Relu", NULL, "B", b_in, b_out));
  PUSH(cg->output, cg->n_output, vi("b", TSO_DT_FLOAT, -1, NULL, NULL));
  CHECK_ST(load_model(model(cg, 17), err), TSO_ERR_INVALID, err);
  CHECK(strstr(err, "cycle") != NULL);
  bfree();

  /* absurd dimensions */
  int64_t neg[] = {2, -5};
  Onnx__ModelProto *ad = relu_model("X", "X");
  ad->graph->input[0] = vi("X", TSO_DT_FLOAT, 2, neg, NULL);
  CHECK_ST(load_model(ad, err), TSO_ERR_LIMIT, err);
  CHECK(strstr(err, "absurd dimension") != NULL);
  bfree();
  int64_t huge[] = {2, (int64_t)1 << 41};
  ad = relu_model("X", "X");
  ad->graph->input[0] = vi("X", TSO_DT_FLOAT, 2, huge, NULL);
  CHECK_ST(load_model(ad, err), TSO_ERR_LIMIT, err);
  bfree();
  int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  ad = relu_model("X", "X");
  ad->graph->input[0] = vi("X", TSO_DT_FLOAT, 9, nine, NULL);
  CHECK_ST(load_model(ad, err), TSO_ERR_LIMIT, err);
  bfree();
  ad = relu_model("X", "X");
  int64_t big[] = {(int64_t)1 << 30, (int64_t)1 << 30};
  PUSH(ad->graph->initializer, ad->graph->n_initializer, tensor("T", TSO_DT_FLOAT, 2, big));
  CHECK_ST(load_model(ad, err), TSO_ERR_LIMIT, err);
  bfree();
  /* initializer data of the wrong size names the initializer */
  ad = relu_model("X", "X");
  float two[2] = {1, 2};
  PUSH(ad->graph->initializer, ad->graph->n_initializer, tensor_raw("bad_init", TSO_DT_FLOAT, 2, D2x3, two, sizeof two));
  CHECK_ST(load_model(ad, err), TSO_ERR_INVALID, err);
  CHECK(strstr(err, "bad_init") != NULL);
  bfree();
  ad = relu_model("X", "X");
  Onnx__TensorProto *tf = tensor("bad_typed", TSO_DT_INT64, 1, D2);
  tf->n_int64_data = 1;
  tf->int64_data = balloc(sizeof(int64_t));
  PUSH(ad->graph->initializer, ad->graph->n_initializer, tf);
  CHECK_ST(load_model(ad, err), TSO_ERR_INVALID, err);
  CHECK(strstr(err, "bad_typed") != NULL);
  bfree();
}

/* ---- initializers of every form, old IR style, sparse, out of order ------------------ */

static void test_initializers(void) {
  Onnx__GraphProto *g = graph("inits");
  Onnx__TensorProto *t;
  /* int32_data carrying narrower types */
  const int types[] = {TSO_DT_INT8, TSO_DT_UINT8, TSO_DT_BOOL, TSO_DT_INT16, TSO_DT_FLOAT16, TSO_DT_INT32};
  const char *tn[] = {"i8", "u8", "b", "i16", "f16", "i32"};
  for (int k = 0; k < 6; k++) {
    t = tensor(tn[k], types[k], 1, D2);
    t->n_int32_data = 2;
    t->int32_data = balloc(2 * sizeof(int32_t));
    t->int32_data[0] = types[k] == TSO_DT_FLOAT16 ? 0x3c00 : 1;
    t->int32_data[1] = types[k] == TSO_DT_INT8 || types[k] == TSO_DT_INT16 || types[k] == TSO_DT_INT32 ? -2 : 0;
    PUSH(g->initializer, g->n_initializer, t);
  }
  t = tensor("d", TSO_DT_DOUBLE, 1, D1);
  t->n_double_data = 1;
  t->double_data = balloc(sizeof(double));
  t->double_data[0] = 2.5;
  PUSH(g->initializer, g->n_initializer, t);
  t = tensor("u32", TSO_DT_UINT32, 1, D1);
  t->n_uint64_data = 1;
  t->uint64_data = balloc(sizeof(uint64_t));
  t->uint64_data[0] = 4000000000u;
  PUSH(g->initializer, g->n_initializer, t);
  /* old IR style: an initializer that is also a graph input */
  float xv[6] = {1, -2, 3, -4, 5, -6};
  PUSH(g->initializer, g->n_initializer, tensor_raw("X", TSO_DT_FLOAT, 2, D2x3, xv, sizeof xv));
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 2, D2x3, NULL));
  /* a sparse initializer: values at linear indices */
  Onnx__SparseTensorProto *sp = balloc(sizeof *sp);
  *sp = (Onnx__SparseTensorProto)ONNX__SPARSE_TENSOR_PROTO__INIT;
  float sv[2] = {7, 8};
  int64_t si[2] = {1, 5};
  sp->values = tensor_raw("S", TSO_DT_FLOAT, 1, D2, sv, sizeof sv);
  sp->indices = tensor_raw(NULL, TSO_DT_INT64, 1, D2, si, sizeof si);
  sp->n_dims = 2;
  sp->dims = balloc(2 * sizeof(int64_t));
  sp->dims[0] = 2;
  sp->dims[1] = 3;
  PUSH(g->sparse_initializer, g->n_sparse_initializer, sp);
  /* nodes out of order: Y = Relu(Add(X, S)) written Relu first */
  const char *r_in[] = {"s", NULL}, *r_out[] = {"Y", NULL}, *a_in[] = {"X", "S", NULL}, *a_out[] = {"s", NULL};
  PUSH(g->node, g->n_node, node("Relu", NULL, "relu", r_in, r_out));
  PUSH(g->node, g->n_node, node("Add", NULL, "add", a_in, a_out));
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 2, D2x3, NULL));
  Onnx__ModelProto *mp = model(g, 17);
  mp->ir_version = 3;
  size_t len;
  uint8_t *bytes = packm(mp, &len);
  tsoX_Model *m;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st != TSO_OK) {
    bfree();
    return;
  }
  tsoI_Graph *gr = tsoX_graph(m);
  int32_t id;
  id = tsoI_find(gr, "i8");
  CHECK(id >= 0 && ((const int8_t *)gr->t[id].data)[1] == -2);
  id = tsoI_find(gr, "u8");
  CHECK(id >= 0 && ((const uint8_t *)gr->t[id].data)[0] == 1);
  id = tsoI_find(gr, "b");
  CHECK(id >= 0 && gr->t[id].nbytes == 2 && ((const uint8_t *)gr->t[id].data)[0] == 1);
  id = tsoI_find(gr, "i16");
  CHECK(id >= 0 && ((const int16_t *)gr->t[id].data)[1] == -2);
  id = tsoI_find(gr, "f16");
  CHECK(id >= 0 && ((const uint16_t *)gr->t[id].data)[0] == 0x3c00);
  id = tsoI_find(gr, "i32");
  CHECK(id >= 0 && ((const int32_t *)gr->t[id].data)[1] == -2);
  id = tsoI_find(gr, "d");
  CHECK(id >= 0 && ((const double *)gr->t[id].data)[0] == 2.5);
  id = tsoI_find(gr, "u32");
  CHECK(id >= 0 && ((const uint32_t *)gr->t[id].data)[0] == 4000000000u);
  id = tsoI_find(gr, "X");
  CHECK(id >= 0 && (gr->t[id].flags & (TSO_T_INPUT | TSO_T_CONST)) == (TSO_T_INPUT | TSO_T_CONST));
  CHECK(gr->ninputs == 1);
  id = tsoI_find(gr, "S");
  CHECK(id >= 0 && gr->t[id].nbytes == 24 && ((const float *)gr->t[id].data)[1] == 7 &&
        ((const float *)gr->t[id].data)[5] == 8 && ((const float *)gr->t[id].data)[0] == 0);
  /* the nodes are written in topological order: not the same bytes, same content */
  uint8_t *out;
  size_t olen;
  st = tsoX_serialize(m, &out, &olen, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    Onnx__ModelProto *back = onnx__model_proto__unpack(NULL, olen, out);
    CHECK(back && back->graph->n_node == 2 && strcmp(back->graph->node[0]->op_type, "Add") == 0);
    CHECK(back && back->graph->n_initializer == 9 && back->graph->n_sparse_initializer == 1);
    CHECK(back && back->ir_version == 3);
    /* written in order again, the model comes back byte for byte */
    Onnx__NodeProto *tmp = mp->graph->node[0];
    mp->graph->node[0] = mp->graph->node[1];
    mp->graph->node[1] = tmp;
    size_t l2;
    uint8_t *sorted = packm(mp, &l2);
    CHECK(l2 == olen && memcmp(sorted, out, olen) == 0);
    onnx__model_proto__free_unpacked(back, NULL);
    free(out);
  }
  tsoX_free(m);
  bfree();
}

/* ---- bindings ---------------------------------------------------------------------- */

static void test_bindings(void) {
  Onnx__GraphProto *g = graph("b");
  const char *par[] = {"batch", NULL};
  int64_t d[] = {-1, 3};
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 2, d, par));
  const char *in[] = {"X", NULL}, *out[] = {"Y", NULL};
  PUSH(g->node, g->n_node, node("Relu", NULL, "relu", in, out));
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 2, d, par));
  size_t len;
  uint8_t *bytes = packm(model(g, 17), &len);
  char err[TSO_ERRMAX];
  tsoX_Model *m;
  tsoX_Bind b;
  memset(&b, 0, sizeof b);
  b.name = "batch";
  b.value = 8;
  tso_status st = tsoX_load(bytes, len, NULL, &b, 1, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    const tsoI_Tensor *x = &tsoX_graph(m)->t[tsoX_graph(m)->inputs[0]];
    CHECK(x->shape.d[0] == 8 && x->dimsym[0] == NULL);
    /* the bound input is written with its concrete shape */
    uint8_t *o;
    size_t n;
    CHECK(tsoX_serialize(m, &o, &n, err) == TSO_OK);
    Onnx__ModelProto *back = onnx__model_proto__unpack(NULL, n, o);
    CHECK(back && back->graph->input[0]->type->tensor_type->shape->dim[0]->dim_value == 8);
    onnx__model_proto__free_unpacked(back, NULL);
    free(o);
    tsoX_free(m);
  }
  b.name = "X";
  b.whole = 1;
  b.shape.rank = 2;
  b.shape.d[0] = 4;
  b.shape.d[1] = 3;
  st = tsoX_load(bytes, len, NULL, &b, 1, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    CHECK(tsoX_graph(m)->t[tsoX_graph(m)->inputs[0]].shape.d[0] == 4);
    tsoX_free(m);
  }
  /* the same name as a whole shape and as a dim size: the matching one is used */
  tsoX_Bind two[2];
  memset(two, 0, sizeof two);
  two[0].name = two[1].name = "batch";
  two[0].whole = 1;
  two[0].shape.rank = 1;
  two[0].shape.d[0] = 6;
  two[1].value = 6;
  st = tsoX_load(bytes, len, NULL, two, 2, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    CHECK(tsoX_graph(m)->t[tsoX_graph(m)->inputs[0]].shape.d[0] == 6);
    tsoX_free(m);
  }
  b.shape.d[1] = 5; /* contradicts the model's 3 */
  CHECK_ST(tsoX_load(bytes, len, NULL, &b, 1, &m, err), TSO_ERR_ARG, err);
  b.name = "nosuch";
  CHECK_ST(tsoX_load(bytes, len, NULL, &b, 1, &m, err), TSO_ERR_ARG, err);
  bfree();
}

/* ---- external data ----------------------------------------------------------------- */

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  closedir(d);
  return n;
}

static int write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : -1;
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char p[1024];
  while ((de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    struct stat sb;
    if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      chmod(p, 0700);
      rm_tree(p);
    } else {
      unlink(p);
    }
  }
  closedir(d);
  rmdir(dir);
}

static Onnx__ModelProto *external_model(const char *location) {
  Onnx__GraphProto *g = graph("ext");
  int64_t d[] = {16, 32};
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 2, d, NULL));
  Onnx__TensorProto *w = tensor("W", TSO_DT_FLOAT, 2, d);
  w->has_data_location = 1;
  w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  const char *keys[] = {"location", "offset", "length"}, *vals[] = {location, "64", "2048"};
  for (int i = 0; i < 3; i++) {
    Onnx__StringStringEntryProto *kv = balloc(sizeof *kv);
    *kv = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    kv->key = S(keys[i]);
    kv->value = S(vals[i]);
    PUSH(w->external_data, w->n_external_data, kv);
  }
  PUSH(g->initializer, g->n_initializer, w);
  const char *in[] = {"X", "W", NULL}, *out[] = {"Y", NULL};
  PUSH(g->node, g->n_node, node("Add", NULL, "add", in, out));
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 2, d, NULL));
  return model(g, 17);
}

static void test_external(void) {
  char dir[] = "/tmp/test_onnx_XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0 && "mkdtemp");
    return;
  }
  char p[512], err[TSO_ERRMAX];
  /* data file: 64 bytes of padding, then 512 floats */
  unsigned char data[64 + 2048];
  memset(data, 0xee, 64);
  for (int i = 0; i < 512; i++) {
    float f = (float)i;
    memcpy(data + 64 + 4 * i, &f, 4);
  }
  snprintf(p, sizeof p, "%s/w.bin", dir);
  CHECK(write_bytes(p, data, sizeof data) == 0);
  size_t len;
  uint8_t *bytes = packm(external_model("w.bin"), &len);
  snprintf(p, sizeof p, "%s/model.onnx", dir);
  CHECK(write_bytes(p, bytes, len) == 0);
  tsoX_Model *m;
  tso_status st = tsoX_load_file(p, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    tsoI_Graph *g = tsoX_graph(m);
    int32_t w = tsoI_find(g, "W");
    CHECK(w >= 0 && (g->t[w].flags & TSO_T_EXTERNAL) && ((const float *)g->t[w].data)[511] == 511.0f);
    /* unchanged graph, same folder layout: byte-identical model */
    uint8_t *o;
    size_t n;
    CHECK(tsoX_serialize(m, &o, &n, err) == TSO_OK);
    Onnx__ModelProto *back = onnx__model_proto__unpack(NULL, n, o); /* serialize inlines the data */
    CHECK(back && back->graph->initializer[0]->has_raw_data && back->graph->initializer[0]->raw_data.len == 2048 &&
          !back->graph->initializer[0]->n_external_data);
    onnx__model_proto__free_unpacked(back, NULL);
    free(o);
    /* save: model + "<name>.data" beside it */
    snprintf(p, sizeof p, "%s/out.onnx", dir);
    st = tsoX_save(m, p, err);
    CHECK_ST(st, TSO_OK, err);
    tsoX_free(m);
    snprintf(p, sizeof p, "%s/out.onnx.data", dir);
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && sb.st_size == 2048);
    CHECK(count_entries(dir) == 4); /* w.bin model.onnx out.onnx out.onnx.data: no temporaries */
    snprintf(p, sizeof p, "%s/out.onnx", dir);
    st = tsoX_load_file(p, NULL, 0, &m, err);
    CHECK_ST(st, TSO_OK, err);
    if (st == TSO_OK) {
      g = tsoX_graph(m);
      w = tsoI_find(g, "W");
      CHECK(w >= 0 && (g->t[w].flags & TSO_T_EXTERNAL) && ((const float *)g->t[w].data)[100] == 100.0f);
      /* saving over itself works too: the old data stays mapped */
      st = tsoX_save(m, p, err);
      CHECK_ST(st, TSO_OK, err);
      tsoX_free(m);
      st = tsoX_load_file(p, NULL, 0, &m, err);
      CHECK_ST(st, TSO_OK, err);
      if (st == TSO_OK) {
        g = tsoX_graph(m);
        w = tsoI_find(g, "W");
        CHECK(w >= 0 && ((const float *)g->t[w].data)[300] == 300.0f);
        tsoX_free(m);
      }
    }
  }
  /* locations that leave the folder are refused */
  bytes = packm(external_model("../w.bin"), &len);
  CHECK_ST(tsoX_load(bytes, len, dir, NULL, 0, &m, err), TSO_ERR_INVALID, err);
  bytes = packm(external_model("/etc/passwd"), &len);
  CHECK_ST(tsoX_load(bytes, len, dir, NULL, 0, &m, err), TSO_ERR_INVALID, err);
  /* a missing file or no folder */
  bytes = packm(external_model("missing.bin"), &len);
  CHECK_ST(tsoX_load(bytes, len, dir, NULL, 0, &m, err), TSO_ERR_IO, err);
  bytes = packm(external_model("w.bin"), &len);
  CHECK_ST(tsoX_load(bytes, len, NULL, NULL, 0, &m, err), TSO_ERR_IO, err);
  /* a data file too short */
  snprintf(p, sizeof p, "%s/short.bin", dir);
  CHECK(write_bytes(p, data, 100) == 0);
  bytes = packm(external_model("short.bin"), &len);
  CHECK_ST(tsoX_load(bytes, len, dir, NULL, 0, &m, err), TSO_ERR_INVALID, err);
  rm_tree(dir);
  bfree();
}

/* Y = X + W + B with inline W (float[1024], 4096 bytes) and B (float[1], 4
** bytes): 4100 bytes of constants. */
static Onnx__ModelProto *inline_model(void) {
  Onnx__GraphProto *g = graph("inl");
  int64_t d[] = {1024}, d1[] = {1};
  float w[1024], b = 0.5f;
  for (int i = 0; i < 1024; i++) w[i] = (float)i * 0.125f;
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 1, d, NULL));
  PUSH(g->initializer, g->n_initializer, tensor_raw("W", TSO_DT_FLOAT, 1, d, w, sizeof w));
  PUSH(g->initializer, g->n_initializer, tensor_raw("B", TSO_DT_FLOAT, 1, d1, &b, sizeof b));
  const char *in1[] = {"X", "W", NULL}, *out1[] = {"T", NULL}, *in2[] = {"T", "B", NULL}, *out2[] = {"Y", NULL};
  PUSH(g->node, g->n_node, node("Add", NULL, "add1", in1, out1));
  PUSH(g->node, g->n_node, node("Add", NULL, "add2", in2, out2));
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 1, d, NULL));
  return model(g, 17);
}

/* Saves the inline model with the given threshold (0: the default) to
** dir/thr.onnx and returns how it came out: 1 external (W in thr.onnx.data,
** B inline), 0 inline (no data file), -1 anything else. */
static int save_with_threshold(const char *dir, uint64_t threshold) {
  char p[512], d[600], err[TSO_ERRMAX];
  size_t len;
  uint8_t *bytes = packm(inline_model(), &len);
  tsoX_Model *m;
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st != TSO_OK) return -1;
  tsoX_set_external_threshold(m, threshold);
  snprintf(p, sizeof p, "%s/thr.onnx", dir);
  snprintf(d, sizeof d, "%s.data", p);
  unlink(p);
  unlink(d);
  st = tsoX_save(m, p, err);
  CHECK_ST(st, TSO_OK, err);
  tsoX_free(m);
  if (st != TSO_OK) return -1;
  struct stat sb;
  int has_data = stat(d, &sb) == 0;
  FILE *f = fopen(p, "rb");
  static uint8_t buf[16384];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  Onnx__ModelProto *back = n && n < sizeof buf ? onnx__model_proto__unpack(NULL, n, buf) : NULL;
  int r = -1;
  if (back && back->graph && back->graph->n_initializer == 2) {
    const Onnx__TensorProto *w = back->graph->initializer[0], *b = back->graph->initializer[1];
    int b_inline = b->has_raw_data && b->raw_data.len == 4 && !b->n_external_data;
    if (!has_data && w->has_raw_data && w->raw_data.len == 4096 && !w->n_external_data && b_inline)
      r = 0;
    else if (has_data && sb.st_size == 4096 && !w->has_raw_data && w->n_external_data == 3 &&
             w->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL && b_inline)
      r = 1;
  }
  if (back) onnx__model_proto__free_unpacked(back, NULL);
  if (r == 1) { /* and it reads back with the same data */
    st = tsoX_load_file(p, NULL, 0, &m, err);
    CHECK_ST(st, TSO_OK, err);
    if (st == TSO_OK) {
      tsoI_Graph *g = tsoX_graph(m);
      int32_t w = tsoI_find(g, "W");
      CHECK(w >= 0 && (g->t[w].flags & TSO_T_EXTERNAL) && g->t[w].nbytes == 4096 &&
            ((const float *)g->t[w].data)[1000] == 125.0f);
      tsoX_free(m);
    }
  }
  return r;
}

/* The inline -> external switch: strictly above the threshold the save goes
** external, at it and below it stays inline (4100 bytes of constants here). */
static void test_external_threshold(void) {
  char dir[] = "/tmp/test_onnx_XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0 && "mkdtemp");
    return;
  }
  CHECK(save_with_threshold(dir, 0) == 0);    /* the default, 1.8 GB */
  CHECK(save_with_threshold(dir, 4099) == 1);
  CHECK(save_with_threshold(dir, 4100) == 0);
  CHECK(save_with_threshold(dir, 1) == 1);
  CHECK(save_with_threshold(dir, UINT64_MAX) == 0);
  CHECK(TSOX_EXTERNAL_THRESHOLD == (uint64_t)1800 * 1000 * 1000 && TSOX_EXTERNAL_MIN_BYTES == 1024);
  rm_tree(dir);
  bfree();
}

/* ---- atomic save --------------------------------------------------------------------- */

static void test_atomic_save(void) {
  char dir[] = "/tmp/test_onnx_XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0 && "mkdtemp");
    return;
  }
  char p[512], err[TSO_ERRMAX];
  size_t len;
  uint8_t *bytes = packm(relu_model("X", "X"), &len);
  tsoX_Model *m;
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st != TSO_OK) {
    rm_tree(dir);
    bfree();
    return;
  }
  /* a missing folder */
  snprintf(p, sizeof p, "%s/missing/out.onnx", dir);
  CHECK_ST(tsoX_save(m, p, err), TSO_ERR_IO, err);
  CHECK(count_entries(dir) == 0);
  /* a "folder" that is a file */
  snprintf(p, sizeof p, "%s/file", dir);
  CHECK(write_bytes(p, "x", 1) == 0);
  snprintf(p, sizeof p, "%s/file/out.onnx", dir);
  CHECK_ST(tsoX_save(m, p, err), TSO_ERR_IO, err);
  CHECK(count_entries(dir) == 1);
  /* the target is a folder: the rename fails after the write, the temporary goes */
  snprintf(p, sizeof p, "%s/sub", dir);
  CHECK(mkdir(p, 0700) == 0);
  snprintf(p, sizeof p, "%s/dummy", dir);
  CHECK(write_bytes(p, "y", 1) == 0);
  snprintf(p, sizeof p, "%s/sub", dir);
  char q[600];
  snprintf(q, sizeof q, "%s/x", p);
  CHECK(write_bytes(q, "z", 1) == 0); /* non-empty: rename over it must fail */
  CHECK_ST(tsoX_save(m, p, err), TSO_ERR_IO, err);
  CHECK(count_entries(dir) == 3);
  /* a read-only folder (root ignores permissions: then only check cleanup) */
  snprintf(p, sizeof p, "%s/ro", dir);
  CHECK(mkdir(p, 0500) == 0);
  snprintf(q, sizeof q, "%s/out.onnx", p);
  st = tsoX_save(m, q, err);
  if (geteuid() != 0) CHECK_ST(st, TSO_ERR_IO, err);
  CHECK(count_entries(p) == (st == TSO_OK ? 1 : 0));
  /* a good save replaces an existing file completely */
  snprintf(p, sizeof p, "%s/good.onnx", dir);
  CHECK(write_bytes(p, "old contents that are longer than nothing", 41) == 0);
  CHECK_ST(tsoX_save(m, p, err), TSO_OK, err);
  size_t n = 0;
  FILE *f = fopen(p, "rb");
  unsigned char buf[4096];
  if (f) {
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
  }
  CHECK(n == len && memcmp(buf, bytes, len) == 0);
  tsoX_free(m);
  rm_tree(dir);
  bfree();
}

/* ---- graphs built by hand and changed graphs ---------------------------------------------- */

/* Writes buf to a temporary file and runs the ONNX checker on it: 1 ok,
** 0 rejected, -1 no python/onnx here. */
static int onnx_checker(const uint8_t *buf, size_t len) {
  char path[] = "/tmp/test_onnx_check_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    unlink(path);
    return -1;
  }
  fwrite(buf, 1, len, f);
  fclose(f);
  if (system("python3 -c 'import onnx' >/dev/null 2>&1") != 0) {
    unlink(path);
    return -1;
  }
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "python3 -c \"import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\" %s",
           path);
  int r = system(cmd);
  unlink(path);
  return r == 0 ? 1 : 0;
}

static void test_by_hand(void) {
  tsoX_Model *m = tsoX_new(0);
  CHECK(m != NULL);
  if (!m) return;
  CHECK(tsoX_opset(m) == TSOX_DEFAULT_OPSET);
  tsoI_Graph *g = tsoX_graph(m);
  tsoO_Shape sx = {2, {1, 4}}, sw = {2, {4, 2}};
  float w[8] = {1, 0, 0, 1, 1, 0, 0, 1};
  int32_t x = tsoI_add_input(g, "X", TSO_DT_FLOAT, &sx);
  int32_t wt = tsoI_add_const(g, "W", TSO_DT_FLOAT, &sw, w, sizeof w, 1);
  int32_t mmout, out;
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  int32_t in2[2] = {x, wt};
  CHECK(tsoI_add_op(g, TSO_OP_MATMUL, &p, in2, 2, 1, &mmout) >= 0);
  CHECK(tsoI_add_op(g, TSO_OP_RELU, &p, &mmout, 1, 1, &out) >= 0);
  CHECK(tsoI_mark_output(g, out) == 0);
  CHECK(tsoI_infer(g) == TSO_OK);
  uint8_t *buf;
  size_t len;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_serialize(m, &buf, &len, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    tsoX_Model *m2;
    st = tsoX_load(buf, len, NULL, NULL, 0, &m2, err);
    CHECK_ST(st, TSO_OK, err);
    if (st == TSO_OK) {
      tsoI_Graph *g2 = tsoX_graph(m2);
      CHECK(g2->nn == 2 && g2->n[0].op == TSO_OP_MATMUL && g2->n[1].op == TSO_OP_RELU);
      CHECK(g2->noutputs == 1 && g2->t[g2->outputs[0]].name[0] != 0);
      tsoX_free(m2);
    }
    int r = onnx_checker(buf, len);
    if (r < 0) printf("test_by_hand: python3 with onnx not found, checker skipped\n");
    else CHECK(r == 1);
    free(buf);
  }
  tsoX_free(m);
}

/* An imported graph changed by hand: new nodes get fresh names, renamed
** inputs of reused nodes are rewritten, removed nodes and constants go. */
static void test_changed_graph(void) {
  Onnx__GraphProto *g = graph("chg");
  PUSH(g->input, g->n_input, vi("X", TSO_DT_FLOAT, 2, D2x3, NULL));
  const char *i1[] = {"X", NULL}, *o1[] = {"a", NULL}, *i2[] = {"a", NULL}, *o2[] = {"Y", NULL};
  PUSH(g->node, g->n_node, node("Identity", NULL, "id", i1, o1));
  PUSH(g->node, g->n_node, node("Relu", NULL, "relu", i2, o2));
  float c[6] = {0};
  PUSH(g->initializer, g->n_initializer, tensor_raw("C", TSO_DT_FLOAT, 2, D2x3, c, sizeof c));
  const char *i3[] = {"a", "C", NULL}, *o3[] = {"dead", NULL};
  PUSH(g->node, g->n_node, node("Add", NULL, "deadadd", i3, o3));
  PUSH(g->output, g->n_output, vi("Y", TSO_DT_FLOAT, 2, D2x3, NULL));
  size_t len;
  uint8_t *bytes = packm(model(g, 17), &len);
  tsoX_Model *m;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st != TSO_OK) {
    bfree();
    return;
  }
  tsoI_Graph *gr = tsoX_graph(m);
  CHECK(tsoI_infer(gr) == TSO_OK);
  CHECK(tsoI_remove_noops(gr) == 1); /* the Identity (and then the dead Add) */
  tsoI_remove_dead(gr);
  /* append Sigmoid after Relu: Y moves to the new node's output */
  int32_t y = tsoI_find(gr, "Y"), s;
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  CHECK(tsoI_add_op(gr, TSO_OP_SIGMOID, &p, &y, 1, 1, &s) >= 0);
  gr->outputs[0] = s;
  gr->t[y].flags &= ~TSO_T_OUTPUT;
  gr->t[s].flags |= TSO_T_OUTPUT;
  CHECK(tsoI_compact(gr) == TSO_OK);
  CHECK(tsoI_infer(gr) == TSO_OK);
  uint8_t *out;
  size_t olen;
  st = tsoX_serialize(m, &out, &olen, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    Onnx__ModelProto *b = onnx__model_proto__unpack(NULL, olen, out);
    CHECK(b && b->graph->n_node == 2 && b->graph->n_initializer == 0);
    if (b && b->graph->n_node == 2) {
      const Onnx__NodeProto *r = b->graph->node[0], *sg = b->graph->node[1];
      CHECK(strcmp(r->op_type, "Relu") == 0 && strcmp(r->name, "relu") == 0 && strcmp(r->input[0], "X") == 0);
      CHECK(strcmp(sg->op_type, "Sigmoid") == 0 && sg->name && strcmp(sg->name, "relu") != 0);
      CHECK(strcmp(sg->input[0], "Y") == 0 && sg->output[0][0] && strcmp(sg->output[0], "Y") != 0);
      CHECK(strcmp(b->graph->output[0]->name, sg->output[0]) == 0);
    }
    onnx__model_proto__free_unpacked(b, NULL);
    tsoX_Model *m2;
    st = tsoX_load(out, olen, NULL, NULL, 0, &m2, err);
    CHECK_ST(st, TSO_OK, err);
    if (st == TSO_OK) tsoX_free(m2);
    int r = onnx_checker(out, olen);
    if (r >= 0) CHECK(r == 1);
    free(out);
  }
  tsoX_free(m);
  bfree();
}

/* A captured tensor replaced by another: export keeps the subgraph's name alive. */
static void test_capture_rename(void) {
  size_t len;
  uint8_t *bytes = packm(rich_model(0), &len);
  tsoX_Model *m;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_load(bytes, len, NULL, NULL, 0, &m, err);
  CHECK_ST(st, TSO_OK, err);
  if (st != TSO_OK) {
    bfree();
    return;
  }
  tsoI_Graph *g = tsoX_graph(m);
  /* make the If read a new constant instead of 'c' */
  float v[2] = {1, 2};
  tsoO_Shape s = {1, {2}};
  int32_t nc = tsoI_add_const(g, "", TSO_DT_FLOAT, &s, v, sizeof v, 1);
  int32_t c = tsoI_find(g, "c");
  tsoI_replace_uses(g, c, nc);
  tsoI_remove_dead(g);
  uint8_t *out;
  size_t olen;
  st = tsoX_serialize(m, &out, &olen, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    Onnx__ModelProto *b = onnx__model_proto__unpack(NULL, olen, out);
    int alias = 0;
    for (size_t i = 0; b && i < b->graph->n_node; i++) {
      const Onnx__NodeProto *np = b->graph->node[i];
      if (strcmp(np->op_type, "Identity") == 0 && strcmp(np->output[0], "c") == 0) alias = 1;
      CHECK(strcmp(np->op_type, "Constant") != 0); /* the Constant node is dead */
    }
    CHECK(alias);
    onnx__model_proto__free_unpacked(b, NULL);
    int r = onnx_checker(out, olen);
    if (r >= 0) CHECK(r == 1);
    tsoX_Model *m2;
    st = tsoX_load(out, olen, NULL, NULL, 0, &m2, err);
    CHECK_ST(st, TSO_OK, err);
    if (st == TSO_OK) tsoX_free(m2);
    free(out);
  }
  tsoX_free(m);
  bfree();
}

/* ---- single tensors ----------------------------------------------------------------- */

static void test_read_tensor(void) {
  int64_t vals[3] = {5, -6, 7};
  Onnx__TensorProto *t = tensor_raw("in0", TSO_DT_INT64, 1, (const int64_t[]){3}, vals, sizeof vals);
  size_t n = onnx__tensor_proto__get_packed_size(t);
  uint8_t *buf = balloc(n);
  onnx__tensor_proto__pack(t, buf);
  tsoO_Value v;
  char *name, err[TSO_ERRMAX];
  tso_status st = tsoX_read_tensor(buf, n, &v, &name, err);
  CHECK_ST(st, TSO_OK, err);
  if (st == TSO_OK) {
    CHECK(v.dtype == TSO_DT_INT64 && v.shape.rank == 1 && v.shape.d[0] == 3 && ((int64_t *)v.data)[1] == -6);
    CHECK(strcmp(name, "in0") == 0);
    free(v.data);
    free(name);
  }
  CHECK(tsoX_read_tensor(buf, n - 3, &v, NULL, err) != TSO_OK);
  bfree();
}

int main(void) {
  test_roundtrip_rich();
  test_opaque_reasons();
  test_errors();
  test_initializers();
  test_bindings();
  test_external();
  test_external_threshold();
  test_atomic_save();
  test_by_hand();
  test_changed_graph();
  test_capture_rename();
  test_read_tensor();
  free(blocks);
  printf("test_onnx: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
