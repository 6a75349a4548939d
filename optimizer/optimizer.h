/*
** optimizer.h -- the optimizer (internal API, prefix tsoS_): pattern
** matching and in-place rewriting (match.c), the cost-based search
** (search.c), the fusion passes that rules cannot express (fuse.c) and
** weight pre-folding plus lowering to standard ONNX (prefold.c).
**
** Pieces:
**   match.c    finds every occurrence of a rule's source pattern in a graph
**              (tsoS_Index is the per-graph analysis it needs: consumers,
**              topological positions, nodes by operator), checks that the
**              target is well-formed for the actual shapes and that the
**              rewrite is legal (no cycle, no internal value used outside,
**              the shape classes of the rule's inputs), and applies it in
**              place. An application can be journaled and undone, so the
**              search evaluates a candidate without copying the graph.
**   search.c   best-first search over rewrites: a priority queue ordered by
**              cost; candidates are kept when cheaper than alpha x best,
**              deduplicated by canonical structural hash; a candidate is
**              stored as (parent, rule, match), ~100 bytes, and the graph
**              of a candidate is rebuilt by replaying its chain when it is
**              expanded; costs are updated incrementally per node.
**   fuse.c     pre pass: Conv + BatchNormalization folded into the kernel
**              and bias; post pass: MatMul + Add of a constant into Gemm.
**   prefold.c  after the search: every new node whose inputs are all
**              constants is computed once and becomes an initializer;
**              then generator-only operators and fused forms are lowered
**              to standard ONNX (conv{act=relu} -> Conv + Relu, smul ->
**              Mul, enlarge -> Pad, SAME padding of new convs -> pads).
**
** Invariants:
**   - a rewrite never touches an opaque node (TSO_OPF_BARRIER) nor a node
**     whose inputs the kernels do not support; rules only match float
**     tensors of known shape;
**   - tensor names of a graph survive rewrites: the new producer of a
**     rewritten value writes the same tensor (the old producer gets a
**     fresh one), so graph outputs keep their names;
**   - node and tensor ids are only appended to (new nodes, new tensors);
**     the search relies on it to replay a candidate's chain;
**   - nothing here exits or aborts; errors are a status plus a message in
**     an `err` buffer of TSO_ERRMAX bytes.
*/
#ifndef TSO_OPTIMIZER_H
#define TSO_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>

#include "cost/cost.h"
#include "graph/graph.h"
#include "rules/rules.h"

/* ---- per-graph analysis ------------------------------------------------- */

/* What the matcher needs to know about a graph; rebuilt whenever the graph
** changes other than by a journaled rewrite that is undone. */
typedef struct tsoS_Index {
  int32_t nt, nn;          /* sizes of the graph it was built for */
  int32_t *cstart;         /* CSR: consumers of tensor t are cons[cstart[t] .. cstart[t+1]) */
  int32_t *cons;           /* consumer node ids (a node appears once per input edge) */
  int32_t *pos;            /* topological position of each live node, -1 for dead */
  int32_t *opstart;        /* nodes of operator op are byop[opstart[op] .. opstart[op+1]) */
  int32_t *byop;           /* live node ids grouped by operator, ascending */
  uint32_t *mark;          /* scratch stamps (per node) for the cycle check */
  uint32_t stamp;
} tsoS_Index;

/* Builds ix for g (previous contents freed). TSO_ERR_INVALID on a cycle. */
tso_status tsoS_index_build(tsoS_Index *ix, tsoI_Graph *g, char *err);
void tsoS_index_free(tsoS_Index *ix);

/* ---- matches ------------------------------------------------------------- */

/* One occurrence of a rule's source pattern. */
typedef struct tsoS_Match {
  uint32_t rule;                     /* index of the rule in its set */
  uint32_t swap;                     /* bit k: commutative source op k matched with inputs swapped */
  int32_t node[TSO_RULE_MAX_OPS];    /* graph node of each source op */
  int32_t in[TSO_RULE_MAX_IN];       /* tensor bound to each pattern input */
  int32_t bias[TSO_RULE_MAX_OPS];    /* conv source op k: the node's bias tensor (-1 none) */
} tsoS_Match;

/* A layout move, written as a match: rule is TSO_S_LAYOUT, in[0] the
** tensor, in[1] the layout (TSO_LAYOUT_*) it is stored in afterwards. */
#define TSO_S_LAYOUT 0xFFFFFFFFu

/* Why matches were refused (counts, for the report). */
typedef struct tsoS_MatchStats {
  uint64_t found;          /* structural matches */
  uint64_t shape_class;    /* refused: inputs of one kind with different shapes, or wrong ranks/types */
  uint64_t external_use;   /* refused: an internal value is used outside the pattern */
  uint64_t target_shape;   /* refused: the target is not well-formed for these shapes */
  uint64_t cycle;          /* refused: the rewrite would create a cycle */
  uint64_t valid;          /* matches that passed every check */
} tsoS_MatchStats;

/* Called for every valid match; return non-zero to stop the enumeration. */
typedef int (*tsoS_MatchFn)(void *ud, const tsoS_Match *m);

/* Enumerates the valid matches of rule r (index rid of its set) in g, in a
** deterministic order, calling fn for each. Returns the number of valid
** matches (or -1 with err set on allocation failure). st may be NULL. */
int tsoS_find_matches(tsoI_Graph *g, tsoS_Index *ix, const tsoR_Rule *r, uint32_t rid, tsoS_MatchFn fn,
                      void *ud, tsoS_MatchStats *st, char *err);

/* ---- rewriting ----------------------------------------------------------- */

/* Undo information of one in-place rewrite. */
typedef struct tsoS_Journal {
  int32_t nt, nn, noutputs; /* sizes before */
  uint32_t ne;
  int n, cap;               /* entries */
  struct tsoS_JEntry *e;
} tsoS_Journal;
void tsoS_journal_free(tsoS_Journal *j);

/* Applies match m of rule r to g in place: the target's nodes are appended
** (their outputs inferred), the values the source computed are produced by
** them (same tensor ids), and the matched nodes are marked dead. With j
** non-NULL every change is recorded so that tsoS_undo restores g exactly.
** new_nodes (capacity TSO_RULE_MAX_OPS + 2, may be NULL) receives the ids
** of the appended nodes, *nnew their count. The match must come from
** tsoS_find_matches on the same graph state. */
tso_status tsoS_apply(tsoI_Graph *g, const tsoR_Rule *r, const tsoS_Match *m, tsoS_Journal *j,
                      int32_t *new_nodes, int *nnew, char *err);
/* Reverts the rewrite recorded in j (which is emptied). */
void tsoS_undo(tsoI_Graph *g, tsoS_Journal *j);

/* Infers the outputs of node `node` alone from its inputs' current types
** and shapes (constant inputs with their data). */
tso_status tsoS_infer_node(tsoI_Graph *g, int32_t node, char *err);

/* ---- bias-lifted rules (lift.c) ------------------------------------------------ */

/* The bias-lifted variant of r (source convs get a bias input each, target
** convs the bias of the kernel they use): 0 with *out filled, -1 when r
** has no conv or does not have a shape that lifts. */
int tsoS_lift_rule(const tsoR_Rule *r, tsoR_Rule *out);
/* Appends the lifted variant of every rule of s that has one (keeping the
** original rule's id in tsoR_Rule.id); *lifted (malloc'd, s->n entries)
** marks them. Returns how many were added, -1 on allocation failure. */
int tsoS_lift_rules(tsoR_Set *s, unsigned char **lifted);

/* The reversed rule (dst -> src) of r: 0 with *out filled, -1 when r's
** target cannot serve as a source (no ops, an output that is an input, an
** input it does not read). */
int tsoS_reverse_rule(const tsoR_Rule *r, tsoR_Rule *out);
/* Appends the reversed rule of every rule of s that has one (keeping the
** rule's id). Returns how many were added, -1 on allocation failure. */
int tsoS_reverse_rules(tsoR_Set *s);

/* ---- search ---------------------------------------------------------------- */

typedef struct tsoS_Options {
  double alpha;              /* keep candidates cheaper than alpha x best (default 1.05) */
  int budget;                /* graphs expanded at most (default 1000) */
  double time_limit;         /* seconds; 0: none */
  tsoC_Backend *be;          /* the cost backend (required) */
  tsoC_Db *db;               /* the cost database (NULL: in memory) */
  const unsigned char *disabled; /* per rule: 1 = never apply (NULL: all enabled) */
  const unsigned char *check_first; /* per rule: 1 = validate numerically on its first match (lifted rules) */
  double measure_budget_s;   /* measuring time allowed in the search; 0: half the time limit or 30 s */
  int no_layouts;            /* 1: every tensor stays in the default layout (no layout moves) */
} tsoS_Options;
void tsoS_options_init(tsoS_Options *o);

/* One rewrite on the path from the input graph to the best graph. */
typedef struct tsoS_Step {
  uint32_t rule;             /* rule index, or TSO_S_LAYOUT */
  int32_t tensor, layout;    /* a layout move: the tensor and its new layout */
  double cost_before, cost_after; /* predicted cost of the graph before and after, ms */
} tsoS_Step;

typedef struct tsoS_Result {
  double cost_before, cost_after; /* predicted cost of the input and of the best graph, ms */
  int64_t expanded;          /* graphs expanded */
  int64_t generated;         /* rewritten graphs evaluated */
  int64_t kept;              /* ... queued (cheaper than alpha x best) */
  int64_t pruned_alpha;      /* ... dropped: not cheaper than alpha x best */
  int64_t duplicates;        /* ... dropped: seen before (same canonical hash) */
  int64_t measured;          /* operator instances measured during the search */
  int64_t estimated;         /* ... estimated by the analytic fallback */
  int64_t rules_refuted;     /* rules to validate that failed their numerical validation */
  int64_t layout_moves;      /* layout moves evaluated (also counted in generated) */
  tsoS_MatchStats ms;        /* matches found and refused */
  double seconds;            /* search time */
  int stopped_by;            /* 0 queue empty, 1 budget, 2 time limit */
  int nsteps;                /* rewrites on the path to the best graph */
  tsoS_Step *steps;          /* malloc'd (free with tsoS_result_free) */
  tsoS_Match *matches;       /* the match of each step, malloc'd (for replay and bisection) */
} tsoS_Result;
void tsoS_result_free(tsoS_Result *r);

/* Searches for a cheaper graph equivalent to g (shapes inferred, dead
** nodes compacted away) under rules. *best receives a new graph (the
** rewritten copy, dead nodes compacted; g itself when nothing was found is
** still returned as a copy). */
tso_status tsoS_search(tsoI_Graph *g, const tsoR_Set *rules, const tsoS_Options *o, tsoI_Graph **best,
                       tsoS_Result *res, char *err);

/* Replays the first n steps of res on a copy of g (the same input the
** search saw): *out receives the compacted graph. */
tso_status tsoS_replay(tsoI_Graph *g, const tsoR_Set *rules, const tsoS_Result *res, int n, tsoI_Graph **out,
                       char *err);

/* The predicted cost of a whole graph, as the search counts it (nodes
** computable from constants alone are free: they are pre-folded). */
tso_status tsoS_graph_cost(tsoI_Graph *g, tsoC_Backend *be, tsoC_Db *db, double *ms, char *err);

/* ---- layout lowering (layouts.c) --------------------------------------------- */
/* Makes the layouts the search chose explicit in standard ONNX (Gemm
** transA/transB, a 2-D MatMul becoming a Gemm, Transpose nodes) and
** resets every tensor to the default layout. Returns the number of
** operands rewritten, or -1 with err set on allocation failure. */
int tsoS_lower_layouts(tsoI_Graph *g, char *err);

/* ---- fusion passes (fuse.c) ------------------------------------------------ */

/* Conv (+ bias) followed by BatchNormalization (inference form, constant
** statistics) whose output is only read by it: the BN is folded into the
** kernel and bias. Returns the number of folds, or -1 with err set. */
int tsoS_fuse_conv_bn(tsoI_Graph *g, char *err);
/* MatMul of a 3-D or higher float activation by a 2-D constant weight:
** Reshape to 2-D -> MatMul [-> Add of a constant bias vector read by it
** alone] -> Reshape back (the result keeps its tensor). Matmuls of one
** activation share its Reshape. Returns the number rewritten, or -1. */
int tsoS_flatten_matmuls(tsoI_Graph *g, char *err);
/* MatMul of 2-D operands followed by Add of a constant bias ([N], [1,N] or
** [M,N]): one Gemm. Returns the number of fusions, or -1 with err set. */
int tsoS_fuse_matmul_add(tsoI_Graph *g, char *err);

/* ---- pre-folding and lowering (prefold.c) ------------------------------------ */

/* Computes every node that the optimizer made (origin -1) or that has no
** ONNX form, and whose inputs are all known constants, with the reference
** kernels; its outputs become initializers and the node is removed.
** Returns the number of nodes folded, or -1 with err set. */
int tsoS_prefold(tsoI_Graph *g, char *err);
/* Lowers what ONNX has no form for: conv2d with a fused relu -> Conv +
** Relu; smul -> Mul; enlarge -> Pad; new convs with SAME padding get
** explicit pads. Generator constants must have been pre-folded. Returns
** the number of nodes lowered, or -1 with err set (TSO_ERR_UNSUPPORTED
** when something cannot be written as ONNX). */
int tsoS_lower(tsoI_Graph *g, char *err);

#endif /* TSO_OPTIMIZER_H */
