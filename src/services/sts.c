#include "services/sts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "aws/ctx_internal.h"
#include "core/alloc.h"
#include "core/str.h"
#include "core/xml.h"

const s3i_service s3i_svc_sts = { "sts", "sts", S3I_PROTO_QUERY, NULL, "2011-06-15", NULL };

/* ------------------------------------------------------------------ plumbing */

/* Printable, one line, cut at a UTF-8 boundary: for names quoted in messages. */
static void shown(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	if (!src)
		src = "";
	while (src[n] && n + 1 < cap)
		n++;
	if (src[n])
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[n] = 0;
}

/* ------------------------------------------------------------------ GetCallerIdentity */

typedef struct identity_parse {
	s3i_sts_identity *out;
	s3i_errinfo *err;
	const char *what;
	int has_account, has_arn;
} identity_parse;

static int id_start(void *user, const char *path, const char *name, int depth)
{
	identity_parse *p = user;
	(void)path;
	if (depth == 1 && strcmp(name, "GetCallerIdentityResponse"))
		return s3i_err(p->err, S3I_EPARSE, NULL, "%s: the document is a <%.60s>, not a "
			"<GetCallerIdentityResponse>", p->what, name);
	return 0;
}

static int put_field(identity_parse *p, const char *field, char *dst, size_t cap,
	const char *text, size_t len, int *seen)
{
	if (seen && *seen)
		return s3i_err(p->err, S3I_EPARSE, NULL, "%s: %s appears twice", p->what, field);
	if (len >= cap)
		return s3i_err(p->err, S3I_EPARSE, NULL, "%s: %s is longer than %zu characters",
			p->what, field, cap - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: %s holds a control character",
				p->what, field);
	memcpy(dst, text, len);
	dst[len] = 0;
	if (seen)
		*seen = 1;
	return 0;
}

static int id_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	identity_parse *p = user;
	(void)depth;
	if (strncmp(path, "GetCallerIdentityResponse/GetCallerIdentityResult/", 50) ||
		strchr(path + 50, '/'))
		return 0;
	if (!strcmp(name, "Account")) {
		if (!len)
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: Account is empty", p->what);
		for (size_t i = 0; i < len; i++)
			if (text[i] < '0' || text[i] > '9')
				return s3i_err(p->err, S3I_EPARSE, NULL, "%s: Account is not a number",
					p->what);
		return put_field(p, "Account", p->out->account, sizeof(p->out->account), text, len,
			&p->has_account);
	}
	if (!strcmp(name, "Arn")) {
		if (len < 4 || strncmp(text, "arn:", 4))
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: Arn is not an ARN", p->what);
		return put_field(p, "Arn", p->out->arn, sizeof(p->out->arn), text, len, &p->has_arn);
	}
	if (!strcmp(name, "UserId"))
		return put_field(p, "UserId", p->out->user_id, sizeof(p->out->user_id), text, len, NULL);
	return 0;
}

int s3i_sts_caller_identity_parse(const s3i_allocator *a, const char *body, size_t len,
	s3i_sts_identity *out, s3i_errinfo *err)
{
	const char *what = "STS GetCallerIdentity response";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: no room for the identity", what);
	memset(out, 0, sizeof(*out));
	if (!body || !len)
		return s3i_err(err, S3I_EPARSE, NULL, "%s is empty", what);
	identity_parse p = { .out = out, .err = err, .what = what };
	int rc = s3i_xml_parse(a, body, len, id_start, id_end, &p, err);
	if (rc && rc != S3I_ENOMEM && rc != S3I_EPARSE)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s could not be parsed", what);
	if (!rc && (!p.has_account || !p.has_arn))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no %s", what, p.has_account ? "Arn"
			: "Account");
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

int s3i_sts_get_caller_identity_op(const s3i_svc *svc, s3i_sts_identity *out, s3i_errinfo *err)
{
	const char *op = "GetCallerIdentity";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: no room for the identity", op);
	memset(out, 0, sizeof(*out));
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, "svc", "%s: no client", op);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_call call = { .svc = &s3i_svc_sts, .operation = op, .resource = "caller identity",
		.creds = svc->creds, .region = svc->region };
	int rc = s3i_client_call(svc->client, &call, &resp, err);
	if (!rc)
		rc = s3i_sts_caller_identity_parse(a, resp.body.ptr, resp.body.size, out, err);
	s3i_http_response_free(&resp);
	return rc;
}

/* ------------------------------------------------------------------ role ARNs */

const char *s3i_sts_partition_of_region(const char *region)
{
	static const struct { const char *prefix, *partition; } table[] = {
		{ "cn-", "aws-cn" }, { "us-gov-", "aws-us-gov" }, { "us-isob-", "aws-iso-b" },
		{ "us-isof-", "aws-iso-f" }, { "us-iso-", "aws-iso" }, { "eu-isoe-", "aws-iso-e" },
	};
	for (size_t i = 0; region && i < sizeof(table) / sizeof(table[0]); i++)
		if (s3i_str_startswith(region, table[i].prefix))
			return table[i].partition;
	return "aws";
}

static int role_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		strchr("+=,.@_-", c) != NULL;
}

/* A role name after an optional path: segments of role-name characters, none empty, the last
 * (the name) 1 to 64 characters. */
static int role_name_ok(const char *s)
{
	size_t seg = 0, total = 0;
	for (const char *p = s; *p; p++, total++) {
		if (*p == '/') {
			if (!seg)
				return 0;
			seg = 0;
		} else if (!role_name_char(*p)) {
			return 0;
		} else {
			seg++;
		}
	}
	return seg >= 1 && seg <= 64 && total <= 512;
}

static int account_ok(const char *s, size_t n)
{
	if (n != 12)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int partition_ok(const char *s, size_t n)
{
	if (!n || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
			return 0;
	return s[0] != '-';
}

int s3i_sts_role_arn(char *out, size_t cap, const char *partition, const char *account,
	const char *name, s3i_errinfo *err)
{
	const char *op = "building a role ARN";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out || !cap)
		return s3i_err(err, S3I_EINVALID, "out", "%s: no room for the ARN", op);
	out[0] = 0;
	char s[80];
	if (!partition)
		partition = "aws";
	if (!partition_ok(partition, strlen(partition))) {
		shown(s, sizeof(s), partition);
		return s3i_err(err, S3I_EINVALID, "partition", "%s: partition '%s' is not a partition "
			"name", op, s);
	}
	if (!account || !account_ok(account, strlen(account))) {
		shown(s, sizeof(s), account);
		return s3i_err(err, S3I_EINVALID, "account", "%s: account '%s' is not a 12-digit "
			"account id", op, s);
	}
	if (!name || !role_name_ok(name)) {
		shown(s, sizeof(s), name);
		return s3i_err(err, S3I_EINVALID, "role name", "%s in account %s: role name '%s' is not "
			"a role name (1 to 64 of A-Z a-z 0-9 + = , . @ _ -, after an optional path)", op,
			account, s);
	}
	int n = snprintf(out, cap, "arn:%s:iam::%s:role/%s", partition, account, name);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = 0;
		return s3i_err(err, S3I_EINVALID, "out", "%s: the ARN of role '%s' in account %s does "
			"not fit in %zu bytes", op, name, account, cap);
	}
	return S3I_OK;
}

/* arn:<partition>:iam::<12 digits>:role/<path/name> */
static int role_arn_ok(const char *arn)
{
	if (!arn || strncmp(arn, "arn:", 4) || strlen(arn) > 2048)
		return 0;
	const char *p = arn + 4, *colon = strchr(p, ':');
	if (!colon || !partition_ok(p, (size_t)(colon - p)) || strncmp(colon, ":iam::", 6))
		return 0;
	p = colon + 6;
	colon = strchr(p, ':');
	if (!colon || !account_ok(p, (size_t)(colon - p)) || strncmp(colon, ":role/", 6))
		return 0;
	return role_name_ok(colon + 6);
}

static int text_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '_' || strchr(extra, s[i])))
			return 0;
	return 1;
}

static int check_role(const char *op, const s3i_sts_role *role, s3i_errinfo *err)
{
	char s[120];
	if (!role || !role->role_arn || !*role->role_arn)
		return s3i_err(err, S3I_EINVALID, "role_arn", "%s: no role ARN", op);
	if (!role_arn_ok(role->role_arn)) {
		shown(s, sizeof(s), role->role_arn);
		return s3i_err(err, S3I_EINVALID, s, "%s: '%s' is not a role ARN "
			"(arn:<partition>:iam::<account>:role/<name>)", op, s);
	}
	const char *arn = role->role_arn;
	if (role->session_name && !text_ok(role->session_name, 2, 64, "+=,.@-")) {
		shown(s, sizeof(s), role->session_name);
		return s3i_err(err, S3I_EINVALID, arn, "%s into %s: session name '%s' must have 2 to 64 "
			"of A-Z a-z 0-9 _ + = , . @ -", op, arn, s);
	}
	if (role->external_id && !text_ok(role->external_id, 2, 1224, "+=,.@:/-"))
		return s3i_err(err, S3I_EINVALID, arn, "%s into %s: the external id must have 2 to 1224 "
			"of A-Z a-z 0-9 _ + = , . @ : / -", op, arn);
	if (role->duration_s && (role->duration_s < 900 || role->duration_s > 43200))
		return s3i_err(err, S3I_EINVALID, arn, "%s into %s: duration %d s is not 0 or 900 to "
			"43200", op, arn, (int)role->duration_s);
	return S3I_OK;
}

/* ------------------------------------------------------------------ the role cache */

typedef struct role_entry {
	char *role_arn;
	char *session_name;        /* NULL: the provider's per-call default */
	char *external_id;
	int32_t duration_s;
	s3i_credprov *prov;
} role_entry;

struct s3i_sts_role_cache {
	const s3i_allocator *alloc;
	s3i_credprov_env env;      /* strings point at the copies below */
	char *region, *endpoint_url, *profile;
	s3i_credprov *source;
	s3i_ctx *ctx;              /* held when made from a context */
	pthread_mutex_t lock;
	role_entry *entries;
	size_t count, cap;
};

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_role(const role_entry *e, const s3i_sts_role *r)
{
	int32_t d = r->duration_s ? r->duration_s : 3600;
	return !strcmp(e->role_arn, r->role_arn) && same_str(e->session_name, r->session_name) &&
		same_str(e->external_id, r->external_id) && e->duration_s == d;
}

static void entry_free(const s3i_allocator *a, role_entry *e)
{
	s3i_credprov_release(e->prov);
	s3i_free(a, e->role_arn);
	s3i_free(a, e->session_name);
	s3i_free(a, e->external_id);
}

static int dup_opt(const s3i_allocator *a, const char *s, char **out)
{
	*out = NULL;
	return !s || (*out = s3i_strdup(a, s)) != NULL;
}

int s3i_sts_role_cache_new(s3i_sts_role_cache **out, const s3i_credprov_env *env,
	s3i_credprov *source, s3i_errinfo *err)
{
	const char *op = "creating the role cache";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: out is NULL", op);
	*out = NULL;
	if (!env || !source)
		return s3i_err(err, S3I_EINVALID, env ? "source" : "env", "%s: no %s", op,
			env ? "source credentials" : "environment");
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	s3i_sts_role_cache *c = s3i_calloc(a, 1, sizeof(*c));
	if (!c)
		return s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory", op);
	c->alloc = a;
	c->env = *env;
	c->env.alloc = a;
	if (!dup_opt(a, env->region, &c->region) || !dup_opt(a, env->endpoint_url, &c->endpoint_url) ||
		!dup_opt(a, env->profile, &c->profile) || pthread_mutex_init(&c->lock, NULL)) {
		s3i_free(a, c->region);
		s3i_free(a, c->endpoint_url);
		s3i_free(a, c->profile);
		s3i_free(a, c);
		return s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory", op);
	}
	c->env.region = c->region;
	c->env.endpoint_url = c->endpoint_url;
	c->env.profile = c->profile;
	c->source = s3i_credprov_acquire(source);
	*out = c;
	return S3I_OK;
}

int s3i_sts_role_cache_new_ctx(s3i_sts_role_cache **out, s3i_ctx *ctx, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (out)
		*out = NULL;
	if (!ctx)
		return s3i_err(err, S3I_EINVALID, "ctx", "creating the role cache: no context");
	s3i_credprov_env env = { 0 };
	env.alloc = ctx->alloc;
	env.http = ctx->http;
	env.profiles = ctx->profiles;
	env.profile = ctx->profile;
	env.region = ctx->region;
	env.endpoint_url = ctx->endpoint_url;
	env.logger = &ctx->logger;
	env.clock = ctx->has_hooks ? &ctx->hooks : NULL;
	int rc = s3i_sts_role_cache_new(out, &env, ctx->creds, err);
	if (!rc)
		(*out)->ctx = s3i_ctx_acquire(ctx);
	return rc;
}

void s3i_sts_role_cache_free(s3i_sts_role_cache *c)
{
	if (!c)
		return;
	const s3i_allocator *a = c->alloc;
	for (size_t i = 0; i < c->count; i++)
		entry_free(a, &c->entries[i]);
	s3i_free(a, c->entries);
	s3i_credprov_release(c->source);
	pthread_mutex_destroy(&c->lock);
	s3i_free(a, c->region);
	s3i_free(a, c->endpoint_url);
	s3i_free(a, c->profile);
	s3i_ctx *ctx = c->ctx;
	s3i_free(a, c);
	if (ctx)
		s3i_ctx_release(ctx);   /* last: it may own the allocator */
}

size_t s3i_sts_role_cache_size(s3i_sts_role_cache *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	size_t n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Under the lock: the provider cached for `role`, with a new reference, or NULL. */
static s3i_credprov *lookup(s3i_sts_role_cache *c, const s3i_sts_role *role)
{
	for (size_t i = 0; i < c->count; i++)
		if (same_role(&c->entries[i], role))
			return s3i_credprov_acquire(c->entries[i].prov);
	return NULL;
}

/* Under the lock: cache `prov` for `role` (the cache takes its own reference). */
static int insert(s3i_sts_role_cache *c, const s3i_sts_role *role, s3i_credprov *prov)
{
	const s3i_allocator *a = c->alloc;
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		role_entry *n = s3i_realloc(a, c->entries, cap * sizeof(*n));
		if (!n)
			return S3I_ENOMEM;
		c->entries = n;
		c->cap = cap;
	}
	role_entry e = { 0 };
	e.duration_s = role->duration_s ? role->duration_s : 3600;
	if (!(e.role_arn = s3i_strdup(a, role->role_arn)) ||
		!dup_opt(a, role->session_name, &e.session_name) ||
		!dup_opt(a, role->external_id, &e.external_id)) {
		entry_free(a, &e);
		return S3I_ENOMEM;
	}
	e.prov = s3i_credprov_acquire(prov);
	c->entries[c->count++] = e;
	return S3I_OK;
}

int s3i_sts_role_cache_get(s3i_sts_role_cache *c, const s3i_sts_role *role, s3i_credprov **out,
	s3i_errinfo *err)
{
	const char *op = "AssumeRole";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: out is NULL", op);
	*out = NULL;
	if (!c)
		return s3i_err(err, S3I_EINVALID, "cache", "%s: no role cache", op);
	int rc = check_role(op, role, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	s3i_credprov *p = lookup(c, role);
	pthread_mutex_unlock(&c->lock);
	if (p) {
		*out = p;
		return S3I_OK;
	}

	/* Created and tried outside the lock: STS may take seconds, and other roles must not wait
	 * for it. Two threads racing for one new role both try; the first to finish is cached and
	 * the other's provider is dropped, so every caller still shares one provider. */
	if ((rc = s3i_credprov_new_assume_role(&p, &c->env, c->source, role->role_arn,
		role->session_name, role->external_id, role->duration_s, err)))
		return rc;
	s3i_credentials creds;
	s3i_credentials_init(&creds, c->alloc);
	rc = s3i_credprov_get(p, &creds, err);
	s3i_credentials_free(&creds);
	if (rc) {
		s3i_credprov_release(p);
		/* AccessDenied and its kin are refusals of this role, whatever the HTTP status said */
		if (rc != S3I_EAUTH && (!strcmp(err->aws_code, "AccessDenied") ||
			!strcmp(err->aws_code, "AccessDeniedException"))) {
			err->pub.code = S3I_EAUTH;
			s3i_errinfo_thread()->pub.code = S3I_EAUTH;
			rc = S3I_EAUTH;
		}
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	s3i_credprov *won = lookup(c, role);
	if (!won && insert(c, role, p))
		rc = S3I_ENOMEM;
	pthread_mutex_unlock(&c->lock);
	if (won) {
		s3i_credprov_release(p);
		p = won;
	}
	if (rc) {
		s3i_credprov_release(p);
		return s3i_err(err, rc, role->role_arn, "%s into %s: out of memory caching the role",
			op, role->role_arn);
	}
	*out = p;
	return S3I_OK;
}
