/*
** db.c -- the persistent cost database (SQLite); schema in cost.h.
**
** Concurrency and safety:
**   - the file is in WAL mode with a 30 s busy timeout: readers never block
**     writers, and two writers (two taso-cost processes on one file) take
**     turns instead of failing;
**   - every write is one BEGIN IMMEDIATE ... COMMIT transaction (the write
**     lock is taken up front, so two writers cannot deadlock upgrading a
**     read lock); SQLITE_BUSY that still escapes is retried a few times;
**   - SQLite's journal makes a killed writer's transaction vanish whole:
**     the file stays consistent (PRAGMA integrity_check passes) and keeps
**     every committed row;
**   - a file is touched only if it is empty or carries our application_id,
**     so a mistyped --cost-db never damages someone else's database.
** Lookups go through an in-memory memo (per handle), so the search can ask
** for the same operator thousands of times without a query each time.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cost/cost.h"

#define BUSY_TIMEOUT_MS 30000
#define BUSY_RETRIES 8

typedef struct Ctx {
  char *device, *backend, *version;
  int64_t id;
} Ctx;

typedef struct Memo {
  uint64_t hash;     /* signature hash, 0 for an empty slot */
  int64_t ctx;       /* context id */
  uint32_t n;        /* signature bytes */
  uint8_t *sig;      /* malloc'd copy */
  tsoC_Entry e;
} Memo;

struct tsoC_Db {
  sqlite3 *db;
  char *path;              /* for messages */
  int readonly;
  int schema;              /* schema version of the file (0: empty, read-only) */
  Ctx *ctx;                /* known contexts (committed rows only) */
  int nctx, capctx;
  Memo *memo;              /* open addressing, capacity a power of two */
  size_t nmemo, capmemo;
  void (*hook)(void *ud, int row);
  void *hook_ud;
};

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS taso_schema(version INTEGER NOT NULL, writer TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS contexts("
    "  id INTEGER PRIMARY KEY,"
    "  device TEXT NOT NULL, backend TEXT NOT NULL, version TEXT NOT NULL,"
    "  UNIQUE(device, backend, version));"
    "CREATE TABLE IF NOT EXISTS costs("
    "  ctx INTEGER NOT NULL REFERENCES contexts(id),"
    "  sig_hash INTEGER NOT NULL, sig BLOB NOT NULL, sig_text TEXT NOT NULL, op TEXT NOT NULL,"
    "  ms REAL NOT NULL, spread REAL NOT NULL, min_ms REAL NOT NULL, median_ms REAL NOT NULL,"
    "  repeats INTEGER NOT NULL, batch INTEGER NOT NULL, measured_at INTEGER NOT NULL,"
    "  PRIMARY KEY(ctx, sig_hash, sig)) WITHOUT ROWID;";

/* ---- small helpers ---------------------------------------------------------------- */

static tso_status db_fail(tsoC_Db *d, char *err, tso_status st, const char *what) {
  return tsoO_fail(err, st, "cost database %s: %s: %s", d->path, what, sqlite3_errmsg(d->db));
}

static int is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs sql (no rows wanted); returns the SQLite code. */
static int exec(tsoC_Db *d, const char *sql) { return sqlite3_exec(d->db, sql, NULL, NULL, NULL); }

/* One integer from a query (def if no row); *rc gets the SQLite code. */
static int64_t query_int(tsoC_Db *d, const char *sql, int64_t def, int *rc) {
  sqlite3_stmt *s = NULL;
  int64_t v = def;
  *rc = sqlite3_prepare_v2(d->db, sql, -1, &s, NULL);
  if (*rc == SQLITE_OK) {
    *rc = sqlite3_step(s);
    if (*rc == SQLITE_ROW) {
      v = sqlite3_column_int64(s, 0);
      *rc = SQLITE_OK;
    } else if (*rc == SQLITE_DONE) {
      *rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  return v;
}

static char *str_dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* ---- opening ---------------------------------------------------------------------- */

/* Creates the tables in an empty file (or completes them), in one
** transaction; refuses a file that another writer meanwhile made foreign. */
static tso_status init_schema(tsoC_Db *d, char *err) {
  int rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < BUSY_RETRIES && is_busy(rc); attempt++) {
    if (attempt) pause_ms(50 * attempt);
    rc = exec(d, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) continue;
    int64_t appid = query_int(d, "PRAGMA application_id", 0, &rc);
    if (rc == SQLITE_OK && appid != 0 && appid != TSOC_DB_APPID) {
      exec(d, "ROLLBACK");
      return tsoO_fail(err, TSO_ERR_INVALID, "%s is not a taso cost database (application_id 0x%llx)", d->path,
                       (unsigned long long)appid);
    }
    if (rc == SQLITE_OK) rc = exec(d, schema_sql);
    if (rc == SQLITE_OK) {
      int64_t n = query_int(d, "SELECT count(*) FROM taso_schema", 0, &rc);
      if (rc == SQLITE_OK && n == 0) {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO taso_schema(version, writer) VALUES(%d, 'taso %s')",
                 TSOC_DB_SCHEMA, tso_version());
        rc = exec(d, sql);
      }
    }
    if (rc == SQLITE_OK) {
      char sql[64];
      snprintf(sql, sizeof sql, "PRAGMA application_id=%d", TSOC_DB_APPID);
      rc = exec(d, sql);
    }
    if (rc == SQLITE_OK) rc = exec(d, "COMMIT");
    if (rc != SQLITE_OK) exec(d, "ROLLBACK");
  }
  if (rc != SQLITE_OK) return db_fail(d, err, TSO_ERR_IO, "cannot create the tables");
  return TSO_OK;
}

tso_status tsoC_db_open(const char *path, int flags, tsoC_Db **out, char *err) {
  if (!out) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_db_open: NULL argument");
  *out = NULL;
  int mem = !path || !strcmp(path, ":memory:");
  tsoC_Db *d = calloc(1, sizeof *d);
  if (!d || !(d->path = str_dup(mem ? ":memory:" : path))) {
    free(d);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  d->readonly = (flags & TSOC_DB_READONLY) != 0;
  int oflags = d->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(d->path, &d->db, oflags, NULL);
  tso_status st = TSO_OK;
  if (rc != SQLITE_OK) {
    st = d->db ? db_fail(d, err, TSO_ERR_IO, "cannot open") : tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  sqlite3_extended_result_codes(d->db, 1);
  sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
  /* whose file is it? (nothing is written before we know) */
  int64_t ntab = query_int(d, "SELECT count(*) FROM sqlite_schema", 0, &rc);
  if (rc != SQLITE_OK) {
    st = (rc & 0xff) == SQLITE_NOTADB ? tsoO_fail(err, TSO_ERR_INVALID, "%s is not an SQLite database", d->path)
                                      : db_fail(d, err, TSO_ERR_IO, "cannot read");
    goto fail;
  }
  int64_t appid = query_int(d, "PRAGMA application_id", 0, &rc);
  if (rc == SQLITE_OK && appid != TSOC_DB_APPID && !(appid == 0 && ntab == 0)) {
    st = tsoO_fail(err, TSO_ERR_INVALID, "%s is not a taso cost database (another application's SQLite file)",
                   d->path);
    goto fail;
  }
  if (!d->readonly) {
    if (!mem) {
      char mode[16] = "";
      for (int attempt = 0; attempt < BUSY_RETRIES; attempt++) {
        sqlite3_stmt *s = NULL;
        rc = sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
          snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(s, 0));
          rc = SQLITE_OK;
        }
        sqlite3_finalize(s);
        if (!is_busy(rc)) break;
        pause_ms(50 * (attempt + 1));
      }
      if (rc != SQLITE_OK || strcmp(mode, "wal") != 0) {
        st = db_fail(d, err, TSO_ERR_IO, "cannot switch to WAL mode");
        goto fail;
      }
    }
    exec(d, "PRAGMA synchronous=NORMAL");
    if (appid != TSOC_DB_APPID && (st = init_schema(d, err)) != TSO_OK) goto fail;
  }
  d->schema = (int)query_int(d, "SELECT max(version) FROM taso_schema", 0, &rc);
  if (rc != SQLITE_OK) {
    if (!(d->readonly && ntab == 0)) {
      st = db_fail(d, err, TSO_ERR_INVALID, "no schema version");
      goto fail;
    }
    d->schema = 0; /* an empty file opened read-only: no rows */
  }
  if (d->schema > TSOC_DB_SCHEMA) {
    st = tsoO_fail(err, TSO_ERR_UNSUPPORTED,
                   "%s has cost database schema %d; this taso reads up to %d (upgrade taso or use another file)",
                   d->path, d->schema, TSOC_DB_SCHEMA);
    goto fail;
  }
  *out = d;
  return TSO_OK;
fail:
  tsoC_db_close(d);
  return st;
}

void tsoC_db_close(tsoC_Db *d) {
  if (!d) return;
  if (d->db) sqlite3_close(d->db);
  for (int i = 0; i < d->nctx; i++) {
    free(d->ctx[i].device);
    free(d->ctx[i].backend);
    free(d->ctx[i].version);
  }
  free(d->ctx);
  for (size_t i = 0; i < d->capmemo; i++) free(d->memo[i].sig);
  free(d->memo);
  free(d->path);
  free(d);
}

int tsoC_db_schema(const tsoC_Db *d) { return d ? d->schema : 0; }

void tsoC_db_set_test_hook(tsoC_Db *d, void (*hook)(void *ud, int row), void *ud) {
  if (!d) return;
  d->hook = hook;
  d->hook_ud = ud;
}

/* ---- contexts --------------------------------------------------------------------- */

static Ctx *ctx_cached(tsoC_Db *d, const tsoC_Backend *be) {
  for (int i = 0; i < d->nctx; i++) {
    Ctx *c = &d->ctx[i];
    if (!strcmp(c->device, be->device) && !strcmp(c->backend, be->vt->name) && !strcmp(c->version, be->version))
      return c;
  }
  return NULL;
}

static void ctx_remember(tsoC_Db *d, const tsoC_Backend *be, int64_t id) {
  if (ctx_cached(d, be)) return;
  if (d->nctx == d->capctx) {
    int cap = d->capctx ? 2 * d->capctx : 4;
    Ctx *n = realloc(d->ctx, (size_t)cap * sizeof *n);
    if (!n) return; /* only a cache */
    d->ctx = n;
    d->capctx = cap;
  }
  Ctx *c = &d->ctx[d->nctx];
  c->device = str_dup(be->device);
  c->backend = str_dup(be->vt->name);
  c->version = str_dup(be->version);
  c->id = id;
  if (c->device && c->backend && c->version) {
    d->nctx++;
  } else {
    free(c->device);
    free(c->backend);
    free(c->version);
  }
}

/* The context id of be: *id = -1 if the file has none (and create is 0).
** Returns the SQLite code. */
static int ctx_id(tsoC_Db *d, const tsoC_Backend *be, int create, int64_t *id) {
  Ctx *c = ctx_cached(d, be);
  *id = -1;
  if (c) {
    *id = c->id;
    return SQLITE_OK;
  }
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(d->db, "SELECT id FROM contexts WHERE device=?1 AND backend=?2 AND version=?3", -1,
                              &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(s, 1, be->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, be->vt->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, be->version, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      *id = sqlite3_column_int64(s, 0);
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK || *id >= 0 || !create) return rc;
  rc = sqlite3_prepare_v2(d->db, "INSERT INTO contexts(device, backend, version) VALUES(?1, ?2, ?3)", -1, &s, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(s, 1, be->device, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, be->vt->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, be->version, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
      *id = sqlite3_last_insert_rowid(d->db);
    }
  }
  sqlite3_finalize(s);
  return rc;
}

/* ---- the memo --------------------------------------------------------------------- */

static Memo *memo_find(tsoC_Db *d, int64_t ctx, const tsoC_Sig *sig) {
  if (!d->capmemo) return NULL;
  uint64_t h = sig->hash ? sig->hash : 1;
  for (size_t i = (size_t)(h ^ (uint64_t)ctx) & (d->capmemo - 1);; i = (i + 1) & (d->capmemo - 1)) {
    Memo *m = &d->memo[i];
    if (!m->hash) return NULL;
    if (m->hash == h && m->ctx == ctx && m->n == sig->n && !memcmp(m->sig, sig->b, sig->n)) return m;
  }
}

static void memo_put(tsoC_Db *d, int64_t ctx, const tsoC_Sig *sig, const tsoC_Entry *e) {
  Memo *m = memo_find(d, ctx, sig);
  if (m) {
    m->e = *e;
    return;
  }
  if (2 * (d->nmemo + 1) > d->capmemo) { /* grow: keep the load under one half */
    size_t cap = d->capmemo ? 2 * d->capmemo : 256;
    Memo *n = calloc(cap, sizeof *n);
    if (!n) return; /* only a cache */
    for (size_t i = 0; i < d->capmemo; i++) {
      Memo *o = &d->memo[i];
      if (!o->hash) continue;
      size_t j = (size_t)(o->hash ^ (uint64_t)o->ctx) & (cap - 1);
      while (n[j].hash) j = (j + 1) & (cap - 1);
      n[j] = *o;
    }
    free(d->memo);
    d->memo = n;
    d->capmemo = cap;
  }
  uint8_t *copy = malloc(sig->n ? sig->n : 1);
  if (!copy) return;
  memcpy(copy, sig->b, sig->n);
  uint64_t h = sig->hash ? sig->hash : 1;
  size_t j = (size_t)(h ^ (uint64_t)ctx) & (d->capmemo - 1);
  while (d->memo[j].hash) j = (j + 1) & (d->capmemo - 1);
  Memo *slot = &d->memo[j];
  slot->hash = h;
  slot->ctx = ctx;
  slot->n = sig->n;
  slot->sig = copy;
  slot->e = *e;
  d->nmemo++;
}

/* ---- reading and writing ---------------------------------------------------------- */

tso_status tsoC_db_get(tsoC_Db *d, const tsoC_Backend *be, const tsoC_Sig *sig, tsoC_Entry *e, int *found,
                       char *err) {
  if (!d || !be || !sig || !e || !found) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_db_get: NULL argument");
  *found = 0;
  if (d->schema == 0) return TSO_OK;
  int64_t ctx;
  int rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < BUSY_RETRIES && is_busy(rc); attempt++) {
    if (attempt) pause_ms(20 * attempt);
    rc = ctx_id(d, be, 0, &ctx);
  }
  if (rc != SQLITE_OK) return db_fail(d, err, TSO_ERR_IO, "cannot read the contexts");
  if (ctx < 0) return TSO_OK;
  ctx_remember(d, be, ctx);
  Memo *m = memo_find(d, ctx, sig);
  if (m) {
    *e = m->e;
    *found = 1;
    return TSO_OK;
  }
  rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < BUSY_RETRIES && is_busy(rc); attempt++) {
    sqlite3_stmt *s = NULL;
    if (attempt) pause_ms(20 * attempt);
    rc = sqlite3_prepare_v2(d->db,
                            "SELECT ms, spread, min_ms, median_ms, repeats, batch, measured_at FROM costs "
                            "WHERE ctx=?1 AND sig_hash=?2 AND sig=?3",
                            -1, &s, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_bind_int64(s, 1, ctx);
      sqlite3_bind_int64(s, 2, (sqlite3_int64)sig->hash);
      sqlite3_bind_blob(s, 3, sig->b, (int)sig->n, SQLITE_STATIC);
      rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        e->ms = sqlite3_column_double(s, 0);
        e->spread = sqlite3_column_double(s, 1);
        e->min_ms = sqlite3_column_double(s, 2);
        e->median_ms = sqlite3_column_double(s, 3);
        e->repeats = (int32_t)sqlite3_column_int64(s, 4);
        e->batch = (int32_t)sqlite3_column_int64(s, 5);
        e->measured_at = sqlite3_column_int64(s, 6);
        *found = 1;
        rc = SQLITE_OK;
      } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(s);
  }
  if (rc != SQLITE_OK) return db_fail(d, err, TSO_ERR_IO, "cannot read");
  if (*found) memo_put(d, ctx, sig, e);
  return TSO_OK;
}

/* Writes the rows inside an open transaction; returns the SQLite code. */
static int put_rows(tsoC_Db *d, const tsoC_Backend *be, int n, const tsoC_Key *keys, const tsoC_Sig *sigs,
                    const tsoC_Entry *e, int64_t *ctx) {
  int rc = ctx_id(d, be, 1, ctx);
  if (rc != SQLITE_OK) return rc;
  sqlite3_stmt *s = NULL;
  rc = sqlite3_prepare_v2(d->db,
                          "INSERT INTO costs(ctx, sig_hash, sig, sig_text, op, ms, spread, min_ms, median_ms, "
                          "repeats, batch, measured_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
                          "ON CONFLICT(ctx, sig_hash, sig) DO UPDATE SET sig_text=excluded.sig_text, "
                          "op=excluded.op, ms=excluded.ms, spread=excluded.spread, min_ms=excluded.min_ms, "
                          "median_ms=excluded.median_ms, repeats=excluded.repeats, batch=excluded.batch, "
                          "measured_at=excluded.measured_at",
                          -1, &s, NULL);
  char text[TSOC_TEXT_MAX];
  for (int i = 0; rc == SQLITE_OK && i < n; i++) {
    const tsoO_Info *oi = tsoO_info(keys[i].op);
    tsoC_key_text(&keys[i], text, sizeof text);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, *ctx);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)sigs[i].hash);
    sqlite3_bind_blob(s, 3, sigs[i].b, (int)sigs[i].n, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, oi ? oi->name : "?", -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 6, e[i].ms);
    sqlite3_bind_double(s, 7, e[i].spread);
    sqlite3_bind_double(s, 8, e[i].min_ms);
    sqlite3_bind_double(s, 9, e[i].median_ms);
    sqlite3_bind_int64(s, 10, e[i].repeats);
    sqlite3_bind_int64(s, 11, e[i].batch);
    sqlite3_bind_int64(s, 12, e[i].measured_at ? e[i].measured_at : (int64_t)time(NULL));
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    if (rc == SQLITE_OK && d->hook) d->hook(d->hook_ud, i);
  }
  sqlite3_finalize(s);
  return rc;
}

tso_status tsoC_db_put(tsoC_Db *d, const tsoC_Backend *be, int n, const tsoC_Key *keys, const tsoC_Entry *e,
                       char *err) {
  if (!d || !be || (n > 0 && (!keys || !e))) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_db_put: NULL argument");
  if (d->readonly) return tsoO_fail(err, TSO_ERR_ARG, "cost database %s is open read-only", d->path);
  if (n <= 0) return TSO_OK;
  tsoC_Sig *sigs = malloc((size_t)n * sizeof *sigs);
  if (!sigs) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    if (tsoC_key_sig(&keys[i], &sigs[i]) != TSO_OK) {
      free(sigs);
      return tsoO_fail(err, TSO_ERR_ARG, "key %d is malformed", i);
    }
  }
  int rc = SQLITE_BUSY;
  int64_t ctx = -1;
  for (int attempt = 0; attempt < BUSY_RETRIES && is_busy(rc); attempt++) {
    if (attempt) pause_ms(50 * attempt);
    rc = exec(d, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) continue;
    rc = put_rows(d, be, n, keys, sigs, e, &ctx);
    if (rc == SQLITE_OK) rc = exec(d, "COMMIT");
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(d->db)) exec(d, "ROLLBACK");
  }
  if (rc != SQLITE_OK) {
    free(sigs);
    return db_fail(d, err, TSO_ERR_IO, "cannot write");
  }
  ctx_remember(d, be, ctx);
  for (int i = 0; i < n; i++) memo_put(d, ctx, &sigs[i], &e[i]);
  free(sigs);
  return TSO_OK;
}

tso_status tsoC_db_foreach(tsoC_Db *d, int (*fn)(void *ud, const tsoC_DbRow *row), void *ud, char *err) {
  if (!d || !fn) return tsoO_fail(err, TSO_ERR_ARG, "tsoC_db_foreach: NULL argument");
  if (d->schema == 0) return TSO_OK;
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(d->db,
                              "SELECT c.device, c.backend, c.version, k.op, k.sig_text, k.sig_hash, k.ms, k.spread,"
                              " k.min_ms, k.median_ms, k.repeats, k.batch, k.measured_at"
                              " FROM costs k JOIN contexts c ON c.id = k.ctx"
                              " ORDER BY c.id, k.op, k.sig_text",
                              -1, &s, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    tsoC_DbRow r;
    memset(&r, 0, sizeof r);
    r.device = (const char *)sqlite3_column_text(s, 0);
    r.backend = (const char *)sqlite3_column_text(s, 1);
    r.version = (const char *)sqlite3_column_text(s, 2);
    r.op = (const char *)sqlite3_column_text(s, 3);
    r.sig_text = (const char *)sqlite3_column_text(s, 4);
    r.sig_hash = (uint64_t)sqlite3_column_int64(s, 5);
    r.e.ms = sqlite3_column_double(s, 6);
    r.e.spread = sqlite3_column_double(s, 7);
    r.e.min_ms = sqlite3_column_double(s, 8);
    r.e.median_ms = sqlite3_column_double(s, 9);
    r.e.repeats = (int32_t)sqlite3_column_int64(s, 10);
    r.e.batch = (int32_t)sqlite3_column_int64(s, 11);
    r.e.measured_at = sqlite3_column_int64(s, 12);
    if (!r.device) r.device = "";
    if (!r.backend) r.backend = "";
    if (!r.version) r.version = "";
    if (!r.op) r.op = "";
    if (!r.sig_text) r.sig_text = "";
    if (fn(ud, &r)) {
      rc = SQLITE_DONE;
      break;
    }
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return db_fail(d, err, TSO_ERR_IO, "cannot read");
  return TSO_OK;
}
