#include "services/s3_head.h"

#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "core/xml.h"
#include "services/fanout.h"
#include "services/s3.h"

/* Outside text quoted in a one-line message: at most cap-1 bytes ("..." marks a cut) with
 * control characters (line breaks) shown as '?'. */
static const char *shown(char *out, size_t cap, const char *in)
{
	size_t n = strlen(in);
	(void)!snprintf(out, cap, "%s", in);   /* cut on purpose, marked below */
	if (n >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return out;
}

/* ------------------------------------------------------------------ HeadObject */

void s3i_s3_head_result_init(s3i_s3_head_result *out)
{
	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	snprintf(out->storage_class, sizeof(out->storage_class), "STANDARD");
}

/* A header value into a field, or S3I_EPARSE when it does not fit: a cut ETag or version id
 * would name another object. */
static int copy_field(char *out, size_t cap, const char *value, const char *header,
	const char *what, s3i_errinfo *err)
{
	size_t n = strlen(value);
	if (n >= cap)
		return s3i_err(err, S3I_EPARSE, what, "HeadObject on %s: the %s header is %zu bytes "
			"long, more than the %zu expected", what, header, n, cap - 1);
	memcpy(out, value, n + 1);
	return S3I_OK;
}

static int parse_length(const char *v, int64_t *out)
{
	size_t n = strlen(v);
	if (!n || n > 18)   /* 18 digits cannot overflow an int64_t */
		return S3I_EPARSE;
	int64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return S3I_EPARSE;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return S3I_OK;
}

int s3i_s3_parse_head_headers(const s3i_headers *headers, const char *what,
	s3i_s3_head_result *out, s3i_errinfo *err)
{
	s3i_s3_head_result_init(out);
	if (!what)
		what = "the object";
	const char *v;
	char q[64];
	int rc = S3I_OK;
	if ((v = s3i_headers_get(headers, "Content-Length")) && parse_length(v, &out->content_length))
		rc = s3i_err(err, S3I_EPARSE, what, "HeadObject on %s: Content-Length '%s' is not "
			"a byte count", what, shown(q, sizeof(q), v));
	if (!rc && (v = s3i_headers_get(headers, "Last-Modified")) &&
		s3i_time_parse_http(v, &out->last_modified_ms))
		rc = s3i_err(err, S3I_EPARSE, what, "HeadObject on %s: Last-Modified '%s' is not "
			"an HTTP date", what, shown(q, sizeof(q), v));
	if (!rc && (v = s3i_headers_get(headers, "x-amz-delete-marker"))) {
		if (!strcmp(v, "true"))
			out->delete_marker = 1;
		else if (strcmp(v, "false"))
			rc = s3i_err(err, S3I_EPARSE, what, "HeadObject on %s: x-amz-delete-marker "
				"'%s' is neither true nor false", what, shown(q, 24, v));
	}
	if (!rc && (v = s3i_headers_get(headers, "ETag"))) {
		size_t n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v++;
			n -= 2;
		}
		if (n >= sizeof(out->etag))
			rc = s3i_err(err, S3I_EPARSE, what, "HeadObject on %s: the ETag header is %zu "
				"bytes long, more than the %zu expected", what, n, sizeof(out->etag) - 1);
		else {
			memcpy(out->etag, v, n);
			out->etag[n] = '\0';
		}
	}
	if (!rc && (v = s3i_headers_get(headers, "x-amz-storage-class")))
		rc = copy_field(out->storage_class, sizeof(out->storage_class), v,
			"x-amz-storage-class", what, err);
	if (!rc && (v = s3i_headers_get(headers, "x-amz-version-id")))
		rc = copy_field(out->version_id, sizeof(out->version_id), v, "x-amz-version-id", what,
			err);
	/* informational only: a very long content type is cut rather than failing the call */
	if (!rc && (v = s3i_headers_get(headers, "Content-Type")))
		snprintf(out->content_type, sizeof(out->content_type), "%s", v);
	if (rc)
		s3i_s3_head_result_init(out);
	return rc;
}

int s3i_s3_head_object_parse(s3i_fanout_op *op, int status, const s3i_http_response *resp,
	s3i_errinfo *err)
{
	s3i_s3_head_result *out = op->result;
	s3i_s3_head_result scratch;
	if (!out)
		out = &scratch;
	const char *what = op->call.resource ? op->call.resource : "the object";
	if (status == S3I_OK)
		return s3i_s3_parse_head_headers(&resp->headers, what, out, err);
	s3i_s3_head_result_init(out);
	if (!resp || (resp->status != 404 && resp->status != 405))
		return status;

	/* The answer to a HEAD has no body, so the client's message only has the status to go
	 * on; say what it means. Copies: err is rewritten from its own fields. */
	char code[sizeof(err->aws_code)], req[sizeof(err->request_id)];
	snprintf(code, sizeof(code), "%s", err->aws_code);
	snprintf(req, sizeof(req), "%s", err->request_id);
	const char *dm = s3i_headers_get(&resp->headers, "x-amz-delete-marker");
	char msg[sizeof(err->message)];
	if (dm && !strcmp(dm, "true")) {
		const char *vid = s3i_headers_get(&resp->headers, "x-amz-version-id");
		out->delete_marker = 1;
		if (vid && strlen(vid) < sizeof(out->version_id))
			snprintf(out->version_id, sizeof(out->version_id), "%s", vid);
		snprintf(msg, sizeof(msg), "HeadObject on %s: %s is a delete marker%s%.200s%s "
			"(HTTP %d%s%s)", what, op->params.count ? "that version" : "the current version",
			vid ? " (version id '" : "", vid ? vid : "", vid ? "')" : "", resp->status,
			req[0] ? ", request id " : "", req);
		return s3i_err_aws(err, S3I_ENOTFOUND, resp->status, code[0] ? code : "NotFound", req,
			what, msg);
	}
	if (resp->status == 404 && !resp->body.size) {
		snprintf(msg, sizeof(msg), "HeadObject on %s failed: not found: the key%s or the "
			"bucket does not exist (HTTP 404 without a body, request id %s)", what,
			op->params.count ? " (version)" : "", req[0] ? req : "none");
		return s3i_err_aws(err, S3I_ENOTFOUND, 404, code[0] ? code : "NotFound", req, what, msg);
	}
	return status;
}

int s3i_s3_head_object_prepare(s3i_fanout_op *op, const char *bucket, const char *key,
	const char *version_id, s3i_s3_head_result *out, s3i_errinfo *err)
{
	s3i_fanout_op_reset(op);
	if (out)
		s3i_s3_head_result_init(out);
	op->parse = s3i_s3_head_object_parse;
	op->result = out;
	int rc = s3i_s3_check_names("HeadObject", bucket, key, 1, err);
	if (rc)
		return rc;
	int versioned = version_id && *version_id;
	const char *b = s3i_fanout_op_strdup(op, bucket);
	const char *k = s3i_fanout_op_strdup(op, key);
	/* joined by hand: a printf here was 2% of a HeadObject's instructions in bench/fanout */
	const char *parts[] = { "version '", version_id, "' of ", "key '", key, "' in bucket '",
		bucket, "'" };
	const char *res = versioned ? s3i_fanout_op_concat(op, parts, 8)
		: s3i_fanout_op_concat(op, parts + 3, 5);
	if (!b || !k || !res || (versioned && s3i_params_add(&op->params, "versionId", version_id)))
		return s3i_err(err, S3I_ENOMEM, bucket, "HeadObject on key '%.200s' in bucket '%.100s': "
			"out of memory", key, bucket);
	s3i_call call = { .svc = &s3i_svc_s3, .operation = "HeadObject", .method = "HEAD",
		.bucket = b, .key = k, .resource = res, .params = versioned ? &op->params : NULL };
	op->call = call;
	return S3I_OK;
}

int s3i_s3_head_object_op(const s3i_svc *svc, const char *bucket, const char *key,
	const char *version_id, s3i_s3_head_result *out, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	s3i_s3_head_result scratch;
	s3i_fanout_op op;
	s3i_fanout_op_init(&op, s3i_client_alloc(svc->client));
	int rc = s3i_s3_head_object_prepare(&op, bucket, key, version_id, out ? out : &scratch, err);
	if (!rc)
		rc = s3i_fanout_op_run(svc, &op, err);
	s3i_fanout_op_free(&op);
	return rc;
}

/* ------------------------------------------------------------------ GetBucketLocation */

int s3i_s3_normalise_location(const char *constraint, char *region_out)
{
	region_out[0] = '\0';
	if (!constraint || !*constraint) {
		snprintf(region_out, S3I_S3_REGION_MAX, "us-east-1");   /* AWS's null */
		return S3I_OK;
	}
	if (!strcmp(constraint, "EU")) {
		snprintf(region_out, S3I_S3_REGION_MAX, "eu-west-1");   /* the legacy alias */
		return S3I_OK;
	}
	size_t n = strlen(constraint);
	if (n >= S3I_S3_REGION_MAX || constraint[0] < 'a' || constraint[0] > 'z')
		return S3I_EPARSE;
	for (size_t i = 0; i < n; i++) {
		char c = constraint[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return S3I_EPARSE;
	}
	memcpy(region_out, constraint, n + 1);
	return S3I_OK;
}

typedef struct location_doc {
	const char *bucket;
	s3i_errinfo *err;
	int seen;
	char constraint[S3I_S3_REGION_MAX];
	int bad;          /* the text did not fit */
} location_doc;

static int location_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	location_doc *d = user;
	if (depth == 1 && !strcmp(name, "LocationConstraint"))
		return S3I_OK;
	return s3i_err(d->err, S3I_EPARSE, d->bucket, "GetBucketLocation on bucket '%s': "
		"unexpected element <%.100s> in the answer", d->bucket, name);
}

static int location_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	(void)path;
	(void)name;
	location_doc *d = user;
	if (depth != 1)
		return S3I_OK;
	const char *t = s3i_str_trim(text, &len);
	d->seen = 1;
	if (len >= sizeof(d->constraint)) {   /* too long for a region: keep the start to show */
		d->bad = 1;
		len = sizeof(d->constraint) - 1;
	}
	memcpy(d->constraint, t, len);
	d->constraint[len] = '\0';
	return S3I_OK;
}

int s3i_s3_parse_bucket_location(const s3i_allocator *a, const char *body, size_t len,
	const char *bucket, char *region_out, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	region_out[0] = '\0';
	if (!bucket)
		bucket = "";
	while (len && (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')) {
		body++;
		len--;
	}
	if (!len)
		return s3i_err(err, S3I_EPARSE, bucket, "GetBucketLocation on bucket '%s': the answer "
			"is empty", bucket);
	location_doc d;
	memset(&d, 0, sizeof(d));
	d.bucket = bucket;
	d.err = err;
	int rc = s3i_xml_parse(a, body, len, location_start, location_end, &d, err);
	if (rc == S3I_ENOMEM)
		return rc;
	if (rc) {
		if (strstr(err->message, "GetBucketLocation") != err->message)
			s3i_err(err, rc, bucket, "GetBucketLocation on bucket '%s': the answer is not a "
				"LocationConstraint document: %s", bucket, err->message);
		return rc;
	}
	if (d.bad || (d.seen && s3i_s3_normalise_location(d.constraint, region_out))) {
		char q[48];
		return s3i_err(err, S3I_EPARSE, bucket, "GetBucketLocation on bucket '%s': "
			"LocationConstraint '%s%s' is not a region name", bucket,
			shown(q, sizeof(q), d.constraint), d.bad ? "..." : "");
	}
	if (!d.seen)   /* cannot happen: the root was checked; kept for safety */
		return s3i_err(err, S3I_EPARSE, bucket, "GetBucketLocation on bucket '%s': no "
			"LocationConstraint in the answer", bucket);
	return S3I_OK;
}

int s3i_s3_bucket_location_parse(s3i_fanout_op *op, int status, const s3i_http_response *resp,
	s3i_errinfo *err)
{
	char *region = op->result;
	char scratch[S3I_S3_REGION_MAX];
	if (!region)
		region = scratch;
	region[0] = '\0';
	if (status != S3I_OK)
		return status;
	return s3i_s3_parse_bucket_location(op->alloc, resp->body.ptr, resp->body.size,
		op->call.bucket, region, err);
}

int s3i_s3_bucket_location_prepare(s3i_fanout_op *op, const char *bucket, char *region_out,
	s3i_errinfo *err)
{
	s3i_fanout_op_reset(op);
	if (region_out)
		region_out[0] = '\0';
	op->parse = s3i_s3_bucket_location_parse;
	op->result = region_out;
	int rc = s3i_s3_check_names("GetBucketLocation", bucket, NULL, 0, err);
	if (rc)
		return rc;
	const char *b = s3i_fanout_op_strdup(op, bucket);
	const char *parts[] = { "bucket '", bucket, "'" };
	const char *res = s3i_fanout_op_concat(op, parts, 3);
	if (!b || !res || s3i_params_add(&op->params, "location", NULL))
		return s3i_err(err, S3I_ENOMEM, bucket, "GetBucketLocation on bucket '%.200s': out of "
			"memory", bucket);
	s3i_call call = { .svc = &s3i_svc_s3, .operation = "GetBucketLocation", .method = "GET",
		.bucket = b, .resource = res, .params = &op->params };
	op->call = call;
	return S3I_OK;
}

int s3i_s3_bucket_location_op(const s3i_svc *svc, const char *bucket, char *region_out,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	char scratch[S3I_S3_REGION_MAX];
	s3i_fanout_op op;
	s3i_fanout_op_init(&op, s3i_client_alloc(svc->client));
	int rc = s3i_s3_bucket_location_prepare(&op, bucket, region_out ? region_out : scratch, err);
	if (!rc)
		rc = s3i_fanout_op_run(svc, &op, err);
	s3i_fanout_op_free(&op);
	return rc;
}
