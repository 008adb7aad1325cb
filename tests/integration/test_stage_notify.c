/*
 * The notify stage (src/stages/notify.c) against moto_server, after the create-table and
 * query stages: the sent mail read back from moto's /moto-api/data.json (ses.RawMessage) and
 * its MIME parts decoded here: one message per batch of recipients (120 -> 3 x 40, each
 * address once: SendRawEmail goes without Destinations), multipart/alternative with the text
 * part before the HTML part, totals per account and region, every bucket with status and
 * reason, every query with state, rows, data scanned, first rows and console link, a
 * `<script>` bucket reason and query cell escaped in the HTML; nothing sent twice by a second
 * handle; a failed run's failure report naming the stage and error, sent once even after the
 * normal report went out; SES refusing the sender fails the run.
 */
#include "report_fixture.h"
#include "core/str.h"
#include "stages/stage_athena.h"

#define NRECIPIENTS 120

/* ------------------------------------------------------------------ MIME, decoded here */

typedef struct mail {
	char *headers;               /* unfolded */
	char *text;
	char *html;
	size_t text_at, html_at;     /* part order */
} mail;

static char *unfold(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 2 < n && s[i + 1] == '\n' && (s[i + 2] == ' ' || s[i + 2] == '\t')) {
			i += 1;   /* drop CRLF, keep the white space */
			continue;
		}
		o[k++] = s[i];
	}
	o[k] = 0;
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *qp_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (s[i] == '=' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
			continue;
		}
		o[k++] = s[i];
	}
	o[k] = 0;
	return o;
}

static char *b64_decode(const char *s, size_t n)
{
	char *clean = malloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			clean[k++] = s[i];
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	CHECK_OK(s3i_base64_decode(&b, clean, k));
	free(clean);
	char *o = malloc(b.size + 1);
	memcpy(o, b.ptr, b.size);
	o[b.size] = 0;
	s3i_buf_dispose(&b);
	return o;
}

/* CRLF -> LF, in place (the bodies travel with CRLF line breaks) */
static char *lf(char *s)
{
	size_t k = 0;
	for (size_t i = 0; s[i]; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n'))
			s[k++] = s[i];
	s[k] = 0;
	return s;
}

static void mail_parse(const char *raw, mail *m)
{
	memset(m, 0, sizeof(*m));
	const char *end = strstr(raw, "\r\n\r\n");
	assert_non_null(end);
	m->headers = unfold(raw, (size_t)(end - raw) + 2);
	assert_non_null(strstr(m->headers, "Content-Type: multipart/alternative;"));
	const char *bp = strstr(m->headers, "boundary=\"");
	assert_non_null(bp);
	bp += strlen("boundary=\"");
	char boundary[128] = "--";
	size_t bl = strcspn(bp, "\"");
	memcpy(boundary + 2, bp, bl);
	boundary[2 + bl] = 0;
	const char *p = strstr(end, boundary);
	int part = 0;
	while (p) {
		p += strlen(boundary);
		if (p[0] == '-' && p[1] == '-')
			break;
		const char *hend = strstr(p, "\r\n\r\n");
		assert_non_null(hend);
		char *ph = unfold(p, (size_t)(hend - p));
		const char *body = hend + 4;
		const char *next = strstr(body, boundary);
		assert_non_null(next);
		size_t blen = (size_t)(next - body);
		if (blen >= 2)
			blen -= 2;   /* the CRLF before the boundary */
		char *decoded = strstr(ph, "quoted-printable") ? qp_decode(body, blen)
			: strstr(ph, "base64") ? b64_decode(body, blen) : strndup(body, blen);
		lf(decoded);
		if (strstr(ph, "text/plain")) {
			m->text = decoded;
			m->text_at = (size_t)part;
		} else if (strstr(ph, "text/html")) {
			m->html = decoded;
			m->html_at = (size_t)part;
		} else {
			free(decoded);
		}
		free(ph);
		part++;
		p = next;
	}
	assert_non_null(m->text);
	assert_non_null(m->html);
	assert_true(m->text_at < m->html_at);   /* readers show the last part they understand */
}

static void mail_free(mail *m)
{
	free(m->headers);
	free(m->text);
	free(m->html);
}

static void has(const char *s, const char *what)
{
	if (!strstr(s, what))
		fail_msg("missing \"%s\" in:\n%s", what, s);
}

static void lacks(const char *s, const char *what)
{
	if (strstr(s, what))
		fail_msg("unexpected \"%s\" in:\n%s", what, s);
}

/* ses.RawMessage of /moto-api/data.json (free with s3i_json_free). */
static s3i_json sent_mail(void)
{
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/data.json", NULL, NULL, &out,
		&status), 0);
	assert_int_equal(status, 200);
	s3i_json doc = NULL;
	CHECK_OK(s3i_json_parse(&doc, out, strlen(out), "data.json", NULL));
	free(out);
	return doc;
}

static size_t count_sent(void)
{
	s3i_json doc = sent_mail();
	size_t n = s3i_json_len(s3i_json_path(doc, "ses.RawMessage"));
	s3i_json_free(doc);
	return n;
}

/* The header line `name: ...` of unfolded headers, copied into out. */
static void header(const mail *m, const char *name, char *out, size_t cap)
{
	char needle[64];
	snprintf(needle, sizeof(needle), "\r\n%s: ", name);
	const char *p = strstr(m->headers, needle);
	if (!p && !strncmp(m->headers, needle + 2, strlen(needle) - 2))
		p = m->headers - 2;
	assert_non_null(p);
	p += strlen(needle);
	size_t n = strcspn(p, "\r");
	snprintf(out, cap, "%.*s", (int)n, p);
}

/* ------------------------------------------------------------------ the run */

static char *recipients_json(int n)
{
	char *s = malloc((size_t)n * 32 + 4);
	size_t k = 0;
	s[k++] = '[';
	for (int i = 0; i < n; i++)
		k += (size_t)sprintf(s + k, "%s\"r%03d@example.com\"", i ? "," : "", i);
	s[k++] = ']';
	s[k] = 0;
	return s;
}

#define QUERIES "[{\"name\":\"failing\",\"query\":\"SELECT nope FROM {ATHENA_TABLE}\"}," \
	"{\"name\":\"big objects\",\"query\":\"SELECT bucket, key FROM {ATHENA_TABLE} " \
	"WHERE size > 1073741824\"}]"

/* The run up to the notify stage: estate, table, queries (one FAILED, one with a <script>
 * cell). */
static void run_until_notify(fx *f, int nrecipients)
{
	char *rj = recipients_json(nrecipients);
	fx_open_input(f, QUERIES, rj);
	free(rj);
	seed_estate(f);
	s3i_table *t = NULL;
	CHECK_OK(s3i_table_new(&t, f->run, NULL));
	CHECK_OK(s3i_table_run(t));
	s3i_table_free(t);
	canned_result("[[\"nope\"]]");
	canned_result("[[\"bucket\",\"key\"],[\"a2-failed\",\"<script>alert(1)</script>\"],"
		"[\"a1-data-east\",null]]");
	/* the first query's first poll: FAILED (served; moto cannot fail one) */
	athena_fault("GetQueryExecution", 200, 1, "{\"QueryExecution\":{\"QueryExecutionId\":"
		"\"00000000-0000-0000-0000-000000000003\",\"Query\":\"SELECT nope\",\"Status\":"
		"{\"State\":\"FAILED\",\"StateChangeReason\":\"SYNTAX_ERROR: Column 'nope' cannot be "
		"resolved\",\"SubmissionDateTime\":1.764806400E9},\"Statistics\":"
		"{\"DataScannedInBytes\":0}}}");
	s3i_query_options qo = S3I_QUERY_OPTIONS_INIT;
	qo.max_concurrent = 1;   /* the fault meets the first query */
	qo.poll_interval_ms = 5;
	s3i_query *q = NULL;
	CHECK_OK(s3i_query_new(&q, f->run, &qo));
	CHECK_OK(s3i_query_run(q));
	s3i_query_free(q);
	s3i_check_faults_used(moto);
}

typedef struct sent_items {
	int n;
	char keys[8][64];
} sent_items;

static int on_notify_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	sent_items *x = user;
	assert_true(x->n < 8);
	assert_non_null(s3i_ddb_item_get_s(it, "message_id"));
	snprintf(x->keys[x->n++], 64, "%s", sortkey);
	return 0;
}

static void test_report_sent_once_per_batch(void **state)
{
	(void)state;
	fx f;
	run_until_notify(&f, NRECIPIENTS);
	s3i_notify_options o = S3I_NOTIFY_OPTIONS_INIT;
	o.rows_per_query = 1;
	s3i_notify *st = NULL;
	CHECK_OK(s3i_notify_new(&st, f.run, &o));
	int rc = s3i_notify_run(st);
	if (rc)
		fail_msg("notify: %s", s3i_notify_error(st)->message);
	assert_int_equal(s3i_notify_sent(st), 3);
	s3i_notify_free(st);
	assert_phase(&f, "notifying");

	s3i_json doc = sent_mail();
	s3i_json list = s3i_json_path(doc, "ses.RawMessage");
	assert_int_equal(s3i_json_len(list), 3);
	static int seen[NRECIPIENTS];
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < 3; i++) {
		s3i_json msg = s3i_json_at(list, i);
		assert_string_equal(s3i_json_str(s3i_json_get(msg, "source")), SENDER);
		/* 40 each, every address once: no Destinations next to the To header */
		s3i_json dest = s3i_json_get(msg, "destinations");
		assert_int_equal(s3i_json_len(dest), 40);
		for (size_t j = 0; j < 40; j++) {
			int k = -1;
			assert_int_equal(sscanf(s3i_json_str(s3i_json_at(dest, j)), "r%d@", &k), 1);
			assert_true(k >= 0 && k < NRECIPIENTS);
			seen[k]++;
		}
		mail m;
		mail_parse(s3i_json_str(s3i_json_get(msg, "raw_data")), &m);
		char subject[256], from[256];
		header(&m, "Subject", subject, sizeof(subject));
		header(&m, "From", from, sizeof(from));
		/* 3 + 2 + 4 + 5 objects; 300 + 2048 + 4096 + 500 bytes */
		assert_string_equal(subject, "S3Insights run r1 (dep1): 7 buckets, 14 objects, 6.8 KiB");
		has(from, SENDER);
		if (i == 0) {
			/* totals per account and region */
			has(m.text, "  111111111111  ap-northeast-1: 1 bucket, 4 objects, 4.0 KiB (4096 bytes)");
			has(m.text, "  111111111111  eu-west-1: 2 buckets, 5 objects, 500 B (500 bytes)");
			has(m.text, "  123456789012  eu-west-1: 1 bucket, 2 objects, 2.0 KiB (2048 bytes)");
			has(m.text, "  123456789012  us-east-1: 3 buckets, 3 objects, 300 B (300 bytes)");
			has(m.text, "  all  all: 7 buckets, 14 objects, 6.8 KiB (6944 bytes)");
			/* every bucket with status and reason */
			has(m.text, "a1-data-east: done, 3 objects");
			has(m.text, "a1-data-west: done, 2 objects");
			has(m.text, "a1-empty: empty, 0 objects, 0 B - the bucket holds no objects");
			has(m.text, "a1-excluded: excluded, 0 objects, 0 B - excluded by the input");
			has(m.text, "a2-data-tokyo: done, 4 objects");
			has(m.text, "a2-failed: failed, 0 objects, 0 B - " SCRIPT_REASON);
			has(m.text, "a2-partial: timed_out, 5 objects, 500 B - no inventory report within "
				"60 hours");
			/* every query: state, rows, scanned, console link, first rows */
			has(m.text, "  big objects: SUCCEEDED, 2 rows, 0 B scanned");
			has(m.text, "    first 1 row:\n      bucket | key\n      a2-failed | "
				"<script>alert(1)</script>\n");
			lacks(m.text, "a1-data-east | NULL");
			has(m.text, "  failing: FAILED, 0 rows, 0 B scanned\n    reason: SYNTAX_ERROR: "
				"Column 'nope' cannot be resolved");
			has(m.text, "    console: https://us-east-1.console.aws.amazon.com/athena/home?"
				"region=us-east-1#/query-editor/history/");
			has(m.text, "Athena table: s3insights.r1inventorytable");
			/* the HTML: the same, escaped */
			has(m.html, "<td>a2-failed</td><td>failed</td>");
			has(m.html, "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; AccessDenied &amp; co");
			has(m.html, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
			lacks(m.html, "<script");
			has(m.html, "<a href=\"https://us-east-1.console.aws.amazon.com/athena/home?region="
				"us-east-1#/query-editor/history/");
			has(m.html, "<h3>failing</h3>");
		}
		mail_free(&m);
	}
	for (int k = 0; k < NRECIPIENTS; k++)
		assert_int_equal(seen[k], 1);
	s3i_json_free(doc);

	/* recorded: notify#report#000..002 */
	sent_items x = { 0 };
	CHECK_OK(s3i_stage_items_list(f.run, "notify#", on_notify_item, &x, NULL));
	assert_int_equal(x.n, 3);
	assert_string_equal(x.keys[0], "notify#report#000");
	assert_string_equal(x.keys[2], "notify#report#002");

	/* a second handle (a resumed run) sends nothing */
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	CHECK_OK(s3i_notify_run(st));
	assert_int_equal(s3i_notify_sent(st), 0);
	s3i_notify_free(st);
	assert_int_equal(count_sent(), 3);
	fx_close(&f);
}

static void test_failure_report_sent_once(void **state)
{
	(void)state;
	fx f;
	run_until_notify(&f, 2);
	/* the normal report first */
	s3i_notify *st = NULL;
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	CHECK_OK(s3i_notify_run(st));
	assert_int_equal(s3i_notify_sent(st), 1);
	s3i_notify_free(st);

	/* then the run fails (in teardown, say): the failure report goes out once */
	CHECK_OK(s3i_state_run_fail(s3i_run_state(f.run), "r1", "teardown",
		"teardown of run r1: stack dep1-r1-stack-dest-resources <b>DELETE_FAILED</b>", 2000,
		NULL));
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	CHECK_OK(s3i_notify_run(st));
	assert_int_equal(s3i_notify_sent(st), 1);
	s3i_notify_free(st);
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	CHECK_OK(s3i_notify_run(st));
	assert_int_equal(s3i_notify_sent(st), 0);
	s3i_notify_free(st);
	assert_phase(&f, "failed");

	s3i_json doc = sent_mail();
	s3i_json list = s3i_json_path(doc, "ses.RawMessage");
	assert_int_equal(s3i_json_len(list), 2);
	mail m;
	mail_parse(s3i_json_str(s3i_json_get(s3i_json_at(list, 1), "raw_data")), &m);
	char subject[256];
	header(&m, "Subject", subject, sizeof(subject));
	assert_string_equal(subject, "S3Insights run r1 (dep1) FAILED in stage teardown");
	has(m.text, "The run FAILED in stage teardown:\n  teardown of run r1: stack "
		"dep1-r1-stack-dest-resources <b>DELETE_FAILED</b>");
	has(m.html, "teardown of run r1: stack dep1-r1-stack-dest-resources "
		"&lt;b&gt;DELETE_FAILED&lt;/b&gt;");
	lacks(m.html, "<b>DELETE_FAILED");
	/* what was recorded until then is in it */
	has(m.text, "a2-failed: failed");
	has(m.text, "big objects: SUCCEEDED");
	mail_free(&m);
	s3i_json_free(doc);
	sent_items x = { 0 };
	CHECK_OK(s3i_stage_items_list(f.run, "notify#", on_notify_item, &x, NULL));
	assert_int_equal(x.n, 2);
	assert_string_equal(x.keys[0], "notify#failure#000");
	assert_string_equal(x.keys[1], "notify#report#000");
	fx_close(&f);
}

static void test_failure_report_of_an_early_failure(void **state)
{
	(void)state;
	fx f;
	fx_open_input(&f, QUERIES, "[\"ops@example.com\"]");
	seed_estate(&f);
	CHECK_OK(s3i_state_run_fail(s3i_run_state(f.run), "r1", "provision",
		"provision of run r1: ListBuckets in account 111111111111: AccessDenied", 2000, NULL));
	s3i_notify *st = NULL;
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	CHECK_OK(s3i_notify_run(st));
	assert_int_equal(s3i_notify_sent(st), 1);
	s3i_notify_free(st);
	s3i_json doc = sent_mail();
	mail m;
	mail_parse(s3i_json_str(s3i_json_path(doc, "ses.RawMessage.0.raw_data")), &m);
	has(m.text, "The run FAILED in stage provision:\n  provision of run r1: ListBuckets in "
		"account 111111111111: AccessDenied");
	/* queries never run are listed as such */
	has(m.text, "  big objects: NOT RUN");
	has(m.text, "  failing: NOT RUN");
	mail_free(&m);
	s3i_json_free(doc);
	fx_close(&f);
}

/* Parquet data: a bucket whose count failed (the table stage's count#00000 record, written
 * here as that stage writes it) is "not counted" in the mail, with the reason, never 0
 * objects; a bucket Athena counted shows its numbers. */
static void test_report_of_orc_buckets_not_counted(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"},{\"id\":\"" OTHER "\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"" SENDER "\","
		"\"recipient_email_addresses\":[\"ops@example.com\"],\"inventory_format\":\"Parquet\","
		"\"athena_database_name\":\"inv_db\",\"athena_table_name\":\"objects\"}");
	seed_data_bucket(&f, HOST, "us-east-1", "pq-east", 1, 1, 0, 0);
	seed_data_bucket(&f, OTHER, "eu-west-1", "pq-west", 1, 1, 0, 0);
	seed_terminal_bucket(&f, HOST, "us-east-1", "pq-empty", S3I_BUCKET_EMPTY, "no objects");
	CHECK_OK(s3i_state_bucket_set_counts(s3i_run_state(f.run), "r1", OTHER, "pq-west", 41,
		4100, 2000, NULL, NULL));
	s3i_stage_statement c = { 0 };
	c.sql = "SELECT account, region, bucketname, count(*), sum(size) FROM \"inv_db\".\"objects\" "
		"GROUP BY 1, 2, 3";
	snprintf(c.what, sizeof(c.what), "count of inv_db.objects");
	snprintf(c.execution_id, sizeof(c.execution_id), "00000000-0000-0000-0000-000000000009");
	snprintf(c.state, sizeof(c.state), "FAILED");
	s3i_ddb_item *it = s3i_stage_statement_item(s3i_test_alloc(), 0, &c,
		"query execution '00000000-0000-0000-0000-000000000009', FAILED: HIVE_CURSOR_ERROR: "
		"<corrupt> footer");
	assert_non_null(it);
	CHECK_OK(s3i_stage_item_put(f.run, "count#00000", it, NULL));
	s3i_ddb_item_free(it);

	s3i_notify *st = NULL;
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	CHECK_OK(s3i_notify_run(st));
	s3i_notify_free(st);
	s3i_json doc = sent_mail();
	mail m;
	mail_parse(s3i_json_str(s3i_json_path(doc, "ses.RawMessage.0.raw_data")), &m);
	char subject[256];
	header(&m, "Subject", subject, sizeof(subject));
	has(subject, "3 buckets, objects not counted");
	has(m.text, "pq-east: done, objects and bytes not counted\n");
	has(m.text, "pq-west: done, 41 objects, 4.0 KiB\n");
	has(m.text, "pq-empty: empty, 0 objects, 0 B");
	has(m.text, "Not counted: 1 bucket of ORC/Parquet data: counting them with Athena failed "
		"(query execution '00000000-0000-0000-0000-000000000009', FAILED: HIVE_CURSOR_ERROR: "
		"<corrupt> footer)");
	has(m.html, "HIVE_CURSOR_ERROR: &lt;corrupt&gt; footer");
	lacks(m.text, "pq-east: done, 0 objects");
	mail_free(&m);
	s3i_json_free(doc);
	fx_close(&f);
}

static void test_unverified_sender_fails_the_run(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"}],\"athena_queries\":[],"
		"\"sender_email_address\":\"nobody@unverified.example\","
		"\"recipient_email_addresses\":[\"ops@example.com\"]}");
	s3i_notify *st = NULL;
	CHECK_OK(s3i_notify_new(&st, f.run, NULL));
	int rc = s3i_notify_run(st);
	assert_int_equal(rc, S3I_EINVALID);
	has(s3i_notify_error(st)->message, "nobody@unverified.example");
	assert_int_equal(s3i_notify_sent(st), 0);
	s3i_notify_free(st);
	s3i_state_run r;
	run_record(&f, &r);
	assert_string_equal(s3i_run_phase_name(r.phase), "failed");
	assert_string_equal(r.error_stage, "notify");
	assert_non_null(strstr(r.error, "nobody@unverified.example"));
	s3i_state_run_dispose(&r);
	assert_int_equal(count_sent(), 0);
	fx_close(&f);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	s3i_notify *st = NULL;
	assert_int_equal(s3i_notify_new(&st, NULL, NULL), S3I_EINVALID);
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	s3i_notify_options o = S3I_NOTIFY_OPTIONS_INIT;
	o.recipients_per_message = 51;
	assert_int_equal(s3i_notify_new(&st, f.run, &o), S3I_EINVALID);
	o = (s3i_notify_options)S3I_NOTIFY_OPTIONS_INIT;
	o.rows_per_query = -2;
	assert_int_equal(s3i_notify_new(&st, f.run, &o), S3I_EINVALID);
	assert_null(st);
	assert_int_equal(s3i_notify_sent(NULL), 0);
	s3i_notify_free(NULL);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_report_sent_once_per_batch),
		S3I_TEST(test_failure_report_sent_once),
		S3I_TEST(test_failure_report_of_an_early_failure),
		S3I_TEST(test_report_of_orc_buckets_not_counted),
		S3I_TEST(test_unverified_sender_fails_the_run),
		S3I_TEST(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
