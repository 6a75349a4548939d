/*
** api.c -- the public API (taso.h) over the internal modules.
**
** A tso_ctx carries the last status and message and the shape bindings;
** every tso_model remembers its context and records its failures there.
** The graph of a model is kept shape-inferred: every call that changes it
** marks it stale and the next call that needs shapes infers again.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cost/cost.h"
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "optimizer/optimizer.h"
#include "rules/rules.h"
#include "taso/taso.h"
#include "api/testhook.h"
#include "util/fileio.h"
#include "util/text.h"

#define MAX_BINDS 64

struct tso_ctx {
  tso_status code;                /* status of the last failing call */
  char msg[TSO_ERRMAX + 64];      /* its message */
  int nbinds;                     /* bindings in binds[] */
  tsoX_Bind binds[2 * MAX_BINDS]; /* each spec both as input shape and as dim size */
  char *names[MAX_BINDS];         /* malloc'd names the binds point at */
  int nnames;
};

struct tso_model {
  tso_ctx *ctx;          /* where failures are recorded */
  tsoX_Model *x;         /* the ONNX model and its graph */
  int stale;             /* 1: shapes must be inferred again */
  const char **types;    /* opaque operator types, for tso_model_opaque_types */
  int ntypes;
  char *warnings;        /* newline-separated load warnings */
  tso_opt_step *steps;   /* the rewrites of the last tso_optimize (report->steps) */
  char *steptext;        /* their rule texts */
};

static tso_status set_err(tso_ctx *ctx, tso_status st, const char *msg) {
  if (!ctx) return st;
  ctx->code = st;
  snprintf(ctx->msg, sizeof ctx->msg, "%s", msg && *msg ? msg : tso_status_str(st));
  return st;
}

const char *tso_version(void) {
  return "0.1.0";
}

int tso_version_number(void) {
  return TSO_VERSION_NUMBER;
}

const char *tso_status_str(tso_status s) {
  switch (s) {
  case TSO_OK: return "ok";
  case TSO_ERR_NOMEM: return "out of memory";
  case TSO_ERR_IO: return "input/output error";
  case TSO_ERR_PARSE: return "not a well-formed ONNX model";
  case TSO_ERR_INVALID: return "malformed graph";
  case TSO_ERR_SHAPE: return "shapes or types do not agree";
  case TSO_ERR_UNSUPPORTED: return "not supported";
  case TSO_ERR_MISMATCH: return "numerical check failed";
  case TSO_ERR_ARG: return "bad argument";
  case TSO_ERR_LIMIT: return "size limit exceeded";
  }
  return "unknown status";
}

tso_ctx *tso_ctx_create(void) {
  return calloc(1, sizeof(tso_ctx));
}

void tso_ctx_free(tso_ctx *ctx) {
  if (!ctx) return;
  for (int i = 0; i < ctx->nnames; i++) free(ctx->names[i]);
  free(ctx);
}

tso_status tso_errcode(const tso_ctx *ctx) {
  return ctx ? ctx->code : TSO_ERR_ARG;
}

const char *tso_errmsg(const tso_ctx *ctx) {
  if (!ctx) return "no context";
  return ctx->code == TSO_OK ? "ok" : ctx->msg;
}

tso_status tso_ctx_bind_shape(tso_ctx *ctx, const char *spec) {
  if (!ctx || !spec) return TSO_ERR_ARG;
  const char *eq = strchr(spec, '=');
  char buf[TSO_ERRMAX], why[96];
  tsoO_Shape s;
  int rank = 0;
  memset(&s, 0, sizeof s);
  if (!eq || eq == spec) {
    (void)tsoO_fail(buf, TSO_OK, "bad shape binding '%.120s': expected NAME=DIMS, e.g. input=1x3x224x224 or batch=1",
                    spec);
    return set_err(ctx, TSO_ERR_ARG, buf);
  }
  if (tsoU_parse_dims(eq + 1, s.d, &rank, TSO_MAX_RANK, TSO_MAX_DIM, why, sizeof why) != 0) {
    (void)tsoO_fail(buf, TSO_OK, "bad shape binding '%.100s': %s; expected NAME=DIMS, e.g. input=1x3x224x224 or "
                    "batch=1", spec, why);
    return set_err(ctx, TSO_ERR_ARG, buf);
  }
  s.rank = rank;
  if (ctx->nnames >= MAX_BINDS) return set_err(ctx, TSO_ERR_ARG, "too many shape bindings");
  size_t n = (size_t)(eq - spec);
  char *name = malloc(n + 1);
  if (!name) return set_err(ctx, TSO_ERR_NOMEM, NULL);
  memcpy(name, spec, n);
  name[n] = 0;
  ctx->names[ctx->nnames++] = name;
  /* The name may be a graph input (the whole shape) or a symbolic dim (one
  ** number): both readings are handed over, the importer uses the one that
  ** matches the model. */
  tsoX_Bind *b = &ctx->binds[ctx->nbinds++];
  memset(b, 0, sizeof *b);
  b->name = name;
  b->whole = 1;
  b->shape = s;
  if (s.rank == 1) {
    b = &ctx->binds[ctx->nbinds++];
    memset(b, 0, sizeof *b);
    b->name = name;
    b->whole = 0;
    b->value = s.d[0];
  }
  return TSO_OK;
}

/* ---- models ------------------------------------------------------------ */

static void free_types(tso_model *m) {
  free(m->types);
  m->types = NULL;
  m->ntypes = 0;
}

/* Appends one warning line, escaped (util/text.h) so that a name with a
** newline in it cannot split it. */
static void warn(tso_model *m, const char *line) {
  char esc[2 * TSO_ERRMAX + 512];
  size_t old = m->warnings ? strlen(m->warnings) : 0, n = tsoU_escape(esc, sizeof esc, line);
  char *w = realloc(m->warnings, old + n + 2);
  if (!w) return;
  memcpy(w + old, esc, n);
  w[old + n] = '\n';
  w[old + n + 1] = 0;
  m->warnings = w;
}

/* Infers shapes if the graph changed since the last time. */
static tso_status refresh(tso_model *m) {
  if (!m->stale) return TSO_OK;
  tsoI_Graph *g = tsoX_graph(m->x);
  tso_status st = tsoI_check(g);
  if (st == TSO_OK) st = tsoI_infer(g);
  if (st != TSO_OK) return set_err(m->ctx, st, g->err);
  m->stale = 0;
  return TSO_OK;
}

static tso_status wrap(tso_ctx *ctx, tsoX_Model *x, tso_model **out) {
  tso_model *m = calloc(1, sizeof *m);
  if (!m) {
    tsoX_free(x);
    return set_err(ctx, TSO_ERR_NOMEM, NULL);
  }
  m->ctx = ctx;
  m->x = x;
  m->stale = 1;
  tso_status st = refresh(m);
  if (st != TSO_OK) {
    tso_model_free(m);
    return st;
  }
  /* what the user should know about the loaded model */
  tsoI_Graph *g = tsoX_graph(x);
  char line[1024];
  for (int32_t i = 0; i < g->ninputs; i++) {
    const tsoI_Tensor *t = &g->t[g->inputs[i]];
    if (t->flags & TSO_T_CONST) continue;
    for (int k = 0; k < t->shape.rank; k++) {
      if (t->shape.d[k] >= 0) continue;
      const char *what = "kept symbolic, so shape-dependent rewrites are disabled where it reaches and the "
                         "numerical check gives it a size the graph accepts (1 where it can)";
      if (t->dimsym[k]) {
        snprintf(line, sizeof line, "input '%.200s' dimension %d is symbolic ('%.100s'): %s; bind it with --shape "
                 "%.100s=N", t->name, k, t->dimsym[k], what, t->dimsym[k]);
      } else {
        /* an unnamed dim can only be bound with the input's whole shape:
        ** suggest it, with 1 for every dim that is not known */
        char dims[8 * 24] = "";
        size_t w = 0;
        for (int j = 0; j < t->shape.rank && w < sizeof dims; j++)
          w += (size_t)snprintf(dims + w, sizeof dims - w, "%s%lld", j ? "x" : "",
                                (long long)(t->shape.d[j] >= 0 ? t->shape.d[j] : 1));
        snprintf(line, sizeof line, "input '%.200s' dimension %d is symbolic (unnamed): %s; bind the whole "
                 "input, e.g. --shape %.200s=%s", t->name, k, what, t->name, dims);
      }
      warn(m, line);
    }
  }
  const char *const *why;
  int nwhy = tsoX_opaque_reasons(x, &why);
  for (int i = 0; i < nwhy; i++) {
    snprintf(line, sizeof line, "kept as an opaque node: %s", why[i]);
    warn(m, line);
  }
  *out = m;
  return set_err(ctx, TSO_OK, NULL);
}

tso_status tso_model_load(tso_ctx *ctx, const char *path, tso_model **out) {
  if (!ctx || !path || !out) return set_err(ctx, TSO_ERR_ARG, "tso_model_load: NULL argument");
  *out = NULL;
  char err[TSO_ERRMAX] = "";
  tsoX_Model *x = NULL;
  tso_status st = tsoX_load_file(path, ctx->binds, ctx->nbinds, &x, err);
  if (st != TSO_OK) return set_err(ctx, st, err);
  return wrap(ctx, x, out);
}

tso_status tso_model_load_buffer(tso_ctx *ctx, const void *buf, size_t len, const char *dir,
                                 tso_model **out) {
  if (!ctx || !buf || !out) return set_err(ctx, TSO_ERR_ARG, "tso_model_load_buffer: NULL argument");
  *out = NULL;
  char err[TSO_ERRMAX] = "";
  tsoX_Model *x = NULL;
  tso_status st = tsoX_load(buf, len, dir, ctx->binds, ctx->nbinds, &x, err);
  if (st != TSO_OK) return set_err(ctx, st, err);
  return wrap(ctx, x, out);
}

tso_status tso_model_save(tso_model *m, const char *path) {
  if (!m || !path) return TSO_ERR_ARG;
  tso_status st = refresh(m);
  if (st != TSO_OK) return st;
  char err[TSO_ERRMAX] = "";
  st = tsoX_save(m->x, path, err);
  return set_err(m->ctx, st, err);
}

void tso_model_free(tso_model *m) {
  if (!m) return;
  tsoX_free(m->x);
  free_types(m);
  free(m->warnings);
  free(m->steps);
  free(m->steptext);
  free(m);
}

const char *tso_model_warnings(const tso_model *m) {
  return m && m->warnings ? m->warnings : "";
}

void tso_model_stats_get(const tso_model *m, tso_model_stats *st) {
  memset(st, 0, sizeof *st);
  if (!m) return;
  tsoI_Graph *g = tsoX_graph(m->x);
  for (int32_t i = 0; i < g->nn; i++) {
    if (g->n[i].flags & TSO_N_DEAD) continue;
    st->nodes++;
    if (g->n[i].op == TSO_OP_OPAQUE) st->opaque_nodes++;
  }
  for (int32_t i = 0; i < g->ninputs; i++) {
    const tsoI_Tensor *t = &g->t[g->inputs[i]];
    if (t->flags & TSO_T_CONST) continue;
    st->inputs++;
    for (int k = 0; k < t->shape.rank; k++)
      if (t->shape.d[k] < 0) st->symbolic_dims++;
  }
  st->outputs = g->noutputs;
  for (int32_t i = 0; i < g->nt; i++)
    if ((g->t[i].flags & TSO_T_CONST) && g->t[i].producer < 0) st->initializers++;
}

int tso_model_opaque_types(tso_model *m, const char *const **names) {
  if (!m) return 0;
  free_types(m);
  tsoI_Graph *g = tsoX_graph(m->x);
  m->types = calloc((size_t)g->nn + 1, sizeof *m->types);
  if (!m->types) return 0;
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if ((nd->flags & TSO_N_DEAD) || nd->op != TSO_OP_OPAQUE) continue;
    const char *ty = tsoX_node_type(m->x, nd->origin);
    if (!ty) continue;
    int seen = 0;
    for (int k = 0; k < m->ntypes && !seen; k++) seen = strcmp(m->types[k], ty) == 0;
    if (!seen) m->types[m->ntypes++] = ty;
  }
  if (names) *names = m->types;
  return m->ntypes;
}

/* ---- building by hand ------------------------------------------------------ */

tso_status tso_model_create(tso_ctx *ctx, int opset, tso_model **out) {
  if (!ctx || !out || opset < 0) return set_err(ctx, TSO_ERR_ARG, "tso_model_create: bad argument");
  tsoX_Model *x = tsoX_new(opset);
  if (!x) return set_err(ctx, TSO_ERR_NOMEM, NULL);
  return wrap(ctx, x, out);
}

/* Builds a shape from the API's (rank, dims); -1 dims stay unknown. */
static tso_status api_shape(tso_model *m, int rank, const int64_t *dims, tsoO_Shape *s) {
  memset(s, 0, sizeof *s);
  if (rank < 0 || rank > TSO_MAX_RANK || (rank > 0 && !dims))
    return set_err(m->ctx, TSO_ERR_ARG, "rank must be 0..8 with dims given");
  s->rank = rank;
  for (int i = 0; i < rank; i++) {
    if (dims[i] > TSO_MAX_DIM) return set_err(m->ctx, TSO_ERR_LIMIT, "absurd dimension");
    s->d[i] = dims[i] < 0 ? -1 : dims[i];
  }
  return TSO_OK;
}

/* Checks that `name` is a new, non-empty tensor name. */
static tso_status fresh_name(tso_model *m, const char *name) {
  if (!name || !*name) return set_err(m->ctx, TSO_ERR_ARG, "tensor names must not be empty");
  if (tsoI_find(tsoX_graph(m->x), name) >= 0) {
    char buf[TSO_ERRMAX];
    (void)tsoO_fail(buf, TSO_OK, "tensor '%.200s' is defined twice", name);
    return set_err(m->ctx, TSO_ERR_INVALID, buf);
  }
  return TSO_OK;
}

tso_status tso_model_add_input(tso_model *m, const char *name, int dtype, int rank, const int64_t *dims) {
  if (!m) return TSO_ERR_ARG;
  tsoO_Shape s;
  tso_status st = api_shape(m, rank, dims, &s);
  if (st == TSO_OK) st = fresh_name(m, name);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  if (tsoI_add_input(g, name, dtype, &s) < 0) return set_err(m->ctx, TSO_ERR_NOMEM, g->err);
  m->stale = 1;
  return set_err(m->ctx, TSO_OK, NULL);
}

tso_status tso_model_add_constant(tso_model *m, const char *name, int dtype, int rank, const int64_t *dims,
                                  const void *data, size_t nbytes) {
  if (!m || (!data && nbytes)) return TSO_ERR_ARG;
  tsoO_Shape s;
  tso_status st = api_shape(m, rank, dims, &s);
  if (st == TSO_OK) st = fresh_name(m, name);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  if (tsoI_add_const(g, name, dtype, &s, data, nbytes, 1) < 0) return set_err(m->ctx, TSO_ERR_ARG, g->err);
  m->stale = 1;
  return set_err(m->ctx, TSO_OK, NULL);
}

tso_status tso_model_add_node(tso_model *m, const char *op_type, const char *const *inputs, int nin,
                              const char *const *outputs, int nout, const tso_attr *attrs, int nattrs) {
  if (!m || !op_type || nin < 0 || nout < 1 || nin > 1024 || nout > 1024 || (nin && !inputs) || !outputs ||
      (nattrs && !attrs))
    return set_err(m ? m->ctx : NULL, TSO_ERR_ARG, "tso_model_add_node: bad argument");
  char buf[TSO_ERRMAX], err[TSO_ERRMAX] = "";
  int op = tsoO_from_onnx(op_type);
  const tsoO_Info *oi = tsoO_info(op);
  if (!oi || op == TSO_OP_CONSTANT) {
    (void)tsoO_fail(buf, TSO_OK, "'%.100s' is not an operator of the table (hand-built graphs use table operators; "
             "initializers stand for Constant)", op_type);
    return set_err(m->ctx, TSO_ERR_UNSUPPORTED, buf);
  }
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  tso_status st = oi->parse(&p, attrs, nattrs, nin, nout, tsoX_opset(m->x), err);
  if (st != TSO_OK) {
    (void)tsoO_fail(buf, TSO_OK, "%s: %s", op_type, err);
    return set_err(m->ctx, st, buf);
  }
  tsoI_Graph *g = tsoX_graph(m->x);
  int32_t *ids = malloc(((size_t)nin + (size_t)nout) * sizeof *ids);
  if (!ids) return set_err(m->ctx, TSO_ERR_NOMEM, NULL);
  for (int i = 0; i < nin; i++) {
    ids[i] = -1;
    if (!inputs[i] || !*inputs[i]) continue;
    if ((ids[i] = tsoI_find(g, inputs[i])) < 0) {
      (void)tsoO_fail(buf, TSO_OK, "%s reads '%.100s', which is not defined yet", op_type, inputs[i]);
      free(ids);
      return set_err(m->ctx, TSO_ERR_INVALID, buf);
    }
  }
  for (int i = 0; i < nout; i++) {
    if ((st = fresh_name(m, outputs[i])) != TSO_OK) {
      free(ids);
      return st;
    }
    if ((ids[nin + i] = tsoI_add_tensor(g, outputs[i], 0, NULL)) < 0) {
      free(ids);
      return set_err(m->ctx, TSO_ERR_NOMEM, g->err);
    }
  }
  int32_t id = tsoI_add_node(g, op, &p, ids, nin, ids + nin, nout);
  free(ids);
  if (id < 0) return set_err(m->ctx, TSO_ERR_INVALID, g->err);
  m->stale = 1;
  return set_err(m->ctx, TSO_OK, NULL);
}

tso_status tso_model_add_output(tso_model *m, const char *name) {
  if (!m || !name) return TSO_ERR_ARG;
  tsoI_Graph *g = tsoX_graph(m->x);
  int32_t t = tsoI_find(g, name);
  if (t < 0) {
    char buf[TSO_ERRMAX];
    (void)tsoO_fail(buf, TSO_OK, "output '%.200s' is not a tensor of the graph", name);
    return set_err(m->ctx, TSO_ERR_INVALID, buf);
  }
  if (tsoI_mark_output(g, t) != 0) return set_err(m->ctx, TSO_ERR_NOMEM, g->err);
  m->stale = 1;
  return set_err(m->ctx, TSO_OK, NULL);
}

/* ---- running ---------------------------------------------------------------- */

tso_status tso_model_tensor_shape(tso_model *m, const char *name, int *dtype, int *rank,
                                  int64_t dims[TSO_MAX_RANK]) {
  if (!m || !name) return TSO_ERR_ARG;
  tso_status st = refresh(m);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  int32_t t = tsoI_find(g, name);
  if (t < 0) return set_err(m->ctx, TSO_ERR_ARG, "no tensor of that name");
  const tsoI_Tensor *x = &g->t[t];
  if (dtype) *dtype = x->dtype;
  if (rank) *rank = x->shape.rank;
  if (dims)
    for (int i = 0; i < TSO_MAX_RANK; i++) dims[i] = i < x->shape.rank ? x->shape.d[i] : 0;
  return set_err(m->ctx, TSO_OK, NULL);
}

tso_status tso_model_eval(tso_model *m, const void *const *inputs, void *const *outputs) {
  if (!m || !outputs) return TSO_ERR_ARG;
  tso_status st = refresh(m);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  tsoO_Value *vals = calloc((size_t)g->nt + 1, sizeof *vals);
  if (!vals) return set_err(m->ctx, TSO_ERR_NOMEM, NULL);
  int k = 0;
  for (int32_t i = 0; i < g->ninputs; i++) {
    const tsoI_Tensor *t = &g->t[g->inputs[i]];
    if (t->flags & TSO_T_CONST) continue;
    if (!inputs || !inputs[k] || !tsoO_shape_known(&t->shape)) {
      free(vals);
      return set_err(m->ctx, TSO_ERR_ARG, "every graph input needs data and a known shape");
    }
    vals[g->inputs[i]] = (tsoO_Value){t->dtype, t->shape, (void *)(uintptr_t)inputs[k++]};
  }
  st = tsoI_eval(g, vals, 0, NULL, NULL);
  if (st == TSO_OK) {
    for (int32_t i = 0; i < g->noutputs; i++) {
      const tsoO_Value *v = &vals[g->outputs[i]];
      size_t nb = (size_t)tsoO_numel(&v->shape) * tsoO_dtype_size(v->dtype);
      if (nb && outputs[i]) memcpy(outputs[i], v->data, nb);
    }
  }
  char err[TSO_ERRMAX];
  snprintf(err, sizeof err, "%s", g->err);
  for (int32_t i = 0; i < g->ninputs; i++) vals[g->inputs[i]].data = NULL; /* the caller's */
  tsoI_eval_free(g, vals, 0);
  free(vals);
  return set_err(m->ctx, st, err);
}

/* ---- optimizing ----------------------------------------------------------- */

void tso_opt_options_init(tso_opt_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->rtol = 1e-3;
  o->atol = 1e-4;
  o->alpha = 1.05;
  o->budget = 1000;
}

/* Reads a rule file: the binary format, or its text form. */
static tso_status load_rules(const char *path, tsoR_Set *rs, char *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return tsoO_fail(err, TSO_ERR_IO, "cannot open the rule file %s", path);
  unsigned char magic[4] = {0};
  size_t n = fread(magic, 1, sizeof magic, f);
  fclose(f);
  if (n == 4 && magic[0] == 0x89 && magic[1] == 'T' && magic[2] == 'S' && magic[3] == 'R') return tsoR_read(path, rs, err);
  uint8_t *buf = NULL;
  size_t len = 0;
  tso_status st = tsoU_read_file(path, (uint64_t)1 << 30, &buf, &len, err);
  if (st != TSO_OK) return st;
  char e2[TSO_ERRMAX];
  st = tsoR_parse_text_set((const char *)buf, len, rs, e2);
  free(buf);
  if (st != TSO_OK) (void)tsoO_fail(err, st, "rule file %.100s: %s", path, e2);
  return st;
}

/* The cost of g, 0 when it cannot be computed. */
static double cost_of(tsoI_Graph *g, tsoC_Backend *be, tsoC_Db *db) {
  double ms = 0.0;
  char err[TSO_ERRMAX];
  if (tsoS_graph_cost(g, be, db, &ms, err) != TSO_OK) ms = 0.0;
  return ms;
}

/* Compacts, checks and infers g. */
static tso_status settle(tsoI_Graph *g) {
  tso_status st;
  if ((st = tsoI_compact(g)) != TSO_OK || (st = tsoI_check(g)) != TSO_OK || (st = tsoI_infer(g)) != TSO_OK) return st;
  return TSO_OK;
}

/* What the post passes need to share. */
typedef struct Pipe {
  const tso_opt_options *o;
  tso_opt_report *rep;
  tsoC_Backend *be;
  tsoC_Db *db;
  int gemm_pre;            /* MatMul+Add -> Gemm fusions of the pre pass */
  char err[TSO_ERRMAX];
} Pipe;

/* The post pass, pre-folding and lowering on a copy of g: *out is what
** would be written. cost_ms (may be NULL) receives the cost after the post
** pass. */
static tso_status finish_graph(Pipe *p, tsoI_Graph *g, tsoI_Graph **out, double *cost_ms) {
  tsoI_Graph *h = tsoI_clone(g);
  tso_status st = TSO_OK;
  *out = NULL;
  if (!h) return tsoO_fail(p->err, TSO_ERR_NOMEM, "out of memory");
  int k = 0;
  if (!p->o->no_fusion && (k = tsoS_fuse_matmul_add(h, p->err)) < 0) st = TSO_ERR_NOMEM;
  if (st == TSO_OK && (st = settle(h)) != TSO_OK) (void)tsoO_fail(p->err, st, "%s", h->err);
  p->rep->gemm_fused = p->gemm_pre + k;
  if (st == TSO_OK && cost_ms && p->be) *cost_ms = cost_of(h, p->be, p->db);
  if (st == TSO_OK && (k = tsoS_lower_layouts(h, p->err)) < 0) st = TSO_ERR_NOMEM;
  p->rep->layouts_lowered = k > 0 ? k : 0;
  if (st == TSO_OK && k > 0 && (st = settle(h)) != TSO_OK) (void)tsoO_fail(p->err, st, "%s", h->err);
  if (st == TSO_OK && (k = tsoS_prefold(h, p->err)) < 0) st = TSO_ERR_NOMEM;
  p->rep->prefolded = k > 0 ? k : 0;
  if (st == TSO_OK && (k = tsoS_lower(h, p->err)) < 0) st = strstr(p->err, "memory") ? TSO_ERR_NOMEM : TSO_ERR_UNSUPPORTED;
  p->rep->lowered = k > 0 ? k : 0;
  if (st == TSO_OK && (st = settle(h)) != TSO_OK) (void)tsoO_fail(p->err, st, "%s", h->err);
  if (st != TSO_OK) {
    tsoI_free(h);
    return st;
  }
  *out = h;
  return TSO_OK;
}

void (*tsoA_test_perturb)(tsoI_Graph *candidate) = NULL;

/* The numerical check of candidate h against the original g. */
static tso_status check(Pipe *p, tsoI_Graph *g, tsoI_Graph *h, tsoI_CompareResult *cr) {
  const tso_opt_options *o = p->o;
  memset(cr, 0, sizeof *cr);
  if (o->skip_check) return TSO_OK;
  if (tsoA_test_perturb) tsoA_test_perturb(h); /* tests only (testhook.h) */
  return tsoI_compare(g, h, o->seed, o->rtol > 0 ? o->rtol : 1e-3, o->atol > 0 ? o->atol : 1e-4, cr);
}

/* Candidate k of a bisection: the first k rewrites, then the post passes. */
static tso_status prefix_graph(Pipe *p, tsoI_Graph *pre, const tsoR_Set *rules, const tsoS_Result *sr, int k,
                               tsoI_Graph **out) {
  tsoI_Graph *r = NULL;
  tso_status st = tsoS_replay(pre, rules, sr, k, &r, p->err);
  if (st == TSO_OK && (st = settle(r)) != TSO_OK) (void)tsoO_fail(p->err, st, "%s", r->err);
  if (st == TSO_OK) st = finish_graph(p, r, out, NULL);
  tsoI_free(r);
  return st;
}

/* Records the steps of sr in the model and the report. */
static tso_status keep_steps(tso_model *m, tso_opt_report *rep, const tsoR_Set *rules, const tsoS_Result *sr,
                             const unsigned char *lifted, const unsigned char *reversed, const tsoI_Graph *pre) {
  free(m->steps);
  free(m->steptext);
  m->steps = NULL;
  m->steptext = NULL;
  rep->nsteps = 0;
  rep->layout_steps = 0;
  rep->steps = NULL;
  if (!sr || sr->nsteps == 0) return TSO_OK;
  enum { TEXT = 1024 };
  m->steps = calloc((size_t)sr->nsteps, sizeof *m->steps);
  m->steptext = calloc((size_t)sr->nsteps, TEXT);
  if (!m->steps || !m->steptext) return TSO_ERR_NOMEM;
  for (int i = 0; i < sr->nsteps; i++) {
    char *t = m->steptext + (size_t)i * TEXT;
    if (sr->steps[i].rule == TSO_S_LAYOUT) {
      int32_t x = sr->steps[i].tensor;
      const char *nm = pre && x >= 0 && x < pre->nt && pre->t[x].name[0] ? pre->t[x].name : "(new tensor)";
      snprintf(t, TEXT, "layout: %s stored %s", nm, tsoL_name(sr->steps[i].layout));
      m->steps[i].rule = -1;
      m->steps[i].text = t;
      m->steps[i].cost_before = sr->steps[i].cost_before;
      m->steps[i].cost_after = sr->steps[i].cost_after;
      rep->layout_steps++;
      continue;
    }
    if (tsoR_format(&rules->r[sr->steps[i].rule], t, TEXT - 40) != TSO_OK) snprintf(t, TEXT, "(rule %u)", sr->steps[i].rule);
    if (reversed && reversed[sr->steps[i].rule]) strcat(t, "  [reversed]");
    if (lifted && lifted[sr->steps[i].rule]) strcat(t, "  [bias-lifted variant]");
    m->steps[i].rule = (int)rules->r[sr->steps[i].rule].id;
    m->steps[i].text = t;
    m->steps[i].cost_before = sr->steps[i].cost_before;
    m->steps[i].cost_after = sr->steps[i].cost_after;
  }
  rep->nsteps = sr->nsteps;
  rep->steps = m->steps;
  return TSO_OK;
}

tso_status tso_optimize(tso_model *m, const tso_opt_options *o, tso_opt_report *rep) {
  tso_opt_options def;
  tso_opt_report scratch;
  if (!m) return TSO_ERR_ARG;
  if (!o) {
    tso_opt_options_init(&def);
    o = &def;
  }
  if (!rep) rep = &scratch;
  memset(rep, 0, sizeof *rep);
  rep->culprit_rule = -1;
  tso_status st = refresh(m);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  tso_model_stats ms;
  tso_model_stats_get(m, &ms);
  rep->nodes_before = ms.nodes;
  rep->seed = o->seed;
  (void)keep_steps(m, rep, NULL, NULL, NULL, NULL, NULL);

  Pipe p;
  memset(&p, 0, sizeof p);
  p.o = o;
  p.rep = rep;
  tsoI_Graph *h = NULL, *pre = NULL, *best = NULL, *final = NULL;
  tsoR_Set rules;
  memset(&rules, 0, sizeof rules);
  tsoS_Result sr;
  memset(&sr, 0, sizeof sr);
  unsigned char *disabled = NULL, *lifted = NULL, *reversed = NULL;

  /* 1. dead and no-op nodes */
  h = tsoI_clone(g);
  if (!h) return set_err(m->ctx, TSO_ERR_NOMEM, NULL);
  rep->dead_removed = tsoI_remove_dead(h);
  rep->noops_removed = tsoI_remove_noops(h);
  rep->dead_removed += tsoI_remove_dead(h);
  if ((st = settle(h)) != TSO_OK) {
    set_err(m->ctx, st, h->err);
    tsoI_free(h);
    return st;
  }

  /* the cost model */
  const char *bname = o->backend ? o->backend : tsoC_have_onednn() ? "onednn" : "analytic";
  p.be = tsoC_backend_create(bname, p.err);
  if (!p.be && strcmp(bname, "analytic") != 0) {
    if (o->backend) {
      st = set_err(m->ctx, TSO_ERR_UNSUPPORTED, p.err);
      goto out;
    }
    bname = "analytic";
    p.be = tsoC_backend_create(bname, p.err);
  }
  if (!p.be) {
    st = set_err(m->ctx, TSO_ERR_NOMEM, p.err);
    goto out;
  }
  snprintf(rep->backend, sizeof rep->backend, "%s", bname);
  if (tsoC_db_open(o->cost_db, 0, &p.db, p.err) != TSO_OK) {
    warn(m, p.err);
    p.db = NULL;
  }
  rep->cost_before = cost_of(g, p.be, p.db);

  /* 2. the pre pass */
  pre = tsoI_clone(h);
  if (!pre) {
    st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
    goto out;
  }
  if (!o->no_fusion) {
    int k = tsoS_fuse_conv_bn(pre, p.err);
    if (k < 0) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, p.err);
      goto out;
    }
    rep->bn_folded = k;
    if ((k = tsoS_flatten_matmuls(pre, p.err)) < 0) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, p.err);
      goto out;
    }
    rep->matmuls_flattened = k;
    /* MatMul+Add -> Gemm before the search too: the search does not know
    ** the post pass, and merging two matmuls that each fuse with an Add
    ** into one Gemm only looks cheaper when the fusion is ignored (NasRNN:
    ** merged, onnxruntime ran it 10% slower) */
    if ((k = tsoS_fuse_matmul_add(pre, p.err)) < 0) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, p.err);
      goto out;
    }
    p.gemm_pre = k;
    if ((st = settle(pre)) != TSO_OK) {
      set_err(m->ctx, st, pre->err);
      goto out;
    }
  }

  /* 3. the search */
  if (o->rules_path && o->budget >= 0) {
    char e2[TSO_ERRMAX];
    if (load_rules(o->rules_path, &rules, e2) != TSO_OK) {
      snprintf(rep->rules_note, sizeof rep->rules_note, "%s", e2);
      st = set_err(m->ctx, TSO_ERR_IO, e2);
      goto out;
    }
    rep->rules_loaded = (int)rules.n;
    uint32_t nbase = rules.n;
    if (tsoS_reverse_rules(&rules) < 0) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
      goto out;
    }
    uint32_t nrev = rules.n;
    if (tsoS_lift_rules(&rules, &lifted) < 0) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
      goto out;
    }
    disabled = calloc((size_t)rules.n + 1, 1);
    reversed = calloc((size_t)rules.n + 1, 1);
    if (!disabled || !reversed) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
      goto out;
    }
    /* which rules are reversed ones: those appended by tsoS_reverse_rules,
    ** and the lifted variants of those (appended in order of their rule) */
    for (uint32_t i = nbase; i < nrev; i++) reversed[i] = 1;
    for (uint32_t i = 0, j = nrev; i < nrev && j < rules.n; i++) {
      tsoR_Rule tmp;
      if (tsoS_lift_rule(&rules.r[i], &tmp) == 0) reversed[j++] = reversed[i];
    }
    for (uint32_t i = 0; i < rules.n; i++) {
      int id = (int)rules.r[i].id; /* a lifted or reversed rule goes with the rule it comes from */
      /* a rule without inputs is a fact about the generator's constant
      ** tensors, which imported graphs do not contain: never matched */
      disabled[i] = rules.r[i].status != TSO_RULE_PROVEN || rules.r[i].nin == 0 ||
                    (id < o->ndisabled_rules && o->disabled_rules && o->disabled_rules[id]);
      if (i < nbase) rep->rules_used += !disabled[i];
    }
    snprintf(rep->rules_note, sizeof rep->rules_note, "%s (%d rules, %d used)", o->rules_path, rep->rules_loaded,
             rep->rules_used);
  } else {
    snprintf(rep->rules_note, sizeof rep->rules_note, "%s",
             o->rules_path ? "search disabled (budget -1)" : "no rules: passes only");
  }
  tsoS_Options so;
  tsoS_options_init(&so);
  if (o->alpha > 0) so.alpha = o->alpha;
  if (o->budget > 0) so.budget = o->budget;
  so.time_limit = o->time_limit;
  so.be = p.be;
  so.db = p.db;
  so.disabled = disabled;
  so.check_first = lifted;
  so.no_layouts = o->no_layouts;
  tsoI_CompareResult cr;
  memset(&cr, 0, sizeof cr);
  int attempts = 0;
  for (;;) {
    tsoS_result_free(&sr);
    tsoI_free(best);
    best = NULL;
    if (rules.n) {
      if ((st = tsoS_search(pre, &rules, &so, &best, &sr, p.err)) != TSO_OK) {
        set_err(m->ctx, st, p.err);
        goto out;
      }
      if ((st = settle(best)) != TSO_OK) {
        set_err(m->ctx, st, best->err);
        goto out;
      }
      rep->search_cost_before = sr.cost_before;
      rep->search_cost_after = sr.cost_after;
      rep->graphs_expanded += sr.expanded;
      rep->graphs_generated += sr.generated;
      rep->graphs_kept += sr.kept;
      rep->graphs_pruned_alpha += sr.pruned_alpha;
      rep->graphs_duplicates += sr.duplicates;
      rep->matches_found += (int64_t)sr.ms.found;
      rep->matches_refused += (int64_t)(sr.ms.found - sr.ms.valid);
      rep->ops_measured += sr.measured;
      rep->ops_estimated += sr.estimated;
      rep->search_seconds += sr.seconds;
      rep->search_stopped_by = sr.stopped_by;
      rep->layout_moves += sr.layout_moves;
    } else if (!(best = tsoI_clone(pre))) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
      goto out;
    }
    /* 4. post pass, pre-folding, lowering; 5. the check */
    tsoI_free(final);
    final = NULL;
    st = finish_graph(&p, best, &final, &rep->cost_after);
    if (st == TSO_OK) st = check(&p, g, final, &cr);
    else snprintf(cr.note, sizeof cr.note, "%s", p.err);
    if (st == TSO_OK || sr.nsteps == 0 || attempts >= 3) break;
    /* 6. a failed result: bisect over the applied rewrites */
    int lo = 0, hi = sr.nsteps; /* prefix lo passes (assumed), prefix hi fails */
    tsoI_CompareResult c2;
    while (hi - lo > 1) {
      int mid = lo + (hi - lo) / 2;
      tsoI_Graph *c = NULL;
      tso_status s2 = prefix_graph(&p, pre, &rules, &sr, mid, &c);
      if (s2 == TSO_OK) s2 = check(&p, g, c, &c2);
      tsoI_free(c);
      if (s2 == TSO_OK) lo = mid;
      else hi = mid;
    }
    uint32_t bad = sr.steps[hi - 1].rule;
    if (bad == TSO_S_LAYOUT) { /* layouts never change values: cannot happen, but never loop on it */
      rep->fallback = 1;
      (void)tsoO_fail(rep->fallback_note, TSO_OK, "rewrite %d of %d (a layout choice) breaks the check (%.40s); "
                      "searching again without layouts", hi, sr.nsteps, cr.note);
      warn(m, "numerical check failed after a layout choice: layouts disabled, search repeated");
      so.no_layouts = 1;
      attempts++;
      continue;
    }
    char txt[512];
    if (tsoR_format(&rules.r[bad], txt, sizeof txt) != TSO_OK) snprintf(txt, sizeof txt, "?");
    rep->fallback = 1;
    rep->culprit_rule = (int)rules.r[bad].id;
    (void)tsoO_fail(rep->fallback_note, TSO_OK,
             "rewrite %d of %d (rule %u%s: %.150s) breaks the check (%.40s); searching again without it", hi,
             sr.nsteps, rules.r[bad].id, lifted && lifted[bad] ? ", bias-lifted" : "", txt, cr.note);
    char line[512];
    (void)tsoO_fail(line, TSO_OK, "numerical check failed after rule %u (%s): rule disabled, search repeated", rules.r[bad].id, txt);
    warn(m, line);
    disabled[bad] = 1;
    attempts++;
  }
  if (st != TSO_OK && st != TSO_ERR_NOMEM) {
    /* 7. nothing with rewrites passes: the passes alone */
    char why[TSO_ERRMAX];
    snprintf(why, sizeof why, "%s", cr.note[0] ? cr.note : p.err);
    tsoI_free(final);
    final = tsoI_clone(h);
    tsoS_result_free(&sr);
    if (!final) {
      st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
      goto out;
    }
    st = check(&p, g, final, &cr);
    if (st != TSO_OK) {
      set_err(m->ctx, st, cr.note);
      goto out;
    }
    rep->fallback = 1;
    (void)tsoO_fail(rep->fallback_note, TSO_OK, "the optimized graph failed (%.180s); wrote the input "
             "with dead and no-op nodes removed", why);
    rep->cost_after = cost_of(final, p.be, p.db);
    rep->bn_folded = rep->gemm_fused = rep->prefolded = rep->lowered = rep->matmuls_flattened = 0;
  } else if (st != TSO_OK) {
    set_err(m->ctx, st, p.err);
    goto out;
  }
  rep->check_run = cr.ran;
  rep->outputs_checked = cr.checked;
  rep->outputs_unchecked = cr.unchecked;
  rep->max_abs_err = cr.max_abs;
  rep->max_rel_err = cr.max_rel;
  snprintf(rep->check_note, sizeof rep->check_note, "%s", cr.note); /* says how symbolic dims were set, if any */
  if (!o->skip_check && !cr.ran) rep->outputs_unchecked = g->noutputs;
  if (keep_steps(m, rep, &rules, &sr, lifted, reversed, pre) != TSO_OK) {
    st = set_err(m->ctx, TSO_ERR_NOMEM, NULL);
    goto out;
  }
  tsoX_set_graph(m->x, final);
  final = NULL;
  tso_model_stats_get(m, &ms);
  rep->nodes_after = ms.nodes;
  st = set_err(m->ctx, TSO_OK, NULL);
out:
  tsoI_free(h);
  tsoI_free(pre);
  tsoI_free(best);
  tsoI_free(final);
  tsoS_result_free(&sr);
  tsoR_set_free(&rules);
  free(disabled);
  free(lifted);
  free(reversed);
  tsoC_db_close(p.db);
  tsoC_backend_free(p.be);
  return st;
}

/* ---- Graphviz ---------------------------------------------------------------- */

/* Writes s as a dot string body (quotes and backslashes escaped). */
static void dot_str(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if ((unsigned char)*s >= 0x20) fputc(*s, f);
  }
}

tso_status tso_model_write_dot(tso_model *m, const char *path) {
  if (!m || !path) return TSO_ERR_ARG;
  tso_status st = refresh(m);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  FILE *f = fopen(path, "w");
  char b[96];
  if (!f) {
    char e[TSO_ERRMAX];
    (void)tsoO_fail(e, TSO_OK, "cannot write %.200s", path);
    return set_err(m->ctx, TSO_ERR_IO, e);
  }
  fprintf(f, "digraph taso {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
  for (int32_t i = 0; i < g->ninputs; i++) {
    const tsoI_Tensor *t = &g->t[g->inputs[i]];
    if (t->flags & TSO_T_CONST) continue;
    fprintf(f, "  t%d [shape=ellipse, label=\"", (int)g->inputs[i]);
    dot_str(f, t->name);
    fprintf(f, "\\n%s\"];\n", tsoO_shape_str(&t->shape, b, sizeof b));
  }
  for (int32_t i = 0; i < g->nn; i++) {
    const tsoI_Node *nd = &g->n[i];
    if (nd->flags & TSO_N_DEAD) continue;
    const tsoO_Info *oi = tsoO_info(nd->op);
    const char *name = nd->op == TSO_OP_OPAQUE ? tsoX_node_type(m->x, nd->origin) : oi->onnx[0] ? oi->onnx : oi->name;
    const tsoI_Tensor *y = nd->nout ? &g->t[TSO_OUT(g, nd, 0)] : NULL;
    fprintf(f, "  n%d [shape=box%s, label=\"", (int)i, nd->op == TSO_OP_OPAQUE ? ", style=dashed" : "");
    dot_str(f, name ? name : "?");
    if (nd->op == TSO_OP_CONV2D && nd->p.win.act == TSO_ACT_RELU) fprintf(f, "+Relu");
    if (y) fprintf(f, "\\n%s", tsoO_shape_str(&y->shape, b, sizeof b));
    fprintf(f, "\"];\n");
    for (int k = 0; k < nd->nin; k++) {
      int32_t t = TSO_IN(g, nd, k);
      if (t < 0) continue;
      const tsoI_Tensor *x = &g->t[t];
      if (x->producer >= 0) fprintf(f, "  n%d -> n%d;\n", (int)x->producer, (int)i);
      else if (x->flags & TSO_T_INPUT && !(x->flags & TSO_T_CONST)) fprintf(f, "  t%d -> n%d;\n", (int)t, (int)i);
    }
  }
  for (int32_t i = 0; i < g->noutputs; i++) {
    const tsoI_Tensor *t = &g->t[g->outputs[i]];
    fprintf(f, "  o%d [shape=ellipse, style=bold, label=\"", (int)i);
    dot_str(f, t->name);
    fprintf(f, "\\n%s\"];\n", tsoO_shape_str(&t->shape, b, sizeof b));
    if (t->producer >= 0) fprintf(f, "  n%d -> o%d;\n", (int)t->producer, (int)i);
  }
  fprintf(f, "}\n");
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) return set_err(m->ctx, TSO_ERR_IO, "cannot write the dot file");
  return set_err(m->ctx, TSO_OK, NULL);
}
