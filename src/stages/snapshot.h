/*
 * The list-snapshot report writer (DESIGN §5.2): the entries of a bucket listing in, a report
 * in exactly S3 Inventory's CSV layout out (s3-inventory-format.md §1-§4), in S3's order:
 *
 *   <prefix>/<bucket>/<config id>/data/<uuid>.csv.gz          each data file as it fills up
 *   <prefix>/<bucket>/<config id>/hive/dt=<YYYY-MM-DD-HH-MM>/symlink.txt
 *   <prefix>/<bucket>/<config id>/<YYYY-MM-DDTHH-MMZ>/manifest.json
 *   <prefix>/<bucket>/<config id>/<YYYY-MM-DDTHH-MMZ>/manifest.checksum   last: the signal
 *
 * Rows are written in the run's canonical schema (s3i_inv_schema_canonical), so partition
 * copies the files as they are; the columns a listing does not tell (replication, encryption,
 * object lock, ...) are empty, as S3 writes an absent value.
 *
 * Streaming: entries go through CSV and gzip as they come; a data file is closed and handed
 * to `put` once `file_bytes` CSV bytes are in it, so the writer holds at most one data file's
 * compressed bytes, one row and the deflate state, whatever the bucket's size (plus one short
 * entry per data file for the manifest).
 *
 * Deterministic: the same entries give the same keys and bytes. Data file names look like
 * S3's (a UUID) but are the MD5 of the data folder and the file's number, so a snapshot that is
 * written again after a crash overwrites the same objects; the manifest folder comes from
 * `creation_ms`, which the caller keeps stable too.
 *
 * One writer per bucket, used by one thread at a time.
 */
#ifndef S3I_STAGES_SNAPSHOT_H
#define S3I_STAGES_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "s3insights/s3.h"
#include "core/errinfo.h"
#include "services/svc.h"

/* Store one finished object (a data file, symlink.txt, manifest.json, manifest.checksum).
 * Called in S3's order; data is valid during the call only. Returns S3I_OK or a negative
 * status with err filled (naming the key). */
typedef int (*s3i_snapshot_put_fn)(void *user, const char *key, const void *data, size_t len,
	const char *content_type, s3i_errinfo *err);

#define S3I_SNAPSHOT_DEFAULT_FILE_BYTES ((int64_t)64 << 20)

typedef struct s3i_snapshot_spec {
	const char *source_bucket;       /* the listed bucket */
	const char *staging_bucket;      /* the destination (a name) */
	const char *prefix;              /* "<account>/<region>" (NULL or "": none) */
	const char *config_id;           /* D-R-s3-inventory */
	int all_versions;                /* 1: version columns (ListObjectVersions entries) */
	int64_t creation_ms;             /* the manifest's creationTimestamp and folder */
	int64_t file_bytes;              /* CSV bytes per data file; 0: the default */
	int gzip_level;                  /* 1-9; 0: zlib's default */
} s3i_snapshot_spec;

/* One listing entry, whichever listing gave it. */
typedef struct s3i_snapshot_entry {
	const char *key;                 /* decoded */
	const char *version_id;          /* NULL or "": none; "null" is written as "" as S3 does */
	int is_latest;
	int is_delete_marker;            /* Size, ETag, StorageClass, multipart flag left empty */
	int64_t size;
	int64_t last_modified_ms;
	const char *etag;                /* without quotes; "" or NULL: empty */
	const char *storage_class;
	const char *owner_id;            /* ObjectOwner; "" or NULL: empty */
} s3i_snapshot_entry;

void s3i_snapshot_entry_from_object(s3i_snapshot_entry *e, const s3i_s3_object_info *o);
void s3i_snapshot_entry_from_version(s3i_snapshot_entry *e, const s3i_s3_version_info *v);

typedef struct s3i_snapshot_writer s3i_snapshot_writer;

/* Copies what spec points to. S3I_EINVALID naming the field for a missing bucket or id. */
int s3i_snapshot_writer_new(s3i_snapshot_writer **out, const s3i_allocator *a,
	const s3i_snapshot_spec *spec, s3i_snapshot_put_fn put, void *user, s3i_errinfo *err);
/* Add one row; may close a data file and put it. Calls s3i_crashpoint
 * ("snapshot.mid_data_file") once per data file, after its first row. */
int s3i_snapshot_writer_add(s3i_snapshot_writer *w, const s3i_snapshot_entry *e,
	s3i_errinfo *err);
/* Close the last data file, then write symlink.txt, manifest.json and manifest.checksum.
 * S3I_EINVALID when no row was added (an empty bucket has no report). */
int s3i_snapshot_writer_finish(s3i_snapshot_writer *w, s3i_errinfo *err);
int64_t s3i_snapshot_writer_rows(const s3i_snapshot_writer *w);
int64_t s3i_snapshot_writer_bytes(const s3i_snapshot_writer *w);   /* sum of Size */
size_t s3i_snapshot_writer_files(const s3i_snapshot_writer *w);    /* data files put so far */
/* The manifest.json key once finished ("" before). */
const char *s3i_snapshot_writer_manifest_key(const s3i_snapshot_writer *w);
void s3i_snapshot_writer_free(s3i_snapshot_writer *w);

/* List every entry of `bucket` into w, page by page (ListObjectVersions when w writes all
 * versions, else ListObjectsV2 with the owners), at most max_entries (0: all). page_size
 * 1..1000 (0: 1000). The writer is not finished. A listing error is returned as the service
 * gave it (err names the bucket), a writer error (a put that failed) as the writer's. */
int s3i_snapshot_list(s3i_snapshot_writer *w, const s3i_svc *svc, const char *bucket,
	int32_t page_size, int64_t max_entries, s3i_errinfo *err);

/* The name of data file `seq` (0-based) of a data folder: "<uuid>.csv.gz", the UUID made of
 * the MD5 of "<data folder>#<seq>". out: at least 48 bytes. */
int s3i_snapshot_data_file_name(char *out, size_t cap, const char *data_folder, uint64_t seq);

#endif
