/*
 * Fuzz AWS error parsing and classification. The first byte chooses the HTTP status (low
 * nibble) and which headers a protocol would send (high nibble); the rest is the body. With
 * bit 0x80 the body's first line is also sent as the x-amzn-ErrorType header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/headers.h"
#include "aws/protocol.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *f, size_t cap, int may_be_empty)
{
	size_t n = strnlen(f, cap);
	if (n == cap || (!may_be_empty && n == 0))
		abort();
	/* one line, trimmed */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f)
			abort();
	if (n && (f[0] == ' ' || f[n - 1] == ' '))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[16] = { 400, 403, 404, 500, 503, 301, 409, 412, 429, 502, 504, 200,
		0, 307, 401, 418 };
	if (size < 1)
		return 0;
	int sel = data[0];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	int status = statuses[sel & 15];

	s3i_headers h;
	s3i_headers_init(&h, NULL);
	if (sel & 0x10)
		s3i_headers_add(&h, "x-amz-request-id", "4442587FB7D0A2F9");
	if (sel & 0x20)
		s3i_headers_add(&h, "x-amzn-RequestId", "KLBT4HRGV4A9MGLAF2HOD3I8QJVV4KQNSO5AEMVJF66Q9ASUAAJG");
	if (sel & 0x40)
		s3i_headers_add(&h, "Date", "Mon, 23 Nov 2026 22:00:00 GMT");
	if (sel & 0x80) {
		size_t n = 0;
		while (n < len && n < 200 && body[n] != '\n' && body[n] != '\0')
			n++;
		s3i_headers_addn(&h, "x-amzn-ErrorType", 16, body, n);
	}

	s3i_aws_error_body eb;
	s3i_aws_error_parse(&eb, status, (sel & 0xF0) ? &h : NULL, body, len);
	check_field(eb.code, sizeof(eb.code), 0);
	check_field(eb.message, sizeof(eb.message), 1);
	check_field(eb.request_id, sizeof(eb.request_id), 1);
	check_field(eb.resource, sizeof(eb.resource), 1);
	check_field(eb.server_date, sizeof(eb.server_date), 1);
	if (strchr(eb.code, '#') || strchr(eb.code, ':'))
		abort();

	int st = s3i_aws_error_status(status, eb.code);
	if (st >= 0)
		abort();
	int throttle = s3i_aws_error_is_throttle(eb.code);
	int retry = s3i_aws_error_is_retryable(status, eb.code);
	if (throttle && (!retry || st != S3I_ETHROTTLED))
		abort();
	(void)s3i_aws_error_is_clock_skew(eb.code);

	/* the body read as a code too */
	char code[64];
	size_t n = len < sizeof(code) - 1 ? len : sizeof(code) - 1;
	memcpy(code, body, n);
	code[n] = '\0';
	if (s3i_aws_error_status(status, code) >= 0)
		abort();
	(void)s3i_aws_error_is_retryable(status, code);
	(void)s3i_aws_error_is_clock_skew(code);
	s3i_headers_free(&h);
	return 0;
}
