/*
 * Streaming XML on expat. Element names are reported without their namespace. Entity
 * declarations (DTD internal subsets) are refused, so "billion laughs" style expansion cannot
 * happen; external entities are never loaded and an entity reference that is not defined is an
 * error. Only the five predefined entities and character references are decoded.
 *
 * The parser keeps the slash-joined path of open elements ("ListBucketResult/Contents/Key")
 * so a handler can match on where it is. The root element has depth 1 and its own name as path.
 *
 * Character data of an element (its own text, CDATA included, not its children's) is collected
 * and handed to `end`, NUL-terminated, whatever the chunking of the input: feeding a document
 * one byte at a time gives the same events as feeding it whole. An element's text is capped at
 * max_text bytes (default 1 MiB): more is S3I_EPARSE. Whitespace an element holds when a
 * child element starts (indentation) is dropped then, so formatting does not add up.
 * Elements nest at most S3I_XML_MAX_DEPTH deep.
 *
 * Memory: expat allocates through the parser's s3i_allocator too (XML_ParserCreate_MM).
 *
 * Errors are recorded on `err` (or the thread's error when NULL): S3I_EPARSE names line and
 * column and expat's message, S3I_ENOMEM when memory ran out. A handler that stops the parse
 * should record its own detail on the same errinfo; when it returns a negative code without
 * recording anything, the parser records a generic "XML handler for <path> failed" message.
 */
#ifndef S3I_CORE_XML_H
#define S3I_CORE_XML_H

#include <stddef.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"

#define S3I_XML_MAX_DEPTH 256
#define S3I_XML_DEFAULT_MAX_TEXT ((size_t)1 << 20)

typedef struct s3i_xml_parser s3i_xml_parser;

/* Return 0 to go on, a negative s3i_status to stop (it is returned from feed; a positive value
 * also stops, as S3I_EUSER). `path` and `name` are valid only during the call; `text` is never
 * NULL and is NUL-terminated at text[len]. */
typedef int (*s3i_xml_start_fn)(void *user, const char *path, const char *name, int depth);
typedef int (*s3i_xml_end_fn)(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len);

/* Either handler may be NULL. `a` NULL: the default allocator. */
int s3i_xml_parser_new(s3i_xml_parser **out, const s3i_allocator *a, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err);
void s3i_xml_parser_free(s3i_xml_parser *p);                 /* NULL is a no-op */
void s3i_xml_parser_set_max_text(s3i_xml_parser *p, size_t max_text);  /* 0: the default */
/* Feed a chunk; is_final on the last one (may be empty). S3I_EPARSE names line and column.
 * Errors are sticky: after one, every feed returns it again. Not callable from a handler. */
int s3i_xml_parser_feed(s3i_xml_parser *p, const char *data, size_t len, int is_final);

/* Parse a whole document in one go. `data` may be NULL when len is 0 (an empty document,
 * which is S3I_EPARSE). */
int s3i_xml_parse(const s3i_allocator *a, const char *data, size_t len, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err);

/* Writing: escape text for element content or attribute values: & < > " ' as the predefined
 * entities; tab, LF and CR as character references (&#9; &#10; &#13;) so they survive
 * attribute-value and line-end normalisation, as S3 asks for object keys; other C0 control
 * bytes (which XML 1.0 cannot carry) as &#xN; references. Other bytes, UTF-8 included, are
 * copied. On failure `out` is left as it was. */
int s3i_xml_escape(s3i_buf *out, const char *s, size_t len);
/* Append <name>escaped text</name> (text NULL: empty). `name` is not escaped: it must be a
 * valid element name (S3I_EINVALID when NULL or empty). On failure `out` is left as it was. */
int s3i_xml_element(s3i_buf *out, const char *name, const char *text);

#endif
