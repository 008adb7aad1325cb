/* S3 Inventory manifests and schemas: see manifest.h. */
#include "stages/manifest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aws/sigv4.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/str.h"

/* ------------------------------------------------------------------ columns */

static const char *const col_field[S3I_COL_COUNT] = {
	"Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate",
	"ETag", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus",
	"ObjectLockRetainUntilDate", "ObjectLockMode", "ObjectLockLegalHoldStatus",
	"IntelligentTieringAccessTier", "BucketKeyStatus", "ChecksumAlgorithm",
	"ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate",
};

static const char *const col_snake[S3I_COL_COUNT] = {
	"bucket", "key", "version_id", "is_latest", "is_delete_marker", "size",
	"last_modified_date", "e_tag", "storage_class", "is_multipart_uploaded",
	"replication_status", "encryption_status", "object_lock_retain_until_date",
	"object_lock_mode", "object_lock_legal_hold_status", "intelligent_tiering_access_tier",
	"bucket_key_status", "checksum_algorithm", "object_access_control_list", "object_owner",
	"lifecycle_expiration_date",
};

const char *s3i_inv_column_field(int col)
{
	return col >= 0 && col < S3I_COL_COUNT ? col_field[col] : NULL;
}

const char *s3i_inv_column_snake(int col)
{
	return col >= 0 && col < S3I_COL_COUNT ? col_snake[col] : NULL;
}

/* Lowercase without underscores: "LastModifiedDate" and "last_modified_date" meet. */
static size_t fold(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '_')
			continue;
		if (o + 1 >= cap)
			return (size_t)-1;
		out[o++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[o] = '\0';
	return o;
}

int s3i_inv_column_lookup(const char *name, size_t len)
{
	char want[64], have[64];
	if (!name || fold(name, len, want, sizeof(want)) == (size_t)-1)
		return S3I_COL_UNKNOWN;
	for (int c = 0; c < S3I_COL_COUNT; c++) {
		fold(col_field[c], strlen(col_field[c]), have, sizeof(have));
		if (!strcmp(want, have))
			return c;
	}
	return S3I_COL_UNKNOWN;
}

/* ------------------------------------------------------------------ schemas */

void s3i_inv_schema_dispose(s3i_inv_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->names && i < s->n; i++)
		s3i_free(s->alloc, s->names[i]);
	s3i_free(s->alloc, s->names);
	s3i_free(s->alloc, s->ids);
	const s3i_allocator *a = s->alloc;
	memset(s, 0, sizeof(*s));
	s->alloc = a;
}

static int schema_init(s3i_inv_schema *s, size_t cap, const s3i_allocator *a)
{
	memset(s, 0, sizeof(*s));
	s->alloc = a ? a : s3i_allocator_default();
	s->names = s3i_calloc(s->alloc, cap ? cap : 1, sizeof(char *));
	s->ids = s3i_calloc(s->alloc, cap ? cap : 1, sizeof(int));
	if (!s->names || !s->ids) {
		s3i_inv_schema_dispose(s);
		return S3I_ENOMEM;
	}
	return S3I_OK;
}

/* Two names are the same column: a known id, or (unknown ones) the same folded name. */
static int same_column(const s3i_inv_schema *a, size_t i, const s3i_inv_schema *b, size_t j)
{
	if (a->ids[i] != S3I_COL_UNKNOWN || b->ids[j] != S3I_COL_UNKNOWN)
		return a->ids[i] == b->ids[j];
	char x[256], y[256];
	size_t nx = fold(a->names[i], strlen(a->names[i]), x, sizeof(x));
	size_t ny = fold(b->names[j], strlen(b->names[j]), y, sizeof(y));
	if (nx == (size_t)-1 || ny == (size_t)-1)
		return !strcmp(a->names[i], b->names[j]);
	return !strcmp(x, y);
}

/* Append one column name (trimmed) to a schema being parsed. */
static int schema_add(s3i_inv_schema *s, size_t cap, const char *name, size_t len,
	s3i_errinfo *err)
{
	name = s3i_str_trim(name, &len);
	if (!len || len > 200)
		return s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema has %s column name (column %zu)",
			len ? "an overlong" : "an empty", s->n + 1);
	if (s->n == cap)
		return s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema has too many columns");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20)
			return s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema has a control character in "
				"column %zu", s->n + 1);
	char *copy = s3i_strndup(s->alloc, name, len);
	if (!copy)
		return s3i_err(err, S3I_ENOMEM, "fileSchema", "fileSchema: out of memory");
	s->names[s->n] = copy;
	s->ids[s->n] = s3i_inv_column_lookup(name, len);
	s->n++;
	for (size_t i = 0; i + 1 < s->n; i++)
		if (same_column(s, i, s, s->n - 1))
			return s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema names the column '%.60s' "
				"twice (columns %zu and %zu)", copy, i + 1, s->n);
	return S3I_OK;
}

/* Split [p, end) at `sep` (with `nested`, only outside <> and ()), adding each piece through
 * take(). */
typedef int (*piece_fn)(s3i_inv_schema *s, size_t cap, const char *p, size_t len,
	s3i_errinfo *err);

static int split(s3i_inv_schema *s, size_t cap, const char *p, const char *end, char sep,
	int nested, int skip_empty, piece_fn take, s3i_errinfo *err)
{
	int depth = 0;
	const char *from = p;
	for (const char *q = p; q <= end; q++) {
		if (nested && q < end && (*q == '<' || *q == '('))
			depth++;
		else if (nested && q < end && (*q == '>' || *q == ')'))
			depth--;
		if (q == end || (*q == sep && depth == 0)) {
			size_t len = (size_t)(q - from);
			const char *t = s3i_str_trim(from, &len);
			if (!(skip_empty && !len)) {
				int rc = take(s, cap, t, len, err);
				if (rc)
					return rc;
			}
			from = q + 1;
		}
	}
	return S3I_OK;
}

static int take_csv(s3i_inv_schema *s, size_t cap, const char *p, size_t len, s3i_errinfo *err)
{
	return schema_add(s, cap, p, len, err);
}

/* ORC: "name:type" */
static int take_orc(s3i_inv_schema *s, size_t cap, const char *p, size_t len, s3i_errinfo *err)
{
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return s3i_err(err, S3I_EPARSE, "fileSchema", "ORC fileSchema column %zu has no type "
			"(name:type)", s->n + 1);
	return schema_add(s, cap, p, (size_t)(colon - p), err);
}

/* Parquet: "required binary key (UTF8)" -> the last word before any parenthesis. */
static int take_parquet(s3i_inv_schema *s, size_t cap, const char *p, size_t len,
	s3i_errinfo *err)
{
	const char *paren = memchr(p, '(', len);
	if (paren)
		len = (size_t)(paren - p);
	if (memchr(p, '{', len))
		return s3i_err(err, S3I_EPARSE, "fileSchema", "Parquet fileSchema has a nested group "
			"(column %zu)", s->n + 1);
	const char *t = s3i_str_trim(p, &len);
	size_t start = len;
	while (start > 0 && t[start - 1] != ' ' && t[start - 1] != '\t')
		start--;
	if (start == 0)
		return s3i_err(err, S3I_EPARSE, "fileSchema", "Parquet fileSchema column %zu has no "
			"type", s->n + 1);
	return schema_add(s, cap, t + start, len - start, err);
}

int s3i_inv_schema_parse(s3i_inv_schema *out, s3i_report_format fmt, const char *text,
	size_t len, const s3i_allocator *a, s3i_errinfo *err)
{
	if (!out)
		return s3i_err(err, S3I_EINVALID, "fileSchema", "fileSchema: no output given");
	memset(out, 0, sizeof(*out));
	out->alloc = a ? a : s3i_allocator_default();
	if (!text)
		return s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema is missing");
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += text[i] == ',' || text[i] == ';';
	if (cap > 1000)
		return s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema has too many columns");
	if (schema_init(out, cap, a))
		return s3i_err(err, S3I_ENOMEM, "fileSchema", "fileSchema: out of memory");
	const char *p = text, *end = text + len;
	int rc;
	size_t tl = len;
	const char *t = s3i_str_trim(text, &tl);
	switch (fmt) {
	case S3I_FORMAT_CSV:
		rc = tl ? split(out, cap, p, end, ',', 0, 0, take_csv, err) :
			s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema is empty");
		break;
	case S3I_FORMAT_ORC:
		if (tl < 8 || strncmp(t, "struct<", 7) || t[tl - 1] != '>') {
			rc = s3i_err(err, S3I_EPARSE, "fileSchema", "ORC fileSchema is not struct<...>");
			break;
		}
		rc = split(out, cap, t + 7, t + tl - 1, ',', 1, 0, take_orc, err);
		break;
	case S3I_FORMAT_PARQUET: {
		const char *open = memchr(t, '{', tl), *close = tl ? t + tl - 1 : t;
		if (tl < 9 || strncmp(t, "message", 7) || !open || *close != '}') {
			rc = s3i_err(err, S3I_EPARSE, "fileSchema", "Parquet fileSchema is not "
				"message <name> { ... }");
			break;
		}
		rc = split(out, cap, open + 1, close, ';', 0, 1, take_parquet, err);
		break;
	}
	default:
		rc = s3i_err(err, S3I_EINVALID, "fileSchema", "fileSchema: unknown format %d", (int)fmt);
	}
	if (!rc && out->n == 0)
		rc = s3i_err(err, S3I_EPARSE, "fileSchema", "fileSchema has no columns");
	if (rc)
		s3i_inv_schema_dispose(out);
	return rc;
}

int s3i_inv_schema_from_ids(s3i_inv_schema *out, const int *ids, size_t n,
	const s3i_allocator *a)
{
	if (!out || (!ids && n))
		return S3I_EINVALID;
	if (schema_init(out, n, a))
		return S3I_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= ids[j] == ids[i];
		if (ids[i] < 0 || ids[i] >= S3I_COL_COUNT || dup) {
			s3i_inv_schema_dispose(out);
			return S3I_EINVALID;
		}
		out->names[i] = s3i_strdup(out->alloc, col_field[ids[i]]);
		if (!out->names[i]) {
			s3i_inv_schema_dispose(out);
			return S3I_ENOMEM;
		}
		out->ids[i] = ids[i];
		out->n = i + 1;
	}
	return S3I_OK;
}

int s3i_inv_schema_canonical(s3i_inv_schema *out, int all_versions, const s3i_allocator *a)
{
	const char *const *fields;
	size_t n = s3i_ddl_canonical_columns(all_versions, &fields);
	int ids[S3I_COL_COUNT];
	for (size_t i = 0; i < n && i < S3I_COL_COUNT; i++)
		ids[i] = s3i_inv_column_lookup(fields[i], strlen(fields[i]));
	return s3i_inv_schema_from_ids(out, ids, n < S3I_COL_COUNT ? n : S3I_COL_COUNT, a);
}

int s3i_inv_schema_equal(const s3i_inv_schema *a, const s3i_inv_schema *b)
{
	if (!a || !b || a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!same_column(a, i, b, i))
			return 0;
	return 1;
}

int s3i_inv_schema_find(const s3i_inv_schema *s, int col)
{
	for (size_t i = 0; s && col != S3I_COL_UNKNOWN && i < s->n; i++)
		if (s->ids[i] == col)
			return (int)i;
	return -1;
}

int s3i_inv_schema_format(s3i_buf *out, const s3i_inv_schema *s)
{
	if (!out || !s)
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = S3I_OK;
	for (size_t i = 0; !rc && i < s->n; i++) {
		if (i)
			rc = s3i_buf_puts(out, ", ");
		if (!rc)
			rc = s3i_buf_puts(out, s->ids[i] >= 0 ? col_field[s->ids[i]] : s->names[i]);
	}
	if (!rc && !out->ptr)
		rc = s3i_buf_puts(out, "");
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

int s3i_inv_schema_map(const s3i_inv_schema *from, const s3i_inv_schema *to, int32_t *map,
	size_t *dropped, s3i_errinfo *err)
{
	if (!from || !to || (!map && to->n))
		return s3i_err(err, S3I_EINVALID, "fileSchema", "schema map: missing argument");
	static const int needed[] = { S3I_COL_BUCKET, S3I_COL_KEY };
	for (size_t k = 0; k < 2; k++)
		if (s3i_inv_schema_find(to, needed[k]) >= 0 && s3i_inv_schema_find(from, needed[k]) < 0)
			return s3i_err(err, S3I_EINVALID, col_field[needed[k]], "the data file's fileSchema "
				"has no %s column", col_field[needed[k]]);
	size_t used = 0;
	for (size_t j = 0; j < to->n; j++) {
		map[j] = -1;
		for (size_t i = 0; i < from->n; i++)
			if (same_column(from, i, to, j)) {
				map[j] = (int32_t)i;
				used++;
				break;
			}
	}
	if (dropped)
		*dropped = from->n - used;
	return S3I_OK;
}

/* ------------------------------------------------------------------ manifest.json */

#define OFF(x) ((const char *)(uintptr_t)(x))

typedef struct mbuilder {
	s3i_buf arena;
	const char *what;
	s3i_errinfo *err;
} mbuilder;

static int mbad(mbuilder *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int mbad(mbuilder *b, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return s3i_err(b->err, S3I_EPARSE, b->what, "%s: %s", b->what, msg);
}

static size_t mkeep(mbuilder *b, const char *s)
{
	size_t off = b->arena.size;
	if (s3i_buf_puts(&b->arena, s ? s : "") || s3i_buf_putc(&b->arena, '\0'))
		return SIZE_MAX;
	return off;
}

static int is_hex32(const char *s, size_t len)
{
	if (len != 32)
		return 0;
	for (size_t i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			(s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static void lower_hex(char out[33], const char *s)
{
	for (int i = 0; i < 32; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] + 32) : s[i];
	out[32] = '\0';
}

void s3i_manifest_dispose(s3i_manifest *m)
{
	if (!m)
		return;
	const s3i_allocator *a = m->alloc;
	s3i_inv_schema_dispose(&m->schema);
	s3i_free(a, m->files);
	s3i_free(a, m->strings);
	memset(m, 0, sizeof(*m));
	m->alloc = a;
}

/* An optional string member; offset of "" when absent. */
static int opt_str(mbuilder *b, s3i_json doc, const char *name, size_t *off)
{
	s3i_json v = s3i_json_get(doc, name);
	if (v && !s3i_json_is_str(v))
		return mbad(b, "%s is not a string", name);
	*off = mkeep(b, s3i_json_str(v));
	return *off == SIZE_MAX ? s3i_err(b->err, S3I_ENOMEM, b->what, "%s: out of memory", b->what)
		: S3I_OK;
}

static int parse_files(mbuilder *b, s3i_json files, s3i_manifest *m)
{
	size_t n = s3i_json_len(files);
	m->files = s3i_calloc(m->alloc, n ? n : 1, sizeof(*m->files));
	if (!m->files)
		return s3i_err(b->err, S3I_ENOMEM, b->what, "%s: out of memory", b->what);
	for (size_t i = 0; i < n; i++) {
		s3i_json f = s3i_json_at(files, i);
		if (!s3i_json_is_obj(f))
			return mbad(b, "files[%zu] is not an object", i);
		const char *key = s3i_json_str(s3i_json_get(f, "key"));
		if (!key || !*key)
			return mbad(b, "files[%zu].key is %s", i,
				s3i_json_get(f, "key") ? "not a non-empty string" : "missing");
		if (!s3i_utf8_valid(key, strlen(key)))
			return mbad(b, "files[%zu].key is not valid UTF-8", i);
		int64_t size;
		s3i_json sz = s3i_json_get(f, "size");
		if (!sz || s3i_json_i64(sz, &size) || size < 0)
			return mbad(b, "files[%zu].size is %s", i, sz ? "not a number of bytes" : "missing");
		const char *md5 = s3i_json_str(s3i_json_get(f, "MD5checksum"));
		if (!md5 || !is_hex32(md5, strlen(md5)))
			return mbad(b, "files[%zu].MD5checksum is %s", i,
				s3i_json_get(f, "MD5checksum") ? "not 32 hex digits" : "missing");
		size_t off = mkeep(b, key);
		if (off == SIZE_MAX)
			return s3i_err(b->err, S3I_ENOMEM, b->what, "%s: out of memory", b->what);
		m->files[i].key = OFF(off);
		m->files[i].size = size;
		lower_hex(m->files[i].md5, md5);
		if (m->total_size > INT64_MAX - size)
			return mbad(b, "the sizes in files[] add up to more than 2^63 bytes");
		m->total_size += size;
		m->n_files = i + 1;
	}
	return S3I_OK;
}

/* A key listed twice would be copied and counted twice. Keys are offsets until resolved. */
static int check_unique(mbuilder *b, const s3i_manifest *m)
{
	for (size_t i = 1; i < m->n_files; i++) {
		const char *ki = b->arena.ptr + (uintptr_t)m->files[i].key;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ki, b->arena.ptr + (uintptr_t)m->files[j].key))
				return mbad(b, "files[%zu].key repeats files[%zu].key", i, j);
	}
	return S3I_OK;
}

int s3i_manifest_parse(s3i_manifest *out, const char *json, size_t len, const char *what,
	const s3i_allocator *a, s3i_errinfo *err)
{
	if (!what)
		what = "manifest.json";
	if (!out)
		return s3i_err(err, S3I_EINVALID, what, "%s: no output given", what);
	memset(out, 0, sizeof(*out));
	out->alloc = a ? a : s3i_allocator_default();
	out->schema.alloc = out->alloc;
	s3i_manifest m = *out;
	m.creation_ms = -1;
	mbuilder b = { S3I_BUF_INIT, what, err };
	s3i_buf_init(&b.arena, m.alloc);
	s3i_json doc = NULL;
	int rc = json ? s3i_json_parse(&doc, json, len, what, err) : mbad(&b, "no text given");
	size_t o_src = 0, o_dst = 0, o_ver = 0, o_ts = 0, o_schema = 0;
	if (!rc && !s3i_json_is_obj(doc))
		rc = mbad(&b, "it is not a JSON object");
	if (!rc) {
		const char *src = s3i_json_str(s3i_json_get(doc, "sourceBucket"));
		if (!src || !*src)
			rc = mbad(&b, "sourceBucket is %s", s3i_json_get(doc, "sourceBucket") ?
				"not a non-empty string" : "missing");
		else if (!s3i_utf8_valid(src, strlen(src)))
			rc = mbad(&b, "sourceBucket is not valid UTF-8");
		else if ((o_src = mkeep(&b, src)) == SIZE_MAX)
			rc = s3i_err(err, S3I_ENOMEM, what, "%s: out of memory", what);
	}
	if (!rc)
		rc = opt_str(&b, doc, "destinationBucket", &o_dst);
	if (!rc)
		rc = opt_str(&b, doc, "version", &o_ver);
	if (!rc) {
		/* creationTimestamp: epoch milliseconds as a string (AWS), or a number */
		s3i_json ts = s3i_json_get(doc, "creationTimestamp");
		const char *txt = s3i_json_is_str(ts) ? s3i_json_str(ts) : s3i_json_num_text(ts);
		if (ts && (!txt || s3i_json_i64(ts, &m.creation_ms) || m.creation_ms < 0))
			rc = mbad(&b, "creationTimestamp is not a number of milliseconds");
		else if ((o_ts = mkeep(&b, txt)) == SIZE_MAX)
			rc = s3i_err(err, S3I_ENOMEM, what, "%s: out of memory", what);
	}
	if (!rc) {
		const char *f = s3i_json_str(s3i_json_get(doc, "fileFormat"));
		if (!f)
			rc = mbad(&b, "fileFormat is %s", s3i_json_get(doc, "fileFormat") ?
				"not a string" : "missing");
		else if (s3i_strcaseeq(f, "CSV"))
			m.format = S3I_FORMAT_CSV;
		else if (s3i_strcaseeq(f, "ORC"))
			m.format = S3I_FORMAT_ORC;
		else if (s3i_strcaseeq(f, "Parquet"))
			m.format = S3I_FORMAT_PARQUET;
		else
			rc = mbad(&b, "fileFormat \"%.20s\" is not CSV, ORC or Parquet", f);
	}
	if (!rc) {
		const char *schema = s3i_json_str(s3i_json_get(doc, "fileSchema"));
		if (!schema)
			rc = mbad(&b, "fileSchema is %s", s3i_json_get(doc, "fileSchema") ?
				"not a string" : "missing");
		else if ((o_schema = mkeep(&b, schema)) == SIZE_MAX)
			rc = s3i_err(err, S3I_ENOMEM, what, "%s: out of memory", what);
		else if ((rc = s3i_inv_schema_parse(&m.schema, m.format, schema, strlen(schema), m.alloc,
			err)) == S3I_EPARSE)
			s3i_err_prefix(err, "%s: ", what);
	}
	if (!rc) {
		s3i_json files = s3i_json_get(doc, "files");
		if (!s3i_json_is_arr(files))
			rc = mbad(&b, "files is %s", files ? "not an array" : "missing");
		else
			rc = parse_files(&b, files, &m);
	}
	if (!rc)
		rc = check_unique(&b, &m);
	s3i_json_free(doc);
	if (rc) {
		s3i_inv_schema_dispose(&m.schema);
		s3i_free(m.alloc, m.files);
		s3i_buf_dispose(&b.arena);
		return rc;
	}
	char *base = s3i_buf_detach(&b.arena);
	m.strings = base;
	m.source_bucket = base + o_src;
	m.destination_bucket = base + o_dst;
	m.version = base + o_ver;
	m.creation_timestamp = base + o_ts;
	m.file_schema = base + o_schema;
	for (size_t i = 0; i < m.n_files; i++)
		m.files[i].key = base + (uintptr_t)m.files[i].key;
	*out = m;
	return S3I_OK;
}

int s3i_md5_hex(const void *data, size_t len, char out[33])
{
	unsigned char raw[16];
	int rc = s3i_md5(data, len, raw);
	if (rc)
		return rc;
	s3i_hex_encode(out, raw, 16);
	return S3I_OK;
}

int s3i_manifest_checksum_verify(const char *manifest, size_t len, const char *checksum,
	size_t checksum_len, const char *what, s3i_errinfo *err)
{
	if (!what)
		what = "manifest.json";
	if (!manifest || !checksum)
		return s3i_err(err, S3I_EINVALID, what, "%s: nothing to verify", what);
	size_t n = checksum_len;
	const char *t = s3i_str_trim(checksum, &n);
	if (!is_hex32(t, n))
		return s3i_err(err, S3I_EPARSE, what, "the manifest.checksum of %s does not hold an MD5 "
			"(32 hex digits)", what);
	char want[33], have[33];
	lower_hex(want, t);
	int rc = s3i_md5_hex(manifest, len, have);
	if (rc)
		return s3i_err(err, rc, what, "%s: MD5 is not available", what);
	if (strcmp(want, have))
		return s3i_err(err, S3I_ECHECKSUM, what, "%s does not match its manifest.checksum: MD5 "
			"%s, checksum %s", what, have, want);
	return S3I_OK;
}

int s3i_manifest_checksum_text(const char *manifest, size_t len, char out[33])
{
	if (!manifest || !out)
		return S3I_EINVALID;
	return s3i_md5_hex(manifest, len, out);
}

int s3i_manifest_write(s3i_buf *out, const s3i_manifest_spec *spec, s3i_errinfo *err)
{
	const char *what = "manifest.json";
	if (!out || !spec)
		return s3i_err(err, S3I_EINVALID, what, "%s: missing argument", what);
	if (!spec->source_bucket || !*spec->source_bucket)
		return s3i_err(err, S3I_EINVALID, "sourceBucket", "%s: no source bucket", what);
	if (!spec->destination_bucket || !*spec->destination_bucket)
		return s3i_err(err, S3I_EINVALID, "destinationBucket", "%s: no destination bucket", what);
	if (!spec->schema || !spec->schema->n)
		return s3i_err(err, S3I_EINVALID, "fileSchema", "%s: no columns", what);
	if (spec->n_files && !spec->files)
		return s3i_err(err, S3I_EINVALID, "files", "%s: no files given", what);
	for (size_t i = 0; i < spec->n_files; i++) {
		const s3i_manifest_file *f = &spec->files[i];
		if (!f->key || !*f->key || f->size < 0 || !is_hex32(f->md5, 32) || f->md5[32])
			return s3i_err(err, S3I_EINVALID, "files", "%s: files[%zu] needs a key, a size and "
				"an MD5 of 32 hex digits", what, i);
	}
	size_t mark = out->size;
	s3i_buf scratch;
	s3i_buf_init(&scratch, out->alloc);
	int rc = s3i_inv_schema_format(&scratch, spec->schema);
	char ts[24];
	snprintf(ts, sizeof(ts), "%" PRId64, spec->creation_ms < 0 ? INT64_C(0) : spec->creation_ms);
	s3i_json_writer w;
	s3i_jw_init(&w, out);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "sourceBucket");
	s3i_jw_str(&w, spec->source_bucket);
	s3i_jw_key(&w, "destinationBucket");
	if (!strncmp(spec->destination_bucket, "arn:", 4)) {
		s3i_jw_str(&w, spec->destination_bucket);
	} else {
		s3i_buf arn;
		s3i_buf_init(&arn, out->alloc);
		if (s3i_buf_printf(&arn, "arn:aws:s3:::%s", spec->destination_bucket))
			rc = S3I_ENOMEM;
		s3i_jw_str(&w, s3i_buf_cstr(&arn));
		s3i_buf_dispose(&arn);
	}
	s3i_jw_key(&w, "version");
	s3i_jw_str(&w, "2016-11-30");
	s3i_jw_key(&w, "creationTimestamp");
	s3i_jw_str(&w, ts);
	s3i_jw_key(&w, "fileFormat");
	s3i_jw_str(&w, "CSV");
	s3i_jw_key(&w, "fileSchema");
	s3i_jw_str(&w, s3i_buf_cstr(&scratch));
	s3i_jw_key(&w, "files");
	s3i_jw_arr_open(&w);
	for (size_t i = 0; i < spec->n_files; i++) {
		char md5[33];
		lower_hex(md5, spec->files[i].md5);
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "key");
		s3i_jw_str(&w, spec->files[i].key);
		s3i_jw_key(&w, "size");
		s3i_jw_i64(&w, spec->files[i].size);
		s3i_jw_key(&w, "MD5checksum");
		s3i_jw_str(&w, md5);
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_obj_close(&w);
	int wrc = s3i_jw_finish(&w);
	s3i_buf_dispose(&scratch);
	if (!rc)
		rc = wrc;
	if (rc) {
		s3i_buf_truncate(out, mark);
		return s3i_err(err, rc, what, rc == S3I_ENOMEM ? "%s: out of memory" :
			"%s: a name is not valid UTF-8", what);
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ delivery keys */

void s3i_inventory_timestamp(char out[18], int64_t epoch_ms)
{
	char iso[25];
	s3i_time_iso8601(iso, epoch_ms);          /* 2016-11-06T21:32:00.000Z */
	memcpy(out, iso, 13);                     /* 2016-11-06T21 */
	out[13] = '-';
	memcpy(out + 14, iso + 14, 2);
	out[16] = 'Z';
	out[17] = '\0';
}

void s3i_inventory_hive_dt(char out[17], int64_t epoch_ms)
{
	char iso[25];
	s3i_time_iso8601(iso, epoch_ms);
	memcpy(out, iso, 10);
	out[10] = '-';
	memcpy(out + 11, iso + 11, 2);
	out[13] = '-';
	memcpy(out + 14, iso + 14, 2);
	out[16] = '\0';
}

static int put_base(s3i_buf *out, const char *prefix, const char *bucket, const char *config_id)
{
	if (!bucket || !*bucket || !config_id || !*config_id)
		return S3I_EINVALID;
	if (prefix && *prefix)
		return s3i_buf_printf(out, "%s%s%s/%s/", prefix,
			prefix[strlen(prefix) - 1] == '/' ? "" : "/", bucket, config_id);
	return s3i_buf_printf(out, "%s/%s/", bucket, config_id);
}

static int finish_key(s3i_buf *out, size_t mark, int rc)
{
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

int s3i_inventory_manifest_key(s3i_buf *out, const char *prefix, const char *bucket,
	const char *config_id, int64_t epoch_ms, const char *name)
{
	if (!out || !name || !*name)
		return S3I_EINVALID;
	size_t mark = out->size;
	char ts[18];
	s3i_inventory_timestamp(ts, epoch_ms);
	int rc = put_base(out, prefix, bucket, config_id);
	if (!rc)
		rc = s3i_buf_printf(out, "%s/%s", ts, name);
	return finish_key(out, mark, rc);
}

int s3i_inventory_data_key(s3i_buf *out, const char *prefix, const char *bucket,
	const char *config_id, const char *file_name)
{
	if (!out || !file_name || !*file_name)
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = put_base(out, prefix, bucket, config_id);
	if (!rc)
		rc = s3i_buf_printf(out, "data/%s", file_name);
	return finish_key(out, mark, rc);
}

int s3i_inventory_symlink_key(s3i_buf *out, const char *prefix, const char *bucket,
	const char *config_id, int64_t epoch_ms)
{
	if (!out)
		return S3I_EINVALID;
	size_t mark = out->size;
	char dt[17];
	s3i_inventory_hive_dt(dt, epoch_ms);
	int rc = put_base(out, prefix, bucket, config_id);
	if (!rc)
		rc = s3i_buf_printf(out, "hive/dt=%s/symlink.txt", dt);
	return finish_key(out, mark, rc);
}
