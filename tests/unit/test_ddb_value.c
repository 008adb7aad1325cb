/* The DynamoDB attribute-value API (src/services/ddb_value.c): builders and getters, DynamoDB
 * JSON out and in, strictness of the parser, deep nesting, many attributes and out-of-memory
 * behaviour. Every allocation goes through the counting allocator. */
#include "test_alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "services/ddb_value.h"

static s3i_ddb_item *new_item(void)
{
	s3i_ddb_item *it = NULL;
	assert_int_equal(s3i_ddb_item_new(&it, s3i_test_alloc()), S3I_OK);
	assert_non_null(it);
	return it;
}

static char *to_json(const s3i_ddb_item *it)
{
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	int rc = s3i_ddb_item_to_json(it, &b);
	if (rc)
		fail_msg("to_json failed: %d", rc);
	char *s = strdup(b.ptr);
	s3i_buf_dispose(&b);
	return s;
}

static s3i_ddb_item *parse_ok(const char *json)
{
	s3i_ddb_item *it = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_ddb_item_parse(&it, s3i_test_alloc(), json, strlen(json), "test item", &e);
	if (rc)
		fail_msg("parse failed (%d): %s", rc, e.message);
	return it;
}

static void expect_msg(const char *part)
{
	const char *m = s3i_error_last()->message;
	if (!strstr(m, part))
		fail_msg("message '%s' lacks '%s'", m, part);
}

/* ------------------------------------------------------------------ builders */

static void t_builders_getters(void **state)
{
	(void)state;
	s3i_ddb_item *it = new_item();
	const char *tags[] = { "b", "a", "c" };
	assert_int_equal(s3i_ddb_item_set_s(it, "partitionkey", "run#r1"), 0);
	assert_int_equal(s3i_ddb_item_set_s(it, "sortkey", ""), 0);
	assert_int_equal(s3i_ddb_item_set_n_i64(it, "objects", 184467440737LL), 0);
	assert_int_equal(s3i_ddb_item_set_n_i64(it, "max", INT64_MAX), 0);
	assert_int_equal(s3i_ddb_item_set_n_i64(it, "min", INT64_MIN), 0);
	assert_int_equal(s3i_ddb_item_set_n_text(it, "ratio", "-0.125E+3"), 0);
	assert_int_equal(s3i_ddb_item_set_n_text(it, "big", "9223372036854775808"), 0);
	assert_int_equal(s3i_ddb_item_set_bool(it, "done", 7), 0);
	assert_int_equal(s3i_ddb_item_set_null(it, "error"), 0);
	assert_int_equal(s3i_ddb_item_set_ss(it, "tags", tags, 3), 0);
	s3i_ddb_item *m = NULL;
	s3i_ddb_list *l = NULL, *inner = NULL;
	assert_int_equal(s3i_ddb_item_set_m(it, "stats", &m), 0);
	assert_int_equal(s3i_ddb_item_set_n_i64(m, "bytes", 42), 0);
	assert_int_equal(s3i_ddb_item_set_l(it, "regions", &l), 0);
	assert_int_equal(s3i_ddb_list_add_s(l, "us-east-1"), 0);
	assert_int_equal(s3i_ddb_list_add_n_i64(l, -5), 0);
	assert_int_equal(s3i_ddb_list_add_n_text(l, ".5"), 0);
	assert_int_equal(s3i_ddb_list_add_bool(l, 0), 0);
	assert_int_equal(s3i_ddb_list_add_null(l), 0);
	assert_int_equal(s3i_ddb_list_add_ss(l, tags, 2), 0);
	s3i_ddb_item *lm = NULL;
	assert_int_equal(s3i_ddb_list_add_m(l, &lm), 0);
	assert_int_equal(s3i_ddb_item_set_s(lm, "k", "v"), 0);
	assert_int_equal(s3i_ddb_list_add_l(l, &inner), 0);
	assert_int_equal(s3i_ddb_list_add_s(inner, "deep"), 0);

	assert_int_equal(s3i_ddb_item_count(it), 12);
	assert_string_equal(s3i_ddb_item_get_s(it, "partitionkey"), "run#r1");
	assert_string_equal(s3i_ddb_item_get_s(it, "sortkey"), "");
	assert_null(s3i_ddb_item_get_s(it, "objects"));          /* an N, not an S */
	assert_string_equal(s3i_ddb_item_get_n(it, "objects"), "184467440737");
	int64_t v = 0;
	assert_int_equal(s3i_ddb_item_get_i64(it, "objects", &v), 0);
	assert_int_equal(v, 184467440737LL);
	assert_int_equal(s3i_ddb_item_get_i64(it, "max", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(s3i_ddb_item_get_i64(it, "min", &v), 0);
	assert_true(v == INT64_MIN);
	v = 99;
	assert_int_equal(s3i_ddb_item_get_i64(it, "big", &v), S3I_EINVALID);     /* overflow */
	assert_int_equal(s3i_ddb_item_get_i64(it, "ratio", &v), S3I_EINVALID);   /* not integral */
	assert_int_equal(s3i_ddb_item_get_i64(it, "partitionkey", &v), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_get_i64(it, "absent", &v), S3I_ENOTFOUND);
	assert_int_equal(v, 99);
	int b = -1;
	assert_int_equal(s3i_ddb_item_get_bool(it, "done", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(s3i_ddb_item_get_bool(it, "error", &b), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_get_bool(it, "nope", &b), S3I_ENOTFOUND);
	assert_int_equal(s3i_ddb_item_type(it, "error"), S3I_DDB_NULL);
	assert_int_equal(s3i_ddb_item_type(it, "nope"), S3I_DDB_NONE);
	assert_true(s3i_ddb_item_has(it, "error"));
	assert_false(s3i_ddb_item_has(it, "nope"));
	assert_int_equal(s3i_ddb_item_get_ss_count(it, "tags"), 3);
	assert_string_equal(s3i_ddb_item_get_ss_at(it, "tags", 0), "b");
	assert_string_equal(s3i_ddb_item_get_ss_at(it, "tags", 2), "c");
	assert_null(s3i_ddb_item_get_ss_at(it, "tags", 3));
	assert_int_equal(s3i_ddb_item_get_ss_count(it, "partitionkey"), 0);
	const s3i_ddb_item *gm = s3i_ddb_item_get_m(it, "stats");
	assert_ptr_equal(gm, m);
	assert_int_equal(s3i_ddb_item_get_i64(gm, "bytes", &v), 0);
	assert_int_equal(v, 42);
	const s3i_ddb_list *gl = s3i_ddb_item_get_l(it, "regions");
	assert_int_equal(s3i_ddb_list_count(gl), 8);
	assert_string_equal(s3i_ddb_value_s(s3i_ddb_list_at(gl, 0)), "us-east-1");
	assert_int_equal(s3i_ddb_value_i64(s3i_ddb_list_at(gl, 1), &v), 0);
	assert_int_equal(v, -5);
	assert_string_equal(s3i_ddb_value_n(s3i_ddb_list_at(gl, 2)), ".5");
	assert_int_equal(s3i_ddb_value_bool(s3i_ddb_list_at(gl, 3), &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(s3i_ddb_value_type(s3i_ddb_list_at(gl, 4)), S3I_DDB_NULL);
	assert_int_equal(s3i_ddb_value_ss_count(s3i_ddb_list_at(gl, 5)), 2);
	assert_string_equal(s3i_ddb_value_ss_at(s3i_ddb_list_at(gl, 5), 1), "a");
	assert_string_equal(s3i_ddb_item_get_s(s3i_ddb_value_m(s3i_ddb_list_at(gl, 6)), "k"), "v");
	assert_string_equal(s3i_ddb_value_s(s3i_ddb_list_at(s3i_ddb_value_l(s3i_ddb_list_at(gl, 7)), 0)),
		"deep");
	assert_null(s3i_ddb_list_at(gl, 8));
	assert_null(s3i_ddb_item_name_at(it, 12));
	assert_string_equal(s3i_ddb_item_name_at(it, 0), "partitionkey");

	/* replacing keeps the position and the count */
	assert_int_equal(s3i_ddb_item_set_n_i64(it, "partitionkey", 1), 0);
	assert_string_equal(s3i_ddb_item_name_at(it, 0), "partitionkey");
	assert_int_equal(s3i_ddb_item_type(it, "partitionkey"), S3I_DDB_N);
	assert_int_equal(s3i_ddb_item_count(it), 12);
	/* removing moves later names up */
	s3i_ddb_item_remove(it, "sortkey");
	s3i_ddb_item_remove(it, "not there");
	assert_int_equal(s3i_ddb_item_count(it), 11);
	assert_string_equal(s3i_ddb_item_name_at(it, 1), "objects");
	assert_false(s3i_ddb_item_has(it, "sortkey"));

	/* NULL handles are safe for getters */
	assert_null(s3i_ddb_item_get(NULL, "x"));
	assert_int_equal(s3i_ddb_item_count(NULL), 0);
	assert_int_equal(s3i_ddb_value_type(NULL), S3I_DDB_NONE);
	s3i_ddb_item_free(it);
	s3i_ddb_item_free(NULL);
}

static void t_invalid_inputs(void **state)
{
	(void)state;
	s3i_ddb_item *it = new_item();
	assert_int_equal(s3i_ddb_item_set_s(it, "keep", "me"), 0);
	assert_int_equal(s3i_ddb_item_set_s(it, "", "x"), S3I_EINVALID);
	expect_msg("attribute name is empty");
	assert_int_equal(s3i_ddb_item_set_s(it, NULL, "x"), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_set_s(it, "bad\xff", "x"), S3I_EINVALID);
	expect_msg("not valid UTF-8");
	assert_int_equal(s3i_ddb_item_set_s(it, "name", "\xc0\x80"), S3I_EINVALID);   /* overlong */
	expect_msg("attribute 'name'");
	assert_int_equal(s3i_ddb_item_set_s(it, "name", "\xed\xa0\x80"), S3I_EINVALID);   /* surrogate */
	assert_int_equal(s3i_ddb_item_set_s(it, "name", NULL), S3I_EINVALID);
	static const char *const bad_numbers[] = { "", "abc", "1e", "--1", "NaN", "Infinity",
		"1.2.3", "+", ".", "1 ", " 1", "0x10", "1e+", "e5" };
	for (size_t i = 0; i < sizeof(bad_numbers) / sizeof(*bad_numbers); i++) {
		if (s3i_ddb_item_set_n_text(it, "count", bad_numbers[i]) != S3I_EINVALID)
			fail_msg("'%s' was accepted as a number", bad_numbers[i]);
		expect_msg("attribute 'count': not a number");
	}
	assert_int_equal(s3i_ddb_item_set_n_text(it, "count", NULL), S3I_EINVALID);
	char longnum[200];
	memset(longnum, '1', sizeof(longnum) - 1);
	longnum[sizeof(longnum) - 1] = '\0';
	assert_int_equal(s3i_ddb_item_set_n_text(it, "count", longnum), S3I_EINVALID);
	static const char *const good_numbers[] = { "0", "-0", "+7", ".5", "5.", "1E10", "-1.5e-130",
		"00012", "99999999999999999999999999999999999999" };
	for (size_t i = 0; i < sizeof(good_numbers) / sizeof(*good_numbers); i++)
		if (s3i_ddb_item_set_n_text(it, "ok", good_numbers[i]) != S3I_OK)
			fail_msg("'%s' was refused as a number", good_numbers[i]);
	const char *dup[] = { "x", "y", "x" };
	assert_int_equal(s3i_ddb_item_set_ss(it, "set", dup, 3), S3I_EINVALID);
	expect_msg("attribute 'set'");
	expect_msg("twice");
	assert_int_equal(s3i_ddb_item_set_ss(it, "set", dup, 0), S3I_EINVALID);
	expect_msg("at least one");
	const char *with_null[] = { "x", NULL };
	assert_int_equal(s3i_ddb_item_set_ss(it, "set", with_null, 2), S3I_EINVALID);
	/* duplicates among many (the sorted check) */
	const char *many[40];
	char bufs[40][8];
	for (int i = 0; i < 40; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "s%d", i % 39);
		many[i] = bufs[i];
	}
	assert_int_equal(s3i_ddb_item_set_ss(it, "set", many, 40), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_set_ss(it, "set", many, 39), S3I_OK);
	/* the failures changed nothing */
	assert_int_equal(s3i_ddb_item_count(it), 3);
	assert_string_equal(s3i_ddb_item_get_s(it, "keep"), "me");
	assert_false(s3i_ddb_item_has(it, "name"));
	assert_false(s3i_ddb_item_has(it, "count"));
	/* lists refuse the same things */
	s3i_ddb_list *l = NULL;
	assert_int_equal(s3i_ddb_item_set_l(it, "l", &l), 0);
	assert_int_equal(s3i_ddb_list_add_s(l, "\xff"), S3I_EINVALID);
	expect_msg("list entry 0");
	assert_int_equal(s3i_ddb_list_add_n_text(l, "x"), S3I_EINVALID);
	assert_int_equal(s3i_ddb_list_add_ss(l, dup, 3), S3I_EINVALID);
	assert_int_equal(s3i_ddb_list_count(l), 0);
	assert_int_equal(s3i_ddb_list_add_s(NULL, "x"), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_set_s(NULL, "x", "y"), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_new(NULL, NULL), S3I_EINVALID);
	s3i_ddb_item_free(it);
}

/* Thousands of names: hashed lookups, replacement, removal, order. */
static void t_many_attributes(void **state)
{
	(void)state;
	s3i_ddb_item *it = new_item();
	char name[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "attr%d", i);
		assert_int_equal(s3i_ddb_item_set_n_i64(it, name, i), 0);
	}
	assert_int_equal(s3i_ddb_item_count(it), 5000);
	for (int i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "attr%d", i);
		int64_t v;
		assert_int_equal(s3i_ddb_item_get_i64(it, name, &v), 0);
		assert_int_equal(v, i);
		assert_string_equal(s3i_ddb_item_name_at(it, (size_t)i), name);
	}
	for (int i = 0; i < 5000; i += 2) {
		snprintf(name, sizeof(name), "attr%d", i);
		assert_int_equal(s3i_ddb_item_set_s(it, name, "replaced"), 0);
	}
	assert_int_equal(s3i_ddb_item_count(it), 5000);
	s3i_ddb_item_remove(it, "attr0");
	s3i_ddb_item_remove(it, "attr4999");
	assert_int_equal(s3i_ddb_item_count(it), 4998);
	assert_false(s3i_ddb_item_has(it, "attr0"));
	assert_string_equal(s3i_ddb_item_get_s(it, "attr2"), "replaced");
	assert_string_equal(s3i_ddb_item_get_n(it, "attr4997"), "4997");
	assert_string_equal(s3i_ddb_item_name_at(it, 0), "attr1");
	assert_false(s3i_ddb_item_has(it, "attr5000"));
	/* through JSON and back */
	char *json = to_json(it);
	s3i_ddb_item *back = parse_ok(json);
	assert_true(s3i_ddb_item_equal(it, back));
	free(json);
	s3i_ddb_item_free(back);
	s3i_ddb_item_free(it);
}

/* ------------------------------------------------------------------ JSON */

static void t_json_exact(void **state)
{
	(void)state;
	s3i_ddb_item *it = new_item();
	const char *ss[] = { "x", "y" };
	s3i_ddb_item *m;
	s3i_ddb_list *l;
	assert_int_equal(s3i_ddb_item_set_s(it, "pk", "a"), 0);
	assert_int_equal(s3i_ddb_item_set_n_i64(it, "n", -12), 0);
	assert_int_equal(s3i_ddb_item_set_bool(it, "b", 1), 0);
	assert_int_equal(s3i_ddb_item_set_null(it, "z"), 0);
	assert_int_equal(s3i_ddb_item_set_ss(it, "ss", ss, 2), 0);
	assert_int_equal(s3i_ddb_item_set_m(it, "m", &m), 0);
	assert_int_equal(s3i_ddb_item_set_bool(m, "f", 0), 0);
	assert_int_equal(s3i_ddb_item_set_l(it, "l", &l), 0);
	assert_int_equal(s3i_ddb_list_add_s(l, "e"), 0);
	s3i_ddb_item *empty;
	assert_int_equal(s3i_ddb_list_add_m(l, &empty), 0);
	char *json = to_json(it);
	assert_string_equal(json, "{\"pk\":{\"S\":\"a\"},\"n\":{\"N\":\"-12\"},\"b\":{\"BOOL\":true},"
		"\"z\":{\"NULL\":true},\"ss\":{\"SS\":[\"x\",\"y\"]},\"m\":{\"M\":{\"f\":{\"BOOL\":false}}},"
		"\"l\":{\"L\":[{\"S\":\"e\"},{\"M\":{}}]}}");
	free(json);
	/* appended to a buffer that already holds text, which is kept */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_buf_puts(&b, "prefix:"), 0);
	s3i_ddb_item *tiny = new_item();
	assert_int_equal(s3i_ddb_item_to_json(tiny, &b), 0);
	assert_string_equal(b.ptr, "prefix:{}");
	s3i_buf_dispose(&b);
	s3i_ddb_item_free(tiny);
	s3i_ddb_item_free(it);
}

static void t_json_round_trip_and_escaping(void **state)
{
	(void)state;
	s3i_ddb_item *it = new_item();
	const char *tricky = "quote\" backslash\\ slash/ tab\t nl\n cr\r bell\x07 esc\x1b "
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end";
	assert_int_equal(s3i_ddb_item_set_s(it, "text", tricky), 0);
	assert_int_equal(s3i_ddb_item_set_s(it, "name \"with\" \\ quotes\n", "v"), 0);
	assert_int_equal(s3i_ddb_item_set_s(it, "\xe2\x9c\x93", "unicode name"), 0);
	const char *ss[] = { "a\"b", "c\\d", "\x01" };
	assert_int_equal(s3i_ddb_item_set_ss(it, "ss", ss, 3), 0);
	char *json = to_json(it);
	/* escapes as JSON wants them, no raw control characters */
	assert_non_null(strstr(json, "quote\\\" backslash\\\\ slash/ tab\\u0009 nl\\u000a cr\\u000d"));
	assert_non_null(strstr(json, "\\u0007"));
	assert_non_null(strstr(json, "\\u001b"));
	assert_non_null(strstr(json, "\"name \\\"with\\\" \\\\ quotes\\u000a\""));
	for (const char *p = json; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	s3i_ddb_item *back = parse_ok(json);
	assert_true(s3i_ddb_item_equal(it, back));
	assert_string_equal(s3i_ddb_item_get_s(back, "text"), tricky);
	assert_string_equal(s3i_ddb_item_get_s(back, "name \"with\" \\ quotes\n"), "v");
	/* the JSON of the parsed item is byte-identical */
	char *again = to_json(back);
	assert_string_equal(json, again);
	free(again);
	free(json);
	s3i_ddb_item_free(back);

	/* \u escapes from the wire decode to UTF-8 */
	s3i_ddb_item *w = parse_ok("{\"k\":{\"S\":\"caf\\u00e9 \\ud83d\\ude00\"},\"n\":{\"N\":\"1e3\"}}");
	assert_string_equal(s3i_ddb_item_get_s(w, "k"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
	assert_string_equal(s3i_ddb_item_get_n(w, "n"), "1e3");
	s3i_ddb_item_free(w);
	s3i_ddb_item_free(it);
}

static void t_equality_and_copy(void **state)
{
	(void)state;
	s3i_ddb_item *a = parse_ok("{\"x\":{\"S\":\"1\"},\"s\":{\"SS\":[\"p\",\"q\",\"r\"]},"
		"\"m\":{\"M\":{\"l\":{\"L\":[{\"N\":\"1\"},{\"NULL\":true}]}}}}");
	s3i_ddb_item *b = parse_ok("{\"m\":{\"M\":{\"l\":{\"L\":[{\"N\":\"1\"},{\"NULL\":true}]}}},"
		"\"s\":{\"SS\":[\"r\",\"p\",\"q\"]},\"x\":{\"S\":\"1\"}}");
	assert_true(s3i_ddb_item_equal(a, b));   /* map order and set order do not matter */
	s3i_ddb_item *c = NULL;
	assert_int_equal(s3i_ddb_item_copy(&c, a, NULL), 0);
	assert_true(s3i_ddb_item_equal(a, c));
	assert_int_equal(s3i_ddb_item_set_n_text(c, "x", "1"), 0);   /* N "1" is not S "1" */
	assert_false(s3i_ddb_item_equal(a, c));
	s3i_ddb_item *d = parse_ok("{\"m\":{\"M\":{\"l\":{\"L\":[{\"NULL\":true},{\"N\":\"1\"}]}}},"
		"\"s\":{\"SS\":[\"r\",\"p\",\"q\"]},\"x\":{\"S\":\"1\"}}");
	assert_false(s3i_ddb_item_equal(a, d));  /* list order does */
	s3i_ddb_item *e = parse_ok("{\"x\":{\"S\":\"1\"},\"s\":{\"SS\":[\"p\",\"q\",\"z\"]},"
		"\"m\":{\"M\":{\"l\":{\"L\":[{\"N\":\"1\"},{\"NULL\":true}]}}}}");
	assert_false(s3i_ddb_item_equal(a, e));
	assert_true(s3i_ddb_item_equal(NULL, NULL));
	assert_false(s3i_ddb_item_equal(a, NULL));
	assert_int_equal(s3i_ddb_item_copy(NULL, a, NULL), S3I_EINVALID);
	s3i_ddb_item_free(a);
	s3i_ddb_item_free(b);
	s3i_ddb_item_free(c);
	s3i_ddb_item_free(d);
	s3i_ddb_item_free(e);
}

/* DynamoDB allows 32 levels; we build, write and read exactly that, and refuse one more. */
static void t_deep_nesting(void **state)
{
	(void)state;
	s3i_ddb_item *it = new_item();
	s3i_ddb_item *m = it;
	s3i_ddb_list *l = NULL;
	for (int level = 1; level <= S3I_DDB_MAX_DEPTH; level++) {
		if (level % 2) {
			s3i_ddb_list *nl = NULL;
			int rc = m ? s3i_ddb_item_set_l(m, "l", &nl) : s3i_ddb_list_add_l(l, &nl);
			assert_int_equal(rc, 0);
			l = nl;
			m = NULL;
		} else {
			s3i_ddb_item *nm = NULL;
			assert_int_equal(s3i_ddb_list_add_m(l, &nm), 0);
			assert_int_equal(s3i_ddb_item_set_n_i64(nm, "level", level), 0);
			m = nm;
			l = NULL;
		}
	}
	/* level 32 is a map: a 33rd level is refused, both ways */
	assert_non_null(m);
	s3i_ddb_item *too = NULL;
	s3i_ddb_list *too_l = NULL;
	assert_int_equal(s3i_ddb_item_set_m(m, "more", &too), S3I_EINVALID);
	expect_msg("nested deeper than 32");
	assert_int_equal(s3i_ddb_item_set_l(m, "more", &too_l), S3I_EINVALID);
	assert_int_equal(s3i_ddb_item_set_s(m, "leaf", "ok"), 0);

	char *json = to_json(it);
	s3i_ddb_item *back = parse_ok(json);
	assert_true(s3i_ddb_item_equal(it, back));
	char *again = to_json(back);
	assert_string_equal(json, again);
	free(again);

	/* inside a request that is already a few levels deep */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TransactItems");
	s3i_jw_arr_open(&w);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "Put");
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "Item");
	s3i_ddb_item_write(&w, it);
	s3i_jw_obj_close(&w);
	s3i_jw_obj_close(&w);
	s3i_jw_arr_close(&w);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), 0);
	s3i_json doc = NULL;
	assert_int_equal(s3i_json_parse(&doc, b.ptr, b.size, "request", NULL), 0);
	s3i_ddb_item *inner = NULL;
	assert_int_equal(s3i_ddb_item_from_json(&inner, s3i_test_alloc(),
		s3i_json_path(doc, "TransactItems.0.Put.Item"), "request item", NULL), 0);
	assert_true(s3i_ddb_item_equal(it, inner));
	s3i_ddb_item_free(inner);
	s3i_json_free(doc);
	s3i_buf_dispose(&b);

	/* one level more from the wire is refused with the path */
	size_t cap = strlen(json) + 64;
	char *deeper = malloc(cap);
	/* wrap: {"w":{"M": <json> }} adds a level */
	snprintf(deeper, cap, "{\"w\":{\"M\":%s}}", json);
	s3i_ddb_item *no = (s3i_ddb_item *)(uintptr_t)1;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_ddb_item_parse(&no, s3i_test_alloc(), deeper, strlen(deeper), "deep item",
		&e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "nested deeper than 32 levels"));
	assert_non_null(strstr(e.message, "attribute 'w.l[0].l[0]"));
	assert_ptr_equal(no, (s3i_ddb_item *)(uintptr_t)1);
	free(deeper);
	free(json);
	s3i_ddb_item_free(back);

	/* a copy of a nested map becomes a root with room below */
	const s3i_ddb_item *lvl2 = s3i_ddb_value_m(s3i_ddb_list_at(s3i_ddb_item_get_l(it, "l"), 0));
	s3i_ddb_item *root = NULL;
	assert_int_equal(s3i_ddb_item_copy(&root, lvl2, NULL), 0);
	assert_true(s3i_ddb_item_equal(root, lvl2));
	s3i_ddb_item_free(root);
	s3i_ddb_item_free(it);
}

typedef struct bad_case {
	const char *json;
	const char *part;      /* expected in the message */
} bad_case;

static void t_parse_rejects(void **state)
{
	(void)state;
	static const bad_case cases[] = {
		{ "[]", "not a JSON object of attribute values" },
		{ "\"x\"", "not a JSON object" },
		{ "{\"a\":\"x\"}", "attribute 'a': not a DynamoDB attribute value" },
		{ "{\"a\":{}}", "attribute 'a': an attribute value has no type tag" },
		{ "{\"a\":{\"S\":\"x\",\"N\":\"1\"}}", "attribute 'a': an attribute value has more than one" },
		{ "{\"a\":{\"X\":\"1\"}}", "attribute 'a': unknown type tag 'X'" },
		{ "{\"a\":{\"s\":\"1\"}}", "unknown type tag 's'" },
		{ "{\"a\":{\"S\":1}}", "attribute 'a': S value is not a JSON string" },
		{ "{\"a\":{\"S\":null}}", "S value is not a JSON string" },
		{ "{\"a\":{\"N\":5}}", "attribute 'a': N value is not a JSON string" },
		{ "{\"a\":{\"N\":\"abc\"}}", "attribute 'a': N value is not a number" },
		{ "{\"a\":{\"N\":\"\"}}", "N value is not a number" },
		{ "{\"a\":{\"BOOL\":\"true\"}}", "attribute 'a': BOOL value is not true or false" },
		{ "{\"a\":{\"BOOL\":1}}", "BOOL value is not true or false" },
		{ "{\"a\":{\"NULL\":false}}", "attribute 'a': NULL value is not true" },
		{ "{\"a\":{\"M\":[]}}", "attribute 'a': M value is not a JSON object" },
		{ "{\"a\":{\"L\":{}}}", "attribute 'a': L value is not a JSON array" },
		{ "{\"a\":{\"SS\":[]}}", "attribute 'a': SS value is an empty set" },
		{ "{\"a\":{\"SS\":\"x\"}}", "SS value is not a JSON array" },
		{ "{\"a\":{\"SS\":[\"x\",\"x\"]}}", "attribute 'a': SS value holds a string twice" },
		{ "{\"a\":{\"SS\":[\"x\",1]}}", "attribute 'a': SS entry 1 is not a JSON string" },
		{ "{\"a\":{\"SS\":[\"\\udc00\"]}}", "SS entry 0 is not valid UTF-8" },
		{ "{\"a\":{\"S\":\"\\udc00\"}}", "attribute 'a': S value is not valid UTF-8" },
		{ "{\"a\":{\"NS\":[\"1\"]}}", "attribute 'a': type NS is not supported" },
		{ "{\"a\":{\"B\":\"AAAA\"}}", "type B is not supported" },
		{ "{\"a\":{\"BS\":[\"AAAA\"]}}", "type BS is not supported" },
		{ "{\"\":{\"S\":\"x\"}}", "attribute name is empty" },
		{ "{\"\\udc00\":{\"S\":\"x\"}}", "attribute name is not valid UTF-8" },
		{ "{\"a\":{\"S\":\"x\"},\"a\":{\"S\":\"y\"}}", "attribute 'a': attribute appears twice" },
		{ "{\"a\":{\"M\":{\"b\":{\"L\":[{\"S\":\"ok\"},{\"Q\":1}]}}}}",
			"attribute 'a.b[1]': unknown type tag 'Q'" },
		{ "{\"a\":{\"L\":[{\"L\":[{\"M\":{\"c\":{\"N\":\"x1\"}}}]}]}}",
			"attribute 'a[0][0].c': N value is not a number" },
		{ "{\"a\":{\"M\":{\"b\":{\"S\":\"x\"},\"b\":{\"S\":\"y\"}}}}", "attribute 'a.b': attribute appears twice" },
		{ "{\"a\":{\"\\u0001tag\":1}}", "unknown type tag '?tag'" },
		{ "{\"a\":{\"S\":\"x\"}", "is not valid JSON" },
		{ "", "is not valid JSON" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		s3i_ddb_item *it = (s3i_ddb_item *)(uintptr_t)1;
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		int rc = s3i_ddb_item_parse(&it, s3i_test_alloc(), cases[i].json, strlen(cases[i].json),
			"DynamoDB GetItem response", &e);
		if (rc != S3I_EPARSE)
			fail_msg("case %zu (%s): rc %d, not S3I_EPARSE", i, cases[i].json, rc);
		if (!strstr(e.message, cases[i].part) || !strstr(e.message, "DynamoDB GetItem response"))
			fail_msg("case %zu (%s): message '%s' lacks '%s'", i, cases[i].json, e.message,
				cases[i].part);
		assert_null(strchr(e.message, '\n'));
		assert_int_equal(e.pub.code, S3I_EPARSE);
		assert_ptr_equal(it, (s3i_ddb_item *)(uintptr_t)1);   /* untouched */
		/* the thread's copy says the same */
		assert_string_equal(s3i_error_last()->message, e.message);
	}
	/* a long path is cut, not overflowed */
	char json[4096] = "";
	char name[120];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"%s\":{\"M\":{\"%s\":{\"M\":{\"%s\":{\"Z\":1}}}}}}", name,
		name, name);
	s3i_ddb_item *it = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_ddb_item_parse(&it, s3i_test_alloc(), json, strlen(json), "x", &e),
		S3I_EPARSE);
	assert_non_null(strstr(e.message, "...': unknown type tag 'Z'"));
	/* a parse from a tree that is not an object, and a NULL tree */
	assert_int_equal(s3i_ddb_item_from_json(&it, NULL, NULL, NULL, &e), S3I_EPARSE);
	assert_int_equal(s3i_ddb_item_from_json(NULL, NULL, NULL, NULL, &e), S3I_EINVALID);
}

static void t_describe(void **state)
{
	(void)state;
	s3i_ddb_item *it = parse_ok("{\"partitionkey\":{\"S\":\"run#1\"},\"sortkey\":{\"S\":\"b\\nx\"},"
		"\"n\":{\"N\":\"12\"},\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true},\"m\":{\"M\":{}},"
		"\"l\":{\"L\":[{\"S\":\"x\"}]},\"s\":{\"SS\":[\"a\",\"b\"]}}");
	char out[300];
	s3i_ddb_item_describe(it, out, sizeof(out));
	assert_string_equal(out, "{partitionkey=\"run#1\", sortkey=\"b?x\", n=12, t=true, z=null, "
		"m={}, l=[...], s=<set of 2>}");
	const char *key[] = { "sortkey", "missing", "partitionkey" };
	s3i_ddb_item_describe_some(it, key, 3, out, sizeof(out));
	assert_string_equal(out, "{sortkey=\"b?x\", partitionkey=\"run#1\"}");
	s3i_ddb_item_describe_some(it, NULL, 2, out, sizeof(out));
	assert_string_equal(out, "{partitionkey=\"run#1\", sortkey=\"b?x\"}");
	/* cut to the buffer, with ... */
	char small[20];
	s3i_ddb_item_describe(it, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_non_null(strstr(small, "..."));
	assert_int_equal(strncmp(small, "{partitionkey=", 14), 0);
	/* long values are cut at 64 bytes, never inside a UTF-8 sequence */
	s3i_ddb_item *lv = new_item();
	char big[200] = "";
	for (int i = 0; i < 60; i++)
		strcat(big, "\xc3\xa9");    /* 2-byte characters */
	assert_int_equal(s3i_ddb_item_set_s(lv, "k", big), 0);
	s3i_ddb_item_describe(lv, out, sizeof(out));
	assert_non_null(strstr(out, "...\"}"));
	const char *dots = strstr(out, "...");
	assert_true(((unsigned char)dots[-1] & 0xC0) != 0xC0);   /* no dangling lead byte */
	assert_int_equal((dots - strchr(out, '"') - 1) % 2, 0);
	s3i_ddb_item_describe(NULL, out, sizeof(out));
	assert_string_equal(out, "{}");
	s3i_ddb_item_describe(it, out, 0);       /* no room: nothing written, no crash */
	s3i_ddb_item_free(lv);
	s3i_ddb_item_free(it);
}

/* ------------------------------------------------------------------ out of memory */

static const char sample_json[] =
	"{\"a0\":{\"S\":\"x\"},\"a1\":{\"N\":\"1\"},\"a2\":{\"BOOL\":true},\"a3\":{\"NULL\":true},"
	"\"a4\":{\"S\":\"y\"},\"a5\":{\"S\":\"z\"},\"a6\":{\"S\":\"w\"},\"a7\":{\"S\":\"v\"},"
	"\"a8\":{\"S\":\"u\"},\"a9\":{\"S\":\"t\"},"
	"\"ss\":{\"SS\":[\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\","
	"\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]},"
	"\"m\":{\"M\":{\"l\":{\"L\":[{\"S\":\"q\"},{\"M\":{\"k\":{\"N\":\"2\"}}},{\"SS\":[\"p\"]}]}}}}";

/* Everything the API allocates for, with the Nth allocation failing. */
static int build_all(s3i_ddb_item **out)
{
	s3i_ddb_item *it = NULL;
	int rc = s3i_ddb_item_new(&it, s3i_test_alloc());
	if (rc)
		return rc;
	char name[16];
	const char *ss[20];
	char sbuf[20][4];
	for (int i = 0; i < 20; i++) {
		snprintf(sbuf[i], sizeof(sbuf[i]), "%d", i);
		ss[i] = sbuf[i];
	}
	for (int i = 0; i < 12 && !rc; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		rc = s3i_ddb_item_set_n_i64(it, name, i);
	}
	s3i_ddb_item *m = NULL;
	s3i_ddb_list *l = NULL, *l2 = NULL;
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "s", "text");
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "s", "replaced");
	if (!rc)
		rc = s3i_ddb_item_set_ss(it, "ss", ss, 20);
	if (!rc)
		rc = s3i_ddb_item_set_m(it, "m", &m);
	if (!rc)
		rc = s3i_ddb_item_set_bool(m, "b", 1);
	if (!rc)
		rc = s3i_ddb_item_set_null(m, "z");
	if (!rc)
		rc = s3i_ddb_item_set_l(m, "l", &l);
	for (int i = 0; i < 6 && !rc; i++)
		rc = s3i_ddb_list_add_s(l, "e");
	if (!rc)
		rc = s3i_ddb_list_add_ss(l, ss, 3);
	if (!rc)
		rc = s3i_ddb_list_add_l(l, &l2);
	if (!rc)
		rc = s3i_ddb_list_add_n_text(l2, "1.5");
	if (!rc)
		rc = s3i_ddb_list_add_bool(l2, 0);
	if (!rc)
		rc = s3i_ddb_list_add_null(l2);
	s3i_ddb_item *lm = NULL;
	if (!rc)
		rc = s3i_ddb_list_add_m(l2, &lm);
	if (!rc)
		rc = s3i_ddb_item_set_n_text(lm, "x", "7");
	if (rc) {
		s3i_ddb_item_free(it);
		return rc;
	}
	*out = it;
	return S3I_OK;
}

static int oom_round(void)
{
	s3i_ddb_item *built = NULL, *copy = NULL, *parsed = NULL, *back = NULL;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	int rc = build_all(&built);
	if (!rc) {
		/* a failed builder leaves the item as it was */
		size_t before = s3i_ddb_item_count(built);
		if (s3i_ddb_item_set_s(built, "late", "x") == S3I_OK)
			s3i_ddb_item_remove(built, "late");
		assert_int_equal(s3i_ddb_item_count(built), before);
		rc = s3i_ddb_item_copy(&copy, built, NULL);
	}
	if (!rc)
		rc = s3i_ddb_item_to_json(built, &b);
	if (!rc)
		rc = s3i_ddb_item_parse(&back, s3i_test_alloc(), b.ptr, b.size, "oom", NULL);
	if (!rc)
		rc = s3i_ddb_item_parse(&parsed, s3i_test_alloc(), sample_json, strlen(sample_json),
			"oom", NULL);
	if (!rc) {
		assert_true(s3i_ddb_item_equal(built, copy));
		assert_true(s3i_ddb_item_equal(built, back));
		assert_int_equal(s3i_ddb_item_get_ss_count(parsed, "ss"), 18);
	}
	s3i_ddb_item_free(built);
	s3i_ddb_item_free(copy);
	s3i_ddb_item_free(back);
	s3i_ddb_item_free(parsed);
	s3i_buf_dispose(&b);
	return rc;
}

static void t_oom_loop(void **state)
{
	(void)state;
	int succeeded = 0;
	for (long n = 0; n < 100000 && !succeeded; n++) {
		s3i_test_alloc_fail_after(n);
		int rc = oom_round();
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK)
			succeeded = 1;
		else if (rc != S3I_ENOMEM && rc != S3I_EPARSE)
			fail_msg("allocation %ld failing gave %d", n, rc);
		if (s3i_test_alloc_outstanding() != 0)
			fail_msg("allocation %ld failing leaked %ld blocks", n, s3i_test_alloc_outstanding());
	}
	assert_true(succeeded);
}

/* ENOMEM on a parse says ENOMEM (not EPARSE), and the failing setter leaves a message. */
static void t_oom_codes(void **state)
{
	(void)state;
	for (long n = 0;; n++) {
		s3i_ddb_item *it = NULL;
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		s3i_test_alloc_fail_after(n);
		int rc = s3i_ddb_item_parse(&it, s3i_test_alloc(), sample_json, strlen(sample_json),
			"oom", &e);
		s3i_test_alloc_fail_after(-1);
		if (!rc) {
			s3i_ddb_item_free(it);
			break;
		}
		assert_int_equal(rc, S3I_ENOMEM);
		assert_non_null(strstr(e.message, "out of memory"));
	}
	s3i_ddb_item *it = new_item();
	s3i_test_alloc_fail_after(0);
	assert_int_equal(s3i_ddb_item_set_s(it, "who", "x"), S3I_ENOMEM);
	s3i_test_alloc_fail_after(-1);
	expect_msg("attribute 'who': out of memory");
	assert_int_equal(s3i_ddb_item_count(it), 0);
	s3i_ddb_item_free(it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_builders_getters),
		S3I_TEST(t_invalid_inputs),
		S3I_TEST(t_many_attributes),
		S3I_TEST(t_json_exact),
		S3I_TEST(t_json_round_trip_and_escaping),
		S3I_TEST(t_equality_and_copy),
		S3I_TEST(t_deep_nesting),
		S3I_TEST(t_parse_rejects),
		S3I_TEST(t_describe),
		S3I_TEST(t_oom_loop),
		S3I_TEST(t_oom_codes),
	};
	return cmocka_run_group_tests_name("ddb_value", tests, NULL, NULL);
}
