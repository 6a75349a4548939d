/*
** run.c -- a whole generator run: threads, the two enumeration passes,
** the fingerprint filter, shards, merging shard files, progress and
** resource figures.
**
** Memory stays bounded by a two-pass scheme. Pass 1 enumerates every graph
** and records its fingerprint in a filter of two bit planes ("seen",
** "seen twice") addressed by three hashes of the fingerprint; pass 2
** enumerates again and keeps (fingerprint, code) only for graphs whose
** three "twice" bits are all set. The filter has false positives (kept
** singles, discarded after sorting) but no false negatives, so every
** fingerprint shared by two graphs is kept whole. Counts stay exact: a
** graph the filter rejects in pass 2 certainly has a fingerprint of its
** own.
**
** Shards: --shard i/N keeps only fingerprints with fp mod N == i (whole
** buckets) in both passes and writes its confirmed candidates unpruned;
** `merge` feeds the shards' candidates to the same pruner a single run
** uses, so the merged file is byte-identical to a single run's.
**
** Invariant: nothing here depends on the number of threads or on timing:
** filter bits are set with atomic OR (the final planes are a function of
** the multiset of fingerprints), entries and candidates are sorted, counts
** are sums.
*/
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

/* ---- small utilities -------------------------------------------------- */

uint64_t tsoG_peak_rss(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return 0;
  return (uint64_t)ru.ru_maxrss * 1024u; /* kilobytes on Linux */
}

int tsoG_ncores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void tsoG_options_str(const tsoG_Options *o, const tsoG_Config *c, char *buf, size_t n) {
  int k = snprintf(buf, n, "max-ops=%d config=%s:%016llx", o->max_ops, c->name,
                   (unsigned long long)tsoG_config_hash(c));
  if (k > 0 && (size_t)k < n && o->shard_n > 1) snprintf(buf + k, n - (size_t)k, " shard=%d/%d", o->shard_i, o->shard_n);
}

/* ---- progress --------------------------------------------------------- */

typedef struct Progress {
  const char *what;           /* "pass 1/2" */
  atomic_uint_fast64_t graphs;  /* graphs done */
  atomic_int_fast64_t units;    /* units claimed */
  int64_t nunits;             /* units in all */
  uint64_t total;             /* graphs in all (pass 2), 0 if unknown */
  double t0, last;
  int tty, quiet, printed;
} Progress;

static void progress_line(Progress *p, int final) {
  double t = now(), el = t - p->t0;
  uint64_t g = atomic_load(&p->graphs);
  int64_t u = atomic_load(&p->units);
  if (u > p->nunits) u = p->nunits;
  double rate = el > 0 ? (double)g / el : 0, frac;
  if (p->total) frac = (double)g / (double)p->total;
  else frac = p->nunits ? (double)u / (double)p->nunits : 0;
  double eta = frac > 0.001 ? el * (1 - frac) / frac : -1;
  char etas[32];
  if (final) snprintf(etas, sizeof etas, "done in %.1f s", el);
  else if (eta < 0) snprintf(etas, sizeof etas, "ETA ?");
  else snprintf(etas, sizeof etas, "ETA %.0f s", eta);
  fprintf(stderr, "%s%s: %llu graphs, %.2f M/s, %3.0f%%, %s%s", p->tty ? "\r" : "", p->what,
          (unsigned long long)g, rate / 1e6, frac * 100, etas, p->tty && !final ? "   " : "\n");
  fflush(stderr);
  p->printed = 1;
  p->last = t;
}

/* ---- enumeration passes ---------------------------------------------- */

/* The filter: 2^(log2 - 8) cache lines, each holding 256 "seen" bits and
** 256 "twice" bits; a fingerprint sets three bits of one line (a blocked
** Bloom filter: one cache miss per graph). */
typedef struct Filter {
  atomic_uint_fast64_t *w;  /* line l: words 8l..8l+3 seen, 8l+4..8l+7 twice */
  int log2;
} Filter;

static inline uint64_t fmix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  return x ^ (x >> 33);
}

static inline atomic_uint_fast64_t *filter_line(const Filter *f, uint64_t fp) {
  uint64_t h = fmix(fp);
  return f->w + 8 * ((h >> 24) & (((uint64_t)1 << (f->log2 - 8)) - 1));
}

static void filter_add(Filter *f, uint64_t fp) {
  uint64_t h = fmix(fp), line = (h >> 24) & (((uint64_t)1 << (f->log2 - 8)) - 1);
  atomic_uint_fast64_t *lw = f->w + 8 * line;
  for (int j = 0; j < 3; j++) {
    unsigned pos = (unsigned)(h >> (8 * j)) & 255;
    uint64_t bit = (uint64_t)1 << (pos & 63);
    uint64_t old = atomic_fetch_or_explicit(&lw[pos >> 6], bit, memory_order_relaxed);
    if ((old & bit) && !(atomic_load_explicit(&lw[4 + (pos >> 6)], memory_order_relaxed) & bit))
      atomic_fetch_or_explicit(&lw[4 + (pos >> 6)], bit, memory_order_relaxed);
  }
}

static int filter_twice(const Filter *f, uint64_t fp) {
  uint64_t h = fmix(fp), line = (h >> 24) & (((uint64_t)1 << (f->log2 - 8)) - 1);
  atomic_uint_fast64_t *lw = f->w + 8 * line;
  for (int j = 0; j < 3; j++) {
    unsigned pos = (unsigned)(h >> (8 * j)) & 255;
    if (!(atomic_load_explicit(&lw[4 + (pos >> 6)], memory_order_relaxed) & ((uint64_t)1 << (pos & 63)))) return 0;
  }
  return 1;
}

typedef struct Pass {
  const tsoG_Config *c;
  const tsoG_ModCtx *m;
  Filter *f;
  int pass;                   /* 1 or 2 */
  int shard_i, shard_n;
  Progress *prog;
  atomic_int_fast64_t next;   /* next unit to claim */
  int64_t nunits;
  int failed;                 /* a worker failed (allocation, hash collision) */
  atomic_int finished;        /* workers done */
  pthread_mutex_t lock;
} Pass;

#define NPART 256             /* pass 2 keeps entries in partitions by the top fingerprint byte */

typedef struct Part {
  tsoG_Entry *e;
  size_t n, cap;
} Part;

#define BATCH 128             /* graphs whose filter lines are prefetched together */

typedef struct Worker {
  Pass *ps;
  tsoG_Visit batch[BATCH];
  int nbatch;
  Part part[NPART];           /* pass 2: kept entries */
  uint64_t graphs, singles, pending, kept;
  int nomem;
} Worker;

static int64_t claim(void *ud) {
  Worker *w = ud;
  int64_t u = atomic_fetch_add(&w->ps->next, 1);
  if (u >= w->ps->nunits) return -1;
  atomic_fetch_add(&w->ps->prog->units, 1);
  return u;
}

static void keep(Worker *w, uint64_t fp, uint64_t code) {
  Part *p = &w->part[fp >> 56];
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    tsoG_Entry *ne = realloc(p->e, cap * sizeof *ne);
    if (!ne) {
      w->nomem = 1;
      return;
    }
    p->e = ne;
    p->cap = cap;
  }
  p->e[p->n].fp = fp;
  p->e[p->n].code = code;
  p->n++;
  w->kept++;
}

/* Files the batched graphs: their filter lines were prefetched. */
static void flush(Worker *w) {
  Pass *ps = w->ps;
  for (int i = 0; i < w->nbatch; i++) __builtin_prefetch(filter_line(ps->f, w->batch[i].fp), 1);
  for (int i = 0; i < w->nbatch; i++) {
    const tsoG_Visit *v = &w->batch[i];
    if (ps->pass == 1) {
      filter_add(ps->f, v->fp);
      if (v->has_pseudo) filter_add(ps->f, v->fp); /* the zero-op graph shares it */
      continue;
    }
    if (!filter_twice(ps->f, v->fp)) {
      w->singles++;
      continue;
    }
    keep(w, v->fp, v->code);
    if (v->has_pseudo) keep(w, v->fp, v->pcode);
  }
  w->nbatch = 0;
}

static void on_graph(void *ud, const tsoG_Visit *v) {
  Worker *w = ud;
  Pass *ps = w->ps;
  if (++w->pending == 16384) {
    atomic_fetch_add(&ps->prog->graphs, w->pending);
    w->pending = 0;
  }
  if (ps->shard_n > 1 && v->fp % (uint64_t)ps->shard_n != (uint64_t)ps->shard_i) return;
  w->batch[w->nbatch++] = *v;
  if (w->nbatch == BATCH) flush(w);
}

static void *pass_worker(void *arg) {
  Worker *w = arg;
  tsoG_Enum *e = tsoG_enum_new(w->ps->c, w->ps->m);
  if (!e) {
    w->nomem = 1;
    atomic_fetch_add(&w->ps->finished, 1);
    return NULL;
  }
  int64_t r = tsoG_enum_run(e, claim, w, on_graph, w, &w->graphs);
  flush(w);
  if (r < 0) {
    pthread_mutex_lock(&w->ps->lock);
    w->ps->failed = 2;
    pthread_mutex_unlock(&w->ps->lock);
  }
  atomic_fetch_add(&w->ps->prog->graphs, w->pending);
  w->pending = 0;
  tsoG_enum_free(e);
  atomic_fetch_add(&w->ps->finished, 1);
  return NULL;
}

/* Counts the work units (a walk with no evaluation). */
static int64_t count_units_claim(void *ud) {
  (void)ud;
  return -2; /* never matches: the walk only counts */
}

static void count_units_visit(void *ud, const tsoG_Visit *v) {
  (void)ud;
  (void)v;
}

/* Runs one pass with `jobs` threads; workers[] receive the results. */
static tso_status run_pass(Pass *ps, Worker *wk, int jobs, const char *what, uint64_t total, int quiet,
                           char *err) {
  Progress prog;
  memset(&prog, 0, sizeof prog);
  prog.what = what;
  prog.nunits = ps->nunits;
  prog.total = total;
  prog.t0 = prog.last = now();
  prog.tty = isatty(2);
  prog.quiet = quiet;
  atomic_init(&prog.graphs, 0);
  atomic_init(&prog.units, 0);
  ps->prog = &prog;
  atomic_init(&ps->next, 0);
  atomic_init(&ps->finished, 0);
  pthread_t th[256];
  int nth = 0;
  for (int t = 0; t < jobs; t++) {
    memset(&wk[t], 0, sizeof wk[t]);
    wk[t].ps = ps;
  }
  for (int t = 0; t < jobs; t++) {
    if (pthread_create(&th[t], NULL, pass_worker, &wk[t])) {
      ps->failed = 1;
      break;
    }
    nth++;
  }
  double period = prog.tty ? 0.5 : 5.0;
  for (;;) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (atomic_load(&ps->finished) >= nth) break;
    if (!quiet && now() - prog.last >= period) progress_line(&prog, 0);
  }
  for (int t = 0; t < nth; t++) pthread_join(th[t], NULL);
  if (!quiet) progress_line(&prog, 1);
  for (int t = 0; t < nth; t++)
    if (wk[t].nomem) ps->failed = 1;
  if (ps->failed == 2) return tsoO_fail(err, TSO_ERR_LIMIT, "structural hash collision in the enumeration");
  if (ps->failed) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory in %s", what);
  return TSO_OK;
}

static int cmp_entry(const void *x, const void *y) {
  const tsoG_Entry *a = x, *b = y;
  if (a->fp != b->fp) return a->fp < b->fp ? -1 : 1;
  return a->code < b->code ? -1 : a->code > b->code;
}

/* Sorts e[0..n) by (fp, code): LSD radix sort on the two keys. */
static tso_status sort_entries(tsoG_Entry *e, size_t n) {
  if (n < 4096) {
    qsort(e, n, sizeof *e, cmp_entry);
    return TSO_OK;
  }
  tsoG_Entry *tmp = malloc(n * sizeof *tmp);
  if (!tmp) return TSO_ERR_NOMEM;
  tsoG_Entry *src = e, *dst = tmp;
  for (int pass = 0; pass < 16; pass++) {
    size_t cnt[256];
    int shift = (pass % 8) * 8;
    int key = pass < 8 ? 1 : 0; /* code first (least significant), then fp */
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) cnt[((key ? src[i].code : src[i].fp) >> shift) & 255]++;
    if (cnt[((key ? src[0].code : src[0].fp) >> shift) & 255] == n) continue; /* one value: nothing to do */
    size_t sum = 0;
    for (int b = 0; b < 256; b++) {
      size_t x = cnt[b];
      cnt[b] = sum;
      sum += x;
    }
    for (size_t i = 0; i < n; i++) dst[cnt[((key ? src[i].code : src[i].fp) >> shift) & 255]++] = src[i];
    tsoG_Entry *t = src;
    src = dst;
    dst = t;
  }
  if (src != e) memcpy(e, src, n * sizeof *e);
  free(tmp);
  return TSO_OK;
}

/* Filter size by graph size (bits per plane, log2). */
static int default_filter_log2(int max_ops) {
  static const int t[] = {16, 16, 18, 25, 30};
  return max_ops >= 0 && max_ops <= 4 ? t[max_ops] : 31;
}

/* The work units of the configuration's search tree. */
static int64_t count_units(const tsoG_Config *c) {
  tsoG_Enum *e = tsoG_enum_new(c, NULL);
  if (!e) return -1;
  int64_t n = tsoG_enum_run(e, count_units_claim, NULL, count_units_visit, NULL, NULL);
  tsoG_enum_free(e);
  return n;
}

tso_status tsoG_run(const tsoG_Options *o, tsoR_Set *out, tsoG_Result *res, char *err) {
  tsoG_Config cfg;
  tsoG_ModCtx mod;
  tso_status st;
  double t0 = now();
  memset(res, 0, sizeof *res);
  if (o->cfg) cfg = *o->cfg;
  else tsoG_config_default(&cfg, o->max_ops, o->seed);
  cfg.max_ops = o->max_ops;
  cfg.seed = o->seed;
  if (o->max_ops < 1 || o->max_ops > TSO_G_MAX_OPS)
    return tsoO_fail(err, TSO_ERR_ARG, "--max-ops must be 1 to %d", TSO_G_MAX_OPS);
  if (o->shard_n < 1 || o->shard_i < 0 || o->shard_i >= o->shard_n)
    return tsoO_fail(err, TSO_ERR_ARG, "bad shard %d/%d", o->shard_i, o->shard_n);
  if (cfg.ninputs + 2 * cfg.max_ops > 32 || cfg.ninst > TSO_G_MAX_INST)
    return tsoO_fail(err, TSO_ERR_LIMIT, "configuration too large for the 5-bit graph codes");
  int jobs = o->jobs > 0 ? o->jobs : tsoG_ncores();
  if (jobs > 256) jobs = 256;
  if ((st = tsoG_mod_init(&mod, &cfg))) return tsoO_fail(err, st, "out of memory");
  Filter f;
  f.log2 = o->filter_log2 > 0 ? o->filter_log2 : default_filter_log2(o->max_ops);
  if (f.log2 < 12) f.log2 = 12;
  size_t words = (size_t)1 << (f.log2 - 5); /* two planes */
  f.w = calloc(words, sizeof *f.w);
  Worker *wk = calloc((size_t)jobs, sizeof *wk);
  tsoG_Entry *all = NULL;
  tsoG_Pruner *pr = NULL;
  if (!f.w || !wk) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory (filter of 2 x 2^%d bits)", f.log2);
    goto done;
  }
  Pass ps;
  memset(&ps, 0, sizeof ps);
  ps.c = &cfg;
  ps.m = &mod;
  ps.f = &f;
  ps.shard_i = o->shard_n > 1 ? o->shard_i : 0;
  ps.shard_n = o->shard_n;
  pthread_mutex_init(&ps.lock, NULL);
  ps.nunits = count_units(&cfg);
  if (ps.nunits < 0) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done_lock;
  }
  /* pass 1: the filter */
  ps.pass = 1;
  double tp = now();
  if ((st = run_pass(&ps, wk, jobs, "pass 1/2 (fingerprints)", 0, o->quiet, err))) goto done_lock;
  res->t_pass1 = now() - tp;
  tp = now();
  uint64_t graphs = 0;
  for (int t = 0; t < jobs; t++) graphs += wk[t].graphs;
  /* pass 2: keep the graphs of shared fingerprints */
  ps.pass = 2;
  if ((st = run_pass(&ps, wk, jobs, "pass 2/2 (buckets)", graphs, o->quiet, err))) goto done_lock;
  res->t_pass2 = now() - tp;
  uint64_t singles = 0, graphs2 = 0, distinct = 0;
  for (int t = 0; t < jobs; t++) res->stored += wk[t].kept, singles += wk[t].singles, graphs2 += wk[t].graphs;
  if (graphs2 != graphs) {
    st = tsoO_fail(err, TSO_ERR_INVALID, "the two passes enumerated %llu and %llu graphs",
                   (unsigned long long)graphs, (unsigned long long)graphs2);
    goto done_lock;
  }
  free(f.w);
  f.w = NULL;
  distinct = singles;
  if (!(pr = tsoG_pruner_new(&cfg, o->shard_n > 1))) {
    st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto done_lock;
  }
  if (!o->quiet) fprintf(stderr, "confirming the buckets of %llu kept graphs exactly...\n", (unsigned long long)res->stored);
  tp = now();
  uint64_t done_entries = 0;
  int tty = isatty(2);
  double last = tp;
  for (int part = 0; part < NPART; part++) { /* one partition at a time: sorted, deduplicated, confirmed */
    size_t n = 0;
    for (int t = 0; t < jobs; t++) n += wk[t].part[part].n;
    if (!(all = malloc((n ? n : 1) * sizeof *all))) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory (%zu entries)", n);
      goto done_lock;
    }
    n = 0;
    for (int t = 0; t < jobs; t++) {
      Part *pp = &wk[t].part[part];
      if (pp->n) memcpy(all + n, pp->e, pp->n * sizeof *all);
      n += pp->n;
      free(pp->e);
      memset(pp, 0, sizeof *pp);
    }
    if (sort_entries(all, n)) {
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory sorting");
      goto done_lock;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) { /* drop identical entries (zero-op graphs made many times) */
      if (m && all[m - 1].fp == all[i].fp && all[m - 1].code == all[i].code) continue;
      if (!m || all[m - 1].fp != all[i].fp) distinct++;
      all[m++] = all[i];
    }
    if ((st = tsoG_confirm(&cfg, all, m, jobs, pr, &res->cs, err))) goto done_lock;
    free(all);
    all = NULL;
    done_entries += n;
    if (!o->quiet && (tty || now() - last >= 5.0 || part == NPART - 1)) {
      double el = now() - tp, frac = res->stored ? (double)done_entries / (double)res->stored : 1;
      fprintf(stderr, "%sconfirm: %llu of %llu kept graphs, %llu candidates, %.0f%%, %s %.0f s%s", tty ? "\r" : "",
              (unsigned long long)done_entries, (unsigned long long)res->stored,
              (unsigned long long)res->cs.candidates, frac * 100, part == NPART - 1 ? "done in" : "ETA",
              part == NPART - 1 ? el : (frac > 0 ? el * (1 - frac) / frac : 0), tty && part < NPART - 1 ? "   " : "\n");
      last = now();
    }
  }
  res->t_confirm = now() - tp;
  tp = now();
  res->counts[0] = graphs;
  res->counts[1] = distinct;
  res->counts[2] = res->cs.shared;
  res->counts[3] = res->cs.candidates;
  char opts[256];
  tsoG_options_str(o, &cfg, opts, sizeof opts);
  if (o->shard_n > 1) { /* a shard: its distinct canonical candidates, sorted */
    uint64_t fed = 0;
    if ((st = tsoG_pruner_dump(pr, out, &fed, err))) goto done_lock;
  } else {
    if (!o->quiet) fprintf(stderr, "pruning %llu candidates...\n", (unsigned long long)res->counts[3]);
    if ((st = tsoG_pruner_finish(pr, out, &res->ps, jobs, o->quiet, err))) goto done_lock;
    res->counts[4] = res->ps.renamed;
    res->counts[5] = res->ps.common;
    res->counts[6] = res->ps.implied;
    res->counts[7] = res->ps.final;
  }
  res->t_prune = now() - tp;
  res->seconds = now() - t0;
  memset(&out->prov, 0, sizeof out->prov);
  snprintf(out->prov.tool, sizeof out->prov.tool, "%s", TSO_G_TOOL);
  snprintf(out->prov.options, sizeof out->prov.options, "%s", opts);
  out->prov.seed = o->seed;
  memcpy(out->prov.counts, res->counts, sizeof res->counts);
  out->prov.seconds = o->record_time ? res->seconds : 0;
  st = TSO_OK;
done_lock:
  pthread_mutex_destroy(&ps.lock);
done:
  for (int t = 0; wk && t < jobs; t++)
    for (int q = 0; q < NPART; q++) free(wk[t].part[q].e);
  free(wk);
  free(f.w);
  free(all);
  tsoG_pruner_free(pr);
  tsoG_mod_free(&mod);
  return st;
}

/* Parses "max-ops=N config=NAME:HASH[ shard=i/N]"; the part before
** " shard=" is copied to base. */
static int parse_opts(const char *s, char *base, size_t nb, int *max_ops, int *si, int *sn) {
  const char *sh = strstr(s, " shard=");
  size_t bl = sh ? (size_t)(sh - s) : strlen(s);
  if (bl >= nb) return -1;
  memcpy(base, s, bl);
  base[bl] = 0;
  if (sscanf(s, "max-ops=%d", max_ops) != 1) return -1;
  *si = 0, *sn = 1;
  if (sh && sscanf(sh, " shard=%d/%d", si, sn) != 2) return -1;
  return 0;
}

tso_status tsoG_merge(const char *const *paths, int n, int jobs, int quiet, tsoR_Set *out, tsoG_Result *res,
                      char *err) {
  tsoG_Config cfg;
  tso_status st = TSO_OK;
  char base0[256] = "", msg[TSO_ERRMAX];
  int max_ops = 0, nsh = 0;
  uint64_t seed = 0;
  uint8_t *seen = NULL;
  tsoG_Pruner *pr = NULL;
  double t0 = now();
  memset(res, 0, sizeof *res);
  if (n < 1) return tsoO_fail(err, TSO_ERR_ARG, "merge: no shard files");
  for (int f = 0; f < n; f++) {
    tsoR_Set s;
    char base[256];
    int mo, si, sn;
    memset(&s, 0, sizeof s);
    if ((st = tsoR_read(paths[f], &s, msg)) != TSO_OK) {
      st = tsoO_fail(err, st, "%s: %s", paths[f], msg);
      goto done;
    }
    if (strcmp(s.prov.tool, TSO_G_TOOL) || parse_opts(s.prov.options, base, sizeof base, &mo, &si, &sn) ||
        sn < 2 || si < 0 || si >= sn) {
      tsoR_set_free(&s);
      st = tsoO_fail(err, TSO_ERR_INVALID, "%s: not a shard file of %s", paths[f], TSO_G_TOOL);
      goto done;
    }
    if (f == 0) {
      snprintf(base0, sizeof base0, "%s", base);
      max_ops = mo;
      nsh = sn;
      seed = s.prov.seed;
      res->counts[0] = s.prov.counts[0];
      tsoG_config_default(&cfg, max_ops, seed);
      char want[256];
      tsoG_Options oo;
      memset(&oo, 0, sizeof oo);
      oo.max_ops = max_ops;
      tsoG_options_str(&oo, &cfg, want, sizeof want);
      if (strcmp(want, base0)) {
        tsoR_set_free(&s);
        st = tsoO_fail(err, TSO_ERR_INVALID, "%s: made with another configuration (%s)", paths[f], base0);
        goto done;
      }
      if (!(seen = calloc((size_t)sn, 1)) || !(pr = tsoG_pruner_new(&cfg, 0))) {
        tsoR_set_free(&s);
        st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
        goto done;
      }
    } else if (strcmp(base, base0) || sn != nsh || s.prov.seed != seed || s.prov.counts[0] != res->counts[0]) {
      tsoR_set_free(&s);
      st = tsoO_fail(err, TSO_ERR_INVALID, "%s: options or seed differ from %s's", paths[f], paths[0]);
      goto done;
    }
    if (seen[si]) {
      tsoR_set_free(&s);
      st = tsoO_fail(err, TSO_ERR_INVALID, "%s: shard %d/%d given twice", paths[f], si, sn);
      goto done;
    }
    seen[si] = 1;
    res->counts[1] += s.prov.counts[1];
    res->counts[2] += s.prov.counts[2];
    res->counts[3] += s.prov.counts[3];
    for (uint32_t i = 0; i < s.n; i++) {
      tsoG_CRule cr;
      if ((st = tsoG_crule_from_rule(&cfg, &s.r[i], &cr, msg)) || (st = tsoG_pruner_add(pr, &cr, 1))) {
        tsoR_set_free(&s);
        st = tsoO_fail(err, st, "%s: %s", paths[f], st == TSO_ERR_NOMEM ? "out of memory" : msg);
        goto done;
      }
    }
    tsoR_set_free(&s);
  }
  for (int i = 0; i < nsh; i++)
    if (!seen[i]) {
      st = tsoO_fail(err, TSO_ERR_INVALID, "merge: shard %d/%d is missing", i, nsh);
      goto done;
    }
  if ((st = tsoG_pruner_finish(pr, out, &res->ps, jobs > 0 ? jobs : tsoG_ncores(), quiet, err))) goto done;
  res->ps.before = res->counts[3]; /* the shards' pairs, not their distinct forms */
  res->counts[4] = res->ps.renamed;
  res->counts[5] = res->ps.common;
  res->counts[6] = res->ps.implied;
  res->counts[7] = res->ps.final;
  memset(&out->prov, 0, sizeof out->prov);
  snprintf(out->prov.tool, sizeof out->prov.tool, "%s", TSO_G_TOOL);
  snprintf(out->prov.options, sizeof out->prov.options, "%s", base0);
  out->prov.seed = seed;
  memcpy(out->prov.counts, res->counts, sizeof res->counts);
  out->prov.seconds = 0;
  res->seconds = now() - t0;
done:
  free(seen);
  tsoG_pruner_free(pr);
  return st;
}
