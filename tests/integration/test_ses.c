/*
 * SES v1 operations (src/services/ses.c) against moto_server: VerifyEmailIdentity,
 * ListIdentities (paged across two pages served by /_fault, since moto does not page, and the
 * NextToken seen arriving at moto through its recorder), GetIdentityVerificationAttributes in
 * requests of at most 100, SendRawEmail of messages built by src/services/mime.c and read back
 * from moto's data.json byte for byte, the unverified sender and moto's recipient limit,
 * recipient batches, throttling and documented error shapes through /_fault, and a second
 * account reached through AssumeRole. Every context uses the counting allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "core/json.h"
#include "core/str.h"
#include "services/mime.h"
#include "services/ses.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

#define RECORDING S3I_BINARY_DIR "/Testing/Temporary/moto-recording-ses"

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* fast client retries */
	const char *env[] = { "MOTO_RECORDER_FILEPATH=" RECORDING, NULL };
	return s3i_moto_start(&moto, env);
}

static int group_teardown(void **state)
{
	(void)state;
	remove(RECORDING);
	return 0;
}

static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = s3i_check_log;
	o.log_level = S3I_LOG_WARN;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* A /_fault rule answering the SES query action `action` with an XML body. */
static void add_fault(const char *action, int status, int count, const char *body)
{
	s3i_buf rule;
	s3i_buf_init(&rule, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &rule);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "service");
	s3i_jw_str(&w, "ses");
	s3i_jw_key(&w, "action");
	s3i_jw_str(&w, action);
	s3i_jw_key(&w, "status");
	s3i_jw_i64(&w, status);
	s3i_jw_key(&w, "count");
	s3i_jw_i64(&w, count);
	s3i_jw_key(&w, "content_type");
	s3i_jw_str(&w, "text/xml");
	s3i_jw_key(&w, "body");
	s3i_jw_str(&w, body);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_OK);
	assert_int_equal(s3i_moto_add_fault(moto, rule.ptr), 0);
	s3i_buf_dispose(&rule);
}

/* ---- moto's recorder ---- */

/* The decoded form bodies of the recorded calls holding "Action=<action>&", one per line. */
static char *recorder_bodies(const char *action)
{
	s3i_check_moto_post(moto, "/moto-api/recorder/stop-recording", "");
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	char want[120];
	snprintf(want, sizeof(want), "Action=%s&", action);
	s3i_buf all;
	s3i_buf_init(&all, NULL);
	for (char *line = out; line && *line;) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == S3I_OK) {
			const char *body = s3i_json_str(s3i_json_get(doc, "body"));
			s3i_buf dec;
			s3i_buf_init(&dec, NULL);
			if (body && s3i_json_bool(s3i_json_get(doc, "body_encoded"), 0))
				assert_int_equal(s3i_base64_decode(&dec, body, strlen(body)), S3I_OK);
			else if (body)
				assert_int_equal(s3i_buf_puts(&dec, body), S3I_OK);
			if (dec.ptr && strstr(dec.ptr, want)) {
				assert_int_equal(s3i_buf_put(&all, dec.ptr, dec.size), S3I_OK);
				assert_int_equal(s3i_buf_putc(&all, '\n'), S3I_OK);
			}
			s3i_buf_dispose(&dec);
		}
		s3i_json_free(doc);
		line = eol ? eol + 1 : NULL;
	}
	free(out);
	char *r = strdup(all.ptr ? all.ptr : "");
	s3i_buf_dispose(&all);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- moto's sent mail ---- */

/* ses.RawMessage of /moto-api/data.json (caller frees with s3i_json_free). */
static s3i_json raw_messages(void)
{
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/data.json", NULL, NULL, &out,
		&status), 0);
	assert_int_equal(status, 200);
	s3i_json doc = NULL;
	assert_int_equal(s3i_json_parse(&doc, out, strlen(out), "data.json", NULL), S3I_OK);
	free(out);
	return doc;
}

static s3i_json raw_message_by_id(s3i_json doc, const char *id)
{
	s3i_json list = s3i_json_path(doc, "ses.RawMessage");
	for (size_t i = 0; i < s3i_json_len(list); i++) {
		s3i_json m = s3i_json_at(list, i);
		const char *mid = s3i_json_str(s3i_json_get(m, "id"));
		if (mid && !strcmp(mid, id))
			return m;
	}
	return NULL;
}

/* ---- identities ---- */

typedef struct names {
	char list[300][64];
	size_t n;
	size_t stop_after;
} names;

static int collect(void *payload, const char *identity)
{
	names *s = payload;
	assert_true(s->n < 300);
	snprintf(s->list[s->n++], sizeof(s->list[0]), "%s", identity);
	return s->stop_after && s->n >= s->stop_after;
}

static int has(const names *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->list[i], id))
			return 1;
	return 0;
}

static void test_verify_list_and_status(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "sender@example.com", NULL));
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "ops@example.org", NULL));
	static names s;
	memset(&s, 0, sizeof(s));
	s3i_ses_list_progress pr;
	CHECK_OK(s3i_ses_list_identities_op(&svc, NULL, collect, &s, &pr, NULL));
	assert_int_equal(s.n, 2);
	assert_true(has(&s, "sender@example.com") && has(&s, "ops@example.org"));
	assert_int_equal(pr.identities, 2);
	assert_int_equal(pr.pages, 1);
	assert_string_equal(pr.next_token, "");
	/* by type: moto knows both as email addresses */
	memset(&s, 0, sizeof(s));
	s3i_ses_list_opts lo = { .type = S3I_SES_IDENTITY_DOMAIN };
	CHECK_OK(s3i_ses_list_identities_op(&svc, &lo, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 0);
	lo.type = S3I_SES_IDENTITY_EMAIL;
	CHECK_OK(s3i_ses_list_identities_op(&svc, &lo, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 2);

	const char *ids[] = { "sender@example.com", "unknown@example.com", "ops@example.org" };
	s3i_ses_verification st[3];
	CHECK_OK(s3i_ses_get_verification_op(&svc, ids, 3, st, NULL));
	assert_int_equal(st[0], S3I_SES_VERIFY_SUCCESS);
	assert_int_equal(st[1], S3I_SES_VERIFY_ABSENT);
	assert_int_equal(st[2], S3I_SES_VERIFY_SUCCESS);
	assert_string_equal(s3i_ses_verification_name(st[0]), "Success");
	assert_string_equal(s3i_ses_verification_name(st[1]), "Absent");
	assert_int_equal(s3i_ses_get_verification_op(&svc, NULL, 0, NULL, NULL), S3I_OK);
	s3i_ctx_release(ctx);
}

/* 150 identities: two GetIdentityVerificationAttributes requests (100 + 50). */
static void test_verification_in_batches_of_100(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	static char addr[150][40];
	const char *ids[150];
	for (int i = 0; i < 150; i++) {
		snprintf(addr[i], sizeof(addr[i]), "user%03d@example.com", i);
		ids[i] = addr[i];
		if (i % 3 == 0)
			CHECK_OK(s3i_ses_verify_email_identity_op(&svc, addr[i], NULL));
	}
	s3i_check_recorder_start(moto);
	s3i_ses_verification st[150];
	CHECK_OK(s3i_ses_get_verification_op(&svc, ids, 150, st, NULL));
	char *sent = recorder_bodies("GetIdentityVerificationAttributes");
	assert_int_equal(count_lines(sent), 2);
	assert_non_null(strstr(sent, "Identities.member.100=user099%40example.com"));
	assert_null(strstr(sent, "Identities.member.101="));
	assert_non_null(strstr(sent, "Identities.member.50=user149%40example.com"));
	free(sent);
	for (int i = 0; i < 150; i++)
		assert_int_equal(st[i], i % 3 == 0 ? S3I_SES_VERIFY_SUCCESS : S3I_SES_VERIFY_ABSENT);
	s3i_ctx_release(ctx);
}

/* AWS's documented ListIdentities shape, served by /_fault. */
static const char LIST_PAGE1[] =
	"<ListIdentitiesResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
	"<ListIdentitiesResult><Identities><member>example.com</member>"
	"<member>user@example.com</member></Identities>"
	"<NextToken>QUFBQUF-page2+token/x==</NextToken></ListIdentitiesResult>"
	"<ResponseMetadata><RequestId>cacecf23-9bf1-11e1-9279-0100e8cf109a</RequestId>"
	"</ResponseMetadata></ListIdentitiesResponse>";
static const char LIST_PAGE2[] =
	"<ListIdentitiesResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">\n"
	"  <ListIdentitiesResult>\n    <Identities>\n      <member>third@example.com</member>\n"
	"      <member>fourth@example.net</member>\n    </Identities>\n  </ListIdentitiesResult>\n"
	"  <ResponseMetadata>\n    <RequestId>cacecf23-9bf1-11e1-9279-0100e8cf109b</RequestId>\n"
	"  </ResponseMetadata>\n</ListIdentitiesResponse>\n";

static void test_list_identities_two_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	add_fault("ListIdentities", 200, 1, LIST_PAGE1);
	add_fault("ListIdentities", 200, 1, LIST_PAGE2);
	static names s;
	memset(&s, 0, sizeof(s));
	s3i_ses_list_progress pr;
	s3i_ses_list_opts lo = { .max_items = 2 };
	CHECK_OK(s3i_ses_list_identities_op(&svc, &lo, collect, &s, &pr, NULL));
	s3i_check_faults_used(moto);
	const char *want[] = { "example.com", "user@example.com", "third@example.com",
		"fourth@example.net" };
	assert_int_equal(s.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(s.list[i], want[i]);
	assert_int_equal(pr.pages, 2);
	assert_int_equal(pr.identities, 4);
	assert_string_equal(pr.next_token, "");

	/* one page, then resume from where it stopped */
	add_fault("ListIdentities", 200, 1, LIST_PAGE1);
	add_fault("ListIdentities", 200, 1, LIST_PAGE2);
	memset(&s, 0, sizeof(s));
	lo.max_pages = 1;
	CHECK_OK(s3i_ses_list_identities_op(&svc, &lo, collect, &s, &pr, NULL));
	assert_int_equal(s.n, 2);
	assert_string_equal(pr.next_token, "QUFBQUF-page2+token/x==");
	char token[S3I_SES_TOKEN_SIZE];
	snprintf(token, sizeof(token), "%s", pr.next_token);
	lo = (s3i_ses_list_opts){ .next_token = token };
	CHECK_OK(s3i_ses_list_identities_op(&svc, &lo, collect, &s, &pr, NULL));
	assert_int_equal(s.n, 4);
	assert_string_equal(s.list[2], "third@example.com");
	s3i_check_faults_used(moto);

	/* the callback stops: EUSER, the progress says how far it got */
	add_fault("ListIdentities", 200, 1, LIST_PAGE1);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	int rc = s3i_ses_list_identities_op(&svc, NULL, collect, &s, &pr, NULL);
	s3i_check_expect_error(rc, S3I_EUSER, NULL, NULL);
	assert_int_equal(pr.identities, 0);
	assert_int_equal(pr.pages, 0);
	s3i_ctx_release(ctx);
}

/* Page 1 from /_fault; page 2 from moto, whose recorder shows the token arriving. */
static void test_list_identities_next_token_is_sent(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "real@example.com", NULL));
	add_fault("ListIdentities", 200, 1, LIST_PAGE1);
	s3i_check_recorder_start(moto);
	static names s;
	memset(&s, 0, sizeof(s));
	s3i_ses_list_opts lo = { .max_items = 2, .type = S3I_SES_IDENTITY_EMAIL };
	CHECK_OK(s3i_ses_list_identities_op(&svc, &lo, collect, &s, NULL, NULL));
	char *sent = recorder_bodies("ListIdentities");
	assert_int_equal(count_lines(sent), 1);
	/* form-encoded: + / = percent-encoded */
	assert_non_null(strstr(sent, "NextToken=QUFBQUF-page2%2Btoken%2Fx%3D%3D"));
	assert_non_null(strstr(sent, "MaxItems=2"));
	assert_non_null(strstr(sent, "IdentityType=EmailAddress"));
	free(sent);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.list[2], "real@example.com");

	/* a token that does not move stops the loop */
	add_fault("ListIdentities", 200, -1, LIST_PAGE1);
	int rc = s3i_ses_list_identities_op(&svc, NULL, NULL, NULL, NULL, NULL);
	const char *m[] = { "gave back the NextToken it was asked for", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m);
	s3i_ctx_release(ctx);
}

/* ---- sending ---- */

static void test_send_raw_email(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "noreply@example.com", NULL));
	const s3i_mime_address to[] = { { "Zoë Ångström", "zoe@example.com" },
		{ "Ops, Team", "ops@example.org" } };
	s3i_mime_message msg = { .from = { "S3Insights ✓", "noreply@example.com" }, .to = to,
		.nto = 2, .subject = "Run r1: Résumé ✓ 日本語", .text = "Totals: 42 objects\n.\n",
		.html = "<p>Totals: <b>42</b> objects</p>", .date_ms = 1440938160000LL };
	s3i_buf raw;
	s3i_buf_init(&raw, s3i_test_alloc());
	CHECK_OK(s3i_mime_build(&raw, &msg, NULL));
	char id[S3I_SES_MESSAGE_ID_SIZE];
	s3i_ses_raw_email r = { .source = "noreply@example.com", .data = raw.ptr, .len = raw.size };
	CHECK_OK(s3i_ses_send_raw_email_op(&svc, &r, id, NULL));
	assert_true(strlen(id) > 10);
	/* moto kept it byte for byte (RawMessage.Data went base64 and came back) */
	s3i_json doc = raw_messages();
	s3i_json m = raw_message_by_id(doc, id);
	assert_non_null(m);
	assert_string_equal(s3i_json_str(s3i_json_get(m, "raw_data")), raw.ptr);
	assert_string_equal(s3i_json_str(s3i_json_get(m, "source")), "noreply@example.com");
	/* moto read the To header with Python's email parser: both addresses */
	s3i_json dest = s3i_json_get(m, "destinations");
	assert_int_equal(s3i_json_len(dest), 2);
	assert_non_null(strstr(s3i_json_str(s3i_json_at(dest, 0)), "zoe@example.com"));
	assert_non_null(strstr(s3i_json_str(s3i_json_at(dest, 1)), "ops@example.org"));
	s3i_json_free(doc);

	/* Source left out: SES (and moto) take the From header; explicit Destinations */
	const char *dests[] = { "extra@example.net" };
	r = (s3i_ses_raw_email){ .destinations = dests, .ndestinations = 1, .data = raw.ptr,
		.len = raw.size };
	CHECK_OK(s3i_ses_send_raw_email_op(&svc, &r, id, NULL));
	doc = raw_messages();
	m = raw_message_by_id(doc, id);
	assert_non_null(m);
	assert_string_equal(s3i_json_str(s3i_json_get(m, "source")), "noreply@example.com");
	assert_string_equal(s3i_json_str(s3i_json_at(s3i_json_get(m, "destinations"), 0)),
		"extra@example.net");
	s3i_json_free(doc);

	/* the one-call form: build and send */
	msg.date_ms = 0;
	CHECK_OK(s3i_ses_send_message_op(&svc, &msg, id, NULL));
	doc = raw_messages();
	m = raw_message_by_id(doc, id);
	assert_non_null(m);
	const char *data = s3i_json_str(s3i_json_get(m, "raw_data"));
	assert_non_null(strstr(data, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(data, "multipart/alternative"));
	assert_non_null(strstr(data, "=2E\r\n"));      /* the lone dot, escaped */
	s3i_json_free(doc);
	s3i_buf_dispose(&raw);
	s3i_ctx_release(ctx);
}

static void test_unverified_sender(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const char *raw = "From: Nobody <nobody@example.com>\r\nTo: a@example.org\r\n"
		"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nx\r\n";
	char id[S3I_SES_MESSAGE_ID_SIZE] = "stale";
	s3i_ses_raw_email r = { .source = "nobody@example.com", .data = raw, .len = strlen(raw) };
	int rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	/* moto 5.2.1 answers "Did not have authority to send from email <addr>" */
	const char *m[] = { "SendRawEmail from sender 'nobody@example.com' was rejected",
		"MessageRejected", "Did not have authority to send from email nobody@example.com",
		"HTTP 400", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "MessageRejected", m);
	assert_string_equal(s3i_error_last()->resource, "sender 'nobody@example.com'");
	assert_int_equal(s3i_error_last()->http_status, 400);
	assert_string_equal(id, "");
	/* without Source: the sender named is the From header's address */
	r.source = NULL;
	rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, "MessageRejected", m);
	/* AWS's own wording, served by /_fault */
	add_fault("SendRawEmail", 400, 1, "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/"
		"2010-12-01/\"><Error><Type>Sender</Type><Code>MessageRejected</Code><Message>Email "
		"address is not verified. The following identities failed the check in region "
		"US-EAST-1: nobody@example.com</Message></Error><RequestId>8d2c7d4e-0000-4000-8000-"
		"0123456789ab</RequestId></ErrorResponse>");
	rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	const char *m2[] = { "sender 'nobody@example.com' was rejected", "Email address is not "
		"verified", "request id 8d2c7d4e-0000-4000-8000-0123456789ab", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "MessageRejected", m2);
	assert_string_equal(s3i_error_last()->request_id, "8d2c7d4e-0000-4000-8000-0123456789ab");

	/* verified in us-east-1 only: eu-west-1 rejects it (identities are per region) */
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "nobody@example.com", NULL));
	r.source = "nobody@example.com";
	CHECK_OK(s3i_ses_send_raw_email_op(&svc, &r, id, NULL));
	s3i_svc eu = { svc.client, NULL, "eu-west-1" };
	rc = s3i_ses_send_raw_email_op(&eu, &r, id, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, "MessageRejected", m);
	s3i_ctx_release(ctx);
}

typedef struct batches {
	size_t sizes[10];
	char first[10][64];
	size_t n;
	const s3i_svc *svc;
} batches;

static int send_batch(void *payload, const char *const *rcpt, size_t n, size_t batch)
{
	batches *b = payload;
	assert_int_equal(batch, b->n);
	b->sizes[b->n] = n;
	snprintf(b->first[b->n], sizeof(b->first[0]), "%s", rcpt[0]);
	b->n++;
	s3i_mime_address to[S3I_SES_MAX_RECIPIENTS];
	for (size_t i = 0; i < n; i++)
		to[i] = (s3i_mime_address){ NULL, rcpt[i] };
	s3i_mime_message msg = { .from = { "Reports", "reports@example.com" }, .to = to, .nto = n,
		.subject = "batch", .text = "hello" };
	char id[S3I_SES_MESSAGE_ID_SIZE];
	CHECK_OK(s3i_ses_send_message_op(b->svc, &msg, id, NULL));
	return 0;
}

static void test_recipients_in_batches(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "reports@example.com", NULL));
	static char addr[130][40];
	const char *list[130];
	for (int i = 0; i < 130; i++) {
		/* 120 distinct addresses, then 10 repeats in another case */
		if (i < 120)
			snprintf(addr[i], sizeof(addr[i]), "r%03d@example.com", i);
		else
			snprintf(addr[i], sizeof(addr[i]), "R%03d@EXAMPLE.COM", i - 120);
		list[i] = addr[i];
	}
	batches b = { .svc = &svc };
	CHECK_OK(s3i_ses_recipient_batches(s3i_test_alloc(), list, 130, 0, send_batch, &b, NULL));
	assert_int_equal(b.n, 3);
	assert_int_equal(b.sizes[0], 40);
	assert_int_equal(b.sizes[1], 40);
	assert_int_equal(b.sizes[2], 40);
	assert_string_equal(b.first[1], "r040@example.com");
	s3i_json doc = raw_messages();
	s3i_json msgs = s3i_json_path(doc, "ses.RawMessage");
	assert_int_equal(s3i_json_len(msgs), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(s3i_json_len(s3i_json_get(s3i_json_at(msgs, i), "destinations")), 40);
	s3i_json_free(doc);

	/* more than 50 in one message is refused before sending */
	s3i_mime_address to[51];
	for (int i = 0; i < 51; i++)
		to[i] = (s3i_mime_address){ NULL, addr[i] };
	s3i_mime_message big = { .from = { NULL, "reports@example.com" }, .to = to, .nto = 51,
		.subject = "x", .text = "x" };
	char id[S3I_SES_MESSAGE_ID_SIZE];
	int rc = s3i_ses_send_message_op(&svc, &big, id, NULL);
	const char *m[] = { "51 recipients, more than the 50", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, m);
	s3i_ses_raw_email r = { .destinations = list, .ndestinations = 51, .data = "x", .len = 1 };
	rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	assert_string_equal(s3i_error_last()->resource, "Destinations");

	/* moto adds the To header's addresses to Destinations: 30 + 30 is "Too many recipients" */
	big.nto = 30;
	s3i_buf raw;
	s3i_buf_init(&raw, s3i_test_alloc());
	CHECK_OK(s3i_mime_build(&raw, &big, NULL));
	r = (s3i_ses_raw_email){ .source = "reports@example.com", .destinations = list + 30,
		.ndestinations = 30, .data = raw.ptr, .len = raw.size };
	rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	const char *m2[] = { "sender 'reports@example.com' was rejected", "Too many recipients", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "MessageRejected", m2);
	s3i_buf_dispose(&raw);
	s3i_ctx_release(ctx);
}

/* ---- faults ---- */

static void test_throttling_then_success(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const char *throttle = "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
		"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate "
		"exceeded.</Message></Error><RequestId>2e4fd1d6-0000-4000-8000-00000000000a</RequestId>"
		"</ErrorResponse>";
	add_fault("VerifyEmailIdentity", 400, 1, throttle);
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "noreply@example.com", NULL));
	add_fault("SendRawEmail", 400, 2, throttle);
	const char *raw = "From: noreply@example.com\r\nTo: a@example.org\r\nSubject: x\r\n\r\nx\r\n";
	s3i_ses_raw_email r = { .data = raw, .len = strlen(raw) };
	char id[S3I_SES_MESSAGE_ID_SIZE];
	CHECK_OK(s3i_ses_send_raw_email_op(&svc, &r, id, NULL));
	add_fault("ListIdentities", 400, 1, throttle);
	add_fault("GetIdentityVerificationAttributes", 400, 1, throttle);
	CHECK_OK(s3i_ses_list_identities_op(&svc, NULL, NULL, NULL, NULL, NULL));
	const char *ids[] = { "noreply@example.com" };
	s3i_ses_verification st;
	CHECK_OK(s3i_ses_get_verification_op(&svc, ids, 1, &st, NULL));
	assert_int_equal(st, S3I_SES_VERIFY_SUCCESS);
	s3i_check_faults_used(moto);
	/* for ever: ETHROTTLED once the attempts are spent, naming the sender */
	add_fault("SendRawEmail", 400, -1, throttle);
	int rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	const char *m[] = { "SendRawEmail", "sender 'noreply@example.com'", "Maximum sending rate "
		"exceeded", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "Throttling", m);
	assert_true(s3i_status_is_retryable(rc));
	s3i_ctx_release(ctx);
}

static void test_documented_errors_and_shapes(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "noreply@example.com", NULL));
	const char *raw = "From: noreply@example.com\r\nTo: a@example.org\r\n\r\nx\r\n";
	char id[S3I_SES_MESSAGE_ID_SIZE];
	/* the wire code is ConfigurationSetDoesNotExist (botocore's shape adds "Exception") */
	add_fault("SendRawEmail", 400, 1, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"ConfigurationSetDoesNotExist</Code><Message>Configuration set &lt;reports&gt; does not "
		"exist.</Message></Error><RequestId>r</RequestId></ErrorResponse>");
	s3i_ses_raw_email r = { .data = raw, .len = strlen(raw), .configuration_set = "reports" };
	int rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	const char *m[] = { "SendRawEmail from sender 'noreply@example.com': configuration set "
		"'reports' does not exist", "Configuration set <reports> does not exist.", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ConfigurationSetDoesNotExist", m);
	assert_string_equal(s3i_error_last()->resource, "configuration set 'reports'");

	/* 200 answers that are not the documented shape */
	add_fault("SendRawEmail", 200, 1, "<SendRawEmailResponse><SendRawEmailResult/>"
		"</SendRawEmailResponse>");
	r.configuration_set = NULL;
	rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	const char *m2[] = { "SendRawEmail response has no MessageId", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m2);
	add_fault("GetIdentityVerificationAttributes", 200, 1, "<GetIdentityVerificationAttributes"
		"Response><GetIdentityVerificationAttributesResult><VerificationAttributes><entry><key>a@b"
		"</key></entry></VerificationAttributes></GetIdentityVerificationAttributesResult>"
		"</GetIdentityVerificationAttributesResponse>");
	const char *ids[] = { "a@b" };
	s3i_ses_verification st;
	rc = s3i_ses_get_verification_op(&svc, ids, 1, &st, NULL);
	const char *m3[] = { "entry 0 has no key or no VerificationStatus", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m3);
	add_fault("ListIdentities", 200, 1, "<html><body>gateway</body></html>");
	rc = s3i_ses_list_identities_op(&svc, NULL, NULL, NULL, NULL, NULL);
	const char *m4[] = { "not a <ListIdentitiesResponse>", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m4);

	/* refused before any call */
	assert_int_equal(s3i_ses_verify_email_identity_op(&svc, "", NULL), S3I_EINVALID);
	assert_int_equal(s3i_ses_verify_email_identity_op(&svc, "no-at-sign", NULL), S3I_EINVALID);
	assert_int_equal(s3i_ses_verify_email_identity_op(&svc, "a b@example.com", NULL),
		S3I_EINVALID);
	assert_int_equal(s3i_ses_verify_email_identity_op(&svc, "a@example.com\r\nX: y", NULL),
		S3I_EINVALID);
	r = (s3i_ses_raw_email){ .data = raw, .len = 0 };
	assert_int_equal(s3i_ses_send_raw_email_op(&svc, &r, id, NULL), S3I_EINVALID);
	r = (s3i_ses_raw_email){ .source = "bad", .data = raw, .len = strlen(raw) };
	assert_int_equal(s3i_ses_send_raw_email_op(&svc, &r, id, NULL), S3I_EINVALID);
	assert_string_equal(s3i_error_last()->resource, "sender address");
	const char *bad_ids[] = { "ok@example.com", "" };
	s3i_ses_verification st2[2];
	assert_int_equal(s3i_ses_get_verification_op(&svc, bad_ids, 2, st2, NULL), S3I_EINVALID);
	s3i_ses_list_opts lo = { .max_items = 1001 };
	assert_int_equal(s3i_ses_list_identities_op(&svc, &lo, NULL, NULL, NULL, NULL), S3I_EINVALID);
	s3i_ctx_release(ctx);
}

/* ---- two accounts ---- */

static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_credprov_env env = { .alloc = s3i_ctx_alloc(ctx), .http = ctx->http, .region = "us-east-1",
		.endpoint_url = s3i_moto_url(moto), .logger = s3i_ctx_logger(ctx) };
	s3i_credprov *role = NULL;
	CHECK_OK(s3i_credprov_new_assume_role(&role, &env, ctx->creds,
		"arn:aws:iam::111111111111:role/x", "ses-test", NULL, 900, NULL));
	s3i_svc other = { svc.client, role, NULL };
	CHECK_OK(s3i_ses_verify_email_identity_op(&other, "member@example.com", NULL));
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, "home@example.com", NULL));
	static names s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_ses_list_identities_op(&other, NULL, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.list[0], "member@example.com");
	const char *ids[] = { "member@example.com", "home@example.com" };
	s3i_ses_verification st[2];
	CHECK_OK(s3i_ses_get_verification_op(&svc, ids, 2, st, NULL));
	assert_int_equal(st[0], S3I_SES_VERIFY_ABSENT);
	assert_int_equal(st[1], S3I_SES_VERIFY_SUCCESS);
	/* the member account may send from its identity; the home account may not */
	const char *raw = "From: member@example.com\r\nTo: a@example.org\r\n\r\nx\r\n";
	s3i_ses_raw_email r = { .data = raw, .len = strlen(raw) };
	char id[S3I_SES_MESSAGE_ID_SIZE];
	CHECK_OK(s3i_ses_send_raw_email_op(&other, &r, id, NULL));
	int rc = s3i_ses_send_raw_email_op(&svc, &r, id, NULL);
	const char *m[] = { "sender 'member@example.com'", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "MessageRejected", m);
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_verify_list_and_status),
		S3I_TEST(test_verification_in_batches_of_100),
		S3I_TEST(test_list_identities_two_pages),
		S3I_TEST(test_list_identities_next_token_is_sent),
		S3I_TEST(test_send_raw_email),
		S3I_TEST(test_unverified_sender),
		S3I_TEST(test_recipients_in_batches),
		S3I_TEST(test_throttling_then_success),
		S3I_TEST(test_documented_errors_and_shapes),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("ses", tests, group_setup, group_teardown);
}
