/*
 * Fuzz the SES v1 query-protocol response parsers (src/services/ses.c). The input is an XML
 * document as is, read as
 *  1. a ListIdentities page: identities non-empty, counted right, the NextToken within its
 *     room; nothing handed over from a document that fails;
 *  2. a GetIdentityVerificationAttributes map: every entry has a non-empty identity;
 *  3. a SendRawEmail answer: a non-empty MessageId within its room;
 *  4. a raw message whose From-header address is looked for: one line, within its room.
 * Failures must be S3I_EPARSE (or S3I_ENOMEM) with the code recorded and the message on one
 * line, and the outputs emptied.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/ses.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static int on_identity(void *payload, const char *identity)
{
	if (!identity || !*identity)
		abort();
	(*(int64_t *)payload)++;
	sink += strlen(identity);
	return 0;
}

static int on_pair(void *payload, const char *identity, const char *status)
{
	if (!identity || !*identity || !status)
		abort();
	(*(int64_t *)payload)++;
	sink += strlen(identity) + strlen(status);
	return 0;
}

static void check_failure(int rc, const s3i_errinfo *e)
{
	if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || e->pub.code != rc || strchr(e->message, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_errinfo err;

	/* 1. ListIdentities, with a small room for the token so the limit is reached */
	char token[33];
	int64_t seen = 0, count = -1;
	s3i_errinfo_init(&err);
	int rc = s3i_ses_list_identities_parse(NULL, text, size, "fuzz list", on_identity, &seen,
		token, sizeof(token), &count, &err);
	if (rc == S3I_OK) {
		if (count != seen || strlen(token) >= sizeof(token))
			abort();
	} else {
		check_failure(rc, &err);
		if (seen || count || token[0])
			abort();
	}

	/* 2. GetIdentityVerificationAttributes */
	seen = 0;
	s3i_errinfo_init(&err);
	rc = s3i_ses_verification_parse(NULL, text, size, "fuzz verification", on_pair, &seen, &err);
	if (rc != S3I_OK) {
		check_failure(rc, &err);
		if (seen)
			abort();
	}

	/* 3. SendRawEmail */
	char id[17];
	s3i_errinfo_init(&err);
	rc = s3i_ses_send_raw_parse(text, size, id, sizeof(id), &err);
	if (rc == S3I_OK) {
		if (!id[0] || strlen(id) >= sizeof(id))
			abort();
	} else {
		check_failure(rc, &err);
		if (id[0])
			abort();
	}

	/* 4. the From header of a raw message */
	char sender[24];
	s3i_ses_raw_sender(text, size, sender, sizeof(sender));
	if (strlen(sender) >= sizeof(sender))
		abort();
	for (const char *p = sender; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	return 0;
}
