/*
** measure.c -- the backend interface and the measurement driver.
**
** How a key is timed (any measuring backend; the backend only prepares,
** executes a batch and releases):
**   1. prepare: the primitive and its buffers, random data written once;
**   2. warm-up: executions until warmup_ms have passed (at least 2); the
**      fastest warm-up execution sets the batch size, so that one sample
**      (a batch of executions timed together) lasts about sample_ms: short
**      operators are not lost in the clock's resolution, long ones are one
**      execution per sample;
**   3. samples, taken in rounds over a window of keys (all the keys of a
**      model, unless their tensors pass window_mb or there are more than
**      `interleave`; 8 under a time budget, so that keys finish one window
**      after the other): each visit re-warms the key with one untimed
**      execution, then takes SAMPLES_PER_VISIT samples. One key's samples
**      are thus spread over the whole measurement instead of being taken
**      in one burst: on a shared machine the speed drifts (another
**      process's phases, frequency steps of a few percent every few
**      hundred milliseconds), and a key timed at one instant would carry
**      that instant's speed;
**   4. a key stops when it has at least min_repeats samples spread over
**      at least span_ms of wall time and the 95% confidence interval of
**      its estimate is narrower than target_ci of it; or at max_repeats;
**      or when it has used max_ms of its own time. Finished keys are
**      released and reported at once (the caller stores them);
**   5. the estimate is a trimmed minimum: the median of the 3 fastest
**      samples -- tsoC_estimate.
**
** Why that estimator: interference on a shared machine (preemption, cache
** and memory-bandwidth theft by the other core, frequency steps) only ever
** adds time, so a sample is the undisturbed time plus a non-negative noise:
** the undisturbed time is the floor of the distribution, and the floor is
** what repeats from one run to the next. The mean and the median follow
** the noise; worse, the machine may spend most of its time in a slow
** state. Measured here, with another process saturating the second core:
** compute-bound convolutions ran 8% slower most of the time, so the 25th
** percentile (the median of the fastest half) moved by up to 8% from one
** process to the next and the 10th percentile by up to 7%, while the
** fastest samples repeated within 1%; a memory-bound concat had fewer than
** 10% of its 200 samples in the fast state in one run, yet the same
** minimum (0.667-0.669 ms) in all four. The plain minimum is one sample;
** the median of the three fastest ignores a single odd one. The stopping
** rule asks the floor to be confirmed: the 95% order-statistics interval
** of that estimate (in practice the 5 fastest samples) within target_ci.
** Preemption never reaches the samples of the oneDNN backend (it times with
** the measuring thread's CPU clock, see onednn.c); what remains is the
** interference through shared caches, memory bandwidth and frequency.
** Operators bound by the shared L3 cache (element-wise operators on 1-2 MB
** tensors) still vary by tens of percent when the other core thrashes the
** cache for a whole run: no estimator recovers a speed the machine did not
** have; they are small, and the spread stored with each time shows them.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cost/cost.h"
#include "cost/cuda.h"

#define SAMPLES_PER_VISIT 2
#define FAST_K 3 /* the estimate is the median of this many fastest samples */

double tsoC_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void tsoC_measure_opts_init(tsoC_MeasureOpts *o) {
  memset(o, 0, sizeof *o);
  o->threads = 1;
  o->min_repeats = 10;
  o->max_repeats = 200;
  o->warmup_ms = 5.0;
  o->sample_ms = 0.5;
  o->target_ci = 0.02;
  o->max_ms = 1000.0;
  o->span_ms = 1000.0;
  o->interleave = 256;
  o->window_mb = 1024.0;
  o->seed = 0x7A50C057u;
}

/* ---- device --------------------------------------------------------------- */

/* Value of "key : value" line `line` if it starts with key, else NULL. */
static char *field(char *line, const char *key) {
  size_t n = strlen(key);
  if (strncmp(line, key, n) != 0) return NULL;
  char *p = line + n;
  while (*p == ' ' || *p == '\t') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  char *e = p + strlen(p);
  while (e > p && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\r')) *--e = 0;
  return p;
}

/* 1 if the space-separated flag list has flag f. */
static int has_flag(const char *list, const char *f) {
  size_t n = strlen(f);
  for (const char *p = list; (p = strstr(p, f)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
  return 0;
}

void tsoC_cpu_device(char *buf, size_t n) {
  char model[128] = "unknown cpu", fam[16] = "", mod[16] = "", step[16] = "", isa[96] = "";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char *line = NULL;
    size_t cap = 0;
    int seen_flags = 0;
    while (getline(&line, &cap, f) > 0) {
      char *v;
      if (line[0] == '\n') break; /* first processor only */
      if ((v = field(line, "model name"))) snprintf(model, sizeof model, "%s", v);
      else if ((v = field(line, "cpu family"))) snprintf(fam, sizeof fam, "%s", v);
      else if ((v = field(line, "model"))) snprintf(mod, sizeof mod, "%s", v);
      else if ((v = field(line, "stepping"))) snprintf(step, sizeof step, "%s", v);
      else if (!seen_flags && ((v = field(line, "flags")) || (v = field(line, "Features")))) {
        static const char *const want[] = {"avx512f", "avx512_bf16", "amx_tile", "avx2", "fma", "avx", "asimd",
                                           "sve", NULL};
        size_t k = 0;
        seen_flags = 1;
        for (int i = 0; want[i]; i++) {
          if (!has_flag(v, want[i])) continue;
          if (!strcmp(want[i], "avx") && (has_flag(v, "avx2"))) continue;
          int w = snprintf(isa + k, sizeof isa - k, "%s%s", k ? " " : "", want[i]);
          if (w < 0 || (size_t)w >= sizeof isa - k) break;
          k += (size_t)w;
        }
      }
    }
    free(line);
    fclose(f);
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  char ident[80] = "";
  if (fam[0] || mod[0]) snprintf(ident, sizeof ident, " (family %s model %s stepping %s)", fam, mod, step[0] ? step : "?");
  snprintf(buf, n, "%s%s, %ld cpus%s%s", model, ident, cpus, isa[0] ? ", " : "", isa);
}

/* ---- backends ------------------------------------------------------------- */

void tsoC_backend_free(tsoC_Backend *be) {
  if (be && be->vt->destroy) be->vt->destroy(be);
}

const char *tsoC_backend_name(const tsoC_Backend *be) { return be ? be->vt->name : "none"; }

void tsoC_backend_set_device(tsoC_Backend *be, const char *device) {
  if (be && device) snprintf(be->device, sizeof be->device, "%s", device);
}

int tsoC_backend_supports(tsoC_Backend *be, const tsoC_Key *k, char *why) {
  if (why) why[0] = 0;
  if (!be || !k) return 0;
  return be->vt->supports(be, k, why);
}

tso_status tsoC_backend_run(tsoC_Backend *be, const tsoC_Key *k, const void *const *in, void *const *out,
                            char *err) {
  if (!be || !k) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_backend_run: NULL argument");
  if (!be->vt->run) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "backend %s cannot run operators", be->vt->name);
  return be->vt->run(be, k, in, out, err);
}

tso_status tsoC_backend_measure(tsoC_Backend *be, const tsoC_Key *k, tsoC_Entry *e, char *err) {
  tsoC_Entry tmp;
  if (!e) e = &tmp;
  memset(e, 0, sizeof *e);
  if (!be || !k) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_backend_measure: NULL argument");
  char why[TSO_ERRMAX] = "";
  if (!be->vt->supports(be, k, why)) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", why);
  if (be->vt->estimate) {
    tso_status st = be->vt->estimate(be, k, &e->ms, err);
    e->min_ms = e->median_ms = e->ms;
    e->measured_at = (int64_t)time(NULL);
    return st;
  }
  tsoC_Result r;
  tso_status st = tsoC_measure_batch(be, k, 1, 0.0, &r, NULL, NULL, err);
  if (st) return st;
  if (r.st) return tsoO_fail(err, r.st, "%s", r.err);
  *e = r.e;
  return TSO_OK;
}

tsoC_Backend *tsoC_backend_create(const char *name, char *err) {
  if (name && !strcmp(name, "analytic")) {
    tsoC_Backend *be = tsoC_analytic_create(NULL);
    if (!be) tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    return be;
  }
  if (name && !strcmp(name, "onednn")) return tsoC_onednn_create(NULL, err);
  if (name && !strncmp(name, "cuda", 4) && (name[4] == 0 || name[4] == ':')) {
    tsoC_MeasureOpts mo;
    tsoC_measure_opts_init(&mo);
    if (name[4] == ':' && (mo.gpu_math = tsoC_math_parse(name + 5)) < 0) {
      tsoO_fail(err, TSO_ERR_ARG, "unknown GPU math '%s' (expected fp32, tf32, fp16 or bf16)", name + 5);
      return NULL;
    }
    return tsoC_cuda_create(&mo, err);
  }
  tsoO_fail(err, TSO_ERR_ARG, "unknown cost backend '%s' (expected onednn, cuda or analytic)", name ? name : "(null)");
  return NULL;
}

#ifndef TASO_HAVE_CUDA
#define NO_CUDA \
  "this taso was built without CUDA (TASO_WITH_CUDA=OFF, or no CUDA toolkit with cuDNN and cuBLAS at configure time)"
int tsoC_have_cuda(void) { return 0; }

int tsoC_cuda_probe(char *msg, size_t n) {
  if (msg && n) snprintf(msg, n, "%s", NO_CUDA);
  return 0;
}

tsoC_Backend *tsoC_cuda_create(const tsoC_MeasureOpts *o, char *err) {
  (void)o;
  tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", NO_CUDA);
  return NULL;
}
#endif

#ifndef TASO_HAVE_ONEDNN
int tsoC_have_onednn(void) { return 0; }

tsoC_Backend *tsoC_onednn_create(const tsoC_MeasureOpts *o, char *err) {
  (void)o;
  tsoO_fail(err, TSO_ERR_UNSUPPORTED, "this taso was built without oneDNN (install libdnnl-dev and rebuild)");
  return NULL;
}
#endif

/* ---- the estimator --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of the sorted x[0..n). */
static double median_sorted(const double *x, int n) {
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

void tsoC_estimate(double *x, int n, tsoC_Entry *e) {
  e->repeats = n;
  if (n <= 0) {
    e->ms = e->spread = e->min_ms = e->median_ms = 0.0;
    return;
  }
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  e->ms = median_sorted(x, n < FAST_K ? n : FAST_K);
  e->min_ms = x[0];
  e->median_ms = median_sorted(x, n);
  /* Distribution-free 95% interval of the quantile the estimate is
  ** (q = (FAST_K / 2) / n): the order statistics n q -+ 1.96 sqrt(n q (1 - q)). */
  double q = (FAST_K / 2.0) / (double)n;
  if (q > 0.5) q = 0.5;
  double c = (double)n * q, h = 1.96 * sqrt((double)n * q * (1.0 - q));
  int lo = (int)floor(c - h), hi = (int)ceil(c + h);
  if (lo < 0) lo = 0;
  if (hi > n - 1) hi = n - 1;
  e->spread = e->ms > 0.0 ? (x[hi] - x[lo]) / (2.0 * e->ms) : 0.0;
}

/* ---- the driver ------------------------------------------------------------ */

double tsoC_key_bytes(const tsoC_Key *k) {
  double b = 0.0;
  for (int i = 0; i < k->nin + k->nout; i++) {
    const tsoC_Tensor *t = i < k->nin ? &k->in[i] : &k->out[i - k->nin];
    if (t->flags & TSOC_T_ABSENT) continue;
    double n = (double)tsoO_dtype_size(t->dtype);
    for (int j = 0; j < t->shape.rank; j++) n *= (double)t->shape.d[j];
    b += n;
  }
  return b;
}

typedef struct Slot {
  int idx;               /* key index in the batch */
  tsoC_Prepared *pp;     /* NULL once released */
  double *x;             /* samples, ms per execution */
  int ns;                /* samples taken */
  int batch;             /* executions per sample */
  double exec_ms;        /* fastest warm-up execution */
  double spent;          /* seconds used on this key, warm-up included */
  double first;          /* time of the first sample */
  int done;
} Slot;

/* 1 when slot s may stop. */
static int converged(const tsoC_MeasureOpts *o, Slot *s, double *tmp) {
  if (s->ns >= o->max_repeats) return 1;
  if (s->spent * 1e3 >= o->max_ms && s->ns >= 3) return 1;
  if (s->ns < o->min_repeats || (tsoC_now() - s->first) * 1e3 < o->span_ms) return 0;
  tsoC_Entry e;
  memcpy(tmp, s->x, (size_t)s->ns * sizeof *tmp);
  tsoC_estimate(tmp, s->ns, &e);
  return e.spread <= o->target_ci;
}

/* Warm-up of one slot; sets its batch size. */
static tso_status warm_up(tsoC_Backend *be, Slot *s, char *err) {
  const tsoC_MeasureOpts *o = &be->mo;
  double best = INFINITY, t0 = tsoC_now();
  int runs = 0;
  for (;;) {
    double sec;
    tso_status st = be->vt->sample(be, s->pp, 1, &sec, err);
    if (st) return st;
    runs++;
    if (sec < best) best = sec;
    double el = tsoC_now() - t0;
    if (runs >= 2 && (el * 1e3 >= o->warmup_ms || el * 1e3 >= o->max_ms / 4)) break;
    if (runs >= 100000) break;
  }
  s->spent += tsoC_now() - t0;
  s->exec_ms = best * 1e3;
  double b = best > 0.0 ? ceil(o->sample_ms * 1e-3 / best) : 1000.0;
  s->batch = b < 1.0 ? 1 : b > 100000.0 ? 100000 : (int)b;
  return TSO_OK;
}

/* Ends slot s: releases it, computes its result, reports it. */
static void finish(tsoC_Backend *be, Slot *s, tsoC_Result *res, void (*done)(void *, int, const tsoC_Result *),
                   void *ud) {
  tsoC_Result *r = &res[s->idx];
  s->done = 1;
  if (s->pp) be->vt->release(be, s->pp);
  s->pp = NULL;
  if (r->st == TSO_OK && s->ns == 0) r->st = tsoO_fail(r->err, TSO_ERR_LIMIT, "no sample taken");
  if (r->st == TSO_OK) {
    tsoC_estimate(s->x, s->ns, &r->e);
    r->e.batch = s->batch;
    r->e.measured_at = (int64_t)time(NULL);
  }
  if (done) done(ud, s->idx, r);
}

tso_status tsoC_measure_batch(tsoC_Backend *be, const tsoC_Key *keys, int n, double deadline, tsoC_Result *res,
                              void (*done)(void *ud, int i, const tsoC_Result *r), void *ud, char *err) {
  if (!be || (n > 0 && (!keys || !res))) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_measure_batch: NULL argument");
  const tsoC_MeasureOpts *o = &be->mo;
  int width = o->interleave > 0 ? o->interleave : 1;
  if (deadline > 0.0 && width > 8) width = 8; /* under a budget, finish keys progressively */
  if (width > n) width = n > 0 ? n : 1;
  int maxr = o->max_repeats > 0 ? o->max_repeats : 1;
  double window_bytes = o->window_mb > 0.0 ? o->window_mb * 1048576.0 : 1e300;
  for (int i = 0; i < n; i++) {
    memset(&res[i], 0, sizeof res[i]);
    res[i].st = TSO_OK;
  }
  if (be->vt->estimate) { /* a model, not a measurement */
    for (int i = 0; i < n; i++) {
      res[i].st = tsoC_backend_measure(be, &keys[i], &res[i].e, res[i].err);
      if (done) done(ud, i, &res[i]);
    }
    return TSO_OK;
  }
  if (!be->vt->prepare || !be->vt->sample || !be->vt->release)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "backend %s cannot measure", be->vt->name);
  Slot *slots = calloc((size_t)width, sizeof *slots);
  double *pool = malloc((size_t)(width + 1) * (size_t)maxr * sizeof *pool);
  if (!slots || !pool) {
    free(slots);
    free(pool);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  double *tmp = pool + (size_t)width * (size_t)maxr;
  for (int start = 0, m = 0; start < n; start += m) {
    /* the window: up to `width` keys whose tensors fit window_mb (at least one) */
    double bytes = 0.0;
    for (m = 0; m < width && start + m < n; m++) {
      double b = tsoC_key_bytes(&keys[start + m]);
      if (m > 0 && bytes + b > window_bytes) break;
      bytes += b;
    }
    /* prepare and warm up */
    for (int j = 0; j < m; j++) {
      Slot *s = &slots[j];
      memset(s, 0, sizeof *s);
      s->idx = start + j;
      s->x = pool + (size_t)j * (size_t)maxr;
      tsoC_Result *r = &res[s->idx];
      if (deadline > 0.0 && tsoC_now() >= deadline) r->st = tsoO_fail(r->err, TSO_ERR_LIMIT, "time budget exhausted");
      else if (!be->vt->supports(be, &keys[s->idx], r->err)) r->st = TSO_ERR_UNSUPPORTED;
      if (r->st == TSO_OK) {
        double t0 = tsoC_now();
        r->st = be->vt->prepare(be, &keys[s->idx], &s->pp, r->err);
        s->spent = tsoC_now() - t0;
        if (r->st) s->pp = NULL;
        else r->st = warm_up(be, s, r->err);
      }
      if (r->st != TSO_OK) finish(be, s, res, done, ud);
    }
    /* rounds: each visit re-warms the key (one untimed execution, unless
    ** one execution is long enough to stream its data anyway) and takes
    ** SAMPLES_PER_VISIT samples */
    for (int active = 1; active;) {
      active = 0;
      for (int j = 0; j < m; j++) {
        Slot *s = &slots[j];
        tsoC_Result *r = &res[s->idx];
        if (s->done) continue;
        if (deadline > 0.0 && tsoC_now() >= deadline) {
          if (s->ns < 3) r->st = tsoO_fail(r->err, TSO_ERR_LIMIT, "time budget exhausted after %d samples", s->ns);
          finish(be, s, res, done, ud);
          continue;
        }
        double t0 = tsoC_now(), sec;
        tso_status st = s->exec_ms < 10.0 ? be->vt->sample(be, s->pp, 1, &sec, r->err) : TSO_OK;
        if (!st && s->ns == 0) s->first = tsoC_now();
        for (int k = 0; !st && k < SAMPLES_PER_VISIT && s->ns < maxr; k++) {
          st = be->vt->sample(be, s->pp, s->batch, &sec, r->err);
          if (!st) s->x[s->ns++] = sec * 1e3 / (double)s->batch;
        }
        s->spent += tsoC_now() - t0;
        if (st) r->st = st;
        if (st || converged(o, s, tmp)) finish(be, s, res, done, ud);
        else active = 1;
      }
    }
  }
  free(slots);
  free(pool);
  return TSO_OK;
}
