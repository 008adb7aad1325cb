/* The root context's insides, for the service and stage layers. */
#ifndef S3I_AWS_CTX_INTERNAL_H
#define S3I_AWS_CTX_INTERNAL_H

#include <stdatomic.h>
#include "s3insights/ctx.h"
#include "aws/client.h"
#include "aws/config_file.h"
#include "aws/credentials.h"
#include "aws/http.h"
#include "core/log.h"

struct s3i_ctx {
	atomic_int refs;
	s3i_allocator alloc_copy;
	const s3i_allocator *alloc;
	s3i_logger logger;
	s3i_io_hooks hooks;
	int has_hooks;
	char *region;
	char *endpoint_url;
	char *profile;
	s3i_profile_set *profiles;
	s3i_http *http;
	s3i_credprov *creds;
	s3i_client *client;
};

static inline s3i_client *s3i_ctx_client(const s3i_ctx *ctx) { return ctx->client; }
static inline const s3i_allocator *s3i_ctx_alloc(const s3i_ctx *ctx) { return ctx->alloc; }
static inline const s3i_logger *s3i_ctx_logger(const s3i_ctx *ctx) { return &ctx->logger; }

#endif
