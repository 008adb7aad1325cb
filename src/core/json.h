/*
 * JSON through yajl: a read-only tree for responses (yajl_tree) and a writer that produces
 * compact JSON into an s3i_buf with correct string escaping (UTF-8 passed through, control
 * characters as \u00XX).
 *
 * The tree is yajl's, allocated by yajl with malloc (STYLE R9: yajl keeps its allocator).
 * The writer allocates only through its s3i_buf's allocator.
 */
#ifndef S3I_CORE_JSON_H
#define S3I_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"

typedef struct yajl_val_s *s3i_json;   /* a yajl_val; NULL means absent */

#define S3I_JSON_MAX_DEPTH 512       /* deepest nesting s3i_json_parse accepts */
#define S3I_JSON_WRITER_MAX_DEPTH 64 /* deepest nesting the writer produces */

/* Parse a document (need not be NUL-terminated). S3I_EPARSE with yajl's message, naming
 * `what` (e.g. "DynamoDB GetItem response"); S3I_ENOMEM. Strict JSON: no comments, no NUL
 * bytes, one value, nesting at most S3I_JSON_MAX_DEPTH. The message never quotes the input
 * (it may hold secrets). A string holding \u0000 reads as ending there. Free with
 * s3i_json_free. */
int s3i_json_parse(s3i_json *out, const char *data, size_t len, const char *what, s3i_errinfo *err);
void s3i_json_free(s3i_json v);

s3i_json s3i_json_get(s3i_json obj, const char *key);      /* member of an object or NULL */
s3i_json s3i_json_path(s3i_json obj, const char *dotted);  /* "a.b.c"; "a.0.b" indexes arrays */
const char *s3i_json_str(s3i_json v);                      /* string value or NULL */
int s3i_json_is_str(s3i_json v);
int s3i_json_is_num(s3i_json v);
int s3i_json_is_obj(s3i_json v);
int s3i_json_is_arr(s3i_json v);
int s3i_json_is_bool(s3i_json v);
int s3i_json_is_null(s3i_json v);
int s3i_json_bool(s3i_json v, int dflt);                   /* true/false, else dflt */
/* An integer number, or a string holding one ("123", as DynamoDB's N): S3I_OK and *out set;
 * S3I_EINVALID (out untouched) for anything else, fractions, exponents and overflow. */
int s3i_json_i64(s3i_json v, int64_t *out);
double s3i_json_double(s3i_json v, double dflt);           /* number or numeric string */
const char *s3i_json_num_text(s3i_json v);                 /* number as written, or NULL */
size_t s3i_json_len(s3i_json v);                           /* array length, object member count, else 0 */
s3i_json s3i_json_at(s3i_json arr, size_t i);
const char *s3i_json_key_at(s3i_json obj, size_t i);
s3i_json s3i_json_val_at(s3i_json obj, size_t i);

/* Writer. Commas and colons are inserted automatically. Errors are sticky: check at the end
 * (S3I_ENOMEM, or S3I_EINVALID for misuse: a value without a key in an object, a key outside
 * one, mismatched close, nesting deeper than S3I_JSON_WRITER_MAX_DEPTH, two top-level values,
 * a string that is not valid UTF-8). Strings may hold any valid UTF-8, NUL included (strn). */
typedef struct s3i_json_writer {
	s3i_buf *out;
	int depth;
	unsigned char need_comma[S3I_JSON_WRITER_MAX_DEPTH];
	int after_key;
	int error;
	unsigned char in_obj[S3I_JSON_WRITER_MAX_DEPTH];  /* the open container is an object */
	int done;                                         /* a complete top-level value written */
} s3i_json_writer;

void s3i_jw_init(s3i_json_writer *w, s3i_buf *out);
void s3i_jw_obj_open(s3i_json_writer *w);
void s3i_jw_obj_close(s3i_json_writer *w);
void s3i_jw_arr_open(s3i_json_writer *w);
void s3i_jw_arr_close(s3i_json_writer *w);
void s3i_jw_key(s3i_json_writer *w, const char *key);
void s3i_jw_str(s3i_json_writer *w, const char *s);        /* NULL writes null */
void s3i_jw_strn(s3i_json_writer *w, const char *s, size_t len);
void s3i_jw_i64(s3i_json_writer *w, int64_t v);
void s3i_jw_bool(s3i_json_writer *w, int v);
void s3i_jw_null(s3i_json_writer *w);
void s3i_jw_raw(s3i_json_writer *w, const char *json);    /* pre-encoded value */
int s3i_jw_finish(s3i_json_writer *w);                     /* S3I_OK or the first error */

/* Escape a string as a JSON string literal (with quotes) onto out. S3I_EINVALID when s is not
 * valid UTF-8, S3I_ENOMEM; on failure `out` is left as it was. */
int s3i_json_escape(s3i_buf *out, const char *s, size_t len);

#endif
