/*
 * Streaming XML on expat. Element names are reported without their namespace. Entity
 * declarations (DTD internal subsets) are refused, so "billion laughs" style expansion cannot
 * happen; only the five predefined entities and character references are decoded.
 *
 * The parser keeps the slash-joined path of open elements ("ListBucketResult/Contents/Key")
 * so a handler can match on where it is. Character data of an element is collected and handed
 * to `end` (capped at max_text bytes, default 1 MiB: more is S3I_EPARSE).
 */
#ifndef S3I_CORE_XML_H
#define S3I_CORE_XML_H

#include <stddef.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"

typedef struct s3i_xml_parser s3i_xml_parser;

/* Return 0 to go on, a negative s3i_status to stop (it is returned from feed). */
typedef int (*s3i_xml_start_fn)(void *user, const char *path, const char *name, int depth);
typedef int (*s3i_xml_end_fn)(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len);

int s3i_xml_parser_new(s3i_xml_parser **out, const s3i_allocator *a, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err);
void s3i_xml_parser_free(s3i_xml_parser *p);
void s3i_xml_parser_set_max_text(s3i_xml_parser *p, size_t max_text);
/* Feed a chunk; is_final on the last one (may be empty). S3I_EPARSE names line and column. */
int s3i_xml_parser_feed(s3i_xml_parser *p, const char *data, size_t len, int is_final);

/* Parse a whole document in one go. */
int s3i_xml_parse(const s3i_allocator *a, const char *data, size_t len, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err);

/* Writing: escape text for element content or attribute values (& < > " '). */
int s3i_xml_escape(s3i_buf *out, const char *s, size_t len);
/* Append <name>escaped text</name>. */
int s3i_xml_element(s3i_buf *out, const char *name, const char *text);

#endif
