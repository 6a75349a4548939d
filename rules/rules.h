/*
** rules.h -- graph substitution rules: the in-memory form shared by the
** generator (which finds candidates), the verifier (which proves them), the
** rule file reader/writer and, later, the optimizer's matcher.
**
** A rule says: wherever the source pattern computes some values from some
** inputs, the target pattern computes the same values from the same
** inputs. Both patterns are small graphs in SSA form over the rule's
** pattern inputs x0..x(nin-1):
**   - a pattern op reads refs: a pattern input, or output `slot` of an
**     earlier op of the same pattern (ops are in topological order);
**   - the pattern's outputs are refs; src.out[i] and dst.out[i] are the
**     same value (the output mapping is positional).
** Every struct here is plain, fixed-size and fully zeroed before it is
** filled, so rules can be hashed and compared byte-wise.
**
** Stable on disk (see docs/rules-format.md): op ids come from ops.def;
** nothing here is renumbered.
*/
#ifndef TSO_RULES_H
#define TSO_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ops/ops.h"

#define TSO_RULE_MAX_OPS 6  /* ops per pattern */
#define TSO_RULE_MAX_IN 8   /* pattern inputs per rule */
#define TSO_RULE_MAX_OUT 4  /* outputs per pattern */
#define TSO_RULE_MAX_OPIN 4 /* inputs per pattern op */

/* A value a pattern op reads or a pattern outputs. */
enum { TSO_REF_NONE = 0, TSO_REF_INPUT = 1, TSO_REF_OP = 2 };
typedef struct tsoR_Ref {
  uint8_t kind;  /* TSO_REF_* */
  uint8_t idx;   /* input number, or op index in the pattern */
  uint8_t slot;  /* output slot of the op (0 for inputs) */
  uint8_t pad_;  /* zero */
} tsoR_Ref;

typedef struct tsoR_Op {
  uint16_t op;                      /* tsoO_Op */
  uint8_t nin, nout;                /* arities */
  tsoR_Ref in[TSO_RULE_MAX_OPIN];   /* inputs */
  tsoO_Params p;                    /* parameters, zeroed where unused */
} tsoR_Op;

typedef struct tsoR_Pattern {
  uint8_t nops, nout;               /* ops used, outputs used */
  uint8_t pad_[2];                  /* zero */
  tsoR_Op ops[TSO_RULE_MAX_OPS];
  tsoR_Ref out[TSO_RULE_MAX_OUT];
} tsoR_Pattern;

/* Kinds of pattern inputs. A kind byte holds two fields:
**   bits 0..2  the input's role (TSO_IN_*): what the generator made it as;
**   bits 3..7  a subclass, 0..31 (TSO_IN_MAX_SUB).
** The whole kind byte with the rank is the input's shape class: inputs of
** one class (equal kind byte and equal rank) have equal shapes wherever the
** rule is applied (and wherever it is checked on random shapes); inputs of
** different classes may have any shapes that make both patterns
** well-formed with outputs of equal shapes (the matcher checks both). This
** is what makes rules such as "split in halves after concat" sound: the
** halves are the concatenated inputs only when those have equal shapes.
**
** The generator makes every input of one role subclass 0 (all its inputs
** of one role have one shape). The verifier then refines: it splits a
** class where the rule is still proven with the parts' shapes independent
** (x0, x1, x2 all matrices in "x0 @ x1, x0 @ x2 => split(x0 @ [x1 | x2])"
** become {x0} and {x1, x2}). Subclasses are numbered per role and rank in
** order of first use, from 0, so an unrefined rule keeps its bytes. */
enum {
  TSO_IN_ANY = 0,
  TSO_IN_MATRIX = 1,     /* 2-D activation or weight */
  TSO_IN_ACT4 = 2,       /* 4-D activation (NCHW) */
  TSO_IN_KERNEL = 3,     /* conv kernel [M, C, kh, kw] */
  TSO_IN_SCALAR = 4      /* rank-0 tensor */
};
#define TSO_IN_ROLE_BITS 3 /* low bits of a kind byte: the role */
#define TSO_IN_MAX_SUB 31  /* largest subclass */

/* The role and the subclass of a kind byte, and the kind byte of both. */
static inline int tsoR_in_role(uint8_t kind) { return kind & ((1 << TSO_IN_ROLE_BITS) - 1); }
static inline int tsoR_in_sub(uint8_t kind) { return kind >> TSO_IN_ROLE_BITS; }
static inline uint8_t tsoR_in_kind(int role, int sub) { return (uint8_t)(role | sub << TSO_IN_ROLE_BITS); }

/* Verification status of a rule. */
enum { TSO_RULE_CANDIDATE = 0, TSO_RULE_PROVEN = 1, TSO_RULE_REFUTED = 2, TSO_RULE_UNKNOWN = 3 };

typedef struct tsoR_Rule {
  uint32_t id;                      /* position in its file, 0-based */
  uint8_t nin;                      /* pattern inputs */
  uint8_t status;                   /* TSO_RULE_* */
  uint8_t in_kind[TSO_RULE_MAX_IN]; /* kind byte of each input: role | subclass << 3 */
  uint8_t in_rank[TSO_RULE_MAX_IN]; /* rank of each input */
  uint8_t pad_[2];                  /* zero */
  tsoR_Pattern src, dst;            /* dst.out[i] equals src.out[i] */
} tsoR_Rule;

/* Provenance of a rule file: how its rules were made. */
typedef struct tsoR_Provenance {
  char tool[32];                    /* "taso-gen 0.1.0", "taso-verify 0.1.0" */
  char options[256];                /* command-line options that matter */
  uint64_t seed;                    /* random seed */
  uint64_t counts[8];               /* tool-specific counts (documented in rules-format.md) */
  double seconds;                   /* wall time of the run */
} tsoR_Provenance;

/* A set of rules, as read from or written to a rule file. */
typedef struct tsoR_Set {
  tsoR_Rule *r;                     /* malloc'd array */
  uint32_t n, cap;
  tsoR_Provenance prov;
} tsoR_Set;

/* ---- sets ---- */
/* Appends a copy of r (its id is set to its position). */
tso_status tsoR_set_add(tsoR_Set *s, const tsoR_Rule *r);
/* Frees the rules; the set is empty afterwards (a zeroed set is empty). */
void tsoR_set_free(tsoR_Set *s);

/* ---- checks ---- */
/* Well-formedness of one rule: input roles known (any subclass) and ranks
** in range, refs in range and in topological order, arities within the
** operator table, outputs equal in number, every pattern input used by at
** least one side. TSO_OK or TSO_ERR_INVALID. */
tso_status tsoR_check(const tsoR_Rule *r, char *err);

/* ---- binary rule files (docs/rules-format.md) ---- */
/* Serializes deterministically (same set -> same bytes). */
tso_status tsoR_serialize(const tsoR_Set *s, uint8_t **buf, size_t *len, char *err);
/* Parses a rule file from memory; every failure has its own message
** (bad magic, version, operator-set hash, truncated, checksum, ...). */
tso_status tsoR_parse(const void *buf, size_t len, tsoR_Set *s, char *err);
/* Writes atomically (temporary file + rename). */
tso_status tsoR_write(const tsoR_Set *s, const char *path, char *err);
tso_status tsoR_read(const char *path, tsoR_Set *s, char *err);

/* ---- text form: one rule per line ---- */
/* Formats rule r as one line (no newline) into buf. */
tso_status tsoR_format(const tsoR_Rule *r, char *buf, size_t n);
/* Parses a line written by tsoR_format back into r (and checks it). */
tso_status tsoR_parse_text(const char *line, tsoR_Rule *r, char *err);
/* Writes the whole set as text: a provenance header block, one rule per line. */
tso_status tsoR_write_text(const tsoR_Set *s, FILE *f, char *err);
/* Parses what tsoR_write_text wrote back into a set. */
tso_status tsoR_parse_text_set(const char *text, size_t len, tsoR_Set *s, char *err);

/* ---- instantiation ---- */
struct tsoI_Graph;
/* Builds side (0 = src, 1 = dst) of r as a graph whose inputs are the
** pattern inputs with the given shapes (float32) and whose outputs are
** the pattern outputs, and infers shapes. TSO_ERR_SHAPE if the pattern is
** not well-formed for these shapes. */
tso_status tsoR_instantiate(const tsoR_Rule *r, int side, const tsoO_Shape *in_shapes,
                            struct tsoI_Graph **out, char *err);

#endif /* TSO_RULES_H */
