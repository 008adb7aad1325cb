#include "services/mime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "core/str.h"

#define ENC_WORD_OVERHEAD 12         /* "=?UTF-8?B?" + "?=" */
#define BOUNDARY_MAX 62              /* so ' boundary="..."' stays within a 76-character line */
#define ADDRESS_MAX 254

/* ------------------------------------------------------------------ UTF-8 */

/* ------------------------------------------------------------------ checks */

/* A header value: no CR or LF (injection), no other control character, valid UTF-8. */
static int check_value(const char *header, const char *what, const char *v, s3i_errinfo *err)
{
	size_t n = strlen(v);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\r' || c == '\n')
			return s3i_err(err, S3I_EINVALID, header, "MIME: the %s of the %s header holds a "
				"CR or LF (header injection refused)", what, header);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return s3i_err(err, S3I_EINVALID, header, "MIME: the %s of the %s header holds "
				"control character 0x%02x", what, header, c);
	}
	if (!s3i_utf8_valid(v, n))
		return s3i_err(err, S3I_EINVALID, header, "MIME: the %s of the %s header is not valid "
			"UTF-8", what, header);
	return S3I_OK;
}

static int check_address(const char *header, const char *addr, s3i_errinfo *err)
{
	if (!addr || !*addr)
		return s3i_err(err, S3I_EINVALID, header, "MIME: an address of the %s header is empty",
			header);
	int rc = check_value(header, "address", addr, err);
	if (rc)
		return rc;
	size_t n = strlen(addr), at = 0, ats = 0;
	if (n > ADDRESS_MAX)
		return s3i_err(err, S3I_EINVALID, header, "MIME: an address of the %s header is longer "
			"than %d characters", header, ADDRESS_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c >= 0x80)
			return s3i_err(err, S3I_EINVALID, header, "MIME: address '%s' of the %s header is "
				"not 7-bit ASCII (SES has no SMTPUTF8: punycode the domain)", addr, header);
		if (c <= ' ' || strchr("<>()[],;:\\\"", c))
			return s3i_err(err, S3I_EINVALID, header, "MIME: address '%s' of the %s header "
				"holds '%c', which an address cannot hold here", addr, header, c);
		if (c == '@') {
			at = i;
			ats++;
		}
	}
	if (ats != 1 || at == 0 || at == n - 1)
		return s3i_err(err, S3I_EINVALID, header, "MIME: '%s' of the %s header is not an "
			"address of the form local@domain", addr, header);
	return S3I_OK;
}

static int check_name(const char *name, s3i_errinfo *err)
{
	if (!name || !*name)
		return s3i_err(err, S3I_EINVALID, "header", "MIME: a header name is empty");
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == ':')
			return s3i_err(err, S3I_EINVALID, "header", "MIME: '%.60s' is not a header name",
				name);
	return S3I_OK;
}

/* ------------------------------------------------------------------ header writer */

typedef struct hw {
	s3i_buf *out;
	size_t col;                      /* characters on the current line */
	int rc;
} hw;

static void hw_put(hw *h, const char *s, size_t n)
{
	if (!h->rc)
		h->rc = s3i_buf_put(h->out, s, n);
	h->col += n;
}

static void hw_start(hw *h, s3i_buf *out, const char *name)
{
	h->out = out;
	h->col = 0;
	h->rc = S3I_OK;
	hw_put(h, name, strlen(name));
	hw_put(h, ":", 1);
}

/* A token after folding white space: a space, or a fold (CRLF SP) when it would not fit. */
static void hw_word(hw *h, const char *s, size_t n)
{
	if (h->col + 1 + n > S3I_MIME_LINE_MAX) {
		hw_put(h, "\r\n ", 3);
		h->col = 1;
	} else {
		hw_put(h, " ", 1);
	}
	hw_put(h, s, n);
}

/* `s` as encoded-words, each as long as the line allows (at most 75), cut only between UTF-8
 * characters. `s` is valid UTF-8. Adjacent encoded-words are separated by folding white space,
 * which decoders drop. */
static void hw_encoded(hw *h, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	do {
		/* the smallest word worth starting holds one 4-byte character: 12 + 8 */
		if (h->col + 1 + ENC_WORD_OVERHEAD + 8 > S3I_MIME_LINE_MAX) {
			hw_put(h, "\r\n", 2);
			h->col = 0;
		}
		size_t room = S3I_MIME_LINE_MAX - h->col - 1;
		if (room > S3I_MIME_WORD_MAX)
			room = S3I_MIME_WORD_MAX;
		size_t max_bytes = (room - ENC_WORD_OVERHEAD) / 4 * 3, take = 0;
		while (i + take < len) {
			size_t n = s3i_utf8_seq(p + i + take, len - i - take);
			if (!n)
				n = 1;   /* not reached: values are checked first */
			if (take + n > max_bytes)
				break;
			take += n;
		}
		char word[S3I_MIME_WORD_MAX + 1];
		s3i_buf b64;
		s3i_buf_init(&b64, h->out->alloc);
		int rc = s3i_base64_encode(&b64, p + i, take);
		if (!rc) {
			int w = snprintf(word, sizeof(word), "=?UTF-8?B?%s?=", s3i_buf_cstr(&b64));
			hw_put(h, " ", 1);
			hw_put(h, word, (size_t)w);
		} else if (!h->rc) {
			h->rc = rc;
		}
		s3i_buf_dispose(&b64);
		i += take;
	} while (i < len && !h->rc);
}

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		(c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Printable ASCII words separated by single spaces, none longer than `max_word`, nothing
 * that reads as an encoded-word: such a value can go out as it is, folded at its spaces. */
static int is_plain(const char *s, size_t max_word)
{
	size_t n = strlen(s), word = 0;
	if (!n || s[0] == ' ' || s[n - 1] == ' ' || strstr(s, "=?") || strstr(s, "  "))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return 0;
		word = c == ' ' ? 0 : word + 1;
		if (word > max_word)
			return 0;
	}
	return 1;
}

static void hw_plain_words(hw *h, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, " ");
		hw_word(h, s, n);
		s += n;
		if (*s == ' ')
			s++;
	}
}

static int hw_end(hw *h, s3i_errinfo *err, const char *name)
{
	hw_put(h, "\r\n", 2);
	if (h->rc)
		return s3i_err(err, h->rc, name, "MIME: out of memory writing the %s header", name);
	return S3I_OK;
}

int s3i_mime_header(s3i_buf *out, const char *name, const char *value, s3i_errinfo *err)
{
	int rc = check_name(name, err);
	if (rc)
		return rc;
	if (!value)
		value = "";
	if ((rc = check_value(name, "value", value, err)))
		return rc;
	size_t start = out->size;
	hw h;
	hw_start(&h, out, name);
	if (is_plain(value, S3I_MIME_LINE_MAX - 1))
		hw_plain_words(&h, value);
	else if (*value)
		hw_encoded(&h, value, strlen(value));
	if ((rc = hw_end(&h, err, name)))
		s3i_buf_truncate(out, start);
	return rc;
}

/* A display name as a phrase: atoms, one quoted-string, or encoded-words. */
static void hw_phrase(hw *h, const char *name)
{
	int atoms = is_plain(name, S3I_MIME_LINE_MAX - 1);
	for (const char *p = name; atoms && *p; p++)
		if (*p != ' ' && !is_atext((unsigned char)*p))
			atoms = 0;
	if (atoms) {
		hw_plain_words(h, name);
		return;
	}
	/* printable ASCII with specials: a quoted-string, when it fits on one line */
	if (is_plain(name, S3I_MIME_LINE_MAX)) {
		char q[S3I_MIME_LINE_MAX + 1];
		size_t n = 0;
		q[n++] = '"';
		for (const char *p = name; *p && n + 3 <= S3I_MIME_LINE_MAX - 1; p++) {
			if (*p == '"' || *p == '\\')
				q[n++] = '\\';
			q[n++] = *p;
			if (!p[1]) {
				q[n++] = '"';
				hw_word(h, q, n);
				return;
			}
		}
	}
	hw_encoded(h, name, strlen(name));
}

int s3i_mime_address_header(s3i_buf *out, const char *name, const s3i_mime_address *list,
	size_t n, s3i_errinfo *err)
{
	int rc = check_name(name, err);
	if (rc)
		return rc;
	if (!list || !n)
		return s3i_err(err, S3I_EINVALID, name, "MIME: the %s header needs an address", name);
	for (size_t i = 0; i < n; i++) {
		if ((rc = check_address(name, list[i].address, err)))
			return rc;
		if (list[i].name && (rc = check_value(name, "display name", list[i].name, err)))
			return rc;
	}
	size_t start = out->size;
	hw h;
	hw_start(&h, out, name);
	for (size_t i = 0; i < n && !h.rc; i++) {
		const char *addr = list[i].address;
		char tok[ADDRESS_MAX + 4];
		int has_name = list[i].name && *list[i].name;
		if (has_name)
			hw_phrase(&h, list[i].name);
		int len = snprintf(tok, sizeof(tok), has_name ? "<%s>%s" : "%s%s", addr,
			i + 1 < n ? "," : "");
		hw_word(&h, tok, (size_t)len);
	}
	if ((rc = hw_end(&h, err, name)))
		s3i_buf_truncate(out, start);
	return rc;
}

/* ------------------------------------------------------------------ body encodings */

static const char HEX[] = "0123456789ABCDEF";

/* Length of the line starting at s[i] (up to the break) and of its break (0, 1 or 2). */
static size_t line_at(const char *s, size_t len, size_t i, size_t *brk)
{
	size_t j = i;
	while (j < len && s[j] != '\r' && s[j] != '\n')
		j++;
	*brk = j == len ? 0 : (s[j] == '\r' && j + 1 < len && s[j + 1] == '\n') ? 2 : 1;
	return j - i;
}

static int qp_line(s3i_buf *out, const unsigned char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n;) {
		char tok[12];
		size_t tl = 0, adv = 1;
		unsigned char c = s[i];
		int last = i + 1 == n;
		for (;;) {
			tl = 0;
			adv = 1;
			if ((c == ' ' || c == '\t') && !last) {
				tok[tl++] = (char)c;
			} else if (c == '.' && col == 0) {
				memcpy(tok, "=2E", 3);
				tl = 3;
			} else if (c == 'F' && col == 0 && n - i >= 5 && !memcmp(s + i, "From ", 5)) {
				memcpy(tok, "=46", 3);
				tl = 3;
			} else if (c > ' ' && c < 0x7f && c != '=') {
				tok[tl++] = (char)c;
			} else {
				/* a whole UTF-8 character stays on one line */
				adv = c >= 0x80 ? s3i_utf8_seq(s + i, n - i) : 1;
				if (!adv)
					adv = 1;
				for (size_t k = 0; k < adv; k++) {
					tok[tl++] = '=';
					tok[tl++] = HEX[s[i + k] >> 4];
					tok[tl++] = HEX[s[i + k] & 15];
				}
			}
			/* a line holds 76 characters; one that goes on ends with its soft break '=' */
			int ends_line = i + adv == n;
			if (col + tl <= (size_t)(ends_line ? S3I_MIME_LINE_MAX : S3I_MIME_LINE_MAX - 1) ||
				col == 0)
				break;
			int rc = s3i_buf_put(out, "=\r\n", 3);
			if (rc)
				return rc;
			col = 0;   /* and think again: the start of a line escapes '.' and "From " */
		}
		int rc = s3i_buf_put(out, tok, tl);
		if (rc)
			return rc;
		col += tl;
		i += adv;
	}
	return S3I_OK;
}

int s3i_mime_qp_encode(s3i_buf *out, const char *s, size_t len)
{
	size_t start = out->size;
	int rc = S3I_OK;
	for (size_t i = 0; i < len && !rc;) {
		size_t brk, n = line_at(s, len, i, &brk);
		rc = qp_line(out, (const unsigned char *)s + i, n);
		if (!rc && brk)
			rc = s3i_buf_put(out, "\r\n", 2);
		i += n + brk;
	}
	if (rc)
		s3i_buf_truncate(out, start);
	return rc;
}

static int crlf_normalise(s3i_buf *out, const char *s, size_t len)
{
	int rc = S3I_OK;
	for (size_t i = 0; i < len && !rc;) {
		size_t brk, n = line_at(s, len, i, &brk);
		rc = s3i_buf_put(out, s + i, n);
		if (!rc && brk)
			rc = s3i_buf_put(out, "\r\n", 2);
		i += n + brk;
	}
	return rc;
}

int s3i_mime_base64_encode(s3i_buf *out, const char *s, size_t len)
{
	size_t start = out->size;
	s3i_buf norm, b64;
	s3i_buf_init(&norm, out->alloc);
	s3i_buf_init(&b64, out->alloc);
	int rc = crlf_normalise(&norm, s, len);
	if (!rc)
		rc = s3i_base64_encode(&b64, (const unsigned char *)norm.ptr, norm.size);
	for (size_t i = 0; !rc && i < b64.size; i += S3I_MIME_LINE_MAX) {
		size_t n = b64.size - i < S3I_MIME_LINE_MAX ? b64.size - i : S3I_MIME_LINE_MAX;
		if (i)
			rc = s3i_buf_put(out, "\r\n", 2);
		if (!rc)
			rc = s3i_buf_put(out, b64.ptr + i, n);
	}
	s3i_buf_dispose(&norm);
	s3i_buf_dispose(&b64);
	if (rc)
		s3i_buf_truncate(out, start);
	return rc;
}

/* ------------------------------------------------------------------ the message */

static int random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];
	if (nbytes > sizeof(b) || RAND_bytes(b, (int)nbytes) != 1)
		return S3I_ERROR;
	s3i_hex_encode(out, b, nbytes);
	return S3I_OK;
}

static void format_date(char out[40], int64_t ms)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
		tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int check_boundary(const char *b, s3i_errinfo *err)
{
	size_t n = strlen(b);
	if (n < 1 || n > BOUNDARY_MAX)
		return s3i_err(err, S3I_EINVALID, "boundary", "MIME: the boundary must have 1 to %d "
			"characters", BOUNDARY_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strchr("'()+_,-./:=?", c)))
			return s3i_err(err, S3I_EINVALID, "boundary", "MIME: the boundary holds '%c', "
				"which RFC 2046 does not allow", c);
	}
	return S3I_OK;
}

static int check_message_id(const char *id, s3i_errinfo *err)
{
	int rc = check_value("Message-ID", "value", id, err);
	if (rc)
		return rc;
	size_t n = strlen(id);
	const char *at = strchr(id, '@');
	if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>' || !at || at == id + 1 ||
		at == id + n - 2 || strchr(at + 1, '@'))
		return s3i_err(err, S3I_EINVALID, "Message-ID", "MIME: the Message-ID header must look "
			"like <left@right>");
	for (size_t i = 1; i + 1 < n; i++)
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f || strchr("<>()[]\\\",;:", id[i]))
			return s3i_err(err, S3I_EINVALID, "Message-ID", "MIME: the Message-ID header holds "
				"'%c'", id[i]);
	return S3I_OK;
}

static s3i_mime_encoding choose_encoding(s3i_mime_encoding forced, const char *s, size_t len)
{
	if (forced == S3I_MIME_ENC_QP || forced == S3I_MIME_ENC_BASE64)
		return forced;
	size_t escaped = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80 || c == '=' || (c < 0x20 && c != '\t' && c != '\r' && c != '\n'))
			escaped++;
	}
	return escaped * 4 > len ? S3I_MIME_ENC_BASE64 : S3I_MIME_ENC_QP;
}

typedef struct part {
	const char *type;                /* "text/plain" */
	s3i_mime_encoding enc;
	s3i_buf body;                    /* encoded */
} part;

static int encode_part(part *p, const char *type, const char *text, s3i_mime_encoding forced,
	const s3i_allocator *a, s3i_errinfo *err)
{
	size_t n = strlen(text);
	p->type = type;
	s3i_buf_init(&p->body, a);
	if (!s3i_utf8_valid(text, n))
		return s3i_err(err, S3I_EINVALID, type, "MIME: the %s body is not valid UTF-8", type);
	p->enc = choose_encoding(forced, text, n);
	int rc = p->enc == S3I_MIME_ENC_QP ? s3i_mime_qp_encode(&p->body, text, n)
		: s3i_mime_base64_encode(&p->body, text, n);
	if (rc)
		return s3i_err(err, rc, type, "MIME: out of memory encoding the %s body", type);
	return S3I_OK;
}

static int put_part_headers(s3i_buf *out, const part *p)
{
	return s3i_buf_printf(out, "Content-Type: %s; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: %s\r\n\r\n", p->type,
		p->enc == S3I_MIME_ENC_QP ? "quoted-printable" : "base64");
}

static int check_message(const s3i_mime_message *m, s3i_errinfo *err)
{
	if (!m)
		return s3i_err(err, S3I_EINVALID, "message", "MIME: no message");
	if (!m->to || !m->nto)
		return s3i_err(err, S3I_EINVALID, "To", "MIME: the message needs a To address");
	if (!m->text && !m->html)
		return s3i_err(err, S3I_EINVALID, "body", "MIME: the message needs a text or an HTML "
			"body");
	if (m->encoding != S3I_MIME_ENC_AUTO && m->encoding != S3I_MIME_ENC_QP &&
		m->encoding != S3I_MIME_ENC_BASE64)
		return s3i_err(err, S3I_EINVALID, "encoding", "MIME: unknown transfer encoding %d",
			(int)m->encoding);
	if (m->ncc && !m->cc)
		return s3i_err(err, S3I_EINVALID, "Cc", "MIME: ncc is %zu but cc is NULL", m->ncc);
	int rc = check_address("From", m->from.address, err);
	if (!rc && m->subject)
		rc = check_value("Subject", "value", m->subject, err);
	if (!rc && m->message_id)
		rc = check_message_id(m->message_id, err);
	if (!rc && m->boundary)
		rc = check_boundary(m->boundary, err);
	return rc;
}

int s3i_mime_build(s3i_buf *out, const s3i_mime_message *m, s3i_errinfo *err)
{
	int rc = check_message(m, err);
	if (rc)
		return rc;
	const s3i_allocator *a = out->alloc;
	size_t start = out->size;
	part parts[2];
	size_t nparts = 0;
	if (m->text && !(rc = encode_part(&parts[nparts], "text/plain", m->text, m->encoding, a, err)))
		nparts++;
	else if (m->text)
		s3i_buf_dispose(&parts[nparts].body);
	if (!rc && m->html) {
		if (!(rc = encode_part(&parts[nparts], "text/html", m->html, m->encoding, a, err)))
			nparts++;
		else
			s3i_buf_dispose(&parts[nparts].body);
	}

	/* the boundary: given, or random until it occurs in no part (it never does: "=_" cannot
	 * appear in quoted-printable or base64, but say so with a check rather than a belief) */
	char boundary[BOUNDARY_MAX + 1] = "";
	for (int attempt = 0; !rc && nparts == 2; attempt++) {
		if (m->boundary) {
			snprintf(boundary, sizeof(boundary), "%s", m->boundary);
		} else {
			memcpy(boundary, "=_s3i_", 6);
			if (random_hex(boundary + 6, 16)) {
				rc = s3i_err(err, S3I_ERROR, "boundary", "MIME: no random bytes for a boundary");
				break;
			}
		}
		int found = 0;
		for (size_t i = 0; i < nparts; i++)
			if (parts[i].body.size && strstr(s3i_buf_cstr(&parts[i].body), boundary))
				found = 1;
		if (!found)
			break;
		if (m->boundary || attempt >= 4)
			rc = s3i_err(err, S3I_EINVALID, "boundary", "MIME: the boundary '%s' occurs in the "
				"message body", boundary);
	}

	char msgid[300];
	if (!rc && m->message_id) {
		snprintf(msgid, sizeof(msgid), "%s", m->message_id);
	} else if (!rc) {
		char hex[33];
		if (random_hex(hex, 16))
			rc = s3i_err(err, S3I_ERROR, "Message-ID", "MIME: no random bytes for a Message-ID");
		else
			snprintf(msgid, sizeof(msgid), "<%s@%s>", hex, strchr(m->from.address, '@') + 1);
	}
	char date[40];
	format_date(date, m->date_ms ? m->date_ms : (int64_t)time(NULL) * 1000);

	if (!rc)
		rc = s3i_mime_address_header(out, "From", &m->from, 1, err);
	if (!rc)
		rc = s3i_mime_address_header(out, "To", m->to, m->nto, err);
	if (!rc && m->ncc)
		rc = s3i_mime_address_header(out, "Cc", m->cc, m->ncc, err);
	if (!rc)
		rc = s3i_mime_header(out, "Subject", m->subject ? m->subject : "", err);
	/* structured values, never encoded: the Message-ID was checked above */
	int oom = 0;
	if (!rc)
		oom = s3i_buf_printf(out, "Date: %s\r\nMessage-ID: %s\r\n", date, msgid);
	if (!rc && !oom && nparts == 2) {
		oom = s3i_buf_printf(out, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n"
			" boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n", boundary);
		for (size_t i = 0; i < nparts && !oom; i++)
			oom = s3i_buf_printf(out, "\r\n--%s\r\n", boundary) ||
				put_part_headers(out, &parts[i]) ||
				s3i_buf_put(out, parts[i].body.ptr ? parts[i].body.ptr : "", parts[i].body.size);
		if (!oom)
			oom = s3i_buf_printf(out, "\r\n--%s--\r\n", boundary);
	} else if (!rc && !oom) {
		/* one part: its body ends the message, on a line break of its own */
		const s3i_buf *b = &parts[0].body;
		int ends_crlf = b->size >= 2 && b->ptr[b->size - 2] == '\r' && b->ptr[b->size - 1] == '\n';
		oom = s3i_buf_puts(out, "MIME-Version: 1.0\r\n") || put_part_headers(out, &parts[0]) ||
			s3i_buf_put(out, b->ptr ? b->ptr : "", b->size) ||
			(!ends_crlf && s3i_buf_puts(out, "\r\n"));
	}
	if (oom)
		rc = s3i_err(err, S3I_ENOMEM, "message", "MIME: out of memory building the message");
	for (size_t i = 0; i < nparts; i++)
		s3i_buf_dispose(&parts[i].body);
	if (rc)
		s3i_buf_truncate(out, start);
	return rc;
}
