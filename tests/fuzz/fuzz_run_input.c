/*
 * Fuzz the run input and Cleanup input parsers (src/stages/run_input.c). The input is a JSON
 * document as is.
 *  - On success: every getter answers within range; the canonical JSON parses back to an
 *    equal input and is written again byte for byte; every query renders.
 *  - On failure: S3I_EPARSE, S3I_EINVALID (with at least one problem, each message starting
 *    with its field, one line) or S3I_ENOMEM, and the output untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "s3insights/errors.h"
#include "s3insights/run_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void check_problems(int rc, const s3i_input_problems *p)
{
	if (rc == S3I_ENOMEM) {
		if (p)
			abort();
		return;
	}
	if ((rc != S3I_EPARSE && rc != S3I_EINVALID) || s3i_input_problems_count(p) == 0)
		abort();
	for (size_t i = 0; i < s3i_input_problems_count(p); i++) {
		const char *f = s3i_input_problems_get_field(p, i);
		const char *m = s3i_input_problems_get_message(p, i);
		if (!f || !m || strncmp(m, f, strlen(f)) || m[strlen(f)] != ':' || strchr(m, '\n'))
			abort();
	}
	const s3i_error *e = s3i_error_last();
	if (e->code != rc || strchr(e->message, '\n'))
		abort();
}

static void walk(const s3i_run_input *in)
{
	const char *r = s3i_run_input_get_run_id(in);
	if (!r || strlen(r) < 1 || strlen(r) > 8)
		abort();
	for (size_t i = 0; i < s3i_run_input_get_account_count(in); i++) {
		const char *id = s3i_run_input_get_account_id(in, i);
		if (!id || strlen(id) != 12 || s3i_run_input_find_account(in, id) != (int64_t)i)
			abort();
		for (size_t j = 0; j < s3i_run_input_get_exclude_count(in, i); j++)
			if (!s3i_run_input_is_excluded(in, i, s3i_run_input_get_exclude(in, i, j)))
				abort();
		sink += s3i_run_input_get_role_name(in, i) != NULL;
		sink += s3i_run_input_get_account_external_id(in, i) != NULL;
	}
	if (s3i_run_input_get_account_id(in, s3i_run_input_get_account_count(in)))
		abort();
	for (size_t i = 0; i < s3i_run_input_get_query_count(in); i++) {
		s3i_buf b = S3I_BUF_INIT;
		if (s3i_run_input_render_query(in, i, &b) != S3I_OK)
			abort();
		sink += b.size + strlen(s3i_run_input_get_query_name(in, i));
		s3i_buf_dispose(&b);
	}
	if (s3i_run_input_get_recipient_count(in) < 1 || !s3i_run_input_get_sender(in))
		abort();
	for (size_t i = 0; i < s3i_run_input_get_region_count(in); i++)
		if (!s3i_run_input_is_region_supported(in, s3i_run_input_get_region(in, i)))
			abort();
	const char *db = s3i_run_input_get_database(in), *tb = s3i_run_input_get_table(in);
	if (!db || !tb || !*db || !*tb || strlen(db) > 64 || strlen(tb) > 64)
		abort();
	if (s3i_run_input_get_inventory_timeout_ms(in) <= 0)
		abort();
	if (s3i_run_input_is_smoke_test(in) && s3i_run_input_get_snapshot(in) != S3I_SNAPSHOT_LIST)
		abort();
	if (!*s3i_snapshot_name(s3i_run_input_get_snapshot(in)) ||
		!*s3i_inventory_format_name(s3i_run_input_get_inventory_format(in)) ||
		!*s3i_object_versions_name(s3i_run_input_get_object_versions(in)) ||
		!*s3i_engine_name(s3i_run_input_get_engine(in)))
		abort();
}

static void round_trip(const s3i_run_input *in)
{
	s3i_buf a = S3I_BUF_INIT, b = S3I_BUF_INIT;
	if (s3i_run_input_to_json(in, &a) != S3I_OK)
		abort();
	s3i_run_input *back = NULL;
	s3i_input_problems *p = NULL;
	if (s3i_run_input_parse(&back, a.ptr, a.size, NULL, &p) != S3I_OK) {
		fprintf(stderr, "canonical JSON does not parse: %s\n", s3i_error_last()->message);
		abort();
	}
	if (!s3i_run_input_equal(in, back) || s3i_run_input_to_json(back, &b) != S3I_OK ||
		a.size != b.size || memcmp(a.ptr, b.ptr, a.size))
		abort();
	walk(back);
	s3i_run_input_free(back);
	s3i_buf_dispose(&a);
	s3i_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_run_input *in = (s3i_run_input *)(uintptr_t)1;
	s3i_input_problems *p = NULL;
	int rc = s3i_run_input_parse(&in, text, size, NULL, &p);
	if (rc == S3I_OK) {
		if (p)
			abort();
		walk(in);
		round_trip(in);
		s3i_run_input_free(in);
	} else {
		if (in != (s3i_run_input *)(uintptr_t)1)
			abort();
		check_problems(rc, p);
		s3i_input_problems_free(p);
	}

	s3i_cleanup_input *c = (s3i_cleanup_input *)(uintptr_t)1;
	p = NULL;
	rc = s3i_cleanup_input_parse(&c, text, size, NULL, &p);
	if (rc == S3I_OK) {
		const char *r = s3i_cleanup_input_get_run_id(c);
		if (p || (r && (strlen(r) < 1 || strlen(r) > 8)))
			abort();
		s3i_cleanup_input_free(c);
	} else {
		if (c != (s3i_cleanup_input *)(uintptr_t)1)
			abort();
		check_problems(rc, p);
		s3i_input_problems_free(p);
	}
	return 0;
}
