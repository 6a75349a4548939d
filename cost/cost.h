/*
** cost.h -- the cost model (internal API, prefix tsoC_): operator keys and
** their signatures, the backend interface, the measurement driver, the
** persistent cost database and the cost of a whole graph.
**
** Pieces:
**   key.c      a tsoC_Key describes one operator instance completely enough
**              to time it: operator, parameters, every input and output
**              (shape, element type, layout, whether it is a constant).
**              Its canonical byte signature (tsoC_Sig) and the XXH3 hash of
**              it identify the measurement; a readable text form goes to
**              reports and to `taso-cost dump`.
**   measure.c  the backend interface (supports / measure / run) and the
**              backend-independent measurement driver: warm-up, batches of
**              executions per sample, repeats until the estimate's
**              confidence interval is narrow or a time cap is reached, and
**              the outlier-proof estimator (a trimmed minimum: the median
**              of the three fastest samples). The keys of a model are measured
**              interleaved, so that each key's samples are spread over the
**              whole run instead of catching one instant of a machine
**              whose speed drifts.
**   analytic.c the roofline backend "analytic": FLOPs and bytes of an
**              operator against a peak FLOP rate and a memory bandwidth,
**              plus a fixed per-operator overhead; deterministic.
**   onednn.c   the backend "onednn" (built when oneDNN is found): real
**              times of oneDNN primitives on the CPU, one thread.
**   cuda*.cu   the backend "cuda" (built when the CUDA toolkit, cuDNN and
**              cuBLAS are found): times on an NVIDIA GPU of cuDNN, cuBLAS,
**              cuBLASLt calls and the project's own kernels, the fastest
**              implementation of each operator; and the GPU executor of
**              whole graphs. Its extras are in cost/cuda.h.
**   db.c       the SQLite cost database (schema below).
**   model.c    tsoC_graph_cost: the cost of a graph, node by node, from the
**              database, measuring what is missing and storing it.
**
** Invariants:
**   - a signature is a pure function of the key; every field that can
**     change an operator's run time is in the key, and nothing else (no
**     tensor names, no node ids, no data values);
**   - the database is keyed by (device, backend, backend version,
**     signature): a measurement is never used on another device, with
**     another library version, or for another operator instance;
**   - nothing here exits or aborts; errors are a status plus a message in
**     an `err` buffer of TSO_ERRMAX bytes (which may be NULL);
**   - a backend or database handle is used by one thread at a time (two
**     threads: two handles; a measuring backend also wants the machine
**     to itself while it measures).
**
** Database schema (version TSOC_DB_SCHEMA; PRAGMA application_id 'TSOC'):
**   taso_schema(version, writer)                    one row
**   contexts(id, device, backend, version)          UNIQUE(device, backend, version)
**   costs(ctx -> contexts.id, sig_hash, sig BLOB, sig_text, op,
**         ms, spread, min_ms, median_ms, repeats, batch, measured_at)
**         PRIMARY KEY(ctx, sig_hash, sig)
** The file is in WAL mode with a busy timeout, every write is one
** transaction, so concurrent writers on one machine both succeed and a
** killed process never leaves a damaged file. WAL needs a local file
** system: to share a database between machines, copy the file (or use
** `--cost-db` on each with a copy) rather than opening it over NFS.
*/
#ifndef TSO_COST_H
#define TSO_COST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graph/graph.h"
#include "layouts/layouts.h"

/* ---- keys and signatures --------------------------------------------- */

#define TSOC_MAX_IN 16   /* inputs of one key (a longer Concat is not keyed) */
#define TSOC_MAX_OUT 16  /* outputs of one key */
/* Version of the signature encoding, the first byte of every signature.
** Bump it when the meaning of a parameter field or of the encoding
** changes: old database rows then simply stop matching. */
#define TSOC_SIG_VERSION 1
#define TSOC_SIG_MAX 2560 /* bytes of the largest signature */
#define TSOC_TEXT_MAX 512 /* bytes of a signature's text form, with the NUL */

/* Tensor flags in a key. */
#define TSOC_T_ABSENT 0x01u /* an absent optional input */
#define TSOC_T_CONST  0x02u /* its value is known before run time (weights): may be pre-packed */

/* One input or output of a keyed operator. */
typedef struct tsoC_Tensor {
  int32_t dtype;      /* TSO_DT_*; 0 when absent */
  uint32_t flags;     /* TSOC_T_* */
  int32_t layout;     /* TSO_LAYOUT_* */
  tsoO_Shape shape;   /* fully known (keys are only made for known shapes) */
} tsoC_Tensor;

/* One operator instance, as far as its run time is concerned. Build it
** with tsoC_key_from_node, or by hand (zero it first; absent optional
** inputs have TSOC_T_ABSENT). */
typedef struct tsoC_Key {
  int32_t op;                      /* tsoO_Op */
  int32_t nin, nout;               /* counts of in[] and out[] used */
  tsoO_Params p;                   /* the node's parameters (zeroed where unused) */
  tsoC_Tensor in[TSOC_MAX_IN];     /* inputs */
  tsoC_Tensor out[TSOC_MAX_OUT];   /* outputs */
} tsoC_Key;

/* The canonical byte signature of a key and its 64-bit XXH3 hash. */
typedef struct tsoC_Sig {
  uint64_t hash;                   /* XXH3_64bits(b, n) */
  uint32_t n;                      /* bytes used */
  uint8_t b[TSOC_SIG_MAX];         /* little-endian encoding, see key.c */
} tsoC_Sig;

/* Fills *k for live node `node` of g (shapes inferred). `layouts`, indexed
** by tensor id, gives each tensor's layout (NULL: all default). Errors:
** TSO_ERR_SHAPE when a shape or type is unknown, TSO_ERR_LIMIT when the
** node has more inputs or outputs than a key holds, TSO_ERR_ARG for a bad
** node id or a layout that does not fit a tensor's rank. */
tso_status tsoC_key_from_node(const tsoI_Graph *g, int32_t node, const int32_t *layouts, tsoC_Key *k,
                              char *err);
/* Fills the outputs of a hand-made key (op, p, nin, in[] set) by shape
** inference; output layouts are left as they are. TSO_ERR_SHAPE when
** inference fails or needs input data. */
tso_status tsoC_key_infer(tsoC_Key *k, char *err);
/* A layout conversion: the key of an Identity from layout `from` to `to`
** of a tensor of shape s and element type dtype. */
void tsoC_key_conversion(tsoC_Key *k, const tsoO_Shape *s, int dtype, int from, int to);
/* The canonical signature of k. TSO_ERR_ARG if the key is malformed
** (counts, ranks, layouts out of range). */
tso_status tsoC_key_sig(const tsoC_Key *k, tsoC_Sig *s);
/* The readable form of k into buf (n bytes, truncated with "..."), e.g.
** "conv2d k3x3 s1 pSAME g1 in 1x64x56x56 w 64x64x3x3(c) NCHW f32".
** Returns buf. */
char *tsoC_key_text(const tsoC_Key *k, char *buf, size_t n);
/* Resolved pads of a conv/pool key for input sizes ih, iw and kernel kh,
** kw: pads[0..4) = top, left, bottom, right (SAME and VALID resolved, as
** ops/ does). */
void tsoC_win_pads(const tsoO_Params *p, int64_t ih, int64_t iw, int64_t kh, int64_t kw, int64_t pads[4]);
/* 1 when the operator moves no data at run time in a real runtime
** (reshapes, squeezes, inference Dropout, same-layout Identity, constants):
** its cost is 0 and it is never measured. */
int tsoC_key_is_free(const tsoC_Key *k);

/* ---- measurement ------------------------------------------------------ */

/* How measurements are taken (tsoC_measure_opts_init gives the defaults). */
typedef struct tsoC_MeasureOpts {
  int threads;          /* CPU threads of the library while measuring (default 1; 0: runtime default) */
  int min_repeats;      /* samples taken at least (default 10) */
  int max_repeats;      /* samples taken at most (default 200) */
  double warmup_ms;     /* warm-up time per key, at least 2 executions (default 5) */
  double sample_ms;     /* a sample runs the operator until this long (default 0.5) */
  double target_ci;     /* stop once the 95% CI half-width of the estimate is below this
                           fraction of it (default 0.02) */
  double max_ms;        /* time cap per key, warm-up included (default 1000) */
  double span_ms;       /* a key's samples cover at least this much wall time, when its time
                           cap allows (default 1000): slow drifts of the machine's speed are
                           sampled, not caught at one instant */
  int interleave;       /* at most this many keys measured interleaved (default 256) */
  double window_mb;     /* ... whose tensors take at most this many MiB (default 1024) */
  int plain_layouts;    /* 1: 4-D activations in the default layout are timed in plain NCHW;
                           0 (default): in the library's own blocked format, as runtimes built on
                           it keep them between operators (see onednn.c) */
  uint64_t seed;        /* seed of the random input data (default fixed) */
  int gpu_math;         /* cuda backend: TSOC_MATH_* of cost/cuda.h (default 0, strict float32); part of
                           its version string */
} tsoC_MeasureOpts;

/* The defaults. */
void tsoC_measure_opts_init(tsoC_MeasureOpts *o);

/* One stored measurement. */
typedef struct tsoC_Entry {
  double ms;            /* the cost: median of the 3 fastest samples, ms per execution */
  double spread;        /* relative half-width of the 95% confidence interval of ms */
  double min_ms;        /* fastest sample */
  double median_ms;     /* median of all samples */
  int32_t repeats;      /* samples taken */
  int32_t batch;        /* executions per sample */
  int64_t measured_at;  /* unix time of the measurement */
} tsoC_Entry;

typedef struct tsoC_Backend tsoC_Backend;
typedef struct tsoC_Prepared tsoC_Prepared; /* defined by each measuring backend */

/* The functions of a backend. A measuring backend fills prepare, sample
** and release (the driver in measure.c does the rest); a model-based one
** fills estimate instead. run may be NULL. */
typedef struct tsoC_BackendVt {
  const char *name;     /* "onednn", "analytic", ... (stored in the database) */
  /* 1 if the backend can time k; else 0 and a reason in why (TSO_ERRMAX, may be NULL). */
  int (*supports)(tsoC_Backend *be, const tsoC_Key *k, char *why);
  /* Model-based backends: the estimated time of k. */
  tso_status (*estimate)(tsoC_Backend *be, const tsoC_Key *k, double *ms, char *err);
  /* Measuring backends: builds what executing k needs (primitive, buffers
  ** filled with random data once); *pp is released with release(). */
  tso_status (*prepare)(tsoC_Backend *be, const tsoC_Key *k, tsoC_Prepared **pp, char *err);
  /* Executes the prepared operator reps times back to back and waits for
  ** the end; *seconds is the wall time of the whole batch. */
  tso_status (*sample)(tsoC_Backend *be, tsoC_Prepared *pp, int reps, double *seconds, char *err);
  void (*release)(tsoC_Backend *be, tsoC_Prepared *pp);
  /* Executes k once on caller data: in[i] and out[j] are dense buffers in
  ** the key's layouts (NULL for absent inputs). Used to prove that the
  ** timed primitive computes the operator. */
  tso_status (*run)(tsoC_Backend *be, const tsoC_Key *k, const void *const *in, void *const *out, char *err);
  void (*destroy)(tsoC_Backend *be);
} tsoC_BackendVt;

/* The common head of every backend (each backend's struct starts with it). */
struct tsoC_Backend {
  const tsoC_BackendVt *vt;
  char device[256];      /* what it runs on, e.g. "AMD EPYC (family 25 model 1 stepping 1), 2 cpus, avx2 fma" */
  char version[256];     /* library and method versions; part of the database key */
  tsoC_MeasureOpts mo;   /* measurement options */
};

/* The analytic roofline's machine constants (tsoC_roofline_init: defaults). */
typedef struct tsoC_Roofline {
  double peak_gflops;   /* sustained FLOP rate, 1e9 FLOP/s (default 96: one AVX2 FMA core, see analytic.c) */
  double mem_gbs;       /* sustained bandwidth, 1e9 B/s (default 40: one core, mostly cache-resident data) */
  double overhead_us;   /* fixed cost of launching one operator, microseconds (default 2) */
} tsoC_Roofline;
void tsoC_roofline_init(tsoC_Roofline *r);
/* FLOPs and bytes moved by k as the analytic model counts them. */
void tsoC_analytic_counts(const tsoC_Key *k, double *flops, double *bytes);

/* The analytic backend (r NULL: defaults). NULL only on allocation failure. */
tsoC_Backend *tsoC_analytic_create(const tsoC_Roofline *r);
/* The oneDNN CPU backend (o NULL: defaults). NULL with TSO_ERR_UNSUPPORTED
** in err when the library was built without oneDNN or no CPU engine can
** be created. */
tsoC_Backend *tsoC_onednn_create(const tsoC_MeasureOpts *o, char *err);
/* The CUDA backend on GPU 0 (o NULL: defaults; o->gpu_math picks the math
** mode). NULL with TSO_ERR_UNSUPPORTED in err when the library was built
** without CUDA, or when there is no usable GPU: "no CUDA GPU found
** (cudaGetDeviceCount: ...)". Never aborts. */
tsoC_Backend *tsoC_cuda_create(const tsoC_MeasureOpts *o, char *err);
/* A backend by name, with default options: "onednn", "analytic", "cuda",
** or "cuda:MATH" with MATH one of fp32, tf32, fp16, bf16 (cost/cuda.h). */
tsoC_Backend *tsoC_backend_create(const char *name, char *err);
/* 1 when the library was built with oneDNN. */
int tsoC_have_onednn(void);
/* 1 when the library was built with the CUDA backend (see cost/cuda.h for
** tsoC_cuda_probe, which says whether a GPU is there). */
int tsoC_have_cuda(void);
/* Frees a backend; NULL is fine. */
void tsoC_backend_free(tsoC_Backend *be);
const char *tsoC_backend_name(const tsoC_Backend *be);
/* Replaces the device string (tests; a fleet whose machines are known to
** be identical though /proc/cpuinfo differs in details). */
void tsoC_backend_set_device(tsoC_Backend *be, const char *device);
int tsoC_backend_supports(tsoC_Backend *be, const tsoC_Key *k, char *why);
/* Measures (or estimates) one key; st (may be NULL) gets the statistics. */
tso_status tsoC_backend_measure(tsoC_Backend *be, const tsoC_Key *k, tsoC_Entry *st, char *err);
/* See tsoC_BackendVt.run; TSO_ERR_UNSUPPORTED when the backend has none. */
tso_status tsoC_backend_run(tsoC_Backend *be, const tsoC_Key *k, const void *const *in, void *const *out,
                            char *err);

/* The result of measuring one key of a batch. */
typedef struct tsoC_Result {
  tso_status st;          /* TSO_OK, or why it has no entry */
  tsoC_Entry e;           /* when st == TSO_OK */
  char err[TSO_ERRMAX];   /* when st != TSO_OK */
} tsoC_Result;
/* Measures n keys, interleaved round-robin in windows (see measure.c).
** deadline: CLOCK_MONOTONIC seconds after which unfinished keys stop
** (those with too few samples get TSO_ERR_LIMIT); 0 for none. done (may
** be NULL) is called as each key finishes, with its index and result, so
** that the caller can store results while the others are still measured.
** Returns TSO_OK when it ran (each key has its own status in res[]), else
** a failure that concerns the whole batch. */
tso_status tsoC_measure_batch(tsoC_Backend *be, const tsoC_Key *keys, int n, double deadline, tsoC_Result *res,
                              void (*done)(void *ud, int i, const tsoC_Result *r), void *ud, char *err);
/* Bytes of the tensors of k (inputs and outputs), a measure of what
** preparing it allocates. */
double tsoC_key_bytes(const tsoC_Key *k);
/* The estimator (see measure.c), exposed for tests: from n samples (sorted
** in place), fills e->ms, spread, min_ms, median_ms and repeats. */
void tsoC_estimate(double *samples, int n, tsoC_Entry *e);

/* Device description of this CPU: model, family/model/stepping, online
** CPUs and the vector ISA flags ("unknown cpu" when /proc/cpuinfo cannot
** be read). */
void tsoC_cpu_device(char *buf, size_t n);
/* CLOCK_MONOTONIC in seconds. */
double tsoC_now(void);

/* ---- the database ------------------------------------------------------ */

#define TSOC_DB_SCHEMA 1          /* schema version written by this code */
#define TSOC_DB_APPID 0x54534F43  /* PRAGMA application_id: 'TSOC' */
#define TSOC_DB_READONLY 0x1      /* open flag: never write, never create */

typedef struct tsoC_Db tsoC_Db;

/* Opens (creating when missing, unless TSOC_DB_READONLY) the database at
** path; NULL or ":memory:" is a private in-memory database. Errors:
** TSO_ERR_IO (cannot open, locked too long), TSO_ERR_INVALID (not a taso
** cost database), TSO_ERR_UNSUPPORTED (written by a newer schema). */
tso_status tsoC_db_open(const char *path, int flags, tsoC_Db **out, char *err);
/* Closes; NULL is fine. */
void tsoC_db_close(tsoC_Db *db);
/* Looks the key's signature up for backend be (its name, device and
** version). *found is 1 with *e filled, or 0. */
tso_status tsoC_db_get(tsoC_Db *db, const tsoC_Backend *be, const tsoC_Sig *sig, tsoC_Entry *e, int *found,
                       char *err);
/* Stores n measurements in one transaction (replacing rows of the same
** key). keys[i] gives each signature and its text. */
tso_status tsoC_db_put(tsoC_Db *db, const tsoC_Backend *be, int n, const tsoC_Key *keys, const tsoC_Entry *e,
                       char *err);

/* One row as tsoC_db_foreach hands it over (strings valid during the call). */
typedef struct tsoC_DbRow {
  const char *device, *backend, *version; /* the context */
  const char *op, *sig_text;
  uint64_t sig_hash;
  tsoC_Entry e;
} tsoC_DbRow;
/* Calls fn for every row, ordered by context, operator and text; fn
** returns non-zero to stop. */
tso_status tsoC_db_foreach(tsoC_Db *db, int (*fn)(void *ud, const tsoC_DbRow *row), void *ud, char *err);
/* The schema version of the open file. */
int tsoC_db_schema(const tsoC_Db *db);
/* Test hook: called after each row written inside a transaction (tests
** use it to kill a writer mid-transaction). */
void tsoC_db_set_test_hook(tsoC_Db *db, void (*hook)(void *ud, int row), void *ud);

/* ---- graph costs --------------------------------------------------------- */

/* Where a node's cost came from. */
enum {
  TSOC_SRC_NONE = 0,      /* not costed: opaque operator or unknown shapes (ms 0) */
  TSOC_SRC_CACHED = 1,    /* from the database */
  TSOC_SRC_MEASURED = 2,  /* measured now (and stored) */
  TSOC_SRC_ANALYTIC = 3,  /* the roofline estimate (the backend lacks the operator, or the budget ran out) */
  TSOC_SRC_FREE = 4       /* moves no data at run time (ms 0) */
};
const char *tsoC_source_name(int src);

typedef struct tsoC_NodeCost {
  double ms;              /* cost of the node */
  int32_t source;         /* TSOC_SRC_* */
  int32_t repeats;        /* samples behind ms (0 unless measured or cached) */
  double spread;          /* relative CI half-width of ms (0 unless measured or cached) */
  uint64_t sig_hash;      /* the key's hash (0 when the node could not be keyed) */
  char why[120];          /* why the source is NONE or ANALYTIC, or "" */
} tsoC_NodeCost;

typedef struct tsoC_GraphOpts {
  double budget_s;        /* measuring time allowed in this call, seconds; 0: no limit */
  int remeasure;          /* 1: measure even what the database has (and replace it) */
  int no_store;           /* 1: do not write measurements to the database */
  const int32_t *layouts; /* per tensor id, or NULL (all default) */
  tsoC_Backend *fallback; /* estimates what be cannot measure; NULL: analytic defaults */
  /* Called as measurements finish (may be NULL). */
  void (*progress)(void *ud, int done, int total);
  void *ud;
} tsoC_GraphOpts;

/* The cost of g (shapes inferred) on backend be: each live node's cost is
** looked up in db (may be NULL: an in-memory one is used for the call),
** what is missing is measured (within o->budget_s) and stored, nodes the
** backend does not support are estimated by the fallback and flagged.
** Identical operator instances are measured once. *total_ms is the sum.
** per_node (capacity g->nn, may be NULL) is indexed by node id; dead
** nodes get TSOC_SRC_NONE and 0. o may be NULL. */
tso_status tsoC_graph_cost(tsoI_Graph *g, tsoC_Backend *be, tsoC_Db *db, const tsoC_GraphOpts *o,
                           double *total_ms, tsoC_NodeCost *per_node, char *err);

#endif /* TSO_COST_H */
