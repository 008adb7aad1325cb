/* The MIME builder (src/services/mime.c). Every message built here is taken apart again by a
 * small, independent decoder written below (header unfolding, RFC 2047 B and Q words, address
 * lists, multipart splitting, quoted-printable and base64), and the decoded text must equal
 * what went in: ASCII, UTF-8, long subjects and names, long lines, dots and "From " at line
 * starts, trailing white space. Line lengths, CRLF endings and encoded-word sizes are checked
 * on the raw text; a golden message pins the structure; header injection and bad input are
 * refused naming the header; an out-of-memory loop leaves the output untouched. */
#include "test_alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "services/mime.h"
#include "core/str.h"

/* ------------------------------------------------------------------ a small decoder */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 with line breaks ignored; anything else outside the alphabet fails the test. */
static size_t b64_decode(const char *in, size_t len, char *out)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=')
			break;
		int v = b64val((unsigned char)c);
		if (v < 0)
			fail_msg("bad base64 character 0x%02x", (unsigned char)c);
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = 0;
	return n;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;   /* RFC 2045: uppercase only */
}

static size_t qp_decode(const char *in, size_t len, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			out[n++] = in[i];
			continue;
		}
		if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
			i += 2;   /* soft line break */
			continue;
		}
		assert_true(i + 2 < len);
		int h = hexval((unsigned char)in[i + 1]), l = hexval((unsigned char)in[i + 2]);
		assert_true(h >= 0 && l >= 0);
		out[n++] = (char)(h * 16 + l);
		i += 2;
	}
	out[n] = 0;
	return n;
}

static int utf8_ok(const char *s, size_t len)
{
	return s3i_utf8_valid(s, len);
}

/* Decode RFC 2047 words in an unstructured value; white space between two adjacent
 * encoded-words is dropped. Each word must be <= 75 characters and decode, alone, to valid
 * UTF-8 (so no word ends inside a character). */
static void decode_2047(const char *in, char *out)
{
	size_t n = 0;
	int prev_word = 0;
	const char *p = in;
	while (*p) {
		const char *w = strstr(p, "=?");
		const char *end = w ? strstr(w + 2, "?=") : NULL;
		/* find the end past the charset and encoding: =?cs?E?text?= */
		if (w) {
			const char *q1 = strchr(w + 2, '?');
			const char *q2 = q1 ? strchr(q1 + 1, '?') : NULL;
			end = q2 ? strstr(q2 + 1, "?=") : NULL;
		}
		if (!w || !end) {
			strcpy(out + n, p);
			n += strlen(p);
			break;
		}
		/* the text before the word: dropped when only white space between two words */
		size_t gap = (size_t)(w - p);
		int blank = 1;
		for (size_t i = 0; i < gap; i++)
			if (p[i] != ' ' && p[i] != '\t')
				blank = 0;
		if (!(prev_word && blank)) {
			memcpy(out + n, p, gap);
			n += gap;
		}
		size_t wlen = (size_t)(end + 2 - w);
		assert_true(wlen <= S3I_MIME_WORD_MAX);
		const char *q1 = strchr(w + 2, '?');
		assert_true(strncasecmp(w + 2, "UTF-8", (size_t)(q1 - w - 2)) == 0);
		char enc = q1[1];
		const char *text = q1 + 3;
		size_t tlen = (size_t)(end - text), got;
		char buf[256];
		if (enc == 'B' || enc == 'b') {
			got = b64_decode(text, tlen, buf);
		} else {
			got = 0;
			for (size_t i = 0; i < tlen; i++) {
				if (text[i] == '_')
					buf[got++] = ' ';
				else if (text[i] == '=' && i + 2 < tlen + 1) {
					buf[got++] = (char)(hexval(text[i + 1]) * 16 + hexval(text[i + 2]));
					i += 2;
				} else
					buf[got++] = text[i];
			}
		}
		assert_true(utf8_ok(buf, got));
		memcpy(out + n, buf, got);
		n += got;
		p = end + 2;
		prev_word = 1;
	}
	out[n] = 0;
}

typedef struct parsed {
	char *raw;                /* the whole message, NUL-terminated copy */
	char *headers;            /* unfolded header block */
	const char *body;         /* after the blank line */
} parsed;

static void parse_message(parsed *m, const char *msg, size_t len)
{
	m->raw = malloc(len + 1);
	memcpy(m->raw, msg, len);
	m->raw[len] = 0;
	/* CRLF everywhere: no bare CR or LF */
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r')
			assert_true(i + 1 < len && msg[i + 1] == '\n');
		if (msg[i] == '\n')
			assert_true(i > 0 && msg[i - 1] == '\r');
	}
	/* every line at most 76 characters */
	size_t col = 0;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			if (col > S3I_MIME_LINE_MAX)
				fail_msg("a line of %zu characters ends at offset %zu", col, i);
			col = 0;
			i++;
			continue;
		}
		col++;
	}
	assert_true(col <= S3I_MIME_LINE_MAX);
	const char *sep = strstr(m->raw, "\r\n\r\n");
	assert_non_null(sep);
	m->body = sep + 4;
	size_t hl = (size_t)(sep - m->raw) + 2;
	m->headers = malloc(hl + 1);
	size_t n = 0;
	for (size_t i = 0; i < hl; i++) {
		/* unfolding: CRLF followed by white space goes, the white space stays */
		if (m->raw[i] == '\r' && i + 2 < hl && (m->raw[i + 2] == ' ' || m->raw[i + 2] == '\t')) {
			i++;
			continue;
		}
		m->headers[n++] = m->raw[i];
	}
	m->headers[n] = 0;
}

static void parsed_free(parsed *m)
{
	free(m->raw);
	free(m->headers);
}

/* The unfolded value of a header (static buffer), NULL when absent; fails when repeated. */
static const char *header(const char *headers, const char *name)
{
	static char val[8192];
	const char *found = NULL;
	size_t nl = strlen(name);
	for (const char *line = headers; *line;) {
		const char *eol = strstr(line, "\r\n");
		assert_non_null(eol);
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			assert_null(found);
			found = line;
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(eol - v), v);
		}
		line = eol + 2;
	}
	return found ? val : NULL;
}

typedef struct addr {
	char name[512];
	char address[300];
} addr;

/* Split an address list and decode each display name (atoms, quoted-string or words). */
static size_t parse_addresses(const char *value, addr *out, size_t cap)
{
	size_t n = 0;
	const char *p = value;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *start = p;
		int inq = 0;
		while (*p && (inq || *p != ',')) {
			if (*p == '\\' && inq && p[1])
				p++;
			else if (*p == '"')
				inq = !inq;
			p++;
		}
		char one[1024];
		snprintf(one, sizeof(one), "%.*s", (int)(p - start), start);
		if (*p == ',')
			p++;
		assert_true(n < cap);
		addr *a = &out[n++];
		char *lt = strrchr(one, '<');
		if (!lt) {
			a->name[0] = 0;
			snprintf(a->address, sizeof(a->address), "%s", one);
			continue;
		}
		char *gt = strchr(lt, '>');
		assert_non_null(gt);
		snprintf(a->address, sizeof(a->address), "%.*s", (int)(gt - lt - 1), lt + 1);
		while (lt > one && lt[-1] == ' ')
			lt--;
		*lt = 0;
		if (one[0] == '"') {
			size_t k = 0;
			for (char *q = one + 1; *q && *q != '"'; q++) {
				if (*q == '\\')
					q++;
				a->name[k++] = *q;
			}
			a->name[k] = 0;
		} else {
			decode_2047(one, a->name);
		}
	}
	return n;
}

typedef struct body_part {
	char type[64];
	char encoding[32];
	char *text;               /* decoded, malloc */
	size_t len;
	char *encoded;            /* raw, malloc */
} body_part;

/* Decode one entity: its headers (in `hdrs`), its body (b, blen). */
static void decode_entity(body_part *bp, const char *hdrs, const char *b, size_t blen)
{
	const char *ct = header(hdrs, "Content-Type");
	assert_non_null(ct);
	snprintf(bp->type, sizeof(bp->type), "%s", ct);
	const char *cte = header(hdrs, "Content-Transfer-Encoding");
	assert_non_null(cte);
	snprintf(bp->encoding, sizeof(bp->encoding), "%s", cte);
	bp->encoded = malloc(blen + 1);
	memcpy(bp->encoded, b, blen);
	bp->encoded[blen] = 0;
	bp->text = malloc(blen + 1);
	if (!strcmp(cte, "quoted-printable")) {
		bp->len = qp_decode(b, blen, bp->text);
	} else {
		assert_string_equal(cte, "base64");
		bp->len = b64_decode(b, blen, bp->text);
	}
}

/* The parts of a multipart message (or the single body), decoded. Returns the count. */
static size_t parse_parts(const parsed *m, body_part *parts, size_t cap)
{
	const char *ct = header(m->headers, "Content-Type");
	assert_non_null(ct);
	if (strncmp(ct, "multipart/alternative;", 22)) {
		decode_entity(&parts[0], m->headers, m->body, strlen(m->body));
		return 1;
	}
	const char *bq = strstr(ct, "boundary=\"");
	assert_non_null(bq);
	char boundary[128], delim[140];
	snprintf(boundary, sizeof(boundary), "%.*s", (int)(strchr(bq + 10, '"') - bq - 10), bq + 10);
	snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	size_t n = 0;
	const char *p = strstr(m->body, delim);
	assert_non_null(p);
	for (;;) {
		p += strlen(delim);
		if (!strncmp(p, "--", 2)) {
			assert_string_equal(p, "--\r\n");
			break;
		}
		assert_true(!strncmp(p, "\r\n", 2));
		p += 2;
		const char *next = strstr(p, delim);
		assert_non_null(next);
		const char *hend = strstr(p, "\r\n\r\n");
		assert_true(hend && hend < next);
		char hdrs[1024];
		snprintf(hdrs, sizeof(hdrs), "%.*s", (int)(hend + 2 - p), p);
		assert_true(n < cap);
		decode_entity(&parts[n++], hdrs, hend + 4, (size_t)(next - hend - 4));
		/* the boundary occurs nowhere inside the part */
		assert_null(strstr(parts[n - 1].encoded, boundary));
		p = next;
	}
	return n;
}

static void parts_free(body_part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(parts[i].text);
		free(parts[i].encoded);
	}
}

/* LF or CR line breaks as CRLF (what the builder promises to send). */
static char *crlf(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 3);
	size_t n = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
			i++;
		} else if (s[i] == '\r' || s[i] == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
		} else {
			out[n++] = s[i];
		}
	}
	out[n] = 0;
	return out;
}

/* Encoded quoted-printable text: no line starts with '.' or "From ", none ends in white
 * space, and every '=' starts an escape or a soft break. */
static void check_qp_lines(const char *enc)
{
	const char *line = enc;
	while (*line) {
		const char *eol = strstr(line, "\r\n");
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		assert_true(len <= S3I_MIME_LINE_MAX);
		if (len) {
			assert_true(line[0] != '.');
			assert_true(strncmp(line, "From ", 5) != 0);
			assert_true(line[len - 1] != ' ' && line[len - 1] != '\t');
		}
		if (!eol)
			break;
		line = eol + 2;
	}
}

/* ------------------------------------------------------------------ helpers */

static char *build(const s3i_mime_message *msg, size_t *len)
{
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_mime_build(&b, msg, &e);
	if (rc)
		fail_msg("s3i_mime_build: %d %s", rc, e.message);
	char *copy = malloc(b.size + 1);
	memcpy(copy, b.ptr, b.size);
	copy[b.size] = 0;
	*len = b.size;
	s3i_buf_dispose(&b);
	return copy;
}

/* Build, decode, and compare everything that went in. */
static void round_trip(const s3i_mime_message *msg)
{
	size_t len;
	char *raw = build(msg, &len);
	parsed m;
	parse_message(&m, raw, len);

	char subject[4096];
	const char *sv = header(m.headers, "Subject");
	assert_non_null(sv);
	decode_2047(sv, subject);
	assert_string_equal(subject, msg->subject ? msg->subject : "");

	addr got[200];
	assert_int_equal(parse_addresses(header(m.headers, "From"), got, 200), 1);
	assert_string_equal(got[0].address, msg->from.address);
	assert_string_equal(got[0].name, msg->from.name ? msg->from.name : "");
	size_t nto = parse_addresses(header(m.headers, "To"), got, 200);
	assert_int_equal(nto, msg->nto);
	for (size_t i = 0; i < nto; i++) {
		assert_string_equal(got[i].address, msg->to[i].address);
		assert_string_equal(got[i].name, msg->to[i].name ? msg->to[i].name : "");
	}
	assert_string_equal(header(m.headers, "MIME-Version"), "1.0");
	assert_non_null(header(m.headers, "Date"));
	assert_non_null(header(m.headers, "Message-ID"));

	body_part parts[2];
	size_t np = parse_parts(&m, parts, 2);
	const char *want[2];
	const char *types[2];
	size_t nw = 0;
	if (msg->text) {
		want[nw] = msg->text;
		types[nw++] = "text/plain; charset=UTF-8";
	}
	if (msg->html) {
		want[nw] = msg->html;
		types[nw++] = "text/html; charset=UTF-8";
	}
	assert_int_equal(np, nw);
	for (size_t i = 0; i < np; i++) {
		assert_string_equal(parts[i].type, types[i]);
		char *w = crlf(want[i]);
		/* a single body ends the message on a line break of its own */
		size_t wl = strlen(w);
		if (np == 1 && (wl < 2 || strcmp(w + wl - 2, "\r\n")))
			strcat(w, "\r\n");
		assert_int_equal(parts[i].len, strlen(w));
		assert_memory_equal(parts[i].text, w, parts[i].len);
		if (!strcmp(parts[i].encoding, "quoted-printable"))
			check_qp_lines(parts[i].encoded);
		free(w);
	}
	parts_free(parts, np);
	parsed_free(&m);
	free(raw);
}

static const s3i_mime_address TO1[] = { { "Ops Team", "ops@example.com" } };

/* ------------------------------------------------------------------ tests */

static void test_ascii_round_trip(void **state)
{
	(void)state;
	s3i_mime_message msg = { .from = { "S3Insights", "noreply@example.com" }, .to = TO1,
		.nto = 1, .subject = "Harvest run r1 finished",
		.text = "Hello,\n\nthe run finished.\nTotals: 42 objects, 1 GiB\n",
		.html = "<p>Hello,</p>\n<p>the run <b>finished</b>.</p>" };
	round_trip(&msg);
	msg.from.name = NULL;
	msg.text = "no final line break";
	round_trip(&msg);
}

static void test_utf8_round_trip(void **state)
{
	(void)state;
	const s3i_mime_address to[] = { { "Zoë Ångström", "zoe@example.com" },
		{ "日本語の名前", "jp@example.jp" }, { NULL, "plain@example.com" } };
	s3i_mime_message msg = { .from = { "Résumé ✓ 日本語", "noreply@example.com" }, .to = to,
		.nto = 3, .subject = "Résumé ✓ 日本語",
		.text = "Résumé ✓ 日本語\nÀ bientôt — 🙂\n",
		.html = "<p>Résumé ✓ 日本語</p><p>🙂</p>" };
	round_trip(&msg);
	/* the raw subject is encoded, not sent as 8-bit */
	size_t len;
	char *raw = build(&msg, &len);
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)raw[i] < 0x80);
	assert_non_null(strstr(raw, "Subject: =?UTF-8?B?"));
	free(raw);
	/* both transfer encodings, forced */
	msg.encoding = S3I_MIME_ENC_QP;
	round_trip(&msg);
	msg.encoding = S3I_MIME_ENC_BASE64;
	round_trip(&msg);
}

static void test_long_subjects_and_names(void **state)
{
	(void)state;
	char ascii[700] = "", utf8[2000] = "", word[200];
	for (int i = 0; i < 40; i++) {
		char w[32];
		snprintf(w, sizeof(w), "%sword%02d", i ? " " : "", i);
		strcat(ascii, w);
	}
	/* a mix of 1-, 2-, 3- and 4-byte characters so word cuts fall at every offset */
	for (int i = 0; i < 60; i++)
		strcat(utf8, i % 4 == 0 ? "a" : i % 4 == 1 ? "é" : i % 4 == 2 ? "日" : "🙂");
	memset(word, 'x', 150);
	word[150] = 0;
	const char *subjects[] = { ascii, utf8, word, "=?UTF-8?B?not-a-word?=", "two  spaces",
		" leading", "trailing ", "tab\there", "", "Résumé", "\xe6\x97\xa5" };
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		const s3i_mime_address to[] = { { utf8, "a@example.com" }, { ascii, "b@example.com" },
			{ "Smith, John \"JJ\" \\ Jr.", "j@example.com" }, { word, "w@example.com" } };
		s3i_mime_message msg = { .from = { "Sender", "s@example.com" }, .to = to, .nto = 4,
			.subject = subjects[i], .text = "x" };
		round_trip(&msg);
	}
	/* the plain ASCII subject is folded at its spaces, not encoded */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_mime_header(&b, "Subject", ascii, NULL), S3I_OK);
	assert_null(strstr(b.ptr, "=?"));
	assert_non_null(strstr(b.ptr, "\r\n word"));
	s3i_buf_clear(&b);
	/* a quoted-string keeps ASCII specials readable */
	const s3i_mime_address q = { "Smith, John", "j@example.com" };
	assert_int_equal(s3i_mime_address_header(&b, "To", &q, 1, NULL), S3I_OK);
	assert_string_equal(b.ptr, "To: \"Smith, John\" <j@example.com>\r\n");
	s3i_buf_dispose(&b);
}

static void test_many_recipients_fold(void **state)
{
	(void)state;
	s3i_mime_address to[50];
	char names[50][40], addrs[50][40];
	for (int i = 0; i < 50; i++) {
		snprintf(names[i], sizeof(names[i]), i % 2 ? "Person %d" : "Pérson %d", i);
		snprintf(addrs[i], sizeof(addrs[i]), "person%02d@example.com", i);
		to[i].name = names[i];
		to[i].address = addrs[i];
	}
	s3i_mime_message msg = { .from = { NULL, "s@example.com" }, .to = to, .nto = 50,
		.cc = to, .ncc = 2, .subject = "fifty", .html = "<p>hi</p>" };
	round_trip(&msg);
}

static void test_long_lines(void **state)
{
	(void)state;
	char *text = malloc(20000);
	size_t n = 0;
	/* one 3000-character ASCII line with '=' and spaces at every offset */
	for (int i = 0; i < 3000; i++)
		text[n++] = i % 7 == 0 ? '=' : i % 5 == 0 ? ' ' : (char)('a' + i % 26);
	text[n++] = '\n';
	/* a long UTF-8 line: escapes of one character never straddle a soft break */
	for (int i = 0; i < 300; i++) {
		memcpy(text + n, "日é", 5);
		n += 5;
	}
	text[n++] = '\n';
	/* a line of exactly 76, 75 and 77 characters */
	for (int k = 75; k <= 77; k++) {
		memset(text + n, 'q', (size_t)k);
		n += (size_t)k;
		text[n++] = '\n';
	}
	text[n] = 0;
	s3i_mime_message msg = { .from = { NULL, "s@example.com" }, .to = TO1, .nto = 1,
		.subject = "long", .text = text, .html = text, .encoding = S3I_MIME_ENC_QP };
	round_trip(&msg);
	msg.encoding = S3I_MIME_ENC_BASE64;
	round_trip(&msg);
	msg.encoding = S3I_MIME_ENC_AUTO;
	round_trip(&msg);

	/* a line of 76 plain characters goes out unbroken */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_mime_qp_encode(&b, "", 0), S3I_OK);
	assert_int_equal(b.size, 0);
	char line76[77];
	memset(line76, 'q', 76);
	line76[76] = 0;
	assert_int_equal(s3i_mime_qp_encode(&b, line76, 76), S3I_OK);
	assert_string_equal(b.ptr, line76);
	s3i_buf_clear(&b);
	line76[75] = ' ';   /* ... but a trailing space is escaped, which needs a soft break */
	assert_int_equal(s3i_mime_qp_encode(&b, line76, 76), S3I_OK);
	assert_non_null(strstr(b.ptr, "=\r\n=20"));
	s3i_buf_dispose(&b);
	free(text);
}

static void test_dots_from_and_white_space(void **state)
{
	(void)state;
	const char *texts[] = {
		".\n..\n.hidden\nFrom here\nFrom\nFromage\n>From x\n",
		"trailing space \ntrailing tab\t\n  \n\t\n",
		"mixed\r\nline\rends\n\n\r\n",
		"=3D not an escape = =\n",
		"",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		s3i_mime_message msg = { .from = { NULL, "s@example.com" }, .to = TO1, .nto = 1,
			.subject = "dots", .text = texts[i], .html = texts[i], .encoding = S3I_MIME_ENC_QP };
		round_trip(&msg);
		msg.html = NULL;   /* a single part too */
		round_trip(&msg);
	}
	/* a '.' that a soft break moves to the start of a line is escaped there too */
	char line[200];
	memset(line, 'a', 75);
	line[75] = '.';
	memset(line + 76, 'b', 10);
	line[86] = 0;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_mime_qp_encode(&b, line, strlen(line)), S3I_OK);
	check_qp_lines(b.ptr);
	assert_non_null(strstr(b.ptr, "=\r\n=2E"));
	s3i_buf_dispose(&b);
}

static void test_auto_encoding_choice(void **state)
{
	(void)state;
	size_t len;
	s3i_mime_message msg = { .from = { NULL, "s@example.com" }, .to = TO1, .nto = 1,
		.subject = "auto", .text = "mostly ASCII with one é", .html = "日本語のテキストです" };
	char *raw = build(&msg, &len);
	parsed m;
	parse_message(&m, raw, len);
	body_part parts[2];
	assert_int_equal(parse_parts(&m, parts, 2), 2);
	assert_string_equal(parts[0].encoding, "quoted-printable");
	assert_string_equal(parts[1].encoding, "base64");
	parts_free(parts, 2);
	parsed_free(&m);
	free(raw);
	round_trip(&msg);
}

static void test_golden_structure(void **state)
{
	(void)state;
	const s3i_mime_address to[] = { { "Ops", "ops@example.com" }, { NULL, "b@example.com" } };
	s3i_mime_message msg = { .from = { "S3Insights", "noreply@example.com" }, .to = to,
		.nto = 2, .subject = "Run r1: Résumé", .text = "Hi.\n", .html = "<p>Hi=</p>",
		.date_ms = 1440938160000LL, .message_id = "<r1.1@example.com>",
		.boundary = "=_s3i_fixed" };
	size_t len;
	char *raw = build(&msg, &len);
	const char *want =
		"From: S3Insights <noreply@example.com>\r\n"
		"To: Ops <ops@example.com>, b@example.com\r\n"
		"Subject: =?UTF-8?B?UnVuIHIxOiBSw6lzdW3DqQ==?=\r\n"
		"Date: Sun, 30 Aug 2015 12:36:00 +0000\r\n"
		"Message-ID: <r1.1@example.com>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/alternative;\r\n"
		" boundary=\"=_s3i_fixed\"\r\n"
		"\r\n"
		"This is a multi-part message in MIME format.\r\n"
		"\r\n"
		"--=_s3i_fixed\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"Hi.\r\n"
		"\r\n"
		"--=_s3i_fixed\r\n"
		"Content-Type: text/html; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"<p>Hi=3D</p>\r\n"
		"--=_s3i_fixed--\r\n";
	assert_string_equal(raw, want);
	assert_int_equal(len, strlen(want));
	free(raw);

	/* one part only: no multipart */
	msg.html = NULL;
	raw = build(&msg, &len);
	assert_non_null(strstr(raw, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nHi.\r\n"));
	assert_null(strstr(raw, "multipart"));
	assert_true(len > 4 && !strcmp(raw + len - 5, "Hi.\r\n"));
	free(raw);

	/* generated Message-ID at the sender's domain, generated boundary starting with =_ */
	msg.html = "<p>x</p>";
	msg.message_id = NULL;
	msg.boundary = NULL;
	raw = build(&msg, &len);
	parsed m;
	parse_message(&m, raw, len);
	const char *id = header(m.headers, "Message-ID");
	assert_true(id[0] == '<' && strstr(id, "@example.com>"));
	assert_non_null(strstr(header(m.headers, "Content-Type"), "boundary=\"=_s3i_"));
	parsed_free(&m);
	free(raw);
}

static void expect_invalid(const s3i_mime_message *msg, const char *mention)
{
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_buf_puts(&b, "before"), S3I_OK);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_mime_build(&b, msg, &e);
	if (rc != S3I_EINVALID || !strstr(e.message, mention))
		fail_msg("rc %d, message '%s' (wanted EINVALID mentioning '%s')", rc, e.message, mention);
	assert_string_equal(e.pub.message, e.message);
	assert_int_equal(b.size, 6);       /* output untouched */
	assert_string_equal(b.ptr, "before");
	s3i_buf_dispose(&b);
}

static void test_header_injection_refused(void **state)
{
	(void)state;
	s3i_mime_message ok = { .from = { "S", "s@example.com" }, .to = TO1, .nto = 1,
		.subject = "fine", .text = "x" };
	s3i_mime_message m = ok;
	m.subject = "Hi\r\nBcc: victim@example.com";
	expect_invalid(&m, "Subject header holds a CR or LF (header injection refused)");
	m.subject = "Hi\nBcc: victim@example.com";
	expect_invalid(&m, "Subject");
	m = ok;
	m.from.name = "Evil\rBcc: x@y";
	expect_invalid(&m, "display name of the From header holds a CR or LF");
	m = ok;
	m.from.address = "s@example.com\r\nBcc: x@y";
	expect_invalid(&m, "From header holds a CR or LF");
	const s3i_mime_address bad_to[] = { { "ok", "a@example.com" }, { "x\ny", "b@example.com" } };
	m = ok;
	m.to = bad_to;
	m.nto = 2;
	expect_invalid(&m, "To header holds a CR or LF");
	m = ok;
	m.message_id = "<a@b>\r\nBcc: x@y";
	expect_invalid(&m, "Message-ID");
	m = ok;
	m.subject = "bell\x07";
	expect_invalid(&m, "control character 0x07");

	/* and the header helper alone */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_mime_header(&b, "X-Run", "a\r\nb", NULL), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "X-Run"));
	assert_int_equal(s3i_mime_header(&b, "Bad:Name", "v", NULL), S3I_EINVALID);
	assert_int_equal(s3i_mime_header(&b, "", "v", NULL), S3I_EINVALID);
	assert_int_equal(b.size, 0);
	s3i_buf_dispose(&b);
}

static void test_bad_input_refused(void **state)
{
	(void)state;
	s3i_mime_message ok = { .from = { "S", "s@example.com" }, .to = TO1, .nto = 1,
		.subject = "fine", .text = "x" };
	s3i_mime_message m = ok;
	m.subject = "bad \xc3\x28 utf8";
	expect_invalid(&m, "Subject header is not valid UTF-8");
	m = ok;
	m.text = "over\xc0\xaflong";
	expect_invalid(&m, "text/plain body is not valid UTF-8");
	m = ok;
	m.html = "surrogate \xed\xa0\x80";
	expect_invalid(&m, "text/html body is not valid UTF-8");
	m = ok;
	m.from.address = "zoë@example.com";
	expect_invalid(&m, "not 7-bit ASCII");
	m.from.address = "no-at-sign";
	expect_invalid(&m, "not an address of the form local@domain");
	m.from.address = "a@b@c";
	expect_invalid(&m, "local@domain");
	m.from.address = "x <y@z>";
	expect_invalid(&m, "From");
	m.from.address = NULL;
	expect_invalid(&m, "an address of the From header is empty");
	m = ok;
	m.nto = 0;
	expect_invalid(&m, "needs a To address");
	m = ok;
	m.text = NULL;
	expect_invalid(&m, "needs a text or an HTML body");
	m = ok;
	m.boundary = "has space";
	expect_invalid(&m, "boundary");
	m.boundary = "x";
	m.html = "<p>x</p>";   /* the pinned boundary occurs in the content */
	expect_invalid(&m, "the boundary 'x' occurs in the message body");
	m = ok;
	m.message_id = "no-brackets@x";
	expect_invalid(&m, "<left@right>");
	m = ok;
	m.encoding = (s3i_mime_encoding)9;
	expect_invalid(&m, "unknown transfer encoding");
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_mime_build(&b, NULL, NULL), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void test_out_of_memory(void **state)
{
	(void)state;
	const s3i_mime_address to[] = { { "Zoë", "z@example.com" }, { "B", "b@example.com" } };
	s3i_mime_message msg = { .from = { "Résumé", "s@example.com" }, .to = to, .nto = 2,
		.subject = "Résumé ✓ 日本語 and a long enough subject to need two encoded words",
		.text = "text é\n.line\n", .html = "<p>日本語</p>" };
	for (long n = 0;; n++) {
		s3i_buf b;
		s3i_buf_init(&b, s3i_test_alloc());
		assert_int_equal(s3i_buf_puts(&b, "prefix"), S3I_OK);
		s3i_test_alloc_fail_after(n);
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		int rc = s3i_mime_build(&b, &msg, &e);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_true(b.size > 100);
			s3i_buf_dispose(&b);
			break;
		}
		assert_int_equal(rc, S3I_ENOMEM);
		assert_int_equal(b.size, 6);
		assert_memory_equal(b.ptr, "prefix", 6);
		s3i_buf_dispose(&b);
		assert_true(n < 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_ascii_round_trip),
		S3I_TEST(test_utf8_round_trip),
		S3I_TEST(test_long_subjects_and_names),
		S3I_TEST(test_many_recipients_fold),
		S3I_TEST(test_long_lines),
		S3I_TEST(test_dots_from_and_white_space),
		S3I_TEST(test_auto_encoding_choice),
		S3I_TEST(test_golden_structure),
		S3I_TEST(test_header_injection_refused),
		S3I_TEST(test_bad_input_refused),
		S3I_TEST(test_out_of_memory),
	};
	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
