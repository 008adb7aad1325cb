/*
 * Fuzz the streaming XML reader. The input is an XML document as is; bytes of it choose where
 * it is split and when memory runs out, so corpus files stay plain documents.
 *  1. whole document in one call;
 *  2. the same through s3i_xml_parser in two chunks split at a position taken from the input:
 *     the verdict and the events must be the same;
 *  3. again with a small max_text and an allocator that fails after N allocations: anything
 *     but a crash or a leak is fine;
 *  4. the input as text through s3i_xml_escape and back: what parses must read back equal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/xml.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- an allocator that counts and can fail */
static long outstanding;
static long fail_after = -1;

static int should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

static void *f_alloc(void *user, size_t n)
{
	(void)user;
	if (should_fail())
		return NULL;
	void *p = malloc(n);
	if (p)
		outstanding++;
	return p;
}

static void *f_realloc(void *user, void *ptr, size_t n)
{
	if (!ptr)
		return f_alloc(user, n);
	if (should_fail())
		return NULL;
	return realloc(ptr, n);
}

static void f_free(void *user, void *ptr)
{
	(void)user;
	if (ptr) {
		outstanding--;
		free(ptr);
	}
}

static const s3i_allocator failing = { sizeof(s3i_allocator), NULL, f_alloc, f_realloc, f_free };

/* ---- event digest */
typedef struct digest {
	uint64_t h;
	long events;
	int check_text;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		d->h ^= b[i];
		d->h *= 1099511628211ULL;
	}
}

static void check_path(const char *path, const char *name, int depth)
{
	size_t pl = strlen(path), nl = strlen(name);
	if (nl == 0 || nl > pl || strcmp(path + pl - nl, name))
		abort();
	int slashes = 0;
	for (const char *s = path; *s; s++)
		slashes += *s == '/';
	/* a local name holds no '/', so the path has one per level */
	if (depth < 1 || depth > S3I_XML_MAX_DEPTH || slashes != depth - 1)
		abort();
}

static int on_start(void *user, const char *path, const char *name, int depth)
{
	digest *d = user;
	check_path(path, name, depth);
	mix(d, "S", 1);
	mix(d, path, strlen(path) + 1);
	mix(d, &depth, sizeof(depth));
	d->events++;
	return 0;
}

static int on_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	digest *d = user;
	check_path(path, name, depth);
	if (!text || text[len] != '\0')
		abort();
	mix(d, "E", 1);
	mix(d, path, strlen(path) + 1);
	mix(d, &depth, sizeof(depth));
	mix(d, text, len);
	mix(d, &len, sizeof(len));
	d->events++;
	return 0;
}

static int feed_split(const s3i_allocator *a, const char *doc, size_t size, size_t split,
	size_t max_text, digest *d)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_xml_parser *p = NULL;
	int rc = s3i_xml_parser_new(&p, a, on_start, on_end, d, &err);
	if (rc)
		return rc;
	if (max_text)
		s3i_xml_parser_set_max_text(p, max_text);
	rc = s3i_xml_parser_feed(p, doc, split, 0);
	if (!rc)
		rc = s3i_xml_parser_feed(p, doc + split, size - split, 0);
	if (!rc)
		rc = s3i_xml_parser_feed(p, NULL, 0, 1);
	if (rc && err.pub.code != rc)
		abort();   /* every failure is described */
	s3i_xml_parser_free(p);
	return rc;
}

/* Text (of an element) holding only characters XML 1.0 can carry after escaping. */
static int xml_safe_ascii(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x7f || (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r'))
			return 0;
	return 1;
}

typedef struct text_capture {
	s3i_buf text;
	int seen;
} text_capture;

static int capture_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	(void)path;
	(void)name;
	(void)depth;
	text_capture *c = user;
	c->seen++;
	return s3i_buf_put(&c->text, text, len);
}

static void escape_round_trip(const uint8_t *data, size_t size)
{
	char *str = malloc(size + 1);
	if (!str)
		return;
	memcpy(str, data, size);
	str[size] = '\0';
	s3i_buf doc;
	s3i_buf_init(&doc, NULL);
	if (s3i_xml_element(&doc, "Key", str) == 0) {
		size_t tlen = strlen(str);
		text_capture c = { S3I_BUF_INIT, 0 };
		s3i_buf_init(&c.text, NULL);
		int rc = s3i_xml_parse(NULL, doc.ptr, doc.size, NULL, capture_end, &c, NULL);
		if (rc == 0 && (c.seen != 1 || c.text.size != tlen ||
			memcmp(s3i_buf_cstr(&c.text), data, tlen)))
			abort();
		if (rc != 0 && xml_safe_ascii(data, tlen) && tlen < S3I_XML_DEFAULT_MAX_TEXT)
			abort();
		s3i_buf_dispose(&c.text);
	}
	s3i_buf_dispose(&doc);
	free(str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *doc = (const char *)data;
	unsigned sel = data[0] ^ data[size / 2] ^ data[size - 1];
	size_t split = (size_t)(((uint64_t)size * sel) / 255);
	if (split > size)
		split = size;

	digest whole = { 14695981039346656037ULL, 0, 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc_whole = s3i_xml_parse(NULL, doc, size, on_start, on_end, &whole, &err);
	if (rc_whole && err.pub.code != rc_whole)
		abort();

	digest parts = { 14695981039346656037ULL, 0, 0 };
	int rc_parts = feed_split(NULL, doc, size, split, 0, &parts);
	if (rc_whole != rc_parts)
		abort();
	if (rc_whole == 0 && (whole.h != parts.h || whole.events != parts.events))
		abort();

	/* out of memory somewhere, and a small text cap */
	digest oom = { 14695981039346656037ULL, 0, 0 };
	outstanding = 0;
	fail_after = data[size / 3] % 64;
	int rc = feed_split(&failing, doc, size, split, 1 + data[size / 4] % 32, &oom);
	fail_after = -1;
	if (outstanding != 0)
		abort();
	if (rc != 0 && rc != S3I_ENOMEM && rc != S3I_EPARSE)
		abort();

	escape_round_trip(data, size);
	return 0;
}
