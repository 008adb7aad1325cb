/*
 * Fuzz the S3 answers parsed by src/services/s3_head.c. The same input is used three ways:
 *  1. as a GetBucketLocation body: s3i_s3_parse_bucket_location, and the text itself through
 *     s3i_s3_normalise_location. Success gives a region of [a-z0-9-] starting with a letter,
 *     shorter than S3I_S3_REGION_MAX; failure is S3I_EPARSE (or S3I_ENOMEM) with "" and the
 *     code and a one-line message naming the bucket recorded;
 *  2. as HeadObject response headers (one "Name: value" per line): s3i_s3_parse_head_headers,
 *     whose result must be consistent (length >= -1, strings terminated within their fields,
 *     a reset result on failure);
 *  3. the same headers on a failed HEAD (404, 405, 403, none): s3i_s3_head_object_parse must
 *     keep a failure a failure and name the object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/headers.h"
#include "aws/http.h"
#include "services/fanout.h"
#include "services/s3_head.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_region(const char *region)
{
	size_t n = strlen(region);
	if (!n || n >= S3I_S3_REGION_MAX || region[0] < 'a' || region[0] > 'z')
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((region[i] >= 'a' && region[i] <= 'z') || (region[i] >= '0' && region[i] <= '9') ||
			region[i] == '-'))
			abort();
}

static void check_failure(int rc, const s3i_errinfo *err)
{
	if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err->pub.code != rc ||
		strpbrk(err->message, "\r\n"))
		abort();
}

static void check_terminated(const char *field, size_t cap)
{
	if (!memchr(field, '\0', cap))
		abort();
}

static void check_head(const s3i_s3_head_result *r)
{
	if (r->content_length < -1 || (r->delete_marker != 0 && r->delete_marker != 1))
		abort();
	check_terminated(r->etag, sizeof(r->etag));
	check_terminated(r->storage_class, sizeof(r->storage_class));
	check_terminated(r->version_id, sizeof(r->version_id));
	check_terminated(r->content_type, sizeof(r->content_type));
}

/* "Name: value" lines into headers, as the transport stores them (value trimmed). */
static void split_headers(const char *text, size_t size, s3i_headers *h)
{
	const char *p = text, *end = text + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && colon > p) {
			const char *v = colon + 1, *e = eol;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				e--;
			if (s3i_headers_addn(h, p, (size_t)(colon - p), v, (size_t)(e - v)))
				return;
		}
		p = nl ? nl + 1 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_errinfo err;

	/* 1. a GetBucketLocation body */
	char region[S3I_S3_REGION_MAX];
	s3i_errinfo_init(&err);
	int rc = s3i_s3_parse_bucket_location(NULL, text, size, "fuzz-bucket", region, &err);
	if (rc == S3I_OK) {
		check_region(region);
	} else {
		check_failure(rc, &err);
		if (region[0] || (rc == S3I_EPARSE && !strstr(err.message, "fuzz-bucket")))
			abort();
	}
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (s3i_s3_normalise_location(copy, region) == S3I_OK)
		check_region(region);
	else if (region[0])
		abort();

	/* 2. HeadObject answer headers */
	s3i_headers h;
	s3i_headers_init(&h, NULL);
	split_headers(text, size, &h);
	s3i_s3_head_result r;
	s3i_errinfo_init(&err);
	rc = s3i_s3_parse_head_headers(&h, "key 'k' in bucket 'b'", &r, &err);
	check_head(&r);
	if (rc != S3I_OK) {
		check_failure(rc, &err);
		if (r.content_length != -1 || r.etag[0] || r.version_id[0] || r.delete_marker ||
			!strstr(err.message, "key 'k' in bucket 'b'"))
			abort();
	}

	/* 3. the same headers on failed answers */
	static const int statuses[] = { 404, 405, 403, 0 };
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		s3i_fanout_op op;
		s3i_fanout_op_init(&op, NULL);
		if (s3i_s3_head_object_prepare(&op, "b", "k", i % 2 ? "v1" : NULL, &r, NULL) == S3I_OK) {
			s3i_http_response resp;
			s3i_http_response_init(&resp, NULL);
			resp.status = statuses[i];
			s3i_headers_copy(&resp.headers, &h);
			s3i_errinfo_init(&err);
			int before = statuses[i] == 403 ? S3I_EAUTH
				: statuses[i] ? S3I_ENOTFOUND : S3I_ENETWORK;
			s3i_err(&err, before, op.call.resource, "HeadObject on %s failed", op.call.resource);
			rc = s3i_s3_head_object_parse(&op, before, &resp, &err);
			check_head(&r);
			if (rc >= 0 || err.pub.code != rc || !strstr(err.message, "key 'k' in bucket 'b'"))
				abort();
			if (r.delete_marker && rc != S3I_ENOTFOUND)
				abort();
			s3i_http_response_free(&resp);
		}
		s3i_fanout_op_free(&op);
	}
	s3i_headers_free(&h);
	free(copy);
	return 0;
}
