#include "core/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "core/alloc.h"
#include "core/str.h"
#include "s3insights/errors.h"

/* ---------------------------------------------------------------- parsing */

/*
 * What yajl_tree_parse would accept but we do not, checked before it runs: NUL bytes (the
 * tree parser reads a C string), comments (yajl_tree enables them) and nesting deeper than
 * S3I_JSON_MAX_DEPTH (yajl_tree_free recurses). Strings are tracked the way a JSON lexer
 * tracks them, so brackets inside strings do not count.
 */
static const char *prescan(const char *s, size_t len)
{
	int depth = 0, in_str = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\0')
			return "it contains a NUL byte";
		if (in_str) {
			if (c == '\\') {
				if (i + 1 < len && s[i + 1] == '\0')
					return "it contains a NUL byte";
				i++;      /* the escaped byte cannot end the string */
			} else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			if (++depth > S3I_JSON_MAX_DEPTH)
				return "it is nested too deeply";
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case '/':
			return "it contains a comment";
		default:
			break;
		}
	}
	return NULL;
}

/* yajl's message is "parse error: <what>\n<input excerpt>\n<arrow>": keep the first line. */
static void first_line(char *msg)
{
	msg[strcspn(msg, "\r\n")] = '\0';
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\t'))
		msg[--n] = '\0';
}

int s3i_json_parse(s3i_json *out, const char *data, size_t len, const char *what, s3i_errinfo *err)
{
	if (!what)
		what = "JSON document";
	if (!out)
		return s3i_err(err, S3I_EINVALID, NULL, "parsing the %s: out is NULL", what);
	*out = NULL;
	if (!data)
		len = 0;
	const char *bad = prescan(data, len);
	if (bad)
		return s3i_err(err, S3I_EPARSE, NULL, "the %s is not valid JSON: %s", what, bad);
	const s3i_allocator *a = s3i_allocator_default();
	char *copy = s3i_strndup(a, len ? data : "", len);
	if (!copy)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory parsing the %s", what);
	char msg[512];
	msg[0] = '\0';
	yajl_val v = yajl_tree_parse(copy, msg, sizeof(msg));
	s3i_free(a, copy);
	if (!v) {
		first_line(msg);
		if (!strncmp(msg, "Out of memory", 13))
			return s3i_err(err, S3I_ENOMEM, NULL, "out of memory parsing the %s", what);
		return s3i_err(err, S3I_EPARSE, NULL, "the %s is not valid JSON: %s", what,
			msg[0] ? msg : "empty document");
	}
	*out = v;
	return S3I_OK;
}

void s3i_json_free(s3i_json v)
{
	if (v)
		yajl_tree_free(v);
}

/* ---------------------------------------------------------------- accessors */

s3i_json s3i_json_get(s3i_json obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj) || !key)
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!strcmp(obj->u.object.keys[i], key))
			return obj->u.object.values[i];
	return NULL;
}

/* A path segment that is all digits indexes an array. */
static s3i_json step(s3i_json v, const char *seg, size_t n)
{
	if (YAJL_IS_ARRAY(v) && n > 0 && n < 20) {
		size_t idx = 0;
		size_t i = 0;
		for (; i < n && seg[i] >= '0' && seg[i] <= '9'; i++)
			idx = idx * 10 + (size_t)(seg[i] - '0');
		return i == n ? s3i_json_at(v, idx) : NULL;
	}
	if (!YAJL_IS_OBJECT(v))
		return NULL;
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		if (!strncmp(k, seg, n) && k[n] == '\0')
			return v->u.object.values[i];
	}
	return NULL;
}

s3i_json s3i_json_path(s3i_json obj, const char *dotted)
{
	if (!dotted)
		return NULL;
	s3i_json v = obj;
	const char *s = dotted;
	for (;;) {
		size_t n = strcspn(s, ".");
		v = step(v, s, n);
		if (!v || s[n] == '\0')
			return v;
		s += n + 1;
	}
}

const char *s3i_json_str(s3i_json v) { return YAJL_IS_STRING(v) ? v->u.string : NULL; }
int s3i_json_is_str(s3i_json v) { return YAJL_IS_STRING(v); }
int s3i_json_is_num(s3i_json v) { return YAJL_IS_NUMBER(v); }
int s3i_json_is_obj(s3i_json v) { return YAJL_IS_OBJECT(v); }
int s3i_json_is_arr(s3i_json v) { return YAJL_IS_ARRAY(v); }
int s3i_json_is_bool(s3i_json v) { return YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v); }
int s3i_json_is_null(s3i_json v) { return YAJL_IS_NULL(v); }

int s3i_json_bool(s3i_json v, int dflt)
{
	if (YAJL_IS_TRUE(v))
		return 1;
	if (YAJL_IS_FALSE(v))
		return 0;
	return dflt;
}

/* Optional '-', then digits only, within int64. */
static int parse_i64(const char *s, int64_t *out)
{
	if (!s)
		return S3I_EINVALID;
	int neg = *s == '-';
	if (neg)
		s++;
	if (!*s)
		return S3I_EINVALID;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return S3I_EINVALID;
		unsigned d = (unsigned)(*s - '0');
		if (v > (limit - d) / 10)
			return S3I_EINVALID;
		v = v * 10 + d;
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return S3I_OK;
}

int s3i_json_i64(s3i_json v, int64_t *out)
{
	if (!out)
		return S3I_EINVALID;
	if (YAJL_IS_NUMBER(v))
		return parse_i64(v->u.number.r, out);
	if (YAJL_IS_STRING(v))
		return parse_i64(v->u.string, out);
	return S3I_EINVALID;
}

double s3i_json_double(s3i_json v, double dflt)
{
	const char *s = YAJL_IS_NUMBER(v) ? v->u.number.r : YAJL_IS_STRING(v) ? v->u.string : NULL;
	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')) ||
		s[strspn(s, "0123456789+-.eE")] != '\0')
		return dflt;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (*end || !isfinite(d))
		return dflt;
	return d;
}

const char *s3i_json_num_text(s3i_json v) { return YAJL_IS_NUMBER(v) ? v->u.number.r : NULL; }

size_t s3i_json_len(s3i_json v)
{
	if (YAJL_IS_ARRAY(v))
		return v->u.array.len;
	if (YAJL_IS_OBJECT(v))
		return v->u.object.len;
	return 0;
}

s3i_json s3i_json_at(s3i_json arr, size_t i)
{
	return YAJL_IS_ARRAY(arr) && i < arr->u.array.len ? arr->u.array.values[i] : NULL;
}

const char *s3i_json_key_at(s3i_json obj, size_t i)
{
	return YAJL_IS_OBJECT(obj) && i < obj->u.object.len ? obj->u.object.keys[i] : NULL;
}

s3i_json s3i_json_val_at(s3i_json obj, size_t i)
{
	return YAJL_IS_OBJECT(obj) && i < obj->u.object.len ? obj->u.object.values[i] : NULL;
}

/* ---------------------------------------------------------------- escaping */

int s3i_json_escape(s3i_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (!s)
		len = 0;
	size_t mark = out->size;
	const unsigned char *u = (const unsigned char *)s;
	/* worst case 6 bytes per input byte plus quotes: reserve for the common case only */
	int rc = s3i_buf_grow(out, len + 2);
	if (!rc)
		rc = s3i_buf_putc(out, '"');
	size_t run = 0;
	for (size_t i = 0; i < len && !rc;) {
		unsigned char c = u[i];
		if (c >= 0x80) {
			size_t n = s3i_utf8_seq(u + i, len - i);
			if (!n) {
				rc = S3I_EINVALID;
				break;
			}
			i += n;
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		rc = s3i_buf_put(out, s + run, i - run);
		if (!rc) {
			char esc[7] = { '\\', (char)c, 0 };
			if (c < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				esc[6] = 0;
			}
			rc = s3i_buf_puts(out, esc);
		}
		run = ++i;
	}
	if (!rc && len > run)
		rc = s3i_buf_put(out, s + run, len - run);
	if (!rc)
		rc = s3i_buf_putc(out, '"');
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

/* ---------------------------------------------------------------- writer */

void s3i_jw_init(s3i_json_writer *w, s3i_buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	if (!out)
		w->error = S3I_EINVALID;
}

static int set_error(s3i_json_writer *w, int rc)
{
	if (!w->error)
		w->error = rc;
	return w->error;
}

/* Before any value: the comma, or the check that a key came first. */
static int begin_value(s3i_json_writer *w)
{
	if (w->error)
		return w->error;
	if (w->depth == 0) {
		if (w->done)
			return set_error(w, S3I_EINVALID);
		return S3I_OK;
	}
	int d = w->depth - 1;
	if (w->in_obj[d]) {
		if (!w->after_key)
			return set_error(w, S3I_EINVALID);
		w->after_key = 0;
		return S3I_OK;
	}
	if (w->need_comma[d]) {
		int rc = s3i_buf_putc(w->out, ',');
		if (rc)
			return set_error(w, rc);
	}
	w->need_comma[d] = 1;
	return S3I_OK;
}

static void end_value(s3i_json_writer *w)
{
	if (w->depth == 0)
		w->done = 1;
}

static void put(s3i_json_writer *w, const char *s, size_t n)
{
	int rc = s3i_buf_put(w->out, s, n);
	if (rc)
		set_error(w, rc);
}

static void open_container(s3i_json_writer *w, int is_obj)
{
	if (begin_value(w))
		return;
	if (w->depth >= S3I_JSON_WRITER_MAX_DEPTH) {
		set_error(w, S3I_EINVALID);
		return;
	}
	put(w, is_obj ? "{" : "[", 1);
	if (w->error)
		return;
	w->in_obj[w->depth] = (unsigned char)is_obj;
	w->need_comma[w->depth] = 0;
	w->depth++;
}

static void close_container(s3i_json_writer *w, int is_obj)
{
	if (w->error)
		return;
	if (w->depth == 0 || w->in_obj[w->depth - 1] != is_obj || w->after_key) {
		set_error(w, S3I_EINVALID);
		return;
	}
	put(w, is_obj ? "}" : "]", 1);
	if (w->error)
		return;
	w->depth--;
	end_value(w);
}

void s3i_jw_obj_open(s3i_json_writer *w) { open_container(w, 1); }
void s3i_jw_obj_close(s3i_json_writer *w) { close_container(w, 1); }
void s3i_jw_arr_open(s3i_json_writer *w) { open_container(w, 0); }
void s3i_jw_arr_close(s3i_json_writer *w) { close_container(w, 0); }

void s3i_jw_key(s3i_json_writer *w, const char *key)
{
	if (w->error)
		return;
	int d = w->depth - 1;
	if (d < 0 || !w->in_obj[d] || w->after_key || !key) {
		set_error(w, S3I_EINVALID);
		return;
	}
	if (w->need_comma[d])
		put(w, ",", 1);
	if (w->error)
		return;
	int rc = s3i_json_escape(w->out, key, strlen(key));
	if (!rc)
		rc = s3i_buf_putc(w->out, ':');
	if (rc) {
		set_error(w, rc);
		return;
	}
	w->need_comma[d] = 1;
	w->after_key = 1;
}

void s3i_jw_strn(s3i_json_writer *w, const char *s, size_t len)
{
	if (!s && len) {
		set_error(w, S3I_EINVALID);
		return;
	}
	if (begin_value(w))
		return;
	int rc = s3i_json_escape(w->out, s, len);
	if (rc) {
		set_error(w, rc);
		return;
	}
	end_value(w);
}

void s3i_jw_str(s3i_json_writer *w, const char *s)
{
	if (!s)
		s3i_jw_null(w);
	else
		s3i_jw_strn(w, s, strlen(s));
}

static void scalar(s3i_json_writer *w, const char *text)
{
	if (begin_value(w))
		return;
	put(w, text, strlen(text));
	if (!w->error)
		end_value(w);
}

void s3i_jw_i64(s3i_json_writer *w, int64_t v)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, v);
	scalar(w, num);
}

void s3i_jw_bool(s3i_json_writer *w, int v) { scalar(w, v ? "true" : "false"); }
void s3i_jw_null(s3i_json_writer *w) { scalar(w, "null"); }

void s3i_jw_raw(s3i_json_writer *w, const char *json)
{
	if (!json || !*json) {
		set_error(w, S3I_EINVALID);
		return;
	}
	scalar(w, json);
}

int s3i_jw_finish(s3i_json_writer *w)
{
	if (w->error)
		return w->error;
	if (w->depth != 0 || w->after_key || !w->done)
		return set_error(w, S3I_EINVALID);
	return S3I_OK;
}
