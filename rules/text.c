/*
** text.c -- the text form of rules: one rule per line, for review in diffs
** (docs/rules-format.md, "Text form"), and whole rule sets with a header
** comment block giving the provenance.
**
** The invariant kept here: for every rule that passes tsoR_check(),
** tsoR_parse_text(tsoR_format(r)) gives back exactly the bytes of r, and
** the set form round-trips a set (provenance included) exactly, so that
** `taso-rules dump | taso-rules parse` reproduces a file byte for byte.
** Parameters are printed by name where this file knows the operator's
** fields, each only when it differs from its default (a few essential ones
** always); any other non-zero parameter word is printed as w<k>=<int32>,
** so nothing is ever lost.
*/
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"


#define LINE_CAP 32768 /* tsoR_format never needs more for a rule that passes tsoR_check */

/* ---- parameter fields ------------------------------------------------ */

enum {
  F_INT,   /* one word: name=N */
  F_PAIR,  /* two words: name=AxB */
  F_QUAD,  /* four words: name=[a,b,c,d] */
  F_ENUM,  /* one word: name=<name from names[]> or name=N */
  F_LIST,  /* count word + elements: name=[a,b,...] (count 1..max) */
  F_DIMS,  /* count word + elements: name=AxBxC (count 1..max) */
  F_PARTS  /* split's equal parts: count word 0, element 0 = N: name=N */
};

typedef struct Field {
  const char *name;
  int kind;
  int w;                     /* first word (elements for LIST/DIMS/PARTS) */
  int cw;                    /* count word of LIST/DIMS/PARTS */
  int max;                   /* most elements of LIST/DIMS */
  int always;                /* printed even when equal to the default */
  int32_t def[4];            /* defaults of INT/PAIR/QUAD/ENUM */
  const char *const *names;  /* ENUM value names, NULL-terminated */
} Field;

#define W(member) ((int)(offsetof(tsoO_Params, member) / sizeof(int32_t)))

static const char *const pad_names[] = {"explicit", "same", "same_lower", "valid", NULL};
static const char *const act_names[] = {"none", "relu", NULL};

/* conv2d, maxpool, avgpool: one table each because the defaults differ */
#define WIN_FIELDS(KALWAYS, GROUP)                                                         \
  {"kernel", F_PAIR, W(win.kh), 0, 0, KALWAYS, {0, 0, 0, 0}, NULL},                      \
  {"stride", F_PAIR, W(win.sh), 0, 0, 0, {1, 1, 0, 0}, NULL},                            \
  {"pad", F_ENUM, W(win.pad_mode), 0, 0, 0, {TSO_PAD_SAME_UPPER, 0, 0, 0}, pad_names},   \
  {"pads", F_QUAD, W(win.pt), 0, 0, 0, {0, 0, 0, 0}, NULL},                              \
  {"dil", F_PAIR, W(win.dh), 0, 0, 0, {1, 1, 0, 0}, NULL},                               \
  {"group", F_INT, W(win.group), 0, 0, 0, {GROUP, 0, 0, 0}, NULL},                       \
  {"act", F_ENUM, W(win.act), 0, 0, 0, {TSO_ACT_NONE, 0, 0, 0}, act_names},              \
  {"ceil_mode", F_INT, W(win.ceil_mode), 0, 0, 0, {0, 0, 0, 0}, NULL},                   \
  {"count_include_pad", F_INT, W(win.count_include_pad), 0, 0, 0, {0, 0, 0, 0}, NULL},   \
  {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}

static const Field conv_fields[] = {WIN_FIELDS(0, 1)};
static const Field pool_fields[] = {WIN_FIELDS(1, 0)};
static const Field concat_fields[] = {
    {"axis", F_INT, W(axis.axis), 0, 0, 1, {0, 0, 0, 0}, NULL},
    {"legacy", F_INT, W(axis.legacy), 0, 0, 0, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field axis_fields[] = {
    {"axis", F_INT, W(axis.axis), 0, 0, 0, {0, 0, 0, 0}, NULL},
    {"legacy", F_INT, W(axis.legacy), 0, 0, 0, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field split_fields[] = {
    {"axis", F_INT, W(split.axis), 0, 0, 1, {0, 0, 0, 0}, NULL},
    {"sizes", F_LIST, W(split.sizes), W(split.nsizes), 24, 0, {0, 0, 0, 0}, NULL},
    {"parts", F_PARTS, W(split.sizes), W(split.nsizes), 1, 0, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field transpose_fields[] = {
    {"perm", F_LIST, W(transpose.perm), W(transpose.n), TSO_MAX_RANK, 0, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field enlarge_fields[] = {
    {"kernel", F_PAIR, W(enlarge.kh), 0, 0, 1, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field cgen_fields[] = {
    {"dims", F_DIMS, W(cgen.dims), W(cgen.rank), TSO_MAX_RANK, 0, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field gemm_fields[] = {
    {"trans_a", F_INT, W(gemm.trans_a), 0, 0, 0, {0, 0, 0, 0}, NULL},
    {"trans_b", F_INT, W(gemm.trans_b), 0, 0, 0, {0, 0, 0, 0}, NULL},
    {NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};
static const Field no_fields[] = {{NULL, 0, 0, 0, 0, 0, {0, 0, 0, 0}, NULL}};

/* The named fields of operator op (an empty table for the others, whose
** non-zero words all print as w<k>). */
static const Field *fields_of(int op) {
  switch (op) {
  case TSO_OP_CONV2D: return conv_fields;
  case TSO_OP_MAXPOOL: case TSO_OP_AVGPOOL: return pool_fields;
  case TSO_OP_CONCAT: return concat_fields;
  case TSO_OP_SOFTMAX: case TSO_OP_FLATTEN: case TSO_OP_GATHER: return axis_fields;
  case TSO_OP_SPLIT: return split_fields;
  case TSO_OP_TRANSPOSE: return transpose_fields;
  case TSO_OP_ENLARGE: return enlarge_fields;
  case TSO_OP_CONST_IKERNEL: case TSO_OP_CONST_IMATRIX: case TSO_OP_CONST_ONES: case TSO_OP_CONST_POOL:
    return cgen_fields;
  case TSO_OP_GEMM: return gemm_fields;
  default: return no_fields;
  }
}

/* Words of a fixed-size field. */
static int fixed_words(int kind) { return kind == F_PAIR ? 2 : kind == F_QUAD ? 4 : 1; }

/* ---- output buffer --------------------------------------------------- */

typedef struct Sb {
  char *b;
  size_t n, cap; /* used (without the NUL), capacity */
  int over;      /* something did not fit */
} Sb;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(Sb *s, const char *fmt, ...) {
  va_list ap;
  if (s->over) return;
  va_start(ap, fmt);
  int k = vsnprintf(s->b + s->n, s->cap - s->n, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= s->cap - s->n) {
    s->over = 1;
    s->b[s->n] = 0;
    return;
  }
  s->n += (size_t)k;
}

/* ---- formatting ------------------------------------------------------ */

static const char *const status_names[] = {"candidate", "proven", "refuted", "unknown", NULL};
static const char *const kind_names[] = {"any", "matrix", "act4", "kernel", "scalar", NULL};
static const int kind_rank[] = {-1, 2, 4, 4, 0}; /* implied rank; -1: always written */

/* Prints the parameters of o as {a=..,b=..} (nothing when all default). */
static void fmt_params(Sb *s, const tsoR_Op *o) {
  const int32_t *w = o->p.raw;
  uint32_t covered = 0;
  int items = 0;
  for (const Field *f = fields_of(o->op); f->name; f++) {
    int show = 0, n;
    switch (f->kind) {
    case F_INT: case F_PAIR: case F_QUAD: case F_ENUM:
      n = fixed_words(f->kind);
      for (int i = 0; i < n; i++) {
        covered |= 1u << (f->w + i);
        if (w[f->w + i] != f->def[i]) show = 1;
      }
      break;
    case F_LIST: case F_DIMS:
      n = w[f->cw];
      if (n < 1 || n > f->max) break; /* left to w<k> */
      show = 1;
      covered |= 1u << f->cw;
      for (int i = 0; i < n; i++) covered |= 1u << (f->w + i);
      break;
    default: /* F_PARTS */
      if (w[f->cw] != 0 || w[f->w] < 1) break; /* others print as raw words */
      show = 1;
      covered |= 1u << f->cw | 1u << f->w;
      break;
    }
    if (!show && !f->always) continue;
    sb_printf(s, "%s%s=", items++ ? "," : "{", f->name);
    switch (f->kind) {
    case F_INT: sb_printf(s, "%d", (int)w[f->w]); break;
    case F_PAIR: sb_printf(s, "%dx%d", (int)w[f->w], (int)w[f->w + 1]); break;
    case F_QUAD:
      sb_printf(s, "[%d,%d,%d,%d]", (int)w[f->w], (int)w[f->w + 1], (int)w[f->w + 2], (int)w[f->w + 3]);
      break;
    case F_ENUM: {
      int v = w[f->w], nn = 0;
      while (f->names[nn]) nn++;
      if (v >= 0 && v < nn) sb_printf(s, "%s", f->names[v]);
      else sb_printf(s, "%d", v);
      break;
    }
    case F_LIST:
      sb_printf(s, "[");
      for (int i = 0; i < w[f->cw]; i++) sb_printf(s, "%s%d", i ? "," : "", (int)w[f->w + i]);
      sb_printf(s, "]");
      break;
    case F_DIMS:
      for (int i = 0; i < w[f->cw]; i++) sb_printf(s, "%s%d", i ? "x" : "", (int)w[f->w + i]);
      break;
    default: sb_printf(s, "%d", (int)w[f->w]); break;
    }
  }
  for (int k = 0; k < 32; k++)
    if (!(covered & (1u << k)) && w[k]) sb_printf(s, "%sw%d=%d", items++ ? "," : "{", k, (int)w[k]);
  if (items) sb_printf(s, "}");
}

/* Prints a ref; slot shown for ops with several outputs. */
static void fmt_ref(Sb *s, const tsoR_Pattern *pt, const tsoR_Ref *f) {
  if (f->kind == TSO_REF_INPUT) sb_printf(s, "x%d", f->idx);
  else if (f->kind == TSO_REF_OP && f->idx < TSO_RULE_MAX_OPS && pt->ops[f->idx].nout == 1 && f->slot == 0)
    sb_printf(s, "%%%d", f->idx);
  else if (f->kind == TSO_REF_OP) sb_printf(s, "%%%d.%d", f->idx, f->slot);
  else sb_printf(s, "?%d.%d.%d", f->kind, f->idx, f->slot); /* never parsed back */
}

static void fmt_pattern(Sb *s, const tsoR_Pattern *pt) {
  for (int k = 0; k < pt->nops; k++) {
    const tsoR_Op *o = &pt->ops[k];
    const tsoO_Info *oi = tsoO_info(o->op);
    if (k) sb_printf(s, " ; ");
    if (oi) sb_printf(s, "%s", oi->name);
    else sb_printf(s, "op%d", o->op); /* never parsed back */
    if (!oi || o->nout != oi->min_out) sb_printf(s, ":%d", o->nout);
    fmt_params(s, o);
    sb_printf(s, "(");
    for (int i = 0; i < o->nin; i++) {
      if (i) sb_printf(s, ",");
      fmt_ref(s, pt, &o->in[i]);
    }
    sb_printf(s, ")");
  }
  if (pt->nops) sb_printf(s, " ->");
  for (int i = 0; i < pt->nout; i++) {
    sb_printf(s, i || pt->nops ? " " : "");
    fmt_ref(s, pt, &pt->out[i]);
  }
}

tso_status tsoR_format(const tsoR_Rule *r, char *buf, size_t n) {
  if (!n) return TSO_ERR_LIMIT;
  buf[0] = 0;
  if (r->nin > TSO_RULE_MAX_IN || r->src.nops > TSO_RULE_MAX_OPS || r->dst.nops > TSO_RULE_MAX_OPS ||
      r->src.nout > TSO_RULE_MAX_OUT || r->dst.nout > TSO_RULE_MAX_OUT)
    return TSO_ERR_INVALID;
  for (int side = 0; side < 2; side++) {
    const tsoR_Pattern *pt = side ? &r->dst : &r->src;
    for (int k = 0; k < pt->nops; k++)
      if (pt->ops[k].nin > TSO_RULE_MAX_OPIN) return TSO_ERR_INVALID;
  }
  Sb s = {buf, 0, n, 0};
  sb_printf(&s, "r%u ", (unsigned)r->id);
  if (r->status <= TSO_RULE_UNKNOWN) sb_printf(&s, "%s", status_names[r->status]);
  else sb_printf(&s, "%d", r->status);
  for (int i = 0; i < r->nin; i++) {
    /* role name, ".SUB" for a subclass other than 0, "/RANK" when not implied */
    int k = r->in_kind[i], role = tsoR_in_role(r->in_kind[i]), sub = tsoR_in_sub(r->in_kind[i]);
    sb_printf(&s, " x%d:", i);
    if (role <= TSO_IN_SCALAR) {
      sb_printf(&s, "%s", kind_names[role]);
      if (sub) sb_printf(&s, ".%d", sub);
    } else {
      sb_printf(&s, "%d", k);
    }
    if (role > TSO_IN_SCALAR || kind_rank[role] != r->in_rank[i]) sb_printf(&s, "/%d", r->in_rank[i]);
  }
  sb_printf(&s, " | ");
  fmt_pattern(&s, &r->src);
  sb_printf(&s, " => ");
  fmt_pattern(&s, &r->dst);
  return s.over ? TSO_ERR_LIMIT : TSO_OK;
}

/* ---- parsing one line ------------------------------------------------ */

/* A cursor over one line; errors name the 1-based column. */
typedef struct P {
  const char *line, *p;
  char *err;
} P;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static tso_status perr(P *ps, const char *at, const char *fmt, ...) {
  char msg[TSO_ERRMAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tsoO_fail(ps->err, TSO_ERR_PARSE, "column %d: %s", (int)(at - ps->line) + 1, msg);
}

static void skip_ws(P *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n') ps->p++;
}

static int is_ident(int c, int first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Reads an identifier into id (cap bytes); 0 or -1 when none. */
static int get_ident(P *ps, char *id, size_t cap) {
  skip_ws(ps);
  size_t n = 0;
  if (!is_ident((unsigned char)*ps->p, 1)) return -1;
  while (is_ident((unsigned char)ps->p[n], 0)) n++;
  if (n >= cap) n = cap - 1; /* too long for any name: still an unknown name */
  memcpy(id, ps->p, n);
  id[n] = 0;
  while (is_ident((unsigned char)*ps->p, 0)) ps->p++;
  return 0;
}

/* Consumes the literal lit (after blanks) if present. */
static int accept(P *ps, const char *lit) {
  skip_ws(ps);
  size_t n = strlen(lit);
  if (strncmp(ps->p, lit, n) != 0) return 0;
  ps->p += n;
  return 1;
}

static tso_status expect(P *ps, const char *lit) {
  if (accept(ps, lit)) return TSO_OK;
  return perr(ps, ps->p, "expected '%s'%s", lit, *ps->p ? "" : " before the end of the line");
}

/* A decimal int in [lo, hi] (no blanks inside). */
static tso_status get_int(P *ps, long long lo, long long hi, long long *v) {
  const char *at = ps->p;
  const char *q = at;
  if (*q == '-') q++;
  if (*q < '0' || *q > '9') return perr(ps, at, "expected a number");
  long long x = 0;
  int neg = *at == '-';
  while (*q >= '0' && *q <= '9') {
    if (x > 10000000000LL) return perr(ps, at, "number out of range");
    x = x * 10 + (*q++ - '0');
  }
  if (neg) x = -x;
  if (x < lo || x > hi) return perr(ps, at, "%lld is out of range [%lld, %lld]", x, lo, hi);
  ps->p = q;
  *v = x;
  return TSO_OK;
}

/* Index of name in a NULL-terminated table, or -1. */
static int lookup(const char *const *tab, const char *name) {
  for (int i = 0; tab[i]; i++)
    if (!strcmp(tab[i], name)) return i;
  return -1;
}

/* A ref: xN, %K or %K.S. */
static tso_status get_ref(P *ps, tsoR_Ref *f) {
  long long v;
  tso_status st;
  skip_ws(ps);
  if (*ps->p == 'x' && ps->p[1] >= '0' && ps->p[1] <= '9') {
    ps->p++;
    if ((st = get_int(ps, 0, 255, &v))) return st;
    f->kind = TSO_REF_INPUT;
    f->idx = (uint8_t)v;
    return TSO_OK;
  }
  if (*ps->p != '%') return perr(ps, ps->p, "expected a value (xN, %%K or %%K.S)");
  ps->p++;
  if ((st = get_int(ps, 0, 255, &v))) return st;
  f->kind = TSO_REF_OP;
  f->idx = (uint8_t)v;
  if (*ps->p == '.') {
    ps->p++;
    if ((st = get_int(ps, 0, 255, &v))) return st;
    f->slot = (uint8_t)v;
  }
  return TSO_OK;
}

/* Reads `n` ints separated by sep ('x' or ','); *got gets how many were read
** when n < 0 (a variable list of at most max). */
static tso_status get_ints(P *ps, char sep, int n, int max, int32_t *out, int *got) {
  long long v;
  tso_status st;
  int k = 0;
  for (;;) {
    if (k >= (n >= 0 ? n : max)) return perr(ps, ps->p, "too many values (at most %d)", n >= 0 ? n : max);
    if ((st = get_int(ps, INT32_MIN, INT32_MAX, &v))) return st;
    out[k++] = (int32_t)v;
    if (n >= 0 && k == n) break;
    if (*ps->p != sep) break;
    ps->p++;
  }
  if (n >= 0 && k != n) return perr(ps, ps->p, "expected %d values", n);
  if (got) *got = k;
  return TSO_OK;
}

/* Parses {name=value,...} into o->p (already holding the defaults). */
static tso_status get_params(P *ps, tsoR_Op *o) {
  const Field *fs = fields_of(o->op);
  uint32_t set = 0;
  int32_t *w = o->p.raw;
  char name[40];
  tso_status st;
  if (accept(ps, "}")) return TSO_OK;
  do {
    skip_ws(ps);
    const char *at = ps->p;
    if (get_ident(ps, name, sizeof name)) return perr(ps, at, "expected a parameter name");
    if ((st = expect(ps, "="))) return st;
    skip_ws(ps);
    const char *vat = ps->p;
    uint32_t words = 0;
    const Field *f = fs;
    while (f->name && strcmp(f->name, name)) f++;
    if (!f->name) {
      long long k;
      P q = {ps->line, at + 1, ps->err};
      if (name[0] != 'w' || !(name[1] >= '0' && name[1] <= '9') || get_int(&q, 0, 31, &k) || q.p != at + strlen(name))
        return perr(ps, at, "unknown parameter '%s' for %s", name, tsoO_info(o->op)->name);
      long long v;
      if ((st = get_int(ps, INT32_MIN, INT32_MAX, &v))) return st;
      w[k] = (int32_t)v;
      words = 1u << k;
    } else {
      int32_t tmp[24];
      int n = 0;
      switch (f->kind) {
      case F_INT: case F_PAIR: case F_QUAD:
        n = fixed_words(f->kind);
        if (f->kind == F_QUAD && (st = expect(ps, "["))) return st;
        if ((st = get_ints(ps, f->kind == F_QUAD ? ',' : 'x', n, n, tmp, NULL))) return st;
        if (f->kind == F_QUAD && (st = expect(ps, "]"))) return st;
        for (int i = 0; i < n; i++) {
          w[f->w + i] = tmp[i];
          words |= 1u << (f->w + i);
        }
        break;
      case F_ENUM: {
        char vn[24];
        long long v;
        if (!get_ident(ps, vn, sizeof vn)) {
          int e = lookup(f->names, vn);
          if (e < 0) return perr(ps, vat, "unknown value '%s' for %s", vn, f->name);
          v = e;
        } else if ((st = get_int(ps, INT32_MIN, INT32_MAX, &v))) {
          return st;
        }
        w[f->w] = (int32_t)v;
        words = 1u << f->w;
        break;
      }
      case F_LIST: case F_DIMS:
        if (f->kind == F_LIST && (st = expect(ps, "["))) return st;
        if ((st = get_ints(ps, f->kind == F_LIST ? ',' : 'x', -1, f->max, tmp, &n))) return st;
        if (f->kind == F_LIST && (st = expect(ps, "]"))) return st;
        w[f->cw] = n;
        words = 1u << f->cw;
        for (int i = 0; i < n; i++) {
          w[f->w + i] = tmp[i];
          words |= 1u << (f->w + i);
        }
        break;
      default: { /* F_PARTS */
        long long v;
        if ((st = get_int(ps, 1, INT32_MAX, &v))) return st;
        w[f->cw] = 0;
        w[f->w] = (int32_t)v;
        words = 1u << f->cw | 1u << f->w;
        break;
      }
      }
    }
    if (set & words) return perr(ps, at, "parameter '%s' repeats or overlaps an earlier one", name);
    set |= words;
  } while (accept(ps, ","));
  return expect(ps, "}");
}

/* The operator called name, or 0. */
static int op_by_name(const char *name) {
  for (int op = 1; op < TSO_OP__END; op++) {
    const tsoO_Info *oi = tsoO_info(op);
    if (oi && !strcmp(oi->name, name)) return op;
  }
  return 0;
}

/* 1 if the next token is a ref (so the pattern has no more ops). */
static int at_ref(P *ps) {
  skip_ws(ps);
  const char *q = ps->p;
  if (*q == '%') return 1;
  if (*q != 'x' || q[1] < '0' || q[1] > '9') return 0;
  q++;
  while (*q >= '0' && *q <= '9') q++;
  return !is_ident((unsigned char)*q, 0) && *q != '(' && *q != '{' && *q != ':';
}

/* Parses one side: [op ; op ... ->] out out ... up to `=>` or the end. */
static tso_status get_pattern(P *ps, tsoR_Pattern *pt, int last) {
  char name[40];
  tso_status st;
  if (!at_ref(ps)) {
    do {
      skip_ws(ps);
      const char *at = ps->p;
      if (pt->nops >= TSO_RULE_MAX_OPS) return perr(ps, at, "more than %d ops", TSO_RULE_MAX_OPS);
      if (get_ident(ps, name, sizeof name)) return perr(ps, at, "expected an operator");
      int op = op_by_name(name);
      if (!op) return perr(ps, at, "unknown operator '%s'", name);
      const tsoO_Info *oi = tsoO_info(op);
      tsoR_Op *o = &pt->ops[pt->nops++];
      o->op = (uint16_t)op;
      o->nout = (uint8_t)oi->min_out;
      if (*ps->p == ':') {
        long long v;
        ps->p++;
        if ((st = get_int(ps, 0, 255, &v))) return st;
        o->nout = (uint8_t)v;
      }
      for (const Field *f = fields_of(op); f->name; f++)
        if (f->kind <= F_ENUM)
          for (int i = 0; i < fixed_words(f->kind); i++) o->p.raw[f->w + i] = f->def[i];
      if (accept(ps, "{") && (st = get_params(ps, o))) return st;
      if ((st = expect(ps, "("))) return st;
      if (!accept(ps, ")")) {
        do {
          if (o->nin >= TSO_RULE_MAX_OPIN) return perr(ps, ps->p, "more than %d inputs", TSO_RULE_MAX_OPIN);
          if ((st = get_ref(ps, &o->in[o->nin++]))) return st;
        } while (accept(ps, ","));
        if ((st = expect(ps, ")"))) return st;
      }
    } while (accept(ps, ";"));
    if ((st = expect(ps, "->"))) return st;
  }
  do {
    skip_ws(ps);
    if (pt->nout >= TSO_RULE_MAX_OUT) return perr(ps, ps->p, "more than %d outputs", TSO_RULE_MAX_OUT);
    if ((st = get_ref(ps, &pt->out[pt->nout++]))) return st;
    skip_ws(ps);
  } while (*ps->p && (last || strncmp(ps->p, "=>", 2) != 0));
  return TSO_OK;
}

tso_status tsoR_parse_text(const char *line, tsoR_Rule *r, char *err) {
  P ps = {line, line, err};
  char name[40], why[TSO_ERRMAX];
  tso_status st;
  long long v;
  memset(r, 0, sizeof *r);
  skip_ws(&ps);
  if (*ps.p != 'r') return perr(&ps, ps.p, "expected the rule label rN");
  ps.p++;
  if ((st = get_int(&ps, 0, UINT32_MAX, &v))) return st;
  r->id = (uint32_t)v;
  skip_ws(&ps);
  const char *at = ps.p;
  if (*ps.p >= '0' && *ps.p <= '9') {
    if ((st = get_int(&ps, 0, 255, &v))) return st;
  } else if (get_ident(&ps, name, sizeof name) || (v = lookup(status_names, name)) < 0) {
    return perr(&ps, at, "expected a status (candidate, proven, refuted, unknown)");
  }
  r->status = (uint8_t)v;
  while (!accept(&ps, "|")) {
    skip_ws(&ps);
    at = ps.p;
    if (r->nin >= TSO_RULE_MAX_IN) return perr(&ps, at, "more than %d inputs", TSO_RULE_MAX_IN);
    if (*ps.p != 'x') return perr(&ps, at, *ps.p ? "expected an input xN:kind or '|'" : "expected '|'");
    ps.p++;
    if ((st = get_int(&ps, 0, 255, &v))) return st;
    if (v != r->nin) return perr(&ps, at, "expected input x%d here", r->nin);
    if ((st = expect(&ps, ":"))) return st;
    skip_ws(&ps);
    at = ps.p;
    int k = 0;
    if (*ps.p >= '0' && *ps.p <= '9') {
      if ((st = get_int(&ps, 0, 255, &v))) return st;
      k = (int)v;
    } else if (get_ident(&ps, name, sizeof name) || (k = lookup(kind_names, name)) < 0) {
      return perr(&ps, at, "unknown input kind (any, matrix, act4, kernel, scalar)");
    }
    if (*ps.p == '.') {
      /* a subclass: KIND.SUB */
      if (tsoR_in_sub((uint8_t)k))
        return perr(&ps, ps.p, "input x%d: a subclass after kind %d, which has one", r->nin, k);
      ps.p++;
      if ((st = get_int(&ps, 0, TSO_IN_MAX_SUB, &v))) return st;
      k = tsoR_in_kind(k, (int)v);
    }
    int role = tsoR_in_role((uint8_t)k);
    int rank = role <= TSO_IN_SCALAR ? kind_rank[role] : -1;
    if (*ps.p == '/') {
      ps.p++;
      if ((st = get_int(&ps, 0, 255, &v))) return st;
      rank = (int)v;
    }
    if (rank < 0) return perr(&ps, ps.p, "input x%d: the rank is missing (write x%d:KIND/RANK)", r->nin, r->nin);
    r->in_kind[r->nin] = (uint8_t)k;
    r->in_rank[r->nin++] = (uint8_t)rank;
  }
  if ((st = get_pattern(&ps, &r->src, 0))) return st;
  if ((st = expect(&ps, "=>"))) return st;
  if ((st = get_pattern(&ps, &r->dst, 1))) return st;
  skip_ws(&ps);
  while (*ps.p == '\r' || *ps.p == '\n') ps.p++;
  if (*ps.p) return perr(&ps, ps.p, "unexpected text after the rule");
  if (tsoR_check(r, why)) return tsoO_fail(err, TSO_ERR_INVALID, "invalid rule: %s", why);
  return TSO_OK;
}

/* ---- whole sets ------------------------------------------------------ */

/* Writes s as a quoted string with C escapes. */
static void put_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20 || c >= 0x7f) fprintf(f, "\\x%02x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* The shortest decimal form of d that reads back to the same bits. */
static void fmt_double(double d, char *buf, size_t n) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  if (!isfinite(d)) {
    snprintf(buf, n, "bits:0x%016llx", (unsigned long long)u);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, d);
    double back = strtod(buf, NULL);
    if (memcmp(&back, &d, sizeof d) == 0) return;
  }
}

tso_status tsoR_write_text(const tsoR_Set *s, FILE *f, char *err) {
  const tsoR_Provenance *pv = &s->prov;
  char num[48];
  char *line = malloc(LINE_CAP);
  if (!line) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  if (!memchr(pv->tool, 0, sizeof pv->tool) || !memchr(pv->options, 0, sizeof pv->options)) {
    free(line);
    return tsoO_fail(err, TSO_ERR_ARG, "provenance strings are not NUL-terminated");
  }
  fprintf(f, "# taso rule set, text form 1 (docs/rules-format.md)\n");
  fprintf(f, "# rules: %u\n# tool: ", s->n);
  put_quoted(f, pv->tool);
  fprintf(f, "\n# options: ");
  put_quoted(f, pv->options);
  fprintf(f, "\n# seed: %llu\n# counts:", (unsigned long long)pv->seed);
  for (int i = 0; i < 8; i++) fprintf(f, " %llu", (unsigned long long)pv->counts[i]);
  fmt_double(pv->seconds, num, sizeof num);
  fprintf(f, "\n# seconds: %s\n# ops-hash: %016llx\n", num, (unsigned long long)tsoO_table_hash());
  for (uint32_t i = 0; i < s->n; i++) {
    tso_status st = tsoR_format(&s->r[i], line, LINE_CAP);
    if (st) {
      free(line);
      return tsoO_fail(err, st, "rule %u cannot be formatted (%s)", i, st == TSO_ERR_LIMIT ? "too long" : "invalid");
    }
    fputs(line, f);
    fputc('\n', f);
  }
  free(line);
  if (fflush(f) != 0 || ferror(f)) return tsoO_fail(err, TSO_ERR_IO, "write error");
  return TSO_OK;
}

/* Parses a quoted string with C escapes at ps->p into out (cap bytes). */
static tso_status get_quoted(P *ps, char *out, size_t cap) {
  size_t n = 0;
  skip_ws(ps);
  if (*ps->p != '"') return perr(ps, ps->p, "expected a quoted string");
  ps->p++;
  while (*ps->p != '"') {
    const char *at = ps->p;
    int c = (unsigned char)*ps->p++;
    if (!c || c == '\n') return perr(ps, at, "unterminated string");
    if (c == '\\') {
      c = (unsigned char)*ps->p++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else if (c == 'x') {
        int v = 0;
        for (int i = 0; i < 2; i++) {
          int h = (unsigned char)*ps->p++;
          int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (d < 0) return perr(ps, at, "bad \\x escape");
          v = v * 16 + d;
        }
        c = v;
      } else if (c != '"' && c != '\\') {
        return perr(ps, at, "unknown escape");
      }
      if (!c) return perr(ps, at, "a NUL byte in a string");
    }
    if (n + 1 >= cap) return perr(ps, at, "string longer than %zu bytes", cap - 1);
    out[n++] = (char)c;
  }
  ps->p++;
  out[n] = 0;
  return TSO_OK;
}

/* An unsigned 64-bit decimal number. */
static tso_status get_u64(P *ps, uint64_t *v) {
  skip_ws(ps);
  const char *at = ps->p;
  uint64_t x = 0;
  if (*ps->p < '0' || *ps->p > '9') return perr(ps, at, "expected a number");
  while (*ps->p >= '0' && *ps->p <= '9') {
    unsigned d = (unsigned)(*ps->p++ - '0');
    if (x > (UINT64_MAX - d) / 10) return perr(ps, at, "number out of range");
    x = x * 10 + d;
  }
  *v = x;
  return TSO_OK;
}

/* One header line "# key: value" (after '#'); unknown keys and free text
** are comments. seen: bit per key already given. */
static tso_status header_line(P *ps, tsoR_Provenance *pv, unsigned *seen, int64_t *declared) {
  static const char *const keys[] = {"rules", "tool", "options", "seed", "counts", "seconds", NULL};
  char key[24];
  tso_status st;
  skip_ws(ps);
  const char *at = ps->p;
  size_t n = 0;
  while ((is_ident((unsigned char)at[n], 0) || at[n] == '-') && n < sizeof key - 1) n++;
  if (at[n] != ':') return TSO_OK; /* free comment */
  memcpy(key, at, n);
  key[n] = 0;
  int k = lookup(keys, key);
  if (k < 0) return TSO_OK; /* ops-hash and other notes */
  if (*seen & (1u << k)) return perr(ps, at, "'%s' given twice", key);
  *seen |= 1u << k;
  ps->p = at + n + 1;
  uint64_t u;
  switch (k) {
  case 0:
    if ((st = get_u64(ps, &u))) return st;
    if (u > UINT32_MAX) return perr(ps, at, "rule count out of range");
    *declared = (int64_t)u;
    break;
  case 1: if ((st = get_quoted(ps, pv->tool, sizeof pv->tool))) return st; break;
  case 2: if ((st = get_quoted(ps, pv->options, sizeof pv->options))) return st; break;
  case 3: if ((st = get_u64(ps, &pv->seed))) return st; break;
  case 4:
    for (int i = 0; i < 8; i++)
      if ((st = get_u64(ps, &pv->counts[i]))) return st;
    break;
  default: {
    skip_ws(ps);
    if (!strncmp(ps->p, "bits:0x", 7)) {
      int nd = 0, d;
      ps->p += 7;
      u = 0;
      for (; nd < 17; nd++, ps->p++) {
        int h = (unsigned char)*ps->p;
        d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
        if (d < 0) break;
        u = u << 4 | (unsigned)d;
      }
      if (nd < 1 || nd > 16) return perr(ps, ps->p, "expected 1 to 16 hexadecimal digits");
      memcpy(&pv->seconds, &u, sizeof u);
    } else {
      char *end;
      if (*ps->p != '-' && !(*ps->p >= '0' && *ps->p <= '9')) return perr(ps, ps->p, "expected a number");
      pv->seconds = strtod(ps->p, &end);
      ps->p = end;
    }
  }
  }
  skip_ws(ps);
  if (*ps->p) return perr(ps, ps->p, "unexpected text after '%s'", key);
  return TSO_OK;
}

tso_status tsoR_parse_text_set(const char *text, size_t len, tsoR_Set *s, char *err) {
  char why[TSO_ERRMAX];
  char *line = malloc(LINE_CAP);
  unsigned seen = 0;
  int64_t declared = -1;
  tso_status st = TSO_OK;
  memset(s, 0, sizeof *s);
  if (!line) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  size_t pos = 0;
  for (int lineno = 1; pos < len; lineno++) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    if (n && text[pos + n - 1] == '\r') n--;
    if (n >= LINE_CAP) {
      st = tsoO_fail(err, TSO_ERR_PARSE, "line %d: longer than %d bytes", lineno, LINE_CAP - 1);
      break;
    }
    memcpy(line, text + pos, n);
    line[n] = 0;
    pos += nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;
    if (memchr(line, 0, n)) {
      st = tsoO_fail(err, TSO_ERR_PARSE, "line %d: a NUL byte (not a text file?)", lineno);
      break;
    }
    P ps = {line, line, why};
    skip_ws(&ps);
    if (!*ps.p) continue;
    if (*ps.p == '#') {
      ps.p++;
      if ((st = header_line(&ps, &s->prov, &seen, &declared))) {
        tsoO_fail(err, st, "line %d: %s", lineno, why);
        break;
      }
      continue;
    }
    tsoR_Rule r;
    if ((st = tsoR_parse_text(line, &r, why))) {
      tsoO_fail(err, st, "line %d: %s", lineno, why);
      break;
    }
    if ((st = tsoR_set_add(s, &r))) {
      tsoO_fail(err, st, "line %d: out of memory", lineno);
      break;
    }
  }
  free(line);
  if (!st && declared >= 0 && declared != s->n)
    st = tsoO_fail(err, TSO_ERR_PARSE, "the header says %lld rules, the text has %u (cut short?)",
                   (long long)declared, s->n);
  if (st) tsoR_set_free(s);
  return st;
}
