#include "services/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/ctx_internal.h"
#include "core/alloc.h"
#include "core/str.h"
#include "core/xml.h"

const s3i_service s3i_svc_s3 = { "s3", "s3", S3I_PROTO_REST_XML, NULL, "2006-03-01", NULL };

/* Errors name what they are about: "bucket 'b'" or "key 'k' in bucket 'b'". */
static const char *describe(char *buf, size_t cap, const char *bucket, const char *key)
{
	if (key)
		snprintf(buf, cap, "key '%s' in bucket '%s'", key, bucket);
	else
		snprintf(buf, cap, "bucket '%s'", bucket);
	return buf;
}

static int check_names(const char *bucket, const char *key, int need_key, s3i_errinfo *err)
{
	if (!bucket || !*bucket)
		return s3i_err(err, S3I_EINVALID, "bucket", "bucket name is empty");
	if (need_key && (!key || !*key))
		return s3i_err(err, S3I_EINVALID, bucket, "object key is empty (bucket '%s')", bucket);
	return S3I_OK;
}

static int run(const s3i_svc *svc, s3i_call *call, s3i_http_response *resp, s3i_errinfo *err)
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
	int rc = run(svc, call, &resp, err);
	s3i_http_response_free(&resp);
	return rc;
}

int s3i_s3_create_bucket_op(const s3i_svc *svc, const char *bucket, const char *region,
	s3i_errinfo *err)
{
	int rc = check_names(bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[600];
	const char *r = region ? region : (svc->region ? svc->region : s3i_client_region(svc->client));
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	/* us-east-1 takes no LocationConstraint; every other region requires one. */
	if (strcmp(r, "us-east-1") &&
		(rc = s3i_buf_printf(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			"<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>", r))) {
		s3i_buf_dispose(&body);
		return s3i_err(err, rc, bucket, "CreateBucket: out of memory");
	}
	s3i_call call = { .operation = "CreateBucket", .method = "PUT", .bucket = bucket,
		.resource = describe(res, sizeof(res), bucket, NULL), .region = r,
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
	int rc = check_names(bucket, NULL, 0, err);
	if (rc)
		return rc;
	char res[600];
	s3i_call call = { .operation = "DeleteBucket", .method = "DELETE", .bucket = bucket,
		.resource = describe(res, sizeof(res), bucket, NULL) };
	rc = simple(svc, &call, err);
	if (rc && err && !strcmp(err->aws_code, "BucketNotEmpty"))
		err->pub.code = rc = S3I_ECONFLICT;
	return rc;
}

int s3i_s3_put_object_op(const s3i_svc *svc, const char *bucket, const char *key, const void *data,
	size_t len, const char *content_type, s3i_errinfo *err)
{
	int rc = check_names(bucket, key, 1, err);
	if (rc)
		return rc;
	char res[1600];
	s3i_call call = { .operation = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
		.resource = describe(res, sizeof(res), bucket, key), .body = data ? data : "",
		.body_len = len, .content_type = content_type ? content_type : "application/octet-stream" };
	return simple(svc, &call, err);
}

int s3i_s3_put_object_stream_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_read_fn read, s3i_body_rewind_fn rewind, void *user, int64_t length,
	const char *content_type, s3i_errinfo *err)
{
	int rc = check_names(bucket, key, 1, err);
	if (rc)
		return rc;
	char res[1600];
	s3i_call call = { .operation = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
		.resource = describe(res, sizeof(res), bucket, key), .body_read = read,
		.body_rewind = rewind, .body_user = user, .body_length = length,
		.content_type = content_type ? content_type : "application/octet-stream" };
	return simple(svc, &call, err);
}

int s3i_s3_get_object_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_write_fn sink, int (*sink_reset)(void *), void *user, s3i_errinfo *err)
{
	int rc = check_names(bucket, key, 1, err);
	if (rc)
		return rc;
	char res[1600];
	s3i_call call = { .operation = "GetObject", .method = "GET", .bucket = bucket, .key = key,
		.resource = describe(res, sizeof(res), bucket, key), .sink = sink, .sink_user = user,
		.sink_reset = sink_reset };
	return simple(svc, &call, err);
}

int s3i_s3_delete_object_op(const s3i_svc *svc, const char *bucket, const char *key, s3i_errinfo *err)
{
	int rc = check_names(bucket, key, 1, err);
	if (rc)
		return rc;
	char res[1600];
	s3i_call call = { .operation = "DeleteObject", .method = "DELETE", .bucket = bucket,
		.key = key, .resource = describe(res, sizeof(res), bucket, key) };
	return simple(svc, &call, err);
}

/* ListObjectsV2: one page at a time, parsed when it has arrived whole (a page is at most
 * 1000 keys), so memory stays bounded by a page whatever the bucket size. */
typedef struct list_state {
	const s3i_allocator *alloc;
	s3i_s3_object_fn fn;
	void *payload;
	s3i_buf key, etag, storage_class, token;
	int64_t size, last_modified_ms;
	int truncated;
	int stopped;
	int64_t count;
} list_state;

static int list_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	list_state *st = user;
	int rc = S3I_OK;
	if (depth == 3 && !strncmp(path, "ListBucketResult/Contents/", 26)) {
		if (!strcmp(name, "Key")) {
			s3i_buf_clear(&st->key);
			rc = s3i_uri_decode(&st->key, text, len, 1);
		} else if (!strcmp(name, "Size")) {
			st->size = strtoll(text, NULL, 10);
		} else if (!strcmp(name, "LastModified")) {
			if (s3i_time_parse_iso8601(text, &st->last_modified_ms))
				st->last_modified_ms = 0;
		} else if (!strcmp(name, "ETag")) {
			s3i_buf_clear(&st->etag);
			if (len >= 2 && text[0] == '"' && text[len - 1] == '"')
				rc = s3i_buf_put(&st->etag, text + 1, len - 2);
			else
				rc = s3i_buf_put(&st->etag, text, len);
		} else if (!strcmp(name, "StorageClass")) {
			s3i_buf_clear(&st->storage_class);
			rc = s3i_buf_put(&st->storage_class, text, len);
		}
	} else if (depth == 2 && !strcmp(name, "Contents")) {
		s3i_s3_object_info info = { sizeof(info), s3i_buf_cstr(&st->key), st->size,
			st->last_modified_ms, s3i_buf_cstr(&st->etag), s3i_buf_cstr(&st->storage_class) };
		st->count++;
		if (st->fn(st->payload, &info)) {
			st->stopped = 1;
			return S3I_EUSER;
		}
		s3i_buf_clear(&st->key);
		s3i_buf_clear(&st->etag);
		s3i_buf_clear(&st->storage_class);
		st->size = st->last_modified_ms = 0;
	} else if (depth == 2 && !strcmp(name, "IsTruncated")) {
		st->truncated = len == 4 && !memcmp(text, "true", 4);
	} else if (depth == 2 && !strcmp(name, "NextContinuationToken")) {
		s3i_buf_clear(&st->token);
		rc = s3i_buf_put(&st->token, text, len);
	}
	return rc;
}

int s3i_s3_list_objects_op(const s3i_svc *svc, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload, s3i_errinfo *err)
{
	int rc = check_names(bucket, NULL, 0, err);
	if (rc)
		return rc;
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	char res[600];
	describe(res, sizeof(res), bucket, NULL);
	list_state st = { .alloc = a, .fn = fn, .payload = payload };
	s3i_buf_init(&st.key, a);
	s3i_buf_init(&st.etag, a);
	s3i_buf_init(&st.storage_class, a);
	s3i_buf_init(&st.token, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	do {
		s3i_params q;
		s3i_params_init(&q, a);
		if ((rc = s3i_params_add(&q, "list-type", "2")) ||
			(rc = s3i_params_add(&q, "encoding-type", "url")) ||
			(prefix && *prefix && (rc = s3i_params_add(&q, "prefix", prefix))) ||
			(st.token.size && (rc = s3i_params_add(&q, "continuation-token", st.token.ptr)))) {
			s3i_params_free(&q);
			rc = s3i_err(err, rc, res, "ListObjectsV2: out of memory");
			break;
		}
		s3i_call call = { .operation = "ListObjectsV2", .method = "GET", .bucket = bucket,
			.params = &q, .resource = res };
		rc = run(svc, &call, &resp, err);
		s3i_params_free(&q);
		if (rc)
			break;
		st.truncated = 0;
		s3i_buf_clear(&st.token);
		rc = s3i_xml_parse(a, resp.body.ptr, resp.body.size, NULL, list_end, &st, err);
		if (rc == S3I_EUSER && st.stopped) {
			rc = s3i_err(err, S3I_EUSER, res, "ListObjectsV2 on %s: stopped by the callback", res);
			break;
		}
		if (rc) {
			s3i_err_prefix(err, "ListObjectsV2 on %s: ", res);
			break;
		}
		if (st.truncated && !st.token.size) {
			rc = s3i_err(err, S3I_EPARSE, res, "ListObjectsV2 on %s: truncated page without "
				"NextContinuationToken", res);
			break;
		}
	} while (st.truncated);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&st.key);
	s3i_buf_dispose(&st.etag);
	s3i_buf_dispose(&st.storage_class);
	s3i_buf_dispose(&st.token);
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

int s3i_s3_put_object_file(s3i_ctx *ctx, const char *bucket, const char *key, const char *path)
{
	REQUIRE_CTX(ctx);
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
	int rc = s3i_s3_put_object_stream_op(&s, bucket, key, file_read, file_rewind, &fs, len,
		NULL, NULL);
	fclose(fs.f);
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

int s3i_s3_list_objects(s3i_ctx *ctx, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload)
{
	REQUIRE_CTX(ctx);
	if (!fn)
		return s3i_err(NULL, S3I_EINVALID, "fn", "listing callback is NULL");
	s3i_svc s = ctx_svc(ctx);
	return s3i_s3_list_objects_op(&s, bucket, prefix, fn, payload, s3i_errinfo_thread());
}
