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
	int64_t objects, bytes;
	int final;                   /* a failure that fails the bucket */
} part_job;

/* Final for the bucket: the file does not match or cannot be read as it is. */
static int is_final(int rc, const s3i_errinfo *e)
{
	if (rc == S3I_ECHECKSUM || rc == S3I_EPARSE)
		return 1;
	return rc == S3I_ENOTFOUND && !strcmp(e->aws_code, "NoSuchKey");
}

static int check_against_manifest(part_job *j, pipeline *p, const char *md5, s3i_errinfo *err)
{
	if (p->in_bytes != j->f->size)
		return s3i_err(err, S3I_ECHECKSUM, j->f->key, "data file '%s' of bucket '%s' is %lld "
			"bytes, its manifest says %lld", j->f->key, j->t->staging_bucket,
			(long long)p->in_bytes, (long long)j->f->size);
	if (strcmp(md5, j->f->md5))
		return s3i_err(err, S3I_ECHECKSUM, j->f->key, "data file '%s' of bucket '%s' has MD5 "
			"%s, its manifest says %s", j->f->key, j->t->staging_bucket, md5, j->f->md5);
	return S3I_OK;
}

static int run_file(part_job *j, s3i_errinfo *err)
{
	s3i_deployment *d = s3i_run_deployment(j->run);
	const s3i_allocator *a = s3i_deployment_alloc(d);
	const char *consolidated = s3i_deployment_consolidated_bucket(d);
	s3i_svc host = { s3i_deployment_client(d), NULL, s3i_deployment_host_region(d) };
	s3i_svc staging = { s3i_deployment_client(d), NULL, j->t->region };
	char what[1500];
	snprintf(what, sizeof(what), "data file '%s' of bucket '%s'", j->f->key, j->t->staging_bucket);
	int rc = s3i_part_dest_key(j->dest_key, sizeof(j->dest_key), s3i_run_id(j->run),
		j->t->account, j->t->region, j->t->bucket, j->f->key);
	if (rc)
		return s3i_err(err, rc, j->f->key, "%s: no consolidated key for it", what);

	pipeline p;
	memset(&p, 0, sizeof(p));
	s3i_errinfo_init(&p.err);
	p.a = a;
	p.what = what;
	p.csv = j->m->format == S3I_FORMAT_CSV;
	p.from = &j->m->schema;
	p.to = j->canonical;
	if (!(p.md5 = EVP_MD_CTX_new()))
		return s3i_err(err, S3I_ENOMEM, j->f->key, "%s: out of memory", what);
	if (j->rewrite && !(p.out = tmpfile())) {
		rc = s3i_err(err, S3I_EIO, j->f->key, "rewriting %s: no temporary file", what);
		goto out;
	}
	if ((rc = pipe_open(&p))) {
		s3i_errinfo_copy(err, &p.err);
		goto out;
	}
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	const char *read_bucket = consolidated, *read_key = j->dest_key;
	const s3i_svc *read_svc = &host;
	if (j->rewrite) {
		read_bucket = j->t->staging_bucket;
		read_key = j->f->key;
		read_svc = &staging;
	} else {
		s3i_s3_transfer_options to = S3I_S3_TRANSFER_OPTIONS_INIT;
		to.copy_threshold = j->cfg->copy_threshold;
		to.source_size = j->f->size > 0 ? j->f->size : 0;
		if ((rc = s3i_s3_copy_object_op(&host, j->t->staging_bucket, j->f->key, consolidated,
			j->dest_key, &to, &meta, err)))
			goto out;
	}
	rc = s3i_s3_get_object_range_op(read_svc, read_bucket, read_key, NULL, NULL, pipe_sink,
		pipe_reset, &p, err);
	if (rc && p.failed && p.err.pub.code == S3I_ERROR)
		s3i_errinfo_copy(err, &p.err);     /* the sink's own failure (MD5) */
	char md5[33] = "";
	if (!rc) {
		/* size and MD5 first: a file that is not what its manifest lists fails as such */
		unsigned char dg[EVP_MAX_MD_SIZE];
		unsigned int dn = 0;
		if (!EVP_DigestFinal_ex(p.md5, dg, &dn) || dn != 16)
			rc = s3i_err(err, S3I_ERROR, j->f->key, "%s: MD5 failed", what);
		else
			s3i_hex_encode(md5, dg, 16);
	}
	if (!rc)
		rc = check_against_manifest(j, &p, md5, err);
	if (!rc && p.failed) {
		s3i_errinfo_copy(err, &p.err);
		rc = p.err.pub.code < 0 ? p.err.pub.code : S3I_ERROR;
	}
	if (!rc && (rc = pipe_finish(&p)))
		s3i_errinfo_copy(err, &p.err);
	if (rc) {
		if (!j->rewrite && (j->final = is_final(rc, err))) {
			/* never leave an unverified copy in the consolidated layout */
			s3i_errinfo ignored;
			s3i_errinfo_init(&ignored);
			s3i_s3_delete_object_op(&host, consolidated, j->dest_key, &ignored);
		}
		goto out;
	}
	if (p.csv) {
		j->objects = (int64_t)s3i_csv_rewriter_rows(p.rw);
		j->bytes = s3i_csv_rewriter_bytes(p.rw);
	}
	if (j->rewrite) {
		long len = ftell(p.out);
		if (len < 0 || fseek(p.out, 0, SEEK_SET)) {
			rc = s3i_err(err, S3I_EIO, j->f->key, "rewriting %s: cannot read the temporary "
				"file back", what);
			goto out;
		}
		s3i_s3_transfer_options to = S3I_S3_TRANSFER_OPTIONS_INIT;
		to.content_type = "application/octet-stream";
		rc = s3i_s3_upload_op(&host, consolidated, j->dest_key, (int64_t)len, &to, &meta,
			file_read, file_rewind, p.out, err);
	}
out:
	if (rc && !j->final)
		j->final = is_final(rc, err);
	pipe_close(&p);
	EVP_MD_CTX_free(p.md5);
	if (p.out)
		fclose(p.out);
	return rc;
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
	qsort(done.keys, done.n, sizeof(char *), cmp_str);

	for (size_t i = 0; i < m->n_files; i++) {
		const s3i_manifest_file *f = &m->files[i];
		if (counted_has(&done, f->key)) {
			stats->already++;
			continue;
		}
		if (deadline_ms && s3i_deployment_now_ms(d) + FILE_MARGIN_MS >= deadline_ms)
			goto out;              /* UNFINISHED */
		part_job j;
		memset(&j, 0, sizeof(j));
		j.run = run;
		j.t = t;
		j.m = m;
		j.f = f;
		j.canonical = &canonical;
		j.cfg = cfg;
		j.rewrite = rewrite;
		if ((rc = run_file(&j, err))) {
			if (!j.final)
				goto out;
			snprintf(reason, sizeof(reason), "%s", err->message);
			goto fail_bucket;
		}
		s3i_crashpoint("ingest.after_copy");
		int counted = 0;
		if ((rc = s3i_state_file_done(state, run_id, t->account, t->bucket, f->key, j.dest_key,
			f->size, f->md5, j.objects, j.bytes, s3i_deployment_now_ms(d), &counted, err)))
			goto out;
		if (!counted)
			stats->already++;
		else if (rewrite)
			stats->rewritten++;
		else
			stats->copied++;
	}
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
		memcpy(&o, opts, opts->struct_size < sizeof(o) ? opts->struct_size : sizeof(o));
		o.struct_size = sizeof(o);
	}
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
		s3i_manifest m;
		rc = s3i_part_fetch_manifest(d, b->region, staging, b->manifest_key,
			S3I_PART_DEFAULT_MANIFEST_WAIT_MS, deadline_ms, &m, &st->err);
		if (rc == S3I_ECHECKSUM || rc == S3I_EPARSE || rc == S3I_ENOTFOUND) {
			/* the manifest this bucket claimed is gone or no longer verifies: no retry
			 * brings it back */
			char reason[1400];
			snprintf(reason, sizeof(reason), "the claimed manifest cannot be read again: %s",
				st->err.message);
			rc = s3i_part_fail_bucket(st->run, b->account, b->bucket, reason, &st->err);
			s3i_manifest_dispose(&m);
			left--;
			continue;
		}
		if (rc) {
			s3i_manifest_dispose(&m);
			break;
		}
		s3i_part_target t = { b->account, b->region, b->bucket, staging, b->manifest_key };
		s3i_part_outcome outcome;
		rc = s3i_part_manifest(st->run, &t, &m, &st->cfg, deadline_ms, &outcome, NULL,
			&st->err);
		s3i_manifest_dispose(&m);
		if (!rc && outcome != S3I_PART_UNFINISHED)
			left--;
	}
	s3i_free(st->alloc, l.items);
	if (!rc)
		*finished = left == 0;
	return rc;
}

int s3i_partition_run(s3i_partition *st)
{
	int finished = 0, rc;
	while (!(rc = s3i_partition_step(st, 0, &finished)) && !finished)
		;
	return rc;
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
