/*
 * Fuzz the S3 bucket-level response parsers (src/services/s3_bucket.c). The first byte selects
 * the parser (modulo 4), the rest is the response body:
 *   0 ListBuckets (ListAllMyBucketsResult)
 *   1 GetBucketInventoryConfiguration (InventoryConfiguration)
 *   2 ListBucketInventoryConfigurations (ListInventoryConfigurationsResult)
 *   3 GetBucketNotificationConfiguration (NotificationConfiguration)
 * Every callback checks what it is handed: strings not NULL, enums in range, field bits known;
 * page counts must match the callbacks seen; a truncated inventory page must say where to go
 * on. Inventory and notification configurations that parse are written back as request bodies
 * (s3i_s3_inventory_xml, s3i_s3_notification_xml) and parsed again: the result must be the same
 * configuration, so what is read can be put back unchanged (and escaping is right). Failures
 * must be one of the documented statuses with the code recorded and a one-line message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "s3insights/errors.h"
#include "services/s3_bucket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void check_str(const char *s)
{
	if (!s)
		abort();
	sink += strlen(s);
}

static void check_failure(int rc, const s3i_errinfo *err)
{
	if (rc >= 0 || rc == S3I_EUSER || err->pub.code != rc || strchr(err->message, '\n') ||
		!err->message[0])
		abort();
}

static int streq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* ------------------------------------------------------------------ ListBuckets */

static int on_bucket(void *p, const s3i_s3_bucket_info *b)
{
	int64_t *n = p;
	check_str(b->name);
	check_str(b->region);
	check_str(b->arn);
	if (!*b->name)
		abort();
	(*n)++;
	return 0;
}

static void fuzz_buckets(const char *body, size_t len)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_s3_bucket_page page;
	s3i_s3_bucket_page_init(&page, NULL);
	int64_t n = 0;
	int rc = s3i_s3_parse_list_buckets(NULL, body, len, "fuzz ListBuckets", on_bucket, &n, &page,
		&err);
	if (rc == S3I_OK) {
		if (page.buckets != n || strlen(page.owner_id) >= sizeof(page.owner_id))
			abort();
	} else {
		check_failure(rc, &err);
		if (page.next_token.size)
			abort();
	}
	s3i_s3_bucket_page_free(&page);
}

/* ------------------------------------------------------------------ inventory */

static void check_inventory(const s3i_s3_inventory_config *c)
{
	const char *s[] = { c->id, c->destination_bucket_arn, c->destination_account_id,
		c->destination_prefix, c->kms_key_id, c->filter_prefix, c->other_fields };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		check_str(s[i]);
	if (!*c->id || (c->enabled != 0 && c->enabled != 1) || (unsigned)c->format > 3 ||
		(unsigned)c->encryption > 2 || (unsigned)c->versions > 2 || (unsigned)c->frequency > 2 ||
		(c->optional_fields & ~S3I_S3_INVENTORY_FIELDS_ALL))
		abort();
	/* names this library knows are bits, never "other" fields */
	for (const char *p = c->other_fields; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (!n || s3i_s3_inventory_field_bit(p, n))
			abort();
		p += n + (comma ? 1 : 0);
	}
}

static int same_inventory(const s3i_s3_inventory_config *a, const s3i_s3_inventory_config *b)
{
	return streq(a->id, b->id) && a->enabled == b->enabled &&
		streq(a->destination_bucket_arn, b->destination_bucket_arn) &&
		streq(a->destination_account_id, b->destination_account_id) &&
		streq(a->destination_prefix, b->destination_prefix) && a->format == b->format &&
		a->encryption == b->encryption &&
		(a->encryption != S3I_S3_INVENTORY_SSE_KMS || streq(a->kms_key_id, b->kms_key_id)) &&
		a->versions == b->versions && a->frequency == b->frequency &&
		streq(a->filter_prefix, b->filter_prefix) && a->optional_fields == b->optional_fields &&
		streq(a->other_fields, b->other_fields);
}

/* Written back and read again: the same configuration. */
static void inventory_round_trip(const s3i_s3_inventory_config *c)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_buf xml;
	s3i_buf_init(&xml, NULL);
	if (s3i_s3_inventory_xml(&xml, c, &err) == S3I_OK) {
		s3i_s3_inventory_config again;
		s3i_buf storage;
		s3i_buf_init(&storage, NULL);
		if (s3i_s3_parse_inventory_config(NULL, xml.ptr, xml.size, "round trip", &again,
			&storage, &err) != S3I_OK || !same_inventory(c, &again))
			abort();
		s3i_buf_dispose(&storage);
	} else if (err.pub.code != S3I_EINVALID || xml.size) {
		abort();
	}
	s3i_buf_dispose(&xml);
}

static int on_inventory(void *p, const s3i_s3_inventory_config *c)
{
	int64_t *n = p;
	check_inventory(c);
	inventory_round_trip(c);
	(*n)++;
	return 0;
}

static void fuzz_inventory_get(const char *body, size_t len)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_s3_inventory_config c;
	memset(&c, 0x5a, sizeof(c));
	s3i_buf storage;
	s3i_buf_init(&storage, NULL);
	int rc = s3i_s3_parse_inventory_config(NULL, body, len, "fuzz GetInventory", &c, &storage,
		&err);
	if (rc == S3I_OK) {
		check_inventory(&c);
		inventory_round_trip(&c);
	} else {
		check_failure(rc, &err);
		if (c.id || storage.size)
			abort();
	}
	s3i_buf_dispose(&storage);
}

static void fuzz_inventory_list(const char *body, size_t len)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_s3_inventory_page page;
	s3i_s3_inventory_page_init(&page, NULL);
	int64_t n = 0;
	int rc = s3i_s3_parse_inventory_list(NULL, body, len, "fuzz ListInventory", on_inventory, &n,
		&page, &err);
	if (rc == S3I_OK) {
		if (page.configs != n || (page.truncated && !page.next_token.size))
			abort();
	} else {
		check_failure(rc, &err);
		if (page.truncated || page.next_token.size)
			abort();
	}
	s3i_s3_inventory_page_free(&page);
}

/* ------------------------------------------------------------------ notifications */

#define MAX_KEPT 32

typedef struct kept {
	s3i_s3_notification items[MAX_KEPT];
	char *strings[MAX_KEPT][4];
	char **events[MAX_KEPT];
	size_t n;
	int overflow;
} kept;

static char *dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (!d)
		abort();
	memcpy(d, s, n);
	return d;
}

static int keep(void *p, const s3i_s3_notification *n)
{
	kept *k = p;
	check_str(n->id);
	check_str(n->arn);
	check_str(n->prefix);
	check_str(n->suffix);
	if (n->kind < S3I_S3_NOTIFY_TOPIC || n->kind > S3I_S3_NOTIFY_LAMBDA || !*n->arn ||
		n->nevents > S3I_S3_NOTIFY_MAX_EVENTS || (n->nevents && !n->events))
		abort();
	for (size_t i = 0; i < n->nevents; i++) {
		check_str(n->events[i]);
		if (!*n->events[i])
			abort();
	}
	if (k->n >= MAX_KEPT) {
		k->overflow = 1;
		return 0;
	}
	s3i_s3_notification *c = &k->items[k->n];
	*c = *n;
	char **s = k->strings[k->n];
	c->id = s[0] = dup(n->id);
	c->arn = s[1] = dup(n->arn);
	c->prefix = s[2] = dup(n->prefix);
	c->suffix = s[3] = dup(n->suffix);
	k->events[k->n] = calloc(n->nevents + 1, sizeof(char *));
	if (!k->events[k->n])
		abort();
	for (size_t i = 0; i < n->nevents; i++)
		k->events[k->n][i] = dup(n->events[i]);
	c->events = (const char *const *)k->events[k->n];
	k->n++;
	return 0;
}

static void kept_free(kept *k)
{
	for (size_t i = 0; i < k->n; i++) {
		for (int j = 0; j < 4; j++)
			free(k->strings[i][j]);
		for (size_t e = 0; e < k->items[i].nevents; e++)
			free(k->events[i][e]);
		free(k->events[i]);
	}
	k->n = 0;
}

static int same_notification(const s3i_s3_notification *a, const s3i_s3_notification *b)
{
	if (a->kind != b->kind || !streq(a->id, b->id) || !streq(a->arn, b->arn) ||
		!streq(a->prefix, b->prefix) || !streq(a->suffix, b->suffix) || a->nevents != b->nevents)
		return 0;
	for (size_t i = 0; i < a->nevents; i++)
		if (strcmp(a->events[i], b->events[i]))
			return 0;
	return 1;
}

static void fuzz_notifications(const char *body, size_t len)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	kept k;
	memset(&k, 0, sizeof(k));
	int eb = -1;
	int rc = s3i_s3_parse_notification_config(NULL, body, len, "fuzz GetNotification", keep, &k,
		&eb, &err);
	if (rc != S3I_OK) {
		check_failure(rc, &err);
		if (eb != 0)
			abort();
		kept_free(&k);
		return;
	}
	if (eb != 0 && eb != 1)
		abort();
	int has_empty = 0;
	for (size_t i = 0; i < k.n; i++)
		has_empty |= !k.items[i].nevents;
	if (!k.overflow) {
		/* written back (topics, then queues, then functions) and read again */
		s3i_s3_notification_config cfg = { k.items, k.n, eb, 0 };
		s3i_buf xml;
		s3i_buf_init(&xml, NULL);
		rc = s3i_s3_notification_xml(&xml, &cfg, &err);
		if (has_empty) {
			if (rc != S3I_EINVALID || xml.size)
				abort();
		} else {
			if (rc != S3I_OK)
				abort();
			kept again;
			memset(&again, 0, sizeof(again));
			int eb2 = -1;
			if (s3i_s3_parse_notification_config(NULL, xml.ptr, xml.size, "round trip", keep,
				&again, &eb2, &err) != S3I_OK || eb2 != eb || again.n != k.n)
				abort();
			size_t at = 0;
			for (int kind = S3I_S3_NOTIFY_TOPIC; kind <= S3I_S3_NOTIFY_LAMBDA; kind++)
				for (size_t i = 0; i < k.n; i++)
					if ((int)k.items[i].kind == kind &&
						!same_notification(&k.items[i], &again.items[at++]))
						abort();
			kept_free(&again);
		}
		s3i_buf_dispose(&xml);
	}
	kept_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0: fuzz_buckets(body, len); break;
	case 1: fuzz_inventory_get(body, len); break;
	case 2: fuzz_inventory_list(body, len); break;
	default: fuzz_notifications(body, len); break;
	}
	return 0;
}
