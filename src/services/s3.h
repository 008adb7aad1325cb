/* Amazon S3 operations (REST-XML). */
#ifndef S3I_SERVICES_S3_H
#define S3I_SERVICES_S3_H

#include "s3insights/s3.h"
#include "services/svc.h"

extern const s3i_service s3i_svc_s3;

int s3i_s3_create_bucket_op(const s3i_svc *svc, const char *bucket, const char *region, s3i_errinfo *err);
int s3i_s3_delete_bucket_op(const s3i_svc *svc, const char *bucket, s3i_errinfo *err);
int s3i_s3_put_object_op(const s3i_svc *svc, const char *bucket, const char *key, const void *data,
	size_t len, const char *content_type, s3i_errinfo *err);
/* Streamed upload from a read callback of known length. */
int s3i_s3_put_object_stream_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_read_fn read, s3i_body_rewind_fn rewind, void *user, int64_t length,
	const char *content_type, s3i_errinfo *err);
int s3i_s3_get_object_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_write_fn sink, int (*sink_reset)(void *), void *user, s3i_errinfo *err);
int s3i_s3_delete_object_op(const s3i_svc *svc, const char *bucket, const char *key, s3i_errinfo *err);
int s3i_s3_list_objects_op(const s3i_svc *svc, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload, s3i_errinfo *err);

#endif
