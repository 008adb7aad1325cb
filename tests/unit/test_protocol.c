/* Query parameters, AWS error bodies and their classification (src/aws/protocol.c). */
#include "test_alloc.h"

#include <stdio.h>
#include <string.h>

#include "aws/headers.h"
#include "aws/protocol.h"
#include "core/buf.h"

/* ---------------------------------------------------------------- params */

static void t_params_encoding(void **state)
{
	(void)state;
	s3i_params p;
	s3i_params_init(&p, s3i_test_alloc());
	assert_int_equal(s3i_params_add(&p, "Action", "SendMessage"), 0);
	assert_int_equal(s3i_params_add(&p, "Version", "2012-11-05"), 0);
	assert_int_equal(s3i_params_add(&p, "MessageBody", "a b+c=d&e~f/g*h%i"), 0);
	assert_int_equal(s3i_params_add(&p, "Attribute.1.Name", "caf\xC3\xA9 \xE2\x82\xAC"), 0);
	assert_int_equal(s3i_params_addf(&p, "DelaySeconds", "%d", 15), 0);
	assert_int_equal(s3i_params_add(&p, "Empty", ""), 0);
	assert_int_equal(s3i_params_add(&p, "NoValue", NULL), 0);
	assert_int_equal(s3i_params_add(&p, "key with space=&", "v"), 0);
	assert_int_equal(p.count, 8);
	s3i_buf out;
	s3i_buf_init(&out, s3i_test_alloc());
	assert_int_equal(s3i_params_encode(&p, &out), 0);
	assert_string_equal(out.ptr,
		"Action=SendMessage&Version=2012-11-05"
		"&MessageBody=a+b%2Bc%3Dd%26e~f%2Fg%2Ah%25i"
		"&Attribute.1.Name=caf%C3%A9+%E2%82%AC"
		"&DelaySeconds=15&Empty=&NoValue="
		"&key+with+space%3D%26=v");
	assert_int_equal(s3i_params_add(&p, NULL, "x"), S3I_EINVALID);
	assert_int_equal(p.count, 8);
	s3i_buf_dispose(&out);
	s3i_params_free(&p);
	/* freeing twice and encoding nothing are fine */
	s3i_params_free(&p);
	s3i_buf_init(&out, s3i_test_alloc());
	assert_int_equal(s3i_params_encode(&p, &out), 0);
	assert_string_equal(s3i_buf_cstr(&out), "");
	s3i_buf_dispose(&out);
}

static void t_params_many_keep_order(void **state)
{
	(void)state;
	s3i_params p;
	s3i_params_init(&p, s3i_test_alloc());
	for (int i = 1; i <= 50; i++)
		assert_int_equal(s3i_params_addf(&p, "Entries.member.N.Id", "id-%02d", i), 0);
	s3i_buf out;
	s3i_buf_init(&out, s3i_test_alloc());
	assert_int_equal(s3i_params_encode(&p, &out), 0);
	assert_true(!strncmp(out.ptr, "Entries.member.N.Id=id-01&Entries.member.N.Id=id-02&", 52));
	assert_non_null(strstr(out.ptr, "&Entries.member.N.Id=id-50"));
	s3i_buf_dispose(&out);
	s3i_params_free(&p);
}

static void t_params_oom(void **state)
{
	(void)state;
	int rc = -1;
	for (long n = 0; n < 200 && rc; n++) {
		s3i_params p;
		s3i_params_init(&p, s3i_test_alloc());
		s3i_buf out;
		s3i_buf_init(&out, s3i_test_alloc());
		s3i_test_alloc_fail_after(n);
		rc = 0;
		for (int i = 0; i < 12 && !rc; i++)
			rc = s3i_params_addf(&p, "Key", "value %d with spaces", i);
		if (!rc)
			rc = s3i_params_encode(&p, &out);
		s3i_test_alloc_fail_after(-1);
		if (rc) {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_int_equal(out.size, 0);
		} else {
			assert_non_null(strstr(out.ptr, "&Key=value+11+with+spaces"));
		}
		s3i_buf_dispose(&out);
		s3i_params_free(&p);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
	}
	assert_int_equal(rc, 0);
}

/* ---------------------------------------------------------------- error bodies */

static s3i_aws_error_body parse_err(int status, const char *const *hdrs, const char *body)
{
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	for (size_t i = 0; hdrs && hdrs[i]; i += 2)
		assert_int_equal(s3i_headers_add(&h, hdrs[i], hdrs[i + 1]), 0);
	s3i_aws_error_body eb;
	s3i_aws_error_parse(&eb, status, &h, body, body ? strlen(body) : 0);
	s3i_headers_free(&h);
	return eb;
}

static void t_s3_rest_xml_errors(void **state)
{
	(void)state;
	/* Amazon S3 API reference, "Error responses" */
	s3i_aws_error_body eb = parse_err(404, (const char *const[]){
		"x-amz-request-id", "HDR-ID", "Date", "Wed, 01 May 2024 12:00:00 GMT", NULL },
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error>\n"
		"  <Code>NoSuchKey</Code>\n"
		"  <Message>The resource you requested does not exist</Message>\n"
		"  <Resource>/mybucket/myfoto.jpg</Resource> \n"
		"  <RequestId>4442587FB7D0A2F9</RequestId>\n"
		"</Error>");
	assert_string_equal(eb.code, "NoSuchKey");
	assert_string_equal(eb.message, "The resource you requested does not exist");
	assert_string_equal(eb.resource, "/mybucket/myfoto.jpg");
	assert_string_equal(eb.request_id, "4442587FB7D0A2F9");
	assert_string_equal(eb.server_date, "Wed, 01 May 2024 12:00:00 GMT");
	assert_int_equal(s3i_aws_error_status(404, eb.code), S3I_ENOTFOUND);

	eb = parse_err(404, NULL,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
		"<BucketName>s3insights-missing</BucketName><RequestId>9Q3XHSMVZ5HAHJ8A</RequestId>"
		"<HostId>4mQ5tiMTgA2ZuC6ZDaAMxDRL0bUWv5+43Dx7ItkmR6DfRYg7w8i9cjgb7GEx0vMdbmXxzjjW+bE=</HostId>"
		"</Error>");
	assert_string_equal(eb.code, "NoSuchBucket");
	assert_string_equal(eb.resource, "s3insights-missing");
	assert_string_equal(eb.request_id, "9Q3XHSMVZ5HAHJ8A");

	eb = parse_err(403, (const char *const[]){ "x-amz-request-id", "7A1B", NULL },
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
		"<RequestId>Q8KSZ7MRQBJ0DNDA</RequestId><HostId>abc=</HostId></Error>");
	assert_string_equal(eb.code, "AccessDenied");
	assert_string_equal(eb.request_id, "Q8KSZ7MRQBJ0DNDA");   /* the body wins */
	assert_int_equal(s3i_aws_error_status(403, eb.code), S3I_EAUTH);

	eb = parse_err(301, (const char *const[]){ "x-amz-bucket-region", "eu-west-1", NULL },
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access "
		"must be addressed using the specified endpoint. Please send all future requests to this "
		"endpoint.</Message><Endpoint>s3insights-eu.s3.eu-west-1.amazonaws.com</Endpoint>"
		"<Bucket>s3insights-eu</Bucket><RequestId>TKQ4W6XSKXH5YVMA</RequestId><HostId>x</HostId>"
		"</Error>");
	assert_string_equal(eb.code, "PermanentRedirect");
	assert_int_equal(s3i_aws_error_status(301, eb.code), S3I_EAWS);

	eb = parse_err(403, (const char *const[]){ "Date", "Mon, 23 Nov 2026 22:00:00 GMT", NULL },
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request "
		"time and the current time is too large.</Message>"
		"<RequestTime>20261123T214000Z</RequestTime><ServerTime>2026-11-23T22:00:00Z</ServerTime>"
		"<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>"
		"<RequestId>X</RequestId></Error>");
	assert_string_equal(eb.code, "RequestTimeTooSkewed");
	assert_string_equal(eb.server_date, "Mon, 23 Nov 2026 22:00:00 GMT");
	assert_true(s3i_aws_error_is_clock_skew(eb.code));
	assert_false(s3i_aws_error_is_retryable(403, eb.code));

	/* S3 answers a key with the key itself too */
	eb = parse_err(400, NULL, "<Error><Code>InvalidArgument</Code><Message>Invalid version id "
		"specified</Message><ArgumentName>versionId</ArgumentName><ArgumentValue>x</ArgumentValue>"
		"<BucketName>b</BucketName><Key>a/b c.txt</Key><RequestId>R</RequestId></Error>");
	assert_string_equal(eb.resource, "b/a/b c.txt");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_EINVALID);

	/* SlowDown as S3 sends it, with a 503 */
	eb = parse_err(503, NULL, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown"
		"</Code><Message>Please reduce your request rate.</Message><RequestId>R</RequestId>"
		"</Error>");
	assert_string_equal(eb.code, "SlowDown");
	assert_int_equal(s3i_aws_error_status(503, eb.code), S3I_ETHROTTLED);
	assert_true(s3i_aws_error_is_retryable(503, eb.code));
}

static void t_query_errors(void **state)
{
	(void)state;
	/* STS AssumeRole denied */
	s3i_aws_error_body eb = parse_err(403, (const char *const[]){
		"x-amzn-RequestId", "hdr", NULL },
		"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <Error>\n"
		"    <Type>Sender</Type>\n"
		"    <Code>AccessDenied</Code>\n"
		"    <Message>User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
		"sts:AssumeRole on resource: arn:aws:iam::210987654321:role/s3insights-reader</Message>\n"
		"  </Error>\n"
		"  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
		"</ErrorResponse>\n");
	assert_string_equal(eb.code, "AccessDenied");
	assert_string_equal(eb.message, "User: arn:aws:iam::123456789012:user/ci is not authorized to "
		"perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/s3insights-reader");
	assert_string_equal(eb.request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
	assert_string_equal(eb.resource, "");

	/* SQS query protocol */
	eb = parse_err(400, NULL,
		"<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">"
		"<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
		"<Message>The specified queue does not exist for this wsdl version.</Message><Detail/>"
		"</Error><RequestId>42d59b56-7407-4c4a-be0f-4c88daeea257</RequestId></ErrorResponse>");
	assert_string_equal(eb.code, "AWS.SimpleQueueService.NonExistentQueue");
	assert_string_equal(eb.request_id, "42d59b56-7407-4c4a-be0f-4c88daeea257");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ENOTFOUND);

	/* IAM/STS throttling */
	eb = parse_err(400, NULL, "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
		"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
		"<RequestId>r</RequestId></ErrorResponse>");
	assert_string_equal(eb.code, "Throttling");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ETHROTTLED);
	assert_true(s3i_aws_error_is_retryable(400, eb.code));

	/* moto answers JSON services' auth failures like this */
	eb = parse_err(400, NULL,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ErrorResponse>\n"
		"    <Errors>\n"
		"        <Error>\n"
		"            <Code>UnrecognizedClientException</Code>\n"
		"            <Message><![CDATA[The security token included in the request is invalid.]]></Message>\n"
		"            \n"
		"        </Error>\n"
		"    </Errors>\n"
		"    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>\n"
		"</ErrorResponse>");
	assert_string_equal(eb.code, "UnrecognizedClientException");
	assert_string_equal(eb.message, "The security token included in the request is invalid.");
	assert_string_equal(eb.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_EAUTH);

	/* EC2 style, RequestID spelled so; only the first error counts */
	eb = parse_err(401, NULL, "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS "
		"was not able to validate the provided access credentials</Message></Error><Error><Code>"
		"Other</Code><Message>second</Message></Error></Errors>"
		"<RequestID>59dbff89-35bd-4eac-99ed-be587EXAMPLE</RequestID></Response>");
	assert_string_equal(eb.code, "AuthFailure");
	assert_string_equal(eb.message, "AWS was not able to validate the provided access credentials");
	assert_string_equal(eb.request_id, "59dbff89-35bd-4eac-99ed-be587EXAMPLE");
	assert_true(s3i_aws_error_is_clock_skew(eb.code));
}

static void t_json_errors(void **state)
{
	(void)state;
	s3i_aws_error_body eb = parse_err(400, (const char *const[]){
		"x-amzn-RequestId", "KLBT4HRGV4A9MGLAF2HOD3I8QJVV4KQNSO5AEMVJF66Q9ASUAAJG",
		"Content-Type", "application/x-amz-json-1.0", NULL },
		"{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
		"\"message\":\"Requested resource not found: Table: s3insights-state not found\"}");
	assert_string_equal(eb.code, "ResourceNotFoundException");
	assert_string_equal(eb.message, "Requested resource not found: Table: s3insights-state not found");
	assert_string_equal(eb.request_id, "KLBT4HRGV4A9MGLAF2HOD3I8QJVV4KQNSO5AEMVJF66Q9ASUAAJG");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ENOTFOUND);

	eb = parse_err(400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
		"ConditionalCheckFailedException\",\"message\":\"The conditional request failed\"}");
	assert_string_equal(eb.code, "ConditionalCheckFailedException");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ECONFLICT);

	eb = parse_err(400, NULL, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
		"ProvisionedThroughputExceededException\",\"message\":\"The level of configured "
		"provisioned throughput for the table was exceeded.\"}");
	assert_true(s3i_aws_error_is_throttle(eb.code));
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ETHROTTLED);

	/* Athena: "Message" capitalised and an extra field */
	eb = parse_err(400, NULL, "{\"__type\":\"InvalidRequestException\",\"AthenaErrorCode\":"
		"\"MALFORMED_QUERY\",\"Message\":\"line 1:8: mismatched input 'FORM'. Expecting: <expression>\"}");
	assert_string_equal(eb.code, "InvalidRequestException");
	assert_string_equal(eb.message, "line 1:8: mismatched input 'FORM'. Expecting: <expression>");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_EINVALID);

	/* SQS on the JSON protocol */
	eb = parse_err(400, (const char *const[]){ "x-amzn-query-error",
		"AWS.SimpleQueueService.NonExistentQueue;Sender", NULL },
		"{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
		"\"message\":\"The specified queue does not exist.\"}");
	assert_string_equal(eb.code, "QueueDoesNotExist");
	assert_string_equal(eb.message, "The specified queue does not exist.");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ENOTFOUND);

	/* the x-amzn-ErrorType header, with its trailing ":http://..." */
	eb = parse_err(400, (const char *const[]){ "X-Amzn-ErrorType",
		"ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/", NULL },
		"{\"message\":\"1 validation error detected: Value null at 'tableName' failed to satisfy "
		"constraint: Member must not be null\"}");
	assert_string_equal(eb.code, "ValidationException");
	assert_non_null(strstr(eb.message, "1 validation error detected"));
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_EINVALID);

	/* header only */
	eb = parse_err(400, (const char *const[]){ "x-amzn-errortype",
		"com.amazon.coral.availability#ThrottlingException:", NULL }, "");
	assert_string_equal(eb.code, "ThrottlingException");
	assert_string_equal(eb.message, "");

	/* "code" spelled otherwise, an "Error" wrapper, an unknown exception */
	eb = parse_err(400, NULL, "{\"code\":\"TooManyRequestsException\",\"message\":\"Slow down\"}");
	assert_string_equal(eb.code, "TooManyRequestsException");
	eb = parse_err(400, NULL, "{\"Error\":{\"Code\":\"ValidationError\",\"Message\":\"Stack with "
		"id x does not exist\"},\"RequestId\":\"r-1\"}");
	assert_string_equal(eb.code, "ValidationError");
	assert_string_equal(eb.message, "Stack with id x does not exist");
	assert_string_equal(eb.request_id, "r-1");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_EAWS);
	eb = parse_err(400, NULL, "{\"__type\":\"com.amazonaws.glue#EntityNotFoundException\"}");
	assert_string_equal(eb.code, "EntityNotFoundException");
	assert_int_equal(s3i_aws_error_status(400, eb.code), S3I_ENOTFOUND);

	/* broken JSON: code from the status, the bytes as message */
	eb = parse_err(500, NULL, "{\"__type\": \"com.amazon#InternalFailure\", \"mess");
	assert_string_equal(eb.code, "InternalError");
	assert_string_equal(eb.message, "{\"__type\": \"com.amazon#InternalFailure\", \"mess");
	assert_int_equal(s3i_aws_error_status(500, eb.code), S3I_ESERVICE);
}

static void t_html_and_empty_bodies(void **state)
{
	(void)state;
	static const struct { int status; const char *code; int st; } table[] = {
		{ 404, "NotFound", S3I_ENOTFOUND }, { 403, "Forbidden", S3I_EAUTH },
		{ 400, "BadRequest", S3I_EAWS }, { 301, "PermanentRedirect", S3I_EAWS },
		{ 500, "InternalError", S3I_ESERVICE }, { 503, "ServiceUnavailable", S3I_ESERVICE },
		{ 418, "HTTP418", S3I_EAWS }, { 412, "PreconditionFailed", S3I_ECONFLICT },
		{ 429, "TooManyRequestsException", S3I_ETHROTTLED }, { 0, "HTTP0", S3I_EAWS },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		s3i_aws_error_body eb = parse_err(table[i].status, NULL, "");
		assert_string_equal(eb.code, table[i].code);
		assert_string_equal(eb.message, "");
		assert_int_equal(s3i_aws_error_status(table[i].status, eb.code), table[i].st);
		eb = parse_err(table[i].status, NULL, NULL);
		assert_string_equal(eb.code, table[i].code);
	}
	s3i_aws_error_body eb;
	s3i_aws_error_parse(&eb, 404, NULL, NULL, 0);
	assert_string_equal(eb.code, "NotFound");

	/* a load balancer's page */
	eb = parse_err(503, (const char *const[]){ "x-amz-request-id", "LB1", NULL },
		"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
		"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
		"</body>\r\n</html>\r\n");
	assert_string_equal(eb.code, "ServiceUnavailable");
	assert_string_equal(eb.message, "503 Service Temporarily Unavailable");
	assert_string_equal(eb.request_id, "LB1");
	assert_true(s3i_aws_error_is_retryable(503, eb.code));
	/* HTML that is not XML at all */
	eb = parse_err(502, NULL, "<!DOCTYPE html><HTML><HEAD><META charset=utf-8><TITLE>\n  Bad "
		"Gateway\n</TITLE></HEAD><BODY><p>The server returned an invalid response<br></BODY>");
	assert_string_equal(eb.message, "Bad Gateway");
	assert_string_equal(eb.code, "BadGateway");
	assert_true(s3i_aws_error_is_retryable(502, eb.code));
	/* plain text: the first bytes, on one line */
	eb = parse_err(504, NULL, "upstream request timeout\r\nplease retry\n");
	assert_string_equal(eb.code, "GatewayTimeout");
	assert_string_equal(eb.message, "upstream request timeout please retry");
	/* a long body is cut, never inside a UTF-8 sequence */
	char big[2000];
	memset(big, 'x', sizeof(big));
	big[255] = '\xC3';
	big[256] = '\xA9';
	big[sizeof(big) - 1] = '\0';
	eb = parse_err(500, NULL, big);
	assert_int_equal(strlen(eb.message), 255);
	/* an XML body with a DOCTYPE attack is not read, and does no harm */
	eb = parse_err(400, NULL, "<!DOCTYPE e [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
		"<Error><Code>&b;</Code></Error>");
	assert_string_equal(eb.code, "BadRequest");
	/* truncated XML keeps what came before the cut */
	eb = parse_err(503, NULL, "<Error><Code>SlowDown</Code><Message>Please reduce your req");
	assert_string_equal(eb.code, "SlowDown");
	/* whitespace and a BOM before the body */
	eb = parse_err(400, NULL, "\xEF\xBB\xBF\n  {\"__type\":\"X#ValidationException\"}");
	assert_string_equal(eb.code, "ValidationException");
	/* an error body that is neither: a code and message with control characters are cleaned */
	eb = parse_err(400, NULL, "<Error><Code>\n  Bad\tCode  </Code><Message>line1\nline2"
		"</Message></Error>");
	assert_string_equal(eb.code, "Bad Code");
	assert_string_equal(eb.message, "line1 line2");
}

static void t_error_parse_keeps_thread_error(void **state)
{
	(void)state;
	s3i_err(NULL, S3I_EINVALID, "x", "before");
	s3i_aws_error_body eb = parse_err(400, NULL, "<not xml");
	assert_string_equal(eb.code, "BadRequest");
	eb = parse_err(400, NULL, "{not json");
	assert_string_equal(eb.message, "{not json");
	assert_string_equal(s3i_error_last()->message, "before");
	assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
}

/* ---------------------------------------------------------------- classification */

static void t_status_mapping(void **state)
{
	(void)state;
	static const struct { const char *code; int status; int want; } cases[] = {
		{ "AccessDenied", 403, S3I_EAUTH }, { "AccessDeniedException", 400, S3I_EAUTH },
		{ "InvalidAccessKeyId", 403, S3I_EAUTH }, { "InvalidClientTokenId", 403, S3I_EAUTH },
		{ "UnrecognizedClientException", 400, S3I_EAUTH }, { "ExpiredToken", 400, S3I_EAUTH },
		{ "ExpiredTokenException", 400, S3I_EAUTH }, { "SignatureDoesNotMatch", 403, S3I_EAUTH },
		{ "MissingAuthenticationToken", 403, S3I_EAUTH },
		{ "NoSuchBucket", 404, S3I_ENOTFOUND }, { "NoSuchKey", 404, S3I_ENOTFOUND },
		{ "NoSuchUpload", 404, S3I_ENOTFOUND }, { "NoSuchConfiguration", 404, S3I_ENOTFOUND },
		{ "NoSuchInventoryConfiguration", 404, S3I_ENOTFOUND },
		{ "NoSuchBucketPolicy", 404, S3I_ENOTFOUND }, { "ResourceNotFoundException", 400, S3I_ENOTFOUND },
		{ "QueueDoesNotExist", 400, S3I_ENOTFOUND },
		{ "AWS.SimpleQueueService.NonExistentQueue", 400, S3I_ENOTFOUND },
		{ "NotFound", 404, S3I_ENOTFOUND }, { "NotFoundException", 404, S3I_ENOTFOUND },
		{ "InvalidInstanceID.NotFound", 400, S3I_ENOTFOUND }, { "NoSuchEntity", 404, S3I_ENOTFOUND },
		{ "ConditionalCheckFailedException", 400, S3I_ECONFLICT },
		{ "TransactionCanceledException", 400, S3I_ECONFLICT },
		{ "PreconditionFailed", 412, S3I_ECONFLICT }, { "BucketNotEmpty", 409, S3I_ECONFLICT },
		{ "BucketAlreadyExists", 409, S3I_EEXISTS }, { "BucketAlreadyOwnedByYou", 409, S3I_EEXISTS },
		{ "ResourceInUseException", 400, S3I_EEXISTS }, { "AlreadyExistsException", 400, S3I_EEXISTS },
		{ "EntityAlreadyExists", 409, S3I_EEXISTS }, { "QueueAlreadyExists", 400, S3I_EEXISTS },
		{ "ValidationException", 400, S3I_EINVALID }, { "InvalidParameterValue", 400, S3I_EINVALID },
		{ "InvalidArgument", 400, S3I_EINVALID }, { "MalformedXML", 400, S3I_EINVALID },
		{ "InvalidRequest", 400, S3I_EINVALID }, { "InvalidBucketName", 400, S3I_EINVALID },
		{ "ValidationError", 400, S3I_EAWS }, { "SomethingNew", 400, S3I_EAWS },
		{ "Throttling", 400, S3I_ETHROTTLED }, { "SlowDown", 503, S3I_ETHROTTLED },
		{ "InternalError", 500, S3I_ESERVICE }, { "ServiceUnavailable", 503, S3I_ESERVICE },
		{ "InternalServerError", 500, S3I_ESERVICE }, { "SomethingNew", 502, S3I_ESERVICE },
		{ "RequestTimeout", 400, S3I_ETIMEOUT }, { "RequestTimeoutException", 408, S3I_ETIMEOUT },
		{ "SomethingNew", 401, S3I_EAUTH }, { "SomethingNew", 403, S3I_EAUTH },
		{ "SomethingNew", 404, S3I_ENOTFOUND }, { "SomethingNew", 409, S3I_ECONFLICT },
		{ "", 404, S3I_ENOTFOUND }, { NULL, 403, S3I_EAUTH }, { NULL, 0, S3I_EAWS },
		{ "nosuchkey", 404, S3I_ENOTFOUND },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = s3i_aws_error_status(cases[i].status, cases[i].code);
		if (got != cases[i].want)
			fail_msg("%s/%d: got %d, want %d", cases[i].code ? cases[i].code : "(null)",
				cases[i].status, got, cases[i].want);
	}
}

static void t_retry_classification(void **state)
{
	(void)state;
	static const char *const throttles[] = { "Throttling", "ThrottlingException",
		"ThrottledException", "RequestThrottledException", "TooManyRequestsException",
		"ProvisionedThroughputExceededException", "TransactionInProgressException",
		"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
		"RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException" };
	for (size_t i = 0; i < sizeof(throttles) / sizeof(throttles[0]); i++) {
		assert_true(s3i_aws_error_is_throttle(throttles[i]));
		assert_true(s3i_aws_error_is_retryable(400, throttles[i]));
		assert_int_equal(s3i_aws_error_status(400, throttles[i]), S3I_ETHROTTLED);
	}
	static const char *const transient[] = { "RequestTimeout", "RequestTimeoutException",
		"InternalError", "InternalServerError", "ServiceUnavailable" };
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
		assert_false(s3i_aws_error_is_throttle(transient[i]));
		assert_true(s3i_aws_error_is_retryable(400, transient[i]));
	}
	static const int statuses[] = { 500, 502, 503, 504 };
	for (size_t i = 0; i < 4; i++)
		assert_true(s3i_aws_error_is_retryable(statuses[i], "Whatever"));
	assert_true(s3i_aws_error_is_retryable(429, ""));
	static const char *const final[] = { "AccessDenied", "NoSuchKey", "ValidationException",
		"ConditionalCheckFailedException", "RequestTimeTooSkewed", "", NULL };
	for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++) {
		assert_false(s3i_aws_error_is_retryable(400, final[i]));
		assert_false(s3i_aws_error_is_retryable(403, final[i]));
		assert_false(s3i_aws_error_is_retryable(404, final[i]));
		assert_false(s3i_aws_error_is_throttle(final[i]));
	}
	static const char *const skew[] = { "RequestTimeTooSkewed", "RequestExpired",
		"InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "RequestInTheFuture" };
	for (size_t i = 0; i < sizeof(skew) / sizeof(skew[0]); i++) {
		assert_true(s3i_aws_error_is_clock_skew(skew[i]));
		assert_int_equal(s3i_aws_error_status(403, skew[i]), S3I_EAUTH);
	}
	assert_false(s3i_aws_error_is_clock_skew("AccessDenied"));
	assert_false(s3i_aws_error_is_clock_skew(NULL));
	assert_false(s3i_aws_error_is_clock_skew(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_params_encoding),
		S3I_TEST(t_params_many_keep_order),
		S3I_TEST(t_params_oom),
		S3I_TEST(t_s3_rest_xml_errors),
		S3I_TEST(t_query_errors),
		S3I_TEST(t_json_errors),
		S3I_TEST(t_html_and_empty_bodies),
		S3I_TEST(t_error_parse_keeps_thread_error),
		S3I_TEST(t_status_mapping),
		S3I_TEST(t_retry_classification),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
