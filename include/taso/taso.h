/*
** taso.h -- the public C API of libtaso, a tensor-algebra superoptimizer
** for deep-learning inference graphs.
**
** Conventions (the only header a user includes):
**   - every name is prefixed tso_ / TSO_; every handle is opaque;
**   - every handle is made by a tso_*_create/_load call on a tso_ctx and
**     released by the matching _free, which accepts NULL;
**   - functions return a tso_status; the message of the last failure is
**     kept on the context (tso_errmsg), never in a process-wide global, so
**     two contexts may be used from two threads at once;
**   - the library never exits or aborts on bad input.
** No CUDA, Z3 or protobuf type appears here.
*/
#ifndef TASO_H
#define TASO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSO_VERSION_MAJOR 0
#define TSO_VERSION_MINOR 1
#define TSO_VERSION_PATCH 0
#define TSO_VERSION_NUMBER (TSO_VERSION_MAJOR * 10000 + TSO_VERSION_MINOR * 100 + TSO_VERSION_PATCH)

#if defined(_WIN32)
#define TSO_API
#else
#define TSO_API __attribute__((visibility("default")))
#endif

/* Pinned status values: never renumbered. */
typedef enum tso_status {
  TSO_OK = 0,
  TSO_ERR_NOMEM = 1,       /* an allocation failed */
  TSO_ERR_IO = 2,          /* a file could not be read or written */
  TSO_ERR_PARSE = 3,       /* the input is not a well-formed ONNX protobuf */
  TSO_ERR_INVALID = 4,     /* the graph is malformed (cycle, dangling name, ...) */
  TSO_ERR_SHAPE = 5,       /* shapes or types do not agree */
  TSO_ERR_UNSUPPORTED = 6, /* a feature this version does not handle */
  TSO_ERR_MISMATCH = 7,    /* the numerical check found a difference */
  TSO_ERR_ARG = 8,         /* a bad argument to an API call */
  TSO_ERR_LIMIT = 9        /* a size limit was exceeded (absurd dimensions, ...) */
} tso_status;

/* Element types: the values are ONNX's TensorProto.DataType values. */
enum {
  TSO_DT_UNDEFINED = 0, TSO_DT_FLOAT = 1, TSO_DT_UINT8 = 2, TSO_DT_INT8 = 3,
  TSO_DT_UINT16 = 4, TSO_DT_INT16 = 5, TSO_DT_INT32 = 6, TSO_DT_INT64 = 7,
  TSO_DT_STRING = 8, TSO_DT_BOOL = 9, TSO_DT_FLOAT16 = 10, TSO_DT_DOUBLE = 11,
  TSO_DT_UINT32 = 12, TSO_DT_UINT64 = 13, TSO_DT_BFLOAT16 = 16
};

#define TSO_MAX_RANK 8

typedef struct tso_ctx tso_ctx;     /* error state and options */
typedef struct tso_model tso_model; /* a model: graph plus what ONNX carries around it */

/* Library version, as "major.minor.patch", and as a number. */
TSO_API const char *tso_version(void);
TSO_API int tso_version_number(void);
/* A fixed English string for a status value. */
TSO_API const char *tso_status_str(tso_status s);

/* Contexts. tso_errmsg never returns NULL. */
TSO_API tso_ctx *tso_ctx_create(void);
TSO_API void tso_ctx_free(tso_ctx *ctx);
TSO_API tso_status tso_errcode(const tso_ctx *ctx);
TSO_API const char *tso_errmsg(const tso_ctx *ctx);

/* ---- models ------------------------------------------------------------ */

/* Binds a symbolic input dimension before shapes are inferred. `spec` has
** the command-line form "input=1x3x224x224" (the whole shape of a graph
** input) or "dimname=8" (one named symbolic dimension everywhere). */
TSO_API tso_status tso_ctx_bind_shape(tso_ctx *ctx, const char *spec);

/* Loads an ONNX file (external data files are read from its folder).
** Operators outside the table become opaque nodes that are written back
** byte for byte; no model is refused for an unknown operator. */
TSO_API tso_status tso_model_load(tso_ctx *ctx, const char *path, tso_model **out);
/* The same from memory; external data, if any, is looked up in `dir`
** (may be NULL when there is none). */
TSO_API tso_status tso_model_load_buffer(tso_ctx *ctx, const void *buf, size_t len,
                                         const char *dir, tso_model **out);
/* Writes the model atomically: a temporary file in the same folder, then a
** rename; on failure no file is left behind and nothing is overwritten. */
TSO_API tso_status tso_model_save(tso_model *m, const char *path);
TSO_API void tso_model_free(tso_model *m);

typedef struct tso_model_stats {
  int nodes;           /* nodes in the graph */
  int opaque_nodes;    /* nodes of operators outside the table */
  int inputs, outputs; /* graph inputs (without initializers) and outputs */
  int initializers;    /* constant tensors */
  int symbolic_dims;   /* unbound symbolic dimensions of graph inputs */
} tso_model_stats;
TSO_API void tso_model_stats_get(const tso_model *m, tso_model_stats *st);

/* Warnings collected while loading, one per line (symbolic dimensions
** kept symbolic, table operators kept opaque and why), or "". */
TSO_API const char *tso_model_warnings(const tso_model *m);

/* Names of the opaque operator types in the model, "domain::type" or
** "type", each once, in order of first appearance. Valid until the model
** changes. Returns how many; *names may be NULL to just count. */
TSO_API int tso_model_opaque_types(tso_model *m, const char *const **names);

/* ---- building a graph by hand -------------------------------------------- */

/* An attribute, as in ONNX: exactly one of the value fields is used. */
typedef enum tso_attr_kind {
  TSO_ATTR_INT = 1, TSO_ATTR_FLOAT = 2, TSO_ATTR_STRING = 3,
  TSO_ATTR_INTS = 4, TSO_ATTR_FLOATS = 5
} tso_attr_kind;
typedef struct tso_attr {
  const char *name;
  tso_attr_kind kind;
  int64_t i;               /* TSO_ATTR_INT */
  float f;                 /* TSO_ATTR_FLOAT */
  const char *s;           /* TSO_ATTR_STRING (NUL-terminated) */
  int n;                   /* length of ints/floats */
  const int64_t *ints;     /* TSO_ATTR_INTS */
  const float *floats;     /* TSO_ATTR_FLOATS */
} tso_attr;

/* An empty model (ONNX opset `opset` of the default domain, 0 = current). */
TSO_API tso_status tso_model_create(tso_ctx *ctx, int opset, tso_model **out);
/* Declares a graph input; dims[i] < 0 is an unknown dimension. */
TSO_API tso_status tso_model_add_input(tso_model *m, const char *name, int dtype,
                                       int rank, const int64_t *dims);
/* Declares a constant tensor (an initializer); the data is copied. */
TSO_API tso_status tso_model_add_constant(tso_model *m, const char *name, int dtype,
                                          int rank, const int64_t *dims, const void *data,
                                          size_t nbytes);
/* Adds a node of ONNX type `op_type` (default domain). Empty input names
** are absent optional inputs. Output tensors are created. */
TSO_API tso_status tso_model_add_node(tso_model *m, const char *op_type, const char *const *inputs,
                                      int nin, const char *const *outputs, int nout,
                                      const tso_attr *attrs, int nattrs);
/* Marks a tensor as a graph output. */
TSO_API tso_status tso_model_add_output(tso_model *m, const char *name);

/* ---- running ------------------------------------------------------------ */

/* Evaluates the model with the float reference kernels. inputs[i] is the
** data of graph input i (in declaration order), outputs[j] receives graph
** output j (buffers of the right size, found with tso_model_tensor_shape). */
TSO_API tso_status tso_model_tensor_shape(tso_model *m, const char *name, int *dtype, int *rank,
                                          int64_t dims[TSO_MAX_RANK]);
TSO_API tso_status tso_model_eval(tso_model *m, const void *const *inputs, void *const *outputs);

/* ---- optimizing ---------------------------------------------------------- */

typedef struct tso_opt_options {
  uint64_t seed;   /* seed of the random inputs of the numerical check */
  double rtol;     /* relative tolerance of the check (0 = default 1e-3) */
  double atol;     /* absolute tolerance of the check (0 = default 1e-4) */
  int skip_check;  /* 1: do not run the numerical check (not recommended) */
  /* ---- the rule-based search (fields appended in 0.1; zero = default) ---- */
  const char *rules_path;  /* rule file (rules.bin, or its text form); NULL: no rule search */
  double alpha;            /* keep rewritten graphs cheaper than alpha x best (0 = default 1.05) */
  int budget;              /* graphs expanded at most (0 = default 1000; -1: no search) */
  double time_limit;       /* seconds for the search, 0 = no limit */
  const char *cost_db;     /* cost database file; NULL: an in-memory one (nothing kept) */
  const char *backend;     /* cost backend "onednn" or "analytic"; NULL: onednn when built with it */
  int no_fusion;           /* 1: skip the Conv+BatchNorm and MatMul+Add->Gemm passes */
  const unsigned char *disabled_rules; /* per rule id, 1 = never apply (NULL: all enabled) */
  int ndisabled_rules;     /* length of disabled_rules */
  /* ---- layouts (appended in 0.2) ---- */
  int no_layouts;          /* 1: keep every tensor in the default layout (no layout search) */
} tso_opt_options;

/* One rewrite applied on the way to the result. */
typedef struct tso_opt_step {
  int rule;                /* rule id (position in the rule file); -1 for a layout choice */
  const char *text;        /* the rule in text form (docs/rules-format.md) */
  double cost_before;      /* predicted cost of the graph before it, ms */
  double cost_after;       /* ... and after it */
} tso_opt_step;

typedef struct tso_opt_report {
  int nodes_before, nodes_after;
  int dead_removed;      /* nodes removed as dead */
  int noops_removed;     /* identity and no-op nodes removed */
  int check_run;         /* 1 when the numerical check compared outputs */
  int outputs_checked;   /* graph outputs compared */
  int outputs_unchecked; /* outputs the check could not evaluate (see check_note) */
  double max_abs_err, max_rel_err;
  uint64_t seed;
  char check_note[256];  /* why some outputs were not checked, or "" */
  /* ---- the rule-based search (fields appended in 0.1) ---- */
  int rules_loaded;      /* rules read from the rule file (0: no search) */
  int rules_used;        /* ... of which proven, hence used */
  char rules_note[256];  /* the rule file, or why there is none */
  char backend[32];      /* the cost backend used */
  double cost_before;    /* predicted cost of the input, ms */
  double cost_after;     /* predicted cost of the result (before lowering fused forms), ms */
  double search_cost_before, search_cost_after; /* the search's own figures (after the pre pass) */
  int64_t graphs_expanded, graphs_generated, graphs_kept, graphs_pruned_alpha, graphs_duplicates;
  int64_t matches_found, matches_refused; /* structural matches, and those refused by a check */
  int64_t ops_measured, ops_estimated;    /* operator instances timed / estimated during the search */
  int search_stopped_by; /* 0 nothing left to expand, 1 the budget, 2 the time limit */
  double search_seconds;
  int bn_folded;         /* Conv+BatchNormalization folds (pre pass) */
  int gemm_fused;        /* MatMul+Add -> Gemm fusions (post pass) */
  int prefolded;         /* constant nodes computed into initializers */
  int lowered;           /* nodes lowered to standard ONNX */
  int nsteps;            /* rewrites applied, in order */
  const tso_opt_step *steps; /* owned by the model; valid until it is optimized again or freed */
  int fallback;          /* 1: the search's result failed the check; a result that passes was written */
  int culprit_rule;      /* the rule blamed for a failed check, -1 if none */
  char fallback_note[256]; /* what was blamed and what was written instead, or "" */
  /* ---- layouts (appended in 0.2) ---- */
  int64_t layout_moves;  /* layout choices the search evaluated */
  int layout_steps;      /* ... of which on the path to the result (also in steps, rule -1) */
  int layouts_lowered;   /* operands rewritten to take a stored layout (Gemm transA/transB) */
  int matmuls_flattened; /* MatMuls of 3-D activations by 2-D weights made 2-D (pre pass) */
} tso_opt_report;

/* Fills `o` with the defaults. */
TSO_API void tso_opt_options_init(tso_opt_options *o);
/* Writes the model's graph as Graphviz (dot) to `path`: one box per node
** (operator and output shape), one ellipse per graph input and output;
** constants are left out. */
TSO_API tso_status tso_model_write_dot(tso_model *m, const char *path);
/* Optimizes the model in place: dead and no-op nodes are removed, the
** fusion pre pass runs, the rule-based search (when o->rules_path is set)
** rewrites the graph, the post pass, constant pre-folding and lowering to
** standard ONNX follow. The result is compared with the original on
** random inputs before it replaces it. When the search's result fails the
** check, the rewrite responsible is found by bisection over the applied
** rewrites, its rule is disabled and the search re-run (rep->fallback,
** rep->culprit_rule); if nothing with rewrites passes, the graph after the
** passes alone is used. Only when that fails too is the model left
** unchanged and TSO_ERR_MISMATCH returned. `rep` may be NULL. */
TSO_API tso_status tso_optimize(tso_model *m, const tso_opt_options *o, tso_opt_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* TASO_H */
