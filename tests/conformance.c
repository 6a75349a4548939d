/*
** conformance.c -- runs the ONNX backend test data (Debian's
** libonnx-testdata) through the importer, the exporter and the reference
** kernels.
**
**   conformance DATA_ROOT [--json FILE] [--verbose] [--xfail FILE] [--only NAME]
**
** For every folder under DATA_ROOT holding a model.onnx:
**   (a) round trip: import, serialize, compare with the original bytes.
**       Byte-identical is lossless; otherwise the output is imported again
**       and compared part by part (model fields, graph fields, nodes,
**       initializers, value_info as multisets; inputs, outputs in order):
**       equal is lossless (structural), different is lossy;
**   (b) kernels: when every node is a table operator, tsoI_infer succeeds
**       and no node is flagged TSO_N_NOKERNEL, each test_data_set_* is
**       evaluated with tsoI_eval and every output compared with the
**       expected one (floats: |got-want| <= atol + rtol*|want|, rtol 1e-3,
**       atol 1e-4, NaN equals NaN; integers and bools exactly). Otherwise
**       the kernel test is skipped with the reason.
** The exit status is 1 when an import failed, a round trip was lossy or a
** kernel test failed, except for tests named in the expected-failures file
** (tests/conformance_xfail.txt: one folder name per line, '#' comments).
*/
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/model.h"

#define RTOL 1e-3
#define ATOL 1e-4

/* ---- small helpers ---------------------------------------------------------- */

typedef struct StrList {
  char **v;
  size_t n, cap;
} StrList;

static void sl_push(StrList *l, const char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (!l->v) {
      fprintf(stderr, "conformance: out of memory\n");
      exit(2);
    }
  }
  l->v[l->n++] = strdup(s);
}

static void sl_free(StrList *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares names with embedded numbers by value ("input_10" after "input_9"). */
static int cmp_natural(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  while (*x && *y) {
    if (*x >= '0' && *x <= '9' && *y >= '0' && *y <= '9') {
      char *ex, *ey;
      long u = strtol(x, &ex, 10), v = strtol(y, &ey, 10);
      if (u != v) return u < v ? -1 : 1;
      x = ex;
      y = ey;
      continue;
    }
    if (*x != *y) return (unsigned char)*x - (unsigned char)*y;
    x++;
    y++;
  }
  return (unsigned char)*x - (unsigned char)*y;
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      unsigned char *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf ? buf : malloc(1);
}

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Collects folders below root (depth <= 3) that hold a model.onnx. */
static void find_tests(const char *root, int depth, StrList *out) {
  char p[4096];
  snprintf(p, sizeof p, "%s/model.onnx", root);
  if (is_file(p)) {
    sl_push(out, root);
    return;
  }
  if (depth >= 3) return;
  DIR *d = opendir(root);
  if (!d) return;
  StrList subs = {0};
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", root, de->d_name);
    if (is_dir(p)) sl_push(&subs, p);
  }
  closedir(d);
  if (subs.n) qsort(subs.v, subs.n, sizeof *subs.v, cmp_str);
  for (size_t i = 0; i < subs.n; i++) find_tests(subs.v[i], depth + 1, out);
  sl_free(&subs);
}

/* Entries of dir whose names start with prefix, sorted naturally. */
static void list_prefixed(const char *dir, const char *prefix, StrList *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  size_t pl = strlen(prefix);
  while ((de = readdir(d)) != NULL)
    if (strncmp(de->d_name, prefix, pl) == 0) sl_push(out, de->d_name);
  closedir(d);
  if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_natural);
}

/* ---- expected failures ----------------------------------------------------------- */

typedef struct Xfail {
  StrList names, reasons;
  unsigned char *hit;
} Xfail;

static void xfail_load(Xfail *x, const char *path) {
  memset(x, 0, sizeof *x);
  if (!path) return;
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "conformance: cannot read '%s': %s\n", path, strerror(errno));
    exit(2);
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    char reason[1024] = "";
    if (hash) {
      snprintf(reason, sizeof reason, "%s", hash + 1);
      *hash = 0;
    }
    char name[1024];
    if (sscanf(line, "%1023s", name) != 1) continue;
    size_t rl = strlen(reason);
    while (rl && (reason[rl - 1] == '\n' || reason[rl - 1] == ' ')) reason[--rl] = 0;
    sl_push(&x->names, name);
    sl_push(&x->reasons, reason[0] == ' ' ? reason + 1 : reason);
  }
  fclose(f);
  x->hit = calloc(x->names.n + 1, 1);
}

/* Index of test `rel` (path below the root) or its folder name, or -1. */
static int xfail_find(const Xfail *x, const char *rel) {
  const char *base = strrchr(rel, '/');
  base = base ? base + 1 : rel;
  for (size_t i = 0; i < x->names.n; i++)
    if (strcmp(x->names.v[i], rel) == 0 || strcmp(x->names.v[i], base) == 0) return (int)i;
  return -1;
}

/* ---- structural comparison --------------------------------------------------------- */

typedef struct Blob {
  uint8_t *p;
  size_t n;
} Blob;

static Blob pack(const ProtobufCMessage *msg) {
  Blob b = {NULL, 0};
  if (!msg) return b;
  b.n = protobuf_c_message_get_packed_size(msg);
  b.p = malloc(b.n ? b.n : 1);
  if (b.p) protobuf_c_message_pack(msg, b.p);
  return b;
}

static int cmp_blob(const void *a, const void *b) {
  const Blob *x = a, *y = b;
  size_t n = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->p, y->p, n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* 1 if the two lists of messages are equal (as multisets when unordered). */
static int same_msgs(void *const *a, size_t na, void *const *b, size_t nb, int unordered) {
  if (na != nb) return 0;
  Blob *x = calloc(na + 1, sizeof *x), *y = calloc(nb + 1, sizeof *y);
  int same = x && y;
  for (size_t i = 0; same && i < na; i++) {
    x[i] = pack(a[i]);
    y[i] = pack(b[i]);
  }
  if (same && unordered) {
    qsort(x, na, sizeof *x, cmp_blob);
    qsort(y, nb, sizeof *y, cmp_blob);
  }
  for (size_t i = 0; same && i < na; i++) same = cmp_blob(&x[i], &y[i]) == 0;
  for (size_t i = 0; x && y && i < na; i++) {
    free(x[i].p);
    free(y[i].p);
  }
  free(x);
  free(y);
  return same;
}

/* "" when the two models are structurally equal, else the first part that differs. */
static const char *structural_diff(const Onnx__ModelProto *a, const Onnx__ModelProto *b) {
  Onnx__ModelProto ma = *a, mb = *b;
  ma.graph = mb.graph = NULL;
  void *pa = &ma, *pb = &mb;
  if (!same_msgs(&pa, 1, &pb, 1, 0)) return "model fields (ir_version, opset_import, metadata, functions, ...)";
  const Onnx__GraphProto *ga = a->graph, *gb = b->graph;
  Onnx__GraphProto ca = *ga, cb = *gb;
  ca.n_node = cb.n_node = ca.n_initializer = cb.n_initializer = 0;
  ca.n_input = cb.n_input = ca.n_output = cb.n_output = ca.n_value_info = cb.n_value_info = 0;
  pa = &ca;
  pb = &cb;
  if (!same_msgs(&pa, 1, &pb, 1, 0)) return "graph fields (name, doc_string, sparse initializers, ...)";
  if (!same_msgs((void *const *)ga->node, ga->n_node, (void *const *)gb->node, gb->n_node, 1)) return "nodes";
  if (!same_msgs((void *const *)ga->initializer, ga->n_initializer, (void *const *)gb->initializer,
                 gb->n_initializer, 1))
    return "initializers";
  if (!same_msgs((void *const *)ga->input, ga->n_input, (void *const *)gb->input, gb->n_input, 0)) return "inputs";
  if (!same_msgs((void *const *)ga->output, ga->n_output, (void *const *)gb->output, gb->n_output, 0))
    return "outputs";
  if (!same_msgs((void *const *)ga->value_info, ga->n_value_info, (void *const *)gb->value_info, gb->n_value_info, 1))
    return "value_info";
  return "";
}

/* ---- value comparison --------------------------------------------------------------- */

static double elem(const tsoO_Value *v, size_t i) {
  const void *d = v->data;
  switch (v->dtype) {
  case TSO_DT_FLOAT: return ((const float *)d)[i];
  case TSO_DT_DOUBLE: return ((const double *)d)[i];
  case TSO_DT_INT64: return (double)((const int64_t *)d)[i];
  case TSO_DT_INT32: return ((const int32_t *)d)[i];
  case TSO_DT_INT16: return ((const int16_t *)d)[i];
  case TSO_DT_INT8: return ((const int8_t *)d)[i];
  case TSO_DT_UINT8: case TSO_DT_BOOL: return ((const uint8_t *)d)[i];
  case TSO_DT_UINT16: return ((const uint16_t *)d)[i];
  case TSO_DT_UINT32: return ((const uint32_t *)d)[i];
  case TSO_DT_UINT64: return (double)((const uint64_t *)d)[i];
  case TSO_DT_FLOAT16: { /* IEEE half */
    uint16_t h = ((const uint16_t *)d)[i];
    int ex = (h >> 10) & 31, man = h & 1023;
    double s = (h & 0x8000) ? -1 : 1;
    if (ex == 31) return man ? NAN : s * INFINITY;
    return ex ? s * ldexp(1024 + man, ex - 25) : s * ldexp(man, -24);
  }
  case TSO_DT_BFLOAT16: {
    uint32_t u = (uint32_t)((const uint16_t *)d)[i] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  default: return 0;
  }
}

/* 1 if the values agree; else 0 with a description of the worst element. */
static int compare_values(const tsoO_Value *got, const tsoO_Value *want, char *why, size_t n) {
  char a[64], b[64];
  if (got->dtype != want->dtype) {
    snprintf(why, n, "type %s, expected %s", tsoO_dtype_name(got->dtype), tsoO_dtype_name(want->dtype));
    return 0;
  }
  int same_shape = got->shape.rank == want->shape.rank;
  for (int k = 0; same_shape && k < got->shape.rank; k++) same_shape = got->shape.d[k] == want->shape.d[k];
  if (!same_shape) {
    snprintf(why, n, "shape %s, expected %s", tsoO_shape_str(&got->shape, a, sizeof a),
             tsoO_shape_str(&want->shape, b, sizeof b));
    return 0;
  }
  int64_t ne = tsoO_numel(&want->shape);
  if (ne > 0 && (!got->data || !want->data)) {
    snprintf(why, n, "no data");
    return 0;
  }
  int fl = want->dtype == TSO_DT_FLOAT || want->dtype == TSO_DT_DOUBLE || want->dtype == TSO_DT_FLOAT16 ||
           want->dtype == TSO_DT_BFLOAT16;
  int64_t worst = -1;
  double worst_excess = 0;
  if (!fl && (want->dtype == TSO_DT_INT64 || want->dtype == TSO_DT_UINT64)) { /* exact, past 2^53 too */
    for (int64_t i = 0; i < ne && worst < 0; i++)
      if (((const int64_t *)got->data)[i] != ((const int64_t *)want->data)[i]) worst = i;
    if (worst >= 0)
      snprintf(why, n, "element %lld is %lld, expected %lld", (long long)worst,
               (long long)((const int64_t *)got->data)[worst], (long long)((const int64_t *)want->data)[worst]);
    return worst < 0;
  }
  for (int64_t i = 0; i < ne; i++) {
    double g = elem(got, (size_t)i), w = elem(want, (size_t)i);
    double excess;
    if (!fl) {
      excess = g != w ? 1 : 0;
    } else if (isnan(w) || isnan(g)) {
      excess = isnan(w) && isnan(g) ? 0 : INFINITY;
    } else if (isinf(w) || isinf(g)) {
      excess = g == w ? 0 : INFINITY;
    } else {
      excess = fabs(g - w) - (ATOL + RTOL * fabs(w));
    }
    if (excess > 0 && (worst < 0 || excess > worst_excess)) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (worst >= 0)
    snprintf(why, n, "element %lld is %.9g, expected %.9g", (long long)worst, elem(got, (size_t)worst),
             elem(want, (size_t)worst));
  return worst < 0;
}

/* ---- one test -------------------------------------------------------------------------- */

enum { RT_NONE, RT_IDENTICAL, RT_STRUCTURAL, RT_LOSSY };
enum { K_SKIP, K_PASS, K_FAIL };

typedef struct Result {
  int imported;      /* 1 when the import succeeded */
  int rt;            /* RT_* */
  int kernel;        /* K_* */
  char why[512];     /* import error, round-trip difference, skip reason or kernel failure */
  char kwhy[512];    /* kernel detail */
  int infer_error;   /* 1 when the skip came from a tsoI_infer error other than "unsupported" */
} Result;

static void round_trip(const unsigned char *buf, size_t len, tsoX_Model *m, Result *r) {
  uint8_t *out = NULL;
  size_t n = 0;
  char err[TSO_ERRMAX];
  if (tsoX_serialize(m, &out, &n, err) != TSO_OK) {
    r->rt = RT_LOSSY;
    snprintf(r->why, sizeof r->why, "serialize: %s", err);
    return;
  }
  if (n == len && memcmp(out, buf, len) == 0) {
    r->rt = RT_IDENTICAL;
  } else {
    tsoX_Model *m2 = NULL;
    if (tsoX_load(out, n, NULL, NULL, 0, &m2, err) != TSO_OK) {
      r->rt = RT_LOSSY;
      snprintf(r->why, sizeof r->why, "re-import: %s", err);
    } else {
      const char *d = structural_diff(m->mp, m2->mp);
      r->rt = d[0] ? RT_LOSSY : RT_STRUCTURAL;
      if (d[0]) snprintf(r->why, sizeof r->why, "differs in %s", d);
    }
    tsoX_free(m2);
  }
  free(out);
}

/* Reads the .pb files of one data set; returns the count or -1. */
static int read_set(const char *dir, const char *prefix, tsoO_Value **vals, char ***names, char *why, size_t wn) {
  StrList files = {0};
  list_prefixed(dir, prefix, &files);
  *vals = calloc(files.n + 1, sizeof **vals);
  *names = calloc(files.n + 1, sizeof **names);
  int n = 0;
  for (size_t i = 0; i < files.n; i++) {
    char p[4096], err[TSO_ERRMAX];
    size_t len;
    snprintf(p, sizeof p, "%s/%s", dir, files.v[i]);
    unsigned char *buf = read_file(p, &len);
    if (!buf) {
      snprintf(why, wn, "cannot read %.400s", p);
      n = -1;
      break;
    }
    tso_status st = tsoX_read_tensor(buf, len, &(*vals)[n], &(*names)[n], err);
    free(buf);
    if (st != TSO_OK) {
      snprintf(why, wn, "%s: %s", files.v[i], err);
      n = -1;
      break;
    }
    n++;
  }
  if (n < 0) {
    for (size_t i = 0; i < files.n; i++) {
      free((*vals)[i].data);
      free((*names)[i]);
    }
  }
  sl_free(&files);
  return n < 0 ? -1 : n;
}

static void free_set(tsoO_Value *vals, char **names, int n) {
  for (int i = 0; i < n; i++) {
    free(vals[i].data);
    free(names[i]);
  }
  free(vals);
  free(names);
}

/* Position of tensor name in list (graph inputs/outputs), by name first. */
static int32_t pick(const tsoI_Graph *g, const int32_t *list, int32_t n, const char *name, int pos,
                    const unsigned char *skip) {
  for (int32_t i = 0; i < n; i++)
    if (name && *name && strcmp(g->t[list[i]].name, name) == 0) return i;
  for (int32_t i = 0, k = 0; i < n; i++) {
    if (skip && skip[i]) continue;
    if (k++ == pos) return i;
  }
  return -1;
}

/* Evaluates one data set; K_PASS or K_FAIL with r->kwhy. */
static int run_set(tsoX_Model *m, const char *setdir, Result *r) {
  tsoI_Graph *g = tsoX_graph(m);
  tsoO_Value *ins = NULL, *outs = NULL;
  char **inn = NULL, **outn = NULL;
  int nin = read_set(setdir, "input_", &ins, &inn, r->kwhy, sizeof r->kwhy);
  int nout = nin < 0 ? -1 : read_set(setdir, "output_", &outs, &outn, r->kwhy, sizeof r->kwhy);
  int res = K_FAIL;
  tsoO_Value *vals = calloc((size_t)g->nt + 1, sizeof *vals);
  unsigned char *isconst = calloc((size_t)g->ninputs + 1, 1);
  if (nin < 0 || nout < 0 || !vals || !isconst) goto done;
  for (int32_t i = 0; i < g->ninputs; i++) isconst[i] = (g->t[g->inputs[i]].flags & TSO_T_CONST) != 0;
  for (int i = 0; i < nin; i++) {
    int32_t k = pick(g, g->inputs, g->ninputs, inn[i], i, isconst);
    if (k < 0) {
      snprintf(r->kwhy, sizeof r->kwhy, "input_%d matches no graph input", i);
      goto done;
    }
    int32_t t = g->inputs[k];
    vals[t] = ins[i];
    if (!vals[t].data) vals[t].data = malloc(1); /* empty tensor: still "given" */
    ins[i].data = NULL;
  }
  tso_status st = tsoI_eval(g, vals, 0, NULL, NULL);
  if (st != TSO_OK && st != TSO_ERR_UNSUPPORTED) {
    snprintf(r->kwhy, sizeof r->kwhy, "eval: %s", g->err);
    goto done;
  }
  for (int i = 0; i < nout; i++) {
    int32_t k = pick(g, g->outputs, g->noutputs, outn[i], i, NULL);
    if (k < 0) {
      snprintf(r->kwhy, sizeof r->kwhy, "output_%d matches no graph output", i);
      goto done;
    }
    int32_t t = g->outputs[k];
    if (!vals[t].data && tsoO_numel(&outs[i].shape) != 0) {
      snprintf(r->kwhy, sizeof r->kwhy, "output '%s' not computed: %s", g->t[t].name, g->err);
      goto done;
    }
    char why[256];
    if (!compare_values(&vals[t], &outs[i], why, sizeof why)) {
      snprintf(r->kwhy, sizeof r->kwhy, "output '%s': %s", g->t[t].name, why);
      goto done;
    }
  }
  res = K_PASS;
done:
  if (vals) {
    tsoI_eval_free(g, vals, 1);
    free(vals);
  }
  free(isconst);
  if (nin > 0) free_set(ins, inn, nin);
  else { free(ins); free(inn); }
  if (nout > 0) free_set(outs, outn, nout);
  else { free(outs); free(outn); }
  return res;
}

/* Shapes of the first data set's inputs, as whole-input bindings. */
static int bind_inputs(const char *testdir, const tsoX_Model *m0, tsoX_Bind *b, int maxb) {
  char setdir[4096];
  snprintf(setdir, sizeof setdir, "%s/test_data_set_0", testdir);
  tsoO_Value *ins;
  char **inn, why[256];
  int n = read_set(setdir, "input_", &ins, &inn, why, sizeof why), nb = 0;
  if (n <= 0) {
    free(ins);
    free(inn);
    return 0;
  }
  const tsoI_Graph *g = m0->g;
  unsigned char *isconst = calloc((size_t)g->ninputs + 1, 1);
  for (int32_t i = 0; isconst && i < g->ninputs; i++) isconst[i] = (g->t[g->inputs[i]].flags & TSO_T_CONST) != 0;
  for (int i = 0; isconst && i < n && nb < maxb; i++) {
    int32_t k = pick(g, g->inputs, g->ninputs, inn[i], i, isconst);
    if (k < 0) continue;
    const tsoI_Tensor *t = &g->t[g->inputs[k]];
    if (tsoO_shape_known(&t->shape) || (t->shape.rank >= 0 && t->shape.rank != ins[i].shape.rank)) continue;
    b[nb].name = strdup(t->name);
    b[nb].whole = 1;
    b[nb].shape = ins[i].shape;
    nb++;
  }
  free(isconst);
  free_set(ins, inn, n);
  return nb;
}

/* 1 if a graph input or output has a type other than a tensor (sequence,
** map, optional): its test data are not TensorProtos. */
static int non_tensor_io(const tsoX_Model *m) {
  const Onnx__GraphProto *G = m->mp->graph;
  for (int pass = 0; pass < 2; pass++) {
    Onnx__ValueInfoProto *const *l = pass ? G->output : G->input;
    size_t n = pass ? G->n_output : G->n_input;
    for (size_t i = 0; i < n; i++)
      if (l[i]->type && l[i]->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return 1;
  }
  return 0;
}

static void kernels(const char *testdir, const unsigned char *buf, size_t len, const tsoX_Model *m0, Result *r) {
  tsoI_Graph *g0 = m0->g;
  if (non_tensor_io(m0)) {
    snprintf(r->why, sizeof r->why, "a graph input or output is not a tensor (sequence, map or optional)");
    return;
  }
  for (int32_t i = 0; i < g0->nn; i++)
    if (g0->n[i].op == TSO_OP_OPAQUE) {
      const char *const *msgs;
      int nr = tsoX_opaque_reasons(m0, &msgs);
      const char *type = tsoX_node_type(m0, g0->n[i].origin);
      snprintf(r->why, sizeof r->why, "opaque operator %s", type ? type : "?");
      for (int k = 0; k < nr; k++)
        if (type && strncmp(msgs[k], type, strlen(type)) == 0 && msgs[k][strlen(type)] == ' ') {
          snprintf(r->why, sizeof r->why, "opaque %s", msgs[k]);
          break;
        }
      return;
    }
  tsoX_Bind b[16];
  int nb = bind_inputs(testdir, m0, b, 16);
  tsoX_Model *m = NULL;
  char err[TSO_ERRMAX];
  tso_status st = tsoX_load(buf, len, testdir, b, nb, &m, err);
  for (int i = 0; i < nb; i++) free((void *)(uintptr_t)b[i].name);
  if (st != TSO_OK) {
    snprintf(r->why, sizeof r->why, "import with the data's input shapes: %.400s", err);
    r->kernel = K_FAIL;
    snprintf(r->kwhy, sizeof r->kwhy, "%s", r->why);
    return;
  }
  tsoI_Graph *g = tsoX_graph(m);
  st = tsoI_infer(g);
  if (st != TSO_OK) {
    snprintf(r->why, sizeof r->why, "infer: %s", g->err);
    r->infer_error = st != TSO_ERR_UNSUPPORTED;
    tsoX_free(m);
    return;
  }
  for (int32_t i = 0; i < g->nn; i++)
    if (g->n[i].flags & TSO_N_NOKERNEL) {
      const char *type = tsoX_node_type(m, g->n[i].origin);
      snprintf(r->why, sizeof r->why, "no kernel for %s with these inputs", type ? type : tsoO_info(g->n[i].op)->name);
      tsoX_free(m);
      return;
    }
  StrList sets = {0};
  list_prefixed(testdir, "test_data_set_", &sets);
  r->kernel = K_PASS;
  for (size_t i = 0; i < sets.n && r->kernel == K_PASS; i++) {
    char setdir[4096];
    snprintf(setdir, sizeof setdir, "%s/%s", testdir, sets.v[i]);
    if (run_set(m, setdir, r) != K_PASS) {
      r->kernel = K_FAIL;
      char tmp[sizeof r->kwhy];
      snprintf(tmp, sizeof tmp, "%s", r->kwhy);
      snprintf(r->kwhy, sizeof r->kwhy, "%.40s: %.460s", sets.v[i], tmp);
    }
  }
  if (!sets.n) snprintf(r->why, sizeof r->why, "no test data");
  if (!sets.n) r->kernel = K_SKIP;
  sl_free(&sets);
  tsoX_free(m);
}

static void run_test(const char *dir, Result *r) {
  memset(r, 0, sizeof *r);
  char p[4096], err[TSO_ERRMAX];
  size_t len;
  snprintf(p, sizeof p, "%s/model.onnx", dir);
  unsigned char *buf = read_file(p, &len);
  if (!buf) {
    snprintf(r->why, sizeof r->why, "cannot read %.480s", p);
    return;
  }
  tsoX_Model *m = NULL;
  if (tsoX_load(buf, len, dir, NULL, 0, &m, err) != TSO_OK) {
    snprintf(r->why, sizeof r->why, "import: %s", err);
    free(buf);
    return;
  }
  r->imported = 1;
  round_trip(buf, len, m, r);
  if (r->rt != RT_LOSSY) kernels(dir, buf, len, m, r);
  tsoX_free(m);
  free(buf);
}

/* ---- output ------------------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static const char *rt_name(int rt) {
  return rt == RT_IDENTICAL ? "identical" : rt == RT_STRUCTURAL ? "structural" : rt == RT_LOSSY ? "lossy" : "none";
}

static void usage(void) {
  fprintf(stderr, "usage: conformance DATA_ROOT [--json FILE] [--verbose] [--xfail FILE] [--only NAME]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *root = NULL, *json = NULL, *xpath = NULL, *only = NULL;
  int verbose = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) json = argv[++i];
    else if (strcmp(argv[i], "--xfail") == 0 && i + 1 < argc) xpath = argv[++i];
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
    else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) verbose = 1;
    else if (argv[i][0] == '-' || root) usage();
    else root = argv[i];
  }
  if (!root) usage();
  if (!is_dir(root)) {
    fprintf(stderr, "conformance: '%s' is not a folder (install libonnx-testdata?)\n", root);
    return 77; /* ctest: skipped */
  }
  Xfail xf;
  xfail_load(&xf, xpath);
  StrList tests = {0};
  find_tests(root, 0, &tests);
  FILE *jf = NULL;
  if (json && !(jf = fopen(json, "w"))) {
    fprintf(stderr, "conformance: cannot write '%s': %s\n", json, strerror(errno));
    return 2;
  }
  if (jf) fprintf(jf, "{\"tests\": [\n");
  int models = 0, imported = 0, identical = 0, structural = 0, lossy = 0, ifail = 0;
  int kpass = 0, kfail = 0, kskip = 0, inferr = 0, xfailed = 0, bad = 0;
  size_t rootlen = strlen(root);
  for (size_t i = 0; i < tests.n; i++) {
    const char *dir = tests.v[i];
    const char *rel = dir + rootlen + (dir[rootlen] == '/');
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    if (only && strcmp(only, base) != 0 && strcmp(only, rel) != 0) continue;
    Result r;
    run_test(dir, &r);
    models++;
    int xi = xfail_find(&xf, rel);
    int failed = !r.imported || r.rt == RT_LOSSY || r.kernel == K_FAIL;
    if (!r.imported) ifail++;
    else imported++;
    if (r.rt == RT_IDENTICAL) identical++;
    else if (r.rt == RT_STRUCTURAL) structural++;
    else if (r.rt == RT_LOSSY) lossy++;
    if (r.imported && r.rt != RT_LOSSY) {
      if (r.kernel == K_PASS) kpass++;
      else if (r.kernel == K_FAIL) kfail++;
      else kskip++;
    }
    if (r.infer_error) inferr++;
    const char *tag = "";
    if (failed && xi >= 0) {
      xf.hit[xi] = 1;
      xfailed++;
      tag = "XFAIL";
    } else if (failed) {
      bad++;
      tag = "FAIL";
    } else if (xi >= 0) {
      xf.hit[xi] = 2;
      tag = "XPASS";
    }
    const char *detail = r.kernel == K_FAIL ? r.kwhy : r.why;
    if (failed || xi >= 0 || verbose || r.infer_error)
      printf("%-6s %-60s import=%s roundtrip=%s kernels=%s%s%s\n", tag[0] ? tag : "ok", rel,
             r.imported ? "ok" : "failed", rt_name(r.rt),
             r.kernel == K_PASS ? "passed" : r.kernel == K_FAIL ? "failed" : "skipped", detail[0] ? ": " : "",
             detail);
    if (jf) {
      fprintf(jf, "%s  {\"name\": ", models > 1 ? ",\n" : "");
      json_str(jf, rel);
      fprintf(jf, ", \"import\": %s, \"roundtrip\": \"%s\", \"kernels\": \"%s\", \"expected_failure\": %s, \"detail\": ",
              r.imported ? "true" : "false", rt_name(r.rt),
              r.kernel == K_PASS ? "passed" : r.kernel == K_FAIL ? "failed" : "skipped", xi >= 0 ? "true" : "false");
      json_str(jf, detail);
      fprintf(jf, "}");
    }
  }
  for (size_t i = 0; i < xf.names.n; i++)
    if (!xf.hit[i]) printf("note: expected failure '%s' did not run or matched no test\n", xf.names.v[i]);
  printf("\nmodels %d: imported %d, import failed %d\n", models, imported, ifail);
  printf("round trip: lossless %d (byte-identical %d, structural %d), lossy %d\n", identical + structural, identical,
         structural, lossy);
  printf("kernels: passed %d, failed %d, skipped (unsupported) %d%s\n", kpass, kfail, kskip,
         inferr ? "" : "");
  if (inferr) printf("  of the skipped, %d stopped at a shape inference error\n", inferr);
  printf("expected failures %d, unexpected failures %d\n", xfailed, bad);
  if (jf) {
    fprintf(jf, "\n], \"summary\": {\"models\": %d, \"imported\": %d, \"import_failed\": %d, \"lossless\": %d, "
                "\"byte_identical\": %d, \"structural\": %d, \"lossy\": %d, \"kernels_passed\": %d, "
                "\"kernels_failed\": %d, \"kernels_skipped\": %d, \"infer_errors\": %d, \"expected_failures\": %d, "
                "\"unexpected_failures\": %d}}\n",
            models, imported, ifail, identical + structural, identical, structural, lossy, kpass, kfail, kskip, inferr,
            xfailed, bad);
    fclose(jf);
  }
  sl_free(&tests);
  sl_free(&xf.names);
  sl_free(&xf.reasons);
  free(xf.hit);
  return bad ? 1 : 0;
}
