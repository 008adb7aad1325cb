/*
 * DynamoDB attribute values without hand-written JSON.
 *
 * An s3i_ddb_item is a map of named values: a whole item, a key, the ExpressionAttributeValues
 * of a request (":v" -> value), the ExpressionAttributeNames ("#n" -> an S value naming the
 * attribute), or the value of an M attribute. An s3i_ddb_list is the value of an L attribute.
 * Kinds: S (UTF-8 text), N (kept as the decimal text DynamoDB sends, with i64 helpers), BOOL,
 * NULL, M, L and SS (a non-empty string set without duplicates). B, NS and BS are not
 * supported: parsing them fails with S3I_EPARSE naming the attribute.
 *
 * Ownership: an item owns everything in it. Nested maps and lists are created through their
 * parent (s3i_ddb_item_set_m, s3i_ddb_list_add_l, ...) and returned borrowed; they stay valid
 * until their attribute is replaced or the root is freed. Strings passed in are copied;
 * strings handed out are borrowed with the same lifetime. Every allocation goes through the
 * item's allocator. Setting a name that exists replaces its value in place (the order of
 * names is the order of first insertion); appends are O(1) amortised and lookups O(1)
 * (hashed once a map holds more than a few names).
 *
 * Errors: builders return S3I_OK, S3I_EINVALID (an empty or non-UTF-8 name or string, a
 * malformed number, an empty set or one with duplicates, nesting deeper than
 * S3I_DDB_MAX_DEPTH) or S3I_ENOMEM; the thread's s3i_error_last() then names the attribute.
 * On failure the item is left exactly as it was.
 *
 * Thread safety: an item is used by one thread at a time; reading a finished item from
 * several threads at once is fine.
 */
#ifndef S3I_SERVICES_DDB_VALUE_H
#define S3I_SERVICES_DDB_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/json.h"

#define S3I_DDB_MAX_DEPTH 32   /* DynamoDB's nesting limit for M and L */

typedef enum s3i_ddb_type {
	S3I_DDB_NONE = 0,   /* absent */
	S3I_DDB_S = 1,
	S3I_DDB_N = 2,
	S3I_DDB_BOOL = 3,
	S3I_DDB_NULL = 4,
	S3I_DDB_M = 5,
	S3I_DDB_L = 6,
	S3I_DDB_SS = 7
} s3i_ddb_type;

typedef struct s3i_ddb_item s3i_ddb_item;
typedef struct s3i_ddb_list s3i_ddb_list;
typedef struct s3i_ddb_value s3i_ddb_value;

/* ---- items (maps) ---- */

/* An empty item. a NULL: the default allocator. */
int s3i_ddb_item_new(s3i_ddb_item **out, const s3i_allocator *a);
void s3i_ddb_item_free(s3i_ddb_item *it);                 /* NULL is a no-op; roots only */
/* A deep copy with the same allocator as src (a NULL) or a. */
int s3i_ddb_item_copy(s3i_ddb_item **out, const s3i_ddb_item *src, const s3i_allocator *a);

int s3i_ddb_item_set_s(s3i_ddb_item *it, const char *name, const char *value);
int s3i_ddb_item_set_n_i64(s3i_ddb_item *it, const char *name, int64_t value);
/* A DynamoDB number as text: [+-]digits[.digits][e[+-]digits] (".5" and "5." too), at most
 * 128 bytes; kept as given. DynamoDB itself judges precision (38 digits) and range. */
int s3i_ddb_item_set_n_text(s3i_ddb_item *it, const char *name, const char *number);
int s3i_ddb_item_set_bool(s3i_ddb_item *it, const char *name, int value);
int s3i_ddb_item_set_null(s3i_ddb_item *it, const char *name);
/* A string set of n >= 1 distinct strings. */
int s3i_ddb_item_set_ss(s3i_ddb_item *it, const char *name, const char *const *values, size_t n);
/* An empty M (or L) value under name; *out is borrowed from it. */
int s3i_ddb_item_set_m(s3i_ddb_item *it, const char *name, s3i_ddb_item **out);
int s3i_ddb_item_set_l(s3i_ddb_item *it, const char *name, s3i_ddb_list **out);
/* Remove name if present (later names move up one place). */
void s3i_ddb_item_remove(s3i_ddb_item *it, const char *name);

size_t s3i_ddb_item_count(const s3i_ddb_item *it);
const char *s3i_ddb_item_name_at(const s3i_ddb_item *it, size_t i);      /* NULL past the end */
const s3i_ddb_value *s3i_ddb_item_value_at(const s3i_ddb_item *it, size_t i);
const s3i_ddb_value *s3i_ddb_item_get(const s3i_ddb_item *it, const char *name);   /* NULL: absent */
int s3i_ddb_item_has(const s3i_ddb_item *it, const char *name);
s3i_ddb_type s3i_ddb_item_type(const s3i_ddb_item *it, const char *name); /* NONE: absent */
/* Typed getters: NULL / 0 when absent or of another kind. */
const char *s3i_ddb_item_get_s(const s3i_ddb_item *it, const char *name);
const char *s3i_ddb_item_get_n(const s3i_ddb_item *it, const char *name);   /* the N text */
/* S3I_OK; S3I_ENOTFOUND when absent; S3I_EINVALID when not an N holding an integer that fits
 * (no fraction, no exponent). *out untouched on failure. No error detail is recorded. */
int s3i_ddb_item_get_i64(const s3i_ddb_item *it, const char *name, int64_t *out);
int s3i_ddb_item_get_bool(const s3i_ddb_item *it, const char *name, int *out);
size_t s3i_ddb_item_get_ss_count(const s3i_ddb_item *it, const char *name);
const char *s3i_ddb_item_get_ss_at(const s3i_ddb_item *it, const char *name, size_t i);
const s3i_ddb_item *s3i_ddb_item_get_m(const s3i_ddb_item *it, const char *name);
const s3i_ddb_list *s3i_ddb_item_get_l(const s3i_ddb_item *it, const char *name);

/* ---- lists ---- */

int s3i_ddb_list_add_s(s3i_ddb_list *l, const char *value);
int s3i_ddb_list_add_n_i64(s3i_ddb_list *l, int64_t value);
int s3i_ddb_list_add_n_text(s3i_ddb_list *l, const char *number);
int s3i_ddb_list_add_bool(s3i_ddb_list *l, int value);
int s3i_ddb_list_add_null(s3i_ddb_list *l);
int s3i_ddb_list_add_ss(s3i_ddb_list *l, const char *const *values, size_t n);
int s3i_ddb_list_add_m(s3i_ddb_list *l, s3i_ddb_item **out);
int s3i_ddb_list_add_l(s3i_ddb_list *l, s3i_ddb_list **out);
size_t s3i_ddb_list_count(const s3i_ddb_list *l);
const s3i_ddb_value *s3i_ddb_list_at(const s3i_ddb_list *l, size_t i);      /* NULL past the end */

/* ---- values ---- */

s3i_ddb_type s3i_ddb_value_type(const s3i_ddb_value *v);       /* NONE for NULL */
const char *s3i_ddb_value_s(const s3i_ddb_value *v);           /* S only, else NULL */
const char *s3i_ddb_value_n(const s3i_ddb_value *v);           /* N text only, else NULL */
int s3i_ddb_value_i64(const s3i_ddb_value *v, int64_t *out);   /* as s3i_ddb_item_get_i64 */
int s3i_ddb_value_bool(const s3i_ddb_value *v, int *out);      /* S3I_OK or S3I_EINVALID */
size_t s3i_ddb_value_ss_count(const s3i_ddb_value *v);
const char *s3i_ddb_value_ss_at(const s3i_ddb_value *v, size_t i);
const s3i_ddb_item *s3i_ddb_value_m(const s3i_ddb_value *v);
const s3i_ddb_list *s3i_ddb_value_l(const s3i_ddb_value *v);
/* Deep equality: maps compare by name whatever the order, SS as sets, N as text. */
int s3i_ddb_value_equal(const s3i_ddb_value *a, const s3i_ddb_value *b);
int s3i_ddb_item_equal(const s3i_ddb_item *a, const s3i_ddb_item *b);

/* ---- DynamoDB JSON ---- */

/* Write the item as a DynamoDB JSON object ({"name": {"S": "..."}, ...}) as the next value of
 * w. Errors are the writer's (sticky, see s3i_jw_finish). Any nesting depth is written (deep
 * values are spliced in through a second writer). */
void s3i_ddb_item_write(s3i_json_writer *w, const s3i_ddb_item *it);
/* The item alone as a JSON document appended to out. S3I_OK, S3I_ENOMEM, S3I_EINVALID. */
int s3i_ddb_item_to_json(const s3i_ddb_item *it, s3i_buf *out);

/* Parse an item from a yajl tree of DynamoDB JSON (an object of attribute values). Strict:
 * every attribute value must be an object with exactly one known type tag holding the right
 * kind of JSON value (S a string, N a string holding a number, BOOL true/false, NULL true, M an
 * object, L an array, SS a non-empty array of distinct strings), names non-empty, no name twice
 * in a map, nesting at most S3I_DDB_MAX_DEPTH. S3I_EPARSE with a message naming `what` and the
 * attribute path (e.g. "attribute 'a.b[2]'"), S3I_ENOMEM. a NULL: the default allocator. */
int s3i_ddb_item_from_json(s3i_ddb_item **out, const s3i_allocator *a, s3i_json obj,
	const char *what, s3i_errinfo *err);
/* The same from JSON text. */
int s3i_ddb_item_parse(s3i_ddb_item **out, const s3i_allocator *a, const char *json, size_t len,
	const char *what, s3i_errinfo *err);

/* A short one-line rendering for messages: {name="text", n=12, ...}, values cut to 64
 * bytes, the whole cut to cap (with "..." when cut). Never fails; out is always terminated. */
void s3i_ddb_item_describe(const s3i_ddb_item *it, char *out, size_t cap);
/* The same for the attributes named in names[0..n) that exist, in that order; names NULL:
 * the first n attributes. */
void s3i_ddb_item_describe_some(const s3i_ddb_item *it, const char *const *names, size_t n,
	char *out, size_t cap);

/* Whether text is a number DynamoDB accepts (see s3i_ddb_item_set_n_text). */
int s3i_ddb_number_is_valid(const char *text);

#endif
