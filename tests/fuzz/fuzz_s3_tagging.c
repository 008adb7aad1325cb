/*
 * Fuzz the GetObjectTagging answer parser (s3i_s3_parse_tagging, src/services/s3.c). The input
 * is the response body as is.
 *  1. Every tag handed on must have a non-empty key and a value, both NUL-terminated C
 *     strings. Failures must be one of the documented statuses (never S3I_EUSER when the
 *     callback did not stop), with the code recorded and a one-line message naming the call.
 *  2. A tag set that parses and that PutObjectTagging would take (s3i_s3_tagging_body) is
 *     written as that request body and parsed again: the same tags in the same order, so tags
 *     read can be put back unchanged (what s3i_secrets_followup's --tag merge relies on).
 *  3. The parse is run again with the callback stopping at one of the tags: the call must
 *     return the callback's value, having seen exactly that many tags.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "s3insights/errors.h"
#include "services/s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHAT "GetObjectTagging on key 'k' in bucket 'b'"
#define KEEP 16

typedef struct collected {
	size_t count;           /* tags seen */
	size_t kept;            /* of which copied (the first KEEP) */
	char *key[KEEP], *value[KEEP];
	size_t stop_at;         /* 0: never */
	int oom;
} collected;

static int on_tag(void *payload, const char *key, const char *value)
{
	collected *c = payload;
	if (!key || !value || !*key)
		abort();
	c->count++;
	if (c->kept < KEEP) {
		char *k = strdup(key), *v = strdup(value);
		if (!k || !v) {
			free(k);
			free(v);
			c->oom = 1;
			return S3I_ENOMEM;
		}
		c->key[c->kept] = k;
		c->value[c->kept++] = v;
	}
	return c->count == c->stop_at ? 77 : 0;
}

static void release(collected *c)
{
	for (size_t i = 0; i < c->kept; i++) {
		free(c->key[i]);
		free(c->value[i]);
	}
	memset(c, 0, sizeof(*c));
}

static void check_failure(int rc, const s3i_errinfo *err)
{
	/* an <Error> document maps to an AWS status; everything else is a parse failure */
	if (rc >= 0 || rc == S3I_EUSER || err->pub.code != rc || strchr(err->message, '\n') ||
		!err->message[0])
		abort();
	if (rc == S3I_EPARSE && !strstr(err->message, WHAT))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	collected c = { 0 };
	int rc = s3i_s3_parse_tagging(NULL, body, size, WHAT, on_tag, &c, &err);
	if (c.oom) {
		release(&c);
		return 0;
	}
	if (rc != S3I_OK) {
		check_failure(rc, &err);
		release(&c);
		return 0;
	}
	size_t count = c.count;

	/* 2: written back as a PutObjectTagging body and read again */
	if (count <= S3I_S3_MAX_OBJECT_TAGS) {
		s3i_s3_tag tags[S3I_S3_MAX_OBJECT_TAGS];
		for (size_t i = 0; i < count; i++)
			tags[i] = (s3i_s3_tag){ c.key[i], c.value[i] };
		s3i_buf out;
		s3i_buf_init(&out, NULL);
		s3i_errinfo werr;
		s3i_errinfo_init(&werr);
		int wrc = s3i_s3_tagging_body(&out, tags, count, "fuzz put", &werr);
		if (wrc == S3I_OK) {
			collected again = { 0 };
			s3i_errinfo_init(&werr);
			int prc = s3i_s3_parse_tagging(NULL, out.ptr, out.size, WHAT, on_tag, &again,
				&werr);
			if (!again.oom) {
				if (prc != S3I_OK || again.count != count)
					abort();
				for (size_t i = 0; i < count; i++)
					if (strcmp(again.key[i], c.key[i]) || strcmp(again.value[i], c.value[i]))
						abort();
			}
			release(&again);
		} else if (wrc != S3I_EINVALID && wrc != S3I_ENOMEM) {
			abort();
		}
		s3i_buf_dispose(&out);
	}
	release(&c);

	/* 3: a stop from the callback is returned as it is */
	if (count) {
		collected stopped = { .stop_at = 1 + size % count };
		s3i_errinfo_init(&err);
		rc = s3i_s3_parse_tagging(NULL, body, size, WHAT, on_tag, &stopped, &err);
		if (!stopped.oom && (rc != 77 || stopped.count != stopped.stop_at ||
			err.pub.code != S3I_EUSER))
			abort();
		release(&stopped);
	}
	return 0;
}
