/*
** z3enc.h -- the Z3 side of the verifier, for the files of verify/ only:
** one context with the tensor and shape sorts, the operator functions
** (created on demand, named from ops.def and the canonical parameters),
** and the builders of axiom formulas and rule terms.
**
** Invariants: a tsoV_Z3 is used by one thread; its error handler is
** installed right after the context is created and records the first
** error instead of exiting; every builder returns NULL once an error was
** recorded, and callers check tsoV_z3_failed() before trusting a result.
*/
#ifndef TSO_VERIFY_Z3ENC_H
#define TSO_VERIFY_Z3ENC_H

#include <z3.h>

#include "verify/internal.h"

typedef struct tsoV_Sym {
  char *name;                   /* function symbol name */
  Z3_func_decl d;
} tsoV_Sym;

typedef struct tsoV_Z3 {
  Z3_context c;
  Z3_sort T, I, S;              /* tensors, integers, shapes */
  Z3_func_decl shape;           /* T -> S */
  Z3_func_decl mk;              /* S constructor: rank, d0..d7 */
  Z3_func_decl acc[1 + TSO_MAX_RANK]; /* accessors: rank, d0..d7 */
  tsoV_Sym *syms;               /* operator functions made so far */
  int nsym, capsym;
  int failed;                   /* a Z3 error or an allocation failure happened */
  char msg[TSO_ERRMAX];         /* its message */
} tsoV_Z3;

/* Creates a context (model generation on, E-matching only unless mbqi)
** with its error handler; TSO_OK or TSO_ERR_UNSUPPORTED with err set. */
tso_status tsoV_z3_open(tsoV_Z3 *z, char *err);
void tsoV_z3_close(tsoV_Z3 *z);
/* 1 when an error happened since tsoV_z3_open (z->msg says which). */
int tsoV_z3_failed(const tsoV_Z3 *z);

/* The function of output `slot` of op with canonical parameters p. */
Z3_func_decl tsoV_z3_func(tsoV_Z3 *z, int op, const tsoO_Params *p, int nin, int nout, int slot);
/* shape(t), and its accessors: field 0 rank, field 1 + a dim a. */
Z3_ast tsoV_z3_shape(tsoV_Z3 *z, Z3_ast t);
Z3_ast tsoV_z3_field(tsoV_Z3 *z, Z3_ast shape, int field);
/* A shape value: rank r, dims d[0..r) (numerals), the rest 0. */
Z3_ast tsoV_z3_mkshape(tsoV_Z3 *z, Z3_ast rank, const Z3_ast *dims, int n);

/* Builds node k of axiom a with the variables bound to tv[] (tensors) and
** iv[] (integers). */
Z3_ast tsoV_z3_node(tsoV_Z3 *z, const tsoV_Axiom *a, int k, const Z3_ast *tv, const Z3_ast *iv);
/* The body of axiom a (guard => conclusion) with the variables bound. */
Z3_ast tsoV_z3_body(tsoV_Z3 *z, const tsoV_Axiom *a, const Z3_ast *tv, const Z3_ast *iv);
/* The guard (TRUE when none) and the conclusion separately. */
Z3_ast tsoV_z3_guard(tsoV_Z3 *z, const tsoV_Axiom *a, const Z3_ast *tv, const Z3_ast *iv);
Z3_ast tsoV_z3_concl(tsoV_Z3 *z, const tsoV_Axiom *a, const Z3_ast *tv, const Z3_ast *iv);
/* The universally quantified axiom with its triggers. */
Z3_ast tsoV_z3_axiom(tsoV_Z3 *z, const tsoV_Axiom *a);
/* Asserts into s every axiom i of ax with use[i] != 0 (use NULL: all),
** except number `skip` (-1: none). */
void tsoV_z3_assert_axioms(tsoV_Z3 *z, Z3_solver s, const tsoV_Axioms *ax, int skip, const unsigned char *use);
/* Marks in use[] the axioms that can ever fire in a problem whose terms
** start with the operators of mask `ops` (bit = op id): those with a
** trigger made of present operators, closed under what they introduce. */
void tsoV_relevant_axioms(const tsoV_Axioms *ax, uint64_t ops, unsigned char *use);

/* A solver with the given time-out (ms, 0: none), MBQI on or off, and
** E-matching cost thresholds (qi > 0: eager and lazy threshold; 0: Z3's). */
Z3_solver tsoV_z3_solver(tsoV_Z3 *z, unsigned timeout_ms, int mbqi, double qi);

#endif /* TSO_VERIFY_Z3ENC_H */
