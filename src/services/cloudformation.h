/*
 * AWS CloudFormation (query protocol, API version 2010-05-15, XML answers): create a stack from
 * a template body, describe it (status, reason, outputs), read its events page by page, delete
 * it, and wait for CREATE_COMPLETE or DELETE_COMPLETE, stopping at terminal failures with the
 * first failing resource and its reason.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h); err->pub.resource is
 * "stack '<name>'":
 *  - AlreadyExistsException from CreateStack -> S3I_EEXISTS ("stack 'x' already exists");
 *  - ValidationError "Stack with id x does not exist" -> S3I_ENOTFOUND naming the stack;
 *  - other ValidationErrors from CreateStack (template format, unknown parameter) and
 *    InsufficientCapabilitiesException -> S3I_EINVALID naming the stack;
 *  - Throttling is retried by the client; when retries run out: S3I_ETHROTTLED;
 *  - a waiter that sees a terminal failure -> S3I_EAWS naming the stack, its status and reason
 *    and the first failing resource with its reason; a waiter past its deadline ->
 *    S3I_ETIMEOUT naming the stack and its last status.
 * Responses that do not have the documented shape fail with S3I_EPARSE.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_CLOUDFORMATION_H
#define S3I_SERVICES_CLOUDFORMATION_H

#include <stddef.h>
#include <stdint.h>
#include "services/svc.h"

extern const s3i_service s3i_svc_cloudformation;

#define S3I_CFN_STACK_NAME_MAX 128          /* [A-Za-z][-A-Za-z0-9]* */
#define S3I_CFN_STACK_ID_SIZE 512           /* a stack id is an ARN */
#define S3I_CFN_STATUS_SIZE 64
#define S3I_CFN_REASON_SIZE 1024            /* longer reasons are cut at a UTF-8 boundary */
#define S3I_CFN_TOKEN_SIZE 1025             /* NextToken: 1 to 1024 characters */
#define S3I_CFN_MAX_TEMPLATE_BODY 51200     /* TemplateBody's limit in bytes */

/* ---- creating ---- */

typedef struct s3i_cfn_kv {
	const char *key;
	const char *value;
} s3i_cfn_kv;

/* Capabilities (bits). */
#define S3I_CFN_CAPABILITY_IAM 1u
#define S3I_CFN_CAPABILITY_NAMED_IAM 2u
#define S3I_CFN_CAPABILITY_AUTO_EXPAND 4u

typedef enum s3i_cfn_on_failure {
	S3I_CFN_ON_FAILURE_DEFAULT = 0,     /* not sent: CloudFormation rolls back */
	S3I_CFN_ON_FAILURE_ROLLBACK = 1,
	S3I_CFN_ON_FAILURE_DELETE = 2,
	S3I_CFN_ON_FAILURE_DO_NOTHING = 3
} s3i_cfn_on_failure;

typedef struct s3i_cfn_create_stack {
	const char *stack_name;             /* required */
	const char *template_body;          /* required, at most S3I_CFN_MAX_TEMPLATE_BODY bytes */
	const s3i_cfn_kv *parameters;       /* Parameters (ParameterKey, ParameterValue) */
	size_t nparameters;
	const s3i_cfn_kv *tags;             /* Tags (Key 1-128, Value 1-256 characters), at most 50 */
	size_t ntags;
	uint32_t capabilities;              /* S3I_CFN_CAPABILITY_* */
	int32_t timeout_minutes;            /* TimeoutInMinutes; 0: none */
	s3i_cfn_on_failure on_failure;
	const char *client_request_token;   /* ClientRequestToken; NULL: none */
} s3i_cfn_create_stack;

/* CreateStack. stack_id (may be NULL) receives the StackId. Returns once CloudFormation took
 * the request: wait with s3i_cfn_wait_create_complete. */
int s3i_cfn_create_stack_op(const s3i_svc *svc, const s3i_cfn_create_stack *req,
	char stack_id[S3I_CFN_STACK_ID_SIZE], s3i_errinfo *err);

/* Parse a CreateStack response: its StackId into stack_id (cap bytes). */
int s3i_cfn_create_stack_parse(const char *body, size_t len, char *stack_id, size_t cap,
	s3i_errinfo *err);

/* ---- describing ---- */

typedef struct s3i_cfn_output {
	const char *key;                    /* OutputKey */
	const char *value;                  /* OutputValue ("" when absent) */
	const char *description;            /* "" when absent */
	const char *export_name;            /* "" when absent */
} s3i_cfn_output;

/* A stack's description. Initialise with s3i_cfn_stack_init, release with s3i_cfn_stack_free
 * (which leaves it initialised for reuse). Output strings live as long as the description. */
typedef struct s3i_cfn_stack {
	char name[S3I_CFN_STACK_NAME_MAX * 2];
	char id[S3I_CFN_STACK_ID_SIZE];
	char status[S3I_CFN_STATUS_SIZE];   /* CREATE_COMPLETE, ROLLBACK_IN_PROGRESS, ... */
	char status_reason[S3I_CFN_REASON_SIZE];
	int64_t created_ms;                 /* CreationTime */
	int64_t updated_ms;                 /* LastUpdatedTime; 0 when not said */
	int64_t deleted_ms;                 /* DeletionTime; 0 when not said */
	s3i_cfn_output *outputs;
	size_t noutputs;
	/* private */
	const s3i_allocator *alloc;
	char *strings;
} s3i_cfn_stack;

void s3i_cfn_stack_init(s3i_cfn_stack *st, const s3i_allocator *a);  /* a NULL: the default */
void s3i_cfn_stack_free(s3i_cfn_stack *st);
/* The value of output `key`, or NULL when the stack has no such output. */
const char *s3i_cfn_stack_output(const s3i_cfn_stack *st, const char *key);

/* DescribeStacks of one stack (name or stack id). S3I_ENOTFOUND when it does not exist (a
 * deleted stack looked up by name; by id, AWS still describes it as DELETE_COMPLETE). */
int s3i_cfn_describe_stack_op(const s3i_svc *svc, const char *stack, s3i_cfn_stack *out,
	s3i_errinfo *err);

/* Parse a DescribeStacks response: the first stack into out (freed first; empty when there is
 * none), *nstacks (may be NULL) the number of stacks listed. */
int s3i_cfn_describe_stacks_parse(const char *body, size_t len, const char *what,
	s3i_cfn_stack *out, size_t *nstacks, s3i_errinfo *err);

/* ---- events ---- */

/* One stack event, borrowed for the duration of the callback. Strings are never NULL. */
typedef struct s3i_cfn_event {
	const char *event_id;
	const char *stack_name;
	const char *logical_id;             /* LogicalResourceId: the stack's name for its own events */
	const char *physical_id;
	const char *resource_type;          /* "AWS::S3::Bucket", "AWS::CloudFormation::Stack" */
	const char *status;                 /* ResourceStatus: CREATE_FAILED, ... */
	const char *status_reason;          /* ResourceStatusReason */
	int64_t timestamp_ms;
} s3i_cfn_event;

/* Return 0 to go on, anything else to stop (the operation then fails with S3I_EUSER). */
typedef int (*s3i_cfn_event_fn)(void *payload, const s3i_cfn_event *ev);

typedef struct s3i_cfn_events_opts {
	const char *next_token;             /* resume from; NULL: the newest events */
	int64_t max_pages;                  /* stop after this many; 0: all */
} s3i_cfn_events_opts;

typedef struct s3i_cfn_events_progress {
	int64_t events;                     /* handed to the callback */
	int64_t pages;
	char next_token[S3I_CFN_TOKEN_SIZE];/* "" after the last page: where to resume */
} s3i_cfn_events_progress;

/* DescribeStackEvents, newest first (as CloudFormation lists them), following NextToken page
 * after page. opts and progress may be NULL; progress is zeroed first and kept up also on
 * failure. S3I_ENOTFOUND when the stack does not exist. */
int s3i_cfn_describe_stack_events_op(const s3i_svc *svc, const char *stack,
	const s3i_cfn_events_opts *opts, s3i_cfn_event_fn fn, void *payload,
	s3i_cfn_events_progress *progress, s3i_errinfo *err);

/* Parse one DescribeStackEvents response: every event to fn (only once the whole page
 * parsed), the NextToken into next_token (cap bytes; "" when none), *count (may be NULL) how
 * many events fn saw. */
int s3i_cfn_stack_events_parse(const char *body, size_t len, const char *what,
	s3i_cfn_event_fn fn, void *payload, char *next_token, size_t cap, int64_t *count,
	s3i_errinfo *err);

/* ---- deleting ---- */

/* DeleteStack (returns while the stack is DELETE_IN_PROGRESS; deleting a stack that does not
 * exist succeeds, as on AWS). Wait with s3i_cfn_wait_delete_complete. */
int s3i_cfn_delete_stack_op(const s3i_svc *svc, const char *stack, s3i_errinfo *err);

/* ---- waiting ---- */

typedef enum s3i_cfn_wait_state {
	S3I_CFN_WAIT_PENDING = 0,           /* go on polling */
	S3I_CFN_WAIT_DONE = 1,              /* what was waited for */
	S3I_CFN_WAIT_FAILED = 2             /* it will not happen */
} s3i_cfn_wait_state;

/* How the create waiter reads a stack status: DONE for CREATE_COMPLETE (and the stable update
 * states UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, IMPORT_COMPLETE: the stack exists and was
 * changed since); FAILED for CREATE_FAILED, every ROLLBACK_* (ROLLBACK_IN_PROGRESS too: the
 * creation has failed for certain, the rollback only cleans up), DELETE_*, UPDATE_FAILED,
 * UPDATE_ROLLBACK_FAILED, IMPORT_ROLLBACK_* and unknown statuses; PENDING for other *_IN_PROGRESS
 * statuses (REVIEW_IN_PROGRESS included). */
s3i_cfn_wait_state s3i_cfn_create_wait_state(const char *status);
/* The delete waiter: DONE for DELETE_COMPLETE; PENDING for any *_IN_PROGRESS; FAILED for
 * DELETE_FAILED and any other stable status (the stack is not being deleted). */
s3i_cfn_wait_state s3i_cfn_delete_wait_state(const char *status);

/* Poll DescribeStacks until the stack is CREATE_COMPLETE. The interval starts at 2 s and
 * doubles up to 15 s; waits go through the client (s3i_client_sleep_ms, the context's clock
 * hook); the deadline follows the client's clock (s3i_client_now_ms) and, should that be
 * pinned, the time slept. On a terminal failure the stack's events since its creation began
 * are read (DescribeStackEvents) for the first resource that failed: S3I_EAWS with "waiting
 * for CREATE_COMPLETE of stack 'x': the stack is ROLLBACK_COMPLETE (<reason>); first failing
 * resource: Bucket (AWS::S3::Bucket) CREATE_FAILED: <reason>". A stack that does not exist:
 * S3I_ENOTFOUND. timeout_ms (> 0) passed: S3I_ETIMEOUT naming the stack and its last status.
 * out (may be NULL) receives the last description read. */
int s3i_cfn_wait_create_complete(const s3i_svc *svc, const char *stack, int64_t timeout_ms,
	s3i_cfn_stack *out, s3i_errinfo *err);

/* Poll until the stack is DELETE_COMPLETE or gone (a stack that does not exist counts as
 * deleted). DELETE_FAILED: S3I_EAWS naming the first resource that failed to delete and why. */
int s3i_cfn_wait_delete_complete(const s3i_svc *svc, const char *stack, int64_t timeout_ms,
	s3i_errinfo *err);

/* ---- the first failing resource ---- */

/* Finds the resource whose failure started a stack's failure, from its events fed newest
 * first (as DescribeStackEvents lists them): the oldest *_FAILED event of a resource other
 * than the stack itself since the stack's own CREATE_IN_PROGRESS (for_delete:
 * DELETE_IN_PROGRESS) event, which ends the search. */
typedef struct s3i_cfn_failure {
	char logical_id[256];
	char resource_type[256];
	char status[S3I_CFN_STATUS_SIZE];
	char reason[S3I_CFN_REASON_SIZE];
	int64_t timestamp_ms;
	int found;                          /* a failing resource was seen */
	int complete;                       /* the start of the operation was seen */
} s3i_cfn_failure;

/* Feed one event (stack_name: the stack's name, as its own events carry it as logical id).
 * Returns 1 once the start of the operation was seen (later events are older: stop there),
 * else 0. */
int s3i_cfn_failure_feed(s3i_cfn_failure *f, const char *stack_name, int for_delete,
	const s3i_cfn_event *ev);

#endif
