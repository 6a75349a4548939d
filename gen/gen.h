/*
** gen.h -- the rule generator (taso-gen): enumeration of small tensor
** graphs, fingerprints, exact confirmation, candidates, pruning, shards.
**
** Pipeline (docs/generator.md has the whole story):
**   1. enumerate.c  depth-first search over every acyclic graph of up to
**                   max_ops operator applications over the configured
**                   inputs, one canonical operation order per graph; each
**                   step evaluates the new operator only (modeval.c) and
**                   hands the graph's fingerprint and compact code on;
**   2. fptable.c    pass 1 marks the fingerprints seen at least twice in
**                   a two-plane bit filter; pass 2 keeps (fingerprint,
**                   code) of only those graphs, sorted into buckets;
**   3. candidates.c each bucket is re-evaluated exactly (exact.c, GMP,
**                   real relu and max) on fresh random inputs; graphs with
**                   equal exact outputs pair up into candidates;
**   4. prune.c      canonical renaming of inputs, common subgraphs,
**                   trivially implied candidates, a float check through
**                   tsoR_instantiate, canonical order;
**   5. run.c        threads, progress, shards, merge, the summary.
**
** Invariants:
**   - a tsoG_Config is read-only once a run starts and is shared by all
**     threads; everything mutable lives in per-thread state;
**   - results never depend on the number of threads: counts are sums,
**     entries and candidates are sorted before use;
**   - a graph's code is canonical: the same graph always gets the same
**     code, whatever order it was built in (see enumerate.c).
*/
#ifndef TSO_GEN_H
#define TSO_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"
#include "rules/rules.h"

#define TSO_G_VERSION "0.1.0"
#define TSO_G_TOOL "taso-gen " TSO_G_VERSION

#define TSO_G_MAX_INPUTS 24 /* configured inputs (5-bit tensor ids in codes) */
#define TSO_G_MAX_INST 31   /* operator instances (5-bit ids in codes) */
#define TSO_G_MAX_OPS 4     /* graph size limit of the compact code */
#define TSO_G_MAX_T (TSO_G_MAX_INPUTS + 2 * TSO_G_MAX_OPS) /* tensors of one graph */
#define TSO_G_MAX_NUMEL 512 /* elements of any tensor the generator makes */
#define TSO_G_NCOUNTS 8

/* Families of operator instances: how the generator applies them. */
enum {
  TSO_G_CONV = 0,  /* conv2d(act, kernel) with a kh x kw kernel, stride 1, SAME, optional fused relu */
  TSO_G_MATMUL,    /* matrix [m,k] x [k,n] */
  TSO_G_ADD,       /* element-wise, same kind and shape */
  TSO_G_MUL,       /* element-wise, same kind and shape */
  TSO_G_SMUL,      /* non-scalar times the scalar */
  TSO_G_RELU,      /* any tensor */
  TSO_G_TRANSPOSE, /* matrices */
  TSO_G_CONCAT,    /* two tensors of one kind and rank along `axis` */
  TSO_G_SPLIT,     /* two equal halves along `axis` */
  TSO_G_MAXPOOL,   /* 3x3, stride 1, SAME, activations */
  TSO_G_AVGPOOL,   /* 3x3, stride 1, SAME, divides by 9, activations */
  TSO_G_ENLARGE,   /* conv kernel zero-padded to 3x3 */
  TSO_G_CONST,     /* a constant tensor (no inputs) */
  TSO_G_NFAM
};

/* Shape and kind of one tensor. kind is a TSO_IN_* value (rules.h). */
typedef struct tsoG_Meta {
  uint8_t kind, rank;   /* TSO_IN_*, 0..4 */
  uint8_t pad_[2];      /* zero */
  int32_t d[4];         /* dimensions, row-major */
  int32_t numel;        /* product of d[0..rank) */
} tsoG_Meta;

/* One input tensor of the enumeration. */
typedef struct tsoG_Input {
  char name[8];         /* "A", "X0", ... (reports only) */
  tsoG_Meta m;          /* shape and kind */
} tsoG_Input;

/* One operator instance: an operator with fixed parameters. */
typedef struct tsoG_Inst {
  char name[24];        /* "conv", "concat0", ... (reports only) */
  uint16_t op;          /* tsoO_Op */
  uint8_t fam;          /* TSO_G_* family */
  uint8_t nin, nout;    /* arities */
  int8_t axis;          /* concat / split axis, else 0 */
  uint8_t relu;         /* conv: fused relu */
  tsoG_Meta cm;         /* constants: the output */
  tsoO_Params p;        /* the operator's parameters, as written to rules */
} tsoG_Inst;

/* What to enumerate and how to check it. Read-only during a run. */
typedef struct tsoG_Config {
  char name[32];        /* written to the provenance ("default") */
  int ninputs;          /* configured inputs */
  tsoG_Input in[TSO_G_MAX_INPUTS];
  int ninst;            /* operator instances */
  tsoG_Inst inst[TSO_G_MAX_INST];
  int max_ops;          /* graph size: 1..TSO_G_MAX_OPS */
  uint64_t seed;        /* random inputs of the fingerprints and checks */
  int trials;           /* exact trials per graph (>= 1) */
  int range;            /* exact inputs are integers in [-range, range] */
  int pseudo;           /* 1: zero-op graphs (inputs alone) are targets */
  int gmp_only;         /* tests: exact evaluation always with GMP (same results) */
  int all_pairs;        /* 1: every pair of a class is a candidate; 0: each graph with the class representative */
} tsoG_Config;

/* ---- config.c ---- */
/* The default configuration (docs/generator.md): 11 inputs, 25 instances. */
void tsoG_config_default(tsoG_Config *c, int max_ops, uint64_t seed);
/* An empty configuration (no inputs, no instances) with default checks. */
void tsoG_config_empty(tsoG_Config *c, const char *name, int max_ops, uint64_t seed);
/* Adds an input of kind TSO_IN_* and shape d[0..rank); -1 if full. */
int tsoG_config_input(tsoG_Config *c, const char *name, int kind, int rank, const int32_t *d);
/* Adds an instance of family fam; arg is the axis (concat, split), the
** kernel size kh*10+kw plus 100 for a fused relu (conv: 11, 33, 13, 31,
** 111, ...), the constant's TSO_OP_CONST_* operator (const); cm the
** constant's output shape. -1 if full or invalid. */
int tsoG_config_inst(tsoG_Config *c, int fam, int arg, const tsoG_Meta *cm);
/* Shape rule of instance k applied to inputs in[0..nin): fills out[] and
** returns the number of outputs, or 0 if the instance does not apply. */
int tsoG_infer(const tsoG_Config *c, int k, const tsoG_Meta *in, tsoG_Meta *out);
/* The instance with operator op and parameters p, or -1. */
int tsoG_inst_find(const tsoG_Config *c, int op, const tsoO_Params *p);
/* A meta of rank r and dims d (numel computed). */
tsoG_Meta tsoG_meta(int kind, int rank, const int32_t *d);
/* 64-bit hash of the configuration (inputs, instances, checks): shards
** and merges refuse files made with another configuration. */
uint64_t tsoG_config_hash(const tsoG_Config *c);

/* ---- modeval.c: the prime field GF(p), p = 2^61 - 1 ---- */
#define TSO_G_P ((uint64_t)0x1FFFFFFFFFFFFFFFull)
/* Per-run field constants: random inputs, the constants' values and the
** coefficients of the polynomials that stand in for relu and max. */
typedef struct tsoG_ModCtx {
  uint64_t *in[TSO_G_MAX_INPUTS];   /* input values */
  uint64_t *cst[TSO_G_MAX_INST];    /* values of the constant instances */
  uint64_t relu_c, max_c;           /* polynomial coefficients */
  uint64_t inv9;                    /* 1/9 mod p */
  uint64_t in_hash[TSO_G_MAX_INPUTS]; /* value hashes of the inputs */
} tsoG_ModCtx;
/* Fills the field constants from cfg->seed; TSO_ERR_NOMEM on failure. */
tso_status tsoG_mod_init(tsoG_ModCtx *m, const tsoG_Config *c);
void tsoG_mod_free(tsoG_ModCtx *m);
/* Evaluates instance k on in[] (metas im) into out[] (metas om). */
void tsoG_mod_eval(const tsoG_ModCtx *m, const tsoG_Config *c, int k, const uint64_t *const *in,
                   const tsoG_Meta *im, uint64_t *const *out, const tsoG_Meta *om);
/* Value hash of a tensor: XXH3 of its shape and elements. */
uint64_t tsoG_mod_hash(const uint64_t *v, const tsoG_Meta *m);
/* Order-independent fingerprint of a multiset of output hashes. */
uint64_t tsoG_fp_combine(const uint64_t *h, int n);

/* ---- enumerate.c ---- */
/* A decoded graph: ops in canonical order over tensor ids (inputs are
** 0..ninputs-1, op outputs follow in order), or a zero-op graph whose
** outputs are inputs. */
typedef struct tsoG_Graph {
  int nops;
  uint8_t inst[TSO_G_MAX_OPS];          /* instance of each op */
  uint8_t arg[TSO_G_MAX_OPS][2];        /* its input tensor ids */
  uint8_t first_out[TSO_G_MAX_OPS];     /* tensor id of its output 0 */
  int nt;                               /* tensors */
  tsoG_Meta m[TSO_G_MAX_T];             /* their metas */
  int8_t prod[TSO_G_MAX_T];             /* producing op, -1 for inputs */
  uint8_t slot[TSO_G_MAX_T];            /* output slot at the producer */
  int nout;                             /* graph outputs */
  uint8_t out[2 * TSO_G_MAX_OPS];       /* their tensor ids */
} tsoG_Graph;

#define TSO_G_CODE_PSEUDO 0 /* nops field of a zero-op graph's code */
/* The code of the graph whose op j is instance ops[j][0] on tensors
** ops[j][1], ops[j][2] (any order the ops' inputs allow; tests and tools). */
uint64_t tsoG_code(int nops, const uint8_t (*ops)[3]);
/* Decodes a code made by the enumeration; 0, or -1 if invalid. */
int tsoG_decode(const tsoG_Config *c, uint64_t code, tsoG_Graph *g);
/* Formats a graph as text ("relu(t0=matmul(A,B))"). */
void tsoG_graph_str(const tsoG_Config *c, const tsoG_Graph *g, char *buf, size_t n);

/* What the enumeration hands to its visitor for each graph. */
typedef struct tsoG_Visit {
  uint64_t fp;          /* fingerprint */
  uint64_t code;        /* the graph's compact code */
  uint64_t pcode;       /* code of the zero-op graph with the same value, if has_pseudo */
  int has_pseudo;
  int nops;
} tsoG_Visit;
typedef void (*tsoG_VisitFn)(void *ud, const tsoG_Visit *v);

/* Work units: the enumeration is cut into units (the nodes at depth
** min(2, max_ops) of the search tree, plus the depth-1 graphs) numbered in
** search order, so that threads can share them dynamically. */
typedef struct tsoG_Enum tsoG_Enum;
tsoG_Enum *tsoG_enum_new(const tsoG_Config *c, const tsoG_ModCtx *m);
void tsoG_enum_free(tsoG_Enum *e);
/* Walks the search tree; runs the units u for which claim(ud2) returned
** u in increasing order (claim returns the next unit this walker should
** run, or -1: stop). Calls visit for every graph of the units run, and
** adds the number of graphs to *ngraphs (a claim that never returns a
** unit, e.g. -2, only counts the units). Returns the number of units
** seen, or -1 on a structural hash collision (never seen in practice). */
typedef int64_t (*tsoG_ClaimFn)(void *ud);
int64_t tsoG_enum_run(tsoG_Enum *e, tsoG_ClaimFn claim, void *cud, tsoG_VisitFn visit, void *vud,
                      uint64_t *ngraphs);

/* ---- exact.c: GMP evaluation with the real relu and max ---- */
typedef struct tsoG_Exact tsoG_Exact;
tsoG_Exact *tsoG_exact_new(const tsoG_Config *c);
void tsoG_exact_free(tsoG_Exact *x);
/* Evaluates g on every trial. 0, or -1 on allocation failure. */
int tsoG_exact_eval(tsoG_Exact *x, const tsoG_Graph *g);
/* The canonical bytes of output i of the last evaluated graph: for each
** trial its shape, the exponent e of its common denominator 9^e (the
** least one) and every numerator; equal bytes <=> equal exact values. */
const uint8_t *tsoG_exact_out_bytes(const tsoG_Exact *x, int i, size_t *len);

/* ---- prune.c: compact rules and the pruning pipeline ---- */
/* A compact rule: operators are instance numbers, refs are bytes
** (0..15: pattern input; 16 + 2*op + slot: an op output; 0xFF: none,
** in every operand beyond an op's arity, every unused op and output). */
#define TSO_G_REF_OP 16
#define TSO_G_REF_NONE 0xFF
typedef struct tsoG_CPat {
  uint8_t nops, nout;
  uint8_t inst[TSO_RULE_MAX_OPS];
  uint8_t in[TSO_RULE_MAX_OPS][2];
  uint8_t out[TSO_RULE_MAX_OUT];
} tsoG_CPat;
typedef struct tsoG_CRule {
  uint8_t nin;
  uint8_t in_kind[TSO_RULE_MAX_IN];
  uint8_t in_rank[TSO_RULE_MAX_IN];
  uint8_t pad_;
  tsoG_CPat src, dst;
} tsoG_CRule;

/* Empties a compact pattern / rule (all refs TSO_G_REF_NONE). */
void tsoG_cpat_clear(tsoG_CPat *p);
void tsoG_crule_clear(tsoG_CRule *r);
/* Conversions between compact and file rules (status CANDIDATE). */
tso_status tsoG_crule_to_rule(const tsoG_Config *c, const tsoG_CRule *cr, tsoR_Rule *r);
tso_status tsoG_crule_from_rule(const tsoG_Config *c, const tsoR_Rule *r, tsoG_CRule *cr, char *err);
/* Canonical form: inputs renamed and ops reordered so that rules equal up
** to renaming of inputs become byte-identical. */
void tsoG_crule_canon(const tsoG_CRule *in, tsoG_CRule *out);

/* Counts of the pruning steps (the last five provenance counts). */
typedef struct tsoG_PruneStats {
  uint64_t before;      /* candidates fed in */
  uint64_t renamed;     /* distinct up to renaming of inputs */
  uint64_t common;      /* ... without a common subgraph */
  uint64_t implied;     /* ... not trivially implied */
  uint64_t final;       /* ... passing the float check: rules written */
  uint64_t same, reverse, split, congruent; /* implied: identical sides, reverse kept, composite, congruence */
  uint64_t float_fail;  /* rules dropped by the float check */
} tsoG_PruneStats;

typedef struct tsoG_Pruner tsoG_Pruner;
/* A pruner; keep_all 1 (shards) keeps every distinct canonical form for
** tsoG_pruner_dump, 0 keeps only those without a common subgraph (the
** others are counted by their 64-bit canonical hash). */
tsoG_Pruner *tsoG_pruner_new(const tsoG_Config *c, int keep_all);
void tsoG_pruner_free(tsoG_Pruner *p);
/* Feeds n confirmed candidates; safe to call from several threads. */
tso_status tsoG_pruner_add(tsoG_Pruner *p, const tsoG_CRule *cr, size_t n);
/* Runs the pruning steps with `jobs` threads and appends the survivors,
** in canonical order, to out; fills st. */
tso_status tsoG_pruner_finish(tsoG_Pruner *p, tsoR_Set *out, tsoG_PruneStats *st, int jobs, int quiet, char *err);
/* Shards: appends every distinct canonical form (keep_all), sorted, to
** out; *fed gets the number of candidates fed. */
tso_status tsoG_pruner_dump(tsoG_Pruner *p, tsoR_Set *out, uint64_t *fed, char *err);

/* ---- candidates.c ---- */
/* Bucket entries: a fingerprint and a graph code. */
typedef struct tsoG_Entry { uint64_t fp, code; } tsoG_Entry;
/* Counts of the confirmation step. */
typedef struct tsoG_ConfirmStats {
  uint64_t buckets;      /* buckets with >= 2 graphs */
  uint64_t shared;       /* enumerated graphs in those buckets */
  uint64_t classes;      /* exact classes with >= 2 graphs */
  uint64_t split_off;    /* graphs whose exact outputs differ from the rest of their bucket */
  uint64_t candidates;   /* candidates (pairs with the class representative, or all pairs) */
  uint64_t pairs;        /* all pairs of graphs within the classes */
  uint64_t twins;        /* graphs equal to an earlier one of their bucket by commutativity (not re-evaluated) */
  uint64_t unrepresentable; /* pairs beyond the rule format's limits (dropped) */
} tsoG_ConfirmStats;
/* Confirms the buckets of the sorted, deduplicated entries e[0..n) with
** `jobs` threads, feeding every candidate to the pruner; adds to *st. */
tso_status tsoG_confirm(const tsoG_Config *c, const tsoG_Entry *e, size_t n, int jobs, tsoG_Pruner *pr,
                        tsoG_ConfirmStats *st, char *err);

/* ---- run.c ---- */
typedef struct tsoG_Options {
  int max_ops;          /* --max-ops */
  int jobs;             /* --jobs (0: number of cores) */
  uint64_t seed;        /* --seed */
  int shard_i, shard_n; /* --shard i/N (0/1: no sharding) */
  int record_time;      /* --record-time */
  int quiet;            /* --quiet: no progress, no summary */
  int filter_log2;      /* bits per filter plane, log2 (0: by max_ops) */
  const tsoG_Config *cfg; /* NULL: the default configuration */
} tsoG_Options;

typedef struct tsoG_Result {
  uint64_t counts[TSO_G_NCOUNTS]; /* as in the provenance */
  tsoG_ConfirmStats cs;
  tsoG_PruneStats ps;
  double seconds;
  double t_pass1, t_pass2, t_confirm, t_prune; /* phase wall times */
  uint64_t stored;      /* entries kept by pass 2 */
} tsoG_Result;

/* One run (or one shard): enumerates, confirms, prunes (not for shards),
** and fills *out (rules sorted, provenance set). */
tso_status tsoG_run(const tsoG_Options *o, tsoR_Set *out, tsoG_Result *res, char *err);
/* Combines shard files into what a single run writes. */
tso_status tsoG_merge(const char *const *paths, int n, int jobs, int quiet, tsoR_Set *out, tsoG_Result *res,
                      char *err);
/* The provenance options string of a run ("max-ops=3 config=default:HASH", HASH the configuration's). */
void tsoG_options_str(const tsoG_Options *o, const tsoG_Config *c, char *buf, size_t n);
/* Peak resident memory of the process in bytes (getrusage). */
uint64_t tsoG_peak_rss(void);
/* Number of online cores (>= 1). */
int tsoG_ncores(void);

#endif /* TSO_GEN_H */
