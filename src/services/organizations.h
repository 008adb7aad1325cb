/*
 * AWS Organizations (JSON 1.1, target prefix AWSOrganizationsV20161128): list the accounts of
 * the caller's organization, to discover member accounts when the user asks for it.
 *
 * Organizations is a global service: one endpoint per partition, signed in the partition's
 * region (us-east-1 in the aws partition; aws/endpoint.h does this), whatever region the call
 * names. The region of svc (or the client's) only picks the partition.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h):
 *  - AWSOrganizationsNotInUseException -> S3I_ENOTFOUND, "the account is not a member of an
 *    organization", resource "organization";
 *  - AccessDeniedException -> S3I_EAUTH, the message saying that ListAccounts needs the
 *    management account or a delegated administrator;
 *  - TooManyRequestsException is retried by the client; when retries run out: S3I_ETHROTTLED;
 *  - InvalidInputException (a bad NextToken, MaxResults out of range) -> S3I_EINVALID.
 * Responses that do not have the documented shape fail with S3I_EPARSE.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_ORGANIZATIONS_H
#define S3I_SERVICES_ORGANIZATIONS_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "services/svc.h"

extern const s3i_service s3i_svc_organizations;

#define S3I_ORG_MAX_RESULTS 20                /* the most ListAccounts returns per page */
#define S3I_ORG_MAX_TOKEN 100000              /* NextToken's documented maximum length */

/* One account, borrowed for the duration of the callback. Strings are never NULL ("" when
 * the answer left them out, except id, which is always 12 digits). */
typedef struct s3i_org_account {
	const char *id;            /* "111111111111" */
	const char *arn;           /* "arn:aws:organizations::<mgmt>:account/o-.../<id>" */
	const char *name;
	const char *email;
	const char *status;        /* ACTIVE, SUSPENDED, PENDING_CLOSURE (deprecated by AWS for state) */
	const char *state;         /* PENDING_ACTIVATION, ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED */
	int64_t joined_ms;         /* JoinedTimestamp; 0 when not said */
} s3i_org_account;

/* Return 0 to go on, anything else to stop (the operation then fails with S3I_EUSER). */
typedef int (*s3i_org_account_fn)(void *payload, const s3i_org_account *account);

typedef struct s3i_org_list_opts {
	int32_t max_results;       /* MaxResults per page, 1-20; 0: the service's default */
	int64_t max_pages;         /* stop after this many pages; 0: all */
} s3i_org_list_opts;

typedef struct s3i_org_list_progress {
	int64_t accounts;          /* handed to the callback */
	int64_t pages;
} s3i_org_list_progress;

/* ListAccounts, following NextToken page after page; fn sees each account once, page by page
 * (one page in memory at a time). opts and progress may be NULL; progress is zeroed first and
 * kept up also on failure. */
int s3i_org_list_accounts_op(const s3i_svc *svc, const s3i_org_list_opts *opts,
	s3i_org_account_fn fn, void *payload, s3i_org_list_progress *progress, s3i_errinfo *err);

/* Parse one ListAccounts response: every account to fn (only once the whole page checked
 * out), the NextToken into next_token (cleared first; empty when none or null). *count (may be
 * NULL) receives how many accounts fn saw. S3I_EPARSE naming `what` and the account,
 * S3I_EUSER, S3I_ENOMEM. `what` NULL: "Organizations ListAccounts response". */
int s3i_org_list_accounts_parse(const char *body, size_t len, const char *what,
	s3i_org_account_fn fn, void *payload, s3i_buf *next_token, int64_t *count, s3i_errinfo *err);

#endif
