#include "services/sqs.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "core/json.h"
#include "core/str.h"

const s3i_service s3i_svc_sqs = { "sqs", "sqs", S3I_PROTO_JSON_10, "AmazonSQS", NULL, NULL };

#define NAME_MAX_LEN 80            /* SQS queue names: 1-80 of [A-Za-z0-9_-], ".fifo" counted */
#define RES_MAX 340         /* "queue '<name of up to 320 bytes>'" */
#define LONG_POLL_MARGIN_MS 15000  /* HTTP timeout beyond the poll: connect, queueing, answer */

/* ------------------------------------------------------------------ queue URLs */

static int label_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncmp(s, word, n);
}

static int label_is_region(const char *s, size_t n)
{
	char r[64];
	if (n == 0 || n >= sizeof(r))
		return 0;
	memcpy(r, s, n);
	r[n] = '\0';
	return s3i_region_is_valid(r);
}

/* The host of an http(s) URL, lower-cased without port, and where its path starts. */
static int url_host(const char *url, char *host, size_t cap, const char **path)
{
	if (!url)
		return S3I_EINVALID;
	const char *p;
	if (!strncasecmp(url, "https://", 8))
		p = url + 8;
	else if (!strncasecmp(url, "http://", 7))
		p = url + 7;
	else
		return S3I_EINVALID;
	const char *end = p + strcspn(p, "/?#");
	const char *at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	const char *colon = memchr(p, ':', (size_t)(end - p));
	size_t n = (size_t)((colon ? colon : end) - p);
	if (n == 0 || n >= cap)
		return S3I_EINVALID;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f)
			return S3I_EINVALID;
		host[i] = (char)tolower(c);
	}
	host[n] = '\0';
	*path = end;
	return S3I_OK;
}

int s3i_sqs_queue_url_name(const char *queue_url, char *out, size_t cap)
{
	char host[256];
	const char *path;
	if (!out || !cap || url_host(queue_url, host, sizeof(host), &path) || *path != '/')
		return S3I_EINVALID;
	size_t plen = strcspn(path, "?#");
	if (plen < 2 || path[plen - 1] == '/')
		return S3I_EINVALID;
	const char *name = path + plen;
	while (name[-1] != '/')
		name--;
	size_t n = (size_t)(path + plen - name);
	if (n >= cap)
		return S3I_EINVALID;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '\'')
			return S3I_EINVALID;
	memcpy(out, name, n);
	out[n] = '\0';
	return S3I_OK;
}

int s3i_sqs_queue_url_region(const char *queue_url, const char *fallback, char *out, size_t cap)
{
	char host[256], name[NAME_MAX_LEN * 4];
	const char *path;
	if (!out || !cap || url_host(queue_url, host, sizeof(host), &path) ||
		s3i_sqs_queue_url_name(queue_url, name, sizeof(name)))
		return S3I_EINVALID;
	/* Labels: "sqs"/"sqs-fips" followed by a region (sqs.<r>.amazonaws.com, dual-stack
	 * sqs.<r>.api.aws, VPC endpoints vpce-x.sqs.<r>.vpce.amazonaws.com, and look-alikes such
	 * as LocalStack's sqs.<r>.localhost.localstack.cloud), or a region followed by "queue"
	 * (the legacy <r>.queue.amazonaws.com). */
	const char *found = NULL;
	size_t found_len = 0;
	const char *prev = NULL;
	size_t prev_len = 0;
	for (const char *l = host; *l && !found;) {
		size_t n = strcspn(l, ".");
		const char *next = l[n] ? l + n + 1 : l + n;
		if (label_eq(l, n, "sqs") || label_eq(l, n, "sqs-fips")) {
			size_t m = strcspn(next, ".");
			if (*next && label_is_region(next, m)) {
				found = next;
				found_len = m;
			}
		} else if (label_eq(l, n, "queue") && prev && label_is_region(prev, prev_len)) {
			found = prev;
			found_len = prev_len;
		}
		prev = l;
		prev_len = n;
		l = next;
	}
	if (!found && (!strcmp(host, "queue.amazonaws.com") || !strcmp(host, "queue.amazonaws.com.")))
		found = "us-east-1", found_len = 9;
	if (!found) {
		if (!fallback || !*fallback)
			return S3I_EINVALID;
		found = fallback;
		found_len = strlen(fallback);
	}
	if (found_len >= cap)
		return S3I_EINVALID;
	memcpy(out, found, found_len);
	out[found_len] = '\0';
	return S3I_OK;
}

int s3i_sqs_redrive_policy(char *out, size_t cap, const char *dead_letter_arn,
	int32_t max_receive_count)
{
	if (!out || !cap)
		return S3I_EINVALID;
	out[0] = '\0';
	if (!dead_letter_arn || !*dead_letter_arn || max_receive_count < 1 ||
		max_receive_count > 1000)
		return S3I_EINVALID;
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "deadLetterTargetArn");
	s3i_jw_str(&w, dead_letter_arn);
	s3i_jw_key(&w, "maxReceiveCount");
	s3i_jw_i64(&w, max_receive_count);
	s3i_jw_obj_close(&w);
	int rc = s3i_jw_finish(&w);
	if (!rc && b.size >= cap)
		rc = S3I_EINVALID;
	if (!rc)
		memcpy(out, b.ptr, b.size + 1);
	s3i_buf_dispose(&b);
	return rc;
}

/* ------------------------------------------------------------------ plumbing */

/* Which queue a call is about: its region, its name and how errors name it. */
typedef struct qtarget {
	const char *url;           /* NULL for calls by name */
	char name[NAME_MAX_LEN * 4];
	char region[64];
	char res[RES_MAX];         /* "queue 'name'" */
} qtarget;

static const char *default_region(const s3i_svc *svc)
{
	if (svc->region && *svc->region)
		return svc->region;
	const char *r = s3i_client_region(svc->client);
	return r ? r : "";
}

static int check_text(const char *s, size_t max)
{
	if (!s || !*s || strlen(s) > max)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int target_url(const s3i_svc *svc, const char *op, const char *url, qtarget *t,
	s3i_errinfo *err)
{
	memset(t, 0, sizeof(*t));
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, "queue", "%s: no client", op);
	char shown[300];
	if (!check_text(url, S3I_SQS_URL_MAX - 1) ||
		s3i_sqs_queue_url_name(url, t->name, sizeof(t->name)))
		return s3i_err(err, S3I_EINVALID, "queue", "%s: '%s' is not a queue URL "
			"(http(s)://host/<account>/<queue name>)", op, s3i_str_one_line(shown, sizeof(shown), url));
	snprintf(t->res, sizeof(t->res), "queue '%s'", t->name);
	if (s3i_sqs_queue_url_region(url, default_region(svc), t->region, sizeof(t->region)))
		return s3i_err(err, S3I_EINVALID, t->res, "%s on %s: the queue URL names no region "
			"and none is configured", op, t->res);
	t->url = url;
	return S3I_OK;
}

static int name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	size_t stem = s3i_str_endswith(name, ".fifo") ? n - 5 : n;
	if (stem == 0)
		return 0;
	for (size_t i = 0; i < stem; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			return 0;
	return 1;
}

static int target_name(const s3i_svc *svc, const char *op, const char *name, qtarget *t,
	s3i_errinfo *err)
{
	memset(t, 0, sizeof(*t));
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, "queue", "%s: no client", op);
	char shown[100];
	if (!name_ok(name))
		return s3i_err(err, S3I_EINVALID, "queue", "%s: '%s' is not a queue name (1-80 "
			"letters, digits, '-' and '_', optionally ending in .fifo)", op,
			s3i_str_one_line(shown, sizeof(shown), name));
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->res, sizeof(t->res), "queue '%s'", name);
	snprintf(t->region, sizeof(t->region), "%s", default_region(svc));
	if (!t->region[0])
		return s3i_err(err, S3I_EINVALID, t->res, "%s on %s: no region is configured", op, t->res);
	return S3I_OK;
}

static int code_is(const s3i_errinfo *err, const char *code)
{
	return !strcasecmp(err->aws_code, code);
}

/* SQS's own codes, named after the queue and its region. */
static int map_error(int rc, s3i_errinfo *err, const char *op, const qtarget *t)
{
	if (code_is(err, "QueueDoesNotExist") ||
		code_is(err, "AWS.SimpleQueueService.NonExistentQueue"))
		return s3i_err_reword(err, S3I_ENOTFOUND, t->res, "%s: %s does not exist in %s%s%.400s%s", op,
			t->res, t->region, t->url ? " (" : "", t->url ? t->url : "", t->url ? ")" : "");
	if (code_is(err, "QueueNameExists") || code_is(err, "QueueAlreadyExists"))
		return s3i_err_reword(err, S3I_EEXISTS, t->res, "%s: %s already exists in %s with other "
			"attributes", op, t->res, t->region);
	if (code_is(err, "QueueDeletedRecently") ||
		code_is(err, "AWS.SimpleQueueService.QueueDeletedRecently"))
		return s3i_err_reword(err, S3I_ECONFLICT, t->res, "%s: %s in %s was deleted less than 60 "
			"seconds ago; wait before creating it again", op, t->res, t->region);
	if (code_is(err, "ReceiptHandleIsInvalid"))
		return s3i_err_reword(err, S3I_EINVALID, t->res, "%s on %s: the receipt handle is not valid",
			op, t->res);
	if (code_is(err, "MessageNotInflight") ||
		code_is(err, "AWS.SimpleQueueService.MessageNotInflight"))
		return s3i_err_reword(err, S3I_ECONFLICT, t->res, "%s on %s: the message is not in flight "
			"(not received, or its visibility timeout has passed)", op, t->res);
	return rc;
}

/* Re-record a failure (a parser's) with the queue as its resource. */
static int with_resource(s3i_errinfo *err, int rc, const char *res)
{
	return s3i_err(err, rc, res, "%s", err->message);
}

static int finish_body(s3i_json_writer *w, const char *op, const qtarget *t, s3i_errinfo *err)
{
	int rc = s3i_jw_finish(w);
	if (rc == S3I_ENOMEM)
		return s3i_err(err, rc, t->res, "%s on %s: out of memory building the request", op, t->res);
	if (rc)
		return s3i_err(err, rc, t->res, "%s on %s: could not build the request (a value is not "
			"valid UTF-8)", op, t->res);
	return S3I_OK;
}

/* One SQS call in the queue's region; resp is reset and refilled. */
static int qcall(const s3i_svc *svc, const qtarget *t, const char *op, const s3i_buf *body,
	int64_t timeout_ms, s3i_http_response *resp, s3i_errinfo *err)
{
	s3i_call call = { .svc = &s3i_svc_sqs, .operation = op, .resource = t->res,
		.region = t->region, .creds = svc->creds, .body = body->ptr ? body->ptr : "{}",
		.body_len = body->ptr ? body->size : 2, .timeout_ms = timeout_ms };
	s3i_http_response_reset(resp);
	int rc = s3i_client_call(svc->client, &call, resp, err);
	return rc ? map_error(rc, err, op, t) : S3I_OK;
}

static void write_queue_url(s3i_json_writer *w, const qtarget *t)
{
	s3i_jw_key(w, "QueueUrl");
	s3i_jw_str(w, t->url);
}

static int check_kv(const char *op, const qtarget *t, const char *what, const s3i_sqs_kv *kv,
	size_t n, s3i_errinfo *err)
{
	if (n && !kv)
		return s3i_err(err, S3I_EINVALID, t->res, "%s on %s: %zu %s given without an array",
			op, t->res, n, what);
	for (size_t i = 0; i < n; i++)
		if (!kv[i].key || !*kv[i].key || !kv[i].value)
			return s3i_err(err, S3I_EINVALID, t->res, "%s on %s: %s %zu has no name or no "
				"value", op, t->res, what, i);
	return S3I_OK;
}

static void write_map(s3i_json_writer *w, const char *key, const s3i_sqs_kv *kv, size_t n)
{
	if (!n)
		return;
	s3i_jw_key(w, key);
	s3i_jw_obj_open(w);
	for (size_t i = 0; i < n; i++) {
		s3i_jw_key(w, kv[i].key);
		s3i_jw_str(w, kv[i].value);
	}
	s3i_jw_obj_close(w);
}

/* Send a body built by the caller and parse nothing: the operations without output. */
static int simple_call(const s3i_svc *svc, const qtarget *t, const char *op, s3i_buf *body,
	s3i_json_writer *w, s3i_errinfo *err)
{
	int rc = finish_body(w, op, t, err);
	if (!rc) {
		s3i_http_response resp;
		s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
		rc = qcall(svc, t, op, body, 0, &resp, err);
		s3i_http_response_free(&resp);
	}
	s3i_buf_dispose(body);
	return rc;
}

/* ------------------------------------------------------------------ response parsers */

static int parse_object(const char *body, size_t len, const char *what, s3i_json *doc,
	s3i_errinfo *err)
{
	*doc = NULL;
	int rc = s3i_json_parse(doc, body ? body : "", body ? len : 0, what, err);
	if (rc)
		return rc;
	if (!s3i_json_is_obj(*doc)) {
		s3i_json_free(*doc);
		*doc = NULL;
		return s3i_err(err, S3I_EPARSE, NULL, "%s is not a JSON object", what);
	}
	return S3I_OK;
}

int s3i_sqs_queue_url_parse(const char *body, size_t len, const char *what, char *out,
	size_t cap, s3i_errinfo *err)
{
	if (!what)
		what = "SQS QueueUrl response";
	if (out && cap)
		out[0] = '\0';
	s3i_json doc;
	int rc = parse_object(body, len, what, &doc, err);
	if (rc)
		return rc;
	const char *url = s3i_json_str(s3i_json_get(doc, "QueueUrl"));
	char name[NAME_MAX_LEN * 4];
	if (!url || !*url)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no QueueUrl", what);
	else if (!check_text(url, S3I_SQS_URL_MAX - 1) || s3i_sqs_queue_url_name(url, name,
		sizeof(name)))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: QueueUrl is not a queue URL", what);
	else if (!out || strlen(url) >= cap)
		rc = s3i_err(err, S3I_EINVALID, NULL, "%s: the queue URL does not fit the %zu bytes "
			"given", what, cap);
	else
		memcpy(out, url, strlen(url) + 1);
	s3i_json_free(doc);
	return rc;
}

void s3i_sqs_attrs_init(s3i_sqs_attrs *a, const s3i_allocator *alloc)
{
	memset(a, 0, sizeof(*a));
	s3i_params_init(&a->all, alloc);
	a->messages = a->not_visible = a->delayed = -1;
}

void s3i_sqs_attrs_free(s3i_sqs_attrs *a)
{
	if (!a)
		return;
	const s3i_allocator *alloc = a->all.alloc;
	s3i_params_free(&a->all);
	s3i_sqs_attrs_init(a, alloc);
}

const char *s3i_sqs_attrs_get(const s3i_sqs_attrs *a, const char *name)
{
	if (!a || !name)
		return NULL;
	for (size_t i = 0; i < a->all.count; i++)
		if (!strcmp(a->all.keys[i], name))
			return a->all.values[i] ? a->all.values[i] : "";
	return NULL;
}

/* A whole decimal number, optionally signed, nothing else. */
static int parse_i64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return S3I_EPARSE;
	const char *p = s + (*s == '-' || *s == '+');
	if (!*p)
		return S3I_EPARSE;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return S3I_EPARSE;
	if (strlen(p) > 18)
		return S3I_EPARSE;     /* beyond what any SQS count or timestamp holds */
	int64_t v = strtoll(p, NULL, 10);
	*out = *s == '-' ? -v : v;
	return S3I_OK;
}

int s3i_sqs_attrs_i64(const s3i_sqs_attrs *a, const char *name, int64_t *out)
{
	const char *v = s3i_sqs_attrs_get(a, name);
	if (!v)
		return S3I_ENOTFOUND;
	int64_t x;
	if (parse_i64(v, &x))
		return S3I_EPARSE;
	if (out)
		*out = x;
	return S3I_OK;
}

static int typed_count(s3i_sqs_attrs *out, const char *name, int64_t *field, const char *what,
	s3i_errinfo *err)
{
	int rc = s3i_sqs_attrs_i64(out, name, field);
	if (rc == S3I_EPARSE || (!rc && *field < 0))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: attribute %s is not a count", what, name);
	return S3I_OK;
}

int s3i_sqs_attrs_parse(const char *body, size_t len, const char *what, s3i_sqs_attrs *out,
	s3i_errinfo *err)
{
	if (!what)
		what = "SQS GetQueueAttributes response";
	s3i_sqs_attrs_free(out);
	s3i_json doc;
	int rc = parse_object(body, len, what, &doc, err);
	if (rc)
		return rc;
	s3i_json attrs = s3i_json_get(doc, "Attributes");
	if (attrs && !s3i_json_is_null(attrs) && !s3i_json_is_obj(attrs))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Attributes is not an object", what);
	size_t n = s3i_json_is_obj(attrs) ? s3i_json_len(attrs) : 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const char *k = s3i_json_key_at(attrs, i);
		const char *v = s3i_json_str(s3i_json_val_at(attrs, i));
		if (!k || !*k || !v)
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s: attribute %zu is not a name with a "
				"string value", what, i);
		else if (s3i_sqs_attrs_get(out, k)) {
			char shown[100];
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s: attribute %s appears twice", what,
				s3i_str_one_line(shown, sizeof(shown), k));
		}
		else if ((rc = s3i_params_add(&out->all, k, v)))
			rc = s3i_err(err, rc, NULL, "%s: out of memory", what);
	}
	if (!rc && !(rc = typed_count(out, "ApproximateNumberOfMessages", &out->messages, what, err)) &&
		!(rc = typed_count(out, "ApproximateNumberOfMessagesNotVisible", &out->not_visible,
			what, err)))
		rc = typed_count(out, "ApproximateNumberOfMessagesDelayed", &out->delayed, what, err);
	if (!rc)
		out->arn = s3i_sqs_attrs_get(out, "QueueArn");
	if (rc)
		s3i_sqs_attrs_free(out);
	s3i_json_free(doc);
	return rc;
}

const char *s3i_sqs_message_attribute(const s3i_sqs_message *m, const char *name)
{
	if (!m || !name)
		return NULL;
	return s3i_json_str(s3i_json_get((s3i_json)(uintptr_t)m->internal_, name));
}

static int md5_matches(const char *data, size_t len, const char *want)
{
	unsigned char raw[16];
	char hex[33];
	if (s3i_md5(data, len, raw))
		return 0;
	s3i_hex_encode(hex, raw, sizeof(raw));
	return want && !strcasecmp(hex, want);
}

static int ts_attr(s3i_json attrs, const char *name, int64_t *out, const char *what, size_t i,
	s3i_errinfo *err)
{
	*out = 0;
	s3i_json v = s3i_json_get(attrs, name);
	if (!v)
		return S3I_OK;
	if (!s3i_json_is_str(v) || parse_i64(s3i_json_str(v), out) || *out < 0)
		return s3i_err(err, S3I_EPARSE, NULL, "%s: Messages[%zu].Attributes.%s is not a "
			"number", what, i, name);
	return S3I_OK;
}

/* Check one message's shape and fill m (pointing into the document). */
static int read_message(s3i_json js, size_t i, const char *what, s3i_sqs_message *m,
	s3i_errinfo *err)
{
	memset(m, 0, sizeof(*m));
	if (!s3i_json_is_obj(js))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: Messages[%zu] is not an object", what, i);
	m->message_id = s3i_json_str(s3i_json_get(js, "MessageId"));
	m->receipt_handle = s3i_json_str(s3i_json_get(js, "ReceiptHandle"));
	m->body = s3i_json_str(s3i_json_get(js, "Body"));
	m->md5_of_body = s3i_json_str(s3i_json_get(js, "MD5OfBody"));
	if (!m->message_id || !*m->message_id || !m->receipt_handle || !*m->receipt_handle ||
		!m->body || !m->md5_of_body)
		return s3i_err(err, S3I_EPARSE, NULL, "%s: Messages[%zu] lacks MessageId, "
			"ReceiptHandle, Body or MD5OfBody", what, i);
	m->body_len = strlen(m->body);
	s3i_json attrs = s3i_json_get(js, "Attributes");
	if (attrs && !s3i_json_is_null(attrs)) {
		if (!s3i_json_is_obj(attrs))
			return s3i_err(err, S3I_EPARSE, NULL, "%s: Messages[%zu].Attributes is not an "
				"object", what, i);
		for (size_t k = 0; k < s3i_json_len(attrs); k++)
			if (!s3i_json_is_str(s3i_json_val_at(attrs, k)))
				return s3i_err(err, S3I_EPARSE, NULL, "%s: Messages[%zu].Attributes holds a "
					"value that is not a string", what, i);
		m->internal_ = attrs;
	}
	int64_t count;
	int rc = ts_attr(attrs, "ApproximateReceiveCount", &count, what, i, err);
	if (rc)
		return rc;
	if (count > INT32_MAX)
		return s3i_err(err, S3I_EPARSE, NULL, "%s: Messages[%zu].Attributes."
			"ApproximateReceiveCount is out of range", what, i);
	m->receive_count = (int32_t)count;
	if ((rc = ts_attr(attrs, "SentTimestamp", &m->sent_ms, what, i, err)))
		return rc;
	return ts_attr(attrs, "ApproximateFirstReceiveTimestamp", &m->first_receive_ms, what, i, err);
}

int s3i_sqs_receive_parse(const char *body, size_t len, const char *what, s3i_sqs_message_fn fn,
	void *payload, size_t *count, s3i_errinfo *err)
{
	if (!what)
		what = "SQS ReceiveMessage response";
	if (count)
		*count = 0;
	s3i_json doc;
	int rc = parse_object(body, len, what, &doc, err);
	if (rc)
		return rc;
	s3i_json msgs = s3i_json_get(doc, "Messages");
	if (msgs && !s3i_json_is_null(msgs) && !s3i_json_is_arr(msgs))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Messages is not an array", what);
	size_t n = s3i_json_is_arr(msgs) ? s3i_json_len(msgs) : 0;
	if (!rc && count)
		*count = n;
	/* every message is checked before any is handed out: a damaged response is not half used */
	s3i_sqs_message m;
	for (size_t i = 0; !rc && i < n; i++) {
		if ((rc = read_message(s3i_json_at(msgs, i), i, what, &m, err)))
			break;
		char id[128], md5[40];
		if (!md5_matches(m.body, m.body_len, m.md5_of_body))
			rc = s3i_err(err, S3I_ECHECKSUM, NULL, "%s: the body of message '%s' does not "
				"match its MD5OfBody %s", what, s3i_str_one_line(id, sizeof(id), m.message_id),
				s3i_str_one_line(md5, sizeof(md5), m.md5_of_body));
	}
	for (size_t i = 0; !rc && i < n; i++) {
		if ((rc = read_message(s3i_json_at(msgs, i), i, what, &m, err)))
			break;
		char id[128];
		if (fn && fn(payload, &m))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: stopped by the callback at message "
				"'%s'", what, s3i_str_one_line(id, sizeof(id), m.message_id));
	}
	s3i_json_free(doc);
	return rc;
}

/* An entry Id we sent: "0".."n-1". */
static int entry_index(const char *id, size_t n, size_t *out)
{
	if (!id || !*id || strlen(id) > 3 || (id[0] == '0' && id[1]))
		return 0;
	size_t v = 0;
	for (const char *p = id; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (v >= n)
		return 0;
	*out = v;
	return 1;
}

int s3i_sqs_delete_batch_parse(const char *body, size_t len, const char *what, size_t n,
	s3i_sqs_batch_failure_fn fn, void *payload, size_t *nfailed, size_t *sender_faults,
	s3i_errinfo *err)
{
	if (!what)
		what = "SQS DeleteMessageBatch response";
	if (nfailed)
		*nfailed = 0;
	if (sender_faults)
		*sender_faults = 0;
	if (n > S3I_SQS_BATCH_MAX)
		return s3i_err(err, S3I_EINVALID, NULL, "%s: %zu entries, at most %d are possible",
			what, n, S3I_SQS_BATCH_MAX);
	s3i_json doc;
	int rc = parse_object(body, len, what, &doc, err);
	if (rc)
		return rc;
	s3i_json ok = s3i_json_get(doc, "Successful"), bad = s3i_json_get(doc, "Failed");
	unsigned char seen[S3I_SQS_BATCH_MAX] = { 0 };
	if ((ok && !s3i_json_is_null(ok) && !s3i_json_is_arr(ok)) ||
		(bad && !s3i_json_is_null(bad) && !s3i_json_is_arr(bad)))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Successful or Failed is not an array", what);
	/* first the shape of everything, then the callbacks */
	for (int pass = 0; pass < 2 && !rc; pass++) {
		s3i_json list = pass ? bad : ok;
		size_t m = s3i_json_is_arr(list) ? s3i_json_len(list) : 0;
		for (size_t i = 0; !rc && i < m; i++) {
			s3i_json e = s3i_json_at(list, i);
			size_t idx;
			const char *id = s3i_json_str(s3i_json_get(e, "Id"));
			if (!s3i_json_is_obj(e) || !entry_index(id, n, &idx))
				rc = s3i_err(err, S3I_EPARSE, NULL, "%s: %s[%zu] has no Id of this batch",
					what, pass ? "Failed" : "Successful", i);
			else if (seen[idx]++)
				rc = s3i_err(err, S3I_EPARSE, NULL, "%s: entry %zu is reported twice", what, idx);
			else if (pass && !s3i_json_is_str(s3i_json_get(e, "Code")))
				rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Failed[%zu] has no Code", what, i);
		}
	}
	for (size_t i = 0; !rc && i < n; i++)
		if (!seen[i])
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s: entry %zu is neither Successful nor "
				"Failed", what, i);
	size_t m = s3i_json_is_arr(bad) ? s3i_json_len(bad) : 0;
	for (size_t i = 0; !rc && i < m; i++) {
		s3i_json e = s3i_json_at(bad, i);
		size_t idx = 0;
		entry_index(s3i_json_str(s3i_json_get(e, "Id")), n, &idx);
		const char *code = s3i_json_str(s3i_json_get(e, "Code"));
		const char *msg = s3i_json_str(s3i_json_get(e, "Message"));
		int sender = s3i_json_bool(s3i_json_get(e, "SenderFault"), 0);
		if (nfailed)
			(*nfailed)++;
		if (sender && sender_faults)
			(*sender_faults)++;
		if (fn && fn(payload, idx, code, msg ? msg : "", sender))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: stopped by the callback", what);
	}
	s3i_json_free(doc);
	return rc;
}

int s3i_sqs_send_parse(const char *body, size_t len, const char *what, const char *sent,
	size_t sent_len, char *id_out, size_t id_cap, s3i_errinfo *err)
{
	if (!what)
		what = "SQS SendMessage response";
	if (id_out && id_cap)
		id_out[0] = '\0';
	s3i_json doc;
	int rc = parse_object(body, len, what, &doc, err);
	if (rc)
		return rc;
	const char *id = s3i_json_str(s3i_json_get(doc, "MessageId"));
	const char *md5 = s3i_json_str(s3i_json_get(doc, "MD5OfMessageBody"));
	if (!id || !*id || !md5)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s lacks MessageId or MD5OfMessageBody", what);
	else if (!md5_matches(sent ? sent : "", sent ? sent_len : 0, md5)) {
		char sid[128], smd5[40];
		rc = s3i_err(err, S3I_ECHECKSUM, NULL, "%s: MD5OfMessageBody %s of message '%s' "
			"does not match the body sent", what, s3i_str_one_line(smd5, sizeof(smd5), md5),
			s3i_str_one_line(sid, sizeof(sid), id));
	}
	else if (id_out && strlen(id) >= id_cap)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: MessageId is longer than %zu bytes", what,
			id_cap ? id_cap - 1 : 0);
	else if (id_out)
		memcpy(id_out, id, strlen(id) + 1);
	s3i_json_free(doc);
	return rc;
}

/* ------------------------------------------------------------------ queues */

static int url_op(const s3i_svc *svc, const qtarget *t, const char *op, s3i_buf *body,
	s3i_json_writer *w, char *url_out, size_t url_cap, s3i_errinfo *err)
{
	int rc = finish_body(w, op, t, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	if (!rc)
		rc = qcall(svc, t, op, body, 0, &resp, err);
	if (!rc) {
		char what[512];
		snprintf(what, sizeof(what), "%s response for %s", op, t->res);
		if ((rc = s3i_sqs_queue_url_parse(resp.body.ptr, resp.body.size, what, url_out, url_cap,
			err)))
			rc = with_resource(err, rc, t->res);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(body);
	return rc;
}

int s3i_sqs_create_queue_op(const s3i_svc *svc, const char *name, const s3i_sqs_kv *attrs,
	size_t nattrs, const s3i_sqs_kv *tags, size_t ntags, char *url_out, size_t url_cap,
	s3i_errinfo *err)
{
	const char *op = "CreateQueue";
	if (!err)
		err = s3i_errinfo_thread();
	if (url_out && url_cap)
		url_out[0] = '\0';
	qtarget t;
	int rc = target_name(svc, op, name, &t, err);
	if (!rc && !(rc = check_kv(op, &t, "attribute", attrs, nattrs, err)))
		rc = check_kv(op, &t, "tag", tags, ntags, err);
	if (!rc && (!url_out || !url_cap))
		rc = s3i_err(err, S3I_EINVALID, t.res, "%s of %s: no buffer for the queue URL", op, t.res);
	if (rc)
		return rc;
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "QueueName");
	s3i_jw_str(&w, name);
	write_map(&w, "Attributes", attrs, nattrs);
	write_map(&w, "tags", tags, ntags);
	s3i_jw_obj_close(&w);
	return url_op(svc, &t, op, &body, &w, url_out, url_cap, err);
}

int s3i_sqs_get_queue_url_op(const s3i_svc *svc, const char *name, const char *owner_account,
	char *url_out, size_t url_cap, s3i_errinfo *err)
{
	const char *op = "GetQueueUrl";
	if (!err)
		err = s3i_errinfo_thread();
	if (url_out && url_cap)
		url_out[0] = '\0';
	qtarget t;
	int rc = target_name(svc, op, name, &t, err);
	if (rc)
		return rc;
	if (!url_out || !url_cap)
		return s3i_err(err, S3I_EINVALID, t.res, "%s of %s: no buffer for the queue URL", op, t.res);
	if (owner_account && (strlen(owner_account) != 12 ||
		strspn(owner_account, "0123456789") != 12))
		return s3i_err(err, S3I_EINVALID, t.res, "%s of %s: owner '%s' is not a 12-digit "
			"account id", op, t.res, s3i_str_one_line((char[40]){ 0 }, 40, owner_account));
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "QueueName");
	s3i_jw_str(&w, name);
	if (owner_account) {
		s3i_jw_key(&w, "QueueOwnerAWSAccountId");
		s3i_jw_str(&w, owner_account);
	}
	s3i_jw_obj_close(&w);
	return url_op(svc, &t, op, &body, &w, url_out, url_cap, err);
}

int s3i_sqs_delete_queue_op(const s3i_svc *svc, const char *queue_url, s3i_errinfo *err)
{
	const char *op = "DeleteQueue";
	if (!err)
		err = s3i_errinfo_thread();
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (rc)
		return rc;
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	write_queue_url(&w, &t);
	s3i_jw_obj_close(&w);
	return simple_call(svc, &t, op, &body, &w, err);
}

int s3i_sqs_get_queue_attributes_op(const s3i_svc *svc, const char *queue_url,
	const char *const *names, size_t n, s3i_sqs_attrs *out, s3i_errinfo *err)
{
	const char *op = "GetQueueAttributes";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "queue", "%s: no output", op);
	s3i_sqs_attrs_free(out);
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (rc)
		return rc;
	for (size_t i = 0; names && i < n; i++)
		if (!names[i] || !*names[i])
			return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: attribute name %zu is empty",
				op, t.res, i);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	write_queue_url(&w, &t);
	s3i_jw_key(&w, "AttributeNames");
	s3i_jw_arr_open(&w);
	if (!names || !n)
		s3i_jw_str(&w, "All");
	for (size_t i = 0; names && i < n; i++)
		s3i_jw_str(&w, names[i]);
	s3i_jw_arr_close(&w);
	s3i_jw_obj_close(&w);
	rc = finish_body(&w, op, &t, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	if (!rc)
		rc = qcall(svc, &t, op, &body, 0, &resp, err);
	if (!rc) {
		char what[512];
		snprintf(what, sizeof(what), "%s response for %s", op, t.res);
		if ((rc = s3i_sqs_attrs_parse(resp.body.ptr, resp.body.size, what, out, err)))
			rc = with_resource(err, rc, t.res);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_sqs_set_queue_attributes_op(const s3i_svc *svc, const char *queue_url,
	const s3i_sqs_kv *attrs, size_t n, s3i_errinfo *err)
{
	const char *op = "SetQueueAttributes";
	if (!err)
		err = s3i_errinfo_thread();
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (!rc && !n)
		rc = s3i_err(err, S3I_EINVALID, t.res, "%s on %s: no attributes", op, t.res);
	if (!rc)
		rc = check_kv(op, &t, "attribute", attrs, n, err);
	if (rc)
		return rc;
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	write_queue_url(&w, &t);
	write_map(&w, "Attributes", attrs, n);
	s3i_jw_obj_close(&w);
	return simple_call(svc, &t, op, &body, &w, err);
}

/* ------------------------------------------------------------------ messages */

int s3i_sqs_receive_op(const s3i_svc *svc, const char *queue_url, const s3i_sqs_receive_opts *opts,
	s3i_sqs_message_fn fn, void *payload, size_t *received, s3i_errinfo *err)
{
	const char *op = "ReceiveMessage";
	if (!err)
		err = s3i_errinfo_thread();
	if (received)
		*received = 0;
	s3i_sqs_receive_opts o = { 0 };
	if (opts)
		o = *opts;
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (rc)
		return rc;
	if (o.max_messages == 0)
		o.max_messages = S3I_SQS_BATCH_MAX;
	if (o.max_messages < 1 || o.max_messages > S3I_SQS_BATCH_MAX)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: max_messages %d is not in 1..%d",
			op, t.res, (int)o.max_messages, S3I_SQS_BATCH_MAX);
	if (o.wait_seconds < 0 || o.wait_seconds > S3I_SQS_WAIT_MAX)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: wait_seconds %d is not in 0..%d",
			op, t.res, (int)o.wait_seconds, S3I_SQS_WAIT_MAX);
	if (o.use_visibility_timeout && (o.visibility_timeout < 0 || o.visibility_timeout > 43200))
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: visibility timeout %d is not in "
			"0..43200 seconds", op, t.res, (int)o.visibility_timeout);
	for (size_t i = 0; o.attribute_names && i < o.nattribute_names; i++)
		if (!o.attribute_names[i] || !*o.attribute_names[i])
			return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: attribute name %zu is empty",
				op, t.res, i);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	write_queue_url(&w, &t);
	s3i_jw_key(&w, "MaxNumberOfMessages");
	s3i_jw_i64(&w, o.max_messages);
	s3i_jw_key(&w, "WaitTimeSeconds");
	s3i_jw_i64(&w, o.wait_seconds);
	if (o.use_visibility_timeout) {
		s3i_jw_key(&w, "VisibilityTimeout");
		s3i_jw_i64(&w, o.visibility_timeout);
	}
	s3i_jw_key(&w, "MessageSystemAttributeNames");
	s3i_jw_arr_open(&w);
	if (!o.attribute_names || !o.nattribute_names)
		s3i_jw_str(&w, "All");
	for (size_t i = 0; o.attribute_names && i < o.nattribute_names; i++)
		s3i_jw_str(&w, o.attribute_names[i]);
	s3i_jw_arr_close(&w);
	s3i_jw_obj_close(&w);
	rc = finish_body(&w, op, &t, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	/* A long poll holds the connection for up to wait_seconds: the per-attempt timeout must
	 * outlast it, whatever the client's default (which may be short for other calls). */
	int64_t timeout_ms = o.wait_seconds > 0 ? (int64_t)o.wait_seconds * 1000 + LONG_POLL_MARGIN_MS : 0;
	if (!rc)
		rc = qcall(svc, &t, op, &body, timeout_ms, &resp, err);
	if (!rc) {
		char what[512];
		snprintf(what, sizeof(what), "%s on %s (%s)", op, t.res, t.region);
		if ((rc = s3i_sqs_receive_parse(resp.body.ptr, resp.body.size, what, fn, payload,
			received, err)))
			rc = with_resource(err, rc, t.res);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

typedef struct batch_failures {
	const s3i_sqs_delete_entry *chunk;
	s3i_sqs_delete_failed_fn fn;
	void *payload;
	char first_id[S3I_SQS_ID_MAX];
	char first_code[128];
	char first_msg[300];
	int have_first;
} batch_failures;

static int on_batch_failure(void *user, size_t index, const char *code, const char *message,
	int sender_fault)
{
	batch_failures *bf = user;
	const s3i_sqs_delete_entry *e = &bf->chunk[index];
	if (!bf->have_first) {
		bf->have_first = 1;
		s3i_str_one_line(bf->first_id, sizeof(bf->first_id), e->message_id ? e->message_id : "?");
		s3i_str_one_line(bf->first_code, sizeof(bf->first_code), code);
		s3i_str_one_line(bf->first_msg, sizeof(bf->first_msg), message);
	}
	return bf->fn ? bf->fn(bf->payload, e, code ? code : "", message ? message : "",
		sender_fault) : 0;
}

int s3i_sqs_delete_batch_op(const s3i_svc *svc, const char *queue_url,
	const s3i_sqs_delete_entry *entries, size_t n, s3i_sqs_delete_failed_fn fn, void *payload,
	size_t *failed, s3i_errinfo *err)
{
	const char *op = "DeleteMessageBatch";
	if (!err)
		err = s3i_errinfo_thread();
	if (failed)
		*failed = 0;
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (rc)
		return rc;
	if (n && !entries)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: no entries", op, t.res);
	for (size_t i = 0; i < n; i++)
		if (!entries[i].receipt_handle || !*entries[i].receipt_handle)
			return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: entry %zu (message '%s') "
				"has no receipt handle", op, t.res, i,
				s3i_str_one_line((char[128]){ 0 }, 128, entries[i].message_id));
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	batch_failures bf = { .fn = fn, .payload = payload };
	size_t nfailed = 0, nsender = 0;
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	for (size_t start = 0; start < n && !rc; start += S3I_SQS_BATCH_MAX) {
		size_t m = n - start < S3I_SQS_BATCH_MAX ? n - start : S3I_SQS_BATCH_MAX;
		s3i_buf_clear(&body);
		s3i_json_writer w;
		s3i_jw_init(&w, &body);
		s3i_jw_obj_open(&w);
		write_queue_url(&w, &t);
		s3i_jw_key(&w, "Entries");
		s3i_jw_arr_open(&w);
		for (size_t i = 0; i < m; i++) {
			char id[8];
			snprintf(id, sizeof(id), "%zu", i);
			s3i_jw_obj_open(&w);
			s3i_jw_key(&w, "Id");
			s3i_jw_str(&w, id);
			s3i_jw_key(&w, "ReceiptHandle");
			s3i_jw_str(&w, entries[start + i].receipt_handle);
			s3i_jw_obj_close(&w);
		}
		s3i_jw_arr_close(&w);
		s3i_jw_obj_close(&w);
		if ((rc = finish_body(&w, op, &t, err)) || (rc = qcall(svc, &t, op, &body, 0, &resp, err)))
			break;
		char what[512];
		snprintf(what, sizeof(what), "%s response for %s", op, t.res);
		bf.chunk = entries + start;
		size_t cf = 0, cs = 0;
		rc = s3i_sqs_delete_batch_parse(resp.body.ptr, resp.body.size, what, m,
			on_batch_failure, &bf, &cf, &cs, err);
		nfailed += cf;
		nsender += cs;
		if (rc)
			rc = with_resource(err, rc, t.res);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	if (failed)
		*failed = nfailed;
	if (!rc && nfailed) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s on %s: %zu of %zu messages were not deleted; first: "
			"message '%s': %s%s%s", op, t.res, nfailed, n, bf.first_id, bf.first_code,
			bf.first_msg[0] ? ": " : "", bf.first_msg);
		rc = s3i_err_aws(err, nsender == nfailed ? S3I_EINVALID : S3I_EAWS, 0, bf.first_code,
			"", t.res, msg);
	}
	return rc;
}

int s3i_sqs_change_visibility_op(const s3i_svc *svc, const char *queue_url,
	const char *receipt_handle, int32_t visibility_timeout, s3i_errinfo *err)
{
	const char *op = "ChangeMessageVisibility";
	if (!err)
		err = s3i_errinfo_thread();
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (rc)
		return rc;
	if (!receipt_handle || !*receipt_handle)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: no receipt handle", op, t.res);
	if (visibility_timeout < 0 || visibility_timeout > 43200)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: visibility timeout %d is not in "
			"0..43200 seconds", op, t.res, (int)visibility_timeout);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	write_queue_url(&w, &t);
	s3i_jw_key(&w, "ReceiptHandle");
	s3i_jw_str(&w, receipt_handle);
	s3i_jw_key(&w, "VisibilityTimeout");
	s3i_jw_i64(&w, visibility_timeout);
	s3i_jw_obj_close(&w);
	return simple_call(svc, &t, op, &body, &w, err);
}

int s3i_sqs_send_op(const s3i_svc *svc, const char *queue_url, const char *body_text,
	int32_t delay_seconds, char *message_id_out, size_t id_cap, s3i_errinfo *err)
{
	const char *op = "SendMessage";
	if (!err)
		err = s3i_errinfo_thread();
	if (message_id_out && id_cap)
		message_id_out[0] = '\0';
	qtarget t;
	int rc = target_url(svc, op, queue_url, &t, err);
	if (rc)
		return rc;
	if (!body_text || !*body_text)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: the message body is empty", op, t.res);
	if (delay_seconds < 0 || delay_seconds > 900)
		return s3i_err(err, S3I_EINVALID, t.res, "%s on %s: delay %d is not in 0..900 seconds",
			op, t.res, (int)delay_seconds);
	s3i_buf body;
	s3i_buf_init(&body, s3i_client_alloc(svc->client));
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	write_queue_url(&w, &t);
	s3i_jw_key(&w, "MessageBody");
	s3i_jw_str(&w, body_text);
	if (delay_seconds > 0) {
		s3i_jw_key(&w, "DelaySeconds");
		s3i_jw_i64(&w, delay_seconds);
	}
	s3i_jw_obj_close(&w);
	rc = finish_body(&w, op, &t, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	if (!rc)
		rc = qcall(svc, &t, op, &body, 0, &resp, err);
	if (!rc) {
		char what[512];
		snprintf(what, sizeof(what), "%s to %s (%s)", op, t.res, t.region);
		if ((rc = s3i_sqs_send_parse(resp.body.ptr, resp.body.size, what, body_text,
			strlen(body_text), message_id_out, id_cap, err)))
			rc = with_resource(err, rc, t.res);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}
