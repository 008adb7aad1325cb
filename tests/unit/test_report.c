/*
 * The run report of the notify stage (src/stages/report.c), a pure function over a snapshot
 * of the run: subject, text and HTML bodies; totals per account and region; every bucket with
 * status and reason; every query with state, rows, data scanned, first rows and console link;
 * the failure report; HTML escaping of everything from outside (a `<script>` reason and query
 * cell), control characters and invalid UTF-8; the bucket list cap; out of memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/errors.h"
#include "core/str.h"
#include "stages/report.h"
#include "test_alloc.h"

#define A1 "123456789012"
#define A2 "111111111111"

static const s3i_report_bucket buckets[] = {
	{ A1, "us-east-1", "alpha", "done", "", 10, 1000 },
	{ A1, "us-east-1", "beta", "empty", "the bucket holds no objects", 0, 0 },
	{ A1, "eu-west-1", "gamma", "done", NULL, 5, 2048 },
	{ A1, "us-east-1", "pipeline", "excluded", "a bucket of the pipeline", 0, 0 },
	{ A2, "ap-northeast-1", "delta", "failed", "<script>alert('x')</script> & \"more\"", 0, 0 },
	{ A2, "eu-west-1", "epsilon", "done", "", 20, 3 * 1024 * 1024 },
	{ A2, "eu-west-1", "zeta", "timed_out", "no report within 60 hours", 7, 700 },
};

static const char *const cols[] = { "bucket", "objects" };
static const char *const cells[] = { "alpha", "10", "<b>bold</b>", NULL };

static const s3i_report_query queries[] = {
	{ "big objects", "SUCCEEDED", "", "11111111-2222-3333-4444-555555555555",
		"s3://dep1-123456789012-consolidated/athena/r1/1111.csv", 2, 4096, 2, cols, 2, cells,
		NULL },
	{ "broken", "FAILED", "SYNTAX_ERROR: line 1:8: Column 'nope' cannot be resolved",
		"66666666-7777-8888-9999-000000000000", "", 0, 0, 0, NULL, 0, NULL, NULL },
	{ "unread", "SUCCEEDED", "", "abc", "", 5, 10, 0, NULL, 0, NULL,
		"GetQueryResults: AccessDenied" },
	{ "never", "", "", "", "", -1, -1, 0, NULL, 0, NULL, NULL },
};

static s3i_report base(void)
{
	s3i_report r = { 0 };
	r.deployment = "dep1";
	r.run_id = "r1";
	r.region = "us-east-1";
	r.partition = "aws";
	r.database = "s3insights";
	r.table = "r1inventorytable";
	r.data_location = "s3://dep1-123456789012-consolidated/inventory/r1/";
	r.results_location = "s3://dep1-123456789012-consolidated/athena/r1/";
	r.buckets = buckets;
	r.nbuckets = sizeof(buckets) / sizeof(buckets[0]);
	r.queries = queries;
	r.nqueries = sizeof(queries) / sizeof(queries[0]);
	return r;
}

typedef struct out3 {
	s3i_buf subject, text, html;
} out3;

static void out_init(out3 *o)
{
	s3i_buf_init(&o->subject, s3i_test_alloc());
	s3i_buf_init(&o->text, s3i_test_alloc());
	s3i_buf_init(&o->html, s3i_test_alloc());
}

static void out_dispose(out3 *o)
{
	s3i_buf_dispose(&o->subject);
	s3i_buf_dispose(&o->text);
	s3i_buf_dispose(&o->html);
}

static void has(const s3i_buf *b, const char *what)
{
	if (!strstr(s3i_buf_cstr(b), what))
		fail_msg("missing \"%s\" in:\n%s", what, s3i_buf_cstr(b));
}

static void lacks(const s3i_buf *b, const char *what)
{
	if (strstr(s3i_buf_cstr(b), what))
		fail_msg("unexpected \"%s\" in:\n%s", what, s3i_buf_cstr(b));
}

static void test_values(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_report_put_html(&b, "<script>a&b \"c\" 'd'</script>", 0), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b),
		"&lt;script&gt;a&amp;b &quot;c&quot; &#39;d&#39;&lt;/script&gt;");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_put_text(&b, "<kept>&", 0), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "<kept>&");
	/* control characters (also C1 and U+2028) become spaces: one line */
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_put_text(&b, "a\r\nb\tc\xC2\x85" "d\xE2\x80\xA8" "e", 0), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "a  b c d e");
	/* invalid UTF-8 becomes U+FFFD, valid multi-byte stays */
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_put_html(&b, "x\xFFy\xC3\xA9z\xE2\x82", 0), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "x\xEF\xBF\xBDy\xC3\xA9z\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_true(s3i_utf8_valid(b.ptr, b.size));
	/* cut after max characters, never inside one */
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_put_text(&b, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 2), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "\xC3\xA9\xC3\xA9...");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_put_html(&b, NULL, 0), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "");
	s3i_buf_dispose(&b);
}

static void test_formats(void **state)
{
	(void)state;
	char s[32];
	s3i_report_format_bytes(s, sizeof(s), 0);
	assert_string_equal(s, "0 B");
	s3i_report_format_bytes(s, sizeof(s), 1023);
	assert_string_equal(s, "1023 B");
	s3i_report_format_bytes(s, sizeof(s), 1536);
	assert_string_equal(s, "1.5 KiB");
	s3i_report_format_bytes(s, sizeof(s), 3LL * 1024 * 1024);
	assert_string_equal(s, "3.0 MiB");
	s3i_report_format_bytes(s, sizeof(s), 5LL * 1024 * 1024 * 1024 * 1024);
	assert_string_equal(s, "5.0 TiB");
	s3i_report_format_bytes(s, sizeof(s), INT64_MAX);
	assert_string_equal(s, "8.0 EiB");
	s3i_report_format_count(s, sizeof(s), 0);
	assert_string_equal(s, "0");
	s3i_report_format_count(s, sizeof(s), 999);
	assert_string_equal(s, "999");
	s3i_report_format_count(s, sizeof(s), 1000);
	assert_string_equal(s, "1,000");
	s3i_report_format_count(s, sizeof(s), 1234567);
	assert_string_equal(s, "1,234,567");
	s3i_report_format_count(s, sizeof(s), -1234);
	assert_string_equal(s, "-1,234");
	s3i_report_format_count(s, sizeof(s), INT64_MIN);
	assert_string_equal(s, "-9,223,372,036,854,775,808");
}

static void test_console_link(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_report_console_link(&b, "aws", "eu-west-1", "abc-123"), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "https://eu-west-1.console.aws.amazon.com/athena/home"
		"?region=eu-west-1#/query-editor/history/abc-123");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_console_link(&b, NULL, "us-east-1", "x y"), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "https://us-east-1.console.aws.amazon.com/athena/home"
		"?region=us-east-1#/query-editor/history/x%20y");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_console_link(&b, "aws-cn", "cn-north-1", "id"), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "https://cn-north-1.console.amazonaws.cn/athena/home"
		"?region=cn-north-1#/query-editor/history/id");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_report_console_link(&b, "aws-us-gov", "us-gov-west-1", "id"), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "https://console.amazonaws-us-gov.com/athena/home"
		"?region=us-gov-west-1#/query-editor/history/id");
	s3i_buf_dispose(&b);
}

static void test_report(void **state)
{
	(void)state;
	s3i_report r = base();
	out3 o;
	out_init(&o);
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_OK);
	/* 42 objects, 1000 + 2048 + 3 MiB + 700 bytes */
	assert_string_equal(s3i_buf_cstr(&o.subject),
		"S3Insights run r1 (dep1): 7 buckets, 42 objects, 3.0 MiB");
	lacks(&o.subject, "\n");

	/* totals per account and region, sorted, and for the run */
	has(&o.text, "  111111111111  ap-northeast-1: 1 bucket, 0 objects, 0 B (0 bytes)\n");
	has(&o.text, "  111111111111  eu-west-1: 2 buckets, 27 objects, 3.0 MiB (3146428 bytes)\n");
	has(&o.text, "  123456789012  eu-west-1: 1 bucket, 5 objects, 2.0 KiB (2048 bytes)\n");
	has(&o.text, "  123456789012  us-east-1: 3 buckets, 10 objects, 1000 B (1000 bytes)\n");
	has(&o.text, "  all  all: 7 buckets, 42 objects, 3.0 MiB (3149476 bytes)\n");
	const char *t = s3i_buf_cstr(&o.text);
	assert_true(strstr(t, "111111111111  ap-northeast-1") < strstr(t, "111111111111  eu-west-1"));
	assert_true(strstr(t, "123456789012  eu-west-1") < strstr(t, "123456789012  us-east-1"));

	/* every bucket with its status and reason */
	has(&o.text, "  123456789012  us-east-1  alpha: done, 10 objects, 1000 B\n");
	has(&o.text, "  123456789012  us-east-1  beta: empty, 0 objects, 0 B - the bucket holds no "
		"objects\n");
	has(&o.text, "pipeline: excluded, 0 objects, 0 B - a bucket of the pipeline\n");
	has(&o.text, "delta: failed, 0 objects, 0 B - <script>alert('x')</script> & \"more\"\n");
	has(&o.text, "zeta: timed_out, 7 objects, 700 B - no report within 60 hours\n");
	has(&o.html, "<td>delta</td><td>failed</td>");
	has(&o.html, "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;</td>");
	lacks(&o.html, "<script>");
	lacks(&o.html, "<b>bold");

	/* queries: state, rows, scanned, reason, console link, first rows */
	has(&o.text, "  big objects: SUCCEEDED, 2 rows, 4.0 KiB scanned\n");
	has(&o.text, "    console: https://us-east-1.console.aws.amazon.com/athena/home?region="
		"us-east-1#/query-editor/history/11111111-2222-3333-4444-555555555555\n");
	has(&o.text, "    results: s3://dep1-123456789012-consolidated/athena/r1/1111.csv\n");
	has(&o.text, "      bucket | objects\n      alpha | 10\n      <b>bold</b> | NULL\n");
	has(&o.html, "<th>bucket</th><th>objects</th>");
	has(&o.html, "<td>&lt;b&gt;bold&lt;/b&gt;</td><td><i>NULL</i></td>");
	has(&o.html, "<a href=\"https://us-east-1.console.aws.amazon.com/athena/home?region=us-east-1"
		"#/query-editor/history/11111111-2222-3333-4444-555555555555\">");
	has(&o.text, "  broken: FAILED, 0 rows, 0 B scanned\n    reason: SYNTAX_ERROR: line 1:8: "
		"Column 'nope' cannot be resolved\n");
	has(&o.html, "Reason: SYNTAX_ERROR: line 1:8: Column &#39;nope&#39; cannot be resolved");
	has(&o.text, "    rows could not be read: GetQueryResults: AccessDenied\n");
	has(&o.text, "  never: NOT RUN\n");
	has(&o.text, "Athena table: s3insights.r1inventorytable\n");
	has(&o.text, "Inventory data: s3://dep1-123456789012-consolidated/inventory/r1/\n");
	lacks(&o.text, "FAILED in stage");
	has(&o.html, "<!DOCTYPE html>");
	has(&o.html, "</html>");
	assert_true(s3i_utf8_valid(o.text.ptr, o.text.size));
	assert_true(s3i_utf8_valid(o.html.ptr, o.html.size));
	out_dispose(&o);
}

/* ORC/Parquet buckets Athena did not count (objects, bytes < 0): "not counted", never 0 and
 * never left out of a total that would then look complete; the note says why. */
static void test_not_counted(void **state)
{
	(void)state;
	static const s3i_report_bucket orc[] = {
		{ A1, "us-east-1", "orc-a", "done", "", -1, -1 },
		{ A1, "us-east-1", "orc-empty", "empty", "the bucket holds no objects", 0, 0 },
		{ A2, "eu-west-1", "orc-b", "done", "", 12, 3072 },
	};
	s3i_report r = base();
	r.buckets = orc;
	r.nbuckets = 3;
	r.count_note = "counting them with Athena failed (HIVE_BAD_DATA: <footer>)";
	out3 o;
	out_init(&o);
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&o.subject),
		"S3Insights run r1 (dep1): 3 buckets, objects not counted");
	has(&o.text, "  123456789012  us-east-1  orc-a: done, objects and bytes not counted\n");
	has(&o.text, "  123456789012  us-east-1: 2 buckets, objects and bytes not counted (1 bucket)\n");
	has(&o.text, "  111111111111  eu-west-1: 1 bucket, 12 objects, 3.0 KiB (3072 bytes)\n");
	has(&o.text, "  all  all: 3 buckets, objects and bytes not counted (1 bucket)\n");
	has(&o.text, "orc-empty: empty, 0 objects, 0 B");
	has(&o.text, "Not counted: 1 bucket of ORC/Parquet data: counting them with Athena failed "
		"(HIVE_BAD_DATA: <footer>). Their objects and bytes are unknown, not 0");
	has(&o.html, "<td>orc-a</td><td>done</td><td style=\"text-align:right\">not counted</td>");
	has(&o.html, "HIVE_BAD_DATA: &lt;footer&gt;");
	lacks(&o.text, " -1 ");
	lacks(&o.text, "-1 B");
	lacks(&o.html, ">-1<");
	out_dispose(&o);

	/* all counted: no note, the totals as before */
	r.buckets = orc + 1;
	r.nbuckets = 2;
	r.count_note = NULL;
	out_init(&o);
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&o.subject),
		"S3Insights run r1 (dep1): 2 buckets, 12 objects, 3.0 KiB");
	lacks(&o.text, "not counted");
	lacks(&o.html, "not counted");
	out_dispose(&o);
}

static void test_failure_report(void **state)
{
	(void)state;
	s3i_report r = base();
	r.failed = 1;
	r.error_stage = "table";
	r.error = "create table of run r1: statement 2 (CREATE TABLE) FAILED: <oops>";
	r.nqueries = 0;
	out3 o;
	out_init(&o);
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&o.subject), "S3Insights run r1 (dep1) FAILED in stage table");
	has(&o.text, "The run FAILED in stage table:\n  create table of run r1: statement 2 (CREATE "
		"TABLE) FAILED: <oops>\n");
	has(&o.html, "The run FAILED in stage table:</b> create table of run r1: statement 2 (CREATE "
		"TABLE) FAILED: &lt;oops&gt;");
	/* what was recorded until then is still there */
	has(&o.text, "delta: failed");
	has(&o.text, "Queries (0)");
	out_dispose(&o);
}

static void test_bucket_cap(void **state)
{
	(void)state;
	s3i_report r = base();
	r.max_buckets_listed = 2;
	out3 o;
	out_init(&o);
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_OK);
	has(&o.text, "alpha: done");
	has(&o.text, "beta: empty");
	lacks(&o.text, "gamma: done");
	has(&o.text, "  ... and 5 more buckets (counted in the totals above)\n");
	has(&o.text, "  all  all: 7 buckets, 42 objects");
	out_dispose(&o);
}

static void test_empty_and_bad_args(void **state)
{
	(void)state;
	s3i_report r = { 0 };
	r.run_id = "r2";
	r.deployment = "dep1";
	out3 o;
	out_init(&o);
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&o.subject), "S3Insights run r2 (dep1): 0 buckets, 0 objects, 0 B");
	has(&o.text, "Buckets (0)");
	assert_int_equal(s3i_report_build(NULL, &o.subject, &o.text, &o.html, NULL), S3I_EINVALID);
	r.nbuckets = 3;
	assert_int_equal(s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL), S3I_EINVALID);
	out_dispose(&o);
}

static void test_out_of_memory(void **state)
{
	(void)state;
	s3i_report r = base();
	int ok = 0;
	for (long n = 0; n < 10000 && !ok; n++) {
		out3 o;
		out_init(&o);
		s3i_test_alloc_fail_after(n);
		int rc = s3i_report_build(&r, &o.subject, &o.text, &o.html, NULL);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK)
			ok = 1;
		else
			assert_int_equal(rc, S3I_ENOMEM);
		out_dispose(&o);
	}
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_values),
		S3I_TEST(test_formats),
		S3I_TEST(test_console_link),
		S3I_TEST(test_report),
		S3I_TEST(test_not_counted),
		S3I_TEST(test_failure_report),
		S3I_TEST(test_bucket_cap),
		S3I_TEST(test_empty_and_bad_args),
		S3I_TEST(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
