#include "services/s3.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/ctx_internal.h"
#include "core/alloc.h"
#include "core/str.h"
#include "core/xml.h"

const s3i_service s3i_svc_s3 = { "s3", "s3", S3I_PROTO_REST_XML, NULL, "2006-03-01", NULL };

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define RES_MAX 1600

/* ---- shared helpers ---- */

const char *s3i_s3_describe(char *buf, size_t cap, const char *bucket, const char *key)
{
	if (key)
		snprintf(buf, cap, "key '%s' in bucket '%s'", key, bucket);
	else
		snprintf(buf, cap, "bucket '%s'", bucket);
	return s3i_str_one_line(buf, strlen(buf) + 1, buf);
}

int s3i_s3_check_names(const char *op, const char *bucket, const char *key, int need_key,
	s3i_errinfo *err)
{
	if (!bucket || !*bucket)
		return s3i_err(err, S3I_EINVALID, "bucket", "%s: bucket name is empty", op);
	if (need_key && (!key || !*key))
		return s3i_err(err, S3I_EINVALID, bucket, "%s: object key is empty (bucket '%s')", op,
			bucket);
	return S3I_OK;
}

int s3i_s3_run(const s3i_svc *svc, s3i_call *call, s3i_http_response *resp, s3i_errinfo *err)
{
	call->svc = &s3i_svc_s3;
	if (!call->creds)
		call->creds = svc->creds;
	if (!call->region)
		call->region = svc->region;
	return s3i_client_call(svc->client, call, resp, err);
}

static int simple(const s3i_svc *svc, s3i_call *call, s3i_errinfo *err)
{
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	int rc = s3i_s3_run(svc, call, &resp, err);
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_embedded_error(const s3i_call *call, const s3i_http_response *resp,
	const s3i_aws_error_body *eb, s3i_errinfo *err)
{
	const char *res = call->resource ? call->resource : "";
	char msg[1024];
	if (!eb) {
		snprintf(msg, sizeof(msg), "%s%s%s failed: HTTP %d with an empty body", call->operation,
			*res ? " on " : "", res, resp->status);
		return s3i_err_aws(err, S3I_ESERVICE, resp->status, "", "", res, msg);
	}
	const char *req = eb->request_id[0] ? eb->request_id
		: s3i_headers_get(&resp->headers, "x-amz-request-id");
	snprintf(msg, sizeof(msg), "%s%s%.400s failed: %.100s%s%.300s (HTTP %d with an error document%s%.100s)",
		call->operation, *res ? " on " : "", res, eb->code, eb->message[0] ? ": " : "",
		eb->message, resp->status, req && *req ? ", request id " : "", req ? req : "");
	/* S3 only answers so for failures that happened while it worked: transient ones */
	int code = s3i_aws_error_status(resp->status, eb->code);
	if (code == S3I_EAWS)
		code = S3I_ESERVICE;
	return s3i_err_aws(err, code, resp->status, eb->code, req, res, msg);
}

int s3i_s3_copy_source(s3i_buf *out, const char *bucket, const char *key, const char *version_id)
{
	int rc = s3i_uri_encode(out, bucket, strlen(bucket), 0);
	if (!rc)
		rc = s3i_buf_putc(out, '/');
	if (!rc)
		rc = s3i_uri_encode(out, key, strlen(key), 1);
	if (!rc && version_id && *version_id) {
		rc = s3i_buf_puts(out, "?versionId=");
		if (!rc)
			rc = s3i_uri_encode(out, version_id, strlen(version_id), 0);
	}
	return rc;
}




void s3i_s3_etag_copy(char *out, size_t cap, const char *etag, size_t len)
{
	if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"') {
		etag++;
		len -= 2;
	}
	if (len >= cap)
		len = cap - 1;
	memcpy(out, etag, len);
	out[len] = '\0';
}

void s3i_s3_etag_quote(char *out, size_t cap, const char *etag)
{
	size_t n = etag ? strlen(etag) : 0;
	if (!n)
		snprintf(out, cap, "%s", "");
	else if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
		snprintf(out, cap, "%s", etag);
	else
		snprintf(out, cap, "\"%s\"", etag);
}

/* Strict parsers of element text: a decimal integer >= 0, "true"/"false". */
static int parse_size(const char *text, size_t len, int64_t *out)
{
	if (!len || len > 19)
		return S3I_EPARSE;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9' || v > (INT64_MAX - (text[i] - '0')) / 10)
			return S3I_EPARSE;
		v = v * 10 + (text[i] - '0');
	}
	*out = v;
	return S3I_OK;
}

static int parse_bool(const char *text, size_t len, int *out)
{
	if (len == 4 && !memcmp(text, "true", 4))
		*out = 1;
	else if (len == 5 && !memcmp(text, "false", 5))
		*out = 0;
	else
		return S3I_EPARSE;
	return S3I_OK;
}

/* The element's parent is `parent` (path ends with "/parent/name"). */
static int parent_is(const char *path, const char *name, const char *parent)
{
	size_t pl = strlen(path), nl = strlen(name), ql = strlen(parent);
	if (pl < nl + ql + 2)
		return 0;
	const char *p = path + pl - nl - ql - 2;
	return p[0] == '/' && !memcmp(p + 1, parent, ql) && p[ql + 1] == '/';
}

/* A leading run of whitespace is not XML; S3 pads long answers with it. */
static const char *skip_space(const char *body, size_t *len)
{
	while (*len && (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')) {
		body++;
		(*len)--;
	}
	return body;
}

/* ---- buckets and single objects ---- */

int s3i_s3_create_bucket_op(const s3i_svc *svc, const char *bucket, const char *region,
	s3i_errinfo *err)
{
	int rc = s3i_s3_check_names("CreateBucket", bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[600];
	const char *r = region ? region : (svc->region ? svc->region : s3i_client_region(svc->client));
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	/* us-east-1 takes no LocationConstraint; every other region requires one. */
	if (strcmp(r, "us-east-1") &&
		(rc = s3i_buf_printf(&body, "<CreateBucketConfiguration xmlns=\"" S3_XMLNS "\">"
			"<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>", r))) {
		s3i_buf_dispose(&body);
		return s3i_err(err, rc, bucket, "CreateBucket: out of memory");
	}
	s3i_call call = { .operation = "CreateBucket", .method = "PUT", .bucket = bucket,
		.resource = s3i_s3_describe(res, sizeof(res), bucket, NULL), .region = r,
		.body = body.size ? body.ptr : NULL, .body_len = body.size,
		.content_type = "application/xml" };
	rc = simple(svc, &call, err);
	s3i_buf_dispose(&body);
	if (rc == S3I_EEXISTS && err && !strcmp(err->aws_code, "BucketAlreadyOwnedByYou"))
		rc = S3I_OK;
	return rc;
}

int s3i_s3_delete_bucket_op(const s3i_svc *svc, const char *bucket, s3i_errinfo *err)
{
	int rc = s3i_s3_check_names("DeleteBucket", bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[600];
	s3i_call call = { .operation = "DeleteBucket", .method = "DELETE", .bucket = bucket,
		.resource = s3i_s3_describe(res, sizeof(res), bucket, NULL) };
	rc = simple(svc, &call, err);
	if (rc && err && !strcmp(err->aws_code, "BucketNotEmpty"))
		err->pub.code = rc = S3I_ECONFLICT;
	return rc;
}

int s3i_s3_put_object_op(const s3i_svc *svc, const char *bucket, const char *key, const void *data,
	size_t len, const char *content_type, s3i_errinfo *err)
{
	int rc = s3i_s3_check_names("PutObject", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_call call = { .operation = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
		.resource = s3i_s3_describe(res, sizeof(res), bucket, key), .body = data ? data : "",
		.body_len = len, .content_type = content_type ? content_type : "application/octet-stream" };
	return simple(svc, &call, err);
}

int s3i_s3_put_object_stream_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_read_fn read, s3i_body_rewind_fn rewind, void *user, int64_t length,
	const char *content_type, s3i_errinfo *err)
{
	int rc = s3i_s3_check_names("PutObject", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_call call = { .operation = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
		.resource = s3i_s3_describe(res, sizeof(res), bucket, key), .body_read = read,
		.body_rewind = rewind, .body_user = user, .body_length = length,
		.content_type = content_type ? content_type : "application/octet-stream" };
	return simple(svc, &call, err);
}

int s3i_s3_get_object_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_write_fn sink, int (*sink_reset)(void *), void *user, s3i_errinfo *err)
{
	int rc = s3i_s3_check_names("GetObject", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_call call = { .operation = "GetObject", .method = "GET", .bucket = bucket, .key = key,
		.resource = s3i_s3_describe(res, sizeof(res), bucket, key), .sink = sink, .sink_user = user,
		.sink_reset = sink_reset };
	return simple(svc, &call, err);
}

/* Ranged downloads: the sink sees only the bytes asked for, whatever the server did with the
 * Range header; a 206 must cover exactly the range asked for. */
typedef struct range_sink {
	s3i_body_write_fn sink;
	int (*reset)(void *);
	void *user;
	const s3i_http_response *resp;
	int ranged;
	int64_t first, last;        /* last -1: to the end */
	int checked;
	int cut;                    /* a 200 to a ranged request: drop what lies outside */
	int64_t pos;                /* body bytes seen in this attempt */
	int64_t delivered;          /* bytes handed to the caller's sink in this attempt */
	char problem[300];
} range_sink;

/* "bytes 5-10/11" or "bytes 5-10/ *" -> first, last, total (-1 for '*'). */
static int parse_content_range(const char *v, int64_t *first, int64_t *last, int64_t *total)
{
	if (!v || strncmp(v, "bytes ", 6))
		return S3I_EPARSE;
	char *end;
	errno = 0;
	long long a = strtoll(v + 6, &end, 10);
	if (end == v + 6 || *end != '-' || a < 0)
		return S3I_EPARSE;
	const char *b_at = end + 1;
	long long b = strtoll(b_at, &end, 10);
	if (end == b_at || *end != '/' || b < a || errno)
		return S3I_EPARSE;
	const char *t_at = end + 1;
	long long t = -1;
	if (*t_at == '*') {
		end = (char *)t_at + 1;
	} else {
		t = strtoll(t_at, &end, 10);
		if (end == t_at || t <= b)
			return S3I_EPARSE;
	}
	if (*end || errno)
		return S3I_EPARSE;
	*first = a;
	*last = b;
	*total = t;
	return S3I_OK;
}

static int range_write(void *user, const char *data, size_t len)
{
	range_sink *rs = user;
	if (!rs->checked) {
		rs->checked = 1;
		if (rs->ranged && rs->resp->status == 206) {
			int64_t a, b, t;
			const char *cr = s3i_headers_get(&rs->resp->headers, "Content-Range");
			if (parse_content_range(cr, &a, &b, &t) || a != rs->first ||
				(rs->last >= 0 && b > rs->last)) {
				char want[48] = "";
				if (rs->last >= 0)
					snprintf(want, sizeof(want), "%lld", (long long)rs->last);
				snprintf(rs->problem, sizeof(rs->problem), "a 206 answer with Content-Range "
					"'%.100s' for the range bytes=%lld-%s", cr ? cr : "(none)",
					(long long)rs->first, want);
				return S3I_EPARSE;
			}
		} else if (rs->ranged) {
			rs->cut = 1;
		}
	}
	int64_t at = rs->pos;
	rs->pos += (int64_t)len;
	if (rs->cut) {
		int64_t from = rs->first > at ? rs->first - at : 0;
		int64_t to = (int64_t)len;
		if (rs->last >= 0 && rs->last + 1 - at < to)
			to = rs->last + 1 - at;
		if (from >= to)
			return S3I_OK;
		data += from;
		len = (size_t)(to - from);
	}
	rs->delivered += (int64_t)len;
	return rs->sink(rs->user, data, len);
}

static int range_reset(void *user)
{
	range_sink *rs = user;
	if (rs->delivered && !rs->reset) {
		snprintf(rs->problem, sizeof(rs->problem), "the download failed after %lld bytes and "
			"the sink cannot be reset for a retry", (long long)rs->delivered);
		return S3I_EIO;
	}
	rs->checked = rs->cut = 0;
	rs->pos = rs->delivered = 0;
	return rs->reset ? rs->reset(rs->user) : S3I_OK;
}

static void meta_from_headers(s3i_s3_object_meta *meta, const s3i_headers *h)
{
	const char *v;
	if ((v = s3i_headers_get(h, "ETag")))
		s3i_s3_etag_copy(meta->etag, sizeof(meta->etag), v, strlen(v));
	if ((v = s3i_headers_get(h, "x-amz-version-id")))
		snprintf(meta->version_id, sizeof(meta->version_id), "%s", v);
	if ((v = s3i_headers_get(h, "Content-Type")))
		snprintf(meta->content_type, sizeof(meta->content_type), "%s", v);
	int64_t ms;
	if ((v = s3i_headers_get(h, "Last-Modified")) && s3i_time_parse_http(v, &ms) == S3I_OK)
		meta->last_modified_ms = ms;
}

int s3i_s3_get_object_range_op(const s3i_svc *svc, const char *bucket, const char *key,
	const s3i_s3_get_options *opts, s3i_s3_object_meta *meta, s3i_body_write_fn sink,
	int (*sink_reset)(void *), void *user, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc = s3i_s3_check_names("GetObject", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, key);
	if (!sink)
		return s3i_err(err, S3I_EINVALID, res, "GetObject on %s: no sink", res);
	s3i_s3_get_options o = { sizeof(o), 0, 0, NULL, NULL };
	if (opts)
		o = *opts;
	if (o.range_start < 0 || o.range_length < 0 || (o.range_length > 0 &&
		o.range_start > INT64_MAX - o.range_length))
		return s3i_err(err, S3I_EINVALID, res, "GetObject on %s: invalid range (start %lld, "
			"length %lld)", res, (long long)o.range_start, (long long)o.range_length);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_headers hdr;
	s3i_headers_init(&hdr, a);
	s3i_params q;
	s3i_params_init(&q, a);
	range_sink rs = { .sink = sink, .reset = sink_reset, .user = user,
		.ranged = o.range_start > 0 || o.range_length > 0, .first = o.range_start,
		.last = o.range_length > 0 ? o.range_start + o.range_length - 1 : -1 };
	char range[64], etag[140];
	s3i_s3_etag_quote(etag, sizeof(etag), o.if_match);
	if (rs.ranged) {
		if (rs.last >= 0)
			snprintf(range, sizeof(range), "bytes=%lld-%lld", (long long)rs.first, (long long)rs.last);
		else
			snprintf(range, sizeof(range), "bytes=%lld-", (long long)rs.first);
		rc = s3i_headers_add(&hdr, "Range", range);
	}
	if (!rc && etag[0])
		rc = s3i_headers_add(&hdr, "If-Match", etag);
	if (!rc && o.version_id && *o.version_id)
		rc = s3i_params_add(&q, "versionId", o.version_id);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	rs.resp = &resp;
	if (rc) {
		rc = s3i_err(err, rc, res, "GetObject on %s: out of memory", res);
	} else {
		s3i_call call = { .operation = "GetObject", .method = "GET", .bucket = bucket,
			.key = key, .resource = res, .headers = &hdr, .params = &q, .sink = range_write,
			.sink_user = &rs, .sink_reset = range_reset };
		rc = s3i_s3_run(svc, &call, &resp, err);
		if (rc && rs.problem[0])
			rc = s3i_err(err, rc == S3I_EPARSE ? S3I_EPARSE : S3I_EIO, res, "GetObject on %s: %s",
				res, rs.problem);
	}
	if (!rc && meta) {
		s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
		meta_from_headers(&m, &resp.headers);
		m.content_length = rs.delivered;
		m.object_size = -1;
		m.partial = resp.status == 206;
		m.range_start = rs.ranged ? rs.first : 0;
		int64_t a0, b0, t0;
		const char *cr = s3i_headers_get(&resp.headers, "Content-Range");
		if (m.partial && !parse_content_range(cr, &a0, &b0, &t0))
			m.object_size = t0;
		else if (!m.partial)
			m.object_size = rs.pos;
		*meta = m;
	}
	s3i_http_response_free(&resp);
	s3i_headers_free(&hdr);
	s3i_params_free(&q);
	return rc;
}

int s3i_s3_delete_object_op(const s3i_svc *svc, const char *bucket, const char *key, s3i_errinfo *err)
{
	int rc = s3i_s3_check_names("DeleteObject", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_call call = { .operation = "DeleteObject", .method = "DELETE", .bucket = bucket,
		.key = key, .resource = s3i_s3_describe(res, sizeof(res), bucket, key) };
	return simple(svc, &call, err);
}

/* ---- listing parsers ---- */

void s3i_s3_list_page_init(s3i_s3_list_page *page, const s3i_allocator *a)
{
	memset(page, 0, sizeof(*page));
	s3i_buf_init(&page->next_token, a);
	s3i_buf_init(&page->next_key_marker, a);
	s3i_buf_init(&page->next_version_id_marker, a);
}

void s3i_s3_list_page_free(s3i_s3_list_page *page)
{
	const s3i_allocator *a = page->next_token.alloc;
	s3i_buf_dispose(&page->next_token);
	s3i_buf_dispose(&page->next_key_marker);
	s3i_buf_dispose(&page->next_version_id_marker);
	s3i_s3_list_page_init(page, a);
}

static void page_reset(s3i_s3_list_page *page)
{
	page->truncated = page->url_encoded = 0;
	page->entries = page->prefixes = 0;
	s3i_buf_clear(&page->next_token);
	s3i_buf_clear(&page->next_key_marker);
	s3i_buf_clear(&page->next_version_id_marker);
}

/* The root element and whether the document declares EncodingType url. Run first, because
 * S3 may place <EncodingType> after the entries it applies to. */
typedef struct prescan {
	char root[32];
	int url;
} prescan;

static int prescan_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	prescan *ps = user;
	if (depth == 1)
		snprintf(ps->root, sizeof(ps->root), "%s", name);
	return S3I_OK;
}

static int prescan_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	(void)path;
	prescan *ps = user;
	if (depth == 2 && !strcmp(name, "EncodingType")) {
		ps->url = len == 3 && !memcmp(text, "url", 3);
		return 1;   /* found: stop */
	}
	return S3I_OK;
}

static void run_prescan(const s3i_allocator *a, const char *body, size_t len, prescan *ps)
{
	memset(ps, 0, sizeof(*ps));
	s3i_xml_parser *p = NULL;
	s3i_errinfo scratch;
	s3i_errinfo_init(&scratch);
	int has_encoding = 0;
	for (size_t i = 0; i + 12 <= len && !has_encoding; i++)
		has_encoding = body[i] == 'E' && !memcmp(body + i, "EncodingType", 12);
	/* without an EncodingType element only the root is needed */
	if (s3i_xml_parser_new(&p, a, prescan_start, has_encoding ? prescan_end : NULL, ps,
		&scratch) == S3I_OK) {
		s3i_xml_parser_feed(p, body, len, 1);
		s3i_xml_parser_free(p);
	}
}

/* An <Error> document where a listing was expected. */
static int error_document(const char *what, const char *body, size_t len, s3i_errinfo *err)
{
	s3i_aws_error_body eb;
	s3i_aws_error_parse(&eb, 200, NULL, body, len);
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s: the answer is an error document: %s%s%s", what, eb.code,
		eb.message[0] ? ": " : "", eb.message);
	int code = s3i_aws_error_status(200, eb.code);
	return s3i_err_aws(err, code == S3I_EAWS ? S3I_ESERVICE : code, 200, eb.code, eb.request_id,
		what, msg);
}

typedef struct list_parse {
	const char *what;
	s3i_errinfo *err;
	int versions;
	int decode;
	s3i_s3_object_fn obj_fn;
	s3i_s3_version_fn ver_fn;
	s3i_s3_prefix_fn prefix_fn;
	void *payload;
	s3i_s3_list_page *page;
	/* the entry being read */
	s3i_buf key, version_id, etag, storage_class, owner_id, owner_name, prefix;
	int64_t size, last_modified_ms;
	int is_latest, have_key, have_prefix;
	int stopped;
} list_parse;

static void entry_clear(list_parse *lp)
{
	s3i_buf_clear(&lp->key);
	s3i_buf_clear(&lp->version_id);
	s3i_buf_clear(&lp->etag);
	s3i_buf_clear(&lp->storage_class);
	s3i_buf_clear(&lp->owner_id);
	s3i_buf_clear(&lp->owner_name);
	lp->size = lp->last_modified_ms = 0;
	lp->is_latest = lp->have_key = 0;
}

static int bad(list_parse *lp, const char *fmt, const char *a1, size_t n)
{
	char detail[200];
	snprintf(detail, sizeof(detail), fmt, (int)(n > 80 ? 80 : n), a1);
	s3i_str_one_line(detail, strlen(detail) + 1, detail);
	return s3i_err(lp->err, S3I_EPARSE, lp->what, "%s: entry %lld: %s", lp->what,
		(long long)(lp->page->entries + lp->page->prefixes + 1), detail);
}

/* A key or prefix: decoded when the page is url-encoded; a NUL byte is refused. */
static int put_name(list_parse *lp, s3i_buf *out, const char *text, size_t len, const char *field)
{
	s3i_buf_clear(out);
	int rc = lp->decode ? s3i_uri_decode(out, text, len, 1) : s3i_buf_put(out, text, len);
	if (rc)
		return s3i_err(lp->err, rc, lp->what, "%s: out of memory", lp->what);
	if (!out->ptr && (rc = s3i_buf_grow(out, 0)))
		return s3i_err(lp->err, rc, lp->what, "%s: out of memory", lp->what);
	if (strlen(out->ptr) != out->size)
		return bad(lp, "the %.*s holds a NUL byte", field, strlen(field));
	/* S3 keys and common prefixes are never empty; a marker may be */
	if (!out->size && (!strcmp(field, "Key") || !strcmp(field, "Prefix")))
		return bad(lp, "an empty %.*s", field, strlen(field));
	return S3I_OK;
}

static int put_text(list_parse *lp, s3i_buf *out, const char *text, size_t len)
{
	s3i_buf_clear(out);
	int rc = s3i_buf_put(out, text, len);
	return rc ? s3i_err(lp->err, rc, lp->what, "%s: out of memory", lp->what) : S3I_OK;
}

/* The fields Contents, Version and DeleteMarker share. */
static int entry_field(list_parse *lp, const char *name, const char *text, size_t len)
{
	if (!strcmp(name, "Key")) {
		lp->have_key = 1;
		return put_name(lp, &lp->key, text, len, "Key");
	}
	if (!strcmp(name, "Size")) {
		if (parse_size(text, len, &lp->size))
			return bad(lp, "Size '%.*s' is not a byte count", text, len);
		return S3I_OK;
	}
	if (!strcmp(name, "LastModified")) {
		if (s3i_time_parse_iso8601(text, &lp->last_modified_ms))
			return bad(lp, "LastModified '%.*s' is not an ISO 8601 time", text, len);
		return S3I_OK;
	}
	if (!strcmp(name, "ETag")) {
		s3i_buf_clear(&lp->etag);
		if (len >= 2 && text[0] == '"' && text[len - 1] == '"')
			return put_text(lp, &lp->etag, text + 1, len - 2);
		return put_text(lp, &lp->etag, text, len);
	}
	if (!strcmp(name, "StorageClass"))
		return put_text(lp, &lp->storage_class, text, len);
	if (!strcmp(name, "VersionId"))
		return put_text(lp, &lp->version_id, text, len);
	if (!strcmp(name, "IsLatest")) {
		if (parse_bool(text, len, &lp->is_latest))
			return bad(lp, "IsLatest '%.*s' is not true or false", text, len);
		return S3I_OK;
	}
	return S3I_OK;
}

static int emit_entry(list_parse *lp, int delete_marker)
{
	if (!lp->have_key)
		return bad(lp, "%.*s has no Key", delete_marker ? "DeleteMarker" : "the entry", 16);
	int stop;
	if (lp->versions) {
		s3i_s3_version_info v = { sizeof(v), s3i_buf_cstr(&lp->key), s3i_buf_cstr(&lp->version_id),
			lp->is_latest, delete_marker, delete_marker ? 0 : lp->size, lp->last_modified_ms,
			delete_marker ? "" : s3i_buf_cstr(&lp->etag),
			delete_marker ? "" : s3i_buf_cstr(&lp->storage_class), s3i_buf_cstr(&lp->owner_id),
			s3i_buf_cstr(&lp->owner_name) };
		stop = lp->ver_fn ? lp->ver_fn(lp->payload, &v) : 0;
	} else {
		s3i_s3_object_info o = { sizeof(o), s3i_buf_cstr(&lp->key), lp->size,
			lp->last_modified_ms, s3i_buf_cstr(&lp->etag), s3i_buf_cstr(&lp->storage_class),
			s3i_buf_cstr(&lp->owner_id), s3i_buf_cstr(&lp->owner_name) };
		stop = lp->obj_fn ? lp->obj_fn(lp->payload, &o) : 0;
	}
	lp->page->entries++;
	entry_clear(lp);
	if (stop) {
		lp->stopped = 1;
		return s3i_err(lp->err, S3I_EUSER, lp->what, "%s: stopped by the callback", lp->what);
	}
	return S3I_OK;
}

static int list_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	list_parse *lp = user;
	if (depth == 2) {
		entry_clear(lp);
		lp->have_prefix = 0;
		s3i_buf_clear(&lp->prefix);
	}
	(void)name;
	return S3I_OK;
}

static int list_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	list_parse *lp = user;
	s3i_s3_list_page *pg = lp->page;
	const char *entry = lp->versions ? NULL : "Contents";
	if (depth == 3) {
		if ((entry && parent_is(path, name, entry)) || (lp->versions &&
			(parent_is(path, name, "Version") || parent_is(path, name, "DeleteMarker"))))
			return entry_field(lp, name, text, len);
		if (parent_is(path, name, "CommonPrefixes") && !strcmp(name, "Prefix")) {
			lp->have_prefix = 1;
			return put_name(lp, &lp->prefix, text, len, "Prefix");
		}
		return S3I_OK;
	}
	if (depth == 4 && (parent_is(path, name, "Owner"))) {
		if (!strcmp(name, "ID"))
			return put_text(lp, &lp->owner_id, text, len);
		if (!strcmp(name, "DisplayName"))
			return put_text(lp, &lp->owner_name, text, len);
		return S3I_OK;
	}
	if (depth != 2)
		return S3I_OK;
	if ((entry && !strcmp(name, entry)) || (lp->versions && !strcmp(name, "Version")))
		return emit_entry(lp, 0);
	if (lp->versions && !strcmp(name, "DeleteMarker"))
		return emit_entry(lp, 1);
	if (!strcmp(name, "CommonPrefixes")) {
		if (!lp->have_prefix)
			return bad(lp, "%.*s has no Prefix", "CommonPrefixes", 14);
		pg->prefixes++;
		if (lp->prefix_fn && lp->prefix_fn(lp->payload, s3i_buf_cstr(&lp->prefix))) {
			lp->stopped = 1;
			return s3i_err(lp->err, S3I_EUSER, lp->what, "%s: stopped by the callback", lp->what);
		}
		return S3I_OK;
	}
	if (!strcmp(name, "IsTruncated")) {
		if (parse_bool(text, len, &pg->truncated))
			return bad(lp, "IsTruncated '%.*s' is not true or false", text, len);
		return S3I_OK;
	}
	if (!lp->versions && !strcmp(name, "NextContinuationToken"))
		return put_text(lp, &pg->next_token, text, len);
	if (lp->versions && !strcmp(name, "NextKeyMarker"))
		return put_name(lp, &pg->next_key_marker, text, len, "NextKeyMarker");
	if (lp->versions && !strcmp(name, "NextVersionIdMarker"))
		return put_text(lp, &pg->next_version_id_marker, text, len);
	return S3I_OK;
}

static int parse_listing(const s3i_allocator *a, const char *body, size_t len, const char *what,
	list_parse *lp, s3i_s3_list_page *page, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = lp->versions ? "ListObjectVersions" : "ListObjectsV2";
	page_reset(page);
	body = skip_space(body, &len);
	prescan ps;
	run_prescan(a, body, len, &ps);
	if (!strcmp(ps.root, "Error"))
		return error_document(what, body, len, err);
	lp->what = what;
	lp->err = err;
	lp->page = page;
	lp->decode = page->url_encoded = ps.url;
	s3i_buf *bufs[] = { &lp->key, &lp->version_id, &lp->etag, &lp->storage_class, &lp->owner_id,
		&lp->owner_name, &lp->prefix };
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		s3i_buf_init(bufs[i], a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, list_start, list_end, lp, err);
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		s3i_buf_dispose(bufs[i]);
	if (rc == S3I_EUSER && lp->stopped)
		return S3I_EUSER;
	if (rc) {
		if (rc == S3I_EPARSE && strncmp(err->message, what, strlen(what)))
			s3i_err_prefix(err, "%s: ", what);
		return rc;
	}
	if (page->truncated && !lp->versions && !page->next_token.size)
		return s3i_err(err, S3I_EPARSE, what, "%s: a truncated page without "
			"NextContinuationToken", what);
	if (page->truncated && lp->versions && !page->next_key_marker.size)
		return s3i_err(err, S3I_EPARSE, what, "%s: a truncated page without NextKeyMarker", what);
	return S3I_OK;
}

int s3i_s3_parse_list_objects(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_object_fn fn, s3i_s3_prefix_fn prefix_fn, void *payload,
	s3i_s3_list_page *page, s3i_errinfo *err)
{
	list_parse lp = { .obj_fn = fn, .prefix_fn = prefix_fn, .payload = payload };
	return parse_listing(a, body, len, what, &lp, page, err);
}

int s3i_s3_parse_list_versions(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_version_fn fn, s3i_s3_prefix_fn prefix_fn, void *payload,
	s3i_s3_list_page *page, s3i_errinfo *err)
{
	list_parse lp = { .versions = 1, .ver_fn = fn, .prefix_fn = prefix_fn, .payload = payload };
	return parse_listing(a, body, len, what, &lp, page, err);
}

/* ---- listing operations ---- */

static int list_params(s3i_params *q, int versions, const s3i_s3_list_options *o)
{
	int rc = versions ? s3i_params_add(q, "versions", NULL) : s3i_params_add(q, "list-type", "2");
	if (!rc)
		rc = s3i_params_add(q, "encoding-type", "url");
	if (!rc && o->prefix && *o->prefix)
		rc = s3i_params_add(q, "prefix", o->prefix);
	if (!rc && o->delimiter && *o->delimiter)
		rc = s3i_params_add(q, "delimiter", o->delimiter);
	if (!rc && o->max_keys > 0)
		rc = s3i_params_addf(q, "max-keys", "%d", (int)o->max_keys);
	if (versions) {
		if (!rc && o->key_marker && *o->key_marker)
			rc = s3i_params_add(q, "key-marker", o->key_marker);
		if (!rc && o->key_marker && *o->key_marker && o->version_id_marker && *o->version_id_marker)
			rc = s3i_params_add(q, "version-id-marker", o->version_id_marker);
	} else {
		if (!rc && o->fetch_owner)
			rc = s3i_params_add(q, "fetch-owner", "true");
		/* S3 starts after the token's key; start-after only matters on the first page */
		if (!rc && o->continuation_token && *o->continuation_token)
			rc = s3i_params_add(q, "continuation-token", o->continuation_token);
		else if (!rc && o->start_after && *o->start_after)
			rc = s3i_params_add(q, "start-after", o->start_after);
	}
	return rc;
}

static int list_page(const s3i_svc *svc, const char *bucket, const s3i_s3_list_options *opts,
	int versions, s3i_s3_object_fn obj_fn, s3i_s3_version_fn ver_fn, void *payload,
	s3i_s3_list_page *page, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = versions ? "ListObjectVersions" : "ListObjectsV2";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;
	if (opts)
		o = *opts;
	char res[600], what[700];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	snprintf(what, sizeof(what), "%s on %s", op, res);
	if (o.max_keys < 0)
		return s3i_err(err, S3I_EINVALID, res, "%s: max_keys %d is negative", what, (int)o.max_keys);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params q;
	s3i_params_init(&q, a);
	if ((rc = list_params(&q, versions, &o))) {
		s3i_params_free(&q);
		return s3i_err(err, rc, res, "%s: out of memory", what);
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_call call = { .operation = op, .method = "GET", .bucket = bucket, .params = &q,
		.resource = res };
	rc = s3i_s3_run(svc, &call, &resp, err);
	s3i_params_free(&q);
	if (!rc && versions)
		rc = s3i_s3_parse_list_versions(a, resp.body.ptr, resp.body.size, what, ver_fn,
			o.prefix_fn, payload, page, err);
	else if (!rc)
		rc = s3i_s3_parse_list_objects(a, resp.body.ptr, resp.body.size, what, obj_fn,
			o.prefix_fn, payload, page, err);
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_list_objects_page_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_object_fn fn, void *payload, s3i_s3_list_page *page,
	s3i_errinfo *err)
{
	return list_page(svc, bucket, opts, 0, fn, NULL, payload, page, err);
}

int s3i_s3_list_object_versions_page_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_version_fn fn, void *payload, s3i_s3_list_page *page,
	s3i_errinfo *err)
{
	return list_page(svc, bucket, opts, 1, NULL, fn, payload, page, err);
}

/* Every page, carrying the markers forward. */
static int list_all(const s3i_svc *svc, const char *bucket, const s3i_s3_list_options *opts,
	int versions, s3i_s3_object_fn obj_fn, s3i_s3_version_fn ver_fn, void *payload,
	s3i_errinfo *err)
{
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;
	if (opts)
		o = *opts;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_client_alloc(svc->client));
	/* the markers of the next request live in one of two pages at a time */
	s3i_s3_list_page prev;
	s3i_s3_list_page_init(&prev, s3i_client_alloc(svc->client));
	int rc;
	for (;;) {
		rc = list_page(svc, bucket, &o, versions, obj_fn, ver_fn, payload, &page, err);
		if (rc || !page.truncated)
			break;
		s3i_s3_list_page t = prev;
		prev = page;
		page = t;
		o.continuation_token = s3i_buf_cstr(&prev.next_token);
		o.key_marker = s3i_buf_cstr(&prev.next_key_marker);
		o.version_id_marker = s3i_buf_cstr(&prev.next_version_id_marker);
	}
	s3i_s3_list_page_free(&page);
	s3i_s3_list_page_free(&prev);
	return rc;
}

int s3i_s3_list_objects_v2_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_object_fn fn, void *payload, s3i_errinfo *err)
{
	return list_all(svc, bucket, opts, 0, fn, NULL, payload, err);
}

int s3i_s3_list_objects_op(const s3i_svc *svc, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload, s3i_errinfo *err)
{
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;
	o.prefix = prefix;
	return list_all(svc, bucket, &o, 0, fn, NULL, payload, err);
}

int s3i_s3_list_object_versions_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_version_fn fn, void *payload, s3i_errinfo *err)
{
	return list_all(svc, bucket, opts, 1, NULL, fn, payload, err);
}

/* ---- DeleteObjects ---- */

typedef struct delete_parse {
	const char *what;
	s3i_errinfo *err;
	s3i_s3_delete_error_fn on_error;
	s3i_s3_deleted_fn on_deleted;
	void *payload;
	s3i_s3_delete_stats *stats;
	s3i_buf key, version_id, code, message, marker_version;
	int delete_marker, have_key;
	int stopped;
} delete_parse;

static int del_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	(void)name;
	delete_parse *dp = user;
	if (depth == 2) {
		s3i_buf_clear(&dp->key);
		s3i_buf_clear(&dp->version_id);
		s3i_buf_clear(&dp->code);
		s3i_buf_clear(&dp->message);
		s3i_buf_clear(&dp->marker_version);
		dp->delete_marker = dp->have_key = 0;
	}
	return S3I_OK;
}

static int del_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	delete_parse *dp = user;
	int rc = S3I_OK;
	if (depth == 3 && (parent_is(path, name, "Deleted") || parent_is(path, name, "Error"))) {
		if (!strcmp(name, "Key")) {
			dp->have_key = 1;
			rc = s3i_buf_put(&dp->key, text, len);
			if (!rc && !dp->key.ptr)
				rc = s3i_buf_grow(&dp->key, 0);
		} else if (!strcmp(name, "VersionId")) {
			rc = s3i_buf_put(&dp->version_id, text, len);
		} else if (!strcmp(name, "Code")) {
			rc = s3i_buf_put(&dp->code, text, len);
		} else if (!strcmp(name, "Message")) {
			rc = s3i_buf_put(&dp->message, text, len);
		} else if (!strcmp(name, "DeleteMarkerVersionId")) {
			rc = s3i_buf_put(&dp->marker_version, text, len);
		} else if (!strcmp(name, "DeleteMarker")) {
			if (parse_bool(text, len, &dp->delete_marker)) {
				char v[48];
				snprintf(v, sizeof(v), "%.*s", (int)(len > 40 ? 40 : len), text);
				return s3i_err(dp->err, S3I_EPARSE, dp->what, "%s: DeleteMarker '%s' is not "
					"true or false", dp->what, s3i_str_one_line(v, strlen(v) + 1, v));
			}
		}
		return rc ? s3i_err(dp->err, rc, dp->what, "%s: out of memory", dp->what) : S3I_OK;
	}
	if (depth != 2 || (strcmp(name, "Deleted") && strcmp(name, "Error")))
		return S3I_OK;
	int is_error = !strcmp(name, "Error");
	/* a key with a NUL byte cannot have been sent; such an answer is not ours */
	if (!dp->have_key || !dp->key.size || strlen(dp->key.ptr) != dp->key.size)
		return s3i_err(dp->err, S3I_EPARSE, dp->what, "%s: a <%s> entry without a usable Key",
			dp->what, name);
	int stop = 0;
	if (is_error) {
		if (!dp->code.size) {
			char k[220];
			snprintf(k, sizeof(k), "%.200s", dp->key.ptr);
			return s3i_err(dp->err, S3I_EPARSE, dp->what, "%s: the <Error> for key '%s' has "
				"no Code", dp->what, s3i_str_one_line(k, strlen(k) + 1, k));
		}
		if (dp->stats)
			dp->stats->failed++;
		s3i_s3_delete_error e = { sizeof(e), s3i_buf_cstr(&dp->key),
			s3i_buf_cstr(&dp->version_id), s3i_buf_cstr(&dp->code), s3i_buf_cstr(&dp->message) };
		stop = dp->on_error ? dp->on_error(dp->payload, &e) : 0;
	} else {
		if (dp->stats)
			dp->stats->deleted++;
		s3i_s3_deleted d = { s3i_buf_cstr(&dp->key), s3i_buf_cstr(&dp->version_id),
			dp->delete_marker, s3i_buf_cstr(&dp->marker_version) };
		stop = dp->on_deleted ? dp->on_deleted(dp->payload, &d) : 0;
	}
	if (stop) {
		dp->stopped = 1;
		return s3i_err(dp->err, S3I_EUSER, dp->what, "%s: stopped by the callback", dp->what);
	}
	return S3I_OK;
}

int s3i_s3_parse_delete_result(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_delete_error_fn on_error, s3i_s3_deleted_fn on_deleted,
	void *payload, s3i_s3_delete_stats *stats, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "DeleteObjects";
	body = skip_space(body, &len);
	prescan ps;
	run_prescan(a, body, len, &ps);
	if (!strcmp(ps.root, "Error"))
		return error_document(what, body, len, err);
	delete_parse dp = { .what = what, .err = err, .on_error = on_error, .on_deleted = on_deleted,
		.payload = payload, .stats = stats };
	s3i_buf *bufs[] = { &dp.key, &dp.version_id, &dp.code, &dp.message, &dp.marker_version };
	for (size_t i = 0; i < 5; i++)
		s3i_buf_init(bufs[i], a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, del_start, del_end, &dp, err);
	for (size_t i = 0; i < 5; i++)
		s3i_buf_dispose(bufs[i]);
	if (rc && rc != S3I_EUSER && rc != S3I_ENOMEM && strncmp(err->message, what, strlen(what)))
		s3i_err_prefix(err, "%s: ", what);
	return rc;
}

static int delete_body(s3i_buf *b, const s3i_s3_object_id *objs, size_t n, int quiet)
{
	int rc = s3i_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\""
		S3_XMLNS "\">%s", quiet ? "<Quiet>true</Quiet>" : "");
	for (size_t i = 0; i < n && !rc; i++) {
		rc = s3i_buf_puts(b, "<Object>");
		if (!rc)
			rc = s3i_xml_element(b, "Key", objs[i].key);
		if (!rc && objs[i].version_id && *objs[i].version_id)
			rc = s3i_xml_element(b, "VersionId", objs[i].version_id);
		if (!rc)
			rc = s3i_buf_puts(b, "</Object>");
	}
	if (!rc)
		rc = s3i_buf_puts(b, "</Delete>");
	return rc;
}

/* The first failure is remembered whole, so the final message can name it. */
typedef struct delete_run {
	s3i_s3_delete_error_fn on_error;
	void *payload;
	char key[600], version_id[140], code[128], message[300];
	int have_first;
} delete_run;

static int delete_on_error(void *user, const s3i_s3_delete_error *e)
{
	delete_run *dr = user;
	if (!dr->have_first) {
		dr->have_first = 1;
		snprintf(dr->key, sizeof(dr->key), "%s", e->key);
		snprintf(dr->version_id, sizeof(dr->version_id), "%s", e->version_id);
		snprintf(dr->code, sizeof(dr->code), "%s", e->code);
		snprintf(dr->message, sizeof(dr->message), "%s", e->message);
		s3i_str_one_line(dr->version_id, strlen(dr->version_id) + 1, dr->version_id);
		s3i_str_one_line(dr->code, strlen(dr->code) + 1, dr->code);
		s3i_str_one_line(dr->message, strlen(dr->message) + 1, dr->message);
	}
	return dr->on_error ? dr->on_error(dr->payload, e) : 0;
}

int s3i_s3_delete_objects_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_object_id *objects, size_t count, int quiet, s3i_s3_delete_error_fn on_error,
	s3i_s3_deleted_fn on_deleted, void *payload, s3i_s3_delete_stats *stats, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	s3i_s3_delete_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	int rc = s3i_s3_check_names("DeleteObjects", bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[600], what[700];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	snprintf(what, sizeof(what), "DeleteObjects on %s", res);
	if (count && !objects)
		return s3i_err(err, S3I_EINVALID, res, "%s: no objects given", what);
	for (size_t i = 0; i < count; i++)
		if (!objects[i].key || !*objects[i].key)
			return s3i_err(err, S3I_EINVALID, res, "%s: object %zu has an empty key", what, i);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_params q;
	s3i_params_init(&q, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	delete_run dr = { .on_error = on_error, .payload = payload };
	if ((rc = s3i_params_add(&q, "delete", NULL)))
		rc = s3i_err(err, rc, res, "%s: out of memory", what);
	for (size_t at = 0; !rc && at < count; at += S3I_S3_DELETE_BATCH) {
		size_t n = count - at < S3I_S3_DELETE_BATCH ? count - at : S3I_S3_DELETE_BATCH;
		s3i_buf_clear(&body);
		if ((rc = delete_body(&body, objects + at, n, quiet))) {
			rc = s3i_err(err, rc, res, "%s: out of memory", what);
			break;
		}
		/* requestChecksumRequired in botocore's model: AWS refuses the call without it */
		s3i_call call = { .operation = "DeleteObjects", .method = "POST", .bucket = bucket,
			.params = &q, .resource = res, .body = body.ptr, .body_len = body.size,
			.content_type = "application/xml", .content_md5 = 1 };
		stats->requests++;
		if ((rc = s3i_s3_run(svc, &call, &resp, err)))
			break;
		rc = s3i_s3_parse_delete_result(a, resp.body.ptr, resp.body.size, what, delete_on_error,
			on_deleted, &dr, stats, err);
	}
	if (!rc && stats->failed) {
		int code = s3i_aws_error_status(0, dr.code);
		char key_res[RES_MAX], msg[1024];
		s3i_s3_describe(key_res, sizeof(key_res), bucket, dr.key);
		snprintf(msg, sizeof(msg), "%.300s: %lld of %zu keys were not deleted; the first, %.300s%s%.100s%s: "
			"%.100s%s%.100s", what, (long long)stats->failed, count, key_res,
			dr.version_id[0] ? " (version " : "", dr.version_id, dr.version_id[0] ? ")" : "",
			dr.code, dr.message[0] ? ": " : "", dr.message);
		rc = s3i_err_aws(err, code, 200, dr.code, s3i_headers_get(&resp.headers,
			"x-amz-request-id"), key_res, msg);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&q);
	s3i_buf_dispose(&body);
	return rc;
}

/* ---- object tagging ---- */

/* Characters (code points) of valid UTF-8, or -1 when it is not valid. */
static long utf8_chars(const char *s)
{
	size_t len = strlen(s);
	if (!s3i_utf8_valid(s, len))
		return -1;
	long n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

int s3i_s3_tagging_body(s3i_buf *out, const s3i_s3_tag *tags, size_t count, const char *what,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (count > S3I_S3_MAX_OBJECT_TAGS)
		return s3i_err(err, S3I_EINVALID, "tags", "%s: %zu tags; S3 keeps at most %d on an "
			"object", what, count, S3I_S3_MAX_OBJECT_TAGS);
	if (count && !tags)
		return s3i_err(err, S3I_EINVALID, "tags", "%s: no tags given", what);
	for (size_t i = 0; i < count; i++) {
		const char *k = tags[i].key, *v = tags[i].value ? tags[i].value : "";
		long kn = k ? utf8_chars(k) : 0, vn = utf8_chars(v);
		if (!k || !*k)
			return s3i_err(err, S3I_EINVALID, "tags", "%s: tag %zu has an empty key", what, i);
		char shown[160];
		snprintf(shown, sizeof(shown), "%s", k);
		s3i_str_one_line(shown, strlen(shown) + 1, shown);
		if (kn < 0 || kn > 128)
			return s3i_err(err, S3I_EINVALID, shown, "%s: tag %zu key '%s' is %s", what, i,
				shown, kn < 0 ? "not valid UTF-8" : "longer than 128 characters");
		if (vn < 0 || vn > 256)
			return s3i_err(err, S3I_EINVALID, shown, "%s: the value of tag '%s' is %s", what,
				shown, vn < 0 ? "not valid UTF-8" : "longer than 256 characters");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(tags[j].key, k))
				return s3i_err(err, S3I_EINVALID, shown, "%s: tag key '%s' given twice", what,
					shown);
	}
	int rc = s3i_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Tagging xmlns=\""
		S3_XMLNS "\"><TagSet>");
	for (size_t i = 0; i < count && !rc; i++) {
		rc = s3i_buf_puts(out, "<Tag>");
		if (!rc)
			rc = s3i_xml_element(out, "Key", tags[i].key);
		if (!rc)
			rc = s3i_xml_element(out, "Value", tags[i].value ? tags[i].value : "");
		if (!rc)
			rc = s3i_buf_puts(out, "</Tag>");
	}
	if (!rc)
		rc = s3i_buf_puts(out, "</TagSet></Tagging>");
	if (rc)
		return s3i_err(err, rc, "tags", "%s: out of memory", what);
	return S3I_OK;
}

int s3i_s3_put_object_tagging_op(const s3i_svc *svc, const char *bucket, const char *key,
	const char *version_id, const s3i_s3_tag *tags, size_t count, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc = s3i_s3_check_names("PutObjectTagging", bucket, key, 1, err);
	if (rc)
		return rc;
	char res[RES_MAX], what[RES_MAX + 40];
	s3i_s3_describe(res, sizeof(res), bucket, key);
	snprintf(what, sizeof(what), "PutObjectTagging on %s", res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_params q;
	s3i_params_init(&q, a);
	if ((rc = s3i_s3_tagging_body(&body, tags, count, what, err)))
		goto out;
	if ((rc = s3i_params_add(&q, "tagging", NULL)) || (version_id && *version_id &&
		(rc = s3i_params_add(&q, "versionId", version_id)))) {
		rc = s3i_err(err, rc, res, "%s: out of memory", what);
		goto out;
	}
	if (!count) {
		/* No tags at all: DeleteObjectTagging, the call S3 has for it (an empty TagSet is
		 * what some S3 implementations, moto among them, fail on) */
		s3i_call call = { .operation = "DeleteObjectTagging", .method = "DELETE",
			.bucket = bucket, .key = key, .params = &q, .resource = res };
		rc = simple(svc, &call, err);
		goto out;
	}
	/* requestChecksumRequired in botocore's model: AWS refuses the call without it */
	s3i_call call = { .operation = "PutObjectTagging", .method = "PUT", .bucket = bucket,
		.key = key, .params = &q, .resource = res, .body = body.ptr, .body_len = body.size,
		.content_type = "application/xml", .content_md5 = 1 };
	rc = simple(svc, &call, err);
out:
	s3i_params_free(&q);
	s3i_buf_dispose(&body);
	return rc;
}

/* GetObjectTagging's answer, streamed: a Tag's Key and Value are collected, the tag handed on
 * when its </Tag> closes. */
typedef struct tagging_parse {
	const char *what;
	s3i_errinfo *err;
	s3i_s3_tag_fn fn;
	void *payload;
	s3i_buf key, value;
	int have_key, have_value;
	int stopped_with;   /* fn's non-zero value */
} tagging_parse;

#define TAG_PATH "Tagging/TagSet/Tag"

static int tag_start(void *user, const char *path, const char *name, int depth)
{
	(void)name;
	tagging_parse *tp = user;
	if (depth == 3 && !strcmp(path, TAG_PATH)) {
		s3i_buf_clear(&tp->key);
		s3i_buf_clear(&tp->value);
		tp->have_key = tp->have_value = 0;
	}
	return S3I_OK;
}

static int tag_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	tagging_parse *tp = user;
	if (depth == 4 && !strncmp(path, TAG_PATH "/", sizeof(TAG_PATH)) &&
		(!strcmp(name, "Key") || !strcmp(name, "Value"))) {
		int is_key = name[0] == 'K';
		int *have = is_key ? &tp->have_key : &tp->have_value;
		if (*have)
			return s3i_err(tp->err, S3I_EPARSE, tp->what, "%s: a <Tag> with two <%s> elements",
				tp->what, name);
		*have = 1;
		s3i_buf *b = is_key ? &tp->key : &tp->value;
		int rc = s3i_buf_put(b, text, len);
		if (!rc && !b->ptr)
			rc = s3i_buf_grow(b, 0);
		return rc ? s3i_err(tp->err, rc, tp->what, "%s: out of memory", tp->what) : S3I_OK;
	}
	if (depth != 3 || strcmp(path, TAG_PATH))
		return S3I_OK;
	/* a key with a NUL byte cannot be handed on as a C string; such an answer is not S3's */
	if (!tp->have_key || !tp->key.size || strlen(tp->key.ptr) != tp->key.size)
		return s3i_err(tp->err, S3I_EPARSE, tp->what, "%s: a <Tag> without a usable Key",
			tp->what);
	const char *value = s3i_buf_cstr(&tp->value);
	if (strlen(value) != tp->value.size) {
		char k[220];
		snprintf(k, sizeof(k), "%.200s", tp->key.ptr);
		return s3i_err(tp->err, S3I_EPARSE, tp->what, "%s: the value of tag '%s' holds a NUL "
			"byte", tp->what, s3i_str_one_line(k, strlen(k) + 1, k));
	}
	int stop = tp->fn(tp->payload, tp->key.ptr, value);
	if (stop) {
		tp->stopped_with = stop;
		return s3i_err(tp->err, S3I_EUSER, tp->what, "%s: stopped by the callback", tp->what);
	}
	return S3I_OK;
}

int s3i_s3_parse_tagging(const s3i_allocator *a, const char *body, size_t len, const char *what,
	s3i_s3_tag_fn fn, void *payload, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "GetObjectTagging";
	body = skip_space(body, &len);
	prescan ps;
	run_prescan(a, body, len, &ps);
	if (!strcmp(ps.root, "Error"))
		return error_document(what, body, len, err);
	if (ps.root[0] && strcmp(ps.root, "Tagging")) {
		char root[40];
		snprintf(root, sizeof(root), "%s", ps.root);
		return s3i_err(err, S3I_EPARSE, what, "%s: the answer is a <%s> document, not "
			"<Tagging>", what, s3i_str_one_line(root, strlen(root) + 1, root));
	}
	tagging_parse tp = { .what = what, .err = err, .fn = fn, .payload = payload };
	s3i_buf_init(&tp.key, a);
	s3i_buf_init(&tp.value, a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, tag_start, tag_end, &tp, err);
	s3i_buf_dispose(&tp.key);
	s3i_buf_dispose(&tp.value);
	if (tp.stopped_with)
		return tp.stopped_with;
	if (rc && rc != S3I_EUSER && rc != S3I_ENOMEM && strncmp(err->message, what, strlen(what)))
		s3i_err_prefix(err, "%s: ", what);
	return rc;
}

int s3i_s3_get_object_tagging_op(const s3i_svc *svc, const char *bucket, const char *key,
	const char *version_id, s3i_s3_tag_fn fn, void *payload, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc = s3i_s3_check_names("GetObjectTagging", bucket, key, 1, err);
	if (rc)
		return rc;
	if (!fn)
		return s3i_err(err, S3I_EINVALID, "fn", "GetObjectTagging: the tag callback is NULL");
	int versioned = version_id && *version_id;
	char res[RES_MAX], what[RES_MAX + 40];
	s3i_s3_describe(res, sizeof(res), bucket, key);
	if (versioned) {
		/* the version is part of what was not found: name it */
		size_t n = strlen(res);
		snprintf(res + n, sizeof(res) - n, ", version '%.200s'", version_id);
		s3i_str_one_line(res, strlen(res) + 1, res);
	}
	snprintf(what, sizeof(what), "GetObjectTagging on %s", res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params q;
	s3i_params_init(&q, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if ((rc = s3i_params_add(&q, "tagging", NULL)) || (versioned &&
		(rc = s3i_params_add(&q, "versionId", version_id)))) {
		rc = s3i_err(err, rc, res, "%s: out of memory", what);
		goto out;
	}
	s3i_call call = { .operation = "GetObjectTagging", .method = "GET", .bucket = bucket,
		.key = key, .params = &q, .resource = res };
	if (!(rc = s3i_s3_run(svc, &call, &resp, err)))
		rc = s3i_s3_parse_tagging(a, resp.body.ptr, resp.body.size, what, fn, payload, err);
out:
	s3i_http_response_free(&resp);
	s3i_params_free(&q);
	return rc;
}

/* ---- small result documents ---- */

typedef struct result_parse {
	s3i_s3_result_doc *out;
	const char *what;
	s3i_errinfo *err;
	char root[64];
	int have_etag, have_upload_id;
} result_parse;

static int result_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	result_parse *rp = user;
	if (depth == 1)
		snprintf(rp->root, sizeof(rp->root), "%s", name);
	return S3I_OK;
}

static int result_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	(void)path;
	result_parse *rp = user;
	if (depth != 2 || !strcmp(rp->root, "Error"))
		return S3I_OK;
	if (!strcmp(name, "ETag")) {
		rp->have_etag = 1;
		s3i_s3_etag_copy(rp->out->etag, sizeof(rp->out->etag), text, len);
	} else if (!strcmp(name, "LastModified")) {
		if (s3i_time_parse_iso8601(text, &rp->out->last_modified_ms)) {
			char v[64];
			snprintf(v, sizeof(v), "%.*s", (int)(len > 60 ? 60 : len), text);
			return s3i_err(rp->err, S3I_EPARSE, rp->what, "%s: LastModified '%s' is not an "
				"ISO 8601 time", rp->what, s3i_str_one_line(v, strlen(v) + 1, v));
		}
	} else if (!strcmp(name, "UploadId")) {
		if (!len || len >= sizeof(rp->out->upload_id) || strlen(text) != len)
			return s3i_err(rp->err, S3I_EPARSE, rp->what, "%s: an UploadId of %zu bytes",
				rp->what, len);
		rp->have_upload_id = 1;
		memcpy(rp->out->upload_id, text, len + 1);
	}
	return S3I_OK;
}

int s3i_s3_parse_result(const s3i_allocator *a, const char *body, size_t len,
	s3i_s3_result_kind kind, const char *what, s3i_s3_result_doc *out, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = kind == S3I_S3_RESULT_INITIATE ? "CreateMultipartUpload"
			: kind == S3I_S3_RESULT_COMPLETE ? "CompleteMultipartUpload" : "CopyObject";
	memset(out, 0, sizeof(*out));
	body = skip_space(body, &len);
	if (!len)
		return s3i_err(err, S3I_EPARSE, what, "%s: the answer has an empty body", what);
	result_parse rp = { .out = out, .what = what, .err = err };
	int rc = s3i_xml_parse(a, body, len, result_start, result_end, &rp, err);
	if (rc) {
		memset(out, 0, sizeof(*out));
		if (rc == S3I_EPARSE && strncmp(err->message, what, strlen(what)))
			s3i_err_prefix(err, "%s: ", what);
		return rc;
	}
	if (!strcmp(rp.root, "Error")) {
		out->is_error = 1;
		s3i_aws_error_parse(&out->error, 200, NULL, body, len);
		return S3I_OK;
	}
	if (kind == S3I_S3_RESULT_INITIATE && !rp.have_upload_id)
		rc = s3i_err(err, S3I_EPARSE, what, "%s: the answer <%s> has no UploadId", what, rp.root);
	else if (kind != S3I_S3_RESULT_INITIATE && !rp.have_etag)
		rc = s3i_err(err, S3I_EPARSE, what, "%s: the answer <%s> has no ETag", what, rp.root);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- CopyObject ---- */

int s3i_s3_copy_single_op(const s3i_svc *svc, const char *src_bucket, const char *src_key,
	const char *dst_bucket, const char *dst_key, const s3i_s3_transfer_options *opts,
	s3i_s3_object_meta *meta, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc;
	if ((rc = s3i_s3_check_names("CopyObject", src_bucket, src_key, 1, err)) ||
		(rc = s3i_s3_check_names("CopyObject", dst_bucket, dst_key, 1, err)))
		return rc;
	char res[RES_MAX], src[RES_MAX / 2], dst[RES_MAX / 2];
	snprintf(res, sizeof(res), "%s (copied from %s)",
		s3i_s3_describe(dst, sizeof(dst), dst_bucket, dst_key),
		s3i_s3_describe(src, sizeof(src), src_bucket, src_key));
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf cs;
	s3i_buf_init(&cs, a);
	s3i_headers hdr;
	s3i_headers_init(&hdr, a);
	char if_match[140];
	s3i_s3_etag_quote(if_match, sizeof(if_match), opts ? opts->source_if_match : NULL);
	if ((rc = s3i_s3_copy_source(&cs, src_bucket, src_key, opts ? opts->source_version_id : NULL)) ||
		(rc = s3i_headers_add(&hdr, "x-amz-copy-source", cs.ptr)) ||
		(rc = s3i_headers_add(&hdr, "x-amz-metadata-directive", "COPY")) ||
		(if_match[0] && (rc = s3i_headers_add(&hdr, "x-amz-copy-source-if-match", if_match)))) {
		s3i_buf_dispose(&cs);
		s3i_headers_free(&hdr);
		return s3i_err(err, rc, res, "CopyObject on %s: out of memory", res);
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_call call = { .operation = "CopyObject", .method = "PUT", .bucket = dst_bucket,
		.key = dst_key, .headers = &hdr, .resource = res };
	s3i_s3_result_doc doc;
	for (int attempt = 1;; attempt++) {
		if ((rc = s3i_s3_run(svc, &call, &resp, err)))
			break;
		const char *body = resp.body.ptr;
		size_t len = resp.body.size;
		body = skip_space(body ? body : "", &len);
		if (!len) {
			rc = s3i_s3_embedded_error(&call, &resp, NULL, err);
		} else {
			if ((rc = s3i_s3_parse_result(a, body, len, S3I_S3_RESULT_COPY, "CopyObject", &doc, err))) {
				s3i_err_prefix(err, "CopyObject on %s: ", res);
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
		int64_t delay = s3i_client_backoff_ms(svc->client, attempt);
		s3i_log(s3i_client_logger(svc->client), S3I_LOG_WARN, "CopyObject attempt %d/%d "
			"answered 200 with an error (%s); retrying in %lld ms", attempt,
			S3I_S3_200_ERROR_ATTEMPTS, err->message, (long long)delay);
		s3i_client_sleep_ms(svc->client, delay);
	}
	if (!rc && meta) {
		s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
		meta_from_headers(&m, &resp.headers);
		m.content_type[0] = '\0';   /* the header describes the XML answer */
		snprintf(m.etag, sizeof(m.etag), "%s", doc.etag);
		m.last_modified_ms = doc.last_modified_ms;
		m.object_size = opts && opts->source_size > 0 ? opts->source_size : -1;
		*meta = m;
	}
	s3i_http_response_free(&resp);
	s3i_headers_free(&hdr);
	s3i_buf_dispose(&cs);
	return rc;
}

/* ---- public API on a context ---- */

static s3i_svc ctx_svc(s3i_ctx *ctx)
{
	s3i_svc s = { s3i_ctx_client(ctx), NULL, NULL };
	return s;
}

#define REQUIRE_CTX(ctx) \
	do { if (!(ctx)) return s3i_err(NULL, S3I_EINVALID, "ctx", "context is NULL"); } while (0)

/* Options structs from callers built against another header: copy what both know, the rest
 * stays at its zero default. */
#define COPY_OPTS(dst, src, type, first_field, name) \
	do { \
		if (src) { \
			if ((src)->struct_size < offsetof(type, first_field)) \
				return s3i_err(NULL, S3I_EINVALID, name, "%s.struct_size is %u; use its INIT " \
					"macro", name, (unsigned)(src)->struct_size); \
			memcpy(&(dst), (src), (src)->struct_size < sizeof(dst) ? (src)->struct_size : sizeof(dst)); \
		} \
	} while (0)

static void meta_out(s3i_s3_object_meta *out, const s3i_s3_object_meta *m)
{
	if (!out || out->struct_size < sizeof(uint32_t))
		return;
	uint32_t n = out->struct_size;
	memcpy(out, m, n < sizeof(*m) ? n : sizeof(*m));
	out->struct_size = n;
}

int s3i_s3_create_bucket(s3i_ctx *ctx, const char *bucket, const char *region)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_create_bucket_op(&s, bucket, region, s3i_errinfo_thread());
}

int s3i_s3_delete_bucket(s3i_ctx *ctx, const char *bucket)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_delete_bucket_op(&s, bucket, s3i_errinfo_thread());
}

int s3i_s3_put_object(s3i_ctx *ctx, const char *bucket, const char *key, const void *data, size_t len)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_put_object_op(&s, bucket, key, data, len, NULL, s3i_errinfo_thread());
}

typedef struct file_src {
	FILE *f;
} file_src;

static int file_read(void *user, char *buf, size_t cap, size_t *out_len)
{
	file_src *fs = user;
	*out_len = fread(buf, 1, cap, fs->f);
	return ferror(fs->f) ? S3I_EIO : S3I_OK;
}

static int file_rewind(void *user)
{
	file_src *fs = user;
	return fseeko(fs->f, 0, SEEK_SET) ? S3I_EIO : S3I_OK;
}

static int upload_file(s3i_ctx *ctx, const char *bucket, const char *key, const char *path,
	const s3i_s3_transfer_options *o, s3i_s3_object_meta *meta)
{
	if (!path)
		return s3i_err(NULL, S3I_EINVALID, "path", "file path is NULL");
	file_src fs = { fopen(path, "rb") };
	if (!fs.f)
		return s3i_err(NULL, S3I_EIO, path, "cannot open '%s': %s", path, strerror(errno));
	int64_t len = -1;
	if (fseeko(fs.f, 0, SEEK_END) == 0)
		len = (int64_t)ftello(fs.f);
	if (len < 0 || fseeko(fs.f, 0, SEEK_SET)) {
		fclose(fs.f);
		return s3i_err(NULL, S3I_EIO, path, "cannot size '%s': not a regular file", path);
	}
	s3i_svc s = ctx_svc(ctx);
	int rc = s3i_s3_upload_op(&s, bucket, key, len, o, meta, file_read, file_rewind, &fs,
		s3i_errinfo_thread());
	if (rc == S3I_EIO && ferror(fs.f))
		rc = s3i_err(NULL, S3I_EIO, path, "reading '%s' failed while uploading it to %s/%s",
			path, bucket, key);
	fclose(fs.f);
	return rc;
}

int s3i_s3_put_object_file(s3i_ctx *ctx, const char *bucket, const char *key, const char *path)
{
	REQUIRE_CTX(ctx);
	/* one PutObject carries at most 5 GiB; only a larger file needs parts */
	s3i_s3_transfer_options o = S3I_S3_TRANSFER_OPTIONS_INIT;
	o.multipart_threshold = (int64_t)5 << 30;
	return upload_file(ctx, bucket, key, path, &o, NULL);
}

int s3i_s3_upload_file(s3i_ctx *ctx, const char *bucket, const char *key, const char *path,
	const s3i_s3_transfer_options *opts, s3i_s3_object_meta *meta)
{
	REQUIRE_CTX(ctx);
	s3i_s3_transfer_options o = S3I_S3_TRANSFER_OPTIONS_INIT;
	COPY_OPTS(o, opts, s3i_s3_transfer_options, multipart_threshold, "s3i_s3_transfer_options");
	s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
	int rc = upload_file(ctx, bucket, key, path, &o, &m);
	if (!rc)
		meta_out(meta, &m);
	return rc;
}

int s3i_s3_upload(s3i_ctx *ctx, const char *bucket, const char *key, int64_t length,
	const s3i_s3_transfer_options *opts, s3i_s3_object_meta *meta, s3i_s3_read_fn read,
	s3i_s3_reset_fn rewind, void *payload)
{
	REQUIRE_CTX(ctx);
	if (!read)
		return s3i_err(NULL, S3I_EINVALID, "read", "upload source is NULL");
	s3i_s3_transfer_options o = S3I_S3_TRANSFER_OPTIONS_INIT;
	COPY_OPTS(o, opts, s3i_s3_transfer_options, multipart_threshold, "s3i_s3_transfer_options");
	s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
	s3i_svc s = ctx_svc(ctx);
	int rc = s3i_s3_upload_op(&s, bucket, key, length, &o, &m, read, rewind, payload,
		s3i_errinfo_thread());
	if (!rc)
		meta_out(meta, &m);
	return rc;
}

int s3i_s3_copy_object(s3i_ctx *ctx, const char *src_bucket, const char *src_key,
	const char *dst_bucket, const char *dst_key, const s3i_s3_transfer_options *opts,
	s3i_s3_object_meta *meta)
{
	REQUIRE_CTX(ctx);
	s3i_s3_transfer_options o = S3I_S3_TRANSFER_OPTIONS_INIT;
	COPY_OPTS(o, opts, s3i_s3_transfer_options, multipart_threshold, "s3i_s3_transfer_options");
	s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
	s3i_svc s = ctx_svc(ctx);
	int rc = s3i_s3_copy_object_op(&s, src_bucket, src_key, dst_bucket, dst_key, &o, &m,
		s3i_errinfo_thread());
	if (!rc)
		meta_out(meta, &m);
	return rc;
}

static int buf_sink(void *user, const char *data, size_t len) { return s3i_buf_put(user, data, len); }
static int buf_reset(void *user) { s3i_buf_clear(user); return S3I_OK; }

int s3i_s3_get_object(s3i_ctx *ctx, const char *bucket, const char *key, s3i_buf *out)
{
	REQUIRE_CTX(ctx);
	if (!out)
		return s3i_err(NULL, S3I_EINVALID, "out", "output buffer is NULL");
	s3i_buf_init(out, s3i_ctx_alloc(ctx));
	s3i_svc s = ctx_svc(ctx);
	int rc = s3i_s3_get_object_op(&s, bucket, key, buf_sink, buf_reset, out, s3i_errinfo_thread());
	if (rc)
		s3i_buf_dispose(out);
	else if (!out->ptr && (rc = s3i_buf_grow(out, 0)))
		rc = s3i_err(NULL, rc, key, "GetObject: out of memory");
	return rc;
}

int s3i_s3_get_object_to(s3i_ctx *ctx, const char *bucket, const char *key,
	const s3i_s3_get_options *opts, s3i_s3_object_meta *meta, s3i_s3_write_fn sink,
	s3i_s3_reset_fn reset, void *payload)
{
	REQUIRE_CTX(ctx);
	if (!sink)
		return s3i_err(NULL, S3I_EINVALID, "sink", "download sink is NULL");
	s3i_s3_get_options o = S3I_S3_GET_OPTIONS_INIT;
	COPY_OPTS(o, opts, s3i_s3_get_options, range_start, "s3i_s3_get_options");
	s3i_s3_object_meta m = S3I_S3_OBJECT_META_INIT;
	s3i_svc s = ctx_svc(ctx);
	int rc = s3i_s3_get_object_range_op(&s, bucket, key, &o, &m, sink, reset, payload,
		s3i_errinfo_thread());
	if (!rc)
		meta_out(meta, &m);
	return rc;
}

typedef struct file_sink {
	FILE *f;
} file_sink;

static int file_write(void *user, const char *data, size_t len)
{
	file_sink *fs = user;
	return fwrite(data, 1, len, fs->f) == len ? S3I_OK : S3I_EIO;
}

static int file_truncate(void *user)
{
	file_sink *fs = user;
	return fflush(fs->f) || ftruncate(fileno(fs->f), 0) || fseeko(fs->f, 0, SEEK_SET) ? S3I_EIO : S3I_OK;
}

int s3i_s3_get_object_file(s3i_ctx *ctx, const char *bucket, const char *key, const char *path)
{
	REQUIRE_CTX(ctx);
	if (!path)
		return s3i_err(NULL, S3I_EINVALID, "path", "file path is NULL");
	/* Write beside the target and rename at the end, so a failed download never leaves a
	 * truncated file under the real name. */
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.s3i-partial", path) >= sizeof(tmp))
		return s3i_err(NULL, S3I_EINVALID, path, "file path is too long");
	file_sink fs = { fopen(tmp, "wb") };
	if (!fs.f)
		return s3i_err(NULL, S3I_EIO, tmp, "cannot create '%s': %s", tmp, strerror(errno));
	s3i_svc s = ctx_svc(ctx);
	int rc = s3i_s3_get_object_op(&s, bucket, key, file_write, file_truncate, &fs, s3i_errinfo_thread());
	if (fclose(fs.f) && !rc)
		rc = s3i_err(NULL, S3I_EIO, tmp, "cannot write '%s': %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path))
		rc = s3i_err(NULL, S3I_EIO, path, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
	if (rc)
		remove(tmp);
	return rc;
}

int s3i_s3_delete_object(s3i_ctx *ctx, const char *bucket, const char *key)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_delete_object_op(&s, bucket, key, s3i_errinfo_thread());
}

int s3i_s3_delete_objects(s3i_ctx *ctx, const char *bucket, const s3i_s3_object_id *objects,
	size_t count, s3i_s3_delete_error_fn on_error, void *payload)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_delete_objects_op(&s, bucket, objects, count, 1, on_error, NULL, payload, NULL,
		s3i_errinfo_thread());
}

int s3i_s3_put_object_tagging(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *version_id, const s3i_s3_tag *tags, size_t count)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_put_object_tagging_op(&s, bucket, key, version_id, tags, count,
		s3i_errinfo_thread());
}

int s3i_s3_get_object_tagging(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *version_id, s3i_s3_tag_fn fn, void *payload)
{
	REQUIRE_CTX(ctx);
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_get_object_tagging_op(&s, bucket, key, version_id, fn, payload,
		s3i_errinfo_thread());
}

int s3i_s3_list_objects(s3i_ctx *ctx, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload)
{
	REQUIRE_CTX(ctx);
	if (!fn)
		return s3i_err(NULL, S3I_EINVALID, "fn", "listing callback is NULL");
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_list_objects_op(&s, bucket, prefix, fn, payload, s3i_errinfo_thread());
}

int s3i_s3_list_objects_v2(s3i_ctx *ctx, const char *bucket, const s3i_s3_list_options *opts,
	s3i_s3_object_fn fn, void *payload)
{
	REQUIRE_CTX(ctx);
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;
	COPY_OPTS(o, opts, s3i_s3_list_options, prefix, "s3i_s3_list_options");
	if (!fn && !o.prefix_fn)
		return s3i_err(NULL, S3I_EINVALID, "fn", "no listing callback");
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_list_objects_v2_op(&s, bucket, &o, fn, payload, s3i_errinfo_thread());
}

int s3i_s3_list_object_versions(s3i_ctx *ctx, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_version_fn fn, void *payload)
{
	REQUIRE_CTX(ctx);
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;
	COPY_OPTS(o, opts, s3i_s3_list_options, prefix, "s3i_s3_list_options");
	if (!fn && !o.prefix_fn)
		return s3i_err(NULL, S3I_EINVALID, "fn", "no listing callback");
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_list_object_versions_op(&s, bucket, &o, fn, payload, s3i_errinfo_thread());
}
