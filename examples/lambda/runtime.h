/*
 * A Lambda custom runtime over the Lambda Runtime API (2018-06-01), for provided.al2023.
 * The loop: GET invocation/next, run the handler chosen by _HANDLER, POST the response or the
 * error. The library context is created once, before the first invocation, and handed to every
 * invocation (Lambda reuses the process while the execution environment is warm).
 */
#ifndef S3I_LAMBDA_RUNTIME_H
#define S3I_LAMBDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include <s3insights/s3insights.h>

/* One invocation as the Runtime API described it. */
typedef struct s3i_lambda_invocation {
	const char *request_id;     /* Lambda-Runtime-Aws-Request-Id */
	const char *function_arn;   /* Lambda-Runtime-Invoked-Function-Arn ("" when absent) */
	const char *trace_id;       /* Lambda-Runtime-Trace-Id ("" when absent) */
	int64_t deadline_ms;        /* Lambda-Runtime-Deadline-Ms, Unix epoch milliseconds */
	const char *event;          /* the event JSON, NUL-terminated */
	size_t event_len;
} s3i_lambda_invocation;

/* What a handler fills in. On success `response` is the JSON to return. On failure the handler
 * returns nonzero and sets error_type (e.g. "S3i.DeadlineExceeded") and error_message; the
 * runtime posts them as the documented error body. Strings are malloc'd; the runtime frees them. */
typedef struct s3i_lambda_result {
	char *response;
	char *error_type;
	char *error_message;
} s3i_lambda_result;

typedef int (*s3i_lambda_handler_fn)(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out);

typedef struct s3i_lambda_handler {
	const char *name;           /* the value of _HANDLER that selects it */
	s3i_lambda_handler_fn fn;
} s3i_lambda_handler;

/* Milliseconds left before inv->deadline_ms (negative when past). Handlers poll this and stop
 * with a consistent state when it gets close. */
int64_t s3i_lambda_remaining_ms(const s3i_lambda_invocation *inv);

/* Set an error result (printf-style message). Returns 1 so handlers can `return s3i_lambda_fail(...)`. */
int s3i_lambda_fail(s3i_lambda_result *out, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* How many library contexts this process created (the debug counter the tests read). */
int s3i_lambda_contexts_created(void);

/* Free what the handlers keep warm across invocations (handlers.c); the runtime calls it once,
 * before it releases the context and returns. */
void s3i_lambda_handlers_shutdown(void);

/* Run the loop with `handlers` (terminated by a {NULL, NULL} entry). Returns only on a fatal
 * error (Runtime API unreachable, init error posted): the process exit status. */
int s3i_lambda_run(const s3i_lambda_handler *handlers);

#endif
