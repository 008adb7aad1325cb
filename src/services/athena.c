#include "services/athena.h"

#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>

#include "core/alloc.h"
#include "core/json.h"
#include "core/str.h"

const s3i_service s3i_svc_athena = { "athena", "athena", S3I_PROTO_JSON_11, "AmazonAthena",
	NULL, NULL };

#define RES_MAX 400
#define QUERY_MAX 262144
#define QUERY_SHOWN 60                /* characters of a query that a message quotes */

/* ------------------------------------------------------------------ plumbing */

/* Copy src into dst (cap bytes), cut at a UTF-8 character boundary, control characters as
 * spaces so a message stays one line. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	if (!src)
		src = "";
	while (src[n] && n + 1 < cap)
		n++;
	if (src[n])   /* cut: step back over continuation bytes */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 ? ' ' : src[i];
	dst[n] = 0;
}

static const char *exec_res(char *buf, size_t cap, const char *id)
{
	char shown[S3I_ATHENA_ID_SIZE];
	copy_text(shown, sizeof(shown), id);
	snprintf(buf, cap, "query execution '%s'", shown);
	return buf;
}

static int check_id(const char *op, const char *id, s3i_errinfo *err)
{
	if (!id || !*id)
		return s3i_err(err, S3I_EINVALID, "QueryExecutionId", "%s: the query execution id is "
			"empty", op);
	size_t n = strlen(id);
	if (n >= S3I_ATHENA_ID_SIZE)
		return s3i_err(err, S3I_EINVALID, "QueryExecutionId", "%s: the query execution id is "
			"longer than %d characters", op, S3I_ATHENA_ID_SIZE - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' || id[i] == 0x7f || id[i] == '\'')
			return s3i_err(err, S3I_EINVALID, "QueryExecutionId", "%s: the query execution id "
				"'%.*s' holds white space or a control character", op, (int)n, id);
	return S3I_OK;
}

static int finish_body(s3i_json_writer *w, const char *op, const char *res, s3i_errinfo *err)
{
	int rc = s3i_jw_finish(w);
	if (rc == S3I_ENOMEM)
		return s3i_err(err, rc, res, "%s on %s: out of memory building the request", op, res);
	if (rc)
		return s3i_err(err, rc, res, "%s on %s: could not build the request (a string is not "
			"valid UTF-8)", op, res);
	return S3I_OK;
}

/* One Athena call; resp is reset and refilled. The client names `res` in its messages and
 * maps InvalidRequestException to S3I_EINVALID and TooManyRequestsException (after its
 * retries) to S3I_ETHROTTLED; this only makes sure of the first. */
static int acall(const s3i_svc *svc, const char *op, const char *res, const s3i_buf *body,
	s3i_http_response *resp, s3i_errinfo *err)
{
	s3i_call call = { .svc = &s3i_svc_athena, .operation = op, .resource = res,
		.creds = svc->creds, .region = svc->region, .body = body->ptr ? body->ptr : "{}",
		.body_len = body->ptr ? body->size : 2 };
	s3i_http_response_reset(resp);
	int rc = s3i_client_call(svc->client, &call, resp, err);
	if (rc && !strcmp(err->aws_code, "InvalidRequestException") && rc != S3I_EINVALID) {
		err->pub.code = S3I_EINVALID;
		s3i_errinfo_thread()->pub.code = S3I_EINVALID;
		rc = S3I_EINVALID;
	}
	return rc;
}

static int parse_object(const s3i_http_response *resp, const char *what, s3i_json *doc,
	s3i_errinfo *err)
{
	int rc = s3i_json_parse(doc, resp->body.ptr ? resp->body.ptr : "", resp->body.size, what, err);
	if (rc)
		return rc;
	if (!s3i_json_is_obj(*doc)) {
		s3i_json_free(*doc);
		*doc = NULL;
		return s3i_err(err, S3I_EPARSE, NULL, "%s is not a JSON object", what);
	}
	return S3I_OK;
}

static int absent(s3i_json v)
{
	return !v || s3i_json_is_null(v);
}

/* The id query execution operations send. */
static int id_body(s3i_buf *body, const char *id, const char *op, const char *res, s3i_errinfo *err)
{
	s3i_json_writer w;
	s3i_jw_init(&w, body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "QueryExecutionId");
	s3i_jw_str(&w, id);
	s3i_jw_obj_close(&w);
	return finish_body(&w, op, res, err);
}

/* ------------------------------------------------------------------ start and stop */

static int make_token(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return S3I_ERROR;
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	char hex[33];
	s3i_hex_encode(hex, b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return S3I_OK;
}

static int check_query(const s3i_athena_query *q, s3i_errinfo *err)
{
	const char *op = "StartQueryExecution";
	if (!q || !q->query || !*q->query)
		return s3i_err(err, S3I_EINVALID, "QueryString", "%s: the query is empty", op);
	if (strlen(q->query) > QUERY_MAX)
		return s3i_err(err, S3I_EINVALID, "QueryString", "%s: the query is longer than %d bytes",
			op, QUERY_MAX);
	if (q->database && (!*q->database || strlen(q->database) > 255))
		return s3i_err(err, S3I_EINVALID, "Database", "%s: the database name must have 1 to 255 "
			"characters", op);
	if (q->catalog && (!*q->catalog || strlen(q->catalog) > 256))
		return s3i_err(err, S3I_EINVALID, "Catalog", "%s: the catalog name must have 1 to 256 "
			"characters", op);
	if (q->workgroup) {
		size_t n = strlen(q->workgroup);
		int ok = n >= 1 && n <= 128;
		for (size_t i = 0; ok && i < n; i++) {
			char c = q->workgroup[i];
			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				c == '.' || c == '_' || c == '-';
		}
		if (!ok)
			return s3i_err(err, S3I_EINVALID, "WorkGroup", "%s: workgroup '%.130s' is not 1 to "
				"128 of [a-zA-Z0-9._-]", op, q->workgroup);
	}
	if (q->output_location && strncmp(q->output_location, "s3://", 5))
		return s3i_err(err, S3I_EINVALID, "OutputLocation", "%s: the output location '%.300s' "
			"is not an s3:// URI", op, q->output_location);
	if (q->client_request_token) {
		size_t n = strlen(q->client_request_token);
		if (n < 32 || n > 128)
			return s3i_err(err, S3I_EINVALID, "ClientRequestToken", "%s: the client request "
				"token must have 32 to 128 characters (it has %zu)", op, n);
	}
	return S3I_OK;
}

/* "query 'SELECT ...' in workgroup 'w' on database 'd'" for messages. */
static void query_res(char *buf, size_t cap, const s3i_athena_query *q)
{
	char shown[QUERY_SHOWN * 4 + 1];
	copy_text(shown, QUERY_SHOWN + 1, q->query);
	size_t n = strlen(shown);
	snprintf(buf, cap, "query '%s%s'%s%s%s%s%s%s", shown, n < strlen(q->query) ? "..." : "",
		q->workgroup ? " in workgroup '" : "", q->workgroup ? q->workgroup : "",
		q->workgroup ? "'" : "", q->database ? " on database '" : "",
		q->database ? q->database : "", q->database ? "'" : "");
}

int s3i_athena_start_query_op(const s3i_svc *svc, const s3i_athena_query *q,
	char out_id[S3I_ATHENA_ID_SIZE], s3i_errinfo *err)
{
	const char *op = "StartQueryExecution";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out_id)
		return s3i_err(err, S3I_EINVALID, "out_id", "%s: out_id is NULL", op);
	out_id[0] = 0;
	int rc = check_query(q, err);
	if (rc)
		return rc;
	char res[RES_MAX], token[37];
	query_res(res, sizeof(res), q);
	if (!q->client_request_token && make_token(token))
		return s3i_err(err, S3I_ERROR, res, "%s of %s: no random bytes for a client request "
			"token", op, res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "QueryString");
	s3i_jw_str(&w, q->query);
	s3i_jw_key(&w, "ClientRequestToken");
	s3i_jw_str(&w, q->client_request_token ? q->client_request_token : token);
	if (q->database || q->catalog) {
		s3i_jw_key(&w, "QueryExecutionContext");
		s3i_jw_obj_open(&w);
		if (q->database) {
			s3i_jw_key(&w, "Database");
			s3i_jw_str(&w, q->database);
		}
		if (q->catalog) {
			s3i_jw_key(&w, "Catalog");
			s3i_jw_str(&w, q->catalog);
		}
		s3i_jw_obj_close(&w);
	}
	if (q->output_location) {
		s3i_jw_key(&w, "ResultConfiguration");
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "OutputLocation");
		s3i_jw_str(&w, q->output_location);
		s3i_jw_obj_close(&w);
	}
	if (q->workgroup) {
		s3i_jw_key(&w, "WorkGroup");
		s3i_jw_str(&w, q->workgroup);
	}
	s3i_jw_obj_close(&w);
	rc = finish_body(&w, op, res, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_json doc = NULL;
	if (!rc)
		rc = acall(svc, op, res, &body, &resp, err);
	if (!rc)
		rc = parse_object(&resp, "Athena StartQueryExecution response", &doc, err);
	if (!rc) {
		const char *id = s3i_json_str(s3i_json_get(doc, "QueryExecutionId"));
		if (!id || !*id || strlen(id) >= S3I_ATHENA_ID_SIZE)
			rc = s3i_err(err, S3I_EPARSE, res, "%s of %s: the response has no valid "
				"QueryExecutionId", op, res);
		else
			snprintf(out_id, S3I_ATHENA_ID_SIZE, "%s", id);
	}
	s3i_json_free(doc);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_athena_stop_query_op(const s3i_svc *svc, const char *id, s3i_errinfo *err)
{
	const char *op = "StopQueryExecution";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_id(op, id, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	exec_res(res, sizeof(res), id);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (!(rc = id_body(&body, id, op, res, err)))
		rc = acall(svc, op, res, &body, &resp, err);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

/* ------------------------------------------------------------------ executions */

static const char *const STATE_NAMES[] = { "UNKNOWN", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED",
	"CANCELLED" };

const char *s3i_athena_state_name(s3i_athena_state state)
{
	return state >= S3I_ATHENA_QUEUED && state <= S3I_ATHENA_CANCELLED ? STATE_NAMES[state]
		: STATE_NAMES[0];
}

int s3i_athena_state_is_terminal(s3i_athena_state state)
{
	return state == S3I_ATHENA_SUCCEEDED || state == S3I_ATHENA_FAILED ||
		state == S3I_ATHENA_CANCELLED;
}

static s3i_athena_state state_of(const char *s)
{
	for (int i = S3I_ATHENA_QUEUED; i <= S3I_ATHENA_CANCELLED; i++)
		if (!strcmp(s, STATE_NAMES[i]))
			return (s3i_athena_state)i;
	return S3I_ATHENA_STATE_UNKNOWN;
}

static int64_t opt_i64(s3i_json v, int64_t dflt)
{
	int64_t x;
	return !absent(v) && s3i_json_is_num(v) && s3i_json_i64(v, &x) == S3I_OK ? x : dflt;
}

/* An epoch-seconds timestamp (JSON 1.1 sends a number, fraction allowed) in ms. */
static int64_t opt_time_ms(s3i_json v)
{
	if (absent(v) || !s3i_json_is_num(v))
		return 0;
	double s = s3i_json_double(v, 0.0);
	return s > 0 && s < 1e11 ? (int64_t)(s * 1000.0) : 0;
}

/* A member that must be a string when present. */
static int opt_str(s3i_json obj, const char *key, const char **out, const char *what,
	s3i_errinfo *err)
{
	s3i_json v = s3i_json_get(obj, key);
	*out = NULL;
	if (absent(v))
		return S3I_OK;
	if (!s3i_json_is_str(v))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: %s is not a string", what, key);
	*out = s3i_json_str(v);
	return S3I_OK;
}

int s3i_athena_execution_parse(s3i_athena_execution *out, const char *body, size_t len,
	const char *what, s3i_errinfo *err)
{
	if (!what)
		what = "Athena GetQueryExecution response";
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, body ? body : "", body ? len : 0, what, err);
	if (rc)
		return rc;
	s3i_athena_execution ex;
	memset(&ex, 0, sizeof(ex));
	s3i_json qe = s3i_json_get(doc, "QueryExecution");
	s3i_json st = s3i_json_get(qe, "Status");
	const char *id = NULL, *state = NULL, *reason = NULL, *stype = NULL, *loc = NULL;
	const char *db = NULL, *wg = NULL, *emsg = NULL;
	if (!s3i_json_is_obj(doc) || !s3i_json_is_obj(qe))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no QueryExecution object", what);
	else if (!s3i_json_is_obj(st))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no QueryExecution.Status object", what);
	if (!rc && !(rc = opt_str(qe, "QueryExecutionId", &id, what, err)) &&
		(!id || !*id || strlen(id) >= S3I_ATHENA_ID_SIZE))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: QueryExecutionId is missing or too long", what);
	if (!rc && !(rc = opt_str(st, "State", &state, what, err)) && !state)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: QueryExecution.Status.State is missing", what);
	if (!rc)
		rc = opt_str(st, "StateChangeReason", &reason, what, err);
	if (!rc)
		rc = opt_str(qe, "StatementType", &stype, what, err);
	if (!rc)
		rc = opt_str(qe, "WorkGroup", &wg, what, err);
	s3i_json rcfg = s3i_json_get(qe, "ResultConfiguration");
	s3i_json ctx = s3i_json_get(qe, "QueryExecutionContext");
	s3i_json ae = s3i_json_get(st, "AthenaError");
	s3i_json stats = s3i_json_get(qe, "Statistics");
	if (!rc && s3i_json_is_obj(rcfg))
		rc = opt_str(rcfg, "OutputLocation", &loc, what, err);
	if (!rc && s3i_json_is_obj(ctx))
		rc = opt_str(ctx, "Database", &db, what, err);
	if (!rc && s3i_json_is_obj(ae))
		rc = opt_str(ae, "ErrorMessage", &emsg, what, err);
	if (!rc) {
		copy_text(ex.id, sizeof(ex.id), id);
		copy_text(ex.state_text, sizeof(ex.state_text), state);
		ex.state = state_of(state);
		copy_text(ex.reason, sizeof(ex.reason), reason && *reason ? reason : emsg);
		copy_text(ex.statement_type, sizeof(ex.statement_type), stype);
		copy_text(ex.output_location, sizeof(ex.output_location), loc);
		copy_text(ex.database, sizeof(ex.database), db);
		copy_text(ex.workgroup, sizeof(ex.workgroup), wg);
		if (s3i_json_is_obj(ae)) {
			ex.error_category = (int32_t)opt_i64(s3i_json_get(ae, "ErrorCategory"), 0);
			ex.error_type = (int32_t)opt_i64(s3i_json_get(ae, "ErrorType"), 0);
			ex.error_retryable = s3i_json_bool(s3i_json_get(ae, "Retryable"), 0);
		}
		if (!s3i_json_is_obj(stats))
			stats = NULL;
		ex.data_scanned_bytes = opt_i64(s3i_json_get(stats, "DataScannedInBytes"), -1);
		ex.engine_ms = opt_i64(s3i_json_get(stats, "EngineExecutionTimeInMillis"), -1);
		ex.total_ms = opt_i64(s3i_json_get(stats, "TotalExecutionTimeInMillis"), -1);
		ex.submitted_ms = opt_time_ms(s3i_json_get(st, "SubmissionDateTime"));
		ex.completed_ms = opt_time_ms(s3i_json_get(st, "CompletionDateTime"));
		*out = ex;
	}
	s3i_json_free(doc);
	return rc;
}

int s3i_athena_get_execution_op(const s3i_svc *svc, const char *id, s3i_athena_execution *out,
	s3i_errinfo *err)
{
	const char *op = "GetQueryExecution";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_id(op, id, err);
	if (rc)
		return rc;
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: out is NULL", op);
	char res[RES_MAX], what[RES_MAX + 64];
	exec_res(res, sizeof(res), id);
	snprintf(what, sizeof(what), "Athena GetQueryExecution response for %s", res);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (!(rc = id_body(&body, id, op, res, err)) &&
		!(rc = acall(svc, op, res, &body, &resp, err)))
		rc = s3i_athena_execution_parse(out, resp.body.ptr, resp.body.size, what, err);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_athena_wait_op(const s3i_svc *svc, const char *id, const s3i_athena_wait_opts *opts,
	s3i_athena_execution *out, s3i_errinfo *err)
{
	const char *op = "waiting for the query";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_id(op, id, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	exec_res(res, sizeof(res), id);
	if (!opts || opts->timeout_ms <= 0 || opts->first_delay_ms < 0 || opts->max_delay_ms < 0)
		return s3i_err(err, S3I_EINVALID, res, "%s %s: the timeout must be positive and the "
			"delays not negative", op, res);
	int64_t delay = opts->first_delay_ms ? opts->first_delay_ms : 250;
	int64_t max_delay = opts->max_delay_ms ? opts->max_delay_ms : 5000;
	if (delay > max_delay)
		delay = max_delay;
	int64_t start = s3i_client_now_ms(svc->client), waited = 0;
	for (;;) {
		s3i_athena_execution ex;
		if ((rc = s3i_athena_get_execution_op(svc, id, &ex, err)))
			return rc;
		if (out)
			*out = ex;
		if (ex.state == S3I_ATHENA_SUCCEEDED)
			return S3I_OK;
		if (ex.state == S3I_ATHENA_FAILED || ex.state == S3I_ATHENA_CANCELLED) {
			int code = ex.state == S3I_ATHENA_FAILED && ex.error_retryable ? S3I_ESERVICE
				: S3I_EAWS;
			char detail[64] = "";
			if (ex.error_category || ex.error_type)
				snprintf(detail, sizeof(detail), " (error category %d, type %d%s)",
					(int)ex.error_category, (int)ex.error_type,
					ex.error_retryable ? ", retryable" : "");
			return s3i_err(err, code, res, "%s %s: %s%s%s%s", ex.state == S3I_ATHENA_FAILED ?
				"Athena query failed:" : "Athena query was cancelled:", res, ex.state_text,
				ex.reason[0] ? ": " : "", ex.reason, detail);
		}
		/* elapsed by the client's clock, and by the sum of our pauses should it be pinned */
		int64_t elapsed = s3i_client_now_ms(svc->client) - start;
		if (elapsed < waited)
			elapsed = waited;
		if (elapsed >= opts->timeout_ms)
			return s3i_err(err, S3I_ETIMEOUT, res, "%s is still %s after %lld ms (%s)", res,
				ex.state_text[0] ? ex.state_text : "in an unknown state", (long long)elapsed, op);
		int64_t nap = delay < opts->timeout_ms - elapsed ? delay : opts->timeout_ms - elapsed;
		s3i_client_sleep_ms(svc->client, nap);
		waited += nap;
		delay = delay * 2 > max_delay ? max_delay : delay * 2;
	}
}

/* ------------------------------------------------------------------ results */

void s3i_athena_reader_init(s3i_athena_reader *r, s3i_athena_columns_fn on_columns,
	s3i_athena_row_fn on_row, void *payload)
{
	memset(r, 0, sizeof(*r));
	r->on_columns = on_columns;
	r->on_row = on_row;
	r->payload = payload;
	r->header = S3I_ATHENA_HEADER_AUTO;
	r->update_count = -1;
}

/* The first pass over a page: the documented shape, or S3I_EPARSE naming what is wrong.
 * Sets the column and row arrays (NULL when absent) and the widest row. */
static int check_page(s3i_json doc, const char *what, size_t known_columns, s3i_json *cols,
	s3i_json *rows, size_t *width, s3i_errinfo *err)
{
	*cols = *rows = NULL;
	*width = 0;
	if (!s3i_json_is_obj(doc))
		return s3i_err(err, S3I_EPARSE, NULL, "%s is not a JSON object", what);
	s3i_json tok = s3i_json_get(doc, "NextToken");
	if (!absent(tok) && (!s3i_json_is_str(tok) || !*s3i_json_str(tok) ||
		strlen(s3i_json_str(tok)) >= S3I_ATHENA_TOKEN_SIZE))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: NextToken is not a string of 1 to %d "
			"characters", what, S3I_ATHENA_TOKEN_SIZE - 1);
	s3i_json uc = s3i_json_get(doc, "UpdateCount");
	if (!absent(uc) && !s3i_json_is_num(uc))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: UpdateCount is not a number", what);
	s3i_json rs = s3i_json_get(doc, "ResultSet");
	if (absent(rs))
		return S3I_OK;
	if (!s3i_json_is_obj(rs))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: ResultSet is not an object", what);
	s3i_json meta = s3i_json_get(rs, "ResultSetMetadata");
	if (!absent(meta)) {
		if (!s3i_json_is_obj(meta))
			return s3i_err(err, S3I_EPARSE, NULL, "%s: ResultSetMetadata is not an object", what);
		s3i_json ci = s3i_json_get(meta, "ColumnInfo");
		if (!absent(ci) && !s3i_json_is_arr(ci))
			return s3i_err(err, S3I_EPARSE, NULL, "%s: ColumnInfo is not an array", what);
		for (size_t i = 0; !absent(ci) && i < s3i_json_len(ci); i++) {
			s3i_json c = s3i_json_at(ci, i);
			static const char *const strs[] = { "Name", "Type", "Label", "Nullable",
				"CatalogName", "SchemaName", "TableName" };
			if (!s3i_json_is_obj(c))
				return s3i_err(err, S3I_EPARSE, NULL, "%s: ColumnInfo[%zu] is not an object",
					what, i);
			for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
				s3i_json v = s3i_json_get(c, strs[k]);
				if ((k < 2 && !s3i_json_is_str(v)) || (!absent(v) && !s3i_json_is_str(v)))
					return s3i_err(err, S3I_EPARSE, NULL, "%s: ColumnInfo[%zu].%s is %s", what,
						i, strs[k], k < 2 && absent(v) ? "missing" : "not a string");
			}
			s3i_json p = s3i_json_get(c, "Precision"), sc = s3i_json_get(c, "Scale");
			if ((!absent(p) && !s3i_json_is_num(p)) || (!absent(sc) && !s3i_json_is_num(sc)))
				return s3i_err(err, S3I_EPARSE, NULL, "%s: ColumnInfo[%zu] has a Precision or "
					"Scale that is not a number", what, i);
		}
		if (!absent(ci) && s3i_json_len(ci)) {
			*cols = ci;
			if (known_columns && s3i_json_len(ci) != known_columns)
				return s3i_err(err, S3I_EPARSE, NULL, "%s has %zu columns where the first page "
					"had %zu", what, s3i_json_len(ci), known_columns);
			known_columns = s3i_json_len(ci);
		}
	}
	s3i_json rl = s3i_json_get(rs, "Rows");
	if (absent(rl))
		return S3I_OK;
	if (!s3i_json_is_arr(rl))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: Rows is not an array", what);
	for (size_t i = 0; i < s3i_json_len(rl); i++) {
		s3i_json row = s3i_json_at(rl, i);
		if (!s3i_json_is_obj(row))
			return s3i_err(err, S3I_EPARSE, NULL, "%s: Rows[%zu] is not an object", what, i);
		s3i_json data = s3i_json_get(row, "Data");
		if (!absent(data) && !s3i_json_is_arr(data))
			return s3i_err(err, S3I_EPARSE, NULL, "%s: Rows[%zu].Data is not an array", what, i);
		size_t n = absent(data) ? 0 : s3i_json_len(data);
		if (known_columns && n != known_columns)
			return s3i_err(err, S3I_EPARSE, NULL, "%s: Rows[%zu] has %zu values for %zu columns",
				what, i, n, known_columns);
		for (size_t k = 0; k < n; k++) {
			s3i_json d = s3i_json_at(data, k);
			s3i_json v = s3i_json_get(d, "VarCharValue");
			if (!s3i_json_is_obj(d) || (!absent(v) && !s3i_json_is_str(v)))
				return s3i_err(err, S3I_EPARSE, NULL, "%s: Rows[%zu].Data[%zu] is not a Datum "
					"with a string VarCharValue", what, i, k);
		}
		if (n > *width)
			*width = n;
	}
	*rows = rl;
	return S3I_OK;
}

static const char *str_or(s3i_json obj, const char *key, const char *dflt)
{
	const char *s = s3i_json_str(s3i_json_get(obj, key));
	return s ? s : dflt;
}

static int deliver_columns(s3i_athena_reader *r, s3i_json ci, const char *what, s3i_errinfo *err)
{
	size_t n = s3i_json_len(ci);
	const s3i_allocator *a = r->alloc ? r->alloc : s3i_allocator_default();
	s3i_athena_column *cols = s3i_calloc(a, n, sizeof(*cols));
	if (!cols)
		return s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory for %zu columns", what, n);
	for (size_t i = 0; i < n; i++) {
		s3i_json c = s3i_json_at(ci, i);
		cols[i].name = str_or(c, "Name", "");
		cols[i].type = str_or(c, "Type", "");
		cols[i].label = str_or(c, "Label", "");
		cols[i].nullable = str_or(c, "Nullable", "");
		int64_t p = opt_i64(s3i_json_get(c, "Precision"), 0), s = opt_i64(s3i_json_get(c, "Scale"), 0);
		cols[i].precision = p > INT32_MAX || p < INT32_MIN ? 0 : (int32_t)p;
		cols[i].scale = s > INT32_MAX || s < INT32_MIN ? 0 : (int32_t)s;
	}
	int stop = r->on_columns ? r->on_columns(r->payload, cols, n) : 0;
	s3i_free(a, cols);
	if (stop)
		return s3i_err(err, S3I_EUSER, NULL, "%s: the column callback asked to stop", what);
	r->columns_delivered = 1;
	r->ncolumns = n;
	return S3I_OK;
}

/* Is this row the column names, in order? */
static int row_is_names(s3i_json data, s3i_json cols)
{
	size_t n = s3i_json_len(data);
	if (!cols || !n || n != s3i_json_len(cols))
		return 0;
	for (size_t k = 0; k < n; k++) {
		const char *v = s3i_json_str(s3i_json_get(s3i_json_at(data, k), "VarCharValue"));
		const char *name = str_or(s3i_json_at(cols, k), "Name", NULL);
		if (!v || !name || strcmp(v, name))
			return 0;
	}
	return 1;
}

int s3i_athena_reader_page(s3i_athena_reader *r, const char *body, size_t len, const char *what,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "Athena GetQueryResults response";
	if (!r)
		return s3i_err(err, S3I_EINVALID, "reader", "%s: no reader", what);
	const s3i_allocator *a = r->alloc ? r->alloc : s3i_allocator_default();
	s3i_json doc = NULL, cols, rows;
	size_t width;
	int rc = s3i_json_parse(&doc, body ? body : "", body ? len : 0, what, err);
	if (!rc)
		rc = check_page(doc, what, r->ncolumns, &cols, &rows, &width, err);
	/* the header is looked for only at the very beginning of the results */
	int first = r->pages == 0 && !r->next_token[0] && r->rows == 0 && r->header_rows == 0;
	if (!rc && cols && !r->columns_delivered)
		rc = deliver_columns(r, cols, what, err);
	const char **vals = NULL;
	if (!rc && width && !(vals = s3i_calloc(a, width, sizeof(*vals))))
		rc = s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory for a row of %zu values", what,
			width);
	for (size_t i = 0; !rc && rows && i < s3i_json_len(rows); i++) {
		s3i_json data = s3i_json_get(s3i_json_at(rows, i), "Data");
		size_t n = absent(data) ? 0 : s3i_json_len(data);
		for (size_t k = 0; k < n; k++) {
			s3i_json v = s3i_json_get(s3i_json_at(data, k), "VarCharValue");
			vals[k] = absent(v) ? NULL : s3i_json_str(v);
		}
		int is_header = first && i == 0 && (r->header == S3I_ATHENA_HEADER_FIRST_ROW ||
			(r->header == S3I_ATHENA_HEADER_AUTO && row_is_names(data, cols)));
		s3i_athena_row row = { n, vals, is_header, r->rows + r->header_rows };
		if (r->on_row && r->on_row(r->payload, &row))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: the row callback asked to stop at row %lld",
				what, (long long)row.index);
		else if (is_header)
			r->header_rows++;
		else
			r->rows++;
	}
	if (!rc) {
		const char *tok = s3i_json_str(s3i_json_get(doc, "NextToken"));
		snprintf(r->next_token, sizeof(r->next_token), "%s", tok ? tok : "");
		r->update_count = opt_i64(s3i_json_get(doc, "UpdateCount"), -1);
		r->pages++;
	}
	s3i_free(a, vals);
	s3i_json_free(doc);
	return rc;
}

int s3i_athena_get_results_op(const s3i_svc *svc, const char *id,
	const s3i_athena_results_opts *opts, s3i_athena_reader *r, s3i_errinfo *err)
{
	const char *op = "GetQueryResults";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_id(op, id, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	exec_res(res, sizeof(res), id);
	s3i_athena_results_opts none = { 0 };
	if (!opts)
		opts = &none;
	if (!r)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: no reader", op, res);
	if (opts->max_results < 0 || opts->max_results > S3I_ATHENA_MAX_RESULTS || opts->max_pages < 0)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: max_results must be 1 to %d (or 0) "
			"and max_pages not negative", op, res, S3I_ATHENA_MAX_RESULTS);
	if (opts->next_token) {
		if (!*opts->next_token || strlen(opts->next_token) >= S3I_ATHENA_TOKEN_SIZE)
			return s3i_err(err, S3I_EINVALID, res, "%s on %s: the token to resume from must "
				"have 1 to %d characters", op, res, S3I_ATHENA_TOKEN_SIZE - 1);
		snprintf(r->next_token, sizeof(r->next_token), "%s", opts->next_token);
	}
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	if (!r->alloc)
		r->alloc = a;
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	char sent[S3I_ATHENA_TOKEN_SIZE];
	for (int64_t pages = 0; !rc; pages++) {
		if (opts->max_pages && pages >= opts->max_pages)
			break;
		s3i_buf_clear(&body);
		s3i_json_writer w;
		s3i_jw_init(&w, &body);
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "QueryExecutionId");
		s3i_jw_str(&w, id);
		s3i_jw_key(&w, "MaxResults");
		s3i_jw_i64(&w, opts->max_results ? opts->max_results : S3I_ATHENA_MAX_RESULTS);
		if (r->next_token[0]) {
			s3i_jw_key(&w, "NextToken");
			s3i_jw_str(&w, r->next_token);
		}
		s3i_jw_obj_close(&w);
		snprintf(sent, sizeof(sent), "%s", r->next_token);
		if ((rc = finish_body(&w, op, res, err)) || (rc = acall(svc, op, res, &body, &resp, err)))
			break;
		char what[RES_MAX + 80];
		snprintf(what, sizeof(what), "Athena GetQueryResults response for %s (page %lld)", res,
			(long long)r->pages + 1);
		if ((rc = s3i_athena_reader_page(r, resp.body.ptr, resp.body.size, what, err)))
			break;
		if (!r->next_token[0])
			break;
		/* a token that does not move would page for ever */
		if (sent[0] && !strcmp(sent, r->next_token))
			rc = s3i_err(err, S3I_EPARSE, res, "%s on %s: page %lld gave back the NextToken it "
				"was asked for", op, res, (long long)r->pages);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}
