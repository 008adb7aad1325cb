/*
 * Amazon SES v1 operations (query protocol, API version 2010-12-01, XML answers): verify a
 * sender, list identities, read their verification status, send a raw MIME message (built by
 * services/mime.h), and split recipient lists into messages of at most 50.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h):
 *  - MessageRejected (an unverified sender, too many recipients, rejected content) and
 *    MailFromDomainNotVerifiedException -> S3I_EINVALID, the message naming the sender address
 *    ("SendRawEmail from sender 'a@b' was rejected: MessageRejected: Email address is not
 *    verified. ..."), resource "sender 'a@b'";
 *  - ConfigurationSetDoesNotExist (the model's ConfigurationSetDoesNotExistException) ->
 *    S3I_ENOTFOUND naming the configuration set;
 *  - Throttling ("Maximum sending rate exceeded") is retried by the client; when the retries
 *    run out: S3I_ETHROTTLED;
 *  - InvalidParameterValue / ValidationError -> S3I_EINVALID / S3I_EAWS as the client maps them.
 * Responses that do not have the documented shape fail with S3I_EPARSE.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_SES_H
#define S3I_SERVICES_SES_H

#include <stddef.h>
#include <stdint.h>
#include "services/mime.h"
#include "services/svc.h"

extern const s3i_service s3i_svc_ses;

#define S3I_SES_MAX_RECIPIENTS 50            /* per message (To + Cc + Bcc) */
#define S3I_SES_MAX_VERIFY_BATCH 100         /* identities per GetIdentityVerificationAttributes */
#define S3I_SES_MAX_RAW_BYTES (10 * 1024 * 1024)   /* a raw message, before base64 */
#define S3I_SES_TOKEN_SIZE 2049
#define S3I_SES_MESSAGE_ID_SIZE 256

/* VerifyEmailIdentity: SES mails a verification link to `address` (moto verifies at once). */
int s3i_ses_verify_email_identity_op(const s3i_svc *svc, const char *address, s3i_errinfo *err);

/* ---- listing identities ---- */

typedef enum s3i_ses_identity_type {
	S3I_SES_IDENTITY_ALL = 0,
	S3I_SES_IDENTITY_EMAIL = 1,              /* IdentityType=EmailAddress */
	S3I_SES_IDENTITY_DOMAIN = 2              /* IdentityType=Domain */
} s3i_ses_identity_type;

/* Return 0 to go on, anything else to stop (the operation then fails with S3I_EUSER).
 * `identity` is borrowed for the call. */
typedef int (*s3i_ses_identity_fn)(void *payload, const char *identity);

typedef struct s3i_ses_list_opts {
	s3i_ses_identity_type type;
	int32_t max_items;                       /* MaxItems per page, 1-1000; 0: SES's default */
	const char *next_token;                  /* resume from; NULL: the first page */
	int64_t max_pages;                       /* stop after this many; 0: all */
} s3i_ses_list_opts;

typedef struct s3i_ses_list_progress {
	int64_t identities;                      /* handed to the callback */
	int64_t pages;
	char next_token[S3I_SES_TOKEN_SIZE];     /* "" after the last page: where to resume */
} s3i_ses_list_progress;

/* ListIdentities, following NextToken page after page. opts and progress may be NULL;
 * progress is zeroed first and kept up also on failure. */
int s3i_ses_list_identities_op(const s3i_svc *svc, const s3i_ses_list_opts *opts,
	s3i_ses_identity_fn fn, void *payload, s3i_ses_list_progress *progress, s3i_errinfo *err);

/* Parse one ListIdentities response: every identity to fn (only once the whole page parsed),
 * the NextToken into next_token (cap bytes; "" when none). *count (may be NULL) receives how
 * many identities fn saw. S3I_EPARSE naming `what`, S3I_EUSER, S3I_ENOMEM. */
int s3i_ses_list_identities_parse(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_ses_identity_fn fn, void *payload, char *next_token, size_t cap,
	int64_t *count, s3i_errinfo *err);

/* ---- verification status ---- */

typedef enum s3i_ses_verification {
	S3I_SES_VERIFY_ABSENT = 0,               /* SES does not know the identity (not asked for) */
	S3I_SES_VERIFY_PENDING = 1,
	S3I_SES_VERIFY_SUCCESS = 2,
	S3I_SES_VERIFY_FAILED = 3,
	S3I_SES_VERIFY_TEMPORARY_FAILURE = 4,
	S3I_SES_VERIFY_NOT_STARTED = 5,
	S3I_SES_VERIFY_UNKNOWN = 6               /* a status this library does not know */
} s3i_ses_verification;

/* "Absent", "Pending", "Success", "Failed", "TemporaryFailure", "NotStarted", "Unknown". */
const char *s3i_ses_verification_name(s3i_ses_verification v);

/* GetIdentityVerificationAttributes for n identities (in requests of at most 100): out[i] is
 * the status of identities[i] (ABSENT when SES left it out, as it does for identities it does
 * not know). Identities are matched exactly, then ignoring case. */
int s3i_ses_get_verification_op(const s3i_svc *svc, const char *const *identities, size_t n,
	s3i_ses_verification *out, s3i_errinfo *err);

typedef int (*s3i_ses_verification_fn)(void *payload, const char *identity, const char *status);

/* Parse one GetIdentityVerificationAttributes response: each entry's identity and
 * VerificationStatus text to fn, once the whole document parsed. */
int s3i_ses_verification_parse(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_ses_verification_fn fn, void *payload, s3i_errinfo *err);

/* ---- sending ---- */

typedef struct s3i_ses_raw_email {
	const char *source;                      /* Source; NULL: SES takes the From header */
	const char *const *destinations;         /* Destinations; NULL: SES takes To/Cc/Bcc from the
	                                            headers (moto adds those to Destinations too,
	                                            so give one or the other) */
	size_t ndestinations;                    /* at most 50 */
	const char *data;                        /* the MIME message (sent base64-encoded) */
	size_t len;                              /* at most S3I_SES_MAX_RAW_BYTES */
	const char *configuration_set;           /* ConfigurationSetName; NULL: none */
} s3i_ses_raw_email;

/* SendRawEmail. message_id receives the SES message id. */
int s3i_ses_send_raw_email_op(const s3i_svc *svc, const s3i_ses_raw_email *m,
	char message_id[S3I_SES_MESSAGE_ID_SIZE], s3i_errinfo *err);

/* Build `msg` (services/mime.h; Date from the client's clock when msg->date_ms is 0) and send
 * it with SendRawEmail from msg->from.address to its To and Cc addresses (at most 50 in all:
 * split larger lists with s3i_ses_recipient_batches). */
int s3i_ses_send_message_op(const s3i_svc *svc, const s3i_mime_message *msg,
	char message_id[S3I_SES_MESSAGE_ID_SIZE], s3i_errinfo *err);

/* Parse a SendRawEmail response: the MessageId into message_id (cap bytes). */
int s3i_ses_send_raw_parse(const char *body, size_t len, char *message_id, size_t cap,
	s3i_errinfo *err);

/* The address of the From header of a raw message (unfolded; the addr-spec inside <> when
 * there is one), for messages naming the sender. "" when there is no From header. */
void s3i_ses_raw_sender(const char *data, size_t len, char *out, size_t cap);

/* ---- recipients ---- */

/* Called once per batch, in order; `recipients` is borrowed for the call. Return 0 to go on,
 * anything else to stop (S3I_EUSER). */
typedef int (*s3i_ses_batch_fn)(void *payload, const char *const *recipients, size_t n,
	size_t batch);

/* Split n addresses into the fewest batches of at most max_per_batch (0: 50), sizes as even
 * as possible (120 -> 40, 40, 40) and order kept. Duplicates (compared ignoring case) are sent
 * once. S3I_EINVALID naming the address for an empty one, one with white space, a control
 * character or no '@'; nothing is delivered then. `a` NULL: the default allocator. */
int s3i_ses_recipient_batches(const s3i_allocator *a, const char *const *recipients, size_t n,
	size_t max_per_batch, s3i_ses_batch_fn fn, void *payload, s3i_errinfo *err);

#endif
