/*
 * s3i_secrets_followup: a follow-up action on a finished run (issue 6, "extensibility step";
 * docs/extensibility.md). Written against the public API only, as a program of your own would
 * be: it opens the run, reads the rows of its "secrets" query (s3i_query_results: Athena's
 * GetQueryResults, page by page, one page in memory), and for every flagged object
 *
 *   --manifest DEST   writes a row of an S3 Batch Operations manifest (format
 *                     S3BatchOperations_CSV_20180820: bucket,key[,version id], the key
 *                     URL-encoded as Batch Operations expects) to a local file, "-" (standard
 *                     output) or s3://bucket/key (uploaded when complete; its ETag, which
 *                     CreateJob needs, is printed);
 *   --tag KEY=VALUE   adds the tag to the object's tags: reads the tags the object (that
 *                     version) has (GetObjectTagging), sets the given keys, keeps the others
 *                     and puts the result back (PutObjectTagging replaces the whole set, so
 *                     putting only the given tags would wipe cost-allocation, retention and
 *                     other tags). S3 keeps at most 10 tags on an object: one that would
 *                     have more is reported as a failure, naming it and the count, and left
 *                     as it was. Up to 10 --tag options; a KEY given again takes the last
 *                     VALUE.
 *
 * The rows come in as the query produced them; the columns used are named `bucket` and `key`
 * (any case; --bucket-column and --key-column name others), and `version_id` when the result
 * has it. Exit status: 0 done, 1 a failure (the query could not be read, the manifest not
 * written, an object not tagged: every failure is reported and the others go on), 2 usage.
 *
 * The tags are read and put in two calls: a tag another writer sets on the object in between
 * is lost (S3 has no conditional PutObjectTagging).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <s3insights/s3insights.h>
#include <s3insights/stage_query.h>

#define MAX_TAGS S3I_S3_MAX_OBJECT_TAGS

typedef struct followup {
	s3i_ctx *ctx;
	/* what to do */
	const char *bucket_column, *key_column, *version_column;
	FILE *manifest;                 /* NULL: no manifest */
	s3i_s3_tag tags[MAX_TAGS];
	size_t tag_count;
	/* the result's columns, found at the first row */
	long bucket_at, key_at, version_at;
	int columns_known;
	/* what happened */
	long long rows, written, tagged, tag_failures, skipped;
	int write_failed;
	char error[512];                /* why the walk was stopped, when it was */
} followup;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: s3i_secrets_followup [options] RUN_ID\n"
		"Read the rows of a finished run's \"secrets\" query and act on the objects it flagged.\n"
		"\n"
		"  --manifest DEST        write an S3 Batch Operations manifest CSV (bucket,key[,version])\n"
		"                         to a local file, - (standard output) or s3://bucket/key\n"
		"  --tag KEY=VALUE        add the tag to every flagged object (repeatable, at most %d):\n"
		"                         its other tags are kept, a tag of the same KEY is replaced;\n"
		"                         an object that would have more than %d tags is reported as\n"
		"                         failed and left unchanged\n"
		"  --query NAME           the query to read (default: secrets)\n"
		"  --deployment NAME      the deployment (default: $S3I_DEPLOYMENT)\n"
		"  --bucket-column NAME   the column holding the bucket (default: bucket)\n"
		"  --key-column NAME      the column holding the key (default: key)\n"
		"At least one of --manifest and --tag. AWS settings come from the environment.\n",
		MAX_TAGS, MAX_TAGS);
}

/* Batch Operations reads the key URL-decoded: everything but unreserved characters and '/' is
 * written %XX (a space %20, a '+' %2B, a comma %2C), which decodes the same whichever way '+'
 * is taken, and leaves no comma or quote to escape in the CSV. */
static int put_url_encoded(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '/';
		if ((plain ? fputc(*p, f) : fprintf(f, "%%%02X", *p)) < 0)
			return -1;
	}
	return 0;
}

/* A bucket name as S3 allows it (3-63 of [a-z0-9.-]), so it goes into the CSV as it is. */
static int bucket_name_ok(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' ||
			b[i] == '-'))
			return 0;
	return 1;
}

/* The tags an object ends up with: those it has, less the keys given, then the given ones. */
typedef struct merge {
	const followup *f;
	s3i_s3_tag tags[MAX_TAGS];      /* kept tags first (copies), the given ones after */
	size_t kept;                    /* copies in tags[] */
	size_t total;                   /* tags the object would have */
	int out_of_memory;
} merge;

static int given(const followup *f, const char *key)
{
	for (size_t i = 0; i < f->tag_count; i++)
		if (!strcmp(f->tags[i].key, key))
			return 1;
	return 0;
}

static int on_existing_tag(void *payload, const char *key, const char *value)
{
	merge *m = payload;
	if (given(m->f, key))
		return 0;   /* set anew below */
	m->total++;
	if (m->kept == MAX_TAGS)
		return 0;   /* too many anyway: only counted, for the report */
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		m->out_of_memory = 1;
		return S3I_ENOMEM;   /* returned by s3i_s3_get_object_tagging */
	}
	m->tags[m->kept].key = k;
	m->tags[m->kept++].value = v;
	return 0;
}

static void merge_free(merge *m)
{
	for (size_t i = 0; i < m->kept; i++) {
		free((char *)m->tags[i].key);
		free((char *)m->tags[i].value);
	}
}

/* Add the given tags to those of one object (the version the row names, else the current
 * one). A failure is reported; the caller goes on with the next object. */
static int tag_object(followup *f, const char *bucket, const char *key, const char *version)
{
	char object[1200];
	snprintf(object, sizeof(object), "s3://%s/%s%s%s", bucket, key,
		version && *version ? " version " : "", version && *version ? version : "");
	merge m = { .f = f, .total = f->tag_count };
	int rc = s3i_s3_get_object_tagging(f->ctx, bucket, key, version, on_existing_tag, &m);
	if (rc < 0 && m.out_of_memory) {
		fprintf(stderr, "s3i_secrets_followup: %s: out of memory reading its tags\n", object);
	} else if (rc < 0) {
		fprintf(stderr, "s3i_secrets_followup: %s\n", s3i_error_last()->message);
	} else if (m.total > MAX_TAGS) {
		/* S3 would refuse the set: say so here, with the numbers, and leave it as it is */
		fprintf(stderr, "s3i_secrets_followup: %s: not tagged: it would have %zu tags (%zu of "
			"its own and %zu given), S3 keeps at most %d on an object\n", object, m.total,
			m.total - f->tag_count, f->tag_count, MAX_TAGS);
		rc = -1;
	} else {
		for (size_t i = 0; i < f->tag_count; i++)
			m.tags[m.kept + i] = f->tags[i];
		rc = s3i_s3_put_object_tagging(f->ctx, bucket, key, version, m.tags, m.total);
		if (rc < 0)
			fprintf(stderr, "s3i_secrets_followup: %s\n", s3i_error_last()->message);
	}
	merge_free(&m);
	return rc < 0 ? -1 : 0;
}

static long column_index(const s3i_query_row *row, const char *name)
{
	for (size_t i = 0; i < row->count; i++)
		if (row->columns[i] && !strcasecmp(row->columns[i], name))
			return (long)i;
	return -1;
}

static int find_columns(followup *f, const s3i_query_row *row)
{
	f->bucket_at = column_index(row, f->bucket_column);
	f->key_at = column_index(row, f->key_column);
	f->version_at = column_index(row, f->version_column);
	if (f->bucket_at < 0 || f->key_at < 0) {
		int n = snprintf(f->error, sizeof(f->error), "the result has no column '%s' (its "
			"columns:", f->bucket_at < 0 ? f->bucket_column : f->key_column);
		for (size_t i = 0; i < row->count && n > 0 && (size_t)n < sizeof(f->error); i++)
			n += snprintf(f->error + n, sizeof(f->error) - (size_t)n, " %s", row->columns[i]);
		if (n > 0 && (size_t)n < sizeof(f->error))
			snprintf(f->error + n, sizeof(f->error) - (size_t)n, "); see --bucket-column, "
				"--key-column");
		return -1;
	}
	f->columns_known = 1;
	return 0;
}

static int on_row(void *user, const s3i_query_row *row)
{
	followup *f = user;
	if (!f->columns_known && find_columns(f, row))
		return 1;   /* stops the walk: s3i_query_results returns S3I_EUSER */
	f->rows++;
	const char *bucket = row->values[f->bucket_at], *key = row->values[f->key_at];
	const char *version = f->version_at >= 0 ? row->values[f->version_at] : NULL;
	if (!bucket || !key || !*key || !bucket_name_ok(bucket)) {
		fprintf(stderr, "s3i_secrets_followup: row %lld skipped: %s\n", (long long)row->index,
			!bucket ? "no bucket" : !key || !*key ? "no key" : "not a bucket name");
		f->skipped++;
		return 0;
	}
	if (f->manifest && !f->write_failed) {
		/* with a version column every row has the field (Batch Operations wants all rows
		 * with a version or none) */
		if (fprintf(f->manifest, "%s,", bucket) < 0 || put_url_encoded(f->manifest, key) ||
			(f->version_at >= 0 && (fputc(',', f->manifest) < 0 ||
			put_url_encoded(f->manifest, version ? version : ""))) ||
			fputc('\n', f->manifest) < 0) {
			snprintf(f->error, sizeof(f->error), "writing the manifest: %s", strerror(errno));
			f->write_failed = 1;
			return 1;
		}
		f->written++;
	}
	if (f->tag_count) {
		/* a failure is reported, and the others go on: one object gone since the run is no
		 * reason to leave the rest untagged */
		if (tag_object(f, bucket, key, version))
			f->tag_failures++;
		else
			f->tagged++;
	}
	return 0;
}

/* s3://bucket/key -> bucket and key (in buf); NULL when dest is no such URL. */
static const char *s3_url(const char *dest, char *buf, size_t cap, const char **key)
{
	if (strncmp(dest, "s3://", 5))
		return NULL;
	snprintf(buf, cap, "%s", dest + 5);
	char *slash = strchr(buf, '/');
	if (!slash || slash == buf || !slash[1])
		return NULL;
	*slash = '\0';
	*key = slash + 1;
	return buf;
}

static int fail(const char *what)
{
	fprintf(stderr, "s3i_secrets_followup: %s: %s\n", what, s3i_error_last()->message);
	return 1;
}

int main(int argc, char **argv)
{
	followup f = { .bucket_column = "bucket", .key_column = "key",
		.version_column = "version_id" };
	const char *manifest = NULL, *query = "secrets", *deployment = NULL, *run_id = NULL;
	static char tag_text[MAX_TAGS][512];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1] == '-' && !v) {
			fprintf(stderr, "s3i_secrets_followup: %s needs a value\n", a);
			return 2;
		} else if (!strcmp(a, "--manifest")) {
			manifest = argv[++i];
		} else if (!strcmp(a, "--query")) {
			query = argv[++i];
		} else if (!strcmp(a, "--deployment")) {
			deployment = argv[++i];
		} else if (!strcmp(a, "--bucket-column")) {
			f.bucket_column = argv[++i];
		} else if (!strcmp(a, "--key-column")) {
			f.key_column = argv[++i];
		} else if (!strcmp(a, "--tag")) {
			const char *eq = strchr(v, '=');
			size_t at = 0, klen = eq ? (size_t)(eq - v) : 0;
			while (at < f.tag_count && (strlen(f.tags[at].key) != klen ||
				strncmp(f.tags[at].key, v, klen)))
				at++;   /* a KEY given again: its last VALUE counts */
			if (!klen || at == MAX_TAGS || strlen(v) >= sizeof(tag_text[0])) {
				fprintf(stderr, "s3i_secrets_followup: --tag %s: want KEY=VALUE, at most %d "
					"of them\n", v, MAX_TAGS);
				return 2;
			}
			strcpy(tag_text[at], v);
			tag_text[at][klen] = '\0';
			f.tags[at].key = tag_text[at];
			f.tags[at].value = tag_text[at] + klen + 1;
			if (at == f.tag_count)
				f.tag_count++;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "s3i_secrets_followup: unknown option %s\n", a);
			usage(stderr);
			return 2;
		} else if (!run_id) {
			run_id = a;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!run_id || (!manifest && !f.tag_count)) {
		usage(stderr);
		return 2;
	}

	/* where the manifest goes: a local file is written beside its name and renamed when
	 * complete; s3:// is written to a temporary file and uploaded when complete */
	char s3buf[1100], local_tmp[4200] = "";
	const char *s3_key = NULL, *s3_bucket = manifest ? s3_url(manifest, s3buf, sizeof(s3buf),
		&s3_key) : NULL;
	if (manifest && !strncmp(manifest, "s3://", 5) && !s3_bucket) {
		fprintf(stderr, "s3i_secrets_followup: --manifest %s: want s3://bucket/key\n", manifest);
		return 2;
	}
	if (manifest && !strcmp(manifest, "-")) {
		f.manifest = stdout;
	} else if (s3_bucket) {
		const char *tmp = getenv("TMPDIR");
		snprintf(local_tmp, sizeof(local_tmp), "%s/s3i-manifest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		int fd = mkstemp(local_tmp);
		if (fd < 0 || !(f.manifest = fdopen(fd, "w"))) {
			fprintf(stderr, "s3i_secrets_followup: %s: %s\n", local_tmp, strerror(errno));
			return 1;
		}
	} else if (manifest) {
		snprintf(local_tmp, sizeof(local_tmp), "%s.tmp", manifest);
		if (!(f.manifest = fopen(local_tmp, "w"))) {
			fprintf(stderr, "s3i_secrets_followup: %s: %s\n", local_tmp, strerror(errno));
			return 1;
		}
	}

	int status = 0;
	s3i_deployment *dep = NULL;
	s3i_run *run = NULL;
	s3i_deployment_options dopts = S3I_DEPLOYMENT_OPTIONS_INIT;
	dopts.name = deployment;
	if (s3i_ctx_new(&f.ctx, NULL) < 0) {
		status = fail("context");
	} else if (s3i_deployment_open(&dep, f.ctx, &dopts) < 0) {
		status = fail("deployment");
	} else if (s3i_run_open(&run, dep, run_id) < 0) {
		status = fail("run");
	} else {
		int rc = s3i_query_results(run, query, 0, on_row, &f);
		if (rc == S3I_EUSER && f.error[0]) {
			fprintf(stderr, "s3i_secrets_followup: query '%s' of run %s: %s\n", query, run_id,
				f.error);
			status = 1;
		} else if (rc < 0) {
			status = fail("results");
		}
	}

	/* the manifest: complete only when every row was read */
	if (f.manifest && f.manifest != stdout) {
		int closed = fclose(f.manifest);
		if (!status && closed) {
			fprintf(stderr, "s3i_secrets_followup: writing the manifest: %s\n", strerror(errno));
			status = 1;
		}
		if (!status && s3_bucket) {
			s3i_s3_transfer_options to = S3I_S3_TRANSFER_OPTIONS_INIT;
			to.content_type = "text/csv";
			s3i_s3_object_meta meta = { .struct_size = sizeof(meta) };
			if (s3i_s3_upload_file(f.ctx, s3_bucket, s3_key, local_tmp, &to, &meta) < 0)
				status = fail("manifest upload");
			else
				printf("manifest: %s (%lld objects, ETag %s)\n", manifest, f.written, meta.etag);
		} else if (!status) {
			if (rename(local_tmp, manifest)) {
				fprintf(stderr, "s3i_secrets_followup: %s: %s\n", manifest, strerror(errno));
				status = 1;
			} else {
				printf("manifest: %s (%lld objects)\n", manifest, f.written);
			}
		}
		if (s3_bucket || status)
			unlink(local_tmp);
	} else if (f.manifest) {
		fflush(stdout);
	}
	if (f.tag_count)
		fprintf(f.manifest == stdout ? stderr : stdout, "tagged: %lld of %lld objects "
			"(%lld failed)\n", f.tagged, f.rows - f.skipped, f.tag_failures);
	if (f.skipped)
		fprintf(stderr, "s3i_secrets_followup: %lld rows skipped\n", f.skipped);
	if (f.tag_failures)
		status = 1;
	s3i_run_free(run);
	s3i_deployment_free(dep);
	s3i_ctx_release(f.ctx);
	return status;
}
