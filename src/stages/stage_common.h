/*
 * What the stages share besides Athena (stage_athena.h): copying the caller's versioned
 * options, a deadline check, and what provision and teardown both keep per region (when this
 * handle began to wait for a region's stack, the run's region items in one list).
 */
#ifndef S3I_STAGES_STAGE_COMMON_H
#define S3I_STAGES_STAGE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "stages/run_internal.h"
#include "stages/state.h"

/* The most regions one run works in (provision plans no more). */
#define S3I_STAGE_MAX_REGIONS 64

/*
 * Copy the caller's options over *dst, which holds the defaults: the bytes both the caller's
 * struct_size (the first member, already checked to be at least sizeof(uint32_t)) and
 * dst_size know, so an older caller's struct leaves the newer members at their defaults.
 * dst's struct_size becomes dst_size. opts NULL: the defaults stay.
 */
void s3i_stage_options_copy(void *dst, size_t dst_size, const void *opts);

/* Whether deadline_ms (0 or less: none) has come by the deployment's clock. */
int s3i_stage_past(const s3i_deployment *d, int64_t deadline_ms);

/* When this handle began to wait for each region's stack (a new handle begins afresh). */
typedef struct s3i_stage_stack_waits {
	struct {
		char region[32];
		int64_t started_ms;
	} w[S3I_STAGE_MAX_REGIONS];
	size_t n;
} s3i_stage_stack_waits;

/*
 * How long to wait on region's stack now, at now_ms: what is left of stack_timeout_ms since
 * the handle first waited on it (into *stack_left), cut to deadline_ms (0 or less: none),
 * at least 1 ms (one look at the stack). A wait that times out with a result below
 * *stack_left was cut by the step's deadline, not by the stack's timeout.
 */
int64_t s3i_stage_stack_wait_ms(s3i_stage_stack_waits *waits, const char *region,
	int64_t stack_timeout_ms, int64_t now_ms, int64_t deadline_ms, int64_t *stack_left);

/* The run's region items, the first S3I_STAGE_MAX_REGIONS of them (large: allocate it). */
typedef struct s3i_stage_regions {
	s3i_state_region items[S3I_STAGE_MAX_REGIONS];
	size_t count;
} s3i_stage_regions;

/* An s3i_state_regions_list callback keeping each region in the s3i_stage_regions `user`. */
int s3i_stage_keep_region(void *user, const s3i_state_region *r);

#endif
