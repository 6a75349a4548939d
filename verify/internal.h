/*
** internal.h -- what the files of verify/ share and nobody else needs: the
** per-operator description of parameters (names in axiom texts, which
** words become Z3 integer arguments, defaults, validation domains) and a
** small splitmix64 generator. No Z3 here (see z3enc.h).
**
** The operator set itself comes from ops.def: an operator without a
** description below is still encoded (all its parameter words go into the
** function symbol's name); a description only names parameters.
*/
#ifndef TSO_VERIFY_INTERNAL_H
#define TSO_VERIFY_INTERNAL_H

#include <stdint.h>

#include "verify/verify.h"

/* One named parameter of an operator. */
typedef struct tsoV_Param {
  const char *name;            /* as written in axiom texts */
  int8_t word;                 /* word of tsoO_Params (the count word for lists) */
  uint8_t list;                /* 1: a list: count at `word`, elements from `word + 1` */
  uint8_t enc;                 /* 1: a Z3 integer argument; 0: part of the symbol's name */
  uint8_t dom;                 /* TSO_VD_* domain of a variable bound to it */
  int32_t def;                 /* default value */
  const char *const *enums;    /* value names (index = value), or NULL */
} tsoV_Param;

/* The named parameters of op, terminated by a NULL name (an empty list for
** operators without a description). */
const tsoV_Param *tsoV_params_of(int op);
/* Sets the described defaults of op into p (zeroed by the caller). */
void tsoV_params_default(int op, tsoO_Params *p);

/* splitmix64: next value of the state *s. */
static inline uint64_t tsoV_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline int tsoV_randint(uint64_t *s, int n) { return (int)(tsoV_rand(s) % (uint64_t)n); }

#endif /* TSO_VERIFY_INTERNAL_H */
