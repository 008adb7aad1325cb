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
		"proxy-authorization", "x-aws-ec2-metadata-token", "cookie", NULL };
	for (int i = 0; secret[i]; i++)
		if (!strcasecmp(name, secret[i]))
			return 1;
	return 0;
}

/* Markers after which a secret value follows, up to a delimiter. Matched case-insensitively. */
static const char *const markers[] = {
	"authorization:", "authorization=", "x-amz-security-token:", "x-amz-security-token=",
	"x-amz-signature=", "x-amz-credential=", "credential=", "signature=",
	"aws_secret_access_key", "aws_session_token", "aws_access_key_id",
	"\"secretaccesskey\"", "\"sessiontoken\"", "\"token\"", "\"accesskeyid\"",
	"<secretaccesskey>", "<sessiontoken>", "<accesskeyid>", "x-aws-ec2-metadata-token:",
	NULL
};

static const char REDACTED[] = "[REDACTED]";

static size_t value_end(const char *line, size_t start, int header_style, char first)
{
	size_t i = start;
	if (first == '<') { /* XML element: value runs to the next '<' */
		while (line[i] && line[i] != '<')
			i++;
		return i;
	}
	if (header_style) /* a header value runs to the end of the line */
		return strlen(line);
	while (line[i] && line[i] != '&' && line[i] != ',' && line[i] != ' ' && line[i] != '"' &&
		line[i] != '\'' && line[i] != ';' && line[i] != '\n' && line[i] != '}')
		i++;
	return i;
}

void s3i_log_redact(char *line, size_t cap)
{
	(void)cap;
	for (int m = 0; markers[m]; m++) {
		size_t mlen = strlen(markers[m]);
		size_t pos = 0;
		while (line[pos]) {
			if (strncasecmp(line + pos, markers[m], mlen) != 0) {
				pos++;
				continue;
			}
			size_t v = pos + mlen;
			char first = markers[m][0];
			int header_style = markers[m][mlen - 1] == ':' && first != '"';
			/* skip separators between a name and its value: spaces, '=', ':', '"' */
			if (first == '"' || (first == 'a' && markers[m][mlen - 1] != ':' && markers[m][mlen - 1] != '=')) {
				while (line[v] == ' ' || line[v] == '=' || line[v] == ':' || line[v] == '"')
					v++;
			} else {
				while (line[v] == ' ')
					v++;
			}
			size_t end = value_end(line, v, header_style, first);
			if (end > v && strncmp(line + v, REDACTED, sizeof(REDACTED) - 1) != 0) {
				size_t vlen = end - v, rlen = sizeof(REDACTED) - 1;
				if (vlen >= rlen) {
					memcpy(line + v, REDACTED, rlen);
					memmove(line + v + rlen, line + end, strlen(line + end) + 1);
				} else { /* too short to hold the marker: blank it */
					memset(line + v, '*', vlen);
				}
			}
			pos = v + 1;
		}
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
