/*
** verify.h -- the verifier (taso-verify): the operator axioms, the Z3
** encoding of rules, per-rule proofs with a time-out, the independent float
** check of rules, and the exact validation of the axioms.
**
** verify/ is the only module that links Z3; this header does not include
** z3.h (verify/z3enc.h does, for the files of this folder only).
**
** Pieces:
**   axioms.c    the axiom table (data: small term patterns over universally
**               quantified variables), its parser and the generated
**               docs/axioms.md;
**   encode.c    the per-operator encoding description, canonical
**               parameters, and the Z3 terms of rules and axioms;
**   prove.c     the float check, then one proof per rule output (axioms
**               and src != dst must be unsat), the refinement of shape
**               classes, threads, counts;
**   modeval.c   exact kernels in the prime field GF(2^61 - 1);
**   validate.c  every axiom checked exactly on every small shape
**               combination the operators accept, plus random larger
**               shapes; redundancy of each axiom against the others.
**
** Invariants:
**   - an axiom is data (tsoV_Axiom), parsed once from its text; the same
**     struct drives the Z3 assertion, the validation and the docs;
**   - Z3_L_UNDEF (unknown, time-out) is never a proof: only unsat for every
**     output makes a rule TSO_RULE_PROVEN;
**   - every Z3 context belongs to one thread and to one chunk of
**     consecutive rules (or one axiom check); its error handler is
**     installed right after it is created, and a Z3 error turns into a
**     status, never an exit;
**   - results do not depend on --jobs: chunks are cut by position, and a
**     rule only ever shares its context with the same neighbours.
*/
#ifndef TSO_VERIFY_H
#define TSO_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ops/ops.h"
#include "rules/rules.h"

#define TSO_V_VERSION "0.1.0"
#define TSO_V_TOOL "taso-verify " TSO_V_VERSION

/* ===================================================================== */
/* Axioms (axioms.c)                                                     */
/* ===================================================================== */

#define TSO_V_MAX_NODES 48 /* nodes of one axiom (sides, guard, triggers) */
#define TSO_V_MAX_VARS 8   /* tensor variables, and integer variables */
#define TSO_V_MAX_ATOMS 6  /* guard atoms */
#define TSO_V_MAX_TRIG 4   /* trigger groups (Z3 patterns) */
#define TSO_V_MAX_TTERMS 3 /* terms per trigger group */
#define TSO_V_TEXT 400     /* axiom text after template expansion */

/* Node kinds. Tensor terms: TVAR, APP. Integer expressions: INT, IVAR,
** DIM, RANK, ADD, SUB, MUL, DIV. Shapes: SHAPE (of a tensor term), SETDIM,
** DIMS (rank = number of children), TUPLE (rank, then up to 4 dims), BCAST
** (numpy broadcast of two shapes of equal rank). */
enum {
  TSO_VN_TVAR = 1, TSO_VN_APP, TSO_VN_INT, TSO_VN_IVAR, TSO_VN_DIM, TSO_VN_RANK,
  TSO_VN_ADD, TSO_VN_SUB, TSO_VN_MUL, TSO_VN_DIV, TSO_VN_SHAPE, TSO_VN_SETDIM,
  TSO_VN_DIMS, TSO_VN_TUPLE, TSO_VN_BCAST
};

typedef struct tsoV_Node {
  uint8_t kind;          /* TSO_VN_* */
  uint8_t nin;           /* children used in a[] */
  uint8_t nout;          /* APP: outputs of the operator (split: its parts) */
  uint8_t slot;          /* APP: output slot */
  uint16_t op;           /* APP: tsoO_Op */
  int16_t a[5];          /* children (node indices) */
  int32_t val;           /* INT: value; TVAR/IVAR: variable index */
  int8_t pvar[32];       /* APP: integer variable bound to each parameter word, or -1 */
  tsoO_Params p;         /* APP: parameters (canonical form; words bound to variables are 0) */
} tsoV_Node;

/* Guard atoms: integer comparisons, equal shapes of two tensor terms
** (same), or shapes equal except along one axis (alike). */
enum { TSO_VA_EQ = 1, TSO_VA_NE, TSO_VA_LT, TSO_VA_LE, TSO_VA_SAME, TSO_VA_ALIKE };
typedef struct tsoV_Atom {
  uint8_t kind;          /* TSO_VA_* */
  int16_t l, r;          /* node indices */
  int16_t x;             /* ALIKE: the axis (an integer node), else -1 */
} tsoV_Atom;

/* Axiom kinds. */
enum {
  TSO_VX_TENSOR = 0,     /* lhs = rhs (or lhs -> rhs) between tensor terms */
  TSO_VX_SHAPE = 1       /* shape(term) = shape expression */
};

/* Domains of integer variables in the validation (from the parameter or
** the position they are first bound to). */
enum {
  TSO_VD_AXIS = 0, TSO_VD_STRIDE, TSO_VD_PAD, TSO_VD_ACT, TSO_VD_PARTS, TSO_VD_KSIZE,
  TSO_VD_DIM, TSO_VD_RANK, TSO_VD_BOOL, TSO_VD__N
};

typedef struct tsoV_Axiom {
  char name[48];         /* "concat-assoc", "ew-comm[ewadd]" */
  const char *group;     /* section of docs/axioms.md */
  const char *math;      /* the one-line mathematics */
  const char *side;      /* side condition in words, or NULL */
  char text[TSO_V_TEXT]; /* the pattern text after template expansion */
  uint16_t def;          /* index of the table entry it was expanded from */
  uint8_t kind;          /* TSO_VX_* */
  uint8_t oriented;      /* 1: written lhs -> rhs (triggers on lhs only) */
  uint8_t ntv, niv;      /* tensor and integer variables */
  char tv[TSO_V_MAX_VARS][8], iv[TSO_V_MAX_VARS][8]; /* their names */
  uint8_t idom[TSO_V_MAX_VARS];  /* TSO_VD_* of each integer variable */
  int nn;                        /* nodes used */
  tsoV_Node n[TSO_V_MAX_NODES];
  int na;                        /* guard atoms */
  tsoV_Atom g[TSO_V_MAX_ATOMS];
  int16_t lhs, rhs;              /* sides (SHAPE: lhs is the SHAPE node) */
  int ntrig;                     /* trigger groups */
  uint8_t ntt[TSO_V_MAX_TRIG];   /* terms of each group */
  int16_t trig[TSO_V_MAX_TRIG][TSO_V_MAX_TTERMS];
} tsoV_Axiom;

typedef struct tsoV_Axioms {
  tsoV_Axiom *a;         /* malloc'd */
  int n, cap;
  uint64_t hash;         /* of every axiom's text (provenance) */
} tsoV_Axioms;

/* Loads the built-in axiom table, expanding templates (operator classes
** taken from the ops.def flags, output slots). TSO_OK or an error naming
** the axiom whose text does not parse (a bug: the tests load the table). */
tso_status tsoV_axioms_load(tsoV_Axioms *ax, char *err);
/* Parses one axiom (after template expansion) into *a. group, math and
** side are kept by pointer (static strings). trig: "" for the default
** triggers, else groups separated by '|' of terms separated by ','. */
tso_status tsoV_axiom_parse(const char *name, const char *group, const char *math, const char *side,
                            const char *text, const char *trig, tsoV_Axiom *a, char *err);
/* Appends a copy of *a. */
tso_status tsoV_axioms_add(tsoV_Axioms *ax, const tsoV_Axiom *a);
void tsoV_axioms_free(tsoV_Axioms *ax);
/* Writes docs/axioms.md (deterministic). */
tso_status tsoV_axioms_markdown(const tsoV_Axioms *ax, FILE *f);
/* The parameter words of op that the encoding passes to Z3 as integer
** arguments: fills words[] (capacity 32), returns the count. */
int tsoV_encoded_words(int op, int *words);
/* Canonical parameters of a rule op: kernel_shape dropped (it only repeats
** the kernel's dims), transpose's perm made explicit, negative axes made
** positive, split's equal parts counted. in_rank: rank of input 0 (-1 if
** unknown). TSO_OK, or TSO_ERR_INVALID when the form cannot be made
** canonical. */
tso_status tsoV_canon_params(int op, int nin, int nout, int in_rank, tsoO_Params *p);

/* ===================================================================== */
/* Proofs (prove.c)                                                      */
/* ===================================================================== */

/* Finer reasons (report). */
enum {
  TSO_V_WHY_PROVEN = 0,   /* every output proven */
  TSO_V_WHY_MODEL,        /* Z3 found a model of the axioms where src != dst: not implied (unknown) */
  TSO_V_WHY_EVAL,         /* the float evaluation found a counterexample */
  TSO_V_WHY_TIMEOUT,      /* the time-out ran out */
  TSO_V_WHY_INCOMPLETE,   /* Z3 gave up (incomplete quantifier reasoning) */
  TSO_V_WHY_ILLFORMED,    /* no shapes found where both patterns are well-formed */
  TSO_V_WHY_FLOAT,        /* proven, but the independent float check failed */
  TSO_V_WHY_INVALID,      /* the rule is malformed (tsoR_check) */
  TSO_V_WHY_ERROR,        /* Z3 or memory failure */
  TSO_V_WHY_CONSTANT      /* no inputs: a fact about constants, not proven (not a rewrite) */
};

typedef struct tsoV_Options {
  unsigned timeout_ms;   /* per rule, all outputs together (default 2000) */
  unsigned refute_ms;    /* model search (MBQI) after a failed proof; 0: none */
  int jobs;              /* threads (0: number of cores) */
  uint64_t seed;         /* random shapes and values of the float checks */
  int float_shapes;      /* shape sets of the float check (default 3) */
  int quiet;             /* no progress line */
  int keep_models;       /* keep the counter-model text in results */
  double qi_threshold;   /* > 0: Z3's E-matching cost thresholds (eager and lazy) */
  int refine;            /* 1 (default): give proven rules the finest shape classes still proven */
} tsoV_Options;

/* The default options. */
void tsoV_options_default(tsoV_Options *o);

typedef struct tsoV_Result {
  uint8_t status;        /* TSO_RULE_PROVEN, _REFUTED or _UNKNOWN */
  uint8_t why;           /* TSO_V_WHY_* */
  uint8_t outputs;       /* outputs proven */
  uint8_t refined;       /* 1: proven under the finer shape classes in_kind[] too */
  uint8_t in_kind[TSO_RULE_MAX_IN]; /* refined: the rule's kind bytes with those classes */
  double ms;             /* wall time of the proof (Z3 only) */
  double total_ms;       /* wall time of everything for this rule */
  char note[320];        /* one line: why, shapes, ... */
  char *model;           /* malloc'd counter-model (keep_models), or NULL */
} tsoV_Result;

/* Counts shown by the progress line and written to the provenance. */
typedef struct tsoV_Counts {
  uint64_t total, done;
  uint64_t proven, refuted, unknown, float_fail, illformed, constant;
  uint64_t refined;      /* proven rules given finer shape classes */
} tsoV_Counts;

/* Proves one rule: tsoR_check, well-formed shapes, the float check, the
** Z3 proof of every output (or, when it fails, a counterexample search).
** Never exits; Z3 errors become TSO_V_WHY_ERROR.
**
** Refinement (o->refine, rules whose status is not already proven): a rule
** that passes the float check and has a shape class with several members
** (rank > 0) is also proven under finer classes -- first every input its
** own class (proven so, it is proven: its own classes are a special case
** of the same formulas); else, once proven with its own classes, input by
** input, one member split off its class, kept when still proven. "Proven"
** means the same as for the rule itself: the float check passes on shapes
** that the finer classes allow and the coarser ones do not (drawn per
** finer class; none found: not refined), and Z3 proves every output with
** one set of dims per finer class. All the attempts of one rule together
** get o->timeout_ms. A rule not refined keeps its classes; a refined one
** gets res->refined and res->in_kind[]. Rules given as proven (taso-verify
** --check) are proven with their stored classes and not refined. */
tso_status tsoV_prove_rule(const tsoV_Axioms *ax, const tsoR_Rule *r, const tsoV_Options *o,
                           tsoV_Result *res);
/* Proves every rule of in with o->jobs threads; res[] (in->n entries,
** zeroed by the caller) in input order. Progress on stderr unless quiet. */
tso_status tsoV_prove_set(const tsoV_Axioms *ax, const tsoR_Set *in, const tsoV_Options *o,
                          tsoV_Result *res, tsoV_Counts *c, char *err);
/* The rules of in whose result is TSO_RULE_PROVEN, with that status and
** their refined shape classes where they got some, in input order (ids
** renumbered), appended to out: what a rule file ships. */
tso_status tsoV_proven_set(const tsoR_Set *in, const tsoV_Result *res, tsoR_Set *out);
/* Frees the model texts of res[0..n). */
void tsoV_results_free(tsoV_Result *res, size_t n);

/* The independent float check (item 7 of the issue): finds up to `sets`
** shape assignments (inputs of one shape class share a shape) where both patterns
** are well-formed, and compares source and target with the reference
** kernels on random inputs. Returns TSO_OK (all agree), TSO_ERR_MISMATCH
** (note says where), TSO_ERR_SHAPE (no well-formed shapes found), or
** another error. *nsets gets the shape sets checked. */
tso_status tsoV_float_check(const tsoR_Rule *r, uint64_t seed, int sets, int *nsets, char *note, size_t n);
/* Finds shapes of r's inputs (rank in_rank, one shape per shape class)
** where both sides are well-formed; attempt k gives a different
** assignment. TSO_OK or TSO_ERR_SHAPE. */
tso_status tsoV_find_shapes(const tsoR_Rule *r, uint64_t seed, int k, tsoO_Shape *shapes);

/* ===================================================================== */
/* Validation of the axioms (validate.c)                                 */
/* ===================================================================== */

typedef struct tsoV_ValOptions {
  int max_dim;           /* exhaustive dims 1..max_dim (default 3) */
  int max_rank;          /* exhaustive ranks 0..max_rank (default 4) */
  int random;            /* random assignments with larger dims (default 100) */
  int random_dim;        /* largest dim of those (default 6) */
  int float_every;       /* also check every k-th assignment in float (0: never) */
  uint64_t seed;
  int jobs;              /* threads over axioms (0: cores) */
  int quiet;
} tsoV_ValOptions;

void tsoV_val_options_default(tsoV_ValOptions *o);

typedef struct tsoV_ValStats {
  uint64_t visited;      /* assignments (shapes and parameters) tried */
  uint64_t checked;      /* where the axiom applies: values compared */
  uint64_t random;       /* ... of them with the random larger shapes */
  uint64_t floats;       /* ... also compared in float */
  uint64_t failures;     /* assignments where it does not hold */
  double seconds;
  char fail[640];        /* the first failure: assignment and what differs */
} tsoV_ValStats;

/* Validates one axiom exactly (GF(2^61 - 1), relu and max replaced by
** fixed non-linear polynomials as in the generator's fingerprints) on
** every combination of shapes and parameters in the small domains, plus
** random larger ones. TSO_OK when it holds everywhere, TSO_ERR_MISMATCH
** when it fails somewhere (st->fail says where), other codes on error. */
tso_status tsoV_validate_axiom(const tsoV_Axiom *a, const tsoV_ValOptions *o, tsoV_ValStats *st);
/* Validates every axiom with o->jobs threads; st[] has ax->n entries.
** Returns TSO_ERR_MISMATCH if any axiom fails. Prints one line per axiom
** to log (may be NULL). */
tso_status tsoV_validate_all(const tsoV_Axioms *ax, const tsoV_ValOptions *o, tsoV_ValStats *st, FILE *log);
/* Redundancy: 1 in *redundant when axiom i follows from the other axioms
** (Z3, within timeout_ms), 0 when that was not shown. */
tso_status tsoV_redundant(const tsoV_Axioms *ax, int i, unsigned timeout_ms, int *redundant, char *err);

/* ===================================================================== */
/* Exact kernels (modeval.c)                                             */
/* ===================================================================== */

#define TSO_V_P ((uint64_t)0x1FFFFFFFFFFFFFFFull) /* 2^61 - 1 */

/* a * b mod p, a + b mod p for a, b < p. */
uint64_t tsoV_mulmod(uint64_t a, uint64_t b);
uint64_t tsoV_addmod(uint64_t a, uint64_t b);
/* Evaluates operator op with parameters p on inputs in[] (shapes ish[],
** row-major values mod p) into out[] (shapes osh[] from the operator's
** infer, buffers allocated by the caller). TSO_ERR_UNSUPPORTED for an
** operator without an exact kernel. */
tso_status tsoV_mod_eval(int op, const tsoO_Params *p, int nin, const uint64_t *const *in,
                         const tsoO_Shape *ish, int nout, uint64_t *const *out, const tsoO_Shape *osh,
                         char *err);

/* Caps the memory Z3 may use, in MB (at most 4095), all contexts of the
** process together (default 2048; 0: no cap): a solver above it gives up
** (unknown, "memout"). Takes effect only before the first Z3 context. */
void tsoV_z3_memory_limit(unsigned mb);

/* Z3's version ("4.8.12"), for the provenance of rule files. */
const char *tsoV_z3_version(void);

/* Decides a rule without inputs (a fact about constants) by exact
** evaluation of both sides (closed.c): 1 equal, -1 different, 0 not
** decided (an operator without an exact field kernel, or values too large);
** a sentence on what was found in note. 0 for a rule with inputs. */
int tsoV_closed_decide(const tsoR_Rule *r, char *note, size_t n);

/* Monotonic wall clock in seconds; number of online cores (>= 1). */
double tsoV_now(void);
int tsoV_ncores(void);

#endif /* TSO_VERIFY_H */
