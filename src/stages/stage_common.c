#include <stdio.h>
#include <string.h>

#include "stages/stage_common.h"

void s3i_stage_options_copy(void *dst, size_t dst_size, const void *opts)
{
	if (!opts)
		return;
	uint32_t given;
	memcpy(&given, opts, sizeof(given));
	memcpy(dst, opts, given < dst_size ? given : dst_size);
	uint32_t size = (uint32_t)dst_size;
	memcpy(dst, &size, sizeof(size));
}

int s3i_stage_past(const s3i_deployment *d, int64_t deadline_ms)
{
	return deadline_ms > 0 && s3i_deployment_now_ms(d) >= deadline_ms;
}

static int64_t *wait_start(s3i_stage_stack_waits *waits, const char *region, int64_t now_ms)
{
	for (size_t i = 0; i < waits->n; i++)
		if (!strcmp(waits->w[i].region, region))
			return &waits->w[i].started_ms;
	if (waits->n == S3I_STAGE_MAX_REGIONS)
		return NULL;
	size_t i = waits->n++;
	snprintf(waits->w[i].region, sizeof(waits->w[i].region), "%s", region);
	waits->w[i].started_ms = now_ms;
	return &waits->w[i].started_ms;
}

int64_t s3i_stage_stack_wait_ms(s3i_stage_stack_waits *waits, const char *region,
	int64_t stack_timeout_ms, int64_t now_ms, int64_t deadline_ms, int64_t *stack_left)
{
	int64_t *started = wait_start(waits, region, now_ms);
	*stack_left = started ? *started + stack_timeout_ms - now_ms : stack_timeout_ms;
	int64_t left = *stack_left;
	if (deadline_ms > 0 && deadline_ms - now_ms < left)
		left = deadline_ms - now_ms;
	return left < 1 ? 1 : left;
}

int s3i_stage_keep_region(void *user, const s3i_state_region *r)
{
	s3i_stage_regions *l = user;
	if (l->count < S3I_STAGE_MAX_REGIONS)
		l->items[l->count++] = *r;
	return 0;
}
