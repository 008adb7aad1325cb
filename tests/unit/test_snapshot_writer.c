/* The list-snapshot report writer (src/stages/snapshot.c): what it writes, in which order,
 * under which keys, and that its memory does not grow with the number of objects. */
#include "test_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/inventory_csv.h"
#include "stages/manifest.h"
#include "stages/snapshot.h"
#include "aws/ctx_internal.h"
#include "loopback.h"

/* ---------------------------------------------------------------- a store of puts */

#define MAX_PUTS 256

typedef struct put_rec {
	char key[1100];
	char *data;
	size_t len;
	char content_type[64];
} put_rec;

typedef struct store {
	put_rec puts[MAX_PUTS];
	size_t n;
	int keep;                /* 0: only count (the memory test) */
	int fail_at;             /* fail the put with this number (1-based); 0: never */
	uint64_t total;
} store;

static int store_put(void *user, const char *key, const void *data, size_t len,
	const char *content_type, s3i_errinfo *err)
{
	store *s = user;
	if (s->fail_at && (int)s->n + 1 == s->fail_at)
		return s3i_err(err, S3I_EAUTH, key, "PutObject on key '%s': AccessDenied", key);
	s->total += len;
	if (!s->keep) {
		s->n++;
		return S3I_OK;
	}
	assert_true(s->n < MAX_PUTS);
	put_rec *p = &s->puts[s->n++];
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->data = malloc(len + 1);
	assert_non_null(p->data);
	memcpy(p->data, data, len);
	p->data[len] = '\0';
	p->len = len;
	snprintf(p->content_type, sizeof(p->content_type), "%s", content_type);
	return S3I_OK;
}

static void store_free(store *s)
{
	for (size_t i = 0; i < s->n && s->keep; i++)
		free(s->puts[i].data);
	s->n = 0;
}

static const put_rec *find_put(const store *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->puts[i].key, key))
			return &s->puts[i];
	return NULL;
}

/* ---------------------------------------------------------------- reading a report back */

typedef struct got {
	s3i_buf text;            /* each row: fields joined with '|', the key decoded */
	uint64_t rows;
	size_t ncols;
} got;

static int on_row(void *user, const s3i_csv_row *row)
{
	got *g = user;
	g->rows++;
	assert_int_equal(row->n, g->ncols);
	for (size_t i = 0; i < row->n; i++) {
		if (i == 1)
			assert_int_equal(s3i_inventory_key_decode(&g->text, row->fields[i], row->lens[i]), 0);
		else
			s3i_buf_put(&g->text, row->fields[i], row->lens[i]);
		s3i_buf_putc(&g->text, i + 1 < row->n ? '|' : '\n');
	}
	return 0;
}

static int to_reader(void *user, const void *data, size_t len)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	return s3i_csv_reader_feed(user, data, len, &e);
}

/* Check the report in `s` (puts in S3's order, MD5s, checksum) and return every row. */
static void read_report(const store *s, int all_versions, size_t want_files, got *g)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s->n, want_files + 3);
	/* data files first, then symlink.txt, then manifest.json, then manifest.checksum */
	for (size_t i = 0; i < want_files; i++) {
		assert_non_null(strstr(s->puts[i].key, "/data/"));
		assert_non_null(strstr(s->puts[i].key, ".csv.gz"));
	}
	assert_non_null(strstr(s->puts[want_files].key, "/hive/dt="));
	assert_non_null(strstr(s->puts[want_files].key, "/symlink.txt"));
	const put_rec *mj = &s->puts[want_files + 1], *mc = &s->puts[want_files + 2];
	assert_non_null(strstr(mj->key, "/manifest.json"));
	assert_non_null(strstr(mc->key, "/manifest.checksum"));
	assert_int_equal(strncmp(mj->key, mc->key, strlen(mj->key) - strlen("manifest.json")), 0);
	assert_int_equal(s3i_manifest_checksum_verify(mj->data, mj->len, mc->data, mc->len, "m", &e),
		0);
	s3i_manifest m;
	assert_int_equal(s3i_manifest_parse(&m, mj->data, mj->len, "m", s3i_test_alloc(), &e), 0);
	assert_int_equal(m.format, S3I_FORMAT_CSV);
	assert_int_equal(m.n_files, want_files);
	s3i_inv_schema canon;
	assert_int_equal(s3i_inv_schema_canonical(&canon, all_versions, s3i_test_alloc()), 0);
	assert_true(s3i_inv_schema_equal(&m.schema, &canon));
	g->ncols = canon.n;
	s3i_inv_schema_dispose(&canon);
	for (size_t i = 0; i < m.n_files; i++) {
		const put_rec *f = find_put(s, m.files[i].key);
		assert_non_null(f);
		assert_ptr_equal(f, &s->puts[i]);             /* in the order they were written */
		assert_int_equal((int64_t)f->len, m.files[i].size);
		char md5[33];
		assert_int_equal(s3i_md5_hex(f->data, f->len, md5), 0);
		assert_string_equal(md5, m.files[i].md5);
		/* symlink.txt names it */
		char line[1300];
		snprintf(line, sizeof(line), "s3://%s/%s\n", "staging-b", f->key);
		assert_non_null(strstr(s->puts[want_files].data, line));
		s3i_csv_reader *r;
		assert_int_equal(s3i_csv_reader_new(&r, s3i_test_alloc(), "data", 0, on_row, g), 0);
		s3i_gunzip *gz;
		assert_int_equal(s3i_gunzip_new(&gz, s3i_test_alloc(), "data", to_reader, r, &e), 0);
		assert_int_equal(s3i_gunzip_feed(gz, f->data, f->len, &e), 0);
		assert_int_equal(s3i_gunzip_finish(gz, &e), 0);
		assert_int_equal(s3i_csv_reader_finish(r, &e), 0);
		s3i_gunzip_free(gz);
		s3i_csv_reader_free(r);
	}
	s3i_manifest_dispose(&m);
}

/* ---------------------------------------------------------------- the tests */

static s3i_snapshot_spec spec_for(int all_versions, int64_t file_bytes)
{
	s3i_snapshot_spec sp = { .source_bucket = "src-b", .staging_bucket = "staging-b",
		.prefix = "111111111111/eu-west-1", .config_id = "demo-r1-s3-inventory",
		.all_versions = all_versions, .creation_ms = 1514944800000LL,
		.file_bytes = file_bytes };
	return sp;
}

static const char *const hard_keys[] = {
	"plain.txt", "with space/and more.txt", "ünïcödé/日本語.bin", "comma,in,key.csv",
	"quote\"in\"key", "plus+sign%percent", "a/b/c/d/e/f/g/h.tar.gz", "emoji-\xF0\x9F\x98\x80",
};
#define N_HARD (sizeof(hard_keys) / sizeof(hard_keys[0]))

static void t_current_rows(void **state)
{
	(void)state;
	store s = { .keep = 1 };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_snapshot_spec sp = spec_for(0, 0);
	s3i_snapshot_writer *w;
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	for (size_t i = 0; i < N_HARD; i++) {
		s3i_s3_object_info o = { sizeof(o), hard_keys[i], (int64_t)i * 100, 1724254106000LL,
			i == 3 ? "9b2cf535f27731c974343645a3985328-3" : "d41d8cd98f00b204e9800998ecf8427e",
			"STANDARD", "owner-1", "" };
		s3i_snapshot_entry en;
		s3i_snapshot_entry_from_object(&en, &o);
		assert_int_equal(s3i_snapshot_writer_add(w, &en, &e), 0);
	}
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), 0);
	assert_int_equal(s3i_snapshot_writer_rows(w), (int64_t)N_HARD);
	assert_int_equal(s3i_snapshot_writer_files(w), 1);
	assert_string_equal(s3i_snapshot_writer_manifest_key(w),
		"111111111111/eu-west-1/src-b/demo-r1-s3-inventory/2018-01-03T02-00Z/manifest.json");
	/* adding after finish is refused */
	s3i_snapshot_entry en = { .key = "late" };
	assert_int_equal(s3i_snapshot_writer_add(w, &en, &e), S3I_EINVALID);
	s3i_snapshot_writer_free(w);

	got g = { 0 };
	s3i_buf_init(&g.text, s3i_test_alloc());
	read_report(&s, 0, 1, &g);
	assert_int_equal(g.rows, N_HARD);
	s3i_buf want;
	s3i_buf_init(&want, s3i_test_alloc());
	for (size_t i = 0; i < N_HARD; i++)
		s3i_buf_printf(&want, "src-b|%s|%d|2024-08-21T15:28:26.000Z|%s|STANDARD|%s||||||||||owner-1|\n",
			hard_keys[i], (int)i * 100,
			i == 3 ? "9b2cf535f27731c974343645a3985328-3" : "d41d8cd98f00b204e9800998ecf8427e",
			i == 3 ? "true" : "false");
	assert_string_equal(s3i_buf_cstr(&g.text), s3i_buf_cstr(&want));
	/* the key column is encoded exactly as S3 Inventory does: ' ' as '+', ',' and '"' as %XX */
	assert_string_equal(s.puts[0].content_type, "application/x-gzip");
	s3i_buf_dispose(&want);
	s3i_buf_dispose(&g.text);
	store_free(&s);
}

static void t_versions_rows(void **state)
{
	(void)state;
	store s = { .keep = 1 };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_snapshot_spec sp = spec_for(1, 0);
	s3i_snapshot_writer *w;
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	s3i_s3_version_info v[] = {
		{ sizeof(v[0]), "k one", "v2", 0, 1, 0, 1724254106000LL, "", "", "", "" },
		{ sizeof(v[0]), "k one", "v1", 0, 0, 7, 1724254105000LL, "abc", "STANDARD", "", "", },
		{ sizeof(v[0]), "old,\"null\"", "null", 1, 0, 3, 1724254104000LL, "def", "GLACIER", "o", "" },
	};
	v[0].is_latest = 1;
	v[0].is_delete_marker = 1;
	for (size_t i = 0; i < 3; i++) {
		s3i_snapshot_entry en;
		s3i_snapshot_entry_from_version(&en, &v[i]);
		assert_int_equal(s3i_snapshot_writer_add(w, &en, &e), 0);
	}
	assert_int_equal(s3i_snapshot_writer_bytes(w), 10);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), 0);
	s3i_snapshot_writer_free(w);
	got g = { 0 };
	s3i_buf_init(&g.text, s3i_test_alloc());
	read_report(&s, 1, 1, &g);
	assert_string_equal(s3i_buf_cstr(&g.text),
		/* a delete marker: no size, ETag, storage class or multipart flag */
		"src-b|k one|v2|true|true||2024-08-21T15:28:26.000Z||||||||||||||\n"
		"src-b|k one|v1|false|false|7|2024-08-21T15:28:25.000Z|abc|STANDARD|false|||||||||||\n"
		/* the null version's id is written "" as S3 Inventory does */
		"src-b|old,\"null\"||true|false|3|2024-08-21T15:28:24.000Z|def|GLACIER|false||||||||||o|\n");
	s3i_buf_dispose(&g.text);
	store_free(&s);
}

/* Write n objects; every key distinct and long enough to fill files. */
static void write_many(s3i_snapshot_writer *w, int n)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	char key[128];
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "dir %03d/object-%08d with, comma \"q\".dat", i % 97, i);
		s3i_s3_object_info o = { sizeof(o), key, i, 1724254106000LL + i,
			"d41d8cd98f00b204e9800998ecf8427e", "STANDARD", "", "" };
		s3i_snapshot_entry en;
		s3i_snapshot_entry_from_object(&en, &o);
		assert_int_equal(s3i_snapshot_writer_add(w, &en, &e), 0);
	}
}

static void t_several_files_deterministic(void **state)
{
	(void)state;
	store s1 = { .keep = 1 }, s2 = { .keep = 1 };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_snapshot_spec sp = spec_for(0, 4096);
	s3i_snapshot_writer *w;
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s1, &e), 0);
	write_many(w, 300);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), 0);
	size_t files = s3i_snapshot_writer_files(w);
	assert_true(files >= 5);
	s3i_snapshot_writer_free(w);
	got g = { 0 };
	s3i_buf_init(&g.text, s3i_test_alloc());
	read_report(&s1, 0, files, &g);
	assert_int_equal(g.rows, 300);
	s3i_buf_dispose(&g.text);

	/* the same entries again (a re-run after a crash): the same keys and bytes */
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s2, &e), 0);
	write_many(w, 300);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), 0);
	s3i_snapshot_writer_free(w);
	assert_int_equal(s1.n, s2.n);
	for (size_t i = 0; i < s1.n; i++) {
		assert_string_equal(s1.puts[i].key, s2.puts[i].key);
		assert_int_equal(s1.puts[i].len, s2.puts[i].len);
		assert_memory_equal(s1.puts[i].data, s2.puts[i].data, s1.puts[i].len);
	}
	/* names: a UUID-shaped MD5 of the data folder and the number, all different */
	char n0[64], n1[64];
	assert_int_equal(s3i_snapshot_data_file_name(n0, sizeof(n0), "p/b/id/data/", 0), 0);
	assert_int_equal(s3i_snapshot_data_file_name(n1, sizeof(n1), "p/b/id/data/", 1), 0);
	assert_int_equal(strlen(n0), 36 + 7);
	assert_string_not_equal(n0, n1);
	assert_int_equal(n0[8], '-');
	assert_int_equal(n0[13], '-');
	assert_int_equal(n0[18], '-');
	assert_int_equal(n0[23], '-');
	assert_int_equal(s3i_snapshot_data_file_name(n0, 10, "x", 0), S3I_EINVALID);
	store_free(&s1);
	store_free(&s2);
}

/* ---------------------------------------------------------------- memory */

/* An allocator that tracks the live bytes and their peak (sizes kept in a header). */
static atomic_long live, peak;

static void *pk_malloc(void *ud, size_t n)
{
	(void)ud;
	size_t *p = malloc(n + 16);
	if (!p)
		return NULL;
	*p = n;
	long now = atomic_fetch_add(&live, (long)n) + (long)n;
	long old = atomic_load(&peak);
	while (now > old && !atomic_compare_exchange_weak(&peak, &old, now))
		;
	return (char *)p + 16;
}

static void pk_free(void *ud, void *ptr)
{
	(void)ud;
	if (!ptr)
		return;
	size_t *p = (size_t *)((char *)ptr - 16);
	atomic_fetch_sub(&live, (long)*p);
	free(p);
}

static void *pk_realloc(void *ud, void *ptr, size_t n)
{
	if (!ptr)
		return pk_malloc(ud, n);
	size_t *p = (size_t *)((char *)ptr - 16);
	size_t old = *p;
	void *q = pk_malloc(ud, n);
	if (!q)
		return NULL;
	memcpy(q, ptr, old < n ? old : n);
	pk_free(ud, ptr);
	return q;
}

static long peak_for(int objects)
{
	const s3i_allocator *ta = s3i_test_alloc();
	s3i_allocator pk = *ta;
	pk.alloc = pk_malloc;
	pk.realloc = pk_realloc;
	pk.free = pk_free;
	pk.user = NULL;
	atomic_store(&live, 0);
	atomic_store(&peak, 0);
	store s = { .keep = 0 };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_snapshot_spec sp = spec_for(0, 256 * 1024);
	s3i_snapshot_writer *w;
	assert_int_equal(s3i_snapshot_writer_new(&w, &pk, &sp, store_put, &s, &e), 0);
	write_many(w, objects);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), 0);
	assert_int_equal(s3i_snapshot_writer_rows(w), objects);
	s3i_snapshot_writer_free(w);
	assert_int_equal(atomic_load(&live), 0);
	return atomic_load(&peak);
}

static void t_memory_flat(void **state)
{
	(void)state;
	long p5 = peak_for(5000);
	long p50 = peak_for(50000);
	/* 10x the objects: the peak may only grow by the manifest's per-file entries (a few
	 * dozen files here), never with the rows */
	print_message("writer peak: %ld bytes for 5k objects, %ld for 50k\n", p5, p50);
	assert_true(p50 < p5 + 64 * 1024);
	assert_true(p50 < 2 * 1024 * 1024);
}

static void t_errors(void **state)
{
	(void)state;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	store s = { .keep = 1 };
	s3i_snapshot_writer *w = NULL;
	s3i_snapshot_spec sp = spec_for(0, 0);
	sp.staging_bucket = "";
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e),
		S3I_EINVALID);
	assert_non_null(strstr(e.message, "src-b"));
	sp = spec_for(0, 0);
	sp.config_id = NULL;
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e),
		S3I_EINVALID);
	sp = spec_for(0, 0);
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, NULL, &s, &e),
		S3I_EINVALID);
	/* no rows: no report */
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), S3I_EINVALID);
	assert_int_equal(s.n, 0);
	s3i_snapshot_writer_free(w);
	/* a failing put (the manifest) fails the writer; nothing after it is written */
	s.fail_at = 3;
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	write_many(w, 3);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), S3I_EAUTH);
	assert_non_null(strstr(e.message, "manifest.json"));
	assert_int_equal(s.n, 2);
	assert_string_equal(s3i_snapshot_writer_manifest_key(w), "");
	s3i_snapshot_entry en = { .key = "x" };
	assert_int_equal(s3i_snapshot_writer_add(w, &en, &e), S3I_EINVALID);
	s3i_snapshot_writer_free(w);
	store_free(&s);
}

static void t_oom(void **state)
{
	(void)state;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_snapshot_spec sp = spec_for(1, 200);
	for (long n = 0; n < 400; n++) {
		store s = { .keep = 1 };
		s3i_test_alloc_fail_after(n);
		s3i_snapshot_writer *w = NULL;
		int rc = s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e);
		if (!rc) {
			for (int i = 0; i < 6 && !rc; i++) {
				s3i_snapshot_entry en = { .key = "k k", .version_id = "v", .size = i,
					.last_modified_ms = 1 };
				rc = s3i_snapshot_writer_add(w, &en, &e);
			}
			if (!rc)
				rc = s3i_snapshot_writer_finish(w, &e);
		}
		s3i_test_alloc_fail_after(-1);
		s3i_snapshot_writer_free(w);
		store_free(&s);
		if (!rc)
			return;
		assert_true(rc == S3I_ENOMEM || rc == S3I_ERROR);
	}
	fail_msg("the writer never succeeded");
}

/* ---------------------------------------------------------------- listing into the writer */

/* ListObjectsV2 of bucket "pages": 3 pages of 2 objects, tokens "t1" and "t2", keys
 * "+"-encoded; "notoken": a truncated page without NextContinuationToken; "denied": 403. */
static void list_handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	(void)user;
	static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><EncodingType>url"
		"</EncodingType>";
	static char bodies[4][2048];
	int page = strstr(req->target, "continuation-token=t2") ? 2
		: strstr(req->target, "continuation-token=t1") ? 1 : 0;
	if (!strncmp(req->target, "/denied", 7)) {
		resp->status = 403;
		resp->body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
			"<RequestId>R403</RequestId></Error>";
		resp->body_len = strlen(resp->body);
		return;
	}
	int notoken = !strncmp(req->target, "/notoken", 8);
	char *b = bodies[notoken ? 3 : page];
	snprintf(b, sizeof(bodies[0]), "%s<IsTruncated>%s</IsTruncated>%s"
		"<Contents><Key>page+%d/a%%2Cb</Key><LastModified>2024-08-21T15:28:26.000Z</LastModified>"
		"<ETag>&quot;abc&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>page+%d/c</Key><LastModified>2024-08-21T15:28:27.000Z</LastModified>"
		"<ETag>&quot;def-2&quot;</ETag><Size>7</Size><Owner><ID>me</ID></Owner>"
		"<StorageClass>GLACIER</StorageClass></Contents></ListBucketResult>", head,
		notoken || page < 2 ? "true" : "false",
		notoken ? "" : page == 0 ? "<NextContinuationToken>t1</NextContinuationToken>"
		: page == 1 ? "<NextContinuationToken>t2</NextContinuationToken>" : "",
		page, page, page);
	resp->body = b;
	resp->body_len = strlen(b);
	snprintf(resp->headers, sizeof(resp->headers), "Content-Type: application/xml\r\n");
}

static void t_list_pages(void **state)
{
	(void)state;
	s3i_loopback *lb;
	assert_int_equal(s3i_loopback_start(&lb, list_handler, NULL), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_loopback_url(lb);
	o.region = "us-east-1";
	o.access_key_id = "AKIDEXAMPLE";
	o.secret_access_key = "secret";
	o.max_attempts = 1;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	store s = { .keep = 1 };
	s3i_snapshot_spec sp = spec_for(0, 0);
	sp.source_bucket = "pages";
	s3i_snapshot_writer *w;
	/* every page, in order, through the tokens */
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	assert_int_equal(s3i_snapshot_list(w, &svc, "pages", 2, 0, &e), 0);
	assert_int_equal(s3i_snapshot_writer_rows(w), 6);
	assert_int_equal(s3i_snapshot_writer_bytes(w), 0 + 7 + 1 + 7 + 2 + 7);
	assert_int_equal(s3i_snapshot_writer_finish(w, &e), 0);
	s3i_snapshot_writer_free(w);
	got g = { 0 };
	s3i_buf_init(&g.text, s3i_test_alloc());
	read_report(&s, 0, 1, &g);
	assert_string_equal(s3i_buf_cstr(&g.text),
		"pages|page 0/a,b|0|2024-08-21T15:28:26.000Z|abc|STANDARD|false|||||||||||\n"
		"pages|page 0/c|7|2024-08-21T15:28:27.000Z|def-2|GLACIER|true||||||||||me|\n"
		"pages|page 1/a,b|1|2024-08-21T15:28:26.000Z|abc|STANDARD|false|||||||||||\n"
		"pages|page 1/c|7|2024-08-21T15:28:27.000Z|def-2|GLACIER|true||||||||||me|\n"
		"pages|page 2/a,b|2|2024-08-21T15:28:26.000Z|abc|STANDARD|false|||||||||||\n"
		"pages|page 2/c|7|2024-08-21T15:28:27.000Z|def-2|GLACIER|true||||||||||me|\n");
	s3i_buf_dispose(&g.text);
	store_free(&s);
	/* the entry limit stops the listing in the middle of a page, without an error */
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	assert_int_equal(s3i_snapshot_list(w, &svc, "pages", 2, 3, &e), 0);
	assert_int_equal(s3i_snapshot_writer_rows(w), 3);
	s3i_snapshot_writer_free(w);
	/* a truncated page without a token would never end */
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	assert_int_equal(s3i_snapshot_list(w, &svc, "notoken", 2, 0, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "NextContinuationToken"));
	assert_non_null(strstr(e.message, "notoken"));
	s3i_snapshot_writer_free(w);
	/* the listing's own error, naming the bucket */
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	assert_int_equal(s3i_snapshot_list(w, &svc, "denied", 0, 0, &e), S3I_EAUTH);
	assert_string_equal(e.aws_code, "AccessDenied");
	assert_non_null(strstr(e.message, "denied"));
	assert_int_equal(s3i_snapshot_list(w, &svc, "denied", 1001, 0, &e), S3I_EINVALID);
	s3i_snapshot_writer_free(w);
	/* a put that fails while the listing runs stops it with the put's error */
	sp.file_bytes = 10;
	s.fail_at = 2;
	assert_int_equal(s3i_snapshot_writer_new(&w, s3i_test_alloc(), &sp, store_put, &s, &e), 0);
	assert_int_equal(s3i_snapshot_list(w, &svc, "pages", 2, 0, &e), S3I_EAUTH);
	assert_non_null(strstr(e.message, "PutObject"));
	assert_int_equal(s3i_snapshot_writer_rows(w), 2);
	s3i_snapshot_writer_free(w);
	store_free(&s);
	s3i_ctx_release(ctx);
	s3i_loopback_stop(lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_current_rows),
		S3I_TEST(t_versions_rows),
		S3I_TEST(t_several_files_deterministic),
		S3I_TEST(t_memory_flat),
		S3I_TEST(t_errors),
		S3I_TEST(t_oom),
		S3I_TEST(t_list_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
