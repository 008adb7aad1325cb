/* Internal string, encoding and time helpers. */
#ifndef S3I_CORE_STR_H
#define S3I_CORE_STR_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

/* RFC 3986 percent-encoding of bytes: unreserved A-Z a-z 0-9 - _ . ~ kept, everything else
 * %XX (uppercase). With keep_slash, '/' is kept too (for URI paths). */
int s3i_uri_encode(s3i_buf *out, const char *s, size_t len, int keep_slash);
/* An S3 object key as a URL path: RFC 3986 percent-encoding that keeps '/' and '='. '=' is a
 * valid path character (a sub-delim), AWS signs the path as sent (the SDKs that use Go's
 * EscapedPath send it raw), and moto's signature check only agrees with it raw — and the
 * consolidated layout's keys (account=…/region=…/bucketname=…) are full of it. */
int s3i_uri_encode_s3_key(s3i_buf *out, const char *s, size_t len);

/* Percent-decoding. With plus_is_space, '+' decodes to ' ' (form / S3 event / inventory keys).
 * Invalid escapes are kept literally. */
int s3i_uri_decode(s3i_buf *out, const char *s, size_t len, int plus_is_space);

void s3i_hex_encode(char *out, const unsigned char *in, size_t len); /* out: 2*len+1, lowercase */
int s3i_base64_encode(s3i_buf *out, const unsigned char *in, size_t len);
int s3i_base64_decode(s3i_buf *out, const char *in, size_t len);     /* S3I_EPARSE on bad input */

/* Time: milliseconds since the epoch, UTC. */
void s3i_time_amz(char out[17], int64_t epoch_s);        /* 20150830T123600Z */
void s3i_time_iso8601(char out[25], int64_t epoch_ms);   /* 2015-08-30T12:36:00.000Z */
int s3i_time_parse_iso8601(const char *s, int64_t *out_ms); /* also accepts no fraction / offset */
int s3i_time_parse_http(const char *s, int64_t *out_ms);    /* RFC 7231 IMF-fixdate */
int64_t s3i_time_from_utc(int year, int mon, int day, int hour, int min, int sec);

/* Copy outside text fit for a one-line message into buf (cap > 0): control characters become
 * '?', and a cut at cap - 1 bytes never splits a UTF-8 sequence. buf may be s itself. NULL
 * copies as "". Returns buf. */
const char *s3i_str_one_line(char *buf, size_t cap, const char *s);

/* Length of the valid UTF-8 sequence at s (at most n bytes; n > 0), 0 when invalid: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
size_t s3i_utf8_seq(const unsigned char *s, size_t n);
/* Whether s[0..len) is valid UTF-8 by the same rules. */
int s3i_utf8_valid(const char *s, size_t len);

int s3i_strcaseeq(const char *a, const char *b);
int s3i_str_startswith(const char *s, const char *prefix);
int s3i_str_endswith(const char *s, const char *suffix);
/* Trim leading/trailing ASCII whitespace; returns a pointer into s and sets *len. */
const char *s3i_str_trim(const char *s, size_t *len);

#endif
