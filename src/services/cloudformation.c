#include "services/cloudformation.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xml.h"

const s3i_service s3i_svc_cloudformation = { "cloudformation", "cloudformation", S3I_PROTO_QUERY,
	NULL, "2010-05-15", NULL };

#define RES_MAX 400
#define STACK_REF_MAX (S3I_CFN_STACK_ID_SIZE - 1)   /* a name or a stack id (an ARN) */
#define MAX_TAGS 50
#define WAIT_FIRST_MS 2000
#define WAIT_MAX_MS 15000
#define FAILURE_PAGES 20                             /* event pages read for a failure's cause */
#define ABSENT SIZE_MAX

/* ------------------------------------------------------------------ plumbing */

/* Copy src into dst (cap bytes), cut at a UTF-8 boundary, control characters as '?' so a
 * message stays one line. */
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

/* Copy text as is, cut at a UTF-8 boundary to fit cap. */
static void copy_cut(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	if (n < len)
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static const char *stack_res(char *buf, size_t cap, const char *stack)
{
	/* "stack '<name>'", the name cut with shown()'s "..." to fit (every caller's buffer holds
	 * far more than the quotes) */
	char s[STACK_REF_MAX + 1];
	size_t room = cap - sizeof("stack ''") + 1;
	shown(s, room < sizeof(s) ? room : sizeof(s), stack);
	size_t n = strlen(s);
	memcpy(buf, "stack '", 7);
	memcpy(buf + 7, s, n);
	memcpy(buf + 7 + n, "'", 2);
	return buf;
}

/* A stack name or id as DescribeStacks, DescribeStackEvents and DeleteStack take it. */
static int check_stack_ref(const char *op, const char *stack, s3i_errinfo *err)
{
	if (!stack || !*stack)
		return s3i_err(err, S3I_EINVALID, "StackName", "%s: the stack name is empty", op);
	size_t n = strlen(stack);
	char s[80];
	shown(s, sizeof(s), stack);
	if (n > STACK_REF_MAX)
		return s3i_err(err, S3I_EINVALID, "StackName", "%s: stack '%s...' has a name longer "
			"than %d characters", op, s, STACK_REF_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)stack[i] <= ' ' || stack[i] == 0x7f)
			return s3i_err(err, S3I_EINVALID, "StackName", "%s: stack '%s' holds white space "
				"or a control character", op, s);
	return S3I_OK;
}

/* A new stack's name: [A-Za-z][-A-Za-z0-9]*, at most 128 characters. */
static int check_stack_name(const char *op, const char *stack, s3i_errinfo *err)
{
	int rc = check_stack_ref(op, stack, err);
	if (rc)
		return rc;
	size_t n = strlen(stack);
	int ok = n <= S3I_CFN_STACK_NAME_MAX &&
		((stack[0] >= 'a' && stack[0] <= 'z') || (stack[0] >= 'A' && stack[0] <= 'Z'));
	for (size_t i = 1; ok && i < n; i++)
		ok = (stack[i] >= 'a' && stack[i] <= 'z') || (stack[i] >= 'A' && stack[i] <= 'Z') ||
			(stack[i] >= '0' && stack[i] <= '9') || stack[i] == '-';
	if (!ok) {
		char s[80];
		shown(s, sizeof(s), stack);
		return s3i_err(err, S3I_EINVALID, "StackName", "%s: stack name '%s' must start with a "
			"letter and hold only letters, digits and '-' (at most %d)", op, s,
			S3I_CFN_STACK_NAME_MAX);
	}
	return S3I_OK;
}

static int ccall(const s3i_svc *svc, const char *op, const char *res, const s3i_params *params,
	s3i_http_response *resp, s3i_errinfo *err)
{
	s3i_call call = { .svc = &s3i_svc_cloudformation, .operation = op, .resource = res,
		.creds = svc->creds, .region = svc->region, .params = params };
	s3i_http_response_reset(resp);
	return s3i_client_call(svc->client, &call, resp, err);
}

/* CloudFormation's documented errors, named after the stack. ValidationError is the query
 * protocol's catch-all; "Stack with id X does not exist" is how a missing stack looks. */
static int map_error(int rc, s3i_errinfo *err, const char *op, const char *res, int creating)
{
	const char *code = err->aws_code;
	if (!strcmp(code, "AlreadyExistsException"))
		return s3i_err_reword(err, S3I_EEXISTS, res, "%s: %s already exists", op, res);
	if (!creating && !strcmp(code, "ValidationError") && strstr(err->message, "does not exist"))
		return s3i_err_reword(err, S3I_ENOTFOUND, res, "%s: %s does not exist", op, res);
	if (creating && (!strcmp(code, "ValidationError") ||
		!strcmp(code, "InsufficientCapabilitiesException")))
		return s3i_err_reword(err, S3I_EINVALID, res, "%s of %s was refused", op, res);
	return rc;
}

static int oom(s3i_errinfo *err, const char *op, const char *res)
{
	return s3i_err(err, S3I_ENOMEM, res, "%s on %s: out of memory building the request", op, res);
}

/* ------------------------------------------------------------------ XML: shared */

/* Field values of records (stacks' outputs, events) while a document parses: strings one
 * after the other in `strings`, each record a row of offsets into it (ABSENT: not given). */
typedef struct rows {
	s3i_buf strings;
	s3i_buf rows;              /* size_t[width + 1] per record; the last slot is a timestamp */
	size_t width;
	size_t count;
	size_t cur[9];             /* the record being read */
	int open;
} rows;

static void rows_init(rows *r, const s3i_allocator *a, size_t width)
{
	memset(r, 0, sizeof(*r));
	s3i_buf_init(&r->strings, a);
	s3i_buf_init(&r->rows, a);
	r->width = width;
}

static void rows_free(rows *r)
{
	s3i_buf_dispose(&r->strings);
	s3i_buf_dispose(&r->rows);
}

static void rows_begin(rows *r)
{
	for (size_t i = 0; i <= r->width; i++)
		r->cur[i] = ABSENT;
	r->open = 1;
}

static int rows_set(rows *r, size_t field, const char *text, size_t len)
{
	r->cur[field] = r->strings.size;
	return s3i_buf_put(&r->strings, text, len) || s3i_buf_putc(&r->strings, '\0')
		? S3I_ENOMEM : S3I_OK;
}

static int rows_end(rows *r)
{
	r->open = 0;
	if (s3i_buf_put(&r->rows, r->cur, (r->width + 1) * sizeof(size_t)))
		return S3I_ENOMEM;
	r->count++;
	return S3I_OK;
}

static const char *rows_str(const rows *r, size_t i, size_t field)
{
	const size_t *row = (const size_t *)(const void *)(r->rows.ptr + i * (r->width + 1) *
		sizeof(size_t));
	return row[field] == ABSENT ? "" : r->strings.ptr + row[field];
}

static size_t rows_slot(const rows *r, size_t i, size_t field)
{
	const size_t *row = (const size_t *)(const void *)(r->rows.ptr + i * (r->width + 1) *
		sizeof(size_t));
	return row[field];
}

static int parse_time(const char *text, int64_t *out)
{
	return s3i_time_parse_iso8601(text, out) ? -1 : 0;
}

/* A status is A-Z and '_' and fits. */
static int status_ok(const char *s, size_t len)
{
	if (!len || len >= S3I_CFN_STATUS_SIZE)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
			return 0;
	return 1;
}

static int doc_parse(const char *body, size_t len, const char *what, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err)
{
	if (!body || !len)
		return s3i_err(err, S3I_EPARSE, NULL, "%s is empty", what);
	int rc = s3i_xml_parse(s3i_allocator_default(), body, len, start, end, user, err);
	if (rc && rc != S3I_ENOMEM && rc != S3I_EPARSE)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s could not be parsed", what);
	return rc;
}

static int check_root(s3i_errinfo *err, const char *what, const char *root, const char *name,
	int depth)
{
	if (depth == 1 && strcmp(name, root))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: the document is a <%.60s>, not a <%s>",
			what, name, root);
	return 0;
}

/* ------------------------------------------------------------------ XML: CreateStack */

typedef struct create_parse {
	const char *what;
	s3i_errinfo *err;
	char *id;
	size_t cap;
	int seen;
} create_parse;

static int create_start(void *user, const char *path, const char *name, int depth)
{
	create_parse *p = user;
	(void)path;
	return check_root(p->err, p->what, "CreateStackResponse", name, depth);
}

static int create_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	create_parse *p = user;
	(void)name;
	(void)depth;
	if (strcmp(path, "CreateStackResponse/CreateStackResult/StackId"))
		return 0;
	if (p->seen)
		return s3i_err(p->err, S3I_EPARSE, NULL, "%s: StackId appears twice", p->what);
	if (!len || len >= p->cap)
		return s3i_err(p->err, S3I_EPARSE, NULL, "%s: StackId must have 1 to %zu characters",
			p->what, p->cap - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f)
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: StackId holds white space or a "
				"control character", p->what);
	memcpy(p->id, text, len);
	p->id[len] = 0;
	p->seen = 1;
	return 0;
}

int s3i_cfn_create_stack_parse(const char *body, size_t len, char *stack_id, size_t cap,
	s3i_errinfo *err)
{
	const char *what = "CloudFormation CreateStack response";
	if (!err)
		err = s3i_errinfo_thread();
	if (!stack_id || cap < 2)
		return s3i_err(err, S3I_EINVALID, "stack_id", "%s: no room for the StackId", what);
	stack_id[0] = 0;
	char id[S3I_CFN_STACK_ID_SIZE];
	create_parse p = { .what = what, .err = err, .id = id,
		.cap = cap < sizeof(id) ? cap : sizeof(id) };
	int rc = doc_parse(body, len, what, create_start, create_end, &p, err);
	if (!rc && !p.seen)
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s has no StackId", what);
	if (!rc)
		snprintf(stack_id, cap, "%s", id);
	return rc;
}

/* ------------------------------------------------------------------ XML: DescribeStacks */

#define STACK_PATH "DescribeStacksResponse/DescribeStacksResult/Stacks/member"
#define OUTPUT_PATH STACK_PATH "/Outputs/member"

enum { OUT_KEY, OUT_VALUE, OUT_DESCRIPTION, OUT_EXPORT, OUT_WIDTH };

typedef struct stacks_parse {
	const char *what;
	s3i_errinfo *err;
	s3i_cfn_stack *out;
	size_t nstacks;
	int has_name, has_status;
	rows outputs;
} stacks_parse;

static int stacks_start(void *user, const char *path, const char *name, int depth)
{
	stacks_parse *p = user;
	int rc = check_root(p->err, p->what, "DescribeStacksResponse", name, depth);
	if (rc)
		return rc;
	if (depth == 4 && !strcmp(path, STACK_PATH))
		p->nstacks++;
	else if (depth == 6 && p->nstacks == 1 && !strcmp(path, OUTPUT_PATH))
		rows_begin(&p->outputs);
	return 0;
}

static int stack_field(stacks_parse *p, const char *name, const char *text, size_t len)
{
	s3i_cfn_stack *st = p->out;
	int64_t *t = NULL;
	if (!strcmp(name, "StackName")) {
		if (!len || len >= sizeof(st->name))
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: StackName must have 1 to %zu "
				"characters", p->what, sizeof(st->name) - 1);
		memcpy(st->name, text, len + 1);
		p->has_name = 1;
	} else if (!strcmp(name, "StackId")) {
		if (len >= sizeof(st->id))
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: StackId is longer than %zu "
				"characters", p->what, sizeof(st->id) - 1);
		memcpy(st->id, text, len + 1);
	} else if (!strcmp(name, "StackStatus")) {
		if (!status_ok(text, len)) {
			char s[48];
			shown(s, sizeof(s), text);
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: StackStatus '%s' is not a status",
				p->what, s);
		}
		memcpy(st->status, text, len + 1);
		p->has_status = 1;
	} else if (!strcmp(name, "StackStatusReason")) {
		copy_cut(st->status_reason, sizeof(st->status_reason), text, len);
	} else if (!strcmp(name, "CreationTime")) {
		t = &st->created_ms;
	} else if (!strcmp(name, "LastUpdatedTime")) {
		t = &st->updated_ms;
	} else if (!strcmp(name, "DeletionTime")) {
		t = &st->deleted_ms;
	}
	if (t && parse_time(text, t))
		return s3i_err(p->err, S3I_EPARSE, NULL, "%s: %s is not an ISO 8601 time", p->what,
			name);
	return 0;
}

static int stacks_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	stacks_parse *p = user;
	if (p->nstacks != 1 || depth < 5 || strncmp(path, STACK_PATH "/", sizeof(STACK_PATH)))
		return 0;
	if (depth == 5)
		return stack_field(p, name, text, len);
	if (depth == 6 && p->outputs.open && !strcmp(path, OUTPUT_PATH)) {
		if (p->outputs.cur[OUT_KEY] == ABSENT)
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: output %zu has no OutputKey",
				p->what, p->outputs.count);
		return rows_end(&p->outputs) ? s3i_err(p->err, S3I_ENOMEM, NULL, "%s: out of memory",
			p->what) : 0;
	}
	if (depth == 7 && p->outputs.open && !strncmp(path, OUTPUT_PATH "/", sizeof(OUTPUT_PATH))) {
		static const char *const fields[OUT_WIDTH] = { "OutputKey", "OutputValue",
			"Description", "ExportName" };
		for (size_t f = 0; f < OUT_WIDTH; f++)
			if (!strcmp(name, fields[f])) {
				if (f == OUT_KEY && !len)
					return s3i_err(p->err, S3I_EPARSE, NULL, "%s: output %zu has an empty "
						"OutputKey", p->what, p->outputs.count);
				return rows_set(&p->outputs, f, text, len) ? s3i_err(p->err, S3I_ENOMEM, NULL,
					"%s: out of memory", p->what) : 0;
			}
	}
	return 0;
}

void s3i_cfn_stack_init(s3i_cfn_stack *st, const s3i_allocator *a)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	st->alloc = a ? a : s3i_allocator_default();
}

void s3i_cfn_stack_free(s3i_cfn_stack *st)
{
	if (!st)
		return;
	const s3i_allocator *a = st->alloc ? st->alloc : s3i_allocator_default();
	s3i_free(a, st->outputs);
	s3i_free(a, st->strings);
	s3i_cfn_stack_init(st, a);
}

const char *s3i_cfn_stack_output(const s3i_cfn_stack *st, const char *key)
{
	for (size_t i = 0; st && key && i < st->noutputs; i++)
		if (!strcmp(st->outputs[i].key, key))
			return st->outputs[i].value;
	return NULL;
}

/* Hand the collected outputs to the description: one block of strings, one array. */
static int take_outputs(s3i_cfn_stack *st, rows *r)
{
	if (!r->count)
		return S3I_OK;
	const s3i_allocator *a = st->alloc;
	s3i_cfn_output *outs = s3i_calloc(a, r->count, sizeof(*outs));
	char *strings = s3i_malloc(a, r->strings.size ? r->strings.size : 1);
	if (!outs || !strings) {
		s3i_free(a, outs);
		s3i_free(a, strings);
		return S3I_ENOMEM;
	}
	memcpy(strings, r->strings.ptr, r->strings.size);
	for (size_t i = 0; i < r->count; i++) {
		const char **f[OUT_WIDTH] = { &outs[i].key, &outs[i].value, &outs[i].description,
			&outs[i].export_name };
		for (size_t k = 0; k < OUT_WIDTH; k++) {
			size_t off = rows_slot(r, i, k);
			*f[k] = off == ABSENT ? "" : strings + off;
		}
	}
	st->outputs = outs;
	st->noutputs = r->count;
	st->strings = strings;
	return S3I_OK;
}

int s3i_cfn_describe_stacks_parse(const char *body, size_t len, const char *what,
	s3i_cfn_stack *out, size_t *nstacks, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "CloudFormation DescribeStacks response";
	if (nstacks)
		*nstacks = 0;
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: no room for the stack", what);
	s3i_cfn_stack_free(out);
	stacks_parse p = { .what = what, .err = err, .out = out };
	rows_init(&p.outputs, out->alloc, OUT_WIDTH);
	int rc = doc_parse(body, len, what, stacks_start, stacks_end, &p, err);
	if (!rc && p.nstacks && (!p.has_name || !p.has_status))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: the stack has no %s", what,
			p.has_name ? "StackStatus" : "StackName");
	if (!rc && take_outputs(out, &p.outputs))
		rc = s3i_err(err, S3I_ENOMEM, NULL, "%s: out of memory", what);
	rows_free(&p.outputs);
	if (rc)
		s3i_cfn_stack_free(out);
	else if (nstacks)
		*nstacks = p.nstacks;
	return rc;
}

/* ------------------------------------------------------------------ XML: DescribeStackEvents */

#define EVENTS_RESULT "DescribeStackEventsResponse/DescribeStackEventsResult"
#define EVENT_PATH EVENTS_RESULT "/StackEvents/member"

enum { EV_ID, EV_STACK, EV_LOGICAL, EV_PHYSICAL, EV_TYPE, EV_STATUS, EV_REASON, EV_TIME,
	EV_WIDTH };

static const char *const EVENT_FIELDS[EV_WIDTH] = { "EventId", "StackName", "LogicalResourceId",
	"PhysicalResourceId", "ResourceType", "ResourceStatus", "ResourceStatusReason", "Timestamp" };

typedef struct events_parse {
	const char *what;
	s3i_errinfo *err;
	rows events;
	char *token;
	size_t token_cap;
	int token_seen;
} events_parse;

static int events_start(void *user, const char *path, const char *name, int depth)
{
	events_parse *p = user;
	int rc = check_root(p->err, p->what, "DescribeStackEventsResponse", name, depth);
	if (!rc && depth == 4 && !strcmp(path, EVENT_PATH))
		rows_begin(&p->events);
	return rc;
}

static int events_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	events_parse *p = user;
	if (depth == 3 && !strcmp(path, EVENTS_RESULT "/NextToken")) {
		if (p->token_seen)
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: NextToken appears twice", p->what);
		if (!len || len >= p->token_cap)
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: NextToken must have 1 to %zu "
				"characters", p->what, p->token_cap - 1);
		memcpy(p->token, text, len + 1);
		p->token_seen = 1;
		return 0;
	}
	if (!p->events.open)
		return 0;
	if (depth == 4 && !strcmp(path, EVENT_PATH)) {
		int64_t ts = 0;
		size_t t = p->events.cur[EV_TIME];
		if (t != ABSENT && parse_time(p->events.strings.ptr + t, &ts))
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: event %zu has an invalid Timestamp",
				p->what, p->events.count);
		size_t s = p->events.cur[EV_STATUS];
		if (s != ABSENT && !status_ok(p->events.strings.ptr + s,
			strlen(p->events.strings.ptr + s)))
			return s3i_err(p->err, S3I_EPARSE, NULL, "%s: event %zu has an invalid "
				"ResourceStatus", p->what, p->events.count);
		p->events.cur[EV_WIDTH] = (size_t)ts;
		return rows_end(&p->events) ? s3i_err(p->err, S3I_ENOMEM, NULL, "%s: out of memory",
			p->what) : 0;
	}
	if (depth == 5 && !strncmp(path, EVENT_PATH "/", sizeof(EVENT_PATH)))
		for (size_t f = 0; f < EV_WIDTH; f++)
			if (!strcmp(name, EVENT_FIELDS[f]))
				return rows_set(&p->events, f, text, len) ? s3i_err(p->err, S3I_ENOMEM, NULL,
					"%s: out of memory", p->what) : 0;
	return 0;
}

int s3i_cfn_stack_events_parse(const char *body, size_t len, const char *what,
	s3i_cfn_event_fn fn, void *payload, char *next_token, size_t cap, int64_t *count,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!what)
		what = "CloudFormation DescribeStackEvents response";
	if (count)
		*count = 0;
	if (!next_token || cap < 2)
		return s3i_err(err, S3I_EINVALID, "next_token", "%s: no room for the NextToken", what);
	next_token[0] = 0;
	char token[S3I_CFN_TOKEN_SIZE];
	events_parse p = { .what = what, .err = err, .token = token,
		.token_cap = cap < sizeof(token) ? cap : sizeof(token) };
	rows_init(&p.events, s3i_allocator_default(), EV_WIDTH);
	int rc = doc_parse(body, len, what, events_start, events_end, &p, err);
	for (size_t i = 0; !rc && i < p.events.count; i++) {
		s3i_cfn_event ev = {
			.event_id = rows_str(&p.events, i, EV_ID),
			.stack_name = rows_str(&p.events, i, EV_STACK),
			.logical_id = rows_str(&p.events, i, EV_LOGICAL),
			.physical_id = rows_str(&p.events, i, EV_PHYSICAL),
			.resource_type = rows_str(&p.events, i, EV_TYPE),
			.status = rows_str(&p.events, i, EV_STATUS),
			.status_reason = rows_str(&p.events, i, EV_REASON),
			.timestamp_ms = (int64_t)rows_slot(&p.events, i, EV_WIDTH),
		};
		if (fn && fn(payload, &ev))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: the event callback asked to stop", what);
		else if (count)
			(*count)++;
	}
	if (!rc && p.token_seen)
		snprintf(next_token, cap, "%s", token);
	rows_free(&p.events);
	return rc;
}

/* ------------------------------------------------------------------ CreateStack */

static int check_create(const char *op, const s3i_cfn_create_stack *req, s3i_errinfo *err)
{
	if (!req)
		return s3i_err(err, S3I_EINVALID, "StackName", "%s: no request", op);
	int rc = check_stack_name(op, req->stack_name, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	stack_res(res, sizeof(res), req->stack_name);
	if (!req->template_body || !*req->template_body)
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: the template body is empty", op, res);
	size_t tlen = strlen(req->template_body);
	if (tlen > S3I_CFN_MAX_TEMPLATE_BODY)
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: the template body has %zu bytes, more "
			"than the %d CloudFormation takes inline (upload it and use a TemplateURL)", op, res,
			tlen, S3I_CFN_MAX_TEMPLATE_BODY);
	if ((req->nparameters && !req->parameters) || (req->ntags && !req->tags))
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: a parameter or tag count without its "
			"list", op, res);
	for (size_t i = 0; i < req->nparameters; i++)
		if (!req->parameters[i].key || !*req->parameters[i].key || !req->parameters[i].value)
			return s3i_err(err, S3I_EINVALID, res, "%s of %s: parameter %zu has no key or no "
				"value", op, res, i);
	if (req->ntags > MAX_TAGS)
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: %zu tags, more than the %d a stack "
			"takes", op, res, req->ntags, MAX_TAGS);
	for (size_t i = 0; i < req->ntags; i++) {
		const s3i_cfn_kv *t = &req->tags[i];
		if (!t->key || !*t->key || strlen(t->key) > 128 || !t->value || !*t->value ||
			strlen(t->value) > 256)
			return s3i_err(err, S3I_EINVALID, res, "%s of %s: tag %zu needs a key of 1 to 128 "
				"and a value of 1 to 256 characters", op, res, i);
	}
	if (req->capabilities & ~(S3I_CFN_CAPABILITY_IAM | S3I_CFN_CAPABILITY_NAMED_IAM |
		S3I_CFN_CAPABILITY_AUTO_EXPAND))
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: unknown capability bits 0x%x", op, res,
			(unsigned)req->capabilities);
	if (req->timeout_minutes < 0 || req->on_failure < S3I_CFN_ON_FAILURE_DEFAULT ||
		req->on_failure > S3I_CFN_ON_FAILURE_DO_NOTHING)
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: negative timeout or unknown on-failure "
			"action", op, res);
	if (req->client_request_token && (!*req->client_request_token ||
		strlen(req->client_request_token) > 128))
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: the client request token must have 1 "
			"to 128 characters", op, res);
	return S3I_OK;
}

static int create_params(s3i_params *pr, const s3i_cfn_create_stack *req)
{
	static const char *const caps[] = { "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
		"CAPABILITY_AUTO_EXPAND" };
	static const char *const on_failure[] = { NULL, "ROLLBACK", "DELETE", "DO_NOTHING" };
	char key[64];
	if (s3i_params_add(pr, "StackName", req->stack_name) ||
		s3i_params_add(pr, "TemplateBody", req->template_body))
		return S3I_ENOMEM;
	for (size_t i = 0; i < req->nparameters; i++) {
		snprintf(key, sizeof(key), "Parameters.member.%zu.ParameterKey", i + 1);
		if (s3i_params_add(pr, key, req->parameters[i].key))
			return S3I_ENOMEM;
		snprintf(key, sizeof(key), "Parameters.member.%zu.ParameterValue", i + 1);
		if (s3i_params_add(pr, key, req->parameters[i].value))
			return S3I_ENOMEM;
	}
	for (size_t i = 0; i < req->ntags; i++) {
		snprintf(key, sizeof(key), "Tags.member.%zu.Key", i + 1);
		if (s3i_params_add(pr, key, req->tags[i].key))
			return S3I_ENOMEM;
		snprintf(key, sizeof(key), "Tags.member.%zu.Value", i + 1);
		if (s3i_params_add(pr, key, req->tags[i].value))
			return S3I_ENOMEM;
	}
	size_t n = 0;
	for (size_t b = 0; b < 3; b++)
		if (req->capabilities & (1u << b)) {
			snprintf(key, sizeof(key), "Capabilities.member.%zu", ++n);
			if (s3i_params_add(pr, key, caps[b]))
				return S3I_ENOMEM;
		}
	if ((req->timeout_minutes && s3i_params_addf(pr, "TimeoutInMinutes", "%d",
		(int)req->timeout_minutes)) ||
		(req->on_failure && s3i_params_add(pr, "OnFailure", on_failure[req->on_failure])) ||
		(req->client_request_token && s3i_params_add(pr, "ClientRequestToken",
			req->client_request_token)))
		return S3I_ENOMEM;
	return S3I_OK;
}

int s3i_cfn_create_stack_op(const s3i_svc *svc, const s3i_cfn_create_stack *req,
	char stack_id[S3I_CFN_STACK_ID_SIZE], s3i_errinfo *err)
{
	const char *op = "CreateStack";
	if (!err)
		err = s3i_errinfo_thread();
	if (stack_id)
		stack_id[0] = 0;
	int rc = check_create(op, req, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	stack_res(res, sizeof(res), req->stack_name);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (create_params(&params, req))
		rc = oom(err, op, res);
	else if ((rc = ccall(svc, op, res, &params, &resp, err)))
		rc = map_error(rc, err, op, res, 1);
	char id[S3I_CFN_STACK_ID_SIZE];
	if (!rc && !(rc = s3i_cfn_create_stack_parse(resp.body.ptr, resp.body.size, id, sizeof(id),
		err)) && stack_id)
		snprintf(stack_id, S3I_CFN_STACK_ID_SIZE, "%s", id);
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

/* ------------------------------------------------------------------ DescribeStacks */

int s3i_cfn_describe_stack_op(const s3i_svc *svc, const char *stack, s3i_cfn_stack *out,
	s3i_errinfo *err)
{
	const char *op = "DescribeStacks";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "%s: no room for the stack", op);
	s3i_cfn_stack_free(out);
	int rc = check_stack_ref(op, stack, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	stack_res(res, sizeof(res), stack);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	size_t n = 0;
	if (s3i_params_add(&params, "StackName", stack))
		rc = oom(err, op, res);
	else if ((rc = ccall(svc, op, res, &params, &resp, err)))
		rc = map_error(rc, err, op, res, 0);
	if (!rc)
		rc = s3i_cfn_describe_stacks_parse(resp.body.ptr, resp.body.size, NULL, out, &n, err);
	if (!rc && !n)
		rc = s3i_err(err, S3I_ENOTFOUND, res, "%s: %s does not exist (the answer lists no "
			"stack)", op, res);
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

/* ------------------------------------------------------------------ DescribeStackEvents */

/* Page through the events. With quiet_stop, a callback returning non-zero ends the paging
 * without an error (the failure search stops at the start of the operation). */
static int events_pages(const s3i_svc *svc, const char *stack, const s3i_cfn_events_opts *opts,
	s3i_cfn_event_fn fn, void *payload, s3i_cfn_events_progress *progress, int quiet_stop,
	s3i_errinfo *err)
{
	const char *op = "DescribeStackEvents";
	char res[RES_MAX];
	stack_res(res, sizeof(res), stack);
	if (opts->max_pages < 0)
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: max_pages is negative", op, res);
	if (opts->next_token) {
		if (!*opts->next_token || strlen(opts->next_token) >= S3I_CFN_TOKEN_SIZE)
			return s3i_err(err, S3I_EINVALID, res, "%s on %s: the token to resume from must "
				"have 1 to %d characters", op, res, S3I_CFN_TOKEN_SIZE - 1);
		snprintf(progress->next_token, sizeof(progress->next_token), "%s", opts->next_token);
	}
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	char sent[S3I_CFN_TOKEN_SIZE];
	int rc = S3I_OK;
	for (int64_t page = 0; !rc; page++) {
		if (opts->max_pages && page >= opts->max_pages)
			break;
		s3i_params_free(&params);
		if (s3i_params_add(&params, "StackName", stack) || (progress->next_token[0] &&
			s3i_params_add(&params, "NextToken", progress->next_token))) {
			rc = oom(err, op, res);
			break;
		}
		snprintf(sent, sizeof(sent), "%s", progress->next_token);
		if ((rc = ccall(svc, op, res, &params, &resp, err))) {
			rc = map_error(rc, err, op, res, 0);
			break;
		}
		char what[96], token[S3I_CFN_TOKEN_SIZE];
		int64_t seen = 0;
		snprintf(what, sizeof(what), "CloudFormation DescribeStackEvents response (page %lld)",
			(long long)progress->pages + 1);
		rc = s3i_cfn_stack_events_parse(resp.body.ptr, resp.body.size, what, fn, payload, token,
			sizeof(token), &seen, err);
		progress->events += seen;
		if (rc == S3I_EUSER && quiet_stop) {
			progress->pages++;
			rc = S3I_OK;
			break;
		}
		if (rc)
			break;
		progress->pages++;
		snprintf(progress->next_token, sizeof(progress->next_token), "%s", token);
		if (!token[0])
			break;
		if (sent[0] && !strcmp(sent, token))
			rc = s3i_err(err, S3I_EPARSE, res, "%s on %s: page %lld gave back the NextToken it "
				"was asked for", op, res, (long long)progress->pages);
	}
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

int s3i_cfn_describe_stack_events_op(const s3i_svc *svc, const char *stack,
	const s3i_cfn_events_opts *opts, s3i_cfn_event_fn fn, void *payload,
	s3i_cfn_events_progress *progress, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	s3i_cfn_events_opts none = { 0 };
	s3i_cfn_events_progress own;
	if (!progress)
		progress = &own;
	memset(progress, 0, sizeof(*progress));
	int rc = check_stack_ref("DescribeStackEvents", stack, err);
	if (rc)
		return rc;
	return events_pages(svc, stack, opts ? opts : &none, fn, payload, progress, 0, err);
}

/* ------------------------------------------------------------------ DeleteStack */

int s3i_cfn_delete_stack_op(const s3i_svc *svc, const char *stack, s3i_errinfo *err)
{
	const char *op = "DeleteStack";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_stack_ref(op, stack, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	stack_res(res, sizeof(res), stack);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_params params;
	s3i_params_init(&params, a);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (s3i_params_add(&params, "StackName", stack))
		rc = oom(err, op, res);
	else if ((rc = ccall(svc, op, res, &params, &resp, err)) &&
		(rc = map_error(rc, err, op, res, 0)) == S3I_ENOTFOUND)
		rc = S3I_OK;   /* gone already: what deleting wanted */
	s3i_http_response_free(&resp);
	s3i_params_free(&params);
	return rc;
}

/* ------------------------------------------------------------------ statuses */

static int has_suffix(const char *s, const char *suffix)
{
	return s && s3i_str_endswith(s, suffix);
}

s3i_cfn_wait_state s3i_cfn_create_wait_state(const char *status)
{
	static const char *const done[] = { "CREATE_COMPLETE", "UPDATE_COMPLETE",
		"UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE" };
	if (!status)
		return S3I_CFN_WAIT_FAILED;
	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		if (!strcmp(status, done[i]))
			return S3I_CFN_WAIT_DONE;
	if (s3i_str_startswith(status, "ROLLBACK_") || s3i_str_startswith(status, "DELETE_") ||
		s3i_str_startswith(status, "IMPORT_ROLLBACK_"))
		return S3I_CFN_WAIT_FAILED;
	if (has_suffix(status, "_IN_PROGRESS"))
		return S3I_CFN_WAIT_PENDING;
	return S3I_CFN_WAIT_FAILED;
}

s3i_cfn_wait_state s3i_cfn_delete_wait_state(const char *status)
{
	if (status && !strcmp(status, "DELETE_COMPLETE"))
		return S3I_CFN_WAIT_DONE;
	if (has_suffix(status, "_IN_PROGRESS"))
		return S3I_CFN_WAIT_PENDING;
	return S3I_CFN_WAIT_FAILED;
}

/* ------------------------------------------------------------------ the first failing resource */

int s3i_cfn_failure_feed(s3i_cfn_failure *f, const char *stack_name, int for_delete,
	const s3i_cfn_event *ev)
{
	if (!f || !ev || f->complete)
		return f ? f->complete : 0;
	int own = stack_name && !strcmp(ev->logical_id, stack_name) &&
		(!*ev->resource_type || !strcmp(ev->resource_type, "AWS::CloudFormation::Stack"));
	if (own) {
		if (!strcmp(ev->status, for_delete ? "DELETE_IN_PROGRESS" : "CREATE_IN_PROGRESS"))
			f->complete = 1;
		return f->complete;
	}
	if (!has_suffix(ev->status, "_FAILED"))
		return 0;
	/* newest first: each failure seen is older than the one kept */
	shown(f->logical_id, sizeof(f->logical_id), ev->logical_id);
	shown(f->resource_type, sizeof(f->resource_type), ev->resource_type);
	shown(f->status, sizeof(f->status), ev->status);
	shown(f->reason, sizeof(f->reason), ev->status_reason);
	f->timestamp_ms = ev->timestamp_ms;
	f->found = 1;
	return 0;
}

typedef struct failure_search {
	s3i_cfn_failure f;
	const char *stack_name;
	int for_delete;
} failure_search;

static int on_failure_event(void *payload, const s3i_cfn_event *ev)
{
	failure_search *s = payload;
	return s3i_cfn_failure_feed(&s->f, s->stack_name, s->for_delete, ev);
}

/* The waiter's verdict on a stack that will not reach what was waited for: its status and
 * reason and, where it failed, the first resource that failed and why. */
/* A reason for a message: one line, cut to fit, no white space around it. */
static void reason_text(char *dst, size_t cap, const char *src)
{
	if (!src)
		src = "";
	size_t len = strlen(src);
	const char *t = s3i_str_trim(src, &len);
	char tmp[S3I_CFN_REASON_SIZE];
	copy_cut(tmp, sizeof(tmp), t, len);
	shown(dst, cap, tmp);
}

static int report_failure(const s3i_svc *svc, const char *op, const char *res,
	const s3i_cfn_stack *st, int for_delete, s3i_errinfo *err)
{
	char reason[300] = "";
	reason_text(reason, sizeof(reason), st->status_reason);
	int failed = strstr(st->status, "FAILED") || strstr(st->status, "ROLLBACK");
	if (!failed)
		return s3i_err(err, S3I_EAWS, res, "%s of %s: the stack is %s%s%s%s, %s", op, res,
			st->status, reason[0] ? " (" : "", reason, reason[0] ? ")" : "",
			for_delete ? "not being deleted (call DeleteStack first)"
				: "so it will not reach CREATE_COMPLETE");
	failure_search s = { .stack_name = st->name, .for_delete = for_delete };
	s3i_cfn_events_opts opts = { .max_pages = FAILURE_PAGES };
	s3i_cfn_events_progress progress;
	memset(&progress, 0, sizeof(progress));
	int rc = events_pages(svc, st->id[0] ? st->id : st->name, &opts, on_failure_event, &s,
		&progress, 1, err);
	char cause[1100];
	if (s.f.found) {
		char why[400];
		reason_text(why, sizeof(why), s.f.reason);
		snprintf(cause, sizeof(cause), "; first failing resource: %s (%s) %s%s%s", s.f.logical_id,
			s.f.resource_type[0] ? s.f.resource_type : "type not said", s.f.status,
			why[0] ? ": " : "", why);
	} else if (rc) {
		snprintf(cause, sizeof(cause), "; its events could not be read (%s)", s3i_strerror(rc));
	} else {
		snprintf(cause, sizeof(cause), "; no resource event says why");
	}
	return s3i_err(err, S3I_EAWS, res, "%s of %s: the stack is %s%s%s%s%s", op, res, st->status,
		reason[0] ? " (" : "", reason, reason[0] ? ")" : "", cause);
}

static int wait_stack(const s3i_svc *svc, const char *stack, int64_t timeout_ms, int for_delete,
	s3i_cfn_stack *out, s3i_errinfo *err)
{
	const char *op = for_delete ? "waiting for DELETE_COMPLETE" : "waiting for CREATE_COMPLETE";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_stack_ref(op, stack, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	stack_res(res, sizeof(res), stack);
	if (timeout_ms <= 0)
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: the timeout must be positive", op, res);
	if (!svc || !svc->client)
		return s3i_err(err, S3I_EINVALID, res, "%s of %s: no client", op, res);
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_client_alloc(svc->client));
	int64_t start = s3i_client_now_ms(svc->client), waited = 0, interval = WAIT_FIRST_MS;
	for (;;) {
		rc = s3i_cfn_describe_stack_op(svc, stack, &st, err);
		if (rc == S3I_ENOTFOUND && for_delete) {
			rc = S3I_OK;
			break;
		}
		if (rc) {
			s3i_err_prefix(err, "%s: ", op);
			break;
		}
		s3i_cfn_wait_state state = for_delete ? s3i_cfn_delete_wait_state(st.status)
			: s3i_cfn_create_wait_state(st.status);
		if (state == S3I_CFN_WAIT_DONE)
			break;
		if (state == S3I_CFN_WAIT_FAILED) {
			rc = report_failure(svc, op, res, &st, for_delete, err);
			break;
		}
		/* elapsed by the client's clock, and by the sum of our sleeps in case it is pinned */
		int64_t elapsed = s3i_client_now_ms(svc->client) - start;
		if (elapsed < waited)
			elapsed = waited;
		if (elapsed >= timeout_ms) {
			rc = s3i_err(err, S3I_ETIMEOUT, res, "%s of %s: the stack is still %s after %lld ms",
				op, res, st.status, (long long)elapsed);
			break;
		}
		int64_t nap = interval < timeout_ms - elapsed ? interval : timeout_ms - elapsed;
		s3i_client_sleep_ms(svc->client, nap);
		waited += nap;
		interval = interval * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : interval * 2;
	}
	if (out) {
		s3i_cfn_stack_free(out);
		*out = st;   /* hands over the outputs */
	} else {
		s3i_cfn_stack_free(&st);
	}
	return rc;
}

int s3i_cfn_wait_create_complete(const s3i_svc *svc, const char *stack, int64_t timeout_ms,
	s3i_cfn_stack *out, s3i_errinfo *err)
{
	return wait_stack(svc, stack, timeout_ms, 0, out, err);
}

int s3i_cfn_wait_delete_complete(const s3i_svc *svc, const char *stack, int64_t timeout_ms,
	s3i_errinfo *err)
{
	return wait_stack(svc, stack, timeout_ms, 1, NULL, err);
}
