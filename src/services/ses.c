#include "services/ses.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/str.h"
#include "core/xml.h"

const s3i_service s3i_svc_ses = { "email", "ses", S3I_PROTO_QUERY, NULL, "2010-12-01", NULL };

#define RES_MAX 400
#define ADDRESS_MAX 320

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
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	dst[n] = 0;
}

/* An email address as SES takes it: non-empty, no white space or control characters, one
 * '@' with something on both sides. SES judges the rest. */
static int check_address(const char *op, const char *what, const char *addr, s3i_errinfo *err)
{
	char s[120];
	if (!addr || !*addr)
		return s3i_err(err, S3I_EINVALID, what, "%s: the %s is empty", op, what);
	shown(s, sizeof(s), addr);
	size_t n = strlen(addr);
	const char *at = strchr(addr, '@');
	if (n > ADDRESS_MAX)
		return s3i_err(err, S3I_EINVALID, what, "%s: the %s '%s...' is longer than %d characters",
			op, what, s, ADDRESS_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)addr[i] <= ' ' || addr[i] == 0x7f)
			return s3i_err(err, S3I_EINVALID, what, "%s: the %s '%s' holds white space or a "
				"control character", op, what, s);
	if (!at || at == addr || !at[1])
		return s3i_err(err, S3I_EINVALID, what, "%s: the %s '%s' is not an email address", op,
			what, s);
	return S3I_OK;
}

static int scall(const s3i_svc *svc, const char *op, const char *res, const s3i_params *params,
	s3i_http_response *resp, s3i_errinfo *err)
{
	s3i_call call = { .svc = &s3i_svc_ses, .operation = op, .resource = res,
		.creds = svc->creds, .region = svc->region, .params = params };
	s3i_http_response_reset(resp);
	return s3i_client_call(svc->client, &call, resp, err);
}

static int oom(s3i_errinfo *err, const char *op, const char *res)
{
	return s3i_err(err, S3I_ENOMEM, res, "%s on %s: out of memory building the request", op, res);
}

/* ------------------------------------------------------------------ XML responses */

/* Collects strings while a response parses, so nothing is handed over from a document that
 * turns out to be bad. */
typedef struct collect {
	const char *root;          /* expected root element */
	const char *what;
	s3i_errinfo *err;
	s3i_buf items;             /* NUL-terminated strings, one after the other */
	size_t count;
	/* per-operation slots */
	const char *item_path;     /* each element at this path is an item */
	const char *token_path;    /* NextToken or MessageId */
	char *token;
	size_t token_cap;
	int token_seen;
	/* GetIdentityVerificationAttributes entries: key and value/VerificationStatus pairs */
	const char *entry_path;
	int in_entry, has_key, has_status;
	s3i_buf key, status;
} collect;

static void collect_init(collect *c, const s3i_allocator *a, const char *root, const char *what,
	s3i_errinfo *err)
{
	memset(c, 0, sizeof(*c));
	c->root = root;
	c->what = what;
	c->err = err;
	s3i_buf_init(&c->items, a);
	s3i_buf_init(&c->key, a);
	s3i_buf_init(&c->status, a);
}

static void collect_free(collect *c)
{
	s3i_buf_dispose(&c->items);
	s3i_buf_dispose(&c->key);
	s3i_buf_dispose(&c->status);
}

static int add_item(collect *c, const char *s, size_t len)
{
	if (s3i_buf_put(&c->items, s, len) || s3i_buf_putc(&c->items, '\0'))
		return s3i_err(c->err, S3I_ENOMEM, NULL, "%s: out of memory", c->what);
	c->count++;
	return S3I_OK;
}

static int on_start(void *user, const char *path, const char *name, int depth)
{
	collect *c = user;
	if (depth == 1 && strcmp(name, c->root))
		return s3i_err(c->err, S3I_EPARSE, NULL, "%s: the document is a <%.60s>, not a <%s>",
			c->what, name, c->root);
	if (c->entry_path && !strcmp(path, c->entry_path)) {
		c->in_entry = 1;
		c->has_key = c->has_status = 0;
	}
	return 0;
}

static int ends_with(const char *path, const char *suffix)
{
	size_t p = strlen(path), s = strlen(suffix);
	return p >= s && !strcmp(path + p - s, suffix);
}

static int on_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	collect *c = user;
	(void)name;
	if (c->item_path && !strcmp(path, c->item_path)) {
		if (!len)
			return s3i_err(c->err, S3I_EPARSE, NULL, "%s: identity %zu is empty", c->what,
				c->count);
		return add_item(c, text, len);
	}
	if (c->token_path && !strcmp(path, c->token_path)) {
		if (c->token_seen)
			return s3i_err(c->err, S3I_EPARSE, NULL, "%s: %s appears twice", c->what, name);
		if (!len || len >= c->token_cap)
			return s3i_err(c->err, S3I_EPARSE, NULL, "%s: %s must have 1 to %zu characters",
				c->what, name, c->token_cap - 1);
		memcpy(c->token, text, len);
		c->token[len] = 0;
		c->token_seen = 1;
		return 0;
	}
	if (c->in_entry && depth == 5 && !strcmp(name, "key")) {
		s3i_buf_clear(&c->key);
		c->has_key = 1;
		if (s3i_buf_put(&c->key, text, len) || s3i_buf_putc(&c->key, '\0'))
			return s3i_err(c->err, S3I_ENOMEM, NULL, "%s: out of memory", c->what);
		return 0;
	}
	if (c->in_entry && depth == 6 && ends_with(path, "/entry/value/VerificationStatus")) {
		s3i_buf_clear(&c->status);
		c->has_status = 1;
		if (s3i_buf_put(&c->status, text, len) || s3i_buf_putc(&c->status, '\0'))
			return s3i_err(c->err, S3I_ENOMEM, NULL, "%s: out of memory", c->what);
		return 0;
	}
	if (c->in_entry && !strcmp(path, c->entry_path)) {
		c->in_entry = 0;
		if (!c->has_key || !c->has_status || !c->key.size || c->key.size < 2)
			return s3i_err(c->err, S3I_EPARSE, NULL, "%s: entry %zu has no key or no "
				"VerificationStatus", c->what, c->count / 2);
		int rc = add_item(c, c->key.ptr, c->key.size - 1);
		if (!rc)
			rc = add_item(c, c->status.ptr, c->status.size - 1);
		return rc;
	}
	return 0;
}

static int collect_parse(collect *c, const s3i_allocator *a, const char *body, size_t len)
{
	if (!body || !len)
		return s3i_err(c->err, S3I_EPARSE, NULL, "%s is empty", c->what);
	int rc = s3i_xml_parse(a, body, len, on_start, on_end, c, c->err);
	if (rc && rc != S3I_ENOMEM && rc != S3I_EPARSE)
		rc = s3i_err(c->err, S3I_EPARSE, NULL, "%s could not be parsed", c->what);
	return rc;
}

int s3i_ses_list_identities_parse(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_ses_identity_fn fn, void *payload, char *next_token, size_t cap,
	int64_t *count, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "SES ListIdentities response";
	if (!a)
		a = s3i_allocator_default();
	if (count)
		*count = 0;
	if (!next_token || cap < 2)
		return s3i_err(err, S3I_EINVALID, "next_token", "%s: no room for the NextToken", what);
	next_token[0] = 0;
	collect c;
	collect_init(&c, a, "ListIdentitiesResponse", what, err);
	c.item_path = "ListIdentitiesResponse/ListIdentitiesResult/Identities/member";
	c.token_path = "ListIdentitiesResponse/ListIdentitiesResult/NextToken";
	char token[S3I_SES_TOKEN_SIZE];
	c.token = token;
	c.token_cap = cap < sizeof(token) ? cap : sizeof(token);
	int rc = collect_parse(&c, a, body, len);
	const char *p = c.items.ptr;
	for (size_t i = 0; !rc && i < c.count; i++) {
		if (fn && fn(payload, p))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: the identity callback asked to stop", what);
		else if (count)
			(*count)++;
		p += strlen(p) + 1;
	}
	if (!rc && c.token_seen)
		snprintf(next_token, cap, "%s", token);
	collect_free(&c);
	return rc;
}

int s3i_ses_verification_parse(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_ses_verification_fn fn, void *payload, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "SES GetIdentityVerificationAttributes response";
	if (!a)
		a = s3i_allocator_default();
	collect c;
	collect_init(&c, a, "GetIdentityVerificationAttributesResponse", what, err);
	c.entry_path = "GetIdentityVerificationAttributesResponse/"
		"GetIdentityVerificationAttributesResult/VerificationAttributes/entry";
	int rc = collect_parse(&c, a, body, len);
	const char *p = c.items.ptr;
	for (size_t i = 0; !rc && i + 1 < c.count; i += 2) {
		const char *status = p + strlen(p) + 1;
		if (fn && fn(payload, p, status))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: the callback asked to stop", what);
		p = status + strlen(status) + 1;
	}
	collect_free(&c);
	return rc;
}

int s3i_ses_send_raw_parse(const char *body, size_t len, char *message_id, size_t cap,
	s3i_errinfo *err)
{
	const char *what = "SES SendRawEmail response";
	if (!err)
		err = s3i_errinfo_thread();
	if (!message_id || cap < 2)
		return s3i_err(err, S3I_EINVALID, "message_id", "%s: no room for the MessageId", what);
	message_id[0] = 0;
	const s3i_allocator *a = s3i_allocator_default();
	collect c;
	collect_init(&c, a, "SendRawEmailResponse", what, err);
	c.token_path = "SendRawEmailResponse/SendRawEmailResult/MessageId";
	char id[S3I_SES_MESSAGE_ID_SIZE];
	c.token = id;
	c.token_cap = cap < sizeof(id) ? cap : sizeof(id);
	int rc = collect_parse(&c, a, body, len);
	if (!rc && !c.token_seen)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no MessageId", what);
	if (!rc)
		snprintf(message_id, cap, "%s", id);
	collect_free(&c);
	return rc;
}

/* ------------------------------------------------------------------ identities */

int s3i_ses_verify_email_identity_op(const s3i_svc *svc, const char *address, s3i_errinfo *err)
{
	const char *op = "VerifyEmailIdentity";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_address(op, "email address", address, err);
	if (rc)
		return rc;
	char res[RES_MAX], s[ADDRESS_MAX + 1];
	shown(s, sizeof(s), address);
	snprintf(res, sizeof(res), "identity '%s'", s);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (s3i_params_add(&params, "EmailAddress", address))
		rc = oom(err, op, res);
	else
		rc = scall(svc, op, res, &params, &resp, err);
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

int s3i_ses_list_identities_op(const s3i_svc *svc, const s3i_ses_list_opts *opts,
	s3i_ses_identity_fn fn, void *payload, s3i_ses_list_progress *progress, s3i_errinfo *err)
{
	const char *op = "ListIdentities";
	if (!err)
		err = s3i_errinfo_thread();
	s3i_ses_list_opts none = { 0 };
	s3i_ses_list_progress own;
	if (!opts)
		opts = &none;
	if (!progress)
		progress = &own;
	memset(progress, 0, sizeof(*progress));
	const char *res = "identities";
	if (opts->type < S3I_SES_IDENTITY_ALL || opts->type > S3I_SES_IDENTITY_DOMAIN ||
		opts->max_items < 0 || opts->max_items > 1000 || opts->max_pages < 0)
		return s3i_err(err, S3I_EINVALID, res, "%s: unknown identity type, or max_items not "
			"0 to 1000, or max_pages negative", op);
	if (opts->next_token) {
		if (!*opts->next_token || strlen(opts->next_token) >= S3I_SES_TOKEN_SIZE)
			return s3i_err(err, S3I_EINVALID, res, "%s: the token to resume from must have 1 "
				"to %d characters", op, S3I_SES_TOKEN_SIZE - 1);
		snprintf(progress->next_token, sizeof(progress->next_token), "%s", opts->next_token);
	}
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	char sent[S3I_SES_TOKEN_SIZE];
	int rc = S3I_OK;
	for (int64_t page = 0; !rc; page++) {
		if (opts->max_pages && page >= opts->max_pages)
			break;
		s3i_params_free(&params);
		if ((opts->type && s3i_params_add(&params, "IdentityType",
			opts->type == S3I_SES_IDENTITY_EMAIL ? "EmailAddress" : "Domain")) ||
			(opts->max_items && s3i_params_addf(&params, "MaxItems", "%d", (int)opts->max_items)) ||
			(progress->next_token[0] && s3i_params_add(&params, "NextToken", progress->next_token))) {
			rc = oom(err, op, res);
			break;
		}
		snprintf(sent, sizeof(sent), "%s", progress->next_token);
		if ((rc = scall(svc, op, res, &params, &resp, err)))
			break;
		char what[80], token[S3I_SES_TOKEN_SIZE];
		int64_t seen = 0;
		snprintf(what, sizeof(what), "SES ListIdentities response (page %lld)",
			(long long)progress->pages + 1);
		rc = s3i_ses_list_identities_parse(a, resp.body.ptr, resp.body.size, what, fn, payload,
			token, sizeof(token), &seen, err);
		progress->identities += seen;
		if (rc)
			break;
		progress->pages++;
		snprintf(progress->next_token, sizeof(progress->next_token), "%s", token);
		if (!token[0])
			break;
		if (sent[0] && !strcmp(sent, token))
			rc = s3i_err(err, S3I_EPARSE, res, "%s: page %lld gave back the NextToken it was "
				"asked for", op, (long long)progress->pages);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

static const char *const VERIFY_NAMES[] = { "Absent", "Pending", "Success", "Failed",
	"TemporaryFailure", "NotStarted", "Unknown" };

const char *s3i_ses_verification_name(s3i_ses_verification v)
{
	return v >= S3I_SES_VERIFY_ABSENT && v <= S3I_SES_VERIFY_UNKNOWN ? VERIFY_NAMES[v]
		: VERIFY_NAMES[S3I_SES_VERIFY_UNKNOWN];
}

static s3i_ses_verification verification_of(const char *s)
{
	for (int i = S3I_SES_VERIFY_PENDING; i < S3I_SES_VERIFY_UNKNOWN; i++)
		if (!strcmp(s, VERIFY_NAMES[i]))
			return (s3i_ses_verification)i;
	return S3I_SES_VERIFY_UNKNOWN;
}

typedef struct match {
	const char *const *ids;
	size_t n;
	s3i_ses_verification *out;
} match;

static int on_verification(void *payload, const char *identity, const char *status)
{
	match *m = payload;
	s3i_ses_verification v = verification_of(status);
	int exact = 0;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->ids[i], identity)) {
			m->out[i] = v;
			exact = 1;
		}
	for (size_t i = 0; !exact && i < m->n; i++)
		if (m->out[i] == S3I_SES_VERIFY_ABSENT && !strcasecmp(m->ids[i], identity))
			m->out[i] = v;
	return 0;
}

int s3i_ses_get_verification_op(const s3i_svc *svc, const char *const *identities, size_t n,
	s3i_ses_verification *out, s3i_errinfo *err)
{
	const char *op = "GetIdentityVerificationAttributes";
	if (!err)
		err = s3i_errinfo_thread();
	if (n && (!identities || !out))
		return s3i_err(err, S3I_EINVALID, "identities", "%s: identities or out is NULL", op);
	for (size_t i = 0; i < n; i++) {
		const char *id = identities[i];
		int bad = !id || !*id;
		for (const char *p = id; !bad && *p; p++)
			bad = (unsigned char)*p < 0x20 || *p == 0x7f;
		if (bad)
			return s3i_err(err, S3I_EINVALID, "identities", "%s: identity %zu is empty or holds "
				"a control character", op, i);
		out[i] = S3I_SES_VERIFY_ABSENT;
	}
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	int rc = S3I_OK;
	for (size_t start = 0; !rc && start < n; start += S3I_SES_MAX_VERIFY_BATCH) {
		size_t count = n - start < S3I_SES_MAX_VERIFY_BATCH ? n - start : S3I_SES_MAX_VERIFY_BATCH;
		char res[RES_MAX], s[120];
		shown(s, sizeof(s), identities[start]);
		if (count == 1)
			snprintf(res, sizeof(res), "identity '%s'", s);
		else
			snprintf(res, sizeof(res), "%zu identities from '%s'", count, s);
		s3i_params_free(&params);
		for (size_t i = 0; !rc && i < count; i++) {
			char key[48];
			snprintf(key, sizeof(key), "Identities.member.%zu", i + 1);
			if (s3i_params_add(&params, key, identities[start + i]))
				rc = oom(err, op, res);
		}
		if (!rc)
			rc = scall(svc, op, res, &params, &resp, err);
		match m = { identities + start, count, out + start };
		if (!rc)
			rc = s3i_ses_verification_parse(a, resp.body.ptr, resp.body.size, NULL,
				on_verification, &m, err);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

/* ------------------------------------------------------------------ sending */

void s3i_ses_raw_sender(const char *data, size_t len, char *out, size_t cap)
{
	if (!out || !cap)
		return;
	out[0] = 0;
	char value[1024];
	size_t vn = 0;
	int in_from = 0, found = 0;
	for (size_t i = 0; data && i < len;) {
		size_t eol = i;
		while (eol < len && data[eol] != '\n')
			eol++;
		size_t end = eol > i && data[eol - 1] == '\r' ? eol - 1 : eol;
		if (end == i)
			break;   /* the blank line: end of the headers */
		int cont = data[i] == ' ' || data[i] == '\t';
		if (in_from && !cont)
			break;   /* the From field ended */
		if (!in_from && !found && end - i >= 5 && !strncasecmp(data + i, "From:", 5)) {
			in_from = found = 1;
			i += 5;
		}
		if (in_from)
			for (size_t k = i; k < end && vn + 1 < sizeof(value); k++)
				value[vn++] = data[k];
		i = eol + 1;
	}
	value[vn] = 0;
	const char *lt = strrchr(value, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	const char *s = value;
	size_t n = vn;
	if (lt && gt) {
		s = lt + 1;
		n = (size_t)(gt - s);
	}
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	size_t k = 0;
	for (size_t j = 0; j < n && k + 1 < cap; j++)
		if ((unsigned char)s[j] >= 0x20 && s[j] != 0x7f)
			out[k++] = s[j];
	out[k] = 0;
}

static int check_raw(const char *op, const s3i_ses_raw_email *m, s3i_errinfo *err)
{
	if (!m || !m->data || !m->len)
		return s3i_err(err, S3I_EINVALID, "RawMessage", "%s: the raw message is empty", op);
	if (m->len > S3I_SES_MAX_RAW_BYTES)
		return s3i_err(err, S3I_EINVALID, "RawMessage", "%s: the raw message has %zu bytes, more "
			"than the %d SES takes", op, m->len, S3I_SES_MAX_RAW_BYTES);
	if (m->ndestinations > S3I_SES_MAX_RECIPIENTS)
		return s3i_err(err, S3I_EINVALID, "Destinations", "%s: %zu destinations, more than the "
			"%d SES takes in one message (split them with s3i_ses_recipient_batches)", op,
			m->ndestinations, S3I_SES_MAX_RECIPIENTS);
	if (m->ndestinations && !m->destinations)
		return s3i_err(err, S3I_EINVALID, "Destinations", "%s: ndestinations is %zu but "
			"destinations is NULL", op, m->ndestinations);
	int rc = m->source ? check_address(op, "sender address", m->source, err) : S3I_OK;
	for (size_t i = 0; !rc && i < m->ndestinations; i++)
		rc = check_address(op, "destination address", m->destinations[i], err);
	if (!rc && m->configuration_set && !*m->configuration_set)
		rc = s3i_err(err, S3I_EINVALID, "ConfigurationSetName", "%s: the configuration set name "
			"is empty", op);
	return rc;
}

int s3i_ses_send_raw_email_op(const s3i_svc *svc, const s3i_ses_raw_email *m,
	char message_id[S3I_SES_MESSAGE_ID_SIZE], s3i_errinfo *err)
{
	const char *op = "SendRawEmail";
	if (!err)
		err = s3i_errinfo_thread();
	if (!message_id)
		return s3i_err(err, S3I_EINVALID, "message_id", "%s: message_id is NULL", op);
	message_id[0] = 0;
	int rc = check_raw(op, m, err);
	if (rc)
		return rc;
	char sender[ADDRESS_MAX + 1], res[RES_MAX];
	if (m->source)
		shown(sender, sizeof(sender), m->source);
	else
		s3i_ses_raw_sender(m->data, m->len, sender, sizeof(sender));
	snprintf(res, sizeof(res), "sender '%s'", sender);

	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_buf b64;
	s3i_buf_init(&b64, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (m->source && s3i_params_add(&params, "Source", m->source))
		rc = oom(err, op, res);
	for (size_t i = 0; !rc && i < m->ndestinations; i++) {
		char key[48];
		snprintf(key, sizeof(key), "Destinations.member.%zu", i + 1);
		if (s3i_params_add(&params, key, m->destinations[i]))
			rc = oom(err, op, res);
	}
	if (!rc && (s3i_base64_encode(&b64, (const unsigned char *)m->data, m->len) ||
		s3i_params_add(&params, "RawMessage.Data", s3i_buf_cstr(&b64)) ||
		(m->configuration_set && s3i_params_add(&params, "ConfigurationSetName",
			m->configuration_set))))
		rc = oom(err, op, res);
	s3i_buf_dispose(&b64);
	if (!rc && (rc = scall(svc, op, res, &params, &resp, err))) {
		if (!strcmp(err->aws_code, "MessageRejected") ||
			!strcmp(err->aws_code, "MailFromDomainNotVerifiedException"))
			rc = s3i_err_reword(err, S3I_EINVALID, res, "%s from %s was rejected", op, res);
		else if (!strcmp(err->aws_code, "ConfigurationSetDoesNotExist") ||
			!strcmp(err->aws_code, "ConfigurationSetDoesNotExistException")) {
			char cs[200], cres[260];
			shown(cs, sizeof(cs), m->configuration_set);
			snprintf(cres, sizeof(cres), "configuration set '%s'", cs);
			rc = s3i_err_reword(err, S3I_ENOTFOUND, cres, "%s from %s: %s does not exist", op, res, cres);
		}
	}
	if (!rc)
		rc = s3i_ses_send_raw_parse(resp.body.ptr, resp.body.size, message_id,
			S3I_SES_MESSAGE_ID_SIZE, err);
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

int s3i_ses_send_message_op(const s3i_svc *svc, const s3i_mime_message *msg,
	char message_id[S3I_SES_MESSAGE_ID_SIZE], s3i_errinfo *err)
{
	const char *op = "SendRawEmail";
	if (!err)
		err = s3i_errinfo_thread();
	if (!message_id)
		return s3i_err(err, S3I_EINVALID, "message_id", "%s: message_id is NULL", op);
	message_id[0] = 0;
	if (!msg)
		return s3i_err(err, S3I_EINVALID, "message", "%s: no message", op);
	if (msg->nto + msg->ncc > S3I_SES_MAX_RECIPIENTS)
		return s3i_err(err, S3I_EINVALID, "To", "%s: %zu recipients, more than the %d SES takes "
			"in one message (split them with s3i_ses_recipient_batches)", op,
			msg->nto + msg->ncc, S3I_SES_MAX_RECIPIENTS);
	s3i_mime_message m = *msg;
	if (!m.date_ms)
		m.date_ms = s3i_client_now_ms(svc->client);
	s3i_buf raw;
	s3i_buf_init(&raw, s3i_client_alloc(svc->client));
	int rc = s3i_mime_build(&raw, &m, err);
	if (!rc) {
		s3i_ses_raw_email r = { .source = msg->from.address, .data = raw.ptr, .len = raw.size };
		rc = s3i_ses_send_raw_email_op(svc, &r, message_id, err);
	}
	s3i_buf_dispose(&raw);
	return rc;
}

/* ------------------------------------------------------------------ recipients */

int s3i_ses_recipient_batches(const s3i_allocator *a, const char *const *recipients, size_t n,
	size_t max_per_batch, s3i_ses_batch_fn fn, void *payload, s3i_errinfo *err)
{
	const char *op = "splitting recipients";
	if (!err)
		err = s3i_errinfo_thread();
	if (!a)
		a = s3i_allocator_default();
	if (!max_per_batch)
		max_per_batch = S3I_SES_MAX_RECIPIENTS;
	if (n && !recipients)
		return s3i_err(err, S3I_EINVALID, "recipients", "%s: recipients is NULL", op);
	for (size_t i = 0; i < n; i++) {
		int rc = check_address(op, "recipient address", recipients[i], err);
		if (rc)
			return rc;
	}
	if (!n)
		return S3I_OK;
	const char **unique = s3i_calloc(a, n, sizeof(*unique));
	if (!unique)
		return s3i_err(err, S3I_ENOMEM, "recipients", "%s: out of memory for %zu addresses", op, n);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < u && strcasecmp(unique[k], recipients[i]))
			k++;
		if (k == u)
			unique[u++] = recipients[i];
	}
	size_t batches = (u + max_per_batch - 1) / max_per_batch, off = 0;
	int rc = S3I_OK;
	for (size_t b = 0; b < batches && !rc; b++) {
		size_t size = u / batches + (b < u % batches ? 1 : 0);
		if (fn && fn(payload, unique + off, size, b))
			rc = s3i_err(err, S3I_EUSER, "recipients", "%s: the batch callback asked to stop at "
				"batch %zu", op, b);
		off += size;
	}
	s3i_free(a, unique);
	return rc;
}
