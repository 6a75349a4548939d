/*
** testhook.h -- a hook that lets a test reach a path of tso_optimize that
** a correct optimizer never takes: a result that fails the numerical check
** even with no rewrite applied (TSO_ERR_MISMATCH, nothing changed).
** Internal (prefix tsoA_): not in taso.h and hidden in libtaso.so; only
** tests that link the library's objects (taso_internal) can set it.
*/
#ifndef TSO_API_TESTHOOK_H
#define TSO_API_TESTHOOK_H

#include "graph/graph.h"

/* When set, called on every candidate result of tso_optimize just before
** it is compared with the original: the search's result, each candidate
** of a bisection, and the passes-only fallback. A hook that changes what
** the candidate computes makes every check fail, so tso_optimize returns
** TSO_ERR_MISMATCH and leaves the model as it was. NULL (the default) in
** normal use; not thread-safe: set it only while no tso_optimize runs. */
extern void (*tsoA_test_perturb)(tsoI_Graph *candidate);

#endif /* TSO_API_TESTHOOK_H */
