#include "core/log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int s3i_log_enabled(const s3i_logger *lg, int level)
{
	return lg && lg->fn && level > 0 && level <= lg->level;
}

int s3i_header_is_secret(const char *name)
{
	static const char *const secret[] = { "authorization", "x-amz-security-token",
		"proxy-authorization", "x-aws-ec2-metadata-token", "cookie",
		"x-amz-server-side-encryption-customer-key",
		"x-amz-copy-source-server-side-encryption-customer-key", NULL };
	for (int i = 0; secret[i]; i++)
		if (!strcasecmp(name, secret[i]))
			return 1;
	return 0;
}

/*
 * Names whose value is a secret, matched case-insensitively as a whole word (not inside a
 * longer name: "NextToken" and "SignatureDoesNotMatch" stay) in every notation a line can
 * carry them in:
 *   Name: value        header (to_eol: the rest of the line, "AWS4-HMAC-SHA256 Credential=..")
 *   name=value         query string, form, ini file, environment
 *   "Name": "value"    JSON, also escaped inside a JSON string (\"Name\": \"value\")
 *   <Name>value<       XML element
 */
enum { EOL_COLON = 1, EOL_EQUALS = 2 };   /* unquoted values with spaces ("Basic xyz") */
static const struct { const char *name; int to_eol; } secret_names[] = {
	{ "authorization", EOL_COLON | EOL_EQUALS }, { "proxy-authorization", EOL_COLON | EOL_EQUALS },
	{ "aws_container_authorization_token", EOL_COLON | EOL_EQUALS },
	{ "x-amz-security-token", EOL_COLON }, { "x-aws-ec2-metadata-token", EOL_COLON },
	{ "x-amz-server-side-encryption-customer-key", EOL_COLON },
	{ "x-amz-copy-source-server-side-encryption-customer-key", EOL_COLON },
	{ "x-amz-signature", 0 }, { "x-amz-credential", 0 }, { "credential", 0 }, { "signature", 0 },
	{ "signatureprovided", 0 }, { "awsaccesskeyid", 0 },
	{ "aws_secret_access_key", 0 }, { "aws_session_token", 0 }, { "aws_security_token", 0 },
	{ "aws_access_key_id", 0 }, { "secret_access_key", 0 }, { "session_token", 0 },
	{ "access_key_id", 0 }, { "secretaccesskey", 0 }, { "sessiontoken", 0 },
	{ "accesskeyid", 0 }, { "token", 0 }, { "webidentitytoken", 0 }, { "password", 0 },
};

static const char REDACTED[] = "[REDACTED]";
#define REDACTED_LEN (sizeof(REDACTED) - 1)

static int ident_char(unsigned char c) { return isalnum(c) || c == '_' || c == '-'; }

/* AKIA / ASIA followed by 16 upper-case letters or digits: an access key id on its own. */
static int is_access_key_id(const char *s)
{
	if (strncmp(s, "AKIA", 4) && strncmp(s, "ASIA", 4))
		return 0;
	for (int i = 4; i < 20; i++)
		if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return 0;
	return !isalnum((unsigned char)s[20]);
}

/* Replace line[v, end) by [REDACTED]; the line never grows, so a value shorter than the
 * marker is overwritten with '*'. Returns the index just past the replacement. */
static size_t replace_value(char *line, size_t v, size_t end)
{
	size_t vlen = end - v;
	if (vlen == REDACTED_LEN && !memcmp(line + v, REDACTED, REDACTED_LEN))
		return end;
	if (vlen >= REDACTED_LEN) {
		memmove(line + v + REDACTED_LEN, line + end, strlen(line + end) + 1);
		memcpy(line + v, REDACTED, REDACTED_LEN);
		return v + REDACTED_LEN;
	}
	memset(line + v, '*', vlen);
	return end;
}

/* If a secret starts at line[i], redact it. Returns where scanning goes on (> i), or i. */
static size_t redact_at(char *line, size_t i)
{
	unsigned char prev = i ? (unsigned char)line[i - 1] : ' ';
	if (!isalnum(prev) && is_access_key_id(line + i))
		return replace_value(line, i, i + 20);
	if (ident_char(prev) || (prev == '/' && i >= 2 && line[i - 2] == '<'))
		return i;   /* inside a longer word, or a closing XML tag */
	for (size_t k = 0; k < sizeof(secret_names) / sizeof(secret_names[0]); k++) {
		const char *name = secret_names[k].name;
		size_t n = strlen(name);
		if (strncasecmp(line + i, name, n) || ident_char((unsigned char)line[i + n]))
			continue;
		size_t p = i + n;
		if (prev == '<' && (line[p] == ' ' || line[p] == '\t'))   /* <Name attr="..."> */
			p += strcspn(line + p, "<>");
		while (line[p] == '"' || line[p] == '\'' || line[p] == '\\')   /* closing quotes */
			p++;
		while (line[p] == ' ' || line[p] == '\t')
			p++;
		char sep = line[p];
		if (sep == '>' ? prev != '<' : (sep != ':' && sep != '='))
			continue;
		p++;
		while (line[p] == ' ' || line[p] == '\t')
			p++;
		size_t v = p, end;
		if (sep == '>') {
			end = v + strcspn(line + v, "<");
		} else if (line[p] == '"' || line[p] == '\'' ||
			(line[p] == '\\' && (line[p + 1] == '"' || line[p + 1] == '\''))) {
			if (line[p] == '\\')
				p++;
			char q = line[p];
			v = p + 1;
			end = v;
			while (line[end] && line[end] != q && line[end] != '\\')
				end++;
		} else if (secret_names[k].to_eol & (sep == ':' ? EOL_COLON : EOL_EQUALS)) {
			end = v + strlen(line + v);
		} else {
			end = v + strcspn(line + v, "&,; \t\"'}])<\\\r\n");
		}
		return end > v ? replace_value(line, v, end) : v;
	}
	return i;
}

void s3i_log_redact(char *line, size_t cap)
{
	if (!line || !cap)   /* rewrites in place within the string; never grows */
		return;
	size_t i = 0;
	while (line[i]) {
		size_t next = redact_at(line, i);
		i = next > i ? next : i + 1;
	}
}

void s3i_log(const s3i_logger *lg, int level, const char *fmt, ...)
{
	if (!s3i_log_enabled(lg, level))
		return;
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++) /* one line per call */
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	s3i_log_redact(line, sizeof(line));
	lg->fn(lg->user, (s3i_log_level)level, line);
}
