/*
 * Fuzz the CloudFormation and STS query-protocol response parsers
 * (src/services/cloudformation.c, src/services/sts.c) and, since it is as much outside input,
 * the Organizations ListAccounts page parser. The input is a document as is, read as
 *  1. a CreateStack answer: a non-empty StackId within its room;
 *  2. a DescribeStacks answer: the first stack has a name and an A-Z_ status, every output a
 *     non-empty key, the reason within its room; read twice into one description (reuse);
 *  3. a DescribeStackEvents page: events counted right, strings never NULL, the NextToken
 *     within its room; each event also goes to the first-failure search, whose texts stay one
 *     line and within their rooms;
 *  4. a GetCallerIdentity answer: a numeric account and an "arn:" ARN;
 *  5. a ListAccounts page (JSON): every account id is 12 digits.
 * Failures must be S3I_EPARSE (or S3I_ENOMEM) with the code recorded and the message on one
 * line, and nothing handed over or left in the outputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "services/cloudformation.h"
#include "services/organizations.h"
#include "services/sts.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void check_failure(int rc, const s3i_errinfo *e)
{
	if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || e->pub.code != rc || strchr(e->message, '\n'))
		abort();
}

static void check_line(const char *s, size_t cap)
{
	if (strlen(s) >= cap)
		abort();
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

typedef struct event_seen {
	int64_t n;
	s3i_cfn_failure failure;
} event_seen;

static int on_event(void *payload, const s3i_cfn_event *ev)
{
	event_seen *s = payload;
	if (!ev->event_id || !ev->stack_name || !ev->logical_id || !ev->physical_id ||
		!ev->resource_type || !ev->status || !ev->status_reason)
		abort();
	s->n++;
	sink += strlen(ev->status_reason) + strlen(ev->logical_id);
	s3i_cfn_failure_feed(&s->failure, ev->stack_name, (int)(s->n & 1), ev);
	return 0;
}

static int on_account(void *payload, const s3i_org_account *a)
{
	if (!a->id || strlen(a->id) != 12 || !a->arn || !a->name || !a->email || !a->status ||
		!a->state)
		abort();
	for (int i = 0; i < 12; i++)
		if (a->id[i] < '0' || a->id[i] > '9')
			abort();
	(*(int64_t *)payload)++;
	return 0;
}

static void describe_once(const char *text, size_t size, s3i_cfn_stack *st)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	size_t n = 99;
	int rc = s3i_cfn_describe_stacks_parse(text, size, "fuzz describe", st, &n, &err);
	if (rc != S3I_OK) {
		check_failure(rc, &err);
		if (n || st->name[0] || st->status[0] || st->noutputs || st->outputs)
			abort();
		return;
	}
	if (n && (!st->name[0] || !st->status[0]))
		abort();
	if (!n && (st->name[0] || st->noutputs))
		abort();
	for (const char *p = st->status; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '_'))
			abort();
	if (strlen(st->status_reason) >= sizeof(st->status_reason))
		abort();
	for (size_t i = 0; i < st->noutputs; i++) {
		const s3i_cfn_output *o = &st->outputs[i];
		if (!o->key || !*o->key || !o->value || !o->description || !o->export_name)
			abort();
		if (s3i_cfn_stack_output(st, o->key) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_errinfo err;

	/* 1. CreateStack, with a small room so the limit is reached */
	char id[40];
	s3i_errinfo_init(&err);
	int rc = s3i_cfn_create_stack_parse(text, size, id, sizeof(id), &err);
	if (rc == S3I_OK) {
		if (!id[0] || strlen(id) >= sizeof(id))
			abort();
	} else {
		check_failure(rc, &err);
		if (id[0])
			abort();
	}

	/* 2. DescribeStacks, twice into the same description */
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, NULL);
	describe_once(text, size, &st);
	describe_once(text, size, &st);
	s3i_cfn_stack_free(&st);

	/* 3. DescribeStackEvents */
	char token[24];
	int64_t count = -1;
	event_seen seen;
	memset(&seen, 0, sizeof(seen));
	s3i_errinfo_init(&err);
	rc = s3i_cfn_stack_events_parse(text, size, "fuzz events", on_event, &seen, token,
		sizeof(token), &count, &err);
	if (rc == S3I_OK) {
		if (count != seen.n || strlen(token) >= sizeof(token))
			abort();
	} else {
		check_failure(rc, &err);
		if (seen.n || count || token[0])
			abort();
	}
	check_line(seen.failure.logical_id, sizeof(seen.failure.logical_id));
	check_line(seen.failure.resource_type, sizeof(seen.failure.resource_type));
	check_line(seen.failure.status, sizeof(seen.failure.status));
	check_line(seen.failure.reason, sizeof(seen.failure.reason));

	/* 4. GetCallerIdentity */
	s3i_sts_identity who;
	s3i_errinfo_init(&err);
	rc = s3i_sts_caller_identity_parse(NULL, text, size, &who, &err);
	if (rc == S3I_OK) {
		if (!who.account[0] || strncmp(who.arn, "arn:", 4))
			abort();
		for (const char *p = who.account; *p; p++)
			if (*p < '0' || *p > '9')
				abort();
		check_line(who.arn, sizeof(who.arn));
		check_line(who.user_id, sizeof(who.user_id));
	} else {
		check_failure(rc, &err);
		if (who.account[0] || who.arn[0] || who.user_id[0])
			abort();
	}

	/* 5. ListAccounts */
	s3i_buf next;
	s3i_buf_init(&next, NULL);
	int64_t accounts = 0;
	count = -1;
	s3i_errinfo_init(&err);
	rc = s3i_org_list_accounts_parse(text, size, "fuzz accounts", on_account, &accounts, &next,
		&count, &err);
	if (rc == S3I_OK) {
		if (count != accounts || next.size > S3I_ORG_MAX_TOKEN)
			abort();
	} else {
		check_failure(rc, &err);
		if (accounts || count || next.size)
			abort();
	}
	s3i_buf_dispose(&next);
	return 0;
}
