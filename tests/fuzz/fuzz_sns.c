/*
 * Fuzz the SNS parsers (src/services/sns.c). The first byte selects what the rest is fed to
 * (byte % 6):
 *   0 CreateTopic result (TopicArn)     1 Publish result (MessageId)
 *   2 GetTopicAttributes                3 ListSubscriptionsByTopic page
 *   4 an SQS body as an SNS envelope    5 a topic ARN's parts
 * Outputs are checked (strings present, lookups consistent, counts equal to callbacks seen);
 * failures must be one of the documented statuses with the code recorded, a one-line message
 * and the outputs left empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "s3insights/errors.h"
#include "services/sns.h"

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

static void fuzz_result(const char *text, size_t len, const char *op, const char *member)
{
	static const int allowed[] = { S3I_EPARSE, S3I_EINVALID, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	char out[S3I_SNS_ARN_MAX];
	int rc = s3i_sns_result_parse(NULL, text, len, op, member, out, sizeof(out), &err);
	if (rc == S3I_OK) {
		size_t n = strlen(out);
		if (!n || n >= sizeof(out) || out[0] == ' ' || out[n - 1] == ' ')
			abort();
	} else {
		check_err(rc, &err, allowed);
		if (out[0])
			abort();
	}
}

static void fuzz_attrs(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_params p;
	s3i_params_init(&p, NULL);
	int rc = s3i_sns_attrs_parse(NULL, text, len, "fuzz attributes", &p, &err);
	if (rc == S3I_OK) {
		for (size_t i = 0; i < p.count; i++)
			if (!p.keys[i] || !*p.keys[i] || !p.values[i] ||
				s3i_sns_attr_get(&p, p.keys[i]) != p.values[i])
				abort();
	} else {
		check_err(rc, &err, allowed);
		if (p.count)
			abort();
	}
	s3i_params_free(&p);
}

static int on_sub(void *payload, const s3i_sns_subscription *s)
{
	if (!s->subscription_arn || !*s->subscription_arn || !s->owner || !s->protocol ||
		!s->endpoint || !s->topic_arn)
		abort();
	sink += strlen(s->endpoint);
	(*(size_t *)payload)++;
	return 0;
}

static void fuzz_subs(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_buf token;
	s3i_buf_init(&token, NULL);
	size_t seen = 0, count = 0;
	int rc = s3i_sns_subscriptions_parse(NULL, text, len, "fuzz subscriptions", on_sub, &seen,
		&token, &count, &err);
	if (count != seen)
		abort();
	if (rc != S3I_OK) {
		check_err(rc, &err, allowed);
		if (token.size)
			abort();
	}
	s3i_buf_dispose(&token);
}

static int on_env(void *payload, const s3i_sns_envelope *e)
{
	if (!e->type || !e->topic_arn || !e->message_id || !*e->message_id || !e->message ||
		strlen(e->message) != e->message_len)
		abort();
	(*(int *)payload)++;
	return 0;
}

static void fuzz_envelope(const char *text, size_t len)
{
	static const int allowed[] = { S3I_EPARSE, S3I_ENOMEM, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int calls = 0;
	int rc = s3i_sns_envelope_parse(text, len, on_env, &calls, &err);
	if (rc == S3I_OK) {
		if (calls != 1)
			abort();
	} else if (rc == S3I_ENOTFOUND) {
		if (calls)
			abort();
	} else {
		check_err(rc, &err, allowed);
		if (calls)
			abort();
	}
}

static void fuzz_arn(const char *text, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		return;
	memcpy(s, text, len);
	s[len] = '\0';
	char region[64], name[300];
	int rc = s3i_sns_topic_arn_parts(s, region, sizeof(region), name, sizeof(name));
	if (rc == S3I_OK) {
		if (!s3i_region_is_valid(region) || !*name || strchr(name, ':'))
			abort();
	} else if (rc != S3I_EINVALID || region[0] || name[0]) {
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
	case 0: fuzz_result(text, len, "CreateTopic", "TopicArn"); break;
	case 1: fuzz_result(text, len, "Publish", "MessageId"); break;
	case 2: fuzz_attrs(text, len); break;
	case 3: fuzz_subs(text, len); break;
	case 4: fuzz_envelope(text, len); break;
	default: fuzz_arn(text, len); break;
	}
	return 0;
}
