/*
 * The handler table of the bootstrap. One line per handler: the stage handlers of the Harvester
 * and Cleanup state machines join `ping` here as the stages land.
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>

/* Handlers stop this long before the deadline, so the response (or the error) and any state
 * writes still get out. */
#define S3I_LAMBDA_SAFETY_MS 500

int s3i_lambda_handler_ping(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out);

/*
 * ping: answers the library version and the time left. Event: {} or {"wait_ms": N} to keep
 * "working" N ms, which stops early (S3i.DeadlineExceeded) when the deadline gets close; an
 * event that is not a JSON object fails with S3i.InvalidEvent.
 */
int s3i_lambda_handler_ping(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out)
{
	char err[256] = "";
	yajl_val root = yajl_tree_parse(inv->event_len ? inv->event : "{}", err, sizeof err);
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "ping: the event is not a JSON object%s%s",
			err[0] ? ": " : "", err);
	}
	static const char *wait_path[] = { "wait_ms", NULL };
	yajl_val w = yajl_tree_get(root, wait_path, yajl_t_any);
	if (w && !YAJL_IS_INTEGER(w)) {
		yajl_tree_free(root);
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "ping: field wait_ms is not an integer");
	}
	long long wait_ms = w ? YAJL_GET_INTEGER(w) : 0;
	yajl_tree_free(root);

	for (long long waited = 0; waited < wait_ms; waited += 10) {
		if (s3i_lambda_remaining_ms(inv) < S3I_LAMBDA_SAFETY_MS)
			return s3i_lambda_fail(out, "S3i.DeadlineExceeded",
				"ping: stopped after %lld of %lld ms, %lld ms before the deadline of request %s",
				waited, wait_ms, (long long)s3i_lambda_remaining_ms(inv), inv->request_id);
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}

	char buf[512];
	int n = snprintf(buf, sizeof buf,
		"{\"handler\":\"ping\",\"version\":\"%s\",\"region\":\"%s\",\"remaining_ms\":%lld",
		s3i_version_string(), s3i_ctx_region(ctx), (long long)s3i_lambda_remaining_ms(inv));
	if (getenv("S3I_LAMBDA_DEBUG")) {
		/* For the runtime's tests: the context counter and the trace id the runtime exported
		 * (trace ids are [A-Za-z0-9=;-], nothing to escape; others are left out). */
		const char *trace = getenv("_X_AMZN_TRACE_ID");
		if (!trace || strspn(trace, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=;-")
			!= strlen(trace) || strlen(trace) > 200)
			trace = "";
		n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"contexts_created\":%d,\"trace_env\":\"%s\"",
			s3i_lambda_contexts_created(), trace);
	}
	snprintf(buf + n, sizeof buf - (size_t)n, "}");
	out->response = strdup(buf);
	return out->response ? 0 : s3i_lambda_fail(out, "S3i.OutOfMemory", "ping: out of memory");
}

const s3i_lambda_handler s3i_lambda_handlers[] = {
	{ "ping", s3i_lambda_handler_ping },
	{ NULL, NULL }
};
