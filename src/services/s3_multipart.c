/*
 * Uploads and copies that may need S3's multipart API: one PutObject/CopyObject up to a
 * threshold, parts above it. Parts run in parallel over one s3i_client_batch (at most
 * max_concurrency in flight, each with the client's own retries, so a throttled part waits on
 * its own timer while the others go on). A part that fails for good stops new parts from
 * starting; once the ones in flight are done the upload is aborted (AbortMultipartUpload), so
 * no parts are left behind to be billed. Part ETags are kept in order for
 * CompleteMultipartUpload.
 *
 * Upload parts are read from the source one after the other into memory (a source is a stream),
 * so memory is bounded by max_concurrency parts. Copy parts are byte ranges of the source,
 * each checked against the source's ETag (x-amz-copy-source-if-match), so a source that
 * changes during the copy fails it instead of giving a mixed object.
 */
#include "services/s3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xml.h"

#define MIB ((int64_t)1 << 20)
#define DEFAULT_THRESHOLD (8 * MIB)
#define DEFAULT_PART_SIZE (8 * MIB)
#define DEFAULT_COPY_THRESHOLD ((int64_t)5 << 30)
#define DEFAULT_COPY_PART_SIZE (512 * MIB)
#define DEFAULT_CONCURRENCY 10
#define MAX_CONCURRENCY 256
#define RES_MAX 1600
#define ETAG_MAX 136

void s3i_s3_transfer_defaults(s3i_s3_transfer_options *out, const s3i_s3_transfer_options *opts)
{
	s3i_s3_transfer_options d = S3I_S3_TRANSFER_OPTIONS_INIT;
	if (opts)
		d = *opts;
	d.struct_size = sizeof(d);
	if (d.multipart_threshold <= 0)
		d.multipart_threshold = DEFAULT_THRESHOLD;
	if (d.part_size <= 0)
		d.part_size = DEFAULT_PART_SIZE;
	if (d.copy_threshold <= 0)
		d.copy_threshold = DEFAULT_COPY_THRESHOLD;
	if (d.copy_part_size <= 0)
		d.copy_part_size = DEFAULT_COPY_PART_SIZE;
	if (d.max_concurrency <= 0)
		d.max_concurrency = DEFAULT_CONCURRENCY;
	if (d.max_concurrency > MAX_CONCURRENCY)
		d.max_concurrency = MAX_CONCURRENCY;
	*out = d;
}

int64_t s3i_s3_part_size_for(int64_t total, int64_t part_size)
{
	if (part_size <= 0)
		part_size = DEFAULT_PART_SIZE;
	if (total > 0 && (total - 1) / part_size + 1 > S3I_S3_MAX_PARTS)
		part_size = (total - 1) / S3I_S3_MAX_PARTS + 1;
	return part_size;
}

/* ---- one multipart upload in progress ---- */

typedef struct mp mp;

typedef struct mp_slot {
	mp *up;
	int32_t number;               /* the part in flight; 0 when idle */
	int attempts;                 /* 200-with-<Error> answers to this part (copies) */
	char *buf;                    /* upload: the part's bytes */
	size_t len, cap;
	s3i_params params;
	s3i_headers headers;
	s3i_call call;
	char range[64];
	char resource[RES_MAX];
} mp_slot;

struct mp {
	const s3i_svc *svc;
	const s3i_allocator *a;
	const char *bucket, *key;
	const char *res;              /* "key 'k' in bucket 'b'" (and the copy source) */
	char upload_id[1024];
	s3i_client_batch *batch;
	mp_slot *slots;
	int nslots;
	char (*etags)[ETAG_MAX];      /* by part number - 1, quoted as S3 sent them */
	size_t etags_cap;
	int32_t started, done;
	int32_t total_parts;          /* -1 while unknown (a stream of unknown length) */
	int64_t part_size;
	int64_t length;               /* -1 unknown */
	int64_t offset;               /* bytes handed to parts so far */
	int eof;
	int prefilled;                /* slot 0 already holds part 1 */
	/* upload source */
	s3i_body_read_fn read;
	void *user;
	/* copy source */
	const char *copy_source;      /* x-amz-copy-source value */
	const char *copy_if_match;
	/* the first failure */
	int rc;
	s3i_errinfo err;
};

static int failed(mp *up, int rc, const s3i_errinfo *err)
{
	if (!up->rc) {
		up->rc = rc;
		s3i_errinfo_copy(&up->err, err);
	}
	return rc;
}

static int fail_msg(mp *up, int rc, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int fail_msg(mp *up, int rc, const char *fmt, ...)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	va_list ap;
	va_start(ap, fmt);
	s3i_verr(&e, rc, up->res, fmt, ap);
	va_end(ap);
	return failed(up, rc, &e);
}

static int keep_etag(mp *up, int32_t number, const char *etag, size_t len)
{
	if ((size_t)number > up->etags_cap) {
		size_t cap = up->etags_cap ? up->etags_cap : 64;
		while (cap < (size_t)number)
			cap *= 2;
		void *p = s3i_realloc(up->a, up->etags, cap * sizeof(*up->etags));
		if (!p)
			return S3I_ENOMEM;
		memset((char *)p + up->etags_cap * sizeof(*up->etags), 0,
			(cap - up->etags_cap) * sizeof(*up->etags));
		up->etags = p;
		up->etags_cap = cap;
	}
	if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"')
		snprintf(up->etags[number - 1], ETAG_MAX, "%.*s", (int)len, etag);
	else
		snprintf(up->etags[number - 1], ETAG_MAX, "\"%.*s\"", (int)(len > ETAG_MAX - 3 ? ETAG_MAX - 3 : len), etag);
	return S3I_OK;
}

/* Fill the slot's buffer with the next part from the source. 0 bytes: no part (the source
 * ended on a part boundary). */
static int read_part(mp *up, mp_slot *sl, size_t want)
{
	if (sl->cap < want) {
		char *p = s3i_realloc(up->a, sl->buf, want ? want : 1);
		if (!p)
			return fail_msg(up, S3I_ENOMEM, "UploadPart on %s: out of memory for a part of %zu "
				"bytes", up->res, want);
		sl->buf = p;
		sl->cap = want;
	}
	sl->len = 0;
	while (sl->len < want) {
		size_t n = 0;
		int rc = up->read(up->user, sl->buf + sl->len, want - sl->len, &n);
		if (rc)
			return fail_msg(up, rc < 0 ? rc : S3I_EUSER, "UploadPart on %s: the source failed "
				"after %lld bytes", up->res, (long long)(up->offset + (int64_t)sl->len));
		if (!n)
			break;
		sl->len += n;
	}
	if (up->length >= 0 && sl->len < want)
		return fail_msg(up, S3I_EIO, "UploadPart on %s: the source ended after %lld of %lld "
			"bytes", up->res, (long long)(up->offset + (int64_t)sl->len), (long long)up->length);
	if (up->length < 0 && sl->len < want)
		up->eof = 1;
	return S3I_OK;
}

static void part_done(void *user, int status, s3i_http_response *resp, const s3i_errinfo *err);

/* Start the next part in this slot, if there is one and nothing failed. */
static void start_next(mp *up, mp_slot *sl)
{
	sl->number = 0;
	sl->attempts = 0;
	if (up->rc || (up->total_parts >= 0 && up->started >= up->total_parts) ||
		(up->total_parts < 0 && up->eof && !up->prefilled))
		return;
	int32_t number = up->started + 1;
	int64_t first = up->offset;
	size_t want = (size_t)(up->length >= 0 && up->length - first < up->part_size
		? up->length - first : up->part_size);
	if (!up->copy_source) {
		if (up->prefilled) {
			up->prefilled = 0;        /* slot 0 holds part 1 already */
		} else if (read_part(up, sl, want)) {
			return;
		}
		if (!sl->len && number > 1)
			return;                   /* the stream ended on a part boundary */
		up->offset += (int64_t)sl->len;
	} else {
		up->offset += (int64_t)want;
	}
	up->started = number;
	if (up->total_parts < 0 && number > S3I_S3_MAX_PARTS) {
		fail_msg(up, S3I_EINVALID, "UploadPart on %s: the stream needs more than %d parts of "
			"%lld bytes; set a larger part size", up->res, S3I_S3_MAX_PARTS, (long long)up->part_size);
		return;
	}
	sl->number = number;
	s3i_params_free(&sl->params);
	s3i_headers_clear(&sl->headers);
	snprintf(sl->resource, sizeof(sl->resource), "part %d of %s", (int)number, up->res);
	int rc = s3i_params_addf(&sl->params, "partNumber", "%d", (int)number);
	if (!rc)
		rc = s3i_params_add(&sl->params, "uploadId", up->upload_id);
	s3i_call call = { .svc = &s3i_svc_s3, .operation = up->copy_source ? "UploadPartCopy" : "UploadPart",
		.method = "PUT", .bucket = up->bucket, .key = up->key, .params = &sl->params,
		.headers = &sl->headers, .resource = sl->resource, .creds = up->svc->creds,
		.region = up->svc->region };
	if (up->copy_source) {
		snprintf(sl->range, sizeof(sl->range), "bytes=%lld-%lld", (long long)first,
			(long long)(first + (int64_t)want - 1));
		if (!rc)
			rc = s3i_headers_add(&sl->headers, "x-amz-copy-source", up->copy_source);
		if (!rc)
			rc = s3i_headers_add(&sl->headers, "x-amz-copy-source-range", sl->range);
		if (!rc && up->copy_if_match && *up->copy_if_match)
			rc = s3i_headers_add(&sl->headers, "x-amz-copy-source-if-match", up->copy_if_match);
	} else {
		call.body = sl->buf ? sl->buf : "";
		call.body_len = sl->len;
		call.content_type = "application/octet-stream";
	}
	if (rc) {
		fail_msg(up, rc, "UploadPart on %s: out of memory", up->res);
		return;
	}
	sl->call = call;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if ((rc = s3i_client_batch_add(up->batch, &sl->call, part_done, sl, &e)))
		failed(up, rc, &e);
}

static void part_done(void *user, int status, s3i_http_response *resp, const s3i_errinfo *err)
{
	mp_slot *sl = user;
	mp *up = sl->up;
	s3i_errinfo local;
	s3i_errinfo_init(&local);
	if (status) {
		failed(up, status, err);
		sl->number = 0;
		return;
	}
	const char *etag = NULL;
	size_t etag_len = 0;
	s3i_s3_result_doc doc;
	if (up->copy_source) {
		const char *body = resp->body.ptr ? resp->body.ptr : "";
		size_t len = resp->body.size;
		while (len && (*body == ' ' || *body == '\n' || *body == '\r' || *body == '\t')) {
			body++;
			len--;
		}
		int rc = len ? s3i_s3_parse_result(up->a, body, len, S3I_S3_RESULT_COPY,
			"UploadPartCopy", &doc, &local) : S3I_OK;
		if (rc) {
			s3i_err_prefix(&local, "UploadPartCopy on %s: ", sl->resource);
			failed(up, rc, &local);
			sl->number = 0;
			return;
		}
		if (!len || doc.is_error) {
			/* S3 failed while copying after it answered 200: a transient failure */
			int code = s3i_s3_embedded_error(&sl->call, resp, len ? &doc.error : NULL, &local);
			if (++sl->attempts >= S3I_S3_200_ERROR_ATTEMPTS) {
				s3i_err_prefix(&local, "after %d attempts: ", sl->attempts);
				failed(up, code, &local);
				sl->number = 0;
				return;
			}
			s3i_log(s3i_client_logger(up->svc->client), S3I_LOG_WARN, "UploadPartCopy attempt "
				"%d/%d answered 200 with an error (%s); retrying", sl->attempts,
				S3I_S3_200_ERROR_ATTEMPTS, local.message);
			if (!up->rc && (code = s3i_client_batch_add(up->batch, &sl->call, part_done, sl, &local)))
				failed(up, code, &local);
			return;
		}
		etag = doc.etag;
		etag_len = strlen(doc.etag);
	} else {
		etag = s3i_headers_get(&resp->headers, "ETag");
		etag_len = etag ? strlen(etag) : 0;
	}
	if (!etag_len) {
		s3i_err(&local, S3I_EPARSE, sl->resource, "%s on %s: the answer has no ETag",
			sl->call.operation, sl->resource);
		failed(up, S3I_EPARSE, &local);
		sl->number = 0;
		return;
	}
	if (keep_etag(up, sl->number, etag, etag_len)) {
		fail_msg(up, S3I_ENOMEM, "%s: out of memory keeping part ETags", up->res);
		sl->number = 0;
		return;
	}
	up->done++;
	start_next(up, sl);
}

static void mp_free(mp *up)
{
	s3i_client_batch_free(up->batch);
	for (int i = 0; up->slots && i < up->nslots; i++) {
		s3i_free(up->a, up->slots[i].buf);
		s3i_params_free(&up->slots[i].params);
		s3i_headers_free(&up->slots[i].headers);
	}
	s3i_free(up->a, up->slots);
	s3i_free(up->a, up->etags);
}

static int mp_init(mp *up, const s3i_svc *svc, const char *bucket, const char *key,
	const char *res, int64_t length, int64_t part_size, int concurrency)
{
	memset(up, 0, sizeof(*up));
	up->svc = svc;
	up->a = s3i_client_alloc(svc->client);
	up->bucket = bucket;
	up->key = key;
	up->res = res;
	up->length = length;
	up->part_size = part_size;
	up->total_parts = length >= 0 ? (int32_t)(length ? (length - 1) / part_size + 1 : 1) : -1;
	s3i_errinfo_init(&up->err);
	up->nslots = concurrency;
	if (up->total_parts >= 0 && up->total_parts < up->nslots)
		up->nslots = up->total_parts;
	up->slots = s3i_calloc(up->a, (size_t)up->nslots, sizeof(*up->slots));
	if (!up->slots)
		return S3I_ENOMEM;
	for (int i = 0; i < up->nslots; i++) {
		up->slots[i].up = up;
		s3i_params_init(&up->slots[i].params, up->a);
		s3i_headers_init(&up->slots[i].headers, up->a);
	}
	return S3I_OK;
}

/* CreateMultipartUpload; `headers` carry the new object's metadata. */
static int create_upload(mp *up, const char *content_type, const s3i_headers *headers,
	s3i_errinfo *err)
{
	s3i_params q;
	s3i_params_init(&q, up->a);
	int rc = s3i_params_add(&q, "uploads", NULL);
	if (rc) {
		s3i_params_free(&q);
		return s3i_err(err, rc, up->res, "CreateMultipartUpload on %s: out of memory", up->res);
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, up->a);
	/* an empty body, so the object's Content-Type goes out as it is */
	s3i_call call = { .operation = "CreateMultipartUpload", .method = "POST", .bucket = up->bucket,
		.key = up->key, .params = &q, .headers = headers, .resource = up->res, .body = "",
		.body_len = 0, .content_type = content_type ? content_type : "application/octet-stream" };
	rc = s3i_s3_run(up->svc, &call, &resp, err);
	s3i_s3_result_doc doc;
	if (!rc && !(rc = s3i_s3_parse_result(up->a, resp.body.ptr, resp.body.size,
		S3I_S3_RESULT_INITIATE, "CreateMultipartUpload", &doc, err))) {
		if (doc.is_error)
			rc = s3i_s3_embedded_error(&call, &resp, &doc.error, err);
		else
			memcpy(up->upload_id, doc.upload_id, sizeof(up->upload_id));
	} else if (rc == S3I_EPARSE) {
		s3i_err_prefix(err, "CreateMultipartUpload on %s: ", up->res);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&q);
	return rc;
}

/* Send every part and wait for them. */
static int run_parts(mp *up, int concurrency, s3i_errinfo *err)
{
	int rc = s3i_client_batch_new(&up->batch, up->svc->client, concurrency, err);
	if (rc)
		return rc;
	for (int i = 0; i < up->nslots && !up->rc; i++)
		start_next(up, &up->slots[i]);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if ((rc = s3i_client_batch_run(up->batch, &e)))
		failed(up, rc, &e);
	if (!up->rc && up->done != up->started)
		fail_msg(up, S3I_ERROR, "%s: %lld parts started, %lld finished", up->res,
			(long long)up->started, (long long)up->done);
	if (up->rc)
		s3i_err_aws(err, up->rc, up->err.pub.http_status, up->err.aws_code, up->err.request_id,
			up->err.resource, up->err.message);
	return up->rc;
}

static int complete_upload(mp *up, s3i_s3_object_meta *meta, s3i_errinfo *err)
{
	s3i_buf body;
	s3i_buf_init(&body, up->a);
	int rc = s3i_buf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (int32_t i = 0; i < up->done && !rc; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%d", (int)(i + 1));
		if (!(rc = s3i_buf_puts(&body, "<Part>")) &&
			!(rc = s3i_xml_element(&body, "ETag", up->etags[i])) &&
			!(rc = s3i_xml_element(&body, "PartNumber", num)))
			rc = s3i_buf_puts(&body, "</Part>");
	}
	if (!rc)
		rc = s3i_buf_puts(&body, "</CompleteMultipartUpload>");
	s3i_params q;
	s3i_params_init(&q, up->a);
	if (!rc)
		rc = s3i_params_add(&q, "uploadId", up->upload_id);
	if (rc) {
		s3i_params_free(&q);
		s3i_buf_dispose(&body);
		return s3i_err(err, rc, up->res, "CompleteMultipartUpload on %s: out of memory", up->res);
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, up->a);
	s3i_call call = { .operation = "CompleteMultipartUpload", .method = "POST",
		.bucket = up->bucket, .key = up->key, .params = &q, .resource = up->res,
		.body = body.ptr, .body_len = body.size, .content_type = "application/xml" };
	s3i_s3_result_doc doc;
	for (int attempt = 1;; attempt++) {
		if ((rc = s3i_s3_run(up->svc, &call, &resp, err)))
			break;
		const char *b = resp.body.ptr ? resp.body.ptr : "";
		size_t len = resp.body.size;
		while (len && (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')) {
			b++;
			len--;
		}
		if (!len) {
			rc = s3i_s3_embedded_error(&call, &resp, NULL, err);
		} else {
			if ((rc = s3i_s3_parse_result(up->a, b, len, S3I_S3_RESULT_COMPLETE,
				"CompleteMultipartUpload", &doc, err))) {
				s3i_err_prefix(err, "CompleteMultipartUpload on %s: ", up->res);
				break;
			}
			if (!doc.is_error)
				break;
			rc = s3i_s3_embedded_error(&call, &resp, &doc.error, err);
		}
		if (attempt >= S3I_S3_200_ERROR_ATTEMPTS) {
			s3i_err_prefix(err, "after %d attempts: ", attempt);
			break;
		}
		int64_t delay = s3i_client_backoff_ms(up->svc->client, attempt);
		s3i_log(s3i_client_logger(up->svc->client), S3I_LOG_WARN, "CompleteMultipartUpload "
			"attempt %d/%d answered 200 with an error (%s); retrying in %lld ms", attempt,
			S3I_S3_200_ERROR_ATTEMPTS, err->message, (long long)delay);
		s3i_client_sleep_ms(up->svc->client, delay);
	}
	if (!rc && meta) {
		const char *v = s3i_headers_get(&resp.headers, "x-amz-version-id");
		snprintf(meta->etag, sizeof(meta->etag), "%s", doc.etag);
		snprintf(meta->version_id, sizeof(meta->version_id), "%s", v ? v : "");
		meta->parts = up->done;
		meta->content_length = meta->object_size = up->offset;
		meta->last_modified_ms = doc.last_modified_ms;
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&q);
	s3i_buf_dispose(&body);
	return rc;
}

/* AbortMultipartUpload after a failure; its own failure is added to the message. */
static void abort_upload(mp *up, s3i_errinfo *err)
{
	s3i_params q;
	s3i_params_init(&q, up->a);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_params_add(&q, "uploadId", up->upload_id);
	if (!rc) {
		s3i_call call = { .operation = "AbortMultipartUpload", .method = "DELETE",
			.bucket = up->bucket, .key = up->key, .params = &q, .resource = up->res };
		s3i_http_response resp;
		s3i_http_response_init(&resp, up->a);
		rc = s3i_s3_run(up->svc, &call, &resp, &e);
		s3i_http_response_free(&resp);
	}
	s3i_params_free(&q);
	s3i_errinfo keep;
	s3i_errinfo_copy(&keep, err);
	char msg[1024];
	if (rc) {
		s3i_log(s3i_client_logger(up->svc->client), S3I_LOG_WARN, "could not abort multipart "
			"upload %s of %s: %s", up->upload_id, up->res, e.message);
		snprintf(msg, sizeof(msg), "%.880s; aborting the upload failed too (%.100s)", keep.message,
			e.aws_code[0] ? e.aws_code : s3i_strerror(rc));
	} else {
		snprintf(msg, sizeof(msg), "%.900s; the multipart upload was aborted", keep.message);
	}
	s3i_err_aws(err, keep.pub.code, keep.pub.http_status, keep.aws_code, keep.request_id,
		keep.resource, msg);
}

/* Create, send the parts, complete; abort on any failure after the creation. */
static int multipart(mp *up, const char *content_type, const s3i_headers *headers,
	int concurrency, s3i_s3_object_meta *meta, s3i_errinfo *err)
{
	int rc = create_upload(up, content_type, headers, err);
	if (rc)
		return rc;
	s3i_log(s3i_client_logger(up->svc->client), S3I_LOG_DEBUG, "multipart %s of %s: upload id "
		"%s, parts of %lld bytes, %d at a time", up->copy_source ? "copy" : "upload", up->res,
		up->upload_id, (long long)up->part_size, concurrency);
	if (!(rc = run_parts(up, concurrency, err)))
		rc = complete_upload(up, meta, err);
	if (rc)
		abort_upload(up, err);
	return rc;
}

/* ---- uploads ---- */

static int put_single(const s3i_svc *svc, const char *bucket, const char *key, const char *res,
	const s3i_s3_transfer_options *o, const char *data, size_t len, s3i_body_read_fn read,
	s3i_body_rewind_fn rewind, void *user, int64_t length, s3i_s3_object_meta *meta,
	s3i_errinfo *err)
{
	s3i_call call = { .operation = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
		.resource = res, .content_type = o->content_type ? o->content_type
		: "application/octet-stream" };
	if (read) {
		call.body_read = read;
		call.body_rewind = rewind;
		call.body_user = user;
		call.body_length = length;
	} else {
		call.body = data ? data : "";
		call.body_len = len;
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	int rc = s3i_s3_run(svc, &call, &resp, err);
	if (!rc && meta) {
		const char *v;
		if ((v = s3i_headers_get(&resp.headers, "ETag")))
			s3i_s3_etag_copy(meta->etag, sizeof(meta->etag), v, strlen(v));
		if ((v = s3i_headers_get(&resp.headers, "x-amz-version-id")))
			snprintf(meta->version_id, sizeof(meta->version_id), "%s", v);
		meta->content_length = meta->object_size = read ? length : (int64_t)len;
		meta->parts = 0;
	}
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_upload_op(const s3i_svc *svc, const char *bucket, const char *key, int64_t length,
	const s3i_s3_transfer_options *opts, s3i_s3_object_meta *meta, s3i_body_read_fn read,
	s3i_body_rewind_fn rewind, void *user, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc = s3i_s3_check_names("PutObject", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, key);
	if (!read)
		return s3i_err(err, S3I_EINVALID, res, "PutObject on %s: no source", res);
	if (length < -1)
		return s3i_err(err, S3I_EINVALID, res, "PutObject on %s: invalid length %lld", res,
			(long long)length);
	s3i_s3_transfer_options o;
	s3i_s3_transfer_defaults(&o, opts);
	s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
	if (length >= 0 && length <= o.multipart_threshold) {
		rc = put_single(svc, bucket, key, res, &o, NULL, 0, read, rewind, user, length, &m, err);
		if (!rc && meta)
			*meta = m;
		return rc;
	}
	int64_t part = s3i_s3_part_size_for(length, o.part_size);
	if ((uint64_t)part > SIZE_MAX / 2)
		return s3i_err(err, S3I_EINVALID, res, "PutObject on %s: a part size of %lld bytes does "
			"not fit in memory", res, (long long)part);
	mp up;
	if ((rc = mp_init(&up, svc, bucket, key, res, length, part, (int)o.max_concurrency))) {
		mp_free(&up);
		return s3i_err(err, rc, res, "PutObject on %s: out of memory", res);
	}
	up.read = read;
	up.user = user;
	if (length < 0) {
		/* unknown length: a source that ends within the first part goes up in one PutObject */
		if (read_part(&up, &up.slots[0], (size_t)part)) {
			s3i_err_aws(err, up.rc, 0, "", "", up.err.resource, up.err.message);
			rc = up.rc;
		} else if (up.eof && (int64_t)up.slots[0].len <= o.multipart_threshold) {
			rc = put_single(svc, bucket, key, res, &o, up.slots[0].buf, up.slots[0].len, NULL,
				NULL, NULL, 0, &m, err);
		} else {
			up.prefilled = 1;
			rc = 1;
		}
		if (rc != 1) {
			mp_free(&up);
			if (!rc && meta)
				*meta = m;
			return rc;
		}
	}
	rc = multipart(&up, o.content_type, NULL, up.nslots, &m, err);
	mp_free(&up);
	if (!rc && meta)
		*meta = m;
	return rc;
}

/* ---- copies ---- */

/* The headers a copy with metadata directive COPY keeps, to give the parts' object too. */
static int is_copied_header(const char *name)
{
	static const char *const keep[] = { "Cache-Control", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Expires", NULL };
	for (int i = 0; keep[i]; i++)
		if (s3i_strcaseeq(name, keep[i]))
			return 1;
	return strlen(name) > 11 && !strncasecmp(name, "x-amz-meta-", 11);
}

/* A one-byte ranged GetObject of the copy source: its size (Content-Range), ETag and
 * metadata. An empty object cannot be ranged (416 InvalidRange): size 0. */
static int lookup_source(const s3i_svc *svc, const char *bucket, const char *key,
	const s3i_s3_transfer_options *o, int64_t *size, char *etag, size_t etag_cap,
	char *content_type, size_t ct_cap, s3i_headers *copied, s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	char res[RES_MAX], what[RES_MAX - 20];
	snprintf(res, sizeof(res), "%s (the copy source)", s3i_s3_describe(what, sizeof(what), bucket, key));
	char if_match[140];
	s3i_s3_etag_quote(if_match, sizeof(if_match), o->source_if_match);
	s3i_headers hdr;
	s3i_headers_init(&hdr, a);
	s3i_params q;
	s3i_params_init(&q, a);
	int rc = s3i_headers_add(&hdr, "Range", "bytes=0-0");
	if (!rc && if_match[0])
		rc = s3i_headers_add(&hdr, "If-Match", if_match);
	if (!rc && o->source_version_id && *o->source_version_id)
		rc = s3i_params_add(&q, "versionId", o->source_version_id);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (rc) {
		rc = s3i_err(err, rc, res, "GetObject on %s: out of memory", res);
	} else {
		s3i_call call = { .operation = "GetObject", .method = "GET", .bucket = bucket,
			.key = key, .headers = &hdr, .params = &q, .resource = res };
		rc = s3i_s3_run(svc, &call, &resp, err);
	}
	*size = -1;
	if (rc == S3I_EINVALID && !strcmp(err->aws_code, "InvalidRange")) {
		*size = 0;
		rc = S3I_OK;
	} else if (!rc) {
		const char *cr = s3i_headers_get(&resp.headers, "Content-Range");
		const char *slash = cr ? strrchr(cr, '/') : NULL;
		if (resp.status == 206 && slash && slash[1] >= '0' && slash[1] <= '9')
			*size = strtoll(slash + 1, NULL, 10);
		else if (resp.status == 200)
			*size = (int64_t)resp.body.size;
		if (*size < 0)
			rc = s3i_err(err, S3I_EPARSE, res, "GetObject on %s: no object size in the answer "
				"(HTTP %d, Content-Range '%s')", res, resp.status, cr ? cr : "");
		const char *v = s3i_headers_get(&resp.headers, "ETag");
		s3i_s3_etag_copy(etag, etag_cap, v ? v : "", v ? strlen(v) : 0);
		v = s3i_headers_get(&resp.headers, "Content-Type");
		snprintf(content_type, ct_cap, "%s", v ? v : "");
		for (size_t i = 0; !rc && i < resp.headers.count; i++)
			if (is_copied_header(resp.headers.items[i].name) &&
				(rc = s3i_headers_add(copied, resp.headers.items[i].name,
				resp.headers.items[i].value)))
				rc = s3i_err(err, rc, res, "GetObject on %s: out of memory", res);
	}
	s3i_http_response_free(&resp);
	s3i_headers_free(&hdr);
	s3i_params_free(&q);
	return rc;
}

int s3i_s3_copy_object_op(const s3i_svc *svc, const char *src_bucket, const char *src_key,
	const char *dst_bucket, const char *dst_key, const s3i_s3_transfer_options *opts,
	s3i_s3_object_meta *meta, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc;
	if ((rc = s3i_s3_check_names("CopyObject", src_bucket, src_key, 1, err)) ||
		(rc = s3i_s3_check_names("CopyObject", dst_bucket, dst_key, 1, err)))
		return rc;
	s3i_s3_transfer_options o;
	s3i_s3_transfer_defaults(&o, opts);
	if (o.source_size > 0 && o.source_size <= o.copy_threshold)
		return s3i_s3_copy_single_op(svc, src_bucket, src_key, dst_bucket, dst_key, &o, meta, err);

	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_headers copied;
	s3i_headers_init(&copied, a);
	int64_t size;
	char etag[128], content_type[256];
	if ((rc = lookup_source(svc, src_bucket, src_key, &o, &size, etag, sizeof(etag), content_type,
		sizeof(content_type), &copied, err))) {
		char dst[RES_MAX];
		s3i_err_prefix(err, "CopyObject to %s: ", s3i_s3_describe(dst, sizeof(dst), dst_bucket,
			dst_key));
		s3i_headers_free(&copied);
		return rc;
	}
	if (size <= o.copy_threshold) {
		s3i_headers_free(&copied);
		o.source_size = size;
		return s3i_s3_copy_single_op(svc, src_bucket, src_key, dst_bucket, dst_key, &o, meta, err);
	}
	char res[RES_MAX], src[RES_MAX / 2], dst[RES_MAX / 2];
	snprintf(res, sizeof(res), "%s (copied from %s)",
		s3i_s3_describe(dst, sizeof(dst), dst_bucket, dst_key),
		s3i_s3_describe(src, sizeof(src), src_bucket, src_key));
	s3i_buf cs;
	s3i_buf_init(&cs, a);
	/* every part must come from the version looked at: pin its ETag */
	char if_match[140];
	s3i_s3_etag_quote(if_match, sizeof(if_match), o.source_if_match && *o.source_if_match
		? o.source_if_match : etag);
	mp up;
	memset(&up, 0, sizeof(up));
	if ((rc = s3i_s3_copy_source(&cs, src_bucket, src_key, o.source_version_id)) ||
		(rc = mp_init(&up, svc, dst_bucket, dst_key, res, size,
		s3i_s3_part_size_for(size, o.copy_part_size), (int)o.max_concurrency))) {
		rc = s3i_err(err, rc, res, "CopyObject on %s: out of memory", res);
	} else {
		up.copy_source = cs.ptr;
		up.copy_if_match = if_match;
		s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
		rc = multipart(&up, content_type[0] ? content_type : NULL, &copied, up.nslots, &m, err);
		if (!rc && meta)
			*meta = m;
	}
	mp_free(&up);
	s3i_buf_dispose(&cs);
	s3i_headers_free(&copied);
	return rc;
}
