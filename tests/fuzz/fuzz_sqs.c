/*
 * Fuzz the SQS helpers and response parsers (src/services/sqs.c). The first byte selects what
 * the rest is fed to (byte % 6), and for DeleteMessageBatch also the batch size ((byte / 6) % 11):
 *   0 ReceiveMessage          1 GetQueueAttributes     2 DeleteMessageBatch result
 *   3 SendMessage (sent body "hello")                  4 CreateQueue/GetQueueUrl result
 *   5 a queue URL: its region (with and without a fallback) and name
 * Every callback checks what it is handed (strings present and NUL-terminated, a body that
 * matches its MD5, indexes inside the batch); counts must agree with the callbacks seen.
 * Failures must be one of the documented statuses with the code recorded, a one-line message,
 * and the outputs left empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "core/errinfo.h"
#include "core/str.h"
#include "s3insights/errors.h"
#include "services/sqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void check_err(int rc, const s3i_errinfo *err, const int *allowed)
{
	int ok = 0;
	for (const int *a = allowed; *a; a++)
		ok |= rc == *a;
	if (!ok || err->pub.code != rc || !err->message[0] || strchr(err->message, '\n'))
		abort();
}

static int on_message(void *payload, const s3i_sqs_message *m)
{
	if (!m->message_id || !*m->message_id || !m->receipt_handle || !*m->receipt_handle ||
		!m->body || !m->md5_of_body || strlen(m->body) != m->body_len || m->receive_count < 0 ||
		m->sent_ms < 0 || m->first_receive_ms < 0)
		abort();
	unsigned char raw[16];
	char hex[33];
	if (s3i_md5(m->body, m->body_len, raw) == 0) {
		s3i_hex_encode(hex, raw, 16);
		if (strcasecmp(hex, m->md5_of_body))
			abort();
	}
	const char *v = s3i_sqs_message_attribute(m, "SenderId");
	sink += v ? strlen(v) : 0;
	(*(size_t *)payload)++;
	return 0;
}

typedef struct batch {
	size_t n, calls, sender;
} batch;

static int on_failure(void *payload, size_t index, const char *code, const char *message,
	int sender_fault)
{
	batch *b = payload;
	if (index >= b->n || !code || !message || (sender_fault != 0 && sender_fault != 1))
		abort();
	sink += strlen(code) + strlen(message);
	b->calls++;
	b->sender += (size_t)sender_fault;
	return 0;
}

static void fuzz_receive(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ECHECKSUM, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	size_t seen = 0, count = 99;
	int rc = s3i_sqs_receive_parse(text, len, "fuzz receive", on_message, &seen, &count, &err);
	if (rc == S3I_OK) {
		if (seen != count)
			abort();
	} else {
		check_err(rc, &err, allowed);
		if (seen)
			abort();   /* nothing is handed out from a response that fails */
	}
}

static void fuzz_attrs(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, NULL);
	int rc = s3i_sqs_attrs_parse(text, len, "fuzz attributes", &at, &err);
	if (rc == S3I_OK) {
		if (at.messages < -1 || at.not_visible < -1 || at.delayed < -1 ||
			at.arn != s3i_sqs_attrs_get(&at, "QueueArn"))
			abort();
		for (size_t i = 0; i < at.all.count; i++) {
			if (!at.all.keys[i] || !*at.all.keys[i] || !at.all.values[i] ||
				s3i_sqs_attrs_get(&at, at.all.keys[i]) != at.all.values[i])
				abort();
			int64_t v;
			int r = s3i_sqs_attrs_i64(&at, at.all.keys[i], &v);
			if (r != S3I_OK && r != S3I_EPARSE)
				abort();
		}
	} else {
		check_err(rc, &err, allowed);
		if (at.all.count || at.arn || at.messages != -1)
			abort();
	}
	s3i_sqs_attrs_free(&at);
}

static void fuzz_batch(const char *text, size_t len, size_t n)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	batch b = { n, 0, 0 };
	size_t nfailed = 99, nsender = 99;
	int rc = s3i_sqs_delete_batch_parse(text, len, "fuzz batch", n, on_failure, &b, &nfailed,
		&nsender, &err);
	if (rc == S3I_OK) {
		if (nfailed != b.calls || nsender != b.sender || nfailed > n || nsender > nfailed)
			abort();
	} else {
		check_err(rc, &err, allowed);
		if (b.calls)
			abort();
	}
}

static void fuzz_send(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ECHECKSUM, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	char id[S3I_SQS_ID_MAX];
	int rc = s3i_sqs_send_parse(text, len, "fuzz send", "hello", 5, id, sizeof(id), &err);
	if (rc == S3I_OK) {
		if (!id[0] || strlen(id) >= sizeof(id))
			abort();
	} else {
		check_err(rc, &err, allowed);
		if (id[0])
			abort();
	}
}

static void fuzz_queue_url(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_EINVALID, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	char url[S3I_SQS_URL_MAX];
	int rc = s3i_sqs_queue_url_parse(text, len, "fuzz url", url, sizeof(url), &err);
	if (rc == S3I_OK) {
		char name[400];
		if (!url[0] || s3i_sqs_queue_url_name(url, name, sizeof(name)))
			abort();
	} else {
		check_err(rc, &err, allowed);
		if (url[0])
			abort();
	}
}

static void fuzz_url(const char *text, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return;
	memcpy(s, text, len);
	s[len] = '\0';
	char region[64], name[400];
	int rc = s3i_sqs_queue_url_region(s, "FALLBACK", region, sizeof(region));
	int named = s3i_sqs_queue_url_name(s, name, sizeof(name)) == S3I_OK;
	if (rc == S3I_OK) {
		if (!named || !*name || strchr(name, '/') ||
			(strcmp(region, "FALLBACK") && !s3i_region_is_valid(region)))
			abort();
		char again[64];
		int r2 = s3i_sqs_queue_url_region(s, NULL, again, sizeof(again));
		if (!strcmp(region, "FALLBACK") ? r2 != S3I_EINVALID
			: (r2 != S3I_OK || strcmp(again, region)))
			abort();
	} else if (rc != S3I_EINVALID) {
		abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 6) {
	case 0: fuzz_receive(text, len); break;
	case 1: fuzz_attrs(text, len); break;
	case 2: fuzz_batch(text, len, (size_t)(data[0] / 6) % 11); break;
	case 3: fuzz_send(text, len); break;
	case 4: fuzz_queue_url(text, len); break;
	default: fuzz_url(text, len); break;
	}
	return 0;
}
