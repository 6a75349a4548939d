/*
** test_cost.c -- tests of the cost model (cost/): keys and signatures, the
** analytic model against hand-computed FLOPs and bytes, the estimator,
** oneDNN measurements and their numerical agreement with the reference
** kernels (the primitive that is timed computes the operator), the cost
** database (round trip, device/version isolation, two concurrent writer
** processes, a writer killed mid-transaction), and graph costs.
**
** Invariant: every check prints what failed; the program returns 0 only
** when all checks passed. Random data use a fixed seed, printed. The
** oneDNN parts are skipped (and said so) in a build without oneDNN.
*/
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cost/cost.h"

static int nfail, ncheck;
static char err[TSO_ERRMAX];

#include "check.h"

static char tmpdir[256];

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static float frand(void) { /* [-1, 1) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((double)(rng_state >> 11) * 0x1p-52 - 1.0);
}

static void set_shape(tsoC_Tensor *t, int rank, const int64_t *d) {
  t->dtype = TSO_DT_FLOAT;
  t->shape.rank = rank;
  for (int i = 0; i < rank; i++) t->shape.d[i] = d[i];
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* A conv key: x [n,c,h,w], w [m, c/g, k, k], optional bias, stride s, pad p. */
static void conv_key(tsoC_Key *k, int64_t n, int64_t c, int64_t h, int64_t m, int64_t ks, int s, int p, int g,
                     int bias, int relu) {
  memset(k, 0, sizeof *k);
  k->op = TSO_OP_CONV2D;
  k->nin = bias ? 3 : 2;
  k->p.win.kh = k->p.win.kw = (int32_t)ks;
  k->p.win.sh = k->p.win.sw = s;
  k->p.win.dh = k->p.win.dw = 1;
  k->p.win.pt = k->p.win.pl = k->p.win.pb = k->p.win.pr = p;
  k->p.win.group = g;
  k->p.win.act = relu ? TSO_ACT_RELU : TSO_ACT_NONE;
  set_shape(&k->in[0], 4, D(n, c, h, h));
  set_shape(&k->in[1], 4, D(m, c / g, ks, ks));
  k->in[1].flags = TSOC_T_CONST;
  if (bias) {
    set_shape(&k->in[2], 1, D(m));
    k->in[2].flags = TSOC_T_CONST;
  }
  if (tsoC_key_infer(k, err) != TSO_OK) printf("conv_key: %s\n", err);
}

static void unary_key(tsoC_Key *k, int op, int rank, const int64_t *d) {
  memset(k, 0, sizeof *k);
  k->op = op;
  k->nin = 1;
  set_shape(&k->in[0], rank, d);
  if (tsoC_key_infer(k, err) != TSO_OK) printf("unary_key: %s\n", err);
}

static void binary_key(tsoC_Key *k, int op, int ra, const int64_t *a, int rb, const int64_t *b) {
  memset(k, 0, sizeof *k);
  k->op = op;
  k->nin = 2;
  set_shape(&k->in[0], ra, a);
  set_shape(&k->in[1], rb, b);
  if (tsoC_key_infer(k, err) != TSO_OK) printf("binary_key: %s\n", err);
}

static int64_t numel(const tsoC_Tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->shape.rank; i++) n *= t->shape.d[i];
  return n;
}

/* Copies between the logical (row-major) order and t's physical layout. */
static void relayout(const tsoC_Tensor *t, const float *src, float *dst, int to_logical) {
  int64_t st[TSO_MAX_RANK], idx[TSO_MAX_RANK] = {0}, n = numel(t);
  int r = t->shape.rank;
  tsoL_strides(t->layout, r, t->shape.d, st);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int j = 0; j < r; j++) off += idx[j] * st[j];
    if (to_logical) dst[i] = src[off];
    else dst[off] = src[i];
    for (int j = r - 1; j >= 0; j--) {
      if (++idx[j] < t->shape.d[j]) break;
      idx[j] = 0;
    }
  }
}

/* Runs k once on the backend and with the reference kernel on the same
** random data; 1 if every output agrees within 1e-4 (relative to
** max(1, |reference|)). */
static int agrees(tsoC_Backend *be, const tsoC_Key *k, const char *what) {
  const tsoO_Info *oi = tsoO_info(k->op);
  float *phys_in[TSOC_MAX_IN] = {0}, *log_in[TSOC_MAX_IN] = {0}, *phys_out[TSOC_MAX_OUT] = {0};
  float *ref_out[TSOC_MAX_OUT] = {0}, *got[TSOC_MAX_OUT] = {0};
  tsoO_Value in[TSOC_MAX_IN], out[TSOC_MAX_OUT];
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  int ok = 1;
  for (int i = 0; i < k->nin; i++) {
    const tsoC_Tensor *t = &k->in[i];
    if (t->flags & TSOC_T_ABSENT) continue;
    int64_t n = numel(t);
    int positive = (k->op == TSO_OP_BATCHNORM && i == 4) || k->op == TSO_OP_SQRT || (k->op == TSO_OP_DIV && i == 1);
    log_in[i] = malloc((size_t)n * sizeof(float));
    phys_in[i] = malloc((size_t)n * sizeof(float));
    for (int64_t j = 0; j < n; j++) log_in[i][j] = positive ? 0.5f + 0.5f * (frand() + 1.0f) : frand();
    relayout(t, log_in[i], phys_in[i], 0);
    in[i].dtype = t->dtype;
    in[i].shape = t->shape;
    in[i].data = log_in[i];
  }
  for (int j = 0; j < k->nout; j++) {
    int64_t n = numel(&k->out[j]);
    ref_out[j] = calloc((size_t)n, sizeof(float));
    phys_out[j] = calloc((size_t)n, sizeof(float));
    got[j] = calloc((size_t)n, sizeof(float));
    out[j].dtype = k->out[j].dtype;
    out[j].shape = k->out[j].shape;
    out[j].data = ref_out[j];
  }
  char e1[TSO_ERRMAX] = "", e2[TSO_ERRMAX] = "";
  tso_status s1 = oi->eval(&k->p, k->nin, in, k->nout, out, e1);
  tso_status s2 = tsoC_backend_run(be, k, (const void *const *)phys_in, (void *const *)phys_out, e2);
  if (s1 != TSO_OK || s2 != TSO_OK) {
    printf("FAIL %s: reference %s, backend %s\n", what, e1, e2);
    ok = 0;
  }
  double worst = 0.0;
  for (int j = 0; ok && j < k->nout; j++) {
    int64_t n = numel(&k->out[j]);
    relayout(&k->out[j], phys_out[j], got[j], 1);
    for (int64_t i = 0; i < n; i++) {
      double d = fabs((double)got[j][i] - (double)ref_out[j][i]) / fmax(1.0, fabs((double)ref_out[j][i]));
      if (!(d <= worst)) worst = d;
    }
  }
  if (ok && !(worst <= 1e-4)) {
    printf("FAIL %s: oneDNN and the reference kernel differ by %g\n", what, worst);
    ok = 0;
  }
  for (int i = 0; i < TSOC_MAX_IN; i++) {
    free(phys_in[i]);
    free(log_in[i]);
  }
  for (int j = 0; j < TSOC_MAX_OUT; j++) {
    free(phys_out[j]);
    free(ref_out[j]);
    free(got[j]);
  }
  return ok;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

/* ---- keys and signatures ----------------------------------------------------------- */

static void test_keys(void) {
  tsoC_Key a, b;
  tsoC_Sig sa, sb;
  char text[TSOC_TEXT_MAX];
  conv_key(&a, 1, 64, 56, 64, 3, 1, 1, 1, 0, 0);
  CHECK(a.out[0].shape.rank == 4 && a.out[0].shape.d[2] == 56, "conv key output shape");
  CHECK(tsoC_key_sig(&a, &sa) == TSO_OK && tsoC_key_sig(&a, &sb) == TSO_OK, "signature");
  CHECK(sa.n == sb.n && sa.hash == sb.hash && !memcmp(sa.b, sb.b, sa.n), "same key, same signature");
  /* pinned: the database relies on signatures staying the same across
  ** versions; change TSOC_SIG_VERSION (and this value) deliberately */
  CHECK(sa.hash == 0x24da314d21a778b3ull && sa.n == 158, "pinned signature changed: %016llx, %u bytes",
        (unsigned long long)sa.hash, sa.n);
  printf("test_cost: conv signature %u bytes, hash %016llx\n", sa.n, (unsigned long long)sa.hash);
  tsoC_key_text(&a, text, sizeof text);
  CHECK(!strcmp(text, "conv2d k3x3 s1 p1 g1 in 1x64x56x56 w 64x64x3x3(c) NCHW f32"), "text: %s", text);
  /* every field that changes the run time changes the signature */
  uint64_t seen[16];
  int nseen = 0;
  seen[nseen++] = sa.hash;
  for (int v = 0; v < 8; v++) {
    b = a;
    switch (v) {
    case 0: b.p.win.sh = b.p.win.sw = 2; tsoC_key_infer(&b, err); break;
    case 1: b.in[0].shape.d[1] = 32; b.in[1].shape.d[1] = 32; break;
    case 2: b.in[0].layout = b.out[0].layout = TSO_LAYOUT_NHWC; break;
    case 3: b.in[1].flags = 0; break;
    case 4: b.p.win.act = TSO_ACT_RELU; break;
    case 5: b.p.win.pad_mode = TSO_PAD_SAME_UPPER; b.p.win.pt = b.p.win.pl = b.p.win.pb = b.p.win.pr = 0; break;
    case 6: b.in[0].dtype = b.out[0].dtype = TSO_DT_DOUBLE; break;
    case 7: b.nin = 3; set_shape(&b.in[2], 1, D(64)); break;
    }
    CHECK(tsoC_key_sig(&b, &sb) == TSO_OK, "variant %d signature", v);
    for (int j = 0; j < nseen; j++) CHECK(sb.hash != seen[j], "variant %d collides with %d", v, j);
    seen[nseen++] = sb.hash;
  }
  /* a malformed key is refused */
  b = a;
  b.in[0].layout = TSO_LAYOUT_COLMAJOR + 5;
  CHECK(tsoC_key_sig(&b, &sb) == TSO_ERR_ARG, "bad layout refused");
  b = a;
  b.in[0].layout = TSO_LAYOUT_NHWC;
  b.in[0].shape.rank = 3;
  CHECK(tsoC_key_sig(&b, &sb) == TSO_ERR_ARG, "NHWC on a 3-D tensor refused");

  /* keys from graph nodes: two identical convs share a signature; names do not matter */
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape xs = {4, {1, 8, 10, 10}}, ws = {4, {8, 8, 3, 3}};
  float wdata[8 * 8 * 9] = {0};
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &xs);
  int32_t w1 = tsoI_add_const(g, "w1", TSO_DT_FLOAT, &ws, wdata, sizeof wdata, 1);
  int32_t w2 = tsoI_add_const(g, "w2", TSO_DT_FLOAT, &ws, wdata, sizeof wdata, 1);
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = p.win.group = 1;
  p.win.pt = p.win.pl = p.win.pb = p.win.pr = 1;
  int32_t in1[2] = {x, w1}, y1, y2;
  tsoI_add_op(g, TSO_OP_CONV2D, &p, in1, 2, 1, &y1);
  int32_t in2[2] = {y1, w2};
  tsoI_add_op(g, TSO_OP_CONV2D, &p, in2, 2, 1, &y2);
  tsoI_mark_output(g, y2);
  CHECK(tsoI_infer(g) == TSO_OK, "infer: %s", g->err);
  CHECK(tsoC_key_from_node(g, 0, NULL, &a, err) == TSO_OK && tsoC_key_from_node(g, 1, NULL, &b, err) == TSO_OK,
        "keys from nodes");
  tsoC_key_sig(&a, &sa);
  tsoC_key_sig(&b, &sb);
  CHECK(sa.hash == sb.hash && sa.n == sb.n && !memcmp(sa.b, sb.b, sa.n), "identical nodes, one signature");
  CHECK(a.in[1].flags == TSOC_T_CONST && a.in[0].flags == 0, "weights are constants, activations are not");
  int32_t lay[16] = {0};
  lay[x] = TSO_LAYOUT_NHWC;
  CHECK(tsoC_key_from_node(g, 0, lay, &b, err) == TSO_OK && b.in[0].layout == TSO_LAYOUT_NHWC, "layouts from a map");
  tsoC_key_sig(&b, &sb);
  CHECK(sb.hash != sa.hash, "a layout changes the signature");
  tsoI_free(g);

  /* free operators and conversions */
  tsoC_Key r;
  memset(&r, 0, sizeof r);
  r.op = TSO_OP_RESHAPE;
  r.nin = 2;
  set_shape(&r.in[0], 2, D(4, 6));
  r.in[1].dtype = TSO_DT_INT64;
  r.in[1].shape.rank = 1;
  r.in[1].shape.d[0] = 1;
  r.in[1].flags = TSOC_T_CONST;
  r.nout = 1;
  set_shape(&r.out[0], 1, D(24));
  CHECK(tsoC_key_is_free(&r), "reshape is free");
  tsoO_Shape s4 = {4, {1, 16, 8, 8}};
  tsoC_key_conversion(&r, &s4, TSO_DT_FLOAT, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_NHWC);
  CHECK(!tsoC_key_is_free(&r), "a layout conversion is not free");
  tsoC_key_text(&r, text, sizeof text);
  CHECK(!strcmp(text, "identity in 1x16x8x8 default->nhwc f32"), "conversion text: %s", text);
}

/* ---- the analytic model -------------------------------------------------------------- */

static void test_analytic(void) {
  tsoC_Roofline rf = {100.0, 10.0, 1.0}; /* 100 GFLOP/s, 10 GB/s, 1 us */
  tsoC_Backend *an = tsoC_analytic_create(&rf);
  tsoC_Key k;
  tsoC_Entry e;
  double f, b;
  /* conv 1x64x56x56 * 64x64x3x3, pad 1: 2 * 64*56*56 outputs * 64*9 taps */
  conv_key(&k, 1, 64, 56, 64, 3, 1, 1, 1, 0, 0);
  tsoC_analytic_counts(&k, &f, &b);
  CHECK(f == 2.0 * 64 * 56 * 56 * 64 * 9, "conv flops %g", f);
  CHECK(b == 4.0 * (64 * 56 * 56 * 2 + 64 * 64 * 9), "conv bytes %g", b);
  CHECK(tsoC_backend_measure(an, &k, &e, err) == TSO_OK, "analytic conv");
  CHECK(rel(e.ms, f / 100e9 * 1e3 + 1e-3) < 1e-12, "conv time %g (compute-bound)", e.ms);
  /* bias and fused relu: one more each per output */
  conv_key(&k, 1, 64, 56, 64, 3, 1, 1, 1, 1, 1);
  tsoC_analytic_counts(&k, &f, &b);
  CHECK(f == 2.0 * 64 * 56 * 56 * 64 * 9 + 2.0 * 64 * 56 * 56, "conv+bias+relu flops %g", f);
  /* relu: memory-bound, 2 x 4 bytes per element */
  int64_t rd[4] = {1, 64, 112, 112};
  unary_key(&k, TSO_OP_RELU, 4, rd);
  tsoC_analytic_counts(&k, &f, &b);
  CHECK(f == 64.0 * 112 * 112 && b == 8.0 * 64 * 112 * 112, "relu counts %g %g", f, b);
  CHECK(tsoC_backend_measure(an, &k, &e, err) == TSO_OK && rel(e.ms, b / 10e9 * 1e3 + 1e-3) < 1e-12,
        "relu time %g (memory-bound)", e.ms);
  /* batched matmul [2,3,4] x [4,5]: 2 * 2*3*5 * 4 */
  binary_key(&k, TSO_OP_MATMUL, 3, D(2, 3, 4), 2, D(4, 5));
  tsoC_analytic_counts(&k, &f, &b);
  CHECK(f == 240.0 && b == 4.0 * (24 + 20 + 30), "matmul counts %g %g", f, b);
  /* gemm 8x16 (transA) * 16x32 + C[32]: 2*8*32*16 + 2*8*32 */
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_GEMM;
  k.nin = 3;
  k.p.gemm.alpha = k.p.gemm.beta = 1.0f;
  k.p.gemm.trans_a = 1;
  set_shape(&k.in[0], 2, D(16, 8));
  set_shape(&k.in[1], 2, D(16, 32));
  set_shape(&k.in[2], 1, D(32));
  CHECK(tsoC_key_infer(&k, err) == TSO_OK, "gemm infer");
  tsoC_analytic_counts(&k, &f, &b);
  CHECK(f == 2.0 * 8 * 32 * 16 + 2.0 * 8 * 32, "gemm flops %g", f);
  /* deterministic, and free operators cost nothing */
  tsoC_Entry e2;
  tsoC_backend_measure(an, &k, &e, err);
  tsoC_backend_measure(an, &k, &e2, err);
  CHECK(e.ms == e2.ms, "analytic is deterministic");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_FLATTEN;
  k.nin = 1;
  k.p.axis.axis = 1;
  set_shape(&k.in[0], 4, D(1, 8, 2, 2));
  tsoC_key_infer(&k, err);
  CHECK(tsoC_backend_measure(an, &k, &e, err) == TSO_OK && e.ms == 0.0, "flatten is free");
  tsoC_backend_free(an);
}

/* ---- the estimator ------------------------------------------------------------------------ */

static void test_estimator(void) {
  double x[40];
  tsoC_Entry e;
  /* a floor of 1.0 with small noise, a third of the samples slowed by 20-60%, one odd fast sample */
  for (int i = 0; i < 40; i++) x[i] = 1.0 + 0.002 * (i % 5) + (i % 3 == 0 ? 0.2 + 0.01 * i : 0.0);
  x[17] = 0.5;
  tsoC_estimate(x, 40, &e);
  CHECK(e.ms >= 1.0 && e.ms <= 1.002, "estimate %g ignores the slow samples and the odd fast one", e.ms);
  CHECK(e.min_ms == 0.5 && e.repeats == 40, "min %g", e.min_ms);
  CHECK(e.spread > 0.1, "the odd sample widens the interval: spread %g", e.spread);
  for (int i = 0; i < 40; i++) x[i] = 1.0 + 0.002 * (i % 5) + (i % 3 == 0 ? 0.2 + 0.01 * i : 0.0);
  tsoC_estimate(x, 40, &e);
  CHECK(e.spread >= 0.0 && e.spread < 0.01, "spread %g of a clean floor", e.spread);
  /* most samples slow (the machine mostly in a slow state): the floor still wins */
  for (int i = 0; i < 40; i++) x[i] = i < 6 ? 1.0 + 0.001 * i : 1.08 + 0.001 * i;
  tsoC_estimate(x, 40, &e);
  CHECK(e.ms >= 1.0 && e.ms <= 1.002, "estimate %g with 85%% slow samples", e.ms);
}

/* ---- oneDNN ------------------------------------------------------------------------------- */

static tsoC_Backend *make_onednn(void) {
  tsoC_MeasureOpts mo;
  tsoC_measure_opts_init(&mo);
  mo.min_repeats = 6;
  mo.span_ms = 20;
  mo.max_ms = 60;
  mo.warmup_ms = 2;
  return tsoC_onednn_create(&mo, err);
}

static void test_onednn(void) {
  if (!tsoC_have_onednn()) {
    printf("test_cost: built without oneDNN: oneDNN checks skipped\n");
    tsoC_Backend *none = tsoC_onednn_create(NULL, err);
    CHECK(!none, "no oneDNN backend in this build");
    return;
  }
  tsoC_Backend *be = make_onednn();
  CHECK(be != NULL, "oneDNN backend");
  if (!be) return;
  CHECK(strstr(be->version, "oneDNN") && strstr(be->version, "threads 1"), "version %s", be->version);
  CHECK(be->device[0] != 0, "device string");
  tsoC_Key k;
  tsoC_Entry e;
  /* measured: a small conv and a matmul */
  conv_key(&k, 1, 8, 16, 16, 3, 1, 1, 1, 1, 1);
  CHECK(tsoC_backend_supports(be, &k, err), "conv supported");
  CHECK(tsoC_backend_measure(be, &k, &e, err) == TSO_OK, "conv measured");
  CHECK(e.ms > 0.0 && isfinite(e.ms) && e.repeats >= 3 && e.min_ms <= e.ms && e.batch >= 1, "conv time %g n %d",
        e.ms, e.repeats);
  CHECK(agrees(be, &k, "conv 3x3 bias relu"), "conv numerics");
  binary_key(&k, TSO_OP_MATMUL, 3, D(2, 8, 16), 2, D(16, 12));
  k.in[1].flags = TSOC_T_CONST;
  CHECK(tsoC_backend_measure(be, &k, &e, err) == TSO_OK && e.ms > 0.0 && isfinite(e.ms), "matmul measured");
  CHECK(agrees(be, &k, "batched matmul, constant B"), "matmul numerics");
  /* numerics of the other primitives (run once each, not timed) */
  conv_key(&k, 2, 8, 9, 12, 3, 2, 1, 4, 1, 0); /* grouped, strided */
  CHECK(agrees(be, &k, "grouped conv"), "grouped conv");
  conv_key(&k, 1, 8, 10, 16, 3, 1, 1, 1, 0, 0);
  k.in[0].layout = k.out[0].layout = TSO_LAYOUT_NHWC;
  CHECK(agrees(be, &k, "NHWC conv"), "NHWC conv");
  conv_key(&k, 1, 8, 10, 16, 1, 1, 0, 1, 0, 0);
  k.in[1].flags = 0; /* non-constant weights */
  CHECK(agrees(be, &k, "conv, variable weights"), "conv variable weights");
  binary_key(&k, TSO_OP_MATMUL, 4, D(2, 3, 5, 7), 4, D(2, 3, 7, 4)); /* attention-style */
  CHECK(agrees(be, &k, "4-D matmul"), "4-D matmul");
  binary_key(&k, TSO_OP_MATMUL, 2, D(6, 5), 2, D(5, 7));
  k.in[0].layout = TSO_LAYOUT_COLMAJOR;
  CHECK(agrees(be, &k, "matmul, column-major A"), "colmajor matmul");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_GEMM;
  k.nin = 3;
  k.p.gemm.alpha = 0.5f;
  k.p.gemm.beta = 2.0f;
  k.p.gemm.trans_b = 1;
  set_shape(&k.in[0], 2, D(3, 16));
  set_shape(&k.in[1], 2, D(10, 16));
  set_shape(&k.in[2], 1, D(10));
  k.in[1].flags = k.in[2].flags = TSOC_T_CONST;
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "gemm transB alpha beta"), "gemm");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_MAXPOOL;
  k.nin = 1;
  k.p.win.kh = k.p.win.kw = 3;
  k.p.win.sh = k.p.win.sw = 2;
  k.p.win.dh = k.p.win.dw = 1;
  k.p.win.ceil_mode = 1;
  set_shape(&k.in[0], 4, D(1, 16, 11, 11));
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "maxpool ceil"), "maxpool");
  k.op = TSO_OP_AVGPOOL;
  k.p.win.ceil_mode = 0;
  k.p.win.pt = k.p.win.pl = k.p.win.pb = k.p.win.pr = 1;
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "avgpool pads"), "avgpool");
  unary_key(&k, TSO_OP_GLOBALAVGPOOL, 4, D(2, 16, 7, 7));
  CHECK(agrees(be, &k, "global avgpool"), "gavgpool");
  static const int un[] = {TSO_OP_RELU, TSO_OP_SIGMOID, TSO_OP_TANH, TSO_OP_SQRT};
  for (int i = 0; i < 4; i++) {
    unary_key(&k, un[i], 3, D(2, 5, 33));
    CHECK(agrees(be, &k, tsoO_info(un[i])->name), "%s", tsoO_info(un[i])->name);
  }
  unary_key(&k, TSO_OP_ERF, 2, D(4, 4));
  CHECK(tsoC_backend_supports(be, &k, err), "erf is timed (by a proxy)");
  CHECK(tsoC_backend_run(be, &k, NULL, NULL, err) == TSO_ERR_UNSUPPORTED, "but a proxy does not run");
  binary_key(&k, TSO_OP_ADD, 4, D(1, 16, 5, 5), 4, D(1, 16, 1, 1));
  CHECK(agrees(be, &k, "add, broadcast"), "add");
  binary_key(&k, TSO_OP_MUL, 1, D(16), 3, D(2, 4, 16)); /* first operand broadcast: swapped */
  CHECK(agrees(be, &k, "mul, swapped"), "mul swapped");
  binary_key(&k, TSO_OP_DIV, 2, D(4, 8), 0, D(0));
  CHECK(agrees(be, &k, "div by a scalar"), "div");
  binary_key(&k, TSO_OP_SUB, 1, D(8), 2, D(4, 8));
  CHECK(!tsoC_backend_supports(be, &k, err), "sub with a broadcast first operand is not supported");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_BATCHNORM;
  k.nin = 5;
  k.p.norm.epsilon = 1e-5f;
  set_shape(&k.in[0], 4, D(2, 16, 5, 5));
  for (int i = 1; i < 5; i++) {
    set_shape(&k.in[i], 1, D(16));
    k.in[i].flags = TSOC_T_CONST;
  }
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "batchnorm"), "batchnorm");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_SOFTMAX;
  k.nin = 1;
  k.p.axis.axis = -1;
  set_shape(&k.in[0], 3, D(2, 4, 10));
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "softmax"), "softmax");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_LAYERNORM;
  k.nin = 3;
  k.nout = 1;
  k.p.norm.axis = -1;
  k.p.norm.epsilon = 1e-5f;
  set_shape(&k.in[0], 3, D(2, 3, 32));
  set_shape(&k.in[1], 1, D(32));
  set_shape(&k.in[2], 1, D(32));
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "layernorm"), "layernorm");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_CONCAT;
  k.nin = 3;
  k.p.axis.axis = 1;
  set_shape(&k.in[0], 4, D(1, 8, 4, 4));
  set_shape(&k.in[1], 4, D(1, 16, 4, 4));
  set_shape(&k.in[2], 4, D(1, 8, 4, 4));
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "concat"), "concat");
  memset(&k, 0, sizeof k);
  k.op = TSO_OP_TRANSPOSE;
  k.nin = 1;
  k.p.transpose.n = 4;
  k.p.transpose.perm[0] = 0;
  k.p.transpose.perm[1] = 2;
  k.p.transpose.perm[2] = 1;
  k.p.transpose.perm[3] = 3;
  set_shape(&k.in[0], 4, D(1, 6, 4, 8));
  tsoC_key_infer(&k, err);
  CHECK(agrees(be, &k, "transpose"), "transpose");
  tsoO_Shape s4 = {4, {1, 16, 5, 5}};
  tsoC_key_conversion(&k, &s4, TSO_DT_FLOAT, TSO_LAYOUT_DEFAULT, TSO_LAYOUT_NHWC);
  CHECK(agrees(be, &k, "NCHW to NHWC"), "conversion");
  /* what is not supported says why */
  memset(&k, 0, sizeof k);
  binary_key(&k, TSO_OP_POW, 2, D(4, 4), 0, D(0));
  err[0] = 0;
  CHECK(!tsoC_backend_supports(be, &k, err) && err[0], "pow is not supported");
  conv_key(&k, 1, 8, 8, 8, 3, 1, 1, 1, 0, 0);
  k.in[0].dtype = k.in[1].dtype = k.out[0].dtype = TSO_DT_DOUBLE;
  CHECK(!tsoC_backend_supports(be, &k, err) && strstr(err, "float32"), "float64 is not supported");
  tsoC_backend_free(be);
}

/* ---- the database -------------------------------------------------------------------------- */

static tsoC_Entry entry(double ms, int reps) {
  tsoC_Entry e;
  memset(&e, 0, sizeof e);
  e.ms = ms;
  e.min_ms = ms * 0.99;
  e.median_ms = ms * 1.05;
  e.spread = 0.01;
  e.repeats = reps;
  e.batch = 3;
  e.measured_at = 1700000000;
  return e;
}

static int count_row(void *ud, const tsoC_DbRow *r) {
  (void)r;
  (*(int *)ud)++;
  return 0;
}

static int db_rows(const char *path) {
  tsoC_Db *db = NULL;
  int n = -1;
  if (tsoC_db_open(path, TSOC_DB_READONLY, &db, err) == TSO_OK) {
    n = 0;
    if (tsoC_db_foreach(db, count_row, &n, err) != TSO_OK) n = -1;
  }
  tsoC_db_close(db);
  return n;
}

static void test_db(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/costs.sqlite", tmpdir);
  tsoC_Backend *an = tsoC_analytic_create(NULL); /* stands for any backend: name, device, version */
  tsoC_Key k[2];
  tsoC_Entry e[2] = {entry(1.25, 20), entry(0.5, 40)}, got;
  conv_key(&k[0], 1, 64, 56, 64, 3, 1, 1, 1, 0, 0);
  conv_key(&k[1], 1, 64, 56, 64, 1, 1, 0, 1, 0, 0);
  tsoC_Db *db = NULL;
  CHECK(tsoC_db_open(path, 0, &db, err) == TSO_OK, "create");
  CHECK(tsoC_db_schema(db) == TSOC_DB_SCHEMA, "schema version");
  CHECK(tsoC_db_put(db, an, 2, k, e, err) == TSO_OK, "put");
  tsoC_db_close(db);
  db = NULL;
  CHECK(tsoC_db_open(path, 0, &db, err) == TSO_OK, "reopen");
  for (int i = 0; i < 2; i++) {
    tsoC_Sig s;
    int found = 0;
    tsoC_key_sig(&k[i], &s);
    CHECK(tsoC_db_get(db, an, &s, &got, &found, err) == TSO_OK && found, "get %d", i);
    CHECK(got.ms == e[i].ms && got.repeats == e[i].repeats && got.spread == e[i].spread &&
              got.min_ms == e[i].min_ms && got.median_ms == e[i].median_ms && got.batch == e[i].batch &&
              got.measured_at == e[i].measured_at,
          "round trip %d", i);
  }
  /* another device, or another library version: never used */
  tsoC_Backend *other = tsoC_analytic_create(NULL);
  tsoC_backend_set_device(other, "Some Other CPU, 64 cpus, avx512f");
  tsoC_Sig s0;
  int found = 1;
  tsoC_key_sig(&k[0], &s0);
  CHECK(tsoC_db_get(db, other, &s0, &got, &found, err) == TSO_OK && !found, "other device not used");
  tsoC_Backend *other2 = tsoC_analytic_create(NULL);
  snprintf(other2->version, sizeof other2->version, "%.200s, patched", an->version);
  found = 1;
  CHECK(tsoC_db_get(db, other2, &s0, &got, &found, err) == TSO_OK && !found, "other version not used");
  tsoC_Entry e3 = entry(9.0, 5);
  CHECK(tsoC_db_put(db, other, 1, k, &e3, err) == TSO_OK, "put for the other device");
  CHECK(tsoC_db_get(db, an, &s0, &got, &found, err) == TSO_OK && found && got.ms == 1.25,
        "each device keeps its own value");
  CHECK(tsoC_db_get(db, other, &s0, &got, &found, err) == TSO_OK && found && got.ms == 9.0, "other device's value");
  tsoC_db_close(db);
  CHECK(db_rows(path) == 3, "3 rows");
  /* read-only handles refuse writes; a foreign SQLite file is refused untouched */
  db = NULL;
  CHECK(tsoC_db_open(path, TSOC_DB_READONLY, &db, err) == TSO_OK, "read-only open");
  CHECK(db && tsoC_db_put(db, an, 1, k, e, err) == TSO_ERR_ARG, "read-only refuses writes");
  tsoC_db_close(db);
  char foreign[512];
  snprintf(foreign, sizeof foreign, "%s/foreign.sqlite", tmpdir);
  sqlite3 *raw = NULL;
  sqlite3_open(foreign, &raw);
  sqlite3_exec(raw, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", NULL, NULL, NULL);
  sqlite3_close(raw);
  db = NULL;
  CHECK(tsoC_db_open(foreign, 0, &db, err) == TSO_ERR_INVALID, "foreign database refused");
  tsoC_db_close(db);
  char notdb[512];
  snprintf(notdb, sizeof notdb, "%s/not.sqlite", tmpdir);
  FILE *f = fopen(notdb, "w");
  if (f) {
    fputs("this is not a database, it is a text file of some length ............................\n", f);
    fclose(f);
  }
  db = NULL;
  CHECK(tsoC_db_open(notdb, 0, &db, err) == TSO_ERR_INVALID, "text file refused");
  tsoC_db_close(db);
  tsoC_backend_free(other);
  tsoC_backend_free(other2);
  tsoC_backend_free(an);
}

/* A child that writes `rows` rows in transactions of `per` rows, keys distinguished by `tag`. */
static int writer(const char *path, int tag, int rows, int per) {
  tsoC_Backend *an = tsoC_analytic_create(NULL);
  tsoC_Db *db = NULL;
  char e2[TSO_ERRMAX] = "";
  if (!an || tsoC_db_open(path, 0, &db, e2) != TSO_OK) {
    fprintf(stderr, "writer %d: open: %s\n", tag, e2);
    return 1;
  }
  tsoC_Key *k = calloc((size_t)per, sizeof *k);
  tsoC_Entry *e = calloc((size_t)per, sizeof *e);
  int rc = 0;
  for (int i = 0; rc == 0 && i < rows; i += per) {
    for (int j = 0; j < per; j++) {
      conv_key(&k[j], 1, 8, 8 + i + j, 8 + tag, 1, 1, 0, 1, 0, 0);
      e[j] = entry(1.0 + i + j, 10);
    }
    if (tsoC_db_put(db, an, per, k, e, e2) != TSO_OK) {
      fprintf(stderr, "writer %d: put: %s\n", tag, e2);
      rc = 1;
    }
  }
  free(k);
  free(e);
  tsoC_db_close(db);
  tsoC_backend_free(an);
  return rc;
}

static void test_concurrent(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/shared.sqlite", tmpdir);
  pid_t pids[2];
  for (int c = 0; c < 2; c++) {
    pids[c] = fork();
    if (pids[c] == 0) _exit(writer(path, c, 120, 4)); /* both also race to create the file */
  }
  int ok = 1;
  for (int c = 0; c < 2; c++) {
    int status = 0;
    waitpid(pids[c], &status, 0);
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  CHECK(ok, "both concurrent writers succeeded");
  int n = db_rows(path);
  CHECK(n == 240, "all rows of both writers present: %d", n);
}

/* Test hook of the killed writer: after row 30 of the big transaction, tell the parent and wait to die. */
static int kill_fd = -1;
static void hook(void *ud, int row) {
  (void)ud;
  if (row == 30 && kill_fd >= 0) {
    char c = 'k';
    if (write(kill_fd, &c, 1) != 1) _exit(3);
    for (;;) pause();
  }
}

static void test_killed(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/killed.sqlite", tmpdir);
  int fds[2];
  if (pipe(fds) != 0) {
    CHECK(0, "pipe");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    tsoC_Backend *an = tsoC_analytic_create(NULL);
    tsoC_Db *db = NULL;
    if (tsoC_db_open(path, 0, &db, NULL) != TSO_OK) _exit(1);
    tsoC_Key *k = calloc(200, sizeof *k);
    tsoC_Entry *e = calloc(200, sizeof *e);
    for (int j = 0; j < 200; j++) {
      conv_key(&k[j], 1, 4, 4 + j, 4, 1, 1, 0, 1, 0, 0);
      e[j] = entry(2.0 + j, 10);
    }
    if (tsoC_db_put(db, an, 10, k, e, NULL) != TSO_OK) _exit(2); /* committed */
    kill_fd = fds[1];
    tsoC_db_set_test_hook(db, hook, NULL);
    tsoC_db_put(db, an, 190, k + 10, e + 10, NULL); /* killed inside */
    _exit(4);
  }
  close(fds[1]);
  char c = 0;
  ssize_t r = read(fds[0], &c, 1);
  close(fds[0]);
  CHECK(r == 1 && c == 'k', "the writer reached the middle of its transaction");
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was killed");
  sqlite3 *raw = NULL;
  char *res = NULL;
  CHECK(sqlite3_open(path, &raw) == SQLITE_OK, "the file opens");
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    res = strdup((const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(raw);
  CHECK(res && !strcmp(res, "ok"), "integrity_check: %s", res ? res : "(none)");
  free(res);
  int n = db_rows(path);
  CHECK(n == 10, "the committed rows stay, the killed transaction is gone: %d rows", n);
  /* and the file takes new writes */
  CHECK(writer(path, 7, 8, 4) == 0 && db_rows(path) == 18, "writable after the crash");
}

/* ---- graph costs ------------------------------------------------------------------------------ */

/* x -> conv(w) -> relu -> pow(2) -> flatten: conv and relu measured, pow analytic, flatten free. */
static tsoI_Graph *small_graph(void) {
  tsoI_Graph *g = tsoI_new();
  tsoO_Shape xs = {4, {1, 8, 12, 12}}, ws = {4, {8, 8, 3, 3}}, sc = {0, {0}};
  static float wd[8 * 8 * 9], two = 2.0f;
  for (int i = 0; i < 8 * 8 * 9; i++) wd[i] = frand();
  int32_t x = tsoI_add_input(g, "x", TSO_DT_FLOAT, &xs);
  int32_t w = tsoI_add_const(g, "w", TSO_DT_FLOAT, &ws, wd, sizeof wd, 0);
  int32_t e = tsoI_add_const(g, "e", TSO_DT_FLOAT, &sc, &two, sizeof two, 0);
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = p.win.group = 1;
  p.win.pt = p.win.pl = p.win.pb = p.win.pr = 1;
  int32_t in[2] = {x, w}, y, r, q, f;
  tsoI_add_op(g, TSO_OP_CONV2D, &p, in, 2, 1, &y);
  tsoI_add_op(g, TSO_OP_RELU, NULL, &y, 1, 1, &r);
  int32_t pin[2] = {r, e};
  tsoI_add_op(g, TSO_OP_POW, NULL, pin, 2, 1, &q);
  memset(&p, 0, sizeof p);
  p.axis.axis = 1;
  tsoI_add_op(g, TSO_OP_FLATTEN, &p, &q, 1, 1, &f);
  tsoI_mark_output(g, f);
  if (tsoI_infer(g) != TSO_OK) printf("small_graph: %s\n", g->err);
  return g;
}

static void test_graph_cost(void) {
  tsoI_Graph *g = small_graph();
  tsoC_NodeCost nc[4];
  double total = 0.0;
  /* analytic: every node estimated, no database needed */
  tsoC_Backend *an = tsoC_analytic_create(NULL);
  CHECK(tsoC_graph_cost(g, an, NULL, NULL, &total, nc, err) == TSO_OK, "analytic graph cost");
  CHECK(nc[0].source == TSOC_SRC_ANALYTIC && nc[1].source == TSOC_SRC_ANALYTIC && nc[2].source == TSOC_SRC_ANALYTIC &&
            nc[3].source == TSOC_SRC_FREE,
        "analytic sources %d %d %d %d", nc[0].source, nc[1].source, nc[2].source, nc[3].source);
  CHECK(total > 0.0 && rel(total, nc[0].ms + nc[1].ms + nc[2].ms) < 1e-12 && nc[3].ms == 0.0, "analytic total");
  tsoC_backend_free(an);
  if (!tsoC_have_onednn()) {
    tsoI_free(g);
    return;
  }
  tsoC_Backend *be = make_onednn();
  char path[512];
  snprintf(path, sizeof path, "%s/graph.sqlite", tmpdir);
  tsoC_Db *db = NULL;
  CHECK(be && tsoC_db_open(path, 0, &db, err) == TSO_OK, "open");
  if (!be || !db) {
    tsoC_backend_free(be);
    tsoC_db_close(db);
    tsoI_free(g);
    return;
  }
  CHECK(tsoC_graph_cost(g, be, db, NULL, &total, nc, err) == TSO_OK, "first cost");
  CHECK(nc[0].source == TSOC_SRC_MEASURED && nc[1].source == TSOC_SRC_MEASURED, "conv and relu measured: %d %d",
        nc[0].source, nc[1].source);
  CHECK(nc[2].source == TSOC_SRC_ANALYTIC && strstr(nc[2].why, "onednn"), "pow estimated and flagged: %s", nc[2].why);
  CHECK(nc[3].source == TSOC_SRC_FREE && nc[3].ms == 0.0, "flatten free");
  CHECK(nc[0].ms > 0.0 && nc[0].repeats > 0, "conv time");
  double first = total, conv = nc[0].ms;
  tsoC_db_close(db);
  db = NULL;
  /* a later run (another handle on the file) reuses the measurements */
  CHECK(tsoC_db_open(path, 0, &db, err) == TSO_OK, "reopen");
  CHECK(tsoC_graph_cost(g, be, db, NULL, &total, nc, err) == TSO_OK, "second cost");
  CHECK(nc[0].source == TSOC_SRC_CACHED && nc[1].source == TSOC_SRC_CACHED && nc[0].ms == conv,
        "second run from the database");
  CHECK(total == first, "same total %g %g", total, first);
  /* a budget of nothing: what is missing is estimated and flagged */
  tsoC_GraphOpts o;
  memset(&o, 0, sizeof o);
  o.remeasure = 1;
  o.budget_s = 1e-9;
  o.no_store = 1;
  CHECK(tsoC_graph_cost(g, be, db, &o, &total, nc, err) == TSO_OK, "budget");
  CHECK(nc[0].source == TSOC_SRC_ANALYTIC && strstr(nc[0].why, "budget"), "budget exhausted: %s", nc[0].why);
  tsoC_db_close(db);
  CHECK(db_rows(path) == 2, "two distinct operators stored");
  tsoC_backend_free(be);
  tsoI_free(g);
}

int main(void) {
  const char *t = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/taso-test-cost-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  printf("test_cost: random seed 0x%016llx, files in %s\n", (unsigned long long)rng_state, tmpdir);
  double t0 = tsoC_now();
  test_keys();
  test_analytic();
  test_estimator();
  test_onednn();
  test_db();
  test_concurrent();
  test_killed();
  test_graph_cost();
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) printf("test_cost: could not remove %s\n", tmpdir);
  printf("test_cost: %d checks, %d failed (%.1f s)\n", ncheck, nfail, tsoC_now() - t0);
  return nfail ? 1 : 0;
}
