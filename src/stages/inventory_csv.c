/* S3 Inventory CSV and gzip streams: see inventory_csv.h. */
#include "stages/inventory_csv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/str.h"

#define CHUNK (64 * 1024)

/* A callback's answer as a status: negative statuses pass, anything else non-zero is EUSER. */
static int cb_status(int v)
{
	return v < 0 && v >= S3I_EUSER ? v : v ? S3I_EUSER : S3I_OK;
}

/* ------------------------------------------------------------------ keys */

int s3i_inventory_key_encode(s3i_buf *out, const char *key, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!out || (!key && len))
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = s3i_buf_grow(out, len);
	for (size_t i = 0; !rc && i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '-' || c == '*' || c == '_') {
			rc = s3i_buf_putc(out, (char)c);
		} else if (c == ' ') {
			rc = s3i_buf_putc(out, '+');
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			rc = s3i_buf_put(out, e, 3);
		}
	}
	if (!rc && !out->ptr)
		rc = s3i_buf_puts(out, "");
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

int s3i_inventory_key_decode(s3i_buf *out, const char *s, size_t len)
{
	if (!out || (!s && len))
		return S3I_EINVALID;
	return s3i_uri_decode(out, s ? s : "", len, 1);
}

/* ------------------------------------------------------------------ reader */

typedef enum rstate {
	R_FIELD_START,       /* at the start of a field */
	R_UNQUOTED,          /* inside an unquoted field */
	R_QUOTED,            /* inside a quoted field */
	R_QUOTE,             /* a quote seen inside a quoted field: doubled, or the end */
	R_AFTER_CR           /* a \r ended the row; a \n right after belongs to it */
} rstate;

struct s3i_csv_reader {
	const s3i_allocator *a;
	char *what;
	size_t max_row;
	s3i_csv_row_fn fn;
	void *user;
	rstate st;
	s3i_buf row;             /* the fields' bytes, each followed by a NUL */
	size_t *starts;          /* offsets of the fields in `row` */
	size_t *lens;
	const char **ptrs;
	size_t n;                /* fields so far in this row (the one being read included) */
	size_t cap;
	size_t raw;              /* bytes of input in this row */
	int quoted_any;          /* this row had a quoted field: it is not blank */
	uint64_t rows;
	int error;               /* sticky */
	s3i_errinfo saved;       /* the sticky error's detail */
};

static int rfail(s3i_csv_reader *r, s3i_errinfo *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static int rfail(s3i_csv_reader *r, s3i_errinfo *err, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->error = code;
	s3i_err(&r->saved, code, r->what, "%s: %s", r->what, msg);
	if (err)
		s3i_errinfo_copy(err, &r->saved);
	return code;
}

int s3i_csv_reader_new(s3i_csv_reader **out, const s3i_allocator *a, const char *what,
	size_t max_row, s3i_csv_row_fn fn, void *user)
{
	if (!out || !fn)
		return s3i_err(NULL, S3I_EINVALID, NULL, "CSV reader: missing argument");
	a = a ? a : s3i_allocator_default();
	s3i_csv_reader *r = s3i_calloc(a, 1, sizeof(*r));
	if (!r)
		return s3i_err(NULL, S3I_ENOMEM, NULL, "CSV reader: out of memory");
	r->a = a;
	r->what = s3i_strdup(a, what ? what : "CSV data file");
	r->max_row = max_row ? max_row : S3I_CSV_DEFAULT_MAX_ROW;
	r->fn = fn;
	r->user = user;
	r->cap = 32;
	r->starts = s3i_calloc(a, r->cap, sizeof(size_t));
	r->lens = s3i_calloc(a, r->cap, sizeof(size_t));
	r->ptrs = s3i_calloc(a, r->cap, sizeof(char *));
	s3i_buf_init(&r->row, a);
	s3i_errinfo_init(&r->saved);
	if (!r->what || !r->starts || !r->lens || !r->ptrs) {
		s3i_csv_reader_free(r);
		return s3i_err(NULL, S3I_ENOMEM, NULL, "CSV reader: out of memory");
	}
	*out = r;
	return S3I_OK;
}

void s3i_csv_reader_free(s3i_csv_reader *r)
{
	if (!r)
		return;
	s3i_buf_dispose(&r->row);
	s3i_free(r->a, r->starts);
	s3i_free(r->a, r->lens);
	s3i_free(r->a, r->ptrs);
	s3i_free(r->a, r->what);
	s3i_free(r->a, r);
}

uint64_t s3i_csv_reader_rows(const s3i_csv_reader *r)
{
	return r ? r->rows : 0;
}

/* Open a new field at the end of the row buffer. */
static int field_open(s3i_csv_reader *r, s3i_errinfo *err)
{
	if (r->n == r->cap) {
		if (r->cap >= S3I_CSV_MAX_FIELDS)
			return rfail(r, err, S3I_EPARSE, "row %" PRIu64 " has more than %d fields",
				r->rows + 1, S3I_CSV_MAX_FIELDS);
		size_t cap = r->cap * 2;
		size_t *s = s3i_realloc(r->a, r->starts, cap * sizeof(size_t));
		if (s)
			r->starts = s;
		size_t *l = s ? s3i_realloc(r->a, r->lens, cap * sizeof(size_t)) : NULL;
		if (l)
			r->lens = l;
		const char **p = l ? s3i_realloc(r->a, r->ptrs, cap * sizeof(char *)) : NULL;
		if (!p)
			return rfail(r, err, S3I_ENOMEM, "out of memory");
		r->ptrs = p;
		r->cap = cap;
	}
	r->starts[r->n++] = r->row.size;
	return S3I_OK;
}

static int field_close(s3i_csv_reader *r, s3i_errinfo *err)
{
	size_t i = r->n - 1;
	r->lens[i] = r->row.size - r->starts[i];
	if (s3i_buf_putc(&r->row, '\0'))
		return rfail(r, err, S3I_ENOMEM, "out of memory");
	return S3I_OK;
}

/* The row is complete: hand it over (a blank line is no row) and start the next. */
static int row_end(s3i_csv_reader *r, s3i_errinfo *err)
{
	int rc = field_close(r, err);
	if (rc)
		return rc;
	int blank = r->n == 1 && r->lens[0] == 0 && !r->quoted_any;
	if (!blank) {
		for (size_t i = 0; i < r->n; i++)
			r->ptrs[i] = r->row.ptr + r->starts[i];
		r->rows++;
		s3i_csv_row row = { r->n, r->ptrs, r->lens, r->rows };
		int v = r->fn(r->user, &row);
		if (v) {
			rc = cb_status(v);
			return rfail(r, err, rc, "row %" PRIu64 ": stopped by the callback", r->rows);
		}
	}
	s3i_buf_clear(&r->row);
	r->n = 0;
	r->raw = 0;
	r->quoted_any = 0;
	return field_open(r, err);
}

static int put_byte(s3i_csv_reader *r, char c, s3i_errinfo *err)
{
	if (s3i_buf_putc(&r->row, c))
		return rfail(r, err, S3I_ENOMEM, "out of memory");
	return S3I_OK;
}

int s3i_csv_reader_feed(s3i_csv_reader *r, const void *data, size_t len, s3i_errinfo *err)
{
	if (!r)
		return s3i_err(err, S3I_EINVALID, NULL, "CSV reader: no reader");
	if (r->error) {
		if (err)
			s3i_errinfo_copy(err, &r->saved);
		return r->error;
	}
	if (r->n == 0) {
		int rc = field_open(r, err);
		if (rc)
			return rc;
	}
	const char *p = data;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		int rc = S3I_OK;
		if (++r->raw > r->max_row)
			return rfail(r, err, S3I_EPARSE, "row %" PRIu64 " is longer than %zu bytes",
				r->rows + 1, r->max_row);
		if (r->st == R_AFTER_CR) {
			/* a \r ended the row: a \n right after it is part of that line end */
			r->st = R_FIELD_START;
			if (c == '\n') {
				r->raw = 0;
				continue;
			}
		}
		switch (r->st) {
		case R_AFTER_CR:
		case R_FIELD_START:
			if (c == '"') {
				r->st = R_QUOTED;
				r->quoted_any = 1;
			} else if (c == ',') {
				rc = field_close(r, err);
				if (!rc)
					rc = field_open(r, err);
			} else if (c == '\n' || c == '\r') {
				rc = row_end(r, err);
				r->st = c == '\r' ? R_AFTER_CR : R_FIELD_START;
			} else {
				rc = put_byte(r, c, err);
				r->st = R_UNQUOTED;
			}
			break;
		case R_UNQUOTED:
			if (c == ',') {
				rc = field_close(r, err);
				if (!rc)
					rc = field_open(r, err);
				r->st = R_FIELD_START;
			} else if (c == '\n' || c == '\r') {
				rc = row_end(r, err);
				r->st = c == '\r' ? R_AFTER_CR : R_FIELD_START;
			} else if (c == '"') {
				return rfail(r, err, S3I_EPARSE, "row %" PRIu64 ", field %zu: a quote inside an "
					"unquoted field", r->rows + 1, r->n);
			} else {
				rc = put_byte(r, c, err);
			}
			break;
		case R_QUOTED:
			if (c == '"')
				r->st = R_QUOTE;
			else
				rc = put_byte(r, c, err);
			break;
		case R_QUOTE:
			if (c == '"') {
				rc = put_byte(r, '"', err);
				r->st = R_QUOTED;
			} else if (c == ',') {
				rc = field_close(r, err);
				if (!rc)
					rc = field_open(r, err);
				r->st = R_FIELD_START;
			} else if (c == '\n' || c == '\r') {
				rc = row_end(r, err);
				r->st = c == '\r' ? R_AFTER_CR : R_FIELD_START;
			} else {
				return rfail(r, err, S3I_EPARSE, "row %" PRIu64 ", field %zu: text after the "
					"closing quote", r->rows + 1, r->n);
			}
			break;
		}
		if (rc)
			return rc;
	}
	return S3I_OK;
}

int s3i_csv_reader_finish(s3i_csv_reader *r, s3i_errinfo *err)
{
	if (!r)
		return s3i_err(err, S3I_EINVALID, NULL, "CSV reader: no reader");
	if (r->error) {
		if (err)
			s3i_errinfo_copy(err, &r->saved);
		return r->error;
	}
	if (r->st == R_QUOTED)
		return rfail(r, err, S3I_EPARSE, "row %" PRIu64 ": the data ends inside a quoted field",
			r->rows + 1);
	int rc = S3I_OK;
	if (r->st == R_AFTER_CR)
		r->st = R_FIELD_START;      /* that row has ended already */
	/* a last row without its "\n" */
	if (r->n > 0 && (r->st != R_FIELD_START || r->n > 1 || r->row.size > r->starts[0]))
		rc = row_end(r, err);
	r->st = R_FIELD_START;
	return rc;
}

/* ------------------------------------------------------------------ writer */

static int put_quoted(s3i_buf *out, const char *s, size_t len)
{
	int rc = s3i_buf_putc(out, '"');
	size_t from = 0;
	for (size_t i = 0; !rc && i < len; i++) {
		if (s[i] == '"') {
			rc = s3i_buf_put(out, s + from, i + 1 - from);   /* through the quote */
			if (!rc)
				rc = s3i_buf_putc(out, '"');                  /* doubled */
			from = i + 1;
		}
	}
	if (!rc && from < len)
		rc = s3i_buf_put(out, s + from, len - from);
	return rc ? rc : s3i_buf_putc(out, '"');
}

int s3i_csv_put_row(s3i_buf *out, const char *const *fields, const size_t *lens, size_t n)
{
	if (!out || (!fields && n))
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = S3I_OK;
	for (size_t i = 0; !rc && i < n; i++) {
		if (i)
			rc = s3i_buf_putc(out, ',');
		const char *f = fields[i] ? fields[i] : "";
		if (!rc)
			rc = put_quoted(out, f, fields[i] && lens ? lens[i] : strlen(f));
	}
	if (!rc)
		rc = s3i_buf_putc(out, '\n');
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

void s3i_inv_format_bool(char out[6], int v)
{
	strcpy(out, v ? "true" : "false");
}

void s3i_inv_format_i64(char out[21], int64_t v)
{
	snprintf(out, 21, "%" PRId64, v);
}

void s3i_inv_format_time(char out[25], int64_t epoch_ms)
{
	s3i_time_iso8601(out, epoch_ms);
}

int s3i_inv_csv_put_object(s3i_buf *out, const s3i_inv_schema *schema,
	const char *const vals[S3I_COL_COUNT])
{
	if (!out || !schema || !vals)
		return S3I_EINVALID;
	size_t mark = out->size;
	s3i_buf key;
	s3i_buf_init(&key, out->alloc);
	int rc = S3I_OK;
	for (size_t i = 0; !rc && i < schema->n; i++) {
		int col = schema->ids[i];
		const char *v = col >= 0 && col < S3I_COL_COUNT ? vals[col] : NULL;
		if (i)
			rc = s3i_buf_putc(out, ',');
		if (rc)
			break;
		if (col == S3I_COL_KEY && v) {
			rc = s3i_inventory_key_encode(&key, v, strlen(v));
			if (!rc)
				rc = put_quoted(out, key.ptr, key.size);
		} else {
			rc = put_quoted(out, v ? v : "", v ? strlen(v) : 0);
		}
	}
	if (!rc)
		rc = s3i_buf_putc(out, '\n');
	s3i_buf_dispose(&key);
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

/* ------------------------------------------------------------------ rewriter */

int s3i_csv_rewrite_row(s3i_buf *out, const s3i_csv_row *row, const int32_t *map, size_t n_out)
{
	if (!out || !row || (!map && n_out))
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = S3I_OK;
	for (size_t j = 0; !rc && j < n_out; j++) {
		if (j)
			rc = s3i_buf_putc(out, ',');
		int32_t m = map[j];
		if (!rc) {
			if (m >= 0 && (size_t)m < row->n)
				rc = put_quoted(out, row->fields[m], row->lens[m]);
			else
				rc = s3i_buf_puts(out, "\"\"");
		}
	}
	if (!rc)
		rc = s3i_buf_putc(out, '\n');
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

struct s3i_csv_rewriter {
	const s3i_allocator *a;
	char *what;
	s3i_csv_reader *reader;
	int32_t *map;
	size_t n_out;
	size_t n_in;
	int size_col;            /* index of Size in the input, -1 without */
	s3i_sink_fn sink;
	void *user;
	s3i_buf out;
	uint64_t rows;
	int64_t bytes;
	s3i_errinfo row_err;     /* why on_row stopped the reader */
	int row_rc;
};

static int flush_out(s3i_csv_rewriter *rw)
{
	if (!rw->out.size)
		return S3I_OK;
	int rc = cb_status(rw->sink(rw->user, rw->out.ptr, rw->out.size));
	s3i_buf_clear(&rw->out);
	return rc;
}

static int on_row(void *user, const s3i_csv_row *row)
{
	s3i_csv_rewriter *rw = user;
	if (row->n != rw->n_in) {
		rw->row_rc = s3i_err(&rw->row_err, S3I_EPARSE, rw->what, "%s: row %" PRIu64 " has %zu "
			"fields, the fileSchema %zu", rw->what, row->row, row->n, rw->n_in);
		return rw->row_rc;
	}
	if (rw->size_col >= 0) {
		int64_t size = 0;
		const char *s = row->fields[rw->size_col];
		size_t n = row->lens[rw->size_col];
		int ok = n > 0 && n <= 19;
		for (size_t i = 0; ok && i < n; i++) {
			ok = s[i] >= '0' && s[i] <= '9';
			size = size * 10 + (s[i] - '0');
		}
		/* an empty Size (a delete marker) counts 0; anything else must be a number */
		if (n && !ok) {
			rw->row_rc = s3i_err(&rw->row_err, S3I_EPARSE, rw->what, "%s: row %" PRIu64 ": Size "
				"is not a number of bytes", rw->what, row->row);
			return rw->row_rc;
		}
		if (ok) {
			if (rw->bytes > INT64_MAX - size) {
				rw->row_rc = s3i_err(&rw->row_err, S3I_EPARSE, rw->what, "%s: the sizes add up to "
					"more than 2^63 bytes", rw->what);
				return rw->row_rc;
			}
			rw->bytes += size;
		}
	}
	rw->rows++;
	int rc = s3i_csv_rewrite_row(&rw->out, row, rw->map, rw->n_out);
	if (!rc && rw->out.size >= CHUNK)
		rc = flush_out(rw);
	if (rc) {
		rw->row_rc = s3i_err(&rw->row_err, rc, rw->what, rc == S3I_ENOMEM ? "%s: out of memory" :
			"%s: the output stopped", rw->what);
		return rc;
	}
	return 0;
}

int s3i_csv_rewriter_new(s3i_csv_rewriter **out, const s3i_allocator *a, const char *what,
	const s3i_inv_schema *from, const s3i_inv_schema *to, s3i_sink_fn sink, void *user,
	s3i_errinfo *err)
{
	if (!out || !from || !to || !sink)
		return s3i_err(err, S3I_EINVALID, NULL, "CSV rewriter: missing argument");
	a = a ? a : s3i_allocator_default();
	if (!what)
		what = "CSV data file";
	s3i_csv_rewriter *rw = s3i_calloc(a, 1, sizeof(*rw));
	if (!rw)
		return s3i_err(err, S3I_ENOMEM, what, "%s: out of memory", what);
	rw->a = a;
	rw->sink = sink;
	rw->user = user;
	rw->n_in = from->n;
	rw->n_out = to->n;
	rw->size_col = s3i_inv_schema_find(from, S3I_COL_SIZE);
	s3i_buf_init(&rw->out, a);
	s3i_errinfo_init(&rw->row_err);
	rw->what = s3i_strdup(a, what);
	rw->map = s3i_calloc(a, to->n ? to->n : 1, sizeof(int32_t));
	int rc = rw->what && rw->map ? S3I_OK : S3I_ENOMEM;
	if (!rc)
		rc = s3i_inv_schema_map(from, to, rw->map, NULL, err);
	else
		s3i_err(err, rc, what, "%s: out of memory", what);
	if (!rc && (rc = s3i_csv_reader_new(&rw->reader, a, what, 0, on_row, rw)) != S3I_OK)
		s3i_err(err, rc, what, "%s: out of memory", what);
	if (rc) {
		s3i_csv_rewriter_free(rw);
		return rc;
	}
	*out = rw;
	return S3I_OK;
}

/* The reader stopped because on_row did: report on_row's reason, not "stopped". */
static int rewriter_status(s3i_csv_rewriter *rw, int rc, s3i_errinfo *err)
{
	if (rc && rw->row_rc) {
		if (err)
			s3i_errinfo_copy(err, &rw->row_err);
		s3i_errinfo_copy(s3i_errinfo_thread(), &rw->row_err);
		return rw->row_rc;
	}
	return rc;
}

int s3i_csv_rewriter_feed(s3i_csv_rewriter *rw, const void *data, size_t len, s3i_errinfo *err)
{
	if (!rw)
		return s3i_err(err, S3I_EINVALID, NULL, "CSV rewriter: no rewriter");
	return rewriter_status(rw, s3i_csv_reader_feed(rw->reader, data, len, err), err);
}

int s3i_csv_rewriter_finish(s3i_csv_rewriter *rw, s3i_errinfo *err)
{
	if (!rw)
		return s3i_err(err, S3I_EINVALID, NULL, "CSV rewriter: no rewriter");
	int rc = rewriter_status(rw, s3i_csv_reader_finish(rw->reader, err), err);
	if (!rc && (rc = flush_out(rw)) != S3I_OK)
		s3i_err(err, rc, rw->what, "%s: the output stopped", rw->what);
	return rc;
}

uint64_t s3i_csv_rewriter_rows(const s3i_csv_rewriter *rw)
{
	return rw ? rw->rows : 0;
}

int64_t s3i_csv_rewriter_bytes(const s3i_csv_rewriter *rw)
{
	return rw ? rw->bytes : 0;
}

void s3i_csv_rewriter_free(s3i_csv_rewriter *rw)
{
	if (!rw)
		return;
	s3i_csv_reader_free(rw->reader);
	s3i_buf_dispose(&rw->out);
	s3i_free(rw->a, rw->map);
	s3i_free(rw->a, rw->what);
	s3i_free(rw->a, rw);
}

/* ------------------------------------------------------------------ gzip */

/* zlib allocates through the library's allocator, so its memory is bounded and counted. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	if (size && items > SIZE_MAX / size)
		return Z_NULL;
	return s3i_malloc(opaque, (size_t)items * size);
}

static void z_free(voidpf opaque, voidpf ptr)
{
	s3i_free(opaque, ptr);
}

struct s3i_gzip_writer {
	const s3i_allocator *a;
	z_stream z;
	int z_ready;
	EVP_MD_CTX *md5;
	unsigned char out[CHUNK];
	s3i_sink_fn sink;
	void *user;
	uint64_t in_bytes;
	uint64_t out_bytes;
	char digest[33];
	int finished;
	int error;
};

int s3i_gzip_writer_new(s3i_gzip_writer **out, const s3i_allocator *a, int level,
	s3i_sink_fn sink, void *user, s3i_errinfo *err)
{
	if (!out || !sink || level < 0 || level > 9)
		return s3i_err(err, S3I_EINVALID, NULL, "gzip writer: bad argument");
	a = a ? a : s3i_allocator_default();
	s3i_gzip_writer *w = s3i_calloc(a, 1, sizeof(*w));
	if (!w)
		return s3i_err(err, S3I_ENOMEM, NULL, "gzip writer: out of memory");
	w->a = a;
	w->sink = sink;
	w->user = user;
	w->z.zalloc = z_alloc;
	w->z.zfree = z_free;
	w->z.opaque = (voidpf)a;
	/* windowBits 15 + 16: a gzip header and trailer; memLevel 8 is zlib's default */
	int zr = deflateInit2(&w->z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
		Z_DEFAULT_STRATEGY);
	if (zr != Z_OK) {
		s3i_free(a, w);
		return s3i_err(err, zr == Z_MEM_ERROR ? S3I_ENOMEM : S3I_ERROR, NULL,
			"gzip writer: deflateInit2 failed (%d)", zr);
	}
	w->z_ready = 1;
	w->md5 = EVP_MD_CTX_new();
	if (!w->md5 || !EVP_DigestInit_ex(w->md5, EVP_md5(), NULL)) {
		s3i_gzip_writer_free(w);
		return s3i_err(err, S3I_ERROR, NULL, "gzip writer: MD5 is not available");
	}
	*out = w;
	return S3I_OK;
}

/* Run deflate over the pending input with `flush`, handing every full chunk to the sink. */
static int deflate_out(s3i_gzip_writer *w, int flush, s3i_errinfo *err)
{
	for (;;) {
		w->z.next_out = w->out;
		w->z.avail_out = CHUNK;
		int zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR) {
			w->error = S3I_ERROR;
			return s3i_err(err, S3I_ERROR, NULL, "gzip writer: deflate failed");
		}
		size_t have = CHUNK - w->z.avail_out;
		if (have) {
			if (!EVP_DigestUpdate(w->md5, w->out, have)) {
				w->error = S3I_ERROR;
				return s3i_err(err, S3I_ERROR, NULL, "gzip writer: MD5 failed");
			}
			w->out_bytes += have;
			int rc = cb_status(w->sink(w->user, w->out, have));
			if (rc) {
				w->error = rc;
				return s3i_err(err, rc, NULL, "gzip writer: the output stopped");
			}
		}
		if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_out != 0)
			return S3I_OK;
	}
}

int s3i_gzip_writer_write(s3i_gzip_writer *w, const void *data, size_t len, s3i_errinfo *err)
{
	if (!w || (!data && len))
		return s3i_err(err, S3I_EINVALID, NULL, "gzip writer: bad argument");
	if (w->error || w->finished)
		return s3i_err(err, w->error ? w->error : S3I_EINVALID, NULL,
			"gzip writer: the stream is %s", w->error ? "broken" : "finished");
	const unsigned char *p = data;
	while (len) {
		uInt piece = len > (size_t)1 << 30 ? 1u << 30 : (uInt)len;
		w->z.next_in = (Bytef *)(uintptr_t)p;
		w->z.avail_in = piece;
		int rc = deflate_out(w, Z_NO_FLUSH, err);
		if (rc)
			return rc;
		w->in_bytes += piece;
		p += piece;
		len -= piece;
	}
	return S3I_OK;
}

int s3i_gzip_writer_finish(s3i_gzip_writer *w, s3i_errinfo *err)
{
	if (!w)
		return s3i_err(err, S3I_EINVALID, NULL, "gzip writer: no writer");
	if (w->finished)
		return S3I_OK;
	if (w->error)
		return s3i_err(err, w->error, NULL, "gzip writer: the stream is broken");
	w->z.next_in = NULL;
	w->z.avail_in = 0;
	int rc = deflate_out(w, Z_FINISH, err);
	if (rc)
		return rc;
	unsigned char d[16];
	unsigned int dn = 0;
	if (!EVP_DigestFinal_ex(w->md5, d, &dn) || dn != 16) {
		w->error = S3I_ERROR;
		return s3i_err(err, S3I_ERROR, NULL, "gzip writer: MD5 failed");
	}
	s3i_hex_encode(w->digest, d, 16);
	w->finished = 1;
	return S3I_OK;
}

uint64_t s3i_gzip_writer_in_bytes(const s3i_gzip_writer *w)
{
	return w ? w->in_bytes : 0;
}

uint64_t s3i_gzip_writer_out_bytes(const s3i_gzip_writer *w)
{
	return w ? w->out_bytes : 0;
}

int s3i_gzip_writer_md5(const s3i_gzip_writer *w, char out[33])
{
	if (!w || !out || !w->finished)
		return S3I_EINVALID;
	memcpy(out, w->digest, 33);
	return S3I_OK;
}

void s3i_gzip_writer_free(s3i_gzip_writer *w)
{
	if (!w)
		return;
	if (w->z_ready)
		deflateEnd(&w->z);
	EVP_MD_CTX_free(w->md5);
	s3i_free(w->a, w);
}

struct s3i_gunzip {
	const s3i_allocator *a;
	char *what;
	z_stream z;
	int z_ready;
	int in_member;           /* inside a gzip member (header seen, end not yet) */
	int saw_member;          /* at least one member completed or begun */
	unsigned char out[CHUNK];
	s3i_sink_fn sink;
	void *user;
	uint64_t in_bytes;
	uint64_t out_bytes;
	int error;
	s3i_errinfo saved;
};

static int gfail(s3i_gunzip *g, s3i_errinfo *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

static int gfail(s3i_gunzip *g, s3i_errinfo *err, int code, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g->error = code;
	s3i_err(&g->saved, code, g->what, "%s: %s", g->what, msg);
	if (err)
		s3i_errinfo_copy(err, &g->saved);
	return code;
}

int s3i_gunzip_new(s3i_gunzip **out, const s3i_allocator *a, const char *what,
	s3i_sink_fn sink, void *user, s3i_errinfo *err)
{
	if (!out || !sink)
		return s3i_err(err, S3I_EINVALID, NULL, "gunzip: missing argument");
	a = a ? a : s3i_allocator_default();
	s3i_gunzip *g = s3i_calloc(a, 1, sizeof(*g));
	if (!g)
		return s3i_err(err, S3I_ENOMEM, NULL, "gunzip: out of memory");
	g->a = a;
	g->sink = sink;
	g->user = user;
	s3i_errinfo_init(&g->saved);
	g->what = s3i_strdup(a, what ? what : "gzip data");
	g->z.zalloc = z_alloc;
	g->z.zfree = z_free;
	g->z.opaque = (voidpf)a;
	int zr = g->what ? inflateInit2(&g->z, 15 + 16) : Z_MEM_ERROR;   /* gzip only */
	if (zr != Z_OK) {
		s3i_free(a, g->what);
		s3i_free(a, g);
		return s3i_err(err, zr == Z_MEM_ERROR ? S3I_ENOMEM : S3I_ERROR, NULL,
			"gunzip: inflateInit2 failed (%d)", zr);
	}
	g->z_ready = 1;
	*out = g;
	return S3I_OK;
}

int s3i_gunzip_feed(s3i_gunzip *g, const void *data, size_t len, s3i_errinfo *err)
{
	if (!g || (!data && len))
		return s3i_err(err, S3I_EINVALID, NULL, "gunzip: bad argument");
	if (g->error) {
		if (err)
			s3i_errinfo_copy(err, &g->saved);
		return g->error;
	}
	const unsigned char *p = data;
	while (len) {
		uInt piece = len > (size_t)1 << 30 ? 1u << 30 : (uInt)len;
		g->z.next_in = (Bytef *)(uintptr_t)p;
		g->z.avail_in = piece;
		while (g->z.avail_in) {
			uInt before = g->z.avail_in;
			g->z.next_out = g->out;
			g->z.avail_out = CHUNK;
			g->in_member = 1;
			g->saw_member = 1;
			int zr = inflate(&g->z, Z_NO_FLUSH);
			uint64_t at = g->in_bytes + (piece - before) + (before - g->z.avail_in);
			if (zr == Z_MEM_ERROR)
				return gfail(g, err, S3I_ENOMEM, "out of memory");
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
				return gfail(g, err, S3I_EPARSE, "not gzip or corrupt near byte %" PRIu64 " (%s)",
					at, g->z.msg ? g->z.msg : "inflate failed");
			size_t have = CHUNK - g->z.avail_out;
			if (have) {
				g->out_bytes += have;
				int rc = cb_status(g->sink(g->user, g->out, have));
				if (rc)
					return gfail(g, err, rc, "the output stopped");
			}
			if (zr == Z_STREAM_END) {
				/* another member may follow (concatenated .gz files) */
				g->in_member = 0;
				if (inflateReset(&g->z) != Z_OK)
					return gfail(g, err, S3I_ERROR, "inflateReset failed");
			} else if (zr == Z_BUF_ERROR && g->z.avail_in == before && have == 0) {
				break;     /* no progress possible: wait for more input */
			}
		}
		g->in_bytes += piece;
		p += piece;
		len -= piece;
	}
	return S3I_OK;
}

int s3i_gunzip_finish(s3i_gunzip *g, s3i_errinfo *err)
{
	if (!g)
		return s3i_err(err, S3I_EINVALID, NULL, "gunzip: no stream");
	if (g->error) {
		if (err)
			s3i_errinfo_copy(err, &g->saved);
		return g->error;
	}
	if (g->in_member)
		return gfail(g, err, S3I_EPARSE, "the data ends inside a gzip member (truncated after "
			"%" PRIu64 " bytes)", g->in_bytes);
	if (!g->saw_member)
		return gfail(g, err, S3I_EPARSE, "no gzip data at all");
	return S3I_OK;
}

uint64_t s3i_gunzip_out_bytes(const s3i_gunzip *g)
{
	return g ? g->out_bytes : 0;
}

void s3i_gunzip_free(s3i_gunzip *g)
{
	if (!g)
		return;
	if (g->z_ready)
		inflateEnd(&g->z);
	s3i_free(g->a, g->what);
	s3i_free(g->a, g);
}
