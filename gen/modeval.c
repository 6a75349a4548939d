/*
** modeval.c -- the fingerprint kernels: every generator operator evaluated
** exactly in the prime field GF(p), p = 2^61 - 1, on random inputs.
**
** Why a field: graphs that compute the same function over the reals
** compute the same function over any field when the function is built
** from +, x and constants (rationals map to the field: 1/9 becomes the
** inverse of 9), so equal graphs get equal values with no rounding in
** play; unequal polynomial maps of low degree agree at a random point with
** probability at most degree/p (Schwartz-Zippel), about 2^-55 here.
**
** Relu and max are not polynomials. They are replaced by fixed non-linear
** polynomials with random coefficients (relu(x) -> x^2 + c.x, max of a
** window -> sum x^3 + d.(sum x)^2) so that their zeros and ties cannot make
** unrelated graphs look equal. Identities that hold for the polynomials but
** not for the real operators are caught by the exact check (exact.c);
** identities that hold for the real operators only through their order
** properties (relu(relu(x)) = relu(x), maxpool(relu(x)) = relu(maxpool(x)))
** are not found (docs/generator.md lists them).
**
** Invariant: every value stored in a tensor is fully reduced (< p), so
** equal field elements have equal bits and hashes.
*/
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "gen.h"

typedef unsigned __int128 u128;
#define P TSO_G_P

/* x mod p for x < 2^64. */
static inline uint64_t red64(uint64_t x) {
  x = (x & P) + (x >> 61);
  return x >= P ? x - P : x;
}

/* x mod p for any 128-bit x (2^61 = 1 mod p). */
static inline uint64_t red128(u128 x) {
  uint64_t lo = (uint64_t)x & P, hi = (uint64_t)(x >> 61);
  uint64_t r = lo + (hi & P) + (hi >> 61);
  return red64(r);
}

static inline uint64_t addm(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= P ? r - P : r;
}

static inline uint64_t mulm(uint64_t a, uint64_t b) { return red128((u128)a * b); }

/* A product folded below 2^62, to be summed in 128 bits and reduced once. */
static inline uint64_t mulf(uint64_t a, uint64_t b) {
  u128 t = (u128)a * b;
  return ((uint64_t)t & P) + (uint64_t)(t >> 61);
}

static uint64_t powm(uint64_t a, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r = mulm(r, a);
    a = mulm(a, a);
    e >>= 1;
  }
  return r;
}

/* splitmix64. */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rand_field(uint64_t *s) { return red64(next(s) >> 3); }

uint64_t tsoG_mod_hash(const uint64_t *v, const tsoG_Meta *m) {
  uint64_t seed = XXH3_64bits(m, sizeof *m);
  return XXH3_64bits_withSeed(v, (size_t)m->numel * sizeof *v, seed);
}

/* Sorting network-free insertion sort: n is at most 2 * TSO_G_MAX_OPS. */
uint64_t tsoG_fp_combine(const uint64_t *h, int n) {
  uint64_t s[2 * TSO_G_MAX_OPS + 1];
  int k = 0;
  for (int i = 0; i < n && k < (int)(sizeof s / sizeof s[0]); i++) {
    uint64_t x = h[i];
    int j = k++;
    while (j > 0 && s[j - 1] > x) {
      s[j] = s[j - 1];
      j--;
    }
    s[j] = x;
  }
  return XXH3_64bits_withSeed(s, (size_t)k * sizeof s[0], 0x7461736f2d67656eull + (uint64_t)k);
}

/* Fills the values of constant instance k (field form of the float
** kernels in ops_nn.c). */
static void const_values(const tsoG_ModCtx *m, const tsoG_Inst *k, uint64_t *v) {
  const tsoG_Meta *cm = &k->cm;
  uint64_t one = k->op == TSO_OP_CONST_ONES ? 1 : 0;
  for (int i = 0; i < cm->numel; i++) v[i] = one;
  if (k->op == TSO_OP_CONST_IMATRIX) {
    for (int i = 0; i < cm->d[0]; i++) v[i * cm->d[1] + i] = 1;
  } else if (k->op == TSO_OP_CONST_IKERNEL || k->op == TSO_OP_CONST_POOL) {
    int c = cm->d[0], kh = cm->d[2], kw = cm->d[3];
    uint64_t w = k->op == TSO_OP_CONST_POOL ? powm((uint64_t)(kh * kw), P - 2) : 1;
    (void)m;
    for (int ch = 0; ch < c; ch++) {
      uint64_t *pl = v + (ch * c + ch) * kh * kw;
      if (k->op == TSO_OP_CONST_IKERNEL) pl[(kh / 2) * kw + kw / 2] = 1;
      else
        for (int i = 0; i < kh * kw; i++) pl[i] = w;
    }
  }
}

tso_status tsoG_mod_init(tsoG_ModCtx *m, const tsoG_Config *c) {
  uint64_t s = c->seed ^ 0x6d6f64756c6172ull; /* "modular" */
  memset(m, 0, sizeof *m);
  m->inv9 = powm(9, P - 2);
  m->relu_c = rand_field(&s);
  m->max_c = rand_field(&s);
  for (int i = 0; i < c->ninputs; i++) {
    const tsoG_Meta *im = &c->in[i].m;
    if (!(m->in[i] = malloc((size_t)im->numel * sizeof(uint64_t)))) goto nomem;
    for (int j = 0; j < im->numel; j++) m->in[i][j] = rand_field(&s);
    m->in_hash[i] = tsoG_mod_hash(m->in[i], im);
  }
  for (int k = 0; k < c->ninst; k++) {
    if (c->inst[k].fam != TSO_G_CONST) continue;
    if (!(m->cst[k] = malloc((size_t)c->inst[k].cm.numel * sizeof(uint64_t)))) goto nomem;
    const_values(m, &c->inst[k], m->cst[k]);
  }
  return TSO_OK;
nomem:
  tsoG_mod_free(m);
  return TSO_ERR_NOMEM;
}

void tsoG_mod_free(tsoG_ModCtx *m) {
  for (int i = 0; i < TSO_G_MAX_INPUTS; i++) free(m->in[i]);
  for (int k = 0; k < TSO_G_MAX_INST; k++) free(m->cst[k]);
  memset(m, 0, sizeof *m);
}

/* relu stand-in: x^2 + c.x = x (x + c). */
static inline uint64_t relu_poly(const tsoG_ModCtx *m, uint64_t x) { return mulm(x, addm(x, m->relu_c)); }

/* Convolution, stride 1, SAME_UPPER padding (odd kernels: (k-1)/2 before):
** for each output plane, every kernel tap adds its weight times the
** shifted input plane into 128-bit accumulators, reduced once. */
static void conv(const tsoG_ModCtx *m, const uint64_t *x, const tsoG_Meta *xm, const uint64_t *w,
                 const tsoG_Meta *wm, uint64_t *y, int relu) {
  int n = xm->d[0], c = xm->d[1], h = xm->d[2], wd = xm->d[3];
  int mo = wm->d[0], kh = wm->d[2], kw = wm->d[3], ph = (kh - 1) / 2, pw = (kw - 1) / 2;
  int plane = h * wd, taps = kh * kw;
  u128 acc[TSO_G_MAX_NUMEL];
  for (int b = 0; b < n; b++)
    for (int o = 0; o < mo; o++) {
      for (int i = 0; i < plane; i++) acc[i] = 0;
      for (int ci = 0; ci < c; ci++) {
        const uint64_t *xp = x + (b * c + ci) * plane, *wp = w + (o * c + ci) * taps;
        for (int i = 0; i < kh; i++) {
          int di = i - ph, oh0 = di < 0 ? -di : 0, oh1 = di > 0 ? h - di : h;
          for (int j = 0; j < kw; j++) {
            int dj = j - pw, ow0 = dj < 0 ? -dj : 0, ow1 = dj > 0 ? wd - dj : wd;
            uint64_t wv = wp[i * kw + j];
            for (int oh = oh0; oh < oh1; oh++) {
              const uint64_t *xr = xp + (oh + di) * wd + dj;
              u128 *ar = acc + oh * wd;
              for (int ow = ow0; ow < ow1; ow++) ar[ow] += mulf(xr[ow], wv);
            }
          }
        }
      }
      uint64_t *yp = y + (b * mo + o) * plane;
      for (int i = 0; i < plane; i++) {
        uint64_t v = red128(acc[i]);
        yp[i] = relu ? relu_poly(m, v) : v;
      }
    }
}

/* 3x3 pooling, stride 1, SAME padding: average (sum times 1/9, pads count
** as zeros: count_include_pad) or the max stand-in over the taps inside
** (sum of cubes plus d times the squared sum). Window sums are separable:
** a pass along rows, then along columns. */
static void pool(const tsoG_ModCtx *m, const uint64_t *x, const tsoG_Meta *xm, uint64_t *y, int is_max) {
  int planes = xm->d[0] * xm->d[1], h = xm->d[2], w = xm->d[3];
  uint64_t rs[TSO_G_MAX_NUMEL], rc[TSO_G_MAX_NUMEL], cu[TSO_G_MAX_NUMEL];
  for (int pl = 0; pl < planes; pl++) {
    const uint64_t *xp = x + pl * h * w;
    uint64_t *yp = y + pl * h * w;
    if (is_max)
      for (int i = 0; i < h * w; i++) cu[i] = mulm(mulm(xp[i], xp[i]), xp[i]);
    for (int i = 0; i < h; i++) /* row sums over columns j-1..j+1 */
      for (int j = 0; j < w; j++) {
        uint64_t sv = xp[i * w + j], sc = is_max ? cu[i * w + j] : 0;
        if (j > 0) sv = addm(sv, xp[i * w + j - 1]), sc = is_max ? addm(sc, cu[i * w + j - 1]) : 0;
        if (j + 1 < w) sv = addm(sv, xp[i * w + j + 1]), sc = is_max ? addm(sc, cu[i * w + j + 1]) : 0;
        rs[i * w + j] = sv;
        rc[i * w + j] = sc;
      }
    for (int i = 0; i < h; i++)
      for (int j = 0; j < w; j++) {
        uint64_t sv = rs[i * w + j], sc = rc[i * w + j];
        if (i > 0) sv = addm(sv, rs[(i - 1) * w + j]), sc = addm(sc, rc[(i - 1) * w + j]);
        if (i + 1 < h) sv = addm(sv, rs[(i + 1) * w + j]), sc = addm(sc, rc[(i + 1) * w + j]);
        yp[i * w + j] = is_max ? addm(sc, mulm(m->max_c, mulm(sv, sv))) : mulm(sv, m->inv9);
      }
  }
}

/* Generic row-major move helpers. */
static int64_t outer_of(const tsoG_Meta *m, int axis) {
  int64_t o = 1;
  for (int i = 0; i < axis; i++) o *= m->d[i];
  return o;
}

void tsoG_mod_eval(const tsoG_ModCtx *m, const tsoG_Config *c, int k, const uint64_t *const *in,
                   const tsoG_Meta *im, uint64_t *const *out, const tsoG_Meta *om) {
  const tsoG_Inst *ki = &c->inst[k];
  const uint64_t *a = ki->nin > 0 ? in[0] : NULL, *b = ki->nin > 1 ? in[1] : NULL;
  uint64_t *y = out[0];
  int n = om[0].numel;
  switch (ki->fam) {
  case TSO_G_CONV: conv(m, a, &im[0], b, &im[1], y, ki->relu); break;
  case TSO_G_MATMUL: {
    int mm = im[0].d[0], kk = im[0].d[1], nn = im[1].d[1];
    for (int i = 0; i < mm; i++)
      for (int j = 0; j < nn; j++) {
        u128 acc = 0;
        for (int t = 0; t < kk; t++) acc += mulf(a[i * kk + t], b[t * nn + j]);
        y[i * nn + j] = red128(acc);
      }
    break;
  }
  case TSO_G_ADD:
    for (int i = 0; i < n; i++) y[i] = addm(a[i], b[i]);
    break;
  case TSO_G_MUL:
    for (int i = 0; i < n; i++) y[i] = mulm(a[i], b[i]);
    break;
  case TSO_G_SMUL:
    for (int i = 0; i < n; i++) y[i] = mulm(a[i], b[0]);
    break;
  case TSO_G_RELU:
    for (int i = 0; i < n; i++) y[i] = relu_poly(m, a[i]);
    break;
  case TSO_G_TRANSPOSE: {
    int r = im[0].d[0], cc = im[0].d[1];
    for (int i = 0; i < r; i++)
      for (int j = 0; j < cc; j++) y[j * r + i] = a[i * cc + j];
    break;
  }
  case TSO_G_CONCAT: {
    int64_t outer = outer_of(&om[0], ki->axis);
    size_t na = (size_t)(im[0].numel / outer), nb = (size_t)(im[1].numel / outer);
    for (int64_t o = 0; o < outer; o++) {
      memcpy(y + o * (int64_t)(na + nb), a + o * (int64_t)na, na * sizeof *y);
      memcpy(y + o * (int64_t)(na + nb) + na, b + o * (int64_t)nb, nb * sizeof *y);
    }
    break;
  }
  case TSO_G_SPLIT: {
    int64_t outer = outer_of(&im[0], ki->axis);
    size_t half = (size_t)(om[0].numel / outer);
    for (int64_t o = 0; o < outer; o++) {
      memcpy(out[0] + o * (int64_t)half, a + o * (int64_t)(2 * half), half * sizeof *y);
      memcpy(out[1] + o * (int64_t)half, a + o * (int64_t)(2 * half) + half, half * sizeof *y);
    }
    break;
  }
  case TSO_G_MAXPOOL: pool(m, a, &im[0], y, 1); break;
  case TSO_G_AVGPOOL: pool(m, a, &im[0], y, 0); break;
  case TSO_G_ENLARGE: {
    int planes = im[0].d[0] * im[0].d[1], kh = im[0].d[2], kw = im[0].d[3];
    int oh = (3 - kh) / 2, ow = (3 - kw) / 2;
    memset(y, 0, (size_t)n * sizeof *y);
    for (int pl = 0; pl < planes; pl++)
      for (int i = 0; i < kh; i++)
        for (int j = 0; j < kw; j++) y[(pl * 3 + i + oh) * 3 + j + ow] = a[(pl * kh + i) * kw + j];
    break;
  }
  case TSO_G_CONST: memcpy(y, m->cst[k], (size_t)n * sizeof *y); break;
  default: break;
  }
}
