/*
 * JSON through yajl: a read-only tree for responses (yajl_tree) and a writer that produces
 * compact JSON into an s3i_buf with correct string escaping (UTF-8 passed through, control
 * characters as \u00XX).
 */
#ifndef S3I_CORE_JSON_H
#define S3I_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"

typedef struct yajl_val_s *s3i_json;   /* a yajl_val; NULL means absent */

/* Parse a document (need not be NUL-terminated). S3I_EPARSE with yajl's message, naming
 * `what` (e.g. "DynamoDB GetItem response"). Free with s3i_json_free. */
int s3i_json_parse(s3i_json *out, const char *data, size_t len, const char *what, s3i_errinfo *err);
void s3i_json_free(s3i_json v);

s3i_json s3i_json_get(s3i_json obj, const char *key);      /* member of an object or NULL */
s3i_json s3i_json_path(s3i_json obj, const char *dotted);  /* "a.b.c" */
const char *s3i_json_str(s3i_json v);                      /* string value or NULL */
int s3i_json_is_str(s3i_json v);
int s3i_json_is_num(s3i_json v);
int s3i_json_is_obj(s3i_json v);
int s3i_json_is_arr(s3i_json v);
int s3i_json_is_bool(s3i_json v);
int s3i_json_is_null(s3i_json v);
int s3i_json_bool(s3i_json v, int dflt);
int s3i_json_i64(s3i_json v, int64_t *out);                /* integer number (or numeric string) */
double s3i_json_double(s3i_json v, double dflt);
const char *s3i_json_num_text(s3i_json v);                 /* number as written, or NULL */
size_t s3i_json_len(s3i_json v);                           /* array length or object member count */
s3i_json s3i_json_at(s3i_json arr, size_t i);
const char *s3i_json_key_at(s3i_json obj, size_t i);
s3i_json s3i_json_val_at(s3i_json obj, size_t i);

/* Writer. Commas and colons are inserted automatically. Errors are sticky: check at the end. */
typedef struct s3i_json_writer {
	s3i_buf *out;
	int depth;
	unsigned char need_comma[64];
	int after_key;
	int error;
} s3i_json_writer;

void s3i_jw_init(s3i_json_writer *w, s3i_buf *out);
void s3i_jw_obj_open(s3i_json_writer *w);
void s3i_jw_obj_close(s3i_json_writer *w);
void s3i_jw_arr_open(s3i_json_writer *w);
void s3i_jw_arr_close(s3i_json_writer *w);
void s3i_jw_key(s3i_json_writer *w, const char *key);
void s3i_jw_str(s3i_json_writer *w, const char *s);
void s3i_jw_strn(s3i_json_writer *w, const char *s, size_t len);
void s3i_jw_i64(s3i_json_writer *w, int64_t v);
void s3i_jw_bool(s3i_json_writer *w, int v);
void s3i_jw_null(s3i_json_writer *w);
void s3i_jw_raw(s3i_json_writer *w, const char *json);    /* pre-encoded value */
int s3i_jw_finish(s3i_json_writer *w);                     /* S3I_OK or the first error */

/* Escape a string as a JSON string literal (with quotes) onto out. */
int s3i_json_escape(s3i_buf *out, const char *s, size_t len);

#endif
