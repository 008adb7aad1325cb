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
 * application/x-www-form-urlencoded with RFC 3986 percent-encoding. */
typedef struct s3i_params {
	char **keys;
	char **values;
	size_t count;
	size_t cap;
	const s3i_allocator *alloc;
} s3i_params;

void s3i_params_init(s3i_params *p, const s3i_allocator *a);
void s3i_params_free(s3i_params *p);
int s3i_params_add(s3i_params *p, const char *key, const char *value);
int s3i_params_addf(s3i_params *p, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* key=value&... with keys and values percent-encoded (RFC 3986); order kept. */
int s3i_params_encode(const s3i_params *p, s3i_buf *out);

/* A parsed AWS error. Strings are empty when absent. */
typedef struct s3i_aws_error_body {
	char code[128];        /* "NoSuchBucket", "ThrottlingException" (namespace prefix removed) */
	char message[768];
	char request_id[128];  /* from the body, or x-amzn-RequestId / x-amz-request-id headers */
	char resource[256];    /* S3 <BucketName>/<Key>/<Resource> when present */
	char server_date[64];  /* Date header, for clock-skew correction */
} s3i_aws_error_body;

/* Parse an error response of any shape: S3 <Error>, query <ErrorResponse><Error>, JSON
 * {"__type": "...#Code", "message"|"Message"} (code also from x-amzn-ErrorType), HTML or an
 * empty body (code then derived from the HTTP status, e.g. "NotFound" for a HEAD 404).
 * Never fails: unparsable bodies give a code from the status and the first bytes as message. */
void s3i_aws_error_parse(s3i_aws_error_body *out, int http_status, const s3i_headers *headers,
	const char *body, size_t len);

/* Map an AWS error to an s3i_status: throttling codes -> S3I_ETHROTTLED; 5xx -> S3I_ESERVICE;
 * auth codes / 401 / 403 -> S3I_EAUTH; NoSuch* / NotFound / ResourceNotFound / 404 ->
 * S3I_ENOTFOUND; ConditionalCheckFailed / PreconditionFailed / TransactionCanceled ->
 * S3I_ECONFLICT; *AlreadyExists* / BucketAlreadyOwnedByYou -> S3I_EEXISTS; 400 validation ->
 * S3I_EINVALID; anything else S3I_EAWS. */
int s3i_aws_error_status(int http_status, const char *code);

/* The SDKs' "standard" retry classification: throttling codes, transient codes
 * (RequestTimeout, InternalError, ...), and 500/502/503/504. */
int s3i_aws_error_is_throttle(const char *code);
int s3i_aws_error_is_retryable(int http_status, const char *code);
/* RequestTimeTooSkewed, RequestExpired, InvalidSignatureException with skew, SignatureDoesNotMatch
 * with a Date far off, etc. */
int s3i_aws_error_is_clock_skew(const char *code);

#endif
