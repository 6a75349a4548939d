/*
** modeval.c -- exact kernels for the axiom validation, in the prime field
** GF(p), p = 2^61 - 1.
**
** The arithmetic operators are computed exactly; the non-linear ones are
** replaced by fixed polynomials, as the generator's fingerprints do:
** relu(x) = x + R x^2, sigmoid(x) = S0 + x + S2 x^2, tanh(x) = x + T x^3,
** and the window "max" of max-pooling is the symmetric polynomial
** sum(v) + M sum(v^2) over the taps inside the input. An identity that
** holds for these generic stand-ins holds for every element-wise function
** and every per-window symmetric function, the real relu and max among
** them; the float cross-check of the validation uses the real ones.
** Average pooling and the average-pool constant divide by multiplying with
** the inverse in the field.
**
** Shapes come from the operators' own infer() (the caller passes the
** output shapes), and the geometry of windows (SAME padding, strides,
** dilations, ceil mode) follows ops/ops_nn.c, so a kernel here accepts
** exactly what the reference accepts.
*/
#include <stdlib.h>
#include <string.h>

#include "verify/internal.h"

#define P TSO_V_P
#define C_RELU 0x0123456789ABCDEull
#define C_SIG0 0x0000000071A2B3C4ull
#define C_SIG2 0x00000A5A5A5A5A5Aull
#define C_TANH 0x0000F00DFACE1234ull
#define C_MAX 0x000BADC0FFEE0DDull

uint64_t tsoV_addmod(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= P ? r - P : r;
}

uint64_t tsoV_mulmod(uint64_t a, uint64_t b) {
  unsigned __int128 x = (unsigned __int128)a * b;
  uint64_t lo = (uint64_t)x & P, hi = (uint64_t)(x >> 61);
  uint64_t r = lo + hi;
  return r >= P ? r - P : r;
}

static uint64_t powmod(uint64_t a, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r = tsoV_mulmod(r, a);
    a = tsoV_mulmod(a, a);
    e >>= 1;
  }
  return r;
}

static uint64_t inv(uint64_t a) { return powmod(a % P, P - 2); }

static uint64_t relu_poly(uint64_t x) { return tsoV_addmod(x, tsoV_mulmod(C_RELU, tsoV_mulmod(x, x))); }
static uint64_t sig_poly(uint64_t x) {
  return tsoV_addmod(tsoV_addmod(C_SIG0, x), tsoV_mulmod(C_SIG2, tsoV_mulmod(x, x)));
}
static uint64_t tanh_poly(uint64_t x) {
  return tsoV_addmod(x, tsoV_mulmod(C_TANH, tsoV_mulmod(x, tsoV_mulmod(x, x))));
}

static int64_t numel(const tsoO_Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n *= s->d[i];
  return n;
}

static void strides(const tsoO_Shape *s, int64_t *st) {
  int64_t m = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = m;
    m *= s->d[i];
  }
}

/* Numpy broadcasting: y[o] = f(a[ia], b[ib]). */
static void broadcast2(int op, const uint64_t *a, const tsoO_Shape *sa, const uint64_t *b, const tsoO_Shape *sb,
                       uint64_t *y, const tsoO_Shape *so) {
  int r = so->rank;
  int64_t sta[TSO_MAX_RANK], stb[TSO_MAX_RANK], ta[TSO_MAX_RANK] = {0}, tb[TSO_MAX_RANK] = {0};
  strides(sa, sta);
  strides(sb, stb);
  for (int i = 0; i < r; i++) {
    int ia = i - (r - sa->rank), ib = i - (r - sb->rank);
    ta[i] = ia >= 0 && sa->d[ia] != 1 ? sta[ia] : 0;
    tb[i] = ib >= 0 && sb->d[ib] != 1 ? stb[ib] : 0;
  }
  int64_t n = numel(so), idx[TSO_MAX_RANK] = {0};
  for (int64_t o = 0; o < n; o++) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < r; i++) oa += idx[i] * ta[i], ob += idx[i] * tb[i];
    y[o] = op == TSO_OP_ADD ? tsoV_addmod(a[oa], b[ob]) : tsoV_mulmod(a[oa], b[ob]);
    for (int i = r - 1; i >= 0; i--) {
      if (++idx[i] < so->d[i]) break;
      idx[i] = 0;
    }
  }
}

static void transpose(const tsoO_Params *p, const uint64_t *x, const tsoO_Shape *sx, uint64_t *y,
                      const tsoO_Shape *sy) {
  int r = sx->rank, perm[TSO_MAX_RANK];
  int64_t st[TSO_MAX_RANK], idx[TSO_MAX_RANK] = {0};
  for (int i = 0; i < r; i++) perm[i] = p->transpose.n > 0 ? p->transpose.perm[i] : r - 1 - i;
  strides(sx, st);
  int64_t n = numel(sy);
  for (int64_t o = 0; o < n; o++) {
    int64_t off = 0;
    for (int i = 0; i < r; i++) off += idx[i] * st[perm[i]];
    y[o] = x[off];
    for (int i = r - 1; i >= 0; i--) {
      if (++idx[i] < sy->d[i]) break;
      idx[i] = 0;
    }
  }
}

/* Products of dims [lo, hi). */
static int64_t prod(const tsoO_Shape *s, int lo, int hi) {
  int64_t m = 1;
  for (int i = lo; i < hi; i++) m *= s->d[i];
  return m;
}

static void concat(int axis, int nin, const uint64_t *const *in, const tsoO_Shape *ish, uint64_t *y,
                   const tsoO_Shape *sy) {
  int64_t outer = prod(sy, 0, axis), inner = prod(sy, axis + 1, sy->rank), off = 0;
  int64_t row = sy->d[axis] * inner;
  for (int j = 0; j < nin; j++) {
    int64_t nb = ish[j].d[axis] * inner;
    for (int64_t o = 0; o < outer; o++) memcpy(y + o * row + off, in[j] + o * nb, (size_t)nb * sizeof *y);
    off += nb;
  }
}

static void split(int axis, const uint64_t *x, const tsoO_Shape *sx, int nout, uint64_t *const *out,
                  const tsoO_Shape *osh) {
  int64_t outer = prod(sx, 0, axis), inner = prod(sx, axis + 1, sx->rank), off = 0;
  int64_t row = sx->d[axis] * inner;
  for (int j = 0; j < nout; j++) {
    int64_t nb = osh[j].d[axis] * inner;
    for (int64_t o = 0; o < outer; o++) memcpy(out[j] + o * nb, x + o * row + off, (size_t)nb * sizeof *x);
    off += nb;
  }
}

/* numpy matmul: 1-D operands promoted, batch dims broadcast. */
static tso_status matmul(const uint64_t *a, const tsoO_Shape *sa, const uint64_t *b, const tsoO_Shape *sb,
                         uint64_t *y, const tsoO_Shape *sy, char *err) {
  int ra = sa->rank, rb = sb->rank;
  int64_t m = ra == 1 ? 1 : sa->d[ra - 2], k = sa->d[ra - 1], n = rb == 1 ? 1 : sb->d[rb - 1];
  int na = ra > 2 ? ra - 2 : 0, nb = rb > 2 ? rb - 2 : 0, nbt = na > nb ? na : nb;
  int64_t bd[TSO_MAX_RANK], sta[TSO_MAX_RANK], stb[TSO_MAX_RANK], stra = m * k, strb = k * n;
  for (int i = nbt - 1; i >= 0; i--) {
    int ia = i - (nbt - na), ib = i - (nbt - nb);
    int64_t da = ia >= 0 ? sa->d[ia] : 1, db = ib >= 0 ? sb->d[ib] : 1;
    bd[i] = da == 1 ? db : da;
    sta[i] = da == 1 ? 0 : stra;
    stb[i] = db == 1 ? 0 : strb;
    stra *= da;
    strb *= db;
  }
  int64_t nbatch = 1;
  for (int i = 0; i < nbt; i++) nbatch *= bd[i];
  if (nbatch * m * n != numel(sy)) return tsoO_fail(err, TSO_ERR_SHAPE, "matmul: output size");
  for (int64_t bi = 0; bi < nbatch; bi++) {
    int64_t rest = bi, oa = 0, ob = 0;
    for (int i = nbt - 1; i >= 0; i--) {
      int64_t idx = rest % bd[i];
      rest /= bd[i];
      oa += idx * sta[i];
      ob += idx * stb[i];
    }
    uint64_t *yb = y + bi * m * n;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        uint64_t acc = 0;
        for (int64_t t = 0; t < k; t++) acc = tsoV_addmod(acc, tsoV_mulmod(a[oa + i * k + t], b[ob + t * n + j]));
        yb[i * n + j] = acc;
      }
  }
  return TSO_OK;
}

/* Window geometry of one spatial axis (ops_nn.c axis_resolve). */
typedef struct Ax {
  int64_t in, k, s, d, p0, p1, out;
} Ax;

static void axis_pads(int mode, Ax *x, int64_t ep0, int64_t ep1) {
  int64_t ek = (x->k - 1) * x->d + 1;
  if (mode == TSO_PAD_SAME_UPPER || mode == TSO_PAD_SAME_LOWER) {
    int64_t out = (x->in + x->s - 1) / x->s;
    int64_t tot = (out - 1) * x->s + ek - x->in;
    if (tot < 0) tot = 0;
    x->p0 = mode == TSO_PAD_SAME_UPPER ? tot / 2 : tot - tot / 2;
    x->p1 = tot - x->p0;
  } else if (mode == TSO_PAD_VALID) {
    x->p0 = x->p1 = 0;
  } else {
    x->p0 = ep0;
    x->p1 = ep1;
  }
}

static tso_status conv(const tsoO_Params *p, int nin, const uint64_t *const *in, const tsoO_Shape *ish, uint64_t *y,
                       const tsoO_Shape *sy) {
  const tsoO_Shape *sx = &ish[0], *sw = &ish[1];
  int64_t N = sx->d[0], C = sx->d[1], M = sw->d[0], CG = sw->d[1], g = p->win.group;
  Ax h = {sx->d[2], sw->d[2], p->win.sh, p->win.dh, 0, 0, sy->d[2]};
  Ax w = {sx->d[3], sw->d[3], p->win.sw, p->win.dw, 0, 0, sy->d[3]};
  axis_pads(p->win.pad_mode, &h, p->win.pt, p->win.pb);
  axis_pads(p->win.pad_mode, &w, p->win.pl, p->win.pr);
  int64_t mg = M / g;
  const uint64_t *x = in[0], *wt = in[1], *bias = nin > 2 ? in[2] : NULL;
  (void)C;
  for (int64_t n = 0; n < N; n++)
    for (int64_t mo = 0; mo < M; mo++) {
      int64_t grp = mo / mg;
      for (int64_t oh = 0; oh < h.out; oh++)
        for (int64_t ow = 0; ow < w.out; ow++) {
          uint64_t acc = bias ? bias[mo] : 0;
          for (int64_t c = 0; c < CG; c++)
            for (int64_t ki = 0; ki < h.k; ki++) {
              int64_t ih = oh * h.s - h.p0 + ki * h.d;
              if (ih < 0 || ih >= h.in) continue;
              for (int64_t kj = 0; kj < w.k; kj++) {
                int64_t iw = ow * w.s - w.p0 + kj * w.d;
                if (iw < 0 || iw >= w.in) continue;
                uint64_t xv = x[((n * sx->d[1] + grp * CG + c) * h.in + ih) * w.in + iw];
                uint64_t wv = wt[((mo * CG + c) * h.k + ki) * w.k + kj];
                acc = tsoV_addmod(acc, tsoV_mulmod(xv, wv));
              }
            }
          if (p->win.act == TSO_ACT_RELU) acc = relu_poly(acc);
          y[((n * M + mo) * h.out + oh) * w.out + ow] = acc;
        }
    }
  return TSO_OK;
}

static void pool(const tsoO_Params *p, int is_max, const uint64_t *x, const tsoO_Shape *sx, uint64_t *y,
                 const tsoO_Shape *sy) {
  Ax h = {sx->d[2], p->win.kh, p->win.sh, p->win.dh, 0, 0, sy->d[2]};
  Ax w = {sx->d[3], p->win.kw, p->win.sw, p->win.dw, 0, 0, sy->d[3]};
  axis_pads(p->win.pad_mode, &h, p->win.pt, p->win.pb);
  axis_pads(p->win.pad_mode, &w, p->win.pl, p->win.pr);
  int64_t planes = sx->d[0] * sx->d[1];
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t oh = 0; oh < h.out; oh++)
      for (int64_t ow = 0; ow < w.out; ow++) {
        uint64_t sum = 0, sq = 0;
        int64_t inside = 0, padded = 0;
        for (int64_t ki = 0; ki < h.k; ki++) {
          int64_t ih = oh * h.s - h.p0 + ki * h.d;
          int hin = ih >= 0 && ih < h.in, hpad = ih >= -h.p0 && ih < h.in + h.p1;
          for (int64_t kj = 0; kj < w.k; kj++) {
            int64_t iw = ow * w.s - w.p0 + kj * w.d;
            int win = iw >= 0 && iw < w.in, wpad = iw >= -w.p0 && iw < w.in + w.p1;
            if (hpad && wpad) padded++;
            if (!hin || !win) continue;
            uint64_t v = x[(pl * h.in + ih) * w.in + iw];
            sum = tsoV_addmod(sum, v);
            sq = tsoV_addmod(sq, tsoV_mulmod(v, v));
            inside++;
          }
        }
        uint64_t r;
        if (is_max) {
          r = tsoV_addmod(sum, tsoV_mulmod(C_MAX, sq));
        } else {
          int64_t cnt = p->win.count_include_pad ? padded : inside;
          r = cnt > 0 ? tsoV_mulmod(sum, inv((uint64_t)cnt)) : 0;
        }
        y[(pl * h.out + oh) * w.out + ow] = r;
      }
}

static void enlarge(const uint64_t *x, const tsoO_Shape *sx, uint64_t *y, const tsoO_Shape *sy) {
  int64_t planes = sx->d[0] * sx->d[1], kh = sx->d[2], kw = sx->d[3], th = sy->d[2], tw = sy->d[3];
  int64_t oh = (th - kh) / 2, ow = (tw - kw) / 2;
  memset(y, 0, (size_t)(planes * th * tw) * sizeof *y);
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) y[(pl * th + i + oh) * tw + j + ow] = x[(pl * kh + i) * kw + j];
}

static void constant(int op, uint64_t *y, const tsoO_Shape *sy) {
  int64_t n = numel(sy);
  for (int64_t i = 0; i < n; i++) y[i] = op == TSO_OP_CONST_ONES ? 1 : 0;
  if (op == TSO_OP_CONST_IMATRIX) {
    for (int64_t i = 0; i < sy->d[0]; i++) y[i * sy->d[0] + i] = 1;
  } else if (op == TSO_OP_CONST_IKERNEL || op == TSO_OP_CONST_POOL) {
    int64_t c = sy->d[0], kh = sy->d[2], kw = sy->d[3];
    uint64_t avg = inv((uint64_t)(kh * kw));
    for (int64_t ch = 0; ch < c; ch++) {
      uint64_t *pl = y + (ch * c + ch) * kh * kw;
      if (op == TSO_OP_CONST_IKERNEL) pl[(kh / 2) * kw + kw / 2] = 1;
      else
        for (int64_t i = 0; i < kh * kw; i++) pl[i] = avg;
    }
  }
}

tso_status tsoV_mod_eval(int op, const tsoO_Params *p, int nin, const uint64_t *const *in, const tsoO_Shape *ish,
                         int nout, uint64_t *const *out, const tsoO_Shape *osh, char *err) {
  int64_t n = numel(&osh[0]);
  switch (op) {
  case TSO_OP_ADD: case TSO_OP_MUL:
    broadcast2(op, in[0], &ish[0], in[1], &ish[1], out[0], &osh[0]);
    return TSO_OK;
  case TSO_OP_SCALAR_MUL:
    for (int64_t i = 0; i < n; i++) out[0][i] = tsoV_mulmod(in[0][i], in[1][0]);
    return TSO_OK;
  case TSO_OP_RELU: case TSO_OP_SIGMOID: case TSO_OP_TANH:
    for (int64_t i = 0; i < n; i++)
      out[0][i] = op == TSO_OP_RELU ? relu_poly(in[0][i]) : op == TSO_OP_SIGMOID ? sig_poly(in[0][i]) : tanh_poly(in[0][i]);
    return TSO_OK;
  case TSO_OP_TRANSPOSE:
    transpose(p, in[0], &ish[0], out[0], &osh[0]);
    return TSO_OK;
  case TSO_OP_CONCAT: {
    int axis = p->axis.axis < 0 ? p->axis.axis + osh[0].rank : p->axis.axis;
    concat(axis, nin, in, ish, out[0], &osh[0]);
    return TSO_OK;
  }
  case TSO_OP_SPLIT: {
    if (nin != 1 || p->split.nsizes) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "split: sizes");
    int axis = p->split.axis < 0 ? p->split.axis + ish[0].rank : p->split.axis;
    split(axis, in[0], &ish[0], nout, out, osh);
    return TSO_OK;
  }
  case TSO_OP_MATMUL: return matmul(in[0], &ish[0], in[1], &ish[1], out[0], &osh[0], err);
  case TSO_OP_CONV2D: return conv(p, nin, in, ish, out[0], &osh[0]);
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL:
    if (nout != 1) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "pool: indices");
    pool(p, op == TSO_OP_MAXPOOL, in[0], &ish[0], out[0], &osh[0]);
    return TSO_OK;
  case TSO_OP_ENLARGE:
    enlarge(in[0], &ish[0], out[0], &osh[0]);
    return TSO_OK;
  case TSO_OP_CONST_IKERNEL: case TSO_OP_CONST_IMATRIX: case TSO_OP_CONST_ONES: case TSO_OP_CONST_POOL:
    constant(op, out[0], &osh[0]);
    return TSO_OK;
  default: {
    const tsoO_Info *oi = tsoO_info(op);
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "no exact kernel for %s", oi ? oi->name : "?");
  }
  }
}
