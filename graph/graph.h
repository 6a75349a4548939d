/*
** graph.h -- the graph IR: tensors, nodes, an arena per graph, a builder,
** topological order, canonical structural hash, clone, dead-node and no-op
** removal, well-formedness check, shape inference and the reference
** evaluator.
**
** Representation. A graph owns two growable arrays, tensors and nodes,
** addressed by int32 ids (never by pointer: ids survive reallocation and
** cloning), an edge pool that holds each node's input and output tensor ids
** contiguously, and an arena for names and constant data. A node is a
** fixed-size plain struct with its parameters inline (tsoO_Params), so it
** can be hashed and compared byte-wise.
**
** Invariants kept by the builder and checked by tsoI_check():
**   - a tensor has at most one producer; graph inputs and initializers have
**     none; a tensor whose value is known at compile time (TSO_T_CONST)
**     may still have one (a Constant node, a folded Shape chain): the node
**     stays, only its value is known;
**   - node->in/out index edges[]; an input id may be -1 (absent optional);
**   - tensor->producer/slot name the node output that makes it;
**   - a node with TSO_N_DEAD set is ignored everywhere and removed by
**     tsoI_compact(); ids are only renumbered by tsoI_compact().
*/
#ifndef TSO_GRAPH_H
#define TSO_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "../ops/ops.h"

/* Tensor flags. */
#define TSO_T_INPUT    0x01u /* a graph input */
#define TSO_T_OUTPUT   0x02u /* a graph output */
#define TSO_T_CONST    0x04u /* value known: data is set (initializer, Constant node, or folded) */
#define TSO_T_EXTERNAL 0x08u /* data came from an external data file */
#define TSO_T_OWNED    0x10u /* data lives in the graph's arena (else borrowed) */

/* Node flags. */
#define TSO_N_DEAD     0x01u /* removed; skipped by every walk */
#define TSO_N_NOKERNEL 0x02u /* a table operator whose inputs the kernels do not support */

typedef struct tsoI_Tensor {
  tsoO_Shape shape;            /* rank -1 when unknown */
  int32_t dtype;               /* TSO_DT_* (ONNX values), 0 when unknown */
  uint32_t flags;              /* TSO_T_* */
  int32_t layout;              /* TSO_LAYOUT_* (layouts/layouts.h) the search chose; 0 default.
                                  Semantics never depend on it: values are always logical
                                  (ONNX order); the lowering before export makes it explicit */
  int32_t producer;            /* node id, -1 for inputs and constants */
  int32_t slot;                /* output index at the producer */
  const char *name;            /* in the arena (never NULL, may be "") */
  const char *dimsym[TSO_MAX_RANK]; /* symbolic names of unknown dims, or NULL */
  int32_t origin;              /* importer's index of the initializer, -1 */
  int32_t nuses;               /* consumers (maintained by tsoI_uses) */
  const void *data;            /* constant data, row-major, when TSO_T_CONST */
  size_t nbytes;               /* size of data */
} tsoI_Tensor;

typedef struct tsoI_Node {
  uint16_t op;                 /* tsoO_Op */
  uint16_t flags;              /* TSO_N_* */
  uint16_t nin, nout;          /* arities */
  uint32_t in, out;            /* offsets into the graph's edge pool */
  int32_t origin;              /* importer's index of the source node, -1 if new */
  uint32_t pad_;               /* zero */
  tsoO_Params p;               /* parameters, zeroed where unused */
} tsoI_Node;

typedef struct tsoI_Arena tsoI_Arena;

typedef struct tsoI_Graph {
  tsoI_Tensor *t; int32_t nt, capt;   /* tensors */
  tsoI_Node *n; int32_t nn, capn;     /* nodes */
  int32_t *e; uint32_t ne, cape;      /* edge pool */
  int32_t *inputs; int32_t ninputs, capinputs;   /* graph inputs, in order */
  int32_t *outputs; int32_t noutputs, capoutputs; /* graph outputs, in order */
  tsoI_Arena *arena;                  /* names and owned constant data */
  char err[TSO_ERRMAX];               /* message of the last failure */
} tsoI_Graph;

#define TSO_IN(g, nd, i) ((g)->e[(nd)->in + (uint32_t)(i)])
#define TSO_OUT(g, nd, i) ((g)->e[(nd)->out + (uint32_t)(i)])

/* ---- arena ---- */
void *tsoI_alloc(tsoI_Graph *g, size_t n);          /* 16-byte aligned, zeroed */
const char *tsoI_strdup(tsoI_Graph *g, const char *s);

/* ---- lifetime ---- */
tsoI_Graph *tsoI_new(void);
void tsoI_free(tsoI_Graph *g);
/* Deep copy; borrowed constant data stays borrowed. NULL on allocation failure. */
tsoI_Graph *tsoI_clone(const tsoI_Graph *g);
/* A copy of the arrays only: names and constant data stay g's (g must
** outlive it, and it must not free or change them). For work graphs that
** are rebuilt often. NULL on allocation failure. */
tsoI_Graph *tsoI_clone_shallow(const tsoI_Graph *g);

/* ---- builder ---- (all return an id >= 0 or -1 with g->err set) */
int32_t tsoI_add_tensor(tsoI_Graph *g, const char *name, int dtype, const tsoO_Shape *shape);
int32_t tsoI_add_input(tsoI_Graph *g, const char *name, int dtype, const tsoO_Shape *shape);
/* A constant; with copy=0 the data is borrowed and must outlive the graph. */
int32_t tsoI_add_const(tsoI_Graph *g, const char *name, int dtype, const tsoO_Shape *shape,
                       const void *data, size_t nbytes, int copy);
/* A node reading `in` (ids, -1 for absent) and writing `out` (existing
** tensors without a producer). Checks arities against the table. */
int32_t tsoI_add_node(tsoI_Graph *g, int op, const tsoO_Params *p, const int32_t *in, int nin,
                      const int32_t *out, int nout);
/* Convenience: a node whose outputs are new tensors named name_0.. (or
** unnamed); returns the node id, output ids via outs (may be NULL). */
int32_t tsoI_add_op(tsoI_Graph *g, int op, const tsoO_Params *p, const int32_t *in, int nin,
                    int nout, int32_t *outs);
int tsoI_mark_output(tsoI_Graph *g, int32_t t);
/* Tensor id by name, -1 if none (linear; importers keep their own map). */
int32_t tsoI_find(const tsoI_Graph *g, const char *name);

/* ---- analysis ---- */
/* Fills order[] (capacity g->nn) with live node ids in a topological order
** (Kahn, ties broken by node id so the order is deterministic). Returns
** the count, or -1 with g->err naming a node on a cycle. */
int32_t tsoI_topo(tsoI_Graph *g, int32_t *order);
/* Recomputes tensor nuses from live nodes and graph outputs. */
void tsoI_uses(tsoI_Graph *g);
/* Well-formedness: ids in range, one producer per tensor, consistent
** producer/slot, arities, no cycle, outputs exist. TSO_OK or an error. */
tso_status tsoI_check(tsoI_Graph *g);
/* Canonical structural hash: equal for isomorphic graphs however they
** were built (node order, tensor ids); inputs are told apart by their
** position in the input list, constants by content. */
uint64_t tsoI_hash(tsoI_Graph *g);
/* The same hash for many graphs that share one graph's leaves (the search
** hashes thousands of rewrites of one input graph): the leaves' hashes,
** weights' content included, are computed once at init; scratch space is
** reused. Rewrites must not make new leaves. init returns 0, or -1 on
** allocation failure; hash returns 0 on allocation failure. */
typedef struct tsoI_Hasher {
  uint64_t *leaf;               /* per tensor of the init graph (0: not a leaf) */
  int32_t nleaf;
  uint64_t *th, *nh, *ms;       /* scratch: tensor, node, multiset hashes */
  unsigned char *reach;         /* scratch: tensors an output depends on */
  int32_t *order;               /* scratch: topological order */
  size_t capt, capn;            /* capacities of the scratch arrays */
} tsoI_Hasher;
int tsoI_hasher_init(tsoI_Hasher *hs, const tsoI_Graph *g);
uint64_t tsoI_hasher_hash(tsoI_Hasher *hs, tsoI_Graph *g);
void tsoI_hasher_free(tsoI_Hasher *hs);

/* ---- transformations ---- */
/* Marks nodes that no graph output depends on as dead; returns nodes
** removed. (Constants nothing reads go at the next tsoI_compact.) */
int tsoI_remove_dead(tsoI_Graph *g);
/* Removes identity and no-op nodes (Identity, inference Dropout, Reshape
** to the same shape, identity Transpose, one-input Concat, one-piece
** Split, zero Pad, ...) by rewiring consumers; graph output names are
** kept. Requires inferred shapes. Returns nodes removed. */
int tsoI_remove_noops(tsoI_Graph *g);
/* Physically drops dead nodes and unreferenced tensors, renumbering ids
** (order otherwise kept). Returns TSO_OK or TSO_ERR_NOMEM. */
tso_status tsoI_compact(tsoI_Graph *g);
/* Replaces every use of tensor `from` (node inputs, graph outputs) by `to`. */
void tsoI_replace_uses(tsoI_Graph *g, int32_t from, int32_t to);

/* ---- shapes and evaluation ---- */
/* Infers dtypes and shapes of all node outputs in topological order, and
** folds small constant integer subgraphs (Shape/Gather/Slice/Concat/...
** on known shapes) into constants so that Reshape & co. see their
** arguments. Nodes whose outputs cannot be inferred keep unknown shapes
** (opaque nodes keep what the importer set from value_info). A node whose
** parameters or shapes are invalid is an error (TSO_ERR_SHAPE). */
tso_status tsoI_infer(tsoI_Graph *g);

/* Values of opaque node outputs during evaluation are asked of this
** callback (the checker feeds the same random data to both graphs);
** returning non-zero makes the output unavailable. */
typedef int (*tsoI_OpaqueFn)(void *ud, const tsoI_Graph *g, int32_t node, int slot,
                             tsoO_Value *val);
/* Evaluates the graph with the reference kernels. vals[t] (capacity g->nt,
** zeroed by the caller) receives malloc'd data for every tensor computed;
** inputs must be preset in vals[] by the caller (data non-NULL). A tensor
** whose value could not be computed keeps data NULL. Intermediate values
** are freed as soon as their last consumer ran when keep_all is 0
** (graph outputs and opaque node inputs are kept). */
tso_status tsoI_eval(tsoI_Graph *g, tsoO_Value *vals, int keep_all, tsoI_OpaqueFn opq, void *ud);
/* Frees what tsoI_eval allocated into vals (inputs preset by the caller
** are freed too when free_inputs is 1). */
void tsoI_eval_free(tsoI_Graph *g, tsoO_Value *vals, int free_inputs);

/* ---- numerical check ---- */
typedef struct tsoI_CompareResult {
  uint64_t seed;          /* seed of the random inputs */
  int ran;                /* 1 once both graphs were evaluated */
  int checked;            /* outputs that agree */
  int unchecked;          /* outputs that could not be computed in either graph */
  int mismatches;         /* outputs (or opaque-node inputs) that differ */
  int symbolic_set;       /* 1 if unbound symbolic input dims were given sizes for the check */
  double max_abs, max_rel;/* largest errors seen */
  char note[TSO_ERRMAX];  /* the first mismatch, or why outputs were unchecked; then "; symbolic dims set to ..."
                             when symbolic_set */
} tsoI_CompareResult;
/* Evaluates a and b (same inputs and outputs, in order) on random inputs
** from `seed` and compares the outputs: |x - y| <= atol + rtol * |x|.
** TSO_OK when nothing differs (see r->unchecked), TSO_ERR_MISMATCH when
** something does; other codes on failure (r->note says why). */
tso_status tsoI_compare(tsoI_Graph *a, tsoI_Graph *b, uint64_t seed, double rtol, double atol,
                        tsoI_CompareResult *r);

#endif /* TSO_GRAPH_H */
