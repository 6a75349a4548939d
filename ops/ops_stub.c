/* TEMPORARY during bring-up: weak definitions of every per-operator
** function so the library links while the operator files are written. */
#include "ops.h"
#define STUB(en) \
  __attribute__((weak)) tso_status tsoO_parse_##en(tsoO_Params *p, const tsoO_Attr *a, int na, int ni, int no, int os, char *e) { (void)p; (void)a; (void)na; (void)ni; (void)no; (void)os; return tsoO_fail(e, TSO_ERR_UNSUPPORTED, "not implemented"); } \
  __attribute__((weak)) tso_status tsoO_emit_##en(const tsoO_Params *p, int os, tsoO_AttrSet *o) { (void)p; (void)os; (void)o; return TSO_ERR_UNSUPPORTED; } \
  __attribute__((weak)) tso_status tsoO_infer_##en(const tsoO_Params *p, int ni, const tsoO_Value *i, int no, tsoO_Value *o, char *e) { (void)p; (void)ni; (void)i; (void)no; (void)o; return tsoO_fail(e, TSO_ERR_UNSUPPORTED, "not implemented"); } \
  __attribute__((weak)) tso_status tsoO_eval_##en(const tsoO_Params *p, int ni, const tsoO_Value *i, int no, tsoO_Value *o, char *e) { (void)p; (void)ni; (void)i; (void)no; (void)o; return tsoO_fail(e, TSO_ERR_UNSUPPORTED, "not implemented"); }
#define X(id, en, nm, ox, a, b, c, d, fl) STUB(en)
#include "ops.def"
#undef X
