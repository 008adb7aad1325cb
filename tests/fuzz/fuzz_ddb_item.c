/*
 * Fuzz the DynamoDB attribute-value parser and writer (src/services/ddb_value.c) and the
 * Query/Scan page parser (src/services/dynamodb.c). The input is a JSON document as is.
 *  1. as an item: s3i_ddb_item_parse; on success every value is read through the getters,
 *     the item is written back as DynamoDB JSON, parsed again and must be equal, and written
 *     again must give the same bytes; a copy must be equal; describe must stay in its buffer;
 *  2. as a page: s3i_ddb_page_parse; every item handed to the callback and the
 *     LastEvaluatedKey go through the same round trip; Count/ScannedCount add up.
 * Failures must be S3I_EPARSE (or S3I_ENOMEM) with the output untouched and the code recorded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "services/ddb_value.h"
#include "services/dynamodb.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void walk_item(const s3i_ddb_item *it, int depth);

static void walk_value(const s3i_ddb_value *v, int depth)
{
	if (depth > S3I_DDB_MAX_DEPTH + 1)
		abort();
	int64_t i64;
	int b;
	switch (s3i_ddb_value_type(v)) {
	case S3I_DDB_S:
		if (!s3i_ddb_value_s(v) || s3i_ddb_value_n(v))
			abort();
		sink += strlen(s3i_ddb_value_s(v));
		break;
	case S3I_DDB_N:
		if (!s3i_ddb_number_is_valid(s3i_ddb_value_n(v)))
			abort();
		if (s3i_ddb_value_i64(v, &i64) == S3I_OK)
			sink += (size_t)i64;
		break;
	case S3I_DDB_BOOL:
		if (s3i_ddb_value_bool(v, &b) != S3I_OK || (b != 0 && b != 1))
			abort();
		break;
	case S3I_DDB_NULL:
		if (s3i_ddb_value_bool(v, &b) != S3I_EINVALID)
			abort();
		break;
	case S3I_DDB_M:
		walk_item(s3i_ddb_value_m(v), depth + 1);
		break;
	case S3I_DDB_L: {
		const s3i_ddb_list *l = s3i_ddb_value_l(v);
		for (size_t i = 0; i < s3i_ddb_list_count(l); i++)
			walk_value(s3i_ddb_list_at(l, i), depth + 1);
		if (s3i_ddb_list_at(l, s3i_ddb_list_count(l)))
			abort();
		break;
	}
	case S3I_DDB_SS:
		if (s3i_ddb_value_ss_count(v) == 0)
			abort();
		for (size_t i = 0; i < s3i_ddb_value_ss_count(v); i++)
			sink += strlen(s3i_ddb_value_ss_at(v, i));
		break;
	default:
		abort();
	}
}

static void walk_item(const s3i_ddb_item *it, int depth)
{
	for (size_t i = 0; i < s3i_ddb_item_count(it); i++) {
		const char *name = s3i_ddb_item_name_at(it, i);
		if (!name || !*name || s3i_ddb_item_get(it, name) != s3i_ddb_item_value_at(it, i))
			abort();
		walk_value(s3i_ddb_item_value_at(it, i), depth);
	}
}

/* write -> parse -> equal -> write again: the same bytes. */
static void round_trip(const s3i_ddb_item *it)
{
	walk_item(it, 0);
	s3i_buf a, b;
	s3i_buf_init(&a, NULL);
	s3i_buf_init(&b, NULL);
	if (s3i_ddb_item_to_json(it, &a) != S3I_OK)
		abort();
	s3i_ddb_item *back = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	if (s3i_ddb_item_parse(&back, NULL, a.ptr, a.size, "rewritten item", &err) != S3I_OK) {
		fprintf(stderr, "rewritten item does not parse: %s\n", err.message);
		abort();
	}
	if (!s3i_ddb_item_equal(it, back) || !s3i_ddb_item_equal(back, it))
		abort();
	if (s3i_ddb_item_to_json(back, &b) != S3I_OK || a.size != b.size || memcmp(a.ptr, b.ptr, a.size))
		abort();
	s3i_ddb_item *copy = NULL;
	if (s3i_ddb_item_copy(&copy, it, NULL) != S3I_OK || !s3i_ddb_item_equal(copy, it))
		abort();
	char small[24], big[300];
	s3i_ddb_item_describe(it, small, sizeof(small));
	s3i_ddb_item_describe(it, big, sizeof(big));
	if (strlen(small) >= sizeof(small) || strlen(big) >= sizeof(big))
		abort();
	s3i_ddb_item_free(copy);
	s3i_ddb_item_free(back);
	s3i_buf_dispose(&a);
	s3i_buf_dispose(&b);
}

static int on_item(void *payload, const s3i_ddb_item *it)
{
	(*(int64_t *)payload)++;
	round_trip(it);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_errinfo err;
	s3i_errinfo_init(&err);

	/* 1. one item */
	s3i_ddb_item *it = (s3i_ddb_item *)(uintptr_t)1;
	int rc = s3i_ddb_item_parse(&it, NULL, text, size, "fuzz item", &err);
	if (rc == S3I_OK) {
		round_trip(it);
		s3i_ddb_item_free(it);
	} else if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc ||
		it != (s3i_ddb_item *)(uintptr_t)1 || strchr(err.message, '\n')) {
		abort();
	}

	/* 2. a Query/Scan page */
	s3i_errinfo_init(&err);
	int64_t seen = 0;
	s3i_ddb_item *last = NULL;
	s3i_ddb_page_stats st = { 0 };
	rc = s3i_ddb_page_parse(NULL, text, size, "fuzz page", on_item, &seen, &last, &st, &err);
	if (rc == S3I_OK) {
		if (st.count != seen || st.pages != 1 || st.scanned < 0)
			abort();
		if (last) {
			if (!s3i_ddb_item_count(last))
				abort();
			round_trip(last);
			s3i_ddb_item_free(last);
		}
	} else if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc || last ||
		strchr(err.message, '\n')) {
		abort();
	}
	return 0;
}
