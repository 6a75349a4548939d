/*
** test_ops_nn.c -- unit tests of the neural-network operators (ops_nn.c):
** hand-computed cases for every operator, randomized comparisons against
** naive formulas written independently here, error paths, and
** parse/emit round trips.
**
** Invariant: every check prints what failed; the program returns 0 only
** when all checks passed. Randomized cases use a fixed seed, printed.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static int nfail, ncheck;
static char err[TSO_ERRMAX];

#include "check.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})
#define AI(nm, v) {.name = nm, .kind = TSO_ATTR_INT, .i = (v)}
#define AF(nm, v) {.name = nm, .kind = TSO_ATTR_FLOAT, .f = (v)}
#define AS(nm, v) {.name = nm, .kind = TSO_ATTR_STRING, .s = (v)}
#define AL(nm, ...)                                                                        \
  {.name = nm, .kind = TSO_ATTR_INTS, .n = (int)(sizeof((const int64_t[]){__VA_ARGS__}) / \
                                                 sizeof(int64_t)),                         \
   .ints = (const int64_t[]){__VA_ARGS__}}
#define NA(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- helpers --------------------------------------------------------- */

/* A value of the given dtype, rank (-1 unknown) and dims. */
static tsoO_Value mk(int dtype, void *data, int rank, const int64_t *d) {
  tsoO_Value v;
  memset(&v, 0, sizeof v);
  v.dtype = dtype;
  v.data = data;
  v.shape.rank = rank;
  for (int i = 0; i < rank; i++) v.shape.d[i] = d[i];
  return v;
}

/* A float value. */
static tsoO_Value fv(float *data, int rank, const int64_t *d) { return mk(TSO_DT_FLOAT, data, rank, d); }

/* Deterministic pseudo-random floats in [-1, 1). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) & 0xffffff) / (float)0x800000 - 1.0f;
}
static float *rand_buf(int64_t n) {
  float *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
  for (int64_t i = 0; i < n; i++) b[i] = frand();
  return b;
}

/* Zeroed params. */
static tsoO_Params P0(void) {
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  return p;
}

/* Parses attrs into *p (zeroed first). */
static tso_status parse(int op, tsoO_Params *p, const tsoO_Attr *a, int na, int nin, int nout, int opset) {
  memset(p, 0, sizeof *p);
  err[0] = 0;
  return tsoO_info(op)->parse(p, a, na, nin, nout, opset, err);
}

/* Shape inference only. */
static tso_status infer(int op, const tsoO_Params *p, int nin, const tsoO_Value *in, tsoO_Value *out) {
  memset(out, 0, sizeof *out);
  err[0] = 0;
  return tsoO_info(op)->infer(p, nin, in, 1, out, err);
}

/* Infer, allocate out[0] for the inferred shape, eval. out->data is
** malloc'd on success (free with free()). */
static tso_status run(int op, const tsoO_Params *p, int nin, const tsoO_Value *in, tsoO_Value *out) {
  tso_status st = infer(op, p, nin, in, out);
  if (st) return st;
  int64_t n = tsoO_numel(&out->shape);
  if (n < 0) return TSO_ERR_LIMIT;
  out->data = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
  st = tsoO_info(op)->eval(p, nin, in, 1, out, err);
  if (st) {
    free(out->data);
    out->data = NULL;
  }
  return st;
}

/* Checks a shape. */
static void expect_shape(const char *what, const tsoO_Shape *s, int rank, const int64_t *d) {
  char b[160];
  int ok = s->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = s->d[i] == d[i];
  CHECK(ok, "%s: shape %s", what, tsoO_shape_str(s, b, sizeof b));
}

/* Checks values against expected ones within tol (relative to magnitude). */
static void expect_vals(const char *what, const float *got, const float *exp, int64_t n, float tol) {
  for (int64_t i = 0; i < n; i++) {
    float e = exp[i], g = got[i];
    int ok = (isinf(e) && g == e) || fabsf(g - e) <= tol * (1.0f + fabsf(e));
    if (!ok) {
      CHECK(0, "%s: element %lld is %.7g, expected %.7g", what, (long long)i, (double)g, (double)e);
      return;
    }
  }
  ncheck++;
}

/* Runs op and compares the output with shape (rank, d) and values exp. */
static void expect_run(const char *what, int op, const tsoO_Params *p, int nin, const tsoO_Value *in, int rank,
                       const int64_t *d, const float *exp, float tol) {
  tsoO_Value out;
  tso_status st = run(op, p, nin, in, &out);
  CHECK(st == TSO_OK, "%s: status %d", what, (int)st);
  if (st) return;
  expect_shape(what, &out.shape, rank, d);
  if (out.shape.rank == rank) expect_vals(what, out.data, exp, tsoO_numel(&out.shape), tol);
  free(out.data);
}

/* Checks that infer fails with status want. */
static void expect_infer_err(const char *what, int op, const tsoO_Params *p, int nin, const tsoO_Value *in,
                             tso_status want) {
  tsoO_Value out;
  tso_status st = infer(op, p, nin, in, &out);
  CHECK(st == want, "%s: infer status %d, expected %d", what, (int)st, (int)want);
  CHECK(st == TSO_OK || err[0], "%s: no error message", what);
}

/* emit then parse at the same opset must give p back. */
static void roundtrip(const char *what, int op, const tsoO_Params *p, int nin, int nout, int opset) {
  tsoO_AttrSet as;
  tsoO_Params q;
  tso_status st = tsoO_info(op)->emit(p, opset, &as);
  CHECK(st == TSO_OK, "%s: emit status %d", what, (int)st);
  if (st) return;
  st = parse(op, &q, as.a, as.n, nin, nout, opset);
  CHECK(st == TSO_OK, "%s: re-parse status %d", what, (int)st);
  CHECK(memcmp(p, &q, sizeof q) == 0, "%s: round trip changed the parameters", what);
}

/* Parses attrs, then checks the round trip of the result. */
static void parse_roundtrip(const char *what, int op, const tsoO_Attr *a, int na, int nin, int nout, int opset) {
  tsoO_Params p;
  tso_status st = parse(op, &p, a, na, nin, nout, opset);
  CHECK(st == TSO_OK, "%s: parse status %d", what, (int)st);
  if (!st) roundtrip(what, op, &p, nin, nout, opset);
}

/* Checks that parse fails with UNSUPPORTED. */
static void expect_parse_unsup(const char *what, int op, const tsoO_Attr *a, int na, int nin, int nout, int opset) {
  tsoO_Params p;
  tso_status st = parse(op, &p, a, na, nin, nout, opset);
  CHECK(st == TSO_ERR_UNSUPPORTED && err[0], "%s: parse status %d, expected UNSUPPORTED", what, (int)st);
}

/* ---- naive references ------------------------------------------------ */

/* One axis: output size and begin pad by the spec's formulas. */
static void ref_axis(int mode, int ceil_mode, int in, int k, int s, int d, int p0, int p1, int *out, int *b0) {
  int ek = (k - 1) * d + 1;
  if (mode == TSO_PAD_SAME_UPPER || mode == TSO_PAD_SAME_LOWER) {
    *out = (in + s - 1) / s;
    int tot = (*out - 1) * s + ek - in;
    if (tot < 0) tot = 0;
    *b0 = mode == TSO_PAD_SAME_UPPER ? tot / 2 : (tot + 1) / 2;
  } else if (mode == TSO_PAD_VALID) {
    *out = (in - ek + 1 + s - 1) / s; /* ceil((in - ek + 1) / s) */
    *b0 = 0;
  } else {
    double q = (double)(in + p0 + p1 - ek) / s;
    *out = (int)(ceil_mode ? ceil(q) : floor(q)) + 1;
    if (ceil_mode && (*out - 1) * s >= in + p0) (*out)--;
    *b0 = p0;
  }
}

typedef struct ConvCase {
  int n, c, h, w, m, kh, kw, g, sh, sw, dh, dw, pt, pl, pb, pr, mode, relu, bias;
} ConvCase;

/* Compares the conv kernel with a direct formula on random data. */
static void conv_case(const char *what, const ConvCase *k) {
  tsoO_Params p = P0();
  p.win.kh = k->kh; p.win.kw = k->kw; p.win.sh = k->sh; p.win.sw = k->sw; p.win.dh = k->dh; p.win.dw = k->dw;
  p.win.pt = k->pt; p.win.pl = k->pl; p.win.pb = k->pb; p.win.pr = k->pr; p.win.pad_mode = k->mode;
  p.win.group = k->g; p.win.act = k->relu ? TSO_ACT_RELU : TSO_ACT_NONE;
  int cg = k->c / k->g, mg = k->m / k->g, oh, ow, bt, bl;
  ref_axis(k->mode, 0, k->h, k->kh, k->sh, k->dh, k->pt, k->pb, &oh, &bt);
  ref_axis(k->mode, 0, k->w, k->kw, k->sw, k->dw, k->pl, k->pr, &ow, &bl);
  float *x = rand_buf((int64_t)k->n * k->c * k->h * k->w), *w = rand_buf((int64_t)k->m * cg * k->kh * k->kw);
  float *b = rand_buf(k->m);
  float *ref = calloc((size_t)((int64_t)k->n * k->m * oh * ow), sizeof *ref);
  for (int n = 0; n < k->n; n++)
    for (int m = 0; m < k->m; m++)
      for (int y = 0; y < oh; y++)
        for (int z = 0; z < ow; z++) {
          double acc = k->bias ? b[m] : 0.0;
          int g = m / mg;
          for (int c = 0; c < cg; c++)
            for (int i = 0; i < k->kh; i++)
              for (int j = 0; j < k->kw; j++) {
                int ih = y * k->sh - bt + i * k->dh, iw = z * k->sw - bl + j * k->dw;
                if (ih < 0 || ih >= k->h || iw < 0 || iw >= k->w) continue;
                acc += (double)x[((n * k->c + g * cg + c) * k->h + ih) * k->w + iw] *
                       w[((m * cg + c) * k->kh + i) * k->kw + j];
              }
          if (k->relu && acc < 0) acc = 0;
          ref[((n * k->m + m) * oh + y) * ow + z] = (float)acc;
        }
  tsoO_Value in[3] = {fv(x, 4, D(k->n, k->c, k->h, k->w)), fv(w, 4, D(k->m, cg, k->kh, k->kw)), fv(b, 1, D(k->m))};
  expect_run(what, TSO_OP_CONV2D, &p, k->bias ? 3 : 2, in, 4, D(k->n, k->m, oh, ow), ref, 1e-4f);
  free(x); free(w); free(b); free(ref);
}

/* Compares a pool kernel with a direct formula on random data. */
static void pool_case(const char *what, int op, int h, int w, int kh, int kw, int s, int d, int pad, int mode,
                      int ceil_mode, int cip) {
  tsoO_Params p = P0();
  p.win.kh = kh; p.win.kw = kw; p.win.sh = p.win.sw = s; p.win.dh = p.win.dw = d;
  if (mode == TSO_PAD_EXPLICIT) p.win.pt = p.win.pl = p.win.pb = p.win.pr = pad;
  p.win.pad_mode = mode; p.win.ceil_mode = ceil_mode; p.win.count_include_pad = cip;
  int oh, ow, bt, bl, nc = 2 * 3;
  ref_axis(mode, ceil_mode, h, kh, s, d, pad, pad, &oh, &bt);
  ref_axis(mode, ceil_mode, w, kw, s, d, pad, pad, &ow, &bl);
  /* end pads as resolved: SAME pads or the explicit ones */
  int et = mode == TSO_PAD_EXPLICIT ? pad : 0, el = et;
  if (mode == TSO_PAD_SAME_UPPER || mode == TSO_PAD_SAME_LOWER) {
    int ek = (kh - 1) * d + 1, tot = (oh - 1) * s + ek - h;
    et = (tot < 0 ? 0 : tot) - bt;
    ek = (kw - 1) * d + 1; tot = (ow - 1) * s + ek - w;
    el = (tot < 0 ? 0 : tot) - bl;
  }
  float *x = rand_buf((int64_t)nc * h * w), *ref = calloc((size_t)((int64_t)nc * oh * ow), sizeof(float));
  for (int pl = 0; pl < nc; pl++)
    for (int y = 0; y < oh; y++)
      for (int z = 0; z < ow; z++) {
        double acc = op == TSO_OP_MAXPOOL ? -INFINITY : 0.0;
        int cnt = 0, cntp = 0;
        for (int i = 0; i < kh; i++)
          for (int j = 0; j < kw; j++) {
            int ih = y * s - bt + i * d, iw = z * s - bl + j * d;
            if (ih >= -bt && ih < h + et && iw >= -bl && iw < w + el) cntp++;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
            double v = x[(pl * h + ih) * w + iw];
            cnt++;
            if (op == TSO_OP_MAXPOOL) acc = v > acc ? v : acc;
            else acc += v;
          }
        if (op == TSO_OP_AVGPOOL) acc /= cip ? cntp : cnt;
        ref[(pl * oh + y) * ow + z] = (float)acc;
      }
  tsoO_Value in = fv(x, 4, D(2, 3, h, w));
  expect_run(what, op, &p, 1, &in, 4, D(2, 3, oh, ow), ref, 1e-5f);
  free(x); free(ref);
}

/* ---- CONV2D ---------------------------------------------------------- */

static void test_conv(void) {
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 0, 0, 1}, b[1] = {1};
  tsoO_Params p;
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_CONV2D, &p, none, 0, 3, 1, 13) == TSO_OK, "conv parse defaults");
  CHECK(p.win.sh == 1 && p.win.dw == 1 && p.win.group == 1 && p.win.kh == 0, "conv defaults stored");
  tsoO_Value in[3] = {fv(x, 4, D(1, 1, 3, 3)), fv(w, 4, D(1, 1, 2, 2)), fv(b, 1, D(1))};
  expect_run("conv 2x2 + bias", TSO_OP_CONV2D, &p, 3, in, 4, D(1, 1, 2, 2), (const float[]){7, 9, 13, 15}, 0);
  expect_run("conv 2x2 no bias", TSO_OP_CONV2D, &p, 2, in, 4, D(1, 1, 2, 2), (const float[]){6, 8, 12, 14}, 0);
  /* an absent bias passed as a zeroed value */
  tsoO_Value in0[3] = {in[0], in[1], mk(TSO_DT_UNDEFINED, NULL, 0, NULL)};
  expect_run("conv absent bias", TSO_OP_CONV2D, &p, 3, in0, 4, D(1, 1, 2, 2), (const float[]){6, 8, 12, 14}, 0);

  /* SAME padding, hand-computed on a 1x4 row with a 1x2 and 1x4 kernel */
  float r4[4] = {1, 2, 3, 4}, k2[2] = {1, 1}, k4[4] = {1, 1, 1, 1}, r5[5] = {1, 2, 3, 4, 5}, k3[3] = {1, 1, 1};
  tsoO_Value s2[2] = {fv(r4, 4, D(1, 1, 1, 4)), fv(k2, 4, D(1, 1, 1, 2))};
  tsoO_Value s4[2] = {fv(r4, 4, D(1, 1, 1, 4)), fv(k4, 4, D(1, 1, 1, 4))};
  tsoO_Value s3[2] = {fv(r5, 4, D(1, 1, 1, 5)), fv(k3, 4, D(1, 1, 1, 3))};
  p = P0();
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = p.win.group = 1;
  p.win.pad_mode = TSO_PAD_SAME_UPPER;
  expect_run("conv SAME_UPPER k2", TSO_OP_CONV2D, &p, 2, s2, 4, D(1, 1, 1, 4), (const float[]){3, 5, 7, 4}, 0);
  expect_run("conv SAME_UPPER k4", TSO_OP_CONV2D, &p, 2, s4, 4, D(1, 1, 1, 4), (const float[]){6, 10, 9, 7}, 0);
  p.win.pad_mode = TSO_PAD_SAME_LOWER;
  expect_run("conv SAME_LOWER k2", TSO_OP_CONV2D, &p, 2, s2, 4, D(1, 1, 1, 4), (const float[]){1, 3, 5, 7}, 0);
  expect_run("conv SAME_LOWER k4", TSO_OP_CONV2D, &p, 2, s4, 4, D(1, 1, 1, 4), (const float[]){3, 6, 10, 9}, 0);
  p.win.pad_mode = TSO_PAD_SAME_UPPER;
  p.win.sw = 2;
  expect_run("conv SAME_UPPER s2", TSO_OP_CONV2D, &p, 2, s3, 4, D(1, 1, 1, 3), (const float[]){3, 9, 9}, 0);
  expect_run("conv SAME_UPPER s2 no pad", TSO_OP_CONV2D, &p, 2, s2, 4, D(1, 1, 1, 2), (const float[]){3, 7}, 0);
  p.win.pad_mode = TSO_PAD_VALID;
  expect_run("conv VALID s2", TSO_OP_CONV2D, &p, 2, s3, 4, D(1, 1, 1, 2), (const float[]){6, 12}, 0);
  /* dilation 2: taps 0 and 2 */
  p.win.pad_mode = TSO_PAD_EXPLICIT;
  p.win.sw = 1;
  p.win.dw = 2;
  tsoO_Value sd[2] = {fv(r5, 4, D(1, 1, 1, 5)), fv(k2, 4, D(1, 1, 1, 2))};
  expect_run("conv dilation", TSO_OP_CONV2D, &p, 2, sd, 4, D(1, 1, 1, 3), (const float[]){4, 6, 8}, 0);

  /* group conv: depthwise, and 4 -> 2 channels in 2 groups, with relu */
  float gx[4] = {1, 2, 3, 4}, gw[4] = {1, 1, 1, -1}, dx[2] = {2, 3}, dw[2] = {10, 100};
  p = P0();
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = 1;
  p.win.group = 2;
  tsoO_Value dwi[2] = {fv(dx, 4, D(1, 2, 1, 1)), fv(dw, 4, D(2, 1, 1, 1))};
  expect_run("conv depthwise", TSO_OP_CONV2D, &p, 2, dwi, 4, D(1, 2, 1, 1), (const float[]){20, 300}, 0);
  tsoO_Value gi[2] = {fv(gx, 4, D(1, 4, 1, 1)), fv(gw, 4, D(2, 2, 1, 1))};
  expect_run("conv group 2", TSO_OP_CONV2D, &p, 2, gi, 4, D(1, 2, 1, 1), (const float[]){3, -1}, 0);
  p.win.act = TSO_ACT_RELU;
  expect_run("conv group 2 relu", TSO_OP_CONV2D, &p, 2, gi, 4, D(1, 2, 1, 1), (const float[]){3, 0}, 0);

  /* randomized against the direct formula */
  static const ConvCase cases[] = {
      /* n c  h  w  m kh kw g sh sw dh dw pt pl pb pr mode relu bias */
      {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, TSO_PAD_EXPLICIT, 0, 1},
      {1, 4, 8, 9, 6, 3, 2, 2, 2, 3, 1, 1, 0, 2, 1, 0, TSO_PAD_EXPLICIT, 1, 1},
      {1, 6, 9, 9, 6, 3, 3, 6, 2, 2, 2, 1, 2, 1, 2, 1, TSO_PAD_EXPLICIT, 0, 0},
      {2, 3, 7, 8, 2, 4, 3, 1, 2, 3, 1, 2, 0, 0, 0, 0, TSO_PAD_SAME_UPPER, 0, 1},
      {1, 2, 6, 5, 3, 4, 2, 1, 1, 2, 2, 1, 0, 0, 0, 0, TSO_PAD_SAME_LOWER, 1, 0},
      {1, 3, 9, 7, 2, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, TSO_PAD_VALID, 0, 1},
      {2, 8, 5, 5, 4, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, TSO_PAD_EXPLICIT, 0, 1}, /* 1x1: plane fast path */
      {1, 2, 5, 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 0, TSO_PAD_EXPLICIT, 0, 0}, /* 1x1 padded rows */
      {1, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 4, 4, 4, 4, TSO_PAD_EXPLICIT, 0, 1}, /* windows all in padding */
  };
  char name[64];
  for (int i = 0; i < NA(cases); i++) {
    snprintf(name, sizeof name, "conv random case %d", i);
    conv_case(name, &cases[i]);
  }

  /* kernel_shape given: must match W; taken from W when absent */
  tsoO_Attr ks[] = {AL("kernel_shape", 2, 2)};
  CHECK(parse(TSO_OP_CONV2D, &p, ks, 1, 2, 1, 11) == TSO_OK, "conv kernel_shape parse");
  expect_run("conv kernel_shape", TSO_OP_CONV2D, &p, 2, in, 4, D(1, 1, 2, 2), (const float[]){6, 8, 12, 14}, 0);
  tsoO_Attr ks3[] = {AL("kernel_shape", 3, 3)};
  CHECK(parse(TSO_OP_CONV2D, &p, ks3, 1, 2, 1, 11) == TSO_OK, "conv kernel_shape 3 parse");
  expect_infer_err("conv kernel_shape mismatch", TSO_OP_CONV2D, &p, 2, in, TSO_ERR_SHAPE);

  /* errors */
  tsoO_Value o;
  float dummy[1] = {0};
  p = P0();
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = p.win.group = 1;
  tsoO_Value e1[2] = {fv(NULL, 4, D(1, 3, 8, 8)), fv(NULL, 4, D(4, 2, 3, 3))};
  expect_infer_err("conv channel mismatch", TSO_OP_CONV2D, &p, 2, e1, TSO_ERR_SHAPE);
  p.win.group = 2;
  tsoO_Value e2[2] = {fv(NULL, 4, D(1, 3, 8, 8)), fv(NULL, 4, D(4, 1, 3, 3))};
  expect_infer_err("conv bad group (3 channels, group 2)", TSO_OP_CONV2D, &p, 2, e2, TSO_ERR_SHAPE);
  tsoO_Value e2b[2] = {fv(NULL, 4, D(1, 4, 8, 8)), fv(NULL, 4, D(3, 2, 3, 3))};
  expect_infer_err("conv out channels not divisible by group", TSO_OP_CONV2D, &p, 2, e2b, TSO_ERR_SHAPE);
  p.win.group = 0;
  tsoO_Value e3[2] = {fv(NULL, 4, D(1, 3, 8, 8)), fv(NULL, 4, D(4, 3, 3, 3))};
  expect_infer_err("conv group 0", TSO_OP_CONV2D, &p, 2, e3, TSO_ERR_SHAPE);
  p.win.group = 1;
  tsoO_Value e4[2] = {fv(NULL, 4, D(1, 3, 2, 8)), fv(NULL, 4, D(4, 3, 3, 3))};
  expect_infer_err("conv kernel larger than input", TSO_OP_CONV2D, &p, 2, e4, TSO_ERR_SHAPE);
  p.win.pt = 1;
  CHECK(infer(TSO_OP_CONV2D, &p, 2, e4, &o) == TSO_OK && o.shape.d[2] == 1, "conv kernel fits padded input");
  p.win.pt = 0;
  p.win.sh = 0;
  expect_infer_err("conv stride 0", TSO_OP_CONV2D, &p, 2, e3, TSO_ERR_SHAPE);
  p.win.sh = 1;
  tsoO_Value e5[3] = {e3[0], e3[1], fv(NULL, 1, D(5))};
  expect_infer_err("conv bias size", TSO_OP_CONV2D, &p, 3, e5, TSO_ERR_SHAPE);
  tsoO_Value e6[2] = {mk(TSO_DT_INT64, NULL, 4, D(1, 3, 8, 8)), e3[1]};
  expect_infer_err("conv int64 input", TSO_OP_CONV2D, &p, 2, e6, TSO_ERR_UNSUPPORTED);
  CHECK(strstr(err, "int64") != NULL, "conv int64 message names the dtype");
  tsoO_Value e7[2] = {fv(NULL, 3, D(1, 3, 8)), fv(NULL, 3, D(4, 3, 3))};
  expect_infer_err("conv 1-D unsupported", TSO_OP_CONV2D, &p, 2, e7, TSO_ERR_UNSUPPORTED);

  /* unknowns */
  tsoO_Value u1[2] = {fv(NULL, 4, D(-1, 3, -1, 8)), fv(NULL, 4, D(4, 3, 3, 3))};
  CHECK(infer(TSO_OP_CONV2D, &p, 2, u1, &o) == TSO_OK, "conv unknown dims");
  expect_shape("conv unknown dims", &o.shape, 4, D(-1, 4, -1, 6));
  tsoO_Value u2[2] = {fv(NULL, -1, NULL), fv(NULL, -1, NULL)};
  CHECK(infer(TSO_OP_CONV2D, &p, 2, u2, &o) == TSO_OK && o.shape.rank == -1, "conv unknown ranks");
  tsoO_Value u3[2] = {fv(NULL, -1, NULL), fv(NULL, 4, D(4, 3, 3, 3))};
  CHECK(infer(TSO_OP_CONV2D, &p, 2, u3, &o) == TSO_OK, "conv unknown X rank");
  expect_shape("conv unknown X rank", &o.shape, 4, D(-1, 4, -1, -1));
  p.win.pad_mode = TSO_PAD_SAME_UPPER;
  p.win.sh = p.win.sw = 2;
  tsoO_Value u4[2] = {fv(NULL, 4, D(1, 3, 10, 9)), fv(NULL, -1, NULL)};
  CHECK(infer(TSO_OP_CONV2D, &p, 2, u4, &o) == TSO_OK, "conv SAME unknown W");
  expect_shape("conv SAME unknown W", &o.shape, 4, D(1, -1, 5, 5));
  tsoO_Value u5[2] = {fv(NULL, 4, D(1, 3, 10, 9)), mk(TSO_DT_UNDEFINED, NULL, -1, NULL)};
  CHECK(infer(TSO_OP_CONV2D, &p, 2, u5, &o) == TSO_OK && o.dtype == TSO_DT_FLOAT, "conv W of unknown dtype");

  /* eval refuses a wrong output buffer */
  p = P0();
  p.win.sh = p.win.sw = p.win.dh = p.win.dw = p.win.group = 1;
  o = fv(dummy, 4, D(1, 1, 1, 1));
  CHECK(tsoO_info(TSO_OP_CONV2D)->eval(&p, 2, in, 1, &o, err) == TSO_ERR_ARG, "conv eval wrong output buffer");
  /* a given bias without data is an error, not silently dropped */
  float ybuf[4];
  tsoO_Value nb[3] = {in[0], in[1], fv(NULL, 1, D(1))};
  o = fv(ybuf, 4, D(1, 1, 2, 2));
  CHECK(tsoO_info(TSO_OP_CONV2D)->eval(&p, 3, nb, 1, &o, err) == TSO_ERR_ARG, "conv eval bias without data");
}

/* ---- MATMUL, GEMM ---------------------------------------------------- */

/* Naive batched matmul of [nb, m, k] x [nb, k, n]. */
static void ref_mm(const float *a, const float *b, float *y, int m, int k, int n) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double acc = 0;
      for (int t = 0; t < k; t++) acc += (double)a[i * k + t] * b[t * n + j];
      y[i * n + j] = (float)acc;
    }
}

static void test_matmul(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12}, v[3] = {1, 1, 1}, u[3] = {1, 2, 3};
  tsoO_Params p = P0();
  tsoO_Value in[2] = {fv(a, 2, D(2, 3)), fv(b, 2, D(3, 2))};
  expect_run("matmul 2x3.3x2", TSO_OP_MATMUL, &p, 2, in, 2, D(2, 2), (const float[]){58, 64, 139, 154}, 0);
  tsoO_Value i2[2] = {fv(u, 1, D(3)), fv(b, 2, D(3, 2))};
  expect_run("matmul 1-D left", TSO_OP_MATMUL, &p, 2, i2, 1, D(2), (const float[]){58, 64}, 0);
  tsoO_Value i3[2] = {fv(a, 2, D(2, 3)), fv(v, 1, D(3))};
  expect_run("matmul 1-D right", TSO_OP_MATMUL, &p, 2, i3, 1, D(2), (const float[]){6, 15}, 0);
  tsoO_Value i4[2] = {fv(u, 1, D(3)), fv(u, 1, D(3))};
  expect_run("matmul 1-D both", TSO_OP_MATMUL, &p, 2, i4, 0, NULL, (const float[]){14}, 0);

  /* batch broadcast: [2,1,2,3] x [3,3,2] -> [2,3,2,2] */
  float *ba = rand_buf(12), *bb = rand_buf(18), ref[24];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) ref_mm(ba + i * 6, bb + j * 6, ref + (i * 3 + j) * 4, 2, 3, 2);
  tsoO_Value i5[2] = {fv(ba, 4, D(2, 1, 2, 3)), fv(bb, 3, D(3, 3, 2))};
  expect_run("matmul batch broadcast", TSO_OP_MATMUL, &p, 2, i5, 4, D(2, 3, 2, 2), ref, 1e-5f);
  /* 1-D against a batch: [3] x [3,3,2] -> [3,2] */
  float ref2[6];
  for (int j = 0; j < 3; j++) ref_mm(u, bb + j * 6, ref2 + j * 2, 1, 3, 2);
  tsoO_Value i6[2] = {fv(u, 1, D(3)), fv(bb, 3, D(3, 3, 2))};
  expect_run("matmul 1-D x batch", TSO_OP_MATMUL, &p, 2, i6, 2, D(3, 2), ref2, 1e-5f);
  free(ba); free(bb);

  tsoO_Value o;
  tsoO_Value e1[2] = {fv(NULL, 2, D(2, 3)), fv(NULL, 2, D(4, 2))};
  expect_infer_err("matmul inner dims", TSO_OP_MATMUL, &p, 2, e1, TSO_ERR_SHAPE);
  tsoO_Value e2[2] = {fv(NULL, 3, D(2, 2, 3)), fv(NULL, 3, D(3, 3, 2))};
  expect_infer_err("matmul batch dims", TSO_OP_MATMUL, &p, 2, e2, TSO_ERR_SHAPE);
  tsoO_Value e3[2] = {mk(TSO_DT_INT64, NULL, 2, D(2, 3)), fv(NULL, 2, D(3, 2))};
  expect_infer_err("matmul int64", TSO_OP_MATMUL, &p, 2, e3, TSO_ERR_UNSUPPORTED);
  tsoO_Value e4[2] = {fv(NULL, 0, NULL), fv(NULL, 2, D(3, 2))};
  expect_infer_err("matmul scalar", TSO_OP_MATMUL, &p, 2, e4, TSO_ERR_SHAPE);
  tsoO_Value e5[2] = {fv(NULL, 2, D(1 << 20, 1)), fv(NULL, 2, D(1, 1 << 20))};
  expect_infer_err("matmul absurd output", TSO_OP_MATMUL, &p, 2, e5, TSO_ERR_LIMIT);
  tsoO_Value u1[2] = {fv(NULL, -1, NULL), fv(NULL, 2, D(3, 2))};
  CHECK(infer(TSO_OP_MATMUL, &p, 2, u1, &o) == TSO_OK && o.shape.rank == -1, "matmul unknown rank");
  tsoO_Value u2[2] = {fv(NULL, 3, D(-1, -1, 3)), fv(NULL, 3, D(4, 3, -1))};
  CHECK(infer(TSO_OP_MATMUL, &p, 2, u2, &o) == TSO_OK, "matmul unknown dims");
  expect_shape("matmul unknown dims", &o.shape, 3, D(4, -1, -1));
}

static void test_gemm(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12}, c2[2] = {1, 2}, c21[2] = {10, 20}, cs[1] = {3};
  tsoO_Params p;
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_GEMM, &p, none, 0, 3, 1, 13) == TSO_OK && p.gemm.alpha == 1.0f && p.gemm.beta == 1.0f,
        "gemm defaults");
  tsoO_Value in[3] = {fv(a, 2, D(2, 3)), fv(b, 2, D(3, 2)), fv(c2, 1, D(2))};
  expect_run("gemm C [N]", TSO_OP_GEMM, &p, 3, in, 2, D(2, 2), (const float[]){59, 66, 140, 156}, 0);
  expect_run("gemm no C", TSO_OP_GEMM, &p, 2, in, 2, D(2, 2), (const float[]){58, 64, 139, 154}, 0);
  tsoO_Attr ab[] = {AF("alpha", 2.0f), AF("beta", 0.5f)};
  CHECK(parse(TSO_OP_GEMM, &p, ab, 2, 3, 1, 13) == TSO_OK, "gemm alpha/beta parse");
  tsoO_Value i2[3] = {in[0], in[1], fv(c21, 2, D(2, 1))};
  expect_run("gemm alpha beta C [M,1]", TSO_OP_GEMM, &p, 3, i2, 2, D(2, 2), (const float[]){121, 133, 288, 318}, 0);
  tsoO_Value i3[3] = {in[0], in[1], fv(cs, 0, NULL)};
  expect_run("gemm scalar C", TSO_OP_GEMM, &p, 3, i3, 2, D(2, 2), (const float[]){117.5f, 129.5f, 279.5f, 309.5f},
             0);
  /* transA/transB: A^T given as [3,2], B^T as [2,3] */
  float at[6] = {1, 4, 2, 5, 3, 6}, bt[6] = {7, 9, 11, 8, 10, 12};
  tsoO_Attr tt[] = {AI("transA", 1), AI("transB", 1)};
  CHECK(parse(TSO_OP_GEMM, &p, tt, 2, 2, 1, 13) == TSO_OK && p.gemm.trans_a && p.gemm.trans_b, "gemm trans parse");
  tsoO_Value i4[2] = {fv(at, 2, D(3, 2)), fv(bt, 2, D(2, 3))};
  expect_run("gemm transA transB", TSO_OP_GEMM, &p, 2, i4, 2, D(2, 2), (const float[]){58, 64, 139, 154}, 0);
  p.gemm.trans_b = 0;
  tsoO_Value i5[2] = {fv(at, 2, D(3, 2)), fv(b, 2, D(3, 2))};
  expect_run("gemm transA", TSO_OP_GEMM, &p, 2, i5, 2, D(2, 2), (const float[]){58, 64, 139, 154}, 0);

  p = P0();
  p.gemm.alpha = p.gemm.beta = 1.0f;
  tsoO_Value e1[3] = {fv(NULL, 2, D(2, 3)), fv(NULL, 2, D(3, 2)), fv(NULL, 1, D(3))};
  expect_infer_err("gemm C does not broadcast", TSO_OP_GEMM, &p, 3, e1, TSO_ERR_SHAPE);
  tsoO_Value e2[2] = {fv(NULL, 3, D(1, 2, 3)), fv(NULL, 2, D(3, 2))};
  expect_infer_err("gemm A 3-D", TSO_OP_GEMM, &p, 2, e2, TSO_ERR_SHAPE);
  tsoO_Value e3[2] = {fv(NULL, 2, D(2, 3)), fv(NULL, 2, D(2, 2))};
  expect_infer_err("gemm inner dims", TSO_OP_GEMM, &p, 2, e3, TSO_ERR_SHAPE);
  tsoO_Value e4[2] = {fv(NULL, 2, D(2, 3)), mk(TSO_DT_INT64, NULL, 2, D(3, 2))};
  expect_infer_err("gemm int64", TSO_OP_GEMM, &p, 2, e4, TSO_ERR_UNSUPPORTED);
  tsoO_Value o, u1[3] = {fv(NULL, 2, D(-1, 3)), fv(NULL, -1, NULL), fv(NULL, 2, D(5, 7))};
  CHECK(infer(TSO_OP_GEMM, &p, 3, u1, &o) == TSO_OK, "gemm unknowns");
  expect_shape("gemm unknowns (from C)", &o.shape, 2, D(5, 7));
}

/* ---- pools ----------------------------------------------------------- */

static void test_pools(void) {
  float x16[16], x25[25];
  for (int i = 0; i < 16; i++) x16[i] = (float)(i + 1);
  for (int i = 0; i < 25; i++) x25[i] = (float)(i + 1);
  tsoO_Params p;
  tsoO_Attr k2s2[] = {AL("kernel_shape", 2, 2), AL("strides", 2, 2)};
  CHECK(parse(TSO_OP_MAXPOOL, &p, k2s2, 2, 1, 1, 12) == TSO_OK, "maxpool parse");
  CHECK(p.win.group == 0 && p.win.dh == 1, "maxpool canonical params");
  tsoO_Value i16 = fv(x16, 4, D(1, 1, 4, 4)), i25 = fv(x25, 4, D(1, 1, 5, 5));
  expect_run("maxpool 2x2/2", TSO_OP_MAXPOOL, &p, 1, &i16, 4, D(1, 1, 2, 2), (const float[]){6, 8, 14, 16}, 0);
  expect_run("maxpool floor", TSO_OP_MAXPOOL, &p, 1, &i25, 4, D(1, 1, 2, 2), (const float[]){7, 9, 17, 19}, 0);
  tsoO_Attr k2s2c[] = {AL("kernel_shape", 2, 2), AL("strides", 2, 2), AI("ceil_mode", 1)};
  CHECK(parse(TSO_OP_MAXPOOL, &p, k2s2c, 3, 1, 1, 12) == TSO_OK && p.win.ceil_mode == 1, "maxpool ceil parse");
  expect_run("maxpool ceil_mode", TSO_OP_MAXPOOL, &p, 1, &i25, 4, D(1, 1, 3, 3),
             (const float[]){7, 9, 10, 17, 19, 20, 22, 24, 25}, 0);
  /* ceil_mode: the last window would start in the right padding: dropped */
  float r4[4] = {1, 2, 3, 4};
  tsoO_Value ir4 = fv(r4, 4, D(1, 1, 1, 4));
  tsoO_Attr cdrop[] = {AL("kernel_shape", 1, 2), AL("strides", 1, 2), AL("pads", 0, 0, 0, 1), AI("ceil_mode", 1)};
  CHECK(parse(TSO_OP_MAXPOOL, &p, cdrop, 4, 1, 1, 12) == TSO_OK, "maxpool ceil drop parse");
  expect_run("maxpool ceil drops pad-only window", TSO_OP_MAXPOOL, &p, 1, &ir4, 4, D(1, 1, 1, 2),
             (const float[]){2, 4}, 0);
  /* pads count as -inf */
  float neg[2] = {-1, -2};
  tsoO_Value ineg = fv(neg, 4, D(1, 1, 1, 2));
  tsoO_Attr padm[] = {AL("kernel_shape", 1, 2), AL("pads", 0, 1, 0, 1)};
  CHECK(parse(TSO_OP_MAXPOOL, &p, padm, 2, 1, 1, 12) == TSO_OK, "maxpool pads parse");
  expect_run("maxpool pads are -inf", TSO_OP_MAXPOOL, &p, 1, &ineg, 4, D(1, 1, 1, 3), (const float[]){-1, -1, -2},
             0);
  /* dilations */
  float dl[5] = {1, 5, 2, 4, 3};
  tsoO_Value idl = fv(dl, 4, D(1, 1, 1, 5));
  tsoO_Attr dil[] = {AL("kernel_shape", 1, 2), AL("dilations", 1, 2)};
  CHECK(parse(TSO_OP_MAXPOOL, &p, dil, 2, 1, 1, 12) == TSO_OK, "maxpool dilations parse");
  expect_run("maxpool dilations", TSO_OP_MAXPOOL, &p, 1, &idl, 4, D(1, 1, 1, 3), (const float[]){2, 5, 3}, 0);
  expect_parse_unsup("maxpool dilations at opset 9", TSO_OP_MAXPOOL, dil, 2, 1, 1, 9);

  /* average pooling: pads excluded, or included with count_include_pad */
  float r3[3] = {1, 2, 3};
  tsoO_Value ir3 = fv(r3, 4, D(1, 1, 1, 3));
  tsoO_Attr ap[] = {AL("kernel_shape", 1, 2), AL("pads", 0, 1, 0, 1)};
  CHECK(parse(TSO_OP_AVGPOOL, &p, ap, 2, 1, 1, 11) == TSO_OK, "avgpool parse");
  expect_run("avgpool pads excluded", TSO_OP_AVGPOOL, &p, 1, &ir3, 4, D(1, 1, 1, 4),
             (const float[]){1, 1.5f, 2.5f, 3}, 1e-6f);
  tsoO_Attr api[] = {AL("kernel_shape", 1, 2), AL("pads", 0, 1, 0, 1), AI("count_include_pad", 1)};
  CHECK(parse(TSO_OP_AVGPOOL, &p, api, 3, 1, 1, 11) == TSO_OK, "avgpool cip parse");
  expect_run("avgpool count_include_pad", TSO_OP_AVGPOOL, &p, 1, &ir3, 4, D(1, 1, 1, 4),
             (const float[]){0.5f, 1.5f, 2.5f, 1.5f}, 1e-6f);
  tsoO_Attr same[] = {AL("kernel_shape", 1, 3), AS("auto_pad", "SAME_UPPER")};
  CHECK(parse(TSO_OP_AVGPOOL, &p, same, 2, 1, 1, 11) == TSO_OK, "avgpool SAME parse");
  expect_run("avgpool SAME", TSO_OP_AVGPOOL, &p, 1, &ir3, 4, D(1, 1, 1, 3), (const float[]){1.5f, 2, 2.5f}, 1e-6f);
  p.win.count_include_pad = 1;
  expect_run("avgpool SAME cip", TSO_OP_AVGPOOL, &p, 1, &ir3, 4, D(1, 1, 1, 3), (const float[]){1, 2, 5.0f / 3},
             1e-6f);
  /* ceil_mode: the partial last window averages what it covers */
  tsoO_Attr ac[] = {AL("kernel_shape", 2, 2), AL("strides", 2, 2), AI("ceil_mode", 1)};
  CHECK(parse(TSO_OP_AVGPOOL, &p, ac, 3, 1, 1, 11) == TSO_OK, "avgpool ceil parse");
  expect_run("avgpool ceil_mode", TSO_OP_AVGPOOL, &p, 1, &i25, 4, D(1, 1, 3, 3),
             (const float[]){4, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25}, 1e-6f);

  /* randomized against the direct formula */
  pool_case("maxpool rand 3x3/2 pad1", TSO_OP_MAXPOOL, 9, 8, 3, 3, 2, 1, 1, TSO_PAD_EXPLICIT, 0, 0);
  pool_case("maxpool rand ceil", TSO_OP_MAXPOOL, 8, 7, 3, 2, 2, 1, 1, TSO_PAD_EXPLICIT, 1, 0);
  pool_case("maxpool rand SAME_LOWER", TSO_OP_MAXPOOL, 7, 6, 2, 3, 2, 1, 0, TSO_PAD_SAME_LOWER, 0, 0);
  pool_case("maxpool rand dilated", TSO_OP_MAXPOOL, 9, 9, 2, 3, 1, 2, 1, TSO_PAD_EXPLICIT, 1, 0);
  pool_case("avgpool rand excl", TSO_OP_AVGPOOL, 9, 8, 3, 3, 2, 1, 1, TSO_PAD_EXPLICIT, 1, 0);
  pool_case("avgpool rand incl", TSO_OP_AVGPOOL, 9, 8, 3, 3, 2, 1, 2, TSO_PAD_EXPLICIT, 1, 1);
  pool_case("avgpool rand SAME incl", TSO_OP_AVGPOOL, 6, 7, 3, 2, 2, 1, 0, TSO_PAD_SAME_UPPER, 0, 1);
  pool_case("avgpool rand VALID", TSO_OP_AVGPOOL, 7, 6, 3, 2, 2, 1, 0, TSO_PAD_VALID, 1, 0);
  pool_case("avgpool rand dilated", TSO_OP_AVGPOOL, 9, 9, 3, 2, 2, 2, 1, TSO_PAD_EXPLICIT, 0, 1);

  /* errors and unknowns */
  tsoO_Value o;
  tsoO_Attr k3[] = {AL("kernel_shape", 3, 3)};
  CHECK(parse(TSO_OP_MAXPOOL, &p, k3, 1, 1, 1, 12) == TSO_OK, "maxpool k3 parse");
  tsoO_Value small = fv(NULL, 4, D(1, 1, 2, 5));
  expect_infer_err("maxpool window larger than input", TSO_OP_MAXPOOL, &p, 1, &small, TSO_ERR_SHAPE);
  tsoO_Value xi = mk(TSO_DT_INT64, NULL, 4, D(1, 1, 5, 5));
  expect_infer_err("maxpool int64", TSO_OP_MAXPOOL, &p, 1, &xi, TSO_ERR_UNSUPPORTED);
  CHECK(parse(TSO_OP_AVGPOOL, &p, k3, 1, 1, 1, 12) == TSO_OK, "avgpool k3 parse");
  expect_infer_err("avgpool int64", TSO_OP_AVGPOOL, &p, 1, &xi, TSO_ERR_UNSUPPORTED);
  CHECK(parse(TSO_OP_MAXPOOL, &p, k3, 1, 1, 1, 12) == TSO_OK, "maxpool k3 parse");
  tsoO_Value x3d = fv(NULL, 3, D(1, 1, 5));
  expect_infer_err("maxpool 1-D", TSO_OP_MAXPOOL, &p, 1, &x3d, TSO_ERR_UNSUPPORTED);
  p.win.pt = 3;
  tsoO_Value x55 = fv(NULL, 4, D(1, 1, 5, 5));
  expect_infer_err("maxpool pad >= window", TSO_OP_MAXPOOL, &p, 1, &x55, TSO_ERR_SHAPE);
  p.win.pt = 0;
  p.win.sw = -1;
  expect_infer_err("maxpool negative stride", TSO_OP_MAXPOOL, &p, 1, &x55, TSO_ERR_SHAPE);
  p.win.sw = 1;
  tsoO_Value xu = fv(NULL, -1, NULL);
  CHECK(infer(TSO_OP_MAXPOOL, &p, 1, &xu, &o) == TSO_OK, "maxpool unknown rank");
  expect_shape("maxpool unknown rank", &o.shape, 4, D(-1, -1, -1, -1));
  tsoO_Value xu2 = fv(NULL, 4, D(-1, 3, 7, -1));
  CHECK(infer(TSO_OP_MAXPOOL, &p, 1, &xu2, &o) == TSO_OK, "maxpool unknown dims");
  expect_shape("maxpool unknown dims", &o.shape, 4, D(-1, 3, 5, -1));

  tsoO_Attr so[] = {AL("kernel_shape", 2, 2), AI("storage_order", 1)};
  expect_parse_unsup("maxpool storage_order", TSO_OP_MAXPOOL, so, 2, 1, 1, 12);
  expect_parse_unsup("maxpool Indices output", TSO_OP_MAXPOOL, k3, 1, 1, 2, 12);
  tsoO_Attr k1d[] = {AL("kernel_shape", 3)};
  expect_parse_unsup("maxpool 1-D kernel", TSO_OP_MAXPOOL, k1d, 1, 1, 1, 12);
  tsoO_Attr k3d[] = {AL("kernel_shape", 3, 3, 3)};
  expect_parse_unsup("avgpool 3-D kernel", TSO_OP_AVGPOOL, k3d, 1, 1, 1, 12);
  expect_parse_unsup("maxpool no kernel_shape", TSO_OP_MAXPOOL, k3, 0, 1, 1, 12);
  tsoO_Attr badpad[] = {AL("kernel_shape", 2, 2), AS("auto_pad", "SAME_MIDDLE")};
  expect_parse_unsup("maxpool bad auto_pad", TSO_OP_MAXPOOL, badpad, 2, 1, 1, 12);
  tsoO_Attr avgdil[] = {AL("kernel_shape", 2, 2), AL("dilations", 2, 2)};
  expect_parse_unsup("avgpool dilations at opset 18", TSO_OP_AVGPOOL, avgdil, 2, 1, 1, 18);
  CHECK(parse(TSO_OP_AVGPOOL, &p, avgdil, 2, 1, 1, 19) == TSO_OK, "avgpool dilations at opset 19");

  /* global average pool */
  float g[8] = {1, 2, 3, 4, 10, 20, 30, 40};
  tsoO_Value gi = fv(g, 4, D(1, 2, 2, 2));
  p = P0();
  expect_run("gavgpool", TSO_OP_GLOBALAVGPOOL, &p, 1, &gi, 4, D(1, 2, 1, 1), (const float[]){2.5f, 25}, 1e-6f);
  tsoO_Value gi3 = fv(g, 3, D(2, 2, 2));
  expect_run("gavgpool 3-D", TSO_OP_GLOBALAVGPOOL, &p, 1, &gi3, 3, D(2, 2, 1), (const float[]){1.5f, 3.5f, 15, 35},
             1e-6f);
  tsoO_Value g2 = fv(NULL, 2, D(2, 4));
  expect_infer_err("gavgpool rank 2", TSO_OP_GLOBALAVGPOOL, &p, 1, &g2, TSO_ERR_SHAPE);
  tsoO_Value gi64 = mk(TSO_DT_INT64, NULL, 4, D(1, 2, 2, 2));
  expect_infer_err("gavgpool int64", TSO_OP_GLOBALAVGPOOL, &p, 1, &gi64, TSO_ERR_UNSUPPORTED);
  CHECK(infer(TSO_OP_GLOBALAVGPOOL, &p, 1, &xu, &o) == TSO_OK && o.shape.rank == -1, "gavgpool unknown rank");
}

/* ---- normalizations, softmax, reduce ---------------------------------- */

static void test_batchnorm(void) {
  float x[4] = {1, 2, 3, 4}, sc[2] = {1, 2}, b[2] = {0, 1}, mu[2] = {1, 3}, var[2] = {1, 4};
  tsoO_Params p;
  tsoO_Attr eps0[] = {AF("epsilon", 0.0f), AF("momentum", 0.5f)};
  CHECK(parse(TSO_OP_BATCHNORM, &p, eps0, 2, 5, 1, 15) == TSO_OK, "batchnorm parse");
  tsoO_Value in[5] = {fv(x, 4, D(1, 2, 1, 2)), fv(sc, 1, D(2)), fv(b, 1, D(2)), fv(mu, 1, D(2)), fv(var, 1, D(2))};
  expect_run("batchnorm", TSO_OP_BATCHNORM, &p, 5, in, 4, D(1, 2, 1, 2), (const float[]){0, 1, 1, 2}, 1e-6f);
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_BATCHNORM, &p, none, 0, 5, 1, 15) == TSO_OK && p.norm.epsilon == 1e-5f, "batchnorm eps default");
  float ex[4] = {(float)(0 / sqrt(1 + 1e-5)), (float)(1 / sqrt(1 + 1e-5)), (float)(0 * 2 / sqrt(4 + 1e-5) + 1),
                 (float)(1 * 2 / sqrt(4 + 1e-5) + 1)};
  expect_run("batchnorm eps", TSO_OP_BATCHNORM, &p, 5, in, 4, D(1, 2, 1, 2), ex, 1e-6f);
  tsoO_Value e1[5] = {in[0], fv(NULL, 1, D(3)), in[2], in[3], in[4]};
  expect_infer_err("batchnorm scale size", TSO_OP_BATCHNORM, &p, 5, e1, TSO_ERR_SHAPE);
  tsoO_Value e2[5] = {mk(TSO_DT_INT64, NULL, 4, D(1, 2, 1, 2)), in[1], in[2], in[3], in[4]};
  expect_infer_err("batchnorm int64", TSO_OP_BATCHNORM, &p, 5, e2, TSO_ERR_UNSUPPORTED);
  tsoO_Attr tm[] = {AI("training_mode", 1)};
  expect_parse_unsup("batchnorm training_mode", TSO_OP_BATCHNORM, tm, 1, 5, 1, 15);
  expect_parse_unsup("batchnorm 3 outputs", TSO_OP_BATCHNORM, none, 0, 5, 3, 15);
  tsoO_Attr sp[] = {AI("spatial", 0)};
  expect_parse_unsup("batchnorm spatial=0", TSO_OP_BATCHNORM, sp, 1, 5, 1, 8);
  tsoO_Value o, u[5] = {fv(NULL, 4, D(-1, -1, 7, 7)), fv(NULL, 1, D(8)), in[2], fv(NULL, -1, NULL), in[4]};
  u[2] = fv(NULL, 1, D(8));
  u[4] = fv(NULL, 1, D(-1));
  CHECK(infer(TSO_OP_BATCHNORM, &p, 5, u, &o) == TSO_OK, "batchnorm unknowns");
  expect_shape("batchnorm unknowns", &o.shape, 4, D(-1, -1, 7, 7));
}

static void test_softmax(void) {
  float x[4] = {1, 2, 3, 3};
  float e = (float)exp(1.0);
  tsoO_Params p;
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_SOFTMAX, &p, none, 0, 1, 1, 13) == TSO_OK && p.axis.axis == -1 && !p.axis.legacy,
        "softmax opset 13 defaults");
  tsoO_Value in = fv(x, 2, D(2, 2));
  expect_run("softmax last axis", TSO_OP_SOFTMAX, &p, 1, &in, 2, D(2, 2),
             (const float[]){1 / (1 + e), e / (1 + e), 0.5f, 0.5f}, 1e-6f);
  p.axis.axis = 0;
  float e2 = e * e;
  expect_run("softmax axis 0", TSO_OP_SOFTMAX, &p, 1, &in, 2, D(2, 2),
             (const float[]){1 / (1 + e2), 1 / (1 + e), e2 / (1 + e2), e / (1 + e)}, 1e-6f);
  /* values log(k): legacy axis 1 normalizes all 4 (coerced to [1, 4]);
  ** opset 13 axis 1 normalizes along dim 1 only */
  float lx[4] = {logf(1), logf(2), logf(3), logf(4)};
  tsoO_Value li = fv(lx, 3, D(1, 2, 2));
  CHECK(parse(TSO_OP_SOFTMAX, &p, none, 0, 1, 1, 11) == TSO_OK && p.axis.axis == 1 && p.axis.legacy,
        "softmax legacy defaults");
  expect_run("softmax legacy", TSO_OP_SOFTMAX, &p, 1, &li, 3, D(1, 2, 2), (const float[]){0.1f, 0.2f, 0.3f, 0.4f},
             1e-6f);
  tsoO_Attr ax1[] = {AI("axis", 1)};
  CHECK(parse(TSO_OP_SOFTMAX, &p, ax1, 1, 1, 1, 13) == TSO_OK && !p.axis.legacy, "softmax axis 1 parse");
  expect_run("softmax axis 1 (opset 13)", TSO_OP_SOFTMAX, &p, 1, &li, 3, D(1, 2, 2),
             (const float[]){0.25f, 1.0f / 3, 0.75f, 2.0f / 3}, 1e-6f);
  tsoO_Attr ax2[] = {AI("axis", 2)};
  CHECK(parse(TSO_OP_SOFTMAX, &p, ax2, 1, 1, 1, 11) == TSO_OK, "softmax legacy axis 2 parse");
  expect_run("softmax legacy axis 2", TSO_OP_SOFTMAX, &p, 1, &li, 3, D(1, 2, 2),
             (const float[]){1.0f / 3, 2.0f / 3, 3.0f / 7, 4.0f / 7}, 1e-6f);
  tsoO_Attr ax0[] = {AI("axis", 0)};
  CHECK(parse(TSO_OP_SOFTMAX, &p, ax0, 1, 1, 1, 11) == TSO_OK, "softmax legacy axis 0 parse");
  expect_run("softmax legacy axis 0", TSO_OP_SOFTMAX, &p, 1, &li, 3, D(1, 2, 2),
             (const float[]){0.1f, 0.2f, 0.3f, 0.4f}, 1e-6f);
  /* large values do not overflow */
  float big[2] = {1000, 1000};
  tsoO_Value bi = fv(big, 1, D(2));
  p = P0();
  p.axis.axis = -1;
  expect_run("softmax large values", TSO_OP_SOFTMAX, &p, 1, &bi, 1, D(2), (const float[]){0.5f, 0.5f}, 1e-6f);

  p.axis.axis = 2;
  expect_infer_err("softmax bad axis", TSO_OP_SOFTMAX, &p, 1, &in, TSO_ERR_SHAPE);
  p.axis.axis = -1;
  tsoO_Value xi = mk(TSO_DT_INT64, NULL, 2, D(2, 2));
  expect_infer_err("softmax int64", TSO_OP_SOFTMAX, &p, 1, &xi, TSO_ERR_UNSUPPORTED);
  tsoO_Value o, xu = fv(NULL, -1, NULL), xd = fv(NULL, 2, D(-1, 5));
  CHECK(infer(TSO_OP_SOFTMAX, &p, 1, &xu, &o) == TSO_OK && o.shape.rank == -1, "softmax unknown rank");
  CHECK(infer(TSO_OP_SOFTMAX, &p, 1, &xd, &o) == TSO_OK, "softmax unknown dim");
  expect_shape("softmax unknown dim", &o.shape, 2, D(-1, 5));
}

static void test_reducemean(void) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  tsoO_Value in = fv(x, 2, D(2, 3)), o;
  tsoO_Params p;
  tsoO_Attr a1[] = {AL("axes", 1)};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, a1, 1, 1, 1, 13) == TSO_OK && p.axes.keepdims == 1 && p.axes.has_axes,
        "reducemean parse");
  expect_run("reducemean axis 1 keepdims", TSO_OP_REDUCEMEAN, &p, 1, &in, 2, D(2, 1), (const float[]){2, 5}, 1e-6f);
  tsoO_Attr a0[] = {AL("axes", -2), AI("keepdims", 0)};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, a0, 2, 1, 1, 13) == TSO_OK, "reducemean parse 2");
  expect_run("reducemean axis -2", TSO_OP_REDUCEMEAN, &p, 1, &in, 1, D(3), (const float[]){2.5f, 3.5f, 4.5f},
             1e-6f);
  tsoO_Attr kd0[] = {AI("keepdims", 0)};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, kd0, 1, 1, 1, 13) == TSO_OK, "reducemean parse all");
  expect_run("reducemean all", TSO_OP_REDUCEMEAN, &p, 1, &in, 0, NULL, (const float[]){3.5f}, 1e-6f);
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, none, 0, 1, 1, 13) == TSO_OK, "reducemean parse defaults");
  expect_run("reducemean all keepdims", TSO_OP_REDUCEMEAN, &p, 1, &in, 2, D(1, 1), (const float[]){3.5f}, 1e-6f);
  /* 3-D, two non-adjacent axes, checked against a naive sum */
  float *r = rand_buf(24), ref[3];
  for (int j = 0; j < 3; j++) {
    double s = 0;
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++) s += r[(i * 3 + j) * 4 + k];
    ref[j] = (float)(s / 8);
  }
  tsoO_Attr a02[] = {AL("axes", 0, 2)};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, a02, 1, 1, 1, 13) == TSO_OK, "reducemean parse 0,2");
  tsoO_Value ri = fv(r, 3, D(2, 3, 4));
  expect_run("reducemean axes 0,2", TSO_OP_REDUCEMEAN, &p, 1, &ri, 3, D(1, 3, 1), ref, 1e-5f);
  free(r);

  /* opset 18: axes as an input */
  int64_t ax[1] = {-1}, axbad[1] = {2}, axdup[2] = {1, -1};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, none, 0, 2, 1, 18) == TSO_OK && !p.axes.has_axes, "reducemean 18 parse");
  tsoO_Value i18[2] = {in, mk(TSO_DT_INT64, ax, 1, D(1))};
  expect_run("reducemean 18 axes input", TSO_OP_REDUCEMEAN, &p, 2, i18, 2, D(2, 1), (const float[]){2, 5}, 1e-6f);
  tsoO_Value i18u[2] = {in, mk(TSO_DT_INT64, NULL, 1, D(1))};
  CHECK(infer(TSO_OP_REDUCEMEAN, &p, 2, i18u, &o) == TSO_OK, "reducemean 18 non-constant axes");
  expect_shape("reducemean 18 non-constant axes", &o.shape, 2, D(-1, -1));
  tsoO_Attr noop[] = {AI("noop_with_empty_axes", 1)};
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, noop, 1, 1, 1, 18) == TSO_OK && p.axes.noop_empty, "reducemean noop parse");
  expect_run("reducemean noop", TSO_OP_REDUCEMEAN, &p, 1, &in, 2, D(2, 3), x, 0);
  tsoO_Value iempty[2] = {in, mk(TSO_DT_INT64, ax, 1, D(0))};
  expect_run("reducemean noop empty axes input", TSO_OP_REDUCEMEAN, &p, 2, iempty, 2, D(2, 3), x, 0);
  expect_parse_unsup("reducemean axes attribute at 18", TSO_OP_REDUCEMEAN, a1, 1, 1, 1, 18);
  expect_parse_unsup("reducemean noop at 13", TSO_OP_REDUCEMEAN, noop, 1, 1, 1, 13);

  CHECK(parse(TSO_OP_REDUCEMEAN, &p, none, 0, 2, 1, 18) == TSO_OK, "reducemean 18 parse");
  tsoO_Value e1[2] = {in, mk(TSO_DT_INT64, axbad, 1, D(1))};
  expect_infer_err("reducemean axis out of range", TSO_OP_REDUCEMEAN, &p, 2, e1, TSO_ERR_SHAPE);
  tsoO_Value e2[2] = {in, mk(TSO_DT_INT64, axdup, 1, D(2))};
  expect_infer_err("reducemean repeated axis", TSO_OP_REDUCEMEAN, &p, 2, e2, TSO_ERR_SHAPE);
  tsoO_Value e3[2] = {in, fv(NULL, 1, D(1))};
  expect_infer_err("reducemean float axes", TSO_OP_REDUCEMEAN, &p, 2, e3, TSO_ERR_UNSUPPORTED);
  tsoO_Value e4 = mk(TSO_DT_INT64, NULL, 2, D(2, 3));
  expect_infer_err("reducemean int64 data", TSO_OP_REDUCEMEAN, &p, 1, &e4, TSO_ERR_UNSUPPORTED);
  tsoO_Value xu = fv(NULL, -1, NULL);
  CHECK(infer(TSO_OP_REDUCEMEAN, &p, 1, &xu, &o) == TSO_OK && o.shape.rank == -1, "reducemean unknown rank");
}

static void test_layernorm(void) {
  float x[4] = {1, 3, 2, 4}, sc[2] = {2, 3}, b[2] = {1, 1};
  tsoO_Params p;
  tsoO_Attr eps0[] = {AF("epsilon", 0.0f)};
  CHECK(parse(TSO_OP_LAYERNORM, &p, eps0, 1, 3, 1, 17) == TSO_OK && p.norm.axis == -1, "layernorm parse");
  tsoO_Value in[3] = {fv(x, 2, D(2, 2)), fv(sc, 1, D(2)), fv(b, 1, D(2))};
  expect_run("layernorm", TSO_OP_LAYERNORM, &p, 3, in, 2, D(2, 2), (const float[]){-1, 4, -1, 4}, 1e-6f);
  expect_run("layernorm no B", TSO_OP_LAYERNORM, &p, 2, in, 2, D(2, 2), (const float[]){-2, 3, -2, 3}, 1e-6f);
  /* axis 0 over everything: mean 2.5, var 1.25 */
  p.norm.axis = 0;
  float s = (float)sqrt(1.25);
  float sc4[4] = {1, 1, 1, 1};
  tsoO_Value i0[2] = {in[0], fv(sc4, 2, D(2, 2))};
  expect_run("layernorm axis 0", TSO_OP_LAYERNORM, &p, 2, i0, 2, D(2, 2), (const float[]){-1.5f / s, 0.5f / s, -0.5f / s, 1.5f / s},
             1e-6f);
  /* scale broadcast from [1] */
  float one[1] = {2};
  tsoO_Value i1[2] = {in[0], fv(one, 1, D(1))};
  expect_run("layernorm scalar-like scale", TSO_OP_LAYERNORM, &p, 2, i1, 2, D(2, 2),
             (const float[]){-3 / s, 1 / s, -1 / s, 3 / s}, 1e-6f);
  /* eps default and a randomized row check */
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_LAYERNORM, &p, none, 0, 3, 1, 17) == TSO_OK && p.norm.epsilon == 1e-5f, "layernorm defaults");
  float *r = rand_buf(12), *rs = rand_buf(4), *rb = rand_buf(4), ref[12];
  for (int i = 0; i < 3; i++) {
    double m = 0, v = 0;
    for (int j = 0; j < 4; j++) m += r[i * 4 + j];
    m /= 4;
    for (int j = 0; j < 4; j++) v += (r[i * 4 + j] - m) * (r[i * 4 + j] - m);
    v /= 4;
    for (int j = 0; j < 4; j++) ref[i * 4 + j] = (float)((r[i * 4 + j] - m) / sqrt(v + 1e-5) * rs[j] + rb[j]);
  }
  tsoO_Value ir[3] = {fv(r, 2, D(3, 4)), fv(rs, 1, D(4)), fv(rb, 1, D(4))};
  expect_run("layernorm random", TSO_OP_LAYERNORM, &p, 3, ir, 2, D(3, 4), ref, 1e-5f);
  free(r); free(rs); free(rb);

  p.norm.axis = 2;
  expect_infer_err("layernorm bad axis", TSO_OP_LAYERNORM, &p, 2, in, TSO_ERR_SHAPE);
  p.norm.axis = -1;
  tsoO_Value e1[2] = {in[0], fv(NULL, 1, D(3))};
  expect_infer_err("layernorm scale shape", TSO_OP_LAYERNORM, &p, 2, e1, TSO_ERR_SHAPE);
  tsoO_Value e2[2] = {mk(TSO_DT_INT64, NULL, 2, D(2, 2)), in[1]};
  expect_infer_err("layernorm int64", TSO_OP_LAYERNORM, &p, 2, e2, TSO_ERR_UNSUPPORTED);
  expect_parse_unsup("layernorm 4 outputs", TSO_OP_LAYERNORM, none, 0, 3, 4, 17);
  tsoO_Attr st[] = {AI("stash_type", 11)};
  expect_parse_unsup("layernorm stash_type", TSO_OP_LAYERNORM, st, 1, 3, 1, 17);
  expect_parse_unsup("layernorm opset 16", TSO_OP_LAYERNORM, none, 0, 3, 1, 16);
  tsoO_Value o, u[2] = {fv(NULL, 3, D(-1, -1, 8)), fv(NULL, -1, NULL)};
  CHECK(infer(TSO_OP_LAYERNORM, &p, 2, u, &o) == TSO_OK, "layernorm unknowns");
  expect_shape("layernorm unknowns", &o.shape, 3, D(-1, -1, 8));
}

/* LayerNormalization's Mean and InvStdDev outputs: X's shape with the
** normalized dimensions 1, per row the mean and 1/sqrt(var + epsilon). */
static void test_layernorm_stats(void) {
  tsoO_Attr eps0[] = {AF("epsilon", 0.0f)}, ax0[] = {AI("axis", 0), AF("epsilon", 0.0f)};
  tsoO_Params p;
  /* rows [1,3]: mean 2, var 1; [2,6]: mean 4, var 4 */
  float x[4] = {1, 3, 2, 6}, sc[2] = {1, 1};
  tsoO_Value in[2] = {fv(x, 2, D(2, 2)), fv(sc, 1, D(2))}, out[3];
  CHECK(parse(TSO_OP_LAYERNORM, &p, eps0, 1, 2, 3, 17) == TSO_OK, "layernorm 3 outputs parse");
  parse_roundtrip("layernorm 3 outputs", TSO_OP_LAYERNORM, eps0, 1, 2, 3, 17);
  memset(out, 0, sizeof out);
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->infer(&p, 2, in, 3, out, err) == TSO_OK, "layernorm 3 outputs infer");
  expect_shape("layernorm Y", &out[0].shape, 2, D(2, 2));
  expect_shape("layernorm Mean", &out[1].shape, 2, D(2, 1));
  expect_shape("layernorm InvStdDev", &out[2].shape, 2, D(2, 1));
  CHECK(out[1].dtype == TSO_DT_FLOAT && out[2].dtype == TSO_DT_FLOAT, "layernorm stats are float32");
  float y[4], mean[2], inv[2];
  out[0].data = y, out[1].data = mean, out[2].data = inv;
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->eval(&p, 2, in, 3, out, err) == TSO_OK, "layernorm 3 outputs eval");
  expect_vals("layernorm Y", y, (const float[]){-1, 1, -1, 1}, 4, 1e-6f);
  expect_vals("layernorm Mean", mean, (const float[]){2, 4}, 2, 1e-6f);
  expect_vals("layernorm InvStdDev", inv, (const float[]){1, 0.5f}, 2, 1e-6f);
  /* Y and Mean only */
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->eval(&p, 2, in, 2, out, err) == TSO_OK, "layernorm 2 outputs eval");
  expect_vals("layernorm Mean (2 outputs)", mean, (const float[]){2, 4}, 2, 1e-6f);
  /* a Mean buffer of the wrong shape is refused */
  out[1].shape.d[1] = 2;
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->eval(&p, 2, in, 3, out, err) == TSO_ERR_ARG, "layernorm bad Mean buffer");
  out[1].shape.d[1] = 1;
  out[2].data = NULL;
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->eval(&p, 2, in, 3, out, err) == TSO_ERR_ARG, "layernorm no InvStdDev buffer");

  /* axis 0: one row of all 4 elements, mean 3, var (4+0+1+9)/4 = 3.5 */
  float sc4[4] = {1, 1, 1, 1};
  tsoO_Value i0[2] = {in[0], fv(sc4, 2, D(2, 2))};
  CHECK(parse(TSO_OP_LAYERNORM, &p, ax0, 2, 2, 3, 17) == TSO_OK, "layernorm axis 0 parse");
  memset(out, 0, sizeof out);
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->infer(&p, 2, i0, 3, out, err) == TSO_OK, "layernorm axis 0 infer");
  expect_shape("layernorm axis 0 Mean", &out[1].shape, 2, D(1, 1));
  out[0].data = y, out[1].data = mean, out[2].data = inv;
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->eval(&p, 2, i0, 3, out, err) == TSO_OK, "layernorm axis 0 eval");
  expect_vals("layernorm axis 0 Mean", mean, (const float[]){3}, 1, 1e-6f);
  expect_vals("layernorm axis 0 InvStdDev", inv, (const float[]){(float)(1 / sqrt(3.5))}, 1, 1e-6f);

  /* 3-D, axis 1, epsilon 1: rows [0,1,2,3] (mean 1.5, var 1.25) and [4,4,4,4] */
  tsoO_Attr ax1[] = {AI("axis", 1), AF("epsilon", 1.0f)};
  float x3[8] = {0, 1, 2, 3, 4, 4, 4, 4}, y3[8], m3[2], v3[2];
  tsoO_Value i3[2] = {fv(x3, 3, D(2, 2, 2)), fv(sc4, 2, D(2, 2))};
  CHECK(parse(TSO_OP_LAYERNORM, &p, ax1, 2, 2, 3, 17) == TSO_OK, "layernorm 3-D parse");
  memset(out, 0, sizeof out);
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->infer(&p, 2, i3, 3, out, err) == TSO_OK, "layernorm 3-D infer");
  expect_shape("layernorm 3-D InvStdDev", &out[2].shape, 3, D(2, 1, 1));
  out[0].data = y3, out[1].data = m3, out[2].data = v3;
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->eval(&p, 2, i3, 3, out, err) == TSO_OK, "layernorm 3-D eval");
  expect_vals("layernorm 3-D Mean", m3, (const float[]){1.5f, 4}, 2, 1e-6f);
  expect_vals("layernorm 3-D InvStdDev", v3, (const float[]){(float)(1 / sqrt(2.25)), 1}, 2, 1e-6f);
  expect_vals("layernorm 3-D Y", y3, (const float[]){-1, -1 / 3.0f, 1 / 3.0f, 1, 0, 0, 0, 0}, 8, 1e-6f);

  /* unknown dimensions and rank */
  tsoO_Value u[2] = {fv(NULL, 3, D(-1, 3, 4)), fv(NULL, -1, NULL)};
  memset(out, 0, sizeof out);
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->infer(&p, 2, u, 3, out, err) == TSO_OK, "layernorm stats unknowns");
  expect_shape("layernorm stats unknowns", &out[1].shape, 3, D(-1, 1, 1));
  u[0] = fv(NULL, -1, NULL);
  CHECK(tsoO_info(TSO_OP_LAYERNORM)->infer(&p, 2, u, 3, out, err) == TSO_OK && out[1].shape.rank == -1 &&
            out[2].shape.rank == -1,
        "layernorm stats of unknown rank");
}

/* ---- generator-only operators ---------------------------------------- */

static void test_generator_ops(void) {
  tsoO_Params p = P0();
  tsoO_Attr none[1] = {AI("unused", 0)};
  tsoO_AttrSet as;
  static const int gen_ops[] = {TSO_OP_ENLARGE, TSO_OP_CONST_IKERNEL, TSO_OP_CONST_IMATRIX, TSO_OP_CONST_ONES,
                                TSO_OP_CONST_POOL};
  for (int i = 0; i < NA(gen_ops); i++) {
    CHECK(parse(gen_ops[i], &p, none, 0, 0, 1, 13) == TSO_ERR_UNSUPPORTED, "generator op %d parse", gen_ops[i]);
    CHECK(tsoO_info(gen_ops[i])->emit(&p, 13, &as) == TSO_ERR_UNSUPPORTED, "generator op %d emit", gen_ops[i]);
  }

  /* enlarge */
  float k[2] = {5, 6};
  p = P0();
  p.enlarge.kh = 3;
  p.enlarge.kw = 3;
  tsoO_Value in = fv(k, 4, D(2, 1, 1, 1));
  expect_run("enlarge 1x1 -> 3x3", TSO_OP_ENLARGE, &p, 1, &in, 4, D(2, 1, 3, 3),
             (const float[]){0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0}, 0);
  float k31[3] = {1, 2, 3};
  tsoO_Value i31 = fv(k31, 4, D(1, 1, 3, 1));
  expect_run("enlarge 3x1 -> 3x3", TSO_OP_ENLARGE, &p, 1, &i31, 4, D(1, 1, 3, 3),
             (const float[]){0, 1, 0, 0, 2, 0, 0, 3, 0}, 0);
  tsoO_Value e1 = fv(NULL, 4, D(1, 1, 2, 1));
  expect_infer_err("enlarge odd difference", TSO_OP_ENLARGE, &p, 1, &e1, TSO_ERR_SHAPE);
  tsoO_Value e2 = fv(NULL, 4, D(1, 1, 5, 1));
  expect_infer_err("enlarge smaller target", TSO_OP_ENLARGE, &p, 1, &e2, TSO_ERR_SHAPE);
  tsoO_Value o, u = fv(NULL, -1, NULL);
  CHECK(infer(TSO_OP_ENLARGE, &p, 1, &u, &o) == TSO_OK, "enlarge unknown rank");
  expect_shape("enlarge unknown rank", &o.shape, 4, D(-1, -1, 3, 3));
  tsoO_Value ei = mk(TSO_DT_INT64, NULL, 4, D(1, 1, 1, 1));
  expect_infer_err("enlarge int64", TSO_OP_ENLARGE, &p, 1, &ei, TSO_ERR_UNSUPPORTED);

  /* constants */
  p = P0();
  p.cgen.rank = 2;
  p.cgen.dims[0] = p.cgen.dims[1] = 3;
  expect_run("const_imatrix", TSO_OP_CONST_IMATRIX, &p, 0, NULL, 2, D(3, 3),
             (const float[]){1, 0, 0, 0, 1, 0, 0, 0, 1}, 0);
  p.cgen.dims[1] = 2;
  expect_run("const_ones", TSO_OP_CONST_ONES, &p, 0, NULL, 2, D(3, 2), (const float[]){1, 1, 1, 1, 1, 1}, 0);
  expect_infer_err("const_imatrix non-square", TSO_OP_CONST_IMATRIX, &p, 0, NULL, TSO_ERR_SHAPE);
  p.cgen.dims[1] = 0;
  expect_infer_err("const_ones zero dim", TSO_OP_CONST_ONES, &p, 0, NULL, TSO_ERR_SHAPE);
  p = P0();
  expect_run("const_ones scalar", TSO_OP_CONST_ONES, &p, 0, NULL, 0, NULL, (const float[]){1}, 0);
  p.cgen.rank = 4;
  p.cgen.dims[0] = p.cgen.dims[1] = 2;
  p.cgen.dims[2] = 1;
  p.cgen.dims[3] = 3;
  expect_run("const_ikernel", TSO_OP_CONST_IKERNEL, &p, 0, NULL, 4, D(2, 2, 1, 3),
             (const float[]){0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 0);
  float t = 1.0f / 3;
  expect_run("const_pool", TSO_OP_CONST_POOL, &p, 0, NULL, 4, D(2, 2, 1, 3),
             (const float[]){t, t, t, 0, 0, 0, 0, 0, 0, t, t, t}, 0);
  p.cgen.dims[3] = 2;
  expect_infer_err("const_ikernel even", TSO_OP_CONST_IKERNEL, &p, 0, NULL, TSO_ERR_SHAPE);
  p.cgen.dims[1] = 3;
  expect_infer_err("const_pool not square", TSO_OP_CONST_POOL, &p, 0, NULL, TSO_ERR_SHAPE);

  /* conv with the identity kernel is the identity; with the pool kernel
  ** it is average pooling with SAME padding and count_include_pad */
  float *x = rand_buf(2 * 3 * 5 * 6);
  tsoO_Value kv;
  p = P0();
  p.cgen.rank = 4;
  p.cgen.dims[0] = p.cgen.dims[1] = p.cgen.dims[2] = p.cgen.dims[3] = 3;
  CHECK(run(TSO_OP_CONST_IKERNEL, &p, 0, NULL, &kv) == TSO_OK, "ikernel 3x3");
  tsoO_Params c = P0();
  c.win.sh = c.win.sw = c.win.dh = c.win.dw = c.win.group = 1;
  c.win.pad_mode = TSO_PAD_SAME_UPPER;
  tsoO_Value ci[2] = {fv(x, 4, D(2, 3, 5, 6)), kv};
  expect_run("conv with identity kernel", TSO_OP_CONV2D, &c, 2, ci, 4, D(2, 3, 5, 6), x, 1e-6f);
  free(kv.data);
  CHECK(run(TSO_OP_CONST_POOL, &p, 0, NULL, &kv) == TSO_OK, "pool kernel 3x3");
  ci[1] = kv;
  tsoO_Params ap = P0();
  ap.win.kh = ap.win.kw = 3;
  ap.win.sh = ap.win.sw = ap.win.dh = ap.win.dw = 1;
  ap.win.pad_mode = TSO_PAD_SAME_UPPER;
  ap.win.count_include_pad = 1;
  tsoO_Value pooled;
  CHECK(run(TSO_OP_AVGPOOL, &ap, 1, ci, &pooled) == TSO_OK, "avgpool for pool kernel");
  expect_run("conv with pool kernel", TSO_OP_CONV2D, &c, 2, ci, 4, D(2, 3, 5, 6), pooled.data, 1e-5f);
  free(pooled.data);
  free(kv.data);
  free(x);
}

/* ---- parse / emit ----------------------------------------------------- */

static void test_roundtrips(void) {
  tsoO_Params p;
  tsoO_AttrSet as;
  tsoO_Attr none[1] = {AI("unused", 0)};
  CHECK(parse(TSO_OP_CONV2D, &p, none, 0, 2, 1, 13) == TSO_OK && tsoO_info(TSO_OP_CONV2D)->emit(&p, 13, &as) == 0 &&
            as.n == 0,
        "conv defaults emit nothing");
  tsoO_Attr c1[] = {AL("kernel_shape", 3, 5), AL("strides", 2, 1), AL("pads", 1, 2, 3, 4), AL("dilations", 1, 2),
                    AI("group", 4)};
  parse_roundtrip("conv full", TSO_OP_CONV2D, c1, NA(c1), 3, 1, 13);
  tsoO_Attr c2[] = {AS("auto_pad", "SAME_LOWER"), AL("strides", 2, 2)};
  parse_roundtrip("conv SAME_LOWER", TSO_OP_CONV2D, c2, NA(c2), 2, 1, 13);
  tsoO_Attr c3[] = {AS("auto_pad", "VALID"), AL("pads", 0, 0, 0, 0)};
  parse_roundtrip("conv VALID", TSO_OP_CONV2D, c3, NA(c3), 2, 1, 13);
  tsoO_Attr c4[] = {AS("auto_pad", "NOTSET"), AL("kernel_shape", 1, 1)};
  parse_roundtrip("conv NOTSET", TSO_OP_CONV2D, c4, NA(c4), 2, 1, 13);
  CHECK(parse(TSO_OP_CONV2D, &p, c1, NA(c1), 3, 1, 13) == TSO_OK, "conv parse");
  p.win.act = TSO_ACT_RELU;
  CHECK(tsoO_info(TSO_OP_CONV2D)->emit(&p, 13, &as) == TSO_ERR_UNSUPPORTED, "conv+relu emit unsupported");
  tsoO_Attr cbad[] = {AS("auto_pad", "SAME_UPPER"), AL("pads", 1, 1, 1, 1)};
  expect_parse_unsup("conv auto_pad with pads", TSO_OP_CONV2D, cbad, NA(cbad), 2, 1, 13);
  tsoO_Attr cst0[] = {AL("strides", 0, 1)};
  expect_parse_unsup("conv stride 0", TSO_OP_CONV2D, cst0, 1, 2, 1, 13);
  tsoO_Attr cunk[] = {AI("foo", 1)};
  expect_parse_unsup("conv unknown attribute", TSO_OP_CONV2D, cunk, 1, 2, 1, 13);
  tsoO_Attr c1d[] = {AL("strides", 1)};
  expect_parse_unsup("conv 1-D strides", TSO_OP_CONV2D, c1d, 1, 2, 1, 13);
  tsoO_Attr ckind[] = {AF("group", 2.0f)};
  expect_parse_unsup("conv group as float", TSO_OP_CONV2D, ckind, 1, 2, 1, 13);

  tsoO_Attr m1[] = {AL("kernel_shape", 3, 3), AL("strides", 2, 2), AL("pads", 1, 1, 1, 1), AI("ceil_mode", 1),
                    AL("dilations", 2, 1)};
  parse_roundtrip("maxpool full", TSO_OP_MAXPOOL, m1, NA(m1), 1, 1, 12);
  tsoO_Attr m2[] = {AL("kernel_shape", 2, 2), AS("auto_pad", "SAME_UPPER"), AI("storage_order", 0)};
  parse_roundtrip("maxpool SAME", TSO_OP_MAXPOOL, m2, NA(m2), 1, 1, 8);
  tsoO_Attr a1[] = {AL("kernel_shape", 3, 3), AL("pads", 0, 1, 0, 1), AI("count_include_pad", 1),
                    AI("ceil_mode", 1)};
  parse_roundtrip("avgpool full", TSO_OP_AVGPOOL, a1, NA(a1), 1, 1, 11);
  tsoO_Attr a2[] = {AL("kernel_shape", 3, 3), AL("dilations", 2, 2)};
  parse_roundtrip("avgpool dilations 19", TSO_OP_AVGPOOL, a2, NA(a2), 1, 1, 19);
  CHECK(parse(TSO_OP_AVGPOOL, &p, a2, NA(a2), 1, 1, 19) == TSO_OK &&
            tsoO_info(TSO_OP_AVGPOOL)->emit(&p, 18, &as) == TSO_ERR_UNSUPPORTED,
        "avgpool dilations cannot be emitted at opset 18");

  tsoO_Attr g1[] = {AF("alpha", 0.5f), AF("beta", 2.0f), AI("transA", 1), AI("transB", 1)};
  parse_roundtrip("gemm full", TSO_OP_GEMM, g1, NA(g1), 3, 1, 13);
  parse_roundtrip("gemm opset 6", TSO_OP_GEMM, g1, NA(g1), 3, 1, 6);
  tsoO_Attr g2[] = {AF("beta", 0.0f)};
  parse_roundtrip("gemm beta 0", TSO_OP_GEMM, g2, NA(g2), 3, 1, 13);
  parse_roundtrip("matmul", TSO_OP_MATMUL, none, 0, 2, 1, 13);
  parse_roundtrip("gavgpool", TSO_OP_GLOBALAVGPOOL, none, 0, 1, 1, 13);
  tsoO_Attr mmbad[] = {AI("transA", 1)};
  expect_parse_unsup("matmul with attribute", TSO_OP_MATMUL, mmbad, 1, 2, 1, 13);

  tsoO_Attr b1[] = {AF("epsilon", 1e-3f), AF("momentum", 0.99f)};
  parse_roundtrip("batchnorm", TSO_OP_BATCHNORM, b1, NA(b1), 5, 1, 15);
  tsoO_Attr b6[] = {AI("is_test", 1), AF("epsilon", 1e-3f)};
  parse_roundtrip("batchnorm opset 6", TSO_OP_BATCHNORM, b6, NA(b6), 5, 1, 6);
  expect_parse_unsup("batchnorm opset 6 without is_test", TSO_OP_BATCHNORM, none, 0, 5, 1, 6);

  tsoO_Attr s1[] = {AI("axis", 0)};
  parse_roundtrip("softmax 13 axis 0", TSO_OP_SOFTMAX, s1, 1, 1, 1, 13);
  parse_roundtrip("softmax 11 axis 0", TSO_OP_SOFTMAX, s1, 1, 1, 1, 11);
  parse_roundtrip("softmax 11 default", TSO_OP_SOFTMAX, none, 0, 1, 1, 11);
  parse_roundtrip("softmax 13 default", TSO_OP_SOFTMAX, none, 0, 1, 1, 13);
  CHECK(parse(TSO_OP_SOFTMAX, &p, s1, 1, 1, 1, 11) == TSO_OK &&
            tsoO_info(TSO_OP_SOFTMAX)->emit(&p, 13, &as) == TSO_ERR_UNSUPPORTED,
        "legacy softmax axis 0 cannot be emitted at opset 13");
  tsoO_Attr sm1[] = {AI("axis", -1)};
  CHECK(parse(TSO_OP_SOFTMAX, &p, sm1, 1, 1, 1, 11) == TSO_OK &&
            tsoO_info(TSO_OP_SOFTMAX)->emit(&p, 13, &as) == TSO_OK && as.n == 0,
        "legacy softmax axis -1 emits as opset-13 default");

  tsoO_Attr r1[] = {AL("axes", 0, -1), AI("keepdims", 0)};
  parse_roundtrip("reducemean 13", TSO_OP_REDUCEMEAN, r1, NA(r1), 1, 1, 13);
  parse_roundtrip("reducemean 13 default", TSO_OP_REDUCEMEAN, none, 0, 1, 1, 13);
  tsoO_Attr r2[] = {AI("keepdims", 0), AI("noop_with_empty_axes", 1)};
  parse_roundtrip("reducemean 18", TSO_OP_REDUCEMEAN, r2, NA(r2), 2, 1, 18);
  CHECK(parse(TSO_OP_REDUCEMEAN, &p, r1, NA(r1), 1, 1, 13) == TSO_OK &&
            tsoO_info(TSO_OP_REDUCEMEAN)->emit(&p, 18, &as) == TSO_ERR_UNSUPPORTED,
        "reducemean attribute axes cannot be emitted at opset 18");

  tsoO_Attr l1[] = {AI("axis", 1), AF("epsilon", 1e-6f), AI("stash_type", 1)};
  parse_roundtrip("layernorm", TSO_OP_LAYERNORM, l1, NA(l1), 3, 1, 17);
  parse_roundtrip("layernorm default", TSO_OP_LAYERNORM, none, 0, 2, 1, 17);
}

int main(void) {
  printf("test_ops_nn: random seed 0x%016llx\n", (unsigned long long)rng_state);
  test_conv();
  test_matmul();
  test_gemm();
  test_pools();
  test_batchnorm();
  test_softmax();
  test_reducemean();
  test_layernorm();
  test_layernorm_stats();
  test_generator_ops();
  test_roundtrips();
  printf("test_ops_nn: %d checks, %d failed\n", ncheck, nfail);
  return nfail ? 1 : 0;
}
