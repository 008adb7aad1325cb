/* The JSON reader helpers and the JSON writer (src/core/json.c). */
#include "test_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"

static s3i_json parse_ok(const char *text)
{
	s3i_json v = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_json_parse(&v, text, strlen(text), "test document", &e);
	if (rc)
		fail_msg("parse failed: %s", e.message);
	assert_non_null(v);
	return v;
}

static void expect_parse_error(const char *text, size_t len, const char *msg_part)
{
	if (len == (size_t)-1)
		len = strlen(text);
	s3i_json v = (s3i_json)(uintptr_t)1;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_json_parse(&v, text, len, "DynamoDB GetItem response", &e), S3I_EPARSE);
	assert_null(v);
	assert_int_equal(e.pub.code, S3I_EPARSE);
	assert_non_null(strstr(e.message, "DynamoDB GetItem response is not valid JSON"));
	if (!strstr(e.message, msg_part))
		fail_msg("message '%s' lacks '%s'", e.message, msg_part);
	/* one line, and never a quote of the input */
	assert_null(strchr(e.message, '\n'));
}

/* A DynamoDB GetItem answer (from the DynamoDB API reference), extended. */
static const char get_item[] =
	"{\n"
	"  \"ConsumedCapacity\": {\"CapacityUnits\": 0.5, \"TableName\": \"s3insights-state\"},\n"
	"  \"Item\": {\n"
	"    \"pk\": {\"S\": \"run#2024-05-01T00:00:00Z\"},\n"
	"    \"objects\": {\"N\": \"184467440737\"},\n"
	"    \"bytes\": {\"N\": \"9223372036854775807\"},\n"
	"    \"done\": {\"BOOL\": true},\n"
	"    \"error\": {\"NULL\": true},\n"
	"    \"regions\": {\"L\": [{\"S\": \"us-east-1\"}, {\"S\": \"eu-west-1\"}]},\n"
	"    \"note\": {\"S\": \"caf\\u00e9 \\\"quoted\\\" \\ud83d\\ude00 \\/ tab\\t\"}\n"
	"  }\n"
	"}\n";

static void t_parse_and_accessors(void **state)
{
	(void)state;
	s3i_json doc = parse_ok(get_item);
	assert_true(s3i_json_is_obj(doc));
	assert_int_equal(s3i_json_len(doc), 2);
	assert_string_equal(s3i_json_key_at(doc, 0), "ConsumedCapacity");
	assert_true(s3i_json_is_obj(s3i_json_val_at(doc, 1)));
	assert_null(s3i_json_key_at(doc, 2));
	assert_null(s3i_json_val_at(doc, 2));
	s3i_json item = s3i_json_get(doc, "Item");
	assert_string_equal(s3i_json_str(s3i_json_path(item, "pk.S")), "run#2024-05-01T00:00:00Z");
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "Item.pk.S")), "run#2024-05-01T00:00:00Z");
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "Item.regions.L.1.S")), "eu-west-1");
	assert_null(s3i_json_path(doc, "Item.regions.L.2.S"));
	assert_null(s3i_json_path(doc, "Item.regions.L.x"));
	assert_null(s3i_json_path(doc, "Item.nope"));
	assert_null(s3i_json_path(doc, "Item..pk"));
	assert_null(s3i_json_path(doc, NULL));
	assert_string_equal(s3i_json_str(s3i_json_path(item, "note.S")),
		"caf\xC3\xA9 \"quoted\" \xF0\x9F\x98\x80 / tab\t");
	assert_true(s3i_json_bool(s3i_json_path(item, "done.BOOL"), 0));
	assert_true(s3i_json_is_bool(s3i_json_path(item, "done.BOOL")));
	assert_int_equal(s3i_json_bool(s3i_json_path(item, "pk.S"), 7), 7);
	assert_false(s3i_json_is_null(s3i_json_path(item, "error")));
	assert_true(s3i_json_bool(s3i_json_path(item, "error.NULL"), 0));
	assert_true(s3i_json_is_arr(s3i_json_path(item, "regions.L")));
	assert_int_equal(s3i_json_len(s3i_json_path(item, "regions.L")), 2);
	assert_string_equal(s3i_json_str(s3i_json_get(s3i_json_at(s3i_json_path(item, "regions.L"), 0),
		"S")), "us-east-1");
	assert_null(s3i_json_at(s3i_json_path(item, "regions.L"), 2));
	assert_null(s3i_json_at(item, 0));
	assert_true(s3i_json_is_num(s3i_json_path(doc, "ConsumedCapacity.CapacityUnits")));
	assert_true(s3i_json_double(s3i_json_path(doc, "ConsumedCapacity.CapacityUnits"), 0) == 0.5);
	assert_string_equal(s3i_json_num_text(s3i_json_path(doc, "ConsumedCapacity.CapacityUnits")), "0.5");
	assert_null(s3i_json_num_text(item));
	int64_t n = 0;
	assert_int_equal(s3i_json_i64(s3i_json_path(item, "objects.N"), &n), 0);
	assert_int_equal(n, 184467440737LL);
	assert_int_equal(s3i_json_i64(s3i_json_path(item, "bytes.N"), &n), 0);
	assert_true(n == INT64_MAX);
	/* absent values are NULL everywhere */
	assert_null(s3i_json_get(NULL, "x"));
	assert_null(s3i_json_str(NULL));
	assert_false(s3i_json_is_obj(NULL));
	assert_int_equal(s3i_json_len(NULL), 0);
	assert_int_equal(s3i_json_i64(NULL, &n), S3I_EINVALID);
	assert_true(s3i_json_double(NULL, 2.5) == 2.5);
	s3i_json_free(doc);
	s3i_json_free(NULL);
}

static void t_scalars_at_top_level(void **state)
{
	(void)state;
	s3i_json v = parse_ok("  \"just a string\"  ");
	assert_string_equal(s3i_json_str(v), "just a string");
	s3i_json_free(v);
	v = parse_ok("null");
	assert_true(s3i_json_is_null(v));
	s3i_json_free(v);
	v = parse_ok("[]");
	assert_int_equal(s3i_json_len(v), 0);
	s3i_json_free(v);
	/* not NUL-terminated input */
	char buf[8] = { '[', '1', ']', 'x', 'x', 'x', 'x', 'x' };
	assert_int_equal(s3i_json_parse(&v, buf, 3, NULL, NULL), 0);
	assert_int_equal(s3i_json_len(v), 1);
	s3i_json_free(v);
	/* duplicate keys: the first wins */
	v = parse_ok("{\"a\":1,\"a\":2}");
	assert_string_equal(s3i_json_num_text(s3i_json_get(v, "a")), "1");
	s3i_json_free(v);
}

static void t_big_integers(void **state)
{
	(void)state;
	s3i_json v = parse_ok("[9223372036854775807, 9223372036854775808, -9223372036854775808,"
		"-9223372036854775809, 123456789012345678901234567890, 1.5, 1e3, -0, 0,"
		"\"42\", \"-7\", \"12a\", \"\", \"1.25\", \"0x10\", \"-\", \"+5\", true]");
	int64_t n = 99;
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 0), &n), 0);
	assert_true(n == INT64_MAX);
	n = 99;
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 1), &n), S3I_EINVALID);
	assert_int_equal(n, 99);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 2), &n), 0);
	assert_true(n == INT64_MIN);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 3), &n), S3I_EINVALID);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 4), &n), S3I_EINVALID);
	/* the text is kept as written */
	assert_string_equal(s3i_json_num_text(s3i_json_at(v, 4)), "123456789012345678901234567890");
	assert_true(s3i_json_double(s3i_json_at(v, 4), 0) > 1.2e29);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 5), &n), S3I_EINVALID);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 6), &n), S3I_EINVALID);
	assert_true(s3i_json_double(s3i_json_at(v, 6), 0) == 1000.0);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 7), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 8), &n), 0);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 9), &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 10), &n), 0);
	assert_int_equal(n, -7);
	for (size_t i = 11; i <= 17; i++)
		assert_int_equal(s3i_json_i64(s3i_json_at(v, i), &n), S3I_EINVALID);
	assert_true(s3i_json_double(s3i_json_at(v, 13), -1) == 1.25);
	assert_true(s3i_json_double(s3i_json_at(v, 14), -1) == -1);   /* no hex */
	assert_true(s3i_json_double(s3i_json_at(v, 11), -1) == -1);
	assert_true(s3i_json_double(s3i_json_at(v, 17), -1) == -1);
	assert_int_equal(s3i_json_i64(s3i_json_at(v, 0), NULL), S3I_EINVALID);
	s3i_json_free(v);
}

static void t_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("", 0, "premature EOF");
	expect_parse_error(NULL, 0, "premature EOF");
	expect_parse_error("   ", 3, "premature EOF");
	expect_parse_error("{\"a\":1", 6, "premature EOF");
	expect_parse_error("{\"a\":1,}", 8, "parse error");
	expect_parse_error("{\"a\":1} {}", 10, "trailing garbage");
	expect_parse_error("[1] x", 5, "trailing garbage");
	expect_parse_error("{'a':1}", 7, "error");
	expect_parse_error("[\"\xC3\x28\"]", 6, "invalid bytes in UTF8 string");
	expect_parse_error("[1, // c\n 2]", 12, "it contains a comment");
	expect_parse_error("/* c */ [1]", 11, "it contains a comment");
	expect_parse_error("[1,\0 2]", 7, "it contains a NUL byte");
	expect_parse_error("[\"a\\\0\"]", 7, "it contains a NUL byte");
	expect_parse_error("{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG\" \"x\"}", (size_t)-1, "error");
	/* brackets inside strings do not count as nesting, and a "/" there is no comment */
	s3i_json v = parse_ok("{\"k\": \"[[[[{{{{ // /* \\\" ]]\"}");
	assert_string_equal(s3i_json_str(s3i_json_get(v, "k")), "[[[[{{{{ // /* \" ]]");
	s3i_json_free(v);
	/* the message is kept off the input, so secrets never leak into it */
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	static const char secret[] = "{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG\",}";
	assert_int_equal(s3i_json_parse(&v, secret, strlen(secret), "credentials", &e), S3I_EPARSE);
	assert_null(strstr(e.message, "wJalr"));
	assert_non_null(strstr(e.message, "credentials is not valid JSON"));
	assert_int_equal(s3i_json_parse(NULL, "1", 1, NULL, NULL), S3I_EINVALID);
}

static char *nested(int depth, int obj)
{
	size_t n = (size_t)depth * 6 + 8;
	char *s = malloc(n);
	size_t o = 0;
	for (int i = 0; i < depth; i++) {
		if (obj) {
			memcpy(s + o, "{\"a\":", 5);
			o += 5;
		} else {
			s[o++] = '[';
		}
	}
	s[o++] = '1';
	for (int i = 0; i < depth; i++)
		s[o++] = obj ? '}' : ']';
	s[o] = '\0';
	return s;
}

static void t_deep_nesting(void **state)
{
	(void)state;
	for (int obj = 0; obj < 2; obj++) {
		char *ok = nested(S3I_JSON_MAX_DEPTH, obj);
		s3i_json v = parse_ok(ok);
		s3i_json_free(v);
		free(ok);
		char *deep = nested(S3I_JSON_MAX_DEPTH + 1, obj);
		expect_parse_error(deep, strlen(deep), "it is nested too deeply");
		free(deep);
		/* a truncated deep document is rejected before yajl builds anything */
		deep = nested(200000, obj);
		expect_parse_error(deep, 200000, "it is nested too deeply");
		free(deep);
	}
}

/* ---------------------------------------------------------------- writer */

static void t_writer_compact(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, "s3insights-state");
	s3i_jw_key(&w, "Key");
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "pk");
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "S");
	s3i_jw_str(&w, "run#1");
	s3i_jw_obj_close(&w);
	s3i_jw_obj_close(&w);
	s3i_jw_key(&w, "Limit");
	s3i_jw_i64(&w, INT64_MIN);
	s3i_jw_key(&w, "Max");
	s3i_jw_i64(&w, INT64_MAX);
	s3i_jw_key(&w, "List");
	s3i_jw_arr_open(&w);
	s3i_jw_bool(&w, 1);
	s3i_jw_bool(&w, 0);
	s3i_jw_null(&w);
	s3i_jw_str(&w, NULL);
	s3i_jw_raw(&w, "{\"pre\":[1,2]}");
	s3i_jw_arr_open(&w);
	s3i_jw_arr_close(&w);
	s3i_jw_obj_open(&w);
	s3i_jw_obj_close(&w);
	s3i_jw_i64(&w, 0);
	s3i_jw_arr_close(&w);
	s3i_jw_key(&w, "");
	s3i_jw_strn(&w, "", 0);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), 0);
	assert_string_equal(b.ptr,
		"{\"TableName\":\"s3insights-state\",\"Key\":{\"pk\":{\"S\":\"run#1\"}},"
		"\"Limit\":-9223372036854775808,\"Max\":9223372036854775807,"
		"\"List\":[true,false,null,null,{\"pre\":[1,2]},[],{},0],\"\":\"\"}");
	s3i_json v = parse_ok(b.ptr);
	int64_t n;
	assert_int_equal(s3i_json_i64(s3i_json_get(v, "Limit"), &n), 0);
	assert_true(n == INT64_MIN);
	s3i_json_free(v);
	s3i_buf_dispose(&b);
}

static void t_writer_escaping(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	static const char s[] = "q\" b\\ s/ \x01\x1f\n\t\r\b\f \x7f caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
	assert_int_equal(s3i_json_escape(&b, s, strlen(s)), 0);
	assert_string_equal(b.ptr, "\"q\\\" b\\\\ s/ \\u0001\\u001f\\u000a\\u0009\\u000d\\u0008\\u000c \x7f "
		"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_json_escape(&b, "a\0b", 3), 0);
	assert_string_equal(b.ptr, "\"a\\u0000b\"");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_json_escape(&b, NULL, 0), 0);
	assert_string_equal(b.ptr, "\"\"");
	/* invalid UTF-8 is refused and leaves the buffer as it was */
	static const char *const bad[] = { "\xC3", "\xC3\x28", "\xC0\x80", "\xE0\x80\x80",
		"\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\x80", "\xFF", "ok\xE2\x82" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(s3i_json_escape(&b, bad[i], strlen(bad[i])), S3I_EINVALID);
		assert_string_equal(b.ptr, "\"\"");
	}
	/* the edges of the valid ranges pass */
	static const char *const good[] = { "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
		"\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(s3i_json_escape(&b, good[i], strlen(good[i])), 0);
	s3i_buf_dispose(&b);
}

static void t_writer_round_trips(void **state)
{
	(void)state;
	/* every byte 1..127 plus multi-byte UTF-8, as key and as value */
	char text[200];
	size_t n = 0;
	for (int c = 1; c < 128; c++)
		text[n++] = (char)c;
	memcpy(text + n, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF", 13);
	n += 13;
	text[n] = '\0';
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, text);
	s3i_jw_strn(&w, text, n);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), 0);
	/* compact: no raw control byte is left in the output */
	for (size_t i = 0; i < b.size; i++)
		assert_true((unsigned char)b.ptr[i] >= 0x20);
	s3i_json v = parse_ok(b.ptr);
	assert_string_equal(s3i_json_key_at(v, 0), text);
	assert_string_equal(s3i_json_str(s3i_json_val_at(v, 0)), text);
	s3i_json_free(v);
	s3i_buf_dispose(&b);
}

static int finish_of(void (*build)(s3i_json_writer *))
{
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	build(&w);
	int rc = s3i_jw_finish(&w);
	s3i_buf_dispose(&b);
	return rc;
}

static void m_value_without_key(s3i_json_writer *w) { s3i_jw_obj_open(w); s3i_jw_i64(w, 1); s3i_jw_obj_close(w); }
static void m_key_in_array(s3i_json_writer *w) { s3i_jw_arr_open(w); s3i_jw_key(w, "k"); s3i_jw_arr_close(w); }
static void m_key_at_top(s3i_json_writer *w) { s3i_jw_key(w, "k"); }
static void m_two_keys(s3i_json_writer *w) { s3i_jw_obj_open(w); s3i_jw_key(w, "a"); s3i_jw_key(w, "b"); }
static void m_dangling_key(s3i_json_writer *w) { s3i_jw_obj_open(w); s3i_jw_key(w, "a"); s3i_jw_obj_close(w); }
static void m_mismatch(s3i_json_writer *w) { s3i_jw_obj_open(w); s3i_jw_arr_close(w); }
static void m_extra_close(s3i_json_writer *w) { s3i_jw_arr_open(w); s3i_jw_arr_close(w); s3i_jw_arr_close(w); }
static void m_unclosed(s3i_json_writer *w) { s3i_jw_arr_open(w); }
static void m_nothing(s3i_json_writer *w) { (void)w; }
static void m_two_values(s3i_json_writer *w) { s3i_jw_i64(w, 1); s3i_jw_i64(w, 2); }
static void m_bad_utf8(s3i_json_writer *w) { s3i_jw_arr_open(w); s3i_jw_str(w, "\xFF"); s3i_jw_arr_close(w); }
static void m_bad_key(s3i_json_writer *w) { s3i_jw_obj_open(w); s3i_jw_key(w, NULL); }
static void m_null_raw(s3i_json_writer *w) { s3i_jw_raw(w, NULL); }
static void m_null_strn(s3i_json_writer *w) { s3i_jw_strn(w, NULL, 3); }
static void m_one_scalar(s3i_json_writer *w) { s3i_jw_str(w, "only"); }

static void t_writer_misuse(void **state)
{
	(void)state;
	void (*const bad[])(s3i_json_writer *) = { m_value_without_key, m_key_in_array, m_key_at_top,
		m_two_keys, m_dangling_key, m_mismatch, m_extra_close, m_unclosed, m_nothing,
		m_two_values, m_bad_utf8, m_bad_key, m_null_raw, m_null_strn };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(finish_of(bad[i]), S3I_EINVALID);
	assert_int_equal(finish_of(m_one_scalar), 0);
	/* errors are sticky: later good calls do not clear them */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	s3i_jw_arr_open(&w);
	s3i_jw_key(&w, "x");
	s3i_jw_arr_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_EINVALID);
	s3i_buf_dispose(&b);
	s3i_jw_init(&w, NULL);
	s3i_jw_null(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_EINVALID);
}

static void t_writer_depth(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	for (int i = 0; i < S3I_JSON_WRITER_MAX_DEPTH; i++) {
		if (i % 2) {
			s3i_jw_obj_open(&w);
			s3i_jw_key(&w, "k");
		} else {
			s3i_jw_arr_open(&w);
		}
	}
	s3i_jw_i64(&w, 7);
	for (int i = S3I_JSON_WRITER_MAX_DEPTH - 1; i >= 0; i--) {
		if (i % 2)
			s3i_jw_obj_close(&w);
		else
			s3i_jw_arr_close(&w);
	}
	assert_int_equal(s3i_jw_finish(&w), 0);
	s3i_json v = parse_ok(b.ptr);
	s3i_json_free(v);
	s3i_buf_clear(&b);
	s3i_jw_init(&w, &b);
	for (int i = 0; i <= S3I_JSON_WRITER_MAX_DEPTH; i++)
		s3i_jw_arr_open(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void build_doc(s3i_json_writer *w)
{
	s3i_jw_obj_open(w);
	s3i_jw_key(w, "QueueUrl");
	s3i_jw_str(w, "https://sqs.us-east-1.amazonaws.com/123456789012/s3insights-events");
	s3i_jw_key(w, "Entries");
	s3i_jw_arr_open(w);
	for (int i = 0; i < 10; i++) {
		s3i_jw_obj_open(w);
		s3i_jw_key(w, "Id");
		s3i_jw_i64(w, i);
		s3i_jw_key(w, "ReceiptHandle");
		s3i_jw_str(w, "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...\n\"quoted\" caf\xC3\xA9");
		s3i_jw_key(w, "VisibilityTimeout");
		s3i_jw_raw(w, "30");
		s3i_jw_obj_close(w);
	}
	s3i_jw_arr_close(w);
	s3i_jw_key(w, "Flag");
	s3i_jw_bool(w, 1);
	s3i_jw_obj_close(w);
}

static void t_writer_oom(void **state)
{
	(void)state;
	int rc = -1;
	long n;
	char *want = NULL;
	{
		s3i_buf b;
		s3i_buf_init(&b, s3i_allocator_default());
		s3i_json_writer w;
		s3i_jw_init(&w, &b);
		build_doc(&w);
		assert_int_equal(s3i_jw_finish(&w), 0);
		want = s3i_buf_detach(&b);
	}
	for (n = 0; n < 1000; n++) {
		s3i_buf b;
		s3i_buf_init(&b, s3i_test_alloc());
		s3i_json_writer w;
		s3i_jw_init(&w, &b);
		s3i_test_alloc_fail_after(n);
		build_doc(&w);
		rc = s3i_jw_finish(&w);
		s3i_test_alloc_fail_after(-1);
		if (rc == 0)
			assert_string_equal(b.ptr, want);
		s3i_buf_dispose(&b);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, S3I_ENOMEM);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 1);
	s3i_free(s3i_allocator_default(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_parse_and_accessors),
		S3I_TEST(t_scalars_at_top_level),
		S3I_TEST(t_big_integers),
		S3I_TEST(t_parse_errors),
		S3I_TEST(t_deep_nesting),
		S3I_TEST(t_writer_compact),
		S3I_TEST(t_writer_escaping),
		S3I_TEST(t_writer_round_trips),
		S3I_TEST(t_writer_misuse),
		S3I_TEST(t_writer_depth),
		S3I_TEST(t_writer_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
