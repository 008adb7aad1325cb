/*
 * The list-snapshot report writer (see snapshot.h).
 *
 * Pipeline per data file: entry -> one CSV row (s3i_inv_csv_put_object, the canonical
 * schema) -> gzip writer -> the compressed bytes collect in `gz` -> put. The row buffer is
 * reused, so memory is the deflate state, one row and one compressed data file.
 */
#include "stages/snapshot.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "services/s3.h"
#include "stages/inventory_csv.h"
#include "stages/manifest.h"
#include "stages/run_internal.h"

typedef struct snap_file {
	char *key;
	int64_t size;
	char md5[33];
} snap_file;

struct s3i_snapshot_writer {
	const s3i_allocator *a;
	s3i_snapshot_put_fn put;
	void *user;
	char *source_bucket;
	char *staging_bucket;
	char *prefix;
	char *config_id;
	int all_versions;
	int64_t creation_ms;
	int64_t file_bytes;
	int gzip_level;
	s3i_inv_schema schema;
	char *data_folder;            /* <prefix>/<bucket>/<id>/data/ without a file name */
	/* the data file being written */
	s3i_gzip_writer *gz_writer;
	s3i_buf gz;                   /* its compressed bytes so far */
	uint64_t file_csv_bytes;
	int64_t file_rows;
	/* done so far */
	snap_file *files;
	size_t n_files, cap_files;
	s3i_buf row;
	int64_t rows;
	int64_t bytes;
	int finished;
	int failed;
	char manifest_key[1100];
};

void s3i_snapshot_entry_from_object(s3i_snapshot_entry *e, const s3i_s3_object_info *o)
{
	memset(e, 0, sizeof(*e));
	e->key = o->key;
	e->is_latest = 1;
	e->size = o->size;
	e->last_modified_ms = o->last_modified_ms;
	e->etag = o->etag;
	e->storage_class = o->storage_class;
	e->owner_id = o->owner_id;
}

void s3i_snapshot_entry_from_version(s3i_snapshot_entry *e, const s3i_s3_version_info *v)
{
	memset(e, 0, sizeof(*e));
	e->key = v->key;
	e->version_id = v->version_id;
	e->is_latest = v->is_latest;
	e->is_delete_marker = v->is_delete_marker;
	e->size = v->size;
	e->last_modified_ms = v->last_modified_ms;
	e->etag = v->etag;
	e->storage_class = v->storage_class;
	e->owner_id = v->owner_id;
}

int s3i_snapshot_data_file_name(char *out, size_t cap, const char *data_folder, uint64_t seq)
{
	if (!out || cap < 48 || !data_folder)
		return S3I_EINVALID;
	char seed[1200];
	int n = snprintf(seed, sizeof(seed), "%s#%llu", data_folder, (unsigned long long)seq);
	if (n < 0 || (size_t)n >= sizeof(seed))
		return S3I_EINVALID;
	char h[33];
	int rc = s3i_md5_hex(seed, (size_t)n, h);
	if (rc)
		return rc;
	/* UUID text layout 8-4-4-4-12, as S3 names its data files */
	snprintf(out, cap, "%.8s-%.4s-%.4s-%.4s-%.12s.csv.gz", h, h + 8, h + 12, h + 16, h + 20);
	return S3I_OK;
}

static int fail(s3i_snapshot_writer *w, int rc)
{
	w->failed = 1;
	return rc;
}

void s3i_snapshot_writer_free(s3i_snapshot_writer *w)
{
	if (!w)
		return;
	const s3i_allocator *a = w->a;
	s3i_gzip_writer_free(w->gz_writer);
	s3i_buf_dispose(&w->gz);
	s3i_buf_dispose(&w->row);
	for (size_t i = 0; i < w->n_files; i++)
		s3i_free(a, w->files[i].key);
	s3i_free(a, w->files);
	s3i_inv_schema_dispose(&w->schema);
	s3i_free(a, w->source_bucket);
	s3i_free(a, w->staging_bucket);
	s3i_free(a, w->prefix);
	s3i_free(a, w->config_id);
	s3i_free(a, w->data_folder);
	s3i_free(a, w);
}

int s3i_snapshot_writer_new(s3i_snapshot_writer **out, const s3i_allocator *a,
	const s3i_snapshot_spec *spec, s3i_snapshot_put_fn put, void *user, s3i_errinfo *err)
{
	if (!out || !spec || !put)
		return s3i_err(err, S3I_EINVALID, NULL, "list snapshot: bad argument");
	*out = NULL;
	if (!spec->source_bucket || !*spec->source_bucket)
		return s3i_err(err, S3I_EINVALID, "source_bucket", "list snapshot: no source bucket");
	if (!spec->staging_bucket || !*spec->staging_bucket)
		return s3i_err(err, S3I_EINVALID, "staging_bucket", "list snapshot of bucket '%s': no "
			"staging bucket", spec->source_bucket);
	if (!spec->config_id || !*spec->config_id)
		return s3i_err(err, S3I_EINVALID, "config_id", "list snapshot of bucket '%s': no "
			"inventory id", spec->source_bucket);
	if (spec->file_bytes < 0 || spec->gzip_level < 0 || spec->gzip_level > 9)
		return s3i_err(err, S3I_EINVALID, spec->source_bucket, "list snapshot of bucket '%s': "
			"bad file size or gzip level", spec->source_bucket);
	a = a ? a : s3i_allocator_default();
	s3i_snapshot_writer *w = s3i_calloc(a, 1, sizeof(*w));
	if (!w)
		return s3i_err(err, S3I_ENOMEM, spec->source_bucket, "list snapshot: out of memory");
	w->a = a;
	w->put = put;
	w->user = user;
	w->all_versions = spec->all_versions ? 1 : 0;
	w->creation_ms = spec->creation_ms;
	w->file_bytes = spec->file_bytes ? spec->file_bytes : S3I_SNAPSHOT_DEFAULT_FILE_BYTES;
	w->gzip_level = spec->gzip_level;
	s3i_buf_init(&w->gz, a);
	s3i_buf_init(&w->row, a);
	w->source_bucket = s3i_strdup(a, spec->source_bucket);
	w->staging_bucket = s3i_strdup(a, spec->staging_bucket);
	w->prefix = s3i_strdup(a, spec->prefix ? spec->prefix : "");
	w->config_id = s3i_strdup(a, spec->config_id);
	int rc = (w->source_bucket && w->staging_bucket && w->prefix && w->config_id)
		? S3I_OK : S3I_ENOMEM;
	if (!rc)
		rc = s3i_inv_schema_canonical(&w->schema, w->all_versions, a);
	if (!rc) {
		/* the data folder: the data key of an empty name, built by the layout code */
		s3i_buf k;
		s3i_buf_init(&k, a);
		rc = s3i_inventory_data_key(&k, w->prefix, w->source_bucket, w->config_id, "x");
		if (!rc) {
			s3i_buf_truncate(&k, k.size - 1);
			w->data_folder = s3i_buf_detach(&k);
		}
		s3i_buf_dispose(&k);
		if (rc == S3I_EINVALID)
			rc = s3i_err(err, rc, spec->source_bucket, "list snapshot of bucket '%s': the "
				"report's keys cannot be formed (prefix '%s', id '%s')", spec->source_bucket,
				w->prefix, w->config_id);
	}
	if (rc) {
		if (rc == S3I_ENOMEM)
			s3i_err(err, rc, spec->source_bucket, "list snapshot of bucket '%s': out of memory",
				spec->source_bucket);
		s3i_snapshot_writer_free(w);
		return rc;
	}
	*out = w;
	return S3I_OK;
}

static int gz_sink(void *user, const void *data, size_t len)
{
	s3i_snapshot_writer *w = user;
	return s3i_buf_put(&w->gz, data, len) ? S3I_ENOMEM : 0;
}

/* Finish the open data file and put it. */
static int close_file(s3i_snapshot_writer *w, s3i_errinfo *err)
{
	if (!w->gz_writer)
		return S3I_OK;
	int rc = s3i_gzip_writer_finish(w->gz_writer, err);
	char md5[33];
	if (!rc)
		rc = s3i_gzip_writer_md5(w->gz_writer, md5);
	s3i_gzip_writer_free(w->gz_writer);
	w->gz_writer = NULL;
	if (rc)
		return rc;
	if (w->n_files == w->cap_files) {
		size_t cap = w->cap_files ? w->cap_files * 2 : 8;
		snap_file *f = s3i_realloc(w->a, w->files, cap * sizeof(*f));
		if (!f)
			return s3i_err(err, S3I_ENOMEM, w->source_bucket, "list snapshot of bucket '%s': "
				"out of memory", w->source_bucket);
		w->files = f;
		w->cap_files = cap;
	}
	char name[64];
	s3i_buf key;
	s3i_buf_init(&key, w->a);
	rc = s3i_snapshot_data_file_name(name, sizeof(name), w->data_folder, w->n_files);
	if (!rc)
		rc = s3i_inventory_data_key(&key, w->prefix, w->source_bucket, w->config_id, name);
	if (rc) {
		s3i_buf_dispose(&key);
		return s3i_err(err, rc, w->source_bucket, "list snapshot of bucket '%s': no data file "
			"name", w->source_bucket);
	}
	rc = w->put(w->user, s3i_buf_cstr(&key), w->gz.ptr ? w->gz.ptr : "", w->gz.size,
		"application/x-gzip", err);
	if (rc) {
		s3i_buf_dispose(&key);
		return rc;
	}
	snap_file *f = &w->files[w->n_files++];
	f->key = s3i_buf_detach(&key);
	f->size = (int64_t)w->gz.size;
	memcpy(f->md5, md5, sizeof(md5));
	s3i_buf_clear(&w->gz);
	w->file_csv_bytes = 0;
	w->file_rows = 0;
	return S3I_OK;
}

int s3i_snapshot_writer_add(s3i_snapshot_writer *w, const s3i_snapshot_entry *e,
	s3i_errinfo *err)
{
	if (!w || !e || !e->key)
		return s3i_err(err, S3I_EINVALID, NULL, "list snapshot: bad argument");
	if (w->failed || w->finished)
		return s3i_err(err, S3I_EINVALID, w->source_bucket, "list snapshot of bucket '%s': the "
			"writer %s", w->source_bucket, w->finished ? "is finished" : "failed before");
	const char *vals[S3I_COL_COUNT] = { 0 };
	char size[21], lm[25], latest[6], dm[6], mpu[6];
	vals[S3I_COL_BUCKET] = w->source_bucket;
	vals[S3I_COL_KEY] = e->key;
	if (w->all_versions) {
		/* S3 Inventory writes the null version's id as "" */
		const char *vid = e->version_id ? e->version_id : "";
		vals[S3I_COL_VERSION_ID] = strcmp(vid, "null") ? vid : "";
		s3i_inv_format_bool(latest, e->is_latest);
		s3i_inv_format_bool(dm, e->is_delete_marker);
		vals[S3I_COL_IS_LATEST] = latest;
		vals[S3I_COL_IS_DELETE_MARKER] = dm;
	}
	if (e->last_modified_ms > 0) {
		s3i_inv_format_time(lm, e->last_modified_ms);
		vals[S3I_COL_LAST_MODIFIED_DATE] = lm;
	}
	if (!e->is_delete_marker) {
		s3i_inv_format_i64(size, e->size);
		vals[S3I_COL_SIZE] = size;
		if (e->etag && *e->etag) {
			vals[S3I_COL_ETAG] = e->etag;
			/* a multipart upload's ETag is "<md5 of the part MD5s>-<parts>" */
			s3i_inv_format_bool(mpu, strchr(e->etag, '-') != NULL);
			vals[S3I_COL_IS_MULTIPART_UPLOADED] = mpu;
		}
		if (e->storage_class && *e->storage_class)
			vals[S3I_COL_STORAGE_CLASS] = e->storage_class;
	}
	if (e->owner_id && *e->owner_id)
		vals[S3I_COL_OBJECT_OWNER] = e->owner_id;
	s3i_buf_clear(&w->row);
	int rc = s3i_inv_csv_put_object(&w->row, &w->schema, vals);
	if (rc)
		return fail(w, s3i_err(err, rc, w->source_bucket, "list snapshot of bucket '%s': "
			"cannot write the row of key '%s'", w->source_bucket, e->key));
	int opened = 0;
	if (!w->gz_writer) {
		if ((rc = s3i_gzip_writer_new(&w->gz_writer, w->a, w->gzip_level, gz_sink, w, err)))
			return fail(w, rc);
		opened = 1;
	}
	if ((rc = s3i_gzip_writer_write(w->gz_writer, w->row.ptr, w->row.size, err)))
		return fail(w, rc);
	w->file_csv_bytes += w->row.size;
	w->file_rows++;
	w->rows++;
	if (!e->is_delete_marker && e->size > 0)
		w->bytes += e->size;
	if (opened)
		s3i_crashpoint("snapshot.mid_data_file");
	if (w->file_csv_bytes >= (uint64_t)w->file_bytes && (rc = close_file(w, err)))
		return fail(w, rc);
	return S3I_OK;
}

int s3i_snapshot_writer_finish(s3i_snapshot_writer *w, s3i_errinfo *err)
{
	if (!w)
		return s3i_err(err, S3I_EINVALID, NULL, "list snapshot: bad argument");
	if (w->failed || w->finished)
		return s3i_err(err, S3I_EINVALID, w->source_bucket, "list snapshot of bucket '%s': the "
			"writer %s", w->source_bucket, w->finished ? "is finished" : "failed before");
	if (!w->rows)
		return s3i_err(err, S3I_EINVALID, w->source_bucket, "list snapshot of bucket '%s': no "
			"entries, no report", w->source_bucket);
	int rc = close_file(w, err);
	if (rc)
		return fail(w, rc);
	s3i_buf doc, key;
	s3i_buf_init(&doc, w->a);
	s3i_buf_init(&key, w->a);
	/* hive/dt=.../symlink.txt: one s3:// location per data file, as S3 writes for Athena */
	for (size_t i = 0; i < w->n_files && !rc; i++)
		rc = s3i_buf_printf(&doc, "s3://%s/%s\n", w->staging_bucket, w->files[i].key);
	if (!rc)
		rc = s3i_inventory_symlink_key(&key, w->prefix, w->source_bucket, w->config_id,
			w->creation_ms);
	if (rc) {
		rc = s3i_err(err, rc, w->source_bucket, "list snapshot of bucket '%s': cannot write "
			"symlink.txt", w->source_bucket);
		goto out;
	}
	if ((rc = w->put(w->user, s3i_buf_cstr(&key), doc.ptr, doc.size, "text/plain", err)))
		goto out;
	/* manifest.json */
	s3i_manifest_file *mf = s3i_calloc(w->a, w->n_files, sizeof(*mf));
	if (!mf) {
		rc = s3i_err(err, S3I_ENOMEM, w->source_bucket, "list snapshot of bucket '%s': out of "
			"memory", w->source_bucket);
		goto out;
	}
	for (size_t i = 0; i < w->n_files; i++) {
		mf[i].key = w->files[i].key;
		mf[i].size = w->files[i].size;
		memcpy(mf[i].md5, w->files[i].md5, sizeof(mf[i].md5));
	}
	s3i_manifest_spec spec = {
		.source_bucket = w->source_bucket, .destination_bucket = w->staging_bucket,
		.creation_ms = w->creation_ms, .schema = &w->schema, .files = mf,
		.n_files = w->n_files };
	s3i_buf_clear(&doc);
	s3i_buf_clear(&key);
	rc = s3i_manifest_write(&doc, &spec, err);
	s3i_free(w->a, mf);
	if (rc)
		goto out;
	if ((rc = s3i_inventory_manifest_key(&key, w->prefix, w->source_bucket, w->config_id,
		w->creation_ms, "manifest.json")) || key.size >= sizeof(w->manifest_key)) {
		rc = s3i_err(err, S3I_EINVALID, w->source_bucket, "list snapshot of bucket '%s': the "
			"manifest key cannot be formed", w->source_bucket);
		goto out;
	}
	if ((rc = w->put(w->user, s3i_buf_cstr(&key), doc.ptr, doc.size, "application/json", err)))
		goto out;
	memcpy(w->manifest_key, key.ptr, key.size + 1);
	/* manifest.checksum, last: its creation is the signal that the delivery is complete */
	char sum[33];
	if ((rc = s3i_manifest_checksum_text(doc.ptr, doc.size, sum))) {
		rc = s3i_err(err, rc, w->source_bucket, "list snapshot of bucket '%s': MD5 is not "
			"available", w->source_bucket);
		goto out;
	}
	s3i_buf_clear(&key);
	if ((rc = s3i_inventory_manifest_key(&key, w->prefix, w->source_bucket, w->config_id,
		w->creation_ms, "manifest.checksum"))) {
		rc = s3i_err(err, rc, w->source_bucket, "list snapshot of bucket '%s': the checksum "
			"key cannot be formed", w->source_bucket);
		goto out;
	}
	rc = w->put(w->user, s3i_buf_cstr(&key), sum, strlen(sum), "text/plain", err);
out:
	s3i_buf_dispose(&doc);
	s3i_buf_dispose(&key);
	if (rc) {
		w->manifest_key[0] = '\0';
		return fail(w, rc);
	}
	w->finished = 1;
	return S3I_OK;
}

int64_t s3i_snapshot_writer_rows(const s3i_snapshot_writer *w) { return w ? w->rows : 0; }
int64_t s3i_snapshot_writer_bytes(const s3i_snapshot_writer *w) { return w ? w->bytes : 0; }
size_t s3i_snapshot_writer_files(const s3i_snapshot_writer *w) { return w ? w->n_files : 0; }
const char *s3i_snapshot_writer_manifest_key(const s3i_snapshot_writer *w)
{
	return w ? w->manifest_key : "";
}

/* ------------------------------------------------------------------ listing into a writer */

typedef struct list_ctx {
	s3i_snapshot_writer *w;
	int64_t max;                 /* 0: no limit */
	int64_t seen;
	int limit_hit;
	int write_rc;
	s3i_errinfo write_err;
} list_ctx;

static int list_entry(list_ctx *c, const s3i_snapshot_entry *e)
{
	if (c->max && c->seen >= c->max) {
		c->limit_hit = 1;
		return 1;
	}
	int rc = s3i_snapshot_writer_add(c->w, e, &c->write_err);
	if (rc) {
		c->write_rc = rc;
		return 1;
	}
	c->seen++;
	return 0;
}

static int list_object(void *user, const s3i_s3_object_info *o)
{
	s3i_snapshot_entry e;
	s3i_snapshot_entry_from_object(&e, o);
	return list_entry(user, &e);
}

static int list_version(void *user, const s3i_s3_version_info *v)
{
	s3i_snapshot_entry e;
	s3i_snapshot_entry_from_version(&e, v);
	return list_entry(user, &e);
}

int s3i_snapshot_list(s3i_snapshot_writer *w, const s3i_svc *svc, const char *bucket,
	int32_t page_size, int64_t max_entries, s3i_errinfo *err)
{
	if (!w || !svc || !bucket || page_size < 0 || page_size > 1000 || max_entries < 0)
		return s3i_err(err, S3I_EINVALID, bucket, "list snapshot: bad argument");
	list_ctx c = { .w = w, .max = max_entries };
	s3i_errinfo_init(&c.write_err);
	s3i_s3_list_options lo = S3I_S3_LIST_OPTIONS_INIT;
	lo.max_keys = page_size ? page_size : 1000;
	lo.fetch_owner = 1;
	/* the markers of the next request live in one of two pages at a time */
	s3i_s3_list_page page, prev;
	s3i_s3_list_page_init(&page, w->a);
	s3i_s3_list_page_init(&prev, w->a);
	int rc;
	for (;;) {
		rc = w->all_versions
			? s3i_s3_list_object_versions_page_op(svc, bucket, &lo, list_version, &c, &page, err)
			: s3i_s3_list_objects_page_op(svc, bucket, &lo, list_object, &c, &page, err);
		if (rc == S3I_EUSER && c.limit_hit) {
			rc = S3I_OK;
			break;
		}
		if (rc == S3I_EUSER && c.write_rc) {
			if (err)
				s3i_errinfo_copy(err, &c.write_err);
			rc = c.write_rc;
		}
		if (rc || !page.truncated)
			break;
		s3i_s3_list_page t = prev;
		prev = page;
		page = t;
		if (w->all_versions) {
			lo.key_marker = s3i_buf_cstr(&prev.next_key_marker);
			lo.version_id_marker = s3i_buf_cstr(&prev.next_version_id_marker);
			if (!*lo.key_marker) {
				rc = s3i_err(err, S3I_EPARSE, bucket, "ListObjectVersions on bucket '%s': a "
					"truncated page without NextKeyMarker", bucket);
				break;
			}
		} else {
			lo.continuation_token = s3i_buf_cstr(&prev.next_token);
			if (!*lo.continuation_token) {
				rc = s3i_err(err, S3I_EPARSE, bucket, "ListObjectsV2 on bucket '%s': a "
					"truncated page without NextContinuationToken", bucket);
				break;
			}
		}
	}
	s3i_s3_list_page_free(&page);
	s3i_s3_list_page_free(&prev);
	return rc;
}
