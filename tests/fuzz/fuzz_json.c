/*
 * Fuzz the JSON reader and writer. The input is a JSON document as is.
 *  1. s3i_json_parse, then walk the whole tree through every accessor;
 *  2. write the tree back through the s3i_jw_* writer and parse that: the second tree must
 *     equal the first (the writer may refuse only what it documents: strings that are not valid
 *     UTF-8, which yajl lets through from lone \u surrogates, and nesting deeper than 64);
 *  3. every string also through s3i_json_escape on its own, re-parsed and compared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "core/buf.h"
#include "core/json.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void walk(s3i_json v, int depth)
{
	if (depth > S3I_JSON_MAX_DEPTH + 1)
		abort();
	int64_t i64;
	sink += (size_t)s3i_json_is_str(v) + (size_t)s3i_json_is_num(v) + (size_t)s3i_json_is_bool(v) +
		(size_t)s3i_json_is_null(v) + (size_t)s3i_json_bool(v, 2);
	if (s3i_json_i64(v, &i64) == 0)
		sink += (size_t)i64;
	double d = s3i_json_double(v, 0.0);
	sink += d > 1.0;
	const char *s = s3i_json_str(v);
	if (s)
		sink += strlen(s);
	s = s3i_json_num_text(v);
	if (s)
		sink += strlen(s);
	size_t n = s3i_json_len(v);
	if (s3i_json_is_arr(v)) {
		for (size_t i = 0; i < n; i++)
			walk(s3i_json_at(v, i), depth + 1);
		if (s3i_json_at(v, n))
			abort();
	} else if (s3i_json_is_obj(v)) {
		for (size_t i = 0; i < n; i++) {
			const char *k = s3i_json_key_at(v, i);
			if (!k)
				abort();
			s3i_json first = s3i_json_get(v, k);
			if (!first)
				abort();
			if (!strchr(k, '.') && *k && s3i_json_path(v, k) != first)
				abort();
			walk(s3i_json_val_at(v, i), depth + 1);
		}
	} else if (n != 0) {
		abort();
	}
}

static void write_tree(s3i_json_writer *w, s3i_json v)
{
	if (s3i_json_is_obj(v)) {
		s3i_jw_obj_open(w);
		for (size_t i = 0; i < s3i_json_len(v); i++) {
			s3i_jw_key(w, s3i_json_key_at(v, i));
			write_tree(w, s3i_json_val_at(v, i));
		}
		s3i_jw_obj_close(w);
	} else if (s3i_json_is_arr(v)) {
		s3i_jw_arr_open(w);
		for (size_t i = 0; i < s3i_json_len(v); i++)
			write_tree(w, s3i_json_at(v, i));
		s3i_jw_arr_close(w);
	} else if (s3i_json_is_str(v)) {
		s3i_jw_str(w, s3i_json_str(v));
	} else if (s3i_json_is_num(v)) {
		int64_t i64;
		const char *text = s3i_json_num_text(v);
		/* integers through the i64 path when they survive it textually */
		if (s3i_json_i64(v, &i64) == 0 && strcmp(text, "-0") != 0 &&
			(text[0] != '0' || text[1] == '\0'))
			s3i_jw_i64(w, i64);
		else
			s3i_jw_raw(w, text);
	} else if (s3i_json_is_bool(v)) {
		s3i_jw_bool(w, s3i_json_bool(v, 0));
	} else {
		s3i_jw_null(w);
	}
}

static int same(s3i_json a, s3i_json b)
{
	if (!a || !b || a->type != b->type)
		return 0;
	switch (a->type) {
	case yajl_t_string:
		return !strcmp(a->u.string, b->u.string);
	case yajl_t_number:
		return !strcmp(a->u.number.r, b->u.number.r);
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return 0;
		for (size_t i = 0; i < a->u.object.len; i++)
			if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) ||
				!same(a->u.object.values[i], b->u.object.values[i]))
				return 0;
		return 1;
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return 0;
		for (size_t i = 0; i < a->u.array.len; i++)
			if (!same(a->u.array.values[i], b->u.array.values[i]))
				return 0;
		return 1;
	default:
		return 1;
	}
}

static int valid_utf8_cstr(const char *s);

/* The writer refuses exactly: invalid UTF-8 somewhere, or nesting deeper than it writes. */
static int writable(s3i_json v, int depth)
{
	if (s3i_json_is_str(v))
		return valid_utf8_cstr(s3i_json_str(v));
	if (s3i_json_is_obj(v) || s3i_json_is_arr(v)) {
		if (depth >= S3I_JSON_WRITER_MAX_DEPTH)
			return 0;
		for (size_t i = 0; i < s3i_json_len(v); i++) {
			if (s3i_json_is_obj(v) && !valid_utf8_cstr(s3i_json_key_at(v, i)))
				return 0;
			if (!writable(s3i_json_is_obj(v) ? s3i_json_val_at(v, i) : s3i_json_at(v, i),
				depth + 1))
				return 0;
		}
	}
	return 1;
}

/* An independent check: decode and re-encode code points. */
static int valid_utf8_cstr(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		uint32_t cp;
		int n;
		if (u[0] < 0x80) {
			u++;
			continue;
		} else if ((u[0] & 0xE0) == 0xC0) {
			cp = u[0] & 0x1F;
			n = 1;
		} else if ((u[0] & 0xF0) == 0xE0) {
			cp = u[0] & 0x0F;
			n = 2;
		} else if ((u[0] & 0xF8) == 0xF0) {
			cp = u[0] & 0x07;
			n = 3;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((u[i] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i] & 0x3F);
		}
		uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		u += n + 1;
	}
	return 1;
}

static void escape_strings(s3i_json v)
{
	const char *s = s3i_json_str(v);
	if (s) {
		s3i_buf b;
		s3i_buf_init(&b, NULL);
		int rc = s3i_json_escape(&b, s, strlen(s));
		if (rc == 0) {
			s3i_json back = NULL;
			if (s3i_json_parse(&back, b.ptr, b.size, "escaped string", NULL) != 0 ||
				!s3i_json_is_str(back) || strcmp(s3i_json_str(back), s))
				abort();
			s3i_json_free(back);
		} else if (rc != S3I_EINVALID || valid_utf8_cstr(s)) {
			abort();
		}
		s3i_buf_dispose(&b);
	}
	for (size_t i = 0; i < s3i_json_len(v); i++)
		escape_strings(s3i_json_is_obj(v) ? s3i_json_val_at(v, i) : s3i_json_at(v, i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	s3i_json doc = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_json_parse(&doc, (const char *)data, size, "fuzz input", &err);
	if (rc) {
		if (doc || (rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc)
			abort();
		return 0;
	}
	walk(doc, 0);
	escape_strings(doc);

	s3i_buf out;
	s3i_buf_init(&out, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &out);
	write_tree(&w, doc);
	rc = s3i_jw_finish(&w);
	if (rc == 0) {
		if (!writable(doc, 0))
			abort();
		s3i_json again = NULL;
		if (s3i_json_parse(&again, out.ptr, out.size, "rewritten", &err) != 0)
			abort();
		if (!same(doc, again))
			abort();
		s3i_json_free(again);
	} else if (rc != S3I_EINVALID || writable(doc, 0)) {
		abort();
	}
	s3i_buf_dispose(&out);
	s3i_json_free(doc);
	return 0;
}
