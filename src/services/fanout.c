/*
 * Fan-out over s3i_client_batch (see fanout.h).
 *
 * Slots. The fan-out owns 2 * max_in_flight operation slots. A free slot is filled from the
 * source and added to the client batch, whose own limit keeps max_in_flight requests on the
 * wire; the extra slots are operations waiting to start, so a slot whose call is backing off
 * before a retry never leaves a connection idle. When an operation is done its slot is
 * parsed, reported and refilled at once, from inside the batch's callback.
 *
 * One client batch runs the whole fan-out: it reuses the record of each finished call for
 * the next one (aws/client.c), so its memory is bounded by the slots, not by the number of
 * operations, and the connections never sit idle between rounds.
 */
#include "services/fanout.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "s3insights/errors.h"

#define SLOTS_PER_IN_FLIGHT 2
#define TEXT_CHUNK 1024

/* ------------------------------------------------------------------ operations */

struct s3i_fanout_text_chunk {
	s3i_fanout_text_chunk *next;
	size_t cap, used;
	char data[];
};

void s3i_fanout_op_init(s3i_fanout_op *op, const s3i_allocator *a)
{
	memset(op, 0, sizeof(*op));
	op->alloc = a ? a : s3i_allocator_default();
	s3i_params_init(&op->params, op->alloc);
	s3i_headers_init(&op->headers, op->alloc);
	s3i_errinfo_init(&op->err);
}

/* Keep one chunk (the first, so the largest ever needed is not kept for good) and rewind it. */
static void text_reset(s3i_fanout_op *op)
{
	s3i_fanout_text_chunk *c = op->text;
	if (!c)
		return;
	while (c->next) {
		s3i_fanout_text_chunk *n = c->next;
		c->next = n->next;
		s3i_free(op->alloc, n);
	}
	c->used = 0;
}

void s3i_fanout_op_reset(s3i_fanout_op *op)
{
	memset(&op->call, 0, sizeof(op->call));
	op->parse = NULL;
	op->result = NULL;
	op->user = NULL;
	op->index = 0;
	if (op->params.count)
		s3i_params_free(&op->params);
	s3i_headers_clear(&op->headers);
	text_reset(op);
}

void s3i_fanout_op_free(s3i_fanout_op *op)
{
	if (!op)
		return;
	s3i_params_free(&op->params);
	s3i_headers_free(&op->headers);
	while (op->text) {
		s3i_fanout_text_chunk *n = op->text->next;
		s3i_free(op->alloc, op->text);
		op->text = n;
	}
}

/* Room for n bytes that never moves: in the newest chunk, or in a new one put in front. */
static char *text_alloc(s3i_fanout_op *op, size_t n)
{
	s3i_fanout_text_chunk *c = op->text;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > TEXT_CHUNK ? n : TEXT_CHUNK;
		s3i_fanout_text_chunk *fresh = s3i_malloc(op->alloc, sizeof(*fresh) + cap);
		if (!fresh)
			return NULL;
		fresh->cap = cap;
		fresh->used = 0;
		/* the first chunk stays first (text_reset keeps it); later ones go behind it */
		if (c) {
			fresh->next = c->next;
			c->next = fresh;
		} else {
			fresh->next = NULL;
			op->text = fresh;
		}
		c = fresh;
	}
	char *p = c->data + c->used;
	c->used += n;
	return p;
}

const char *s3i_fanout_op_strdup(s3i_fanout_op *op, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = text_alloc(op, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

const char *s3i_fanout_op_concat(s3i_fanout_op *op, const char *const *parts, size_t n)
{
	size_t len[16], total = 1;
	if (n > sizeof(len) / sizeof(len[0]))
		return NULL;
	for (size_t i = 0; i < n; i++)
		total += (len[i] = parts[i] ? strlen(parts[i]) : 0);
	char *p = text_alloc(op, total);
	if (!p)
		return NULL;
	char *w = p;
	for (size_t i = 0; i < n; i++) {
		memcpy(w, parts[i] ? parts[i] : "", len[i]);
		w += len[i];
	}
	*w = '\0';
	return p;
}

const char *s3i_fanout_op_printf(s3i_fanout_op *op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = text_alloc(op, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

static void apply_defaults(const s3i_svc *svc, s3i_call *call)
{
	if (!call->creds)
		call->creds = svc->creds;
	if (!call->region)
		call->region = svc->region;
}

int s3i_fanout_op_run(const s3i_svc *svc, s3i_fanout_op *op, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (!op->call.svc || !op->call.operation)
		return s3i_err(err, S3I_EINVALID, op->call.resource, "fan-out operation %s has no "
			"service or operation name", op->call.operation ? op->call.operation : "(unnamed)");
	apply_defaults(svc, &op->call);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_client_alloc(svc->client));
	int rc = s3i_client_call(svc->client, &op->call, &resp, err);
	if (op->parse)
		rc = op->parse(op, rc, &resp, err);
	s3i_http_response_free(&resp);
	return rc;
}

/* ------------------------------------------------------------------ the engine */

typedef struct fanout fanout;

typedef struct slot {
	s3i_fanout_op op;
	fanout *fo;
	struct slot *next_free;
} slot;

struct fanout {
	const s3i_svc *svc;
	const s3i_allocator *alloc;
	int max_in_flight;
	slot *slots;
	size_t nslots;
	slot *free_slots;
	size_t busy;
	s3i_client_batch *batch;
	s3i_fanout_next_fn next;
	s3i_fanout_done_fn done;
	void *payload;
	s3i_fanout_stats st;
	int exhausted;             /* next() said there is no more */
	int stop;                  /* why nothing more starts: next()'s status or S3I_EUSER */
	s3i_errinfo stop_err;
	int filling;               /* fill() is on the stack (a batch_add failed synchronously) */
	s3i_http_response none;    /* handed to parse when no answer exists at all */
};

static void fill(fanout *fo);

/* Parse, report and free one finished operation. */
static void finish_op(fanout *fo, slot *s, int status, const s3i_http_response *resp)
{
	s3i_fanout_op *op = &s->op;
	if (op->parse)
		status = op->parse(op, status, resp ? resp : &fo->none, &op->err);
	if (status < 0) {
		fo->st.failed++;
	} else {
		fo->st.succeeded++;
		if (op->err.pub.code)
			s3i_errinfo_clear(&op->err);
	}
	if (fo->done && fo->done(fo->payload, op, status, &op->err) && !fo->stop) {
		fo->stop = S3I_EUSER;
		s3i_err(&fo->stop_err, S3I_EUSER, NULL, "fan-out stopped by its done callback after "
			"%lld operations", (long long)(fo->st.succeeded + fo->st.failed));
	}
	s->next_free = fo->free_slots;
	fo->free_slots = s;
	fo->busy--;
}

static void on_call_done(void *user, int status, s3i_http_response *resp, const s3i_errinfo *err)
{
	slot *s = user;
	fanout *fo = s->fo;
	if (status < 0 && err && err->pub.code == status) {
		s3i_errinfo_copy(&s->op.err, err);
	} else if (status < 0) {
		/* the client names every failure it reports; should a detail still be missing (a
		 * credential provider that failed without one), the operation gets one naming it */
		const s3i_call *call = &s->op.call;
		s3i_err(&s->op.err, status, call->resource, "%s%s%s failed: %s", call->operation,
			call->resource ? " on " : "", call->resource ? call->resource : "",
			resp && resp->error_text[0] ? resp->error_text : s3i_strerror(status));
	}
	finish_op(fo, s, status, resp);
	fill(fo);
}

/* Start operations while there are free slots and the source has more. */
static void fill(fanout *fo)
{
	if (fo->filling)
		return; /* the outer fill picks up the slot that was just freed */
	fo->filling = 1;
	while (fo->free_slots && !fo->exhausted && !fo->stop) {
		slot *s = fo->free_slots;
		fo->free_slots = s->next_free;
		s3i_fanout_op_reset(&s->op);
		if (s->op.err.pub.code)
			s3i_errinfo_clear(&s->op.err);
		int more = fo->next(fo->payload, &s->op, &fo->stop_err);
		if (more <= 0) {
			s->next_free = fo->free_slots;
			fo->free_slots = s;
			if (more < 0) {
				fo->stop = more;
				if (fo->stop_err.pub.code != more)
					s3i_err(&fo->stop_err, more, NULL, "the fan-out's operation source "
						"stopped it: %s", s3i_strerror(more));
			} else {
				fo->exhausted = 1;
			}
			break;
		}
		s->op.index = (size_t)fo->st.started++;
		fo->busy++;
		s3i_call *call = &s->op.call;
		if (s->op.err.pub.code < 0) { /* the source failed it before it started */
			finish_op(fo, s, s->op.err.pub.code, NULL);
			continue;
		}
		if (!call->svc || !call->operation) {
			int rc = s3i_err(&s->op.err, S3I_EINVALID, call->resource, "fan-out operation %s "
				"has no service or operation name", call->operation ? call->operation
				: "(unnamed)");
			finish_op(fo, s, rc, NULL);
			continue;
		}
		apply_defaults(fo->svc, call);
		int rc = s3i_client_batch_add(fo->batch, call, on_call_done, s, &s->op.err);
		if (rc) /* never queued: its callback will not run */
			finish_op(fo, s, rc, NULL);
	}
	fo->filling = 0;
}

static void fanout_free(fanout *fo)
{
	for (size_t i = 0; i < fo->nslots; i++)
		s3i_fanout_op_free(&fo->slots[i].op);
	s3i_free(fo->alloc, fo->slots);
	s3i_http_response_free(&fo->none);
}

int s3i_fanout_run(const s3i_svc *svc, int max_in_flight, s3i_fanout_next_fn next,
	s3i_fanout_done_fn done, void *payload, s3i_fanout_stats *stats, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!svc || !svc->client || !next)
		return s3i_err(err, S3I_EINVALID, NULL, "fan-out: no client or no operation source");
	if (max_in_flight <= 0)
		max_in_flight = S3I_FANOUT_DEFAULT_IN_FLIGHT;
	if (max_in_flight > S3I_FANOUT_MAX_IN_FLIGHT)
		max_in_flight = S3I_FANOUT_MAX_IN_FLIGHT;

	fanout fo;
	memset(&fo, 0, sizeof(fo));
	fo.svc = svc;
	fo.alloc = s3i_client_alloc(svc->client);
	fo.max_in_flight = max_in_flight;
	fo.next = next;
	fo.done = done;
	fo.payload = payload;
	s3i_errinfo_init(&fo.stop_err);
	s3i_http_response_init(&fo.none, fo.alloc);
	fo.nslots = (size_t)max_in_flight * SLOTS_PER_IN_FLIGHT;
	fo.slots = s3i_calloc(fo.alloc, fo.nslots, sizeof(*fo.slots));
	if (!fo.slots) {
		fo.nslots = 0;
		fanout_free(&fo);
		return s3i_err(err, S3I_ENOMEM, NULL, "fan-out: out of memory for %d operations",
			max_in_flight * SLOTS_PER_IN_FLIGHT);
	}
	for (size_t i = fo.nslots; i-- > 0;) {
		s3i_fanout_op_init(&fo.slots[i].op, fo.alloc);
		fo.slots[i].fo = &fo;
		fo.slots[i].next_free = fo.free_slots;
		fo.free_slots = &fo.slots[i];
	}

	int rc = s3i_client_batch_new(&fo.batch, svc->client, max_in_flight, err);
	if (!rc) {
		fill(&fo);
		rc = s3i_client_batch_run(fo.batch, err);
		s3i_client_batch_free(fo.batch);
		fo.batch = NULL;
		if (rc)
			s3i_err_prefix(err, "fan-out after %lld of %lld operations: ",
				(long long)(fo.st.succeeded + fo.st.failed), (long long)fo.st.started);
	}
	if (!rc && fo.stop) {
		rc = fo.stop;
		s3i_err_aws(err, fo.stop_err.pub.code, fo.stop_err.pub.http_status,
			fo.stop_err.aws_code, fo.stop_err.request_id, fo.stop_err.resource,
			fo.stop_err.message);
	}
	if (stats)
		*stats = fo.st;
	fanout_free(&fo);
	return rc;
}

/* ------------------------------------------------------------------ typed helpers */

/* Result storage for the operations in flight: reused once an operation is reported. */
typedef struct pooled {
	struct pooled *next_free;
	struct pooled *next_all;
	union {
		s3i_s3_head_result head;
		char region[S3I_S3_REGION_MAX];
	} u;
} pooled;

typedef struct array_run {
	const s3i_allocator *alloc;
	size_t count, pos;
	pooled *free_list, *all;
	const s3i_s3_object_ref *objects;
	const char *const *buckets;
	s3i_fanout_head_fn head_fn;
	s3i_fanout_location_fn location_fn;
	void *payload;
} array_run;

static pooled *pool_take(array_run *r)
{
	pooled *p = r->free_list;
	if (p) {
		r->free_list = p->next_free;
		return p;
	}
	if (!(p = s3i_calloc(r->alloc, 1, sizeof(*p))))
		return NULL;
	p->next_all = r->all;
	r->all = p;
	return p;
}

static void pool_give(array_run *r, void *result)
{
	if (!result)
		return;
	pooled *p = (pooled *)(void *)((char *)result - offsetof(pooled, u));
	p->next_free = r->free_list;
	r->free_list = p;
}

static void pool_free(array_run *r)
{
	while (r->all) {
		pooled *n = r->all->next_all;
		s3i_free(r->alloc, r->all);
		r->all = n;
	}
}

/* An object whose name is unusable fails alone: the error is on op->err and the fan-out
 * reports it without a call. */
static int head_next(void *payload, s3i_fanout_op *op, s3i_errinfo *err)
{
	array_run *r = payload;
	if (r->pos >= r->count)
		return 0;
	pooled *p = pool_take(r);
	if (!p)
		return s3i_err(err, S3I_ENOMEM, NULL, "HeadObject fan-out: out of memory");
	const s3i_s3_object_ref *o = &r->objects[r->pos];
	s3i_s3_head_object_prepare(op, o->bucket, o->key, o->version_id, &p->u.head, &op->err);
	op->result = &p->u.head;
	op->user = (void *)(uintptr_t)r->pos++;
	return 1;
}

static int head_done(void *payload, s3i_fanout_op *op, int status, const s3i_errinfo *err)
{
	array_run *r = payload;
	int stop = r->head_fn ? r->head_fn(r->payload, (size_t)(uintptr_t)op->user, status,
		(const s3i_s3_head_result *)op->result, err) : 0;
	pool_give(r, op->result);
	return stop;
}

int s3i_fanout_head_objects(const s3i_svc *svc, int max_in_flight,
	const s3i_s3_object_ref *objects, size_t count, s3i_fanout_head_fn fn, void *payload,
	s3i_fanout_stats *stats, s3i_errinfo *err)
{
	if (!svc || !svc->client || (count && !objects))
		return s3i_err(err, S3I_EINVALID, NULL, "HeadObject fan-out: no client or no objects");
	array_run r;
	memset(&r, 0, sizeof(r));
	r.alloc = s3i_client_alloc(svc->client);
	r.count = count;
	r.objects = objects;
	r.head_fn = fn;
	r.payload = payload;
	int rc = s3i_fanout_run(svc, max_in_flight, head_next, head_done, &r, stats, err);
	pool_free(&r);
	return rc;
}

static int location_next(void *payload, s3i_fanout_op *op, s3i_errinfo *err)
{
	array_run *r = payload;
	if (r->pos >= r->count)
		return 0;
	pooled *p = pool_take(r);
	if (!p)
		return s3i_err(err, S3I_ENOMEM, NULL, "GetBucketLocation fan-out: out of memory");
	s3i_s3_bucket_location_prepare(op, r->buckets[r->pos], p->u.region, &op->err);
	op->result = p->u.region;
	op->user = (void *)(uintptr_t)r->pos++;
	return 1;
}

static int location_done(void *payload, s3i_fanout_op *op, int status, const s3i_errinfo *err)
{
	array_run *r = payload;
	const char *region = op->result ? (const char *)op->result : "";
	int stop = r->location_fn ? r->location_fn(r->payload, (size_t)(uintptr_t)op->user, status,
		status < 0 ? "" : region, err) : 0;
	pool_give(r, op->result);
	return stop;
}

int s3i_fanout_bucket_locations(const s3i_svc *svc, int max_in_flight,
	const char *const *buckets, size_t count, s3i_fanout_location_fn fn, void *payload,
	s3i_fanout_stats *stats, s3i_errinfo *err)
{
	if (!svc || !svc->client || (count && !buckets))
		return s3i_err(err, S3I_EINVALID, NULL, "GetBucketLocation fan-out: no client or no "
			"buckets");
	array_run r;
	memset(&r, 0, sizeof(r));
	r.alloc = s3i_client_alloc(svc->client);
	r.count = count;
	r.buckets = buckets;
	r.location_fn = fn;
	r.payload = payload;
	int rc = s3i_fanout_run(svc, max_in_flight, location_next, location_done, &r, stats, err);
	pool_free(&r);
	return rc;
}
