#include "services/organizations.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/str.h"

/* The endpoint table knows Organizations as a global service and signs it in the partition's
 * region by itself (aws/endpoint.c), so no global_region here. */
const s3i_service s3i_svc_organizations = { "organizations", "organizations", S3I_PROTO_JSON_11,
	"AWSOrganizationsV20161128", NULL, NULL };

#define RES "organization"

/* ------------------------------------------------------------------ parsing */

static int is_account_id(const char *s)
{
	if (!s || strlen(s) != 12)
		return 0;
	for (int i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* An optional string member: absent or null gives "", a string itself, anything else fails. */
static int opt_str(s3i_json obj, const char *key, const char **out)
{
	s3i_json v = s3i_json_get(obj, key);
	*out = "";
	if (!v || s3i_json_is_null(v))
		return 0;
	if (!s3i_json_is_str(v))
		return -1;
	*out = s3i_json_str(v);
	return 0;
}

/* JoinedTimestamp: epoch seconds (the JSON protocols' timestamp), or an ISO 8601 text. */
static int joined(s3i_json v, int64_t *out_ms)
{
	*out_ms = 0;
	if (!v || s3i_json_is_null(v))
		return 0;
	if (s3i_json_is_num(v)) {
		double s = s3i_json_double(v, NAN);
		if (!(s >= 0 && s < 1e11))
			return -1;
		*out_ms = (int64_t)(s * 1000.0 + 0.5);   /* no libm: s is known to be in range */
		return 0;
	}
	if (s3i_json_is_str(v))
		return s3i_time_parse_iso8601(s3i_json_str(v), out_ms) ? -1 : 0;
	return -1;
}

static int read_account(s3i_json a, s3i_org_account *out)
{
	memset(out, 0, sizeof(*out));
	if (!s3i_json_is_obj(a) || opt_str(a, "Id", &out->id) || opt_str(a, "Arn", &out->arn) ||
		opt_str(a, "Name", &out->name) || opt_str(a, "Email", &out->email) ||
		opt_str(a, "Status", &out->status) || opt_str(a, "State", &out->state))
		return -1;
	if (!is_account_id(out->id))
		return -2;
	return joined(s3i_json_get(a, "JoinedTimestamp"), &out->joined_ms) ? -3 : 0;
}

int s3i_org_list_accounts_parse(const char *body, size_t len, const char *what,
	s3i_org_account_fn fn, void *payload, s3i_buf *next_token, int64_t *count, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "Organizations ListAccounts response";
	if (count)
		*count = 0;
	if (next_token)
		s3i_buf_clear(next_token);
	if (!body || !len)
		return s3i_err(err, S3I_EPARSE, NULL, "%s is empty", what);
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, body, len, what, err);
	if (rc == S3I_ENOMEM || rc == S3I_EPARSE)
		return rc;
	if (rc)
		return s3i_err(err, S3I_EPARSE, NULL, "%s could not be parsed", what);
	s3i_json accounts = s3i_json_get(doc, "Accounts");
	s3i_json token = s3i_json_get(doc, "NextToken");
	if (!s3i_json_is_obj(doc))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s is not a JSON object", what);
	else if (accounts && !s3i_json_is_null(accounts) && !s3i_json_is_arr(accounts))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Accounts is not a list", what);
	else if (token && !s3i_json_is_null(token) && (!s3i_json_is_str(token) ||
		!*s3i_json_str(token) || strlen(s3i_json_str(token)) > S3I_ORG_MAX_TOKEN))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: NextToken is not a string of 1 to %d "
			"characters", what, S3I_ORG_MAX_TOKEN);
	size_t n = rc ? 0 : s3i_json_len(accounts);
	/* every account is checked before any is handed over */
	for (size_t i = 0; !rc && i < n; i++) {
		s3i_org_account acct;
		int bad = read_account(s3i_json_at(accounts, i), &acct);
		if (bad == -2)
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s: account %zu has no 12-digit Id", what, i);
		else if (bad == -3)
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s: account %s has an invalid "
				"JoinedTimestamp", what, acct.id);
		else if (bad)
			rc = s3i_err(err, S3I_EPARSE, NULL, "%s: account %zu is not an object of strings",
				what, i);
	}
	if (!rc && next_token && token && s3i_json_is_str(token) &&
		s3i_buf_puts(next_token, s3i_json_str(token)))
		rc = s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory", what);
	for (size_t i = 0; !rc && i < n; i++) {
		s3i_org_account acct;
		read_account(s3i_json_at(accounts, i), &acct);
		if (fn && fn(payload, &acct))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: the account callback asked to stop at "
				"account %s", what, acct.id);
		else if (count)
			(*count)++;
	}
	if (rc && next_token)
		s3i_buf_clear(next_token);
	s3i_json_free(doc);
	return rc;
}

/* ------------------------------------------------------------------ ListAccounts */

/* Rewrite a failed call's status and message; the AWS code, HTTP status, request id and the
 * client's text (which holds AWS's message) are kept. */
static int remap(s3i_errinfo *err, int code, const char *hint)
{
	char was[sizeof(err->message)], msg[sizeof(err->message)];
	snprintf(was, sizeof(was), "%s", err->message);
	snprintf(msg, sizeof(msg), "%s: %.*s", hint, (int)(sizeof(msg) - strlen(hint) - 3), was);
	return s3i_err_aws(err, code, err->pub.http_status, err->aws_code, err->request_id, RES, msg);
}

int s3i_org_list_accounts_op(const s3i_svc *svc, const s3i_org_list_opts *opts,
	s3i_org_account_fn fn, void *payload, s3i_org_list_progress *progress, s3i_errinfo *err)
{
	const char *op = "ListAccounts";
	if (!err)
		err = s3i_errinfo_thread();
	s3i_org_list_opts none = { 0 };
	s3i_org_list_progress own;
	if (!opts)
		opts = &none;
	if (!progress)
		progress = &own;
	memset(progress, 0, sizeof(*progress));
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, "svc", "%s: no client", op);
	if (opts->max_results < 0 || opts->max_results > S3I_ORG_MAX_RESULTS || opts->max_pages < 0)
		return s3i_err(err, S3I_EINVALID, "max_results", "%s: max_results must be 0 to %d and "
			"max_pages not negative", op, S3I_ORG_MAX_RESULTS);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body, token, sent;
	s3i_buf_init(&body, a);
	s3i_buf_init(&token, a);
	s3i_buf_init(&sent, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	int rc = S3I_OK;
	for (int64_t page = 0; !rc; page++) {
		if (opts->max_pages && page >= opts->max_pages)
			break;
		s3i_buf_clear(&body);
		s3i_json_writer w;
		s3i_jw_init(&w, &body);
		s3i_jw_obj_open(&w);
		if (opts->max_results) {
			s3i_jw_key(&w, "MaxResults");
			s3i_jw_i64(&w, opts->max_results);
		}
		if (token.size) {
			s3i_jw_key(&w, "NextToken");
			s3i_jw_strn(&w, token.ptr, token.size);
		}
		s3i_jw_obj_close(&w);
		s3i_buf_clear(&sent);
		if (s3i_jw_finish(&w) || s3i_buf_put(&sent, token.ptr ? token.ptr : "", token.size)) {
			rc = s3i_err(err, S3I_ENOMEM, RES, "%s: out of memory building the request", op);
			break;
		}
		s3i_call call = { .svc = &s3i_svc_organizations, .operation = op, .resource = RES,
			.creds = svc->creds, .region = svc->region, .body = body.ptr, .body_len = body.size };
		s3i_http_response_reset(&resp);
		if ((rc = s3i_client_call(svc->client, &call, &resp, err))) {
			if (!strcmp(err->aws_code, "AWSOrganizationsNotInUseException"))
				rc = remap(err, S3I_ENOTFOUND, "ListAccounts: the account is not a "
					"member of an organization");
			else if (!strcmp(err->aws_code, "AccessDeniedException"))
				rc = remap(err, S3I_EAUTH, "ListAccounts needs the organization's "
					"management account or a delegated administrator");
			else if (!strcmp(err->aws_code, "InvalidInputException") && rc == S3I_EAWS)
				rc = remap(err, S3I_EINVALID, "ListAccounts refused its input");
			break;
		}
		char what[80];
		int64_t seen = 0;
		snprintf(what, sizeof(what), "Organizations ListAccounts response (page %lld)",
			(long long)progress->pages + 1);
		rc = s3i_org_list_accounts_parse(resp.body.ptr, resp.body.size, what, fn, payload,
			&token, &seen, err);
		progress->accounts += seen;
		if (rc)
			break;
		progress->pages++;
		if (!token.size)
			break;
		if (sent.size == token.size && !memcmp(sent.ptr, token.ptr, token.size))
			rc = s3i_err(err, S3I_EPARSE, RES, "%s: page %lld gave back the NextToken it was "
				"asked for", op, (long long)progress->pages);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	s3i_buf_dispose(&token);
	s3i_buf_dispose(&sent);
	return rc;
}
