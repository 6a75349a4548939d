/*
** common.c -- parts of the ONNX module shared by import and export: the
** name map, decoding of TensorProto data (raw, typed and external), the
** model's lifetime and accessors, and reading single tensors.
**
** Invariant: data handed out as borrowed (no *owned) points into memory the
** model keeps until tsoX_free (the unpacked proto or a read-only mapping).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "onnx/model.h"

/* ---- name map ----------------------------------------------------------- */

int tsoX_map_init(tsoX_Map *mp, size_t expect) {
  size_t cap = 16;
  while (cap < expect * 2 + 2) cap *= 2;
  mp->key = calloc(cap, sizeof *mp->key);
  mp->val = malloc(cap * sizeof *mp->val);
  mp->hash = malloc(cap * sizeof *mp->hash);
  mp->cap = cap;
  mp->n = 0;
  if (!mp->key || !mp->val || !mp->hash) {
    tsoX_map_free(mp);
    return -1;
  }
  return 0;
}

void tsoX_map_free(tsoX_Map *mp) {
  free(mp->key);
  free(mp->val);
  free(mp->hash);
  memset(mp, 0, sizeof *mp);
}

static uint64_t hash_str(const char *s) { return XXH3_64bits(s, strlen(s)); }

int32_t tsoX_map_get(const tsoX_Map *mp, const char *key) {
  if (!mp->cap || !key) return -1;
  uint64_t h = hash_str(key);
  for (size_t i = (size_t)h & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
    if (!mp->key[i]) return -1;
    if (mp->hash[i] == h && strcmp(mp->key[i], key) == 0) return mp->val[i];
  }
}

/* Doubles the table. */
static int map_grow(tsoX_Map *mp) {
  tsoX_Map nm;
  if (tsoX_map_init(&nm, mp->cap) != 0) return -1;
  for (size_t i = 0; i < mp->cap; i++) {
    if (!mp->key[i]) continue;
    size_t j = (size_t)mp->hash[i] & (nm.cap - 1);
    while (nm.key[j]) j = (j + 1) & (nm.cap - 1);
    nm.key[j] = mp->key[i];
    nm.val[j] = mp->val[i];
    nm.hash[j] = mp->hash[i];
  }
  nm.n = mp->n;
  tsoX_map_free(mp);
  *mp = nm;
  return 0;
}

int tsoX_map_put(tsoX_Map *mp, const char *key, int32_t val) {
  if (!mp->cap && tsoX_map_init(mp, 8) != 0) return -1;
  if ((mp->n + 1) * 2 > mp->cap && map_grow(mp) != 0) return -1;
  uint64_t h = hash_str(key);
  size_t i = (size_t)h & (mp->cap - 1);
  for (; mp->key[i]; i = (i + 1) & (mp->cap - 1))
    if (mp->hash[i] == h && strcmp(mp->key[i], key) == 0) return 1;
  mp->key[i] = key;
  mp->val[i] = val;
  mp->hash[i] = h;
  mp->n++;
  return 0;
}

/* ---- nesting ---------------------------------------------------------------- */

static int rd_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v) {
  *v = 0;
  for (int sh = 0; sh < 64 && *i < n; sh += 7) {
    uint8_t b = p[(*i)++];
    *v |= (uint64_t)(b & 0x7f) << sh;
    if (!(b & 0x80)) return 1;
  }
  return 0;
}

/* 1 if the message of type d in p[0..n) nests sub-messages at most `left`
** levels deep, -1 if deeper, 0 if it is malformed at the wire level. Our own
** recursion is bounded by `left`. */
static int nesting(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int left) {
  size_t i = 0;
  while (i < n) {
    uint64_t tag, len;
    if (!rd_varint(p, n, &i, &tag)) return 0;
    switch (tag & 7) {
    case 0: if (!rd_varint(p, n, &i, &len)) return 0; break;
    case 1: if (n - i < 8) return 0; i += 8; break;
    case 5: if (n - i < 4) return 0; i += 4; break;
    case 2: {
      if (!rd_varint(p, n, &i, &len) || len > n - i) return 0;
      const ProtobufCFieldDescriptor *f =
          tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3)) : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (left == 0) return -1;
        int r = nesting(f->descriptor, p + i, (size_t)len, left - 1);
        if (r <= 0) return r;
      }
      i += (size_t)len;
      break;
    }
    default: return 0;
    }
  }
  return 1;
}

tso_status tsoX_check_nesting(const ProtobufCMessageDescriptor *d, const void *buf, size_t len, char *err) {
  if (nesting(d, buf, len, TSOX_MAX_NESTING) < 0)
    return tsoO_fail(err, TSO_ERR_LIMIT, "not an ONNX model: messages nested more than %d deep", TSOX_MAX_NESTING);
  return TSO_OK; /* malformed data is left to protobuf-c, which says so */
}

/* ---- tensors -------------------------------------------------------------- */

int tsoX_default_domain(const char *domain) {
  return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

tso_status tsoX_tensor_meta(const Onnx__TensorProto *tp, const char *what, int *dtype,
                            tsoO_Shape *shape, char *err) {
  memset(shape, 0, sizeof *shape);
  *dtype = tp->has_data_type ? tp->data_type : 0;
  if (tp->n_dims > TSO_MAX_RANK)
    return tsoO_fail(err, TSO_ERR_LIMIT, "absurd dimension: %s has rank %zu (at most %d)", what, tp->n_dims,
                     TSO_MAX_RANK);
  shape->rank = (int32_t)tp->n_dims;
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0 || tp->dims[i] > TSO_MAX_DIM)
      return tsoO_fail(err, TSO_ERR_LIMIT, "absurd dimension %lld in %s", (long long)tp->dims[i], what);
    shape->d[i] = tp->dims[i];
  }
  if (tsoO_numel(shape) < 0)
    return tsoO_fail(err, TSO_ERR_LIMIT, "absurd dimension: %s has more than 2^34 elements", what);
  return TSO_OK;
}

/* 1 if location is a plain relative path that stays inside its folder. */
static int safe_location(const char *loc) {
  if (!loc[0] || loc[0] == '/') return 0;
  for (const char *p = loc; *p;) {
    const char *q = strchr(p, '/');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
    if (!q) break;
    p = q + 1;
  }
  return 1;
}

/* Parses a non-negative decimal; -1 if it is not one. */
static int64_t parse_u63(const char *s) {
  if (!s || !*s) return -1;
  int64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* The mapping of external file `loc`, mapped on first use. */
static tso_status map_file(tsoX_Model *m, const char *loc, const char *what, tsoX_Mapping **out,
                           char *err) {
  for (int i = 0; i < m->nmaps; i++)
    if (strcmp(m->maps[i].loc, loc) == 0) {
      *out = &m->maps[i];
      return TSO_OK;
    }
  if (!m->dir)
    return tsoO_fail(err, TSO_ERR_IO, "%s uses the external data file '%s' but no folder was given", what, loc);
  size_t n = strlen(m->dir) + strlen(loc) + 2;
  char *path = malloc(n);
  tsoX_Mapping *mm = realloc(m->maps, (size_t)(m->nmaps + 1) * sizeof *m->maps);
  if (!path || !mm) {
    free(path);
    if (mm) m->maps = mm;
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  m->maps = mm;
  snprintf(path, n, "%s/%s", m->dir, loc);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int e = fd < 0 ? errno : EINVAL;
    if (fd >= 0) close(fd);
    tsoO_fail(err, TSO_ERR_IO, "%s: cannot open external data '%s': %s", what, path, strerror(e));
    free(path);
    return TSO_ERR_IO;
  }
  void *addr = NULL;
  if (sb.st_size > 0) {
    addr = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int e = errno;
      close(fd);
      tsoO_fail(err, TSO_ERR_IO, "%s: cannot map external data '%s': %s", what, path, strerror(e));
      free(path);
      return TSO_ERR_IO;
    }
  }
  close(fd);
  free(path);
  char *l = strdup(loc);
  if (!l) {
    if (addr) munmap(addr, (size_t)sb.st_size);
    return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  }
  tsoX_Mapping *x = &m->maps[m->nmaps++];
  x->loc = l;
  x->addr = addr;
  x->len = (size_t)sb.st_size;
  *out = x;
  return TSO_OK;
}

static tso_status external_data(tsoX_Model *m, const Onnx__TensorProto *tp, const char *what, size_t need,
                                size_t es, const void **data, void **owned, char *err) {
  const char *loc = NULL, *off = NULL, *len = NULL;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key) continue;
    if (strcmp(e->key, "location") == 0) loc = e->value;
    else if (strcmp(e->key, "offset") == 0) off = e->value;
    else if (strcmp(e->key, "length") == 0) len = e->value;
  }
  if (!m) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s uses external data, not allowed here", what);
  if (!loc) return tsoO_fail(err, TSO_ERR_INVALID, "%s uses external data without a location", what);
  if (!safe_location(loc))
    return tsoO_fail(err, TSO_ERR_INVALID,
                     "%s: external data location '%s' leaves the model's folder (absolute or '..')", what, loc);
  int64_t o = off ? parse_u63(off) : 0, l = len ? parse_u63(len) : (int64_t)need;
  if (o < 0 || l < 0)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s: bad external data offset or length", what);
  if ((uint64_t)l != need)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s: external data length %lld, its shape needs %zu bytes", what,
                     (long long)l, need);
  tsoX_Mapping *mm = NULL;
  tso_status st = map_file(m, loc, what, &mm, err);
  if (st != TSO_OK) return st;
  if ((uint64_t)o > mm->len || need > mm->len - (size_t)o)
    return tsoO_fail(err, TSO_ERR_INVALID, "%s: external data [%lld, +%zu) passes the end of '%s' (%zu bytes)",
                     what, (long long)o, need, loc, mm->len);
  m->external = 1;
  if (!need) {
    *data = NULL;
    return TSO_OK;
  }
  const unsigned char *p = (const unsigned char *)mm->addr + o;
  if (es > 1 && (uintptr_t)p % es) { /* misaligned for its type: copy */
    if (!(*owned = malloc(need))) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    memcpy(*owned, p, need);
    *data = *owned;
  } else {
    *data = p;
  }
  return TSO_OK;
}

/* Converts n int32 values (the int32_data field) to elements of size es. */
static void narrow_i32(const int32_t *src, size_t n, size_t es, void *dst) {
  for (size_t i = 0; i < n; i++) {
    if (es == 1) ((uint8_t *)dst)[i] = (uint8_t)src[i];
    else if (es == 2) ((uint16_t *)dst)[i] = (uint16_t)src[i];
    else ((uint32_t *)dst)[i] = (uint32_t)src[i];
  }
}

tso_status tsoX_tensor_data(tsoX_Model *m, const Onnx__TensorProto *tp, const char *what, int dtype,
                            const tsoO_Shape *shape, const void **data, size_t *nbytes, void **owned,
                            int *ext, char *err) {
  *data = NULL;
  *nbytes = 0;
  *owned = NULL;
  *ext = 0;
  size_t es = tsoO_dtype_size(dtype);
  int64_t ne = tsoO_numel(shape);
  if (!es) return TSO_OK; /* strings, complex, undefined: no data the kernels could use */
  if (tp->segment) return tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s is a segment of a tensor", what);
  size_t n = (size_t)ne, need = n * es;
  *nbytes = need;
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    *ext = 1;
    return external_data(m, tp, what, need, es, data, owned, err);
  }
  size_t have; /* elements in the typed field used */
  const char *field;
  if (tp->has_raw_data) {
    if (tp->raw_data.len != need)
      return tsoO_fail(err, TSO_ERR_INVALID, "%s: raw_data has %zu bytes, its %s shape needs %zu", what,
                       tp->raw_data.len, tsoO_dtype_name(dtype), need);
    if (need && (uintptr_t)tp->raw_data.data % es) {
      if (!(*owned = malloc(need))) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
      memcpy(*owned, tp->raw_data.data, need);
      *data = *owned;
    } else {
      *data = need ? tp->raw_data.data : NULL;
    }
    return TSO_OK;
  }
  switch (dtype) {
  case TSO_DT_FLOAT: have = tp->n_float_data; field = "float_data"; *data = tp->float_data; break;
  case TSO_DT_INT64: have = tp->n_int64_data; field = "int64_data"; *data = tp->int64_data; break;
  case TSO_DT_DOUBLE: have = tp->n_double_data; field = "double_data"; *data = tp->double_data; break;
  case TSO_DT_UINT64: have = tp->n_uint64_data; field = "uint64_data"; *data = tp->uint64_data; break;
  case TSO_DT_INT32: have = tp->n_int32_data; field = "int32_data"; *data = tp->int32_data; break;
  case TSO_DT_UINT32: have = tp->n_uint64_data; field = "uint64_data"; break;
  default: have = tp->n_int32_data; field = "int32_data"; break; /* 8- and 16-bit types */
  }
  if (have != n) {
    *data = NULL;
    return tsoO_fail(err, TSO_ERR_INVALID, "%s: %s has %zu elements, its shape needs %zu", what, field, have, n);
  }
  if (!n) {
    *data = NULL;
    return TSO_OK;
  }
  if (*data) return TSO_OK; /* same layout as the IR: borrowed */
  if (!(*owned = malloc(need))) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  if (dtype == TSO_DT_UINT32)
    for (size_t i = 0; i < n; i++) ((uint32_t *)*owned)[i] = (uint32_t)tp->uint64_data[i];
  else
    narrow_i32(tp->int32_data, n, es, *owned);
  *data = *owned;
  return TSO_OK;
}

tso_status tsoX_read_tensor(const void *buf, size_t len, tsoO_Value *val, char **name, char *err) {
  memset(val, 0, sizeof *val);
  val->shape.rank = -1;
  if (name) *name = NULL;
  tso_status cst = tsoX_check_nesting(&onnx__tensor_proto__descriptor, buf, len, err);
  if (cst != TSO_OK) return cst;
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
  if (!tp) return tsoO_fail(err, TSO_ERR_PARSE, "not a TensorProto: protobuf decoding failed");
  const char *what = tp->name && *tp->name ? tp->name : "tensor";
  int dtype;
  tsoO_Shape shape;
  const void *data;
  size_t nb;
  void *owned;
  int ext;
  tso_status st = tsoX_tensor_meta(tp, what, &dtype, &shape, err);
  if (st == TSO_OK && !tsoO_dtype_size(dtype))
    st = tsoO_fail(err, TSO_ERR_UNSUPPORTED, "%s: element type %s is not supported", what,
                   tsoO_dtype_name(dtype));
  if (st == TSO_OK) st = tsoX_tensor_data(NULL, tp, what, dtype, &shape, &data, &nb, &owned, &ext, err);
  if (st == TSO_OK) {
    void *d = owned;
    if (!d && (d = malloc(nb ? nb : 1)) != NULL && nb) memcpy(d, data, nb);
    char *nm = name ? strdup(tp->name ? tp->name : "") : NULL;
    if (!d || (name && !nm)) {
      free(d);
      free(nm);
      st = tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
    } else {
      val->dtype = dtype;
      val->shape = shape;
      val->data = d;
      if (name) *name = nm;
    }
  }
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return st;
}

/* ---- model ---------------------------------------------------------------- */

tsoX_Model *tsoX_new(int opset) {
  /* Built as a message, packed and unpacked again, so that every model's
  ** proto is owned the same way (protobuf-c's free_unpacked). */
  Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *osp = &os;
  Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
  Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
  char empty[] = "", gname[] = "taso", prod[] = "taso", ver[] = TSOX_VERSION_STR;
  os.domain = empty;
  os.has_version = 1;
  os.version = opset > 0 ? opset : TSOX_DEFAULT_OPSET;
  gp.name = gname;
  mp.has_ir_version = 1;
  mp.ir_version = 8;
  mp.n_opset_import = 1;
  mp.opset_import = &osp;
  mp.producer_name = prod;
  mp.producer_version = ver;
  mp.graph = &gp;
  size_t n = onnx__model_proto__get_packed_size(&mp);
  uint8_t *buf = malloc(n);
  if (!buf) return NULL;
  onnx__model_proto__pack(&mp, buf);
  tsoX_Model *m = NULL;
  char err[TSO_ERRMAX];
  if (tsoX_load(buf, n, NULL, NULL, 0, &m, err) != TSO_OK) m = NULL;
  free(buf);
  return m;
}

tsoI_Graph *tsoX_graph(tsoX_Model *m) { return m ? m->g : NULL; }

void tsoX_set_graph(tsoX_Model *m, tsoI_Graph *g) {
  if (!m || m->g == g) return;
  tsoI_free(m->g);
  m->g = g;
}

int tsoX_opset(const tsoX_Model *m) { return m ? m->opset : 0; }

void tsoX_set_external_threshold(tsoX_Model *m, uint64_t bytes) {
  if (m) m->ext_threshold = bytes;
}

const char *tsoX_node_type(const tsoX_Model *m, int32_t origin) {
  if (!m || origin < 0 || origin >= m->nsrc) return NULL;
  if (m->src[origin].type) return m->src[origin].type;
  const char *t = m->mp->graph->node[origin]->op_type;
  return t ? t : "";
}

int tsoX_opaque_reasons(const tsoX_Model *m, const char *const **msgs) {
  if (msgs) *msgs = m ? (const char *const *)m->reasons : NULL;
  return m ? m->nreasons : 0;
}

int tsoX_keep(tsoX_Model *m, void *p) {
  if (m->nbufs == m->capbufs) {
    size_t nc = m->capbufs ? m->capbufs * 2 : 16;
    void **b = realloc(m->bufs, nc * sizeof *b);
    if (!b) {
      free(p);
      return -1;
    }
    m->bufs = b;
    m->capbufs = nc;
  }
  m->bufs[m->nbufs++] = p;
  return 0;
}

void tsoX_model_release(tsoX_Model *m) {
  for (size_t i = 0; i < m->nbufs; i++) free(m->bufs[i]);
  free(m->bufs);
  m->bufs = NULL;
  m->nbufs = m->capbufs = 0;
  for (int32_t i = 0; i < m->nsrc; i++) {
    free(m->src[i].type);
    free(m->src[i].cap);
  }
  free(m->src);
  m->src = NULL;
  m->nsrc = 0;
  free(m->init);
  m->init = NULL;
  m->ninit = 0;
  for (int i = 0; i < m->nreasons; i++) free(m->reasons[i]);
  free(m->reasons);
  m->reasons = NULL;
  m->nreasons = 0;
  for (int i = 0; i < m->nmaps; i++) {
    if (m->maps[i].addr) munmap(m->maps[i].addr, m->maps[i].len);
    free(m->maps[i].loc);
  }
  free(m->maps);
  m->maps = NULL;
  m->nmaps = 0;
  tsoX_map_free(&m->reserved);
}

void tsoX_free(tsoX_Model *m) {
  if (!m) return;
  tsoI_free(m->g); /* before the proto and the mappings it borrows from */
  tsoX_model_release(m);
  if (m->mp) onnx__model_proto__free_unpacked(m->mp, NULL);
  free(m->dir);
  free(m);
}
