/* The SES v1 response parsers and helpers (src/services/ses.c): ListIdentities pages,
 * GetIdentityVerificationAttributes maps, SendRawEmail answers (AWS's documented shapes and
 * moto's), strictness (a bad document hands nothing over), the From-header sender used in
 * messages, and recipient batches (even sizes, duplicates, bad addresses, out of memory).
 * Every allocation goes through the counting allocator. */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/ses.h"

/* ------------------------------------------------------------------ ListIdentities */

typedef struct names {
	char list[16][80];
	size_t n;
	size_t stop_after;
} names;

static int collect(void *payload, const char *identity)
{
	names *s = payload;
	assert_true(s->n < 16);
	snprintf(s->list[s->n++], sizeof(s->list[0]), "%s", identity);
	return s->stop_after && s->n >= s->stop_after;
}

static int list_parse(const char *xml, names *s, char *token, size_t cap, int64_t *count)
{
	memset(s, 0, sizeof(*s));
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_ses_list_identities_parse(s3i_test_alloc(), xml, strlen(xml), "test list",
		collect, s, token, cap, count, &e);
	if (rc)
		assert_int_equal(e.pub.code, rc);
	return rc;
}

static void test_list_identities_shapes(void **state)
{
	(void)state;
	names s;
	char token[S3I_SES_TOKEN_SIZE];
	int64_t count;
	/* AWS's documented example */
	const char *aws =
		"<ListIdentitiesResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">\n"
		"  <ListIdentitiesResult>\n    <Identities>\n      <member>example.com</member>\n"
		"      <member>user@example.com</member>\n    </Identities>\n"
		"    <NextToken>AAAAAQAAAAEAAAA=</NextToken>\n  </ListIdentitiesResult>\n"
		"  <ResponseMetadata>\n    <RequestId>cacecf23-9bf1-11e1-9279-0100e8cf109a</RequestId>\n"
		"  </ResponseMetadata>\n</ListIdentitiesResponse>\n";
	assert_int_equal(list_parse(aws, &s, token, sizeof(token), &count), S3I_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(count, 2);
	assert_string_equal(s.list[0], "example.com");
	assert_string_equal(s.list[1], "user@example.com");
	assert_string_equal(token, "AAAAAQAAAAEAAAA=");
	/* moto's: no NextToken, entities decoded */
	const char *moto = "<ListIdentitiesResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
		"<ListIdentitiesResult><Identities><member>a&amp;b@example.com</member></Identities>"
		"</ListIdentitiesResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>"
		"</ListIdentitiesResponse>";
	assert_int_equal(list_parse(moto, &s, token, sizeof(token), NULL), S3I_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.list[0], "a&b@example.com");
	assert_string_equal(token, "");
	/* no identities at all */
	assert_int_equal(list_parse("<ListIdentitiesResponse><ListIdentitiesResult><Identities/>"
		"</ListIdentitiesResult></ListIdentitiesResponse>", &s, token, sizeof(token), &count),
		S3I_OK);
	assert_int_equal(count, 0);
	assert_int_equal(list_parse("<ListIdentitiesResponse/>", &s, token, sizeof(token), NULL),
		S3I_OK);
	/* members elsewhere are not identities */
	assert_int_equal(list_parse("<ListIdentitiesResponse><Other><Identities><member>x</member>"
		"</Identities></Other></ListIdentitiesResponse>", &s, token, sizeof(token), NULL), S3I_OK);
	assert_int_equal(s.n, 0);
}

static void test_list_identities_bad_documents(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"not xml",
		"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>",
		"<ListIdentitiesResponse><ListIdentitiesResult><Identities><member>a@b</member>"
		"<member></member></Identities></ListIdentitiesResult></ListIdentitiesResponse>",
		"<ListIdentitiesResponse><ListIdentitiesResult><NextToken>a</NextToken>"
		"<NextToken>b</NextToken></ListIdentitiesResult></ListIdentitiesResponse>",
		"<ListIdentitiesResponse><ListIdentitiesResult><NextToken/></ListIdentitiesResult>"
		"</ListIdentitiesResponse>",
		/* good members, then the document breaks: nothing is handed over */
		"<ListIdentitiesResponse><ListIdentitiesResult><Identities><member>a@b</member>"
		"<member>c@d</member></Identities></ListIdentitiesResult>",
		"<!DOCTYPE x [<!ENTITY e \"boom\">]><ListIdentitiesResponse/>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		names s;
		char token[64] = "before";
		int rc = list_parse(bad[i], &s, token, sizeof(token), NULL);
		if (rc != S3I_EPARSE)
			fail_msg("document %zu: rc %d", i, rc);
		assert_int_equal(s.n, 0);
		assert_string_equal(token, "");
	}
	/* a token longer than the room given */
	names s;
	char small[8];
	assert_int_equal(list_parse("<ListIdentitiesResponse><ListIdentitiesResult><NextToken>"
		"0123456789</NextToken></ListIdentitiesResult></ListIdentitiesResponse>", &s, small,
		sizeof(small), NULL), S3I_EPARSE);
	assert_non_null(strstr(s3i_error_last()->message, "NextToken must have 1 to 7 characters"));
}

static void test_list_identities_callback_stops(void **state)
{
	(void)state;
	names s;
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	char token[64];
	int64_t count = -1;
	const char *xml = "<ListIdentitiesResponse><ListIdentitiesResult><Identities><member>a@b"
		"</member><member>c@d</member></Identities><NextToken>t</NextToken>"
		"</ListIdentitiesResult></ListIdentitiesResponse>";
	int rc = s3i_ses_list_identities_parse(s3i_test_alloc(), xml, strlen(xml), "test", collect,
		&s, token, sizeof(token), &count, NULL);
	assert_int_equal(rc, S3I_EUSER);
	assert_int_equal(s.n, 1);
	assert_int_equal(count, 0);
	assert_string_equal(token, "");   /* the page was not finished */
}

static void test_list_identities_out_of_memory(void **state)
{
	(void)state;
	const char *xml = "<ListIdentitiesResponse><ListIdentitiesResult><Identities><member>a@b"
		"</member><member>c@d</member></Identities><NextToken>t</NextToken>"
		"</ListIdentitiesResult></ListIdentitiesResponse>";
	for (long n = 0;; n++) {
		names s;
		char token[64];
		s3i_test_alloc_fail_after(n);
		int rc = list_parse(xml, &s, token, sizeof(token), NULL);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_int_equal(s.n, 2);
			break;
		}
		assert_int_equal(rc, S3I_ENOMEM);
		assert_int_equal(s.n, 0);
		assert_true(n < 200);
	}
}

/* ------------------------------------------------------------------ verification */

typedef struct pairs {
	char ids[8][64];
	char status[8][32];
	size_t n;
} pairs;

static int on_pair(void *payload, const char *identity, const char *status)
{
	pairs *p = payload;
	assert_true(p->n < 8);
	snprintf(p->ids[p->n], sizeof(p->ids[0]), "%s", identity);
	snprintf(p->status[p->n++], sizeof(p->status[0]), "%s", status);
	return 0;
}

static int verification_parse(const char *xml, pairs *p)
{
	memset(p, 0, sizeof(*p));
	return s3i_ses_verification_parse(s3i_test_alloc(), xml, strlen(xml), "test verification",
		on_pair, p, NULL);
}

static void test_verification_shapes(void **state)
{
	(void)state;
	pairs p;
	/* AWS's documented example: a domain with its token, an address pending */
	const char *aws =
		"<GetIdentityVerificationAttributesResponse xmlns=\"http://ses.amazonaws.com/doc/"
		"2010-12-01/\">\n  <GetIdentityVerificationAttributesResult>\n"
		"    <VerificationAttributes>\n      <entry>\n        <key>domain.com</key>\n"
		"        <value>\n          <VerificationStatus>Pending</VerificationStatus>\n"
		"          <VerificationToken>QTKknzFg2J4ygwa+XvHAxUl1hyHoY0gVfZdfjIedHZ0=</Verification"
		"Token>\n        </value>\n      </entry>\n      <entry>\n"
		"        <key>user@domain.com</key>\n        <value>\n"
		"          <VerificationStatus>Success</VerificationStatus>\n        </value>\n"
		"      </entry>\n    </VerificationAttributes>\n"
		"  </GetIdentityVerificationAttributesResult>\n  <ResponseMetadata>\n"
		"    <RequestId>1d0c29f1-9bf3-11e1-8ee7-c98a0037a2b6</RequestId>\n"
		"  </ResponseMetadata>\n</GetIdentityVerificationAttributesResponse>";
	assert_int_equal(verification_parse(aws, &p), S3I_OK);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.ids[0], "domain.com");
	assert_string_equal(p.status[0], "Pending");
	assert_string_equal(p.ids[1], "user@domain.com");
	assert_string_equal(p.status[1], "Success");
	/* an empty map, and a status this library does not know (handed over as text) */
	assert_int_equal(verification_parse("<GetIdentityVerificationAttributesResponse>"
		"<GetIdentityVerificationAttributesResult><VerificationAttributes/>"
		"</GetIdentityVerificationAttributesResult></GetIdentityVerificationAttributesResponse>",
		&p), S3I_OK);
	assert_int_equal(p.n, 0);
	assert_int_equal(verification_parse("<GetIdentityVerificationAttributesResponse>"
		"<GetIdentityVerificationAttributesResult><VerificationAttributes><entry><key>a@b</key>"
		"<value><VerificationStatus>Frozen</VerificationStatus></value></entry>"
		"</VerificationAttributes></GetIdentityVerificationAttributesResult>"
		"</GetIdentityVerificationAttributesResponse>", &p), S3I_OK);
	assert_string_equal(p.status[0], "Frozen");

	const char *bad[] = {
		"<GetIdentityVerificationAttributesResponse><GetIdentityVerificationAttributesResult>"
		"<VerificationAttributes><entry><value><VerificationStatus>Success</VerificationStatus>"
		"</value></entry></VerificationAttributes></GetIdentityVerificationAttributesResult>"
		"</GetIdentityVerificationAttributesResponse>",
		"<GetIdentityVerificationAttributesResponse><GetIdentityVerificationAttributesResult>"
		"<VerificationAttributes><entry><key></key><value><VerificationStatus>Success"
		"</VerificationStatus></value></entry></VerificationAttributes>"
		"</GetIdentityVerificationAttributesResult></GetIdentityVerificationAttributesResponse>",
		"<ListIdentitiesResponse/>",
		"<GetIdentityVerificationAttributesResponse>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = verification_parse(bad[i], &p);
		if (rc != S3I_EPARSE)
			fail_msg("document %zu: rc %d", i, rc);
		assert_int_equal(p.n, 0);
	}
	assert_string_equal(s3i_ses_verification_name(S3I_SES_VERIFY_TEMPORARY_FAILURE),
		"TemporaryFailure");
	assert_string_equal(s3i_ses_verification_name((s3i_ses_verification)42), "Unknown");
}

/* ------------------------------------------------------------------ SendRawEmail */

static void test_send_raw_shapes(void **state)
{
	(void)state;
	char id[S3I_SES_MESSAGE_ID_SIZE];
	const char *aws = "<SendRawEmailResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">\n"
		"  <SendRawEmailResult>\n    <MessageId>00000131d51d6b36-1d4f9293-0aee-4503-b573-"
		"9ae4e70e9e38-000000</MessageId>\n  </SendRawEmailResult>\n  <ResponseMetadata>\n"
		"    <RequestId>e0abcdfa-c866-11e0-b6d0-273d09173b49</RequestId>\n  </ResponseMetadata>\n"
		"</SendRawEmailResponse>";
	assert_int_equal(s3i_ses_send_raw_parse(aws, strlen(aws), id, sizeof(id), NULL), S3I_OK);
	assert_string_equal(id, "00000131d51d6b36-1d4f9293-0aee-4503-b573-9ae4e70e9e38-000000");
	const char *bad[] = { "", "<SendRawEmailResponse/>",
		"<SendRawEmailResponse><SendRawEmailResult><MessageId/></SendRawEmailResult>"
		"</SendRawEmailResponse>",
		"<ErrorResponse><Error><Code>MessageRejected</Code></Error></ErrorResponse>",
		"<SendRawEmailResponse><SendRawEmailResult><MessageId>a</MessageId><MessageId>b"
		"</MessageId></SendRawEmailResult></SendRawEmailResponse>" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(id, sizeof(id), "before");
		int rc = s3i_ses_send_raw_parse(bad[i], strlen(bad[i]), id, sizeof(id), NULL);
		if (rc != S3I_EPARSE)
			fail_msg("document %zu: rc %d", i, rc);
		assert_string_equal(id, "");
	}
	char small[4];
	assert_int_equal(s3i_ses_send_raw_parse(aws, strlen(aws), small, sizeof(small), NULL),
		S3I_EPARSE);
}

/* ------------------------------------------------------------------ the sender of a raw message */

static void sender_is(const char *raw, const char *want)
{
	char out[128];
	s3i_ses_raw_sender(raw, strlen(raw), out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_raw_sender(void **state)
{
	(void)state;
	sender_is("From: a@example.com\r\nTo: b@example.com\r\n\r\nbody", "a@example.com");
	sender_is("To: b@example.com\r\nFrom: Name <a@example.com>\r\n\r\n", "a@example.com");
	sender_is("from:   spaced@example.com  \n\n", "spaced@example.com");
	sender_is("Subject: x\r\nFrom:\r\n =?UTF-8?B?UsOpc3Vtw6k=?=\r\n <folded@example.com>\r\n"
		"To: b@c\r\n\r\n", "folded@example.com");
	sender_is("Subject: x\r\n\r\nFrom: in-the-body@example.com\r\n", "");
	sender_is("From-Name: x\r\nSender: s@x\r\n\r\n", "");
	sender_is("", "");
	sender_is("From: \"a <b>\" <real@example.com>\r\n\r\n", "real@example.com");
	sender_is("From: ctl\x01@example.com\r\n\r\n", "ctl@example.com");
	char tiny[4];
	s3i_ses_raw_sender("From: long@example.com\r\n", 24, tiny, sizeof(tiny));
	assert_string_equal(tiny, "lon");
}

/* ------------------------------------------------------------------ recipient batches */

typedef struct seen_batches {
	size_t sizes[64];
	char first[64][40];
	size_t n, total;
	size_t stop_at;
} seen_batches;

static int on_batch(void *payload, const char *const *r, size_t n, size_t batch)
{
	seen_batches *s = payload;
	assert_int_equal(batch, s->n);
	assert_true(n > 0);
	s->sizes[s->n] = n;
	snprintf(s->first[s->n], sizeof(s->first[0]), "%s", r[0]);
	s->n++;
	s->total += n;
	return s->stop_at && s->n >= s->stop_at;
}

static void split(size_t n, size_t max, seen_batches *s)
{
	static char addr[300][32];
	static const char *list[300];
	for (size_t i = 0; i < n; i++) {
		snprintf(addr[i], sizeof(addr[i]), "u%03zu@example.com", i);
		list[i] = addr[i];
	}
	memset(s, 0, sizeof(*s));
	assert_int_equal(s3i_ses_recipient_batches(s3i_test_alloc(), list, n, max, on_batch, s,
		NULL), S3I_OK);
	assert_int_equal(s->total, n);
}

static void test_recipient_batch_sizes(void **state)
{
	(void)state;
	seen_batches s;
	split(1, 0, &s);
	assert_int_equal(s.n, 1);
	split(50, 0, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.sizes[0], 50);
	split(51, 0, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.sizes[0], 26);
	assert_int_equal(s.sizes[1], 25);
	assert_string_equal(s.first[1], "u026@example.com");
	split(100, 0, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.sizes[1], 50);
	split(101, 0, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.sizes[0], 34);
	assert_int_equal(s.sizes[2], 33);
	split(300, 0, &s);
	assert_int_equal(s.n, 6);
	split(7, 3, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.sizes[0], 3);
	assert_int_equal(s.sizes[1], 2);
	assert_int_equal(s.sizes[2], 2);
	for (size_t i = 0; i < 6; i++)
		assert_true(s.sizes[i] <= 50);
	/* nothing to send: no batch */
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3i_ses_recipient_batches(s3i_test_alloc(), NULL, 0, 0, on_batch, &s, NULL),
		S3I_OK);
	assert_int_equal(s.n, 0);
}

static void test_recipient_batches_dedupe_and_refuse(void **state)
{
	(void)state;
	const char *list[] = { "a@example.com", "B@example.com", "A@EXAMPLE.COM", "b@example.com",
		"c@example.com" };
	seen_batches s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3i_ses_recipient_batches(s3i_test_alloc(), list, 5, 2, on_batch, &s, NULL),
		S3I_OK);
	assert_int_equal(s.total, 3);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.first[0], "a@example.com");
	assert_string_equal(s.first[1], "c@example.com");

	const char *bad[][2] = { { "ok@example.com", "" }, { "ok@example.com", "no-at" },
		{ "x y@example.com", "ok@example.com" }, { "a@example.com\r\nBcc: v@x", "ok@e.com" },
		{ "@example.com", "ok@e.com" }, { "ok@e.com", NULL } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		int rc = s3i_ses_recipient_batches(s3i_test_alloc(), bad[i], 2, 0, on_batch, &s, NULL);
		assert_int_equal(rc, S3I_EINVALID);
		assert_string_equal(s3i_error_last()->resource, "recipient address");
		assert_int_equal(s.n, 0);
	}
	/* the callback stops */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(s3i_ses_recipient_batches(s3i_test_alloc(), list, 5, 1, on_batch, &s, NULL),
		S3I_EUSER);
	assert_int_equal(s.n, 1);
	/* out of memory */
	s3i_test_alloc_fail_after(0);
	int rc = s3i_ses_recipient_batches(s3i_test_alloc(), list, 5, 1, on_batch, &s, NULL);
	s3i_test_alloc_fail_after(-1);
	assert_int_equal(rc, S3I_ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_list_identities_shapes),
		S3I_TEST(test_list_identities_bad_documents),
		S3I_TEST(test_list_identities_callback_stops),
		S3I_TEST(test_list_identities_out_of_memory),
		S3I_TEST(test_verification_shapes),
		S3I_TEST(test_send_raw_shapes),
		S3I_TEST(test_raw_sender),
		S3I_TEST(test_recipient_batch_sizes),
		S3I_TEST(test_recipient_batches_dedupe_and_refuse),
	};
	return cmocka_run_group_tests_name("ses_parse", tests, NULL, NULL);
}
