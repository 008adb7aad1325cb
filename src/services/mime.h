/*
 * MIME messages for SES SendRawEmail (RFC 5322, 2045, 2046, 2047): pure text building, no AWS.
 *
 * A message has From, To (and optionally Cc), Subject, Date, Message-ID and MIME-Version
 * headers and either one text part or a multipart/alternative with a text/plain part followed
 * by a text/html part (mail readers show the last part they understand, so HTML goes last).
 * Everything is UTF-8:
 *  - header values that are not plain printable ASCII (or hold a word too long to fold, or
 *    something that would read as an encoded-word) become RFC 2047 "B" encoded-words of at
 *    most 75 characters, split only between UTF-8 characters, on lines of at most 76
 *    characters; plain values are folded at spaces to the same width;
 *  - display names are atoms, a quoted-string, or encoded-words; addresses must be 7-bit
 *    ASCII (SES does not support SMTPUTF8: punycode the domain) and are never split, so an
 *    address longer than a line (up to 254 characters) stays whole on a line of its own;
 *  - bodies are quoted-printable or base64 (chosen by content unless forced), lines of at most
 *    76 characters, every line break CRLF. Quoted-printable also escapes a '.' or "From " at
 *    the start of a line, so no relay's dot-stuffing or mbox quoting can change the text;
 *  - the multipart boundary starts with "=_", which neither encoding can produce, and is
 *    checked against the encoded parts all the same.
 * Header injection is refused: a CR or LF (or another control character) in any header value
 * is S3I_EINVALID naming the header. Invalid UTF-8 is S3I_EINVALID naming the field.
 * The output is CRLF throughout. Thread-safe; allocations only through the output buffer's
 * allocator.
 */
#ifndef S3I_SERVICES_MIME_H
#define S3I_SERVICES_MIME_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/errinfo.h"

#define S3I_MIME_LINE_MAX 76        /* characters per line, CRLF not counted */
#define S3I_MIME_WORD_MAX 75        /* characters per encoded-word (RFC 2047 §2) */

typedef struct s3i_mime_address {
	const char *name;               /* display name, UTF-8; NULL or "": the address alone */
	const char *address;            /* addr-spec "local@domain", 7-bit ASCII */
} s3i_mime_address;

typedef enum s3i_mime_encoding {
	S3I_MIME_ENC_AUTO = 0,          /* quoted-printable unless a quarter of the bytes need escapes */
	S3I_MIME_ENC_QP = 1,
	S3I_MIME_ENC_BASE64 = 2
} s3i_mime_encoding;

typedef struct s3i_mime_message {
	s3i_mime_address from;
	const s3i_mime_address *to;     /* at least one */
	size_t nto;
	const s3i_mime_address *cc;     /* may be NULL */
	size_t ncc;
	const char *subject;            /* UTF-8; NULL: empty */
	const char *text;               /* text/plain body, UTF-8; NULL: no such part */
	const char *html;               /* text/html body, UTF-8; NULL: no such part (one is needed) */
	s3i_mime_encoding encoding;     /* of both bodies */
	int64_t date_ms;                /* Date header; 0: now */
	const char *message_id;         /* "<left@right>"; NULL: random, at the sender's domain */
	const char *boundary;           /* NULL: random (tests pin it); 1-70 of RFC 2046's bchars */
} s3i_mime_message;

/* Build the whole message into `out` (appended). S3I_EINVALID naming the header or field at
 * fault, S3I_ENOMEM; on failure `out` is left as it was. */
int s3i_mime_build(s3i_buf *out, const s3i_mime_message *m, s3i_errinfo *err);

/* ---- the pieces, for tests and other callers ---- */

/* One header field "Name: value" CRLF, the value encoded and folded as described above.
 * `name` is a field name (printable ASCII without ':'). S3I_EINVALID names the header. */
int s3i_mime_header(s3i_buf *out, const char *name, const char *value, s3i_errinfo *err);

/* An address-list header ("To: a <x@y>, =?UTF-8?B?...?= <z@w>") folded between and inside
 * display names. */
int s3i_mime_address_header(s3i_buf *out, const char *name, const s3i_mime_address *list,
	size_t n, s3i_errinfo *err);

/* Body encodings. Line breaks in `s` (LF, CR or CRLF) become CRLF. No CRLF is added at the
 * end: in a multipart body the CRLF before the next boundary belongs to the boundary, so a text
 * without a final line break stays without one. No validation: any bytes are encoded.
 * S3I_ENOMEM; `out` untouched on failure. */
int s3i_mime_qp_encode(s3i_buf *out, const char *s, size_t len);
int s3i_mime_base64_encode(s3i_buf *out, const char *s, size_t len);   /* CRLF-normalised first */


#endif
