/*
** encode.c -- Z3 terms: the context with the tensor sort T and the shape
** tuple sort, the operator functions, axiom formulas with their triggers.
**
** An operator output is the function named from ops.def and the canonical
** parameters (params.c): "<name>[/<nin>][:<nout>][.<slot>][{<words>}]"
** over Int^(encoded words) x T^nin -> T, where {<words>} lists the
** non-zero parameter words that are not integer arguments. The name is
** made the same way for a rule op and for an axiom pattern, which is what
** lets the axioms match the rules.
**
** The invariant: nothing here calls Z3 with a NULL argument. Once the
** error handler has recorded an error, every builder returns NULL and
** callers see tsoV_z3_failed().
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/z3enc.h"

/* The contexts open in this thread (the error handler gets only the
** Z3_context): a thread may hold a few at once, e.g. a session and the
** fresh context of a counter-model search. */
#define MAX_OPEN 8
static _Thread_local tsoV_Z3 *open_ctx[MAX_OPEN];

static void on_error(Z3_context c, Z3_error_code e) {
  tsoV_Z3 *z = NULL;
  for (int i = 0; i < MAX_OPEN && !z; i++)
    if (open_ctx[i] && open_ctx[i]->c == c) z = open_ctx[i];
  if (!z || z->failed) return;
  z->failed = 1;
  snprintf(z->msg, sizeof z->msg, "Z3 error %d: %s", (int)e, Z3_get_error_msg(c, e));
}

/* Z3's memory cap in MB (tsoV_z3_memory_limit), process-wide: Z3 counts
** the memory of all its contexts together. It is Z3's high watermark, a
** soft limit: a solver above it gives up with "memout" (an unknown, never
** a proof) and the next proof starts afresh. (Z3's hard limit,
** memory_max_size, is not used: once reached, every later Z3 call of the
** process fails.) Without a cap one rule's model search at size 4 grew
** past 20 GB without ever reaching its time-out. */
static unsigned memory_mb = 2048;

void tsoV_z3_memory_limit(unsigned mb) { memory_mb = mb; }

static void set_limits(void) {
  char v[32];
  if (!memory_mb) return;
  /* in bytes, an unsigned int: at most 4 GB - 1 */
  unsigned long long b = (unsigned long long)memory_mb << 20;
  snprintf(v, sizeof v, "%llu", b > 0xFFFFFFFFull ? 0xFFFFFFFFull : b);
  Z3_global_param_set("memory_high_watermark", v);
}

tso_status tsoV_z3_open(tsoV_Z3 *z, char *err) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, set_limits);
  memset(z, 0, sizeof *z);
  Z3_config cfg = Z3_mk_config();
  if (!cfg) return tsoO_fail(err, TSO_ERR_NOMEM, "Z3: cannot make a configuration");
  Z3_set_param_value(cfg, "model", "true");
  z->c = Z3_mk_context(cfg);
  Z3_del_config(cfg);
  if (!z->c) return tsoO_fail(err, TSO_ERR_NOMEM, "Z3: cannot make a context");
  int slot = 0;
  while (slot < MAX_OPEN && open_ctx[slot]) slot++;
  if (slot == MAX_OPEN) {
    Z3_del_context(z->c);
    z->c = NULL;
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "Z3: more than %d contexts open in one thread", MAX_OPEN);
  }
  open_ctx[slot] = z;
  Z3_set_error_handler(z->c, on_error);
  Z3_context c = z->c;
  z->T = Z3_mk_uninterpreted_sort(c, Z3_mk_string_symbol(c, "T"));
  z->I = Z3_mk_int_sort(c);
  Z3_symbol fields[1 + TSO_MAX_RANK];
  Z3_sort fsorts[1 + TSO_MAX_RANK];
  for (int i = 0; i <= TSO_MAX_RANK; i++) {
    char nm[8];
    if (i == 0) snprintf(nm, sizeof nm, "rank");
    else snprintf(nm, sizeof nm, "d%d", i - 1);
    fields[i] = Z3_mk_string_symbol(c, nm);
    fsorts[i] = z->I;
  }
  z->S = Z3_mk_tuple_sort(c, Z3_mk_string_symbol(c, "Shape"), 1 + TSO_MAX_RANK, fields, fsorts, &z->mk, z->acc);
  z->shape = Z3_mk_func_decl(c, Z3_mk_string_symbol(c, "shape"), 1, &z->T, z->S);
  if (z->failed) {
    tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s", z->msg);
    tsoV_z3_close(z);
    return TSO_ERR_UNSUPPORTED;
  }
  return TSO_OK;
}

void tsoV_z3_close(tsoV_Z3 *z) {
  if (!z) return;
  for (int i = 0; i < z->nsym; i++) free(z->syms[i].name);
  free(z->syms);
  if (z->c) Z3_del_context(z->c);
  for (int i = 0; i < MAX_OPEN; i++)
    if (open_ctx[i] == z) open_ctx[i] = NULL;
  memset(z, 0, sizeof *z);
}

int tsoV_z3_failed(const tsoV_Z3 *z) { return z->failed; }

const char *tsoV_z3_version(void) {
  static _Thread_local char v[32];
  unsigned a, b, c, d;
  Z3_get_version(&a, &b, &c, &d);
  snprintf(v, sizeof v, "%u.%u.%u", a, b, c);
  return v;
}

/* Records a failure that is not Z3's (allocation). */
static void fail_nomem(tsoV_Z3 *z) {
  if (!z->failed) {
    z->failed = 1;
    snprintf(z->msg, sizeof z->msg, "out of memory");
  }
}

/* ---- operator functions ---------------------------------------------- */

/* Is word w one of op's integer arguments? */
static int is_encoded(const int *words, int n, int w) {
  for (int i = 0; i < n; i++)
    if (words[i] == w) return 1;
  return 0;
}

Z3_func_decl tsoV_z3_func(tsoV_Z3 *z, int op, const tsoO_Params *p, int nin, int nout, int slot) {
  if (z->failed) return NULL;
  const tsoO_Info *oi = tsoO_info(op);
  if (!oi || nin > 8) {
    z->failed = 1;
    snprintf(z->msg, sizeof z->msg, "operator %d cannot be encoded", op);
    return NULL;
  }
  int words[32], nw = tsoV_encoded_words(op, words);
  char name[512];
  int len = snprintf(name, sizeof name, "%s", oi->name);
  if (oi->min_in != oi->max_in) len += snprintf(name + len, sizeof name - (size_t)len, "/%d", nin);
  if (oi->min_out != oi->max_out) len += snprintf(name + len, sizeof name - (size_t)len, ":%d", nout);
  if (oi->max_out > 1) len += snprintf(name + len, sizeof name - (size_t)len, ".%d", slot);
  int first = 1;
  for (int w = 0; w < 32; w++) {
    if (is_encoded(words, nw, w) || !p->raw[w]) continue;
    len += snprintf(name + len, sizeof name - (size_t)len, "%sw%d=%d", first ? "{" : ",", w, (int)p->raw[w]);
    first = 0;
  }
  if (!first) snprintf(name + len, sizeof name - (size_t)len, "}");
  for (int i = 0; i < z->nsym; i++)
    if (!strcmp(z->syms[i].name, name)) return z->syms[i].d;
  Z3_sort dom[40];
  for (int i = 0; i < nw; i++) dom[i] = z->I;
  for (int i = 0; i < nin; i++) dom[nw + i] = z->T;
  Z3_func_decl d = Z3_mk_func_decl(z->c, Z3_mk_string_symbol(z->c, name), (unsigned)(nw + nin), dom, z->T);
  if (z->failed) return NULL;
  if (z->nsym == z->capsym) {
    int cap = z->capsym ? 2 * z->capsym : 32;
    tsoV_Sym *ns = realloc(z->syms, (size_t)cap * sizeof *ns);
    if (!ns) return fail_nomem(z), NULL;
    z->syms = ns;
    z->capsym = cap;
  }
  char *dup = malloc(strlen(name) + 1);
  if (!dup) return fail_nomem(z), NULL;
  strcpy(dup, name);
  z->syms[z->nsym++] = (tsoV_Sym){dup, d};
  return d;
}

/* ---- shapes ----------------------------------------------------------- */

Z3_ast tsoV_z3_shape(tsoV_Z3 *z, Z3_ast t) {
  if (z->failed || !t) return NULL;
  return Z3_mk_app(z->c, z->shape, 1, &t);
}

Z3_ast tsoV_z3_field(tsoV_Z3 *z, Z3_ast s, int field) {
  if (z->failed || !s) return NULL;
  return Z3_mk_app(z->c, z->acc[field], 1, &s);
}

Z3_ast tsoV_z3_mkshape(tsoV_Z3 *z, Z3_ast rank, const Z3_ast *dims, int n) {
  Z3_ast f[1 + TSO_MAX_RANK];
  if (z->failed || !rank) return NULL;
  f[0] = rank;
  for (int i = 0; i < TSO_MAX_RANK; i++) {
    f[1 + i] = i < n ? dims[i] : Z3_mk_int(z->c, 0, z->I);
    if (!f[1 + i]) return NULL;
  }
  return Z3_mk_app(z->c, z->mk, 1 + TSO_MAX_RANK, f);
}

/* The numeral value of e into *v, or 0 if e is not a numeral. */
static int numeral(tsoV_Z3 *z, Z3_ast e, int *v) {
  return Z3_is_numeral_ast(z->c, e) && Z3_get_numeral_int(z->c, e, v);
}

/* dim(ax, t) for an integer term ax: an accessor when ax is a numeral,
** an ite over the eight dims otherwise (0 outside 0..7). */
static Z3_ast dim_of(tsoV_Z3 *z, Z3_ast ax, Z3_ast shape) {
  int v;
  if (z->failed || !ax || !shape) return NULL;
  if (numeral(z, ax, &v)) return v >= 0 && v < TSO_MAX_RANK ? tsoV_z3_field(z, shape, 1 + v) : Z3_mk_int(z->c, 0, z->I);
  Z3_ast e = Z3_mk_int(z->c, 0, z->I);
  for (int i = TSO_MAX_RANK - 1; i >= 0; i--)
    e = Z3_mk_ite(z->c, Z3_mk_eq(z->c, ax, Z3_mk_int(z->c, i, z->I)), tsoV_z3_field(z, shape, 1 + i), e);
  return e;
}

/* setdim(S, ax, v). */
static Z3_ast setdim(tsoV_Z3 *z, Z3_ast s, Z3_ast ax, Z3_ast val) {
  Z3_ast d[TSO_MAX_RANK];
  int v, known;
  if (z->failed || !s || !ax || !val) return NULL;
  known = numeral(z, ax, &v);
  for (int i = 0; i < TSO_MAX_RANK; i++) {
    Z3_ast old = tsoV_z3_field(z, s, 1 + i);
    if (known) d[i] = v == i ? val : old;
    else d[i] = Z3_mk_ite(z->c, Z3_mk_eq(z->c, ax, Z3_mk_int(z->c, i, z->I)), val, old);
  }
  return tsoV_z3_mkshape(z, tsoV_z3_field(z, s, 0), d, TSO_MAX_RANK);
}

/* ---- axiom nodes ------------------------------------------------------- */

Z3_ast tsoV_z3_node(tsoV_Z3 *z, const tsoV_Axiom *a, int k, const Z3_ast *tv, const Z3_ast *iv) {
  if (z->failed) return NULL;
  const tsoV_Node *n = &a->n[k];
  Z3_context c = z->c;
  Z3_ast ch[5] = {0};
  if (n->kind != TSO_VN_APP)
    for (int i = 0; i < n->nin; i++)
      if (!(ch[i] = tsoV_z3_node(z, a, n->a[i], tv, iv))) return NULL;
  switch (n->kind) {
  case TSO_VN_TVAR: return tv[n->val];
  case TSO_VN_IVAR: return iv[n->val];
  case TSO_VN_INT: return Z3_mk_int(c, n->val, z->I);
  case TSO_VN_APP: {
    int words[32], nw = tsoV_encoded_words(n->op, words);
    Z3_ast args[40];
    Z3_func_decl d = tsoV_z3_func(z, n->op, &n->p, n->nin, n->nout, n->slot);
    if (!d) return NULL;
    for (int i = 0; i < nw; i++)
      args[i] = n->pvar[words[i]] >= 0 ? iv[n->pvar[words[i]]] : Z3_mk_int(c, n->p.raw[words[i]], z->I);
    for (int i = 0; i < n->nin; i++)
      if (!(args[nw + i] = tsoV_z3_node(z, a, n->a[i], tv, iv))) return NULL;
    return Z3_mk_app(c, d, (unsigned)(nw + n->nin), args);
  }
  case TSO_VN_DIM: return dim_of(z, ch[0], tsoV_z3_shape(z, ch[1]));
  case TSO_VN_RANK: return tsoV_z3_field(z, tsoV_z3_shape(z, ch[0]), 0);
  case TSO_VN_ADD: return Z3_mk_add(c, 2, ch);
  case TSO_VN_SUB: return Z3_mk_sub(c, 2, ch);
  case TSO_VN_MUL: return Z3_mk_mul(c, 2, ch);
  case TSO_VN_DIV: return Z3_mk_div(c, ch[0], ch[1]);
  case TSO_VN_SHAPE: return tsoV_z3_shape(z, ch[0]);
  case TSO_VN_SETDIM: return setdim(z, ch[0], ch[1], ch[2]);
  case TSO_VN_DIMS: return tsoV_z3_mkshape(z, Z3_mk_int(c, n->nin, z->I), ch, n->nin);
  case TSO_VN_TUPLE: return tsoV_z3_mkshape(z, ch[0], ch + 1, n->nin - 1);
  case TSO_VN_BCAST: {
    Z3_ast d[TSO_MAX_RANK], one = Z3_mk_int(c, 1, z->I);
    for (int i = 0; i < TSO_MAX_RANK; i++) {
      Z3_ast l = tsoV_z3_field(z, ch[0], 1 + i), r = tsoV_z3_field(z, ch[1], 1 + i);
      if (!l || !r) return NULL;
      d[i] = Z3_mk_ite(c, Z3_mk_eq(c, l, one), r, l);
    }
    return tsoV_z3_mkshape(z, tsoV_z3_field(z, ch[0], 0), d, TSO_MAX_RANK);
  }
  default:
    z->failed = 1;
    snprintf(z->msg, sizeof z->msg, "axiom %s: bad node kind %d", a->name, n->kind);
    return NULL;
  }
}

Z3_ast tsoV_z3_guard(tsoV_Z3 *z, const tsoV_Axiom *a, const Z3_ast *tv, const Z3_ast *iv) {
  Z3_ast g[TSO_V_MAX_ATOMS];
  Z3_context c = z->c;
  if (z->failed) return NULL;
  for (int i = 0; i < a->na; i++) {
    const tsoV_Atom *t = &a->g[i];
    Z3_ast l = tsoV_z3_node(z, a, t->l, tv, iv), r = tsoV_z3_node(z, a, t->r, tv, iv);
    if (!l || !r) return NULL;
    switch (t->kind) {
    case TSO_VA_EQ: g[i] = Z3_mk_eq(c, l, r); break;
    case TSO_VA_NE: g[i] = Z3_mk_not(c, Z3_mk_eq(c, l, r)); break;
    case TSO_VA_LT: g[i] = Z3_mk_lt(c, l, r); break;
    case TSO_VA_LE: g[i] = Z3_mk_le(c, l, r); break;
    case TSO_VA_ALIKE: {
      Z3_ast ax = tsoV_z3_node(z, a, t->x, tv, iv), zero = Z3_mk_int(c, 0, z->I);
      if (!ax) return NULL;
      g[i] = Z3_mk_eq(c, setdim(z, tsoV_z3_shape(z, l), ax, zero), setdim(z, tsoV_z3_shape(z, r), ax, zero));
      break;
    }
    default: g[i] = Z3_mk_eq(c, tsoV_z3_shape(z, l), tsoV_z3_shape(z, r)); break;
    }
    if (!g[i]) return NULL;
  }
  if (!a->na) return Z3_mk_true(c);
  return a->na == 1 ? g[0] : Z3_mk_and(c, (unsigned)a->na, g);
}

Z3_ast tsoV_z3_concl(tsoV_Z3 *z, const tsoV_Axiom *a, const Z3_ast *tv, const Z3_ast *iv) {
  Z3_ast l = tsoV_z3_node(z, a, a->lhs, tv, iv), r = tsoV_z3_node(z, a, a->rhs, tv, iv);
  if (!l || !r) return NULL;
  return Z3_mk_eq(z->c, l, r);
}

Z3_ast tsoV_z3_body(tsoV_Z3 *z, const tsoV_Axiom *a, const Z3_ast *tv, const Z3_ast *iv) {
  Z3_ast concl = tsoV_z3_concl(z, a, tv, iv);
  if (!concl || !a->na) return concl;
  Z3_ast g = tsoV_z3_guard(z, a, tv, iv);
  if (!g) return NULL;
  return Z3_mk_implies(z->c, g, concl);
}

Z3_ast tsoV_z3_axiom(tsoV_Z3 *z, const tsoV_Axiom *a) {
  Z3_context c = z->c;
  Z3_ast tv[TSO_V_MAX_VARS], iv[TSO_V_MAX_VARS];
  Z3_app bound[2 * TSO_V_MAX_VARS];
  int nb = 0;
  if (z->failed) return NULL;
  for (int i = 0; i < a->ntv; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "$t%d", i);
    tv[i] = Z3_mk_const(c, Z3_mk_string_symbol(c, nm), z->T);
    bound[nb++] = Z3_to_app(c, tv[i]);
  }
  for (int i = 0; i < a->niv; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "$i%d", i);
    iv[i] = Z3_mk_const(c, Z3_mk_string_symbol(c, nm), z->I);
    bound[nb++] = Z3_to_app(c, iv[i]);
  }
  Z3_ast body = tsoV_z3_body(z, a, tv, iv);
  if (!body) return NULL;
  Z3_pattern pats[TSO_V_MAX_TRIG];
  for (int g = 0; g < a->ntrig; g++) {
    Z3_ast terms[TSO_V_MAX_TTERMS];
    for (int t = 0; t < a->ntt[g]; t++)
      if (!(terms[t] = tsoV_z3_node(z, a, a->trig[g][t], tv, iv))) return NULL;
    pats[g] = Z3_mk_pattern(c, a->ntt[g], terms);
    if (!pats[g]) return NULL;
  }
  if (!nb) return body;
  return Z3_mk_quantifier_const_ex(c, true, 0, Z3_mk_string_symbol(c, a->name), Z3_mk_string_symbol(c, ""),
                                   (unsigned)nb, bound, (unsigned)a->ntrig, pats, 0, NULL, body);
}

/* Operators below node k, as a bit mask. */
static uint64_t ops_below(const tsoV_Axiom *a, int k) {
  const tsoV_Node *n = &a->n[k];
  uint64_t m = n->kind == TSO_VN_APP && n->op < 64 ? (uint64_t)1 << n->op : 0;
  for (int i = 0; i < n->nin; i++) m |= ops_below(a, n->a[i]);
  return m;
}

void tsoV_relevant_axioms(const tsoV_Axioms *ax, uint64_t ops, unsigned char *use) {
  memset(use, 0, (size_t)ax->n);
  for (int changed = 1; changed;) {
    changed = 0;
    for (int i = 0; i < ax->n; i++) {
      const tsoV_Axiom *a = &ax->a[i];
      if (use[i]) continue;
      int fires = 0;
      for (int g = 0; g < a->ntrig && !fires; g++) {
        uint64_t m = 0;
        for (int t = 0; t < a->ntt[g]; t++) m |= ops_below(a, a->trig[g][t]);
        fires = (m & ~ops) == 0;
      }
      if (!fires) continue;
      use[i] = 1;
      uint64_t add = ops_below(a, a->lhs) | ops_below(a, a->rhs);
      for (int j = 0; j < a->na; j++) add |= ops_below(a, a->g[j].l) | ops_below(a, a->g[j].r);
      if (add & ~ops) ops |= add, changed = 1;
    }
  }
}

void tsoV_z3_assert_axioms(tsoV_Z3 *z, Z3_solver s, const tsoV_Axioms *ax, int skip, const unsigned char *use) {
  for (int i = 0; i < ax->n && !z->failed; i++) {
    if (i == skip || (use && !use[i])) continue;
    Z3_ast f = tsoV_z3_axiom(z, &ax->a[i]);
    if (f) Z3_solver_assert(z->c, s, f);
  }
}

Z3_solver tsoV_z3_solver(tsoV_Z3 *z, unsigned timeout_ms, int mbqi, double qi) {
  Z3_context c = z->c;
  if (z->failed) return NULL;
  Z3_solver s = Z3_mk_simple_solver(c);
  if (!s || z->failed) return NULL;
  Z3_solver_inc_ref(c, s);
  Z3_params p = Z3_mk_params(c);
  if (!p || z->failed) {
    Z3_solver_dec_ref(c, s);
    return NULL;
  }
  Z3_params_inc_ref(c, p);
  if (timeout_ms) Z3_params_set_uint(c, p, Z3_mk_string_symbol(c, "timeout"), timeout_ms);
  Z3_params_set_bool(c, p, Z3_mk_string_symbol(c, "smt.mbqi"), mbqi ? true : false);
  Z3_params_set_bool(c, p, Z3_mk_string_symbol(c, "smt.auto_config"), false);
  if (qi > 0) {
    Z3_params_set_double(c, p, Z3_mk_string_symbol(c, "smt.qi.eager_threshold"), qi);
    Z3_params_set_double(c, p, Z3_mk_string_symbol(c, "smt.qi.lazy_threshold"), qi);
  }
  Z3_solver_set_params(c, s, p);
  Z3_params_dec_ref(c, p);
  if (z->failed) {
    Z3_solver_dec_ref(c, s);
    return NULL;
  }
  return s;
}
