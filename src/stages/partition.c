/*
 * Partition (DESIGN §4.4): a claimed manifest's data files into the consolidated layout, each
 * verified against the manifest and counted exactly once; and the partition stage handle,
 * which finishes the claimed manifests of a run from the state table (stage_partition.h).
 *
 * Cost. Counting a file's objects and bytes needs its rows, so every data file is read once.
 * A file whose fileSchema is the run's is copied server-side first and then read back from
 * the consolidated bucket, in the host region: the read is not a cross-region transfer, and
 * the one read checks what was really stored (its size and MD5 against the manifest) and
 * counts it. A file that must be rewritten is read from the staging bucket instead (its MD5
 * and size checked on the way), rewritten and gzipped into a temporary file (memory stays
 * bounded whatever its size) and uploaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "s3insights/stage_partition.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "stages/inventory_csv.h"
#include "stages/names.h"
#include "stages/partition.h"
#include "stages/s3_event.h"
#include "stages/run_internal.h"
#include "stages/stage_common.h"

/* Stop starting new files when less than this is left before the deadline. */
#define FILE_MARGIN_MS 2000
#define MANIFEST_POLL_MS 250
#define MANIFEST_MAX_BYTES (64u << 20)

static const s3i_logger *logger_of(s3i_deployment *d)
{
	return s3i_client_logger(s3i_deployment_client(d));
}

int s3i_part_dest_key(char *out, size_t cap, const char *run_id, const char *account,
	const char *region, const char *bucket, const char *data_key)
{
	int rc = s3i_names_partition_prefix(out, cap, run_id, account, region, bucket);
	if (rc)
		return rc;
	const char *slash = strrchr(data_key, '/');
	const char *name = slash ? slash + 1 : data_key;
	size_t have = strlen(out), n = strlen(name);
	if (!n || have + n + 1 > cap)
		return s3i_err(NULL, S3I_EINVALID, data_key, "data file key '%s' gives no "
			"consolidated key", data_key);
	memcpy(out + have, name, n + 1);
	return S3I_OK;
}

int s3i_part_fail_bucket(s3i_run *run, const char *account, const char *bucket,
	const char *reason, s3i_errinfo *err)
{
	s3i_deployment *d = s3i_run_deployment(run);
	int moved = 0;
	int rc = s3i_state_bucket_set_status(s3i_run_state(run), s3i_run_id(run), account, bucket,
		S3I_BUCKET_FAILED, reason, s3i_deployment_now_ms(d), &moved, err);
	if (!rc)
		s3i_log(logger_of(d), S3I_LOG_WARN, "run %s: bucket '%s' of account %s %s: %s",
			s3i_run_id(run), bucket, account, moved ? "failed" : "(already final) failed again",
			reason);
	return rc;
}

/* ------------------------------------------------------------------ manifests */

static int buf_sink(void *user, const char *data, size_t len)
{
	s3i_buf *b = user;
	if (b->size + len > MANIFEST_MAX_BYTES)
		return S3I_EPARSE;       /* no manifest is that large: stop reading */
	return s3i_buf_put(b, data, len) ? S3I_ENOMEM : 0;
}

static int buf_reset(void *user)
{
	s3i_buf_clear(user);
	return 0;
}

/* A whole small object into memory. */
static int get_small(const s3i_svc *svc, const char *bucket, const char *key, s3i_buf *out,
	s3i_errinfo *err)
{
	s3i_buf_clear(out);
	return s3i_s3_get_object_op(svc, bucket, key, buf_sink, buf_reset, out, err);
}

int s3i_part_fetch_manifest(s3i_deployment *d, const char *region, const char *staging_bucket,
	const char *manifest_key, int64_t wait_ms, int64_t deadline_ms, s3i_manifest *out,
	s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_deployment_alloc(d);
	memset(out, 0, sizeof(*out));
	s3i_svc svc = { s3i_deployment_client(d), NULL, region };
	s3i_buf json, sum, sum_key;
	s3i_buf_init(&json, a);
	s3i_buf_init(&sum, a);
	s3i_buf_init(&sum_key, a);
	char what[1400];
	snprintf(what, sizeof(what), "manifest '%s' in bucket '%s'", manifest_key, staging_bucket);
	int rc = s3i_inventory_sibling_key(&sum_key, manifest_key, strlen(manifest_key),
		"manifest.checksum");
	if (rc) {
		rc = s3i_err(err, rc, staging_bucket, "%s: no manifest.checksum key beside it", what);
		goto out;
	}
	int64_t start = s3i_deployment_now_ms(d);
	for (;;) {
		rc = get_small(&svc, staging_bucket, manifest_key, &json, err);
		if (!rc)
			rc = get_small(&svc, staging_bucket, sum_key.ptr, &sum, err);
		if (rc != S3I_ENOTFOUND || !err || strcmp(err->aws_code, "NoSuchKey"))
			break;
		int64_t now = s3i_deployment_now_ms(d);
		if (now - start >= wait_ms || (deadline_ms && now + MANIFEST_POLL_MS >= deadline_ms))
			break;
		s3i_client_sleep_ms(s3i_deployment_client(d), MANIFEST_POLL_MS);
	}
	if (rc)
		goto out;
	if (json.size > MANIFEST_MAX_BYTES) {
		rc = s3i_err(err, S3I_EPARSE, staging_bucket, "%s is %zu bytes, more than a manifest "
			"can be", what, json.size);
		goto out;
	}
	if ((rc = s3i_manifest_checksum_verify(json.ptr ? json.ptr : "", json.size,
		sum.ptr ? sum.ptr : "", sum.size, what, err)))
		goto out;
	rc = s3i_manifest_parse(out, json.ptr ? json.ptr : "", json.size, what, a, err);
out:
	s3i_buf_dispose(&json);
	s3i_buf_dispose(&sum);
	s3i_buf_dispose(&sum_key);
	return rc;
}

/* ------------------------------------------------------------------ the data pipeline */

/* Bytes of a data file as they arrive: MD5 and size of what came, then (CSV) gunzip, the
 * rewriter (which counts rows and sums Size), and for a rewrite gzip into a temporary file. */
typedef struct pipeline {
	const s3i_allocator *a;
	const char *what;
	int csv;
	const s3i_inv_schema *from, *to;
	FILE *out;                   /* rewrite: the gzipped output; NULL: rows are only counted */
	EVP_MD_CTX *md5;
	int64_t in_bytes;
	s3i_gunzip *gz;
	s3i_csv_rewriter *rw;
	s3i_gzip_writer *gzw;
	s3i_errinfo err;             /* the detail of a failure inside the chain */
	int failed;
} pipeline;

static int to_file(void *user, const void *data, size_t len)
{
	pipeline *p = user;
	if (len && fwrite(data, 1, len, p->out) != len)
		return s3i_err(&p->err, S3I_EIO, p->what, "rewriting %s: cannot write the temporary "
			"file", p->what);
	return 0;
}

static int rewritten(void *user, const void *data, size_t len)
{
	pipeline *p = user;
	if (!p->gzw)
		return 0;
	return s3i_gzip_writer_write(p->gzw, data, len, &p->err);
}

static int unzipped(void *user, const void *data, size_t len)
{
	pipeline *p = user;
	return s3i_csv_rewriter_feed(p->rw, data, len, &p->err);
}

static void pipe_close(pipeline *p)
{
	s3i_gunzip_free(p->gz);
	s3i_csv_rewriter_free(p->rw);
	s3i_gzip_writer_free(p->gzw);
	p->gz = NULL;
	p->rw = NULL;
	p->gzw = NULL;
}

static int pipe_open(pipeline *p)
{
	pipe_close(p);
	p->in_bytes = 0;
	p->failed = 0;
	if (!EVP_DigestInit_ex(p->md5, EVP_md5(), NULL))
		return s3i_err(&p->err, S3I_ERROR, p->what, "%s: MD5 is not available", p->what);
	if (p->out) {
		rewind(p->out);
		if (ftruncate(fileno(p->out), 0))
			return s3i_err(&p->err, S3I_EIO, p->what, "rewriting %s: cannot empty the "
				"temporary file", p->what);
	}
	if (!p->csv)
		return S3I_OK;
	int rc;
	if (p->out && (rc = s3i_gzip_writer_new(&p->gzw, p->a, 6, to_file, p, &p->err)))
		return rc;
	if ((rc = s3i_csv_rewriter_new(&p->rw, p->a, p->what, p->from, p->to, rewritten, p,
		&p->err)))
		return rc;
	return s3i_gunzip_new(&p->gz, p->a, p->what, unzipped, p, &p->err);
}

static int pipe_sink(void *user, const char *data, size_t len)
{
	pipeline *p = user;
	if (!EVP_DigestUpdate(p->md5, data, len)) {
		s3i_err(&p->err, S3I_ERROR, p->what, "%s: MD5 failed", p->what);
		p->failed = 1;
		return S3I_ERROR;
	}
	p->in_bytes += (int64_t)len;
	/* a file that does not unzip or parse is read to its end all the same: its size and MD5
	 * against the manifest say more than the parse error (a file cut or changed) */
	if (!p->failed && p->gz && s3i_gunzip_feed(p->gz, data, len, &p->err))
		p->failed = 1;
	return 0;
}

static int pipe_reset(void *user)
{
	pipeline *p = user;
	return pipe_open(p) ? -1 : 0;
}

/* After the whole body: end the chain. */
static int pipe_finish(pipeline *p)
{
	int rc;
	if (p->gz && ((rc = s3i_gunzip_finish(p->gz, &p->err)) ||
		(rc = s3i_csv_rewriter_finish(p->rw, &p->err))))
		return rc;
	if (p->gzw && (rc = s3i_gzip_writer_finish(p->gzw, &p->err)))
		return rc;
	if (p->out && fflush(p->out))
		return s3i_err(&p->err, S3I_EIO, p->what, "rewriting %s: cannot write the temporary "
			"file", p->what);
	return S3I_OK;
}

static int file_read(void *user, char *buf, size_t cap, size_t *out_len)
{
	FILE *f = user;
	*out_len = fread(buf, 1, cap, f);
	return ferror(f) ? S3I_EIO : 0;
}

static int file_rewind(void *user)
{
	return fseek((FILE *)user, 0, SEEK_SET) ? S3I_EIO : 0;
}

/* ------------------------------------------------------------------ one data file */

typedef struct part_job {
	s3i_run *run;
	const s3i_part_target *t;
	const s3i_manifest *m;
	const s3i_manifest_file *f;
	const s3i_inv_schema *canonical;
	const s3i_part_cfg *cfg;
	int rewrite;                 /* the file's schema differs from the run's */
	char dest_key[1400];
	char what[1500];
	int64_t objects, bytes;
	int final;                   /* its failure fails the bucket */
	int rc;                      /* the outcome so far, detail in err */
	s3i_errinfo err;
	pipeline p;
	int opened;
	/* the batched transfer: CopyObject, then GetObject of the copy */
	s3i_call call;
	s3i_headers hdr;
	s3i_buf copy_source;
	char res[1600];
	s3i_client_batch *batch;
} part_job;

/* Final for the bucket: the file does not match or cannot be read as it is. */
static int is_final(int rc, const s3i_errinfo *e)
{
	if (rc == S3I_ECHECKSUM || rc == S3I_EPARSE)
		return 1;
	return rc == S3I_ENOTFOUND && !strcmp(e->aws_code, "NoSuchKey");
}

static int check_against_manifest(part_job *j, const char *md5)
{
	if (j->p.in_bytes != j->f->size)
		return s3i_err(&j->err, S3I_ECHECKSUM, j->f->key, "data file '%s' of bucket '%s' is "
			"%lld bytes, its manifest says %lld", j->f->key, j->t->staging_bucket,
			(long long)j->p.in_bytes, (long long)j->f->size);
	if (strcmp(md5, j->f->md5))
		return s3i_err(&j->err, S3I_ECHECKSUM, j->f->key, "data file '%s' of bucket '%s' has "
			"MD5 %s, its manifest says %s", j->f->key, j->t->staging_bucket, md5, j->f->md5);
	return S3I_OK;
}

static s3i_svc host_of(const part_job *j)
{
	s3i_deployment *d = s3i_run_deployment(j->run);
	s3i_svc svc = { s3i_deployment_client(d), NULL, s3i_deployment_host_region(d) };
	return svc;
}

/* The consolidated key and the pipeline. */
static int job_open(part_job *j)
{
	s3i_deployment *d = s3i_run_deployment(j->run);
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_errinfo_init(&j->err);
	s3i_errinfo_init(&j->p.err);
	s3i_headers_init(&j->hdr, a);
	s3i_buf_init(&j->copy_source, a);
	j->opened = 1;
	snprintf(j->what, sizeof(j->what), "data file '%s' of bucket '%s'", j->f->key,
		j->t->staging_bucket);
	int rc = s3i_part_dest_key(j->dest_key, sizeof(j->dest_key), s3i_run_id(j->run),
		j->t->account, j->t->region, j->t->bucket, j->f->key);
	if (rc) {
		j->final = 1;          /* no retry makes the key fit */
		return j->rc = s3i_err(&j->err, rc, j->f->key, "%s: no consolidated key for it",
			j->what);
	}
	j->p.a = a;
	j->p.what = j->what;
	j->p.csv = j->m->format == S3I_FORMAT_CSV;
	j->p.from = &j->m->schema;
	j->p.to = j->canonical;
	if (!(j->p.md5 = EVP_MD_CTX_new()))
		return j->rc = s3i_err(&j->err, S3I_ENOMEM, j->f->key, "%s: out of memory", j->what);
	if (j->rewrite && !(j->p.out = tmpfile()))
		return j->rc = s3i_err(&j->err, S3I_EIO, j->f->key, "rewriting %s: no temporary "
			"file", j->what);
	if ((rc = pipe_open(&j->p))) {
		s3i_errinfo_copy(&j->err, &j->p.err);
		return j->rc = rc;
	}
	return S3I_OK;
}

static void job_dispose(part_job *j)
{
	if (!j->opened)
		return;
	pipe_close(&j->p);
	EVP_MD_CTX_free(j->p.md5);
	if (j->p.out)
		fclose(j->p.out);
	s3i_headers_free(&j->hdr);
	s3i_buf_dispose(&j->copy_source);
	j->opened = 0;
}

/* One after the other: a copy of any size (multipart above the threshold) and its read back,
 * or the read of a file to rewrite. */
static int job_transfer(part_job *j)
{
	s3i_deployment *d = s3i_run_deployment(j->run);
	s3i_svc host = host_of(j);
	s3i_svc staging = { s3i_deployment_client(d), NULL, j->t->region };
	const char *bucket = s3i_deployment_consolidated_bucket(d), *key = j->dest_key;
	const s3i_svc *svc = &host;
	int rc;
	if (j->rewrite) {
		bucket = j->t->staging_bucket;
		key = j->f->key;
		svc = &staging;
	} else {
		s3i_s3_transfer_options to = S3I_S3_TRANSFER_OPTIONS_INIT;
		to.copy_threshold = j->cfg->copy_threshold;
		to.source_size = j->f->size > 0 ? j->f->size : 0;
		s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
		if ((rc = s3i_s3_copy_object_op(&host, j->t->staging_bucket, j->f->key, bucket, key,
			&to, &meta, &j->err)))
			return j->rc = rc;
	}
	rc = s3i_s3_get_object_range_op(svc, bucket, key, NULL, NULL, pipe_sink, pipe_reset, &j->p,
		&j->err);
	if (rc && j->p.failed && j->p.err.pub.code == S3I_ERROR)
		s3i_errinfo_copy(&j->err, &j->p.err);     /* the sink's own failure (MD5) */
	return j->rc = rc;
}

static void get_done(void *user, int status, s3i_http_response *resp, const s3i_errinfo *err)
{
	part_job *j = user;
	(void)resp;
	if ((j->rc = status))
		s3i_errinfo_copy(&j->err, j->p.failed && j->p.err.pub.code == S3I_ERROR ? &j->p.err :
			err);
}

static void copy_done(void *user, int status, s3i_http_response *resp, const s3i_errinfo *err)
{
	part_job *j = user;
	if (status) {
		j->rc = status;
		s3i_errinfo_copy(&j->err, err);
		return;
	}
	/* CopyObject may answer 200 with an <Error> document: a failure that may pass */
	const char *body = resp->body.ptr ? resp->body.ptr : "";
	size_t len = resp->body.size;
	while (len && (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')) {
		body++;
		len--;
	}
	s3i_s3_result_doc doc;
	if (!len) {
		j->rc = s3i_s3_embedded_error(&j->call, resp, NULL, &j->err);
		return;
	}
	if ((j->rc = s3i_s3_parse_result(j->p.a, body, len, S3I_S3_RESULT_COPY, "CopyObject", &doc,
		&j->err)))
		return;
	if (doc.is_error) {
		j->rc = s3i_s3_embedded_error(&j->call, resp, &doc.error, &j->err);
		return;
	}
	s3i_deployment *d = s3i_run_deployment(j->run);
	s3i_call get = { .svc = &s3i_svc_s3, .operation = "GetObject", .method = "GET",
		.bucket = s3i_deployment_consolidated_bucket(d), .key = j->dest_key,
		.resource = j->res, .region = s3i_deployment_host_region(d), .sink = pipe_sink,
		.sink_user = &j->p, .sink_reset = pipe_reset };
	j->call = get;
	j->rc = s3i_client_batch_add(j->batch, &j->call, get_done, j, &j->err);
}

/* Queue the copy of a file no larger than the copy threshold on the batch. */
static int job_add_copy(part_job *j, s3i_client_batch *batch)
{
	s3i_deployment *d = s3i_run_deployment(j->run);
	const char *consolidated = s3i_deployment_consolidated_bucket(d);
	char dst[700];
	snprintf(j->res, sizeof(j->res), "%s (copied from %s)",
		s3i_s3_describe(dst, sizeof(dst), consolidated, j->dest_key), j->what);
	int rc;
	if ((rc = s3i_s3_copy_source(&j->copy_source, j->t->staging_bucket, j->f->key, NULL)) ||
		(rc = s3i_headers_add(&j->hdr, "x-amz-copy-source", j->copy_source.ptr)) ||
		(rc = s3i_headers_add(&j->hdr, "x-amz-metadata-directive", "COPY")))
		return j->rc = s3i_err(&j->err, S3I_ENOMEM, j->f->key, "%s: out of memory", j->what);
	s3i_call copy = { .svc = &s3i_svc_s3, .operation = "CopyObject", .method = "PUT",
		.bucket = consolidated, .key = j->dest_key, .headers = &j->hdr, .resource = j->res,
		.region = s3i_deployment_host_region(d) };
	j->call = copy;
	j->batch = batch;
	return j->rc = s3i_client_batch_add(batch, &j->call, copy_done, j, &j->err);
}

/* After the transfer: the size and MD5 against the manifest, the rows counted, a rewritten
 * file uploaded. A final failure of a copy removes the copy. */
static int job_finish(part_job *j)
{
	s3i_deployment *d = s3i_run_deployment(j->run);
	s3i_svc host = host_of(j);
	const char *consolidated = s3i_deployment_consolidated_bucket(d);
	int rc = j->rc;
	char md5[33] = "";
	if (!rc) {
		/* size and MD5 first: a file that is not what its manifest lists fails as such */
		unsigned char dg[EVP_MAX_MD_SIZE];
		unsigned int dn = 0;
		if (!EVP_DigestFinal_ex(j->p.md5, dg, &dn) || dn != 16)
			rc = s3i_err(&j->err, S3I_ERROR, j->f->key, "%s: MD5 failed", j->what);
		else
			s3i_hex_encode(md5, dg, 16);
	}
	if (!rc)
		rc = check_against_manifest(j, md5);
	if (!rc && j->p.failed) {
		s3i_errinfo_copy(&j->err, &j->p.err);
		rc = j->p.err.pub.code < 0 ? j->p.err.pub.code : S3I_ERROR;
	}
	if (!rc && (rc = pipe_finish(&j->p)))
		s3i_errinfo_copy(&j->err, &j->p.err);
	if (!rc && j->p.csv) {
		j->objects = (int64_t)s3i_csv_rewriter_rows(j->p.rw);
		j->bytes = s3i_csv_rewriter_bytes(j->p.rw);
	}
	if (!rc && j->rewrite) {
		long len = ftell(j->p.out);
		if (len < 0 || fseek(j->p.out, 0, SEEK_SET)) {
			rc = s3i_err(&j->err, S3I_EIO, j->f->key, "rewriting %s: cannot read the "
				"temporary file back", j->what);
		} else {
			s3i_s3_transfer_options to = S3I_S3_TRANSFER_OPTIONS_INIT;
			to.content_type = "application/octet-stream";
			s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
			rc = s3i_s3_upload_op(&host, consolidated, j->dest_key, (int64_t)len, &to, &meta,
				file_read, file_rewind, j->p.out, &j->err);
		}
	}
	if (rc && (j->final = is_final(rc, &j->err)) && !j->rewrite) {
		/* never leave an unverified copy in the consolidated layout */
		s3i_errinfo ignored;
		s3i_errinfo_init(&ignored);
		s3i_s3_delete_object_op(&host, consolidated, j->dest_key, &ignored);
	}
	return j->rc = rc;
}

/* ------------------------------------------------------------------ a manifest */

typedef struct counted_set {
	const s3i_allocator *a;
	char **keys;
	size_t n, cap;
} counted_set;

static int counted_add(void *user, const s3i_state_file *f)
{
	counted_set *s = user;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **k = s3i_realloc(s->a, s->keys, cap * sizeof(*k));
		if (!k)
			return S3I_ENOMEM;
		s->keys = k;
		s->cap = cap;
	}
	if (!(s->keys[s->n] = s3i_strdup(s->a, f->data_key)))
		return S3I_ENOMEM;
	s->n++;
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int counted_has(const counted_set *s, const char *key)
{
	return s->n && bsearch(&key, s->keys, s->n, sizeof(char *), cmp_str) != NULL;
}

static void counted_free(counted_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		s3i_free(s->a, s->keys[i]);
	s3i_free(s->a, s->keys);
}

/* The run's canonical schema and report format. */
static int run_schema(s3i_run *run, s3i_inv_schema *out, s3i_report_format *fmt)
{
	const s3i_run_input *in = s3i_run_get_input(run);
	int all = s3i_run_input_get_object_versions(in) == S3I_OBJECT_VERSIONS_ALL;
	*fmt = S3I_FORMAT_CSV;
	if (s3i_run_input_get_snapshot(in) == S3I_SNAPSHOT_INVENTORY) {
		switch (s3i_run_input_get_inventory_format(in)) {
		case S3I_INVENTORY_FORMAT_ORC: *fmt = S3I_FORMAT_ORC; break;
		case S3I_INVENTORY_FORMAT_PARQUET: *fmt = S3I_FORMAT_PARQUET; break;
		default: break;
		}
	}
	return s3i_inv_schema_canonical(out, all, s3i_deployment_alloc(s3i_run_deployment(run)));
}

static const char *format_name(s3i_report_format f)
{
	return f == S3I_FORMAT_ORC ? "ORC" : f == S3I_FORMAT_PARQUET ? "Parquet" : "CSV";
}

int s3i_part_manifest(s3i_run *run, const s3i_part_target *t, const s3i_manifest *m,
	const s3i_part_cfg *cfg, int64_t deadline_ms, s3i_part_outcome *outcome,
	s3i_part_stats *stats, s3i_errinfo *err)
{
	s3i_deployment *d = s3i_run_deployment(run);
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_state *state = s3i_run_state(run);
	const char *run_id = s3i_run_id(run);
	s3i_part_stats local = { 0 };
	if (!stats)
		stats = &local;
	*outcome = S3I_PART_UNFINISHED;
	s3i_inv_schema canonical;
	s3i_report_format fmt;
	counted_set done = { a, NULL, 0, 0 };
	char reason[1400];
	int rc = run_schema(run, &canonical, &fmt);
	if (rc)
		return s3i_err(err, rc, run_id, "run '%s': out of memory", run_id);
	int rewrite = !s3i_inv_schema_equal(&m->schema, &canonical);
	if (m->format != fmt || (rewrite && m->format != S3I_FORMAT_CSV)) {
		if (m->format != fmt)
			snprintf(reason, sizeof(reason), "manifest '%s' in bucket '%s' is a %s report; "
				"run '%s' reads %s reports", t->manifest_key, t->staging_bucket,
				format_name(m->format), run_id, format_name(fmt));
		else
			snprintf(reason, sizeof(reason), "manifest '%s' in bucket '%s': a %s report "
				"whose fileSchema differs from the run's cannot be rewritten (only CSV "
				"can)", t->manifest_key, t->staging_bucket, format_name(m->format));
		goto fail_bucket;
	}
	if ((rc = s3i_state_files_list(state, run_id, t->account, t->bucket, counted_add, &done,
		err)))
		goto out;
	if (done.n)
		qsort(done.keys, done.n, sizeof(char *), cmp_str);

	/* the files left, in manifest order, a batch of `concurrency` at a time */
	size_t nleft = 0, *left = s3i_calloc(a, m->n_files ? m->n_files : 1, sizeof(size_t));
	part_job *jobs = s3i_calloc(a, (size_t)cfg->concurrency, sizeof(part_job));
	if (!left || !jobs) {
		rc = s3i_err(err, S3I_ENOMEM, t->bucket, "partition of bucket '%s': out of memory",
			t->bucket);
		goto out_jobs;
	}
	for (size_t i = 0; i < m->n_files; i++) {
		if (counted_has(&done, m->files[i].key))
			stats->already++;
		else
			left[nleft++] = i;
	}
	s3i_s3_transfer_options defaults;
	s3i_s3_transfer_options asked = S3I_S3_TRANSFER_OPTIONS_INIT;
	asked.copy_threshold = cfg->copy_threshold;
	s3i_s3_transfer_defaults(&defaults, &asked);
	int failed_final = 0;
	for (size_t k = 0; k < nleft && !failed_final;) {
		if (deadline_ms && s3i_deployment_now_ms(d) + FILE_MARGIN_MS >= deadline_ms)
			goto out_jobs;         /* UNFINISHED */
		if (cfg->heartbeat)
			cfg->heartbeat(cfg->heartbeat_user);
		/* a rewrite goes through a temporary file and an upload: one at a time */
		size_t n = rewrite ? 1 : nleft - k < (size_t)cfg->concurrency ? nleft - k
			: (size_t)cfg->concurrency;
		s3i_client_batch *batch = NULL;
		int batched = 0;
		for (size_t i = 0; i < n; i++) {
			part_job *j = &jobs[i];
			memset(j, 0, sizeof(*j));
			j->run = run;
			j->t = t;
			j->m = m;
			j->f = &m->files[left[k + i]];
			j->canonical = &canonical;
			j->cfg = cfg;
			j->rewrite = rewrite;
			if (job_open(j))
				continue;
			if (!rewrite && n > 1 && j->f->size <= defaults.copy_threshold) {
				if (!batch && (rc = s3i_client_batch_new(&batch, s3i_deployment_client(d),
					(int)n, err)))
					break;
				if (!job_add_copy(j, batch))
					batched++;
			} else {
				job_transfer(j);
			}
		}
		if (!rc && batched)
			rc = s3i_client_batch_run(batch, err);
		s3i_client_batch_free(batch);
		/* count what arrived intact, in order; then fail the bucket or give up the step */
		int transient = 0;
		for (size_t i = 0; !rc && i < n; i++) {
			part_job *j = &jobs[i];
			if (!j->rc)
				job_finish(j);
			if (j->rc) {
				if (j->final) {
					if (!failed_final)
						snprintf(reason, sizeof(reason), "%s", j->err.message);
					failed_final = 1;
				} else if (!transient) {
					transient = j->rc;
					s3i_errinfo_copy(err, &j->err);
				}
				continue;
			}
			s3i_crashpoint("ingest.after_copy");
			int counted = 0;
			if ((rc = s3i_state_file_done(state, run_id, t->account, t->bucket, j->f->key,
				j->dest_key, j->f->size, j->f->md5, j->objects, j->bytes,
				s3i_deployment_now_ms(d), &counted, err)))
				break;
			if (!counted)
				stats->already++;
			else if (rewrite)
				stats->rewritten++;
			else
				stats->copied++;
		}
		for (size_t i = 0; i < n; i++)
			job_dispose(&jobs[i]);
		if (!rc && transient && !failed_final)
			rc = transient;
		if (rc)
			goto out_jobs;
		k += n;
	}
	if (failed_final) {
		s3i_free(a, left);
		s3i_free(a, jobs);
		goto fail_bucket;
	}
	s3i_free(a, left);
	s3i_free(a, jobs);
	left = NULL;
	jobs = NULL;
	int is_done = 0;
	if ((rc = s3i_part_complete_bucket(run, t->account, t->region, t->bucket, &is_done, err)))
		goto out;
	if (is_done) {
		*outcome = S3I_PART_COMPLETE;
		stats->buckets_done++;
	} else {
		/* every listed file is counted yet the bucket is not done: the state disagrees with
		 * the manifest (the claim of another manifest?), which no retry repairs */
		snprintf(reason, sizeof(reason), "every data file of manifest '%s' in bucket '%s' is "
			"counted but the bucket's counts do not complete it", t->manifest_key,
			t->staging_bucket);
		goto fail_bucket;
	}
	goto out;
out_jobs:
	s3i_free(a, left);
	s3i_free(a, jobs);
	goto out;
fail_bucket:
	if (!(rc = s3i_part_fail_bucket(run, t->account, t->bucket, reason, err))) {
		*outcome = S3I_PART_FAILED;
		stats->buckets_failed++;
	}
out:
	counted_free(&done);
	s3i_inv_schema_dispose(&canonical);
	return rc;
}

int s3i_part_complete_bucket(s3i_run *run, const char *account, const char *region,
	const char *bucket, int *done, s3i_errinfo *err)
{
	s3i_deployment *d = s3i_run_deployment(run);
	s3i_state *state = s3i_run_state(run);
	const char *run_id = s3i_run_id(run);
	int is_done = 0;
	if (done)
		*done = 0;
	int rc = s3i_state_bucket_try_complete(state, run_id, account, bucket,
		s3i_deployment_now_ms(d), &is_done, err);
	if (rc || !is_done)
		return rc;
	if (done)
		*done = 1;
	char id[128];
	if ((rc = s3i_names_inventory_id(id, sizeof(id), s3i_deployment_name(d), run_id)))
		return s3i_err(err, rc, run_id, "run '%s': no inventory configuration id", run_id);
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	rc = s3i_run_account_svc(run, account, region, &svc, &hold, &e);
	if (!rc) {
		rc = s3i_s3_delete_bucket_inventory_configuration_op(&svc, bucket, id, &e);
		if (rc == S3I_ENOTFOUND && !strcmp(e.aws_code, "NoSuchInventoryConfig"))
			rc = S3I_OK;
	}
	s3i_credprov_release(hold);
	if (!rc)
		rc = s3i_state_bucket_set_inventory_configured(state, run_id, account, bucket, 0,
			s3i_deployment_now_ms(d), &e);
	if (rc)
		s3i_log(logger_of(d), S3I_LOG_WARN, "run %s: bucket '%s' of account %s is done, but "
			"its inventory configuration '%s' is left for teardown: %s", run_id, bucket,
			account, id, e.message);
	return S3I_OK;
}

/* ------------------------------------------------------------------ the stage handle */

struct s3i_partition {
	s3i_run *run;
	s3i_part_cfg cfg;
	s3i_errinfo err;
	const s3i_allocator *alloc;
};

int s3i_partition_new(s3i_partition **out, s3i_run *run, const s3i_partition_options *opts)
{
	if (!out || !run)
		return s3i_err(NULL, S3I_EINVALID, "partition", "s3i_partition_new: out and run are "
			"required");
	*out = NULL;
	s3i_partition_options o = S3I_PARTITION_OPTIONS_INIT;
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > 4096)
			return s3i_err(NULL, S3I_EINVALID, "partition", "s3i_partition_new: "
				"opts->struct_size %u is not a size of s3i_partition_options",
				(unsigned)opts->struct_size);
	}
	s3i_stage_options_copy(&o, sizeof(o), opts);
	if (o.concurrency < 0 || o.concurrency > S3I_PART_MAX_CONCURRENCY)
		return s3i_err(NULL, S3I_EINVALID, "concurrency", "s3i_partition_new: concurrency %d "
			"is outside 0..%d", (int)o.concurrency, S3I_PART_MAX_CONCURRENCY);
	if (o.copy_threshold < 0)
		return s3i_err(NULL, S3I_EINVALID, "copy_threshold", "s3i_partition_new: "
			"copy_threshold %lld is negative", (long long)o.copy_threshold);
	const s3i_allocator *a = s3i_deployment_alloc(s3i_run_deployment(run));
	s3i_partition *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, "partition", "s3i_partition_new: out of memory");
	st->run = run;
	st->alloc = a;
	st->cfg.concurrency = o.concurrency ? o.concurrency : S3I_PART_DEFAULT_CONCURRENCY;
	st->cfg.copy_threshold = o.copy_threshold;
	s3i_errinfo_init(&st->err);
	*out = st;
	return S3I_OK;
}

/* The buckets with a claimed manifest and files left: status INGESTING. */
typedef struct pending_bucket {
	char account[16];
	char region[32];
	char bucket[64];
	char manifest_key[1100];
} pending_bucket;

typedef struct pending_list {
	const s3i_allocator *a;
	pending_bucket *items;
	size_t n, cap;
} pending_list;

static int pending_add(void *user, const s3i_state_bucket *b)
{
	pending_list *l = user;
	if (b->status != S3I_BUCKET_INGESTING || !b->manifest_key[0])
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		pending_bucket *p = s3i_realloc(l->a, l->items, cap * sizeof(*p));
		if (!p)
			return S3I_ENOMEM;
		l->items = p;
		l->cap = cap;
	}
	pending_bucket *p = &l->items[l->n++];
	memcpy(p->account, b->account, sizeof(p->account));
	memcpy(p->region, b->region, sizeof(p->region));
	memcpy(p->bucket, b->bucket, sizeof(p->bucket));
	memcpy(p->manifest_key, b->manifest_key, sizeof(p->manifest_key));
	return 0;
}

int s3i_partition_step(s3i_partition *st, int64_t deadline_ms, int *finished)
{
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, "partition",
			"s3i_partition_step: st and finished are required");
	*finished = 0;
	s3i_errinfo_clear(&st->err);
	s3i_deployment *d = s3i_run_deployment(st->run);
	const char *run_id = s3i_run_id(st->run);
	pending_list l = { st->alloc, NULL, 0, 0 };
	int rc = s3i_state_buckets_list(s3i_run_state(st->run), run_id, pending_add, &l, &st->err);
	if (rc == S3I_EUSER || rc == S3I_ENOMEM)
		rc = s3i_err(&st->err, S3I_ENOMEM, run_id, "partition of run '%s': out of memory",
			run_id);
	size_t left = l.n;
	int transient = S3I_OK;          /* the first failure that may pass, of any bucket */
	for (size_t i = 0; !rc && i < l.n; i++) {
		pending_bucket *b = &l.items[i];
		if (deadline_ms && s3i_deployment_now_ms(d) + FILE_MARGIN_MS >= deadline_ms)
			break;
		char staging[64];
		if ((rc = s3i_names_staging_bucket(staging, sizeof(staging), s3i_deployment_name(d),
			run_id, s3i_deployment_host_account(d), b->region))) {
			rc = s3i_err(&st->err, rc, b->region, "partition of run '%s': no staging bucket "
				"name for region '%s'", run_id, b->region);
			break;
		}
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		s3i_manifest m;
		int brc = s3i_part_fetch_manifest(d, b->region, staging, b->manifest_key,
			S3I_PART_DEFAULT_MANIFEST_WAIT_MS, deadline_ms, &m, &e);
		if (brc == S3I_ECHECKSUM || brc == S3I_EPARSE || brc == S3I_ENOTFOUND) {
			/* the manifest this bucket claimed is gone or no longer verifies: no retry
			 * brings it back */
			char reason[1400];
			snprintf(reason, sizeof(reason), "the claimed manifest cannot be read again: %s",
				e.message);
			rc = s3i_part_fail_bucket(st->run, b->account, b->bucket, reason, &st->err);
			s3i_manifest_dispose(&m);
			left--;
			continue;
		}
		if (!brc) {
			s3i_part_target t = { b->account, b->region, b->bucket, staging, b->manifest_key };
			s3i_part_outcome outcome = S3I_PART_UNFINISHED;
			brc = s3i_part_manifest(st->run, &t, &m, &st->cfg, deadline_ms, &outcome, NULL, &e);
			if (!brc && outcome != S3I_PART_UNFINISHED)
				left--;
		}
		s3i_manifest_dispose(&m);
		if (brc) {
			/* this bucket waits for the next step; the others go on */
			s3i_log(logger_of(d), S3I_LOG_WARN, "partition of run %s: bucket '%s' of account "
				"%s left for the next step: %s", run_id, b->bucket, b->account, e.message);
			if (!transient) {
				transient = brc;
				s3i_errinfo_copy(&st->err, &e);
			}
		}
	}
	s3i_free(st->alloc, l.items);
	if (!rc)
		*finished = left == 0;
	return rc ? rc : transient;
}

/* Steps in a row that may fail (with a failure that may pass) before run gives up. */
#define RUN_ATTEMPTS 3

int s3i_partition_run(s3i_partition *st)
{
	if (!st)
		return s3i_err(NULL, S3I_EINVALID, "partition", "s3i_partition_run: st is required");
	int finished = 0, rc, failures = 0;
	for (;;) {
		rc = s3i_partition_step(st, 0, &finished);
		if (!rc && finished)
			return S3I_OK;
		if (rc) {
			if (!s3i_status_is_retryable(rc) || ++failures >= RUN_ATTEMPTS)
				return rc;
			s3i_client_sleep_ms(s3i_deployment_client(s3i_run_deployment(st->run)),
				s3i_client_backoff_ms(s3i_deployment_client(s3i_run_deployment(st->run)),
				failures));
		} else {
			failures = 0;
		}
	}
}

const s3i_error *s3i_partition_error(const s3i_partition *st)
{
	static const s3i_error none = { sizeof(s3i_error), 0, 0, "", "", "", "" };
	return st ? &st->err.pub : &none;
}

void s3i_partition_free(s3i_partition *st)
{
	if (st)
		s3i_free(st->alloc, st);
}
