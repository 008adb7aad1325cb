/*
 * The header list (src/aws/headers.c): order, case-insensitive lookup, replacement, and its
 * chunked text storage (few allocations, nothing allocated again after a clear).
 */
#include "test_alloc.h"

#include <stdio.h>
#include <string.h>

#include "aws/headers.h"
#include "s3insights/errors.h"

static void t_add_get_order(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&h, "Host", "example.com"), S3I_OK);
	assert_int_equal(s3i_headers_add(&h, "X-Amz-Meta-A", "1"), S3I_OK);
	assert_int_equal(s3i_headers_add(&h, "x-amz-meta-a", "2"), S3I_OK);
	assert_int_equal(s3i_headers_add(&h, "Empty", NULL), S3I_OK);
	assert_int_equal(s3i_headers_addn(&h, "Cut-Here", 3, "valueXX", 5), S3I_OK);
	assert_int_equal(h.count, 5);
	assert_string_equal(s3i_headers_get(&h, "HOST"), "example.com");
	assert_string_equal(s3i_headers_get(&h, "x-AMZ-meta-a"), "1");     /* the first one */
	assert_string_equal(s3i_headers_get(&h, "empty"), "");
	assert_string_equal(s3i_headers_get(&h, "cut"), "value");
	assert_null(s3i_headers_get(&h, "Hos"));
	assert_null(s3i_headers_get(&h, "Hostt"));
	for (size_t i = 0; i < h.count; i++) {
		assert_int_equal(h.items[i].nlen, strlen(h.items[i].name));
		assert_int_equal(h.items[i].vlen, strlen(h.items[i].value));
	}
	assert_string_equal(h.items[2].value, "2");
	s3i_headers_free(&h);
	s3i_headers_free(&h);   /* twice is harmless */
}

static void t_set_remove(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&h, "A", "1"), S3I_OK);
	assert_int_equal(s3i_headers_add(&h, "B", "2"), S3I_OK);
	assert_int_equal(s3i_headers_add(&h, "a", "3"), S3I_OK);
	assert_int_equal(s3i_headers_set(&h, "A", "new"), S3I_OK);
	assert_int_equal(h.count, 2);
	assert_string_equal(h.items[0].name, "B");
	assert_string_equal(h.items[1].name, "A");
	assert_string_equal(s3i_headers_get(&h, "a"), "new");
	s3i_headers_remove(&h, "b");
	assert_int_equal(h.count, 1);
	assert_null(s3i_headers_get(&h, "B"));
	s3i_headers_remove(&h, "missing");
	assert_int_equal(h.count, 1);
	s3i_headers_free(&h);
}

static void t_set_value(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&h, "Authorization", "AWS4-HMAC-SHA256 long old value"), S3I_OK);
	assert_int_equal(s3i_headers_add(&h, "Next", "n"), S3I_OK);
	char *old = h.items[0].value;
	/* shorter: in place, the rest of the old value wiped */
	assert_int_equal(s3i_headers_set_value(&h, 0, "short", 5), S3I_OK);
	assert_ptr_equal(h.items[0].value, old);
	assert_string_equal(h.items[0].value, "short");
	assert_int_equal(h.items[0].vlen, 5);
	for (size_t i = 6; i < strlen("AWS4-HMAC-SHA256 long old value"); i++)
		assert_int_equal(old[i], 0);
	/* longer: new storage, the old bytes wiped */
	assert_int_equal(s3i_headers_set_value(&h, 0, "a much longer value than before", 31), S3I_OK);
	assert_string_equal(s3i_headers_get(&h, "authorization"), "a much longer value than before");
	assert_int_equal(old[0], 0);
	assert_string_equal(s3i_headers_get(&h, "Next"), "n");
	/* from its own text (overlapping in place) */
	assert_int_equal(s3i_headers_set_value(&h, 0, h.items[0].value + 2, 4), S3I_OK);
	assert_string_equal(h.items[0].value, "much");
	s3i_headers_free(&h);
}

/* Values written in place: room handed out with the NUL set, in place when it fits. */
static void t_value_space(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&h, "Host", "h"), S3I_OK);
	char *v = s3i_headers_add_space(&h, "Authorization", 13, 5);
	assert_non_null(v);
	memcpy(v, "abcde", 5);
	assert_string_equal(s3i_headers_get(&h, "authorization"), "abcde");
	assert_int_equal(h.items[1].vlen, 5);
	assert_int_equal(h.items[1].nlen, 13);
	/* shorter: in place, the rest wiped */
	char *w = s3i_headers_value_space(&h, 1, 2);
	assert_ptr_equal(w, v);
	memcpy(w, "xy", 2);
	assert_string_equal(h.items[1].value, "xy");
	assert_int_equal(v[3], 0);
	assert_int_equal(v[4], 0);
	/* longer: new room, the old bytes wiped */
	static char big[5000];
	memset(big, 'b', sizeof(big) - 1);
	w = s3i_headers_value_space(&h, 1, sizeof(big) - 1);
	assert_non_null(w);
	assert_int_equal(v[0], 0);
	memcpy(w, big, sizeof(big) - 1);
	assert_string_equal(s3i_headers_get(&h, "Authorization"), big);
	assert_int_equal(h.items[1].vlen, sizeof(big) - 1);
	assert_string_equal(s3i_headers_get(&h, "Host"), "h");
	/* out of memory: NULL and nothing changed */
	s3i_test_alloc_fail_after(0);
	assert_null(s3i_headers_value_space(&h, 0, 10000));
	assert_null(s3i_headers_add_space(&h, "X-New", 5, 10000));
	s3i_test_alloc_fail_after(-1);
	assert_int_equal(h.count, 2);
	assert_string_equal(s3i_headers_get(&h, "Host"), "h");
	s3i_headers_free(&h);
}

/* Many and large headers spill into further chunks; every pointer stays valid. */
static void t_many_and_large(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	static char big[10000];
	memset(big, 'v', sizeof(big) - 1);
	char name[32], val[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "x-amz-meta-%d", i);
		snprintf(val, sizeof(val), "value %d", i);
		assert_int_equal(s3i_headers_add(&h, name, i % 50 == 7 ? big : val), S3I_OK);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "X-AMZ-META-%d", i);
		snprintf(val, sizeof(val), "value %d", i);
		assert_string_equal(s3i_headers_get(&h, name), i % 50 == 7 ? big : val);
	}
	s3i_headers copy;
	s3i_headers_init(&copy, s3i_test_alloc());
	assert_int_equal(s3i_headers_copy(&copy, &h), S3I_OK);
	assert_int_equal(copy.count, 300);
	assert_string_equal(s3i_headers_get(&copy, "x-amz-meta-57"), big);
	s3i_headers_free(&copy);
	s3i_headers_free(&h);
}

/* A request's headers cost two allocations; after a clear, rebuilding them costs none. */
static void t_allocations(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	long before = s3i_test_alloc_count();
	for (int round = 0; round < 3; round++) {
		assert_int_equal(s3i_headers_add(&h, "Host", "dynamodb.us-east-1.amazonaws.com"), S3I_OK);
		assert_int_equal(s3i_headers_add(&h, "Content-Type", "application/x-amz-json-1.0"), S3I_OK);
		assert_int_equal(s3i_headers_add(&h, "X-Amz-Target", "DynamoDB_20120810.PutItem"), S3I_OK);
		assert_int_equal(s3i_headers_add(&h, "X-Amz-Date", "20240101T000000Z"), S3I_OK);
		assert_int_equal(s3i_headers_add(&h, "Authorization", "AWS4-HMAC-SHA256 Credential=AKID/"
			"20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
			"x-amz-target, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
			S3I_OK);
		assert_int_equal(s3i_test_alloc_count() - before, 2);
		s3i_headers_clear(&h);
		assert_int_equal(h.count, 0);
		assert_null(s3i_headers_get(&h, "Host"));
	}
	s3i_headers_free(&h);
}

static void t_oom(void **state)
{
	(void)state;
	for (long n = 0; n < 4; n++) {
		s3i_headers h;
		s3i_headers_init(&h, s3i_test_alloc());
		s3i_test_alloc_fail_after(n);
		int rc = S3I_OK;
		for (int i = 0; i < 40 && !rc; i++)
			rc = s3i_headers_add(&h, "X-Long-Header-Name-For-Spilling", "a value long enough to need "
				"a second chunk of text storage after a while...........................");
		s3i_test_alloc_fail_after(-1);
		assert_true(rc == S3I_OK || rc == S3I_ENOMEM);
		for (size_t i = 0; i < h.count; i++)
			assert_int_equal(h.items[i].vlen, strlen(h.items[i].value));
		s3i_headers_free(&h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_add_get_order),
		S3I_TEST(t_set_remove),
		S3I_TEST(t_set_value),
		S3I_TEST(t_value_space),
		S3I_TEST(t_many_and_large),
		S3I_TEST(t_allocations),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
