/*
** cuda.h -- the CUDA part of the cost model (internal API, prefix tsoC_):
** whether a GPU is there, the backend's extras (which implementation of
** an operator was chosen, running one implementation by name), the host
** emulation used by tests, and the GPU executor that runs a whole graph.
**
** tsoC_have_cuda and tsoC_cuda_probe link in every build (without the
** CUDA toolkit they say "this taso was built without CUDA ..."); the rest
** exists only where TASO_HAVE_CUDA is defined (the .cu files are built).
** The header includes only the public taso.h, so that programs that use
** nothing else of the internal API (taso-opt) can ask for a GPU.
**
** Invariants:
**   - nothing here aborts or exits: no GPU, no driver, a driver older
**     than the runtime are all a status and a message;
**   - the tsoC_Backend handed to these functions must come from
**     tsoC_cuda_create (checked: TSO_ERR_ARG otherwise);
**   - an executor, like its backend, is used by one thread at a time.
*/
#ifndef TSO_COST_CUDA_H
#define TSO_COST_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "taso/taso.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tsoC_Backend;
struct tsoC_Key;
struct tsoI_Graph;

/* 1 when this taso was built with the CUDA backend (toolkit, cuDNN and
** cuBLAS found at configure time). */
int tsoC_have_cuda(void);

/* 1 when a CUDA GPU can be used now; else 0 and one line in msg (n bytes)
** saying why, e.g. "no CUDA GPU found (cudaGetDeviceCount: CUDA driver
** version is insufficient for CUDA runtime version)". Cheap after the
** first call. With a GPU, msg gets the device's name. */
int tsoC_cuda_probe(char *msg, size_t n);

/* Math of the library calls (cuDNN convolutions, cuBLAS/cuBLASLt
** products). Tensors are float32 in every mode; the modes below fp32 let
** the libraries use tensor cores on down-converted inputs. */
enum {
  TSOC_MATH_FP32 = 0, /* strict float32 (FMA) arithmetic: the default */
  TSOC_MATH_TF32 = 1, /* TF32 tensor cores */
  TSOC_MATH_FP16 = 2, /* inputs down-converted to float16 for tensor cores */
  TSOC_MATH_BF16 = 3  /* inputs down-converted to bfloat16 (matrix products; convolutions use TF32) */
};
/* "fp32", "tf32", "fp16", "bf16" ("?" for anything else). */
static inline const char *tsoC_math_name(int math) {
  static const char *const names[] = {"fp32", "tf32", "fp16", "bf16"};
  return math >= 0 && math <= TSOC_MATH_BF16 ? names[math] : "?";
}
/* The math of a name (above), or -1. */
static inline int tsoC_math_parse(const char *name) {
  for (int m = 0; name && m <= TSOC_MATH_BF16; m++) {
    const char *a = tsoC_math_name(m), *b = name;
    while (*a && *a == *b) a++, b++;
    if (!*a && !*b) return m;
  }
  return -1;
}

/* ---- the backend's choices (TASO_HAVE_CUDA only) --------------------------- */

#define TSOC_IMPL_MAX 48 /* bytes of an implementation name, with the NUL */
#define TSOC_IMPLS_MAX 32 /* implementations of one operator instance, at most */

/* The implementations the backend has for k, e.g. "cudnn:implicit_precomp_gemm+fused",
** "cublaslt:2", "kernel"; *n gets the count (0 when k is not supported, with
** the reason in err). names may be NULL to count only. */
tso_status tsoC_cuda_impls(struct tsoC_Backend *be, const struct tsoC_Key *k, char names[][TSOC_IMPL_MAX], int *n,
                           char *err);
/* The implementation chosen for k (timed against the others once, then
** remembered by the backend for its lifetime), into buf. The choice is
** made on random data when it was not made yet. */
tso_status tsoC_cuda_choice(struct tsoC_Backend *be, const struct tsoC_Key *k, char *buf, size_t n, char *err);
/* Like tsoC_backend_run (dense host buffers in the key's layouts) with
** implementation `impl` (a name from tsoC_cuda_impls). TSO_ERR_UNSUPPORTED
** when that implementation refuses this instance. */
tso_status tsoC_cuda_run_impl(struct tsoC_Backend *be, const struct tsoC_Key *k, const char *impl,
                              const void *const *in, void *const *out, char *err);

/* Runs k on the host with the same plans as the GPU path: the project's
** own kernels execute their per-element code on the CPU, and the library
** calls (cuBLAS/cuBLASLt matrix products, cuDNN convolutions) are replaced
** by plain loops that follow the libraries' documented semantics for the
** exact arguments the GPU path would pass (geometry, transposes, leading
** dimensions, batch strides, padding). impl: NULL for every emulated
** implementation in turn (all must agree; the first result is kept), or a
** name. Needs no GPU: tests check the index arithmetic with it. Operators
** whose only implementation is a library call the emulation does not
** model (cuDNN pooling, activations, softmax, batch normalization) run
** their own-kernel implementation. TSO_ERR_UNSUPPORTED when k is not
** supported. */
tso_status tsoC_cuda_emulate(const struct tsoC_Key *k, const char *impl, const void *const *in, void *const *out,
                             char *err);

/* ---- the executor (TASO_HAVE_CUDA only) ------------------------------------ */

typedef struct tsoC_CudaExec tsoC_CudaExec;

typedef struct tsoC_ExecStats {
  int nodes;          /* live nodes */
  int gpu_nodes;      /* run on the GPU with the backend's implementations */
  int host_nodes;     /* run on the host with the reference kernels (copies both ways) */
  int free_nodes;     /* no data movement: outputs alias their input */
  int const_nodes;    /* outputs known before run time: uploaded once */
  int buffers;        /* device buffers of the activations */
  double act_bytes;   /* bytes of those buffers (memory planning by liveness) */
  double naive_bytes; /* bytes one buffer per activation would take */
  double const_bytes; /* bytes of the constants on the device */
  char host_ops[128]; /* the operators run on the host, e.g. "pad, slice" ("" when none) */
} tsoC_ExecStats;

/* Prepares g (shapes inferred and fully known) for the GPU of backend be:
** every operator instance gets the backend's implementation (the same
** choice the backend's measurements used), constants are uploaded, and
** every activation gets its place in buffers allocated once, reused by
** liveness. Operators the backend does not run go to the host reference
** kernels; opaque operators are an error (TSO_ERR_UNSUPPORTED). */
tso_status tsoC_cuda_exec_create(struct tsoC_Backend *be, struct tsoI_Graph *g, tsoC_CudaExec **out, char *err);
/* The same executor on the host emulation (tsoC_cuda_emulate's plans,
** host memory, no GPU): what tests use to check the plan -- classification,
** aliases, liveness reuse, host nodes -- on machines without a GPU. Its
** timings are the host's and mean nothing. */
tso_status tsoC_cuda_exec_create_emulated(struct tsoI_Graph *g, tsoC_CudaExec **out, char *err);
void tsoC_cuda_exec_free(tsoC_CudaExec *x);
/* Copies graph input i (position in g->inputs) from the host: nbytes must
** be its size. */
tso_status tsoC_cuda_exec_set_input(tsoC_CudaExec *x, int i, const void *data, size_t nbytes, char *err);
/* Runs the graph once and waits for the end. */
tso_status tsoC_cuda_exec_run(tsoC_CudaExec *x, char *err);
/* Runs warmup times untimed, then runs times, each timed with CUDA events
** from the first launch to the end of the last operator; *median_ms and
** *min_ms (either may be NULL) get the median and the fastest run. */
tso_status tsoC_cuda_exec_time(tsoC_CudaExec *x, int warmup, int runs, double *median_ms, double *min_ms, char *err);
/* Copies graph output j (position in g->outputs) to the host. */
tso_status tsoC_cuda_exec_get_output(tsoC_CudaExec *x, int j, void *data, size_t nbytes, char *err);
void tsoC_cuda_exec_stats(const tsoC_CudaExec *x, tsoC_ExecStats *st);
/* The implementation node `node` runs with ("host", "alias", "const", or a
** backend implementation name); "" for a dead node. */
const char *tsoC_cuda_exec_impl(const tsoC_CudaExec *x, int32_t node);

#ifdef __cplusplus
}
#endif
#endif /* TSO_COST_CUDA_H */
