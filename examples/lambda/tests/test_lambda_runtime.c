/*
 * The real bootstrap, run as a child process against a loopback implementation of the Lambda
 * Runtime API: next -> response, handler failure -> invocation error, unknown _HANDLER -> init
 * error, the deadline header stopping a handler early, and one library context for several
 * invocations. When its script of invocations is exhausted the fake API answers invocation/next
 * with 410, which ends the bootstrap's loop, so every run terminates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"
#include "test_alloc.h"

#define MAX_POSTS 8

typedef struct invocation_script {
	const char *request_id;
	const char *event;
	long long deadline_in_ms;   /* from when next is answered */
	const char *trace_id;
} invocation_script;

typedef struct post_record {
	char path[256];
	char error_type[128];
	char body[2048];
} post_record;

typedef struct fake_api {
	pthread_mutex_t lock;
	const invocation_script *script;
	int script_len;
	int next_served;
	int next_requests;
	post_record posts[MAX_POSTS];
	int post_count;
} fake_api;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fake_handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	fake_api *api = user;
	pthread_mutex_lock(&api->lock);
	if (strcmp(req->method, "GET") == 0
		&& strcmp(req->target, "/2018-06-01/runtime/invocation/next") == 0) {
		api->next_requests++;
		if (api->next_served >= api->script_len) {
			resp->status = 410;
			resp->body = "{\"errorMessage\":\"test script exhausted\"}";
			resp->body_len = strlen(resp->body);
		} else {
			const invocation_script *inv = &api->script[api->next_served++];
			snprintf(resp->headers, sizeof resp->headers,
				"Lambda-Runtime-Aws-Request-Id: %s\r\n"
				"Lambda-Runtime-Deadline-Ms: %lld\r\n"
				"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:s3i\r\n"
				"Lambda-Runtime-Trace-Id: %s\r\n"
				"Content-Type: application/json\r\n",
				inv->request_id, now_ms() + inv->deadline_in_ms, inv->trace_id);
			resp->body = inv->event;
			resp->body_len = strlen(inv->event);
		}
	} else if (strcmp(req->method, "POST") == 0 && api->post_count < MAX_POSTS) {
		post_record *p = &api->posts[api->post_count++];
		snprintf(p->path, sizeof p->path, "%.255s", req->target);
		s3i_lb_header(req, "Lambda-Runtime-Function-Error-Type", p->error_type, sizeof p->error_type);
		snprintf(p->body, sizeof p->body, "%.2047s", req->body ? req->body : "");
		resp->status = 202;
		resp->body = "{\"status\":\"OK\"}";
		resp->body_len = strlen(resp->body);
	} else {
		resp->status = 404;
	}
	pthread_mutex_unlock(&api->lock);
}

/* Run the bootstrap with _HANDLER=handler against the script; returns its exit status and
 * leaves its stderr in `log` (size cap). */
static int run_bootstrap(fake_api *api, const char *handler, char *log, size_t cap)
{
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, fake_handler, api), 0);
	char logpath[] = "/tmp/s3i-lambda-test-XXXXXX";
	int fd = mkstemp(logpath);
	assert_true(fd >= 0);
	char hostport[64];
	snprintf(hostport, sizeof hostport, "127.0.0.1:%d", s3i_loopback_port(lb));

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd, 2);
		setenv("AWS_LAMBDA_RUNTIME_API", hostport, 1);
		if (handler)
			setenv("_HANDLER", handler, 1);
		else
			unsetenv("_HANDLER");
		setenv("S3I_LAMBDA_DEBUG", "1", 1);
		/* Sanitizer builds: a report in the bootstrap shows as its own exit status. */
		setenv("ASAN_OPTIONS", "exitcode=86", 0);
		setenv("AWS_REGION", "us-east-1", 1);
		setenv("AWS_ACCESS_KEY_ID", "testing", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
		execl(S3I_LAMBDA_BOOTSTRAP, "bootstrap", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	s3i_loopback_stop(lb);

	ssize_t n = pread(fd, log, cap - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(logpath);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int count_occurrences(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_ping_twice_one_context(void **state)
{
	static const invocation_script script[] = {
		{ "req-1", "{}", 60000, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1" },
		{ "req-2", "{\"wait_ms\":0}", 60000, "Root=1-5759e988-00000000000000000000002a;Sampled=0" },
	};
	fake_api api = { .lock = PTHREAD_MUTEX_INITIALIZER, .script = script, .script_len = 2 };
	char log[8192];
	/* 1: the loop ended because invocation/next answered 410 (the script is exhausted). */
	assert_int_equal(run_bootstrap(&api, "ping", log, sizeof log), 1);

	assert_int_equal(api.next_served, 2);
	assert_int_equal(api.post_count, 2);
	assert_string_equal(api.posts[0].path, "/2018-06-01/runtime/invocation/req-1/response");
	assert_string_equal(api.posts[1].path, "/2018-06-01/runtime/invocation/req-2/response");
	for (int i = 0; i < 2; i++) {
		assert_non_null(strstr(api.posts[i].body, "\"handler\":\"ping\""));
		assert_non_null(strstr(api.posts[i].body, "\"version\":\""));
		assert_non_null(strstr(api.posts[i].body, "\"remaining_ms\":"));
		/* Created once, before the first invocation, and reused by the second. */
		assert_non_null(strstr(api.posts[i].body, "\"contexts_created\":1"));
		assert_string_equal(api.posts[i].error_type, "");
	}
	/* _X_AMZN_TRACE_ID follows each invocation's trace header. */
	assert_non_null(strstr(api.posts[0].body, "\"trace_env\":\"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\""));
	assert_non_null(strstr(api.posts[1].body, "\"trace_env\":\"Root=1-5759e988-00000000000000000000002a;Sampled=0\""));
	assert_int_equal(count_occurrences(log, "context created"), 1);
}

static void test_failing_handler_posts_error_and_continues(void **state)
{
	static const invocation_script script[] = {
		{ "bad-1", "this is not json", 60000, "" },
		{ "good-2", "{}", 60000, "" },
	};
	fake_api api = { .lock = PTHREAD_MUTEX_INITIALIZER, .script = script, .script_len = 2 };
	char log[8192];
	/* 1: the loop ended because invocation/next answered 410 (the script is exhausted). */
	assert_int_equal(run_bootstrap(&api, "ping", log, sizeof log), 1);

	assert_int_equal(api.post_count, 2);
	assert_string_equal(api.posts[0].path, "/2018-06-01/runtime/invocation/bad-1/error");
	assert_string_equal(api.posts[0].error_type, "S3i.InvalidEvent");
	assert_non_null(strstr(api.posts[0].body, "\"errorMessage\":\"ping: the event is not a JSON object"));
	assert_non_null(strstr(api.posts[0].body, "\"errorType\":\"S3i.InvalidEvent\""));
	assert_non_null(strstr(api.posts[0].body, "\"stackTrace\":[]"));
	/* One bad event does not end the loop. */
	assert_string_equal(api.posts[1].path, "/2018-06-01/runtime/invocation/good-2/response");
	assert_non_null(strstr(log, "bad-1"));
}

static void test_unknown_handler_is_an_init_error(void **state)
{
	static const invocation_script script[] = { { "never", "{}", 60000, "" } };
	fake_api api = { .lock = PTHREAD_MUTEX_INITIALIZER, .script = script, .script_len = 1 };
	char log[8192];
	assert_int_not_equal(run_bootstrap(&api, "harvest-nosuch", log, sizeof log), 0);

	assert_int_equal(api.next_requests, 0);
	assert_int_equal(api.post_count, 1);
	assert_string_equal(api.posts[0].path, "/2018-06-01/runtime/init/error");
	assert_string_equal(api.posts[0].error_type, "Runtime.UnknownHandler");
	assert_non_null(strstr(api.posts[0].body, "harvest-nosuch"));
	assert_non_null(strstr(api.posts[0].body, "\"errorType\":\"Runtime.UnknownHandler\""));
	assert_int_equal(count_occurrences(log, "context created"), 0);
}

static void test_unset_handler_is_an_init_error(void **state)
{
	fake_api api = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char log[8192];
	assert_int_not_equal(run_bootstrap(&api, NULL, log, sizeof log), 0);
	assert_int_equal(api.post_count, 1);
	assert_string_equal(api.posts[0].path, "/2018-06-01/runtime/init/error");
	assert_non_null(strstr(api.posts[0].body, "(unset)"));
}

static void test_deadline_stops_the_handler(void **state)
{
	/* The handler is asked to work for 10 minutes with 1.5 s left: it must stop and say why
	 * instead of running past the deadline (the test's own 300 s timeout catches a hang). */
	static const invocation_script script[] = {
		{ "slow-1", "{\"wait_ms\":600000}", 1500, "" },
		{ "late-2", "{}", -1000, "" },
	};
	fake_api api = { .lock = PTHREAD_MUTEX_INITIALIZER, .script = script, .script_len = 2 };
	char log[8192];
	/* 1: the loop ended because invocation/next answered 410 (the script is exhausted). */
	assert_int_equal(run_bootstrap(&api, "ping", log, sizeof log), 1);

	assert_int_equal(api.post_count, 2);
	assert_string_equal(api.posts[0].path, "/2018-06-01/runtime/invocation/slow-1/error");
	assert_string_equal(api.posts[0].error_type, "S3i.DeadlineExceeded");
	assert_non_null(strstr(api.posts[0].body, "slow-1"));
	/* A deadline already past shows as negative remaining time, not as a wrapped number. */
	assert_string_equal(api.posts[1].path, "/2018-06-01/runtime/invocation/late-2/response");
	assert_non_null(strstr(api.posts[1].body, "\"remaining_ms\":-"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_ping_twice_one_context),
		S3I_TEST(test_failing_handler_posts_error_and_continues),
		S3I_TEST(test_unknown_handler_is_an_init_error),
		S3I_TEST(test_unset_handler_is_an_init_error),
		S3I_TEST(test_deadline_stops_the_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
