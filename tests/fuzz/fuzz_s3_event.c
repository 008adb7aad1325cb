/*
 * Fuzz the SQS message parser for S3 events (src/stages/s3_event.c) and the inventory key
 * classifier. The input is an SQS message body as is.
 *  - On success: every string is set, key_len is the key's length, sizes are -1 or more, and
 *    every key classifies with spans inside it (sibling keys too).
 *  - On failure: S3I_EPARSE or S3I_ENOMEM with a one-line message and an empty event.
 * The input is also classified as a key itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/s3_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void check_span(s3i_key_span sp, size_t len)
{
	if (sp.off > len || sp.len > len - sp.off)
		abort();
}

static void classify(const char *key, size_t len)
{
	s3i_inventory_key k;
	s3i_inventory_key_parse(key, len, &k);
	check_span(k.prefix, len);
	check_span(k.account, len);
	check_span(k.region, len);
	check_span(k.source_bucket, len);
	check_span(k.config_id, len);
	check_span(k.timestamp, len);
	check_span(k.folder, len);
	check_span(k.name, len);
	if (k.kind == S3I_INVKEY_OTHER) {
		if (k.source_bucket.len || k.name.len || k.folder.len)
			abort();
		return;
	}
	if (!k.source_bucket.len || !k.config_id.len || k.folder.len + k.name.len != len ||
		memchr(key + k.source_bucket.off, '/', k.source_bucket.len))
		abort();
	if ((k.kind == S3I_INVKEY_MANIFEST_JSON || k.kind == S3I_INVKEY_MANIFEST_CHECKSUM) &&
		k.timestamp.len != 17)
		abort();
	/* manifest.json beside a checksum classifies as manifest.json with the same parts */
	if (k.kind == S3I_INVKEY_MANIFEST_CHECKSUM) {
		s3i_buf b = S3I_BUF_INIT;
		if (s3i_inventory_sibling_key(&b, key, len, "manifest.json"))
			abort();
		s3i_inventory_key j;
		s3i_inventory_key_parse(b.ptr, b.size, &j);
		if (j.kind != S3I_INVKEY_MANIFEST_JSON || j.source_bucket.len != k.source_bucket.len ||
			memcmp(b.ptr + j.source_bucket.off, key + k.source_bucket.off, k.source_bucket.len))
			abort();
		s3i_buf_dispose(&b);
	}
	char small[8];
	int rc = s3i_key_span_copy(key, k.source_bucket, small, sizeof(small));
	if ((rc == S3I_OK) != (k.source_bucket.len < sizeof(small)) || strlen(small) >= sizeof(small))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_s3_event ev;
	int rc = s3i_s3_event_parse(&ev, text, size, NULL, &err);
	if (rc == S3I_OK) {
		if (ev.kind != S3I_S3_EVENT_RECORDS && ev.n_records)
			abort();
		if (!ev.topic_arn || !ev.sns_type || !ev.test_bucket || (!ev.via_sns && *ev.topic_arn))
			abort();
		for (size_t i = 0; i < ev.n_records; i++) {
			const s3i_s3_event_record *r = &ev.records[i];
			if (!r->event_name || !*r->event_name || !r->bucket || !*r->bucket || !r->key ||
				!r->key_len || strlen(r->key) != r->key_len || r->size < -1 || !r->etag ||
				!r->version_id || !r->sequencer || !r->region || !r->event_time)
				abort();
			sink += s3i_s3_event_is_created(r);
			classify(r->key, r->key_len);
		}
		s3i_s3_event_dispose(&ev);
	} else if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc ||
		ev.n_records || ev.records || strchr(err.message, '\n')) {
		abort();
	}
	classify(text, size);
	return 0;
}
