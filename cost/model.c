/*
** model.c -- the cost of a graph: the sum of its nodes' costs.
**
** For every live node: build its key; operators that move no data cost 0
** (FREE); operators the backend cannot time are estimated by the fallback
** (ANALYTIC, with the reason); the rest are looked up in the database
** (CACHED) and what is missing is measured (MEASURED) -- each distinct
** signature once, in batches that the driver interleaves -- and stored,
** one transaction per batch, so an interrupted run keeps what it measured.
** When the time budget runs out, the keys not measured yet are estimated
** by the fallback and flagged.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/cost.h"

const char *tsoC_source_name(int src) {
  switch (src) {
  case TSOC_SRC_CACHED: return "cached";
  case TSOC_SRC_MEASURED: return "measured";
  case TSOC_SRC_ANALYTIC: return "analytic";
  case TSOC_SRC_FREE: return "free";
  default: return "none";
  }
}

/* Distinct signatures still to measure. */
typedef struct Todo {
  tsoC_Key *keys;
  tsoC_Sig *sigs;
  int n;
  int32_t *slot;   /* open addressing over sigs: index + 1, 0 empty */
  size_t cap;
} Todo;

/* Index of sig in t, adding (key, sig) if new; -1 on allocation failure. */
static int todo_add(Todo *t, const tsoC_Key *k, const tsoC_Sig *s) {
  size_t i = (size_t)s->hash & (t->cap - 1);
  for (; t->slot[i]; i = (i + 1) & (t->cap - 1)) {
    const tsoC_Sig *o = &t->sigs[t->slot[i] - 1];
    if (o->hash == s->hash && o->n == s->n && !memcmp(o->b, s->b, s->n)) return t->slot[i] - 1;
  }
  t->keys[t->n] = *k;
  t->sigs[t->n] = *s;
  t->slot[i] = ++t->n;
  return t->n - 1;
}

/* c->why = "who: msg", truncated to fit. */
/* Where finished measurements go: stored FLUSH_EVERY at a time (one
** transaction each), so an interrupted run keeps most of its work. */
#define FLUSH_EVERY 16
typedef struct Sink {
  tsoC_Db *db;
  tsoC_Backend *be;
  const tsoC_GraphOpts *o;
  const tsoC_Key *keys;   /* the batch's keys */
  tsoC_Key *k;            /* pending */
  tsoC_Entry *e;
  int n;                  /* pending count */
  int finished, total;    /* for progress */
  tso_status st;          /* first storage failure */
  char err[TSO_ERRMAX];
} Sink;

static void sink_flush(Sink *s) {
  if (s->n > 0 && s->st == TSO_OK && !s->o->no_store) s->st = tsoC_db_put(s->db, s->be, s->n, s->k, s->e, s->err);
  s->n = 0;
}

static void sink_done(void *ud, int i, const tsoC_Result *r) {
  Sink *s = ud;
  s->finished++;
  if (r->st == TSO_OK) {
    s->k[s->n] = s->keys[i];
    s->e[s->n++] = r->e;
    if (s->n == FLUSH_EVERY) sink_flush(s);
  }
  if (s->o->progress) s->o->progress(s->o->ud, s->finished, s->total);
}

static void set_why(tsoC_NodeCost *c, const char *who, const char *msg) {
  int w = snprintf(c->why, sizeof c->why, "%s%s%s", who ? who : "", who && *who ? ": " : "", msg);
  if (w < 0) c->why[0] = 0; /* (truncation is fine: the reason's start says enough) */
}

tso_status tsoC_graph_cost(tsoI_Graph *g, tsoC_Backend *be, tsoC_Db *db, const tsoC_GraphOpts *o,
                           double *total_ms, tsoC_NodeCost *per_node, char *err) {
  tsoC_GraphOpts defaults;
  memset(&defaults, 0, sizeof defaults);
  if (!o) o = &defaults;
  if (total_ms) *total_ms = 0.0;
  if (!g || !be) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_graph_cost: NULL argument");
  tso_status st = TSO_OK;
  tsoC_Db *own_db = NULL;
  tsoC_Backend *own_fb = NULL, *fb = o->fallback;
  int nn = g->nn;
  tsoC_NodeCost *nc = per_node ? per_node : calloc(nn > 0 ? (size_t)nn : 1, sizeof *nc);
  int32_t *uidx = malloc((nn > 0 ? (size_t)nn : 1) * sizeof *uidx); /* node -> index in todo, or -1 */
  tsoC_Key *k = malloc(sizeof *k);
  tsoC_Sig *sig = malloc(sizeof *sig);
  Todo t = {0};
  t.cap = 16;
  while (t.cap < 2 * (size_t)(nn > 0 ? nn : 1)) t.cap *= 2;
  t.keys = malloc((nn > 0 ? (size_t)nn : 1) * sizeof *t.keys);
  t.sigs = malloc((nn > 0 ? (size_t)nn : 1) * sizeof *t.sigs);
  t.slot = calloc(t.cap, sizeof *t.slot);
  tsoC_Result *res = NULL;
  if (!nc || !uidx || !k || !sig || !t.keys || !t.sigs || !t.slot) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done;
  }
  memset(nc, 0, (size_t)nn * sizeof *nc);
  if (!db) {
    if ((st = tsoC_db_open(NULL, 0, &own_db, err)) != TSO_OK) goto done;
    db = own_db;
  }
  if (!fb) {
    if (be->vt->estimate) {
      fb = be;
    } else if (!(fb = own_fb = tsoC_analytic_create(NULL))) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto done;
    }
  }
  /* classify every node; collect the distinct keys to measure */
  char why[TSO_ERRMAX];
  for (int32_t i = 0; i < nn; i++) {
    tsoC_NodeCost *c = &nc[i];
    uidx[i] = -1;
    if (g->n[i].flags & TSO_N_DEAD) continue;
    why[0] = 0;
    tso_status ks = tsoC_key_from_node(g, i, o->layouts, k, why);
    if (ks != TSO_OK) {
      c->source = TSOC_SRC_NONE;
      set_why(c, "", why);
      continue;
    }
    if (tsoC_key_sig(k, sig) == TSO_OK) c->sig_hash = sig->hash;
    if (tsoC_key_is_free(k)) {
      c->source = TSOC_SRC_FREE;
      continue;
    }
    /* the database first: a hit needs no backend work (supports() may
    ** build a primitive descriptor, and the search asks again and again) */
    if (!be->vt->estimate && !o->remeasure) {
      tsoC_Entry e;
      int found = 0;
      if ((st = tsoC_db_get(db, be, sig, &e, &found, err)) != TSO_OK) goto done;
      if (found) {
        c->source = TSOC_SRC_CACHED;
        c->ms = e.ms;
        c->repeats = e.repeats;
        c->spread = e.spread;
        continue;
      }
    }
    if (!be->vt->supports(be, k, why)) {
      double ms = 0.0;
      char e2[TSO_ERRMAX] = "";
      c->source = TSOC_SRC_ANALYTIC;
      set_why(c, be->vt->name, why);
      if (fb->vt->estimate && fb->vt->estimate(fb, k, &ms, e2) == TSO_OK) c->ms = ms;
      continue;
    }
    if (be->vt->estimate) { /* a model-based backend: no database */
      c->source = TSOC_SRC_ANALYTIC;
      if ((ks = be->vt->estimate(be, k, &c->ms, why)) != TSO_OK) {
        c->source = TSOC_SRC_NONE;
        set_why(c, be->vt->name, why);
      }
      continue;
    }
    if ((uidx[i] = todo_add(&t, k, sig)) < 0) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto done;
    }
  }
  /* measure the distinct missing keys; results are stored as they come */
  if (t.n > 0) {
    res = calloc((size_t)t.n, sizeof *res);
    Sink sk = {db, be, o, t.keys, malloc(FLUSH_EVERY * sizeof *sk.k), malloc(FLUSH_EVERY * sizeof *sk.e), 0, 0, t.n,
               TSO_OK, ""};
    if (!res || !sk.k || !sk.e) {
      free(sk.k);
      free(sk.e);
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      goto done;
    }
    double deadline = o->budget_s > 0.0 ? tsoC_now() + o->budget_s : 0.0;
    if (o->progress) o->progress(o->ud, 0, t.n);
    st = tsoC_measure_batch(be, t.keys, t.n, deadline, res, sink_done, &sk, err);
    if (st == TSO_OK) sink_flush(&sk);
    if (st == TSO_OK && sk.st != TSO_OK) st = tsoO_fail(err, sk.st, "%s", sk.err);
    free(sk.k);
    free(sk.e);
    if (st != TSO_OK) goto done;
    for (int32_t i = 0; i < nn; i++) {
      if (uidx[i] < 0) continue;
      tsoC_NodeCost *c = &nc[i];
      const tsoC_Result *r = &res[uidx[i]];
      if (r->st == TSO_OK) {
        c->source = TSOC_SRC_MEASURED;
        c->ms = r->e.ms;
        c->repeats = r->e.repeats;
        c->spread = r->e.spread;
      } else {
        double ms = 0.0;
        char e2[TSO_ERRMAX] = "";
        c->source = TSOC_SRC_ANALYTIC;
        set_why(c, be->vt->name, r->err);
        if (fb->vt->estimate && fb->vt->estimate(fb, &t.keys[uidx[i]], &ms, e2) == TSO_OK) c->ms = ms;
      }
    }
  }
  if (total_ms) {
    double sum = 0.0;
    for (int32_t i = 0; i < nn; i++) sum += nc[i].ms;
    *total_ms = sum;
  }
done:
  free(res);
  free(t.keys);
  free(t.sigs);
  free(t.slot);
  free(k);
  free(sig);
  free(uidx);
  if (nc != per_node) free(nc);
  tsoC_backend_free(own_fb);
  tsoC_db_close(own_db);
  return st;
}
