/*
 * libs3insights: clock hooks (STYLE R13). Stable only within a minor release.
 * They exist to pin the clock for signing test vectors and clock-skew tests.
 */
#ifndef S3INSIGHTS_SYS_IO_H
#define S3INSIGHTS_SYS_IO_H

#include "../common.h"

S3I_BEGIN_DECLS

/**
 * Time hooks. Any NULL function uses the system's. `now_ms` returns milliseconds since the
 * Unix epoch (UTC); `sleep_ms` blocks the calling thread. Both may be called from any thread
 * that uses the context.  @since 0.1
 */
typedef struct s3i_io_hooks {
	uint32_t struct_size;                     /**< sizeof(s3i_io_hooks) as the caller compiled it */
	void *user;                               /**< passed to both hooks */
	int64_t (*now_ms)(void *user);            /**< ms since the Unix epoch; NULL: the system clock */
	void (*sleep_ms)(void *user, int64_t ms); /**< block for ms; NULL: the system's sleep */
} s3i_io_hooks;

#define S3I_IO_HOOKS_INIT { sizeof(s3i_io_hooks), NULL, NULL, NULL }

S3I_END_DECLS

#endif
