#include "services/sns.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "core/json.h"
#include "core/str.h"
#include "core/xml.h"

const s3i_service s3i_svc_sns = { "sns", "sns", S3I_PROTO_QUERY, NULL, "2010-03-31", NULL };

#define NAME_MAX_LEN 256           /* topic names: 1-256 of [A-Za-z0-9_-], ".fifo" counted */
#define RES_MAX 300

/* ------------------------------------------------------------------ ARNs and targets */

int s3i_sns_topic_arn_parts(const char *topic_arn, char *region, size_t region_cap, char *name,
	size_t name_cap)
{
	if (region && region_cap)
		region[0] = '\0';
	if (name && name_cap)
		name[0] = '\0';
	if (!topic_arn || strncmp(topic_arn, "arn:", 4) || strlen(topic_arn) >= S3I_SNS_ARN_MAX)
		return S3I_EINVALID;
	/* arn : partition : sns : region : account : name */
	const char *f[6];
	size_t flen[6];
	const char *p = topic_arn;
	for (int i = 0; i < 6; i++) {
		f[i] = p;
		flen[i] = i < 5 ? strcspn(p, ":") : strlen(p);
		if (i < 5 && p[flen[i]] != ':')
			return S3I_EINVALID;
		p += flen[i] + 1;
	}
	char reg[64];
	if (flen[1] == 0 || flen[2] != 3 || strncmp(f[2], "sns", 3) || flen[3] == 0 ||
		flen[3] >= sizeof(reg) || flen[4] != 12 || strspn(f[4], "0123456789") < 12 ||
		flen[5] == 0 || flen[5] > NAME_MAX_LEN)
		return S3I_EINVALID;
	memcpy(reg, f[3], flen[3]);
	reg[flen[3]] = '\0';
	if (!s3i_region_is_valid(reg))
		return S3I_EINVALID;
	for (size_t i = 0; i < flen[5]; i++)
		if ((unsigned char)f[5][i] <= 0x20 || f[5][i] == 0x7f || f[5][i] == '\'' ||
			f[5][i] == ':')
			return S3I_EINVALID;
	if ((region && flen[3] >= region_cap) || (name && flen[5] >= name_cap))
		return S3I_EINVALID;
	if (region) {
		memcpy(region, reg, flen[3] + 1);
	}
	if (name) {
		memcpy(name, f[5], flen[5]);
		name[flen[5]] = '\0';
	}
	return S3I_OK;
}

/* Which topic a call is about: its region, its name and how errors name it. */
typedef struct ttarget {
	const char *arn;            /* NULL for CreateTopic */
	char name[NAME_MAX_LEN + 1];
	char region[64];
	char res[RES_MAX];          /* "topic 'name'" */
} ttarget;

static int target_arn(const s3i_svc *svc, const char *op, const char *arn, ttarget *t,
	s3i_errinfo *err)
{
	memset(t, 0, sizeof(*t));
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, "topic", "%s: no client", op);
	if (s3i_sns_topic_arn_parts(arn, t->region, sizeof(t->region), t->name, sizeof(t->name)))
		return s3i_err(err, S3I_EINVALID, "topic", "%s: '%s' is not a topic ARN "
			"(arn:<partition>:sns:<region>:<account>:<name>)", op,
			s3i_str_one_line((char[300]){ 0 }, 300, arn));
	snprintf(t->res, sizeof(t->res), "topic '%.280s'", t->name);
	t->arn = arn;
	return S3I_OK;
}

static int topic_name_ok(const char *name)
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

static int check_text(const char *s, size_t max)
{
	if (!s || strlen(s) > max)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	return 1;
}

static int map_error(int rc, s3i_errinfo *err, const char *op, const ttarget *t)
{
	if (t->arn && (!strcasecmp(err->aws_code, "NotFound") ||
		!strcasecmp(err->aws_code, "NotFoundException")))
		return s3i_err_reword(err, S3I_ENOTFOUND, t->res, "%s: %s does not exist in %s (%.300s)", op,
			t->res, t->region, t->arn);
	return rc;
}

static int with_resource(s3i_errinfo *err, int rc, const char *res)
{
	return s3i_err(err, rc, res, "%s", err->message);
}

/* One SNS call in the topic's region; resp is reset and refilled. */
static int tcall(const s3i_svc *svc, const ttarget *t, const char *op, const s3i_params *params,
	s3i_http_response *resp, s3i_errinfo *err)
{
	s3i_call call = { .svc = &s3i_svc_sns, .operation = op, .resource = t->res,
		.region = t->region, .creds = svc->creds, .params = params };
	s3i_http_response_reset(resp);
	int rc = s3i_client_call(svc->client, &call, resp, err);
	return rc ? map_error(rc, err, op, t) : S3I_OK;
}

static int add_kv(s3i_params *p, const char *prefix, const char *kname, const char *vname,
	const s3i_sns_kv *kv, size_t n)
{
	int rc = S3I_OK;
	char key[96];
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(key, sizeof(key), "%s.%zu.%s", prefix, i + 1, kname);
		if (!(rc = s3i_params_add(p, key, kv[i].key))) {
			snprintf(key, sizeof(key), "%s.%zu.%s", prefix, i + 1, vname);
			rc = s3i_params_add(p, key, kv[i].value);
		}
	}
	return rc;
}

static int check_kv(const char *op, const ttarget *t, const char *what, const s3i_sns_kv *kv,
	size_t n, s3i_errinfo *err)
{
	if (n && !kv)
		return s3i_err(err, S3I_EINVALID, t->res, "%s on %s: %zu %s given without an array",
			op, t->res, n, what);
	for (size_t i = 0; i < n; i++)
		if (!kv[i].key || !*kv[i].key || !kv[i].value || !check_text(kv[i].key, 256) ||
			!check_text(kv[i].value, 1 << 20))
			return s3i_err(err, S3I_EINVALID, t->res, "%s on %s: %s %zu has no name, no value "
				"or control characters", op, t->res, what, i);
	return S3I_OK;
}

static int oom(s3i_errinfo *err, const char *op, const ttarget *t)
{
	return s3i_err(err, S3I_ENOMEM, t->res, "%s on %s: out of memory building the request", op,
		t->res);
}

/* A call whose answer is one result member (TopicArn, SubscriptionArn, MessageId), or none
 * (member NULL). */
static int result_call(const s3i_svc *svc, const ttarget *t, const char *op, s3i_params *params,
	const char *member, char *out, size_t cap, s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	int rc = tcall(svc, t, op, params, &resp, err);
	if (!rc && member && out) {
		if ((rc = s3i_sns_result_parse(a, resp.body.ptr, resp.body.size, op, member, out, cap,
			err)))
			rc = with_resource(err, rc, t->res);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(params);
	return rc;
}

/* ------------------------------------------------------------------ XML parsers */

static int is_error_root(const char *name)
{
	return !strcmp(name, "ErrorResponse") || !strcmp(name, "Error");
}

/* <op>Response/<op>Result/<member> */
typedef struct result_parse {
	char root[96];
	char result[96];
	const char *member;
	const char *what;
	s3i_buf *text;
	int found;
	s3i_errinfo *err;
} result_parse;

static int result_start(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	result_parse *rp = user;
	if (depth == 1 && strcmp(name, rp->root))
		return s3i_err(rp->err, S3I_EPARSE, NULL, "%s: the response is <%.60s>, not <%s>%s",
			rp->what, name, rp->root, is_error_root(name) ? " (an error document)" : "");
	return S3I_OK;
}

static int result_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	(void)path;
	result_parse *rp = user;
	if (depth != 3 || strcmp(name, rp->member))
		return S3I_OK;
	/* only under <op>Result */
	size_t rl = strlen(rp->root);
	if (strncmp(path + rl + 1, rp->result, strlen(rp->result)) ||
		path[rl + 1 + strlen(rp->result)] != '/')
		return S3I_OK;
	if (rp->found)
		return s3i_err(rp->err, S3I_EPARSE, NULL, "%s: %s appears twice", rp->what, rp->member);
	rp->found = 1;
	s3i_buf_clear(rp->text);
	if (s3i_buf_put(rp->text, text, len))
		return s3i_err(rp->err, S3I_ENOMEM, NULL, "%s: out of memory", rp->what);
	return S3I_OK;
}

int s3i_sns_result_parse(const s3i_allocator *a, const char *body, size_t len, const char *op,
	const char *member, char *out, size_t cap, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (out && cap)
		out[0] = '\0';
	if (!op || !member || strlen(op) > 80)
		return s3i_err(err, S3I_EINVALID, NULL, "SNS result: no operation or member");
	char what[160];
	snprintf(what, sizeof(what), "SNS %s response", op);
	s3i_buf text;
	s3i_buf_init(&text, a);
	result_parse rp = { .member = member, .what = what, .text = &text, .err = err };
	snprintf(rp.root, sizeof(rp.root), "%sResponse", op);
	snprintf(rp.result, sizeof(rp.result), "%sResult", op);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, result_start, result_end, &rp, err);
	if (rc == S3I_EPARSE && strncmp(err->message, what, strlen(what)))
		s3i_err_prefix(err, "%s: ", what);
	size_t n = text.size;
	const char *v = rp.found ? s3i_str_trim(s3i_buf_cstr(&text), &n) : NULL;
	if (!rc && (!v || !n))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no %s", what, member);
	else if (!rc && (!out || n >= cap))
		rc = s3i_err(err, S3I_EINVALID, NULL, "%s: %s does not fit the %zu bytes given", what,
			member, cap);
	else if (!rc) {
		memcpy(out, v, n);
		out[n] = '\0';
	}
	s3i_buf_dispose(&text);
	return rc;
}

/* GetTopicAttributesResponse/GetTopicAttributesResult/Attributes/entry/{key,value} */
typedef struct attrs_parse {
	const char *what;
	s3i_params *out;
	s3i_buf key, value;
	int have_key;
	s3i_errinfo *err;
} attrs_parse;

static int attrs_start(void *user, const char *path, const char *name, int depth)
{
	attrs_parse *ap = user;
	if (depth == 1 && strcmp(name, "GetTopicAttributesResponse"))
		return s3i_err(ap->err, S3I_EPARSE, NULL, "%s: the response is <%.60s>, not "
			"<GetTopicAttributesResponse>%s", ap->what, name,
			is_error_root(name) ? " (an error document)" : "");
	if (depth == 4 && !strcmp(path, "GetTopicAttributesResponse/GetTopicAttributesResult/"
		"Attributes/entry")) {
		ap->have_key = 0;
		s3i_buf_clear(&ap->key);
		s3i_buf_clear(&ap->value);
	}
	return S3I_OK;
}

static int attrs_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	attrs_parse *ap = user;
	static const char entry[] = "GetTopicAttributesResponse/GetTopicAttributesResult/"
		"Attributes/entry";
	if (strncmp(path, entry, sizeof(entry) - 1))
		return S3I_OK;
	if (depth == 5 && (!strcmp(name, "key") || !strcmp(name, "value"))) {
		int is_key = name[0] == 'k';
		if (is_key && ap->have_key)
			return s3i_err(ap->err, S3I_EPARSE, NULL, "%s: an entry has two keys", ap->what);
		s3i_buf *b = is_key ? &ap->key : &ap->value;
		s3i_buf_clear(b);
		if (s3i_buf_put(b, text, len))
			return s3i_err(ap->err, S3I_ENOMEM, NULL, "%s: out of memory", ap->what);
		ap->have_key |= is_key;
		return S3I_OK;
	}
	if (depth != 4)
		return S3I_OK;
	const char *k = s3i_buf_cstr(&ap->key);
	if (!ap->have_key || !*k || memchr(ap->key.ptr, '\0', ap->key.size))
		return s3i_err(ap->err, S3I_EPARSE, NULL, "%s: an entry has no key", ap->what);
	if (s3i_sns_attr_get(ap->out, k))
		return s3i_err(ap->err, S3I_EPARSE, NULL, "%s: attribute %s appears twice",
			ap->what, s3i_str_one_line((char[100]){ 0 }, 100, k));
	if (s3i_params_add(ap->out, k, s3i_buf_cstr(&ap->value)))
		return s3i_err(ap->err, S3I_ENOMEM, NULL, "%s: out of memory", ap->what);
	return S3I_OK;
}

int s3i_sns_attrs_parse(const s3i_allocator *a, const char *body, size_t len, const char *what,
	s3i_params *out, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "SNS GetTopicAttributes response";
	if (!out)
		return s3i_err(err, S3I_EINVALID, NULL, "%s: no output", what);
	s3i_params_free(out);
	attrs_parse ap = { .what = what, .out = out, .err = err };
	s3i_buf_init(&ap.key, a);
	s3i_buf_init(&ap.value, a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, attrs_start, attrs_end, &ap, err);
	if (rc == S3I_EPARSE && strncmp(err->message, what, strlen(what)))
		s3i_err_prefix(err, "%s: ", what);
	s3i_buf_dispose(&ap.key);
	s3i_buf_dispose(&ap.value);
	if (rc)
		s3i_params_free(out);
	return rc;
}

const char *s3i_sns_attr_get(const s3i_params *attrs, const char *name)
{
	if (!attrs || !name)
		return NULL;
	for (size_t i = 0; i < attrs->count; i++)
		if (!strcmp(attrs->keys[i], name))
			return attrs->values[i] ? attrs->values[i] : "";
	return NULL;
}

/* ListSubscriptionsByTopicResponse/ListSubscriptionsByTopicResult/{Subscriptions/member/<field>,
 * NextToken} */
enum { SUB_ARN, SUB_OWNER, SUB_PROTOCOL, SUB_ENDPOINT, SUB_TOPIC, SUB_FIELDS };
static const char *const sub_fields[SUB_FIELDS] = { "SubscriptionArn", "Owner", "Protocol",
	"Endpoint", "TopicArn" };

typedef struct subs_parse {
	const char *what;
	s3i_buf field[SUB_FIELDS];
	unsigned char have[SUB_FIELDS];
	s3i_buf *next_token;
	int have_token;
	s3i_sns_subscription_fn fn;
	void *payload;
	size_t *count;
	int stopped;
	s3i_errinfo *err;
} subs_parse;

#define SUBS_RESULT "ListSubscriptionsByTopicResponse/ListSubscriptionsByTopicResult"
#define SUBS_MEMBER SUBS_RESULT "/Subscriptions/member"

static int subs_start(void *user, const char *path, const char *name, int depth)
{
	subs_parse *sp = user;
	if (depth == 1 && strcmp(name, "ListSubscriptionsByTopicResponse"))
		return s3i_err(sp->err, S3I_EPARSE, NULL, "%s: the response is <%.60s>, not "
			"<ListSubscriptionsByTopicResponse>%s", sp->what, name,
			is_error_root(name) ? " (an error document)" : "");
	if (depth == 4 && !strcmp(path, SUBS_MEMBER)) {
		memset(sp->have, 0, sizeof(sp->have));
		for (int i = 0; i < SUB_FIELDS; i++)
			s3i_buf_clear(&sp->field[i]);
	}
	return S3I_OK;
}

static int subs_emit(subs_parse *sp)
{
	if (!sp->have[SUB_ARN] || !sp->field[SUB_ARN].size)
		return s3i_err(sp->err, S3I_EPARSE, NULL, "%s: a member has no SubscriptionArn",
			sp->what);
	s3i_sns_subscription s = {
		s3i_buf_cstr(&sp->field[SUB_ARN]), s3i_buf_cstr(&sp->field[SUB_OWNER]),
		s3i_buf_cstr(&sp->field[SUB_PROTOCOL]), s3i_buf_cstr(&sp->field[SUB_ENDPOINT]),
		s3i_buf_cstr(&sp->field[SUB_TOPIC]) };
	if (sp->count)
		(*sp->count)++;
	if (sp->fn && sp->fn(sp->payload, &s)) {
		sp->stopped = 1;
		return s3i_err(sp->err, S3I_EUSER, NULL, "%s: stopped by the callback at "
			"subscription '%s'", sp->what, s3i_str_one_line((char[300]){ 0 }, 300, s.subscription_arn));
	}
	return S3I_OK;
}

static int subs_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	subs_parse *sp = user;
	if (depth == 5 && !strncmp(path, SUBS_MEMBER "/", sizeof(SUBS_MEMBER))) {
		for (int i = 0; i < SUB_FIELDS; i++) {
			if (strcmp(name, sub_fields[i]))
				continue;
			if (sp->have[i])
				return s3i_err(sp->err, S3I_EPARSE, NULL, "%s: a member has two %s", sp->what,
					name);
			sp->have[i] = 1;
			size_t n = len;
			const char *v = s3i_str_trim(text, &n);
			if (s3i_buf_put(&sp->field[i], v, n))
				return s3i_err(sp->err, S3I_ENOMEM, NULL, "%s: out of memory", sp->what);
		}
		return S3I_OK;
	}
	if (depth == 4 && !strcmp(path, SUBS_MEMBER))
		return subs_emit(sp);
	if (depth == 3 && !strcmp(name, "NextToken") && !strcmp(path, SUBS_RESULT "/NextToken")) {
		if (sp->have_token)
			return s3i_err(sp->err, S3I_EPARSE, NULL, "%s: NextToken appears twice", sp->what);
		sp->have_token = 1;
		size_t n = len;
		const char *v = s3i_str_trim(text, &n);
		if (sp->next_token && s3i_buf_put(sp->next_token, v, n))
			return s3i_err(sp->err, S3I_ENOMEM, NULL, "%s: out of memory", sp->what);
	}
	return S3I_OK;
}

int s3i_sns_subscriptions_parse(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_sns_subscription_fn fn, void *payload, s3i_buf *next_token,
	size_t *count, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "SNS ListSubscriptionsByTopic response";
	if (next_token)
		s3i_buf_clear(next_token);
	subs_parse sp = { .what = what, .next_token = next_token, .fn = fn, .payload = payload,
		.count = count, .err = err };
	for (int i = 0; i < SUB_FIELDS; i++)
		s3i_buf_init(&sp.field[i], a);
	int rc = s3i_xml_parse(a, len ? body : NULL, len, subs_start, subs_end, &sp, err);
	if (rc == S3I_EPARSE && strncmp(err->message, what, strlen(what)))
		s3i_err_prefix(err, "%s: ", what);
	for (int i = 0; i < SUB_FIELDS; i++)
		s3i_buf_dispose(&sp.field[i]);
	if (rc && next_token)
		s3i_buf_clear(next_token);
	return rc;
}

/* ------------------------------------------------------------------ envelope */

int s3i_sns_envelope_parse(const char *body, size_t len, s3i_sns_envelope_fn fn, void *payload,
	s3i_errinfo *err)
{
	const char *what = "SNS envelope";
	/* Not JSON, or not an object: a raw message, not an envelope. The parse error must not
	 * replace the caller's error detail, so it goes to a scratch record. */
	s3i_errinfo scratch;
	s3i_errinfo_init(&scratch);
	s3i_errinfo saved;
	s3i_errinfo_copy(&saved, s3i_errinfo_thread());
	s3i_json doc = NULL;
	size_t i = 0;
	while (body && i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' ||
		body[i] == '\r'))
		i++;
	int looks_like_object = body && i < len && body[i] == '{';
	int prc = looks_like_object ? s3i_json_parse(&doc, body, len, what, &scratch) : S3I_EPARSE;
	s3i_errinfo_copy(s3i_errinfo_thread(), &saved);
	if (prc == S3I_ENOMEM)
		return s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory", what);
	if (prc || !s3i_json_is_obj(doc)) {
		s3i_json_free(doc);
		return S3I_ENOTFOUND;
	}
	s3i_sns_envelope env = { 0 };
	env.type = s3i_json_str(s3i_json_get(doc, "Type"));
	env.topic_arn = s3i_json_str(s3i_json_get(doc, "TopicArn"));
	int rc = S3I_OK;
	if (!env.type || !env.topic_arn) {
		rc = S3I_ENOTFOUND;
	} else {
		env.message_id = s3i_json_str(s3i_json_get(doc, "MessageId"));
		env.message = s3i_json_str(s3i_json_get(doc, "Message"));
		env.subject = s3i_json_str(s3i_json_get(doc, "Subject"));
		env.timestamp = s3i_json_str(s3i_json_get(doc, "Timestamp"));
		if (!env.message_id || !*env.message_id || !env.message)
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s from topic '%s' lacks a MessageId or a "
				"Message", what, s3i_str_one_line((char[300]){ 0 }, 300, env.topic_arn));
		else {
			env.message_len = strlen(env.message);
			if (fn && fn(payload, &env))
				rc = s3i_err(err, S3I_EUSER, NULL, "%s: message '%s' stopped by the "
					"callback", what, s3i_str_one_line((char[128]){ 0 }, 128, env.message_id));
		}
	}
	s3i_json_free(doc);
	return rc;
}

/* ------------------------------------------------------------------ operations */

int s3i_sns_create_topic_op(const s3i_svc *svc, const char *name, const s3i_sns_kv *attrs,
	size_t nattrs, const s3i_sns_kv *tags, size_t ntags, char *arn_out, size_t arn_cap,
	s3i_errinfo *err)
{
	const char *op = "CreateTopic";
	if (!err)
		err = s3i_errinfo_thread();
	if (arn_out && arn_cap)
		arn_out[0] = '\0';
	ttarget t;
	memset(&t, 0, sizeof(t));
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, "topic", "%s: no client", op);
	if (!topic_name_ok(name))
		return s3i_err(err, S3I_EINVALID, "topic", "%s: '%s' is not a topic name (1-256 "
			"letters, digits, '-' and '_', optionally ending in .fifo)", op,
			s3i_str_one_line((char[100]){ 0 }, 100, name));
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.res, sizeof(t.res), "topic '%.280s'", name);
	const char *region = svc->region && *svc->region ? svc->region
		: s3i_client_region(svc->client);
	snprintf(t.region, sizeof(t.region), "%s", region ? region : "");
	int rc = check_kv(op, &t, "attribute", attrs, nattrs, err);
	if (!rc)
		rc = check_kv(op, &t, "tag", tags, ntags, err);
	if (!rc && (!arn_out || !arn_cap))
		rc = s3i_err(err, S3I_EINVALID, t.res, "%s of %s: no buffer for the ARN", op, t.res);
	if (rc)
		return rc;
	s3i_params p;
	s3i_params_init(&p, s3i_client_alloc(svc->client));
	if (s3i_params_add(&p, "Name", name) ||
		add_kv(&p, "Attributes.entry", "key", "value", attrs, nattrs) ||
		add_kv(&p, "Tags.member", "Key", "Value", tags, ntags)) {
		s3i_params_free(&p);
		return oom(err, op, &t);
	}
	return result_call(svc, &t, op, &p, "TopicArn", arn_out, arn_cap, err);
}

int s3i_sns_subscribe_op(const s3i_svc *svc, const char *topic_arn, const char *protocol,
	const char *endpoint, const s3i_sns_kv *attrs, size_t nattrs, char *arn_out, size_t arn_cap,
	s3i_errinfo *err)
{
	const char *op = "Subscribe";
	if (!err)
		err = s3i_errinfo_thread();
	if (arn_out && arn_cap)
		arn_out[0] = '\0';
	ttarget t;
	int rc = target_arn(svc, op, topic_arn, &t, err);
	if (rc)
		return rc;
	if (!protocol || !*protocol || !check_text(protocol, 64) || !endpoint || !*endpoint ||
		!check_text(endpoint, 2048))
		return s3i_err(err, S3I_EINVALID, t.res, "%s to %s: no protocol or endpoint", op, t.res);
	if ((rc = check_kv(op, &t, "attribute", attrs, nattrs, err)))
		return rc;
	s3i_params p;
	s3i_params_init(&p, s3i_client_alloc(svc->client));
	if (s3i_params_add(&p, "TopicArn", topic_arn) || s3i_params_add(&p, "Protocol", protocol) ||
		s3i_params_add(&p, "Endpoint", endpoint) ||
		add_kv(&p, "Attributes.entry", "key", "value", attrs, nattrs) ||
		s3i_params_add(&p, "ReturnSubscriptionArn", "true")) {
		s3i_params_free(&p);
		return oom(err, op, &t);
	}
	char scratch[S3I_SNS_ARN_MAX];
	return result_call(svc, &t, op, &p, "SubscriptionArn", arn_out ? arn_out : scratch,
		arn_out ? arn_cap : sizeof(scratch), err);
}

int s3i_sns_set_topic_attribute_op(const s3i_svc *svc, const char *topic_arn, const char *name,
	const char *value, s3i_errinfo *err)
{
	const char *op = "SetTopicAttributes";
	if (!err)
		err = s3i_errinfo_thread();
	ttarget t;
	int rc = target_arn(svc, op, topic_arn, &t, err);
	if (rc)
		return rc;
	s3i_sns_kv kv = { name, value };
	if ((rc = check_kv(op, &t, "attribute", &kv, 1, err)))
		return rc;
	s3i_params p;
	s3i_params_init(&p, s3i_client_alloc(svc->client));
	if (s3i_params_add(&p, "TopicArn", topic_arn) || s3i_params_add(&p, "AttributeName", name) ||
		s3i_params_add(&p, "AttributeValue", value)) {
		s3i_params_free(&p);
		return oom(err, op, &t);
	}
	return result_call(svc, &t, op, &p, NULL, NULL, 0, err);
}

int s3i_sns_get_topic_attributes_op(const s3i_svc *svc, const char *topic_arn, s3i_params *out,
	s3i_errinfo *err)
{
	const char *op = "GetTopicAttributes";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "topic", "%s: no output", op);
	s3i_params_free(out);
	ttarget t;
	int rc = target_arn(svc, op, topic_arn, &t, err);
	if (rc)
		return rc;
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params p;
	s3i_params_init(&p, a);
	if (s3i_params_add(&p, "TopicArn", topic_arn)) {
		s3i_params_free(&p);
		return oom(err, op, &t);
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	rc = tcall(svc, &t, op, &p, &resp, err);
	if (!rc) {
		char what[400];
		snprintf(what, sizeof(what), "%s response for %s", op, t.res);
		if ((rc = s3i_sns_attrs_parse(a, resp.body.ptr, resp.body.size, what, out, err)))
			rc = with_resource(err, rc, t.res);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&p);
	return rc;
}

int s3i_sns_list_subscriptions_op(const s3i_svc *svc, const char *topic_arn,
	s3i_sns_subscription_fn fn, void *payload, size_t *count, s3i_errinfo *err)
{
	const char *op = "ListSubscriptionsByTopic";
	if (!err)
		err = s3i_errinfo_thread();
	size_t seen = 0;
	if (count)
		*count = 0;
	ttarget t;
	int rc = target_arn(svc, op, topic_arn, &t, err);
	if (rc)
		return rc;
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params p;
	s3i_params_init(&p, a);
	s3i_buf token, prev;
	s3i_buf_init(&token, a);
	s3i_buf_init(&prev, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	char what[400];
	snprintf(what, sizeof(what), "%s response for %s", op, t.res);
	for (size_t page = 0;; page++) {
		s3i_params_free(&p);
		if (s3i_params_add(&p, "TopicArn", topic_arn) ||
			(token.size && s3i_params_add(&p, "NextToken", s3i_buf_cstr(&token)))) {
			rc = oom(err, op, &t);
			break;
		}
		if ((rc = tcall(svc, &t, op, &p, &resp, err)))
			break;
		s3i_buf_clear(&prev);
		if (token.size && s3i_buf_put(&prev, token.ptr, token.size)) {
			rc = oom(err, op, &t);
			break;
		}
		if ((rc = s3i_sns_subscriptions_parse(a, resp.body.ptr, resp.body.size, what, fn,
			payload, &token, &seen, err))) {
			rc = with_resource(err, rc, t.res);
			break;
		}
		if (!token.size)
			break;
		/* a service that hands back the token it was given would page for ever */
		if (prev.size == token.size && !memcmp(prev.ptr, token.ptr, token.size)) {
			rc = s3i_err(err, S3I_EPARSE, t.res, "%s on %s: page %zu returned the NextToken it "
				"was given", op, t.res, page + 1);
			break;
		}
	}
	if (count)
		*count = seen;
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&token);
	s3i_buf_dispose(&prev);
	s3i_params_free(&p);
	return rc;
}

int s3i_sns_delete_topic_op(const s3i_svc *svc, const char *topic_arn, s3i_errinfo *err)
{
	const char *op = "DeleteTopic";
	if (!err)
		err = s3i_errinfo_thread();
	ttarget t;
	int rc = target_arn(svc, op, topic_arn, &t, err);
	if (rc)
		return rc;
	s3i_params p;
	s3i_params_init(&p, s3i_client_alloc(svc->client));
	if (s3i_params_add(&p, "TopicArn", topic_arn)) {
		s3i_params_free(&p);
		return oom(err, op, &t);
	}
	rc = result_call(svc, &t, op, &p, NULL, NULL, 0, err);
	/* already gone is what DeleteTopic is for (AWS answers so itself; some endpoints and
	 * proxies say NotFound) */
	if (rc == S3I_ENOTFOUND)
		rc = S3I_OK;
	return rc;
}

int s3i_sns_publish_op(const s3i_svc *svc, const char *topic_arn, const char *message,
	const char *subject, char *id_out, size_t id_cap, s3i_errinfo *err)
{
	const char *op = "Publish";
	if (!err)
		err = s3i_errinfo_thread();
	if (id_out && id_cap)
		id_out[0] = '\0';
	ttarget t;
	int rc = target_arn(svc, op, topic_arn, &t, err);
	if (rc)
		return rc;
	if (!message || !*message)
		return s3i_err(err, S3I_EINVALID, t.res, "%s to %s: the message is empty", op, t.res);
	if (subject && (!*subject || strlen(subject) > 100 || !check_text(subject, 100) ||
		strpbrk(subject, "\n\r")))
		return s3i_err(err, S3I_EINVALID, t.res, "%s to %s: the subject must be 1-100 "
			"characters on one line", op, t.res);
	s3i_params p;
	s3i_params_init(&p, s3i_client_alloc(svc->client));
	if (s3i_params_add(&p, "TopicArn", topic_arn) || s3i_params_add(&p, "Message", message) ||
		(subject && s3i_params_add(&p, "Subject", subject))) {
		s3i_params_free(&p);
		return oom(err, op, &t);
	}
	char scratch[S3I_SNS_ID_MAX];
	return result_call(svc, &t, op, &p, "MessageId", id_out ? id_out : scratch,
		id_out ? id_cap : sizeof(scratch), err);
}
