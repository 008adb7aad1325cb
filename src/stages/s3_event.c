/* S3 event notifications and inventory delivery keys: see s3_event.h. */
#include "stages/s3_event.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"
#include "core/str.h"
#include "services/sns.h"
#include "stages/manifest.h"

#define WHAT "S3 event notification"

/*
 * Strings are gathered in one arena buffer while parsing. Its memory moves as it grows, so
 * the records hold offsets into it (stored in the pointer fields) until the end, when the
 * arena is detached and every offset becomes a pointer.
 */
typedef struct builder {
	const s3i_allocator *a;
	s3i_buf arena;
	s3i_errinfo *err;
	int via_sns;
	const char *topic;        /* for messages; "" without an envelope */
} builder;

#define OFF(x) ((const char *)(uintptr_t)(x))

/* Append a NUL-terminated copy; returns its offset, or SIZE_MAX when out of memory. */
static size_t keep(builder *b, const char *s, size_t len)
{
	size_t off = b->arena.size;
	if (s3i_buf_put(&b->arena, s, len) || s3i_buf_putc(&b->arena, '\0'))
		return SIZE_MAX;
	return off;
}

static size_t keep_str(builder *b, const char *s)
{
	return keep(b, s ? s : "", s ? strlen(s) : 0);
}

static int oom(builder *b)
{
	return s3i_err(b->err, S3I_ENOMEM, NULL, WHAT ": out of memory");
}

static int bad(builder *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int bad(builder *b, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->via_sns)
		return s3i_err(b->err, S3I_EPARSE, "SQS message", WHAT " (in an SNS message from "
			"topic '%.200s'): %s", b->topic, msg);
	return s3i_err(b->err, S3I_EPARSE, "SQS message", WHAT ": %s", msg);
}

/* A short, one-line piece of outside text for a message. */
static const char *quote(const char *s, char *buf, size_t cap)
{
	size_t n = strlen(s), room = cap - 4, o = 0;
	for (; o < n && o < room; o++) {
		unsigned char c = (unsigned char)s[o];
		buf[o] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (o < n) {
		memcpy(buf + o, "...", 4);
		return buf;
	}
	buf[o] = '\0';
	return buf;
}

/* An optional string member: its offset, or the offset of "" when absent. Non-strings are
 * errors naming the field. */
static int opt_string(builder *b, s3i_json obj, const char *name, const char *field,
	size_t *off)
{
	s3i_json v = s3i_json_get(obj, name);
	if (v && !s3i_json_is_str(v) && !s3i_json_is_null(v))
		return bad(b, "%s%s is not a string", field, name);
	*off = keep_str(b, s3i_json_str(v));
	return *off == SIZE_MAX ? oom(b) : S3I_OK;
}

/* "2.1" -> 2. Anything else than digits[.digits...] is -1. */
static int major_version(const char *s)
{
	int major = 0, digits = 0;
	for (; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
		major = major * 10 + (*s - '0');
	if (!digits || (*s && *s != '.'))
		return -1;
	return major;
}

static int parse_record(builder *b, s3i_json rec, size_t i, s3i_s3_event_record *out)
{
	char field[48], q[64];
	snprintf(field, sizeof(field), "Records[%zu].", i);
	if (!s3i_json_is_obj(rec))
		return bad(b, "Records[%zu] is not an object", i);

	s3i_json ver = s3i_json_get(rec, "eventVersion");
	if (ver) {
		const char *v = s3i_json_str(ver);
		if (!v)
			return bad(b, "%seventVersion is not a string", field);
		if (major_version(v) != 2)
			return bad(b, "%seventVersion \"%s\" is not a supported S3 event version (2.x)",
				field, quote(v, q, sizeof(q)));
	}
	s3i_json src = s3i_json_get(rec, "eventSource");
	if (src && (!s3i_json_str(src) || strcmp(s3i_json_str(src), "aws:s3")))
		return bad(b, "%seventSource is %s%s%s, not \"aws:s3\"", field,
			s3i_json_str(src) ? "\"" : "not a string",
			s3i_json_str(src) ? quote(s3i_json_str(src), q, sizeof(q)) : "",
			s3i_json_str(src) ? "\"" : "");

	const char *name = s3i_json_str(s3i_json_get(rec, "eventName"));
	if (!name || !*name)
		return bad(b, "%seventName is %s", field,
			s3i_json_get(rec, "eventName") ? "not a non-empty string" : "missing");
	if (!strncmp(name, "s3:", 3))
		name += 3;
	size_t off_name = keep_str(b, name);
	if (off_name == SIZE_MAX)
		return oom(b);

	size_t off_time, off_region;
	int rc = opt_string(b, rec, "eventTime", field, &off_time);
	if (!rc)
		rc = opt_string(b, rec, "awsRegion", field, &off_region);
	if (rc)
		return rc;

	s3i_json s3 = s3i_json_get(rec, "s3");
	if (!s3i_json_is_obj(s3))
		return bad(b, "%ss3 is %s", field, s3 ? "not an object" : "missing");
	s3i_json bucket = s3i_json_get(s3, "bucket");
	if (!s3i_json_is_obj(bucket))
		return bad(b, "%ss3.bucket is %s", field, bucket ? "not an object" : "missing");
	const char *bname = s3i_json_str(s3i_json_get(bucket, "name"));
	if (!bname || !*bname)
		return bad(b, "%ss3.bucket.name is %s", field,
			s3i_json_get(bucket, "name") ? "not a non-empty string" : "missing");
	if (!s3i_utf8_valid(bname, strlen(bname)))
		return bad(b, "%ss3.bucket.name is not valid UTF-8", field);
	size_t off_bucket = keep_str(b, bname);
	if (off_bucket == SIZE_MAX)
		return oom(b);

	s3i_json obj = s3i_json_get(s3, "object");
	if (!s3i_json_is_obj(obj))
		return bad(b, "%ss3.object is %s", field, obj ? "not an object" : "missing");
	const char *raw_key = s3i_json_str(s3i_json_get(obj, "key"));
	if (!raw_key || !*raw_key)
		return bad(b, "%ss3.object.key is %s", field,
			s3i_json_get(obj, "key") ? "not a non-empty string" : "missing");
	size_t off_key = b->arena.size;
	if (s3i_uri_decode(&b->arena, raw_key, strlen(raw_key), 1))
		return oom(b);
	size_t key_len = b->arena.size - off_key;
	if (memchr(b->arena.ptr + off_key, '\0', key_len))
		return bad(b, "%ss3.object.key \"%s\" decodes to a NUL byte", field,
			quote(raw_key, q, sizeof(q)));
	if (!s3i_utf8_valid(b->arena.ptr + off_key, key_len))
		return bad(b, "%ss3.object.key \"%s\" does not decode to UTF-8", field,
			quote(raw_key, q, sizeof(q)));
	if (s3i_buf_putc(&b->arena, '\0'))
		return oom(b);

	int64_t size = -1;
	s3i_json sz = s3i_json_get(obj, "size");
	if (sz && !s3i_json_is_null(sz) &&
		(!s3i_json_is_num(sz) || s3i_json_i64(sz, &size) || size < 0))
		return bad(b, "%ss3.object.size is not a number of bytes", field);

	size_t off_etag, off_ver, off_seq;
	snprintf(field, sizeof(field), "Records[%zu].s3.object.", i);
	rc = opt_string(b, obj, "eTag", field, &off_etag);
	if (!rc)
		rc = opt_string(b, obj, "versionId", field, &off_ver);
	if (!rc)
		rc = opt_string(b, obj, "sequencer", field, &off_seq);
	if (rc)
		return rc;
	/* an ETag may come quoted; the arena copy is trimmed in place */
	char *et = b->arena.ptr + off_etag;
	size_t etn = strlen(et);
	if (etn >= 2 && et[0] == '"' && et[etn - 1] == '"') {
		memmove(et, et + 1, etn - 2);
		et[etn - 2] = '\0';
	}

	out->event_name = OFF(off_name);
	out->event_time = OFF(off_time);
	out->region = OFF(off_region);
	out->bucket = OFF(off_bucket);
	out->key = OFF(off_key);
	out->key_len = key_len;
	out->size = size;
	out->etag = OFF(off_etag);
	out->version_id = OFF(off_ver);
	out->sequencer = OFF(off_seq);
	return S3I_OK;
}

/* Turn the offsets into pointers into the detached arena. */
static void resolve(s3i_s3_event *ev, char *base)
{
	ev->strings = base;
	ev->topic_arn = base + (uintptr_t)ev->topic_arn;
	ev->sns_type = base + (uintptr_t)ev->sns_type;
	ev->test_bucket = base + (uintptr_t)ev->test_bucket;
	for (size_t i = 0; i < ev->n_records; i++) {
		s3i_s3_event_record *r = &ev->records[i];
		r->event_name = base + (uintptr_t)r->event_name;
		r->event_time = base + (uintptr_t)r->event_time;
		r->region = base + (uintptr_t)r->region;
		r->bucket = base + (uintptr_t)r->bucket;
		r->key = base + (uintptr_t)r->key;
		r->etag = base + (uintptr_t)r->etag;
		r->version_id = base + (uintptr_t)r->version_id;
		r->sequencer = base + (uintptr_t)r->sequencer;
	}
}

/* The S3 document itself (raw, or the Message of an envelope). */
static int parse_doc(builder *b, s3i_s3_event *ev, const char *text, size_t len)
{
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, text, len, b->via_sns ? WHAT " in an SNS message" : WHAT,
		b->err);
	if (rc)
		return rc;
	if (!s3i_json_is_obj(doc)) {
		s3i_json_free(doc);
		return bad(b, "the message is not a JSON object");
	}
	const char *event = s3i_json_str(s3i_json_get(doc, "Event"));
	s3i_json records = s3i_json_get(doc, "Records");
	if (event && !strcmp(event, "s3:TestEvent") && !records) {
		ev->kind = S3I_S3_EVENT_TEST;
		size_t off = keep_str(b, s3i_json_str(s3i_json_get(doc, "Bucket")));
		ev->test_bucket = OFF(off);
		s3i_json_free(doc);
		return off == SIZE_MAX ? oom(b) : S3I_OK;
	}
	if (!s3i_json_is_arr(records)) {
		s3i_json_free(doc);
		if (event)
			return bad(b, "Event is not s3:TestEvent and there are no Records");
		return bad(b, "Records is %s", records ? "not an array" : "missing");
	}
	size_t n = s3i_json_len(records);
	ev->kind = S3I_S3_EVENT_RECORDS;
	ev->records = s3i_calloc(b->a, n ? n : 1, sizeof(*ev->records));
	if (!ev->records) {
		s3i_json_free(doc);
		return oom(b);
	}
	for (size_t i = 0; i < n && !rc; i++) {
		rc = parse_record(b, s3i_json_at(records, i), i, &ev->records[i]);
		if (!rc)
			ev->n_records = i + 1;
	}
	s3i_json_free(doc);
	return rc;
}

typedef struct env_ctx {
	builder *b;
	s3i_s3_event *ev;
	int rc;
} env_ctx;

static int on_envelope(void *payload, const s3i_sns_envelope *env)
{
	env_ctx *c = payload;
	builder *b = c->b;
	b->via_sns = 1;
	b->topic = env->topic_arn;
	size_t t = keep_str(b, env->topic_arn), ty = keep_str(b, env->type);
	if (t == SIZE_MAX || ty == SIZE_MAX) {
		c->rc = oom(b);
		return 1;
	}
	c->ev->via_sns = 1;
	c->ev->topic_arn = OFF(t);
	c->ev->sns_type = OFF(ty);
	if (strcmp(env->type, "Notification")) {
		c->ev->kind = S3I_S3_EVENT_OTHER;   /* SubscriptionConfirmation and the like */
		return 0;
	}
	c->rc = parse_doc(b, c->ev, env->message, env->message_len);
	return c->rc != S3I_OK;
}

void s3i_s3_event_dispose(s3i_s3_event *ev)
{
	if (!ev)
		return;
	const s3i_allocator *a = ev->alloc;
	s3i_free(a, ev->records);
	s3i_free(a, ev->strings);
	memset(ev, 0, sizeof(*ev));
	ev->alloc = a;
}

int s3i_s3_event_parse(s3i_s3_event *out, const char *body, size_t len, const s3i_allocator *a,
	s3i_errinfo *err)
{
	if (!out)
		return s3i_err(err, S3I_EINVALID, NULL, WHAT ": no output given");
	memset(out, 0, sizeof(*out));
	out->alloc = a ? a : s3i_allocator_default();
	/* Errors go to `mine` first: the envelope reader records its own "stopped by the callback"
	 * when our callback fails, which must not replace the reason. */
	s3i_errinfo mine, scratch;
	s3i_errinfo_init(&mine);
	s3i_errinfo_init(&scratch);
	builder b = { out->alloc, S3I_BUF_INIT, &mine, 0, "" };
	s3i_buf_init(&b.arena, out->alloc);
	s3i_s3_event ev = *out;
	/* offset 0 is "" for every absent string */
	int rc = s3i_buf_putc(&b.arena, '\0') ? oom(&b) : S3I_OK;
	if (!rc && !body)
		rc = bad(&b, "no message body");
	if (!rc) {
		env_ctx c = { &b, &ev, S3I_OK };
		rc = s3i_sns_envelope_parse(body, len, on_envelope, &c, &scratch);
		if (rc == S3I_ENOTFOUND)
			rc = parse_doc(&b, &ev, body, len);   /* a raw notification */
		else if (rc == S3I_EUSER)
			rc = c.rc;
		else if (rc)
			s3i_errinfo_copy(&mine, &scratch);    /* a broken envelope */
	}
	if (rc) {
		if (err)
			s3i_errinfo_copy(err, &mine);
		s3i_errinfo_copy(s3i_errinfo_thread(), &mine);
		s3i_free(out->alloc, ev.records);
		s3i_buf_dispose(&b.arena);
		return rc;
	}
	resolve(&ev, s3i_buf_detach(&b.arena));
	*out = ev;
	return S3I_OK;
}

int s3i_s3_event_is_created(const s3i_s3_event_record *r)
{
	return r && r->event_name && !strncmp(r->event_name, "ObjectCreated:", 14);
}

/* ------------------------------------------------------------------ inventory keys */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits where pat has 'd', the pattern's other characters exactly. */
static int matches(const char *s, size_t len, const char *pat)
{
	if (len != strlen(pat))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (pat[i] == 'd' ? !is_digit(s[i]) : s[i] != pat[i])
			return 0;
	return 1;
}

static int is_region_like(const char *s, size_t len)
{
	if (len < 4 || len > 31 || s[2] != '-' || !is_digit(s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

#define MAX_SEGS 64

void s3i_inventory_key_parse(const char *key, size_t len, s3i_inventory_key *out)
{
	memset(out, 0, sizeof(*out));
	if (!key || !len)
		return;
	/* segment boundaries: seg i is [start[i], start[i] + slen[i]) */
	size_t start[MAX_SEGS], slen[MAX_SEGS], n = 0, from = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || key[i] == '/') {
			if (n == MAX_SEGS)
				return;     /* deeper than any delivery */
			start[n] = from;
			slen[n] = i - from;
			n++;
			from = i + 1;
		}
	}
#define SEG(i, lit) (slen[i] == sizeof(lit) - 1 && !memcmp(key + start[i], lit, sizeof(lit) - 1))
	s3i_inventory_key_kind kind = S3I_INVKEY_OTHER;
	size_t bucket_seg = 0;
	s3i_key_span ts = { 0, 0 };
	if (n >= 4 && (SEG(n - 1, "manifest.checksum") || SEG(n - 1, "manifest.json")) &&
		matches(key + start[n - 2], slen[n - 2], "dddd-dd-ddTdd-ddZ")) {
		kind = SEG(n - 1, "manifest.json") ? S3I_INVKEY_MANIFEST_JSON : S3I_INVKEY_MANIFEST_CHECKSUM;
		ts.off = start[n - 2];
		ts.len = slen[n - 2];
		bucket_seg = n - 4;
	} else if (n >= 4 && SEG(n - 2, "data") && slen[n - 1]) {
		kind = S3I_INVKEY_DATA;
		bucket_seg = n - 4;
	} else if (n >= 5 && SEG(n - 1, "symlink.txt") && SEG(n - 3, "hive") &&
		slen[n - 2] > 3 && !memcmp(key + start[n - 2], "dt=", 3) &&
		matches(key + start[n - 2] + 3, slen[n - 2] - 3, "dddd-dd-dd-dd-dd")) {
		kind = S3I_INVKEY_SYMLINK;
		ts.off = start[n - 2] + 3;
		ts.len = slen[n - 2] - 3;
		bucket_seg = n - 5;
	}
#undef SEG
	if (kind == S3I_INVKEY_OTHER || !slen[bucket_seg] || !slen[bucket_seg + 1])
		return;
	out->kind = kind;
	out->timestamp = ts;
	out->source_bucket.off = start[bucket_seg];
	out->source_bucket.len = slen[bucket_seg];
	out->config_id.off = start[bucket_seg + 1];
	out->config_id.len = slen[bucket_seg + 1];
	out->prefix.off = 0;
	out->prefix.len = bucket_seg ? start[bucket_seg] - 1 : 0;
	out->folder.off = 0;
	out->folder.len = start[n - 1];
	out->name.off = start[n - 1];
	out->name.len = slen[n - 1];
	if (bucket_seg == 2 && matches(key, slen[0], "dddddddddddd") &&
		is_region_like(key + start[1], slen[1])) {
		out->account.off = 0;
		out->account.len = slen[0];
		out->region.off = start[1];
		out->region.len = slen[1];
	}
}

int s3i_key_span_copy(const char *key, s3i_key_span sp, char *out, size_t cap)
{
	if (!out || !cap)
		return S3I_EINVALID;
	if (sp.len >= cap || (!key && sp.len)) {
		out[0] = '\0';
		return S3I_EINVALID;
	}
	if (sp.len)
		memcpy(out, key + sp.off, sp.len);
	out[sp.len] = '\0';
	return S3I_OK;
}

int s3i_inventory_sibling_key(s3i_buf *out, const char *key, size_t len, const char *name)
{
	if (!out || !key || !name)
		return S3I_EINVALID;
	size_t cut = len;
	while (cut > 0 && key[cut - 1] != '/')
		cut--;
	size_t mark = out->size;
	int rc = s3i_buf_put(out, key, cut);
	if (!rc)
		rc = s3i_buf_puts(out, name);
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}
