/* The run input and the Cleanup input (src/stages/run_input.c, DESIGN §3): good inputs with
 * their defaults and canonical form, bad inputs with every problem named by its field. */
#include "test_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3insights/run_input.h"
#include "s3insights/errors.h"
#include "core/buf.h"

#define J(...) #__VA_ARGS__

/* The sample input of S3Insights' user guide, unchanged. */
static const char s3insights_sample[] =
	"{\n"
	"    \"run_id\": \"run1\",\n"
	"    \"accounts\": [\n"
	"        {\"id\": \"123456789012\", \"exclude\": [\"loggingbucket1\", \"loggingbucket2\"]},\n"
	"        {\"id\": \"234567890123\", \"exclude\": []},\n"
	"        {\"id\": \"345678901234\", \"exclude\": [\"loggingbucket7\"]},\n"
	"        {\"id\": \"456789012345\", \"exclude\": []}\n"
	"    ],\n"
	"    \"athena_database_name\": \"analysisdatabase\",\n"
	"    \"athena_table_name\": \"analysistable\",\n"
	"    \"is_smoke_test\": false,\n"
	"    \"athena_queries\": [\n"
	"        {\"name\":\"large dumps\", \"query\": \"select * from {ATHENA_TABLE} where size > 1000000000000\"},\n"
	"        {\"name\":\"secrets\", \"query\": \"select * from {ATHENA_TABLE} where (lower(substr(key,-4)) in ('.pfx', '.key','.gpg', '.asc')) or (lower(substr(key,-6)) in ('passwd', 'shadow', 'id_rsa'))\"}\n"
	"    ],\n"
	"    \"sender_email_address\": \"no-reply@verifieddomain.com\",\n"
	"    \"recipient_email_addresses\": [\"user1@emaildomain.com\",\"user2@emaildomain.com\"],\n"
	"    \"supported_regions\": [\"ap-south-1\", \"eu-west-3\", \"eu-west-2\", \"eu-west-1\", \"ap-northeast-2\", \"ap-northeast-1\", \"sa-east-1\", \"ca-central-1\", \"ap-southeast-1\", \"ap-southeast-2\", \"eu-central-1\", \"us-east-1\", \"us-east-2\", \"us-west-1\", \"us-west-2\"]\n"
	"}\n";

/* The smallest input S3Insights accepts. */
#define MINIMAL_FIELDS \
	"\"accounts\": [{\"id\": \"123456789012\"}], \"athena_queries\": [], " \
	"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]"

static s3i_run_input *parse_ok(const char *json)
{
	s3i_run_input *in = NULL;
	s3i_input_problems *p = (s3i_input_problems *)(uintptr_t)1;
	int rc = s3i_run_input_parse(&in, json, strlen(json), s3i_test_alloc(), &p);
	if (rc) {
		for (size_t i = 0; i < s3i_input_problems_count(p); i++)
			fprintf(stderr, "  %s\n", s3i_input_problems_get_message(p, i));
		s3i_input_problems_free(p);
		fail_msg("parse failed (%d): %s", rc, s3i_error_last()->message);
	}
	assert_null(p);
	assert_non_null(in);
	return in;
}

/* Parse must fail with rc and exactly the given fields (in order); each message starts with
 * its field. Returns the problems for more checks (the caller frees them). */
static s3i_input_problems *parse_bad(const char *json, int want_rc, const char *const *fields)
{
	s3i_run_input *in = (s3i_run_input *)(uintptr_t)1;
	s3i_input_problems *p = NULL;
	int rc = s3i_run_input_parse(&in, json, strlen(json), s3i_test_alloc(), &p);
	assert_int_equal(rc, want_rc);
	assert_ptr_equal(in, (s3i_run_input *)(uintptr_t)1);
	assert_non_null(p);
	size_t n = 0;
	while (fields[n])
		n++;
	if (s3i_input_problems_count(p) != n) {
		for (size_t i = 0; i < s3i_input_problems_count(p); i++)
			fprintf(stderr, "  %s\n", s3i_input_problems_get_message(p, i));
		fail_msg("%zu problems, expected %zu", s3i_input_problems_count(p), n);
	}
	for (size_t i = 0; i < n; i++) {
		const char *f = s3i_input_problems_get_field(p, i);
		const char *m = s3i_input_problems_get_message(p, i);
		if (strcmp(f, fields[i]))
			fail_msg("problem %zu is about '%s' (%s), expected '%s'", i, f, m, fields[i]);
		assert_int_equal(strncmp(m, f, strlen(f)), 0);
		assert_int_equal(m[strlen(f)], ':');
		assert_null(strchr(m, '\n'));
	}
	assert_null(s3i_input_problems_get_field(p, n));
	assert_null(s3i_input_problems_get_message(p, n));
	const s3i_error *e = s3i_error_last();
	assert_int_equal(e->code, want_rc);
	assert_string_equal(e->resource, fields[0]);
	assert_null(strchr(e->message, '\n'));
	return p;
}

static void bad(const char *json, const char *field, const char *msg_part)
{
	const char *fields[] = { field, NULL };
	s3i_input_problems *p = parse_bad(json, S3I_EINVALID, fields);
	if (msg_part && !strstr(s3i_input_problems_get_message(p, 0), msg_part))
		fail_msg("'%s' lacks '%s'", s3i_input_problems_get_message(p, 0), msg_part);
	s3i_input_problems_free(p);
}

/* Canonical JSON: parse(to_json(x)) equals x, and writes the same text. */
static void round_trip(const s3i_run_input *in)
{
	s3i_buf a = S3I_BUF_INIT, b = S3I_BUF_INIT;
	assert_int_equal(s3i_run_input_to_json(in, &a), S3I_OK);
	s3i_run_input *back = parse_ok(a.ptr);
	assert_true(s3i_run_input_equal(in, back));
	assert_int_equal(s3i_run_input_to_json(back, &b), S3I_OK);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.ptr, b.ptr, a.size);
	s3i_run_input_free(back);
	s3i_buf_dispose(&a);
	s3i_buf_dispose(&b);
}

static void render(const s3i_run_input *in, size_t i, const char *want)
{
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_run_input_render_query(in, i, &b), S3I_OK);
	assert_string_equal(b.ptr, want);
	s3i_buf_dispose(&b);
}

/* ---------------------------------------------------------------- good inputs */

static void t_s3insights_sample(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok(s3insights_sample);
	assert_string_equal(s3i_run_input_get_run_id(in), "run1");
	assert_int_equal(s3i_run_input_get_account_count(in), 4);
	assert_string_equal(s3i_run_input_get_account_id(in, 0), "123456789012");
	assert_int_equal(s3i_run_input_get_exclude_count(in, 0), 2);
	assert_string_equal(s3i_run_input_get_exclude(in, 0, 1), "loggingbucket2");
	assert_null(s3i_run_input_get_exclude(in, 0, 2));
	assert_true(s3i_run_input_is_excluded(in, 0, "loggingbucket1"));
	assert_false(s3i_run_input_is_excluded(in, 1, "loggingbucket1"));
	assert_true(s3i_run_input_is_excluded(in, 2, "loggingbucket7"));
	assert_int_equal(s3i_run_input_get_exclude_count(in, 3), 0);
	assert_null(s3i_run_input_get_account_id(in, 4));
	assert_null(s3i_run_input_get_role_name(in, 0));
	assert_null(s3i_run_input_get_account_external_id(in, 0));
	assert_int_equal(s3i_run_input_find_account(in, "345678901234"), 2);
	assert_int_equal(s3i_run_input_find_account(in, "999999999999"), -1);
	assert_string_equal(s3i_run_input_get_database(in), "analysisdatabase");
	assert_string_equal(s3i_run_input_get_table(in), "analysistable");
	assert_int_equal(s3i_run_input_get_query_count(in), 2);
	assert_string_equal(s3i_run_input_get_query_name(in, 0), "large dumps");
	render(in, 0, "select * from analysistable where size > 1000000000000");
	assert_string_equal(s3i_run_input_get_sender(in), "no-reply@verifieddomain.com");
	assert_int_equal(s3i_run_input_get_recipient_count(in), 2);
	assert_string_equal(s3i_run_input_get_recipient(in, 1), "user2@emaildomain.com");
	assert_int_equal(s3i_run_input_get_region_count(in), 15);
	assert_true(s3i_run_input_is_region_supported(in, "eu-west-3"));
	assert_false(s3i_run_input_is_region_supported(in, "af-south-1"));
	assert_false(s3i_run_input_is_smoke_test(in));
	round_trip(in);
	s3i_run_input_free(in);
}

static void t_defaults(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"r7\", " MINIMAL_FIELDS "}");
	assert_string_equal(s3i_run_input_get_database(in), "s3insights");
	assert_string_equal(s3i_run_input_get_table(in), "r7inventorytable");
	assert_int_equal(s3i_run_input_get_region_count(in), 15);
	const char *want[] = { "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
		"sa-east-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-south-1",
		"ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2" };
	for (size_t i = 0; i < 15; i++)
		assert_true(s3i_run_input_is_region_supported(in, want[i]));
	assert_false(s3i_run_input_is_smoke_test(in));
	assert_null(s3i_run_input_get_external_id(in));
	assert_int_equal(s3i_run_input_get_snapshot(in), S3I_SNAPSHOT_INVENTORY);
	assert_int_equal(s3i_run_input_get_inventory_format(in), S3I_INVENTORY_FORMAT_CSV);
	assert_int_equal(s3i_run_input_get_object_versions(in), S3I_OBJECT_VERSIONS_ALL);
	assert_int_equal(s3i_run_input_get_inventory_timeout_ms(in), INT64_C(60) * 3600000);
	assert_int_equal(s3i_run_input_get_engine(in), S3I_ENGINE_ATHENA);
	assert_int_equal(s3i_run_input_get_query_count(in), 0);
	/* the canonical form spells every default out */
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_run_input_to_json(in, &b), S3I_OK);
	assert_string_equal(b.ptr,
		"{\"run_id\":\"r7\",\"accounts\":[{\"id\":\"123456789012\",\"exclude\":[]}],"
		"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"],\"athena_database_name\":\"s3insights\","
		"\"athena_table_name\":\"r7inventorytable\",\"supported_regions\":[\"ap-south-1\","
		"\"eu-west-3\",\"eu-west-2\",\"eu-west-1\",\"ap-northeast-2\",\"ap-northeast-1\","
		"\"sa-east-1\",\"ca-central-1\",\"ap-southeast-1\",\"ap-southeast-2\",\"eu-central-1\","
		"\"us-east-1\",\"us-east-2\",\"us-west-1\",\"us-west-2\"],\"is_smoke_test\":false,"
		"\"snapshot\":\"inventory\",\"inventory_format\":\"CSV\",\"object_versions\":\"All\","
		"\"inventory_timeout_hours\":60,\"engine\":\"athena\"}");
	s3i_buf_dispose(&b);
	/* the same input with the defaults written out is equal */
	s3i_run_input *explicit_in = parse_ok("{\"run_id\": \"r7\", " MINIMAL_FIELDS ", "
		"\"athena_database_name\": \"s3insights\", \"athena_table_name\": \"r7inventorytable\", "
		"\"is_smoke_test\": false, \"snapshot\": \"inventory\", \"inventory_timeout_hours\": 60}");
	assert_true(s3i_run_input_equal(in, explicit_in));
	s3i_run_input_free(explicit_in);
	s3i_run_input_free(in);
}

static void t_extensions(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok(J({
		"run_id": "ext1",
		"accounts": [
			{"id": "111111111111", "role_name": "audit/S3InsightsReader", "external_id": "ext-id:1"},
			{"id": "222222222222"}],
		"athena_queries": [{"name": "q", "query": "SELECT count(*) FROM {ATHENA_DATABASE}.{ATHENA_TABLE}"}],
		"sender_email_address": "s3insights@mail.example.org",
		"recipient_email_addresses": ["first.last+tag@example.co.uk"],
		"external_id": "default-external-id",
		"snapshot": "inventory",
		"inventory_format": "Parquet",
		"object_versions": "Current",
		"inventory_timeout_hours": 1.5,
		"engine": "local",
		"supported_regions": ["us-gov-west-1", "eu-central-1", "us-gov-west-1"]
	}));
	assert_string_equal(s3i_run_input_get_role_name(in, 0), "audit/S3InsightsReader");
	assert_null(s3i_run_input_get_role_name(in, 1));
	assert_string_equal(s3i_run_input_get_account_external_id(in, 0), "ext-id:1");
	assert_string_equal(s3i_run_input_get_account_external_id(in, 1), "default-external-id");
	assert_string_equal(s3i_run_input_get_external_id(in), "default-external-id");
	assert_int_equal(s3i_run_input_get_snapshot(in), S3I_SNAPSHOT_INVENTORY);
	assert_int_equal(s3i_run_input_get_inventory_format(in), S3I_INVENTORY_FORMAT_PARQUET);
	assert_int_equal(s3i_run_input_get_object_versions(in), S3I_OBJECT_VERSIONS_CURRENT);
	assert_int_equal(s3i_run_input_get_inventory_timeout_ms(in), 5400000);
	assert_int_equal(s3i_run_input_get_engine(in), S3I_ENGINE_LOCAL);
	assert_int_equal(s3i_run_input_get_region_count(in), 2);   /* listed twice: once */
	render(in, 0, "SELECT count(*) FROM s3insights.ext1inventorytable");
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_run_input_to_json(in, &b), S3I_OK);
	assert_non_null(strstr(b.ptr, "\"inventory_timeout_hours\":1.5,"));
	assert_non_null(strstr(b.ptr, "\"role_name\":\"audit/S3InsightsReader\",\"external_id\":\"ext-id:1\""));
	s3i_buf_dispose(&b);
	round_trip(in);
	s3i_run_input_free(in);
}

/* Enumerations are matched without regard to case and written canonically. */
static void t_enum_case(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"snapshot\": \"LIST\", "
		"\"object_versions\": \"current\", \"engine\": \"Athena\", \"inventory_format\": \"csv\"}");
	assert_int_equal(s3i_run_input_get_snapshot(in), S3I_SNAPSHOT_LIST);
	assert_int_equal(s3i_run_input_get_object_versions(in), S3I_OBJECT_VERSIONS_CURRENT);
	assert_int_equal(s3i_run_input_get_engine(in), S3I_ENGINE_ATHENA);
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_run_input_to_json(in, &b), S3I_OK);
	assert_non_null(strstr(b.ptr, "\"snapshot\":\"list\",\"inventory_format\":\"CSV\","
		"\"object_versions\":\"Current\""));
	s3i_buf_dispose(&b);
	s3i_run_input_free(in);
	assert_string_equal(s3i_snapshot_name(S3I_SNAPSHOT_LIST), "list");
	assert_string_equal(s3i_inventory_format_name(S3I_INVENTORY_FORMAT_PARQUET), "Parquet");
	assert_string_equal(s3i_inventory_format_name((s3i_inventory_format)7), "");
	assert_string_equal(s3i_object_versions_name(S3I_OBJECT_VERSIONS_ALL), "All");
	assert_string_equal(s3i_engine_name(S3I_ENGINE_LOCAL), "local");
}

/* A smoke test copied from a real input (S3Insights' guide: change run_id and is_smoke_test
 * only) is a list snapshot written as CSV whatever the input says. */
static void t_smoke_test(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"test1\", " MINIMAL_FIELDS ", \"is_smoke_test\": true, "
		"\"snapshot\": \"inventory\", \"inventory_format\": \"ORC\"}");
	assert_true(s3i_run_input_is_smoke_test(in));
	assert_int_equal(s3i_run_input_get_snapshot(in), S3I_SNAPSHOT_LIST);
	assert_int_equal(s3i_run_input_get_inventory_format(in), S3I_INVENTORY_FORMAT_CSV);
	round_trip(in);
	s3i_run_input *plain = parse_ok("{\"run_id\": \"test1\", " MINIMAL_FIELDS ", \"is_smoke_test\": true}");
	assert_true(s3i_run_input_equal(in, plain));
	s3i_run_input_free(plain);
	s3i_run_input_free(in);
	/* a list snapshot asked for ORC writes CSV too */
	in = parse_ok("{\"run_id\": \"l1\", " MINIMAL_FIELDS ", \"snapshot\": \"list\", "
		"\"inventory_format\": \"ORC\"}");
	assert_int_equal(s3i_run_input_get_inventory_format(in), S3I_INVENTORY_FORMAT_CSV);
	s3i_run_input_free(in);
}

/* Unknown members are ignored (S3Insights does the same), at the top and in accounts. */
static void t_unknown_fields(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"comment\": {\"x\": [1, 2]}, "
		"\"future_option\": null, \"athena_workgroup\": \"primary\"}");
	s3i_run_input *in2 = parse_ok("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", "
		"\"name\": \"prod\", \"tags\": []}], \"athena_queries\": [{\"name\": \"n\", \"query\": \"q\", "
		"\"description\": \"d\"}], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}");
	assert_int_equal(s3i_run_input_get_query_count(in2), 1);
	s3i_run_input_free(in2);
	s3i_run_input_free(in);
}

/* An account listed twice is one account with the excludes of both. */
static void t_duplicate_accounts(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok(J({"run_id": "d1", "accounts": [
		{"id": "123456789012", "exclude": ["a", "b"]},
		{"id": "222222222222"},
		{"id": "123456789012", "exclude": ["b", "c"], "role_name": "r"}],
		"athena_queries": [], "sender_email_address": "a@example.com",
		"recipient_email_addresses": ["b@example.com"]}));
	assert_int_equal(s3i_run_input_get_account_count(in), 2);
	assert_int_equal(s3i_run_input_get_exclude_count(in, 0), 3);
	assert_true(s3i_run_input_is_excluded(in, 0, "c"));
	assert_string_equal(s3i_run_input_get_role_name(in, 0), "r");
	round_trip(in);
	s3i_run_input_free(in);
}

/* An account id written as a 12-digit number works as in S3Insights (it formats it into ARNs). */
static void t_numeric_account(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"n1\", \"accounts\": [{\"id\": 123456789012}], "
		"\"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}");
	assert_string_equal(s3i_run_input_get_account_id(in, 0), "123456789012");
	s3i_run_input_free(in);
}

/* Athena folds identifiers to lowercase; so does the input. */
static void t_identifier_case(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", "
		"\"athena_database_name\": \"Analysis_DB\", \"athena_table_name\": \"S3Inventory2024\"}");
	assert_string_equal(s3i_run_input_get_database(in), "analysis_db");
	assert_string_equal(s3i_run_input_get_table(in), "s3inventory2024");
	s3i_run_input_free(in);
}

/* A member given twice counts with its last value, as Python's json module reads it. */
static void t_duplicate_member(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"BAD\", \"run_id\": \"good\", " MINIMAL_FIELDS "}");
	assert_string_equal(s3i_run_input_get_run_id(in), "good");
	s3i_run_input_free(in);
}

static void t_empty_lists(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"e1\", \"accounts\": [], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": "
		"[\"b@example.com\"], \"supported_regions\": []}");
	assert_int_equal(s3i_run_input_get_account_count(in), 0);
	assert_int_equal(s3i_run_input_get_region_count(in), 0);
	assert_false(s3i_run_input_is_region_supported(in, "us-east-1"));
	round_trip(in);
	s3i_run_input_free(in);
}

static void t_unicode_and_escapes(void **state)
{
	(void)state;
	s3i_run_input *in = parse_ok("{\"run_id\": \"u1\", \"accounts\": [{\"id\": \"123456789012\", "
		"\"exclude\": [\"bucket.with.dots\", \"Legacy_Bucket\"]}], \"athena_queries\": [{\"name\": "
		"\"Gr\\u00f6\\u00dfe \\\"quoted\\\" \xe2\x9c\x93\", \"query\": \"select key\\nfrom {ATHENA_TABLE}"
		"\\twhere key like '%\\\\%'\"}], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}");
	assert_string_equal(s3i_run_input_get_query_name(in, 0), "Gr\xc3\xb6\xc3\x9f" "e \"quoted\" \xe2\x9c\x93");
	render(in, 0, "select key\nfrom u1inventorytable\twhere key like '%\\%'");
	round_trip(in);
	s3i_run_input_free(in);
}

static void t_substitute(void **state)
{
	(void)state;
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_query_substitute(&b, "{ATHENA_TABLE} {ATHENA_DATABASE}.{ATHENA_TABLE} "
		"{ATHENA_TABLE {athena_table} {ATHENA_TABLE}}", "db", "tb"), S3I_OK);
	assert_string_equal(b.ptr, "tb db.tb {ATHENA_TABLE {athena_table} tb}");
	s3i_buf_dispose(&b);
	assert_int_equal(s3i_query_substitute(&b, "", "db", "tb"), S3I_OK);
	assert_string_equal(b.ptr, "");
	s3i_buf_dispose(&b);
	assert_int_equal(s3i_query_substitute(&b, "x", NULL, "tb"), S3I_EINVALID);
	assert_int_equal(s3i_query_substitute(NULL, "x", "db", "tb"), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

/* ---------------------------------------------------------------- bad inputs */

static void t_not_json(void **state)
{
	(void)state;
	const char *fields[] = { "$", NULL };
	s3i_input_problems *p = parse_bad("{\"run_id\": ", S3I_EPARSE, fields);
	assert_non_null(strstr(s3i_input_problems_get_message(p, 0), "not valid JSON"));
	s3i_input_problems_free(p);
	p = parse_bad("{\"run_id\": \"r1\"} trailing", S3I_EPARSE, fields);
	s3i_input_problems_free(p);
	p = parse_bad("", S3I_EPARSE, fields);
	s3i_input_problems_free(p);
	/* a NUL byte inside */
	s3i_run_input *in = NULL;
	assert_int_equal(s3i_run_input_parse(&in, "{\"run_id\":\"a\0b\"}", 16, s3i_test_alloc(), &p),
		S3I_EPARSE);
	assert_int_equal(s3i_input_problems_count(p), 1);
	s3i_input_problems_free(p);
	/* without a problem list the error detail still says it all */
	assert_int_equal(s3i_run_input_parse(&in, "[1]", 3, s3i_test_alloc(), NULL), S3I_EINVALID);
	assert_null(in);
	assert_non_null(strstr(s3i_error_last()->message, "must be a JSON object, not an array"));
	assert_int_equal(s3i_run_input_parse(NULL, "{}", 2, NULL, NULL), S3I_EINVALID);
	assert_int_equal(s3i_run_input_parse(&in, NULL, 0, NULL, NULL), S3I_EPARSE);
}

static void t_empty_object(void **state)
{
	(void)state;
	const char *fields[] = { "run_id", "accounts", "athena_queries", "sender_email_address",
		"recipient_email_addresses", NULL };
	s3i_input_problems *p = parse_bad("{}", S3I_EINVALID, fields);
	for (size_t i = 0; i < 5; i++)
		assert_non_null(strstr(s3i_input_problems_get_message(p, i), ": is required"));
	/* the joined detail lists them all, the resource names the first */
	const s3i_error *e = s3i_error_last();
	assert_non_null(strstr(e->message, "run input is invalid: run_id: is required; "
		"accounts: is required; athena_queries: is required; sender_email_address: is required; "
		"recipient_email_addresses: is required"));
	s3i_input_problems_free(p);
}

static void t_run_id(void **state)
{
	(void)state;
	bad("{\"run_id\": \"RUN1\", " MINIMAL_FIELDS "}", "run_id",
		"\"RUN1\" must be 1-8 characters of a-z and 0-9 (no uppercase: it ends up in bucket names)");
	bad("{\"run_id\": \"abcdefghi\", " MINIMAL_FIELDS "}", "run_id", "\"abcdefghi\" must be 1-8");
	bad("{\"run_id\": \"run-1\", " MINIMAL_FIELDS "}", "run_id", "a-z and 0-9");
	bad("{\"run_id\": \"\", " MINIMAL_FIELDS "}", "run_id", "\"\" must be");
	bad("{\"run_id\": 1, " MINIMAL_FIELDS "}", "run_id", "must be a string, not the number 1");
	bad("{\"run_id\": \"r\\n1\", " MINIMAL_FIELDS "}", "run_id", "\"r?1\"");
}

static void t_account_ids(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\"}, {\"id\": \"234567890123\"}, "
		"{\"id\": \"12345\"}], \"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[2].id", "accounts[2].id: \"12345\" is not a 12-digit account id");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"12345678901a\"}], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].id", "is not a 12-digit account id");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": 12345678901}], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].id", "the number 12345678901 is not a 12-digit account id");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"exclude\": []}], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].id", "is required");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": [\"123456789012\"]}], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].id", "must be a string of 12 digits, not an array");
}

static void t_account_shapes(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", \"accounts\": {\"id\": \"123456789012\"}, \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts", "must be an array, not an object");
	bad("{\"run_id\": \"r1\", \"accounts\": [\"123456789012\"], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0]", "must be an object like {\"id\": \"123456789012\"}");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", \"exclude\": \"logs\"}], "
		"\"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].exclude", "must be an array of bucket names, not \"logs\"");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", \"exclude\": [\"ok\", 5]}], "
		"\"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].exclude[1]", "must be a bucket name (a string), not the number 5");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", \"role_name\": \"bad role\"}], "
		"\"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].role_name", "\"bad role\" is not an IAM role name");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", \"external_id\": \"x\"}], "
		"\"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].external_id", "is not a valid external id");
	/* the same account twice with two different role names */
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", \"role_name\": \"a\"}, "
		"{\"id\": \"123456789012\", \"role_name\": \"b\"}], \"athena_queries\": [], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[1].role_name", "account 123456789012 is listed again (accounts[0]) with another role_name");
}

static void t_queries(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [{\"name\": \"n\"}], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"athena_queries[0].query", "is required");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [{\"name\": \"\", \"query\": \"q\"}], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"athena_queries[0].name", "is empty");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [\"select 1\"], "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"athena_queries[0]", "must be an object");
	/* JSON text must be UTF-8; yajl lets bad bytes through, the input does not */
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [{\"name\": \"n\", \"query\": "
		"\"SELE\xc0\xab\"}], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"athena_queries[0].query", "is not valid UTF-8");
	bad("{\"run_id\": \"r1\", \"accounts\": [{\"id\": \"123456789012\", \"exclude\": "
		"[\"\xed\xa0\x80\"]}], \"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}",
		"accounts[0].exclude[0]", "is not valid UTF-8");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": null, "
		"\"sender_email_address\": \"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"athena_queries", "must be an array, not null");
}

static void t_emails(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"not-an-email\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"sender_email_address", "\"not-an-email\" is not an email address");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"Me <me@example.com>\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"sender_email_address", "white space");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"<me@example.com>\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"sender_email_address", "no display name");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"a@example.com\", \"recipient_email_addresses\": []}",
		"recipient_email_addresses", "is empty: name at least one recipient");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"a@example.com\", \"recipient_email_addresses\": \"b@example.com\"}",
		"recipient_email_addresses", "must be an array");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"a@example.com\", \"recipient_email_addresses\": [\"b@example.com\", \"c@localhost\"]}",
		"recipient_email_addresses[1]", "\"c@localhost\" has no valid domain");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"a@example.com\", \"recipient_email_addresses\": [\"b@ex..com\"]}",
		"recipient_email_addresses[0]", "has no valid domain");
	bad("{\"run_id\": \"r1\", \"accounts\": [], \"athena_queries\": [], \"sender_email_address\": "
		"\"j\xc3\xb6rg@example.com\", \"recipient_email_addresses\": [\"b@example.com\"]}",
		"sender_email_address", "7-bit ASCII");
}

static void t_identifiers(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"athena_database_name\": \"my-db\"}",
		"athena_database_name", "\"my-db\" is not a safe SQL identifier");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"athena_table_name\": \"t; drop table x\"}",
		"athena_table_name", "is not a safe SQL identifier");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"athena_table_name\": "
		"\"t1234567890123456789012345678901234567890123456789012345678901234\"}",
		"athena_table_name", "1-64 characters");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"athena_table_name\": \"\"}",
		"athena_table_name", "not a safe SQL identifier");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"athena_table_name\": null}",
		"athena_table_name", "must be a string, not null");
}

static void t_regions(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"supported_regions\": [\"us-east-1\", \"EU\"]}",
		"supported_regions[1]", "\"EU\" is not an AWS region name");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"supported_regions\": [\"us-east-1 \"]}",
		"supported_regions[0]", "is not an AWS region name");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"supported_regions\": [\"us--east-1\"]}",
		"supported_regions[0]", NULL);
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"supported_regions\": \"us-east-1\"}",
		"supported_regions", "must be an array");
}

static void t_options(void **state)
{
	(void)state;
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"is_smoke_test\": \"false\"}",
		"is_smoke_test", "must be true or false, not \"false\"");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"snapshot\": \"weekly\"}",
		"snapshot", "\"weekly\" is not \"inventory\" or \"list\"");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"inventory_format\": \"JSON\"}",
		"inventory_format", "\"JSON\" is not \"CSV\", \"ORC\" or \"Parquet\"");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"object_versions\": \"latest\"}",
		"object_versions", "is not \"All\" or \"Current\"");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"engine\": \"spark\"}",
		"engine", "is not \"athena\" or \"local\"");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"inventory_timeout_hours\": 0}",
		"inventory_timeout_hours", "the number 0 is not a number of hours above 0");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"inventory_timeout_hours\": -2}",
		"inventory_timeout_hours", NULL);
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"inventory_timeout_hours\": \"60\"}",
		"inventory_timeout_hours", "\"60\" is not a number");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"inventory_timeout_hours\": 10000}",
		"inventory_timeout_hours", "at most 8760");
	bad("{\"run_id\": \"r1\", " MINIMAL_FIELDS ", \"external_id\": \"has space\"}",
		"external_id", "is not a valid external id");
}

/* Every problem at once, in document order; the joined detail is shortened to fit. */
static void t_all_problems(void **state)
{
	(void)state;
	const char *fields[] = { "run_id", "accounts[0].id", "accounts[1].exclude[0]",
		"athena_queries[0].query", "sender_email_address", "recipient_email_addresses",
		"athena_table_name", "supported_regions[0]", "is_smoke_test", "snapshot",
		"inventory_timeout_hours", NULL };
	s3i_input_problems *p = parse_bad(J({
		"run_id": "Run_One",
		"accounts": [{"id": "1"}, {"id": "123456789012", "exclude": [null]}],
		"athena_queries": [{"name": "x"}],
		"sender_email_address": "nobody",
		"recipient_email_addresses": [],
		"athena_table_name": "a-b",
		"supported_regions": ["moon-1"],
		"is_smoke_test": 1,
		"snapshot": 2,
		"inventory_timeout_hours": null
	}), S3I_EINVALID, fields);
	assert_int_equal(s3i_input_problems_count(p), 11);
	const s3i_error *e = s3i_error_last();
	assert_non_null(strstr(e->message, "run input is invalid: run_id: \"Run_One\""));
	assert_non_null(strstr(e->message, "; accounts[0].id: \"1\" is not a 12-digit account id; "));
	assert_true(strlen(e->message) < 1000);
	s3i_input_problems_free(p);

	/* so many that the detail cannot hold them: it says how many are left out */
	s3i_buf many = S3I_BUF_INIT;
	many.alloc = s3i_test_alloc();
	s3i_buf_puts(&many, "{\"run_id\": \"r1\", \"accounts\": [");
	for (int i = 0; i < 60; i++)
		s3i_buf_printf(&many, "%s{\"id\": \"%d\"}", i ? "," : "", i);
	s3i_buf_puts(&many, "], \"athena_queries\": [], \"sender_email_address\": \"a@example.com\", "
		"\"recipient_email_addresses\": [\"b@example.com\"]}");
	s3i_run_input *in = NULL;
	assert_int_equal(s3i_run_input_parse(&in, many.ptr, many.size, s3i_test_alloc(), &p),
		S3I_EINVALID);
	assert_int_equal(s3i_input_problems_count(p), 60);
	assert_string_equal(s3i_input_problems_get_field(p, 59), "accounts[59].id");
	assert_non_null(strstr(s3i_error_last()->message, " more)"));
	s3i_input_problems_free(p);
	s3i_buf_dispose(&many);
}

/* ---------------------------------------------------------------- Cleanup input */

static void t_cleanup(void **state)
{
	(void)state;
	s3i_cleanup_input *c = NULL;
	s3i_input_problems *p = NULL;
	assert_int_equal(s3i_cleanup_input_parse(&c, "{\"manual_cleanup\": true}", 24,
		s3i_test_alloc(), &p), S3I_OK);
	assert_null(p);
	assert_null(s3i_cleanup_input_get_run_id(c));
	s3i_cleanup_input_free(c);

	const char *r1 = "{\"run_id\": \"r1\"}";
	assert_int_equal(s3i_cleanup_input_parse(&c, r1, strlen(r1), s3i_test_alloc(), NULL), S3I_OK);
	assert_string_equal(s3i_cleanup_input_get_run_id(c), "r1");
	s3i_cleanup_input_free(c);

	/* a whole run input: only its run_id counts (bad recipients do not stop a cleanup) */
	const char *whole = "{\"run_id\": \"r2\", \"recipient_email_addresses\": [], \"manual_cleanup\": true}";
	assert_int_equal(s3i_cleanup_input_parse(&c, whole, strlen(whole), s3i_test_alloc(), NULL), S3I_OK);
	assert_string_equal(s3i_cleanup_input_get_run_id(c), "r2");
	s3i_cleanup_input_free(c);
	assert_int_equal(s3i_cleanup_input_parse(&c, s3insights_sample, strlen(s3insights_sample),
		s3i_test_alloc(), NULL), S3I_OK);
	assert_string_equal(s3i_cleanup_input_get_run_id(c), "run1");
	s3i_cleanup_input_free(c);

	struct { const char *json; const char *field; const char *part; } cases[] = {
		{ "{}", "$", "\"manual_cleanup\": true (every unfinished run) or a \"run_id\"" },
		{ "{\"manual_cleanup\": false}", "$", "say what to clean up" },
		{ "{\"manual_cleanup\": \"yes\"}", "manual_cleanup", "must be true or false, not \"yes\"" },
		{ "{\"run_id\": \"BAD\"}", "run_id", "no uppercase" },
		{ "[]", "$", "must be a JSON object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = (s3i_cleanup_input *)(uintptr_t)1;
		assert_int_equal(s3i_cleanup_input_parse(&c, cases[i].json, strlen(cases[i].json),
			s3i_test_alloc(), &p), S3I_EINVALID);
		assert_ptr_equal(c, (s3i_cleanup_input *)(uintptr_t)1);
		assert_true(s3i_input_problems_count(p) >= 1);
		assert_string_equal(s3i_input_problems_get_field(p, 0), cases[i].field);
		if (!strstr(s3i_input_problems_get_message(p, 0), cases[i].part))
			fail_msg("case %zu: '%s'", i, s3i_input_problems_get_message(p, 0));
		assert_string_equal(s3i_error_last()->resource, cases[i].field);
		s3i_input_problems_free(p);
	}
	c = NULL;
	assert_int_equal(s3i_cleanup_input_parse(&c, "{", 1, s3i_test_alloc(), &p), S3I_EPARSE);
	s3i_input_problems_free(p);
	s3i_cleanup_input_free(NULL);
}

/* ---------------------------------------------------------------- memory */

static int oom_round(const char *json, int good)
{
	s3i_run_input *in = NULL;
	s3i_input_problems *p = NULL;
	int rc = s3i_run_input_parse(&in, json, strlen(json), s3i_test_alloc(), &p);
	if (rc == S3I_OK) {
		s3i_buf b = S3I_BUF_INIT;
		rc = s3i_run_input_to_json(in, &b);
		if (rc == S3I_OK) {
			s3i_buf r = S3I_BUF_INIT;
			rc = s3i_run_input_render_query(in, 0, &r);
			s3i_buf_dispose(&r);
		}
		s3i_buf_dispose(&b);
		s3i_run_input_free(in);
	}
	if (rc == S3I_ENOMEM && p)
		fail_msg("ENOMEM with a problem list");
	if (rc == S3I_EINVALID && good)
		fail_msg("a good input failed validation under memory pressure");
	s3i_input_problems_free(p);
	return rc;
}

static void t_oom(void **state)
{
	(void)state;
	const char *inputs[] = { s3insights_sample, J({"run_id": "X", "accounts": [{"id": "1"},
		{"id": "123456789012", "exclude": ["a"]}, {"id": "123456789012", "exclude": ["b"]}],
		"athena_queries": [{}], "recipient_email_addresses": [] }) };
	for (int k = 0; k < 2; k++) {
		int want = k == 0 ? S3I_OK : S3I_EINVALID;
		int done = 0;
		for (long n = 0; n < 10000 && !done; n++) {
			s3i_test_alloc_fail_after(n);
			int rc = oom_round(inputs[k], k == 0);
			s3i_test_alloc_fail_after(-1);
			if (rc == want)
				done = 1;
			else if (rc != S3I_ENOMEM)
				fail_msg("input %d, allocation %ld failing gave %d", k, n, rc);
			else
				assert_non_null(strstr(s3i_error_last()->message, "out of memory"));
			if (s3i_test_alloc_outstanding() != 0)
				fail_msg("allocation %ld failing leaked %ld blocks", n, s3i_test_alloc_outstanding());
		}
		assert_true(done);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_s3insights_sample),
		S3I_TEST(t_defaults),
		S3I_TEST(t_extensions),
		S3I_TEST(t_enum_case),
		S3I_TEST(t_smoke_test),
		S3I_TEST(t_unknown_fields),
		S3I_TEST(t_duplicate_accounts),
		S3I_TEST(t_numeric_account),
		S3I_TEST(t_identifier_case),
		S3I_TEST(t_duplicate_member),
		S3I_TEST(t_empty_lists),
		S3I_TEST(t_unicode_and_escapes),
		S3I_TEST(t_substitute),
		S3I_TEST(t_not_json),
		S3I_TEST(t_empty_object),
		S3I_TEST(t_run_id),
		S3I_TEST(t_account_ids),
		S3I_TEST(t_account_shapes),
		S3I_TEST(t_queries),
		S3I_TEST(t_emails),
		S3I_TEST(t_identifiers),
		S3I_TEST(t_regions),
		S3I_TEST(t_options),
		S3I_TEST(t_all_problems),
		S3I_TEST(t_cleanup),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
