/*
 * credential_process: run the profile's command through /bin/sh -c, read its JSON
 * (Version 1: AccessKeyId, SecretAccessKey, SessionToken, Expiration, AccountId) from stdout.
 *
 * The child gets the caller's environment and stdin; stdout and stderr come back through
 * pipes (stdout up to 1 MiB, stderr up to 4 KiB kept). stderr is never logged: on failure
 * the error message carries its first line, cut to 160 bytes, with control characters
 * replaced and passed through the log redactor. A command still running at the deadline is
 * killed with its process group.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1   /* pipe2 */
#endif
#include "aws/credentials_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"

#define PROCESS_STDOUT_MAX ((size_t)1 << 20)
#define PROCESS_STDERR_MAX ((size_t)4096)

typedef struct process_impl {
	char *command;
	char *profile;
	int64_t timeout_ms;
} process_impl;

typedef struct run_result {
	s3i_buf out, errb;
	int status;          /* waitpid status */
	int timed_out;
	int too_big;
} run_result;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int make_pipe(int fds[2])
{
#if defined(__linux__)
	return pipe2(fds, O_CLOEXEC);
#else
	if (pipe(fds) != 0)
		return -1;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
#endif
}

/* Read what is available on fd into b (up to cap; the rest is drained). 0: EOF. */
static int drain(int fd, s3i_buf *b, size_t cap, int *too_big)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	size_t keep = b->size < cap ? cap - b->size : 0;
	if ((size_t)n > keep && too_big)
		*too_big = 1;
	if (keep && s3i_buf_put(b, chunk, (size_t)n < keep ? (size_t)n : keep))
		return -1;
	return 1;
}

static void child_exec(const char *command, int out_fd, int err_fd)
{
	/* only async-signal-safe calls between fork and exec */
	setpgid(0, 0);
	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(126);
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)command, NULL };
	execv("/bin/sh", argv);
	_exit(127);
}

/* Collect both pipes until EOF and the child's exit, or the child's exit with nothing more
 * to read (a grandchild may keep the pipes open), or the deadline. */
static int collect(pid_t pid, int fds[2], int64_t deadline, run_result *r, int *reaped)
{
	for (;;) {
		int open_fds = (fds[0] >= 0) + (fds[1] >= 0), st;
		if (!*reaped && waitpid(pid, &st, WNOHANG) == pid) {
			r->status = st;
			*reaped = 1;
		}
		if (open_fds == 0 && *reaped)
			return S3I_OK;
		int64_t left = deadline - mono_ms();
		if (left <= 0) {
			r->timed_out = 1;
			return S3I_OK;
		}
		int wait_ms = left < 20 ? (int)left : 20;
		struct pollfd pf[2];
		int n = 0;
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				pf[n++] = (struct pollfd){ fds[i], POLLIN, 0 };
		int pr = poll(n ? pf : NULL, (nfds_t)n, wait_ms);
		if (pr < 0 && errno != EINTR)
			return S3I_EIO;
		if (pr <= 0) {
			if (pr == 0 && n && *reaped)
				return S3I_OK;
			continue;
		}
		for (int i = 0, k = 0; i < 2; i++) {
			if (fds[i] < 0)
				continue;
			if (!(pf[k++].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int d = i == 0 ? drain(fds[0], &r->out, PROCESS_STDOUT_MAX, &r->too_big)
				: drain(fds[1], &r->errb, PROCESS_STDERR_MAX, NULL);
			if (d < 0)
				return S3I_ENOMEM;
			if (d == 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
}

static int run_command(const char *command, int64_t timeout_ms, run_result *r)
{
	int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	if (make_pipe(out_p) || make_pipe(err_p)) {
		for (int i = 0; i < 2; i++) {
			if (out_p[i] >= 0)
				close(out_p[i]);
			if (err_p[i] >= 0)
				close(err_p[i]);
		}
		return S3I_EIO;
	}
	pid_t pid = fork();
	if (pid == 0)
		child_exec(command, out_p[1], err_p[1]);
	close(out_p[1]);
	close(err_p[1]);
	int fds[2] = { out_p[0], err_p[0] };
	int rc = S3I_EIO, reaped = 0;
	if (pid > 0) {
		setpgid(pid, pid);   /* also from here, so the group exists before a kill */
		rc = collect(pid, fds, mono_ms() + timeout_ms, r, &reaped);
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (pid > 0 && !reaped) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r->status = st;
	}
	return rc;
}

/* First stderr line, safe to put in an error message. */
static void stderr_summary(const s3i_buf *errb, char *out, size_t cap)
{
	const char *s = s3i_buf_cstr(errb);
	while (*s == '\n' || *s == '\r' || *s == ' ')
		s++;
	size_t n = 0;
	for (; s[n] && s[n] != '\n' && s[n] != '\r' && n + 1 < cap && n < 160; n++)
		out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
	out[n] = '\0';
	s3i_log_redact(out, cap);
}

static int check_version(s3i_credprov *p, const run_result *r, s3i_errinfo *err)
{
	process_impl *c = p->impl;
	s3i_json doc = NULL;
	if (s3i_json_parse(&doc, s3i_buf_cstr(&r->out), r->out.size, "credential_process output",
		NULL) != S3I_OK)
		return s3i_err(err, S3I_EAUTH, c->profile, "credential_process for profile '%s' did not "
			"print a JSON document", c->profile);
	int64_t v = 0;
	int ok = s3i_json_is_obj(doc) && s3i_json_i64(s3i_json_get(doc, "Version"), &v) == S3I_OK &&
		v == 1;
	s3i_json_free(doc);
	if (!ok)
		return s3i_err(err, S3I_EAUTH, c->profile, "credential_process for profile '%s' printed "
			"no \"Version\": 1 (the only version supported)", c->profile);
	return S3I_OK;
}

static int process_fetch(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	process_impl *c = p->impl;
	run_result r;
	memset(&r, 0, sizeof(r));
	s3i_buf_init(&r.out, p->alloc);
	s3i_buf_init(&r.errb, p->alloc);
	char what[300], tail[200] = "";
	snprintf(what, sizeof(what), "credential_process for profile '%s'", c->profile);
	int rc = run_command(c->command, c->timeout_ms, &r);
	if (rc == S3I_OK && !r.timed_out && (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0))
		stderr_summary(&r.errb, tail, sizeof(tail));
	if (rc == S3I_ENOMEM)
		rc = s3i_err(err, rc, NULL, "out of memory reading the output of %s", what);
	else if (rc)
		rc = s3i_err(err, S3I_EAUTH, c->profile, "%s could not be started", what);
	else if (r.timed_out)
		rc = s3i_err(err, S3I_EAUTH, c->profile, "%s did not finish within %lld ms", what,
			(long long)c->timeout_ms);
	else if (WIFSIGNALED(r.status))
		rc = s3i_err(err, S3I_EAUTH, c->profile, "%s was killed by signal %d%s%s", what,
			WTERMSIG(r.status), tail[0] ? "; stderr: " : "", tail);
	else if (WEXITSTATUS(r.status) != 0)
		rc = s3i_err(err, S3I_EAUTH, c->profile, "%s exited with status %d%s%s", what,
			WEXITSTATUS(r.status), tail[0] ? "; stderr: " : "", tail);
	else if (r.too_big)
		rc = s3i_err(err, S3I_EAUTH, c->profile, "%s printed more than %zu bytes", what,
			PROCESS_STDOUT_MAX);
	else if (!(rc = check_version(p, &r, err)))
		rc = s3i_credentials_from_json(out, s3i_buf_cstr(&r.out), r.out.size, "SessionToken",
			"process", what, err);
	if (r.out.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&r.out));
	if (r.errb.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&r.errb));
	return rc;
}

static void process_destroy(s3i_credprov *p)
{
	process_impl *c = p->impl;
	if (c) {
		s3i_free(p->alloc, c->command);
		s3i_free(p->alloc, c->profile);
		s3i_free(p->alloc, c);
	}
}

static const s3i_credprov_ops process_ops = { "credential_process", process_fetch, NULL, NULL,
	process_destroy };

int s3i_credprov_new_process(s3i_credprov **out, const s3i_credprov_env *env, const char *command,
	const char *profile_name, int64_t timeout_ms, s3i_errinfo *err)
{
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	process_impl *c = s3i_calloc(a, 1, sizeof(*c));
	if (!c || !(c->command = s3i_strdup(a, command)) ||
		!(c->profile = s3i_strdup(a, profile_name ? profile_name : "default"))) {
		if (c)
			s3i_free(a, c->command);
		s3i_free(a, c);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating a credential_process provider");
	}
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : S3I_CRED_PROCESS_TIMEOUT_MS;
	int rc = s3i_credprov_create(out, env, &process_ops, c, err);
	if (rc == S3I_OK)
		snprintf((*out)->what, sizeof((*out)->what), "credential_process for profile '%s'",
			c->profile);
	return rc;
}
