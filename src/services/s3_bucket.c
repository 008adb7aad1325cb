#include "services/s3_bucket.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"
#include "core/xml.h"
#include "services/s3.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define RES_MAX 1400
#define WHAT_MAX 1600

/* ------------------------------------------------------------------ shared helpers */

/* "inventory configuration 'id' of bucket 'b'", cut to fit. */
static const char *describe_inventory(char *buf, size_t cap, const char *bucket, const char *id)
{
	snprintf(buf, cap, "inventory configuration '%.300s' of bucket '%.300s'", id, bucket);
	return s3i_str_one_line(buf, strlen(buf) + 1, buf);
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

static int text_is(const char *text, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(text, word, len);
}

/* The part of `path` below its first `skip` elements ("" at that element itself). */
static const char *rel_path(const char *path, int skip)
{
	const char *p = path;
	for (int i = 0; i < skip; i++) {
		const char *slash = strchr(p, '/');
		if (!slash)
			return i + 1 == skip ? p + strlen(p) : NULL;
		p = slash + 1;
	}
	return p;
}

/* An <Error> document where a result was expected (S3 may answer so with a 200). */
static int error_document(const char *what, const char *body, size_t len, s3i_errinfo *err)
{
	s3i_aws_error_body eb;
	s3i_aws_error_parse(&eb, 200, NULL, body, len);
	char msg[1024];
	snprintf(msg, sizeof(msg), "%.500s: the answer is an error document: %.100s%s%.380s", what, eb.code,
		eb.message[0] ? ": " : "", eb.message);
	int code = s3i_aws_error_status(200, eb.code);
	return s3i_err_aws(err, code == S3I_EAWS ? S3I_ESERVICE : code, 200, eb.code, eb.request_id,
		what, s3i_str_one_line(msg, strlen(msg) + 1, msg));
}

/* After a failed s3i_xml_parse: make sure the message starts with `what`. */
static int parse_failed(int rc, const char *what, s3i_errinfo *err)
{
	if (rc == S3I_EPARSE && strncmp(err->message, what, strlen(what)))
		s3i_err_prefix(err, "%s: ", what);
	return rc;
}

/* Text of an element into a buffer (replacing what it held). */
static int set_text(s3i_buf *b, const char *text, size_t len)
{
	s3i_buf_clear(b);
	int rc = s3i_buf_put(b, text, len);
	if (!rc && !b->ptr)
		rc = s3i_buf_grow(b, 0);
	return rc;
}

/* Request bodies: the first failure sticks, later appends are skipped. */
typedef struct xb {
	s3i_buf *b;
	int rc;
} xb;

static void x_raw(xb *x, const char *s)
{
	if (!x->rc)
		x->rc = s3i_buf_puts(x->b, s);
}

static void x_el(xb *x, const char *name, const char *text)
{
	if (!x->rc)
		x->rc = s3i_xml_element(x->b, name, text);
}

static void x_bool(xb *x, const char *name, int v)
{
	x_el(x, name, v ? "true" : "false");
}

static void x_int(xb *x, const char *name, int64_t v)
{
	char n[24];
	snprintf(n, sizeof(n), "%lld", (long long)v);
	x_el(x, name, n);
}

static int empty(const char *s)
{
	return !s || !*s;
}

/* PUT a bucket sub-resource with an XML (or JSON) body. */
typedef struct put_req {
	const char *op;
	const char *bucket;
	const char *subresource;      /* "policy", "inventory", ... */
	const char *id;               /* ?id= (inventory), or NULL */
	const s3i_buf *body;
	const char *content_type;
	int content_md5;              /* the model says requestChecksumRequired */
	const char *resource;
	const s3i_headers *headers;
	const char *method;           /* NULL: PUT */
} put_req;

static int send_request(const s3i_svc *svc, const put_req *r, s3i_http_response *resp,
	s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params q;
	s3i_params_init(&q, a);
	int rc = s3i_params_add(&q, r->subresource, NULL);
	if (!rc && r->id)
		rc = s3i_params_add(&q, "id", r->id);
	if (rc) {
		s3i_params_free(&q);
		return s3i_err(err, rc, r->resource, "%s on %s: out of memory", r->op, r->resource);
	}
	s3i_call call = { .operation = r->op, .method = r->method ? r->method : "PUT",
		.bucket = r->bucket, .params = &q, .resource = r->resource, .headers = r->headers,
		.content_md5 = r->content_md5 };
	if (r->body) {
		call.body = r->body->ptr ? r->body->ptr : "";
		call.body_len = r->body->size;
		call.content_type = r->content_type ? r->content_type : "application/xml";
	}
	rc = s3i_s3_run(svc, &call, resp, err);
	s3i_params_free(&q);
	return rc;
}

static int send_simple(const s3i_svc *svc, const put_req *r, s3i_errinfo *err)
{
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	int rc = send_request(svc, r, &resp, err);
	s3i_http_response_free(&resp);
	return rc;
}

/* ------------------------------------------------------------------ ListBuckets */

void s3i_s3_bucket_page_init(s3i_s3_bucket_page *page, const s3i_allocator *a)
{
	memset(page, 0, sizeof(*page));
	s3i_buf_init(&page->next_token, a);
}

void s3i_s3_bucket_page_free(s3i_s3_bucket_page *page)
{
	const s3i_allocator *a = page->next_token.alloc;
	s3i_buf_dispose(&page->next_token);
	s3i_s3_bucket_page_init(page, a);
}

typedef struct buckets_parse {
	const char *what;
	s3i_errinfo *err;
	s3i_s3_bucket_fn fn;
	void *payload;
	s3i_s3_bucket_page *page;
	s3i_buf name, region, arn;
	int64_t creation_ms;
	int have_name;
	int is_error, stopped;
} buckets_parse;

static int buckets_bad(buckets_parse *bp, const char *fmt, const char *text, size_t len)
{
	char detail[240];
	snprintf(detail, sizeof(detail), fmt, (int)(len > 80 ? 80 : len), text);
	return s3i_err(bp->err, S3I_EPARSE, bp->what, "%s: bucket %lld: %s", bp->what,
		(long long)(bp->page->buckets + 1), s3i_str_one_line(detail, strlen(detail) + 1, detail));
}

static int buckets_start(void *user, const char *path, const char *name, int depth)
{
	buckets_parse *bp = user;
	if (depth == 1 && !strcmp(name, "Error")) {
		bp->is_error = 1;
		return 1;
	}
	const char *rel = depth == 3 ? rel_path(path, 1) : NULL;
	if (rel && !strcmp(rel, "Buckets/Bucket")) {
		s3i_buf_clear(&bp->name);
		s3i_buf_clear(&bp->region);
		s3i_buf_clear(&bp->arn);
		bp->creation_ms = 0;
		bp->have_name = 0;
	}
	return S3I_OK;
}

static int buckets_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	buckets_parse *bp = user;
	const char *rel = rel_path(path, 1);
	if (!rel)
		return S3I_OK;
	int rc = S3I_OK;
	if (depth == 4 && !strncmp(rel, "Buckets/Bucket/", 15)) {
		if (!strcmp(name, "Name")) {
			if (!len)
				return buckets_bad(bp, "an empty Name%.*s", "", 0);
			bp->have_name = 1;
			rc = set_text(&bp->name, text, len);
		} else if (!strcmp(name, "CreationDate")) {
			if (s3i_time_parse_iso8601(text, &bp->creation_ms))
				return buckets_bad(bp, "CreationDate '%.*s' is not an ISO 8601 time", text, len);
		} else if (!strcmp(name, "BucketRegion")) {
			rc = set_text(&bp->region, text, len);
		} else if (!strcmp(name, "BucketArn")) {
			rc = set_text(&bp->arn, text, len);
		}
	} else if (depth == 3 && !strcmp(rel, "Buckets/Bucket")) {
		if (!bp->have_name)
			return buckets_bad(bp, "a Bucket without a Name%.*s", "", 0);
		s3i_s3_bucket_info b = { s3i_buf_cstr(&bp->name), bp->creation_ms,
			s3i_buf_cstr(&bp->region), s3i_buf_cstr(&bp->arn) };
		bp->page->buckets++;
		if (bp->fn && bp->fn(bp->payload, &b)) {
			bp->stopped = 1;
			return s3i_err(bp->err, S3I_EUSER, bp->what, "%s: stopped by the callback",
				bp->what);
		}
	} else if (depth == 3 && !strcmp(rel, "Owner/ID")) {
		if (len >= sizeof(bp->page->owner_id))
			return buckets_bad(bp, "Owner ID '%.*s' is too long", text, len);
		memcpy(bp->page->owner_id, text, len);
		bp->page->owner_id[len] = '\0';
	} else if (depth == 2 && !strcmp(rel, "ContinuationToken")) {
		rc = set_text(&bp->page->next_token, text, len);
	}
	if (rc)
		return s3i_err(bp->err, rc, bp->what, "%s: out of memory", bp->what);
	return S3I_OK;
}

int s3i_s3_parse_list_buckets(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_bucket_fn fn, void *payload, s3i_s3_bucket_page *page,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "ListBuckets";
	s3i_buf_clear(&page->next_token);
	page->buckets = 0;
	page->owner_id[0] = '\0';
	body = skip_space(body ? body : "", &len);
	buckets_parse bp = { .what = what, .err = err, .fn = fn, .payload = payload, .page = page };
	s3i_buf_init(&bp.name, a);
	s3i_buf_init(&bp.region, a);
	s3i_buf_init(&bp.arn, a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, buckets_start, buckets_end, &bp, err);
	s3i_buf_dispose(&bp.name);
	s3i_buf_dispose(&bp.region);
	s3i_buf_dispose(&bp.arn);
	if (bp.is_error)
		rc = error_document(what, body, len, err);
	else if (rc == S3I_EUSER && bp.stopped)
		rc = S3I_EUSER;
	else if (rc)
		rc = parse_failed(rc, what, err);
	if (rc)
		s3i_buf_clear(&page->next_token);
	return rc;
}

int s3i_s3_list_buckets_page_op(const s3i_svc *svc, const s3i_s3_list_buckets_opts *opts,
	s3i_s3_bucket_fn fn, void *payload, s3i_s3_bucket_page *page, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	s3i_s3_list_buckets_opts o = { 0 };
	if (opts)
		o = *opts;
	if (!page)
		return s3i_err(err, S3I_EINVALID, "page", "ListBuckets: no page");
	s3i_buf_clear(&page->next_token);
	page->buckets = 0;
	page->owner_id[0] = '\0';
	if (o.max_buckets < 0 || o.max_buckets > 10000)
		return s3i_err(err, S3I_EINVALID, "max_buckets", "ListBuckets: max_buckets %d is not "
			"in 1..10000", (int)o.max_buckets);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params q;
	s3i_params_init(&q, a);
	int rc = S3I_OK;
	if (o.max_buckets > 0)
		rc = s3i_params_addf(&q, "max-buckets", "%d", (int)o.max_buckets);
	if (!rc && !empty(o.continuation_token))
		rc = s3i_params_add(&q, "continuation-token", o.continuation_token);
	if (!rc && !empty(o.prefix))
		rc = s3i_params_add(&q, "prefix", o.prefix);
	if (!rc && !empty(o.bucket_region))
		rc = s3i_params_add(&q, "bucket-region", o.bucket_region);
	if (rc) {
		s3i_params_free(&q);
		return s3i_err(err, rc, NULL, "ListBuckets: out of memory");
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_call call = { .operation = "ListBuckets", .method = "GET", .params = &q };
	rc = s3i_s3_run(svc, &call, &resp, err);
	s3i_params_free(&q);
	if (!rc)
		rc = s3i_s3_parse_list_buckets(a, resp.body.ptr, resp.body.size, "ListBuckets", fn,
			payload, page, err);
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_list_buckets_op(const s3i_svc *svc, const s3i_s3_list_buckets_opts *opts,
	s3i_s3_bucket_fn fn, void *payload, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	s3i_s3_list_buckets_opts o = { 0 };
	if (opts)
		o = *opts;
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	/* the token of the next request lives in one of two pages at a time */
	s3i_s3_bucket_page page, prev;
	s3i_s3_bucket_page_init(&page, a);
	s3i_s3_bucket_page_init(&prev, a);
	int rc;
	for (int n = 1;; n++) {
		rc = s3i_s3_list_buckets_page_op(svc, &o, fn, payload, &page, err);
		if (rc || !page.next_token.size)
			break;
		if (o.continuation_token && !strcmp(o.continuation_token, page.next_token.ptr)) {
			rc = s3i_err(err, S3I_EPARSE, NULL, "ListBuckets: page %d answered the "
				"continuation token it was asked for again; stopping", n);
			break;
		}
		s3i_s3_bucket_page t = prev;
		prev = page;
		page = t;
		o.continuation_token = prev.next_token.ptr;
	}
	s3i_s3_bucket_page_free(&page);
	s3i_s3_bucket_page_free(&prev);
	return rc;
}

/* ------------------------------------------------------------------ HeadBucket */

int s3i_s3_head_bucket_op(const s3i_svc *svc, const char *bucket, char *region_out,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (region_out)
		region_out[0] = '\0';
	int rc = s3i_s3_check_names("HeadBucket", bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	s3i_call call = { .operation = "HeadBucket", .method = "HEAD", .bucket = bucket,
		.resource = res };
	rc = s3i_s3_run(svc, &call, &resp, err);
	const char *region = s3i_headers_get(&resp.headers, "x-amz-bucket-region");
	if (region_out && region && strlen(region) < S3I_S3_BUCKET_REGION_MAX &&
		(!rc || resp.status == 403))
		snprintf(region_out, S3I_S3_BUCKET_REGION_MAX, "%s", region);
	/* The answer to a HEAD has no body, so the client's message has only the status to go
	 * on; say what it means. Copies: err is rewritten from its own fields. */
	if (rc && !resp.error && !resp.body.size && (resp.status == 404 || resp.status == 403)) {
		char code[sizeof(err->aws_code)], req[sizeof(err->request_id)], msg[sizeof(err->message)];
		snprintf(code, sizeof(code), "%s", err->aws_code[0] ? err->aws_code
			: resp.status == 404 ? "NotFound" : "Forbidden");
		snprintf(req, sizeof(req), "%s", err->request_id);
		if (resp.status == 404) {
			snprintf(msg, sizeof(msg), "HeadBucket on %.400s failed: %.100s: the bucket does not exist "
				"(HTTP 404%s%.100s)", res, code, req[0] ? ", request id " : "", req);
			rc = s3i_err_aws(err, S3I_ENOTFOUND, 404, code, req, res, msg);
		} else {
			snprintf(msg, sizeof(msg), "HeadBucket on %.400s failed: %.100s: access denied: the bucket "
				"exists but these credentials may not use it (another account's bucket, or a "
				"policy denies it%s%s) (HTTP 403%s%.100s)", res, code, region ? "; it is in " : "",
				region && strlen(region) < 64 ? region : "", req[0] ? ", request id " : "", req);
			rc = s3i_err_aws(err, S3I_EAUTH, 403, code, req, res, s3i_str_one_line(msg, strlen(msg) + 1, msg));
		}
	}
	s3i_http_response_free(&resp);
	return rc;
}

/* ------------------------------------------------------------------ inventory: names */

static const char *const field_names[S3I_S3_INVENTORY_FIELD_COUNT] = {
	"Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded",
	"ReplicationStatus", "EncryptionStatus", "ObjectLockRetainUntilDate", "ObjectLockMode",
	"ObjectLockLegalHoldStatus", "IntelligentTieringAccessTier", "BucketKeyStatus",
	"ChecksumAlgorithm", "ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate",
};

const char *s3i_s3_inventory_field_name(uint32_t bit)
{
	for (int i = 0; i < S3I_S3_INVENTORY_FIELD_COUNT; i++)
		if (bit == (1u << i))
			return field_names[i];
	return NULL;
}

uint32_t s3i_s3_inventory_field_bit(const char *name, size_t len)
{
	for (int i = 0; i < S3I_S3_INVENTORY_FIELD_COUNT; i++)
		if (text_is(name, len, field_names[i]))
			return 1u << i;
	return 0;
}

static const char *format_name(s3i_s3_inventory_format f)
{
	switch (f) {
	case S3I_S3_INVENTORY_CSV: return "CSV";
	case S3I_S3_INVENTORY_ORC: return "ORC";
	case S3I_S3_INVENTORY_PARQUET: return "Parquet";
	default: return NULL;
	}
}

static const char *versions_name(s3i_s3_inventory_versions v)
{
	switch (v) {
	case S3I_S3_INVENTORY_VERSIONS_ALL: return "All";
	case S3I_S3_INVENTORY_VERSIONS_CURRENT: return "Current";
	default: return NULL;
	}
}

static const char *frequency_name(s3i_s3_inventory_frequency f)
{
	switch (f) {
	case S3I_S3_INVENTORY_DAILY: return "Daily";
	case S3I_S3_INVENTORY_WEEKLY: return "Weekly";
	default: return NULL;
	}
}

/* ------------------------------------------------------------------ inventory: copy, XML */

int s3i_s3_inventory_config_copy(s3i_s3_inventory_config *dst, s3i_buf *storage,
	const s3i_s3_inventory_config *cfg)
{
	const char *src[7] = { cfg->id, cfg->destination_bucket_arn, cfg->destination_account_id,
		cfg->destination_prefix, cfg->kms_key_id, cfg->filter_prefix, cfg->other_fields };
	size_t at[7], start = storage->size;
	for (int i = 0; i < 7; i++) {
		const char *s = src[i] ? src[i] : "";
		at[i] = storage->size;
		int rc = s3i_buf_put(storage, s, strlen(s) + 1);
		if (rc) {
			s3i_buf_truncate(storage, start);
			return rc;
		}
	}
	s3i_s3_inventory_config c = *cfg;
	const char **to[7] = { &c.id, &c.destination_bucket_arn, &c.destination_account_id,
		&c.destination_prefix, &c.kms_key_id, &c.filter_prefix, &c.other_fields };
	for (int i = 0; i < 7; i++)
		*to[i] = storage->ptr + at[i];
	*dst = c;
	return S3I_OK;
}

/* One comma-separated name of other_fields: no empty names, no markup. */
static int other_field_ok(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch == '<' || ch == '>' || ch == '&' || ch == '"' || ch == '\'')
			return 0;
	}
	return 1;
}

int s3i_s3_inventory_xml(s3i_buf *out, const s3i_s3_inventory_config *cfg, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!cfg)
		return s3i_err(err, S3I_EINVALID, "inventory configuration", "inventory configuration "
			"is NULL");
	if (empty(cfg->id))
		return s3i_err(err, S3I_EINVALID, "id", "inventory configuration: the id is empty");
	char res[RES_MAX];
	snprintf(res, sizeof(res), "inventory configuration '%.300s'", cfg->id);
	s3i_str_one_line(res, strlen(res) + 1, res);
	const char *fmt = format_name(cfg->format);
	const char *ver = versions_name(cfg->versions);
	const char *freq = frequency_name(cfg->frequency);
	if (empty(cfg->destination_bucket_arn) || strncmp(cfg->destination_bucket_arn, "arn:", 4) ||
		!strstr(cfg->destination_bucket_arn, ":s3:::"))
		return s3i_err(err, S3I_EINVALID, res, "%s: the destination must be a bucket ARN "
			"(arn:aws:s3:::<bucket>), not '%.300s'", res,
			cfg->destination_bucket_arn ? cfg->destination_bucket_arn : "");
	if (!fmt)
		return s3i_err(err, S3I_EINVALID, res, "%s: format %d is not CSV, ORC or Parquet", res,
			(int)cfg->format);
	if (!ver)
		return s3i_err(err, S3I_EINVALID, res, "%s: included object versions %d is not All or "
			"Current", res, (int)cfg->versions);
	if (!freq)
		return s3i_err(err, S3I_EINVALID, res, "%s: frequency %d is not Daily or Weekly", res,
			(int)cfg->frequency);
	if (cfg->encryption != S3I_S3_INVENTORY_SSE_NONE && cfg->encryption != S3I_S3_INVENTORY_SSE_S3 &&
		cfg->encryption != S3I_S3_INVENTORY_SSE_KMS)
		return s3i_err(err, S3I_EINVALID, res, "%s: encryption %d is not none, SSE-S3 or SSE-KMS",
			res, (int)cfg->encryption);
	if (cfg->encryption == S3I_S3_INVENTORY_SSE_KMS && empty(cfg->kms_key_id))
		return s3i_err(err, S3I_EINVALID, res, "%s: SSE-KMS needs a KMS key id", res);
	if (cfg->optional_fields & ~S3I_S3_INVENTORY_FIELDS_ALL)
		return s3i_err(err, S3I_EINVALID, res, "%s: unknown optional field bits 0x%x", res,
			(unsigned)(cfg->optional_fields & ~S3I_S3_INVENTORY_FIELDS_ALL));
	const char *of = cfg->other_fields ? cfg->other_fields : "";
	for (const char *p = of; *of; p++) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (!other_field_ok(p, n) || s3i_s3_inventory_field_bit(p, n))
			return s3i_err(err, S3I_EINVALID, res, "%s: other_fields '%.200s' is not a "
				"comma-separated list of field names this library does not know", res, of);
		if (!comma)
			break;
		p = comma;
	}

	size_t start = out->size;
	xb x = { out, S3I_OK };
	x_raw(&x, "<InventoryConfiguration xmlns=\"" S3_XMLNS "\"><Destination><S3BucketDestination>");
	if (!empty(cfg->destination_account_id))
		x_el(&x, "AccountId", cfg->destination_account_id);
	x_el(&x, "Bucket", cfg->destination_bucket_arn);
	x_el(&x, "Format", fmt);
	if (!empty(cfg->destination_prefix))
		x_el(&x, "Prefix", cfg->destination_prefix);
	if (cfg->encryption == S3I_S3_INVENTORY_SSE_S3) {
		x_raw(&x, "<Encryption><SSE-S3></SSE-S3></Encryption>");
	} else if (cfg->encryption == S3I_S3_INVENTORY_SSE_KMS) {
		x_raw(&x, "<Encryption><SSE-KMS>");
		x_el(&x, "KeyId", cfg->kms_key_id);
		x_raw(&x, "</SSE-KMS></Encryption>");
	}
	x_raw(&x, "</S3BucketDestination></Destination>");
	x_bool(&x, "IsEnabled", cfg->enabled);
	if (!empty(cfg->filter_prefix)) {
		x_raw(&x, "<Filter>");
		x_el(&x, "Prefix", cfg->filter_prefix);
		x_raw(&x, "</Filter>");
	}
	x_el(&x, "Id", cfg->id);
	x_el(&x, "IncludedObjectVersions", ver);
	if (cfg->optional_fields || *of) {
		x_raw(&x, "<OptionalFields>");
		for (int i = 0; i < S3I_S3_INVENTORY_FIELD_COUNT; i++)
			if (cfg->optional_fields & (1u << i))
				x_el(&x, "Field", field_names[i]);
		for (const char *p = of; *p;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			x_raw(&x, "<Field>");
			if (!x.rc)
				x.rc = s3i_buf_put(out, p, n);
			x_raw(&x, "</Field>");
			p += n + (comma ? 1 : 0);
		}
		x_raw(&x, "</OptionalFields>");
	}
	x_raw(&x, "<Schedule>");
	x_el(&x, "Frequency", freq);
	x_raw(&x, "</Schedule></InventoryConfiguration>");
	if (x.rc) {
		s3i_buf_truncate(out, start);
		return s3i_err(err, x.rc, res, "%s: out of memory", res);
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ inventory: parsing */

enum { INV_ID, INV_ARN, INV_ACCOUNT, INV_PREFIX, INV_KMS, INV_FILTER, INV_OTHER, INV_NSTR };

typedef struct inv_parse {
	const char *what;
	s3i_errinfo *err;
	int cfg_depth;                /* depth of <InventoryConfiguration>: 1 (Get) or 2 (List) */
	s3i_s3_inventory_fn fn;
	void *payload;
	s3i_s3_inventory_page *page;  /* List only */
	int64_t index;                /* configurations seen */
	s3i_buf s[INV_NSTR];
	s3i_s3_inventory_config cfg;
	int have_id, in_cfg;
	int is_error, stopped;
} inv_parse;

static void inv_clear(inv_parse *ip)
{
	for (int i = 0; i < INV_NSTR; i++)
		s3i_buf_clear(&ip->s[i]);
	memset(&ip->cfg, 0, sizeof(ip->cfg));
	ip->have_id = 0;
}

static int inv_bad(inv_parse *ip, const char *fmt, const char *text, size_t len)
{
	char detail[240];
	snprintf(detail, sizeof(detail), fmt, (int)(len > 80 ? 80 : len), text);
	return s3i_err(ip->err, S3I_EPARSE, ip->what, "%s: inventory configuration %lld: %s",
		ip->what, (long long)(ip->index + 1), s3i_str_one_line(detail, strlen(detail) + 1, detail));
}

static int inv_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	inv_parse *ip = user;
	if (depth == 1 && !strcmp(name, "Error")) {
		ip->is_error = 1;
		return 1;
	}
	if (depth == ip->cfg_depth && (depth == 1 || !strcmp(name, "InventoryConfiguration"))) {
		inv_clear(ip);
		ip->in_cfg = 1;
	}
	return S3I_OK;
}

static int inv_emit(inv_parse *ip)
{
	if (!ip->have_id)
		return inv_bad(ip, "no Id%.*s", "", 0);
	s3i_s3_inventory_config c = ip->cfg;
	c.id = s3i_buf_cstr(&ip->s[INV_ID]);
	c.destination_bucket_arn = s3i_buf_cstr(&ip->s[INV_ARN]);
	c.destination_account_id = s3i_buf_cstr(&ip->s[INV_ACCOUNT]);
	c.destination_prefix = s3i_buf_cstr(&ip->s[INV_PREFIX]);
	c.kms_key_id = s3i_buf_cstr(&ip->s[INV_KMS]);
	c.filter_prefix = s3i_buf_cstr(&ip->s[INV_FILTER]);
	c.other_fields = s3i_buf_cstr(&ip->s[INV_OTHER]);
	ip->index++;
	if (ip->page)
		ip->page->configs++;
	ip->in_cfg = 0;
	if (ip->fn && ip->fn(ip->payload, &c)) {
		ip->stopped = 1;
		return s3i_err(ip->err, S3I_EUSER, ip->what, "%s: stopped by the callback", ip->what);
	}
	return S3I_OK;
}

static int inv_field(inv_parse *ip, const char *rel, const char *text, size_t len)
{
	s3i_s3_inventory_config *c = &ip->cfg;
	int rc = S3I_OK;
	if (!strcmp(rel, "Id")) {
		if (!len)
			return inv_bad(ip, "an empty Id%.*s", "", 0);
		ip->have_id = 1;
		rc = set_text(&ip->s[INV_ID], text, len);
	} else if (!strcmp(rel, "IsEnabled")) {
		if (parse_bool(text, len, &c->enabled))
			return inv_bad(ip, "IsEnabled '%.*s' is not true or false", text, len);
	} else if (!strcmp(rel, "IncludedObjectVersions")) {
		c->versions = text_is(text, len, "All") ? S3I_S3_INVENTORY_VERSIONS_ALL
			: text_is(text, len, "Current") ? S3I_S3_INVENTORY_VERSIONS_CURRENT
			: S3I_S3_INVENTORY_VERSIONS_UNKNOWN;
	} else if (!strcmp(rel, "Schedule/Frequency")) {
		c->frequency = text_is(text, len, "Daily") ? S3I_S3_INVENTORY_DAILY
			: text_is(text, len, "Weekly") ? S3I_S3_INVENTORY_WEEKLY
			: S3I_S3_INVENTORY_FREQUENCY_UNKNOWN;
	} else if (!strcmp(rel, "Filter/Prefix")) {
		rc = set_text(&ip->s[INV_FILTER], text, len);
	} else if (!strcmp(rel, "OptionalFields/Field")) {
		uint32_t bit = s3i_s3_inventory_field_bit(text, len);
		if (bit) {
			c->optional_fields |= bit;
		} else {
			if (!other_field_ok(text, len) || memchr(text, ',', len))
				return inv_bad(ip, "optional Field '%.*s' is not a field name", text, len);
			s3i_buf *o = &ip->s[INV_OTHER];
			if (o->size)
				rc = s3i_buf_putc(o, ',');
			if (!rc)
				rc = s3i_buf_put(o, text, len);
		}
	} else if (!strncmp(rel, "Destination/S3BucketDestination/", 32)) {
		const char *d = rel + 32;
		if (!strcmp(d, "AccountId")) {
			rc = set_text(&ip->s[INV_ACCOUNT], text, len);
		} else if (!strcmp(d, "Bucket")) {
			rc = set_text(&ip->s[INV_ARN], text, len);
		} else if (!strcmp(d, "Prefix")) {
			rc = set_text(&ip->s[INV_PREFIX], text, len);
		} else if (!strcmp(d, "Format")) {
			c->format = text_is(text, len, "CSV") ? S3I_S3_INVENTORY_CSV
				: text_is(text, len, "ORC") ? S3I_S3_INVENTORY_ORC
				: text_is(text, len, "Parquet") ? S3I_S3_INVENTORY_PARQUET
				: S3I_S3_INVENTORY_FORMAT_UNKNOWN;
		} else if (!strcmp(d, "Encryption/SSE-S3")) {
			if (c->encryption == S3I_S3_INVENTORY_SSE_KMS)
				return inv_bad(ip, "both SSE-S3 and SSE-KMS encryption%.*s", "", 0);
			c->encryption = S3I_S3_INVENTORY_SSE_S3;
		} else if (!strcmp(d, "Encryption/SSE-KMS")) {
			if (c->encryption == S3I_S3_INVENTORY_SSE_S3)
				return inv_bad(ip, "both SSE-S3 and SSE-KMS encryption%.*s", "", 0);
			c->encryption = S3I_S3_INVENTORY_SSE_KMS;
		} else if (!strcmp(d, "Encryption/SSE-KMS/KeyId")) {
			rc = set_text(&ip->s[INV_KMS], text, len);
		}
	}
	if (rc)
		return s3i_err(ip->err, rc, ip->what, "%s: out of memory", ip->what);
	return S3I_OK;
}

static int inv_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	inv_parse *ip = user;
	if (depth < ip->cfg_depth)
		return S3I_OK;
	if (depth == ip->cfg_depth) {
		if (ip->in_cfg)
			return inv_emit(ip);
		/* ListInventoryConfigurationsResult's own elements */
		if (!ip->page)
			return S3I_OK;
		if (!strcmp(name, "IsTruncated")) {
			if (parse_bool(text, len, &ip->page->truncated)) {
				char detail[120];
				snprintf(detail, sizeof(detail), "IsTruncated '%.*s' is not true or false",
					(int)(len > 80 ? 80 : len), text);
				return s3i_err(ip->err, S3I_EPARSE, ip->what, "%s: %s", ip->what,
					s3i_str_one_line(detail, strlen(detail) + 1, detail));
			}
		} else if (!strcmp(name, "NextContinuationToken")) {
			if (set_text(&ip->page->next_token, text, len))
				return s3i_err(ip->err, S3I_ENOMEM, ip->what, "%s: out of memory", ip->what);
		}
		return S3I_OK;
	}
	if (!ip->in_cfg)
		return S3I_OK;
	const char *rel = rel_path(path, ip->cfg_depth);
	return rel ? inv_field(ip, rel, text, len) : S3I_OK;
}

static int inv_parse_run(const s3i_allocator *a, const char *body, size_t len, inv_parse *ip)
{
	body = skip_space(body ? body : "", &len);
	for (int i = 0; i < INV_NSTR; i++)
		s3i_buf_init(&ip->s[i], a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, inv_start, inv_end, ip, ip->err);
	for (int i = 0; i < INV_NSTR; i++)
		s3i_buf_dispose(&ip->s[i]);
	if (ip->is_error)
		return error_document(ip->what, body, len, ip->err);
	if (ip->stopped)
		return rc;
	return rc ? parse_failed(rc, ip->what, ip->err) : S3I_OK;
}

typedef struct inv_get {
	s3i_s3_inventory_config *out;
	s3i_buf *storage;
	int got;
	int rc;
} inv_get;

static int inv_keep(void *payload, const s3i_s3_inventory_config *cfg)
{
	inv_get *g = payload;
	g->got = 1;
	g->rc = s3i_s3_inventory_config_copy(g->out, g->storage, cfg);
	return g->rc != S3I_OK;
}

int s3i_s3_parse_inventory_config(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_inventory_config *out, s3i_buf *storage, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "GetBucketInventoryConfiguration";
	memset(out, 0, sizeof(*out));
	s3i_buf_clear(storage);
	inv_get g = { out, storage, 0, S3I_OK };
	inv_parse ip = { .what = what, .err = err, .cfg_depth = 1, .fn = inv_keep, .payload = &g };
	int rc = inv_parse_run(a, body, len, &ip);
	if (g.rc)
		rc = s3i_err(err, g.rc, what, "%s: out of memory", what);
	else if (!rc && !g.got)
		rc = s3i_err(err, S3I_EPARSE, what, "%s: the answer holds no inventory configuration",
			what);
	if (rc) {
		memset(out, 0, sizeof(*out));
		s3i_buf_clear(storage);
	}
	return rc;
}

void s3i_s3_inventory_page_init(s3i_s3_inventory_page *page, const s3i_allocator *a)
{
	memset(page, 0, sizeof(*page));
	s3i_buf_init(&page->next_token, a);
}

void s3i_s3_inventory_page_free(s3i_s3_inventory_page *page)
{
	const s3i_allocator *a = page->next_token.alloc;
	s3i_buf_dispose(&page->next_token);
	s3i_s3_inventory_page_init(page, a);
}

int s3i_s3_parse_inventory_list(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_inventory_fn fn, void *payload, s3i_s3_inventory_page *page,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "ListBucketInventoryConfigurations";
	page->truncated = 0;
	page->configs = 0;
	s3i_buf_clear(&page->next_token);
	inv_parse ip = { .what = what, .err = err, .cfg_depth = 2, .fn = fn, .payload = payload,
		.page = page };
	int rc = inv_parse_run(a, body, len, &ip);
	if (!rc && page->truncated && !page->next_token.size)
		rc = s3i_err(err, S3I_EPARSE, what, "%s: a truncated page without "
			"NextContinuationToken", what);
	if (rc) {
		page->truncated = 0;
		s3i_buf_clear(&page->next_token);
	}
	return rc;
}

/* ------------------------------------------------------------------ inventory: operations */

static int check_id(const char *op, const char *bucket, const char *id, s3i_errinfo *err)
{
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (!rc && empty(id))
		rc = s3i_err(err, S3I_EINVALID, "id", "%s on bucket '%.300s': the inventory "
			"configuration id is empty", op, bucket);
	return rc;
}

int s3i_s3_put_bucket_inventory_configuration_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_inventory_config *cfg, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutBucketInventoryConfiguration";
	int rc = check_id(op, bucket, cfg ? cfg->id : NULL, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	describe_inventory(res, sizeof(res), bucket, cfg->id);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	if ((rc = s3i_s3_inventory_xml(&body, cfg, err))) {
		s3i_err_prefix(err, "%s on bucket '%.300s': ", op, bucket);
		s3i_buf_dispose(&body);
		return rc;
	}
	/* moto ignores ?id= and keys the configuration by the body's <Id>: both say the same */
	put_req r = { .op = op, .bucket = bucket, .subresource = "inventory", .id = cfg->id,
		.body = &body, .resource = res };
	rc = send_simple(svc, &r, err);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_s3_get_bucket_inventory_configuration_op(const s3i_svc *svc, const char *bucket,
	const char *id, s3i_s3_inventory_config *out, s3i_buf *storage, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "GetBucketInventoryConfiguration";
	if (!out || !storage)
		return s3i_err(err, S3I_EINVALID, "out", "%s: no output", op);
	memset(out, 0, sizeof(*out));
	int rc = check_id(op, bucket, id, err);
	if (rc)
		return rc;
	char res[RES_MAX], what[WHAT_MAX];
	describe_inventory(res, sizeof(res), bucket, id);
	snprintf(what, sizeof(what), "%s on %s", op, res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	put_req r = { .op = op, .bucket = bucket, .subresource = "inventory", .id = id,
		.resource = res, .method = "GET" };
	rc = send_request(svc, &r, &resp, err);
	if (!rc)
		rc = s3i_s3_parse_inventory_config(a, resp.body.ptr, resp.body.size, what, out, storage,
			err);
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_delete_bucket_inventory_configuration_op(const s3i_svc *svc, const char *bucket,
	const char *id, s3i_errinfo *err)
{
	const char *op = "DeleteBucketInventoryConfiguration";
	int rc = check_id(op, bucket, id, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	describe_inventory(res, sizeof(res), bucket, id);
	put_req r = { .op = op, .bucket = bucket, .subresource = "inventory", .id = id,
		.resource = res, .method = "DELETE" };
	return send_simple(svc, &r, err);
}

int s3i_s3_list_bucket_inventory_configurations_page_op(const s3i_svc *svc, const char *bucket,
	const char *continuation_token, s3i_s3_inventory_fn fn, void *payload,
	s3i_s3_inventory_page *page, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "ListBucketInventoryConfigurations";
	if (!page)
		return s3i_err(err, S3I_EINVALID, "page", "%s: no page", op);
	page->truncated = 0;
	page->configs = 0;
	s3i_buf_clear(&page->next_token);
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX], what[WHAT_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	snprintf(what, sizeof(what), "%s on %s", op, res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params q;
	s3i_params_init(&q, a);
	rc = s3i_params_add(&q, "inventory", NULL);
	if (!rc && !empty(continuation_token))
		rc = s3i_params_add(&q, "continuation-token", continuation_token);
	if (rc) {
		s3i_params_free(&q);
		return s3i_err(err, rc, res, "%s: out of memory", what);
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_call call = { .operation = op, .method = "GET", .bucket = bucket, .params = &q,
		.resource = res };
	rc = s3i_s3_run(svc, &call, &resp, err);
	s3i_params_free(&q);
	if (!rc)
		rc = s3i_s3_parse_inventory_list(a, resp.body.ptr, resp.body.size, what, fn, payload,
			page, err);
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_list_bucket_inventory_configurations_op(const s3i_svc *svc, const char *bucket,
	s3i_s3_inventory_fn fn, void *payload, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_s3_inventory_page page, prev;
	s3i_s3_inventory_page_init(&page, a);
	s3i_s3_inventory_page_init(&prev, a);
	const char *token = NULL;
	int rc;
	for (int n = 1;; n++) {
		rc = s3i_s3_list_bucket_inventory_configurations_page_op(svc, bucket, token, fn,
			payload, &page, err);
		if (rc || !page.truncated)
			break;
		if (token && !strcmp(token, page.next_token.ptr)) {
			char res[RES_MAX];
			rc = s3i_err(err, S3I_EPARSE, s3i_s3_describe(res, sizeof(res), bucket, NULL),
				"ListBucketInventoryConfigurations on %s: page %d answered the continuation "
				"token it was asked for again; stopping", res, n);
			break;
		}
		s3i_s3_inventory_page t = prev;
		prev = page;
		page = t;
		token = prev.next_token.ptr;
	}
	s3i_s3_inventory_page_free(&page);
	s3i_s3_inventory_page_free(&prev);
	return rc;
}

/* ------------------------------------------------------------------ notifications: XML */

static const char *notify_element(s3i_s3_notification_kind k, const char **arn_element)
{
	switch (k) {
	case S3I_S3_NOTIFY_TOPIC: *arn_element = "Topic"; return "TopicConfiguration";
	case S3I_S3_NOTIFY_QUEUE: *arn_element = "Queue"; return "QueueConfiguration";
	case S3I_S3_NOTIFY_LAMBDA: *arn_element = "CloudFunction"; return "CloudFunctionConfiguration";
	default: *arn_element = NULL; return NULL;
	}
}

static int notification_check(const s3i_s3_notification *n, size_t i, s3i_errinfo *err)
{
	const char *arn_el;
	char res[64];
	snprintf(res, sizeof(res), "notification %zu", i);
	if (!notify_element(n->kind, &arn_el))
		return s3i_err(err, S3I_EINVALID, res, "%s: kind %d is not topic, queue or Lambda", res,
			(int)n->kind);
	if (empty(n->arn))
		return s3i_err(err, S3I_EINVALID, res, "%s: the %s ARN is empty", res, arn_el);
	if (!n->nevents || !n->events)
		return s3i_err(err, S3I_EINVALID, res, "%s (%.300s): no events", res, n->arn);
	for (size_t e = 0; e < n->nevents; e++)
		if (empty(n->events[e]))
			return s3i_err(err, S3I_EINVALID, res, "%s (%.300s): event %zu is empty", res,
				n->arn, e);
	return S3I_OK;
}

int s3i_s3_notification_xml(s3i_buf *out, const s3i_s3_notification_config *cfg,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!cfg)
		return s3i_err(err, S3I_EINVALID, "notification configuration", "notification "
			"configuration is NULL");
	if (cfg->count && !cfg->items)
		return s3i_err(err, S3I_EINVALID, "notification configuration", "notification "
			"configuration: %zu items but no array", cfg->count);
	for (size_t i = 0; i < cfg->count; i++) {
		int rc = notification_check(&cfg->items[i], i, err);
		if (rc)
			return rc;
	}
	size_t start = out->size;
	xb x = { out, S3I_OK };
	x_raw(&x, "<NotificationConfiguration xmlns=\"" S3_XMLNS "\">");
	static const s3i_s3_notification_kind order[] = { S3I_S3_NOTIFY_TOPIC, S3I_S3_NOTIFY_QUEUE,
		S3I_S3_NOTIFY_LAMBDA };
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < cfg->count; i++) {
			const s3i_s3_notification *n = &cfg->items[i];
			if (n->kind != order[k])
				continue;
			const char *arn_el, *el = notify_element(n->kind, &arn_el);
			x_raw(&x, "<");
			x_raw(&x, el);
			x_raw(&x, ">");
			if (!empty(n->id))
				x_el(&x, "Id", n->id);
			x_el(&x, arn_el, n->arn);
			for (size_t e = 0; e < n->nevents; e++)
				x_el(&x, "Event", n->events[e]);
			if (!empty(n->prefix) || !empty(n->suffix)) {
				x_raw(&x, "<Filter><S3Key>");
				if (!empty(n->prefix)) {
					x_raw(&x, "<FilterRule><Name>prefix</Name>");
					x_el(&x, "Value", n->prefix);
					x_raw(&x, "</FilterRule>");
				}
				if (!empty(n->suffix)) {
					x_raw(&x, "<FilterRule><Name>suffix</Name>");
					x_el(&x, "Value", n->suffix);
					x_raw(&x, "</FilterRule>");
				}
				x_raw(&x, "</S3Key></Filter>");
			}
			x_raw(&x, "</");
			x_raw(&x, el);
			x_raw(&x, ">");
		}
	}
	if (cfg->eventbridge)
		x_raw(&x, "<EventBridgeConfiguration></EventBridgeConfiguration>");
	x_raw(&x, "</NotificationConfiguration>");
	if (x.rc) {
		s3i_buf_truncate(out, start);
		return s3i_err(err, x.rc, "notification configuration", "notification configuration: "
			"out of memory");
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ notifications: parsing */

typedef struct notify_parse {
	const char *what;
	s3i_errinfo *err;
	s3i_s3_notification_fn fn;
	void *payload;
	int *eventbridge;
	int64_t index;
	s3i_s3_notification_kind kind;  /* 0: not inside a configuration */
	const char *arn_el;
	s3i_buf id, arn, prefix, suffix, events, rule_name, rule_value;
	size_t event_at[S3I_S3_NOTIFY_MAX_EVENTS];
	size_t nevents;
	int have_arn, have_rule_name;
	int is_error, stopped;
} notify_parse;

static int notify_bad(notify_parse *np, const char *fmt, const char *text, size_t len)
{
	char detail[240];
	snprintf(detail, sizeof(detail), fmt, (int)(len > 80 ? 80 : len), text);
	return s3i_err(np->err, S3I_EPARSE, np->what, "%s: notification configuration %lld: %s",
		np->what, (long long)(np->index + 1), s3i_str_one_line(detail, strlen(detail) + 1, detail));
}

static int notify_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	notify_parse *np = user;
	if (depth == 1 && !strcmp(name, "Error")) {
		np->is_error = 1;
		return 1;
	}
	if (depth == 2) {
		np->kind = !strcmp(name, "TopicConfiguration") ? S3I_S3_NOTIFY_TOPIC
			: !strcmp(name, "QueueConfiguration") ? S3I_S3_NOTIFY_QUEUE
			: !strcmp(name, "CloudFunctionConfiguration") ? S3I_S3_NOTIFY_LAMBDA : 0;
		notify_element(np->kind, &np->arn_el);
		s3i_buf *b[] = { &np->id, &np->arn, &np->prefix, &np->suffix, &np->events };
		for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
			s3i_buf_clear(b[i]);
		np->nevents = 0;
		np->have_arn = 0;
	}
	if (depth == 5 && np->kind && !strcmp(name, "FilterRule")) {
		s3i_buf_clear(&np->rule_name);
		s3i_buf_clear(&np->rule_value);
		np->have_rule_name = 0;
	}
	return S3I_OK;
}

static int notify_emit(notify_parse *np)
{
	if (!np->have_arn)
		return notify_bad(np, "no %.*s ARN", np->arn_el, strlen(np->arn_el));
	const char *events[S3I_S3_NOTIFY_MAX_EVENTS];
	for (size_t i = 0; i < np->nevents; i++)
		events[i] = np->events.ptr + np->event_at[i];
	s3i_s3_notification n = { np->kind, s3i_buf_cstr(&np->id), s3i_buf_cstr(&np->arn),
		np->nevents ? events : NULL, np->nevents, s3i_buf_cstr(&np->prefix),
		s3i_buf_cstr(&np->suffix) };
	np->index++;
	np->kind = 0;
	if (np->fn && np->fn(np->payload, &n)) {
		np->stopped = 1;
		return s3i_err(np->err, S3I_EUSER, np->what, "%s: stopped by the callback", np->what);
	}
	return S3I_OK;
}

static int notify_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	notify_parse *np = user;
	int rc = S3I_OK;
	if (depth == 2) {
		if (np->kind)
			return notify_emit(np);
		if (!strcmp(name, "EventBridgeConfiguration") && np->eventbridge)
			*np->eventbridge = 1;
		return S3I_OK;
	}
	if (!np->kind || depth < 3)
		return S3I_OK;
	const char *rel = rel_path(path, 2);
	if (!rel)
		return S3I_OK;
	if (!strcmp(rel, "Id")) {
		rc = set_text(&np->id, text, len);
	} else if (!strcmp(rel, np->arn_el)) {
		if (!len)
			return notify_bad(np, "an empty %.*s ARN", np->arn_el, strlen(np->arn_el));
		np->have_arn = 1;
		rc = set_text(&np->arn, text, len);
	} else if (!strcmp(rel, "Event")) {
		if (!len)
			return notify_bad(np, "an empty Event%.*s", "", 0);
		if (np->nevents >= S3I_S3_NOTIFY_MAX_EVENTS)
			return notify_bad(np, "more than 64 events%.*s", "", 0);
		np->event_at[np->nevents++] = np->events.size;
		rc = s3i_buf_put(&np->events, text, len);
		if (!rc)
			rc = s3i_buf_put(&np->events, "", 1);
	} else if (!strcmp(rel, "Filter/S3Key/FilterRule/Name")) {
		np->have_rule_name = 1;
		rc = set_text(&np->rule_name, text, len);
	} else if (!strcmp(rel, "Filter/S3Key/FilterRule/Value")) {
		rc = set_text(&np->rule_value, text, len);
	} else if (!strcmp(rel, "Filter/S3Key/FilterRule")) {
		/* AWS answers "Prefix"/"Suffix" where it was sent "prefix"/"suffix" */
		const char *rn = s3i_buf_cstr(&np->rule_name);
		s3i_buf *to = s3i_strcaseeq(rn, "prefix") ? &np->prefix
			: s3i_strcaseeq(rn, "suffix") ? &np->suffix : NULL;
		if (!np->have_rule_name || !to)
			return notify_bad(np, "FilterRule Name '%.*s' is neither prefix nor suffix", rn,
				np->rule_name.size);
		rc = set_text(to, s3i_buf_cstr(&np->rule_value), np->rule_value.size);
	}
	if (rc)
		return s3i_err(np->err, rc, np->what, "%s: out of memory", np->what);
	return S3I_OK;
}

int s3i_s3_parse_notification_config(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_notification_fn fn, void *payload, int *eventbridge,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "GetBucketNotificationConfiguration";
	int eb = 0;
	notify_parse np = { .what = what, .err = err, .fn = fn, .payload = payload,
		.eventbridge = &eb };
	s3i_buf *b[] = { &np.id, &np.arn, &np.prefix, &np.suffix, &np.events, &np.rule_name,
		&np.rule_value };
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		s3i_buf_init(b[i], a);
	body = skip_space(body ? body : "", &len);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, notify_start, notify_end, &np, err);
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		s3i_buf_dispose(b[i]);
	if (np.is_error)
		rc = error_document(what, body, len, err);
	else if (rc && !np.stopped)
		rc = parse_failed(rc, what, err);
	if (eventbridge)
		*eventbridge = rc ? 0 : eb;
	return rc;
}

/* ------------------------------------------------------------------ notifications: operations */

int s3i_s3_put_bucket_notification_configuration_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_notification_config *cfg, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutBucketNotificationConfiguration";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_headers hdr;
	s3i_headers_init(&hdr, a);
	if ((rc = s3i_s3_notification_xml(&body, cfg, err))) {
		s3i_err_prefix(err, "%s on %s: ", op, res);
	} else if (cfg->skip_destination_validation &&
		(rc = s3i_headers_add(&hdr, "x-amz-skip-destination-validation", "true"))) {
		rc = s3i_err(err, rc, res, "%s on %s: out of memory", op, res);
	} else {
		put_req r = { .op = op, .bucket = bucket, .subresource = "notification", .body = &body,
			.resource = res, .headers = hdr.count ? &hdr : NULL };
		rc = send_simple(svc, &r, err);
	}
	s3i_headers_free(&hdr);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_s3_get_bucket_notification_configuration_op(const s3i_svc *svc, const char *bucket,
	s3i_s3_notification_fn fn, void *payload, int *eventbridge, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (eventbridge)
		*eventbridge = 0;
	const char *op = "GetBucketNotificationConfiguration";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX], what[WHAT_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	snprintf(what, sizeof(what), "%s on %s", op, res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	put_req r = { .op = op, .bucket = bucket, .subresource = "notification", .resource = res,
		.method = "GET" };
	rc = send_request(svc, &r, &resp, err);
	if (!rc)
		rc = s3i_s3_parse_notification_config(a, resp.body.ptr, resp.body.size, what, fn,
			payload, eventbridge, err);
	s3i_http_response_free(&resp);
	return rc;
}

/* ------------------------------------------------------------------ bucket settings */

/* Send an XML body built by the caller (x), with Content-MD5 as the model asks. */
static int put_setting(const s3i_svc *svc, const char *op, const char *bucket,
	const char *subresource, xb *x, const char *content_type, const char *res, s3i_errinfo *err)
{
	if (x->rc)
		return s3i_err(err, x->rc, res, "%s on %s: out of memory", op, res);
	put_req r = { .op = op, .bucket = bucket, .subresource = subresource, .body = x->b,
		.content_type = content_type, .content_md5 = 1, .resource = res };
	return send_simple(svc, &r, err);
}

int s3i_s3_put_bucket_policy_op(const s3i_svc *svc, const char *bucket, const char *policy,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutBucketPolicy";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	if (empty(policy))
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: the policy is empty", op, res);
	/* moto stores anything; AWS answers MalformedPolicy: say so before sending */
	s3i_json doc = NULL;
	s3i_errinfo scratch;
	s3i_errinfo_init(&scratch);
	rc = s3i_json_parse(&doc, policy, strlen(policy), "the policy", &scratch);
	int is_obj = !rc && s3i_json_is_obj(doc);
	s3i_json_free(doc);
	if (rc == S3I_ENOMEM)
		return s3i_err(err, rc, res, "%s on %s: out of memory", op, res);
	if (!is_obj)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: the policy is not a JSON object%s%s",
			op, res, rc ? ": " : "", rc ? scratch.message : "");
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	xb x = { &body, S3I_OK };
	x_raw(&x, policy);
	rc = put_setting(svc, op, bucket, "policy", &x, "application/json", res, err);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_s3_put_public_access_block_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_public_access_block *pab, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutPublicAccessBlock";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	if (!pab)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: no configuration", op, res);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	xb x = { &body, S3I_OK };
	x_raw(&x, "<PublicAccessBlockConfiguration xmlns=\"" S3_XMLNS "\">");
	x_bool(&x, "BlockPublicAcls", pab->block_public_acls);
	x_bool(&x, "IgnorePublicAcls", pab->ignore_public_acls);
	x_bool(&x, "BlockPublicPolicy", pab->block_public_policy);
	x_bool(&x, "RestrictPublicBuckets", pab->restrict_public_buckets);
	x_raw(&x, "</PublicAccessBlockConfiguration>");
	rc = put_setting(svc, op, bucket, "publicAccessBlock", &x, NULL, res, err);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_s3_put_bucket_encryption_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_bucket_encryption *enc, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutBucketEncryption";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	if (!enc)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: no configuration", op, res);
	if (!enc->kms && !empty(enc->kms_key_id))
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: a KMS key id is only for SSE-KMS", op,
			res);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	xb x = { &body, S3I_OK };
	x_raw(&x, "<ServerSideEncryptionConfiguration xmlns=\"" S3_XMLNS "\"><Rule>"
		"<ApplyServerSideEncryptionByDefault>");
	x_el(&x, "SSEAlgorithm", enc->kms ? "aws:kms" : "AES256");
	if (enc->kms && !empty(enc->kms_key_id))
		x_el(&x, "KMSMasterKeyID", enc->kms_key_id);
	x_raw(&x, "</ApplyServerSideEncryptionByDefault>");
	if (enc->bucket_key)
		x_bool(&x, "BucketKeyEnabled", 1);
	x_raw(&x, "</Rule></ServerSideEncryptionConfiguration>");
	rc = put_setting(svc, op, bucket, "encryption", &x, NULL, res, err);
	s3i_buf_dispose(&body);
	return rc;
}

static int lifecycle_check(const s3i_s3_lifecycle_rule *r, size_t i, const char *op,
	const char *res, s3i_errinfo *err)
{
	if (r->id && strlen(r->id) > 255)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: rule %zu: the id is longer than 255 "
			"characters", op, res, i);
	if (r->expiration_days < 0 || r->noncurrent_days < 0 || r->abort_multipart_days < 0)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: rule %zu: a negative number of days",
			op, res, i);
	if (!r->expiration_days && !r->noncurrent_days && !r->abort_multipart_days)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: rule %zu has no action (expiration, "
			"noncurrent version expiration or multipart abort days)", op, res, i);
	return S3I_OK;
}

int s3i_s3_put_bucket_lifecycle_configuration_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_lifecycle_rule *rules, size_t count, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutBucketLifecycleConfiguration";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	if (!count || !rules || count > S3I_S3_LIFECYCLE_MAX_RULES)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: %zu rules; 1 to %d are allowed", op,
			res, rules ? count : 0, S3I_S3_LIFECYCLE_MAX_RULES);
	for (size_t i = 0; i < count; i++)
		if ((rc = lifecycle_check(&rules[i], i, op, res, err)))
			return rc;
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	xb x = { &body, S3I_OK };
	x_raw(&x, "<LifecycleConfiguration xmlns=\"" S3_XMLNS "\">");
	for (size_t i = 0; i < count; i++) {
		const s3i_s3_lifecycle_rule *r = &rules[i];
		/* the model's member order */
		x_raw(&x, "<Rule>");
		if (r->expiration_days) {
			x_raw(&x, "<Expiration>");
			x_int(&x, "Days", r->expiration_days);
			x_raw(&x, "</Expiration>");
		}
		if (!empty(r->id))
			x_el(&x, "ID", r->id);
		x_raw(&x, "<Filter>");
		x_el(&x, "Prefix", r->prefix ? r->prefix : "");
		x_raw(&x, "</Filter>");
		x_el(&x, "Status", r->enabled ? "Enabled" : "Disabled");
		if (r->noncurrent_days) {
			x_raw(&x, "<NoncurrentVersionExpiration>");
			x_int(&x, "NoncurrentDays", r->noncurrent_days);
			x_raw(&x, "</NoncurrentVersionExpiration>");
		}
		if (r->abort_multipart_days) {
			x_raw(&x, "<AbortIncompleteMultipartUpload>");
			x_int(&x, "DaysAfterInitiation", r->abort_multipart_days);
			x_raw(&x, "</AbortIncompleteMultipartUpload>");
		}
		x_raw(&x, "</Rule>");
	}
	x_raw(&x, "</LifecycleConfiguration>");
	rc = put_setting(svc, op, bucket, "lifecycle", &x, NULL, res, err);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_s3_put_bucket_versioning_op(const s3i_svc *svc, const char *bucket,
	s3i_s3_versioning status, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	const char *op = "PutBucketVersioning";
	int rc = s3i_s3_check_names(op, bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	s3i_s3_describe(res, sizeof(res), bucket, NULL);
	if (status != S3I_S3_VERSIONING_ENABLED && status != S3I_S3_VERSIONING_SUSPENDED)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: status %d is not Enabled or "
			"Suspended", op, res, (int)status);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	xb x = { &body, S3I_OK };
	x_raw(&x, "<VersioningConfiguration xmlns=\"" S3_XMLNS "\">");
	x_el(&x, "Status", status == S3I_S3_VERSIONING_ENABLED ? "Enabled" : "Suspended");
	x_raw(&x, "</VersioningConfiguration>");
	rc = put_setting(svc, op, bucket, "versioning", &x, NULL, res, err);
	s3i_buf_dispose(&body);
	return rc;
}
