/*
 * Content-MD5 on the S3 operations whose botocore model says requestChecksumRequired
 * (tests/fixtures/s3-checksum-required.txt, generated from botocore's s3 model: the command is
 * in its header). AWS refuses those requests without a checksum header; moto does not care, so
 * this runs every bucket operation of src/services/s3_bucket.c (and s3.c's DeleteObjects)
 * against the loopback server and looks at what went on the wire:
 *  - an operation in the list carries Content-MD5, the base64 MD5 of exactly the body received;
 *  - an operation not in the list carries none (the list is the model's word: a regenerated
 *    list that adds one of ours makes this fail until the code follows);
 *  - the list holds exactly the names this code relies on.
 */
#include "test_alloc.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ctx_internal.h"
#include "aws/sigv4.h"
#include "core/buf.h"
#include "core/str.h"
#include "loopback.h"
#include "s3insights/s3insights.h"
#include "services/s3.h"
#include "services/s3_bucket.h"

/* ------------------------------------------------------------------ the fixture */

#define MAX_NAMES 128

typedef struct name_list {
	char names[MAX_NAMES][96];
	int n;
} name_list;

static void load_list(name_list *l)
{
	memset(l, 0, sizeof(*l));
	size_t len = 0;
	char *text = s3i_test_read_file(s3i_test_fixture("s3-checksum-required.txt"), &len);
	assert_non_null(text);
	int comment_says_how = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#') {
			comment_says_how |= strstr(line, "botocore") && strstr(line, "requestChecksumRequired") != NULL;
			continue;
		}
		if (!line[0])
			continue;
		for (const char *p = line; *p; p++)
			assert_true(isalnum((unsigned char)*p));   /* one operation name a line */
		assert_true(l->n < MAX_NAMES);
		assert_true(strlen(line) < sizeof(l->names[0]));
		/* sorted and without duplicates, as the generator writes it */
		if (l->n)
			assert_true(strcmp(l->names[l->n - 1], line) < 0);
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", line);
	}
	assert_true(comment_says_how);
	s3i_test_alloc()->free(s3i_test_alloc()->user, text);
}

static int listed(const name_list *l, const char *op)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], op))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ the wire */

typedef struct wire {
	pthread_mutex_t lock;
	int requests;
	char target[160];
	char content_md5[64];        /* "" when absent */
	int md5_headers;             /* how many Content-MD5 headers */
	char body_md5_b64[32];       /* of the body received */
	size_t body_len;
	char content_type[64];
	const char *answer;          /* what to answer (200) */
} wire;

static void handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	wire *w = user;
	pthread_mutex_lock(&w->lock);
	w->requests++;
	snprintf(w->target, sizeof(w->target), "%.10s %.140s", req->method, req->target);
	if (s3i_lb_header(req, "Content-MD5", w->content_md5, sizeof(w->content_md5)) < 0)
		w->content_md5[0] = '\0';
	w->md5_headers = s3i_lb_header_count(req, "Content-MD5");
	s3i_lb_header(req, "Content-Type", w->content_type, sizeof(w->content_type));
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	s3i_base64_encode(&b, req->body_md5, 16);
	snprintf(w->body_md5_b64, sizeof(w->body_md5_b64), "%s", s3i_buf_cstr(&b));
	s3i_buf_dispose(&b);
	w->body_len = req->body_len;
	resp->status = 200;
	resp->body = w->answer;
	resp->body_len = w->answer ? strlen(w->answer) : 0;
	snprintf(resp->headers, sizeof(resp->headers), "Content-Type: application/xml\r\n"
		"x-amz-request-id: LOOPBACK\r\n");
	pthread_mutex_unlock(&w->lock);
}

/* ------------------------------------------------------------------ the operations */

typedef struct op_case {
	const char *name;              /* the botocore operation name */
	const char *target;            /* "PUT /bkt/?policy" (what the server saw, query included) */
	int has_body;
	int (*run)(const s3i_svc *svc, s3i_errinfo *err);
} op_case;

static const char *const events[] = { "s3:ObjectCreated:*" };

static int run_put_policy(const s3i_svc *svc, s3i_errinfo *err)
{
	return s3i_s3_put_bucket_policy_op(svc, "bkt", "{\"Version\":\"2012-10-17\",\"Statement\":"
		"[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":"
		"\"arn:aws:s3:::bkt/*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}",
		err);
}

static int run_put_pab(const s3i_svc *svc, s3i_errinfo *err)
{
	s3i_s3_public_access_block pab = { 1, 1, 1, 0 };
	return s3i_s3_put_public_access_block_op(svc, "bkt", &pab, err);
}

static int run_put_encryption(const s3i_svc *svc, s3i_errinfo *err)
{
	s3i_s3_bucket_encryption enc = { 1, "arn:aws:kms:us-east-1:123456789012:key/k&1", 1 };
	return s3i_s3_put_bucket_encryption_op(svc, "bkt", &enc, err);
}

static int run_put_lifecycle(const s3i_svc *svc, s3i_errinfo *err)
{
	s3i_s3_lifecycle_rule r[2] = { { "expire <tmp>", "tmp/", 1, 7, 3, 2 },
		{ NULL, NULL, 0, 0, 0, 1 } };
	return s3i_s3_put_bucket_lifecycle_configuration_op(svc, "bkt", r, 2, err);
}

static int run_put_versioning(const s3i_svc *svc, s3i_errinfo *err)
{
	return s3i_s3_put_bucket_versioning_op(svc, "bkt", S3I_S3_VERSIONING_ENABLED, err);
}

static int run_put_inventory(const s3i_svc *svc, s3i_errinfo *err)
{
	s3i_s3_inventory_config c = { .id = "d-r-s3-inventory", .enabled = 1,
		.destination_bucket_arn = "arn:aws:s3:::dest", .format = S3I_S3_INVENTORY_CSV,
		.versions = S3I_S3_INVENTORY_VERSIONS_ALL, .frequency = S3I_S3_INVENTORY_DAILY,
		.optional_fields = S3I_S3_INVENTORY_FIELDS_ALL };
	return s3i_s3_put_bucket_inventory_configuration_op(svc, "bkt", &c, err);
}

static int run_put_notification(const s3i_svc *svc, s3i_errinfo *err)
{
	s3i_s3_notification n = { S3I_S3_NOTIFY_QUEUE, "q", "arn:aws:sqs:us-east-1:1:q", events, 1,
		NULL, "manifest.checksum" };
	s3i_s3_notification_config c = { &n, 1, 0, 0 };
	return s3i_s3_put_bucket_notification_configuration_op(svc, "bkt", &c, err);
}

static int run_delete_inventory(const s3i_svc *svc, s3i_errinfo *err)
{
	return s3i_s3_delete_bucket_inventory_configuration_op(svc, "bkt", "inv", err);
}

static int run_delete_objects(const s3i_svc *svc, s3i_errinfo *err)
{
	s3i_s3_object_id ids[2] = { { "a", NULL }, { "b&c", "v1" } };
	return s3i_s3_delete_objects_op(svc, "bkt", ids, 2, 1, NULL, NULL, NULL, NULL, err);
}

static int run_head_bucket(const s3i_svc *svc, s3i_errinfo *err)
{
	return s3i_s3_head_bucket_op(svc, "bkt", NULL, err);
}

static const op_case cases[] = {
	{ "PutBucketPolicy", "PUT /bkt/?policy", 1, run_put_policy },
	{ "PutPublicAccessBlock", "PUT /bkt/?publicAccessBlock", 1, run_put_pab },
	{ "PutBucketEncryption", "PUT /bkt/?encryption", 1, run_put_encryption },
	{ "PutBucketLifecycleConfiguration", "PUT /bkt/?lifecycle", 1, run_put_lifecycle },
	{ "PutBucketVersioning", "PUT /bkt/?versioning", 1, run_put_versioning },
	{ "PutBucketInventoryConfiguration", "PUT /bkt/?inventory&id=d-r-s3-inventory", 1,
		run_put_inventory },
	{ "PutBucketNotificationConfiguration", "PUT /bkt/?notification", 1, run_put_notification },
	{ "DeleteBucketInventoryConfiguration", "DELETE /bkt/?inventory&id=inv", 0,
		run_delete_inventory },
	{ "HeadBucket", "HEAD /bkt/", 0, run_head_bucket },
	{ "DeleteObjects", "POST /bkt/?delete", 1, run_delete_objects },   /* s3.c's */
};

/* ------------------------------------------------------------------ tests */

static void t_fixture_names(void **state)
{
	(void)state;
	name_list l;
	load_list(&l);
	/* what the code here relies on: these send Content-MD5 ... */
	static const char *const required[] = { "PutBucketPolicy", "PutPublicAccessBlock",
		"PutBucketEncryption", "PutBucketLifecycleConfiguration", "PutBucketVersioning",
		"DeleteObjects" };
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!listed(&l, required[i]))
			fprintf(stderr, "%s is not in the fixture\n", required[i]);
		assert_true(listed(&l, required[i]));
	}
	/* ... and these do not need it */
	static const char *const not_required[] = { "PutBucketInventoryConfiguration",
		"PutBucketNotificationConfiguration", "DeleteBucketInventoryConfiguration",
		"GetBucketInventoryConfiguration", "ListBucketInventoryConfigurations", "ListBuckets",
		"HeadBucket", "GetBucketNotificationConfiguration", "PutObject", "CreateBucket" };
	for (size_t i = 0; i < sizeof(not_required) / sizeof(not_required[0]); i++)
		assert_false(listed(&l, not_required[i]));
	/* exactly: every operation of ours the list names is one of `required` */
	int ours = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ours += listed(&l, cases[i].name);
	assert_int_equal(ours, (int)(sizeof(required) / sizeof(required[0])));
	/* a sanity check that the file is the model's list, not a hand-made one */
	assert_true(l.n >= 20);
	assert_true(listed(&l, "PutObjectTagging"));
	assert_true(listed(&l, "PutBucketTagging"));
}

static void t_content_md5_on_the_wire(void **state)
{
	(void)state;
	name_list l;
	load_list(&l);
	wire w;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, handler, &w), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_loopback_url(lb);
	o.region = "us-east-1";
	o.access_key_id = "AKIDEXAMPLE";
	o.secret_access_key = "secret";
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), 0);
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };

	int with_md5 = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const op_case *c = &cases[i];
		pthread_mutex_lock(&w.lock);
		w.requests = 0;
		w.answer = !strcmp(c->name, "DeleteObjects") ? "<DeleteResult xmlns=\"http://s3.amazon"
			"aws.com/doc/2006-03-01/\"></DeleteResult>" : NULL;
		pthread_mutex_unlock(&w.lock);
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		int rc = c->run(&svc, &err);
		if (rc)
			fprintf(stderr, "%s: %s\n", c->name, err.message);
		assert_int_equal(rc, S3I_OK);
		pthread_mutex_lock(&w.lock);
		assert_int_equal(w.requests, 1);
		if (strcmp(w.target, c->target))
			fprintf(stderr, "%s: sent '%s', expected '%s'\n", c->name, w.target, c->target);
		assert_string_equal(w.target, c->target);
		if (c->has_body) {
			assert_true(w.body_len > 0);
			assert_true(w.content_type[0] != '\0');   /* never form-encoded by default */
		}
		if (listed(&l, c->name)) {
			with_md5++;
			if (strcmp(w.content_md5, w.body_md5_b64))
				fprintf(stderr, "%s: Content-MD5 '%s', body MD5 '%s'\n", c->name,
					w.content_md5, w.body_md5_b64);
			assert_int_equal(w.md5_headers, 1);
			assert_string_equal(w.content_md5, w.body_md5_b64);
			assert_int_equal(strlen(w.content_md5), 24);
		} else {
			if (w.md5_headers)
				fprintf(stderr, "%s: Content-MD5 sent though the model does not ask\n", c->name);
			assert_int_equal(w.md5_headers, 0);
		}
		pthread_mutex_unlock(&w.lock);
	}
	assert_int_equal(with_md5, 6);

	s3i_ctx_release(ctx);
	s3i_loopback_stop(lb);
	pthread_mutex_destroy(&w.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_fixture_names),
		S3I_TEST(t_content_md5_on_the_wire),
	};
	return cmocka_run_group_tests_name("s3_checksum_required", tests, NULL, NULL);
}
