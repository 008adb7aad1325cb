/**
 * @file
 * The input of a run (DESIGN §3) and of the Cleanup workflow.
 *
 * A run input is the JSON document a run starts from (a CLI file, a Step Functions input, a
 * library call). Parsing validates everything before anything in AWS is touched and reports
 * every problem at once, each naming its field with a JSON-path-like name:
 *
 *     accounts[2].id: "12345" is not a 12-digit account id
 *
 * Every input with which S3Insights completes a run is accepted unchanged; unknown fields are
 * ignored. The rules and defaults are in docs/run-input.md.
 *
 * A parsed input is immutable: any number of threads may read one at once. Strings returned
 * by the getters are owned by the input and valid until s3i_run_input_free().
 * @since 0.1
 */
#ifndef S3INSIGHTS_RUN_INPUT_H
#define S3INSIGHTS_RUN_INPUT_H

#include "common.h"
#include "alloc.h"
#include "errors.h"

S3I_BEGIN_DECLS

/** A parsed, validated run input. @since 0.1 */
typedef struct s3i_run_input s3i_run_input;

/** The problems found in an input, in document order. @since 0.1 */
typedef struct s3i_input_problems s3i_input_problems;

/** How the snapshot is taken (`snapshot`). @since 0.1 */
typedef enum s3i_snapshot {
	S3I_SNAPSHOT_INVENTORY = 0,   /**< "inventory": S3 Inventory reports (default) */
	S3I_SNAPSHOT_LIST = 1         /**< "list": an immediate listing written as a report */
} s3i_snapshot;

/** The format of S3 Inventory reports (`inventory_format`). @since 0.1 */
typedef enum s3i_inventory_format {
	S3I_INVENTORY_FORMAT_CSV = 0,     /**< "CSV" (default) */
	S3I_INVENTORY_FORMAT_ORC = 1,     /**< "ORC" */
	S3I_INVENTORY_FORMAT_PARQUET = 2  /**< "Parquet" */
} s3i_inventory_format;

/** Which object versions are listed (`object_versions`). @since 0.1 */
typedef enum s3i_object_versions {
	S3I_OBJECT_VERSIONS_ALL = 0,      /**< "All" (default) */
	S3I_OBJECT_VERSIONS_CURRENT = 1   /**< "Current" */
} s3i_object_versions;

/** The analysis engine (`engine`). @since 0.1 */
typedef enum s3i_engine {
	S3I_ENGINE_ATHENA = 0,            /**< "athena" (default) */
	S3I_ENGINE_LOCAL = 1              /**< "local" (a later milestone) */
} s3i_engine;

/** Default `athena_database_name`. @since 0.1 */
#define S3I_RUN_INPUT_DEFAULT_DATABASE "s3insights"
/** Default `inventory_timeout_hours`. @since 0.1 */
#define S3I_RUN_INPUT_DEFAULT_TIMEOUT_HOURS 60
/** Objects listed per bucket at most in a smoke test. @since 0.1 */
#define S3I_RUN_INPUT_SMOKE_TEST_MAX_OBJECTS 1000

/**
 * Parse and validate a run input.
 *
 * @param out       receives the input on success; untouched on failure.
 * @param json      the document (need not be NUL-terminated); UTF-8 JSON.
 * @param len       its length in bytes.
 * @param alloc     allocator for the input and the problem list; NULL: the default.
 * @param problems  may be NULL. On S3I_EINVALID or S3I_EPARSE it receives the list of
 *                  problems (free it with s3i_input_problems_free); otherwise NULL.
 * @return S3I_OK; S3I_EPARSE when the text is not JSON; S3I_EINVALID when a field is
 *         missing or wrong (every problem is listed); S3I_ENOMEM. On failure
 *         s3i_error_last() holds all problems joined with "; " (shortened to fit), and its
 *         resource names the first field at fault.
 * Thread-safe.  @since 0.1
 */
S3I_API int s3i_run_input_parse(s3i_run_input **out, const char *json, size_t len,
	const s3i_allocator *alloc, s3i_input_problems **problems);

/** Free an input. NULL is a no-op. @since 0.1 */
S3I_API void s3i_run_input_free(s3i_run_input *in);

/**
 * Write the input as canonical JSON: every field with its effective value (defaults filled
 * in), in a fixed order, compact. Parsing the result gives an equal input and the same text
 * again, so two inputs are equal exactly when their canonical texts are. This is the form the
 * state table stores.
 * @param in   the input.
 * @param out  appended to; initialise with S3I_BUF_INIT (the input's allocator is used when
 *             out has none); release with s3i_buf_dispose().
 * @return S3I_OK, S3I_ENOMEM, or S3I_EINVALID for NULL arguments.  @since 0.1
 */
S3I_API int s3i_run_input_to_json(const s3i_run_input *in, s3i_buf *out);

/** Whether two inputs are the same run input.
 * @return 1 when both have the same canonical JSON, else 0 (also for NULLs).  @since 0.1 */
S3I_API int s3i_run_input_equal(const s3i_run_input *a, const s3i_run_input *b);

/** `run_id`: 1-8 characters of a-z and 0-9. @since 0.1 */
S3I_API const char *s3i_run_input_get_run_id(const s3i_run_input *in);

/** Number of `accounts` (an account listed twice counts once: see docs/run-input.md).
 * @since 0.1 */
S3I_API size_t s3i_run_input_get_account_count(const s3i_run_input *in);
/** `accounts[i].id`: 12 digits; NULL when i is out of range. @since 0.1 */
S3I_API const char *s3i_run_input_get_account_id(const s3i_run_input *in, size_t i);
/** Number of buckets in `accounts[i].exclude` (0 when i is out of range). @since 0.1 */
S3I_API size_t s3i_run_input_get_exclude_count(const s3i_run_input *in, size_t i);
/** `accounts[i].exclude[j]`, NULL when out of range. @since 0.1 */
S3I_API const char *s3i_run_input_get_exclude(const s3i_run_input *in, size_t i, size_t j);
/** Whether account i excludes a bucket.
 * @return 1 when `bucket` is in `accounts[i].exclude` (exact match), else 0.  @since 0.1 */
S3I_API int s3i_run_input_is_excluded(const s3i_run_input *in, size_t i, const char *bucket);
/** `accounts[i].role_name`, or NULL when not given (then the deployment's
 * `D-cross-account-iam-role` is used). @since 0.1 */
S3I_API const char *s3i_run_input_get_role_name(const s3i_run_input *in, size_t i);
/** The external id for AssumeRole into account i: `accounts[i].external_id`, else the
 * top-level `external_id`, else NULL. @since 0.1 */
S3I_API const char *s3i_run_input_get_account_external_id(const s3i_run_input *in, size_t i);
/** The index of account `id` in the list, or -1. @since 0.1 */
S3I_API int64_t s3i_run_input_find_account(const s3i_run_input *in, const char *id);

/** Number of `athena_queries`. @since 0.1 */
S3I_API size_t s3i_run_input_get_query_count(const s3i_run_input *in);
/** `athena_queries[i].name`, NULL when out of range. @since 0.1 */
S3I_API const char *s3i_run_input_get_query_name(const s3i_run_input *in, size_t i);
/** `athena_queries[i].query` as given (placeholders not substituted). @since 0.1 */
S3I_API const char *s3i_run_input_get_query_text(const s3i_run_input *in, size_t i);
/**
 * Query i with `{ATHENA_TABLE}` replaced by the table name and `{ATHENA_DATABASE}` by the
 * database name, appended to `out` (which must have been initialised; see s3i_run_input_to_json).
 * @return S3I_OK, S3I_EINVALID (i out of range), S3I_ENOMEM.  @since 0.1
 */
S3I_API int s3i_run_input_render_query(const s3i_run_input *in, size_t i, s3i_buf *out);
/**
 * Substitute the placeholders of any query text: every `{ATHENA_TABLE}` becomes `table` and
 * every `{ATHENA_DATABASE}` becomes `database`, exactly as written (S3Insights runs the query
 * with the database as its context and replaces `{ATHENA_TABLE}` the same way). Other text,
 * braces included, is copied unchanged.
 * @return S3I_OK, S3I_EINVALID (a NULL argument), S3I_ENOMEM.  @since 0.1
 */
S3I_API int s3i_query_substitute(s3i_buf *out, const char *query, const char *database,
	const char *table);

/** `sender_email_address`. @since 0.1 */
S3I_API const char *s3i_run_input_get_sender(const s3i_run_input *in);
/** Number of `recipient_email_addresses` (at least 1). @since 0.1 */
S3I_API size_t s3i_run_input_get_recipient_count(const s3i_run_input *in);
/** `recipient_email_addresses[i]`, NULL when out of range. @since 0.1 */
S3I_API const char *s3i_run_input_get_recipient(const s3i_run_input *in, size_t i);

/** `athena_database_name`, default "s3insights"; always [a-z0-9_]{1,64}. @since 0.1 */
S3I_API const char *s3i_run_input_get_database(const s3i_run_input *in);
/** `athena_table_name`, default "<run_id>inventorytable"; always [a-z0-9_]{1,64}.
 * @since 0.1 */
S3I_API const char *s3i_run_input_get_table(const s3i_run_input *in);

/** Number of `supported_regions` (default: the 15 regions S3Insights defaults to).
 * @since 0.1 */
S3I_API size_t s3i_run_input_get_region_count(const s3i_run_input *in);
/** `supported_regions[i]`, NULL when out of range. @since 0.1 */
S3I_API const char *s3i_run_input_get_region(const s3i_run_input *in, size_t i);
/** Whether a region is one of `supported_regions`.
 * @return 1 when `region` is one of them, else 0.  @since 0.1 */
S3I_API int s3i_run_input_is_region_supported(const s3i_run_input *in, const char *region);

/** `is_smoke_test`.
 * @return 1 for a smoke test, else 0 (the default).  @since 0.1 */
S3I_API int s3i_run_input_is_smoke_test(const s3i_run_input *in);
/** Top-level `external_id`, NULL when not given. @since 0.1 */
S3I_API const char *s3i_run_input_get_external_id(const s3i_run_input *in);
/** `snapshot` (default inventory; list for a smoke test). @since 0.1 */
S3I_API s3i_snapshot s3i_run_input_get_snapshot(const s3i_run_input *in);
/** `inventory_format` (default CSV). @since 0.1 */
S3I_API s3i_inventory_format s3i_run_input_get_inventory_format(const s3i_run_input *in);
/** `object_versions` (default All). @since 0.1 */
S3I_API s3i_object_versions s3i_run_input_get_object_versions(const s3i_run_input *in);
/** `inventory_timeout_hours` in milliseconds (default 60 h). @since 0.1 */
S3I_API int64_t s3i_run_input_get_inventory_timeout_ms(const s3i_run_input *in);
/** `engine` (default athena). @since 0.1 */
S3I_API s3i_engine s3i_run_input_get_engine(const s3i_run_input *in);

/** @name Names of the enum values */
/** @{ */
/** The name of an enum value as written in the input ("list", "Parquet", "Current",
 * "athena"); "" for an unknown value. Static strings. Thread-safe.  @since 0.1 */
S3I_API const char *s3i_snapshot_name(s3i_snapshot s);
S3I_API const char *s3i_inventory_format_name(s3i_inventory_format f);
S3I_API const char *s3i_object_versions_name(s3i_object_versions v);
S3I_API const char *s3i_engine_name(s3i_engine e);
/** @} */

/* ---- problems ---- */

/** Number of problems; 0 for NULL. @since 0.1 */
S3I_API size_t s3i_input_problems_count(const s3i_input_problems *p);
/** The field of problem i, JSON-path-like ("accounts[2].id", "$" for the document); NULL when
 * out of range. @since 0.1 */
S3I_API const char *s3i_input_problems_get_field(const s3i_input_problems *p, size_t i);
/** The whole line of problem i, starting with its field:
 * `accounts[2].id: "12345" is not a 12-digit account id`; NULL when out of range.
 * @since 0.1 */
S3I_API const char *s3i_input_problems_get_message(const s3i_input_problems *p, size_t i);
/** Free a problem list. NULL is a no-op. @since 0.1 */
S3I_API void s3i_input_problems_free(s3i_input_problems *p);

/* ---- Cleanup input ---- */

/** A parsed Cleanup input. @since 0.1 */
typedef struct s3i_cleanup_input s3i_cleanup_input;

/**
 * Parse the input of the Cleanup workflow: S3Insights' `{"manual_cleanup": true}` (every
 * unfinished run of the deployment), or any object with a `run_id` (that run only; a whole
 * run input is accepted too, and only its run_id is read).
 * Arguments as s3i_run_input_parse().
 * @return as s3i_run_input_parse(): S3I_OK, S3I_EPARSE (not JSON), S3I_EINVALID (every
 * problem listed), S3I_ENOMEM.  Thread-safe.  @since 0.1
 */
S3I_API int s3i_cleanup_input_parse(s3i_cleanup_input **out, const char *json, size_t len,
	const s3i_allocator *alloc, s3i_input_problems **problems);
/** The run to clean up, or NULL: every unfinished run. @since 0.1 */
S3I_API const char *s3i_cleanup_input_get_run_id(const s3i_cleanup_input *c);
/** Free a Cleanup input. NULL is a no-op. @since 0.1 */
S3I_API void s3i_cleanup_input_free(s3i_cleanup_input *c);

S3I_END_DECLS

#endif
