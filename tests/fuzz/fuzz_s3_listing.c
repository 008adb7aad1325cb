/*
 * Fuzz the S3 response parsers (src/services/s3.c). The first byte selects the parser, the
 * rest is the response body:
 *   0 ListObjectsV2          1 ListObjectVersions      2 DeleteObjects result
 *   3 InitiateMultipartUpload 4 CompleteMultipartUpload 5 CopyObjectResult / CopyPartResult
 * (the byte is taken modulo 6). Every callback checks what it is handed: strings not NULL and
 * NUL-terminated, sizes not negative, flags 0 or 1; the page counts must match the callbacks
 * seen; a truncated page must say where to go on. Failures must be one of the documented
 * statuses with the code recorded, a one-line message, and the small result zeroed.
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

static volatile size_t sink;

typedef struct counts {
	int64_t entries, prefixes, errors, deleted;
} counts;

static void check_str(const char *s)
{
	if (!s)
		abort();
	sink += strlen(s);
}

static int on_object(void *p, const s3i_s3_object_info *o)
{
	counts *c = p;
	if (o->struct_size != sizeof(*o) || o->size < 0 || !*o->key)
		abort();
	check_str(o->etag);
	check_str(o->storage_class);
	check_str(o->owner_id);
	check_str(o->owner_name);
	c->entries++;
	return 0;
}

static int on_version(void *p, const s3i_s3_version_info *v)
{
	counts *c = p;
	if (v->struct_size != sizeof(*v) || v->size < 0 || !*v->key ||
		(v->is_latest != 0 && v->is_latest != 1) ||
		(v->is_delete_marker != 0 && v->is_delete_marker != 1))
		abort();
	if (v->is_delete_marker && (v->size || *v->etag || *v->storage_class))
		abort();
	check_str(v->version_id);
	check_str(v->etag);
	check_str(v->owner_id);
	check_str(v->owner_name);
	c->entries++;
	return 0;
}

static int on_prefix(void *p, const char *prefix)
{
	counts *c = p;
	check_str(prefix);
	c->prefixes++;
	return 0;
}

static int on_error(void *p, const s3i_s3_delete_error *e)
{
	counts *c = p;
	if (e->struct_size != sizeof(*e) || !*e->code)
		abort();
	check_str(e->key);
	check_str(e->version_id);
	check_str(e->message);
	c->errors++;
	return 0;
}

static int on_deleted(void *p, const s3i_s3_deleted *d)
{
	counts *c = p;
	if (d->delete_marker != 0 && d->delete_marker != 1)
		abort();
	check_str(d->key);
	check_str(d->version_id);
	check_str(d->delete_marker_version_id);
	c->deleted++;
	return 0;
}

static void check_failure(int rc, const s3i_errinfo *err)
{
	/* an <Error> document maps to an AWS status; everything else is a parse failure */
	if (rc >= 0 || rc == S3I_EUSER || err->pub.code != rc || strchr(err->message, '\n') ||
		!err->message[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	int which = data[0] % 6;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	counts c = { 0 };
	int rc;
	if (which <= 1) {
		s3i_s3_list_page page;
		s3i_s3_list_page_init(&page, NULL);
		if (which == 0)
			rc = s3i_s3_parse_list_objects(NULL, body, len, "fuzz listing", on_object,
				on_prefix, &c, &page, &err);
		else
			rc = s3i_s3_parse_list_versions(NULL, body, len, "fuzz versions", on_version,
				on_prefix, &c, &page, &err);
		if (rc == S3I_OK) {
			if (page.entries != c.entries || page.prefixes != c.prefixes)
				abort();
			if (page.truncated && which == 0 && !page.next_token.size)
				abort();
			if (page.truncated && which == 1 && !page.next_key_marker.size)
				abort();
		} else {
			check_failure(rc, &err);
		}
		s3i_s3_list_page_free(&page);
	} else if (which == 2) {
		s3i_s3_delete_stats st = { 0 };
		rc = s3i_s3_parse_delete_result(NULL, body, len, "fuzz delete", on_error, on_deleted, &c,
			&st, &err);
		if (st.failed != c.errors || st.deleted != c.deleted)
			abort();
		if (rc != S3I_OK)
			check_failure(rc, &err);
	} else {
		s3i_s3_result_kind kind = which == 3 ? S3I_S3_RESULT_INITIATE
			: which == 4 ? S3I_S3_RESULT_COMPLETE : S3I_S3_RESULT_COPY;
		s3i_s3_result_doc doc;
		memset(&doc, 0x5a, sizeof(doc));
		rc = s3i_s3_parse_result(NULL, body, len, kind, "fuzz result", &doc, &err);
		if (rc == S3I_OK) {
			if (doc.is_error) {
				if (!doc.error.code[0])
					abort();
			} else if (kind == S3I_S3_RESULT_INITIATE) {
				if (!doc.upload_id[0] || strlen(doc.upload_id) >= sizeof(doc.upload_id))
					abort();
			} else if (strlen(doc.etag) >= sizeof(doc.etag)) {
				abort();
			}
		} else {
			check_failure(rc, &err);
			if (doc.is_error || doc.etag[0] || doc.upload_id[0] || doc.last_modified_ms)
				abort();
		}
	}
	return 0;
}
