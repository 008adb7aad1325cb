#include "core/xml.h"

#include <stdio.h>
#include <string.h>
#include <expat.h>

#include "core/alloc.h"
#include "s3insights/errors.h"

/* Expanded names come as "uri SEP local". U+0001 cannot occur in an XML 1.0 document, not
 * even as a character reference, so it never appears in a namespace URI. */
#define NS_SEP '\x01'

/* Longest slice handed to XML_Parse, whose length is an int. */
#define FEED_SLICE ((size_t)1 << 30)

/*
 * Expat's memory suite takes no user pointer, so the allocator of the parser being driven is
 * published in a thread-local slot around every call into expat (creation, parsing, freeing;
 * expat allocates nowhere else). The previous value is restored afterwards, so a handler may
 * itself run another parser with another allocator.
 */
static _Thread_local const s3i_allocator *tls_alloc;

static void *mm_malloc(size_t n) { return s3i_malloc(tls_alloc, n); }
static void *mm_realloc(void *ptr, size_t n) { return s3i_realloc(tls_alloc, ptr, n); }
static void mm_free(void *ptr) { s3i_free(tls_alloc, ptr); }

static const XML_Memory_Handling_Suite memory_suite = { mm_malloc, mm_realloc, mm_free };

typedef struct frame {
	size_t path_len;   /* path length before this element was appended */
	size_t name_off;   /* offset of this element's name in path */
	size_t text_off;   /* where this element's text starts in the text buffer */
	int has_text;      /* saw non-whitespace character data */
} frame;

struct s3i_xml_parser {
	const s3i_allocator *alloc;
	XML_Parser xp;
	s3i_xml_start_fn start;
	s3i_xml_end_fn end;
	void *user;
	s3i_errinfo *err;
	size_t max_text;
	s3i_buf path;
	s3i_buf text;
	frame *frames;
	int depth;
	int cap;
	int rc;          /* sticky result: first error */
	int finished;    /* is_final seen */
	int in_feed;
};

static s3i_errinfo *errinfo_of(s3i_xml_parser *p)
{
	return p->err ? p->err : s3i_errinfo_thread();
}

/* Record the first failure and ask expat to stop. */
static void fail(s3i_xml_parser *p, int rc)
{
	if (!p->rc)
		p->rc = rc;
	XML_StopParser(p->xp, XML_FALSE);
}

static void fail_msg(s3i_xml_parser *p, int rc, const char *fmt, const char *arg)
{
	if (p->rc)
		return;
	s3i_err(p->err, rc, NULL, fmt, arg);
	fail(p, rc);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void oom(s3i_xml_parser *p)
{
	if (p->rc)
		return;
	s3i_err(p->err, S3I_ENOMEM, NULL, "out of memory parsing XML");
	fail(p, S3I_ENOMEM);
}

/* A handler stopped the parse; a failure it did not describe gets a generic description. */
static void handler_failed(s3i_xml_parser *p, int rc)
{
	if (rc > 0)
		rc = S3I_EUSER;
	s3i_errinfo *e = errinfo_of(p);
	if (e->pub.code == 0)
		s3i_err(p->err, rc, NULL, "XML handler for <%s> failed: %s", s3i_buf_cstr(&p->path),
			s3i_strerror(rc));
	fail(p, rc);
}

static void XMLCALL on_start(void *ud, const XML_Char *qname, const XML_Char **atts)
{
	(void)atts;
	s3i_xml_parser *p = ud;
	if (p->rc)
		return;
	if (p->depth >= S3I_XML_MAX_DEPTH) {
		s3i_err(p->err, S3I_EPARSE, NULL, "XML elements nested deeper than %d", S3I_XML_MAX_DEPTH);
		fail(p, S3I_EPARSE);
		return;
	}
	if (p->depth == p->cap) {
		int ncap = p->cap ? p->cap * 2 : 16;
		frame *nf = s3i_realloc(p->alloc, p->frames, (size_t)ncap * sizeof(frame));
		if (!nf) {
			oom(p);
			return;
		}
		p->frames = nf;
		p->cap = ncap;
	}
	if (p->depth > 0) {
		/* indentation before a child is not text */
		frame *parent = &p->frames[p->depth - 1];
		if (!parent->has_text)
			s3i_buf_truncate(&p->text, parent->text_off);
	}
	const char *local = strrchr(qname, NS_SEP);
	local = local ? local + 1 : qname;
	frame *f = &p->frames[p->depth];
	f->path_len = p->path.size;
	f->text_off = p->text.size;
	f->has_text = 0;
	int rc = p->depth > 0 ? s3i_buf_putc(&p->path, '/') : S3I_OK;
	f->name_off = p->path.size;
	if (!rc)
		rc = s3i_buf_puts(&p->path, local);
	if (rc) {
		s3i_buf_truncate(&p->path, f->path_len);
		oom(p);
		return;
	}
	p->depth++;
	if (p->start) {
		s3i_errinfo *e = errinfo_of(p);
		e->pub.code = 0;
		rc = p->start(p->user, p->path.ptr, p->path.ptr + f->name_off, p->depth);
		if (rc)
			handler_failed(p, rc);
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *qname)
{
	(void)qname;
	s3i_xml_parser *p = ud;
	if (p->rc || p->depth == 0)
		return;
	frame *f = &p->frames[p->depth - 1];
	int rc = S3I_OK;
	if (p->end) {
		const char *text = p->text.ptr ? p->text.ptr + f->text_off : "";
		size_t len = p->text.size - f->text_off;
		s3i_errinfo *e = errinfo_of(p);
		e->pub.code = 0;
		rc = p->end(p->user, p->path.ptr, p->path.ptr + f->name_off, p->depth, text, len);
	}
	if (rc) {
		handler_failed(p, rc);
		return;
	}
	s3i_buf_truncate(&p->text, f->text_off);
	s3i_buf_truncate(&p->path, f->path_len);
	p->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	s3i_xml_parser *p = ud;
	if (p->rc || p->depth == 0 || len <= 0)
		return;
	frame *f = &p->frames[p->depth - 1];
	size_t have = p->text.size - f->text_off;
	if ((size_t)len > p->max_text || have > p->max_text - (size_t)len) {
		char lim[32];
		snprintf(lim, sizeof(lim), "%zu", p->max_text);
		s3i_err(p->err, S3I_EPARSE, NULL, "XML text of <%s> is longer than %s bytes",
			s3i_buf_cstr(&p->path), lim);
		fail(p, S3I_EPARSE);
		return;
	}
	if (!f->has_text) {
		for (int i = 0; i < len; i++) {
			if (!is_space(s[i])) {
				f->has_text = 1;
				break;
			}
		}
	}
	if (s3i_buf_put(&p->text, s, (size_t)len))
		oom(p);
}

static const char no_entities[] = "XML entity declarations are not accepted";

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
	const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	if (has_internal_subset)
		fail_msg(ud, S3I_EPARSE, "%s", no_entities);
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
	const XML_Char *value, int value_len, const XML_Char *base, const XML_Char *sysid,
	const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail_msg(ud, S3I_EPARSE, "%s", no_entities);
}

static void XMLCALL on_skipped_entity(void *ud, const XML_Char *name, int is_param)
{
	(void)is_param;
	fail_msg(ud, S3I_EPARSE, "undefined XML entity '%.64s' is not accepted", name);
}

static int XMLCALL on_external_entity(XML_Parser xp, const XML_Char *context,
	const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid)
{
	(void)context;
	(void)base;
	(void)pubid;
	s3i_xml_parser *p = XML_GetUserData(xp);
	if (!p->rc) {
		s3i_err(p->err, S3I_EPARSE, NULL, "external XML entity '%.200s' is not accepted",
			sysid ? sysid : "");
		p->rc = S3I_EPARSE;
	}
	return XML_STATUS_ERROR;
}

/* Create and configure the expat parser; tls_alloc must already be set. */
static XML_Parser make_expat(s3i_xml_parser *p)
{
	const XML_Char sep[2] = { NS_SEP, 0 };
	XML_Parser xp = XML_ParserCreate_MM(NULL, &memory_suite, sep);
	if (!xp)
		return NULL;
	XML_SetUserData(xp, p);
	XML_SetElementHandler(xp, on_start, on_end);
	XML_SetCharacterDataHandler(xp, on_text);
	XML_SetStartDoctypeDeclHandler(xp, on_doctype);
	XML_SetEntityDeclHandler(xp, on_entity_decl);
	XML_SetSkippedEntityHandler(xp, on_skipped_entity);
	XML_SetExternalEntityRefHandler(xp, on_external_entity);
	XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
	return xp;
}

int s3i_xml_parser_new(s3i_xml_parser **out, const s3i_allocator *a, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err)
{
	if (!out)
		return s3i_err(err, S3I_EINVALID, NULL, "s3i_xml_parser_new: out is NULL");
	*out = NULL;
	if (!a)
		a = s3i_allocator_default();
	s3i_xml_parser *p = s3i_calloc(a, 1, sizeof(*p));
	if (!p)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating an XML parser");
	p->alloc = a;
	p->start = start;
	p->end = end;
	p->user = user;
	p->err = err;
	p->max_text = S3I_XML_DEFAULT_MAX_TEXT;
	s3i_buf_init(&p->path, a);
	s3i_buf_init(&p->text, a);
	const s3i_allocator *saved = tls_alloc;
	tls_alloc = a;
	p->xp = make_expat(p);
	tls_alloc = saved;
	if (!p->xp) {
		s3i_free(a, p);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating an XML parser");
	}
	*out = p;
	return S3I_OK;
}

void s3i_xml_parser_free(s3i_xml_parser *p)
{
	if (!p)
		return;
	const s3i_allocator *saved = tls_alloc;
	tls_alloc = p->alloc;
	XML_ParserFree(p->xp);
	tls_alloc = saved;
	s3i_buf_dispose(&p->path);
	s3i_buf_dispose(&p->text);
	s3i_free(p->alloc, p->frames);
	s3i_free(p->alloc, p);
}

void s3i_xml_parser_set_max_text(s3i_xml_parser *p, size_t max_text)
{
	if (p)
		p->max_text = max_text ? max_text : S3I_XML_DEFAULT_MAX_TEXT;
}

/* Turn an expat failure into our error, unless a handler already recorded one. */
static int expat_failed(s3i_xml_parser *p)
{
	if (p->rc)
		return p->rc;
	enum XML_Error code = XML_GetErrorCode(p->xp);
	if (code == XML_ERROR_NO_MEMORY) {
		p->rc = S3I_ENOMEM;
		return s3i_err(p->err, S3I_ENOMEM, NULL, "out of memory parsing XML");
	}
	const XML_LChar *msg = XML_ErrorString(code);
	p->rc = S3I_EPARSE;
	return s3i_err(p->err, S3I_EPARSE, NULL, "XML parse error at line %lu, column %lu: %s",
		(unsigned long)XML_GetCurrentLineNumber(p->xp),
		(unsigned long)XML_GetCurrentColumnNumber(p->xp) + 1, msg ? msg : "unknown error");
}

int s3i_xml_parser_feed(s3i_xml_parser *p, const char *data, size_t len, int is_final)
{
	if (!p)
		return s3i_err(NULL, S3I_EINVALID, NULL, "s3i_xml_parser_feed: parser is NULL");
	if (p->in_feed)
		return s3i_err(p->err, S3I_EINVALID, NULL, "XML parser fed from its own handler");
	if (p->rc)
		return p->rc;
	if (p->finished)
		return s3i_err(p->err, S3I_EINVALID, NULL, "XML parser fed after the final chunk");
	if (!data || !len) {
		data = "";
		len = 0;
	}
	const s3i_allocator *saved = tls_alloc;
	tls_alloc = p->alloc;
	p->in_feed = 1;
	int rc = S3I_OK;
	do {
		size_t n = len > FEED_SLICE ? FEED_SLICE : len;
		int last = is_final && n == len;
		if (XML_Parse(p->xp, data, (int)n, last) != XML_STATUS_OK || p->rc) {
			rc = expat_failed(p);
			break;
		}
		data += n;
		len -= n;
	} while (len > 0);
	p->in_feed = 0;
	tls_alloc = saved;
	if (!rc && is_final)
		p->finished = 1;
	return rc;
}

int s3i_xml_parse(const s3i_allocator *a, const char *data, size_t len, s3i_xml_start_fn start,
	s3i_xml_end_fn end, void *user, s3i_errinfo *err)
{
	s3i_xml_parser *p = NULL;
	int rc = s3i_xml_parser_new(&p, a, start, end, user, err);
	if (rc)
		return rc;
	rc = s3i_xml_parser_feed(p, data, len, 1);
	s3i_xml_parser_free(p);
	return rc;
}

/* ---------------------------------------------------------------- writing */

static const char *escape_of(unsigned char c, char tmp[8])
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&apos;";
	case '\t': return "&#9;";
	case '\n': return "&#10;";
	case '\r': return "&#13;";
	default:
		break;
	}
	if (c < 0x20) {
		static const char hex[] = "0123456789ABCDEF";
		char *q = tmp;
		*q++ = '&';
		*q++ = '#';
		*q++ = 'x';
		if (c >= 0x10)
			*q++ = hex[c >> 4];
		*q++ = hex[c & 15];
		*q++ = ';';
		*q = '\0';
		return tmp;
	}
	return NULL;
}

int s3i_xml_escape(s3i_buf *out, const char *s, size_t len)
{
	if (!s)
		len = 0;
	size_t mark = out->size;
	size_t run = 0;   /* start of the pending run of plain bytes */
	int rc = S3I_OK;
	for (size_t i = 0; i < len && !rc; i++) {
		char tmp[8];
		const char *esc = escape_of((unsigned char)s[i], tmp);
		if (!esc)
			continue;
		rc = s3i_buf_put(out, s + run, i - run);
		if (!rc)
			rc = s3i_buf_puts(out, esc);
		run = i + 1;
	}
	if (!rc && len > run)
		rc = s3i_buf_put(out, s + run, len - run);
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

int s3i_xml_element(s3i_buf *out, const char *name, const char *text)
{
	if (!name || !*name)
		return S3I_EINVALID;
	size_t mark = out->size;
	int rc = s3i_buf_putc(out, '<');
	if (!rc)
		rc = s3i_buf_puts(out, name);
	if (!rc)
		rc = s3i_buf_putc(out, '>');
	if (!rc && text)
		rc = s3i_xml_escape(out, text, strlen(text));
	if (!rc)
		rc = s3i_buf_puts(out, "</");
	if (!rc)
		rc = s3i_buf_puts(out, name);
	if (!rc)
		rc = s3i_buf_putc(out, '>');
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}
