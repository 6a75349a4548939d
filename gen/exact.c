/*
** exact.c -- exact evaluation of generator graphs with GMP: integers of
** any size, the real relu and max, and exact division.
**
** A tensor is a vector of mpz numerators over one common denominator 9^e
** (the only division in the operator set is by 9: 3x3 average pooling and
** the 3x3 average-pool kernel). Each operator computes exactly what the
** float reference kernel computes approximately; inputs are random
** integers in [-range, range], of mixed signs, drawn afresh (a seed
** independent of the fingerprints') for each of `trials` trials.
**
** Two evaluators compute the same thing: a fast one on 128-bit integers
** in which every addition and multiplication is checked for overflow, and
** GMP's mpz, used for every graph on which the fast one overflows (or for
** all of them when the configuration says gmp_only). Both write the same
** canonical bytes, so which one ran never shows.
**
** Invariant: an output's canonical bytes (tsoG_exact_out_bytes) use the
** least exponent e, so two outputs have equal bytes exactly when they
** have equal rational values (and shapes) in every trial.
*/
#include <stdlib.h>
#include <string.h>
#include <gmp.h>

#include "gen.h"

#define MAXTRIALS 8

typedef struct XT {     /* one tensor of one trial */
  tsoG_Meta m;
  int e;                /* denominator 9^e */
  mpz_t *v;             /* numel numerators */
} XT;

typedef __int128 i128;

typedef struct FT {     /* one tensor of one trial, fast path */
  tsoG_Meta m;
  int e;
  i128 *v;
} FT;

struct tsoG_Exact {
  const tsoG_Config *c;
  int trials;
  FT fin[MAXTRIALS][TSO_G_MAX_INPUTS];     /* fast path: inputs */
  FT fcst[TSO_G_MAX_INST];                 /* fast path: constants */
  i128 *fpool[MAXTRIALS];                  /* fast path: op outputs */
  FT ft[MAXTRIALS][TSO_G_MAX_T];
  i128 fp9[40];                            /* 9^0 .. 9^39 */
  uint64_t nfast, ngmp;                    /* graphs evaluated by each path */
  XT in[MAXTRIALS][TSO_G_MAX_INPUTS];      /* inputs (e = 0) */
  XT cst[TSO_G_MAX_INST];                  /* constants (same in every trial) */
  mpz_t *pool[MAXTRIALS];                  /* op output numerators: 2*MAX_OPS slots of MAX_NUMEL */
  XT t[MAXTRIALS][TSO_G_MAX_T];            /* tensors of the current graph */
  mpz_t acc, tmp, p9[16];                  /* temporaries, powers of 9 */
  int nout;                                /* outputs of the current graph */
  uint8_t *bytes[2 * TSO_G_MAX_OPS];       /* their canonical bytes */
  size_t len[2 * TSO_G_MAX_OPS], cap[2 * TSO_G_MAX_OPS];
};

static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static mpz_t *mpz_vec(int n) {
  mpz_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
  if (v)
    for (int i = 0; i < n; i++) mpz_init(v[i]);
  return v;
}

static void mpz_vec_free(mpz_t *v, int n) {
  if (!v) return;
  for (int i = 0; i < n; i++) mpz_clear(v[i]);
  free(v);
}

tsoG_Exact *tsoG_exact_new(const tsoG_Config *c) {
  tsoG_Exact *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  x->c = c;
  x->trials = c->trials < 1 ? 1 : c->trials > MAXTRIALS ? MAXTRIALS : c->trials;
  mpz_init(x->acc);
  mpz_init(x->tmp);
  for (int i = 0; i < 16; i++) {
    mpz_init(x->p9[i]);
    mpz_ui_pow_ui(x->p9[i], 9, (unsigned long)i);
  }
  uint64_t seed = c->seed ^ 0x6578616374ull; /* "exact" */
  unsigned long span = 2ul * (unsigned long)c->range + 1;
  x->fp9[0] = 1;
  for (int i = 1; i < 40; i++) x->fp9[i] = x->fp9[i - 1] * 9;
  for (int tr = 0; tr < x->trials; tr++) {
    if (!(x->pool[tr] = mpz_vec(2 * TSO_G_MAX_OPS * TSO_G_MAX_NUMEL))) goto fail;
    if (!(x->fpool[tr] = malloc((size_t)2 * TSO_G_MAX_OPS * TSO_G_MAX_NUMEL * sizeof(i128)))) goto fail;
    for (int i = 0; i < c->ninputs; i++) {
      XT *t = &x->in[tr][i];
      FT *f = &x->fin[tr][i];
      t->m = f->m = c->in[i].m;
      if (!(t->v = mpz_vec(t->m.numel)) || !(f->v = malloc((size_t)(f->m.numel ? f->m.numel : 1) * sizeof(i128))))
        goto fail;
      for (int j = 0; j < t->m.numel; j++) {
        long r = (long)(next(&seed) % span) - (long)c->range;
        mpz_set_si(t->v[j], r);
        f->v[j] = r;
      }
    }
  }
  for (int k = 0; k < c->ninst; k++) {
    const tsoG_Inst *ki = &c->inst[k];
    if (ki->fam != TSO_G_CONST) continue;
    XT *t = &x->cst[k];
    const tsoG_Meta *cm = &ki->cm;
    t->m = *cm;
    if (!(t->v = mpz_vec(cm->numel))) goto fail;
    for (int i = 0; i < cm->numel; i++) mpz_set_ui(t->v[i], ki->op == TSO_OP_CONST_ONES);
    if (ki->op == TSO_OP_CONST_IMATRIX) {
      for (int i = 0; i < cm->d[0]; i++) mpz_set_ui(t->v[i * cm->d[1] + i], 1);
    } else if (ki->op == TSO_OP_CONST_IKERNEL || ki->op == TSO_OP_CONST_POOL) {
      int ch = cm->d[0], kh = cm->d[2], kw = cm->d[3];
      if (ki->op == TSO_OP_CONST_POOL) t->e = 1; /* 1/9: the kernel is 3x3 (config.c) */
      for (int q = 0; q < ch; q++) {
        mpz_t *pl = t->v + (q * ch + q) * kh * kw;
        if (ki->op == TSO_OP_CONST_IKERNEL) mpz_set_ui(pl[(kh / 2) * kw + kw / 2], 1);
        else
          for (int i = 0; i < kh * kw; i++) mpz_set_ui(pl[i], 1);
      }
    }
    FT *f = &x->fcst[k]; /* the same values for the fast path */
    f->m = t->m;
    f->e = t->e;
    if (!(f->v = malloc((size_t)cm->numel * sizeof(i128)))) goto fail;
    for (int i = 0; i < cm->numel; i++) f->v[i] = mpz_get_si(t->v[i]);
  }
  return x;
fail:
  tsoG_exact_free(x);
  return NULL;
}

void tsoG_exact_free(tsoG_Exact *x) {
  if (!x) return;
  for (int tr = 0; tr < MAXTRIALS; tr++) {
    mpz_vec_free(x->pool[tr], x->pool[tr] ? 2 * TSO_G_MAX_OPS * TSO_G_MAX_NUMEL : 0);
    for (int i = 0; i < TSO_G_MAX_INPUTS; i++) mpz_vec_free(x->in[tr][i].v, x->in[tr][i].m.numel);
  }
  for (int k = 0; k < TSO_G_MAX_INST; k++) {
    mpz_vec_free(x->cst[k].v, x->cst[k].m.numel);
    free(x->fcst[k].v);
  }
  for (int tr = 0; tr < MAXTRIALS; tr++) {
    free(x->fpool[tr]);
    for (int i = 0; i < TSO_G_MAX_INPUTS; i++) free(x->fin[tr][i].v);
  }
  mpz_clear(x->acc);
  mpz_clear(x->tmp);
  for (int i = 0; i < 16; i++) mpz_clear(x->p9[i]);
  for (int i = 0; i < 2 * TSO_G_MAX_OPS; i++) free(x->bytes[i]);
  free(x);
}

/* Sets r to v * 9^d (d >= 0). */
static void scale(tsoG_Exact *x, mpz_t r, const mpz_t v, int d) {
  if (d == 0) mpz_set(r, v);
  else if (d < 16) mpz_mul(r, v, x->p9[d]);
  else {
    mpz_ui_pow_ui(x->tmp, 9, (unsigned long)d);
    mpz_mul(r, v, x->tmp);
  }
}

/* Convolution, stride 1, SAME_UPPER padding, optional relu. */
static void conv(tsoG_Exact *x, const XT *a, const XT *w, XT *y, int relu) {
  int n = a->m.d[0], c = a->m.d[1], h = a->m.d[2], wd = a->m.d[3];
  int mo = w->m.d[0], kh = w->m.d[2], kw = w->m.d[3], ph = (kh - 1) / 2, pw = (kw - 1) / 2;
  int plane = h * wd, taps = kh * kw;
  y->e = a->e + w->e;
  for (int b = 0; b < n; b++)
    for (int o = 0; o < mo; o++)
      for (int oh = 0; oh < h; oh++)
        for (int ow = 0; ow < wd; ow++) {
          mpz_set_ui(x->acc, 0);
          for (int ci = 0; ci < c; ci++)
            for (int i = 0; i < kh; i++) {
              int ih = oh + i - ph;
              if (ih < 0 || ih >= h) continue;
              for (int j = 0; j < kw; j++) {
                int iw = ow + j - pw;
                if (iw < 0 || iw >= wd) continue;
                mpz_addmul(x->acc, a->v[(b * c + ci) * plane + ih * wd + iw], w->v[(o * c + ci) * taps + i * kw + j]);
              }
            }
          mpz_t *r = &y->v[(b * mo + o) * plane + oh * wd + ow];
          if (relu && mpz_sgn(x->acc) < 0) mpz_set_ui(*r, 0);
          else mpz_set(*r, x->acc);
        }
}

/* 3x3 pooling, stride 1, SAME: the real max over the taps inside, or the
** sum over them with the denominator times 9 (pads count as zeros). */
static void pool(tsoG_Exact *x, const XT *a, XT *y, int is_max) {
  int planes = a->m.d[0] * a->m.d[1], h = a->m.d[2], w = a->m.d[3];
  y->e = is_max ? a->e : a->e + 1;
  for (int pl = 0; pl < planes; pl++)
    for (int oh = 0; oh < h; oh++)
      for (int ow = 0; ow < w; ow++) {
        int first = 1;
        for (int i = oh - 1; i <= oh + 1; i++) {
          if (i < 0 || i >= h) continue;
          for (int j = ow - 1; j <= ow + 1; j++) {
            if (j < 0 || j >= w) continue;
            const mpz_t *v = &a->v[pl * h * w + i * w + j];
            if (first) mpz_set(x->acc, *v);
            else if (!is_max) mpz_add(x->acc, x->acc, *v);
            else if (mpz_cmp(*v, x->acc) > 0) mpz_set(x->acc, *v);
            first = 0;
          }
        }
        mpz_set(y->v[pl * h * w + oh * w + ow], x->acc);
      }
}

/* Evaluates instance k on a (and b) into y (and y2). */
static void eval_op(tsoG_Exact *x, int k, const XT *a, const XT *b, XT *y, XT *y2) {
  const tsoG_Inst *ki = &x->c->inst[k];
  int n = y->m.numel;
  switch (ki->fam) {
  case TSO_G_CONV: conv(x, a, b, y, ki->relu); break;
  case TSO_G_MATMUL: {
    int mm = a->m.d[0], kk = a->m.d[1], nn = b->m.d[1];
    y->e = a->e + b->e;
    for (int i = 0; i < mm; i++)
      for (int j = 0; j < nn; j++) {
        mpz_set_ui(x->acc, 0);
        for (int t = 0; t < kk; t++) mpz_addmul(x->acc, a->v[i * kk + t], b->v[t * nn + j]);
        mpz_set(y->v[i * nn + j], x->acc);
      }
    break;
  }
  case TSO_G_ADD: {
    int e = a->e > b->e ? a->e : b->e;
    y->e = e;
    for (int i = 0; i < n; i++) {
      scale(x, x->acc, a->v[i], e - a->e);
      scale(x, x->tmp, b->v[i], e - b->e);
      mpz_add(y->v[i], x->acc, x->tmp);
    }
    break;
  }
  case TSO_G_MUL:
    y->e = a->e + b->e;
    for (int i = 0; i < n; i++) mpz_mul(y->v[i], a->v[i], b->v[i]);
    break;
  case TSO_G_SMUL:
    y->e = a->e + b->e;
    for (int i = 0; i < n; i++) mpz_mul(y->v[i], a->v[i], b->v[0]);
    break;
  case TSO_G_RELU:
    y->e = a->e;
    for (int i = 0; i < n; i++) {
      if (mpz_sgn(a->v[i]) < 0) mpz_set_ui(y->v[i], 0);
      else mpz_set(y->v[i], a->v[i]);
    }
    break;
  case TSO_G_TRANSPOSE: {
    int r = a->m.d[0], cc = a->m.d[1];
    y->e = a->e;
    for (int i = 0; i < r; i++)
      for (int j = 0; j < cc; j++) mpz_set(y->v[j * r + i], a->v[i * cc + j]);
    break;
  }
  case TSO_G_CONCAT: {
    int e = a->e > b->e ? a->e : b->e, outer = 1;
    for (int i = 0; i < ki->axis; i++) outer *= y->m.d[i];
    int na = a->m.numel / outer, nb = b->m.numel / outer;
    y->e = e;
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < na; i++) scale(x, y->v[o * (na + nb) + i], a->v[o * na + i], e - a->e);
      for (int i = 0; i < nb; i++) scale(x, y->v[o * (na + nb) + na + i], b->v[o * nb + i], e - b->e);
    }
    break;
  }
  case TSO_G_SPLIT: {
    int outer = 1;
    for (int i = 0; i < ki->axis; i++) outer *= a->m.d[i];
    int half = y->m.numel / outer;
    y->e = y2->e = a->e;
    for (int o = 0; o < outer; o++)
      for (int i = 0; i < half; i++) {
        mpz_set(y->v[o * half + i], a->v[o * 2 * half + i]);
        mpz_set(y2->v[o * half + i], a->v[o * 2 * half + half + i]);
      }
    break;
  }
  case TSO_G_MAXPOOL: pool(x, a, y, 1); break;
  case TSO_G_AVGPOOL: pool(x, a, y, 0); break;
  case TSO_G_ENLARGE: {
    int planes = a->m.d[0] * a->m.d[1], kh = a->m.d[2], kw = a->m.d[3];
    int oh = (3 - kh) / 2, ow = (3 - kw) / 2;
    y->e = a->e;
    for (int i = 0; i < n; i++) mpz_set_ui(y->v[i], 0);
    for (int pl = 0; pl < planes; pl++)
      for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) mpz_set(y->v[(pl * 3 + i + oh) * 3 + j + ow], a->v[(pl * kh + i) * kw + j]);
    break;
  }
  case TSO_G_CONST: {
    const XT *s = &x->cst[k];
    y->e = s->e;
    for (int i = 0; i < n; i++) mpz_set(y->v[i], s->v[i]);
    break;
  }
  default: break;
  }
}

/* Appends n bytes to output buffer i. */
static int put(tsoG_Exact *x, int i, const void *p, size_t n) {
  if (x->len[i] + n > x->cap[i]) {
    size_t cap = x->cap[i] ? x->cap[i] : 4096;
    while (cap < x->len[i] + n) cap *= 2;
    uint8_t *nb = realloc(x->bytes[i], cap);
    if (!nb) return -1;
    x->bytes[i] = nb;
    x->cap[i] = cap;
  }
  memcpy(x->bytes[i] + x->len[i], p, n);
  x->len[i] += n;
  return 0;
}

/* Canonical bytes of a tensor (both evaluators write exactly these):
**   int32 rank, d[0..3], e (the least exponent of the denominator 9^e,
**   0 for an all-zero tensor); then a tag byte: 0 when every numerator
**   fits in an int64, followed by the numerators as int64 in host order;
**   1 otherwise, followed for each numerator by a uint32 (byte count << 2
**   | sign + 1) and its magnitude in big-endian bytes. */

/* Appends the canonical form of t (reduced in place to the least
** exponent) to output buffer i. */
static int serialize(tsoG_Exact *x, int i, XT *t) {
  while (t->e > 0) {
    int all = 1;
    for (int j = 0; j < t->m.numel && all; j++) all = mpz_divisible_ui_p(t->v[j], 9) != 0;
    if (!all) break;
    for (int j = 0; j < t->m.numel; j++) mpz_divexact_ui(t->v[j], t->v[j], 9);
    t->e--;
  }
  int zero = 1, small = 1;
  for (int j = 0; j < t->m.numel; j++) {
    zero &= mpz_sgn(t->v[j]) == 0;
    small &= mpz_fits_slong_p(t->v[j]) != 0 && sizeof(long) == 8;
  }
  if (zero) t->e = 0;
  int32_t hdr[6] = {t->m.rank, t->m.d[0], t->m.d[1], t->m.d[2], t->m.d[3], t->e};
  uint8_t tag = small ? 0 : 1;
  if (put(x, i, hdr, sizeof hdr) || put(x, i, &tag, 1)) return -1;
  for (int j = 0; j < t->m.numel; j++) {
    if (small) {
      int64_t v = mpz_get_si(t->v[j]);
      if (put(x, i, &v, sizeof v)) return -1;
      continue;
    }
    uint8_t buf[64];
    size_t cnt = 0;
    int sg = mpz_sgn(t->v[j]);
    size_t need = (mpz_sizeinbase(t->v[j], 2) + 7) / 8;
    uint8_t *p = need <= sizeof buf ? buf : malloc(need);
    if (!p) return -1;
    mpz_export(p, &cnt, 1, 1, 1, 0, t->v[j]);
    uint32_t h = (uint32_t)cnt << 2 | (uint32_t)(sg + 1);
    int bad = put(x, i, &h, sizeof h) || put(x, i, p, cnt);
    if (p != buf) free(p);
    if (bad) return -1;
  }
  return 0;
}

/* ---- the fast path: checked 128-bit arithmetic ----------------------- */

#define ADD(r, a, b) \
  do {               \
    if (__builtin_add_overflow((a), (b), &(r))) return -1; \
  } while (0)
#define MUL(r, a, b) \
  do {               \
    if (__builtin_mul_overflow((a), (b), &(r))) return -1; \
  } while (0)

/* r = a * b, checked; a single 64x64->128 multiply when both fit in 64
** bits (then the product cannot overflow). */
#define MULF(r, a, b)                                                              \
  do {                                                                             \
    i128 a_ = (a), b_ = (b);                                                       \
    if ((i128)(int64_t)a_ == a_ && (i128)(int64_t)b_ == b_)                         \
      (r) = (i128)(int64_t)a_ * (int64_t)b_;                                       \
    else if (__builtin_mul_overflow(a_, b_, &(r)))                                 \
      return -1;                                                                   \
  } while (0)

/* r = v * 9^d, checked. */
static int fscale(const tsoG_Exact *x, i128 *r, i128 v, int d) {
  if (d >= 40) return -1;
  MUL(*r, v, x->fp9[d]);
  return 0;
}

/* 1 if every value of t is below 2^31 in magnitude (products of two then
** fit in 63 bits and sums of up to 2^64 of them in 128 bits). */
static int small31(const FT *t) {
  for (int j = 0; j < t->m.numel; j++)
    if (t->v[j] >= ((i128)1 << 31) || t->v[j] <= -((i128)1 << 31)) return 0;
  return 1;
}

static int fconv(const FT *a, const FT *w, FT *y, int relu) {
  int n = a->m.d[0], c = a->m.d[1], h = a->m.d[2], wd = a->m.d[3];
  int mo = w->m.d[0], kh = w->m.d[2], kw = w->m.d[3], ph = (kh - 1) / 2, pw = (kw - 1) / 2;
  int plane = h * wd, taps = kh * kw;
  y->e = a->e + w->e;
  if (small31(a) && small31(w)) { /* no overflow possible: unchecked */
    for (int b = 0; b < n; b++)
      for (int o = 0; o < mo; o++)
        for (int oh = 0; oh < h; oh++)
          for (int ow = 0; ow < wd; ow++) {
            i128 acc = 0;
            int i0 = ph - oh > 0 ? ph - oh : 0, i1 = h + ph - oh < kh ? h + ph - oh : kh;
            int j0 = pw - ow > 0 ? pw - ow : 0, j1 = wd + pw - ow < kw ? wd + pw - ow : kw;
            for (int ci = 0; ci < c; ci++) {
              const i128 *xp = a->v + (b * c + ci) * plane, *wp = w->v + (o * c + ci) * taps;
              for (int i = i0; i < i1; i++) {
                int xb = (oh + i - ph) * wd + ow - pw, wb = i * kw;
                for (int j = j0; j < j1; j++) acc += (i128)((int64_t)xp[xb + j] * (int64_t)wp[wb + j]);
              }
            }
            y->v[(b * mo + o) * plane + oh * wd + ow] = relu && acc < 0 ? 0 : acc;
          }
    return 0;
  }
  for (int b = 0; b < n; b++)
    for (int o = 0; o < mo; o++)
      for (int oh = 0; oh < h; oh++)
        for (int ow = 0; ow < wd; ow++) {
          i128 acc = 0, t;
          for (int ci = 0; ci < c; ci++)
            for (int i = 0; i < kh; i++) {
              int ih = oh + i - ph;
              if (ih < 0 || ih >= h) continue;
              for (int j = 0; j < kw; j++) {
                int iw = ow + j - pw;
                if (iw < 0 || iw >= wd) continue;
                MULF(t, a->v[(b * c + ci) * plane + ih * wd + iw], w->v[(o * c + ci) * taps + i * kw + j]);
                ADD(acc, acc, t);
              }
            }
          y->v[(b * mo + o) * plane + oh * wd + ow] = relu && acc < 0 ? 0 : acc;
        }
  return 0;
}

static int fpool(const FT *a, FT *y, int is_max) {
  int planes = a->m.d[0] * a->m.d[1], h = a->m.d[2], w = a->m.d[3];
  y->e = is_max ? a->e : a->e + 1;
  for (int pl = 0; pl < planes; pl++)
    for (int oh = 0; oh < h; oh++)
      for (int ow = 0; ow < w; ow++) {
        i128 acc = 0;
        int first = 1;
        for (int i = oh - 1; i <= oh + 1; i++) {
          if (i < 0 || i >= h) continue;
          for (int j = ow - 1; j <= ow + 1; j++) {
            if (j < 0 || j >= w) continue;
            i128 v = a->v[pl * h * w + i * w + j];
            if (first) acc = v;
            else if (!is_max) ADD(acc, acc, v);
            else if (v > acc) acc = v;
            first = 0;
          }
        }
        y->v[pl * h * w + oh * w + ow] = acc;
      }
  return 0;
}

/* Evaluates instance k on the fast path; 0, or -1 on overflow. */
static int feval_op(const tsoG_Exact *x, int k, const FT *a, const FT *b, FT *y, FT *y2) {
  const tsoG_Inst *ki = &x->c->inst[k];
  int n = y->m.numel;
  i128 t, u;
  switch (ki->fam) {
  case TSO_G_CONV: return fconv(a, b, y, ki->relu);
  case TSO_G_MATMUL: {
    int mm = a->m.d[0], kk = a->m.d[1], nn = b->m.d[1];
    y->e = a->e + b->e;
    for (int i = 0; i < mm; i++)
      for (int j = 0; j < nn; j++) {
        i128 acc = 0;
        for (int q = 0; q < kk; q++) {
          MULF(t, a->v[i * kk + q], b->v[q * nn + j]);
          ADD(acc, acc, t);
        }
        y->v[i * nn + j] = acc;
      }
    return 0;
  }
  case TSO_G_ADD: {
    int e = a->e > b->e ? a->e : b->e;
    y->e = e;
    for (int i = 0; i < n; i++) {
      if (fscale(x, &t, a->v[i], e - a->e) || fscale(x, &u, b->v[i], e - b->e)) return -1;
      ADD(y->v[i], t, u);
    }
    return 0;
  }
  case TSO_G_MUL:
    y->e = a->e + b->e;
    for (int i = 0; i < n; i++) MULF(y->v[i], a->v[i], b->v[i]);
    return 0;
  case TSO_G_SMUL:
    y->e = a->e + b->e;
    for (int i = 0; i < n; i++) MULF(y->v[i], a->v[i], b->v[0]);
    return 0;
  case TSO_G_RELU:
    y->e = a->e;
    for (int i = 0; i < n; i++) y->v[i] = a->v[i] < 0 ? 0 : a->v[i];
    return 0;
  case TSO_G_TRANSPOSE: {
    int r = a->m.d[0], cc = a->m.d[1];
    y->e = a->e;
    for (int i = 0; i < r; i++)
      for (int j = 0; j < cc; j++) y->v[j * r + i] = a->v[i * cc + j];
    return 0;
  }
  case TSO_G_CONCAT: {
    int e = a->e > b->e ? a->e : b->e, outer = 1;
    for (int i = 0; i < ki->axis; i++) outer *= y->m.d[i];
    int na = a->m.numel / outer, nb = b->m.numel / outer;
    y->e = e;
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < na; i++)
        if (fscale(x, &y->v[o * (na + nb) + i], a->v[o * na + i], e - a->e)) return -1;
      for (int i = 0; i < nb; i++)
        if (fscale(x, &y->v[o * (na + nb) + na + i], b->v[o * nb + i], e - b->e)) return -1;
    }
    return 0;
  }
  case TSO_G_SPLIT: {
    int outer = 1;
    for (int i = 0; i < ki->axis; i++) outer *= a->m.d[i];
    int half = y->m.numel / outer;
    y->e = y2->e = a->e;
    for (int o = 0; o < outer; o++)
      for (int i = 0; i < half; i++) {
        y->v[o * half + i] = a->v[o * 2 * half + i];
        y2->v[o * half + i] = a->v[o * 2 * half + half + i];
      }
    return 0;
  }
  case TSO_G_MAXPOOL: return fpool(a, y, 1);
  case TSO_G_AVGPOOL: return fpool(a, y, 0);
  case TSO_G_ENLARGE: {
    int planes = a->m.d[0] * a->m.d[1], kh = a->m.d[2], kw = a->m.d[3];
    int oh = (3 - kh) / 2, ow = (3 - kw) / 2;
    y->e = a->e;
    for (int i = 0; i < n; i++) y->v[i] = 0;
    for (int pl = 0; pl < planes; pl++)
      for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) y->v[(pl * 3 + i + oh) * 3 + j + ow] = a->v[(pl * kh + i) * kw + j];
    return 0;
  }
  case TSO_G_CONST: {
    const FT *s = &x->fcst[k];
    y->e = s->e;
    for (int i = 0; i < n; i++) y->v[i] = s->v[i];
    return 0;
  }
  default: return -1;
  }
}

/* Makes room for n more bytes in output buffer i. */
static int reserve(tsoG_Exact *x, int i, size_t n) {
  if (x->len[i] + n <= x->cap[i]) return 0;
  size_t cap = x->cap[i] ? x->cap[i] : 4096;
  while (cap < x->len[i] + n) cap *= 2;
  uint8_t *nb = realloc(x->bytes[i], cap);
  if (!nb) return -1;
  x->bytes[i] = nb;
  x->cap[i] = cap;
  return 0;
}

static int fits64(i128 v) { return (i128)(int64_t)v == v; }

/* Appends the canonical form of fast tensor t to output buffer i: the
** same bytes serialize() writes for the same values (t is not changed). */
static int fserialize(tsoG_Exact *x, int i, const FT *t) {
  int e = t->e, n = t->m.numel, small = 1, zero = 1;
  for (int j = 0; j < n; j++) {
    small &= fits64(t->v[j]);
    zero &= t->v[j] == 0;
  }
  i128 div = 1;
  if (zero) e = 0;
  while (e > 0) {
    int all = 1;
    if (small && div * 9 <= INT64_MAX) {
      int64_t nd = (int64_t)(div * 9);
      for (int j = 0; j < n && all; j++) all = (int64_t)t->v[j] % nd == 0;
    } else {
      for (int j = 0; j < n && all; j++) all = t->v[j] % (div * 9) == 0;
    }
    if (!all) break;
    div *= 9;
    e--;
  }
  if (div != 1 && !small) { /* the quotients may fit where the numerators did not */
    small = 1;
    for (int j = 0; j < n; j++) small &= fits64(t->v[j] / div);
  }
  if (reserve(x, i, 25 + (size_t)n * 20)) return -1;
  int32_t hdr[6] = {t->m.rank, t->m.d[0], t->m.d[1], t->m.d[2], t->m.d[3], e};
  uint8_t *p = x->bytes[i] + x->len[i];
  memcpy(p, hdr, sizeof hdr);
  p += sizeof hdr;
  *p++ = small ? 0 : 1;
  if (small) {
    if (div == 1)
      for (int j = 0; j < n; j++, p += 8) {
        int64_t v = (int64_t)t->v[j];
        memcpy(p, &v, 8);
      }
    else
      for (int j = 0; j < n; j++, p += 8) {
        int64_t v = (int64_t)(t->v[j] / div);
        memcpy(p, &v, 8);
      }
  } else {
    for (int j = 0; j < n; j++) {
      i128 v = div == 1 ? t->v[j] : t->v[j] / div;
      int sg = v < 0 ? -1 : v > 0;
      unsigned __int128 mag = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
      uint8_t buf[16];
      uint32_t cnt = 0;
      while (mag) {
        buf[15 - cnt++] = (uint8_t)(mag & 255);
        mag >>= 8;
      }
      uint32_t h = cnt << 2 | (uint32_t)(sg + 1);
      memcpy(p, &h, sizeof h);
      memcpy(p + sizeof h, buf + 16 - cnt, cnt);
      p += sizeof h + cnt;
    }
  }
  x->len[i] = (size_t)(p - x->bytes[i]);
  return 0;
}

/* The fast path for a whole graph: 0, 1 on overflow (use GMP), -1 on
** allocation failure. */
static int eval_fast(tsoG_Exact *x, const tsoG_Graph *g) {
  const tsoG_Config *c = x->c;
  for (int i = 0; i < 2 * TSO_G_MAX_OPS; i++) x->len[i] = 0;
  for (int tr = 0; tr < x->trials; tr++) {
    FT *t = x->ft[tr];
    for (int i = 0; i < c->ninputs; i++) t[i] = x->fin[tr][i];
    for (int id = c->ninputs; id < g->nt; id++) {
      t[id].m = g->m[id];
      t[id].e = 0;
      t[id].v = x->fpool[tr] + (size_t)(id - c->ninputs) * TSO_G_MAX_NUMEL;
    }
    for (int j = 0; j < g->nops; j++) {
      const tsoG_Inst *ki = &c->inst[g->inst[j]];
      const FT *a = ki->nin > 0 ? &t[g->arg[j][0]] : NULL, *b = ki->nin > 1 ? &t[g->arg[j][1]] : NULL;
      int f = g->first_out[j];
      if (feval_op(x, g->inst[j], a, b, &t[f], ki->nout > 1 ? &t[f + 1] : NULL)) return 1;
    }
    for (int i = 0; i < g->nout; i++)
      if (fserialize(x, i, &t[g->out[i]])) return -1;
  }
  return 0;
}

int tsoG_exact_eval(tsoG_Exact *x, const tsoG_Graph *g) {
  const tsoG_Config *c = x->c;
  x->nout = g->nout;
  if (!c->gmp_only) {
    int r = eval_fast(x, g);
    if (r < 0) return -1;
    if (r == 0) {
      x->nfast++;
      return 0;
    }
  }
  x->ngmp++;
  for (int i = 0; i < 2 * TSO_G_MAX_OPS; i++) x->len[i] = 0;
  for (int tr = 0; tr < x->trials; tr++) {
    XT *t = x->t[tr];
    for (int i = 0; i < c->ninputs; i++) t[i] = x->in[tr][i];
    for (int id = c->ninputs; id < g->nt; id++) {
      t[id].m = g->m[id];
      t[id].e = 0;
      t[id].v = x->pool[tr] + (size_t)(id - c->ninputs) * TSO_G_MAX_NUMEL;
    }
    for (int j = 0; j < g->nops; j++) {
      const tsoG_Inst *ki = &c->inst[g->inst[j]];
      const XT *a = ki->nin > 0 ? &t[g->arg[j][0]] : NULL, *b = ki->nin > 1 ? &t[g->arg[j][1]] : NULL;
      int f = g->first_out[j];
      eval_op(x, g->inst[j], a, b, &t[f], ki->nout > 1 ? &t[f + 1] : NULL);
    }
    for (int i = 0; i < g->nout; i++) {
      XT tmp = t[g->out[i]];
      if (g->out[i] < c->ninputs) { /* an input: serialize a copy, never reduce it in place */
        tmp.v = x->pool[tr] + (size_t)(2 * TSO_G_MAX_OPS - 1) * TSO_G_MAX_NUMEL;
        for (int j = 0; j < tmp.m.numel; j++) mpz_set(tmp.v[j], t[g->out[i]].v[j]);
      }
      if (serialize(x, i, &tmp)) return -1;
      t[g->out[i]].e = tmp.e;
    }
  }
  return 0;
}

const uint8_t *tsoG_exact_out_bytes(const tsoG_Exact *x, int i, size_t *len) {
  if (i < 0 || i >= x->nout) {
    *len = 0;
    return NULL;
  }
  *len = x->len[i];
  return x->bytes[i];
}
