/*
** test_ops_tensor.c -- unit tests of the element-wise and data-movement
** operators of ops/ops_tensor.c: parsing and writing attributes (round
** trips per opset), shape/type inference with constant and unknown
** arguments, every error path, and the reference kernels on hand-computed
** cases. Exits 0 when every check passed, 1 otherwise, printing each failure.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"


static int failures, checks;
static char err[TSO_ERRMAX];

#define CHECK(c)                                                                 \
  do {                                                                           \
    checks++;                                                                    \
    if (!(c)) {                                                                  \
      failures++;                                                                \
      printf("FAIL %s:%d: %s [last error: %s]\n", __FILE__, __LINE__, #c, err);  \
    }                                                                            \
  } while (0)

#define CHECK_ST(expr, want)                                                     \
  do {                                                                           \
    tso_status st_ = (expr);                                                     \
    checks++;                                                                    \
    if (st_ != (want)) {                                                         \
      failures++;                                                                \
      printf("FAIL %s:%d: %s returned %d, expected %d [error: %s]\n", __FILE__,  \
             __LINE__, #expr, (int)st_, (int)(want), err);                       \
    }                                                                            \
  } while (0)

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- building values ---------------------------------------------------- */

/* A shape from "2x3" ("" a scalar, "?" unknown rank, "?x3" an unknown
** dim, "?x" rank 1 of unknown size). */
static tsoO_Shape SH(const char *s) {
  tsoO_Shape sh;
  memset(&sh, 0, sizeof sh);
  if (strcmp(s, "?") == 0) {
    sh.rank = -1;
    return sh;
  }
  while (*s) {
    if (*s == '?') sh.d[sh.rank++] = -1, s++;
    else {
      char *end;
      sh.d[sh.rank++] = strtoll(s, &end, 10);
      s = end;
    }
    if (*s == 'x') s++;
  }
  return sh;
}

/* A value of type dt and shape dims, with data (NULL: not a constant). */
static tsoO_Value V(int dt, const char *dims, void *data) {
  tsoO_Value v;
  memset(&v, 0, sizeof v);
  v.dtype = dt;
  v.shape = SH(dims);
  v.data = data;
  return v;
}

/* An absent optional input, as the graph hands it over. */
static tsoO_Value NONE(void) {
  tsoO_Value v;
  memset(&v, 0, sizeof v);
  v.shape.rank = -1;
  return v;
}

/* An absent optional input as an all-zero value (also accepted). */
static tsoO_Value ZERO(void) {
  tsoO_Value v;
  memset(&v, 0, sizeof v);
  return v;
}

/* 1 when v's shape prints as dims (rank checked too). */
static int shape_is(const tsoO_Value *v, const char *dims) {
  char b[128];
  tsoO_Shape want = SH(dims);
  tsoO_shape_str(&v->shape, b, sizeof b);
  if (v->shape.rank != want.rank) {
    printf("  shape %s (rank %d), expected %s\n", b, v->shape.rank, dims);
    return 0;
  }
  for (int i = 0; i < want.rank; i++)
    if (v->shape.d[i] != want.d[i]) {
      printf("  shape %s, expected %s\n", b, dims);
      return 0;
    }
  return 1;
}

static tso_attr AI(const char *name, int64_t v) {
  tso_attr a;
  memset(&a, 0, sizeof a);
  a.name = name, a.kind = TSO_ATTR_INT, a.i = v;
  return a;
}
static tso_attr AF(const char *name, float v) {
  tso_attr a;
  memset(&a, 0, sizeof a);
  a.name = name, a.kind = TSO_ATTR_FLOAT, a.f = v;
  return a;
}
static tso_attr AS(const char *name, const char *v) {
  tso_attr a;
  memset(&a, 0, sizeof a);
  a.name = name, a.kind = TSO_ATTR_STRING, a.s = v;
  return a;
}
static tso_attr AIS(const char *name, const int64_t *v, int n) {
  tso_attr a;
  memset(&a, 0, sizeof a);
  a.name = name, a.kind = TSO_ATTR_INTS, a.ints = v, a.n = n;
  return a;
}

/* ---- running operators ------------------------------------------------- */

static tso_status parse(int op, tsoO_Params *p, const tso_attr *a, int na, int nin, int nout,
                        int opset) {
  memset(p, 0, sizeof *p);
  err[0] = 0;
  return tsoO_info(op)->parse(p, a, na, nin, nout, opset, err);
}

static tso_status infer(int op, const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                        tsoO_Value *out) {
  err[0] = 0;
  return tsoO_info(op)->infer(p, nin, in, nout, out, err);
}

/* Infers, allocates each output for its shape, evaluates. */
static tso_status run(int op, const tsoO_Params *p, int nin, const tsoO_Value *in, int nout,
                      tsoO_Value *out) {
  tso_status st = infer(op, p, nin, in, nout, out);
  if (st) return st;
  for (int i = 0; i < nout; i++) {
    int64_t n = tsoO_numel(&out[i].shape);
    if (n < 0) return TSO_ERR_ARG;
    out[i].data = calloc((size_t)(n ? n : 1), tsoO_dtype_size(out[i].dtype));
  }
  return tsoO_info(op)->eval(p, nin, in, nout, out, err);
}

static void release(int nout, tsoO_Value *out) {
  for (int i = 0; i < nout; i++) {
    free(out[i].data);
    out[i].data = NULL;
  }
}

static int eq_f(const tsoO_Value *v, const float *want, int n) {
  if (v->dtype != TSO_DT_FLOAT || tsoO_numel(&v->shape) != n || !v->data) return 0;
  for (int i = 0; i < n; i++) {
    float x = ((const float *)v->data)[i];
    if (!(fabsf(x - want[i]) <= 1e-6f * (1.0f + fabsf(want[i])))) {
      printf("  element %d: %.9g, expected %.9g\n", i, (double)x, (double)want[i]);
      return 0;
    }
  }
  return 1;
}

static int eq_i64(const tsoO_Value *v, const int64_t *want, int n) {
  if (v->dtype != TSO_DT_INT64 || tsoO_numel(&v->shape) != n || (n && !v->data)) return 0;
  for (int i = 0; i < n; i++)
    if (((const int64_t *)v->data)[i] != want[i]) {
      printf("  element %d: %lld, expected %lld\n", i, (long long)((const int64_t *)v->data)[i],
             (long long)want[i]);
      return 0;
    }
  return 1;
}

static int eq_i32(const tsoO_Value *v, const int32_t *want, int n) {
  if (v->dtype != TSO_DT_INT32 || tsoO_numel(&v->shape) != n || !v->data) return 0;
  return memcmp(v->data, want, (size_t)n * 4) == 0;
}

/* parse(emit(p)) == p for a p parsed from attributes. */
static int roundtrip(int op, const tso_attr *a, int na, int nin, int nout, int opset) {
  tsoO_Params p, q;
  tsoO_AttrSet set;
  if (parse(op, &p, a, na, nin, nout, opset)) {
    printf("  parse failed: %s\n", err);
    return 0;
  }
  if (tsoO_info(op)->emit(&p, opset, &set)) {
    printf("  emit failed\n");
    return 0;
  }
  if (parse(op, &q, set.a, set.n, nin, nout, opset)) {
    printf("  re-parse failed: %s\n", err);
    return 0;
  }
  if (memcmp(&p, &q, sizeof p)) printf("  parameters differ after the round trip\n");
  return memcmp(&p, &q, sizeof p) == 0;
}

/* 1 when p is all zero (a failed parse leaves nothing half-set). */
static int zeroed(const tsoO_Params *p) {
  tsoO_Params z;
  memset(&z, 0, sizeof z);
  return memcmp(p, &z, sizeof z) == 0;
}

/* Number of attributes emit writes for p. */
static int emitted(int op, const tsoO_Params *p, int opset) {
  tsoO_AttrSet set;
  if (tsoO_info(op)->emit(p, opset, &set)) return -1;
  return set.n;
}

/* ---- tests -------------------------------------------------------------- */

static void test_broadcast(void) {
  tsoO_Shape a = SH("3x1"), b = SH("1x4"), o;
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.rank == 2 && o.d[0] == 3 && o.d[1] == 4);
  a = SH("2x3"), b = SH("3");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.rank == 2 && o.d[0] == 2 && o.d[1] == 3);
  a = SH("?x3"), b = SH("4x1");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.rank == 2 && o.d[0] == 4 && o.d[1] == 3);
  a = SH("?x1"), b = SH("1");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.rank == 2 && o.d[0] == -1 && o.d[1] == 1);
  a = SH("0x1"), b = SH("1x5");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.d[0] == 0 && o.d[1] == 5);
  a = SH("?"), b = SH("2");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.rank == -1);
  a = SH(""), b = SH("");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_OK);
  CHECK(o.rank == 0);
  a = SH("5x1x3"), b = SH("4x1");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &a, err), TSO_OK); /* out may alias an input */
  CHECK(a.rank == 3 && a.d[0] == 5 && a.d[1] == 4 && a.d[2] == 3);
  a = SH("2x3"), b = SH("4");
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, err), TSO_ERR_SHAPE);
  CHECK(strstr(err, "2x3") && strstr(err, "4"));
  CHECK_ST(tsoO_broadcast_shape(&a, &b, &o, NULL), TSO_ERR_SHAPE);
}

static void test_binary_float(void) {
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  float a[3] = {1, 2, 3}, b[4] = {10, 20, 30, 40};
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "3x1", a), V(TSO_DT_FLOAT, "1x4", b)}, out[1];
  memset(out, 0, sizeof out);
  CHECK_ST(run(TSO_OP_ADD, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x4"));
  float add[12] = {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43};
  CHECK(eq_f(&out[0], add, 12));
  release(1, out);
  CHECK_ST(run(TSO_OP_SUB, &p, 2, in, 1, out), TSO_OK);
  float sub[12] = {-9, -19, -29, -39, -8, -18, -28, -38, -7, -17, -27, -37};
  CHECK(eq_f(&out[0], sub, 12));
  release(1, out);
  CHECK_ST(run(TSO_OP_MUL, &p, 2, in, 1, out), TSO_OK);
  float mul[12] = {10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120};
  CHECK(eq_f(&out[0], mul, 12));
  release(1, out);
  CHECK_ST(run(TSO_OP_DIV, &p, 2, in, 1, out), TSO_OK);
  float dv[12] = {0.1f, 0.05f, 1.0f / 30, 0.025f, 0.2f, 0.1f, 2.0f / 30, 0.05f,
                  0.3f, 0.15f, 0.1f,      0.075f};
  CHECK(eq_f(&out[0], dv, 12));
  release(1, out);
  /* Pow with a scalar exponent: [2,3] ^ [] */
  float x[6] = {1, 2, 3, 4, 0.25f, 9}, e[1] = {0.5f};
  in[0] = V(TSO_DT_FLOAT, "2x3", x), in[1] = V(TSO_DT_FLOAT, "", e);
  CHECK_ST(run(TSO_OP_POW, &p, 2, in, 1, out), TSO_OK);
  float pw[6] = {1, sqrtf(2), sqrtf(3), 2, 0.5f, 3};
  CHECK(shape_is(&out[0], "2x3") && eq_f(&out[0], pw, 6));
  release(1, out);
  /* broadcasting an inner row: [2,3] + [3] */
  float row[3] = {100, 200, 300};
  in[1] = V(TSO_DT_FLOAT, "3", row);
  CHECK_ST(run(TSO_OP_ADD, &p, 2, in, 1, out), TSO_OK);
  float r2[6] = {101, 202, 303, 104, 200.25f, 309};
  CHECK(eq_f(&out[0], r2, 6));
  release(1, out);
  /* shape errors, unknowns, types */
  in[0] = V(TSO_DT_FLOAT, "2x3", NULL), in[1] = V(TSO_DT_FLOAT, "2", NULL);
  CHECK_ST(infer(TSO_OP_ADD, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "ewadd") && strstr(err, "2x3"));
  in[0] = V(TSO_DT_FLOAT, "?x3", NULL), in[1] = V(TSO_DT_UNDEFINED, "?", NULL);
  CHECK_ST(infer(TSO_OP_MUL, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1 && out[0].dtype == TSO_DT_FLOAT);
  in[0] = V(TSO_DT_FLOAT, "2", NULL), in[1] = V(TSO_DT_INT64, "2", NULL);
  CHECK_ST(infer(TSO_OP_ADD, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_BOOL, "2", NULL), in[1] = V(TSO_DT_BOOL, "2", NULL);
  CHECK_ST(infer(TSO_OP_ADD, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK_ST(infer(TSO_OP_POW, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK_ST(infer(TSO_OP_ADD, &p, 1, in, 1, out), TSO_ERR_INVALID);
  /* absurd sizes */
  in[0] = V(TSO_DT_FLOAT, "1073741824x1", NULL), in[1] = V(TSO_DT_FLOAT, "1x1073741824", NULL);
  CHECK_ST(infer(TSO_OP_ADD, &p, 2, in, 1, out), TSO_ERR_LIMIT);
}

static void test_binary_int64(void) {
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  int64_t a[4] = {7, -7, 9, INT64_MIN}, b[4] = {2, 2, -4, -1};
  tsoO_Value in[2] = {V(TSO_DT_INT64, "4", a), V(TSO_DT_INT64, "4", b)}, out[1];
  memset(out, 0, sizeof out);
  CHECK_ST(run(TSO_OP_DIV, &p, 2, in, 1, out), TSO_OK);
  int64_t q[4] = {3, -3, -2, INT64_MIN}; /* truncation toward zero; MIN/-1 wraps */
  CHECK(eq_i64(&out[0], q, 4));
  release(1, out);
  CHECK_ST(run(TSO_OP_ADD, &p, 2, in, 1, out), TSO_OK);
  int64_t s[4] = {9, -5, 5, INT64_MAX}; /* MIN + -1 wraps */
  CHECK(eq_i64(&out[0], s, 4));
  release(1, out);
  CHECK_ST(run(TSO_OP_SUB, &p, 2, in, 1, out), TSO_OK);
  int64_t d[4] = {5, -9, 13, INT64_MIN + 1};
  CHECK(eq_i64(&out[0], d, 4));
  release(1, out);
  /* shape arithmetic as exporters write it: [2,3,4] * [1] -> [2,3,4]; [24] / [2] */
  int64_t dims[3] = {2, 3, 4}, three[1] = {3};
  in[0] = V(TSO_DT_INT64, "3", dims), in[1] = V(TSO_DT_INT64, "1", three);
  CHECK_ST(run(TSO_OP_MUL, &p, 2, in, 1, out), TSO_OK);
  int64_t m[3] = {6, 9, 12};
  CHECK(shape_is(&out[0], "3") && eq_i64(&out[0], m, 3));
  release(1, out);
  int64_t zero[1] = {0};
  in[1] = V(TSO_DT_INT64, "1", zero);
  CHECK_ST(run(TSO_OP_DIV, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  release(1, out);
}

/* 1 when v has type dt and its n elements are want's bytes. */
static int eq_bytes(const tsoO_Value *v, int dt, const void *want, int n) {
  return v->dtype == dt && tsoO_numel(&v->shape) == n && v->data &&
         memcmp(v->data, want, (size_t)n * tsoO_dtype_size(dt)) == 0;
}

/* Runs binary op on (a, b) and compares with want (n elements of dt). */
static int bin_is(int op, tsoO_Value a, tsoO_Value b, int dt, const void *want, int n) {
  tsoO_Params p;
  tsoO_Value in[2] = {a, b}, out[1];
  memset(&p, 0, sizeof p);
  memset(out, 0, sizeof out);
  tso_status st = run(op, &p, 2, in, 1, out);
  int ok = st == TSO_OK && eq_bytes(&out[0], dt, want, n);
  if (!ok) printf("  %s: status %d\n", tsoO_info(op)->name, (int)st);
  release(1, out);
  return ok;
}

static void test_binary_int_types(void) {
  tsoO_Params p;
  tsoO_Value in[2], out[1];
  memset(&p, 0, sizeof p);
  memset(out, 0, sizeof out);
  /* int32: wrapping, division truncating toward zero, INT32_MIN / -1 wraps */
  int32_t a[4] = {INT32_MAX, -7, 9, INT32_MIN}, b[4] = {1, 2, -4, -1};
  int32_t add[4] = {INT32_MIN, -5, 5, INT32_MAX}, sub[4] = {INT32_MAX - 1, -9, 13, INT32_MIN + 1},
          mul[4] = {INT32_MAX, -14, -36, INT32_MIN}, dv[4] = {INT32_MAX, -3, -2, INT32_MIN};
  tsoO_Value va = V(TSO_DT_INT32, "4", a), vb = V(TSO_DT_INT32, "4", b);
  CHECK(bin_is(TSO_OP_ADD, va, vb, TSO_DT_INT32, add, 4));
  CHECK(bin_is(TSO_OP_SUB, va, vb, TSO_DT_INT32, sub, 4));
  CHECK(bin_is(TSO_OP_MUL, va, vb, TSO_DT_INT32, mul, 4));
  CHECK(bin_is(TSO_OP_DIV, va, vb, TSO_DT_INT32, dv, 4));
  /* uint8 modulo 256, with a row broadcast: [2,4] op [4] */
  uint8_t u[8] = {250, 3, 20, 7, 0, 1, 2, 255}, v[4] = {10, 5, 13, 2};
  uint8_t uadd[8] = {4, 8, 33, 9, 10, 6, 15, 1}, usub[8] = {240, 254, 7, 5, 246, 252, 245, 253},
          umul[8] = {196, 15, 4, 14, 0, 5, 26, 254}, udiv[8] = {25, 0, 1, 3, 0, 0, 0, 127};
  tsoO_Value vu = V(TSO_DT_UINT8, "2x4", u), vv = V(TSO_DT_UINT8, "4", v);
  CHECK(bin_is(TSO_OP_ADD, vu, vv, TSO_DT_UINT8, uadd, 8));
  CHECK(bin_is(TSO_OP_SUB, vu, vv, TSO_DT_UINT8, usub, 8));
  CHECK(bin_is(TSO_OP_MUL, vu, vv, TSO_DT_UINT8, umul, 8));
  CHECK(bin_is(TSO_OP_DIV, vu, vv, TSO_DT_UINT8, udiv, 8));
  /* int8 -128 / -1 wraps; int16 300 * 300 = 90000 wraps to 24464 */
  int8_t i8a[2] = {-128, 100}, i8b[2] = {-1, 3}, i8q[2] = {-128, 33};
  CHECK(bin_is(TSO_OP_DIV, V(TSO_DT_INT8, "2", i8a), V(TSO_DT_INT8, "2", i8b), TSO_DT_INT8, i8q, 2));
  int16_t i16[1] = {300}, i16p[1] = {24464};
  CHECK(bin_is(TSO_OP_MUL, V(TSO_DT_INT16, "1", i16), V(TSO_DT_INT16, "", i16), TSO_DT_INT16, i16p, 1));
  /* uint64 above INT64_MAX divides as unsigned; uint32 wraps below 0 */
  uint64_t ua[2] = {UINT64_MAX, 10}, ub[2] = {2, 3}, uq[2] = {UINT64_MAX / 2, 3};
  CHECK(bin_is(TSO_OP_DIV, V(TSO_DT_UINT64, "2", ua), V(TSO_DT_UINT64, "2", ub), TSO_DT_UINT64, uq, 2));
  uint32_t u32a[1] = {1}, u32b[1] = {2}, u32d[1] = {UINT32_MAX};
  CHECK(bin_is(TSO_OP_SUB, V(TSO_DT_UINT32, "1", u32a), V(TSO_DT_UINT32, "1", u32b), TSO_DT_UINT32,
               u32d, 1));
  /* float64 */
  double d1[2] = {0.1, 1e300}, d2[1] = {0.2}, dsum[2] = {0.1 + 0.2, 1e300 + 0.2},
         dprod[2] = {0.1 * 0.2, 1e300 * 0.2};
  CHECK(bin_is(TSO_OP_ADD, V(TSO_DT_DOUBLE, "2", d1), V(TSO_DT_DOUBLE, "", d2), TSO_DT_DOUBLE, dsum, 2));
  CHECK(bin_is(TSO_OP_MUL, V(TSO_DT_DOUBLE, "2", d1), V(TSO_DT_DOUBLE, "1", d2), TSO_DT_DOUBLE, dprod, 2));
  /* scalar-mul follows Mul's types */
  int32_t sx[3] = {1, -2, 3}, sk[1] = {-3}, sy[3] = {-3, 6, -9};
  in[0] = V(TSO_DT_INT32, "3", sx), in[1] = V(TSO_DT_INT32, "", sk);
  CHECK_ST(run(TSO_OP_SCALAR_MUL, &p, 2, in, 1, out), TSO_OK);
  CHECK(eq_i32(&out[0], sy, 3));
  release(1, out);
  /* a division by zero is refused for every integer type */
  uint16_t z16[2] = {4, 0};
  in[0] = V(TSO_DT_UINT16, "2", z16), in[1] = V(TSO_DT_UINT16, "2", z16);
  CHECK_ST(run(TSO_OP_DIV, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK(strstr(err, "division by zero") != NULL);
  release(1, out);
  /* types: mixed integer types are an error, bool and float16 not computed */
  in[0] = V(TSO_DT_INT32, "2", NULL), in[1] = V(TSO_DT_UINT8, "2", NULL);
  CHECK_ST(infer(TSO_OP_SUB, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_FLOAT16, "2", NULL), in[1] = V(TSO_DT_FLOAT16, "2", NULL);
  CHECK_ST(infer(TSO_OP_MUL, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  in[0] = V(TSO_DT_UINT16, "2", NULL), in[1] = V(TSO_DT_UNDEFINED, "?", NULL);
  CHECK_ST(infer(TSO_OP_DIV, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].dtype == TSO_DT_UINT16 && out[0].shape.rank == -1);
  /* eval refuses an output buffer of another type */
  int32_t o32[4];
  in[0] = V(TSO_DT_INT32, "4", a), in[1] = V(TSO_DT_INT32, "4", b);
  out[0] = V(TSO_DT_INT64, "4", o32);
  CHECK_ST(tsoO_info(TSO_OP_ADD)->eval(&p, 2, in, 1, out, err), TSO_ERR_ARG);
}

/* Pow with a base and an exponent of different types: the output has the
** base's type; float bases compute in double precision, integer bases
** with integer exponents by wrapping multiplication. */
static void test_pow_types(void) {
  tsoO_Params p;
  tsoO_Value in[2], out[1];
  memset(&p, 0, sizeof p);
  memset(out, 0, sizeof out);
  float fx[3] = {2, 3, -2};
  int32_t e32[3] = {3, 2, 3};
  int64_t e64[3] = {-1, 0, 3};
  uint64_t eu64[3] = {10, 1, 2};
  float w32[3] = {8, 9, -8}, w64[3] = {0.5f, 1, -8}, wu64[3] = {1024, 3, 4};
  tsoO_Value vx = V(TSO_DT_FLOAT, "3", fx);
  CHECK(bin_is(TSO_OP_POW, vx, V(TSO_DT_INT32, "3", e32), TSO_DT_FLOAT, w32, 3));
  CHECK(bin_is(TSO_OP_POW, vx, V(TSO_DT_INT64, "3", e64), TSO_DT_FLOAT, w64, 3));
  CHECK(bin_is(TSO_OP_POW, vx, V(TSO_DT_UINT64, "3", eu64), TSO_DT_FLOAT, wu64, 3));
  float fy[3] = {4, 9, 2.25f}, wsq[3] = {2, 3, 1.5f};
  double half[1] = {0.5};
  CHECK(bin_is(TSO_OP_POW, V(TSO_DT_FLOAT, "3", fy), V(TSO_DT_DOUBLE, "", half), TSO_DT_FLOAT, wsq, 3));
  /* integer bases: 2^31 wraps to INT32_MIN, 3^40 and (-2)^63 modulo 2^64 */
  int32_t ib[4] = {2, -3, 0, 2}, ie[4] = {10, 3, 0, 31}, iw[4] = {1024, -27, 1, INT32_MIN};
  CHECK(bin_is(TSO_OP_POW, V(TSO_DT_INT32, "4", ib), V(TSO_DT_INT32, "4", ie), TSO_DT_INT32, iw, 4));
  int64_t lb[2] = {3, -2}, le[2] = {40, 63}, lw[2] = {-6289078614652622815LL, INT64_MIN};
  CHECK(bin_is(TSO_OP_POW, V(TSO_DT_INT64, "2", lb), V(TSO_DT_INT64, "2", le), TSO_DT_INT64, lw, 2));
  int64_t le32[1] = {2}, lsq[2] = {9, 4};
  CHECK(bin_is(TSO_OP_POW, V(TSO_DT_INT64, "2", lb), V(TSO_DT_INT32, "1", le32), TSO_DT_INT64, lsq, 2));
  /* an integer base with a float exponent: truncated toward zero */
  int32_t fb[4] = {4, 10, 2, -8}, fw[4] = {2, 0, 5, -8};
  float fe[4] = {0.5f, -1, 2.5f, 1};
  CHECK(bin_is(TSO_OP_POW, V(TSO_DT_INT32, "4", fb), V(TSO_DT_FLOAT, "4", fe), TSO_DT_INT32, fw, 4));
  int64_t two[1] = {2}, big[1] = {(int64_t)1 << 62};
  float f62[1] = {62}, f63[1] = {63};
  CHECK(bin_is(TSO_OP_POW, V(TSO_DT_INT64, "1", two), V(TSO_DT_FLOAT, "1", f62), TSO_DT_INT64, big, 1));
  /* undefined integer results are refused */
  int32_t neg[1] = {-1}, m8[1] = {-8};
  float fhalf[1] = {0.5f};
  in[0] = V(TSO_DT_INT32, "1", ib), in[1] = V(TSO_DT_INT32, "1", neg);
  CHECK_ST(run(TSO_OP_POW, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  release(1, out);
  in[0] = V(TSO_DT_INT64, "1", two), in[1] = V(TSO_DT_FLOAT, "1", f63);
  CHECK_ST(run(TSO_OP_POW, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  release(1, out);
  in[0] = V(TSO_DT_INT32, "1", m8), in[1] = V(TSO_DT_FLOAT, "1", fhalf);
  CHECK_ST(run(TSO_OP_POW, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  release(1, out);
  /* inference: the base's type; unknown types pass, others are refused */
  in[0] = V(TSO_DT_INT32, "2x1", NULL), in[1] = V(TSO_DT_FLOAT, "3", NULL);
  CHECK_ST(infer(TSO_OP_POW, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].dtype == TSO_DT_INT32 && shape_is(&out[0], "2x3"));
  in[0] = V(TSO_DT_UNDEFINED, "2", NULL), in[1] = V(TSO_DT_INT64, "2", NULL);
  CHECK_ST(infer(TSO_OP_POW, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].dtype == TSO_DT_UNDEFINED);
  in[0] = V(TSO_DT_FLOAT, "2", NULL), in[1] = V(TSO_DT_UNDEFINED, "?", NULL);
  CHECK_ST(infer(TSO_OP_POW, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].dtype == TSO_DT_FLOAT && out[0].shape.rank == -1);
  static const int bad[][2] = {{TSO_DT_INT32, TSO_DT_UINT8}, {TSO_DT_FLOAT, TSO_DT_BOOL},
                               {TSO_DT_DOUBLE, TSO_DT_DOUBLE}, {TSO_DT_UINT8, TSO_DT_INT32},
                               {TSO_DT_INT64, TSO_DT_FLOAT16}};
  for (int k = 0; k < N(bad); k++) {
    in[0] = V(bad[k][0], "2", NULL), in[1] = V(bad[k][1], "2", NULL);
    CHECK_ST(infer(TSO_OP_POW, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  }
}

/* Add/Sub/Mul/Div/Pow below opset 7: broadcast=0 needs equal shapes;
** broadcast=1 stretches B to A, aligned at the end or at 'axis'. */
static void test_legacy_broadcast(void) {
  static const int ops[5] = {TSO_OP_ADD, TSO_OP_SUB, TSO_OP_MUL, TSO_OP_DIV, TSO_OP_POW};
  static const int64_t cons[2] = {0, 1};
  tsoO_Params p, eq, suf, ax1, ax0;
  tsoO_AttrSet set;
  tso_attr b1 = AI("broadcast", 1), b0 = AI("broadcast", 0), b2 = AI("broadcast", 2);
  tso_attr bax[2] = {AI("broadcast", 1), AI("axis", 1)}, bneg[2] = {AI("broadcast", 1), AI("axis", -1)};
  tso_attr b0neg[2] = {AI("broadcast", 0), AI("axis", -1)}, ci = AIS("consumed_inputs", cons, 2);
  for (int k = 0; k < 5; k++) {
    CHECK_ST(parse(ops[k], &p, NULL, 0, 2, 1, 6), TSO_OK);
    CHECK(!zeroed(&p) && emitted(ops[k], &p, 6) == 0);
    CHECK(emitted(ops[k], &p, 7) == -1); /* a legacy mode has no form from opset 7 on */
    CHECK(roundtrip(ops[k], NULL, 0, 2, 1, 6));
    CHECK(roundtrip(ops[k], &b0, 1, 2, 1, 6));
    CHECK(roundtrip(ops[k], b0neg, 2, 2, 1, 6)); /* the axis means nothing without broadcast */
    CHECK_ST(parse(ops[k], &p, &b1, 1, 2, 1, 6), TSO_OK);
    CHECK(emitted(ops[k], &p, 6) == 1 && roundtrip(ops[k], &b1, 1, 2, 1, 6));
    CHECK_ST(parse(ops[k], &p, bax, 2, 2, 1, 1), TSO_OK);
    CHECK(emitted(ops[k], &p, 1) == 2 && roundtrip(ops[k], bax, 2, 2, 1, 1));
    CHECK_ST(parse(ops[k], &p, bneg, 2, 2, 1, 6), TSO_ERR_UNSUPPORTED);
    CHECK_ST(parse(ops[k], &p, &b2, 1, 2, 1, 6), TSO_ERR_UNSUPPORTED);
    CHECK_ST(parse(ops[k], &p, &ci, 1, 2, 1, 5), TSO_ERR_UNSUPPORTED);
    memset(&p, 0, sizeof p); /* numpy broadcasting cannot be written below opset 7 */
    CHECK(emitted(ops[k], &p, 6) == -1 && emitted(ops[k], &p, 7) == 0);
  }
  CHECK_ST(parse(TSO_OP_ADD, &eq, NULL, 0, 2, 1, 6), TSO_OK);
  CHECK_ST(parse(TSO_OP_ADD, &suf, &b1, 1, 2, 1, 6), TSO_OK);
  CHECK_ST(parse(TSO_OP_ADD, &ax1, bax, 2, 2, 1, 6), TSO_OK);
  tso_attr bax0[2] = {AI("broadcast", 1), AI("axis", 0)};
  CHECK_ST(parse(TSO_OP_ADD, &ax0, bax0, 2, 2, 1, 6), TSO_OK);
  CHECK(tsoO_info(TSO_OP_ADD)->emit(&ax0, 6, &set) == TSO_OK && set.n == 2 && set.a[1].i == 0);

  /* shapes: (params, A, B, expected output or NULL for a shape error) */
  static const struct { int mode; const char *a, *b, *want; } cases[] = {
      {0, "2x3", "2x3", "2x3"},         {0, "2x3", "3", NULL},         {0, "?x3", "2x?", "2x3"},
      {0, "?", "2x3", "2x3"},           {0, "2x3", "?", "2x3"},        {0, "2x3", "2x1", NULL},
      {1, "2x3x4", "3x4", "2x3x4"},     {1, "2x3x4", "", "2x3x4"},     {1, "2x3x4", "1x1", "2x3x4"},
      {1, "2x3x4", "3x1", "2x3x4"},     {1, "2x3x4", "2x4", NULL},     {1, "3x4", "2x3x4", NULL},
      {1, "2x1", "3", NULL},            {1, "2x?", "5", "2x5"},        {1, "?", "5", "?"},
      {2, "2x3x4x5", "3x4", "2x3x4x5"}, {2, "2x3x4x5", "4x5", NULL},   {2, "2x3", "3x1", NULL},
      {2, "2x3x4x5", "1x4", "2x3x4x5"}, {3, "2x3", "2x1", "2x3"},      {3, "2x3", "2", "2x3"},
      {3, "2x3", "3", NULL},
  };
  const tsoO_Params *modes[4] = {&eq, &suf, &ax1, &ax0};
  tsoO_Value in[2], out[1];
  memset(out, 0, sizeof out);
  for (int k = 0; k < N(cases); k++) {
    in[0] = V(TSO_DT_FLOAT, cases[k].a, NULL), in[1] = V(TSO_DT_FLOAT, cases[k].b, NULL);
    tso_status st = infer(TSO_OP_ADD, modes[cases[k].mode], 2, in, 1, out);
    if (cases[k].want) {
      CHECK_ST(st, TSO_OK);
      if (!st) CHECK(shape_is(&out[0], cases[k].want));
    } else {
      CHECK_ST(st, TSO_ERR_SHAPE);
    }
  }
  /* values: B stretched along A's middle axis, along the first one, a
  ** scalar B, a suffix B for Pow, equal shapes */
  float a12[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, b3[3] = {100, 200, 300};
  in[0] = V(TSO_DT_FLOAT, "2x3x2", a12), in[1] = V(TSO_DT_FLOAT, "3", b3);
  CHECK_ST(run(TSO_OP_ADD, &ax1, 2, in, 1, out), TSO_OK);
  float w1[12] = {100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311};
  CHECK(shape_is(&out[0], "2x3x2") && eq_f(&out[0], w1, 12));
  release(1, out);
  float a6[6] = {1, 2, 3, 4, 5, 6}, b21[2] = {10, 100};
  CHECK_ST(parse(TSO_OP_MUL, &p, bax0, 2, 2, 1, 6), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "2x3", a6), in[1] = V(TSO_DT_FLOAT, "2x1", b21);
  CHECK_ST(run(TSO_OP_MUL, &p, 2, in, 1, out), TSO_OK);
  float w2[6] = {10, 20, 30, 400, 500, 600};
  CHECK(shape_is(&out[0], "2x3") && eq_f(&out[0], w2, 6));
  release(1, out);
  in[1] = V(TSO_DT_FLOAT, "2", b21); /* B [2] at axis 0 of [2,3]: padded to [2,1] */
  CHECK_ST(run(TSO_OP_MUL, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "2x3") && eq_f(&out[0], w2, 6));
  release(1, out);
  float one[1] = {1};
  CHECK_ST(parse(TSO_OP_SUB, &p, &b1, 1, 2, 1, 6), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "2x2", a6), in[1] = V(TSO_DT_FLOAT, "", one);
  CHECK_ST(run(TSO_OP_SUB, &p, 2, in, 1, out), TSO_OK);
  float w3[4] = {0, 1, 2, 3};
  CHECK(eq_f(&out[0], w3, 4));
  release(1, out);
  float e2[2] = {2, 1};
  CHECK_ST(parse(TSO_OP_POW, &p, &b1, 1, 2, 1, 6), TSO_OK);
  in[1] = V(TSO_DT_FLOAT, "2", e2);
  CHECK_ST(run(TSO_OP_POW, &p, 2, in, 1, out), TSO_OK);
  float w4[4] = {1, 2, 9, 4};
  CHECK(eq_f(&out[0], w4, 4));
  release(1, out);
  float d1[2] = {1, 9}, d2[2] = {2, 3}, w5[2] = {0.5f, 3};
  CHECK_ST(parse(TSO_OP_DIV, &p, NULL, 0, 2, 1, 6), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "2", d1), in[1] = V(TSO_DT_FLOAT, "2", d2);
  CHECK_ST(run(TSO_OP_DIV, &p, 2, in, 1, out), TSO_OK);
  CHECK(eq_f(&out[0], w5, 2));
  release(1, out);
  /* broadcast=0 refuses at eval too, before touching the buffers */
  float o4[4];
  in[0] = V(TSO_DT_FLOAT, "2x2", a6), in[1] = V(TSO_DT_FLOAT, "2", d2);
  out[0] = V(TSO_DT_FLOAT, "2x2", o4);
  CHECK_ST(tsoO_info(TSO_OP_DIV)->eval(&p, 2, in, 1, out, err), TSO_ERR_SHAPE);
  /* invalid parameters are caught by infer */
  p.axis.legacy = 7;
  CHECK_ST(infer(TSO_OP_DIV, &p, 2, in, 1, out), TSO_ERR_SHAPE);

  /* the unary operators: opsets 1..6 without 'consumed_inputs'; Erf from 9 */
  CHECK_ST(parse(TSO_OP_RELU, &p, NULL, 0, 1, 1, 1), TSO_OK);
  CHECK(zeroed(&p) && emitted(TSO_OP_RELU, &p, 6) == 0);
  CHECK_ST(parse(TSO_OP_SIGMOID, &p, &ci, 1, 1, 1, 5), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_ERF, &p, NULL, 0, 1, 1, 8), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_ERF, &p, NULL, 0, 1, 1, 9), TSO_OK);
  CHECK(emitted(TSO_OP_ERF, &p, 8) == -1);
}

static void test_scalar_mul(void) {
  tsoO_Params p;
  float x[4] = {1, -2, 3, 4}, k[1] = {-0.5f};
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "2x2", x), V(TSO_DT_FLOAT, "", k)}, out[1];
  memset(out, 0, sizeof out);
  memset(&p, 0, sizeof p);
  CHECK_ST(run(TSO_OP_SCALAR_MUL, &p, 2, in, 1, out), TSO_OK);
  float want[4] = {-0.5f, 1, -1.5f, -2};
  CHECK(shape_is(&out[0], "2x2") && eq_f(&out[0], want, 4));
  release(1, out);
  in[1] = V(TSO_DT_FLOAT, "2", NULL);
  CHECK_ST(infer(TSO_OP_SCALAR_MUL, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK_ST(parse(TSO_OP_SCALAR_MUL, &p, NULL, 0, 2, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK(emitted(TSO_OP_SCALAR_MUL, &p, 13) == -1);
}

static void test_unary(void) {
  static const int ops[5] = {TSO_OP_RELU, TSO_OP_SIGMOID, TSO_OP_TANH, TSO_OP_ERF, TSO_OP_SQRT};
  tsoO_Params p;
  float x[4] = {-1.5f, 0, 0.25f, 4}, want[4];
  memset(&p, 0, sizeof p);
  for (int k = 0; k < 5; k++) {
    tsoO_Value in[1] = {V(TSO_DT_FLOAT, "2x2", x)}, out[1];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 4; i++) {
      float v = x[i];
      want[i] = k == 0 ? (v > 0 ? v : 0)
              : k == 1 ? 1.0f / (1.0f + expf(-v))
              : k == 2 ? tanhf(v)
              : k == 3 ? erff(v)
                       : sqrtf(v);
    }
    CHECK_ST(run(ops[k], &p, 1, in, 1, out), TSO_OK);
    CHECK(shape_is(&out[0], "2x2"));
    if (k == 4) CHECK(isnan(((float *)out[0].data)[0]) && ((float *)out[0].data)[3] == 2.0f);
    else CHECK(eq_f(&out[0], want, 4));
    release(1, out);
    in[0] = V(TSO_DT_INT64, "2", NULL);
    CHECK_ST(infer(ops[k], &p, 1, in, 1, out), TSO_ERR_UNSUPPORTED);
    in[0] = V(TSO_DT_UNDEFINED, "?", NULL);
    CHECK_ST(infer(ops[k], &p, 1, in, 1, out), TSO_OK);
    CHECK(out[0].shape.rank == -1);
    /* no attributes at any opset in range; attributes refused */
    tso_attr junk = AI("broadcast", 1);
    CHECK_ST(parse(ops[k], &p, NULL, 0, 1, 1, 13), TSO_OK);
    CHECK_ST(parse(ops[k], &p, &junk, 1, 1, 1, 13), TSO_ERR_UNSUPPORTED);
    CHECK(emitted(ops[k], &p, 13) == 0);
  }
}

static void test_parse_elementwise(void) {
  static const int ops[5] = {TSO_OP_ADD, TSO_OP_SUB, TSO_OP_MUL, TSO_OP_DIV, TSO_OP_POW};
  tsoO_Params p;
  tso_attr bc[2] = {AI("broadcast", 1), AI("axis", 1)};
  for (int k = 0; k < 5; k++) {
    CHECK_ST(parse(ops[k], &p, NULL, 0, 2, 1, 7), TSO_OK);
    CHECK_ST(parse(ops[k], &p, NULL, 0, 2, 1, 18), TSO_OK);
    CHECK_ST(parse(ops[k], &p, bc, 2, 2, 1, 7), TSO_ERR_UNSUPPORTED);
    CHECK(strstr(err, "broadcast") != NULL);
    CHECK_ST(parse(ops[k], &p, NULL, 0, 2, 1, 22), TSO_ERR_UNSUPPORTED);
    CHECK(roundtrip(ops[k], NULL, 0, 2, 1, 14));
  }
}

static void test_opaque_constant(void) {
  tsoO_Params p;
  tsoO_AttrSet set;
  tsoO_Value in[1] = {V(TSO_DT_FLOAT, "2", NULL)}, out[1];
  memset(&p, 0, sizeof p);
  CHECK_ST(parse(TSO_OP_OPAQUE, &p, NULL, 0, 1, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK_ST(tsoO_emit_OPAQUE(&p, 13, &set), TSO_ERR_UNSUPPORTED);
  CHECK_ST(infer(TSO_OP_OPAQUE, &p, 1, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK_ST(tsoO_eval_OPAQUE(&p, 1, in, 1, out, err), TSO_ERR_UNSUPPORTED);
  tso_attr v[2] = {AS("value", "tensor"), AF("value_float", 2)};
  CHECK_ST(parse(TSO_OP_CONSTANT, &p, v, 2, 0, 1, 13), TSO_OK);
  tsoO_Params zero;
  memset(&zero, 0, sizeof zero);
  CHECK(memcmp(&p, &zero, sizeof p) == 0);
  CHECK(emitted(TSO_OP_CONSTANT, &p, 13) == 0);
  CHECK_ST(infer(TSO_OP_CONSTANT, &p, 0, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK_ST(tsoO_eval_CONSTANT(&p, 0, in, 1, out, err), TSO_ERR_UNSUPPORTED);
}

static void test_identity_dropout(void) {
  tsoO_Params p;
  int32_t x[3] = {5, -6, 7};
  tsoO_Value in[3] = {V(TSO_DT_INT32, "3", x), NONE(), NONE()}, out[2];
  memset(out, 0, sizeof out);
  memset(&p, 0, sizeof p);
  CHECK_ST(run(TSO_OP_IDENTITY, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3") && eq_i32(&out[0], x, 3));
  release(1, out);
  in[0] = V(TSO_DT_STRING, "3", NULL);
  CHECK_ST(infer(TSO_OP_IDENTITY, &p, 1, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK(roundtrip(TSO_OP_IDENTITY, NULL, 0, 1, 1, 13));

  /* Dropout parse forms */
  tso_attr r3 = AF("ratio", 0.3f), t0 = AI("is_test", 0), t1 = AI("is_test", 1), sd = AI("seed", 7);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, &r3, 1, 1, 2, 10), TSO_OK);
  CHECK(p.dropout.ratio == 0.3f);
  CHECK(roundtrip(TSO_OP_DROPOUT, &r3, 1, 1, 2, 10));
  CHECK(roundtrip(TSO_OP_DROPOUT, NULL, 0, 1, 1, 7));
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, NULL, 0, 1, 1, 7), TSO_OK);
  CHECK(p.dropout.ratio == 0.5f && emitted(TSO_OP_DROPOUT, &p, 7) == 0);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, &t1, 1, 1, 1, 7), TSO_OK);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, &t0, 1, 1, 1, 7), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, NULL, 0, 1, 2, 9), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, &r3, 1, 1, 1, 12), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, &sd, 1, 3, 2, 12), TSO_OK);
  CHECK(roundtrip(TSO_OP_DROPOUT, &sd, 1, 3, 2, 13));
  tso_attr bad = AF("ratio", 1.5f);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, &bad, 1, 1, 1, 10), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));

  /* Dropout at inference: copy plus an all-true mask */
  float f[4] = {1, 2, 3, 4}, ratio[1] = {0.1f};
  uint8_t no[1] = {0}, yes[1] = {1};
  in[0] = V(TSO_DT_FLOAT, "2x2", f);
  in[1] = V(TSO_DT_FLOAT, "", ratio);
  in[2] = V(TSO_DT_BOOL, "", no);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, NULL, 0, 3, 2, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_OK);
  CHECK(eq_f(&out[0], f, 4) && shape_is(&out[1], "2x2") && out[1].dtype == TSO_DT_BOOL);
  CHECK(out[1].data && memcmp(out[1].data, "\1\1\1\1", 4) == 0);
  release(2, out);
  in[2] = V(TSO_DT_BOOL, "", yes);
  CHECK_ST(infer(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_ERR_UNSUPPORTED);
  in[2] = V(TSO_DT_BOOL, "", NULL); /* not constant: shapes still known */
  CHECK_ST(infer(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_OK);
  CHECK(shape_is(&out[0], "2x2"));
  /* training with a constant ratio 0 keeps everything: copy, all-true mask */
  float fzero[1] = {0};
  double dzero[1] = {-0.0}, dhalf[1] = {0.5};
  in[1] = V(TSO_DT_FLOAT, "", fzero), in[2] = V(TSO_DT_BOOL, "", yes);
  CHECK_ST(run(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_OK);
  CHECK(eq_f(&out[0], f, 4) && out[1].data && memcmp(out[1].data, "\1\1\1\1", 4) == 0);
  release(2, out);
  in[1] = V(TSO_DT_DOUBLE, "", dzero);
  CHECK_ST(run(TSO_OP_DROPOUT, &p, 3, in, 1, out), TSO_OK);
  CHECK(eq_f(&out[0], f, 4));
  release(1, out);
  in[1] = V(TSO_DT_DOUBLE, "", dhalf);
  CHECK_ST(infer(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_ERR_UNSUPPORTED);
  in[1] = V(TSO_DT_FLOAT, "", NULL); /* training on, ratio unknown: refused */
  CHECK_ST(infer(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_ERR_UNSUPPORTED);
  in[1] = NONE(); /* the default ratio is 0.5 */
  CHECK_ST(infer(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_ERR_UNSUPPORTED);
  /* training and ratio known only at eval: decided there */
  float o4[4];
  uint8_t m4[4];
  in[1] = V(TSO_DT_FLOAT, "", ratio);
  out[0] = V(TSO_DT_FLOAT, "2x2", o4), out[1] = V(TSO_DT_BOOL, "2x2", m4);
  CHECK_ST(tsoO_info(TSO_OP_DROPOUT)->eval(&p, 3, in, 2, out, err), TSO_ERR_UNSUPPORTED);
  in[1] = V(TSO_DT_FLOAT, "", fzero);
  CHECK_ST(tsoO_info(TSO_OP_DROPOUT)->eval(&p, 3, in, 2, out, err), TSO_OK);
  CHECK(memcmp(o4, f, sizeof o4) == 0 && memcmp(m4, "\1\1\1\1", 4) == 0);
  memset(out, 0, sizeof out);
  in[2] = V(TSO_DT_FLOAT, "", NULL);
  CHECK_ST(infer(TSO_OP_DROPOUT, &p, 3, in, 2, out), TSO_ERR_SHAPE);
  CHECK_ST(run(TSO_OP_DROPOUT, &p, 1, in, 1, out), TSO_OK);
  CHECK(eq_f(&out[0], f, 4));
  release(1, out);
}

static void test_transpose(void) {
  tsoO_Params p;
  float x[6] = {1, 2, 3, 4, 5, 6};
  tsoO_Value in[1] = {V(TSO_DT_FLOAT, "2x3", x)}, out[1];
  memset(out, 0, sizeof out);
  CHECK_ST(parse(TSO_OP_TRANSPOSE, &p, NULL, 0, 1, 1, 13), TSO_OK);
  CHECK(p.transpose.n == 0);
  CHECK_ST(run(TSO_OP_TRANSPOSE, &p, 1, in, 1, out), TSO_OK);
  float t[6] = {1, 4, 2, 5, 3, 6};
  CHECK(shape_is(&out[0], "3x2") && eq_f(&out[0], t, 6));
  release(1, out);
  /* int64 [2,2,3] with perm [0,2,1] */
  int64_t y[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, perm[3] = {0, 2, 1};
  tso_attr pa = AIS("perm", perm, 3);
  CHECK_ST(parse(TSO_OP_TRANSPOSE, &p, &pa, 1, 1, 1, 13), TSO_OK);
  CHECK(roundtrip(TSO_OP_TRANSPOSE, &pa, 1, 1, 1, 13));
  CHECK(roundtrip(TSO_OP_TRANSPOSE, NULL, 0, 1, 1, 13));
  in[0] = V(TSO_DT_INT64, "2x2x3", y);
  CHECK_ST(run(TSO_OP_TRANSPOSE, &p, 1, in, 1, out), TSO_OK);
  int64_t ty[12] = {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11};
  CHECK(shape_is(&out[0], "2x3x2") && eq_i64(&out[0], ty, 12));
  release(1, out);
  in[0] = V(TSO_DT_FLOAT, "?", NULL);
  CHECK_ST(infer(TSO_OP_TRANSPOSE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?x?"));
  in[0] = V(TSO_DT_FLOAT, "2x3", NULL);
  CHECK_ST(infer(TSO_OP_TRANSPOSE, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  int64_t bad[3] = {0, 0, 1};
  pa = AIS("perm", bad, 3);
  CHECK_ST(parse(TSO_OP_TRANSPOSE, &p, &pa, 1, 1, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  pa = AI("perm", 1);
  CHECK_ST(parse(TSO_OP_TRANSPOSE, &p, &pa, 1, 1, 1, 13), TSO_ERR_UNSUPPORTED);
  int64_t nine[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  pa = AIS("perm", nine, 9);
  CHECK_ST(parse(TSO_OP_TRANSPOSE, &p, &pa, 1, 1, 1, 13), TSO_ERR_UNSUPPORTED);
  /* a scalar with the default perm */
  float s[1] = {42};
  memset(&p, 0, sizeof p);
  in[0] = V(TSO_DT_FLOAT, "", s);
  CHECK_ST(run(TSO_OP_TRANSPOSE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "") && eq_f(&out[0], s, 1));
  release(1, out);
}

static void test_concat(void) {
  tsoO_Params p;
  float a[2] = {1, 2}, b[6] = {3, 4, 5, 6, 7, 8};
  tso_attr ax = AI("axis", -1);
  tsoO_Value in[3] = {V(TSO_DT_FLOAT, "2x1", a), V(TSO_DT_FLOAT, "2x3", b)}, out[1];
  memset(out, 0, sizeof out);
  CHECK_ST(parse(TSO_OP_CONCAT, &p, &ax, 1, 2, 1, 13), TSO_OK);
  CHECK(roundtrip(TSO_OP_CONCAT, &ax, 1, 2, 1, 13));
  CHECK_ST(run(TSO_OP_CONCAT, &p, 2, in, 1, out), TSO_OK);
  float c[8] = {1, 3, 4, 5, 2, 6, 7, 8};
  CHECK(shape_is(&out[0], "2x4") && eq_f(&out[0], c, 8));
  release(1, out);
  /* axis 0 with int32 */
  int32_t i1[2] = {1, 2}, i2[4] = {3, 4, 5, 6}, ic[6] = {1, 2, 3, 4, 5, 6};
  p.axis.axis = 0;
  in[0] = V(TSO_DT_INT32, "1x2", i1), in[1] = V(TSO_DT_INT32, "2x2", i2);
  CHECK_ST(run(TSO_OP_CONCAT, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x2") && eq_i32(&out[0], ic, 6));
  release(1, out);
  /* unknowns */
  p.axis.axis = 1;
  in[0] = V(TSO_DT_FLOAT, "?x2", NULL), in[1] = V(TSO_DT_FLOAT, "?", NULL);
  in[2] = V(TSO_DT_FLOAT, "5x3", NULL);
  CHECK_ST(infer(TSO_OP_CONCAT, &p, 3, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "5x?"));
  /* errors */
  in[1] = V(TSO_DT_FLOAT, "5", NULL);
  CHECK_ST(infer(TSO_OP_CONCAT, &p, 3, in, 1, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "?x2") && strstr(err, "rank"));
  in[0] = V(TSO_DT_FLOAT, "4x2", NULL), in[1] = V(TSO_DT_FLOAT, "5x3", NULL);
  CHECK_ST(infer(TSO_OP_CONCAT, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_INT64, "5x2", NULL);
  CHECK_ST(infer(TSO_OP_CONCAT, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  p.axis.axis = 2;
  in[0] = V(TSO_DT_FLOAT, "5x2", NULL);
  CHECK_ST(infer(TSO_OP_CONCAT, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  p.axis.axis = 0;
  in[0] = V(TSO_DT_FLOAT, "1099511627776", NULL), in[1] = V(TSO_DT_FLOAT, "1", NULL);
  CHECK_ST(infer(TSO_OP_CONCAT, &p, 2, in, 1, out), TSO_ERR_LIMIT);
  CHECK_ST(parse(TSO_OP_CONCAT, &p, NULL, 0, 2, 1, 13), TSO_ERR_UNSUPPORTED);
  ax = AF("axis", 1);
  CHECK_ST(parse(TSO_OP_CONCAT, &p, &ax, 1, 2, 1, 13), TSO_ERR_UNSUPPORTED);
}

static void test_split(void) {
  tsoO_Params p;
  tsoO_Value out[4];
  float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  memset(out, 0, sizeof out);
  /* opset 11 'split' attribute, 2-D along axis 1 */
  int64_t sz[2] = {1, 4};
  tso_attr at[2] = {AI("axis", 1), AIS("split", sz, 2)};
  CHECK_ST(parse(TSO_OP_SPLIT, &p, at, 2, 1, 2, 11), TSO_OK);
  CHECK(p.split.nsizes == 2 && p.split.sizes[1] == 4 && p.split.axis == 1);
  CHECK(roundtrip(TSO_OP_SPLIT, at, 2, 1, 2, 11));
  CHECK(emitted(TSO_OP_SPLIT, &p, 13) == -1);
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "2x5", x), NONE()};
  CHECK_ST(run(TSO_OP_SPLIT, &p, 1, in, 2, out), TSO_OK);
  float o0[2] = {0, 5}, o1[8] = {1, 2, 3, 4, 6, 7, 8, 9};
  CHECK(shape_is(&out[0], "2x1") && shape_is(&out[1], "2x4"));
  CHECK(eq_f(&out[0], o0, 2) && eq_f(&out[1], o1, 8));
  release(2, out);
  /* opset 13 sizes as an int64 input */
  int64_t s3[3] = {1, 2, 3};
  CHECK_ST(parse(TSO_OP_SPLIT, &p, NULL, 0, 2, 3, 13), TSO_OK);
  CHECK(p.split.sizes[0] == 0 && p.split.nsizes == 0);
  in[0] = V(TSO_DT_FLOAT, "6", x), in[1] = V(TSO_DT_INT64, "3", s3);
  CHECK_ST(run(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_OK);
  CHECK(shape_is(&out[0], "1") && shape_is(&out[1], "2") && shape_is(&out[2], "3"));
  float q2[3] = {3, 4, 5};
  CHECK(eq_f(&out[2], q2, 3));
  release(3, out);
  in[1] = V(TSO_DT_INT64, "3", NULL); /* sizes not constant */
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x") && shape_is(&out[2], "?x"));
  int64_t s4[3] = {1, 2, 4};
  in[1] = V(TSO_DT_INT64, "3", s4);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "7") && strstr(err, "6"));
  in[1] = V(TSO_DT_INT64, "2", s4);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_ERR_SHAPE);
  int64_t sneg[3] = {4, -1, 3}, shuge[3] = {INT64_MAX, INT64_MAX, 1};
  in[1] = V(TSO_DT_INT64, "3", sneg);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_INT64, "3", shuge);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_ERR_LIMIT);
  in[1] = V(TSO_DT_FLOAT, "3", NULL);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 3, out), TSO_ERR_SHAPE);
  /* equal split (opset 13, no sizes): 6 into 3, negative axis */
  tso_attr neg = AI("axis", -1);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &neg, 1, 1, 3, 13), TSO_OK);
  CHECK(p.split.sizes[0] == 3 && roundtrip(TSO_OP_SPLIT, &neg, 1, 1, 3, 13));
  in[0] = V(TSO_DT_INT32, "1x6", x);
  CHECK_ST(run(TSO_OP_SPLIT, &p, 1, in, 3, out), TSO_OK);
  CHECK(shape_is(&out[0], "1x2") && shape_is(&out[2], "1x2"));
  CHECK(memcmp(out[1].data, &x[2], 8) == 0);
  release(3, out);
  in[0] = V(TSO_DT_FLOAT, "?x?", NULL);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 1, in, 3, out), TSO_OK);
  CHECK(shape_is(&out[1], "?x?"));
  /* opset 18 num_outputs, uneven: 7 into 3 -> 3,3,1; 9 into 4 ambiguous */
  tso_attr nu = AI("num_outputs", 3);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &nu, 1, 1, 3, 18), TSO_OK);
  CHECK(roundtrip(TSO_OP_SPLIT, &nu, 1, 1, 3, 18));
  CHECK(emitted(TSO_OP_SPLIT, &p, 18) == 1);
  in[0] = V(TSO_DT_FLOAT, "7", x);
  CHECK_ST(run(TSO_OP_SPLIT, &p, 1, in, 3, out), TSO_OK);
  CHECK(shape_is(&out[0], "3") && shape_is(&out[1], "3") && shape_is(&out[2], "1"));
  float l[1] = {6};
  CHECK(eq_f(&out[2], l, 1));
  release(3, out);
  nu = AI("num_outputs", 4);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &nu, 1, 1, 4, 18), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "9", NULL);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 1, in, 4, out), TSO_ERR_UNSUPPORTED);
  in[0] = V(TSO_DT_FLOAT, "5", NULL);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 1, in, 4, out), TSO_ERR_UNSUPPORTED);
  /* a model at opset 13 written back at 18 gets num_outputs */
  CHECK_ST(parse(TSO_OP_SPLIT, &p, NULL, 0, 1, 2, 13), TSO_OK);
  CHECK(emitted(TSO_OP_SPLIT, &p, 18) == 1 && emitted(TSO_OP_SPLIT, &p, 13) == 0);
  /* parse errors */
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &nu, 1, 1, 3, 18), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &nu, 1, 2, 4, 18), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &nu, 1, 1, 4, 13), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, at, 2, 1, 2, 13), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, at, 2, 1, 3, 11), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  int64_t many[25] = {0};
  tso_attr mt = AIS("split", many, 25);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &mt, 1, 1, 25, 11), TSO_ERR_UNSUPPORTED);
  CHECK(strstr(err, "24") != NULL);
  /* parameter errors: sizes both ways, sizes for the wrong output count */
  CHECK_ST(parse(TSO_OP_SPLIT, &p, at, 2, 1, 2, 11), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "2x5", NULL), in[1] = V(TSO_DT_INT64, "2", s3);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 2, in, 2, out), TSO_ERR_SHAPE);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 1, in, 3, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_FLOAT, "2x6", NULL);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 1, in, 2, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_FLOAT, "2", NULL);
  CHECK_ST(infer(TSO_OP_SPLIT, &p, 1, in, 2, out), TSO_ERR_SHAPE); /* axis 1 of rank 1 */
}

static void test_reshape_flatten(void) {
  tsoO_Params p;
  tsoO_Value out[1];
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)i;
  memset(out, 0, sizeof out);
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  int64_t s1[2] = {0, -1};
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "2x3x4", x), V(TSO_DT_INT64, "2", s1)};
  CHECK_ST(run(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "2x12") && eq_f(&out[0], x, 24));
  release(1, out);
  int64_t s2[1] = {-1};
  in[1] = V(TSO_DT_INT64, "1", s2);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "24"));
  int64_t s3[3] = {4, 0, -1};
  in[1] = V(TSO_DT_INT64, "3", s3);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "4x3x2"));
  in[0] = V(TSO_DT_FLOAT, "?x3x4", NULL);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "4x3x?"));
  in[1] = V(TSO_DT_INT64, "3", NULL); /* shape not constant: rank only */
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?x?"));
  in[1] = V(TSO_DT_INT64, "?", NULL);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1);
  /* errors */
  in[0] = V(TSO_DT_FLOAT, "2x3x4", NULL);
  int64_t e1[2] = {5, -1}, e2[2] = {-1, -1}, e3[2] = {4, 5}, e4[4] = {1, 1, 1, 0}, e5[1] = {-2};
  in[1] = V(TSO_DT_INT64, "2", e1);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "2x3x4") != NULL);
  in[1] = V(TSO_DT_INT64, "2", e2);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_INT64, "2", e3);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_INT64, "4", e4);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_INT64, "1", e5);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_FLOAT, "1", NULL);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_INT64, "2x2", NULL);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  int64_t big[2] = {1099511627776, 1099511627776};
  in[0] = V(TSO_DT_FLOAT, "?", NULL), in[1] = V(TSO_DT_INT64, "2", big);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_LIMIT);
  /* allowzero (opset 14) */
  tso_attr az = AI("allowzero", 1);
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, &az, 1, 2, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, &az, 1, 2, 1, 14), TSO_OK);
  CHECK(roundtrip(TSO_OP_RESHAPE, &az, 1, 2, 1, 14));
  CHECK(emitted(TSO_OP_RESHAPE, &p, 13) == -1);
  int64_t z[2] = {3, 0};
  in[0] = V(TSO_DT_FLOAT, "0x3", NULL), in[1] = V(TSO_DT_INT64, "2", z);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x0"));
  int64_t zm[2] = {0, -1};
  in[1] = V(TSO_DT_INT64, "2", zm);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  /* int32 shape values are read too; int8 data moves */
  int32_t s32[2] = {3, 2};
  int8_t b6[6] = {1, 2, 3, 4, 5, 6};
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  in[0] = V(TSO_DT_INT8, "6", b6), in[1] = V(TSO_DT_INT32, "2", s32);
  CHECK_ST(run(TSO_OP_RESHAPE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x2") && memcmp(out[0].data, b6, 6) == 0);
  release(1, out);

  /* Flatten */
  tso_attr fa = AI("axis", 2);
  CHECK_ST(parse(TSO_OP_FLATTEN, &p, NULL, 0, 1, 1, 13), TSO_OK);
  CHECK(p.axis.axis == 1 && emitted(TSO_OP_FLATTEN, &p, 13) == 0);
  CHECK(roundtrip(TSO_OP_FLATTEN, &fa, 1, 1, 1, 13));
  fa = AI("axis", 0);
  CHECK(roundtrip(TSO_OP_FLATTEN, &fa, 1, 1, 1, 9));
  in[0] = V(TSO_DT_FLOAT, "2x3x4", x);
  p.axis.axis = 2;
  CHECK_ST(run(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "6x4") && eq_f(&out[0], x, 24));
  release(1, out);
  p.axis.axis = -1;
  CHECK_ST(infer(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "6x4"));
  p.axis.axis = 0;
  CHECK_ST(infer(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "1x24"));
  p.axis.axis = 3;
  CHECK_ST(infer(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "24x1"));
  p.axis.axis = 4;
  CHECK_ST(infer(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  p.axis.axis = 1;
  in[0] = V(TSO_DT_FLOAT, "?x3x4", NULL);
  CHECK_ST(infer(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x12"));
  in[0] = V(TSO_DT_FLOAT, "?", NULL);
  CHECK_ST(infer(TSO_OP_FLATTEN, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?"));
}

static void test_squeeze_unsqueeze(void) {
  tsoO_Params p;
  tsoO_Value out[1];
  float x[3] = {1, 2, 3};
  memset(out, 0, sizeof out);
  /* Squeeze, attribute form */
  int64_t ax[2] = {0, -1};
  tso_attr aa = AIS("axes", ax, 2);
  CHECK_ST(parse(TSO_OP_SQUEEZE, &p, &aa, 1, 1, 1, 11), TSO_OK);
  CHECK(p.axes.has_axes == 1 && p.axes.naxes == 2 && p.axes.axes[1] == -1);
  CHECK(roundtrip(TSO_OP_SQUEEZE, &aa, 1, 1, 1, 11));
  CHECK(emitted(TSO_OP_SQUEEZE, &p, 13) == -1);
  CHECK_ST(parse(TSO_OP_SQUEEZE, &p, &aa, 1, 1, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SQUEEZE, &p, &aa, 1, 1, 1, 11), TSO_OK);
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "1x3x1", x), NONE()};
  CHECK_ST(run(TSO_OP_SQUEEZE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3") && eq_f(&out[0], x, 3));
  release(1, out);
  in[0] = V(TSO_DT_FLOAT, "1x3x2", NULL);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "1x3x2") != NULL);
  in[0] = V(TSO_DT_FLOAT, "?x3x?", NULL);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3"));
  /* input form (opset 13) */
  int64_t a1[1] = {1};
  CHECK_ST(parse(TSO_OP_SQUEEZE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "3x1", x), in[1] = V(TSO_DT_INT64, "1", a1);
  CHECK_ST(run(TSO_OP_SQUEEZE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3"));
  release(1, out);
  in[1] = V(TSO_DT_INT64, "1", NULL);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x"));
  CHECK(out[0].shape.rank == 1);
  int64_t dup[2] = {1, -1};
  in[1] = V(TSO_DT_INT64, "2", dup);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[1] = V(TSO_DT_INT64, "3", NULL);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  /* no axes: all 1s go; unknown dims leave the rank unknown */
  in[0] = V(TSO_DT_FLOAT, "1x3x1x2", NULL);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x2"));
  in[0] = V(TSO_DT_FLOAT, "1x?", NULL);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 1, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1);
  /* both parameters and input */
  CHECK_ST(parse(TSO_OP_SQUEEZE, &p, &aa, 1, 1, 1, 11), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "1x3x1", NULL), in[1] = V(TSO_DT_INT64, "1", a1);
  CHECK_ST(infer(TSO_OP_SQUEEZE, &p, 2, in, 1, out), TSO_ERR_SHAPE);

  /* Unsqueeze */
  int64_t u0[1] = {0}, um[1] = {-1}, u02[2] = {0, 2}, ud[2] = {1, 1};
  tso_attr ua = AIS("axes", u0, 1);
  CHECK_ST(parse(TSO_OP_UNSQUEEZE, &p, &ua, 1, 1, 1, 11), TSO_OK);
  CHECK(roundtrip(TSO_OP_UNSQUEEZE, &ua, 1, 1, 1, 11));
  CHECK_ST(parse(TSO_OP_UNSQUEEZE, &p, NULL, 0, 1, 1, 11), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_UNSQUEEZE, &p, &ua, 1, 1, 1, 11), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "3", x);
  CHECK_ST(run(TSO_OP_UNSQUEEZE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "1x3") && eq_f(&out[0], x, 3));
  release(1, out);
  CHECK_ST(parse(TSO_OP_UNSQUEEZE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  CHECK(roundtrip(TSO_OP_UNSQUEEZE, NULL, 0, 2, 1, 13));
  in[1] = V(TSO_DT_INT64, "1", um);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x1"));
  in[0] = V(TSO_DT_FLOAT, "3x4", NULL), in[1] = V(TSO_DT_INT64, "2", u02);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "1x3x1x4"));
  in[1] = V(TSO_DT_INT64, "2", NULL);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?x?x?"));
  in[1] = NONE();
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1);
  in[1] = V(TSO_DT_INT64, "2", ud);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_FLOAT, "1x1x1x1x1x1x1x1", NULL), in[1] = V(TSO_DT_INT64, "1", u0);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  int64_t far[1] = {3};
  in[0] = V(TSO_DT_FLOAT, "3", NULL), in[1] = V(TSO_DT_INT64, "1", far);
  CHECK_ST(infer(TSO_OP_UNSQUEEZE, &p, 2, in, 1, out), TSO_ERR_SHAPE);
}

static void test_pad(void) {
  tsoO_Params p;
  tsoO_Value out[1];
  memset(out, 0, sizeof out);
  /* opset 11 constant with constant_value input, int64 data */
  int64_t x[3] = {1, 2, 3}, pads[2] = {1, 2}, cv[1] = {9};
  CHECK_ST(parse(TSO_OP_PAD, &p, NULL, 0, 3, 1, 11), TSO_OK);
  CHECK(roundtrip(TSO_OP_PAD, NULL, 0, 3, 1, 11));
  tsoO_Value in[4] = {V(TSO_DT_INT64, "3", x), V(TSO_DT_INT64, "2", pads),
                      V(TSO_DT_INT64, "", cv), NONE()};
  CHECK_ST(run(TSO_OP_PAD, &p, 3, in, 1, out), TSO_OK);
  int64_t w1[6] = {9, 1, 2, 3, 9, 9};
  CHECK(shape_is(&out[0], "6") && eq_i64(&out[0], w1, 6));
  release(1, out);
  /* reflect and edge */
  float f[3] = {1, 2, 3};
  int64_t p22[2] = {2, 2};
  tso_attr mr = AS("mode", "reflect"), me = AS("mode", "edge");
  CHECK_ST(parse(TSO_OP_PAD, &p, &mr, 1, 2, 1, 13), TSO_OK);
  CHECK(p.pad.mode == TSO_PADMODE_REFLECT && roundtrip(TSO_OP_PAD, &mr, 1, 2, 1, 13));
  in[0] = V(TSO_DT_FLOAT, "3", f), in[1] = V(TSO_DT_INT64, "2", p22);
  CHECK_ST(run(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  float wr[7] = {3, 2, 1, 2, 3, 2, 1};
  CHECK(shape_is(&out[0], "7") && eq_f(&out[0], wr, 7));
  release(1, out);
  CHECK_ST(parse(TSO_OP_PAD, &p, &me, 1, 2, 1, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  float we[7] = {1, 1, 1, 2, 3, 3, 3};
  CHECK(eq_f(&out[0], we, 7));
  release(1, out);
  /* 2-D reflect: [[1,2],[3,4]] pads begin (1,0) end (0,1) */
  float g[4] = {1, 2, 3, 4};
  int64_t p2[4] = {1, 0, 0, 1};
  CHECK_ST(parse(TSO_OP_PAD, &p, &mr, 1, 2, 1, 13), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "2x2", g), in[1] = V(TSO_DT_INT64, "4", p2);
  CHECK_ST(run(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  float w2[9] = {3, 4, 3, 1, 2, 1, 3, 4, 3};
  CHECK(shape_is(&out[0], "3x3") && eq_f(&out[0], w2, 9));
  release(1, out);
  /* reflect needs pads < dim; edge of an empty dim; negative pads */
  int64_t p3[2] = {3, 0}, pn[2] = {-1, 0};
  in[0] = V(TSO_DT_FLOAT, "3", NULL), in[1] = V(TSO_DT_INT64, "2", p3);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  in[1] = V(TSO_DT_INT64, "2", pn);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_PAD, &p, &me, 1, 2, 1, 13), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "0", NULL), in[1] = V(TSO_DT_INT64, "2", p22);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_ERR_UNSUPPORTED);
  /* constant mode crops with negative pads (default zero value, uint8) */
  uint8_t u[4] = {1, 2, 3, 4};
  int64_t pc[2] = {-1, 2};
  CHECK_ST(parse(TSO_OP_PAD, &p, NULL, 0, 2, 1, 13), TSO_OK);
  in[0] = V(TSO_DT_UINT8, "4", u), in[1] = V(TSO_DT_INT64, "2", pc);
  CHECK_ST(run(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "5") && memcmp(out[0].data, "\2\3\4\0\0", 5) == 0);
  release(1, out);
  int64_t pneg[2] = {-3, -2};
  in[1] = V(TSO_DT_INT64, "2", pneg);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "4") != NULL);
  /* pads not constant; unknown dims */
  in[0] = V(TSO_DT_FLOAT, "2x?", NULL), in[1] = V(TSO_DT_INT64, "4", NULL);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?"));
  in[1] = V(TSO_DT_INT64, "4", p2);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x?"));
  in[1] = V(TSO_DT_INT64, "2", p22);
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK_ST(infer(TSO_OP_PAD, &p, 1, in, 1, out), TSO_ERR_SHAPE); /* no pads input */
  in[1] = NONE(); /* a required input of unknown type is unknown, not missing */
  CHECK_ST(infer(TSO_OP_PAD, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?"));
  /* opset 18 axes input (constant_value absent): pad only the last axis */
  int64_t axl[1] = {-1}, p11[2] = {1, 1};
  float h[4] = {1, 2, 3, 4};
  in[0] = V(TSO_DT_FLOAT, "2x2", h), in[1] = V(TSO_DT_INT64, "2", p11);
  in[2] = NONE(), in[3] = V(TSO_DT_INT64, "1", axl);
  CHECK_ST(run(TSO_OP_PAD, &p, 4, in, 1, out), TSO_OK);
  float wa[8] = {0, 1, 2, 0, 0, 3, 4, 0};
  CHECK(shape_is(&out[0], "2x4") && eq_f(&out[0], wa, 8));
  release(1, out);
  in[3] = V(TSO_DT_INT64, "1", NULL);
  CHECK_ST(infer(TSO_OP_PAD, &p, 4, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?"));
  in[2] = V(TSO_DT_INT64, "", NULL); /* constant_value of the wrong type */
  CHECK_ST(infer(TSO_OP_PAD, &p, 4, in, 1, out), TSO_ERR_SHAPE);
  /* opset < 11 attribute form with 'value', float and int64 data */
  int64_t ap[4] = {0, 1, 0, 0};
  tso_attr old[3] = {AIS("pads", ap, 4), AF("value", 2.0f), AS("mode", "constant")};
  CHECK_ST(parse(TSO_OP_PAD, &p, old, 3, 1, 1, 10), TSO_OK);
  CHECK(p.pad.npads == 4 && p.pad.value == 2.0f && p.pad.mode == 0);
  CHECK(roundtrip(TSO_OP_PAD, old, 3, 1, 1, 10));
  CHECK(emitted(TSO_OP_PAD, &p, 10) == 2 && emitted(TSO_OP_PAD, &p, 11) == -1);
  int64_t k[2] = {5, 6};
  in[0] = V(TSO_DT_INT64, "1x2", k);
  CHECK_ST(run(TSO_OP_PAD, &p, 1, in, 1, out), TSO_OK);
  int64_t wk[3] = {2, 5, 6};
  CHECK(shape_is(&out[0], "1x3") && eq_i64(&out[0], wk, 3));
  release(1, out);
  in[0] = V(TSO_DT_FLOAT, "1x2", h);
  CHECK_ST(run(TSO_OP_PAD, &p, 1, in, 1, out), TSO_OK);
  float wf[3] = {2, 1, 2};
  CHECK(eq_f(&out[0], wf, 3));
  release(1, out);
  in[0] = V(TSO_DT_FLOAT, "3", NULL);
  CHECK_ST(infer(TSO_OP_PAD, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  p.pad.value = 1.5f;
  in[0] = V(TSO_DT_INT64, "1x2", NULL);
  CHECK_ST(infer(TSO_OP_PAD, &p, 1, in, 1, out), TSO_ERR_UNSUPPORTED);
  in[0] = V(TSO_DT_FLOAT16, "1x2", NULL);
  CHECK_ST(infer(TSO_OP_PAD, &p, 1, in, 1, out), TSO_ERR_UNSUPPORTED);
  /* parse errors */
  tso_attr wrap = AS("mode", "wrap"), odd = AIS("pads", ap, 3);
  CHECK_ST(parse(TSO_OP_PAD, &p, &wrap, 1, 2, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK(strstr(err, "wrap") != NULL);
  CHECK_ST(parse(TSO_OP_PAD, &p, &odd, 1, 1, 1, 10), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  tso_attr oddr[2] = {AS("mode", "reflect"), AIS("pads", ap, 3)};
  CHECK_ST(parse(TSO_OP_PAD, &p, oddr, 2, 1, 1, 10), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  CHECK_ST(parse(TSO_OP_PAD, &p, NULL, 0, 1, 1, 10), TSO_ERR_UNSUPPORTED); /* no pads */
  CHECK_ST(parse(TSO_OP_PAD, &p, old, 1, 2, 1, 11), TSO_ERR_UNSUPPORTED);
  tso_attr mi = AI("mode", 1);
  CHECK_ST(parse(TSO_OP_PAD, &p, &mi, 1, 2, 1, 13), TSO_ERR_UNSUPPORTED);
}

static void test_shape_gather(void) {
  tsoO_Params p;
  tsoO_Value out[1];
  memset(out, 0, sizeof out);
  CHECK_ST(parse(TSO_OP_SHAPE, &p, NULL, 0, 1, 1, 13), TSO_OK);
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "2x3x4", NULL), NONE()};
  CHECK_ST(run(TSO_OP_SHAPE, &p, 1, in, 1, out), TSO_OK);
  int64_t w[3] = {2, 3, 4};
  CHECK(shape_is(&out[0], "3") && eq_i64(&out[0], w, 3));
  release(1, out);
  tso_attr se[2] = {AI("start", 1), AI("end", -1)};
  CHECK_ST(parse(TSO_OP_SHAPE, &p, se, 2, 1, 1, 13), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SHAPE, &p, se, 2, 1, 1, 15), TSO_OK);
  CHECK(roundtrip(TSO_OP_SHAPE, se, 2, 1, 1, 15));
  CHECK(roundtrip(TSO_OP_SHAPE, se + 1, 1, 1, 1, 15));
  CHECK(emitted(TSO_OP_SHAPE, &p, 14) == -1);
  CHECK_ST(run(TSO_OP_SHAPE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "1") && eq_i64(&out[0], w + 1, 1));
  release(1, out);
  tso_attr badend[2] = {AI("start", 1), AF("end", 1)};
  CHECK_ST(parse(TSO_OP_SHAPE, &p, badend, 2, 1, 1, 15), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  tso_attr far = AI("start", -100);
  CHECK_ST(parse(TSO_OP_SHAPE, &p, &far, 1, 1, 1, 15), TSO_OK);
  CHECK_ST(run(TSO_OP_SHAPE, &p, 1, in, 1, out), TSO_OK);
  CHECK(eq_i64(&out[0], w, 3));
  release(1, out);
  in[0] = V(TSO_DT_STRING, "?", NULL);
  CHECK_ST(infer(TSO_OP_SHAPE, &p, 1, in, 1, out), TSO_OK);
  CHECK(out[0].dtype == TSO_DT_INT64 && shape_is(&out[0], "?x") && out[0].shape.rank == 1);

  /* Gather */
  float d[6] = {1, 2, 3, 4, 5, 6};
  int64_t ix[2] = {2, -3};
  CHECK_ST(parse(TSO_OP_GATHER, &p, NULL, 0, 2, 1, 13), TSO_OK);
  CHECK(roundtrip(TSO_OP_GATHER, NULL, 0, 2, 1, 13));
  in[0] = V(TSO_DT_FLOAT, "3x2", d), in[1] = V(TSO_DT_INT64, "2", ix);
  CHECK_ST(run(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_OK);
  float w1[4] = {5, 6, 1, 2};
  CHECK(shape_is(&out[0], "2x2") && eq_f(&out[0], w1, 4));
  release(1, out);
  int32_t one[1] = {-1};
  tso_attr a1 = AI("axis", -1);
  CHECK_ST(parse(TSO_OP_GATHER, &p, &a1, 1, 2, 1, 13), TSO_OK);
  CHECK(roundtrip(TSO_OP_GATHER, &a1, 1, 2, 1, 11));
  in[1] = V(TSO_DT_INT32, "", one);
  CHECK_ST(run(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_OK);
  float w2[3] = {2, 4, 6};
  CHECK(shape_is(&out[0], "3") && eq_f(&out[0], w2, 3));
  release(1, out);
  in[1] = V(TSO_DT_INT64, "2x?", NULL);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3x2x?"));
  in[1] = V(TSO_DT_INT64, "?", NULL);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1);
  /* errors: index out of range (constant: infer; not constant: eval) */
  int64_t bad[1] = {2};
  in[1] = V(TSO_DT_INT64, "1", bad);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  CHECK(strstr(err, "3x2") != NULL);
  in[1] = V(TSO_DT_INT64, "1", NULL);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_OK);
  out[0].data = calloc(3, sizeof(float));
  in[1].data = bad;
  CHECK_ST(tsoO_eval_GATHER(&p, 2, in, 1, out, err), TSO_ERR_SHAPE);
  release(1, out);
  in[1] = V(TSO_DT_FLOAT, "1", NULL);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_FLOAT, "", NULL), in[1] = V(TSO_DT_INT64, "", NULL);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_ERR_SHAPE);
  p.axis.axis = 2;
  in[0] = V(TSO_DT_FLOAT, "3x2", NULL);
  CHECK_ST(infer(TSO_OP_GATHER, &p, 2, in, 1, out), TSO_ERR_SHAPE);
}

static void test_slice(void) {
  tsoO_Params p;
  tsoO_Value out[1];
  float x[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  memset(out, 0, sizeof out);
  CHECK_ST(parse(TSO_OP_SLICE, &p, NULL, 0, 3, 1, 9), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SLICE, &p, NULL, 0, 5, 1, 13), TSO_OK);
  CHECK(roundtrip(TSO_OP_SLICE, NULL, 0, 5, 1, 10));
  tso_attr st = AIS("starts", NULL, 0);
  CHECK_ST(parse(TSO_OP_SLICE, &p, &st, 1, 3, 1, 13), TSO_ERR_UNSUPPORTED);
  memset(&p, 0, sizeof p);
  int64_t s1[1] = {1}, e1[1] = {-1};
  tsoO_Value in[5] = {V(TSO_DT_FLOAT, "10", x), V(TSO_DT_INT64, "1", s1), V(TSO_DT_INT64, "1", e1),
                      NONE(), NONE()};
  CHECK_ST(run(TSO_OP_SLICE, &p, 3, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "8") && eq_f(&out[0], x + 1, 8));
  release(1, out);
  /* negative steps: reverse everything, then every third from the back */
  int64_t sr[1] = {-1}, er[1] = {INT64_MIN}, m1[1] = {-1}, m3[1] = {-3};
  in[1] = V(TSO_DT_INT64, "1", sr), in[2] = V(TSO_DT_INT64, "1", er);
  in[3] = ZERO(), in[4] = V(TSO_DT_INT64, "1", m1); /* axes absent, steps present */
  CHECK_ST(run(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  float rev[10] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  CHECK(shape_is(&out[0], "10") && eq_f(&out[0], rev, 10));
  release(1, out);
  in[4] = V(TSO_DT_INT64, "1", m3);
  CHECK_ST(run(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  float r3[4] = {9, 6, 3, 0};
  CHECK(shape_is(&out[0], "4") && eq_f(&out[0], r3, 4));
  release(1, out);
  int64_t s7[1] = {7}, e2[1] = {2};
  in[1] = V(TSO_DT_INT64, "1", s7), in[2] = V(TSO_DT_INT64, "1", e2);
  int64_t m2[1] = {-2};
  in[4] = V(TSO_DT_INT64, "1", m2);
  CHECK_ST(run(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  float r72[3] = {7, 5, 3};
  CHECK(shape_is(&out[0], "3") && eq_f(&out[0], r72, 3));
  release(1, out);
  /* 2-D with axes [-1] and int32 arguments, clamped end, step 2 */
  float y[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  int32_t a_s[1] = {1}, a_e[1] = {1000}, a_ax[1] = {-1}, a_st[1] = {2};
  in[0] = V(TSO_DT_FLOAT, "3x4", y);
  in[1] = V(TSO_DT_INT32, "1", a_s), in[2] = V(TSO_DT_INT32, "1", a_e);
  in[3] = V(TSO_DT_INT32, "1", a_ax), in[4] = V(TSO_DT_INT32, "1", a_st);
  CHECK_ST(run(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  float w2[6] = {1, 3, 5, 7, 9, 11};
  CHECK(shape_is(&out[0], "3x2") && eq_f(&out[0], w2, 6));
  release(1, out);
  /* both axes, negative step on axis 0 */
  int64_t bs[2] = {-1, 0}, be[2] = {-4, 2}, ba[2] = {0, 1}, bst[2] = {-2, 1};
  in[1] = V(TSO_DT_INT64, "2", bs), in[2] = V(TSO_DT_INT64, "2", be);
  in[3] = V(TSO_DT_INT64, "2", ba), in[4] = V(TSO_DT_INT64, "2", bst);
  CHECK_ST(run(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  float w3[4] = {8, 9, 0, 1};
  CHECK(shape_is(&out[0], "2x2") && eq_f(&out[0], w3, 4));
  release(1, out);
  /* empty results and an empty dimension */
  int64_t s5[1] = {5}, e3[1] = {3};
  in[0] = V(TSO_DT_FLOAT, "10", x);
  in[1] = V(TSO_DT_INT64, "1", s5), in[2] = V(TSO_DT_INT64, "1", e3);
  in[3] = NONE(), in[4] = NONE();
  CHECK_ST(run(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "0"));
  release(1, out);
  in[0] = V(TSO_DT_FLOAT, "0", NULL), in[4] = V(TSO_DT_INT64, "1", m1);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "0"));
  /* unknowns */
  in[0] = V(TSO_DT_FLOAT, "4x?", NULL);
  in[1] = V(TSO_DT_INT64, "1", NULL), in[2] = V(TSO_DT_INT64, "1", e3);
  in[3] = V(TSO_DT_INT64, "1", ba + 1), in[4] = NONE();
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "4x?"));
  in[1] = V(TSO_DT_INT64, "1", s1), in[3] = V(TSO_DT_INT64, "1", ba);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "2x?"));
  in[3] = V(TSO_DT_INT64, "1", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x?"));
  in[0] = V(TSO_DT_FLOAT, "?", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1);
  /* errors */
  int64_t zero[1] = {0}, dup[2] = {0, -2};
  in[0] = V(TSO_DT_FLOAT, "4x5", NULL), in[3] = NONE();
  in[4] = V(TSO_DT_INT64, "1", zero);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_ERR_SHAPE);
  in[4] = NONE();
  in[1] = V(TSO_DT_INT64, "2", bs), in[2] = V(TSO_DT_INT64, "2", be);
  in[3] = V(TSO_DT_INT64, "2", dup);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_ERR_SHAPE);
  in[3] = V(TSO_DT_INT64, "1", ba);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_ERR_SHAPE);
  in[3] = NONE(), in[2] = V(TSO_DT_INT64, "3", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 5, in, 1, out), TSO_ERR_SHAPE);
  in[0] = V(TSO_DT_FLOAT, "4", NULL), in[2] = V(TSO_DT_INT64, "2", be);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 3, in, 1, out), TSO_ERR_SHAPE);
  in[2] = V(TSO_DT_FLOAT, "2", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 3, in, 1, out), TSO_ERR_SHAPE);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_ERR_INVALID);
}

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as an exporter writes
** "x.view(x.size(0), -1)", with each result fed on as a constant. */
static void test_exporter_chain(void) {
  tsoO_Params p;
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)i;
  tsoO_Value shp[1], g[1], u[1], c[1], r[1];
  memset(shp, 0, sizeof shp), memset(g, 0, sizeof g), memset(u, 0, sizeof u);
  memset(c, 0, sizeof c), memset(r, 0, sizeof r);
  tsoO_Value in[2] = {V(TSO_DT_FLOAT, "2x3x4", x), NONE()};
  CHECK_ST(parse(TSO_OP_SHAPE, &p, NULL, 0, 1, 1, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_SHAPE, &p, 1, in, 1, shp), TSO_OK);
  int64_t zero[1] = {0}, minus1[1] = {-1}, axes0[1] = {0};
  tsoO_Value gi[2] = {shp[0], V(TSO_DT_INT64, "", zero)};
  CHECK_ST(parse(TSO_OP_GATHER, &p, NULL, 0, 2, 1, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_GATHER, &p, 2, gi, 1, g), TSO_OK);
  CHECK(shape_is(&g[0], "") && eq_i64(&g[0], (int64_t[]){2}, 1));
  tsoO_Value ui[2] = {g[0], V(TSO_DT_INT64, "1", axes0)};
  CHECK_ST(parse(TSO_OP_UNSQUEEZE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_UNSQUEEZE, &p, 2, ui, 1, u), TSO_OK);
  CHECK(shape_is(&u[0], "1"));
  tsoO_Value ci[2] = {u[0], V(TSO_DT_INT64, "1", minus1)};
  tso_attr ax = AI("axis", 0);
  CHECK_ST(parse(TSO_OP_CONCAT, &p, &ax, 1, 2, 1, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_CONCAT, &p, 2, ci, 1, c), TSO_OK);
  CHECK(shape_is(&c[0], "2") && eq_i64(&c[0], (int64_t[]){2, -1}, 2));
  tsoO_Value ri[2] = {in[0], c[0]};
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  CHECK_ST(run(TSO_OP_RESHAPE, &p, 2, ri, 1, r), TSO_OK);
  CHECK(shape_is(&r[0], "2x12") && eq_f(&r[0], x, 24));
  /* the same chain with x of unknown batch: Shape's data is unknown */
  tsoO_Value xs = V(TSO_DT_FLOAT, "?x3x4", NULL), so[1];
  memset(so, 0, sizeof so);
  CHECK_ST(parse(TSO_OP_SHAPE, &p, NULL, 0, 1, 1, 13), TSO_OK);
  CHECK_ST(infer(TSO_OP_SHAPE, &p, 1, &xs, 1, so), TSO_OK);
  CHECK(shape_is(&so[0], "3"));
  tsoO_Value cat = V(TSO_DT_INT64, "2", NULL), ro[1];
  tsoO_Value rin[2] = {xs, cat};
  memset(ro, 0, sizeof ro);
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, NULL, 0, 2, 1, 13), TSO_OK);
  CHECK_ST(infer(TSO_OP_RESHAPE, &p, 2, rin, 1, ro), TSO_OK);
  CHECK(shape_is(&ro[0], "?x?"));
  release(1, shp), release(1, g), release(1, u), release(1, c), release(1, r);
}

/* Every table operator this file owns has all four functions, and eval
** refuses values without data instead of crashing. */
/* Slice's attribute form, opsets 1..9: 'starts', 'ends', optional 'axes'. */
static void test_slice_attrs(void) {
  tsoO_Params p;
  tsoO_AttrSet set;
  tsoO_Value in[3], out[1];
  memset(out, 0, sizeof out);
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  /* the two examples of the Slice-1 text on [[1,2,3,4],[5,6,7,8]] */
  int64_t s1[2] = {1, 0}, e1[2] = {2, 3}, a1[2] = {0, 1}, s2[2] = {0, 1}, e2[2] = {-1, 1000};
  tso_attr ex1[3] = {AIS("starts", s1, 2), AIS("ends", e1, 2), AIS("axes", a1, 2)};
  tso_attr ex2[2] = {AIS("starts", s2, 2), AIS("ends", e2, 2)};
  in[0] = V(TSO_DT_FLOAT, "2x4", x);
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex1, 3, 1, 1, 9), TSO_OK);
  CHECK(roundtrip(TSO_OP_SLICE, ex1, 3, 1, 1, 9) && roundtrip(TSO_OP_SLICE, ex1, 3, 1, 1, 1));
  CHECK(emitted(TSO_OP_SLICE, &p, 9) == 3 && emitted(TSO_OP_SLICE, &p, 10) == -1);
  CHECK_ST(run(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  float w1[3] = {5, 6, 7};
  CHECK(shape_is(&out[0], "1x3") && eq_f(&out[0], w1, 3));
  release(1, out);
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex2, 2, 1, 1, 6), TSO_OK);
  CHECK(emitted(TSO_OP_SLICE, &p, 6) == 2 && roundtrip(TSO_OP_SLICE, ex2, 2, 1, 1, 6));
  CHECK_ST(run(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  float w2[3] = {2, 3, 4};
  CHECK(shape_is(&out[0], "1x3") && eq_f(&out[0], w2, 3));
  release(1, out);
  /* an int64 bound is kept clamped to int32, which selects the same elements */
  int64_t s3[1] = {2}, e3[1] = {INT64_MAX}, a3[1] = {1};
  tso_attr ex3[3] = {AIS("starts", s3, 1), AIS("ends", e3, 1), AIS("axes", a3, 1)};
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex3, 3, 1, 1, 9), TSO_OK);
  CHECK(tsoO_info(TSO_OP_SLICE)->emit(&p, 9, &set) == TSO_OK && set.n == 3 &&
        set.a[1].n == 1 && set.a[1].ints[0] == INT32_MAX);
  CHECK(roundtrip(TSO_OP_SLICE, ex3, 3, 1, 1, 9));
  CHECK_ST(run(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  float w3[4] = {3, 4, 7, 8};
  CHECK(shape_is(&out[0], "2x2") && eq_f(&out[0], w3, 4));
  release(1, out);
  /* ... but a sliced dimension of INT32_MAX or more is refused */
  in[0] = V(TSO_DT_FLOAT, "1x3000000000", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_ERR_UNSUPPORTED);
  in[0] = V(TSO_DT_FLOAT, "3000000000x5", NULL); /* axis 0 is not sliced */
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "3000000000x3"));
  /* negative axes and bounds; unknown dimensions */
  int64_t s4[1] = {-3}, e4[1] = {-1}, a4[1] = {-1};
  tso_attr ex4[3] = {AIS("starts", s4, 1), AIS("ends", e4, 1), AIS("axes", a4, 1)};
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex4, 3, 1, 1, 9), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "2x4", x);
  CHECK_ST(run(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  float w4[4] = {2, 3, 6, 7};
  CHECK(shape_is(&out[0], "2x2") && eq_f(&out[0], w4, 4));
  release(1, out);
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex1, 3, 1, 1, 9), TSO_OK);
  in[0] = V(TSO_DT_FLOAT, "?x4", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  CHECK(shape_is(&out[0], "?x3"));
  in[0] = V(TSO_DT_FLOAT, "?", NULL);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_OK);
  CHECK(out[0].shape.rank == -1);
  in[0] = V(TSO_DT_FLOAT, "4", NULL); /* two axes for rank 1 */
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  /* the attribute form takes exactly one input */
  int64_t s0[1] = {0};
  in[0] = V(TSO_DT_FLOAT, "2x4", x), in[1] = V(TSO_DT_INT64, "1", s0), in[2] = V(TSO_DT_INT64, "1", s0);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 3, in, 1, out), TSO_ERR_INVALID);
  /* repeated axes */
  int64_t rep2[2] = {1, -1};
  tso_attr ex5[3] = {AIS("starts", s1, 2), AIS("ends", e1, 2), AIS("axes", rep2, 2)};
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex5, 3, 1, 1, 9), TSO_OK);
  CHECK_ST(infer(TSO_OP_SLICE, &p, 1, in, 1, out), TSO_ERR_SHAPE);
  /* refused forms leave the parameters zeroed */
  tso_attr miss[2] = {AIS("starts", s1, 2), AIS("axes", a1, 2)};
  tso_attr uneven[2] = {AIS("starts", s1, 2), AIS("ends", e3, 1)};
  tso_attr empty[2] = {AIS("starts", s1, 0), AIS("ends", e1, 0)};
  tso_attr steps[3] = {AIS("starts", s3, 1), AIS("ends", e3, 1), AIS("steps", s3, 1)};
  CHECK_ST(parse(TSO_OP_SLICE, &p, miss, 2, 1, 1, 9), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  CHECK_ST(parse(TSO_OP_SLICE, &p, uneven, 2, 1, 1, 9), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  CHECK_ST(parse(TSO_OP_SLICE, &p, empty, 2, 1, 1, 9), TSO_ERR_UNSUPPORTED);
  CHECK(zeroed(&p));
  CHECK_ST(parse(TSO_OP_SLICE, &p, steps, 3, 1, 1, 9), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_SLICE, &p, ex2, 2, 1, 1, 10), TSO_ERR_UNSUPPORTED);
  memset(&p, 0, sizeof p); /* the input form has no attribute form */
  CHECK(emitted(TSO_OP_SLICE, &p, 9) == -1 && emitted(TSO_OP_SLICE, &p, 10) == 0);
}

/* The opsets below 7 of the data-movement operators. */
static void test_old_opsets(void) {
  tsoO_Params p;
  int64_t perm[2] = {1, 0}, axes[1] = {0}, sizes[2] = {2, 1}, pads[4] = {0, 1, 0, 2};
  tso_attr pa = AIS("perm", perm, 2), ax1 = AI("axis", 1), ua = AIS("axes", axes, 1);
  tso_attr sp[2] = {AI("axis", 0), AIS("split", sizes, 2)}, pd[2] = {AS("mode", "edge"), AIS("pads", pads, 4)};
  CHECK(roundtrip(TSO_OP_TRANSPOSE, &pa, 1, 1, 1, 1));
  CHECK(roundtrip(TSO_OP_FLATTEN, &ax1, 1, 1, 1, 1));
  CHECK(roundtrip(TSO_OP_GATHER, &ax1, 1, 2, 1, 1));
  CHECK(roundtrip(TSO_OP_UNSQUEEZE, &ua, 1, 1, 1, 1));
  CHECK(roundtrip(TSO_OP_SQUEEZE, &ua, 1, 1, 1, 1));
  CHECK(roundtrip(TSO_OP_SPLIT, sp, 2, 1, 2, 2));
  CHECK(roundtrip(TSO_OP_SPLIT, NULL, 0, 2, 2, 1)); /* opset 1: sizes as an input */
  CHECK(roundtrip(TSO_OP_IDENTITY, NULL, 0, 1, 1, 1));
  CHECK(roundtrip(TSO_OP_SHAPE, NULL, 0, 1, 1, 1));
  CHECK(roundtrip(TSO_OP_PAD, pd, 2, 1, 1, 2));
  CHECK(roundtrip(TSO_OP_RESHAPE, NULL, 0, 2, 1, 5));
  /* forms that differ: Reshape's 'shape' attribute (1..4), Pad's
  ** 'paddings' (1), Dropout's is_test default 0 (6) */
  CHECK_ST(parse(TSO_OP_RESHAPE, &p, NULL, 0, 2, 1, 4), TSO_ERR_UNSUPPORTED);
  CHECK(emitted(TSO_OP_RESHAPE, &p, 4) == -1);
  CHECK_ST(parse(TSO_OP_PAD, &p, pd, 2, 1, 1, 1), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_DROPOUT, &p, NULL, 0, 1, 1, 6), TSO_ERR_UNSUPPORTED);
  /* Concat's axis defaults to 1 below opset 4 and is written back */
  CHECK_ST(parse(TSO_OP_CONCAT, &p, NULL, 0, 2, 1, 3), TSO_OK);
  CHECK(p.axis.axis == 1 && emitted(TSO_OP_CONCAT, &p, 3) == 1);
  CHECK(roundtrip(TSO_OP_CONCAT, NULL, 0, 2, 1, 1));
  CHECK_ST(parse(TSO_OP_CONCAT, &p, NULL, 0, 2, 1, 4), TSO_ERR_UNSUPPORTED);
  CHECK_ST(parse(TSO_OP_TRANSPOSE, &p, &pa, 1, 1, 1, 0), TSO_ERR_UNSUPPORTED);
  /* the split of an opset-6 GLU: [2,4] into two [2,2] along axis -1 */
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, h0[4] = {1, 2, 5, 6}, h1[4] = {3, 4, 7, 8};
  tso_attr am = AI("axis", -1);
  tsoO_Value in[1] = {V(TSO_DT_FLOAT, "2x4", x)}, out[2];
  memset(out, 0, sizeof out);
  CHECK_ST(parse(TSO_OP_SPLIT, &p, &am, 1, 1, 2, 6), TSO_OK);
  CHECK_ST(run(TSO_OP_SPLIT, &p, 1, in, 2, out), TSO_OK);
  CHECK(shape_is(&out[0], "2x2") && eq_f(&out[0], h0, 4) && eq_f(&out[1], h1, 4));
  release(2, out);
}

static void test_guards(void) {
  static const int ops[] = {TSO_OP_ADD, TSO_OP_RELU, TSO_OP_TRANSPOSE, TSO_OP_CONCAT,
                            TSO_OP_SPLIT, TSO_OP_RESHAPE, TSO_OP_PAD, TSO_OP_GATHER,
                            TSO_OP_SLICE, TSO_OP_IDENTITY};
  tsoO_Params p;
  memset(&p, 0, sizeof p);
  tsoO_Value in[3] = {V(TSO_DT_FLOAT, "2", NULL), V(TSO_DT_INT64, "1", NULL),
                      V(TSO_DT_INT64, "1", NULL)},
             out[1] = {V(TSO_DT_FLOAT, "2", NULL)};
  for (int k = 0; k < N(ops); k++) {
    const tsoO_Info *o = tsoO_info(ops[k]);
    CHECK(o && o->parse && o->emit && o->infer && o->eval);
    int nin = o->min_in > 3 ? 3 : o->min_in;
    tso_status st = o->eval(&p, nin < 1 ? 1 : nin, in, 1, out, err);
    CHECK(st != TSO_OK);
  }
}

int main(void) {
  test_broadcast();
  test_binary_float();
  test_binary_int64();
  test_binary_int_types();
  test_pow_types();
  test_legacy_broadcast();
  test_scalar_mul();
  test_unary();
  test_parse_elementwise();
  test_opaque_constant();
  test_identity_dropout();
  test_transpose();
  test_concat();
  test_split();
  test_reshape_flatten();
  test_squeeze_unsqueeze();
  test_pad();
  test_shape_gather();
  test_slice();
  test_slice_attrs();
  test_old_opsets();
  test_exporter_chain();
  test_guards();
  printf("%s: %d checks, %d failed\n", failures ? "FAILED" : "ok", checks, failures);
  return failures ? 1 : 0;
}
