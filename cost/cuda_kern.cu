/*
** cuda_kern.cu -- the project's own CUDA kernels: element-wise operators
** with numpy broadcasting (and scalar multiply), layout conversions,
** transpose, concat, split, pad and enlarge, gather, 2-D pooling, mean
** reductions (ReduceMean, GlobalAveragePool), softmax, layer and batch
** normalization.
**
** An operator becomes a plan (KPlan): a few steps, each one kernel launch
** over an index space described by extents and explicit element strides
** (KGeo and friends), so that every layout of layouts/layouts.h and every
** broadcast is the same code. The per-element (or per-row, per-lane) code
** of each step is a __host__ __device__ function: the GPU kernels call it
** in grid-stride loops, tsoC_cuk_emulate calls it in plain loops, and the
** tests compare the emulation with the reference kernels on a machine
** without a GPU. What the emulation cannot show is the parallel part: the
** launch geometry and the warp reductions (__shfl_xor_sync), which are
** written once here and tested on a GPU (tests/test_gpu.c).
**
** Row operators (reductions, softmax, layer normalization) give one warp
** to a row: each lane accumulates a strided part, the warp combines the
** parts. Accumulation is in float (the reference kernels use double); the
** tests allow for that.
**
** Gather clamps an index outside the axis into it (the reference kernel
** refuses such an index; a kernel cannot fail, and must not read outside
** the tensor).
*/
#include <math.h>
#include <string.h>

#include "cost/cuda_impl.h"

#define THREADS 256
#define MAX_BLOCKS 65535

/* ---- index arithmetic (host and device) -------------------------------------- */

/* Offsets of linear index i of g in its three operands. */
static __host__ __device__ inline void geo_offsets(const KGeo &g, int64_t i, int64_t o[3]) {
  o[0] = o[1] = o[2] = 0;
  for (int d = g.rank - 1; d >= 0; d--) {
    int64_t q = i / g.dim[d], r = i - q * g.dim[d];
    i = q;
    o[0] += r * g.st[0][d];
    o[1] += r * g.st[1][d];
    o[2] += r * g.st[2][d];
  }
}

/* Offset of linear index j over extents dim[0..r) with strides st. */
static __host__ __device__ inline int64_t lin_offset(int64_t j, int r, const int64_t *dim, const int64_t *st) {
  int64_t off = 0;
  for (int d = r - 1; d >= 0; d--) {
    int64_t q = j / dim[d];
    off += (j - q * dim[d]) * st[d];
    j = q;
  }
  return off;
}

static __host__ __device__ inline float ew_value(int op, float x, float y) {
  switch (op) {
  case K_RELU: return x < 0.0f ? 0.0f : x; /* NaN passes through, as in the reference */
  case K_SIGMOID: return 1.0f / (1.0f + expf(-x));
  case K_TANH: return tanhf(x);
  case K_ERF: return erff(x);
  case K_SQRT: return sqrtf(x);
  case K_ADD: return x + y;
  case K_SUB: return x - y;
  case K_MUL: return x * y;
  case K_DIV: return x / y;
  default: return powf(x, y); /* K_POW */
  }
}

/* Element i of an element-wise step: y = f(a, b); K_BN: y = a * b[c] + b[c + C]. */
static __host__ __device__ inline void ew_body(const KGeo &g, int op, float *y, const float *a, const float *b,
                                               int64_t i) {
  int64_t o[3];
  geo_offsets(g, i, o);
  float x = a[o[1]];
  if (op == K_BN) y[o[0]] = x * b[o[2]] + b[o[2] + g.aux];
  else y[o[0]] = ew_value(op, x, op >= K_ADD ? b[o[2]] : 0.0f);
}

template <typename T>
static __host__ __device__ inline void copy_body(const KGeo &g, T *y, const T *a, int64_t i) {
  int64_t o[3];
  geo_offsets(g, i, o);
  y[o[0]] = a[o[1]];
}

static __host__ __device__ inline void pad_body(const KPad &p, float *y, const float *x, int64_t i) {
  int64_t yo = 0, xo = 0;
  int outside = 0;
  for (int d = p.rank - 1; d >= 0; d--) {
    int64_t q = i / p.odim[d], r = i - q * p.odim[d];
    i = q;
    yo += r * p.ost[d];
    int64_t j = r - p.beg[d], n = p.idim[d];
    if (j < 0 || j >= n) {
      if (p.mode == TSO_PADMODE_CONSTANT) outside = 1;
      else if (p.mode == TSO_PADMODE_EDGE) j = j < 0 ? 0 : n - 1;
      else j = j < 0 ? -j : 2 * (n - 1) - j; /* reflect */
    }
    if (!outside) xo += j * p.ist[d];
  }
  y[yo] = outside ? p.value : x[xo];
}

template <typename T>
static __host__ __device__ inline void gather_body(const KGather &g, T *y, const T *data, const void *idx,
                                                   int64_t i) {
  int64_t r = i % g.inner, t = i / g.inner, q = t % g.nidx, o = t / g.nidx;
  int64_t j = g.idx64 ? ((const int64_t *)idx)[q] : (int64_t)((const int32_t *)idx)[q];
  if (j < 0) j += g.d;
  j = j < 0 ? 0 : j >= g.d ? g.d - 1 : j;
  y[i] = data[(o * g.d + j) * g.inner + r];
}

/* Taps k in [0, n) of a window starting at `start` (dilation dil) whose
** position start + k*dil lies in [lo, hi): count. */
static __host__ __device__ inline int64_t taps_in(int64_t start, int64_t dil, int64_t n, int64_t lo, int64_t hi) {
  int64_t c = 0;
  for (int64_t k = 0; k < n; k++) {
    int64_t p = start + k * dil;
    c += p >= lo && p < hi;
  }
  return c;
}

static __host__ __device__ inline void pool_body(const KPool &p, float *y, const float *x, int64_t i) {
  int64_t ow = i % p.ow, t = i / p.ow, oh = t % p.oh;
  t /= p.oh;
  int64_t c = t % p.c, n = t / p.c;
  int64_t hs = oh * p.sh - p.pt, ws = ow * p.sw - p.pl;
  const float *xb = x + n * p.xs[0] + c * p.xs[1];
  float acc = p.is_max ? -INFINITY : 0.0f;
  for (int ki = 0; ki < p.kh; ki++) {
    int64_t hh = hs + (int64_t)ki * p.dh;
    if (hh < 0 || hh >= p.ih) continue;
    for (int kj = 0; kj < p.kw; kj++) {
      int64_t ww = ws + (int64_t)kj * p.dw;
      if (ww < 0 || ww >= p.iw) continue;
      float v = xb[hh * p.xs[2] + ww * p.xs[3]];
      if (p.is_max) acc = (v > acc || v != v) ? v : acc;
      else acc += v;
    }
  }
  if (!p.is_max) {
    int64_t cnt = p.incl ? taps_in(hs, p.dh, p.kh, -p.pt, p.ih + p.pb) * taps_in(ws, p.dw, p.kw, -p.pl, p.iw + p.pr)
                         : taps_in(hs, p.dh, p.kh, 0, p.ih) * taps_in(ws, p.dw, p.kw, 0, p.iw);
    acc = cnt > 0 ? acc / (float)cnt : 0.0f;
  }
  y[n * p.ys[0] + c * p.ys[1] + oh * p.ys[2] + ow * p.ys[3]] = acc;
}

/* Lane `lane` of `nl`: its part of the sum of output o's reduced elements. */
static __host__ __device__ inline float red_part(const KRed &r, const float *x, int64_t o, int lane, int nl) {
  const float *xb = x + lin_offset(o, r.ro, r.odim, r.ost);
  float s = 0.0f;
  for (int64_t j = lane; j < r.cnt; j += nl) s += xb[lin_offset(j, r.rr, r.rdim, r.rst)];
  return s;
}

/* Softmax row: first element and distance between elements. */
static __host__ __device__ inline void sm_row(const KRow &r, int64_t row, int64_t *base, int64_t *step) {
  int64_t o = row / r.inner, i = row - o * r.inner;
  *base = o * r.len * r.inner + i;
  *step = r.inner;
}

static __host__ __device__ inline float sm_part_max(const KRow &r, const float *x, int64_t row, int lane, int nl) {
  int64_t b, s;
  sm_row(r, row, &b, &s);
  float m = -INFINITY;
  for (int64_t j = lane; j < r.len; j += nl) {
    float v = x[b + j * s];
    m = v > m ? v : m;
  }
  return m;
}

static __host__ __device__ inline float sm_part_sum(const KRow &r, const float *x, int64_t row, float mx, int lane,
                                                    int nl) {
  int64_t b, s;
  sm_row(r, row, &b, &s);
  float sum = 0.0f;
  for (int64_t j = lane; j < r.len; j += nl) sum += expf(x[b + j * s] - mx);
  return sum;
}

static __host__ __device__ inline void sm_write(const KRow &r, float *y, const float *x, int64_t row, float mx,
                                                float sum, int lane, int nl) {
  int64_t b, s;
  sm_row(r, row, &b, &s);
  for (int64_t j = lane; j < r.len; j += nl) y[b + j * s] = expf(x[b + j * s] - mx) / sum;
}

static __host__ __device__ inline float ln_part_sum(const KRow &r, const float *x, int64_t row, float mean, int sq,
                                                    int lane, int nl) {
  const float *xb = x + row * r.len;
  float s = 0.0f;
  for (int64_t j = lane; j < r.len; j += nl) {
    float v = xb[j] - mean;
    s += sq ? v * v : xb[j];
  }
  return s;
}

static __host__ __device__ inline void ln_write(const KRow &r, float *y, const float *x, const float *sc,
                                                const float *bi, int64_t row, float mean, float inv, int lane,
                                                int nl) {
  const float *xb = x + row * r.len;
  float *yb = y + row * r.len;
  for (int64_t j = lane; j < r.len; j += nl) {
    int64_t so = r.contig ? j : lin_offset(j, r.trank, r.tdim, r.sst);
    float v = (xb[j] - mean) * inv * sc[so];
    if (r.has_bias) v += bi[r.contig ? j : lin_offset(j, r.trank, r.tdim, r.bst)];
    yb[j] = v;
  }
}

/* Channel c of a batch norm: prm[c] = scale / sqrt(var + eps), prm[C + c] =
** bias - mean * prm[c] (in double, as the reference). */
static __host__ __device__ inline void bnprep_body(const KRow &r, float *prm, const float *sc, const float *bi,
                                                   const float *mu, const float *var, int64_t c) {
  double mul = (double)sc[c] / sqrt((double)var[c] + (double)r.eps);
  prm[c] = (float)mul;
  prm[r.rows + c] = (float)((double)bi[c] - (double)mu[c] * mul);
}

/* ---- kernels ----------------------------------------------------------------------- */

#define GRID_LOOP(i, n) \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

static __global__ void k_ew(KGeo g, int op, float *y, const float *a, const float *b) {
  GRID_LOOP(i, g.n) ew_body(g, op, y, a, b, i);
}

template <typename T>
static __global__ void k_copy(KGeo g, T *y, const T *a) {
  GRID_LOOP(i, g.n) copy_body<T>(g, y, a, i);
}

static __global__ void k_pad(KPad p, float *y, const float *x) {
  GRID_LOOP(i, p.n) pad_body(p, y, x, i);
}

template <typename T>
static __global__ void k_gather(KGather g, T *y, const T *data, const void *idx) {
  GRID_LOOP(i, g.n) gather_body<T>(g, y, data, idx, i);
}

static __global__ void k_pool(KPool p, int64_t n, float *y, const float *x) {
  GRID_LOOP(i, n) pool_body(p, y, x, i);
}

static __global__ void k_bnprep(KRow r, float *prm, const float *sc, const float *bi, const float *mu,
                                const float *var) {
  GRID_LOOP(c, r.rows) bnprep_body(r, prm, sc, bi, mu, var, c);
}

static __device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

static __device__ inline float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/* One warp per row: the row index is the same for the 32 lanes, so the
** loop condition is warp-uniform and the shuffles see every lane. */
#define WARP_LOOP(row, rows)                                                                   \
  int lane = (int)(threadIdx.x & 31u);                                                         \
  for (int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; row < (rows);     \
       row += ((int64_t)gridDim.x * blockDim.x) >> 5)

static __global__ void k_reduce(KRed r, float *y, const float *x) {
  WARP_LOOP(o, r.nout) {
    float s = warp_sum(red_part(r, x, o, lane, 32));
    if (lane == 0) y[o] = s / (float)r.cnt;
  }
}

static __global__ void k_softmax(KRow r, float *y, const float *x) {
  WARP_LOOP(row, r.rows) {
    float mx = warp_max(sm_part_max(r, x, row, lane, 32));
    float sum = warp_sum(sm_part_sum(r, x, row, mx, lane, 32));
    sm_write(r, y, x, row, mx, sum, lane, 32);
  }
}

static __global__ void k_lnorm(KRow r, float *y, const float *x, const float *sc, const float *bi, float *mean_out,
                               float *inv_out) {
  WARP_LOOP(row, r.rows) {
    float mean = warp_sum(ln_part_sum(r, x, row, 0.0f, 0, lane, 32)) / (float)r.len;
    float var = warp_sum(ln_part_sum(r, x, row, mean, 1, lane, 32)) / (float)r.len;
    float inv = 1.0f / sqrtf(var + r.eps);
    ln_write(r, y, x, sc, bi, row, mean, inv, lane, 32);
    if (lane == 0 && mean_out) mean_out[row] = mean;
    if (lane == 0 && inv_out) inv_out[row] = inv;
  }
}

static __host__ __device__ inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static __global__ void k_fill(void *p, int64_t n, int dtype, int positive, int64_t range, uint64_t seed) {
  GRID_LOOP(i, n) {
    uint64_t z = mix64(seed + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1));
    if (dtype == TSO_DT_FLOAT) {
      float u = (float)((double)(z >> 11) * 0x1p-53);
      ((float *)p)[i] = positive ? 0.5f + u : 2.0f * u - 1.0f;
    } else if (dtype == TSO_DT_INT64) {
      ((int64_t *)p)[i] = range > 0 ? (int64_t)(z % (uint64_t)range) : 0;
    } else {
      ((int32_t *)p)[i] = range > 0 ? (int32_t)(z % (uint64_t)range) : 0;
    }
  }
}

static unsigned blocks_for(int64_t n) {
  int64_t b = (n + THREADS - 1) / THREADS;
  return (unsigned)(b < 1 ? 1 : b > MAX_BLOCKS ? MAX_BLOCKS : b);
}

/* Blocks for one warp per row. */
static unsigned warp_blocks(int64_t rows) { return blocks_for(rows * 32); }

cudaError_t tsoC_cuk_fill(void *p, int64_t n, int dtype, int positive, int64_t range, uint64_t seed,
                          cudaStream_t st) {
  if (n <= 0) return cudaSuccess;
  if (dtype != TSO_DT_FLOAT && dtype != TSO_DT_INT64 && dtype != TSO_DT_INT32)
    return cudaMemsetAsync(p, 0, (size_t)n * tsoO_dtype_size(dtype), st);
  k_fill<<<blocks_for(n), THREADS, 0, st>>>(p, n, dtype, positive, range, seed);
  return cudaGetLastError();
}

template <typename T>
static void launch_copy(const KGeo &g, void *y, const void *a, cudaStream_t st) {
  k_copy<T><<<blocks_for(g.n), THREADS, 0, st>>>(g, (T *)y, (const T *)a);
}

template <typename T>
static void launch_gather(const KGather &g, void *y, const void *d, const void *idx, cudaStream_t st) {
  k_gather<T><<<blocks_for(g.n), THREADS, 0, st>>>(g, (T *)y, (const T *)d, idx);
}

cudaError_t tsoC_cuk_launch(const KStep *s, void *const *p, cudaStream_t st) {
  const float *a = (const float *)p[1], *b = (const float *)p[2];
  float *y = (float *)p[0];
  switch (s->kind) {
  case KS_EW:
    if (s->u.g.n > 0) k_ew<<<blocks_for(s->u.g.n), THREADS, 0, st>>>(s->u.g, s->op, y, a, b);
    break;
  case KS_COPY:
    if (s->u.g.n <= 0) break;
    if (s->esize == 8) launch_copy<uint64_t>(s->u.g, p[0], p[1], st);
    else if (s->esize == 4) launch_copy<uint32_t>(s->u.g, p[0], p[1], st);
    else if (s->esize == 2) launch_copy<uint16_t>(s->u.g, p[0], p[1], st);
    else launch_copy<uint8_t>(s->u.g, p[0], p[1], st);
    break;
  case KS_PAD:
    if (s->u.pad.n > 0) k_pad<<<blocks_for(s->u.pad.n), THREADS, 0, st>>>(s->u.pad, y, a);
    break;
  case KS_GATHER:
    if (s->u.gat.n <= 0) break;
    if (s->esize == 8) launch_gather<uint64_t>(s->u.gat, p[0], p[1], p[2], st);
    else if (s->esize == 4) launch_gather<uint32_t>(s->u.gat, p[0], p[1], p[2], st);
    else if (s->esize == 2) launch_gather<uint16_t>(s->u.gat, p[0], p[1], p[2], st);
    else launch_gather<uint8_t>(s->u.gat, p[0], p[1], p[2], st);
    break;
  case KS_POOL: {
    const KPool &q = s->u.pool;
    int64_t n = q.n * q.c * q.oh * q.ow;
    if (n > 0) k_pool<<<blocks_for(n), THREADS, 0, st>>>(q, n, y, a);
    break;
  }
  case KS_REDUCE:
    if (s->u.red.nout > 0) k_reduce<<<warp_blocks(s->u.red.nout), THREADS, 0, st>>>(s->u.red, y, a);
    break;
  case KS_SOFTMAX:
    if (s->u.row.rows > 0) k_softmax<<<warp_blocks(s->u.row.rows), THREADS, 0, st>>>(s->u.row, y, a);
    break;
  case KS_LNORM:
    if (s->u.row.rows > 0)
      k_lnorm<<<warp_blocks(s->u.row.rows), THREADS, 0, st>>>(s->u.row, y, a, b, (const float *)p[3], (float *)p[4],
                                                              (float *)p[5]);
    break;
  case KS_BNPREP:
    if (s->u.row.rows > 0)
      k_bnprep<<<blocks_for(s->u.row.rows), THREADS, 0, st>>>(s->u.row, y, a, b, (const float *)p[3],
                                                             (const float *)p[4]);
    break;
  default:
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

/* ---- the host emulation -------------------------------------------------------- */

#define EMU_LANES 32 /* lanes of a warp, emulated one after the other */

template <typename T>
static void emu_copy(const KGeo &g, void *y, const void *a) {
  for (int64_t i = 0; i < g.n; i++) copy_body<T>(g, (T *)y, (const T *)a, i);
}

template <typename T>
static void emu_gather(const KGather &g, void *y, const void *d, const void *idx) {
  for (int64_t i = 0; i < g.n; i++) gather_body<T>(g, (T *)y, (const T *)d, idx, i);
}

void tsoC_cuk_emulate(const KStep *s, void *const *p) {
  const float *a = (const float *)p[1], *b = (const float *)p[2];
  float *y = (float *)p[0];
  switch (s->kind) {
  case KS_EW:
    for (int64_t i = 0; i < s->u.g.n; i++) ew_body(s->u.g, s->op, y, a, b, i);
    break;
  case KS_COPY:
    if (s->esize == 8) emu_copy<uint64_t>(s->u.g, p[0], p[1]);
    else if (s->esize == 4) emu_copy<uint32_t>(s->u.g, p[0], p[1]);
    else if (s->esize == 2) emu_copy<uint16_t>(s->u.g, p[0], p[1]);
    else emu_copy<uint8_t>(s->u.g, p[0], p[1]);
    break;
  case KS_PAD:
    for (int64_t i = 0; i < s->u.pad.n; i++) pad_body(s->u.pad, y, a, i);
    break;
  case KS_GATHER:
    if (s->esize == 8) emu_gather<uint64_t>(s->u.gat, p[0], p[1], p[2]);
    else if (s->esize == 4) emu_gather<uint32_t>(s->u.gat, p[0], p[1], p[2]);
    else if (s->esize == 2) emu_gather<uint16_t>(s->u.gat, p[0], p[1], p[2]);
    else emu_gather<uint8_t>(s->u.gat, p[0], p[1], p[2]);
    break;
  case KS_POOL: {
    const KPool &q = s->u.pool;
    for (int64_t i = 0, n = q.n * q.c * q.oh * q.ow; i < n; i++) pool_body(q, y, a, i);
    break;
  }
  case KS_REDUCE:
    for (int64_t o = 0; o < s->u.red.nout; o++) {
      float sum = 0.0f;
      for (int l = 0; l < EMU_LANES; l++) sum += red_part(s->u.red, a, o, l, EMU_LANES);
      y[o] = sum / (float)s->u.red.cnt;
    }
    break;
  case KS_SOFTMAX:
    for (int64_t r = 0; r < s->u.row.rows; r++) {
      float mx = -INFINITY, sum = 0.0f;
      for (int l = 0; l < EMU_LANES; l++) mx = fmaxf(mx, sm_part_max(s->u.row, a, r, l, EMU_LANES));
      for (int l = 0; l < EMU_LANES; l++) sum += sm_part_sum(s->u.row, a, r, mx, l, EMU_LANES);
      for (int l = 0; l < EMU_LANES; l++) sm_write(s->u.row, y, a, r, mx, sum, l, EMU_LANES);
    }
    break;
  case KS_LNORM:
    for (int64_t r = 0; r < s->u.row.rows; r++) {
      float mean = 0.0f, var = 0.0f;
      for (int l = 0; l < EMU_LANES; l++) mean += ln_part_sum(s->u.row, a, r, 0.0f, 0, l, EMU_LANES);
      mean /= (float)s->u.row.len;
      for (int l = 0; l < EMU_LANES; l++) var += ln_part_sum(s->u.row, a, r, mean, 1, l, EMU_LANES);
      var /= (float)s->u.row.len;
      float inv = 1.0f / sqrtf(var + s->u.row.eps);
      for (int l = 0; l < EMU_LANES; l++)
        ln_write(s->u.row, y, a, b, (const float *)p[3], r, mean, inv, l, EMU_LANES);
      if (p[4]) ((float *)p[4])[r] = mean;
      if (p[5]) ((float *)p[5])[r] = inv;
    }
    break;
  case KS_BNPREP:
    for (int64_t c = 0; c < s->u.row.rows; c++)
      bnprep_body(s->u.row, y, a, b, (const float *)p[3], (const float *)p[4], c);
    break;
  default:
    break;
  }
}

/* ---- plans ----------------------------------------------------------------------- */

static tso_status bad(char *err, const char *what) { return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", what); }

static KRef ref(int kind, int idx, int64_t off) {
  KRef r;
  r.kind = kind;
  r.idx = idx;
  r.off = off;
  return r;
}

static KStep *add_step(KPlan *p, int kind) {
  KStep *s = &p->s[p->n++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->esize = 4;
  return s;
}

/* Element strides of key tensor t in its layout. */
static int strides_of(const tsoC_Tensor *t, int64_t *st) {
  if (t->shape.rank == 0) return 0;
  return tsoL_strides(t->layout, t->shape.rank, t->shape.d, st);
}

/* Fills g for extents dim[0..r) and the strides of `nops` operands,
** dropping unit dims and merging adjacent dims every operand walks
** contiguously. */
static void geo_init(KGeo *g, int r, const int64_t *dim, int nops, const int64_t *const *st) {
  memset(g, 0, sizeof *g);
  g->n = 1;
  for (int d = 0; d < r; d++) g->n *= dim[d];
  int m = 0;
  for (int d = 0; d < r; d++) {
    if (dim[d] == 1) continue;
    if (m > 0) { /* merge with the previous kept dim when every operand allows */
      int ok = 1;
      for (int k = 0; k < nops; k++) ok &= g->st[k][m - 1] == st[k][d] * dim[d];
      if (ok) {
        g->dim[m - 1] *= dim[d];
        for (int k = 0; k < nops; k++) g->st[k][m - 1] = st[k][d];
        continue;
      }
    }
    g->dim[m] = dim[d];
    for (int k = 0; k < nops; k++) g->st[k][m] = st[k][d];
    m++;
  }
  if (m == 0) { /* a single element */
    g->dim[0] = 1;
    m = 1;
  }
  g->rank = m;
}

void tsoC_cuk_copy_step(KPlan *p, int esize, KRef dst, KRef src, int r, const int64_t *dims, const int64_t *dst_st,
                        const int64_t *src_st) {
  KStep *s = add_step(p, KS_COPY);
  s->esize = esize;
  s->r[0] = dst;
  s->r[1] = src;
  const int64_t *st[2] = {dst_st, src_st};
  geo_init(&s->u.g, r, dims, 2, st);
}

void tsoC_cuk_pad_step(KPlan *p, KRef y, KRef x, int r, const int64_t *idim, const int64_t *ist, const int64_t *odim,
                       const int64_t *ost, const int64_t *beg) {
  KStep *s = add_step(p, KS_PAD);
  KPad *q = &s->u.pad;
  s->r[0] = y;
  s->r[1] = x;
  q->rank = r;
  q->mode = TSO_PADMODE_CONSTANT;
  q->n = 1;
  for (int d = 0; d < r; d++) {
    q->odim[d] = odim[d];
    q->idim[d] = idim[d];
    q->ost[d] = ost[d];
    q->ist[d] = ist[d];
    q->beg[d] = beg[d];
    q->n *= odim[d];
  }
}

static int is_float(const tsoC_Tensor *t) { return t->dtype == TSO_DT_FLOAT; }

/* An element-wise operator with numpy broadcasting (unary: nin 1). */
static tso_status plan_ew(const tsoC_Key *k, KPlan *p, int op, char *err) {
  const tsoC_Tensor *y = &k->out[0];
  int r = y->shape.rank, nin = op >= K_ADD ? 2 : 1;
  int64_t sy[KR], sa[KR], sb[KR], own[KR];
  if (strides_of(y, sy)) return bad(err, "output layout");
  const int64_t *st[3] = {sy, sa, sb};
  for (int i = 0; i < nin; i++) {
    const tsoC_Tensor *t = &k->in[i];
    int64_t *s = i ? sb : sa;
    int tr = t->shape.rank;
    if (tr > r) return bad(err, "an input of higher rank than the output");
    if (strides_of(t, own)) return bad(err, "input layout");
    for (int d = 0; d < r; d++) {
      int j = d - (r - tr);
      int64_t dim = j >= 0 ? t->shape.d[j] : 1;
      if (dim != 1 && dim != y->shape.d[d]) return bad(err, "shapes do not broadcast");
      s[d] = j >= 0 && dim != 1 ? own[j] : 0;
    }
  }
  KStep *s = add_step(p, KS_EW);
  s->op = op;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  if (nin > 1) s->r[2] = ref(R_IN, 1, 0);
  geo_init(&s->u.g, r, y->shape.d, nin + 1, st);
  return TSO_OK;
}

/* A copy of input 0 to output 0 in their layouts, dimension by dimension
** through perm (NULL: identity): transpose, layout conversion, and the
** operators that move no data (run as a flat copy). */
static tso_status plan_copy(const tsoC_Key *k, KPlan *p, const int *perm, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = y->shape.rank;
  int64_t sx[KR], sy[KR], sxp[KR];
  size_t es = tsoO_dtype_size(x->dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8) return bad(err, "element size");
  if (x->dtype != y->dtype) return bad(err, "element types differ");
  if (!perm && x->shape.rank != r) { /* reshape & co: flat, default layouts */
    if (x->layout || y->layout) return bad(err, "a reshape between layouts");
    int64_t n = cu_numel(y), one = 1;
    tsoC_cuk_copy_step(p, (int)es, ref(R_OUT, 0, 0), ref(R_IN, 0, 0), 1, &n, &one, &one);
    return TSO_OK;
  }
  if (strides_of(x, sx) || strides_of(y, sy)) return bad(err, "layout");
  for (int d = 0; d < r; d++) sxp[d] = perm ? sx[perm[d]] : sx[d];
  tsoC_cuk_copy_step(p, (int)es, ref(R_OUT, 0, 0), ref(R_IN, 0, 0), r, y->shape.d, sy, sxp);
  return TSO_OK;
}

static int norm_axis(int a, int r) { return a < 0 ? a + r : a; }

static tso_status plan_concat(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *y = &k->out[0];
  int r = y->shape.rank, ax = norm_axis(k->p.axis.axis, r);
  int64_t sy[KR], sx[KR], at = 0;
  if (r < 1 || ax < 0 || ax >= r) return bad(err, "concat: bad axis");
  if (k->nin > CU_STEPS_MAX) return bad(err, "concat: too many inputs");
  size_t es = tsoO_dtype_size(y->dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8) return bad(err, "element size");
  if (strides_of(y, sy)) return bad(err, "layout");
  for (int i = 0; i < k->nin; i++) {
    const tsoC_Tensor *x = &k->in[i];
    if ((x->flags & TSOC_T_ABSENT) || x->dtype != y->dtype || x->shape.rank != r) return bad(err, "concat inputs");
    if (strides_of(x, sx)) return bad(err, "layout");
    if (cu_numel(x) > 0)
      tsoC_cuk_copy_step(p, (int)es, ref(R_OUT, 0, at * sy[ax]), ref(R_IN, i, 0), r, x->shape.d, sy, sx);
    at += x->shape.d[ax];
  }
  if (at != y->shape.d[ax]) return bad(err, "concat: sizes do not add up");
  return TSO_OK;
}

static tso_status plan_split(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0];
  int r = x->shape.rank, ax = norm_axis(k->p.split.axis, r);
  int64_t sx[KR], sy[KR], at = 0;
  if (r < 1 || ax < 0 || ax >= r) return bad(err, "split: bad axis");
  if (k->nout > CU_STEPS_MAX) return bad(err, "split: too many outputs");
  size_t es = tsoO_dtype_size(x->dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8) return bad(err, "element size");
  if (strides_of(x, sx)) return bad(err, "layout");
  for (int j = 0; j < k->nout; j++) {
    const tsoC_Tensor *y = &k->out[j];
    if (y->dtype != x->dtype || y->shape.rank != r) return bad(err, "split outputs");
    if (strides_of(y, sy)) return bad(err, "layout");
    if (cu_numel(y) > 0)
      tsoC_cuk_copy_step(p, (int)es, ref(R_OUT, j, 0), ref(R_IN, 0, at * sx[ax]), r, y->shape.d, sy, sx);
    at += y->shape.d[ax];
  }
  if (at != x->shape.d[ax]) return bad(err, "split: sizes do not add up");
  return TSO_OK;
}

static tso_status plan_pad(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank;
  int64_t sx[KR], sy[KR], beg[KR];
  if (!is_float(x)) return bad(err, "pad: float32 only");
  for (int i = 1; i < k->nin; i++)
    if (!(k->in[i].flags & TSOC_T_ABSENT)) return bad(err, "pad: pads or value given as inputs");
  if (k->p.pad.npads != 2 * r || r < 1) return bad(err, "pad: pads");
  if (strides_of(x, sx) || strides_of(y, sy)) return bad(err, "layout");
  for (int d = 0; d < r; d++) beg[d] = k->p.pad.pads[d];
  tsoC_cuk_pad_step(p, ref(R_OUT, 0, 0), ref(R_IN, 0, 0), r, x->shape.d, sx, y->shape.d, sy, beg);
  KPad *q = &p->s[p->n - 1].u.pad;
  q->mode = k->p.pad.mode;
  q->value = k->p.pad.value;
  return TSO_OK;
}

static tso_status plan_enlarge(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int64_t sx[KR], sy[KR], beg[4] = {0, 0, 0, 0};
  if (x->shape.rank != 4 || !is_float(x)) return bad(err, "enlarge: 4-D float32");
  if (strides_of(x, sx) || strides_of(y, sy)) return bad(err, "layout");
  beg[2] = (y->shape.d[2] - x->shape.d[2]) / 2;
  beg[3] = (y->shape.d[3] - x->shape.d[3]) / 2;
  tsoC_cuk_pad_step(p, ref(R_OUT, 0, 0), ref(R_IN, 0, 0), 4, x->shape.d, sx, y->shape.d, sy, beg);
  return TSO_OK;
}

static tso_status plan_gather(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *q = &k->in[1], *y = &k->out[0];
  int r = x->shape.rank, ax = norm_axis(k->p.axis.axis, r);
  if (r < 1 || ax < 0 || ax >= r) return bad(err, "gather: bad axis");
  if (q->dtype != TSO_DT_INT64 && q->dtype != TSO_DT_INT32) return bad(err, "gather: indices type");
  if (x->layout || q->layout || y->layout) return bad(err, "gather: default layouts only");
  size_t es = tsoO_dtype_size(x->dtype);
  if (es != 1 && es != 2 && es != 4 && es != 8) return bad(err, "element size");
  KStep *s = add_step(p, KS_GATHER);
  s->esize = (int)es;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  s->r[2] = ref(R_IN, 1, 0);
  KGather *g = &s->u.gat;
  g->inner = 1;
  for (int d = ax + 1; d < r; d++) g->inner *= x->shape.d[d];
  g->d = x->shape.d[ax];
  g->nidx = cu_numel(q);
  g->n = cu_numel(y);
  g->idx64 = q->dtype == TSO_DT_INT64;
  if (g->d < 1 || g->inner < 1 || g->nidx < 1) { /* nothing to read: an empty output */
    if (g->n != 0) return bad(err, "gather: shapes");
    p->n--;
  }
  return TSO_OK;
}

static tso_status plan_pool(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int64_t sx[KR], sy[KR], pads[4];
  if (x->shape.rank != 4 || y->shape.rank != 4) return bad(err, "pooling: 4-D only");
  if (k->nout != 1) return bad(err, "pooling: one output");
  if (strides_of(x, sx) || strides_of(y, sy)) return bad(err, "layout");
  KStep *s = add_step(p, KS_POOL);
  KPool *q = &s->u.pool;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  q->n = x->shape.d[0];
  q->c = x->shape.d[1];
  q->ih = x->shape.d[2];
  q->iw = x->shape.d[3];
  q->oh = y->shape.d[2];
  q->ow = y->shape.d[3];
  q->kh = k->p.win.kh;
  q->kw = k->p.win.kw;
  q->sh = k->p.win.sh;
  q->sw = k->p.win.sw;
  q->dh = k->p.win.dh > 0 ? k->p.win.dh : 1;
  q->dw = k->p.win.dw > 0 ? k->p.win.dw : 1;
  tsoC_win_pads(&k->p, q->ih, q->iw, q->kh, q->kw, pads);
  q->pt = (int)pads[0];
  q->pl = (int)pads[1];
  q->pb = (int)pads[2];
  q->pr = (int)pads[3];
  q->is_max = k->op == TSO_OP_MAXPOOL;
  q->incl = k->p.win.count_include_pad != 0;
  for (int d = 0; d < 4; d++) {
    q->xs[d] = sx[d];
    q->ys[d] = sy[d];
  }
  if (q->kh < 1 || q->kw < 1 || q->sh < 1 || q->sw < 1) return bad(err, "pooling: window");
  return TSO_OK;
}

/* Mean over the dims red[] of input 0 (any layout), into a dense output. */
static tso_status plan_mean(const tsoC_Key *k, KPlan *p, const int *red, char *err) {
  const tsoC_Tensor *x = &k->in[0];
  int r = x->shape.rank;
  int64_t sx[KR];
  if (strides_of(x, sx)) return bad(err, "layout");
  KStep *s = add_step(p, KS_REDUCE);
  KRed *q = &s->u.red;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  q->nout = q->cnt = 1;
  for (int d = 0; d < r; d++) {
    if (red[d]) {
      q->rdim[q->rr] = x->shape.d[d];
      q->rst[q->rr++] = sx[d];
      q->cnt *= x->shape.d[d];
    } else {
      q->odim[q->ro] = x->shape.d[d];
      q->ost[q->ro++] = sx[d];
      q->nout *= x->shape.d[d];
    }
  }
  if (q->cnt < 1) return bad(err, "a mean over nothing");
  if (q->nout != cu_numel(&k->out[0])) return bad(err, "reduction: output shape");
  return TSO_OK;
}

static tso_status plan_reducemean(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank, red[KR] = {0};
  if (x->layout || y->layout) return bad(err, "reducemean: default layouts only");
  if (k->p.axes.naxes > 0) {
    for (int i = 0; i < k->p.axes.naxes && i < KR; i++) {
      int a = norm_axis(k->p.axes.axes[i], r);
      if (a < 0 || a >= r) return bad(err, "reducemean: bad axis");
      red[a] = 1;
    }
  } else if (k->nin > 1 && !(k->in[1].flags & TSOC_T_ABSENT)) {
    if (!k->p.axes.keepdims || y->shape.rank != r) return bad(err, "reducemean: axes given as an input");
    for (int i = 0; i < r; i++) red[i] = y->shape.d[i] == 1 && x->shape.d[i] != 1;
  } else if (k->p.axes.noop_empty) {
    return bad(err, "reducemean: no-op form");
  } else {
    for (int i = 0; i < r; i++) red[i] = 1;
  }
  return plan_mean(k, p, red, err);
}

static tso_status plan_softmax(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank, ax = norm_axis(k->p.axis.axis, r);
  if (r < 1 || ax < 0 || ax >= r) return bad(err, "softmax: bad axis");
  if (x->layout || y->layout) return bad(err, "softmax: default layout only");
  KStep *s = add_step(p, KS_SOFTMAX);
  KRow *q = &s->u.row;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  int64_t outer = 1, len = 1, inner = 1;
  for (int d = 0; d < r; d++) {
    if (d < ax) outer *= x->shape.d[d];
    else if (d == ax || k->p.axis.legacy) len *= x->shape.d[d];
    else inner *= x->shape.d[d];
  }
  q->len = len;
  q->inner = inner;
  q->rows = outer * inner;
  if (len < 1) p->n--; /* empty */
  return TSO_OK;
}

static tso_status plan_lnorm(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *sc = &k->in[1];
  const tsoC_Tensor *b = k->nin > 2 && !(k->in[2].flags & TSOC_T_ABSENT) ? &k->in[2] : NULL;
  int r = x->shape.rank, ax = norm_axis(k->p.norm.axis, r);
  if (r < 1 || ax < 0 || ax >= r) return bad(err, "layernorm: bad axis");
  for (int i = 0; i < k->nin; i++)
    if (k->in[i].layout) return bad(err, "layernorm: default layouts only");
  for (int j = 0; j < k->nout; j++)
    if (k->out[j].layout) return bad(err, "layernorm: default layouts only");
  KStep *s = add_step(p, KS_LNORM);
  KRow *q = &s->u.row;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  s->r[2] = ref(R_IN, 1, 0);
  if (b) s->r[3] = ref(R_IN, 2, 0);
  if (k->nout > 1) s->r[4] = ref(R_OUT, 1, 0);
  if (k->nout > 2) s->r[5] = ref(R_OUT, 2, 0);
  q->eps = k->p.norm.epsilon;
  q->has_bias = b != NULL;
  q->rows = q->len = 1;
  for (int d = 0; d < r; d++) {
    if (d < ax) q->rows *= x->shape.d[d];
    else q->len *= x->shape.d[d];
  }
  q->trank = r - ax;
  for (int d = ax; d < r; d++) q->tdim[d - ax] = x->shape.d[d];
  /* scale and bias broadcast to x: they must not vary along the rows */
  q->contig = 1;
  for (int w = 0; w < (b ? 2 : 1); w++) {
    const tsoC_Tensor *t = w ? b : sc;
    int64_t *st = w ? q->bst : q->sst, acc = 1;
    int tr = t->shape.rank;
    if (tr > r) return bad(err, "layernorm: scale rank");
    for (int d = r - 1; d >= 0; d--) {
      int j = d - (r - tr);
      int64_t dim = j >= 0 ? t->shape.d[j] : 1;
      if (dim != 1 && dim != x->shape.d[d]) return bad(err, "layernorm: scale does not broadcast");
      int64_t sd = dim == 1 ? 0 : acc;
      acc *= dim;
      if (d < ax) {
        if (sd) return bad(err, "layernorm: scale varies along the rows");
      } else {
        st[d - ax] = sd;
      }
    }
    if (acc != q->len) q->contig = 0;
  }
  if (q->rows < 1 || q->len < 1) p->n--; /* empty */
  return TSO_OK;
}

static tso_status plan_bnorm(const tsoC_Key *k, KPlan *p, char *err) {
  const tsoC_Tensor *x = &k->in[0], *y = &k->out[0];
  int r = x->shape.rank;
  int64_t sx[KR], sy[KR], sc[KR];
  if (r < 2) return bad(err, "batchnorm: rank >= 2");
  for (int i = 1; i < 5; i++)
    if (k->in[i].shape.rank != 1 || k->in[i].shape.d[0] != x->shape.d[1]) return bad(err, "batchnorm statistics");
  if (strides_of(x, sx) || strides_of(y, sy)) return bad(err, "layout");
  int64_t c = x->shape.d[1];
  KStep *s = add_step(p, KS_BNPREP);
  s->r[0] = ref(R_SCR, 0, 0);
  for (int i = 1; i < 5; i++) s->r[i] = ref(R_IN, i, 0);
  s->u.row.rows = c;
  s->u.row.eps = k->p.norm.epsilon;
  for (int d = 0; d < r; d++) sc[d] = d == 1 ? 1 : 0;
  s = add_step(p, KS_EW);
  s->op = K_BN;
  s->r[0] = ref(R_OUT, 0, 0);
  s->r[1] = ref(R_IN, 0, 0);
  s->r[2] = ref(R_SCR, 0, 0);
  const int64_t *st[3] = {sy, sx, sc};
  geo_init(&s->u.g, r, x->shape.d, 3, st);
  s->u.g.aux = c;
  p->scratch = (size_t)(2 * c) * sizeof(float);
  return TSO_OK;
}

tso_status tsoC_cuk_plan(const tsoC_Key *k, KPlan *p, char *err) {
  memset(p, 0, sizeof *p);
  if (k->nout < 1) return bad(err, "no outputs");
  int compute = 1; /* float32 arithmetic (else: data movement, any element type) */
  switch (k->op) {
  case TSO_OP_TRANSPOSE: case TSO_OP_CONCAT: case TSO_OP_SPLIT: case TSO_OP_GATHER: case TSO_OP_IDENTITY:
  case TSO_OP_RESHAPE: case TSO_OP_FLATTEN: case TSO_OP_SQUEEZE: case TSO_OP_UNSQUEEZE: case TSO_OP_DROPOUT:
    compute = 0;
    break;
  default:
    break;
  }
  if (compute) {
    int n = k->op == TSO_OP_REDUCEMEAN || k->op == TSO_OP_PAD ? 1 : k->nin; /* (axes, pads: int64) */
    for (int i = 0; i < n; i++)
      if (!(k->in[i].flags & TSOC_T_ABSENT) && !is_float(&k->in[i]))
        return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "element type %s (float32 only)", tsoO_dtype_name(k->in[i].dtype));
    for (int j = 0; j < k->nout; j++)
      if (!is_float(&k->out[j]))
        return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "element type %s (float32 only)",
                         tsoO_dtype_name(k->out[j].dtype));
  }
  switch (k->op) {
  case TSO_OP_RELU: return plan_ew(k, p, K_RELU, err);
  case TSO_OP_SIGMOID: return plan_ew(k, p, K_SIGMOID, err);
  case TSO_OP_TANH: return plan_ew(k, p, K_TANH, err);
  case TSO_OP_ERF: return plan_ew(k, p, K_ERF, err);
  case TSO_OP_SQRT: return plan_ew(k, p, K_SQRT, err);
  case TSO_OP_ADD: case TSO_OP_SUB: case TSO_OP_MUL: case TSO_OP_DIV: case TSO_OP_POW: case TSO_OP_SCALAR_MUL:
    if (k->p.axis.legacy) return bad(err, "opset < 7 broadcasting");
    return plan_ew(k, p,
                   k->op == TSO_OP_ADD ? K_ADD
                   : k->op == TSO_OP_SUB ? K_SUB
                   : k->op == TSO_OP_DIV ? K_DIV
                   : k->op == TSO_OP_POW ? K_POW
                                         : K_MUL,
                   err);
  case TSO_OP_TRANSPOSE: {
    int r = k->in[0].shape.rank, perm[KR];
    if (k->p.transpose.n != 0 && k->p.transpose.n != r) return bad(err, "transpose: bad perm");
    for (int i = 0; i < r; i++) {
      perm[i] = k->p.transpose.n ? k->p.transpose.perm[i] : r - 1 - i;
      if (perm[i] < 0 || perm[i] >= r) return bad(err, "transpose: bad perm");
    }
    return plan_copy(k, p, perm, err);
  }
  case TSO_OP_IDENTITY:
    return plan_copy(k, p, NULL, err);
  case TSO_OP_RESHAPE: case TSO_OP_FLATTEN: case TSO_OP_SQUEEZE: case TSO_OP_UNSQUEEZE:
    if (k->in[0].layout || k->out[0].layout) return bad(err, "a reshape between layouts");
    return plan_copy(k, p, NULL, err);
  case TSO_OP_DROPOUT:
    if (k->nout != 1) return bad(err, "dropout: the mask output");
    return plan_copy(k, p, NULL, err);
  case TSO_OP_CONCAT: return plan_concat(k, p, err);
  case TSO_OP_SPLIT: return plan_split(k, p, err);
  case TSO_OP_PAD: return plan_pad(k, p, err);
  case TSO_OP_ENLARGE: return plan_enlarge(k, p, err);
  case TSO_OP_GATHER: return plan_gather(k, p, err);
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: return plan_pool(k, p, err);
  case TSO_OP_GLOBALAVGPOOL: {
    int red[KR] = {0};
    if (k->in[0].shape.rank < 3) return bad(err, "global pooling: rank >= 3");
    for (int d = 2; d < k->in[0].shape.rank; d++) red[d] = 1;
    if (k->out[0].layout && k->in[0].shape.rank != 4) return bad(err, "layout");
    return plan_mean(k, p, red, err);
  }
  case TSO_OP_REDUCEMEAN: return plan_reducemean(k, p, err);
  case TSO_OP_SOFTMAX: return plan_softmax(k, p, err);
  case TSO_OP_LAYERNORM: return plan_lnorm(k, p, err);
  case TSO_OP_BATCHNORM: return plan_bnorm(k, p, err);
  default: {
    const tsoO_Info *oi = tsoO_info(k->op);
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "no kernel for %s", oi ? oi->name : "?");
  }
  }
}
