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

#include "graph/graph.h"
#include "onnx/onnx.h"
#include "taso/taso.h"

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

/* Parses "1x3x224x224" into s; 0 on success. */
static int parse_dims(const char *v, tsoO_Shape *s) {
  memset(s, 0, sizeof *s);
  if (!*v) return -1;
  while (*v) {
    char *end;
    if (s->rank >= TSO_MAX_RANK || *v < '0' || *v > '9') return -1;
    long long d = strtoll(v, &end, 10);
    if (end == v || d < 0 || d > TSO_MAX_DIM) return -1;
    s->d[s->rank++] = d;
    v = end;
    if (*v == 'x' || *v == 'X' || *v == ',') v++;
    else if (*v) return -1;
  }
  return 0;
}

tso_status tso_ctx_bind_shape(tso_ctx *ctx, const char *spec) {
  if (!ctx || !spec) return TSO_ERR_ARG;
  const char *eq = strchr(spec, '=');
  char buf[TSO_ERRMAX];
  tsoO_Shape s;
  if (!eq || eq == spec || parse_dims(eq + 1, &s) != 0) {
    (void)tsoO_fail(buf, TSO_OK, "bad shape binding '%s': expected NAME=DIMS, e.g. input=1x3x224x224 or batch=1",
             spec);
    return set_err(ctx, TSO_ERR_ARG, buf);
  }
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

/* Appends one warning line. */
static void warn(tso_model *m, const char *line) {
  size_t old = m->warnings ? strlen(m->warnings) : 0, n = strlen(line);
  char *w = realloc(m->warnings, old + n + 2);
  if (!w) return;
  memcpy(w + old, line, n);
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
  char line[512];
  for (int32_t i = 0; i < g->ninputs; i++) {
    const tsoI_Tensor *t = &g->t[g->inputs[i]];
    if (t->flags & TSO_T_CONST) continue;
    for (int k = 0; k < t->shape.rank; k++)
      if (t->shape.d[k] < 0) {
        snprintf(line, sizeof line,
                 "input '%s' dimension %d is symbolic ('%s'): kept symbolic, so shape-dependent rewrites "
                 "are disabled where it reaches and the numerical check uses 1 for it; bind it with "
                 "--shape %s=N",
                 t->name, k, t->dimsym[k] ? t->dimsym[k] : "?", t->dimsym[k] ? t->dimsym[k] : t->name);
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
  tso_status st = refresh(m);
  if (st != TSO_OK) return st;
  tsoI_Graph *g = tsoX_graph(m->x);
  tso_model_stats ms;
  tso_model_stats_get(m, &ms);
  rep->nodes_before = ms.nodes;
  rep->seed = o->seed;
  tsoI_Graph *h = tsoI_clone(g);
  if (!h) return set_err(m->ctx, TSO_ERR_NOMEM, NULL);
  rep->dead_removed = tsoI_remove_dead(h);
  rep->noops_removed = tsoI_remove_noops(h);
  rep->dead_removed += tsoI_remove_dead(h);
  if ((st = tsoI_compact(h)) != TSO_OK || (st = tsoI_check(h)) != TSO_OK || (st = tsoI_infer(h)) != TSO_OK) {
    set_err(m->ctx, st, h->err);
    tsoI_free(h);
    return st;
  }
  if (!o->skip_check) {
    tsoI_CompareResult cr;
    st = tsoI_compare(g, h, o->seed, o->rtol > 0 ? o->rtol : 1e-3, o->atol > 0 ? o->atol : 1e-4, &cr);
    rep->check_run = cr.ran;
    rep->outputs_checked = cr.checked;
    rep->outputs_unchecked = cr.unchecked;
    rep->max_abs_err = cr.max_abs;
    rep->max_rel_err = cr.max_rel;
    (void)tsoO_fail(rep->check_note, TSO_OK, "%s%s", cr.symbolic_set ? "symbolic dims set to 1; " : "", cr.note);
    if (st != TSO_OK) {
      tsoI_free(h);
      return set_err(m->ctx, st, cr.note);
    }
    if (!cr.ran) rep->outputs_unchecked = g->noutputs;
  }
  tsoX_set_graph(m->x, h);
  tso_model_stats_get(m, &ms);
  rep->nodes_after = ms.nodes;
  return set_err(m->ctx, TSO_OK, NULL);
}
