/*
** file.c -- the binary rule file (docs/rules-format.md): serialize, parse,
** atomic write, read.
**
** Every field is written explicitly, little-endian, whatever the host; no
** struct is ever copied to or from the file, so padding and host layout
** never leak. The encoding is canonical: parse() accepts only bytes that
** serialize() would write for the set it returns, so a file that reads
** back is rewritten byte for byte, and the same set always gives the same
** bytes. The reader trusts nothing: every count is checked against the
** bytes left before it is used, and every failure has its own message.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "rules.h"
#include "util/fileio.h"

#define FMT_VERSION 1u
#define HEADER_SIZE 44u                    /* bytes before the provenance */
#define SUM_SIZE 8u                        /* the XXH64 at the end */
#define MIN_RULE_SIZE 6u                   /* status, nin, and two empty patterns */
#define MAX_RULES ((uint32_t)1 << 22)      /* refused above this, whatever the file size */
#define MAX_FILE ((uint64_t)1 << 32)       /* 4 GiB: larger files are refused by tsoR_read */
#define INT_SENTINEL 0x12345678u
#define FLT_SENTINEL 370.5

static const unsigned char MAGIC[8] = {0x89, 'T', 'S', 'R', '\r', '\n', 0x1a, '\n'};

/* ---- writing --------------------------------------------------------- */

/* A growable output buffer; `bad` is set once an allocation failed. */
typedef struct Out {
  uint8_t *b;
  size_t n, cap;
  int bad;
} Out;

static void put(Out *o, const void *p, size_t n) {
  if (o->bad) return;
  if (o->cap - o->n < n) {
    size_t cap = o->cap ? o->cap : 4096;
    while (cap - o->n < n) cap *= 2;
    uint8_t *nb = realloc(o->b, cap);
    if (!nb) {
      o->bad = 1;
      return;
    }
    o->b = nb;
    o->cap = cap;
  }
  if (n) memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void put_u8(Out *o, unsigned v) {
  uint8_t b = (uint8_t)v;
  put(o, &b, 1);
}

static void put_u16(Out *o, unsigned v) {
  uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  put(o, b, 2);
}

static void put_u32(Out *o, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
  put(o, b, 4);
}

static void put_u64(Out *o, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  put(o, b, 8);
}

/* Stores v little-endian at b. */
static void store_u64(uint8_t *b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t dbl_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double bits_dbl(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static void put_ref(Out *o, const tsoR_Ref *f) {
  put_u8(o, f->kind);
  put_u8(o, f->idx);
  put_u8(o, f->slot);
}

/* Parameters: a mask of the non-zero int32 words, then those words. */
static void put_params(Out *o, const tsoO_Params *p) {
  uint32_t mask = 0;
  for (int k = 0; k < 32; k++)
    if (p->raw[k]) mask |= 1u << k;
  put_u32(o, mask);
  for (int k = 0; k < 32; k++)
    if (p->raw[k]) put_u32(o, (uint32_t)p->raw[k]);
}

static void put_pattern(Out *o, const tsoR_Pattern *pt) {
  put_u8(o, pt->nops);
  put_u8(o, pt->nout);
  for (int k = 0; k < pt->nops; k++) {
    const tsoR_Op *op = &pt->ops[k];
    put_u16(o, op->op);
    put_u8(o, op->nin);
    put_u8(o, op->nout);
    for (int i = 0; i < op->nin; i++) put_ref(o, &op->in[i]);
    put_params(o, &op->p);
  }
  for (int i = 0; i < pt->nout; i++) put_ref(o, &pt->out[i]);
}

/* Length of the C string in a field of n bytes, or -1 if it has no NUL. */
static int field_len(const char *s, size_t n) {
  const char *z = memchr(s, 0, n);
  return z ? (int)(z - s) : -1;
}

tso_status tsoR_serialize(const tsoR_Set *s, uint8_t **buf, size_t *len, char *err) {
  char why[TSO_ERRMAX];
  const tsoR_Provenance *pv = &s->prov;
  Out o = {0};
  *buf = NULL;
  *len = 0;
  int tl = field_len(pv->tool, sizeof pv->tool), ol = field_len(pv->options, sizeof pv->options);
  if (tl < 0) return tsoO_fail(err, TSO_ERR_ARG, "provenance: the tool name is not NUL-terminated");
  if (ol < 0) return tsoO_fail(err, TSO_ERR_ARG, "provenance: the options are not NUL-terminated");
  if (s->n && !s->r) return tsoO_fail(err, TSO_ERR_ARG, "a set of %u rules without rules", s->n);
  if (s->n > MAX_RULES) return tsoO_fail(err, TSO_ERR_LIMIT, "%u rules, at most %u", s->n, MAX_RULES);
  for (uint32_t i = 0; i < s->n; i++)
    if (tsoR_check(&s->r[i], why)) return tsoO_fail(err, TSO_ERR_INVALID, "invalid rule %u: %s", i, why);
  uint64_t ophash = tsoO_table_hash();
  if (!ophash) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  /* header */
  put(&o, MAGIC, sizeof MAGIC);
  put_u16(&o, FMT_VERSION);
  put_u16(&o, 0); /* flags */
  put_u32(&o, INT_SENTINEL);
  put_u64(&o, dbl_bits(FLT_SENTINEL));
  put_u64(&o, 0); /* file size, patched below */
  put_u64(&o, ophash);
  put_u32(&o, s->n);
  /* provenance */
  put_u8(&o, (unsigned)tl);
  put(&o, pv->tool, (size_t)tl);
  put_u16(&o, (unsigned)ol);
  put(&o, pv->options, (size_t)ol);
  put_u64(&o, pv->seed);
  for (int i = 0; i < 8; i++) put_u64(&o, pv->counts[i]);
  put_u64(&o, dbl_bits(pv->seconds));
  /* rules */
  for (uint32_t i = 0; i < s->n; i++) {
    const tsoR_Rule *r = &s->r[i];
    put_u8(&o, r->status);
    put_u8(&o, r->nin);
    for (int k = 0; k < r->nin; k++) {
      put_u8(&o, r->in_kind[k]);
      put_u8(&o, r->in_rank[k]);
    }
    put_pattern(&o, &r->src);
    put_pattern(&o, &r->dst);
  }
  put_u64(&o, 0); /* checksum, patched below */
  if (o.bad) {
    free(o.b);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  store_u64(o.b + 24, (uint64_t)o.n);
  store_u64(o.b + o.n - SUM_SIZE, XXH64(o.b, o.n - SUM_SIZE, 0));
  *buf = o.b;
  *len = o.n;
  return TSO_OK;
}

/* ---- reading --------------------------------------------------------- */

/* A bounds-checked cursor over [b, b + n). A read past the end sets
** `short_` and yields zeros; callers test it after each record. */
typedef struct In {
  const uint8_t *b;
  size_t n, pos;
  int short_;
} In;

static int avail(In *in, size_t n) {
  if (in->short_ || in->n - in->pos < n) {
    in->short_ = 1;
    return 0;
  }
  return 1;
}

static unsigned get_u8(In *in) {
  if (!avail(in, 1)) return 0;
  return in->b[in->pos++];
}

static unsigned get_u16(In *in) {
  if (!avail(in, 2)) return 0;
  unsigned v = (unsigned)in->b[in->pos] | (unsigned)in->b[in->pos + 1] << 8;
  in->pos += 2;
  return v;
}

static uint32_t get_u32(In *in) {
  if (!avail(in, 4)) return 0;
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | in->b[in->pos + (size_t)i];
  in->pos += 4;
  return v;
}

static uint64_t load_u64(const uint8_t *b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
  return v;
}

static uint64_t get_u64(In *in) {
  if (!avail(in, 8)) return 0;
  uint64_t v = load_u64(in->b + in->pos);
  in->pos += 8;
  return v;
}

static void get_bytes(In *in, void *dst, size_t n) {
  if (!avail(in, n)) return;
  memcpy(dst, in->b + in->pos, n);
  in->pos += n;
}

static void get_ref(In *in, tsoR_Ref *f) {
  f->kind = (uint8_t)get_u8(in);
  f->idx = (uint8_t)get_u8(in);
  f->slot = (uint8_t)get_u8(in);
}

/* Decodes one pattern into pt (zeroed). Counts are checked against the
** arrays before anything is stored; *why says what is wrong. Returns 0 or
** -1 (bad counts or encoding; a short read is left to the caller). */
static int get_pattern(In *in, tsoR_Pattern *pt, const char *side, char *why) {
  unsigned nops = get_u8(in), nout = get_u8(in);
  if (nops > TSO_RULE_MAX_OPS || nout > TSO_RULE_MAX_OUT) {
    snprintf(why, TSO_ERRMAX, "%s pattern: %u ops and %u outputs, at most %d and %d", side, nops, nout,
             TSO_RULE_MAX_OPS, TSO_RULE_MAX_OUT);
    return -1;
  }
  pt->nops = (uint8_t)nops;
  pt->nout = (uint8_t)nout;
  for (unsigned k = 0; k < nops && !in->short_; k++) {
    tsoR_Op *o = &pt->ops[k];
    o->op = (uint16_t)get_u16(in);
    unsigned nin = get_u8(in);
    o->nout = (uint8_t)get_u8(in);
    if (nin > TSO_RULE_MAX_OPIN) {
      snprintf(why, TSO_ERRMAX, "%s op %u: %u inputs, at most %d", side, k, nin, TSO_RULE_MAX_OPIN);
      return -1;
    }
    o->nin = (uint8_t)nin;
    for (unsigned i = 0; i < nin; i++) get_ref(in, &o->in[i]);
    uint32_t mask = get_u32(in);
    for (int w = 0; w < 32 && !in->short_; w++) {
      if (!(mask & (1u << w))) continue;
      o->p.raw[w] = (int32_t)get_u32(in);
      if (!o->p.raw[w] && !in->short_) {
        snprintf(why, TSO_ERRMAX, "%s op %u: parameter word %d is encoded but zero (not canonical)", side, k, w);
        return -1;
      }
    }
  }
  for (unsigned i = 0; i < nout; i++) get_ref(in, &pt->out[i]);
  return 0;
}

/* Names the damage when the first bytes look like the magic but are not. */
static tso_status bad_magic(const uint8_t *b, size_t len, char *err) {
  size_t m = len < sizeof MAGIC ? len : sizeof MAGIC;
  if (len == 0) return tsoO_fail(err, TSO_ERR_PARSE, "not a rule file: it is empty");
  if (memcmp(b, MAGIC, m) == 0)
    return tsoO_fail(err, TSO_ERR_PARSE, "truncated: %zu bytes, shorter than the %u-byte header", len,
                     HEADER_SIZE);
  if (len >= 4 && (b[0] == 0x89 || b[0] == 0x09) && memcmp(b + 1, "TSR", 3) == 0) {
    if (b[0] == 0x09)
      return tsoO_fail(err, TSO_ERR_PARSE,
                       "damaged by a text-mode transfer: the high bit of the first byte was stripped");
    return tsoO_fail(err, TSO_ERR_PARSE,
                     "damaged by a text-mode transfer: the \\r\\n\\x1a\\n signature bytes were changed "
                     "(line endings converted?)");
  }
  if (b[0] == '#' || (len >= 2 && b[0] == 'r' && b[1] >= '0' && b[1] <= '9'))
    return tsoO_fail(err, TSO_ERR_PARSE,
                     "not a rule file (bad magic): it looks like the text form; convert it with "
                     "'taso-rules parse'");
  return tsoO_fail(err, TSO_ERR_PARSE, "not a rule file (bad magic)");
}

/* Reads the provenance into pv; -1 with *why set when it is malformed. */
static int get_prov(In *in, tsoR_Provenance *pv, char *why) {
  unsigned tl = get_u8(in);
  if (tl >= sizeof pv->tool) {
    snprintf(why, TSO_ERRMAX, "tool name of %u bytes, at most %zu", tl, sizeof pv->tool - 1);
    return -1;
  }
  get_bytes(in, pv->tool, tl);
  unsigned ol = get_u16(in);
  if (ol >= sizeof pv->options) {
    snprintf(why, TSO_ERRMAX, "options of %u bytes, at most %zu", ol, sizeof pv->options - 1);
    return -1;
  }
  get_bytes(in, pv->options, ol);
  if (in->short_) return 0;
  if (memchr(pv->tool, 0, tl) || memchr(pv->options, 0, ol)) {
    snprintf(why, TSO_ERRMAX, "a NUL byte inside the tool name or the options");
    return -1;
  }
  pv->seed = get_u64(in);
  for (int i = 0; i < 8; i++) pv->counts[i] = get_u64(in);
  pv->seconds = bits_dbl(get_u64(in));
  return 0;
}

tso_status tsoR_parse(const void *buf, size_t len, tsoR_Set *s, char *err) {
  const uint8_t *b = buf;
  char why[TSO_ERRMAX];
  tso_status st;
  memset(s, 0, sizeof *s);
  if (len < sizeof MAGIC || memcmp(b, MAGIC, sizeof MAGIC) != 0) return bad_magic(b, len, err);
  if (len < 10) return tsoO_fail(err, TSO_ERR_PARSE, "truncated: %zu bytes, shorter than the %u-byte header",
                                 len, HEADER_SIZE);
  In in = {b, len, sizeof MAGIC, 0};
  unsigned version = get_u16(&in);
  if (version != FMT_VERSION)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "unsupported format version %u (this build reads version %u)",
                     version, FMT_VERSION);
  if (len < HEADER_SIZE)
    return tsoO_fail(err, TSO_ERR_PARSE, "truncated: %zu bytes, shorter than the %u-byte header", len,
                     HEADER_SIZE);
  unsigned flags = get_u16(&in);
  uint32_t isent = get_u32(&in);
  uint64_t fsent = get_u64(&in);
  uint64_t size = get_u64(&in), ophash = get_u64(&in);
  uint32_t count = get_u32(&in);
  if (isent == 0x78563412u)
    return tsoO_fail(err, TSO_ERR_PARSE, "corrupt header: integers written in the wrong byte order");
  if (isent != INT_SENTINEL) return tsoO_fail(err, TSO_ERR_PARSE, "corrupt header: bad integer sentinel");
  if (fsent != dbl_bits(FLT_SENTINEL))
    return tsoO_fail(err, TSO_ERR_PARSE, "corrupt header: bad floating-point sentinel (not IEEE-754 binary64?)");
  if (size < HEADER_SIZE + SUM_SIZE)
    return tsoO_fail(err, TSO_ERR_PARSE, "corrupt header: file size %llu is impossible", (unsigned long long)size);
  if ((uint64_t)len < size)
    return tsoO_fail(err, TSO_ERR_PARSE, "truncated: %zu of %llu bytes", len, (unsigned long long)size);
  if ((uint64_t)len > size)
    return tsoO_fail(err, TSO_ERR_PARSE, "trailing bytes: %llu after the end of the rule file at byte %llu",
                     (unsigned long long)((uint64_t)len - size), (unsigned long long)size);
  uint64_t want = load_u64(b + size - SUM_SIZE), got = XXH64(b, (size_t)size - SUM_SIZE, 0);
  if (want != got)
    return tsoO_fail(err, TSO_ERR_PARSE, "checksum mismatch (file says %016llx, contents hash to %016llx): corrupt",
                     (unsigned long long)want, (unsigned long long)got);
  if (flags) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "unsupported flags 0x%04x", flags);
  uint64_t mine = tsoO_table_hash();
  if (!mine) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  if (ophash != mine)
    return tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                     "made with another operator table (hash %016llx, this build has %016llx): regenerate it",
                     (unsigned long long)ophash, (unsigned long long)mine);
  in.n = (size_t)size - SUM_SIZE; /* the body ends at the checksum */
  if (get_prov(&in, &s->prov, why)) return tsoO_fail(err, TSO_ERR_PARSE, "invalid provenance: %s", why);
  if (in.short_) return tsoO_fail(err, TSO_ERR_PARSE, "truncated provenance");
  if (count > (in.n - in.pos) / MIN_RULE_SIZE)
    return tsoO_fail(err, TSO_ERR_PARSE, "rule count %u too large for a file of %llu bytes", count,
                     (unsigned long long)size);
  if (count > MAX_RULES) return tsoO_fail(err, TSO_ERR_LIMIT, "rule count %u, at most %u", count, MAX_RULES);
  if (count) {
    uint32_t cap = count < 1024 ? count : 1024; /* grows with what was actually read */
    if (!(s->r = malloc((size_t)cap * sizeof *s->r))) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    s->cap = cap;
  }
  for (uint32_t i = 0; i < count; i++) {
    tsoR_Rule r;
    memset(&r, 0, sizeof r);
    r.status = (uint8_t)get_u8(&in);
    unsigned nin = get_u8(&in);
    if (nin > TSO_RULE_MAX_IN) {
      st = tsoO_fail(err, TSO_ERR_INVALID, "invalid rule %u: %u pattern inputs, at most %d", i, nin,
                     TSO_RULE_MAX_IN);
      goto fail;
    }
    r.nin = (uint8_t)nin;
    for (unsigned k = 0; k < nin; k++) {
      r.in_kind[k] = (uint8_t)get_u8(&in);
      r.in_rank[k] = (uint8_t)get_u8(&in);
    }
    if (get_pattern(&in, &r.src, "source", why) || get_pattern(&in, &r.dst, "target", why)) {
      st = tsoO_fail(err, TSO_ERR_INVALID, "invalid rule %u: %s", i, why);
      goto fail;
    }
    if (in.short_) {
      st = tsoO_fail(err, TSO_ERR_PARSE, "truncated: rule %u of %u runs past the end", i, count);
      goto fail;
    }
    if (tsoR_check(&r, why)) {
      st = tsoO_fail(err, TSO_ERR_INVALID, "invalid rule %u: %s", i, why);
      goto fail;
    }
    if ((st = tsoR_set_add(s, &r))) {
      st = tsoO_fail(err, st, "out of memory");
      goto fail;
    }
  }
  if (in.pos != in.n) {
    st = tsoO_fail(err, TSO_ERR_PARSE, "trailing bytes: %zu after the last rule, before the checksum",
                   in.n - in.pos);
    goto fail;
  }
  return TSO_OK;
fail:
  tsoR_set_free(s);
  return st;
}

/* ---- files ----------------------------------------------------------- */

tso_status tsoR_write(const tsoR_Set *s, const char *path, char *err) {
  uint8_t *buf;
  size_t len;
  tso_status st = tsoR_serialize(s, &buf, &len, err);
  if (st) return st;
  st = tsoU_write_atomic(path, buf, len, err);
  free(buf);
  return st;
}

tso_status tsoR_read(const char *path, tsoR_Set *s, char *err) {
  char why[TSO_ERRMAX];
  memset(s, 0, sizeof *s);
  uint8_t *buf;
  size_t n;
  tso_status st = tsoU_read_file(path, MAX_FILE, &buf, &n, err);
  if (st == TSO_ERR_LIMIT) return tsoO_fail(err, st, "'%s' is larger than %llu bytes: not a rule file", path,
                                            (unsigned long long)MAX_FILE);
  if (st != TSO_OK) return st;
  if ((st = tsoR_parse(buf, n, s, why)) != TSO_OK) tsoO_fail(err, st, "'%s': %s", path, why);
  free(buf);
  return st;
}
