/* The streaming XML reader and the XML writers (src/core/xml.c). */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/xml.h"

/* Every event as one line, in a buffer on the default allocator so that the counting
 * allocator only sees the parser's own memory. */
typedef struct recorder {
	s3i_buf log;
	int stop_at_end;   /* return S3I_EUSER from the n-th end event */
	int ends;
} recorder;

static void rec_init(recorder *r)
{
	memset(r, 0, sizeof(*r));
	s3i_buf_init(&r->log, s3i_allocator_default());
}

static int rec_start(void *user, const char *path, const char *name, int depth)
{
	recorder *r = user;
	return s3i_buf_printf(&r->log, "S %d %s [%s]\n", depth, path, name);
}

static int rec_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	recorder *r = user;
	assert_non_null(text);
	assert_int_equal(text[len], '\0');
	if (r->stop_at_end && ++r->ends == r->stop_at_end)
		return S3I_EUSER;
	s3i_buf_printf(&r->log, "E %d %s [%s] \"", depth, path, name);
	s3i_buf_put(&r->log, text, len);
	return s3i_buf_puts(&r->log, "\"\n");
}

static const char list_v2[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	"  <Name>example-bucket</Name>\n"
	"  <Prefix>photos/</Prefix>\n"
	"  <KeyCount>2</KeyCount>\n"
	"  <MaxKeys>1000</MaxKeys>\n"
	"  <EncodingType>url</EncodingType>\n"
	"  <IsTruncated>true</IsTruncated>\n"
	"  <Contents>\n"
	"    <Key>photos/2006/January/sample.jpg</Key>\n"
	"    <LastModified>2011-02-26T01:56:20.000Z</LastModified>\n"
	"    <ETag>&quot;bf1d737a4d46a19f3bced6905cc8b902&quot;</ETag>\n"
	"    <Size>142863</Size>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"  </Contents>\n"
	"  <Contents>\n"
	"    <Key>photos/caf%C3%A9+menu.pdf</Key>\n"
	"    <LastModified>2011-02-27T10:01:02.000Z</LastModified>\n"
	"    <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e-2&quot;</ETag>\n"
	"    <Size>0</Size>\n"
	"    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
	"<DisplayName>mtd@amazon.com</DisplayName></Owner>\n"
	"    <StorageClass>GLACIER_IR</StorageClass>\n"
	"  </Contents>\n"
	"  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
	"</ListBucketResult>\n";

static char *parse_log(const char *doc, size_t len, size_t chunk, int *rc_out)
{
	recorder r;
	rec_init(&r);
	s3i_xml_parser *p = NULL;
	assert_int_equal(s3i_xml_parser_new(&p, s3i_test_alloc(), rec_start, rec_end, &r, NULL), 0);
	int rc = 0;
	size_t off = 0;
	while (!rc && off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		rc = s3i_xml_parser_feed(p, doc + off, n, 0);
		off += n;
	}
	if (!rc)
		rc = s3i_xml_parser_feed(p, NULL, 0, 1);
	s3i_xml_parser_free(p);
	*rc_out = rc;
	return s3i_buf_detach(&r.log);
}

static void t_events(void **state)
{
	(void)state;
	int rc;
	char *log = parse_log(list_v2, strlen(list_v2), strlen(list_v2), &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(log, "S 1 ListBucketResult [ListBucketResult]\n"));
	assert_non_null(strstr(log, "E 2 ListBucketResult/Name [Name] \"example-bucket\"\n"));
	assert_non_null(strstr(log,
		"E 3 ListBucketResult/Contents/ETag [ETag] \"\"bf1d737a4d46a19f3bced6905cc8b902\"\"\n"));
	assert_non_null(strstr(log,
		"E 4 ListBucketResult/Contents/Owner/DisplayName [DisplayName] \"mtd@amazon.com\"\n"));
	assert_non_null(strstr(log, "E 3 ListBucketResult/Contents/Key [Key] \"photos/caf%C3%A9+menu.pdf\"\n"));
	/* indentation before children is not text; what trails the last child is whitespace */
	assert_non_null(strstr(log, "E 2 ListBucketResult/Contents [Contents] \"\n  \"\n"));
	assert_non_null(strstr(log, "E 1 ListBucketResult [ListBucketResult] \"\n\"\n"));
	s3i_free(s3i_allocator_default(), log);
}

static void t_chunking_gives_same_events(void **state)
{
	(void)state;
	int rc;
	char *whole = parse_log(list_v2, strlen(list_v2), strlen(list_v2), &rc);
	assert_int_equal(rc, 0);
	for (size_t chunk = 1; chunk < 40; chunk += (chunk < 8 ? 1 : 7)) {
		char *log = parse_log(list_v2, strlen(list_v2), chunk, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(log, whole);
		s3i_free(s3i_allocator_default(), log);
	}
	s3i_free(s3i_allocator_default(), whole);
}

static void t_namespaces_report_local_names(void **state)
{
	(void)state;
	static const char doc[] =
		"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
		"xmlns=\"urn:default\" xmlns:x=\"urn:x\">"
		"<s:Body><x:Item>1</x:Item><Item>2</Item><x:Item xmlns:x=\"urn:other\">3</x:Item></s:Body>"
		"</s:Envelope>";
	int rc;
	char *log = parse_log(doc, strlen(doc), 5, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(log,
		"S 1 Envelope [Envelope]\n"
		"S 2 Envelope/Body [Body]\n"
		"S 3 Envelope/Body/Item [Item]\n"
		"E 3 Envelope/Body/Item [Item] \"1\"\n"
		"S 3 Envelope/Body/Item [Item]\n"
		"E 3 Envelope/Body/Item [Item] \"2\"\n"
		"S 3 Envelope/Body/Item [Item]\n"
		"E 3 Envelope/Body/Item [Item] \"3\"\n"
		"E 2 Envelope/Body [Body] \"\"\n"
		"E 1 Envelope [Envelope] \"\"\n");
	s3i_free(s3i_allocator_default(), log);
	/* an undeclared prefix is a namespace error */
	log = parse_log("<a:b>1</a:b>", 12, 12, &rc);
	assert_int_equal(rc, S3I_EPARSE);
	s3i_free(s3i_allocator_default(), log);
}

static void t_cdata_entities_and_char_refs(void **state)
{
	(void)state;
	static const char doc[] =
		"<r><m><![CDATA[a < b && c]]> ]]&gt;</m>"
		"<e>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x20AC;&#128512;</e>"
		"<mix>x<![CDATA[<y/>]]>z</mix><ws>  two  </ws><empty/></r>";
	int rc;
	for (size_t chunk = 1; chunk <= sizeof(doc); chunk *= 3) {
		char *log = parse_log(doc, strlen(doc), chunk, &rc);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(log, "E 2 r/m [m] \"a < b && c ]]>\"\n"));
		assert_non_null(strstr(log, "E 2 r/e [e] \"<>&\"' AB\xE2\x82\xAC\xF0\x9F\x98\x80\"\n"));
		assert_non_null(strstr(log, "E 2 r/mix [mix] \"x<y/>z\"\n"));
		assert_non_null(strstr(log, "E 2 r/ws [ws] \"  two  \"\n"));
		assert_non_null(strstr(log, "E 2 r/empty [empty] \"\"\n"));
		s3i_free(s3i_allocator_default(), log);
	}
}

static void t_latin1_is_converted(void **state)
{
	(void)state;
	static const char doc[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><k>caf\xE9</k>";
	int rc;
	char *log = parse_log(doc, strlen(doc), 3, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(log, "S 1 k [k]\nE 1 k [k] \"caf\xC3\xA9\"\n");
	s3i_free(s3i_allocator_default(), log);
}

static void expect_refused(const char *doc, const char *msg_part)
{
	for (size_t chunk = 1; chunk <= strlen(doc); chunk = chunk * 2 + 1) {
		int rc;
		char *log = parse_log(doc, strlen(doc), chunk, &rc);
		assert_int_equal(rc, S3I_EPARSE);
		assert_non_null(strstr(s3i_error_last()->message, msg_part));
		assert_int_equal(s3i_error_last()->code, S3I_EPARSE);
		/* nothing of the entity's text ever reached a handler */
		assert_null(strstr(log, "lol"));
		assert_null(strstr(log, "root:"));
		s3i_free(s3i_allocator_default(), log);
	}
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc, strlen(doc), NULL, NULL, NULL, &e),
		S3I_EPARSE);
	assert_non_null(strstr(e.message, msg_part));
}

static void t_billion_laughs_refused(void **state)
{
	(void)state;
	expect_refused(
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<lolz>&lol9;</lolz>\n",
		"XML entity declarations are not accepted");
	/* a harmless-looking internal subset is refused too */
	expect_refused("<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><a>x</a>",
		"XML entity declarations are not accepted");
	/* parameter entities */
	expect_refused("<!DOCTYPE a [<!ENTITY % p \"<!ENTITY lol 'x'>\"> %p;]><a>&lol;</a>",
		"XML entity declarations are not accepted");
}

static void t_external_entities_refused(void **state)
{
	(void)state;
	expect_refused(
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
		"<foo>&xxe;</foo>\n",
		"XML entity declarations are not accepted");
	/* an external DTD is never loaded, and what it might define stays undefined */
	expect_refused(
		"<!DOCTYPE foo SYSTEM \"http://attacker.example/evil.dtd\"><foo>&xxe;</foo>",
		"undefined XML entity 'xxe'");
	/* a DOCTYPE alone is harmless */
	int rc;
	char *log = parse_log("<!DOCTYPE html><html><title>t</title></html>", 44, 44, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(log, "E 2 html/title [title] \"t\""));
	s3i_free(s3i_allocator_default(), log);
	/* without any DTD an unknown entity is plain malformed XML */
	log = parse_log("<a>&nbsp;</a>", 13, 13, &rc);
	assert_int_equal(rc, S3I_EPARSE);
	assert_non_null(strstr(s3i_error_last()->message, "undefined entity"));
	s3i_free(s3i_allocator_default(), log);
}

static void t_malformed_names_line_and_column(void **state)
{
	(void)state;
	static const char doc[] = "<Error>\n  <Code>NoSuchKey</Code>\n  <Message>oops</Mesage>\n</Error>";
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc, strlen(doc), NULL, NULL, NULL, &e),
		S3I_EPARSE);
	assert_string_equal(e.message, "XML parse error at line 3, column 18: mismatched tag");
	assert_int_equal(e.pub.code, S3I_EPARSE);
	/* the thread's error mirrors it */
	assert_string_equal(s3i_error_last()->message, e.message);

	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), "", 0, NULL, NULL, NULL, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "no element found"));
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), NULL, 0, NULL, NULL, NULL, &e), S3I_EPARSE);
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), "<a></a><b/>", 11, NULL, NULL, NULL, &e),
		S3I_EPARSE);
	assert_non_null(strstr(e.message, "line 1, column 8: junk after document element"));
	/* truncated: only the final chunk shows it */
	s3i_xml_parser *p;
	assert_int_equal(s3i_xml_parser_new(&p, s3i_test_alloc(), NULL, NULL, NULL, &e), 0);
	assert_int_equal(s3i_xml_parser_feed(p, "<a><b>", 6, 0), 0);
	assert_int_equal(s3i_xml_parser_feed(p, "", 0, 1), S3I_EPARSE);
	assert_non_null(strstr(e.message, "no element found"));
	/* sticky */
	assert_int_equal(s3i_xml_parser_feed(p, "</b></a>", 8, 1), S3I_EPARSE);
	s3i_xml_parser_free(p);
	s3i_xml_parser_free(NULL);
}

static void t_max_text(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		s3i_xml_parser *p;
		recorder r;
		rec_init(&r);
		assert_int_equal(s3i_xml_parser_new(&p, s3i_test_alloc(), rec_start, rec_end, &r, &e), 0);
		s3i_xml_parser_set_max_text(p, 10);
		static const char ok[] = "<a>\n   <b>0123456789</b>\n   <c>0123&amp;5678</c>\n";
		int rc = 0;
		for (size_t off = 0; off < sizeof(ok) - 1 && !rc; off += chunk)
			rc = s3i_xml_parser_feed(p, ok + off,
				sizeof(ok) - 1 - off < chunk ? sizeof(ok) - 1 - off : chunk, 0);
		assert_int_equal(rc, 0);
		static const char bad[] = "<d>0123456789X</d></a>";
		for (size_t off = 0; off < sizeof(bad) - 1 && !rc; off += chunk)
			rc = s3i_xml_parser_feed(p, bad + off,
				sizeof(bad) - 1 - off < chunk ? sizeof(bad) - 1 - off : chunk, 0);
		assert_int_equal(rc, S3I_EPARSE);
		assert_string_equal(e.message, "XML text of <a/d> is longer than 10 bytes");
		assert_non_null(strstr(r.log.ptr, "E 2 a/c [c] \"0123&5678\""));
		s3i_xml_parser_free(p);
		s3i_buf_dispose(&r.log);
	}
}

static void t_depth_limit(void **state)
{
	(void)state;
	s3i_buf doc;
	s3i_buf_init(&doc, s3i_allocator_default());
	for (int i = 0; i < S3I_XML_MAX_DEPTH; i++)
		s3i_buf_puts(&doc, "<d>");
	for (int i = 0; i < S3I_XML_MAX_DEPTH; i++)
		s3i_buf_puts(&doc, "</d>");
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc.ptr, doc.size, NULL, NULL, NULL, NULL), 0);
	s3i_buf_clear(&doc);
	for (int i = 0; i <= S3I_XML_MAX_DEPTH; i++)
		s3i_buf_puts(&doc, "<d>");
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc.ptr, doc.size, NULL, NULL, NULL, NULL),
		S3I_EPARSE);
	assert_non_null(strstr(s3i_error_last()->message, "nested deeper than 256"));
	s3i_buf_dispose(&doc);
}

static int fail_start(void *user, const char *path, const char *name, int depth)
{
	(void)user;
	(void)name;
	(void)depth;
	if (!strcmp(path, "a/b/c"))
		return s3i_err(NULL, S3I_EINVALID, "c", "the handler did not like <c>");
	return 0;
}

static void t_handler_stops(void **state)
{
	(void)state;
	recorder r;
	rec_init(&r);
	r.stop_at_end = 2;
	static const char doc[] = "<a><b>1</b><b>2</b><b>3</b></a>";
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc, strlen(doc), rec_start, rec_end, &r, NULL),
		S3I_EUSER);
	assert_string_equal(r.log.ptr, "S 1 a [a]\nS 2 a/b [b]\nE 2 a/b [b] \"1\"\nS 2 a/b [b]\n");
	/* a handler that said nothing gets a generic message */
	assert_string_equal(s3i_error_last()->message, "XML handler for <a/b> failed: "
		"stopped by callback");
	s3i_buf_dispose(&r.log);
	/* a handler's own message is kept */
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), "<a><b><c/></b></a>", 18, fail_start, NULL,
		NULL, &e), S3I_EINVALID);
	/* (the handler wrote to the thread's error, not to e: e gets the generic text) */
	assert_string_equal(s3i_error_last()->message, "XML handler for <a/b/c> failed: "
		"invalid argument or input");
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), "<a><b><c/></b></a>", 18, fail_start, NULL,
		NULL, NULL), S3I_EINVALID);
	assert_string_equal(s3i_error_last()->message, "the handler did not like <c>");
}

static int feeds_itself(void *user, const char *path, const char *name, int depth)
{
	(void)path;
	(void)name;
	(void)depth;
	return s3i_xml_parser_feed(*(s3i_xml_parser **)user, "<x/>", 4, 1);
}

static void t_misuse(void **state)
{
	(void)state;
	s3i_xml_parser *p;
	assert_int_equal(s3i_xml_parser_new(&p, s3i_test_alloc(), feeds_itself, NULL, &p, NULL), 0);
	assert_int_equal(s3i_xml_parser_feed(p, "<a/>", 4, 1), S3I_EINVALID);
	s3i_xml_parser_free(p);
	assert_int_equal(s3i_xml_parser_new(&p, s3i_test_alloc(), NULL, NULL, NULL, NULL), 0);
	assert_int_equal(s3i_xml_parser_feed(p, "<a/>", 4, 1), 0);
	assert_int_equal(s3i_xml_parser_feed(p, "", 0, 1), S3I_EINVALID);
	s3i_xml_parser_free(p);
	assert_int_equal(s3i_xml_parser_new(NULL, NULL, NULL, NULL, NULL, NULL), S3I_EINVALID);
	assert_int_equal(s3i_xml_parser_feed(NULL, "", 0, 1), S3I_EINVALID);
}

/* A handler may run another parser on another allocator: each keeps its own memory. */
static int nested_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	(void)path;
	(void)name;
	(void)depth;
	recorder *r = user;
	if (strcmp(name, "inner"))
		return 0;
	return s3i_xml_parse(NULL, text, len, rec_start, rec_end, r, NULL);
}

static void t_nested_parsers(void **state)
{
	(void)state;
	recorder r;
	rec_init(&r);
	static const char doc[] = "<a><inner>&lt;x&gt;&lt;y&gt;1&lt;/y&gt;&lt;/x&gt;</inner></a>";
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc, strlen(doc), NULL, nested_end, &r, NULL), 0);
	assert_string_equal(r.log.ptr, "S 1 x [x]\nS 2 x/y [y]\nE 2 x/y [y] \"1\"\nE 1 x [x] \"\"\n");
	s3i_buf_dispose(&r.log);
}

static void t_expat_uses_our_allocator(void **state)
{
	(void)state;
	s3i_xml_parser *p;
	assert_int_equal(s3i_xml_parser_new(&p, s3i_test_alloc(), NULL, NULL, NULL, NULL), 0);
	/* the wrapper is one allocation; expat's parser, buffers and hash tables are the rest */
	assert_true(s3i_test_alloc_outstanding() > 3);
	long before = s3i_test_alloc_count();
	assert_int_equal(s3i_xml_parser_feed(p, list_v2, strlen(list_v2), 1), 0);
	assert_true(s3i_test_alloc_count() > before);
	s3i_xml_parser_free(p);
	assert_int_equal(s3i_test_alloc_outstanding(), 0);
}

static void t_oom_whole_document(void **state)
{
	(void)state;
	int rc = -1;
	long n;
	for (n = 0; n < 10000; n++) {
		recorder r;
		rec_init(&r);
		s3i_test_alloc_fail_after(n);
		rc = s3i_xml_parse(s3i_test_alloc(), list_v2, strlen(list_v2), rec_start, rec_end, &r, NULL);
		s3i_test_alloc_fail_after(-1);
		s3i_buf_dispose(&r.log);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, S3I_ENOMEM);
		assert_int_equal(s3i_error_last()->code, S3I_ENOMEM);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 5);
}

static void t_oom_streaming(void **state)
{
	(void)state;
	int rc = -1;
	for (long n = 0; n < 10000 && rc; n++) {
		recorder r;
		rec_init(&r);
		s3i_test_alloc_fail_after(n);
		s3i_xml_parser *p = NULL;
		rc = s3i_xml_parser_new(&p, s3i_test_alloc(), rec_start, rec_end, &r, NULL);
		for (size_t off = 0; !rc && off < sizeof(list_v2) - 1; off += 7)
			rc = s3i_xml_parser_feed(p, list_v2 + off,
				sizeof(list_v2) - 1 - off < 7 ? sizeof(list_v2) - 1 - off : 7, 0);
		if (!rc)
			rc = s3i_xml_parser_feed(p, NULL, 0, 1);
		s3i_xml_parser_free(p);
		s3i_test_alloc_fail_after(-1);
		s3i_buf_dispose(&r.log);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
		if (rc)
			assert_int_equal(rc, S3I_ENOMEM);
	}
	assert_int_equal(rc, 0);
}

static void t_escape(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_xml_escape(&b, "plain", 5), 0);
	assert_string_equal(b.ptr, "plain");
	s3i_buf_clear(&b);
	static const char nasty[] = "a&b<c>d\"e'f\tg\nh\ri\x01j\x1Fk caf\xC3\xA9";
	assert_int_equal(s3i_xml_escape(&b, nasty, strlen(nasty)), 0);
	assert_string_equal(b.ptr, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i&#x1;j&#x1F;k caf\xC3\xA9");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_xml_escape(&b, "x\0y", 3), 0);
	assert_int_equal(b.size, 7);
	assert_memory_equal(b.ptr, "x&#x0;y", 7);
	s3i_buf_clear(&b);
	assert_int_equal(s3i_xml_escape(&b, NULL, 0), 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(s3i_xml_element(&b, "Key", "photos/a&b <1>.jpg"), 0);
	assert_int_equal(s3i_xml_element(&b, "VersionId", NULL), 0);
	assert_string_equal(b.ptr, "<Key>photos/a&amp;b &lt;1&gt;.jpg</Key><VersionId></VersionId>");
	assert_int_equal(s3i_xml_element(&b, "", "x"), S3I_EINVALID);
	assert_int_equal(s3i_xml_element(&b, NULL, "x"), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void t_escape_round_trips(void **state)
{
	(void)state;
	/* every printable/whitespace byte a key may hold, plus UTF-8, survives write and read */
	char text[200];
	size_t n = 0;
	text[n++] = '\t';
	text[n++] = '\n';
	text[n++] = '\r';
	text[n++] = '\r';
	text[n++] = '\n';
	for (int c = 0x20; c < 0x7F; c++)
		text[n++] = (char)c;
	memcpy(text + n, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9);
	n += 9;
	text[n] = '\0';
	s3i_buf doc;
	s3i_buf_init(&doc, s3i_test_alloc());
	assert_int_equal(s3i_buf_puts(&doc, "<Delete><Object>"), 0);
	assert_int_equal(s3i_xml_element(&doc, "Key", text), 0);
	assert_int_equal(s3i_buf_puts(&doc, "</Object></Delete>"), 0);
	recorder r;
	rec_init(&r);
	assert_int_equal(s3i_xml_parse(s3i_test_alloc(), doc.ptr, doc.size, NULL, rec_end, &r, NULL), 0);
	s3i_buf want;
	s3i_buf_init(&want, s3i_allocator_default());
	s3i_buf_printf(&want, "E 3 Delete/Object/Key [Key] \"%s\"\n", text);
	assert_non_null(strstr(r.log.ptr, want.ptr));
	s3i_buf_dispose(&want);
	s3i_buf_dispose(&r.log);
	s3i_buf_dispose(&doc);
}

static void t_escape_oom_leaves_buffer(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_buf_puts(&b, "<Key>"), 0);
	char big[300];
	memset(big, '&', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s3i_test_alloc_fail_after(0);
	assert_int_equal(s3i_xml_escape(&b, big, strlen(big)), S3I_ENOMEM);
	assert_int_equal(s3i_xml_element(&b, "Key", big), S3I_ENOMEM);
	s3i_test_alloc_fail_after(-1);
	assert_string_equal(b.ptr, "<Key>");
	s3i_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_events),
		S3I_TEST(t_chunking_gives_same_events),
		S3I_TEST(t_namespaces_report_local_names),
		S3I_TEST(t_cdata_entities_and_char_refs),
		S3I_TEST(t_latin1_is_converted),
		S3I_TEST(t_billion_laughs_refused),
		S3I_TEST(t_external_entities_refused),
		S3I_TEST(t_malformed_names_line_and_column),
		S3I_TEST(t_max_text),
		S3I_TEST(t_depth_limit),
		S3I_TEST(t_handler_stops),
		S3I_TEST(t_misuse),
		S3I_TEST(t_nested_parsers),
		S3I_TEST(t_expat_uses_our_allocator),
		S3I_TEST(t_oom_whole_document),
		S3I_TEST(t_oom_streaming),
		S3I_TEST(t_escape),
		S3I_TEST(t_escape_round_trips),
		S3I_TEST(t_escape_oom_leaves_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
