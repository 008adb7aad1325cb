/*
 * AWS wire protocols: query (form-encoded POST, XML answers), JSON 1.0/1.1, REST-XML, and
 * the error bodies every protocol can return. moto answers JSON services' auth errors in XML,
 * and AWS front ends can answer any service with HTML or an empty body, so error parsing
 * accepts every shape on every protocol.
 */
#ifndef S3I_AWS_PROTOCOL_H
#define S3I_AWS_PROTOCOL_H

#include <stddef.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "aws/headers.h"

typedef enum s3i_protocol {
	S3I_PROTO_REST_XML = 1,
	S3I_PROTO_QUERY = 2,
	S3I_PROTO_JSON_10 = 3,
	S3I_PROTO_JSON_11 = 4
} s3i_protocol;

/* Query-protocol parameters: ordered key/value pairs, encoded as
 * application/x-www-form-urlencoded: RFC 3986 percent-encoding, a space as '+'. */
typedef struct s3i_params {
	char **keys;
	char **values;
	size_t count;
	size_t cap;
	const s3i_allocator *alloc;
} s3i_params;

void s3i_params_init(s3i_params *p, const s3i_allocator *a);   /* a NULL: the default allocator */
void s3i_params_free(s3i_params *p);                            /* leaves p empty and reusable */
/* Append a copy of key and value. `value` may be NULL: a bare sub-resource in a REST query
 * string ("?inventory"), "key=" in a form body. S3I_EINVALID for a NULL key, S3I_ENOMEM; on
 * failure nothing is added. */
int s3i_params_add(s3i_params *p, const char *key, const char *value);
int s3i_params_addf(s3i_params *p, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* Append key=value&... with keys and values percent-encoded (RFC 3986: only A-Z a-z 0-9 - _ . ~
 * stay as they are, so a space is %20 and '+' is %2B); order kept. No parameters append "".
 * On failure `out` is left as it was. */
int s3i_params_encode(const s3i_params *p, s3i_buf *out);

/* A parsed AWS error. Strings are empty when absent, never longer than their field, and each
 * is one trimmed line (control characters and runs of whitespace become one space; a cut never
 * splits a UTF-8 sequence). */
typedef struct s3i_aws_error_body {
	char code[128];        /* "NoSuchBucket", "ThrottlingException" (namespace prefix removed) */
	char message[768];
	char request_id[128];  /* from the body, or x-amzn-RequestId / x-amz-request-id headers */
	char resource[256];    /* S3 <Resource>, else <BucketName>[/<Key>], when present */
	char server_date[64];  /* Date header, for clock-skew correction */
} s3i_aws_error_body;

/* Parse an error response of any shape: S3 <Error>, query <ErrorResponse><Error> (also
 * <ErrorResponse><Errors><Error> as moto sends, and EC2's <Response><Errors><Error>), JSON
 * {"__type": "...#Code", "message"|"Message"} (or "code"/"Code", or an "Error" object), the
 * x-amzn-ErrorType header (which wins over the body, as the Smithy JSON protocols say), HTML
 * (its <title> becomes the message) or an empty body (the code then comes from the HTTP
 * status: 404 "NotFound", 403 "Forbidden", 400 "BadRequest", 301 "PermanentRedirect", 500
 * "InternalError", 503 "ServiceUnavailable", ..., else "HTTP<status>"). In a code, everything
 * up to the last '#' and from the first ':' is removed. Only the first <Error> of a document
 * counts. DTDs with entity declarations are refused as everywhere (src/core/xml.h).
 * Never fails: code is never empty; unparsable bodies give a code from the status and their
 * first bytes as message. `headers` and `body` may be NULL. The thread's s3i_error_last() is
 * left as it was. */
void s3i_aws_error_parse(s3i_aws_error_body *out, int http_status, const s3i_headers *headers,
	const char *body, size_t len);

/* Map an AWS error to an s3i_status, first match wins (codes compare case-insensitively):
 *  - throttling codes (s3i_aws_error_is_throttle) or 429 -> S3I_ETHROTTLED;
 *  - RequestTimeout, RequestTimeoutException -> S3I_ETIMEOUT;
 *  - InternalError, InternalServerError, InternalFailure, ServiceUnavailable, any 5xx ->
 *    S3I_ESERVICE;
 *  - AccessDenied(Exception), InvalidAccessKeyId, InvalidClientTokenId,
 *    UnrecognizedClientException, ExpiredToken(Exception), MissingAuthenticationToken, the
 *    clock-skew codes and similar -> S3I_EAUTH;
 *  - NoSuch*, NotFound, *NotFound, *NotFoundException, ResourceNotFoundException,
 *    QueueDoesNotExist, AWS.SimpleQueueService.NonExistentQueue -> S3I_ENOTFOUND;
 *  - ConditionalCheckFailedException, TransactionCanceledException,
 *    TransactionConflictException, PreconditionFailed, BucketNotEmpty, OperationAborted ->
 *    S3I_ECONFLICT;
 *  - BucketAlreadyExists, BucketAlreadyOwnedByYou, ResourceInUseException, *AlreadyExists,
 *    *AlreadyExistsException, QueueNameExists -> S3I_EEXISTS;
 *  - ValidationException, InvalidParameterValue, InvalidArgument, MalformedXML,
 *    InvalidRequest(Exception), InvalidBucketName and other input errors -> S3I_EINVALID
 *    (not the query protocol's ValidationError, which CloudFormation also uses for "does not
 *    exist": S3I_EAWS);
 *  - an unknown code: 401/403 -> S3I_EAUTH, 404 -> S3I_ENOTFOUND, 409/412 -> S3I_ECONFLICT,
 *    anything else S3I_EAWS. */
int s3i_aws_error_status(int http_status, const char *code);

/* The SDKs' "standard" retry classification: throttling codes (Throttling,
 * ThrottlingException, ThrottledException, RequestThrottledException, TooManyRequestsException,
 * ProvisionedThroughputExceededException, TransactionInProgressException, RequestLimitExceeded,
 * BandwidthLimitExceeded, LimitExceededException, RequestThrottled, SlowDown,
 * PriorRequestNotComplete, EC2ThrottledException), transient codes (RequestTimeout,
 * RequestTimeoutException, InternalError, InternalServerError, InternalFailure,
 * ServiceUnavailable), and HTTP 500/502/503/504 (and 429). NULL or "" is no code. */
int s3i_aws_error_is_throttle(const char *code);
int s3i_aws_error_is_retryable(int http_status, const char *code);
/* RequestTimeTooSkewed, RequestExpired, InvalidSignatureException, SignatureDoesNotMatch,
 * AuthFailure, RequestInTheFuture: errors a skewed clock causes. The caller acts on them only
 * when the server's Date is far off. */
int s3i_aws_error_is_clock_skew(const char *code);

#endif
