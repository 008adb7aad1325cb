#include "core/str.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3insights/errors.h"

static const char HEX_UP[] = "0123456789ABCDEF";
static const char HEX_LO[] = "0123456789abcdef";

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == '~';
}

int s3i_uri_encode(s3i_buf *out, const char *s, size_t len, int keep_slash)
{
	int rc = s3i_buf_grow(out, len * 3);
	if (rc)
		return rc;
	char *p = out->ptr + out->size;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = HEX_UP[c >> 4];
			*p++ = HEX_UP[c & 15];
		}
	}
	out->size = (size_t)(p - out->ptr);
	out->ptr[out->size] = '\0';
	return S3I_OK;
}

int s3i_uri_encode_s3_key(s3i_buf *out, const char *s, size_t len)
{
	int rc = S3I_OK;
	while (len && !rc) {
		size_t n = 0;
		while (n < len && s[n] != '=')
			n++;
		if (n)
			rc = s3i_uri_encode(out, s, n, 1);
		for (; !rc && n < len && s[n] == '='; n++)
			rc = s3i_buf_putc(out, '=');
		s += n;
		len -= n;
	}
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int s3i_uri_decode(s3i_buf *out, const char *s, size_t len, int plus_is_space)
{
	int rc = s3i_buf_grow(out, len);
	if (rc)
		return rc;
	char *p = out->ptr + out->size;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
			hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else if (plus_is_space && s[i] == '+') {
			*p++ = ' ';
		} else {
			*p++ = s[i];
		}
	}
	out->size = (size_t)(p - out->ptr);
	out->ptr[out->size] = '\0';
	return S3I_OK;
}

void s3i_hex_encode(char *out, const unsigned char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = HEX_LO[in[i] >> 4];
		out[2 * i + 1] = HEX_LO[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int s3i_base64_encode(s3i_buf *out, const unsigned char *in, size_t len)
{
	int rc = s3i_buf_grow(out, (len + 2) / 3 * 4);
	if (rc)
		return rc;
	char *p = out->ptr + out->size;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*p++ = B64[v >> 18];
		*p++ = B64[(v >> 12) & 63];
		*p++ = B64[(v >> 6) & 63];
		*p++ = B64[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*p++ = B64[v >> 18];
		*p++ = B64[(v >> 12) & 63];
		*p++ = i + 1 < len ? B64[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	out->size = (size_t)(p - out->ptr);
	out->ptr[out->size] = '\0';
	return S3I_OK;
}

int s3i_base64_decode(s3i_buf *out, const char *in, size_t len)
{
	int rc = s3i_buf_grow(out, len / 4 * 3 + 3);
	if (rc)
		return rc;
	size_t start = out->size;
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '=') { pad++; continue; }
		if (c == '\n' || c == '\r' || c == ' ')
			continue;
		const char *q = c ? strchr(B64, c) : NULL;
		if (!q || pad)
			goto bad;
		acc = acc << 6 | (uint32_t)(q - B64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->ptr[out->size++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* a lone character in the last group (6 bits) encodes no byte; at most two '=' */
	if (bits >= 6 || pad > 2)
		goto bad;
	out->ptr[out->size] = '\0';
	return S3I_OK;
bad: /* leave the buffer as it was */
	out->size = start;
	out->ptr[out->size] = '\0';
	return S3I_EPARSE;
}

static int64_t days_from_civil(int y, int m, int d)
{
	/* Howard Hinnant's algorithm: no timegm(), no TZ dependence. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t s3i_time_from_utc(int year, int mon, int day, int hour, int min, int sec)
{
	return days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
}

static void split_time(int64_t epoch_s, struct tm *tm)
{
	time_t t = (time_t)epoch_s;
	gmtime_r(&t, tm);
}

/* n decimal digits of v (0 <= v < 10^n) at out; digits by hand, since snprintf of struct tm
 * fields makes gcc warn of truncation it cannot rule out. */
static char *put_digits(char *out, int v, int n)
{
	unsigned u = v < 0 ? 0u : (unsigned)v;   /* a year before 0 is out of scope */
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + u % 10);
		u /= 10;
	}
	return out + n;
}

/* YYYYMMDDTHHMMSS, or with extended: YYYY-MM-DDTHH:MM:SS; returns the end. */
static char *put_date_time(char *p, const struct tm *tm, int extended)
{
	p = put_digits(p, (tm->tm_year + 1900) % 10000, 4);
	if (extended)
		*p++ = '-';
	p = put_digits(p, tm->tm_mon + 1, 2);
	if (extended)
		*p++ = '-';
	p = put_digits(p, tm->tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm->tm_hour, 2);
	if (extended)
		*p++ = ':';
	p = put_digits(p, tm->tm_min, 2);
	if (extended)
		*p++ = ':';
	return put_digits(p, tm->tm_sec, 2);
}

void s3i_time_amz(char out[17], int64_t epoch_s)
{
	struct tm tm;
	split_time(epoch_s, &tm);
	char *p = put_date_time(out, &tm, 0);
	*p++ = 'Z';
	*p = '\0';
}

void s3i_time_iso8601(char out[25], int64_t epoch_ms)
{
	struct tm tm;
	int64_t s = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
	split_time(s, &tm);
	char *p = put_date_time(out, &tm, 1);
	*p++ = '.';
	p = put_digits(p, (int)(epoch_ms - s * 1000), 3);
	*p++ = 'Z';
	*p = '\0';
}

int s3i_time_parse_iso8601(const char *s, int64_t *out_ms)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return S3I_EPARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return S3I_EPARSE;
	const char *p = s + n;
	int ms = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		for (; digits < 3; digits++)
			ms *= 10;
	}
	int64_t off = 0;
	if (*p == '+' || *p == '-') {
		/* +HH:MM, +HHMM or +HH */
		const char *q = p + 1;
		if (!isdigit((unsigned char)q[0]) || !isdigit((unsigned char)q[1]))
			return S3I_EPARSE;
		int oh = (q[0] - '0') * 10 + (q[1] - '0'), om = 0;
		q += 2;
		if (*q == ':')
			q++;
		if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]))
			om = (q[0] - '0') * 10 + (q[1] - '0');
		off = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	} else if (*p && *p != 'Z') {
		return S3I_EPARSE;
	}
	*out_ms = (s3i_time_from_utc(y, mo, d, h, mi, sec) - off) * 1000 + ms;
	return S3I_OK;
}

/* `n` ASCII digits at *p (advanced past them) into *out. */
static int take_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)(*p)[i];
		if (c < '0' || c > '9')
			return 0;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 1;
}

static int take_char(const char **p, char c)
{
	if (**p != c)
		return 0;
	(*p)++;
	return 1;
}

/* Hand-written rather than sscanf: it runs on every response's Date header (clock-skew
 * tracking), where sscanf's locale and format handling cost more than the rest of the header
 * work together. Accepts "Sun, 06 Nov 1994 08:49:37 GMT" (a one-digit day too). */
int s3i_time_parse_http(const char *s, int64_t *out_ms)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (!s)
		return S3I_EPARSE;
	const char *p = s;
	for (int i = 0; i < 3; i++, p++)
		if (!isalpha((unsigned char)*p))
			return S3I_EPARSE;
	int d, y, h, mi, sec;
	if (!take_char(&p, ',') || !take_char(&p, ' '))
		return S3I_EPARSE;
	if (!take_digits(&p, 2, &d) && !take_digits(&p, 1, &d))
		return S3I_EPARSE;
	if (!take_char(&p, ' '))
		return S3I_EPARSE;
	int mon = -1;
	for (int i = 0; i < 12; i++)
		if (!strncmp(p, months + 3 * i, 3)) {
			mon = i + 1;
			break;
		}
	if (mon < 0)
		return S3I_EPARSE;
	p += 3;
	if (!take_char(&p, ' ') || !take_digits(&p, 4, &y) || !take_char(&p, ' ') ||
		!take_digits(&p, 2, &h) || !take_char(&p, ':') || !take_digits(&p, 2, &mi) ||
		!take_char(&p, ':') || !take_digits(&p, 2, &sec))
		return S3I_EPARSE;
	if (d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return S3I_EPARSE;
	*out_ms = s3i_time_from_utc(y, mon, d, h, mi, sec) * 1000;
	return S3I_OK;
}

int s3i_strcaseeq(const char *a, const char *b) { return a && b && !strcasecmp(a, b); }

int s3i_str_startswith(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int s3i_str_endswith(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !memcmp(s + n - m, suffix, m);
}

const char *s3i_str_trim(const char *s, size_t *len)
{
	size_t n = *len;
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

const char *s3i_str_one_line(char *buf, size_t cap, const char *s)
{
	size_t n = 0;
	for (; s && s[n] && n + 1 < cap; n++)
		buf[n] = ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) ? '?' : s[n];
	if (s && s[n])   /* cut: drop the bytes of a sequence the cut split */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	buf[n] = '\0';
	return buf;
}

size_t s3i_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;   /* bounds of the second byte */
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

int s3i_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = s3i_utf8_seq(p + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}
